"""Neutron spectrometer over a 1 km traverse: forward model and retrieval.

A rover at 0.1 m/s sampling at 1 Hz (10,000 samples) crosses ground with
patches of buried ice (0.1 m cells). The vectorised forward model (footprint by
summation by parts, Simpson average per sample, Poisson counts) and the grid
posterior on 10 s windows are timed against naive references measured in the
same run: a Python double loop over samples x ground cells for the forward
model and a Python loop over grid cells for the posterior, each on a subset and
scaled up linearly. Prints one JSON line.

    PYTHONPATH=src python benchmarks/bench_neutron.py
"""

import json
import math
import time
import tracemalloc

import numpy as np

from lupex.instruments import neutron as ns

NS = ns.NeutronParams()


def ground(rng, length_m=1000.0, cell_m=0.1):
    edges = np.arange(-20.0, length_m + 20.0 + 1e-9, cell_m)
    centres = 0.5 * (edges[:-1] + edges[1:])
    w = np.zeros(centres.size)
    d = np.zeros(centres.size)
    for start in rng.uniform(0, length_m, 12):
        sel = (centres > start) & (centres < start + rng.uniform(10, 60))
        w[sel] = rng.uniform(1, 8)
        d[sel] = rng.uniform(0.0, 0.6)
    epi, th = ns.two_layer_ratios(0.0, w, d * 150.0)
    return edges, epi * NS.epi_dry_rate_cps, th * NS.th_dry_rate_cps


def naive_forward(x, edges, rate, fwhm):
    out = []
    for xi in x:
        acc = 0.0
        for j in range(rate.size):
            acc += rate[j] * (float(ns.footprint_cdf(xi - edges[j], fwhm)) -
                              float(ns.footprint_cdf(xi - edges[j + 1], fwhm)))
        acc += rate[0] * (1 - float(ns.footprint_cdf(xi - edges[0], fwhm)))
        acc += rate[-1] * float(ns.footprint_cdf(xi - edges[-1], fwhm))
        out.append(acc)
    return np.array(out)


def naive_posterior(n_e, n_t, live, wg, dg, f=0.0):
    post = np.empty((wg.size, dg.size))
    for i, w in enumerate(wg):
        for j, d in enumerate(dg):
            e, t = ns.two_layer_ratios(0.0, w, d * 150.0)
            me, mt = float(e) * NS.epi_dry_rate_cps * live, float(t) * NS.th_dry_rate_cps * live
            post[i, j] = n_e * math.log(me) - me + n_t * math.log(mt) - mt
    post = np.exp(post - post.max())
    return post / post.sum()


def main():
    rng = np.random.default_rng(0)
    edges, epi, th = ground(rng)
    n = 10000
    t = np.arange(n + 1.0)
    s = 0.1 * t

    tracemalloc.start()
    t0 = time.perf_counter()
    ce, ct, me, mt = ns.simulate_track_counts(t, s, edges, epi, th, rng)
    t_fwd = time.perf_counter() - t0
    t0 = time.perf_counter()
    se, live, _ = ns.segment_counts(ce, t, 10.0)
    st, _, _ = ns.segment_counts(ct, t, 10.0)
    post = ns.retrieve_two_layer(se, st, live, n_weh=81, n_depth=61, systematic_frac=0.0)
    t_ret = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # references on subsets, scaled up linearly
    k = 20
    t0 = time.perf_counter()
    ref = naive_forward(s[:k], edges, epi, 1.0)
    t_fwd_ref = (time.perf_counter() - t0) * (3 * n / k)   # 3 Simpson points per sample
    fast = ns.smoothed_rates(s[:k], edges, epi, 1.0)
    fwd_err = float(np.max(np.abs(ref - fast)))
    t0 = time.perf_counter()
    p_ref = naive_posterior(se[0], st[0], live[0], post.weh_grid_wt_pct, post.depth_grid_m)
    t_ret_ref = (time.perf_counter() - t0) * se.size
    post_err = float(np.max(np.abs(p_ref - post.posterior[0])))

    print(json.dumps({
        "benchmark": "neutron_1km_traverse",
        "samples": n, "ground_cells": int(epi.size), "segments": int(se.size),
        "grid": [int(post.weh_grid_wt_pct.size), int(post.depth_grid_m.size)],
        "forward_s": round(t_fwd, 3), "retrieval_s": round(t_ret, 3),
        "peak_mem_mb": round(peak / 2**20, 1),
        "forward_ref_s_scaled": round(t_fwd_ref, 1), "retrieval_ref_s_scaled": round(t_ret_ref, 1),
        "forward_speedup": round(t_fwd_ref / t_fwd, 1), "retrieval_speedup": round(t_ret_ref / t_ret, 1),
        "forward_max_abs_diff_cps": fwd_err, "posterior_max_abs_diff": post_err,
    }))


if __name__ == "__main__":
    main()
