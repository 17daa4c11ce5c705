"""Sun and Earth visibility over a DEM: time series at points, statistics per cell.

A body is visible from a cell in proportion to the part of its disk above the
cell's horizon: the horizon height at the body's grid azimuth is interpolated
linearly between the two neighbouring azimuths of the horizon cube, and the
visible part of the disk is the circular segment above a straight line at that
height (:func:`lupex.light.sky.disk_visible_fraction`). This is the approach of
Mazarico et al. 2011 (Icarus 211:1066) and Gläser et al. 2014 (Icarus 243:78,
whose 20 x 20 km, 1-year, 1-hour study is the scale the kernel is built for).

Statistics per cell over a regular time grid (each step stands for ``step``
hours of time):

* ``illumination_pct``: time-mean of the Sun's visible fraction, in percent;
* ``sunlit_time_pct``: percent of steps with any part of the Sun visible;
* ``longest_darkness_h``: longest run of consecutive *dark* steps (Sun's
  visible fraction <= ``dark_threshold``) times the step in hours. A run that
  touches the start or the end of the span is counted with the length seen
  inside the span (a lower bound of the true run); ``dark_at_start_h`` and
  ``dark_at_end_h`` give those edge runs so that spans can be joined; a cell
  dark for the whole span has all three equal to the span;
* ``earth_visible_pct``: percent of steps with Earth's visible fraction >=
  ``earth_threshold``; ``mean_earth_fraction``: time-mean of that fraction;
* ``sun_and_earth_pct``: percent of steps that are not dark and have Earth visible;
* ``permanent_shadow``: no part of the Sun visible at any step.

The statistics stream: the horizon cube (which may be an ``np.memmap``) is read
once, tile by tile; per tile a numba kernel (:mod:`lupex.light._kernel`) walks
each cell through all times keeping running sums and dark runs, so cells x
times is never stored. With a ``dask.distributed`` client the tiles run on the
workers with the same kernel and inputs, giving identical numbers.
"""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
import xarray as xr

from lupex import ephemeris, io
from lupex.errors import ConfigError, InputError
from lupex.light import _kernel
from lupex.light import sky as _sky
from lupex.light.farfield import far_field_summary, horizons_with_far_field
from lupex.light.horizon import azimuths_deg, horizon_bruteforce
from lupex.light.inputs import (  # noqa: F401  (moved there; still importable from here)
    HorizonShapeError,
    TimeGridError,
    _as_datetime64,
    _check_cube,
    _check_dem,
    _unlink_quiet,
    horizon_store,
    regular_times,
)
from lupex.terrain import geo
from lupex.terrain.geo import pixel_size_m
from lupex.terrain.io import write_geotiff

__all__ = [
    "TimeGridError",
    "HorizonShapeError",
    "regular_times",
    "horizon_store",
    "point_series",
    "light_statistics",
    "compute_light",
    "write_light_products",
]

STAT_VARIABLES = (
    "illumination_pct",
    "sunlit_time_pct",
    "longest_darkness_h",
    "dark_at_start_h",
    "dark_at_end_h",
    "earth_visible_pct",
    "mean_earth_fraction",
    "sun_and_earth_pct",
    "permanent_shadow",
)


# ---------------------------------------------------------------- point series


def _nearest_cells(dem, points_xy) -> tuple[np.ndarray, np.ndarray]:
    pts = np.asarray(points_xy, dtype=float)
    if pts.ndim == 1:
        pts = pts[None, :]
    if pts.ndim != 2 or pts.shape[1] != 2 or not np.all(np.isfinite(pts)):
        raise InputError("points_xy must be finite (x, y) pairs in the DEM's CRS, metres, shape (n, 2)")
    return geo.cell_of(dem, pts, "point")


def _horizon_at(hcol: np.ndarray, az_deg: np.ndarray) -> np.ndarray:
    """Horizon (deg) of one cell (n_az,) at azimuths ``az_deg``, linear between neighbouring azimuths."""
    n = hcol.shape[0]
    f = (np.asarray(az_deg) % 360.0) * (n / 360.0)
    k = np.floor(f).astype(int) % n
    w = f - np.floor(f)
    return hcol[k] * (1.0 - w) + hcol[(k + 1) % n] * w


