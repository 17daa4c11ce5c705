"""``lupex run``: the main job, phase by phase, into one run directory."""

from __future__ import annotations

import logging
import time

import numpy as np
from dataclasses import dataclass
from pathlib import Path

from lupex.compute import dask_client
from lupex.config import Config
from lupex.io import write_dataframe, write_text
from lupex.mission.budget import launch_to_landing_budget
from lupex.mission.rundir import RunDir, default_run_dir
from lupex.mission.site_analysis import SiteAnalysis, run_site_analysis, write_manifest
from lupex.mission.drilling import choose_drill_sites, run_drilling
from lupex.mission.landing_phase import landing_epoch, run_landing
from lupex.mission.rover_phase import run_rover
from lupex.mission.subsurface_phase import run_subsurface
from lupex.mission.survey import default_traverse, run_survey
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


def run_mission(cfg: Config, *, progress: bool = True) -> MissionResult:
    """Run every phase configured in ``cfg``; return where the run directory is."""
    from lupex import __version__
    from lupex.report.budget import budget_sections
    from lupex.report.html import render
    from lupex.report.drilling import drilling_sections
    from lupex.report.landing import landing_sections
    from lupex.report.rover import rover_sections
    from lupex.report.survey import survey_sections
    from lupex.report.site import site_sections
    from lupex.report.subsurface import subsurface_sections

    final = Path(cfg.output.directory) if cfg.output.directory else default_run_dir()
    t0 = time.perf_counter()
    with RunDir(final, overwrite=cfg.output.overwrite) as work, Steps(enabled=progress) as steps:
        with dask_client(cfg.compute.workers, cfg.compute.scheduler) as client:
            site = run_site_analysis(cfg, work, client=client, steps=steps)
            landing = run_landing(cfg, site.dem, site.craters, site.sites, work, client=client, steps=steps)
        truth = run_subsurface(cfg, site, work, steps=steps)
        survey = drilling = rover = None
        if len(site.sites):
            best = site.sites.iloc[0]
            landed = (float(best["x_m"]), float(best["y_m"]))
            if landing is not None:  # the rover starts where the first descent touched down, not at the target
                landed = (landed[0] + float(landing.runs["dx_m"].iloc[0]), landed[1] + float(landing.runs["dy_m"].iloc[0]))
            drill_xy = choose_drill_sites(truth, site.dem, landed, depth_m=cfg.drill.max_depth_m)
            rover = run_rover(cfg, site, landed, tuple(drill_xy[0]), landing_epoch(cfg) + np.timedelta64(1, "D"), work,
                              steps=steps)
            path = np.column_stack([rover.plan.x_m, rover.plan.y_m])
            if np.hypot(*(path[-1] - path[0])) < 50.0:  # too short to survey: the fixed pattern instead
                path = default_traverse(best, truth)
            with steps.task("survey and drilling", total=2) as advance:
                survey = run_survey(truth, site.dem, path, work, seed=cfg.subsurface.seed + 1000)
                advance(1)
                drilling = run_drilling(truth, site.dem, drill_xy, work, seed=cfg.subsurface.seed + 2000,
                                        drill_params=cfg.drill, triton_params=cfg.triton, ltga_params=cfg.ltga,
                                        adore_params=cfg.adore, isap_params=cfg.isap)
                advance(1)
        budget = launch_to_landing_budget(cfg.budget)
        write_dataframe(work / "budget.csv", budget.table)
        with steps.task("report", total=1) as advance:
            warn = ""
            if site.synthetic:
                warn = ("This site is SYNTHETIC: procedurally generated terrain that measures like the lunar south pole, "
                        "not a real place. Run with --dem on a LOLA product for a real site.")
            meta = (f"lupex {__version__}; seed {cfg.site.seed}; span from {cfg.time.start} for {cfg.time.days:g} days; "
                    f"configuration in config.toml")
            write_text(work / "report.html", render("lupex site analysis", meta, site_sections(site, cfg)
                                  + (landing_sections(landing, site.dem) if landing else [])
                                  + subsurface_sections(truth, site, cfg)
                                  + (rover_sections(rover) if rover else [])
                                  + (survey_sections(survey) if survey else [])
                                  + (drilling_sections(drilling) if drilling else [])
                                  + budget_sections(budget), warn))
            advance(1)
        write_manifest(cfg, work, site, time.perf_counter() - t0)
    log.info("run complete: %s", final)
    return MissionResult(run_dir=final.absolute(), site=site, landing=landing, ground_truth=truth,
                         survey=survey, drilling=drilling, rover=rover)
