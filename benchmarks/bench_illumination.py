"""Benchmark of lupex.light.illumination.light_statistics.

Default: a 1000 x 1000 DEM (20 m pixels, centred on the south pole) x one year
of hourly steps (8760), 360 azimuths, with a synthetic horizon cube of smooth
random horizons in [-1, 4] deg (float32, generated here). Prints wall time,
cell-steps per second, the ratio against a reference naive vectorised-numpy
implementation (per time step over all cells: sky, horizon interpolation,
exact disk fraction, run update) measured on a few steps in the same run and
scaled to the whole span, and the peak memory (ru_maxrss). A JSON line with
the numbers ends the output.

    PYTHONPATH=src python benchmarks/bench_illumination.py [--size 1000] [--hours 8760]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np


def synthetic_dem(n: int, pixel_m: float):
    import rioxarray  # noqa: F401
    import xarray as xr

    x = (np.arange(n) - (n - 1) / 2) * pixel_m
    da = xr.DataArray(np.zeros((n, n), np.float32), dims=("y", "x"), coords={"y": x[::-1].copy(), "x": x})
    return da.rio.write_crs("IAU_2015:30135")


def synthetic_cube(n: int, n_az: int, seed: int = 0) -> np.ndarray:
    """Smooth random horizons: spatially smooth base / amplitude / phases, 3 azimuthal harmonics, clipped to [-1, 4]."""
    from scipy.ndimage import zoom

    rng = np.random.default_rng(seed)

    def field(lo, hi):
        coarse = rng.uniform(lo, hi, (n // 25 + 2, n // 25 + 2))
        f = zoom(coarse, n / (coarse.shape[0] - 1), order=1)[:n, :n]
        return (f + rng.normal(0, 0.05 * (hi - lo), (n, n))).astype(np.float32)

    base, amp = field(-0.5, 2.5), field(0.0, 1.5)
    p1, p2, p3 = field(0, 2 * np.pi), field(0, 2 * np.pi), field(0, 2 * np.pi)
    cube = np.empty((n_az, n, n), np.float32)
    for k in range(n_az):
        a = np.float32(2 * np.pi * k / n_az)
        w = np.sin(a + p1) + 0.5 * np.sin(2 * a + p2) + 0.3 * np.sin(3 * a + p3)
        np.clip(base + amp * w / np.float32(1.8), -1.0, 4.0, out=cube[k])
    return cube


def numpy_reference(dem, cube, times, dark_threshold=0.0, earth_threshold=0.5):
    """Naive vectorised numpy: per time step over all cells. Returns (illumination_pct, longest_dark_steps)."""
    from lupex import ephemeris
    from lupex.light import sky

    et = ephemeris.utc_to_et(times)
    s = sky.site_sky(dem, et)
    rot = sky.cell_rotation(dem, s.site)
    n_az, ny, nx = cube.shape
    flat = cube.reshape(n_az, -1)
    cells = np.arange(ny * nx)
    sun_sum = np.zeros(ny * nx)
    earth_vis = np.zeros(ny * nx)
    run = np.zeros(ny * nx, np.int64)
    longest = np.zeros(ny * nx, np.int64)
    for t in range(et.size):
        fr = {}
        for body, tr in (("SUN", s.sun), ("EARTH", s.earth)):
            one = sky.BodyTrack(body, tr.et[t : t + 1], tr.s[t : t + 1], tr.radius_deg[t : t + 1])
            el, az = sky.sky_at_cells(one, rot)
            f = (az.ravel() % 360.0) * (n_az / 360.0)
            k = np.floor(f).astype(np.int64)
            w = f - k
            k %= n_az
            h = flat[k, cells] * (1 - w) + flat[(k + 1) % n_az, cells] * w
            fr[body] = sky.disk_visible_fraction(el.ravel() - h, tr.radius_deg[t])
        sun_sum += fr["SUN"]
        earth_vis += fr["EARTH"] >= earth_threshold
        dark = fr["SUN"] <= dark_threshold
        run = np.where(dark, run + 1, 0)
        np.maximum(longest, run, out=longest)
    return 100 * sun_sum / et.size, longest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--hours", type=int, default=8760)
    ap.add_argument("--n-az", type=int, default=360)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--ref-steps", type=int, default=4, help="time steps the numpy reference runs (then scaled)")
    args = ap.parse_args()

    from lupex import ephemeris
    from lupex.light import illumination as il

    dem = synthetic_dem(args.size, 20.0)
    t0 = time.perf_counter()
    cube = synthetic_cube(args.size, args.n_az)
    t_cube = time.perf_counter() - t0
    times = ephemeris.time_grid("2027-01-01T00:00", "2030-01-01T00:00", 1.0)[: args.hours]
    # warm-up (numba compile / cache load) on a tiny problem
    il.light_statistics(dem.isel(y=slice(0, 4), x=slice(0, 4)), np.ascontiguousarray(cube[:, :4, :4]), times[:48])

    t0 = time.perf_counter()
    c0 = time.process_time()
    stats = il.light_statistics(dem, cube, times, tile=args.tile)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    cell_steps = args.size**2 * len(times)

    # numpy reference on a few steps, scaled to the span; check it agrees on those steps
    ref_times = times[: args.ref_steps]
    t0 = time.perf_counter()
    ref_pct, _ = numpy_reference(dem, cube, ref_times)
    ref_wall = time.perf_counter() - t0
    ref_scaled = ref_wall * len(times) / len(ref_times)
    fast_sub = il.light_statistics(dem, cube, ref_times, tile=args.tile)
    agree = float(np.abs(fast_sub.illumination_pct.values.ravel() - ref_pct).max())

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    res = {
        "grid": f"{args.size}x{args.size}",
        "steps": len(times),
        "n_azimuths": args.n_az,
        "cores": os.cpu_count(),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cell_steps_per_s": round(cell_steps / wall),
        "ns_per_cell_step_per_core": round(cpu / cell_steps * 1e9, 2),
        "numpy_ref_s_scaled": round(ref_scaled, 1),
        "numpy_ref_steps_measured": len(ref_times),
        "speedup_vs_numpy": round(ref_scaled / wall, 1),
        "max_abs_diff_vs_numpy_pct_on_ref_steps": agree,
        "cube_gib": round(cube.nbytes / 2**30, 2),
        "cube_generation_s": round(t_cube, 1),
        "peak_rss_mb": round(peak_mb),
        "mean_illumination_pct": round(float(stats.illumination_pct.mean()), 3),
        "permanent_shadow_pct": round(100 * float(stats.permanent_shadow.mean()), 3),
    }
    print(f"light_statistics {res['grid']} x {res['steps']} steps: {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"{res['cell_steps_per_s'] / 1e6:.0f} M cell-steps/s ({res['ns_per_cell_step_per_core']} ns per cell-step per core)")
    print(f"numpy reference: {ref_wall:.1f} s for {len(ref_times)} steps -> {ref_scaled:.0f} s scaled; "
          f"speed-up x{res['speedup_vs_numpy']}; max |diff| on those steps {agree:.2e} %")
    print(f"horizon cube {res['cube_gib']} GiB; peak RSS {res['peak_rss_mb']} MB")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