def point_series(dem, horizon_cube, points_xy, times, *, n_azimuths: int = 360,
                 observer_height_m: float = 0.0, horizon_columns=None) -> xr.Dataset:
    """Sun and Earth at chosen points over ``times``.

    ``horizon_cube`` may be None (e.g. when the full cube was streamed through
    disk): the points' horizons are then ray-marched at ``n_azimuths`` azimuths
    by :func:`lupex.light.horizon.horizon_bruteforce` for those cells only.

    Each point takes the cell whose centre is nearest. Returns a Dataset with
    dims (point, time): ``sun_fraction`` and ``earth_fraction`` (visible part
    of the disk, 0..1), ``*_elevation_deg`` (above the cell's local
    horizontal), ``*_azimuth_deg`` (grid azimuth, clockwise from grid +y),
    ``*_horizon_deg`` (horizon height at that azimuth) and, per time,
    ``*_radius_deg``. Times need not be regular. ``horizon_columns`` (n_az, n_points), deg, gives the
    points' horizons directly (e.g. with a far field, :mod:`lupex.light.points`) instead of the cube.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, (ny, nx) heights, m.
    horizon_cube : np.ndarray, optional
        float32 (n_az, ny, nx) horizons, deg, of the DEM; None: ray-march the points' cells.
    points_xy : array_like
        (n_points, 2) grid x, y, m.
    times : array_like
        UTC times (datetime64).
    n_azimuths : int
        Azimuths to ray-march when ``horizon_cube`` and ``horizon_columns`` are None.
    observer_height_m : float
        Eye height above the ground, m, for those ray marches.
    horizon_columns : np.ndarray, optional
        (n_az, n_points) horizons, deg, of the points, used instead of the cube.
    """
    _check_dem(dem)
    t = _as_datetime64(times)
    et = ephemeris.utc_to_et(t)
    row, col = _nearest_cells(dem, points_xy)
    if horizon_columns is not None:
        hcols = np.asarray(horizon_columns, dtype=np.float64)
        if hcols.ndim != 2 or hcols.shape[1] != row.size or hcols.shape[0] < 4:
            raise InputError(f"horizon_columns must be (n_azimuths >= 4, {row.size}) degrees, got {hcols.shape}")
    elif horizon_cube is None:
        hcols = _bruteforce_columns(dem, row, col, int(n_azimuths), observer_height_m)
    else:
        _check_cube(dem, horizon_cube)
        hcols = np.stack([np.asarray(horizon_cube[:, r, c], dtype=np.float64) for r, c in zip(row, col)], axis=1)
    n_az = hcols.shape[0]
    site = _sky.site_frame(dem)
    tracks = {b: _sky.body_track(b, site, et) for b in _sky.BODIES}
    rot = _point_rotation(dem, row, col, site)
    data = {}
    for body, tr in tracks.items():
        el, az = _sky.sky_at_cells(tr, rot)  # (nt, npt)
        hz = np.empty_like(el)
        for i in range(row.size):
            hz[:, i] = _horizon_at(hcols[:, i], az[:, i])
        frac = _sky.disk_visible_fraction(el - hz, tr.radius_deg[:, None])
        name = body.lower()
        data[f"{name}_fraction"] = (("point", "time"), frac.T)
        data[f"{name}_elevation_deg"] = (("point", "time"), el.T)
        data[f"{name}_azimuth_deg"] = (("point", "time"), az.T)
        data[f"{name}_horizon_deg"] = (("point", "time"), hz.T)
        data[f"{name}_radius_deg"] = (("time",), tr.radius_deg)
    x = np.asarray(dem["x"].values, float)[col]
    y = np.asarray(dem["y"].values, float)[row]
    ds = xr.Dataset(
        data,
        coords={
            "time": t,
            "point": np.arange(row.size),
            "x": ("point", x),
            "y": ("point", y),
            "row": ("point", row),
            "col": ("point", col),
        },
        attrs={"n_azimuths": n_az, "source": "lupex.light.illumination.point_series"},
    )
    return ds


def _bruteforce_columns(dem, row, col, n_az: int, observer_height_m: float, step_px: float = 0.25) -> np.ndarray:
    """(n_az, npoints) horizon elevations (deg) of the given cells by the reference ray march."""
    z = np.asarray(dem.values, dtype=np.float64)
    px = pixel_size_m(dem)
    out = np.empty((n_az, row.size))
    for k, az in enumerate(azimuths_deg(n_az)):
        out[k] = horizon_bruteforce(z, px, float(az), row, col, observer_height_m=observer_height_m, step_px=step_px)
    return out


