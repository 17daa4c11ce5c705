"""Benchmark: horizon angles for a whole DEM, against two references measured in the same run.

    python benchmarks/bench_horizon.py [--size 1000] [--azimuths 360] [--subset-cells 1500]

* ours: :func:`lupex.light.horizon.horizon_angles`, the O(N)-per-azimuth hull sweep
  (Dozier & Frew 1990, IEEE TGRS 28(5):963; Dozier 2022, Computers & Geosciences
  160:105011), on the full map;
* (a) the naive ray march (:func:`lupex.light.horizon.horizon_bruteforce`, bilinear every
  0.25 px, numba, parallel over cells) on a random subset of cells x azimuths, scaled up;
* (b) an Embree ray-casting horizon search as in HORAYZON (Steger et al. 2022, GMD
  15:6817): triangle mesh of the DEM on the curved (paraboloid) surface, per cell and
  azimuth start from the previous azimuth's elevation, step outwards (doubling) until
  a hit / no-hit pair brackets the horizon, then bisect to 0.1 deg; on a subset, scaled up.
  embreex casts each batch on one thread; HORAYZON parallelises over cells with TBB, so
  an ideal-speedup figure (divided by the core count) is printed too.

The DEM is a synthetic fractal (FFT spectral synthesis, RMS slope ~14 deg) generated here.
Prints a table and, last, one JSON line with the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

try:
    import lupex  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lupex.ephemeris import MOON_RADIUS_M  # noqa: E402
from lupex.light.horizon import azimuths_deg, horizon_angles, horizon_bruteforce  # noqa: E402


def fractal_dem(n: int, pixel_m: float, seed: int = 0, beta: float = 3.7, rms_slope: float = 0.25):
    rng = np.random.default_rng(seed)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n)))
    k[0, 0] = 1.0
    spec = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) * k ** (-beta / 2)
    spec[0, 0] = 0.0
    z = np.fft.ifft2(spec).real
    gy, gx = np.gradient(z, pixel_m)
    return z / np.sqrt(np.mean(gx**2 + gy**2)) * rms_slope


# -- (b) HORAYZON-style Embree search -----------------------------------------------------------


class EmbreeHorizon:
    """Horizon by ray casting against an Embree BVH of the DEM triangles (HORAYZON's method)."""

    def __init__(self, z_m, pixel_m, radius_m=MOON_RADIUS_M, origin_offset_m=0.05):
        from embreex import mesh_construction, rtcore_scene

        ny, nx = z_m.shape
        cols, rows = np.meshgrid(np.arange(nx), np.arange(ny))
        x = (cols - (nx - 1) / 2) * pixel_m
        y = -(rows - (ny - 1) / 2) * pixel_m  # north-up
        zc = z_m - (x**2 + y**2) / (2 * radius_m)  # the sphere about the grid centre (parabolic)
        self.verts = np.stack([x, y, zc], axis=-1).reshape(-1, 3)
        idx = np.arange(ny * nx).reshape(ny, nx)
        a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
        c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
        faces = np.concatenate([np.stack([a, c, b], 1), np.stack([b, c, d], 1)]).astype(np.int32)
        t0 = time.perf_counter()
        self.scene = rtcore_scene.EmbreeScene()
        mesh_construction.TriangleMesh(self.scene, self.verts.astype(np.float32), faces)
        self.scene.run(np.zeros((1, 3), np.float32), np.ones((1, 3), np.float32))  # commit (BVH build)
        self.build_s = time.perf_counter() - t0
        self.nx, self.radius, self.offset = nx, radius_m, origin_offset_m
        self.rays = 0

    def _occluded(self, org, dirs):
        self.rays += len(org)
        return self.scene.run(org.astype(np.float32), dirs.astype(np.float32), query="OCCLUDED") != -1

    def horizon(self, rows, cols, az_deg_list, tol_deg=0.1, step0_deg=1.0):
        p = self.verts[rows * self.nx + cols]
        up = np.stack([p[:, 0] / self.radius, p[:, 1] / self.radius, np.ones(len(p))], 1)
        up /= np.linalg.norm(up, axis=1, keepdims=True)
        org = p + self.offset * up
        out = np.empty((len(az_deg_list), len(p)))
        prev = np.zeros(len(p))
        for i, az in enumerate(az_deg_list):
            a = math.radians(az)
            h = np.array([math.sin(a), math.cos(a), 0.0])[None, :] - (up @ np.array([math.sin(a), math.cos(a), 0.0]))[:, None] * up
            h /= np.linalg.norm(h, axis=1, keepdims=True)

            def occl(sel, e_deg):
                e = np.radians(e_deg)[:, None]
                return self._occluded(org[sel], np.cos(e) * h[sel] + np.sin(e) * up[sel])

            lo = np.full(len(p), -90.0)  # a ray at lo hits terrain
            hi = np.full(len(p), 90.0)  # a ray at hi escapes
            allc = np.arange(len(p))
            hit = occl(allc, prev)
            lo[hit], hi[~hit] = prev[hit], prev[~hit]
            step = np.full(len(p), step0_deg)
            up_dir = hit.copy()  # hit: search upwards for a miss; miss: downwards for a hit
            act = allc
            while act.size:
                trial = np.where(up_dir[act], np.minimum(prev[act] + step[act], 90.0),
                                 np.maximum(prev[act] - step[act], -90.0))
                h_ = occl(act, trial)
                done = h_ != up_dir[act]
                lo[act[h_]] = np.maximum(lo[act[h_]], trial[h_])
                hi[act[~h_]] = np.minimum(hi[act[~h_]], trial[~h_])
                step[act] *= 2
                edge = np.abs(trial) >= 90.0
                act = act[~(done | edge)]
            act = allc[hi - lo > tol_deg]
            while act.size:
                mid = 0.5 * (lo[act] + hi[act])
                h_ = occl(act, mid)
                lo[act[h_]] = mid[h_]
                hi[act[~h_]] = mid[~h_]
                act = act[hi[act] - lo[act] > tol_deg]
            prev = 0.5 * (lo + hi)
            out[i] = prev
        return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--azimuths", type=int, default=360)
    ap.add_argument("--pixel", type=float, default=20.0)
    ap.add_argument("--subset-cells", type=int, default=1500, help="cells for the slow references")
    ap.add_argument("--brute-azimuths", type=int, default=24, help="azimuths for the ray march subset")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    n, n_az, p = args.size, args.azimuths, args.pixel
    cells = n * n
    cores = len(os.sched_getaffinity(0))
    rng = np.random.default_rng(args.seed)
    z = fractal_dem(n, p, seed=args.seed)
    az = azimuths_deg(n_az)

    horizon_angles(z[:32, :32], p, 8)  # compile / load the numba cache outside the timing
    horizon_bruteforce(z[:32, :32], p, 10.0, [5], [5])
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    ours = horizon_angles(z, p, n_az)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    _, peak_py = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    # (a) naive ray march on a random subset of cells x azimuths
    # interior cells: on the outermost ring the edge conventions of the methods differ by design
    rows = rng.integers(2, n - 2, args.subset_cells)
    cols = rng.integers(2, n - 2, args.subset_cells)
    az_b = rng.choice(n_az, size=min(args.brute_azimuths, n_az), replace=False)
    t0, c0 = time.perf_counter(), time.process_time()
    brute = np.stack([horizon_bruteforce(z, p, az[k], rows, cols) for k in az_b])
    scale = cells * n_az / (args.subset_cells * az_b.size)
    t_brute, c_brute = (time.perf_counter() - t0) * scale, (time.process_time() - c0) * scale
    err = np.abs(ours[az_b][:, rows, cols] - brute)

    # (b) HORAYZON-style Embree search on a subset of cells, all azimuths in order
    emb = EmbreeHorizon(z, p)
    m = max(50, args.subset_cells // 5)
    er, ec = rows[:m], cols[:m]
    t0, c0 = time.perf_counter(), time.process_time()
    e_emb = emb.horizon(er, ec, az)
    scale = cells / m
    t_emb = (time.perf_counter() - t0) * scale + emb.build_s
    c_emb = (time.process_time() - c0) * scale + emb.build_s
    # Embree's ray origins sit 5 cm above the surface (against self-hits); compared with the
    # h = 0 map, which differs from a 5 cm eye only for horizons a few pixels away
    err_emb = np.abs(ours[:, er, ec] - e_emb)

    res = {
        "size": n, "azimuths": n_az, "cores": cores,
        "ours_s": t_ours, "ours_cpu_s": c_ours, "load_avg_1min": os.getloadavg()[0], "cell_azimuths_per_s": cells * n_az / t_ours,
        "ms_per_azimuth_per_mpx": t_ours / n_az * 1e3 / (cells / 1e6),
        "peak_numpy_bytes": peak_py, "max_rss_bytes": maxrss,
        "bruteforce_s_scaled": t_brute, "speedup_vs_bruteforce": t_brute / t_ours,
        "embree_s_scaled": t_emb, "embree_build_s": emb.build_s,
        "embree_rays_per_cell_azimuth": emb.rays / (m * n_az),
        "speedup_vs_embree": t_emb / t_ours, "speedup_vs_embree_cpu": c_emb / c_ours,
        "speedup_vs_bruteforce_cpu": c_brute / c_ours, "speedup_vs_embree_ideal_parallel": t_emb / cores / t_ours,
        "err_vs_bruteforce_deg": {"median": float(np.median(err)), "p99": float(np.percentile(err, 99)),
                                  "max": float(err.max())},
        "diff_vs_embree_deg": {"median": float(np.median(err_emb)), "p99": float(np.percentile(err_emb, 99))},
        "subset_cells_brute": int(args.subset_cells), "subset_azimuths_brute": int(az_b.size),
        "subset_cells_embree": int(m),
    }
    print(f"horizon {n}x{n} x {n_az} azimuths, {cores} cores, pixel {p:g} m")
    print(f"(1-min load average {os.getloadavg()[0]:.1f}: on a shared machine trust the CPU-time ratios)")
    print(f"{'method':<36}{'wall (s)':>10}{'faster':>9}{'CPU (s)':>10}{'faster':>9}")
    print(f"{'ours: hull sweep (full map)':<36}{t_ours:>10.2f}{1.0:>8.1f}x{c_ours:>10.2f}{1.0:>8.1f}x")
    print(f"{'(a) ray march 0.25 px (scaled)':<36}{t_brute:>10.0f}{t_brute / t_ours:>8.0f}x{c_brute:>10.0f}{c_brute / c_ours:>8.0f}x")
    print(f"{'(b) Embree HORAYZON-style (scaled)':<36}{t_emb:>10.0f}{t_emb / t_ours:>8.0f}x{c_emb:>10.0f}{c_emb / c_ours:>8.0f}x")
    print(f"{'    same, ideal /{} cores'.format(cores):<36}{t_emb / cores:>10.0f}{t_emb / cores / t_ours:>8.0f}x")
    print(f"throughput {res['cell_azimuths_per_s']:.3g} cell-azimuths/s "
          f"({res['ms_per_azimuth_per_mpx']:.1f} ms per azimuth per Mpx); "
          f"peak numpy {peak_py / 2**20:.0f} MiB (result {ours.nbytes / 2**20:.0f} MiB), max RSS {maxrss / 2**20:.0f} MiB")
    print(f"vs ray march: |diff| median {res['err_vs_bruteforce_deg']['median']:.3f}, "
          f"p99 {res['err_vs_bruteforce_deg']['p99']:.2f}, max {res['err_vs_bruteforce_deg']['max']:.2f} deg; "
          f"vs Embree (0.1 deg bisection, {res['embree_rays_per_cell_azimuth']:.1f} rays/cell/az): "
          f"median {res['diff_vs_embree_deg']['median']:.3f}, p99 {res['diff_vs_embree_deg']['p99']:.2f} deg")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
