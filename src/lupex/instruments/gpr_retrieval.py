"""GPR retrieval: velocity from diffraction hyperbolas, ice-table depth, ice content, with uncertainty.

- Velocity analysis: diffractions are found as focus points of a
  constant-velocity migration (nominal eps' 3), their arms are picked (envelope
  peak near the predicted time, parabolic sub-sample refinement) and fitted by
  non-linear least squares with the same two-medium (air gap h + ground)
  travel time the forward model uses, parameters (x0, apex depth, eps'); the
  covariance is s^2 (J^T J)^-1 with s^2 the residual variance. Several fits are
  combined by inverse-variance weighting with Birge-ratio inflation when they
  scatter more than their errors.
- Ice table: strongest coherent reflector below the surface in stacks of
  ``window_traces`` traces; depth = v (t_ice - t_surface)/2 with
  sigma_z^2 = (dt/2)^2 sigma_v^2 + (v/2)^2 sigma_dt^2; sigma_dt is the
  delete-one jackknife over the traces of the stack (Efron & Stein 1981).
- Ice content: the ice-table reflection coefficient from its amplitude
  relative to the surface reflection (whose coefficient is measured against
  the direct coupling), corrected for spreading, transmission and attenuation
  as in the forward model, through the velocity model; R -> eps' below -> WEH
  by inverting the mixing rule at the bulk density implied by the dry eps'
  just above the table (Olhoeft inverted), assuming the
  same bulk density below (the :func:`lupex.subsurface.two_layer_column`
  convention). Uncertainty by first-order propagation of sigma(eps'_top) and the
  jackknife sigma of the amplitude ratio.
- Rocks of unknown size and cross-track position (``radius_m=None``): the
  fit adds the radius a and the cross-track offset y. A point-diffractor fit
  to a sphere reads eps' too low by about (D - a)/D (D: centre depth), and an
  off-line target with a raised antenna reads it lower still (refraction at
  the surface); with a and y free a single hyperbola constrains eps' only
  weakly (sigma ~1.5 for a 0.1 m rock at 0.6 m), and fits whose sigma exceeds
  ``max_rel_sigma`` are dropped. Hyperbola fitting for the regolith velocity
  is the standard practice of the Chang'E-3/4 Lunar Penetrating Radar
  analyses (docs/REFERENCES.md#chang-e4-lpr, docs/REFERENCES.md#chang-e5-samples); the velocity-radius trade-off is discussed by
  Ristic et al. 2009 (Computers & Geosciences 35:1620).
- Ice below the table (``ice=``): "same-bulk" keeps the bulk density of the
  layer above; "pores" fills the pores of the same dry matrix (the ground
  truth's convention), and WEH then follows from the permittivity contrast
  alone (:func:`weh_from_contrast`).
- Without usable hyperbolas, eps' of the top layer falls back to a prior:
  Chang'E-4 LPR hyperbola fits gave 2.64-3.85 (docs/REFERENCES.md#chang-e4-lpr), taken as
  3.25 +- 0.31 (range/4 ~ 2 sigma half-width); ``eps_source`` then says
  "prior (no usable diffraction hyperbola)". Or, better where the regolith
  loosens towards the surface, a depth-dependent eps'(z) from a published
  density profile (:mod:`lupex.instruments.gpr_velocity`), whose scale the
  hyperbolas measure when there are any; times convert to depth through it.
- Before the ice table is picked, the echoes of dry ground on the velocity
  model (surface and density gradient) are fitted and subtracted
  (:func:`pick_ice_table`), so tables from ~0.09 m down are found; without
  that step, picks shallower than two wavelet periods below the surface echo
  are no picks (:func:`drop_surface_picks`).
- The ice/surface amplitude ratio is turned into the ice echo's coefficient
  with the surface's coefficient as measured against the direct coupling (the
  amplitude unit), which includes the echo of a graded top. WEH's sigma has a
  model term besides eps' and the amplitude noise: the same reading with the
  surface coefficient that the velocity model predicts. Where the two disagree
  (a looser or denser top than the model's, or a wrong eps' prior) the WEH
  they give differs, and that difference is taken as one sigma.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import maximum_filter, median_filter

from lupex.errors import InputError
from lupex.instruments.gpr_dielectric import (
    C_M_S,
    ICE_DENSITY_KG_M3,
    ICE_PERMITTIVITY,
    check_permittivity,
    weh_from_permittivity,
)
from lupex.instruments.gpr_forward import (
    GprConfig,
    Radargram,
    _layer_arrivals,
    ricker,
    spreading_factor,
)
from lupex.instruments.gpr_hyperbola import (  # noqa: F401  (moved there; still importable from here)
    DEWOW_PERIODS,
    EPS_PRIOR,
    HyperbolaFit,
    _parabolic,
    combine_eps,
    detect_diffractions,
    fit_hyperbola,
    preprocess,
    velocity_analysis,
)
from lupex.instruments.gpr_processing import (
    dewow,
    matched_filter,
)
from lupex.instruments.gpr_velocity import VelocityModel, fit_scale


@dataclass(frozen=True)
class IceRetrieval:
    """Retrieved top-layer permittivity, ice-table depth and WEH below it, with 1-sigma errors.

    Per-window arrays (``window_centres_m``...) and traverse-wide combined values.
    """

    eps_top: float
    eps_top_sigma: float
    eps_source: str
    hyperbolas: tuple[HyperbolaFit, ...]
    window_centres_m: np.ndarray
    ice_depth_m: np.ndarray
    ice_depth_sigma_m: np.ndarray
    weh_below_wt_pct: np.ndarray
    weh_below_sigma_wt_pct: np.ndarray
    depth_m: float = float("nan")
    depth_sigma_m: float = float("nan")
    weh_wt_pct: float = float("nan")
    weh_sigma_wt_pct: float = float("nan")
    meta: dict = field(default_factory=dict)
    velocity_model: VelocityModel | None = None   # what converted times to depths (None: constant eps_top)


def _window_picks(stack, dt, k_lo, k_hi, k_ref=None, half=None):
    """Time (s) of the |peak| of matched-filtered rows and the signed amplitude there.

    The search is over samples [k_lo, k_hi), or within +-half samples of k_ref.
    """
    env = np.abs(stack)
    n = stack.shape[1]
    rows = np.arange(stack.shape[0])
    if k_ref is None:
        e = env.copy()
        e[:, :k_lo] = 0
        e[:, k_hi:] = 0
        k = np.argmax(e, axis=1)
    else:
        k_ref = np.broadcast_to(np.asarray(k_ref, int), rows.shape)
        off = np.arange(-half, half + 1)
        w = np.clip(k_ref[:, None] + off[None, :], 0, n - 1)
        k = w[rows, np.argmax(env[rows[:, None], w], axis=1)]
    kf = _parabolic(env, k)
    # signed amplitude: the real trace at the (sub-sample) envelope peak, by linear interpolation
    k0 = np.clip(np.floor(kf).astype(int), 0, n - 2)
    f = kf - k0
    amp = (1 - f) * stack[rows, k0] + f * stack[rows, k0 + 1]
    return kf * dt, amp, env[rows, np.clip(np.round(kf).astype(int), 0, n - 1)]


def surface_basis(vm: VelocityModel, n_samples: int, dt_s: float, t_antenna_s: float, *, antenna_height_m: float,
                  centre_frequency_hz: float, spreading: str = "point", dewow_periods: float = DEWOW_PERIODS,
                  depth_m: float = 1.0, dz_m: float = 1e-3) -> np.ndarray:
    """The echoes of dry ground with the velocity model ``vm``: three basis traces (3, n_samples).

    They are taken after the retrieval's own processing (dewow, matched filter): the direct coupling, the surface
    reflection, and the reflections of the density gradient below it. The ground is eps'(z) on
    ``dz_m`` layers down to ``depth_m``, lossless, and its echoes are the forward model's own
    layered primaries (:func:`lupex.instruments.gpr_forward._layer_arrivals`: Fresnel series,
    transmission, paraxial spreading); a constant eps' has no gradient and a zero third trace.
    The source wavelet is the instrument's (the Ricker of :class:`GprConfig`).

    Parameters
    ----------
    vm : VelocityModel
        eps'(z) of the dry ground.
    n_samples : int
        Samples per trace.
    dt_s : float
        Sample interval, s.
    t_antenna_s : float
        Time of the antenna (time zero), s.
    antenna_height_m : float
        Antenna height above the surface, m.
    centre_frequency_hz : float
        Wavelet centre frequency, Hz.
    spreading : str
        ``"point"`` (1/L) or else 1/sqrt(L) geometric spreading.
    dewow_periods : float
        Dewow window, wavelet periods.
    depth_m : float
        Depth of the modelled layers, m.
    dz_m : float
        Layer thickness, m.
    """
    cfg = GprConfig(centre_frequency_hz=centre_frequency_hz, dt_s=dt_s, antenna_height_m=antenna_height_m,
                    spreading=spreading)
    t = np.arange(n_samples) * dt_s
    z = np.arange(dz_m / 2, depth_m, dz_m)
    eps = vm.eps_at(z)[None, :]
    times, amps = _layer_arrivals(z, eps, np.zeros_like(eps), cfg)
    tk, amp = t_antenna_s + times[0], amps[0]
    grad = np.zeros(n_samples)
    keep = np.flatnonzero(np.abs(amp[1:]) > 1e-9) + 1
    for k0 in range(0, keep.size, 256):
        kk = keep[k0:k0 + 256]
        grad += (amp[kk, None] * ricker(t[None, :] - tk[kk, None], centre_frequency_hz)).sum(axis=0)
    raw = np.stack([ricker(t - t_antenna_s, centre_frequency_hz), amp[0] * ricker(t - tk[0], centre_frequency_hz), grad])
    return matched_filter(dewow(raw, dt_s, dewow_periods / centre_frequency_hz), dt_s, centre_frequency_hz)


def _project_out(stacks, basis, k_end):
    """Residual of each row after a least-squares fit of the basis traces over samples [0, k_end)."""
    A = basis[:, :k_end].T
    live = np.flatnonzero(np.abs(A).max(axis=0) > 0)
    coef = np.linalg.lstsq(A[:, live], stacks[:, :k_end].T, rcond=None)[0]
    return stacks - coef.T @ basis[live]


def _shallow_search(full, flat, velocity_model: VelocityModel | None, n_s, dt_s, t_antenna_s, k_s, half, *,
                    antenna_height_m, centre_frequency_hz, spreading, shallow_from_periods, shallow_fit_periods):
    """Where and on what the ice echo is searched: ``(search, search_l, k_lo, floor, basis, k_fit)``.

    Without a velocity model the stacks themselves from 2.2 periods below the surface (``basis`` and ``k_fit``
    None); with one, the residuals after fitting dry ground's echoes, from ``shallow_from_periods`` down, and
    the model floor (per sample, in units of the surface echo).
    """
    period = 1.0 / centre_frequency_hz
    if velocity_model is None:
        # the search starts below the zone that drop_surface_picks rejects (2 periods): from 1.6
        # periods, the tail of the surface echo and of the near-surface density gradient was the
        # strongest event in ~98 % of windows, hid every ice echo below ~5 wt% WEH and was then dropped
        t_surf_geo = t_antenna_s + 2 * antenna_height_m / C_M_S
        k_lo = int(round((t_surf_geo + 2.2 * period) / dt_s))
        return full, flat, k_lo, np.zeros(n_s), None, None
    # the echoes of dry ground (direct coupling, surface, density gradient) are fitted over the samples
    # up to shallow_fit_periods past the surface and subtracted; the search then runs on the residual
    # from shallow_from_periods down, where the surface echo's tail no longer hides a shallow ice table
    basis = surface_basis(velocity_model, n_s, dt_s, t_antenna_s, antenna_height_m=antenna_height_m,
                          centre_frequency_hz=centre_frequency_hz, spreading=spreading)
    k_fit = k_s + int(round(shallow_fit_periods * period / dt_s))
    search, search_l = _project_out(full, basis, k_fit), _project_out(flat, basis, k_fit)
    k_lo = k_s + int(round(shallow_from_periods * period / dt_s))
    # model floor: twice what a dry ground on the other published density profile (Carrier <-> Hayne)
    # leaves after this fit, over a period around each sample, in units of the measured surface echo
    alt = VelocityModel("hayne" if velocity_model.profile == "carrier" else "carrier",
                        velocity_model.scale if velocity_model.profile != "constant" else 1.0, 0.0)
    b_alt = surface_basis(alt, n_s, dt_s, t_antenna_s, antenna_height_m=antenna_height_m,
                          centre_frequency_hz=centre_frequency_hz, spreading=spreading)
    r_alt = np.abs(_project_out(b_alt.sum(axis=0)[None, :], basis, k_fit)[0])
    floor = 2.0 * maximum_filter(r_alt, size=2 * half + 1) / abs(float(b_alt[1, k_s]))
    return search, search_l, k_lo, floor, basis, k_fit


def _fit_loss_corrections(ti, basis, k_fit, k_s, n_s, dt_s, t_surf_geo, half, centre_frequency_hz):
    """Echo amplitude fraction kept through the dry-ground fit and the fit's time shifts (s): ``(frac, s_bias, dti)``.

    ``frac``: the fraction a unit echo at each picked time keeps; ``s_bias``: the surface pick's time bias;
    ``dti``: each ice pick's time shift from the fit.
    """
    # an echo just below the fit window loses part of its amplitude to the fit (its wavelet reaches back
    # into the window): the same processing and fit applied to a unit echo at the picked time gives the
    # fraction kept, by which the amplitude is divided (1.00 from ~1.5 periods down, ~0.9 at 0.8)
    n_win = ti.size
    t = np.arange(n_s) * dt_s
    unit = matched_filter(dewow(ricker(t[None, :] - ti[:, None], centre_frequency_hz), dt_s,
                                DEWOW_PERIODS / centre_frequency_hz), dt_s, centre_frequency_hz)
    kept = _project_out(unit, basis, k_fit)
    kp = np.clip(np.round(ti / dt_s).astype(int), 0, n_s - 1)
    rows = np.arange(n_win)
    frac = np.clip(kept[rows, kp] / np.where(unit[rows, kp] == 0, 1.0, unit[rows, kp]), 0.2, 1.5)
    # pick-time biases, measured on the same synthetic echoes: the surface echo's peak is pulled late by
    # the tail of the direct coupling 1.6 periods before it and by the gradient's echo after it (12 ps
    # over uniform eps' 2.66, 20 ps on the Carrier profile: 1-2 mm of depth, several times the stacks'
    # timing sigma); a shallow ice echo's peak moves where the fit took part of it
    syn_ts, _, _ = _window_picks(basis.sum(axis=0)[None, :], dt_s, 0, 0, k_ref=np.array([k_s]), half=half)
    s_bias = float(syn_ts[0]) - t_surf_geo
    ti_kept, _, _ = _window_picks(kept, dt_s, 0, 0, k_ref=kp, half=half)
    ti_unit, _, _ = _window_picks(unit, dt_s, 0, 0, k_ref=kp, half=half)
    return frac, s_bias, ti_kept - ti_unit


def pick_ice_table(data, dt_s, t_antenna_s, *, antenna_height_m: float, centre_frequency_hz: float,
                   window_traces: int = 20, snr: float = 5.0, guide_windows: int = 7, spreading: str = "point",
                   velocity_model: VelocityModel | None = None, shallow_from_periods: float = 0.8,
                   shallow_fit_periods: float = 0.5):
    """Per window of traces: surface and ice-table times, amplitudes and jackknife sigmas.

    Returns a dict of arrays (one entry per window): ``t_surface_s``, ``dt_ice_s``,
    ``dt_ice_sigma_s``, ``ratio`` (ice/surface amplitude), ``ratio_sigma``, ``ok``, and
    ``surface_reflection``: the surface's Fresnel coefficient measured against the direct
    coupling (the system's amplitude unit), r0 = (a_surface / a_direct) / G(2h) with G the
    forward model's spreading factor (1/L for a point source, 1 at 1 m); ``search_from_s``, the
    two-way time below the surface echo where the search starts.

    With a ``velocity_model``, the echoes that dry ground on that model would give (direct
    coupling, surface, density gradient: :func:`surface_basis`) are fitted by least squares over
    the samples up to ``shallow_fit_periods`` wavelet periods past the surface echo and
    subtracted, and the search runs on the residual from ``shallow_from_periods`` down (0.8
    periods is ~0.09 m on the Carrier profile at 800 MHz). A pick must also stand above a model
    floor: twice the residual that dry ground on the other published profile (Carrier <-> Hayne)
    leaves after the same fit. Its amplitude is divided by the fraction a unit echo at that
    time keeps through the fit. Without one, the search starts 2.2 periods below the surface
    echo, as :func:`drop_surface_picks` expects.

    Parameters
    ----------
    data : np.ndarray
        (n_traces, n_samples) preprocessed B-scan.
    dt_s : float
        Sample interval, s.
    t_antenna_s : float
        Time of the antenna (time zero), s.
    antenna_height_m : float
        Antenna height above the surface, m.
    centre_frequency_hz : float
        Wavelet centre frequency, Hz.
    window_traces : int
        Traces stacked per window (>= 4).
    snr : float
        Smallest pick envelope over the stack's noise.
    guide_windows : int
        Windows in the median guide that keeps the picks on continuous reflectors.
    spreading : str
        ``"point"`` (1/L) or else 1/sqrt(L) geometric spreading.
    velocity_model : VelocityModel, optional
        eps'(z) whose dry-ground echoes are subtracted.
    shallow_from_periods : float
        Search start below the surface echo with a model, wavelet periods.
    shallow_fit_periods : float
        End of the dry-ground fit past the surface echo, wavelet periods.
    """
    d = np.asarray(data, float)
    n_tr, n_s = d.shape
    W = int(window_traces)
    if W < 4:
        raise InputError("window_traces must be at least 4 (the jackknife needs several traces)")
    n_win = n_tr // W
    if n_win == 0:
        raise InputError(f"need at least window_traces={W} traces to pick the ice table")
    blocks = matched_filter(d[: n_win * W], dt_s, centre_frequency_hz).reshape(n_win, W, n_s)
    full = blocks.mean(axis=1)
    loo = (W * full[:, None, :] - blocks) / (W - 1)          # delete-one stacks
    period = 1.0 / centre_frequency_hz
    t_surf_geo = t_antenna_s + 2 * antenna_height_m / C_M_S
    half = int(0.4 * period / dt_s) + 1
    k_s = int(round(t_surf_geo / dt_s))
    ts, a_s, _ = _window_picks(full, dt_s, 0, 0, k_ref=np.full(n_win, k_s), half=half)
    _, a_d, _ = _window_picks(full, dt_s, 0, 0, k_ref=np.full(n_win, int(round(t_antenna_s / dt_s))), half=half)
    geo_s = float(spreading_factor(2 * antenna_height_m, spreading))
    flat = loo.reshape(n_win * W, n_s)
    search, search_l, k_lo, floor, basis, k_fit = _shallow_search(
        full, flat, velocity_model, n_s, dt_s, t_antenna_s, k_s, half, antenna_height_m=antenna_height_m,
        centre_frequency_hz=centre_frequency_hz, spreading=spreading, shallow_from_periods=shallow_from_periods,
        shallow_fit_periods=shallow_fit_periods)
    # coherence: a guide from the median of neighbouring window stacks suppresses local events
    # (rock diffractions) and keeps laterally continuous reflectors; each window is then picked near it
    guide = median_filter(search, size=(min(guide_windows, n_win) | 1, 1), mode="nearest")
    tg, _, _ = _window_picks(guide, dt_s, k_lo, n_s - half - 1)
    ti, a_i, e_i = _window_picks(search, dt_s, 0, 0, k_ref=np.round(tg / dt_s).astype(int), half=half)
    # noise of the stack, from the delete-one spread
    ts_l, as_l, _ = _window_picks(flat, dt_s, 0, 0, k_ref=np.repeat(np.round(ts / dt_s).astype(int), W), half=half)
    ti_l, ai_l, _ = _window_picks(search_l, dt_s, 0, 0, k_ref=np.repeat(np.round(ti / dt_s).astype(int), W), half=half)
    dt_l = (ti_l - ts_l).reshape(n_win, W)
    r_l = (ai_l / as_l).reshape(n_win, W)

    def jk(x):
        return np.sqrt((W - 1) / W * np.sum((x - x.mean(axis=1, keepdims=True)) ** 2, axis=1))

    noise = 1.4826 * np.median(np.abs(blocks - full[:, None, :]), axis=(1, 2)) / np.sqrt(W)
    ok = (e_i > snr * noise) & (e_i > floor[np.clip(np.round(ti / dt_s).astype(int), 0, n_s - 1)] * np.abs(a_s))
    if velocity_model is not None:
        frac, s_bias, dti = _fit_loss_corrections(ti, basis, k_fit, k_s, n_s, dt_s, t_surf_geo, half,
                                                  centre_frequency_hz)
        a_i = a_i / frac
        r_l = r_l / frac[:, None]
        ts, ti = ts - s_bias, ti - dti
    return dict(t_surface_s=ts, dt_ice_s=ti - ts, dt_ice_sigma_s=jk(dt_l), ratio=a_i / a_s, ratio_sigma=jk(r_l),
                ok=ok, amp_surface=a_s, surface_reflection=a_s / a_d / geo_s, search_from_s=(k_lo - k_s) * dt_s,
                window_centres_index=np.arange(n_win) * W + (W - 1) / 2)


def weh_from_contrast(eps_above, eps_below, rho_dry_kg_m3, eps_ice: float = ICE_PERMITTIVITY,
                      weh_above_wt_pct=0.0):
    """WEH (wt% of the bulk) below an interface where pore ice fills the pores of the same dry matrix.

    Logarithmic mixing (the :mod:`lupex.instruments.gpr_dielectric` default) with ice added to
    the vacuum of a dry matrix of density rho_dry: ln eps_below - ln eps_above =
    v_ice ln eps_ice, v_ice = w rho_bulk / rho_ice, rho_bulk = rho_dry / (1 - w) (ice adds mass,
    not volume: :func:`lupex.subsurface.regolith.bulk_density_with_ice_kg_m3`). Solved for w:
    w / (1 - w) = rho_ice ln(eps_below / eps_above) / (rho_dry ln eps_ice). Only the contrast
    enters, so a common error in eps' above and below cancels. Where the layer above holds
    ``weh_above_wt_pct`` itself (the background hydrogen of "dry" regolith, counted as ice in the
    permittivity), the contrast measures the difference: x = w / (1 - w) is linear in ln eps', so
    x_below = x_above + the contrast's x.

    Parameters
    ----------
    eps_above, eps_below : array_like
        Real permittivity above and below the interface.
    rho_dry_kg_m3 : array_like
        Density of the dry matrix, kg/m^3.
    eps_ice : float
        Ice's real permittivity.
    weh_above_wt_pct : array_like
        WEH of the layer above, wt%.
    """
    wa = np.asarray(weh_above_wt_pct, float) / 100.0
    x = wa / (1.0 - wa) + ICE_DENSITY_KG_M3 * np.log(np.asarray(eps_below, float) / np.asarray(eps_above, float)) / (
        np.asarray(rho_dry_kg_m3, float) * np.log(eps_ice))
    return 100.0 * x / (1.0 + x)


def _weh_from_ratio(ratio, depth_m, vm: VelocityModel, *, h, f_c, spreading, feo_tio2_wt_pct, rule, ice="same-bulk",
                    r0=None, d_rho=0.0, weh_above=0.0):
    """WEH below the table from the ice/surface amplitude ratio, through the velocity model ``vm``.

    The model takes the surface coefficient from eps' at the top (unless measured, ``r0``), spreading over h +
    integral dz/n, attenuation integral alpha dz, and the contrast against the local eps' just above the table.
    """
    if r0 is None:
        n0 = np.sqrt(vm.eps_at(0.0))
        r0 = (1 - n0) / (1 + n0)
    eps1 = vm.eps_at(depth_m)
    n1 = np.sqrt(eps1)
    g = spreading_factor(2 * (h + vm.inverse_n_integral_m(depth_m)), spreading) / spreading_factor(2 * h, spreading)
    loss = np.exp(-2 * vm.attenuation_integral(depth_m, feo_tio2_wt_pct, f_c))
    r1 = ratio * r0 / (g * (1 - r0 ** 2) * loss)
    n2 = n1 * (1 - r1) / (1 + r1)
    eps2 = np.maximum(n2 ** 2, 1.0)
    rho = vm.density_kg_m3(depth_m) + d_rho
    if ice == "pores":
        return weh_from_contrast(eps1, eps2, rho, weh_above_wt_pct=weh_above)
    return weh_from_permittivity(eps2, rho, rule)


ICE_CONVENTIONS = ("same-bulk", "pores")


def _check_retrieve_args(cfg, ice: str, weh_above_wt_pct: float) -> None:
    """Raise InputError for a radargram or options :func:`retrieve` cannot read."""
    if cfg.antenna_height_m <= 0:
        raise InputError("retrieval needs the surface reflection apart from the direct coupling: antenna_height_m > 0")
    if not (np.isfinite(weh_above_wt_pct) and 0 <= weh_above_wt_pct < 100):
        raise InputError(f"weh_above_wt_pct must be within 0..100 wt%, got {weh_above_wt_pct!r}")
    if ice not in ICE_CONVENTIONS:
        raise InputError(f"ice must be one of {ICE_CONVENTIONS}, got {ice!r}")


def _velocity_and_picks(rg: Radargram, data, t_ant, *, window_traces, radius_m, eps_prior, max_fits, snr,
                        aperture_m, shallow):
    """Hyperbola fits above the ice table, the velocity model fitted to them, and the ice-table picks."""
    cfg = rg.config
    fits = velocity_analysis(rg, data=data, t_antenna_s=t_ant, radius_m=radius_m, max_fits=max_fits,
                             aperture_m=aperture_m)
    prior = eps_prior if isinstance(eps_prior, VelocityModel) else VelocityModel.prior("constant", eps_prior)
    vm0 = fit_scale(prior, fits, combine_eps)
    picks = pick_ice_table(data, rg.dt_s, t_ant, antenna_height_m=cfg.antenna_height_m,
                           centre_frequency_hz=cfg.centre_frequency_hz, window_traces=window_traces, snr=snr,
                           spreading=cfg.spreading, velocity_model=vm0 if shallow else None)
    # only hyperbolas above the ice table measure the top layer
    dt_med = float(np.median(picks["dt_ice_s"][picks["ok"]])) if picks["ok"].any() else np.nan
    z_ice0 = float(vm0.depth_m(dt_med)) if np.isfinite(dt_med) else np.inf
    fits = [f for f in fits if f.depth_m < z_ice0 - 0.05]
    return fits, fit_scale(prior, fits, combine_eps), picks


def _window_weh(picks, vm: VelocityModel, kw):
    """Per-window ice depth, WEH below the table and their 1-sigma errors: (z, sz, weh, sweh), NaN where no pick."""
    dtw, sdt = picks["dt_ice_s"], picks["dt_ice_sigma_s"]
    ok = picks["ok"]
    z = np.where(ok, vm.depth_m(np.where(ok, dtw, np.nan)), np.nan)
    sz = np.where(ok, vm.depth_sigma_m(np.where(ok, dtw, np.nan), sdt), np.nan)
    zz = np.nan_to_num(z)
    # the ice/surface ratio times the surface's reflection coefficient gives the ice echo's; that coefficient
    # is measured against the direct coupling (the amplitude unit) rather than predicted from eps' at the
    # top: a graded top (Carrier et al. 1991) adds its own echo to the surface's, which the measurement
    # includes (Carrier ground, 5 wt% below 0.3 m: 4.93 wt% measured vs 4.84 predicted; Hayne ground read
    # with the Carrier profile: 5.34 vs 5.69)
    r0m = picks["surface_reflection"]
    weh = _weh_from_ratio(picks["ratio"], zz, vm, r0=r0m, **kw)
    d_s = 1e-3 * vm.scale
    vm_d = vm.scaled(vm.scale + d_s)
    dw_ds = (_weh_from_ratio(picks["ratio"], zz, vm_d, r0=r0m, **kw) - weh) / d_s
    d_r = 1e-3 * np.maximum(np.abs(picks["ratio"]), 1e-6)
    dw_dr = (_weh_from_ratio(picks["ratio"] + d_r, zz, vm, r0=r0m, **kw) - weh) / d_r
    # model term: the same with the surface coefficient the velocity model predicts. The two agree over
    # uniform ground; where the top is looser or denser than the model's, or eps' is wrong, they do not
    w_pred = _weh_from_ratio(picks["ratio"], zz, vm, **kw)
    s_rho = vm.density_sigma_kg_m3
    dw_rho = (_weh_from_ratio(picks["ratio"], zz, vm, r0=r0m, d_rho=s_rho, **kw) - weh) if s_rho else 0.0
    sweh = np.sqrt((dw_ds * vm.scale_sigma) ** 2 + (dw_dr * picks["ratio_sigma"]) ** 2 + (w_pred - weh) ** 2
                   + dw_rho ** 2)
    return z, sz, np.where(ok, weh, np.nan), np.where(ok, sweh, np.nan)


def _traverse_weh(picks, vm: VelocityModel, z, kw):
    """Traverse-wide ice depth and WEH with 1-sigma errors, the windows used, and the depth eps' is averaged to.

    Returns ``(ok, depth, depth_sigma, weh, weh_sigma, z_ref)``.
    """
    dtw, sdt, r0m, ok = picks["dt_ice_s"], picks["dt_ice_sigma_s"], picks["surface_reflection"], picks["ok"]
    if not ok.any():
        nan = float("nan")
        return ok, nan, nan, nan, nan, float(np.nanmedian(z)) if np.isfinite(z).any() else 0.5
    d_s = 1e-3 * vm.scale
    vm_d = vm.scaled(vm.scale + d_s)
    s_rho = vm.density_sigma_kg_m3
    # traverse-wide: the scale error is common to all windows, the timing/amplitude errors are not.
    # Windows whose delay sits > 4 robust sigmas from the median are left out (a rock that beat the guide).
    med = np.median(dtw[ok])
    mad = 1.4826 * np.median(np.abs(dtw[ok] - med)) + np.median(sdt[ok])
    ok = ok & (np.abs(dtw - med) <= 4 * mad)
    m_dt = float(np.mean(dtw[ok]))
    s_dt = float(np.sqrt(np.sum(sdt[ok] ** 2)) / ok.sum())
    depth = float(vm.depth_m(m_dt))
    depth_sig = float(vm.depth_sigma_m(m_dt, s_dt))
    m_r = float(np.mean(picks["ratio"][ok]))
    s_r = float(np.sqrt(np.sum(picks["ratio_sigma"][ok] ** 2)) / ok.sum())
    r0_all = float(np.mean(r0m[ok]))
    w_all = float(_weh_from_ratio(m_r, depth, vm, r0=r0_all, **kw))
    dwe = (float(_weh_from_ratio(m_r, depth, vm_d, r0=r0_all, **kw)) - w_all) / d_s
    d_m = 1e-3 * abs(m_r) + 1e-9
    dwr = (float(_weh_from_ratio(m_r + d_m, depth, vm, r0=r0_all, **kw)) - w_all) / d_m
    # the model term as for the windows (systematic: it does not average down over the windows)
    w_pred_all = float(_weh_from_ratio(m_r, depth, vm, **kw))
    dw_rho_all = (float(_weh_from_ratio(m_r, depth, vm, r0=r0_all, d_rho=s_rho, **kw)) - w_all) if s_rho else 0.0
    w_sig = float(np.sqrt((dwe * vm.scale_sigma) ** 2 + (dwr * s_r) ** 2 + (w_pred_all - w_all) ** 2
                          + dw_rho_all ** 2))
    return ok, depth, depth_sig, w_all, w_sig, depth


def retrieve(rg: Radargram, *, window_traces: int = 20, radius_m: float | None = 0.0, eps_prior=EPS_PRIOR,
             feo_tio2_wt_pct: float = 6.0, max_fits: int = 60, snr: float = 5.0, ice: str = "same-bulk",
             aperture_m: float = 0.6, shallow: bool = True, weh_above_wt_pct: float = 0.0) -> IceRetrieval:
    """Full chain: dewow, time-zero, velocity analysis, ice-table picking, depth and WEH with 1-sigma errors.

    ``radius_m=None`` fits each diffractor's radius and cross-track offset (rocks of unknown size
    and position; see :func:`fit_hyperbola`). ``ice`` states how ice sits below the table:
    ``"same-bulk"`` keeps the bulk density of the layer above (the
    :func:`lupex.subsurface.two_layer_column` convention), ``"pores"`` fills the pores of the
    same dry matrix, so the bulk density rises (the ground truth's convention,
    :func:`lupex.subsurface.regolith.bulk_density_with_ice_kg_m3`; see :func:`weh_from_contrast`).
    ``weh_above_wt_pct`` (with ``"pores"``) is the hydrogen of the layer above the table (e.g. the
    site's background), which the contrast does not see.
    The two differ by a factor ~2 in WEH for the same reflection: with the same bulk density the
    ice replaces grain mass, which cancels about half of its effect on eps'. Where no hyperbola
    is usable, eps' falls back to ``eps_prior`` and ``eps_source`` says ``"prior"``.

    ``eps_prior`` is a (mean, sigma) pair of a constant eps', or a
    :class:`lupex.instruments.gpr_velocity.VelocityModel` (e.g.
    ``VelocityModel.prior("carrier")``: eps'(z) of the Carrier density profile, whose scale the
    hyperbola fits then measure); depths and WEH are read through it, and ``eps_top`` reports the
    time-averaged eps' above the median ice table. ``shallow=True`` (default) subtracts the echoes
    of dry ground on that model before picking and corrects the picks' time and amplitude biases
    with the same synthetic echoes (:func:`pick_ice_table`); ``False`` is the plain picker, which
    searches from 2.2 wavelet periods below the surface echo.

    Parameters
    ----------
    rg : Radargram
        The B-scan and its radar settings.
    window_traces : int
        Traces stacked per ice-table window.
    radius_m : float, optional
        Diffractor radius, m; None fits it.
    eps_prior : tuple of float or VelocityModel
        eps' where no hyperbola is usable.
    feo_tio2_wt_pct : float
        FeO + TiO2 of the regolith, wt% (its loss).
    max_fits : int
        Diffraction candidates tried.
    snr : float
        Detection and pick threshold over the noise.
    ice : str
        ``"same-bulk"`` or ``"pores"``.
    aperture_m : float
        Half width of the picked hyperbola arms, m.
    shallow : bool
        Subtract the dry-ground echoes before picking.
    weh_above_wt_pct : float
        WEH of the layer above the table, wt% (with ``"pores"``).
    """
    cfg = rg.config
    _check_retrieve_args(cfg, ice, weh_above_wt_pct)
    data, t_ant = preprocess(rg)
    fits, vm, picks = _velocity_and_picks(rg, data, t_ant, window_traces=window_traces, radius_m=radius_m,
                                          eps_prior=eps_prior, max_fits=max_fits, snr=snr, aperture_m=aperture_m,
                                          shallow=shallow)
    kw = dict(h=cfg.antenna_height_m, f_c=cfg.centre_frequency_hz, spreading=cfg.spreading,
              feo_tio2_wt_pct=feo_tio2_wt_pct, rule=cfg.mixing_rule, ice=ice, weh_above=weh_above_wt_pct)
    z, sz, weh, sweh = _window_weh(picks, vm, kw)
    centres = np.interp(picks["window_centres_index"], np.arange(len(rg.positions_m)), rg.positions_m)
    ok, depth, depth_sig, w_all, w_sig, z_ref = _traverse_weh(picks, vm, z, kw)
    # eps' reported for the top layer: the time average above the (median) table; its sigma scales with it
    eps = float(vm.mean_eps(z_ref))
    eps_sig = eps * vm.scale_sigma / vm.scale
    return IceRetrieval(eps, eps_sig, vm.source, tuple(fits), centres, z, sz, weh, sweh, depth, depth_sig, w_all, w_sig,
                        meta=dict(t_antenna_s=t_ant, n_windows=int(ok.size), n_used=int(ok.sum()),
                                  search_from_periods=float(picks["search_from_s"] * cfg.centre_frequency_hz)),
                        velocity_model=vm)


def min_pick_depth_m(eps_top: float, centre_frequency_hz: float, periods: float = 2.0) -> float:
    """Shallowest ice table the retrieval accepts, m.

    That is ``periods`` wavelet periods of two-way time below the surface echo at velocity c/sqrt(eps_top)
    (the picker searches from 2.2 periods down).
    """
    return float(C_M_S / np.sqrt(check_permittivity(eps_top)) * periods / centre_frequency_hz / 2)


def drop_surface_picks(res: IceRetrieval, centre_frequency_hz: float, periods: float | None = None) -> IceRetrieval:
    """Treat picks shallower than :func:`min_pick_depth_m` as no pick (NaN).

    Without an ice reflection the picker still returns the largest amplitude in its search
    window, which then sits at the window's top edge on the tail of the surface echo (and of
    the near-surface density gradient of the regolith): a depth that is the same everywhere and
    carries no information about ice. ``meta`` gains ``min_depth_m`` and
    ``n_surface_picks_dropped``. ``periods=None`` takes the retrieval's own search start
    (``meta["search_from_periods"]``: 0.8 periods where the dry ground's echoes were subtracted
    first, see :func:`pick_ice_table`), at most 2.
    """
    if periods is None:
        periods = min(2.0, res.meta.get("search_from_periods", 2.0))
    if res.velocity_model is None:
        z_min = min_pick_depth_m(res.eps_top, centre_frequency_hz, periods)
    else:
        z_min = float(res.velocity_model.depth_m(periods / centre_frequency_hz))
    bad = ~(res.ice_depth_m >= z_min)
    nan = np.where(bad, np.nan, 1.0)
    meta = dict(res.meta, min_depth_m=z_min, n_surface_picks_dropped=int(np.sum(bad & np.isfinite(res.ice_depth_m))))
    return dataclasses.replace(res, ice_depth_m=res.ice_depth_m * nan, ice_depth_sigma_m=res.ice_depth_sigma_m * nan,
                               weh_below_wt_pct=res.weh_below_wt_pct * nan,
                               weh_below_sigma_wt_pct=res.weh_below_sigma_wt_pct * nan, meta=meta)
