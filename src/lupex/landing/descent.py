"""Powered descent of a LUPEX-class lander: vehicle, terrain, dynamics and the closed-loop simulation.

Frames and dynamics
-------------------
Everything is in the **site frame** (the contract shared with the vision
modules): a local Cartesian frame at the DEM grid origin, x = grid x, y = grid
y, z up, in which a DEM point (x, y, h) lies at ``(x, y, h - (x^2 + y^2) /
(2 R))``; the Moon's centre is at ``(0, 0, -R)``, R = 1737.4 km. The lander is
a 3-DOF point mass over a spherical Moon (mu = 4902.8 km^3/s^2, e.g. Konopliv
et al. 2013, GRAIL GL0660B) in a frame rotating with the Moon (Omega =
2.6617e-6 rad/s, sidereal month 27.3217 d). IAU_2015:30135's origin is the
south pole, so the Moon's spin axis (north) is -z of the site frame:

    r'' = -mu (r + R z) / |r + R z|^3 + F / m - 2 w x r' - w x (w x (r + R z)),
    m'  = -|F| / (Isp g0),                         (Tsiolkovsky mass flow)

integrated with classical RK4 and the thrust held over the step. The delta-v
the IMU senses over a step at constant thrust is exact, ``Isp g0 ln(m0/m1)``
along the thrust (the rocket equation). Attitude is abstracted to the thrust
direction, slewed at a rate limit.

Terrain: the DEM (heights above the sphere) is sampled bilinearly; outside the
grid the surface is the sphere at the DEM's median height. The altitude of a
point is its radial height above the sphere minus the terrain height below it.
A laser altimeter's slant range is found by marching along the beam (steps of
half the vertical clearance, at least a quarter pixel) and bisecting the
crossing, so it sees the real terrain along the beam: a crater rim makes it
jump, as it did for ispace M1 (docs/REFERENCES.md#ispace-m1).

Vehicle (assumptions, not LUPEX data; ISRO has not published the LUPEX lander):
scaled from Chandrayaan-3's lander (ISRO press kit, 2023: 1,752 kg with
rover, four 800 N throttleable engines), a LUPEX lander carrying >=350 kg
(docs/REFERENCES.md#lupex-mission) is taken as 2,800 kg at powered-descent initiation with
1,500 kg of MMH/MON-3 propellant, eight 800 N engines (6,400 N, T/W 1.4 in
lunar gravity at PDI vs Chandrayaan-3's 1.13), throttle
25-100 % (deep throttling is needed to hover at the end mass), Isp 315 s (typical of 800 N-class bipropellant engines), thrust
direction slew <= 10 deg/s. Touchdown limits are Chandrayaan-3's: vertical
<= 2 m/s, horizontal <= 0.5 m/s, slope <= 12 deg (docs/REFERENCES.md#chandrayaan3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numba
import numpy as np
import xarray as xr

from lupex.constants import G0_M_S2, MOON_RADIUS_M, MU_MOON_M3_S2
from lupex.errors import ConfigError, InputError
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, param

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "G0_M_S2", "MU_MOON_M3_S2", "OMEGA_MOON_RAD_S", "TouchdownParams", "LanderVehicleParams", "SiteTerrain",
    "site_terrain", "gravity_m_s2", "rk4_step", "sensed_delta_v", "altitude_m", "slant_range_m",
    "DescentParams", "DescentResult", "pdi_state",
]

OMEGA_MOON_RAD_S = 2.0 * np.pi / (27.321661 * 86400.0)
R_M = float(MOON_RADIUS_M)


_CH3 = "Chandrayaan-3 (ISRO; docs/REFERENCES.md#chandrayaan3)"
_SCALED = f"{ASSUMED}: scaled from Chandrayaan-3's lander for a >=350 kg payload (module docstring)"


@dataclass(frozen=True)
class TouchdownParams:
    """Chandrayaan-3's published touchdown limits (ISRO; docs/REFERENCES.md#chandrayaan3)."""

    max_vertical_m_s: float = param(2.0, "m/s", "highest vertical speed at touchdown", _CH3)
    max_horizontal_m_s: float = param(0.5, "m/s", "highest horizontal speed at touchdown", _CH3)
    max_slope_deg: float = param(12.0, "deg", "steepest ground slope under the footprint at touchdown", _CH3)

    def __post_init__(self):
        check_positive(self, "max_vertical_m_s", "max_horizontal_m_s")
        check_range(self, "max_slope_deg", 0, 90, lo_open=True, hi_open=True)


