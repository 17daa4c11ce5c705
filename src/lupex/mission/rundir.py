"""The run directory: built under ``<name>.partial`` and renamed into place when complete.

A run that fails (bad input, full disk, Ctrl-C) removes its partial directory,
so the output location holds either a complete run or nothing new; an existing
run of the same name is never touched unless ``overwrite`` is set, and even
then only after the new run has completed.
"""

from __future__ import annotations

import datetime as _dt
import logging
import shutil
from pathlib import Path

from lupex.errors import ConfigError


def default_run_dir(base: str | Path = "lupex-runs") -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(base) / f"run-{stamp}"


class RunDir:
    """Context manager yielding the partial directory to write into."""

    def __init__(self, final: str | Path, overwrite: bool = False):
        self.final = Path(final).absolute()
        self.partial = self.final.with_name(self.final.name + ".partial")
        self.overwrite = overwrite
        self._handler: logging.Handler | None = None

    def __enter__(self) -> Path:
        if self.final.exists() and not self.overwrite:
            raise ConfigError(
                f"run directory {self.final} already exists; choose another with --out, or pass --overwrite"
            )
        if self.final.exists() and not self.final.is_dir():
            raise ConfigError(f"{self.final} exists and is not a directory; choose another --out")
        if self.partial.exists():
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True)
        self._handler = logging.FileHandler(self.partial / "run.log", encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("lupex").addHandler(self._handler)
        logging.getLogger("lupex").setLevel(logging.INFO)
        return self.partial

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._handler is not None:
            logging.getLogger("lupex").removeHandler(self._handler)
            self._handler.close()
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
