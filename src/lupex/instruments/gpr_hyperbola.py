"""GPR preprocessing and velocity analysis: diffraction hyperbolas give the regolith's permittivity eps'.

:func:`preprocess` dewows and aligns on the direct coupling; :func:`detect_diffractions` finds apexes in a
migrated image; :func:`fit_hyperbola` picks one diffraction's arms and fits (x0, apex depth, eps'[, radius])
(the velocity-radius trade-off: Ristic et al. 2009, Computers & Geosciences 35:1620); :func:`combine_eps`
takes their inverse-variance mean, or the prior without fits (Chang'E-4 LPR: 3.25 +- 0.31,
docs/REFERENCES.md#chang-e4-lpr), and
:func:`velocity_analysis` runs the chain. :mod:`lupex.instruments.gpr_retrieval` uses them (and re-exports
them) for the ice table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter
from scipy.optimize import least_squares

from lupex.instruments.gpr_dielectric import C_M_S
from lupex.instruments.gpr_forward import Radargram, check_positions, two_medium_time
from lupex.instruments.gpr_processing import (
    background_removal,
    dewow,
    envelope,
    matched_filter,
    stolt_migration,
    time_zero,
)

__all__ = ["DEWOW_PERIODS", "EPS_PRIOR", "HyperbolaFit", "combine_eps", "detect_diffractions", "fit_hyperbola",
           "preprocess", "velocity_analysis"]


EPS_PRIOR = (3.25, 0.31)
DEWOW_PERIODS = 2.0   # dewow window, in wavelet periods (preprocess, and the synthetic echoes fitted to its output)


@dataclass(frozen=True)
class HyperbolaFit:
    """A diffraction hyperbola fitted to picks: apex position and depth (m), eps' and its sigma, fit quality."""

    x0_m: float
    depth_m: float        # apex (reflecting point) depth below the surface
    eps: float
    eps_sigma: float
    n_picks: int
    rms_residual_s: float
    radius_m: float = 0.0   # diffractor radius: given, or fitted (fit_hyperbola with radius_m=None)

    @property
    def velocity_m_s(self) -> float:
        """Wave speed c / sqrt(eps'), m/s."""
        return C_M_S / np.sqrt(self.eps)


def preprocess(rg: Radargram, dewow_periods: float = DEWOW_PERIODS, threshold: float = 0.5):
    """Dewow (window = ``dewow_periods`` / f_c) and time-zero on the direct coupling.

    Returns (data, t_antenna_s): the aligned data and the time of the antenna
    (direct coupling) after alignment.
    """
    cfg = rg.config
    d = dewow(rg.data.astype(float), rg.dt_s, dewow_periods / cfg.centre_frequency_hz)
    d, _, ref = time_zero(d, rg.dt_s, threshold)
    return d, ref


def _parabolic(y, k):
    n = y.shape[-1]
    k = np.clip(k, 1, n - 2)
    idx = np.arange(y.shape[0])
    y0, y1, y2 = y[idx, k - 1], y[idx, k], y[idx, k + 1]
    den = y0 - 2 * y1 + y2
    frac = np.where(den < 0, 0.5 * (y0 - y2) / np.where(den == 0, -1, den), 0.0)
    return k + np.clip(frac, -0.5, 0.5)


def _model_t(x, x0, depth, eps, h, t_ant, radius, offset=0.0):
    v = C_M_S / np.sqrt(eps)
    t1, _ = two_medium_time(np.hypot(x - x0, offset), h, depth + radius, v)
    return t_ant + 2 * (t1 - radius / v)


