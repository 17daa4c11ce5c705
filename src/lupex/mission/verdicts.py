"""Mission verdicts: each requirement of the mission judged PASS / AT RISK / FAIL from a run's phase results.

"Bad news goes first": the report opens with these, ``lupex run`` prints them and
``manifest.json`` holds them. :func:`mission_verdicts` is a pure function of the
phase results that :func:`lupex.mission.run.run_mission` holds at its end; a phase
that did not run (``None``) gives ``NOT RUN``, never ``PASS``.

Requirements: what is measured, and against what
------------------------------------------------
* **Payload landed**: the budget's deliverable surface payload
  (:class:`lupex.mission.budget.Budget`) vs >= 350 kg (LUPEX, docs/REFERENCES.md#lupex-mission);
  FAIL names the shortfall ("short by N kg") and the launch mass a closing
  vehicle would need. AT RISK also when the landing Monte Carlo burns more
  propellant than the budget gives powered descent and hover plus what is left.
* **Landing accuracy**: the larger of the landing Monte Carlo's 3-sigma semi-major
  axis and its p99 miss distance vs 100 m (SLIM's pinpoint goal,
  docs/REFERENCES.md#slim); every descent must touch down within the limits (FAIL
  otherwise). AT RISK beyond the verified-safe landing disk
  (``lander.landing_radius_m``) or with fewer than ``min_landing_runs`` descents.
* **Night survival**: every dark period at the rover's spots: the rover phase's
  drill site (``rover_survival.csv``; FAIL names the first period that "fails"
  or has a negative margin, AT RISK for "marginal" ones,
  :mod:`lupex.rover.survival`) and the six-month timeline's trace (battery above
  its floor, each thermal node above its survival temperature).
* **Earth contact**: on the six-month timeline, the share of time with at least
  the comms threshold of Earth's disk in view and the longest blackout, vs
  ``earth_min_pct`` and ``earth_max_blackout_h`` (the landing site's statistics
  when there is no timeline).
* **Six-month timeline**: each plan's timeline built, every goal reached, the span
  at least ``campaign.duration_days`` (LUPEX ~6 months).
* **Water found**: the adaptive plan's drill hit rate and the share of the true
  ice mass its maps locate; FAIL when no drill hits ice, nothing is located, or
  the area holds no ice within reach; AT RISK below ``water_at_risk_frac``.
* **Samples analysed**: drilled intervals with LTGA, TRITON, ADORE and ISAP
  values; FAIL when none, AT RISK when a site has no fully analysed sample or a
  hole was stopped by a rock.

AT RISK thresholds (:class:`VerdictParams`, each with its source or stated
assumption): a requirement met with less than ``margin_frac`` (10 %) of its limit
to spare is AT RISK, and the cases above. The overall verdict is the worst one
(FAIL > AT RISK > NOT RUN > PASS) with its binding constraint.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from lupex.mission.feasibility import feasibility_line
from lupex.params import ASSUMED, param

PASS, AT_RISK, FAIL, NOT_RUN = "PASS", "AT RISK", "FAIL", "NOT RUN"
STATUSES = (FAIL, AT_RISK, NOT_RUN, PASS)  # worst first
_RANK = {s: i for i, s in enumerate(STATUSES)}


@dataclass(frozen=True)
class Verdict:
    """One mission requirement judged from a run."""

    requirement: str
    measured: str
    required: str
    status: str  # PASS | AT RISK | FAIL | NOT RUN
    binding_constraint: str
    section_anchor: str  # id of the report section with the evidence
    detail: str = ""

    def to_dict(self) -> dict:
        """Return the verdict as a plain dict (manifest.json)."""
        return asdict(self)


@dataclass(frozen=True)
class VerdictParams:
    """Limits and AT RISK thresholds of the verdicts; each field has unit, meaning and source."""

    margin_frac: float = param(0.10, "-", "a requirement met with less than this fraction of its limit to spare is AT RISK",
                            f"{ASSUMED}: 10 %, the usual early-design margin (ESA margin philosophy uses 5-20 %)")
    landing_goal_m: float = param(100.0, "m", "landing accuracy goal: 3-sigma touchdown dispersion radius",
                               "SLIM pinpoint-landing goal 100 m (docs/REFERENCES.md#slim)")
    landing_radius_m: float = param(50.0, "m", "radius of the verified-safe landing disk around the target",
                                 "lupex config lander.landing_radius_m (the run passes its own)")
    min_success_rate: float = param(1.0, "-", "share of Monte Carlo descents that must touch down within the limits",
                                 f"{ASSUMED}: every simulated descent; one failure in a few hundred is a FAIL")
    min_landing_runs: int = param(20, "-", "fewer Monte Carlo descents than this make a passing landing verdict AT RISK",
                               f"{ASSUMED}: with 20 descents a dispersion's sigma is known to about +-35 % (95 %, "
                               "chi-square); the default run flies 20")
    earth_min_pct: float = param(50.0, "%", "share of the surface time with Earth in view (direct-to-Earth link)",
                              f"{ASSUMED}: half the time, as the best ridge sites offer (Bryant 2009: 51 % DTE)")
    earth_max_blackout_h: float = param(360.0, "h", "longest time without Earth in view",
                                     f"{ASSUMED}: half a lunation (15 d), one libration trough waited out autonomously")
    earth_threshold: float = param(0.5, "fraction 0-1", "Earth counts as in view at this fraction of its disk",
                                "lupex vehicle.comms.earth_threshold (the run passes its own)")
    water_at_risk_frac: float = param(0.5, "-", "drill hit rate or located share of the true ice mass below this is AT RISK",
                                   f"{ASSUMED}: fewer than half the holes in ice leaves the water budget poorly sampled")
    timeline_days: float = param(180.0, "days", "surface operations the timeline must cover",
                              "LUPEX: about six months (docs/REFERENCES.md#lupex-mission); the run passes campaign.duration_days")


# ----------------------------------------------------------------------------- helpers


def _f(x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _get(obj, key, default=None):
    """``obj[key]`` for a dict / Series, ``obj.key`` otherwise; ``default`` when missing."""
    if obj is None:
        return default
    if isinstance(obj, (dict, pd.Series)):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _not_run(requirement, required, anchor, why) -> Verdict:
    return Verdict(requirement, "not measured", required, NOT_RUN, why, anchor, why)


def _margin_status(value, limit, margin_frac, *, higher_is_better=True) -> str:
    """PASS / AT RISK / FAIL of ``value`` against ``limit``: AT RISK within ``margin_frac`` of the limit."""
    if not math.isfinite(value):
        return FAIL
    if higher_is_better:
        if value < limit:
            return FAIL
        return AT_RISK if value < limit * (1.0 + margin_frac) else PASS
    if value > limit:
        return FAIL
    return AT_RISK if value > limit * (1.0 - margin_frac) else PASS


def _ts(t) -> str:
    return str(t)[:16].replace("T", " ")


def _runs_of(mask: np.ndarray, dur_h: np.ndarray) -> float:
    """Longest summed duration (h) of consecutive True entries."""
    best = cur = 0.0
    for m, d in zip(mask, dur_h):
        cur = cur + d if m else 0.0
        best = max(best, cur)
    return float(best)


# ----------------------------------------------------------------------------- one function per requirement


def payload_verdict(budget, landing_summary=None, p: VerdictParams = VerdictParams()) -> Verdict:
    """Payload landed vs the required surface payload (the launch-to-landing budget closes?)."""
    req_txt = ">= 350 kg"
    if budget is None:
        return _not_run("Payload landed", req_txt, "budget", "launch-to-landing budget not computed")
    pay = _f(budget.surface_payload_kg)
    req = _f(budget.required_surface_payload_kg)
    req_txt = f">= {req:,.0f} kg"
    measured = f"{pay:,.0f} kg"
    launch = _f(_get(getattr(budget, "params", None), "launch_mass_kg"))
    need = _f(getattr(budget, "required_launch_mass_kg", None))
    status = _margin_status(pay, req, p.margin_frac)
    if status == FAIL:
        binding = (f"DOES NOT CLOSE: short by {req - pay:,.0f} kg at {launch:,.0f} kg launch mass "
                   f"(landing {req:,.0f} kg needs {need:,.0f} kg)")
    elif status == AT_RISK:
        binding = f"launch mass {launch:,.0f} kg: {pay - req:,.0f} kg margin, under {100 * p.margin_frac:.0f} %"
    else:
        binding = f"launch mass {launch:,.0f} kg: closes with {pay - req:,.0f} kg margin"
    detail = budget.verdict() if hasattr(budget, "verdict") else ""
    # the landing Monte Carlo flies the same lander: does it burn more than the budget's descent allows?
    mc_max = _f(_get(landing_summary, "propellant_max_kg"))
    tab = getattr(budget, "table", None)
    if math.isfinite(mc_max) and isinstance(tab, pd.DataFrame) and {"phase", "stage", "propellant_kg"} <= set(tab):
        lander = tab[tab["stage"] == "lander"]
        descent = lander[lander["phase"].str.contains("Powered descent|Hover", case=False, regex=True)]
        if len(descent):
            left = _f(lander["stage_propellant_left_kg"].iloc[-1]) if "stage_propellant_left_kg" in lander else 0.0
            avail = float(descent["propellant_kg"].sum()) + max(left, 0.0)
            detail += (f"; landing Monte Carlo burns up to {mc_max:,.0f} kg vs {avail:,.0f} kg budgeted for "
                       "powered descent and hover plus what is left")
            if mc_max > avail and status == PASS:
                status = AT_RISK
                binding = (f"descent propellant: the landing Monte Carlo needs up to {mc_max:,.0f} kg, the budget "
                           f"allows {avail:,.0f} kg")
    return Verdict("Payload landed", measured, req_txt, status, binding, "budget", detail)


def landing_verdict(landing_summary, p: VerdictParams = VerdictParams()) -> Verdict:
    """Landing accuracy: 3-sigma touchdown dispersion vs the 100 m goal and the safe-disk radius."""
    req_txt = f"3-sigma <= {p.landing_goal_m:.0f} m, every descent safe"
    if landing_summary is None:
        return _not_run("Landing accuracy", req_txt, "landing", "landing Monte Carlo not run")
    major = _f(_get(landing_summary, "ellipse_3sigma_major_m"))
    p99 = _f(_get(landing_summary, "landing_error_p99_m"))
    n = int(_f(_get(landing_summary, "n_runs", 0)) or 0)
    ok_rate = _f(_get(landing_summary, "success_rate"))
    disp = np.nanmax([major, p99]) if (math.isfinite(major) or math.isfinite(p99)) else float("nan")
    which = "3-sigma" if not (p99 > major) else "p99 miss"
    measured = f"{disp:,.1f} m {which}, {round(ok_rate * n)} of {n} descents safe"
    failures = _get(landing_summary, "failures", {}) or {}
    if not (ok_rate >= p.min_success_rate):
        causes = ", ".join(f"{k}: {v}" for k, v in dict(failures).items()) or "unknown cause"
        return Verdict("Landing accuracy", measured, req_txt, FAIL,
                       f"{100 * (1 - ok_rate):.0f}% of descents broke the touchdown limits ({causes})", "landing",
                       f"p99 miss {p99:.1f} m, 3-sigma semi-major {major:.1f} m")
    status = _margin_status(disp, p.landing_goal_m, p.margin_frac, higher_is_better=False)
    if status == FAIL:
        binding = f"dispersion {disp:,.1f} m beyond the {p.landing_goal_m:.0f} m goal"
    elif disp > p.landing_radius_m:
        status = AT_RISK
        binding = f"dispersion {disp:,.1f} m leaves the {p.landing_radius_m:.0f} m verified-safe landing disk"
    elif status == AT_RISK:
        binding = f"dispersion {disp:,.1f} m within {100 * p.margin_frac:.0f} % of the {p.landing_goal_m:.0f} m goal"
    else:
        binding = f"dispersion {disp:,.1f} m inside the {p.landing_radius_m:.0f} m safe disk"
    detail = (f"3-sigma ellipse {major:.1f} x {_f(_get(landing_summary, 'ellipse_3sigma_minor_m')):.1f} m, "
              f"p99 miss distance {p99:.1f} m over {n} descents")
    if 0 < n < p.min_landing_runs:
        detail += f"; only {n} descents: the dispersion is poorly estimated"
        if status == PASS:
            status = AT_RISK
            binding = f"only {n} Monte Carlo descents ({binding})"
    return Verdict("Landing accuracy", measured, req_txt, status, binding, "landing", detail)


def survival_verdict(survival: pd.DataFrame | None, timelines: dict | None = None, *, soc_min: float = float("nan"),
                     survival_min_k: dict | None = None) -> Verdict:
    """Return the verdict on surviving every dark period at the rover's spots.

    Survival of every dark period at the rover's spots: the drill site's periods (rover phase) and the
    six-month timeline's trace (battery floor ``soc_min``; ``survival_min_k``: lowest survival temperature (K)
    per thermal node, ``{"electronics": K, "battery": K}``). When a timeline was flown it decides the
    verdict: a drill-site night it could not host is noted, not failed (the timeline leaves before dark).

    Parameters
    ----------
    survival : pandas.DataFrame or None
        The rover phase's dark periods at the drill site (:attr:`lupex.mission.rover_phase.RoverResult.survival`),
        one row each: ``start``, ``end`` (UTC), ``duration_h`` (h), ``margin_wh`` (Wh above the floor, negative
        when short) and ``verdict`` (``"survives"``, ``"marginal"``, ``"fails"``); None without a rover phase.
    timelines : dict, optional
        Plan name -> :class:`lupex.rover.scheduler.Timeline` or None (not flown); its ``trace`` gives
        ``soc_end`` (fraction 0-1) and ``<node>_min_k`` (K) per interval.
    soc_min : float, optional
        The battery floor, fraction of capacity 0-1; NaN (default) skips the timeline's battery check.
    survival_min_k : dict, optional
        Thermal node name -> lowest survival temperature, K (e.g. ``{"electronics": 233.0}``); None checks
        no temperature.

    Returns
    -------
    Verdict
        ``Night survival``: FAIL on any dark period short of energy or too cold, AT RISK on a marginal one,
        PASS otherwise, NOT RUN without either input.
    """
    req_txt = "every dark period survived"
    if survival is None and not timelines:
        return _not_run("Night survival", req_txt, "rover", "rover phase and campaign timeline not run")
    fails, marginal, n = [], [], 0
    if survival is not None and len(survival):
        n = len(survival)
        for _, r in survival.iterrows():
            desc = (f"dark period {_ts(r['start'])} to {_ts(r['end'])} ({_f(r['duration_h']):.0f} h) at the drill site: "
                    f"margin {_f(r['margin_wh']) / 1000:+.1f} kWh")
            if r["verdict"] == "fails" or _f(r["margin_wh"]) < 0:
                fails.append(desc)
            elif r["verdict"] == "marginal":
                marginal.append(desc)
    tl_notes = []
    for name, tl in (timelines or {}).items():
        if tl is None:
            continue
        tr = tl.trace
        lo_soc = float(tr["soc_end"].min())
        lo_k = float(min(tr["electronics_min_k"].min(), tr["battery_min_k"].min()))
        tl_notes.append(f"{name} timeline: min SoC {100 * lo_soc:.0f}%, coldest node {lo_k:.1f} K")
        if math.isfinite(soc_min) and lo_soc < soc_min - 1e-6:
            fails.append(f"{name} timeline: battery at {100 * lo_soc:.0f}% below its {100 * soc_min:.0f}% floor")
        for node, limit in (survival_min_k or {}).items():
            col = f"{node}_min_k"
            if col in tr and float(tr[col].min()) < limit - 1e-6:
                fails.append(f"{name} timeline: {node} at {float(tr[col].min()):.1f} K, below its {limit:.1f} K "
                             "survival limit")
    measured = (f"{n - len([f for f in fails if 'drill site' in f])} of {n} nights survived at the drill site"
                if n else "no night at the drill site")
    flown = [name for name, tl in (timelines or {}).items() if tl is not None]
    if flown:
        # the six-month timeline is the operations plan: it parks every dark period at a haven judged on that
        # period, so a drill site that could not host a night is a place the rover leaves before dark (noted),
        # not a lost rover; the verdict is the timelines' battery and temperatures
        site_notes = [f"{f} (the timeline leaves it before dark)" for f in fails + marginal if "drill site" in f]
        fails = [f for f in fails if "drill site" not in f]
        marginal = [f for f in marginal if "drill site" not in f]
        measured = "; ".join(tl_notes) + (f"; {n} dark periods at the drill site not hosted" if site_notes else "")
        tl_notes = tl_notes + site_notes
    detail = "; ".join(fails + marginal + tl_notes)
    if fails:
        return Verdict("Night survival", measured, req_txt, FAIL, fails[0], "rover", detail)
    if marginal:
        return Verdict("Night survival", measured, req_txt, AT_RISK, marginal[0] + " (below the required margin)",
                       "rover", detail)
    return Verdict("Night survival", measured, req_txt, PASS, "every dark period with margin", "rover", detail)


def _timeline_earth(tl, threshold: float):
    tr = tl.trace
    dur_h = (pd.to_datetime(tr["end_utc"]) - pd.to_datetime(tr["start_utc"])).dt.total_seconds().to_numpy() / 3600.0
    seen = tr["earth_fraction"].to_numpy(float) >= threshold - 1e-9
    return 100.0 * float(dur_h[seen].sum() / dur_h.sum()), _runs_of(~seen, dur_h)


def earth_verdict(timelines: dict | None, best_site=None, p: VerdictParams = VerdictParams()) -> Verdict:
    """Return the verdict on Earth contact.

    Earth contact: share of the time with Earth in view and the longest blackout (the six-month timeline's
    trace at the rover's positions; the landing site's statistics when there is no timeline).
    """
    req_txt = f">= {p.earth_min_pct:.0f}% in view, blackouts <= {p.earth_max_blackout_h:.0f} h"
    tls = {k: v for k, v in (timelines or {}).items() if v is not None}
    if tls:
        per = {k: _timeline_earth(v, p.earth_threshold) for k, v in tls.items()}
        name = min(per, key=lambda k: (per[k][0], -per[k][1]))
        pct, blackout = per[name]
        where, anchor = f"{name} timeline", "campaign"
    elif best_site is not None:
        pct = _f(_get(best_site, "earth_visible_pct"))
        blackout = float("nan")
        where, anchor = "landing site over the analysed span", "earth"
    else:
        return _not_run("Earth contact", req_txt, "earth", "no site statistics and no timeline")
    measured = f"{pct:.0f}% in view" + (f", longest blackout {blackout:,.0f} h" if math.isfinite(blackout) else "")
    s_pct = _margin_status(pct, p.earth_min_pct, p.margin_frac)
    s_bo = _margin_status(blackout, p.earth_max_blackout_h, p.margin_frac, higher_is_better=False) \
        if math.isfinite(blackout) else PASS
    status = min((s_pct, s_bo), key=_RANK.get)
    if status == PASS:
        binding = f"{where}: within limits"
    elif (_RANK[s_bo] < _RANK[s_pct]) or (s_bo == s_pct and math.isfinite(blackout)
                                         and blackout / p.earth_max_blackout_h > p.earth_min_pct / max(pct, 1e-9)):
        binding = f"{where}: {blackout:,.0f} h without Earth vs {p.earth_max_blackout_h:.0f} h allowed"
    else:
        binding = f"{where}: Earth in view {pct:.0f}% of the time vs {p.earth_min_pct:.0f}% required"
    detail = "; ".join(f"{k}: {v[0]:.0f}% in view, longest blackout {v[1]:,.0f} h" for k, v in
                       (per.items() if tls else [])) or f"landing site: Earth in view {pct:.0f}% of the span"
    return Verdict("Earth contact", measured, req_txt, status, binding, anchor, detail)


def timeline_verdict(campaign, p: VerdictParams = VerdictParams()) -> Verdict:
    """Six-month timeline: both plans scheduled over the campaign's span, every goal reached."""
    req_txt = f"{p.timeline_days:.0f} days, every goal, both plans"
    if campaign is None:
        return _not_run("Six-month timeline", req_txt, "campaign", "campaign not run")
    if getattr(getattr(campaign, "params", None), "schedule", True) is False:
        return _not_run("Six-month timeline", req_txt, "campaign", "campaign.schedule = false: no timeline built")
    problems, notes = [], []
    for name, plan in campaign.plans.items():
        tl = plan.timeline
        if tl is None:
            problems.append(f"{name}: no timeline ({plan.schedule_error or 'not scheduled'})")
            continue
        a = tl.activities
        days = float((pd.Timestamp(a["end_utc"].iloc[-1]) - pd.Timestamp(a["start_utc"].iloc[0])).total_seconds()
                     / 86400.0)
        goals = tuple(plan.goal_times)
        reached = sum(1 for t in goals if t)
        notes.append(f"{name} {days:.0f} d, {reached}/{len(goals)} goals")
        if reached < len(goals):
            problems.append(f"{name}: {len(goals) - reached} of {len(goals)} goals never reached")
        if days < p.timeline_days * (1 - 1e-6):
            problems.append(f"{name}: timeline covers {days:.0f} of {p.timeline_days:.0f} days")
    measured = "; ".join(notes) or "no timeline"
    feas = getattr(campaign, "feasibility", None) or {}
    if any(getattr(f, "status", "") == "infeasible" for f in feas.values()):
        # the binding dark period, Wh short, the haven out of reach, and the nearest feasible alternative
        line = feasibility_line(feas)
        return Verdict("Six-month timeline", measured, req_txt, FAIL, line, "campaign",
                       "; ".join(problems + notes))
    if problems:
        return Verdict("Six-month timeline", measured, req_txt, FAIL, problems[0], "campaign",
                       "; ".join(problems + notes))
    return Verdict("Six-month timeline", measured, req_txt, PASS, "every plan reaches every goal", "campaign",
                   "; ".join(notes))


