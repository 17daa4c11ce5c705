"""Checks and parsers of values given on the command line or in a config file.

Times (:func:`check_span`); points (:func:`parse_lat_lon`, :func:`parse_points`)
and altitude lists (:func:`frame_altitudes`) live in :mod:`lupex.parsing`, below the mission
phases that parse the same keys, and are re-exported here. Each raises the given
:class:`lupex.errors.LupexError` naming the key or option to fix.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

from lupex.ephemeris import coverage_utc
from lupex.errors import ConfigError, LupexError
from lupex.parsing import frame_altitudes, parse_lat_lon, parse_points  # noqa: F401  (one parser, below mission; re-exported)

__all__ = ["MAX_AZIMUTHS", "MAX_TIME_STEPS", "check_span", "frame_altitudes", "max_workers", "parse_lat_lon",
           "parse_points"]

MAX_AZIMUTHS = 7200
MAX_TIME_STEPS = 1_000_000
"""Most steps of a time series (one year at 31.5 s): above it the light series alone need tens of GB per
thousand cells, and a smaller time.step_hours resolves nothing the light model can tell apart."""
_SAFE_SPAN = ("1900-01-03T00:00:00", "2050-12-28T00:00:00")  # inside the kernels' coverage (ephemeris.coverage_utc)


def max_workers() -> int:
    """Return the most local Dask workers a run may start: 4 per CPU core of this machine."""
    return 4 * (os.cpu_count() or 1)


def check_span(start: str, days: float, step_hours: float | None, start_key: str = "--start",
               days_key: str = "--days", step_key: str = "--step-hours", error: type[LupexError] = ConfigError) -> None:
    """Check a time span given by the user; raise ``error`` naming the key (``*_key``) otherwise.

    ``start`` is UTC ISO 8601, ``days`` and ``step_hours`` finite and positive, at
    most :data:`MAX_TIME_STEPS` steps, and the span inside the SPICE kernels'
    coverage. ``step_hours=None`` checks a single time (``days`` = 0).

    Parameters
    ----------
    start : str
        First time of the span, UTC ISO 8601 (``2027-01-01T00:00:00``, a trailing ``Z``
        allowed); read to whole seconds.
    days : float
        Length of the span, days (d). Checked > 0 and at least one step long only when
        ``step_hours`` is given; pass 0.0 with ``step_hours=None``.
    step_hours : float or None
        Time step of the series, h: at least 1 s, and ``days * 24 / step_hours`` at most
        :data:`MAX_TIME_STEPS`. None checks ``start`` alone.
    start_key, days_key, step_key : str, optional
        The option or config key each value came from, named in the message
        (defaults ``--start``, ``--days``, ``--step-hours``; :func:`lupex.config.validate`
        passes ``time.start``, ``time.days``, ``time.step_hours``).
    error : type of lupex.errors.LupexError, optional
        The exception class raised: :class:`~lupex.errors.ConfigError` (default) for
        config keys, :class:`~lupex.errors.InputError` for command-line options.

    Raises
    ------
    LupexError
        ``error``, with one line saying which key to fix and how, when any check fails;
        the span must lie inside 1900-01-03 to 2050-12-28 (within the kernels' coverage).
    """
    text = str(start).strip()
    try:
        if not re.match(r"^[+-]?\d{4}-\d\d-\d\d", text):
            raise ValueError
        t0 = np.datetime64(text.replace("Z", ""), "s")
    except (ValueError, OverflowError):
        raise error(f"{start_key} {start!r} is not a UTC ISO 8601 time; write e.g. 2027-01-01T00:00:00") from None
    if step_hours is not None:
        if not (math.isfinite(days) and days > 0):
            raise error(f"{days_key} must be a positive, finite number of days, got {days!r}")
        if not (math.isfinite(step_hours) and step_hours > 0):
            raise error(f"{step_key} must be a positive, finite number of hours, got {step_hours!r}")
        if step_hours * 3600.0 < 1.0:
            raise error(f"{step_key} {step_hours:g} is under one second; the time grid is in whole seconds")
        if days * 24.0 < step_hours:
            raise error(f"{days_key} {days:g} is shorter than one step of {step_hours:g} h ({step_key}); "
                        "lengthen the span or shorten the step")
        if days * 24.0 / step_hours > MAX_TIME_STEPS:
            raise error(f"{days_key} {days:g} at {step_key} {step_hours:g} makes {days * 24.0 / step_hours:.3g} time "
                        f"steps, more than {MAX_TIME_STEPS:,}; use a larger step or a shorter span")
    a, b = (np.datetime64(t, "s") for t in _SAFE_SPAN)
    stop_s = (t0 - a).astype(np.int64) + days * 86400.0  # in float: a huge span must not wrap around
    if t0 < a or stop_s > (b - a).astype(np.int64):
        c0, c1 = coverage_utc()
        what = (f"{start_key} {text}" if step_hours is None or t0 < a
                else f"the span {text} + {days:g} days (set by {start_key} and {days_key})")
        raise error(f"{what} is outside the SPICE kernels' coverage ({c0} to {c1} UTC); choose times inside it")
