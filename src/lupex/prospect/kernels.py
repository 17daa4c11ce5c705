"""Covariance kernels and mean functions of the water-map Gaussian process.

Squared exponential, Matern 3/2 and 5/2 correlations of distance (Rasmussen &
Williams 2006, *Gaussian Processes for Machine Learning* (GPML), eqs. 4.9,
4.17) with their derivative in log length scale for the likelihood gradient;
the mean functions' basis (zero, constant, linear, GPML sec. 2.7) and the
external drift ``b0 + b1 c(x)`` on a covariate map (Wackernagel 2003,
*Multivariate Geostatistics*, ch. 38), whose slope's prior enters the
covariance. The model that uses them is :mod:`lupex.prospect.fusion`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lupex.errors import InputError

__all__ = ["KERNELS", "MEANS", "kernel_matrix", "Drift"]

KERNELS = ("matern32", "matern52", "se")
MEANS = ("zero", "constant", "linear", "drift")



def _sq_dist(a, b):
    d = (a[:, None, 0] - b[None, :, 0]) ** 2
    d += (a[:, None, 1] - b[None, :, 1]) ** 2
    return d


def _corr(kind: str, d2, length_m):
    """Correlation k(r)/s2 and d k / d log(l) (divided by s2), from squared distances."""
    if kind == "se":
        q = d2 / length_m**2
        k = np.exp(-0.5 * q)
        return k, k * q
    r = np.sqrt(d2) / length_m
    if kind == "matern32":
        a = np.sqrt(3.0) * r
        e = np.exp(-a)
        return (1 + a) * e, a * a * e
    if kind == "matern52":
        a = np.sqrt(5.0) * r
        e = np.exp(-a)
        return (1 + a + a * a / 3) * e, (a * a / 3) * (1 + a) * e
    raise InputError(f"unknown kernel {kind!r}; use one of {KERNELS}")


def kernel_matrix(kind: str, a_xy, b_xy, variance: float, length_m: float) -> np.ndarray:
    """Covariance matrix ``s2 k(|a_i - b_j|; l)`` between point sets (n, 2) and (m, 2).

    Squared exponential, Matern 3/2 or Matern 5/2 (GPML eqs. 4.9, 4.17).

    Parameters
    ----------
    kind : {"matern32", "matern52", "se"}
        Kernel.
    a_xy : array_like, shape (n, 2)
        First point set (x, y), m.
    b_xy : array_like, shape (m, 2)
        Second point set (x, y), m.
    variance : float
        Signal variance s2 (latent units^2).
    length_m : float
        Length scale l, m.

    Returns
    -------
    numpy.ndarray, shape (n, m)
        Covariances, latent units^2.
    """
    if kind not in KERNELS:
        raise InputError(f"unknown kernel {kind!r}; use one of {KERNELS}")
    return variance * _corr(kind, _sq_dist(np.asarray(a_xy, float), np.asarray(b_xy, float)), length_m)[0]


@dataclass(frozen=True)
class Drift:
    """A covariate map for the ``drift`` mean.

    Its value at a point is that of the nearest cell (points beyond the grid take the edge cell's value). Build it
    with :meth:`of` from a (y, x) DataArray.
    """

    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    name: str = "covariate"
    prior_sd: float = 2.0

    @classmethod
    def of(cls, da, name: str | None = None, prior_sd: float = 2.0) -> "Drift":
        """A drift covariate sampled from a 2-D DataArray ``da`` (dims y, x; finite), with prior sd ``prior_sd``."""
        if not hasattr(da, "coords") or "x" not in da.coords or "y" not in da.coords or da.ndim != 2:
            raise InputError("a drift covariate must be a 2-D xarray DataArray with x and y coordinates")
        v = np.asarray(da.transpose("y", "x").values, float)
        if not np.isfinite(v).all():
            raise InputError(f"the drift covariate {name or da.name!r} has NaN/inf cells; fill them first")
        x, y = np.asarray(da["x"].values, float), np.asarray(da["y"].values, float)
        if x.size < 2 or y.size < 2:
            raise InputError("a drift covariate needs at least 2 x 2 cells")
        if not (prior_sd > 0 and np.isfinite(prior_sd)):
            raise InputError(f"the drift slope's prior sd must be a positive number (latent units), got {prior_sd}")
        return cls(x, y, v, str(name or da.name or "covariate"), float(prior_sd))

    def __call__(self, xy) -> np.ndarray:
        """Covariate values at points ``xy`` (m, 2), nearest grid cell (clipped to the grid)."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        ix = np.clip(np.rint((xy[:, 0] - self.x[0]) / (self.x[1] - self.x[0])), 0, self.x.size - 1).astype(np.int64)
        iy = np.clip(np.rint((xy[:, 1] - self.y[0]) / (self.y[1] - self.y[0])), 0, self.y.size - 1).astype(np.int64)
        return self.values[iy, ix]


def _basis(mean: str, xy, origin, scale, drift=None):
    n = xy.shape[0]
    if mean == "zero":
        return np.zeros((n, 0))
    if mean == "constant":
        return np.ones((n, 1))
    if mean == "drift":     # the slope is in the covariance (_drift_cov)
        return np.ones((n, 1))
    u = (xy - origin) / scale
    return np.column_stack([np.ones(n), u])


def _drift_cov(drift, a, b):
    """``s_b^2 c(a) c(b)^T``: the covariance the drift slope's prior adds (0 without a drift)."""
    if drift is None:
        return 0.0
    return drift.prior_sd**2 * np.outer(drift(a), drift(b))


def _check_drift(mean: str, drift):
    if mean == "drift" and not isinstance(drift, Drift):
        raise InputError("mean='drift' needs drift=Drift.of(covariate_map)")
    return drift if mean == "drift" else None
