"""Mission timeline: drives, science stops, drilling, communication passes and hibernation.

:func:`schedule` builds a deterministic activity timeline over the light
series (VIPER-style operations, docs/REFERENCES.md#viper: drive in light between safe
havens, hibernate through dark periods, talk to Earth when it is in view):

1. For each goal in order, drive there with the traverse planner
   (:func:`lupex.rover.planner.plan`; through safe havens,
   :func:`lupex.rover.havens.plan_via_havens`, when a direct leg fails).
2. At the goal, per light step, a greedy rule: dark -> ``hibernate``;
   lit -> the next pending stop activity (``science`` steps, then ``drill``
   steps) if the battery can afford it and still carry the rover through the
   next dark period at this spot in hibernation; else ``communicate`` if the
   Earth is visible; else ``standby``. "Afford" is judged on the battery the
   final check will see: before each stop the state of charge is re-simulated
   with the thermal and battery models over the timeline so far, an activity
   keeps back its duration x the heaters' maximum power (the steady-state heater
   estimate misses the warm-up after a cold night), and the reserve covers the
   standby steps in weak sunlight before the dark as well as the dark itself.
3. After the last goal the same rule runs at the last spot until the end.

Haven-aware (default, ``havens=None``): a haven is judged against the dark period the rover will meet
there, from the light series at the mast height (:class:`lupex.rover.havens.HavenIndex`: hibernation
load plus the steady survival heaters through that period's real duration, with ``haven_margin_wh``
left above soc_min), not against the span's longest night. At a spot that cannot survive its own next
dark period, an activity (or a further step of standby) starts only if, when it ends, a haven that
survives its next dark period can still be reached (static drive time plus ``haven_margin_h``) before
that period starts; otherwise the rover leaves at once (egress before the dark, also out of a shadowed
stop). A leg to the next goal starts only if, on arrival, the goal survives its next dark period or a
haven is still within reach from it; else the rover first spends the coming dark period at a haven.
Each retreat is checked by the traverse planner (reachable in time and energy) and by parking through
the dark with the margin (:func:`lupex.rover.havens.park`). When no haven works,
:class:`NoHavenError` carries the binding constraint (:func:`binding_constraint`). With
``command_wait_h`` each leg to a goal starts when the Earth is next in view at the departure spot
(commands over the direct-to-Earth link), if that comes within the wait.

Then the *whole* timeline is re-simulated with the vehicle models:
:func:`lupex.rover.thermal.simulate` (heater power from the thermostats) and
:func:`lupex.rover.power.step_battery` (mode loads + heaters), and the
constraints are asserted at every interval: no load left unpowered (SOC never
below ``soc_min``), both thermal nodes above their survival temperature,
communication only when the Earth is visible. A violation raises
:class:`ScheduleError` naming the time and the constraint. Data volume per
``communicate`` interval: :func:`lupex.rover.comms.max_data_rate_bps` x time.

Layout: this module runs the stages (set up, drive to each goal, work there, stay to the end);
the per-step rule at a spot is :mod:`lupex.rover.stop_rule`, the retreats to havens and the
binding constraint :mod:`lupex.rover.retreat`, the final re-simulation and check
:mod:`lupex.rover.schedule_check`. Every name is still importable from here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lupex.rover import havens as H
from lupex.rover import planner as P
from lupex.rover.retreat import (  # noqa: F401  (moved there; still importable from here)
    RETREAT_FALLBACKS,
    RETREAT_MAX_STATES,
    NoHavenError,
    _retreat,
    binding_constraint,
    binding_message,
)
from lupex.rover.schedule_check import ScheduleError, Timeline, _evaluate, _resync, _simulate  # noqa: F401  (moved there)
from lupex.rover.stop_rule import EGRESS_FACTOR, _dark_work, _stop_steps  # noqa: F401
from lupex.rover.vehicle import RoverParams

__all__ = ["ScheduleError", "NoHavenError", "Goal", "Timeline", "schedule", "binding_constraint", "binding_message"]


@dataclass(frozen=True)
class Goal:
    """A stop: position (metres, DEM CRS), hours of science and of drilling (lit hours at the stop)."""

    x_m: float
    y_m: float
    science_h: float = 2.0
    drill_h: float = 4.0
    name: str = ""


def schedule(dem, light, rover: RoverParams | None = None, start=None, duration_days: float = 180.0, goals=(),
             params: P.PlannerParams | None = None, havens: pd.DataFrame | None = None, start_xy=None,
             haven_margin_wh: float = 0.0, haven_margin_h: float = 0.0, command_wait_h: float = 0.0) -> Timeline:
    """Activity timeline from ``start`` (UTC; default the series start) for ``duration_days`` (see module notes).

    ``light``: a :class:`lupex.light.visibility.VisibilitySeries` whose window covers the
    start and all goals; ``goals``: :class:`Goal` sequence; ``start_xy``: the rover's
    position at ``start`` (default: the first goal, i.e. stay there). ``havens``: a fixed list of safe
    havens (:func:`lupex.rover.havens.find_havens`); default (None): havens in time
    (:func:`lupex.rover.havens.haven_index`), each judged against the dark period the rover meets there.
    ``haven_margin_wh`` (Wh): energy every dark period must leave above soc_min at a haven;
    ``haven_margin_h`` (h): how long before a haven's dark period the rover must be there.
    ``command_wait_h`` (h): each leg to a goal is commanded over the direct-to-Earth link: it starts at the
    first light step with the Earth in view at the departure spot if one comes within this many hours (the
    rover waits there), otherwise at once as a stored sequence (0: no wait; drives to havens never wait).
    Raises :class:`NoHavenError` (with :attr:`NoHavenError.binding`) when no haven can be reached and survived.

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM, (ny, nx) heights, m.
    light : lupex.light.visibility.VisibilitySeries
        Sun and Earth visibility over a window holding the start and every goal, spanning ``duration_days``.
    rover : RoverParams, optional
        The rover: loads per mode, battery, thermal nodes, comms (default ``RoverParams()``).
    start : str or np.datetime64, optional
        UTC of the timeline's start, inside the series; None: the series' first time.
    duration_days : float
        Length of the timeline, days (86,400 s).
    goals : sequence of Goal or tuple
        The stops in order; a tuple is read as ``Goal(x_m, y_m, science_h, drill_h, name)``.
    params : PlannerParams, optional
        The traverse planner's settings (default ``PlannerParams()``).
    havens : pandas.DataFrame, optional
        A fixed list of safe havens (full-DEM ``row``, ``col``); None: havens in time.
    start_xy : tuple of float, optional
        The rover's (x, y) at ``start``, m, in the DEM's CRS; None: the first goal.
    haven_margin_wh : float
        Energy each dark period must leave above soc_min at a haven, Wh (>= 0).
    haven_margin_h : float
        Time before a haven's dark period by which the rover must be there, h (>= 0).
    command_wait_h : float
        Longest wait for the Earth before a leg to a goal starts, h (0: no wait).

    Returns
    -------
    Timeline
        ``activities`` (one row per run of one mode at one place: UTC span, mode, data volume in bit, ...),
        ``trace`` (per interval: SoC, node temperatures in K, ...) and the drive ``plans`` to each goal, after the
        whole timeline passed the battery, thermal and Earth-visibility checks.
    """
    rover = rover or RoverParams()
    params = params or P.PlannerParams()
    goals = [g if isinstance(g, Goal) else Goal(*g) for g in goals]
    ctx = _setup(dem, light, rover, params, start, duration_days, goals, start_xy, havens,
                 haven_margin_wh=haven_margin_wh, haven_margin_h=haven_margin_h, command_wait_h=command_wait_h)
    at = _start_state(ctx, goals, start_xy)
    segs: list[P.Segment] = []
    plans = []
    for i, g in enumerate(goals):
        what = f"goal {i + 1}"
        gcell = P._window_cell(ctx.prob, P.cell_of(dem, (g.x_m, g.y_m), what), what)
        leg = _drive_to_goal(ctx, at, gcell, i, g, segs)
        plans.append(leg.segments)
        at = _work_at_goal(ctx, leg.at, i, g, segs)
    _stay_to_end(ctx, at, segs)
    segs = _clip(segs, ctx.t_end)
    return _evaluate(dem, ctx.prob, rover, params, segs, tuple(plans), ctx.k_start)


@dataclass
class _Ctx:
    """What every stage of :func:`schedule` reads: the site, the planning problem, the vehicle and the horizon."""

    dem: object
    prob: P.Problem
    rover: RoverParams
    params: P.PlannerParams
    havens: object
    light: object
    idx: object
    t_end: int
    k_start: int = 0               # light step of the timeline's start
    duration_days: float = 0.0     # as asked for (the messages quote it)
    command_wait_h: float = 0.0
    periods: dict = field(default_factory=dict)   # cell -> havens.dark_periods(...) of goals looked at


@dataclass(frozen=True)
class _State:
    """Where the rover is: window cell, tick of the timeline, battery deficit (J below soc_max)."""

    cell: int
    t: int
    D: float


@dataclass(frozen=True)
class _Leg:
    """The drive to a goal (``segments``, empty when the rover is already there) and the state it ends in."""

    at: _State
    segments: list


def _setup(dem, light, rover, params, start, duration_days, goals, start_xy, havens, *, haven_margin_wh,
           haven_margin_h, command_wait_h) -> _Ctx:
    """Check the request and build the planning problem and the haven index from ``start`` on."""
    if start_xy is None and not goals:
        raise ScheduleError("give a start position (start_xy) or at least one goal")
    if not (np.isfinite(haven_margin_wh) and haven_margin_wh >= 0 and np.isfinite(haven_margin_h) and haven_margin_h >= 0):
        raise ScheduleError(f"haven margins must be >= 0, got {haven_margin_wh!r} Wh and {haven_margin_h!r} h")
    start = str(light.times[0])[:19] if start is None else start
    k_start = light.time_index(start)
    prob = P.build_problem(dem, light, rover, params).with_start(start)
    t_end = int(round(duration_days * 86400 / prob.tick_s))
    if t_end > prob.t_max:
        raise ScheduleError(
            f"the light series ends {(prob.t_max * prob.tick_s) / 86400:.1f} days after the start, shorter than the "
            f"{duration_days:g} days asked for; compute the series over a longer span or shorten duration_days"
        )
    idx = H.haven_index(prob, rover, margin_wh=haven_margin_wh, margin_h=haven_margin_h) if havens is None else None
    return _Ctx(dem=dem, prob=prob, rover=rover, params=params, havens=havens, light=light, idx=idx, t_end=t_end,
                k_start=k_start, duration_days=duration_days, command_wait_h=command_wait_h)


def _start_state(ctx: _Ctx, goals, start_xy) -> _State:
    """The rover at ``start_xy`` (default: the first goal) at tick 0 with the planner's ``soc_start``."""
    pos_xy = start_xy if start_xy is not None else (goals[0].x_m, goals[0].y_m)
    cell = P._window_cell(ctx.prob, P.cell_of(ctx.dem, pos_xy, "start"), "start")
    b = ctx.rover.battery
    return _State(cell=cell, t=0, D=(b.soc_max - ctx.params.soc_start) * b.capacity_wh * 3600.0)


