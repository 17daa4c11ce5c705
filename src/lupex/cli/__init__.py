"""The ``lupex`` command line: one Typer app, each subcommand one library call.

User errors (:class:`lupex.errors.LupexError`, and an ``OSError`` on a path
the user gave) print one line and exit with status 2, without a traceback;
Ctrl-C exits 130 and SIGTERM 143, with a message; an unexpected exception
exits 1 with one line and the path of a log holding its traceback (see
:func:`main` and the README's Errors section).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from lupex.errors import ConfigError, LupexError

app = typer.Typer(
    name="lupex",
    help="Lunar south-pole mission simulator (LUPEX kind): site light, Earth visibility, terrain and hazards.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
dem_app = typer.Typer(help="Make or inspect a DEM.", no_args_is_help=True)
app.add_typer(dem_app, name="dem")
data_app = typer.Typer(help="Download native LOLA products (needs internet) and cut site boxes from them.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")


def _register_subsystems() -> None:
    """Subsystems own their commands (``register(app)``); the app only collects them."""
    from lupex.landing import commands as landing_commands
    from lupex.mission import commands as mission_commands
    from lupex.rover import commands as rover_commands

    landing_commands.register(app)
    rover_commands.register(app)
    mission_commands.register(app)
    from lupex.ops import commands as ops_commands  # the rover twin on UDP (lupex ops)

    ops_commands.register(app)

# a terminal sets its own width; a log or a pipe gets 160 columns, not Rich's 80, so the verdict table stays readable
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _config_epilog() -> str:
    from lupex.config import help_epilog

    return help_epilog("[b]Every parameter[/b], as table.key = default (unit): meaning. Set them in --config "
                       "FILE.toml or with --set table.key=value (nested tables: --set vehicle.battery.capacity_wh=5000, "
                       "--set vehicle.panels[0].area_m2=3).")


@app.command(epilog=_config_epilog())
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
    from lupex.config import load
    from lupex.mission.run import run_mission

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
    from lupex.io import check_utf8_path

    for p in (dem, out_dir, resume, *(far_field or [])):  # GDAL/HDF5 cannot take raw-byte names: refuse them now
        if p is not None:
            check_utf8_path(p)
    if dem is not None and not dem.exists():
        raise LupexError(f"DEM file {dem} does not exist; check the path given to --dem")
    if resume is not None:
        from lupex.mission.rundir import resume_config

        if out_dir is not None:
            raise ConfigError("--resume DIR names the run directory already; leave out --out")
        cfg = resume_config(resume, config, sets)
    else:
        cfg = load(config, sets)
    t0 = time.perf_counter()
    result = run_mission(cfg, progress=not quiet, resume=resume is not None)
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
        from lupex.report.summary import console_table

        out.print(console_table(result.verdicts))
    for note in result.notes:  # valid input the site rules out (e.g. no traverse): a finding, exit 0
        out.print(note, style="bold yellow", markup=False, highlight=False)


@app.command()
def ephem(
    time_: Annotated[list[str], typer.Option("--time", "-t", help="UTC time, ISO 8601 (repeatable).")],
    lat: Annotated[float, typer.Option(help="Planetocentric latitude of the observer, deg (-90..90).")] = -89.9,
    lon: Annotated[float, typer.Option(help="East longitude of the observer, deg.")] = 0.0,
    height: Annotated[float, typer.Option(help="Observer height above the 1737.4 km sphere, m.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Sun and Earth azimuth/elevation (deg, azimuth clockwise from local north) seen from a lunar point, and the sub-solar point."""
    import math

    from lupex import ephemeris as eph

    for name, v, lim in (("--lat", lat, 90.0), ("--lon", lon, 360.0), ("--height", height, 1e6)):
        if not (math.isfinite(v) and abs(v) <= lim):
            raise LupexError(f"{name} {v:g} must be a finite number within -{lim:g}..{lim:g}")
    et = eph.utc_to_et(time_)
    sun = eph.topocentric("SUN", lat, lon, height, et=et)
    earth = eph.topocentric("EARTH", lat, lon, height, et=et)
    slat, slon = eph.subsolar_point(et)
    rows = []
    for i, t in enumerate(time_):
        rows.append({
            "time_utc": t,
            "observer": {"lat_deg": lat, "lon_deg": lon, "height_m": height},
            "sun": {"azimuth_deg": float(sun.azimuth_deg[i]), "elevation_deg": float(sun.elevation_deg[i]),
                    "distance_km": float(sun.range_m[i] / 1000), "angular_radius_deg": float(sun.angular_radius_deg[i])},
            "earth": {"azimuth_deg": float(earth.azimuth_deg[i]), "elevation_deg": float(earth.elevation_deg[i]),
                      "distance_km": float(earth.range_m[i] / 1000), "angular_radius_deg": float(earth.angular_radius_deg[i])},
            "subsolar_point": {"lat_deg": float(slat[i]), "lon_deg": float(slon[i])},
        })
    if as_json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
        return
    from rich.table import Table

    tab = Table(title=f"Seen from lat {lat:g}, lon {lon:g}, {height:g} m")
    for c in ("time (UTC)", "sun az", "sun el", "earth az", "earth el", "sub-solar lat, lon"):
        tab.add_column(c)
    for r in rows:
        tab.add_row(r["time_utc"], f"{r['sun']['azimuth_deg']:.3f}", f"{r['sun']['elevation_deg']:.3f}",
                    f"{r['earth']['azimuth_deg']:.3f}", f"{r['earth']['elevation_deg']:.3f}",
                    f"{r['subsolar_point']['lat_deg']:.3f}, {r['subsolar_point']['lon_deg']:.3f}")
    out.print(tab)


