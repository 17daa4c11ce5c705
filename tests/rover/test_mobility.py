"""Mobility: Bekker-Wong track model checked against hand calculations and invariants."""

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from lupex.errors import ConfigError, InputError
from lupex.rover import mobility as mo
from lupex.rover.vehicle import MobilityParams, RoverParams, SoilParams

P = RoverParams()
W = 350.0 * 1.62  # lunar weight, N
A = 4 * 0.5 * 0.15  # contact area of the four crawlers, m^2


def test_flat_slip_is_small():
    i = mo.slip(0.0, P)
    assert 0.0 < i < 0.005  # 0.15% with the defaults


def test_hand_sinkage_and_rolling_resistance():
    # Bekker, n = 1: z = p / (k_c/b + k_phi); R_c = b k z^2 / 2 per track
    p = W / A
    k = 1400.0 / 0.15 + 820e3
    z = p / k
    assert mo.sinkage_m(W, P.soil, P.mobility) == pytest.approx(z, rel=1e-12)
    assert z == pytest.approx(2.279e-3, rel=1e-3)
    rc = 4 * 0.15 * k * z**2 / 2
    assert mo.compaction_resistance_n(W, P.soil, P.mobility) == pytest.approx(rc, rel=1e-12)


def test_flat_energy_per_metre_vs_hand_calculation():
    # Rolling resistance by hand: compaction (b p z / 2 per track) + Bekker internal
    # resistance W (0.0226 + 0.000306 * 0.36 km/h), over efficiency 0.6 and (1 - slip).
    p = W / A
    z = p / (1400.0 / 0.15 + 820e3)
    r_c = 4 * 0.15 * p * z / 2
    r_in = W * (0.0226 + 0.000306 * 0.36)
    # flat slip by hand from the small-slip expansion of Janosi-Hanamoto:
    # F/Fmax = x/2 - x^2/6 + O(x^3), x = i L / K
    fmax = A * 520.0 + W * math.tan(math.radians(42.0))
    r = (r_c + r_in) / fmax
    x = 3 * (0.5 - math.sqrt(0.25 - 2 * r / 3))
    i = x * 0.0178 / 0.5
    e_hand = (r_c + r_in) / 0.6 / (1 - i)
    assert r_c + r_in == pytest.approx(14.17, abs=0.01)
    assert mo.energy_per_m_j(0.0, P) == pytest.approx(e_hand, rel=1e-3)  # ~23.65 J/m
    assert mo.slip(0.0, P) == pytest.approx(i, rel=5e-4)  # O(x^3) ~ 2e-4


def test_traction_limit_matches_closed_form_without_resistance():
    # Thrust at i -> 1 is (A c + W cos(t) tan(phi)) f1 with f1 = 1 - K/L (1 - e^{-L/K}).
    # With compaction and internal resistance removed, f1 (A c + W cos t tan phi) = W sin t
    # solves to t = atan(a) + asin(b / sqrt(1 + a^2)), a = f1 tan(phi), b = f1 A c / W.
    p = dataclasses.replace(
        P,
        soil=dataclasses.replace(P.soil, k_phi=1e15),
        mobility=dataclasses.replace(P.mobility, internal_resistance_coef=0.0, internal_resistance_per_kmh=0.0),
    )
    f1 = 1 - 0.0178 / 0.5 * (1 - math.exp(-0.5 / 0.0178))
    a = f1 * math.tan(math.radians(42.0))
    b = f1 * A * 520.0 / W
    t = math.degrees(math.atan(a) + math.asin(b / math.hypot(1, a)))
    assert mo.traction_limit_slope_deg(p) == pytest.approx(t, abs=1e-6)
    assert t == pytest.approx(52.5, abs=0.1)


def test_traction_limit_with_resistances_independent_root():
    f1 = 1 - 0.0178 / 0.5 * (1 - math.exp(-0.5 / 0.0178))
    k = 1400.0 / 0.15 + 820e3

    def balance(t):
        n = W * math.cos(math.radians(t))
        z = n / A / k
        rc = 4 * 0.15 * k * z**2 / 2
        rin = n * (0.0226 + 0.000306 * 0.36)
        return f1 * (A * 520.0 + n * math.tan(math.radians(42.0))) - rc - rin - W * math.sin(math.radians(t))

    t = brentq(balance, 0, 89)
    lim = mo.traction_limit_slope_deg(P)
    assert lim == pytest.approx(t, abs=1e-6)
    # slip rises steeply to 100% there
    assert mo.slip(lim - 5.0, P) < 0.5
    assert mo.slip(lim - 0.05, P) > 0.9
    assert mo.slip(lim + 0.05, P) == 1.0
    assert mo.speed_m_s(lim + 1, P) == 0.0
    assert math.isinf(mo.energy_per_m_j(lim + 1, P))


