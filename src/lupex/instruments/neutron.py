"""Neutron spectrometer (NS): thermal and epithermal count rates over hydrated
regolith, counting along a rover track, and a Bayesian two-layer retrieval.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betainc, gamma

from lupex.errors import ConfigError, InputError
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
from lupex.params import check_non_negative, check_positive, check_range, check_rng, param

# leakage radiance ~ cos^beta(theta): the Monte Carlo's escaping neutrons (both channels), fitted over
# cos theta 0.1-1 (module docstring item 5)
BEAMING_EXPONENT = 0.39
NSS_C0_CPS = 30.75          # vipersci.nss.uniform_weh: dry epithermal rate, Lunar Prospector-era conditions


@dataclass(frozen=True)
class NeutronResponseParams:
    """Where the response functions come from (module docstring, items 1-2)."""

    table: str = param("builtin", "-", "neutron response table: 'builtin' (the package's Monte Carlo table) or the "
                       "path of a .npz written by python -m lupex.instruments.neutron_calibration",
                       "lupex Monte Carlo transport, source build-up fitted to the NSS calibration (module docstring "
                       "item 1)")

    def __post_init__(self):
        if not isinstance(self.table, str) or not self.table:
            raise ConfigError(f"NeutronResponseParams.table must be 'builtin' or a path, got {self.table!r}")
        if self.table != "builtin":
            try:
                load_table(self.table)          # fail early, naming the key
            except ConfigError as e:
                raise ConfigError(f"NeutronResponseParams.table: {e}") from None

    def load(self) -> ResponseTable:
        return load_table(self.table)


@dataclass(frozen=True)
class NeutronParams:
    """Instrument parameters; the thermal rate follows from the epithermal one and the response table."""

    epi_dry_rate_cps: float = param(NSS_C0_CPS, "counts/s", "epithermal count rate over dry regolith of the "
                                    "reference composition at rover height",
                                    "C0 of the NSS team's uniform-WEH calibration (vipersci.nss.uniform_weh), Lunar "
                                    "Prospector-era cosmic rays (module docstring item 4)")
    reference_feo_tio2_wt_pct: float = param(6.0, "wt%", "FeO+TiO2 of the dry reference regolith of the rates",
                                             "the response table's reference composition: polar highland regolith")
    footprint_fwhm_m: float = param(1.0, "m", "FWHM of the along-track footprint (with the default beaming it is 1.77 "
                                    "times the detector height)", "~1 m for the NSS (docs/REFERENCES.md#nss), item 5")
    beaming_exponent: float = param(BEAMING_EXPONENT, "-", "leakage radiance ~ cos^beta of the emission angle: "
                                    "0 isotropic, 1 the cosine law", "lupex Monte Carlo leakage (both channels), as "
                                    "Chandrasekhar's H function for a diffusing half-space predicts; item 5")
    systematic_frac: float = param(0.02, "fraction", "1-sigma fractional uncertainty of each channel's dry reference rate",
                                   "the 1-3 % systematics floor (docs/REFERENCES.md#nss), item 6")
    response: NeutronResponseParams = param(unit="-", help="response-function table", source="module docstring",
                                      factory=NeutronResponseParams)

    def __post_init__(self):
        check_positive(self, "epi_dry_rate_cps", "footprint_fwhm_m")
        check_non_negative(self, "reference_feo_tio2_wt_pct")
        check_range(self, "beaming_exponent", 0.0, 3.0)
        check_range(self, "reference_feo_tio2_wt_pct", 0.0, 40.0)
        check_range(self, "systematic_frac", 0.0, 0.3, hi_open=True)
        if not isinstance(self.response, NeutronResponseParams):
            raise ConfigError(f"NeutronParams.response must be a NeutronResponseParams, got {self.response!r}")

    @property
    def height_m(self) -> float:
        return self.footprint_fwhm_m / fwhm_per_height(self.beaming_exponent)

    @property
    def th_dry_rate_cps(self) -> float:
        """Thermal (bare minus Cd tube) rate over dry reference regolith: the epithermal rate times the
        Monte Carlo thermal/epithermal ratio (item 4)."""
        return self.epi_dry_rate_cps * self.response.load().thermal_over_epithermal


# ----------------------------------------------------------------- validation

# water contents this far outside [0, 100] wt% are rounding of arithmetic on valid values (a weighted mean of
# 100s comes out 100.00000000000001) and are clipped; anything further out is refused
WEH_ROUNDING_WT_PCT = 1e-9


def _weh(w, name="weh_wt_pct"):
    w = np.asarray(w, dtype=float)
    if not np.all(np.isfinite(w)):
        raise InputError(f"{name} contains NaN or infinite values; give water content in wt% WEH")
    tol = WEH_ROUNDING_WT_PCT
    if np.any(w < -tol) or np.any(w > 100.0 + tol):
        raise InputError(f"{name} must be within [0, 100] wt% WEH, got {w.min()!r}..{w.max()!r}")
    return np.clip(w, 0.0, 100.0)


def _weighted_mean(values, weights) -> float:
    """Weighted mean, kept inside [min, max] of ``values`` (where it lies exactly; the float sum can round
    a mean of equal values just outside)."""
    return float(np.clip(np.average(values, weights=weights), values.min(), values.max()))


def _nonneg(x, name):
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name} contains NaN or infinite values")
    if np.any(x < 0):
        raise InputError(f"{name} must be non-negative")
    return x


def _counts(n, name):
    n = _nonneg(n, name)
    if np.any(n != np.round(n)):
        raise InputError(f"{name} must be whole numbers of counts")
    return n


def _increasing(t, name):
    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or t.size < 2:
        raise InputError(f"{name} must be a 1-D array with at least two values")
    if not np.all(np.isfinite(t)):
        raise InputError(f"{name} contains NaN or infinite values")
    if np.any(np.diff(t) <= 0):
        raise InputError(f"{name} must increase strictly; sort the samples or drop duplicates")
    return t


# ------------------------------------------------------------ response curves

def epithermal_ratio(weh_wt_pct, response: NeutronResponseParams = NeutronResponseParams()):
    """Epithermal rate over homogeneous regolith relative to dry regolith (reference composition)."""
    w = _weh(weh_wt_pct)
    return response.load().ratios(0.0, w, 0.0)[0]


def composition_factors(feo_tio2_wt_pct, reference_wt_pct=6.0, response: NeutronResponseParams = NeutronResponseParams()):
    """(epithermal, thermal) rate of dry regolith of ``feo_tio2_wt_pct`` relative to ``reference_wt_pct``."""
    a = _nonneg(feo_tio2_wt_pct, "feo_tio2_wt_pct")
    ref = _nonneg(reference_wt_pct, "reference_wt_pct")
    t = response.load()
    ea, ta = t.composition(a)
    er, tr = t.composition(ref)
    return ea / er, ta / tr


def thermal_composition_factor(feo_tio2_wt_pct, reference_wt_pct=6.0,
                               response: NeutronResponseParams = NeutronResponseParams()):
    """Thermal rate of dry regolith relative to the reference composition."""
    return composition_factors(feo_tio2_wt_pct, reference_wt_pct, response)[1]


def thermal_ratio(weh_wt_pct, feo_tio2_wt_pct=6.0, reference_wt_pct=6.0,
                  response: NeutronResponseParams = NeutronResponseParams()):
    """Thermal rate over homogeneous regolith relative to dry reference regolith."""
    w = _weh(weh_wt_pct)
    return thermal_composition_factor(feo_tio2_wt_pct, reference_wt_pct, response) * response.load().ratios(0.0, w, 0.0)[1]


def two_layer_ratios(weh_top_wt_pct, weh_bottom_wt_pct, top_g_cm2, feo_tio2_wt_pct=6.0,
                     reference_wt_pct=6.0, response: NeutronResponseParams = NeutronResponseParams(), temperature_k=None):
    """(epithermal, thermal) ratios for a top layer of areal mass ``top_g_cm2``
    over a half-space; arrays broadcast. Dry-over-wet and wet-over-dry alike.
    ``temperature_k``: the regolith's temperature (None: the table's 150 K), applied as the factor of
    homogeneous ground of the same epithermal ratio (module docstring item 2)."""
    wt = _weh(weh_top_wt_pct, "weh_top_wt_pct")
    wb = _weh(weh_bottom_wt_pct, "weh_bottom_wt_pct")
    m = _nonneg(top_g_cm2, "top_g_cm2")
    ce, ct = composition_factors(feo_tio2_wt_pct, reference_wt_pct, response)
    table = response.load()
    epi, th = table.ratios(wt, wb, m)
    if temperature_k is not None:
        epi, th = table.at_temperature(epi, th, temperature_k)
    return epi * ce, th * ct


COLUMN_BELOW_G_CM2 = 300.0


def equivalent_two_layer(column):
    """(W_top, W_bottom, interface areal mass in g/cm^2) of a layered column (module docstring item 3)."""
    w = _weh(column.weh_wt_pct)
    rho = np.asarray(column.density_kg_m3, float)
    dm = rho * column.dz_m * 0.1                     # g/cm^2 per layer
    edges = np.concatenate([[0.0], np.cumsum(dm)])
    span = w.max() - w.min()
    if span <= 1e-9 * max(1.0, w.max()):
        return float(w[0]), float(w[0]), 0.0
    j = int(np.argmax(np.abs(w - w[0]) > 0.5 * span))
    top = _weighted_mean(w[:j], dm[:j]) if j > 0 else float(w[0])
    below = (edges[:-1] >= edges[j]) & (edges[:-1] < edges[j] + COLUMN_BELOW_G_CM2)
    bot = _weighted_mean(w[below], dm[below])
    return top, bot, float(edges[j])


def sampling_temperature_k(column) -> float:
    """Temperature the thermal neutrons of a column come into equilibrium with: its mass-weighted mean over
    the top :data:`TEMPERATURE_DEPTH_G_CM2` (the depth most escaping thermal neutrons last scattered in;
    an assumption, module docstring item 2)."""
    mass = np.asarray(column.density_kg_m3, float) * column.dz_m * 0.1        # g/cm^2 per layer
    above = np.cumsum(mass) - mass
    w = np.clip(TEMPERATURE_DEPTH_G_CM2 - above, 0.0, mass)
    if w.sum() <= 0:
        return float(column.temperature_k[0])
    return float(np.sum(w * column.temperature_k) / w.sum())


def column_ratios(column, reference_wt_pct=6.0, response: NeutronResponseParams = NeutronResponseParams()):
    """(epithermal, thermal) ratios for a :class:`lupex.subsurface.Column`, through its equivalent two-layer
    ground (:func:`equivalent_two_layer`) at its :func:`sampling_temperature_k`; the last layer is taken to
    extend downward."""
    top, bot, m = equivalent_two_layer(column)
    e, t = two_layer_ratios(top, bot, m, column.feo_tio2_wt_pct, reference_wt_pct, response,
                            temperature_k=sampling_temperature_k(column))
    return float(e), float(t)


def expected_rates_cps(column, ns: NeutronParams = NeutronParams()):
    """Expected (epithermal, thermal) count rates over a column, stationary rover."""
    e, t = column_ratios(column, ns.reference_feo_tio2_wt_pct, ns.response)
    return e * ns.epi_dry_rate_cps, t * ns.th_dry_rate_cps


# ------------------------------------------------------------------ footprint

def fwhm_per_height(beta: float = BEAMING_EXPONENT) -> float:
    """FWHM of the along-track kernel over the detector height: 2 sqrt(2^(2/(2+beta)) - 1)."""
    return 2.0 * float(np.sqrt(2.0 ** (2.0 / (2.0 + beta)) - 1.0))


def footprint_kernel(x_m, fwhm_m=1.0, beta: float = BEAMING_EXPONENT):
    """Along-track ground weight per metre at offset ``x_m`` (integrates to 1), radiance ~ cos^beta
    (module docstring item 5)."""
    h = fwhm_m / fwhm_per_height(beta)
    x = np.asarray(x_m, float)
    c = (1.0 + beta) * h ** (1.0 + beta) * gamma(1.0 + beta / 2.0) / (2.0 * np.sqrt(np.pi) * gamma((3.0 + beta) / 2.0))
    return c * (x * x + h * h) ** (-(2.0 + beta) / 2.0)


def footprint_cdf(x_m, fwhm_m=1.0, beta: float = BEAMING_EXPONENT):
    """Fraction of the along-track weight at offsets below ``x_m``:
    1/2 + sign(x)/2 I_{sin^2 phi}(1/2, (1 + beta)/2), tan phi = x / h."""
    h = fwhm_m / fwhm_per_height(beta)
    x = np.asarray(x_m, float)
    s2 = x * x / (x * x + h * h)
    return 0.5 + 0.5 * np.sign(x) * betainc(0.5, (1.0 + beta) / 2.0, s2)


def smoothed_rates(x_m, ground_edges_m, ground_rate_cps, fwhm_m=1.0, window_m=50.0,
                   beta: float = BEAMING_EXPONENT):
    """Footprint-weighted rate at detector positions ``x_m``.

    The ground is piecewise constant: cell j spans ``ground_edges_m[j:j+2]``
    with rate ``ground_rate_cps[j]``; it continues with the end values beyond
    the ends. Summation by parts gives rate(x) = r_0 + sum_k (r_k - r_{k-1})
    F(x - e_k), so only edges within ``window_m`` are evaluated; the
    truncation error is the kernel's tail beyond the window,
    ~ (h/window)^(1+beta) / ((1+beta) B(1/2, (1+beta)/2)): 6e-4 of a step at
    50 m for the default beaming and a 1 m FWHM.
    """
    x = np.asarray(x_m, float)
    e = _increasing(ground_edges_m, "ground_edges_m")
    r = np.asarray(ground_rate_cps, float)
    if r.shape != (e.size - 1,):
        raise InputError("ground_rate_cps needs one value per ground cell (len(edges) - 1)")
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise InputError("ground_rate_cps must be finite and non-negative")
    dr = np.diff(r)                                # jumps at interior edges e[1:-1]
    ek = e[1:-1]
    cum = np.concatenate([[0.0], np.cumsum(dr)])   # sum of jumps at edges < ek[i]
    lo = np.searchsorted(ek, x - window_m)         # edges far behind: F ~ 1
    hi = np.searchsorted(ek, x + window_m)
    out = r[0] + cum[lo]
    nmax = int(np.max(hi - lo)) if x.size else 0
    if nmax:
        idx = lo[:, None] + np.arange(nmax)[None, :]
        valid = idx < hi[:, None]
        idx = np.minimum(idx, ek.size - 1)
        f = footprint_cdf(x[:, None] - ek[idx], fwhm_m, beta)
        out = out + np.sum(np.where(valid, dr[idx] * f, 0.0), axis=1)
    return out


def simulate_track_counts(t_edges_s, rover_s_m, ground_edges_m, ground_epi_cps, ground_th_cps,
                          rng: np.random.Generator, fwhm_m=1.0, chunk=4096, beta: float = BEAMING_EXPONENT):
    """Poisson counts per sample while driving.

    ``t_edges_s`` (n+1) are the sample boundaries, ``rover_s_m`` (n+1) the
    along-track position at each boundary. The footprint-weighted rate is
    averaged over each sample by Simpson's rule (start, middle, end). Returns
    (epithermal counts, thermal counts, expected epithermal, expected thermal),
    each of length n.
    """
    t = _increasing(t_edges_s, "t_edges_s")
    s = np.asarray(rover_s_m, float)
    if s.shape != t.shape or not np.all(np.isfinite(s)):
        raise InputError("rover_s_m must be finite and have one position per time edge")
    check_rng(rng)
    dt = np.diff(t)
    mid = 0.5 * (s[:-1] + s[1:])
    means = []
    for rates in (ground_epi_cps, ground_th_cps):
        def f(x):
            return np.concatenate([smoothed_rates(x[i:i + chunk], ground_edges_m, rates, fwhm_m, beta=beta)
                                   for i in range(0, x.size, chunk)])
        at_edges = f(s)
        mean = (at_edges[:-1] + 4.0 * f(mid) + at_edges[1:]) / 6.0 * dt
        means.append(mean)
    return rng.poisson(means[0]), rng.poisson(means[1]), means[0], means[1]


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
    """Smallest homogeneous WEH detected at k sigma in ``integration_s`` (inverse of
    :func:`detection_time_s`, by bisection; the time is monotone in WEH)."""
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


# the names before the one naming rule for parameter classes (*Params), for code that uses them
NeutronSpectrometer = NeutronParams
NeutronResponse = NeutronResponseParams
