"""Haven-aware six-month timelines and the infeasibility report.

A small flat site with a lunation-like light cycle (708 h): most of it lit 354 h and dark 354 h (no 4 kWh
rover hibernates through that), a 3 x 3 corner that is dark only 48 h per lunation (a haven), the Earth in view
12 h of 24. Invariants checked against the vehicle models, independently of the scheduler's own bookkeeping:

* the state of charge, re-integrated here from the trace's loads and panel power with the battery's
  efficiencies, never goes below soc_min;
* every stretch of darkness the rover spends parked (hibernating) at a cell is one that
  :func:`lupex.rover.survival.survive`
  (energy and temperatures through the whole dark period at that cell, from the rover's state of charge
  there) does not judge ``"fails"``.

Infeasible case: the same site with a 1.5 kWh battery cannot carry the rover through the haven's 48 h; the
report names that dark period, the Wh short and the haven, and its feasible alternative, re-run, flies.
"""

import dataclasses

import numpy as np
import pytest

from tests.rover.test_planner import flat_dem, light_of, xy  # noqa: E402

from lupex.mission import campaign as C  # noqa: E402
from lupex.mission import feasibility as F  # noqa: E402
from lupex.rover import scheduler as S  # noqa: E402
from lupex.rover import survival  # noqa: E402
from lupex.rover.vehicle import RoverParams  # noqa: E402

N = 12
LUNATION_H, LIT_H, HAVEN_DARK_H = 708, 354, 48
START = "2027-01-01T00:00:00"


