"""A traverse as the rover would drive it: segments of the search re-simulated into a :class:`Plan`.

The planner (:mod:`lupex.rover.planner`) finds the actions; this module turns them
into states along the path: the battery by :func:`lupex.rover.power.step_battery`
piece by piece (pieces split at light-step boundaries), the two thermal nodes by
:func:`lupex.rover.thermal.simulate`, positions in metres and lunar lon/lat
(:mod:`lupex.terrain.geo`), and the GeoJSON of the path (RFC 7946 with a
lunar ``crs`` member).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lupex.rover import power, thermal
from lupex.rover.search import DIRS, SearchResult
from lupex.rover.thermal import heater_power_w
from lupex.rover.vehicle import RoverParams
from lupex.terrain import geo
from lupex.terrain.geo import LUNAR_LONLAT_CRS, geojson_crs_member

if TYPE_CHECKING:  # the problem is built by the planner, which imports this module
    from lupex.rover.planner import Problem

__all__ = ["Segment", "segments_from_search", "pieces", "Plan", "build_plan", "plan_geojson"]


@dataclass(frozen=True)
class Segment:
    """One action: from ``cell_from`` (window-flat) at tick ``t0`` to ``cell_to`` at ``t1``; mode drive|wait|hibernate."""

    t0: int
    t1: int
    cell_from: int
    cell_to: int
    mode: str


def segments_from_search(res: SearchResult) -> list[Segment]:
    """The search's path as segments: a drive between different cells, a wait in place."""
    segs = []
    for i in range(len(res.cells) - 1):
        a, b = int(res.cells[i]), int(res.cells[i + 1])
        segs.append(Segment(int(res.ticks[i]), int(res.ticks[i + 1]), a, b, "drive" if a != b else "wait"))
    return segs


def _direction(prob: Problem, a: int, b: int) -> int:
    dr, dc = b // prob.nx - a // prob.nx, b % prob.nx - a % prob.nx
    for d, (r, c) in enumerate(DIRS):
        if r == dr and c == dc:
            return d
    raise ValueError("cells are not neighbours")


def pieces(prob: Problem, segs: list[Segment], rover: RoverParams):
    """Split segments at light-step boundaries: per piece (tick0, tick1, cell, mode, solar_w, load_w, base_w, sun_f, earth_f)."""
    out = []
    for s in segs:
        d = _direction(prob, s.cell_from, s.cell_to) if s.mode == "drive" else -1
        a = prob.k0_tick + s.t0
        end = prob.k0_tick + s.t1
        while a < end:
            k = a // prob.ticks_per_step
            b = min(end, (k + 1) * prob.ticks_per_step)
            f = prob.sun[k, s.cell_from] / 255.0
            lit = prob.sun[k, s.cell_from] > prob.dark_u8
            if s.mode == "drive":
                sol = prob.panel_move_w[k, d] * f
                base = float(prob.move_load_w[s.cell_from, d])
                heat = prob.heater_w[0] if lit else prob.heater_w[1]
            elif s.mode == "wait":
                sol = prob.panel_wait_w[k] * f
                base = prob.wait_load_w
                heat = prob.heater_w[2] if lit else prob.heater_w[3]
            else:  # hibernate in the dark, standby in the light (see havens)
                sol = prob.panel_wait_w[k] * f
                base = prob.wait_load_w if lit else rover.loads.hibernate_w
                heat = prob.heater_w[2] if lit else heater_power_w(rover, rover.loads.hibernate_w, False)
            out.append((a - prob.k0_tick, b - prob.k0_tick, s.cell_from, s.mode, sol, base + heat, base, f,
                        prob.earth[k, s.cell_from] / 255.0))
            a = b
    return out


