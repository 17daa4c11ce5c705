"""Neutron spectrometer (NS).

Thermal and epithermal count rates over hydrated regolith, counting along a rover track, and a Bayesian two-layer
retrieval.

What is modelled, and where each piece comes from
-------------------------------------------------
The NS is modelled on the NSS heritage (Resource Prospector / VIPER): two
3He tubes, one bare (Sn-wrapped) and one Cd-wrapped, giving an epithermal
(>0.5 eV) and a thermal (<0.5 eV, bare minus Cd) channel (docs/REFERENCES.md#nss,
"NS"). Fast neutrons are not modelled: at rover scale they respond mostly to
mean atomic mass and Fe/Ti, only weakly to hydrogen.

1. Response: every count ratio (relative to dry regolith of the reference
   composition) comes from lupex's own Monte Carlo neutron transport
   (:mod:`lupex.instruments.neutron_transport`: Sears 1992 cross sections,
   n-p effective-range scattering, free-gas thermalisation, 1/v absorption,
   evaporation source) tabulated by :mod:`lupex.instruments.neutron_calibration`
   into ``data/neutron_response.npz``: ratios for a top layer of WEH W_top
   (0-3 wt%) and areal mass m (0-340 g/cm^2) over a half-space of WEH W_bot
   (0-100 wt%), for FeO+TiO2 = 6 wt%, 150 K. The one source constant the
   literature leaves open (the build-up length of the cosmic-ray production
   profile, 39.9 g/cm^2: production peaks at ~64 g/cm^2 and falls off with
   Lal's 160 g/cm^2) is fitted to the NSS team's published uniform-WEH
   calibration (vipersci.nss.uniform_weh, WEH = [0.0256 (C0/C - 1)]^1.099),
   which the table then reproduces within 1 point of deficit over
   0.25-4 wt% (2.1 points at 8 wt%, 2.7 at 10 wt%: fewer counts than NSS's
   curve with more hydrogen). Everything else -- the thermal curve, the depth dependence,
   the wet-over-dry enhancement, the composition factors -- is the transport
   physics, checked in docs/VALIDATION.md against Lunar Prospector's polar
   depressions (Feldman et al. 1998, read by Lawrence et al. 2006 as 100-150
   ppm H under 10 +- 5 cm), Lawrence et al. 2011's wet-over-dry sign change
   (~30 g/cm^2), Voss 1969's laboratory thermal slope and Lunar Prospector's
   highland/mare thermal contrast.

   Between table points: for each W_top, the points are smoothed on the grid
   (ln(1 + W_bot / 0.5 wt%), ln(1 + m / 20 g/cm^2)) by a weighted
   second-difference penalty (Whittaker-Eilers, :func:`smooth_grid`; the
   weighted residuals sum to 0.3 per point, 0.55 sigma rms, < 2.3 sigma
   everywhere; the m = 0 column, homogeneous W_bot ground, is shared by all
   W_top), then interpolated by a bicubic spline in (ln(1 + W_bot / 0.5), m);
   linear across ln(1 + W_top / 0.1 wt%). Below 340 g/cm^2 of top
   layer the bottom's influence is taken to fade as exp(-(m - 340)/100 g/cm^2)
   towards homogeneous W_top ground.

2. Composition: dry regolith's rates relative to the reference composition,
   tabulated from the same Monte Carlo along the Apollo 16 - Apollo 11 soil
   line (Lunar Sourcebook Table 7.15), FeO+TiO2 0-30 wt%, and applied as a
   factor (its separability from the hydrogen response is tested against the
   Monte Carlo on mare ground).

   Temperature: the table is at 150 K; the same Monte Carlo gives the rates of
   homogeneous ground (0-30 wt%) at 40-350 K over its rates at 150 K. Thermal
   neutrons come into equilibrium with the ground's free-gas motion, so colder
   ground holds slower neutrons, which the 1/v absorbers capture more often
   before they escape: the thermal rate rises with temperature (dry ground
   -7 % at 40 K, +8 % at 350 K; 3 wt% ground -24 % at 40 K, +24 % at 350 K),
   the epithermal one moves by less than 2 % (a ~1 % rise from 40 to 350 K:
   hydrogen's free-gas cross section near the 0.5 eV cut-off). The factors
   are smoothed like the table (residuals < 1.8 sigma). Layered ground takes the factor of the homogeneous
   ground with the same epithermal ratio (its effective WEH; checked against
   the Monte Carlo on two-layer ground at 60 K), at the mass-weighted mean
   temperature of its top 30 g/cm^2 (an assumption: about where escaping
   neutrons last scattered; Lunar Prospector's epithermal counts follow the
   temperature of the top ~20 cm, arXiv:1501.05712, i.e. 30 g/cm^2 at
   1.5 g/cm^3). Below 40 K and above 350 K the end
   values are held.

3. Layered columns (the ground truth's): reduced to the two-layer table by
   taking the interface where WEH changes by more than half its range, and
   the mass-weighted mean WEH above it and over the 300 g/cm^2 below it;
   exact for two-layer columns, checked against the Monte Carlo on a graded
   column.

4. Absolute rates: 30.75 counts/s epithermal over dry regolith, the NSS
   calibration's C0 (Lunar Prospector-era cosmic-ray conditions, 1998/99);
   thermal = that times the table's thermal/epithermal ratio of the reference
   ground (identical tubes, 10 atm 5 cm stand-in; Detector in
   neutron_transport).

5. Footprint: an omnidirectional detector at height h over flat ground sees a
   ground element at horizontal distance r with weight
   (1 + beta) h^(1+beta) / (2 pi (r^2 + h^2)^((3+beta)/2)) when the leakage
   radiance goes as cos^beta of the emission angle. The Monte Carlo's
   escaping neutrons give beta = 0.39 in both channels (fitted over cos 0.1-1;
   Chandrasekhar's H function for a conservatively scattering half-space,
   the diffusion limit, gives 0.37 over the same range; tests), far less
   beamed than the cosine law (beta = 1) of the SNAP model (Lawrence et al.
   2010, Astrobiology 10:183) this model used before. The along-track
   marginal is K(x) ~ (x^2 + h^2)^(-(2+beta)/2), its CDF
   1/2 + sign(x)/2 I_{sin^2 phi}(1/2, (1+beta)/2) (tan phi = x/h, I the
   regularised incomplete beta function), its FWHM
   2 h sqrt(2^(2/(2+beta)) - 1) = 1.77 h: a 1 m FWHM means h = 0.56 m.

6. Systematics: a fractional uncertainty f (default 2 %, inside the 1-3 %
   floor in docs/REFERENCES.md#nss) on each channel's dry reference rate.

Layout: items 1-5 (parameters, response curves, footprint and track counts) are
:mod:`lupex.instruments.neutron_forward`; this module holds the Bayesian two-layer
retrieval and the detection limit, and re-exports the forward model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lupex.errors import InputError
from lupex.instruments.neutron_forward import (  # noqa: F401  (moved there; still importable from here)
    BEAMING_EXPONENT,
    COLUMN_BELOW_G_CM2,
    NSS_C0_CPS,
    WEH_ROUNDING_WT_PCT,
    NeutronParams,
    NeutronResponseParams,
    _counts,
    _increasing,
    _nonneg,
    _weh,
    _weighted_mean,
    column_ratios,
    composition_factors,
    epithermal_ratio,
    equivalent_two_layer,
    expected_rates_cps,
    footprint_cdf,
    footprint_kernel,
    fwhm_per_height,
    sampling_temperature_k,
    simulate_track_counts,
    smoothed_rates,
    thermal_composition_factor,
    thermal_ratio,
    two_layer_ratios,
)
from lupex.instruments.neutron_table import (  # noqa: F401  (moved there; still importable from here)
    BUILTIN_TABLE,
    M_AXIS_G_CM2,
    M_FADE_G_CM2,
    SMOOTHING,
    TEMPERATURE_DEPTH_G_CM2,
    TEMPERATURE_RANGE_K,
    W_BOT_SCALE,
    W_TOP_SCALE,
    ResponseTable,
    load_table,
    smooth_grid,
)

# ------------------------------------------------------------------ retrieval

@dataclass(frozen=True)
class TwoLayerPosterior:
    """Grid posterior over (WEH of the wet layer, thickness of the dry layer above it).

    Arrays carry a leading segment axis. ``*_ci68`` and ``*_ci95`` are
    equal-tailed credible intervals, shape (nseg, 2).
    """

    weh_grid_wt_pct: np.ndarray
    depth_grid_m: np.ndarray
    posterior: np.ndarray          # (nseg, nweh, ndepth), sums to 1 per segment
    weh_mean_wt_pct: np.ndarray
    weh_ci68_wt_pct: np.ndarray
    weh_ci95_wt_pct: np.ndarray
    depth_mean_m: np.ndarray
    depth_ci68_m: np.ndarray
    depth_ci95_m: np.ndarray


def _grid_quantiles(grid, mass, qs):
    """Quantiles of a distribution given as masses on uniform cells centred on ``grid``."""
    d = grid[1] - grid[0]
    edges = np.concatenate([[grid[0] - d / 2], grid + d / 2])
    cdf = np.concatenate([np.zeros((mass.shape[0], 1)), np.cumsum(mass, axis=1)], axis=1)
    cdf /= cdf[:, -1:]
    out = np.empty((mass.shape[0], len(qs)))
    for i in range(mass.shape[0]):
        c, keep = np.unique(cdf[i], return_index=True)
        out[i] = np.interp(qs, c, edges[keep])
    return out


def _two_layer_inputs(epi_counts, th_counts, live_time_s, weh_top_wt_pct, weh_max_wt_pct, depth_max_m,
                      systematic_frac, default_systematic_frac):
    """Checked counts (1-D), live times (s) and gain systematic (fraction) of :func:`retrieve_two_layer`."""
    n_e = np.atleast_1d(_counts(epi_counts, "epi_counts"))
    n_t = np.atleast_1d(_counts(th_counts, "th_counts"))
    tl = np.broadcast_to(np.atleast_1d(np.asarray(live_time_s, float)), n_e.shape)
    if n_e.shape != n_t.shape or n_e.ndim != 1:
        raise InputError("epi_counts and th_counts must be scalars or 1-D arrays of equal length")
    if not np.all(np.isfinite(tl)) or np.any(tl <= 0):
        raise InputError("live_time_s must be positive and finite")
    _weh(weh_top_wt_pct, "weh_top_wt_pct")
    _weh(weh_max_wt_pct, "weh_max_wt_pct")
    if weh_max_wt_pct <= 0 or depth_max_m <= 0:
        raise InputError("weh_max_wt_pct and depth_max_m must be positive")
    f = default_systematic_frac if systematic_frac is None else float(systematic_frac)
    if not 0.0 <= f < 0.3:
        raise InputError("systematic_frac must be in [0, 0.3)")
    return n_e, n_t, tl, f


def _window_temperatures_k(temperature_k, shape):
    """Temperature (K) per segment rounded to 0.1 K, NaN where the table's own 150 K applies."""
    if temperature_k is None:
        return np.full(shape, np.nan)
    temps = np.broadcast_to(np.atleast_1d(np.asarray(temperature_k, float)), shape)
    if not np.all(np.isfinite(temps)):
        raise InputError("temperature_k must be finite (K), one value or one per segment")
    return np.round(temps, 1)           # windows 0.1 K apart share one model grid