def _drive_to_goal(ctx: _Ctx, at: _State, gcell: int, i: int, g: Goal, segs: list) -> _Leg:
    """Drive to goal ``i`` (window cell ``gcell``).

    After a haven stay if the goal's dark period needs one, after waiting for the Earth if ``command_wait_h``;
    directly by the planner, else through safe havens.
    """
    cell, t, D = at.cell, at.t, at.D
    if gcell != cell:
        cell, t, D = _before_leg(ctx, cell, gcell, t, D, segs)
    if gcell != cell and ctx.command_wait_h > 0:
        t, D = _wait_for_earth(ctx, cell, t, D, segs, ctx.command_wait_h)
    if gcell == cell:
        return _Leg(at=_State(cell=cell, t=t, D=D), segments=[])
    prob = ctx.prob
    res = P.astar(prob, cell, gcell, t, D, max_states=ctx.params.max_states)
    if res.status == P.FOUND:
        legs = P.segments_from_search(res)
        D = float(res.deficit_j[-1])
    else:
        hv = ctx.havens if ctx.havens is not None else H.find_havens(ctx.dem, ctx.light, ctx.rover, ctx.params)
        try:
            legs, D = _via_havens(ctx.dem, ctx.light, prob, cell, gcell, t, D, hv, ctx.rover, ctx.params)
        except P.PlanError as exc:
            raise ScheduleError(f"goal {i + 1} ({g.name or f'{g.x_m:.0f}, {g.y_m:.0f} m'}) unreachable: {exc}") from exc
    if legs[-1].t1 > ctx.t_end:
        raise ScheduleError(f"goal {i + 1} is reached only after the end of the {ctx.duration_days:g}-day timeline; "
                            "lengthen it or drop goals")
    segs += legs
    return _Leg(at=_State(cell=gcell, t=legs[-1].t1, D=D), segments=legs)


