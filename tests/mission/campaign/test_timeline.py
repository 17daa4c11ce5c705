"""lupex.mission.campaign.timeline on the small synthetic site of tests/mission/test_campaign.py (24 x 24 cells,
22 days of hand-made light): the goals handed to the scheduler, a plan's timeline (arrivals in order, no faster
than the straight drive, the science and drill hours served), and a plan the scheduler cannot serve."""

import numpy as np
import pandas as pd
import pytest

from lupex.mission.campaign import timeline as T
from lupex.rover.vehicle import RoverParams
from tests.mission.test_campaign import N, P, small_site, synthetic_light

UTC = "2027-01-02T00:00:00"


@pytest.fixture(scope="module")
def case():
    dem, _ = small_site()
    start = (float(dem.x[N // 2]), float(dem.y[N // 2]))
    wp = np.array([start, (start[0] + 30.0, start[1])])
    drills = np.array([(start[0] + 30.0, start[1] - 20.0)])
    return dem, synthetic_light(), start, wp, drills


def test_goals_are_the_waypoints_science_then_the_drills():
    g = T._goals(P, [[0, 0], [1, 2]], [[5, 5]])
    assert [x.name for x in g] == ["waypoint 1", "waypoint 2", "drill 1"]
    assert [(x.science_h, x.drill_h) for x in g] == [(P.science_h, 0.0)] * 2 + [(0.0, P.drill_h)]
    assert (g[1].x_m, g[1].y_m) == (1.0, 2.0)


def test_a_plans_timeline_serves_every_goal_in_order(case):
    dem, light, start, wp, drills = case
    tl, err, times, goals, failure = T.schedule_plan(dem, light, RoverParams(), start, UTC, P, wp, drills)
    assert tl is not None and err == "" and failure is None
    assert list(goals["name"]) == ["waypoint 1", "waypoint 2", "drill 1"]
    assert list(goals["arrival_utc"]) == list(times) and (goals["moved_m"] == 0.0).all()
    t = pd.to_datetime(list(times))
    assert t[0] == pd.Timestamp(UTC)                       # the first waypoint is the landing site itself
    # each goal is reached no sooner than the stay at the one before plus the straight drive at the rover's speed
    pts = np.vstack([wp, drills])
    stay_h = [P.science_h, P.science_h]
    for i in (1, 2):
        d = float(np.hypot(*(pts[i] - pts[i - 1])))
        assert (t[i] - t[i - 1]).total_seconds() >= stay_h[i - 1] * 3600.0 + d / P.speed_m_s
    a = tl.activities
    hours = (a["end_utc"] - a["start_utc"]).dt.total_seconds() / 3600.0
    # the drill stop's hours and the science hours are served in full (whole minutes: 1e-6 h is rounding)
    assert hours[a["mode"] == "drill"].sum() == pytest.approx(P.drill_h, abs=1e-6)
    assert hours[a["mode"] == "science"].sum() == pytest.approx(2 * P.science_h, abs=1e-6)


def test_a_plan_the_scheduler_cannot_serve_has_no_timeline_and_says_why(case):
    dem, light, start, wp, _ = case
    off = np.array([(start[0] + 10_000.0, start[1])])      # a drill site 10 km off the DEM
    s = T.schedule_plan(dem, light, RoverParams(), start, UTC, P, wp, off)
    assert isinstance(s, T.Schedule) and s.timeline is None and s.goal_times == ()
    assert "goal 3" in s.error and "outside the DEM" in s.error
    assert [g.name for g in s.failure["goals"]] == ["waypoint 1", "waypoint 2", "drill 1"]
    assert "arrival_utc" not in s.goals


def test_a_plan_timeline_defaults_to_not_flown():
    pt = T.PlanTimeline()
    assert pt.timeline is None and pt.schedule_error == "" and pt.goal_times == () and pt.feasibility is None
