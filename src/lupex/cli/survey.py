"""``lupex survey`` and ``lupex sample``: Typer commands over a finished run directory.

Plain functions with ``typing.Annotated`` options; :func:`register` adds them to an
app (``lupex.cli`` calls it). Each command reads the run's DEM (``dem.tif``), ground
truth (``ground_truth.nc``) and configuration, does one library call
(:func:`lupex.mission.survey.run_survey` or :func:`lupex.mission.drilling.run_drilling`)
and writes into a new directory built under ``<name>.partial`` and renamed when
complete (:class:`lupex.mission.rundir.RunDir`), so a failure leaves nothing.
User errors raise :class:`lupex.errors.LupexError`; the CLI prints them and exits 2.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from lupex.config import help_epilog, load, merge, parse_lat_lon
from lupex.errors import ConfigError, InputError, LupexError
from lupex.io import write_text
from lupex.subsurface.ground_truth import GroundTruth
from lupex.terrain import read_dem
from lupex.terrain.geo import xy_from_lonlat

RUNS_DIR = Path("lupex-runs")
SAMPLE_TABLES = ("drill", "ltga", "triton", "adore", "isap")
"""The config tables ``lupex sample`` reads (listed in its --help)."""
SURVEY_TABLES = ("survey", "gpr", "neutron", "alis", "emsl", "emsl_outgassing")
"""The config tables ``lupex survey`` reads (listed in its --help); the rover's speed is
``vehicle.mobility.speed_cmd_m_s`` (``--speed``), which ``survey.speed_m_s`` follows."""


def newest_run(base: str | Path = RUNS_DIR) -> Path:
    """The newest complete run directory under ``base`` (by its UTC stamp, then modification time)."""
    b = Path(base)
    runs = [p for p in b.glob("run-*") if p.is_dir() and not p.name.endswith((".partial", ".old"))] if b.is_dir() else []
    if not runs:
        raise LupexError(f"no run directory under {b.absolute()}; run `lupex run` first, or pass --run DIR")
    return max(runs, key=lambda p: (p.name, p.stat().st_mtime)).absolute()


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def load_run(run_dir: Path | None):
    """(run directory, DEM, ground truth, config) of a finished run; clear errors when something is missing."""
    rd = Path(run_dir) if run_dir is not None else newest_run()
    if not rd.is_dir():
        raise LupexError(f"run directory {rd} does not exist; pass --run DIR of a finished `lupex run`")
    for name in ("dem.tif", "ground_truth.nc", "config.toml"):
        if not (rd / name).is_file():
            raise InputError(f"{rd} has no {name}: it is not a complete lupex run directory; run `lupex run` again")
    cfg = load(rd / "config.toml")
    return rd, read_dem(rd / "dem.tif"), GroundTruth.from_netcdf(rd / "ground_truth.nc"), cfg


def survey(
    path: Annotated[Path, typer.Option("--path", "-p", help="Traverse as a GeoJSON LineString: lon/lat in degrees on the 1737.4 km sphere, or x/y in metres of the DEM's CRS.")],
    run: Annotated[Optional[Path], typer.Option("--run", "-r", help="Run directory of a finished `lupex run` (default: the newest under lupex-runs/).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Directory to create (default RUN/survey-<UTC timestamp>).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the instruments' noise (default: the run's subsurface.seed + 1000).")] = None,
    speed: Annotated[Optional[float], typer.Option(help="Rover speed, m/s (default vehicle.mobility.speed_cmd_m_s, 0.1).")] = None,
    gpr_spacing: Annotated[Optional[float], typer.Option(help="Distance between GPR traces, m (default survey.gpr_spacing_m, 0.05).")] = None,
    ns_rate: Annotated[Optional[float], typer.Option(help="Neutron spectrometer sampling rate, Hz (default survey.ns_rate_hz, 1).")] = None,
    alis_every: Annotated[Optional[float], typer.Option(help="Distance between ALIS spectra, m (default survey.alis_every_m, 10).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML file with the tables below, applied over the run's config.toml.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override one parameter, table.key=value (repeatable), e.g. --set neutron.footprint_fwhm_m=1.5.")] = None,
) -> None:
    """Run the traverse instruments (GPR, neutron spectrometer, ALIS, EMS-L) along a path over a run's ground truth."""
    # mission (the survey chain) on use: keeps lupex --help fast
    from lupex.mission.rundir import RunDir
    from lupex.mission.survey import path_from_geojson, run_survey

    rd, dem, truth, run_cfg = load_run(run)
    cfg = load(config, set_, base=run_cfg)
    cfg = _survey_options(cfg, run_cfg, speed=speed, gpr_spacing=gpr_spacing, ns_rate=ns_rate, alis_every=alis_every)
    xy = path_from_geojson(path, dem)
    dest = out if out is not None else rd / f"survey-{_stamp()}"
    s = cfg.subsurface.seed + 1000 if seed is None else seed
    with RunDir(dest) as work:
        res = run_survey(truth, dem, xy, work, seed=s, params=cfg.survey, gpr_config=cfg.gpr,
                         neutron_spectrometer=cfg.neutron, alis_params=cfg.alis, ion_trap=cfg.emsl,
                         outgassing=cfg.emsl_outgassing)
        _write_report(work, "lupex traverse survey", res, "survey")
    con = Console()
    con.print(f"[green]survey of {res.length_m:.0f} m[/green] written to {Path(dest).absolute()}")
    _print_scores(con, res.scores)


