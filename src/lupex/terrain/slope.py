"""Slopes, roughness and hazard masks of a DEM at a chosen baseline.

Methods
-------
* Pixel baseline (``baseline_m`` None or below 1.5 pixels): Horn's (1981,
  Proc. IEEE 69:14) 3 x 3 weighted finite differences, the estimator of
  ``gdaldem slope`` and of most GIS tools.
* Longer baselines: the gradient of the least-squares plane fitted to the
  ``(2k+1) x (2k+1)`` window centred on each cell, ``k = round(baseline /
  (2 pixel))``, so the window spans ``2 k pixel`` ~ ``baseline`` from edge
  centre to edge centre. On a symmetric window the fit separates:
  ``dz/dx = sum(i z) / sum(i^2)`` over the window (Sharpnack & Akin 1969's
  plane-fit estimator, generalised to any size). The baseline actually used
  is stored in ``attrs["baseline_m"]``.
* Roughness: the RMS residual of the same local plane fit (the "RMS residual"
  roughness LOLA uses, Zuber et al. 2012 Nature 486:378 fig. 1d; the detrended
  RMS height of Shepard et al. 2001 JGR 106:32777). Rosenburg et al. 2011 (JGR
  116:E02001) map RMS deviation and Hurst exponent; the residual here is the
  local, detrended counterpart.

Cells whose window runs off the grid, or touches a NaN, get NaN; hazard masks
treat NaN as unsafe. All filters are separable running sums (scipy.ndimage),
O(N) in the number of cells per window row: a 1000 x 1000 DEM takes well
under a second at any baseline.

Limits: 12 deg is Chandrayaan-3's published touchdown slope limit (ISRO; see
docs/REFERENCES.md#chandrayaan3). The rover default (:data:`ROVER_MAX_SLOPE_DEG`) is a
placeholder until the rover configuration provides the vehicle's limit.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from lupex.errors import ConfigError
from lupex.terrain.geo import pixel_size_m

__all__ = [
    "LANDER_MAX_SLOPE_DEG",
    "ROVER_MAX_SLOPE_DEG",
    "hazard_mask",
    "lander_hazard_map",
    "roughness_m",
    "rover_hazard_map",
    "slope_deg",
]

LANDER_MAX_SLOPE_DEG = 12.0  # Chandrayaan-3 touchdown limit
ROVER_MAX_SLOPE_DEG = 20.0  # placeholder: conservative vs VIPER's 25-30 deg; the rover config overrides it


def _half_window(p: float, baseline_m: float | None) -> int:
    """0 for Horn's pixel-baseline estimator, else the plane-fit half width k."""
    if baseline_m is None:
        return 0
    if not np.isfinite(baseline_m) or baseline_m <= 0:
        raise ConfigError(f"baseline_m must be a positive length in metres, got {baseline_m!r}")
    if baseline_m < 1.5 * p:
        return 0
    return max(1, int(round(baseline_m / (2.0 * p))))


def _window_sums(z: np.ndarray, k: int):
    """Sums over (2k+1)^2 windows: n, S=sum z, Sx=sum i z, Sy=sum j z (i along x, j along -y)."""
    w = 2 * k + 1
    ramp = np.arange(-k, k + 1, dtype=np.float64)
    box = np.ones(w)
    cz = ndimage.correlate1d(z, box, axis=0, mode="constant", cval=np.nan)
    s = ndimage.correlate1d(cz, box, axis=1, mode="constant", cval=np.nan)
    sx = ndimage.correlate1d(cz, ramp, axis=1, mode="constant", cval=np.nan)
    # rows go down = -y: the y ramp is reversed
    sy = ndimage.correlate1d(ndimage.correlate1d(z, box, axis=1, mode="constant", cval=np.nan),
                             -ramp, axis=0, mode="constant", cval=np.nan)
    return s, sx, sy