def _gain_quadrature(f: float, n_gain_nodes: int):
    """Gauss-Hermite gains ~ Normal(1, f) and their log weights (one node of gain 1 when f = 0)."""
    if f > 0:
        xk, wk = np.polynomial.hermite_e.hermegauss(n_gain_nodes)
        return np.clip(1.0 + f * xk, 1e-3, None), np.log(wk / wk.sum())
    return np.ones(1), np.zeros(1)


def _log_weh_prior(weh_prior: str, wg, n_depth: int):
    """Log prior over the flattened (WEH, depth) grid: uniform or log-uniform in WEH, uniform in depth."""
    if weh_prior == "uniform":
        return np.zeros(wg.size * n_depth)
    if weh_prior == "log-uniform":
        return np.repeat(-np.log(wg), n_depth)
    raise InputError(f"weh_prior must be 'uniform' or 'log-uniform', got {weh_prior!r}")


def _grid_posterior(n_e, n_t, tl, temps, means, gains, logw, log_prior, chunk):
    """Normalised posterior (segments, grid cells) of Poisson counts with the gain marginalised."""
    post = np.empty((n_e.size, log_prior.size))
    keys = np.where(np.isnan(temps), -1.0, temps)
    for key in np.unique(keys):
        idx = np.flatnonzero(keys == key)
        mu_e, mu_t = means(np.nan if key < 0 else key)
        for i0 in range(0, idx.size, chunk):
            sl = idx[i0:i0 + chunk]
            ll = np.zeros((sl.size, mu_e.size))
            for n, mu in ((n_e[sl], mu_e), (n_t[sl], mu_t)):
                lam = tl[sl, None] * mu[None, :]
                terms = [logw[k] + n[:, None] * np.log(g * lam) - g * lam for k, g in enumerate(gains)]
                ll += np.logaddexp.reduce(np.stack(terms), axis=0)
            ll += log_prior[None, :]
            ll -= ll.max(axis=1, keepdims=True)
            p = np.exp(ll)
            post[sl] = p / p.sum(axis=1, keepdims=True)
    return post


