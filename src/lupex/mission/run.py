"""``lupex run``: the main job, phase by phase, into one run directory."""

from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import scipy.linalg  # noqa: F401  (imported before the BLAS limit below, so that its own OpenBLAS is limited too)
from threadpoolctl import threadpool_limits

from lupex.compute import dask_client
from lupex.io import write_dataframe
from lupex.mission import campaign as CP
from lupex.mission.budget import descent_from_monte_carlo, launch_to_landing_budget
from lupex.mission.campaign import choose_drill_sites, first_traverse_goal
from lupex.mission.checkpoint import Checkpoints
from lupex.mission.drilling import run_drilling
from lupex.mission.landing_phase import choose_landing, landing_epoch, run_landing
from lupex.mission.resources import check_run_fits
from lupex.mission.rover_phase import run_rover
from lupex.mission.rundir import RunDir, default_run_dir, fingerprint
from lupex.mission.site_analysis import SiteAnalysis, horizon_cube, run_site_analysis, write_manifest
from lupex.mission.subsurface_phase import run_subsurface
from lupex.mission.survey import default_traverse, run_survey
from lupex.mission.verdicts import run_verdicts, verdicts_json
from lupex.progress import Steps
from lupex.rover.planner import PlanError

if TYPE_CHECKING:
    from lupex.config import Config

log = logging.getLogger("lupex.run")


@dataclass(frozen=True)
class MissionResult:
    """What a run holds at its end: every phase's result (numbers; ``lupex.report`` draws them).

    A phase that did not run holds None.
    """

    run_dir: Path
    site: SiteAnalysis
    landing: object
    ground_truth: object
    survey: object
    drilling: object
    rover: object
    campaign: object = None  # lupex.mission.campaign.CampaignResult
    campaign_mc: object = None  # pandas.DataFrame of the campaign Monte Carlo (campaign.mc_seeds > 0)
    landing_window: object = None  # lupex.mission.landing_phase.LandingChoice (None without landing sites)
    verdicts: tuple = ()  # lupex.mission.verdicts.Verdict per mission requirement (report, console, manifest)
    notes: tuple = ()  # one line per thing the run could not do on valid input (e.g. no traverse), also in the report
    budget: object = None  # lupex.mission.budget.LaunchBudget (launch to landing)


@dataclass(frozen=True)
class NoTraverse:
    """The rover phase's outcome when the planner finds no first traverse (checkpointed like a result)."""

    reason: str

    def line(self) -> str:
        """Return the console's and the report's line for the missing traverse."""
        return (f"First traverse: NOT PLANNED: {self.reason}. The site, landing and subsurface products stand; "
                "the survey drove the fixed pattern from the landing site instead, and there is no rover_plan.*")


class Report(Protocol):
    """The report :func:`run_mission` is handed.

    Called with the run directory being written and the complete results, once every phase has run and before
    the manifest (:func:`lupex.report.build.build_report` is the one ``lupex run`` passes).
    """

    def __call__(self, work: Path, result: MissionResult, cfg: Config) -> object:
        """Write the report of ``result`` into ``work``."""


@dataclass(frozen=True)
class _Arrival:
    """The site, landing and subsurface phases' results: where the rover starts from."""

    site: SiteAnalysis
    choice: object  # LandingChoice or None
    landing: object  # LandingResult or None
    epoch: np.datetime64
    truth: object  # GroundTruth


@dataclass(frozen=True)
class _Surface:
    """The surface phases' results (None where a phase did not run) and the run's notes."""

    rover: object = None
    survey: object = None
    drilling: object = None
    campaign: object = None
    campaign_mc: object = None
    notes: tuple = ()


class _CubeOnDemand:
    """The site analysis, with its horizon cube once a later phase asks for it.

    The cube is recomputed at most once per process: the checkpoint does not hold it.
    """

    def __init__(self, cfg: Config, site: SiteAnalysis):
        self.cfg, self.site = cfg, site

    def __call__(self) -> SiteAnalysis:
        if self.site.horizon_cube is None:
            self.site = dataclasses.replace(self.site, horizon_cube=horizon_cube(self.cfg, self.site))
        return self.site


