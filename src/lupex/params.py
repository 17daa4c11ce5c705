"""The one field helper of parameter dataclasses, and their shared checks.

A model's parameters live in a frozen dataclass whose every field is made with
:func:`param`: the default plus ``metadata = {"unit", "help", "source"}``.
``lupex.config`` turns any such dataclass into a config table (TOML and
``--set``), lists its keys in ``--help`` and writes it to config.toml.
``source`` names the paper/table a default comes from, or says ``assumption:``
and why the value is plausible.

Checks raise :class:`lupex.errors.ConfigError` naming the field, so a bad value
in a config file says which key to fix. :func:`check_rng` is the one check that a
model was handed its randomness (an :class:`lupex.errors.InputError`: a caller's
mistake, not a config key).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, field, fields

import numpy as np

from lupex.errors import ConfigError, InputError

ASSUMED = "assumption"


def param(default=MISSING, unit: str = "", help: str = "", source: str = "", *, factory=MISSING, **kw):
    """Return a dataclass field with unit, help and source metadata.

    Parameters
    ----------
    default
        The default value (immutable; use ``factory`` for dicts).
    unit : str
        The unit (``"m"``, ``"fraction 0-1"``, ``"-"``).
    help : str
        What the parameter means, as ``--help`` lists it.
    source : str
        Where the default comes from (an entry of the reference list) or ``"assumption: why"``.
    factory : callable, optional
        Makes a mutable default.
    **kw
        More metadata (``config=False``: the run computes the field, it is not a key).

    Returns
    -------
    dataclasses.Field
        The field.
    """
    if not (unit and help and source):
        raise TypeError("param needs unit, help and source")
    meta = {"unit": unit, "help": help, "source": source, **kw}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def _name(obj, name: str) -> str:
    """``table.key`` for a run table (``TABLE`` class attribute), else ``ClassName.field``."""
    table = getattr(type(obj), "TABLE", "")
    return f"{table}.{name}" if table else f"{type(obj).__name__}.{name}"


def _why(hint: str) -> str:
    return f"; {hint}" if hint else ""


def _number(obj, name: str) -> float:
    v = getattr(obj, name)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"{_name(obj, name)} must be a finite number, got {v!r}")
    return float(v)


def check_positive(obj, *names: str, hint: str = "") -> None:
    """Check that each named field is a finite number > 0 (``hint`` ends the message)."""
    for n in names:
        if not _number(obj, n) > 0:
            raise ConfigError(f"{_name(obj, n)} must be positive ({unit_of(obj, n)}), got {getattr(obj, n)!r}"
                              f"{_why(hint)}")


def check_non_negative(obj, *names: str, hint: str = "") -> None:
    """Check that each named field is a finite number >= 0 (``hint`` ends the message)."""
    for n in names:
        if not _number(obj, n) >= 0:
            raise ConfigError(f"{_name(obj, n)} must be >= 0 ({unit_of(obj, n)}), got {getattr(obj, n)!r}"
                              f"{_why(hint)}")


def check_range(obj, name: str, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False,
                hint: str = "") -> None:
    """Check ``lo <= field <= hi`` (a bound is excluded when ``*_open``; ``hint`` ends the message).

    Parameters
    ----------
    obj : dataclass instance
        The parameter dataclass (a ``*Params`` made with :func:`param`) holding the field.
    name : str
        Name of the field to check; its value must be a finite int or float (scalar).
    lo, hi : float
        Lower and upper bound of the allowed interval, in the field's own unit (its ``unit`` metadata).
    lo_open, hi_open : bool, optional
        Exclude ``lo`` (``hi``) itself: the interval is ``(lo, ...`` (``..., hi)``) instead of closed.
        Default False: ``[lo, hi]``.
    hint : str, optional
        Text appended to the error message after ``"; "`` (what to change); default none.

    Raises
    ------
    lupex.errors.ConfigError
        When the value is not a finite number or lies outside the interval; the message names
        ``table.key`` (or ``ClassName.field``), the interval and the unit.
    """
    v = _number(obj, name)
    ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ConfigError(f"{_name(obj, name)} must be in {rng} ({unit_of(obj, name)}), got {getattr(obj, name)!r}"
                          f"{_why(hint)}")


def check_pair(obj, name: str, *, increasing: bool = False, positive: bool = False) -> None:
    """Check a field that is a pair of finite numbers (optionally increasing, optionally both > 0).

    Parameters
    ----------
    obj : dataclass instance
        The parameter dataclass (a ``*Params`` made with :func:`param`) holding the field.
    name : str
        Name of the field to check; its value must be a tuple of two finite ints or floats ``(a, b)``
        (a TOML array ``[a, b]``), in the field's own unit.
    increasing : bool, optional
        Also require ``a < b`` (a ``[low, high]`` range). Default False.
    positive : bool, optional
        Also require ``min(a, b) > 0``. Default False.

    Raises
    ------
    lupex.errors.ConfigError
        When the value is not such a pair or breaks a requested condition; the message names the key.
    """
    v = getattr(obj, name)
    if (not isinstance(v, tuple) or len(v) != 2
            or not all(isinstance(i, (int, float)) and not isinstance(i, bool) and math.isfinite(i) for i in v)):
        raise ConfigError(f"{_name(obj, name)} must be a pair of finite numbers [a, b], got {v!r}")
    if increasing and not v[0] < v[1]:
        raise ConfigError(f"{_name(obj, name)} must be increasing, [low, high], got {list(v)}")
    if positive and not min(v) > 0:
        raise ConfigError(f"{_name(obj, name)} must hold positive values ({unit_of(obj, name)}), got {list(v)}")


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """``rng`` itself if it is a ``numpy.random.Generator``; otherwise :class:`InputError` saying how to make one.

    Models never make their own randomness: the caller's entry point splits its seed
    (``np.random.SeedSequence(seed).spawn(n)``) and hands each model a generator.
    """
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"{name} must be a numpy.random.Generator, e.g. numpy.random.default_rng(seed), "
                         f"got {type(rng).__name__}: randomness must be explicit")
    return rng


def unit_of(obj, name: str) -> str:
    """Return the unit in the metadata of field ``name`` of ``obj`` ('' when it has none)."""
    for f in fields(obj):
        if f.name == name:
            return f.metadata.get("unit", "")
    return ""
