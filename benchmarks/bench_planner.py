"""Traverse planner: a ~5 km plan on the 1000 x 1000 synthetic site with a 30-day hourly light series.

Measures, in this run: the space-time A* plan (edge tables + search + plan
assembly) and scikit-image's ``route_through_array`` (static Dijkstra, cost =
crossing time of each cell at its slope, same map, same corridor) and prints
their ratio, plus the setup (horizons, corridor visibility) and peak memory.
One JSON line. Run: PYTHONPATH=src python benchmarks/bench_planner.py
"""

import json
import resource
import time

import numpy as np

from lupex import ephemeris
from lupex.light.horizon import horizon_angles
from lupex.light.visibility import corridor_window, visibility_series
from lupex.rover import mobility
from lupex.rover import planner as P
from lupex.terrain import generate_site


def _pick_pair(prob_like_slope, pixel, dist_m, rng):
    ny, nx = prob_like_slope.shape
    ok = prob_like_slope <= 12.0
    cand = np.argwhere(ok)
    for _ in range(2000):
        r, c = cand[rng.integers(len(cand))]
        a = rng.uniform(0, 2 * np.pi)
        r2 = int(round(r - dist_m / pixel * np.cos(a)))
        c2 = int(round(c + dist_m / pixel * np.sin(a)))
        if 0 <= r2 < ny and 0 <= c2 < nx and ok[r2, c2]:
            yield (int(r), int(c)), (r2, c2)


def main():
    t0 = time.perf_counter()
    site = generate_site(seed=0, size_m=20_000, pixel_m=20)
    dem = site.dem
    t_site = time.perf_counter() - t0
    z = np.asarray(dem.values, float)
    t0 = time.perf_counter()
    cube = horizon_angles(z, 20.0, 72, observer_height_m=2.0)
    t_hz = time.perf_counter() - t0
    times = ephemeris.time_grid("2027-01-01T00:00:00", "2027-01-31T00:00:00", 1.0)
    slope, _ = P._slope_aspect(z, 20.0)
    rng = np.random.default_rng(1)
    params = P.PlannerParams()
    for a, b in _pick_pair(slope, 20.0, 5000.0, rng):
        win = corridor_window(dem.shape, [a, b], params.margin_cells + 30)
        # a cheap static check before computing the light of the corridor
        light0 = visibility_series(dem, cube, times[:2], window=win)
        prob0 = P.build_problem(dem, light0, params=params)
        s = (a[0] - win[0]) * prob0.nx + a[1] - win[2]
        g = (b[0] - win[0]) * prob0.nx + b[1] - win[2]
        if P.static_reachable(prob0, s)[g]:
            break
    t0 = time.perf_counter()
    light = visibility_series(dem, cube, times, window=win)
    t_vis = time.perf_counter() - t0
    start = "2027-01-05T00:00:00"
    sxy = (float(dem.x[a[1]]), float(dem.y[a[0]]))
    gxy = (float(dem.x[b[1]]), float(dem.y[b[0]]))
    P.plan(dem, light, sxy, gxy, start, params=params)  # warm-up: numba compile, heater cache
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    p = P.plan(dem, light, sxy, gxy, start, params=params)
    t_plan = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # reference: static least-time route on the same corridor (cost = seconds to cross a cell at its slope)
    from skimage.graph import route_through_array

    r0, r1, c0, c1 = win
    sl = slope[r0:r1, c0:c1]
    v = np.asarray(mobility.speed_m_s(np.minimum(sl, 30.0)), float)
    cost = np.where(sl <= params.max_slope_deg, 20.0 / np.maximum(v, 1e-6), 1e9)
    route_through_array(cost, (a[0] - r0, a[1] - c0), (b[0] - r0, b[1] - c0), fully_connected=True, geometric=True)
    reps = []
    for _ in range(3):
        t0 = time.perf_counter()
        path, static_cost = route_through_array(cost, (a[0] - r0, a[1] - c0), (b[0] - r0, b[1] - c0),
                                                fully_connected=True, geometric=True)
        reps.append(time.perf_counter() - t0)
    t_sk = min(reps)
    print(json.dumps({
        "benchmark": "planner_5km_1000x1000_30d_hourly",
        "dem_cells": int(dem.size), "corridor_cells": int(light.sun.shape[1] * light.sun.shape[2]),
        "light_steps": int(light.sun.shape[0]), "straight_line_m": float(np.hypot(b[0] - a[0], b[1] - a[1]) * 20.0),
        "plan_s": round(t_plan, 3), "skimage_route_through_array_s": round(t_sk, 4),
        "ratio_plan_over_skimage": round(t_plan / t_sk, 2), "under_10s": t_plan < 10.0,
        "expanded_states": p.expanded_states, "path_m": round(p.distance_m, 1), "skimage_path_cells": len(path),
        "duration_h": round(p.duration_h, 2), "static_time_h": round(static_cost / 3600.0, 2),
        "min_soc": round(p.min_soc, 3), "longest_shadow_h": round(p.longest_shadow_h, 2),
        "setup_s": {"site": round(t_site, 2), "horizons_72az": round(t_hz, 2), "corridor_visibility": round(t_vis, 2)},
        "light_mask_mb": round(2 * light.sun.nbytes / 2**20, 1),
        "peak_rss_mb": round(rss1 / 1024, 1), "plan_rss_growth_mb": round((rss1 - rss0) / 1024, 1),
    }))


if __name__ == "__main__":
    main()