def _gradient(z: np.ndarray, p: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(dz/dx, dz/dy) in m/m; NaN where the window leaves the grid."""
    if k == 0:
        # Horn 1981: columns weighted 1-2-1
        w121 = np.array([1.0, 2.0, 1.0])
        d = np.array([-1.0, 0.0, 1.0])
        gx = ndimage.correlate1d(ndimage.correlate1d(z, w121, axis=0, mode="constant", cval=np.nan),
                                 d, axis=1, mode="constant", cval=np.nan) / (8.0 * p)
        gy = ndimage.correlate1d(ndimage.correlate1d(z, w121, axis=1, mode="constant", cval=np.nan),
                                 -d, axis=0, mode="constant", cval=np.nan) / (8.0 * p)
        return gx, gy
    _, sx, sy = _window_sums(z, k)
    w = 2 * k + 1
    sum_i2 = w * (k * (k + 1) * (2 * k + 1) / 3.0)
    return sx / (sum_i2 * p), sy / (sum_i2 * p)


def _like(dem: xr.DataArray, data: np.ndarray, name: str, units: str, long_name: str, baseline: float):
    out = dem.copy(data=data)
    out.name = name
    out.attrs = {"units": units, "long_name": long_name, "baseline_m": float(baseline),
                 "source": dem.attrs.get("source", "")}
    return out


def slope_deg(dem: xr.DataArray, baseline_m: float | None = None) -> xr.DataArray:
    """Surface slope in degrees at ``baseline_m`` (default: the pixel size).

    See the module docstring for the estimator used at each baseline.
    """
    p = pixel_size_m(dem)
    k = _half_window(p, baseline_m)
    z = np.asarray(dem.values, dtype=np.float64)
    gx, gy = _gradient(z, p, k)
    s = np.degrees(np.arctan(np.hypot(gx, gy)))
    return _like(dem, s, "slope", "deg", "surface slope", p if k == 0 else 2 * k * p)


def roughness_m(dem: xr.DataArray, baseline_m: float) -> xr.DataArray:
    """RMS residual height (m) about the least-squares plane over the baseline window.

    The window is ``(2k+1) x (2k+1)`` cells with ``k = max(1, round(baseline /
    (2 pixel)))``.
    """
    p = pixel_size_m(dem)
    if baseline_m is None or not np.isfinite(baseline_m) or baseline_m <= 0:
        raise ConfigError(f"baseline_m must be a positive length in metres, got {baseline_m!r}")
    k = max(1, int(round(baseline_m / (2.0 * p))))
    z = np.asarray(dem.values, dtype=np.float64)
    # remove the global mean and plane first so the running sums do not cancel catastrophically
    finite = np.isfinite(z)
    zc = z - (np.nanmean(z) if finite.any() else 0.0)
    w = 2 * k + 1
    n = float(w * w)
    s, sx, sy = _window_sums(zc, k)
    s2 = ndimage.correlate1d(ndimage.correlate1d(zc * zc, np.ones(w), axis=0, mode="constant", cval=np.nan),
                             np.ones(w), axis=1, mode="constant", cval=np.nan)
    sum_i2 = w * (k * (k + 1) * (2 * k + 1) / 3.0)
    rss = s2 - s * s / n - (sx * sx + sy * sy) / sum_i2
    # relative rounding floor of the running sums
    rss = np.where(rss < 1e-12 * np.abs(s2) + 1e-18, 0.0, rss)
    r = np.sqrt(rss / n)
    return _like(dem, r, "roughness", "m", "RMS residual from the local plane", 2 * k * p)


def hazard_mask(
    slope_da: xr.DataArray,
    max_slope_deg: float,
    roughness_da: xr.DataArray | None = None,
    max_roughness_m: float | None = None,
) -> xr.DataArray:
    """Boolean map, True where it is safe: slope <= ``max_slope_deg`` (and roughness <= ``max_roughness_m``).

    NaN (DEM edges, holes) counts as unsafe.

    Parameters
    ----------
    slope_da : xr.DataArray
        (y, x) slope, deg.
    max_slope_deg : float
        Steepest safe slope, deg, in (0, 90).
    roughness_da : xr.DataArray, optional
        (y, x) roughness, m; given together with ``max_roughness_m``.
    max_roughness_m : float, optional
        Roughest safe cell, m.
    """
    if not (0.0 < float(max_slope_deg) < 90.0):
        raise ConfigError(f"max_slope_deg must be between 0 and 90 degrees, got {max_slope_deg!r}")
    s = np.asarray(slope_da.values, dtype=float)
    with np.errstate(invalid="ignore"):
        safe = np.isfinite(s) & (s <= max_slope_deg)
    if (roughness_da is None) != (max_roughness_m is None):
        raise ConfigError("give both roughness_da and max_roughness_m, or neither")
    if roughness_da is not None:
        if not float(max_roughness_m) > 0:
            raise ConfigError(f"max_roughness_m must be positive, got {max_roughness_m!r}")
        r = np.asarray(roughness_da.values, dtype=float)
        if r.shape != s.shape:
            raise ConfigError(f"roughness map {r.shape} and slope map {s.shape} differ in shape; use the same DEM")
        with np.errstate(invalid="ignore"):
            safe &= np.isfinite(r) & (r <= max_roughness_m)
    out = slope_da.copy(data=safe)
    out.name = "safe"
    out.attrs = {"long_name": "safe (True) or hazardous (False)", "max_slope_deg": float(max_slope_deg)}
    if max_roughness_m is not None:
        out.attrs["max_roughness_m"] = float(max_roughness_m)
    return out


def _hazard_map(dem, max_slope_deg, baseline_m, max_roughness_m, roughness_baseline_m, who):
    s = slope_deg(dem, baseline_m)
    r = None
    if max_roughness_m is not None:
        rb = roughness_baseline_m or (baseline_m if baseline_m else 2 * pixel_size_m(dem))
        r = roughness_m(dem, rb)
    m = hazard_mask(s, max_slope_deg, r, max_roughness_m)
    m.attrs["for"] = who
    m.attrs["baseline_m"] = s.attrs["baseline_m"]
    return m


def lander_hazard_map(
    dem: xr.DataArray,
    max_slope_deg: float = LANDER_MAX_SLOPE_DEG,
    baseline_m: float | None = None,
    *,
    max_roughness_m: float | None = None,
    roughness_baseline_m: float | None = None,
) -> xr.DataArray:
    """Where a lander may touch down: slope <= 12 deg (Chandrayaan-3) at ``baseline_m`` (default: pixel).

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, (y, x) heights, m.
    max_slope_deg : float
        Steepest safe slope, deg.
    baseline_m : float, optional
        Slope baseline, m (default: one pixel).
    max_roughness_m : float, optional
        Roughest safe cell, m (default: roughness not checked).
    roughness_baseline_m : float, optional
        Roughness window, m (default: ``baseline_m``, else two pixels).
    """
    return _hazard_map(dem, max_slope_deg, baseline_m, max_roughness_m, roughness_baseline_m, "lander")


def rover_hazard_map(
    dem: xr.DataArray,
    max_slope_deg: float = ROVER_MAX_SLOPE_DEG,
    baseline_m: float | None = None,
    *,
    max_roughness_m: float | None = None,
    roughness_baseline_m: float | None = None,
) -> xr.DataArray:
    """Where the rover may drive: slope <= ``max_slope_deg`` at ``baseline_m`` (default: pixel).

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, (y, x) heights, m.
    max_slope_deg : float
        Steepest safe slope, deg.
    baseline_m : float, optional
        Slope baseline, m (default: one pixel).
    max_roughness_m : float, optional
        Roughest safe cell, m (default: roughness not checked).
    roughness_baseline_m : float, optional
        Roughness window, m (default: ``baseline_m``, else two pixels).
    """
    return _hazard_map(dem, max_slope_deg, baseline_m, max_roughness_m, roughness_baseline_m, "rover")