@dataclass(frozen=True)
class Plan:
    """A traverse: states along the path (one per action boundary) and totals.

    Per state (n): ``rows``/``cols`` (full-DEM), ``x_m``/``y_m``, ``lon_deg``/``lat_deg``,
    ``times`` (UTC datetime64), ``mode`` of the action *starting* there ("drive", "wait",
    "hibernate", "arrive"), ``soc`` (from :func:`lupex.rover.power.step_battery`),
    ``temperature_k`` (n, 2) electronics/battery (:func:`lupex.rover.thermal.simulate`),
    ``sun_fraction``, ``earth_fraction``, ``shadow_h`` (continuous time in shadow up to the state).
    """

    rows: np.ndarray
    cols: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    lon_deg: np.ndarray
    lat_deg: np.ndarray
    times: np.ndarray
    mode: np.ndarray
    soc: np.ndarray
    temperature_k: np.ndarray
    sun_fraction: np.ndarray
    earth_fraction: np.ndarray
    shadow_h: np.ndarray
    distance_m: float
    drive_time_h: float
    wait_time_h: float
    energy_used_wh: float
    longest_shadow_h: float
    time_without_earth_h: float
    min_soc: float
    min_temperature_k: tuple[float, float]
    expanded_states: int
    havens: tuple = ()

    @property
    def duration_h(self) -> float:
        """Time from departure to arrival (h)."""
        return float((self.times[-1] - self.times[0]) / np.timedelta64(1, "s") / 3600.0)

    def to_dataframe(self):
        """One row per state: time, position, mode, state of charge, temperatures (K), light and Earth."""
        return pd.DataFrame({
            "time_utc": self.times, "row": self.rows, "col": self.cols, "x_m": self.x_m, "y_m": self.y_m,
            "lon_deg": self.lon_deg, "lat_deg": self.lat_deg, "mode": self.mode, "soc": self.soc,
            "electronics_k": self.temperature_k[:, 0], "battery_k": self.temperature_k[:, 1],
            "sun_fraction": self.sun_fraction, "earth_fraction": self.earth_fraction, "shadow_h": self.shadow_h,
        })

    def summary(self) -> dict:
        """Totals of the traverse as a dict (times UTC, distance m, durations h, energy Wh, minima)."""
        return {
            "start_utc": str(self.times[0])[:19], "arrival_utc": str(self.times[-1])[:19], "duration_h": self.duration_h,
            "distance_m": self.distance_m, "drive_time_h": self.drive_time_h, "wait_time_h": self.wait_time_h,
            "energy_used_wh": self.energy_used_wh, "min_soc": self.min_soc, "longest_shadow_h": self.longest_shadow_h,
            "time_without_earth_h": self.time_without_earth_h,
            "min_electronics_k": self.min_temperature_k[0], "min_battery_k": self.min_temperature_k[1],
            "expanded_states": self.expanded_states, "havens": list(self.havens),
        }


