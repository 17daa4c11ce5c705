"""TRITON: time-of-flight mass spectrometry of the gas a sample releases with its ice.

Forward model of the spectrum (species, 70 eV fragmentation, isotopologues,
stated resolving power, counting and detector noise) and its analysis: peak
finding, species identification and abundances by a linear fit of species
templates.

Physics and numbers
-------------------
* Time of flight: an ion of mass m and charge z accelerated through U flies
  L in t = L sqrt(m / (2 z e U)), i.e. m/q = 2 U (t/L)^2 (docs/REFERENCES.md#toyoda2003).
  L is the effective (multi-turn) path; the defaults U = 1 kV, L = 10 m are
  assumptions, as is the resolving power R = t / (2 dt_FWHM) = 5000, taken
  between the ~2500 needed to split CO+ from N2+ at m/z 28 and the ~30,000
  reached by the MULTUM multi-turn analyser (Toyoda et al. 2003,
  J. Mass Spectrom. 38:1125). Peaks are Gaussian in time with that FWHM.
* Fragmentation: main peaks of the NIST Chemistry WebBook 70 eV electron-
  ionisation spectra, as approximate relative intensities (monoisotopic
  fragments; isotopic satellites are generated, not tabulated). OH (radical)
  has no NIST spectrum; we assume OH+ 100, O+ 2.
* Ionisation: total 70 eV electron-impact ionisation cross-sections, Å^2,
  approximate (+-15 %) values of the NIST Electron-Impact Cross Section
  database (BEB, Kim et al.): they set each species' counts per molecule.
  The analysis uses the same library, i.e. a perfectly calibrated instrument
  except for one overall sensitivity factor (calibration 3 % rms, drawn per
  measurement).
* Isotopes: terrestrial abundances (IUPAC; D/H = VSMOW 155.76 ppm) for H, C, N,
  O, S; isotopologues with one heavy atom are generated (two heavy atoms
  < 1e-4 of the parent, neglected).
* Exact masses: AME2016 atomic masses; ions are lighter by z electron masses.
* Detector: Poisson ion counting, dark counts 1e-3 per 1 ns bin, Gaussian
  electronic noise 0.5 counts per bin (assumptions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import curve_fit, nnls
from scipy.special import ndtr

from lupex.constants import H2O_MOLECULE_KG as M_H2O_KG
from lupex.errors import ConfigError, InputError
from lupex.instruments.sample import (
    AMU_KG,
    MOLAR_MASS_KG_MOL,
    Sample,
    aliquot_ice_factor,
    aliquot_mass,
    check_finite_array,
    require_sample,
    subsampling_rel_sigma,
)
from lupex.params import ASSUMED, check_non_negative, check_pair, check_positive, param

E_CHARGE = 1.602176634e-19     # C
M_ELECTRON_U = 5.48579909065e-4
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

#: (isotope mass u, abundance) per element; the first entry is the main isotope.
ISOTOPES = {
    "H": ((1.00782503223, 1.0 - 1.5574e-4), (2.01410177812, 1.5574e-4)),
    "C": ((12.0, 0.9893), (13.00335483507, 0.0107)),
    "N": ((14.00307400443, 0.99636), (15.00010889888, 0.00364)),
    "O": ((15.99491461957, 0.99757), (16.99913175650, 0.00038), (17.99915961286, 0.00205)),
    "S": ((31.9720711744, 0.9499), (32.9714589098, 0.0075), (33.967867004, 0.0425), (35.96708071, 0.0001)),
}

#: species -> (70 eV total ionisation cross-section Å^2, ((fragment, rel. intensity, charge), ...))
LIBRARY = {
    "H2O": (2.28, (("H2O", 100, 1), ("HO", 21.2, 1), ("O", 0.9, 1))),
    "H2": (1.02, (("H2", 100, 1), ("H", 2.1, 1))),
    "CO": (2.52, (("CO", 100, 1), ("C", 4.7, 1), ("O", 1.7, 1))),
    "CO2": (3.52, (("CO2", 100, 1), ("CO", 9.8, 1), ("O", 9.6, 1), ("C", 8.7, 1), ("CO2", 1.9, 2))),
    "H2S": (4.6, (("H2S", 100, 1), ("HS", 42.0, 1), ("S", 44.4, 1))),
    "NH3": (2.9, (("NH3", 100, 1), ("NH2", 80.1, 1), ("NH", 7.5, 1), ("N", 2.2, 1))),
    "SO2": (4.3, (("SO2", 100, 1), ("SO", 49.2, 1), ("S", 10.4, 1), ("O", 5.2, 1))),
    "C2H4": (5.0, (("C2H4", 100, 1), ("C2H3", 62.3, 1), ("C2H2", 52.9, 1), ("C2H", 7.8, 1), ("C2", 2.1, 1))),
    "CH3OH": (4.6, (("CH3O", 100, 1), ("CH4O", 74.4, 1), ("CHO", 44.6, 1), ("CO", 6.3, 1), ("CH3", 13.0, 1))),
    "CH4": (3.5, (("CH4", 100, 1), ("CH3", 85.8, 1), ("CH2", 15.6, 1), ("CH", 7.7, 1), ("C", 2.4, 1))),
    "OH": (2.0, (("HO", 100, 1), ("O", 2.0, 1))),
    "N2": (2.5, (("N2", 100, 1), ("N", 13.8, 1))),
}
SPECIES = tuple(LIBRARY)


def parse_formula(formula: str) -> dict:
    """Atom counts per element of a molecular formula, e.g. ``{'H': 2, 'O': 1}`` for H2O."""
    out: dict = {}
    for el, n in re.findall(r"([A-Z][a-z]?)(\d*)", formula):
        if el not in ISOTOPES:
            raise InputError(f"element {el!r} in {formula!r} has no isotope data")
        out[el] = out.get(el, 0) + (int(n) if n else 1)
    return out


def isotopologues(formula: str):
    """(neutral mass u, probability) of the monoisotopic and single-heavy-atom variants."""
    f = parse_formula(formula)
    base = sum(n * ISOTOPES[el][0][0] for el, n in f.items())
    p0 = float(np.prod([ISOTOPES[el][0][1] ** n for el, n in f.items()]))
    out = [(base, p0)]
    for el, n in f.items():
        m0, a0 = ISOTOPES[el][0]
        for mi, ai in ISOTOPES[el][1:]:
            out.append((base - m0 + mi, p0 * n * ai / a0))
    return out


@lru_cache(maxsize=None)
def ion_table(species: str):
    """Array of (m/z, counts per ionised molecule share, fragment label) for one species."""
    if species not in LIBRARY:
        raise InputError(f"TRITON library has no species {species!r}; known: {list(SPECIES)}")
    _, frags = LIBRARY[species]
    total = sum(r for _, r, _ in frags)
    mz, w, lab = [], [], []
    for formula, rel, z in frags:
        for m, p in isotopologues(formula):
            mz.append((m - z * M_ELECTRON_U) / z)
            w.append(rel / total * p)
            lab.append(f"{formula}{'+' * z}")
    return np.array(mz), np.array(w), tuple(lab)


def mz_to_time_s(mz, accel_voltage_v: float, flight_length_m: float):
    """T = L sqrt(m / (2 q U)) for m/q in u/e."""
    return flight_length_m * np.sqrt(np.asarray(mz, float) * AMU_KG / (2.0 * E_CHARGE * accel_voltage_v))


def time_to_mz(time_s, accel_voltage_v: float, flight_length_m: float):
    """m/q = 2 U (t/L)^2, in u/e."""
    return 2.0 * accel_voltage_v * (np.asarray(time_s, float) / flight_length_m) ** 2 * E_CHARGE / AMU_KG


@dataclass(frozen=True)
class TritonParams:
    """The time-of-flight mass spectrometer (see the module docstring for the physics and sources)."""

    aliquot_kg: float = param(10e-6, "kg", "mass of the aliquot whose released gas is analysed (10 mg)", f"{ASSUMED}: mg-size aliquot")
    accel_voltage_v: float = param(1000.0, "V", "ion acceleration voltage U", f"{ASSUMED}: 1 kV, typical of compact TOF analysers")
    flight_length_m: float = param(10.0, "m", "effective (multi-turn) flight path L",
                                   f"{ASSUMED}: a few turns of a MULTUM-type analyser (Toyoda et al. 2003, J. Mass Spectrom. 38:1125)")
    resolving_power: float = param(5000.0, "-", "resolving power R = t / (2 dt_FWHM)",
                                   f"{ASSUMED}: between the ~2500 needed for CO+/N2+ and MULTUM's ~30,000 (Toyoda et al. 2003)")
    bin_s: float = param(1e-9, "s", "time bin of the digitiser (1 ns)", f"{ASSUMED}: GHz-class TDC/ADC")
    mz_range: tuple[float, float] = param((0.8, 70.0), "u/e", "[low, high] m/z range recorded", f"{ASSUMED}: covers H+ to SO2+ (m/z 64) and isotopes")
    ions_per_molecule: float = param(1e-12, "counts/molecule", "detected ions per released H2O molecule (sets the count scale)",
                                     f"{ASSUMED}: split ratio x ionisation x transmission x detection of a TOF gas inlet")
    calibration_sigma_rel: float = param(0.03, "fraction", "1-sigma of the overall sensitivity factor, drawn per measurement",
                                         f"{ASSUMED}: 3 % rms calibration")
    dark_counts_per_bin: float = param(1e-3, "counts", "dark counts per time bin", f"{ASSUMED}: MCP/dynode dark rate")
    readout_sigma_counts: float = param(0.5, "counts", "Gaussian electronic noise per time bin, rms", ASSUMED)
    background_molecules: Mapping[str, float] = param(
        unit="molecules", factory=dict,
        help="residual gas in the analyser per species, molecules per measurement (names update the map; 0 drops one)",
        source=f"{ASSUMED}: a clean analyser (none); N2 ~1e16 mimics a leaky inlet")

    def __post_init__(self):
        check_positive(self, "aliquot_kg", "accel_voltage_v", "flight_length_m", "resolving_power", "bin_s",
                       "ions_per_molecule")
        check_non_negative(self, "calibration_sigma_rel", "dark_counts_per_bin", "readout_sigma_counts")
        check_pair(self, "mz_range", increasing=True, positive=True)
        for k, v in self.background_molecules.items():
            if k not in LIBRARY:
                raise ConfigError(f"TritonParams.background_molecules: species {k!r} not in the TRITON library {list(SPECIES)}")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ConfigError(f"TritonParams.background_molecules.{k} must be a finite number >= 0, got {v!r}")


@dataclass(frozen=True)
class TritonRecord:
    """A time-of-flight spectrum (counts per flight time, s) and the instrument settings it was taken with."""

    time_s: np.ndarray
    counts: np.ndarray
    accel_voltage_v: float
    flight_length_m: float
    resolving_power: float
    aliquot_kg: float
    ions_per_molecule: float
    calibration_sigma_rel: float
    truth: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Peak:
    """One spectrum peak: m/z centroid, area (counts), FWHM (s), resolving power and assigned species."""

    mz: float
    area_counts: float
    fwhm_s: float
    resolving_power: float
    assignment: str | None


@dataclass(frozen=True)
class TritonResult:
    """Peaks, species detected and their abundances (relative to H2O, %), water content (wt%) with sigmas."""

    peaks: tuple[Peak, ...]
    detected: tuple[str, ...]
    molecules: Mapping[str, float]
    molecules_sigma: Mapping[str, float]
    rel_h2o_pct: Mapping[str, float]
    rel_h2o_sigma_pct: Mapping[str, float]
    water_wt_pct: float
    sigma_wt_pct: float
    water_mass_fraction: float
    water_mass_fraction_sigma: float
    unassigned_mz: tuple[float, ...]


def _sigma_t(t, resolving_power):
    return t / (2.0 * resolving_power) / FWHM_PER_SIGMA


def species_template(species: str, edges_s: np.ndarray, accel_voltage_v, flight_length_m, resolving_power):
    """Counts per bin for one ionised molecule-equivalent (cross-section weighted) of ``species``.

    Parameters
    ----------
    species : str
        The species.
    edges_s : np.ndarray
        (n_bins + 1,) flight-time bin edges, s.
    accel_voltage_v : float
        Acceleration voltage, V.
    flight_length_m : float
        Flight length, m.
    resolving_power : float
        Mass resolving power m/dm.
    """
    sig_a2, _ = LIBRARY[species]
    mz, w, _ = ion_table(species)
    out = np.zeros(edges_s.size - 1)
    t_ions = mz_to_time_s(mz, accel_voltage_v, flight_length_m)
    for ti, wi in zip(t_ions, w):
        s = _sigma_t(ti, resolving_power)
        lo, hi = np.searchsorted(edges_s, [ti - 7 * s, ti + 7 * s])
        lo, hi = max(lo - 1, 0), min(hi + 1, edges_s.size - 1)
        if hi <= lo:
            continue
        cdf = ndtr((edges_s[lo:hi + 1] - ti) / s)
        out[lo:hi] += wi * np.diff(cdf)
    return out * sig_a2 / LIBRARY["H2O"][0]


def _edges(p: TritonParams):
    t0, t1 = mz_to_time_s(np.array(p.mz_range), p.accel_voltage_v, p.flight_length_m)
    n = int(np.ceil((t1 - t0) / p.bin_s))
    return t0 + p.bin_s * np.arange(n + 1)


def released_molecules(sample: Sample, aliquot_kg: float, ice_factor: float = 1.0) -> dict:
    """Molecules of each species released with the ice of an aliquot."""
    n_w = aliquot_kg * sample.water_wt_pct / 100.0 * ice_factor / M_H2O_KG
    out = {"H2O": n_w}
    for k, v in sample.volatiles_rel_h2o_pct.items():
        out[k] = out.get(k, 0.0) + n_w * v / 100.0
    return out


def measure(sample: Sample, rng: np.random.Generator, params: TritonParams = TritonParams()) -> TritonRecord:
    """Spectrum of the gas released with the ice of an aliquot of ``sample``."""
    sample = require_sample(sample)
    m_al = aliquot_mass(sample, params.aliquot_kg, "TRITON")
    f_ice = aliquot_ice_factor(sample, m_al, rng)
    mol = released_molecules(sample, m_al, f_ice)
    for k, v in params.background_molecules.items():
        mol[k] = mol.get(k, 0.0) + v
    k_true = params.ions_per_molecule * max(rng.normal(1.0, params.calibration_sigma_rel), 0.0)
    edges = _edges(params)
    expected = np.full(edges.size - 1, params.dark_counts_per_bin)
    for sp, n in mol.items():
        if n > 0:
            expected += n * k_true * species_template(sp, edges, params.accel_voltage_v,
                                                      params.flight_length_m, params.resolving_power)
    counts = rng.poisson(expected).astype(float) + rng.normal(0.0, params.readout_sigma_counts, expected.size)
    truth = dict(mol)
    truth.update(ice_factor=f_ice, sensitivity_factor=k_true / params.ions_per_molecule)
    return TritonRecord(0.5 * (edges[1:] + edges[:-1]), counts, params.accel_voltage_v, params.flight_length_m,
                        params.resolving_power, m_al, params.ions_per_molecule, params.calibration_sigma_rel,
                        truth)


def check_record(rec: TritonRecord):
    """The record's (time_s, counts) arrays, checked; InputError naming what to fix."""
    t = check_finite_array("TRITON time_s", rec.time_s)
    c = check_finite_array("TRITON counts", rec.counts)
    if t.shape != c.shape or t.ndim != 1 or t.size < 100:
        raise InputError("TRITON time_s and counts must be 1-D arrays of equal length (>= 100 bins)")
    if np.any(np.diff(t) <= 0):
        raise InputError("TRITON time_s must increase strictly")
    if t.max() > 1e-2 or t.min() <= 0:
        raise InputError("TRITON time_s must be flight times in seconds (microseconds to milliseconds); "
                         "convert from us/ns to s")
    for name in ("accel_voltage_v", "flight_length_m", "resolving_power", "aliquot_kg", "ions_per_molecule"):
        v = getattr(rec, name)
        if not np.isfinite(v) or v <= 0:
            raise InputError(f"TRITON record {name} = {v}: must be a positive number")
    return t, c


