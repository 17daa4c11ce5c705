"""Survey benchmark: a 1 km traverse, GPR every 5 cm and the neutron spectrometer at 1 Hz (plus ALIS
every 10 m and EMS-L), forward-modelled, retrieved and written, on a ground truth with ice.

Target (issue): under 60 s on 2 cores. Prints one JSON line: wall times per instrument and in
total, peak memory (max RSS of the process; with --trace also tracemalloc's peak, which slows the
Python-heavy stages), the scores against the truth, and the ratio
against a naive reference measured in the same run: building the ground-truth column of every GPR
trace and every neutron sample with ``GroundTruth.column`` (no per-cell cache; rocks found per
trace), timed on a subset and scaled linearly. The two column sets are checked to be identical on
that subset (rocks aside, which the reference finds by horizontal distance, the survey by
cross-track distance).

Run:  PYTHONPATH=src python benchmarks/bench_survey.py [--length-m 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import tracemalloc

import numpy as np
import rioxarray  # noqa: F401
import xarray as xr

from lupex.instruments import neutron
from lupex.mission import survey as sv
from lupex.subsurface.ground_truth import make_ground_truth


def site(length_m: float, px: float = 20.0, seed: int = 3):
    """A strip 200 m longer than the traverse; ice stable on its second half (default truth statistics)."""
    nx, ny = int((length_m + 200) / px), 20
    x = (np.arange(nx) + 0.5) * px
    y = (np.arange(ny)[::-1] + 0.5) * px - ny * px / 2
    grid = xr.DataArray(np.zeros((ny, nx)), coords={"y": y, "x": x}, dims=("y", "x")).rio.write_crs("IAU_2015:30135")
    cold = np.broadcast_to(x >= x.mean(), (ny, nx))
    gt = make_ground_truth(grid, seed=seed, t_max_surface_k=np.where(cold, 90.0, 250.0),
                           t_mean_surface_k=np.where(cold, 50.0, 150.0),
                           stability_depth_m=np.where(cold, 0.05, np.inf))
    return grid, gt


def naive_columns(gt, path_xy, positions_m, heading=True):
    p = sv._as_path(path_xy)
    x, y, hd = p.at(positions_m)
    return [gt.column(float(a), float(b), heading_deg=float(h) if heading else None) for a, b, h in zip(x, y, hd)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--length-m", type=float, default=1000.0)
    ap.add_argument("--ref-traces", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trace", action="store_true", help="tracemalloc peak (slows Python-heavy stages ~2x)")
    a = ap.parse_args()
    grid, gt = site(a.length_m)
    path = np.array([[100.0, 3.0], [100.0 + a.length_m, 3.0]])
    # warm-up (numba compilation of the GPR renderer), not timed
    sv.run_survey(gt, grid, np.array([[100.0, 3.0], [130.0, 3.0]]), None, seed=0, write=False,
                  params=sv.SurveyParams(ns_window_s=20.0, emsl_duration_s=1800.0))

    with tempfile.TemporaryDirectory() as tmp:
        if a.trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        res = sv.run_survey(gt, grid, path, tmp, seed=a.seed)
        wall = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if a.trace else None
        tracemalloc.stop()
        size_mb = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp)) / 2**20

    # our column stage, alone: cache per cell + rocks along the path, for every trace and NS cell run
    prm = res.params
    p_gpr = res.gpr["s_m"].to_numpy()
    t0 = time.perf_counter()
    cache = sv.ColumnCache(gt)
    rocks = sv.rocks_along_path(gt.rocks, path, prm.rock_search_m, prm.column_depth_m)
    cols = sv.gpr_columns(cache, path, p_gpr, rocks)
    edges, iy, ix = sv._cell_runs(sv._as_path(path), cache.grid)
    _rates = [neutron.expected_rates_cps(cache.get(i, j)) for i, j in zip(iy, ix)]
    ours_cols = time.perf_counter() - t0

    # naive reference on a subset, scaled: GPR traces (with rocks by heading) and NS samples (column + rates)
    k = min(a.ref_traces, p_gpr.size)
    sub = np.linspace(0, p_gpr.size - 1, k).astype(int)
    t0 = time.perf_counter()
    ref = naive_columns(gt, path, p_gpr[sub])
    t_ref_gpr = (time.perf_counter() - t0) / k * p_gpr.size
    s_ns = 0.5 * (res.ns["s_start_m"] + res.ns["s_end_m"]).to_numpy()
    sub_ns = np.linspace(0, s_ns.size - 1, k).astype(int)
    t0 = time.perf_counter()
    for c in naive_columns(gt, path, s_ns[sub_ns], heading=False):
        neutron.expected_rates_cps(c)
    t_ref_ns = (time.perf_counter() - t0) / k * s_ns.size
    same = all(np.array_equal(r.weh_wt_pct, cols[i].weh_wt_pct) and np.array_equal(r.density_kg_m3, cols[i].density_kg_m3)
               for r, i in zip(ref, sub))
    ref_cols = t_ref_gpr + t_ref_ns
    ref_total = wall - ours_cols + ref_cols

    sc = res.scores.set_index("quantity")
    # GPR detection by depth of the true ice table (windows with ice within 1.2 m)
    gw = res.gpr_windows
    zt, picked = gw["true_ice_table_depth_m"].to_numpy(), np.isfinite(gw["ice_depth_m"].to_numpy())
    bands = {}
    for lo, hi in ((0.0, 0.1), (0.1, 0.21), (0.21, 0.4), (0.4, 0.7), (0.7, 1.2)):
        sel = (zt >= lo) & (zt < hi)
        bands[f"{lo:.2f}-{hi:.2f} m"] = [int(sel.sum()), round(float(picked[sel].mean()), 3) if sel.any() else None]
    print(json.dumps({
        "length_m": res.length_m, "gpr_traces": len(res.gpr), "ns_samples": len(res.ns), "alis_spectra": len(res.alis),
        "cpu_count": os.cpu_count(), "wall_s": round(wall, 2),
        "stages_s": {k_: round(v, 2) for k_, v in res.timings_s.items() if k_.endswith("_s")},
        "under_60_s": wall < 60.0,
        "peak_traced_mb": round(peak / 2**20, 1) if peak is not None else None,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "outputs_mb": round(size_mb, 1),
        "columns_built": res.timings_s["columns_built"], "rocks_near_path": int(len(rocks)),
        "column_stage_s": round(ours_cols, 3), "reference_column_stage_s_scaled": round(ref_cols, 1),
        "column_stage_speedup": round(ref_cols / ours_cols, 1),
        "reference_total_s_scaled": round(ref_total, 1), "end_to_end_speedup": round(ref_total / wall, 2),
        "reference_columns_identical": bool(same),
        "gpr_ice_depth_rmse_m": round(float(sc.loc["ice-table depth (m)", "rmse"]), 4),
        "gpr_ice_depth_frac_2sigma": round(float(sc.loc["ice-table depth (m)", "frac_within_2sigma"]), 3),
        "gpr_detection_rate": round(res.summary["gpr_detection_rate"], 3),
        "gpr_false_pick_rate": round(res.summary["gpr_false_pick_rate"], 3),
        "gpr_detection_by_depth": bands,
        "gpr_weh_bias_wt_pct": round(float(sc.loc["WEH below the ice table (wt%)", "bias"]), 3),
        "gpr_weh_rmse_wt_pct": round(float(sc.loc["WEH below the ice table (wt%)", "rmse"]), 3),
        "gpr_weh_frac_2sigma": round(float(sc.loc["WEH below the ice table (wt%)", "frac_within_2sigma"]), 3),
        "ns_weh_frac_in_95ci": round(float(sc.loc["WEH of the wet layer (wt%)", "frac_in_95ci"]), 3),
        "ns_burial_frac_in_95ci": round(float(sc.loc["burial depth (m)", "frac_in_95ci"]), 3),
        "alis_frac_2sigma": round(float(sc.loc["surface water (wt%)", "frac_within_2sigma"]), 3),
    }))


if __name__ == "__main__":
    main()
