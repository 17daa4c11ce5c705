"""No oracle: a simulated mission decides (where to drive, where to drill) from what it measured, never from
its ground truth. The check is an invariant: change the truth's ice (ice-table depth and wet-layer WEH) on
every cell the rover did not drive over and every decision stays the same, for the first traverse (its goal,
the rover planner's path, the drill sites chosen from the survey) and for the campaign (the area, both plans'
paths and drill sites); change it on cells the rover did drive over and the decisions change, so the
invariant is not vacuous.

The measured footprint is computed here, independently of the code under test: the grid cells whose square
contains a point of the driven path, the path sampled every 1/20 pixel. What a mission knows before it
measures (the orbital prior: depth to stable ice and surface temperatures, FeO+TiO2, the background hydrogen;
:data:`lupex.mission.survey.PRIOR_FIELDS`) is left unchanged: it is not the truth the rover explores.
"""

import dataclasses

import numpy as np
import pytest

from lupex.light.visibility import VisibilitySeries
from lupex.mission import campaign as C
from lupex.mission import survey as sv
from lupex.rover import planner as P
from lupex.subsurface.ground_truth import GroundTruth
from lupex.terrain.io import dem_from_array
from test_campaign import P as CAMPAIGN_P
from test_campaign import small_site, synthetic_light
from test_survey import X0, make_truth

T0 = "2027-01-02T00:00:00"
UNKNOWN = ("ice_table_depth_m", "weh_wt_pct")   # what the rover explores; every other field is the prior


def crossed_cells(paths, ds) -> np.ndarray:
    """(ny, nx) bool: cells of ``ds`` whose square holds a point of any of ``paths`` (sampled every px/20)."""
    x, y = ds["x"].values, ds["y"].values
    px = abs(float(x[1] - x[0]))
    out = np.zeros((y.size, x.size), bool)
    for p in paths:
        p = np.asarray(p, float).reshape(-1, 2)
        pts = [p[:1]] + [a + np.linspace(0, 1, int(np.hypot(*(b - a)) / (px / 20)) + 2)[:, None] * (b - a)
                         for a, b in zip(p[:-1], p[1:])]
        q = np.vstack(pts)
        ix = np.abs(x[None, :] - q[:, :1]).argmin(axis=1)
        iy = np.abs(y[None, :] - q[:, 1:]).argmin(axis=1)
        out[iy, ix] = True
    return out


def with_ice(gt: GroundTruth, where: np.ndarray, table_m: float, weh_wt_pct: float) -> GroundTruth:
    """The same truth with shallow rich ice (``table_m``, ``weh_wt_pct``) on the cells ``where``."""
    ds = gt.dataset.copy(deep=True)
    ds["ice_table_depth_m"].values[where] = table_m
    ds["weh_wt_pct"].values[where] = weh_wt_pct
    return dataclasses.replace(gt, dataset=ds)


def without_ice(gt: GroundTruth, where: np.ndarray) -> GroundTruth:
    ds = gt.dataset.copy(deep=True)
    ds["ice_table_depth_m"].values[where] = np.inf
    return dataclasses.replace(gt, dataset=ds)


# ----------------------------------------------------------------------------- the first traverse


def all_lit(grid, hours=48):
    ny, nx = grid.shape
    k = np.arange(hours)
    on = np.full((hours, ny, nx), 255, np.uint8)
    return VisibilitySeries(times=np.datetime64(T0, "ns") + (k * 3600 * 10**9).astype("timedelta64[ns]"),
                            step_s=3600.0, row0=0, col0=0, sun=on, earth=on.copy(),
                            sun_azimuth_deg=np.full(hours, 90.0), sun_elevation_deg=np.full(hours, 1.0),
                            sun_distance_m=np.full(hours, 1.496e11), earth_elevation_deg=np.full(hours, 5.0))


def first_traverse(gt, dem, light, landed):
    """What a run decides for its first traverse (as :func:`lupex.mission.run.run_mission` does it)."""
    goal = C.first_traverse_goal(gt, dem, landed)
    plan = P.plan(dem, light, landed, goal, T0)
    path = np.column_stack([plan.x_m, plan.y_m])
    sr = sv.run_survey(gt, dem, path, seed=7, write=False)
    choice = C.choose_drill_sites(sr, dem, tuple(path[-1]), n=3)
    return dict(goal=np.asarray(goal), path=path, sites=choice.sites_xy, choice=choice)


@pytest.fixture(scope="module")
def traverse_site():
    grid, gt = make_truth()
    dem = dem_from_array(np.zeros(grid.shape), grid.x.values, grid.y.values)
    landed = (X0 - 230.0, 3.0)
    light = all_lit(dem)
    return gt, dem, light, landed, first_traverse(gt, dem, light, landed)


def test_every_truth_field_is_either_prior_or_explored(traverse_site):
    """The truth's fields split into what a mission knows from orbit (PRIOR_FIELDS, which decisions may read) and
    what the rover explores (perturbed below); a new field must be put on one side."""
    gt = traverse_site[0]
    assert set(gt.dataset.data_vars) == set(sv.PRIOR_FIELDS) | set(UNKNOWN)
    assert not set(sv.PRIOR_FIELDS) & set(UNKNOWN)


