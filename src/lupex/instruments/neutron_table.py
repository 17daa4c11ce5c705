"""The neutron spectrometer's Monte Carlo response table: leakage ratios on a (WEH, burial, temperature) grid.

:class:`ResponseTable` holds the count-rate ratios that :mod:`lupex.instruments.neutron_calibration` computes
with :mod:`lupex.instruments.neutron_transport` and interpolates them (module docstring of
:mod:`lupex.instruments.neutron`, items 1-4, gives the physics and the sources); :func:`smooth_grid` is the
smoothing it is fitted with and :func:`load_table` reads the built-in or a given table.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.interpolate import RectBivariateSpline, RegularGridInterpolator
from threadpoolctl import threadpool_limits

from lupex.errors import ConfigError, InputError

BUILTIN_TABLE = Path(__file__).with_name("data") / "neutron_response.npz"
W_BOT_SCALE, W_TOP_SCALE = 0.5, 0.1     # wt%: the interpolation axes are ln(1 + W / scale)
TEMPERATURE_RANGE_K = (20.0, 420.0)     # accepted regolith temperatures (tabulated 40-350 K, held outside)
TEMPERATURE_DEPTH_G_CM2 = 30.0          # the thermal neutrons' temperature: mass-weighted mean over the top 30 g/cm^2
M_AXIS_G_CM2 = 20.0                     # the smoothing's depth axis is ln(1 + m / 20 g/cm^2) (smooth_grid)
M_FADE_G_CM2 = 100.0                    # beyond the table's deepest interface, the bottom's influence fades
SMOOTHING = 0.3                         # weighted chi^2 per table point left by the smoothing (smooth_grid)


@dataclass(frozen=True)
class ResponseTable:
    """The Monte Carlo response table (module docstring, items 1-2) and its interpolants."""

    path: str
    weh_top: np.ndarray
    weh_bot: np.ndarray
    mass_g_cm2: np.ndarray
    epithermal: np.ndarray          # (top, bot, m) count ratio to dry reference regolith
    thermal: np.ndarray
    epithermal_sigma: np.ndarray
    thermal_sigma: np.ndarray
    feo_tio2_wt_pct: np.ndarray
    composition_epithermal: np.ndarray
    composition_thermal: np.ndarray
    thermal_over_epithermal: float
    meta: dict
    temperature_k: np.ndarray = field(default=None, repr=False)        # (T,) K
    temperature_weh: np.ndarray = field(default=None, repr=False)      # (W,) wt%
    temperature_epithermal: np.ndarray = field(default=None, repr=False)   # (W, T) rate / rate at the reference T
    temperature_thermal: np.ndarray = field(default=None, repr=False)
    temperature_epithermal_sigma: np.ndarray = field(default=None, repr=False)
    temperature_thermal_sigma: np.ndarray = field(default=None, repr=False)
    _splines: tuple = field(default=(), repr=False)
    _inverse: tuple = field(default=(), repr=False)
    _temperature_grid: tuple = field(default=(), repr=False)

    @classmethod
    def load(cls, path) -> "ResponseTable":
        """The table stored in ``path`` (a .npz from :mod:`lupex.instruments.neutron_calibration`); ConfigError if unusable."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"neutron response table {str(path)!r} does not exist; give a .npz written by "
                              "python -m lupex.instruments.neutron_calibration, or 'builtin'")
        try:
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            raise ConfigError(f"neutron response table {str(path)!r} is not a readable .npz archive; give one "
                              "written by python -m lupex.instruments.neutron_calibration, or 'builtin'") from None
        need = ("weh_top", "weh_bot", "mass_g_cm2", "epithermal", "thermal", "epithermal_sigma", "thermal_sigma",
                "feo_tio2_wt_pct", "composition_epithermal", "composition_thermal", "thermal_over_epithermal", "meta")
        miss = [k for k in need if k not in d]
        if miss:
            raise ConfigError(f"neutron response table {str(path)!r} lacks {', '.join(miss)}")
        temp_keys = ("temperature_k", "temperature_weh", "temperature_epithermal", "temperature_thermal",
                     "temperature_epithermal_sigma", "temperature_thermal_sigma")
        if any(k not in d for k in temp_keys):
            raise ConfigError(f"neutron response table {str(path)!r} has no temperature factors; add them with "
                              "python -m lupex.instruments.neutron_calibration --add-temperature --out "
                              f"{str(path)!r}")
        t = cls(str(path), *(np.asarray(d[k], float) for k in need[:10]), float(d["thermal_over_epithermal"]),
                json.loads(str(d["meta"])), *(np.asarray(d[k], float) for k in temp_keys))
        shape = (t.weh_top.size, t.weh_bot.size, t.mass_g_cm2.size)
        if any(getattr(t, k).shape != shape for k in ("epithermal", "thermal", "epithermal_sigma", "thermal_sigma")):
            raise ConfigError(f"neutron response table {str(path)!r}: arrays do not match its axes {shape}")
        if not (t.weh_top[0] == 0 and t.weh_bot[0] == 0 and t.mass_g_cm2[0] == 0):
            raise ConfigError(f"neutron response table {str(path)!r}: its axes must start at 0")
        nt_, nw_ = t.temperature_k.size, t.temperature_weh.size
        if (any(getattr(t, k).shape != (nw_, nt_) for k in temp_keys[2:]) or nt_ < 3 or nw_ < 3
                or np.any(np.diff(t.temperature_k) <= 0) or np.any(np.diff(t.temperature_weh) <= 0)
                or not np.any(t.temperature_k == t.reference_temperature_k)):
            raise ConfigError(f"neutron response table {str(path)!r}: its temperature factors do not match their "
                              "axes (or lack the reference temperature)")
        object.__setattr__(t, "_splines", t._build_splines())
        object.__setattr__(t, "_temperature_grid", t._smooth_temperature())
        # the homogeneous epithermal curve, for the effective WEH of layered ground (temperature_factors)
        wg = np.concatenate([[0.0], np.geomspace(1e-3, 100.0, 600)])
        object.__setattr__(t, "_inverse", (wg, t.ratios(0.0, wg, 0.0)[0]))
        return t

    def _build_splines(self):
        u = np.log1p(self.weh_bot / W_BOT_SCALE)
        out = []
        for z, sig in ((self.epithermal, self.epithermal_sigma), (self.thermal, self.thermal_sigma)):
            per_top = []
            ym = np.log1p(self.mass_g_cm2 / M_AXIS_G_CM2)
            homogeneous = None          # the W_top = 0 surface's smoothed m = 0 column
            for i in range(self.weh_top.size):
                zi, pinned = z[i].copy(), np.zeros(z[i].shape, bool)
                if homogeneous is not None:     # m = 0 is homogeneous W_bot ground whatever W_top: held fixed
                    zi[:, 0] = homogeneous
                    pinned[:, 0] = True
                zs = smooth_grid(u, ym, zi, np.maximum(sig[i], 1e-6), SMOOTHING, pinned)
                if homogeneous is None:
                    homogeneous = zs[:, 0].copy()
                # s=0: an interpolating bicubic spline through the smoothed points, knots at the grid (FITPACK's
                # smoothing mode, s > 0, was used before and can return unsorted knots on this grid, which made
                # the surface jump at some of them)
                per_top.append(RectBivariateSpline(u, self.mass_g_cm2, zs, kx=3, ky=3, s=0))
            out.append(per_top)
        # the smoothed surface need not pass exactly through the dry reference; ratios are divided by its value
        # there, so dry reference ground reads exactly 1
        norm = tuple(float(per_top[0].ev(0.0, 0.0)) for per_top in out)
        return tuple(out), norm

    def _smooth_temperature(self):
        """Interpolators of the temperature factors, bilinear in (ln(1 + W / 0.5 wt%), T).

        Smoothed like the main table (:func:`smooth_grid`, the reference temperature's column held at 1): each
        point is a ratio of two runs of ~1 % statistics each.
        """
        u = np.log1p(self.temperature_weh / W_BOT_SCALE)
        pinned = np.broadcast_to(self.temperature_k == self.reference_temperature_k, self.temperature_thermal.shape)
        out = []
        for z, sig in ((self.temperature_epithermal, self.temperature_epithermal_sigma),
                       (self.temperature_thermal, self.temperature_thermal_sigma)):
            zz = np.where(pinned, 1.0, z)
            zs = smooth_grid(u, self.temperature_k, zz, np.maximum(sig, 1e-6), SMOOTHING, pinned)
            out.append(RegularGridInterpolator((u, self.temperature_k), zs, method="linear"))
        return tuple(out)

    @property
    def max_mass_g_cm2(self) -> float:
        """Largest tabulated top-layer areal mass (g/cm^2); beyond it the bottom's influence fades."""
        return float(self.mass_g_cm2[-1])

    def ratios(self, weh_top, weh_bot, mass_g_cm2):
        """(epithermal, thermal) ratios at the reference composition; arrays broadcast."""
        wt, wb, m = np.broadcast_arrays(np.asarray(weh_top, float), np.asarray(weh_bot, float),
                                        np.asarray(mass_g_cm2, float))
        wt = np.where(m > 0, wt, 0.0)           # no top layer: its WEH does not matter
        if np.any(wt > self.weh_top[-1] + 1e-12):
            raise InputError(f"the neutron response table covers a top layer of up to {self.weh_top[-1]:g} wt% "
                             "WEH; build a wider one with python -m lupex.instruments.neutron_calibration")
        ub = np.log1p(wb / W_BOT_SCALE).ravel()
        ut = np.log1p(wt / W_TOP_SCALE).ravel()
        grid_t = np.log1p(self.weh_top / W_TOP_SCALE)
        mm = m.ravel()
        mc = np.minimum(mm, self.max_mass_g_cm2)
        j = np.clip(np.searchsorted(grid_t, ut, side="right") - 1, 0, grid_t.size - 2)
        f = (ut - grid_t[j]) / (grid_t[j + 1] - grid_t[j])
        out = []
        splines, norm = self._splines
        for spl, n0 in zip(splines, norm):
            vals = np.stack([s.ev(ub, mc) for s in spl])                  # (top, n)
            v = vals[j, np.arange(ub.size)] * (1 - f) + vals[j + 1, np.arange(ub.size)] * f
            deep = mm > self.max_mass_g_cm2
            if np.any(deep):                                               # fade to homogeneous W_top ground
                hom = np.stack([s.ev(np.log1p(wt.ravel()[deep] / W_BOT_SCALE), np.zeros(deep.sum())) for s in spl])
                h = hom[j[deep], np.arange(deep.sum())] * (1 - f[deep]) + hom[j[deep] + 1, np.arange(deep.sum())] * f[deep]
                fade = np.exp(-(mm[deep] - self.max_mass_g_cm2) / M_FADE_G_CM2)
                v[deep] = h + (v[deep] - h) * fade
            out.append(v.reshape(m.shape) / n0)
        return out[0], out[1]

    @property
    def reference_temperature_k(self) -> float:
        """Temperature (K) the main table was computed at."""
        return float(self.meta["settings"]["temperature_k"])

    def effective_weh(self, epithermal_ratio):
        """The homogeneous WEH whose epithermal ratio (reference composition and temperature) this is."""
        wg, r = self._inverse
        return np.interp(np.asarray(epithermal_ratio, float), r[::-1], wg[::-1])

    def temperature(self, temperature_k, weh_wt_pct):
        """(epithermal, thermal) rate of homogeneous ground of this WEH and temperature over the reference's.

        The reference is the table's temperature; bilinear in (T, ln(1 + W / 0.5 wt%)); held at the end values
        outside the tabulated 40-350 K; the factors smoothed (module docstring item 2).
        """
        temp = np.asarray(temperature_k, float)
        if np.any(~np.isfinite(temp)) or np.any(temp < TEMPERATURE_RANGE_K[0]) or np.any(temp > TEMPERATURE_RANGE_K[1]):
            bad = temp[~(np.isfinite(temp) & (temp >= TEMPERATURE_RANGE_K[0]) & (temp <= TEMPERATURE_RANGE_K[1]))]
            raise InputError(f"regolith temperature must be within {TEMPERATURE_RANGE_K[0]:g}-"
                             f"{TEMPERATURE_RANGE_K[1]:g} K for the neutron response, got {bad.ravel()[0]:g} K")
        u = np.log1p(self.temperature_weh / W_BOT_SCALE)
        tt = np.clip(temp, self.temperature_k[0], self.temperature_k[-1])
        uu = np.clip(np.log1p(np.asarray(weh_wt_pct, float) / W_BOT_SCALE), u[0], u[-1])
        tt, uu = np.broadcast_arrays(tt, uu)
        pts = np.stack([uu.ravel(), tt.ravel()], axis=-1)
        fe, ft = (f(pts).reshape(tt.shape) for f in self._temperature_grid)
        return fe, ft

    def at_temperature(self, epithermal, thermal, temperature_k):
        """Reference-composition ratios of (layered) ground at 150 K moved to ``temperature_k``.

        Each times the factor of homogeneous ground with the same epithermal ratio (module docstring item 2).
        """
        fe, ft = self.temperature(temperature_k, self.effective_weh(epithermal))
        return epithermal * fe, thermal * ft

    def composition(self, feo_tio2_wt_pct):
        """(epithermal, thermal) rate of dry regolith of this FeO+TiO2 relative to the reference composition."""
        a = np.asarray(feo_tio2_wt_pct, float)
        return (np.interp(a, self.feo_tio2_wt_pct, self.composition_epithermal),
                np.interp(a, self.feo_tio2_wt_pct, self.composition_thermal))