def fit_peak_width(rec: TritonRecord, mz: float):
    """Least-squares Gaussian fit of the peak nearest ``mz``: (centre time s, FWHM s, R = t/(2 FWHM))."""
    t, c = check_record(rec)
    t0 = float(mz_to_time_s(mz, rec.accel_voltage_v, rec.flight_length_m))
    s_guess = _sigma_t(t0, rec.resolving_power)
    sel = np.abs(t - t0) < 6 * s_guess
    if sel.sum() < 5:
        raise InputError(f"m/z {mz} is outside the recorded spectrum or too few bins cover its peak")
    tt, cc = t[sel], c[sel]
    p, _ = curve_fit(lambda x, a, mu, s, b: a * np.exp(-0.5 * ((x - mu) / s) ** 2) + b, tt, cc,
                     p0=(cc.max(), tt[np.argmax(cc)], s_guess, 0.0))
    fwhm = abs(p[2]) * FWHM_PER_SIGMA
    return float(p[1]), float(fwhm), float(p[1] / (2 * fwhm))


def find_spectrum_peaks(rec: TritonRecord, *, snr: float = 6.0):
    """Peaks above ``snr`` noise sigmas: (m/z centroid, area counts, FWHM s)."""
    from scipy.signal import find_peaks  # noqa: PLC0415  scipy.signal is heavy: keeps CLI start fast

    t, c = check_record(rec)
    base = float(np.median(c))
    noise = 1.4826 * float(np.median(np.abs(c - base)))
    noise = max(noise, 0.3)
    sm = gaussian_filter1d(c - base, 1.0)
    noise_sm = noise / np.sqrt(2 * np.sqrt(np.pi) * 1.0)
    idx, _ = find_peaks(sm, height=snr * noise_sm, prominence=snr * noise_sm)
    # noise makes several local maxima on one blended peak: keep the highest within one expected FWHM
    keep: list = []
    for i in idx[np.argsort(-sm[idx])]:
        fw = 2 * _sigma_t(t[i], rec.resolving_power) * FWHM_PER_SIGMA / 2
        if all(abs(t[i] - t[j]) > fw for j in keep):
            keep.append(i)
    idx = np.sort(np.array(keep, dtype=int))
    out = []
    dt = t[1] - t[0]
    for i in idx:
        s = _sigma_t(t[i], rec.resolving_power)
        half = 1.2 * s * FWHM_PER_SIGMA / 2 + 1.5 * dt
        lo, hi = np.searchsorted(t, [t[i] - half, t[i] + half])
        tt, w = t[lo:hi], np.clip(c[lo:hi] - base, 0, None)
        if w.sum() <= 0:
            continue
        tc = float(np.sum(w * tt) / w.sum())
        var = float(np.sum(w * (tt - tc) ** 2) / w.sum())
        lo, hi = np.searchsorted(t, [tc - 3 * s, tc + 3 * s])
        area = float(np.sum(c[lo:hi] - base))
        out.append((float(time_to_mz(tc, rec.accel_voltage_v, rec.flight_length_m)), area,
                    np.sqrt(var) * FWHM_PER_SIGMA, tc))
    return out


