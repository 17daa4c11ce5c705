"""Volatile-loss physics and the drill, against published numbers and hand calculations."""

import math

import numpy as np
import pytest

from lupex.errors import ConfigError, InputError, LupexError
from lupex.instruments.drill import DrillParams, drill, drill_profile
from lupex.instruments.sample import (
    Sample, hertz_knudsen_flux_kg_m2_s, ice_vapour_pressure_pa, regolith_heat_capacity_j_kg_k, sublimation_loss,
    Exposure,
)
from lupex.subsurface.profile import Column, Rock, two_layer_column


def test_ice_vapour_pressure_at_triple_point():
    # 611.657 Pa at 273.16 K (Guildner et al. 1976; Murphy & Koop 2005 eq. 7 reproduces it)
    assert ice_vapour_pressure_pa(273.16) == pytest.approx(611.657, rel=1e-3)


def test_ice_vapour_pressure_slope_is_sublimation_enthalpy():
    # Clausius-Clapeyron: d ln p / dT = L / (R T^2); L_sub ~ 51.0 kJ/mol at 250 K (Feistel & Wagner 2007)
    t = 250.0
    slope = (np.log(ice_vapour_pressure_pa(t + 0.01)) - np.log(ice_vapour_pressure_pa(t - 0.01))) / 0.02
    assert slope * 8.314462618 * t**2 == pytest.approx(51.0e3, rel=0.02)


def test_hertz_knudsen_flux_hand_calculation():
    t = 200.0
    p = math.exp(9.550426 - 5723.265 / t + 3.53068 * math.log(t) - 0.00728332 * t)   # ~0.163 Pa
    m = 18.01528e-3 / 6.02214076e23
    j = p * math.sqrt(m / (2 * math.pi * 1.380649e-23 * t))
    assert p == pytest.approx(0.1626, rel=0.01)
    assert hertz_knudsen_flux_kg_m2_s(t) == pytest.approx(j, rel=1e-9)
    assert j == pytest.approx(2.13e-4, rel=0.02)     # kg m^-2 s^-1, order-of-magnitude anchor
    assert hertz_knudsen_flux_kg_m2_s(t, alpha=0.5) == pytest.approx(j / 2, rel=1e-9)


def test_regolith_heat_capacity_hayne_2017():
    # Hayne et al. 2017 eq. A6: ~283 J/kg/K at 100 K, ~ 600 at 250 K
    assert regolith_heat_capacity_j_kg_k(100.0) == pytest.approx(282.9, rel=0.01)


def test_sublimation_loss_caps_at_available_ice():
    lost, steps = sublimation_loss(1e-6, [Exposure(3600, 250.0, 1e-2, "hot")])
    assert lost == 1e-6 and steps == (1e-6,)
    lost, _ = sublimation_loss(1.0, [Exposure(100, 150.0, 1e-3)])
    assert lost == pytest.approx(float(hertz_knudsen_flux_kg_m2_s(150.0)) * 1e-3 * 100, rel=1e-12)


def _uniform(weh=5.0, rocks=()):
    c = two_layer_column(dry_thickness_m=0.0, weh_top_wt_pct=weh, weh_bottom_wt_pct=weh, depth_m=2.0)
    return Column(c.z_m, c.density_kg_m3, c.weh_wt_pct, c.temperature_k, c.feo_tio2_wt_pct, 0.0, tuple(rocks))


def test_drill_time_and_energy_match_specific_energy_hand_calculation():
    p = DrillParams()
    s, r = drill(_uniform(5.0), 1.0, 1.2, rng=np.random.default_rng(0), params=p)
    area = math.pi * 0.0125**2
    ucs = 0.3e6 + 1.5e6 * 5.0                       # Pa
    v = min(0.1 * 100.0 / (area * ucs), 0.01)       # Teale: eta P / (A UCS)
    assert r.drill_time_s == pytest.approx(0.2 / v, rel=1e-6)
    t_ret = 1.2 / 0.01
    e = v * area * ucs / 0.1 * (0.2 / v) + 20.0 * (0.2 / v + t_ret)
    assert r.energy_j == pytest.approx(e, rel=1e-6)
    # cuttings warming dT = f UCS / (eta rho c_p) with c_p(100 K) from Hayne et al. 2017
    assert r.cuttings_temperature_k - 100.0 == pytest.approx(0.1 * ucs / (0.1 * 1500 * 282.9), rel=0.01)
    # mass: rho * A * L * recovery (recovery ~0.3)
    assert s.truth.in_situ_mass_kg == pytest.approx(1500 * area * 0.2 * 0.3, rel=0.4)
    assert s.truth.in_situ_water_wt_pct == pytest.approx(5.0, rel=1e-9)


