"""The built-in SYNTHETIC south-pole site: a procedural DEM and its crater catalogue.

Nothing here is real LOLA data. The site is generated from a seed so that the
default run works offline and byte for byte the same; it is built to *measure*
like the terrain around the lunar south pole, each ingredient from a published
description:

* **Shackleton-like crater.** 21 km rim to rim, 4.2 km deep (rim crest to
  floor), a ~7 km flat floor and walls steepest at ~17 km diameter, interior
  slopes ~30-37 deg (Zuber et al. 2012, Nature 486:378, fig. 1). Its centre is
  placed where Shackleton's is, 89.67 S 129.78 E, so the pole sits ~0.5 km
  inside the rim as on the Moon; with the default 20 x 20 km extent about half
  the crater lies outside the grid. Rim height 0.036 D^1.014 km (Pike 1977, in
  *Impact and Explosion Cratering*, 489-509, extrapolated; Zuber et al.
  describe Shackleton as an unusually well preserved simple crater).
* **Connecting ridge.** A massif ~0.9 km high and ~4 km wide leaving
  Shackleton's rim near the pole toward de Gerlache (88.5 S 87.1 W), stylised
  after the Shackleton-de Gerlache ridge whose crest holds the best-lit points
  of the region (Bussey et al. 2010, Icarus 208:558; Gläser et al. 2014,
  Icarus 243:78).
* **Regional tilt** of ``regional_tilt_deg`` and long-wavelength undulation
  from the fractal spectrum below.
* **Crater population.** Centres uniform (Poisson), diameters from the
  empirical equilibrium distribution N(>D) = 10^-1.1 D^-2 per m^2, D in m
  (Trask 1966, JPL TR 32-800: 10^10.9 D^-2 per 10^6 km^2; Gault 1970, Radio
  Science 5:273), which the heavily cratered highlands reach below ~1 km; the
  same -2 cumulative slope also describes the production function between ~1
  and ~10 km (Neukum et al. 2001, Space Sci. Rev. 96:55), so one power law
  is used from ``crater_min_px`` pixels to ``crater_max_m``.
* **Crater shape.** Fresh simple craters: depth d = 0.196 D^1.010 km and rim
  height h = 0.036 D^1.014 km (Pike 1977); parabolic bowl, rim ejecta falling
  off as (r/R)^-3 (McGetchin et al. 1973, EPSL 20:226), tapered to zero
  between 2 R and 3 R.
* **Degradation.** Topographic diffusion (Soderblom 1970, JGR 75:2655;
  Fassett & Thomson 2014, JGR 119:2255): the fresh radial profile is diffused
  with the axisymmetric diffusion equation to normalised time ``tau = kappa t
  / R^2``. ``degradation`` in [0, 1] is the diffusion length relative to the
  radius, ``sqrt(tau / tau_max)``, with ``tau_max`` where the depth has fallen
  to 20% of the fresh one (depth 97% of fresh at 0.1, 87% at 0.2, 58% at 0.5).
  It is drawn uniformly, so the catalogue spans fresh to degraded evenly (a
  uniform crater *age* would make fresh craters rarer still). The diffused
  rim spreads outward (to ~1.3 R at 0.3); ``diameter_m`` stays the fresh
  rim-to-rim diameter, while catalogue depths and rim heights are those of
  the degraded profile actually stamped.
* **Small-scale roughness.** A fractional-Brownian surface by spectral
  synthesis: power spectrum ~ (k^2 + k0^2)^-(H+1) (H the Hurst exponent,
  Turcotte 1997, *Fractals and Chaos in Geology and Geophysics*; the roll-off
  k0 = 1/``roughness_rolloff_m`` keeps kilometre-scale relief to the big
  features). H = 0.9 is within the LOLA deviogram range for the highlands
  (Rosenburg et al. 2011, JGR 116:E02001: H ~0.95 typical of highlands) and
  the NAC DTM range 0.7-0.95, median 0.9 (Cai & Fa 2020, JGR 125:e2020JE006429).

Crater walls of Shackleton itself are kept free of superposed craters (its
walls are fresher than its floor and rim, Zuber et al. 2012). Only craters
actually stamped (those whose ejecta reach the grid) are catalogued.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS, Transformer
from scipy import fft, ndimage, special

from lupex.errors import ConfigError
from lupex.terrain.geo import DEFAULT_CRS
from lupex.terrain.io import dem_from_array

__all__ = ["GENERATOR_VERSION", "SyntheticSite", "generate_site", "pike_depth_m", "pike_rim_height_m"]

GENERATOR_VERSION = "1.0"

# Zuber et al. 2012; Shackleton's centre (IAU/USGS Gazetteer of Planetary Nomenclature)
SHACKLETON_LAT_DEG = -89.67
SHACKLETON_LON_DEG = 129.78
SHACKLETON_DIAMETER_M = 21_000.0
SHACKLETON_DEPTH_M = 4_200.0
SHACKLETON_FLOOR_DIAMETER_M = 7_000.0
SHACKLETON_STEEPEST_DIAMETER_M = 17_000.0
DE_GERLACHE_LAT_DEG = -88.5
DE_GERLACHE_LON_DEG = -87.1

EQUILIBRIUM_COEFF = 10.0 ** -1.1  # Trask 1966 / Gault 1970, N(>D) per m^2, D in m
RHO_MAX = 3.0  # ejecta reach, crater radii
DEGRADED_DEPTH_FRACTION = 0.2  # depth at degradation 1, relative to fresh


def pike_depth_m(diameter_m):
    """Fresh simple-crater depth (rim crest to floor), Pike 1977: d = 0.196 D^1.010 (km)."""
    return 1000.0 * 0.196 * (np.asarray(diameter_m, float) / 1000.0) ** 1.010


def pike_rim_height_m(diameter_m):
    """Fresh simple-crater rim height above the surroundings, Pike 1977: h = 0.036 D^1.014 (km)."""
    return 1000.0 * 0.036 * (np.asarray(diameter_m, float) / 1000.0) ** 1.014


@dataclass(frozen=True)
class SyntheticSite:
    """A SYNTHETIC site: the DEM (DEM contract, IAU_2015:30135) and its true crater catalogue.

    ``craters`` columns: ``name, x_m, y_m, diameter_m, depth_m, rim_height_m,
    degradation, lon_deg, lat_deg`` (depth rim crest to floor, rim height above
    the pre-crater surface, degradation 0 fresh .. 1 degraded).
    """

    dem: xr.DataArray
    craters: pd.DataFrame
    seed: int
    params: dict = field(default_factory=dict)  # the generator's arguments (do not mutate)


# --------------------------------------------------------------------------- crater profiles


@functools.lru_cache(maxsize=1)
def _profile_table(n_levels: int = 33, n_rho: int = 241):
    """Radial profiles g(rho; s) in units of the fresh depth, for degradation levels s.

    Returns (rho, s_levels, table[level, rho], tau_max).
    """
    eta = 0.036 / 0.196  # rim height / depth, Pike 1977
    rho = np.linspace(0.0, RHO_MAX, n_rho)
    g = np.where(rho <= 1.0, (eta - 1.0) + rho**2, eta * np.maximum(rho, 1.0) ** -3.0)
    taper = np.where(rho <= 2.0, 1.0, np.cos(0.5 * np.pi * np.clip(rho - 2.0, 0.0, 1.0)) ** 2)
    g0 = g * taper
    dr = rho[1] - rho[0]
    dt = 0.2 * dr * dr  # explicit scheme: stable below dr^2 / 4; elementwise, so bit-reproducible
    inner = rho[1:-1]
    c_minus = 1.0 / dr**2 - 1.0 / (2.0 * dr * inner)
    c_plus = 1.0 / dr**2 + 1.0 / (2.0 * dr * inner)

    def step(h):
        # axisymmetric Laplacian h'' + h'/rho (4 h'' on the axis); h = 0 at RHO_MAX
        lap = np.zeros_like(h)
        lap[1:-1] = c_minus * h[:-2] - (2.0 / dr**2) * h[1:-1] + c_plus * h[2:]
        lap[0] = 4.0 * (h[1] - h[0]) / dr**2
        return h + dt * lap

    # integrate until the depth (max - centre) falls to DEGRADED_DEPTH_FRACTION, keeping snapshots
    snaps, taus, h, tau = [g0], [0.0], g0.copy(), 0.0
    depth0 = g0.max() - g0[0]
    while (h.max() - h[0]) > DEGRADED_DEPTH_FRACTION * depth0:
        for _ in range(10):
            h = step(h)
            tau += dt
        snaps.append(h)
        taus.append(tau)
    taus, snaps = np.asarray(taus), np.asarray(snaps)
    tau_max = taus[-1]
    s_levels = np.linspace(0.0, 1.0, n_levels)
    table = np.empty((n_levels, n_rho))
    for k, s in enumerate(s_levels):
        t = s * s * tau_max  # degradation ~ diffusion length sqrt(kappa t) / R
        j = min(int(np.searchsorted(taus, t, side="right")) - 1, len(taus) - 2)
        f = (t - taus[j]) / (taus[j + 1] - taus[j])
        table[k] = (1 - f) * snaps[j] + f * snaps[j + 1]
    return rho, s_levels, table, tau_max


def _crater_profile(s: float) -> np.ndarray:
    rho, levels, table, _ = _profile_table()
    u = s * (len(levels) - 1)
    i = min(int(u), len(levels) - 2)
    f = u - i
    return (1 - f) * table[i] + f * table[i + 1]


# --------------------------------------------------------------------------- components


def _fractal(rng: np.random.Generator, n: int, pixel_m: float, hurst: float, rolloff_m: float) -> np.ndarray:
    """Zero-mean fBm-like surface on an n x n grid (unit-free; scaled by the caller)."""
    m = fft.next_fast_len(int(np.ceil(1.25 * n)))
    white = rng.standard_normal((m, m))
    spec = fft.rfft2(white)
    kx = fft.rfftfreq(m, d=pixel_m)
    ky = fft.fftfreq(m, d=pixel_m)
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    k0 = 1.0 / rolloff_m
    amp = (k2 + k0**2) ** (-(hurst + 1.0) / 2.0)
    amp[0, 0] = 0.0
    z = fft.irfft2(spec * amp, s=(m, m))[:n, :n]
    return z - z.mean()


def _rms_deviation(z: np.ndarray, lag: int) -> float:
    dx = z[:, lag:] - z[:, :-lag]
    dy = z[lag:, :] - z[:-lag, :]
    return float(np.sqrt(0.5 * (np.mean(dx * dx) + np.mean(dy * dy))))


def _shackleton(xx, yy, cx, cy, pixel_m) -> tuple[np.ndarray, dict]:
    R = SHACKLETON_DIAMETER_M / 2
    rf = SHACKLETON_FLOOR_DIAMETER_M / 2
    rim = float(pike_rim_height_m(SHACKLETON_DIAMETER_M))
    floor = rim - SHACKLETON_DEPTH_M
    # Beta-CDF wall: steepest where (a-1)/(a+b-2) = (8.5 - 3.5)/(10.5 - 3.5) -> a=1.5, b=1.2
    a, b = 1.5, 1.2
    r = np.hypot(xx - cx, yy - cy)
    t = np.clip((r - rf) / (R - rf), 0.0, 1.0)
    inside = floor + SHACKLETON_DEPTH_M * special.betainc(a, b, t)
    outside = rim * (np.maximum(r, R) / R) ** -3.0
    z = np.where(r <= R, inside, outside)
    z = ndimage.gaussian_filter(z, sigma=100.0 / pixel_m, mode="nearest")  # rounded rim crest
    return z, dict(R=R, rf=rf, rim=rim)


def _ridge(xx, yy, x0, y0, ux, uy, height_m, width_m, peak_along_m, length_m) -> np.ndarray:
    s = (xx - x0) * ux + (yy - y0) * uy  # along the crest
    d = -(xx - x0) * uy + (yy - y0) * ux  # across
    env = np.exp(-0.5 * ((s - peak_along_m) / length_m) ** 2)
    env = env * np.where(s < 0, np.exp(-0.5 * (s / 1000.0) ** 2), 1.0)
    return height_m * env * np.exp(-0.5 * (d / (width_m / 2.0)) ** 2)


# --------------------------------------------------------------------------- generator


def _add_shackleton(z, xx, yy, pixel_m, fwd, ridge_height_m, ridge_width_m) -> tuple[dict, dict]:
    """Add Shackleton and the connecting ridge to ``z`` (m, in place); its geometry and its catalogue row."""
    cx, cy = fwd.transform(SHACKLETON_LON_DEG, SHACKLETON_LAT_DEG)
    zs, shk = _shackleton(xx, yy, cx, cy, pixel_m)
    z += zs
    shk.update(cx=cx, cy=cy)
    row = dict(name="Shackleton (synthetic)", x_m=cx, y_m=cy, diameter_m=SHACKLETON_DIAMETER_M,
               depth_m=SHACKLETON_DEPTH_M, rim_height_m=shk["rim"], degradation=0.1)
    # connecting ridge: from the rim point nearest the pole toward de Gerlache
    gx, gy = fwd.transform(DE_GERLACHE_LON_DEG, DE_GERLACHE_LAT_DEG)
    dxp, dyp = -cx, -cy
    dn = np.hypot(dxp, dyp)
    x0, y0 = cx + dxp / dn * shk["R"] * 1.05, cy + dyp / dn * shk["R"] * 1.05
    ux, uy = gx - x0, gy - y0
    un = np.hypot(ux, uy)
    z += _ridge(xx, yy, x0, y0, ux / un, uy / un, ridge_height_m, ridge_width_m, 6_000.0, 5_000.0)
    return shk, row


def _scaled_roughness(rng, n, pixel_m, hurst, rolloff_m, roughness_m_at_100m) -> np.ndarray:
    """Fractal heights (m) scaled to ``roughness_m_at_100m`` RMS deviation at a 100 m lag."""
    f = _fractal(rng, n, pixel_m, hurst, rolloff_m)
    lag = max(1, int(round(100.0 / pixel_m)))
    f *= roughness_m_at_100m / _rms_deviation(f, lag) * (lag * pixel_m / 100.0) ** hurst
    return f


def _crater_table(rows: list[dict[str, Any]], inv) -> pd.DataFrame:
    """Crater catalogue with lon/lat (deg) added through the inverse projection ``inv``."""
    craters = pd.DataFrame(rows, columns=["name", "x_m", "y_m", "diameter_m", "depth_m", "rim_height_m", "degradation"])
    lon, lat = inv.transform(craters["x_m"].to_numpy(), craters["y_m"].to_numpy())
    craters["lon_deg"] = np.asarray(lon, float)
    craters["lat_deg"] = np.asarray(lat, float)
    return craters


def generate_site(
    seed: int = 0,
    size_m: float = 20_000.0,
    pixel_m: float = 20.0,
    *,
    hurst: float = 0.9,
    roughness_m_at_100m: float = 3.0,
    roughness_rolloff_m: float = 4_000.0,
    crater_min_px: float = 4.0,
    crater_max_m: float = 4_000.0,
    crater_density: float = EQUILIBRIUM_COEFF,
    sfd_exponent: float = 2.0,
    shackleton: bool = True,
    ridge_height_m: float = 900.0,
    ridge_width_m: float = 4_000.0,
    regional_tilt_deg: float = 0.5,
    regional_tilt_azimuth_deg: float = 300.0,
    base_elevation_m: float = 1_000.0,
) -> SyntheticSite:
    """Generate the SYNTHETIC south-pole site (see the module docstring for every ingredient).

    The grid is ``round(size_m / pixel_m)`` cells square, centred on the south
    pole (x = y = 0 at the grid centre) in IAU_2015:30135. The same ``seed``
    and parameters give a byte-identical DEM and catalogue.

    ``crater_density`` and ``sfd_exponent`` set N(>D) = crater_density *
    D^-sfd_exponent per m^2 (D in m), for ``crater_min_px * pixel_m <= D <=
    crater_max_m``. ``roughness_m_at_100m`` is the RMS height difference of the
    fractal component at a 100 m lag (its RMS deviation, Rosenburg et al. 2011).

    Parameters
    ----------
    seed : int
        Seed of every random draw.
    size_m : float
        Side of the square site, m.
    pixel_m : float
        Pixel size, m.
    hurst : float
        Hurst exponent H of the fractal roughness.
    roughness_m_at_100m : float
        RMS height difference of the fractal component at a 100 m lag, m.
    roughness_rolloff_m : float
        Roll-off wavelength of the fractal spectrum, m.
    crater_min_px : float
        Smallest crater diameter, px.
    crater_max_m : float
        Largest crater diameter, m.
    crater_density : float
        Coefficient of N(>D), per m^2 with D in m.
    sfd_exponent : float
        Exponent of N(>D).
    shackleton : bool
        Add the Shackleton-like crater and the connecting ridge.
    ridge_height_m, ridge_width_m : float
        Height and width of the ridge, m.
    regional_tilt_deg : float
        Regional slope, deg.
    regional_tilt_azimuth_deg : float
        Grid azimuth the ground descends toward, deg, clockwise from grid +y.
    base_elevation_m : float
        Height at the grid centre before relief, m.
    """
    params = dict(
        seed=int(seed), size_m=float(size_m), pixel_m=float(pixel_m), hurst=float(hurst),
        roughness_m_at_100m=float(roughness_m_at_100m), roughness_rolloff_m=float(roughness_rolloff_m),
        crater_min_px=float(crater_min_px), crater_max_m=float(crater_max_m),
        crater_density=float(crater_density), sfd_exponent=float(sfd_exponent), shackleton=bool(shackleton),
        ridge_height_m=float(ridge_height_m), ridge_width_m=float(ridge_width_m),
        regional_tilt_deg=float(regional_tilt_deg), regional_tilt_azimuth_deg=float(regional_tilt_azimuth_deg),
        base_elevation_m=float(base_elevation_m),
    )
    _check(params)
    n = int(round(size_m / pixel_m))
    x = (np.arange(n) - (n - 1) / 2.0) * pixel_m
    y = -x.copy()
    xx, yy = np.meshgrid(x, y)
    ss = np.random.SeedSequence(int(seed))
    rng_rough, rng_craters, rng_degr = (np.random.default_rng(s) for s in ss.spawn(3))
    crs = CRS.from_user_input(DEFAULT_CRS)
    fwd = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
    inv = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)

    # regional tilt (down toward the azimuth) and base level
    az = np.radians(regional_tilt_azimuth_deg)
    z = base_elevation_m - np.tan(np.radians(regional_tilt_deg)) * (xx * np.sin(az) + yy * np.cos(az))

    rows: list[dict[str, Any]] = []
    shk = None
    if shackleton:
        shk, row = _add_shackleton(z, xx, yy, pixel_m, fwd, ridge_height_m, ridge_width_m)
        rows.append(row)
    # fractal roughness, scaled to the requested RMS deviation at 100 m
    if roughness_m_at_100m > 0:
        z += _scaled_roughness(rng_rough, n, pixel_m, hurst, roughness_rolloff_m, roughness_m_at_100m)
    # crater population
    rows.extend(_stamp_craters(z, x, y, pixel_m, params, rng_craters, rng_degr, shk))
    craters = _crater_table(rows, inv)

    dem = dem_from_array(
        z, x, y, crs=DEFAULT_CRS, source="synthetic",
        long_name="SYNTHETIC south-pole elevation (procedural, not LOLA data)",
    )
    dem.attrs.update(seed=int(seed), generator="lupex.terrain.synthetic", generator_version=GENERATOR_VERSION,
                     parameters=json.dumps(params, sort_keys=True))
    return SyntheticSite(dem=dem, craters=craters, seed=int(seed), params=dict(params))


def _check(p: dict) -> None:
    if not p["pixel_m"] > 0 or not p["size_m"] > 0:
        raise ConfigError("size_m and pixel_m must be positive lengths in metres")
    n = round(p["size_m"] / p["pixel_m"])
    if n < 16:
        raise ConfigError(f"size_m / pixel_m = {n} cells; the site needs at least 16 x 16 cells")
    if n > 8192:
        raise ConfigError(f"size_m / pixel_m = {n} cells per side is too large (max 8192); coarsen pixel_m")
    if not 0.0 < p["hurst"] < 1.0:
        raise ConfigError(f"hurst must be in (0, 1) (lunar highlands: 0.7-0.95), got {p['hurst']}")
    if p["crater_min_px"] < 2:
        raise ConfigError("crater_min_px must be at least 2 pixels: smaller craters are not resolved")
    if p["crater_max_m"] <= p["crater_min_px"] * p["pixel_m"]:
        raise ConfigError("crater_max_m must exceed crater_min_px * pixel_m")
    if p["sfd_exponent"] <= 0 or p["crater_density"] < 0:
        raise ConfigError("sfd_exponent must be positive and crater_density non-negative")
    if p["roughness_m_at_100m"] < 0 or p["roughness_rolloff_m"] <= 0:
        raise ConfigError("roughness_m_at_100m must be >= 0 and roughness_rolloff_m > 0")


def _stamp_craters(z, x, y, pixel_m, p, rng, rng_degr, shk) -> list[dict]:
    """Draw the population, stamp it into ``z`` in place, return the catalogue rows."""
    dmin, dmax, b, c = p["crater_min_px"] * pixel_m, p["crater_max_m"], p["sfd_exponent"], p["crater_density"]
    margin = RHO_MAX * dmax / 2
    x0, x1 = x[0] - pixel_m / 2 - margin, x[-1] + pixel_m / 2 + margin
    y0, y1 = y[-1] - pixel_m / 2 - margin, y[0] + pixel_m / 2 + margin
    area = (x1 - x0) * (y1 - y0)
    mean_n = c * (dmin**-b - dmax**-b) * area
    count = int(rng.poisson(mean_n))
    u = rng.random(count)
    # inverse CDF of the truncated power law
    diam = (dmin**-b - u * (dmin**-b - dmax**-b)) ** (-1.0 / b)
    cxs = x0 + (x1 - x0) * rng.random(count)
    cys = y0 + (y1 - y0) * rng.random(count)
    degr = rng_degr.random(count)
    reach = RHO_MAX * diam / 2
    xlo, xhi = x[0] - pixel_m / 2, x[-1] + pixel_m / 2
    ylo, yhi = y[-1] - pixel_m / 2, y[0] + pixel_m / 2
    keep = (cxs + reach > xlo) & (cxs - reach < xhi) & (cys + reach > ylo) & (cys - reach < yhi)
    if shk is not None:
        r = np.hypot(cxs - shk["cx"], cys - shk["cy"])
        keep &= ~((r > shk["rf"]) & (r < shk["R"]))  # Shackleton's walls stay fresh (Zuber et al. 2012)
    order = np.argsort(-diam[keep], kind="stable")
    diam, cxs, cys, degr = diam[keep][order], cxs[keep][order], cys[keep][order], degr[keep][order]

    rho_tab = _profile_table()[0]
    ny, nx = z.shape
    rows = []
    for d, cx, cy, s in zip(diam, cxs, cys, degr):
        R = d / 2
        prof = _crater_profile(float(s))
        dep = float(pike_depth_m(d))
        reach = RHO_MAX * R
        j0 = max(0, int(np.floor((cx - reach - x[0]) / pixel_m)))
        j1 = min(nx, int(np.ceil((cx + reach - x[0]) / pixel_m)) + 1)
        i0 = max(0, int(np.floor((y[0] - (cy + reach)) / pixel_m)))
        i1 = min(ny, int(np.ceil((y[0] - (cy - reach)) / pixel_m)) + 1)
        if j1 <= j0 or i1 <= i0:
            continue
        rx = (x[j0:j1] - cx) / R
        ry = (y[i0:i1] - cy) / R
        rho = np.sqrt(ry[:, None] ** 2 + rx[None, :] ** 2)
        z[i0:i1, j0:j1] += dep * np.interp(rho, rho_tab, prof, right=0.0)
        rows.append(dict(name="", x_m=float(cx), y_m=float(cy), diameter_m=float(d),
                         depth_m=dep * float(prof.max() - prof[0]), rim_height_m=dep * float(prof.max()),
                         degradation=float(s)))
    return rows
