"""ADORE: cavity ring-down spectroscopy (CRDS) of the water vapour a heated sample releases.

Forward model of ring-down decays across one water line and
its analysis: ring-down times, absorption spectrum, line area -> number density
-> water content with uncertainty.

Physics and numbers
-------------------
* Empty-cavity ring-down time tau0 = L / (c (1 - R)) for mirror reflectivity R
  and length L; with an absorber, 1/tau = 1/tau0 + c alpha, so
  alpha = (1/c)(1/tau - 1/tau0) (O'Keefe & Deacon 1988, Rev. Sci. Instrum.
  59:2544; Berden, Peeters & Meijer 2000, Int. Rev. Phys. Chem. 19:565).
* Absorption alpha(nu) = N S(T) g(nu - nu0), so the line area is N S(T)
  (N number density, g area-normalised Voigt profile).
* Line: H2O 7181.155780 cm^-1, S(296 K) = 1.505e-20 cm/molecule,
  E'' = 136.7617 cm^-1 (HITRAN; docs/REFERENCES.md#hitran). Temperature scaling
  (HITRAN convention, Rothman et al. 1998 JQSRT 60:665, eq. A11):
  S(T) = S(Tref) Q(Tref)/Q(T) exp(-c2 E''/T)/exp(-c2 E''/Tref)
         (1 - exp(-c2 nu0/T)) / (1 - exp(-c2 nu0/Tref)),
  with the rigid-asymmetric-rotor approximation Q(T) ~ T^1.5 (vibrational
  partition function ~1 below 400 K; about 1 % from HITRAN's TIPS near room
  temperature -- an approximation we state, not TIPS itself).
* Line shape: Voigt, Doppler HWHM nu0/c sqrt(2 k T ln2 / m); Lorentz HWHM
  gamma_self p/p_ref (296/T)^0.75 with gamma_self = 0.45 cm^-1/atm, a typical
  H2O self-broadening value, assumed (at the ~0.04 Pa in the cavity it is
  negligible: Doppler regime).
* Cell: 1 L at 296 K receives a calibrated split (5e-4, 2 % rms calibration,
  drawn per measurement) of the water an aliquot releases; L = 0.5 m,
  R = 0.9999 (tau0 = 16.7 us); detector noise 1e-3 of the initial intensity.
  These instrument values are assumptions, not ADORE's specification.
* The line strength's own uncertainty (a few %) is common to all ADORE
  measurements; it is reported separately and not in ``sigma_wt_pct``.
* D/H from an HDO line is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from scipy.special import voigt_profile

from lupex.constants import BOLTZMANN_J_K as K_B
from lupex.constants import H2O_MOLECULE_KG as M_H2O_KG
from lupex.constants import SPEED_OF_LIGHT_M_S as C_M_S
from lupex.errors import ConfigError, InputError
from lupex.instruments.sample import (
    Sample,
    aliquot_ice_factor,
    aliquot_mass,
    check_finite_array,
    require_sample,
    subsampling_rel_sigma,
)
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, param

C2_CM_K = 1.4387769          # second radiation constant hc/k, cm K
P_ATM_PA = 101325.0
LINE_NU0_CM = 7181.155780
LINE_S296_CM_MOLEC = 1.505e-20
LINE_ELOWER_CM = 136.7617
LINE_GAMMA_SELF_CM_ATM = 0.45
LINE_STRENGTH_SIGMA_REL = 0.03   # assumed; common systematic, not in per-measurement sigma
T_REF_K = 296.0


def ringdown_time_s(length_m, reflectivity, alpha_per_m=0.0):
    """Tau = 1 / (c ((1 - R)/L + alpha))."""
    return 1.0 / (C_M_S * ((1.0 - np.asarray(reflectivity)) / np.asarray(length_m) + np.asarray(alpha_per_m)))


def line_strength_cm_molec(temperature_k, s_ref=LINE_S296_CM_MOLEC, e_lower_cm=LINE_ELOWER_CM, nu0_cm=LINE_NU0_CM):
    """HITRAN line-strength temperature scaling with Q(T) ~ T^1.5.

    Parameters
    ----------
    temperature_k : float or array_like
        Gas temperature, K.
    s_ref : float
        Line strength at 296 K, cm/molecule.
    e_lower_cm : float
        Lower-state energy, cm^-1.
    nu0_cm : float
        Line centre, cm^-1.
    """
    t = np.asarray(temperature_k, float)
    q_ratio = (T_REF_K / t) ** 1.5
    boltz = np.exp(-C2_CM_K * e_lower_cm / t) / np.exp(-C2_CM_K * e_lower_cm / T_REF_K)
    stim = (1 - np.exp(-C2_CM_K * nu0_cm / t)) / (1 - np.exp(-C2_CM_K * nu0_cm / T_REF_K))
    return s_ref * q_ratio * boltz * stim


def doppler_hwhm_cm(temperature_k, nu0_cm=LINE_NU0_CM, mass_kg=M_H2O_KG):
    """Doppler half width at half maximum of the line at ``nu0_cm``, cm^-1, for gas at ``temperature_k`` (K)."""
    return nu0_cm / C_M_S * np.sqrt(2.0 * K_B * temperature_k * np.log(2.0) / mass_kg)


def line_profile_cm(nu_cm, temperature_k, pressure_pa, nu0_cm=LINE_NU0_CM):
    """Area-normalised Voigt profile g(nu) in cm (1 / cm^-1).

    Parameters
    ----------
    nu_cm : array_like
        Wavenumbers, cm^-1.
    temperature_k : float
        Gas temperature, K.
    pressure_pa : float
        Gas pressure, Pa (self-broadening).
    nu0_cm : float
        Line centre, cm^-1.
    """
    sig = doppler_hwhm_cm(temperature_k, nu0_cm) / np.sqrt(2.0 * np.log(2.0))
    gam = LINE_GAMMA_SELF_CM_ATM * pressure_pa / P_ATM_PA * (T_REF_K / temperature_k) ** 0.75
    return voigt_profile(np.asarray(nu_cm, float) - nu0_cm, sig, gam)


_NOT_SPEC = f"{ASSUMED}: not ADORE's specification (module docstring)"


@dataclass(frozen=True)
class AdoreParams:
    """The cavity ring-down spectrometer and its gas cell (see the module docstring)."""

    aliquot_kg: float = param(10e-6, "kg", "mass of the aliquot heated for ADORE (10 mg)", f"{ASSUMED}: mg-size aliquot")
    cavity_length_m: float = param(0.5, "m", "optical cavity length L", _NOT_SPEC)
    reflectivity: float = param(0.9999, "fraction 0-1", "mirror reflectivity R (empty-cavity ring-down tau0 = L / (c (1 - R)))",
                                f"{_NOT_SPEC}; tau0 = 16.7 us as in O'Keefe & Deacon 1988 (Rev. Sci. Instrum. 59:2544)-class cavities")
    cell_volume_m3: float = param(1e-3, "m^3", "volume of the gas cell the split is expanded into (1 L)", _NOT_SPEC)
    cell_temperature_k: float = param(296.0, "K", "gas temperature in the cell", "HITRAN reference temperature 296 K (no line-strength scaling needed)")
    split_frac: float = param(5e-4, "fraction", "calibrated share of the released water that enters the cell", _NOT_SPEC)
    split_sigma_rel: float = param(0.02, "fraction", "1-sigma of the split, drawn per measurement (2 % calibration)", _NOT_SPEC)
    scan_half_width_cm: float = param(0.08, "cm^-1", "half width of the laser scan around the 7181.156 cm^-1 line",
                                      f"{ASSUMED}: ~8 Doppler HWHMs (~0.01 cm^-1 at 296 K)")
    n_frequencies: int = param(41, "-", "laser frequencies across the scan", ASSUMED)
    decays_per_frequency: int = param(5, "-", "ring-down decays recorded and averaged per frequency", ASSUMED)
    sample_interval_s: float = param(50e-9, "s", "digitiser sampling interval of a decay (20 MS/s)", ASSUMED)
    record_tau0: float = param(3.5, "tau0", "length of a recorded decay in empty-cavity ring-down times", ASSUMED)
    noise_rel: float = param(1e-3, "fraction", "detector noise, rms, relative to the initial intensity", _NOT_SPEC)

    def __post_init__(self):
        check_range(self, "reflectivity", 0, 1, lo_open=True, hi_open=True)
        check_positive(self, "aliquot_kg", "cavity_length_m", "cell_volume_m3", "cell_temperature_k", "split_frac",
                       "scan_half_width_cm", "sample_interval_s", "record_tau0", "noise_rel")
        check_non_negative(self, "split_sigma_rel")
        if self.n_frequencies < 5:
            raise ConfigError(f"AdoreParams.n_frequencies must be at least 5, got {self.n_frequencies}")
        if self.decays_per_frequency < 2:
            raise ConfigError(f"AdoreParams.decays_per_frequency must be at least 2, got {self.decays_per_frequency}")


@dataclass(frozen=True)
class AdoreRecord:
    """Ring-down decays (intensity per wavenumber cm^-1, decay and time s) and the cell and aliquot they came from."""

    nu_cm: np.ndarray            # (n_freq,)
    time_s: np.ndarray           # (n_t,)
    intensity: np.ndarray        # (n_freq, n_decays, n_t), normalised to the initial intensity
    cavity_length_m: float
    cell_volume_m3: float
    cell_temperature_k: float
    split_frac: float
    split_sigma_rel: float
    aliquot_kg: float
    noise_rel: float
    truth: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AdoreResult:
    """Ring-down times (s), absorption (cm^-1), line area, number density (m^-3) and water content (wt%) with sigmas."""

    tau_s: np.ndarray
    tau_sigma_s: np.ndarray
    alpha_per_cm: np.ndarray
    tau0_s: float
    line_area_cm2: float
    number_density_m3: float
    number_density_sigma_m3: float
    water_wt_pct: float
    sigma_wt_pct: float
    line_strength_sigma_wt_pct: float
    reduced_chi2: float


def measure(sample: Sample, rng: np.random.Generator, params: AdoreParams = AdoreParams()) -> AdoreRecord:
    """Ring-down decays across the water line for the vapour of an aliquot of ``sample``."""
    sample = require_sample(sample)
    m_al = aliquot_mass(sample, params.aliquot_kg, "ADORE")
    f_ice = aliquot_ice_factor(sample, m_al, rng)
    split = params.split_frac * max(rng.normal(1.0, params.split_sigma_rel), 0.0)
    n_mol = m_al * sample.water_wt_pct / 100 * f_ice / M_H2O_KG * split
    n_m3 = n_mol / params.cell_volume_m3
    temp = params.cell_temperature_k
    p_pa = n_m3 * K_B * temp
    nu = LINE_NU0_CM + np.linspace(-params.scan_half_width_cm, params.scan_half_width_cm, params.n_frequencies)
    alpha_cm = n_m3 * 1e-6 * line_strength_cm_molec(temp) * line_profile_cm(nu, temp, p_pa)
    tau = ringdown_time_s(params.cavity_length_m, params.reflectivity, alpha_cm * 100.0)
    tau0 = float(ringdown_time_s(params.cavity_length_m, params.reflectivity))
    t = np.arange(0.0, params.record_tau0 * tau0, params.sample_interval_s)
    clean = np.exp(-t[None, None, :] / tau[:, None, None])
    intensity = clean + rng.normal(0.0, params.noise_rel, (nu.size, params.decays_per_frequency, t.size))
    truth = dict(number_density_m3=n_m3, tau0_s=tau0, ice_factor=f_ice, split_factor=split / params.split_frac,
                 water_kg=m_al * sample.water_wt_pct / 100 * f_ice, pressure_pa=p_pa)
    return AdoreRecord(nu, t, np.broadcast_to(intensity, intensity.shape).copy() * 1.0,
                       params.cavity_length_m, params.cell_volume_m3, temp, params.split_frac,
                       params.split_sigma_rel, m_al, params.noise_rel, truth)


def fit_ringdowns(time_s, intensity, noise_rel, *, min_snr: float = 20.0):
    """Weighted log-linear fit of each decay: tau and its sigma, same shape as intensity[..., 0].

    ln I = a - t/tau with weights I^2/sigma^2 (variance of ln I), using samples above min_snr,
    in two passes: the second takes the sample selection and weights from the first pass's model, so
    noise does not bias them; second-order log-bias correction (checked against the analytic tau in tests).

    Parameters
    ----------
    time_s : np.ndarray
        (n_t,) sample times, s.
    intensity : np.ndarray
        (..., n_t) decays, normalised to the initial intensity.
    noise_rel : float
        Intensity noise 1-sigma, relative to the initial intensity.
    min_snr : float
        Smallest signal-to-noise ratio of a sample used in the fit.
    """
    t = np.asarray(time_s, float)
    i = np.asarray(intensity, float)
    # pass 1: samples above the threshold, weights from the data (slightly biased: selection on noise)
    good = i > min_snr * noise_rel
    ii = np.where(good, i, 1.0)
    slope, icpt, var = _loglin(t, np.where(good, np.log(ii), 0.0), np.where(good, (ii / noise_rel) ** 2, 0.0))
    # pass 2: selection and weights from the pass-1 model, not from the noisy samples (unbiased)
    model = np.exp(icpt[..., None] + slope[..., None] * t)
    good = (model > min_snr * noise_rel) & (i > 0)
    ii = np.where(good, i, 1.0)
    mm = np.where(good, model, 1.0)
    # second-order correction of the log bias E[ln(I + e)] = ln I - sigma^2 / (2 I^2)
    y = np.where(good, np.log(ii) + 0.5 * (noise_rel / mm) ** 2, 0.0)
    slope, icpt, var = _loglin(t, y, np.where(good, (mm / noise_rel) ** 2, 0.0))
    tau = -1.0 / slope
    return tau, np.sqrt(var) * tau**2


def _loglin(t, y, w):
    s0, s1, s2 = w.sum(-1), (w * t).sum(-1), (w * t * t).sum(-1)
    sy, sty = (w * y).sum(-1), (w * t * y).sum(-1)
    det = s0 * s2 - s1**2
    if np.any(det <= 0):
        raise InputError("a ring-down decay has too few samples above the noise; lower the absorption "
                         "(smaller split) or sample faster")
    slope = (s0 * sty - s1 * sy) / det
    icpt = (sy - slope * s1) / s0
    return slope, icpt, s0 / det


def check_record(rec: AdoreRecord):
    """The record's (nu_cm, time_s, intensity) arrays, checked; InputError naming what to fix."""
    nu = check_finite_array("ADORE nu_cm", rec.nu_cm)
    t = check_finite_array("ADORE time_s", rec.time_s)
    i = check_finite_array("ADORE intensity", rec.intensity)
    if i.ndim != 3 or i.shape[0] != nu.size or i.shape[2] != t.size:
        raise InputError("ADORE intensity must have shape (n_frequencies, n_decays, n_times)")
    if np.any(np.diff(t) <= 0) or t.max() > 1e-2:
        raise InputError("ADORE time_s must increase and be in seconds (ring-downs last microseconds); "
                         "convert from us to s")
    if not (nu.min() < LINE_NU0_CM < nu.max()):
        raise InputError(f"ADORE nu_cm must be wavenumbers in cm^-1 spanning the {LINE_NU0_CM} cm^-1 line; "
                         "convert from nm or m^-1")
    for k in ("cavity_length_m", "cell_volume_m3", "cell_temperature_k", "split_frac", "aliquot_kg",
              "noise_rel"):
        v = getattr(rec, k)
        if not np.isfinite(v) or v <= 0:
            raise InputError(f"ADORE record {k} = {v}: must be positive")
    return nu, t, i


