"""Neutron spectrometer (NS): thermal and epithermal count rates over hydrated
regolith, counting along a rover track, and a Bayesian two-layer retrieval.

What is modelled, and where each piece comes from
-------------------------------------------------
The NS is modelled on the NSS heritage (Resource Prospector / VIPER): two
3He tubes, one bare and one Cd-wrapped, giving an epithermal (>0.5 eV to
~500 keV) and a thermal (<0.5 eV) channel (REFERENCES.md, "NS"). Fast neutrons
are not modelled: at rover scale they respond mostly to mean atomic mass and
Fe/Ti, only weakly to hydrogen, and add nothing the two-layer fit needs.

1. Homogeneous epithermal response (relative to dry regolith)::

       R_epi(W) = 1 / (1 + a W**b),   a = 0.5915, b = 0.9099   (W in wt% WEH)

   which gives 0.932 at 0.1 wt%, 0.761 at 0.5 wt%, 0.628 at 1 wt%, 0.324 at
   4 wt%. Source: the NSS team's uniform-half-space calibration as published
   in NASA's VIPER science software (vipersci, ``vipersci.nss.uniform_weh``,
   NeoGeographyToolkit/vipersci on GitHub and PyPI): WEH fraction
   = [a' (C0/C - 1)]^b' with a' = 0.0256, b' = 1.0990, C0 = 30.75 for the
   Cd-shielded (epithermal) 3He tube under Lunar Prospector-era (1998/99)
   cosmic-ray conditions. Inverted and put in wt%: b = 1/b',
   a = 100^(-1/b') / a'. The saturating shape is that of the Monte Carlo
   epithermal-vs-hydrogen curves (Lawrence et al. 2006, JGR 111 E08001;
   Feldman et al. 2000, JGR 105 4175). It is a code-published calibration,
   not a figure or table of a paper (none with coefficients was available);
   the tests reproduce that source's own check values (C = 10 and 20 ->
   3.97 and 0.900 wt%). Peplowski et al. 2023 (NIMA 168063) calibrates the
   CLPS NSS and would replace it when its tables can be read.

   Checked against a published pair the constants were not set from: Lunar
   Prospector's polar epithermal depressions, 3.0 % (south) and 4.6 % (north)
   below the low-latitude average (Feldman et al. 1998, Science 281:1496),
   which Lawrence et al. 2006 interpret as 100-150 ppm H (0.09-0.135 wt% WEH,
   WEH = 9 H) under 10 +- 5 cm of dry soil. With item 3 this model gives
   4.2-5.9 % for that ground at 10 cm, 3.4-4.8 % at 15 cm: about 1.2 points
   deeper than LP at the central burial, inside the burial interval's spread.
   (The low-latitude reference itself holds ~50 ppm H, which our "dry"
   reference does not, so ours should come out somewhat deeper.) LEND's
   homogeneous calibration (Sanin et al. 2012, JGR 117 E00H26: ~2 % for
   ~125 ppm H) is 3.7x weaker than ours (7.5 %); the two orbital instruments
   disagree with each other by about as much, and this model follows the
   Lunar Prospector / NSS calibration.

2. Homogeneous thermal response, rising at small W (moderation) and falling at
   large W (capture on H)::

       R_th(W, A) = c(A) * (1 + p W) / (1 + q W)**2,   p = 0.5, q = 0.1
       c(A) = (1 + k A_ref) / (1 + k A),  k = 0.0286, A = FeO+TiO2 wt%

   Initial slope p - 2q = 0.3 per wt% (Voss 1969, Rice University thesis
   hdl 1911/90070: +4 % slow-neutron rate for +0.1 wt% water in basalt, i.e.
   ~0.4 per wt%, lab simulator), peak +56 % at 6 wt%, back to the dry value at
   30 wt%. k makes highland (A = 5) thermal rates ~1.5x mare (A = 25) rates,
   the order of the Lunar Prospector thermal highland/mare contrast (Feldman
   et al. 1998/2000 maps) -- an order-of-magnitude anchor, not a table value.

3. Depth: layers are weighted by their areal mass m (g/cm^2). Epithermal
   hydrogen sensitivity falls as exp(-m/lambda_e); the thermal one follows a
   gamma-2 kernel (m/lambda_t^2) exp(-m/lambda_t), i.e. peaks below the surface
   because thermal neutrons are made where the slowing-down happens and
   diffuse up. For a dry overburden m over wet ground of W:

       R_epi = 1 - s(W) exp(-m/lambda_e),   s = 1 - R_epi(W)
       R_th  = c(A) [1 + g(W) (1 + m/lambda_t) exp(-m/lambda_t)],  g = R_th/c - 1

   lambda_e = lambda_t = 45 g/cm^2 (~30 cm at 1.5 g/cm^3): "tens of g/cm^2",
   between the ~20 cm effective epithermal leakage depth measured from Lunar
   Prospector (arXiv:1501.05712, "The local-time variations of Lunar Prospector
   epithermal-neutron data") and the ~1 m sensing depth quoted for the NSS.
   The gamma-2 thermal kernel is a modelling assumption (it is what lets
   thermal and epithermal together constrain burial depth, the NSS's stated
   principle); it is not parametrised from a published figure.

4. Wet over dry: Lawrence et al. 2011 (JGR 116 E01002, abstract): for a wet
   layer thinner than ~30 g/cm^2 over dry ground the epithermal flux
   *increases* with hydrogen content; residual +1-3 % enhancements at
   Goldschmidt imply 3-30 g/cm^2 layers of 0.1-1 wt% WEH. Modelled as an
   interface term added where W decreases downward across an interface at
   areal depth t::

       E = kappa [s(W_above) - s(W_below)] (t/tau) exp(1 - t/tau)

   kappa = 0.58, tau = 20 g/cm^2 put the sign change at t = 30 g/cm^2 (with
   lambda_e = 45) and give +1 % (0.1 wt%) to +6 % (1 wt%) at t = 10 g/cm^2,
   bracketing Lawrence's 1-3 %. The shape in between is assumed.

5. Absolute rates (assumptions, in :class:`NeutronSpectrometer`): 20 cps
   epithermal and 30 cps thermal over dry regolith with FeO+TiO2 = 6 wt% at
   rover height. These are order-of-magnitude values for NSS-class tubes; no
   published NSS rover-height rate is parametrised here.

6. Footprint: the leakage current is taken as cosine-law (radiance ~ cos
   theta, as in the SNAP model of Lawrence et al. 2010, Astrobiology 10:183),
   seen by an omnidirectional detector at height h: ground weight
   h^2 / (pi (r^2 + h^2)^2). Its along-track marginal is
   K(x) = h^2 / (2 (x^2 + h^2)^1.5), CDF F(x) = 1/2 + x / (2 sqrt(x^2 + h^2)),
   FWHM = 2 h sqrt(2^(2/3) - 1) = 1.533 h. A 1 m FWHM means h = 0.65 m.

7. Systematics: a fractional uncertainty f (default 2 %, inside the 1-3 %
   floor in REFERENCES.md) on each channel's dry reference rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lupex.errors import ConfigError, InputError
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, param

FWHM_PER_HEIGHT = 2.0 * np.sqrt(2.0 ** (2.0 / 3.0) - 1.0)  # along-track kernel FWHM / h


_CAL = f"{ASSUMED}: calibration constant (module docstring, item"
# the NSS team's uniform-WEH calibration (vipersci.nss.uniform_weh; item 1 of the module docstring):
# WEH fraction = [A_NSS (C0/C - 1)]^B_NSS, inverted to C/C0 = 1 / (1 + a W^b) with W in wt%
A_NSS, B_NSS = 0.0256, 1.0990
EPI_B = 1.0 / B_NSS
EPI_A = 100.0 ** (-EPI_B) / A_NSS


@dataclass(frozen=True)
class NeutronResponse:
    """Response-function constants (the module docstring gives each one's derivation and source)."""

    epi_a: float = param(EPI_A, "1/wt%^b", "a of the epithermal response 1/(1 + a W^b)",
                         "NSS team's uniform-WEH calibration, vipersci.nss.uniform_weh (a' = 0.0256, b' = 1.099; "
                         "module docstring item 1)")
    epi_b: float = param(EPI_B, "-", "b of the epithermal response 1/(1 + a W^b)",
                         "vipersci.nss.uniform_weh, b = 1/b' (item 1)")
    th_p: float = param(0.5, "1/wt%", "p of the thermal response (1 + p W)/(1 + q W)^2",
                        "Voss 1969 (initial slope p - 2q ~ 0.3-0.4 per wt%), module docstring item 2")
    th_q: float = param(0.1, "1/wt%", "q of the thermal response (1 + p W)/(1 + q W)^2 (capture on H)",
                        f"{_CAL} 2): peak +56 % at 6 wt%, back to dry at 30 wt%")
    th_k_per_wt_pct: float = param(0.0286, "1/wt%", "k of the thermal composition factor (1 + k A_ref)/(1 + k A), "
                                   "A = FeO+TiO2", "Lunar Prospector highland/mare thermal contrast ~1.5 (Feldman et al. "
                                   "1998/2000), module docstring item 2")
    lambda_epi_g_cm2: float = param(45.0, "g/cm^2", "e-folding areal mass of the epithermal hydrogen sensitivity",
                                    f"{ASSUMED}: between the ~20 cm LP leakage depth (arXiv:1501.05712) and the NSS's "
                                    "~1 m sensing depth (item 3)")
    lambda_th_g_cm2: float = param(45.0, "g/cm^2", "scale of the gamma-2 thermal depth kernel",
                                   f"{ASSUMED}: as lambda_epi_g_cm2 (item 3)")
    wet_over_dry_kappa: float = param(0.58, "-", "strength of the wet-over-dry epithermal enhancement",
                                      "Lawrence et al. 2011, JGR 116 E01002: +1-3 % for 3-30 g/cm^2 layers (item 4)")
    wet_over_dry_tau_g_cm2: float = param(20.0, "g/cm^2", "areal-mass scale of the wet-over-dry enhancement",
                                          "Lawrence et al. 2011: sign change at ~30 g/cm^2 (item 4)")

    def __post_init__(self):
        check_positive(self, "epi_a", "epi_b", "th_p", "lambda_epi_g_cm2", "lambda_th_g_cm2", "wet_over_dry_tau_g_cm2")
        check_non_negative(self, "th_q", "th_k_per_wt_pct", "wet_over_dry_kappa")


@dataclass(frozen=True)
class NeutronSpectrometer:
    """Instrument parameters. Rates are assumptions for an NSS-class instrument."""

    epi_dry_rate_cps: float = param(20.0, "counts/s", "epithermal count rate over dry regolith of the reference "
                                    "composition at rover height", f"{ASSUMED}: NSS-class 3He tubes, order of magnitude (item 5)")
    th_dry_rate_cps: float = param(30.0, "counts/s", "thermal count rate over dry regolith of the reference composition",
                                   f"{ASSUMED}: NSS-class 3He tubes, order of magnitude (item 5)")
    reference_feo_tio2_wt_pct: float = param(6.0, "wt%", "FeO+TiO2 of the dry reference regolith of the rates",
                                             f"{ASSUMED}: highland south-polar regolith")
    footprint_fwhm_m: float = param(1.0, "m", "FWHM of the along-track footprint (sets the detector height, 1.533 h)",
                                    "cosine-law leakage (Lawrence et al. 2010, Astrobiology 10:183), item 6; ~1 m for the NSS")
    systematic_frac: float = param(0.02, "fraction", "1-sigma fractional uncertainty of each channel's dry reference rate",
                                   "the 1-3 % systematics floor (REFERENCES.md, NS), item 7")
    response: NeutronResponse = param(unit="-", help="response-function constants", source="module docstring",
                                      factory=NeutronResponse)

    def __post_init__(self):
        check_positive(self, "epi_dry_rate_cps", "th_dry_rate_cps", "footprint_fwhm_m")
        check_non_negative(self, "reference_feo_tio2_wt_pct")
        check_range(self, "systematic_frac", 0.0, 0.3, hi_open=True)
        if not isinstance(self.response, NeutronResponse):
            raise ConfigError(f"NeutronSpectrometer.response must be a NeutronResponse, got {self.response!r}")

    @property
    def height_m(self) -> float:
        return self.footprint_fwhm_m / FWHM_PER_HEIGHT


# ----------------------------------------------------------------- validation

def _weh(w, name="weh_wt_pct"):
    w = np.asarray(w, dtype=float)
    if not np.all(np.isfinite(w)):
        raise InputError(f"{name} contains NaN or infinite values; give water content in wt% WEH")
    if np.any(w < 0) or np.any(w > 100):
        raise InputError(f"{name} must be within [0, 100] wt% WEH, got {w.min():g}..{w.max():g}")
    return w


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

def epithermal_ratio(weh_wt_pct, response: NeutronResponse = NeutronResponse()):
    """Epithermal rate over homogeneous regolith relative to dry regolith."""
    w = _weh(weh_wt_pct)
    return 1.0 / (1.0 + response.epi_a * w ** response.epi_b)


def thermal_composition_factor(feo_tio2_wt_pct, reference_wt_pct=6.0,
                               response: NeutronResponse = NeutronResponse()):
    """Thermal rate of dry regolith relative to the reference composition."""
    a = _nonneg(feo_tio2_wt_pct, "feo_tio2_wt_pct")
    k = response.th_k_per_wt_pct
    return (1.0 + k * reference_wt_pct) / (1.0 + k * a)


def _thermal_excess(w, r: NeutronResponse):
    return (1.0 + r.th_p * w) / (1.0 + r.th_q * w) ** 2 - 1.0


def thermal_ratio(weh_wt_pct, feo_tio2_wt_pct=6.0, reference_wt_pct=6.0,
                  response: NeutronResponse = NeutronResponse()):
    """Thermal rate over homogeneous regolith relative to dry reference regolith."""
    w = _weh(weh_wt_pct)
    return thermal_composition_factor(feo_tio2_wt_pct, reference_wt_pct, response) * (
        1.0 + _thermal_excess(w, response))


def two_layer_ratios(weh_top_wt_pct, weh_bottom_wt_pct, top_g_cm2, feo_tio2_wt_pct=6.0,
                     reference_wt_pct=6.0, response: NeutronResponse = NeutronResponse()):
    """(epithermal, thermal) ratios for a top layer of areal mass ``top_g_cm2``
    over a half-space; arrays broadcast. Dry-over-wet and wet-over-dry alike."""
    r = response
    wt = _weh(weh_top_wt_pct, "weh_top_wt_pct")
    wb = _weh(weh_bottom_wt_pct, "weh_bottom_wt_pct")
    m = _nonneg(top_g_cm2, "top_g_cm2")
    st = 1.0 - epithermal_ratio(wt, r)
    sb = 1.0 - epithermal_ratio(wb, r)
    ae = np.exp(-m / r.lambda_epi_g_cm2)
    x = m / r.wet_over_dry_tau_g_cm2
    enh = r.wet_over_dry_kappa * np.clip(st - sb, 0.0, None) * x * np.exp(1.0 - x)
    epi = 1.0 - (st * (1.0 - ae) + sb * ae) + enh
    at = (1.0 + m / r.lambda_th_g_cm2) * np.exp(-m / r.lambda_th_g_cm2)
    g = _thermal_excess(wt, r) * (1.0 - at) + _thermal_excess(wb, r) * at
    th = thermal_composition_factor(feo_tio2_wt_pct, reference_wt_pct, r) * (1.0 + g)
    return epi, th


def column_ratios(column, reference_wt_pct=6.0, response: NeutronResponse = NeutronResponse()):
    """(epithermal, thermal) ratios for an arbitrary :class:`lupex.subsurface.Column`.

    Layers are weighted by the depth kernels of the module docstring on the
    column's areal-mass axis (``Column.column_mass_g_cm2``); the last layer is
    taken to extend downward. Every interface where WEH decreases downward adds
    the Lawrence-2011 wet-over-dry term. For a two-layer column this equals
    :func:`two_layer_ratios` exactly.
    """
    r = response
    w = _weh(column.weh_wt_pct)
    rho = np.asarray(column.density_kg_m3, float)
    dz = column.dz_m
    m_edges = np.concatenate([[0.0], np.cumsum(rho * dz * 0.1)])  # g/cm^2 at layer tops/bottoms
    m_edges[-1] = np.inf
    ue = np.exp(-m_edges / r.lambda_epi_g_cm2)
    we = ue[:-1] - ue[1:]
    mt = m_edges[:-1] / r.lambda_th_g_cm2
    ut = np.concatenate([(1.0 + mt) * np.exp(-mt), [0.0]])   # gamma-2 survival at each edge
    wth = ut[:-1] - ut[1:]
    s = 1.0 - epithermal_ratio(w, r)
    ds = s[:-1] - s[1:]
    t = m_edges[1:-1]
    x = t / r.wet_over_dry_tau_g_cm2
    enh = r.wet_over_dry_kappa * np.sum(np.clip(ds, 0.0, None) * x * np.exp(1.0 - x))
    epi = 1.0 - np.sum(we * s) + enh
    th = thermal_composition_factor(column.feo_tio2_wt_pct, reference_wt_pct, r) * (
        1.0 + np.sum(wth * _thermal_excess(w, r)))
    return float(epi), float(th)


def expected_rates_cps(column, ns: NeutronSpectrometer = NeutronSpectrometer()):
    """Expected (epithermal, thermal) count rates over a column, stationary rover."""
    e, t = column_ratios(column, ns.reference_feo_tio2_wt_pct, ns.response)
    return e * ns.epi_dry_rate_cps, t * ns.th_dry_rate_cps


# ------------------------------------------------------------------ footprint

def footprint_kernel(x_m, fwhm_m=1.0):
    """Along-track ground weight per metre at offset ``x_m`` (integrates to 1)."""
    h = fwhm_m / FWHM_PER_HEIGHT
    x = np.asarray(x_m, float)
    return h * h / (2.0 * (x * x + h * h) ** 1.5)


def footprint_cdf(x_m, fwhm_m=1.0):
    """Fraction of the along-track weight at offsets below ``x_m``."""
    h = fwhm_m / FWHM_PER_HEIGHT
    x = np.asarray(x_m, float)
    return 0.5 + x / (2.0 * np.sqrt(x * x + h * h))


def smoothed_rates(x_m, ground_edges_m, ground_rate_cps, fwhm_m=1.0, window_m=15.0):
    """Footprint-weighted rate at detector positions ``x_m``.

    The ground is piecewise constant: cell j spans ``ground_edges_m[j:j+2]``
    with rate ``ground_rate_cps[j]``; it continues with the end values beyond
    the ends. Summation by parts gives rate(x) = r_0 + sum_k (r_k - r_{k-1})
    F(x - e_k), so only edges within ``window_m`` are evaluated; the
    truncation error is below h^2/(4 window^2) (5e-4 of a step at 15 m).
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
        f = footprint_cdf(x[:, None] - ek[idx], fwhm_m)
        out = out + np.sum(np.where(valid, dr[idx] * f, 0.0), axis=1)
    return out


def simulate_track_counts(t_edges_s, rover_s_m, ground_edges_m, ground_epi_cps, ground_th_cps,
                          rng: np.random.Generator, fwhm_m=1.0, chunk=4096):
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
    if not isinstance(rng, np.random.Generator):
        raise InputError("pass an explicit numpy.random.Generator as rng")
    dt = np.diff(t)
    mid = 0.5 * (s[:-1] + s[1:])
    means = []
    for rates in (ground_epi_cps, ground_th_cps):
        def f(x):
            return np.concatenate([smoothed_rates(x[i:i + chunk], ground_edges_m, rates, fwhm_m)
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


def retrieve_two_layer(epi_counts, th_counts, live_time_s, *,
                       ns: NeutronSpectrometer = NeutronSpectrometer(),
                       feo_tio2_wt_pct: float = 6.0, density_kg_m3: float = 1500.0,
                       weh_top_wt_pct: float = 0.0, weh_max_wt_pct: float = 20.0,
                       depth_max_m: float = 1.2, n_weh: int = 161, n_depth: int = 121,
                       systematic_frac: float | None = None, n_gain_nodes: int = 7,
                       chunk: int = 64, weh_prior: str = "uniform") -> TwoLayerPosterior:
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
    (one entry per segment) with matching ``live_time_s``.
    """
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
    f = ns.systematic_frac if systematic_frac is None else float(systematic_frac)
    if not 0.0 <= f < 0.3:
        raise InputError("systematic_frac must be in [0, 0.3)")

    dw, dd = weh_max_wt_pct / n_weh, depth_max_m / n_depth
    wg = (np.arange(n_weh) + 0.5) * dw
    dg = (np.arange(n_depth) + 0.5) * dd
    m = dg * density_kg_m3 * 0.1            # g/cm^2
    epi, th = two_layer_ratios(weh_top_wt_pct, wg[:, None], m[None, :], feo_tio2_wt_pct,
                               ns.reference_feo_tio2_wt_pct, ns.response)
    mu_e = (epi * ns.epi_dry_rate_cps).ravel()
    mu_t = (th * ns.th_dry_rate_cps).ravel()
    if f > 0:
        xk, wk = np.polynomial.hermite_e.hermegauss(n_gain_nodes)
        gains = np.clip(1.0 + f * xk, 1e-3, None)
        logw = np.log(wk / wk.sum())
    else:
        gains, logw = np.ones(1), np.zeros(1)

    if weh_prior == "uniform":
        log_prior = np.zeros(n_weh * n_depth)
    elif weh_prior == "log-uniform":
        log_prior = np.repeat(-np.log(wg), n_depth)
    else:
        raise InputError(f"weh_prior must be 'uniform' or 'log-uniform', got {weh_prior!r}")
    post = np.empty((n_e.size, n_weh * n_depth))
    for i0 in range(0, n_e.size, chunk):
        sl = slice(i0, i0 + chunk)
        ll = np.zeros((n_e[sl].size, mu_e.size))
        for n, mu in ((n_e[sl], mu_e), (n_t[sl], mu_t)):
            lam = tl[sl, None] * mu[None, :]
            terms = [logw[k] + n[:, None] * np.log(g * lam) - g * lam for k, g in enumerate(gains)]
            ll += np.logaddexp.reduce(np.stack(terms), axis=0)
        ll += log_prior[None, :]
        ll -= ll.max(axis=1, keepdims=True)
        p = np.exp(ll)
        post[sl] = p / p.sum(axis=1, keepdims=True)
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

def detection_time_s(weh_wt_pct, k_sigma=3.0, ns: NeutronSpectrometer = NeutronSpectrometer(),
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


def detection_limit_wt_pct(integration_s, k_sigma=3.0, ns: NeutronSpectrometer = NeutronSpectrometer(),
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
