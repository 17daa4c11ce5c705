"""Ice-table retrieval helpers against hand calculations: WEH from a permittivity contrast (logarithmic
mixing, ice added to the pores) and the shallowest accepted pick."""

import numpy as np
import pytest

from lupex.instruments import gpr_retrieval as gr

C_M_S = 299_792_458.0
RHO_ICE = 917.0   # Petrenko & Whitworth 1999
EPS_ICE = 3.15


@pytest.mark.parametrize("w", [0.01, 0.05, 0.12])
def test_weh_from_contrast_inverts_logarithmic_mixing(w):
    rho_dry = 1600.0
    rho_bulk = rho_dry / (1 - w)            # ice adds mass, not volume
    v_ice = w * rho_bulk / RHO_ICE
    eps_above = 2.9
    eps_below = eps_above * EPS_ICE ** v_ice
    assert gr.weh_from_contrast(eps_above, eps_below, rho_dry, eps_ice=EPS_ICE) == pytest.approx(100 * w, rel=1e-9)
    # a common error in both permittivities cancels
    assert gr.weh_from_contrast(1.1 * eps_above, 1.1 * eps_below, rho_dry, eps_ice=EPS_ICE) == pytest.approx(
        100 * w, rel=1e-9)


def test_no_contrast_keeps_the_water_above():
    assert float(gr.weh_from_contrast(3.0, 3.0, 1700.0)) == pytest.approx(0.0, abs=1e-12)
    assert float(gr.weh_from_contrast(3.0, 3.0, 1700.0, weh_above_wt_pct=0.5)) == pytest.approx(0.5, rel=1e-12)


def test_min_pick_depth_is_periods_of_two_way_time():
    eps, f = 3.0, 400e6
    expected = C_M_S / np.sqrt(eps) * 2.0 / f / 2
    assert gr.min_pick_depth_m(eps, f) == pytest.approx(expected, rel=1e-12)
    assert gr.min_pick_depth_m(eps, f, periods=4.0) == pytest.approx(2 * expected, rel=1e-12)