def _survey_options(cfg, run_cfg, **given):
    """``cfg`` with the shortcut options of ``lupex survey`` applied.

    One that disagrees with the same key changed by --config/--set is an error (as ``lupex sample --depth`` against
    drill.max_depth_m).
    """
    keys = dict(speed=("vehicle", "mobility", "speed_cmd_m_s"), gpr_spacing=("survey", "gpr_spacing_m"),
                ns_rate=("survey", "ns_rate_hz"), alis_every=("survey", "alis_every_m"))
    for opt, value in given.items():
        if value is None:
            continue
        path = keys[opt]

        def get(c):
            for name in path:
                c = getattr(c, name)
            return c

        if get(cfg) not in (get(run_cfg), value):
            raise ConfigError(f"--{opt.replace('_', '-')} {value:g} and {'.'.join(path)} = {get(cfg):g} disagree; "
                              "give one of them")
        upd: dict = {path[-1]: value}
        for name in reversed(path[:-1]):
            upd = {name: upd}
        cfg = merge(cfg, upd, origin=f"--{opt.replace('_', '-')}")
    return cfg


def sample(
    at: Annotated[str, typer.Option("--at", help="Drill point as LAT,LON in degrees (planetocentric; e.g. --at=-89.95,45).")],
    run: Annotated[Optional[Path], typer.Option("--run", "-r", help="Run directory of a finished `lupex run` (default: the newest under lupex-runs/).")] = None,
    depth: Annotated[Optional[float], typer.Option(help="Depth to drill to, m (0 < depth <= 1.5); default drill.max_depth_m (1.5).")] = None,
    bite: Annotated[float, typer.Option(help="Depth interval per sample, m.")] = 0.1,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Directory to create (default RUN/sample-<UTC timestamp>).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the drill and instruments' noise (default: the run's subsurface.seed + 2000).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML file with the tables below, applied over the run's config.toml.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override one parameter, table.key=value (repeatable), e.g. --set ltga.noise_kg=1e-10.")] = None,
) -> None:
    """Drill at a point of a run's ground truth and analyse every interval (LTGA, TRITON, ADORE, ISAP)."""
    # mission (the drilling chain) on use: keeps lupex --help fast
    from lupex.mission.drilling import check_depths, run_drilling
    from lupex.mission.rundir import RunDir
    from lupex.mission.survey import _check_on_grid, _Grid
    from lupex.report.drilling import with_example_figures  # matplotlib: on use

    lat, lon = parse_lat_lon(at, "--at")
    if depth is not None:
        check_depths(depth, bite)
    rd, dem, truth, run_cfg = load_run(run)
    cfg = load(config, set_, base=run_cfg)
    if depth is not None:
        if cfg.drill.max_depth_m not in (run_cfg.drill.max_depth_m, depth):
            raise ConfigError(f"--depth {depth:g} and drill.max_depth_m = {cfg.drill.max_depth_m:g} disagree; give one of them")
        cfg = merge(cfg, {"drill": {"max_depth_m": float(depth)}}, origin="--depth")
    check_depths(cfg.drill.max_depth_m, bite)
    x, y = xy_from_lonlat(dem, lon, lat)
    xy = [[float(x), float(y)]]
    dest = out if out is not None else rd / f"sample-{_stamp()}"
    s = cfg.subsurface.seed + 2000 if seed is None else seed

    try:
        _check_on_grid(np.asarray(xy), _Grid.of(dem), "drill point")
    except InputError:
        raise InputError(f"--at {lat:g},{lon:g} (x {float(x):.1f}, y {float(y):.1f} m) is off the run's DEM; "
                         "pick a point inside the site") from None
    with RunDir(dest) as work:
        res = run_drilling(truth, dem, xy, work, seed=s, bite_m=bite, drill_params=cfg.drill, triton_params=cfg.triton,
                           ltga_params=cfg.ltga, adore_params=cfg.adore, isap_params=cfg.isap)
        res = with_example_figures(res, work)  # drilling_*.png: the report draws them from the examples
        _write_report(work, "lupex drill sample", res, "drilling")
    con = Console()
    tab = Table(title=f"Drill at lat {lat:g}, lon {lon:g}: water (wt%) measured vs true")
    for c in ("depth (m)", "in situ", "delivered", "LTGA", "TRITON", "ADORE", "ISAP ice"):
        tab.add_column(c, justify="right")
    for r in res.table.itertuples():
        tab.add_row(f"{r.top_m:.2f}-{r.bottom_m:.2f}", f"{r.true_in_situ_water_wt_pct:.3f}",
                    f"{r.true_delivered_water_wt_pct:.3f}", f"{r.ltga_water_wt_pct:.3f} ± {r.ltga_sigma_wt_pct:.3f}",
                    f"{r.triton_water_wt_pct:.3f} ± {r.triton_sigma_wt_pct:.3f}",
                    f"{r.adore_water_wt_pct:.3f} ± {r.adore_sigma_wt_pct:.3f}",
                    f"{r.isap_ice_wt_pct:.3f} ± {r.isap_ice_sigma_wt_pct:.3f}")
    con.print(tab)
    site = res.sites.iloc[0]
    if site["stopped_by_rock"]:
        con.print(f"[yellow]a buried rock stopped the drill at {site['reached_m']:.2f} m[/yellow]")
    con.print(f"written to {Path(dest).absolute()}")


