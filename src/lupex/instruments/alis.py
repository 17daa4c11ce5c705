"""ALIS imaging spectrometer: reflectance spectra with the ~3 um H2O/OH band,
thermal emission at the site's temperature, and water retrieval.

Spectral range: 0.5-3.6 um at 20 nm sampling. ALIS's real band passes were
not checked against a JAXA document; the range is the one a 3 um water
retrieval needs (continuum shoulders at 2.5 and 3.5 um).

Model, with sources
-------------------
* Reflectance: Hapke's isotropic multiple-scattering approximation, no
  opposition effect (Hapke 2012, *Theory of Reflectance and Emittance
  Spectroscopy*, 2nd ed., ch. 8)::

      I/F = (w/4) mu0/(mu0 + mu) H(mu0) H(mu),  H(x) = (1 + 2x)/(1 + 2 gamma x),
      gamma = sqrt(1 - w)

  (the "approximate" H function, Hapke eq. 8.57 in the 2nd ed. numbering I
  recall; accurate to a few %).
* Continuum: I/F at i = 30 deg, e = 0 deg of highland soil,
  ``0.22 * (lambda / 0.75 um) ** 0.40`` -- a smooth red-sloped curve with the
  brightness of Apollo 16 soil 62231 (the RELAB highland standard; ~0.2 at
  0.75 um, ~0.35 at 2.5 um from memory, not digitised). The 1 um pyroxene band
  is left out; the 3 um retrieval only uses 2.4-3.6 um.
* Water: Milliken & Mustard 2005 (JGR 110 E12001) showed that the effective
  single-particle absorption thickness ESPAT = (1 - w)/w at ~2.9 um is linear
  in absolute H2O content. The band adds
  ``k * H2O_wt_pct * exp(-(lambda - 2.9)^2 / (2 * 0.15^2))`` to the continuum
  ESPAT. The slope k = 0.5 per wt% is NOT the Milliken & Mustard lab value
  (which is for coarser terrestrial samples); it is chosen so that 500 ppm
  water gives a ~10 % band depth at 2.9 um, the order of the high-latitude
  M3 band depths that Li & Milliken 2017 (Science Advances 3 e1701471) turn
  into ~500 ppm. Treat k as the calibration constant ALIS must measure.
* Thermal emission: Kirchhoff with Hapke's directional emissivity
  eps(mu) = gamma H(mu) (Hapke 2012, ch. 15) times the Planck radiance. Warm
  surfaces fill the 3 um band (Li & Milliken 2017; Bandfield et al. 2018
  Nature Geoscience 11:173), so the retrieval fits temperature or takes it
  as given.
* Sun: a 5772 K blackbody scaled to the 1361 W/m^2 solar constant at 1 AU
  (the real solar spectrum differs by ~10 % near 3 um; an approximation).
* Noise: Gaussian with a constant sigma per channel, ``L(2.5 um) / snr``.

Radiances are SI: W m^-2 sr^-1 per metre of wavelength.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import constants as sc
from scipy.optimize import least_squares

from lupex.errors import ConfigError, InputError
from lupex.params import ASSUMED, check_pair, check_positive, check_range, param

H_PLANCK, C_LIGHT, K_B = sc.h, sc.c, sc.k
SOLAR_CONSTANT_W_M2 = 1361.0
T_SUN_K = 5772.0
R_SUN_M = 6.957e8
AU_M = 1.495978707e11
BAND_CENTRE_UM = 2.9
BAND_SIGMA_UM = 0.15
SHOULDERS_UM = (2.5, 3.5)


@dataclass(frozen=True)
class AlisParams:
    """Spectral model constants and the instrument's sampling and noise (module docstring gives each one's source)."""

    espat_per_wt_pct: float = param(0.5, "1/wt%", "rise of the ESPAT (1-w)/w at the band centre per wt% H2O: the "
                                    "calibration constant ALIS must measure",
                                    f"{ASSUMED}: 500 ppm gives a ~10 % band depth, as the M3 band depths Li & Milliken "
                                    "2017 turn into ~500 ppm (linear form: Milliken & Mustard 2005)")
    continuum_iof_750nm: float = param(0.22, "-", "I/F of the dry continuum at 0.75 um (i = 30, e = 0 deg)",
                                       "Apollo 16 soil 62231 (RELAB highland standard), ~0.2 at 0.75 um")
    continuum_slope: float = param(0.40, "-", "power-law exponent of the red continuum, I/F ~ lambda^slope",
                                   f"{ASSUMED}: 62231 ~0.35 at 2.5 um, from memory")
    snr: float = param(100.0, "-", "signal-to-noise ratio of the reflected radiance at 2.5 um (noise constant per "
                       "channel)", f"{ASSUMED}: imaging-spectrometer class, ALIS's is not published")
    band_centre_um: float = param(BAND_CENTRE_UM, "um", "centre of the Gaussian H2O/OH absorption band",
                                  "Milliken & Mustard 2005 (~2.9 um)")
    band_sigma_um: float = param(BAND_SIGMA_UM, "um", "Gaussian sigma of the absorption band",
                                 f"{ASSUMED}: the ~3 um band's width in lunar spectra")
    channel_step_um: float = param(0.02, "um", "spectral sampling of the 0.5-3.6 um range",
                                   f"{ASSUMED}: 20 nm; ALIS's band passes not checked against a JAXA document")
    fit_range_um: tuple[float, float] = param((2.4, 3.6), "um", "[low, high] wavelengths fitted by the water retrieval",
                                              "continuum shoulders at 2.5 and 3.5 um around the band")

    def __post_init__(self):
        check_positive(self, "espat_per_wt_pct", "continuum_iof_750nm", "snr", "band_sigma_um", "channel_step_um")
        check_range(self, "continuum_iof_750nm", 0.0, 0.9, lo_open=True)
        check_range(self, "continuum_slope", -1.0, 2.0)
        check_range(self, "band_centre_um", 0.5, 3.6)
        check_range(self, "channel_step_um", 0.0, 0.1, lo_open=True)
        check_pair(self, "fit_range_um", increasing=True, positive=True)
        lo, hi = self.fit_range_um
        if lo < 0.5 or hi > 3.6 or (hi - lo) < 10 * self.channel_step_um:
            raise ConfigError(f"AlisParams.fit_range_um must lie within the 0.5-3.6 um range and hold at least 10 "
                              f"channels of channel_step_um, got {list(self.fit_range_um)}")


def wavelengths_um(step_um: float = 0.02):
    return np.round(np.arange(0.5, 3.6 + 1e-9, step_um), 6)


# ---------------------------------------------------------------- physics

def planck_radiance(wavelength_um, temperature_k):
    """Blackbody spectral radiance B_lambda, W m^-2 sr^-1 m^-1."""
    lam = np.asarray(wavelength_um, float) * 1e-6
    t = np.asarray(temperature_k, float)
    x = H_PLANCK * C_LIGHT / (lam * K_B * t)
    return 2 * H_PLANCK * C_LIGHT ** 2 / lam ** 5 / np.expm1(x)


def solar_irradiance(wavelength_um, distance_au: float = 1.0):
    """Solar spectral irradiance normal to the Sun, W m^-2 m^-1 (scaled blackbody)."""
    bb = np.pi * planck_radiance(wavelength_um, T_SUN_K) * (R_SUN_M / AU_M) ** 2
    scale = SOLAR_CONSTANT_W_M2 / (sc.sigma * T_SUN_K ** 4 * (R_SUN_M / AU_M) ** 2)
    return bb * scale / distance_au ** 2


def _h(x, w):
    g = np.sqrt(1.0 - w)
    return (1.0 + 2.0 * x) / (1.0 + 2.0 * g * x)


def hapke_iof(w, incidence_deg, emission_deg):
    """Radiance factor I/F of an isotropic-scattering Hapke surface."""
    w = np.asarray(w, float)
    mu0 = np.cos(np.radians(incidence_deg))
    mu = np.cos(np.radians(emission_deg))
    return w / 4.0 * mu0 / (mu0 + mu) * _h(mu0, w) * _h(mu, w)


def directional_emissivity(w, emission_deg):
    """Hapke directional emissivity gamma H(mu) (Kirchhoff)."""
    w = np.asarray(w, float)
    return np.sqrt(1.0 - w) * _h(np.cos(np.radians(emission_deg)), w)


def invert_hapke(iof, incidence_deg, emission_deg, iters: int = 40):
    """Single-scattering albedo from I/F by bisection (I/F rises monotonically with w)."""
    y = np.asarray(iof, float)
    lo, hi = np.zeros_like(y), np.ones_like(y)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        up = hapke_iof(mid, incidence_deg, emission_deg) < y
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return 0.5 * (lo + hi)


def espat(w):
    """Effective single-particle absorption thickness (Milliken & Mustard 2005)."""
    w = np.asarray(w, float)
    return (1.0 - w) / w


# ----------------------------------------------------------- forward model

def _check(water_wt_pct, temperature_k, incidence_deg, emission_deg):
    for name, v in (("water_wt_pct", water_wt_pct), ("temperature_k", temperature_k),
                    ("incidence_deg", incidence_deg), ("emission_deg", emission_deg)):
        if not np.all(np.isfinite(v)):
            raise InputError(f"{name} must be finite")
    if np.any(np.asarray(water_wt_pct) < 0) or np.any(np.asarray(water_wt_pct) > 100):
        raise InputError("water_wt_pct must be within [0, 100]")
    if np.any(np.asarray(temperature_k) <= 0):
        raise InputError("temperature_k must be positive (kelvin)")
    if not (0 <= incidence_deg < 90):
        raise InputError("incidence_deg must be in [0, 90): the spot must be sunlit")
    if not (0 <= emission_deg < 90):
        raise InputError("emission_deg must be in [0, 90)")


def single_scattering_albedo(wavelength_um, water_wt_pct, params: AlisParams = AlisParams(),
                             continuum_scale: float = 1.0, continuum_slope: float | None = None):
    lam = np.asarray(wavelength_um, float)
    beta = params.continuum_slope if continuum_slope is None else continuum_slope
    iof_std = continuum_scale * params.continuum_iof_750nm * (lam / 0.75) ** beta
    w_c = invert_hapke(np.clip(iof_std, 1e-6, 0.9), 30.0, 0.0)
    band = np.exp(-0.5 * ((lam - params.band_centre_um) / params.band_sigma_um) ** 2)
    e = espat(w_c) + params.espat_per_wt_pct * water_wt_pct * band
    return 1.0 / (1.0 + e)


def radiance(wavelength_um, water_wt_pct, temperature_k, incidence_deg, emission_deg=0.0,
             params: AlisParams = AlisParams(), continuum_scale: float = 1.0,
             continuum_slope: float | None = None, distance_au: float = 1.0):
    """(total, reflected, thermal) spectral radiance, W m^-2 sr^-1 m^-1."""
    _check(water_wt_pct, temperature_k, incidence_deg, emission_deg)
    w = single_scattering_albedo(wavelength_um, water_wt_pct, params, continuum_scale, continuum_slope)
    refl = hapke_iof(w, incidence_deg, emission_deg) * solar_irradiance(wavelength_um, distance_au) / np.pi
    therm = directional_emissivity(w, emission_deg) * planck_radiance(wavelength_um, temperature_k)
    return refl + therm, refl, therm


def noise_sigma(wavelength_um, incidence_deg, emission_deg=0.0, params: AlisParams = AlisParams()):
    ref = radiance(np.array([2.5]), 0.0, 100.0, incidence_deg, emission_deg, params)[1][0]
    return ref / params.snr


def simulate_spectrum(wavelength_um, water_wt_pct, temperature_k, incidence_deg, emission_deg,
                      rng: np.random.Generator, params: AlisParams = AlisParams(), **kw):
    """Noisy radiance spectrum and its per-channel sigma."""
    if not isinstance(rng, np.random.Generator):
        raise InputError("pass an explicit numpy.random.Generator as rng")
    total = radiance(wavelength_um, water_wt_pct, temperature_k, incidence_deg, emission_deg, params, **kw)[0]
    sig = noise_sigma(wavelength_um, incidence_deg, emission_deg, params)
    return total + sig * rng.standard_normal(total.shape), sig


def band_depth(wavelength_um, iof, centre_um=BAND_CENTRE_UM, shoulders_um=SHOULDERS_UM):
    """1 - I/F / continuum at the band centre, continuum linear between the shoulders."""
    lam = np.asarray(wavelength_um, float)
    r = np.asarray(iof, float)
    a, b = (np.interp(s, lam, r) for s in shoulders_um)
    cont = a + (b - a) * (centre_um - shoulders_um[0]) / (shoulders_um[1] - shoulders_um[0])
    return 1.0 - np.interp(centre_um, lam, r) / cont


# --------------------------------------------------------------- retrieval

@dataclass(frozen=True)
class WaterRetrieval:
    water_wt_pct: float
    water_sigma_wt_pct: float
    temperature_k: float
    temperature_sigma_k: float
    band_depth: float               # of the thermally corrected I/F
    iof: np.ndarray                 # thermally corrected I/F spectrum (fit channels)
    wavelength_um: np.ndarray


def retrieve_water(wavelength_um, radiance_w_m2_sr_m, incidence_deg, emission_deg=0.0, *,
                   sigma=None, temperature_k: float | None = None,
                   params: AlisParams = AlisParams(), fit_range_um=None) -> WaterRetrieval:
    """Water content from a radiance spectrum by fitting the forward model.

    Free parameters: water (wt%), continuum scale and slope, and temperature
    unless ``temperature_k`` is given. Least squares with the per-channel
    sigma; uncertainties from the Gauss-Newton covariance. The thermal part of
    the fit is subtracted to give the I/F spectrum and its band depth.

    Temperature is only constrained where thermal emission at 3-3.6 um is above
    the noise (T >~ 300 K at SNR 100). On colder surfaces a fitted T is not
    meaningful (it trades a little thermal tail against the continuum slope;
    its sigma is then too small), though the water estimate stays within its
    sigma: pass the site thermal model's temperature instead.
    """
    lam = np.asarray(wavelength_um, float)
    y = np.asarray(radiance_w_m2_sr_m, float)
    if lam.shape != y.shape or lam.ndim != 1:
        raise InputError("wavelength_um and radiance must be 1-D arrays of equal length")
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(y))):
        raise InputError("spectrum contains NaN or infinite values; drop bad channels first")
    if np.any(np.diff(lam) <= 0):
        raise InputError("wavelength_um must increase strictly")
    _check(0.0, temperature_k or 100.0, incidence_deg, emission_deg)
    fit_range_um = params.fit_range_um if fit_range_um is None else fit_range_um
    sel = (lam >= fit_range_um[0]) & (lam <= fit_range_um[1])
    if sel.sum() < 10:
        raise InputError(f"need at least 10 channels within {fit_range_um} um")
    lam_f, y_f = lam[sel], y[sel]
    sig = noise_sigma(lam_f, incidence_deg, emission_deg, params) if sigma is None else \
        np.broadcast_to(np.asarray(sigma, float), y.shape)[sel]
    fit_t = temperature_k is None

    def model(p):
        wat, scale, slope = p[0], p[1], p[2]
        t = p[3] if fit_t else temperature_k
        return radiance(lam_f, max(wat, 0.0), t, incidence_deg, emission_deg, params, scale, slope)

    p0 = [0.02, 1.0, params.continuum_slope] + ([200.0] if fit_t else [])
    lo = [0.0, 0.1, -1.0] + ([20.0] if fit_t else [])
    hi = [100.0, 4.0, 2.0] + ([700.0] if fit_t else [])
    # a coarse temperature scan avoids the flat start when the surface is cold
    if fit_t:
        best = None
        for t0 in (150.0, 270.0, 360.0):
            r = least_squares(lambda p: (model(p)[0] - y_f) / sig, p0[:3] + [t0], bounds=(lo, hi),
                              x_scale=[0.01, 0.1, 0.1, 10.0])
            if best is None or r.cost < best.cost:
                best = r
        res = best
    else:
        res = least_squares(lambda p: (model(p)[0] - y_f) / sig, p0, bounds=(lo, hi),
                            x_scale=[0.01, 0.1, 0.1])
    jac = res.jac
    cov = np.linalg.pinv(jac.T @ jac)
    perr = np.sqrt(np.clip(np.diag(cov), 0, None))
    _, _, therm = model(res.x)
    iof = (y_f - therm) * np.pi / solar_irradiance(lam_f)
    return WaterRetrieval(float(res.x[0]), float(perr[0]),
                          float(res.x[3]) if fit_t else float(temperature_k),
                          float(perr[3]) if fit_t else 0.0,
                          float(band_depth(lam_f, iof, params.band_centre_um)), iof, lam_f)
