"""``lupex land``: a landing Monte Carlo and rendered frames for one target (Typer command)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
from rich.console import Console

from lupex.compute import dask_client
from lupex.config import help_epilog, load, merge, parse_lat_lon
from lupex.errors import LupexError
from lupex.io import write_bytes
from lupex.progress import Steps
from lupex.terrain.geo import xy_from_lonlat

log = logging.getLogger(__name__)

TABLES = ("landing", "site", "lander", "descent", "lander_vehicle", "touchdown", "dispersions", "compute", "landing_window")
"""The config tables ``lupex land`` reads (listed in its --help)."""


def land(
    target: Annotated[str, typer.Option(help="Landing target, LAT,LON in planetocentric degrees.")],
    epoch: Annotated[Optional[str], typer.Option(help="Landing time, UTC ISO 8601 (sets the Sun's direction); default landing.epoch, else the first landing window after time.start (2027-01-01T00:00:00). A time outside every window is flown but flagged.")] = None,
    runs: Annotated[Optional[int], typer.Option(help="Number of Monte Carlo descents (> 0); default landing.runs (20).")] = None,
    rendered_runs: Annotated[Optional[int], typer.Option(
        "--rendered-runs",
        help="How many of the --runs descents (0 to runs) fly the real vision chain (render the DEM, detect and identify "
             "craters, PnP or template match) at landing.rendered_altitudes_m (m above the terrain) instead of simulated "
             "fixes (~2 s CPU more per descent on the default site); default landing.rendered_runs (1).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the dispersions and sensor noise; default landing.seed (0).")] = None,
    site: Annotated[Optional[str], typer.Option("--site", help="Built-in site: site01 (real LOLA connecting ridge, the default site.name) or synthetic.")] = None,
    dem: Annotated[Optional[Path], typer.Option(help="Your own DEM file (GeoTIFF or PDS3), heights in m; default site.dem, else the built-in site.")] = None,
    site_seed: Annotated[Optional[int], typer.Option(help="Seed of the synthetic site (implies --site synthetic); default site.seed (0).")] = None,
    size_m: Annotated[Optional[float], typer.Option(help="Side of the synthetic site, m (implies --site synthetic); default site.size_m (20000).")] = None,
    pixel_m: Annotated[Optional[float], typer.Option(help="Pixel of the synthetic site, m (implies --site synthetic); default site.pixel_m (20).")] = None,
    frames: Annotated[Optional[str], typer.Option(help="Altitudes of the rendered frames, m, comma-separated; default landing.frame_altitudes_m (8000, 4000, 2000).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Run the descents on a local Dask cluster of this many processes; default compute.workers (0).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Address of a running Dask scheduler, tcp://host:port; default compute.scheduler.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Directory to create for the results (default lupex-runs/land-<UTC time>).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML file with the tables below (lupex run's file works); the options above override it.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override one parameter, table.key=value (repeatable), e.g. --set dispersions.map_offset_sigma_m=[3,3,2].")] = None,
) -> None:
    """Fly dispersed powered descents to a target and report landing and navigation errors (Parquet, JSON, PNG)."""
    lat, lon = parse_lat_lon(target, "--target")
    if runs is not None and runs <= 0:
        raise LupexError(f"--runs must be a positive number of descents, got {runs}")
    if rendered_runs is not None and rendered_runs < 0:
        raise LupexError(f"--rendered-runs must be a number of descents from 0 to --runs, got {rendered_runs}")
    if site is None and dem is None and (site_seed, size_m, pixel_m) != (None, None, None):
        site = "synthetic"  # the synthetic site's own options name it
    options = {"landing": {"runs": runs, "seed": seed, "epoch": epoch, "frame_altitudes_m": frames,
                           "rendered_runs": rendered_runs},
               "site": {"name": site, "seed": site_seed, "size_m": size_m, "pixel_m": pixel_m, "dem": None if dem is None else str(dem)},
               "compute": {"workers": workers, "scheduler": scheduler}}
    cfg = _config(config, set_, options)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    final = out or Path("lupex-runs") / f"land-{stamp}"
    res = _fly(cfg, lat, lon, final)
    _print_summary(res, final)


def _config(config: Optional[Path], sets: Optional[list[str]], options: dict):
    """The run's configuration: the file and ``--set`` overrides, then the options given (None: not given)."""
    given = {t: {k: v for k, v in kv.items() if v is not None} for t, kv in options.items()}
    cfg = merge(load(config, sets), {t: kv for t, kv in given.items() if kv}, origin="options")
    if cfg.landing.runs <= 0:
        raise LupexError(f"landing.runs must be a positive number of descents for lupex land, got {cfg.landing.runs}")
    return cfg


