"""The stop rule: what the rover does at one spot, light step by light step (see :mod:`lupex.rover.scheduler`).

Dark -> ``hibernate``; lit -> the next pending stop activity if the battery can
afford it and still carry the rover through the next dark period here (or, at a
spot that cannot survive it, to a haven in time), else ``communicate`` with the
Earth in view, else ``standby``. The energy bookkeeping is
:func:`lupex.rover.power.step_battery`'s (charge ``eta_c``, discharge ``1/eta_d``)
on the planner's tables (:class:`lupex.rover.planner.Problem`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lupex.rover import havens as H
from lupex.rover import planner as P
from lupex.rover.vehicle import RoverParams


@dataclass(frozen=True)
class _Reserves:
    """Headroom (J below a full battery) the rover needs at the start of each light step k at one spot.

    Standing by in lit steps (net of the panels) and hibernating in dark ones, by backward passes with charging
    capped at full. ``leave``: through the lit steps until the next dark run; ``res``: staying here from step k on
    (R[k] = max(use_k + R[k+1], 0): a dark run, the weak light after it and any dark run a glimmer too weak to pay
    the battery back leads into); ``ep``: ``res`` at a dark step; ``nd``: ``res`` at the start of the next dark run.
    """

    leave: np.ndarray
    ep: np.ndarray
    res: np.ndarray
    nd: np.ndarray


@dataclass(frozen=True)
class _Spot:
    """What the stop rule reads at one spot: the problem, the vehicle, the window ``cell`` and its reserves."""

    prob: P.Problem
    rover: RoverParams
    idx: object            # the haven index (havens in time) or None
    cell: int
    hib_w: float           # hibernation load plus the dark heaters, W
    lit_load_w: float      # standby load plus the lit heaters, W
    heat_max_w: float      # both heaters at full power, W
    margin_j: float        # the haven margin, J
    reserves: _Reserves


@dataclass(frozen=True)
class _Step:
    """One decision of the stop rule: ``mode`` from the current tick to tick ``b``, deficit ``D`` (J) after it."""

    mode: str
    b: int
    D: float


def _advance(prob: P.Problem, D: float, net_w: float, dt_s: float) -> float:
    """Battery deficit (J) after ``dt_s`` at net bus power ``net_w`` (charging capped at full)."""
    return max(D - prob.eta_c * net_w * dt_s, 0.0) if net_w >= 0 else D - net_w * dt_s / prob.eta_d


def _reserves(prob: P.Problem, cell: int, dark: np.ndarray, hib_w: float, lit_load_w: float) -> _Reserves:
    """The backward passes of :class:`_Reserves` over the light steps at ``cell``."""
    leave = np.zeros(prob.n_steps + 1)
    ep = np.zeros(prob.n_steps + 1)
    res = np.zeros(prob.n_steps + 1)
    nd = np.zeros(prob.n_steps + 1)
    step_s = prob.ticks_per_step * prob.tick_s
    for k in range(prob.n_steps - 1, -1, -1):
        net = -hib_w if dark[k] else prob.panel_wait_w[k] * prob.sun[k, cell] / 255.0 - lit_load_w
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
    return _Reserves(leave=leave, ep=ep, res=res, nd=nd)


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
    lit_load = prob.wait_load_w + prob.heater_w[2]
    spot = _Spot(prob=prob, rover=rover, idx=idx, cell=cell, hib_w=hib, lit_load_w=lit_load,
                 heat_max_w=sum(n.heater_max_w for n in (rover.thermal.electronics, rover.thermal.battery)),
                 margin_j=idx.margin_wh * 3600.0 if idx is not None else 0.0,
                 reserves=_reserves(prob, cell, prob.sun[:, cell] <= prob.dark_u8, hib, lit_load))
    out = []
    a = t
    D = d_j
    while a < t_end:
        k = (prob.k0_tick + a) // tps
        b = min(t_end, (k + 1) * tps - prob.k0_tick)
        f = prob.sun[k, cell]
        sol = prob.panel_wait_w[k] * f / 255.0
        if f > prob.dark_u8:
            step = _lit_step(spot, k, a, b, D, sol, pending)
        else:
            step = _dark_step(spot, k, a, b, D, sol, pending)
        if step is None:
            break  # leave now (see the step rules)
        D = step.D
        out.append(P.Segment(a, step.b, cell, cell, step.mode))
        a = step.b
    return out, D, pending


def _take(pending: list, ticks: int) -> None:
    """Count ``ticks`` of the first pending activity as done (drop it when finished)."""
    pending[0][1] -= ticks
    if pending[0][1] <= 0:
        pending.pop(0)


def _dark_step(spot: _Spot, k: int, a: int, b: int, D: float, sol: float, pending: list) -> _Step | None:
    """A dark step from tick ``a``.

    Work on the battery if the drive out to a haven stays affordable (egress), else hibernate; None when this dark
    run and the weak light after it cannot be survived here.
    """
    prob = spot.prob
    work = _dark_work(prob, spot.rover, spot.idx, spot.cell, a, b, D, pending, spot.heat_max_w,
                      spot.margin_j) if pending else None
    if work is None and spot.reserves.ep[k] > prob.dmax_j - spot.margin_j - D:
        return None
    if work is not None:
        mode, load, b, dt = work
        _take(pending, b - a)
        net = -load
        return _Step(mode=mode, b=b, D=D - net * dt / prob.eta_d)
    return _Step(mode="hibernate", b=b, D=_advance(prob, D, sol - spot.hib_w, (b - a) * prob.tick_s))


def _lit_step(spot: _Spot, k: int, a: int, b: int, D: float, sol: float, pending: list) -> _Step | None:
    """A lit step from tick ``a``.

    The next pending activity, else communicate (Earth in view), else standby, if the battery keeps its reserve;
    None when the rover must leave now for a haven.

    Reserve: standing by (lit) and hibernating (dark) here from the next step on; where that cannot be survived
    (not a haven) only the lit steps until the next dark run: the rover leaves before the dark.
    """
    prob, rover, idx, cell, rs = spot.prob, spot.rover, spot.idx, spot.cell, spot.reserves
    dt = (b - a) * prob.tick_s
    haven_here = rs.nd[k + 1] <= prob.dmax_j - spot.margin_j
    reserve = rs.res[k + 1] if haven_here else rs.leave[k + 1]
    d_sb = _advance(prob, D, sol - spot.lit_load_w, dt)
    if idx is not None and not haven_here and idx.leave_by_ok(prob, cell, b, d_sb) < 0:
        return None  # leave now: later, no haven could be reached (and survived) before its dark period
    if idx is not None and haven_here and D + rs.res[k] > prob.dmax_j - spot.margin_j and D > 0:
        return None  # a haven from a full battery, but not from this one (weak light ahead): leave while lit
    mode, load = "standby", prob.wait_load_w + prob.heater_w[2]
    cands = ([pending[0][0]] if pending else []) + (["communicate"] if prob.earth[k, cell] >= prob.earth_u8 else [])
    for j, m in enumerate(cands):
        bb = min(b, a + pending[0][1]) if (j == 0 and pending) else b
        ld = rover.loads.of(m) + P.heater_power_w(rover, rover.loads.of(m), True)
        dd = (bb - a) * prob.tick_s
        D2 = _advance(prob, D, sol - ld, dd)
        # margin: the heaters at full power for the activity (the warm-up after a cold night)
        if D2 + reserve + spot.heat_max_w * dd / prob.eta_d <= prob.dmax_j and (
                idx is None or haven_here
                or idx.leave_by_ok(prob, cell, bb, D2 + spot.heat_max_w * dd / prob.eta_d) >= 0):
            mode, load, b, dt = m, ld, bb, dd
            if j == 0 and pending:
                _take(pending, bb - a)
            break
    return _Step(mode=mode, b=b, D=_advance(prob, D, sol - load, dt))


EGRESS_FACTOR = 1.5
"""The drive out of a shadow is budgeted at this times its least static drive time at the flat drive load
(the static time is a lower bound: the planned route may wait or climb; on Site01 a 180 m egress took 1.5 h)."""


def _dark_work(prob, rover, idx, cell, a, b, D, pending, heat_max, margin_j):
    """Work in a shadow the rover cannot wait out (a cold trap: VIPER-style excursions on the battery).

    The next pending activity from tick ``a`` (to ``b`` at most) if, when it ends, a haven that survives its next
    dark period is still reachable before that period and the battery still holds the drive there (static drive time
    at the drive load plus the dark heaters) with the margin. Returns (mode, load_w, end tick, dt_s) or None (leave
    now).
    """
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
