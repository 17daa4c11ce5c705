"""ALIS imaging spectrometer: reflectance spectra, thermal emission and water retrieval.

The spectra carry the ~3 um H2O/OH band and thermal emission at the site's temperature.

Spectral range: 0.5-3.6 um at 20 nm sampling. ALIS's real band passes were
not checked against a JAXA document; the range is the one a 3 um water
retrieval needs (continuum shoulders at 2.5 and 3.5 um).

Model, with sources
-------------------
* Reflectance: Hapke's isotropic multiple-scattering model without the
  opposition effect, with the approximate H function (Hapke 2012, *Theory of
  Reflectance and Emittance Spectroscopy*, 2nd ed., ch. 8)::

      I/F = (w/4) mu0/(mu0 + mu) H(mu0) H(mu),  H(x) = (1 + 2x)/(1 + 2 gamma x),
      gamma = sqrt(1 - w)

  (the approximate H is good to a few %: tests/test_alis.py measures 3.3 % in
  the Kirchhoff sum at w = 0.9). I/F is the radiance factor. Laboratory
  spectra are reflectance factors REFF (relative to a Lambertian standard at
  the same geometry), I/F = REFF mu0 (Hapke 2012 defines both), so lab data
  at i = 30, e = 0 deg become single-scattering albedos w by inverting
  ``hapke_iof(w, 30, 0) = REFF cos 30 deg`` (:func:`lab_ssa`).
* Laboratory data: the data release of Cremons & Honniball 2022 (Earth and
  Space Science 9, e2022EA002277; github.com/philiplinden/cremons-et-al-2022,
  public domain), hand-copied with source line numbers into
  tools/alis_lab_data/ and averaged over each 20 nm channel into data/*.csv
  by tools/alis_lab_data/make_tables.py (headers name files and method).
* Dry continuum: RELAB spectrum LR-CMP-098 of Apollo 16 mature highland soil
  62231 (i = 30, e = 0 deg): REFF 0.149 at 0.75 um, 0.341 at 2.5 um, 0.365
  at 3 um. The sample's terrestrial adsorbed-water band (down to 0.315 at
  3 um) is replaced by the straight line between its rows nearest 2.65 and
  3.8 um, as Cremons & Honniball did. ``continuum_scale`` and a tilt
  ``(lambda / 0.75 um) ** continuum_slope`` multiply it (defaults 1 and 0:
  62231 as measured); the retrieval fits both, so albedo and slope
  differences from 62231 are absorbed. The 1 um band is in the spectrum; the
  water retrieval only fits 2.4-3.6 um.
* Water: four FTIR reflectance spectra of MORB glass D38A (69 um grains)
  step-heated to 650, 700, 750, 800 C, total water by SIMS 1522, 762, 176,
  22 ppm. Each is normalised to REFF 0.2363 in the 2.6 um channel (Cremons &
  Honniball's normalisation), converted to w with :func:`lab_ssa`, and the
  effective single-particle absorption thickness ESPAT = (1 - w)/w is fitted
  linearly in water in every channel (Milliken & Mustard 2005, JGR 110
  E12001: ESPAT is linear in H2O content; the method Cremons & Honniball
  used). The fitted slope spectrum is the band's shape and strength
  (:func:`morb_espat_fit`). It is zero at and below 2.6 um, where the
  normalisation pins the four spectra together (Cremons & Honniball used
  the 650 C spectrum for all four there). For the 69 um glass it peaks at
  2.82 um (3550 cm^-1, the total-water band of silicate glass) at 1.76 per
  wt% (1.58 at 2.9 um; half maximum 2.74-3.18 um) and keeps a long tail
  (0.44 per wt% at 3.5 um), much of it from the 1522 ppm spectrum's flatter
  continuum beyond 3.2 um, where the linear model fits the four measured
  albedos least well (within 0.010; within 0.0044 over 2.6-3.0 um).
* Grain size: the effective single-particle absorption thickness
  (1 - w)/w of a weakly absorbing particle is ~ alpha <D>, absorption
  coefficient times mean path length (Hapke 2012's equivalent-slab particle;
  the reason Milliken & Mustard 2005 use ESPAT). At the same absorption
  coefficient per ppm (same water speciation and grain density: 2.8 g/cm3
  glass against ~3 g/cm3 lunar grains, not corrected) the slope therefore
  scales with grain size: ``s(lambda) = s_glass(lambda) * 1e4 * D / 69 um``
  per wt%, D = ``regolith_grain_size_um`` = 32 um (Cremons & Honniball's
  regolith endmembers): 0.82 per wt% at 2.82 um, 0.73 at 2.9 um, 0.21 at
  3.5 um (the assumed Gaussian it replaces had 0.5 at 2.9 um). MORB glass
  stands in for lunar OH/H2O, whose band centre varies between ~2.8 um (OH)
  and ~3 um (H2O): an assumption of the source.
* Isotropic Hapke here, not Cremons & Honniball's phase function and
  opposition term: the albedos differ from theirs, but the same inversion
  turns lab data into w and w back into I/F, so the lab reflectances are
  reproduced at i = 30, e = 0 (tested).
* Thermal emission: Kirchhoff with Hapke's directional emissivity
  eps(mu) = gamma H(mu) (Hapke 2012, thermal emission) times the Planck
  radiance. Warm surfaces fill the 3 um band (Li & Milliken 2017, Science
  Advances 3 e1701471; Bandfield et al. 2018 Nature Geoscience 11:173), so
  the retrieval fits temperature or takes it as given.
* Sun: a 5772 K blackbody scaled to the 1361 W/m^2 solar constant at 1 AU
  (the real solar spectrum differs by ~10 % near 3 um; an approximation).
* Noise: Gaussian with a constant sigma per channel, ``L(2.5 um) / snr``.

Radiances are SI: W m^-2 sr^-1 per metre of wavelength.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import numpy as np
from scipy import constants as sc
from scipy.optimize import least_squares

from lupex.constants import AU_M, SOLAR_CONSTANT_W_M2
from lupex.constants import SUN_RADIUS_M as R_SUN_M
from lupex.errors import ConfigError, InputError
from lupex.params import ASSUMED, check_pair, check_positive, check_range, check_rng, param

H_PLANCK, C_LIGHT, K_B = sc.h, sc.c, sc.k
T_SUN_K = 5772.0
BAND_CENTRE_UM = 2.82                # peak of the MORB D38A ESPAT slope spectrum (module docstring)
SHOULDERS_UM = (2.5, 3.5)
RANGE_UM = (0.5, 3.6)
LAB_INCIDENCE_DEG, LAB_EMISSION_DEG = 30.0, 0.0       # RELAB and the MORB spectra (Cremons & Honniball 2022)
TILT_PIVOT_UM = 0.75
MORB_WATER_PPM = (1522.0, 762.0, 176.0, 22.0)         # SIMS, after 650, 700, 750, 800 C
MORB_GRAIN_SIZE_UM = 69.0
MORB_NORM_UM, MORB_NORM_REFF = 2.6, 0.2363            # Cremons & Honniball's normalisation


@dataclass(frozen=True)
class AlisParams:
    """Spectral model constants and the instrument's sampling and noise (module docstring gives each one's source)."""

    regolith_grain_size_um: float = param(32.0, "um", "grain size of the water-bearing regolith grains: the ESPAT "
                                          "slope measured on 69 um MORB glass is scaled by this / 69 um",
                                          "Cremons & Honniball 2022 regolith endmembers (32 um); ESPAT ~ alpha D "
                                          "(Hapke 2012)")
    continuum_scale: float = param(1.0, "-", "multiplier on the dry continuum, the reflectance of Apollo 16 soil "
                                   "62231 with its lab-water band removed",
                                   "RELAB LR-CMP-098 as measured (1.0)")
    continuum_slope: float = param(0.0, "-", "exponent of the tilt (lambda / 0.75 um)^slope multiplying the dry "
                                   "continuum", "RELAB LR-CMP-098 as measured (0)")
    snr: float = param(100.0, "-", "signal-to-noise ratio of the reflected radiance at 2.5 um (noise constant per "
                       "channel)", f"{ASSUMED}: imaging-spectrometer class, ALIS's is not published")
    band_centre_um: float = param(BAND_CENTRE_UM, "um", "wavelength at which band depths are read",
                                  "peak of the ESPAT slope spectrum of MORB glass D38A (Cremons & Honniball 2022 "
                                  "data; OH/H2O in silicate glass, ~3550 cm^-1)")
    channel_step_um: float = param(0.02, "um", "spectral sampling of the 0.5-3.6 um range",
                                   f"{ASSUMED}: 20 nm; ALIS's band passes not checked against a JAXA document")
    fit_range_um: tuple[float, float] = param((2.4, 3.6), "um", "[low, high] wavelengths fitted by the water retrieval",
                                              "continuum shoulders at 2.5 and 3.5 um around the band")

    def __post_init__(self):
        check_positive(self, "regolith_grain_size_um", "continuum_scale", "snr", "channel_step_um")
        check_range(self, "regolith_grain_size_um", 1.0, 1000.0)
        check_range(self, "continuum_scale", 0.0, 2.0, lo_open=True)
        check_range(self, "continuum_slope", -1.0, 2.0)
        check_range(self, "band_centre_um", 0.5, 3.6)
        check_range(self, "channel_step_um", 0.0, 0.1, lo_open=True)
        check_pair(self, "fit_range_um", increasing=True, positive=True)
        lo, hi = self.fit_range_um
        if lo < 0.5 or hi > 3.6 or (hi - lo) < 10 * self.channel_step_um:
            raise ConfigError(f"AlisParams.fit_range_um must lie within the 0.5-3.6 um range and hold at least 10 "
                              f"channels of channel_step_um, got {list(self.fit_range_um)}")


def wavelengths_um(step_um: float = 0.02):
    """Channel centres from 0.5 to 3.6 um every ``step_um``, um."""
    return np.round(np.arange(0.5, 3.6 + 1e-9, step_um), 6)


# ---------------------------------------------------------- laboratory data

@dataclass(frozen=True)
class LabSpectra:
    """The laboratory tables (module docstring): reflectance factors at i = 30, e = 0 deg per 20 nm channel."""

    wavelength_um: np.ndarray           # 0.5-3.6 um
    soil_reff: np.ndarray               # 62231 as measured
    soil_dry_reff: np.ndarray           # 62231, lab-water band replaced by a line (2.65-3.8 um)
    morb_wavelength_um: np.ndarray      # 2.46-3.6 um
    morb_reff: np.ndarray               # (4, n): 1522, 762, 176, 22 ppm, not normalised
    morb_water_ppm: np.ndarray


def _read_table(name: str) -> dict[str, np.ndarray]:
    lines = [ln for ln in files("lupex.instruments").joinpath("data", name).read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    names = lines[0].split(",")
    values = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    values.setflags(write=False)                      # shared by the cached LabSpectra
    return {n: values[:, k] for k, n in enumerate(names)}


@lru_cache(maxsize=1)
def lab_spectra() -> LabSpectra:
    """The laboratory tables of the package data, read once."""
    soil, morb = _read_table("alis_62231.csv"), _read_table("alis_morb_d38a.csv")
    return LabSpectra(soil["wavelength_um"], soil["reflectance"], soil["reflectance_dry"], morb["wavelength_um"],
                      np.array([morb[k] for k in ("r_650c", "r_700c", "r_750c", "r_800c")]),
                      np.array(MORB_WATER_PPM))


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
    """Single-scattering albedo from I/F by bisection (I/F rises monotonically with w).

    Parameters
    ----------
    iof : array_like
        Radiance factor I/F.
    incidence_deg : float
        Solar incidence angle, deg.
    emission_deg : float
        Emission (viewing) angle, deg.
    iters : int
        Bisection steps.
    """
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


def lab_ssa(reff, incidence_deg: float = LAB_INCIDENCE_DEG, emission_deg: float = LAB_EMISSION_DEG):
    """Single-scattering albedo of a lab reflectance factor REFF (I/F = REFF mu0), by :func:`invert_hapke`."""
    iof = np.asarray(reff, float) * np.cos(np.radians(incidence_deg))
    return invert_hapke(np.clip(iof, 1e-6, 0.9), incidence_deg, emission_deg)


@dataclass(frozen=True)
class MorbFit:
    """ESPAT of the MORB D38A glass fitted linearly in water per channel: espat = slope * ppm + intercept."""

    wavelength_um: np.ndarray
    slope_per_ppm: np.ndarray       # zero at and below 2.6 um (the normalisation channel)
    intercept: np.ndarray
    ssa: np.ndarray                 # (4, n) measured single-scattering albedos, 1522 ... 22 ppm
    water_ppm: np.ndarray

    def model_ssa(self, water_ppm):
        """Single-scattering albedo of the linear ESPAT model (n_water, n) for the given water contents."""
        x = np.atleast_1d(np.asarray(water_ppm, float))[:, None]
        return 1.0 / (1.0 + self.slope_per_ppm * x + self.intercept)


@lru_cache(maxsize=1)
def morb_espat_fit() -> MorbFit:
    """Milliken & Mustard's linear ESPAT-water relation from the four MORB spectra (module docstring)."""
    lab = lab_spectra()
    lam = lab.morb_wavelength_um
    k = int(np.argmin(np.abs(lam - MORB_NORM_UM)))
    w = lab_ssa(lab.morb_reff * (MORB_NORM_REFF / lab.morb_reff[:, k:k + 1]))
    e, x = espat(w), lab.morb_water_ppm
    xc = x - x.mean()
    slope = (xc @ (e - e.mean(axis=0))) / (xc @ xc)
    icpt = e.mean(axis=0) - slope * x.mean()
    slope = np.where(lam > MORB_NORM_UM + 1e-9, slope, 0.0)
    for a in (slope, icpt, w):
        a.setflags(write=False)                       # cached: shared by every caller
    return MorbFit(lam, slope, icpt, w, x)


