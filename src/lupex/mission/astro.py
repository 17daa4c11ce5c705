"""Two-body and patched-conic orbital mechanics for the Earth-Moon transfer, and the rocket equation.

Small pure functions on floats or numpy arrays (SI units: m, s, kg, m/s).
Sources:

* vis-viva, v^2 = mu (2/r - 1/a), and the ellipse relations r_p = a (1 - e),
  r_a = a (1 + e), h = r_p v_p = r_a v_a: Curtis, H.D., *Orbital Mechanics for
  Engineering Students* (3rd ed., 2014), Ch. 2 (eq. 2.71-2.82 region; equation
  numbers from memory) and Vallado, D.A., *Fundamentals of Astrodynamics and
  Applications* (4th ed., 2013), Ch. 2.
* Hohmann transfer: half the transfer ellipse's period, T = 2 pi sqrt(a^3 / mu)
  (Kepler's third law; Curtis Ch. 6).
* Patched conics for the Moon: the spacecraft's geocentric velocity at the
  Moon's distance minus the Moon's (circular) orbital velocity gives the
  hyperbolic excess v_inf at the Moon; the lunar capture burn is made at
  periselene, where the hyperbola's speed is sqrt(v_inf^2 + 2 mu_moon / r_p)
  (Curtis Ch. 8, "patched conics"; Bate, Mueller & White 1971, *Fundamentals of
  Astrodynamics*, Ch. 7 "Lunar trajectories").
* Laplace sphere of influence r_SOI = a (m / M)^(2/5) (Curtis eq. 8.39 region).
* Tsiolkovsky rocket equation, m_f = m_0 exp(-dv / (Isp g0)), g0 = 9.80665 m/s^2
  (standard gravity, 3rd CGPM 1901).
* Launch azimuth for a direct ascent into inclination i from latitude phi:
  sin(Az) = cos(i) / cos(phi) (Vallado Ch. 6 / Curtis Ch. 4; i >= phi without a
  dog-leg).

Constants: GM of Earth 3.986004418e14 m^3/s^2 (IERS Conventions 2010, Table
1.1); GM of the Moon 4.9028e12 m^3/s^2 (JPL DE421, Folkner et al. 2008, IPN PR
42-178: 4902.80 km^3/s^2); Earth's equatorial radius 6378.137 km (WGS84); the
Moon's mean radius 1737.4 km (IAU 2015, as in :mod:`lupex.ephemeris`); mean
Earth-Moon distance 384,400 km (semi-major axis of the lunar orbit, e.g. NASA
Moon fact sheet: 384,400 km); sidereal Earth rotation rate 7.292115e-5 rad/s
(WGS84).

The Moon's orbit is treated as circular and coplanar with the transfer (the
usual first-order patched conic); the real distance at a date comes from
:func:`earth_moon_distance_m` (SPICE, DE421) if wanted.
"""

from __future__ import annotations

import numpy as np

from lupex import ephemeris
from lupex.constants import EARTH_MOON_MEAN_DISTANCE_M, EARTH_RADIUS_M, G0_M_S2, MOON_RADIUS_M, MU_MOON_M3_S2

R_EARTH_M = EARTH_RADIUS_M
R_MOON_M = MOON_RADIUS_M
MU_EARTH_M3_S2 = 3.986004418e14
EARTH_ROTATION_RAD_S = 7.292115e-5
MOON_EARTH_MASS_RATIO = MU_MOON_M3_S2 / MU_EARTH_M3_S2


def circular_speed(mu, r):
    """Speed (m/s) on a circular orbit of radius r (m) about a body of gravitational parameter mu."""
    return np.sqrt(mu / np.asarray(r, dtype=float))


def vis_viva_speed(mu, r, a):
    """Speed (m/s) at radius r on a conic of semi-major axis a (a < 0 for a hyperbola)."""
    return np.sqrt(mu * (2.0 / np.asarray(r, dtype=float) - 1.0 / np.asarray(a, dtype=float)))


