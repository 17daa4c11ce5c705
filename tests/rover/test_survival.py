"""Night survival on constructed light series: energy = P t, failing period, margin sign."""

import dataclasses

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.rover import survival
from lupex.rover.vehicle import RoverParams, ThermalParams

SIGMA = 5.670374419e-8
H = np.timedelta64(1, "h")
T0 = np.datetime64("2027-03-01T00:00:00")


def _series(dark_runs, n):
    t = T0 + np.arange(n) * H
    f = np.ones(n)
    for a, b in dark_runs:
        f[a:b] = 0.0
    az = (np.arange(n) * 360.0 / 708.7) % 360.0  # the Sun circles the pole once per synodic month
    el = np.full(n, 1.0)
    return t, f, az, el


def _params(capacity_wh=4000.0, heater_max_w=40.0):
    # uncoupled nodes; the battery node has no sun and no dissipation, so its thermostat holds it at
    # its set point all the time and the heater power is the analytic loss there
    th = ThermalParams(coupling_w_k=0.0)
    th = dataclasses.replace(th, battery=dataclasses.replace(th.battery, heater_max_w=heater_max_w))
    return dataclasses.replace(RoverParams(), thermal=th, battery=dataclasses.replace(RoverParams().battery, capacity_wh=capacity_wh))


def _battery_heater_w(p, tt):
    b = p.thermal.battery
    return b.emissivity * SIGMA * b.radiator_area_m2 * (
        b.heater_setpoint_k**4 - b.terrain_view_factor * tt**4 - (1 - b.terrain_view_factor) * 2.725**4)


def test_hibernation_energy_is_power_times_time():
    p = _params()
    t, f, az, el = _series([(50, 150)], 250)
    r = survival.survive(t, f, az, el, p, terrain_k=80.0)
    (d,) = r.periods
    qh = _battery_heater_w(p, 80.0)
    load = p.loads.hibernate_w + qh  # electronics stays above its set point on the 20 W it dissipates
    assert qh == pytest.approx(3.76, abs=0.01)  # 0.05 sigma 0.3 (258.15^4 - 80^4 / 2)
    assert d.duration_h == 100.0 and d.start == T0 + 50 * H and d.end == T0 + 150 * H
    assert d.energy_needed_wh == pytest.approx(load * 100.0 / 0.95, rel=1e-6)
    assert d.heater_energy_wh == pytest.approx(qh * 100.0, rel=1e-6)
    # battery full at sunset (4000 Wh); margin = lowest energy above the 20% floor
    assert d.margin_wh == pytest.approx(4000.0 - load * 100 / 0.95 - 800.0, rel=1e-6)
    assert d.min_soc == pytest.approx(1.0 - load * 100 / 0.95 / 4000.0, rel=1e-6)
    assert d.verdict == "survives" and d.complete and r.survives
    assert d.min_battery_k == pytest.approx(p.thermal.battery.heater_setpoint_k, abs=1e-9)


def test_small_battery_fails_in_the_long_period():
    p = _params(capacity_wh=1500.0)  # 1200 Wh usable, ~25 W: ~45 h
    t, f, az, el = _series([(20, 40), (140, 240), (340, 350)], 400)
    r = survival.survive(t, f, az, el, p, terrain_k=80.0)
    assert [x.verdict for x in r.periods] == ["survives", "fails", "survives"]
    bad = r.periods[1]
    assert bad.start == T0 + 140 * H
    assert bad.margin_wh < 0 and bad.deficit_wh == pytest.approx(-bad.margin_wh)
    assert bad.min_soc == pytest.approx(0.2)
    assert r.periods[0].margin_wh > 0 and not r.survives and r.worst is bad
    load = p.loads.hibernate_w + _battery_heater_w(p, 80.0)
    # what a big enough battery would have supplied is still P t / efficiency
    assert bad.energy_needed_wh == pytest.approx(load * 100 / 0.95, rel=1e-6)


def test_marginal_between_zero_and_required_margin():
    t, f, az, el = _series([(50, 150)], 200)
    need = (20.0 + _battery_heater_w(_params(), 80.0)) * 100 / 0.95
    cap = (need + 0.05 * 3000.0) / 0.8  # leaves 5% of ~3000 Wh above the floor (< 10% required)
    r = survival.survive(t, f, az, el, _params(capacity_wh=cap), terrain_k=80.0)
    d = r.periods[0]
    assert 0 < d.margin_wh < 0.1 * cap and d.verdict == "marginal" and r.survives


def test_cold_failure_when_heater_too_weak():
    p = _params(heater_max_w=1.0)
    t, f, az, el = _series([(50, 150)], 200)
    r = survival.survive(t, f, az, el, p, terrain_k=80.0)
    d = r.periods[0]
    assert d.margin_wh > 0 and d.min_battery_k < p.thermal.battery.survival_min_k and d.verdict == "fails"


def test_start_inside_a_dark_period_is_incomplete():
    t, f, az, el = _series([(50, 150)], 200)
    r = survival.survive(t, f, az, el, _params(), start="2027-03-03T12:00:00", terrain_k=80.0)  # hour 60
    d = r.periods[0]
    assert not d.complete and d.start == T0 + 60 * H and d.duration_h == 90.0
    r = survival.survive(t, f, az, el, _params(), start=T0 + 100 * H, terrain_k=80.0)
    assert len(r.periods) == 1 and not r.periods[0].complete
    with pytest.raises(InputError, match="after the end"):
        survival.survive(t, f, az, el, _params(), start="2028-01-01")


def test_sun_tracking_charges_the_battery_in_light():
    # default rover: 10 h dark then light; the array facing the Sun at 1 deg elevation gives ~599 W
    p = RoverParams()
    t, f, az, el = _series([(0, 10)], 40)
    r = survival.survive(t, f, az, el, p, start=T0 + 0 * H, terrain_k=80.0)
    assert r.solar_w[20] == pytest.approx(1361 * 0.22 * 2.0 * np.cos(np.radians(1.0)), rel=1e-9)
    assert r.soc[-1] == pytest.approx(1.0)
    fixed = dataclasses.replace(p, survival=dataclasses.replace(p.survival, track_sun=False, heading_deg=0.0))
    r2 = survival.survive(t, f, az, el, fixed, terrain_k=80.0)
    assert r2.solar_w.sum() < r.solar_w.sum()


def test_mismatched_lengths():
    t, f, az, el = _series([], 10)
    with pytest.raises(InputError, match="sun_az_deg"):
        survival.survive(t, f, az[:-1], el)