def _point_rotation(dem, row, col, site) -> _sky.CellRotation:
    crs = geo.dem_crs(dem)
    x = np.asarray(dem["x"].values, float)
    y = np.asarray(dem["y"].values, float)
    parts = [_sky.cell_rotation(_sky._dem_like(crs, [x[c], x[c] + 1.0], [y[r], y[r] - 1.0]), site) for r, c in zip(row, col)]
    return _sky.CellRotation(*(np.array([getattr(p, a)[0, 0] for p in parts]) for a in ("tx", "ty", "tzm1", "wz")))


# ---------------------------------------------------------------- statistics


def _tile_slices(ny: int, nx: int, tile: int):
    return [(r0, min(r0 + tile, ny), c0, min(c0 + tile, nx)) for r0 in range(0, ny, tile) for c0 in range(0, nx, tile)]


def _tile_result(H, x, y, crs_wkt, site, bodies, dark_thr, earth_thr) -> np.ndarray:
    """Kernel output (tr, tc, N_OUT) for one tile on a dask worker (the cells' rotation computed there)."""
    rot = _sky.cell_rotation(_sky._dem_like(crs_wkt, x, y), site)
    return _kernel.run_tile(H, rot.tx, rot.ty, rot.tzm1, rot.wz, bodies, dark_thr, earth_thr)


def _tile_from_memmap(path, offset, shape, sl, *args):
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=tuple(shape), offset=offset)
    r0, r1, c0, c1 = sl
    H = np.array(mm[:, r0:r1, c0:c1])
    del mm
    return _tile_result(H, *args)


def _memmap_spec(cube):
    """(path, offset, shape) when ``cube`` is a whole, C-ordered float32 np.memmap file, else None."""
    if (
        isinstance(cube, np.memmap)
        and getattr(cube, "filename", None)
        and isinstance(cube.base, mmap.mmap)
        and cube.dtype == np.float32
        and cube.flags.c_contiguous
    ):
        return str(cube.filename), int(cube.offset), tuple(cube.shape)
    return None


def _check_stat_options(dark_threshold: float, earth_threshold: float, tile) -> int:
    """The tile size (cells) after checking the thresholds (fractions of the disk) and the tile."""
    if not (0.0 <= dark_threshold < 1.0):
        raise ConfigError(f"dark_threshold must be in [0, 1), got {dark_threshold}")
    if not (0.0 < earth_threshold <= 1.0):
        raise ConfigError(f"earth_threshold must be in (0, 1], got {earth_threshold}")
    if int(tile) < 1:
        raise ConfigError(f"tile must be a positive number of cells, got {tile}")
    return int(tile)


def _stats_here(dem, horizon_cube, sky, bodies, tiles, result, dark_threshold, earth_threshold, progress) -> None:
    """Fill ``result`` (ny, nx, 9) tile by tile in this process."""
    rot = _sky.cell_rotation(dem, sky.site)  # per cell, so the same numbers as per tile on a worker
    # a C-ordered float32 cube (or memmap) is read in place, tile by tile; anything else is converted per tile
    in_place = isinstance(horizon_cube, np.ndarray) and horizon_cube.dtype == np.float32 \
        and horizon_cube.flags.c_contiguous
    for i, sl in enumerate(tiles):
        r0, r1, c0, c1 = sl
        if in_place:
            args = (horizon_cube, rot.tx, rot.ty, rot.tzm1, rot.wz)
        else:
            args = (np.ascontiguousarray(horizon_cube[:, r0:r1, c0:c1], dtype=np.float32),
                    *(a[r0:r1, c0:c1] for a in (rot.tx, rot.ty, rot.tzm1, rot.wz)))
        result[r0:r1, c0:c1] = _kernel.run_tile(*args, bodies, dark_threshold, earth_threshold,
                                                window=sl if in_place else None)
        if progress is not None:
            progress(i + 1, len(tiles))


