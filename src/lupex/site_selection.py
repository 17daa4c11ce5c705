"""Ranking candidate landing sites from slope safety, light and Earth visibility.

A cell is a candidate when every cell within ``landing_radius_m`` of it is
within the lander's slope limit (12 deg, Chandrayaan-3's published touchdown
limit, is the default): the landing dispersion must fall on safe ground. Each
candidate gets a score

    score = w_sun * illumination_pct/100
          + w_earth * earth_visible_pct/100
          + w_night * (1 - longest_darkness_h / span_h)

(the criteria site studies weigh: mean illumination and the longest dark period
after Gläser et al. 2014, Icarus 243:78; direct-to-Earth time after Bryant 2009,
IPN PR 42-176). Sites are picked greedily by score with a minimum separation,
so the list names distinct places rather than neighbouring pixels of one ridge.

Cells within ``edge_margin_m`` of the DEM's border are never candidates: their
horizons are truncated where the DEM ends (nothing beyond it is assumed), so
their light and Earth statistics are optimistic. Give a DEM a few km larger
than the area of interest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from lupex.errors import InputError
from lupex.terrain.geo import LUNAR_LONLAT_CRS, geojson_crs_member, lonlat_grid, pixel_size_m


def disk_footprint(radius_px: float) -> np.ndarray:
    """Boolean disk structuring element of the given radius in pixels (at least 1 cell)."""
    r = int(np.floor(radius_px))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (xx**2 + yy**2) <= radius_px**2 + 1e-9


def landing_candidates(safe: np.ndarray, pixel_m: float, landing_radius_m: float) -> np.ndarray:
    """Cells whose whole landing disk (radius ``landing_radius_m``) is safe.

    Cells closer than the radius to the DEM's edge are excluded: their disk is
    not fully known.
    """
    safe = np.asarray(safe, dtype=bool)
    fp = disk_footprint(landing_radius_m / pixel_m)
    return ndimage.binary_erosion(safe, structure=fp, border_value=0)


def site_score(illumination_pct, earth_visible_pct, longest_darkness_h, span_h: float, weights=(0.5, 0.3, 0.2)):
    """The score above, elementwise; higher is better, in [0, sum(weights)].

    Parameters
    ----------
    illumination_pct : array_like
        Time-mean visible fraction of the Sun's disk, %.
    earth_visible_pct : array_like
        Time with the Earth in view, %.
    longest_darkness_h : array_like
        Longest dark run, h.
    span_h : float
        Length of the statistics' span, h.
    weights : tuple of float
        ``(w_sun, w_earth, w_night)``.
    """
    w_sun, w_earth, w_night = weights
    night = 1.0 - np.clip(np.asarray(longest_darkness_h, float) / span_h, 0.0, 1.0)
    return (
        w_sun * np.asarray(illumination_pct, float) / 100.0
        + w_earth * np.asarray(earth_visible_pct, float) / 100.0
        + w_night * night
    )


def pick_separated(score: np.ndarray, eligible: np.ndarray, pixel_m: float, count: int, min_separation_m: float):
    """Greedy picks of the best-scoring eligible cells, each at least ``min_separation_m`` apart.

    Returns (rows, cols) arrays, best first. Ties are broken by raster order so
    the result is deterministic.

    Parameters
    ----------
    score : np.ndarray
        (ny, nx) site score (NaN: never picked).
    eligible : np.ndarray
        (ny, nx) bool, cells that may be picked.
    pixel_m : float
        Pixel size, m.
    count : int
        Largest number of picks.
    min_separation_m : float
        Smallest distance between two picks, m.
    """
    flat = np.flatnonzero(eligible & np.isfinite(score))
    if flat.size == 0:
        return np.empty(0, int), np.empty(0, int)
    order = flat[np.lexsort((flat, -score.ravel()[flat]))]
    nx = score.shape[1]
    rows, cols = [], []
    min_px2 = (min_separation_m / pixel_m) ** 2
    for idx in order:
        r, c = divmod(int(idx), nx)
        if rows:
            d2 = (np.asarray(rows) - r) ** 2 + (np.asarray(cols) - c) ** 2
            if np.any(d2 < min_px2):
                continue
        rows.append(r)
        cols.append(c)
        if len(rows) == count:
            break
    return np.asarray(rows, int), np.asarray(cols, int)


def interior_mask(shape, pixel_m: float, edge_margin_m: float) -> np.ndarray:
    """True for cells at least ``edge_margin_m`` from every border of the grid."""
    ny, nx = shape
    k = int(np.ceil(edge_margin_m / pixel_m))
    m = np.zeros(shape, bool)
    if 2 * k < ny and 2 * k < nx:
        m[k : ny - k, k : nx - k] = True
    return m


def rank_landing_sites(dem, slope_deg, stats, *, max_slope_deg: float, landing_radius_m: float,
                       span_h: float, count: int = 10, min_separation_m: float = 1000.0,
                       weights=(0.5, 0.3, 0.2), edge_margin_m: float = 0.0) -> pd.DataFrame:
    """Ranked landing sites as a table (one row per site, best first).

    ``dem`` and ``slope_deg`` are DataArrays on the same grid; ``stats`` is the
    light statistics Dataset (``illumination_pct``, ``earth_visible_pct``,
    ``longest_darkness_h``, ``sun_and_earth_pct``). Columns: rank, x_m, y_m,
    lon_deg, lat_deg, elevation_m, slope_deg, illumination_pct,
    earth_visible_pct, sun_and_earth_pct, longest_darkness_h, score.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, (ny, nx) heights, m.
    slope_deg : xr.DataArray
        (ny, nx) slope, deg, on the DEM's grid.
    stats : xr.Dataset
        Light statistics on the DEM's grid.
    max_slope_deg : float
        Steepest safe slope, deg.
    landing_radius_m : float
        Radius of the disk that must be all safe, m.
    span_h : float
        Length of the statistics' span, h.
    count : int
        Largest number of sites.
    min_separation_m : float
        Smallest distance between two sites, m.
    weights : tuple of float
        ``(w_sun, w_earth, w_night)`` of the score.
    edge_margin_m : float
        Smallest distance of a site from the DEM's border, m.
    """
    pixel_m = pixel_size_m(dem)
    safe = np.asarray(slope_deg) <= max_slope_deg
    eligible = landing_candidates(safe, pixel_m, landing_radius_m) & interior_mask(safe.shape, pixel_m, edge_margin_m)
    if not eligible.any():
        raise InputError(
            f"no cell has a {landing_radius_m:g} m landing disk entirely below {max_slope_deg:g} deg of slope; "
            f"(at least {edge_margin_m:g} m inside the DEM's border); lower lander.landing_radius_m or "
            "sites.edge_margin_m, raise lander.max_slope_deg, or give a larger DEM"
        )
    ill = np.asarray(stats["illumination_pct"])
    earth = np.asarray(stats["earth_visible_pct"])
    dark = np.asarray(stats["longest_darkness_h"])
    score = site_score(ill, earth, dark, span_h, weights)
    rows, cols = pick_separated(score, eligible, pixel_m, count, min_separation_m)
    lon, lat = lonlat_grid(dem)
    x = np.asarray(dem["x"])[cols]
    y = np.asarray(dem["y"])[rows]
    both = np.asarray(stats["sun_and_earth_pct"]) if "sun_and_earth_pct" in stats else np.full(ill.shape, np.nan)
    df = pd.DataFrame(
        {
            "rank": np.arange(1, rows.size + 1),
            "x_m": x,
            "y_m": y,
            "lon_deg": lon[rows, cols],
            "lat_deg": lat[rows, cols],
            "elevation_m": np.asarray(dem)[rows, cols],
            "slope_deg": np.asarray(slope_deg)[rows, cols],
            "illumination_pct": ill[rows, cols],
            "earth_visible_pct": earth[rows, cols],
            "sun_and_earth_pct": both[rows, cols],
            "longest_darkness_h": dark[rows, cols],
            "score": score[rows, cols],
            "row": rows,
            "col": cols,
        }
    )
    return df


def sites_geojson(df: pd.DataFrame, crs_name: str = LUNAR_LONLAT_CRS) -> dict:
    """GeoJSON FeatureCollection of the sites (lon/lat on the lunar sphere, with properties).

    Coordinates are planetocentric longitude/latitude in degrees on the
    1737.4 km sphere; the ``crs`` member names it so QGIS does not assume
    WGS84 Earth coordinates (the projected x/y are kept as properties).
    """
    feats = []
    for rec in df.to_dict(orient="records"):
        props = {k: (float(v) if isinstance(v, (np.floating, float)) else int(v) if isinstance(v, (np.integer, int)) else v)
                 for k, v in rec.items() if k not in ("row", "col")}
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(rec["lon_deg"]), float(rec["lat_deg"])]},
                "properties": props,
            }
        )
    return {
        "type": "FeatureCollection",
        "name": "lupex_landing_sites",
        "crs": geojson_crs_member(crs_name),
        "features": feats,
    }