@dem_app.command("synth")
def dem_synth(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="GeoTIFF to write.")],
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
    size_m: Annotated[float, typer.Option(help="Side of the square site, m.")] = 20_000.0,
    pixel_m: Annotated[float, typer.Option(help="Pixel size, m.")] = 20.0,
) -> None:
    """Write the SYNTHETIC south-pole site (IAU_2015:30135) as a GeoTIFF, and its crater catalogue as Parquet."""
    from lupex.config import load
    from lupex.io import write_dataframe
    from lupex.terrain.io import write_geotiff
    from lupex.terrain.synthetic import generate_site

    load(overrides=[f"site.size_m={size_m}", f"site.pixel_m={pixel_m}", f"site.seed={seed}"])  # validates ranges
    site = generate_site(seed=seed, size_m=size_m, pixel_m=pixel_m)
    write_geotiff(site.dem, out_file)
    cat = out_file.with_suffix(".craters.parquet")
    write_dataframe(cat, site.craters)
    out.print(f"wrote {out_file} ({site.dem.shape[1]} x {site.dem.shape[0]} cells) and {cat} ({len(site.craters)} craters)")


@dem_app.command("info")
def dem_info(path: Annotated[Path, typer.Argument(help="DEM file (GeoTIFF or PDS3 .IMG/.LBL).")]) -> None:
    """Read a DEM as lupex would and describe it (size, pixel, CRS, heights, filled holes); a large one is read in
    windows, never whole."""
    import numpy as np

    from lupex.terrain.geo import dem_crs, lonlat_grid, pixel_size_m
    from lupex.terrain.io import dem_header, describe_dem, read_dem

    h = dem_header(path)  # checks the header before any pixel is read
    if h["ny"] * h["nx"] > 4_000_000:  # summarised window by window: memory stays small whatever the size
        d = describe_dem(path)
        out.print(f"{path}: {d['nx']} x {d['ny']} cells, pixel {d['pixel_m']:g} m", markup=False)
        out.print(f"CRS: {d['crs'].name}", markup=False)
        out.print(f"latitude {d['lat_min_deg']:.3f} to {d['lat_max_deg']:.3f} deg; heights {d['z_min_m']:.1f} to "
                  f"{d['z_max_m']:.1f} m", markup=False)
        out.print(f"no-data cells: {d['n_nodata']} (filled when lupex reads the DEM)", markup=False)
        return
    da = read_dem(path)
    lon, lat = lonlat_grid(da)
    z = np.asarray(da)
    out.print(f"{path}: {da.shape[1]} x {da.shape[0]} cells, pixel {pixel_size_m(da):g} m", markup=False)
    out.print(f"CRS: {dem_crs(da).name}", markup=False)
    out.print(f"latitude {lat.min():.3f} to {lat.max():.3f} deg; heights {z.min():.1f} to {z.max():.1f} m")
    out.print(f"no-data cells filled: {da.attrs.get('n_filled', 0)}")


