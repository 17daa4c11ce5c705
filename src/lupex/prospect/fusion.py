"""Water maps: Gaussian-process fusion of traverse retrievals.

Gridded maps of WEH and ice-table depth with uncertainty.

Model (one GP per mapped quantity)
----------------------------------
Each retrieval i is ``(x_m, y_m, value, sigma, source)``. Values are mapped to a
latent space by a monotone transform ``z = T(v)`` (below) and modelled as

    z_i = m(x_i) + f(x_i) + e_i,   f ~ GP(0, s2 k(r; l)),
    e_i ~ N(0, sigma_z,i^2 + nugget),   sigma_z,i = sigma_i |T'(v_i)|

i.e. a heteroscedastic noise: each retrieval keeps its own standard deviation
(NS posterior sigma, GPR depth sigma, ALIS sigma; mapped to the latent space
by the delta method) plus one fitted extra nugget for what the retrievals'
sigmas leave out (micro-scale variation, model error).

* Kernels: squared exponential, Matern 3/2 and 5/2 (Rasmussen & Williams 2006,
  *Gaussian Processes for Machine Learning* (GPML), eqs. 4.9, 4.17).
* Posterior mean and variance by Cholesky: GPML Algorithm 2.1.
* Mean function ``zero``, ``constant`` or ``linear`` (in x, y): explicit basis
  functions with a vague prior, GPML sec. 2.7. The coefficients are profiled
  out by generalised least squares for the likelihood; the predictive variance
  includes their uncertainty (GPML eq. 2.42).
* Mean function ``drift``: ``b0 + b1 c(x)`` with a known covariate map ``c``
  (e.g. an orbital prior): kriging with an external drift (Wackernagel 2003,
  *Multivariate Geostatistics*, 3rd ed., ch. 38; Hengl, Heuvelink & Rossiter
  2007, Comput. Geosci. 33:1301). ``b0`` is vague (GLS, as above); ``b1`` has a
  proper prior ``N(0, s_b^2)`` (:class:`Drift` ``prior_sd``), which GPML sec.
  2.7 turns into the extra covariance ``s_b^2 c(x) c(x')``: the slope is then
  defined even before the observations span the covariate (a rover that has
  seen only ground of one prior class), and unvisited ground of the other
  class keeps that uncertainty.
* Hyperparameters ``theta = (log s2, log l, log nugget)`` maximise the log
  marginal likelihood (GPML eq. 5.8) with its analytic gradient (eq. 5.9,
  ``0.5 tr((alpha alpha^T - K^-1) dK/dtheta)``; with the mean coefficients at
  their GLS optimum the gradient is the same, by the envelope theorem), by
  L-BFGS-B from a fixed, data-scaled set of starting points (deterministic: no
  random restarts).

Exact GP, no inducing points: the fit is O(n^3) and refuses more than
``max_n`` (4000) observations. Dense tracks (GPR every few cm, NS at 1 Hz) are
first thinned by :func:`bin_observations` (inverse-variance means in square
bins); a bin's sigma is the combined ``1/sqrt(sum 1/sigma_i^2)``, which
assumes independent retrieval errors within a bin (pass ``sigma_floor`` when
they are correlated along track).

Transforms: WEH is non-negative and right-skewed, so it is mapped with
``log(WEH + c)`` (:class:`LogShift`); the ice-table depth is bounded, so
``logit((d - lo) / (hi - lo))`` (:class:`Logit`). Predictions come back in the
original units: mean and standard deviation of the back-transformed Gaussian
(exact lognormal moments for :class:`LogShift`, Gauss-Hermite quadrature
otherwise) and the exact 2.5 / 97.5 % quantiles (a monotone transform carries
quantiles over).

Multi-source fusion (a choice): NS WEH (~1 m of regolith), ALIS (the top
microns) and GPR (the depth to the ice table) measure different things, so
they are *not* pooled or co-kriged here: :func:`fuse_water_maps` fits one GP
per quantity (WEH from NS, ice-table depth from GPR, surface water from ALIS)
with its own hyperparameters. A linear model of coregionalisation between NS
and ALIS would need co-located data to fit the cross-covariance; it is not
implemented.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy import linalg, optimize, special

from lupex.errors import InputError
from lupex.prospect.kernels import (  # noqa: F401  (moved there; still importable from here)
    KERNELS,
    MEANS,
    Drift,
    _basis,
    _check_drift,
    _corr,
    _drift_cov,
    _sq_dist,
    kernel_matrix,
)
from lupex.prospect.observations import Observations, bin_observations, concat_observations, observations
from lupex.prospect.transforms import _GH_W, _GH_X, Identity, Logit, LogShift  # noqa: F401  (_GH_*: strategy)

__all__ = [
    "KERNELS",
    "Observations",
    "Identity",
    "LogShift",
    "Logit",
    "GPModel",
    "observations",
    "concat_observations",
    "bin_observations",
    "Drift",
    "kernel_matrix",
    "log_marginal_likelihood",
    "fit_gp",
    "condition",
    "predict_latent",
    "predict",
    "posterior_cross_cov",
    "drift_slope",
    "grid_points",
    "predict_grid",
    "fuse_water_maps",
    "gp_bounds",
    "variance_floor",
]

_LOG_2PI = np.log(2.0 * np.pi)


# --------------------------------------------------------------------------- likelihood


def _nll_and_grad(theta, kind, d2, y, noise_var, H, want_grad=True, extra=0.0):
    """Negative log marginal likelihood (GPML eq. 5.8, mean profiled by GLS) and its gradient.

    The gradient (eq. 5.9) is with respect to theta = (log s2, log l, log nugget).
    """
    s2, ell, nug = np.exp(theta)
    R, dR = _corr(kind, d2, ell)
    K = s2 * R + extra
    K[np.diag_indices_from(K)] += noise_var + nug
    try:
        L = linalg.cholesky(K, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return np.inf, np.zeros(3)
    beta = None
    r = y
    if H.shape[1]:
        KiH = linalg.cho_solve((L, True), H, check_finite=False)
        A = H.T @ KiH
        beta = np.linalg.solve(A, KiH.T @ y)
        r = y - H @ beta
    alpha = linalg.cho_solve((L, True), r, check_finite=False)
    n = y.size
    nll = 0.5 * r @ alpha + np.log(np.diag(L)).sum() + 0.5 * n * _LOG_2PI
    if not want_grad:
        return nll, None
    Kinv, info = linalg.lapack.dpotri(L, lower=1)
    if info:
        return np.inf, np.zeros(3)
    Kinv = np.tril(Kinv) + np.tril(Kinv, -1).T
    W = np.outer(alpha, alpha)
    W -= Kinv
    g = np.array([
        0.5 * s2 * np.einsum("ij,ij->", W, R),
        0.5 * s2 * np.einsum("ij,ij->", W, dR),
        0.5 * nug * np.trace(W),
    ])
    return nll, -g


def log_marginal_likelihood(obs: Observations, *, kernel: str = "matern32", variance: float,
                            length_m: float, nugget: float = 0.0, mean: str = "zero",
                            transform=Identity(), gradient: bool = False, drift: Drift | None = None):
    """Log marginal likelihood (GPML eq. 5.8) of the observations for given hyperparameters.

    With ``gradient`` also d/d(log s2, log l, log nugget) (GPML eq. 5.9). Mean coefficients profiled by GLS.

    Parameters
    ----------
    obs : Observations
        Retrievals: positions (m), values (original units), 1-sigma errors; n of them.
    kernel : {"matern32", "matern52", "se"}
        Covariance kernel (GPML eqs. 4.9, 4.17).
    variance : float
        Signal variance s2, latent units^2.
    length_m : float
        Length scale l, m.
    nugget : float
        Extra noise variance added to every retrieval's own, latent units^2.
    mean : {"zero", "constant", "linear", "drift"}
        Mean function (module docstring).
    transform : Identity, LogShift or Logit
        Link from original units to the latent space.
    gradient : bool
        Also return the gradient.
    drift : Drift or None
        Covariate map for ``mean="drift"``.

    Returns
    -------
    float, or (float, numpy.ndarray of shape (3,))
        Log marginal likelihood (nats) of the latent values; with ``gradient``, also its gradient in
        (log s2, log l, log nugget).
    """
    X, y, nv, H, _, drift = _prepare(obs, transform, mean, drift)
    theta = np.log([variance, length_m, max(nugget, 1e-300)])
    nll, g = _nll_and_grad(theta, kernel, _sq_dist(X, X), y, nv, H, want_grad=gradient, extra=_drift_cov(drift, X, X))
    return (-nll, -g) if gradient else -nll


def _prepare(obs: Observations, transform, mean, drift=None):
    if not isinstance(obs, Observations):
        raise InputError("pass observations built with lupex.prospect.fusion.observations(...)")
    if obs.n == 0:
        raise InputError("the observation set is empty: a map needs at least one retrieval")
    if mean not in MEANS:
        raise InputError(f"unknown mean {mean!r}; use one of {MEANS}")
    transform.check(obs.value, "observation value")
    X = obs.xy
    y = transform.forward(obs.value)
    nv = (obs.sigma * np.abs(transform.derivative(obs.value))) ** 2
    origin = X.mean(0)
    scale = max(float(np.ptp(X, axis=0).max()), 1.0)
    drift = _check_drift(mean, drift)
    H = _basis(mean, X, origin, scale, drift)
    return X, y, nv, H, (origin, scale), drift


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class GPModel:
    """A conditioned GP: training data (latent space), hyperparameters and the factors."""

    kernel: str
    mean: str
    transform: object
    variance: float
    length_m: float
    nugget: float
    lml: float
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    noise_var: np.ndarray = field(repr=False)
    H: np.ndarray = field(repr=False)
    basis_frame: tuple = field(repr=False)
    L: np.ndarray = field(repr=False)
    alpha: np.ndarray = field(repr=False)
    beta: np.ndarray = field(repr=False)
    KiH: np.ndarray = field(repr=False)
    A_chol: np.ndarray | None = field(repr=False)
    n_restarts_converged: int = 0
    drift: Drift | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of observations the model is conditioned on."""
        return int(self.y.size)


