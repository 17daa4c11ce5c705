"""Cut a site box out of a downloaded DEM product and resample it onto the site grid.

:func:`crop_to_site` reads the box around a latitude/longitude from a
downloaded product (windowed: only the box is read) and resamples it onto a
north-up grid in IAU_2015:30135 (south polar stereographic on the 1737.4 km
sphere) with rasterio's warper (bilinear, or the area-weighted mean when the new
pixel is coarser), written as a GeoTIFF that :func:`lupex.terrain.io.read_dem` and
``lupex run --dem`` read.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject, transform_bounds

from lupex.errors import InputError
from lupex.terrain import pds3
from lupex.terrain.geo import DEFAULT_CRS, dem_crs, pixel_size_m, xy_from_lonlat
from lupex.terrain.io import canonical_crs, dem_from_array, read_dem, write_geotiff

__all__ = ["crop_to_site", "parse_crop"]


def parse_crop(text: str) -> tuple[float, float, float]:
    """``"LAT,LON,SIZE_KM"`` -> (lat_deg, lon_deg, size_km), checked; :class:`InputError` on bad input."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) != 3:
            raise ValueError
        lat, lon, size = (float(p) for p in parts)
    except ValueError:
        raise InputError(
            f"--crop {text!r} is not LAT,LON,SIZE_KM (three numbers: centre latitude deg, east longitude deg, "
            "side of the square km), e.g. --crop -89.45,-137.5,10"
        ) from None
    if not all(np.isfinite([lat, lon, size])):
        raise InputError(f"--crop {text!r} holds a non-finite number")
    if not -90.0 <= lat < 0.0:
        raise InputError(f"--crop latitude {lat:g} deg is not in the south (-90..0); LOLA polar products cover the south pole")
    if not 0.0 < size <= 2000.0:
        raise InputError(f"--crop size {size:g} km must be above 0 and at most 2000 km")
    return lat, lon, size


def crop_to_site(
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    lat_deg: float,
    lon_deg: float,
    size_km: float,
    pixel_m: float | None = None,
    source: str | None = None,
) -> dict:
    """Write the ``size_km`` square centred on (lat, lon) of DEM ``src`` as a GeoTIFF in IAU_2015:30135.

    Parameters
    ----------
    src : path
        A GeoTIFF in a projected CRS or a PDS3 LDEM label/image (what :func:`~lupex.terrain.io.read_dem` reads).
    out : path
        GeoTIFF to write (atomically).
    lat_deg, lon_deg : float
        Planetocentric latitude and east longitude of the box centre, deg.
    size_km : float
        Side of the square box, km; rounded to whole output pixels.
    pixel_m : float, optional
        Output pixel size, m (default: the source's). Bilinear interpolation
        when it is as fine as the source's or finer (exact for planes); when
        coarser, each output cell is the area-weighted mean of the source
        cells it overlaps (GDAL's ``average``), so nothing is aliased.
    source : str, optional
        Provenance written into the GeoTIFF's ``source`` tag.

    Returns a dict: ``shape`` (rows, cols), ``pixel_m``, ``bounds_m`` (xmin, ymin, xmax, ymax),
    ``n_nodata`` and ``height_range_m``. Raises :class:`InputError` when the box reaches outside the product.
    """
    src = Path(src)
    dst_crs = CRS.from_user_input(DEFAULT_CRS)
    cx, cy = (float(v) for v in xy_from_lonlat(dst_crs, lon_deg, lat_deg))
    src_info = _source_grid(src)
    p_src = src_info["pixel_m"]
    p = float(pixel_m) if pixel_m is not None else p_src
    if not (np.isfinite(p) and p > 0):
        raise InputError(f"--pixel-m {pixel_m} must be a positive number of metres")
    n = int(round(size_km * 1000.0 / p))
    if n < 2:
        raise InputError(f"a {size_km:g} km box at {p:g} m pixels is under 2 x 2 cells; enlarge the box or shrink --pixel-m")
    if n > 20000:
        raise InputError(f"a {size_km:g} km box at {p:g} m pixels is {n} x {n} cells; use a coarser --pixel-m")
    half = n * p / 2.0
    box = (cx - half, cy - half, cx + half, cy + half)
    where = f"the {size_km:g} km box around lat {lat_deg:g}, lon {lon_deg:g}"
    sbox = _to_source_box(box, src_info["crs"])
    ext = src_info.get("bounds")
    if ext is not None and not _inside(sbox, ext, tol=0.01 * p_src):
        raise InputError(
            f"{where} (x {box[0]:.0f}..{box[2]:.0f} m, y {box[1]:.0f}..{box[3]:.0f} m) reaches outside "
            f"{src.name} (x {ext[0]:.0f}..{ext[2]:.0f} m, y {ext[1]:.0f}..{ext[3]:.0f} m); move the centre or "
            "make the box smaller"
        )
    dem = _read_window(src, sbox, margin=2.0 * p_src, where=where)
    got = _cell_edges(dem)
    if not _inside(sbox, got, tol=0.01 * p_src):
        raise InputError(
            f"{where} reaches outside {src.name} (it covers x {got[0]:.0f}..{got[2]:.0f} m, "
            f"y {got[1]:.0f}..{got[3]:.0f} m there); move the centre or make the box smaller"
        )
    z = _warp(dem, box, n, p, coarser=p > p_src * (1.0 + 1e-6))
    x = box[0] + (np.arange(n) + 0.5) * p
    y = box[3] - (np.arange(n) + 0.5) * p
    return _write_crop(z, x, y, out, source or f"{src.name} cropped to {where}", p, box)


