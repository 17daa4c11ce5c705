"""The planner search's static graph against scipy: the A* lower bound (least move time to the goal, a backward
Dijkstra over the edge table) equals scipy's shortest paths, and the cells the table connects are scipy's
breadth-first order, around a wall with a gap and across one without."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from lupex.rover import search

NY, NX = 6, 7


def _problem(wall_rows):
    tau = np.zeros((NY * NX, 8), np.int64)
    wall = np.zeros((NY, NX), bool)
    wall[list(wall_rows), 3] = True
    for r in range(NY):
        for c in range(NX):
            if wall[r, c]:
                continue
            for d, (dr, dc) in enumerate(search.DIRS):
                rr, cc = r + dr, c + dc
                if 0 <= rr < NY and 0 <= cc < NX and not wall[rr, cc]:
                    tau[r * NX + c, d] = 3 if dr and dc else 2   # ticks: diagonal moves cost more
    return SimpleNamespace(tau=tau, nx=NX, ny=NY, pixel_m=1.0, vmax_m_s=0.5, tick_s=1.0)


def _graph(tau):
    src, dst, w = [], [], []
    for p in range(tau.shape[0]):
        r, c = divmod(p, NX)
        for d, (dr, dc) in enumerate(search.DIRS):
            if tau[p, d]:
                src.append(p)
                dst.append((r + dr) * NX + c + dc)
                w.append(float(tau[p, d]))
    return csr_matrix((w, (src, dst)), shape=(NY * NX, NY * NX))


@pytest.mark.parametrize("wall_rows", [range(0, 5), range(0, 6)], ids=["gap", "closed"])
def test_static_heuristic_and_reachability_match_scipy(wall_rows):
    prob = _problem(wall_rows)
    g = _graph(prob.tau)
    goal, start = 2 * NX + 6, 2 * NX + 0
    h = search.heuristic_ticks(prob, goal)
    want = dijkstra(g.T, indices=goal)      # distances TO the goal: paths on the reversed graph
    np.testing.assert_array_equal(h, want)
    reach = search.static_reachable(prob, start)
    expected = np.zeros(NY * NX, bool)
    expected[breadth_first_order(g, start, directed=True, return_predecessors=False)] = True
    np.testing.assert_array_equal(reach, expected)
    assert bool(reach[goal]) == np.isfinite(h[start])
    none = search.heuristic_ticks(prob, goal, "none")
    np.testing.assert_array_equal(np.isfinite(none), np.isfinite(want))
    assert np.all(none[np.isfinite(none)] == 0.0)
    if np.isfinite(h[start]):
        # around the wall's end: 6 columns east and down to row 5 and back, never shorter than the straight line
        assert h[start] > 6 * 2
        euclid = search.heuristic_ticks(prob, goal, "euclid")
        assert np.all(euclid[np.isfinite(euclid)] <= h[np.isfinite(h)] + 1e-9)   # admissible below the exact bound
    else:
        res = search.astar(prob, start, goal)
        assert res.status == search.EXHAUSTED and res.arrival_tick == -1