def _scan_apex(env, p_sel, dx, dt_s, n_samples, x0_m, t_apex_s, h, t_antenna_s, radius_m):
    """Best (eps', apex depth m, x0 m, radius m, cross-track offset m) of a semblance-like grid scan.

    ``p_sel``: positions (m) of the traces in the aperture; ``dx``: trace spacing (m).
    """
    fit_radius = radius_m is None
    # semblance-like scan over eps', apex time (+-0.6 ns), apex position (+-2 traces) and, when unknown,
    # the radius: the detection only gives a rough apex, and the picks below need the right lobe
    # (the cross-track offset is left to the least-squares fit below: scanning it too costs ~4x)
    radii, offs = (np.array([0.0, 0.08]), np.array([0.0])) if fit_radius else (np.array([float(radius_m)]), np.array([0.0]))
    eps_axis, shifts = np.linspace(1.5, 9.0, 16 if fit_radius else 31), np.arange(-0.6e-9, 0.61e-9, dt_s)
    E, S, X, A, Y = np.meshgrid(eps_axis, shifts, x0_m + dx * np.arange(-2, 3), radii, offs, indexing="ij")
    E, S, X, A, Y = (a.ravel()[:, None] for a in (E, S, X, A, Y))
    # apex depth from the apex time (straight ray below the antenna; the scan only needs a start)
    deps = np.maximum((t_apex_s + S - t_antenna_s - 2 * h / C_M_S) * C_M_S / np.sqrt(E) / 2, 0.02)
    deps = np.maximum(np.sqrt(np.maximum((deps + A) ** 2 - Y ** 2, 0.0)) - A, 0.02)
    tt = _model_t(p_sel[None, :], X, deps, E, h, t_antenna_s, A, Y)
    k = np.clip(np.round(tt / dt_s).astype(int), 0, n_samples - 1)
    score = env[np.arange(p_sel.size)[None, :], k].sum(axis=1)
    b = int(np.argmax(score))
    return tuple(float(a[b, 0]) for a in (E, deps, X, A, Y))


def _pick_arms(amf, tt, dt_s, centre_frequency_hz):
    """Peak time (s) of |matched filter| near the model time ``tt`` of each trace, and which picks are strong."""
    n_sel, n_samples = amf.shape
    half = int(0.35 / centre_frequency_hz / dt_s) + 1
    kc = np.round(tt / dt_s).astype(int)
    win = kc[:, None] + np.arange(-half, half + 1)[None, :]
    valid = (win[:, 0] >= 1) & (win[:, -1] < n_samples - 1)
    win = np.clip(win, 0, n_samples - 1)
    ew = amf[np.arange(n_sel)[:, None], win]
    kk = win[np.arange(n_sel), np.argmax(ew, axis=1)]
    t_pick = _parabolic(amf, kk) * dt_s
    noise = np.median(amf) * 1.4826
    return t_pick, valid & (ew.max(axis=1) > 4 * noise)


def _fit_picks(xs, ts, q_scan, h, t_antenna_s, aperture_m, radius_m) -> HyperbolaFit | None:
    """Least-squares fit of (x0, apex depth, eps'[, radius, offset]) to the picks, started at the scan's best."""
    fit_radius = radius_m is None
    n_par = 5 if fit_radius else 3
    x0_m, depth0, e_scan, r0, y0 = q_scan

    def resid(q):  # in ns, so that the solver's absolute tolerances are meaningful
        if fit_radius:
            return 1e9 * (_model_t(xs, q[0], q[1], q[2], h, t_antenna_s, q[3], q[4]) - ts)
        return 1e9 * (_model_t(xs, q[0], q[1], q[2], h, t_antenna_s, radius_m) - ts)

    q0 = [x0_m, depth0, e_scan] + ([max(r0, 0.02), max(y0, 0.1)] if fit_radius else [])
    lo = [x0_m - aperture_m, 0.0, 1.0] + ([0.0, 0.0] if fit_radius else [])
    hi = [x0_m + aperture_m, 5.0, 30.0] + ([1.0, 2.0] if fit_radius else [])
    try:
        sol = least_squares(resid, q0, bounds=(lo, hi), max_nfev=60 if fit_radius else None,
                            x_scale=[0.05, 0.05, 0.3] + ([0.05, 0.1] if fit_radius else []))
    except ValueError:
        return None
    dof = xs.size - n_par
    if dof <= 0:
        return None
    s2 = float(np.sum(sol.fun ** 2) / dof)
    try:
        cov = s2 * np.linalg.inv(sol.jac.T @ sol.jac)
    except np.linalg.LinAlgError:
        return None
    sig = float(np.sqrt(max(cov[2, 2], 0.0)))
    if not np.isfinite(sig) or sig == 0:
        return None
    rad = float(sol.x[3]) if fit_radius else float(radius_m)
    return HyperbolaFit(float(sol.x[0]), float(sol.x[1]), float(sol.x[2]), sig, int(xs.size),
                        1e-9 * float(np.sqrt(s2)), rad)


