"""Guidance laws of the powered descent and the closed guidance-navigation-control loop.

Phases (after SLIM and Chandrayaan-3, docs/REFERENCES.md#slim, docs/REFERENCES.md#chandrayaan3):

1. **Braking** from PDI (~15 km, ~1.7 km/s) to a gate above the target. The
   law is E-guidance / zero-effort-miss guidance (Cherry 1964, AIAA 64-638;
   D'Souza 1997, AIAA 97-3709): with time-to-go T, the thrust acceleration
   that meets a position and velocity at T with least integral |a|^2 is

       a = 6 (r_T - r) / T^2 - (4 v + 2 v_T) / T - g.

   It is written in the local curvilinear frame of the current position
   (downrange along the great circle to the gate, up, crossrange), with the
   effective vertical gravity mu/r^2 - v_h^2/r, so the long (~500 km) arc
   over the curved Moon is handled; T is chosen each second so that the
   commanded thrust is ``braking_throttle`` of the maximum (a 1-D root find;
   |a(T)| decreases monotonically toward g_eff as T grows).
2. **Approach**: the same law in Cartesian form with a counting-down T, from
   the gate to a hover point ``hover_altitude_m`` above the target, v = 0.
3. **Hover, hazard detection and retarget** (up to 60 m, Chandrayaan-3),
   then the E-guidance law to the hover point above the chosen spot.
4. **Vertical descent**: velocity tracking, v_z = -clip(0.1 h, v_term, 5 m/s)
   with position hold on the chosen spot; touchdown at ``terminal_speed_m_s``.

For a quadratic-in-time acceleration profile that also meets an end
acceleration a_T (Apollo's quartic-position guidance, Klumpp 1974,
Automatica 10:133), the total commanded acceleration is
``12 (r_T - r)/T^2 - 6 (v + v_T)/T + a_T`` (:func:`apollo_accel`).

The actuator limits the thrust to [min_throttle, 1] x max thrust and slews
its direction at ``slew_rate_deg_s``; after braking the thrust stays within
45 deg (approach) or 20 deg (hover, descent) of the vertical and never
points down (the lander does not flip to descend faster). Guidance flies the *estimated* state
and an onboard mass estimate from the commanded thrust.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from lupex.errors import ConfigError, InputError
from lupex.landing import descent as _d
from lupex.landing import filter as nav
from lupex.landing import hazard
from lupex.landing import sensors as sens

__all__ = ["e_guidance_accel", "apollo_accel", "braking_accel", "braking_tgo", "terminal_accel",
           "limit_thrust", "tilt_limit", "run_descent"]

R_M = _d.R_M
NAV_LEVELS_M = (10_000.0, 5_000.0, 2_000.0, 1_000.0, 500.0, 200.0, 100.0, 50.0, 20.0)  # nav error recorded here
EZ = np.array([0.0, 0.0, 1.0])


def e_guidance_accel(dr, v, v_T, tgo, g):
    """Thrust acceleration of E-guidance: 6 dr/T^2 - (4 v + 2 v_T)/T - g (dr = r_T - r).

    Parameters
    ----------
    dr : np.ndarray
        (3,) target minus current position, m.
    v : np.ndarray
        (3,) velocity, m/s.
    v_T : np.ndarray
        (3,) velocity wanted at the target, m/s.
    tgo : float
        Time to go T, s.
    g : np.ndarray
        (3,) gravity acceleration, m/s^2.
    """
    return 6.0 * np.asarray(dr) / tgo**2 - (4.0 * np.asarray(v) + 2.0 * np.asarray(v_T)) / tgo - np.asarray(g)


def apollo_accel(dr, v, v_T, a_T, tgo, g):
    """Thrust acceleration of Apollo's quartic guidance (Klumpp 1974): 12 dr/T^2 - 6(v+v_T)/T + a_T - g.

    Parameters
    ----------
    dr : np.ndarray
        (3,) target minus current position, m.
    v : np.ndarray
        (3,) velocity, m/s.
    v_T : np.ndarray
        (3,) velocity wanted at the target, m/s.
    a_T : np.ndarray
        (3,) acceleration wanted at the target, m/s^2.
    tgo : float
        Time to go T, s.
    g : np.ndarray
        (3,) gravity acceleration, m/s^2.
    """
    return 12.0 * np.asarray(dr) / tgo**2 - 6.0 * (np.asarray(v) + np.asarray(v_T)) / tgo + np.asarray(a_T) - g


def _local_frame(r, r_T):
    """Up, downrange (toward r_T along the great circle), crossrange at r; |r|, |r_T| from the centre, angle."""
    rc0, rc1, rc2 = float(r[0]), float(r[1]), float(r[2]) + R_M
    rho = (rc0 * rc0 + rc1 * rc1 + rc2 * rc2) ** 0.5
    u0, u1, u2 = rc0 / rho, rc1 / rho, rc2 / rho
    t0, t1, t2 = float(r_T[0]), float(r_T[1]), float(r_T[2]) + R_M
    tn = (t0 * t0 + t1 * t1 + t2 * t2) ** 0.5
    t0, t1, t2 = t0 / tn, t1 / tn, t2 / tn
    tu = t0 * u0 + t1 * u1 + t2 * u2
    h0, h1, h2 = t0 - tu * u0, t1 - tu * u1, t2 - tu * u2
    hn = (h0 * h0 + h1 * h1 + h2 * h2) ** 0.5
    if hn > 1e-12:
        d0, d1, d2 = h0 / hn, h1 / hn, h2 / hn
    else:
        d0, d1, d2 = 1.0, 0.0, 0.0
    c = (u1 * d2 - u2 * d1, u2 * d0 - u0 * d2, u0 * d1 - u1 * d0)
    theta = float(np.arctan2(hn, tu))
    return np.array([u0, u1, u2]), np.array([d0, d1, d2]), np.array(c), rho, tn, theta


def braking_tgo(r, v, r_T, v_T_dr):
    """Time-to-go of a constant downrange deceleration: 2 s / (v_dr + v_T) (s along the great circle).

    Parameters
    ----------
    r : np.ndarray
        (3,) position, m, site frame.
    v : np.ndarray
        (3,) velocity, m/s.
    r_T : np.ndarray
        (3,) the gate, m.
    v_T_dr : float
        Downrange speed wanted at the gate, m/s.
    """
    up, d, c, rho, tn, theta = _local_frame(r, r_T)
    return 2.0 * tn * theta / max(float(v @ d) + v_T_dr, 1e-3)


def braking_accel(r, v, r_T, v_T_dr, v_T_up, tgo):
    """Thrust acceleration (site frame) of curvilinear E-guidance toward gate ``r_T``.

    ``v_T_dr``, ``v_T_up``: downrange and vertical speeds wanted at the gate.

    Parameters
    ----------
    r : np.ndarray
        (3,) position, m, site frame.
    v : np.ndarray
        (3,) velocity, m/s.
    r_T : np.ndarray
        (3,) the gate, m.
    v_T_dr, v_T_up : float
        Downrange and vertical speeds wanted at the gate, m/s.
    tgo : float
        Time to go, s.
    """
    up, d, c, rho, tn, theta = _local_frame(r, r_T)
    s = tn * theta
    dh = tn - rho
    vdr, vup, vcr = float(v @ d), float(v @ up), float(v @ c)
    g_eff = _d.MU_MOON_M3_S2 / rho**2 - (vdr * vdr + vcr * vcr) / rho
    adr = 6 * s / tgo**2 - (4 * vdr + 2 * v_T_dr) / tgo
    aup = 6 * dh / tgo**2 - (4 * vup + 2 * v_T_up) / tgo + g_eff
    acr = -4 * vcr / tgo
    return adr * d + aup * up + acr * c


def terminal_accel(r, v, aim_xy, alt_m, g, *, hold_alt_m=None, v_term=1.0, v_max=5.0, kv=0.8, kp=0.25,
                   v_h_max=3.0):
    """Thrust acceleration of hover (``hold_alt_m``) or vertical descent over ``aim_xy``.

    Parameters
    ----------
    r : np.ndarray
        (3,) position, m, site frame.
    v : np.ndarray
        (3,) velocity, m/s.
    aim_xy : array_like
        (2,) point to descend over, m.
    alt_m : float
        Altitude above the terrain, m.
    g : np.ndarray
        (3,) gravity acceleration, m/s^2.
    hold_alt_m : float, optional
        Altitude to hover at, m (None: descend).
    v_term : float
        Slowest descent rate, m/s.
    v_max : float
        Fastest vertical speed, m/s.
    kv : float
        Velocity gain, 1/s.
    kp : float
        Horizontal position gain, 1/s.
    v_h_max : float
        Fastest horizontal speed, m/s.
    """
    dxy = np.asarray(aim_xy, float) - r[:2]
    vh = kp * dxy
    n = float(np.linalg.norm(vh))
    if n > v_h_max:
        vh *= v_h_max / n
    if hold_alt_m is None:
        vz = -float(np.clip(0.1 * alt_m, v_term, v_max))
    else:
        vz = float(np.clip(0.3 * (hold_alt_m - alt_m), -v_max, v_max))
    vc = np.array([vh[0], vh[1], vz])
    return kv * (vc - v) - g


def tilt_limit(f_cmd, r, max_tilt_deg: float):
    """Keep the thrust within ``max_tilt_deg`` of the local vertical, never pointing down."""
    rc = np.array([r[0], r[1], r[2] + R_M])
    up = rc / np.linalg.norm(rc)
    fv = float(f_cmd @ up)
    fh = f_cmd - fv * up
    fv = max(fv, 0.05 * float(np.linalg.norm(f_cmd)), 1e-6)
    nh = float(np.linalg.norm(fh))
    cap = fv * np.tan(np.radians(max_tilt_deg))
    if nh > cap:
        fh *= cap / nh
    return fv * up + fh


def limit_thrust(f_cmd, dir_prev, vehicle: _d.LanderVehicleParams, dt: float):
    """Thrust force after throttle limits and a slew-rate limit on its direction.

    Parameters
    ----------
    f_cmd : np.ndarray
        (3,) commanded thrust force, N.
    dir_prev : np.ndarray
        (3,) unit thrust direction of the previous step.
    vehicle : LanderVehicleParams
        Throttle range and slew rate.
    dt : float
        Step, s.
    """
    fmag = float(np.linalg.norm(f_cmd))
    u = f_cmd / fmag if fmag > 0 else dir_prev
    cosang = float(np.clip(u @ dir_prev, -1.0, 1.0))
    ang = np.arccos(cosang)
    amax = np.radians(vehicle.slew_rate_deg_s) * dt
    if ang > amax:
        w = u - cosang * dir_prev
        wn = np.linalg.norm(w)
        w = w / wn if wn > 1e-12 else np.cross(dir_prev, EZ if abs(dir_prev[2]) < 0.9 else np.array([1.0, 0, 0]))
        w /= np.linalg.norm(w)
        u = np.cos(amax) * dir_prev + np.sin(amax) * w
    fmag = float(np.clip(fmag, vehicle.min_throttle * vehicle.max_thrust_n, vehicle.max_thrust_n))
    return fmag * u, u


def _footprint_slope_deg(terrain, x, y, footprint_m):
    """Slope of the least-squares plane through the terrain under the footprint disk (independent of terrain.slope)."""
    n = 7
    u = np.linspace(-footprint_m / 2, footprint_m / 2, n)
    X, Y = np.meshgrid(u, u)
    m = X**2 + Y**2 <= (footprint_m / 2) ** 2 + 1e-9
    X, Y = X[m], Y[m]
    Z = terrain.height(x + X, y + Y)
    A = np.column_stack([X, Y, np.ones_like(X)])
    (gx, gy, _), *_ = np.linalg.lstsq(A, Z, rcond=None)
    return float(np.degrees(np.arctan(np.hypot(gx, gy))))


@numba.njit(cache=True)
def propagate(r, v, m, f_true, ve_true, dry_kg, x, P, bias, noise_dv, noise_b, dt, n, omega, qv, qb,
              z, x0, y0, p, fill):
    """``n`` steps of plant, IMU and filter prediction with the thrust force held.

    Truth: RK4 (:func:`rk4_step`) with the exact sensed delta-v of a
    constant-thrust step; IMU: + bias dt + ``noise_dv[k]`` (already scaled),
    bias walk ``noise_b[k]``; filter: :func:`lupex.landing.filter.predict`. Stops early at touchdown
    (clearance <= 0) or when the propellant is gone. Returns (r, v, m, x, P,
    bias, steps_done, out_of_propellant).

    Parameters
    ----------
    r, v : np.ndarray
        (3,) true position (m) and velocity (m/s), site frame.
    m : float
        True mass, kg.
    f_true : np.ndarray
        (3,) true thrust force, N.
    ve_true : float
        True exhaust velocity, m/s.
    dry_kg : float
        Dry mass, kg.
    x, P : np.ndarray
        (9,) filter mean and (9, 9) covariance.
    bias : np.ndarray
        (3,) true accelerometer bias, m/s^2.
    noise_dv : np.ndarray
        (n, 3) IMU velocity noise per step, m/s.
    noise_b : np.ndarray
        (n, 3) bias-walk increments per step, m/s^2.
    dt : float
        Step, s.
    n : int
        Steps.
    omega : float
        Moon's rotation rate, rad/s.
    qv, qb : float
        Filter process noise: velocity (m/s/sqrt(s)) and bias (m/s^2/sqrt(s)) random walks.
    z, x0, y0, p, fill : np.ndarray and float
        The true terrain: heights (m), grid origin (m), pixel (m) and fill height (m), as in :class:`SiteTerrain`.
    """
    fn = np.sqrt(f_true[0] ** 2 + f_true[1] ** 2 + f_true[2] ** 2)
    empty = False
    k = 0
    for k in range(n):
        f = f_true
        if m <= dry_kg:
            f = np.zeros(3)
            empty = True
        mdot = np.sqrt(f[0] ** 2 + f[1] ** 2 + f[2] ** 2) / ve_true
        m0 = m
        r, v, m = _d.rk4_step(r, v, m, f, mdot, dt, omega)
        dv = np.zeros(3)
        if mdot > 0.0:
            dv = f / fn * ve_true * np.log(m0 / m)
        dvm = dv + bias * dt + noise_dv[k]
        bias = bias + noise_b[k]
        x, P = nav._predict(x, P, dvm, dt, omega, qv, qb)
        if _d._clearance(z, x0, y0, p, fill, 0.0, 0.0, 0.0, r[0], r[1], r[2]) <= 0.0:
            return r, v, m, x, P, bias, k + 1, empty
    return r, v, m, x, P, bias, n, empty


def _site_point(terrain, x, y, above=0.0):
    """Site-frame point at radial height ``above`` (m) over the terrain at horizontal (x, y) (m)."""
    h = float(terrain.height(x, y)) + above
    # radial height h above the sphere at horizontal (x, y): solve |p + R z| = R + h for z
    return np.array([x, y, np.sqrt((R_M + h) ** 2 - x * x - y * y) - R_M])


@dataclass(frozen=True)
class _Setup:
    """What one descent holds fixed: models, terrains, target, engine and the run's options."""

    cfg: _d.DescentParams
    vehicle: _d.LanderVehicleParams
    imu: sens.ImuParams
    altimeter: sens.Altimeter
    tuning: nav.FilterParams
    limits: _d.TouchdownParams
    vision: object
    truth: _d.SiteTerrain
    onboard: _d.SiteTerrain
    tx: float
    ty: float
    target_r: np.ndarray
    gate_r: np.ndarray
    ve_true: float
    ve_nom: float
    thrust_scale_error: float
    hazard_sigma_m: float
    record: bool
    vision_off_below_m: float
    tz: tuple


