"""The run directory: built under ``<name>.partial`` and renamed into place when complete.

* A run that fails with an error (bad input, full disk, a bug) removes its
  partial directory, so the output location holds either a complete run or
  nothing new; an existing run of the same name is never touched unless
  ``overwrite`` is set, and even then only after the new run has completed.
* A run that is interrupted (Ctrl-C, SIGTERM) keeps its partial directory, with
  the checkpoints under ``checkpoints/``, and ``lupex run --resume NAME`` picks
  it up where it stopped (a SIGKILL or a power cut leaves it too).
* ``resume.json`` (the *fingerprint*: lupex version, configuration, its hash,
  the seeds) is written when a run starts; a resume with another lupex version
  or another configuration is refused with a :class:`ConfigError` naming what
  differs, since checkpoints of one would silently mix into the results of the
  other. The ``[output]`` and ``[compute]`` tables do not change results (a run
  on a Dask cluster is bit-for-bit the in-process one), so a resume may change
  them.
* A fresh run never deletes an interrupted one: when ``<name>.partial`` holds
  a fingerprint it stops and says to resume it or pass ``--overwrite`` (a
  leftover without one, e.g. of ``lupex land``, cannot be resumed and is
  replaced as before).
* Only a run given a fingerprint is kept on interruption; the other commands
  that write a run directory (``lupex land``, ``survey``, ``sample``) remove it.
* A resume that fails (an error, a scheduler that cannot be reached, a full
  disk) keeps the partial directory it was resuming: it is the user's work.
* One process at a time writes a run directory: ``NAME.lock`` beside it is
  held with ``flock`` from before anything is checked until the run is renamed
  into place (the kernel drops the lock when a process dies, so a SIGKILL leaves
  no stale lock); a second run into the same ``--out`` stops with a
  ConfigError and touches nothing.
* Every file written through :mod:`lupex.io` into the partial directory has its
  checksum journaled (:data:`lupex.io.JOURNAL`); a resume first checks them
  (:func:`verify_written`) and refuses a run whose products were emptied,
  deleted or changed, or whose checkpoints were damaged.
* The final rename replaces an existing run only with ``overwrite`` (checked
  again at the end: a directory that appeared meanwhile is not replaced), and
  through a fresh hidden name, so a leftover ``NAME.old`` is never in the way.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lupex import __version__
from lupex.errors import ConfigError, LupexError
from lupex.io import JOURNAL, check_utf8_path, sha256_file, write_json

if TYPE_CHECKING:
    from lupex.config import Config

log = logging.getLogger("lupex.run")

FINGERPRINT = "resume.json"
CHECKPOINTS = "checkpoints"
PARTIAL = ".partial"
LOCK = ".lock"
_FORMAT = "lupex-run/1"
_FREE_TABLES = ("output", "compute")  # may differ on resume: they do not change results


class Terminated(KeyboardInterrupt):
    """SIGTERM during a run: handled like Ctrl-C, so the partial run is kept for ``--resume``."""


interrupts: dict = {}
"""What the CLI reports after an interruption: ``signal`` (the last SIGINT/SIGTERM received) and ``kept``
(the run directory an interrupted run was kept for ``--resume`` under); Typer turns a KeyboardInterrupt into
a bare exit status 130, so the exception itself does not reach ``lupex.cli.main``."""


def raise_interrupt(signum, frame):
    """Signal handler: SIGTERM raises :class:`Terminated`, SIGINT ``KeyboardInterrupt``; both are remembered."""
    interrupts["signal"] = signum
    if signum == signal.SIGTERM:
        raise Terminated(f"signal {signum}")
    raise KeyboardInterrupt


def default_run_dir(base: str | Path = "lupex-runs") -> Path:
    """Return a fresh run directory's path: ``base/run-<UTC timestamp>``."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(base) / f"run-{stamp}"


def run_paths(directory: str | Path) -> tuple[Path, Path]:
    """``(final, partial)`` of a run named either way (``NAME`` or ``NAME.partial``)."""
    p = Path(directory).absolute()
    if p.name.endswith(PARTIAL) and len(p.name) > len(PARTIAL):
        return p.with_name(p.name[: -len(PARTIAL)]), p
    return p, p.with_name(p.name + PARTIAL)


# ---------------------------------------------------------------- fingerprint


def _science(config: dict) -> dict:
    return {sec: vals for sec, vals in config.items() if sec not in _FREE_TABLES}


def _config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(_science(config), sort_keys=True).encode()).hexdigest()


def fingerprint(cfg: Config) -> dict:
    """Return what a resume must agree with: lupex version, the configuration (TOML and hash), the seeds."""
    data = cfg.to_dict()
    return {
        "format": _FORMAT,
        "lupex_version": __version__,
        "config_sha256": _config_hash(data),
        "seeds": {"site.seed": cfg.site.seed, "landing.seed": cfg.landing.seed, "subsurface.seed": cfg.subsurface.seed},
        "config_toml": cfg.to_toml(),
    }


