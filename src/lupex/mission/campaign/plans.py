"""The two plans' decisions and measurements: the adaptive plan's rounds, the lawnmower, and the drilling of each.

* ``strategy`` (adaptive): repeated decision rounds (:func:`strategy_rounds`). Each round fuses every neutron
  WEH retrieval so far into a Gaussian-process map whose hyperparameters are refitted by maximum marginal
  likelihood (:func:`lupex.prospect.fusion.fit_gp`; Rasmussen & Williams 2006, eq. 5.8), picks the next
  straight leg among candidate waypoints by mutual information (or risk reduction) per Wh
  (:func:`lupex.prospect.strategy.choose_drive`; Krause, Singh & Guestrin 2008, JMLR 9:235, eq. 5), and drives
  and surveys it. When no leg is affordable any more, the fused WEH and ice-table maps choose the drill sites by
  expected water per hour (:func:`lupex.prospect.strategy.plan_drills`).
* ``lawnmower`` (fixed): boustrophedon lines over the same area at the spacing the same budget allows
  (:func:`lupex.prospect.strategy.lawnmower_spacing_for_budget`), then a drill grid
  (:func:`lupex.prospect.strategy.drill_grid`).

Every stage returns a frozen dataclass; each is checkpointed (:func:`stage`) so a killed run resumes where it
stopped. :func:`choose_drill_sites` applies the adaptive plan's drilling rule to the first traverse of a run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from lupex.errors import ConfigError, InputError, LupexError
from lupex.instruments.drill import MAX_DEPTH_M
from lupex.mission.campaign.observations import SurveyObservations, fuse, survey_leg, survey_observations
from lupex.mission.campaign.params import DEPTH_BOUNDS_M, CampaignParams
from lupex.mission.campaign.screen import Screen, is_steep, rover_cost
from lupex.mission.drilling import DrillChoice, check_depths, footprint_cells, run_drilling
from lupex.prospect import fusion
from lupex.prospect import strategy as st
from lupex.prospect.strategy import Area

__all__ = ["CampaignSetup", "Checkpointed", "DrillOutcome", "LawnmowerSurvey", "PlanDraft", "RoundState",
           "choose_drill_sites", "lawnmower_drilling", "lawnmower_survey", "path_length_m", "round_name", "stage",
           "strategy_drilling", "strategy_rounds"]


# ----------------------------------------------------------------------------- state


@dataclass(frozen=True)
class CampaignSetup:
    """What every stage of a campaign reads: the inputs, the area and the rover's cost (built once, never changed)."""

    params: CampaignParams
    truth: Any                      # lupex.subsurface.ground_truth.GroundTruth
    dem: Any                        # the site DEM, or None
    light: Any                      # the light series for the timeline, or None
    instruments: dict               # run_survey keywords for every leg
    rover: Any                      # lupex.rover.vehicle.RoverParams
    landed_xy: tuple                # landing site, m
    start_utc: str
    centre_xy: tuple                # centre of the prospecting area, m
    prior_share: float
    area: Area
    screen: Screen | None           # cells the rover may stop on (None without a DEM)
    cost: Callable                  # straight-leg cost (a, b) -> (Wh, h)
    wh_per_m: float
    budget_wh: float
    min_leg_wh: float
    approach_m: float
    approach_wh: float
    truth_maps: xr.Dataset          # for the scores only
    template: xr.DataArray          # the area's grid: coordinates, no truth values
    drift: xr.DataArray             # the orbital prior (reach fraction)
    target: Any                     # lupex.prospect.strategy.LocatedWater for the risk objective
    fingerprint: str

    @property
    def scheduled(self) -> bool:
        """True when the plans get a six-month timeline (a light series and a DEM, ``campaign.schedule``)."""
        return bool(self.params.schedule and self.light is not None and self.dem is not None)


@dataclass(frozen=True)
class Checkpointed:
    """A stage's result as saved: the campaign's fingerprint beside it, so another campaign's is refused."""

    fingerprint: str
    value: Any


@dataclass(frozen=True)
class RoundState:
    """The adaptive plan after a decision round: where it is, what it has measured and spent."""

    round: int                      # the last round flown (-1: none yet)
    pos: np.ndarray                 # (2,) position, m
    path: tuple                     # survey path vertices, m, the area's centre first
    energy_wh: float
    time_h: float
    obs: SurveyObservations
    hyper: dict | None              # the WEH GP's fitted hyperparameters (warm start of the next fit)
    legs: tuple                     # one row (dict) per leg
    rng: np.random.Generator
    done: bool = False


