"""The planner's search: earliest-arrival space-time A* over (cell, tick) with the battery deficit, in numba.

:func:`astar` searches a :class:`lupex.rover.planner.Problem` (edge ticks and loads, Sun and Earth
visibility, the battery model) from a start cell, tick and deficit to a goal cell (the planner's module
docstring gives the model and why A* is exact); :func:`heuristic_ticks` is its lower bound (by default the
least move time on the static graph, a backward Dijkstra) and :func:`static_reachable` the cells the edge
table alone connects. :mod:`lupex.rover.planner` builds the problem, turns a search into a plan and
re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:  # the problem is built by the planner, which imports this module
    from lupex.rover.planner import Problem

__all__ = ["DIRS", "EXHAUSTED", "FOUND", "STATE_LIMIT", "SearchResult", "astar", "heuristic_ticks",
           "static_reachable"]

# 8 neighbours (drow, dcol); grid azimuth of a move: atan2(dcol, -drow)
DIRS = np.array([(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)], dtype=np.int64)

FOUND, EXHAUSTED, STATE_LIMIT = 0, 1, 2


@numba.njit(cache=True, inline="always")
def _apply(D, net_w, dt, eta_c, eta_d):
    if net_w >= 0.0:
        D = D - eta_c * net_w * dt
        return D if D > 0.0 else 0.0
    return D - net_w * dt / eta_d


@numba.njit(cache=True)
def _advance(D, cell, d, t, n, k0, tps, tick_s, sun, panel_move, panel_wait, load_w, heat_lit, heat_dark, dark_u8, dmax,
             eta_c, eta_d):
    """Deficit after ``n`` ticks from tick ``t`` at ``cell`` (moving in direction d, or waiting if d < 0); -1 if infeasible."""
    a = k0 + t
    end = a + n
    while a < end:
        k = a // tps
        b = min(end, (k + 1) * tps)
        f = sun[k, cell]
        lit = f > dark_u8
        if d >= 0:
            sol = panel_move[k, d] * (f / 255.0)
        else:
            sol = panel_wait[k] * (f / 255.0)
        ld = load_w + (heat_lit if lit else heat_dark)
        D = _apply(D, sol - ld, (b - a) * tick_s, eta_c, eta_d)
        if D > dmax * (1.0 + 1e-12) + 1e-6:
            return -1.0
        a = b
    return D


@numba.njit(cache=True)
def _hash_find(keys, key, mask):
    i = (key * 0x9E3779B97F4A7C15) & mask
    while True:
        k = keys[i]
        if k == key or k == -1:
            return i
        i = (i + 1) & mask


@numba.njit(cache=True)
def _heap_push(hf, ht, hs, hd, size, f, t, s, dv):
    i = size
    hf[i] = f
    ht[i] = t
    hs[i] = s
    hd[i] = dv
    while i > 0:
        p = (i - 1) >> 1
        if hf[p] < hf[i] or (hf[p] == hf[i] and ht[p] <= ht[i]):
            break
        hf[p], hf[i] = hf[i], hf[p]
        ht[p], ht[i] = ht[i], ht[p]
        hs[p], hs[i] = hs[i], hs[p]
        hd[p], hd[i] = hd[i], hd[p]
        i = p


@numba.njit(cache=True)
def _heap_pop(hf, ht, hs, hd, size):
    f, t, s, dv = hf[0], ht[0], hs[0], hd[0]
    size -= 1
    hf[0], ht[0], hs[0], hd[0] = hf[size], ht[size], hs[size], hd[size]
    i = 0
    while True:
        l = 2 * i + 1
        if l >= size:
            break
        m = l
        r = l + 1
        if r < size and (hf[r] < hf[l] or (hf[r] == hf[l] and ht[r] < ht[l])):
            m = r
        if hf[i] < hf[m] or (hf[i] == hf[m] and ht[i] <= ht[m]):
            break
        hf[i], hf[m] = hf[m], hf[i]
        ht[i], ht[m] = ht[m], ht[i]
        hs[i], hs[m] = hs[m], hs[i]
        hd[i], hd[m] = hd[m], hd[i]
        i = m
    return f, t, s, dv, size


# one numba kernel: the A* loop shares its heap and hash arrays; splitting it costs a call per expanded state
@numba.njit(cache=True)
def _astar_kernel(start, goal, t_start, d_start, t_max, nx, tau, move_load, sun, earth, panel_move, panel_wait, wait_load,
                  heater, dark_u8, earth_u8, need_earth, k0, tps, tick_s, wait_ticks, dmax, eta_c, eta_d, hgoal,
                  max_states, dirs):
    span = np.int64(t_max + 1)
    cap = np.int64(1 << 16)
    keys = np.full(cap, -1, np.int64)
    dval = np.empty(cap)
    par = np.empty(cap, np.int64)
    closed = np.zeros(cap, np.uint8)
    used = 0
    hcap = 1 << 16
    hf = np.empty(hcap)
    ht = np.empty(hcap, np.int64)
    hs = np.empty(hcap, np.int64)
    hd = np.empty(hcap)
    hsize = 0

    key0 = np.int64(start) * span + t_start
    i0 = _hash_find(keys, key0, cap - 1)
    keys[i0] = key0
    dval[i0] = d_start
    par[i0] = -1
    used = 1
    _heap_push(hf, ht, hs, hd, hsize, t_start + hgoal[start], t_start, i0, d_start)
    hsize = 1
    expanded = 0
    while hsize > 0:
        f, t, slot, dv, hsize = _heap_pop(hf, ht, hs, hd, hsize)
        if closed[slot] == 1 or dv != dval[slot]:
            continue
        closed[slot] = 1
        cell = keys[slot] // span
        if cell == goal:
            # walk back the parents
            n = 0
            s = slot
            while s != -1:
                n += 1
                s = par[s]
            out_cell = np.empty(n, np.int64)
            out_tick = np.empty(n, np.int64)
            out_d = np.empty(n)
            s = slot
            j = n - 1
            while s != -1:
                out_cell[j] = keys[s] // span
                out_tick[j] = keys[s] % span
                out_d[j] = dval[s]
                j -= 1
                s = par[s]
            return 0, out_cell, out_tick, out_d, expanded
        expanded += 1
        if expanded > max_states:
            break
        D = dval[slot]
        r = cell // nx
        c = cell % nx
        for a in range(9):
            if a == 8:
                nn = cell
                dt = wait_ticks
                D2 = _advance(D, cell, -1, t, dt, k0, tps, tick_s, sun, panel_move, panel_wait, wait_load, heater[2], heater[3],
                              dark_u8, dmax, eta_c, eta_d) if t + dt <= t_max else -1.0
            else:
                dt = tau[cell, a]
                if dt == 0 or t + dt > t_max:
                    continue
                if need_earth and earth[(k0 + t) // tps, cell] < earth_u8:
                    continue
                nn = (r + dirs[a, 0]) * nx + (c + dirs[a, 1])
                D2 = _advance(D, cell, a, t, dt, k0, tps, tick_s, sun, panel_move, panel_wait, move_load[cell, a], heater[0],
                              heater[1], dark_u8, dmax, eta_c, eta_d)
            if D2 < 0.0 or hgoal[nn] == np.inf:
                continue
            t2 = t + dt
            key = np.int64(nn) * span + t2
            if 2 * (used + 1) > cap:  # grow the hash table
                ncap = cap * 2
                nkeys = np.full(ncap, -1, np.int64)
                ndval = np.empty(ncap)
                npar = np.empty(ncap, np.int64)
                nclosed = np.zeros(ncap, np.uint8)
                remap = np.empty(cap, np.int64)
                for q in range(cap):
                    if keys[q] != -1:
                        p = _hash_find(nkeys, keys[q], ncap - 1)
                        nkeys[p] = keys[q]
                        ndval[p] = dval[q]
                        nclosed[p] = closed[q]
                        remap[q] = p
                for q in range(cap):
                    if keys[q] != -1:
                        npar[remap[q]] = remap[par[q]] if par[q] != -1 else -1
                for q in range(hsize):
                    hs[q] = remap[hs[q]]
                slot = remap[slot]
                keys, dval, par, closed, cap = nkeys, ndval, npar, nclosed, ncap
            i = _hash_find(keys, key, cap - 1)
            if keys[i] == -1:
                keys[i] = key
                used += 1
            elif D2 >= dval[i] - 1e-9:
                continue
            dval[i] = D2
            par[i] = slot
            closed[i] = 0
            if hsize + 1 > hf.shape[0]:
                ncap2 = hf.shape[0] * 2
                hf2 = np.empty(ncap2)
                ht2 = np.empty(ncap2, np.int64)
                hs2 = np.empty(ncap2, np.int64)
                hd2 = np.empty(ncap2)
                hf2[:hsize] = hf[:hsize]
                ht2[:hsize] = ht[:hsize]
                hs2[:hsize] = hs[:hsize]
                hd2[:hsize] = hd[:hsize]
                hf, ht, hs, hd = hf2, ht2, hs2, hd2
            _heap_push(hf, ht, hs, hd, hsize, t2 + hgoal[nn], t2, i, D2)
            hsize += 1
    e = np.empty(0, np.int64)
    return (2 if expanded > max_states else 1), e, e, np.empty(0), expanded


@dataclass(frozen=True)
class SearchResult:
    """A space-time A* result: status, states along the path (cells, ticks, deficit J) and states expanded."""

    status: int  # FOUND, EXHAUSTED, STATE_LIMIT
    cells: np.ndarray  # window-flat cell per state
    ticks: np.ndarray
    deficit_j: np.ndarray
    expanded: int

    @property
    def arrival_tick(self) -> int:
        """Tick of arrival at the goal, or -1 when none was found."""
        return int(self.ticks[-1]) if self.status == FOUND else -1


def heuristic_ticks(prob: Problem, goal_cell: int, kind: str = "static") -> np.ndarray:
    """Lower bound (ticks) on the time from every window cell to the goal; inf where the goal is unreachable.

    ``"static"``: the exact least move time on the static graph (backward Dijkstra over ``tau``):
    any space-time path projects onto a static path with the same moves plus waits, so it is
    admissible, and it satisfies h(c) <= tau(c, n) + h(n) (Bellman), so it is consistent.
    ``"euclid"``: straight-line distance / v_max (the fastest edge). ``"none"``: 0 (Dijkstra).
    """
    if kind == "static":
        return _static_dist(prob.tau, np.int64(prob.nx), np.int64(goal_cell), DIRS)
    reach = _static_dist(prob.tau, np.int64(prob.nx), np.int64(goal_cell), DIRS) < np.inf
    if kind == "none":
        return np.where(reach, 0.0, np.inf)
    r, c = np.divmod(np.arange(prob.ny * prob.nx), prob.nx)
    gr, gc = divmod(goal_cell, prob.nx)
    h = np.hypot(r - gr, c - gc) * prob.pixel_m / (prob.vmax_m_s * prob.tick_s)
    return np.where(reach, h, np.inf)


@numba.njit(cache=True)
def _static_dist(tau, nx, goal, dirs):
    n = tau.shape[0]
    dist = np.full(n, np.inf)
    dist[goal] = 0.0
    cap = 8 * n + 16
    hk = np.empty(cap)
    hv = np.empty(cap, np.int64)
    ht = np.zeros(cap, np.int64)
    hd = np.empty(cap)
    size = 0
    _heap_push(hk, ht, hv, hd, size, 0.0, 0, goal, 0.0)
    size = 1
    while size > 0:
        k, _, m, _, size = _heap_pop(hk, ht, hv, hd, size)
        if k > dist[m]:
            continue
        r, c = m // nx, m % nx
        for d in range(8):
            rr, cc = r - dirs[d, 0], c - dirs[d, 1]  # predecessor p with p + dirs[d] = m
            if rr < 0 or cc < 0 or rr >= n // nx or cc >= nx:
                continue
            p = rr * nx + cc
            w = tau[p, d]
            if w == 0:
                continue
            nd = k + w
            if nd < dist[p]:
                dist[p] = nd
                if size < cap:
                    _heap_push(hk, ht, hv, hd, size, nd, 0, p, 0.0)
                    size += 1
    return dist


def astar(prob: Problem, start_cell: int, goal_cell: int, t_start: int = 0, d_start_j: float = 0.0, *,
          ignore_energy: bool = False, ignore_earth: bool = False, max_states: int = 30_000_000,
          heuristic: str = "static") -> SearchResult:
    """Earliest-arrival search from window cell ``start_cell`` at tick ``t_start`` with deficit ``d_start_j``.

    Space-time A* over (cell, tick) with the battery deficit as the resource (the model and why A* is exact:
    :mod:`lupex.rover.planner`'s docstring; the state space of Otten et al. 2018).

    Parameters
    ----------
    prob : Problem
        The planning problem (edge, power and light tables; battery limits).
    start_cell, goal_cell : int
        Start and goal, flat index ``r * nx + c`` in ``prob``'s window.
    t_start : int
        Start tick (plan ticks of ``prob.tick_s`` s).
    d_start_j : float
        Battery deficit below ``soc_max`` at the start, J.
    ignore_energy : bool
        Drop the battery limit (to tell an energy failure from the others).
    ignore_earth : bool
        Drop ``prob.drive_requires_earth``.
    max_states : int
        Give up (status ``STATE_LIMIT``) after expanding this many states.
    heuristic : str
        ``"static"`` (default), ``"euclid"`` or ``"none"`` (:func:`heuristic_ticks`).

    Returns
    -------
    SearchResult
        Status (``FOUND``, ``EXHAUSTED``, ``STATE_LIMIT``); on success the states along the path: window-flat
        cells, ticks and deficit (J), each (n_states,); and the count of expanded states.
    """
    h = heuristic_ticks(prob, goal_cell, heuristic)
    if not np.isfinite(h[start_cell]):  # no route even ignoring time and energy
        e = np.empty(0, np.int64)
        return SearchResult(EXHAUSTED, e, e, np.empty(0), 0)
    dmax = 1e300 if ignore_energy else prob.dmax_j
    st, cells, ticks, dd, n = _astar_kernel(
        np.int64(start_cell), np.int64(goal_cell), np.int64(t_start), float(d_start_j), np.int64(prob.t_max), np.int64(prob.nx),
        prob.tau, prob.move_load_w, prob.sun, prob.earth, prob.panel_move_w, prob.panel_wait_w, prob.wait_load_w,
        prob.heater_w, prob.dark_u8, prob.earth_u8, bool(prob.drive_requires_earth and not ignore_earth), np.int64(prob.k0_tick),
        np.int64(prob.ticks_per_step), float(prob.tick_s), np.int64(prob.wait_ticks), dmax, prob.eta_c, prob.eta_d, h,
        np.int64(max_states), DIRS,
    )
    return SearchResult(int(st), cells, ticks, dd, int(n))


def static_reachable(prob: Problem, start_cell: int) -> np.ndarray:
    """Cells reachable from ``start_cell`` through the edge table alone (slopes, no time or energy), (ncell,) bool."""
    return _bfs(prob.tau, np.int64(prob.nx), np.int64(start_cell), DIRS)


@numba.njit(cache=True)
def _bfs(tau, nx, start, dirs):
    n = tau.shape[0]
    seen = np.zeros(n, np.bool_)
    q = np.empty(n, np.int64)
    q[0] = start
    seen[start] = True
    h, tl = 0, 1
    while h < tl:
        c = q[h]
        h += 1
        r, cc = c // nx, c % nx
        for d in range(8):
            if tau[c, d] > 0:
                m = (r + dirs[d, 0]) * nx + cc + dirs[d, 1]
                if not seen[m]:
                    seen[m] = True
                    q[tl] = m
                    tl += 1
    return seen
