"""Read and write lunar DEMs: GeoTIFF and LOLA PDS3 polar stereographic products.

Every reader returns the same thing, the *DEM contract* the rest of lupex
relies on: a float64 ``xarray.DataArray`` named ``"elevation"`` with dims
``("y", "x")``, 1-D coordinates ``x`` and ``y`` holding cell-centre metres of a
projected CRS, ``y`` decreasing down the rows (north-up), square pixels, the CRS
attached with ``rio.write_crs``, and ``attrs`` ``units="m"``, ``long_name``,
``source`` (the file path, or ``"synthetic"``) and ``n_filled`` (the number of
no-data cells that were filled). A boolean coordinate ``filled`` (dims
``("y", "x")``) marks the filled cells; :func:`filled_mask` returns it.

PDS3 products (``LDEM_*`` / ``LDEM_*_*M``) are read from the raw ``.IMG`` with
the label parsed here (detached ``.LBL`` or attached). Conventions, from the
LOLA archive (DSMAP_POLAR.CAT of LRO-L-LOLA-4-GDR-V1.0, Neumann 2011, LOLA RDR
and derived products SIS) and the PDS3 Standards Reference (ch. 12, ODL):

* pixel (line ``l``, sample ``s``), both 1-based, has its centre at
  ``x = (s - SAMPLE_PROJECTION_OFFSET - 1) * MAP_SCALE`` and
  ``y = (1 - l + LINE_PROJECTION_OFFSET) * MAP_SCALE``; with the LOLA offsets
  ``N/2 - 0.5`` this is DSMAP_POLAR's ``X = (I - N/2 - 0.5) * MAP_SCALE`` with
  its image-down ``Y`` turned north-up. In the south, longitude 0 points up
  (+y) and 90 E to the right (+x), as in IAU_2015:30135.
* ``MAP_SCALE`` carries its unit (``<METERS/PIXEL>`` for LOLA); without one it
  is km/pixel (PDS data dictionary). Radii without a unit are km.
* the physical value is ``DN * SCALING_FACTOR + OFFSET`` in ``UNIT``
  (``METER`` or ``KILOMETER``; LOLA integer products are metres, float products
  kilometres, which is assumed when ``UNIT`` is absent). LOLA puts the
  reference radius in ``OFFSET`` (1737400 m or 1737.4 km: "map values are
  relative to a radius of 1737.4 km"), so when ``OFFSET`` is a radius (within
  100 km of ``A_AXIS_RADIUS``) it is subtracted back out and the returned
  elevation is the height above that sphere. Raw DNs equal to
  ``MISSING_CONSTANT`` are no-data.
* the CRS is a polar stereographic projection, true scale at the pole, on the
  sphere of radius ``A_AXIS_RADIUS`` centred at ``CENTER_LONGITUDE``; for
  1737.4 km and longitude 0 it is returned as IAU_2015:30135 (south) or
  IAU_2015:30130 (north).

No-data holes are filled by minimum-curvature interpolation (Briggs 1974,
Geophysics 39:39): the hole cells take the values that minimise the sum of the
squared discrete Laplacians of every cell whose stencil touches a hole, with
the valid cells around the hole held fixed. Its Euler-Lagrange equation is the
biharmonic equation, so planes and paraboloids are reproduced exactly and the
fill joins the surrounding slope smoothly. Filling only interpolates: when any
hole cell lies more than ``max_hole_radius_px`` pixels from valid data, or more
than ``max_nodata_fraction`` of the DEM is no-data, the reader refuses (an
:class:`~lupex.errors.InputError`) rather than invent terrain.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from pyproj import CRS

from lupex.constants import MOON_RADIUS_M
from lupex.errors import InputError
from lupex.io import atomic_path
from lupex.terrain.geo import DEFAULT_CRS, dem_crs, pixel_size_m

__all__ = [
    "canonical_crs",
    "dem_from_array",
    "fill_nodata",
    "filled_mask",
    "parse_pds3_label",
    "read_dem",
    "write_geotiff",
]

DEFAULT_MAX_HOLE_RADIUS_PX = 25.0
DEFAULT_MAX_NODATA_FRACTION = 0.5

MIN_PIXEL_M = 0.01  # a DEM pixel below 1 cm, or above 100 km, is a broken header, not a lunar DEM
MAX_PIXEL_M = 100_000.0
BYTES_PER_CELL = 40
"""Peak bytes per DEM cell while reading and filling a DEM (the float64 heights, the raw values, masks, the
filled copy, coordinates); a run needs more (see :func:`lupex.mission.run`'s estimate)."""

_REPROJECT_HINT = (
    "reproject it to polar stereographic, e.g. `gdalwarp -t_srs IAU_2015:30135 -tr 20 20 in.tif out.tif`"
)


# --------------------------------------------------------------------------- contract


def dem_from_array(
    z,
    x,
    y,
    *,
    crs=DEFAULT_CRS,
    source: str = "synthetic",
    long_name: str = "elevation above the 1737.4 km sphere",
    filled=None,
) -> xr.DataArray:
    """Wrap a 2-D elevation array (metres) and its cell-centre coordinates as a DEM.

    ``y`` must decrease down the rows (north-up); pixels must be square. The
    result follows the module's DEM contract.
    """
    z = np.asarray(z, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if z.ndim != 2 or z.shape != (y.size, x.size):
        raise InputError(f"elevation array of shape {z.shape} does not match {y.size} y by {x.size} x coordinates")
    if y.size > 1 and not (np.diff(y) < 0).all():
        raise InputError("y coordinates must decrease down the rows (north-up); flip the array")
    if x.size > 1 and not (np.diff(x) > 0).all():
        raise InputError("x coordinates must increase along the columns; flip the array")
    mask = np.zeros(z.shape, bool) if filled is None else np.asarray(filled, bool)
    da = xr.DataArray(
        z,
        dims=("y", "x"),
        coords={"y": y, "x": x, "filled": (("y", "x"), mask)},
        name="elevation",
        attrs={"units": "m", "long_name": long_name, "source": str(source), "n_filled": int(mask.sum())},
    )
    pixel_size_m(da)  # raises on non-square or irregular pixels
    da = da.rio.write_crs(_crs_input(crs))
    return da


def filled_mask(da: xr.DataArray) -> xr.DataArray:
    """Boolean DataArray, True where :func:`read_dem` filled a no-data cell."""
    if "filled" in da.coords:
        m = da.coords["filled"]
        return xr.DataArray(np.asarray(m.values, bool), dims=("y", "x"), coords={"y": da["y"], "x": da["x"]}, name="filled")
    return xr.DataArray(np.zeros(da.shape, bool), dims=("y", "x"), coords={"y": da["y"], "x": da["x"]}, name="filled")


def _crs_input(crs):
    """Something ``rio.write_crs`` accepts, keeping IAU codes as codes."""
    if isinstance(crs, str):
        return crs
    c = CRS.from_user_input(crs)
    auth = c.to_authority()
    return ":".join(auth) if auth else c.to_wkt()


def canonical_crs(crs) -> str | CRS:
    """``"IAU_2015:30135"`` (or ``30130``) when ``crs`` is that projection, else ``crs`` as a pyproj CRS.

    GeoTIFF and rasterio keep the Moon's polar stereographic CRS as WKT1
    without its IAU code (``lat_ts=-90`` instead of ``k=1``); this recognises
    it by its parameters, so ``canonical_crs(geo.dem_crs(da)) ==
    "IAU_2015:30135"`` is the way to test a DEM's CRS.
    """
    if not isinstance(crs, CRS):
        crs = CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    auth = crs.to_authority()
    if auth:
        return ":".join(auth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = crs.to_dict()
    radius = d.get("R", d.get("a"))
    if (
        d.get("proj") == "stere"
        and abs(abs(float(d.get("lat_0", 0.0))) - 90.0) < 1e-9
        and float(d.get("lon_0", 0.0)) == 0.0
        and float(d.get("x_0", 0.0)) == 0.0
        and float(d.get("y_0", 0.0)) == 0.0
        and float(d.get("k", d.get("k_0", 1.0))) == 1.0
        and abs(abs(float(d.get("lat_ts", d["lat_0"]))) - 90.0) < 1e-9
        and radius is not None
        and abs(float(radius) - MOON_RADIUS_M) < 1e-3
        and float(d.get("b", radius)) == float(radius)
        and d.get("units", "m") == "m"
    ):
        return "IAU_2015:30135" if float(d["lat_0"]) < 0 else "IAU_2015:30130"
    return crs


# --------------------------------------------------------------------------- filling


def fill_nodata(
    z: np.ndarray,
    *,
    max_hole_radius_px: float = DEFAULT_MAX_HOLE_RADIUS_PX,
    max_nodata_fraction: float = DEFAULT_MAX_NODATA_FRACTION,
    pixel_m: float | None = None,
    name: str = "the DEM",
) -> tuple[np.ndarray, np.ndarray]:
    """Fill non-finite cells of ``z`` by minimum-curvature interpolation.

    Returns ``(filled_z, mask)`` with ``mask`` True at the cells that were
    filled. Raises :class:`InputError` when ``z`` has no valid cell, when more
    than ``max_nodata_fraction`` of it is no-data, or when a hole cell lies
    more than ``max_hole_radius_px`` pixels from the nearest valid cell (a
    64 x 64 fully no-data block reaches 32 px).
    """
    from scipy import ndimage, sparse
    from scipy.sparse.linalg import lsqr, spsolve

    z = np.array(z, dtype=np.float64)
    hole = ~np.isfinite(z)
    n_hole = int(hole.sum())
    if n_hole == 0:
        return z, hole
    if n_hole == z.size:
        raise InputError(f"{name} holds no valid elevation (every cell is no-data); check the file or its no-data value")
    frac = n_hole / z.size
    if frac > max_nodata_fraction:
        raise InputError(
            f"{name} is {100 * frac:.1f}% no-data, more than the {100 * max_nodata_fraction:.0f}% "
            "(max_nodata_fraction) lupex will fill; crop it to the covered area or pass a larger "
            "max_nodata_fraction"
        )
    dist = ndimage.distance_transform_edt(hole)
    worst = float(dist.max())
    if worst > max_hole_radius_px:
        i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
        where = f"row {i}, column {j}"
        size = f"{worst:.0f} px" + (f" ({worst * pixel_m:.0f} m)" if pixel_m else "")
        raise InputError(
            f"{name} has a no-data hole around {where} whose centre is {size} from the nearest valid "
            f"elevation, more than max_hole_radius_px={max_hole_radius_px:g}; filling it would invent "
            "terrain. Crop the DEM to the covered area, fill the gap from another product, or pass a "
            "larger max_hole_radius_px"
        )

    ny, nx = z.shape
    idx = -np.ones(z.shape, dtype=np.int64)
    idx[hole] = np.arange(n_hole)
    # equation centres: every cell whose 5-point stencil touches a hole cell
    touch = ndimage.binary_dilation(hole, structure=ndimage.generate_binary_structure(2, 1))
    ci, cj = np.nonzero(touch)
    rows, cols, vals = [], [], []
    rhs = np.zeros(ci.size)
    has_x = (cj > 0) & (cj < nx - 1)
    has_y = (ci > 0) & (ci < ny - 1)
    eq = np.arange(ci.size)
    shift = float(np.mean(z[~hole]))  # solve for deviations: better conditioned sums
    zk = np.where(hole, 0.0, z - shift)  # known values; holes contribute through the matrix

    def add(sel, di, dj, w):
        ii, jj, ee = ci[sel] + di, cj[sel] + dj, eq[sel]
        unk = idx[ii, jj]
        u = unk >= 0
        rows.append(ee[u])
        cols.append(unk[u])
        vals.append(np.full(int(u.sum()), w))
        np.subtract.at(rhs, ee[~u], w * zk[ii[~u], jj[~u]])

    for sel, (d1, d2) in ((has_x, ((0, -1), (0, 1))), (has_y, ((-1, 0), (1, 0)))):
        add(sel, d1[0], d1[1], 1.0)
        add(sel, d2[0], d2[1], 1.0)
        add(sel, 0, 0, -2.0)
    a = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(ci.size, n_hole)
    )
    ata = (a.T @ a).tocsc()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a singular system falls back to lsqr below
        sol = spsolve(ata, a.T @ rhs)
    if not np.all(np.isfinite(sol)):
        sol = lsqr(a, rhs, atol=1e-12, btol=1e-12)[0]
    if not np.all(np.isfinite(sol)):
        raise InputError(f"{name}: the no-data holes could not be filled; crop the DEM to the covered area")
    z[hole] = sol + shift
    return z, hole


def _finish(z, x, y, crs, source, long_name, *, fill_holes, max_hole_radius_px, max_nodata_fraction, name):
    p = abs(float(x[1] - x[0])) if x.size > 1 else None
    if fill_holes:
        z, mask = fill_nodata(
            z, max_hole_radius_px=max_hole_radius_px, max_nodata_fraction=max_nodata_fraction, pixel_m=p, name=name
        )
    else:
        if not np.isfinite(z).any():
            raise InputError(f"{name} holds no valid elevation (every cell is no-data)")
        mask = np.zeros(z.shape, bool)
    return dem_from_array(z, x, y, crs=crs, source=source, long_name=long_name, filled=mask)


# --------------------------------------------------------------------------- reading


def read_dem(
    path: str | os.PathLike,
    *,
    fill_holes: bool = True,
    max_hole_radius_px: float = DEFAULT_MAX_HOLE_RADIUS_PX,
    max_nodata_fraction: float = DEFAULT_MAX_NODATA_FRACTION,
    bounds_m: tuple[float, float, float, float] | None = None,
) -> xr.DataArray:
    """Read a DEM (GeoTIFF in a projected CRS, or a PDS3 ``.IMG``/``.LBL``) as a DEM DataArray.

    ``bounds_m = (xmin, ymin, xmax, ymax)`` reads only the cells whose centres
    fall inside that box (real LOLA polar products are gigabytes). No-data
    cells are filled when ``fill_holes`` (see the module docstring for the
    method and the refusal rules set by ``max_hole_radius_px`` and
    ``max_nodata_fraction``); otherwise they stay NaN.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"DEM file {path} does not exist; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a directory; give the DEM file itself (.tif, .IMG or .LBL)")
    kw = dict(fill_holes=fill_holes, max_hole_radius_px=max_hole_radius_px, max_nodata_fraction=max_nodata_fraction)
    if _is_pds3(path):
        return _read_pds3(path, bounds_m=bounds_m, **kw)
    return _read_gdal(path, bounds_m=bounds_m, **kw)


def _is_pds3(path: Path) -> bool:
    if path.suffix.lower() in (".lbl", ".img"):
        return True
    with open(path, "rb") as f:
        head = f.read(64)
    return head.lstrip().startswith((b"PDS_VERSION_ID", b"CCSD"))


def _read_gdal(path: Path, *, bounds_m, fill_holes, max_hole_radius_px, max_nodata_fraction) -> xr.DataArray:
    import rasterio

    try:
        da = rioxarray.open_rasterio(path, masked=True)
    except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError, OSError, ValueError) as exc:
        raise InputError(
            f"cannot read {path} as a raster ({exc}); the file is corrupt or not a GeoTIFF/PDS product"
        ) from exc
    if isinstance(da, list) or isinstance(da, xr.Dataset):
        raise InputError(f"{path} holds several sub-datasets; extract the elevation band with gdal_translate")
    crs = da.rio.crs
    if crs is None:
        raise InputError(f"{path} has no CRS; assign one, e.g. `gdal_edit.py -a_srs IAU_2015:30135 {path.name}`")
    pcrs = CRS.from_wkt(crs.to_wkt())
    if pcrs.is_geographic or not pcrs.is_projected:
        raise InputError(
            f"{path} is on a geographic (lat/lon) grid ({pcrs.name}); near the pole a lat/lon grid is "
            f"degenerate; {_REPROJECT_HINT}"
        )
    unit = pcrs.axis_info[0].unit_name if pcrs.axis_info else "metre"
    if unit not in ("metre", "meter", "m"):
        raise InputError(f"{path} has projected coordinates in {unit}; {_REPROJECT_HINT}")
    tr = da.rio.transform()
    if abs(tr.b) > 1e-12 * abs(tr.a) or abs(tr.d) > 1e-12 * abs(tr.e):
        raise InputError(f"{path} has a rotated geotransform; {_REPROJECT_HINT}")
    _check_pixel(abs(tr.a), abs(tr.e), path)
    if "band" in da.dims:
        if da.sizes["band"] > 1:
            raise InputError(f"{path} has {da.sizes['band']} bands; lupex reads the heights from a single band: "
                             f"extract it, e.g. `gdal_translate -b 1 {path.name} heights.tif`")
        da = da.isel(band=0, drop=True)
    if bounds_m is not None:
        xmin, ymin, xmax, ymax = bounds_m
        xs, ys = da["x"].values, da["y"].values
        ix = np.nonzero((xs >= xmin) & (xs <= xmax))[0]
        iy = np.nonzero((ys >= ymin) & (ys <= ymax))[0]
        if ix.size < 2 or iy.size < 2:
            raise InputError(f"bounds_m={bounds_m} covers fewer than 2 x 2 cells of {path}; widen the box")
        da = da.isel(x=slice(ix[0], ix[-1] + 1), y=slice(iy[0], iy[-1] + 1))
    if da.sizes["x"] < 2 or da.sizes["y"] < 2:
        raise InputError(f"{path} is {da.sizes['x']} x {da.sizes['y']} cells; a DEM needs at least 2 x 2")
    check_fits(da.sizes["y"], da.sizes["x"], str(path))
    try:
        z = np.asarray(da.values, dtype=np.float64)
    except Exception as exc:  # GDAL read error inside a corrupt file
        raise InputError(f"cannot read the pixels of {path} ({exc}); the file is corrupt") from exc
    x = np.asarray(da["x"].values, float)
    y = np.asarray(da["y"].values, float)
    if y.size > 1 and y[1] > y[0]:
        y, z = y[::-1], z[::-1]
    if x.size > 1 and x[1] < x[0]:
        x, z = x[::-1], z[:, ::-1]
    probe = xr.DataArray(z, dims=("y", "x"), coords={"y": y, "x": x})
    pixel_size_m(probe)  # non-square / irregular pixels -> InputError
    return _finish(
        z, x, y, canonical_crs(pcrs), str(path), "elevation",
        fill_holes=fill_holes, max_hole_radius_px=max_hole_radius_px,
        max_nodata_fraction=max_nodata_fraction, name=str(path),
    )


def _check_pixel(px: float, py: float, path) -> None:
    for p in (px, py):
        if not (math.isfinite(p) and MIN_PIXEL_M <= p <= MAX_PIXEL_M):
            raise InputError(f"{path} has a pixel of {p:g} m, outside {MIN_PIXEL_M:g} to {MAX_PIXEL_M:g} m; its "
                             f"georeferencing is broken: fix it, e.g. `gdal_edit.py -tr 20 20 {Path(path).name}`")


def available_memory_bytes() -> int:
    """Memory this process may still use: MemAvailable of /proc/meminfo (Linux), else the physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 1 << 62


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_fits(ny: int, nx: int, name: str, bytes_per_cell: float = BYTES_PER_CELL, what: str = "reading it",
               hint: str = "crop it to the area you need (e.g. `gdal_translate -srcwin XOFF YOFF XSIZE YSIZE`, or "
                           "read_dem(bounds_m=...)), or use a coarser product") -> None:
    """InputError, with the numbers, when ``ny x nx`` cells at ``bytes_per_cell`` exceed 80% of the available
    memory (``hint`` says what to do)."""
    need, have = float(ny) * float(nx) * bytes_per_cell, available_memory_bytes()
    if need > 0.8 * have:
        raise InputError(f"{name} is {nx} x {ny} cells; {what} needs about {_gib(need)} of memory and "
                         f"{_gib(have)} is available; {hint}")


# --------------------------------------------------------------------------- header and summary


def dem_header(path: str | os.PathLike) -> dict:
    """The size, pixel and CRS of a DEM file from its header alone (no pixel is read).

    Returns ``{"ny", "nx", "pixel_m", "x0_m", "y0_m", "crs"}`` with (x0, y0) the centre of the top-left
    cell; the same checks as :func:`read_dem` on the header (InputError naming what to fix).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"DEM file {path} does not exist; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a directory; give the DEM file itself (.tif, .IMG or .LBL)")
    if _is_pds3(path):
        h = _pds3_header(path)
        crs = _polar_crs(h["clat"], h["clon"], h["radius_m"])
        return {"ny": h["lines"], "nx": h["samples"], "pixel_m": h["scale_m"], "x0_m": -h["s0"] * h["scale_m"],
                "y0_m": h["l0"] * h["scale_m"], "crs": CRS.from_user_input(crs), "kind": "PDS3", "pds3": h}
    import rasterio

    try:
        src = rasterio.open(path)
    except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError, OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as a raster ({exc}); the file is corrupt or not a GeoTIFF/PDS product") from exc
    with src:
        if src.crs is None:
            raise InputError(f"{path} has no CRS; assign one, e.g. `gdal_edit.py -a_srs IAU_2015:30135 {path.name}`")
        pcrs = CRS.from_wkt(src.crs.to_wkt())
        if pcrs.is_geographic or not pcrs.is_projected:
            raise InputError(f"{path} is on a geographic (lat/lon) grid ({pcrs.name}); near the pole a lat/lon grid "
                             f"is degenerate; {_REPROJECT_HINT}")
        tr = src.transform
        if abs(tr.b) > 1e-12 * abs(tr.a) or abs(tr.d) > 1e-12 * abs(tr.e):
            raise InputError(f"{path} has a rotated geotransform; {_REPROJECT_HINT}")
        _check_pixel(abs(tr.a), abs(tr.e), path)
        if src.count > 1:
            raise InputError(f"{path} has {src.count} bands; lupex reads the heights from a single band: extract it, "
                             f"e.g. `gdal_translate -b 1 {path.name} heights.tif`")
        if src.width < 2 or src.height < 2:
            raise InputError(f"{path} is {src.width} x {src.height} cells; a DEM needs at least 2 x 2")
        return {"ny": src.height, "nx": src.width, "pixel_m": abs(tr.a), "x0_m": tr.c + tr.a / 2,
                "y0_m": tr.f + tr.e / 2, "crs": pcrs, "kind": src.driver, "nodata": src.nodata}


def describe_dem(path: str | os.PathLike, rows_per_window: int = 512) -> dict:
    """Size, pixel, CRS, latitude range, height range and no-data count of a DEM, reading it in row windows.

    Memory stays at ``rows_per_window`` rows whatever the file's size (``lupex dem info`` on a 30400 x 30400
    LOLA product); heights are those :func:`read_dem` would return before filling holes.
    """
    from lupex.terrain.geo import lunar_geographic_crs
    from pyproj import Transformer

    path = Path(path)
    h = dem_header(path)
    ny, nx = h["ny"], h["nx"]
    zmin, zmax, n_bad = math.inf, -math.inf, 0
    for r0 in range(0, ny, rows_per_window):
        r1 = min(ny, r0 + rows_per_window)
        z = _window(path, h, r0, r1)
        bad = ~np.isfinite(z)
        n_bad += int(bad.sum())
        if not bad.all():
            zmin, zmax = min(zmin, float(np.nanmin(z))), max(zmax, float(np.nanmax(z)))
    if n_bad == ny * nx:
        raise InputError(f"{path} holds no valid elevation (every cell is no-data); check the file or its no-data value")
    # latitude range: every cell centre on a thinned grid, plus the cell nearest the pole
    p = h["pixel_m"]
    xs = h["x0_m"] + p * np.unique(np.linspace(0, nx - 1, min(nx, 513)).round())
    ys = h["y0_m"] - p * np.unique(np.linspace(0, ny - 1, min(ny, 513)).round())
    xs = np.append(xs, h["x0_m"] + p * np.clip(round(-h["x0_m"] / p), 0, nx - 1))
    ys = np.append(ys, h["y0_m"] - p * np.clip(round(h["y0_m"] / p), 0, ny - 1))
    tr = Transformer.from_crs(h["crs"], lunar_geographic_crs(h["crs"]), always_xy=True)
    _, lat = tr.transform(*np.meshgrid(xs, ys))
    return {"ny": ny, "nx": nx, "pixel_m": p, "crs": h["crs"], "lat_min_deg": float(np.min(lat)),
            "lat_max_deg": float(np.max(lat)), "z_min_m": zmin, "z_max_m": zmax, "n_nodata": n_bad}


def _window(path: Path, h: dict, r0: int, r1: int) -> np.ndarray:
    """Heights (m, NaN = no-data) of rows ``r0:r1`` of the DEM described by header ``h``."""
    if h["kind"] == "PDS3":
        q = h["pds3"]
        dtype = q["dtype"]
        mm = np.memmap(q["data_path"], dtype=np.uint8, mode="r", offset=q["start"], shape=(q["lines"], q["row_bytes"]))
        raw = np.ascontiguousarray(mm[r0:r1, q["prefix"]: q["prefix"] + q["samples"] * dtype.itemsize])
        del mm
        dn = raw.view(dtype).reshape(r1 - r0, q["samples"])
        bad = ~np.isfinite(dn) if dtype.kind == "f" else np.zeros(dn.shape, bool)
        if "MISSING_CONSTANT" in q["img"]:
            miss = _missing(q["img"]["MISSING_CONSTANT"], dtype)
            if miss is not None:
                bad |= dn == miss
        unit_s = str(q["img"].get("UNIT", "METER" if dtype.kind in "iu" else "KILOMETER")).upper().strip('"')
        unit = _length_m(f"1 <{unit_s}>", "M", "UNIT", q["label_path"])
        off_m = q["offset"] * unit
        as_radius = abs(off_m - q["radius_m"]) < 100_000.0
        z = dn.astype(np.float64) * (q["scale_f"] * unit) + (off_m - q["radius_m"] if as_radius else off_m)
        z[bad] = np.nan
        return z
    import rasterio
    from rasterio.windows import Window

    try:
        with rasterio.open(path) as src:
            z = src.read(1, window=Window(0, r0, h["nx"], r1 - r0), masked=True)
    except (rasterio.errors.RasterioError, OSError, ValueError) as exc:
        raise InputError(f"cannot read rows {r0} to {r1} of {path} ({exc}); the file is truncated or corrupt") from exc
    return np.ma.filled(z.astype(np.float64), np.nan)


# --------------------------------------------------------------------------- PDS3


_ODL_STATEMENT = re.compile(r"\s*(\^?[A-Za-z][A-Za-z0-9_:]*)\s*=\s*")


def parse_pds3_label(text: str) -> dict:
    """Parse a PDS3 ODL label into nested dicts.

    ``OBJECT``/``GROUP`` blocks become nested dicts under their name (a repeated
    name gets ``_2``, ``_3`` ...). Values stay strings with quotes removed;
    units in ``<...>`` are kept in the string (see :func:`_num`).
    """
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    root: dict = {}
    stack = [root]
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        if re.match(r"END\s*$", text[pos:pos + 4]) or text[pos:].strip() == "END":
            break
        m = _ODL_STATEMENT.match(text, pos)
        if not m:
            # a line we do not understand (e.g. stray text): skip it
            nl = text.find("\n", pos)
            pos = n if nl < 0 else nl + 1
            continue
        key = m.group(1).upper()
        pos = m.end()
        value, pos = _odl_value(text, pos)
        if key in ("OBJECT", "GROUP"):
            child: dict = {}
            name = value.upper()
            k, i = name, 2
            while k in stack[-1]:
                k, i = f"{name}_{i}", i + 1
            stack[-1][k] = child
            stack.append(child)
        elif key in ("END_OBJECT", "END_GROUP"):
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1][key] = value
    return root


def _odl_value(text: str, pos: int) -> tuple[str, int]:
    n = len(text)
    if pos < n and text[pos] == '"':
        end = text.find('"', pos + 1)
        end = n if end < 0 else end
        val = " ".join(text[pos + 1:end].split())
        pos = end + 1
        # trailing unit or rest of line
        nl = text.find("\n", pos)
        return val, (n if nl < 0 else nl + 1)
    if pos < n and text[pos] in "({":
        depth, i, inq = 0, pos, False
        while i < n:
            c = text[i]
            if c == '"':
                inq = not inq
            elif not inq and c in "({":
                depth += 1
            elif not inq and c in ")}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        val = " ".join(text[pos:i + 1].split())
        nl = text.find("\n", i)
        return val, (n if nl < 0 else nl + 1)
    nl = text.find("\n", pos)
    end = n if nl < 0 else nl
    val = text[pos:end].strip().strip("'")
    return val, end + 1


def _num(value, default_unit: str | None = None) -> tuple[float, str | None]:
    """``"20 <METERS/PIXEL>"`` -> ``(20.0, "METERS/PIXEL")``."""
    if value is None:
        raise KeyError
    m = re.match(r"\s*([-+0-9.eEdD]+)\s*(?:<\s*([^>]*)\s*>)?", str(value))
    if not m:
        raise ValueError(value)
    unit = m.group(2).strip().upper() if m.group(2) else default_unit
    return float(m.group(1).replace("D", "E").replace("d", "e")), unit


def _length_m(value, default_unit: str, what: str, label: Path) -> float:
    v, unit = _num(value, default_unit)
    unit = (unit or default_unit).upper().replace(" ", "")
    base = unit.split("/")[0]
    if base in ("KM", "KILOMETER", "KILOMETERS", "KILOMETRE", "KILOMETRES"):
        return v * 1000.0
    if base in ("M", "METER", "METERS", "METRE", "METRES"):
        return v
    raise InputError(f"{label}: {what} has unit <{unit}>, expected kilometres or metres; fix the label")


def _find_label(path: Path) -> tuple[Path, str, bool]:
    """(label path, label text, attached?)"""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.lstrip().startswith((b"PDS_VERSION_ID", b"CCSD")):
        buf = bytearray(head)
        with open(path, "rb") as f:
            f.seek(len(head))
            while not re.search(rb"(?m)^\s*END\s*$", bytes(buf)) and len(buf) < 4_000_000:
                chunk = f.read(65536)
                if not chunk:
                    break
                buf += chunk
        m = re.search(rb"(?m)^\s*END\s*$", bytes(buf))
        text = bytes(buf[: m.end()] if m else buf).decode("latin-1")
        return path, text, path.suffix.lower() != ".lbl"
    if path.suffix.lower() == ".lbl":
        raise InputError(f"{path} is not a PDS3 label (no PDS_VERSION_ID); check the file")
    for cand in _siblings(path, (".LBL", ".lbl", ".Lbl")):
        with open(cand, "rb") as f:
            return cand, f.read(4_000_000).decode("latin-1"), False
    raise InputError(
        f"{path} has no attached PDS3 label and no {path.stem}.LBL beside it; put the label next to the image"
    )


def _siblings(path: Path, suffixes) -> list[Path]:
    out = [path.with_suffix(s) for s in suffixes if path.with_suffix(s).exists()]
    if not out:
        low = {p.name.lower(): p for p in path.parent.iterdir()} if path.parent.exists() else {}
        for s in suffixes:
            p = low.get((path.stem + s).lower())
            if p is not None:
                out.append(p)
    return out


def _resolve(label_path: Path, name: str) -> Path:
    p = label_path.parent / name
    if p.exists():
        return p
    low = {q.name.lower(): q for q in label_path.parent.iterdir()}
    if name.lower() in low:
        return low[name.lower()]
    raise InputError(f"the label {label_path} points at {name}, which is not beside it; put the image next to the label")


_SAMPLE_TYPES = {
    "LSB_INTEGER": "<i", "PC_INTEGER": "<i", "VAX_INTEGER": "<i",
    "MSB_INTEGER": ">i", "SUN_INTEGER": ">i", "MAC_INTEGER": ">i", "INTEGER": ">i",
    "LSB_UNSIGNED_INTEGER": "<u", "PC_UNSIGNED_INTEGER": "<u", "VAX_UNSIGNED_INTEGER": "<u",
    "MSB_UNSIGNED_INTEGER": ">u", "SUN_UNSIGNED_INTEGER": ">u", "MAC_UNSIGNED_INTEGER": ">u",
    "UNSIGNED_INTEGER": ">u",
    "PC_REAL": "<f", "LSB_IEEE_REAL": "<f", "IEEE_REAL": ">f", "MSB_IEEE_REAL": ">f",
    "SUN_REAL": ">f", "MAC_REAL": ">f", "REAL": ">f",
}


def _pds3_header(path: Path) -> dict:
    """Everything :func:`_read_pds3` needs from a PDS3 label, each field checked (InputError naming it)."""
    label_path, text, attached = _find_label(path)
    try:
        lab = parse_pds3_label(text)
    except Exception as exc:  # pragma: no cover - the parser is lenient
        raise InputError(f"cannot parse the PDS3 label {label_path} ({exc})") from exc
    img = lab.get("IMAGE")
    if not isinstance(img, dict):
        raise InputError(f"{label_path} has no IMAGE object; lupex reads PDS3 image (LDEM) products only")
    proj = lab.get("IMAGE_MAP_PROJECTION") or img.get("IMAGE_MAP_PROJECTION")
    if not isinstance(proj, dict):
        raise InputError(f"{label_path} has no IMAGE_MAP_PROJECTION group; it is not a map-projected DEM")

    def need(d, key, what=None):
        if key not in d:
            raise InputError(f"{label_path}: required keyword {key} is missing from the label{what or ''}")
        return d[key]

    def num(d, key, default=None, *, integer=False, lo=-math.inf, hi=math.inf) -> float:
        """Keyword ``key`` of ``d`` as a finite number in [lo, hi]; InputError naming it otherwise."""
        raw = need(d, key) if default is None else d.get(key, default)
        try:
            v = _num(raw)[0]
        except (ValueError, KeyError):
            v = math.nan
        if not (math.isfinite(v) and lo <= v <= hi) or (integer and not float(v).is_integer()):
            kind = "an integer" if integer else "a number"
            rng = f" in [{lo:g}, {hi:g}]" if math.isfinite(lo) or math.isfinite(hi) else ""
            raise InputError(f"{label_path}: {key} = {raw!r} is not {kind}{rng}; the label is corrupt, fix it or "
                             "download the product again")
        return int(v) if integer else v

    h: dict = {"label_path": label_path, "img": img}
    h["lines"] = num(img, "LINES", integer=True, lo=2, hi=10_000_000)
    h["samples"] = num(img, "LINE_SAMPLES", integer=True, lo=2, hi=10_000_000)
    bits = num(img, "SAMPLE_BITS", integer=True, lo=8, hi=64)
    bands = num(img, "BANDS", "1", integer=True, lo=1, hi=1e6)
    h["prefix"] = num(img, "LINE_PREFIX_BYTES", "0", integer=True, lo=0, hi=1e9)
    suffix = num(img, "LINE_SUFFIX_BYTES", "0", integer=True, lo=0, hi=1e9)
    h["scale_f"] = num(img, "SCALING_FACTOR", "1")
    h["offset"] = num(img, "OFFSET", "0")
    if h["scale_f"] == 0:
        raise InputError(f"{label_path}: SCALING_FACTOR = 0 makes every height the same; the label is corrupt")
    stype = str(need(img, "SAMPLE_TYPE")).upper().replace(" ", "_")
    if stype not in _SAMPLE_TYPES:
        raise InputError(f"{label_path}: SAMPLE_TYPE {stype} is not supported; convert the product to a GeoTIFF")
    kind = _SAMPLE_TYPES[stype]
    if bits not in ((32, 64) if kind.endswith("f") else (8, 16, 32, 64)):
        raise InputError(f"{label_path}: SAMPLE_BITS={bits} is impossible for {stype}; the label is corrupt")
    if bands != 1:
        raise InputError(f"{label_path} has {bands} bands; extract the elevation band first")
    dtype = h["dtype"] = np.dtype(f"{kind}{bits // 8}") if bits > 8 else np.dtype(kind[1] + "1")

    ptype = str(need(proj, "MAP_PROJECTION_TYPE")).upper().replace("_", " ")
    clat = h["clat"] = num(proj, "CENTER_LATITUDE", lo=-90, hi=90)
    polar = "POLAR STEREOGRAPHIC" in ptype or (ptype.strip() == "STEREOGRAPHIC" and abs(abs(clat) - 90) < 1e-9)
    if not polar:
        raise InputError(
            f"{label_path}: MAP_PROJECTION_TYPE is {ptype!r}; lupex reads polar stereographic PDS products "
            f"only; use an LDEM_*S_*M polar product or {_REPROJECT_HINT}"
        )
    if abs(abs(clat) - 90.0) > 1e-9:
        raise InputError(f"{label_path}: CENTER_LATITUDE={clat} is not a pole; only polar stereographic grids are read")
    h["clon"] = num(proj, "CENTER_LONGITUDE", "0", lo=-360, hi=360)
    try:
        radius_m = _length_m(proj.get("A_AXIS_RADIUS", "1737.4 <KM>"), "KM", "A_AXIS_RADIUS", label_path)
        scale_m = _length_m(need(proj, "MAP_SCALE"), "KM/PIXEL", "MAP_SCALE", label_path)
    except (ValueError, KeyError):
        raise InputError(f"{label_path}: A_AXIS_RADIUS or MAP_SCALE is not a number with a unit; "
                         "the label is corrupt, fix it or download the product again") from None
    if not (math.isfinite(radius_m) and 100e3 <= radius_m <= 10_000e3):
        raise InputError(f"{label_path}: A_AXIS_RADIUS = {radius_m / 1000:g} km is not a body radius "
                         "(the Moon's is 1737.4 km); the label is corrupt")
    if not (math.isfinite(scale_m) and MIN_PIXEL_M <= scale_m <= MAX_PIXEL_M):
        raise InputError(f"{label_path}: MAP_SCALE = {scale_m:g} m per pixel is outside {MIN_PIXEL_M:g} to "
                         f"{MAX_PIXEL_M:g} m; the label is corrupt")
    h["radius_m"], h["scale_m"] = radius_m, scale_m
    h["l0"] = num(proj, "LINE_PROJECTION_OFFSET")
    h["s0"] = num(proj, "SAMPLE_PROJECTION_OFFSET")

    ptr = lab.get("^IMAGE")
    if ptr is None:
        raise InputError(f"{label_path} has no ^IMAGE pointer; the label is corrupt")
    try:
        h["data_path"], h["start"] = _pointer(str(ptr), label_path, path, attached, lab.get("RECORD_BYTES"))
    except (ValueError, KeyError):
        raise InputError(f"{label_path}: ^IMAGE = {ptr!r} is not a file name or offset; the label is corrupt") from None
    if h["start"] < 0:
        raise InputError(f"{label_path}: ^IMAGE points before the start of the file; the label is corrupt")
    h["row_bytes"] = h["prefix"] + h["samples"] * dtype.itemsize + suffix
    need_bytes = h["start"] + h["lines"] * h["row_bytes"]
    size = h["data_path"].stat().st_size
    if size < need_bytes:
        raise InputError(
            f"{h['data_path']} is {size} bytes but its label needs {need_bytes} (truncated or corrupt download?); "
            "download the file again"
        )
    return h


def _read_pds3(path: Path, *, bounds_m, fill_holes, max_hole_radius_px, max_nodata_fraction) -> xr.DataArray:
    h = _pds3_header(path)
    label_path, img, lines, samples, dtype = h["label_path"], h["img"], h["lines"], h["samples"], h["dtype"]
    prefix, scale_f, offset, clat, clon = h["prefix"], h["scale_f"], h["offset"], h["clat"], h["clon"]
    radius_m, scale_m, l0, s0 = h["radius_m"], h["scale_m"], h["l0"], h["s0"]
    data_path, start, row_bytes = h["data_path"], h["start"], h["row_bytes"]

    # ---- coordinates (1-based line/sample, LOLA DSMAP convention)
    s = np.arange(1, samples + 1, dtype=np.float64)
    ln = np.arange(1, lines + 1, dtype=np.float64)
    x = (s - s0 - 1.0) * scale_m
    y = (1.0 - ln + l0) * scale_m
    r0, r1, c0, c1 = 0, lines, 0, samples
    if bounds_m is not None:
        xmin, ymin, xmax, ymax = bounds_m
        ix = np.nonzero((x >= xmin) & (x <= xmax))[0]
        iy = np.nonzero((y >= ymin) & (y <= ymax))[0]
        if ix.size < 2 or iy.size < 2:
            raise InputError(f"bounds_m={bounds_m} covers fewer than 2 x 2 cells of {data_path}; widen the box")
        r0, r1, c0, c1 = iy[0], iy[-1] + 1, ix[0], ix[-1] + 1
    check_fits(r1 - r0, c1 - c0, str(data_path))
    mm = np.memmap(data_path, dtype=np.uint8, mode="r", offset=start, shape=(lines, row_bytes))
    raw = np.ascontiguousarray(mm[r0:r1, prefix + c0 * dtype.itemsize: prefix + c1 * dtype.itemsize])
    del mm
    dn = raw.view(dtype).reshape(r1 - r0, c1 - c0)

    # ---- values
    bad = ~np.isfinite(dn) if dtype.kind == "f" else np.zeros(dn.shape, bool)
    if "MISSING_CONSTANT" in img:
        miss = _missing(img["MISSING_CONSTANT"], dtype)
        if miss is not None:
            bad |= dn == miss
    is_int = dtype.kind in "iu"
    unit_s = str(img.get("UNIT", "METER" if is_int else "KILOMETER")).upper().strip('"')
    unit = _length_m(f"1 <{unit_s}>", "M", "UNIT", label_path)
    off_m = offset * unit
    as_radius = abs(off_m - radius_m) < 100_000.0
    z = dn.astype(np.float64) * (scale_f * unit) + (off_m - radius_m if as_radius else off_m)
    if not as_radius:
        med = np.nanmedian(np.where(bad, np.nan, z)) if (~bad).any() else 0.0
        if med > 0.5 * radius_m:  # the values are radii: make them heights
            z = z - radius_m
    z[bad] = np.nan

    crs = _polar_crs(clat, clon, radius_m)
    return _finish(
        z, x[c0:c1], y[r0:r1], crs, str(path), "elevation above the reference sphere (PDS3 LDEM)",
        fill_holes=fill_holes, max_hole_radius_px=max_hole_radius_px,
        max_nodata_fraction=max_nodata_fraction, name=str(path),
    )


def _missing(value: str, dtype: np.dtype):
    """MISSING_CONSTANT as a value comparable with the raw DNs (``16#...#`` = raw bits)."""
    v = str(value).strip()
    try:
        m = re.match(r"16#([0-9A-Fa-f]+)#", v)
        if m:
            bits = np.array([int(m.group(1), 16)], dtype=f">u{dtype.itemsize}")
            return bits.view(dtype.newbyteorder(">"))[0]
        return dtype.type(_num(v)[0]) if dtype.kind == "f" else int(_num(v)[0])
    except (ValueError, KeyError, OverflowError):
        return None


def _pointer(ptr: str, label_path: Path, given: Path, attached: bool, record_bytes) -> tuple[Path, int]:
    """Resolve a PDS3 ``^IMAGE`` pointer into (file, byte offset)."""
    ptr = ptr.strip()
    rb = None
    if record_bytes is not None:
        with contextlib.suppress(ValueError, KeyError):
            rb = int(_num(record_bytes)[0])

    def offset_of(tok: str) -> int:
        v, unit = _num(tok)
        if unit and unit.startswith("BYTE"):
            return int(v) - 1
        if rb is None:
            raise InputError(f"{label_path}: ^IMAGE is a record number but RECORD_BYTES is missing; fix the label")
        return (int(v) - 1) * rb

    m = re.match(r'\(\s*"?([^",]+)"?\s*,\s*(.+)\)', ptr)
    if m:
        return _resolve(label_path, m.group(1).strip()), offset_of(m.group(2))
    if ptr.startswith("(") or re.match(r"[A-Za-z_]", ptr):
        return _resolve(label_path, ptr.strip('()" ')), 0
    # a bare number: the image follows the label in the same file
    data = given if attached else label_path
    return data, offset_of(ptr)


def _polar_crs(clat: float, clon: float, radius_m: float):
    if abs(radius_m - MOON_RADIUS_M) < 1e-3 and clon % 360.0 == 0.0:
        return "IAU_2015:30135" if clat < 0 else "IAU_2015:30130"
    return CRS.from_proj4(
        f"+proj=stere +lat_0={'-90' if clat < 0 else '90'} +lon_0={clon:.12g} +k=1 +x_0=0 +y_0=0 "
        f"+R={radius_m:.6f} +units=m +no_defs"
    )


# --------------------------------------------------------------------------- writing


# The GeoTIFF geokeys can name only EPSG codes, so GDAL writes the Moon's CRS as a user-defined projection
# named "Moon (2015) - Sphere / Ocentric / South Polar" and reads it back without its IAU code
# (rasterio ``crs.to_authority()`` is None with GDAL 3.10 / PROJ 9.5; the ESRI and GeoTIFF 1.1 key flavours
# and a .aux.xml sidecar with the WKT2 ID fare no better: GDAL drops the "2015" of ID["IAU",30135,2015]).
# The name and parameters still identify it: ``canonical_crs``, ``CRS.to_authority(confidence_threshold=25)``
# and pyproj's ``to_authority(min_confidence=25)`` all give IAU_2015:30135. The code itself travels in the
# file's GDAL metadata as CRS_AUTHORITY (gdalinfo, QGIS's metadata panel and rasterio ``tags()`` show it).
CRS_AUTHORITY_TAG = "CRS_AUTHORITY"


def write_geotiff(da: xr.DataArray, path: str | os.PathLike, *, nodata=None, keep_float64: bool | None = None) -> Path:
    """Write a (y, x) raster as a deflate-compressed GeoTIFF, atomically.

    The CRS and the affine transform come from the DataArray (see
    :func:`lupex.terrain.geo.dem_crs`); its authority code (IAU_2015:30135) goes
    into the metadata tag ``CRS_AUTHORITY``. One convention for every product:
    a continuous map is float32 with NaN declared as its no-data value (a DEM,
    named ``"elevation"`` by the DEM contract, stays float64 unless
    ``keep_float64=False``: it is the terrain later commands reload from a run
    directory, and they must see the numbers the run saw), and ``units`` / ``long_name`` go into the
    metadata; a mask (booleans) is uint8 0/1 with no no-data value and no
    ``units``. Integer rasters keep their type.
    """
    import rasterio
    from rasterio.transform import from_origin

    path = Path(path)
    if tuple(da.dims) != ("y", "x"):
        raise InputError(f"write_geotiff needs a 2-D (y, x) DataArray, got dims {da.dims}; select one band first")
    p = pixel_size_m(da)
    arr = np.asarray(da.values)
    x = np.asarray(da["x"].values, float)
    y = np.asarray(da["y"].values, float)
    if y[1] > y[0]:
        arr, y = arr[::-1], y[::-1]
    if x[1] < x[0]:
        arr, x = arr[:, ::-1], x[::-1]
    mask = arr.dtype == bool
    if mask:
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"cannot write a {arr.dtype} raster to GeoTIFF; convert it to a number type")
    if arr.dtype.kind == "f":
        if keep_float64 is None:
            keep_float64 = da.name == "elevation"
        if not keep_float64:
            arr = arr.astype(np.float32)
        arr = np.where(np.isinf(arr), np.nan, arr)  # one no-data convention: "none" is NaN, never +-inf
        if nodata is None:
            nodata = float("nan")
    crs = canonical_crs(dem_crs(da))     # "IAU_2015:30135" also when the WKT came without its code
    code = crs if isinstance(crs, str) else (":".join(crs.to_authority()) if crs.to_authority() else None)
    rcrs = rasterio.crs.CRS.from_user_input(code or crs.to_wkt())
    ny, nx = arr.shape
    profile = dict(
        driver="GTiff", width=nx, height=ny, count=1, dtype=arr.dtype.name, crs=rcrs,
        transform=from_origin(x[0] - p / 2, y[0] + p / 2, p, p), compress="deflate",
        predictor=3 if arr.dtype.kind == "f" else 2, nodata=nodata,
    )
    if nx >= 256 and ny >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    keys = ("long_name", "source") if mask else ("units", "long_name", "source")
    tags = {k: str(da.attrs[k]) for k in keys if k in da.attrs}
    if code:
        tags[CRS_AUTHORITY_TAG] = code
    # built in memory (compressed), then written as bytes: on a full disk GDAL prints libtiff's complaints on
    # stderr and closes "successfully", so the truncated file would have been renamed into place; a Python write
    # raises ENOSPC, which atomic_path turns into the one-line message
    from rasterio.io import MemoryFile

    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(np.ascontiguousarray(arr), 1)
            if tags:
                dst.update_tags(**tags)
            if "long_name" in da.attrs:
                dst.set_band_description(1, str(da.attrs["long_name"]))
        data = mem.read()
    with atomic_path(path, suffix=".tif") as tmp:
        tmp.write_bytes(data)
    return path