def _fly(cfg, lat: float, lon: float, final: Path):
    """Fly the Monte Carlo into the run directory ``final`` and write its figures; returns the landing result."""
    # mission and report pull in the landing chain and matplotlib: imported on use to keep lupex --help fast
    from lupex.mission.landing_phase import run_landing
    from lupex.mission.rundir import RunDir
    from lupex.mission.site_analysis import load_site
    from lupex.report.landing import fig_landing_scatter, fig_nav_error_vs_altitude, fig_touchdown_velocity, frame_png

    with RunDir(final) as work, Steps() as steps:
        # run.log: what was asked and what came out (RunDir sends the lupex logger there)
        where = (cfg.site.dem or (f"synthetic (seed {cfg.site.seed}, {cfg.site.size_m:g} m at {cfg.site.pixel_m:g} m)"
                                  if cfg.site.name == "synthetic" else cfg.site.name))
        log.info("lupex land --target %g,%g: %d descents, seed %d, site %s", lat, lon, cfg.landing.runs,
                 cfg.landing.seed, where)
        dem_da, craters = load_site(cfg)
        x, y = xy_from_lonlat(dem_da, lon, lat)
        sites = pd.DataFrame({"x_m": [float(x)], "y_m": [float(y)], "lat_deg": [lat], "lon_deg": [lon]})
        with dask_client(cfg.compute.workers, cfg.compute.scheduler) as client:
            res = run_landing(cfg, dem_da, craters, sites, work, client=client, steps=steps,
                              rendered_runs=cfg.landing.rendered_runs)
        write_bytes(work / "landing_scatter.png", fig_landing_scatter(res.runs, dem_da, res.target_xy))
        write_bytes(work / "nav_error_vs_altitude.png", fig_nav_error_vs_altitude(res.runs))
        write_bytes(work / "touchdown_velocity.png", fig_touchdown_velocity(res.runs))
        for frame in res.frames:
            write_bytes(work / f"frame_{int(frame.altitude_m)}m.png", frame_png(frame))
        log.info("wrote landing_scatter.png, nav_error_vs_altitude.png, touchdown_velocity.png and %d frame PNGs",
                 len(res.frames))
    return res


def _print_summary(res, final: Path) -> None:
    """The landing window lines and one paragraph of results, by vision mode."""
    s = res.summary
    per = "; ".join(
        f"{k} {v['n_runs']}: nav at 50 m {v['nav_err_50m_median_m']:.2f} / {v['nav_err_50m_p99_m']:.2f} m, landing "
        f"{v['landing_error_median_m']:.1f} / {v['landing_error_p99_m']:.1f} m"
        + (f", {v['fixes']}/{v['frames']} frames fixed" if k == "rendered" else "")
        for k, v in s["by_vision"].items())
    console = Console()
    for line in res.window.lines():  # the landing epoch against the window rules, and the next windows
        console.print(line, style="bold red" if line.startswith("WARNING") else None, highlight=False)
    console.print(
        f"{int(s['n_runs'])} descents: success {100 * s['success_rate']:.0f}%, nav error at 50 m median "
        f"{s['nav_err_50m_median_m']:.2f} m (p99 {s['nav_err_50m_p99_m']:.2f}), landing error p99 "
        f"{s['landing_error_p99_m']:.1f} m; sun {res.sun_elevation_deg:.2f} deg. Median / p99 by vision: {per}. "
        f"Results in {final}"
    )


def register(app: typer.Typer) -> None:
    """Add ``lupex land`` to the main CLI app."""
    app.command("land", epilog=help_epilog(tables=TABLES))(land)