def _check_wavelengths(lam):
    if np.any(lam < RANGE_UM[0] - 1e-9) or np.any(lam > RANGE_UM[1] + 1e-9) or not np.all(np.isfinite(lam)):
        raise InputError(f"wavelengths must lie within ALIS's {RANGE_UM[0]}-{RANGE_UM[1]} um, the range of its "
                         "laboratory tables")


def water_espat_per_wt_pct(wavelength_um, params: AlisParams = AlisParams()):
    """ESPAT added per wt% H2O: the MORB glass slope scaled to the regolith grain size (module docstring)."""
    lam = np.asarray(wavelength_um, float)
    _check_wavelengths(lam)
    fit = morb_espat_fit()
    s = fit.slope_per_ppm * 1e4 * params.regolith_grain_size_um / MORB_GRAIN_SIZE_UM
    return np.interp(lam, fit.wavelength_um, s, left=0.0, right=float(s[-1]))


def dry_continuum_reff(wavelength_um, params: AlisParams = AlisParams(), continuum_scale: float | None = None,
                       continuum_slope: float | None = None):
    """Reflectance factor at i = 30, e = 0 deg of the dry surface: 62231 (lab water removed), scaled and tilted.

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths, um.
    params : AlisParams
        The instrument and surface parameters.
    continuum_scale, continuum_slope : float, optional
        Replace the params' continuum scale and slope.
    """
    lam = np.asarray(wavelength_um, float)
    _check_wavelengths(lam)
    lab = lab_spectra()
    scale = params.continuum_scale if continuum_scale is None else continuum_scale
    slope = params.continuum_slope if continuum_slope is None else continuum_slope
    return scale * np.interp(lam, lab.wavelength_um, lab.soil_dry_reff) * (lam / TILT_PIVOT_UM) ** slope


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


