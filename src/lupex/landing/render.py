"""Render descent-camera images of a DEM: lunar-Lambert photometry, cast shadows, noise.

Photometry
----------
Lunar-Lambert function (McEwen 1991, "Photometric functions for photoclinometry
and other applications", Icarus 92:298-311, eq. 5)::

    I/F = A * [ 2 L(a) mu0 / (mu0 + mu) + (1 - L(a)) mu0 ]

with ``mu0 = cos(i)``, ``mu = cos(e)`` from the per-cell surface normal and
``L(a)`` the limb-darkening weight as a function of phase angle ``a``, the
cubic fit of McEwen (1996, "A precise lunar photometric function", LPSC 27,
841): ``L = 1 - 0.019 a + 2.42e-4 a^2 - 1.46e-6 a^3`` (a in degrees), clipped
to [0, 1]. ``A`` is a normal albedo-like factor (default 0.12, highland-like).

Cast shadows
------------
One horizon sweep at the Sun's grid azimuth (:func:`lupex.light.horizon.horizon_angles`,
Dozier & Frew 1990), linearly interpolated between the two bracketing
azimuths of a 0.25 deg azimuth grid. The visible fraction of the solar disk
(radius 0.2665 deg) is the area of a uniform disk above the horizon line:
``f = 1 - (acos(d) - d sqrt(1 - d^2)) / pi`` with ``d = (e_sun - e_hor) /
r_sun`` clipped to [-1, 1] (the penumbra). The Sun's elevation is taken above
each cell's *local* horizontal (the vertical tilts by ``(x, y) / R`` across
the site), which matters at the 1-2 deg polar sun elevations.

Geometry and resolution
-----------------------
The DEM is a triangulated heightfield (two triangles per cell quad) in the
site frame of :mod:`lupex.landing.camera`, rasterised with a z-buffer and
perspective-correct interpolation of the per-vertex radiance (Gouraud shading).
The DEM limits the image resolution: where the camera's GSD is finer than the
DEM pixel the image is smooth within a cell (no fractal detail is added);
where it is coarser the radiance is box-averaged to about one vertex per
image pixel before rasterising (anti-aliasing). There is no sky: pixels that
see no DEM are 0 I/F (deep space is black) and are flagged by NaN in
:func:`render_radiance`.

Sensor
------
Electrons = I/F * ``e_per_if`` (auto exposure: the 99.5th percentile of the lit
frame at 80% of the full well), Poisson shot noise and Gaussian read noise
from an explicit ``numpy.random.Generator``, quantised to ``bit_depth`` bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from pyproj import Transformer

from lupex import ephemeris
from lupex.constants import MOON_RADIUS_M
from lupex.errors import InputError
from lupex.landing.camera import Camera
from lupex.light.horizon import horizon_angles
from lupex.terrain.geo import dem_crs, grid_north_azimuth_deg, lunar_geographic_crs

__all__ = [
    "MOON_RADIUS_M",
    "SUN_ANGULAR_RADIUS_DEG",
    "Scene",
    "lunar_lambert",
    "lunar_lambert_L",
    "make_scene",
    "ortho_image",
    "render",
    "render_radiance",
    "site_heights_m",
    "sun_vector_from_az_el",
    "sun_vector_site",
    "sun_visible_fraction",
]

SUN_ANGULAR_RADIUS_DEG = 0.2665  # 0.533 deg disk at 1 au (docs/REFERENCES.md#polar-sun-geometry: ~0.53 deg)
N_SHADOW_AZIMUTHS = 1440  # 0.25 deg azimuth grid for the shadow sweep


# --------------------------------------------------------------------------- photometry
def lunar_lambert_L(phase_deg):
    """McEwen (1996) limb-darkening weight L(phase) of the lunar-Lambert function, clipped to [0, 1]."""
    a = np.asarray(phase_deg, float)
    return np.clip(1.0 - 0.019 * a + 2.42e-4 * a**2 - 1.46e-6 * a**3, 0.0, 1.0)


def lunar_lambert(mu0, mu, phase_deg, albedo: float = 0.12):
    """Lunar-Lambert I/F (McEwen 1991, eq. 5); 0 where the Sun is below the facet (mu0 <= 0).

    Parameters
    ----------
    mu0 : array_like
        Cosine of the incidence angle.
    mu : array_like
        Cosine of the emission angle.
    phase_deg : array_like
        Phase angle, deg.
    albedo : float
        Normal albedo.
    """
    mu0 = np.maximum(np.asarray(mu0, float), 0.0)
    mu = np.maximum(np.asarray(mu, float), 0.0)
    L = lunar_lambert_L(phase_deg)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.where(mu0 + mu > 0, 2.0 * mu0 / (mu0 + mu), 0.0)
    return albedo * (L * ls + (1.0 - L) * mu0)


def sun_visible_fraction(sun_elevation_deg, horizon_deg, sun_radius_deg: float = SUN_ANGULAR_RADIUS_DEG):
    """Fraction of a uniform solar disk above the horizon (circular-segment area)."""
    d = np.clip((np.asarray(sun_elevation_deg, float) - horizon_deg) / sun_radius_deg, -1.0, 1.0)
    return 1.0 - (np.arccos(d) - d * np.sqrt(1.0 - d * d)) / np.pi


# --------------------------------------------------------------------------- sun
def sun_vector_from_az_el(grid_azimuth_deg, elevation_deg) -> np.ndarray:
    """Unit site-frame vector toward the Sun from a grid azimuth (clockwise from +y) and elevation."""
    az, el = np.radians(grid_azimuth_deg), np.radians(elevation_deg)
    return np.stack([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)], axis=-1)


def sun_vector_site(dem, times=None, et=None) -> np.ndarray:
    """Unit vector(s) toward the Sun in the site frame, from SPICE at the DEM's centre cell.

    The topocentric azimuth (clockwise from geographic north) is turned to a
    grid azimuth with the grid-north azimuth of the centre cell
    (:func:`lupex.terrain.geo.grid_north_azimuth_deg`). Returns (3,) for one
    time, (n, 3) for several. The elevation is above the centre's local
    horizontal; the site frame's "up" is that of the CRS origin, which differs
    by ``|centre| / R`` (accounted for per cell when shading).
    """
    xc = float(dem.x.values[dem.x.size // 2])
    yc = float(dem.y.values[dem.y.size // 2])
    crs = dem_crs(dem)
    lon, lat = Transformer.from_crs(crs, lunar_geographic_crs(crs), always_xy=True).transform(xc, yc)
    h = float(dem.values[dem.y.size // 2, dem.x.size // 2])
    topo = ephemeris.topocentric("SUN", float(lat), float(lon), h, times=times, et=et)
    gn = float(grid_north_azimuth_deg(dem.isel(y=slice(dem.y.size // 2, dem.y.size // 2 + 1),
                                               x=slice(dem.x.size // 2, dem.x.size // 2 + 1)))[0, 0])
    grid_az = (topo.azimuth_deg + gn) % 360.0
    # tilt from the centre's vertical to the site frame's (origin) vertical
    v = sun_vector_from_az_el(grid_az, topo.elevation_deg)
    up_c = _local_up(np.array([xc]), np.array([yc]))[0]
    v = _rotate_up_to_site(v, up_c)
    return v[0] if v.shape[0] == 1 else v


def _local_up(x, y, radius_m: float = MOON_RADIUS_M) -> np.ndarray:
    u = np.stack([-np.asarray(x, float) / radius_m, -np.asarray(y, float) / radius_m, np.ones(np.shape(x))], -1)
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


def _rotate_up_to_site(v_local: np.ndarray, up_local: np.ndarray) -> np.ndarray:
    """Vectors given in a frame whose z is ``up_local`` (x, y ~ grid axes) -> site frame (small-angle)."""
    ex = np.array([1.0, 0.0, 0.0]) - up_local * up_local[0]
    ex /= np.linalg.norm(ex)
    ey = np.cross(up_local, ex)
    basis = np.vstack([ex, ey, up_local])  # rows: local axes in site frame
    return np.atleast_2d(v_local) @ basis


# --------------------------------------------------------------------------- scene
def site_heights_m(x_m, y_m, h_m, radius_m: float = MOON_RADIUS_M) -> np.ndarray:
    """Site-frame z of DEM heights: ``h - (x^2 + y^2) / (2R)`` (broadcasting x (nx,), y (ny,) to (ny, nx)).

    Parameters
    ----------
    x_m : array_like
        (nx,) grid x, m.
    y_m : array_like
        (ny,) grid y, m.
    h_m : array_like
        (ny, nx) DEM heights above the sphere, m.
    radius_m : float
        Sphere radius R, m.
    """
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    return np.asarray(h_m, float) - (x[None, :] ** 2 + y[:, None] ** 2) / (2.0 * radius_m)


@dataclass(frozen=True)
class Scene:
    """A DEM prepared for rendering under one Sun direction (built by :func:`make_scene`)."""

    x_m: np.ndarray  # (nx,) cell-centre grid x
    y_m: np.ndarray  # (ny,) cell-centre grid y, decreasing
    pixel_m: float
    z_site_m: np.ndarray  # (ny, nx) site-frame z (curvature dropped)
    normals: np.ndarray  # (ny, nx, 3) unit normals, site frame
    sun_site: np.ndarray  # (3,) unit vector toward the Sun
    mu0: np.ndarray  # (ny, nx) cos(incidence), >= 0
    sun_fraction: np.ndarray  # (ny, nx) visible fraction of the solar disk (cast shadow + penumbra)
    albedo: float


def _dem_arrays(dem):
    if not hasattr(dem, "dims") or tuple(dem.dims) != ("y", "x"):
        raise InputError("dem must be an xarray DataArray with dims ('y', 'x') (the lupex DEM contract)")
    z = np.asarray(dem.values, float)
    if not np.isfinite(z).all():
        raise InputError("the DEM has NaN/inf cells; fill them first (lupex.terrain.fill_nodata)")
    x = np.asarray(dem.x.values, float)
    y = np.asarray(dem.y.values, float)
    if z.shape[0] < 4 or z.shape[1] < 4:
        raise InputError(f"DEM of shape {z.shape} is too small to render; give at least 4 x 4 cells")
    px = float(x[1] - x[0])
    if not (px > 0 and y[1] < y[0] and abs((y[0] - y[1]) - px) < 1e-6 * px):
        raise InputError("DEM must be north-up with square pixels (x increasing, y decreasing)")
    return x, y, z, px


def surface_normals(z_site_m: np.ndarray, pixel_m: float) -> np.ndarray:
    """Unit normals (ny, nx, 3) from central differences (one-sided at the edges); rows run toward -y."""
    dzdx = np.gradient(z_site_m, pixel_m, axis=1)
    dzdy = -np.gradient(z_site_m, pixel_m, axis=0)
    n = np.stack([-dzdx, -dzdy, np.ones_like(dzdx)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def make_scene(dem, sun_site, *, albedo: float = 0.12, shadows: bool = True,
               radius_m: float = MOON_RADIUS_M) -> Scene:
    """Prepare ``dem`` (lupex DEM contract) for rendering under the Sun direction ``sun_site`` (3,).

    Computes normals, ``mu0`` and the cast-shadow visible fraction once per
    Sun direction (the Sun barely moves during a descent); frames are then
    rendered from any pose by :func:`render`.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, heights in m.
    sun_site : array_like
        (3,) unit Sun vector, site frame.
    albedo : float
        Normal albedo of the Lunar-Lambert model.
    shadows : bool
        Cast shadows.
    radius_m : float
        Sphere radius, m, for the site-frame heights.
    """
    x, y, z, px = _dem_arrays(dem)
    s = np.asarray(sun_site, float).reshape(-1)
    if s.shape != (3,) or not np.isfinite(s).all() or np.linalg.norm(s) == 0:
        raise InputError("sun_site must be a finite, non-zero 3-vector (site frame)")
    s = s / np.linalg.norm(s)
    zs = site_heights_m(x, y, z, radius_m)
    nrm = surface_normals(zs, px)
    mu0 = np.maximum(nrm @ s, 0.0)
    xx, yy = np.meshgrid(x, y)
    up = _local_up(xx, yy, radius_m)
    sun_el_local = np.degrees(np.arcsin(np.clip(up @ s, -1.0, 1.0)))
    if shadows:
        az = np.degrees(np.arctan2(s[0], s[1])) % 360.0
        step = 360.0 / N_SHADOW_AZIMUTHS
        k0 = int(np.floor(az / step)) % N_SHADOW_AZIMUTHS
        w = az / step - np.floor(az / step)
        k1 = (k0 + 1) % N_SHADOW_AZIMUTHS
        hz = horizon_angles(z, px, N_SHADOW_AZIMUTHS, az_indices=np.array([k0, k1]), radius_m=radius_m)
        hor = (1.0 - w) * hz[0].astype(float) + w * hz[1].astype(float)
        frac = sun_visible_fraction(sun_el_local, hor)
    else:
        frac = np.where(sun_el_local > -SUN_ANGULAR_RADIUS_DEG, sun_visible_fraction(sun_el_local, 0.0), 0.0)
    return Scene(x, y, px, zs, nrm, s, mu0, frac, float(albedo))


def _shade(scene: Scene, sl, cam_pos: np.ndarray | None) -> np.ndarray:
    """I/F of the cells ``sl`` (a (row-slice, col-slice)) seen from ``cam_pos`` (None: from straight above)."""
    nrm = scene.normals[sl]
    if cam_pos is None:
        v = np.broadcast_to(np.array([0.0, 0.0, 1.0]), nrm.shape)
    else:
        xx, yy = np.meshgrid(scene.x_m[sl[1]], scene.y_m[sl[0]])
        v = np.stack([cam_pos[0] - xx, cam_pos[1] - yy, cam_pos[2] - scene.z_site_m[sl]], -1)
        v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    mu = np.einsum("ijk,ijk->ij", nrm, v)
    phase = np.degrees(np.arccos(np.clip(v @ scene.sun_site, -1.0, 1.0)))
    return lunar_lambert(scene.mu0[sl], mu, phase, scene.albedo) * scene.sun_fraction[sl]


def ortho_image(scene: Scene) -> np.ndarray:
    """Orthographic nadir I/F image on the DEM grid (view from straight above every cell)."""
    return _shade(scene, (slice(None), slice(None)), None).astype(np.float32)


# --------------------------------------------------------------------------- rasteriser
@numba.njit(cache=True, nogil=True)
def _raster(u, v, invz, val, width, height, out, zbuf):  # pragma: no cover - numba
    ny, nx = u.shape
    for i in range(ny - 1):
        for j in range(nx - 1):
            for t in range(2):
                if t == 0:
                    ia, ja, ib, jb, ic, jc = i, j, i, j + 1, i + 1, j + 1
                else:
                    ia, ja, ib, jb, ic, jc = i, j, i + 1, j + 1, i + 1, j
                wa, wb, wc = invz[ia, ja], invz[ib, jb], invz[ic, jc]
                if not (wa > 0.0 and wb > 0.0 and wc > 0.0):
                    continue
                ua, va = u[ia, ja], v[ia, ja]
                ub, vb = u[ib, jb], v[ib, jb]
                uc, vc = u[ic, jc], v[ic, jc]
                umin = min(ua, min(ub, uc))
                umax = max(ua, max(ub, uc))
                vmin = min(va, min(vb, vc))
                vmax = max(va, max(vb, vc))
                c0 = max(int(np.ceil(umin)), 0)
                c1 = min(int(np.floor(umax)), width - 1)
                r0 = max(int(np.ceil(vmin)), 0)
                r1 = min(int(np.floor(vmax)), height - 1)
                if c0 > c1 or r0 > r1:
                    continue
                area = (ub - ua) * (vc - va) - (vb - va) * (uc - ua)
                if area == 0.0:
                    continue
                ia_ = 1.0 / area
                fa, fb, fc = val[ia, ja] * wa, val[ib, jb] * wb, val[ic, jc] * wc
                eps = -1e-9
                for r in range(r0, r1 + 1):
                    py = float(r)
                    for c in range(c0, c1 + 1):
                        px = float(c)
                        l_a = ((ub - px) * (vc - py) - (vb - py) * (uc - px)) * ia_
                        l_b = ((uc - px) * (va - py) - (vc - py) * (ua - px)) * ia_
                        l_c = 1.0 - l_a - l_b
                        if l_a < eps or l_b < eps or l_c < eps:
                            continue
                        w = l_a * wa + l_b * wb + l_c * wc
                        if w > zbuf[r, c]:
                            zbuf[r, c] = w
                            out[r, c] = (l_a * fa + l_b * fb + l_c * fc) / w


def _block_mean(a: np.ndarray, k: int) -> np.ndarray:
    ny, nx = a.shape[0] // k, a.shape[1] // k
    return a[: ny * k, : nx * k].reshape(ny, k, nx, k, *a.shape[2:]).mean(axis=(1, 3))


def _visible_window(scene: Scene, camera: Camera):
    """Row/column bounds of the DEM cells that project into the frame (coarse search, then a margin)."""
    ny, nx = scene.z_site_m.shape
    alt = camera.position_m[2] - float(np.median(scene.z_site_m[:: max(1, ny // 32), :: max(1, nx // 32)]))
    foot = abs(alt) * np.tan(np.radians(camera.fov_deg) / 2.0) * 2.0
    stride = int(np.clip(foot / scene.pixel_m / 16.0, 1, 64))
    ii = np.arange(0, ny, stride)
    jj = np.arange(0, nx, stride)
    if ii[-1] != ny - 1:
        ii = np.append(ii, ny - 1)
    if jj[-1] != nx - 1:
        jj = np.append(jj, nx - 1)
    xx, yy = np.meshgrid(scene.x_m[jj], scene.y_m[ii])
    pts = np.column_stack([xx.ravel(), yy.ravel(), scene.z_site_m[np.ix_(ii, jj)].ravel()])
    uv, d = camera.project(pts)
    margin = -2.0 * max(camera.width, camera.height)  # accept points a bit outside
    ok = (d > 0) & camera.in_image(np.nan_to_num(uv, nan=-1e9), margin_px=margin / 4)
    if not ok.any():
        raise InputError("the camera frame sees nothing of the DEM; check the pose (position_m, rotation) "
                         "and that the DEM covers the area below the camera")
    ok = ok.reshape(len(ii), len(jj))
    rr, cc = np.nonzero(ok)
    r0 = max(int(ii[rr.min()]) - stride, 0)
    r1 = min(int(ii[rr.max()]) + stride, ny - 1)
    c0 = max(int(jj[cc.min()]) - stride, 0)
    c1 = min(int(jj[cc.max()]) + stride, nx - 1)
    return r0, r1, c0, c1


def render_radiance(scene: Scene, camera: Camera) -> np.ndarray:
    """Noise-free I/F image (height, width), float32; NaN where the ray sees no DEM.

    Raises :class:`~lupex.errors.InputError` when nothing of the DEM is in view.
    """
    r0, r1, c0, c1 = _visible_window(scene, camera)
    sl = (slice(r0, r1 + 1), slice(c0, c1 + 1))
    val = _shade(scene, sl, camera.position_m)
    zs = scene.z_site_m[sl]
    xs, ys = scene.x_m[sl[1]], scene.y_m[sl[0]]
    # anti-alias: about one vertex per pixel where the GSD is coarser than the DEM
    dist = float(np.linalg.norm(camera.position_m - np.array([xs.mean(), ys.mean(), zs.mean()])))
    gsd = dist / camera.f_px
    k = int(np.floor(gsd / scene.pixel_m / 1.2))
    if k >= 2 and min(zs.shape) >= 4 * k:
        val = _block_mean(val, k)
        zs = _block_mean(zs, k)
        xs = xs[: (xs.size // k) * k].reshape(-1, k).mean(1)
        ys = ys[: (ys.size // k) * k].reshape(-1, k).mean(1)
    xx, yy = np.meshgrid(xs, ys)
    pc = camera.to_camera(np.column_stack([xx.ravel(), yy.ravel(), zs.ravel()]))
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        invz = np.where(z > 1e-6, 1.0 / z, -1.0)
    f = camera.f_px
    u = (f * pc[:, 0] * invz + camera.cx).reshape(zs.shape)
    v = (f * pc[:, 1] * invz + camera.cy).reshape(zs.shape)
    out = np.full((camera.height, camera.width), np.nan)
    zbuf = np.zeros((camera.height, camera.width))
    _raster(u, v, invz.reshape(zs.shape), np.ascontiguousarray(val, dtype=float), camera.width, camera.height, out, zbuf)
    if not np.isfinite(out).any():
        raise InputError("the camera frame sees nothing of the DEM; check the pose (position_m, rotation)")
    return out.astype(np.float32)


def render(scene: Scene, camera: Camera, rng: np.random.Generator | None = None, *, bit_depth: int = 8,
           e_per_if: float | None = None, full_well_e: float = 20_000.0, read_noise_e: float = 15.0,
           return_e_per_if: bool = False):
    """A descent-camera frame: I/F -> electrons -> shot + read noise -> ``bit_depth``-bit DN (uint8/uint16).

    ``e_per_if`` (electrons per unit I/F) fixes the exposure; by default it is
    chosen so the 99.5th percentile of the lit pixels sits at 80% of
    ``full_well_e``. Without ``rng`` the frame is noise-free (still quantised).
    Pixels that see no DEM are 0. With ``return_e_per_if`` returns ``(image, e_per_if)``.

    Parameters
    ----------
    scene : Scene
        The lit terrain (:func:`make_scene`).
    camera : Camera
        Intrinsics and pose.
    rng : np.random.Generator, optional
        Source of the shot and read noise (None: noise-free).
    bit_depth : int
        Bits per pixel of the output.
    e_per_if : float, optional
        Electrons per unit I/F (default: auto exposure).
    full_well_e : float
        Full-well capacity, electrons.
    read_noise_e : float
        Read noise 1-sigma, electrons.
    return_e_per_if : bool
        Also return the exposure used.
    """
    if bit_depth not in (8, 10, 12, 14, 16):
        raise InputError(f"bit_depth = {bit_depth}; use 8, 10, 12, 14 or 16")
    rad = render_radiance(scene, camera)
    rad = np.nan_to_num(rad, nan=0.0).astype(float)
    if e_per_if is None:
        lit = rad[rad > 0]
        p = float(np.percentile(lit, 99.5)) if lit.size else 1.0
        e_per_if = 0.8 * full_well_e / max(p, 1e-6)
    e = rad * e_per_if
    if rng is not None:
        e = rng.poisson(np.clip(e, 0, None)).astype(float) + rng.normal(0.0, read_noise_e, e.shape)
    dmax = 2**bit_depth - 1
    dn = np.clip(np.rint(e * dmax / full_well_e), 0, dmax).astype(np.uint8 if bit_depth == 8 else np.uint16)
    return (dn, float(e_per_if)) if return_e_per_if else dn
