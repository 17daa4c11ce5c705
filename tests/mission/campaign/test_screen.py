"""lupex.mission.campaign.screen: the rover's straight-leg cost from the vehicle, the area and window geometry,
cutting grids either way up, the orbital prior and its reach fraction, the area's centre against a brute-force
search, and the cells the rover may stop on (a flat DEM: every cell; a wall: not the wall)."""

import types

import numpy as np
import pytest
import xarray as xr

from lupex.errors import InputError
from lupex.mission.campaign import screen as SC
from lupex.mission.campaign.params import CampaignParams
from lupex.prospect.strategy import Area
from lupex.rover import mobility
from lupex.rover.vehicle import RoverParams
from lupex.terrain.io import dem_from_array

N, PX = 24, 10.0
X = (np.arange(N) + 0.5) * PX + 1000.0
Y = -(np.arange(N) + 0.5) * PX - 2000.0          # north-up: y decreases down the rows


def _dem(z=None):
    return dem_from_array(np.zeros((N, N)) if z is None else z, X, Y)


def _gt(stability):
    ds = xr.Dataset({"stability_depth_m": (("y", "x"), stability), "weh_wt_pct": (("y", "x"), np.zeros((N, N)))},
                    coords={"y": Y, "x": X})
    return types.SimpleNamespace(dataset=ds)


def test_rover_cost_is_drive_load_over_speed_plus_the_stop_overhead():
    p = CampaignParams(leg_overhead_wh=3.0)
    cost, wh_per_m, rover = SC.rover_cost(None, p)
    rv = RoverParams()
    v = float(mobility.speed_m_s(0.0, rv))
    assert rover == rv
    assert wh_per_m == pytest.approx(rv.loads.drive_w / v / 3600.0, rel=1e-12)
    e, h = cost(np.array([0.0, 0.0]), np.array([30.0, 40.0]))          # a 50 m leg
    assert e == pytest.approx(50.0 * wh_per_m + 3.0, rel=1e-12)
    assert h == pytest.approx(50.0 / (v * 3600.0) + 3.0 / rv.loads.drive_w, rel=1e-12)


def test_area_for_is_the_square_of_cell_centres_around_the_start():
    gt = _gt(np.zeros((N, N)))
    sx, sy = X[10], Y[12]
    a = SC.area_for(gt.dataset, _dem(), (sx, sy), 40.0)
    assert (a.x_min, a.x_max, a.y_min, a.y_max) == pytest.approx((sx - 40, sx + 40, sy - 40, sy + 40))
    a = SC.area_for(gt.dataset, None, (X[1], Y[1]), 40.0)              # clipped at the grid's corner
    assert (a.x_min, a.y_max) == pytest.approx((X[0], Y[0]))
    with pytest.raises(InputError, match="outside the ground truth grid"):
        SC.area_for(gt.dataset, None, (X[0] - 6.0, Y[5]), 40.0)        # 1 m beyond the grid's edge
    SC.area_for(gt.dataset, None, (X[0] - 5.0, Y[5]), 40.0)            # on the edge itself
    with pytest.raises(InputError, match="fewer than 3 x 3 cells.*raise campaign.area_half_m"):
        SC.area_for(gt.dataset, None, (X[5], Y[5]), 9.0)


def test_sel_area_cuts_either_way_up():
    da = xr.DataArray(np.arange(N * N, dtype=float).reshape(N, N), coords={"y": Y, "x": X}, dims=("y", "x"))
    a = Area(X[2], X[5], Y[9], Y[7])
    down = SC.sel_area(da, a)
    up = SC.sel_area(da.isel(y=slice(None, None, -1)), a)
    assert down.shape == up.shape == (3, 4)
    np.testing.assert_array_equal(down.values, up.values[::-1])
    assert SC.sel_area(da, a, pad=PX).shape == (5, 6)
    x, y = SC.grid_of(down)
    np.testing.assert_array_equal(x, X[2:6])
    assert SC.crs_of(da) is None and SC.crs_of(_dem()) is not None


def test_campaign_window_spans_area_plus_approach_plus_margin():
    p = CampaignParams(area_half_m=50.0, approach_max_m=30.0)
    r0, r1, c0, c1 = SC.campaign_window(_dem(), (X[12], Y[12]), p, margin_cells=2)
    half = int(np.ceil((50.0 + 30.0) / PX)) + 2
    assert (r0, r1, c0, c1) == (12 - half, 12 + half + 1, 12 - half, 12 + half + 1)
    assert SC.campaign_window(_dem(), (X[1], Y[22]), p, margin_cells=2) == (22 - half, N, 0, 1 + half + 1)