def _albedo(dry_reff, band_per_wt_pct, water_wt_pct):
    return 1.0 / (1.0 + espat(lab_ssa(dry_reff)) + band_per_wt_pct * water_wt_pct)


def _emergent(w, sun_over_pi, planck, incidence_deg, emission_deg):
    refl = hapke_iof(w, incidence_deg, emission_deg) * sun_over_pi
    therm = directional_emissivity(w, emission_deg) * planck
    return refl + therm, refl, therm


def single_scattering_albedo(wavelength_um, water_wt_pct, params: AlisParams = AlisParams(),
                             continuum_scale: float | None = None, continuum_slope: float | None = None):
    """W of the surface: the dry continuum's ESPAT plus the water band's, ``s(lambda) * water_wt_pct``.

    ``continuum_scale`` and ``continuum_slope`` replace the params' values when given.

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths, um.
    water_wt_pct : float
        Water content, wt%.
    params : AlisParams
        The instrument and surface parameters.
    continuum_scale, continuum_slope : float, optional
        Replace the params' continuum scale and slope.
    """
    lam = np.asarray(wavelength_um, float)
    return _albedo(dry_continuum_reff(lam, params, continuum_scale, continuum_slope),
                   water_espat_per_wt_pct(lam, params), water_wt_pct)


