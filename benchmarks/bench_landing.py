"""Landing Monte Carlo: time per descent, in-process vs a 2-worker Dask LocalCluster, and the campaign numbers.

A SYNTHETIC 3 x 3 km site at 2 m/px (seed 1, no Shackleton), target (0, 750) m,
sun 1.5 deg high from grid north; full SLIM-like descents from 15 km at 1.7
km/s with the default dispersions and simulated vision. The reference for the
timing ratio is the same campaign run serially in this process, measured in
the same run. Prints one JSON line.

    PYTHONPATH=src python benchmarks/bench_landing.py [--runs 40] [--workers 2]
"""

import argparse
import json
import resource
import time

import numpy as np

from lupex.landing import descent as d
from lupex.landing import guidance as g
from lupex.landing import montecarlo as mc
from lupex.terrain import generate_site


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    site = generate_site(1, size_m=3000.0, pixel_m=2.0, shackleton=False)
    target = (0.0, 750.0)
    cfg = d.DescentParams(sun_azimuth_deg=0.0)
    g.run_descent(site.dem, target, np.random.default_rng(0), config=cfg)  # compile / warm caches
    t0 = time.perf_counter()
    res = g.run_descent(site.dem, target, np.random.default_rng(1), config=cfg)
    t_one = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = mc.run_monte_carlo(site, target, a.runs, seed=a.seed, config=cfg)
    t_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    df_par = mc.run_monte_carlo(site, target, a.runs, seed=a.seed, config=cfg, workers=a.workers, check_target=False)
    t_dask = time.perf_counter() - t0
    s = mc.summary(df)
    out = {
        "bench": "landing", "runs": a.runs, "workers": a.workers,
        "s_per_descent": round(t_one, 3), "descent_sim_s": round(res.duration_s, 1),
        "mc_serial_s": round(t_serial, 2), "mc_dask_s": round(t_dask, 2),
        "dask_speedup": round(t_serial / t_dask, 2), "dask_identical": bool(df.equals(df_par)),
        "nav_err_50m_median_m": round(s.nav_err_50m_median_m, 3), "nav_err_50m_p99_m": round(s.nav_err_50m_p99_m, 3),
        "landing_error_median_m": round(s.landing_error_median_m, 3),
        "landing_error_p99_m": round(s.landing_error_p99_m, 3),
        "ellipse_3sigma_m": [round(s.ellipse_3sigma_major_m, 2), round(s.ellipse_3sigma_minor_m, 2)],
        "success_rate": s.success_rate, "failures": s.failures,
        "v_vert_max_mps": round(s.v_vert_max_mps, 3), "v_horiz_max_mps": round(s.v_horiz_max_mps, 3),
        "slope_max_deg": round(s.slope_max_deg, 2),
        "propellant_mean_kg": round(s.propellant_mean_kg, 1), "propellant_max_kg": round(s.propellant_max_kg, 1),
        "retarget_rate": s.retarget_rate,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