_DATA_DIR_HELP = "Cache directory for downloaded products (default $LUPEX_DATA_DIR, else the user cache, lupex/lola)."
_MANIFEST_HELP = "JSON product manifest to use instead of the built-in one (lupex/terrain/data/lola_products.json)."


@data_app.command("list")
def data_list(
    data_dir: Annotated[Optional[Path], typer.Option(help=_DATA_DIR_HELP)] = None,
    manifest: Annotated[Optional[Path], typer.Option(help=_MANIFEST_HELP)] = None,
) -> None:
    """List the LOLA products lupex can fetch: name, size (bytes, as published), citation, cached or not."""
    from rich.table import Table

    from lupex.terrain import fetch

    products = fetch.load_manifest(manifest)
    where = fetch.data_dir(data_dir)
    tab = Table(title=f"LOLA products (cache: {where})")
    for c in ("name", "size", "pixel (m)", "cached", "what", "cite"):
        tab.add_column(c)
    for p in products.values():
        tab.add_row(p.name, p.size_text(), f"{p.pixel_m:g}", fetch.cached_state(p, where), p.title, p.citation)
    out.print(tab)
    seen = []
    for p in products.values():
        if p.citation not in seen:
            seen.append(p.citation)
            out.print(f"[b]{p.citation}[/b]: {p.citation_text}", highlight=False)