def fit_hyperbola(data, dt_s, positions_m, x0_m, t_apex_s, *, antenna_height_m: float, t_antenna_s: float,
                  centre_frequency_hz: float, aperture_m: float = 0.6, radius_m: float | None = 0.0,
                  eps_guess: float = 3.0, min_picks: int = 8) -> HyperbolaFit | None:
    """Pick the arms of one diffraction around (x0, t_apex) and fit (x0, apex depth, eps'[, radius]).

    ``data`` should be background-removed. ``radius_m`` is the radius of the
    diffractor when known; ``None`` fits it as a fourth parameter (a buried rock
    of unknown size: a point-diffractor fit to a sphere of radius a whose centre
    lies at depth D reads eps' too low by about a factor (D - a)/D, the
    velocity-radius trade-off of Ristic et al. 2009, Computers & Geosciences
    35:1620). Returns None where too few picks stand above the noise.

    Parameters
    ----------
    data : np.ndarray
        (n_traces, n_samples) background-removed B-scan.
    dt_s : float
        Sample interval, s.
    positions_m : np.ndarray
        (n_traces,) along-track positions, m.
    x0_m, t_apex_s : float
        Starting apex position (m) and two-way time (s).
    antenna_height_m : float
        Antenna height above the surface, m.
    t_antenna_s : float
        Time of the antenna (time zero), s.
    centre_frequency_hz : float
        Wavelet centre frequency, Hz.
    aperture_m : float
        Half width of the picked arms, m.
    radius_m : float, optional
        Diffractor radius, m; None fits it.
    eps_guess : float
        Starting eps'.
    min_picks : int
        Fewest picks that make a fit.
    """
    d = np.asarray(data, float)
    p = np.asarray(positions_m, float)
    h = antenna_height_m
    sel = np.flatnonzero(np.abs(p - x0_m) <= aperture_m)
    if sel.size < min_picks:
        return None
    mf = matched_filter(d[sel], dt_s, centre_frequency_hz)
    dx = float(np.median(np.diff(p))) if p.size > 1 else 0.05
    e_scan, depth0, x0_m, r0, y0 = _scan_apex(envelope(mf), p[sel], dx, dt_s, d.shape[1], x0_m, t_apex_s, h,
                                              t_antenna_s, radius_m)
    tt = _model_t(p[sel], x0_m, depth0, e_scan, h, t_antenna_s, r0, y0)
    t_pick, strong = _pick_arms(np.abs(mf), tt, dt_s, centre_frequency_hz)
    n_par = 3 if radius_m is not None else 5
    if strong.sum() < max(min_picks, n_par + 2):
        return None
    return _fit_picks(p[sel][strong], t_pick[strong], (x0_m, depth0, e_scan, r0, y0), h, t_antenna_s, aperture_m,
                      radius_m)


def detect_diffractions(data_bg, dt_s, dx_m, t_surface_s, *, eps_nominal: float = 3.0, snr: float = 8.0,
                        min_separation_m: float = 0.5, max_candidates: int = 10_000):
    """Candidate diffraction apexes (x index, apex time in the unmigrated data) from a migrated image.

    Migrates the background-removed data at eps' = ``eps_nominal``, takes local
    maxima of the envelope that stand ``snr`` times above its robust noise level.

    Parameters
    ----------
    data_bg : np.ndarray
        (n_traces, n_samples) background-removed B-scan.
    dt_s : float
        Sample interval, s.
    dx_m : float
        Trace spacing, m.
    t_surface_s : float
        Two-way time of the surface, s.
    eps_nominal : float
        Migration eps'.
    snr : float
        Smallest envelope peak over the robust noise level.
    min_separation_m : float
        Smallest distance between two candidates, m.
    max_candidates : int
        Largest number of candidates.
    """
    v = C_M_S / np.sqrt(eps_nominal)
    mig = stolt_migration(data_bg, dt_s, dx_m, v, t_surface_s)
    k0 = int(round(t_surface_s / dt_s)) + 4
    env = envelope(mig)
    env[:, :k0] = 0
    sep = max(3, int(min_separation_m / dx_m) | 1)
    mx = maximum_filter(env, size=(sep, 9), mode="constant")
    noise = 1.4826 * np.median(env[:, k0:])
    ii, kk = np.nonzero((env == mx) & (env > snr * noise))
    order = np.argsort(-env[ii, kk])[:max_candidates]
    return ii[order], kk[order] * dt_s, env[ii[order], kk[order]] / noise


