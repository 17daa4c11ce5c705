"""Geometry of a projected DEM grid on the lunar sphere.

A DEM is an ``xarray.DataArray`` with dims ``("y", "x")``, cell-centre
coordinates in metres of a projected CRS (normally IAU_2015:30135, south polar
stereographic on the 1737.4 km sphere), rows running from high to low ``y``
(north-up raster convention) and square pixels.

*Grid azimuth* is measured clockwise from the grid's +y axis; moving a
distance ``d`` along grid azimuth ``a`` changes (x, y) by
``(d sin a, d cos a)``, i.e. (column, row) by ``(d sin a / p, -d cos a / p)``.
The geographic azimuth of a direction (clockwise from local north) is its grid
azimuth minus the *grid north azimuth* of the cell (the grid azimuth of local
north), which for the south polar stereographic projection centred on 0 deg
longitude equals the cell's longitude. It is computed numerically here so that
any conformal projection works.
"""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor on xarray objects)
from pyproj import CRS, Transformer

from lupex.constants import MOON_RADIUS_M
from lupex.errors import InputError

DEFAULT_CRS = "IAU_2015:30135"
MIN_PIXEL_M = 0.01  # a DEM pixel below 1 cm, or above 100 km, is a broken header, not a lunar DEM
MAX_PIXEL_M = 100_000.0
REPROJECT_HINT = (  # how to bring a DEM in another projection to this grid
    "reproject it to polar stereographic, e.g. `gdalwarp -t_srs IAU_2015:30135 -tr 20 20 in.tif out.tif`"
)


def lunar_geographic_crs(crs: CRS) -> CRS:
    """The geographic CRS (lat/lon on the same body) underlying projected ``crs``."""
    return crs.geodetic_crs


# Vector products (GeoJSON) hold planetocentric lon/lat in degrees on the Moon's 1737.4 km sphere, the
# geographic CRS under IAU_2015:30135, named by the GeoJSON 2008 "crs" member. RFC 7946 dropped that member
# and fixes WGS 84, which is Earth: without it QGIS (through GDAL's GeoJSON driver) places the layer on
# Earth and it does not overlay the rasters. GDAL reads {"type": "name", "properties": {"name":
# "IAU_2015:30100"}} as "Moon (2015) - Sphere / Ocentric" and QGIS reprojects it onto the rasters' polar
# stereographic CRS; lon/lat (not x/y metres) keeps the files readable by any GeoJSON tool.
LUNAR_LONLAT_CRS = "IAU_2015:30100"


def geojson_crs_member(name: str = LUNAR_LONLAT_CRS) -> dict:
    """The GeoJSON 2008 ``crs`` member naming the CRS of a file's coordinates (see LUNAR_LONLAT_CRS)."""
    return {"type": "name", "properties": {"name": name}}


def pixel_size_m(da) -> float:
    """Square pixel size in metres; raises if the grid is irregular or not square."""
    x = np.asarray(da["x"].values, dtype=float)
    y = np.asarray(da["y"].values, dtype=float)
    if x.size < 2 or y.size < 2:
        raise InputError("the DEM must have at least 2 x 2 cells")
    dx = np.diff(x)
    dy = np.diff(y)
    px, py = abs(dx[0]), abs(dy[0])
    if not (np.allclose(dx, dx[0], rtol=1e-6) and np.allclose(dy, dy[0], rtol=1e-6)):
        raise InputError("the DEM's grid is irregular; resample it to a regular grid")
    if abs(px - py) > 1e-6 * max(px, py):
        raise InputError(
            f"the DEM has non-square pixels ({px:g} m x {py:g} m); resample it to square pixels, "
            "e.g. gdalwarp -tr 20 20"
        )
    return float(px)


