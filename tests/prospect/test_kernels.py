"""lupex.prospect.kernels: the covariance kernels at one length scale against their closed forms (GPML eqs. 4.9,
4.17), the log-length derivative against finite differences, positive semi-definite matrices, and the drift
covariate's nearest-cell lookup."""

import numpy as np
import pytest
import xarray as xr

from lupex.errors import InputError
from lupex.prospect import kernels as K


@pytest.mark.parametrize("kind,at_l", [("se", np.exp(-0.5)), ("matern32", (1 + np.sqrt(3)) * np.exp(-np.sqrt(3))),
                                       ("matern52", (1 + np.sqrt(5) + 5 / 3) * np.exp(-np.sqrt(5)))])
def test_kernels_at_zero_and_one_length_scale(kind, at_l):
    a = np.array([[0.0, 0.0]])
    b = np.array([[0.0, 0.0], [30.0, 40.0]])          # distance 50 m = the length scale
    k = K.kernel_matrix(kind, a, b, 2.0, 50.0)
    assert k[0, 0] == pytest.approx(2.0) and k[0, 1] == pytest.approx(2.0 * at_l, rel=1e-12)


@pytest.mark.parametrize("kind", K.KERNELS)
def test_log_length_derivative_matches_finite_differences(kind):
    d2 = np.array([1.0, 100.0, 2500.0, 1e4])
    length, h = 40.0, 1e-6
    _, dk = K._corr(kind, d2, length)
    fd = (K._corr(kind, d2, length * np.exp(h))[0] - K._corr(kind, d2, length * np.exp(-h))[0]) / (2 * h)
    np.testing.assert_allclose(dk, fd, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("kind", K.KERNELS)
def test_kernel_matrices_are_symmetric_and_positive_semi_definite(kind):
    xy = np.random.default_rng(1).uniform(0, 200, (40, 2))
    k = K.kernel_matrix(kind, xy, xy, 1.5, 30.0)
    np.testing.assert_allclose(k, k.T, rtol=0, atol=1e-15)
    assert np.linalg.eigvalsh(k).min() > -1e-9 * k.shape[0]      # round-off of a 40 x 40 matrix of O(1) entries


def test_unknown_kernel_is_refused():
    with pytest.raises(InputError, match="unknown kernel 'rbf'"):
        K.kernel_matrix("rbf", np.zeros((1, 2)), np.zeros((1, 2)), 1.0, 1.0)


def test_drift_takes_the_nearest_cell_and_the_edge_beyond_the_grid():
    da = xr.DataArray(np.arange(12.0).reshape(3, 4), coords={"y": [20.0, 10.0, 0.0], "x": [0.0, 10.0, 20.0, 30.0]},
                      dims=("y", "x"), name="prior")
    d = K.Drift.of(da, prior_sd=1.5)
    assert d.name == "prior" and d.prior_sd == 1.5
    np.testing.assert_array_equal(d([[0, 20], [14, 11], [31, -2], [-100, 100], [500, 9]]), [0, 5, 11, 0, 7])
    c = K._drift_cov(d, np.array([[0.0, 20.0], [30.0, 0.0]]), np.array([[10.0, 20.0]]))
    np.testing.assert_allclose(c, 1.5**2 * np.outer([0, 11], [1]))
    assert K._drift_cov(None, None, None) == 0.0


@pytest.mark.parametrize("da,needle", [
    (xr.DataArray(np.ones(3), dims="x", coords={"x": [0, 1, 2]}), "2-D xarray DataArray"),
    (xr.DataArray([[1.0, np.nan], [1.0, 1.0]], coords={"y": [1, 0], "x": [0, 1]}, dims=("y", "x")), "NaN/inf"),
    (xr.DataArray([[1.0, 1.0]], coords={"y": [0], "x": [0, 1]}, dims=("y", "x")), "at least 2 x 2"),
])
def test_bad_drift_covariates_are_refused(da, needle):
    with pytest.raises(InputError, match=needle):
        K.Drift.of(da)


def test_the_mean_bases():
    xy = np.array([[10.0, 20.0], [30.0, 40.0]])
    assert K._basis("zero", xy, 0, 1).shape == (2, 0)
    np.testing.assert_array_equal(K._basis("constant", xy, 0, 1), [[1], [1]])
    np.testing.assert_allclose(K._basis("linear", xy, np.array([10.0, 20.0]), 10.0), [[1, 0, 0], [1, 2, 2]])
    with pytest.raises(InputError, match="mean='drift' needs"):
        K._check_drift("drift", None)
