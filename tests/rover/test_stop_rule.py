"""lupex.rover.stop_rule: the battery deficit's bookkeeping (charge eta_c capped at full, discharge 1/eta_d) and
pending activities by hand, and the rule itself on a schedule: hibernate in the dark, work only in the light."""

import types

import pytest

from lupex.rover import scheduler as S
from lupex.rover import stop_rule as SR
from lupex.rover.vehicle import RoverParams
from tests.rover.test_planner import flat_dem, xy
from tests.rover.test_scheduler import _light

PROB = types.SimpleNamespace(eta_c=0.95, eta_d=0.9)


def test_the_deficit_by_hand():
    assert SR._advance(PROB, 1000.0, 10.0, 50.0) == pytest.approx(1000.0 - 0.95 * 500.0)    # charging
    assert SR._advance(PROB, 100.0, 10.0, 50.0) == 0.0                                     # capped at full
    assert SR._advance(PROB, 0.0, -9.0, 100.0) == pytest.approx(900.0 / 0.9)              # discharging
    assert SR._advance(PROB, 5.0, 0.0, 1e6) == 5.0


def test_pending_activities_are_taken_in_order():
    pending = [["science", 10], ["drill", 5]]
    SR._take(pending, 4)
    assert pending == [["science", 6], ["drill", 5]]
    SR._take(pending, 6)
    assert pending == [["drill", 5]]
    SR._take(pending, 9)
    assert pending == []


def test_the_rule_hibernates_in_the_dark_and_works_in_the_light():
    dem = flat_dem(24)
    goals = [S.Goal(*xy(dem, 20, 20), science_h=2, drill_h=3)]
    tl = S.schedule(dem, _light(3), RoverParams(), start="2027-01-01T00:00:00", duration_days=2, goals=goals,
                    start_xy=xy(dem, 3, 3))
    tr = tl.trace
    still = tr["mode"] != "drive"
    dark = tr["sun_fraction"] <= 0
    assert (tr.loc[still & dark, "mode"] == "hibernate").all() and (still & dark).any()
    assert not tr.loc[dark, "mode"].isin(["science", "drill", "communicate"]).any()
    assert not tr.loc[~dark, "mode"].isin(["hibernate"]).any()