def _condition(kernel, mean, transform, theta, X, y, nv, H, frame, lml=None, n_conv=0, drift=None) -> GPModel:
    s2, ell, nug = (float(t) for t in np.exp(theta))
    K = kernel_matrix(kernel, X, X, s2, ell) + _drift_cov(drift, X, X)
    K[np.diag_indices_from(K)] += nv + nug
    L = linalg.cholesky(K, lower=True, check_finite=False)
    KiH = linalg.cho_solve((L, True), H, check_finite=False) if H.shape[1] else np.zeros((y.size, 0))
    A_chol = None
    beta = np.zeros(0)
    r = y
    if H.shape[1]:
        A = H.T @ KiH
        A_chol = linalg.cholesky(A, lower=True)
        beta = linalg.cho_solve((A_chol, True), KiH.T @ y)
        r = y - H @ beta
    alpha = linalg.cho_solve((L, True), r, check_finite=False)
    if lml is None:
        lml = -(0.5 * r @ alpha + np.log(np.diag(L)).sum() + 0.5 * y.size * _LOG_2PI)
    return GPModel(kernel, mean, transform, s2, ell, nug, float(lml), X, y, nv, H, frame,
                   L, alpha, beta, KiH, A_chol, n_conv, drift)


def fit_gp(obs: Observations, *, kernel: str = "matern32", mean: str = "constant",
           transform=Identity(), fixed: dict | None = None, init: dict | None = None,
           n_restarts: int = 3, bounds: dict | None = None, max_n: int = 4000,
           maxiter: int = 200, drift: Drift | None = None) -> GPModel:
    """Fit a GP to observations by maximising the log marginal likelihood.

    ``fixed={"variance":..., "length_m":..., "nugget":...}`` skips the
    optimisation (all three must be given). ``init`` adds one starting point
    (e.g. the previous fit's hyperparameters) to the deterministic set of
    ``n_restarts`` starts (length scales at 5 %, 20 %, 50 %, ... of the data
    extent). ``bounds`` overrides the default box
    ``{"variance": (lo, hi), "length_m": (lo, hi), "nugget": (lo, hi)}``.
    ``mean="drift"`` with ``drift=Drift.of(covariate)``: kriging with an external drift (module notes).
    ML-II: L-BFGS-B on the log marginal likelihood (GPML eq. 5.8) with its analytic gradient (eq. 5.9).

    Parameters
    ----------
    obs : Observations
        Retrievals: positions (m), values (original units), 1-sigma errors; n <= ``max_n`` of them.
    kernel : {"matern32", "matern52", "se"}
        Covariance kernel (GPML eqs. 4.9, 4.17).
    mean : {"zero", "constant", "linear", "drift"}
        Mean function (module docstring).
    transform : Identity, LogShift or Logit
        Link from original units to the latent space.
    fixed : dict or None
        ``variance`` (latent units^2), ``length_m`` (m) and ``nugget`` (latent units^2) to use without fitting.
    init : dict or None
        One extra starting point, same keys and units as ``fixed``.
    n_restarts : int
        Number of deterministic starting length scales (at most 6 are used).
    bounds : dict or None
        (lo, hi) per hyperparameter, same keys and units as ``fixed``, overriding the default box.
    max_n : int
        Most observations an exact GP accepts.
    maxiter : int
        L-BFGS-B iterations per start.
    drift : Drift or None
        Covariate map for ``mean="drift"``.

    Returns
    -------
    GPModel
        The model conditioned on ``obs`` at the best hyperparameters, with its log marginal likelihood and the
        number of starts that converged.
    """
    if kernel not in KERNELS:
        raise InputError(f"unknown kernel {kernel!r}; use one of {KERNELS}")
    X, y, nv, H, frame, drift = _prepare(obs, transform, mean, drift)
    if y.size > max_n:
        raise InputError(f"{y.size} observations exceed max_n={max_n} for an exact GP; thin them with "
                         "bin_observations(obs, cell_m) first")
    if fixed is not None:
        missing = {"variance", "length_m", "nugget"} - set(fixed)
        if missing:
            raise InputError(f"fixed hyperparameters miss {sorted(missing)}")
        theta = np.log([fixed["variance"], fixed["length_m"], max(fixed["nugget"], 1e-300)])
        return _condition(kernel, mean, transform, theta, X, y, nv, H, frame, drift=drift)

    d2 = _sq_dist(X, X)
    extent = max(float(np.sqrt(np.ptp(X[:, 0]) ** 2 + np.ptp(X[:, 1]) ** 2)), 1.0)
    vy = float(np.var(y)) if y.size > 1 else 1.0
    vy = max(vy, float(np.median(nv)), 1e-12)
    nn = np.sqrt(d2 + np.diag(np.full(y.size, np.inf))).min(1) if y.size > 1 else np.array([1.0])
    min_len = max(0.5 * float(np.median(nn)), 1e-3 * extent)
    b = {"variance": (1e-4 * vy, 1e2 * vy), "length_m": (min_len, 10.0 * extent),
         "nugget": (1e-8 * vy, 2.0 * vy)}
    if bounds:
        b.update(bounds)
    lb = np.log([b["variance"][0], b["length_m"][0], b["nugget"][0]])
    ub = np.log([b["variance"][1], b["length_m"][1], b["nugget"][1]])
    fracs = [0.05, 0.2, 0.5, 0.1, 0.35, 0.8][: max(1, n_restarts)]
    starts = [np.log([vy, f * extent, 0.05 * vy]) for f in fracs]
    if init:
        starts.insert(0, np.log([init["variance"], init["length_m"], max(init["nugget"], 1e-300)]))
    best, n_conv = None, 0
    extra = _drift_cov(drift, X, X)
    for t0 in starts:
        t0 = np.clip(t0, lb, ub)
        res = optimize.minimize(_nll_and_grad, t0, args=(kernel, d2, y, nv, H, True, extra), jac=True,
                                method="L-BFGS-B", bounds=list(zip(lb, ub)),
                                options={"maxiter": maxiter})
        if np.isfinite(res.fun):
            n_conv += bool(res.success)
            if best is None or res.fun < best.fun:
                best = res
    if best is None:
        raise InputError("the GP likelihood could not be evaluated at any start (non-positive-definite "
                         "covariance); check for duplicate points with tiny sigma or rescale the data")
    return _condition(kernel, mean, transform, best.x, X, y, nv, H, frame, lml=-best.fun, n_conv=n_conv,
                      drift=drift)


