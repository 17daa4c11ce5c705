"""Rover kernels: numba vs the same algorithm in pure Python (``.py_func``), one year hourly.

Prints speed-up ratios measured in this run (no bare seconds), per DESIGN.md.
Run: PYTHONPATH=src python benchmarks/bench_rover.py
"""

import time

import numpy as np

from lupex.rover import power, survival, thermal
from lupex.rover.vehicle import RoverParams


def _best(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    p = RoverParams()
    n = 8760
    rng = np.random.default_rng(0)
    dt_h = np.ones(n)
    net = rng.normal(0, 300, n)
    b = p.battery
    args = (dt_h, net, 0.5 * b.capacity_wh, 800.0, 4000.0, 0.95, 0.95)
    power._battery_kernel(*args)
    r_bat = _best(lambda: power._battery_kernel.py_func(*args), 1) / _best(lambda: power._battery_kernel(*args))

    th = p.thermal
    nodes = (th.electronics, th.battery)
    q = np.column_stack([np.full(n, 20.0), np.zeros(n)])
    env = np.full((n, 2), 60.0**4)
    targs = (dt_h * 3600, 600.0, q, env, np.array([x.heat_capacity_j_k for x in nodes]),
             np.array([x.emissivity * 5.67e-8 * x.radiator_area_m2 for x in nodes]), th.coupling_w_k,
             np.array([x.heater_max_w for x in nodes]), np.array([x.heater_setpoint_k for x in nodes]),
             np.array([240.0, 260.0]))
    thermal._thermal_kernel(*targs)
    py = thermal._thermal_kernel.py_func
    r_th = _best(lambda: py(*targs), 1) / _best(lambda: thermal._thermal_kernel(*targs))

    t = np.datetime64("2027-01-01T00:00:00") + np.arange(n) * np.timedelta64(1, "h")
    f = (np.sin(np.arange(n) * 2 * np.pi / 708.7) > -0.3).astype(float)
    az = (np.arange(n) * 360 / 708.7) % 360
    el = np.ones(n)
    survival.survive(t, f, az, el, p, terrain_k=80.0)
    t_surv = _best(lambda: survival.survive(t, f, az, el, p, terrain_k=80.0))
    t_ker = _best(lambda: thermal._thermal_kernel(*targs))
    print(f"battery kernel, {n} steps: numba is {r_bat:.0f}x the pure-Python loop")
    print(f"thermal kernel, {n} h in 600 s substeps: numba is {r_th:.0f}x the pure-Python loop")
    print(f"survive() for one spot-year costs {t_surv / t_ker:.1f}x one thermal kernel call")


if __name__ == "__main__":
    main()
