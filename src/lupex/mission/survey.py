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

Traverse planning never reads the truth's ice (the survey is how the mission
learns it): :func:`first_traverse_goal` is the nearest orbital prior-ice region
(the depth to stable ice from the surface temperatures, as a mission has it from
orbit; the campaign's own area choice, :func:`lupex.mission.campaign._survey_centre`,
on the cells the rover planner accepts), and a run drives there along the path of
the real rover planner (:mod:`lupex.rover.planner`: slopes, light, battery and
Earth visibility; :func:`lupex.mission.rover_phase.run_rover`).
:func:`default_traverse` is the fallback without a light series: straight (or
dog-leg) legs toward the same prior, ignoring slopes, light and comms.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from lupex.errors import ConfigError, InputError
from lupex.io import write_dataframe, write_json, write_netcdf
from lupex.params import ASSUMED, check_non_negative, check_pair, check_positive, check_range, check_rng, param

log = logging.getLogger("lupex.survey")

EMSL_SPECIES = ("He", "Ar", "H2O")


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
        from lupex.instruments.gpr_velocity import VELOCITY_MODELS
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


# ----------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class _Path:
    xy: np.ndarray       # vertices without repeats
    cum_m: np.ndarray    # cumulative length at each vertex
    seg: np.ndarray      # segment vectors
    seg_len_m: np.ndarray

    @property
    def length_m(self) -> float:
        return float(self.cum_m[-1])

    def at(self, s_m):
        """(x, y, heading grid azimuth deg) at along-track distances ``s_m``."""
        s = np.clip(np.asarray(s_m, float), 0.0, self.length_m)
        i = np.clip(np.searchsorted(self.cum_m, s, side="right") - 1, 0, len(self.seg_len_m) - 1)
        f = (s - self.cum_m[i]) / self.seg_len_m[i]
        xy = self.xy[i] + f[:, None] * self.seg[i]
        heading = np.degrees(np.arctan2(self.seg[i, 0], self.seg[i, 1])) % 360.0
        return xy[:, 0], xy[:, 1], heading


def _as_path(path_xy) -> _Path:
    p = np.asarray(path_xy, float)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 2:
        raise InputError("the path must be an (n, 2) array of at least two (x, y) vertices in metres")
    if not np.all(np.isfinite(p)):
        raise InputError("the path contains NaN or infinite coordinates")
    seg = np.diff(p, axis=0)
    keep = np.r_[True, np.hypot(seg[:, 0], seg[:, 1]) > 1e-9]
    p = p[keep]
    if p.shape[0] < 2:
        raise InputError("the path has zero length: give at least two distinct vertices")
    seg = np.diff(p, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    return _Path(p, np.r_[0.0, np.cumsum(seg_len)], seg, seg_len)


@dataclass(frozen=True)
class _Grid:
    x: np.ndarray
    y: np.ndarray
    dx: float
    dy: float

    @classmethod
    def of(cls, da) -> _Grid:
        x = np.asarray(da["x"].values, float)
        y = np.asarray(da["y"].values, float)
        if x.size < 2 or y.size < 2:
            raise InputError("the ground truth grid must have at least 2 x 2 cells")
        return cls(x, y, float(x[1] - x[0]), float(y[1] - y[0]))

    def bounds(self):
        hx, hy = abs(self.dx) / 2, abs(self.dy) / 2
        return self.x.min() - hx, self.x.max() + hx, self.y.min() - hy, self.y.max() + hy

    def contains(self, x, y):
        x0, x1, y0, y1 = self.bounds()
        x, y = np.asarray(x, float), np.asarray(y, float)
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)

    def index(self, x, y):
        ix = np.clip(np.round((np.asarray(x, float) - self.x[0]) / self.dx).astype(np.int64), 0, self.x.size - 1)
        iy = np.clip(np.round((np.asarray(y, float) - self.y[0]) / self.dy).astype(np.int64), 0, self.y.size - 1)
        return iy, ix


def _check_on_grid(path: np.ndarray, grid: _Grid, what: str = "path") -> None:
    inside = grid.contains(path[:, 0], path[:, 1])
    if not inside.all():
        k = int(np.flatnonzero(~inside)[0])
        x0, x1, y0, y1 = grid.bounds()
        raise InputError(f"{what} vertex {k} at ({path[k, 0]:.1f}, {path[k, 1]:.1f}) m is off the DEM "
                         f"(x {x0:.1f}..{x1:.1f}, y {y0:.1f}..{y1:.1f} m); move it inside the site")