@dataclass(frozen=True)
class DrillOutcome:
    """A plan's maps, its drill sites and what the drill and the REIWA instruments measured there."""

    maps: xr.Dataset
    spots: np.ndarray               # (k, 2) drill sites in drilling order, m
    table: pd.DataFrame             # run_drilling table (one row per site and interval)
    sites: pd.DataFrame             # per site: measured (TRITON) and true water
    tour_m: float
    tour_wh: float
    drill_wh: float
    rng: np.random.Generator | None = None


@dataclass(frozen=True)
class LawnmowerSurvey:
    """The fixed plan's survey: its path within the budget, the legs and the observations."""

    path: np.ndarray
    energy_wh: float
    obs: SurveyObservations
    legs: pd.DataFrame
    rng: np.random.Generator
    spacing_m: float


@dataclass(frozen=True)
class PlanDraft:
    """One plan's decisions and measurements before its timeline: the survey and the drilling."""

    name: str
    path: np.ndarray                # (n, 2) survey path vertices (the timeline's waypoints), m
    legs: pd.DataFrame
    obs: SurveyObservations
    drilling: DrillOutcome
    survey_m: float
    survey_wh: float


def stage(checkpoints, name: str, fp: str, compute: Callable[[], Any]) -> Any:
    """The value saved as checkpoint ``name`` for this campaign, or ``compute()`` saved there.

    Raises :class:`~lupex.errors.LupexError` when the checkpoint belongs to another campaign (another
    ``fp``) or to another lupex version.

    Parameters
    ----------
    checkpoints : lupex.mission.checkpoint.Checkpoints
        Where stages are saved (:data:`~lupex.mission.checkpoint.NO_CHECKPOINTS`: never found, never kept).
    name : str
        The checkpoint's name (letters, digits, ``_``, ``-``, ``.``), e.g. ``campaign-strategy-drilling``.
    fp : str
        The campaign's fingerprint (:func:`lupex.mission.campaign.run.fingerprint`), saved beside the value.
    compute : callable
        ``compute() -> value``, called only when no checkpoint ``name`` is saved.

    Returns
    -------
    object
        The stage's value, loaded or computed.
    """
    if checkpoints.has(name):
        got = checkpoints.load(name)
        if not isinstance(got, Checkpointed):
            raise LupexError(f"checkpoint {name} was written by another lupex version; start a new run directory")
        if got.fingerprint != fp:
            raise LupexError(f"checkpoint {name} belongs to another campaign; start a new run directory")
        return got.value
    out = compute()
    checkpoints.save(name, Checkpointed(fp, out))
    return out


def path_length_m(path) -> float:
    """Length (m) of the polyline ``path`` ((n, 2) m)."""
    p = np.asarray(path, float).reshape(-1, 2)
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) if len(p) > 1 else 0.0


# ----------------------------------------------------------------------------- the adaptive plan


def round_name(k: int) -> str:
    """The checkpoint name of the adaptive plan's state after round ``k``."""
    return f"campaign-strategy-round-{k:03d}"


def _initial_model(p: CampaignParams, area, start):
    """A GP with fixed prior hyperparameters on one vague pseudo-observation at the start.

    Round 0 only: before any retrieval the information gain depends on the prior's length scale alone.
    """
    obs = fusion.observations([start[0]], [start[1]], [0.1], [10.0], "prior")
    L = min(0.25 * math.hypot(area.x_max - area.x_min, area.y_max - area.y_min), p.gp_max_length_m)
    return fusion.fit_gp(obs, kernel=p.kernel, mean="zero", transform=fusion.LogShift(p.weh_offset_wt_pct),
                         fixed={"variance": 1.0, "length_m": L, "nugget": 1e-3})


