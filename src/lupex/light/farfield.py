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

Cost per azimuth: O(site cells x log(hull size)) plus O(site width x regional range / spacing**2)
samples, independent of the site's resolution for the second term.

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
keeps out with ``sites.edge_margin_m``. On Site01 with the 240 m polar cap (``G`` ~ 0.6) the bound is a
few hundredths of a degree for horizons 20 km away; the measured errors are listed in docs/VALIDATION.md.

The stereographic scale factor is not ignored: it is folded into the arc lengths (above). Only polar
stereographic grids (true scale at the pole or at ``lat_ts``, on a sphere, no false origin), the lunar
convention (IAU_2015:30135 / 30130), are accepted; others raise :class:`~lupex.errors.InputError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from lupex.errors import InputError
from lupex.light import _farfield_kernels as _k
from lupex.light import horizon as _hz

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
    from lupex.terrain import geo

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
    from lupex.terrain import geo

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
    from lupex.terrain import geo

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
    """Per-line work arrays, allocated once for the largest line count and length of a regional DEM."""

    def __init__(self, site: FarFieldGrid, reg: FarFieldGrid, spacing: float, ds: float, max_d: float):
        ex = site.extent_m
        diag = math.hypot(ex[1] - ex[0], ex[3] - ex[2])
        self.n_lines_max = int(math.ceil(diag / spacing)) + 2
        cx, cy = 0.5 * (ex[0] + ex[1]), 0.5 * (ex[2] + ex[3])
        rx = reg.extent_m
        far = max(math.hypot(x - cx, y - cy) for x in rx[:2] for y in rx[2:])
        reach = min(far, max_d) + diag
        self.max_s = int(math.ceil(reach / ds)) + 2
        n, m = self.n_lines_max, self.max_s
        self.u_first = np.empty(n)
        self.n_samp = np.zeros(n, np.int64)
        self.xs = np.empty((n, m))
        self.ys = np.empty((n, m))
        self.hull = np.empty((n, m), np.int64)
        self.n_hull = np.zeros(n, np.int64)
        self.inv_k = np.empty(n)
        self.dinv_k = np.empty(n)
        self.hx = np.empty((n, m))
        self.hy = np.empty((n, m))
        side = max(site.z_m.shape)
        self.late_n = np.zeros(side, np.int64)
        self.late_at = np.empty((side, side), np.int64)
        self.centre = (cx, cy)


def _fold_azimuth(site: FarFieldGrid, reg: FarFieldGrid, excl, lines: _Lines, az_deg: float, h_m: float,
                  spacing: float, ds: float, max_d: float, radius: float, k0: float, out2d: np.ndarray) -> None:
    a = math.radians(az_deg)
    dx, dy = math.sin(a), math.cos(a)
    lx, ly = math.cos(a), -math.sin(a)
    cx, cy = lines.centre
    ex = site.extent_m
    corners = [(x - cx, y - cy) for x in ex[:2] for y in ex[2:]]
    vs = [px * lx + py * ly for px, py in corners]
    us = [px * dx + py * dy for px, py in corners]
    v_lo = min(vs)
    n_lines = min(int(math.ceil((max(vs) - v_lo) / spacing)) + 1, lines.n_lines_max)
    sl = slice(0, n_lines)
    _k.build_lines(reg.z_m, reg.x0_m, reg.y0_m, reg.pixel_m, dx, dy, lx, ly, cx, cy, v_lo, spacing,
                   excl[0], excl[1], excl[2], excl[3], min(us) - ds, max_d, ds, radius, k0,
                   lines.u_first[sl], lines.n_samp[sl], lines.xs[sl], lines.ys[sl], lines.hull[sl],
                   lines.n_hull[sl], lines.inv_k[sl], lines.dinv_k[sl], lines.hx[sl], lines.hy[sl])
    by_columns = abs(dy) > abs(dx)
    n_outer = site.z_m.shape[1] if by_columns else site.z_m.shape[0]
    geo = (site.z_m, site.x0_m, site.y0_m, site.pixel_m, h_m, dx, dy, lx, ly, cx, cy, v_lo, spacing)
    late = (by_columns, lines.late_n[:n_outer], lines.late_at[:n_outer])
    _k.query_cells(*geo, ds, radius, lines.u_first[sl], lines.n_samp[sl], lines.n_hull[sl], lines.hx[sl],
                   lines.hy[sl], lines.inv_k[sl], lines.dinv_k[sl], *late, out2d)
    _k.late_cells(*geo, ds, radius, lines.u_first[sl], lines.n_samp[sl], lines.xs[sl], lines.ys[sl],
                  lines.inv_k[sl], lines.dinv_k[sl], *late, out2d)


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
    grids = _check_nesting(site_dem, regional)
    site = _grid(site_dem, "site DEM")
    radius, k0 = _projection(site_dem)
    n_az = _hz._check_n_azimuths(n_azimuths)
    h = _hz._check_height(observer_height_m)
    max_d = _max_distance(max_distance_m)
    if isinstance(oversample, bool) or not isinstance(oversample, (int, np.integer)) or not 1 <= oversample <= 8:
        raise InputError(f"oversample must be an integer 1..8, got {oversample!r}")
    sel = _hz._select(n_az, az_indices)
    if out is None:
        res = np.full((sel.size, *site.z_m.shape), -90.0, np.float32)
    else:
        res = _hz._prepare_out(out, sel.size, site.z_m.shape)
    az = _hz.azimuths_deg(n_az)
    excl = [site.extent_m] + [g.extent_m for g in grids[:-1]]
    plans = []
    for g, ex in zip(grids, excl):
        step = g.pixel_m / int(oversample)
        plans.append((g, ex, _Lines(site, g, step, step, max_d), step))
    with _hz._threads_for(site.z_m.size):
        for i, k in enumerate(sel):
            target = np.asarray(res[i])
            direct = target.flags.c_contiguous and target.flags.writeable and target.dtype == np.float32
            if not direct:
                target = np.array(target, dtype=np.float32)  # a copy to fold into, written back below
            for g, ex, lines, step in plans:
                _fold_azimuth(site, g, ex, lines, float(az[k]), h, step, step, max_d, radius, k0, target)
            if not direct:
                res[i] = target
            if progress is not None:
                progress(i + 1)
    return res


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
    chunk_azimuths: int = 16,
) -> np.ndarray:
    """Horizon cube (deg, float32 (n_sel, ny, nx)) of ``dem``: near field, raised by the far field of ``far_field``.

    The near field is :func:`lupex.light.horizon.horizon_angles` (or its Dask version with ``client``),
    unchanged; with no ``far_field`` DEMs this is exactly that cube. Azimuths go in chunks of
    ``chunk_azimuths`` (near field, then far field folded in with ``max``); ``progress(k)`` is called
    with the number of finished azimuths after each far-field azimuth (after each near-field one
    when there is no far field).
    """
    from lupex.terrain import geo

    z = _hz._check_dem(np.asarray(dem.values))
    pixel = geo.pixel_size_m(dem)
    n_az = _hz._check_n_azimuths(n_azimuths)
    sel = _hz._select(n_az, az_indices)
    res = _hz._prepare_out(out, sel.size, z.shape)
    far = list(far_field or [])
    if far:
        _check_nesting(dem, far)  # fail before the near field
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
            far_field_horizons(dem, far, n_az, observer_height_m=observer_height_m, max_distance_m=max_distance_m,
                               az_indices=idx, out=view,
                               progress=(lambda k, i0=i0: progress(i0 + k)) if progress else None)
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
