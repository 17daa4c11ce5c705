"""Topographic horizon: the horizon elevation angle of every DEM cell at N azimuths.

Method
------
One sweep per azimuth, O(N) per azimuth for N cells (Dozier & Frew 1990, "Rapid
calculation of terrain parameters for radiation modeling from digital elevation
model data", IEEE TGRS 28(5):963-969; Dozier 2022, "Revisiting the topographic
horizon problem in the era of big data and parallel computing", Computers &
Geosciences 160:105011):

1. For azimuth ``a`` (grid azimuth, clockwise from grid +y, see
   :mod:`lupex.terrain.geo`) the grid is turned (transposed and/or flipped, no
   resampling) so the direction of view runs along +column (the *major* axis,
   the one the direction is closer to) and drifts towards +row (the *minor*
   axis) by ``t = |tan|`` of its angle off the major axis, ``0 <= t <= 1``.
2. The grid is cut into parallel lines in that direction (the "sheared grid"):
   line points sit exactly on every column's cell centres and at fractional rows
   ``m = r0 + t*c`` with integer ``r0``; heights are linearly interpolated between
   the two straddling rows. Successive points are ``ds = pixel / max(|sin a|, |cos a|)``
   apart along the ray, so distances are exact.
3. **Cell assignment.** The point of a line at column ``c`` is the observer for the
   cell in that column whose row is nearest (``floor(m + 0.5)``); because the
   ``r0`` are consecutive integers every cell is the observer of exactly one line
   point per azimuth. That point is up to half a cell off the cell centre along
   the minor axis; its height is the line's interpolated height (so a tilted
   plane is handled exactly), and the ray it looks along is the parallel ray
   through that point.
4. Along a line, processed from its far end backwards, an upper-convex-hull stack
   of the points ahead gives each point's horizon by walking back through the
   hull (amortised O(1) per point; a raised observer uses a binary search for
   the tangent on the remaining hull, O(log n)).

Curvature (parabolic approximation, exact for ``d << R``): a target at distance
``d`` ahead drops by ``d**2 / (2R)``. With arclength ``s`` along the line and
``z' = z - s**2/(2R)``::

    z_t - (z_o + h) - d**2/(2R) = z'_t - z'_o - h + d * s_o / R,   d = s_t - s_o
    tan(elev) = (z'_t - z'_o - h) / d + s_o / R

The last term is the same for every target of one observer, so the maximiser is
the hull vertex of the (s, z') points tangent from ``(s_o, z'_o + h)``. The
observer stands ``observer_height_m`` above the ground; targets are the ground.

Definitions
-----------
* The terrain is the piecewise-(bi)linear surface through the cell centres,
  ``[0, nx-1] x [0, ny-1]`` in (column, row); line points whose fractional row
  lies in the half-cell margin outside it are observers only, never targets.
* The horizon is the maximum elevation over the in-grid points ahead; where the
  terrain never rises above it this is simply the highest (usually nearest or
  edge) sample: nothing beyond the grid is assumed.
* A cell with no in-grid point ahead (on the edge the ray leaves through) gets
  the smooth-sphere horizon ``-atan(sqrt(2 h / R))`` (0 deg for ``h = 0``).

Accuracy against a fine ray march (:func:`horizon_bruteforce`): each sweep point
differs from the true ray by a lateral shift of at most half a cell, and the
sweep samples once per column (<= sqrt(2) cells along the ray). With ``G`` the
largest height step between neighbouring cells divided by the pixel size, this
bounds the difference of the horizon tangents by ``(2 G + |tan e|) * pixel / d_h``
for a horizon at distance ``d_h``: a couple of cells' angular size at the
horizon (tests/test_horizon.py checks it and reports the typical error).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import numba
import numpy as np

from lupex.ephemeris import MOON_RADIUS_M
from lupex.errors import InputError
from lupex.light import _horizon_kernels as _k

__all__ = [
    "azimuths_deg",
    "horizon_angles",
    "horizon_angles_dask",
    "horizon_bruteforce",
    "horizon_memory_bytes",
]


def azimuths_deg(n_azimuths: int = 360) -> np.ndarray:
    """Grid azimuths ``k * 360 / n`` (k = 0..n-1) in degrees, clockwise from grid +y."""
    n = _check_n_azimuths(n_azimuths)
    return np.arange(n, dtype=np.float64) * (360.0 / n)


def horizon_memory_bytes(shape: tuple[int, int], n_azimuths: int = 360) -> int:
    """Bytes :func:`horizon_angles` needs: the float32 result plus its float64 working copies.

    Pass ``out=np.memmap(...)`` to keep the result (the first term) on disk.
    """
    ny, nx = (int(v) for v in shape)
    return int(n_azimuths) * ny * nx * 4 + 2 * ny * nx * 8 + 4 * ny * nx


# Below this many cells one azimuth is ~1 ms of work, and waking numba's worker threads
# (worse, waiting for one descheduled on a busy machine) costs more than it saves.
_SERIAL_BELOW_CELLS = 1 << 16


@contextlib.contextmanager
def _threads_for(n_cells: int):
    if n_cells >= _SERIAL_BELOW_CELLS or numba.get_num_threads() == 1:
        yield
        return
    prev = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(prev)


# -- validation ----------------------------------------------------------------------------------


def _check_n_azimuths(n_azimuths) -> int:
    if isinstance(n_azimuths, bool) or not isinstance(n_azimuths, (int, np.integer)) or n_azimuths < 1:
        raise InputError(f"n_azimuths must be an integer >= 1 (got {n_azimuths!r}); e.g. 360 for 1-degree steps")
    return int(n_azimuths)


def _check_dem(z_m) -> np.ndarray:
    try:
        z = np.asarray(z_m, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the DEM must be a 2-D numeric array of heights in metres ({exc})") from None
    if z.ndim != 2:
        raise InputError(f"the DEM must be a 2-D (ny, nx) array of heights in metres, got shape {z.shape}")
    if z.shape[0] < 2 or z.shape[1] < 2:
        raise InputError(f"the DEM must have at least 2 x 2 cells, got {z.shape}")
    bad = ~np.isfinite(z)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"the DEM has {int(bad.sum())} NaN/inf cells (first at row {r}, col {c}); fill the holes "
            "(e.g. interpolate, or gdal_fillnodata.py) before computing horizons"
        )
    return np.ascontiguousarray(z)


def _check_positive(name: str, value, allow_inf: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not (v > 0.0) or (math.isinf(v) and not allow_inf) or math.isnan(v):
        raise InputError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _check_height(h) -> float:
    try:
        v = float(h)
    except (TypeError, ValueError):
        raise InputError(f"observer_height_m must be a number, got {h!r}") from None
    if not math.isfinite(v) or v < 0.0:
        raise InputError(f"observer_height_m must be >= 0 m (height above the ground), got {h!r}")
    return v


def _edge_deg(h_m: float, inv_radius: float) -> float:
    """Smooth-sphere horizon of an observer ``h`` above it (parabolic: tan = -sqrt(2h/R))."""
    return -math.degrees(math.atan(math.sqrt(2.0 * h_m * inv_radius)))


def _select(n_az: int, az_indices) -> np.ndarray:
    if az_indices is None:
        return np.arange(n_az, dtype=np.int64)
    sel = np.atleast_1d(np.asarray(az_indices))
    if sel.ndim != 1 or not np.issubdtype(sel.dtype, np.integer):
        raise InputError("az_indices must be a 1-D array of integer azimuth indices")
    if sel.size and (sel.min() < 0 or sel.max() >= n_az):
        raise InputError(f"az_indices must lie in 0..{n_az - 1} for n_azimuths={n_az}")
    return sel.astype(np.int64)


def _prepare_out(out, n_sel: int, shape) -> np.ndarray:
    want = (n_sel, *shape)
    if out is None:
        return np.empty(want, dtype=np.float32)
    if tuple(out.shape) != want or out.dtype != np.float32:
        raise InputError(
            f"out must be a float32 array of shape {want} (azimuths, ny, nx), got {out.dtype} {tuple(out.shape)}"
        )
    return out


# -- the sweep -----------------------------------------------------------------------------------


def _orientation(az_deg: float) -> tuple[bool, bool, bool, float, float]:
    """(transpose, flip_major, flip_minor, t, major step per unit distance) for grid azimuth ``az_deg``."""
    a = math.radians(az_deg)
    dcol, drow = math.sin(a), -math.cos(a)
    if abs(dcol) >= abs(drow):
        transpose, dmaj, dmin = False, dcol, drow
    else:
        transpose, dmaj, dmin = True, drow, dcol
    return transpose, dmaj < 0.0, dmin < 0.0, abs(dmin) / abs(dmaj), abs(dmaj)


class _Turned:
    """Keeps the turned float64 copy of the DEM for the current orientation class."""

    def __init__(self, z: np.ndarray):
        self.z = z
        self.key = None
        self.w = None

    def get(self, transpose: bool, flip_major: bool, flip_minor: bool) -> np.ndarray:
        key = (transpose, flip_major, flip_minor)
        if key != self.key:
            w = self.z.T if transpose else self.z
            if flip_major:
                w = w[:, ::-1]
            if flip_minor:
                w = w[::-1, :]
            self.w = None  # free the previous copy first
            self.w = np.ascontiguousarray(w)
            self.key = key
        return self.w


def _sweep_one(turned: _Turned, pixel_m: float, az_deg: float, h_m: float, inv_radius: float,
               out2d: np.ndarray, dist2d: np.ndarray | None = None) -> None:
    transpose, fmaj, fmin, t, dmaj = _orientation(az_deg)
    w = turned.get(transpose, fmaj, fmin)
    want_dist = dist2d is not None
    if dist2d is None:
        dist2d = np.empty((1, 1), np.float64)
    _k.sweep_azimuth(w, t, pixel_m / dmaj, inv_radius, h_m, _edge_deg(h_m, inv_radius),
                     transpose, fmaj, fmin, out2d, want_dist, dist2d)


def _horizon_with_distance(z_m, pixel_m: float, az_deg: float, *, observer_height_m: float = 0.0,
                           radius_m: float = MOON_RADIUS_M) -> tuple[np.ndarray, np.ndarray]:
    """(elevation deg float32 (ny, nx), horizon distance m float64) at one azimuth; for tests."""
    z = _check_dem(z_m)
    pixel = _check_positive("pixel_m", pixel_m)
    h = _check_height(observer_height_m)
    inv_r = 1.0 / _check_positive("radius_m", radius_m, allow_inf=True)
    out = np.empty(z.shape, np.float32)
    dist = np.empty(z.shape, np.float64)
    _sweep_one(_Turned(z), pixel, float(az_deg), h, inv_r, out, dist)
    return out, dist


def _validated(z_m, pixel_m, n_azimuths, observer_height_m, radius_m, az_indices, out):
    """Checked inputs shared by the in-process and Dask entry points."""
    z = _check_dem(z_m)
    pixel = _check_positive("pixel_m", pixel_m)
    n_az = _check_n_azimuths(n_azimuths)
    h = _check_height(observer_height_m)
    inv_r = 1.0 / _check_positive("radius_m", radius_m, allow_inf=True)
    sel = _select(n_az, az_indices)
    res = _prepare_out(out, sel.size, z.shape)
    return z, pixel, n_az, h, inv_r, sel, res


def horizon_angles(
    z_m: np.ndarray,
    pixel_m: float,
    n_azimuths: int = 360,
    *,
    observer_height_m: float = 0.0,
    radius_m: float = MOON_RADIUS_M,
    az_indices: np.ndarray | None = None,
    out: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Horizon elevation angle (degrees above the local horizontal) of every cell at each azimuth.

    Parameters
    ----------
    z_m : (ny, nx) heights in metres above the reference sphere, row 0 = largest y.
    pixel_m : square pixel size in metres.
    n_azimuths : azimuths ``k * 360 / n`` (grid azimuth, see :func:`azimuths_deg`).
    observer_height_m : observer eye height above the ground (>= 0); targets are the ground.
    radius_m : body radius for the curvature drop (``np.inf`` for a flat world).
    az_indices : which of the ``n_azimuths`` to compute (default all), in the order given.
    out : optional preallocated float32 (n_sel, ny, nx) array to fill (e.g. ``np.memmap``).
    progress : called with the count of finished azimuths after each one.

    Returns
    -------
    float32 (n_sel, ny, nx) array (``out`` itself when given). See the module docstring
    for the method, the edge convention and the accuracy.
    """
    z, pixel, n_az, h, inv_r, sel, res = _validated(z_m, pixel_m, n_azimuths, observer_height_m, radius_m,
                                                    az_indices, out)
    az = azimuths_deg(n_az)
    turned = _Turned(z)
    with _threads_for(z.size):
        _sweep_all(turned, pixel, az, sel, h, inv_r, res, progress)
    return res


