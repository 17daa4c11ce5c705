"""Build the neutron spectrometer's response table from the Monte Carlo transport model.

``python -m lupex.instruments.neutron_calibration`` (a few hours on 2 cores at
the default statistics) writes ``lupex/instruments/data/neutron_response.npz``,
which :mod:`lupex.instruments.neutron` interpolates. It does three things:

1. Calibrates the one source constant the literature does not pin down, the
   build-up length of the cosmic-ray neutron production profile
   (:class:`lupex.instruments.neutron_transport.Source`), so that the
   homogeneous epithermal response matches the NSS team's published
   uniform-WEH calibration (vipersci.nss.uniform_weh: WEH = [0.0256 (C0/C -
   1)]^1.099; see :func:`nss_epithermal_ratio`). Nothing else is fitted.
2. Tabulates the epithermal and thermal count ratios (relative to dry regolith
   of the reference composition) of a top layer of WEH ``W_top`` and areal
   mass ``m`` over a half-space of WEH ``W_bot``: dry-over-wet, wet-over-dry
   and homogeneous ground alike, the two-layer model of the NSS team.
3. Tabulates how dry regolith's rates change with FeO+TiO2 (the
   highland-mare line of :func:`lupex.instruments.neutron_transport.oxides_for`),
   the thermal-to-epithermal count ratio of the reference ground and the
   angular distribution of the escaping neutrons.
4. Tabulates how homogeneous ground's rates change with the regolith's
   temperature (40-350 K; the table itself is at 150 K): the thermal
   neutrons come into equilibrium with the ground's free-gas motion, so a
   colder ground holds slower neutrons, which the 1/v absorbers (H, Fe, Ti,
   Gd, Sm) capture more often before they escape (:func:`temperature_factors`;
   ``--add-temperature`` adds them to an existing table).

All points share one random-number seed (correlated sampling), so the table's
ratios are smooth in W and m even though each point carries ~0.5 %
statistical noise; the noise estimate is stored beside each value.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from rich.progress import Progress

from lupex.errors import LupexError
from lupex.instruments import neutron_transport as nt

TABLE_PATH = Path(__file__).with_name("data") / "neutron_response.npz"

# the NSS team's uniform-WEH calibration (vipersci.nss.uniform_weh): WEH fraction = [A (C0/C - 1)]^B
NSS_A, NSS_B, NSS_C0_CPS = 0.0256, 1.0990, 30.75


def nss_epithermal_ratio(weh_wt_pct):
    """C/C0 of the NSS calibration for homogeneous ground: 1 / (1 + (W/100)^(1/B) / A)."""
    w = np.asarray(weh_wt_pct, float)
    return 1.0 / (1.0 + (w / 100.0) ** (1.0 / NSS_B) / NSS_A)


@dataclass(frozen=True)
class Settings:
    """Physical settings of the calibration runs: temperature (K), reference composition (wt%), rare earths (ppm), source."""

    temperature_k: float = 150.0          # mean temperature of the top metre at the poles (Paige et al. 2010)
    feo_tio2_wt_pct: float = 6.0          # reference composition: polar highland regolith
    sm_ppm: float = nt.SM_PPM_DEFAULT
    gd_ppm: float = nt.GD_PPM_DEFAULT
    theta_mev: float = 1.0
    attenuation_g_cm2: float = 160.0
    tau0: float = 5.3
    seed: int = 20261206


WEH_TOP = (0.0, 0.1, 0.3, 1.0, 3.0)
WEH_BOT = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 3.5, 6.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0)
MASS = (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 125.0, 150.0, 200.0, 260.0, 340.0)
FEO_TIO2 = (0.0, 3.0, 6.0, 10.0, 15.0, 22.0, 30.0)
FIT_WEH = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
TEMPERATURES_K = (40.0, 60.0, 90.0, 120.0, 150.0, 200.0, 275.0, 350.0)
TEMPERATURE_WEH = (0.0, 0.3, 1.0, 3.0, 10.0, 30.0)


def _run(st: Settings, buildup: float, layers, histories: int):
    src = nt.Source(st.theta_mev, st.attenuation_g_cm2, buildup)
    return nt.simulate_leakage(layers, histories=histories, seed=st.seed, temperature_k=st.temperature_k,
                               source=src, detector=nt.Detector(st.tau0))


def _slab(st: Settings, m, w, feo=None):
    return nt.Slab(m, w, st.feo_tio2_wt_pct if feo is None else feo, st.sm_ppm, st.gd_ppm)


def _ratio(r, ref, channel: str):
    """A Monte Carlo channel's rate over a reference run's, and its 1-sigma error (both runs' statistics)."""
    a, b = getattr(r, channel), getattr(ref, channel)
    q = a / b
    return q, q * math.hypot(getattr(r, channel + "_sigma") / a, getattr(ref, channel + "_sigma") / b)


def temperature_factors(st: Settings, buildup: float, temps=TEMPERATURES_K, wehs=TEMPERATURE_WEH,
                        histories: int = 600_000, progress=None):
    """Rates of homogeneous ground of each WEH at each temperature over its rates at ``st.temperature_k``.

    (epithermal, thermal, epithermal_sigma, thermal_sigma), each (len(wehs), len(temps)). All runs share the seed,
    so each ratio's noise is mostly common to numerator and denominator (the sigmas given are the uncorrelated,
    pessimistic estimate). Item 4 of the module docstring.

    Parameters
    ----------
    st : Settings
        Physical settings; ``st.temperature_k`` (K) is the reference temperature the factors are relative to.
    buildup : float
        Source build-up length, g/cm^2 (:class:`lupex.instruments.neutron_transport.Source`).
    temps : sequence of float, length T
        Regolith temperatures, K.
    wehs : sequence of float, length W
        Homogeneous WEH of the ground, wt%.
    histories : int
        Source neutrons per Monte Carlo run (count).
    progress : callable or None
        Called with a one-line message after each WEH; None: silent.

    Returns
    -------
    epithermal, thermal, epithermal_sigma, thermal_sigma : numpy.ndarray, shape (W, T)
        Rate ratios (dimensionless) and their 1-sigma errors (0 at the reference temperature).
    """
    shape = (len(wehs), len(temps))
    e, t, se, stt = (np.zeros(shape) for _ in range(4))
    for i, w in enumerate(wehs):
        ref = _run(st, buildup, [_slab(st, 0, w)], histories)
        for j, temp in enumerate(temps):
            r = ref if temp == st.temperature_k else _run(replace(st, temperature_k=float(temp)), buildup,
                                                          [_slab(st, 0, w)], histories)
            e[i, j], se[i, j] = _ratio(r, ref, "epithermal")
            t[i, j], stt[i, j] = _ratio(r, ref, "thermal")
            if temp == st.temperature_k:
                se[i, j] = stt[i, j] = 0.0
        if progress:
            progress(f"temperature factors: {w:g} wt% done")
    return e, t, se, stt


def _temperature_arrays(e, t, se, stt, temps=TEMPERATURES_K, wehs=TEMPERATURE_WEH) -> dict:
    return dict(temperature_k=np.array(temps, float), temperature_weh=np.array(wehs, float),
                temperature_epithermal=e, temperature_thermal=t, temperature_epithermal_sigma=se,
                temperature_thermal_sigma=stt)


def _write_npz(out: Path, arrays: dict) -> None:
    """Write atomically: a temporary file beside ``out``, then a rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)


def add_temperature(path: Path, histories: int = 600_000, quiet: bool = False) -> Path:
    """Add (or recompute) the temperature factors of an existing table, with its own settings and build-up."""
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    meta = json.loads(str(d["meta"]))
    st = Settings(**meta["settings"])
    log = (lambda s: None) if quiet else (lambda s: print(s, flush=True))
    t0 = time.time()
    d.update(_temperature_arrays(*temperature_factors(st, float(meta["buildup_g_cm2"]), histories=histories,
                                                      progress=log)))
    meta["temperature_histories"] = histories
    meta["temperature_seconds"] = round(time.time() - t0)
    d["meta"] = json.dumps(meta)
    _write_npz(path, d)
    log(f"wrote {path} in {time.time() - t0:.0f} s")
    return path


def homogeneous_epithermal(st: Settings, buildup: float, weh=FIT_WEH, histories: int = 1_000_000):
    """MC epithermal ratios of homogeneous ground at ``weh`` and their 1-sigma errors.

    Ratios to dry ground of the same settings, compared with the NSS calibration (module docstring item 1).

    Parameters
    ----------
    st : Settings
        Physical settings of the runs (temperature, composition, rare earths, source, seed).
    buildup : float
        Source build-up length, g/cm^2.
    weh : sequence of float, length n
        Homogeneous WEH values, wt%.
    histories : int
        Source neutrons per Monte Carlo run (count).

    Returns
    -------
    ratio, sigma : numpy.ndarray, shape (n,)
        Epithermal count ratio to dry ground (dimensionless) and its 1-sigma statistical error.
    """
    r0 = _run(st, buildup, [_slab(st, 0, 0.0)], histories)
    out = [_ratio(_run(st, buildup, [_slab(st, 0, w)], histories), r0, "epithermal") for w in weh]
    return np.array([q for q, _ in out]), np.array([e for _, e in out])


def fit_buildup(st: Settings, candidates=(35.0, 45.0, 55.0, 65.0), histories: int = 1_000_000, progress=None):
    """Build-up length (g/cm^2) whose homogeneous epithermal deficits best match the NSS calibration's.

    Least squares in the deficit over FIT_WEH; a parabola through the candidates' misfits. The NSS calibration is
    vipersci.nss.uniform_weh, WEH = [0.0256 (C0/C - 1)]^1.099 (:func:`nss_epithermal_ratio`; module docstring
    item 1).

    Parameters
    ----------
    st : Settings
        Physical settings of the runs.
    candidates : sequence of float, length k >= 3
        Build-up lengths tried, g/cm^2; the result is clipped to their range.
    histories : int
        Source neutrons per Monte Carlo run (count).
    progress : callable or None
        Called with a one-line message after each candidate; None: silent.

    Returns
    -------
    buildup : float
        Best build-up length, g/cm^2 (the parabola's minimum, or the best candidate if it opens downwards).
    misfit : numpy.ndarray, shape (k,)
        Sum of squared deficit differences (dimensionless) of each candidate.
    """
    target = 1.0 - nss_epithermal_ratio(FIT_WEH)
    cost = []
    for b in candidates:
        r, _ = homogeneous_epithermal(st, b, histories=histories)
        cost.append(float(np.sum(((1.0 - r) - target) ** 2)))
        if progress:
            progress(f"build-up {b:g} g/cm^2: misfit {cost[-1]:.3g}")
    c = np.polyfit(candidates, cost, 2)
    best = -c[1] / (2 * c[0]) if c[0] > 0 else candidates[int(np.argmin(cost))]
    return float(np.clip(best, min(candidates), max(candidates))), np.array(cost)


def build(st: Settings = Settings(), buildup: float | None = None, histories: int = 400_000,
          fit_histories: int = 1_000_000, out: Path = TABLE_PATH, weh_top=WEH_TOP, weh_bot=WEH_BOT, mass=MASS,
          feo=FEO_TIO2, quiet: bool = False, temperature_histories: int = 600_000) -> Path:
    """Path of the response table written after running the Monte Carlo grid (and the build-up fit when ``buildup`` is None).

    Items 1-4 of the module docstring: the build-up fit, the two-layer grid, the composition line and the
    temperature factors, written atomically with their 1-sigma errors and the settings in ``meta``.

    Parameters
    ----------
    st : Settings
        Physical settings of every run (reference temperature and composition, rare earths, source, seed).
    buildup : float or None
        Source build-up length, g/cm^2; None: fitted by :func:`fit_buildup`.
    histories : int
        Source neutrons per grid point (count); the dry reference and composition runs use 4x.
    fit_histories : int
        Source neutrons per run of the build-up fit and the stored homogeneous check (count).
    out : pathlib.Path
        The .npz file to write.
    weh_top : sequence of float
        Top-layer WEH axis, wt%.
    weh_bot : sequence of float
        Half-space WEH axis, wt%.
    mass : sequence of float
        Top-layer areal-mass axis, g/cm^2 (0: homogeneous ground).
    feo : sequence of float
        FeO+TiO2 axis of the composition factors, wt%.
    quiet : bool
        No progress bar or messages.
    temperature_histories : int
        Source neutrons per run of the temperature factors (count).

    Returns
    -------
    pathlib.Path
        ``out``, holding ratios of shape (len(weh_top), len(weh_bot), len(mass)).
    """
    t0 = time.time()
    log = (lambda s: None) if quiet else (lambda s: print(s, flush=True))
    if buildup is None:
        buildup, cost = fit_buildup(st, histories=fit_histories, progress=log)
    log(f"source build-up length {buildup:.2f} g/cm^2")
    fit_r, fit_e = homogeneous_epithermal(st, buildup, histories=fit_histories)
    ref = _run(st, buildup, [_slab(st, 0, 0.0)], histories * 4)
    shape = (len(weh_top), len(weh_bot), len(mass))
    epi, th, epi_s, th_s = (np.zeros(shape) for _ in range(4))
    n = shape[0] * shape[1] * shape[2]
    with Progress(disable=quiet) as bar:
        task = bar.add_task("neutron response table", total=n)
        for i, wt in enumerate(weh_top):
            for j, wb in enumerate(weh_bot):
                for k, m in enumerate(mass):
                    if m == 0.0 and i > 0:          # no top layer: the same as W_top = 0
                        epi[i, j, k], th[i, j, k] = epi[0, j, k], th[0, j, k]
                        epi_s[i, j, k], th_s[i, j, k] = epi_s[0, j, k], th_s[0, j, k]
                    else:
                        layers = [_slab(st, m, wt), _slab(st, 0, wb)] if m > 0 else [_slab(st, 0, wb)]
                        r = _run(st, buildup, layers, histories)
                        epi[i, j, k] = r.epithermal / ref.epithermal
                        th[i, j, k] = r.thermal / ref.thermal
                        epi_s[i, j, k] = r.epithermal_sigma / ref.epithermal
                        th_s[i, j, k] = r.thermal_sigma / ref.thermal
                    bar.advance(task)
                if not bar.console.is_terminal:
                    log(f"W_top {wt:g}, W_bot {wb:g} done ({time.time() - t0:.0f} s)")
    c_epi, c_th = [], []
    for a in feo:
        r = _run(st, buildup, [_slab(st, 0, 0.0, a)], histories * 4)
        c_epi.append(r.epithermal / ref.epithermal)
        c_th.append(r.thermal / ref.thermal)
    temp = _temperature_arrays(*temperature_factors(st, buildup, histories=temperature_histories, progress=log))
    meta = dict(settings=asdict(st), buildup_g_cm2=buildup, histories_per_point=histories,
                temperature_histories=temperature_histories,
                reference_histories=ref.histories, seconds=round(time.time() - t0),
                made=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                source="lupex.instruments.neutron_transport via lupex.instruments.neutron_calibration")
    _write_npz(out, dict(weh_top=np.array(weh_top), weh_bot=np.array(weh_bot), mass_g_cm2=np.array(mass),
                        epithermal=epi, thermal=th, epithermal_sigma=epi_s, thermal_sigma=th_s,
                        feo_tio2_wt_pct=np.array(feo), composition_epithermal=np.array(c_epi),
                        composition_thermal=np.array(c_th), thermal_over_epithermal=ref.thermal / ref.epithermal,
                        fit_weh=np.array(FIT_WEH), fit_epithermal=fit_r, fit_epithermal_sigma=fit_e,
                        mu_edges=ref.mu_edges, current_by_mu=ref.current_by_mu,
                        energy_edges_ev=ref.energy_edges_ev, flux_spectrum=ref.flux_spectrum,
                        meta=json.dumps(meta), **temp))
    log(f"wrote {out} in {time.time() - t0:.0f} s")
    return out


def main(argv=None):
    """Command line of ``python -m lupex.instruments.neutron_calibration``: build the table (see ``--help``)."""
    ap = argparse.ArgumentParser(
        prog="python -m lupex.instruments.neutron_calibration",
        description="Build the neutron spectrometer's Monte Carlo response table (a .npz that "
                    "[neutron.response] table = PATH then uses). The shipped table took 8,251 s on 2 cores "
                    "with --histories 700000 --buildup 39.85; time scales with --histories.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", type=Path, default=TABLE_PATH, help="output .npz file (written atomically)")
    ap.add_argument("--histories", type=int, default=400_000,
                    help="source neutrons per table point (count; statistical error ~ 1/sqrt)")
    ap.add_argument("--fit-histories", type=int, default=1_000_000,
                    help="source neutrons per point of the build-up fit (count)")
    ap.add_argument("--temperature-histories", type=int, default=600_000,
                    help="source neutrons per point of the temperature factors (count)")
    ap.add_argument("--add-temperature", action="store_true",
                    help="only (re)compute the temperature factors of the existing table --out, in place")
    ap.add_argument("--buildup", type=float, default=None,
                    help="source build-up length in g/cm^2 (default: fitted to the NSS calibration)%(default).0s")
    a = ap.parse_args(argv)
    problems = []
    if min(a.histories, a.fit_histories, a.temperature_histories) < 1000:
        problems.append("--histories, --fit-histories and --temperature-histories must be at least 1000 source "
                        "neutrons")
    if a.buildup is not None and not (np.isfinite(a.buildup) and a.buildup > 0):
        problems.append(f"--buildup must be a positive length in g/cm^2, got {a.buildup}")
    if a.out.suffix != ".npz":
        problems.append(f"--out must name a .npz file, got {str(a.out)!r}")
    elif a.out.is_dir() or not a.out.parent.is_dir():
        problems.append(f"--out {str(a.out)!r}: its folder must exist and it must not be a folder")
    elif a.add_temperature and not a.out.is_file():
        problems.append(f"--add-temperature updates an existing table; {str(a.out)!r} does not exist")
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    try:
        if a.add_temperature:
            add_temperature(a.out, histories=a.temperature_histories)
        else:
            build(histories=a.histories, fit_histories=a.fit_histories, buildup=a.buildup, out=a.out,
                  temperature_histories=a.temperature_histories)
    except (LupexError, KeyError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