def _work_at_goal(ctx: _Ctx, at: _State, i: int, g: Goal, segs: list) -> _State:
    """State after science and drilling at goal ``i`` in lit steps, until every pending hour is done.

    Retreating to a haven over dark periods the spot cannot survive.
    """
    prob, rover, params, idx, t_end = ctx.prob, ctx.rover, ctx.params, ctx.idx, ctx.t_end
    cell, t, D = at.cell, at.t, at.D
    pending = [[m, int(np.ceil(h * 3600 / prob.tick_s))] for m, h in (("science", g.science_h), ("drill", g.drill_h)) if h > 0]
    while pending:
        before = [list(q) for q in pending]
        D = D0 = _resync(prob, rover, params, segs, D)
        s2, D, pending = _stop_steps(prob, rover, cell, t, D, t_end, 0, 0, pending, idx)
        if s2:
            if not pending:  # cut the stop after its last science/drill step (same decisions, replayed)
                last = max(j for j, q in enumerate(s2) if q.mode in ("science", "drill"))
                s2, D, _ = _stop_steps(prob, rover, cell, t, D0, s2[last].t1, 0, 0, before, idx)
            segs += s2
            t = s2[-1].t1
        if not pending:
            break
        if t >= t_end:
            raise ScheduleError(f"goal {i + 1}: {sum(q[1] for q in pending) * prob.tick_s / 3600:.1f} h of science/drill left at the end of the timeline "
                                "(too little light or energy at the stop); lengthen it or ask for less")
        cell, t, D = _retreat(ctx, cell, t, D, segs, back_to=cell)
    return _State(cell=cell, t=t, D=D)