def _write_report(work: Path, title: str, res, kind: str) -> None:
    from lupex.report.html import render  # report (matplotlib) on use: keeps lupex --help fast

    if kind == "survey":
        from lupex.report.survey import survey_sections  # matplotlib: on use

        secs = survey_sections(res)
    else:
        from lupex.report.drilling import drilling_sections  # matplotlib: on use

        secs = drilling_sections(res)
    write_text(work / "report.html", render(title, "ground truth and configuration from the run directory", secs))


def _print_scores(con, scores) -> None:
    tab = Table(title="Retrieved vs true")
    for c in ("instrument", "quantity", "n", "RMSE", "bias", "within 2 sigma"):
        tab.add_column(c, justify="right")
    for r in scores.itertuples():
        tab.add_row(r.instrument, r.quantity, str(r.n), f"{r.rmse:.3g}", f"{r.bias:.3g}", f"{r.frac_within_2sigma:.0%}"
                    if r.n else "n/a")
    con.print(tab)


def register(app: typer.Typer) -> None:
    """Add ``survey`` and ``sample`` to a Typer app."""
    app.command("survey", epilog=help_epilog(tables=SURVEY_TABLES) + "\n\nThe survey's speed follows the rover's, "
                "vehicle.mobility.speed_cmd_m_s = 0.1 (m/s): set that key or --speed.")(survey)
    app.command("sample", epilog=help_epilog(tables=SAMPLE_TABLES))(sample)