def test_first_traverse_ignores_the_truth_where_the_rover_did_not_go(traverse_site):
    gt, dem, light, landed, base = traverse_site
    seen = crossed_cells([base["path"]], gt.dataset)
    assert 5 < seen.sum() < 0.2 * seen.size
    # the goal is the orbital prior-ice region (cold ground x >= X0), reached by the planner's 8-connected path
    assert base["goal"][0] >= X0 and np.allclose(base["path"][0], dem.sel(x=landed[0], y=landed[1], method="nearest")
                                                 .pipe(lambda d: (float(d.x), float(d.y))))
    steps = np.abs(np.diff(base["path"], axis=0))
    assert np.all(steps <= 20.0 + 1e-9)            # one cell (20 m) at a time: the planner's grid moves
    for changed in (with_ice(gt, ~seen, 0.05, 30.0), without_ice(gt, ~seen)):
        assert not np.array_equal(changed.dataset["weh_wt_pct"].values, gt.dataset["weh_wt_pct"].values) or \
            not np.array_equal(changed.dataset["ice_table_depth_m"].values, gt.dataset["ice_table_depth_m"].values)
        got = first_traverse(changed, dem, light, landed)
        assert np.array_equal(got["goal"], base["goal"])
        assert np.array_equal(got["path"], base["path"])
        assert np.array_equal(got["sites"], base["sites"])


def test_first_traverse_drill_sites_follow_what_was_measured(traverse_site):
    """Rich shallow ice put under the dry part of the path (cells the rover drove over, x < X0) moves the drill
    sites there: the choice reads the measurements (the measured maps' table says why)."""
    gt, dem, light, landed, base = traverse_site
    seen = crossed_cells([base["path"]], gt.dataset)
    xx = np.broadcast_to(gt.dataset["x"].values, seen.shape)
    dry_seen = seen & (xx < X0 - 40.0)
    assert dry_seen.sum() >= 3
    got = first_traverse(with_ice(gt, dry_seen, 0.1, 20.0), dem, light, landed)
    assert np.array_equal(got["path"], base["path"])          # the traverse does not depend on the truth at all
    assert not np.array_equal(got["sites"], base["sites"])
    # the first site is now on the new ice, and the maps the rover made say it is wet
    assert got["sites"][0, 0] < X0 - 40.0
    t = got["choice"].table
    assert t["weh_mean_wt_pct"].iloc[0] > 3.0 and t["p_ice_within_drill"].iloc[0] > 0.5
    assert "never from the ground truth" in got["choice"].rule


# ----------------------------------------------------------------------------- the campaign


def campaign_decisions(gt, dem, light, start):
    r = C.run_campaign(CAMPAIGN_P, gt, dem, light, start, T0, None, seed=5)
    return r, {n: (np.asarray(r.plans[n].path_xy), np.asarray(r.plans[n].drill_xy)) for n in C.PLANS}


@pytest.fixture(scope="module")
def campaign_site():
    dem, gt = small_site()
    n = dem.shape[0]
    start = (float(dem.x[n // 2]), float(dem.y[n // 2]))
    light = synthetic_light()
    r, dec = campaign_decisions(gt, dem, light, start)
    return dem, gt, start, light, r, dec


def test_campaign_ignores_the_truth_where_the_rover_did_not_go(campaign_site):
    dem, gt, start, light, r, base = campaign_site
    seen = crossed_cells([p for p, _ in base.values()], gt.dataset)
    assert seen.sum() < seen.size                   # something is left unmeasured
    for changed in (with_ice(gt, ~seen, 0.05, 30.0), without_ice(gt, ~seen)):
        r2, got = campaign_decisions(changed, dem, light, start)
        assert r2.survey_centre_xy == r.survey_centre_xy
        for n in C.PLANS:
            assert np.array_equal(got[n][0], base[n][0]), n      # the survey path
            assert np.array_equal(got[n][1], base[n][1]), n      # the drill sites
        # and the scores, which read the truth, did change: the perturbation was real
        assert r2.scores["water_total_kg"].iloc[0] != pytest.approx(r.scores["water_total_kg"].iloc[0])


def test_campaign_decisions_follow_what_was_measured(campaign_site):
    dem, gt, start, light, r, base = campaign_site
    seen = crossed_cells([base["strategy"][0]], gt.dataset)
    r2, got = campaign_decisions(with_ice(gt, seen, 0.05, 30.0), dem, light, start)
    assert r2.survey_centre_xy == r.survey_centre_xy          # the area comes from the orbital prior alone
    assert not (np.array_equal(got["strategy"][0], base["strategy"][0])
                and np.array_equal(got["strategy"][1], base["strategy"][1]))


def test_campaign_starts_from_the_landed_position(campaign_site):
    """One position: the result's start is where the rover landed; the area's centre is a separate field, and
    the approach is the distance between the two."""
    _, _, start, _, r, _ = campaign_site
    assert r.start_xy == pytest.approx(start)
    a = r.plans["strategy"].approach_m
    assert a == pytest.approx(np.hypot(r.survey_centre_xy[0] - start[0], r.survey_centre_xy[1] - start[1]))


def test_drill_choice_without_measurements_says_what_to_do(traverse_site):
    """No neutron window (nothing measured): no guess from elsewhere, an error that says what to change."""
    from lupex.errors import InputError

    gt, dem, light, landed, base = traverse_site
    sr = sv.run_survey(gt, dem, base["path"], seed=7, write=False)
    empty = dataclasses.replace(sr, retrievals=sr.retrievals.iloc[:0])
    with pytest.raises(InputError, match="no neutron window"):
        C.choose_drill_sites(empty, dem, tuple(base["path"][-1]))
    with pytest.raises(InputError, match="DEM"):
        C.choose_drill_sites(sr, None, tuple(base["path"][-1]))
