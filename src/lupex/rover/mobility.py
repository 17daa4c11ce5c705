"""Crawler mobility on regolith: sinkage, resistance, thrust vs slip, slip and speed vs slope.

Bekker-Wong track theory for a rigid track with uniform ground pressure
(Wong, J.Y. 2008, *Theory of Ground Vehicles*, 4th ed., Wiley, Ch. 2;
Bekker, M.G. 1969, *Introduction to Terrain-Vehicle Systems*; the exact
equation numbers in Wong are from memory and not checked):

* Bekker pressure-sinkage  p = (k_c / b + k_phi) z^n, so for a track of width
  b, length L carrying W_t:  z = (W_t / (b L) / (k_c/b + k_phi))^(1/n).
* Compaction (motion) resistance of one track  R_c = b (k_c/b + k_phi) z^(n+1) / (n+1)
  (work of making a rut of depth z per unit travel).
* Tractive effort with Janosi-Hanamoto shear, uniform pressure:
  F = (A c + W tan phi) [1 - K/(i L) (1 - exp(-i L / K))]
  with A the total contact area, W the normal load, i the slip.
* Internal resistance of the track and running gear (Bekker's tracked-vehicle
  rule as quoted by Wong 2008 Ch. 4): R_in = W (0.0226 + 0.000306 V[km/h]),
  here taken proportional to the *lunar* normal load -- an assumption.

Slip on a slope theta (positive uphill, along the direction of travel) is where
the thrust balances the resistances plus the downslope weight:
F(i) = R_c + R_in + m g sin(theta), with the normal load m g cos(theta). The
thrust rises monotonically with slip, so the balance is found by vectorised
bisection. When even F(1) cannot balance it the rover is immobilised (slip = 1);
that slope follows from the thrust formula at i -> 1 (``traction_limit_slope_deg``).
Downhill, where gravity exceeds the resistances, slip is set to 0 and braking
energy is not recovered (skid, i < 0, is not modelled).

Speed: track speed = min(commanded, drive_efficiency * P_max / F) (a power cap),
ground speed = track speed * (1 - i). Electrical energy per metre of ground
travel: F / (efficiency * (1 - i)) -- equivalently
(resistance + m g sin theta) / efficiency / (1 - slip), as in the issue.

Obstacles: rocks from the Golombek & Rapp (1997, JGR 102(E2):4117) cumulative
fractional-area model F(D) = k exp(-q D), q = 1.79 + 0.152/k (D in m),
rock height ~ D/2; steps from a Gaussian height-difference model with the RMS
deviation scaled to the track length by the Hurst exponent (Shepard et al.
2001, JGR 106(E12):32777). Both are coarse: they give an expected number of
non-climbable obstacles per metre driven for the planner's cost, not positions.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfc, exp1

from lupex.constants import G_MOON_M_S2
from lupex.errors import InputError
from lupex.rover.vehicle import MobilityParams, RoverParams, SoilParams


def _arr(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or infinite values; fill or mask them before calling the rover model")
    return a


def weight_n(mob: MobilityParams) -> float:
    """Lunar weight m g (N)."""
    return mob.mass_kg * G_MOON_M_S2


def contact_area_m2(mob: MobilityParams) -> float:
    """Total ground-contact area of all crawlers (m^2)."""
    return mob.n_tracks * mob.track_length_m * mob.track_width_m


def sinkage_m(normal_load_n, soil: SoilParams, mob: MobilityParams) -> np.ndarray:
    """Static sinkage z of a uniformly loaded track (Bekker): z = (p / (k_c/b + k_phi))^(1/n)."""
    p = np.maximum(_arr(normal_load_n, "normal_load_n"), 0.0) / contact_area_m2(mob)
    k = soil.k_c / mob.track_width_m + soil.k_phi
    return (p / k) ** (1.0 / soil.n)


def compaction_resistance_n(normal_load_n, soil: SoilParams, mob: MobilityParams) -> np.ndarray:
    """Total compaction resistance of all tracks: n_tracks * b (k_c/b + k_phi) z^(n+1)/(n+1) (N)."""
    z = sinkage_m(normal_load_n, soil, mob)
    k = soil.k_c / mob.track_width_m + soil.k_phi
    return mob.n_tracks * mob.track_width_m * k * z ** (soil.n + 1.0) / (soil.n + 1.0)


def internal_resistance_n(normal_load_n, mob: MobilityParams, speed_m_s=None) -> np.ndarray:
    """Running-gear internal resistance W (a + b V[km/h]) (N); V defaults to the commanded speed."""
    v_kmh = (mob.speed_cmd_m_s if speed_m_s is None else np.asarray(speed_m_s, float)) * 3.6
    return np.maximum(_arr(normal_load_n, "normal_load_n"), 0.0) * (
        mob.internal_resistance_coef + mob.internal_resistance_per_kmh * v_kmh
    )


def shear_factor(slip, soil: SoilParams, mob: MobilityParams) -> np.ndarray:
    """Janosi-Hanamoto factor 1 - K/(iL) (1 - exp(-iL/K)) for a uniform-pressure track (0 at i = 0)."""
    i = np.clip(_arr(slip, "slip"), 0.0, 1.0)
    x = i * mob.track_length_m / soil.shear_modulus_k_m
    with np.errstate(divide="ignore", invalid="ignore"):
        f = 1.0 - (-np.expm1(-x)) / x
    # series for tiny x: x/2 - x^2/6 + ...
    return np.where(x < 1e-6, x / 2.0, f)


def thrust_n(slip, normal_load_n, soil: SoilParams, mob: MobilityParams) -> np.ndarray:
    """Tractive effort (A c + W tan phi) * shear_factor(i) (N).

    Janosi-Hanamoto tractive effort of a uniform-pressure track (Wong 2008, Ch. 2; module docstring).

    Parameters
    ----------
    slip : float or array_like
        Slip i, 0..1 (clipped to it); broadcasts with ``normal_load_n``.
    normal_load_n : float or array_like
        Normal load W on all tracks together, N (negative values count as 0).
    soil : SoilParams
        Cohesion c (Pa), friction angle phi (deg) and shear deformation modulus K (m).
    mob : MobilityParams
        Track count, length L and width (m), giving the contact area A (m^2).

    Returns
    -------
    np.ndarray
        Thrust, N, the broadcast shape of ``slip`` and ``normal_load_n``.
    """
    w = np.maximum(_arr(normal_load_n, "normal_load_n"), 0.0)
    fmax = contact_area_m2(mob) * soil.cohesion_pa + w * np.tan(np.radians(soil.friction_angle_deg))
    return fmax * shear_factor(slip, soil, mob)


def _loads(slope_deg, params: RoverParams):
    th = np.radians(_arr(slope_deg, "slope_deg"))
    w = weight_n(params.mobility)
    normal = w * np.cos(th)
    resist = compaction_resistance_n(normal, params.soil, params.mobility) + internal_resistance_n(normal, params.mobility)
    demand = resist + w * np.sin(th)
    return normal, resist, demand


def required_thrust_n(slope_deg, params: RoverParams) -> np.ndarray:
    """Thrust that balances compaction + internal resistance + m g sin(slope) (N); < 0 downhill past ~1 deg."""
    return _loads(slope_deg, params)[2]


def drawbar_pull_n(slip, slope_deg, params: RoverParams) -> np.ndarray:
    """Thrust minus resistances at slip i on a slope (N): what is left to lift the rover or pull a load."""
    normal, resist, _ = _loads(slope_deg, params)
    return thrust_n(slip, normal, params.soil, params.mobility) - resist


def slip(slope_deg, params: RoverParams | None = None, iterations: int = 60) -> np.ndarray:
    """Steady slip (0..1) on a slope along the direction of travel (deg, positive uphill)."""
    params = params or RoverParams()
    normal, _, demand = _loads(slope_deg, params)
    demand = np.broadcast_to(demand, np.broadcast(demand, normal).shape)
    fmax = thrust_n(1.0, normal, params.soil, params.mobility)
    lo = np.zeros(demand.shape)
    hi = np.ones(demand.shape)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        short = thrust_n(mid, normal, params.soil, params.mobility) < demand
        lo = np.where(short, mid, lo)
        hi = np.where(short, hi, mid)
    out = 0.5 * (lo + hi)
    out = np.where(demand <= 0.0, 0.0, out)
    out = np.where(demand >= fmax, 1.0, out)
    return out if out.ndim else float(out)


def traction_limit_slope_deg(params: RoverParams | None = None) -> float:
    """Slope (deg) where the maximum drawbar pull (i -> 1) equals m g sin(theta): slip reaches 100% there."""
    params = params or RoverParams()

    def excess(th_deg):
        return float(drawbar_pull_n(1.0, th_deg, params) - weight_n(params.mobility) * np.sin(np.radians(th_deg)))

    if excess(89.9) > 0:
        return 90.0
    return brentq(excess, 0.0, 89.9, xtol=1e-10)


def speed_m_s(slope_deg, params: RoverParams | None = None) -> np.ndarray:
    """Ground speed (m/s): min(commanded, efficiency * P_max / thrust) * (1 - slip)."""
    params = params or RoverParams()
    mob = params.mobility
    demand = required_thrust_n(slope_deg, params)
    with np.errstate(divide="ignore"):
        cap = np.where(demand > 0, mob.drive_efficiency * mob.drive_power_max_w / np.maximum(demand, 1e-300), np.inf)
    v = np.minimum(mob.speed_cmd_m_s, cap) * (1.0 - slip(slope_deg, params))
    return v if np.ndim(v) else float(v)


def energy_per_m_j(slope_deg, params: RoverParams | None = None) -> np.ndarray:
    """Electrical traction energy per metre of ground travel (J/m): max(F, 0) / efficiency / (1 - slip); inf at slip 1."""
    params = params or RoverParams()
    demand = np.maximum(required_thrust_n(slope_deg, params), 0.0)
    i = slip(slope_deg, params)
    with np.errstate(divide="ignore"):
        e = np.where(i < 1.0, demand / params.mobility.drive_efficiency / np.maximum(1.0 - i, 1e-300), np.inf)
    return e if np.ndim(e) else float(e)


def attitude_deg(slope_deg, aspect_deg, heading_deg):
    """Pitch (positive nose-up) and roll (deg) of a rover heading ``heading_deg`` on a plane.

    ``aspect_deg`` is the azimuth of steepest *ascent* (clockwise from north).
    Exact for a plane: sin(pitch) = f_z/|f| with f the forward vector in the
    plane, sin(roll) = -sin(theta) sin(delta) / |f| with delta = heading - aspect.
    """
    th = np.radians(_arr(slope_deg, "slope_deg"))
    d = np.radians(_arr(heading_deg, "heading_deg") - _arr(aspect_deg, "aspect_deg"))
    fz = np.tan(th) * np.cos(d)
    norm = np.sqrt(1.0 + fz**2)
    pitch = np.degrees(np.arcsin(fz / norm))
    roll = np.degrees(np.arcsin(np.clip(np.sin(th) * np.sin(d) / norm, -1.0, 1.0)))
    return pitch, roll


def traversable(slope_deg, aspect_deg, heading_deg, params: RoverParams | None = None) -> np.ndarray:
    """True where the heading is within the uphill (and traction), downhill and cross-slope limits.

    Parameters
    ----------
    slope_deg : float or array_like
        Terrain slope, deg.
    aspect_deg : float or array_like
        Azimuth of steepest ascent, deg, clockwise from north (grid +y); same shape as ``slope_deg`` or broadcastable.
    heading_deg : float or array_like
        Rover heading, deg, clockwise from north (grid +y); broadcasts with the two above.
    params : RoverParams, optional
        The rover; ``mobility.max_uphill_deg`` (capped at :func:`traction_limit_slope_deg`),
        ``max_downhill_deg`` and ``max_cross_slope_deg`` are the limits (default ``RoverParams()``).

    Returns
    -------
    np.ndarray of bool
        The broadcast shape; pitch and roll from :func:`attitude_deg` (exact for a plane).
    """
    params = params or RoverParams()
    mob = params.mobility
    pitch, roll = attitude_deg(slope_deg, aspect_deg, heading_deg)
    up = min(mob.max_uphill_deg, traction_limit_slope_deg(params))
    return (pitch <= up) & (-pitch <= mob.max_downhill_deg) & (np.abs(roll) <= mob.max_cross_slope_deg)


# --- obstacles ------------------------------------------------------------------------------------


def _q(rock_abundance):
    k = _arr(rock_abundance, "rock_abundance")
    if np.any((k <= 0) | (k >= 1)):
        raise InputError("rock_abundance (fraction of area covered by rocks) must be in (0, 1)")
    return k, 1.79 + 0.152 / k


def rock_cumulative_density_per_m2(diameter_m, rock_abundance) -> np.ndarray:
    """Rocks per m^2 with diameter >= D from F(D) = k exp(-qD) (Golombek & Rapp 1997).

    The number density is -dF/dD / (pi D^2/4), integrated analytically:
    N(>=D) = 4 k q / pi [exp(-qD)/D - q E1(qD)].
    """
    k, q = _q(rock_abundance)
    d = _arr(diameter_m, "diameter_m")
    if np.any(d <= 0):
        raise InputError("rock diameter must be positive (m)")
    return 4.0 * k * q / np.pi * (np.exp(-q * d) / d - q * exp1(q * d))


def rock_obstacle_rate_per_m(rock_abundance, params: RoverParams | None = None, height_over_diameter: float = 0.5) -> np.ndarray:
    """Expected rocks too high to climb met per metre driven by a path ``sweep_width_m`` wide.

    A rock of diameter D is met when its centre lies within (w + D)/2 of the
    path axis: rate = w N(>=Dc) + int_Dc n(D) D dD, the second term being
    4 k q / pi E1(q Dc); Dc = max_step / (height/diameter).
    """
    params = params or RoverParams()
    k, q = _q(rock_abundance)
    dc = params.mobility.max_step_m / height_over_diameter
    w = params.mobility.sweep_width_m
    return w * rock_cumulative_density_per_m2(dc, k) + 4.0 * k * q / np.pi * exp1(q * dc)


def rms_deviation_at_m(rms_deviation_m, baseline_m, scale_m, hurst: float = 0.8) -> np.ndarray:
    """Scale an RMS height deviation from ``baseline_m`` to ``scale_m``: nu(dx) = nu0 (dx/dx0)^H (Shepard et al. 2001).

    Parameters
    ----------
    rms_deviation_m : float or array_like
        RMS height deviation nu0 at ``baseline_m``, m; any shape.
    baseline_m : float
        Baseline dx0 at which ``rms_deviation_m`` was measured, m (> 0).
    scale_m : float
        Baseline dx to scale to, m (> 0).
    hurst : float
        Hurst exponent H, in (0, 1].

    Returns
    -------
    np.ndarray
        RMS deviation at ``scale_m``, m, the shape of ``rms_deviation_m``.
    """
    if not 0 < hurst <= 1:
        raise InputError(f"Hurst exponent must be in (0, 1], got {hurst}")
    if baseline_m <= 0 or scale_m <= 0:
        raise InputError("roughness baseline and scale must be positive (m)")
    return _arr(rms_deviation_m, "rms_deviation_m") * (scale_m / baseline_m) ** hurst


def step_obstacle_rate_per_m(rms_deviation_m, baseline_m, params: RoverParams | None = None, hurst: float = 0.8) -> np.ndarray:
    """Expected non-climbable steps per metre: P(|dh| > max_step) over one track length, per track length.

    dh ~ Normal(0, nu(L)) with nu scaled from the terrain's roughness baseline
    to the track length (independent samples every track length: an assumption).

    Parameters
    ----------
    rms_deviation_m : float or array_like
        The terrain's RMS height deviation at ``baseline_m``, m; any shape (e.g. a (ny, nx) map).
    baseline_m : float
        Baseline of ``rms_deviation_m``, m (> 0).
    params : RoverParams, optional
        The rover; ``mobility.track_length_m`` L (m) and ``max_step_m`` (m) (default ``RoverParams()``).
    hurst : float
        Hurst exponent H in (0, 1] scaling the deviation to L (:func:`rms_deviation_at_m`, Shepard et al. 2001).

    Returns
    -------
    np.ndarray
        Expected steps higher than ``max_step_m`` per metre driven, 1/m: erfc(max_step / (sqrt(2) nu(L))) / L,
        the shape of ``rms_deviation_m``.
    """
    params = params or RoverParams()
    L = params.mobility.track_length_m
    nu = rms_deviation_at_m(rms_deviation_m, baseline_m, L, hurst)
    with np.errstate(divide="ignore"):
        p = np.where(nu > 0, erfc(params.mobility.max_step_m / (np.sqrt(2.0) * np.maximum(nu, 1e-300))), 0.0)
    return p / L
