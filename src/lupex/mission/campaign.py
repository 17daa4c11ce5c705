"""The six-month prospecting campaign: an adaptive plan against a fixed survey pattern.

After landing, the rover prospects the ground around the landed position with
the REAL lupex instrument chain (:func:`lupex.mission.survey.run_survey`: GPR,
neutron spectrometer, ALIS and EMS-L forward models and retrievals; and
:func:`lupex.mission.drilling.run_drilling`: the drill, REIWA and ISAP), twice,
from the same start, on the same ground truth and the same drive-energy budget:

* ``strategy`` (adaptive): repeated decision rounds. Each round fuses every
  neutron WEH retrieval so far into a Gaussian-process map whose
  hyperparameters are refitted by maximum marginal likelihood
  (:func:`lupex.prospect.fusion.fit_gp`; Rasmussen & Williams 2006, eq. 5.8),
  picks the next straight leg among candidate waypoints by mutual information
  per Wh (:func:`lupex.prospect.strategy.choose_drive`; Krause, Singh &
  Guestrin 2008, JMLR 9:235, eq. 5), weighted by the mean posterior probability
  that WEH exceeds ``weh_threshold_wt_pct`` along the leg (``threshold=``:
  information about ice, not about dry ground; a stated heuristic, not a
  lookahead), and drives and surveys it. Unweighted, the gain depends on the
  positions only, and on the default site the legs stayed on dry ground. When no leg is
  affordable any more, the fused WEH and ice-table maps choose the drill sites
  by expected water per hour (:func:`lupex.prospect.strategy.plan_drills`).
* ``lawnmower`` (fixed): boustrophedon lines over the same area at the spacing
  the same budget allows (:func:`lupex.prospect.strategy.lawnmower_spacing_for_budget`),
  then a drill grid (:func:`lupex.prospect.strategy.drill_grid`).

Both plans' waypoints and drill stops are then handed, as
:class:`lupex.rover.scheduler.Goal` s, to :func:`lupex.rover.scheduler.schedule`
over ``duration_days`` (180) on the light series of the area, so drives,
science, drilling, communication and hibernation form the rover's timeline
with energy, thermal and Earth-visibility constraints checked at every interval
(the decisions are taken first and timed afterwards: the objective depends on
what was measured, not on when). The timeline is haven-aware (see
:mod:`lupex.rover.scheduler`: every activity only while a haven that survives the next
dark period is still within reach, ``haven_margin_wh`` / ``haven_margin_h``); the cells a
plan may stop on (the area's centre, waypoints, drill sites) lie within
``haven_reach_h`` of driving from a haven that survives every dark period of the span,
when one exists (:func:`_near_haven`). A plan whose timeline cannot be built is assessed by
:mod:`lupex.mission.feasibility` (binding constraint, alternatives re-tried); its scores
carry ``timeline_flown = False`` (``timeline_status`` "infeasible"): what it would find, not
what it flew.

Observations fed to the maps (one GP per quantity, see
:func:`lupex.prospect.fusion.fuse_water_maps`):

* WEH: the neutron spectrometer's two-layer posterior as the Gaussian in
  ``log(WEH + c)`` with the same 68 % interval, one per ``ns_window_s`` window
  (not its mean, biased high along the WEH-burial degeneracy; see
  :func:`_survey_obs`);
* ice-table depth: the GPR window picks with their sigma; a window with no pick
  becomes a soft "deeper than the radar sees" pseudo-observation of
  ``2.0 +- 0.5 m`` (the same choice as :mod:`lupex.prospect.strategy`);
* surface water: ALIS retrievals.

Dense tracks are thinned by inverse-variance binning (``bin_m``) before the
exact GP fit.

Scores against the truth (:mod:`lupex.prospect.scoring`), per plan: WEH map
RMSE / MAE / bias, coverage of the 95 % interval, ice-table RMSE, the fraction
of the ice mass located (mass-weighted recall at ``weh_threshold_wt_pct``), the
located water in kg (WEH x dry bulk density, Carrier et al. 1991 via
:func:`lupex.subsurface.regolith.density_kg_m3`, x the wet thickness within the
drill's reach x cell area), drill hits and water measured (TRITON) vs true
(in situ), km driven, kWh used (drive energy of the straight-leg cost model
plus the drill's own energy), and water located per km and per kWh.

The true WEH the maps are scored against is the WEH of the wet layer where the
ice table lies within the drill's reach (``drill_depth_m``), the dry background
elsewhere: the water a LUPEX-class campaign can find and sample. The true
ice-table depth is clipped at 3 m (the map's upper bound; no ice = 3 m).

No oracle: the decisions (the area, every leg, the drill sites) read only the
survey's retrievals and the orbital prior (the depth to stable ice from the
surface temperatures, ``stability_depth_m``: :func:`_ice_prior`,
:func:`_reach_fraction`); the truth's ice table, WEH and rocks enter only through
the instruments along the driven path and the scores
(``tests/test_no_oracle.py`` changes them off the path and gets the same
decisions). The checkpoint fingerprint hashes the truth to refuse resuming on
another one; it decides nothing.

Resumable: after each round the whole campaign state (observations, path,
energy, the numpy Generators) is saved as ``campaign-strategy-round-NNN`` with a
pointer ``campaign-latest``; each later stage has its own checkpoint. A run
restarted with the same checkpoint directory continues from the last round and
ends with the same results as an uninterrupted run.

Simplifications (stated): the legs are straight lines between waypoints for
the survey and the budget (the scheduler routes on the DEM's 8-connected grid,
so its drive distance can differ slightly); the instruments do not record on
the drives to the drill sites; GPR traces every ``gpr_spacing_m`` (0.5 m by
default, not the instrument's 5 cm, to keep the campaign fast: the ice-table
picks come from 20-trace windows, 10 m long instead of 1 m).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import re
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from lupex.errors import ConfigError, InputError, LupexError
from lupex.mission import feasibility as F
from lupex.mission.checkpoint import NO_CHECKPOINTS, Checkpoints
from lupex.mission.survey import NS_DETECT_LO95_WT_PCT
from lupex.params import ASSUMED as _ASSUMED
from lupex.params import param as _p
from lupex.progress import NO_PROGRESS, Steps
from lupex.terrain.geo import geojson_crs_member

log = logging.getLogger("lupex.campaign")

__all__ = ["CampaignParams", "CampaignPlan", "CampaignResult", "CampaignInputs", "TruthFactory", "run_campaign",
           "campaign_window", "campaign_light", "campaign_monte_carlo", "monte_carlo_medians", "truth_factory_from_site",
           "write_campaign", "PLANS"]

PLANS = ("strategy", "lawnmower")
NO_ICE_DEPTH_M = 2.0
NO_ICE_SIGMA_M = 0.5
DEPTH_BOUNDS_M = (0.0, 3.0)


@dataclass(frozen=True)
class CampaignParams:
    """Settings of the prospecting campaign (flat: the ``[campaign]`` table of a run's configuration)."""

    duration_days: float = _p(180.0, "days", "length of the surface campaign timeline", "LUPEX: about six months on the surface")
    area_half_m: float = _p(200.0, "m", "half side of the square prospecting area around the nearest prior-ice region",
                            _ASSUMED + ": a few hundred metres, the scale of the LUPEX traverse studies")
    approach_max_m: float = _p(1000.0, "m", "farthest the prospecting area's centre may lie from the landing site "
                               "(the drive there counts in km and kWh; also sizes campaign_window)",
                               _ASSUMED + ": a ~1 km drive from a lit landing site to the cold traps nearby")
    drive_budget_wh: float = _p(1000.0, "Wh", "drive energy each plan may spend on surveying (the same for both plans)",
                                _ASSUMED + ": ~1.4 km at the rover's 250 W drive load and 0.1 m/s")
    rounds: int = _p(24, "-", "maximum decision rounds (legs) of the adaptive plan (it stops earlier when the "
                     "drive budget is spent)", "numerical")
    objective: str = _p("risk", "-", "what the adaptive plan's next leg maximises per Wh: 'risk' (expected reduction of "
                        "the water-mapping risk, weighted by the orbital prior) or 'information' (information gain, "
                        "weighted by P(WEH > threshold))", "lupex.prospect.strategy module notes")
    orbital_drift: bool = _p(True, "-", "use the orbital prior (the fraction of the drill column where ice is thermally "
                             "stable, from the thermal model) as an external drift of the WEH and ice-depth maps",
                             "kriging with an external drift: Wackernagel 2003 ch. 38; Hengl et al. 2007")
    drift_prior_sd: float = _p(2.0, "ln units", "prior SD of the drift's slope (log(WEH + c) per unit of the prior): "
                               "how strongly the maps may follow the orbital prior before the rover has seen both kinds "
                               "of ground", _ASSUMED + ": e^2 = 7x in WEH between never-stable and stable-at-the-surface "
                               "ground, either way")
    gp_max_length_m: float = _p(100.0, "m", "longest correlation length the maps' GP fits may take (the orbital drift "
                                "carries the larger scales)", _ASSUMED + ": polar ice is patchy on metres to tens of "
                                "metres at rover scale (Colaprete et al. 2010 LCROSS; the truth's own corr_length_m is "
                                "10 m); ground one rover leg away is not known from the track")
    leg_m: float = _p(120.0, "m", "reach of a candidate leg (also half of it is offered)", _ASSUMED)
    n_headings: int = _p(12, "-", "candidate headings per round", "numerical")
    min_leg_m: float = _p(25.0, "m", "shortest leg worth driving (two GPR windows and NS samples)", "numerical")
    leg_overhead_wh: float = _p(2.0, "Wh", "energy of a stop, turn and restart between legs", _ASSUMED)
    drills: int = _p(4, "-", "drill sites per plan", _ASSUMED + ": a handful of 1.5 m holes in six months")
    drill_depth_m: float = _p(1.5, "m", "drilling depth", "LUPEX drill reaches 1.5 m")
    drill_bite_m: float = _p(0.1, "m", "sampling interval of the drill", "lupex.mission.drilling default")
    drill_h: float = _p(4.0, "h", "lit hours of drilling and analysis per drill stop (timeline)", _ASSUMED)
    science_h: float = _p(1.0, "h", "lit hours of stationary science per waypoint (timeline)", _ASSUMED)
    min_drill_separation_m: float = _p(30.0, "m", "minimum distance between two drill sites", _ASSUMED)
    weh_threshold_wt_pct: float = _p(1.0, "wt%", "WEH above which ground counts as ice-bearing (scores)", _ASSUMED)
    speed_m_s: float = _p(0.1, "m/s", "survey driving speed (sets the NS integration per metre)", "rover speed_cmd_m_s")
    gpr_spacing_m: float = _p(0.5, "m", "GPR trace spacing in the campaign (the instrument does 0.05 m; coarser = faster)",
                              "numerical: 10x coarser than the survey default, see the module notes")
    gpr_window_traces: int = _p(20, "-", "GPR traces per retrieval window", "lupex.mission.survey default")
    ns_rate_hz: float = _p(1.0, "Hz", "neutron spectrometer sampling rate", "lupex.mission.survey default")
    ns_window_s: float = _p(50.0, "s", "neutron counts summed per retrieval window", "lupex.mission.survey default")
    alis_every_m: float = _p(30.0, "m", "ALIS spectrum spacing along track", _ASSUMED + ": coarser than the survey's 10 m, for speed")
    bin_m: float = _p(10.0, "m", "bin size for thinning retrievals before the GP fit", "numerical")
    gp_min_sd_log: float = _p(0.7, "ln units", "floor of the maps' fitted signal SD in their latent space (log(WEH + c) "
                              "for WEH): unvisited ground may differ from what was seen by at least this much",
                              _ASSUMED + ": polar WEH spans ~0.01-5 wt% (Lawrence et al. 2006 100-150 ppm H regionally; "
                              "LCROSS 5.6 wt% locally), a factor e^0.7 = 2 is a cautious lower bound at rover scale")
    kernel: str = _p("matern32", "-", "GP covariance kernel (matern32, matern52, se)", "Rasmussen & Williams 2006 eqs. 4.14-4.17")
    weh_offset_wt_pct: float = _p(0.1, "wt%", "offset c of the log(WEH + c) transform of the WEH GP", "lupex.prospect.fusion")
    ns_sigma_prior_wt_pct: float = _p(0.3, "wt%", "NS retrieval sigma assumed before the first retrieval", _ASSUMED)
    ns_dry_sigma_wt_pct: float = _p(0.3, "wt%", "unused since the NS windows carry their own 68 % intervals (kept for old configs): sigma of the dry-background WEH recorded where the NS sees no wet layer "
                                    "within its reach", _ASSUMED + ": below the ~1 wt% the NS resolves over a buried layer")
    max_slope_deg: float = _p(20.0, "deg", "waypoints and drill sites only on cells below this slope", "rover max_slope_deg")
    schedule: bool = _p(True, "-", "build the six-month timeline with the scheduler when a light series is given", "lupex option (a switch, not a physical value)")
    mc_seeds: int = _p(0, "-", "Monte Carlo campaigns over this many seeds in a run (0 = none)", "numerical: each ~1 min")
    haven_margin_wh: float = _p(100.0, "Wh", "energy every dark period must leave in the battery above soc_min at a "
                                "safe haven; an activity starts only if, when it ends, a haven that survives the next "
                                "dark period with this margin can still be reached before that period starts",
                                _ASSUMED + ": 2.5 % of the 4 kWh battery, for the heaters' warm-up transient (on "
                                "Site01 200 Wh leaves the 112 h night of late April 31 Wh short)")
    haven_margin_h: float = _p(1.0, "h", "how long before a haven's dark period the rover must have arrived there "
                               "(slack on the planned drive)", _ASSUMED + ": one hour of slack on a ~1 h drive")
    haven_reach_h: float = _p(3.0, "h", "the campaign area's centre, waypoints and drill sites lie within this static "
                              "drive time of a safe haven that survives every dark period of the span (when one exists)",
                              _ASSUMED + ": a few hundred metres at 0.1 m/s, the scale of VIPER's haven-to-haven "
                              "traverses (docs/REFERENCES.md#viper-ops)")
    command_wait_h: float = _p(24.0, "h", "each drive to a new stop is commanded over the direct-to-Earth link: it "
                               "starts when the Earth is next in view at the departure spot if that comes within this "
                               "many hours (the rover waits), otherwise at once as a stored sequence (an Earth-blind "
                               "area); 0 = no wait. Downlink is only in Earth view in any case",
                               "VIPER operations: drives commanded over the DTE link, safe havens through its "
                               "blackouts (docs/REFERENCES.md#viper-ops)")
    feasibility_search_s: float = _p(120.0, "s", "wall-time bound of the search for feasible alternatives when a plan's "
                                     "timeline is infeasible (bigger battery, shorter stays, an area nearer a haven)",
                                     "numerical")

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("int", int) and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
                raise ConfigError(f"campaign.{f.name} must be an integer, got {v!r}")
            if f.type in ("float", float) and (isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))
                                               or not math.isfinite(v)):
                raise ConfigError(f"campaign.{f.name} must be a finite number ({f.metadata['unit']}), got {v!r}")
            if f.type in ("bool", bool) and not isinstance(v, (bool, np.bool_)):
                raise ConfigError(f"campaign.{f.name} must be true or false, got {v!r}")
        for n in ("duration_days", "area_half_m", "drive_budget_wh", "leg_m", "min_leg_m", "drill_depth_m",
                  "drill_bite_m", "speed_m_s", "gpr_spacing_m", "ns_rate_hz", "ns_window_s", "alis_every_m", "bin_m",
                  "weh_offset_wt_pct", "ns_sigma_prior_wt_pct", "ns_dry_sigma_wt_pct", "gp_min_sd_log", "max_slope_deg", "weh_threshold_wt_pct",
                  "drift_prior_sd", "gp_max_length_m"):
            if not getattr(self, n) > 0:
                raise ConfigError(f"campaign.{n} must be > 0 ({self.__dataclass_fields__[n].metadata['unit']}), "
                                  f"got {getattr(self, n)!r}")
        for n in ("leg_overhead_wh", "drill_h", "science_h", "min_drill_separation_m", "approach_max_m",
                  "haven_margin_wh", "haven_margin_h", "haven_reach_h", "feasibility_search_s", "command_wait_h"):
            if getattr(self, n) < 0:
                raise ConfigError(f"campaign.{n} must be >= 0, got {getattr(self, n)!r}")
        for n, lo in (("rounds", 1), ("n_headings", 3), ("drills", 0), ("mc_seeds", 0), ("gpr_window_traces", 4)):
            if getattr(self, n) < lo:
                raise ConfigError(f"campaign.{n} must be >= {lo}, got {getattr(self, n)!r}")
        if self.drill_depth_m > 1.5:
            raise ConfigError(f"campaign.drill_depth_m = {self.drill_depth_m:g} m: the LUPEX drill reaches 1.5 m; give <= 1.5")
        if self.drill_bite_m > self.drill_depth_m:
            raise ConfigError("campaign.drill_bite_m must not exceed campaign.drill_depth_m")
        if self.min_leg_m > self.leg_m:
            raise ConfigError(f"campaign.min_leg_m ({self.min_leg_m:g} m) must not exceed campaign.leg_m ({self.leg_m:g} m)")
        if self.min_leg_m < self.gpr_spacing_m * self.gpr_window_traces:
            raise ConfigError(f"campaign.min_leg_m ({self.min_leg_m:g} m) is shorter than one GPR window "
                              f"({self.gpr_window_traces} x {self.gpr_spacing_m:g} m); raise it or shorten the window")
        if self.min_leg_m < 2 * self.speed_m_s / self.ns_rate_hz:
            raise ConfigError("campaign.min_leg_m is too short for two neutron samples; raise it")
        if self.objective not in ("risk", "information"):
            raise ConfigError(f"campaign.objective must be 'risk' or 'information', got {self.objective!r}")
        if self.kernel not in ("matern32", "matern52", "se"):
            raise ConfigError(f"campaign.kernel must be matern32, matern52 or se, got {self.kernel!r}")

    def survey_params(self, base=None):
        """The survey settings of a campaign leg: ``base`` (the run's ``[survey]`` table; default its defaults)
        with the campaign's own (coarser, faster) spacings and rates on top."""
        import dataclasses as _dc

        from lupex.mission.survey import SurveyParams

        return _dc.replace(base or SurveyParams(), speed_m_s=self.speed_m_s, gpr_spacing_m=self.gpr_spacing_m,
                            gpr_window_traces=self.gpr_window_traces, ns_rate_hz=self.ns_rate_hz,
                            ns_window_s=self.ns_window_s, alis_every_m=self.alis_every_m)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CampaignPlan:
    """One plan's campaign: path, legs, observations, maps, drilling, timeline and scores."""

    name: str
    path_xy: np.ndarray             # (n, 2) survey path vertices, m
    legs: pd.DataFrame              # one row per leg (strategy: per decision round)
    observations: dict              # "ns", "gpr", "alis" -> fusion.Observations (raw, unbinned)
    maps: xr.Dataset                # fused maps on the area grid
    drill_xy: np.ndarray            # (k, 2) drill sites in drilling order
    drilling: pd.DataFrame          # run_drilling table
    drill_sites: pd.DataFrame       # per site: measured (TRITON) and true water, reached depth
    survey_energy_wh: float
    survey_m: float
    drill_tour_m: float
    drill_tour_wh: float
    drill_energy_wh: float
    timeline: Any = None            # lupex.rover.scheduler.Timeline or None
    schedule_error: str = ""
    goal_times: tuple = ()          # arrival UTC (str) per goal, from the timeline
    goals: pd.DataFrame | None = None
    scores: dict = field(default_factory=dict)
    approach_m: float = 0.0         # straight drive from the landing site to the area's centre
    approach_wh: float = 0.0


