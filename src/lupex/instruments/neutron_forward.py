"""Neutron spectrometer forward model: parameters, count-rate ratios over layered ground, the footprint.

The physics and its sources are in :mod:`lupex.instruments.neutron`'s module
docstring (items 1-6): ratios from lupex's Monte Carlo transport table
(:mod:`lupex.instruments.neutron_table`, fitted to the NSS calibration,
docs/REFERENCES.md#nss), composition and temperature factors, layered columns
reduced to two layers, absolute rates from the NSS C0, and a cos^beta leakage
footprint counted along the rover's track. The retrieval that inverts these
rates lives in :mod:`lupex.instruments.neutron`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betainc, gamma

from lupex.errors import ConfigError, InputError
from lupex.instruments.neutron_table import TEMPERATURE_DEPTH_G_CM2, ResponseTable, load_table
from lupex.params import check_non_negative, check_positive, check_range, check_rng, param

__all__ = [
    "BEAMING_EXPONENT", "NSS_C0_CPS", "NeutronResponseParams", "NeutronParams",
    "epithermal_ratio",
    "composition_factors", "thermal_composition_factor", "thermal_ratio", "two_layer_ratios",
    "COLUMN_BELOW_G_CM2", "equivalent_two_layer", "sampling_temperature_k", "column_ratios", "expected_rates_cps",
    "fwhm_per_height", "footprint_kernel", "footprint_cdf", "smoothed_rates", "simulate_track_counts",
]

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
        """The :class:`ResponseTable` this names (cached by :func:`load_table`)."""
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
        """Detector height above the ground (m) that gives ``footprint_fwhm_m`` with this beaming."""
        return self.footprint_fwhm_m / fwhm_per_height(self.beaming_exponent)

    @property
    def th_dry_rate_cps(self) -> float:
        """Thermal (bare minus Cd tube) rate over dry reference regolith.

        The epithermal rate times the Monte Carlo thermal/epithermal ratio (item 4).
        """
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
    """Weighted mean, kept inside [min, max] of ``values``.

    That is where it lies exactly; the float sum can round a mean of equal values just outside.
    """
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
    """Thermal rate over homogeneous regolith relative to dry reference regolith.

    The table's homogeneous thermal ratio (module docstring item 1) times the thermal composition factor
    (item 2), at the table's 150 K.

    Parameters
    ----------
    weh_wt_pct : float or array_like
        Homogeneous WEH, wt% in [0, 100].
    feo_tio2_wt_pct : float or array_like
        FeO+TiO2 of the regolith, wt% >= 0; broadcasts with ``weh_wt_pct``.
    reference_wt_pct : float
        FeO+TiO2 of the dry reference regolith the ratio is relative to, wt%.
    response : NeutronResponseParams
        Response table to read.

    Returns
    -------
    numpy.ndarray
        Thermal count ratio (dimensionless), the broadcast shape of the inputs.
    """
    w = _weh(weh_wt_pct)
    return thermal_composition_factor(feo_tio2_wt_pct, reference_wt_pct, response) * response.load().ratios(0.0, w, 0.0)[1]


def two_layer_ratios(weh_top_wt_pct, weh_bottom_wt_pct, top_g_cm2, feo_tio2_wt_pct=6.0,
                     reference_wt_pct=6.0, response: NeutronResponseParams = NeutronResponseParams(), temperature_k=None):
    """(epithermal, thermal) ratios for a top layer of areal mass ``top_g_cm2`` over a half-space; arrays broadcast.

    Dry-over-wet and wet-over-dry alike. ``temperature_k``: the regolith's temperature (None: the table's 150 K),
    applied as the factor of homogeneous ground of the same epithermal ratio (module docstring item 2).

    Parameters
    ----------
    weh_top_wt_pct : float or array_like
        WEH of the top layer, wt% in [0, 100].
    weh_bottom_wt_pct : float or array_like
        WEH of the half-space below it, wt% in [0, 100].
    top_g_cm2 : float or array_like
        Areal mass of the top layer, g/cm^2 >= 0 (thickness x bulk density; 0: homogeneous bottom ground).
    feo_tio2_wt_pct : float or array_like
        FeO+TiO2 of the regolith, wt% >= 0 (composition factor, item 2).
    reference_wt_pct : float
        FeO+TiO2 of the dry reference regolith the ratios are relative to, wt%.
    response : NeutronResponseParams
        Response table to interpolate (item 1).
    temperature_k : float, array_like or None
        Regolith temperature, K; None: the table's 150 K.

    Returns
    -------
    epithermal, thermal : numpy.ndarray
        Count ratios to dry reference regolith (dimensionless), the broadcast shape of the inputs.
    """
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
    """Temperature the thermal neutrons of a column come into equilibrium with.

    Its mass-weighted mean over the top :data:`TEMPERATURE_DEPTH_G_CM2` (the depth most escaping thermal neutrons
    last scattered in; an assumption, module docstring item 2).
    """
    mass = np.asarray(column.density_kg_m3, float) * column.dz_m * 0.1        # g/cm^2 per layer
    above = np.cumsum(mass) - mass
    w = np.clip(TEMPERATURE_DEPTH_G_CM2 - above, 0.0, mass)
    if w.sum() <= 0:
        return float(column.temperature_k[0])
    return float(np.sum(w * column.temperature_k) / w.sum())


def column_ratios(column, reference_wt_pct=6.0, response: NeutronResponseParams = NeutronResponseParams()):
    """(epithermal, thermal) ratios for a :class:`lupex.subsurface.Column`.

    Through its equivalent two-layer ground (:func:`equivalent_two_layer`) at its
    :func:`sampling_temperature_k`; the last layer is taken to extend downward.
    """
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
    """Along-track ground weight per metre (1/m) at offset ``x_m``; integrates to 1.

    Leakage radiance ~ cos^beta (module docstring item 5).
    """
    h = fwhm_m / fwhm_per_height(beta)
    x = np.asarray(x_m, float)
    c = (1.0 + beta) * h ** (1.0 + beta) * gamma(1.0 + beta / 2.0) / (2.0 * np.sqrt(np.pi) * gamma((3.0 + beta) / 2.0))
    return c * (x * x + h * h) ** (-(2.0 + beta) / 2.0)


def footprint_cdf(x_m, fwhm_m=1.0, beta: float = BEAMING_EXPONENT):
    """Fraction of the along-track weight at offsets below ``x_m``.

    1/2 + sign(x)/2 I_{sin^2 phi}(1/2, (1 + beta)/2), tan phi = x / h.
    """
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

    Parameters
    ----------
    x_m : array_like, shape (n,)
        Along-track detector positions, m.
    ground_edges_m : array_like, shape (ncell + 1,)
        Along-track cell edges of the ground, m, strictly increasing.
    ground_rate_cps : array_like, shape (ncell,)
        Rate a stationary detector would see over each cell if the ground were that cell everywhere, counts/s >= 0.
    fwhm_m : float
        FWHM of the along-track footprint, m (sets the height h, item 5).
    window_m : float
        Half-width of the window of edges evaluated around each position, m.
    beta : float
        Beaming exponent of the leakage radiance ~ cos^beta (item 5).

    Returns
    -------
    numpy.ndarray, shape (n,)
        Footprint-weighted rate at each position, counts/s.
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

    Parameters
    ----------
    t_edges_s : array_like, shape (n + 1,)
        Sample boundaries, s, strictly increasing.
    rover_s_m : array_like, shape (n + 1,)
        Along-track position of the detector at each boundary, m.
    ground_edges_m : array_like, shape (ncell + 1,)
        Along-track cell edges of the ground, m, strictly increasing.
    ground_epi_cps, ground_th_cps : array_like, shape (ncell,)
        Stationary epithermal and thermal rates of each cell (:func:`expected_rates_cps`), counts/s.
    rng : numpy.random.Generator
        Source of the Poisson draws.
    fwhm_m : float
        FWHM of the along-track footprint, m (item 5).
    chunk : int
        Positions smoothed at once (bounds memory in :func:`smoothed_rates`).
    beta : float
        Beaming exponent of the leakage radiance ~ cos^beta (item 5).

    Returns
    -------
    epi_counts, th_counts : numpy.ndarray of int, shape (n,)
        Poisson counts in each sample.
    epi_expected, th_expected : numpy.ndarray, shape (n,)
        Their means: Simpson average of the smoothed rate (counts/s) times the sample length (s), counts.
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