@dataclass
class _Flight:
    """The state one descent carries from cycle to cycle: truth, estimate, guidance phase and schedule."""

    r: np.ndarray
    v: np.ndarray
    m: float
    m_est: float
    est: nav.NavState
    gate: nav.AltimeterGate
    bias_true: np.ndarray
    thrust_dir: np.ndarray
    aim_xy: np.ndarray
    alt_true: float
    phase: str = "braking"
    t: float = 0.0
    tgo: float | None = None
    retarget_m: float = 0.0
    hover_start: float | None = None
    hazard_done: bool = False
    next_guid: float = 0.0
    next_alt: float = 0.0
    next_vis: float = 0.0
    next_rec: float = 0.0
    f_act: np.ndarray = field(default_factory=lambda: np.zeros(3))
    n_vis_ok: int = 0
    failure: str = ""
    nav_err_at: dict = field(default_factory=dict)
    hist: dict = field(default_factory=lambda: {k: [] for k in (
        "t_s", "phase", "alt_m", "nav_err_m", "nav_sigma_m", "mass_kg", "x_m", "y_m", "z_m", "speed_m_s")})


_EPS_S = 1e-9  # events due within this of the clock fire now


def _setup(dem_or_terrain, target_xy, cfg, vehicle, imu, altimeter, vision, tuning, map_offset_m,
           thrust_scale_error, isp_error_frac, hazard_sigma_m, limits, record, vision_off_below_m) -> _Setup:
    """Check the inputs and fix the terrains (true and onboard), the target, the gate and the engine."""
    truth = dem_or_terrain if isinstance(dem_or_terrain, _d.SiteTerrain) else _d.site_terrain(dem_or_terrain)
    onboard = truth.shifted(map_offset_m)
    if vision is None:
        vision = sens.SimulatedVision(sun_elevation_deg=cfg.camera_sun_elevation_deg, map_offset_m=tuple(map_offset_m))
    if not isinstance(vision, sens.VisionSource):
        raise ConfigError("vision must have a fix(t, true_state, est_state, rng) method (a VisionSource)")
    tx, ty = (float(v) for v in target_xy)
    x0, x1, y0, y1 = truth.extent
    if not (x0 <= tx <= x1 and y0 <= ty <= y1):
        raise InputError(f"target ({tx:.0f}, {ty:.0f}) m is outside the DEM (x {x0:.0f}..{x1:.0f}, y {y0:.0f}..{y1:.0f})")
    # target in the site frame (onboard map: what the lander aims at)
    return _Setup(cfg=cfg, vehicle=vehicle, imu=imu, altimeter=altimeter, tuning=tuning, limits=limits, vision=vision,
                  truth=truth, onboard=onboard, tx=tx, ty=ty, target_r=_site_point(onboard, tx, ty),
                  gate_r=_site_point(onboard, tx, ty, cfg.gate_altitude_m),
                  ve_true=vehicle.exhaust_velocity_m_s * (1.0 + isp_error_frac), ve_nom=vehicle.exhaust_velocity_m_s,
                  thrust_scale_error=thrust_scale_error, hazard_sigma_m=hazard_sigma_m, record=record,
                  vision_off_below_m=vision_off_below_m, tz=truth.args())


