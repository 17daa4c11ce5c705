"""Hazard detection at hover and the choice of a safe touchdown spot; landing-target checks.

At hover (~100 m) the lander's hazard sensor sees the terrain *relative to
itself*, so its map sits in the navigation frame displaced by the current
navigation error (terrain-relative, as on Chandrayaan-3 and SLIM). A cell is
safe when, over the lander footprint (leg span):

* slope <= 12 deg (Chandrayaan-3's limit, docs/REFERENCES.md#chandrayaan3), from the plane fit of
  :func:`lupex.terrain.slope_deg` at the footprint baseline;
* roughness (RMS residual about that plane, :func:`lupex.terrain.roughness_m`)
  <= ``max_roughness_m`` (default 0.3 m, an assumed leg-clearance margin);
* lit: the sun ray is not blocked by terrain (marched toward the sun, with
  the lunar curvature drop d^2 / 2R), since a shadowed spot cannot be seen
  by the hazard camera and gives no power (SLIM's hover used shadows to find
  obstacles; docs/REFERENCES.md#slim).

The safe mask is eroded by a disk of ``margin_m`` (the guidance uses half the
leg span or twice the horizontal navigation sigma, whichever is larger),
and the safe cell nearest the target within ``max_retarget_m``
(60 m, Chandrayaan-3's retarget range) is chosen.

Permanent shadow: a point is permanently shadowed when its horizon is higher
than the highest the Sun can get there in every azimuth: the colatitude plus
the 1.54 deg obliquity and libration (~1.6 deg in all, docs/REFERENCES.md#polar-sun-geometry) plus
the solar semi-diameter (0.27 deg).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from pyproj import Transformer
from scipy import ndimage

from lupex.errors import InputError
from lupex.landing import descent as _d
from lupex.terrain import roughness_m, slope_deg
from lupex.terrain.geo import dem_crs, lunar_geographic_crs

__all__ = ["shadow_mask", "hazard_map", "choose_landing_site", "horizon_elevation_deg",
           "in_permanent_shadow", "validate_target", "sensed_patch", "MAX_SUN_TILT_DEG", "SUN_SEMI_DIAMETER_DEG"]

MAX_SUN_TILT_DEG = 1.6
SUN_SEMI_DIAMETER_DEG = 0.27


def _patch_da(z, xs, ys):
    return xr.DataArray(z, dims=("y", "x"), coords={"y": ys, "x": xs})


def shadow_mask(height_fn, xs, ys, sun_elevation_deg: float, sun_azimuth_deg: float, step_m: float,
                max_dist_m: float = 2_000.0, relief_m: float | None = None) -> np.ndarray:
    """Boolean (len(ys), len(xs)): True where the sun centre is hidden by terrain.

    ``height_fn(x, y)`` gives terrain heights (vectorised); the ray toward the
    sun (grid azimuth clockwise from +y, elevation above the local horizontal)
    is marched in steps of ``step_m`` up to where it clears ``relief_m`` above
    the cell (default: the patch's own relief + 50 m) or ``max_dist_m``.

    Parameters
    ----------
    height_fn : callable
        ``height_fn(x, y)``: terrain height, m, vectorised.
    xs, ys : array_like
        Cell-centre coordinates of the patch, m.
    sun_elevation_deg : float
        Sun elevation above the local horizontal, deg.
    sun_azimuth_deg : float
        Sun grid azimuth, deg, clockwise from +y.
    step_m : float
        Ray-march step, m.
    max_dist_m : float
        Longest ray, m.
    relief_m : float, optional
        Height above the cell at which a ray is clear, m.
    """
    X, Y = np.meshgrid(np.asarray(xs, float), np.asarray(ys, float))
    h0 = height_fn(X, Y)
    if sun_elevation_deg <= -5.0:
        return np.ones(X.shape, bool)
    tan_e = np.tan(np.radians(sun_elevation_deg))
    relief = (float(h0.max() - h0.min()) + 50.0) if relief_m is None else float(relief_m)
    dmax = max_dist_m if tan_e <= 0 else min(max_dist_m, relief / tan_e)
    a = np.radians(sun_azimuth_deg)
    ux, uy = np.sin(a), np.cos(a)
    shadow = np.zeros(X.shape, bool)
    for d in np.arange(step_m, dmax + step_m, step_m):
        h = height_fn(X + d * ux, Y + d * uy)
        shadow |= (h - h0) > d * tan_e + d * d / (2 * _d.R_M)
    return shadow


def hazard_map(z, xs, ys, *, footprint_m: float = 5.0, max_slope_deg: float = 12.0,
               max_roughness_m: float = 0.3, shadow: np.ndarray | None = None) -> xr.Dataset:
    """Slope, roughness, shadow and the combined ``safe`` mask of a height patch (north-up rows).

    Parameters
    ----------
    z : np.ndarray
        (len(ys), len(xs)) heights, m, north-up rows.
    xs, ys : array_like
        Cell-centre coordinates, m.
    footprint_m : float
        Leg span: the slope and roughness baseline, m.
    max_slope_deg : float
        Steepest safe slope, deg.
    max_roughness_m : float
        Roughest safe cell, m.
    shadow : np.ndarray, optional
        (len(ys), len(xs)) bool, True in shadow (unsafe).
    """
    da = _patch_da(np.asarray(z, float), np.asarray(xs, float), np.asarray(ys, float))
    s = slope_deg(da, footprint_m)
    r = roughness_m(da, footprint_m)
    sh = np.zeros(da.shape, bool) if shadow is None else np.asarray(shadow, bool)
    with np.errstate(invalid="ignore"):
        safe = np.isfinite(s.values) & (s.values <= max_slope_deg) & np.isfinite(r.values) & \
            (r.values <= max_roughness_m) & ~sh
    return xr.Dataset({"slope_deg": s, "roughness_m": r, "shadow": (("y", "x"), sh), "safe": (("y", "x"), safe)})


def choose_landing_site(safe, xs, ys, target_xy, max_retarget_m: float = 60.0, margin_m: float = 0.0):
    """The safe cell nearest ``target_xy`` within ``max_retarget_m``: ((x, y), distance) or (None, nan).

    ``safe`` is a boolean grid (rows = ``ys``, columns = ``xs``); it is first
    eroded by a disk of ``margin_m`` so that a nav error of that size still lands safe.

    Parameters
    ----------
    safe : np.ndarray
        (len(ys), len(xs)) bool safe mask.
    xs, ys : array_like
        Cell-centre coordinates, m.
    target_xy : array_like
        (2,) the target, m.
    max_retarget_m : float
        Farthest retarget, m.
    margin_m : float
        Erosion radius of the safe mask, m.
    """
    safe = np.asarray(safe, bool)
    xs = np.asarray(xs, float)
    ys = np.asarray(ys, float)
    p = abs(xs[1] - xs[0])
    k = int(np.ceil(margin_m / p - 1e-9))
    if k > 0:
        yy, xx = np.mgrid[-k:k + 1, -k:k + 1]
        disk = (xx * xx + yy * yy) * p * p <= margin_m**2 + 1e-9
        safe = ndimage.binary_erosion(safe, structure=disk, border_value=0)
    X, Y = np.meshgrid(xs, ys)
    d = np.hypot(X - target_xy[0], Y - target_xy[1])
    d = np.where(safe & (d <= max_retarget_m + 1e-9), d, np.inf)
    i = int(np.argmin(d))
    if not np.isfinite(d.flat[i]):
        return None, float("nan")
    return (float(X.flat[i]), float(Y.flat[i])), float(d.flat[i])


def sensed_patch(truth, r_true, r_est, centre_xy, half_width_m: float, pixel_m: float, sigma_m: float,
                 rng: np.random.Generator):
    """The hazard sensor's height patch, in the navigation frame, around ``centre_xy`` (nav frame).

    The sensor measures the real terrain relative to the lander, so a point
    ``q`` of the nav frame shows the true height at ``q - (r_est - r_true)``;
    heights carry Gaussian noise ``sigma_m``. Returns (z, xs, ys, height_fn).

    Parameters
    ----------
    truth : SiteTerrain
        The true terrain.
    r_true, r_est : np.ndarray
        (3,) true and estimated lander positions, m, site frame.
    centre_xy : array_like
        (2,) patch centre, m, nav frame.
    half_width_m : float
        Half side of the patch, m.
    pixel_m : float
        Patch pixel, m.
    sigma_m : float
        Height noise 1-sigma, m.
    rng : np.random.Generator
        Source of the noise.
    """
    e = np.asarray(r_est, float) - np.asarray(r_true, float)
    n = int(np.ceil(half_width_m / pixel_m))
    xs = centre_xy[0] + pixel_m * np.arange(-n, n + 1)
    ys = centre_xy[1] - pixel_m * np.arange(-n, n + 1)
    X, Y = np.meshgrid(xs, ys)

    def height_fn(x, y):
        return truth.height(np.asarray(x) - e[0], np.asarray(y) - e[1]) + e[2]

    z = height_fn(X, Y) + rng.normal(0.0, sigma_m, X.shape)
    return z, xs, ys, height_fn


# --------------------------------------------------------------------------- target checks


def horizon_elevation_deg(dem: xr.DataArray, x: float, y: float, n_azimuths: int = 72,
                          observer_height_m: float = 0.0) -> np.ndarray:
    """Horizon elevation (deg) at (x, y) in ``n_azimuths`` grid azimuths (0, 360/n, ...), within the DEM.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, heights in m.
    x, y : float
        The point, m, DEM CRS.
    n_azimuths : int
        Azimuths over 360 deg.
    observer_height_m : float
        Eye height above the ground, m.
    """
    t = _d.site_terrain(dem)
    x0, x1, y0, y1 = t.extent
    h0 = float(t.height(x, y)) + observer_height_m
    az = np.radians(np.arange(n_azimuths) * 360.0 / n_azimuths)
    dmax = float(np.hypot(x1 - x0, y1 - y0))
    d = np.arange(t.pixel_m, dmax, t.pixel_m)
    X = x + np.outer(np.sin(az), d)
    Y = y + np.outer(np.cos(az), d)
    inside = (X >= x0) & (X <= x1) & (Y >= y0) & (Y <= y1)
    H = t.height(X, Y)
    el = np.degrees(np.arctan((H - h0) / d - d / (2 * _d.R_M)))
    el = np.where(inside, el, -90.0)
    return el.max(axis=1)


def max_sun_elevation_deg(dem: xr.DataArray, x: float, y: float) -> float:
    """Highest the Sun's upper limb can rise at (x, y): colatitude + 1.6 deg + 0.27 deg."""
    crs = dem_crs(dem)
    _, lat = Transformer.from_crs(crs, lunar_geographic_crs(crs), always_xy=True).transform(x, y)
    return 90.0 - abs(float(lat)) + MAX_SUN_TILT_DEG + SUN_SEMI_DIAMETER_DEG


def in_permanent_shadow(dem: xr.DataArray, x: float, y: float, n_azimuths: int = 72) -> bool:
    """True when the horizon at (x, y) hides the Sun's highest upper limb in every azimuth.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, heights in m.
    x, y : float
        The point, m, DEM CRS.
    n_azimuths : int
        Horizon azimuths over 360 deg.
    """
    hz = horizon_elevation_deg(dem, x, y, n_azimuths)
    return bool((hz > max_sun_elevation_deg(dem, x, y)).all())


def validate_target(dem: xr.DataArray, target_xy, *, footprint_m: float = 5.0, max_slope_deg: float = 12.0,
                    edge_margin_m: float = 100.0) -> None:
    """Raise :class:`InputError` for a target the lander cannot be sent to.

    Outside the DEM (or within ``edge_margin_m`` of its edge, where the hazard
    map would run off the grid), in permanent shadow, or on a slope above
    ``max_slope_deg`` at the footprint baseline.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, heights in m.
    target_xy : array_like
        (2,) the target, m, DEM CRS.
    footprint_m : float
        Leg span, the slope baseline, m.
    max_slope_deg : float
        Steepest slope allowed, deg.
    edge_margin_m : float
        Smallest distance from the DEM's edge, m.
    """
    try:
        tx, ty = (float(v) for v in target_xy)
    except (TypeError, ValueError):
        raise InputError(f"target must be an (x, y) pair in metres of the DEM's CRS, got {target_xy!r}") from None
    if not (np.isfinite(tx) and np.isfinite(ty)):
        raise InputError(f"target must be finite, got {target_xy!r}")
    t = _d.site_terrain(dem)
    x0, x1, y0, y1 = t.extent
    if not (x0 + edge_margin_m <= tx <= x1 - edge_margin_m and y0 + edge_margin_m <= ty <= y1 - edge_margin_m):
        raise InputError(
            f"target ({tx:.0f}, {ty:.0f}) m is outside the DEM or within {edge_margin_m:.0f} m of its edge "
            f"(usable x {x0 + edge_margin_m:.0f}..{x1 - edge_margin_m:.0f}, y {y0 + edge_margin_m:.0f}.."
            f"{y1 - edge_margin_m:.0f}); choose a target inside the map or load a larger DEM")
    n = int(np.ceil(2 * footprint_m / t.pixel_m)) + 2
    xs = tx + t.pixel_m * np.arange(-n, n + 1)
    ys = ty - t.pixel_m * np.arange(-n, n + 1)
    X, Y = np.meshgrid(xs, ys)
    s = slope_deg(_patch_da(t.height(X, Y), xs, ys), footprint_m).values[n, n]
    if not s <= max_slope_deg:
        raise InputError(f"target ({tx:.0f}, {ty:.0f}) m sits on a {s:.1f} deg slope over the {footprint_m:g} m "
                         f"footprint, above the {max_slope_deg:g} deg touchdown limit; pick a flatter target "
                         "(see lupex.terrain.lander_hazard_map)")
    if in_permanent_shadow(dem, tx, ty):
        raise InputError(f"target ({tx:.0f}, {ty:.0f}) m is in permanent shadow (its horizon is above the highest "
                         "the Sun ever gets there in every direction); pick a target that sees the Sun")
