"""From a per-cell illumination fraction to temperatures and ice-stability depth.

Running the thermal model for every cell of a 1000 x 1000 map is too slow for
the default site, so the map is translated through a calibration table: the
thermal model (:mod:`lupex.subsurface.thermal`, Hayne et al. 2017 properties) is
run for a handful of illumination fractions (and optionally slopes) under a
*synthetic* polar forcing, and each cell's values are interpolated from it.

The synthetic forcing (an approximation, documented so it can be judged):

* one "year" of 12 synodic months (354.4 d; the true seasonal period at the pole,
  the eclipse year, is 346.6 d - the 2 % difference keeps the series periodic);
* the Sun circles the sky once per synodic month (azimuth = hour angle) at an
  elevation ``e = colat cos(az) + 1.54 deg sin(2 pi t / year)``: site colatitude
  ``colat`` (default 1.5 deg, i.e. 88.5 S) plus the seasonal swing of the Sun's
  declination (1.54 deg lunar obliquity to the ecliptic);
* the ground is a plane of slope ``slope_deg`` facing north (toward the Sun's
  culmination, the warm case);
* a horizon ``h(az) = h0 - 1 deg cos(az)`` hides the Sun; h0 is chosen so that
  the Sun is up (and the disk visible) exactly a fraction ``illumination_frac``
  of the year: sunlit when ``e + cos(az) deg`` exceeds the (1 - f) quantile;
* absorbed flux = (1 - A(i)) S cos(i) when lit, plus a constant scattered / IR
  flux from the surrounding terrain (default 0.3 W/m^2, which puts a permanent
  shadow at ~49 K; Paige et al. 2010 Science 330:479 report PSR annual maxima of
  ~40-100 K and minima down to ~25-35 K - the value is a choice, not a fit).

Steps are 3 h (236 per month), for which the backward-Euler model differs from
1-h steps by < 1 K at the surface maximum (checked in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lupex.errors import InputError
from lupex.subsurface import thermal
from lupex.subsurface.ice import ICE_STABILITY_T_K, stability_depth_m, stability_depth_sublimation_m

LUNAR_OBLIQUITY_DEG = 1.54
DEFAULT_ILLUM_LEVELS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
DEFAULT_SCATTERED_W_M2 = 0.3


def polar_forcing(illumination_frac: float, slope_deg: float = 10.0, *, colatitude_deg: float = 1.5,
                  scattered_w_m2: float = DEFAULT_SCATTERED_W_M2, months: int = 12, steps_per_month: int = 236,
                  props: thermal.RegolithThermalParams = thermal.HAYNE2017) -> tuple[np.ndarray, float]:
    """Absorbed flux series (W/m^2) and step (s) for the synthetic polar year described above.

    Parameters
    ----------
    illumination_frac : float
        Fraction of the year the Sun is visible, 0..1 (sets the horizon h0).
    slope_deg : float
        Slope of the north-facing ground plane, deg, in [0, 90).
    colatitude_deg : float
        Site colatitude, deg (1.5: 88.5 S).
    scattered_w_m2 : float
        Constant absorbed flux from the surrounding terrain (scattered light and IR), W/m^2.
    months : int
        Synodic months in the "year" (12: 354.4 d).
    steps_per_month : int
        Steps per synodic month (236: about 3 h).
    props : RegolithThermalParams
        Regolith properties; their albedo law A(i) is used (default Hayne et al. 2017).

    Returns
    -------
    tuple of (np.ndarray, float)
        Absorbed flux at the end of each step, W/m^2, (months * steps_per_month,), and the step length, s.
    """
    if not 0.0 <= illumination_frac <= 1.0:
        raise InputError(f"illumination fraction must be between 0 and 1, got {illumination_frac}")
    if not 0.0 <= slope_deg < 90.0:
        raise InputError(f"slope must be between 0 and 90 deg, got {slope_deg}")
    nt = months * steps_per_month
    dt = thermal.SYNODIC_MONTH_S / steps_per_month
    t = (np.arange(nt) + 1.0) * dt
    az = 2 * np.pi * t / thermal.SYNODIC_MONTH_S
    elev = colatitude_deg * np.cos(az) + LUNAR_OBLIQUITY_DEG * np.sin(2 * np.pi * t / (months * thermal.SYNODIC_MONTH_S))
    score = elev + 1.0 * np.cos(az)
    if illumination_frac <= 0.0:
        lit = np.zeros(nt, bool)
    elif illumination_frac >= 1.0:
        lit = np.ones(nt, bool)
    else:
        lit = score > np.quantile(score, 1.0 - illumination_frac)
    inc = thermal.incidence_deg(elev, np.degrees(az), slope_deg, 0.0)
    flux = thermal.absorbed_flux_w_m2(inc, lit.astype(float), props=props, scattered_w_m2=scattered_w_m2)
    return flux, dt


@dataclass(frozen=True)
class PolarTable:
    """Calibration table on (slope, illumination) levels; arrays are (n_slope, n_illum[, nz])."""

    illumination_frac: np.ndarray
    slope_deg: np.ndarray
    t_max_surface_k: np.ndarray
    t_mean_surface_k: np.ndarray
    stability_depth_m: np.ndarray
    stability_depth_sublimation_m: np.ndarray
    z_m: np.ndarray
    t_mean_k: np.ndarray
    t_max_k: np.ndarray


def polar_table(illum_levels=DEFAULT_ILLUM_LEVELS, slope_levels=(10.0,), *, colatitude_deg: float = 1.5,
                scattered_w_m2: float = DEFAULT_SCATTERED_W_M2, threshold_k: float = ICE_STABILITY_T_K,
                z_max_m: float = 3.0) -> PolarTable:
    """Run the thermal model for each (slope, illumination) level (cached per process).

    Each level runs :func:`lupex.subsurface.thermal.periodic_temperatures` (Hayne et al. 2017) under
    :func:`polar_forcing`; stability by the 110 K criterion (Paige et al. 2010) and by sublimation
    (Siegler et al. 2016), :mod:`lupex.subsurface.ice`.

    Parameters
    ----------
    illum_levels : sequence of float
        Illumination fractions, 0..1, increasing, at least two.
    slope_levels : sequence of float
        Slopes, deg.
    colatitude_deg : float
        Site colatitude, deg.
    scattered_w_m2 : float
        Constant absorbed flux from the surrounding terrain, W/m^2.
    threshold_k : float
        Ice-stability temperature, K (110 K, Paige et al. 2010).
    z_max_m : float
        Depth of the thermal grid, m.

    Returns
    -------
    PolarTable
        The levels and, per (slope, illumination), the surface maximum and mean temperature (K), the two
        stability depths (m, inf: never stable) and the mean and maximum temperature per depth (K, on ``z_m``).
    """
    return _polar_table(tuple(float(v) for v in illum_levels), tuple(float(v) for v in slope_levels),
                        float(colatitude_deg), float(scattered_w_m2), float(threshold_k), float(z_max_m))


@lru_cache(maxsize=8)
def _polar_table(illum_levels, slope_levels, colatitude_deg, scattered_w_m2, threshold_k, z_max_m) -> PolarTable:
    il = np.asarray(illum_levels, float)
    sl = np.asarray(slope_levels, float)
    if il.size < 2 or np.any(np.diff(il) <= 0):
        raise InputError("illumination levels must be increasing (at least 2)")
    grid = thermal.make_grid(z_max_m=z_max_m)
    nz = np.asarray(grid.z_m).size
    shp = (sl.size, il.size)
    tmx, tmn = np.empty(shp), np.empty(shp)
    tmean_z, tmax_z = np.empty(shp + (nz,)), np.empty(shp + (nz,))
    rate = np.empty(shp + (nz,))
    for a, s in enumerate(sl):
        for b, f in enumerate(il):
            flux, dt = polar_forcing(f, s, colatitude_deg=colatitude_deg, scattered_w_m2=scattered_w_m2)
            r = thermal.periodic_temperatures(flux, dt, grid=grid, tol_k=0.1)
            tmx[a, b], tmn[a, b] = r.t_max_k[0], r.t_mean_k[0]
            tmean_z[a, b], tmax_z[a, b] = r.t_mean_k, r.t_max_k
            rate[a, b] = r.mean_sublimation_rate_kg_m2_s
    z = np.asarray(grid.z_m, float)
    return PolarTable(il, sl, tmx, tmn, stability_depth_m(z, tmax_z, threshold_k=threshold_k),
                      stability_depth_sublimation_m(z, rate), z, tmean_z, tmax_z)


def interpolate_table(table: PolarTable, name: str, illumination_frac, slope_deg=None) -> np.ndarray:
    """Bilinear interpolation of a (slope, illumination) table field at per-cell values.

    Infinite stability depths (never stable) are interpolated as "inf" wherever
    either bracketing level is inf, so ice is never placed where the model says it
    cannot survive.

    Parameters
    ----------
    table : PolarTable
        The calibration table (:func:`polar_table`).
    name : str
        A (n_slope, n_illum) field of the table: ``"t_max_surface_k"``, ``"t_mean_surface_k"``,
        ``"stability_depth_m"`` or ``"stability_depth_sublimation_m"``.
    illumination_frac : float or array_like
        Per-cell illumination fraction, 0..1; any shape (e.g. (ny, nx)). Values beyond the table's levels
        take the end level.
    slope_deg : float or array_like, optional
        Per-cell slope, deg, broadcastable to ``illumination_frac``; None (or a one-slope table): the
        table's first slope.

    Returns
    -------
    np.ndarray
        The field at each cell, in its unit (K or m), the shape of ``illumination_frac``.
    """
    f = np.asarray(illumination_frac, float)
    if not np.all(np.isfinite(f)) or np.any(f < 0) or np.any(f > 1):
        raise InputError("illumination fraction map must be finite and between 0 and 1 (0-100 %)")
    v = getattr(table, name)
    il, sl = table.illumination_frac, table.slope_deg
    jb = np.clip(np.searchsorted(il, f, side="right") - 1, 0, il.size - 2)
    wb = np.clip((f - il[jb]) / (il[jb + 1] - il[jb]), 0, 1)
    if sl.size == 1 or slope_deg is None:
        ja = np.zeros(f.shape, int)
        wa = np.zeros(f.shape)
        ja1 = ja
    else:
        s = np.broadcast_to(np.asarray(slope_deg, float), f.shape)
        if not np.all(np.isfinite(s)):
            raise InputError("slope map contains NaN")
        ja = np.clip(np.searchsorted(sl, s, side="right") - 1, 0, sl.size - 2)
        wa = np.clip((s - sl[ja]) / (sl[ja + 1] - sl[ja]), 0, 1)
        ja1 = ja + 1
    corners = [(ja, jb, (1 - wa) * (1 - wb)), (ja, jb + 1, (1 - wa) * wb),
               (ja1, jb, wa * (1 - wb)), (ja1, jb + 1, wa * wb)]
    out = np.zeros(f.shape)
    inf = np.zeros(f.shape, bool)
    for a, b, w in corners:
        val = v[a, b]
        bad = ~np.isfinite(val) & (w > 0)
        inf |= bad
        out += np.where(np.isfinite(val), val, 0.0) * w
    return np.where(inf, np.inf, out)