def _start(s: _Setup, rng, init_sigma_r_m, init_sigma_v_m_s) -> _Flight:
    """The flight at PDI: the nominal state plus drawn errors (truth), the nominal state (filter)."""
    cfg = s.cfg
    r_nom, v_nom = _d.pdi_state(s.target_r, cfg.approach_azimuth_deg, cfg.pdi_downrange_m, cfg.pdi_altitude_m,
                                cfg.pdi_speed_m_s)
    r = r_nom + rng.normal(0.0, 1.0, 3) * np.asarray(init_sigma_r_m, float)
    v = v_nom + rng.normal(0.0, 1.0, 3) * np.asarray(init_sigma_v_m_s, float)
    imu_state = sens.ImuState(s.imu.draw_bias(rng))
    est = nav.init_nav(0.0, r_nom, v_nom, init_sigma_r_m, init_sigma_v_m_s, max(s.imu.turn_on_bias_m_s2, 1e-7))
    return _Flight(r=r, v=v, m=s.vehicle.wet_mass_kg, m_est=s.vehicle.wet_mass_kg, est=est,
                   gate=nav.AltimeterGate(mode=cfg.altimeter_gating), bias_true=imu_state.bias_m_s2.copy(),
                   thrust_dir=-v / np.linalg.norm(v), aim_xy=np.array([s.tx, s.ty]),
                   alt_true=_d.altitude_m(s.truth, r))