def _fit_window(t, rec: TritonRecord, species) -> np.ndarray:
    """Mask of the time bins within 5 sigma of any library ion of ``species``."""
    sel = np.zeros(t.size, bool)
    for sp in species:
        mz, _, _ = ion_table(sp)
        for ti in mz_to_time_s(mz, rec.accel_voltage_v, rec.flight_length_m):
            if t[0] <= ti <= t[-1]:
                s = _sigma_t(ti, rec.resolving_power)
                lo, hi = np.searchsorted(t, [ti - 5 * s, ti + 5 * s])
                sel[lo:hi] = True
    return sel


def _unmix(rec: TritonRecord, t, c, species):
    """Ion counts per species (non-negative, iteratively reweighted least squares) and their covariance."""
    dt = float(np.median(np.diff(t)))
    edges = np.r_[t - dt / 2, t[-1] + dt / 2]
    # fit window: bins near any library ion
    sel = _fit_window(t, rec, species)
    base = float(np.median(c[~sel])) if (~sel).sum() > 100 else 0.0
    noise_var = max(float(np.var(c[~sel])) if (~sel).sum() > 100 else 0.25, 1e-6)
    a = np.column_stack([species_template(sp, edges, rec.accel_voltage_v, rec.flight_length_m,
                                          rec.resolving_power)[sel] for sp in species])
    y = c[sel] - base
    x = np.zeros(len(species))
    wts = 1.0 / np.sqrt(np.clip(y, 0, None) + noise_var)
    for _ in range(3):   # iteratively reweighted (Poisson variance from the model)
        x, _ = nnls(a * wts[:, None], y * wts)
        wts = 1.0 / np.sqrt(np.clip(a @ x, 0, None) + noise_var)
    active = x > 0
    if "H2O" in species:
        active[species.index("H2O")] = True     # water always gets a sigma (an upper limit when absent)
    cov = np.zeros((len(species), len(species)))
    if active.any():
        aw = a[:, active] * wts[:, None]
        cov_a = np.linalg.inv(aw.T @ aw)
        cov[np.ix_(active, active)] = cov_a
    return x, cov


