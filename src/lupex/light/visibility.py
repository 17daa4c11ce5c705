"""Per-cell time series of Sun and Earth visibility over a window of a DEM.

The traverse planner needs, for every cell of the region it searches and every
step of the light series, how much of the Sun's disk is visible (power) and
whether the Earth is (operations). :func:`lupex.light.illumination.light_statistics`
reduces the time axis on the fly; here it is kept, for a rectangular *window*
of the DEM (the corridor around a traverse), as quantised uint8 cubes
``(nt, ny, nx)``: ``round(255 * fraction)``. One byte per cell-step: a
300 x 300 window over 720 hourly steps is 65 MB per body, the whole
1000 x 1000 grid would be 720 MB, so callers crop to a corridor
(:func:`corridor_window`).

The geometry is the light core's: the site frame and per-cell rotation of
:mod:`lupex.light.sky` (the window's cells use the *full* DEM's site frame, so
numbers do not depend on the window), the asin series for the elevation, the
first-order azimuth correction, linear interpolation of the horizon between
neighbouring azimuths, and the circular-segment disk fraction in the same
closed form (Mazarico et al. 2011, Icarus 211:1066; Gläser et al. 2014, Icarus
243:78). The per-step inner function is the numba function of
:mod:`lupex.light._kernel` (``_fraction``), so a cell's series
here and its statistics there are computed by identical arithmetic; the tests
compare with :func:`lupex.light.illumination.point_series` (vectorised numpy,
exact asin/atan2).

Quantisation: 1/510 in the fraction (< 0.2%). A fraction > 0 never rounds to
0 (``ceil`` below 1/255), so "dark" (== 0) is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from lupex import ephemeris
from lupex.errors import InputError
from lupex.light import sky as _sky
from lupex.light._kernel import FASTMATH, _fraction
from lupex.light.illumination import _check_cube, _check_dem, regular_times
from lupex.terrain import geo

__all__ = ["VisibilitySeries", "visibility_series", "corridor_window"]


@dataclass(frozen=True)
class VisibilitySeries:
    """Sun and Earth visibility of the cells of a DEM window over a regular time grid.

    ``sun``/``earth``: uint8 (nt, ny, nx), visible disk fraction x 255 (rounded;
    0 only when nothing is visible). ``row0``, ``col0``: the window's first row
    and column in the full DEM. Per time, at the site centre: ``sun_azimuth_deg``
    (grid azimuth, clockwise from grid +y), ``sun_elevation_deg``,
    ``sun_distance_m``, ``earth_elevation_deg``.
    """

    times: np.ndarray  # datetime64[ns] (nt,)
    step_s: float
    row0: int
    col0: int
    sun: np.ndarray
    earth: np.ndarray
    sun_azimuth_deg: np.ndarray
    sun_elevation_deg: np.ndarray
    sun_distance_m: np.ndarray
    earth_elevation_deg: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape (nt, ny, nx) of the series."""
        return tuple(self.sun.shape)

    def sun_fraction(self, k, r, c) -> np.ndarray:
        """Sun fraction (0..1) at time index ``k`` and *full-DEM* row/col."""
        return self.sun[k, np.asarray(r) - self.row0, np.asarray(c) - self.col0] / 255.0

    def earth_fraction(self, k, r, c) -> np.ndarray:
        """Earth fraction (0..1) at time index ``k`` and *full-DEM* row/col."""
        return self.earth[k, np.asarray(r) - self.row0, np.asarray(c) - self.col0] / 255.0

    def contains(self, r, c) -> bool:
        """Whether the *full-DEM* cell (r, c) lies in the window."""
        nt, ny, nx = self.sun.shape
        return bool(self.row0 <= r < self.row0 + ny and self.col0 <= c < self.col0 + nx)

    def time_index(self, t) -> int:
        """Index of the light step containing UTC time ``t``; raises if outside the series."""
        tt = ephemeris._to_datetime64(np.atleast_1d(np.asarray(t)))[0]
        end = self.times[-1] + np.timedelta64(int(round(self.step_s * 1e9)), "ns")
        if tt < self.times[0] or tt >= end:
            raise InputError(
                f"time {str(tt)[:19]} is outside the light series ({str(self.times[0])[:19]} to {str(end)[:19]}); "
                "choose a start inside it or compute the series over a span that covers it"
            )
        return int((tt - self.times[0]) // np.timedelta64(int(round(self.step_s * 1e9)), "ns"))


def corridor_window(shape, cells, margin: int) -> tuple[int, int, int, int]:
    """(r0, r1, c0, c1): the bounding box of ``cells`` [(row, col), ...] grown by ``margin``, clipped to ``shape``."""
    ny, nx = shape
    rc = np.asarray(cells, dtype=int).reshape(-1, 2)
    r0 = max(int(rc[:, 0].min()) - margin, 0)
    r1 = min(int(rc[:, 0].max()) + margin + 1, ny)
    c0 = max(int(rc[:, 1].min()) - margin, 0)
    c1 = min(int(rc[:, 1].max()) + margin + 1, nx)
    return r0, r1, c0, c1


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH)
def _series_kernel(H, tx, ty, tzm1, wzb, C, out):
    n_az, ny, nx = H.shape
    nt = C.shape[1]
    for r in numba.prange(ny):
        buf = np.empty(n_az + 2, dtype=np.float32)
        for c in range(nx):
            for k in range(n_az):
                buf[k] = H[k, r, c]
            buf[n_az] = buf[0]
            buf[n_az + 1] = buf[1 % n_az]
            for t in range(nt):
                f = _fraction(tx[r, c], ty[r, c], tzm1[r, c], wzb[r, c], buf, n_az, C, t)
                q = np.floor(f * 255.0 + 0.5)
                if q == 0.0 and f > 0.0:
                    q = 1.0
                out[t, r, c] = np.uint8(q)


