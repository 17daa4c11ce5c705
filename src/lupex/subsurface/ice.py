"""Where ice can survive, how much there is, how deep it starts, and the rocks around it.

Stability
    * Temperature criterion (default): ice is stable below the shallowest depth where
      the *maximum* temperature over the period stays below 110 K (Paige et al. 2010,
      Science 330:479; the threshold commonly used with Diviner maps).
    * Sublimation criterion: the shallowest depth where free-surface (Hertz-Knudsen)
      sublimation at the local temperatures, averaged over the period, is below
      1 mm/Gyr (Siegler et al. 2016, Nature 531:480; Schorghofer & Williams 2020,
      PSJ 1:54). It ignores the diffusion barrier of the overburden, so it is
      conservative (buried ice is more stable than this says). Vapour pressure:
      Murphy & Koop 2005 (see :mod:`lupex.subsurface.vapor`).

Random fields
    Stationary Gaussian random fields with a Matern covariance (exponential for
    nu = 0.5), ``C(r) = 2^(1-nu)/Gamma(nu) (sqrt(2 nu) r/L)^nu K_nu(sqrt(2 nu) r/L)``,
    synthesised exactly by circulant embedding (Dietrich & Newsam 1997, SIAM J. Sci.
    Comput. 18:1088): two independent fields per complex FFT. ``L`` is
    ``corr_length_m``; for nu = 0.5 C(r) = exp(-r/L).

Ice concentration (WEH wt%, of the bulk, below the ice table)
    Log-normal within ice-bearing patches, median 1.5 wt% and sigma_ln 0.75 by
    default: the 95th percentile (~5 wt%) is LCROSS-like (Colaprete et al. 2010,
    Science 330:463: 5.6 +- 2.9 wt%), and with 30 % of the stable area ice-free the
    area mean is ~1.4 wt%, near the 0.5-1.5 wt% WEH seen by orbital neutron
    spectrometers at km scale (Feldman et al. 2001, JGR 106:23231; Sanin et al.
    2017, Icarus 283:20). These are our calibration choices, not measured rover-scale
    statistics - nobody has measured them yet.

Ice-table depth
    max(stability depth, dry overburden), the overburden log-normal with median
    0.25 m and sigma_ln 0.5 (5-95 %: 0.11-0.57 m), standing for impact-gardened dry
    regolith over ice (Hurley et al. 2012, GRL 39:L09203 gardening; the "0.1-0.5 m"
    of the LUPEX/VIPER prospecting scenarios). No ice where the stability depth is
    below ``max_ice_depth_m`` or in an ice-free patch.

Buried rocks
    A 3-D Poisson process of spheres whose cumulative volume fraction of rocks with
    diameter >= D follows Golombek & Rapp 1997 (JGR 102:4117, eq. 1):
    ``F_k(D) = k exp(-q D)``, ``q = 1.79 + 0.152/k``, reading the areal fraction of
    a plane section as the volume fraction (Delesse's principle). The number density
    per unit diameter is then ``n_V(D) = 6 k q exp(-q D) / (pi D^3)`` m^-4. Default
    k = 0.005: Diviner surface rock abundance is ~0.4-0.5 % for typical regolith
    (Bandfield et al. 2011, JGR 116:E00H02); the buried abundance is not measured and
    taking it equal to the surface value is an assumption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import fft as sfft
from scipy import special

from lupex.errors import InputError
from lupex.params import check_rng
from lupex.subsurface.vapor import recession_mm_per_gyr

ICE_STABILITY_T_K = 110.0  # Paige et al. 2010
MAX_LOSS_MM_PER_GYR = 1.0  # Siegler et al. 2016


# --------------------------------------------------------------------------- stability


def _first_crossing_depth(z_m: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    """Shallowest depth where ``values`` (..., nz) drops below ``threshold`` (linear interpolation)."""
    z = np.asarray(z_m, float)
    v = np.asarray(values, float)
    if v.shape[-1] != z.size:
        raise InputError("profile length must match z_m")
    if not np.all(np.isfinite(v)):
        raise InputError("temperature profile contains NaN; the stability depth needs finite temperatures")
    below = v < threshold
    any_below = below.any(axis=-1)
    i = np.argmax(below, axis=-1)
    ip = np.clip(i - 1, 0, z.size - 1)
    v1 = np.take_along_axis(v, ip[..., None], -1)[..., 0]
    v2 = np.take_along_axis(v, i[..., None], -1)[..., 0]
    frac = np.where(v1 != v2, (v1 - threshold) / np.where(v1 != v2, v1 - v2, 1.0), 0.0)
    d = z[ip] + np.clip(frac, 0, 1) * (z[i] - z[ip])
    d = np.where(i == 0, z[0], d)
    return np.where(any_below, d, np.inf)


def stability_depth_m(z_m, t_max_k, *, threshold_k: float = ICE_STABILITY_T_K) -> np.ndarray:
    """Depth to stable ice: shallowest depth where T_max(z) < ``threshold_k`` (inf if none).

    ``t_max_k`` may have leading dimensions; the last one runs over ``z_m``.
    """
    if not (np.isfinite(threshold_k) and threshold_k > 0):
        raise InputError(f"threshold_k must be a positive temperature, got {threshold_k}")
    return _first_crossing_depth(z_m, t_max_k, threshold_k)


def stability_depth_sublimation_m(z_m, mean_sublimation_rate_kg_m2_s, *,
                                  max_loss_mm_per_gyr: float = MAX_LOSS_MM_PER_GYR) -> np.ndarray:
    """Shallowest depth where the period-mean free-surface loss is below ``max_loss_mm_per_gyr``."""
    if not max_loss_mm_per_gyr > 0:
        raise InputError("max_loss_mm_per_gyr must be > 0")
    loss = recession_mm_per_gyr(mean_sublimation_rate_kg_m2_s)
    return _first_crossing_depth(z_m, np.log10(np.maximum(loss, 1e-300)), np.log10(max_loss_mm_per_gyr))


# --------------------------------------------------------------------------- random fields


def matern_covariance(r_m, corr_length_m: float, nu: float = 0.5) -> np.ndarray:
    """Matern correlation at distance ``r_m`` (1 at r = 0); nu = 0.5 gives exp(-r/L)."""
    r = np.asarray(r_m, float) / corr_length_m
    if nu == 0.5:
        return np.exp(-r)
    s = np.sqrt(2.0 * nu) * r
    with np.errstate(invalid="ignore"):
        c = (2.0 ** (1.0 - nu) / special.gamma(nu)) * s**nu * special.kv(nu, s)
    return np.where(r == 0, 1.0, np.nan_to_num(c, nan=0.0))


def _check_field_args(shape, pixel_m, corr_length_m, nu):
    if len(shape) != 2 or min(shape) < 1:
        raise InputError(f"field shape must be 2-D and non-empty, got {shape}")
    if not (np.isfinite(pixel_m) and pixel_m > 0):
        raise InputError(f"pixel size must be > 0 m, got {pixel_m}")
    if not (np.isfinite(corr_length_m) and corr_length_m > 0):
        raise InputError(f"corr_length_m must be > 0 m (it sets the patch size), got {corr_length_m}")
    if not nu > 0:
        raise InputError(f"Matern smoothness nu must be > 0, got {nu}")


def gaussian_random_fields(shape, pixel_m: float, corr_length_m: float, rng: np.random.Generator, *,
                           n_fields: int = 1, nu: float = 0.5) -> np.ndarray:
    """``n_fields`` independent zero-mean, unit-variance Gaussian fields, shape (n_fields, ny, nx).

    Circulant embedding on a periodic grid padded by ~6 correlation lengths (the
    wrap-around correlation is then < e^-6); negative embedding eigenvalues, if
    any, are clipped to zero.

    Matern covariance by circulant embedding (Dietrich & Newsam 1997; module docstring), two fields per
    complex FFT.

    Parameters
    ----------
    shape : tuple of int
        (ny, nx) of each field.
    pixel_m : float
        Grid spacing, m (> 0).
    corr_length_m : float
        Correlation length L of the Matern covariance, m (> 0); for nu = 0.5, C(r) = exp(-r/L).
    rng : np.random.Generator
        Source of the white noise (from the caller).
    n_fields : int
        How many independent fields.
    nu : float
        Matern smoothness (> 0; 0.5: exponential).

    Returns
    -------
    np.ndarray
        float64 (n_fields, ny, nx), each zero-mean and unit-variance.
    """
    _check_field_args(shape, pixel_m, corr_length_m, nu)
    check_rng(rng)
    ny, nx = shape
    pad = int(np.ceil(6.0 * corr_length_m / pixel_m)) + 1
    my = sfft.next_fast_len(min(ny + pad, 2 * ny + pad))
    mx = sfft.next_fast_len(min(nx + pad, 2 * nx + pad))
    jy = np.minimum(np.arange(my), my - np.arange(my)) * pixel_m
    jx = np.minimum(np.arange(mx), mx - np.arange(mx)) * pixel_m
    r = np.hypot(jy[:, None], jx[None, :])
    lam = np.real(sfft.fft2(matern_covariance(r, corr_length_m, nu)))
    sq = np.sqrt(np.clip(lam, 0.0, None) / (my * mx))
    out = np.empty((n_fields, ny, nx))
    k = 0
    while k < n_fields:
        w = rng.standard_normal((2, my, mx))
        z = sfft.fft2(sq * (w[0] + 1j * w[1]))
        out[k] = z.real[:ny, :nx]
        if k + 1 < n_fields:
            out[k + 1] = z.imag[:ny, :nx]
        k += 2
    return out


def empirical_variogram(field, pixel_m: float, max_lag_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Semivariogram along both grid axes for lags 1..max_lag_px (independent check of a field)."""
    f = np.asarray(field, float)
    lags = np.arange(1, max_lag_px + 1)
    g = np.empty(lags.size)
    for j, h in enumerate(lags):
        dx = f[:, h:] - f[:, :-h]
        dy = f[h:, :] - f[:-h, :]
        g[j] = 0.5 * (np.mean(dx**2) + np.mean(dy**2)) / 2.0
    return lags * pixel_m, g