def run_mission(cfg: Config, *, progress: bool = True, resume: bool = False,
                report: Report | None = None) -> MissionResult:
    """Return every phase's result of the run configured in ``cfg`` and where its run directory is.

    Each phase's result is checkpointed in ``<run>.partial/checkpoints``; with
    ``resume`` the unfinished run of the same name is continued: completed
    phases are loaded instead of run (their files stay as written), and the
    result is byte for byte that of an uninterrupted run (timings aside).

    Parameters
    ----------
    cfg : Config
        The whole configuration (``lupex.config.load``).
    progress : bool
        Show progress bars.
    resume : bool
        Continue the unfinished run named by ``cfg.output.directory``.
    report : Report, optional
        Called with the run directory being written, the results and ``cfg`` once every phase has run, before
        the manifest: ``lupex run`` passes :func:`lupex.report.build.build_report` (figures and report.html);
        None writes the data products alone.
    """
    final = Path(cfg.output.directory) if cfg.output.directory else default_run_dir()
    estimate = check_run_fits(cfg, final, resume=resume)
    t0 = time.perf_counter()
    rundir = RunDir(final, overwrite=cfg.output.overwrite, resume=resume, fingerprint=fingerprint(cfg))
    # one BLAS thread for the whole run: OpenBLAS rounds differently with 1 and N threads, so a value computed
    # once and cached (the neutron response table was one) would depend on which phase first needed it, and a
    # resumed run, a Dask worker (one thread) or a machine with more cores would get other last bits; the
    # heavy kernels are numba, not BLAS. scipy.linalg is imported (at the top) first so that its own OpenBLAS is
    # limited too.
    with threadpool_limits(1, user_api="blas"), rundir as work, Steps(enabled=progress) as steps:
        log.info("estimate: %s", estimate.line())
        result = _run_phases(cfg, work, Checkpoints(rundir.checkpoints), steps)
        if report is not None:
            with steps.task("report", total=1) as advance:
                report(work, result, cfg)
                advance(1)
        write_manifest(cfg, work, result.site, time.perf_counter() - t0,
                       extra=verdicts_json(result.verdicts) | {"notes": list(result.notes)})
    log.info("run complete: %s", final)
    return dataclasses.replace(result, run_dir=rundir.final)


def _run_phases(cfg: Config, work: Path, ckpt: Checkpoints, steps: Steps) -> MissionResult:
    """Return the results of every phase, each loaded from its checkpoint or run (and checkpointed)."""
    arrival = _arrive(cfg, work, ckpt, steps)
    cube = _CubeOnDemand(cfg, arrival.site)
    surface = _Surface()
    if len(arrival.site.sites):
        surface = _surface(cfg, work, ckpt, steps, arrival, cube)
    site = cube.site
    budget = ckpt.phase("budget", lambda: _budget(cfg, work, arrival.landing))
    verdicts = run_verdicts(cfg, site=site, landing=arrival.landing, budget=budget, rover=surface.rover,
                            survey=surface.survey, drilling=surface.drilling, campaign=surface.campaign)
    return MissionResult(run_dir=work, site=site, landing=arrival.landing, ground_truth=arrival.truth,
                         survey=surface.survey, drilling=surface.drilling, rover=surface.rover,
                         campaign=surface.campaign, campaign_mc=surface.campaign_mc, landing_window=arrival.choice,
                         verdicts=tuple(verdicts), notes=surface.notes, budget=budget)


