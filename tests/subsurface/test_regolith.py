"""Regolith density against Carrier et al. 1991 (Lunar Sourcebook ch. 9) and Hayne et al. 2017."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.subsurface import regolith


def test_carrier_formula_at_published_depths():
    # eq. 9.6 evaluated by hand: 1.92*12.2/18, 1.92*27.2/33, 1.92*72.2/78 g/cm^3
    z = np.array([0.0, 0.15, 0.60])
    np.testing.assert_allclose(regolith.density_carrier_kg_m3(z), [1301.33, 1582.55, 1777.23], atol=0.05)


@pytest.mark.parametrize("top,bottom,table,sd", [
    # Carrier et al. 1991 Table 9.4 "best estimates" of bulk density (g/cm^3)
    (0.0, 0.15, 1.50, 0.05), (0.0, 0.30, 1.58, 0.05), (0.30, 0.60, 1.74, 0.05), (0.0, 0.60, 1.66, 0.05)])
def test_carrier_depth_averages_match_table_9_4(top, bottom, table, sd):
    closed_form = regolith.mean_density_carrier_kg_m3(top, bottom) / 1000
    z = np.linspace(top, bottom, 20001)
    brute = np.trapezoid(regolith.density_carrier_kg_m3(z), z) / (bottom - top) / 1000
    assert closed_form == pytest.approx(brute, abs=1e-6)
    assert abs(closed_form - table) <= sd


def test_hayne_profile_limits_and_scale():
    # Hayne et al. 2017 Table A1: 1100 at the surface, 1800 at depth, e-folding H
    assert regolith.density_hayne_kg_m3(0.0) == pytest.approx(1100.0)
    assert regolith.density_hayne_kg_m3(5.0) == pytest.approx(1800.0)
    h = regolith.HAYNE_H_M
    assert regolith.density_hayne_kg_m3(h) == pytest.approx(1800 - 700 / np.e)
    z = np.linspace(0, 1.3, 20001)
    assert regolith.areal_mass_hayne_kg_m2(1.3) == pytest.approx(np.trapezoid(regolith.density_hayne_kg_m3(z), z), rel=1e-6)


def test_porosity_and_ice_density():
    # Carrier 1991: rho 1.5 g/cm^3 with G = 3.1 -> porosity 0.516
    assert regolith.porosity(1500.0) == pytest.approx(1 - 1500 / 3100)
    # 10 wt% water in pores of 1.8 g/cm^3 dry soil: 0.1 = m_w/(m_w + 1800) -> m_w = 200 kg/m^3
    assert regolith.bulk_density_with_ice_kg_m3(1800.0, 10.0) == pytest.approx(2000.0)


@pytest.mark.parametrize("bad", [-0.1, np.nan])
def test_bad_depth_raises(bad):
    with pytest.raises(InputError, match="depth"):
        regolith.density_kg_m3(bad)


@pytest.mark.parametrize("w", [-1.0, 100.0, 150.0, np.nan])
def test_bad_water_raises(w):
    with pytest.raises(InputError, match="wt%"):
        regolith.bulk_density_with_ice_kg_m3(1500.0, w)


def test_unknown_model():
    with pytest.raises(InputError, match="carrier"):
        regolith.density_kg_m3(0.1, model="apollo")


def test_pore_ice_capacity_fills_the_pores_exactly():
    """At capacity the ice volume equals the pore volume (independent recomputation), and a ground-truth
    column never holds more ice than its pores: the GPR mixing rule accepts every column."""
    from lupex.instruments.gpr_dielectric import ice_volume_fraction
    from lupex.subsurface import regolith as rg

    rho_dry = np.array([1300.0, 1660.0, 1900.0, 2100.0])
    w = rg.pore_ice_capacity_wt_pct(rho_dry) / 100.0
    ice_mass = w / (1 - w) * rho_dry  # kg of ice per m^3 of bulk
    assert np.allclose(ice_mass / rg.ICE_DENSITY_KG_M3, 1 - rho_dry / rg.GRAIN_DENSITY_KG_M3)
    assert np.all(np.diff(w) < 0)  # denser regolith, fewer pores
    bulk = rg.bulk_density_with_ice_kg_m3(rho_dry, 99.9 * w)
    ice_volume_fraction(99.9 * w, bulk)  # fits (raises if not)
