"""Checkpoints of a run: each phase's result, pickled atomically under ``<run>/checkpoints/``.

A phase (or a step inside a long phase, e.g. one leg of the campaign) saves
what the rest of the run needs from it with :meth:`Checkpoints.save`; a run
resumed from the same directory finds it with :meth:`Checkpoints.load` and
skips the work. Every file is written through :func:`lupex.io.write_bytes`
(temporary file + rename), so a run killed while saving leaves the previous
checkpoint intact, never a half-written one.

Determinism across a resume is the caller's duty: a phase that draws random
numbers must save its generator state with its result (``numpy`` generators
pickle exactly), so the continued run draws the same numbers as an
uninterrupted one.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any, Callable

from lupex.errors import LupexError
from lupex.io import write_bytes

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_MISSING = object()


class Checkpoints:
    """Named, pickled results in ``directory`` (created on first save)."""

    def __init__(self, directory: str | Path, *, enabled: bool = True):
        self.directory = Path(directory)
        self.enabled = enabled

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"checkpoint name {name!r} may hold only letters, digits, '_', '-' and '.'")
        return self.directory / f"{name}.pkl"

    def has(self, name: str) -> bool:
        """True when a checkpoint ``name`` is saved (always False when disabled)."""
        return self.enabled and self._path(name).is_file()

    def load(self, name: str, default: Any = _MISSING) -> Any:
        """The object saved as ``name``; ``default`` (or KeyError) when there is none."""
        p = self._path(name)
        if not (self.enabled and p.is_file()):
            if default is _MISSING:
                raise KeyError(name)
            return default
        try:
            with p.open("rb") as fh:
                return pickle.load(fh)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ModuleNotFoundError) as exc:
            raise LupexError(f"checkpoint {p} cannot be read ({exc}); it was written by another lupex version, "
                             "or is damaged: start a new run instead of resuming") from exc

    def save(self, name: str, obj: Any) -> None:
        """Pickle ``obj`` as checkpoint ``name``, atomically (nothing when disabled)."""
        if not self.enabled:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        write_bytes(self._path(name), pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def phase(self, name: str, compute: Callable[[], Any]) -> Any:
        """``load(name)`` if saved, else ``compute()`` saved under ``name``."""
        if self.has(name):
            return self.load(name)
        out = compute()
        self.save(name, out)
        return out


NO_CHECKPOINTS = Checkpoints(".", enabled=False)