def water_verdict(campaign, p: VerdictParams = VerdictParams()) -> Verdict:
    """Water found: the adaptive plan's drills in ice, and the share of the true ice mass its maps locate."""
    req_txt = "drills in ice, ice located"
    if campaign is None:
        return _not_run("Water found", req_txt, "campaign", "campaign not run")
    if getattr(getattr(campaign, "params", None), "drills", 1) == 0:
        return _not_run("Water found", req_txt, "campaign", "campaign.drills = 0: no hole drilled to confirm water")
    sc = campaign.scores.set_index("plan")
    plan = "strategy" if "strategy" in sc.index else sc.index[0]
    row = sc.loc[plan]
    hit = _f(row.get("drill_hit_rate"))
    n = int(_f(row.get("drill_n_drills", 0)) or 0)
    located = _f(row.get("ice_mass_located"))
    true_cells = int(_f(row.get("true_ice_cells", 0)) or 0)
    measured = (f"{100 * hit:.0f}% of {n} drills in ice" if math.isfinite(hit) else "no drill") + \
        (f", {100 * located:.0f}% of ice located" if math.isfinite(located) else "")
    others = "; ".join(f"{k}: hit rate {100 * _f(r.get('drill_hit_rate')):.0f}%, located "
                       f"{100 * _f(r.get('ice_mass_located')):.0f}%" for k, r in sc.iterrows())
    if true_cells == 0:
        return Verdict("Water found", measured, req_txt, FAIL, "the campaign area holds no ice within drill reach",
                       "campaign", others)
    # scores of a plan that cannot be flown are never shown as if it flew
    flown = campaign.plans.get(plan) if hasattr(campaign, "plans") else None
    scheduled = getattr(getattr(campaign, "params", None), "schedule", True) is not False
    if flown is not None and scheduled and flown.timeline is None:
        return Verdict("Water found", f"not flown ({measured} if it could be)", req_txt, FAIL,
                       f"{plan} plan cannot be flown: no survivable six-month timeline "
                       f"({flown.schedule_error or 'not scheduled'}); its drills are hypothetical", "campaign", others)
    goals = getattr(flown, "goals", None)
    if flown is not None and scheduled and isinstance(goals, pd.DataFrame) and len(goals) \
            and {"name", "arrival_utc"} <= set(goals.columns):
        drills = goals[goals["name"].astype(str).str.startswith("drill")]
        missed = int((drills["arrival_utc"].astype(str) == "").sum())
        if missed:
            return Verdict("Water found", measured, req_txt, AT_RISK,
                           f"{plan} plan: {missed} of {len(drills)} drill sites never reached in its timeline",
                           "campaign", others)
    if n == 0 or not math.isfinite(hit) or hit <= 0:
        return Verdict("Water found", measured, req_txt, FAIL,
                       f"{plan} plan: no drill hit ice ({n} drills)", "campaign", others)
    if not (located > 0):
        return Verdict("Water found", measured, req_txt, FAIL, f"{plan} plan: its maps locate none of the ice",
                       "campaign", others)
    if hit < p.water_at_risk_frac:
        return Verdict("Water found", measured, req_txt, AT_RISK,
                       f"{plan} plan: only {100 * hit:.0f}% of drills in ice", "campaign", others)
    if located < p.water_at_risk_frac:
        return Verdict("Water found", measured, req_txt, AT_RISK,
                       f"{plan} plan: maps locate only {100 * located:.0f}% of the ice mass", "campaign", others)
    return Verdict("Water found", measured, req_txt, PASS, f"{plan} plan finds and drills ice", "campaign", others)


