"""LTGA: closed-system thermogravimetry of a drilled sample.

Forward model of the mass-loss curve under a linear heating ramp, with balance noise and drift, and
its analysis: step detection and water content with uncertainty.

Release temperatures (centres of Gaussian DTG peaks; a phenomenological
representation -- step heights are exact, shapes are not kinetics):

* Water ice with its trapped volatiles, 200 K (sigma 8 K). Bulk ice in a
  closed cell sublimes above ~160-170 K in vacuum TPD (Collings et al. 2004,
  MNRAS 354:1133: H2O peak ~160 K; trapped CO2, NH3, H2S, CH3OH ... "co-desorb"
  with the water, which is why we release them in the same step). We place
  the step at 200 K for a mg-size pore-ice sample heated at 10 K/min --
  an assumption.
* Adsorbed water on grain surfaces, 450 K (sigma 40 K): temperature-programmed
  desorption from lunar-simulant grains spans ~200-500 K with activation
  energies up to ~1.2 eV (Hibbitts et al. 2011, Icarus 213:64; Poston et al.
  2015, Icarus 255:24). Approximate.
* Bound water / hydroxyl in glass and minerals (solar-wind OH in agglutinates),
  900 K (sigma 50 K): released by stepped heating at ~400-700 C in returned
  samples (Liu et al. 2012, Nature Geosci. 5:779). Approximate.

Balance: white noise 0.5 ug rms and a linear drift drawn from N(0, 1 ug/h)
(microbalance class values; assumptions).

Analysis: DTG by Savitzky-Golay derivative; step regions where mass loss rate
stays above 2 sigma of the DTG noise (balance noise from second differences,
propagated through the filter) and peaks above 6 sigma; plateaus between them fitted jointly as constants plus one common linear drift
(least squares) -> step heights with covariance. The ice step (150-280 K)
includes the trapped volatiles; its water share comes from TRITON's
composition (``water_mass_fraction``), which is how REIWA combines the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from scipy.special import ndtr

from lupex.errors import ConfigError, InputError
from lupex.instruments.sample import (
    Sample,
    aliquot_ice_factor,
    aliquot_mass,
    check_finite_array,
    require_sample,
    subsampling_rel_sigma,
)
from lupex.params import ASSUMED, check_non_negative, check_pair, check_positive, param

ICE_STEP_RANGE_K = (150.0, 280.0)


@dataclass(frozen=True)
class LTGAParams:
    """The thermogravimetric analyser: aliquot, heating ramp, balance and the release temperatures."""

    aliquot_kg: float = param(50e-6, "kg", "mass of the aliquot heated in the cell (50 mg)", f"{ASSUMED}: mg-size TGA aliquot")
    start_k: float = param(100.0, "K", "start temperature of the ramp", f"{ASSUMED}: below the ice step, at sample-inlet temperature")
    end_k: float = param(1150.0, "K", "end temperature of the ramp", f"{ASSUMED}: above the bound-water release (Liu et al. 2012: 400-700 C)")
    rate_k_s: float = param(10.0 / 60.0, "K/s", "heating rate (10 K/min)", f"{ASSUMED}: a standard TGA rate")
    sample_interval_s: float = param(2.0, "s", "balance and thermometer sampling interval", ASSUMED)
    noise_kg: float = param(0.5e-9, "kg", "balance white noise, rms (0.5 ug)", f"{ASSUMED}: microbalance class")
    drift_sigma_kg_s: float = param(1e-9 / 3600.0, "kg/s", "1-sigma of the linear balance drift drawn per measurement (1 ug/h)",
                                    f"{ASSUMED}: microbalance class")
    temperature_noise_k: float = param(0.05, "K", "thermometer noise, rms", f"{ASSUMED}: PRT class")
    ice_release_k: tuple[float, float] = param((200.0, 8.0), "K", "[centre, sigma] of the ice (and trapped volatiles) release step",
                                               f"{ASSUMED}: above the ~160 K TPD peak of Collings et al. 2004 (MNRAS 354:1133) for mg pore ice at 10 K/min")
    adsorbed_release_k: tuple[float, float] = param((450.0, 40.0), "K", "[centre, sigma] of the adsorbed-water release step",
                                                    "TPD from simulant grains ~200-500 K (Hibbitts et al. 2011, Icarus 213:64; Poston et al. 2015, Icarus 255:24); approximate")
    bound_release_k: tuple[float, float] = param((900.0, 50.0), "K", "[centre, sigma] of the bound water / OH release step",
                                                 "stepped heating of returned samples, 400-700 C (Liu et al. 2012, Nature Geosci. 5:779); approximate")

    def __post_init__(self):
        check_positive(self, "aliquot_kg", "start_k", "end_k", "rate_k_s", "sample_interval_s")
        check_non_negative(self, "noise_kg", "drift_sigma_kg_s", "temperature_noise_k")
        if not self.end_k > self.start_k:
            raise ConfigError(f"LTGAParams.end_k ({self.end_k} K) must be above start_k ({self.start_k} K)")
        for name in ("ice_release_k", "adsorbed_release_k", "bound_release_k"):
            check_pair(self, name, positive=True)


@dataclass(frozen=True)
class LTGARecord:
    """A mass-loss curve: time (s), temperature (K) and mass (kg) per sample."""

    time_s: np.ndarray
    temperature_k: np.ndarray
    mass_kg: np.ndarray
    truth: Mapping[str, float] = field(default_factory=dict)   # programmed step masses, for scoring only


@dataclass(frozen=True)
class Step:
    """One mass-loss step: release temperature (K), mass lost and its sigma (kg)."""

    temperature_k: float
    mass_kg: float
    sigma_kg: float


@dataclass(frozen=True)
class LTGAResult:
    """The steps found and the volatile and water contents (wt%) with sigmas, and the balance drift (kg/s)."""

    steps: tuple[Step, ...]
    initial_mass_kg: float
    ice_volatiles_wt_pct: float
    ice_volatiles_sigma_wt_pct: float
    water_wt_pct: float
    sigma_wt_pct: float
    adsorbed_water_wt_pct: float
    bound_water_wt_pct: float
    drift_kg_s: float


def release_components(sample: Sample, aliquot_kg: float, params: LTGAParams, ice_factor: float = 1.0):
    """(name, mass_kg, centre_K, sigma_K) of each mass-loss component of an aliquot.

    ``ice_factor`` scales the aliquot's ice (and trapped volatiles) relative to the bulk (sub-sampling).

    Parameters
    ----------
    sample : Sample
        The drilled sample.
    aliquot_kg : float
        Aliquot mass, kg.
    params : LTGAParams
        The instrument's parameters (release temperatures and widths).
    ice_factor : float
        The aliquot's ice relative to the bulk's.
    """
    ice = aliquot_kg * sample.water_wt_pct / 100.0 * ice_factor
    ice_total = ice * (1.0 + sample.other_volatiles_kg / sample.water_kg) if sample.water_kg > 0 else 0.0
    return (("ice", ice_total, *params.ice_release_k),
            ("adsorbed", aliquot_kg * sample.adsorbed_water_wt_pct / 100.0, *params.adsorbed_release_k),
            ("bound", aliquot_kg * sample.bound_water_wt_pct / 100.0, *params.bound_release_k))


def mass_curve_kg(temperature_k, initial_kg: float, components) -> np.ndarray:
    """Noise-free mass vs temperature: m0 - sum_i m_i Phi((T - T_i)/s_i)."""
    t = np.asarray(temperature_k, float)
    m = np.full_like(t, initial_kg)
    for _, mi, tc, s in components:
        m -= mi * ndtr((t - tc) / s)
    return m


def measure(sample: Sample, rng: np.random.Generator, params: LTGAParams = LTGAParams()) -> LTGARecord:
    """Heat an aliquot of ``sample`` on the ramp and record the balance."""
    sample = require_sample(sample)
    m0 = aliquot_mass(sample, params.aliquot_kg, "LTGA")
    f_ice = aliquot_ice_factor(sample, m0, rng)
    comps = release_components(sample, m0, params, f_ice)
    duration = (params.end_k - params.start_k) / params.rate_k_s
    t = np.arange(0.0, duration + 1e-9, params.sample_interval_s)
    temp_true = params.start_k + params.rate_k_s * t
    drift = rng.normal(0.0, params.drift_sigma_kg_s)
    mass = mass_curve_kg(temp_true, m0, comps) + drift * t + rng.normal(0.0, params.noise_kg, t.size)
    temp = temp_true + rng.normal(0.0, params.temperature_noise_k, t.size)
    truth = {name: mi for name, mi, *_ in comps}
    truth.update(initial=m0, drift_kg_s=drift, water=m0 * sample.water_wt_pct / 100.0 * f_ice, ice_factor=f_ice)
    return LTGARecord(t, temp, mass, truth)


def check_record(rec: LTGARecord):
    """The record's (time_s, temperature_k, mass_kg) arrays, checked; InputError naming what to fix."""
    t = check_finite_array("LTGA time_s", rec.time_s)
    temp = check_finite_array("LTGA temperature_k", rec.temperature_k)
    m = check_finite_array("LTGA mass_kg", rec.mass_kg)
    if not (t.shape == temp.shape == m.shape) or t.ndim != 1:
        raise InputError("LTGA time_s, temperature_k and mass_kg must be 1-D arrays of the same length")
    if t.size < 200:
        raise InputError(f"LTGA curve has only {t.size} points; need at least 200 for step detection")
    if np.any(np.diff(t) <= 0):
        raise InputError("LTGA time_s must increase strictly")
    if temp.min() < 10 or temp.max() > 3000:
        raise InputError("LTGA temperatures must be in kelvin (10-3000 K); convert from Celsius first")
    if m.max() > 1e-2 or m.min() <= 0:
        raise InputError("LTGA mass must be in kg and positive (an aliquot is < 10 g); convert mg/g to kg")
    return t, temp, m


