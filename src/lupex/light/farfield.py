"""Far-field horizons: the site DEM's horizons raised by the terrain of coarser regional DEMs around it.

A site DEM ends a few km from its cells, but the polar horizon is shaped by massifs up to ~150 km away
(Mazarico et al. 2011, Icarus 211:1066, use a 20 km DEM inside a 400 km regional one; Gläser et al.
2014, Icarus 243:78, extend their 20 x 20 km site horizons with LOLA's 240 m polar DEM out to ~200 km).
Here the horizon of every site cell is the maximum of

* the *near field*: :func:`lupex.light.horizon.horizon_angles` on the site DEM itself, and
* the *far field* of each regional DEM: its terrain beyond the footprint of the next finer DEM (the
  site's for the first), out to ``max_distance_m`` from the site's centre or the regional DEM's edge.

Method (far field, one grid azimuth ``a`` at a time, for one regional DEM with pixel ``P``)
-------------------------------------------------------------------------------------------
1. Parallel lines in direction ``a`` (straight in the projection), ``spacing = P / oversample`` apart,
   cover the site. Along each line, from where it leaves the excluded footprint, the regional DEM is
   sampled bilinearly every ``ds = P / oversample``.
2. Each sample is placed exactly in the plane of the line's great circle: its true arc length from the
   line's foot point comes from the polar stereographic scale factor ``k = k0 (1 + rho**2/(4 k0**2 R**2))``
   integrated along the line in closed form (Snyder 1987, "Map projections: a working manual", USGS PP
   1395, eqs. 21-4 and 21-2), and with height ``z`` at central angle ``g`` it sits at
   ``((R + z) sin g, (R + z) cos g - R)``. The sphere is exact here: the parabolic drop ``d**2/(2R)``
   of the near-field kernel is off by up to 0.05 deg for a target 20 km away and 6 km above the eye and
   by 0.006 deg at 150 km (the ``(R + z)/R`` factor and the cosine's higher terms), which is at the
   0.01-deg level the far field is meant for.
3. The highest target seen from any eye behind all of a line's samples is a vertex of the samples'
   upper convex hull (a convex hull does not depend on the frame, and the eye's horizontal is only
   turned by its central angle), so each line keeps its hull (monotone chain, O(n)).
4. Each site cell takes the nearest line (lateral offset <= ``spacing/2``), its own eye (ground height
   from the site DEM plus ``observer_height_m``, not an interpolated one: the eye's height matters as
   much as the terrain's) and its own arc position on the line (``u/k + u**2/2 d(1/k)/du`` at the foot
   point; the omitted cubic term is below 0.5 m across a 16 km site 20 km from the pole), and finds the
   tangent vertex by binary search (O(log n)). A cell ahead of its line's first sample (at the corners
   of the footprint) scans the samples ahead of it instead.

5. Culling, when folding into a cube that already holds the near field: the cells go in 8 x 8 blocks,
   and for each block and line a rigorous upper bound on the far-field horizon of its cells comes from two
   tangents to the line's hull, from the corners of the box that holds the block's eyes in the line's
   plane (lowest eye, nearest and farthest arc position; ``_farfield_kernels._block_bound``). Cells whose
   cube value is already at or above it are skipped: the far field cannot raise them, so the cube is the
   same as without culling (tested bit for bit). On Site01 the near field is the higher in ~2/3 of the
   cell-azimuths, and the bound lets ~60 % of all cell-azimuths be skipped.

Cost per azimuth: O(site cells) (a walk from the previous cell's vertex, O(log hull) after a change of
line; a compare for a culled cell) plus O(site width x regional range / spacing**2) samples, independent of
the site's resolution. Azimuths go eight to a parallel region, lines and queries each (one region per
azimuth lost a third of its CPU time to threads waiting at its end on the shared 2-core machine); the
work arrays for eight azimuths are ~30 MB plus one byte per site cell and azimuth of the batch.
Measured (benchmarks/bench_farfield.py, 2026-12-06, load 6-10): +29-34 % of the near field's CPU time on
Site01 at 20 m, +22-34 % at 10 m (before culling and batching: +59 % and +44 %).

Accuracy against a ray march through the nested DEMs along the true great circle (fine DEM inside its
footprint, regional DEMs outside, exact spherical geometry; ``tests/test_farfield.py``)
-------------------------------------------------------------------------------------------------------
With ``G`` the largest slope of the regional DEM's bilinear surface and ``d_h`` the distance of the
horizon point, the far-field horizon tangent differs by at most

    |d tan e| <= (G (spacing/2 + ds/2 + sigma) + |tan e| ds/2) / d_h

for the lateral offset of the line (``spacing/2``), the along-line sampling (a peak between two samples
is at most ``G ds/2`` higher), and ``sigma``, the distance between the straight projected line and the
true great circle: a great circle passing ``rho0`` from the pole is a circle of radius about
``2 R**2 / rho0`` in the projection, so ``sigma <= L**2 rho0 / (16 R**2)`` over a length ``L``: 16 m at
``L = 170`` km for Site01 (``rho0 <= 27`` km). Distances use the true arc length, so the projection's
scale (up to 0.3 % at 184 km from the pole, worth 0.007 deg at 150 km) is not an error term. The exact
sphere vs the parabola is not either. One more effect is not in the bound: a line's targets start where
the *line* leaves the footprint, so terrain in a strip ``spacing/2 |tan t|`` wide just outside the edge
the cell's own ray crosses (``t`` its angle to that edge's normal) may be seen from the neighbouring
line only; it matters for cells near the site's edge looking almost along it, which site selection
keeps out with ``sites.edge_margin_m``. On Site01 with the 240 m polar cap (``G`` = 0.69, a worst-case
slope) the bound is 0.5 deg for a horizon 20 km away and 0.07 deg at 150 km; the errors measured against
the ray march are far smaller (horizons >= 20 km away: median 0.004 deg, 99th percentile 0.04 deg; all
far-field horizons >= 2 km inside the site: median 0.007 deg; docs/VALIDATION.md). ``oversample=2``
halves them for four times the line work.

The stereographic scale factor is not ignored: it is folded into the arc lengths (above). Only polar
stereographic grids (true scale at the pole or at ``lat_ts``, on a sphere, no false origin), the lunar
convention (IAU_2015:30135 / 30130), are accepted; others raise :class:`~lupex.errors.InputError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
import xarray as xr

from lupex.errors import InputError
from lupex.light import _farfield_kernels as _k
from lupex.light import horizon as _hz
from lupex.terrain import geo

__all__ = [
    "FarFieldGrid",
    "far_field_horizons",
    "horizons_with_far_field",
    "far_field_summary",
]


@dataclass(frozen=True)
class FarFieldGrid:
    """A DEM as the kernels see it: heights (ny, nx) m, top-left cell centre (x0, y0) m, pixel m."""

    z_m: np.ndarray
    x0_m: float
    y0_m: float
    pixel_m: float

    @property
    def extent_m(self) -> tuple[float, float, float, float]:
        """Cell-centre extent (x_min, x_max, y_min, y_max) in metres."""
        ny, nx = self.z_m.shape
        return (self.x0_m, self.x0_m + (nx - 1) * self.pixel_m, self.y0_m - (ny - 1) * self.pixel_m, self.y0_m)


# -- inputs ------------------------------------------------------------------------------------------


def _grid(da, what: str) -> FarFieldGrid:
    if not isinstance(da, xr.DataArray) or tuple(da.dims) != ("y", "x"):
        raise InputError(f"the {what} must be an xarray.DataArray with dims ('y', 'x'); read it with "
                         "lupex.terrain.io.read_dem")
    p = geo.pixel_size_m(da)
    x = np.asarray(da["x"].values, float)
    y = np.asarray(da["y"].values, float)
    if x[1] < x[0] or y[1] > y[0]:
        raise InputError(f"the {what} must be north-up with x increasing (as read_dem returns it)")
    z = np.ascontiguousarray(np.asarray(da.values, dtype=np.float64))
    if not np.all(np.isfinite(z)):
        raise InputError(f"the {what} has NaN or infinite heights; fill the holes first (read_dem does)")
    return FarFieldGrid(z, float(x[0]), float(y[0]), p)


def _projection(da) -> tuple[float, float]:
    """(sphere radius m, scale at the pole k0) of a polar stereographic DEM; InputError otherwise."""
    crs = geo.dem_crs(da)
    try:
        with warnings.catch_warnings():  # to_dict goes through PROJ strings and warns that it may lose detail
            warnings.simplefilter("ignore", UserWarning)
            d = crs.to_dict()
    except Exception:  # noqa: BLE001  (pyproj raises several kinds for exotic CRSs)
        d = {}
    polar = d.get("proj") == "stere" and abs(abs(float(d.get("lat_0", 0.0))) - 90.0) < 1e-9
    no_origin = float(d.get("x_0", 0.0)) == 0.0 and float(d.get("y_0", 0.0)) == 0.0
    ell = crs.ellipsoid
    sphere = ell is not None and abs(ell.semi_major_metre - ell.semi_minor_metre) < 1e-3
    if not (polar and no_origin and sphere):
        raise InputError(
            f"far-field horizons need polar stereographic DEMs on a sphere with the pole at (0, 0), got "
            f"{crs.name!r}; reproject the DEMs to IAU_2015:30135 (south) or IAU_2015:30130 (north), "
            "e.g. gdalwarp -t_srs IAU_2015:30135"
        )
    k0 = float(d.get("k", d.get("k_0", 1.0)))
    if "lat_ts" in d:
        k0 = (1.0 + math.sin(math.radians(abs(float(d["lat_ts"]))))) / 2.0
    return float(ell.semi_major_metre), k0


def _check_nesting(site: xr.DataArray, regional: Sequence[xr.DataArray]) -> list[FarFieldGrid]:
    if isinstance(regional, xr.DataArray):
        regional = [regional]
    if len(regional) == 0:
        raise InputError("give at least one regional DEM for the far field")
    crs = geo.dem_crs(site)
    grids = []
    inner = _grid(site, "site DEM").extent_m
    for i, da in enumerate(regional):
        g = _grid(da, f"far-field DEM #{i + 1}")
        if geo.dem_crs(da) != crs:
            raise InputError(f"far-field DEM #{i + 1} ({da.attrs.get('source', '')}) is in "
                             f"{geo.dem_crs(da).name!r} but the site DEM in {crs.name!r}; reproject it to the "
                             "site's CRS (gdalwarp -t_srs)")
        x0, x1, y0, y1 = g.extent_m
        if not (x0 <= inner[0] and inner[1] <= x1 and y0 <= inner[2] and inner[3] <= y1):
            raise InputError(f"far-field DEM #{i + 1} ({da.attrs.get('source', '')}) does not cover the "
                             f"{'site' if i == 0 else 'previous far-field'} DEM; list the far-field DEMs "
                             "from the smallest to the largest, each covering the one before")
        grids.append(g)
        inner = g.extent_m
    return grids


def _max_distance(max_distance_m) -> float:
    if max_distance_m is None:
        return math.inf
    v = float(max_distance_m)
    if math.isnan(v) or v < 0.0:
        raise InputError(f"max_distance_m must be >= 0 m (0 or None: out to the regional DEM's edge), got "
                         f"{max_distance_m!r}")
    return math.inf if v == 0.0 else v


# -- one regional DEM, one azimuth -------------------------------------------------------------------


class _Lines:
    """Per-line work arrays for ``batch`` azimuths, allocated once for the largest line count and length."""

    def __init__(self, site: FarFieldGrid, reg: FarFieldGrid, spacing: float, ds: float, max_d: float,
                 batch: int):
        ex = site.extent_m
        diag = math.hypot(ex[1] - ex[0], ex[3] - ex[2])
        self.n_lines_max = int(math.ceil(diag / spacing)) + 2
        cx, cy = 0.5 * (ex[0] + ex[1]), 0.5 * (ex[2] + ex[3])
        rx = reg.extent_m
        far = max(math.hypot(x - cx, y - cy) for x in rx[:2] for y in rx[2:])
        reach = min(far, max_d) + diag
        self.max_s = int(math.ceil(reach / ds)) + 2
        k, n, m = batch, self.n_lines_max, self.max_s
        self.u_first = np.empty((k, n))
        self.n_samp = np.zeros((k, n), np.int64)
        self.xs = np.empty((k, n, m))
        self.ys = np.empty((k, n, m))
        self.n_hull = np.zeros((k, n), np.int64)
        self.inv_k = np.empty((k, n))
        self.dinv_k = np.empty((k, n))
        self.hx = np.empty((k, n, m))
        self.hy = np.empty((k, n, m))
        self.late_n = np.zeros((k, site.z_m.shape[0]), np.int64)
        self.late_at = np.zeros((k, *site.z_m.shape), np.uint8)  # marks, cleared by late_cells
        self.geo = np.empty((7, k))  # per azimuth: dir_x, dir_y, lat_x, lat_y, v_lo, line count, u_lo
        self.centre = (cx, cy)


# Culling: a cell whose cube value (the near field, or an earlier regional DEM's far field) is already above a
# bound on its block's far field needs no query. The bound (_farfield_kernels._block_bound) is rigorous, so the
# folded cube is the same as without culling; the margin covers the float32 rounding of the stored bound and of
# the kernels' atanf (<= 1e-5 deg). On Site01 the near field is the higher of the two in ~2/3 of the
# cell-azimuths, and 8 x 8 blocks (160 m at 20 m) keep most of them skippable.
_CULL_BLOCK = 8
_CULL_MARGIN_DEG = 1e-4
# Azimuths per parallel region: one region per azimuth (~4 ms of work after culling) lost a third of its CPU
# time to threads waiting at the region's end on the shared machine; eight per region lose little.
_BATCH = 8


@dataclass(frozen=True)
class _Cull:
    """Per-block lowest and highest eye height (m) of the site (blk 0: no culling), and the bounds (deg) to fill."""

    blk: int
    zmin: np.ndarray
    zmax: np.ndarray
    bound: np.ndarray


def _cull_blocks(site: FarFieldGrid, h_m: float, batch: int, blk: int = _CULL_BLOCK) -> _Cull:
    if blk == 0:
        return _Cull(0, np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((batch, 1, 1), np.float32))
    ny, nx = site.z_m.shape
    nby, nbx = -(-ny // blk), -(-nx // blk)
    pad = np.full((nby * blk, nbx * blk), np.nan)
    pad[:ny, :nx] = site.z_m
    b = pad.reshape(nby, blk, nbx, blk)
    return _Cull(blk, np.nanmin(b, axis=(1, 3)) + h_m, np.nanmax(b, axis=(1, 3)) + h_m,
                 np.empty((batch, nby, nbx), np.float32))


def _fold_batch(site: FarFieldGrid, reg: FarFieldGrid, excl, lines: _Lines, az_deg: np.ndarray, h_m: float,
                spacing: float, ds: float, max_d: float, radius: float, k0: float, out3d: np.ndarray,
                cull: _Cull) -> None:
    """Fold one regional DEM's far field into ``out3d`` (len(az_deg), ny, nx) for up to ``_BATCH`` azimuths."""
    cx, cy = lines.centre
    ex = site.extent_m
    corners = [(x - cx, y - cy) for x in ex[:2] for y in ex[2:]]
    nb = len(az_deg)
    for k, az in enumerate(az_deg):  # each azimuth's line geometry
        a = math.radians(float(az))
        dx, dy = math.sin(a), math.cos(a)
        lx, ly = math.cos(a), -math.sin(a)
        vs = [px * lx + py * ly for px, py in corners]
        us = [px * dx + py * dy for px, py in corners]
        v_lo = min(vs)
        n_lines = min(int(math.ceil((max(vs) - v_lo) / spacing)) + 1, lines.n_lines_max)
        lines.geo[:, k] = (dx, dy, lx, ly, v_lo, n_lines, min(us) - ds)
    g = lines.geo[:, :nb]
    n_lines = g[5].astype(np.int64)
    with numba.parallel_chunksize(1):  # dynamic: line lengths and the culled work per block row vary
        _k.build_lines(reg.z_m, reg.x0_m, reg.y0_m, reg.pixel_m, g[0], g[1], g[2], g[3], cx, cy, g[4], n_lines,
                       spacing, excl[0], excl[1], excl[2], excl[3], g[6], max_d, ds, radius, k0, lines.u_first,
                       lines.n_samp, lines.xs, lines.ys, lines.n_hull, lines.inv_k, lines.dinv_k, lines.hx, lines.hy)
        _k.query_cells(site.z_m, site.x0_m, site.y0_m, site.pixel_m, h_m, g[0], g[1], g[2], g[3], cx, cy, g[4],
                       n_lines, spacing, radius, lines.u_first, lines.n_samp, lines.n_hull, lines.hx, lines.hy,
                       lines.inv_k, lines.dinv_k, lines.late_n, lines.late_at, out3d, cull.blk, cull.zmin, cull.zmax,
                       _CULL_MARGIN_DEG, cull.bound)
    for k in range(nb):
        sl = slice(0, int(n_lines[k]))
        _k.late_cells(site.z_m, site.x0_m, site.y0_m, site.pixel_m, h_m, g[0, k], g[1, k], g[2, k], g[3, k], cx, cy,
                      g[4, k], spacing, ds, radius, lines.u_first[k, sl], lines.n_samp[k, sl], lines.xs[k, sl],
                      lines.ys[k, sl], lines.inv_k[k, sl], lines.dinv_k[k, sl], lines.late_n[k], lines.late_at[k],
                      out3d[k])


