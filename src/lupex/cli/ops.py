"""``lupex ops``: the rover twin on the loopback, its mission database, and rehearsal scenarios.

* ``lupex ops [OPTIONS]`` steps the twin in real time or faster (``--speed``)
  on a run directory's site (``--run DIR``) or a fresh built-in site, reads
  telecommands on ``--tc-port`` and sends telemetry to ``--tm-port`` on
  127.0.0.1 (CCSDS Space Packets; layouts in ``lupex ops mdb``).
* ``lupex ops mdb --out FILE.xml`` writes the XTCE mission database.
* ``lupex ops scenario NAME`` plays a rehearsal scenario through UDP and says
  whether the telemetry showed the expected outcome (exit 0) or not (exit 1).
* ``lupex ops send NAME [ARG=VALUE ...]`` sends one telecommand to a running
  twin and prints the events that answer it.
* ``lupex ops --console`` (with or without ``--yamcs``) serves that console from the same process.
* ``lupex ops console`` is a ground station with an offline web page
  (:mod:`lupex.ops.console`).

User errors raise :class:`lupex.errors.LupexError` (exit 2, one line).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from lupex import io
from lupex.config import load, parse_lat_lon
from lupex.errors import ConfigError, LupexError

ops_app = typer.Typer(help="Operations rehearsal: the rover's digital twin behind CCSDS packets on UDP 127.0.0.1.",
                      invoke_without_command=True, no_args_is_help=False)

_SITE_HELP = "Built-in site when --run is not given: site01 (real LOLA connecting ridge, the default) or synthetic."
_SPEED_HELP = "Simulated seconds per wall-clock second: 1 (real time) to 3600 (an hour a second)."


def _site(run: Optional[Path], site: str, start: Optional[str], days: float, step_hours: float, radius_m: float,
          at: Optional[str], azimuths: int, seed: int, size_m: float, config: Optional[Path], sets):
    from lupex.ops import world  # on use: keeps lupex --help fast

    if run is not None:
        if not Path(run).is_dir():
            raise ConfigError(f"run directory {run} does not exist; give --run a directory written by `lupex run`")
        return world.site_from_run(Path(run), start=start, days=days, step_h=step_hours, radius_m=radius_m,
                                   n_azimuths=azimuths)
    if azimuths < 8:
        raise ConfigError(f"--azimuths must be at least 8, got {azimuths}")
    cfg = load(config, list(sets or []))
    xy = None
    if at is not None:
        lat, lon = parse_lat_lon(at, "--at")
        xy = ("lonlat", lon, lat)
    s = world.fresh_site(site, start=start, days=days, step_h=step_hours, radius_m=radius_m,
                         seed=seed, size_m=size_m, n_azimuths=azimuths, config=cfg, start_lonlat=xy)
    return s


@ops_app.callback()
def ops(
    ctx: typer.Context,
    run: Annotated[Optional[Path], typer.Option("--run", help="Run directory of `lupex run`: its DEM, config, rover start and ground truth (ground_truth.nc) under the rover.", metavar="DIR")] = None,
    site: Annotated[str, typer.Option("--site", help=_SITE_HELP)] = "site01",
    start: Annotated[Optional[str], typer.Option(help="Start of the simulated span, UTC ISO 8601 (default: the run's rover start; on a fresh site the first hour from 2027-01-01 with the Earth 2 deg above the site's horizon).")] = None,
    days: Annotated[float, typer.Option(help="Length of the simulated span, days (the light is computed over it).")] = 10.0,
    step_hours: Annotated[float, typer.Option(help="Step of the Sun/Earth visibility series, h.")] = 1.0,
    radius_m: Annotated[float, typer.Option(help="Half-side of the square of terrain simulated around the start, m.")] = 1500.0,
    at: Annotated[Optional[str], typer.Option("--at", help="Rover start, LAT,LON in planetocentric degrees (default: the safe haven nearest the site centre).")] = None,
    speed: Annotated[float, typer.Option(help=_SPEED_HELP)] = 1.0,
    duration_h: Annotated[Optional[float], typer.Option(help="Simulated hours to run (default: to the end of the span).")] = None,
    tc_port: Annotated[int, typer.Option(help="UDP port on 127.0.0.1 where the twin reads telecommands (0 = any free port).")] = 10025,
    tm_port: Annotated[int, typer.Option(help="UDP port on 127.0.0.1 where the twin sends telemetry.")] = 10015,
    host: Annotated[str, typer.Option(help="Address of both ends; only the loopback 127.0.0.1 is accepted.")] = "127.0.0.1",
    hk_period_s: Annotated[float, typer.Option(help="Simulated seconds between housekeeping packets, s.")] = 60.0,
    route: Annotated[str, typer.Option(help="Path of a drive: straight (the line to the goal) or planner (lupex's rover planner's least-time route around the slopes; light and energy are checked along it).")] = "straight",
    azimuths: Annotated[int, typer.Option(help="Horizon azimuths of the light computation (72 = 5 deg).")] = 72,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic site (with --site synthetic).")] = 0,
    size_m: Annotated[float, typer.Option(help="Side of the synthetic site, m (with --site synthetic).")] = 3000.0,
    state: Annotated[Optional[Path], typer.Option("--state", help="JSON file of the twin's state: resumed from when it exists, written every 10 simulated minutes and at the end (a killed twin restarts where it was).", metavar="FILE")] = None,
    yamcs: Annotated[bool, typer.Option("--yamcs", help="Also start a local Yamcs server as the ground segment: it listens on --tm-port and commands --tc-port (needs Java 17+ and the ops extra: see README).")] = False,
    yamcs_dir: Annotated[Optional[Path], typer.Option(help="Yamcs configuration and archive directory (kept between runs; default lupex-runs/yamcs).", metavar="DIR")] = None,
    yamcs_port: Annotated[int, typer.Option(help="HTTP port of Yamcs' web interface and API on 127.0.0.1.")] = 8090,
    console: Annotated[bool, typer.Option("--console", help="Also serve the browser console on 127.0.0.1:--console-port in this process: with --yamcs it shows what Yamcs archived and issues commands through Yamcs; without, it is the ground on --tm-port itself.")] = False,
    console_port: Annotated[int, typer.Option(help="HTTP port of the console page on 127.0.0.1 (with --console).")] = 8091,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML file with vehicle, planner, drill and light tables (as lupex run reads).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override one parameter, table.key=value (repeatable), e.g. --set vehicle.battery.capacity_wh=5000.")] = None,
) -> None:
    """Run the rover twin: telecommands in on --tc-port, telemetry out to --tm-port (UDP, 127.0.0.1, CCSDS packets)."""
    if ctx.invoked_subcommand is not None:
        return
    # the twin, its UDP link and Yamcs glue: imported on use to keep lupex --help fast
    from lupex.ops import yamcs as Y
    from lupex.ops.twin import Twin, TwinParams

    _check_options(host, tc_port, tm_port, console, console_port, speed, duration_h)
    ground = _yamcs_ground(yamcs, yamcs_port, tc_port)
    params = TwinParams(hk_period_s=hk_period_s, route=route)
    s = _site(run, site, start, days, step_hours, radius_m, at, azimuths, seed, size_m, config, set_)
    twin = Twin(s, params)
    _resume(twin, state)
    proc = None if ground is None else _start_yamcs(ground, s, yamcs_dir, yamcs_port, tm_port, tc_port)
    gc = None
    try:
        if console:
            gc = _console(s, proc is not None, yamcs_port, tm_port, tc_port, console_port)
        _serve(twin, s, tm_port, tc_port, host, speed, duration_h, state)
    finally:
        if gc is not None:
            gc.close()
        if proc is not None:
            Y.stop(proc)


def _check_options(host: str, tc_port: int, tm_port: int, console: bool, console_port: int, speed: float,
                   duration_h: Optional[float]) -> None:
    """Refuse a non-loopback host, bad ports, a speed out of range or a non-positive duration (ConfigError)."""
    from lupex.ops.link import check_host, check_port, check_speed  # on use: keeps lupex --help fast

    check_host(host)
    check_port(tc_port, "--tc-port")
    check_port(tm_port, "--tm-port")
    if console:
        check_port(console_port, "--console-port")
    check_speed(speed)
    if duration_h is not None and not (duration_h > 0):
        raise ConfigError(f"--duration-h must be a positive number of hours, got {duration_h}")


def _yamcs_ground(yamcs: bool, yamcs_port: int, tc_port: int):
    """With ``--yamcs``: the Java and Yamcs found (:func:`lupex.ops.yamcs.require_yamcs`), else None."""
    from lupex.ops import yamcs as Y  # on use: keeps lupex --help fast
    from lupex.ops.link import check_port

    if not yamcs:
        return None
    check_port(yamcs_port, "--yamcs-port")
    ground = Y.require_yamcs()
    if tc_port == 0:
        raise ConfigError("--yamcs needs a fixed --tc-port (Yamcs sends the commands there), not 0")
    return ground


def _resume(twin, state: Optional[Path]) -> None:
    """Restore the twin from the ``--state`` file when it exists."""
    if state is None or not Path(state).is_file():
        return
    try:
        twin.restore(json.loads(Path(state).read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise LupexError(f"--state {state} is not JSON ({exc.msg}); delete it or give another file") from None
    typer.echo(f"resumed from {state}")


def _start_yamcs(ground, s, yamcs_dir: Optional[Path], yamcs_port: int, tm_port: int, tc_port: int):
    """Write the Yamcs configuration for the twin's mission database and start Yamcs; returns its process."""
    from lupex.ops import yamcs as Y  # on use: keeps lupex --help fast
    from lupex.ops.mdb import xtce

    ydir = Path(yamcs_dir or Path("lupex-runs") / "yamcs").absolute()
    Y.write_config(ydir, xtce(s.rover), tm_port=tm_port, tc_port=tc_port, http_port=yamcs_port)
    proc = Y.start(ydir, *ground)
    try:
        Y.wait_ready(proc, yamcs_port, ydir)
    except BaseException:
        Y.stop(proc)
        raise
    typer.echo(f"Yamcs (AGPL-3.0, separate process) at http://127.0.0.1:{yamcs_port}, archive in {ydir}")
    return proc


