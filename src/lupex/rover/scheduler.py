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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lupex.errors import LupexError
from lupex.rover import comms, power, thermal
from lupex.rover import havens as H
from lupex.rover import planner as P
from lupex.rover.vehicle import RoverParams

__all__ = ["ScheduleError", "NoHavenError", "Goal", "Timeline", "schedule", "binding_constraint", "binding_message"]


class ScheduleError(LupexError):
    """The timeline cannot be built or breaks a constraint (the message says which, where and when)."""


@dataclass(frozen=True)
class Goal:
    """A stop: position (metres, DEM CRS), hours of science and of drilling (lit hours at the stop)."""

    x_m: float
    y_m: float
    science_h: float = 2.0
    drill_h: float = 4.0
    name: str = ""


@dataclass(frozen=True)
class Timeline:
    """Activities (one row per run of the same mode at the same place) and the per-interval trace."""

    activities: pd.DataFrame
    trace: pd.DataFrame
    plans: tuple

    def summary(self) -> dict:
        a = self.activities
        dur = (a["end_utc"] - a["start_utc"]).dt.total_seconds() / 3600.0
        return {
            "start_utc": str(a["start_utc"].iloc[0])[:19], "end_utc": str(a["end_utc"].iloc[-1])[:19],
            "hours_by_mode": {m: float(dur[a["mode"] == m].sum()) for m in sorted(a["mode"].unique())},
            "min_soc": float(self.trace["soc_end"].min()),
            "min_electronics_k": float(self.trace["electronics_min_k"].min()),
            "min_battery_k": float(self.trace["battery_min_k"].min()),
            "data_volume_gbit": float(a["data_volume_bits"].sum() / 1e9),
            "goals_reached": len(self.plans),
        }