def _hazard_retarget(f: _Flight, s: _Setup, re, rng) -> bool:
    """Map hazards under the hover point and pick a safe spot; True when the lander retargets to it."""
    cfg, vehicle, truth = s.cfg, s.vehicle, s.truth
    f.hazard_done = True
    z_p, xs, ys, hfn = hazard.sensed_patch(
        truth, f.r, re, (s.tx, s.ty), cfg.max_retarget_m + 3 * vehicle.footprint_m, truth.pixel_m,
        s.hazard_sigma_m, rng)
    sh = hazard.shadow_mask(hfn, xs, ys, cfg.sun_elevation_deg, cfg.sun_azimuth_deg,
                            2 * truth.pixel_m, max_dist_m=600.0)
    hz = hazard.hazard_map(z_p, xs, ys, footprint_m=vehicle.footprint_m,
                           max_slope_deg=s.limits.max_slope_deg, shadow=sh)
    # every cell within half a leg span and 2 sigma of nav error must be safe too
    margin = float(np.clip(max(0.5 * vehicle.footprint_m,
                               2.0 * np.sqrt(f.est.P[0, 0] + f.est.P[1, 1])), 0.0, 10.0))
    spot, dist = hazard.choose_landing_site(hz["safe"].values, xs, ys, (s.tx, s.ty), cfg.max_retarget_m, margin)
    if spot is None:
        f.retarget_m = float("nan")  # nothing safe in reach: land at the target
    elif dist > 0:
        f.aim_xy = np.array(spot)
        f.retarget_m = dist
        f.phase = "retarget"
        f.tgo = 10.0 + dist / 3.0
        f.next_guid = f.t
        return True
    return False