def _console(s, behind_yamcs: bool, yamcs_port: int, tm_port: int, tc_port: int, http_port: int):
    """Start the browser console of ``lupex ops --console`` (behind Yamcs, or as the UDP ground itself)."""
    from lupex.ops.console import GroundConsole  # on use: keeps lupex --help fast
    try:
        if behind_yamcs:
            from lupex.ops.yamcs import YamcsGround  # on use: keeps lupex --help fast

            gc = GroundConsole(ground=YamcsGround(yamcs_port, rover=s.rover), http_port=http_port, rover=s.rover)
        else:
            gc = GroundConsole(tm_port=tm_port, tc_port=tc_port, http_port=http_port, rover=s.rover)
    except OSError as exc:
        raise ConfigError(f"the console cannot listen on 127.0.0.1 port {http_port} (HTTP) or {tm_port} (UDP): "
                          f"{exc.strerror}; pick another --console-port / --tm-port") from None
    gc.start()
    typer.echo(f"console at http://127.0.0.1:{gc.http_port}/ ({'via Yamcs' if behind_yamcs else f'ground on udp {tm_port}'})")
    return gc


def _serve(twin, s, tm_port, tc_port, host, speed, duration_h, state=None) -> None:
    from lupex.ops.link import Session  # on use: keeps lupex --help fast

    save = None if state is None else (lambda snap: io.write_json(state, snap))

    with Session(twin, ground_port=tm_port, tc_port=tc_port, host=host) as sess:
        typer.echo(f"twin of the rover on {s.name} at ({s.start_xy[0]:.0f}, {s.start_xy[1]:.0f}) m, "
                   f"{str(s.light.times[0])[:19]} UTC, x{speed:g}")
        typer.echo(f"telecommands: udp://{host}:{sess.tc_port}  telemetry to: udp://{host}:{tm_port}  (Ctrl-C stops)")
        span_s = s.t_end_unix_s - sess.t
        sess.run(span_s if duration_h is None else min(duration_h * 3600.0, span_s), speed, save=save)
        st = sess.stats
        typer.echo(f"stopped at {str(__import__('numpy').datetime64(int(sess.t), 's'))} UTC: {st.tc_read} telecommands read "
                   f"({st.tc_lost} lost outside a pass), {st.tm_sent} telemetry packets sent, "
                   f"{st.hk_dropped} housekeeping samples made out of view")