def radiance(wavelength_um, water_wt_pct, temperature_k, incidence_deg, emission_deg=0.0,
             params: AlisParams = AlisParams(), continuum_scale: float | None = None,
             continuum_slope: float | None = None, distance_au: float = 1.0):
    """(total, reflected, thermal) spectral radiance, W m^-2 sr^-1 m^-1.

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths, um.
    water_wt_pct : float
        Water content, wt%.
    temperature_k : float
        Surface temperature, K.
    incidence_deg : float
        Solar incidence angle, deg.
    emission_deg : float
        Emission (viewing) angle, deg.
    params : AlisParams
        The instrument and surface parameters.
    continuum_scale, continuum_slope : float, optional
        Replace the params' continuum scale and slope.
    distance_au : float
        Sun distance, au.
    """
    _check(water_wt_pct, temperature_k, incidence_deg, emission_deg)
    w = single_scattering_albedo(wavelength_um, water_wt_pct, params, continuum_scale, continuum_slope)
    return _emergent(w, solar_irradiance(wavelength_um, distance_au) / np.pi,
                     planck_radiance(wavelength_um, temperature_k), incidence_deg, emission_deg)


def noise_sigma(wavelength_um, incidence_deg, emission_deg=0.0, params: AlisParams = AlisParams()):
    """Radiance noise 1-sigma, W m^-2 sr^-1 m^-1, the same in every channel.

    It is the reflected 2.5 um radiance of dry ground at ``incidence_deg`` and ``emission_deg`` over ``params.snr``.

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths, um (the noise is the same in every channel).
    incidence_deg : float
        Solar incidence angle, deg.
    emission_deg : float
        Emission (viewing) angle, deg.
    params : AlisParams
        The instrument parameters (``snr``).
    """
    ref = radiance(np.array([2.5]), 0.0, 100.0, incidence_deg, emission_deg, params)[1][0]
    return ref / params.snr