_SAMPLE_INSTRUMENTS = {"LTGA": "ltga_water_wt_pct", "TRITON": "triton_water_wt_pct", "ADORE": "adore_water_wt_pct",
                       "ISAP": "isap_ice_wt_pct"}


def samples_verdict(drilling) -> Verdict:
    """Samples analysed: every drilled site delivered samples that LTGA, TRITON, ADORE and ISAP measured."""
    req_txt = "every site's samples through " + ", ".join(_SAMPLE_INSTRUMENTS)
    if drilling is None:
        return _not_run("Samples analysed", req_txt, "drilling", "drilling not run")
    t = drilling.table
    n_sites = int(len(drilling.sites))
    if not len(t):
        return Verdict("Samples analysed", f"0 samples from {n_sites} sites", req_txt, FAIL,
                       "no sample was delivered", "drilling")
    finite = {k: np.isfinite(t[c].to_numpy(float)) if c in t else np.zeros(len(t), bool)
              for k, c in _SAMPLE_INSTRUMENTS.items()}
    all_ok = np.logical_and.reduce(list(finite.values()))
    sites_with = set(t.loc[all_ok, "site"]) if "site" in t else set()
    measured = f"{int(all_ok.sum())}/{len(t)} intervals, {len(sites_with)}/{n_sites} sites fully analysed"
    missing = [k for k, v in finite.items() if not v.any()]
    detail = "; ".join(f"{k}: {int(v.sum())} of {len(t)} intervals" for k, v in finite.items())
    if not all_ok.any():
        why = f"no interval measured by {', '.join(missing) or 'every instrument'}"
        return Verdict("Samples analysed", measured, req_txt, FAIL, why, "drilling", detail)
    rock = drilling.sites.get("stopped_by_rock", pd.Series(dtype=bool)).astype(bool)
    if len(sites_with) < n_sites or missing:
        why = f"{n_sites - len(sites_with)} of {n_sites} sites without a fully analysed sample"
        return Verdict("Samples analysed", measured, req_txt, AT_RISK, why, "drilling", detail)
    if rock.any():
        return Verdict("Samples analysed", measured, req_txt, AT_RISK,
                       f"{int(rock.sum())} of {n_sites} holes stopped by a rock", "drilling", detail)
    return Verdict("Samples analysed", measured, req_txt, PASS, "every site analysed", "drilling", detail)