@ops_app.command("mdb")
def mdb(
    out: Annotated[Path, typer.Option("--out", "-o", help="XTCE file to write (XML).")],
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML file with a vehicle table (ranges and alarm limits come from it).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override one parameter, table.key=value (repeatable).")] = None,
) -> None:
    """Write the mission database (packets, parameters with units and ranges, telecommands) as XTCE."""
    from lupex.ops.mdb import xtce  # on use: keeps lupex --help fast

    cfg = load(config, list(set_ or []))
    io.write_text(out, xtce(cfg.vehicle))
    typer.echo(f"wrote {out}")


@ops_app.command("scenario")
def scenario(
    name: Annotated[str, typer.Argument(help="comms-loss-drive, haven-unreachable or drill-rock.")],
    run: Annotated[Optional[Path], typer.Option("--run", help="Run directory of `lupex run` to rehearse on.", metavar="DIR")] = None,
    site: Annotated[str, typer.Option("--site", help=_SITE_HELP)] = "synthetic",
    start: Annotated[Optional[str], typer.Option(help="Start of the span searched for the situation, UTC ISO 8601 (default: the first hour from 2027-01-01 with the Earth 2 deg above the site's horizon).")] = None,
    days: Annotated[float, typer.Option(help="Length of the span, days.")] = 10.0,
    step_hours: Annotated[float, typer.Option(help="Step of the Sun/Earth visibility series, h.")] = 1.0,
    radius_m: Annotated[float, typer.Option(help="Half-side of the square of terrain simulated, m.")] = 1500.0,
    azimuths: Annotated[int, typer.Option(help="Horizon azimuths of the light computation (72 = 5 deg).")] = 72,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic site.")] = 0,
    size_m: Annotated[float, typer.Option(help="Side of the synthetic site, m.")] = 3000.0,
    json_: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON line.")] = False,
) -> None:
    """Play a rehearsal scenario through the UDP chain; exit 0 when the telemetry shows the expected outcome."""
    from lupex.ops.scenarios import SCENARIOS, ScenarioError, run_scenario  # on use: keeps lupex --help fast

    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    s = _site(run, site, start, days, step_hours, radius_m, None, azimuths, seed, size_m, None, None)
    r = run_scenario(name, s)
    if json_:
        typer.echo(json.dumps({"scenario": r.name, "passed": r.passed, "lines": r.lines, "sim_h": r.sim_s / 3600}))
    else:
        for line in r.lines:
            typer.echo(line)
        typer.echo(f"{name}: {'PASSED' if r.passed else 'FAILED'} ({r.sim_s / 3600:.1f} h simulated)")
    if not r.passed:
        raise typer.Exit(1)