def analyse(rec: LTGARecord, *, water_mass_fraction: float = 1.0, water_mass_fraction_sigma: float = 0.0,
            window: int = 51, threshold_sigma: float = 6.0) -> LTGAResult:
    """Find the mass-loss steps and turn the ice step into water wt% with its uncertainty.

    ``water_mass_fraction`` (and its sigma) is the share of water in the gas
    released with the ice (from TRITON); 1.0 treats the ice step as pure water.

    Parameters
    ----------
    rec : LTGARecord
        The mass-loss curve.
    water_mass_fraction : float
        Share of water in the gas released with the ice, 0..1.
    water_mass_fraction_sigma : float
        Its 1-sigma.
    window : int
        Savitzky-Golay window of the loss rate, samples (odd; shortened on short curves).
    threshold_sigma : float
        Smallest peak loss rate of a step, in noise sigmas.
    """
    from scipy.signal import savgol_coeffs, savgol_filter  # noqa: PLC0415  scipy.signal is heavy: keeps CLI start fast

    t, temp, m = check_record(rec)
    if not (0 < water_mass_fraction <= 1) or not np.isfinite(water_mass_fraction_sigma) \
            or water_mass_fraction_sigma < 0:
        raise InputError("water_mass_fraction must be in (0, 1] and its sigma >= 0")
    window = int(min(window, (t.size // 4) * 2 + 1)) | 1
    dt = float(np.median(np.diff(t)))
    dtg = savgol_filter(m, window, 2, deriv=1, delta=dt)
    # noise of the balance from second differences (robust), propagated through the filter
    d2 = m[2:] - 2 * m[1:-1] + m[:-2]
    sigma_m = 1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0)
    sigma_dtg = max(sigma_m * float(np.linalg.norm(savgol_coeffs(window, 2, deriv=1, delta=dt))), 1e-300)
    # a step: a run where the loss rate exceeds 2 sigma whose peak exceeds threshold_sigma
    loss = -dtg > 2.0 * sigma_dtg
    steps_mask = np.zeros_like(loss)
    idx = np.flatnonzero(np.diff(np.r_[0, loss.astype(int), 0]))
    for a, b in zip(idx[::2], idx[1::2]):
        if -dtg[a:b].min() < threshold_sigma * sigma_dtg:
            continue
        # Gaussian-like peak seen above 2 sigma over +-h: its width is h / sqrt(2 ln(peak / 2 sigma));
        # extend the step to +-4 widths so its tails do not leak into the plateaus
        h = (b - a) / 2.0
        ratio = -dtg[a:b].min() / (2.0 * sigma_dtg)
        width = h / np.sqrt(2.0 * np.log(max(ratio, 1.05)))
        pad = int(np.ceil(max(4.0 * width - h, 0.0))) + window // 2
        steps_mask[max(a - pad, 0):min(b + pad, t.size)] = True
    resid = dtg
    plat = ~steps_mask
    edges = np.flatnonzero(np.diff(np.r_[0, plat.astype(int), 0]))
    segs = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 20]
    if len(segs) < 2:
        raise InputError("LTGA curve has no resolvable step between two plateaus; check the ramp covers "
                         "the release temperatures")
    rows = np.concatenate([np.arange(a, b) for a, b in segs])
    a_mat = np.zeros((rows.size, len(segs) + 1))
    col = np.concatenate([np.full(b - a, k) for k, (a, b) in enumerate(segs)])
    a_mat[np.arange(rows.size), col] = 1.0
    a_mat[:, -1] = t[rows] - t[rows].mean()
    coef, *_ = np.linalg.lstsq(a_mat, m[rows], rcond=None)
    res = m[rows] - a_mat @ coef
    s2 = float(res @ res) / max(rows.size - a_mat.shape[1], 1)
    cov = s2 * np.linalg.inv(a_mat.T @ a_mat)
    steps = []
    for k in range(len(segs) - 1):
        g0, g1 = segs[k][1], segs[k + 1][0]
        h = coef[k] - coef[k + 1]
        var = cov[k, k] + cov[k + 1, k + 1] - 2 * cov[k, k + 1]
        wts = np.clip(-resid[g0:g1], 0, None)
        t_step = float(np.sum(wts * temp[g0:g1]) / wts.sum()) if wts.sum() > 0 else float(temp[g0:g1].mean())
        steps.append(Step(t_step, float(h), float(np.sqrt(var))))
    drift = float(coef[-1])
    m_init = float(coef[0] + drift * (t[0] - t[rows].mean()))
    ice = [s for s in steps if ICE_STEP_RANGE_K[0] <= s.temperature_k <= ICE_STEP_RANGE_K[1]]
    ice_mass = sum(s.mass_kg for s in ice)
    ice_sig = float(np.sqrt(sum(s.sigma_kg**2 for s in ice)))
    if not ice:
        # no ice step: report zero with the smallest step the plateau fit could have measured as 1 sigma,
        # or the detection threshold integrated over one filter window, whichever is larger
        ice_sig = max(min((s.sigma_kg for s in steps), default=0.0), threshold_sigma * sigma_dtg * window * dt)
    ads = sum(s.mass_kg for s in steps if ICE_STEP_RANGE_K[1] < s.temperature_k <= 680)
    bnd = sum(s.mass_kg for s in steps if s.temperature_k > 680)
    ice_pct = 100 * ice_mass / m_init
    # balance noise/drift and the aliquot's sub-sampling scatter about the bulk sample
    ice_pct_sig = float(np.hypot(100 * ice_sig / m_init, ice_pct * subsampling_rel_sigma(m_init)))
    water = ice_pct * water_mass_fraction
    water_sig = float(np.hypot(ice_pct_sig * water_mass_fraction, ice_pct * water_mass_fraction_sigma))
    return LTGAResult(tuple(steps), m_init, ice_pct, ice_pct_sig, water, water_sig,
                      100 * ads / m_init, 100 * bnd / m_init, drift)
