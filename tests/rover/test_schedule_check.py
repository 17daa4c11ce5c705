"""lupex.rover.schedule_check: the Timeline a schedule returns (its summary recomputed here from its own
activities and trace), the constraints its check guarantees at every interval, and ScheduleError."""

import pandas as pd
import pytest

from lupex.errors import LupexError
from lupex.rover import schedule_check as SC
from lupex.rover import scheduler as S
from lupex.rover.vehicle import RoverParams
from tests.rover.test_planner import flat_dem, xy
from tests.rover.test_scheduler import _light


@pytest.fixture(scope="module")
def timeline():
    dem = flat_dem(24)
    goals = [S.Goal(*xy(dem, 20, 20), science_h=2, drill_h=3), S.Goal(*xy(dem, 5, 18), science_h=1, drill_h=0)]
    return S.schedule(dem, _light(), RoverParams(), start="2027-01-01T00:00:00", duration_days=5, goals=goals,
                      start_xy=xy(dem, 3, 3))


def test_the_schedule_returns_the_checks_timeline(timeline):
    assert isinstance(timeline, SC.Timeline) and S.Timeline is SC.Timeline and S.ScheduleError is SC.ScheduleError
    assert issubclass(SC.ScheduleError, LupexError)


def test_summary_by_hand(timeline):
    a, tr = timeline.activities, timeline.trace
    s = timeline.summary()
    h = (a["end_utc"] - a["start_utc"]).dt.total_seconds() / 3600
    for mode, hours in s["hours_by_mode"].items():
        assert hours == pytest.approx(h[a["mode"] == mode].sum(), rel=1e-12)
    assert sum(s["hours_by_mode"].values()) == pytest.approx(5 * 24.0)
    assert s["min_soc"] == pytest.approx(tr["soc_end"].min()) and s["goals_reached"] == 2
    assert s["data_volume_gbit"] == pytest.approx(a["data_volume_bits"].sum() / 1e9)
    assert (s["start_utc"], s["end_utc"]) == ("2027-01-01 00:00:00", "2027-01-06 00:00:00")


def test_every_interval_keeps_the_constraints(timeline):
    tr = timeline.trace
    rover = RoverParams()
    assert (tr["soc_end"] >= rover.battery.soc_min - 1e-9).all()
    assert (tr["electronics_min_k"] >= rover.thermal.electronics.survival_min_k).all()
    assert (tr["battery_min_k"] >= rover.thermal.battery.survival_min_k).all()
    comm = tr["mode"] == "communicate"
    assert comm.any() and (tr.loc[comm, "earth_fraction"] >= 0.5).all()


def test_a_summary_of_a_hand_made_timeline():
    t0 = pd.Timestamp("2027-01-01")
    acts = pd.DataFrame({"start_utc": [t0, t0 + pd.Timedelta(hours=2)],
                         "end_utc": [t0 + pd.Timedelta(hours=2), t0 + pd.Timedelta(hours=5)],
                         "mode": ["drive", "communicate"], "data_volume_bits": [0.0, 3e9]})
    trace = pd.DataFrame({"soc_end": [0.9, 0.7], "electronics_min_k": [250.0, 240.0], "battery_min_k": [270.0, 265.0]})
    s = SC.Timeline(acts, trace, ((), ())).summary()
    assert s["hours_by_mode"] == {"communicate": 3.0, "drive": 2.0}
    assert (s["min_soc"], s["min_electronics_k"], s["min_battery_k"]) == (0.7, 240.0, 265.0)
    assert s["data_volume_gbit"] == pytest.approx(3.0) and s["goals_reached"] == 2
