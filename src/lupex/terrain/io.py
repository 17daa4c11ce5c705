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
the label parsed by :mod:`lupex.terrain.pds3` (its docstring gives the archive's conventions).

No-data holes are filled by :func:`lupex.terrain.fill.fill_nodata` (minimum curvature; it refuses holes
too wide or too many to interpolate); its names stay importable from here.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from pyproj import CRS, Transformer
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from rasterio.windows import Window

from lupex.constants import MOON_RADIUS_M
from lupex.errors import InputError
from lupex.io import atomic_path
from lupex.terrain.fill import DEFAULT_MAX_HOLE_RADIUS_PX, DEFAULT_MAX_NODATA_FRAC, fill_nodata
from lupex.terrain.geo import (
    DEFAULT_CRS,
    MAX_PIXEL_M,
    MIN_PIXEL_M,
    REPROJECT_HINT,
    dem_crs,
    lunar_geographic_crs,
    pixel_size_m,
)
from lupex.terrain.pds3 import (  # parse_pds3_label: re-exported (in __all__)
    is_pds3,
    length_m,
    missing_value,
    parse_pds3_label,
    pds3_header,
    polar_crs,
)

__all__ = [
    "canonical_crs",
    "dem_from_array",
    "fill_nodata",
    "filled_mask",
    "parse_pds3_label",
    "read_dem",
    "write_geotiff",
]


BYTES_PER_CELL = 40
"""Peak bytes per DEM cell while reading and filling a DEM (the float64 heights, the raw values, masks, the
filled copy, coordinates); a run needs more (see :func:`lupex.mission.run`'s estimate)."""


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

    Parameters
    ----------
    z : array_like
        (ny, nx) heights, m.
    x, y : array_like
        (nx,) and (ny,) cell-centre coordinates, m; ``y`` decreasing.
    crs : str or CRS
        The projected CRS (default: the lunar south polar stereographic, IAU_2015:30135).
    source : str
        Where the heights come from (the ``source`` attribute).
    long_name : str
        The ``long_name`` attribute.
    filled : array_like of bool, optional
        (ny, nx), True at cells that were filled (the ``filled`` coordinate); default none.
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


def _finish(z, x, y, crs, source, long_name, *, fill_holes, max_hole_radius_px, max_nodata_frac, name):
    p = abs(float(x[1] - x[0])) if x.size > 1 else None
    if fill_holes:
        z, mask = fill_nodata(
            z, max_hole_radius_px=max_hole_radius_px, max_nodata_frac=max_nodata_frac, pixel_m=p, name=name
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
    max_nodata_frac: float = DEFAULT_MAX_NODATA_FRAC,
    bounds_m: tuple[float, float, float, float] | None = None,
) -> xr.DataArray:
    """Read a DEM (GeoTIFF in a projected CRS, or a PDS3 ``.IMG``/``.LBL``) as a DEM DataArray.

    ``bounds_m = (xmin, ymin, xmax, ymax)`` reads only the cells whose centres
    fall inside that box (real LOLA polar products are gigabytes). No-data
    cells are filled when ``fill_holes`` (see the module docstring for the
    method and the refusal rules set by ``max_hole_radius_px`` and
    ``max_nodata_frac``); otherwise they stay NaN.

    Parameters
    ----------
    path : str or os.PathLike
        The GeoTIFF, or the PDS3 image or label.
    fill_holes : bool
        Fill no-data cells (else they stay NaN).
    max_hole_radius_px : float
        Largest distance, px, of a no-data cell from the nearest valid cell that is filled.
    max_nodata_frac : float
        Largest share (0..1) of no-data cells that is filled.
    bounds_m : tuple of float, optional
        ``(xmin, ymin, xmax, ymax)``, m, in the product's CRS: read only the cells inside.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"DEM file {path} does not exist; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a directory; give the DEM file itself (.tif, .IMG or .LBL)")
    kw = dict(fill_holes=fill_holes, max_hole_radius_px=max_hole_radius_px, max_nodata_frac=max_nodata_frac)
    if is_pds3(path):
        return _read_pds3(path, bounds_m=bounds_m, **kw)
    return _read_gdal(path, bounds_m=bounds_m, **kw)


def _read_gdal(path: Path, *, bounds_m, fill_holes, max_hole_radius_px, max_nodata_frac) -> xr.DataArray:
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
            f"degenerate; {REPROJECT_HINT}"
        )
    unit = pcrs.axis_info[0].unit_name if pcrs.axis_info else "metre"
    if unit not in ("metre", "meter", "m"):
        raise InputError(f"{path} has projected coordinates in {unit}; {REPROJECT_HINT}")
    tr = da.rio.transform()
    if abs(tr.b) > 1e-12 * abs(tr.a) or abs(tr.d) > 1e-12 * abs(tr.e):
        raise InputError(f"{path} has a rotated geotransform; {REPROJECT_HINT}")
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
        max_nodata_frac=max_nodata_frac, name=str(path),
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
    """Raise InputError when ``ny x nx`` cells at ``bytes_per_cell`` exceed 80% of the available memory.

    The message gives the numbers, and ``hint`` says what to do.

    Parameters
    ----------
    ny, nx : int
        Rows and columns of the raster.
    name : str
        What the raster is, for the message.
    bytes_per_cell : float
        Memory per cell, bytes.
    what : str
        What needs the memory, for the message.
    hint : str
        What the user can do instead, for the message.
    """
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
    if is_pds3(path):
        h = pds3_header(path)
        crs = polar_crs(h["clat"], h["clon"], h["radius_m"])
        return {"ny": h["lines"], "nx": h["samples"], "pixel_m": h["scale_m"], "x0_m": -h["s0"] * h["scale_m"],
                "y0_m": h["l0"] * h["scale_m"], "crs": CRS.from_user_input(crs), "kind": "PDS3", "pds3": h}

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
                             f"is degenerate; {REPROJECT_HINT}")
        tr = src.transform
        if abs(tr.b) > 1e-12 * abs(tr.a) or abs(tr.d) > 1e-12 * abs(tr.e):
            raise InputError(f"{path} has a rotated geotransform; {REPROJECT_HINT}")
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
            miss = missing_value(q["img"]["MISSING_CONSTANT"], dtype)
            if miss is not None:
                bad |= dn == miss
        unit_s = str(q["img"].get("UNIT", "METER" if dtype.kind in "iu" else "KILOMETER")).upper().strip('"')
        unit = length_m(f"1 <{unit_s}>", "M", "UNIT", q["label_path"])
        off_m = q["offset"] * unit
        as_radius = abs(off_m - q["radius_m"]) < 100_000.0
        z = dn.astype(np.float64) * (q["scale_f"] * unit) + (off_m - q["radius_m"] if as_radius else off_m)
        z[bad] = np.nan
        return z

    try:
        with rasterio.open(path) as src:
            z = src.read(1, window=Window(0, r0, h["nx"], r1 - r0), masked=True)
    except (rasterio.errors.RasterioError, OSError, ValueError) as exc:
        raise InputError(f"cannot read rows {r0} to {r1} of {path} ({exc}); the file is truncated or corrupt") from exc
    return np.ma.filled(z.astype(np.float64), np.nan)


# --------------------------------------------------------------------------- PDS3


def _read_pds3(path: Path, *, bounds_m, fill_holes, max_hole_radius_px, max_nodata_frac) -> xr.DataArray:
    h = pds3_header(path)
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
        miss = missing_value(img["MISSING_CONSTANT"], dtype)
        if miss is not None:
            bad |= dn == miss
    is_int = dtype.kind in "iu"
    unit_s = str(img.get("UNIT", "METER" if is_int else "KILOMETER")).upper().strip('"')
    unit = length_m(f"1 <{unit_s}>", "M", "UNIT", label_path)
    off_m = offset * unit
    as_radius = abs(off_m - radius_m) < 100_000.0
    z = dn.astype(np.float64) * (scale_f * unit) + (off_m - radius_m if as_radius else off_m)
    if not as_radius:
        med = np.nanmedian(np.where(bad, np.nan, z)) if (~bad).any() else 0.0
        if med > 0.5 * radius_m:  # the values are radii: make them heights
            z = z - radius_m
    z[bad] = np.nan

    crs = polar_crs(clat, clon, radius_m)
    return _finish(
        z, x[c0:c1], y[r0:r1], crs, str(path), "elevation above the reference sphere (PDS3 LDEM)",
        fill_holes=fill_holes, max_hole_radius_px=max_hole_radius_px,
        max_nodata_frac=max_nodata_frac, name=str(path),
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

    Parameters
    ----------
    da : xr.DataArray
        (y, x) raster with x/y cell-centre coordinates, m, and a CRS.
    path : str or os.PathLike
        Output file.
    nodata : float, optional
        No-data value to declare (default: NaN for floats, none for masks).
    keep_float64 : bool, optional
        Keep a float64 raster as float64 (default: only a DEM, ``da.name == "elevation"``).
    """
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