@dataclass(frozen=True)
class CampaignResult:
    params: CampaignParams
    seed: int
    start_xy: tuple
    start_utc: str
    area: tuple                     # (x_min, x_max, y_min, y_max) of the cell centres, m
    truth: xr.Dataset               # weh_wt_pct, ice_depth_m, water_kg on the area grid
    plans: dict                     # name -> CampaignPlan
    scores: pd.DataFrame            # one row per plan
    budget_wh: float
    outdir: Path | None = None
    timings_s: dict = field(default_factory=dict)
    survey_centre_xy: tuple = ()    # centre of the area (the nearest prior-ice region); start_xy = landing site
    prior_share: float = 0.0        # share of the area's cells where the orbital prior allows ice in reach
    feasibility: dict = field(default_factory=dict)  # plan -> lupex.mission.feasibility.Feasibility


# ----------------------------------------------------------------------------- helpers


def _rover_cost(vehicle, p: CampaignParams):
    """Straight-leg cost from the vehicle: drive load over flat-ground speed (Wh/m), plus a stop overhead."""
    from lupex.prospect.strategy import straight_line_cost
    from lupex.rover import mobility
    from lupex.rover.vehicle import RoverParams

    rover = vehicle or RoverParams()
    v = float(mobility.speed_m_s(0.0, rover))
    wh_per_m = rover.loads.drive_w / v / 3600.0
    return straight_line_cost(wh_per_m=wh_per_m, m_per_h=v * 3600.0, wh_per_leg=p.leg_overhead_wh,
                              h_per_leg=p.leg_overhead_wh / max(rover.loads.drive_w, 1e-9)), wh_per_m, rover


def _grid_of(da):
    x = np.asarray(da["x"].values, float)
    y = np.asarray(da["y"].values, float)
    return x, y


def _area_for(truth_ds: xr.Dataset, dem, start_xy, half_m: float):
    """Cell-centre rectangle of the area: the square around the start, clipped to the truth (and DEM)."""
    from lupex.prospect.strategy import Area

    x, y = _grid_of(truth_ds)
    if x.size < 3 or y.size < 3:
        raise InputError("the ground truth grid must have at least 3 x 3 cells for a campaign")
    dx, dy = abs(x[1] - x[0]), abs(y[1] - y[0])
    sx, sy = (float(v) for v in start_xy)
    boxes = [(x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2, "ground truth grid")]
    if dem is not None:
        dxx, dyy = _grid_of(dem)
        px = abs(dxx[1] - dxx[0]) if dxx.size > 1 else 0.0
        py = abs(dyy[1] - dyy[0]) if dyy.size > 1 else 0.0
        boxes.append((dxx.min() - px / 2, dxx.max() + px / 2, dyy.min() - py / 2, dyy.max() + py / 2, "DEM"))
    for x0, x1, y0, y1, what in boxes:
        if not (np.isfinite(sx) and np.isfinite(sy) and x0 <= sx <= x1 and y0 <= sy <= y1):
            raise InputError(f"campaign start ({sx:.1f}, {sy:.1f}) m is outside the {what} (x {x0:.1f}..{x1:.1f}, "
                             f"y {y0:.1f}..{y1:.1f} m); give the landed position on the site")
    xs = x[(x >= sx - half_m) & (x <= sx + half_m)]
    ys = y[(y >= sy - half_m) & (y <= sy + half_m)]
    if dem is not None:
        dxx, dyy = _grid_of(dem)
        xs = xs[(xs >= dxx.min()) & (xs <= dxx.max())]
        ys = ys[(ys >= dyy.min()) & (ys <= dyy.max())]
    if xs.size < 3 or ys.size < 3:
        raise InputError(f"the campaign area ({2 * half_m:g} m square around the start) holds fewer than 3 x 3 cells "
                         f"of the ground truth ({dx:g} m pixels); raise campaign.area_half_m")
    return Area(float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))