def test_default_handling_loses_almost_nothing_but_warm_wait_loses_much():
    col = _uniform(5.0)
    s, r = drill(col, 1.0, 1.1, rng=np.random.default_rng(1))
    assert r.loss_fraction < 1e-3
    hot = DrillParams(wait_temperature_k=200.0, wait_s=1800.0)
    s2, r2 = drill(col, 1.0, 1.1, rng=np.random.default_rng(1), params=hot)
    # waiting loss = J(200 K) * 2 pi r^2 * t for a hemispherical pile of the sample's bulk density
    rad = (3 * s2.truth.in_situ_mass_kg / (2 * math.pi * 1500.0)) ** (1 / 3)
    want = float(hertz_knudsen_flux_kg_m2_s(200.0)) * 2 * math.pi * rad**2 * 1800.0
    assert r2.loss_by_phase_kg["waiting"] == pytest.approx(want, rel=1e-6)
    assert r2.loss_fraction > 0.3
    assert s2.water_wt_pct < s2.truth.in_situ_water_wt_pct


def test_more_cuttings_heating_loses_more():
    col = _uniform(8.0)
    f = [drill(col, 0.5, 0.7, rng=np.random.default_rng(2),
               params=DrillParams(heat_frac_to_cuttings=h, wait_temperature_k=100.0))[1].water_lost_kg
         for h in (0.1, 0.2, 0.3)]
    assert f[0] < f[1] < f[2]


def test_big_rock_stops_the_drill_small_rock_is_cut():
    big = _uniform(5.0, [Rock(depth_m=0.8, radius_m=0.1)])
    s, r = drill(big, 0.5, 1.0, rng=np.random.default_rng(0))
    assert r.stopped_by_rock and r.reached_m == pytest.approx(0.7)
    assert s.bottom_m == pytest.approx(0.7)
    s, r = drill(big, 0.9, 1.0, rng=np.random.default_rng(0))
    assert s is None and r.stopped_by_rock
    prof = drill_profile(big, bite_m=0.1, rng=np.random.default_rng(0))
    assert prof[-1][1].reached_m == pytest.approx(0.7)
    # a rock off to the side is missed
    side = _uniform(5.0, [Rock(depth_m=0.8, radius_m=0.1, offset_m=0.2)])
    assert not drill(side, 0.5, 1.0, rng=np.random.default_rng(0))[1].stopped_by_rock
    small = _uniform(5.0, [Rock(depth_m=0.85, radius_m=0.02)])
    s, r = drill(small, 0.8, 0.9, rng=np.random.default_rng(0))
    assert not r.stopped_by_rock
    assert s.water_wt_pct < 5.0           # rock cuttings dilute the ice


@pytest.mark.parametrize("top,bottom", [(0.0, 1.6), (-0.1, 0.5), (0.5, 0.5), (0.6, 0.5), (float("nan"), 1.0)])
def test_bad_drill_depths_raise(top, bottom):
    with pytest.raises(InputError):
        drill(_uniform(), top, bottom, rng=np.random.default_rng(0))


def test_drill_requires_generator_and_sane_params():
    with pytest.raises(LupexError):
        drill(_uniform(), 0.1, 0.2, rng=0)
    with pytest.raises(ConfigError, match="max_depth_m"):
        DrillParams(max_depth_m=2.0)


def test_empty_sample_raises():
    with pytest.raises(InputError, match="empty"):
        Sample(0.1, 0.2, 0.0, 5.0)
    with pytest.raises(InputError):
        Sample(0.1, 0.2, 0.01, float("nan"))