def _stats_on_client(client, dem, crs_wkt, horizon_cube, sky, bodies, tiles, result, dark_threshold,
                     earth_threshold, progress) -> None:
    """Fill ``result`` (ny, nx, 9) with one task per tile on a dask.distributed ``client``."""
    from distributed import as_completed  # noqa: PLC0415  dask.distributed is heavy; needed only with a client

    xs = np.asarray(dem["x"].values, float)
    ys = np.asarray(dem["y"].values, float)

    def args_for(sl):
        r0, r1, c0, c1 = sl
        return (xs[c0:c1], ys[r0:r1], crs_wkt)

    shared = client.scatter([sky.site, bodies], broadcast=True)
    spec = _memmap_spec(horizon_cube)
    futures = {}
    for sl in tiles:
        r0, r1, c0, c1 = sl
        if spec is not None:
            fut = client.submit(
                _tile_from_memmap, *spec, sl, *args_for(sl), *shared, dark_threshold, earth_threshold, pure=False
            )
        else:
            H = np.ascontiguousarray(horizon_cube[:, r0:r1, c0:c1], dtype=np.float32)
            fut = client.submit(_tile_result, H, *args_for(sl), *shared, dark_threshold, earth_threshold, pure=False)
        futures[fut] = sl
    for i, fut in enumerate(as_completed(futures)):
        r0, r1, c0, c1 = futures[fut]
        result[r0:r1, c0:c1] = fut.result()
        if progress is not None:
            progress(i + 1, len(tiles))


def light_statistics(
    dem,
    horizon_cube,
    times,
    *,
    dark_threshold: float = 0.0,
    earth_threshold: float = 0.5,
    tile: int = 256,
    client=None,
    progress=None,
) -> xr.Dataset:
    """Per-cell Sun and Earth statistics over a regular time grid (see the module docstring).

    ``horizon_cube``: float32 (n_az, ny, nx) in degrees for azimuths k*360/n_az
    clockwise from grid +y (an array or np.memmap, read once, tile by tile).
    ``times``: regular UTC grid. ``client``: a dask.distributed Client to run
    the tiles on. ``progress(done, total)`` is called after each tile.
    Returns a Dataset on the DEM's grid and CRS.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, (ny, nx) heights, m.
    horizon_cube : np.ndarray
        float32 (n_az, ny, nx) horizons, deg, for azimuths k*360/n_az clockwise from grid +y.
    times : array_like
        Regular UTC grid (datetime64).
    dark_threshold : float
        Visible Sun fraction (0..1) at or below which a cell counts as dark.
    earth_threshold : float
        Visible Earth fraction (0..1) at or above which the Earth counts as in view.
    tile : int
        Tile side, cells.
    client : dask.distributed.Client, optional
        Run the tiles on its workers.
    progress : callable, optional
        ``progress(done, total)`` after each tile.
    """
    _check_dem(dem)
    n_az = _check_cube(dem, horizon_cube)
    t, step_s = regular_times(times)
    tile = _check_stat_options(dark_threshold, earth_threshold, tile)
    crs = geo.dem_crs(dem)
    et = ephemeris.utc_to_et(t)
    sky = _sky.site_sky(dem, et)
    S = _sky.body_coefficients(sky.sun, n_az)
    E = _sky.body_coefficients(sky.earth, n_az)
    ny, nx = dem.shape
    tiles = _tile_slices(ny, nx, tile)
    result = np.empty((ny, nx, 9), dtype=np.float64)
    bodies = _kernel.prepare_bodies(S, E, n_az)
    if client is None:
        _stats_here(dem, horizon_cube, sky, bodies, tiles, result, dark_threshold, earth_threshold, progress)
    else:
        _stats_on_client(client, dem, crs.to_wkt(), horizon_cube, sky, bodies, tiles, result, dark_threshold,
                         earth_threshold, progress)
    return _assemble(dem, crs, result, t, step_s, dark_threshold, earth_threshold, n_az)