def test_power_cap_limits_speed():
    p = dataclasses.replace(P, mobility=dataclasses.replace(P.mobility, drive_power_max_w=20.0))
    f = float(mo.required_thrust_n(20.0, p))
    v_track = 0.6 * 20.0 / f
    assert v_track < 0.1
    assert mo.speed_m_s(20.0, p) == pytest.approx(v_track * (1 - mo.slip(20.0, p)), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.floats(-30, 60), st.floats(0, 10))
def test_monotone_in_slope(t, dt):
    t2 = t + dt
    assert mo.slip(t2, P) >= mo.slip(t, P) - 1e-12
    assert mo.speed_m_s(t2, P) <= mo.speed_m_s(t, P) + 1e-12
    e1, e2 = mo.energy_per_m_j(t, P), mo.energy_per_m_j(t2, P)
    assert e2 >= e1 or (math.isinf(e1) and math.isinf(e2))


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_thrust_monotone_in_slip_and_bounded(i1, i2):
    lo, hi = sorted((i1, i2))
    assert mo.thrust_n(lo, W, P.soil, P.mobility) <= mo.thrust_n(hi, W, P.soil, P.mobility) + 1e-9
    assert mo.thrust_n(hi, W, P.soil, P.mobility) <= A * 520.0 + W * math.tan(math.radians(42.0))


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 60), st.floats(0, 360), st.floats(0, 360))
def test_attitude_invariants(slope, aspect, heading):
    pitch, roll = mo.attitude_deg(slope, aspect, heading)
    assert abs(pitch) <= slope + 1e-9 and abs(roll) <= slope + 1e-9
    # the plane's normal tilt is recovered from pitch and roll: cos(t)^2 = 1 - sin^2 p - sin^2 r... via the
    # vehicle frame: the up vector has components (-sin p, sin r cos?); check the two axis cases instead
    p0, r0 = mo.attitude_deg(slope, aspect, aspect)
    assert p0 == pytest.approx(slope, abs=1e-9) and r0 == pytest.approx(0, abs=1e-9)
    p90, r90 = mo.attitude_deg(slope, aspect, aspect + 90)
    assert p90 == pytest.approx(0, abs=1e-9) and abs(r90) == pytest.approx(slope, abs=1e-9)


def test_traversable_limits():
    assert mo.traversable(24.0, 0.0, 0.0, P)  # straight up 24 deg
    assert not mo.traversable(26.0, 0.0, 0.0, P)  # uphill limit 25
    assert not mo.traversable(26.0, 0.0, 180.0, P)  # downhill limit 25
    assert not mo.traversable(21.0, 0.0, 90.0, P)  # cross-slope limit 20
    assert mo.traversable(21.0, 0.0, 30.0, P)  # diagonal: pitch ~18.2, roll ~10.3


def test_rock_density_against_numerical_integral():
    from scipy.integrate import quad

    k = 0.05
    q = 1.79 + 0.152 / k
    n = lambda d: k * q * math.exp(-q * d) / (math.pi * d * d / 4)  # -dF/dD / area
    want, _ = quad(n, 0.3, 20)
    assert mo.rock_cumulative_density_per_m2(0.3, k) == pytest.approx(want, rel=1e-6)
    rate_want = quad(lambda d: n(d) * (1.46 + d), 0.3, 20)[0]
    assert mo.rock_obstacle_rate_per_m(k, P) == pytest.approx(rate_want, rel=1e-6)
    assert mo.rock_obstacle_rate_per_m(0.01, P) < mo.rock_obstacle_rate_per_m(0.1, P)


def test_step_obstacles():
    assert mo.step_obstacle_rate_per_m(0.0, 5.0, P) == 0.0
    # nu scaled to the track length equal to the step height: P(|dh| > 1 sigma) = 0.3173
    nu_L = 0.15
    nu0 = nu_L / (0.5 / 5.0) ** 0.8
    assert mo.step_obstacle_rate_per_m(nu0, 5.0, P) == pytest.approx(0.31731 / 0.5, rel=1e-4)


def test_bad_input_raises():
    with pytest.raises(InputError, match="NaN"):
        mo.slip([0.0, float("nan")], P)
    with pytest.raises(InputError):
        mo.rock_cumulative_density_per_m2(0.3, 1.5)
    with pytest.raises(ConfigError, match="friction_angle_deg"):
        SoilParams(friction_angle_deg=95)
    with pytest.raises(ConfigError, match="mass_kg"):
        MobilityParams(mass_kg=-1)
