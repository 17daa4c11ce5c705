"""``lupex plan`` and ``lupex survive``: thin Typer layers over the planner and the survival model.

Both default to the built-in SYNTHETIC site (:func:`lupex.terrain.generate_site`)
or read ``--dem``. The light is computed on the fly: horizons of the DEM
(:func:`lupex.light.horizon.horizon_angles`), then the per-cell Sun/Earth
series of the corridor (:func:`lupex.light.visibility.visibility_series`).
User errors raise :class:`lupex.errors.LupexError` (the main CLI prints them and
exits 2). Outputs are written atomically and only after the whole plan exists,
so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from lupex.config import help_epilog, parse_lat_lon
from lupex.errors import InputError, LupexError

__all__ = ["plan", "survive", "register"]


def _site(dem_path, seed, size_m, pixel_m):
    if dem_path is not None:
        from lupex.terrain import read_dem

        if not Path(dem_path).exists():
            raise InputError(f"DEM file {dem_path} does not exist; check the path given to --dem")
        return read_dem(dem_path)
    from lupex.terrain import generate_site

    return generate_site(seed=seed, size_m=size_m, pixel_m=pixel_m).dem


def _times(start: str, days: float, step_h: float):
    from lupex import ephemeris
    from lupex.config import check_span

    check_span(start, days, step_h, error=InputError)  # finite, positive, inside the kernels, not too many steps
    t0 = ephemeris._to_datetime64(start)[0]
    stop = t0 + np.timedelta64(int(round(days * 86400)), "s")
    return ephemeris.time_grid(t0, stop, step_h)


def _light(dem, times, window, n_az, height_m):
    from lupex.light.horizon import horizon_angles
    from lupex.light.visibility import visibility_series
    from lupex.terrain import geo

    z = np.asarray(dem.values, dtype=float)
    cube = horizon_angles(z, geo.pixel_size_m(dem), n_az, observer_height_m=height_m)
    return visibility_series(dem, cube, times, window=window)


def _config(config, sets):
    from lupex.config import load

    return load(config, list(sets or []))


_CONFIG_HELP = "TOML file with [vehicle], [planner], [rover] and [light] tables (see below; lupex run's file works)."
_SET_HELP = "Override one parameter, table.key=value (repeatable), e.g. --set vehicle.battery.capacity_wh=5000."


def plan(
    from_: Annotated[str, typer.Option("--from", help="Start, LAT,LON in planetocentric degrees.")],
    to: Annotated[str, typer.Option("--to", help="Goal, LAT,LON in planetocentric degrees.")],
    start: Annotated[str, typer.Option(help="Departure time, UTC ISO 8601.")],
    dem: Annotated[Optional[Path], typer.Option(help="DEM file (GeoTIFF or PDS3); default: the built-in SYNTHETIC site. Heights in m.")] = None,
    days: Annotated[float, typer.Option(help="Length of the light series from --start, days.")] = 30.0,
    step_hours: Annotated[float, typer.Option(help="Light series step, h.")] = 1.0,
    via: Annotated[Optional[list[str]], typer.Option(help="Waypoint LAT,LON in degrees (repeatable, in order).")] = None,
    havens: Annotated[bool, typer.Option(help="Route through safe havens when the direct traverse is impossible.")] = True,
    max_slope: Annotated[Optional[float], typer.Option(help="Impassable above this slope, deg (default: rover.max_slope_deg, 20).")] = None,
    azimuths: Annotated[int, typer.Option(help="Horizon azimuths (360 = 1 deg).")] = 72,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic site.")] = 0,
    size_m: Annotated[float, typer.Option(help="Side of the synthetic site, m.")] = 20_000.0,
    pixel_m: Annotated[float, typer.Option(help="Pixel of the synthetic site, m.")] = 20.0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Directory for plan.geojson, plan.parquet, plan_map.png, plan_profile.png (and timeline_*.parquet).")] = None,
    timeline_days: Annotated[float, typer.Option(help="Also schedule an activity timeline of this many days from --start (drives, science and drilling at the goal and waypoints, communication passes, hibernation through dark periods; 180 = the six-month mission); 0 = none.")] = 0.0,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help=_CONFIG_HELP)] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help=_SET_HELP)] = None,
) -> None:
    """Plan a time-dependent traverse (earliest arrival under slope, battery and light constraints), and optionally the mission timeline."""
    from lupex import io
    from lupex.light.visibility import corridor_window
    from lupex.rover import havens as H
    from lupex.rover import planner as P

    cfg = _config(config, (set_ or []) + ([f"rover.max_slope_deg={max_slope}"] if max_slope is not None else []))
    rover, params = cfg.vehicle, cfg.planner
    d = _site(dem, seed, size_m, pixel_m)
    pts = [parse_lat_lon(from_, "--from")] + [parse_lat_lon(v, "--via") for v in (via or [])] + [parse_lat_lon(to, "--to")]
    xy = [P.xy_of_lonlat(d, lon, lat) for lat, lon in pts]
    cells = [P.cell_of(d, p, n) for p, n in zip(xy, ["start"] + ["waypoint"] * (len(xy) - 2) + ["goal"])]
    if timeline_days < 0:
        raise LupexError(f"--timeline-days must be >= 0, got {timeline_days:g}")
    times = _times(start, max(days, timeline_days), step_hours)
    span = int(max(np.ptp([c[0] for c in cells]), np.ptp([c[1] for c in cells])))
    window = corridor_window(d.shape, cells, params.margin_cells + span // 2)
    light = _light(d, times, window, azimuths, cfg.light.observer_height_m)
    try:
        p = P.plan(d, light, xy[0], xy[-1], start, rover=rover, params=params, waypoints=xy[1:-1])
    except P.PlanError as exc:
        if not havens or "battery" not in str(exc) or len(xy) > 2:
            raise
        hv = H.find_havens(d, light, rover=rover, params=params)
        p = H.plan_via_havens(d, light, xy[0], xy[-1], start, hv, rover=rover, params=params)
    s = p.summary()
    typer.echo(json.dumps(s, default=str))
    timeline = None
    if timeline_days > 0:
        from lupex.rover import scheduler as S

        goals = [S.Goal(*g, name=f"waypoint {i + 1}") for i, g in enumerate(xy[1:-1])] + [S.Goal(*xy[-1], name="goal")]
        timeline = S.schedule(d, light, start=start, duration_days=timeline_days, goals=goals, rover=rover, params=params,
                              start_xy=xy[0])
        typer.echo(json.dumps({"timeline": timeline.summary()}, default=str))
    if out is not None:
        # everything is computed first; then each file appears whole or not at all
        gj = json.dumps(P.plan_geojson(p), indent=1)
        map_png = P.plan_map_png(p, d)
        prof_png = P.plan_profile_png(p)
        io.write_text(Path(out) / "plan.geojson", gj)
        io.write_dataframe(Path(out) / "plan.parquet", p.to_dataframe())
        io.write_bytes(Path(out) / "plan_map.png", map_png)
        io.write_bytes(Path(out) / "plan_profile.png", prof_png)
        if timeline is not None:
            io.write_dataframe(Path(out) / "timeline_activities.parquet", timeline.activities)
            io.write_dataframe(Path(out) / "timeline_trace.parquet", timeline.trace)
        extra = ", timeline_activities.parquet, timeline_trace.parquet" if timeline is not None else ""
        typer.echo(f"wrote {out}/plan.geojson, plan.parquet, plan_map.png, plan_profile.png{extra}")


def survive(
    at: Annotated[str, typer.Option("--at", help="Parking spot, LAT,LON in planetocentric degrees.")],
    start: Annotated[str, typer.Option(help="Start of parking, UTC ISO 8601.")],
    dem: Annotated[Optional[Path], typer.Option(help="DEM file; default: the built-in SYNTHETIC site. Heights in m.")] = None,
    days: Annotated[float, typer.Option(help="Length of the simulation, days.")] = 30.0,
    step_hours: Annotated[float, typer.Option(help="Time step, h.")] = 1.0,
    azimuths: Annotated[int, typer.Option(help="Horizon azimuths.")] = 72,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic site.")] = 0,
    size_m: Annotated[float, typer.Option(help="Side of the synthetic site, m.")] = 20_000.0,
    pixel_m: Annotated[float, typer.Option(help="Pixel of the synthetic site, m.")] = 20.0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Directory for survival.csv (one row per dark period).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help=_CONFIG_HELP)] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help=_SET_HELP)] = None,
) -> None:
    """Park at a spot and judge every dark period (energy and temperatures through hibernation)."""
    from lupex import io
    from lupex.rover import planner as P
    from lupex.rover import survival

    cfg = _config(config, set_)
    d = _site(dem, seed, size_m, pixel_m)
    lat, lon = parse_lat_lon(at, "--at")
    r, c = P.cell_of(d, P.xy_of_lonlat(d, lon, lat), "parking spot")
    times = _times(start, days, step_hours)
    light = _light(d, times, (r, r + 1, c, c + 1), azimuths, cfg.light.observer_height_m)
    f = light.sun[:, 0, 0] / 255.0
    from lupex.terrain import geo

    gna = float(geo.grid_north_azimuth_deg(d.isel(y=slice(r, r + 1), x=slice(c, c + 1)))[0, 0])
    az_geo = (light.sun_azimuth_deg - gna) % 360.0
    res = survival.survive(light.times, f, az_geo, light.sun_elevation_deg, start=light.times[0], sun_distance_m=light.sun_distance_m,
                            params=cfg.vehicle)
    df = res.to_dataframe()
    verdict = "survives" if res.survives else "fails"
    worst = res.worst
    typer.echo(json.dumps({"lat_deg": lat, "lon_deg": lon, "dark_periods": len(res.periods), "verdict": verdict,
                           "worst_margin_wh": None if worst is None else worst.margin_wh,
                           "longest_dark_h": float(df["duration_h"].max()) if len(df) else 0.0}, default=str))
    if out is not None:
        io.write_dataframe(Path(out) / "survival.csv", df)
    if not res.survives:
        raise LupexError(f"the rover does not survive at {lat:g},{lon:g}: dark period from {str(worst.start)[:19]} "
                         f"({worst.duration_h:.0f} h) runs the battery or a thermal node out; pick a better-lit spot or a bigger battery")


def register(app: typer.Typer) -> None:
    """Add ``plan`` and ``survive`` to the main CLI app."""
    app.command("plan", epilog=help_epilog(tables=("vehicle", "planner", "rover", "light")))(plan)
    app.command("survive", epilog=help_epilog(tables=("vehicle", "light")))(survive)
