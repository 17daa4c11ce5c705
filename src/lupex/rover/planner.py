"""Time-dependent traverse planning on a DEM: space-time A* with a battery constraint.

Model (the planner is optimal *for this model*; the tests check it against an
exhaustive search of the same model on small maps):

* **Time** is counted in integer *ticks* of ``tick_s`` seconds (a divisor of
  the light step). The state is ``(cell, tick)``; the search space is the
  time-expanded grid of Otten et al. 2018 (spatiotemporal polar rover routes
  with speed, slope and direct-to-Earth constraints) and of dynamic-
  illumination spatio-temporal A* (Remote Sensing 2026, 18(2):310).
* **Actions**: move to one of the 8 neighbours, taking ``tau`` ticks =
  ceil(3-D length / ground speed / tick_s), speed from
  :func:`lupex.rover.mobility.speed_m_s` (tabulated every 0.005 deg) at the edge's pitch (signed
  along the travel direction); the edge exists only where
  :func:`lupex.rover.mobility.traversable` accepts the heading at both cells
  (uphill/downhill/cross-slope limits) and both cells are below
  ``max_slope_deg``. Or wait in place for ``wait_s``. During a move the
  rover counts as being at the cell it left.
* **Energy** (the resource): battery deficit ``D`` (J below ``soc_max``), the
  bookkeeping of :func:`lupex.rover.power.step_battery` piece by piece
  (pieces split at light-step boundaries): net bus power = array power - load;
  charging ``D -= eta_c * net * dt`` (not below 0), discharging
  ``D += -net * dt / eta_d``; a state is feasible when ``D <= (soc_max -
  soc_min) * capacity`` at the end of every piece (the deficit is linear
  within a piece). Array power from :func:`lupex.rover.power.panel_power_w`
  with the visible Sun fraction of the cell (:mod:`lupex.light.visibility`):
  while driving the array faces ``heading + azimuth_rel``, while waiting the
  rover turns it to the Sun. Load: ``loads.drive_w`` plus the traction
  energy above flat ground from :func:`lupex.rover.mobility.energy_per_m_j`
  spread over the move; ``loads.standby_w`` while waiting; plus heater
  power in the light or in the dark, the steady thermostat power of
  :func:`lupex.rover.thermal.simulate` for that load (so the temperature
  limits in shadow enter as energy; the plan's temperatures are then
  simulated and checked).
* **Earth**: with ``drive_requires_earth`` a move may start only where the
  Earth is visible (operators in the loop, as VIPER); in any case the plan
  reports the time out of Earth view.
* **Cost**: arrival time at the goal (earliest arrival).

Why A* is exact here: at equal (cell, tick), a smaller deficit dominates (every
continuation feasible from the larger is feasible from the smaller: the
per-piece updates are monotone), so one label per state suffices. The
heuristic is the exact least *static* move time to the goal (a backward
Dijkstra over the edge table, ignoring light, energy and waits): every
space-time path is a static path plus waits, so it is admissible, and
h(c) <= tau(c, n) + h(n) makes it consistent. (The straight-line bound
distance / v_max is available too; it is weaker: on this grid it leaves ~10%
slack, and every tick of slack is a layer of (cell, tick) states.)
Ties in f are broken towards smaller ticks, so every predecessor of a state
is expanded before it; a state whose deficit still improves is re-opened
(label-correcting safety net). The first goal popped has the least arrival tick.

Kernel: numba, a binary heap on flat arrays and an open-addressing hash of
(cell, tick) -> (deficit, parent). Waypoints are planned leg by leg (each leg
optimal from the previous arrival, not jointly). Routing through safe havens
over dark periods is :mod:`lupex.rover.havens`. The search's segments become a
:class:`~lupex.rover.plan_result.Plan` (battery, temperatures, GeoJSON) in :mod:`lupex.rover.plan_result`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from lupex.errors import ConfigError, InputError, LupexError
from lupex.params import check_range, param
from lupex.rover import mobility, power
from lupex.rover.plan_result import (  # noqa: F401  (moved there; still importable from here)
    Plan,
    Segment,
    _direction,
    build_plan,
    pieces,
    plan_geojson,
    segments_from_search,
)
from lupex.rover.search import (  # noqa: F401  (moved there; still importable from here)
    DIRS,
    EXHAUSTED,
    FOUND,
    STATE_LIMIT,
    SearchResult,
    _astar_kernel,
    _bfs,
    _static_dist,
    astar,
    heuristic_ticks,
    static_reachable,
)
from lupex.rover.thermal import heater_power_w  # noqa: F401  (moved there; still importable from here)
from lupex.rover.vehicle import RoverParams
from lupex.terrain import geo, slope_deg

__all__ = [
    "PlanError", "PlannerParams", "Problem", "Plan", "build_problem", "astar", "plan", "plan_geojson", "DIRS",
]

HEADING_GRID_DEG = np.degrees(np.arctan2(DIRS[:, 1], -DIRS[:, 0])) % 360.0


class PlanError(LupexError):
    """No plan can be made: bad start/goal/time, or the goal is unreachable (the message says why)."""


@dataclass(frozen=True)
class PlannerParams:
    """Parameters of the traverse planner (each with unit, help and source)."""

    TABLE: ClassVar[str] = "planner"   # errors name planner.<key>

    tick_s: int = param(20, "s", "time resolution of the search; must divide the light step", "numerical: ~1/10 of a 20 m cell crossing at 0.1 m/s")
    wait_s: int = param(900, "s", "length of one wait action (multiple of tick_s)", "numerical: a quarter of an hourly light step")
    max_slope_deg: float = param(20.0, "deg", "cells steeper than this are impassable", "lupex config rover.max_slope_deg (20 deg); VIPER 25-30 deg (docs/REFERENCES.md#viper)")
    slope_baseline_m: float = param(0.0, "m", "baseline of the slope map; 0 = one pixel", "lupex config rover.slope_baseline_m")
    drive_requires_earth: bool = param(False, "-", "a move may only start where the Earth is visible (ground in the loop)", "VIPER operations: drives commanded over the DTE link (docs/REFERENCES.md#viper)")
    earth_threshold: float = param(0.5, "fraction 0-1", "Earth counts as visible at this fraction of its disk", "config key light.earth_threshold")
    dark_threshold: float = param(0.0, "fraction 0-1", "a cell is dark at or below this visible fraction of the Sun", "config key light.dark_threshold")
    soc_start: float = param(1.0, "-", "state of charge at the start of the plan", "assumption: leave a haven charged")
    max_states: int = param(30_000_000, "-", "search gives up after this many expanded states", "numerical: ~1.5 GB of search memory")
    margin_cells: int = param(40, "cells", "corridor margin around start/goal when the light series is computed for a window", "numerical")

    def __post_init__(self):
        if not (isinstance(self.tick_s, int) and self.tick_s >= 1):
            raise ConfigError(f"planner.tick_s must be a positive whole number of seconds, got {self.tick_s!r}")
        if not (isinstance(self.wait_s, int) and self.wait_s >= self.tick_s and self.wait_s % self.tick_s == 0):
            raise ConfigError(f"planner.wait_s must be a positive multiple of tick_s ({self.tick_s} s), got {self.wait_s!r}")
        check_range(self, "max_slope_deg", 0.0, 90.0, lo_open=True, hi_open=True)
        for n in ("earth_threshold", "dark_threshold", "soc_start"):
            check_range(self, n, 0.0, 1.0)


def parameter_rows(obj: PlannerParams | None = None):
    """(key, value, unit, help, source) rows of the planner parameters."""
    obj = obj or PlannerParams()
    return [(f.name, getattr(obj, f.name), f.metadata["unit"], f.metadata["help"], f.metadata["source"]) for f in fields(obj)]


@dataclass(frozen=True)
class Problem:
    """A planning problem on a window of the DEM, in the arrays the kernel reads.

    Cells are flat indices ``r * nx + c`` of the *window*; ``tau`` (ncell, 8)
    ticks per move (0: no edge); ``move_load_w`` (ncell, 8); ``sun``/``earth``
    uint8 (nt, ncell); ``panel_move_w`` (nt, 8) array power per unit Sun
    fraction while driving each direction; ``panel_wait_w`` (nt,) facing the
    Sun; ``heater_w`` = (drive lit, drive dark, wait lit, wait dark).
    """

    ny: int
    nx: int
    row0: int
    col0: int
    pixel_m: float
    tick_s: int
    ticks_per_step: int
    k0_tick: int  # ticks from the series start to the plan's tick 0
    n_steps: int
    wait_ticks: int
    tau: np.ndarray
    move_load_w: np.ndarray
    passable: np.ndarray  # (ncell,) bool
    sun: np.ndarray
    earth: np.ndarray
    panel_move_w: np.ndarray
    panel_wait_w: np.ndarray
    wait_load_w: float
    heater_w: np.ndarray
    dark_u8: int
    earth_u8: int
    drive_requires_earth: bool
    eta_c: float
    eta_d: float
    dmax_j: float
    capacity_j: float
    soc_max: float
    vmax_m_s: float
    t0: np.datetime64  # UTC of the series start
    sun_el_deg: np.ndarray  # (nt,) at the site centre, for the terrain temperature

    @property
    def t_max(self) -> int:
        """Last tick inside the light series."""
        return self.n_steps * self.ticks_per_step - self.k0_tick

    def with_start(self, start_utc) -> Problem:
        """The same problem with tick 0 at ``start_utc`` (floored to a tick)."""
        s = (np.datetime64(str(start_utc).replace("Z", ""), "ns") - self.t0) / np.timedelta64(1, "s")
        k0 = int(math.floor(float(s) / self.tick_s + 1e-9))
        return dataclasses.replace(self, k0_tick=k0)

    def tick_time(self, tick) -> np.ndarray:
        """UTC datetime64[ns] of plan tick(s) ``tick``."""
        return self.t0 + ((self.k0_tick + np.asarray(tick, dtype=np.int64)) * self.tick_s * 1_000_000_000).astype("timedelta64[ns]")


PITCH_TABLE_DEG = np.linspace(-89.0, 89.0, 35_601)  # 0.005 deg


@functools.lru_cache(maxsize=8)
def _mobility_table(rover: RoverParams):
    """Ground speed (m/s) and traction energy (J/m) vs pitch, tabulated at 0.005 deg (linear interpolation).

    The mobility model solves for slip by bisection per value; on a corridor of 1e5 cells x 8 edges
    the table is ~50x faster. Both curves are smooth away from the immobilisation slope, where the
    speed falls to 0 (interpolation error there < the 0.005 deg step in slope terms).
    """
    v = np.asarray(mobility.speed_m_s(PITCH_TABLE_DEG, rover), dtype=float)
    e = np.asarray(mobility.energy_per_m_j(PITCH_TABLE_DEG, rover), dtype=float)
    e = np.where(np.isfinite(e), e, 1e30)
    return v, e


def _slope_aspect(z: np.ndarray, pixel_m: float):
    gr, gc = np.gradient(z, pixel_m)
    gx, gy = gc, -gr  # rows run towards -y
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    aspect = np.degrees(np.arctan2(gx, gy)) % 360.0  # grid azimuth of steepest ascent
    return slope, aspect


def _window_terrain(dem, light, params: PlannerParams, ny: int, nx: int, pixel: float):
    """Heights (m), slope (deg) and aspect (deg) on the light series' window, and where the slope is passable."""
    z = np.asarray(dem.values, dtype=float)[light.row0 : light.row0 + ny, light.col0 : light.col0 + nx]
    if not np.all(np.isfinite(z)):
        raise PlanError("the DEM has NaN heights inside the planning window; fill them first (lupex.terrain.fill_nodata)")
    if params.slope_baseline_m > 0:
        full = np.asarray(slope_deg(dem, params.slope_baseline_m))
        slope = full[light.row0 : light.row0 + ny, light.col0 : light.col0 + nx]
        _, aspect = _slope_aspect(z, pixel)
    else:
        slope, aspect = _slope_aspect(z, pixel)
    return z, slope, aspect, slope <= params.max_slope_deg