def _stay_to_end(ctx: _Ctx, at: _State, segs: list) -> _State:
    """After the last goal: the stop rule at the last spot to the end, parking at havens over dark periods."""
    prob, rover, params, idx, t_end = ctx.prob, ctx.rover, ctx.params, ctx.idx, ctx.t_end
    cell, t, D = at.cell, at.t, at.D
    if t < t_end:
        D = _resync(prob, rover, params, segs, D)
        rest, D, _ = _stop_steps(prob, rover, cell, t, D, t_end, 0, 0, [], idx)
        segs += rest
        t = rest[-1].t1 if rest else t
        while t < t_end:  # the spot cannot hibernate through the next dark run: park at a haven
            cell, t, D = _retreat(ctx, cell, t, D, segs, back_to=None)
            if t >= t_end:
                break
            D = _resync(prob, rover, params, segs, D)
            rest, D, _ = _stop_steps(prob, rover, cell, t, D, t_end, 0, 0, [], idx)
            segs += rest
            t = rest[-1].t1 if rest else t
    return _State(cell=cell, t=t, D=D)


def _clip(segs, t_end):
    """``segs`` cut at ``t_end`` (a final park may run past the timeline's end)."""
    out = []
    for s in segs:
        if s.t0 >= t_end:
            break
        out.append(s if s.t1 <= t_end or s.mode == "drive" else P.Segment(s.t0, t_end, s.cell_from, s.cell_to, s.mode))
    return out


def _spot_survives(ctx, cell, tick, D):
    """True when ``cell``'s dark run at or after ``tick`` can be spent hibernating there with the margin."""
    prob, idx = ctx.prob, ctx.idx
    k = (prob.k0_tick + tick) // prob.ticks_per_step
    if k >= prob.n_steps:
        return True
    if cell not in ctx.periods:
        ctx.periods[cell] = H.dark_periods(prob, cell, idx.hib_w)
    s, e, peak_wh, _ = ctx.periods[cell]
    i = int(np.searchsorted(e, k, side="right"))
    if i >= s.size:
        return True
    return peak_wh[i] * 3600.0 + (D if s[i] <= k else 0.0) <= prob.dmax_j - idx.margin_wh * 3600.0


