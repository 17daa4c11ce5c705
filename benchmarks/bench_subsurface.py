"""Subsurface benchmarks, as ratios against reference implementations run here.

1. thermal kernel (numba, Thomas) vs the same backward-Euler/Newton scheme in numpy +
   scipy.linalg.solve_banded, one equatorial lunation at 1-h steps (answers compared);
2. Gaussian random field by circulant embedding vs Cholesky of the dense covariance;
3. ground truth of a 1000 x 1000 grid via the calibration table vs the estimated cost of
   one thermal spin-up per cell.

Run: PYTHONPATH=src python benchmarks/bench_subsurface.py
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr
from scipy import linalg

from lupex.subsurface import ice, thermal as th


def _best(f, n=3):
    out, best = None, np.inf
    for _ in range(n):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def reference_cycle(T, flux, dt, props=th.HAYNE2017, grid=None):
    grid = grid or th.make_grid()
    dzc, G, rho, cpc, hpc = th._setup(props, grid)
    chi, es, qb = props.chi, props.emissivity * th.SIGMA_SB, props.heat_flux_w_m2
    T = T.copy()
    n = T.size
    for F in flux:
        hold = rho * dzc / dt * np.polyval(hpc, T)
        for _ in range(40):
            cp = np.maximum(np.polyval(cpc, T), 1.0)
            a = rho * cp * dzc / dt
            g = 1 + chi * (T / 350) ** 3
            u = th.kirchhoff_u(T, chi)
            res = rho * dzc / dt * np.polyval(hpc, T) - hold
            flow = G * (u[:-1] - u[1:])  # downward flux at faces
            res[:-1] += flow
            res[1:] -= flow
            res[0] += es * T[0] ** 4 - F
            res[-1] -= qb
            ab = np.zeros((3, n))
            diag = a.copy()
            diag[:-1] += G * g[:-1]
            diag[1:] += G * g[1:]
            diag[0] += 4 * es * T[0] ** 3
            ab[1] = diag
            ab[0, 1:] = -G * g[1:]
            ab[2, :-1] = -G * g[:-1]
            d = linalg.solve_banded((1, 1), ab, -res)
            damp = min(1.0, np.min(0.5 * T / np.maximum(np.abs(d), 1e-300)))
            T = np.maximum(T + damp * d, 1.0)
            if np.max(np.abs(damp * d)) < 1e-4:
                break
    return T


def main():
    nt = 709
    dt = th.SYNODIC_MONTH_S / nt
    inc = np.degrees(np.arccos(np.cos(2 * np.pi * (np.arange(nt) + 1) / nt)))
    flux = th.absorbed_flux_w_m2(inc)
    r = th.periodic_temperatures(flux, dt)
    t_nb, out_nb = _best(lambda: th.integrate(r.t_final_k, flux, dt).t_final_k)
    t_ref, out_ref = _best(lambda: reference_cycle(r.t_final_k, flux, dt), n=1)
    print(f"thermal lunation: numba/reference time ratio {t_nb / t_ref:.4f} "
          f"(speed-up x{t_ref / t_nb:.0f}); max |dT| {np.max(np.abs(out_nb - out_ref)):.2e} K")

    n, L = 40, 5.0
    t_ce, _ = _best(lambda: ice.gaussian_random_fields((n, n), 1.0, L, np.random.default_rng(0)))
    xx, yy = np.meshgrid(np.arange(n), np.arange(n))
    pts = np.column_stack([xx.ravel(), yy.ravel()])

    def chol():
        d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
        c = linalg.cholesky(np.exp(-d / L) + 1e-10 * np.eye(n * n), lower=True)
        return c @ np.random.default_rng(0).standard_normal(n * n)

    t_ch, _ = _best(chol, n=1)
    print(f"random field {n}x{n}: circulant/Cholesky time ratio {t_ce / t_ch:.4f}")

    from lupex.subsurface import polar
    from lupex.subsurface.ground_truth import make_ground_truth

    m = 1000
    grid = xr.DataArray(np.zeros((m, m)), coords={"y": np.arange(m)[::-1] + 0.5, "x": np.arange(m) + 0.5},
                        dims=("y", "x")).rio.write_crs("IAU_2015:30135")
    illum = np.random.default_rng(1).random((m, m)) * 30
    polar._polar_table.cache_clear()
    t_table, _ = _best(polar.polar_table, n=1)  # computed once per process, then cached
    t_gt, _ = _best(lambda: make_ground_truth(grid, seed=1, illumination_pct=illum), n=1)
    t_cell, _ = _best(lambda: th.periodic_temperatures(*polar.polar_forcing(0.1, 10.0), tol_k=0.1), n=1)
    print(f"ground truth {m}x{m}: {t_gt:.1f} s (+ table {t_table:.1f} s once); "
          f"ratio to per-cell thermal runs {(t_gt + t_table) / (t_cell * m * m):.2e}")


if __name__ == "__main__":
    import rioxarray  # noqa: F401

    main()