def _edge_tables(z, slope, aspect, passable, pixel: float, rover: RoverParams, params: PlannerParams):
    """Ticks (0: no edge) and drive load (W) of each cell's 8 edges, and the fastest ground speed (m/s) of any."""
    ny, nx = z.shape
    ncell = ny * nx
    tau = np.zeros((ncell, 8), dtype=np.int64)
    load = np.zeros((ncell, 8), dtype=np.float64)
    v_tab, e_tab = _mobility_table(rover)
    e_flat = float(np.interp(0.0, PITCH_TABLE_DEG, e_tab))
    vmax = 0.0
    rr, cc = np.mgrid[0:ny, 0:nx]
    for d, (dr, dc) in enumerate(DIRS):
        r2, c2 = rr + dr, cc + dc
        inside = (r2 >= 0) & (r2 < ny) & (c2 >= 0) & (c2 < nx)
        r2c, c2c = np.clip(r2, 0, ny - 1), np.clip(c2, 0, nx - 1)
        dist_h = pixel * math.hypot(dr, dc)
        dz = z[r2c, c2c] - z
        pitch = np.degrees(np.arctan2(dz, dist_h))
        length = np.hypot(dist_h, dz)
        head = np.full(z.shape, HEADING_GRID_DEG[d])
        ok = inside & passable & passable[r2c, c2c]
        ok &= mobility.traversable(slope, aspect, head, rover) & mobility.traversable(slope[r2c, c2c], aspect[r2c, c2c], head, rover)
        v = np.interp(pitch, PITCH_TABLE_DEG, v_tab)
        ok &= v > 1e-6
        with np.errstate(divide="ignore", invalid="ignore"):
            t_s = np.where(ok, length / np.maximum(v, 1e-12), np.inf)
        k = np.where(ok, np.ceil(t_s / params.tick_s - 1e-9), 0).astype(np.int64)
        k = np.where(ok, np.maximum(k, 1), 0)
        e_m = np.interp(pitch, PITCH_TABLE_DEG, e_tab)
        with np.errstate(invalid="ignore"):
            extra_w = np.where(ok, (e_m - e_flat) * length / np.maximum(k * params.tick_s, 1), 0.0)
        ld = np.maximum(rover.loads.drive_w + extra_w, rover.loads.standby_w)
        tau[:, d] = k.ravel()
        load[:, d] = np.where(ok, ld, 0.0).ravel()
        if ok.any():
            vmax = max(vmax, float((dist_h / (k[ok] * params.tick_s)).max()))
    return tau, load, vmax