@dataclass(frozen=True)
class LanderVehicleParams:
    """Lander mass and propulsion (see the module docstring for where the numbers come from)."""

    wet_mass_kg: float = param(2800.0, "kg", "lander mass at powered-descent initiation (PDI)", _SCALED)
    propellant_kg: float = param(1500.0, "kg", "MMH/MON-3 propellant on board at PDI", _SCALED)
    max_thrust_n: float = param(6400.0, "N", "full thrust of all engines (eight 800 N engines; T/W 1.4 in lunar gravity at PDI)",
                                f"{ASSUMED}: Chandrayaan-3 flew four 800 N throttleable engines (ISRO press kit, 2023)")
    min_throttle: float = param(0.25, "fraction 0-1", "deepest throttle setting (needed to hover at the end mass)", _SCALED)
    isp_s: float = param(315.0, "s", "specific impulse of the descent engines", f"{ASSUMED}: typical of 800 N-class bipropellant engines")
    slew_rate_deg_s: float = param(10.0, "deg/s", "highest slew rate of the thrust direction", ASSUMED)
    footprint_m: float = param(5.0, "m", "leg span: the baseline of the touchdown slope and of the hazard map",
                               f"{ASSUMED}: ~Chandrayaan-3's leg span scaled up")

    def __post_init__(self):
        check_positive(self, "wet_mass_kg", "propellant_kg", "max_thrust_n", "isp_s", "slew_rate_deg_s", "footprint_m")
        if not self.propellant_kg < self.wet_mass_kg:
            raise ConfigError(f"LanderVehicleParams.propellant_kg ({self.propellant_kg} kg) must be below wet_mass_kg ({self.wet_mass_kg} kg): "
                              "need wet_mass_kg > propellant_kg > 0")
        check_range(self, "min_throttle", 0, 1, hi_open=True)

    @property
    def dry_mass_kg(self) -> float:
        """Mass without propellant, kg."""
        return self.wet_mass_kg - self.propellant_kg

    @property
    def exhaust_velocity_m_s(self) -> float:
        """Effective exhaust velocity ``isp_s * g0``, m/s."""
        return self.isp_s * G0_M_S2


# --------------------------------------------------------------------------- terrain


@dataclass(frozen=True)
class SiteTerrain:
    """A DEM as arrays for the numba kernels, optionally displaced (a map registration error).

    ``z`` rows run from ``y0`` (top, largest y) down; ``x0`` is the first column's
    centre. ``offset_m`` = (dx, dy, dz) displaces the surface: height at (x, y) is
    ``dem(x - dx, y - dy) + dz`` (used for the onboard map).
    """

    z: np.ndarray
    x0: float
    y0: float
    pixel_m: float
    fill_m: float
    zmax: float
    offset_m: tuple = (0.0, 0.0, 0.0)

    def shifted(self, offset_m) -> "SiteTerrain":
        """The same terrain displaced by ``offset_m`` = (dx, dy, dz), m."""
        return SiteTerrain(self.z, self.x0, self.y0, self.pixel_m, self.fill_m, self.zmax,
                           tuple(float(v) for v in offset_m))

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """Cell-centre extent (xmin, xmax, ymin, ymax), m, before the offset."""
        ny, nx = self.z.shape
        return (self.x0, self.x0 + (nx - 1) * self.pixel_m, self.y0 - (ny - 1) * self.pixel_m, self.y0)

    def height(self, x, y) -> np.ndarray:
        """Terrain height above the sphere (m) at site (x, y), vectorised."""
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        out = _heights(self.z, self.x0, self.y0, self.pixel_m, self.fill_m,
                       np.ascontiguousarray(x.ravel()) - self.offset_m[0],
                       np.ascontiguousarray(y.ravel()) - self.offset_m[1])
        return out.reshape(x.shape) + self.offset_m[2]

    def args(self):
        """The fields as a flat tuple, in the order the numba kernels take them."""
        return (self.z, self.x0, self.y0, self.pixel_m, self.fill_m, self.zmax,
                self.offset_m[0], self.offset_m[1], self.offset_m[2])