def condition(model: GPModel, obs: Observations) -> GPModel:
    """The same hyperparameters conditioned on a new observation set (no refit)."""
    X, y, nv, H, frame, drift = _prepare(obs, model.transform, model.mean, model.drift)
    theta = np.log([model.variance, model.length_m, max(model.nugget, 1e-300)])
    return _condition(model.kernel, model.mean, model.transform, theta, X, y, nv, H, frame, drift=drift)


# --------------------------------------------------------------------------- prediction


def _prior_cov(model: GPModel, a, b) -> np.ndarray:
    return kernel_matrix(model.kernel, a, b, model.variance, model.length_m) + _drift_cov(model.drift, a, b)


def drift_slope(model: GPModel) -> tuple[float, float]:
    """Posterior mean and sd of the drift slope ``b1`` (latent units per unit covariate).

    With the intercept profiled at its GLS value: ``s_b^2 c^T K^-1 r`` and ``s_b^2 - s_b^4 c^T K^-1 c``.
    """
    if model.drift is None:
        raise InputError("the model has no drift (fit it with mean='drift')")
    c = model.drift(model.X)
    sb2 = model.drift.prior_sd**2
    w = linalg.solve_triangular(model.L, c, lower=True, check_finite=False)
    return float(sb2 * c @ model.alpha), float(np.sqrt(max(sb2 - sb2**2 * (w @ w), 0.0)))