def apsis_speeds(mu, r_periapsis, r_apoapsis):
    """(v_periapsis, v_apoapsis) in m/s of the ellipse with the given apsis radii (m)."""
    rp = np.asarray(r_periapsis, dtype=float)
    ra = np.asarray(r_apoapsis, dtype=float)
    a = 0.5 * (rp + ra)
    vp = vis_viva_speed(mu, rp, a)
    return vp, vp * rp / ra


def half_period_s(mu, r_periapsis, r_apoapsis):
    """Time (s) from periapsis to apoapsis (half the orbital period) of the ellipse."""
    a = 0.5 * (np.asarray(r_periapsis, dtype=float) + np.asarray(r_apoapsis, dtype=float))
    return np.pi * np.sqrt(a**3 / mu)


def perigee_raise_dv(mu, r_periapsis, r_apoapsis_from, r_apoapsis_to):
    """Delta-v (m/s) of a tangential burn at periapsis that raises the apoapsis (e.g. parking orbit -> TLI).

    The difference of the two ellipses' periapsis speeds, each from vis-viva
    v_p^2 = mu (2/r_p - 1/a) with a = (r_p + r_a) / 2 (Curtis Ch. 2, 6).

    Parameters
    ----------
    mu : float
        Gravitational parameter of the central body, m^3/s^2 (Earth: :data:`MU_EARTH_M3_S2`).
    r_periapsis : float or array_like
        Periapsis radius shared by both orbits (the burn point), m, from the body's centre.
    r_apoapsis_from : float or array_like
        Apoapsis radius before the burn, m (equal to ``r_periapsis`` for a circular parking orbit).
    r_apoapsis_to : float or array_like
        Apoapsis radius after the burn, m (the Moon's distance for a trans-lunar injection).

    Returns
    -------
    float or numpy.ndarray
        Delta-v, m/s, positive when the apoapsis rises; the arguments' broadcast shape.
    """
    v_from, _ = apsis_speeds(mu, r_periapsis, r_apoapsis_from)
    v_to, _ = apsis_speeds(mu, r_periapsis, r_apoapsis_to)
    return v_to - v_from


def arrival_v_inf(r_perigee_m, r_apogee_m, d_moon_m=EARTH_MOON_MEAN_DISTANCE_M, mu_earth=MU_EARTH_M3_S2):
    """Hyperbolic excess speed (m/s) at the Moon of a coplanar prograde transfer ellipse (patched conic).

    The spacecraft's speed v and flight-path angle gamma at r = d_moon come from
    vis-viva and h = r v cos(gamma); the Moon moves on a circular orbit at
    v_M = sqrt(mu / d) along the local horizontal, so
    v_inf^2 = v^2 + v_M^2 - 2 v v_M cos(gamma). For an apogee exactly at d_moon
    this is v_M - v_apogee (the Hohmann case).

    Parameters
    ----------
    r_perigee_m : float
        Perigee radius of the transfer ellipse, m, from Earth's centre (scalar).
    r_apogee_m : float
        Apogee radius of the transfer ellipse, m; at least ``d_moon_m`` (scalar).
    d_moon_m : float, optional
        Earth-Moon centre distance where the conics are patched, m; default the mean
        384,400 km (:data:`lupex.constants.EARTH_MOON_MEAN_DISTANCE_M`).
    mu_earth : float, optional
        Earth's gravitational parameter, m^3/s^2; default 3.986004418e14 (IERS 2010).

    Returns
    -------
    float
        v_inf, m/s, relative to the Moon.

    Raises
    ------
    ValueError
        If the apogee falls short of ``d_moon_m``.
    """
    rp = float(r_perigee_m)
    ra = float(r_apogee_m)
    d = float(d_moon_m)
    if ra < d * (1 - 1e-12):
        raise ValueError("the transfer's apogee must reach the Moon's distance")
    a = 0.5 * (rp + ra)
    v = float(vis_viva_speed(mu_earth, d, a))
    vp, _ = apsis_speeds(mu_earth, rp, ra)
    cos_gamma = min(1.0, rp * float(vp) / (d * v))
    vm = float(circular_speed(mu_earth, d))
    return float(np.sqrt(max(v * v + vm * vm - 2 * v * vm * cos_gamma, 0.0)))