# -- public ------------------------------------------------------------------------------------------


def far_field_horizons(
    site_dem: xr.DataArray,
    regional: Sequence[xr.DataArray],
    n_azimuths: int = 360,
    *,
    observer_height_m: float = 0.0,
    max_distance_m: float | None = None,
    oversample: int = 1,
    az_indices: np.ndarray | None = None,
    out: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Far-field horizon elevation (deg above each site cell's horizontal) at each grid azimuth.

    Parameters
    ----------
    site_dem : the site DEM (dims y, x; polar stereographic), whose cells are the observers.
    regional : one or more coarser DEMs in the same CRS, smallest first, each covering the one before;
        each contributes its terrain outside the previous one's cell-centre footprint.
    n_azimuths : azimuths ``k * 360 / n``, grid azimuth clockwise from grid +y.
    observer_height_m : eye height above each cell's ground (>= 0 m).
    max_distance_m : far terrain farther than this from the site DEM's centre (projected metres) is
        left out; None or 0: out to each regional DEM's edge.
    oversample : lines and samples per regional pixel (1: one per pixel; the error bound scales as 1/oversample).
    az_indices : which of the ``n_azimuths`` to compute (default all), in the order given.
    out : float32 (n_sel, ny, nx) to fold the far field into with ``max`` (e.g. the near-field cube);
        without it a new cube is returned holding the far field alone, -90 deg where no far terrain
        lies ahead (beyond ``max_distance_m``).
    progress : called with the count of finished azimuths after each one.

    Returns
    -------
    float32 (n_sel, ny, nx) cube (``out`` itself when given). Method and error bound: module docstring.
    """
    plan = _plan(site_dem, regional, max_distance_m, oversample)
    n_az = _hz._check_n_azimuths(n_azimuths)
    h = _hz._check_height(observer_height_m)
    sel = _hz._select(n_az, az_indices)
    if out is None:
        res = np.full((sel.size, *plan.site.z_m.shape), -90.0, np.float32)
    else:
        res = _hz._prepare_out(out, sel.size, plan.site.z_m.shape)
    _fold_all(plan, _hz.azimuths_deg(n_az)[sel], h, res, progress, cull=out is not None)
    return res


@dataclass(frozen=True)
class _Plan:
    site: FarFieldGrid
    layers: list  # (regional grid, excluded extent, _Lines, step m) per regional DEM
    max_d: float
    radius: float
    k0: float


def _plan(site_dem, regional, max_distance_m, oversample) -> _Plan:
    """Checked inputs and work arrays, made once per call (not per azimuth)."""
    grids = _check_nesting(site_dem, regional)
    site = _grid(site_dem, "site DEM")
    radius, k0 = _projection(site_dem)
    max_d = _max_distance(max_distance_m)
    if isinstance(oversample, bool) or not isinstance(oversample, (int, np.integer)) or not 1 <= oversample <= 8:
        raise InputError(f"oversample must be an integer 1..8, got {oversample!r}")
    excl = [site.extent_m] + [g.extent_m for g in grids[:-1]]
    layers = []
    for g, ex in zip(grids, excl):
        step = g.pixel_m / int(oversample)
        layers.append((g, ex, _Lines(site, g, step, step, max_d, _BATCH), step))
    return _Plan(site, layers, max_d, radius, k0)


def _fold_all(plan: _Plan, az_deg: np.ndarray, h: float, res: np.ndarray, progress, *, cull: bool = True) -> None:
    site = plan.site
    blocks = _cull_blocks(site, h, _BATCH, _CULL_BLOCK if cull else 0)
    scratch = None
    with _hz._threads_for(site.z_m.size):
        for i0 in range(0, len(az_deg), _BATCH):
            i1 = min(i0 + _BATCH, len(az_deg))
            target = np.asarray(res[i0:i1])
            direct = target.flags.c_contiguous and target.flags.writeable and target.dtype == np.float32
            if not direct:  # a copy to fold into, written back below
                if scratch is None:
                    scratch = np.empty((_BATCH, *site.z_m.shape), np.float32)
                target = scratch[:i1 - i0]
                target[...] = res[i0:i1]
            for g, ex, lines, step in plan.layers:
                _fold_batch(site, g, ex, lines, az_deg[i0:i1], h, step, step, plan.max_d, plan.radius, plan.k0,
                            target, blocks)
            if not direct:
                res[i0:i1] = target
            if progress is not None:
                for i in range(i0, i1):
                    progress(i + 1)


def horizons_with_far_field(
    dem: xr.DataArray,
    far_field: Sequence[xr.DataArray] | None,
    n_azimuths: int = 360,
    *,
    observer_height_m: float = 0.0,
    max_distance_m: float | None = None,
    az_indices: np.ndarray | None = None,
    out: np.ndarray | None = None,
    client=None,
    progress: Callable[[int], None] | None = None,
    chunk_azimuths: int = 45,
) -> np.ndarray:
    """Horizon cube (deg, float32 (n_sel, ny, nx)) of ``dem``: near field, raised by the far field of ``far_field``.

    The near field is :func:`lupex.light.horizon.horizon_angles` (or its Dask version with ``client``),
    unchanged; with no ``far_field`` DEMs this is exactly that cube. Azimuths go in chunks of
    ``chunk_azimuths`` (near field, then far field folded in with ``max``); ``progress(k)`` is called
    with the number of finished azimuths after each far-field azimuth (after each near-field one
    when there is no far field).

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM, (ny, nx) heights, m, on a square grid.
    far_field : sequence of xr.DataArray, optional
        Regional DEMs (smallest first) around the site, heights in m; None or empty: near field only.
    n_azimuths : int
        Azimuths ``k * 360 / n_azimuths``, deg (grid azimuth, clockwise from grid +y).
    observer_height_m : float
        Eye height above the ground, m.
    max_distance_m : float, optional
        Far-field reach from the site's centre, m (default: the far-field DEMs' edge).
    az_indices : np.ndarray, optional
        Which of the ``n_azimuths`` to compute (default all), in the order given.
    out : np.ndarray, optional
        float32 (n_sel, ny, nx) array to fill (e.g. an ``np.memmap``).
    client : dask.distributed.Client, optional
        Compute the near field on its workers.
    progress : callable, optional
        Called with the count of finished azimuths.
    chunk_azimuths : int
        Azimuths per chunk.
    """
    z = _hz._check_dem(np.asarray(dem.values))
    pixel = geo.pixel_size_m(dem)
    n_az = _hz._check_n_azimuths(n_azimuths)
    sel = _hz._select(n_az, az_indices)
    res = _hz._prepare_out(out, sel.size, z.shape)
    far = list(far_field or [])
    plan = _plan(dem, far, max_distance_m, 1) if far else None  # fails before the near field
    h = _hz._check_height(observer_height_m)
    az = _hz.azimuths_deg(n_az)
    step = sel.size if not far else max(1, int(chunk_azimuths))
    for i0 in range(0, sel.size, step):
        idx = sel[i0:i0 + step]
        view = res[i0:i0 + idx.size]
        near_progress = None if far else (lambda k, i0=i0: progress(i0 + k)) if progress else None
        if client is not None:
            got = _hz.horizon_angles_dask(z, pixel, n_az, client=client, observer_height_m=observer_height_m,
                                          az_indices=idx, out=view, progress=near_progress)
        else:
            got = _hz.horizon_angles(z, pixel, n_az, observer_height_m=observer_height_m, az_indices=idx,
                                     out=view, progress=near_progress)
        if got is not None and not np.shares_memory(got, view):
            view[...] = got
        if far:
            _fold_all(plan, az[idx], h, view, (lambda k, i0=i0: progress(i0 + k)) if progress else None)
    return res


def far_field_summary(far_field: Sequence[xr.DataArray] | None, max_distance_m: float | None) -> dict:
    """What the far field was made of, for dataset attributes and the run manifest (strings and numbers)."""
    far = list(far_field or [])
    if not far:
        return {"far_field_dems": "", "far_field_max_m": 0.0}
    return {
        "far_field_dems": "; ".join(str(d.attrs.get("source", "array")) for d in far),
        "far_field_pixel_m": "; ".join(f"{float(abs(d['x'].values[1] - d['x'].values[0])):g}" for d in far),
        "far_field_max_m": float(max_distance_m or 0.0),
    }
