"""Power: array geometry against hand values, battery bookkeeping against conservation."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lupex.constants import AU_M
from lupex.errors import InputError
from lupex.rover import power
from lupex.rover.vehicle import BatteryParams, PanelParams, RoverParams

P = RoverParams()


def _one_panel(**kw):
    return dataclasses.replace(P, panels=(PanelParams(**kw),))


def test_normal_incidence_gives_s_eta_a():
    # horizontal panel (tilt 0), Sun at the zenith, 1 au: 1361 * eta * A
    p = _one_panel(area_m2=2.0, efficiency=0.22, tilt_deg=0.0)
    assert power.panel_power_w(1.0, 123.0, 90.0, 0.0, p) == pytest.approx(1361.0 * 0.22 * 2.0, rel=1e-12)


def test_inverse_square_distance():
    p = _one_panel(tilt_deg=0.0)
    near = power.panel_power_w(1.0, 0.0, 90.0, 0.0, p, sun_distance_m=0.983 * AU_M)
    assert near == pytest.approx(1361.0 * 0.22 * 2.0 / 0.983**2, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.floats(-5, 89), st.floats(0, 360), st.floats(0, 360))
def test_vertical_panel_facing_sun_gets_cos_elevation(el, sun_az, panel_rel):
    p = _one_panel(tilt_deg=90.0, azimuth_rel_deg=panel_rel)
    heading = power.heading_facing_sun_deg(sun_az, p.panels[0])
    want = 1361.0 * 0.22 * 2.0 * max(math.cos(math.radians(el)), 0.0) * (el > -90)
    assert power.panel_power_w(1.0, sun_az, el, heading, p) == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_sun_behind_panel_and_sideways():
    p = _one_panel(tilt_deg=90.0, azimuth_rel_deg=0.0)
    assert power.panel_power_w(1.0, 180.0, 1.0, 0.0, p) == 0.0  # Sun behind
    side = power.panel_power_w(1.0, 60.0, 0.0, 0.0, p)  # 60 deg off the normal's azimuth
    assert side == pytest.approx(1361 * 0.22 * 2 * 0.5, rel=1e-12)
    half = power.panel_power_w(0.5, 0.0, 0.0, 0.0, p)  # half the disk hidden
    assert half == pytest.approx(1361 * 0.22 * 2 * 0.5, rel=1e-12)


def test_temperature_derating():
    p = _one_panel(tilt_deg=0.0, temp_coeff_per_k=-0.002)
    hot = power.panel_power_w(1.0, 0.0, 90.0, 0.0, p, cell_temperature_k=301.15 + 50)
    assert hot == pytest.approx(1361 * 0.22 * 2 * 0.9, rel=1e-12)


def test_mode_loads_and_unknown_mode():
    np.testing.assert_array_equal(power.mode_load_w(["drive", "hibernate"], P), [250.0, 20.0])
    with pytest.raises(InputError, match="hibernate"):
        power.mode_load_w(["hibernat"], P)


def _params(cap=1000.0, ec=1.0, ed=1.0, lo=0.2, hi=1.0, s0=1.0):
    return dataclasses.replace(P, battery=BatteryParams(capacity_wh=cap, charge_efficiency=ec, discharge_efficiency=ed,
                                                        soc_min=lo, soc_max=hi, soc_initial=s0))


def test_lossless_cycle_conserves_energy():
    t = np.arange(49) * 3600.0
    solar = np.where((np.arange(48) // 12) % 2 == 0, 200.0, 0.0)  # 12 h on, 12 h off
    p = _params(cap=2000.0, s0=0.3)
    tr = power.step_battery(t, solar, 100.0, p)
    # 24 h cycle, mean net 0: a lossless battery ends where it started, nothing clipped
    assert tr.energy_wh[-1] == pytest.approx(600.0, abs=1e-9)
    assert tr.total_surplus_wh == 0.0 and tr.total_deficit_wh == 0.0
    assert tr.energy_wh.max() == pytest.approx(600.0 + 12 * 100.0, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 800), min_size=3, max_size=40), st.floats(0.7, 1.0), st.floats(0.7, 1.0),
       st.floats(0.0, 1.0))
def test_energy_conservation_with_losses_and_clipping(solar, ec, ed, s):
    n = len(solar)
    t = np.cumsum(np.r_[0.0, np.linspace(900, 7200, n)])
    load = np.full(n, 250.0)
    p = _params(cap=500.0, ec=ec, ed=ed, lo=0.1, hi=0.9, s0=0.1 + 0.8 * s)
    tr = power.step_battery(t, np.array(solar), load, p)
    dt_h = np.diff(t) / 3600
    bus = np.sum((np.array(solar) - load) * dt_h)
    assert bus == pytest.approx(tr.charged_wh.sum() + tr.surplus_wh.sum() - tr.discharged_wh.sum() - tr.deficit_wh.sum(), abs=1e-6)
    d_e = ec * tr.charged_wh.sum() - tr.discharged_wh.sum() / ed
    assert tr.energy_wh[-1] - tr.energy_wh[0] == pytest.approx(d_e, abs=1e-6)
    assert np.all(tr.soc >= 0.1 - 1e-12) and np.all(tr.soc <= 0.9 + 1e-12)
    assert np.all(tr.surplus_wh >= 0) and np.all(tr.deficit_wh >= 0)


def test_soc_clipped_with_surplus_and_deficit_reported():
    t = np.arange(5) * 3600.0
    p = _params(cap=1000.0, ec=0.9, ed=1.0, lo=0.2, hi=1.0, s0=0.95)
    tr = power.step_battery(t, [600.0, 600.0, 0.0, 0.0], [100.0, 100.0, 500.0, 500.0], p)
    # hour 1: 500 W bus surplus, room 50 Wh stored = 55.6 Wh of bus; the rest (444.4) is surplus
    assert tr.charged_wh[0] == pytest.approx(50 / 0.9)
    assert tr.surplus_wh[0] == pytest.approx(500 - 50 / 0.9)
    assert tr.surplus_wh[1] == pytest.approx(500.0)
    assert tr.soc[2] == 1.0
    # then 1000 Wh of load against 800 Wh available above the 20% floor
    assert tr.deficit_wh.sum() == pytest.approx(200.0)
    assert tr.soc[-1] == pytest.approx(0.2)


def test_bad_inputs():
    with pytest.raises(InputError, match="increase"):
        power.step_battery([0.0, 0.0, 1.0], 0.0, 0.0, P)
    with pytest.raises(InputError, match="sun_fraction"):
        power.panel_power_w(1.5, 0, 0, 0, P)
    with pytest.raises(InputError, match="per time"):
        power.step_battery(np.arange(4.0), np.zeros(7), 0.0, P)


def test_irradiance_from_spice_sun_distance():
    # Independent anchor: Earth's perihelion distance 0.98329 au (early January); the Moon is within
    # ~0.0026 au of Earth, so S at the Moon is 1361 / 0.98329^2 = 1407.7 W/m^2 to within ~0.6%.
    pytest.importorskip("spiceypy")
    from lupex import ephemeris

    try:
        topo = ephemeris.topocentric("SUN", -89.5, 0.0, 2.0, times=["2027-01-03T00:00:00", "2027-07-05T00:00:00"])
    except Exception as exc:  # kernels not installed in this environment
        pytest.skip(f"SPICE kernels unavailable: {exc}")
    s = power.solar_irradiance_w_m2(topo.range_m)
    assert s[0] == pytest.approx(1361 / 0.98329**2, rel=0.006)
    assert s[1] == pytest.approx(1361 / 1.01671**2, rel=0.006)  # aphelion