def combine_eps(fits, prior=EPS_PRIOR):
    """Inverse-variance mean of fitted eps' with Birge-ratio inflation; the prior where there are no fits."""
    if not fits:
        return float(prior[0]), float(prior[1]), "prior (no usable diffraction hyperbola)"
    e = np.array([f.eps for f in fits])
    s = np.array([f.eps_sigma for f in fits])
    w = 1 / s ** 2
    m = float(np.sum(w * e) / np.sum(w))
    sig = float(np.sqrt(1 / np.sum(w)))
    if e.size > 1:
        birge = float(np.sqrt(np.sum(w * (e - m) ** 2) / (e.size - 1)))
        sig *= max(1.0, birge)
    return m, sig, f"{e.size} hyperbola fit(s)"


def velocity_analysis(rg: Radargram, *, data=None, t_antenna_s=None, radius_m: float = 0.0,
                      aperture_m: float = 0.6, max_fits: int = 60, bg_window_m: float = 10.0,
                      snr: float = 6.0, max_apex_depth_m: float | None = None,
                      min_picks: int = 12, max_rel_sigma: float = 0.1) -> list[HyperbolaFit]:
    """Find diffraction hyperbolas and fit each; returns the successful fits.

    Parameters
    ----------
    rg : Radargram
        The B-scan and its radar settings.
    data : np.ndarray, optional
        Preprocessed data, with ``t_antenna_s`` (default: :func:`preprocess` of ``rg``).
    t_antenna_s : float, optional
        Time of the antenna (time zero) in ``data``, s.
    radius_m : float
        Diffractor radius, m, for every fit.
    aperture_m : float
        Half width of the picked arms, m.
    max_fits : int
        Candidates tried, strongest first.
    bg_window_m : float
        Background-removal window, m.
    snr : float
        Detection threshold over the noise.
    max_apex_depth_m : float, optional
        Deepest apex kept, m.
    min_picks : int
        Fewest picks of a kept fit.
    max_rel_sigma : float
        Largest relative sigma of eps' of a kept fit.
    """
    cfg = rg.config
    if data is None:
        data, t_antenna_s = preprocess(rg)
    p = check_positions(rg.positions_m)
    dx = rg.dx_m
    t_surf = t_antenna_s + 2 * cfg.antenna_height_m / C_M_S
    bg = background_removal(data, max(2, int(round(bg_window_m / dx))))
    ii, tt, _ = detect_diffractions(bg, rg.dt_s, dx, t_surf + 1.0 / cfg.centre_frequency_hz, snr=snr)
    fits = []
    for i, t in zip(ii[:max_fits], tt[:max_fits]):
        # the migrated focus time equals the apex time of the unmigrated hyperbola
        f = fit_hyperbola(bg, rg.dt_s, p, p[i], t, antenna_height_m=cfg.antenna_height_m, t_antenna_s=t_antenna_s,
                          centre_frequency_hz=cfg.centre_frequency_hz, aperture_m=aperture_m, radius_m=radius_m)
        if f is None or not (1.0 < f.eps < 20):
            continue
        if max_apex_depth_m is not None and f.depth_m > max_apex_depth_m:
            continue
        if f.eps_sigma > max_rel_sigma * f.eps or f.n_picks < min_picks:
            continue
        if any(abs(f.x0_m - g.x0_m) < 0.15 and abs(f.depth_m - g.depth_m) < 0.1 for g in fits):
            continue   # the same diffraction found twice (candidates come strongest first)
        fits.append(f)
    return fits
