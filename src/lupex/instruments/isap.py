"""ISAP (ISRO Sample Analysis Package), modelled as a Raman spectrometer.

JAXA's LUPEX pages plan ISAP as a Raman instrument (docs/REFERENCES.md#lupex-mission). Forward
model of the Raman spectrum of a drilled sample from its mineral modes, and
its analysis by linear unmixing -> mineral modes -> elemental (oxide)
composition, with uncertainties.

Mineral model
-------------
The regolith's oxide composition (default: Apollo 16 mature-soil average,
Lunar Sourcebook, Heiken et al. 1991, Table 7.15, see
:data:`lupex.instruments.sample.APOLLO16_SOIL_OXIDES_WT_PCT`) is converted to
a normative mineral assemblage by non-negative least squares over four
phases with fixed stoichiometry: plagioclase An95, low-Ca pyroxene
En70 Fs25 Wo5, olivine Fo70 and ilmenite (typical highland-soil phases, e.g.
Heiken et al. 1991 ch. 5). Glass/agglutinate is represented by these
phases' chemistry (its broad Raman bands are treated as part of the baseline).

Raman bands (peak position cm^-1, relative height, FWHM cm^-1), approximate:
* plagioclase (anorthite-rich): 507 (strongest) and 485 doublet, 285, 560
  (Freeman et al. 2008, Can. Mineral. 46:1477).
* low-Ca pyroxene: 1007 (Si-O stretch), 662/683 doublet, 340, 237
  (Huang et al. 2000, Am. Mineral. 85:473; Wang et al. 2001, Am. Mineral. 86:790).
* olivine Fo70: 822/851 doublet, 300 (Kuebler et al. 2006, GCA 70:6201;
  doublet positions shift with Fo).
* ilmenite: 682 (broad), 370, 225 (Wang et al. 2004, Am. Mineral. 89:665).
* water ice Ih: O-H stretch ~3150 (strong) with shoulders ~3320, 3400
  (Scherer & Snyder 1977, J. Chem. Phys. 67:4794; positions approximate).
Relative Raman efficiencies per unit mass (olivine 1.0, pyroxene 0.8,
plagioclase 0.4, ilmenite 0.25, ice 0.3) are assumptions; the analysis uses
the same values (a calibrated instrument). A smooth fluorescence background
and Poisson (shot) noise are added; the analysis fits a Legendre polynomial
background alongside the mineral endmembers (NNLS), closes the modes to the
regolith + ice total and propagates the covariance to modes and oxides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
from numpy.polynomial import legendre
from scipy.optimize import nnls

from lupex.errors import ConfigError, InputError
from lupex.instruments.sample import Sample, check_finite_array, require_sample
from lupex.params import ASSUMED, check_non_negative, check_pair, check_positive, param

OXIDE_MOLAR_MASS = MappingProxyType({"SiO2": 60.0843, "TiO2": 79.8658, "Al2O3": 101.9613, "FeO": 71.8444,
                                     "MgO": 40.3044, "CaO": 56.0774, "Na2O": 61.9789})
OXIDES = tuple(OXIDE_MOLAR_MASS)

#: moles of oxide per formula unit
_MINERAL_OXIDE_MOLES = {
    "plagioclase": {"CaO": 0.95, "Na2O": 0.025, "Al2O3": 0.975, "SiO2": 2.05},
    "pyroxene": {"MgO": 0.70, "FeO": 0.25, "CaO": 0.05, "SiO2": 1.0},
    "olivine": {"MgO": 1.4, "FeO": 0.6, "SiO2": 1.0},
    "ilmenite": {"FeO": 1.0, "TiO2": 1.0},
}
MINERALS = tuple(_MINERAL_OXIDE_MOLES)

RAMAN_BANDS = MappingProxyType({
    "plagioclase": ((507, 1.0, 12), (485, 0.6, 12), (285, 0.2, 15), (560, 0.15, 15)),
    "pyroxene": ((1007, 1.0, 12), (662, 0.5, 14), (683, 0.45, 14), (340, 0.3, 15), (237, 0.2, 15)),
    "olivine": ((822, 0.9, 12), (851, 1.0, 12), (300, 0.1, 20)),
    "ilmenite": ((682, 1.0, 30), (370, 0.3, 25), (225, 0.15, 20)),
    "ice": ((3150, 1.0, 80), (3320, 0.5, 120), (3400, 0.25, 120)),
})
RAMAN_EFFICIENCY = MappingProxyType({"plagioclase": 0.4, "pyroxene": 0.8, "olivine": 1.0, "ilmenite": 0.25,
                                     "ice": 0.3})
PHASES = MINERALS + ("ice",)


def mineral_oxide_wt_pct() -> np.ndarray:
    """Matrix (n_oxides, n_minerals): wt% of each oxide in each mineral, from stoichiometry."""
    out = np.zeros((len(OXIDES), len(MINERALS)))
    for j, m in enumerate(MINERALS):
        mass = {o: n * OXIDE_MOLAR_MASS[o] for o, n in _MINERAL_OXIDE_MOLES[m].items()}
        tot = sum(mass.values())
        for o, v in mass.items():
            out[OXIDES.index(o), j] = 100 * v / tot
    return out


def normative_modes(oxides_wt_pct: Mapping[str, float]) -> tuple[dict, dict]:
    """Mineral modes (wt fractions, sum 1) best reproducing an oxide composition (NNLS), and the misfit (wt%)."""
    y = np.array([float(oxides_wt_pct.get(o, 0.0)) for o in OXIDES])
    if not np.all(np.isfinite(y)) or np.any(y < 0) or y.sum() <= 0:
        raise InputError("oxide composition must be finite, non-negative wt% values")
    y = 100 * y / y.sum()
    a = mineral_oxide_wt_pct()
    x, _ = nnls(a, y)
    x = x / x.sum()
    return dict(zip(MINERALS, x)), dict(zip(OXIDES, a @ x - y))


def oxides_from_modes(modes: Mapping[str, float]) -> dict:
    """Oxide composition (wt%) of a mineral mix ``modes`` (normalised to sum 1)."""
    x = np.array([modes[m] for m in MINERALS])
    return dict(zip(OXIDES, mineral_oxide_wt_pct() @ (x / x.sum())))


def endmember_spectrum(phase: str, shift_cm) -> np.ndarray:
    """Lorentzian bands of one phase, per unit mass, times its Raman efficiency."""
    s = np.asarray(shift_cm, float)
    out = np.zeros_like(s)
    for pos, h, fwhm in RAMAN_BANDS[phase]:
        g = fwhm / 2
        out += h * g**2 / ((s - pos) ** 2 + g**2)
    return RAMAN_EFFICIENCY[phase] * out


@dataclass(frozen=True)
class IsapParams:
    """The Raman spectrometer's spectral grid, signal and noise, and the analysis' background model."""

    shift_range_cm: tuple[float, float] = param((150.0, 3600.0), "cm^-1", "[low, high] Raman shift range recorded",
                                                f"{ASSUMED}: covers the lattice modes (>150) to the ice O-H stretch (~3400)")
    step_cm: float = param(2.0, "cm^-1", "spectral sampling step", f"{ASSUMED}: a few cm^-1, below the ~12 cm^-1 band widths")
    counts_per_unit: float = param(2e5, "counts", "peak counts of a unit-height band of a pure phase of unit Raman efficiency",
                                   f"{ASSUMED}: sets the signal-to-noise of the mineral bands")
    background_counts: float = param(2e4, "counts", "scale of the smooth fluorescence background", f"{ASSUMED}: 10 % of the signal scale")
    dark_sigma_counts: float = param(5.0, "counts", "detector read/dark noise per channel, rms", f"{ASSUMED}: cooled CCD class")
    n_background_terms: int = param(6, "-", "Legendre terms of the background fitted alongside the endmembers",
                                    f"{ASSUMED}: enough for the smooth fluorescence shape")

    def __post_init__(self):
        check_pair(self, "shift_range_cm", increasing=True)
        lo, hi = self.shift_range_cm
        if lo < 0 or hi > 5000:
            raise ConfigError(f"IsapParams.shift_range_cm must lie within 0-5000 cm^-1, got {list(self.shift_range_cm)}")
        check_positive(self, "step_cm", "counts_per_unit")
        check_non_negative(self, "background_counts", "dark_sigma_counts")
        if (hi - lo) / self.step_cm < 50:
            raise ConfigError("IsapParams: shift_range_cm / step_cm gives fewer than 50 channels; use a smaller step_cm")
        if self.n_background_terms < 1:
            raise ConfigError(f"IsapParams.n_background_terms must be at least 1, got {self.n_background_terms}")


@dataclass(frozen=True)
class IsapRecord:
    """A Raman spectrum: counts per Raman shift (cm^-1), and the truth it was made from."""

    shift_cm: np.ndarray
    counts: np.ndarray
    truth: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class IsapResult:
    """Mineral modes (wt fraction), oxides of the ice-free regolith (wt%) and ice (wt%), with sigmas."""

    modes_wt_frac: Mapping[str, float]        # of the whole sample (minerals + ice), sum 1
    modes_sigma: Mapping[str, float]
    oxides_wt_pct: Mapping[str, float]        # of the ice-free regolith
    oxides_sigma_wt_pct: Mapping[str, float]
    ice_wt_pct: float
    ice_sigma_wt_pct: float
    reduced_chi2: float


def measure(sample: Sample, rng: np.random.Generator, params: IsapParams = IsapParams()) -> IsapRecord:
    """The Raman spectrum of ``sample`` (its normative mineral modes and ice), with counting noise."""
    sample = require_sample(sample)
    modes, _ = normative_modes(sample.oxides_wt_pct)
    ice = sample.water_wt_pct / 100
    frac = {m: v * (1 - ice) for m, v in modes.items()}
    frac["ice"] = ice
    s = np.arange(params.shift_range_cm[0], params.shift_range_cm[1] + 1e-9, params.step_cm)
    x = (s - s.min()) / (s.max() - s.min())
    sig = sum(frac[p] * endmember_spectrum(p, s) for p in PHASES)
    bg = params.background_counts * (0.6 + 0.8 * np.exp(-2.0 * x) + 0.3 * x)  # smooth fluorescence
    lam = params.counts_per_unit * sig + bg
    counts = rng.poisson(lam).astype(float) + rng.normal(0.0, params.dark_sigma_counts, s.size)
    truth = dict(frac)
    truth.update({f"ox_{k}": v for k, v in oxides_from_modes(modes).items()})
    return IsapRecord(s, counts, truth)


def analyse(rec: IsapRecord, params: IsapParams = IsapParams()) -> IsapResult:
    """Mineral modes, oxides and ice of a spectrum by linear unmixing, with sigmas."""
    s = check_finite_array("ISAP shift_cm", rec.shift_cm)
    c = check_finite_array("ISAP counts", rec.counts)
    if s.shape != c.shape or s.ndim != 1 or s.size < 50:
        raise InputError("ISAP shift_cm and counts must be 1-D arrays of equal length (>= 50 points)")
    if np.any(np.diff(s) <= 0) or s.min() < 0 or s.max() > 5000:
        raise InputError("ISAP shift_cm must be increasing Raman shifts in cm^-1 (0-5000); convert from nm")
    x = 2 * (s - s.min()) / (s.max() - s.min()) - 1
    bg = legendre.legvander(x, params.n_background_terms - 1)
    em = np.column_stack([endmember_spectrum(p, s) for p in PHASES])
    a = np.column_stack([em, bg, -bg])           # +- columns let NNLS fit a signed background
    w = 1.0 / np.sqrt(np.clip(c, 1.0, None) + params.dark_sigma_counts**2)
    coef, _ = nnls(a * w[:, None], c * w)
    model = a @ coef
    w = 1.0 / np.sqrt(np.clip(model, 1.0, None) + params.dark_sigma_counts**2)
    coef, _ = nnls(a * w[:, None], c * w)
    k = len(PHASES)
    b = coef[k:k + bg.shape[1]] - coef[k + bg.shape[1]:]
    lin = np.column_stack([em, bg])
    resid = (c - lin @ np.r_[coef[:k], b]) * w
    chi2 = float(resid @ resid) / max(s.size - lin.shape[1], 1)
    cov = np.linalg.inv((lin * w[:, None]).T @ (lin * w[:, None]))[:k, :k] * max(chi2, 1.0)
    amp = np.clip(coef[:k], 0, None)
    tot = amp.sum()
    if tot <= 0:
        raise InputError("ISAP spectrum shows no mineral or ice Raman bands above the background")
    frac = amp / tot
    jac = (np.eye(k) - frac[:, None]) / tot     # d frac_i / d amp_j
    cov_f = jac @ cov @ jac.T
    sig_f = np.sqrt(np.clip(np.diag(cov_f), 0, None))
    im = [PHASES.index(m) for m in MINERALS]
    reg = frac[im]
    reg_tot = reg.sum()
    ox_mat = mineral_oxide_wt_pct()
    ox = ox_mat @ (reg / reg_tot)
    jr = (np.eye(len(im)) - (reg / reg_tot)[:, None]) / reg_tot
    cov_ox = ox_mat @ jr @ cov_f[np.ix_(im, im)] @ jr.T @ ox_mat.T
    ice_i = PHASES.index("ice")
    return IsapResult(dict(zip(PHASES, frac)), dict(zip(PHASES, sig_f)), dict(zip(OXIDES, ox)),
                      dict(zip(OXIDES, np.sqrt(np.clip(np.diag(cov_ox), 0, None)))),
                      float(100 * frac[ice_i]), float(100 * sig_f[ice_i]), chi2)
