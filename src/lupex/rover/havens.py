"""Safe havens: spots where the rover can wait out a dark period, and routes between them.

A *safe haven* (VIPER's planning term; docs/REFERENCES.md#viper: VIPER planned routes
between lit "safe havens" through Earth-link blackouts, ~50 h hibernation) is
a passable cell whose longest darkness over the span is short enough for the
battery to carry the rover through it in hibernation, and whose Earth
visibility is above a threshold (so it can report and be commanded). The
hibernation budget is

    survivable_dark_h = (soc_max - soc_min) * capacity * eta_d / (hibernate_w + heater_w)

with the steady heater power of :func:`lupex.rover.thermal.simulate` in the
dark at the hibernation load (:func:`lupex.rover.planner.heater_power_w`).
Havens are picked greedily by score (illumination % + Earth %) at a minimum
separation, as landing sites are (:mod:`lupex.site_selection`).

Routing (:func:`plan_via_havens`) is a Dijkstra over havens in time: a label is
"at haven h, charged, at tick t"; from a label, each leg (to the goal, or to
another haven) is an earliest-arrival space-time A* leg
(:func:`lupex.rover.planner.astar`, optimal for its model); at a haven the
rover *parks*: hibernates in the dark, stands by in the light, until it is in
light with a full battery (:func:`park`). The first goal arrival that no
unexpanded haven label can beat is returned. This is optimal among plans of
the form "legs between havens, each leg earliest-arrival, fully charged at
every haven" -- not over all plans (a partly charged departure can sometimes
be earlier); that restriction keeps the search to K^2 legs for K havens.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pandas as pd

from lupex.rover import planner as P
from lupex.rover.vehicle import RoverParams

__all__ = ["survivable_dark_h", "longest_dark_steps", "find_havens", "park", "plan_via_havens"]


def survivable_dark_h(rover: RoverParams | None = None) -> float:
    """Hours the battery carries the rover in hibernation in the dark (from full to soc_min)."""
    rover = rover or RoverParams()
    b = rover.battery
    load = rover.loads.hibernate_w + P.heater_power_w(rover, rover.loads.hibernate_w, False)
    return (b.soc_max - b.soc_min) * b.capacity_wh * b.discharge_efficiency / load


def longest_dark_steps(sun_u8: np.ndarray, dark_u8: int = 0) -> np.ndarray:
    """Longest run of consecutive dark steps (sun <= dark_u8) per cell of a (nt, ny, nx) cube."""
    cur = np.zeros(sun_u8.shape[1:], dtype=np.int32)
    best = np.zeros_like(cur)
    for k in range(sun_u8.shape[0]):
        dark = sun_u8[k] <= dark_u8
        cur = np.where(dark, cur + 1, 0)
        np.maximum(best, cur, out=best)
    return best


def find_havens(dem, light, rover: RoverParams | None = None, params: P.PlannerParams | None = None, *,
                min_earth_pct: float = 30.0, max_count: int = 12, min_separation_m: float = 150.0,
                margin: float = 0.9) -> pd.DataFrame:
    """Safe havens in the light series' window, best first.

    A cell qualifies when it is passable, its longest darkness is at most
    ``margin`` x :func:`survivable_dark_h`, its Earth is visible at least
    ``min_earth_pct`` % of the steps, and it is lit at some step.
    """
    from lupex.site_selection import pick_separated
    from lupex.terrain import geo

    rover = rover or RoverParams()
    params = params or P.PlannerParams()
    nt, ny, nx = light.sun.shape
    dark_u8 = int(math.floor(params.dark_threshold * 255 + 1e-9))
    earth_u8 = int(math.ceil(params.earth_threshold * 255 - 1e-9))
    longest_h = longest_dark_steps(light.sun, dark_u8) * light.step_s / 3600.0
    earth_pct = (light.earth >= earth_u8).mean(axis=0) * 100.0
    ill_pct = light.sun.mean(axis=0, dtype=np.float64) / 255.0 * 100.0
    z = np.asarray(dem.values, float)[light.row0 : light.row0 + ny, light.col0 : light.col0 + nx]
    slope, _ = P._slope_aspect(z, geo.pixel_size_m(dem))
    budget = margin * survivable_dark_h(rover)
    ok = (slope <= params.max_slope_deg) & (longest_h <= budget) & (earth_pct >= min_earth_pct) & (ill_pct > 0)
    cols = ["row", "col", "x_m", "y_m", "lon_deg", "lat_deg", "longest_darkness_h", "illumination_pct", "earth_visible_pct", "score"]
    if not ok.any():
        return pd.DataFrame(columns=cols)
    score = ill_pct + earth_pct
    rows, cs = pick_separated(score, ok, geo.pixel_size_m(dem), max_count, min_separation_m)
    R, C = rows + light.row0, cs + light.col0
    lon, lat = geo.lonlat_grid(dem.isel(y=slice(light.row0, light.row0 + ny), x=slice(light.col0, light.col0 + nx)))
    return pd.DataFrame({
        "row": R, "col": C, "x_m": np.asarray(dem["x"].values)[C], "y_m": np.asarray(dem["y"].values)[R],
        "lon_deg": lon[rows, cs], "lat_deg": lat[rows, cs], "longest_darkness_h": longest_h[rows, cs],
        "illumination_pct": ill_pct[rows, cs], "earth_visible_pct": earth_pct[rows, cs], "score": score[rows, cs],
    })[cols]


def park(prob: P.Problem, rover: RoverParams, cell: int, t: int, d_j: float):
    """Wait at ``cell`` from tick ``t`` (hibernating in the dark) until lit with a full battery at a step boundary.

    Returns (tick, deficit, segment) or None if the battery runs out or the series ends first.
    """
    hib = rover.loads.hibernate_w + P.heater_power_w(rover, rover.loads.hibernate_w, False)
    lit_load = prob.wait_load_w + prob.heater_w[2]
    tps = prob.ticks_per_step
    a = t
    D = d_j
    while True:
        k = (prob.k0_tick + a) // tps
        if k >= prob.n_steps:
            return None
        f = prob.sun[k, cell]
        lit = f > prob.dark_u8
        if lit and D <= 1e-6 and (prob.k0_tick + a) % tps == 0 and a > t:
            return a, 0.0, P.Segment(t, a, cell, cell, "hibernate")
        b = (k + 1) * tps - prob.k0_tick
        dt = (b - a) * prob.tick_s
        net = prob.panel_wait_w[k] * f / 255.0 - (lit_load if lit else hib)
        D = max(D - prob.eta_c * net * dt, 0.0) if net >= 0 else D - net * dt / prob.eta_d
        if D > prob.dmax_j + 1e-6:
            return None
        a = b


def plan_via_havens(dem, light, start_xy, goal_xy, start_utc, havens: pd.DataFrame, rover: RoverParams | None = None,
                    params: P.PlannerParams | None = None, prob: P.Problem | None = None) -> P.Plan:
    """Earliest arrival at the goal, parking at safe havens where a leg cannot be done in one go (see module notes)."""
    rover = rover or RoverParams()
    params = params or P.PlannerParams()
    light.time_index(start_utc)
    prob = (prob or P.build_problem(dem, light, rover, params)).with_start(start_utc)
    s = P._window_cell(prob, P.cell_of(dem, start_xy, "start"), "start")
    g = P._window_cell(prob, P.cell_of(dem, goal_xy, "goal"), "goal")
    hv = []
    for r, c in zip(havens["row"], havens["col"]):
        rr, cc = int(r) - prob.row0, int(c) - prob.col0
        if 0 <= rr < prob.ny and 0 <= cc < prob.nx and prob.passable[rr * prob.nx + cc]:
            hv.append(rr * prob.nx + cc)
    b = rover.battery
    d0 = (b.soc_max - params.soc_start) * b.capacity_wh * 3600.0
    # label: (tick, node id, deficit, segments, haven path)
    best_goal = None
    heap = [(0, -1, s, d0, (), ())]
    settled = set()
    expanded = 0
    counter = 0
    while heap:
        t, _, node, d, segs, path = heapq.heappop(heap)
        if best_goal is not None and t >= best_goal[0]:
            break
        if node in settled:
            continue
        settled.add(node)
        res = P.astar(prob, node, g, t, d, max_states=params.max_states)
        expanded += res.expanded
        if res.status == P.FOUND and (best_goal is None or res.arrival_tick < best_goal[0]):
            best_goal = (res.arrival_tick, segs + tuple(P.segments_from_search(res)), path)
        for h in hv:
            if h in settled or h == node:
                continue
            leg = P.astar(prob, node, h, t, d, max_states=params.max_states)
            expanded += leg.expanded
            if leg.status != P.FOUND:
                continue
            parked = park(prob, rover, h, leg.arrival_tick, float(leg.deficit_j[-1]))
            if parked is None:
                continue
            t2, d2, seg = parked
            counter += 1
            r, c = divmod(h, prob.nx)
            heapq.heappush(heap, (t2, counter, h, d2, segs + tuple(P.segments_from_search(leg)) + (seg,),
                                  path + ((r + prob.row0, c + prob.col0),)))
    if best_goal is None:
        direct = P.astar(prob, s, g, 0, d0, max_states=params.max_states)
        why = P.explain_failure(prob, s, g, 0, d0, direct)
        raise P.PlanError(f"goal unreachable even through the {len(hv)} safe havens: {why}")
    return P.build_plan(dem, prob, list(best_goal[1]), rover, params.soc_start, expanded, havens=best_goal[2])
