"""lupex.prospect.paths: survey geometry by hand: the area, the lawnmower and its budget spacing, the drill grid,
points along a path, a path cut to a budget, and the candidate legs."""

import numpy as np
import pytest
import xarray as xr

from lupex.errors import InputError
from lupex.prospect import paths as PA


def _length(w):
    return float(np.linalg.norm(np.diff(np.asarray(w, float), axis=0), axis=1).sum())


def test_area_checks_clips_and_spans_a_grid():
    a = PA.Area(0.0, 100.0, 0.0, 60.0)
    np.testing.assert_array_equal(a.clip([[-5.0, 30.0], [50.0, 70.0]]), [[0.0, 30.0], [50.0, 60.0]])
    g = xr.DataArray(np.zeros((2, 3)), coords={"y": [5.0, -5.0], "x": [1.0, 2.0, 3.0]}, dims=("y", "x"))
    assert PA.Area.of_grid(g) == PA.Area(1.0, 3.0, -5.0, 5.0)
    with pytest.raises(InputError, match="x_min < x_max"):
        PA.Area(1.0, 1.0, 0.0, 1.0)


def test_straight_line_cost_by_hand():
    cost = PA.straight_line_cost(wh_per_m=0.5, m_per_h=300.0, wh_per_leg=2.0, h_per_leg=0.02)
    e, t = cost(np.zeros(2), np.array([[30.0, 40.0], [0.0, 0.0]]))       # vectorised over "to"
    np.testing.assert_allclose(e, [27.0, 2.0])
    np.testing.assert_allclose(t, [50.0 / 300.0 + 0.02, 0.02])
    with pytest.raises(InputError):
        PA.straight_line_cost(wh_per_m=0.0)


def test_lawnmower_at_the_budget_spacing_by_hand():
    a = PA.Area(0.0, 100.0, 0.0, 60.0)
    s = PA.lawnmower_spacing_for_budget(a, 360.0)
    assert s == pytest.approx(100.0 * 60.0 / (360.0 - 60.0))            # 20 m
    w = PA.lawnmower(a, s)
    np.testing.assert_allclose(w, [[0, 10], [100, 10], [100, 30], [0, 30], [0, 50], [100, 50]])
    assert _length(w) == pytest.approx(3 * 100.0 + 2 * 20.0)
    assert PA.lawnmower_spacing_for_budget(a, 150.0) == 60.0             # under w + h: one line
    # started from the far corner, the mirror image whose first waypoint is nearest
    np.testing.assert_allclose(PA.lawnmower(a, s, start=(100.0, 60.0))[0], [100.0, 50.0])


def test_drill_grid_is_the_most_nearly_square_grid_of_cell_centres():
    np.testing.assert_allclose(PA.drill_grid((0, 100, 0, 100), 4), [[25, 25], [75, 25], [25, 75], [75, 75]])
    g = PA.drill_grid((0, 300, 0, 100), 3)                               # a 3:1 area: one row of three
    np.testing.assert_allclose(g, [[50, 50], [150, 50], [250, 50]])
    with pytest.raises(InputError, match="n >= 1"):
        PA.drill_grid((0, 1, 0, 1), 0)


def test_path_points_carry_the_step_across_vertices():
    p = PA.path_points([[0, 0], [3, 0], [3, 10]], 2.0)
    np.testing.assert_allclose(p, [[2, 0], [3, 1], [3, 3], [3, 5], [3, 7], [3, 9]])
    np.testing.assert_allclose(PA.path_points([[0, 0], [4, 0]], 2.0, include_start=True), [[0, 0], [2, 0], [4, 0]])
    assert PA.path_points([[0, 0], [1, 0]], 2.0).shape == (0, 2)


def test_truncate_path_spends_the_budget_and_cuts_the_last_leg():
    cost = PA.straight_line_cost(wh_per_m=1.0, m_per_h=100.0, wh_per_leg=0.0, h_per_leg=0.0)
    w, e, t = PA.truncate_path([[0, 0], [10, 0], [10, 10]], cost, 15.0)
    # the first leg (10 Wh) fits, the second is cut at 5 m (bisection to 2^-40 of the leg)
    np.testing.assert_allclose(w, [[0, 0], [10, 0], [10, 5]], atol=1e-9)
    assert e == pytest.approx(15.0, abs=1e-9) and e <= 15.0 and t == pytest.approx(0.15, abs=1e-9)
    w, e, _ = PA.truncate_path([[0, 0], [10, 0]], cost, 100.0)
    assert len(w) == 2 and e == pytest.approx(10.0)


def test_candidate_waypoints_are_reach_away_or_clipped_and_not_too_close():
    a = PA.Area(0.0, 100.0, 0.0, 100.0)
    c = PA.candidate_waypoints((50.0, 50.0), a, 20.0, n_headings=8)
    assert len(c) == 8
    np.testing.assert_allclose(np.hypot(c[:, 0] - 50, c[:, 1] - 50), 20.0)
    # at the west edge, the headings west are clipped to the edge: kept only when >= reach/4 away
    c = PA.candidate_waypoints((2.0, 50.0), a, 20.0, n_headings=4)
    np.testing.assert_allclose(c, [[22.0, 50.0], [2.0, 70.0], [2.0, 30.0]])