def _arg(text: str):
    if "=" not in text:
        raise ConfigError(f"telecommand argument {text!r} must be NAME=VALUE, e.g. x_m=120.5")
    k, v = text.split("=", 1)
    try:
        return k.strip(), float(v)
    except ValueError:
        raise ConfigError(f"telecommand argument {k}={v!r}: the value must be a number") from None


@ops_app.command("send")
def send(
    name: Annotated[str, typer.Argument(help="NOOP, DRIVE_TO, SURVEY_LEG, DRILL, HIBERNATE, WAKE or SET_HEATER.")],
    args: Annotated[Optional[list[str]], typer.Argument(help="Arguments NAME=VALUE: x_m=, y_m= (m); depth_m= (m); node= (0/1), setpoint_k= (K).")] = None,
    tc_port: Annotated[int, typer.Option(help="UDP port on 127.0.0.1 where the twin reads telecommands.")] = 10025,
    tm_port: Annotated[int, typer.Option(help="UDP port on 127.0.0.1 to listen on for the answer (the twin's --tm-port).")] = 10015,
    seq: Annotated[int, typer.Option(help="Sequence count of the packet, 0-16383.")] = 1,
    wait_s: Annotated[float, typer.Option(help="Wall-clock seconds to wait for events answering it, s.")] = 5.0,
) -> None:
    """Send one telecommand to a running twin and print the events that answer it (JSON lines)."""
    from lupex.ops import packets as K  # on use: keeps lupex --help fast
    from lupex.ops.link import Ground

    if not 0 <= seq <= K.MAX_SEQ:
        raise ConfigError(f"--seq must be 0-{K.MAX_SEQ}, got {seq}")
    kw = dict(_arg(a) for a in (args or []))
    cd = K.COMMAND_BY_NAME.get(name)
    if cd is not None:
        codes = {a.name: a.code for a in cd.args}
        kw = {k: (int(v) if codes.get(k, "d") in "BHI" else v) for k, v in kw.items()}
    try:
        packet = K.tc_packet(name, seq, **kw)
    except (K.PacketError, TypeError) as exc:
        raise ConfigError(str(exc)) from None
    with Ground(tc_port, port=tm_port) as g:
        g.send_raw(packet)
        t_end = time.monotonic() + wait_s
        while time.monotonic() < t_end:
            g.collect(min(0.2, max(t_end - time.monotonic(), 0.0)))
            done = [e for e in g.events_for(seq) if e["status"] != K.Status.ACCEPTED]
            if done:
                break
        for e in g.events_for(seq):
            typer.echo(json.dumps({**e, "status": K.Status(e["status"]).name, "reason": K.Reason(e["reason"]).name}))
        if not g.events_for(seq):
            raise LupexError(f"no answer to {name} within {wait_s:g} s: is `lupex ops --tc-port {tc_port} "
                             f"--tm-port {tm_port}` running, and the Earth in view of the rover?")


