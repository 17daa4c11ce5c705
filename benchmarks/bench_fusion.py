"""GP water-map fusion: fit (hyperparameters optimised) + predict for n = 2000
retrievals onto a 200 x 200 grid, lupex vs scikit-learn's
GaussianProcessRegressor with the same kernel (s2 * Matern-3/2 + white
nugget, per-point noise via ``alpha``), optimiser on, measured in the same run
with the same BLAS threads. Prints one JSON line with the ratio, the fitted
hyperparameters of both, the RMS difference of their maps and peak Python
memory (tracemalloc).

    PYTHONPATH=src python benchmarks/bench_fusion.py [--n 2000] [--grid 200]
"""

import argparse
import json
import time
import tracemalloc

import numpy as np
import xarray as xr

from lupex.prospect import fusion as F
from lupex.prospect import scoring as S
from lupex.prospect import strategy as St


def problem(n, grid, seed=0, cell=5.0, ell=80.0):
    rng = np.random.default_rng(seed)
    x = (np.arange(grid) + 0.5) * cell
    T = xr.DataArray(S.gaussian_random_field((grid, grid), cell, ell, rng), dims=("y", "x"),
                     coords={"x": x, "y": x[::-1].copy()})
    side = grid * cell
    pts = St.path_points(rng.uniform(0, side, (12, 2)), 1.0, include_start=True)
    pts = pts[np.linspace(0, pts.shape[0] - 1, n).astype(int)]
    sig = rng.uniform(0.1, 0.3, n)
    v = S.sample_grid(T, pts) + sig * rng.standard_normal(n)
    return T, F.observations(pts[:, 0], pts[:, 1], v, sig, "ns")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--grid", type=int, default=200)
    ap.add_argument("--restarts", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for both (threadpoolctl)")
    a = ap.parse_args()
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(a.threads)
    except ImportError:
        pass
    T, obs = problem(a.n, a.grid)
    q = F.grid_points(T)

    tracemalloc.start()
    t0 = time.perf_counter()
    m = F.fit_gp(obs, kernel="matern32", mean="zero", n_restarts=a.restarts)
    t1 = time.perf_counter()
    mu, sd = F.predict_latent(m, q)
    t2 = time.perf_counter()
    _, peak_ours = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    out = {"bench": "fusion", "n_obs": obs.n, "threads": a.threads, "grid": f"{a.grid}x{a.grid}", "restarts": a.restarts,
           "lupex_fit_s": round(t1 - t0, 3), "lupex_predict_s": round(t2 - t1, 3),
           "lupex_peak_mib": round(peak_ours / 2**20, 1),
           "lupex_theta": [m.variance, m.length_m, m.nugget], "lupex_lml": m.lml}
    try:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    except ImportError:
        out["sklearn"] = "not installed"
        print(json.dumps(out))
        return
    vy = float(np.var(obs.value))
    kern = ConstantKernel(vy, (1e-4 * vy, 1e2 * vy)) * Matern(50.0, (1.0, 1e4), nu=1.5) \
        + WhiteKernel(0.05 * vy, (1e-8 * vy, 2 * vy))
    tracemalloc.start()
    t0 = time.perf_counter()
    g = GaussianProcessRegressor(kern, alpha=obs.sigma**2, n_restarts_optimizer=a.restarts - 1,
                                 random_state=0).fit(obs.xy, obs.value)
    t1 = time.perf_counter()
    mu_s, sd_s = g.predict(q, return_std=True)
    t2 = time.perf_counter()
    _, peak_sk = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    k = g.kernel_
    out.update({"sklearn_fit_s": round(t1 - t0, 3), "sklearn_predict_s": round(t2 - t1, 3),
                "sklearn_peak_mib": round(peak_sk / 2**20, 1),
                "sklearn_theta": [k.k1.k1.constant_value, k.k1.k2.length_scale, k.k2.noise_level],
                "sklearn_lml": g.log_marginal_likelihood_value_,
                "ratio_total_sklearn_over_lupex": round((t2 - t0) / (out["lupex_fit_s"] + out["lupex_predict_s"]), 2),
                "ratio_fit": round((t1 - t0) / out["lupex_fit_s"], 2),
                "ratio_predict": round((t2 - t1) / out["lupex_predict_s"], 2),
                "map_rms_diff_mean": float(np.sqrt(np.mean((mu - mu_s) ** 2))),
                # sklearn's predictive sd includes the WhiteKernel nugget; ours is the latent f's
                "map_rms_diff_sd": float(np.sqrt(np.mean((sd - np.sqrt(np.maximum(sd_s**2 - k.k2.noise_level, 0))) ** 2)))})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