# ----------------------------------------------------------------------------- all of them


def mission_verdicts(*, site=None, landing=None, budget=None, rover=None, survey=None, drilling=None, campaign=None,
                     params: VerdictParams = VerdictParams(), soc_min: float = float("nan"),
                     survival_min_k: dict | None = None) -> list[Verdict]:
    """Return one :class:`Verdict` per mission requirement, payload first.

    One :class:`Verdict` per mission requirement, in the order of the mission (payload first); a phase given
    as ``None`` (skipped by the config) makes its requirements NOT RUN.

    Parameters
    ----------
    site : lupex.mission.site_analysis.SiteAnalysis or None
        Its ``sites`` table's first row is the landing site (Earth statistics when there is no timeline).
    landing : lupex.mission.landing_phase.LandingResult or None
        Its ``summary`` (landing Monte Carlo statistics, m and kg).
    budget : lupex.mission.budget.Budget or None
        Launch-to-landing mass budget (kg).
    rover : lupex.mission.rover_phase.RoverResult or None
        Its ``survival`` table: one row per dark period at the first drill site (h, Wh).
    survey : lupex.mission.survey.SurveyResult or None
        Not judged on its own (its numbers feed the campaign); accepted so callers hand over every phase.
    drilling : lupex.mission.drilling.DrillingResult or None
        The drilled intervals with each instrument's measurement (wt%).
    campaign : lupex.mission.campaign.CampaignResult or None
        Plans with their six-month timelines and scores.
    params : VerdictParams
        Limits and AT RISK thresholds.
    soc_min : float
        The rover's battery floor (fraction of capacity) for the timeline trace.
    survival_min_k : dict
        Lowest survival temperature (K) per thermal node of the timeline trace (``electronics``, ``battery``).
    """
    summ = getattr(landing, "summary", None) if landing is not None else None
    timelines = {k: pl.timeline for k, pl in campaign.plans.items()} if campaign is not None else {}
    best = site.sites.iloc[0] if site is not None and len(getattr(site, "sites", ())) else None
    return [
        payload_verdict(budget, summ, params),
        landing_verdict(summ, params),
        survival_verdict(rover.survival if rover is not None else None, timelines, soc_min=soc_min,
                         survival_min_k=survival_min_k),
        earth_verdict(timelines, best, params),
        timeline_verdict(campaign, params),
        water_verdict(campaign, params),
        samples_verdict(drilling),
    ]