def read_fingerprint(partial: Path) -> dict:
    """The fingerprint of the run in ``partial``; ConfigError when it is not a lupex run."""
    p = Path(partial) / FINGERPRINT
    hint = ("pass the directory a `lupex run` was writing and was interrupted in "
            "(NAME or NAME.partial, as given to --out)")
    if not p.is_file():
        raise ConfigError(f"{partial} is not a lupex run that can be resumed (it has no {FINGERPRINT}); {hint}")
    try:
        fp = json.loads(p.read_text(encoding="utf-8"))
        ok = isinstance(fp, dict) and fp.get("format") == _FORMAT and all(
            isinstance(fp.get(k), str) for k in ("lupex_version", "config_sha256", "config_toml"))
        if ok:
            tomllib.loads(fp["config_toml"])
    except (OSError, UnicodeDecodeError, ValueError, tomllib.TOMLDecodeError):
        ok = False
    if not ok:
        raise ConfigError(f"{p} is not a lupex run fingerprint (unreadable or of an unknown format); {hint}")
    return fp


def _flat(d, prefix: str = "") -> dict:
    """Nested tables -> ``{"a.b.c": value}``; arrays of tables as ``a.b[i].c``."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        elif isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
            for i, item in enumerate(v):
                out.update(_flat(item, f"{key}[{i}]."))
            out[f"{key}.count"] = len(v)
        else:
            out[key] = v
    return out


def config_differences(before: dict, after: dict) -> list[str]:
    """``table.key (run: A, now: B)`` for every result-changing key that differs (nested keys in full)."""
    a, b = _flat(_science(before)), _flat(_science(after))
    return [f"{k} (run: {a.get(k, '<unset>')!r}, now: {b.get(k, '<unset>')!r})"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def check_fingerprint(saved: dict, current: dict, where: Path) -> None:
    """Raise ConfigError naming what differs between the run's fingerprint and this invocation's."""
    if saved["lupex_version"] != current["lupex_version"]:
        raise ConfigError(
            f"{where} was started by lupex {saved['lupex_version']} and this is lupex {current['lupex_version']}; "
            f"checkpoints do not carry across versions: resume it with lupex {saved['lupex_version']}, "
            "or start a new run")
    if saved["config_sha256"] != current["config_sha256"]:
        diffs = config_differences(tomllib.loads(saved["config_toml"]), tomllib.loads(current["config_toml"]))
        raise ConfigError(
            f"the configuration differs from the one {where} was started with: {'; '.join(diffs) or 'hash differs'}. "
            "Resume without --config/--set (the run's own config.toml is used), or start a new run")


@dataclass(frozen=True)
class ResumeSource:
    """Where an unfinished run is and the configuration text it was started with."""

    final: Path  # the run's name once complete
    partial: Path  # the unfinished run being resumed
    config_path: Path | None  # the run's own config.toml, when it was written
    config_text: str  # else the fingerprint's copy of the same TOML
    origin: str  # what to name the configuration in messages (a path)


def resume_source(directory: str | Path) -> ResumeSource:
    """Return the unfinished run in ``directory`` (``NAME`` or ``NAME.partial``) and its configuration's text.

    ConfigError, saying what to pass instead, when ``directory`` is a complete
    run, not a lupex run, or nothing. ``lupex.cli.run.resume_config`` loads the
    configuration from it (config sits above mission and is not imported here).
    """
    final, partial = run_paths(directory)
    if not partial.exists():
        if final.is_dir() and (final / "manifest.json").is_file():
            raise ConfigError(f"{final} is a complete run; there is nothing to resume. Start a new run with "
                              "another --out, or pass --overwrite to replace it")
        if final.exists():
            raise ConfigError(f"{final} is not a lupex run that can be resumed (no {partial.name} beside it); "
                              "pass the directory a `lupex run` was writing when it was interrupted")
        raise ConfigError(f"there is no run to resume at {directory}: neither {final} nor {partial} exists; "
                          "check the path given to --resume")
    if not partial.is_dir():
        raise ConfigError(f"{partial} is not a directory, so not a lupex run; check the path given to --resume")
    saved = read_fingerprint(partial)
    own = partial / "config.toml"
    if own.is_file():
        return ResumeSource(final, partial, own, "", str(own))
    # killed before config.toml was written: the fingerprint holds the same text
    return ResumeSource(final, partial, None, saved["config_toml"], str(partial / FINGERPRINT))


def check_same_science(stored: dict, given: dict, partial: Path) -> None:
    """Raise ConfigError when ``--config``/``--set`` change a result-changing key of the run.

    Raise ConfigError listing every result-changing key where ``given`` (``--config``/``--set``) differs from
    the configuration ``stored`` with the run in ``partial`` (both ``Config.to_dict()``).
    """
    diffs = config_differences(stored, given)
    if diffs:
        raise ConfigError(f"--config/--set differ from the configuration of the run in {partial}: "
                          f"{'; '.join(diffs)}. Resume without them, or start a new run with --out")


# ---------------------------------------------------------------- the directory


class _RunLog(logging.FileHandler):
    """``run.log``, dropping a record that cannot be written.

    ``run.log``: a record that cannot be written (a full disk) is dropped instead of printing logging's
    "--- Logging error ---" traceback on stderr; the next product the run writes reports the full disk, in
    one line.
    """

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handleError(record)


class RunDir:
    """Context manager yielding the partial directory to write into.

    ``fingerprint`` (from :func:`fingerprint`) is written as ``resume.json`` in a
    fresh run and checked against the saved one on ``resume``, before anything
    in the directory is touched.
    """

    def __init__(self, final: str | Path, overwrite: bool = False, *, resume: bool = False,
                 fingerprint: dict | None = None):
        self.final, self.partial = run_paths(final)
        self.overwrite = overwrite
        self.resume = resume
        self.fingerprint = fingerprint
        self._handler: logging.Handler | None = None
        self._old_sigterm = None

    @property
    def checkpoints(self) -> Path:
        """Return the checkpoints' directory inside the partial run."""
        return self.partial / CHECKPOINTS

    def __enter__(self) -> Path:
        check_utf8_path(self.final)
        self._lock_fd = _lock(self.final)
        try:
            return self._enter()
        except BaseException:
            self._unlock()
            raise

    def _unlock(self) -> None:
        fd, self._lock_fd = getattr(self, "_lock_fd", None), None
        if fd is not None:
            with _suppress(OSError):
                os.unlink(_lock_path(self.final))  # before unlocking: a waiter then finds the file gone (see _lock)
            os.close(fd)

    def _enter(self) -> Path:
        if self.final.exists() and not self.final.is_dir():
            raise ConfigError(f"{self.final} exists and is not a directory; choose another --out")
        if self.final.exists() and not self.overwrite:
            raise ConfigError(
                f"run directory {self.final} already exists; move it away, or pass --overwrite to replace it "
                "once the resumed run completes" if self.resume else
                f"run directory {self.final} already exists; choose another with --out, or pass --overwrite"
            )
        if self.resume:
            self._enter_resume()
        else:
            self._enter_fresh()
        self._handler = _RunLog(self.partial / "run.log", encoding="utf-8")  # appends on resume
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("lupex").addHandler(self._handler)
        logging.getLogger("lupex").setLevel(logging.INFO)
        if threading.current_thread() is threading.main_thread():
            self._old_sigterm = signal.signal(signal.SIGTERM, _raise_terminated)
        if self.resume:
            done = sorted(p.stem for p in self.checkpoints.glob("*.pkl"))
            log.info("resuming %s; checkpoints found: %s", self.partial, ", ".join(done) or "none")
        return self.partial

    def _enter_fresh(self) -> None:
        if self.partial.exists():
            if (self.partial / FINGERPRINT).is_file() and not self.overwrite:
                raise ConfigError(f"{self.partial} holds an unfinished run; resume it with "
                                  f"`lupex run --resume {self.final}`, or pass --overwrite to discard it")
            shutil.rmtree(self.partial)  # the leftover of a run that cannot be resumed
        self.partial.mkdir(parents=True)
        if self.fingerprint is not None:
            try:
                write_json(self.partial / FINGERPRINT, self.fingerprint)
            except BaseException:
                shutil.rmtree(self.partial, ignore_errors=True)
                raise

    def _enter_resume(self) -> None:
        if not self.partial.is_dir():
            raise ConfigError(f"there is no unfinished run to resume at {self.partial}; check the path given to --resume")
        saved = read_fingerprint(self.partial)
        if self.fingerprint is not None:
            check_fingerprint(saved, self.fingerprint, self.partial)
        verify_written(self.partial)
        for d in (self.partial, self.checkpoints):  # temporaries of writes a kill cut short (lupex.io.atomic_path)
            for p in d.glob(".*.part*"):
                if p.is_file():
                    p.unlink()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._exit(exc_type, exc)
        finally:
            self._unlock()

    def _exit(self, exc_type, exc) -> None:
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        # kept for --resume; a run without a fingerprint (lupex land, survey, ...) cannot be resumed: removed
        interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt) and self.fingerprint is not None
        if interrupted:
            log.warning("interrupted; the unfinished run is kept in %s: resume it with `lupex run --resume %s`",
                        self.partial, self.final)
            interrupts["kept"] = str(self.final)
            try:
                exc.lupex_resume = str(self.final)  # for the CLI's message
            except AttributeError:  # pragma: no cover
                pass
        failed_resume = exc_type is not None and not interrupted and self.resume
        if failed_resume:
            log.error("the resumed run failed (%s: %s); the unfinished run is kept in %s",
                      exc_type.__name__, exc, self.partial)
        if self._handler is not None:
            logging.getLogger("lupex").removeHandler(self._handler)
            self._handler.close()
        if interrupted:
            return
        if failed_resume:  # never delete what was being resumed
            if isinstance(exc, LupexError) and exc.args and isinstance(exc.args[0], str):
                exc.args = (f"{exc.args[0]} (the unfinished run is kept in {self.partial}; resume it again once "
                            "this is fixed)",) + exc.args[1:]
            return
        if exc_type is not None:
            shutil.rmtree(self.partial, ignore_errors=True)
            return
        self._publish()
        shutil.rmtree(self.final / CHECKPOINTS, ignore_errors=True)  # complete: nothing left to resume
        with _suppress(OSError):
            (self.final / JOURNAL).unlink()  # its checksums served the resume; a complete run does not need them

    def _publish(self) -> None:
        """Rename the complete partial directory to the final name, replacing a run there only with overwrite."""
        if not self.final.exists() and not self.final.is_symlink():
            self.partial.rename(self.final)
            return
        if not self.overwrite:
            raise ConfigError(f"{self.final} appeared while this run was writing and --overwrite was not given; "
                              f"the complete run is kept in {self.partial}: move {self.final} away and rename "
                              f"{self.partial.name} to {self.final.name}")
        for i in range(1000):  # a hidden name of our own: an existing NAME.old (the user's?) is never touched
            old = self.final.with_name(f".{self.final.name}.replaced-{os.getpid()}-{i}")
            if not old.exists():
                break
        self.final.rename(old)
        try:
            self.partial.rename(self.final)
        except BaseException:
            old.rename(self.final)
            raise
        shutil.rmtree(old, ignore_errors=True)