def _assemble(dem, crs, res, t, step_s, dark_thr, earth_thr, n_az) -> xr.Dataset:
    nt = t.size
    step_h = step_s / 3600.0
    nan = np.isnan(res[..., _kernel.O_SUN_SUM])
    pct = 100.0 / nt
    v = {
        "illumination_pct": (
            res[..., _kernel.O_SUN_SUM] * pct, "%", "time-mean of the visible fraction of the Sun's disk"
        ),
        "sunlit_time_pct": (res[..., _kernel.O_SUN_ANY] * pct, "%", "time with any part of the Sun's disk visible"),
        "longest_darkness_h": (
            res[..., _kernel.O_LONGEST] * step_h,
            "h",
            f"longest run of dark steps (Sun visible fraction <= {dark_thr}) x step; "
            "runs at the span's edges are counted as seen inside the span",
        ),
        "dark_at_start_h": (res[..., _kernel.O_LEAD] * step_h, "h", "dark run at the start of the span"),
        "dark_at_end_h": (res[..., _kernel.O_TRAIL] * step_h, "h", "dark run at the end of the span"),
        "earth_visible_pct": (
            res[..., _kernel.O_EARTH_VIS] * pct,
            "%",
            f"time with at least {earth_thr} of Earth's disk visible",
        ),
        "mean_earth_fraction": (
            res[..., _kernel.O_EARTH_SUM] / nt, "1", "time-mean of the visible fraction of Earth's disk"
        ),
        "sun_and_earth_pct": (
            res[..., _kernel.O_BOTH] * pct,
            "%",
            "time not dark and with Earth visible",
        ),
    }
    coords = {"y": dem["y"], "x": dem["x"]}
    ds = xr.Dataset(coords=coords)
    for name, (arr, units, desc) in v.items():
        ds[name] = xr.DataArray(arr.astype(np.float32), dims=("y", "x"), attrs={"units": units, "long_name": desc})
    ds["permanent_shadow"] = xr.DataArray(
        (res[..., _kernel.O_SUN_ANY] == 0) & ~nan,
        dims=("y", "x"),
        attrs={"long_name": "no part of the Sun visible at any step of the span"},
    )
    ds.attrs.update(
        {
            "start_utc": str(t[0])[:19],
            "end_utc": str(t[-1])[:19],
            "step_hours": step_h,
            "n_steps": int(nt),
            "dark_threshold": float(dark_thr),
            "earth_threshold": float(earth_thr),
            "n_azimuths": int(n_az),
            "source": "lupex.light.illumination.light_statistics",
        }
    )
    return ds.rio.write_crs(crs)


# ---------------------------------------------------------------- end to end


def _horizon_batch(dem, z, pixel, n_az, k0, k1, view, *, observer_height_m, client, horizon_progress, far_field,
                   far_field_max_m) -> None:
    """Horizons (deg) of azimuths ``k0:k1`` into ``view``: with the far field, on a Dask client, or here."""
    from lupex.light import horizon  # noqa: PLC0415  looked up per call: a test swaps in a reference module

    if far_field:
        res = horizons_with_far_field(
            dem, far_field, n_az, observer_height_m=observer_height_m, max_distance_m=far_field_max_m,
            az_indices=np.arange(k0, k1), out=view, client=client, progress=horizon_progress,
        )
    elif client is not None:
        res = horizon.horizon_angles_dask(
            z, pixel, n_az, client=client, observer_height_m=observer_height_m,
            az_indices=np.arange(k0, k1), out=view, progress=horizon_progress,
        )
    else:
        res = horizon.horizon_angles(
            z, pixel, n_az, observer_height_m=observer_height_m, az_indices=np.arange(k0, k1), out=view,
            progress=horizon_progress,
        )
    if res is not None and not np.shares_memory(res, view):
        view[...] = res