def _cell_runs(path: _Path, grid: _Grid):
    """Along-track edges (m) where the path enters a new grid cell, and the cell (iy, ix) of each run."""
    cuts = [path.cum_m]
    for j in range(len(path.seg_len_m)):
        a, d = path.xy[j], path.seg[j]
        for coord, centres, step in ((0, grid.x, grid.dx), (1, grid.y, grid.dy)):
            if abs(d[coord]) < 1e-12:
                continue
            b = centres[:-1] + step / 2            # cell boundaries between centres
            f = (b - a[coord]) / d[coord]
            f = f[(f > 0) & (f < 1)]
            cuts.append(path.cum_m[j] + f * path.seg_len_m[j])
    s = np.unique(np.concatenate(cuts))
    s = s[np.r_[True, np.diff(s) > 1e-9]]
    s[-1] = path.length_m
    mid = 0.5 * (s[:-1] + s[1:])
    x, y, _ = path.at(mid)
    iy, ix = grid.index(x, y)
    change = np.r_[True, (np.diff(iy) != 0) | (np.diff(ix) != 0)]
    edges = np.r_[s[:-1][change], s[-1]]
    return edges, iy[change], ix[change]


# ----------------------------------------------------------------------------- columns


class ColumnCache:
    """Ground-truth columns built once per grid cell (rock-free; rocks are added per trace)."""

    def __init__(self, truth, depth_m: float = 2.0, dz_m: float = 0.01):
        self.truth, self.depth_m, self.dz_m = truth, depth_m, dz_m
        self.grid = _Grid.of(truth.dataset)
        self._cols: dict = {}
        self.built = 0

    def get(self, iy: int, ix: int):
        key = (int(iy), int(ix))
        c = self._cols.get(key)
        if c is None:
            c = self.truth.column(float(self.grid.x[key[1]]), float(self.grid.y[key[0]]), depth_m=self.depth_m,
                                  dz_m=self.dz_m, rock_search_m=0.0)
            if c.rocks:
                c = dataclasses.replace(c, rocks=())
            self._cols[key] = c
            self.built += 1
        return c


