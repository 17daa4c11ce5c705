"""The campaign as a sequence of stages: set up, the adaptive plan, the lawnmower, the timelines, the scores.

:func:`run_campaign` validates its inputs and runs the stages on one BLAS thread; each stage is one named
function returning a frozen dataclass (:mod:`lupex.mission.campaign.plans`), checkpointed so a run restarted
with the same checkpoint directory continues where it stopped and ends with the same results as an
uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

# threadpool_limits caps only the BLAS libraries already loaded: scipy's (the GP fits' Cholesky) is loaded here, at
# import, so a resumed process, which reaches the campaign without the phases that import it, also fits on one BLAS
# thread. (The resume differences once blamed on this came from the neutron table, now built on one thread:
# lupex.instruments.neutron_table.load_table.)
import scipy.linalg  # noqa: F401
import xarray as xr
from threadpoolctl import threadpool_limits

from lupex.errors import ConfigError, InputError
from lupex.mission import feasibility as F
from lupex.mission.campaign.params import PLANS, CampaignParams
from lupex.mission.campaign.plans import (
    CampaignSetup,
    PlanDraft,
    lawnmower_drilling,
    lawnmower_survey,
    path_length_m,
    stage,
    strategy_drilling,
    strategy_rounds,
)
from lupex.mission.campaign.products import write_campaign
from lupex.mission.campaign.results import CampaignPlan, CampaignResult
from lupex.mission.campaign.scores import plan_scores, truth_maps
from lupex.mission.campaign.screen import Screen, area_for, check_light, reach_fraction, rover_cost, survey_centre
from lupex.mission.campaign.timeline import PlanTimeline, schedule_plan
from lupex.mission.checkpoint import NO_CHECKPOINTS, Checkpoints
from lupex.progress import NO_PROGRESS, Steps
from lupex.prospect import fusion
from lupex.prospect import strategy as st

log = logging.getLogger("lupex.campaign")

__all__ = ["fingerprint", "run_campaign"]


def run_campaign(params: CampaignParams, truth, dem, light, start_xy, start_utc, outdir=None, *, seed: int,
                 vehicle=None, steps: Steps = NO_PROGRESS, checkpoints: Checkpoints = NO_CHECKPOINTS,
                 instruments: dict | None = None) -> CampaignResult:
    """Run the adaptive and the lawnmower campaign on ``truth`` from ``start_xy``.

    Same ``seed``, same results; resumable through ``checkpoints``.

    Parameters
    ----------
    params : CampaignParams
        The ``[campaign]`` settings.
    truth : lupex.subsurface.ground_truth.GroundTruth
        The ground truth the instruments measure and the scores compare against.
    dem : xarray.DataArray or None
        The site DEM (metres, projected); None = no slope screening and no timeline.
    light : lupex.light.visibility.VisibilitySeries or None
        Sun and Earth visibility covering :func:`lupex.mission.campaign.screen.campaign_window` for
        ``duration_days`` from ``start_utc`` (from :func:`lupex.mission.campaign.timeline.campaign_light`), or
        None to skip the timeline.
    start_xy : tuple of float
        The landing site (m).
    start_utc : str
        UTC ISO 8601 start of the campaign.
    outdir : path or None
        Where the products go (None = write nothing).
    seed : int
        Non-negative seed of both plans' generators.
    vehicle : lupex.rover.vehicle.RoverParams or None
        The rover (default its defaults).
    steps : lupex.progress.Steps
        Progress reporting.
    checkpoints : lupex.mission.checkpoint.Checkpoints
        Where each round and stage is saved and found again.
    instruments : dict or None
        Keyword arguments of :func:`lupex.mission.survey.run_survey` for every leg (the run's ``[survey]``
        table as ``params``, whose spacings and rates the campaign's own replace, and ``gpr_config``,
        ``neutron_spectrometer``, ``alis_params``, ``ion_trap``, ``outgassing``); default: the instruments'
        defaults.

    Returns
    -------
    CampaignResult
        Both plans, the truth on the area and the score table.
    """
    if not isinstance(params, CampaignParams):
        raise ConfigError("params must be a lupex.mission.campaign.CampaignParams")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"campaign seed must be a non-negative integer, got {seed!r}")
    if not hasattr(truth, "dataset") or "weh_wt_pct" not in truth.dataset:
        raise InputError("truth must be a lupex.subsurface.ground_truth.GroundTruth (see run_subsurface)")
    try:
        sx, sy = (float(v) for v in np.asarray(start_xy, float).ravel())
    except (TypeError, ValueError):
        raise InputError(f"start_xy must be an (x, y) pair in metres, got {start_xy!r}") from None
    try:
        np.datetime64(str(start_utc)[:19], "s")
    except ValueError:
        raise InputError(f"start_utc {start_utc!r} is not a UTC ISO 8601 time (e.g. 2027-01-02T00:00:00)") from None
    with threadpool_limits(1):   # same numbers serially and on single-threaded Dask workers; faster for small GPs
        t_all = time.perf_counter()
        timings: dict = {}
        setup = prepare(params, truth, dem, light, (sx, sy), str(start_utc)[:19], seed=int(seed), vehicle=vehicle,
                        instruments=dict(instruments or {}), timings=timings)
        return _fly(setup, int(seed), outdir, steps, checkpoints, timings, t_all)


def fingerprint(p: CampaignParams, seed, start_xy, start_utc, gt) -> str:
    """A 16-hex-digit hash of the settings, seed, start and truth: a checkpoint of another campaign is refused.

    The first 16 hex digits of SHA-256 over the JSON of (the settings, the seed, the start rounded to 1e-6 m,
    the start UTC, the WEH grid's shape), then the truth's WEH values as float64 (NaN as 0, +inf as -1).

    Parameters
    ----------
    p : CampaignParams
        The campaign settings (every field).
    seed : int
        The campaign's seed.
    start_xy : tuple of float
        The landing site (x, y), m.
    start_utc : str
        Start of the campaign, UTC ISO 8601 (hashed as given).
    gt : lupex.subsurface.ground_truth.GroundTruth
        The truth; its ``weh_wt_pct`` grid (wt%, (ny, nx)) stands for it.

    Returns
    -------
    str
        16 lowercase hex digits.
    """
    ds = gt.dataset
    h = hashlib.sha256(json.dumps([dataclasses.asdict(p), int(seed), [round(float(v), 6) for v in start_xy],
                                   str(start_utc), list(ds["weh_wt_pct"].shape)], sort_keys=True).encode())
    h.update(np.ascontiguousarray(np.nan_to_num(ds["weh_wt_pct"].values, posinf=-1.0), dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def prepare(p: CampaignParams, truth, dem, light, landed, start_utc: str, *, seed: int, vehicle, instruments: dict,
            timings: dict) -> CampaignSetup:
    """The campaign's setup: the area around the nearest prior-ice region, the cells to stop on, the rover's cost.

    Adds ``screen_s`` to ``timings``. Raises :class:`~lupex.errors.ConfigError` when the drive budget does
    not pay for one ``min_leg_m`` leg.

    Parameters
    ----------
    p : CampaignParams
        The ``[campaign]`` settings.
    truth : lupex.subsurface.ground_truth.GroundTruth
        The ground truth; only its orbital prior (``stability_depth_m``) places the area, the rest is for the
        instruments and the scores.
    dem : xarray.DataArray or None
        The site DEM (m); None: no screening of the cells the rover may stop on, no timeline.
    light : lupex.light.visibility.VisibilitySeries or None
        The campaign window's light series (:func:`lupex.mission.campaign.timeline.campaign_light`). Only with
        ``p.schedule`` and a DEM does it screen the stops (lit, near a haven), and then it must cover the area;
        the timelines run only then.
    landed : tuple of float
        The landing site (x, y), m; it must lie on the truth's grid and the DEM.
    start_utc : str
        Start of the campaign, UTC ISO 8601 to the second.
    seed : int
        The campaign's seed (for the fingerprint only; the plans' generators come from :func:`run_campaign`).
    vehicle : lupex.rover.vehicle.RoverParams or None
        The rover (None: its defaults); its drive load and flat speed set the cost of a leg (Wh, h).
    instruments : dict
        Keyword arguments of :func:`lupex.mission.survey.run_survey` for every leg, kept in the setup.
    timings : dict
        Wall times by stage, s; ``screen_s`` is added.

    Returns
    -------
    CampaignSetup
        The area (m), its centre and prior-ice share, the screen, the leg cost and Wh per metre, the drive
        budget and the cheapest leg (Wh), the approach from the landing site (m, Wh), the truth's maps on the
        area (scores only), the maps' template and drift, the risk target and the fingerprint.
    """
    area_for(truth.dataset, dem, landed, p.area_half_m)      # validates the landing site
    cost, wh_per_m, rover = rover_cost(vehicle, p)
    t0 = time.perf_counter()
    sched_light = light if (p.schedule and dem is not None) else None
    screen = Screen(dem, sched_light, landed, p, rover) if dem is not None else None
    centre, prior_share = survey_centre(truth, dem, landed, p, screen)
    area = area_for(truth.dataset, dem, centre, p.area_half_m)
    check_light(sched_light, dem, area)
    approach_m = float(math.hypot(centre[0] - landed[0], centre[1] - landed[1]))
    approach_wh = float(cost(np.asarray(landed, float), np.asarray(centre, float))[0]) if approach_m > 0 else 0.0
    timings["screen_s"] = time.perf_counter() - t0
    budget = float(p.drive_budget_wh)
    min_leg_wh = float(cost(np.zeros(2), np.array([p.min_leg_m, 0.0]))[0])
    if budget < min_leg_wh:
        raise ConfigError(f"campaign.drive_budget_wh = {budget:g} Wh does not pay for one {p.min_leg_m:g} m leg "
                          f"({min_leg_wh:.1f} Wh); raise it")
    tmaps = truth_maps(truth, area, p)     # for the scores only
    template = xr.zeros_like(tmaps["weh_wt_pct"])   # the area's grid: coordinates, no truth values
    drift = reach_fraction(truth, area, p)
    weight = drift.interp(x=template.x, y=template.y, method="nearest").values.ravel()
    return CampaignSetup(
        params=p, truth=truth, dem=dem, light=light, instruments=instruments, rover=rover, landed_xy=tuple(landed),
        start_utc=start_utc, centre_xy=centre, prior_share=prior_share, area=area, screen=screen, cost=cost,
        wh_per_m=wh_per_m, budget_wh=budget, min_leg_wh=min_leg_wh, approach_m=approach_m, approach_wh=approach_wh,
        truth_maps=tmaps, template=template, drift=drift,
        target=st.LocatedWater(fusion.grid_points(template), weight, p.weh_threshold_wt_pct),
        fingerprint=fingerprint(p, seed, landed, start_utc, truth))


def _fly(s: CampaignSetup, seed: int, outdir, steps: Steps, checkpoints, timings: dict, t_all: float) -> CampaignResult:
    """Both plans, their timelines, the scores and (with ``outdir``) the products, stage by stage."""
    p = s.params
    rng_s, rng_l = (np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(2))
    total = p.rounds + 3 + (2 if s.scheduled else 0) + 1
    with steps.task("prospecting campaign", total=total) as advance:
        drafts = {"strategy": fly_strategy(s, rng_s, checkpoints, advance, timings),
                  "lawnmower": fly_lawnmower(s, rng_l, checkpoints, advance, timings)}
        timelines = {name: plan_timeline(s, drafts[name], checkpoints, advance, timings) for name in PLANS}
        result = assemble(s, seed, drafts, timelines, outdir, timings, t_all)
        line = F.feasibility_line(result.feasibility)
        (log.warning if any(f.status == "infeasible" for f in result.feasibility.values()) else log.info)(line)
        if outdir is not None:
            write_campaign(result, outdir, s.dem)
        advance(1)
    log.info("campaign: strategy %.0f m, lawnmower %.0f m in %.1f s", result.plans["strategy"].survey_m,
             result.plans["lawnmower"].survey_m, timings["total_s"])
    return result


def fly_strategy(s: CampaignSetup, rng, checkpoints, advance, timings: dict) -> PlanDraft:
    """The adaptive plan: its decision rounds, then its maps and drilling (``strategy_*_s`` in ``timings``).

    Parameters
    ----------
    s : CampaignSetup
        The campaign's setup (:func:`prepare`).
    rng : numpy.random.Generator
        The adaptive plan's generator (the first of the two spawned from the campaign's seed).
    checkpoints : lupex.mission.checkpoint.Checkpoints
        Where the rounds and ``campaign-strategy-drilling`` are saved and found again.
    advance : callable
        ``advance(n)`` moves the progress bar: one per round, then the rounds not flown plus one.
    timings : dict
        Wall times, s; ``strategy_survey_s`` and ``strategy_drilling_s`` are added.

    Returns
    -------
    PlanDraft
        ``strategy``: the survey path's vertices (m, (n, 2), the area's centre first), one row per leg, the
        observations, the maps and drilling, the path length (m) and the survey's drive energy (Wh).
    """
    p = s.params
    t0 = time.perf_counter()
    state = strategy_rounds(s, rng, checkpoints, advance)
    timings["strategy_survey_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    drilled = stage(checkpoints, "campaign-strategy-drilling", s.fingerprint, lambda: strategy_drilling(s, state))
    advance(p.rounds - max(state.round + 1, 0) + 1)
    timings["strategy_drilling_s"] = time.perf_counter() - t0
    path = np.array(state.path).reshape(-1, 2)
    return PlanDraft(name="strategy", path=path, legs=pd.DataFrame(list(state.legs)), obs=state.obs, drilling=drilled,
                     survey_m=path_length_m(path), survey_wh=state.energy_wh)


def fly_lawnmower(s: CampaignSetup, rng, checkpoints, advance, timings: dict) -> PlanDraft:
    """The fixed plan: lawnmower lines at the spacing the budget allows, then a drill grid (``lawnmower_*_s``).

    Parameters
    ----------
    s : CampaignSetup
        The campaign's setup (:func:`prepare`).
    rng : numpy.random.Generator
        The lawnmower's generator (the second of the two spawned from the campaign's seed).
    checkpoints : lupex.mission.checkpoint.Checkpoints
        Where ``campaign-lawnmower-survey`` and ``campaign-lawnmower-drilling`` are saved and found again.
    advance : callable
        ``advance(n)`` moves the progress bar: one after the survey, one after the drilling.
    timings : dict
        Wall times, s; ``lawnmower_survey_s`` and ``lawnmower_drilling_s`` are added.

    Returns
    -------
    PlanDraft
        ``lawnmower``: the lines' vertices (m, (n, 2)), the legs, the observations, the maps and drilling, the path
        length (m) and the survey's drive energy (Wh).
    """
    t0 = time.perf_counter()
    ls = stage(checkpoints, "campaign-lawnmower-survey", s.fingerprint, lambda: lawnmower_survey(s, rng))
    advance(1)
    timings["lawnmower_survey_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    drilled = stage(checkpoints, "campaign-lawnmower-drilling", s.fingerprint, lambda: lawnmower_drilling(s, ls))
    advance(1)
    timings["lawnmower_drilling_s"] = time.perf_counter() - t0
    return PlanDraft(name="lawnmower", path=ls.path, legs=ls.legs, obs=ls.obs, drilling=drilled,
                     survey_m=path_length_m(ls.path), survey_wh=ls.energy_wh)


def plan_timeline(s: CampaignSetup, draft: PlanDraft, checkpoints, advance, timings: dict) -> PlanTimeline:
    """A plan's six-month timeline and its feasibility (not scheduled without a light series or a DEM).

    Parameters
    ----------
    s : CampaignSetup
        The campaign's setup: DEM, light series, rover, landing site (m) and start (UTC).
    draft : PlanDraft
        The plan: its path vertices are the science stops, its drill sites the drilling stops.
    checkpoints : lupex.mission.checkpoint.Checkpoints
        Where ``campaign-<plan>-timeline`` and ``campaign-<plan>-feasibility`` are saved and found again.
    advance : callable
        ``advance(n)`` moves the progress bar (one when scheduled).
    timings : dict
        Wall times, s; ``<plan>_timeline_s`` is added when scheduled.

    Returns
    -------
    PlanTimeline
        The :class:`~lupex.rover.scheduler.Timeline` or None, the scheduler's message, arrival UTC per goal, the
        goal table and the :class:`~lupex.mission.feasibility.Feasibility` (``"not scheduled"`` without a
        timeline run).
    """
    name = draft.name
    if not s.scheduled:
        err = "no timeline: no light series given"
        return PlanTimeline(schedule_error=err, feasibility=F.Feasibility(name, "not scheduled", err))
    t0 = time.perf_counter()
    sch = stage(checkpoints, f"campaign-{name}-timeline", s.fingerprint, lambda: schedule_plan(
        s.dem, s.light, s.rover, s.landed_xy, s.start_utc, s.params, draft.path, draft.drilling.spots, s.screen))
    feas = stage(checkpoints, f"campaign-{name}-feasibility", s.fingerprint, lambda: F.assess(
        name, sch.timeline, sch.error, sch.failure, dem=s.dem, light=s.light, rover=s.rover, start_xy=s.landed_xy,
        start_utc=s.start_utc, params=s.params))
    timings[f"{name}_timeline_s"] = time.perf_counter() - t0
    advance(1)
    return PlanTimeline(timeline=sch.timeline, schedule_error=sch.error, goal_times=sch.goal_times, goals=sch.goals,
                        feasibility=feas)


def _plan(s: CampaignSetup, d: PlanDraft, tl: PlanTimeline, scores: dict) -> CampaignPlan:
    """The :class:`CampaignPlan` of a flown plan, built by keyword."""
    return CampaignPlan(name=d.name, path_xy=d.path, legs=d.legs, observations=d.obs.as_dict(), maps=d.drilling.maps,
                        drill_xy=d.drilling.spots, drilling=d.drilling.table, drill_sites=d.drilling.sites,
                        survey_energy_wh=d.survey_wh, survey_m=d.survey_m, drill_tour_m=d.drilling.tour_m,
                        drill_tour_wh=d.drilling.tour_wh, drill_energy_wh=d.drilling.drill_wh, timeline=tl.timeline,
                        schedule_error=tl.schedule_error, goal_times=tl.goal_times, goals=tl.goals, scores=scores,
                        approach_m=s.approach_m, approach_wh=s.approach_wh)


def assemble(s: CampaignSetup, seed: int, drafts: dict, timelines: dict, outdir, timings: dict,
             t_all: float) -> CampaignResult:
    """The :class:`CampaignResult`: every plan scored against the truth (``total_s`` added to ``timings``).

    Parameters
    ----------
    s : CampaignSetup
        The campaign's setup (area, truth maps, budget, approach).
    seed : int
        The campaign's seed, recorded in the result.
    drafts : dict
        Plan name (``strategy``, ``lawnmower``) -> :class:`PlanDraft`.
    timelines : dict
        Plan name -> :class:`~lupex.mission.campaign.timeline.PlanTimeline`.
    outdir : path-like or None
        Where the products go, recorded in the result (nothing is written here).
    timings : dict
        Wall times by stage, s; ``total_s`` is added.
    t_all : float
        ``time.perf_counter()`` at the campaign's start, s.

    Returns
    -------
    CampaignResult
        Both plans (path, maps, drilling, timeline, scores), the truth on the area, the score table (one row
        per plan), the drive budget (Wh), the timings (s) and each plan's feasibility.
    """
    rows, plans = [], {}
    for name in PLANS:
        sc = plan_scores(s, drafts[name], timelines[name])
        rows.append(sc)
        plans[name] = _plan(s, drafts[name], timelines[name], sc)
    timings["total_s"] = time.perf_counter() - t_all
    a = s.area
    return CampaignResult(params=s.params, seed=seed, start_xy=tuple(s.landed_xy), start_utc=s.start_utc,
                          area=(a.x_min, a.x_max, a.y_min, a.y_max), truth=s.truth_maps, plans=plans,
                          scores=pd.DataFrame(rows), budget_wh=s.budget_wh,
                          outdir=Path(outdir) if outdir is not None else None, timings_s=timings,
                          survey_centre_xy=tuple(s.centre_xy), prior_share=s.prior_share,
                          feasibility={n: timelines[n].feasibility for n in PLANS})
