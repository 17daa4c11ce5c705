"""Mission verdicts (lupex.mission.verdicts): the logic on constructed inputs, then a quick run's verdicts
against its own files, its manifest, its report and the CLI's table."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd

from lupex.mission import verdicts as V
from lupex.mission.budget import BudgetParams, launch_to_landing_budget


# ----------------------------------------------------------------------------- constructed inputs


def fake_budget(payload_kg, required_kg=350.0, launch_kg=6000.0, need_kg=6559.0):
    return SimpleNamespace(surface_payload_kg=payload_kg, required_surface_payload_kg=required_kg,
                           params=SimpleNamespace(launch_mass_kg=launch_kg), required_launch_mass_kg=need_kg,
                           verdict=lambda: "stub budget")


def test_budget_that_does_not_close_fails_short_by_n_kg():
    v = V.payload_verdict(fake_budget(237.0))
    assert v.status == V.FAIL
    assert "short by 113 kg" in v.binding_constraint  # 350 - 237, by hand
    assert v.section_anchor == "budget"


def test_payload_margin_under_ten_percent_is_at_risk_and_above_passes():
    assert V.payload_verdict(fake_budget(370.0)).status == V.AT_RISK  # 20 kg = 5.7 % of 350
    assert V.payload_verdict(fake_budget(390.0)).status == V.PASS     # 40 kg = 11 %
    assert V.payload_verdict(fake_budget(350.0)).status == V.AT_RISK  # exactly met: no margin


def test_real_budget_sized_below_the_requirement_fails_with_its_shortfall():
    """A 5,000 kg stack cannot land 350 kg with Chandrayaan-3-class stages: the shortfall is the budget's own
    deliverable payload against 350 kg."""
    b = launch_to_landing_budget(BudgetParams(launch_mass_kg=5000.0))
    assert b.surface_payload_kg < 350.0
    v = V.payload_verdict(b)
    assert v.status == V.FAIL
    assert f"short by {350.0 - b.surface_payload_kg:,.0f} kg" in v.binding_constraint


def survival_table(rows):
    cols = ["start", "end", "duration_h", "energy_needed_wh", "min_soc", "margin_wh", "verdict"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


def test_dark_period_with_negative_margin_fails_naming_the_period():
    t = survival_table([
        (np.datetime64("2027-01-05T00:00"), np.datetime64("2027-01-06T00:00"), 24.0, 900.0, 0.8, 2500.0, "survives"),
        (np.datetime64("2027-02-03T04:00"), np.datetime64("2027-02-25T01:00"), 525.0, 14000.0, 0.2, -10300.0, "fails"),
    ])
    v = V.survival_verdict(t)
    assert v.status == V.FAIL
    assert "2027-02-03 04:00" in v.binding_constraint and "525 h" in v.binding_constraint
    assert "-10.3 kWh" in v.binding_constraint
    assert v.measured.startswith("1 of 2 nights")


def test_a_flown_timeline_decides_survival_not_the_drill_site_it_leaves():
    """The six-month timeline parks every dark period at a haven; a drill site that cannot host a night is
    noted (the rover leaves it before dark), not a lost rover. Without a timeline the drill site decides."""
    t = pd.DataFrame({"start": ["2027-01-20T06:00"], "end": ["2027-02-07T04:00"], "duration_h": [430.0],
                      "margin_wh": [-7900.0], "verdict": ["fails"]})
    assert V.survival_verdict(t).status == V.FAIL
    v = V.survival_verdict(t, {"strategy": fake_timeline([1] * 10, soc=[0.9] * 10)}, soc_min=0.2)
    assert v.status == V.PASS and "leaves it before dark" in v.detail and "min SoC 90%" in v.measured
    v = V.survival_verdict(t, {"strategy": fake_timeline([1] * 10, soc=[0.9] * 9 + [0.1])}, soc_min=0.2)
    assert v.status == V.FAIL and "below its 20% floor" in v.binding_constraint


def test_negative_margin_fails_even_when_the_row_says_survives():
    t = survival_table([(np.datetime64("2027-01-05"), np.datetime64("2027-01-06"), 24.0, 900.0, 0.2, -1.0,
                         "survives")])
    assert V.survival_verdict(t).status == V.FAIL


def test_marginal_period_is_at_risk():
    t = survival_table([(np.datetime64("2027-01-05"), np.datetime64("2027-01-09"), 96.0, 2800.0, 0.29, 366.0,
                         "marginal")])
    v = V.survival_verdict(t)
    assert v.status == V.AT_RISK and "2027-01-05" in v.binding_constraint


def fake_timeline(earth, soc=None, step_h=1.0, electronics_k=280.0, battery_k=280.0):
    n = len(earth)
    t0 = pd.Timestamp("2027-01-01")
    starts = [t0 + pd.Timedelta(hours=step_h * i) for i in range(n)]
    trace = pd.DataFrame({"start_utc": starts, "end_utc": [s + pd.Timedelta(hours=step_h) for s in starts],
                          "earth_fraction": np.asarray(earth, float), "sun_fraction": np.ones(n),
                          "soc_end": np.full(n, 0.9) if soc is None else np.asarray(soc, float),
                          "electronics_min_k": np.full(n, electronics_k), "battery_min_k": np.full(n, battery_k)})
    acts = pd.DataFrame({"start_utc": [starts[0]], "end_utc": [starts[-1] + pd.Timedelta(hours=step_h)],
                         "mode": ["standby"], "x_m": [0.0], "y_m": [0.0]})
    return SimpleNamespace(trace=trace, activities=acts)


def test_timeline_below_the_battery_floor_or_too_cold_fails():
    v = V.survival_verdict(None, {"strategy": fake_timeline([1] * 10, soc=[0.9] * 9 + [0.1])}, soc_min=0.2)
    assert v.status == V.FAIL and "10% below its 20% floor" in v.binding_constraint
    cold = fake_timeline([1] * 10, battery_k=250.0)
    v = V.survival_verdict(None, {"strategy": cold}, soc_min=0.2, survival_min_k={"battery": 253.15})
    assert v.status == V.FAIL and "battery at 250.0 K" in v.binding_constraint


def test_earth_contact_from_a_timeline_trace():
    """240 h of 1 h steps: Earth in view for the first 100 h, out for 140 h. By hand: 41.7 % in view (below 50 %),
    longest blackout 140 h."""
    tl = fake_timeline([1.0] * 100 + [0.2] * 140)
    v = V.earth_verdict({"strategy": tl}, None)
    assert v.status == V.FAIL
    assert "42% in view" in v.measured and "140 h" in v.measured
    # in view 80 % of the time but one 400 h blackout (> 360 h)
    tl = fake_timeline([1.0] * 1600 + [0.0] * 400)
    v = V.earth_verdict({"strategy": tl}, None)
    assert v.status == V.FAIL and "400 h without Earth" in v.binding_constraint


def test_landing_accuracy_thresholds():
    base = dict(n_runs=100, success_rate=1.0, landing_error_p99_m=10.0, ellipse_3sigma_minor_m=5.0, failures={})
    assert V.landing_verdict(base | {"ellipse_3sigma_major_m": 120.0}).status == V.FAIL      # > 100 m goal
    assert V.landing_verdict(base | {"ellipse_3sigma_major_m": 60.0}).status == V.AT_RISK    # > 50 m safe disk
    assert V.landing_verdict(base | {"ellipse_3sigma_major_m": 20.0}).status == V.PASS
    v = V.landing_verdict(base | {"ellipse_3sigma_major_m": 20.0, "success_rate": 0.97, "failures": {"tip_over": 3}})
    assert v.status == V.FAIL and "tip_over: 3" in v.binding_constraint
    v = V.landing_verdict(base | {"ellipse_3sigma_major_m": 20.0, "n_runs": 3})
    assert v.status == V.AT_RISK and "only 3" in v.binding_constraint


def fake_campaign(hit_rate, located=1.0, true_cells=20, timeline=True, goals=("2027-02-01", "2027-03-01")):
    scores = pd.DataFrame([dict(plan=p, drill_hit_rate=hit_rate, drill_n_drills=4, ice_mass_located=located,
                                true_ice_cells=true_cells) for p in ("strategy", "lawnmower")])
    tl = fake_timeline([1.0] * (180 * 24)) if timeline else None
    plans = {p: SimpleNamespace(timeline=tl, schedule_error="" if timeline else "no light series", goal_times=goals,
                                path_xy=np.zeros((0, 2)), drill_xy=np.zeros((0, 2)))
             for p in ("strategy", "lawnmower")}
    return SimpleNamespace(scores=scores, plans=plans)


def test_water_found():
    v = V.water_verdict(fake_campaign(0.0))
    assert v.status == V.FAIL and "no drill hit ice" in v.binding_constraint
    assert V.water_verdict(fake_campaign(0.25)).status == V.AT_RISK
    assert V.water_verdict(fake_campaign(0.75)).status == V.PASS
    assert V.water_verdict(fake_campaign(0.75, true_cells=0)).status == V.FAIL
    # a plan with no survivable timeline never scores as if it flew, however good its drills look
    v = V.water_verdict(fake_campaign(0.75, timeline=False))
    assert v.status == V.FAIL and "cannot be flown" in v.binding_constraint and v.measured.startswith("not flown")
    # drill sites its timeline never reaches put the water at risk
    c = fake_campaign(0.75)
    c.plans["strategy"].goals = pd.DataFrame({"name": ["waypoint 1", "drill 1", "drill 2"],
                                              "arrival_utc": ["2027-02-01", "2027-02-05", ""]})
    v = V.water_verdict(c)
    assert v.status == V.AT_RISK and "1 of 2 drill sites never reached" in v.binding_constraint


def test_six_month_timeline():
    assert V.timeline_verdict(fake_campaign(1.0)).status == V.PASS
    v = V.timeline_verdict(fake_campaign(1.0, timeline=False))
    assert v.status == V.FAIL and "no timeline" in v.binding_constraint
    v = V.timeline_verdict(fake_campaign(1.0, goals=("2027-02-01", "")))
    assert v.status == V.FAIL and "1 of 2 goals never reached" in v.binding_constraint


def test_infeasible_timeline_names_the_binding_dark_period_and_the_alternative():
    """Issue 17 item 3: the timeline verdict of an infeasible plan is the feasibility line: which dark period,
    how many Wh short at which haven, and the nearest feasible alternative (the settings that reproduce it)."""
    from lupex.mission.feasibility import Alternative, Feasibility

    c = fake_campaign(0.75, timeline=False)
    alt = Alternative("bigger battery", "battery 3,500 Wh", {"vehicle.battery.capacity_wh": 3500.0}, True, True)
    c.feasibility = {"strategy": Feasibility("strategy", "infeasible", "no haven",
                                             dict(kind="energy", haven_dark_start_utc="2027-04-15T20:00:00",
                                                  haven_dark_h=57.0, haven_distance_m=1009.0, haven_short_wh=420.0),
                                             (alt,)),
                     "lawnmower": Feasibility("lawnmower", "flown")}
    v = V.timeline_verdict(c)
    assert v.status == V.FAIL and "INFEASIBLE" in v.binding_constraint
    assert "57 h dark period from 2027-04-15T20:00:00" in v.binding_constraint and "420 Wh short" in v.binding_constraint
    assert "--set vehicle.battery.capacity_wh=3500" in v.binding_constraint
    assert V.water_verdict(c).status == V.FAIL   # and its water is not scored as if it flew


def test_samples_analysed():
    table = pd.DataFrame({"site": [0, 0, 1], "ltga_water_wt_pct": [1.0, 2.0, 1.0],
                          "triton_water_wt_pct": [1.0, 2.0, 1.0], "adore_water_wt_pct": [1.0, 2.0, np.nan],
                          "isap_ice_wt_pct": [1.0, 2.0, 1.0]})
    sites = pd.DataFrame({"site": [0, 1], "stopped_by_rock": [False, False]})
    v = V.samples_verdict(SimpleNamespace(table=table, sites=sites))
    assert v.status == V.AT_RISK and "1 of 2 sites" in v.binding_constraint
    table["adore_water_wt_pct"] = np.nan
    assert V.samples_verdict(SimpleNamespace(table=table, sites=sites)).status == V.FAIL
    table["adore_water_wt_pct"] = 1.0
    assert V.samples_verdict(SimpleNamespace(table=table, sites=sites)).status == V.PASS


def test_campaign_parts_switched_off_are_not_run():
    c = fake_campaign(0.0, timeline=False)
    c.params = SimpleNamespace(schedule=False, drills=0)
    assert V.timeline_verdict(c).status == V.NOT_RUN
    assert V.water_verdict(c).status == V.NOT_RUN


def test_skipped_phases_are_not_run_never_pass():
    vs = V.mission_verdicts()
    assert len(vs) == 7
    assert all(v.status == V.NOT_RUN for v in vs)
    assert V.overall(vs).status == V.NOT_RUN
    vs = V.mission_verdicts(budget=fake_budget(400.0))
    assert [v.status for v in vs].count(V.PASS) == 1
    assert V.overall(vs).status == V.NOT_RUN  # a skipped phase is worse than a pass


def test_overall_is_the_worst_with_its_binding_constraint():
    vs = [V.Verdict("a", "m", "r", V.PASS, "fine", "x"), V.Verdict("b", "m", "r", V.AT_RISK, "thin", "y"),
          V.Verdict("c", "m", "r", V.FAIL, "broken", "z"), V.Verdict("d", "m", "r", V.FAIL, "also", "w")]
    ov = V.overall(vs)
    assert ov.status == V.FAIL and ov.binding_constraint == "c: broken" and ov.section_anchor == "z"
    assert [v.requirement for v in V.worst_first(vs)] == ["c", "d", "b", "a"]
    doc = json.loads(json.dumps(V.verdicts_json(vs)))
    assert doc["overall"]["status"] == V.FAIL and len(doc["verdicts"]) == 4


# ----------------------------------------------------------------------------- a quick run


def test_quick_run_verdicts_agree_with_its_files(small_mission):
    run_dir, _calls, result = small_mission
    vs = {v.requirement: v for v in result.verdicts}
    assert len(vs) == 7 and all(v.status in V.STATUSES for v in vs.values())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["verdicts"] == [v.to_dict() for v in result.verdicts]
    assert manifest["overall"]["status"] == V.worst_first(result.verdicts)[0].status
    # the files, read without the verdict code: a failed night or a budget that does not close must show
    from lupex.config import load

    surv = pd.read_csv(run_dir / "rover_survival.csv")
    fails = (surv["verdict"] == "fails") | (surv["margin_wh"] < 0)
    scores = pd.read_parquet(run_dir / "campaign_scores.parquet")
    flown = scores[scores["timeline_flown"].fillna(False).astype(bool)] if "timeline_flown" in scores else scores[:0]
    if len(flown):   # a flown six-month timeline decides: its battery never below the floor
        floor = load(run_dir / "config.toml").vehicle.battery.soc_min
        assert (vs["Night survival"].status == V.FAIL) == bool((flown["timeline_min_soc"] < floor - 1e-6).any())
    else:            # no timeline: the drill site's own dark periods decide
        assert (vs["Night survival"].status == V.FAIL) == bool(fails.any())

    budget = launch_to_landing_budget(load(run_dir / "config.toml").budget)  # the run's own budget, again
    assert (vs["Payload landed"].status == V.FAIL) == (budget.surface_payload_kg < budget.required_surface_payload_kg)
    drills = pd.read_parquet(run_dir / "drilling.parquet")
    assert (vs["Samples analysed"].status != V.FAIL) == bool(np.isfinite(drills["triton_water_wt_pct"]).any())


def test_quick_run_report_opens_with_the_summary(small_mission):
    run_dir, calls, result = small_mission
    text = (run_dir / "report.html").read_text()
    first = text.index("<section")
    assert text[first:].startswith("<section id='summary'>"), text[first:first + 80]
    assert text.index("<section id='summary'>") < text.index("<nav>"), "the table of contents comes before the summary"
    summary = text[first:text.index("</section>", first)]
    for v in result.verdicts:
        assert v.requirement in summary
    assert summary.count("<img") == 2, "the overview map and the timeline"
    assert calls[0][0].id == "summary"


def test_cli_prints_the_verdicts_worst_first(small_mission, monkeypatch):
    from typer.testing import CliRunner

    import lupex.mission.run as mission_run
    from lupex.cli import app

    _run_dir, _calls, result = small_mission
    monkeypatch.setattr(mission_run, "run_mission", lambda cfg, progress=True, resume=False, report=None: result)
    r = CliRunner().invoke(app, ["run", "-q"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    title = next(i for i, ln in enumerate(lines) if "Mission:" in ln)
    ov = V.overall(result.verdicts)
    assert f"Mission: {ov.status}" in lines[title]
    statuses = re.findall(r"^\s*[\u2716\u25b2\u25cb\u2714] (FAIL|AT RISK|NOT RUN|PASS) ", "\n".join(lines[title + 1:]),
                          flags=re.M)
    assert statuses == [v.status for v in V.worst_first(result.verdicts)]


def test_quick_run_summary_figures_are_not_empty(small_mission):
    """The overview map and the timeline carry drawing, not a blank canvas (the browser test checks every
    figure the same way where Chromium is installed)."""
    import io

    from PIL import Image

    _run_dir, calls, _result = small_mission
    summary = calls[0][0]
    assert len(summary.figures) == 2
    for caption, png in summary.figures:
        a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
        _, counts = np.unique(a, axis=0, return_counts=True)
        assert len(counts) > 50 and counts.max() / len(a) < 0.96, (caption, len(counts), counts.max() / len(a))
