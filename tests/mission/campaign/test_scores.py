"""lupex.mission.campaign.scores on 2 x 2 hand-made grids: the truth maps (reach, dry background, clipped depth,
water mass), the map scores (errors, calibration, water located, claims), and the energy breakdowns' sums, each
computed here by hand."""

import types

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from lupex.mission.campaign import scores as S
from lupex.mission.campaign.params import DEPTH_BOUNDS_M, CampaignParams
from lupex.prospect.strategy import Area

P = CampaignParams(drill_depth_m=1.0, drill_bite_m=0.1, weh_threshold_wt_pct=1.0)
X, Y = np.array([5.0, 15.0]), np.array([15.0, 5.0])      # 10 m cells, y running down
CELL_M2 = 100.0


def _gt():
    """Cells: ice at 0.2 m (in reach), ice at 1.2 m (below the 1 m drill), no ice, ice at 5 m (clipped to 3 m)."""
    ds = xr.Dataset({"ice_table_depth_m": (("y", "x"), [[0.2, 1.2], [np.nan, 5.0]]),
                     "weh_wt_pct": (("y", "x"), [[5.0, 4.0], [0.0, 3.0]]),
                     "dry_weh_wt_pct": (("y", "x"), [[0.1, 0.1], [0.2, 0.1]])}, coords={"y": Y, "x": X})
    return types.SimpleNamespace(dataset=ds)


def _area():
    return Area(X.min(), X.max(), Y.min(), Y.max())


def test_truth_maps_by_hand():
    t = S.truth_maps(_gt(), _area(), P)
    rho = t.attrs["density_kg_m3"]
    assert 1200.0 < rho < 2000.0      # lunar regolith bulk density over the top metre (Carrier et al. 1991: 1.3-1.9 g/cm3)
    assert t.attrs["cell_area_m2"] == pytest.approx(CELL_M2)
    np.testing.assert_allclose(t["weh_wt_pct"].values, [[5.0, 0.1], [0.2, 0.1]])   # wet layer only within reach
    np.testing.assert_allclose(t["ice_depth_m"].values, [[0.2, 1.2], [DEPTH_BOUNDS_M[1], DEPTH_BOUNDS_M[1]]])
    # 5 wt% over the 0.8 m of the column below the ice table, of a 10 x 10 m cell
    np.testing.assert_allclose(t["water_kg"].values, [[0.05 * rho * 0.8 * CELL_M2, 0.0], [0.0, 0.0]], rtol=1e-12)
    np.testing.assert_allclose(t["core_weh_wt_pct"].values, [[5.0 * 0.8 / 1.0, 0.1], [0.2, 0.1]], rtol=1e-12)


def _plan_maps():
    da = lambda v, **a: xr.DataArray(np.array(v, float), coords={"y": Y, "x": X}, dims=("y", "x"), attrs=a)  # noqa: E731
    return xr.Dataset({"weh_mean": da([[5.5, 0.6], [-0.3, 0.6]], length_m=30.0, signal_variance=0.5, nugget=0.01),
                       "weh_median": da([[3.0, 2.0], [0.1, 0.1]]),
                       "weh_lower": da([[4.0, 0.0], [0.3, 0.0]]), "weh_upper": da([[6.0, 1.0], [1.0, 1.0]]),
                       "ice_depth_mean": da([[0.5, 2.0], [2.0, 2.0]], length_m=40.0),
                       "ice_depth_lower": da([[0.1, 1.0], [1.0, 1.0]]), "ice_depth_upper": da([[0.3, 3.0], [3.0, 3.0]])})