def lunation_light(days: int):
    nt = days * 24
    k = np.arange(nt)
    ph = k % LUNATION_H
    sun = np.zeros((nt, N, N), np.uint8)
    sun[ph < LIT_H] = 255
    sun[:, :3, :3] = np.where((ph >= LIT_H) & (ph < LIT_H + HAVEN_DARK_H), 0, 255)[:, None, None]
    earth = np.zeros_like(sun)
    earth[(k // 12) % 2 == 0] = 255
    return light_of(sun, earth)


def params(days: float) -> C.CampaignParams:
    return C.CampaignParams(duration_days=days, haven_margin_wh=200.0, haven_margin_h=1.0, feasibility_search_s=60.0)


def stops(dem):
    way = [xy(dem, 6, 6), xy(dem, 8, 9)]
    drills = [xy(dem, 9, 5), xy(dem, 5, 10)]
    return way, drills


def assert_survives(tl, light, rover):
    """The invariants of the module notes, on the timeline's trace."""
    tr = tl.trace
    b = rover.battery
    assert (tr["soc_end"] >= b.soc_min - 1e-9).all()
    dt_h = (tr["end_utc"] - tr["start_utc"]).dt.total_seconds().to_numpy() / 3600
    e = b.soc_initial * b.capacity_wh
    for s, ld, h in zip(tr["solar_w"], tr["load_w"], dt_h):
        net = s - ld
        e = min(e + net * h * b.charge_efficiency, b.soc_max * b.capacity_wh) if net >= 0 else e + net * h / b.discharge_efficiency
        assert e >= b.soc_min * b.capacity_wh - 1e-6
    dark = ((tr["sun_fraction"] <= 0) & (tr["mode"] == "hibernate")).to_numpy()   # parked through the dark
    cell = tr["row"].to_numpy() * 10_000 + tr["col"].to_numpy()
    new = np.r_[True, (cell[1:] != cell[:-1]) | (dark[1:] != dark[:-1])]
    starts = np.flatnonzero(new & dark)
    assert starts.size >= 1, "the test must cross at least one dark period"
    times = np.asarray(light.times)
    for i in starts:
        r, c = int(tr["row"].iloc[i]), int(tr["col"].iloc[i])
        t0 = np.datetime64(tr["start_utc"].iloc[i], "ns")
        j = int(np.searchsorted(times, t0))
        res = survival.survive(times[j:], light.sun[j:, r, c] / 255.0, light.sun_azimuth_deg[j:],
                               light.sun_elevation_deg[j:], params=rover, soc0=float(tr["soc_start"].iloc[i]))
        assert res.periods and res.periods[0].verdict != "fails", (str(t0), r, c, res.periods[0])
    return starts


def test_six_month_plan_is_feasible_and_every_night_is_spent_at_a_surviving_haven():
    dem = flat_dem(N)
    light = lunation_light(182)
    rover = RoverParams()
    p = params(180.0)
    way, drills = stops(dem)
    tl, err, _, _, fail = C._schedule(dem, light, rover, xy(dem, 6, 5), START, p, way, drills)
    assert tl is not None, err
    feas = F.assess("strategy", tl, err, fail)
    assert feas.status == "flown" and feas.flown
    starts = assert_survives(tl, light, rover)
    # six lunations: the rover met (at least) six dark periods, each at the haven corner
    tr = tl.trace
    at_dark = tr.iloc[starts]
    assert len(at_dark) >= 6 and ((at_dark["row"] < 3) & (at_dark["col"] < 3)).all()
    hours = tr.assign(h=(tr["end_utc"] - tr["start_utc"]).dt.total_seconds() / 3600).groupby("mode")["h"].sum()
    assert hours["drill"] == pytest.approx(2 * p.drill_h) and hours["science"] == pytest.approx(2 * p.science_h)
    # legs to stops start with the Earth in view (campaign.command_wait_h; Earth is in view every 24 h here)
    legs = [next(q for q in legs if q.mode == "drive") for legs in tl.plans if legs]
    assert legs
    for q in legs:   # the light series starts at START, the window is the whole grid, ticks of 20 s
        r, c = divmod(q.cell_from, N)
        assert light.earth[q.t0 * 20 // 3600, r, c] >= 128


def test_infeasible_plan_names_the_binding_night_and_a_feasible_alternative():
    dem = flat_dem(N)
    light = lunation_light(40)
    small = RoverParams(battery=dataclasses.replace(RoverParams().battery, capacity_wh=1500.0))
    p = params(38.0)
    way, drills = stops(dem)
    tl, err, _, _, fail = C._schedule(dem, light, small, xy(dem, 6, 5), START, p, way, drills)
    assert tl is None and fail is not None
    feas = F.assess("strategy", tl, err, fail, dem=dem, light=light, rover=small, start_xy=xy(dem, 6, 5),
                    start_utc=START, params=p)
    assert feas.status == "infeasible" and not feas.flown
    b = feas.binding
    # the binding constraint: the haven's 48 h night, starting 354 h after the start, energy short by what the
    # hibernation load needs over the usable battery less the margin (computed here from the vehicle's numbers)
    assert b["kind"] == "energy"
    assert b["haven_dark_start_utc"] == str(np.datetime64(START) + np.timedelta64(LIT_H, "h"))[:19]
    assert b["haven_dark_h"] == pytest.approx(HAVEN_DARK_H)
    bat = small.battery
    usable_wh = (bat.soc_max - bat.soc_min) * bat.capacity_wh - p.haven_margin_wh
    need_wh = HAVEN_DARK_H * b["hibernate_w"] / bat.discharge_efficiency
    assert b["haven_short_wh"] == pytest.approx(need_wh - usable_wh, rel=1e-6) and b["haven_short_wh"] > 0
    assert b["haven_row"] < 3 and b["haven_col"] < 3
    assert "short" in feas.message and "2027-01-15T18:00:00" in feas.message
    best = feas.best_alternative
    assert best is not None and best.change == "bigger battery"
    cap = best.settings["vehicle.battery.capacity_wh"]
    assert cap > bat.capacity_wh
    line = F.feasibility_line({"strategy": feas})
    assert "INFEASIBLE" in line and f"vehicle.battery.capacity_wh={cap:g}" in line and "Wh short" in line
    # re-run with the alternative: it flies, and survives every night
    bigger = RoverParams(battery=dataclasses.replace(bat, capacity_wh=cap))
    tl2 = C.schedule_goals(dem, light, bigger, xy(dem, 6, 5), START, p, fail["goals"])
    assert_survives(tl2, light, bigger)
    fields = feas.score_fields()
    assert fields["timeline_flown"] is False and fields["timeline_status"] == "infeasible"
    assert fields["timeline_binding_short_wh"] > 0 and "capacity_wh" in fields["timeline_feasible_alternative"]


def test_work_in_a_cold_trap_on_the_battery_then_egress():
    """A stop in permanent shadow (a 3 x 3 cold trap), everything else always lit: the science and drilling
    there run on the battery (no sunlight ever comes), the rover keeps what the drive out needs and leaves
    to a haven; it never hibernates in the trap and the state of charge stays above soc_min."""
    dem = flat_dem(N)
    nt = 4 * 24
    sun = np.full((nt, N, N), 255, np.uint8)
    sun[:, 8:11, 8:11] = 0
    light = light_of(sun)
    rover = RoverParams()
    tl = C.schedule_goals(dem, light, rover, xy(dem, 5, 5), START, params(3.0),
                          [S.Goal(*xy(dem, 9, 9), science_h=2.0, drill_h=3.0, name="trap")])
    tr = tl.trace
    h = (tr["end_utc"] - tr["start_utc"]).dt.total_seconds().to_numpy() / 3600
    in_trap = (tr["row"].between(8, 10) & tr["col"].between(8, 10)).to_numpy()
    work = tr["mode"].isin(["science", "drill"]).to_numpy()
    assert h[work & in_trap].sum() == pytest.approx(5.0) and (tr.loc[work, "sun_fraction"] == 0).all()
    assert not (in_trap & (tr["mode"] == "hibernate").to_numpy()).any()
    assert not in_trap[-1]                                    # it drove out again
    assert h[in_trap].sum() < 8.0                             # in and out: work + the drives, no waiting
    assert (tr["soc_end"] >= rover.battery.soc_min - 1e-9).all()