def _guide(f: _Flight, s: _Setup, rng) -> bool:
    """One guidance cycle: advance the phase, set the held thrust; True when a retarget asks for a new cycle now."""
    cfg = s.cfg
    re, ve = f.est.r_m, f.est.v_m_s
    guid_dt = 1.0 / (cfg.guidance_hz_braking if f.phase == "braking" else cfg.guidance_hz_terminal)
    f.next_guid = f.t + guid_dt
    g_est = _d.gravity_m_s2(re)
    alt_est = _d.altitude_m(s.onboard, re)
    if f.phase == "braking":
        f.tgo = braking_tgo(re, ve, s.gate_r, 0.0)
        a_cmd = braking_accel(re, ve, s.gate_r, 0.0, -cfg.gate_descent_m_s, max(f.tgo, 1.0))
        if f.tgo < 20.0:
            f.phase = "approach"
            hover_r = _site_point(s.onboard, f.aim_xy[0], f.aim_xy[1], cfg.hover_altitude_m)
            dist = float(np.linalg.norm(hover_r - re))
            f.tgo = float(np.clip(2.0 * dist / max(np.linalg.norm(ve), 1.0), 20.0, 300.0))
            f.next_guid = f.t
    elif f.phase in ("approach", "retarget"):
        hover_r = _site_point(s.onboard, f.aim_xy[0], f.aim_xy[1], cfg.hover_altitude_m)
        a_cmd = e_guidance_accel(hover_r - re, ve, np.zeros(3), max(f.tgo, 2.0), g_est)
        f.tgo -= guid_dt
        if f.tgo <= 2.0:
            f.phase = "hover"
            f.hover_start = f.t
    if f.phase in ("hover", "terminal"):
        a_cmd = terminal_accel(re, ve, f.aim_xy, alt_est, g_est,
                               hold_alt_m=cfg.hover_altitude_m if f.phase == "hover" else None,
                               v_term=cfg.terminal_speed_m_s)
        if f.phase == "hover" and f.t - f.hover_start >= cfg.hover_time_s:
            f.phase = "terminal"
            if cfg.hazard_detection and not f.hazard_done and _hazard_retarget(f, s, re, rng):
                return True
    f_cmd = f.m_est * a_cmd
    if f.phase != "braking":
        f_cmd = tilt_limit(f_cmd, re, 45.0 if f.phase == "approach" else 20.0)
    f.f_act, f.thrust_dir = limit_thrust(f_cmd, f.thrust_dir, s.vehicle, guid_dt)
    return False


