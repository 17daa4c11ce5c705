"""``lupex run``: the main job, phase by phase, into one run directory."""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from lupex.compute import dask_client
from lupex.config import Config
from lupex.io import write_dataframe, write_json, write_text
from lupex.mission.budget import launch_to_landing_budget
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

log = logging.getLogger("lupex.run")


@dataclass(frozen=True)
class MissionResult:
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


@dataclass(frozen=True)
class NoTraverse:
    """The rover phase's outcome when the planner finds no first traverse (checkpointed like a result)."""

    reason: str

    def line(self) -> str:
        return (f"First traverse: NOT PLANNED: {self.reason}. The site, landing and subsurface products stand; "
                "the survey drove the fixed pattern from the landing site instead, and there is no rover_plan.*")


def run_mission(cfg: Config, *, progress: bool = True, resume: bool = False) -> MissionResult:
    """Run every phase configured in ``cfg``; return where the run directory is.

    Each phase's result is checkpointed in ``<run>.partial/checkpoints``; with
    ``resume`` the unfinished run of the same name is continued: completed
    phases are loaded instead of run (their files stay as written), and the
    result is byte for byte that of an uninterrupted run (timings aside).
    """
    from lupex import __version__
    from lupex.report.budget import budget_sections
    from lupex.report.campaign import campaign_sections
    from lupex.report.drilling import drilling_sections
    from lupex.report.html import render
    from lupex.report.landing import landing_sections
    from lupex.report.rover import rover_sections
    from lupex.report.site import site_sections
    from lupex.report.subsurface import subsurface_sections
    from lupex.report.summary import summary_first
    from lupex.report.survey import survey_sections

    final = Path(cfg.output.directory) if cfg.output.directory else default_run_dir()
    estimate = check_run_fits(cfg, final, resume=resume)
    t0 = time.perf_counter()
    rundir = RunDir(final, overwrite=cfg.output.overwrite, resume=resume, fingerprint=fingerprint(cfg))
    # one BLAS thread for the whole run: OpenBLAS rounds differently with 1 and N threads, so a value computed
    # once and cached (the neutron response table was one) would depend on which phase first needed it, and a
    # resumed run, a Dask worker (one thread) or a machine with more cores would get other last bits; the
    # heavy kernels are numba, not BLAS. scipy.linalg is imported first so that its own OpenBLAS is limited too.
    import scipy.linalg  # noqa: F401

    with threadpool_limits(1, user_api="blas"), rundir as work, Steps(enabled=progress) as steps:
        log.info("estimate: %s", estimate.line())
        ckpt = Checkpoints(rundir.checkpoints)
        need_client = not (ckpt.has("site") and ckpt.has("landing"))
        with dask_client(cfg.compute.workers, cfg.compute.scheduler) if need_client else nullcontext() as client:
            site = ckpt.load("site", None)
            if site is None:
                site = run_site_analysis(cfg, work, client=client, steps=steps)
                # the horizon cube (1.4 GB for the default site) is not saved: its later users (rover phase,
                # campaign timeline) get it back bit for bit through with_cube() (57 s on the default site
                # against 8 s to write it raw on every run, 1.4 GB of disk, and 6 s to read it back)
                ckpt.save("site", dataclasses.replace(site, horizon_cube=None))
            # the landing epoch by the window rules (first window after time.start, or the forced one, flagged)
            choice = ckpt.phase("landing_window", lambda: choose_landing(cfg, site.dem, site.sites,
                                                                         horizon_cube=site.horizon_cube))
            landing = ckpt.phase("landing", lambda: run_landing(cfg, site.dem, site.craters, site.sites, work,
                                                                client=client, steps=steps, choice=choice))
        epoch = choice.epoch if choice is not None else landing_epoch(cfg)
        truth = ckpt.phase("subsurface", lambda: run_subsurface(cfg, site, work, steps=steps))

        def with_cube() -> SiteAnalysis:
            """``site`` holding its horizon cube, recomputed at most once per process when it is missing."""
            nonlocal site
            if site.horizon_cube is None:
                site = dataclasses.replace(site, horizon_cube=horizon_cube(cfg, site))
            return site

        survey = drilling = rover = campaign = campaign_mc = None
        notes: list[str] = []  # what the run could not do although nothing was wrong with its input
        if len(site.sites):
            best = site.sites.iloc[0]
            landed = (float(best["x_m"]), float(best["y_m"]))
            if landing is not None:  # the rover starts where the first descent touched down, not at the target
                landed = (landed[0] + float(landing.runs["dx_m"].iloc[0]), landed[1] + float(landing.runs["dy_m"].iloc[0]))
            # no oracle: the traverse goes to the orbital prior-ice region along the rover planner's path, and the
            # drill sites come from what the survey measured there (never from the truth's ice)
            goal = first_traverse_goal(truth, site.dem, landed, cfg.campaign, cfg.vehicle)
            if np.hypot(goal[0] - landed[0], goal[1] - landed[1]) < 50.0:   # landed in the prior region
                goal = tuple(default_traverse(landed, truth, ice_max_depth_m=cfg.drill.max_depth_m)[-1])
            rover = ckpt.phase("rover", lambda: _rover_or_reason(cfg, with_cube, landed, goal,
                                                                 epoch + np.timedelta64(1, "D"), work, steps))
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
            campaign, campaign_mc = _campaign(cfg, site, with_cube, truth, landed, work, ckpt=ckpt, steps=steps,
                                              epoch=epoch)
        budget = ckpt.phase("budget", lambda: _budget(cfg, work, landing))
        with steps.task("report", total=1) as advance:
            warn = ""
            if site.synthetic:
                warn = ("This site is SYNTHETIC: procedurally generated terrain that measures like the lunar south pole, "
                        "not a real place. Run with --dem on a LOLA product for a real site.")
            if notes:  # html.escape: a planner message may hold "<" or "&"
                warn = " ".join([warn] + [html.escape(n) for n in notes]).strip()
            meta = (f"lupex {__version__}; site: {_site_line(cfg, site)}; span from {cfg.time.start} for "
                    f"{cfg.time.days:g} days; configuration in config.toml")
            # bad news first: the verdicts, an overview map and the mission timeline open the report
            verdicts = run_verdicts(cfg, site=site, landing=landing, budget=budget, rover=rover, survey=survey,
                                    drilling=drilling, campaign=campaign)
            lead = dict(site=site, landing=landing, rover=rover, drilling=drilling, campaign=campaign,
                        dark_threshold=cfg.vehicle.survival.dark_threshold, earth_threshold=cfg.vehicle.comms.earth_threshold)
            write_text(work / "report.html", render("lupex mission report", meta, summary_first(verdicts, lead, site_sections(site, cfg)
                                  + (landing_sections(landing, site.dem) if landing else [])
                                  + subsurface_sections(truth, site, cfg)
                                  + (rover_sections(rover) if rover else [])
                                  + (survey_sections(survey) if survey else [])
                                  + (drilling_sections(drilling) if drilling else [])
                                  + (campaign_sections(campaign, campaign_mc) if campaign else [])
                                  + budget_sections(budget)), warn))
            advance(1)
        write_manifest(cfg, work, site, time.perf_counter() - t0)
        manifest = json.loads((work / "manifest.json").read_text())
        write_json(work / "manifest.json", manifest | verdicts_json(verdicts) | {"notes": notes})
    log.info("run complete: %s", final)
    return MissionResult(run_dir=rundir.final, site=site, landing=landing, ground_truth=truth,
                         survey=survey, drilling=drilling, rover=rover, campaign=campaign, campaign_mc=campaign_mc,
                         verdicts=tuple(verdicts), landing_window=choice, notes=tuple(notes))