def _fit_drive_model(obs: SurveyObservations, prev: dict | None, p: CampaignParams, drift=None):
    """The WEH GP refitted by marginal likelihood on the binned NS retrievals (warm-started from the last fit).

    With the orbital prior as its drift when ``campaign.orbital_drift`` (the maps' own model).
    """
    ns = fusion.bin_observations(obs.ns, p.bin_m, correlated=True)
    use = p.orbital_drift and drift is not None
    return fusion.fit_gp(ns, kernel=p.kernel, mean="drift" if use else "constant",
                         transform=fusion.LogShift(p.weh_offset_wt_pct), init=prev, n_restarts=2,
                         bounds=fusion.gp_bounds(p.gp_min_sd_log, p.gp_max_length_m),
                         drift=fusion.Drift.of(drift, prior_sd=p.drift_prior_sd) if use else None)


def _candidates(pos, area, remaining_m, p: CampaignParams, slope):
    """(m, 2) candidate destinations of the next leg.

    Legs of ``leg_m`` and half of it in ``n_headings`` directions and, with the risk objective, destinations
    anywhere in the area on a ``leg_m / 2`` grid (a one-leg lookahead is blind to ground beyond one leg: the
    value of a destination is that of the whole drive to it, and the rover drives its first ``leg_m``, then
    decides again: a receding horizon).
    """
    reaches = [p.leg_m, 0.5 * p.leg_m]
    if p.min_leg_m <= remaining_m < 0.5 * p.leg_m:
        reaches.append(remaining_m * 0.999)
    c = np.vstack([st.candidate_waypoints(pos, area, r, p.n_headings) for r in reaches])
    if p.objective == "risk":
        n = max(1, int(round((area.x_max - area.x_min) / (0.5 * p.leg_m)))) * \
            max(1, int(round((area.y_max - area.y_min) / (0.5 * p.leg_m))))
        c = np.vstack([c, st.drill_grid(area, n)])
    d = np.linalg.norm(c - np.asarray(pos, float), axis=1)
    c = c[(d >= p.min_leg_m) & (d <= remaining_m)]
    return c[~is_steep(slope, c, p)]


def _receding(pos, waypoint, p: CampaignParams, slope, cost):
    """(waypoint, energy_Wh, time_h): the first ``leg_m`` of the drive to ``waypoint``.

    Shortened further, 10 % at a time, until it ends on a cell the rover planner accepts; the whole drive to
    the (accepted) destination if none does: a stop snapped aside could lead away from it and back, round
    after round.
    """
    pos = np.asarray(pos, float)
    d = float(np.hypot(*(waypoint - pos)))
    if d > p.leg_m:
        for frac in np.arange(1.0, 0.05, -0.1) * p.leg_m / d:
            w = pos + frac * (waypoint - pos)
            if frac * d >= p.min_leg_m and not is_steep(slope, w[None], p)[0]:
                waypoint = w
                break
    e, t = (float(v) for v in cost(pos, waypoint))
    return waypoint, e, t


def _resume_rounds(checkpoints, fp: str, advance) -> RoundState | None:
    """The adaptive plan's last saved round state of this campaign, or None (then it starts afresh)."""
    latest = checkpoints.load("campaign-latest", None) if checkpoints.has("campaign-latest") else None
    if latest is not None and (not isinstance(latest, Checkpointed) or latest.fingerprint != fp):
        raise LupexError(f"the checkpoints in {checkpoints.directory} belong to another campaign (other settings, "
                         "seed, start or truth) or another lupex version; resume with the same configuration or start "
                         "a new run directory")
    k0 = int(latest.value) if latest is not None else -1
    while k0 >= 0 and not checkpoints.has(round_name(k0)):
        k0 -= 1
    if k0 < 0:
        return None
    state = checkpoints.load(round_name(k0))
    if not isinstance(state, Checkpointed) or state.fingerprint != fp:
        raise LupexError(f"checkpoint {round_name(k0)} belongs to another campaign; start a new run directory")
    advance(k0 + 1)
    return state.value