def _stop_steps(prob: P.Problem, rover: RoverParams, cell: int, t: int, d_j: float, t_end: int, science: int, drill: int,
                pending=None, idx: H.HavenIndex | None = None):
    """Greedy per-light-step activities at one spot from tick t to t_end; returns (segments, deficit, pending).

    At a spot that cannot hibernate through its next dark run (with ``idx.margin_wh`` left), it stops at the
    first dark step, or, with a haven index ``idx``, at the first lit step after which no candidate haven
    could still be reached before its own dark run (the caller retreats to a safe haven): an activity is
    started only if, when it ends, a haven that survives the next dark period is still within reach.
    """
    tps = prob.ticks_per_step
    hib = rover.loads.hibernate_w + P.heater_power_w(rover, rover.loads.hibernate_w, False)
    pending = [list(q) for q in pending] if pending is not None else []
    dark = prob.sun[:, cell] <= prob.dark_u8
    # headroom (J below a full battery) the rover needs at the start of step k, standing by in lit steps
    # (net of the panels) and hibernating in dark ones, backward passes with charging capped at full:
    # ``leave``: through the lit steps until the next dark run; ``res``: staying here from step k on
    # (R[k] = max(use_k + R[k+1], 0): a dark run, the weak light after it and any dark run a glimmer too weak
    # to pay the battery back leads into); ``ep``: ``res`` at a dark step; ``nd``: ``res`` at the start of
    # the next dark run
    leave = np.zeros(prob.n_steps + 1)
    ep = np.zeros(prob.n_steps + 1)
    res = np.zeros(prob.n_steps + 1)
    nd = np.zeros(prob.n_steps + 1)
    lit_load = prob.wait_load_w + prob.heater_w[2]
    step_s = tps * prob.tick_s
    for k in range(prob.n_steps - 1, -1, -1):
        net = -hib if dark[k] else prob.panel_wait_w[k] * prob.sun[k, cell] / 255.0 - lit_load
        use = -prob.eta_c * net * step_s if net >= 0 else -net * step_s / prob.eta_d
        nxt_dark = k + 1 < prob.n_steps and dark[k + 1]
        res[k] = max(use + res[k + 1], 0.0)
        if dark[k]:
            ep[k] = res[k]
            nd[k] = res[k]
        else:
            leave[k] = max(use + (0.0 if nxt_dark else leave[k + 1]), 0.0)
            ep[k] = leave[k]
            nd[k] = nd[k + 1]
    heat_max = sum(n.heater_max_w for n in (rover.thermal.electronics, rover.thermal.battery))
    margin_j = idx.margin_wh * 3600.0 if idx is not None else 0.0
    out = []
    a = t
    D = d_j
    while a < t_end:
        k = (prob.k0_tick + a) // tps
        b = min(t_end, (k + 1) * tps - prob.k0_tick)
        f = prob.sun[k, cell]
        lit = f > prob.dark_u8
        dt = (b - a) * prob.tick_s
        sol = prob.panel_wait_w[k] * f / 255.0
        if not lit:
            # work on the battery in the shadow, keeping what the drive out to a haven needs (egress)
            work = _dark_work(prob, rover, idx, cell, a, b, D, pending, heat_max, margin_j) if pending else None
            if work is None and ep[k] > prob.dmax_j - margin_j - D:
                break  # this dark run and the weak light after it cannot be survived here
            if work is not None:
                mode, load, b, dt = work
                pending[0][1] -= b - a
                if pending[0][1] <= 0:
                    pending.pop(0)
                net = -load
                D = D - net * dt / prob.eta_d
                out.append(P.Segment(a, b, cell, cell, mode))
                a = b
                continue
            mode, load = "hibernate", hib
        else:
            # reserve: standing by (lit) and hibernating (dark) here from the next step on; where that cannot be
            # survived (not a haven) only the lit steps until the next dark run: the rover leaves before the dark
            haven_here = nd[k + 1] <= prob.dmax_j - margin_j
            reserve = res[k + 1] if haven_here else leave[k + 1]
            sb = sol - lit_load
            d_sb = max(D - prob.eta_c * sb * dt, 0.0) if sb >= 0 else D - sb * dt / prob.eta_d
            if idx is not None and not haven_here and idx.leave_by_ok(prob, cell, b, d_sb) < 0:
                break  # leave now: later, no haven could be reached (and survived) before its dark period
            if idx is not None and haven_here and D + res[k] > prob.dmax_j - margin_j and D > 0:
                break  # a haven from a full battery, but not from this one (weak light ahead): leave while lit
            mode, load = "standby", prob.wait_load_w + prob.heater_w[2]
            cands = ([pending[0][0]] if pending else []) + (["communicate"] if prob.earth[k, cell] >= prob.earth_u8 else [])
            for j, m in enumerate(cands):
                bb = min(b, a + pending[0][1]) if (j == 0 and pending) else b
                ld = rover.loads.of(m) + P.heater_power_w(rover, rover.loads.of(m), True)
                net = sol - ld
                dd = (bb - a) * prob.tick_s
                D2 = max(D - prob.eta_c * net * dd, 0.0) if net >= 0 else D - net * dd / prob.eta_d
                # margin: the heaters at full power for the activity (the warm-up after a cold night)
                if D2 + reserve + heat_max * dd / prob.eta_d <= prob.dmax_j and (
                        idx is None or haven_here
                        or idx.leave_by_ok(prob, cell, bb, D2 + heat_max * dd / prob.eta_d) >= 0):
                    mode, load, b, dt = m, ld, bb, dd
                    if j == 0 and pending:
                        pending[0][1] -= bb - a
                        if pending[0][1] <= 0:
                            pending.pop(0)
                    break
        net = sol - load
        D = max(D - prob.eta_c * net * dt, 0.0) if net >= 0 else D - net * dt / prob.eta_d
        out.append(P.Segment(a, b, cell, cell, mode))
        a = b
    return out, D, pending


