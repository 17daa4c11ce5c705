"""Benchmark: the far field's cost on top of the near-field horizons, on the real Site01 DEM.

    python benchmarks/bench_farfield.py [--site 20m|10m] [--azimuths 360] [--light]

* reference: :func:`lupex.light.horizon.horizon_angles` on the site DEM alone (near field), observer 2 m;
* ours: :func:`lupex.light.farfield.horizons_with_far_field` -- the same near field, then the far field of
  the LOLA 240 m polar cap (LDEM_75S_120M resampled) folded in, out to the cap's edge (~180 km);
* ``--light``: also a year of hourly Sun/Earth statistics on the far-field cube
  (:func:`lupex.light.illumination.compute_light` with ``far_field``), end to end, as ``lupex run`` does it.

Both run in this process on the same DEM, one after the other. Prints the far field's extra cost as a
ratio, the wall and CPU times, peak traced memory (tracemalloc, numpy buffers) and peak RSS, the load
average (the reference machine is shared), and one JSON line last.
"""

from __future__ import annotations

import argparse
import json
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

from lupex.light.farfield import horizons_with_far_field  # noqa: E402
from lupex.light.horizon import horizon_angles  # noqa: E402
from lupex.terrain.geo import pixel_size_m  # noqa: E402
from lupex.terrain.io import read_dem  # noqa: E402

DATA = Path(os.environ.get("LUPEX_LOLA_DIR", "/work/shared/data/lola_south_pole"))


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, time.perf_counter() - t0, time.process_time() - c0, peak


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", choices=["20m", "10m"], default="20m")
    ap.add_argument("--azimuths", type=int, default=360)
    ap.add_argument("--height", type=float, default=2.0)
    ap.add_argument("--light", action="store_true", help="also a year of hourly light statistics with the far field")
    a = ap.parse_args(argv)
    site = read_dem(DATA / f"lola_site01_connecting_ridge_{a.site}.tif")
    cap = read_dem(DATA / "lola_ldem75s_southpole_240m.tif")
    z = np.asarray(site.values, float)
    px = pixel_size_m(site)
    # compile both kernels on a few azimuths first (numba caches them on disk after the first run)
    horizons_with_far_field(site, [cap], a.azimuths, observer_height_m=a.height, az_indices=[0, 45])
    load0 = os.getloadavg()[0]
    near, t_near, c_near, m_near = _timed(lambda: horizon_angles(z, px, a.azimuths, observer_height_m=a.height))
    both, t_both, c_both, m_both = _timed(
        lambda: horizons_with_far_field(site, [cap], a.azimuths, observer_height_m=a.height))
    raised = float(np.mean([np.mean(b > n + 0.01) for b, n in zip(both, near)]))  # no cube-sized temporaries
    res = {
        "site": a.site, "cells": int(z.size), "azimuths": a.azimuths, "observer_height_m": a.height,
        "near_wall_s": round(t_near, 2), "near_cpu_s": round(c_near, 2),
        "near_far_wall_s": round(t_both, 2), "near_far_cpu_s": round(c_both, 2),
        "far_extra_wall_ratio": round(t_both / t_near - 1.0, 3), "far_extra_cpu_ratio": round(c_both / c_near - 1.0, 3),
        "frac_raised_by_far": round(raised, 3),
        "peak_traced_near_mib": round(m_near / 2**20, 1), "peak_traced_near_far_mib": round(m_both / 2**20, 1),
        "load_avg_1min_start": round(load0, 2),
    }
    del near, both
    print(f"Site01 {a.site}: {z.shape[0]} x {z.shape[1]} cells x {a.azimuths} azimuths, eye {a.height:g} m")
    print(f"  near field only (reference)  {t_near:7.1f} s wall {c_near:7.1f} s CPU  peak {m_near / 2**20:7.1f} MiB")
    print(f"  near + far field (240 m cap) {t_both:7.1f} s wall {c_both:7.1f} s CPU  peak {m_both / 2**20:7.1f} MiB")
    print(f"  far field costs +{100 * res['far_extra_wall_ratio']:.0f} % wall, +{100 * res['far_extra_cpu_ratio']:.0f} % CPU "
          f"(goal <= 50 %); it raises {100 * raised:.0f} % of the cell-azimuths by > 0.01 deg")
    if a.light:
        from lupex import ephemeris as eph
        from lupex.light.illumination import compute_light

        times = eph.time_grid(np.datetime64("2027-01-01T00:00:00"), np.datetime64("2028-01-01T00:00:00"), 1.0)
        compute_light(site.isel(y=slice(0, 32), x=slice(0, 32)), times[:48], n_azimuths=8)  # compile the light kernel
        load1 = os.getloadavg()[0]
        (stats, _cube), t_l, c_l, m_l = _timed(lambda: compute_light(
            site, times, n_azimuths=a.azimuths, observer_height_m=a.height, far_field=[cap],
            memory_limit_bytes=8 * 2**30))
        res.update({"light_year_wall_s": round(t_l, 1), "light_year_cpu_s": round(c_l, 1),
                    "light_peak_traced_mib": round(m_l / 2**20, 1), "load_avg_1min_light_start": round(load1, 2),
                    "steps": int(times.size)})
        print(f"  horizons + far field + {times.size} hourly steps of light statistics: {t_l:.1f} s wall, "
              f"{c_l:.1f} s CPU, peak {m_l / 2**20:.0f} MiB (goal 180 s on 2 cores; load {load1:.1f} at start)")
    res["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    res["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    print(f"  peak RSS {res['peak_rss_mib']:.0f} MiB; load average {load0:.1f} at start, {res['load_avg_1min_end']:.1f} at end "
          f"({os.cpu_count()} cores)")
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
