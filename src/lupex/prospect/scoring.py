"""Scores of a prospecting campaign against the ground truth, and a seeded synthetic truth to score against.

Scores (all deterministic functions of their inputs):

* map error: RMSE, MAE and bias of the map mean against the true field on the
  same grid;
* calibration: fraction of cells whose true value lies inside the map's
  interval (mean +- k sd, or a given lower/upper, e.g. the 95 % quantiles);
  a calibrated 95 % interval covers ~0.95;
* fraction of ice mass located: true water mass in cells where the map's mean
  exceeds the WEH threshold, over the true water mass in all cells above the
  threshold (a mass-weighted recall);
* claim precision: of the cells where the map's mean (median) exceeds the
  threshold, the fraction where the truth does too: the check on "located",
  which a map that claims ice everywhere would max out;
* drills: hit rate (drills whose true value exceeds the threshold), water
  measured vs true per drill (bias, RMSE), and the water measured over what the
  best ``n`` drill spots of the truth would have given (oracle fraction).

Synthetic truth: :func:`gaussian_random_field` draws a stationary Gaussian
field with a squared-exponential or Matern covariance of known correlation
length on a regular grid by circulant embedding (Wood & Chan 1994, J. Comput.
Graph. Stat. 3:409; Dietrich & Newsam 1997, SIAM J. Sci. Comput. 18:1088):
the covariance on a periodic grid at least ``pad`` times larger is
diagonalised by the FFT, and white noise coloured by the square root of its
eigenvalues has exactly that covariance on the sub-grid (negative eigenvalues,
from too little padding, are clipped and reported).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from lupex.errors import InputError
from lupex.params import check_rng
from lupex.prospect.kernels import _corr  # one kernel definition for truth and model

__all__ = [
    "gaussian_random_field",
    "check_same_grid",
    "map_errors",
    "calibration",
    "ice_mass_located",
    "claim_precision",
    "sample_grid",
    "drill_scores",
]


def gaussian_random_field(shape, cell_m: float, length_m: float, rng: np.random.Generator, *,
                          kernel: str = "matern32", variance: float = 1.0, pad: float = 2.0) -> np.ndarray:
    """A stationary zero-mean Gaussian field of ``shape`` (ny, nx) on ``cell_m`` cells, by circulant embedding.

    Covariance ``variance * k(r; length_m)`` (kernels as in :mod:`lupex.prospect.fusion`). Circulant embedding of
    Wood & Chan 1994 and Dietrich & Newsam 1997 (module docstring).

    Parameters
    ----------
    shape : tuple of int
        (ny, nx), cells, each >= 1.
    cell_m : float
        Cell size, m, > 0.
    length_m : float
        Correlation length scale l of the kernel, m, > 0.
    rng : numpy.random.Generator
        Source of the white noise.
    kernel : {"matern32", "matern52", "se"}
        Covariance kernel (GPML eqs. 4.9, 4.17).
    variance : float
        Field variance (field units^2), >= 0.
    pad : float
        Embedding padding: the periodic grid has 2 (n + ceil(3 pad length_m / cell_m)) cells per axis.

    Returns
    -------
    numpy.ndarray, shape (ny, nx)
        One draw of the field (C-contiguous), units of sqrt(``variance``).
    """
    check_rng(rng)
    ny, nx = (int(s) for s in shape)
    if ny < 1 or nx < 1 or not (cell_m > 0 and length_m > 0 and variance >= 0):
        raise InputError("gaussian_random_field needs a positive shape, cell_m, length_m and variance >= 0")
    extra = int(np.ceil(pad * 3 * length_m / cell_m))
    my, mx = 2 * (ny + extra), 2 * (nx + extra)
    iy = np.minimum(np.arange(my), my - np.arange(my)) * cell_m
    ix = np.minimum(np.arange(mx), mx - np.arange(mx)) * cell_m
    d2 = iy[:, None] ** 2 + ix[None, :] ** 2
    c = variance * _corr(kernel, d2, length_m)[0]
    lam = np.fft.fft2(c).real
    lam = np.maximum(lam, 0.0)
    w = rng.standard_normal((my, mx)) + 1j * rng.standard_normal((my, mx))
    f = np.fft.fft2(np.sqrt(lam / (my * mx)) * w)
    return np.ascontiguousarray(f.real[:ny, :nx])


def _da(a, name):
    if not isinstance(a, xr.DataArray):
        raise InputError(f"{name} must be an xarray DataArray with x/y coords")
    if "x" not in a.coords or "y" not in a.coords:
        raise InputError(f"{name} has no x/y coordinates")
    return a


def check_same_grid(a: xr.DataArray, b: xr.DataArray, names=("map", "truth")) -> None:
    """Raise :class:`InputError` unless ``a`` and ``b`` share dims and x/y coords."""
    _da(a, names[0])
    _da(b, names[1])
    if a.dims != b.dims or a.shape != b.shape:
        raise InputError(f"{names[0]} {dict(a.sizes)} and {names[1]} {dict(b.sizes)} are on different grids; "
                         "predict the map on the truth's grid (predict_grid(model, truth))")
    for c in ("x", "y"):
        if not np.allclose(a[c].values, b[c].values, rtol=0, atol=1e-6 * max(1.0, float(np.abs(b[c]).max()))):
            raise InputError(f"{names[0]} and {names[1]} have different {c} coordinates; "
                             "predict the map on the truth's grid")


def _finite_pair(m, t):
    ok = np.isfinite(m) & np.isfinite(t)
    if not ok.any():
        raise InputError("no cell has both a finite map value and a finite truth value")
    return ok


def map_errors(map_mean: xr.DataArray, truth: xr.DataArray) -> dict:
    """RMSE, MAE and bias (map - truth) over the cells where both are finite."""
    check_same_grid(map_mean, truth)
    m, t = np.asarray(map_mean.values, float), np.asarray(truth.values, float)
    ok = _finite_pair(m, t)
    e = m[ok] - t[ok]
    return {"rmse": float(np.sqrt(np.mean(e**2))), "mae": float(np.mean(np.abs(e))), "bias": float(np.mean(e)),
            "n_cells": int(ok.sum())}


def calibration(truth: xr.DataArray, mean: xr.DataArray | None = None, sd: xr.DataArray | None = None, *,
                k: float = 2.0, lower: xr.DataArray | None = None, upper: xr.DataArray | None = None) -> float:
    """Fraction of cells whose truth lies in ``[lower, upper]`` (or ``mean +- k sd``).

    Counted over the cells where truth and both bounds are finite; all arrays on one grid.

    Parameters
    ----------
    truth : xarray.DataArray
        True field, with x/y coordinates.
    mean, sd : xarray.DataArray or None
        Map mean and standard deviation, the truth's unit; used when ``lower`` or ``upper`` is None.
    k : float
        Half-width of the interval ``mean +- k sd``, in sd.
    lower, upper : xarray.DataArray or None
        Interval bounds (e.g. the map's 2.5 / 97.5 % quantiles), the truth's unit.

    Returns
    -------
    float
        Coverage, fraction in [0, 1] (a calibrated 95 % interval gives ~0.95).
    """
    if lower is None or upper is None:
        if mean is None or sd is None:
            raise InputError("calibration needs mean and sd, or lower and upper")
        check_same_grid(mean, truth)
        check_same_grid(sd, truth, ("sd", "truth"))
        lower, upper = mean - k * sd, mean + k * sd
    check_same_grid(lower, truth, ("lower", "truth"))
    check_same_grid(upper, truth, ("upper", "truth"))
    t, lo, hi = (np.asarray(a.values, float) for a in (truth, lower, upper))
    ok = _finite_pair(lo, t) & np.isfinite(hi)
    return float(np.mean((t[ok] >= lo[ok]) & (t[ok] <= hi[ok])))


def ice_mass_located(truth_weh: xr.DataArray, map_weh: xr.DataArray, threshold_wt_pct: float) -> float:
    """Mass-weighted recall of the water above the threshold (fraction, 0-1).

    True WEH summed over cells where both truth and map exceed the threshold, over true WEH summed where the
    truth does (equal cell areas and column masses cancel). 1.0 when the truth has no ice.
    """
    check_same_grid(map_weh, truth_weh, ("map", "truth"))
    t, m = np.asarray(truth_weh.values, float), np.asarray(map_weh.values, float)
    ok = _finite_pair(m, t)
    ice = ok & (t > threshold_wt_pct)
    total = t[ice].sum()
    if total <= 0:
        return 1.0
    return float(t[ice & (m > threshold_wt_pct)].sum() / total)


def claim_precision(truth_weh: xr.DataArray, map_weh: xr.DataArray, threshold_wt_pct: float) -> float:
    """Of the cells where the map exceeds the threshold, the fraction where the truth does.

    NaN when the map claims none (precision in the sense of information retrieval, per cell).
    """
    check_same_grid(map_weh, truth_weh, ("map", "truth"))
    t, m = np.asarray(truth_weh.values, float), np.asarray(map_weh.values, float)
    ok = _finite_pair(m, t)
    claim = ok & (m > threshold_wt_pct)
    if not claim.any():
        return float("nan")
    return float(np.mean(t[claim] > threshold_wt_pct))


def sample_grid(field: xr.DataArray, xy) -> np.ndarray:
    """Values of a gridded field at points (m, 2), nearest cell; points outside the grid raise :class:`InputError`."""
    _da(field, "field")
    xy = np.asarray(xy, float).reshape(-1, 2)
    x, y = field["x"].values, field["y"].values
    dx = abs(x[1] - x[0]) if x.size > 1 else 1.0
    dy = abs(y[1] - y[0]) if y.size > 1 else 1.0
    ix = np.rint((xy[:, 0] - x[0]) / (x[1] - x[0] if x.size > 1 else 1.0)).astype(np.int64)
    iy = np.rint((xy[:, 1] - y[0]) / (y[1] - y[0] if y.size > 1 else 1.0)).astype(np.int64)
    out = (ix < 0) | (ix >= x.size) | (iy < 0) | (iy >= y.size) | ~np.isfinite(xy).all(1)
    if out.any():
        raise InputError(f"{int(out.sum())} points lie outside the grid (x {x.min() - dx / 2:.1f}..{x.max() + dx / 2:.1f}, "
                         f"y {y.min() - dy / 2:.1f}..{y.max() + dy / 2:.1f} m)")
    return np.asarray(field.values)[iy, ix]


def drill_scores(true_at_drills, measured, threshold_wt_pct: float, truth_field=None) -> dict:
    """Drill scores: hit rate, water measured against true, and the oracle fraction.

    Hit rate: true WEH at the spot > threshold; water measured vs true per drill (bias, RMSE of measured -
    true); and, given ``truth_field`` (what a drill would measure at every cell), the measured total over the
    best ``n`` cells' total (oracle fraction).

    Parameters
    ----------
    true_at_drills : array_like, shape (n,)
        True WEH at each drill spot, wt%.
    measured : array_like, shape (n,)
        What each drill measured (core-averaged WEH), wt%.
    threshold_wt_pct : float
        WEH a drill must find to count as a hit, wt%.
    truth_field : array_like or None
        What a drill would measure at every cell (any shape; NaN cells ignored), wt%.

    Returns
    -------
    dict
        ``n_drills``, ``hit_rate`` (fraction), ``measured_total`` and ``true_total`` (wt%, summed over drills),
        ``bias`` and ``rmse`` (wt%), and ``oracle_fraction`` when ``truth_field`` is given (or no drills);
        NaN where undefined.
    """
    t = np.asarray(true_at_drills, float).ravel()
    m = np.asarray(measured, float).ravel()
    if t.size != m.size:
        raise InputError(f"{t.size} true values but {m.size} measurements; one of each per drill")
    if t.size == 0:
        return {"n_drills": 0, "hit_rate": float("nan"), "measured_total": 0.0, "true_total": 0.0,
                "bias": float("nan"), "rmse": float("nan"), "oracle_fraction": float("nan")}
    if not (np.isfinite(t).all() and np.isfinite(m).all()):
        raise InputError("drill values must be finite")
    res = {"n_drills": int(t.size), "hit_rate": float(np.mean(t > threshold_wt_pct)),
           "measured_total": float(m.sum()), "true_total": float(t.sum()),
           "bias": float(np.mean(m - t)), "rmse": float(np.sqrt(np.mean((m - t) ** 2)))}
    if truth_field is not None:
        best = np.sort(np.asarray(truth_field, float)[np.isfinite(truth_field)].ravel())[::-1][: t.size]
        res["oracle_fraction"] = float(m.sum() / best.sum()) if best.sum() > 0 else float("nan")
    return res