def retrieve_two_layer(epi_counts, th_counts, live_time_s, *,
                       ns: NeutronParams = NeutronParams(),
                       feo_tio2_wt_pct: float = 6.0, density_kg_m3: float = 1500.0,
                       weh_top_wt_pct: float = 0.0, weh_max_wt_pct: float = 20.0,
                       depth_max_m: float = 1.2, n_weh: int = 161, n_depth: int = 121,
                       systematic_frac: float | None = None, n_gain_nodes: int = 7,
                       chunk: int = 64, weh_prior: str = "uniform", temperature_k=None) -> TwoLayerPosterior:
    """Bayesian fit of wet-layer WEH and dry-overburden thickness from counts.

    Model: a layer of ``weh_top_wt_pct`` (default dry) and thickness d over a
    half-space of WEH W, bulk density and composition known. Prior: in d
    uniform on [0, depth_max_m]; in W uniform on [0, weh_max_wt_pct]
    (``weh_prior="uniform"``) or log-uniform, 1/W per grid cell
    (``"log-uniform"``: Jeffreys' scale-invariant prior for a positive
    quantity whose order of magnitude is unknown, Jeffreys 1961, Theory of
    Probability, 3rd ed., sec. 3.1), independent of d. Along the WEH-burial
    degeneracy (a thick dry layer over much water counts like a thin one over
    little) the uniform prior's volume at high W pulls the marginal upwards:
    over the synthetic site's ice (true WEH 0.5-5 wt%) its 95% intervals
    covered 61-88% of windows, the log-uniform prior's 94-100%
    (benchmarks/bench_survey.py ground, 81 windows).
    Likelihood: Poisson counts in each channel, each channel's rate scaled by
    an unknown gain ~ Normal(1, systematic_frac) marginalised by Gauss-Hermite
    quadrature (the 1-3 % systematics floor). The posterior is evaluated
    exactly on the grid (cell centres). Counts may be scalars or 1-D arrays
    (one entry per segment) with matching ``live_time_s``. ``temperature_k``
    (scalar or one per segment; None: the table's 150 K) is the regolith
    temperature the model assumes, known from the site's thermal model, not
    fitted: a colder ground lowers the thermal rate (module docstring item 2).

    Parameters
    ----------
    epi_counts : float or array_like, shape (nseg,)
        Epithermal (Cd-tube) counts per segment, whole numbers >= 0.
    th_counts : float or array_like, shape (nseg,)
        Thermal (bare minus Cd) counts per segment, whole numbers >= 0, same shape as ``epi_counts``.
    live_time_s : float or array_like, shape (nseg,)
        Counting time of each segment, s, > 0; a scalar applies to every segment.
    ns : NeutronParams
        Instrument: dry reference rates (counts/s), response table, default gain systematic.
    feo_tio2_wt_pct : float
        FeO+TiO2 of the regolith, wt%; scales both channels by :func:`composition_factors` (module docstring
        item 2).
    density_kg_m3 : float
        Bulk density of the dry layer, kg/m^3; turns its thickness into areal mass (g/cm^2 = thickness in m x
        density / 10).
    weh_top_wt_pct : float
        WEH of the top (overburden) layer, wt%, known, not fitted.
    weh_max_wt_pct : float
        Upper end of the WEH grid and prior, wt%, > 0.
    depth_max_m : float
        Upper end of the overburden-thickness grid and prior, m, > 0.
    n_weh, n_depth : int
        Number of grid cells in WEH and in thickness (cell centres are the grid points).
    systematic_frac : float or None
        1-sigma fractional gain uncertainty of each channel, in [0, 0.3); None: ``ns.systematic_frac``.
    n_gain_nodes : int
        Gauss-Hermite nodes of the gain marginalisation (probabilists' Hermite, ``hermegauss``).
    chunk : int
        Segments evaluated together (bounds memory: chunk x n_weh x n_depth floats per channel).
    weh_prior : {"uniform", "log-uniform"}
        Prior in WEH (see above).
    temperature_k : float, array_like of shape (nseg,), or None
        Regolith temperature the model assumes, K (rounded to 0.1 K); None: the table's 150 K.

    Returns
    -------
    TwoLayerPosterior
        Grid posterior, shape (nseg, n_weh, n_depth), its marginal means and 68 %/95 % equal-tailed intervals
        of WEH (wt%) and thickness (m).
    """
    n_e, n_t, tl, f = _two_layer_inputs(epi_counts, th_counts, live_time_s, weh_top_wt_pct, weh_max_wt_pct,
                                        depth_max_m, systematic_frac, ns.systematic_frac)
    dw, dd = weh_max_wt_pct / n_weh, depth_max_m / n_depth
    wg = (np.arange(n_weh) + 0.5) * dw
    dg = (np.arange(n_depth) + 0.5) * dd
    m = _nonneg(dg * density_kg_m3 * 0.1, "top_g_cm2")            # g/cm^2
    temps = _window_temperatures_k(temperature_k, n_e.shape)
    # the ratios at the reference composition and 150 K once; each window temperature moves them (retrieval
    # grids share these, so they are not re-evaluated per temperature)
    table = ns.response.load()
    epi0, th0 = table.ratios(weh_top_wt_pct, wg[:, None], m[None, :])
    ce, ct = composition_factors(feo_tio2_wt_pct, ns.reference_feo_tio2_wt_pct, ns.response)

    def means(temp):
        e, t = (epi0, th0) if np.isnan(temp) else table.at_temperature(epi0, th0, temp)
        return (e * ce * ns.epi_dry_rate_cps).ravel(), (t * ct * ns.th_dry_rate_cps).ravel()

    gains, logw = _gain_quadrature(f, n_gain_nodes)
    log_prior = _log_weh_prior(weh_prior, wg, n_depth)
    post = _grid_posterior(n_e, n_t, tl, temps, means, gains, logw, log_prior, chunk)
    post = post.reshape(n_e.size, n_weh, n_depth)
    pw, pd = post.sum(axis=2), post.sum(axis=1)
    qs = [0.16, 0.84, 0.025, 0.975]
    qw, qd = _grid_quantiles(wg, pw, qs), _grid_quantiles(dg, pd, qs)
    return TwoLayerPosterior(wg, dg, post, pw @ wg, qw[:, :2], qw[:, 2:], pd @ dg, qd[:, :2], qd[:, 2:])


