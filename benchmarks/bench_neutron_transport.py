"""Monte Carlo neutron transport (the kernel behind the neutron spectrometer's response table).

Times the numba kernel on dry and icy (5 wt%) regolith and the same algorithm run as plain Python in the
same process (every jitted function of the module swapped for its ``py_func``), on a subset of histories
scaled up. The Python run uses the same random-number streams, so its tallies agree with the compiled run's
to rounding (printed). Prints one JSON line with histories per second, the ratio and peak memory.

    PYTHONPATH=src python benchmarks/bench_neutron_transport.py
"""

import json
import resource
import time

import numba as nb
import numpy as np

from lupex.instruments import neutron_transport as nt


def kernel_args(weh, histories, chunks):
    natoms = np.array([nt.atoms_per_gram(nt.element_mass_fractions(6.0, weh))])
    kt = nt.K_B_EV * 150.0
    nh, heavy, sa0, heavy_cum, th_ss, th_cum, loge0, dloge = nt._layer_tables(natoms, kt)
    e_lo, e_hi, nbins = 1e-4, 2e7, 216
    dlog = (np.log(e_hi) - np.log(e_lo)) / nbins
    src = nt.Source()
    return (chunks, histories // chunks, 7, np.array([0.0, 1500.0]), nh, heavy, sa0, heavy_cum, th_ss, th_cum, loge0,
            dloge, nt.MASS_RATIO, kt, src.attenuation_g_cm2, src.buildup_g_cm2, src.theta_mev * 1e6, 1500.0, 5.3, 0.5,
            np.log(e_lo), dlog, nbins, 20)


def run_python(args):
    """The kernel's own Python source, every jitted helper replaced by its py_func, serial over chunks."""
    jitted = {k: v for k, v in vars(nt).items() if isinstance(v, nb.core.registry.CPUDispatcher)}
    try:
        for k, v in jitted.items():
            setattr(nt, k, v.py_func)
        n_chunks, per = args[0], args[1]
        tally = np.zeros((n_chunks, 4))
        spec = np.zeros((n_chunks, args[-2]))
        ang = np.zeros((n_chunks, 2, args[-1]))
        with np.errstate(over="ignore"):
            for c in range(n_chunks):
                nt._history_chunk(per, args[2], c, *args[3:], tally[c], spec[c], ang[c])
        return tally
    finally:
        for k, v in jitted.items():
            setattr(nt, k, v)


def main():
    out = {"benchmark": "neutron_transport_mc", "cores": nb.get_num_threads()}
    nt.simulate_leakage([nt.Slab(0, 0.0)], histories=6400)          # compile
    for weh in (0.0, 5.0):
        n = 400_000
        args = kernel_args(weh, n, 64)
        t0 = time.perf_counter()
        tally, _, _ = nt._run(*args)
        t_fast = time.perf_counter() - t0
        small = kernel_args(weh, 2 * 64, 64)
        t0 = time.perf_counter()
        ref_tally = run_python(small)
        t_py = (time.perf_counter() - t0) * n / (2 * 64)
        fast_small, _, _ = nt._run(*small)
        same = float(np.max(np.abs(ref_tally - fast_small)) / max(np.max(np.abs(fast_small)), 1e-300))
        out[f"weh_{weh:g}"] = {"histories": n, "numba_s": round(t_fast, 2),
                               "histories_per_s": round(n / t_fast), "python_s_scaled": round(t_py, 1),
                               "speedup": round(t_py / t_fast, 1), "python_vs_numba_max_rel_diff": same}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