def cell_of(grid, xy, what: str = "point"):
    """(row, col) of the cell whose centre is nearest to ``xy``, metres in the grid's CRS.

    Parameters
    ----------
    grid : xarray.DataArray or Dataset
        Regular square cells with 1-D cell-centre coordinates ``x`` and ``y`` (m), at least 2 x 2; rows may run
        either way.
    xy : (2,) or (n, 2) array_like
        One point, which gives ``(row, col)`` as two ints, or n points, which give two int64 arrays of n.
    what : str
        What the point is, for the error message ("rover start", "landing site").

    The one rounding rule: ``col = rint((x - x[0]) / (x[1] - x[0]))`` and ``row`` likewise from ``y``, numpy's
    round half to even (as Python's ``round``), so a point exactly on the boundary between two cells goes to
    the even-numbered one. A point is outside when its rounded index falls off the grid (beyond the outer
    cells' half pixel); that, a point that is not finite, and an irregular or non-square grid raise
    :class:`InputError`.
    """
    pts = np.asarray(xy, dtype=float)
    one = pts.shape == (2,)
    if not (one or (pts.ndim == 2 and pts.shape[1] == 2)):
        raise InputError(f"the {what} must be an (x, y) pair or an (n, 2) array of them, got shape {pts.shape}")
    pts = pts.reshape(-1, 2)
    if not np.all(np.isfinite(pts)):
        raise InputError(f"the {what} position must be finite metres in the DEM's CRS, got {xy}")
    p = pixel_size_m(grid)
    x = np.asarray(grid["x"].values, dtype=float)
    y = np.asarray(grid["y"].values, dtype=float)
    col = np.rint((pts[:, 0] - x[0]) / (x[1] - x[0])).astype(np.int64)
    row = np.rint((pts[:, 1] - y[0]) / (y[1] - y[0])).astype(np.int64)
    outside = (col < 0) | (col >= x.size) | (row < 0) | (row >= y.size)
    if outside.any():
        i = int(np.argmax(outside))
        raise InputError(
            f"the {what} ({pts[i, 0]:.1f}, {pts[i, 1]:.1f}) m is outside the DEM (x {x.min() - p / 2:.1f}.."
            f"{x.max() + p / 2:.1f}, y {y.min() - p / 2:.1f}..{y.max() + p / 2:.1f} m); pick a point inside it"
        )
    if one:
        return int(row[0]), int(col[0])
    return row, col


def dem_crs(da) -> CRS:
    """The DEM's CRS (pyproj), defaulting to IAU_2015:30135 when none is attached."""
    crs = None
    try:
        crs = da.rio.crs
    except Exception:  # rioxarray not registered / no crs
        crs = None
    if crs is None:
        wkt = da.attrs.get("crs_wkt")
        return CRS.from_user_input(wkt) if wkt else CRS.from_user_input(DEFAULT_CRS)
    return CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)


def lonlat_grid(da) -> tuple[np.ndarray, np.ndarray]:
    """Planetocentric longitude and latitude (degrees) of every cell centre, each (ny, nx)."""
    crs = dem_crs(da)
    tr = Transformer.from_crs(crs, lunar_geographic_crs(crs), always_xy=True)
    xx, yy = np.meshgrid(np.asarray(da["x"].values, float), np.asarray(da["y"].values, float))
    lon, lat = tr.transform(xx, yy)
    return np.asarray(lon, float), np.asarray(lat, float)


def lonlat_from_xy(da_or_crs, x_m, y_m) -> tuple[np.ndarray, np.ndarray]:
    """Planetocentric longitude and latitude (degrees) of projected (x, y) in metres.

    The inverse of :func:`xy_from_lonlat`.
    """
    crs = da_or_crs if isinstance(da_or_crs, CRS) else dem_crs(da_or_crs)
    tr = Transformer.from_crs(crs, lunar_geographic_crs(crs), always_xy=True)
    lon, lat = tr.transform(np.asarray(x_m, float), np.asarray(y_m, float))
    return np.asarray(lon, float), np.asarray(lat, float)


def xy_from_lonlat(da_or_crs, lon_deg, lat_deg) -> tuple[np.ndarray, np.ndarray]:
    """Projected (x, y) in metres of planetocentric lon/lat in the DEM's CRS."""
    crs = da_or_crs if isinstance(da_or_crs, CRS) else dem_crs(da_or_crs)
    tr = Transformer.from_crs(lunar_geographic_crs(crs), crs, always_xy=True)
    x, y = tr.transform(np.asarray(lon_deg, float), np.asarray(lat_deg, float))
    return np.asarray(x, float), np.asarray(y, float)


def grid_north_azimuth_deg(da) -> np.ndarray:
    """Grid azimuth (deg, clockwise from +y) of local geographic north at every cell.

    Computed by projecting a point 1 m north of each cell centre (finite
    difference along the meridian); exact to ~1e-6 deg for a conformal grid.
    Undefined at a pole itself, where 0 is returned.
    """
    crs = dem_crs(da)
    lon, lat = lonlat_grid(da)
    tr = Transformer.from_crs(lunar_geographic_crs(crs), crs, always_xy=True)
    r = crs.ellipsoid.semi_major_metre if crs.ellipsoid else MOON_RADIUS_M
    dlat = np.degrees(1.0 / r)
    sign = np.where(lat + dlat > 90.0, -1.0, 1.0)
    x0, y0 = tr.transform(lon, lat)
    x1, y1 = tr.transform(lon, lat + sign * dlat)
    dx, dy = (np.asarray(x1) - x0) * sign, (np.asarray(y1) - y0) * sign
    az = np.degrees(np.arctan2(dx, dy)) % 360.0
    az[np.abs(lat) > 90.0 - 1e-9] = 0.0
    return az