EGRESS_FACTOR = 1.5
"""The drive out of a shadow is budgeted at this times its least static drive time at the flat drive load
(the static time is a lower bound: the planned route may wait or climb; on Site01 a 180 m egress took 1.5 h)."""


def _dark_work(prob, rover, idx, cell, a, b, D, pending, heat_max, margin_j):
    """Work in a shadow the rover cannot wait out (a cold trap: VIPER-style excursions on the battery): the next
    pending activity from tick ``a`` (to ``b`` at most) if, when it ends, a haven that survives its next dark
    period is still reachable before that period and the battery still holds the drive there (static drive
    time at the drive load plus the dark heaters) with the margin. Returns (mode, load_w, end tick, dt_s) or
    None (leave now)."""
    if idx is None:
        return None
    m = pending[0][0]
    bb = min(b, a + pending[0][1])
    dd = (bb - a) * prob.tick_s
    ld = rover.loads.of(m) + P.heater_power_w(rover, rover.loads.of(m), False)
    j = idx.leave_by_ok(prob, cell, bb, D + (ld + heat_max) * dd / prob.eta_d)
    if j < 0:
        return None
    egress_j = EGRESS_FACTOR * idx.to_haven_ticks[j, cell] * prob.tick_s * (rover.loads.drive_w + prob.heater_w[1]) \
        / prob.eta_d
    if D + (ld + heat_max) * dd / prob.eta_d + egress_j > prob.dmax_j - margin_j:
        return None
    return m, ld, bb, dd


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
    """
    rover = rover or RoverParams()
    params = params or P.PlannerParams()
    goals = [g if isinstance(g, Goal) else Goal(*g) for g in goals]
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
    ctx = _Ctx(dem, prob, rover, params, havens, light, idx, t_end)
    pos_xy = start_xy if start_xy is not None else (goals[0].x_m, goals[0].y_m)
    cell = P._window_cell(prob, P.cell_of(dem, pos_xy, "start"), "start")
    b = rover.battery
    D = (b.soc_max - params.soc_start) * b.capacity_wh * 3600.0
    t = 0
    segs: list[P.Segment] = []
    plans = []
    for i, g in enumerate(goals):
        gcell = P._window_cell(prob, P.cell_of(dem, (g.x_m, g.y_m), f"goal {i + 1}"), f"goal {i + 1}")
        if gcell != cell:
            cell, t, D = _before_leg(ctx, cell, gcell, t, D, segs)
        if gcell != cell and command_wait_h > 0:
            t, D = _wait_for_earth(ctx, cell, t, D, segs, command_wait_h)
        if gcell != cell:
            res = P.astar(prob, cell, gcell, t, D, max_states=params.max_states)
            if res.status == P.FOUND:
                legs = P.segments_from_search(res)
                D = float(res.deficit_j[-1])
            else:
                hv = havens if havens is not None else H.find_havens(dem, light, rover, params)
                try:
                    pl = _via_havens(dem, light, prob, cell, gcell, t, D, hv, rover, params)
                except P.PlanError as exc:
                    raise ScheduleError(f"goal {i + 1} ({g.name or f'{g.x_m:.0f}, {g.y_m:.0f} m'}) unreachable: {exc}") from exc
                legs, D = pl
            if legs[-1].t1 > t_end:
                raise ScheduleError(f"goal {i + 1} is reached only after the end of the {duration_days:g}-day timeline; "
                                    "lengthen it or drop goals")
            segs += legs
            plans.append(legs)
            t = legs[-1].t1
            cell = gcell
        else:
            plans.append([])
        # stop: science and drilling in lit steps; retreat to a haven over dark periods the spot cannot survive
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
    segs = _clip(segs, t_end)
    return _evaluate(dem, prob, rover, params, segs, tuple(plans), k_start)


class NoHavenError(ScheduleError):
    """No safe haven can be reached and survived: ``binding`` (a dict) names the dark period, the energy short
    and the nearest haven that would have done, and how far it was."""

    def __init__(self, message: str, binding: dict):
        super().__init__(message)
        self.binding = binding


@dataclass
class _Ctx:
    dem: object
    prob: P.Problem
    rover: RoverParams
    params: P.PlannerParams
    havens: object
    light: object
    idx: object
    t_end: int
    periods: dict = field(default_factory=dict)   # cell -> havens.dark_periods(...) of goals looked at


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
    """Stand by (or communicate / hibernate by the stop rule) at ``cell`` until the first light step with the
    Earth in view, if one comes within ``wait_h`` hours and the stop rule does not send the rover away first."""
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
    """Haven-aware approach: drive to ``gcell`` only if, on arrival, the goal survives its own next dark run or a
    haven is still within reach from it; else spend the coming dark period at a haven first."""
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


RETREAT_FALLBACKS = 3
"""Candidate havens tried after those that survive the dark period met on arrival (nearest first)."""
RETREAT_MAX_STATES = 2_000_000
"""Search states allowed for a drive to a haven (a few hours' drive needs far fewer; a haven out of reach
in time or energy would otherwise be searched to exhaustion)."""


def _retreat(ctx, cell, t, D, segs, back_to):
    """Drive to the nearest reachable safe haven, park through the dark until charged; optionally drive back.

    With havens in time (``ctx.idx``) the candidates are tried nearest first, those that survive the dark
    period met on arrival before the others; each is checked by the planner (reachable in time and energy)
    and by parking there through the dark with the margin (:func:`lupex.rover.havens.park`)."""
    dem, prob, rover, params, light, idx = ctx.dem, ctx.prob, ctx.rover, ctx.params, ctx.light, ctx.idx
    r, c = divmod(cell, prob.nx)
    margin_j = idx.margin_wh * 3600.0 if idx is not None else 0.0
    if idx is not None:
        order = idx.order_from(cell)
        good = [j for j in order if idx.acceptable(prob, int(j), t, cell, D)]
        order = good + [j for j in order if j not in set(good)][:RETREAT_FALLBACKS]
        cand = [int(idx.cells[j]) for j in order]
    else:
        hv = ctx.havens if ctx.havens is not None else H.find_havens(dem, light, rover, params)
        if len(hv) == 0:
            raise ScheduleError("the rover must leave a spot that cannot survive the coming dark period, but there is "
                                "no safe haven in the planning window; enlarge the window or the battery")
        dist = np.hypot(hv["row"].to_numpy() - prob.row0 - r, hv["col"].to_numpy() - prob.col0 - c)
        cand = []
        for j in np.argsort(dist, kind="stable"):
            hr, hc = int(hv["row"].iloc[j]) - prob.row0, int(hv["col"].iloc[j]) - prob.col0
            if 0 <= hr < prob.ny and 0 <= hc < prob.nx:
                cand.append(hr * prob.nx + hc)
    for h in cand:
        if h == cell:
            legs, t1, D1 = [], t, D
        else:
            res = P.astar(prob, cell, h, t, D, max_states=min(params.max_states, RETREAT_MAX_STATES))
            if res.status != P.FOUND:
                continue
            legs, t1, D1 = P.segments_from_search(res), res.arrival_tick, float(res.deficit_j[-1])
        parked = H.park(prob, rover, h, t1, D1, margin_j, until=max(ctx.t_end, t1 + 1))
        if parked is None:
            continue
        t2, D2, seg = parked
        segs += legs + [seg]
        if back_to is None or back_to == h or t2 >= ctx.t_end:
            return h, t2, D2
        # wait at the haven until the spot to go back to is lit again, then charge
        k = (prob.k0_tick + t2) // prob.ticks_per_step
        lit = np.flatnonzero(prob.sun[k:, back_to] > prob.dark_u8)
        if lit.size and lit[0] > 0:
            t3 = (k + int(lit[0])) * prob.ticks_per_step - prob.k0_tick
            rest, D2, _ = _stop_steps(prob, rover, h, t2, D2, t3, 0, 0, [], idx)
            segs += rest
            again = H.park(prob, rover, h, t3, D2, margin_j, until=max(ctx.t_end, t3 + 1))
            if again is None:
                del segs[len(segs) - len(rest) - len(legs) - 1:]
                continue
            t2, D2, seg = again
            segs.append(seg)
        res = P.astar(prob, h, back_to, t2, D2, max_states=params.max_states)
        if res.status != P.FOUND:
            return h, t2, D2  # stay at the haven; the caller tries again from here
        segs += P.segments_from_search(res)
        return back_to, res.arrival_tick, float(res.deficit_j[-1])
    when = str(prob.tick_time(t))[:19]
    if idx is None:
        raise ScheduleError(f"no safe haven can be reached and survived from {when} at cell "
                            f"({r + prob.row0}, {c + prob.col0}); enlarge the battery or add havens")
    b = binding_constraint(ctx, cell, t, D)
    raise NoHavenError(binding_message(b), b)


def binding_constraint(ctx, cell, t, D) -> dict:
    """Why no haven works from ``cell`` at tick ``t``: per candidate, the dark period it meets on arrival
    (static drive time), its energy need against the usable battery less the margin; the binding one is the
    candidate closest to working (least energy short, then nearest)."""
    prob, idx, dem = ctx.prob, ctx.idx, ctx.dem
    xs = np.asarray(dem["x"].values, float)
    ys = np.asarray(dem["y"].values, float)
    r, c = divmod(cell, prob.nx)
    rows = []
    for j, h in enumerate(idx.cells):
        tt = idx.to_haven_ticks[j, cell]
        hr, hc = divmod(int(h), prob.nx)
        dist = float(np.hypot(xs[hc + prob.col0] - xs[c + prob.col0], ys[hr + prob.row0] - ys[r + prob.row0]))
        reach = bool(np.isfinite(tt))
        nd = idx.need(prob, j, int(t + (tt if reach else 0)))
        row = dict(haven_row=hr + prob.row0, haven_col=hc + prob.col0, haven_x_m=float(xs[hc + prob.col0]),
                   haven_y_m=float(ys[hr + prob.row0]), distance_m=dist,
                   drive_h=float(tt * prob.tick_s / 3600.0) if reach else float("inf"), reachable=reach)
        if nd is not None:
            row.update(dark_start_utc=str(prob.tick_time(nd.start_step * prob.ticks_per_step - prob.k0_tick))[:19],
                       dark_h=nd.hours, need_wh=nd.whole_need_wh, available_wh=nd.available_wh,
                       short_wh=max(nd.whole_need_wh - nd.available_wh, 0.0), complete=nd.complete)
        rows.append(row)
    ok = [q for q in rows if "short_wh" in q and q["reachable"]]
    best = min(ok, key=lambda q: (round(q["short_wh"], 3), q["drive_h"])) if ok else (rows[0] if rows else {})
    kind = "energy" if best.get("short_wh", 0.0) > 0 else "reach"
    out = dict(kind=kind, at_utc=str(prob.tick_time(t))[:19], rover_row=r + prob.row0, rover_col=c + prob.col0,
               rover_x_m=float(xs[c + prob.col0]), rover_y_m=float(ys[r + prob.row0]),
               soc=float(prob.soc_max - D / prob.capacity_j), margin_wh=idx.margin_wh,
               hibernate_w=idx.hib_w, candidates=len(rows), **{f"haven_{k}" if not k.startswith("haven_") else k: v
                                                               for k, v in best.items()})
    return out


def binding_message(b: dict) -> str:
    """One sentence from :func:`binding_constraint`'s dict."""
    if not b.get("candidates"):
        return (f"at {b.get('at_utc')} the rover must leave a spot that cannot survive the coming dark period and "
                "no cell of the planning window can serve as a haven; enlarge the window or the battery")
    where = f"haven at ({b['haven_x_m']:.0f}, {b['haven_y_m']:.0f}) m, {b['haven_distance_m']:.0f} m away"
    if b["kind"] == "energy" and "haven_dark_h" in b:
        return (f"at {b['at_utc']} no safe haven can be reached and survived: the best, the {where}, meets a dark "
                f"period of {b['haven_dark_h']:.0f} h from {b['haven_dark_start_utc']} that needs {b['haven_need_wh']:.0f} Wh "
                f"of the {b['haven_available_wh']:.0f} Wh usable (after the {b['margin_wh']:.0f} Wh margin): "
                f"{b['haven_short_wh']:.0f} Wh short; enlarge the battery, shorten the stays or choose another area")
    return (f"at {b['at_utc']} no safe haven can be reached in time: the nearest that would survive, the {where} "
            f"({b.get('haven_drive_h', float('nan')):.1f} h of driving), cannot be reached before its dark period "
            "or with the battery left; leave earlier (shorter stays) or choose an area nearer a haven")


