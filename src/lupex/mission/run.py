"""``lupex run``: the main job, phase by phase, into one run directory."""

from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import nullcontext

import numpy as np
from dataclasses import dataclass
from pathlib import Path

from lupex.compute import dask_client
from lupex.config import Config
from lupex.io import write_dataframe, write_text
from lupex.mission.budget import launch_to_landing_budget
from lupex.mission.checkpoint import Checkpoints
from lupex.mission.rundir import RunDir, default_run_dir, fingerprint
from lupex.mission.site_analysis import SiteAnalysis, horizon_cube, run_site_analysis, write_manifest
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
    campaign: object = None  # lupex.mission.campaign.CampaignResult
    campaign_mc: object = None  # pandas.DataFrame of the campaign Monte Carlo (campaign.mc_seeds > 0)


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
    from lupex.report.html import render
    from lupex.report.drilling import drilling_sections
    from lupex.report.landing import landing_sections
    from lupex.report.rover import rover_sections
    from lupex.report.survey import survey_sections
    from lupex.report.site import site_sections
    from lupex.report.subsurface import subsurface_sections

    final = Path(cfg.output.directory) if cfg.output.directory else default_run_dir()
    check_run_fits(cfg)
    t0 = time.perf_counter()
    rundir = RunDir(final, overwrite=cfg.output.overwrite, resume=resume, fingerprint=fingerprint(cfg))
    with rundir as work, Steps(enabled=progress) as steps:
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
            landing = ckpt.phase("landing", lambda: run_landing(cfg, site.dem, site.craters, site.sites, work,
                                                                client=client, steps=steps))
        truth = ckpt.phase("subsurface", lambda: run_subsurface(cfg, site, work, steps=steps))

        def with_cube() -> SiteAnalysis:
            """``site`` holding its horizon cube, recomputed at most once per process when it is missing."""
            nonlocal site
            if site.horizon_cube is None:
                site = dataclasses.replace(site, horizon_cube=horizon_cube(cfg, site))
            return site

        survey = drilling = rover = campaign = campaign_mc = None
        if len(site.sites):
            best = site.sites.iloc[0]
            landed = (float(best["x_m"]), float(best["y_m"]))
            if landing is not None:  # the rover starts where the first descent touched down, not at the target
                landed = (landed[0] + float(landing.runs["dx_m"].iloc[0]), landed[1] + float(landing.runs["dy_m"].iloc[0]))
            drill_xy = choose_drill_sites(truth, site.dem, landed, depth_m=cfg.drill.max_depth_m)
            rover = ckpt.phase("rover", lambda: run_rover(cfg, with_cube(), landed, tuple(drill_xy[0]),
                                                          landing_epoch(cfg) + np.timedelta64(1, "D"), work, steps=steps))
            path = np.column_stack([rover.plan.x_m, rover.plan.y_m])
            if np.hypot(*(path[-1] - path[0])) < 50.0:  # too short to survey: the fixed pattern instead
                path = default_traverse(best, truth)
            with steps.task("survey and drilling", total=2) as advance:
                survey = ckpt.phase("survey", lambda: run_survey(
                    truth, site.dem, path, work, seed=cfg.subsurface.seed + 1000, **_instruments(cfg)))
                advance(1)
                drilling = ckpt.phase("drilling", lambda: run_drilling(
                    truth, site.dem, drill_xy, work, seed=cfg.subsurface.seed + 2000, drill_params=cfg.drill,
                    triton_params=cfg.triton, ltga_params=cfg.ltga, adore_params=cfg.adore, isap_params=cfg.isap))
                advance(1)
            campaign, campaign_mc = _campaign(cfg, site, with_cube, truth, landed, work, ckpt=ckpt, steps=steps)
        budget = ckpt.phase("budget", lambda: _budget(cfg, work))
        with steps.task("report", total=1) as advance:
            warn = ""
            if site.synthetic:
                warn = ("This site is SYNTHETIC: procedurally generated terrain that measures like the lunar south pole, "
                        "not a real place. Run with --dem on a LOLA product for a real site.")
            meta = (f"lupex {__version__}; seed {cfg.site.seed}; span from {cfg.time.start} for {cfg.time.days:g} days; "
                    f"configuration in config.toml")
            write_text(work / "report.html", render("lupex mission report", meta, site_sections(site, cfg)
                                  + (landing_sections(landing, site.dem) if landing else [])
                                  + subsurface_sections(truth, site, cfg)
                                  + (rover_sections(rover) if rover else [])
                                  + (survey_sections(survey) if survey else [])
                                  + (drilling_sections(drilling) if drilling else [])
                                  + (campaign_sections(campaign, campaign_mc) if campaign else [])
                                  + budget_sections(budget), warn))
            advance(1)
        write_manifest(cfg, work, site, time.perf_counter() - t0)
    log.info("run complete: %s", final)
    return MissionResult(run_dir=rundir.final, site=site, landing=landing, ground_truth=truth,
                         survey=survey, drilling=drilling, rover=rover, campaign=campaign, campaign_mc=campaign_mc)


RUN_BYTES_PER_CELL = 160
"""Peak bytes per DEM cell of a run besides the horizon cube: heights, slopes, roughness, safe masks, the light
statistics and their temporaries (float64 maps)."""


def check_run_fits(cfg: Config) -> None:
    """Estimate the run's peak memory from its grid and azimuths before anything is computed; refuse, with the
    numbers, when it cannot fit (the horizon cube, 4 bytes per cell and azimuth, is held in memory by the rover
    phase whatever light.memory_limit_gib says)."""
    from lupex.terrain.io import check_fits, dem_header

    fewer = "fewer azimuths (light.n_azimuths)"
    if cfg.site.dem:
        h = dem_header(cfg.site.dem)  # the header only: no pixel is read
        ny, nx, name = h["ny"], h["nx"], f"the DEM {cfg.site.dem}"
        hint = f"crop the DEM to the area you need (`gdal_translate -srcwin`), resample it coarser, or use {fewer}"
    else:
        ny = nx = int(round(cfg.site.size_m / cfg.site.pixel_m))
        name = "the synthetic site (site.size_m / site.pixel_m)"
        hint = f"use a smaller site.size_m, a larger site.pixel_m or {fewer}"
    check_fits(ny, nx, name, RUN_BYTES_PER_CELL + 4 * cfg.light.n_azimuths,
               f"a run with {cfg.light.n_azimuths} azimuths", hint)


def _instruments(cfg: Config) -> dict:
    """The run's survey and instrument tables as :func:`lupex.mission.survey.run_survey` keywords (the
    traverse survey and every campaign leg use the same)."""
    return dict(params=cfg.survey, gpr_config=cfg.gpr, neutron_spectrometer=cfg.neutron, alis_params=cfg.alis,
                ion_trap=cfg.emsl, outgassing=cfg.emsl_outgassing)


def _budget(cfg: Config, work: Path):
    budget = launch_to_landing_budget(cfg.budget)
    write_dataframe(work / "budget.csv", budget.table)
    return budget


def _campaign(cfg: Config, site, with_cube, truth, landed, work: Path, *, ckpt: Checkpoints, steps):
    """Phase 6: the six-month prospecting campaign from the landed position (adaptive plan vs lawnmower on the
    same truth and budget, see :mod:`lupex.mission.campaign`), checkpointed per round; then, with
    ``campaign.mc_seeds``, whole campaigns over seeds through Dask."""
    from lupex.mission import campaign as CP

    cp = cfg.campaign
    instruments = _instruments(cfg)
    start = str(landing_epoch(cfg) + np.timedelta64(1, "D"))[:19]
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
