"""Where the Sun and Earth are, for every cell of a DEM grid and every time.

The light kernel needs, per cell and time step, a body's *grid* azimuth (to
look up the horizon) and its elevation above the cell's own local horizontal
(to compare with the horizon), plus the apparent angular radius of its disk.
Calling SPICE per cell is far too slow (1e6 cells x 8760 steps), so the sky is
split into a per-time part and a per-cell part:

* A **site frame** ``F0``: orthonormal axes (grid +x, grid +y, up) at the
  middle of the DEM, in MOON_ME. Per time, the body's apparent unit vector
  seen from the site's reference point, ``s = F0 (B - P0)/|B - P0|``, from
  :func:`lupex.ephemeris.body_vectors` (LT+S), gives the site-centre elevation
  ``el0 = asin(s_z)`` and grid azimuth ``az0 = atan2(s_x, s_y)``.
* Per cell, the exact small rotation ``M = Fc F0^T`` between the cell's own
  frame ``Fc`` (local up from :func:`lupex.terrain.geo.lonlat_grid`; grid
  directions from the local east/north basis turned by
  :func:`lupex.terrain.geo.grid_north_azimuth_deg`, since geographic azimuth =
  grid azimuth - grid-north azimuth) and the site frame. Its last row is the
  cell's up vector in the site frame, ``(tx, ty, 1 + tzm1)``; its twist about
  the vertical is ``wz = (M01 - M10) / 2``.

Then, per cell and time, with ``d = tx s_x + ty s_y + tzm1 s_z`` (so that
``sin el = s_z + d`` exactly):

* elevation: ``el = el0 + d/c + s_z d^2/(2 c^3) + (1 + 2 s_z^2) d^3/(6 c^5)``
  with ``c = cos el0``, the Taylor series of ``asin`` about ``s_z``; the
  truncation error is O(d^4) (d <= 0.006 rad over 10 km from the site centre,
  so < 1e-9 deg; still < 1e-4 deg at 100 km, for bodies below ~60 deg);
* grid azimuth, to first order in the rotation:
  ``az = az0 + wz + s_z (ty s_x - tx s_y) / (s_x^2 + s_y^2)``; the neglected
  second-order terms are ~ (d^2) tan(el) (< 1e-4 deg over 20 km near the pole).

Parallax: ``s`` is seen from the site's reference point; across +-10 km the
Earth's direction shifts by < 0.0015 deg (10 km / 384,400 km), the Sun's by
< 1e-6 deg. The reference point is on the 1737.4 km sphere; terrain height
(< 10 km) moves the Earth's direction by less than the same bound.
The tests compare this representation with :func:`lupex.ephemeris.topocentric`
evaluated per cell.

The disk of a body is a uniform disk of angular radius ``r`` (IAU nominal radii
in :mod:`lupex.ephemeris`); the part above a horizon is computed for a
straight horizon line through the interpolated horizon height at the body's
azimuth (the usual treatment, e.g. Mazarico et al. 2011, Icarus 211:1066;
Gläser et al. 2014, Icarus 243:78): the area of a circular segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from lupex import ephemeris
from lupex.errors import InputError
from lupex.terrain import geo

BODIES = ("SUN", "EARTH")
_BODY_RADIUS_M = {"SUN": ephemeris.SUN_RADIUS_M, "EARTH": ephemeris.EARTH_RADIUS_M}

# columns of the per-time coefficient table the kernel reads (see body_coefficients)
C_EL0, C_A1, C_A2, C_A3, C_SX, C_SY, C_SZ, C_F0, C_KX, C_KY, C_R, C_INVR = range(12)
N_COEF = 12


# ---------------------------------------------------------------- disk geometry


def disk_visible_fraction(margin_deg, radius_deg):
    """Fraction of a uniform disk above a straight horizon line.

    ``margin_deg`` is how far the disk's centre is above the line (negative:
    below), ``radius_deg`` the disk's angular radius (> 0). The visible part is
    a circular segment; with ``x = margin / r`` clipped to [-1, 1]:

        f = 1/2 + (x sqrt(1 - x^2) + asin(x)) / pi

    (area of a circular segment, e.g. Weisstein, MathWorld "Circular Segment").
    1 when margin >= r, 0 when margin <= -r, 1/2 when margin = 0. Arrays
    broadcast.
    """
    m = np.asarray(margin_deg, dtype=float)
    r = np.asarray(radius_deg, dtype=float)
    if np.any(~(r > 0)):
        raise InputError("a disk's angular radius must be a positive number of degrees")
    with np.errstate(invalid="ignore"):
        x = np.clip(m / r, -1.0, 1.0)
    f = 0.5 + (x * np.sqrt(1.0 - x * x) + np.arcsin(x)) / np.pi
    f = np.where(np.isnan(m), np.nan, f)
    return f if f.ndim else float(f)


# ---------------------------------------------------------------- frames


def _frames_from_lonlat(lon_deg, lat_deg, gna_deg) -> np.ndarray:
    """Rows (grid +x, grid +y, up) in MOON_ME for each cell, shape (..., 3, 3)."""
    enu = ephemeris.enu_basis(lat_deg, lon_deg)
    east, north, up = enu[..., 0, :], enu[..., 1, :], enu[..., 2, :]
    g = np.radians(np.asarray(gna_deg, dtype=float))[..., None]
    # grid azimuth a has geographic azimuth A = a - gna; horizontal unit vector sin(A) E + cos(A) N
    gy = -np.sin(g) * east + np.cos(g) * north  # a = 0
    gx = np.cos(g) * east + np.sin(g) * north  # a = 90
    return np.stack([gx, gy, up], axis=-2)


def _dem_like(crs, x, y):
    da = xr.DataArray(
        np.zeros((len(y), len(x)), np.float32), dims=("y", "x"), coords={"y": np.asarray(y, float), "x": np.asarray(x, float)}
    )
    return da.rio.write_crs(crs)


def cell_frames(dem) -> np.ndarray:
    """Exact (grid +x, grid +y, up) frames of every cell of ``dem`` in MOON_ME, (ny, nx, 3, 3).

    A cell at a pole itself (where north is undefined) takes the orthonormalised
    mean of the frames 1 m either side of it along grid x (error O(1e-12) rad).
    """
    lon, lat = geo.lonlat_grid(dem)
    gna = geo.grid_north_azimuth_deg(dem)
    frames = _frames_from_lonlat(lon, lat, gna)
    pole = np.abs(lat) > 90.0 - 1e-6
    if pole.any():
        crs = geo.dem_crs(dem)
        xs = np.asarray(dem["x"].values, float)
        ys = np.asarray(dem["y"].values, float)
        for r, c in zip(*np.nonzero(pole)):
            pair = _dem_like(crs, [xs[c] - 1.0, xs[c] + 1.0], [ys[r], ys[r] - 1.0])
            lo, la = geo.lonlat_grid(pair)
            g = geo.grid_north_azimuth_deg(pair)
            f = _frames_from_lonlat(lo[0], la[0], g[0]).mean(axis=0)
            frames[r, c] = _orthonormal(f)
    return frames


def _orthonormal(f: np.ndarray) -> np.ndarray:
    """Nearest right-handed orthonormal (x, y, up) rows to ``f``, keeping up's direction first."""
    up = f[2] / np.linalg.norm(f[2])
    gy = f[1] - (f[1] @ up) * up
    gy /= np.linalg.norm(gy)
    return np.stack([np.cross(gy, up), gy, up])