def _sel_area(obj, area, pad: float = 0.0):
    y = np.asarray(obj["y"].values, float)
    ysl = slice(area.y_max + pad, area.y_min - pad) if y.size > 1 and y[1] < y[0] else slice(area.y_min - pad, area.y_max + pad)
    return obj.sel(x=slice(area.x_min - pad, area.x_max + pad), y=ysl)


def _truth_maps(gt, area, p: CampaignParams) -> xr.Dataset:
    """True WEH within drill reach (dry background elsewhere), ice-table depth (<= 3 m) and water mass per cell."""
    from lupex.subsurface import regolith

    ds = _sel_area(gt.dataset, area)
    table = np.asarray(ds["ice_table_depth_m"].values, float)
    weh = np.asarray(ds["weh_wt_pct"].values, float)
    dry = np.asarray(ds["dry_weh_wt_pct"].values, float)
    wet = np.isfinite(table) & (weh > 0)
    D = p.drill_depth_m
    reach = wet & (table < D)
    weh_true = np.where(reach, weh, dry)
    depth = np.where(wet, np.clip(table, 0.0, DEPTH_BOUNDS_M[1]), DEPTH_BOUNDS_M[1])
    z = np.linspace(0.005, D - 0.005, 150)
    rho = float(np.mean(regolith.density_kg_m3(z, ds.attrs.get("density_model", regolith.DEFAULT_DENSITY_MODEL))))
    x, y = _grid_of(ds)
    cell = abs(x[1] - x[0]) * abs(y[1] - y[0])
    thick = np.where(reach, np.maximum(D - np.maximum(table, 0.0), 0.0), 0.0)
    water_kg = weh_true / 100.0 * rho * thick * cell
    core = np.where(reach, weh * thick / D, dry)     # what a drill to D would measure, core-averaged
    out = xr.Dataset({"weh_wt_pct": (("y", "x"), weh_true), "ice_depth_m": (("y", "x"), depth),
                      "water_kg": (("y", "x"), water_kg), "core_weh_wt_pct": (("y", "x"), core)},
                     coords={"y": y, "x": x},
                     attrs={"density_kg_m3": rho, "drill_depth_m": D, "cell_area_m2": cell})
    crs = _crs(gt.dataset)
    if crs is not None:
        out = out.rio.write_crs(crs)
    return out


def _crs(obj):
    try:
        return obj.rio.crs
    except Exception:  # no rioxarray CRS: plain coordinates
        return None


class _Screen:
    """Where the rover may stop: the traverse planner's own cells (:func:`lupex.rover.planner.build_problem` on
    the light window the scheduler uses): passable, with a traversable edge, reachable from the landing site
    through the edge table, and (with a light series) lit at least ``MIN_LIT_FRACTION`` of the time so
    science and drilling can run. Without a light series the window is :func:`campaign_window` (slopes only).
    """

    MIN_LIT_FRACTION = 0.05

    def __init__(self, dem, light, landed, p: CampaignParams, rover):
        from lupex.rover import planner as P

        self.dem = dem
        lt = light if light is not None else _flat_light(dem, campaign_window(dem, landed, p))
        prob = P.build_problem(dem, lt, rover, P.PlannerParams(max_slope_deg=p.max_slope_deg))
        ok = prob.passable & (prob.tau > 0).any(axis=1)
        r, c = P.cell_of(dem, landed, "landing site")
        r, c = r - prob.row0, c - prob.col0
        if 0 <= r < prob.ny and 0 <= c < prob.nx and ok[r * prob.nx + c]:
            ok &= P.static_reachable(prob, r * prob.nx + c)
        if light is not None:
            ok &= (prob.sun > prob.dark_u8).mean(axis=0) >= self.MIN_LIT_FRACTION
        self.near_haven = None
        if light is not None:
            near = _near_haven(prob, rover, p)
            if near is not None and (ok & near).any():
                ok &= near
                self.near_haven = near.reshape(prob.ny, prob.nx)
        self.ok = ok.reshape(prob.ny, prob.nx)
        self.row0, self.col0 = prob.row0, prob.col0
        x, y = _grid_of(dem)
        self.x = x[self.col0:self.col0 + prob.nx]
        self.y = y[self.row0:self.row0 + prob.ny]
        self.bad: set = set()

    def _rc(self, xy):
        xy = np.asarray(xy, float).reshape(-1, 2)
        c = np.rint((xy[:, 0] - self.x[0]) / (self.x[1] - self.x[0])).astype(int)
        r = np.rint((xy[:, 1] - self.y[0]) / (self.y[1] - self.y[0])).astype(int)
        return r, c

    def ok_xy(self, xy) -> np.ndarray:
        r, c = self._rc(xy)
        inside = (r >= 0) & (r < self.ok.shape[0]) & (c >= 0) & (c < self.ok.shape[1])
        out = np.zeros(r.size, bool)
        out[inside] = self.ok[r[inside], c[inside]]
        for k in np.flatnonzero(out):
            if (int(r[k]), int(c[k])) in self.bad:
                out[k] = False
        return out

    def snap(self, xy, area=None) -> np.ndarray:
        """Each point unchanged if its cell is fine, else the nearest fine cell centre (inside ``area`` if given)."""
        xy = np.asarray(xy, float).reshape(-1, 2).copy()
        good = self.ok.copy()
        for r, c in self.bad:
            good[r, c] = False
        X, Y = np.meshgrid(self.x, self.y)
        if area is not None:
            good &= (X >= area.x_min - 1e-6) & (X <= area.x_max + 1e-6) & (Y >= area.y_min - 1e-6) & (Y <= area.y_max + 1e-6)
        if not good.any():
            raise InputError("no cell of the campaign area is passable and reachable from the landing site for the "
                             "rover planner; raise campaign.max_slope_deg or move the start")
        gx, gy = X[good], Y[good]
        fine = self.ok_xy(xy)
        for k in np.flatnonzero(~fine):
            j = int(np.argmin(np.hypot(gx - xy[k, 0], gy - xy[k, 1])))
            xy[k] = (gx[j], gy[j])
        return xy


def _near_haven(prob, rover, p: CampaignParams):
    """(ncell,) bool: cells within ``haven_reach_h`` of static driving from a candidate haven that survives every
    dark period of the series with ``haven_margin_wh`` (:func:`lupex.rover.havens.haven_index`); None when no
    candidate survives them all (the timeline then hops between havens in time, or reports itself infeasible)."""
    from lupex.rover import havens as H

    idx = H.haven_index(prob, rover, margin_wh=p.haven_margin_wh)
    every = idx.worst_need_wh <= prob.dmax_j / 3600.0 - p.haven_margin_wh
    if not every.any():
        return None
    drive_h = idx.to_haven_ticks[every].min(axis=0) * prob.tick_s / 3600.0
    return drive_h <= p.haven_reach_h


def _flat_light(dem, window):
    """A one-step, all-lit VisibilitySeries over ``window`` (only the planner's slope tables are wanted)."""
    from lupex.light.visibility import VisibilitySeries

    r0, r1, c0, c1 = window
    sh = (1, r1 - r0, c1 - c0)
    return VisibilitySeries(times=np.array(["2027-01-01T00:00:00"], "datetime64[ns]"), step_s=3600.0, row0=r0, col0=c0,
                            sun=np.full(sh, 255, np.uint8), earth=np.full(sh, 255, np.uint8),
                            sun_azimuth_deg=np.zeros(1), sun_elevation_deg=np.full(1, 1.0),
                            sun_distance_m=np.full(1, 1.496e11), earth_elevation_deg=np.full(1, 5.0))


def _is_steep(screen, xy, p):
    """True where a point is NOT a cell the rover planner accepts as a stop (see :class:`_Screen`)."""
    if screen is None:
        return np.zeros(len(np.asarray(xy).reshape(-1, 2)), bool)
    return ~screen.ok_xy(xy)


def _ice_prior(gt, p: CampaignParams) -> np.ndarray:
    """Where the orbital prior says ice can be within the drill's reach: the depth to stable ice (the truth's
    ``stability_depth_m``, from the surface temperatures of the thermal model: 0 where the surface T_max is
    below 110 K, Paige et al. 2010, Science 330:479) no deeper than ``drill_depth_m``. Not the ice itself."""
    st_ = np.asarray(gt.dataset["stability_depth_m"].values, float)
    return np.isfinite(st_) & (st_ <= p.drill_depth_m)


def _reach_fraction(gt, area, p: CampaignParams) -> xr.DataArray:
    """The orbital prior as a map (0-1): the fraction of the drill column below the depth to stable ice,
    ``clip((D - stability_depth) / D, 0, 1)`` (0 where ice is nowhere stable), on the truth's grid over the area
    and a margin. It drives the WEH and ice-depth maps' means (``campaign.orbital_drift``) and weights the
    adaptive plan's risk objective (the share of a cell's column that can hold water)."""
    ds = _sel_area(gt.dataset, area, pad=4 * float(abs(gt.dataset.x[1] - gt.dataset.x[0])))
    st_ = np.asarray(ds["stability_depth_m"].values, float)
    D = p.drill_depth_m
    f = np.where(np.isfinite(st_), np.clip((D - st_) / D, 0.0, 1.0), 0.0)
    return xr.DataArray(f, coords={"y": ds["y"].values, "x": ds["x"].values}, dims=("y", "x"),
                        name="orbital_ice_reach_fraction")