def _via_havens(dem, light, prob, cell, gcell, t, D, hv, rover, params):
    import dataclasses

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


_MODE_OF = {"drive": "drive", "wait": "standby", "hibernate": None}


def _resync(prob, rover, params, segs, D):
    """The battery deficit (J) the final re-simulation will see at the end of ``segs`` (``D`` if none yet).

    The greedy rule's own bookkeeping uses steady-state heater powers; the check uses the thermal transient,
    so the two drift apart over long hibernations. Deciding each stop on the re-simulated state keeps the
    rule's promise ("can afford it") true for the check.
    """
    if not segs:
        return D
    sim = _simulate(prob, rover, params, segs)
    b = rover.battery
    return float(max((b.soc_max - sim["bt"].soc[-1]) * b.capacity_wh * 3600.0, 0.0))


def _simulate(prob, rover, params, segs) -> dict:
    """Pieces of ``segs`` cut at light steps, re-simulated with thermal.simulate + step_battery."""
    tps = prob.ticks_per_step
    rows = []  # per piece
    for s in segs:
        a = s.t0
        while a < s.t1:
            k = (prob.k0_tick + a) // tps
            b = min(s.t1, (k + 1) * tps - prob.k0_tick)
            f = prob.sun[k, s.cell_from]
            lit = f > prob.dark_u8
            if s.mode == "drive":
                d = P._direction(prob, s.cell_from, s.cell_to)
                sol = prob.panel_move_w[k, d] * f / 255.0
                base = float(prob.move_load_w[s.cell_from, d])
                mode = "drive"
            else:
                sol = prob.panel_wait_w[k] * f / 255.0
                mode = s.mode
                if mode == "wait":
                    mode = "standby"
                if mode == "hibernate" and lit:
                    mode = "standby"
                base = rover.loads.of(mode)
            rows.append((a, b, s.cell_from, s.cell_to if b == s.t1 else s.cell_from, mode, sol, base, f / 255.0,
                         prob.earth[k, s.cell_from] / 255.0))
            a = b
    arr = list(zip(*rows))
    ticks = np.array(list(arr[0]) + [arr[1][-1]], dtype=np.int64)
    times = prob.tick_time(ticks)
    mode = np.array(arr[4])
    solar = np.array(arr[5])
    base = np.array(arr[6])
    sunf = np.array(arr[7])
    earthf = np.array(arr[8])
    k_idx = (prob.k0_tick + ticks[:-1]) // tps
    el = prob.sun_el_deg[k_idx]
    tr = thermal.simulate(times, np.append(sunf, sunf[-1]), np.append(base, base[-1]), rover, sun_el_deg=np.append(el, el[-1]))
    load = base + tr.heater_total_w
    b = rover.battery
    bt = power.step_battery(times, solar, load, rover, soc0=params.soc_start)
    return dict(arr=arr, ticks=ticks, times=times, mode=mode, solar=solar, base=base, sunf=sunf, earthf=earthf, tr=tr,
                load=load, bt=bt)