def _write_crop(z, x, y, out, source, p, box) -> dict:
    da = dem_from_array(z, x, y, crs=DEFAULT_CRS, source=source, long_name="elevation above the 1737.4 km sphere")
    da.attrs.pop("n_filled", None)
    write_geotiff(da.drop_vars("filled").astype(np.float32), out)
    good = np.isfinite(z)
    rng = (float(z[good].min()), float(z[good].max())) if good.any() else (float("nan"), float("nan"))
    return {"shape": z.shape, "pixel_m": p, "bounds_m": box, "n_nodata": int((~good).sum()), "height_range_m": rng}


def _source_grid(src: Path) -> dict:
    """CRS (pyproj), pixel (m) and, for GeoTIFFs, full cell-edge bounds of the product, without reading pixels."""
    if not src.exists():
        raise InputError(f"DEM file {src} does not exist; fetch it first")
    if pds3.is_pds3(src):
        label_path, text, _ = pds3.find_label(src)
        lab = pds3.parse_pds3_label(text)
        proj = lab.get("IMAGE_MAP_PROJECTION") or lab.get("IMAGE", {}).get("IMAGE_MAP_PROJECTION")
        if proj is None or "MAP_SCALE" not in proj:
            raise InputError(f"{label_path} has no IMAGE_MAP_PROJECTION/MAP_SCALE; it is not a map-projected DEM")
        p = pds3.length_m(proj["MAP_SCALE"], "KM/PIXEL", "MAP_SCALE", label_path)
        clat = pds3.label_number(proj.get("CENTER_LATITUDE", "-90"))[0]
        clon = pds3.label_number(proj.get("CENTER_LONGITUDE", "0"))[0]
        radius = pds3.length_m(proj.get("A_AXIS_RADIUS", "1737.4 <KM>"), "KM", "A_AXIS_RADIUS", label_path)
        crs = pds3.polar_crs(clat, clon, radius)
        bounds = None
        with contextlib.suppress(KeyError, ValueError, TypeError):
            img = lab["IMAGE"]
            lines, samples = pds3.label_number(img["LINES"])[0], pds3.label_number(img["LINE_SAMPLES"])[0]
            l0 = pds3.label_number(proj["LINE_PROJECTION_OFFSET"])[0]
            s0 = pds3.label_number(proj["SAMPLE_PROJECTION_OFFSET"])[0]
            # cell centres x = (s - s0 - 1) p, y = (1 - l + l0) p for 1-based s, l (see lupex.terrain.io)
            bounds = ((-s0 - 0.5) * p, (1 - lines + l0 - 0.5) * p, (samples - 1 - s0 + 0.5) * p, (l0 + 0.5) * p)
        return {"crs": CRS.from_user_input(crs), "pixel_m": float(p), "bounds": bounds}

    try:
        with rasterio.open(src) as ds:
            if ds.crs is None:
                raise InputError(f"{src} has no CRS; it cannot be cropped to a lat/lon box")
            crs = CRS.from_wkt(ds.crs.to_wkt())
            b = ds.bounds
            p = abs(ds.transform.a)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read {src} as a raster ({exc}); the file is corrupt") from exc
    return {"crs": crs, "pixel_m": float(p), "bounds": (b.left, b.bottom, b.right, b.top)}


def _to_source_box(box, src_crs) -> tuple[float, float, float, float]:
    if canonical_crs(src_crs) == DEFAULT_CRS:
        return box

    return tuple(transform_bounds(DEFAULT_CRS, src_crs.to_wkt(), *box, densify_pts=51))


def _inside(inner, outer, tol: float) -> bool:
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
            and inner[2] <= outer[2] + tol and inner[3] <= outer[3] + tol)


def _cell_edges(dem) -> tuple[float, float, float, float]:
    p = pixel_size_m(dem)
    x = np.asarray(dem["x"].values, float)
    y = np.asarray(dem["y"].values, float)
    return (x.min() - p / 2, y.min() - p / 2, x.max() + p / 2, y.max() + p / 2)


def _read_window(src: Path, sbox, *, margin: float, where: str):
    wide = (sbox[0] - margin, sbox[1] - margin, sbox[2] + margin, sbox[3] + margin)
    try:
        return read_dem(src, fill_holes=False, bounds_m=wide)
    except InputError as exc:
        if "covers fewer than" in str(exc):
            raise InputError(f"{where} lies outside {src.name}; move the centre onto the product") from None
        raise


def _warp(dem, box, n: int, p: float, *, coarser: bool) -> np.ndarray:
    """Resample the DEM window onto the n x n output grid whose outer edges are ``box`` (rasterio's warper)."""
    ps = pixel_size_m(dem)
    x = np.asarray(dem["x"].values, float)
    y = np.asarray(dem["y"].values, float)
    src_crs = dem_crs(dem)
    auth = src_crs.to_authority()
    rs_crs = rasterio.crs.CRS.from_user_input(":".join(auth) if auth else src_crs.to_wkt())
    out = np.full((n, n), np.nan, dtype=np.float64)
    reproject(
        source=np.asarray(dem.values, np.float64), destination=out,
        src_transform=from_origin(x[0] - ps / 2, y[0] + ps / 2, ps, ps), src_crs=rs_crs, src_nodata=np.nan,
        dst_transform=from_origin(box[0], box[3], p, p), dst_crs=rasterio.crs.CRS.from_user_input(DEFAULT_CRS),
        dst_nodata=np.nan, resampling=Resampling.average if coarser else Resampling.bilinear,
    )
    return out
