"""The onboard navigation map, built on the ground before the flight.

Contents (after SLIM's crater map from Kaguya data and the photo map of
Maehara et al. 2021; Mars 2020 LVS carried a map image plus a DEM):

* a crater catalogue: id, site-frame centre ``x_m, y_m, z_m`` (``z_m`` is the
  mean height of the rim circle, where the detector's shading pair sits) and
  ``radius_m``; from a given catalogue (e.g. the synthetic truth, or a real one)
  or detected in the reference image;
* a triangle index of the catalogue for identification without a prior
  (:mod:`lupex.landing.matching`);
* an orthorectified reference image (nadir lunar-Lambert I/F on the DEM grid,
  :func:`lupex.landing.render.ortho_image`) rendered at a *reference*
  illumination, and the site-frame heights of that grid for orthorectifying
  descent images.

Map errors are injectable: Gaussian catalogue position noise
(``position_noise_m`` per horizontal axis) and relative radius noise
(``radius_noise_frac``), drawn from an explicit generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from lupex.errors import InputError
from lupex.landing import render as _render
from lupex.landing.craters import detect_craters
from lupex.landing.matching import TriangleIndex

__all__ = ["OnboardMap", "build_onboard_map", "rim_heights_m"]


@dataclass(frozen=True)
class OnboardMap:
    """The lander's onboard map: crater catalogue, height grid and reference image, site frame (m)."""

    craters: pd.DataFrame  # id, x_m, y_m, z_m, radius_m
    x_m: np.ndarray  # (nx,) map grid
    y_m: np.ndarray  # (ny,) decreasing
    pixel_m: float
    z_site_m: np.ndarray  # (ny, nx) site-frame heights of the map grid
    reference_image: np.ndarray  # (ny, nx) float32 I/F at the reference illumination
    reference_sun_site: np.ndarray  # (3,)
    triangles: object  # matching.TriangleIndex

    def xyz(self) -> np.ndarray:
        """Crater centres (n, 3), m, site frame."""
        return self.craters[["x_m", "y_m", "z_m"]].to_numpy()

    def median_height_m(self) -> float:
        """Median site-frame height of the map grid (the reference plane of footprints), cached."""
        z = self.__dict__.get("_median_z")
        if z is None:
            z = float(np.median(self.z_site_m))
            object.__setattr__(self, "_median_z", z)
        return z

    def height_at(self, x_m, y_m) -> np.ndarray:
        """Bilinear site-frame height of the map grid at (x, y)."""
        col = (np.asarray(x_m, float) - self.x_m[0]) / self.pixel_m
        row = (self.y_m[0] - np.asarray(y_m, float)) / self.pixel_m
        return ndimage.map_coordinates(self.z_site_m, [np.ravel(row), np.ravel(col)], order=1,
                                       mode="nearest").reshape(np.shape(row))


def rim_heights_m(x_grid, y_grid, z_site_m, pixel_m, cx_m, cy_m, radius_m, n: int = 16) -> np.ndarray:
    """Mean site-frame height on each crater's rim circle (bilinear on the grid).

    Parameters
    ----------
    x_grid, y_grid : np.ndarray
        (nx,) and (ny,) map grid, m (``y_grid`` decreasing).
    z_site_m : np.ndarray
        (ny, nx) site-frame heights, m.
    pixel_m : float
        Grid pixel, m.
    cx_m, cy_m : array_like
        (n,) crater centres, m.
    radius_m : array_like
        (n,) crater radii, m.
    n : int
        Points sampled on each rim.
    """
    ang = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    X = np.asarray(cx_m, float)[:, None] + np.asarray(radius_m, float)[:, None] * np.cos(ang)
    Y = np.asarray(cy_m, float)[:, None] + np.asarray(radius_m, float)[:, None] * np.sin(ang)
    col = (X - x_grid[0]) / pixel_m
    row = (y_grid[0] - Y) / pixel_m
    z = ndimage.map_coordinates(z_site_m, [row.ravel(), col.ravel()], order=1, mode="nearest")
    return z.reshape(X.shape).mean(1)