def _survey_centre(gt, dem, landed, p: CampaignParams, screen):
    """The centre of the prospecting area: the nearest cell to the landing site (within ``approach_max_m``,
    on a cell the rover planner accepts) whose ``area_half_m`` square holds at least ``PRIOR_SHARE`` of the best
    prior-ice share within reach; the landing site itself when no prior ice is in reach."""
    from scipy import ndimage

    prior = _ice_prior(gt, p).astype(float)
    x, y = _grid_of(gt.dataset)
    px = abs(x[1] - x[0])
    n = 2 * int(round(p.area_half_m / px)) + 1
    share = ndimage.uniform_filter(prior, size=n, mode="constant")
    X, Y = np.meshgrid(x, y)
    dist = np.hypot(X - landed[0], Y - landed[1])
    cand = dist <= p.approach_max_m
    if screen is not None:
        cand &= screen.ok_xy(np.column_stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    if dem is not None:
        dx, dy = _grid_of(dem)
        cand &= (X >= dx.min()) & (X <= dx.max()) & (Y >= dy.min()) & (Y <= dy.max())
    if not cand.any() or share[cand].max() <= 0:
        return (float(landed[0]), float(landed[1])), 0.0
    best = share[cand].max()
    ok = cand & (share >= PRIOR_SHARE * best)
    j = int(np.argmin(np.where(ok, dist, np.inf)))
    return (float(X.flat[j]), float(Y.flat[j])), float(share.flat[j])


PRIOR_SHARE = 0.75




def _latent_gaussian(tr, lo, hi, z=1.959963984540054):
    """(value, sigma) in original units of the Gaussian in ``tr``'s latent space whose central interval
    ``[lo, hi]`` spans +-``z`` sigma (1.96: a 95 % interval; 1: a 68 % one): centre the midpoint of the
    transformed bounds (the median of that Gaussian), latent sigma the half-width over ``z``, mapped back by the
    transform's derivative at the centre (as :mod:`lupex.prospect.fusion` maps it in)."""
    zl, zh = tr.forward(lo), tr.forward(hi)
    v = tr.inverse(0.5 * (zl + zh))
    return v, np.maximum((zh - zl) / (2 * z), 1e-6) / np.abs(tr.derivative(v))


def _gpr_model_sigma_m(sr) -> float:
    """The GPR pick's model error: the quarter-wavelength vertical resolution in the top layer, lambda / 4 =
    c / (4 f sqrt(eps')) (Annan 2009, in Jol (ed.), Ground Penetrating Radar: Theory and Applications, ch. 1),
    added in quadrature to each window's sigma. The picks' own sigmas (~0.01-0.02 m) leave out the wavelet's
    peak offset and the ground's variation within a 10 m window: their errors vs the truth are ~0.03 m."""
    from lupex.instruments.gpr_forward import GprConfig

    eps = float(sr.summary.get("gpr_eps_top", np.nan))
    eps = eps if np.isfinite(eps) and eps >= 1.0 else 3.0
    return 299_792_458.0 / (4.0 * GprConfig().centre_frequency_hz * math.sqrt(eps))


def _survey_obs(sr, p: CampaignParams):
    """Observations from a SurveyResult (see the module notes), what each retrieval really knows:

    * ``ns`` (WEH): the NS two-layer posterior (log-uniform WEH prior) is broad and right-skewed along the
      WEH-burial degeneracy: its mean is biased high (+3 wt% over ice) and its 68 % half-width in wt% too small
      for it. Each window becomes the Gaussian in the WEH map's latent space ``log(WEH + c)`` with the same
      central 68 % interval (centre: the interval's log-midpoint, ~ the posterior median; sigma: its latent
      half-width). Windows whose 95 % lower bound is above :data:`NS_DETECT_LO95_WT_PCT` are labelled ``ns``
      (a wet layer seen), the others ``ns_dry`` (the interval reaches ~0: over dry ground its centre is
      0.2-0.8 wt% and its sigma is wide enough to cover the dry background). Within a ``bin_m`` bin the
      windows' errors are taken as fully correlated (the prior-driven skew is shared along track), so
      binning does not shrink them (:func:`lupex.prospect.fusion.bin_observations`, ``correlated``);
    * ``gpr`` (ice-table depth): the GPR window picks, sigma with the radar's resolution added
      (:func:`_gpr_model_sigma_m`); the NS burial depth where the NS sees a wet layer (the dry overburden IS the
      depth to the ice table), as the Gaussian in the depth map's logit space with its 95 % interval; where
      neither sees anything, ``2.0 +- 0.5 m`` ("deeper than they see");
    * ``alis`` (surface water): the ALIS retrievals.
    """
    from lupex.prospect import fusion

    r = sr.retrievals
    x, y = r["x_m"].to_numpy(float), r["y_m"].to_numpy(float)
    lo = r["ns_weh_lo95_wt_pct"].to_numpy(float)
    hi = r["ns_weh_hi95_wt_pct"].to_numpy(float)
    lo68 = r["ns_weh_lo68_wt_pct"].to_numpy(float)
    hi68 = r["ns_weh_hi68_wt_pct"].to_numpy(float)
    blo = r["ns_burial_lo95_m"].to_numpy(float)
    bhi = r["ns_burial_hi95_m"].to_numpy(float)
    ok = np.isfinite(lo) & np.isfinite(hi) & (hi > lo) & np.isfinite(lo68) & np.isfinite(hi68) & (hi68 > lo68)
    wet = ok & (lo > NS_DETECT_LO95_WT_PCT) & np.isfinite(blo) & np.isfinite(bhi) & (bhi > blo)
    tw = fusion.LogShift(p.weh_offset_wt_pct)
    ns = None
    if ok.any():
        v, sg = _latent_gaussian(tw, np.maximum(lo68, 0.0), np.maximum(hi68, 0.0), z=1.0)
        ns = fusion.observations(x[ok], y[ok], v[ok], np.maximum(sg, 1e-3)[ok], np.where(wet, "ns", "ns_dry")[ok])
    parts = []
    g = sr.gpr_windows
    d = g["ice_depth_m"].to_numpy(float)
    ds = g["ice_depth_sigma_m"].to_numpy(float)
    seen = np.isfinite(d) & np.isfinite(ds)
    if seen.any():
        parts.append(fusion.observations(g["x_m"].to_numpy(float)[seen], g["y_m"].to_numpy(float)[seen],
                                         np.clip(d[seen], 0.01, DEPTH_BOUNDS_M[1] - 0.01),
                                         np.hypot(ds[seen], _gpr_model_sigma_m(sr)), "gpr"))
    if wet.any():
        td = fusion.Logit(*DEPTH_BOUNDS_M)
        bl = np.clip(blo[wet], 0.01, DEPTH_BOUNDS_M[1] - 0.01)
        bh = np.clip(bhi[wet], bl + 1e-3, DEPTH_BOUNDS_M[1] - 0.01)
        bv, bs = _latent_gaussian(td, bl, bh)
        parts.append(fusion.observations(x[wet], y[wet], bv, bs, "ns_burial"))
    none = ok & ~wet & ~(r["gpr_n_picks"].to_numpy() > 0) if "gpr_n_picks" in r else ok & ~wet
    if none.any():
        parts.append(fusion.observations(x[none], y[none], np.full(int(none.sum()), NO_ICE_DEPTH_M),
                                         np.full(int(none.sum()), NO_ICE_SIGMA_M), "none_seen"))
    depth = fusion.concat_observations(*parts) if parts else None
    a = sr.alis
    av = a["water_wt_pct"].to_numpy(float)
    asg = a["water_sigma_wt_pct"].to_numpy(float)
    ok = np.isfinite(av) & np.isfinite(asg) & (asg > 0)
    alis = None
    if ok.any():
        alis = fusion.observations(a["x_m"].to_numpy(float)[ok], a["y_m"].to_numpy(float)[ok], np.maximum(av[ok], 0.0),
                                   asg[ok], "alis")
    return {"ns": ns, "gpr": depth, "alis": alis}


def _merge_obs(acc: dict, new: dict) -> dict:
    from lupex.prospect.fusion import concat_observations

    out = {}
    for k in ("ns", "gpr", "alis"):
        parts = [o for o in (acc.get(k), new.get(k)) if o is not None]
        out[k] = concat_observations(*parts) if parts else None
    return out


def _survey_leg(gt, dem, path, rng, p: CampaignParams, instruments: dict):
    from lupex.mission.survey import run_survey

    inst = dict(instruments)
    sr = run_survey(gt, dem, np.asarray(path, float), rng=rng, params=p.survey_params(inst.pop("params", None)),
                    write=False, **inst)
    return sr, _survey_obs(sr, p)


def _fuse(template, obs: dict, p: CampaignParams, drift=None) -> xr.Dataset:
    from lupex.prospect import fusion

    if obs.get("ns") is None:
        raise InputError("the campaign produced no neutron retrieval to map; raise campaign.drive_budget_wh")
    kw = {k: v for k, v in obs.items() if v is not None and (k != "alis" or v.n >= 3)}
    return fusion.fuse_water_maps(template, kernel=p.kernel, weh_offset_wt_pct=p.weh_offset_wt_pct,
                                  depth_bounds_m=DEPTH_BOUNDS_M, drill_depth_m=p.drill_depth_m, bin_m=p.bin_m,
                                  correlated_bins=True, min_latent_sd=p.gp_min_sd_log,
                                  drift=fusion.Drift.of(drift, prior_sd=p.drift_prior_sd) if p.orbital_drift and
                                  drift is not None else None, max_length_m=p.gp_max_length_m, **kw)


def _fingerprint(p: CampaignParams, seed, start_xy, start_utc, gt) -> str:
    ds = gt.dataset
    h = hashlib.sha256(json.dumps([dataclasses.asdict(p), int(seed), [round(float(v), 6) for v in start_xy],
                                   str(start_utc), list(ds["weh_wt_pct"].shape)], sort_keys=True).encode())
    h.update(np.ascontiguousarray(np.nan_to_num(ds["weh_wt_pct"].values, posinf=-1.0), dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- the adaptive plan


def _round_name(k: int) -> str:
    return f"campaign-strategy-round-{k:03d}"


def _initial_model(p: CampaignParams, area, start):
    """A GP with fixed prior hyperparameters on one vague pseudo-observation at the start (round 0 only:
    before any retrieval the information gain depends on the prior's length scale alone)."""
    from lupex.prospect import fusion

    obs = fusion.observations([start[0]], [start[1]], [0.1], [10.0], "prior")
    L = min(0.25 * math.hypot(area.x_max - area.x_min, area.y_max - area.y_min), p.gp_max_length_m)
    return fusion.fit_gp(obs, kernel=p.kernel, mean="zero", transform=fusion.LogShift(p.weh_offset_wt_pct),
                         fixed={"variance": 1.0, "length_m": L, "nugget": 1e-3})


def _fit_drive_model(obs: dict, prev: dict | None, p: CampaignParams, drift=None):
    """WEH GP refitted by marginal likelihood on the binned NS retrievals (warm-started from the last fit),
    with the orbital prior as its drift when ``campaign.orbital_drift`` (the maps' own model)."""
    from lupex.prospect import fusion

    ns = fusion.bin_observations(obs["ns"], p.bin_m, correlated=True)
    use = p.orbital_drift and drift is not None
    return fusion.fit_gp(ns, kernel=p.kernel, mean="drift" if use else "constant",
                         transform=fusion.LogShift(p.weh_offset_wt_pct), init=prev, n_restarts=2,
                         bounds=fusion.gp_bounds(p.gp_min_sd_log, p.gp_max_length_m),
                         drift=fusion.Drift.of(drift, prior_sd=p.drift_prior_sd) if use else None)


def _candidates(pos, area, remaining_m, p: CampaignParams, slope):
    """Legs of ``leg_m`` and half of it in ``n_headings`` directions and, with the risk objective, destinations
    anywhere in the area on a ``leg_m / 2`` grid (a one-leg lookahead is blind to ground beyond one leg: the
    value of a destination is that of the whole drive to it, and the rover drives its first ``leg_m``, then
    decides again: a receding horizon)."""
    from lupex.prospect.strategy import candidate_waypoints, drill_grid

    reaches = [p.leg_m, 0.5 * p.leg_m]
    if p.min_leg_m <= remaining_m < 0.5 * p.leg_m:
        reaches.append(remaining_m * 0.999)
    c = np.vstack([candidate_waypoints(pos, area, r, p.n_headings) for r in reaches])
    if p.objective == "risk":
        n = max(1, int(round((area.x_max - area.x_min) / (0.5 * p.leg_m)))) * \
            max(1, int(round((area.y_max - area.y_min) / (0.5 * p.leg_m))))
        c = np.vstack([c, drill_grid(area, n)])
    d = np.linalg.norm(c - np.asarray(pos, float), axis=1)
    c = c[(d >= p.min_leg_m) & (d <= remaining_m)]
    return c[~_is_steep(slope, c, p)]


def _receding(pos, waypoint, p: CampaignParams, slope, cost):
    """The first ``leg_m`` of the drive to ``waypoint`` (shortened further, 10 % at a time, until it ends on a
    cell the rover planner accepts; the whole drive to the (accepted) destination if none does: a stop snapped
    aside could lead away from it and back, round after round): (waypoint, energy_Wh, time_h)."""
    pos = np.asarray(pos, float)
    d = float(np.hypot(*(waypoint - pos)))
    if d > p.leg_m:
        for frac in np.arange(1.0, 0.05, -0.1) * p.leg_m / d:
            w = pos + frac * (waypoint - pos)
            if frac * d >= p.min_leg_m and not _is_steep(slope, w[None], p)[0]:
                waypoint = w
                break
    e, t = (float(v) for v in cost(pos, waypoint))
    return waypoint, e, t


def _strategy_rounds(gt, dem, area, start, p, cost, wh_per_m, budget, rng, slope, checkpoints, fp, advance,
                     instruments, drift=None, target=None):
    from lupex.prospect import strategy as st

    k0 = -1
    latest = checkpoints.load("campaign-latest", None) if checkpoints.has("campaign-latest") else None
    if latest is not None and latest.get("fingerprint") != fp:
        raise LupexError(f"the checkpoints in {checkpoints.directory} belong to another campaign (other settings, seed, "
                         "start or truth); resume with the same configuration or start a new run directory")
    k0 = int(latest["round"]) if latest is not None else -1
    while k0 >= 0 and not checkpoints.has(_round_name(k0)):
        k0 -= 1
    if k0 >= 0:
        state = checkpoints.load(_round_name(k0))
        if state.get("fingerprint") != fp:
            raise LupexError(f"checkpoint {_round_name(k0)} belongs to another campaign; start a new run directory")
        advance(k0 + 1)
    else:
        state = dict(fingerprint=fp, round=-1, pos=np.asarray(start, float), path=[np.asarray(start, float)],
                     energy_wh=0.0, time_h=0.0, obs={"ns": None, "gpr": None, "alis": None}, hyper=None,
                     legs=[], rng=rng, done=False)
    while not state["done"] and state["round"] + 1 < p.rounds:
        k = state["round"] + 1
        rng = state["rng"]
        pos = state["pos"]
        remaining = budget - state["energy_wh"]
        if state["obs"]["ns"] is None:
            model = _initial_model(p, area, start)
            noise = p.ns_sigma_prior_wt_pct
        else:
            model = _fit_drive_model(state["obs"], state["hyper"], p, drift)
            noise = float(np.median(state["obs"]["ns"].sigma))
        rem_m = max(remaining - p.leg_overhead_wh, 0.0) / wh_per_m
        cands = _candidates(pos, area, rem_m, p, slope)
        ch = st.choose_drive(model, pos, cands, cost, noise_sd=noise, step_m=p.bin_m, remaining_wh=remaining,
                             threshold=p.weh_threshold_wt_pct, target=target if p.objective == "risk" else None) \
            if len(cands) else None
        hyper = None if state["obs"]["ns"] is None else {"variance": model.variance, "length_m": model.length_m,
                                                         "nugget": model.nugget}
        if ch is not None:
            w, e_leg, t_leg = _receding(pos, ch.waypoint, p, slope, cost)
            ch = dataclasses.replace(ch, waypoint=w, energy_wh=e_leg, time_h=t_leg)
        if ch is None:
            state = dict(state, done=True, hyper=hyper or state["hyper"])
        else:
            sr, obs = _survey_leg(gt, dem, [pos, ch.waypoint], rng, p, instruments)
            state = dict(state, round=k, pos=ch.waypoint.copy(), path=state["path"] + [ch.waypoint.copy()],
                         energy_wh=state["energy_wh"] + ch.energy_wh, time_h=state["time_h"] + ch.time_h,
                         obs=_merge_obs(state["obs"], obs), hyper=hyper,
                         legs=state["legs"] + [dict(round=k, x0_m=float(pos[0]), y0_m=float(pos[1]),
                                                    x1_m=float(ch.waypoint[0]), y1_m=float(ch.waypoint[1]),
                                                    length_m=float(sr.length_m), energy_wh=ch.energy_wh,
                                                    objective=ch.objective, gain=ch.gain_nats,
                                                    gain_per_wh=ch.gain_nats / ch.energy_wh,
                                                    n_candidates=int(len(cands)),
                                                    gp_variance=model.variance, gp_length_m=model.length_m,
                                                    gp_nugget=model.nugget, gp_n_obs=int(model.n),
                                                    ns_windows=int(len(sr.retrievals)),
                                                    gpr_windows=int(len(sr.gpr_windows)))])
        if state["round"] >= 0:     # the state first, then the pointer to it (a kill in between loses nothing)
            checkpoints.save(_round_name(state["round"]), state)
            checkpoints.save("campaign-latest", {"fingerprint": fp, "round": state["round"]})
        if not state["done"]:
            advance(1)
    return state


# ----------------------------------------------------------------------------- drilling


def _drill(gt, dem, spots, p, rng, start_pos, cost):
    from lupex.mission.drilling import run_drilling

    spots = np.asarray(spots, float).reshape(-1, 2)
    if not len(spots):
        return pd.DataFrame(), pd.DataFrame(), 0.0, 0.0, 0.0
    seed = int(rng.integers(0, 2**31 - 1))
    res = run_drilling(gt, dem, spots, seed=seed, depth_m=p.drill_depth_m, bite_m=p.drill_bite_m, n_examples=0,
                       write=False)
    t = res.table
    per = t.groupby("site").agg(measured_water_wt_pct=("triton_water_wt_pct", "mean"),
                                true_water_wt_pct=("true_in_situ_water_wt_pct", "mean"),
                                true_delivered_water_wt_pct=("true_delivered_water_wt_pct", "mean"),
                                energy_j=("energy_j", "sum")).reset_index()
    sites = res.sites.merge(per, on="site", how="left")
    pts = np.vstack([np.asarray(start_pos, float)[None], spots])
    tour_m = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    tour_wh = float(sum(cost(a, b)[0] for a, b in zip(pts[:-1], pts[1:])))
    return t, sites, tour_m, tour_wh, float(t["energy_j"].sum() / 3600.0) if len(t) else 0.0


def _nearest_order(spots, start):
    spots = [np.asarray(s, float) for s in spots]
    out, pos = [], np.asarray(start, float)
    while spots:
        j = int(np.argmin([np.hypot(*(s - pos)) for s in spots]))
        pos = spots.pop(j)
        out.append(pos)
    return np.array(out).reshape(-1, 2)


def _snap_passable(spots, template, screen, p):
    """Each spot to its cell centre; one the rover planner rejects to the nearest accepted cell centre."""
    from lupex.prospect.fusion import grid_points

    pts = grid_points(template)
    ok = ~_is_steep(screen, pts, p)
    if not ok.any():
        raise InputError("no cell of the campaign area is passable and reachable for the rover planner "
                         f"(max slope {p.max_slope_deg:g} deg); raise campaign.max_slope_deg or move the start")
    out = []
    for s in np.asarray(spots, float).reshape(-1, 2):
        d = np.hypot(pts[:, 0] - s[0], pts[:, 1] - s[1])
        d[~ok] = np.inf
        out.append(pts[int(np.argmin(d))])
    return np.array(out).reshape(-1, 2)


# ----------------------------------------------------------------------------- scheduling


def campaign_window(dem, start_xy, params: CampaignParams, margin_cells: int = 12):
    """(r0, r1, c0, c1): the DEM window whose light series a campaign's timeline needs: the landing site
    ``start_xy``, every area centre within ``approach_max_m`` of it and the area around that centre."""
    from lupex.light.visibility import corridor_window
    from lupex.rover import planner as P

    x, _ = _grid_of(dem)
    px = abs(x[1] - x[0])
    r, c = P.cell_of(dem, start_xy, "campaign start")
    half = int(math.ceil((params.area_half_m + params.approach_max_m) / px))
    return corridor_window(dem.shape, [(r, c)], half + int(margin_cells))


def campaign_light(dem, horizon_cube, start_xy, start_utc, params: CampaignParams, *, step_hours: float = 1.0,
                   margin_cells: int = 12):
    """The sun/Earth visibility series over the campaign window for ``duration_days`` (+1 day, + one lunation
    for the later-landing alternative of :mod:`lupex.mission.feasibility`) from ``start_utc``
    (:func:`lupex.light.visibility.visibility_series` on the site's horizon cube)."""
    from lupex import ephemeris as eph
    from lupex.light.visibility import visibility_series

    t0 = np.datetime64(str(start_utc)[:19], "s")
    span_d = params.duration_days + 1 + math.ceil(F.LUNATION_D)
    times = eph.time_grid(t0, t0 + np.timedelta64(int(span_d * 86400), "s"), step_hours)
    return visibility_series(dem, horizon_cube, times, window=campaign_window(dem, start_xy, params, margin_cells))


def _schedule(dem, light, rover, start_xy, start_utc, p: CampaignParams, waypoints, drills, screen=None,
              max_moves: int = 8):
    """The timeline: the landing site, then every survey vertex (the area's centre first), then the drills.

    A goal the scheduler cannot serve (e.g. a stop in shadow too long to survive or too dark to work) is
    moved to the nearest other cell the rover planner accepts and the timeline is rebuilt, up to
    ``max_moves`` times; ``moved_m`` in the goal table says how far (the science done there is unchanged:
    the decisions are taken first and timed afterwards)."""
    from lupex.rover import planner as P
    from lupex.rover import scheduler as S

    goals = [S.Goal(float(a), float(b), science_h=p.science_h, drill_h=0.0, name=f"waypoint {i + 1}")
             for i, (a, b) in enumerate(np.asarray(waypoints, float).reshape(-1, 2))]
    goals += [S.Goal(float(a), float(b), science_h=0.0, drill_h=p.drill_h, name=f"drill {i + 1}")
              for i, (a, b) in enumerate(np.asarray(drills, float).reshape(-1, 2))]
    orig = [(g.x_m, g.y_m) for g in goals]
    tl = None
    err = ""
    binding = None
    for _ in range(max_moves + 1):
        try:
            tl = schedule_goals(dem, light, rover, start_xy, start_utc, p, goals)
            break
        except LupexError as exc:
            err = str(exc)
            binding = getattr(exc, "binding", None)
            m = re.search(r"goal (\d+)", err)
            if screen is None or m is None:
                break
            i = int(m.group(1)) - 1
            g = goals[i]
            r, c = screen._rc((g.x_m, g.y_m))
            screen.bad.add((int(r[0]), int(c[0])))
            try:
                nx_, ny_ = screen.snap((g.x_m, g.y_m))[0]
            except InputError:
                break
            log.info("campaign timeline: %s; moving goal %d to (%.0f, %.0f) m", err, i + 1, nx_, ny_)
            goals[i] = dataclasses.replace(g, x_m=float(nx_), y_m=float(ny_))
    gdf = pd.DataFrame([dict(name=g.name, x_m=g.x_m, y_m=g.y_m, science_h=g.science_h, drill_h=g.drill_h,
                             moved_m=float(math.hypot(g.x_m - o[0], g.y_m - o[1]))) for g, o in zip(goals, orig)])
    if tl is None:
        log.warning("campaign timeline failed: %s", err)
        return None, err, (), gdf, dict(binding=binding, goals=tuple(goals))
    acts = tl.activities
    times, j = [], 0
    for g in goals:
        r, c = P.cell_of(dem, (g.x_m, g.y_m), g.name)
        hit = None
        for i in range(j, len(acts)):
            a = acts.iloc[i]
            if int(a["row"]) == r and int(a["col"]) == c and a["mode"] in ("science", "drill"):
                hit = i
                break
        if hit is None:
            times.append("")
        else:
            times.append(str(acts.iloc[hit]["start_utc"])[:19])
            j = hit
    gdf["arrival_utc"] = times
    return tl, "", tuple(times), gdf, None


def planner_params(p: CampaignParams):
    """The traverse planner's settings in a campaign (its slope limit; the Earth-view rule for commands is the
    scheduler's ``command_wait_h``, per leg, not per move)."""
    from lupex.rover import planner as P

    return P.PlannerParams(max_slope_deg=p.max_slope_deg)


def schedule_goals(dem, light, rover, start_xy, start_utc, p: CampaignParams, goals):
    """One try of the six-month timeline over ``goals`` with the campaign's haven rules (no goal moved)."""
    from lupex.rover import scheduler as S

    return S.schedule(dem, light, rover, start=str(start_utc)[:19], duration_days=p.duration_days, goals=goals,
                      start_xy=tuple(start_xy), params=planner_params(p), haven_margin_wh=p.haven_margin_wh,
                      haven_margin_h=p.haven_margin_h, command_wait_h=p.command_wait_h)


# ----------------------------------------------------------------------------- scoring


def _plan_scores(name, plan_maps, truth, p, drill_sites, survey_m, survey_wh, tour_m, tour_wh, drill_wh, budget):
    from lupex.prospect import scoring as sc

    tw = truth["weh_wt_pct"]
    thr = p.weh_threshold_wt_pct
    me = sc.map_errors(plan_maps["weh_mean"], tw)
    out = dict(plan=name, weh_rmse_wt_pct=me["rmse"], weh_mae_wt_pct=me["mae"], weh_bias_wt_pct=me["bias"],
               weh_calibration_95=sc.calibration(tw, lower=plan_maps["weh_lower"], upper=plan_maps["weh_upper"]),
               gp_weh_length_m=float(plan_maps["weh_mean"].attrs.get("length_m", np.nan)),
               gp_weh_variance=float(plan_maps["weh_mean"].attrs.get("signal_variance", np.nan)),
               gp_weh_nugget=float(plan_maps["weh_mean"].attrs.get("nugget", np.nan)))
    if "ice_depth_mean" in plan_maps:
        td = truth["ice_depth_m"].where(truth["ice_depth_m"] < p.drill_depth_m)   # scored where the drill reaches ice
        de = sc.map_errors(plan_maps["ice_depth_mean"], td) if np.isfinite(td.values).any() else \
            {"rmse": float("nan"), "bias": float("nan")}
        out.update(ice_depth_rmse_m=de["rmse"], ice_depth_bias_m=de["bias"],
                   ice_depth_calibration_95=float("nan") if not np.isfinite(td.values).any() else
                   sc.calibration(td, lower=plan_maps["ice_depth_lower"],
                                                           upper=plan_maps["ice_depth_upper"]),
                   gp_ice_depth_length_m=float(plan_maps["ice_depth_mean"].attrs.get("length_m", np.nan)))
    located = sc.ice_mass_located(tw, plan_maps["weh_median"], thr)
    t, m = tw.values, plan_maps["weh_median"].values
    ice = t > thr
    kg = truth["water_kg"].values
    total_kg = float(kg[ice].sum())
    located_kg = float(kg[ice & (m > thr)].sum())
    out.update(ice_mass_located=located, water_total_kg=total_kg, water_located_kg=located_kg,
               claim_precision=sc.claim_precision(tw, plan_maps["weh_median"], thr),
               claimed_cells=int(np.sum(np.isfinite(m) & (m > thr))), true_ice_cells=int(np.sum(ice)))
    if len(drill_sites):
        ds = sc.drill_scores(drill_sites["true_water_wt_pct"].to_numpy(float),
                             drill_sites["measured_water_wt_pct"].to_numpy(float), thr,
                             truth_field=truth["core_weh_wt_pct"].values)
    else:
        ds = sc.drill_scores([], [], thr)
    out.update({f"drill_{k}": v for k, v in ds.items()})
    km = (survey_m + tour_m) / 1000.0
    kwh = (survey_wh + tour_wh + drill_wh) / 1000.0
    out.update(survey_km=survey_m / 1000.0, drill_tour_km=tour_m / 1000.0, km_driven=km, survey_kwh=survey_wh / 1000.0,
               drill_kwh=(tour_wh + drill_wh) / 1000.0, kwh_used=kwh, budget_kwh=budget / 1000.0,
               water_located_kg_per_km=located_kg / km if km > 0 else float("nan"),
               water_located_kg_per_kwh=located_kg / kwh if kwh > 0 else float("nan"))
    return out


def energy_breakdown(approach_wh, survey_wh, tour_wh, drill_wh, budget_wh) -> dict:
    """The planned energy of a plan, by use, in kWh; the parts add up to ``kwh_used``.

    ``drive_budget_wh`` pays for the survey drives only (the adaptive plan's legs, the lawnmower's lines); the
    approach from the landing site to the area's centre, the drive between drill sites and the drill itself
    are paid on top of it: ``kwh_used`` = budget - survey budget left + approach + drill tour + drill. Planned loads
    only (drive and drill power x time); the six-month timeline's bus energy, heaters included, is
    :func:`timeline_energy_breakdown`."""
    parts = dict(energy_approach_kwh=approach_wh / 1000.0, energy_survey_drive_kwh=survey_wh / 1000.0,
                 energy_drill_tour_kwh=tour_wh / 1000.0, energy_drill_kwh=drill_wh / 1000.0)
    total = sum(parts.values())
    return dict(parts, kwh_used=total, energy_over_drive_budget_kwh=total - budget_wh / 1000.0,
                survey_budget_left_kwh=(budget_wh - survey_wh) / 1000.0)


TIMELINE_MODES = ("drive", "drill", "science", "communicate", "standby", "hibernate")


def timeline_energy_breakdown(trace: pd.DataFrame) -> dict:
    """The six-month timeline's bus energy (load x time, heaters included) by mode, in kWh, and the heaters'
    share: ``timeline_energy_<mode>_kwh`` for each mode of :data:`TIMELINE_MODES` (other modes in
    ``timeline_energy_other_kwh``) add up to ``timeline_energy_kwh``; ``timeline_heater_kwh`` is the heaters'
    energy over all modes and ``timeline_hibernate_heater_kwh`` the heaters' energy while hibernating (the
    survival heaters through the nights)."""
    dt_h = (pd.to_datetime(trace["end_utc"]) - pd.to_datetime(trace["start_utc"])).dt.total_seconds().to_numpy() / 3600.0
    e = trace["energy_wh"].to_numpy(float) / 1000.0
    heat = trace["heater_w"].to_numpy(float) * dt_h / 1000.0
    mode = trace["mode"].to_numpy().astype(str)
    out = {f"timeline_energy_{m}_kwh": float(e[mode == m].sum()) for m in TIMELINE_MODES}
    out["timeline_energy_other_kwh"] = float(e[~np.isin(mode, TIMELINE_MODES)].sum())
    out.update(timeline_energy_kwh=float(e.sum()), timeline_heater_kwh=float(heat.sum()),
               timeline_hibernate_heater_kwh=float(heat[mode == "hibernate"].sum()))
    return out


# ----------------------------------------------------------------------------- the campaign


def _check_light(light, dem, area):
    if light is None:
        return
    if not all(hasattr(light, a) for a in ("sun", "earth", "times", "row0", "col0")):
        raise InputError("light must be a lupex.light.visibility.VisibilitySeries (see campaign_light) or None")
    from lupex.rover import planner as P

    for xy, what in (((area.x_min, area.y_min), "south-west"), ((area.x_max, area.y_max), "north-east")):
        r, c = P.cell_of(dem, xy, f"campaign area {what} corner")
        ny, nx = light.sun.shape[1:]
        if not (light.row0 <= r < light.row0 + ny and light.col0 <= c < light.col0 + nx):
            raise InputError(f"the light series' window does not cover the campaign area's {what} corner; compute it "
                             "over campaign_window(dem, start_xy, params)")


def run_campaign(params: CampaignParams, truth, dem, light, start_xy, start_utc, outdir=None, *, seed: int,
                 vehicle=None, steps: Steps = NO_PROGRESS, checkpoints: Checkpoints = NO_CHECKPOINTS,
                 instruments: dict | None = None) -> CampaignResult:
    """Run the adaptive and the lawnmower campaign on ``truth`` (a :class:`GroundTruth`) from ``start_xy``.

    ``instruments``: keyword arguments of :func:`lupex.mission.survey.run_survey` for every leg (the run's
    ``[survey]`` table as ``params``, whose spacings and rates the campaign's own replace, and ``gpr_config``,
    ``neutron_spectrometer``, ``alis_params``, ``ion_trap``, ``outgassing``); default: the instruments' defaults.

    ``dem``: the site DEM (metres, projected; None = no slope screening and no timeline); ``light``: a
    :class:`~lupex.light.visibility.VisibilitySeries` covering :func:`campaign_window` for ``duration_days``
    from ``start_utc`` (from :func:`campaign_light`), or None to skip the timeline. ``outdir``: where the
    products go (None = write nothing). Same ``seed``, same results; resumable through ``checkpoints``.
    """
    from threadpoolctl import threadpool_limits  # a core dependency

    if not isinstance(params, CampaignParams):
        raise ConfigError("params must be a lupex.mission.campaign.CampaignParams")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"campaign seed must be a non-negative integer, got {seed!r}")
    if not hasattr(truth, "dataset") or "weh_wt_pct" not in truth.dataset:
        raise InputError("truth must be a lupex.subsurface.ground_truth.GroundTruth (see run_subsurface)")
    try:
        sx, sy = (float(v) for v in np.asarray(start_xy, float).ravel())
    except (TypeError, ValueError):
        raise InputError(f"start_xy must be an (x, y) pair in metres, got {start_xy!r}") from None
    try:
        np.datetime64(str(start_utc)[:19], "s")
    except ValueError:
        raise InputError(f"start_utc {start_utc!r} is not a UTC ISO 8601 time (e.g. 2027-01-02T00:00:00)") from None
    # threadpool_limits caps only the BLAS libraries already loaded: load scipy's (the GP fits' Cholesky) first, so a
    # resumed process, which reaches the campaign without the phases that import it, also fits on one BLAS thread.
    # (The resume differences once blamed on this came from the neutron table, now built on one thread:
    # lupex.instruments.neutron_table.load_table.)
    import scipy.linalg  # noqa: F401

    with threadpool_limits(1):   # same numbers serially and on single-threaded Dask workers; faster for small GPs
        return _run(params, truth, dem, light, (sx, sy), str(start_utc)[:19], outdir, int(seed), vehicle, steps,
                    checkpoints, dict(instruments or {}))


def _run(p, gt, dem, light, start, start_utc, outdir, seed, vehicle, steps, checkpoints, instruments):
    from lupex.prospect import strategy as st

    t_all = time.perf_counter()
    timings = {}
    _area_for(gt.dataset, dem, start, p.area_half_m)      # validates the landing site
    cost, wh_per_m, rover = _rover_cost(vehicle, p)
    landed = start
    t0 = time.perf_counter()
    slope = _Screen(dem, light if (p.schedule and dem is not None) else None, landed, p, rover) if dem is not None else None
    centre, prior_share = _survey_centre(gt, dem, landed, p, slope)
    start = centre
    area = _area_for(gt.dataset, dem, start, p.area_half_m)
    _check_light(light if (p.schedule and dem is not None) else None, dem, area)
    approach_m = float(math.hypot(centre[0] - landed[0], centre[1] - landed[1]))
    approach_wh = float(cost(np.asarray(landed, float), np.asarray(centre, float))[0]) if approach_m > 0 else 0.0
    timings["screen_s"] = time.perf_counter() - t0
    budget = float(p.drive_budget_wh)
    min_leg_wh = float(cost(np.zeros(2), np.array([p.min_leg_m, 0.0]))[0])
    if budget < min_leg_wh:
        raise ConfigError(f"campaign.drive_budget_wh = {budget:g} Wh does not pay for one {p.min_leg_m:g} m leg "
                          f"({min_leg_wh:.1f} Wh); raise it")
    truth_maps = _truth_maps(gt, area, p)     # for the scores only
    template = xr.zeros_like(truth_maps["weh_wt_pct"])   # the area's grid: coordinates, no truth values
    drift = _reach_fraction(gt, area, p)
    weight = drift.interp(x=template.x, y=template.y, method="nearest").values.ravel()
    target = st.LocatedWater(st.fusion.grid_points(template), weight, p.weh_threshold_wt_pct)
    fp = _fingerprint(p, seed, landed, start_utc, gt)
    rng_s, rng_l = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    total = p.rounds + 3 + (2 if (p.schedule and light is not None and dem is not None) else 0) + 1
    plans = {}
    with steps.task("prospecting campaign", total=total) as advance:
        # --- adaptive plan: decision rounds
        t0 = time.perf_counter()
        state = _strategy_rounds(gt, dem, area, start, p, cost, wh_per_m, budget, rng_s, slope, checkpoints, fp, advance,
                                 instruments, drift, target)
        timings["strategy_survey_s"] = time.perf_counter() - t0

        def strategy_drilling():
            maps = _fuse(template, state["obs"], p, drift)
            masked = maps.copy()
            if slope is not None:
                steep = _is_steep(slope, st.fusion.grid_points(template), p).reshape(template.shape)
                masked["weh_mean"] = maps["weh_mean"].where(~steep)
            spots = st.plan_drills(masked, p.drills, state["pos"], cost, criterion="expected_water",
                                   depth_transform=st.fusion.Logit(*DEPTH_BOUNDS_M), drill_depth_m=p.drill_depth_m,
                                   min_separation_m=p.min_drill_separation_m, drill_time_h=p.drill_h) \
                if p.drills else np.zeros((0, 2))
            rng = state["rng"]
            table, sites, tour_m, tour_wh, drill_wh = _drill(gt, dem, spots, p, rng, state["pos"], cost)
            return dict(fingerprint=fp, maps=maps, spots=spots, table=table, sites=sites, tour_m=tour_m,
                        tour_wh=tour_wh, drill_wh=drill_wh, rng=rng)

        t0 = time.perf_counter()
        sd = _stage(checkpoints, "campaign-strategy-drilling", fp, strategy_drilling)
        advance(p.rounds - max(state["round"] + 1, 0) + 1)
        timings["strategy_drilling_s"] = time.perf_counter() - t0
        path_s = np.array(state["path"]).reshape(-1, 2)
        plans["strategy"] = dict(path=path_s, legs=pd.DataFrame(state["legs"]), obs=state["obs"], maps=sd["maps"],
                                 spots=sd["spots"], table=sd["table"], sites=sd["sites"], survey_m=_length(path_s),
                                 survey_wh=state["energy_wh"], tour_m=sd["tour_m"], tour_wh=sd["tour_wh"],
                                 drill_wh=sd["drill_wh"], waypoints=path_s)

        # --- fixed plan: lawnmower at the spacing the budget allows, then a drill grid
        def lawnmower_survey():
            e_approach = float(cost(np.asarray(start), np.array([area.x_min, area.y_min]))[0])
            dist = max(budget - e_approach, min_leg_wh) / wh_per_m
            spacing = st.lawnmower_spacing_for_budget(area, dist)
            wps = np.vstack([np.asarray(start)[None], st.lawnmower(area, spacing, start)])
            if slope is not None:   # every vertex on a cell the rover planner accepts
                wps = slope.snap(wps, area)
            path, e, th = st.truncate_path(wps, cost, budget)
            if slope is not None and not slope.ok_xy(path[-1:])[0]:
                path = path[:-1]
                e = float(sum(cost(a, b)[0] for a, b in zip(path[:-1], path[1:])))
            if _length(path) < p.min_leg_m:
                raise ConfigError(f"campaign.drive_budget_wh = {budget:g} Wh does not reach the lawnmower's first line; "
                                  "raise it")
            sr, obs = _survey_leg(gt, dem, path, rng_l, p, instruments)
            legs = pd.DataFrame([dict(round=i, x0_m=a[0], y0_m=a[1], x1_m=b[0], y1_m=b[1], length_m=float(np.hypot(*(b - a))),
                                      energy_wh=float(cost(a, b)[0]), spacing_m=spacing)
                                 for i, (a, b) in enumerate(zip(path[:-1], path[1:]))])
            return dict(fingerprint=fp, path=path, energy_wh=e, obs=obs, legs=legs, rng=rng_l, spacing_m=spacing)

        t0 = time.perf_counter()
        ls = _stage(checkpoints, "campaign-lawnmower-survey", fp, lawnmower_survey)
        advance(1)
        timings["lawnmower_survey_s"] = time.perf_counter() - t0

        def lawnmower_drilling():
            maps = _fuse(template, ls["obs"], p, drift)
            spots = _nearest_order(_snap_passable(st.drill_grid(area, p.drills), template, slope, p), ls["path"][-1]) \
                if p.drills else np.zeros((0, 2))
            rng = ls["rng"]
            table, sites, tour_m, tour_wh, drill_wh = _drill(gt, dem, spots, p, rng, ls["path"][-1], cost)
            return dict(fingerprint=fp, maps=maps, spots=spots, table=table, sites=sites, tour_m=tour_m,
                        tour_wh=tour_wh, drill_wh=drill_wh)

        t0 = time.perf_counter()
        ld = _stage(checkpoints, "campaign-lawnmower-drilling", fp, lawnmower_drilling)
        advance(1)
        timings["lawnmower_drilling_s"] = time.perf_counter() - t0
        plans["lawnmower"] = dict(path=ls["path"], legs=ls["legs"], obs=ls["obs"], maps=ld["maps"], spots=ld["spots"],
                                  table=ld["table"], sites=ld["sites"], survey_m=_length(ls["path"]),
                                  survey_wh=ls["energy_wh"], tour_m=ld["tour_m"], tour_wh=ld["tour_wh"],
                                  drill_wh=ld["drill_wh"], waypoints=ls["path"])

        # --- the six-month timeline of each plan
        for name in PLANS:
            q = plans[name]
            q.update(timeline=None, schedule_error="" if (p.schedule and light is not None and dem is not None)
                     else "no timeline: no light series given", goal_times=(), goals=None)
            q["feasibility"] = F.Feasibility(name, "not scheduled", q["schedule_error"])
            if p.schedule and light is not None and dem is not None:
                t0 = time.perf_counter()
                tl, err, times, gdf, fail = _stage(checkpoints, f"campaign-{name}-timeline", fp,
                                                   lambda q=q: dict(fingerprint=fp, out=_schedule(
                                                       dem, light, rover, landed, start_utc, p, q["waypoints"],
                                                       q["spots"], slope)))["out"]
                q.update(timeline=tl, schedule_error=err, goal_times=times, goals=gdf)
                q["feasibility"] = _stage(checkpoints, f"campaign-{name}-feasibility", fp,
                                          lambda name=name, tl=tl, err=err, fail=fail: dict(
                                              fingerprint=fp, out=F.assess(name, tl, err, fail, dem=dem, light=light,
                                                                           rover=rover, start_xy=landed,
                                                                           start_utc=start_utc, params=p)))["out"]
                timings[f"{name}_timeline_s"] = time.perf_counter() - t0
                advance(1)

        rows, out_plans = [], {}
        for name in PLANS:
            q = plans[name]
            sc = _plan_scores(name, q["maps"], truth_maps, p, q["sites"], q["survey_m"] + approach_m,
                              q["survey_wh"] + approach_wh, q["tour_m"], q["tour_wh"], q["drill_wh"], budget)
            sc.update(approach_km=approach_m / 1000.0, approach_kwh=approach_wh / 1000.0,
                      survey_km=q["survey_m"] / 1000.0, survey_kwh=q["survey_wh"] / 1000.0)
            sc.update(energy_breakdown(approach_wh, q["survey_wh"], q["tour_wh"], q["drill_wh"], budget))
            tl = q["timeline"]
            if tl is not None:
                s = tl.summary()
                hours = s["hours_by_mode"]
                sc.update(timeline_min_soc=s["min_soc"], timeline_data_gbit=s["data_volume_gbit"],
                          timeline_drive_h=hours.get("drive", 0.0), timeline_hibernate_h=hours.get("hibernate", 0.0),
                          timeline_energy_kwh=float(tl.activities["energy_wh"].sum() / 1000.0),
                          timeline_last_goal_utc=max((t for t in q["goal_times"] if t), default=""),
                          timeline_science_h=hours.get("science", 0.0), timeline_drill_h=hours.get("drill", 0.0),
                          timeline_communicate_h=hours.get("communicate", 0.0),
                          timeline_min_electronics_k=s["min_electronics_k"], timeline_min_battery_k=s["min_battery_k"],
                          timeline_km=_timeline_km(tl.trace, dem))
                sc.update(timeline_energy_breakdown(tl.trace))
            sc["timeline_ok"] = tl is not None
            sc.update(q["feasibility"].score_fields())
            rows.append(sc)
            out_plans[name] = CampaignPlan(name, q["path"], q["legs"], q["obs"], q["maps"], q["spots"], q["table"],
                                           q["sites"], q["survey_wh"], q["survey_m"], q["tour_m"], q["tour_wh"],
                                           q["drill_wh"], tl, q["schedule_error"], q["goal_times"], q["goals"], sc,
                                           approach_m, approach_wh)
        timings["total_s"] = time.perf_counter() - t_all
        result = CampaignResult(p, seed, tuple(landed), start_utc, (area.x_min, area.x_max, area.y_min, area.y_max), truth_maps,
                                out_plans, pd.DataFrame(rows), budget, Path(outdir) if outdir is not None else None,
                                timings, tuple(centre), prior_share, {n: plans[n]["feasibility"] for n in PLANS})
        line = F.feasibility_line(result.feasibility)
        (log.warning if any(f.status == "infeasible" for f in result.feasibility.values()) else log.info)(line)
        if outdir is not None:
            write_campaign(result, outdir, dem)
        advance(1)
    log.info("campaign: strategy %.0f m, lawnmower %.0f m in %.1f s", out_plans["strategy"].survey_m,
             out_plans["lawnmower"].survey_m, timings["total_s"])
    return result


def _timeline_km(trace: pd.DataFrame, dem) -> float:
    """Distance driven in a timeline (km): the steps between the cells of consecutive trace rows (grid moves)."""
    from lupex.terrain import geo

    r = trace["row"].to_numpy(float)
    c = trace["col"].to_numpy(float)
    return float(np.hypot(np.diff(r), np.diff(c)).sum() * geo.pixel_size_m(dem) / 1000.0) if r.size > 1 else 0.0


def _stage(checkpoints, name, fp, compute):
    if checkpoints.has(name):
        got = checkpoints.load(name)
        if got.get("fingerprint") != fp:
            raise LupexError(f"checkpoint {name} belongs to another campaign; start a new run directory")
        return got
    out = compute()
    checkpoints.save(name, out)
    return out


def _length(path) -> float:
    p = np.asarray(path, float).reshape(-1, 2)
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) if len(p) > 1 else 0.0


# ----------------------------------------------------------------------------- outputs


def maps_dataset(result: CampaignResult) -> xr.Dataset:
    """Both plans' fused maps (prefixed ``strategy_``/``lawnmower_``) and the truth (``truth_``) on one grid."""
    keep = ("weh_mean", "weh_sd", "weh_median", "weh_lower", "weh_upper", "ice_depth_mean", "ice_depth_sd",
            "ice_depth_lower", "ice_depth_upper", "p_ice_within_drill", "alis_mean", "alis_sd")
    vars_ = {}
    for name, pl in result.plans.items():
        for k in keep:
            if k in pl.maps:
                da = pl.maps[k]
                attrs = {("gp_transform" if a == "transform" else a): (v if isinstance(v, (int, float, str)) else str(v))
                         for a, v in da.attrs.items()}   # 'transform' would read as an affine to rioxarray
                vars_[f"{name}_{k}"] = xr.DataArray(np.asarray(da.values, float), dims=("y", "x"), attrs=attrs)
    for k in ("weh_wt_pct", "ice_depth_m", "water_kg", "core_weh_wt_pct"):
        vars_[f"truth_{k}"] = xr.DataArray(np.asarray(result.truth[k].values, float), dims=("y", "x"))
    ds = xr.Dataset(vars_, coords={"y": result.truth["y"].values, "x": result.truth["x"].values},
                    attrs={"title": "lupex campaign maps", "seed": result.seed, "start_utc": result.start_utc,
                           "units_weh": "wt%", "units_ice_depth": "m",
                           "params_json": json.dumps(dataclasses.asdict(result.params))})
    crs = _crs(result.truth)
    if crs is not None:
        ds = ds.rio.write_crs(crs)
    return ds


def paths_geojson(result: CampaignResult, dem=None) -> dict:
    """Both survey paths (LineStrings, lon/lat when the CRS allows, with x/y metres and arrival times) and drill sites."""
    feats = []
    ref = dem if dem is not None else result.truth
    lonlat = _lonlat(np.zeros((1, 2)), ref) is not None
    for name, pl in result.plans.items():
        xy = np.asarray(pl.path_xy, float)
        coords = _lonlat(xy, ref) if lonlat else xy.tolist()
        n_wp = len(xy)       # goals: every path vertex (the centre first), then the drill sites
        times = list(pl.goal_times[:n_wp]) if pl.goal_times else []
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                      "properties": {"plan": name, "kind": "survey path", "length_m": pl.survey_m,
                                     "xy_m": xy.round(3).tolist(),
                                     "vertex_arrival_utc": times if times else None}})
        dt = list(pl.goal_times[n_wp:]) if pl.goal_times else []
        for i, s in enumerate(np.asarray(pl.drill_xy, float).reshape(-1, 2)):
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": (_lonlat(s[None], ref) if lonlat else s[None].tolist())[0]},
                          "properties": {"plan": name, "kind": "drill site", "order": i + 1, "x_m": float(s[0]),
                                         "y_m": float(s[1]), "arrival_utc": dt[i] if i < len(dt) and dt[i] else None}})
    out = {"type": "FeatureCollection", "name": "lupex_campaign_paths", "features": feats}
    if lonlat:  # lon/lat on the Moon, named so a GIS does not take them for WGS 84 (see terrain.geo)
        out["crs"] = geojson_crs_member(_lonlat_crs_name(ref))
    return out