def _second_difference(x):
    """Second divided differences on the nodes x (rows: interior nodes).

    So the penalty does not depend on the spacing of the table's axes.
    """
    n = x.size
    d = np.zeros((n - 2, n))
    for k in range(n - 2):
        h0, h1 = x[k + 1] - x[k], x[k + 2] - x[k + 1]
        d[k, k:k + 3] = 2.0 / (h0 + h1) * np.array([1.0 / h0, -(1.0 / h0 + 1.0 / h1), 1.0 / h1])
    return d


def smooth_grid(x, y, z, sigma, chi2_per_point, pinned=None):
    """Weighted penalised smoothing of Monte Carlo values z(x, y) on a grid.

    Whittaker 1923, Eilers 2003 (Anal. Chem. 75:3631), in two dimensions: minimises sum((z - s)/sigma)^2 + lam (|D_x s|^2 + |D_y s|^2)
    with second divided differences on each axis scaled to [0, 1], lam chosen (bisection in log lam) so
    that the weighted residuals sum to chi2_per_point x the number of points. chi2_per_point < 1 because
    the table's points share one random seed, so their differences are less noisy than sigma says.
    Points where ``pinned`` is true are held at their values (and not counted).

    Parameters
    ----------
    x : numpy.ndarray, shape (nx,)
        First axis of the grid, strictly increasing (the table passes ln(1 + W_bot / 0.5 wt%)).
    y : numpy.ndarray, shape (ny,)
        Second axis, strictly increasing (ln(1 + m / 20 g/cm^2), or temperature in K).
    z : numpy.ndarray, shape (nx, ny)
        Values to smooth (count ratios, dimensionless).
    sigma : numpy.ndarray, shape (nx, ny)
        1-sigma error of each value, same unit as ``z``, > 0 where not pinned.
    chi2_per_point : float
        Target weighted residual sum per free point (the table uses :data:`SMOOTHING`, 0.3).
    pinned : array_like of bool, shape (nx, ny), or None
        Points held fixed; None: none.

    Returns
    -------
    numpy.ndarray, shape (nx, ny)
        Smoothed values, same unit as ``z``.
    """
    nx, ny = z.shape
    xs = (x - x[0]) / (x[-1] - x[0])
    ys = (y - y[0]) / (y[-1] - y[0])
    dx = np.kron(_second_difference(xs), np.eye(ny))
    dy = np.kron(np.eye(nx), _second_difference(ys))
    pen = dx.T @ dx + dy.T @ dy
    free = np.ones(z.size, bool) if pinned is None else ~np.asarray(pinned, bool).ravel()
    w = 1.0 / sigma.ravel()[free] ** 2
    zf = z.ravel()
    target = chi2_per_point * int(free.sum())
    # lam is relative: the penalty scaled to the trace of the weights
    pen *= float(np.sum(w)) / np.trace(pen)
    p_ff, p_fp = pen[np.ix_(free, free)], pen[np.ix_(free, ~free)]

    def fit(log_lam):
        lam = np.exp(log_lam)
        sm = zf.copy()          # pinned points keep their values; the free ones solve the normal equations
        sm[free] = np.linalg.solve(np.diag(w) + lam * p_ff, w * zf[free] - lam * p_fp @ zf[~free])
        return sm, float(np.sum(w * (zf[free] - sm[free]) ** 2))

    lo, hi = -25.0, 15.0
    if fit(hi)[1] <= target:            # even a plane-like surface fits within the target: keep it
        return fit(hi)[0].reshape(nx, ny)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if fit(mid)[1] > target:
            hi = mid
        else:
            lo = mid
    return fit(lo)[0].reshape(nx, ny)


@lru_cache(maxsize=4)
def load_table(path: str = "builtin") -> ResponseTable:
    """The response table at ``path`` ("builtin": the package's), smoothed and splined once per process.

    Built on one BLAS thread: the smoothing solves dense normal equations (:func:`smooth_grid`), and
    OpenBLAS's multi-threaded solve rounds differently from its single-threaded one, so a table built where
    BLAS had two threads (a run's first survey) and one built under ``threadpool_limits(1)`` (a resumed run's
    first campaign leg, a Dask worker) differed in the last bits, and every retrieval with them; the GP fits
    downstream amplified that to ~0.2 % in the lawnmower's hyperparameters after a resume (issue 21).
    """
    with threadpool_limits(1, user_api="blas"):  # numpy's OpenBLAS (np.linalg.solve, @), loaded with numpy
        return ResponseTable.load(BUILTIN_TABLE if path == "builtin" else path)