def build_onboard_map(dem, craters: pd.DataFrame | None, reference_sun_az_el, *, min_radius_m: float = 8.0,
                      max_radius_m: float = 500.0, position_noise_m: float = 0.0, radius_noise_frac: float = 0.0,
                      rng: np.random.Generator | None = None, albedo: float = 0.12) -> OnboardMap:
    """Build the onboard map from ``dem`` (lupex DEM contract).

    ``craters``: a catalogue with ``x_m, y_m, diameter_m`` (grid metres), or
    ``None`` to detect craters in the reference image. ``reference_sun_az_el``:
    (grid azimuth deg, elevation deg) of the reference illumination. Craters
    with radius outside ``[min_radius_m, max_radius_m]`` or whose rim leaves the
    grid are dropped. Noise needs ``rng``.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, heights in m.
    craters : pd.DataFrame, optional
        Catalogue with ``x_m, y_m, diameter_m``; None: detect craters in the reference image.
    reference_sun_az_el : tuple of float
        Grid azimuth and elevation of the reference Sun, deg.
    min_radius_m, max_radius_m : float
        Radii kept, m.
    position_noise_m : float
        1-sigma of the catalogue centres' error, m.
    radius_noise_frac : float
        1-sigma of the radii's relative (log-normal) error.
    rng : np.random.Generator, optional
        Source of the noise; needed when there is noise.
    albedo : float
        Albedo of the reference image's rendering.
    """
    try:
        az, el = (float(v) for v in reference_sun_az_el)
    except (TypeError, ValueError):
        raise InputError("reference_sun_az_el must be (grid azimuth deg, elevation deg)") from None
    if not 0.0 < el < 90.0:
        raise InputError(f"reference sun elevation {el} deg: give one in (0, 90) deg")
    sun = _render.sun_vector_from_az_el(az, el)
    scene = _render.make_scene(dem, sun, albedo=albedo)
    ref = _render.ortho_image(scene)
    x, y, px, zs = scene.x_m, scene.y_m, scene.pixel_m, scene.z_site_m
    if craters is None:
        det = detect_craters(ref, np.array([sun[0], -sun[1]]), max_detections=5000)
        cx = x[0] + det.u * px
        cy = y[0] - det.v * px
        r = det.radius_px * px
    else:
        missing = {"x_m", "y_m", "diameter_m"} - set(craters.columns)
        if missing:
            raise InputError(f"crater catalogue lacks columns {sorted(missing)}; give x_m, y_m, diameter_m")
        cx = craters["x_m"].to_numpy(float)
        cy = craters["y_m"].to_numpy(float)
        r = craters["diameter_m"].to_numpy(float) / 2.0
    if (position_noise_m > 0 or radius_noise_frac > 0) and rng is None:
        raise InputError("map noise requested: pass rng=numpy.random.default_rng(seed)")
    if position_noise_m > 0:
        cx = cx + rng.normal(0.0, position_noise_m, cx.shape)
        cy = cy + rng.normal(0.0, position_noise_m, cy.shape)
    if radius_noise_frac > 0:
        r = r * np.exp(rng.normal(0.0, radius_noise_frac, r.shape))
    keep = ((r >= min_radius_m) & (r <= max_radius_m) & (cx - r >= x[0]) & (cx + r <= x[-1])
            & (cy + r <= y[0]) & (cy - r >= y[-1]))
    cx, cy, r = cx[keep], cy[keep], r[keep]
    ids = np.flatnonzero(keep) if craters is None else craters.index.to_numpy()[keep]
    cz = rim_heights_m(x, y, zs, px, cx, cy, r) if cx.size else np.empty(0)
    cat = pd.DataFrame(dict(id=ids, x_m=cx, y_m=cy, z_m=cz, radius_m=r)).reset_index(drop=True)
    tri = TriangleIndex.build(cat["x_m"].to_numpy(), cat["y_m"].to_numpy(), cat["radius_m"].to_numpy())
    return OnboardMap(cat, x, y, px, zs, ref, sun, tri)