def _lonlat_crs_name(ref) -> str:
    from lupex.terrain.geo import LUNAR_LONLAT_CRS, dem_crs, lunar_geographic_crs

    auth = lunar_geographic_crs(dem_crs(ref)).to_authority()
    return ":".join(auth) if auth else LUNAR_LONLAT_CRS


def _lonlat(xy, ref):
    """[[lon, lat], ...] on the Moon of ``xy`` metres in ``ref``'s CRS, or None when ``ref`` has no usable CRS."""
    try:
        from pyproj import Transformer

        from lupex.terrain.geo import dem_crs, lunar_geographic_crs

        crs = dem_crs(ref)
        tr = Transformer.from_crs(crs, lunar_geographic_crs(crs), always_xy=True)
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return [[float(a), float(b)] for a, b in zip(lon, lat)]
    except Exception:  # no CRS: the caller writes projected metres
        return None


def timeline_table(result: CampaignResult) -> pd.DataFrame:
    parts = []
    for name, pl in result.plans.items():
        if pl.timeline is not None:
            parts.append(pl.timeline.activities.assign(plan=name))
    if not parts:
        return pd.DataFrame({"plan": pd.Series(dtype=str), "mode": pd.Series(dtype=str)})
    return pd.concat(parts, ignore_index=True)