def visibility_series(dem, horizon_cube, times, *, window=None) -> VisibilitySeries:
    """Sun and Earth visibility of the cells of ``window`` = (r0, r1, c0, c1) (default: the whole DEM).

    ``horizon_cube``: float32 (n_az, ny, nx) of the *full* DEM (from
    :func:`lupex.light.horizon.horizon_angles`); ``times``: regular UTC grid.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, (ny, nx) heights, m.
    horizon_cube : np.ndarray
        float32 (n_az, ny, nx) horizons, deg, of the full DEM.
    times : array_like
        Regular UTC grid (datetime64).
    window : tuple of int, optional
        (r0, r1, c0, c1) rows and columns of the full DEM (default: all of it).
    """
    _check_dem(dem)
    n_az = _check_cube(dem, horizon_cube)
    t, step_s = regular_times(times)
    ny, nx = dem.shape
    r0, r1, c0, c1 = (0, ny, 0, nx) if window is None else (int(v) for v in window)
    if not (0 <= r0 < r1 <= ny and 0 <= c0 < c1 <= nx):
        raise InputError(f"window {window} is not inside the {ny} x {nx} DEM; give (r0, r1, c0, c1) with 0 <= r0 < r1 <= ny")
    et = ephemeris.utc_to_et(t)
    site = _sky.site_frame(dem)
    sun = _sky.body_track("SUN", site, et)
    earth = _sky.body_track("EARTH", site, et)
    xs = np.asarray(dem["x"].values, float)[c0:c1]
    ys = np.asarray(dem["y"].values, float)[r0:r1]
    rot = _sky.cell_rotation(_sky._dem_like(geo.dem_crs(dem), xs, ys), site)
    wzb = rot.wz * (n_az / (2.0 * np.pi))
    H = np.ascontiguousarray(horizon_cube[:, r0:r1, c0:c1], dtype=np.float32)
    cubes = []
    for tr in (sun, earth):
        C = np.ascontiguousarray(_sky.body_coefficients(tr, n_az).T)
        out = np.empty((t.size, r1 - r0, c1 - c0), dtype=np.uint8)
        _series_kernel(H, rot.tx, rot.ty, rot.tzm1, wzb, C, out)
        cubes.append(out)
    sun_dist = np.linalg.norm(ephemeris.body_vectors("SUN", et) - site.point_m, axis=1)
    return VisibilitySeries(
        times=t, step_s=float(step_s), row0=r0, col0=c0, sun=cubes[0], earth=cubes[1],
        sun_azimuth_deg=sun.azimuth0_deg, sun_elevation_deg=sun.elevation0_deg, sun_distance_m=sun_dist,
        earth_elevation_deg=earth.elevation0_deg,
    )
