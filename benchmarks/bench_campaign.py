"""Campaign benchmark: the default CampaignParams (both plans, real instrument chain, drilling, 180-day
timelines) on the default synthetic site's terrain, around its flattest cell near the pole.

The site is the default ``generate_site()`` (20 km, 20 m pixels), cropped to 4 km around the centre for the
horizons (72 azimuths on the crop: horizons beyond 2 km are cut, a stated shortcut to keep the benchmark
short); the ground truth comes from the run's default subsurface settings and the crop's mean illumination.

Prints one JSON line: wall time and peak memory (max RSS; tracemalloc peak with --trace), the per-stage
timings, both plans' headline scores, and the ratio against a reference measured in the same process:
scikit-learn's GaussianProcessRegressor fitting the same kernel (s2 Matern-3/2 + white nugget, per-point
noise via alpha) to the adaptive plan's final binned WEH observations, vs lupex's fit_gp on them.

    PYTHONPATH=src python benchmarks/bench_campaign.py [--trace] [--run-dir RUN]

Measured 2026-11-24 on a shared 2-core machine, ``--run-dir`` = a default ``lupex run`` (landing site 1 at
(9830, 3930) m; the area moved 384 m to the nearest prior-ice region), seed 1, BEFORE the campaign fed the NS
windows to the GP as their 68 % intervals: water located: lawnmower 13,800 kg/km (19,200 kg/kWh, 9 % of the
area's ice mass), adaptive plan 0 (its legs stayed on dry ground). The reference fits do NOT yet agree
(scikit-learn length 50 m, lupex 3,700 m on the same 85 binned points; lupex fits a constant mean with a
log(WEH + c) transform), so the time ratio (0.09) compares different optima: open.

Multi-seed medians (``campaign_monte_carlo`` with ``truth_factory_from_site`` on that run's landing site, seeds
0-2, no timeline). Session 2 (one-leg information gain per Wh, constant-mean GP): adaptive 40,700 kg/km vs
lawnmower 60,600 kg/km: the adaptive plan was WORSE (0.67) and, on dry ground, never entered the prior region.
Session 3 (2026-11-24; the orbital ice-stability prior as the maps' external drift, GP length capped at 100 m,
the expected reduction of the water-mapping risk per Wh over destinations across the area, 120 m at a time):
adaptive 885,000 kg/km / 1,210,000 kg/kWh (96 % of the ice mass), lawnmower 555,000 kg/km / 769,000 kg/kWh
(87 %): ratio 1.59 per km, 1.57 per kWh (seed 0 a tie, seed 1 won 885k vs 56k, seed 2 lost 159k vs 555k). Of the
cells each map calls icy 50 % / 52 % are. WEH 95 % coverage 0.85 / 0.85; ice-table depth 0.88 / 0.73.

2026-12-06 (the neutron spectrometer's Monte Carlo response; idle machine), this benchmark as it stands (seed 1,
the synthetic site's centre): campaign 14.2 s wall (adaptive survey 5.3 s, drilling 2.4 s; lawnmower 2.6 s /
1.9 s), 913 MiB RSS; adaptive 113,000 kg/km / 156,000 kg/kWh (30.8 % of the ice mass, drill hits 50 %),
lawnmower 24,000 kg/km / 33,500 kg/kWh (5.3 %, 0 %); WEH 95 % coverage 0.96 / 0.95. The reference fits now
agree (scikit-learn and lupex: length 17.95 m, variance 1.15, nugget 0.147 on 154 binned points); sklearn
0.074 s vs lupex 0.151 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--run-dir", default="", help="a lupex run directory: start at its first landing site")
    a = ap.parse_args()
    from lupex.config import SubsurfaceParams
    from lupex.light.horizon import horizon_angles
    from lupex.mission import campaign as C
    from lupex.prospect import fusion
    from lupex.subsurface.ground_truth import make_ground_truth
    from lupex.terrain.slope import slope_deg
    from lupex.terrain.synthetic import generate_site

    t_setup = time.perf_counter()
    p = C.CampaignParams()
    start_utc = "2027-01-02T00:00:00"
    sc = SubsurfaceParams()
    if a.run_dir:   # a `lupex run` directory: its DEM, its ground truth and its first landing site (as run_mission)
        import pandas as pd
        import rioxarray  # noqa: F401

        from lupex.subsurface.ground_truth import GroundTruth

        rd = Path(a.run_dir)
        dem_full = rioxarray.open_rasterio(rd / "dem.tif").squeeze("band", drop=True).astype(float)
        best = pd.read_csv(rd / "sites.csv").iloc[0]
        start = (float(best["x_m"]), float(best["y_m"]))
        gt_full = GroundTruth.from_netcdf(rd / "ground_truth.nc")
    else:           # the default synthetic site, around its flattest cell near the centre
        dem_full = generate_site().dem
        n0 = dem_full.shape[0]
        core = slope_deg(dem_full.isel(y=slice(n0 // 2 - 25, n0 // 2 + 25), x=slice(n0 // 2 - 25, n0 // 2 + 25)))
        iy, ix = np.unravel_index(int(np.nanargmin(core.values)), core.shape)
        start = (float(core.x[ix]), float(core.y[iy]))
        gt_full = None
    # crop: the campaign window plus a horizon margin (horizons beyond it are cut: a stated shortcut)
    w = C.campaign_window(dem_full, start, p)
    m = 60
    r0, r1 = max(w[0] - m, 0), min(w[1] + m, dem_full.shape[0])
    c0, c1 = max(w[2] - m, 0), min(w[3] + m, dem_full.shape[1])
    dem = dem_full.isel(y=slice(r0, r1), x=slice(c0, c1))
    sl = slope_deg(dem)
    cube = horizon_angles(np.asarray(dem.values, float), abs(float(dem.x[1] - dem.x[0])), 72, observer_height_m=2.0)
    light = C.campaign_light(dem, cube, start, start_utc, p)
    w = C.campaign_window(dem, start, p)
    if gt_full is not None:
        ds = gt_full.dataset.sel(x=dem.x, y=dem.y)
        gt = type(gt_full)(ds, gt_full.rocks)
    else:
        illum = np.full(dem.shape, float(np.mean(light.sun > 0) * 100))
        illum[w[0]:w[1], w[2]:w[3]] = np.mean(light.sun > 0, axis=0) * 100
        gt = make_ground_truth(dem, sc, illumination_pct=illum, slope_deg=sl.fillna(10.0).values)
    setup_s = time.perf_counter() - t_setup

    if a.trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        r = C.run_campaign(p, gt, dem, light, start, start_utc, Path(d), seed=a.seed)
    wall = time.perf_counter() - t0
    peak_trace = tracemalloc.get_traced_memory()[1] / 2**20 if a.trace else None
    if a.trace:
        tracemalloc.stop()

    # reference: the same GP fit by scikit-learn on the adaptive plan's final binned NS observations
    obs = fusion.bin_observations(r.plans["strategy"].observations["ns"], p.bin_m)
    tr = fusion.LogShift(p.weh_offset_wt_pct)
    t1 = time.perf_counter()
    m = fusion.fit_gp(obs, kernel="matern32", mean="constant", transform=tr, n_restarts=3)
    ours = time.perf_counter() - t1
    ref = {}
    try:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        y = tr.forward(obs.value)
        vy = max(float(np.var(y)), 1e-6)
        kern = ConstantKernel(vy, (1e-4 * vy, 1e2 * vy)) * Matern(50.0, (1.0, 1e4), nu=1.5) \
            + WhiteKernel(0.05 * vy, (1e-8 * vy, 2 * vy))
        g = GaussianProcessRegressor(kern, alpha=(obs.sigma * tr.derivative(obs.value)) ** 2, n_restarts_optimizer=2,
                                     normalize_y=False, random_state=0)
        t1 = time.perf_counter()
        g.fit(obs.xy, y - y.mean())
        ref_s = time.perf_counter() - t1
        ref = {"sklearn_fit_s": ref_s, "lupex_fit_s": ours, "ratio_sklearn_over_lupex": ref_s / ours,
               "sklearn_hyper": {"variance": float(g.kernel_.k1.k1.constant_value),
                                 "length_m": float(g.kernel_.k1.k2.length_scale),
                                 "nugget": float(g.kernel_.k2.noise_level), "kernel": "matern32", "mean": "sample mean"},
               "lupex_hyper": {"variance": float(m.variance), "length_m": float(m.length_m), "nugget": float(m.nugget),
                               "kernel": "matern32", "mean": "constant (fitted)"},
               "n_obs": obs.n}
    except ImportError:
        ref = {"sklearn": "not installed", "lupex_fit_s": ours}
    s = r.scores.set_index("plan")
    keys = ["water_located_kg_per_km", "water_located_kg_per_kwh", "ice_mass_located", "weh_rmse_wt_pct",
            "weh_calibration_95", "drill_hit_rate", "drill_measured_total", "km_driven", "kwh_used", "timeline_ok"]
    out = {"campaign_wall_s": wall, "setup_s": setup_s,
           "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "tracemalloc_peak_mib": peak_trace,
           "timings_s": r.timings_s, "start_xy_m": start,
           "scores": {pl: {k: (s.loc[pl, k].item() if hasattr(s.loc[pl, k], "item") else s.loc[pl, k]) for k in keys}
                      for pl in s.index},
           "schedule_errors": {k: v.schedule_error for k, v in r.plans.items()},
           "reference": ref}
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