def write_campaign(result: CampaignResult, outdir, dem=None) -> list[Path]:
    """Write every campaign product into ``outdir``, each file atomically; returns the paths."""
    from lupex.io import write_dataframe, write_json, write_netcdf
    from lupex.terrain.io import write_geotiff

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ds = maps_dataset(result)
    paths = [write_netcdf(out / "campaign_maps.nc", ds)]
    if _crs(ds) is not None:
        for k in ("weh_mean", "weh_sd"):
            da = xr.DataArray(ds[f"strategy_{k}"].values, dims=("y", "x"), coords={"y": ds["y"].values, "x": ds["x"].values},
                              name=f"campaign_{k}", attrs={"units": "wt%", "long_name": f"adaptive-plan WEH {k[4:]}"})
            da = da.rio.write_crs(_crs(ds))
            paths.append(write_geotiff(da, out / f"campaign_{k}.tif"))
    paths.append(write_json(out / "campaign_paths.geojson", paths_geojson(result, dem)))
    paths.append(write_dataframe(out / "campaign_timeline.parquet", timeline_table(result)))
    legs = pd.concat([pl.legs.assign(plan=n) for n, pl in result.plans.items() if len(pl.legs)], ignore_index=True)
    paths.append(write_dataframe(out / "campaign_legs.parquet", legs))
    drills = [pl.drill_sites.assign(plan=n) for n, pl in result.plans.items() if len(pl.drill_sites)]
    if drills:
        paths.append(write_dataframe(out / "campaign_drills.parquet", pd.concat(drills, ignore_index=True)))
    paths.append(write_dataframe(out / "campaign_scores.parquet", result.scores))
    paths.append(write_json(out / "campaign_scores.json", _jsonable(dict(
        seed=result.seed, start_xy_m=list(result.start_xy), start_utc=result.start_utc, area_m=list(result.area),
        budget_wh=result.budget_wh, params=dataclasses.asdict(result.params),
        scores=result.scores.to_dict(orient="records"),
        schedule_errors={n: pl.schedule_error for n, pl in result.plans.items()},
        feasibility={n: f.to_dict() for n, f in result.feasibility.items()}))))
    if result.feasibility:
        paths.append(write_json(out / "campaign_feasibility.json", _jsonable(dict(
            line=F.feasibility_line(result.feasibility),
            plans={n: f.to_dict() for n, f in result.feasibility.items()}))))
    # timings go to the log, not into a product: the same seed gives byte-identical products
    log.info("campaign timings (s): %s", ", ".join(f"{k} {v:.1f}" for k, v in result.timings_s.items()))
    return paths


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.bool_, bool)):
        return bool(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return float(o) if np.isfinite(o) else None
    return o


# ----------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True)
class CampaignInputs:
    """What one campaign runs on: the truth, the DEM (or None), the start, and optionally a light series."""

    truth: Any
    dem: Any
    start_xy: tuple
    start_utc: str = "2027-01-02T00:00:00"
    light: Any = None


@dataclass(frozen=True)
class TruthFactory:
    """Picklable ``seed -> CampaignInputs``: a fresh ground truth per seed on a (cropped) site grid.

    ``kwargs`` go to :func:`lupex.subsurface.ground_truth.make_ground_truth` (with ``seed = base_seed + seed``);
    ``grid`` is the DEM crop the truth lives on (also used as the campaign's DEM).
    """

    grid: Any
    start_xy: tuple
    base_seed: int = 0
    kwargs: dict = field(default_factory=dict)
    start_utc: str = "2027-01-02T00:00:00"

    def __call__(self, seed: int) -> CampaignInputs:
        from lupex.subsurface.ground_truth import make_ground_truth

        gt = make_ground_truth(self.grid, seed=int(self.base_seed) + int(seed), **self.kwargs)
        return CampaignInputs(gt, self.grid, tuple(self.start_xy), self.start_utc, None)


def truth_factory_from_site(site, subsurface_cfg, start_xy, params: CampaignParams, start_utc: str,
                            margin_m: float = 200.0) -> TruthFactory:
    """A :class:`TruthFactory` on the site DEM cropped to the campaign area (+ ``margin_m``), with the run's
    subsurface settings and the site phase's illumination and slope (as :func:`run_subsurface` uses them)."""
    from lupex.prospect.strategy import Area

    sx, sy = (float(v) for v in start_xy)
    h = params.area_half_m + margin_m
    a = Area(sx - h, sx + h, sy - h, sy + h)
    dem = _sel_area(site.dem, a)
    sc = subsurface_cfg
    slope = _sel_area(site.slope_rover_deg, a)
    kw = dict(illumination_pct=np.asarray(_sel_area(site.light["illumination_pct"], a).values, float),
              slope_deg=np.asarray(slope.fillna(float(np.nanmedian(slope))).values, float),
              corr_length_m=sc.corr_length_m, ice_free_fraction=sc.ice_free_fraction,
              weh_median_wt_pct=sc.weh_median_wt_pct, overburden_median_m=sc.overburden_median_m,
              threshold_k=sc.stability_threshold_k, rock_abundance=sc.rock_abundance)
    return TruthFactory(dem, (sx, sy), int(sc.seed) + 10_000, kw, str(start_utc)[:19])


def _mc_one(params: CampaignParams, factory: Callable, seed: int, instruments: dict | None = None) -> list[dict]:
    inp = factory(int(seed))
    if not isinstance(inp, CampaignInputs):
        inp = CampaignInputs(*inp)
    res = run_campaign(params, inp.truth, inp.dem, inp.light, inp.start_xy, inp.start_utc, None, seed=int(seed),
                       instruments=instruments)
    return [dict(r, seed=int(seed)) for r in res.scores.to_dict(orient="records")]


MC_COLUMNS = ("water_located_kg_per_km", "water_located_kg_per_kwh", "ice_mass_located", "claim_precision", "weh_rmse_wt_pct",
              "weh_calibration_95", "drill_hit_rate", "drill_measured_total", "km_driven", "kwh_used")


def campaign_monte_carlo(params: CampaignParams, truth_factory: Callable, seeds, client=None,
                         instruments: dict | None = None) -> pd.DataFrame:
    """Whole campaigns (both plans) over ``seeds``: one row per seed and plan, every score.

    ``truth_factory(seed)`` returns :class:`CampaignInputs` (or a tuple of its fields): e.g. a
    :class:`TruthFactory`; it must pickle to go to Dask workers. With a ``dask.distributed`` client
    (:func:`lupex.compute.dask_client`) the campaigns run on its workers, otherwise serially; the rows are
    the same either way. Medians per plan: :func:`monte_carlo_medians` (also in ``df.attrs["medians"]``).
    """
    seeds = [int(s) for s in np.atleast_1d(np.asarray(list(seeds) if not np.isscalar(seeds) else [seeds]))]
    if not seeds:
        raise InputError("campaign_monte_carlo needs at least one seed")
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise InputError(f"Monte Carlo seeds must be distinct non-negative integers, got {seeds}")
    if not callable(truth_factory):
        raise InputError("truth_factory must be a callable seed -> CampaignInputs (e.g. a TruthFactory)")
    if client is not None:
        futs = client.map(_mc_one, [params] * len(seeds), [truth_factory] * len(seeds), seeds,
                          [instruments] * len(seeds), pure=False)
        parts = client.gather(futs)
    else:
        parts = [_mc_one(params, truth_factory, s, instruments) for s in seeds]
    df = pd.DataFrame([r for part in parts for r in part])
    cols = ["seed", "plan"] + [c for c in df.columns if c not in ("seed", "plan")]
    df = df[cols].sort_values(["seed", "plan"], kind="stable").reset_index(drop=True)
    df.attrs["medians"] = monte_carlo_medians(df).to_dict(orient="records")
    return df


def monte_carlo_medians(df: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds of the headline scores, one row per plan, plus the strategy/lawnmower ratio row."""
    cols = [c for c in MC_COLUMNS if c in df.columns]
    med = df.groupby("plan")[cols].median().reindex([p for p in PLANS if p in set(df["plan"])])
    med.insert(0, "n_seeds", df.groupby("plan")["seed"].nunique())
    out = med.reset_index()
    if set(PLANS) <= set(out["plan"]):
        a, b = med.loc["strategy", cols], med.loc["lawnmower", cols]
        ratio = {c: (float(a[c] / b[c]) if b[c] not in (0, 0.0) and np.isfinite(b[c]) else float("nan")) for c in cols}
        out = pd.concat([out, pd.DataFrame([dict(plan="strategy / lawnmower", n_seeds=int(med["n_seeds"].min()), **ratio)])],
                        ignore_index=True)
    return out