def capture_dv(v_inf, r_periapsis, r_apoapsis=None, mu=MU_MOON_M3_S2):
    """Delta-v (m/s) of a periapsis burn from a hyperbola with excess v_inf into an ellipse (circle if r_apoapsis is None).

    dv = sqrt(v_inf^2 + 2 mu / r_p) - v_p, with v_p the captured ellipse's periapsis
    speed from vis-viva (patched conics, Curtis Ch. 8).

    Parameters
    ----------
    v_inf : float or array_like
        Hyperbolic excess speed on arrival, m/s (from :func:`arrival_v_inf`).
    r_periapsis : float or array_like
        Periapsis radius of the hyperbola and of the captured orbit (where the burn is made), m,
        from the Moon's centre.
    r_apoapsis : float or array_like, optional
        Apoapsis radius of the captured ellipse, m; None (default) captures into a circle of
        radius ``r_periapsis``.
    mu : float, optional
        Gravitational parameter of the captured-into body, m^3/s^2; default the Moon's,
        4.9028e12 (DE421).

    Returns
    -------
    float or numpy.ndarray
        Delta-v, m/s; the arguments' broadcast shape (a numpy float for scalars).
    """
    rp = np.asarray(r_periapsis, dtype=float)
    v_hyp = np.sqrt(np.asarray(v_inf, dtype=float) ** 2 + 2.0 * mu / rp)
    v_cap = apsis_speeds(mu, rp, rp if r_apoapsis is None else r_apoapsis)[0]
    return v_hyp - v_cap


def periapsis_lowering_dv(mu, r_circular, r_new_periapsis):
    """Delta-v (m/s) of a retrograde burn on a circular orbit making it an ellipse with the given periapsis."""
    _, va = apsis_speeds(mu, r_new_periapsis, r_circular)
    return circular_speed(mu, r_circular) - va


def sphere_of_influence_m(a_m, mass_ratio):
    """Laplace sphere-of-influence radius (m): a (m/M)^(2/5)."""
    return a_m * mass_ratio**0.4


def final_mass(m0_kg, dv_m_s, isp_s):
    """Mass (kg) after a burn of dv (m/s) at specific impulse Isp (s): m0 exp(-dv / (Isp g0))."""
    return np.asarray(m0_kg, dtype=float) * np.exp(-np.asarray(dv_m_s, dtype=float) / (np.asarray(isp_s, dtype=float) * G0_M_S2))


def propellant_for(m0_kg, dv_m_s, isp_s):
    """Propellant (kg) burnt to give dv (m/s) to an initial mass m0 (kg) at Isp (s)."""
    return np.asarray(m0_kg, dtype=float) * -np.expm1(-np.asarray(dv_m_s, dtype=float) / (np.asarray(isp_s, dtype=float) * G0_M_S2))


def delta_v(m0_kg, mf_kg, isp_s):
    """Delta-v (m/s) from burning from m0 down to mf at Isp (s): Isp g0 ln(m0 / mf)."""
    return np.asarray(isp_s, dtype=float) * G0_M_S2 * np.log(np.asarray(m0_kg, dtype=float) / np.asarray(mf_kg, dtype=float))


def launch_azimuth_deg(latitude_deg, inclination_deg):
    """Launch azimuth (deg from north, prograde/north-east branch) for a direct ascent into the inclination."""
    c = np.cos(np.radians(inclination_deg)) / np.cos(np.radians(latitude_deg))
    if np.any(np.abs(c) > 1):
        raise ValueError("a direct ascent cannot reach an inclination below the launch site's latitude")
    return np.degrees(np.arcsin(c))


def surface_rotation_speed(latitude_deg):
    """Eastward inertial speed (m/s) of Earth's surface at a latitude (free for a due-east launch)."""
    return EARTH_ROTATION_RAD_S * R_EARTH_M * np.cos(np.radians(latitude_deg))


def earth_moon_distance_m(utc) -> np.ndarray:
    """Earth-Moon centre distance (m) at UTC time(s), from SPICE / DE421 via :mod:`lupex.ephemeris`."""
    et = ephemeris.utc_to_et(utc)
    return np.linalg.norm(ephemeris.body_vectors("EARTH", et), axis=-1)
