"""PnP: exact recovery without noise, covariance that covers the error with noise (chi-square over seeds)."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.landing.camera import Camera, nadir_rotation, rotation_error_deg
from lupex.landing.pose import dlt_pose, pnp_ransac, refine_pose, so3_exp


def _setup(seed=1, n=40):
    rng = np.random.default_rng(seed)
    R = so3_exp([0.05, -0.03, 0.2]) @ nadir_rotation()
    C = np.array([10.0, -20.0, 1500.0])
    cam = Camera(30, 1024, 1024, position_m=C, rotation=R)
    X = np.column_stack([rng.uniform(-300, 300, n), rng.uniform(-300, 300, n), rng.uniform(-50, 50, n)])
    uv, _ = cam.project(X)
    return cam, R, C, X, uv


def test_dlt_and_gauss_newton_exact():
    cam, R, C, X, uv = _setup()
    R1, C1 = dlt_pose(X, uv, cam)
    np.testing.assert_allclose(C1, C, atol=1e-6)
    assert rotation_error_deg(R1, R) < 1e-8
    res = refine_pose(X, uv, cam, nadir_rotation(), C + [30.0, 30.0, 30.0])
    np.testing.assert_allclose(res.position_m, C, atol=1e-6)


def test_ransac_rejects_outliers_and_covariance_covers_error():
    cam, R, C, X, uv = _setup()
    d2 = []
    for seed in range(150):
        rng = np.random.default_rng(seed)
        uvn = uv + rng.normal(0.0, 0.5, uv.shape)
        uvn[:6] += rng.uniform(20, 80, (6, 2))  # gross outliers
        res = pnp_ransac(X, uvn, cam, R @ so3_exp([2e-4, 0, 0]), rng)
        assert res is not None and not res.inliers[:6].any()
        e = res.position_m - C
        d2.append(e @ np.linalg.solve(res.cov_position_m2, e))
    d2 = np.array(d2)
    # Mahalanobis distance^2 of a 3-D Gaussian error is chi2(3): mean 3, 95% below 7.81
    assert 2.4 < d2.mean() < 3.6
    assert 0.90 < (d2 < 7.81).mean() < 0.99


def test_pnp_input_errors():
    cam, R, C, X, uv = _setup()
    with pytest.raises(InputError):
        dlt_pose(X[:4], uv[:4], cam)
    uv[0, 0] = np.nan
    with pytest.raises(InputError):
        refine_pose(X, uv, cam, R, C)