@ops_app.command("console")
def console(
    tm_port: Annotated[int, typer.Option(help="UDP port on 127.0.0.1 where the console receives telemetry (the twin's --tm-port).")] = 10015,
    tc_port: Annotated[int, typer.Option(help="UDP port on 127.0.0.1 where the twin reads telecommands (its --tc-port).")] = 10025,
    http_port: Annotated[int, typer.Option(help="HTTP port of the console page on 127.0.0.1 (0 = any free port).")] = 8091,
    duration_s: Annotated[Optional[float], typer.Option(help="Wall-clock seconds to serve, s (default: until Ctrl-C).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML file with a vehicle table (the alarm limits shown come from it).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override one parameter, table.key=value (repeatable).")] = None,
) -> None:
    """Serve an offline operator console in the browser: a ground station on --tm-port with a web page."""
    from lupex.ops.console import GroundConsole  # on use: keeps lupex --help fast

    if duration_s is not None and not duration_s > 0:
        raise ConfigError(f"--duration-s must be a positive number of seconds, got {duration_s}")
    cfg = load(config, list(set_ or []))
    try:
        gc = GroundConsole(tm_port=tm_port, tc_port=tc_port, http_port=http_port, rover=cfg.vehicle)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1 ports {tm_port} (UDP) / {http_port} (HTTP): {exc.strerror}; "
                          "pick other --tm-port / --http-port (is Yamcs or another console using them?)") from None
    with gc:
        typer.echo(f"console at http://127.0.0.1:{gc.http_port}/  (telemetry on udp {tm_port}, commands to udp {tc_port}; "
                   "Ctrl-C stops)")
        t_end = None if duration_s is None else time.monotonic() + duration_s
        while t_end is None or time.monotonic() < t_end:
            time.sleep(0.2)


def register(app: typer.Typer) -> None:
    """Add ``lupex ops`` to the main CLI app."""
    app.add_typer(ops_app, name="ops")