def _sweep_all(turned, pixel, az, sel, h, inv_r, res, progress) -> None:
    scratch = None
    z = turned.z
    for i, k in enumerate(sel):
        target = np.asarray(res[i])  # a plain ndarray view, also of an np.memmap
        direct = target.flags.c_contiguous and target.flags.writeable and target.dtype == np.float32
        if not direct:
            if scratch is None:
                scratch = np.empty(z.shape, np.float32)
            target = scratch
        _sweep_one(turned, pixel, float(az[k]), h, inv_r, target)
        if not direct:
            res[i] = target
        if progress is not None:
            progress(i + 1)


# -- the independent reference -------------------------------------------------------------------


def horizon_bruteforce(
    z_m: np.ndarray,
    pixel_m: float,
    az_deg: float,
    rows,
    cols,
    *,
    observer_height_m: float = 0.0,
    radius_m: float = MOON_RADIUS_M,
    step_px: float = 0.25,
    return_distance: bool = False,
):
    """Horizon elevation (deg, float64) of cells ``(rows[i], cols[i])`` at ``az_deg`` by a naive ray march.

    From each cell centre, samples every ``step_px`` pixels along the ray until it leaves
    ``[0, nx-1] x [0, ny-1]``; heights by bilinear interpolation; elevation of a sample at
    distance ``d``: ``atan((z_t - z_o - h - d**2/(2R)) / d)``; the horizon is the maximum.
    Same edge convention as :func:`horizon_angles`. With ``return_distance`` also returns
    the distance (m) of the maximising sample (inf where none).

    Parameters
    ----------
    z_m : np.ndarray
        (ny, nx) heights, m, above the reference sphere, row 0 = largest y.
    pixel_m : float
        Square pixel size, m.
    az_deg : float
        Grid azimuth of the rays, deg, clockwise from grid +y.
    rows, cols : array_like of int
        (n,) cells to compute.
    observer_height_m : float
        Eye height above the ground, m.
    radius_m : float
        Body radius for the curvature drop, m (``np.inf``: a flat world).
    step_px : float
        Ray-march step, px.
    return_distance : bool
        Also return the distance (m) of the maximising sample.
    """
    z = _check_dem(z_m)
    pixel = _check_positive("pixel_m", pixel_m)
    step = _check_positive("step_px", step_px)
    h = _check_height(observer_height_m)
    inv_r = 1.0 / _check_positive("radius_m", radius_m, allow_inf=True)
    r = np.atleast_1d(np.asarray(rows, dtype=np.int64))
    c = np.atleast_1d(np.asarray(cols, dtype=np.int64))
    if r.shape != c.shape:
        raise InputError("rows and cols must have the same length")
    ny, nx = z.shape
    if r.size and (r.min() < 0 or r.max() >= ny or c.min() < 0 or c.max() >= nx):
        raise InputError(f"rows/cols must index the DEM of shape {z.shape}")
    out = np.empty(r.size, np.float64)
    dist = np.empty(r.size, np.float64)
    _k.bruteforce_cells(z, pixel, math.radians(float(az_deg)), r, c, h, inv_r, step,
                        _edge_deg(h, inv_r), out, dist)
    return (out, dist) if return_distance else out


