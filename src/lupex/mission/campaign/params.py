"""The campaign's settings (the ``[campaign]`` table of a run) and the constants its stages share."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from lupex.errors import ConfigError
from lupex.mission.survey import SurveyParams
from lupex.params import ASSUMED, check_non_negative, check_positive, param

__all__ = ["CampaignParams", "PLANS", "NO_ICE_DEPTH_M", "NO_ICE_SIGMA_M", "DEPTH_BOUNDS_M"]

#: the two plans every campaign flies, in the order of its tables
PLANS = ("strategy", "lawnmower")
#: the ice-table depth (m) and its sigma recorded where neither GPR nor NS sees anything ("deeper than they see")
NO_ICE_DEPTH_M = 2.0
NO_ICE_SIGMA_M = 0.5
#: the range (m) of the ice-table depth maps (the logit transform's bounds; no ice = the upper bound)
DEPTH_BOUNDS_M = (0.0, 3.0)


@dataclass(frozen=True)
class CampaignParams:
    """Settings of the prospecting campaign (flat: the ``[campaign]`` table of a run's configuration)."""

    TABLE: ClassVar[str] = "campaign"   # errors name campaign.<key>

    duration_days: float = param(180.0, "days", "length of the surface campaign timeline", "LUPEX: about six months on the surface")
    area_half_m: float = param(200.0, "m", "half side of the square prospecting area around the nearest prior-ice region",
                            ASSUMED + ": a few hundred metres, the scale of the LUPEX traverse studies")
    approach_max_m: float = param(1000.0, "m", "farthest the prospecting area's centre may lie from the landing site "
                               "(the drive there counts in km and kWh; also sizes campaign_window)",
                               ASSUMED + ": a ~1 km drive from a lit landing site to the cold traps nearby")
    drive_budget_wh: float = param(1000.0, "Wh", "drive energy each plan may spend on surveying (the same for both plans)",
                                ASSUMED + ": ~1.4 km at the rover's 250 W drive load and 0.1 m/s")
    rounds: int = param(24, "-", "maximum decision rounds (legs) of the adaptive plan (it stops earlier when the "
                     "drive budget is spent)", "numerical")
    objective: str = param("risk", "-", "what the adaptive plan's next leg maximises per Wh: 'risk' (expected reduction of "
                        "the water-mapping risk, weighted by the orbital prior) or 'information' (information gain, "
                        "weighted by P(WEH > threshold))", "lupex.prospect.strategy module notes")
    orbital_drift: bool = param(True, "-", "use the orbital prior (the fraction of the drill column where ice is thermally "
                             "stable, from the thermal model) as an external drift of the WEH and ice-depth maps",
                             "kriging with an external drift: Wackernagel 2003 ch. 38; Hengl et al. 2007")
    drift_prior_sd: float = param(2.0, "ln units", "prior SD of the drift's slope (log(WEH + c) per unit of the prior): "
                               "how strongly the maps may follow the orbital prior before the rover has seen both kinds "
                               "of ground", ASSUMED + ": e^2 = 7x in WEH between never-stable and stable-at-the-surface "
                               "ground, either way")
    gp_max_length_m: float = param(100.0, "m", "longest correlation length the maps' GP fits may take (the orbital drift "
                                "carries the larger scales)", ASSUMED + ": polar ice is patchy on metres to tens of "
                                "metres at rover scale (Colaprete et al. 2010 LCROSS; the truth's own corr_length_m is "
                                "10 m); ground one rover leg away is not known from the track")
    leg_m: float = param(120.0, "m", "reach of a candidate leg (also half of it is offered)", ASSUMED)
    n_headings: int = param(12, "-", "candidate headings per round", "numerical")
    min_leg_m: float = param(25.0, "m", "shortest leg worth driving (two GPR windows and NS samples)", "numerical")
    leg_overhead_wh: float = param(2.0, "Wh", "energy of a stop, turn and restart between legs", ASSUMED)
    drills: int = param(4, "-", "drill sites per plan", ASSUMED + ": a handful of 1.5 m holes in six months")
    drill_depth_m: float = param(1.5, "m", "drilling depth", "LUPEX drill reaches 1.5 m")
    drill_bite_m: float = param(0.1, "m", "sampling interval of the drill", "lupex.mission.drilling default")
    drill_h: float = param(4.0, "h", "lit hours of drilling and analysis per drill stop (timeline)", ASSUMED)
    science_h: float = param(1.0, "h", "lit hours of stationary science per waypoint (timeline)", ASSUMED)
    min_drill_separation_m: float = param(30.0, "m", "minimum distance between two drill sites", ASSUMED)
    weh_threshold_wt_pct: float = param(1.0, "wt%", "WEH above which ground counts as ice-bearing (scores)", ASSUMED)
    speed_m_s: float = param(0.1, "m/s", "survey driving speed (sets the NS integration per metre)", "rover speed_cmd_m_s")
    gpr_spacing_m: float = param(0.5, "m", "GPR trace spacing in the campaign (the instrument does 0.05 m; coarser = faster)",
                              "numerical: 10x coarser than the survey default, see the module notes")
    gpr_window_traces: int = param(20, "-", "GPR traces per retrieval window", "lupex.mission.survey default")
    ns_rate_hz: float = param(1.0, "Hz", "neutron spectrometer sampling rate", "lupex.mission.survey default")
    ns_window_s: float = param(50.0, "s", "neutron counts summed per retrieval window", "lupex.mission.survey default")
    alis_every_m: float = param(30.0, "m", "ALIS spectrum spacing along track", ASSUMED + ": coarser than the survey's 10 m, for speed")
    bin_m: float = param(10.0, "m", "bin size for thinning retrievals before the GP fit", "numerical")
    gp_min_sd_log: float = param(0.7, "ln units", "floor of the maps' fitted signal SD in their latent space (log(WEH + c) "
                              "for WEH): unvisited ground may differ from what was seen by at least this much",
                              ASSUMED + ": polar WEH spans ~0.01-5 wt% (Lawrence et al. 2006 100-150 ppm H regionally; "
                              "LCROSS 5.6 wt% locally), a factor e^0.7 = 2 is a cautious lower bound at rover scale")
    kernel: str = param("matern32", "-", "GP covariance kernel (matern32, matern52, se)", "Rasmussen & Williams 2006 eqs. 4.14-4.17")
    weh_offset_wt_pct: float = param(0.1, "wt%", "offset c of the log(WEH + c) transform of the WEH GP", "lupex.prospect.fusion")
    ns_sigma_prior_wt_pct: float = param(0.3, "wt%", "NS retrieval sigma assumed before the first retrieval", ASSUMED)
    ns_dry_sigma_wt_pct: float = param(0.3, "wt%", "unused since the NS windows carry their own 68 % intervals (kept for old configs): sigma of the dry-background WEH recorded where the NS sees no wet layer "
                                    "within its reach", ASSUMED + ": below the ~1 wt% the NS resolves over a buried layer")
    max_slope_deg: float = param(20.0, "deg", "waypoints and drill sites only on cells below this slope", "rover max_slope_deg")
    schedule: bool = param(True, "-", "build the six-month timeline with the scheduler when a light series is given", "lupex option (a switch, not a physical value)")
    mc_seeds: int = param(0, "-", "Monte Carlo campaigns over this many seeds in a run (0 = none)", "numerical: each ~1 min")
    haven_margin_wh: float = param(100.0, "Wh", "energy every dark period must leave in the battery above soc_min at a "
                                "safe haven; an activity starts only if, when it ends, a haven that survives the next "
                                "dark period with this margin can still be reached before that period starts",
                                ASSUMED + ": 2.5 % of the 4 kWh battery, for the heaters' warm-up transient (on "
                                "Site01 200 Wh leaves the 112 h night of late April 31 Wh short)")
    haven_margin_h: float = param(1.0, "h", "how long before a haven's dark period the rover must have arrived there "
                               "(slack on the planned drive)", ASSUMED + ": one hour of slack on a ~1 h drive")
    haven_reach_h: float = param(3.0, "h", "the campaign area's centre, waypoints and drill sites lie within this static "
                              "drive time of a safe haven that survives every dark period of the span (when one exists)",
                              ASSUMED + ": a few hundred metres at 0.1 m/s, the scale of VIPER's haven-to-haven "
                              "traverses (docs/REFERENCES.md#viper-ops)")
    command_wait_h: float = param(24.0, "h", "each drive to a new stop is commanded over the direct-to-Earth link: it "
                               "starts when the Earth is next in view at the departure spot if that comes within this "
                               "many hours (the rover waits), otherwise at once as a stored sequence (an Earth-blind "
                               "area); 0 = no wait. Downlink is only in Earth view in any case",
                               "VIPER operations: drives commanded over the DTE link, safe havens through its "
                               "blackouts (docs/REFERENCES.md#viper-ops)")
    feasibility_search_s: float = param(120.0, "s", "wall-time bound of the search for feasible alternatives when a plan's "
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
        check_positive(self, "duration_days", "area_half_m", "drive_budget_wh", "leg_m", "min_leg_m", "drill_depth_m",
                       "drill_bite_m", "speed_m_s", "gpr_spacing_m", "ns_rate_hz", "ns_window_s", "alis_every_m",
                       "bin_m", "weh_offset_wt_pct", "ns_sigma_prior_wt_pct", "ns_dry_sigma_wt_pct", "gp_min_sd_log",
                       "max_slope_deg", "weh_threshold_wt_pct", "drift_prior_sd", "gp_max_length_m")
        check_non_negative(self, "leg_overhead_wh", "drill_h", "science_h", "min_drill_separation_m", "approach_max_m",
                           "haven_margin_wh", "haven_margin_h", "haven_reach_h", "feasibility_search_s", "command_wait_h")
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

    def survey_params(self, base: SurveyParams | None = None) -> SurveyParams:
        """The survey settings of a campaign leg, a :class:`~lupex.mission.survey.SurveyParams`.

        ``base`` (the run's ``[survey]`` table; default its defaults) with the campaign's own (coarser, faster)
        spacings and rates on top.
        """
        return dataclasses.replace(base or SurveyParams(), speed_m_s=self.speed_m_s, gpr_spacing_m=self.gpr_spacing_m,
                                   gpr_window_traces=self.gpr_window_traces, ns_rate_hz=self.ns_rate_hz,
                                   ns_window_s=self.ns_window_s, alis_every_m=self.alis_every_m)