def site_terrain(dem: xr.DataArray) -> SiteTerrain:
    """Wrap a DEM (DEM contract: dims (y, x), north-up, square cell-centre metres) for the simulation."""
    if not isinstance(dem, xr.DataArray) or dem.dims != ("y", "x"):
        raise InputError("the DEM must be an xarray DataArray with dims ('y', 'x'); read it with lupex.terrain.read_dem")
    z = np.ascontiguousarray(dem.values, dtype=np.float64)
    if not np.isfinite(z).all():
        raise InputError("the DEM has NaN holes; fill them first (lupex.terrain.fill_nodata)")
    x = np.asarray(dem.x.values, float)
    y = np.asarray(dem.y.values, float)
    if x.size < 4 or y.size < 4 or not (np.diff(y) < 0).all() or not (np.diff(x) > 0).all():
        raise InputError("the DEM needs >= 4 x 4 cells, x increasing along columns and y decreasing down rows")
    p = float(x[1] - x[0])
    return SiteTerrain(z, float(x[0]), float(y[0]), p, float(np.median(z)), float(z.max()))


@numba.njit(cache=True)
def _height(z, x0, y0, p, fill, x, y):
    ny, nx = z.shape
    c = (x - x0) / p
    r = (y0 - y) / p
    if not (c >= 0.0 and r >= 0.0 and c <= nx - 1 and r <= ny - 1):
        return fill
    i = min(int(r), ny - 2)
    j = min(int(c), nx - 2)
    fr = r - i
    fc = c - j
    return ((1 - fr) * ((1 - fc) * z[i, j] + fc * z[i, j + 1])
            + fr * ((1 - fc) * z[i + 1, j] + fc * z[i + 1, j + 1]))


@numba.njit(cache=True)
def _heights(z, x0, y0, p, fill, xs, ys):
    out = np.empty(xs.size)
    for i in range(xs.size):
        out[i] = _height(z, x0, y0, p, fill, xs[i], ys[i])
    return out


@numba.njit(cache=True)
def _clearance(z, x0, y0, p, fill, dx, dy, dz, px, py, pz):
    """Radial height above the sphere minus the terrain height there (m)."""
    rr = np.sqrt(px * px + py * py + (pz + R_M) ** 2)
    return rr - R_M - (_height(z, x0, y0, p, fill, px - dx, py - dy) + dz)


@numba.njit(cache=True)
def _raycast(z, x0, y0, p, fill, zmax, dx, dy, dz, px, py, pz, bx, by, bz, max_range):
    """Slant range (m) along unit beam b from point p to the terrain; -1 if beyond max_range."""
    c = _clearance(z, x0, y0, p, fill, dx, dy, dz, px, py, pz)
    if c <= 0.0:
        return 0.0
    # cos of the beam to the local down direction
    rr = np.sqrt(px * px + py * py + (pz + R_M) ** 2)
    cosd = -(bx * px + by * py + bz * (pz + R_M)) / rr
    if cosd <= 1e-3:
        return -1.0
    hmax = max(zmax, fill) + dz
    t = 0.0
    alt_sphere = rr - R_M
    if alt_sphere > hmax:
        t = (alt_sphere - hmax) / cosd
    tprev = t
    while t <= max_range:
        c = _clearance(z, x0, y0, p, fill, dx, dy, dz, px + t * bx, py + t * by, pz + t * bz)
        if c <= 0.0:
            lo, hi = tprev, t
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                if _clearance(z, x0, y0, p, fill, dx, dy, dz, px + mid * bx, py + mid * by, pz + mid * bz) > 0.0:
                    lo = mid
                else:
                    hi = mid
                if hi - lo < 1e-4:
                    break
            return 0.5 * (lo + hi)
        tprev = t
        t += max(0.5 * c / cosd, 0.25 * p)
    return -1.0


def altitude_m(terrain: SiteTerrain, r) -> float:
    """Height of site point ``r`` above the terrain below it (m)."""
    z, x0, y0, p, fill, _, dx, dy, dz = terrain.args()
    return float(_clearance(z, x0, y0, p, fill, dx, dy, dz, float(r[0]), float(r[1]), float(r[2])))