def analyse(rec: AdoreRecord) -> AdoreResult:
    """Ring-down times -> alpha(nu) -> line area N S(T) -> number density -> water wt%."""
    nu, t, i = check_record(rec)
    tau_each, sig_each = fit_ringdowns(t, i, rec.noise_rel)
    # average decay rates (1/tau) per frequency, inverse-variance weighted
    k_each = 1.0 / tau_each
    ksig_each = sig_each / tau_each**2
    wk = 1.0 / ksig_each**2
    k = (wk * k_each).sum(-1) / wk.sum(-1)
    k_sig = 1.0 / np.sqrt(wk.sum(-1))
    tau = 1.0 / k
    tau_sig = k_sig / k**2
    c_cm = C_M_S * 100.0
    y = k / c_cm                  # cm^-1: (1-R)/L + alpha
    y_sig = k_sig / c_cm
    temp = rec.cell_temperature_k
    # pressure for the (tiny) Lorentz width from a first pass at Doppler-only
    g = line_profile_cm(nu, temp, 0.0)
    for _ in range(2):
        a_mat = np.column_stack([np.ones_like(nu), g]) / y_sig[:, None]
        coef, *_ = np.linalg.lstsq(a_mat, y / y_sig, rcond=None)
        n_cm3 = coef[1] / float(line_strength_cm_molec(temp))
        g = line_profile_cm(nu, temp, max(n_cm3, 0.0) * 1e6 * K_B * temp)
    cov = np.linalg.inv(a_mat.T @ a_mat)
    res = (y - np.column_stack([np.ones_like(nu), g]) @ coef) / y_sig
    chi2 = float(res @ res) / max(nu.size - 2, 1)
    # scatter beyond the propagated noise inflates the sigma (Birge ratio)
    cov = cov * max(chi2, 1.0)
    s_t = float(line_strength_cm_molec(temp))
    n_m3 = coef[1] / s_t * 1e6
    n_sig = np.sqrt(cov[1, 1]) / s_t * 1e6
    water_kg = n_m3 * rec.cell_volume_m3 / rec.split_frac * M_H2O_KG
    wt = 100 * water_kg / rec.aliquot_kg
    rel = np.sqrt((n_sig / n_m3) ** 2 + rec.split_sigma_rel**2 + subsampling_rel_sigma(rec.aliquot_kg) ** 2) \
        if n_m3 > 0 else 0.0
    sig = wt * rel if n_m3 > 0 else 100 * n_sig * rec.cell_volume_m3 / rec.split_frac * M_H2O_KG / rec.aliquot_kg
    alpha = y - coef[0]
    return AdoreResult(tau, tau_sig, alpha, float(1.0 / (coef[0] * c_cm)), float(coef[1]), float(n_m3),
                       float(n_sig), float(wt), float(sig), float(abs(wt) * LINE_STRENGTH_SIGMA_REL), chi2)