def test_map_scores_by_hand():
    truth = S.truth_maps(_gt(), _area(), P)
    out = S._map_scores(_plan_maps(), truth, P)
    # errors map - truth: +0.5, +0.5, -0.5, +0.5
    assert out["weh_rmse_wt_pct"] == pytest.approx(0.5)
    assert out["weh_mae_wt_pct"] == pytest.approx(0.5)
    assert out["weh_bias_wt_pct"] == pytest.approx(0.25)
    assert out["weh_calibration_95"] == pytest.approx(0.75)       # 0.2 lies outside [0.3, 1.0]
    assert (out["gp_weh_length_m"], out["gp_weh_nugget"], out["gp_ice_depth_length_m"]) == (30.0, 0.01, 40.0)
    # ice depth is scored only where the drill reaches ice: the one cell at 0.2 m, map 0.5, interval [0.1, 0.3]
    assert out["ice_depth_rmse_m"] == pytest.approx(0.3) and out["ice_depth_bias_m"] == pytest.approx(0.3)
    assert out["ice_depth_calibration_95"] == pytest.approx(1.0)
    # one true ice cell (5 wt% > 1), found by the median map; two cells claimed, one right
    kg = truth["water_kg"].values[0, 0]
    assert out["ice_mass_located"] == pytest.approx(1.0)
    assert out["water_total_kg"] == pytest.approx(kg) and out["water_located_kg"] == pytest.approx(kg)
    assert (out["claimed_cells"], out["true_ice_cells"]) == (2, 1)
    assert out["claim_precision"] == pytest.approx(0.5)


def test_a_map_that_misses_the_ice_locates_nothing():
    maps = _plan_maps()
    maps["weh_median"] = maps["weh_median"] * 0.0
    out = S._map_scores(maps, S.truth_maps(_gt(), _area(), P), P)
    assert out["ice_mass_located"] == 0.0 and out["water_located_kg"] == 0.0 and out["claimed_cells"] == 0
    assert np.isnan(out["claim_precision"])


def test_energy_breakdown_parts_add_up():
    e = S.energy_breakdown(approach_wh=120.0, survey_wh=950.0, tour_wh=80.0, drill_wh=400.0, budget_wh=1000.0)
    parts = ("energy_approach_kwh", "energy_survey_drive_kwh", "energy_drill_tour_kwh", "energy_drill_kwh")
    assert [e[k] for k in parts] == pytest.approx([0.12, 0.95, 0.08, 0.4])
    assert e["kwh_used"] == pytest.approx(sum(e[k] for k in parts), rel=1e-12)
    assert e["kwh_used"] == pytest.approx(1.55)
    assert e["energy_over_drive_budget_kwh"] == pytest.approx(0.55)
    assert e["survey_budget_left_kwh"] == pytest.approx(0.05)


def test_timeline_energy_breakdown_sums_by_mode():
    t0 = pd.Timestamp("2027-01-02T00:00:00")
    h = pd.Timedelta(hours=1)
    trace = pd.DataFrame({"start_utc": [t0, t0 + h, t0 + 3 * h, t0 + 4 * h, t0 + 10 * h],
                          "end_utc": [t0 + h, t0 + 3 * h, t0 + 4 * h, t0 + 10 * h, t0 + 11 * h],
                          "mode": ["drive", "science", "wait", "hibernate", "drive"],
                          "energy_wh": [300.0, 100.0, 20.0, 600.0, 250.0],
                          "heater_w": [0.0, 10.0, 5.0, 50.0, 0.0]})
    e = S.timeline_energy_breakdown(trace)
    assert e["timeline_energy_drive_kwh"] == pytest.approx(0.55)
    assert e["timeline_energy_science_kwh"] == pytest.approx(0.1)
    assert e["timeline_energy_drill_kwh"] == 0.0
    assert e["timeline_energy_other_kwh"] == pytest.approx(0.02)          # "wait" is none of TIMELINE_MODES
    assert e["timeline_energy_kwh"] == pytest.approx(1.27)
    by_mode = [e[f"timeline_energy_{m}_kwh"] for m in S.TIMELINE_MODES] + [e["timeline_energy_other_kwh"]]
    assert sum(by_mode) == pytest.approx(e["timeline_energy_kwh"], rel=1e-12)
    # heaters: 10 W x 2 h + 5 W x 1 h + 50 W x 6 h = 325 Wh, 300 of them hibernating
    assert e["timeline_heater_kwh"] == pytest.approx(0.325)
    assert e["timeline_hibernate_heater_kwh"] == pytest.approx(0.3)