def _next_round(s: CampaignSetup, state: RoundState) -> RoundState:
    """The state after one decision round: the next leg chosen, driven and surveyed (or ``done`` when none is)."""
    p = s.params
    k = state.round + 1
    pos = state.pos
    remaining = s.budget_wh - state.energy_wh
    if state.obs.ns is None:
        model = _initial_model(p, s.area, s.centre_xy)
        noise = p.ns_sigma_prior_wt_pct
    else:
        model = _fit_drive_model(state.obs, state.hyper, p, s.drift)
        noise = float(np.median(state.obs.ns.sigma))
    rem_m = max(remaining - p.leg_overhead_wh, 0.0) / s.wh_per_m
    cands = _candidates(pos, s.area, rem_m, p, s.screen)
    ch = st.choose_drive(model, pos, cands, s.cost, noise_sd=noise, step_m=p.bin_m, remaining_wh=remaining,
                         threshold=p.weh_threshold_wt_pct, target=s.target if p.objective == "risk" else None) \
        if len(cands) else None
    hyper = None if state.obs.ns is None else {"variance": model.variance, "length_m": model.length_m,
                                               "nugget": model.nugget}
    if ch is None:
        return dataclasses.replace(state, done=True, hyper=hyper or state.hyper)
    w, e_leg, t_leg = _receding(pos, ch.waypoint, p, s.screen, s.cost)
    ch = dataclasses.replace(ch, waypoint=w, energy_wh=e_leg, time_h=t_leg)
    sr, obs = survey_leg(s.truth, s.dem, [pos, ch.waypoint], state.rng, p, s.instruments)
    leg = dict(round=k, x0_m=float(pos[0]), y0_m=float(pos[1]), x1_m=float(ch.waypoint[0]), y1_m=float(ch.waypoint[1]),
               length_m=float(sr.length_m), energy_wh=ch.energy_wh, objective=ch.objective, gain=ch.gain_nats,
               gain_per_wh=ch.gain_nats / ch.energy_wh, n_candidates=int(len(cands)), gp_variance=model.variance,
               gp_length_m=model.length_m, gp_nugget=model.nugget, gp_n_obs=int(model.n),
               ns_windows=int(len(sr.retrievals)), gpr_windows=int(len(sr.gpr_windows)))
    return dataclasses.replace(state, round=k, pos=ch.waypoint.copy(), path=state.path + (ch.waypoint.copy(),),
                               energy_wh=state.energy_wh + ch.energy_wh, time_h=state.time_h + ch.time_h,
                               obs=state.obs.merged(obs), hyper=hyper, legs=state.legs + (leg,))


def strategy_rounds(s: CampaignSetup, rng: np.random.Generator, checkpoints, advance) -> RoundState:
    """The adaptive plan's survey: decision rounds until the budget or ``campaign.rounds`` is spent.

    Each round's state is saved as ``campaign-strategy-round-NNN``, then the pointer ``campaign-latest`` to it
    (a kill in between loses nothing); a run with the same checkpoints continues from the last round.

    Parameters
    ----------
    s : CampaignSetup
        The campaign's setup (:func:`lupex.mission.campaign.run.prepare`): area, screen, cost, budget (Wh),
        the maps' template and drift; the survey starts at ``s.centre_xy`` (m).
    rng : numpy.random.Generator
        The adaptive plan's generator (used only when no round is saved; a resumed state carries its own).
    checkpoints : lupex.mission.checkpoint.Checkpoints
        Where the round states are saved and found again.
    advance : callable
        ``advance(n)`` moves the progress bar by ``n`` rounds (by the resumed rounds at once on a resume).

    Returns
    -------
    RoundState
        The last round's state: position and path vertices (m), drive energy (Wh) and time (h) spent, the
        observations, the WEH GP's hyperparameters, one dict per leg and the generator.

    Raises
    ------
    lupex.errors.LupexError
        When the saved rounds belong to another campaign or another lupex version.
    """
    start = np.asarray(s.centre_xy, float)
    state = _resume_rounds(checkpoints, s.fingerprint, advance) or RoundState(
        round=-1, pos=start, path=(np.asarray(s.centre_xy, float),), energy_wh=0.0, time_h=0.0,
        obs=SurveyObservations(), hyper=None, legs=(), rng=rng)
    while not state.done and state.round + 1 < s.params.rounds:
        state = _next_round(s, state)
        if state.round >= 0:     # the state first, then the pointer to it (a kill in between loses nothing)
            checkpoints.save(round_name(state.round), Checkpointed(s.fingerprint, state))
            checkpoints.save("campaign-latest", Checkpointed(s.fingerprint, state.round))
        if not state.done:
            advance(1)
    return state


# ----------------------------------------------------------------------------- drilling