@dataclass(frozen=True)
class SiteFrame:
    """The reference frame of a DEM site: axes (grid +x, grid +y, up) and reference point, MOON_ME."""

    axes: np.ndarray  # (3, 3) rows
    point_m: np.ndarray  # (3,) on the reference sphere


def site_frame(dem) -> SiteFrame:
    """Site frame: the orthonormalised mean of the frames of a 3 x 3 sample of the grid."""
    xs = np.asarray(dem["x"].values, float)
    ys = np.asarray(dem["y"].values, float)
    if xs.size < 2 or ys.size < 2:
        raise InputError("the DEM must have at least 2 x 2 cells")
    sx = np.array([xs[0], 0.5 * (xs[0] + xs[-1]), xs[-1]])
    sy = np.array([ys[0], 0.5 * (ys[0] + ys[-1]), ys[-1]])
    # any frame close to the cells' frames will do (the per-cell rotations are exact)
    axes = _orthonormal(cell_frames(_dem_like(geo.dem_crs(dem), sx, sy)).reshape(-1, 3, 3).mean(axis=0))
    # reference point: the sphere point under the site's up vector
    point = ephemeris.MOON_RADIUS_M * axes[2]
    return SiteFrame(axes=axes, point_m=point)


@dataclass(frozen=True)
class CellRotation:
    """Per-cell small rotation from the site frame to the cell's own frame (each (ny, nx))."""

    tx: np.ndarray  # cell up, site-frame x component
    ty: np.ndarray  # cell up, site-frame y component
    tzm1: np.ndarray  # cell up, site-frame z component minus 1
    wz: np.ndarray  # twist about the vertical, radians

    def take(self, rows, cols) -> CellRotation:
        """The rotations of the cells at ``rows``, ``cols`` (index arrays or slices)."""
        return CellRotation(self.tx[rows, cols], self.ty[rows, cols], self.tzm1[rows, cols], self.wz[rows, cols])


def cell_rotation(dem, site: SiteFrame) -> CellRotation:
    """The rotation parameters of every cell of ``dem`` (may be a tile of the site's DEM)."""
    fc = cell_frames(dem)
    m = fc @ site.axes.T  # m[..., i, j] = Fc_i . F0_j
    tx = m[..., 2, 0].copy()
    ty = m[..., 2, 1].copy()
    # 1 - tz = (tx^2 + ty^2) / (1 + tz): no cancellation
    tzm1 = -(tx * tx + ty * ty) / (1.0 + m[..., 2, 2])
    wz = 0.5 * (m[..., 0, 1] - m[..., 1, 0])
    return CellRotation(tx, ty, tzm1, wz)


# ---------------------------------------------------------------- bodies