def _arrive(cfg: Config, work: Path, ckpt: Checkpoints, steps: Steps) -> _Arrival:
    """Return the site analysis, the landing epoch, the landing Monte Carlo and the subsurface ground truth."""
    need_client = not (ckpt.has("site") and ckpt.has("landing"))
    with dask_client(cfg.compute.workers, cfg.compute.scheduler) if need_client else nullcontext() as client:
        site = ckpt.load("site", None)
        if site is None:
            site = run_site_analysis(cfg, work, client=client, steps=steps)
            # the horizon cube (1.4 GB for the default site) is not saved: its later users (rover phase,
            # campaign timeline) get it back bit for bit through _CubeOnDemand (57 s on the default site
            # against 8 s to write it raw on every run, 1.4 GB of disk, and 6 s to read it back)
            ckpt.save("site", dataclasses.replace(site, horizon_cube=None))
        # the landing epoch by the window rules (first window after time.start, or the forced one, flagged)
        choice = ckpt.phase("landing_window", lambda: choose_landing(cfg, site.dem, site.sites,
                                                                     horizon_cube=site.horizon_cube))
        landing = ckpt.phase("landing", lambda: run_landing(cfg, site.dem, site.craters, site.sites, work,
                                                            client=client, steps=steps, choice=choice))
    epoch = choice.epoch if choice is not None else landing_epoch(cfg)
    truth = ckpt.phase("subsurface", lambda: run_subsurface(cfg, site, work, steps=steps))
    return _Arrival(site=site, choice=choice, landing=landing, epoch=epoch, truth=truth)


def _landed_and_goal(cfg: Config, arrival: _Arrival) -> tuple[tuple[float, float], tuple[float, float]]:
    """Return where the rover starts (m, site frame) and the first traverse's goal (m)."""
    site, landing, truth = arrival.site, arrival.landing, arrival.truth
    best = site.sites.iloc[0]
    landed = (float(best["x_m"]), float(best["y_m"]))
    if landing is not None:  # the rover starts where the first descent touched down, not at the target
        landed = (landed[0] + float(landing.runs["dx_m"].iloc[0]), landed[1] + float(landing.runs["dy_m"].iloc[0]))
    # no oracle: the traverse goes to the orbital prior-ice region along the rover planner's path, and the
    # drill sites come from what the survey measured there (never from the truth's ice)
    goal = first_traverse_goal(truth, site.dem, landed, cfg.campaign, cfg.vehicle)
    if np.hypot(goal[0] - landed[0], goal[1] - landed[1]) < 50.0:   # landed in the prior region
        goal = tuple(default_traverse(landed, truth, ice_max_depth_m=cfg.drill.max_depth_m)[-1])
    return landed, goal


def _surface(cfg: Config, work: Path, ckpt: Checkpoints, steps: Steps, arrival: _Arrival,
             cube: _CubeOnDemand) -> _Surface:
    """Return the rover's first traverse, the survey along it, the drilling at its end and the campaign."""
    site, truth = arrival.site, arrival.truth
    landed, goal = _landed_and_goal(cfg, arrival)
    notes: list[str] = []  # what the run could not do although nothing was wrong with its input
    rover = ckpt.phase("rover", lambda: _rover_or_reason(cfg, cube, landed, goal,
                                                         arrival.epoch + np.timedelta64(1, "D"), work, steps))
    if isinstance(rover, NoTraverse):  # a finding, not an error: the run goes on without the traverse
        notes.append(rover.line())
        rover = None
    path = None if rover is None else np.column_stack([rover.plan.x_m, rover.plan.y_m])
    if path is None or np.hypot(*(path[-1] - path[0])) < 50.0:  # too short to survey: the fixed pattern
        path = default_traverse(landed, truth, ice_max_depth_m=cfg.drill.max_depth_m)
    with steps.task("survey and drilling", total=2) as advance:
        survey = ckpt.phase("survey", lambda: run_survey(
            truth, site.dem, path, work, seed=cfg.subsurface.seed + 1000, **_instruments(cfg)))
        advance(1)
        drill_xy = choose_drill_sites(survey, site.dem, tuple(path[-1]), depth_m=cfg.drill.max_depth_m,
                                      params=cfg.campaign, rover=cfg.vehicle)
        drilling = ckpt.phase("drilling", lambda: run_drilling(
            truth, site.dem, drill_xy, work, seed=cfg.subsurface.seed + 2000, drill_params=cfg.drill,
            triton_params=cfg.triton, ltga_params=cfg.ltga, adore_params=cfg.adore, isap_params=cfg.isap))
        advance(1)
    campaign, campaign_mc = _campaign(cfg, cube.site, cube, truth, landed, work, ckpt=ckpt, steps=steps,
                                      epoch=arrival.epoch)
    return _Surface(rover=rover, survey=survey, drilling=drilling, campaign=campaign, campaign_mc=campaign_mc,
                    notes=tuple(notes))