def build_plan(dem, prob: Problem, segs: list[Segment], rover: RoverParams, soc0: float, expanded: int = 0,
               havens: tuple = ()) -> Plan:
    """Assemble a :class:`Plan` from segments: battery via step_battery, temperatures via thermal.simulate.

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM, (ny, nx) heights, m; gives positions (x, y in its CRS, lon/lat) and the 3-D drive distance.
    prob : Problem
        The planning problem the segments were found in (window, tick length, light, power and heater tables).
    segs : list of Segment
        The actions in time order, window-flat cells, plan ticks; at least one.
    rover : RoverParams
        The rover whose battery (:func:`lupex.rover.power.step_battery`) and thermal nodes
        (:func:`lupex.rover.thermal.simulate`) are re-simulated.
    soc0 : float
        State of charge at the start, 0..1.
    expanded : int
        States the search expanded (reported in the plan).
    havens : tuple
        Full-DEM (row, col) of the safe havens parked at, in order (reported in the plan).

    Returns
    -------
    Plan
        One state per segment boundary (full-DEM rows and cols, x/y m, lon/lat deg, UTC, mode, SoC,
        (n, 2) electronics/battery temperatures K, Sun and Earth fractions, shadow hours) and the totals.
    """
    pcs = pieces(prob, segs, rover)
    ticks = np.array([p[0] for p in pcs] + [pcs[-1][1]], dtype=np.int64)
    times = prob.tick_time(ticks)
    solar = np.array([p[4] for p in pcs])
    load = np.array([p[5] for p in pcs])
    base = np.array([p[6] for p in pcs])
    sunf = np.array([p[7] for p in pcs])
    earthf = np.array([p[8] for p in pcs])
    bt = power.step_battery(times, solar, load, rover, soc0=soc0)
    k_idx = (prob.k0_tick + ticks[:-1]) // prob.ticks_per_step
    # thermal: base loads (the model adds its own heaters), Sun elevation at the site for the terrain fallback
    el = prob.sun_el_deg[k_idx]
    tr = thermal.simulate(times, np.append(sunf, sunf[-1]), np.append(base, base[-1]), rover, sun_el_deg=np.append(el, el[-1]))
    # state rows: segment boundaries
    seg_ticks = np.array([s.t0 for s in segs] + [segs[-1].t1], dtype=np.int64)
    seg_cells = np.array([s.cell_from for s in segs] + [segs[-1].cell_to], dtype=np.int64)
    pos = np.searchsorted(ticks, seg_ticks)
    rows = seg_cells // prob.nx + prob.row0
    cols = seg_cells % prob.nx + prob.col0
    xs = np.asarray(dem["x"].values, float)[cols]
    ys = np.asarray(dem["y"].values, float)[rows]
    lon, lat = geo.lonlat_grid(dem.isel(y=slice(int(rows.min()), int(rows.max()) + 1), x=slice(int(cols.min()), int(cols.max()) + 1)))
    lon = lon[rows - rows.min(), cols - cols.min()]
    lat = lat[rows - rows.min(), cols - cols.min()]
    dt_s = np.diff(ticks) * prob.tick_s
    dark = sunf * 255.0 <= prob.dark_u8 + 1e-9
    run = np.zeros(len(ticks))
    for i in range(len(dt_s)):
        run[i + 1] = run[i] + dt_s[i] if dark[i] else 0.0
    shadow_h = run[pos] / 3600.0
    mode = np.array([s.mode for s in segs] + ["arrive"])
    drive_s = sum((s.t1 - s.t0) * prob.tick_s for s in segs if s.mode == "drive")
    wait_s = sum((s.t1 - s.t0) * prob.tick_s for s in segs if s.mode != "drive")
    dist = 0.0
    z = np.asarray(dem.values, float)
    for s in segs:
        if s.mode == "drive":
            r0, c0 = divmod(s.cell_from, prob.nx)
            r1, c1 = divmod(s.cell_to, prob.nx)
            dh = prob.pixel_m * math.hypot(r1 - r0, c1 - c0)
            dz = z[r1 + prob.row0, c1 + prob.col0] - z[r0 + prob.row0, c0 + prob.col0]
            dist += math.hypot(dh, dz)
    no_earth = earthf * 255.0 < prob.earth_u8 - 1e-9
    return Plan(
        rows=rows, cols=cols, x_m=xs, y_m=ys, lon_deg=lon, lat_deg=lat, times=times[pos], mode=mode, soc=bt.soc[pos],
        temperature_k=tr.temperature_k[pos], sun_fraction=np.append(sunf, sunf[-1])[pos],
        earth_fraction=np.append(earthf, earthf[-1])[pos], shadow_h=shadow_h, distance_m=float(dist),
        drive_time_h=drive_s / 3600.0, wait_time_h=wait_s / 3600.0, energy_used_wh=float(np.sum(load * dt_s) / 3600.0),
        longest_shadow_h=float(run.max() / 3600.0), time_without_earth_h=float(np.sum(dt_s[no_earth]) / 3600.0),
        min_soc=float(bt.soc.min()), min_temperature_k=(float(tr.min_temperature_k[:, 0].min()), float(tr.min_temperature_k[:, 1].min())),
        expanded_states=int(expanded), havens=tuple(havens),
    )


def plan_geojson(p: Plan, crs_name: str = LUNAR_LONLAT_CRS) -> dict:
    """GeoJSON: the path as a LineString and one time-stamped Point per state (lon/lat on the lunar sphere)."""
    coords = [[float(a), float(b)] for a, b in zip(p.lon_deg, p.lat_deg)]
    feats = [{
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"kind": "path", **{k: (v if not isinstance(v, (np.floating, np.integer)) else v.item()) for k, v in p.summary().items()}},
    }]
    for i in range(len(p.times)):
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": coords[i]},
            "properties": {
                "kind": "state", "index": i, "time": str(p.times[i])[:19] + "Z", "mode": str(p.mode[i]),
                "x_m": float(p.x_m[i]), "y_m": float(p.y_m[i]), "soc": float(p.soc[i]),
                "electronics_k": float(p.temperature_k[i, 0]), "battery_k": float(p.temperature_k[i, 1]),
                "sun_fraction": float(p.sun_fraction[i]), "earth_fraction": float(p.earth_fraction[i]),
                "shadow_h": float(p.shadow_h[i]),
            },
        })
    return {"type": "FeatureCollection", "name": "lupex_traverse", "crs": geojson_crs_member(crs_name),
            "features": feats}