def _altimeter_hz(cfg: _d.DescentParams, phase: str) -> float:
    """Altimeter rate (Hz) in ``phase``."""
    return cfg.altimeter_hz_braking if phase == "braking" else cfg.altimeter_hz


def _fly_to_next_event(f: _Flight, s: _Setup, dt: float, rng) -> None:
    """Propagate truth, IMU and filter with the held thrust to the next guidance, sensor or record time."""
    imu = s.imu
    alt_hz = _altimeter_hz(s.cfg, f.phase)
    f.next_alt = max(f.next_alt, f.t) if alt_hz > 0 else np.inf
    t_next = min(f.next_guid, f.next_alt, f.next_vis, f.next_rec if s.record else np.inf)
    n = max(1, int(round((t_next - f.t) / dt)))
    f_true = f.f_act * (1.0 + s.thrust_scale_error)
    noise_dv = rng.standard_normal((n, 3)) * (imu.vrw_m_s_rthz * np.sqrt(dt))
    noise_b = rng.standard_normal((n, 3)) * (imu.bias_rw_m_s2_rts * np.sqrt(dt))
    tz = s.tz
    f.r, f.v, f.m, x, P, f.bias_true, k, empty = propagate(
        f.r, f.v, f.m, f_true, s.ve_true, s.vehicle.dry_mass_kg, f.est.x, f.est.P, f.bias_true, noise_dv, noise_b,
        dt, n, _d.OMEGA_MOON_RAD_S, s.tuning.q_vel_m_s_rts, s.tuning.q_bias_m_s2_rts, tz[0], tz[1], tz[2], tz[3],
        tz[4])
    f.t += k * dt
    f.est = nav.NavState(f.t, x, P)
    f.m_est -= np.linalg.norm(f.f_act) / s.ve_nom * k * dt
    if empty:
        f.failure = f.failure or "propellant"
    f.alt_true = _d.altitude_m(s.truth, f.r)