def worst_first(verdicts) -> list[Verdict]:
    """The verdicts sorted FAIL, AT RISK, NOT RUN, PASS (stable within a status)."""
    return sorted(verdicts, key=lambda v: _RANK[v.status])


def overall(verdicts) -> Verdict:
    """The mission's verdict: the worst one, carrying its binding constraint."""
    vs = list(verdicts)
    if not vs:
        return Verdict("Mission", "nothing judged", "every requirement", NOT_RUN, "no requirement judged", "summary")
    w = worst_first(vs)[0]
    counts = ", ".join(f"{sum(v.status == s for v in vs)} {s}" for s in STATUSES if any(v.status == s for v in vs))
    return Verdict("Mission", counts, "every requirement", w.status, f"{w.requirement}: {w.binding_constraint}",
                   w.section_anchor, w.detail)


def verdicts_json(verdicts) -> dict:
    """``{"verdicts": [...], "overall": {...}}`` for manifest.json."""
    return {"verdicts": [v.to_dict() for v in verdicts], "overall": overall(verdicts).to_dict()}


def run_verdicts(cfg, **phases) -> list[Verdict]:
    """Return :func:`mission_verdicts` with the limits of a run's configuration.

    The limits taken from ``cfg`` (a ``lupex.config.Config``): the safe landing radius, the campaign's
    duration, the rover's battery floor, survival temperatures and Earth threshold. ``phases``: the keywords of :func:`mission_verdicts` (site, landing, budget, rover, survey,
    drilling, campaign).
    """
    v = cfg.vehicle
    params = dataclasses.replace(VerdictParams(), landing_radius_m=float(cfg.lander.landing_radius_m),
                                 timeline_days=float(cfg.campaign.duration_days),
                                 earth_threshold=float(v.comms.earth_threshold))
    return mission_verdicts(**phases, params=params, soc_min=float(v.battery.soc_min),
                            survival_min_k={"electronics": float(v.thermal.electronics.survival_min_k),
                                            "battery": float(v.thermal.battery.survival_min_k)})
