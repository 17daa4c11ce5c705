"""GPR benchmark: a 1 km traverse with a trace every 5 cm, forward-modelled and retrieved.

Prints one JSON line: wall times (forward, retrieval, total), peak traced memory
(tracemalloc), the retrieval against the ground truth, and the speed-up of the
vectorised/numba forward model over a naive per-trace Python loop (the
reference, run on a subset of traces in the same process and scaled up; both
agree to float32 precision on that subset without noise).

Run:  PYTHONPATH=src python benchmarks/bench_gpr.py [--length-m 1000] [--dx-m 0.05]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
import tracemalloc

import numpy as np

from lupex.instruments import gpr
from lupex.instruments.gpr_dielectric import C_M_S, regolith_dielectric
from lupex.subsurface.profile import Rock, two_layer_column


def traverse(length_m, dx_m, rng):
    """Ice table 0.55 +- 0.15 m (slow undulation), 6 wt% WEH below, a 4 cm rock every ~5 m above it."""
    p = np.arange(0.0, length_m + dx_m / 2, dx_m)
    depth = np.round(0.55 + 0.15 * np.sin(2 * np.pi * p / 250.0), 2)   # on the columns' 1 cm grid (cached)
    cache = {}
    cols = []
    for d in depth:
        if d not in cache:
            cache[d] = two_layer_column(dry_thickness_m=float(d), weh_top_wt_pct=0.0, weh_bottom_wt_pct=6.0)
        cols.append(cache[d])
    n_rocks = int(length_m / 5)
    idx = np.sort(rng.choice(p.size, n_rocks, replace=False))
    for i in idx:
        rd = rng.uniform(0.2, max(0.25, depth[i] - 0.1))
        cols[i] = dataclasses.replace(cols[i], rocks=(Rock(rd, 0.04, 0.0, 0.0),))
    return cols, p, depth


def naive_forward(cols, p, cfg):
    """Reference: per-trace Python loop over interfaces, wavelet evaluated over the whole trace."""
    t = np.arange(cfg.n_samples) * cfg.dt_s
    out = np.zeros((len(cols), cfg.n_samples))
    h = cfg.antenna_height_m
    for i, c in enumerate(cols):
        eps, tan = regolith_dielectric(c.density_kg_m3, c.weh_wt_pct, c.feo_tio2_wt_pct)
        dz = c.dz_m
        tr = gpr.ricker(t - cfg.system_delay_s, cfg.centre_frequency_hz) * cfg.direct_coupling
        n_prev, time_, spread, trans, loss = 1.0, 2 * h / C_M_S, 2 * h, 1.0, 1.0
        for k in range(len(eps)):
            n = np.sqrt(eps[k])
            r = (n_prev - n) / (n_prev + n)
            if abs(r) > 0:
                tr += r * trans * loss / spread * gpr.ricker(t - cfg.system_delay_s - time_, cfg.centre_frequency_hz)
            trans *= 1 - r * r
            time_ += 2 * dz * n / C_M_S
            spread += 2 * dz / n
            loss *= np.exp(-2 * np.pi * cfg.centre_frequency_hz * n * tan[k] / C_M_S * dz)
            n_prev = n
        out[i] = tr
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--length-m", type=float, default=1000.0)
    ap.add_argument("--dx-m", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--ref-traces", type=int, default=100)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    cols, p, depth = traverse(a.length_m, a.dx_m, rng)
    cfg = gpr.GprParams()
    gpr.forward_radargram(cols[:10], p[:10], rng=np.random.default_rng(0))        # numba compile, not timed

    tracemalloc.start()
    t0 = time.perf_counter()
    rg = gpr.forward_radargram(cols, p, rng=rng, config=cfg)
    t1 = time.perf_counter()
    res = gpr.retrieve(rg, radius_m=0.04)
    t2 = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # reference on a rock-free subset, noise off, and the check that both agree
    quiet = dataclasses.replace(cfg, noise_floor_db=-300.0, bandlimited_noise_db=-np.inf, wow_amplitude=0.0,
                                timing_jitter_s=0.0)
    sub = [c if not c.rocks else dataclasses.replace(c, rocks=()) for c in cols[: a.ref_traces]]
    r0 = time.perf_counter()
    ref = naive_forward(sub, p[: a.ref_traces], quiet)
    r1 = time.perf_counter()
    fast = gpr.forward_radargram(sub, p[: a.ref_traces], rng=np.random.default_rng(0), config=quiet).data
    max_diff = float(np.max(np.abs(ref - fast)) / np.max(np.abs(ref)))
    ref_per_trace = (r1 - r0) / a.ref_traces
    ref_forward_s = ref_per_trace * len(cols)

    ok = np.isfinite(res.ice_depth_m)
    # a window's pick is that of the stack of its traces: score it against the mean of their true depths
    # (the table varies along the track and is rounded to the columns' 1 cm grid; the centre trace's depth
    # differs from that mean by up to ~5 mm, several times the stack's sigma)
    n_win, W = res.ice_depth_m.size, len(p) // res.ice_depth_m.size
    true_at = depth[: n_win * W].reshape(n_win, W).mean(axis=1)
    err = res.ice_depth_m[ok] - true_at[ok]
    z = err / res.ice_depth_sigma_m[ok]
    err_c = res.ice_depth_m[ok] - np.interp(res.window_centres_m, p, depth)[ok]
    print(json.dumps({
        "traces": len(cols), "samples": rg.data.shape[1], "length_m": a.length_m, "dx_m": a.dx_m,
        "cpu_count": os.cpu_count(),
        "forward_s": round(t1 - t0, 3), "retrieve_s": round(t2 - t1, 3), "total_s": round(t2 - t0, 3),
        "peak_traced_mb": round(peak / 2 ** 20, 1),
        "reference_forward_s_scaled": round(ref_forward_s, 2),
        "forward_speedup_vs_naive_loop": round(ref_forward_s / (t1 - t0), 1),
        "reference_max_rel_diff": max_diff,
        "eps_top": round(res.eps_top, 4), "eps_top_sigma": round(res.eps_top_sigma, 4),
        "eps_top_true": round(1.919 ** 1.5, 4), "n_hyperbolas": len(res.hyperbolas),
        "windows_used": int(ok.sum()), "windows": int(ok.size),
        "ice_depth_rmse_m": round(float(np.sqrt(np.mean(err ** 2))), 4),
        "ice_depth_abs_err_p50_m": round(float(np.median(np.abs(err))), 4),
        "ice_depth_abs_err_p95_m": round(float(np.quantile(np.abs(err), 0.95)), 4),
        "ice_depth_z_median_abs": round(float(np.median(np.abs(z))), 2),
        "ice_depth_frac_abs_z_lt_2": round(float(np.mean(np.abs(z) < 2)), 3),
        "ice_depth_bias_m": round(float(np.mean(err)), 5),
        "ice_depth_frac_abs_z_lt_2_vs_centre_trace": round(float(np.mean(np.abs(err_c / res.ice_depth_sigma_m[ok]) < 2)), 3),
        "weh_median_wt_pct": round(float(np.nanmedian(res.weh_below_wt_pct)), 2), "weh_true_wt_pct": 6.0,
    }))


if __name__ == "__main__":
    main()