def _sense(f: _Flight, s: _Setup, rng) -> None:
    """Altimeter and vision updates of the filter, each when due."""
    t, r = f.t, f.r
    if t + _EPS_S >= f.next_alt:
        f.next_alt = t + 1.0 / _altimeter_hz(s.cfg, f.phase)
        rng_meas = s.altimeter.measure(s.truth, r, rng)
        if rng_meas is not None:
            f.est, f.gate, _ = nav.update_altimeter(f.est, f.gate, rng_meas, s.altimeter.sigma(rng_meas), s.onboard,
                                                    s.altimeter, s.tuning)
    if t + _EPS_S >= f.next_vis:
        f.next_vis = t + 1.0 / s.cfg.vision_hz
        ts = sens.TruthState(t, r.copy(), f.v.copy(), f.alt_true)
        fx = s.vision.fix(t, ts, f.est, rng)
        if fx is not None and getattr(fx, "ok", True) and f.alt_true > s.vision_off_below_m:
            f.est, ok, _ = nav.update_vision(f.est, fx, s.tuning)
            f.n_vis_ok += int(ok)


def _log(f: _Flight, s: _Setup) -> None:
    """Navigation error at the altitudes of NAV_LEVELS_M, and the history row when one is due."""
    t, r = f.t, f.r
    err = float(np.linalg.norm(f.est.r_m - r))
    for lv in NAV_LEVELS_M:
        if lv not in f.nav_err_at and f.alt_true <= lv:
            f.nav_err_at[lv] = err
    if s.record and t + _EPS_S >= f.next_rec:
        f.next_rec = t + 1.0 / s.cfg.record_hz
        for key, val in (("t_s", t), ("phase", f.phase), ("alt_m", f.alt_true), ("nav_err_m", err),
                         ("nav_sigma_m", float(np.sqrt(np.trace(f.est.P[:3, :3])))), ("mass_kg", f.m),
                         ("x_m", r[0]), ("y_m", r[1]), ("z_m", r[2]), ("speed_m_s", float(np.linalg.norm(f.v)))):
            f.hist[key].append(val)


def _touchdown(f: _Flight, s: _Setup) -> _d.DescentResult:
    """Judge the touchdown against the limits and build the result."""
    r, v, limits, aim_xy = f.r, f.v, s.limits, f.aim_xy
    up = (r + R_M * EZ) / np.linalg.norm(r + R_M * EZ)
    v_vert = float(-(v @ up))
    v_hor = float(np.linalg.norm(v - (v @ up) * up))
    slope = _footprint_slope_deg(s.truth, r[0], r[1], s.vehicle.footprint_m)
    failure = f.failure
    if not failure:
        if f.phase not in ("terminal", "hover"):
            failure = "crash"
        elif v_vert > limits.max_vertical_m_s:
            failure = "vertical_speed"
        elif v_hor > limits.max_horizontal_m_s:
            failure = "horizontal_speed"
        elif slope > limits.max_slope_deg:
            failure = "slope"
    nav_err_at = f.nav_err_at
    for lv in NAV_LEVELS_M:
        nav_err_at.setdefault(lv, float("nan"))
    return _d.DescentResult(
        success=not failure, failure_cause=failure or "none", touchdown_r_m=r, target_r_m=s.target_r,
        aim_r_m=np.array([aim_xy[0], aim_xy[1], 0.0]),
        landing_error_m=float(np.hypot(r[0] - s.tx, r[1] - s.ty)),
        aim_error_m=float(np.hypot(r[0] - aim_xy[0], r[1] - aim_xy[1])),
        retarget_m=float(f.retarget_m), vertical_speed_m_s=v_vert, horizontal_speed_m_s=v_hor, slope_deg=slope,
        propellant_used_kg=float(s.vehicle.wet_mass_kg - f.m), duration_s=float(f.t), nav_error_at_m=nav_err_at,
        history={k: np.asarray(val) for k, val in f.hist.items()} | {"vision_accepted": f.n_vis_ok,
                                                                    "alt_accepted": f.gate.n_accepted,
                                                                    "alt_rejected": f.gate.n_rejected},
    )


