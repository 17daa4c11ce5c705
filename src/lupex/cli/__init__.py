"""The ``lupex`` command line: one Typer app, each subcommand one library call.

User errors (:class:`lupex.errors.LupexError`, and an ``OSError`` on a path
the user gave) print one line and exit with status 2, without a traceback;
Ctrl-C exits 130 and SIGTERM 143, with a message; an unexpected exception
exits 1 with one line and the path of a log holding its traceback (see
:func:`main` and the README's Errors section).

Every command lives in this package, one module per group, each with a
``register(app)`` that adds its commands: :mod:`~lupex.cli.run`,
:mod:`~lupex.cli.ephem`, :mod:`~lupex.cli.dem`, :mod:`~lupex.cli.data`,
:mod:`~lupex.cli.land`, :mod:`~lupex.cli.rover` (``plan``, ``survive``) and
:mod:`~lupex.cli.survey` (``survey``, ``sample``); ``lupex ops`` lives in
:mod:`~lupex.cli.ops`. The models below never import this package.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import typer
from rich.text import Text

from lupex.cli import data, dem, ephem, land, rover, run, survey
from lupex.cli import ops as ops_commands  # the rover twin on UDP (lupex ops)
from lupex.cli._console import err
from lupex.errors import LupexError

app = typer.Typer(
    name="lupex",
    help="Lunar south-pole mission simulator (LUPEX kind): site light, Earth visibility, terrain and hazards.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    """Each module of ``lupex.cli`` adds its commands (``register(app)``).

    The app only collects them, in the order ``lupex --help`` lists them.
    """
    dem.register(app)
    data.register(app)
    run.register(app)
    ephem.register(app)
    land.register(app)
    rover.register(app)
    survey.register(app)
    ops_commands.register(app)


_register_commands()


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
    line = " ".join(str(msg).split()).encode("utf-8", "backslashreplace").decode("utf-8")  # raw-byte names
    err.print(Text.assemble((prefix, "bold red"), line) if prefix else Text(line), soft_wrap=True, highlight=False)


def _install_signal_handlers() -> dict:
    """SIGINT and SIGTERM unwind the command as Ctrl-C does (remembering which came); the old handlers."""
    from lupex.mission import rundir  # mission on use: keeps lupex --help fast

    rundir.interrupts.clear()
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, rundir.raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}


def _interrupted(exc: BaseException | None) -> int:
    """Message and exit status of an interrupted command (Ctrl-C -> 130, SIGTERM -> 143)."""
    from lupex.mission import rundir  # mission on use: keeps lupex --help fast

    term = type(exc).__name__ == "Terminated" or rundir.interrupts.get("signal") == signal.SIGTERM
    where = getattr(exc, "lupex_resume", None) or rundir.interrupts.get("kept")
    what = "terminated (SIGTERM)" if term else "interrupted (Ctrl-C)"
    _say(f"{what}; the unfinished run is kept: resume it with `lupex run --resume {where}`" if where else what,
         prefix="")
    return 143 if term else 130


def _crash_log(exc: BaseException) -> str | None:
    """Write the traceback of an unexpected error to a log file; its path (None if it cannot be written)."""
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
    old = _install_signal_handlers()
    try:
        return _dispatch()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _dispatch() -> int:
    from lupex.mission import rundir  # mission on use: keeps lupex --help fast

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