def slant_range_m(terrain: SiteTerrain, r, beam, max_range_m: float = 1e7) -> float:
    """Range along the unit ``beam`` from ``r`` to the terrain (NaN beyond ``max_range_m``).

    Parameters
    ----------
    terrain : SiteTerrain
        The terrain.
    r : array_like
        (3,) start of the ray, m, site frame.
    beam : array_like
        (3,) unit direction of the ray.
    max_range_m : float
        Longest range searched, m.
    """
    z, x0, y0, p, fill, zmax, dx, dy, dz = terrain.args()
    out = _raycast(z, x0, y0, p, fill, zmax, dx, dy, dz, float(r[0]), float(r[1]), float(r[2]),
                   float(beam[0]), float(beam[1]), float(beam[2]), float(max_range_m))
    return float("nan") if out < 0 else float(out)


# --------------------------------------------------------------------------- dynamics


@numba.njit(cache=True)
def _accel(r, v, f, m, omega):
    rc0, rc1, rc2 = r[0], r[1], r[2] + R_M
    rho = np.sqrt(rc0 * rc0 + rc1 * rc1 + rc2 * rc2)
    k = -MU_MOON_M3_S2 / rho**3
    a = np.empty(3)
    # w = (0, 0, -omega): -2 w x v = (-2 omega v1, 2 omega v0, 0) ; -w x (w x rc) = omega^2 (rc0, rc1, 0)
    a[0] = k * rc0 + f[0] / m - 2.0 * omega * v[1] + omega * omega * rc0
    a[1] = k * rc1 + f[1] / m + 2.0 * omega * v[0] + omega * omega * rc1
    a[2] = k * rc2 + f[2] / m
    return a


@numba.njit(cache=True)
def rk4_step(r, v, m, f, mdot, dt, omega):
    """One RK4 step of the translational dynamics with thrust force ``f`` (N) held; returns (r, v, m).

    Parameters
    ----------
    r, v : np.ndarray
        (3,) position (m) and velocity (m/s), site frame.
    m : float
        Mass, kg.
    f : np.ndarray
        (3,) thrust force, N.
    mdot : float
        Mass flow, kg/s.
    dt : float
        Step, s.
    omega : float
        Moon's rotation rate, rad/s.
    """
    a1 = _accel(r, v, f, m, omega)
    r2 = r + 0.5 * dt * v
    v2 = v + 0.5 * dt * a1
    a2 = _accel(r2, v2, f, m - 0.5 * dt * mdot, omega)
    r3 = r + 0.5 * dt * v2
    v3 = v + 0.5 * dt * a2
    a3 = _accel(r3, v3, f, m - 0.5 * dt * mdot, omega)
    r4 = r + dt * v3
    v4 = v + dt * a3
    a4 = _accel(r4, v4, f, m - dt * mdot, omega)
    rn = r + dt / 6.0 * (v + 2 * v2 + 2 * v3 + v4)
    vn = v + dt / 6.0 * (a1 + 2 * a2 + 2 * a3 + a4)
    return rn, vn, m - dt * mdot


def gravity_m_s2(r) -> np.ndarray:
    """Point-mass lunar gravity (m/s^2) at site point ``r``."""
    rc = np.array([r[0], r[1], r[2] + R_M])
    return -MU_MOON_M3_S2 * rc / np.linalg.norm(rc) ** 3


def sensed_delta_v(f_n, m0_kg: float, m1_kg: float, isp_s: float) -> np.ndarray:
    """Non-gravitational delta-v over a constant-thrust step: Isp g0 ln(m0/m1) along the thrust.

    Parameters
    ----------
    f_n : array_like
        (3,) thrust force, N (its direction).
    m0_kg, m1_kg : float
        Mass at the start and end of the step, kg.
    isp_s : float
        Specific impulse, s.
    """
    fn = np.linalg.norm(f_n)
    if fn == 0 or m1_kg >= m0_kg:
        return np.zeros(3)
    return (np.asarray(f_n) / fn) * isp_s * G0_M_S2 * np.log(m0_kg / m1_kg)


