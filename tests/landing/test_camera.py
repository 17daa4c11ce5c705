"""Pinhole camera: the projection formula (Hartley & Zisserman eq. 6.8) and the ray round trip."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lupex.errors import InputError
from lupex.landing.camera import Camera, look_at_rotation, nadir_rotation
from lupex.landing.pose import so3_exp


def test_pinhole_formula_nadir():
    cam = Camera(60.0, 800, 600, position_m=[10.0, 20.0, 1000.0], rotation=nadir_rotation())
    f = 400.0 / np.tan(np.radians(30.0))  # (width/2)/tan(fov/2) by hand
    # a ground point 100 m east and 50 m north of the nadir point, 1000 m below
    uv, depth = cam.project([[110.0, 70.0, 0.0]])
    assert depth[0] == pytest.approx(1000.0)
    assert uv[0, 0] == pytest.approx(399.5 + f * 100.0 / 1000.0)  # east -> right
    assert uv[0, 1] == pytest.approx(299.5 - f * 50.0 / 1000.0)  # north -> up (smaller row)
    assert cam.gsd_m(1000.0) == pytest.approx(1000.0 / f)


@settings(max_examples=40, deadline=None)
@given(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.floats(-3, 3), st.floats(20, 120))
def test_project_ray_round_trip(a, b, c, fov):
    rng = np.random.default_rng(abs(hash((a, b, c))) % 2**32)
    R = so3_exp([a, b, c]) @ nadir_rotation()
    cam = Camera(fov, 640, 480, position_m=[5.0, -3.0, 500.0], rotation=R)
    uv = np.column_stack([rng.uniform(0, 639, 20), rng.uniform(0, 479, 20)])
    d = cam.ray(uv)
    pts = cam.position_m + d * rng.uniform(10, 1000, (20, 1))
    uv2, depth = cam.project(pts)
    assert (depth > 0).all()
    np.testing.assert_allclose(uv2, uv, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0)


def test_look_at_points_boresight_at_target():
    cam = Camera(40, 101, 101, position_m=[0, -800, 600], rotation=look_at_rotation([0, -800, 600], [0, 0, 0]))
    uv, _ = cam.project([[0.0, 0.0, 0.0]])
    np.testing.assert_allclose(uv[0], [50.0, 50.0], atol=1e-9)


def test_bad_camera_inputs():
    with pytest.raises(InputError):
        Camera(0.0, 100, 100)
    with pytest.raises(InputError):
        Camera(30.0, 100, 100, rotation=np.diag([1.0, 1.0, -1.0]))
