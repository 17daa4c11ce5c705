"""Whether a campaign's six-month timeline is flyable, and if not, which nearby plan is.

The scheduler (:func:`lupex.rover.scheduler.schedule`) parks the rover through every dark period at a
safe haven judged against that period's real duration (:class:`lupex.rover.havens.HavenIndex`). When no
haven can be reached and survived it raises :class:`lupex.rover.scheduler.NoHavenError` with the *binding
constraint*: the dark period (start UTC, hours), the energy it needs against the usable battery less the
margin (Wh short), and the haven closest to working (where, how far, how long a drive).

:func:`assess` turns a plan's outcome into a :class:`Feasibility`, and, for an infeasible plan, searches
for the nearest feasible alternatives by re-running the same scheduler with one input changed at a time
(a cheap search bounded in wall time, ``campaign.feasibility_search_s``, so on a slow machine fewer
alternatives may be tried; not an optimisation):

* a bigger battery: the capacity that pays the Wh short (plus the depth-of-discharge and efficiency
  losses), then twice and four times the step;
* shorter stays: drilling and stationary science per stop halved, then quartered;
* an area nearer the haven: every stop moved halfway towards the binding haven (snapped to a passable cell);
* a later landing: the same plan from one lunation (29.53 days) later, when the light series covers it
  (:func:`lupex.mission.campaign.campaign_light` computes one lunation beyond the campaign for this).

Each alternative carries the configuration keys that reproduce it (``settings``), so a re-run of the
campaign with them flies (the tests re-run one).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from lupex.errors import LupexError
from lupex.rover import planner as P
from lupex.rover import scheduler as S
from lupex.rover.vehicle import RoverParams

log = logging.getLogger("lupex.campaign")

__all__ = ["Alternative", "Feasibility", "assess", "search_alternatives", "feasibility_line", "STATUSES"]

STATUSES = ("flown", "infeasible", "not scheduled")
LUNATION_D = 29.53
"""Mean synodic month (days): the later-landing alternative lands one lunation later, in the same light."""


def planner_params(p):
    """The traverse planner's settings in a campaign of :class:`~lupex.mission.campaign.CampaignParams` ``p``.

    Its slope limit; the Earth-view rule for commands is the scheduler's ``command_wait_h``, per leg, not per move.
    """
    return P.PlannerParams(max_slope_deg=p.max_slope_deg)


def schedule_goals(dem, light, rover, start_xy, start_utc, p, goals):
    """One try of the six-month timeline over ``goals`` with the campaign's haven rules (no goal moved).

    Parameters
    ----------
    dem : xarray.DataArray
        The site DEM, elevation in m on projected x, y coordinates (m), shape (ny, nx).
    light : lupex.light.visibility.VisibilitySeries
        Sun and Earth visibility of the campaign window, covering ``p.duration_days`` from ``start_utc``.
    rover : lupex.rover.vehicle.RoverParams or None
        The rover (battery, power, thermal); None takes its defaults.
    start_xy : tuple of float
        The rover's position (x, y) at ``start_utc``, m, in the DEM's CRS.
    start_utc : str or numpy.datetime64
        Start of the timeline, UTC ISO 8601 (read to the second: its first 19 characters).
    p : lupex.mission.campaign.CampaignParams
        The campaign settings used: ``duration_days`` (d), ``max_slope_deg`` (deg, the planner's slope
        limit), ``haven_margin_wh`` (Wh), ``haven_margin_h`` (h) and ``command_wait_h`` (h).
    goals : sequence of lupex.rover.scheduler.Goal
        The stops in visiting order (position, m; science and drilling hours).

    Returns
    -------
    lupex.rover.scheduler.Timeline
        The activities and the per-interval trace of the timeline.

    Raises
    ------
    lupex.rover.scheduler.NoHavenError
        When no haven can be reached and survived (its ``binding`` says which dark period and haven);
        other :class:`~lupex.errors.LupexError` s when a goal cannot be served.
    """
    return S.schedule(dem, light, rover, start=str(start_utc)[:19], duration_days=p.duration_days, goals=goals,
                      start_xy=tuple(start_xy), params=planner_params(p), haven_margin_wh=p.haven_margin_wh,
                      haven_margin_h=p.haven_margin_h, command_wait_h=p.command_wait_h)


@dataclass(frozen=True)
class Alternative:
    """One re-try of the scheduler with one input changed."""

    change: str                 # "bigger battery" | "shorter stays" | "area nearer a haven" | "later landing"
    detail: str                 # what was changed, in words
    settings: dict              # configuration keys that reproduce it (e.g. {"vehicle.battery.capacity_wh": 4750})
    tried: bool
    feasible: bool
    error: str = ""             # why it failed (the scheduler's message), or why it was not tried
    wall_s: float = 0.0
    min_soc: float = float("nan")


@dataclass(frozen=True)
class Feasibility:
    """A plan's timeline verdict.

    Flown (every dark period at a haven that survives it), infeasible, or not
    scheduled (no light series / scheduling switched off).
    """

    plan: str
    status: str
    message: str = ""
    binding: dict = field(default_factory=dict)
    alternatives: tuple = ()

    @property
    def flown(self) -> bool:
        """Return True when every dark period of the timeline is survived at a haven."""
        return self.status == "flown"

    @property
    def best_alternative(self) -> Alternative | None:
        """Return the nearest feasible alternative, or None."""
        ok = [a for a in self.alternatives if a.feasible]
        return ok[0] if ok else None

    def to_dict(self) -> dict:
        """Return the verdict as written to ``campaign_feasibility.json``."""
        best = self.best_alternative
        return dict(plan=self.plan, status=self.status, flown=self.flown, message=self.message,
                    binding={k: v for k, v in self.binding.items() if _plain(v)},
                    alternatives=[_product(a) for a in self.alternatives],
                    best_alternative=_product(best) if best is not None else None)

    def score_fields(self) -> dict:
        """Return the flat fields of ``campaign_scores`` for this plan.

        Flat fields for ``campaign_scores`` (one row per plan): ``timeline_flown`` is False for a plan whose
        timeline is infeasible or was not scheduled, so its scores are what it *would* find, not what it flew.
        """
        b = self.binding
        best = self.best_alternative
        return dict(timeline_status=self.status, timeline_flown=self.flown,
                    timeline_binding=self.message if self.status == "infeasible" else "",
                    timeline_binding_dark_start_utc=str(b.get("haven_dark_start_utc", "")),
                    timeline_binding_dark_h=float(b.get("haven_dark_h", float("nan"))),
                    timeline_binding_short_wh=float(b.get("haven_short_wh", float("nan"))),
                    timeline_binding_haven_distance_m=float(b.get("haven_distance_m", float("nan"))),
                    timeline_feasible_alternative=(_settings_text(best.settings) or best.detail) if best is not None
                    else "")


def _product(a: Alternative) -> dict:
    """Return an alternative as written to a product.

    An alternative as written to a product: without its wall time (timings go to the log, so the same run
    writes the same bytes).
    """
    d = dataclasses.asdict(a)
    d.pop("wall_s")
    return d


def _plain(v) -> bool:
    return isinstance(v, (str, int, float, bool, np.integer, np.floating, np.bool_)) or v is None


def _settings_text(settings: dict) -> str:
    return " ".join(f"--set {k}={_fmt(v)}" for k, v in settings.items())


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def assess(plan: str, timeline, error: str, fail: dict | None, *, dem=None, light=None, rover=None, start_xy=None,
           start_utc=None, params=None, search: bool = True) -> Feasibility:
    """The :class:`Feasibility` of one plan from the campaign's scheduling outcome.

    Flown when there is a timeline; not scheduled when there is neither a timeline nor a failure;
    otherwise infeasible, with the alternatives searched (:func:`search_alternatives`) on the same DEM,
    light, rover, start and parameters when ``search`` is True and ``dem`` and ``light`` are given.

    Parameters
    ----------
    plan : str
        The plan's name (``"strategy"`` or ``"lawnmower"``).
    timeline : lupex.rover.scheduler.Timeline or None
        The plan's timeline, None when the scheduler failed or did not run.
    error : str
        The scheduler's last message, or why there is no timeline ("" when flown).
    fail : dict or None
        ``{"binding": dict or None, "goals": goals}`` when the scheduler failed
        (:attr:`lupex.mission.campaign.timeline.Schedule.failure`): the binding constraint of its
        :class:`~lupex.rover.scheduler.NoHavenError` and the goals it was given; None otherwise.
    dem, light, rover, start_xy, start_utc, params : optional
        What the plan was scheduled with, as for :func:`schedule_goals` (``params`` is its ``p``:
        :class:`~lupex.mission.campaign.CampaignParams`); needed only for the search.
    search : bool, optional
        Search the alternatives of an infeasible plan (default True).

    Returns
    -------
    Feasibility
        Status ``"flown"``, ``"not scheduled"`` or ``"infeasible"``, the message, the binding constraint
        and the alternatives tried (empty unless infeasible and searched).
    """
    if timeline is not None:
        return Feasibility(plan, "flown")
    if fail is None:
        return Feasibility(plan, "not scheduled", error)
    binding = dict(fail.get("binding") or {})
    alts = ()
    if search and light is not None and dem is not None:
        alts = tuple(search_alternatives(dem, light, rover, start_xy, start_utc, params, fail["goals"], binding))
    return Feasibility(plan, "infeasible", error, binding, alts)


def _try(change, detail, settings, run) -> Alternative:
    t0 = time.perf_counter()
    try:
        tl = run()
    except LupexError as exc:
        a = Alternative(change, detail, settings, True, False, str(exc), time.perf_counter() - t0)
    else:
        a = Alternative(change, detail, settings, True, True, "", time.perf_counter() - t0,
                        float(tl.summary()["min_soc"]))
    log.info("feasibility: %s (%s): %s in %.1f s", change, detail, "feasible" if a.feasible else "infeasible",
             a.wall_s)
    return a


def search_alternatives(dem, light, rover, start_xy, start_utc, p, goals, binding: dict) -> list[Alternative]:
    """Return the alternatives to an infeasible timeline, one input changed at a time.

    Re-run the scheduler with one input changed at a time (see the module notes), within
    ``p.feasibility_search_s`` seconds; in each family the first feasible change ends that family.
    The battery grows by 1, 2 and 4 steps of ``max(250, 250 ceil(1.1 short / usable / 250))`` Wh, with
    ``short`` the binding Wh short and ``usable = (soc_max - soc_min) * discharge_efficiency``; stays are
    halved, then quartered; stops move halfway to the binding haven; the later landing is tried last.

    Parameters
    ----------
    dem : xarray.DataArray
        The site DEM, elevation in m on projected x, y coordinates (m), shape (ny, nx).
    light : lupex.light.visibility.VisibilitySeries
        Sun and Earth visibility of the campaign window; the later landing is tried only when its
        ``times`` reach ``p.duration_days`` past one lunation (29.53 d) after ``start_utc``.
    rover : lupex.rover.vehicle.RoverParams or None
        The rover the plan was scheduled with (None: its defaults); its ``battery`` sets the steps.
    start_xy : tuple of float
        The rover's position (x, y) at ``start_utc``, m, in the DEM's CRS.
    start_utc : str
        Start of the campaign timeline, UTC ISO 8601.
    p : lupex.mission.campaign.CampaignParams
        The campaign settings: those of :func:`schedule_goals`, plus ``feasibility_search_s`` (s, the
        wall-time bound), ``drill_h`` and ``science_h`` (h, shown in the shorter-stays detail).
    goals : sequence of lupex.rover.scheduler.Goal
        The goals of the failed timeline.
    binding : dict
        The binding constraint (:attr:`lupex.rover.scheduler.NoHavenError.binding`): ``haven_short_wh``
        (Wh) sizes the battery step; ``haven_x_m``, ``haven_y_m`` (m), when present, place the haven the
        stops move towards.

    Returns
    -------
    list of Alternative
        Every try, breadth first over the families (bigger battery, shorter stays, area nearer a haven),
        then the later landing; one not tried says why (search bound spent, light series too short).
    """
    rover = rover or RoverParams()
    goals = list(goals)
    t_stop = time.perf_counter() + float(p.feasibility_search_s)
    out: list[Alternative] = []

    def run_with(rv=rover, gl=goals):
        return lambda: schedule_goals(dem, light, rv, start_xy, start_utc, p, gl)

    b = rover.battery
    usable = (b.soc_max - b.soc_min) * b.discharge_efficiency
    short = float(binding.get("haven_short_wh", 0.0) or 0.0)
    step = max(250.0, math.ceil(1.1 * short / usable / 250.0) * 250.0)
    families = [
        ("bigger battery", [(f"battery {b.capacity_wh:g} -> {b.capacity_wh + k * step:g} Wh (+{k * step:g} Wh)",
                             {"vehicle.battery.capacity_wh": float(b.capacity_wh + k * step)},
                             run_with(rv=dataclasses.replace(rover, battery=dataclasses.replace(
                                 b, capacity_wh=float(b.capacity_wh + k * step)))))
                            for k in (1, 2, 4)]),
        ("shorter stays", [(f"drilling {p.drill_h:g} -> {p.drill_h * f:g} h and science {p.science_h:g} -> "
                            f"{p.science_h * f:g} h per stop",
                            {"campaign.drill_h": p.drill_h * f, "campaign.science_h": p.science_h * f},
                            run_with(gl=[dataclasses.replace(g, drill_h=g.drill_h * f, science_h=g.science_h * f)
                                         for g in goals]))
                           for f in (0.5, 0.25)]),
    ]
    if "haven_x_m" in binding and goals:
        hx, hy = float(binding["haven_x_m"]), float(binding["haven_y_m"])
        moved = _toward(dem, light, rover, p, goals, (hx, hy), 0.5)
        families.append(("area nearer a haven", [(
            f"every stop moved halfway towards the haven at ({hx:.0f}, {hy:.0f}) m",
            {}, run_with(gl=moved))]))
    done = set()
    for level in range(max(len(tries) for _, tries in families)):   # breadth first: one try of each family
        for change, tries in families:
            if change in done or level >= len(tries):
                continue
            detail, settings, run = tries[level]
            if time.perf_counter() > t_stop:
                out.append(Alternative(change, detail, settings, False, False,
                                       f"not tried: the {p.feasibility_search_s:g} s search bound was spent"))
                continue
            a = _try(change, detail, settings, run)
            out.append(a)
            if a.feasible:
                done.add(change)
    later = str(np.datetime64(str(start_utc)[:19], "s") + np.timedelta64(int(round(LUNATION_D * 86400)), "s"))
    t_last = np.datetime64(np.asarray(light.times)[-1], "s")
    fits = np.datetime64(later, "s") + np.timedelta64(int(p.duration_days * 86400), "s") <= t_last
    epoch = str(np.datetime64(later, "s") - np.timedelta64(1, "D"))
    detail = f"landing one lunation ({LUNATION_D:g} days) later: campaign from {later}"
    if not fits:
        out.append(Alternative("later landing", detail, {"landing.epoch": epoch}, False, False,
                               "not tried: the campaign's light series ends before that campaign would"))
    elif time.perf_counter() > t_stop:
        out.append(Alternative("later landing", detail, {"landing.epoch": epoch}, False, False,
                               f"not tried: the {p.feasibility_search_s:g} s search bound was spent"))
    else:
        out.append(_try("later landing", detail, {"landing.epoch": epoch},
                        lambda: schedule_goals(dem, light, rover, start_xy, later, p, goals)))
    return out


def _toward(dem, light, rover, p, goals, xy, frac):
    """``goals`` moved ``frac`` of the way towards ``xy``, each onto the nearest passable planner cell."""
    prob = P.build_problem(dem, light, rover, planner_params(p))
    ok = (prob.passable & (prob.tau > 0).any(axis=1)).reshape(prob.ny, prob.nx)
    xs = np.asarray(dem["x"].values, float)[prob.col0:prob.col0 + prob.nx]
    ys = np.asarray(dem["y"].values, float)[prob.row0:prob.row0 + prob.ny]
    X, Y = np.meshgrid(xs, ys)
    gx, gy = X[ok], Y[ok]
    out = []
    for g in goals:
        tx, ty = g.x_m + frac * (xy[0] - g.x_m), g.y_m + frac * (xy[1] - g.y_m)
        j = int(np.argmin(np.hypot(gx - tx, gy - ty)))
        out.append(dataclasses.replace(g, x_m=float(gx[j]), y_m=float(gy[j])))
    return out


def feasibility_line(feasibility: dict) -> str:
    """One line for the CLI: every plan flown, or the binding constraint and the first feasible alternative.

    ``feasibility``: plan name -> :class:`Feasibility` (``CampaignResult.feasibility``).
    """
    if not feasibility:
        return "campaign timeline: not scheduled"
    bad = {n: f for n, f in feasibility.items() if f.status == "infeasible"}
    if not bad:
        if all(f.status == "flown" for f in feasibility.values()):
            return (f"campaign timeline: {', '.join(feasibility)} flown, every dark period spent at a safe haven that "
                    "survives it")
        return "campaign timeline: not scheduled (" + "; ".join(f"{n}: {f.message}" for n, f in feasibility.items()) + ")"
    f = next(iter(bad.values()))
    b = f.binding
    parts = [f"campaign timeline INFEASIBLE ({', '.join(bad)}; scores not flown)"]
    if b.get("haven_dark_start_utc") and b.get("kind") == "energy":
        parts.append(f"binding: the {b.get('haven_dark_h', float('nan')):.0f} h dark period from "
                     f"{b['haven_dark_start_utc']} at the best haven, {b.get('haven_distance_m', float('nan')):.0f} m "
                     f"away, {b.get('haven_short_wh', 0.0):.0f} Wh short")
    elif b.get("haven_dark_start_utc"):
        parts.append(f"binding: at {b.get('at_utc')} (state of charge {b.get('soc', float('nan')):.2f}) the nearest "
                     f"haven that survives its {b.get('haven_dark_h', float('nan')):.0f} h dark period from "
                     f"{b['haven_dark_start_utc']}, {b.get('haven_distance_m', float('nan')):.0f} m away "
                     f"({b.get('haven_drive_h', float('nan')):.1f} h of driving), is out of reach in time or energy")
    else:
        parts.append(f.message)
    best = f.best_alternative
    if best is None:
        parts.append("no feasible alternative found")
    else:
        parts.append(f"feasible with {_settings_text(best.settings)} ({best.detail})" if best.settings
                     else f"feasible with {best.detail}")
    return "; ".join(parts)