def _power_tables(light, rover: RoverParams, nt: int):
    """Array power per unit Sun fraction (W) along each of the 8 headings and facing the Sun; heater powers (W).

    Heater powers for driving/standby loads with and without sunlight.
    """
    # array power per unit Sun fraction (grid azimuths on both sides: only their difference matters)
    az = np.asarray(light.sun_azimuth_deg, float)[:, None]
    el = np.asarray(light.sun_elevation_deg, float)[:, None]
    dist = np.asarray(light.sun_distance_m, float)[:, None]
    pm = power.panel_power_w(np.ones((nt, 8)), np.broadcast_to(az, (nt, 8)), np.broadcast_to(el, (nt, 8)),
                             np.broadcast_to(HEADING_GRID_DEG[None, :], (nt, 8)), rover, sun_distance_m=np.broadcast_to(dist, (nt, 8)))
    head_w = power.heading_facing_sun_deg(az[:, 0], rover.panels[0])
    pw = power.panel_power_w(np.ones(nt), az[:, 0], el[:, 0], head_w, rover, sun_distance_m=dist[:, 0])
    drive_ref = rover.loads.drive_w
    heat = np.array([heater_power_w(rover, drive_ref, True), heater_power_w(rover, drive_ref, False),
                     heater_power_w(rover, rover.loads.standby_w, True), heater_power_w(rover, rover.loads.standby_w, False)])
    return pm, pw, heat


