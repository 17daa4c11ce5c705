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
when one exists (:func:`~lupex.mission.campaign.screen.near_haven`). A plan whose timeline cannot be
built is assessed by :mod:`lupex.mission.feasibility` (binding constraint, alternatives re-tried); its scores
carry ``timeline_flown = False`` (``timeline_status`` "infeasible"): what it would find, not
what it flew.

Observations fed to the maps (one GP per quantity, see
:func:`lupex.prospect.fusion.fuse_water_maps`):

* WEH: the neutron spectrometer's two-layer posterior as the Gaussian in
  ``log(WEH + c)`` with the same 68 % interval, one per ``ns_window_s`` window
  (not its mean, biased high along the WEH-burial degeneracy; see
  :func:`~lupex.mission.campaign.observations.survey_observations`);
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
surface temperatures, ``stability_depth_m``: :func:`~lupex.mission.campaign.screen.ice_prior`,
:func:`~lupex.mission.campaign.screen.reach_fraction`); the truth's ice table, WEH and rocks enter only through
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

The package, one concern per module, each stage a function returning a frozen dataclass:

* :mod:`~lupex.mission.campaign.params`: :class:`CampaignParams` and the constants the stages share;
* :mod:`~lupex.mission.campaign.screen`: the rover's cost, the area, the cells the rover may stop on;
* :mod:`~lupex.mission.campaign.observations`: a leg's retrievals as observations, and the fused maps;
* :mod:`~lupex.mission.campaign.plans`: the adaptive plan's rounds, the lawnmower, the drilling of each;
* :mod:`~lupex.mission.campaign.timeline`: the six-month timeline of a plan;
* :mod:`~lupex.mission.campaign.scores`: a plan's scores against the truth and its energy by use;
* :mod:`~lupex.mission.campaign.results`: :class:`CampaignPlan` and :class:`CampaignResult`;
* :mod:`~lupex.mission.campaign.products`: the data products;
* :mod:`~lupex.mission.campaign.run`: :func:`run_campaign`, the stages in order;
* :mod:`~lupex.mission.campaign.montecarlo`: whole campaigns over seeds.
"""

from lupex.mission.campaign.montecarlo import (
    MC_COLUMNS,
    CampaignInputs,
    TruthFactory,
    campaign_monte_carlo,
    monte_carlo_medians,
    truth_factory_from_site,
)
from lupex.mission.campaign.observations import survey_observations
from lupex.mission.campaign.params import DEPTH_BOUNDS_M, NO_ICE_DEPTH_M, NO_ICE_SIGMA_M, PLANS, CampaignParams
from lupex.mission.campaign.plans import choose_drill_sites
from lupex.mission.campaign.products import maps_dataset, paths_geojson, timeline_table, write_campaign
from lupex.mission.campaign.results import CampaignPlan, CampaignResult
from lupex.mission.campaign.run import run_campaign
from lupex.mission.campaign.scores import TIMELINE_MODES, energy_breakdown, timeline_energy_breakdown
from lupex.mission.campaign.screen import PRIOR_SHARE, campaign_window, first_traverse_goal
from lupex.mission.campaign.timeline import Schedule, campaign_light, schedule_plan
from lupex.mission.feasibility import planner_params, schedule_goals

# the timeline builder's name before the package split (tests unpack its Schedule as a 5-tuple)
_schedule = schedule_plan

__all__ = ["CampaignParams", "CampaignPlan", "CampaignResult", "CampaignInputs", "TruthFactory", "run_campaign",
           "campaign_window", "campaign_light", "campaign_monte_carlo", "monte_carlo_medians",
           "truth_factory_from_site",
           "write_campaign", "PLANS", "DEPTH_BOUNDS_M", "NO_ICE_DEPTH_M", "NO_ICE_SIGMA_M", "MC_COLUMNS",
           "PRIOR_SHARE", "TIMELINE_MODES", "Schedule", "choose_drill_sites", "energy_breakdown",
           "first_traverse_goal", "maps_dataset", "paths_geojson", "planner_params", "schedule_goals",
           "schedule_plan", "survey_observations", "timeline_energy_breakdown", "timeline_table"]
