"""GP water-map fusion: checked against scikit-learn (an independent GP), a
seeded truth field of known correlation length, finite differences of the
likelihood, and bad inputs."""

import numpy as np
import pytest
import xarray as xr

from lupex.errors import InputError, LupexError
from lupex.prospect import fusion as F
from lupex.prospect import fusion
from lupex.prospect import scoring as S
from lupex.prospect import strategy as St

pytestmark = pytest.mark.usefixtures("one_blas_thread")  # see conftest.py


def _random_obs(seed=0, n=150):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 400, (n, 2))
    K = F.kernel_matrix("matern52", X, X, 1.3, 70.0)
    f = np.linalg.cholesky(K + 1e-8 * np.eye(n)) @ rng.standard_normal(n)
    sig = rng.uniform(0.05, 0.3, n)
    return F.observations(X[:, 0], X[:, 1], f + sig * rng.standard_normal(n), sig), rng


def _grid(n=60, cell=10.0):
    x = (np.arange(n) + 0.5) * cell
    return xr.DataArray(np.zeros((n, n)), dims=("y", "x"), coords={"x": x, "y": x[::-1].copy()})


@pytest.mark.parametrize("kernel", ["matern32", "matern52", "se"])
def test_matches_sklearn_with_fixed_hyperparameters(kernel):
    sk = pytest.importorskip("sklearn.gaussian_process")
    kern = pytest.importorskip("sklearn.gaussian_process.kernels")
    obs, rng = _random_obs(1)
    s2, ell, nug = 1.3, 70.0, 0.02
    base = kern.RBF(ell, "fixed") if kernel == "se" else kern.Matern(ell, "fixed", nu=1.5 if kernel == "matern32" else 2.5)
    k = kern.ConstantKernel(s2, "fixed") * base
    gpr = sk.GaussianProcessRegressor(k, alpha=obs.sigma**2 + nug, optimizer=None, normalize_y=False)
    gpr.fit(obs.xy, obs.value)
    m = F.fit_gp(obs, kernel=kernel, mean="zero", fixed={"variance": s2, "length_m": ell, "nugget": nug})
    q = rng.uniform(-50, 450, (300, 2))
    mu_ref, sd_ref = gpr.predict(q, return_std=True)
    mu, sd = F.predict_latent(m, q)
    np.testing.assert_allclose(mu, mu_ref, atol=1e-6, rtol=0)
    np.testing.assert_allclose(sd, sd_ref, atol=1e-6, rtol=0)
    lml = F.log_marginal_likelihood(obs, kernel=kernel, variance=s2, length_m=ell, nugget=nug, mean="zero")
    assert lml == pytest.approx(gpr.log_marginal_likelihood_value_, rel=1e-9, abs=1e-6)
    # full covariance agrees too (used by the information gain)
    _, cov = F.predict_latent(m, q[:20], full_cov=True)
    np.testing.assert_allclose(cov, gpr.predict(q[:20], return_cov=True)[1], atol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fitted_lml_matches_sklearn_at_our_optimum():
    sk = pytest.importorskip("sklearn.gaussian_process")
    kern = pytest.importorskip("sklearn.gaussian_process.kernels")
    obs, _ = _random_obs(2)
    m = F.fit_gp(obs, kernel="matern32", mean="zero")
    k = kern.ConstantKernel(m.variance, "fixed") * kern.Matern(m.length_m, "fixed", nu=1.5)
    gpr = sk.GaussianProcessRegressor(k, alpha=obs.sigma**2 + m.nugget, optimizer=None).fit(obs.xy, obs.value)
    assert m.lml == pytest.approx(gpr.log_marginal_likelihood_value_, rel=1e-9)
    # and it is a maximum: sklearn's own optimiser (same kernel family) does not beat it
    k2 = kern.ConstantKernel(1.0) * kern.Matern(50.0, nu=1.5) + kern.WhiteKernel(0.01, (1e-8, 1e1))
    free = sk.GaussianProcessRegressor(k2, alpha=obs.sigma**2, n_restarts_optimizer=2, random_state=0).fit(obs.xy, obs.value)
    assert m.lml >= free.log_marginal_likelihood_value_ - 1e-3


@pytest.mark.parametrize("mean", ["zero", "constant", "linear"])
def test_lml_gradient_matches_finite_differences(mean):
    obs, _ = _random_obs(3, 80)
    th = np.log([0.9, 55.0, 0.03])
    _, g = F.log_marginal_likelihood(obs, kernel="matern52", variance=0.9, length_m=55.0, nugget=0.03,
                                     mean=mean, gradient=True)
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1e-5
        a, b = np.exp(th + e), np.exp(th - e)
        fd = (F.log_marginal_likelihood(obs, kernel="matern52", variance=a[0], length_m=a[1], nugget=a[2], mean=mean)
              - F.log_marginal_likelihood(obs, kernel="matern52", variance=b[0], length_m=b[1], nugget=b[2],
                                          mean=mean)) / 2e-5
        assert g[j] == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_length_scale_recovery_and_calibration_on_seeded_truth():
    """Truth: Matern-3/2 field, l = 80 m (circulant embedding); noisy retrievals
    along random traverses. Fitted l within 1.5x of 80 m; the 95 % interval
    covers ~95 % of the true cells."""
    ells, z = [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        T = _grid()
        T.values[:] = S.gaussian_random_field(T.shape, 10.0, 80.0, rng)
        pts = St.path_points(rng.uniform(0, 600, (10, 2)), 5.0, include_start=True)
        sig = rng.uniform(0.1, 0.3, pts.shape[0])
        v = S.sample_grid(T, pts) + sig * rng.standard_normal(pts.shape[0])
        obs = F.bin_observations(F.observations(pts[:, 0], pts[:, 1], v, sig, "ns"), 10.0)
        m = F.fit_gp(obs, kernel="matern32", mean="constant")
        p = F.predict_grid(m, T)
        ells.append(m.length_m)
        z.append(((T - p["mean"]) / p["sd"]).values.ravel())
        assert S.calibration(T, p["mean"], p["sd"], k=1.96) > 0.85
    z = np.concatenate(z)
    assert 80 / 1.5 < np.median(ells) < 80 * 1.5, ells
    assert 0.90 < np.mean(np.abs(z) < 1.96) < 0.98
    assert 0.8 < np.std(z) < 1.2


def test_log_transform_round_trip_and_lognormal_moments():
    tr = F.LogShift(0.1)
    w = np.array([0.0, 0.5, 3.0])
    np.testing.assert_allclose(tr.inverse(tr.forward(w)), w, atol=1e-12)
    rng = np.random.default_rng(0)
    zs = 0.3 + 0.8 * rng.standard_normal(400_000)
    m, s = tr.moments(0.3, 0.8)
    assert m == pytest.approx(np.mean(tr.inverse(zs)), rel=5e-3)
    assert s == pytest.approx(np.std(tr.inverse(zs)), rel=1e-2)
    lg = F.Logit(0.0, 3.0)
    m, s = lg.moments(0.2, 0.7)
    zs = lg.inverse(0.2 + 0.7 * rng.standard_normal(400_000))
    assert m == pytest.approx(zs.mean(), rel=2e-3) and s == pytest.approx(zs.std(), rel=1e-2)


def test_binning_inverse_variance_means():
    obs = F.observations([0.5, 1.5, 12.0], [0.5, 0.2, 3.0], [1.0, 3.0, 5.0], [1.0, 1.0, 2.0], ["gpr"] * 3)
    b = F.bin_observations(obs, 10.0)
    assert b.n == 2
    i = int(np.argmin(b.x_m))
    assert b.value[i] == pytest.approx(2.0) and b.sigma[i] == pytest.approx(1 / np.sqrt(2))
    # fully correlated errors within a bin: the mean is as uncertain as its members (GUM eq. 16, r = 1)
    obs = F.observations([0.5, 1.5, 2.0], [0.5, 0.2, 0.1], [1.0, 3.0, 2.0], [1.0, 0.5, 2.0], ["ns"] * 3)
    c = F.bin_observations(obs, 10.0, correlated=True)
    w = np.array([1.0, 4.0, 0.25])
    assert c.n == 1 and c.value[0] == pytest.approx((w * [1.0, 3.0, 2.0]).sum() / w.sum())
    assert c.sigma[0] == pytest.approx((w * [1.0, 0.5, 2.0]).sum() / w.sum())
    assert c.sigma[0] > F.bin_observations(obs, 10.0).sigma[0]


def test_fuse_water_maps_grid_and_probability():
    rng = np.random.default_rng(5)
    g = _grid(30, 20.0)
    pts = rng.uniform(0, 600, (200, 2))
    weh = np.exp(-0.5 + np.sin(pts[:, 0] / 100))
    depth = np.clip(0.8 + 0.5 * np.cos(pts[:, 1] / 150), 0.05, 2.9)
    ns = F.observations(pts[:, 0], pts[:, 1], weh, 0.1 + 0.1 * weh, "ns")
    gpr = F.observations(pts[:, 0], pts[:, 1], depth, np.full(200, 0.05), "gpr")
    maps = F.fuse_water_maps(g, ns=ns, gpr=gpr)
    assert maps["weh_mean"].shape == g.shape and (maps["weh_lower"] >= -0.1).all()
    assert float(maps["weh_mean"].attrs["length_m"]) > 0
    p = maps["p_ice_within_drill"].values
    assert ((p >= 0) & (p <= 1)).all()
    # where the GPR sees the table at ~0.3 m, it is surely within the drill's 1.5 m
    assert p.max() > 0.99


@pytest.mark.parametrize("bad", [
    dict(value=[1.0, np.nan]), dict(sigma=[0.1, 0.0]), dict(sigma=[0.1, -1.0]), dict(x_m=[0.0, np.inf]),
    dict(x_m=[], y_m=[], value=[], sigma=[]), dict(value=[1.0, 2.0, 3.0])])
def test_bad_observations_raise_input_error(bad):
    kw = dict(x_m=[0.0, 1.0], y_m=[0.0, 1.0], value=[1.0, 2.0], sigma=[0.1, 0.1]) | bad
    with pytest.raises(InputError):
        F.observations(**kw)


def test_bad_model_inputs_raise_input_error():
    obs = F.observations([0, 10], [0, 0], [-0.5, 1.0], [0.1, 0.1])
    with pytest.raises(InputError, match="clip"):
        F.fit_gp(obs, transform=F.LogShift(0.1))
    with pytest.raises(InputError):
        F.fit_gp(obs, kernel="cubic")
    with pytest.raises(InputError, match="bin_observations"):
        F.fit_gp(obs, max_n=1)
    with pytest.raises(InputError):
        F.predict_grid(F.fit_gp(obs, fixed={"variance": 1, "length_m": 5, "nugget": 0}), np.zeros((3, 3)))
    assert issubclass(InputError, LupexError)


def test_variance_floor_keeps_unvisited_ground_uncertain():
    """Observations that all agree (a rover that has seen only dry ground) drive the marginal-likelihood
    variance towards zero; the floor keeps the signal variance at min_sd^2, so far from the data the
    latent sd returns to at least min_sd."""
    from lupex.prospect import fusion as F

    rng = np.random.default_rng(0)
    x = np.linspace(0, 100, 30)
    obs = F.observations(x, np.zeros_like(x), 0.05 + 0.001 * rng.standard_normal(x.size), np.full(x.size, 0.01))
    free = F.fit_gp(obs, transform=F.LogShift(0.1))
    floored = F.fit_gp(obs, transform=F.LogShift(0.1), bounds=F.variance_floor(0.7))
    assert free.variance < 0.7**2 <= floored.variance * (1 + 1e-9)
    far = np.array([[100.0, 2000.0]])
    _, sd_free = F.predict_latent(free, far)
    _, sd_floor = F.predict_latent(floored, far)
    assert sd_floor[0] >= 0.7 * 0.999 > sd_free[0]
    assert F.variance_floor(0.0) is None


# ----------------------------------------------------------------------------- kriging with an external drift


def _drift_case(prior_sd=2.0):
    x = np.arange(21) * 20.0
    y = np.arange(21) * 20.0
    f = np.zeros((21, 21))
    f[:, :8] = 1.0
    da = xr.DataArray(f, coords={"y": y, "x": x}, dims=("y", "x"), name="prior")
    return da, fusion.Drift.of(da, prior_sd=prior_sd)


def test_drift_prior_is_the_explicit_basis_with_a_gaussian_coefficient():
    """GPML sec. 2.7: a coefficient b1 ~ N(0, s_b^2) on the covariate c is the same model as the kernel plus
    s_b^2 c c'. Check the posterior mean and variance against a brute-force joint Gaussian over (f, b1)."""
    da, dr = _drift_case(prior_sd=1.5)
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 400, (25, 2))
    v = np.exp(rng.normal(-1, 0.6, 25))
    obs = fusion.observations(xy[:, 0], xy[:, 1], v, np.full(25, 0.1))
    tr = fusion.LogShift(0.1)
    m = fusion.fit_gp(obs, mean="drift", drift=dr, transform=tr, fixed={"variance": 0.5, "length_m": 60.0,
                                                                        "nugget": 0.01})
    q = np.array([[30.0, 200.0], [350.0, 50.0]])
    mu, sd = fusion.predict_latent(m, q)
    # brute force: z = b0 + b1 c + f + e with b0 vague (GLS), b1 ~ N(0, 1.5^2): stack the prior covariance
    y = tr.forward(v)
    nv = (0.1 * tr.derivative(v)) ** 2
    c, cq = dr(xy), dr(q)
    K = fusion.kernel_matrix("matern32", xy, xy, 0.5, 60.0) + 1.5**2 * np.outer(c, c) + np.diag(nv + 0.01)
    Kq = fusion.kernel_matrix("matern32", xy, q, 0.5, 60.0) + 1.5**2 * np.outer(c, cq)
    Ki = np.linalg.inv(K)
    H = np.ones((25, 1))
    b0 = np.linalg.solve(H.T @ Ki @ H, H.T @ Ki @ y)
    mu_ref = Kq.T @ Ki @ (y - H @ b0) + b0
    R = np.ones((1, 2)) - H.T @ Ki @ Kq
    var_ref = 0.5 + 1.5**2 * cq**2 - np.einsum("ij,ik,kj->j", Kq, Ki, Kq) + (R * np.linalg.solve(H.T @ Ki @ H, R)).sum(0)
    np.testing.assert_allclose(mu, mu_ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sd, np.sqrt(var_ref), rtol=1e-8)


def test_drift_keeps_unvisited_prior_ground_uncertain_and_learns_the_slope():
    da, dr = _drift_case()
    tr = fusion.LogShift(0.1)
    yy = np.arange(0, 400, 10.0)
    dry = fusion.observations(np.full(yy.size, 300.0), yy, np.full(yy.size, 0.2), np.full(yy.size, 0.1))
    m = fusion.fit_gp(dry, mean="drift", drift=dr, transform=tr, bounds=fusion.gp_bounds(0.7, 100.0))
    b1, b1_sd = fusion.drift_slope(m)
    assert b1 == pytest.approx(0.0, abs=1e-9) and b1_sd == pytest.approx(2.0, rel=1e-6)   # seen one class only
    mu, sd = fusion.predict_latent(m, np.array([[20.0, 200.0], [380.0, 200.0]]))
    assert sd[0] > 2.0 and sd[1] < 0.7          # the other class keeps the slope's prior uncertainty
    # wet ground seen on the prior class: the slope is learned, with a small sd, and the maps follow it
    wet = fusion.observations(np.full(yy.size, 60.0), yy, np.full(yy.size, 3.0), np.full(yy.size, 0.3))
    m2 = fusion.fit_gp(fusion.concat_observations(dry, wet), mean="drift", drift=dr, transform=tr,
                       bounds=fusion.gp_bounds(0.7, 100.0))
    b1, b1_sd = fusion.drift_slope(m2)
    assert b1 == pytest.approx(tr.forward(3.0) - tr.forward(0.2), abs=0.3) and b1_sd < 1.0
    g = fusion.predict_grid(m2, da)
    assert g.attrs["drift_covariate"] == "prior" and g.attrs["drift_slope"] == pytest.approx(b1)
    assert float(g["median"].isel(x=2).mean()) > 1.5 and float(g["median"].isel(x=18).mean()) < 0.5


def test_posterior_cross_cov_is_the_full_covariance_block():
    da, dr = _drift_case()
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 400, (30, 2))
    obs = fusion.observations(xy[:, 0], xy[:, 1], rng.uniform(0.1, 3, 30), np.full(30, 0.2))
    for mean, drift in (("constant", None), ("linear", None), ("drift", dr)):
        m = fusion.fit_gp(obs, mean=mean, drift=drift, transform=fusion.LogShift(0.1),
                          fixed={"variance": 0.4, "length_m": 50.0, "nugget": 0.01})
        a, b = rng.uniform(0, 400, (5, 2)), rng.uniform(0, 400, (7, 2))
        _, full = fusion.predict_latent(m, np.vstack([a, b]), full_cov=True)
        np.testing.assert_allclose(fusion.posterior_cross_cov(m, a, b), full[:5, 5:], atol=1e-10)


def test_gp_bounds_cap_the_length_scale():
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 400, (40, 2))
    obs = fusion.observations(xy[:, 0], xy[:, 1], np.full(40, 0.2), np.full(40, 0.1))   # all alike: ML-II -> long
    assert fusion.fit_gp(obs, transform=fusion.LogShift(0.1)).length_m > 1000.0
    m = fusion.fit_gp(obs, transform=fusion.LogShift(0.1), bounds=fusion.gp_bounds(0.7, 80.0))
    assert m.length_m <= 80.0 + 1e-6 and m.variance >= 0.49 - 1e-9
    with pytest.raises(InputError, match="max_length_m"):
        fusion.gp_bounds(0.0, -1.0)


def test_drift_needs_a_covariate_map():
    obs = fusion.observations([0.0, 10.0], [0.0, 0.0], [1.0, 2.0], [0.1, 0.1])
    with pytest.raises(InputError, match="drift=Drift.of"):
        fusion.fit_gp(obs, mean="drift")
    with pytest.raises(InputError, match="NaN"):
        fusion.Drift.of(xr.DataArray(np.full((3, 3), np.nan), coords={"y": [0, 1, 2], "x": [0, 1, 2]}, dims=("y", "x")))