def test_ice_prior_and_reach_fraction_by_hand():
    p = CampaignParams(drill_depth_m=1.0, drill_bite_m=0.1)
    st = np.full((N, N), np.inf)
    st[:, 12:] = 0.25                 # stable ice from 0.25 m: 3/4 of the 1 m drill column
    st[:, 18:] = 0.0
    st[0, 0] = 1.0                    # at the drill's reach: prior allows it, none of the column
    prior = SC.ice_prior(_gt(st), p)
    assert prior.sum() == N * 12 + 1 and prior[0, 0] and not prior[5, 5]
    f = SC.reach_fraction(_gt(st), Area(X[0], X[-1], Y[-1], Y[0]), p)
    assert f.shape == (N, N) and f.name == "orbital_ice_reach_fraction"
    np.testing.assert_allclose(f.values[:, 12:18], 0.75)
    np.testing.assert_allclose(f.values[:, 18:], 1.0)
    assert f.values[0, 0] == 0.0 and f.values[5, 5] == 0.0


def test_survey_centre_against_a_brute_force_search():
    p = CampaignParams(area_half_m=20.0, approach_max_m=150.0, drill_depth_m=1.0, drill_bite_m=0.1)
    st = np.full((N, N), np.inf)
    st[3:9, 15:21] = 0.1              # one 6 x 6-cell patch of prior ice, north-east of the landing site
    landed = (X[8], Y[14])
    centre, share = SC.survey_centre(_gt(st), None, landed, p, None)
    # brute force: the share of prior cells in each cell's 5 x 5 square (zero outside the grid)
    prior = np.isfinite(st)
    k = 2
    sh = np.array([[prior[max(r - k, 0):r + k + 1, max(c - k, 0):c + k + 1].sum() / 25.0 for c in range(N)]
                   for r in range(N)])
    XX, YY = np.meshgrid(X, Y)
    d = np.hypot(XX - landed[0], YY - landed[1])
    cand = d <= p.approach_max_m
    assert sh[cand].max() == 1.0      # a whole square of prior ice in reach: shares are k/25, none at 0.75 exactly
    ok = cand & (sh >= SC.PRIOR_SHARE * sh[cand].max())
    j = np.argmin(np.where(ok, d, np.inf))
    assert centre == pytest.approx((XX.flat[j], YY.flat[j]))
    assert share == pytest.approx(sh.flat[j], abs=1e-9)
    # no prior ice within reach: the landing site itself, share 0
    assert SC.survey_centre(_gt(np.full((N, N), np.inf)), None, landed, p, None) == (landed, 0.0)


def test_the_screen_takes_every_flat_cell_and_refuses_a_wall():
    p = CampaignParams(area_half_m=40.0, approach_max_m=40.0)
    rover = RoverParams()
    flat = SC.Screen(_dem(), None, (X[12], Y[12]), p, rover)
    assert flat.ok.all()
    assert flat.ok_xy([[X[12], Y[12]], [X[0] - 500.0, Y[0]]]).tolist() == [True, False]   # off the window: no
    z = np.zeros((N, N))
    z[:, 16:] = 50.0                  # a 50 m step between two 10 m cells: far above the 20 deg slope limit
    walled = SC.Screen(_dem(z), None, (X[12], Y[12]), p, rover)
    assert not walled.ok_xy([[X[15], Y[12]]])[0] and walled.ok_xy([[X[12], Y[12]]])[0]
    assert SC.is_steep(walled, [[X[15], Y[12]]], p)[0] and not SC.is_steep(None, [[X[15], Y[12]]], p)[0]
    snapped = walled.snap([[X[15], Y[12]]])
    assert walled.ok_xy(snapped)[0] and np.hypot(*(snapped[0] - (X[15], Y[12]))) <= PX + 1e-9


def test_flat_light_is_one_lit_step_over_the_window():
    lt = SC.flat_light(_dem(), (2, 7, 3, 11))
    assert lt.sun.shape == (1, 5, 8) and (lt.sun == 255).all() and (lt.row0, lt.col0) == (2, 3)
    SC.check_light(None, _dem(), Area(X[0], X[3], Y[3], Y[0]))
    with pytest.raises(InputError, match="does not cover the campaign area's north-east corner"):
        SC.check_light(lt, _dem(), Area(X[3], X[20], Y[6], Y[2]))
