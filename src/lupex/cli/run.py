"""``lupex run``: the whole mission over a span on one site (terrain, light, landing, rover, subsurface, report)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from lupex.cli._console import out
from lupex.config import Config, help_epilog, load, load_text, merge
from lupex.errors import ConfigError, LupexError
from lupex.io import check_utf8_path
from lupex.mission import run as mission_run
from lupex.mission.rundir import check_same_science, resume_source


def _config_epilog() -> str:
    """Return the help's list of every parameter."""
    return help_epilog("[b]Every parameter[/b], as table.key = default (unit): meaning. Set them in --config "
                       "FILE.toml or with --set table.key=value (nested tables: --set vehicle.battery.capacity_wh=5000, "
                       "--set vehicle.panels[0].area_m2=3).")


def run(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML file setting any parameter below.")] = None,
    site: Annotated[Optional[str], typer.Option("--site", help="Built-in site: site01 (default: real LOLA terrain of the Shackleton-de Gerlache connecting ridge, 16 x 16 km at 20 m, with the LDEM_75S 240 m cap as far field) or synthetic (the procedural site; --seed, site.size_m in m, site.pixel_m in m).")] = None,
    dem: Annotated[Optional[Path], typer.Option(help="Your own DEM (GeoTIFF in a projected CRS, or PDS3 LDEM .IMG/.LBL), heights in m; replaces the built-in site.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run directory to create (default lupex-runs/run-<UTC timestamp>).")] = None,
    start: Annotated[Optional[str], typer.Option(help="Start of the span, UTC ISO 8601 (default 2027-01-01T00:00:00).")] = None,
    days: Annotated[Optional[float], typer.Option(help="Length of the span in days (default 365).")] = None,
    step_hours: Annotated[Optional[float], typer.Option(help="Time step in hours (default 1).")] = None,
    azimuths: Annotated[Optional[int], typer.Option(help="Number of horizon azimuths (default 360, i.e. 1 deg).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the synthetic site (default 0).")] = None,
    far_field: Annotated[Optional[list[Path]], typer.Option("--far-field", help="Regional DEM whose terrain beyond the site DEM raises the horizons (repeatable, smallest first; sets site.far_field).", metavar="FILE")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Start a local Dask cluster with this many worker processes (default 0: in-process).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Address of a running Dask scheduler, tcp://host:port.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override one parameter, table.key=value (repeatable), e.g. --set lander.max_slope_deg=10.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory of the same name (only after the new run completes), or discard an unfinished one.")] = False,
    resume: Annotated[Optional[Path], typer.Option(help="Continue the interrupted run in DIR (as given to --out, or its DIR.partial): completed phases are kept, the rest run, and the result is that of an uninterrupted run. Uses the run's own config.toml; --config/--set may only repeat it (or change compute.*).", metavar="DIR")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Analyse a site over a span: terrain, hazards, horizons, sun and Earth visibility, landing sites, report.html."""
    # the report's entry point pulls matplotlib and every figure module: imported when a run starts, not for --help
    from lupex.report.build import build_report  # noqa: PLC0415

    sets = list(set_ or [])
    for key, val in (("site.name", site), ("site.dem", dem), ("time.start", start), ("time.days", days), ("time.step_hours", step_hours),
                     ("light.n_azimuths", azimuths), ("site.seed", seed), ("compute.workers", workers),
                     ("compute.scheduler", scheduler), ("output.directory", out_dir)):
        if val is not None:
            sets.append(f"{key}={json.dumps(str(val)) if isinstance(val, (str, Path)) else val}")
    if overwrite:
        sets.append("output.overwrite=true")
    if far_field:
        for f in far_field:
            if not f.exists():
                raise LupexError(f"far-field DEM {f} does not exist; check the path given to --far-field")
        sets.append(f"site.far_field={json.dumps([str(f) for f in far_field])}")
    for p in (dem, out_dir, resume, *(far_field or [])):  # GDAL/HDF5 cannot take raw-byte names: refuse them now
        if p is not None:
            check_utf8_path(p)
    if dem is not None and not dem.exists():
        raise LupexError(f"DEM file {dem} does not exist; check the path given to --dem")
    if resume is not None:
        if out_dir is not None:
            raise ConfigError("--resume DIR names the run directory already; leave out --out")
        cfg = resume_config(resume, config, sets)
    else:
        cfg = load(config, sets)
    t0 = time.perf_counter()
    # mission runs the phases; the report (figures, report.html) is drawn from their results before the manifest
    result = mission_run.run_mission(cfg, progress=not quiet, resume=resume is not None, report=build_report)
    out.print(f"[green]done[/green] in {time.perf_counter() - t0:.0f} s: {result.run_dir}")
    out.print(f"report: {result.run_dir / 'report.html'}")
    if result.landing_window is not None:  # the landing epoch against the window rules, and the next windows
        for line in result.landing_window.lines():
            out.print(line, style="bold red" if line.startswith("WARNING") else None, highlight=False)
    if len(result.site.sites):
        best = result.site.sites.iloc[0]
        out.print(
            f"best landing site: lat {best.lat_deg:.4f}, lon {best.lon_deg:.3f} "
            f"(illumination {best.illumination_pct:.1f}%, Earth {best.earth_visible_pct:.1f}%, "
            f"longest darkness {best.longest_darkness_h:.0f} h)"
        )
    if result.verdicts:  # the mission's verdicts last, worst first, where the eye lands when the run ends
        from lupex.report.summary import console_table  # noqa: PLC0415  (matplotlib: see build_report above)

        out.print(console_table(result.verdicts))
    for note in result.notes:  # valid input the site rules out (e.g. no traverse): a finding, exit 0
        out.print(note, style="bold yellow", markup=False, highlight=False)


def resume_config(directory: str | Path, config_path: str | Path | None = None,
                  overrides: list[str] | None = None) -> Config:
    """Return the configuration to resume the run in ``directory`` with (``--resume``).

    The run's own ``config.toml``, unless ``config_path``/``overrides`` are given:
    then those (on top of the defaults, or of the run's config when only
    ``overrides`` are given) must agree with the run on every key outside
    ``[output]`` and ``[compute]``, or a ConfigError lists the keys that differ.
    ``output.directory`` is always the run's name.
    """
    src = resume_source(directory)
    if src.config_path is not None:
        stored = load(src.config_path)
    else:  # killed before config.toml was written: the fingerprint holds the same text
        stored = load_text(src.config_text, origin=src.origin)
    cfg = stored
    if config_path is not None or overrides:
        cfg = load(config_path, overrides, base=None if config_path is not None else stored)
        check_same_science(stored.to_dict(), cfg.to_dict(), src.partial)
    return merge(cfg, {"output": {"directory": str(src.final)}}, origin="--resume")


def register(app: typer.Typer) -> None:
    """Add ``run`` to the main CLI app."""
    app.command(epilog=_config_epilog())(run)