@dataclass(frozen=True)
class BodyTrack:
    """A body seen from the site reference point, in the site frame, per time."""

    body: str
    et: np.ndarray  # (nt,) TDB seconds past J2000
    s: np.ndarray  # (nt, 3) unit vector in the site frame (grid x, grid y, up)
    radius_deg: np.ndarray  # (nt,) apparent angular radius

    @property
    def elevation0_deg(self) -> np.ndarray:
        """Elevation of the body's centre above the site reference plane, deg, (nt,)."""
        return np.degrees(np.arcsin(np.clip(self.s[:, 2], -1.0, 1.0)))

    @property
    def azimuth0_deg(self) -> np.ndarray:
        """Grid azimuth of the body's centre (clockwise from grid +y, 0..360), deg, (nt,)."""
        return np.degrees(np.arctan2(self.s[:, 0], self.s[:, 1])) % 360.0


def body_track(body: str, site: SiteFrame, et) -> BodyTrack:
    """Apparent direction and disk radius of ``body`` ('SUN' or 'EARTH') at ``et`` from the site."""
    body = body.upper()
    if body not in _BODY_RADIUS_M:
        raise InputError(f"unknown body {body!r}; use one of {', '.join(BODIES)}")
    et = np.atleast_1d(np.asarray(et, dtype=float)).ravel()
    vec = ephemeris.body_vectors(body, et) - site.point_m
    dist = np.linalg.norm(vec, axis=1)
    s = (vec / dist[:, None]) @ site.axes.T
    rad = np.degrees(np.arcsin(np.clip(_BODY_RADIUS_M[body] / dist, 0.0, 1.0)))
    return BodyTrack(body, et, s, rad)


def body_coefficients(track: BodyTrack, n_az: int) -> np.ndarray:
    """Per-time coefficients (nt, N_COEF) float64 for the kernel; see the module docstring.

    Columns: el0 [deg], a1, a2, a3 [deg per rad^k] (asin series), s_x, s_y, s_z,
    f0 = az0 in azimuth bins + n_az, Kx, Ky [bins per unit tilt], r [deg], 1/r.
    The per-cell twist enters as ``wz * n_az / (2 pi)`` bins.
    """
    s = track.s
    sx, sy, sz = s[:, 0], s[:, 1], s[:, 2]
    h2 = sx * sx + sy * sy
    if np.any(h2 < 0.25):  # body above 60 deg elevation: series for el and az are not accurate
        raise InputError(
            f"the {track.body} rises above 60 deg elevation at this site; lupex's light model is "
            "built for polar sites where it stays low"
        )
    c = np.sqrt(h2)
    deg = 180.0 / np.pi
    out = np.empty((s.shape[0], N_COEF), dtype=np.float64)
    out[:, C_EL0] = np.degrees(np.arcsin(np.clip(sz, -1.0, 1.0)))
    out[:, C_A1] = deg / c
    out[:, C_A2] = deg * sz / (2.0 * c**3)
    out[:, C_A3] = deg * (1.0 + 2.0 * sz * sz) / (6.0 * c**5)
    out[:, C_SX], out[:, C_SY], out[:, C_SZ] = sx, sy, sz
    bins = n_az / (2.0 * np.pi)
    az0 = np.arctan2(sx, sy) % (2.0 * np.pi)
    out[:, C_F0] = az0 * bins + n_az
    out[:, C_F0] = np.where(out[:, C_F0] >= 2 * n_az, out[:, C_F0] - n_az, out[:, C_F0])
    out[:, C_KX] = -sz * sy / h2 * bins
    out[:, C_KY] = sz * sx / h2 * bins
    out[:, C_R] = track.radius_deg
    out[:, C_INVR] = 1.0 / track.radius_deg
    return out


def sky_at_cells(track: BodyTrack, rot: CellRotation) -> tuple[np.ndarray, np.ndarray]:
    """Elevation and grid azimuth (deg) of the body at the cells of ``rot``, each (nt, *cells).

    The same representation the kernel uses, in vectorised numpy (for point
    series, references and tests).
    """
    s = track.s
    shape = (s.shape[0],) + (1,) * np.ndim(rot.tx)
    sx, sy, sz = (s[:, i].reshape(shape) for i in range(3))
    c = np.sqrt(sx * sx + sy * sy)
    d = rot.tx * sx + rot.ty * sy + rot.tzm1 * sz
    el = np.arcsin(np.clip(sz, -1, 1)) + d * (1.0 / c + d * (sz / (2 * c**3) + d * (1 + 2 * sz * sz) / (6 * c**5)))
    az = np.arctan2(sx, sy) + rot.wz + sz * (rot.ty * sx - rot.tx * sy) / (c * c)
    return np.degrees(el), np.degrees(az) % 360.0


@dataclass(frozen=True)
class Sky:
    """Everything the light kernel needs about the sky of a site over a time grid."""

    site: SiteFrame
    sun: BodyTrack
    earth: BodyTrack


def site_sky(dem, et) -> Sky:
    """Sun and Earth tracks for the site of ``dem`` at ``et`` (TDB seconds)."""
    site = site_frame(dem)
    return Sky(site, body_track("SUN", site, et), body_track("EARTH", site, et))
