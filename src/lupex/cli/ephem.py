"""``lupex ephem``: where the Sun and the Earth stand in a lunar point's sky."""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer
from rich.table import Table

from lupex import ephemeris as eph
from lupex.cli._console import out
from lupex.errors import LupexError


def ephem(
    time_: Annotated[list[str], typer.Option("--time", "-t", help="UTC time, ISO 8601 (repeatable).")],
    lat: Annotated[float, typer.Option(help="Planetocentric latitude of the observer, deg (-90..90).")] = -89.9,
    lon: Annotated[float, typer.Option(help="East longitude of the observer, deg.")] = 0.0,
    height: Annotated[float, typer.Option(help="Observer height above the 1737.4 km sphere, m.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Sun and Earth azimuth/elevation (deg, azimuth clockwise from local north) seen from a lunar point, and the sub-solar point."""
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

    tab = Table(title=f"Seen from lat {lat:g}, lon {lon:g}, {height:g} m")
    for c in ("time (UTC)", "sun az", "sun el", "earth az", "earth el", "sub-solar lat, lon"):
        tab.add_column(c)
    for r in rows:
        tab.add_row(r["time_utc"], f"{r['sun']['azimuth_deg']:.3f}", f"{r['sun']['elevation_deg']:.3f}",
                    f"{r['earth']['azimuth_deg']:.3f}", f"{r['earth']['elevation_deg']:.3f}",
                    f"{r['subsolar_point']['lat_deg']:.3f}, {r['subsolar_point']['lon_deg']:.3f}")
    out.print(tab)


def register(app: typer.Typer) -> None:
    """Add ``ephem`` to the main CLI app."""
    app.command()(ephem)