def segment_counts(counts, t_edges_s, window_s):
    """Sum per-sample counts into consecutive windows of ``window_s``.

    Returns (summed counts, live time per window, window start times). A
    trailing partial window is kept with its own (shorter) live time.
    """
    t = _increasing(t_edges_s, "t_edges_s")
    c = _counts(counts, "counts")
    if c.shape != (t.size - 1,):
        raise InputError("counts need one value per sample (len(t_edges_s) - 1)")
    if not window_s > 0:
        raise InputError("window_s must be positive")
    k = np.floor((t[:-1] - t[0]) / window_s).astype(int)
    nseg = k[-1] + 1
    sums = np.bincount(k, weights=c, minlength=nseg)
    live = np.bincount(k, weights=np.diff(t), minlength=nseg)
    keep = live > 0
    return sums[keep], live[keep], t[0] + window_s * np.arange(nseg)[keep]


# ------------------------------------------------------------ detection limit

def detection_time_s(weh_wt_pct, k_sigma=3.0, ns: NeutronParams = NeutronParams(),
                     systematic_frac: float | None = None):
    """Stop time for the epithermal deficit of homogeneous ``weh_wt_pct`` to reach k sigma.

    Statistic D = R0 t - N, with N ~ Poisson(C_w t) and the dry reference R0
    known to a fraction f: Var D = C_w t + (f C0 t)^2. Setting D = k sigma_D:
    t = k^2 C_w / (dC^2 - k^2 f^2 C0^2); infinite when dC <= k f C0 (the
    systematics floor hides the signal however long one counts).

    Parameters
    ----------
    weh_wt_pct : float or array_like
        Homogeneous WEH of the ground, wt% in [0, 100].
    k_sigma : float
        Detection threshold k, in standard deviations of D.
    ns : NeutronParams
        Instrument: dry epithermal rate C0 (counts/s), response table, default systematic f.
    systematic_frac : float or None
        Fractional uncertainty f of the dry reference rate; None: ``ns.systematic_frac``.

    Returns
    -------
    numpy.ndarray
        Counting time t, s, shape of ``weh_wt_pct`` (0-d for a scalar); inf where the floor hides the deficit.
    """
    w = _weh(weh_wt_pct)
    f = ns.systematic_frac if systematic_frac is None else systematic_frac
    c0 = ns.epi_dry_rate_cps
    cw = c0 * epithermal_ratio(w, ns.response)
    den = (c0 - cw) ** 2 - (k_sigma * f * c0) ** 2
    with np.errstate(divide="ignore"):
        return np.where(den > 0, k_sigma ** 2 * cw / np.where(den > 0, den, 1.0), np.inf)