def compute_light(
    dem,
    times,
    *,
    n_azimuths: int = 360,
    observer_height_m: float = 0.0,
    memory_limit_bytes: int = 2 * 2**30,
    tmpdir=None,
    dark_threshold: float = 0.0,
    earth_threshold: float = 0.5,
    tile: int = 256,
    client=None,
    progress=None,
    horizon_progress=None,
    far_field=None,
    far_field_max_m=None,
):
    """Horizons of ``dem`` then its light statistics over ``times``.

    The horizon cube is kept in memory when it fits in ``memory_limit_bytes``,
    otherwise in a temporary np.memmap in ``tmpdir``; azimuths are computed in
    batches by :func:`lupex.light.horizon.horizon_angles` straight into the
    store. Returns ``(stats, cube)``; ``cube`` is None when it was disk-backed
    (its file is deleted). ``progress(done, total)`` is called after each
    statistics tile, ``horizon_progress(k)`` after each horizon azimuth. With a
    Dask ``client`` the horizons are split by azimuth chunks
    (:func:`lupex.light.horizon.horizon_angles_dask`) and the statistics by
    tiles across the workers; both are bit-for-bit the single-process result.

    ``far_field``: regional DEMs (smallest first) whose terrain beyond ``dem`` raises the horizons, out
    to ``far_field_max_m`` from the site's centre (None or 0: their edge); see
    :mod:`lupex.light.farfield`. The statistics' attrs name them (``far_field_dems``, ``far_field_max_m``).

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, (ny, nx) heights, m.
    times : array_like
        Regular UTC grid (datetime64).
    n_azimuths : int
        Horizon azimuths over 360 deg.
    observer_height_m : float
        Eye height above the ground, m.
    memory_limit_bytes : int
        Largest horizon cube kept in memory, bytes.
    tmpdir : str or Path, optional
        Directory of the disk-backed cube (default: the system's temporary directory).
    dark_threshold : float
        Visible Sun fraction (0..1) at or below which a cell counts as dark.
    earth_threshold : float
        Visible Earth fraction (0..1) at or above which the Earth counts as in view.
    tile : int
        Statistics tile side, cells.
    client : dask.distributed.Client, optional
        Run horizons and statistics on its workers.
    progress : callable, optional
        ``progress(done, total)`` after each statistics tile.
    horizon_progress : callable, optional
        ``horizon_progress(k)`` after each horizon azimuth.
    far_field : sequence of xr.DataArray, optional
        Regional DEMs, smallest first.
    far_field_max_m : float, optional
        Far-field reach from the site's centre, m (None or 0: the DEMs' edge).
    """
    _check_dem(dem)
    regular_times(times)  # fail before the long horizon computation
    n_az = int(n_azimuths)
    ny, nx = dem.shape
    z = np.asarray(dem.values, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        raise InputError("the DEM has NaN or infinite heights; fill the holes first (e.g. gdal_fillnodata)")
    store = horizon_store((ny, nx), n_az, memory_limit_bytes, tmpdir)
    on_disk = isinstance(store, np.memmap)
    slice_bytes = ny * nx * 4
    batch = n_az if not on_disk else max(1, min(n_az, int(memory_limit_bytes // 4 // slice_bytes)))
    pixel = geo.pixel_size_m(dem)
    try:
        for k0 in range(0, n_az, batch):
            k1 = min(k0 + batch, n_az)
            _horizon_batch(dem, z, pixel, n_az, k0, k1, store[k0:k1], observer_height_m=observer_height_m,
                           client=client, horizon_progress=horizon_progress, far_field=far_field,
                           far_field_max_m=far_field_max_m)
        if on_disk:
            store.flush()
        stats = light_statistics(
            dem,
            store,
            times,
            dark_threshold=dark_threshold,
            earth_threshold=earth_threshold,
            tile=tile,
            client=client,
            progress=progress,
        )
        stats.attrs["observer_height_m"] = float(observer_height_m)
        if far_field:
            stats.attrs.update(far_field_summary(far_field, far_field_max_m))
    finally:
        if on_disk:
            path = store.filename
            del store
            _unlink_quiet(path)
    return (stats, None) if on_disk else (stats, store)


def write_light_products(stats: xr.Dataset, outdir) -> list[Path]:
    """Write each statistic as a GeoTIFF and the whole Dataset as NetCDF (``light_statistics.nc``), atomically."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    crs = stats.rio.crs
    if crs is None:
        raise InputError("the statistics have no CRS; compute them with light_statistics on a DEM with a CRS")

    written = []
    for name in stats.data_vars:
        da = stats[name]
        if da.dims != ("y", "x"):
            continue
        # the one GeoTIFF writer: float32 maps with NaN no-data and units, uint8 masks without, the CRS code
        written.append(write_geotiff(da.rio.write_crs(crs).rename(name), outdir / f"{name}.tif"))
    nc = outdir / "light_statistics.nc"
    out = stats.copy()
    for name in out.data_vars:
        if out[name].dtype == bool:
            out[name] = out[name].astype(np.uint8)
            out[name].attrs["flag_values"] = "0 1"
    io.write_netcdf(nc, out)
    written.append(nc)
    return written
