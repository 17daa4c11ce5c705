"""Renderer: analytic lunar-Lambert radiance of a plane, analytic cone shadow length, bad input."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.landing import render as R
from lupex.landing.camera import Camera, look_at_rotation, nadir_rotation
from lupex.terrain import dem_from_array


def _dem(z, pixel):
    n = z.shape[0]
    x = (np.arange(n) - (n - 1) / 2) * pixel
    return dem_from_array(z, x, -x)


def test_flat_plane_matches_analytic_lunar_lambert():
    dem = _dem(np.zeros((200, 200)), 5.0)
    el, az = 20.0, 135.0
    sun = R.sun_vector_from_az_el(az, el)
    scene = R.make_scene(dem, sun, albedo=0.1, radius_m=np.inf)
    cam = Camera(30, 64, 48, position_m=[0.0, 0.0, 400.0], rotation=look_at_rotation([0, 0, 400], [50, 80, 0]))
    img = R.render_radiance(scene, cam)
    # independent: every pixel sees the plane z=0; McEwen (1991) eq. 5 with McEwen (1996) L(phase)
    vv, uu = np.mgrid[0:48, 0:64]
    d = cam.ray(np.column_stack([uu.ravel(), vv.ravel()]))
    t = -400.0 / d[:, 2]
    hit = cam.position_m + d * t[:, None]
    view = -d
    mu0 = np.sin(np.radians(el))
    mu = view[:, 2]
    a = np.degrees(np.arccos(view @ sun))
    L = 1 - 0.019 * a + 2.42e-4 * a**2 - 1.46e-6 * a**3
    expect = 0.1 * (2 * L * mu0 / (mu0 + mu) + (1 - L) * mu0)
    inside = (np.abs(hit[:, 0]) < 490) & (np.abs(hit[:, 1]) < 490)
    np.testing.assert_allclose(img.ravel()[inside], expect[inside], rtol=2e-3)


def test_cone_shadow_length_is_h_over_tan_e():
    pixel, n, h, el = 2.0, 401, 40.0, 8.0  # odd n: the apex is a cell centre
    x = (np.arange(n) - (n - 1) / 2) * pixel
    xx, yy = np.meshgrid(x, -x)
    z = np.maximum(h - np.hypot(xx, yy) * 2.0, 0.0)  # cone, apex at the origin, 20 m base radius
    dem = _dem(z, pixel)
    scene = R.make_scene(dem, R.sun_vector_from_az_el(90.0, el), radius_m=np.inf)  # Sun in the east (+x)
    row = scene.sun_fraction[n // 2]
    west = x < -25.0
    shadowed = west & (row < 0.5)
    tip = -x[shadowed].min()  # farthest shadowed cell west of the apex
    assert tip == pytest.approx(h / np.tan(np.radians(el)), abs=2 * pixel)
    # and the nadir image shows it: dark inside the shadow, lit beyond its tip
    cam = Camera(60, 512, 512, position_m=[-150.0, 0.0, 500.0], rotation=nadir_rotation())
    img = R.render_radiance(scene, cam)
    uv, _ = cam.project([[-0.7 * tip, 0.0, 0.0], [-tip - 4 * pixel, 0.0, 0.0]])  # the shadow tapers to its tip
    r = int(round(uv[0, 1]))
    assert img[r, int(round(uv[0, 0]))] < 0.2 * img[r, int(round(uv[1, 0]))]


def test_frame_seeing_nothing_or_nan_dem_raises():
    dem = _dem(np.zeros((50, 50)), 5.0)
    scene = R.make_scene(dem, R.sun_vector_from_az_el(90, 10), radius_m=np.inf)
    up = Camera(30, 64, 64, position_m=[0, 0, 100.0], rotation=look_at_rotation([0, 0, 100.0], [0, 0, 500.0]))
    with pytest.raises(InputError):
        R.render(scene, up)
    far = Camera(30, 64, 64, position_m=[1e5, 0, 100.0], rotation=nadir_rotation())
    with pytest.raises(InputError):
        R.render(scene, far)
    z = np.zeros((50, 50))
    z[3, 3] = np.nan
    with pytest.raises(InputError):
        R.make_scene(_nan_dem(z), R.sun_vector_from_az_el(90, 10))


def _nan_dem(z):
    import xarray as xr

    x = (np.arange(z.shape[1]) - 25) * 5.0
    return xr.DataArray(z, dims=("y", "x"), coords={"x": x, "y": -x})


def test_noise_is_reproducible_and_quantised():
    dem = _dem(np.zeros((100, 100)), 5.0)
    scene = R.make_scene(dem, R.sun_vector_from_az_el(90, 10), radius_m=np.inf)
    cam = Camera(30, 64, 64, position_m=[0, 0, 300.0], rotation=nadir_rotation())
    a = R.render(scene, cam, np.random.default_rng(5), bit_depth=12)
    b = R.render(scene, cam, np.random.default_rng(5), bit_depth=12)
    assert a.dtype == np.uint16 and a.max() <= 4095 and np.array_equal(a, b)
    assert a.std() > 0  # shot + read noise on a uniform plane