def _assigned_peaks(rec: TritonRecord, species):
    """Peaks found in the spectrum, each labelled with the nearest library ion within m/R, and the m/z left over."""
    all_ions = [(m, sp, lab) for sp in species for m, _, lab in zip(*ion_table(sp))]
    ion_mz = np.array([i[0] for i in all_ions])
    peaks, unassigned = [], []
    for mzc, area, fwhm, tc in find_spectrum_peaks(rec):
        j = int(np.argmin(np.abs(ion_mz - mzc)))
        tol = mzc / rec.resolving_power
        lab = f"{all_ions[j][1]}:{all_ions[j][2]}" if abs(ion_mz[j] - mzc) < tol else None
        if lab is None:
            unassigned.append(mzc)
        peaks.append(Peak(mzc, area, fwhm, tc / (2 * fwhm) if fwhm > 0 else float("nan"), lab))
    return peaks, unassigned


def _ratios_to_water(x, cov, species, iw):
    """Each species' abundance relative to water (%) and its 1-sigma from the covariance."""
    rel, rel_sig = {}, {}
    if iw is not None and x[iw] > 0:
        for i, sp in enumerate(species):
            if i == iw:
                continue
            r = x[i] / x[iw]
            var = (cov[i, i] / x[iw] ** 2 + x[i] ** 2 * cov[iw, iw] / x[iw] ** 4
                   - 2 * x[i] * cov[i, iw] / x[iw] ** 3)
            rel[sp], rel_sig[sp] = 100 * r, 100 * float(np.sqrt(max(var, 0.0)))
    return rel, rel_sig


