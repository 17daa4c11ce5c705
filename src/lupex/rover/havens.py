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

Havens in time (:func:`haven_index`, used by :mod:`lupex.rover.scheduler`): a spot that cannot carry
the rover through the longest night of six months may still carry it through the next one, so a
candidate (the cells with the shortest longest darkness, ``min_separation_m`` apart) is judged against
the dark run the rover meets on arriving: hibernation load plus the steady survival heaters over that
run's duration in the light series, against the usable battery less a margin.

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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lupex.rover import planner as P
from lupex.rover.vehicle import RoverParams
from lupex.site_selection import pick_separated
from lupex.terrain import geo

__all__ = ["survivable_dark_h", "longest_dark_steps", "find_havens", "park", "plan_via_havens", "dark_runs",
           "hibernate_w", "DarkNeed", "HavenIndex", "haven_index", "earliest_departure", "dark_periods"]


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

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM, (ny, nx) heights, m, polar stereographic; its window under ``light`` is searched.
    light : lupex.light.visibility.VisibilitySeries
        Sun and Earth visibility (uint8 (nt, ny_w, nx_w), disk fraction x 255) over the time window judged.
    rover : RoverParams, optional
        The rover; its battery and loads set :func:`survivable_dark_h` (default ``RoverParams()``).
    params : PlannerParams, optional
        The planner's ``max_slope_deg`` (passable cells), ``dark_threshold`` and ``earth_threshold``
        (fractions 0..1 of the disk) (default ``PlannerParams()``).
    min_earth_pct : float
        Least share of the steps with the Earth visible, %.
    max_count : int
        Most havens returned.
    min_separation_m : float
        Least distance between two havens, m (greedy pick by score, as :func:`lupex.site_selection.pick_separated`).
    margin : float
        Multiplier (0.9: a 10 % reserve) on the survivable dark hours a haven's longest darkness may use (the module's
        ``survivable_dark_h`` equation).

    Returns
    -------
    pandas.DataFrame
        One row per haven, best score first: full-DEM ``row``, ``col``; ``x_m``, ``y_m`` (DEM CRS, m);
        ``lon_deg``, ``lat_deg``; ``longest_darkness_h`` (h); ``illumination_pct`` (mean Sun fraction, %);
        ``earth_visible_pct`` (%); ``score`` (illumination % + Earth %). Empty (same columns) when no cell qualifies.
    """
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


def park(prob: P.Problem, rover: RoverParams, cell: int, t: int, d_j: float, margin_j: float = 0.0,
         until: int | None = None):
    """Wait at ``cell`` from tick ``t`` (hibernating in the dark) until lit with a full battery at a step boundary.

    Returns (tick, deficit, segment) or None if the battery runs out (or comes within ``margin_j`` J of
    soc_min) or the series ends first. With ``until`` (a tick), reaching it with the battery intact ends the
    wait there (the timeline's end).

    The battery bookkeeping is :func:`lupex.rover.power.step_battery`'s, one light step (or part of one) at a
    time: charging ``D -= eta_c * net * dt``, discharging ``D += -net * dt / eta_d``.

    Parameters
    ----------
    prob : Problem
        The planning problem (window, light, array power, heater powers, battery limits).
    rover : RoverParams
        The rover; its hibernation load and the dark survival heaters give the bus power in the dark, W.
    cell : int
        The parking cell, flat index ``r * nx + c`` in ``prob``'s window.
    t : int
        Arrival tick (plan ticks of ``prob.tick_s`` s).
    d_j : float
        Battery deficit below ``soc_max`` on arrival, J.
    margin_j : float
        Energy to keep above ``soc_min``, J.
    until : int, optional
        Tick at which the wait ends if the battery holds (the timeline's end); None: wait until charged.

    Returns
    -------
    tuple of (int, float, Segment) or None
        The tick the wait ends, the deficit then (J; 0 when charged) and the ``"hibernate"`` segment from ``t``.
    """
    hib = rover.loads.hibernate_w + P.heater_power_w(rover, rover.loads.hibernate_w, False)
    lit_load = prob.wait_load_w + prob.heater_w[2]
    tps = prob.ticks_per_step
    a = t
    D = d_j
    while True:
        if until is not None and a >= until:
            return a, D, P.Segment(t, a, cell, cell, "hibernate")
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
        if D > prob.dmax_j - margin_j + 1e-6:
            return None
        a = b


def plan_via_havens(dem, light, start_xy, goal_xy, start_utc, havens: pd.DataFrame, rover: RoverParams | None = None,
                    params: P.PlannerParams | None = None, prob: P.Problem | None = None) -> P.Plan:
    """Earliest arrival at the goal, parking at safe havens where a leg cannot be done in one go (see module notes).

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM, (ny, nx) heights, m.
    light : lupex.light.visibility.VisibilitySeries
        Sun and Earth visibility over the planning window and span.
    start_xy, goal_xy : tuple of float
        Start and goal (x, y), m, in the DEM's CRS; both inside ``light``'s window.
    start_utc : str or np.datetime64
        Departure time, UTC, inside the light series.
    havens : pandas.DataFrame
        Candidate havens with full-DEM ``row`` and ``col`` columns (as :func:`find_havens` returns); those
        outside the window or on impassable cells are skipped.
    rover : RoverParams, optional
        The rover (default ``RoverParams()``).
    params : PlannerParams, optional
        The planner's settings, ``soc_start`` and ``max_states`` among them (default ``PlannerParams()``).
    prob : Problem, optional
        A problem already built from ``dem``, ``light``, ``rover`` and ``params`` (default: built here).

    Returns
    -------
    Plan
        The plan (:func:`lupex.rover.plan_result.build_plan`), its ``havens`` the full-DEM (row, col) of the
        havens parked at, in order. Raises :class:`~lupex.rover.planner.PlanError` when the goal is unreachable.
    """
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


# ----------------------------------------------------------------------------- havens in time
#
# A spot that cannot carry the rover through the longest night of six months may still carry it through the
# *next* one: whether a cell is a haven depends on when the rover gets there. :class:`HavenIndex` keeps, for a
# few candidate cells (the shortest longest-darkness first), their dark runs and the static drive time from every
# window cell to each; :meth:`HavenIndex.acceptable` says whether a candidate survives the dark run the rover
# meets on arriving at a given tick, with a margin, so the scheduler can tell how long an activity may last
# before the rover must leave for a haven (:meth:`HavenIndex.leave_by`).


def dark_runs(col_u8: np.ndarray, dark_u8: int) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) light-step indices of the dark runs (sun <= dark_u8) of one cell's series."""
    d = np.concatenate([[0], (np.asarray(col_u8) <= dark_u8).astype(np.int8), [0]])
    e = np.diff(d)
    return np.flatnonzero(e == 1), np.flatnonzero(e == -1)


def hibernate_w(rover: RoverParams) -> float:
    """Bus power (W) of hibernation in the dark: the hibernation load plus the steady survival heaters."""
    return rover.loads.hibernate_w + P.heater_power_w(rover, rover.loads.hibernate_w, False)


@dataclass(frozen=True)
class DarkNeed:
    """What one candidate haven needs for the dark run a rover arriving at ``arrival_tick`` meets there."""

    haven: int              # index into HavenIndex.cells
    start_step: int         # light step where that dark run starts
    end_step: int           # first lit step after it (n_steps when it runs past the series)
    hours: float            # the whole dark run's duration, h
    need_wh: float          # battery energy to hibernate from arrival (or its start) to its end, Wh
    whole_need_wh: float    # battery energy to hibernate through the whole run, Wh
    available_wh: float     # usable battery minus the margin, Wh
    complete: bool          # False when the run is cut by the end of the series

    @property
    def short_wh(self) -> float:
        """Energy (Wh) the battery lacks for this dark run; 0 when it survives."""
        return max(self.need_wh - self.available_wh, 0.0)

    @property
    def survives(self) -> bool:
        """True when the usable battery covers the need."""
        return self.need_wh <= self.available_wh


@dataclass(frozen=True)
class HavenIndex:
    """Candidate havens of a planning problem and what each needs through each of its dark runs."""

    cells: np.ndarray           # (K,) window-flat cells, best first
    starts: tuple               # per candidate: dark-run start steps
    ends: tuple                 # per candidate: dark-run end steps
    to_haven_ticks: np.ndarray  # (K, ncell) least static drive time from each cell to each candidate (inf: none)
    hib_w: float                # hibernation bus power, W
    margin_wh: float            # energy kept back above soc_min at the end of a dark period, Wh
    margin_ticks: int           # time the rover must be at a haven before the dark, ticks
    longest_dark_h: np.ndarray  # (K,) longest dark run of each candidate over the series, h

    peaks_wh: tuple = ()        # per candidate: battery energy each dark period takes before it is paid back, Wh
    dark_h: tuple = ()          # per candidate: dark hours in each of those periods
    net_cum_j: tuple = ()       # per candidate: cumulative net battery energy standing by there (J, n_steps + 1)
    drive_w: float = 0.0        # bus power of a drive to a haven (drive load + dark heaters), W

    @property
    def worst_need_wh(self) -> np.ndarray:
        """(K,) the largest energy any dark period of the series takes at each candidate, Wh."""
        return np.array([float(p.max()) if p.size else 0.0 for p in self.peaks_wh])

    def need(self, prob: P.Problem, j: int, arrival_tick: int) -> DarkNeed | None:
        """The dark period candidate ``j`` meets a rover arriving at ``arrival_tick`` (None: no dark period left).

        A dark period runs from its first dark step until the battery is paid back (:func:`dark_periods`),
        so dark runs split by a glimmer of Sun too weak to recharge count as one.
        """
        k = (prob.k0_tick + int(arrival_tick)) // prob.ticks_per_step
        s, e = self.starts[j], self.ends[j]
        i = int(np.searchsorted(e, k, side="right"))  # first period ending after k
        if i >= s.size:
            return None
        a, b = int(s[i]), int(e[i])
        need = float(self.peaks_wh[j][i])
        avail = prob.dmax_j / 3600.0 - self.margin_wh
        return DarkNeed(j, a, b, float(self.dark_h[j][i]), need, need, avail, b < prob.n_steps)

    def acceptable(self, prob: P.Problem, j: int, depart_tick: int, cell: int, d_j: float = 0.0) -> bool:
        """True when candidate ``j`` survives the dark period it meets, with the energy margin.

        Reached from ``cell`` leaving at ``depart_tick`` (static drive time plus the margin) with ``d_j`` J below
        a full battery: the drive (at ``drive_w``) adds to the deficit, standing by at the haven until its dark period
        pays it back as far as the light there allows (charging capped at full is not modelled: conservative
        only in that the credit is the net over the wait).

        Parameters
        ----------
        prob : Problem
            The planning problem the index was built for.
        j : int
            Candidate index into ``cells``.
        depart_tick : int
            Departure tick (plan ticks of ``prob.tick_s`` s).
        cell : int
            Departure cell, flat index ``r * nx + c`` in ``prob``'s window.
        d_j : float
            Battery deficit below a full battery at departure, J.
        """
        tt = self.to_haven_ticks[j, cell]
        if not np.isfinite(tt):
            return False
        arrive = int(depart_tick + tt + self.margin_ticks)
        if arrive >= prob.t_max:
            return True  # the series ends first: nothing to survive inside it
        nd = self.need(prob, j, arrive)
        if nd is None:
            return True
        k_arr = (prob.k0_tick + arrive) // prob.ticks_per_step
        if k_arr >= nd.start_step and tt > 0:
            return False  # it would have to arrive in the dark: leave earlier
        d_arr = d_j + tt * prob.tick_s * self.drive_w / prob.eta_d
        if self.net_cum_j and d_arr > 0:
            c = self.net_cum_j[j]
            d_arr = max(d_arr - (c[nd.start_step] - c[min(k_arr, nd.start_step)]), 0.0)
        return nd.need_wh * 3600.0 + d_arr <= prob.dmax_j - self.margin_wh * 3600.0

    def leave_by_ok(self, prob: P.Problem, cell: int, depart_tick: int, d_j: float = 0.0) -> int:
        """Index of the first candidate acceptable when leaving ``cell`` at ``depart_tick``, or -1.

        With ``d_j`` J below a full battery. When drives need the Earth in view (``prob.drive_requires_earth``)
        the departure waits for it.

        Parameters
        ----------
        prob : Problem
            The planning problem the index was built for.
        cell : int
            Departure cell, flat index ``r * nx + c`` in ``prob``'s window.
        depart_tick : int
            Earliest departure tick (plan ticks of ``prob.tick_s`` s).
        d_j : float
            Battery deficit below a full battery at departure, J.

        Returns
        -------
        int
            Index into ``cells`` of the first (best) acceptable candidate (:meth:`acceptable`), or -1 when none is.
        """
        depart_tick = earliest_departure(prob, cell, depart_tick)
        for j in range(self.cells.size):
            if self.acceptable(prob, j, depart_tick, cell, d_j):
                return j
        return -1

    def order_from(self, cell: int) -> np.ndarray:
        """Candidates by static drive time from ``cell``, nearest first (unreachable ones left out)."""
        tt = self.to_haven_ticks[:, cell]
        o = np.argsort(tt, kind="stable")
        return o[np.isfinite(tt[o])]


def earliest_departure(prob: P.Problem, cell: int, tick: int) -> int:
    """First tick >= ``tick`` at which a drive may start from ``cell``.

    At once, or, when drives need the Earth in view, at the start of the first light step with the Earth visible (a
    tick past the series when none).
    """
    if not prob.drive_requires_earth:
        return int(tick)
    k = (prob.k0_tick + int(tick)) // prob.ticks_per_step
    if k >= prob.n_steps:
        return int(tick)
    if prob.earth[k, cell] >= prob.earth_u8:
        return int(tick)
    vis = np.flatnonzero(prob.earth[k:, cell] >= prob.earth_u8)
    return int((k + vis[0]) * prob.ticks_per_step - prob.k0_tick) if vis.size else prob.t_max + 1


def haven_index(prob: P.Problem, rover: RoverParams, *, max_count: int = 12, min_separation_m: float = 100.0,
                margin_wh: float = 0.0, margin_h: float = 0.0) -> HavenIndex:
    """Candidate havens of ``prob`` with their dark runs and static drive times.

    Passable cells with an edge, lit at some step, the shortest longest darkness first, then the most lit;
    ``min_separation_m`` apart.

    Parameters
    ----------
    prob : the planning problem (its light window and time grid)
    rover : the vehicle (battery, hibernation load; heaters from the thermal model)
    max_count : number of candidates kept
    min_separation_m : least distance between two candidates, m
    margin_wh : energy kept back above soc_min at the end of every dark period, Wh
    margin_h : time the rover must be at a haven before its dark period starts, h
    """
    ncell = prob.ny * prob.nx
    ok = prob.passable & (prob.tau > 0).any(axis=1) & (prob.sun > prob.dark_u8).any(axis=0)
    step_h = prob.ticks_per_step * prob.tick_s / 3600.0
    longest = longest_dark_steps(prob.sun.reshape(prob.n_steps, prob.ny, prob.nx), prob.dark_u8).ravel() * step_h
    ill = prob.sun.mean(axis=0, dtype=np.float64) / 255.0
    score = -longest + 0.5 * ill  # shortest longest darkness first, ties to the most lit
    rows, cols = pick_separated(score.reshape(prob.ny, prob.nx), ok.reshape(prob.ny, prob.nx), prob.pixel_m,
                                max_count, min_separation_m)
    cells = (rows * prob.nx + cols).astype(np.int64)
    starts, ends, peaks, dark_h = [], [], [], []
    tt = np.full((cells.size, ncell), np.inf)
    hib = hibernate_w(rover)
    for i, c in enumerate(cells):
        s, e, pk, dh = dark_periods(prob, int(c), hib)
        starts.append(s)
        ends.append(e)
        peaks.append(pk)
        dark_h.append(dh)
        tt[i] = P.heuristic_ticks(prob, int(c))
    step_s = prob.ticks_per_step * prob.tick_s
    lit_load = prob.wait_load_w + prob.heater_w[2]
    cums = []
    for c in cells:
        f = prob.sun[:, c].astype(float)
        net = np.where(f > prob.dark_u8, prob.panel_wait_w * f / 255.0 - lit_load, -hib)
        gain = np.where(net >= 0, prob.eta_c * net, net / prob.eta_d) * step_s
        cums.append(np.concatenate([[0.0], np.cumsum(gain)]))
    return HavenIndex(cells, tuple(starts), tuple(ends), tt, hib, float(margin_wh),
                      int(math.ceil(margin_h * 3600.0 / prob.tick_s)), longest[cells] if cells.size else np.zeros(0),
                      tuple(peaks), tuple(dark_h), tuple(cums), float(rover.loads.drive_w + prob.heater_w[1]))


def dark_periods(prob: P.Problem, cell: int, hib_w: float):
    """The dark periods of ``cell`` as a parked rover lives them.

    From a full battery at the first dark step, hibernating in the dark (``hib_w``) and standing by in the light
    (standby load plus the lit heaters, the array turned to the Sun, as :func:`park`), until the battery is full
    again.

    Returns (start steps, end steps, peak energy taken from the battery in Wh, dark hours), one entry per
    period; a period cut by the series' end ends at ``n_steps``. Dark runs split by a glimmer of Sun too weak
    to pay the battery back are one period here (on Site01 a 2 h glimmer at 0.4 % of the disk splits a 107 h
    night in two).
    """
    step_s = prob.ticks_per_step * prob.tick_s
    lit_load = prob.wait_load_w + prob.heater_w[2]
    col = prob.sun[:, cell]
    starts, ends, peaks, dark = [], [], [], []
    inside, D, peak, nd, a = False, 0.0, 0.0, 0, 0
    for k in range(prob.n_steps):
        f = int(col[k])
        lit = f > prob.dark_u8
        if not inside:
            if lit:
                continue
            inside, D, peak, nd, a = True, 0.0, 0.0, 0, k
        net = prob.panel_wait_w[k] * f / 255.0 - lit_load if lit else -hib_w
        D = max(D - prob.eta_c * net * step_s, 0.0) if net >= 0 else D - net * step_s / prob.eta_d
        nd += 0 if lit else 1
        peak = max(peak, D)
        if lit and D <= 0.0:
            starts.append(a), ends.append(k + 1), peaks.append(peak / 3600.0), dark.append(nd * step_s / 3600.0)
            inside = False
    if inside:
        starts.append(a), ends.append(prob.n_steps), peaks.append(peak / 3600.0), dark.append(nd * step_s / 3600.0)
    return (np.asarray(starts, np.int64), np.asarray(ends, np.int64), np.asarray(peaks, float),
            np.asarray(dark, float))