def _wait_for_earth(ctx, cell, t, D, segs, wait_h):
    """(tick, deficit J) after standing by at ``cell`` until the first light step with the Earth in view.

    Or communicating / hibernating by the stop rule; only if that step comes within ``wait_h`` hours and the stop
    rule does not send the rover away first.
    """
    prob = ctx.prob
    k = (prob.k0_tick + t) // prob.ticks_per_step
    n = int(math.ceil(wait_h * 3600.0 / (prob.ticks_per_step * prob.tick_s)))
    vis = np.flatnonzero(prob.earth[k:k + n + 1, cell] >= prob.earth_u8)
    if not vis.size or vis[0] == 0:
        return t, D
    t_go = min((k + int(vis[0])) * prob.ticks_per_step - prob.k0_tick, ctx.t_end)
    D = _resync(prob, ctx.rover, ctx.params, segs, D)
    rest, D, _ = _stop_steps(prob, ctx.rover, cell, t, D, t_go, 0, 0, [], ctx.idx)
    segs += rest
    return (rest[-1].t1 if rest else t), D


def _before_leg(ctx, cell, gcell, t, D, segs, tries: int = 12):
    """Haven-aware approach: (cell, tick, deficit J) from which to drive to ``gcell``.

    Drive only if, on arrival, the goal survives its own next dark run or a haven is still within reach from it;
    else spend the coming dark period at a haven first.
    """
    prob, idx = ctx.prob, ctx.idx
    if idx is None:
        return cell, t, D
    h_goal = P.heuristic_ticks(prob, gcell)
    for _ in range(tries):
        if t >= ctx.t_end or not np.isfinite(h_goal[cell]):
            return cell, t, D
        arrive = int(t + h_goal[cell])
        if _spot_survives(ctx, gcell, arrive, 0.0) or idx.leave_by_ok(prob, gcell, arrive + prob.ticks_per_step, D) >= 0:
            return cell, t, D
        cell2, t2, D2 = _retreat(ctx, cell, t, D, segs, back_to=None)
        if t2 <= t:
            return cell, t, D
        cell, t, D = cell2, t2, D2
    return cell, t, D


def _via_havens(dem, light, prob, cell, gcell, t, D, hv, rover, params):
    """Segments (on the schedule's clock) and end deficit (J) of a drive through safe havens.

    By :func:`lupex.rover.havens.plan_via_havens` from tick ``t`` with deficit ``D``.
    """
    sub = dataclasses.replace(prob, k0_tick=prob.k0_tick + t)
    r, c = divmod(cell, prob.nx)
    gr, gc = divmod(gcell, prob.nx)
    xs = np.asarray(dem["x"].values, float)
    ys = np.asarray(dem["y"].values, float)
    start_utc = str(sub.tick_time(0))[:19]
    p = dataclasses.replace(params, soc_start=max(rover.battery.soc_min, rover.battery.soc_max - D / (rover.battery.capacity_wh * 3600.0)))
    plan = H.plan_via_havens(dem, light, (xs[c + prob.col0], ys[r + prob.row0]), (xs[gc + prob.col0], ys[gr + prob.row0]),
                             start_utc, hv, rover, p, prob=sub)
    # rebuild segments on the schedule's clock from the plan's states
    ticks = ((plan.times - prob.tick_time(0)) / np.timedelta64(1, "s") / prob.tick_s).round().astype(np.int64)
    cells = (plan.rows - prob.row0) * prob.nx + (plan.cols - prob.col0)
    segs = [P.Segment(int(ticks[i]), int(ticks[i + 1]), int(cells[i]), int(cells[i + 1]), str(plan.mode[i]))
            for i in range(len(ticks) - 1)]
    Dend = (rover.battery.soc_max - plan.soc[-1]) * rover.battery.capacity_wh * 3600.0
    return segs, float(Dend)