def pdi_state(target_r, azimuth_deg: float, downrange_m: float, altitude_m_: float, speed_m_s: float,
              flight_path_deg: float = 0.0):
    """Position (m) and velocity (m/s) at powered-descent initiation, in the site frame.

    The point is ``downrange_m`` along the great circle uprange of ``target_r`` (grid azimuth of the approach,
    clockwise from +y), ``altitude_m_`` above the sphere, flying toward the target at ``speed_m_s`` (horizontal,
    plus a flight-path angle).

    Parameters
    ----------
    target_r : array_like
        (3,) the target, m, site frame.
    azimuth_deg : float
        Grid azimuth of the approach, deg, clockwise from +y.
    downrange_m : float
        Distance along the great circle from the target, m.
    altitude_m_ : float
        Altitude above the sphere, m.
    speed_m_s : float
        Inertial speed, m/s; the returned velocity is relative to the rotating site frame.
    flight_path_deg : float
        Flight-path angle above the local horizontal, deg.
    """
    tc = np.asarray(target_r, float) + np.array([0.0, 0.0, R_M])
    up_t = tc / np.linalg.norm(tc)
    a = np.radians(azimuth_deg)
    u = np.array([np.sin(a), np.cos(a), 0.0])
    u = u - u.dot(up_t) * up_t
    u /= np.linalg.norm(u)
    th = downrange_m / R_M
    up = np.cos(th) * up_t - np.sin(th) * u
    fwd = np.sin(th) * up_t + np.cos(th) * u
    g = np.radians(flight_path_deg)
    r = (R_M + altitude_m_) * up - np.array([0.0, 0.0, R_M])
    v = speed_m_s * (np.cos(g) * fwd + np.sin(g) * up)
    # the site frame rotates with the Moon: remove the frame velocity w x r (w = -Omega z)
    rc = r + np.array([0.0, 0.0, R_M])
    v = v - np.cross(np.array([0.0, 0.0, -OMEGA_MOON_RAD_S]), rc)
    return r, v


# --------------------------------------------------------------------------- closed loop


_SLIM = "SLIM (JAXA; docs/REFERENCES.md#slim)"