def rocks_along_path(rocks: pd.DataFrame, path_xy, search_m: float, depth_max_m: float) -> pd.DataFrame:
    """Buried rocks within ``search_m`` (cross-track) of a path: along-track ``s_m``, signed ``cross_m``
    (positive to the right of travel), depth and radius. Rocks reaching the surface (depth <= radius) or
    below ``depth_max_m`` are left out. Sorted by ``s_m``."""
    path = _as_path(path_xy)
    cols = ["s_m", "cross_m", "depth_m", "radius_m", "x_m", "y_m"]
    if rocks is None or not len(rocks):
        return pd.DataFrame({c: np.zeros(0) for c in cols})
    x, y = rocks["x_m"].to_numpy(float), rocks["y_m"].to_numpy(float)
    d, r = rocks["depth_m"].to_numpy(float), rocks["radius_m"].to_numpy(float)
    lo, hi = path.xy.min(axis=0) - search_m, path.xy.max(axis=0) + search_m
    sel = np.flatnonzero((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & (d > r) & (d - r < depth_max_m))
    if sel.size == 0:
        return pd.DataFrame({c: np.zeros(0) for c in cols})
    px, py = x[sel], y[sel]
    rel_x = px[:, None] - path.xy[None, :-1, 0]
    rel_y = py[:, None] - path.xy[None, :-1, 1]
    u = path.seg / path.seg_len_m[:, None]
    t = rel_x * u[None, :, 0] + rel_y * u[None, :, 1]                    # along each segment (m)
    cross = rel_x * u[None, :, 1] - rel_y * u[None, :, 0]                # right of travel
    tc = np.clip(t, 0.0, path.seg_len_m[None, :])
    dist = np.hypot(rel_x - tc * u[None, :, 0], rel_y - tc * u[None, :, 1])
    j = np.argmin(dist, axis=1)
    k = np.arange(sel.size)
    s = path.cum_m[j] + t[k, j]
    cr = cross[k, j]
    ok = (np.abs(cr) <= search_m) & (s >= 0) & (s <= path.length_m) & (dist[k, j] <= search_m)
    out = pd.DataFrame({"s_m": s[ok], "cross_m": cr[ok], "depth_m": d[sel][ok], "radius_m": r[sel][ok],
                        "x_m": px[ok], "y_m": py[ok]})
    return out.sort_values("s_m", kind="stable").reset_index(drop=True)


def gpr_columns(cache: ColumnCache, path_xy, positions_m, rocks: pd.DataFrame | None = None):
    """One column per trace at ``positions_m`` (shared per cell), rocks attached to their nearest trace."""
    from lupex.subsurface.profile import Rock

    path = _as_path(path_xy)
    p = np.asarray(positions_m, float)
    x, y, _ = path.at(p)
    iy, ix = cache.grid.index(x, y)
    cols = [cache.get(a, b) for a, b in zip(iy, ix)]
    if rocks is not None and len(rocks):
        near = np.clip(np.searchsorted(p, rocks["s_m"].to_numpy()), 0, p.size - 1)
        prev = np.clip(near - 1, 0, p.size - 1)
        s_r = rocks["s_m"].to_numpy()
        near = np.where(np.abs(p[prev] - s_r) < np.abs(p[near] - s_r), prev, near)
        extra: dict[int, list] = {}
        for i, row in zip(near, rocks.itertuples(index=False)):
            extra.setdefault(int(i), []).append(Rock(float(row.depth_m), float(row.radius_m), float(row.cross_m),
                                                     float(row.s_m - p[i])))
        for i, rk in extra.items():
            cols[i] = dataclasses.replace(cols[i], rocks=tuple(rk))
    return cols


# ----------------------------------------------------------------------------- instruments


def _rngs(seed, rng):
    if (seed is None) == (rng is None):
        raise InputError("give exactly one of seed= (an integer) or rng= (a numpy.random.Generator)")
    if rng is not None:
        check_rng(rng)
        ss = np.random.SeedSequence(int(rng.integers(0, 2**63)))
    else:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {seed!r}")
        ss = np.random.SeedSequence(int(seed))
    return dict(zip(("gpr", "ns", "alis", "emsl"), (np.random.default_rng(s) for s in ss.spawn(4))))


NS_DETECT_LO95_WT_PCT = 0.3
"""The NS "sees" a wet layer where its WEH 95 % lower bound is above this: over dry ground the lower bound sits
at the retrieval grid's floor (its lowest cell is 20/161 = 0.12 wt% wide), over ice within ~0.6 m it is
0.4-2.4 wt% (the 10-90 % range of the small test site's windows)."""


def _site_priors(truth) -> dict:
    """What a mission would assume without the truth: the site-mean FeO+TiO2 (orbital), the mean dry
    (background) hydrogen, and the Carrier density of the top 0.6 m (the regolith model)."""
    from lupex.subsurface import regolith

    ds = truth.dataset
    z = np.linspace(0.005, 0.595, 60)
    rho = float(np.mean(regolith.density_kg_m3(z, ds.attrs["density_model"])))
    return dict(feo_tio2_wt_pct=float(ds["feo_tio2_wt_pct"].mean()),
                dry_weh_wt_pct=float(ds["dry_weh_wt_pct"].mean()), density_kg_m3=rho)


def _run_gpr(cache, path, truth, rng, prm: SurveyParams, gpr_config, priors):
    from lupex.instruments import gpr

    L = path.length_m
    p = np.arange(0.0, L + prm.gpr_spacing_m / 2, prm.gpr_spacing_m)
    p = p[p <= L + 1e-9]
    if p.size < prm.gpr_window_traces:
        raise InputError(f"the path ({L:.2f} m) is too short for one GPR window of {prm.gpr_window_traces} traces "
                         f"at {prm.gpr_spacing_m} m; give a longer path")
    rocks = rocks_along_path(truth.rocks, path.xy, prm.rock_search_m, prm.column_depth_m)
    cols = gpr_columns(cache, path.xy, p, rocks)
    rg = gpr.forward_radargram(cols, p, rng=rng, config=gpr_config or gpr.GprConfig())
    # rocks of unknown size and cross-track position: fit radius and offset with each hyperbola (unless
    # gpr_fit_rock_size is off); the truth's ice fills the pores of the regolith (bulk density rises below
    # the table): that is the ground truth's convention, not a setting
    res = gpr.retrieve(rg, window_traces=prm.gpr_window_traces, feo_tio2_wt_pct=priors["feo_tio2_wt_pct"],
                       radius_m=None if prm.gpr_fit_rock_size else 0.0, aperture_m=prm.gpr_aperture_m,
                       max_fits=prm.gpr_max_fits, snr=prm.gpr_pick_snr, ice="pores",
                       weh_above_wt_pct=priors["dry_weh_wt_pct"],
                       eps_prior=gpr.VelocityModel.prior(prm.gpr_velocity_model, prm.gpr_eps_prior))
    return p, rg, gpr.drop_surface_picks(res, rg.config.centre_frequency_hz, prm.gpr_min_pick_periods), rocks


def _run_ns(cache, path, rng, prm: SurveyParams, ns, priors):
    from lupex.instruments import neutron

    L = path.length_m
    edges, iy, ix = _cell_runs(path, cache.grid)
    rates = np.array([neutron.expected_rates_cps(cache.get(a, b), ns) for a, b in zip(iy, ix)])
    T = L / prm.speed_m_s
    n = int(np.floor(T * prm.ns_rate_hz + 1e-9))
    if n < 2:
        raise InputError(f"the path ({L:.2f} m) is too short for two neutron samples at {prm.ns_rate_hz} Hz")
    t = np.arange(n + 1) / prm.ns_rate_hz
    s = t * prm.speed_m_s
    if edges.size == 2:     # a single cell: give the footprint a flat ground on both sides
        edges = np.array([edges[0] - 1.0, edges[1] + 1.0])
    ce, ct, me, mt = neutron.simulate_track_counts(t, s, edges, rates[:, 0], rates[:, 1], rng,
                                                   fwhm_m=ns.footprint_fwhm_m, beta=ns.beaming_exponent)
    se, live, t0 = neutron.segment_counts(ce, t, prm.ns_window_s)
    st, _, _ = neutron.segment_counts(ct, t, prm.ns_window_s)
    # the regolith temperature under each window, from the site's thermal model (the ground truth's mean
    # temperatures ARE that model's output: a mission computes them from illumination, it does not fit them)
    wx, wy, _ = path.at((t0 + 0.5 * live) * prm.speed_m_s)
    wiy, wix = cache.grid.index(wx, wy)
    temps = np.array([neutron.sampling_temperature_k(cache.get(a, b)) for a, b in zip(wiy, wix)])
    post = neutron.retrieve_two_layer(se, st, live, ns=ns, feo_tio2_wt_pct=priors["feo_tio2_wt_pct"],
                                      density_kg_m3=priors["density_kg_m3"], temperature_k=temps,
                                      weh_top_wt_pct=priors["dry_weh_wt_pct"], depth_max_m=prm.ns_depth_max_m,
                                      weh_max_wt_pct=prm.ns_weh_max_wt_pct, weh_prior=prm.ns_weh_prior)
    samples = dict(t_start_s=t[:-1], t_end_s=t[1:], s_start_m=s[:-1], s_end_m=s[1:], epi_counts=ce, th_counts=ct,
                   epi_expected=me, th_expected=mt)
    win = dict(t_start_s=t0, live_s=live, s_start_m=t0 * prm.speed_m_s, s_end_m=(t0 + live) * prm.speed_m_s,
               epi_counts=se, th_counts=st)
    return samples, win, post, (edges, iy, ix, rates)


def _run_alis(cache, path, rng, prm: SurveyParams, ap):
    from lupex.instruments import alis

    L = path.length_m
    s = np.arange(0.0, L + 1e-9, prm.alis_every_m)
    x, y, _ = path.at(s)
    iy, ix = cache.grid.index(x, y)
    lam = alis.wavelengths_um(ap.channel_step_um)
    rows, spectra = [], []
    for k in range(s.size):
        c = cache.get(iy[k], ix[k])
        water = float(c.weh_wt_pct[0])
        temp = float(c.temperature_k[0])
        y_rad, sig = alis.simulate_spectrum(lam, water, temp, prm.alis_incidence_deg, prm.alis_emission_deg, rng,
                                            params=ap)
        r = alis.retrieve_water(lam, y_rad, prm.alis_incidence_deg, prm.alis_emission_deg, sigma=sig,
                                temperature_k=temp, params=ap)
        rows.append((r.water_wt_pct, r.water_sigma_wt_pct, r.band_depth, water, temp))
        spectra.append(y_rad.astype(np.float64))
    a = np.array(rows, float).reshape(-1, 5)
    df = pd.DataFrame(dict(s_m=s, t_s=s / prm.speed_m_s, x_m=x, y_m=y, water_wt_pct=a[:, 0],
                           water_sigma_wt_pct=a[:, 1], band_depth=a[:, 2], true_water_wt_pct=a[:, 3],
                           temperature_k=a[:, 4], incidence_deg=prm.alis_incidence_deg,
                           emission_deg=prm.alis_emission_deg))
    df["radiance_w_m2_sr_m"] = spectra
    return df, lam


def _run_emsl(cache, path, rng, prm: SurveyParams, ion_trap, outgassing):
    from lupex.instruments import emsl

    iy, ix = cache.grid.index(path.xy[:1, 0], path.xy[:1, 1])
    temp = float(cache.get(iy[0], ix[0]).temperature_k[0])
    n = int(prm.emsl_duration_s // prm.emsl_dwell_s)
    t = prm.emsl_start_s + prm.emsl_dwell_s * np.arange(n)
    recs, fits = [], []
    for sp in EMSL_SPECIES:
        counts, mu = emsl.simulate_series(sp, t, temp, prm.emsl_lander_distance_m, prm.emsl_dwell_s, rng,
                                          outgassing=outgassing, ion_trap=ion_trap)
        f = emsl.separate_series(sp, t, counts, temp, prm.emsl_lander_distance_m, prm.emsl_dwell_s, fit_rover=False,
                                 ion_trap=ion_trap)
        nat_true = emsl.natural_density_cm3(sp, np.full(t.shape, temp), t)
        cont_true = emsl.contamination_density_cm3(sp, t, prm.emsl_lander_distance_m, temp, outgassing)
        recs.append(pd.DataFrame(dict(species=sp, t_s=t, counts=counts.astype(np.int64), expected_counts=mu,
                                      temperature_k=temp, distance_m=prm.emsl_lander_distance_m,
                                      dwell_s=prm.emsl_dwell_s, natural_fit_cm3=f.natural_cm3,
                                      contamination_fit_cm3=f.contamination_cm3, natural_true_cm3=nat_true,
                                      contamination_true_cm3=cont_true)))
        fits.append(dict(species=sp, temperature_k=temp, natural_ref_cm3=f.natural_ref_cm3,
                         natural_ref_sigma_cm3=f.natural_ref_sigma_cm3,
                         natural_ref_true_cm3=float(emsl.NATURAL_REF_CM3[sp]),
                         natural_mean_fit_cm3=float(np.mean(f.natural_cm3)), natural_mean_true_cm3=float(np.mean(nat_true)),
                         lander_rate_1d_s=f.lander_rate_1d_s, lander_rate_sigma_s=f.lander_rate_sigma_s,
                         decay_index=f.decay_index, decay_index_sigma=f.decay_index_sigma))
    return pd.concat(recs, ignore_index=True), pd.DataFrame(fits)


# ----------------------------------------------------------------------------- scoring


def _truth_at(truth, grid: _Grid, x, y):
    iy, ix = grid.index(x, y)
    ds = truth.dataset
    table = ds["ice_table_depth_m"].values[iy, ix]
    weh = ds["weh_wt_pct"].values[iy, ix]
    dry = ds["dry_weh_wt_pct"].values[iy, ix]
    wet = np.isfinite(table) & (weh > 0)
    return np.where(wet, table, np.inf), np.where(wet, weh, dry), np.where(table <= 0, weh, dry), iy, ix


def _single_cell(edges, s0, s1):
    """True where [s0, s1] lies inside one run of the path's cell sequence (``edges``: run edges,
    the path's ends included)."""
    inner = np.asarray(edges, float)[1:-1]
    return np.searchsorted(inner, s0, side="right") == np.searchsorted(inner, s1, side="left")


def score_rows(quantity: str, instrument: str, est, sig, true, lo95=None, hi95=None) -> dict:
    """RMSE, bias and coverage of estimates against truth (only rows where both are finite)."""
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


def run_survey(truth, dem, path_xy, outdir=None, *, seed: int | None = None, rng: np.random.Generator | None = None,
               speed_m_s: float = 0.1, gpr_spacing_m: float = 0.05, ns_rate_hz: float = 1.0,
               alis_every_m: float = 10.0, params: SurveyParams | None = None, gpr_config=None,
               neutron_spectrometer=None, alis_params=None, ion_trap=None, outgassing=None,
               write: bool = True) -> SurveyResult:
    """Drive ``path_xy`` ((n, 2) vertices, metres in the truth's CRS) over ``truth`` and run the traverse
    instruments; write ``survey_*.parquet``, ``survey_radargram.nc`` and ``survey_summary.json`` into
    ``outdir`` (each atomically) unless ``write`` is False. Give ``seed`` or ``rng``.

    ``params`` overrides every setting (then ``speed_m_s`` ... ``alis_every_m`` are ignored). The
    instruments' models (each default when None, the config tables of a run in brackets):
    ``gpr_config`` (:class:`lupex.instruments.gpr.GprConfig`, ``[gpr]``), ``neutron_spectrometer``
    (:class:`lupex.instruments.neutron.NeutronSpectrometer`, ``[neutron]``), ``alis_params``
    (:class:`lupex.instruments.alis.AlisParams`, ``[alis]``), ``ion_trap``
    (:class:`lupex.instruments.emsl.IonTrapParams`, ``[emsl]``) and ``outgassing``
    (:class:`lupex.instruments.emsl.Outgassing`, the lander's and rover's outgassing the EMS-L sees,
    ``[emsl_outgassing]``).
    """
    import time

    from lupex.instruments import alis, emsl, neutron
    from lupex.instruments.gpr import GprConfig

    t_start = time.perf_counter()
    prm = params or SurveyParams(speed_m_s=speed_m_s, gpr_spacing_m=gpr_spacing_m, ns_rate_hz=ns_rate_hz,
                                 alis_every_m=alis_every_m)
    gens = _rngs(seed, rng)
    path = _as_path(path_xy)
    grid = _Grid.of(truth.dataset)
    _check_on_grid(path.xy, grid)
    if dem is not None:
        _check_on_grid(path.xy, _Grid.of(dem))
    ns = neutron_spectrometer or neutron.NeutronSpectrometer()
    gpr_config = gpr_config or GprConfig()
    ap = alis_params or alis.AlisParams()
    ion_trap = ion_trap or emsl.IonTrapParams()
    outgassing = outgassing or emsl.Outgassing()
    cache = ColumnCache(truth, prm.column_depth_m, prm.column_dz_m)
    priors = _site_priors(truth)
    timings = {}

    t0 = time.perf_counter()
    p, rg, gres, rocks = _run_gpr(cache, path, truth, gens["gpr"], prm, gpr_config, priors)
    timings["gpr_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    samples, win, post, (edges, _iy, _ix, _rates) = _run_ns(cache, path, gens["ns"], prm, ns, priors)
    timings["ns_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    alis_df, lam = _run_alis(cache, path, gens["alis"], prm, ap)
    timings["alis_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    emsl_df, emsl_fit = _run_emsl(cache, path, gens["emsl"], prm, ion_trap, outgassing)
    timings["emsl_s"] = time.perf_counter() - t0

    # --- records
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
    sx, sy, _ = path.at(0.5 * (samples["s_start_m"] + samples["s_end_m"]))
    ns_df = pd.DataFrame(dict(sample=np.arange(sx.size), **samples, x_m=sx, y_m=sy))
    ns_df["epi_counts"] = ns_df["epi_counts"].astype(np.int64)
    ns_df["th_counts"] = ns_df["th_counts"].astype(np.int64)

    # --- retrievals along track, one row per NS window
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
    ret = pd.DataFrame(dict(
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
    scores = _scores(ret, gwin, alis_df, prm)
    xmin, ymin = path.xy.min(axis=0) - 150.0
    xmax, ymax = path.xy.max(axis=0) + 150.0
    ds = truth.dataset
    ice = ds["ice_table_depth_m"].where(np.isfinite(ds["ice_table_depth_m"]) & (ds["weh_wt_pct"] > 0))
    ice_map = ice.sel(x=slice(xmin, xmax), y=slice(ymax, ymin) if grid.dy < 0 else slice(ymin, ymax))
    timings["total_s"] = time.perf_counter() - t_start
    timings["columns_built"] = cache.built
    summary = dict(_detection(gwin), gpr_eps_top=gres.eps_top, gpr_eps_top_sigma=gres.eps_top_sigma,
                   gpr_eps_source=gres.eps_source, gpr_velocity_model=gres.velocity_model.describe(),
                   n_hyperbolas=len(gres.hyperbolas), rocks_near_path=len(rocks),
                   gpr_min_depth_m=gres.meta["min_depth_m"], gpr_surface_picks_dropped=gres.meta["n_surface_picks_dropped"],
                   priors=priors, ns_detection=_ns_detection(ns, prm),
                   instrument_params={k: dataclasses.asdict(v) for k, v in (
                       ("gpr", gpr_config), ("neutron", ns), ("alis", ap), ("emsl", ion_trap),
                       ("emsl_outgassing", outgassing))})
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
    """What the NS can detect (homogeneous ground, epithermal deficit at k sigma with the instrument's
    systematics; :func:`lupex.instruments.neutron.detection_time_s`): the stop time for 0.5 wt% WEH (the NSS
    requirement) and the limits reached in one survey window and in 1, 10 and 60 min stops. It depends on the
    instrument and the window only, so a campaign's many legs compute it once (a copy each)."""
    return copy.deepcopy(_ns_detection_of(ns, float(prm.ns_window_s), float(k_sigma)))


@lru_cache(maxsize=8)
def _ns_detection_of(ns, window_s: float, k_sigma: float) -> dict:
    from lupex.instruments import neutron

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
    g = _Grid.of(dem)
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


# ----------------------------------------------------------------------------- paths


def path_from_geojson(path, dem) -> np.ndarray:
    """Vertices (n, 2) in metres of the DEM's CRS from a GeoJSON LineString.

    Accepts a LineString geometry, a Feature holding one, or a FeatureCollection whose
    first LineString is taken. Coordinates are planetocentric lon/lat in degrees on the
    lunar sphere or projected metres in the DEM's CRS: a ``crs`` member naming a
    projected CRS (old GeoJSON style) decides; otherwise lon/lat (GeoJSON's convention) is
    taken when every vertex is a valid lon/lat landing on the DEM, metres when only the
    metres reading lands on it. A pole-centred DEM spans small metre values, so a lon/lat
    path there may also read as metres: lon/lat wins; add the ``crs`` member
    ``{"type": "name", "properties": {"name": "IAU_2015:30135"}}`` to force metres.
    A vertex off the DEM raises :class:`InputError` naming it.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"traverse file {p} does not exist; check the path given to --path")
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p} is not valid GeoJSON ({exc}); give a LineString of lon/lat or x/y vertices") from exc
    coords, crs_name = _linestring(obj, p)
    try:
        c = np.asarray(coords, float)
    except (TypeError, ValueError):
        raise InputError(f"{p}: LineString coordinates must be numbers [x, y] or [lon, lat]") from None
    if c.ndim != 2 or c.shape[0] < 2 or c.shape[1] < 2:
        raise InputError(f"{p}: a LineString needs at least two [x, y] or [lon, lat] vertices")
    c = c[:, :2]
    if not np.all(np.isfinite(c)):
        raise InputError(f"{p}: the LineString has NaN or infinite coordinates")
    grid = _Grid.of(dem)
    if crs_name is not None:
        projected = "4326" not in crs_name and "CRS84" not in crs_name.upper() and "30100" not in crs_name
        xy = c if projected else np.column_stack(_lonlat_to_xy(dem, c))
        _check_on_grid(xy, grid)
        return xy
    looks_lonlat = bool(np.all(np.abs(c[:, 0]) <= 360) and np.all(np.abs(c[:, 1]) <= 90))
    raw_ok = bool(grid.contains(c[:, 0], c[:, 1]).all())
    if looks_lonlat:
        xy = np.column_stack(_lonlat_to_xy(dem, c))
        ll_ok = bool(grid.contains(xy[:, 0], xy[:, 1]).all())
        if ll_ok:          # GeoJSON's own convention wins when both readings fit (RFC 7946: lon/lat)
            return xy
        if raw_ok:
            return c.copy()
        _check_on_grid(xy, grid)
        return xy
    _check_on_grid(c, grid)
    return c.copy()


def _lonlat_to_xy(dem, c):
    from lupex.terrain.geo import xy_from_lonlat

    return xy_from_lonlat(dem, c[:, 0], c[:, 1])


def _linestring(obj, p):
    crs = None
    if isinstance(obj, dict) and isinstance(obj.get("crs"), dict):
        crs = str(obj["crs"].get("properties", {}).get("name", "")) or None
    geoms = []
    if isinstance(obj, dict):
        t = obj.get("type")
        if t == "FeatureCollection":
            geoms = [f.get("geometry") for f in obj.get("features", []) if isinstance(f, dict)]
        elif t == "Feature":
            geoms = [obj.get("geometry")]
        else:
            geoms = [obj]
    for g in geoms:
        if isinstance(g, dict) and g.get("type") == "LineString":
            return g.get("coordinates"), crs
    kinds = sorted({str(g.get("type")) for g in geoms if isinstance(g, dict)})
    raise InputError(f"{p} holds no LineString (found {', '.join(kinds) or 'nothing'}); the traverse must be a "
                     "GeoJSON LineString")


def path_to_geojson(path_xy, dem) -> dict:
    """A GeoJSON Feature (lon/lat on the lunar sphere) of a path given in the DEM's metres."""
    from pyproj import Transformer

    from lupex.terrain.geo import dem_crs, lunar_geographic_crs

    crs = dem_crs(dem)
    tr = Transformer.from_crs(crs, lunar_geographic_crs(crs), always_xy=True)
    p = np.asarray(path_xy, float)
    lon, lat = tr.transform(p[:, 0], p[:, 1])
    from lupex.terrain.geo import geojson_crs_member

    auth = lunar_geographic_crs(crs).to_authority()
    out = {"type": "Feature", "properties": {"name": "traverse"},
           "geometry": {"type": "LineString", "coordinates": [[float(a), float(b)] for a, b in zip(lon, lat)]}}
    if auth:
        out["crs"] = geojson_crs_member(":".join(auth))
    return out


# ----------------------------------------------------------------------------- planning

TraversePlanner = Callable[..., np.ndarray]

#: the fields of a ground truth a mission knows before it measures (the orbital prior and the site's
#: regolith model); every other field (ice table, WEH, rocks) is learnt only along the rover's path
PRIOR_FIELDS = ("stability_depth_m", "t_max_surface_k", "t_mean_surface_k", "feo_tio2_wt_pct", "dry_weh_wt_pct")


def orbital_prior_ice(truth, ice_max_depth_m: float) -> np.ndarray:
    """Boolean map (the truth's grid): where the orbital prior lets ice be stable within ``ice_max_depth_m``
    (the depth to stable ice of the thermal model, Paige et al. 2010; not the ice itself)."""
    st_ = np.asarray(truth.dataset["stability_depth_m"].values, float)
    return np.isfinite(st_) & (st_ <= ice_max_depth_m)


def first_traverse_goal(truth, dem, landed_xy, params=None, rover=None) -> tuple[float, float]:
    """(x, y) m: where the first traverse goes, from the orbital prior only: the centre of the campaign's
    prospecting area (:func:`lupex.mission.campaign._survey_centre`: the nearest cell within
    ``approach_max_m`` whose ``area_half_m`` square holds at least 3/4 of the best prior-ice share in reach,
    on a cell the rover planner accepts and can reach from the landing site). ``params``: the run's
    :class:`lupex.mission.campaign.CampaignParams` (default its defaults); ``rover``: the vehicle. The landing
    site itself when no prior ice is in reach (then :func:`default_traverse` supplies the path)."""
    # imported here: the campaign imports this module at load time
    from lupex.mission import campaign as CP

    p = params or CP.CampaignParams()
    sx, sy = _site_xy(landed_xy)
    screen = CP._Screen(dem, None, (sx, sy), p, CP._rover_cost(rover, p)[2]) if dem is not None else None
    centre, _ = CP._survey_centre(truth, dem, (sx, sy), p, screen)
    return centre


def default_traverse(site, truth, *, min_length_m: float = 300.0, max_length_m: float = 1000.0,
                     ice_max_depth_m: float = 1.0, area_radius_m: float = 30.0, edge_margin_m: float = 20.0
                     ) -> np.ndarray:
    """A straight or dog-leg path from the landing site toward the nearest orbital prior-ice area.

    The fallback where no light series is at hand (it ignores slopes, light and comms); a run drives the
    rover planner's path to :func:`first_traverse_goal` instead. It reads only the orbital prior:
    prior-ice cells are those where ice can be stable within ``ice_max_depth_m``
    (:func:`orbital_prior_ice`), never the truth's ice table;
    an *area* is where at least half the cells within ``area_radius_m`` are prior-ice cells.
    The path heads straight for the nearest such cell and goes on past it until it is
    ``min_length_m`` long (capped at ``max_length_m`` and kept ``edge_margin_m`` inside
    the grid); if the straight line cannot reach ``min_length_m`` inside the grid, a
    second leg at right angles (toward the larger room) makes up the rest: a dog-leg.
    ``site`` is an (x, y) pair in metres, a row with ``x_m``/``y_m``, or a site analysis
    (its best-ranked site). Returns the (n, 2) vertices.
    """
    from scipy import ndimage

    sx, sy = _site_xy(site)
    grid = _Grid.of(truth.dataset)
    ds = truth.dataset
    table = ds["stability_depth_m"].values
    ice = orbital_prior_ice(truth, ice_max_depth_m)
    r_px = max(1, int(round(area_radius_m / abs(grid.dx))))
    yy, xx = np.mgrid[-r_px:r_px + 1, -r_px:r_px + 1]
    disk = (xx**2 + yy**2 <= r_px**2).astype(float)
    frac = ndimage.convolve(ice.astype(float), disk / disk.sum(), mode="constant")
    area = ice & (frac >= 0.5)
    if not area.any():
        area = ice
    x0, x1, y0, y1 = grid.bounds()
    x0, x1, y0, y1 = x0 + edge_margin_m, x1 - edge_margin_m, y0 + edge_margin_m, y1 - edge_margin_m
    if not (x0 <= sx <= x1 and y0 <= sy <= y1):
        raise InputError(f"landing site ({sx:.1f}, {sy:.1f}) m is not inside the ground truth grid "
                         f"(less {edge_margin_m:g} m margin)")
    if area.any():
        iy, ix = np.nonzero(area)
        d = np.hypot(grid.x[ix] - sx, grid.y[iy] - sy)
        k = int(np.argmin(d))
        tx, ty = grid.x[ix[k]], grid.y[iy[k]]
    else:   # no prior ice at all: head for the coldest ground
        k = np.unravel_index(int(np.argmin(ds["t_max_surface_k"].values)), table.shape)
        tx, ty = grid.x[k[1]], grid.y[k[0]]
    dvec = np.array([tx - sx, ty - sy])
    dist = float(np.hypot(*dvec))
    u = dvec / dist if dist > 1e-9 else np.array([0.0, 1.0])
    room = _room(sx, sy, u, (x0, x1, y0, y1))
    want = float(np.clip(max(dist + area_radius_m, min_length_m), min_length_m, max_length_m))
    leg1 = min(want, room)
    pts = [(sx, sy), (sx + leg1 * u[0], sy + leg1 * u[1])]
    if leg1 < min_length_m - 1e-6:
        ex, ey = pts[-1]
        best = None
        for v in (np.array([u[1], -u[0]]), np.array([-u[1], u[0]])):
            r = _room(ex, ey, v, (x0, x1, y0, y1))
            if best is None or r > best[0]:
                best = (r, v)
        leg2 = min(min_length_m - leg1, best[0])
        if leg2 > 1e-6:
            pts.append((ex + leg2 * best[1][0], ey + leg2 * best[1][1]))
    out = np.array(pts, float)
    if np.hypot(*(out[-1] - out[0])) < 1e-6:
        raise InputError("no room for a traverse inside the ground truth grid; use a larger site")
    return out


def _site_xy(site):
    if hasattr(site, "sites"):
        s = site.sites
        if not len(s):
            raise InputError("the site analysis found no landing site to start a traverse from")
        return float(s.iloc[0]["x_m"]), float(s.iloc[0]["y_m"])
    if hasattr(site, "__getitem__") and not isinstance(site, (tuple, list, np.ndarray)):
        try:
            return float(site["x_m"]), float(site["y_m"])
        except (KeyError, TypeError, IndexError):
            pass
    a = np.asarray(site, float).ravel()
    if a.size != 2 or not np.all(np.isfinite(a)):
        raise InputError("site must be an (x_m, y_m) pair in metres, a row with x_m and y_m, or a site analysis")
    return float(a[0]), float(a[1])


def _room(x, y, v, box):
    """Distance from (x, y) along unit vector v to the box edge."""
    x0, x1, y0, y1 = box
    t = np.inf
    for c, d, lo, hi in ((x, v[0], x0, x1), (y, v[1], y0, y1)):
        if d > 1e-12:
            t = min(t, (hi - c) / d)
        elif d < -1e-12:
            t = min(t, (lo - c) / d)
    return float(max(t, 0.0))


def plan_traverse(site, truth, planner: TraversePlanner | None = None, **kw) -> np.ndarray:
    """The traverse a run surveys: ``planner(site, truth, **kw)`` (default :func:`default_traverse`)."""
    return np.asarray((planner or default_traverse)(site, truth, **kw), float)
