"""Retreats to a safe haven over dark periods, and the reason when none works.

:func:`_retreat` drives the rover to the nearest haven that the traverse planner
can reach in time and energy and that :func:`lupex.rover.havens.park` can hold
through the dark with the margin (VIPER-style safe havens,
docs/REFERENCES.md#viper); :func:`binding_constraint` says which candidate came
closest and by how much it failed.
"""

from __future__ import annotations

import numpy as np

from lupex.rover import havens as H
from lupex.rover import planner as P
from lupex.rover.schedule_check import ScheduleError
from lupex.rover.stop_rule import _stop_steps

__all__ = ["NoHavenError", "binding_constraint", "binding_message"]


class NoHavenError(ScheduleError):
    """No safe haven can be reached and survived.

    ``binding`` (a dict) names the dark period, the energy short and the nearest haven that would have done, and how
    far it was.
    """

    def __init__(self, message: str, binding: dict):
        super().__init__(message)
        self.binding = binding


RETREAT_FALLBACKS = 3
"""Candidate havens tried after those that survive the dark period met on arrival (nearest first)."""
RETREAT_MAX_STATES = 2_000_000
"""Search states allowed for a drive to a haven (a few hours' drive needs far fewer; a haven out of reach
in time or energy would otherwise be searched to exhaustion)."""


def _candidates(ctx, cell, t, D) -> list[int]:
    """Window cells of the havens to try from ``cell`` at tick ``t``, in order.

    With havens in time, nearest first, those that survive the dark period met on arrival before
    :data:`RETREAT_FALLBACKS` others; with a fixed haven list, nearest first.
    """
    prob, idx = ctx.prob, ctx.idx
    r, c = divmod(cell, prob.nx)
    if idx is not None:
        order = idx.order_from(cell)
        good = [j for j in order if idx.acceptable(prob, int(j), t, cell, D)]
        order = good + [j for j in order if j not in set(good)][:RETREAT_FALLBACKS]
        return [int(idx.cells[j]) for j in order]
    hv = ctx.havens if ctx.havens is not None else H.find_havens(ctx.dem, ctx.light, ctx.rover, ctx.params)
    if len(hv) == 0:
        raise ScheduleError("the rover must leave a spot that cannot survive the coming dark period, but there is "
                            "no safe haven in the planning window; enlarge the window or the battery")
    dist = np.hypot(hv["row"].to_numpy() - prob.row0 - r, hv["col"].to_numpy() - prob.col0 - c)
    cand = []
    for j in np.argsort(dist, kind="stable"):
        hr, hc = int(hv["row"].iloc[j]) - prob.row0, int(hv["col"].iloc[j]) - prob.col0
        if 0 <= hr < prob.ny and 0 <= hc < prob.nx:
            cand.append(hr * prob.nx + hc)
    return cand


def _retreat(ctx, cell, t, D, segs, back_to):
    """Drive to the nearest reachable safe haven, park through the dark until charged; optionally drive back.

    With havens in time (``ctx.idx``) the candidates are tried nearest first, those that survive the dark
    period met on arrival before the others; each is checked by the planner (reachable in time and energy)
    and by parking there through the dark with the margin (:func:`lupex.rover.havens.park`).
    """
    prob, rover, params, idx = ctx.prob, ctx.rover, ctx.params, ctx.idx
    r, c = divmod(cell, prob.nx)
    margin_j = idx.margin_wh * 3600.0 if idx is not None else 0.0
    for h in _candidates(ctx, cell, t, D):
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
    """Why no haven works from ``cell`` at tick ``t``.

    Per candidate, the dark period it meets on arrival (static drive time), its energy need against the usable
    battery less the margin; the binding one is the candidate closest to working (least energy short, then nearest).

    Parameters
    ----------
    ctx : lupex.rover.scheduler._Ctx
        The scheduler's context: its planning problem ``prob``, haven index ``idx`` (havens in time) and ``dem``.
    cell : int
        Where the rover is, flat index ``r * nx + c`` in the problem's window.
    t : int
        The tick it must leave at (plan ticks of ``prob.tick_s`` s).
    D : float
        Battery deficit below ``soc_max`` then, J.

    Returns
    -------
    dict
        ``kind`` (``"energy"`` or ``"reach"``), ``at_utc``, the rover's full-DEM row/col and x/y (m), its SoC,
        ``margin_wh`` (Wh), ``hibernate_w`` (W), the number of ``candidates``, and the binding candidate's
        ``haven_*`` entries: full-DEM row/col, x/y and distance (m), drive hours, whether reachable and, when a
        dark period lies ahead, its start (UTC), hours, need, available and short energy (Wh).
    """
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