@dataclass(frozen=True)
class DescentParams:
    """Mission design of one descent (defaults: SLIM-like start, Chandrayaan-3-like hazard phase).

    PDI at ``pdi_altitude_m`` (15 km) and ``pdi_speed_m_s`` (1.7 km/s), SLIM's
    anchor (docs/REFERENCES.md#slim); braking to a gate ``gate_altitude_m`` above the
    target; approach to a hover ``hover_altitude_m`` above it; hazard detection
    at hover with a retarget of up to ``max_retarget_m`` (60 m, Chandrayaan-3);
    vertical descent, ending at ``terminal_speed_m_s``. PDI is
    ``pdi_speed_m_s^2 / (2 braking_decel_m_s2)`` uprange of the target.

    ``sun_elevation_deg`` and ``sun_azimuth_deg`` are the Sun at the target; a
    run computes them from the landing epoch (``landing.epoch``), so they are
    not config keys (``config=False`` in their metadata) ``vision_sun_elevation_deg``
    is the Sun over the terrain the camera images, from the site's horizons (a
    ridge-top target can be lit with the Sun below its horizontal; a lit target
    over a shadowed track images darkness).
    """

    @property
    def camera_sun_elevation_deg(self) -> float:
        """The Sun elevation the vision model flies: ``vision_sun_elevation_deg`` when set, else the target's."""
        return self.sun_elevation_deg if self.vision_sun_elevation_deg is None else self.vision_sun_elevation_deg

    @property
    def pdi_downrange_m(self) -> float:
        """Braking distance from PDI at ``braking_decel_m_s2``, m: v^2 / (2 a)."""
        return self.pdi_speed_m_s**2 / (2.0 * self.braking_decel_m_s2)

    pdi_altitude_m: float = param(15_000.0, "m", "altitude of powered-descent initiation above the sphere", _SLIM)
    pdi_speed_m_s: float = param(1_700.0, "m/s", "horizontal speed at PDI", _SLIM)
    braking_decel_m_s2: float = param(2.0, "m/s^2", "planned braking deceleration (sets PDI's downrange distance v^2 / 2a)",
                                      f"{ASSUMED}: ~T/W 1.4 less gravity at PDI")
    approach_azimuth_deg: float = param(90.0, "deg", "grid azimuth of the approach, clockwise from +y", ASSUMED)
    gate_altitude_m: float = param(2_000.0, "m", "altitude above the target that ends the braking phase", f"{ASSUMED}: Chandrayaan-3-like rough-braking end")
    gate_descent_m_s: float = param(30.0, "m/s", "descent rate at the gate", ASSUMED)
    hover_altitude_m: float = param(100.0, "m", "hover altitude above the target for hazard detection",
                                    "Chandrayaan-3 hovered ~150 m, SLIM ~50 m (docs/REFERENCES.md#chandrayaan3, docs/REFERENCES.md#slim); 100 m between them")
    hover_time_s: float = param(4.0, "s", "hover duration for hazard detection", f"{ASSUMED}: a few seconds of imaging")
    max_retarget_m: float = param(60.0, "m", "largest hazard-avoidance retarget (0-200 m)", "Chandrayaan-3 (docs/REFERENCES.md#chandrayaan3: up to ~60 m)")
    terminal_speed_m_s: float = param(1.0, "m/s", "vertical speed of the final descent", f"{ASSUMED}: half the 2 m/s touchdown limit")
    dt_braking_s: float = param(0.1, "s", "integration step above the gate", f"{ASSUMED}: converged RK4 step")
    dt_terminal_s: float = param(0.05, "s", "integration step below the gate", f"{ASSUMED}: converged RK4 step")
    guidance_hz_braking: float = param(1.0, "Hz", "guidance update rate above the gate", ASSUMED)
    guidance_hz_terminal: float = param(10.0, "Hz", "guidance update rate below the gate", ASSUMED)
    altimeter_hz: float = param(10.0, "Hz", "laser altimeter rate below the gate", ASSUMED)
    altimeter_hz_braking: float = param(2.0, "Hz", "laser altimeter rate above the gate", ASSUMED)
    vision_hz: float = param(1.0, "Hz", "vision-fix (crater navigation) rate", f"{ASSUMED}: SLIM-like 1 Hz image matching")
    altimeter_gating: str = param("innovation", "-", "'innovation' (reject altimeter outliers against the filter) or 'naive' "
                                  "(reject range jumps: ispace M1's fault logic)", "ispace M1 (docs/REFERENCES.md#ispace-m1) for 'naive'")
    sun_elevation_deg: float = param(1.5, "deg", "Sun elevation at the target", "set from the landing epoch (SPICE)", config=False)
    sun_azimuth_deg: float = param(90.0, "deg", "Sun grid azimuth at the target, clockwise from +y", "set from the landing epoch (SPICE)",
                                   config=False)
    vision_sun_elevation_deg: float | None = param(
        None, "deg", "Sun elevation over the terrain the descent camera images (above the target's terrain horizon, "
        "<= 0 when the target or most of the descent track is in shadow); None = sun_elevation_deg",
        "set from the landing epoch and the site's horizons (lupex.landing.window.camera_sun_elevation_deg)", config=False)
    hazard_detection: bool = param(True, "-", "detect hazards at hover and retarget to a safe spot", "Chandrayaan-3 / SLIM hazard avoidance")
    max_time_s: float = param(2_000.0, "s", "simulation time limit of one descent", f"{ASSUMED}: well above a ~10-15 min descent")
    record_hz: float = param(1.0, "Hz", "rate of the recorded history (figures)", ASSUMED)

    def __post_init__(self):
        check_positive(self, "pdi_altitude_m", "pdi_speed_m_s", "braking_decel_m_s2", "gate_altitude_m", "hover_altitude_m",
                       "dt_braking_s", "dt_terminal_s", "altimeter_hz", "vision_hz", "terminal_speed_m_s",
                       "guidance_hz_braking", "guidance_hz_terminal", "altimeter_hz_braking", "max_time_s", "record_hz",
                       "gate_descent_m_s")
        check_non_negative(self, "hover_time_s")
        check_range(self, "max_retarget_m", 0, 200)
        if self.altimeter_gating not in ("innovation", "naive"):
            raise ConfigError(f"DescentParams.altimeter_gating must be 'innovation' or 'naive', got {self.altimeter_gating!r}")
        if self.hover_altitude_m >= self.gate_altitude_m:
            raise ConfigError(f"DescentParams.hover_altitude_m ({self.hover_altitude_m} m) must be below gate_altitude_m "
                              f"({self.gate_altitude_m} m)")


@dataclass(frozen=True)
class DescentResult:
    """Outcome of one descent. Positions in the site frame (m); ``history`` is a dict of arrays."""

    success: bool
    failure_cause: str
    touchdown_r_m: np.ndarray
    target_r_m: np.ndarray
    aim_r_m: np.ndarray
    landing_error_m: float
    aim_error_m: float
    retarget_m: float
    vertical_speed_m_s: float
    horizontal_speed_m_s: float
    slope_deg: float
    propellant_used_kg: float
    duration_s: float
    nav_error_at_m: dict
    history: dict = field(repr=False, default_factory=dict)
