"""Values a user writes as text (a ``LAT,LON`` point, a list of points, a list of altitudes), parsed into numbers.

Below every layer that reads such text: the config checks them when it loads, and the mission phases parse
the same keys again when they run, so both share one parser (and one error message) without the phases
importing :mod:`lupex.config`, which sits above them. ``lupex.config`` re-exports these functions.
"""

from __future__ import annotations

import math

from lupex.errors import ConfigError, InputError, LupexError


def parse_lat_lon(text: str, what: str, error: type[LupexError] = InputError) -> tuple[float, float]:
    """``"LAT,LON"`` in planetocentric degrees -> (lat, lon); ``error`` naming ``what`` otherwise.

    The one parser of points given on the command line or in a config file.
    """
    try:
        lat, lon = (float(v) for v in str(text).split(","))
    except ValueError:
        raise error(f"{what} must be LAT,LON in degrees (e.g. -89.45,222.7), got {text!r}") from None
    if not (math.isfinite(lat) and math.isfinite(lon)) or not -90 <= lat <= 90 or not -360 <= lon <= 360:
        raise error(f"{what} {text!r}: LAT,LON needs a latitude within -90..90 and a longitude within -360..360 degrees")
    return lat, lon


def parse_points(text: str) -> list[tuple[float, float]]:
    """``"lat,lon; lat,lon"`` -> [(lat, lon), ...]; raises ConfigError naming the bad entry."""
    return [parse_lat_lon(item, "sites.extra_points entry", ConfigError)
            for item in filter(None, (p.strip() for p in text.split(";")))]


def frame_altitudes(text: str, key: str = "landing.frame_altitudes_m") -> list[float]:
    """``"8000, 4000"`` -> [8000.0, 4000.0]; each must be 50-30000 m (``key`` names the setting in errors)."""
    out = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        try:
            v = float(item)
        except ValueError:
            raise ConfigError(f"{key} entry {item!r} is not a number of metres") from None
        if not 50.0 <= v <= 30_000.0:
            raise ConfigError(f"{key} entry {item!r} must be between 50 and 30000 m")
        out.append(v)
    return out