def _evaluate(dem, prob, rover, params, segs, plans, k_start) -> Timeline:
    """Re-simulate with thermal.simulate + step_battery, assert every constraint, aggregate rows."""
    sim = _simulate(prob, rover, params, segs)
    arr, ticks, times, mode, solar = sim["arr"], sim["ticks"], sim["times"], sim["mode"], sim["solar"]
    earthf, sunf, tr, load, bt = sim["earthf"], sim["sunf"], sim["tr"], sim["load"], sim["bt"]
    dt = np.diff(ticks) * prob.tick_s
    comm_bad = (mode == "communicate") & (earthf * 255 < prob.earth_u8 - 1e-9)
    te, tb = rover.thermal.electronics, rover.thermal.battery
    cold = (tr.min_temperature_k[:, 0] < te.survival_min_k) | (tr.min_temperature_k[:, 1] < tb.survival_min_k)
    hot = (tr.temperature_k[1:, 0] > te.survival_max_k) | (tr.temperature_k[1:, 1] > tb.survival_max_k)
    for name, bad in (("the battery ran out (load left unpowered below soc_min)", bt.deficit_wh > 1e-6),
                      ("a thermal node fell below its survival temperature", cold),
                      ("a thermal node rose above its survival temperature", hot),
                      ("communication scheduled while the Earth is not visible", comm_bad)):
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ScheduleError(f"the timeline breaks a constraint at {str(times[i])[:19]} ({mode[i]}): {name}; "
                                "a larger battery, a better haven or fewer activities per stop would fix it")
    rate = float(comms.max_data_rate_bps(comms.EARTH_MOON_MEAN_M, rover))
    vol = np.where(mode == "communicate", rate * dt, 0.0)
    cells = np.array(arr[2])
    trace = pd.DataFrame({
        "start_utc": times[:-1], "end_utc": times[1:], "mode": mode, "row": cells // prob.nx + prob.row0,
        "col": cells % prob.nx + prob.col0, "solar_w": solar, "load_w": load, "heater_w": tr.heater_total_w,
        "sun_fraction": sunf, "earth_fraction": earthf, "soc_start": bt.soc[:-1], "soc_end": bt.soc[1:],
        "electronics_min_k": tr.min_temperature_k[:, 0], "battery_min_k": tr.min_temperature_k[:, 1],
        "electronics_end_k": tr.temperature_k[1:, 0], "battery_end_k": tr.temperature_k[1:, 1],
        "energy_wh": load * dt / 3600.0, "data_volume_bits": vol,
    })
    # aggregate runs of the same mode at the same cell (drives: consecutive drive pieces)
    key = (trace["mode"] != trace["mode"].shift()) | ((trace["mode"] != "drive") & ((trace["row"] != trace["row"].shift()) | (trace["col"] != trace["col"].shift())))
    grp = key.cumsum()
    xs = np.asarray(dem["x"].values, float)
    ys = np.asarray(dem["y"].values, float)
    acts = trace.groupby(grp).agg(
        start_utc=("start_utc", "first"), end_utc=("end_utc", "last"), mode=("mode", "first"), row=("row", "first"),
        col=("col", "first"), row_end=("row", "last"), col_end=("col", "last"), energy_wh=("energy_wh", "sum"),
        soc_start=("soc_start", "first"), soc_end=("soc_end", "last"), soc_min=("soc_end", "min"),
        electronics_min_k=("electronics_min_k", "min"), battery_min_k=("battery_min_k", "min"),
        data_volume_bits=("data_volume_bits", "sum"),
    ).reset_index(drop=True)
    acts.insert(4, "x_m", xs[acts["col"]])
    acts.insert(5, "y_m", ys[acts["row"]])
    return Timeline(acts, trace, plans)