def build_problem(dem, light, rover: RoverParams | None = None, params: PlannerParams | None = None, start_utc=None) -> Problem:
    """Edge, power and light tables for planning on ``light``'s window of ``dem``.

    ``light``: a :class:`lupex.light.visibility.VisibilitySeries` (its window
    is the search region). ``start_utc``: plan start (default: series start).

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM, (ny, nx) heights, m, on a square grid; no NaN inside the window.
    light : lupex.light.visibility.VisibilitySeries
        Sun and Earth visibility, uint8 (nt, ny_w, nx_w), with the Sun's azimuth, elevation (deg) and
        distance (m) per time; its step ``step_s`` (s) must be a multiple of ``params.tick_s``.
    rover : RoverParams, optional
        The rover: mobility (edge times and traction loads), panels, loads, heaters and battery
        (default ``RoverParams()``).
    params : PlannerParams, optional
        Tick and wait lengths (s), slope limit (deg), Earth and dark thresholds (fractions 0..1)
        (default ``PlannerParams()``).
    start_utc : str or np.datetime64, optional
        UTC of plan tick 0 (floored to a tick); None: the series' first time.

    Returns
    -------
    Problem
        The tables the search kernel reads (module docstring: edges ``tau`` in ticks, loads and array power
        in W, Sun/Earth uint8 (nt, ncell), battery limits in J).
    """
    rover = rover or RoverParams()
    params = params or PlannerParams()
    step_s = float(light.step_s)
    if abs(step_s / params.tick_s - round(step_s / params.tick_s)) > 1e-9:
        raise PlanError(f"planner tick_s ({params.tick_s} s) must divide the light step ({step_s:g} s)")
    tps = int(round(step_s / params.tick_s))
    nt, ny, nx = light.sun.shape
    pixel = geo.pixel_size_m(dem)
    z, slope, aspect, passable = _window_terrain(dem, light, params, ny, nx, pixel)
    ncell = ny * nx
    tau, load, vmax = _edge_tables(z, slope, aspect, passable, pixel, rover, params)
    pm, pw, heat = _power_tables(light, rover, nt)
    b = rover.battery
    prob = Problem(
        ny=ny, nx=nx, row0=int(light.row0), col0=int(light.col0), pixel_m=pixel, tick_s=int(params.tick_s),
        ticks_per_step=tps, k0_tick=0, n_steps=nt, wait_ticks=int(params.wait_s // params.tick_s),
        tau=tau, move_load_w=load, passable=passable.ravel(),
        sun=np.ascontiguousarray(light.sun.reshape(nt, ncell)), earth=np.ascontiguousarray(light.earth.reshape(nt, ncell)),
        panel_move_w=np.ascontiguousarray(pm, dtype=float), panel_wait_w=np.ascontiguousarray(pw, dtype=float),
        wait_load_w=float(rover.loads.standby_w), heater_w=heat,
        dark_u8=int(math.floor(params.dark_threshold * 255.0 + 1e-9)),
        earth_u8=int(math.ceil(params.earth_threshold * 255.0 - 1e-9)),
        drive_requires_earth=bool(params.drive_requires_earth),
        eta_c=b.charge_efficiency, eta_d=b.discharge_efficiency,
        dmax_j=(b.soc_max - b.soc_min) * b.capacity_wh * 3600.0, capacity_j=b.capacity_wh * 3600.0, soc_max=b.soc_max,
        vmax_m_s=vmax if vmax > 0 else 1.0, t0=np.datetime64(light.times[0], "ns"),
        sun_el_deg=np.asarray(light.sun_elevation_deg, float),
    )
    return prob.with_start(start_utc) if start_utc is not None else prob


# ------------------------------------------------------------------ entry point


def cell_of(dem, xy, what: str) -> tuple[int, int]:
    """Full-DEM (row, col) of the cell whose centre is nearest to ``xy`` (metres).

    By :func:`lupex.terrain.geo.cell_of`; PlanError outside the DEM (an irregular grid stays an InputError).
    """
    geo.pixel_size_m(dem)
    try:
        return geo.cell_of(dem, (float(xy[0]), float(xy[1])), what)
    except InputError as exc:
        raise PlanError(str(exc)) from None


def xy_of_lonlat(dem, lon_deg: float, lat_deg: float) -> tuple[float, float]:
    x, y = geo.xy_from_lonlat(dem, lon_deg, lat_deg)
    return float(x), float(y)


def _window_cell(prob: Problem, rc, what: str) -> int:
    r, c = rc[0] - prob.row0, rc[1] - prob.col0
    if not (0 <= r < prob.ny and 0 <= c < prob.nx):
        raise PlanError(f"the {what} cell {tuple(rc)} is outside the light series' window; compute the series over a window that contains it")
    cell = r * prob.nx + c
    if not prob.passable[cell]:
        raise PlanError(f"the {what} cell {tuple(rc)} is on an impassable slope (steeper than the planner's max_slope_deg); move it")
    if not np.any(prob.tau[cell] > 0):
        raise PlanError(f"the {what} cell {tuple(rc)} has no traversable edge (slope/attitude limits all around); move it")
    return cell


def explain_failure(prob: Problem, start: int, goal: int, t0: int, d0: float, res: SearchResult) -> str:
    """Say which constraint makes the goal unreachable.

    Re-runs :func:`astar` with the Earth and then the energy constraints relaxed, to tell them apart.

    Parameters
    ----------
    prob : Problem
        The planning problem searched.
    start, goal : int
        Start and goal cells, flat index ``r * nx + c`` in ``prob``'s window.
    t0 : int
        Start tick (plan ticks of ``prob.tick_s`` s).
    d0 : float
        Battery deficit below ``soc_max`` at the start, J.
    res : SearchResult
        The failed search (its status tells a state-limit stop from an exhausted search).

    Returns
    -------
    str
        One sentence naming the binding constraint (state limit, slope limits, Earth view, battery or the
        series' end) and what to change.
    """
    if res.status == STATE_LIMIT:
        return (f"the search gave up after {res.expanded:,} states (planner max_states); shorten the leg, add waypoints or "
                "raise max_states")
    if not static_reachable(prob, start)[goal]:
        return ("no route exists under the slope limits alone (max_slope_deg and the rover's uphill/downhill/cross-slope "
                "limits) inside the planning window; enlarge the window or relax the limits")
    end = str(prob.tick_time(prob.t_max))[:19]
    if prob.drive_requires_earth and astar(prob, start, goal, t0, d0, ignore_earth=True).status == FOUND:
        return "drives need the Earth in view (drive_requires_earth) and the Earth is not visible long enough along any route before " + end
    if astar(prob, start, goal, t0, d0, ignore_energy=True, ignore_earth=True).status == FOUND:
        return ("the battery cannot carry the rover through the shadow on any route before " + end +
                f" (usable {prob.dmax_j / 3.6e6:.2f} kWh); route via a safe haven (lupex.rover.havens), start at another time "
                "or enlarge the battery")
    return f"the light series ends ({end}) before the goal can be reached even ignoring the battery; extend the span (--days)"


def plan(dem, light, start_xy, goal_xy, start_utc, rover: RoverParams | None = None, params: PlannerParams | None = None,
         waypoints=(), prob: Problem | None = None) -> Plan:
    """Earliest-arrival traverse from ``start_xy`` through ``waypoints`` to ``goal_xy`` (metres in the DEM's CRS).

    ``light``: :class:`lupex.light.visibility.VisibilitySeries` covering the
    corridor; ``start_utc``: departure time (inside the series). Raises
    :class:`PlanError` with the reason when no plan exists.

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM, (ny, nx) heights, m.
    light : lupex.light.visibility.VisibilitySeries
        Sun and Earth visibility over a window holding the start, waypoints and goal.
    start_xy, goal_xy : tuple of float
        Start and goal (x, y), m, in the DEM's CRS (each snapped to the nearest cell centre).
    start_utc : str or np.datetime64
        Departure time, UTC, inside the light series.
    rover : RoverParams, optional
        The rover (default ``RoverParams()``).
    params : PlannerParams, optional
        The planner's settings (default ``PlannerParams()``); ``soc_start`` is the state of charge at departure.
    waypoints : sequence of tuple of float
        (x, y), m, in the DEM's CRS, visited in order; each leg is optimal from the previous arrival.
    prob : Problem, optional
        A problem already built by :func:`build_problem` from the same ``dem``, ``light``, ``rover`` and
        ``params`` (default: built here).

    Returns
    -------
    Plan
        The traverse re-simulated (:func:`lupex.rover.plan_result.build_plan`): states, battery, temperatures, totals.
    """
    rover = rover or RoverParams()
    params = params or PlannerParams()
    light.time_index(start_utc)  # raises outside the series
    prob = (prob or build_problem(dem, light, rover, params)).with_start(start_utc)
    pts = [cell_of(dem, start_xy, "start")] + [cell_of(dem, w, f"waypoint {i + 1}") for i, w in enumerate(waypoints)]
    pts.append(cell_of(dem, goal_xy, "goal"))
    cells = [_window_cell(prob, p, n) for p, n in zip(pts, ["start"] + [f"waypoint {i + 1}" for i in range(len(waypoints))] + ["goal"])]
    b = rover.battery
    d = (b.soc_max - params.soc_start) * b.capacity_wh * 3600.0
    if d > prob.dmax_j:
        raise PlanError(f"soc_start {params.soc_start} is below the battery's soc_min {b.soc_min}")
    t = 0
    segs: list[Segment] = []
    expanded = 0
    for i in range(len(cells) - 1):
        res = astar(prob, cells[i], cells[i + 1], t, d, max_states=params.max_states)
        expanded += res.expanded
        if res.status != FOUND:
            leg = f" (leg {i + 1} of {len(cells) - 1})" if len(cells) > 2 else ""
            raise PlanError("goal unreachable" + leg + ": " + explain_failure(prob, cells[i], cells[i + 1], t, d, res))
        segs += segments_from_search(res)
        t, d = int(res.ticks[-1]), float(res.deficit_j[-1])
    if not segs:
        raise PlanError("start and goal are the same cell; nothing to plan")
    return build_plan(dem, prob, segs, rover, params.soc_start, expanded)