@data_app.command("fetch")
def data_fetch(
    product: Annotated[str, typer.Argument(help="Product name from `lupex data list`, e.g. site01.")],
    crop: Annotated[Optional[str], typer.Option(help="Cut a square out of the product: LAT,LON,SIZE_KM = centre planetocentric latitude (deg), east longitude (deg), side (km).", metavar="LAT,LON,SIZE_KM")] = None,
    pixel_m: Annotated[Optional[float], typer.Option(help="Pixel size of the crop, m (default: the product's own).")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", "-o", help="GeoTIFF to write the crop to (IAU_2015:30135, heights in m); needs --crop.")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help=_DATA_DIR_HELP)] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Fetch every file from BASE_URL/<file name> (a mirror) instead of the manifest's URLs (default $LUPEX_DATA_URL).")] = None,
    manifest: Annotated[Optional[Path], typer.Option(help=_MANIFEST_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Download a LOLA product into the cache (verified by size, content type and checksum) and optionally crop it."""
    from lupex.terrain import fetch

    prod = fetch.get_product(fetch.load_manifest(manifest), product)
    box = fetch.parse_crop(crop) if crop is not None else None
    if out_file is not None and box is None:
        raise LupexError("--out needs --crop LAT,LON,SIZE_KM (the full product stays in the cache; see --data-dir)")
    if box is not None and out_file is None:
        raise LupexError("--crop needs --out FILE.tif, the GeoTIFF to write")
    if pixel_m is not None and box is None:
        raise LupexError("--pixel-m applies to a crop; give --crop and --out as well")
    if pixel_m is not None and not pixel_m > 0:
        raise LupexError(f"--pixel-m {pixel_m:g} must be a positive number of metres")
    path = fetch.fetch_product(prod, directory=data_dir, base_url=base_url, progress=not quiet)
    out.print(f"{prod.name}: {path}", highlight=False)
    if box is None:
        return
    lat, lon, size_km = box
    info = fetch.crop_to_site(path, out_file, lat_deg=lat, lon_deg=lon, size_km=size_km, pixel_m=pixel_m,
                              source=f"{prod.title}; {prod.citation_text}; cropped to {size_km:g} km around "
                                     f"lat {lat:g}, lon {lon:g}")
    ny, nx = info["shape"]
    lo, hi = info["height_range_m"]
    out.print(f"wrote {out_file} ({nx} x {ny} cells at {info['pixel_m']:g} m, IAU_2015:30135; heights {lo:.1f} to "
              f"{hi:.1f} m; {info['n_nodata']} no-data cells)", highlight=False)
    out.print(f"use it: lupex run --dem {out_file}", highlight=False)


_register_subsystems()


def main() -> None:
    """Console entry point: run the app and turn every way it can end into an exit status.

    0 done; 2 a user error (:class:`LupexError`, an ``OSError`` on a path the user
    gave, a usage error), one line on stderr; 130 Ctrl-C (SIGINT) and 143 SIGTERM,
    with a message (an interrupted ``lupex run`` says how to resume); 1 anything
    else: a short message and the path of a log file holding the traceback.
    """
    sys.exit(_main())


def _say(msg: str, prefix: str = "error: ") -> None:
    """``prefix msg`` on stderr as one line, the message taken literally (no Rich markup: "[site]" stays)."""
    from rich.text import Text

    line = " ".join(str(msg).split()).encode("utf-8", "backslashreplace").decode("utf-8")  # raw-byte names
    err.print(Text.assemble((prefix, "bold red"), line) if prefix else Text(line), soft_wrap=True, highlight=False)


def _install_signal_handlers() -> dict:
    """SIGINT and SIGTERM unwind the command as Ctrl-C does (remembering which came); the old handlers."""
    import signal
    import threading

    from lupex.mission import rundir

    rundir.interrupts.clear()
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, rundir.raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}


def _interrupted(exc: BaseException | None) -> int:
    """Message and exit status of an interrupted command (Ctrl-C -> 130, SIGTERM -> 143)."""
    import signal

    from lupex.mission import rundir

    term = type(exc).__name__ == "Terminated" or rundir.interrupts.get("signal") == signal.SIGTERM
    where = getattr(exc, "lupex_resume", None) or rundir.interrupts.get("kept")
    what = "terminated (SIGTERM)" if term else "interrupted (Ctrl-C)"
    _say(f"{what}; the unfinished run is kept: resume it with `lupex run --resume {where}`" if where else what,
         prefix="")
    return 143 if term else 130


def _crash_log(exc: BaseException) -> str | None:
    """Write the traceback of an unexpected error to a log file; its path (None if it cannot be written)."""
    import os
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    for d in (os.environ.get("LUPEX_LOG_DIR"), Path.home() / ".cache" / "lupex", tempfile.gettempdir()):
        if not d:
            continue
        try:
            Path(d).mkdir(parents=True, exist_ok=True)
            p = Path(d) / f"lupex-crash-{stamp}-{os.getpid()}.log"
            p.write_text(f"lupex {' '.join(sys.argv[1:])}\n{text}", encoding="utf-8", errors="backslashreplace")
            return str(p)
        except Exception:  # a crash report must never crash
            continue
    return None


def _os_error(exc: OSError) -> str:
    """One line for an OSError on a user's path: what failed, on which file, and what to do."""
    import errno

    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    what = exc.strerror or str(exc) or type(exc).__name__
    hint = {errno.EACCES: "check its permissions or choose another path",
            errno.EPERM: "check its permissions or choose another path",
            errno.EROFS: "the file system is read-only; choose another path",
            errno.ENOSPC: "free some space or choose another output directory",
            errno.EDQUOT: "free some space or choose another output directory",
            errno.ENAMETOOLONG: "use a shorter name",
            errno.ENOTDIR: "a part of the path is a file, not a directory; choose another path",
            errno.EISDIR: "it is a directory; give a file name",
            errno.ENOENT: "check the path",
            errno.EEXIST: "it exists already; choose another path"}.get(exc.errno, "check the path and try again")
    return f"{what}{': ' + where if where else ''}; {hint}"


def _main() -> int:
    import signal

    old = _install_signal_handlers()
    try:
        return _dispatch()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _dispatch() -> int:
    from lupex.mission import rundir

    try:
        rc = app(standalone_mode=False)
    except LupexError as exc:
        _say(str(exc))
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (lupex.mission.rundir.Terminated)
        return _interrupted(exc)
    except MemoryError:
        _say("the computation ran out of memory; use a smaller site (site.size_m, a cropped DEM), a coarser grid "
             "(site.pixel_m), fewer days or azimuths, or a machine with more memory")
        return 2
    except OSError as exc:  # a path the user gave: unwritable, missing, too long, a full disk ...
        _say(_os_error(exc))
        return 2
    except Exception as exc:
        # click's (or typer's vendored click's) usage errors: show the usage line and exit 2.
        # Matched by interface because typer >= 0.2x carries its own copy of click's classes.
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        if type(exc).__name__ == "Abort":
            _say("aborted", prefix="")
            return 130
        log = _crash_log(exc)
        _say(f"internal error ({type(exc).__name__}: {exc}); this is a bug in lupex, not in your input. "
             + (f"The traceback is in {log}; please report it with that file" if log else "Please report it"))
        return 1
    if rc == 130 or rundir.interrupts:  # typer turns a KeyboardInterrupt into a returned 130
        return _interrupted(None)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    main()