def _water_wt_pct(rec: TritonRecord, n_h2o, n_h2o_sig):
    """Water wt% of the aliquot and its 1-sigma (counting, calibration, sub-sampling) from water molecules."""
    m_w = n_h2o * M_H2O_KG
    wt = 100 * m_w / rec.aliquot_kg
    rel_err = np.sqrt((n_h2o_sig / n_h2o) ** 2 if n_h2o > 0 else 0.0)
    sig_wt = wt * float(np.sqrt(rel_err**2 + rec.calibration_sigma_rel**2 + subsampling_rel_sigma(rec.aliquot_kg)**2))
    if n_h2o <= 0:
        sig_wt = 100 * n_h2o_sig * M_H2O_KG / rec.aliquot_kg
    return wt, sig_wt


def _water_gas_share(x, cov, species, iw, exclude_from_mass_fraction):
    """Water's share of the released gas mass (fraction) and its 1-sigma (1, 0 when there is no gas)."""
    mm = np.array([0.0 if sp in exclude_from_mass_fraction else MOLAR_MASS_KG_MOL[sp] for sp in species])
    tot = float(mm @ x)
    if tot > 0 and x[iw] > 0:
        f = mm[iw] * x[iw] / tot
        g = -f * mm / tot
        g[iw] += mm[iw] / tot
        return f, float(np.sqrt(max(g @ cov @ g, 0.0)))
    return 1.0, 0.0