def _drill(s: CampaignSetup, maps, spots, rng, start_pos) -> DrillOutcome:
    """Drill ``spots`` in order from ``start_pos`` (:func:`lupex.mission.drilling.run_drilling`), per site summed."""
    p = s.params
    xy = np.asarray(spots, float).reshape(-1, 2)
    if not len(xy):
        return DrillOutcome(maps=maps, spots=spots, table=pd.DataFrame(), sites=pd.DataFrame(), tour_m=0.0,
                            tour_wh=0.0, drill_wh=0.0, rng=rng)
    seed = int(rng.integers(0, 2**31 - 1))
    res = run_drilling(s.truth, s.dem, xy, seed=seed, depth_m=p.drill_depth_m, bite_m=p.drill_bite_m, n_examples=0,
                       write=False)
    t = res.table
    per = t.groupby("site").agg(measured_water_wt_pct=("triton_water_wt_pct", "mean"),
                                true_water_wt_pct=("true_in_situ_water_wt_pct", "mean"),
                                true_delivered_water_wt_pct=("true_delivered_water_wt_pct", "mean"),
                                energy_j=("energy_j", "sum")).reset_index()
    sites = res.sites.merge(per, on="site", how="left")
    pts = np.vstack([np.asarray(start_pos, float)[None], xy])
    tour_m = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    tour_wh = float(sum(s.cost(a, b)[0] for a, b in zip(pts[:-1], pts[1:])))
    return DrillOutcome(maps=maps, spots=spots, table=t, sites=sites, tour_m=tour_m, tour_wh=tour_wh,
                        drill_wh=float(t["energy_j"].sum() / 3600.0) if len(t) else 0.0, rng=rng)


def _nearest_order(spots, start) -> np.ndarray:
    """(k, 2): ``spots`` visited nearest-first from ``start``."""
    spots = [np.asarray(s, float) for s in spots]
    out, pos = [], np.asarray(start, float)
    while spots:
        j = int(np.argmin([np.hypot(*(s - pos)) for s in spots]))
        pos = spots.pop(j)
        out.append(pos)
    return np.array(out).reshape(-1, 2)


def _snap_passable(spots, template, screen, p):
    """Each spot to its cell centre; one the rover planner rejects to the nearest accepted cell centre."""
    pts = fusion.grid_points(template)
    ok = ~is_steep(screen, pts, p)
    if not ok.any():
        raise InputError("no cell of the campaign area is passable and reachable for the rover planner "
                         f"(max slope {p.max_slope_deg:g} deg); raise campaign.max_slope_deg or move the start")
    out = []
    for s in np.asarray(spots, float).reshape(-1, 2):
        d = np.hypot(pts[:, 0] - s[0], pts[:, 1] - s[1])
        d[~ok] = np.inf
        out.append(pts[int(np.argmin(d))])
    return np.array(out).reshape(-1, 2)


def strategy_drilling(s: CampaignSetup, state: RoundState) -> DrillOutcome:
    """The adaptive plan's maps and drilling: sites by expected water per hour on the maps (steep cells masked)."""
    p = s.params
    maps = fuse(s.template, state.obs, p, s.drift)
    masked = maps.copy()
    if s.screen is not None:
        steep = is_steep(s.screen, fusion.grid_points(s.template), p).reshape(s.template.shape)
        masked["weh_mean"] = maps["weh_mean"].where(~steep)
    spots = st.plan_drills(masked, p.drills, state.pos, s.cost, criterion="expected_water",
                           depth_transform=fusion.Logit(*DEPTH_BOUNDS_M), drill_depth_m=p.drill_depth_m,
                           min_separation_m=p.min_drill_separation_m, drill_time_h=p.drill_h) \
        if p.drills else np.zeros((0, 2))
    return _drill(s, maps, spots, state.rng, state.pos)