# --------------------------------------------------------------------------- ice


def _check_pct(name, v, lo=0.0, hi=100.0):
    if not (np.isfinite(v) and lo <= v <= hi):
        raise InputError(f"{name} must be between {lo:g} and {hi:g} wt%, got {v}")


def ice_fields(stability_depth_m_, pixel_m: float, rng: np.random.Generator, *, corr_length_m: float = 10.0,
               ice_free_frac: float = 0.3, weh_median_wt_pct: float = 1.5, weh_sigma_ln: float = 0.75,
               weh_max_wt_pct: float = 20.0, overburden_median_m: float = 0.25, overburden_sigma_ln: float = 0.5,
               max_ice_depth_m: float = 3.0, nu: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Ice-table depth (m, inf where no ice) and WEH below it (wt%, 0 where no ice).

    Three independent Gaussian fields with the same covariance: one thresholded at
    its ``ice_free_frac`` quantile for presence, one log-normal WEH, one
    log-normal dry overburden. Ice lies only where ``stability_depth_m_`` is finite
    and shallower than ``max_ice_depth_m``, never above the stability depth.

    The calibration (LCROSS-like tail, Colaprete et al. 2010; orbital WEH means, Feldman et al. 2001,
    Sanin et al. 2017; gardened overburden, Hurley et al. 2012) is in the module docstring.

    Parameters
    ----------
    stability_depth_m_ : array_like, (ny, nx)
        Depth below which ice is stable, m (>= 0; inf where it never is).
    pixel_m : float
        Grid spacing, m.
    rng : np.random.Generator
        Source of the three random fields (from the caller).
    corr_length_m : float
        Correlation length of the fields, m (patch size).
    ice_free_frac : float
        Share of the stable area without ice, 0..1.
    weh_median_wt_pct : float
        Median WEH in ice-bearing patches, wt% of the bulk.
    weh_sigma_ln : float
        Log-normal spread of the WEH (sigma of ln).
    weh_max_wt_pct : float
        Cap on the WEH, wt%.
    overburden_median_m : float
        Median dry overburden above the ice, m.
    overburden_sigma_ln : float
        Log-normal spread of the overburden (sigma of ln).
    max_ice_depth_m : float
        No ice where the ice table would be at or below this depth, m.
    nu : float
        Matern smoothness of the fields (:func:`gaussian_random_fields`).

    Returns
    -------
    tuple of np.ndarray
        Ice-table depth (m, inf where no ice) and WEH below it (wt%, 0 where no ice), each (ny, nx).
    """
    s = np.asarray(stability_depth_m_, float)
    if s.ndim != 2:
        raise InputError("stability_depth_m must be a 2-D grid")
    if np.any(np.isnan(s)) or np.any(s < 0):
        raise InputError("stability depths must be >= 0 m (inf where ice is never stable), without NaN")
    if not 0.0 <= ice_free_frac <= 1.0:
        raise InputError(f"ice_free_frac must be between 0 and 1, got {ice_free_frac}")
    _check_pct("weh_median_wt_pct", weh_median_wt_pct)
    _check_pct("weh_max_wt_pct", weh_max_wt_pct)
    if weh_median_wt_pct > weh_max_wt_pct:
        raise InputError("weh_median_wt_pct must not exceed weh_max_wt_pct")
    if weh_sigma_ln < 0 or overburden_sigma_ln < 0:
        raise InputError("log-normal spreads (sigma_ln) must be >= 0")
    if not (overburden_median_m >= 0 and max_ice_depth_m > 0):
        raise InputError("overburden_median_m must be >= 0 m and max_ice_depth_m > 0 m")
    g = gaussian_random_fields(s.shape, pixel_m, corr_length_m, rng, n_fields=3, nu=nu)
    present = g[0] >= special.ndtri(ice_free_frac) if 0 < ice_free_frac < 1 else \
        np.full(s.shape, ice_free_frac == 0.0)
    weh = np.minimum(weh_median_wt_pct * np.exp(weh_sigma_ln * g[1]), weh_max_wt_pct)
    over = overburden_median_m * np.exp(overburden_sigma_ln * g[2])
    table = np.maximum(s, over)
    has_ice = present & np.isfinite(s) & (table < max_ice_depth_m) & (weh > 0)
    return np.where(has_ice, table, np.inf), np.where(has_ice, weh, 0.0)


# --------------------------------------------------------------------------- rocks


def golombek_rapp_q(rock_abundance: float) -> float:
    """Golombek & Rapp 1997 eq. 1 exponent q(k) = 1.79 + 0.152/k (per metre of diameter)."""
    return 1.79 + 0.152 / rock_abundance


def rock_number_density_m3(rock_abundance: float, d_min_m: float, d_max_m: float) -> float:
    """Expected rocks per m^3 with diameter in [d_min, d_max] (integral of n_V(D))."""
    d = np.geomspace(d_min_m, d_max_m, 4001)
    q = golombek_rapp_q(rock_abundance)
    n = 6.0 * rock_abundance * q * np.exp(-q * d) / (np.pi * d**3)
    return float(np.trapezoid(n, d))


def buried_rocks(x_range_m, y_range_m, rng: np.random.Generator, *, rock_abundance: float = 0.005,
                 d_min_m: float = 0.2, d_max_m: float = 2.0, depth_max_m: float = 2.0) -> pd.DataFrame:
    """Poisson-distributed spherical rocks in a box; columns x_m, y_m, depth_m (centre), radius_m.

    A 3-D Poisson process whose diameters follow ``n_V(D) = 6 k q exp(-q D) / (pi D^3)`` from Golombek &
    Rapp 1997 eq. 1 (module docstring), positions uniform in the box.

    Parameters
    ----------
    x_range_m, y_range_m : tuple of float
        (min, max) of the box horizontally, m, increasing.
    rng : np.random.Generator
        Source of the count, diameters and positions (from the caller).
    rock_abundance : float
        Golombek & Rapp's k, the fractional area (read as volume) covered by rocks, in (0, 1).
    d_min_m, d_max_m : float
        Range of rock diameters, m, 0 < d_min < d_max.
    depth_max_m : float
        Box depth, m (> 0); rock centres lie uniformly in [0, depth_max_m).

    Returns
    -------
    pandas.DataFrame
        One row per rock: ``x_m``, ``y_m`` (m), ``depth_m`` (centre depth, m), ``radius_m`` (m).
    """
    (x0, x1), (y0, y1) = map(tuple, (x_range_m, y_range_m))
    if not (x1 > x0 and y1 > y0):
        raise InputError("rock box ranges must be increasing (min, max) in metres")
    if not 0 < rock_abundance < 1:
        raise InputError(f"rock_abundance must be a fraction in (0, 1), got {rock_abundance}")
    if not (0 < d_min_m < d_max_m) or not depth_max_m > 0:
        raise InputError("need 0 < d_min_m < d_max_m and depth_max_m > 0")
    volume = (x1 - x0) * (y1 - y0) * depth_max_m
    n = int(rng.poisson(volume * rock_number_density_m3(rock_abundance, d_min_m, d_max_m)))
    q = golombek_rapp_q(rock_abundance)
    d = np.geomspace(d_min_m, d_max_m, 4001)
    pdf = np.exp(-q * d) / d**3
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(d))])
    cdf /= cdf[-1]
    u = rng.random((4, n))
    diam = np.interp(u[0], cdf, d)
    return pd.DataFrame({
        "x_m": x0 + u[1] * (x1 - x0),
        "y_m": y0 + u[2] * (y1 - y0),
        "depth_m": u[3] * depth_max_m,
        "radius_m": diam / 2.0,
    })
