"""A rover traverse survey: the traverse instruments run along a path over the ground truth.

``run_survey`` drives a path (metres, the DEM's projected CRS) at a constant
speed and forward-models, then retrieves, every traverse instrument on the same
ground truth, so the retrievals can be scored against it:

* GPR (:mod:`lupex.instruments.gpr`): one trace every ``gpr_spacing_m``; the
  columns are the truth's grid cells along the path, buried rocks within
  ``rock_search_m`` of the path are placed at their along/cross-track offsets;
  retrieval in windows of 20 traces (ice-table depth, WEH below, 1-sigma).
* Neutron spectrometer (:mod:`lupex.instruments.neutron`): Poisson counts at
  ``ns_rate_hz`` over the footprint-smoothed ground rates of the cells the path
  crosses (exact cell crossings, so the ground is piecewise constant along
  track), summed into ``ns_window_s`` windows and fitted with the two-layer
  posterior (WEH of the wet layer, dry burial depth, credible intervals).
* ALIS (:mod:`lupex.instruments.alis`): a spectrum every ``alis_every_m`` of the
  surface layer's water; the surface temperature is the truth's mean surface
  temperature, given to the retrieval as the thermal model would. The viewing
  geometry (incidence, emission) is an assumption of this module: ALIS's own
  illumination and pointing are not described publicly.
* EMS-L (:mod:`lupex.instruments.emsl`): a stationary time series at the start
  point (the rover parked near the lander before driving), He, Ar and H2O, fitted
  by :func:`lupex.instruments.emsl.separate_series` (rover term off: parked, at
  constant temperature the rover and lander terms are degenerate).

Columns are built once per grid cell (the truth is constant within a cell) and
shared by every trace and sample over that cell; only the few traces next to a
buried rock get their own copy carrying the rock. Randomness: one
``numpy.random.SeedSequence`` spawns an independent generator per instrument,
so changing one instrument's settings does not reshuffle the others' noise.

The retrieved vs true table (``survey_retrievals.parquet``) has one row per
neutron window; GPR picks inside the window are summarised by their median
(and median sigma: the velocity error is common to the picks, so averaging
would not shrink it), ALIS by the spectrum inside the window, if any.

The path geometry, GeoJSON input/output and traverse planning (which never reads the truth's ice)
live in :mod:`lupex.mission.traverse`; their names stay importable from here.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from lupex.errors import ConfigError, InputError
from lupex.instruments import alis, emsl, neutron
from lupex.instruments.gpr import GprParams
from lupex.instruments.gpr_velocity import VELOCITY_MODELS
from lupex.io import write_dataframe, write_json, write_netcdf
from lupex.mission.survey_instruments import (  # noqa: F401  (moved there; still importable from here)
    EMSL_SPECIES,
    NS_DETECT_LO95_WT_PCT,
    ColumnCache,
    _rngs,
    _run_alis,
    _run_emsl,
    _run_gpr,
    _run_ns,
    _site_priors,
    gpr_columns,
    rocks_along_path,
)
from lupex.mission.traverse import (  # noqa: F401  (moved there; still importable from here)
    PRIOR_FIELDS,
    Grid,
    TraversePath,
    TraversePlanner,
    as_path,
    cell_runs,
    check_on_grid,
    default_traverse,
    orbital_prior_ice,
    path_from_geojson,
    path_to_geojson,
    plan_traverse,
)
from lupex.params import ASSUMED, check_non_negative, check_pair, check_positive, check_range, param

log = logging.getLogger("lupex.survey")


# the geometry's names before it moved to lupex.mission.traverse (tests and benchmarks use them)
_Path, _as_path, _Grid, _check_on_grid, _cell_runs = TraversePath, as_path, Grid, check_on_grid, cell_runs


# ----------------------------------------------------------------------------- parameters


_FROM_RUN = "lupex.mission.survey default"


@dataclass(frozen=True)
class SurveyParams:
    """Survey settings: sampling of each traverse instrument along the path and the retrievals' settings.

    The instruments' own models have their tables (``[gpr]``, ``[neutron]``, ``[alis]``, ``[emsl]``,
    ``[emsl_outgassing]``); this is how the survey drives them. ``speed_m_s`` follows the rover's
    commanded speed (``vehicle.mobility.speed_cmd_m_s``) in a run.
    """

    speed_m_s: float = param(0.1, "m/s", "rover speed while surveying (sets the time per metre of every instrument)",
                             "rover speed_cmd_m_s (vehicle.mobility)")
    gpr_spacing_m: float = param(0.05, "m", "distance between GPR traces",
                                 f"{ASSUMED}: <= a quarter wavelength at 800 MHz in regolith (~0.05 m), unaliased hyperbolas")
    gpr_window_traces: int = param(20, "traces", "GPR traces stacked per ice-table pick (20 x 0.05 m = 1 m windows)",
                                   f"{ASSUMED}: 1 m windows, the NS footprint scale")
    gpr_max_fits: int = param(12, "-", "diffraction hyperbolas fitted for the velocity, strongest first",
                              "numerical: more fits cost time, the Birge-inflated mean settles within ~10")
    gpr_aperture_m: float = param(1.0, "m", "half-width of the trace aperture over which a hyperbola's arms are picked",
                                  f"{ASSUMED}: the arms of a 0.5 m deep rock within the 60 deg beam")
    gpr_pick_snr: float = param(5.0, "-", "an ice-table pick needs its stacked reflection this many noise sigmas above "
                                "the noise", "lupex.instruments.gpr_retrieval.retrieve default")
    gpr_eps_prior: tuple[float, float] = param((3.25, 0.31), "- (relative permittivity)",
                                               "[mean, sigma] of the top layer's eps' where no hyperbola is usable",
                                               "Chang'E-4 LPR hyperbola fits 2.64-3.85 (docs/REFERENCES.md#chang-e4-lpr)")
    gpr_velocity_model: str = param("carrier", "-", "how the GPR converts two-way time to depth: carrier or hayne "
                                    "(eps'(z) = s x 1.919^rho(z) of that density profile, s = 1 +- 0.15 unless "
                                    "hyperbolas measure it) or constant (gpr_eps_prior)",
                                    "lupex.instruments.gpr_velocity (Olhoeft & Strangway 1975; Carrier et al. 1991; "
                                    "Hayne et al. 2017; Strangway et al. 1977 for the +-0.17 scatter)")
    gpr_fit_rock_size: bool = param(True, "-", "fit each diffractor's radius and cross-track offset (rocks of unknown "
                                    "size); false = point diffractors under the track",
                                    "rocks of the ground truth have radii of centimetres to decimetres")
    gpr_min_pick_periods: float = param(0.8, "wavelet periods", "picks shallower than this many periods of two-way "
                                        "time below the surface echo are no picks (the picker searches from 0.8 "
                                        "after subtracting the dry ground's echoes; 2 without that step)",
                                        "lupex.instruments.gpr_retrieval.pick_ice_table: 0.8 periods is ~0.09 m on "
                                        "the Carrier profile at 800 MHz")
    rock_search_m: float = param(1.0, "m", "buried rocks within this cross-track distance of the path enter the GPR traces",
                                 f"{ASSUMED}: within the antenna beam at the GPR's 1.5 m sounding depth")
    ns_rate_hz: float = param(1.0, "Hz", "neutron spectrometer read-out rate (one count sample per 1/rate)",
                              f"{ASSUMED}: NSS-class 1 s samples")
    ns_window_s: float = param(50.0, "s", "neutron counts summed per retrieval window", _FROM_RUN + " (5 m at 0.1 m/s)")
    ns_depth_max_m: float = param(1.2, "m", "upper end of the two-layer retrieval's burial-depth prior",
                                  f"{ASSUMED}: the ~1 m sensing depth quoted for the NSS, with margin")
    ns_weh_max_wt_pct: float = param(20.0, "wt% WEH", "upper end of the two-layer retrieval's WEH prior",
                                     "lupex.instruments.neutron.retrieve_two_layer default")
    ns_weh_prior: str = param("log-uniform", "-", "WEH prior of the two-layer retrieval: log-uniform or uniform "
                              "(uniform over-states WEH along the WEH-burial degeneracy)",
                              "Jeffreys 1961; coverage in lupex.instruments.neutron.retrieve_two_layer")
    alis_every_m: float = param(10.0, "m", "distance between ALIS spectra", f"{ASSUMED}: stops for a spectrum every 10 m")
    alis_incidence_deg: float = param(80.0, "deg", "incidence angle of the light on the ALIS spot",
                                      f"{ASSUMED}: low polar Sun / ALIS lamp; ALIS illumination is not described publicly")
    alis_emission_deg: float = param(30.0, "deg", "emission (viewing) angle of ALIS",
                                     f"{ASSUMED}: looking ahead of the rover")
    emsl_start_s: float = param(2 * 86400.0, "s", "time since landing when the EMS-L series starts",
                                f"{ASSUMED}: rover parked near the lander for two days after landing")
    emsl_duration_s: float = param(6 * 3600.0, "s", "length of the EMS-L time series",
                                   f"{ASSUMED}: long enough for the outgassing decay index to be fitted")
    emsl_dwell_s: float = param(60.0, "s", "EMS-L integration per sample", f"{ASSUMED}: ion-trap scan cycle of a minute")
    emsl_lander_distance_m: float = param(10.0, "m", "distance of the parked rover from the lander (outgassing source)",
                                          f"{ASSUMED}: rover parked beside the lander")
    column_depth_m: float = param(2.0, "m", "depth of the ground-truth columns the instruments see",
                                  "below the GPR's 1.5 m and the NS's ~1 m reach")
    column_dz_m: float = param(0.01, "m", "layer thickness of the ground-truth columns",
                               "numerical: << the 0.1 m GPR resolution")

    def __post_init__(self):
        check_positive(self, "speed_m_s", "gpr_spacing_m", "gpr_aperture_m", "gpr_pick_snr", "gpr_min_pick_periods",
                       "ns_rate_hz", "ns_window_s", "ns_depth_max_m", "ns_weh_max_wt_pct", "alis_every_m",
                       "emsl_start_s", "emsl_duration_s", "emsl_dwell_s", "emsl_lander_distance_m", "column_depth_m",
                       "column_dz_m")
        check_non_negative(self, "rock_search_m")
        for k, lo in (("gpr_window_traces", 4), ("gpr_max_fits", 0)):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ConfigError(f"SurveyParams.{k} must be an integer >= {lo}, got {v!r}")
        if self.emsl_duration_s < 2 * self.emsl_dwell_s:
            raise ConfigError("SurveyParams.emsl_duration_s must cover at least two EMS-L dwells (emsl_dwell_s)")
        if not self.column_dz_m < self.column_depth_m:
            raise ConfigError("SurveyParams.column_dz_m must be smaller than column_depth_m")
        for k in ("alis_incidence_deg", "alis_emission_deg"):
            check_range(self, k, 0.0, 90.0, hi_open=True)
        check_pair(self, "gpr_eps_prior", positive=True)
        if self.gpr_velocity_model not in VELOCITY_MODELS:
            raise ConfigError(f"SurveyParams.gpr_velocity_model must be one of {VELOCITY_MODELS}, "
                              f"got {self.gpr_velocity_model!r}")
        if not self.gpr_eps_prior[0] >= 1:
            raise ConfigError(f"SurveyParams.gpr_eps_prior mean must be >= 1 (vacuum), got {self.gpr_eps_prior[0]!r}")
        if self.ns_weh_prior not in ("uniform", "log-uniform"):
            raise ConfigError(f"SurveyParams.ns_weh_prior must be 'uniform' or 'log-uniform', got {self.ns_weh_prior!r}")
        if not isinstance(self.gpr_fit_rock_size, (bool, np.bool_)):
            raise ConfigError(f"SurveyParams.gpr_fit_rock_size must be true or false, got {self.gpr_fit_rock_size!r}")


@dataclass(frozen=True)
class SurveyResult:
    """What a survey measured and retrieved, with the truth it is scored against."""

    path_xy: np.ndarray            # (n, 2) vertices, m
    length_m: float
    ns: pd.DataFrame               # one row per NS sample
    gpr: pd.DataFrame              # one row per GPR trace, with its window's pick
    gpr_windows: pd.DataFrame      # one row per GPR window (retrieval and truth)
    radargram: object              # lupex.instruments.gpr.Radargram
    alis: pd.DataFrame             # one row per spectrum (retrieval, truth, spectrum)
    emsl: pd.DataFrame             # one row per EMS-L sample
    emsl_fit: pd.DataFrame         # one row per species
    retrievals: pd.DataFrame       # one row per NS window: retrieved vs true along track
    scores: pd.DataFrame           # per instrument and quantity: n, RMSE, bias, fraction within 2 sigma
    ice_map: xr.DataArray          # true ice-table depth around the path (for the report)
    alis_wavelength_um: np.ndarray = field(default_factory=lambda: np.zeros(0))
    summary: dict = field(default_factory=dict)   # detection rates, GPR velocity, priors used
    params: SurveyParams = field(default_factory=SurveyParams)
    outdir: Path | None = None
    timings_s: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- scoring


def _truth_at(truth, grid: Grid, x, y):
    iy, ix = grid.index(x, y)
    ds = truth.dataset
    table = ds["ice_table_depth_m"].values[iy, ix]
    weh = ds["weh_wt_pct"].values[iy, ix]
    dry = ds["dry_weh_wt_pct"].values[iy, ix]
    wet = np.isfinite(table) & (weh > 0)
    return np.where(wet, table, np.inf), np.where(wet, weh, dry), np.where(table <= 0, weh, dry), iy, ix


def _single_cell(edges, s0, s1):
    """True where [s0, s1] lies inside one run of the path's cell sequence.

    ``edges``: the runs' edges along track (m), the path's ends included.
    """
    inner = np.asarray(edges, float)[1:-1]
    return np.searchsorted(inner, s0, side="right") == np.searchsorted(inner, s1, side="left")


def score_rows(quantity: str, instrument: str, est, sig, true, lo95=None, hi95=None) -> dict:
    """RMSE, bias and coverage of estimates against truth (only rows where both are finite).

    With e = est - true over the rows where ``est``, ``sig`` and ``true`` are all finite:
    RMSE = sqrt(mean(e^2)), bias = mean(e), ``frac_within_2sigma`` = mean(|e| <= 2 sig) and
    ``frac_in_95ci`` = mean(lo95 <= true <= hi95).

    Parameters
    ----------
    quantity : str
        What is scored, with its unit (e.g. ``"ice-table depth (m)"``); copied into the row.
    instrument : str
        Which instrument's retrieval it is (e.g. ``"NS"``); copied into the row.
    est, sig, true : array_like
        Estimates, their 1-sigma errors and the true values, one per retrieval, shape (n,), all in the
        quantity's unit.
    lo95, hi95 : array_like, optional
        Lower and upper bounds of each estimate's 95 % interval, shape (n,), same unit; give both or
        neither (None: ``frac_in_95ci`` is NaN).

    Returns
    -------
    dict
        ``instrument``, ``quantity``, ``n`` (rows scored), ``rmse`` and ``bias`` (the quantity's unit),
        ``frac_within_2sigma`` and ``frac_in_95ci`` (fractions 0-1); NaN where no row is scored.
    """
    est, sig, true = (np.asarray(a, float) for a in (est, sig, true))
    ok = np.isfinite(est) & np.isfinite(true) & np.isfinite(sig)
    e = est[ok] - true[ok]
    out = dict(instrument=instrument, quantity=quantity, n=int(ok.sum()),
               rmse=float(np.sqrt(np.mean(e**2))) if ok.any() else float("nan"),
               bias=float(np.mean(e)) if ok.any() else float("nan"),
               frac_within_2sigma=float(np.mean(np.abs(e) <= 2 * sig[ok])) if ok.any() else float("nan"))
    if lo95 is not None:
        lo, hi = np.asarray(lo95, float)[ok], np.asarray(hi95, float)[ok]
        out["frac_in_95ci"] = float(np.mean((true[ok] >= lo) & (true[ok] <= hi))) if ok.any() else float("nan")
    else:
        out["frac_in_95ci"] = float("nan")
    return out


# ----------------------------------------------------------------------------- the survey


@dataclass(frozen=True)
class _Models:
    """The instrument models of one survey (each the default where the caller gave None)."""

    gpr: object
    ns: object
    alis: object
    ion_trap: object
    outgassing: object

    @classmethod
    def of(cls, gpr_config, neutron_spectrometer, alis_params, ion_trap, outgassing) -> _Models:
        return cls(gpr=gpr_config or GprParams(), ns=neutron_spectrometer or neutron.NeutronParams(),
                   alis=alis_params or alis.AlisParams(), ion_trap=ion_trap or emsl.IonTrapParams(),
                   outgassing=outgassing or emsl.OutgassingParams())


def _gpr_tables(path: TraversePath, p, gres, truth, grid: Grid, dem, edges, prm: SurveyParams):
    """Per-trace GPR table (pick of its window) and per-window table with the truth under each window centre."""
    x, y, hd = path.at(p)
    elev = _elevation(dem, x, y)
    W = prm.gpr_window_traces
    n_win = gres.window_centres_m.size
    window = np.minimum(np.arange(p.size) // W, n_win - 1)
    window = np.where(np.arange(p.size) < n_win * W, window, -1)
    wsel = np.clip(window, 0, None)

    def per_trace(a):
        return np.where(window >= 0, np.asarray(a, float)[wsel], np.nan)

    gpr_df = pd.DataFrame(dict(trace=np.arange(p.size), t_s=p / prm.speed_m_s, s_m=p, x_m=x, y_m=y,
                               heading_deg=hd, elevation_m=elev, window=window,
                               ice_depth_m=per_trace(gres.ice_depth_m),
                               ice_depth_sigma_m=per_trace(gres.ice_depth_sigma_m),
                               weh_below_wt_pct=per_trace(gres.weh_below_wt_pct),
                               weh_below_sigma_wt_pct=per_trace(gres.weh_below_sigma_wt_pct)))
    wx, wy, _ = path.at(gres.window_centres_m)
    w_table, w_weh, _, _, _ = _truth_at(truth, grid, wx, wy)
    half = (W - 1) * prm.gpr_spacing_m / 2 * (1 - 1e-9)
    gwin = pd.DataFrame(dict(window=np.arange(n_win), s_m=gres.window_centres_m, x_m=wx, y_m=wy,
                             ice_depth_m=gres.ice_depth_m, ice_depth_sigma_m=gres.ice_depth_sigma_m,
                             weh_below_wt_pct=gres.weh_below_wt_pct,
                             weh_below_sigma_wt_pct=gres.weh_below_sigma_wt_pct,
                             true_ice_table_depth_m=w_table, true_weh_wt_pct=w_weh,
                             single_cell=_single_cell(edges, gres.window_centres_m - half,
                                                      gres.window_centres_m + half)))
    return gpr_df, gwin


def _ns_samples_table(path: TraversePath, samples) -> pd.DataFrame:
    """One row per neutron sample: its counts, along-track span and the position of its middle."""
    sx, sy, _ = path.at(0.5 * (samples["s_start_m"] + samples["s_end_m"]))
    ns_df = pd.DataFrame(dict(sample=np.arange(sx.size), **samples, x_m=sx, y_m=sy))
    ns_df["epi_counts"] = ns_df["epi_counts"].astype(np.int64)
    ns_df["th_counts"] = ns_df["th_counts"].astype(np.int64)
    return ns_df


def _retrievals_table(path: TraversePath, win, post, gres, alis_df, truth, grid: Grid, edges, ns) -> pd.DataFrame:
    """Retrieved vs true along track, one row per NS window (GPR picks by median, ALIS by the first spectrum)."""
    s_mid = 0.5 * (win["s_start_m"] + win["s_end_m"])
    rx, ry, _ = path.at(s_mid)
    table, weh, _, _, _ = _truth_at(truth, grid, rx, ry)
    fw = ns.footprint_fwhm_m
    single = _single_cell(edges, win["s_start_m"] - fw, win["s_end_m"] + fw)
    g_med, g_sig, g_n = _binned_median(gres.window_centres_m, gres.ice_depth_m, gres.ice_depth_sigma_m,
                                       win["s_start_m"], win["s_end_m"])
    gw_med, gw_sig, _ = _binned_median(gres.window_centres_m, gres.weh_below_wt_pct, gres.weh_below_sigma_wt_pct,
                                       win["s_start_m"], win["s_end_m"])
    a_val, a_sig = _binned_first(alis_df["s_m"].to_numpy(), alis_df["water_wt_pct"].to_numpy(),
                                 alis_df["water_sigma_wt_pct"].to_numpy(), win["s_start_m"], win["s_end_m"])
    a_true = _binned_first(alis_df["s_m"].to_numpy(), alis_df["true_water_wt_pct"].to_numpy(),
                           alis_df["true_water_wt_pct"].to_numpy(), win["s_start_m"], win["s_end_m"])[0]
    return pd.DataFrame(dict(
        s_m=s_mid, s_start_m=win["s_start_m"], s_end_m=win["s_end_m"], x_m=rx, y_m=ry,
        true_ice_table_depth_m=table, true_weh_wt_pct=weh, single_cell=single,
        ns_epi_counts=win["epi_counts"].astype(np.int64), ns_th_counts=win["th_counts"].astype(np.int64),
        ns_live_s=win["live_s"],
        ns_weh_wt_pct=post.weh_mean_wt_pct, ns_weh_sigma_wt_pct=np.diff(post.weh_ci68_wt_pct, axis=1)[:, 0] / 2,
        ns_weh_lo68_wt_pct=post.weh_ci68_wt_pct[:, 0], ns_weh_hi68_wt_pct=post.weh_ci68_wt_pct[:, 1],
        ns_weh_lo95_wt_pct=post.weh_ci95_wt_pct[:, 0], ns_weh_hi95_wt_pct=post.weh_ci95_wt_pct[:, 1],
        ns_burial_depth_m=post.depth_mean_m, ns_burial_depth_sigma_m=np.diff(post.depth_ci68_m, axis=1)[:, 0] / 2,
        ns_burial_lo68_m=post.depth_ci68_m[:, 0], ns_burial_hi68_m=post.depth_ci68_m[:, 1],
        ns_burial_lo95_m=post.depth_ci95_m[:, 0], ns_burial_hi95_m=post.depth_ci95_m[:, 1],
        gpr_ice_depth_m=g_med, gpr_ice_depth_sigma_m=g_sig, gpr_n_picks=g_n,
        gpr_weh_below_wt_pct=gw_med, gpr_weh_below_sigma_wt_pct=gw_sig,
        alis_water_wt_pct=a_val, alis_water_sigma_wt_pct=a_sig, true_surface_water_wt_pct=a_true,
    ))


def _ice_map_near(truth, path: TraversePath, grid: Grid) -> xr.DataArray:
    """The truth's ice-table depth (m; NaN without ice) within 150 m of the path's bounding box."""
    xmin, ymin = path.xy.min(axis=0) - 150.0
    xmax, ymax = path.xy.max(axis=0) + 150.0
    ds = truth.dataset
    ice = ds["ice_table_depth_m"].where(np.isfinite(ds["ice_table_depth_m"]) & (ds["weh_wt_pct"] > 0))
    return ice.sel(x=slice(xmin, xmax), y=slice(ymax, ymin) if grid.dy < 0 else slice(ymin, ymax))


def _survey_summary(gwin, gres, rocks, priors, models: _Models, prm: SurveyParams) -> dict:
    """The survey's summary: detection, GPR velocity, priors, NS detection limit and the instruments' parameters."""
    return dict(_detection(gwin), gpr_eps_top=gres.eps_top, gpr_eps_top_sigma=gres.eps_top_sigma,
                gpr_eps_source=gres.eps_source, gpr_velocity_model=gres.velocity_model.describe(),
                n_hyperbolas=len(gres.hyperbolas), rocks_near_path=len(rocks),
                gpr_min_depth_m=gres.meta["min_depth_m"], gpr_surface_picks_dropped=gres.meta["n_surface_picks_dropped"],
                priors=priors, ns_detection=_ns_detection(models.ns, prm),
                instrument_params={k: dataclasses.asdict(v) for k, v in (
                    ("gpr", models.gpr), ("neutron", models.ns), ("alis", models.alis), ("emsl", models.ion_trap),
                    ("emsl_outgassing", models.outgassing))})


def run_survey(truth, dem, path_xy, outdir=None, *, seed: int | None = None, rng: np.random.Generator | None = None,
               params: SurveyParams | None = None, gpr_config=None, neutron_spectrometer=None, alis_params=None,
               ion_trap=None, outgassing=None, write: bool = True) -> SurveyResult:
    """The survey of ``path_xy``: every traverse instrument forward-modelled and retrieved over ``truth``.

    Writes ``survey_*.parquet``, ``survey_radargram.nc`` and ``survey_summary.json`` into ``outdir`` (each
    atomically) unless ``write`` is False. The instruments' models are each their default when None (the
    config table of a run in brackets).

    Parameters
    ----------
    truth : lupex.subsurface.ground_truth.GroundTruth
        The ground the instruments see.
    dem : xarray.DataArray or None
        The site DEM (m); gives each GPR trace its elevation, and the path must lie on it.
    path_xy : array_like, shape (n, 2)
        Path vertices, metres in the truth's CRS.
    outdir : path or None
        Where the products go (needed when ``write``).
    seed, rng : int or None, numpy.random.Generator or None
        Seed of the instruments' generators, or the generator they are spawned from; give one.
    params : SurveyParams or None
        Every setting of the survey (``[survey]``); None = its defaults.
    gpr_config, neutron_spectrometer, alis_params, ion_trap, outgassing : instrument models or None
        :class:`lupex.instruments.gpr.GprParams` (``[gpr]``),
        :class:`lupex.instruments.neutron.NeutronParams` (``[neutron]``),
        :class:`lupex.instruments.alis.AlisParams` (``[alis]``), :class:`lupex.instruments.emsl.IonTrapParams`
        (``[emsl]``) and :class:`lupex.instruments.emsl.OutgassingParams` (the lander's and rover's outgassing the
        EMS-L sees, ``[emsl_outgassing]``).
    write : bool
        Write the products into ``outdir``.

    Returns
    -------
    SurveyResult
        The records, retrievals, scores against the truth and the summary.
    """
    t_start = time.perf_counter()
    prm = params or SurveyParams()
    gens = _rngs(seed, rng)
    path = as_path(path_xy)
    grid = Grid.of(truth.dataset)
    check_on_grid(path.xy, grid)
    if dem is not None:
        check_on_grid(path.xy, Grid.of(dem))
    models = _Models.of(gpr_config, neutron_spectrometer, alis_params, ion_trap, outgassing)
    cache = ColumnCache(truth, prm.column_depth_m, prm.column_dz_m)
    priors = _site_priors(truth)
    timings = {}

    t0 = time.perf_counter()
    p, rg, gres, rocks = _run_gpr(cache, path, truth, gens["gpr"], prm, models.gpr, priors)
    timings["gpr_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    samples, win, post, (edges, _iy, _ix, _rates) = _run_ns(cache, path, gens["ns"], prm, models.ns, priors)
    timings["ns_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    alis_df, lam = _run_alis(cache, path, gens["alis"], prm, models.alis)
    timings["alis_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    emsl_df, emsl_fit = _run_emsl(cache, path, gens["emsl"], prm, models.ion_trap, models.outgassing)
    timings["emsl_s"] = time.perf_counter() - t0

    gpr_df, gwin = _gpr_tables(path, p, gres, truth, grid, dem, edges, prm)
    ns_df = _ns_samples_table(path, samples)
    ret = _retrievals_table(path, win, post, gres, alis_df, truth, grid, edges, models.ns)
    scores = _scores(ret, gwin, alis_df, prm)
    ice_map = _ice_map_near(truth, path, grid)
    timings["total_s"] = time.perf_counter() - t_start
    timings["columns_built"] = cache.built
    summary = _survey_summary(gwin, gres, rocks, priors, models, prm)
    result = SurveyResult(path.xy, path.length_m, ns_df, gpr_df, gwin, rg, alis_df, emsl_df, emsl_fit, ret, scores,
                          ice_map, lam, summary, prm, Path(outdir) if outdir is not None else None, timings)
    if write:
        if outdir is None:
            raise InputError("give outdir to write the survey, or write=False")
        write_survey(result, outdir)
    log.info("survey of %.0f m: %d GPR traces, %d NS samples, %d ALIS spectra in %.1f s", path.length_m, p.size,
             len(ns_df), len(alis_df), timings["total_s"])
    return result


def _ns_detection(ns, prm: SurveyParams, k_sigma: float = 3.0) -> dict:
    """What the NS can detect: the stop time for 0.5 wt% WEH and the limits of a window and of stops.

    Homogeneous ground, epithermal deficit at k sigma with the instrument's systematics
    (:func:`lupex.instruments.neutron.detection_time_s`): the stop time for 0.5 wt% WEH (the NSS requirement)
    and the limits reached in one survey window and in 1, 10 and 60 min stops. It depends on the instrument
    and the window only, so a campaign's many legs compute it once (a copy each).
    """
    return copy.deepcopy(_ns_detection_of(ns, float(prm.ns_window_s), float(k_sigma)))


@lru_cache(maxsize=8)
def _ns_detection_of(ns, window_s: float, k_sigma: float) -> dict:
    stops = {"window": window_s, "1 min": 60.0, "10 min": 600.0, "60 min": 3600.0}
    lim = neutron.detection_limit_wt_pct(np.array(list(stops.values())), k_sigma, ns)
    t = np.geomspace(1.0, 3600.0, 40)
    curves = {f"{f:g}": [float(v) for v in neutron.detection_limit_wt_pct(t, k_sigma, dataclasses.replace(
        ns, systematic_frac=f))] for f in sorted({0.01, ns.systematic_frac, 0.03})}
    return dict(k_sigma=k_sigma, systematic_frac=ns.systematic_frac,
                time_for_0p5_wt_pct_s=float(neutron.detection_time_s(0.5, k_sigma, ns)),
                limit_wt_pct={k: float(v) for k, v in zip(stops, lim)},
                floor_wt_pct=float(neutron.detection_limit_wt_pct(1e9, k_sigma, ns)),
                curve_time_s=[float(v) for v in t], curve_limit_wt_pct_by_systematics=curves)


def _elevation(dem, x, y):
    if dem is None:
        return np.full(np.shape(x), np.nan)
    g = Grid.of(dem)
    iy, ix = g.index(x, y)
    return np.asarray(dem.values, float)[iy, ix]


def _binned_median(s, val, sig, s0, s1):
    s, val, sig = (np.asarray(a, float) for a in (s, val, sig))
    med = np.full(len(s0), np.nan)
    msig = np.full(len(s0), np.nan)
    n = np.zeros(len(s0), np.int64)
    for k, (a, b) in enumerate(zip(s0, s1)):
        m = (s >= a) & (s < b) & np.isfinite(val) & np.isfinite(sig)
        n[k] = int(m.sum())
        if n[k]:
            med[k] = float(np.median(val[m]))
            msig[k] = float(np.median(sig[m]))
    return med, msig, n


def _binned_first(s, val, sig, s0, s1):
    i = np.searchsorted(s, s0, side="left")
    ok = (i < len(s)) & (np.asarray(s)[np.minimum(i, len(s) - 1)] < s1)
    j = np.minimum(i, len(s) - 1)
    return np.where(ok, np.asarray(val, float)[j], np.nan), np.where(ok, np.asarray(sig, float)[j], np.nan)


def _scores(ret, gwin, alis_df, prm: SurveyParams) -> pd.DataFrame:
    rows = []
    reach = gwin["true_ice_table_depth_m"] < 1.5
    g = gwin[gwin["single_cell"] & reach]
    rows.append(score_rows("ice-table depth (m)", "GPR (1 m windows)", g["ice_depth_m"], g["ice_depth_sigma_m"],
                           g["true_ice_table_depth_m"]))
    gw = gwin[gwin["single_cell"] & reach]
    rows.append(score_rows("WEH below the ice table (wt%)", "GPR (1 m windows)", gw["weh_below_wt_pct"],
                           gw["weh_below_sigma_wt_pct"], gw["true_weh_wt_pct"]))
    # the two-layer fit's wet layer exists only over ice within its reach: score it there
    rb = ret[ret["single_cell"] & (ret["true_ice_table_depth_m"] < prm.ns_depth_max_m)]
    rows.append(score_rows("WEH of the wet layer (wt%)", "NS", rb["ns_weh_wt_pct"], rb["ns_weh_sigma_wt_pct"],
                           rb["true_weh_wt_pct"], rb["ns_weh_lo95_wt_pct"], rb["ns_weh_hi95_wt_pct"]))
    rows.append(score_rows("burial depth (m)", "NS", rb["ns_burial_depth_m"], rb["ns_burial_depth_sigma_m"],
                           rb["true_ice_table_depth_m"], rb["ns_burial_lo95_m"], rb["ns_burial_hi95_m"]))
    rows.append(score_rows("surface water (wt%)", "ALIS", alis_df["water_wt_pct"], alis_df["water_sigma_wt_pct"],
                           alis_df["true_water_wt_pct"]))
    return pd.DataFrame(rows)


def _detection(gwin) -> dict:
    """GPR picks where ice is within 1.2 m (detection rate) and where there is no ice (false picks)."""
    ice = (gwin["true_ice_table_depth_m"] < 1.2).to_numpy()
    dry = (~np.isfinite(gwin["true_ice_table_depth_m"])).to_numpy()
    picked = np.isfinite(gwin["ice_depth_m"]).to_numpy()
    return dict(gpr_windows_with_ice=int(ice.sum()), gpr_windows_without_ice=int(dry.sum()),
                gpr_detection_rate=float(picked[ice].mean()) if ice.any() else float("nan"),
                gpr_false_pick_rate=float(picked[dry].mean()) if dry.any() else float("nan"))


def radargram_dataset(result: SurveyResult) -> xr.Dataset:
    """The radargram as an xarray Dataset (float32 amplitudes, trace positions, time axis)."""
    rg = result.radargram
    g = result.gpr
    cfg = dataclasses.asdict(rg.config)
    return xr.Dataset(
        {"amplitude": (("trace", "sample"), np.asarray(rg.data, np.float32),
                       {"units": "1", "long_name": "received amplitude relative to the direct coupling"})},
        coords={"trace": np.arange(rg.data.shape[0]), "time_s": ("sample", rg.time_s),
                "s_m": ("trace", g["s_m"].to_numpy()), "x_m": ("trace", g["x_m"].to_numpy()),
                "y_m": ("trace", g["y_m"].to_numpy())},
        attrs={"dt_s": rg.dt_s, "gpr_config_json": json.dumps(cfg), "title": "lupex survey radargram"})


def write_survey(result: SurveyResult, outdir) -> list[Path]:
    """Write every survey product into ``outdir`` (each file atomically); returns the paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        write_dataframe(out / "survey_ns.parquet", result.ns),
        write_dataframe(out / "survey_gpr.parquet", result.gpr),
        write_dataframe(out / "survey_gpr_windows.parquet", result.gpr_windows),
        write_netcdf(out / "survey_radargram.nc", radargram_dataset(result), crs=_map_crs(result.ice_map)),
        write_dataframe(out / "survey_alis.parquet", result.alis),
        write_dataframe(out / "survey_emsl.parquet", result.emsl),
        write_dataframe(out / "survey_retrievals.parquet", result.retrievals),
    ]
    summary = dict(length_m=result.length_m, path_xy_m=result.path_xy.tolist(),
                   params=dataclasses.asdict(result.params),
                   alis_wavelength_um=np.asarray(result.alis_wavelength_um).tolist(),
                   scores=result.scores.to_dict(orient="records"), emsl_fit=result.emsl_fit.to_dict(orient="records"),
                   **result.summary)
    paths.append(write_json(out / "survey_summary.json", _finite_json(summary)))
    return paths


def _map_crs(da):
    """The CRS attached to a map, or None (the trace x_m / y_m of the radargram are in it)."""
    try:
        return da.rio.crs
    except Exception:  # not a georeferenced DataArray
        return None


def _finite_json(o):
    if isinstance(o, dict):
        return {k: _finite_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite_json(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o