def lawnmower_survey(s: CampaignSetup, rng: np.random.Generator) -> LawnmowerSurvey:
    """The fixed plan's survey: lines at the spacing the budget allows, every vertex on an accepted cell."""
    p, area, cost, start = s.params, s.area, s.cost, s.centre_xy
    e_approach = float(cost(np.asarray(start), np.array([area.x_min, area.y_min]))[0])
    dist = max(s.budget_wh - e_approach, s.min_leg_wh) / s.wh_per_m
    spacing = st.lawnmower_spacing_for_budget(area, dist)
    wps = np.vstack([np.asarray(start)[None], st.lawnmower(area, spacing, start)])
    if s.screen is not None:   # every vertex on a cell the rover planner accepts
        wps = s.screen.snap(wps, area)
    path, e, _ = st.truncate_path(wps, cost, s.budget_wh)
    if s.screen is not None and not s.screen.ok_xy(path[-1:])[0]:
        path = path[:-1]
        e = float(sum(cost(a, b)[0] for a, b in zip(path[:-1], path[1:])))
    if path_length_m(path) < p.min_leg_m:
        raise ConfigError(f"campaign.drive_budget_wh = {s.budget_wh:g} Wh does not reach the lawnmower's first line; "
                          "raise it")
    _, obs = survey_leg(s.truth, s.dem, path, rng, p, s.instruments)
    legs = pd.DataFrame([dict(round=i, x0_m=a[0], y0_m=a[1], x1_m=b[0], y1_m=b[1], length_m=float(np.hypot(*(b - a))),
                              energy_wh=float(cost(a, b)[0]), spacing_m=spacing)
                         for i, (a, b) in enumerate(zip(path[:-1], path[1:]))])
    return LawnmowerSurvey(path=path, energy_wh=e, obs=obs, legs=legs, rng=rng, spacing_m=spacing)


def lawnmower_drilling(s: CampaignSetup, ls: LawnmowerSurvey) -> DrillOutcome:
    """The fixed plan's maps and drilling: a drill grid over the area, visited nearest-first from the path's end."""
    p = s.params
    maps = fuse(s.template, ls.obs, p, s.drift)
    spots = _nearest_order(_snap_passable(st.drill_grid(s.area, p.drills), s.template, s.screen, p), ls.path[-1]) \
        if p.drills else np.zeros((0, 2))
    return _drill(s, maps, spots, ls.rng, ls.path[-1])


# ----------------------------------------------------------------------------- the first traverse's drill sites