def predict_latent(model: GPModel, xy, *, full_cov: bool = False, chunk: int = 4096):
    """Posterior mean and sd (or covariance) of the latent ``m + f`` at points (m, 2).

    GPML Alg. 2.1; with basis functions eq. 2.41-2.42.

    Parameters
    ----------
    model : GPModel
        Conditioned GP (:func:`fit_gp`, :func:`condition`).
    xy : array_like, shape (m, 2)
        Prediction points (x, y), m, in the frame of the observations.
    full_cov : bool
        Return the full posterior covariance instead of the sd.
    chunk : int
        Points evaluated at once when ``full_cov`` is False (bounds memory to n x chunk).

    Returns
    -------
    mean : numpy.ndarray, shape (m,)
        Posterior latent mean (latent units).
    sd_or_cov : numpy.ndarray, shape (m,) or (m, m)
        Posterior latent sd, or with ``full_cov`` the covariance (latent units^2).
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise InputError("prediction points contain NaN/inf coordinates")
    if full_cov:
        side = _side(model, xy)
        return side.mean, _side_cov(model, side, side)
    mu = np.empty(xy.shape[0])
    var = np.empty(xy.shape[0])
    for s in range(0, xy.shape[0], chunk):
        side = _side(model, xy[s:s + chunk])
        v = model.variance - np.einsum("ij,ij->j", side.V, side.V)
        if model.drift is not None:
            v += model.drift.prior_sd**2 * model.drift(side.xy) ** 2
        if side.W is not None:
            v += np.einsum("ij,ij->j", side.W, side.W)
        mu[s:s + chunk] = side.mean
        var[s:s + chunk] = v
    return mu, np.sqrt(np.maximum(var, 0.0))


@dataclass(frozen=True)
class _Side:
    """One point set's factors against a model's data, reusable across many cross-covariances.

    The prior covariance to the data ``K``, ``V = L^-1 K``, the mean-coefficient term ``W`` and the posterior mean.
    """

    xy: np.ndarray
    V: np.ndarray
    W: np.ndarray | None
    mean: np.ndarray


def _side(model: GPModel, xy) -> _Side:
    xy = np.asarray(xy, float).reshape(-1, 2)
    K = _prior_cov(model, model.X, xy)
    V = linalg.solve_triangular(model.L, K, lower=True, check_finite=False)
    mean = K.T @ model.alpha
    W = None
    if model.H.shape[1]:
        origin, scale = model.basis_frame
        Hs = _basis(model.mean, xy, origin, scale, model.drift)
        mean = mean + Hs @ model.beta
        W = linalg.solve_triangular(model.A_chol, Hs.T - model.KiH.T @ K, lower=True)
    return _Side(xy, V, W, mean)


def _side_cov(model: GPModel, a: _Side, b: _Side) -> np.ndarray:
    cov = _prior_cov(model, a.xy, b.xy) - a.V.T @ b.V
    return cov if a.W is None else cov + a.W.T @ b.W


def posterior_cross_cov(model: GPModel, a_xy, b_xy) -> np.ndarray:
    """Posterior covariance (latent) between the points ``a_xy`` (n, 2) and ``b_xy`` (m, 2).

    Mean-coefficient uncertainty included (GPML eqs. 2.24 and 2.42); ``predict_latent(full_cov=True)`` is its
    diagonal block.
    """
    return _side_cov(model, _side(model, a_xy), _side(model, b_xy))


def predict(model: GPModel, xy, *, z95: float = 1.959963984540054) -> dict:
    """Predictions in original units at points (m, 2).

    Mean, sd, median, the 2.5/97.5 % quantiles (lower, upper), and the latent mean/sd.
    """
    mu, sd = predict_latent(model, xy)
    mean, osd = model.transform.moments(mu, sd)
    return {"mean": mean, "sd": osd, "median": model.transform.inverse(mu),
            "lower": model.transform.inverse(mu - z95 * sd),
            "upper": model.transform.inverse(mu + z95 * sd), "latent_mean": mu, "latent_sd": sd}


def grid_points(template) -> np.ndarray:
    """Cell-centre points (ny*nx, 2), row-major, of a DataArray/Dataset with x/y coords."""
    if not hasattr(template, "coords") or "x" not in template.coords or "y" not in template.coords:
        raise InputError("the grid template must be an xarray object with 'x' and 'y' coordinates (like a DEM)")
    x = np.asarray(template["x"].values, float)
    y = np.asarray(template["y"].values, float)
    if x.ndim != 1 or y.ndim != 1 or x.size == 0 or y.size == 0 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("the grid template's x and y coordinates must be non-empty, finite and 1-D")
    xx, yy = np.meshgrid(x, y)
    return np.column_stack([xx.ravel(), yy.ravel()])


def predict_grid(model: GPModel, template, *, name: str = "value", units: str = "") -> xr.Dataset:
    """Map the posterior on the cells of ``template`` (a DEM-like DataArray with dims (y, x)).

    A Dataset with ``mean``, ``sd``, ``median``, ``lower``, ``upper``, ``latent_mean`` and ``latent_sd``, same
    coords (and CRS, when it has one).

    Parameters
    ----------
    model : GPModel
        Conditioned GP (:func:`fit_gp`, :func:`condition`).
    template : xarray.DataArray or xarray.Dataset
        Grid with 1-D ``x`` (nx,) and ``y`` (ny,) coordinates, m, in the frame of the observations.
    name : str
        Quantity mapped, stored in the attributes.
    units : str
        Unit of the original values (e.g. "wt%", "m"), stored in the attributes.

    Returns
    -------
    xarray.Dataset
        Variables of shape (ny, nx): mean, sd, median, lower (2.5 %), upper (97.5 %) in ``units``, latent mean and
        sd in latent units; attributes hold the hyperparameters (and the drift slope when there is one).
    """
    pts = grid_points(template)
    ny, nx = template["y"].size, template["x"].size
    out = predict(model, pts)
    coords = {"y": template["y"].values, "x": template["x"].values}
    ds = xr.Dataset({k: (("y", "x"), v.reshape(ny, nx)) for k, v in out.items()}, coords=coords)
    ds.attrs.update({"quantity": name, "units": units, "kernel": model.kernel, "mean_function": model.mean,
                     "transform": repr(model.transform), "signal_variance": model.variance,
                     "length_m": model.length_m, "nugget": model.nugget, "log_marginal_likelihood": model.lml,
                     "n_obs": model.n})
    if model.drift is not None:
        b1, b1_sd = drift_slope(model)
        ds.attrs.update({"drift_covariate": model.drift.name, "drift_intercept": float(model.beta[0]),
                         "drift_slope": b1, "drift_slope_sd": b1_sd, "drift_slope_prior_sd": model.drift.prior_sd})
    try:
        crs = template.rio.crs
        if crs is not None:
            ds = ds.rio.write_crs(crs)
    except Exception:  # no rioxarray accessor / no CRS: plain coords are fine
        pass
    return ds


def variance_floor(min_sd: float) -> dict | None:
    """``fit_gp`` bounds that keep the signal variance at or above ``min_sd``^2 (None: the default box).

    Marginal likelihood on observations that all agree (a rover that has only seen dry ground) drives the
    signal variance to its lower bound, and the GP then claims to know unvisited ground: its 95% bands
    collapse and information gain vanishes everywhere. A floor from prior knowledge of how much the
    field varies keeps both honest (a weakly informative bound in the spirit of Gelman 2006, Bayesian
    Analysis 1:515, on a variance component that the data cannot identify).
    """
    if not min_sd > 0:
        return None
    return {"variance": (min_sd**2, max(1e3, 1e2 * min_sd**2))}


def gp_bounds(min_sd: float = 0.0, max_length_m: float | None = None) -> dict | None:
    """``fit_gp`` bounds from prior knowledge.

    The signal-variance floor of :func:`variance_floor` and an upper length scale (None: the default box).
    Observations that all agree (a rover that has seen only dry ground) push ML-II to the longest length allowed,
    which claims to know ground far from the track; a cap at the scale the field is known to vary on keeps the maps
    and the information measures honest.
    """
    b = dict(variance_floor(min_sd) or {})
    if max_length_m is not None:
        if not max_length_m > 0:
            raise InputError(f"max_length_m must be > 0, got {max_length_m}")
        b["length_m"] = (min(1.0, 0.5 * max_length_m), float(max_length_m))
    return b or None


def fuse_water_maps(template, *, ns: Observations | None = None, gpr: Observations | None = None,
                    alis: Observations | None = None, kernel: str = "matern32",
                    weh_offset_wt_pct: float = 0.1, depth_bounds_m: tuple = (0.0, 3.0),
                    drill_depth_m: float = 1.5, bin_m: float | None = None,
                    correlated_bins: bool = False, min_latent_sd: float = 0.0,
                    drift=None, max_length_m: float | None = None) -> xr.Dataset:
    """One map per quantity on the template grid (see module docstring for why the sources are not pooled).

    ``weh_*`` from NS (LogShift), ``ice_depth_*`` from GPR (Logit on ``depth_bounds_m``) with ``p_ice_within_drill``
    = P(ice table < drill_depth_m), and ``alis_*`` from ALIS (LogShift). ``bin_m`` thins each set first
    (:func:`bin_observations`, with ``correlated_bins``). ``min_latent_sd`` bounds each map's fitted signal SD
    (latent, transformed units) from below: a prior that the field varies at least this much where it has not been
    seen (see :func:`variance_floor`). ``drift``: a covariate map (DataArray on any grid covering the template, or a
    :class:`Drift`) for the WEH and ice-table depth means (kriging with an external drift; ALIS, a surface quantity,
    keeps a constant mean). ``max_length_m`` caps the fitted length scales (None: 10 x the data's extent).

    Parameters
    ----------
    template : xarray.DataArray or xarray.Dataset
        Grid with 1-D ``x`` (nx,) and ``y`` (ny,) coordinates, m (a DEM).
    ns : Observations or None
        NS WEH retrievals, wt%.
    gpr : Observations or None
        GPR ice-table depths, m, inside ``depth_bounds_m``.
    alis : Observations or None
        ALIS surface water, wt%.
    kernel : {"matern32", "matern52", "se"}
        Covariance kernel of every map (GPML eqs. 4.9, 4.17).
    weh_offset_wt_pct : float
        Offset c of the LogShift transform log(WEH + c) of the NS and ALIS maps, wt%.
    depth_bounds_m : tuple of float
        (lo, hi) of the Logit transform of the ice-table depth, m.
    drill_depth_m : float
        Depth the drill reaches, m, for ``p_ice_within_drill``.
    bin_m : float or None
        Square bin size for :func:`bin_observations`, m; None or 0: no binning.
    correlated_bins : bool
        Treat errors within a bin as fully correlated (:func:`bin_observations`).
    min_latent_sd : float
        Floor on each map's signal sd, latent units; 0: none.
    drift : xarray.DataArray, Drift or None
        Covariate map for the WEH and ice-depth means.
    max_length_m : float or None
        Upper bound on the fitted length scales, m.

    Returns
    -------
    xarray.Dataset
        On the template's (ny, nx) grid: ``weh_*``, ``ice_depth_*`` and ``alis_*`` (the variables of
        :func:`predict_grid`) for the sets given, and ``p_ice_within_drill`` (probability) when ``gpr`` is.
    """
    if ns is None and gpr is None and alis is None:
        raise InputError("fuse_water_maps needs at least one of ns=, gpr=, alis= observation sets")
    parts = {}
    if drift is not None and not isinstance(drift, Drift):
        drift = Drift.of(drift)
    for key, obs, tr, units in (("weh", ns, LogShift(weh_offset_wt_pct), "wt%"),
                                ("ice_depth", gpr, Logit(*depth_bounds_m), "m"),
                                ("alis", alis, LogShift(weh_offset_wt_pct), "wt%")):
        if obs is None:
            continue
        if bin_m:
            obs = bin_observations(obs, bin_m, correlated=correlated_bins)
        use = drift is not None and key != "alis"
        m = fit_gp(obs, kernel=kernel, mean="drift" if use else "constant", transform=tr,
                   bounds=gp_bounds(min_latent_sd, max_length_m), drift=drift if use else None)
        g = predict_grid(m, template, name=key, units=units)
        for v in g.data_vars:
            parts[f"{key}_{v}"] = g[v]
        parts[f"{key}_mean"].attrs.update(g.attrs)
        if key == "ice_depth":
            zc = tr.forward(drill_depth_m)
            p = special.ndtr((zc - g["latent_mean"]) / np.maximum(g["latent_sd"], 1e-12))
            parts["p_ice_within_drill"] = p
    return xr.Dataset(parts)