def _rover_or_reason(cfg: Config, with_cube, landed, goal, start, work: Path, steps):
    """The rover phase's result, or :class:`NoTraverse` saying why the planner found no traverse (valid input
    the terrain or the light rules out: the goal on an impassable slope, start and goal in one cell, ...)."""
    from lupex.rover.planner import PlanError

    try:
        return run_rover(cfg, with_cube(), landed, goal, start, work, steps=steps)
    except PlanError as exc:
        log.warning("first traverse not planned: %s; the survey drives the fixed pattern instead", exc)
        return NoTraverse(str(exc))


def _site_line(cfg: Config, site: SiteAnalysis) -> str:
    """One line naming the site and its data, for the report's header."""
    from lupex.mission.site_analysis import site_provenance

    prov = site_provenance(cfg, site.dem)
    if prov["kind"] == "synthetic":
        return f"SYNTHETIC (procedural, seed {cfg.site.seed})"
    if prov["kind"] == "dem":
        far = f"; far field {', '.join(prov['far_field'])}" if prov["far_field"] else ""
        return f"{cfg.site.dem}{far}"
    files = "; ".join(f"{f['role']}: {f['title']} ({f['citation']})" for f in prov["files"])
    return f"{prov['title']}, real LOLA terrain [{files}]"


def _instruments(cfg: Config) -> dict:
    """The run's survey and instrument tables as :func:`lupex.mission.survey.run_survey` keywords (the
    traverse survey and every campaign leg use the same)."""
    return dict(params=cfg.survey, gpr_config=cfg.gpr, neutron_spectrometer=cfg.neutron, alis_params=cfg.alis,
                ion_trap=cfg.emsl, outgassing=cfg.emsl_outgassing)


def _budget(cfg: Config, work: Path, landing=None):
    """The launch-to-landing budget, flying the landing Monte Carlo's own descent when there is one."""
    from lupex.mission.budget import descent_from_monte_carlo

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
    """Phase 6: the six-month prospecting campaign from the landed position (adaptive plan vs lawnmower on the
    same truth and budget, see :mod:`lupex.mission.campaign`), checkpointed per round; then, with
    ``campaign.mc_seeds``, whole campaigns over seeds through Dask."""
    from lupex.mission import campaign as CP

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