def choose_drill_sites(survey, dem, position_xy, n: int = 3, *, depth_m: float = MAX_DEPTH_M,
                       min_separation_m: float | None = None, params: CampaignParams | None = None,
                       rover=None) -> DrillChoice:
    """Drill sites for the first traverse from its own measurements (never the truth).

    The survey's retrievals become observations exactly as the campaign's do
    (:func:`lupex.mission.campaign.observations.survey_observations`: NS WEH windows in the map's log space,
    GPR ice-table picks with the radar's resolution, the NS burial depth where it sees a wet layer, "deeper
    than seen" where nothing is seen), fused by Gaussian processes on the DEM's cells around the path
    (:func:`lupex.prospect.fusion.fuse_water_maps`); the candidates are the cells the rover drove over
    (:func:`lupex.mission.drilling.footprint_cells`), and :func:`lupex.prospect.strategy.plan_drills` takes
    ``n`` of them greedily from ``position_xy`` by the expected water in the drilled core per hour of travel and
    drilling (expected WEH x the posterior share of the core below the ice table), at least
    ``min_separation_m`` apart (default ``params.min_drill_separation_m``).

    Parameters
    ----------
    survey : lupex.mission.survey.SurveyResult
        The first traverse's survey.
    dem : xarray.DataArray
        The site DEM (m, projected); the drill sites are cells of its grid.
    position_xy : tuple of float
        Where the rover stands (m), usually the traverse's end.
    n : int
        Number of drill sites.
    depth_m : float
        Drilling depth (m), at most the drill's 1.5 m.
    min_separation_m : float or None
        Least distance between two sites (m); None = ``params.min_drill_separation_m``.
    params : CampaignParams or None
        The fusion settings and drill time (its ``drill_depth_m`` is replaced by ``depth_m``); default its
        defaults.
    rover : lupex.rover.vehicle.RoverParams or None
        The vehicle for the travel cost.

    Returns
    -------
    lupex.mission.drilling.DrillChoice
        The sites, their table, the fused maps and the rule in one sentence. Pure: same survey, same sites.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n (number of drill sites) must be a positive integer, got {n!r}")
    if dem is None:
        raise InputError("choose_drill_sites needs the site DEM: the drill sites are cells of its grid")
    check_depths(depth_m, min(0.1, depth_m))
    p = dataclasses.replace(params or CampaignParams(), drill_depth_m=float(depth_m))
    sep = p.min_drill_separation_m if min_separation_m is None else float(min_separation_m)
    path = np.asarray(survey.path_xy, float)
    template = _template_around(dem, path)
    obs = survey_observations(survey, p)
    if obs.ns is None:
        raise InputError(f"the survey along the {survey.length_m:.0f} m traverse has no neutron window to choose drill "
                         "sites from; drive a longer traverse or shorten survey.ns_window_s")
    maps = fuse(template, obs, p)
    masked = maps.copy()
    masked["weh_mean"] = maps["weh_mean"].where(footprint_cells(path, template))
    spots = st.plan_drills(masked, int(n), position_xy, rover_cost(rover, p)[0], criterion="expected_water",
                           depth_transform=fusion.Logit(*DEPTH_BOUNDS_M), drill_depth_m=p.drill_depth_m,
                           min_separation_m=sep, drill_time_h=p.drill_h)
    table = _choice_table(maps, spots, p.drill_depth_m)
    return DrillChoice(spots, table, maps, _choice_rule(table, len(spots), p.drill_depth_m, sep))


def _template_around(dem, path) -> xr.DataArray:
    """Zeros on the DEM's cells around ``path`` (three pixels of margin): the grid of the first traverse's maps."""
    x = np.asarray(dem["x"].values, float)
    y = np.asarray(dem["y"].values, float)
    pad = 3 * abs(float(x[1] - x[0]))
    sx = (x >= path[:, 0].min() - pad) & (x <= path[:, 0].max() + pad)
    sy = (y >= path[:, 1].min() - pad) & (y <= path[:, 1].max() + pad)
    if sx.sum() < 2 or sy.sum() < 2:
        raise InputError("the surveyed path is not on the DEM; give the DEM the survey ran on")
    return xr.DataArray(np.zeros((int(sy.sum()), int(sx.sum()))), coords={"y": y[sy], "x": x[sx]}, dims=("y", "x"))


def _choice_rule(table, n_sites: int, drill_depth_m: float, sep: float) -> str:
    """The drill-site rule in one sentence a report can print (it says so when the traverse saw no ice)."""
    rule = (f"Drill sites come from the first traverse's own measurements, never from the ground truth: the NS WEH "
            f"and the GPR / NS ice-table retrievals fused into Gaussian-process maps, then, among the cells the rover "
            f"drove over, the {n_sites} with the highest expected water in a {drill_depth_m:g} m core (expected WEH "
            f"x the posterior share of the core below the ice table) per hour of travel and drilling, at least "
            f"{sep:g} m apart")
    if len(table) and np.isfinite(table["p_ice_within_drill"]).any():   # says plainly when the traverse saw no ice
        p_best = float(np.nanmax(table["p_ice_within_drill"].to_numpy(float)))
        rule += (f"; the survey gave these sites a probability of ice within {drill_depth_m:g} m of at most "
                 f"{p_best:.0%}" + (" (the traverse saw no ice: these are the least dry cells it crossed)"
                                    if p_best < 0.5 else ""))
    return rule


def _choice_table(maps, spots, drill_depth_m) -> pd.DataFrame:
    """Per chosen site: the maps' WEH, probability of ice within reach, ice-table median and expected core WEH."""
    pts = fusion.grid_points(maps)
    rows = []
    has_depth = "ice_depth_latent_mean" in maps
    for k, (sx, sy) in enumerate(np.asarray(spots, float).reshape(-1, 2)):
        i = int(np.argmin(np.hypot(pts[:, 0] - sx, pts[:, 1] - sy)))
        weh = float(maps["weh_mean"].values.ravel()[i])
        row = dict(site=k, x_m=float(sx), y_m=float(sy), weh_mean_wt_pct=weh,
                   p_ice_within_drill=float(maps["p_ice_within_drill"].values.ravel()[i]) if has_depth else np.nan,
                   ice_depth_median_m=float(maps["ice_depth_median"].values.ravel()[i]) if has_depth else np.nan)
        row["expected_core_weh_wt_pct"] = float(st.expected_drill_water(
            weh, maps["ice_depth_latent_mean"].values.ravel()[i], maps["ice_depth_latent_sd"].values.ravel()[i],
            fusion.Logit(*DEPTH_BOUNDS_M), drill_depth_m)) if has_depth else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