def _rover_or_reason(cfg: Config, with_cube: _CubeOnDemand, landed, goal, start, work: Path, steps):
    """Return the rover phase's result, or :class:`NoTraverse` saying why there is none.

    The rover phase's result, or :class:`NoTraverse` saying why the planner found no traverse (valid input
    the terrain or the light rules out: the goal on an impassable slope, start and goal in one cell, ...).
    """
    try:
        return run_rover(cfg, with_cube(), landed, goal, start, work, steps=steps)
    except PlanError as exc:
        log.warning("first traverse not planned: %s; the survey drives the fixed pattern instead", exc)
        return NoTraverse(str(exc))


def _instruments(cfg: Config) -> dict:
    """Return the run's survey and instrument tables as ``run_survey`` keywords.

    The run's survey and instrument tables as :func:`lupex.mission.survey.run_survey` keywords (the
    traverse survey and every campaign leg use the same).
    """
    return dict(params=cfg.survey, gpr_config=cfg.gpr, neutron_spectrometer=cfg.neutron, alis_params=cfg.alis,
                ion_trap=cfg.emsl, outgassing=cfg.emsl_outgassing)


def _budget(cfg: Config, work: Path, landing=None):
    """The launch-to-landing budget, flying the landing Monte Carlo's own descent when there is one."""
    descent = None
    if landing is not None and len(landing.runs):
        descent = descent_from_monte_carlo(landing.runs, landing.vehicle or cfg.lander_vehicle, cfg.descent,
                                           cfg.budget.descent_quantile)
    budget = launch_to_landing_budget(cfg.budget, descent)
    write_dataframe(work / "budget.csv", budget.table)
    if budget.closing is not None:
        write_dataframe(work / "budget_closing.csv", budget.closing.reset_index())
    return budget


def _campaign(cfg: Config, site, with_cube, truth, landed, work: Path, *, ckpt: Checkpoints, steps, epoch=None):
    """Return the six-month campaign's result and its Monte Carlo (phase 6).

    Phase 6: the six-month prospecting campaign from the landed position (adaptive plan vs lawnmower on the
    same truth and budget, see :mod:`lupex.mission.campaign`), checkpointed per round; then, with
    ``campaign.mc_seeds``, whole campaigns over seeds through Dask.
    """
    cp = cfg.campaign
    instruments = _instruments(cfg)
    start = str((landing_epoch(cfg) if epoch is None else epoch) + np.timedelta64(1, "D"))[:19]
    light = None
    if cp.schedule and not ckpt.has("campaign"):
        light = CP.campaign_light(site.dem, with_cube().horizon_cube, landed, start, cp)
    result = ckpt.phase("campaign", lambda: CP.run_campaign(
        cp, truth, site.dem, light, landed, start, work, seed=cfg.subsurface.seed + 3000, vehicle=cfg.vehicle,
        steps=steps, checkpoints=ckpt, instruments=instruments))
    mc = None
    if cp.mc_seeds:
        def monte_carlo():
            factory = CP.truth_factory_from_site(site, cfg.subsurface, landed, cp, start)
            with dask_client(cfg.compute.workers, cfg.compute.scheduler) as client:
                df = CP.campaign_monte_carlo(cp, factory, range(cp.mc_seeds), client=client, instruments=instruments)
            write_dataframe(work / "campaign_monte_carlo.parquet", df)
            return df

        mc = ckpt.phase("campaign_mc", monte_carlo)
    return result, mc
