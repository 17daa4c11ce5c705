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
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import shutil
import signal
import threading
import tomllib
from pathlib import Path

from lupex.errors import ConfigError

log = logging.getLogger("lupex.run")

FINGERPRINT = "resume.json"
CHECKPOINTS = "checkpoints"
PARTIAL = ".partial"
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


def fingerprint(cfg) -> dict:
    """What a resume must agree with: lupex version, the configuration (TOML and hash), the seeds."""
    from lupex import __version__
    from lupex.config import to_toml

    data = cfg.to_dict()
    return {
        "format": _FORMAT,
        "lupex_version": __version__,
        "config_sha256": _config_hash(data),
        "seeds": {"site.seed": cfg.site.seed, "landing.seed": cfg.landing.seed, "subsurface.seed": cfg.subsurface.seed},
        "config_toml": to_toml(cfg),
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


def resume_config(directory: str | Path, config_path: str | Path | None = None, overrides: list[str] | None = None):
    """The configuration to resume the run in ``directory`` with (CLI ``--resume``).

    The run's own ``config.toml``, unless ``config_path``/``overrides`` are given:
    then those (on top of the defaults, or of the run's config when only
    ``overrides`` are given) must agree with the run on every key outside
    ``[output]`` and ``[compute]``, or a ConfigError lists the keys that differ.
    ``output.directory`` is always the run's name.
    """
    from lupex.config import load, load_text, merge

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
        stored = load(own)
    else:  # killed before config.toml was written: the fingerprint holds the same text
        stored = load_text(saved["config_toml"], origin=str(partial / FINGERPRINT))
    cfg = stored
    if config_path is not None or overrides:
        cfg = load(config_path, overrides, base=None if config_path is not None else stored)
        diffs = config_differences(stored.to_dict(), cfg.to_dict())
        if diffs:
            raise ConfigError(f"--config/--set differ from the configuration of the run in {partial}: "
                              f"{'; '.join(diffs)}. Resume without them, or start a new run with --out")
    return merge(cfg, {"output": {"directory": str(final)}}, origin="--resume")


# ---------------------------------------------------------------- the directory


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
        return self.partial / CHECKPOINTS

    def __enter__(self) -> Path:
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
        self._handler = logging.FileHandler(self.partial / "run.log", encoding="utf-8")  # appends on resume
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
            from lupex.io import write_json

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
        for d in (self.partial, self.checkpoints):  # temporaries of writes a kill cut short (lupex.io.atomic_path)
            for p in d.glob(".*.part*"):
                if p.is_file():
                    p.unlink()

    def __exit__(self, exc_type, exc, tb) -> None:
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
        if self._handler is not None:
            logging.getLogger("lupex").removeHandler(self._handler)
            self._handler.close()
        if interrupted:
            return
        if exc_type is not None:
            shutil.rmtree(self.partial, ignore_errors=True)
            return
        if self.final.exists():
            old = self.final.with_name(self.final.name + ".old")
            self.final.rename(old)
            self.partial.rename(self.final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            self.partial.rename(self.final)
        shutil.rmtree(self.final / CHECKPOINTS, ignore_errors=True)  # complete: nothing left to resume


def _raise_terminated(signum, frame):
    raise_interrupt(signum, frame)