def simulate_spectrum(wavelength_um, water_wt_pct, temperature_k, incidence_deg, emission_deg,
                      rng: np.random.Generator, params: AlisParams = AlisParams(), **kw):
    """Noisy radiance spectrum and its per-channel sigma.

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths, um.
    water_wt_pct : float
        Water content, wt%.
    temperature_k : float
        Surface temperature, K.
    incidence_deg : float
        Solar incidence angle, deg.
    emission_deg : float
        Emission (viewing) angle, deg.
    rng : np.random.Generator
        Source of the noise.
    params : AlisParams
        The instrument and surface parameters.
    **kw
        Passed to :func:`radiance`.
    """
    check_rng(rng)
    total = radiance(wavelength_um, water_wt_pct, temperature_k, incidence_deg, emission_deg, params, **kw)[0]
    sig = noise_sigma(wavelength_um, incidence_deg, emission_deg, params)
    return total + sig * rng.standard_normal(total.shape), sig


def band_depth(wavelength_um, iof, centre_um=BAND_CENTRE_UM, shoulders_um=SHOULDERS_UM):
    """1 - I/F / continuum at the band centre, continuum linear between the shoulders.

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths, um.
    iof : array_like
        I/F spectrum on those wavelengths.
    centre_um : float
        Band centre, um.
    shoulders_um : tuple of float
        Continuum shoulders, um.
    """
    lam = np.asarray(wavelength_um, float)
    r = np.asarray(iof, float)
    a, b = (np.interp(s, lam, r) for s in shoulders_um)
    cont = a + (b - a) * (centre_um - shoulders_um[0]) / (shoulders_um[1] - shoulders_um[0])
    return 1.0 - np.interp(centre_um, lam, r) / cont


# --------------------------------------------------------------- retrieval

@dataclass(frozen=True)
class WaterRetrieval:
    """Water content (wt%) and temperature (K) fitted to a spectrum, with sigmas, and the corrected I/F fitted."""

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

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths, um.
    radiance_w_m2_sr_m : array_like
        Spectral radiance, W m^-2 sr^-1 m^-1.
    incidence_deg : float
        Solar incidence angle, deg.
    emission_deg : float
        Emission (viewing) angle, deg.
    sigma : array_like, optional
        Per-channel radiance sigma, W m^-2 sr^-1 m^-1 (default: :func:`noise_sigma`).
    temperature_k : float, optional
        Surface temperature, K; fixed in the fit when given.
    params : AlisParams
        The instrument and surface parameters.
    fit_range_um : tuple of float, optional
        Wavelength range fitted, um (default: ``params.fit_range_um``).
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
    # what the fit does not vary is evaluated once: the same sums as radiance()
    dry, band = dry_continuum_reff(lam_f, params, 1.0, 0.0), water_espat_per_wt_pct(lam_f, params)
    tilt, sun = lam_f / TILT_PIVOT_UM, solar_irradiance(lam_f) / np.pi
    b_given = None if fit_t else planck_radiance(lam_f, temperature_k)

    def model(p):
        wat, scale, slope = p[0], p[1], p[2]
        w = _albedo(scale * dry * tilt ** slope, band, max(wat, 0.0))
        b = planck_radiance(lam_f, p[3]) if fit_t else b_given
        return _emergent(w, sun, b, incidence_deg, emission_deg)

    p0 = [0.02, params.continuum_scale, params.continuum_slope] + ([200.0] if fit_t else [])
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