def detection_limit_wt_pct(integration_s, k_sigma=3.0, ns: NeutronParams = NeutronParams(),
                           systematic_frac: float | None = None):
    """Smallest homogeneous WEH (wt%) detected at k sigma in ``integration_s``.

    The inverse of :func:`detection_time_s`, by bisection (the time is monotone in WEH).

    Parameters
    ----------
    integration_s : float or array_like
        Counting time, s, positive and finite.
    k_sigma : float
        Detection threshold, in standard deviations of the deficit statistic.
    ns : NeutronParams
        Instrument: dry epithermal rate (counts/s), response table, default systematic.
    systematic_frac : float or None
        Fractional uncertainty of the dry reference rate; None: ``ns.systematic_frac``.

    Returns
    -------
    float or numpy.ndarray
        WEH, wt% (to 100 / 2^60), a float for a scalar ``integration_s``, else its shape; inf where even
        100 wt% is not detected in that time.
    """
    t = np.atleast_1d(np.asarray(integration_s, float))
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise InputError("integration_s must be positive and finite")
    lo = np.zeros_like(t)
    hi = np.full_like(t, 100.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        ok = detection_time_s(mid, k_sigma, ns, systematic_frac) <= t
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    out = np.where(detection_time_s(100.0, k_sigma, ns, systematic_frac) <= t, hi, np.inf)
    return out if np.ndim(integration_s) else float(out[0])
