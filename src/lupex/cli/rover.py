"""``lupex plan`` and ``lupex survive``: thin Typer layers over the planner and the survival model.

Both run on the built-in site (``--site``, default ``site.name``: the real LOLA
connecting ridge with its far field, :mod:`lupex.terrain.builtin`), the synthetic
one (``--site synthetic`` or any of its size/pixel/seed options) or ``--dem``. The
light is computed on the fly: horizons of the DEM, raised by the built-in site's
far field (:func:`lupex.light.farfield.horizons_with_far_field`), then the per-cell Sun/Earth
series of the corridor (:func:`lupex.light.visibility.visibility_series`).
User errors raise :class:`lupex.errors.LupexError` (the main CLI prints them and
exits 2). Outputs are written atomically and only after the whole plan exists,
so a failure leaves nothing half-written; ``plan`` writes into ``--out`` or
``lupex-runs/plan-<UTC time>`` and says where. Both print a readable summary,
or one JSON line with ``--json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.markup import escape

from lupex import ephemeris, io
from lupex.config import check_span, help_epilog, load, parse_lat_lon
from lupex.errors import InputError, LupexError
from lupex.io import check_utf8_path
from lupex.light.farfield import horizons_with_far_field
from lupex.light.visibility import corridor_window, visibility_series
from lupex.rover import havens as H
from lupex.rover import planner as P
from lupex.rover import scheduler as S
from lupex.rover import survival
from lupex.terrain import generate_site, geo, read_dem
from lupex.terrain.builtin import far_field_paths, read_site_dem

__all__ = ["plan", "survive", "register"]


def _site(cfg, site, dem_path, seed, size_m, pixel_m):
    """(DEM, far-field DEMs) of the site the options name: ``--dem``, else ``--site`` / ``site.name``.

    Any of the synthetic site's own options (seed, size, pixel) choose the synthetic site.
    """
    if dem_path is not None:
        if not Path(dem_path).exists():
            raise InputError(f"DEM file {dem_path} does not exist; check the path given to --dem")
        return read_dem(dem_path), []
    if site is None:
        site = "synthetic" if (seed, size_m, pixel_m) != (None, None, None) else cfg.site.name
    if site != "synthetic":
        return read_site_dem(site), [read_dem(p) for p in far_field_paths(site)]

    return generate_site(seed=cfg.site.seed if seed is None else seed,
                         size_m=cfg.site.size_m if size_m is None else size_m,
                         pixel_m=cfg.site.pixel_m if pixel_m is None else pixel_m).dem, []


def _times(start: str, days: float, step_h: float):
    check_span(start, days, step_h, error=InputError)  # finite, positive, inside the kernels, not too many steps
    t0 = ephemeris._to_datetime64(start)[0]
    stop = t0 + np.timedelta64(int(round(days * 86400)), "s")
    return ephemeris.time_grid(t0, stop, step_h)


def _light(dem, times, window, n_az, height_m, far_field=()):
    cube = horizons_with_far_field(dem, list(far_field), n_az, observer_height_m=height_m)
    return visibility_series(dem, cube, times, window=window)


def _config(config, sets):
    return load(config, list(sets or []))


def _config_help(tables: tuple[str, ...]) -> str:
    # the CLI renders help as Rich markup, where "[vehicle]" is a style tag and vanishes: escape the brackets

    names = [f"[{t}]" for t in tables]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return escape(f"TOML file with {listed} tables (see below; lupex run's file works).")


PLAN_TABLES = ("vehicle", "planner", "rover", "light")
SURVIVE_TABLES = ("vehicle", "light")
_AZIMUTHS_HELP = ("Horizon azimuths of this command's light computation (72 = 5 deg spacing). It does not read "
                  "light.n_azimuths (360 for lupex run, listed below): 360 here takes about 5x longer.")
_JSON_HELP = "Print the summary as one JSON line (for scripts) instead of text."
_SET_HELP = "Override one parameter, table.key=value (repeatable), e.g. --set vehicle.battery.capacity_wh=5000."


def plan(
    from_: Annotated[str, typer.Option("--from", help="Start, LAT,LON in planetocentric degrees.")],
    to: Annotated[str, typer.Option("--to", help="Goal, LAT,LON in planetocentric degrees.")],
    start: Annotated[str, typer.Option(help="Departure time, UTC ISO 8601.")],
    site: Annotated[Optional[str], typer.Option("--site", help="Built-in site: site01 (real LOLA connecting ridge with its far field; the default, site.name) or synthetic.")] = None,
    dem: Annotated[Optional[Path], typer.Option(help="Your own DEM file (GeoTIFF or PDS3), heights in m; replaces the built-in site.")] = None,
    days: Annotated[float, typer.Option(help="Length of the light series from --start, days.")] = 30.0,
    step_hours: Annotated[float, typer.Option(help="Light series step, h.")] = 1.0,
    via: Annotated[Optional[list[str]], typer.Option(help="Waypoint LAT,LON in degrees (repeatable, in order).")] = None,
    havens: Annotated[bool, typer.Option(help="Route through safe havens when the direct traverse is impossible.")] = True,
    max_slope: Annotated[Optional[float], typer.Option(help="Impassable above this slope, deg (default: rover.max_slope_deg, 20).")] = None,
    azimuths: Annotated[int, typer.Option(help=_AZIMUTHS_HELP)] = 72,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the synthetic site (implies --site synthetic); default site.seed (0).")] = None,
    size_m: Annotated[Optional[float], typer.Option(help="Side of the synthetic site, m (implies --site synthetic); default site.size_m (20000).")] = None,
    pixel_m: Annotated[Optional[float], typer.Option(help="Pixel of the synthetic site, m (implies --site synthetic); default site.pixel_m (20).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Directory for plan.geojson, plan.parquet, plan_map.png, plan_profile.png (and timeline_*.parquet); default lupex-runs/plan-<UTC time>.")] = None,
    timeline_days: Annotated[float, typer.Option(help="Also schedule an activity timeline of this many days from --start (drives, science and drilling at the goal and waypoints, communication passes, hibernation through dark periods; 180 = the six-month mission); 0 = none.")] = 0.0,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help=_config_help(PLAN_TABLES))] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help=_SET_HELP)] = None,
    json_: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Plan a time-dependent traverse (earliest arrival under slope, battery and light constraints), and optionally the mission timeline."""
    cfg = _config(config, (set_ or []) + ([f"rover.max_slope_deg={max_slope}"] if max_slope is not None else []))
    rover, params = cfg.vehicle, cfg.planner
    pts = [parse_lat_lon(from_, "--from")] + [parse_lat_lon(v, "--via") for v in (via or [])] + [parse_lat_lon(to, "--to")]
    if timeline_days < 0:
        raise LupexError(f"--timeline-days must be >= 0, got {timeline_days:g}")
    times = _times(start, max(days, timeline_days), step_hours)  # every number checked before the site is read
    d, far = _site(cfg, site, dem, seed, size_m, pixel_m)
    xy = [P.xy_of_lonlat(d, lon, lat) for lat, lon in pts]
    cells = [P.cell_of(d, p, n) for p, n in zip(xy, ["start"] + ["waypoint"] * (len(xy) - 2) + ["goal"])]
    span = int(max(np.ptp([c[0] for c in cells]), np.ptp([c[1] for c in cells])))
    window = corridor_window(d.shape, cells, params.margin_cells + span // 2)
    light = _light(d, times, window, azimuths, cfg.light.observer_height_m, far)
    try:
        p = P.plan(d, light, xy[0], xy[-1], start, rover=rover, params=params, waypoints=xy[1:-1])
    except P.PlanError as exc:
        if not havens or "battery" not in str(exc) or len(xy) > 2:
            raise
        hv = H.find_havens(d, light, rover=rover, params=params)
        p = H.plan_via_havens(d, light, xy[0], xy[-1], start, hv, rover=rover, params=params)
    s = p.summary()
    timeline = None
    if timeline_days > 0:
        goals = [S.Goal(*g, name=f"waypoint {i + 1}") for i, g in enumerate(xy[1:-1])] + [S.Goal(*xy[-1], name="goal")]
        timeline = S.schedule(d, light, start=start, duration_days=timeline_days, goals=goals, rover=rover, params=params,
                              start_xy=xy[0])
    out = out if out is not None else _default_dir("plan")
    _write_directory(Path(out), _plan_files(p, d, timeline))
    _print_plan(s, timeline, out, json_)


def _plan_files(p, d, timeline) -> list:
    """(name, writer) of every file of ``lupex rover plan``, all computed first (each then appears whole or not at all)."""
    from lupex.report.rover import plan_map_png, plan_profile_png  # report (matplotlib) on use: keeps lupex --help fast

    gj = json.dumps(P.plan_geojson(p), indent=1)
    map_png = plan_map_png(p, d)
    prof_png = plan_profile_png(p)
    files = [("plan.geojson", lambda f: io.write_text(f, gj)),
             ("plan.parquet", lambda f: io.write_dataframe(f, p.to_dataframe())),
             ("plan_map.png", lambda f: io.write_bytes(f, map_png)),
             ("plan_profile.png", lambda f: io.write_bytes(f, prof_png))]
    if timeline is not None:
        files += [("timeline_activities.parquet", lambda f: io.write_dataframe(f, timeline.activities)),
                  ("timeline_trace.parquet", lambda f: io.write_dataframe(f, timeline.trace))]
    return files


def _print_plan(s: dict, timeline, out, json_: bool) -> None:
    """The plan's summary (and the timeline's): text lines, or one JSON line each with ``--json``."""
    if json_:  # one JSON line per result, the directory inside
        typer.echo(json.dumps({**s, "out_dir": str(out)}, default=str))
        if timeline is not None:
            typer.echo(json.dumps({"timeline": timeline.summary()}, default=str))
        return
    typer.echo(_plan_text(s))
    if timeline is not None:
        typer.echo(_timeline_text(timeline.summary()))
    extra = ", timeline_activities.parquet, timeline_trace.parquet" if timeline is not None else ""
    typer.echo(f"wrote plan.geojson, plan.parquet, plan_map.png, plan_profile.png{extra} in {out}")


def survive(
    at: Annotated[str, typer.Option("--at", help="Parking spot, LAT,LON in planetocentric degrees.")],
    start: Annotated[str, typer.Option(help="Start of parking, UTC ISO 8601.")],
    site: Annotated[Optional[str], typer.Option("--site", help="Built-in site: site01 (real LOLA connecting ridge with its far field; the default, site.name) or synthetic.")] = None,
    dem: Annotated[Optional[Path], typer.Option(help="Your own DEM file (GeoTIFF or PDS3), heights in m; replaces the built-in site.")] = None,
    days: Annotated[float, typer.Option(help="Length of the simulation, days.")] = 30.0,
    step_hours: Annotated[float, typer.Option(help="Time step, h.")] = 1.0,
    azimuths: Annotated[int, typer.Option(help=_AZIMUTHS_HELP)] = 72,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the synthetic site (implies --site synthetic); default site.seed (0).")] = None,
    size_m: Annotated[Optional[float], typer.Option(help="Side of the synthetic site, m (implies --site synthetic); default site.size_m (20000).")] = None,
    pixel_m: Annotated[Optional[float], typer.Option(help="Pixel of the synthetic site, m (implies --site synthetic); default site.pixel_m (20).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Directory for survival.csv (one row per dark period).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help=_config_help(SURVIVE_TABLES))] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help=_SET_HELP)] = None,
    json_: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Park at a spot and judge every dark period (energy and temperatures through hibernation)."""
    cfg = _config(config, set_)
    lat, lon = parse_lat_lon(at, "--at")
    times = _times(start, days, step_hours)  # every number checked before the site is read
    d, far = _site(cfg, site, dem, seed, size_m, pixel_m)
    r, c = P.cell_of(d, P.xy_of_lonlat(d, lon, lat), "parking spot")
    light = _light(d, times, (r, r + 1, c, c + 1), azimuths, cfg.light.observer_height_m, far)
    f = light.sun[:, 0, 0] / 255.0

    gna = float(geo.grid_north_azimuth_deg(d.isel(y=slice(r, r + 1), x=slice(c, c + 1)))[0, 0])
    az_geo = (light.sun_azimuth_deg - gna) % 360.0
    res = survival.survive(light.times, f, az_geo, light.sun_elevation_deg, start=light.times[0], sun_distance_m=light.sun_distance_m,
                            params=cfg.vehicle)
    df = res.to_dataframe()
    verdict = "survives" if res.survives else "fails"
    worst = res.worst
    summary = {"lat_deg": lat, "lon_deg": lon, "dark_periods": len(res.periods), "verdict": verdict,
               "worst_margin_wh": None if worst is None else worst.margin_wh,
               "longest_dark_h": float(df["duration_h"].max()) if len(df) else 0.0}
    if out is not None:
        io.write_dataframe(Path(out) / "survival.csv", df)
    typer.echo(json.dumps(summary, default=str) if json_ else _survive_text(summary, start, days))
    if out is not None and not json_:
        typer.echo(f"wrote survival.csv (one row per dark period) in {out}")
    if not res.survives:
        raise LupexError(f"the rover does not survive at {lat:g},{lon:g}: dark period from {str(worst.start)[:19]} "
                         f"({worst.duration_h:.0f} h) runs the battery or a thermal node out; pick a better-lit spot or a bigger battery")


def _write_directory(out: Path, files) -> None:
    """Write ``files`` (name, writer of that path) into ``out`` all or nothing.

    Into a hidden sibling first, then renamed into place (the directory when ``out`` is new, else file by file over
    its files), so a failure (a full disk, an unwritable file) leaves no half-written ``out`` behind.
    """
    out = check_utf8_path(out).absolute()
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a directory; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)  # mkdtemp makes 0700; the directory follows the umask as mkdir does
        for name, write in files:
            write(tmp / name)
        if not out.exists():
            tmp.rename(out)
            return
        for name, _ in files:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _default_dir(kind: str) -> Path:
    """lupex-runs/<kind>-<UTC time> in the working directory, as ``lupex run`` and ``lupex land`` name theirs."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return (Path("lupex-runs") / f"{kind}-{stamp}").absolute()  # absolute: the message says where it went


def _plan_text(s: dict) -> str:
    """The plan's summary as a few lines a person reads (``--json`` gives the machine form)."""
    lines = [
        f"traverse {s['start_utc']} -> {s['arrival_utc']} UTC: {s['distance_m']:,.0f} m in {s['duration_h']:.1f} h "
        f"({s['drive_time_h']:.1f} h driving, {s['wait_time_h']:.1f} h waiting)",
        f"energy used {s['energy_used_wh']:,.0f} Wh, lowest state of charge {100 * s['min_soc']:.0f} %",
        f"longest shadow {s['longest_shadow_h']:.1f} h, without Earth {s['time_without_earth_h']:.1f} h",
        f"coldest electronics {s['min_electronics_k']:.0f} K, battery {s['min_battery_k']:.0f} K",
    ]
    if s.get("havens"):
        lines.append(f"via safe havens: {', '.join(str(h) for h in s['havens'])}")
    return "\n".join(lines)


def _timeline_text(t: dict) -> str:
    modes = ", ".join(f"{m} {h:.0f} h" for m, h in t["hours_by_mode"].items())
    return (f"timeline {t['start_utc']} -> {t['end_utc']} UTC: {modes}; goals reached {t['goals_reached']}; "
            f"lowest state of charge {100 * t['min_soc']:.0f} %, coldest electronics {t['min_electronics_k']:.0f} K, "
            f"battery {t['min_battery_k']:.0f} K; {t['data_volume_gbit']:.1f} Gbit of data")


def _survive_text(s: dict, start: str, days: float) -> str:
    worst = "" if s["worst_margin_wh"] is None else f", worst energy margin {s['worst_margin_wh']:,.0f} Wh"
    return (f"parked at {s['lat_deg']:g},{s['lon_deg']:g} from {start} for {days:g} days: {s['dark_periods']} dark "
            f"period(s), the longest {s['longest_dark_h']:.0f} h{worst}; the rover {s['verdict']}")


def register(app: typer.Typer) -> None:
    """Add ``plan`` and ``survive`` to the main CLI app."""
    app.command("plan", epilog=help_epilog(tables=PLAN_TABLES))(plan)
    app.command("survive", epilog=help_epilog(tables=SURVIVE_TABLES))(survive)
