"""lupex.rover.retreat: when no safe haven can be reached and survived, NoHavenError carries the binding
constraint (the haven's dark period and the Wh short, checked against the vehicle's numbers) and its message
says it; binding_message by hand for each kind."""

import dataclasses

import numpy as np
import pytest

from lupex.rover import retreat as RT
from lupex.rover import scheduler as S
from lupex.rover.schedule_check import ScheduleError
from lupex.rover.vehicle import RoverParams
from tests.rover.test_planner import flat_dem, xy
from tests.rover.test_scheduler_havens import HAVEN_DARK_H, LIT_H, N, START, lunation_light


def test_no_haven_error_is_a_schedule_error_with_its_binding():
    e = RT.NoHavenError("no haven", {"kind": "energy"})
    assert isinstance(e, ScheduleError) and e.binding == {"kind": "energy"} and str(e) == "no haven"


def _b(**kw):
    return dict(dict(kind="energy", at_utc="2027-01-15T06:00:00", candidates=4, haven_x_m=1234.4, haven_y_m=-50.0,
                     haven_distance_m=310.2, margin_wh=200.0, haven_dark_h=48.0,
                     haven_dark_start_utc="2027-01-15T18:00:00", haven_need_wh=1500.4, haven_available_wh=1100.0,
                     haven_short_wh=400.4, haven_drive_h=0.86), **kw)


def test_binding_messages_by_hand():
    m = RT.binding_message(_b())
    assert m == ("at 2027-01-15T06:00:00 no safe haven can be reached and survived: the best, the haven at (1234, -50) "
                 "m, 310 m away, meets a dark period of 48 h from 2027-01-15T18:00:00 that needs 1500 Wh of the 1100 "
                 "Wh usable (after the 200 Wh margin): 400 Wh short; enlarge the battery, shorten the stays or choose "
                 "another area")
    m = RT.binding_message(_b(kind="reach"))
    assert "cannot be reached before its dark period" in m and "(0.9 h of driving)" in m and "310 m away" in m
    m = RT.binding_message({"candidates": 0, "at_utc": "2027-01-15T06:00:00"})
    assert "no cell of the planning window can serve as a haven" in m


def test_a_battery_too_small_for_the_havens_night_names_it():
    """The 3 x 3 corner haven is dark 48 h per lunation; a 1.5 kWh battery cannot carry the rover through it."""
    dem = flat_dem(N)
    small = RoverParams(battery=dataclasses.replace(RoverParams().battery, capacity_wh=1500.0))
    goals = [S.Goal(*xy(dem, 6, 6), science_h=1.0), S.Goal(*xy(dem, 9, 5), drill_h=4.0)]
    with pytest.raises(RT.NoHavenError) as ei:
        S.schedule(dem, lunation_light(40), small, start=START, duration_days=38.0, goals=goals,
                   start_xy=xy(dem, 6, 5), haven_margin_wh=200.0, haven_margin_h=1.0)
    b = ei.value.binding
    assert b["kind"] == "energy" and b["candidates"] >= 1 and b["margin_wh"] == 200.0
    assert b["haven_dark_start_utc"] == str(np.datetime64(START) + np.timedelta64(LIT_H, "h"))[:19]
    assert b["haven_dark_h"] == pytest.approx(HAVEN_DARK_H, abs=1.0)
    assert b["haven_short_wh"] == pytest.approx(b["haven_need_wh"] - b["haven_available_wh"], abs=1e-6)
    assert b["haven_short_wh"] > 0 and b["haven_row"] < 3 and b["haven_col"] < 3
    assert str(ei.value) == RT.binding_message(b)