def run_descent(dem_or_terrain, target_xy, rng: np.random.Generator, *, config: _d.DescentParams = _d.DescentParams(),
                vehicle: _d.LanderVehicleParams = _d.LanderVehicleParams(), imu: sens.ImuParams = sens.ImuParams(),
                altimeter: sens.Altimeter = sens.Altimeter(), vision=None,
                tuning: nav.FilterParams = nav.FilterParams(), init_sigma_r_m=(100.0, 100.0, 50.0),
                init_sigma_v_m_s=0.3, map_offset_m=(0.0, 0.0, 0.0), thrust_scale_error=0.0, isp_error_frac=0.0,
                hazard_sigma_m=0.05, limits: _d.TouchdownParams = _d.TouchdownParams(), record: bool = True,
                vision_off_below_m: float = -1.0) -> _d.DescentResult:
    """Fly one descent to ``target_xy`` (site/DEM metres) and return the :class:`DescentResult`.

    The truth starts at the nominal PDI state (:func:`lupex.landing.descent.pdi_state`) plus
    Gaussian errors ``init_sigma_r_m`` / ``init_sigma_v_m_s`` drawn from ``rng``; the filter starts
    at the nominal state. ``vision`` is a :class:`~lupex.landing.sensors.VisionSource` (None: a
    :class:`~lupex.landing.sensors.SimulatedVision` with this run's ``map_offset_m``); the onboard
    DEM is the true one displaced by ``map_offset_m``. ``thrust_scale_error`` and
    ``isp_error_frac`` perturb the real engine against the onboard model.

    Each cycle: guidance when due (:func:`_guide`), propagation to the next event
    (:func:`_fly_to_next_event`), then the sensors (:func:`_sense`) and the log (:func:`_log`).

    Parameters
    ----------
    dem_or_terrain : xr.DataArray or SiteTerrain
        The true terrain.
    target_xy : array_like
        (2,) target, m, site frame.
    rng : np.random.Generator
        Source of every random draw.
    config : DescentParams
        The approach and guidance settings.
    vehicle : LanderVehicleParams
        The lander.
    imu : ImuParams
        The accelerometer's errors.
    altimeter : Altimeter
        The laser altimeter.
    vision : VisionSource, optional
        The vision fixes (default: simulated).
    tuning : FilterParams
        The navigation filter's settings.
    init_sigma_r_m : float or array_like
        1-sigma of the initial position error, m (per axis).
    init_sigma_v_m_s : float or array_like
        1-sigma of the initial velocity error, m/s.
    map_offset_m : array_like
        (3,) registration error of the onboard map, m.
    thrust_scale_error : float
        Relative error of the real thrust.
    isp_error_frac : float
        Relative error of the real specific impulse.
    hazard_sigma_m : float
        Height noise of the hazard sensor, m.
    limits : TouchdownParams
        What a safe touchdown is.
    record : bool
        Keep the trajectory log.
    vision_off_below_m : float
        Altitude below which vision fixes are ignored, m.
    """
    s = _setup(dem_or_terrain, target_xy, config, vehicle, imu, altimeter, vision, tuning, map_offset_m,
               thrust_scale_error, isp_error_frac, hazard_sigma_m, limits, record, vision_off_below_m)
    f = _start(s, rng, init_sigma_r_m, init_sigma_v_m_s)
    while True:
        dt = config.dt_braking_s if f.phase == "braking" else config.dt_terminal_s  # the phase before guidance
        if f.t + _EPS_S >= f.next_guid and _guide(f, s, rng):
            continue
        _fly_to_next_event(f, s, dt, rng)
        if f.alt_true <= 0.0:
            break
        _sense(f, s, rng)
        _log(f, s)
        if f.t > config.max_time_s:
            f.failure = f.failure or "timeout"
            break
    return _touchdown(f, s)