# -- dask ----------------------------------------------------------------------------------------


def _dask_chunk(z, pixel_m, n_azimuths, az_indices, observer_height_m, radius_m):
    return horizon_angles(z, pixel_m, n_azimuths, observer_height_m=observer_height_m,
                          radius_m=radius_m, az_indices=az_indices)


def horizon_angles_dask(
    z_m: np.ndarray,
    pixel_m: float,
    n_azimuths: int = 360,
    *,
    client,
    chunk_azimuths: int = 16,
    observer_height_m: float = 0.0,
    radius_m: float = MOON_RADIUS_M,
    az_indices: np.ndarray | None = None,
    out: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """:func:`horizon_angles` split into chunks of azimuths on a ``dask.distributed`` ``client``.

    The DEM is scattered to the workers once; each task runs the same kernel on its
    azimuths, so the result is bit-for-bit that of :func:`horizon_angles`. Chunks are
    written into the result (or ``out``) as they finish; ``progress`` is called with
    the number of finished azimuths.

    Parameters
    ----------
    z_m : np.ndarray
        (ny, nx) heights, m, above the reference sphere, row 0 = largest y.
    pixel_m : float
        Square pixel size, m.
    n_azimuths : int
        Azimuths ``k * 360 / n_azimuths``, deg (grid azimuth, see :func:`azimuths_deg`).
    client : dask.distributed.Client
        The cluster to run the chunks on.
    chunk_azimuths : int
        Azimuths per task.
    observer_height_m : float
        Eye height above the ground, m (>= 0).
    radius_m : float
        Body radius for the curvature drop, m (``np.inf``: a flat world).
    az_indices : np.ndarray, optional
        Which of the ``n_azimuths`` to compute (default all), in the order given.
    out : np.ndarray, optional
        float32 (n_sel, ny, nx) array to fill (e.g. an ``np.memmap``).
    progress : callable, optional
        Called with the count of finished azimuths.
    """
    from distributed import as_completed  # noqa: PLC0415  dask.distributed is heavy; needed only with a client

    z, pixel, n_az, h, _inv_r, sel, res = _validated(z_m, pixel_m, n_azimuths, observer_height_m, radius_m,
                                                     az_indices, out)
    if isinstance(chunk_azimuths, bool) or not isinstance(chunk_azimuths, (int, np.integer)) or chunk_azimuths < 1:
        raise InputError(f"chunk_azimuths must be an integer >= 1, got {chunk_azimuths!r}")
    z_future = client.scatter(z, broadcast=True)
    where = {}
    for i0 in range(0, sel.size, int(chunk_azimuths)):
        idx = sel[i0:i0 + int(chunk_azimuths)]
        fut = client.submit(_dask_chunk, z_future, pixel, n_az, idx, h, float(radius_m), pure=False)
        where[fut] = (i0, idx.size)
    done = 0
    for fut in as_completed(list(where)):
        i0, n = where[fut]
        res[i0:i0 + n] = fut.result()
        fut.release()
        done += n
        if progress is not None:
            progress(done)
    return res