def _lock_path(final: Path) -> Path:
    return final.with_name(final.name + LOCK)


def _suppress(*exc):
    return contextlib.suppress(*exc)


def _lock(final: Path) -> int:
    """Hold ``NAME.lock`` beside the run directory (flock, non-blocking); ConfigError when another process does."""
    path = _lock_path(final)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            try:
                holder = path.read_text().strip() or "another process"
            except OSError:
                holder = "another process"
            raise ConfigError(f"{final} is being written by another lupex run ({holder} holds {path}); wait for "
                              "it to finish, or choose another --out") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the holder removed the file while we waited: lock the new one
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()}".encode())
            return fd
        os.close(fd)


def verify_written(partial: Path, checkpoints: str = CHECKPOINTS) -> None:
    """Check every file the unfinished run in ``partial`` wrote against the checksum recorded when it was written.

    A product that is missing or differs (emptied, truncated, edited), or a
    checkpoint that differs, raises a :class:`ConfigError` listing them; a
    missing checkpoint is only work to redo. The last two checksums of a file
    are accepted (a kill between recording and renaming leaves the previous
    file). Touches nothing.
    """
    seen: dict[str, list[tuple[str, int]]] = {}
    try:
        with open(Path(partial) / JOURNAL, "rb") as fh:
            for raw in fh:
                parts = raw.decode("utf-8", "surrogateescape").rstrip("\n").split(" ", 2)
                if len(parts) == 3 and parts[1].isdigit():  # a line cut short by a kill is ignored
                    seen.setdefault(parts[2], []).append((parts[0], int(parts[1])))
    except FileNotFoundError:
        return
    bad = []
    for rel, entries in sorted(seen.items()):
        p = Path(partial) / rel
        ok = {sha for sha, _ in entries[-2:]}
        if not p.is_file():
            if not rel.startswith(checkpoints + "/"):
                bad.append(f"{rel} (deleted)")
        elif p.stat().st_size not in {n for _, n in entries[-2:]} or sha256_file(p) not in ok:
            bad.append(f"{rel} ({'damaged checkpoint' if rel.startswith(checkpoints + '/') else 'changed'}: "
                       f"{p.stat().st_size} bytes, written with {entries[-1][1]})")
    if bad:
        shown = "; ".join(bad[:4]) + (f"; and {len(bad) - 4} more" if len(bad) > 4 else "")
        raise ConfigError(f"files of the unfinished run in {partial} changed after they were written: {shown}; "
                          "resuming would build on them or ship them. Start the run again with --overwrite "
                          "(the unfinished run is kept until then)")


def _raise_terminated(signum, frame):
    raise_interrupt(signum, frame)