def analyse(rec: TritonRecord, *, species=SPECIES, exclude_from_mass_fraction=("N2",),
            detect_sigma: float = 5.0) -> TritonResult:
    """Peaks, species identification and abundances; water wt% of the aliquot and water share of the gas.

    Parameters
    ----------
    rec : TritonRecord
        The spectrum.
    species : sequence of str
        The species fitted.
    exclude_from_mass_fraction : sequence of str
        Species left out of the water share of the gas.
    detect_sigma : float
        Smallest abundance of a detected species, in sigmas.
    """
    t, c = check_record(rec)
    species = tuple(species)
    for sp in species:
        if sp not in LIBRARY:
            raise InputError(f"unknown species {sp!r}; known: {list(SPECIES)}")
    x, cov = _unmix(rec, t, c, species)
    sig = np.sqrt(np.diag(cov))
    k = rec.ions_per_molecule
    molecules = {sp: float(x[i] / k) for i, sp in enumerate(species)}
    molecules_sig = {sp: float(sig[i] / k) for i, sp in enumerate(species)}
    peaks, unassigned = _assigned_peaks(rec, species)
    detected = tuple(sp for i, sp in enumerate(species) if sig[i] > 0 and x[i] > detect_sigma * sig[i])
    iw = species.index("H2O") if "H2O" in species else None
    rel, rel_sig = _ratios_to_water(x, cov, species, iw)
    if iw is None:
        raise InputError("species list must include H2O to measure water")
    wt, sig_wt = _water_wt_pct(rec, molecules["H2O"], molecules_sig["H2O"])
    f, f_sig = _water_gas_share(x, cov, species, iw, exclude_from_mass_fraction)
    return TritonResult(tuple(peaks), detected, molecules, molecules_sig, rel, rel_sig, float(wt), float(sig_wt),
                        float(f), f_sig, tuple(unassigned))
