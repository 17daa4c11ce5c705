"""A plan's six-month timeline: its goals handed to the scheduler, goals the scheduler cannot serve moved aside.

Both plans' waypoints and drill stops are handed, as :class:`lupex.rover.scheduler.Goal` s, to
:func:`lupex.rover.scheduler.schedule` over ``duration_days`` (180) on the light series of the area, so
drives, science, drilling, communication and hibernation form the rover's timeline with energy, thermal and
Earth-visibility constraints checked at every interval (the decisions are taken first and timed afterwards:
the objective depends on what was measured, not on when). The timeline is haven-aware (see
:mod:`lupex.rover.scheduler`: every activity only while a haven that survives the next dark period is still
within reach, ``haven_margin_wh`` / ``haven_margin_h``). A plan whose timeline cannot be built is assessed by
:mod:`lupex.mission.feasibility` (binding constraint, alternatives re-tried).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lupex import ephemeris as eph
from lupex.errors import InputError, LupexError
from lupex.light.visibility import visibility_series
from lupex.mission import feasibility as F
from lupex.mission.campaign.params import CampaignParams
from lupex.mission.campaign.screen import campaign_window
from lupex.mission.feasibility import schedule_goals
from lupex.rover import planner as P
from lupex.rover import scheduler as S

log = logging.getLogger("lupex.campaign")

__all__ = ["PlanTimeline", "Schedule", "campaign_light", "schedule_plan"]


class Schedule(NamedTuple):
    """A plan's timeline, or why there is none (a tuple: callers unpack it as ``tl, err, times, goals, fail``)."""

    timeline: Any                   # lupex.rover.scheduler.Timeline, or None when the scheduler failed
    error: str                      # the scheduler's last message ("" when flown)
    goal_times: tuple               # arrival UTC (str) per goal, "" where the timeline never serves it
    goals: pd.DataFrame             # per goal: name, x_m, y_m, science_h, drill_h, moved_m (and arrival_utc)
    failure: dict | None            # binding constraint and the goals tried, for lupex.mission.feasibility.assess


@dataclass(frozen=True)
class PlanTimeline:
    """A plan's timeline as the campaign keeps it: the schedule (or why there is none) and its feasibility."""

    timeline: Any = None            # lupex.rover.scheduler.Timeline or None
    schedule_error: str = ""
    goal_times: tuple = ()          # arrival UTC (str) per goal
    goals: pd.DataFrame | None = None
    feasibility: F.Feasibility | None = None


def campaign_light(dem, horizon_cube, start_xy, start_utc, params: CampaignParams, *, step_hours: float = 1.0,
                   margin_cells: int = 12):
    """The sun/Earth visibility series over the campaign window from ``start_utc``.

    ``duration_days`` (+1 day, + one lunation for the later-landing alternative of
    :mod:`lupex.mission.feasibility`), every ``step_hours``, by
    :func:`lupex.light.visibility.visibility_series` on the site's horizon cube over :func:`campaign_window`.

    Parameters
    ----------
    dem : xarray.DataArray
        The full site DEM, heights in m, shape (ny, nx).
    horizon_cube : numpy.ndarray
        Horizon elevations of the full DEM, deg, shape (n_az, ny, nx).
    start_xy : tuple of float
        The landing site (x, y), m; the window is centred on its cell.
    start_utc : str or numpy.datetime64
        Start of the campaign, UTC ISO 8601 (kept to the second).
    params : CampaignParams
        ``duration_days`` (d) sets the span: ``duration_days + 1 + 30`` days; ``area_half_m`` and
        ``approach_max_m`` (m) the window.
    step_hours : float, optional
        Time step of the series, h; default 1 h.
    margin_cells : int, optional
        Cells added on every side of the window (:func:`campaign_window`); default 12.

    Returns
    -------
    lupex.light.visibility.VisibilitySeries
        Sun and Earth visible fractions (uint8, x 255) of the window's cells, shape (nt, ny_w, nx_w), on the
        regular time grid ``[start_utc, start_utc + span)``.
    """
    t0 = np.datetime64(str(start_utc)[:19], "s")
    span_d = params.duration_days + 1 + math.ceil(F.LUNATION_D)
    times = eph.time_grid(t0, t0 + np.timedelta64(int(span_d * 86400), "s"), step_hours)
    return visibility_series(dem, horizon_cube, times, window=campaign_window(dem, start_xy, params, margin_cells))


def _goals(p: CampaignParams, waypoints, drills) -> list:
    """The scheduler's goals: every survey vertex (science), then every drill site (drilling)."""
    goals = [S.Goal(float(a), float(b), science_h=p.science_h, drill_h=0.0, name=f"waypoint {i + 1}")
             for i, (a, b) in enumerate(np.asarray(waypoints, float).reshape(-1, 2))]
    goals += [S.Goal(float(a), float(b), science_h=0.0, drill_h=p.drill_h, name=f"drill {i + 1}")
              for i, (a, b) in enumerate(np.asarray(drills, float).reshape(-1, 2))]
    return goals


def _arrival_times(dem, timeline, goals) -> tuple:
    """Arrival UTC (str) of each goal: the start of its first science or drill activity, in goal order."""
    acts = timeline.activities
    times, j = [], 0
    for g in goals:
        r, c = P.cell_of(dem, (g.x_m, g.y_m), g.name)
        hit = None
        for i in range(j, len(acts)):
            a = acts.iloc[i]
            if int(a["row"]) == r and int(a["col"]) == c and a["mode"] in ("science", "drill"):
                hit = i
                break
        if hit is None:
            times.append("")
        else:
            times.append(str(acts.iloc[hit]["start_utc"])[:19])
            j = hit
    return tuple(times)


def schedule_plan(dem, light, rover, start_xy, start_utc, p: CampaignParams, waypoints, drills, screen=None,
                  max_moves: int = 8) -> Schedule:
    """The timeline: the landing site, then every survey vertex (the area's centre first), then the drills.

    A goal the scheduler cannot serve (e.g. a stop in shadow too long to survive or too dark to work) is
    moved to the nearest other cell the rover planner accepts (``screen``, a
    :class:`lupex.mission.campaign.screen.Screen`, whose rejected cells it marks) and the timeline is rebuilt,
    up to ``max_moves`` times; ``moved_m`` in the goal table says how far (the science done there is
    unchanged: the decisions are taken first and timed afterwards).

    Parameters
    ----------
    dem : xarray.DataArray
        The site DEM, heights in m, shape (ny, nx).
    light : lupex.light.visibility.VisibilitySeries
        Sun and Earth visibility over :func:`campaign_window` from ``start_utc`` (:func:`campaign_light`).
    rover : lupex.rover.vehicle.RoverParams
        The rover the scheduler flies.
    start_xy : tuple of float
        The landing site (x, y), m: where the timeline starts.
    start_utc : str
        Start of the timeline, UTC ISO 8601.
    p : CampaignParams
        The campaign settings: ``science_h`` (h per waypoint), ``drill_h`` (h per drill stop) and those of
        :func:`lupex.mission.feasibility.schedule_goals`.
    waypoints : array_like
        The survey path's vertices (x, y), m, shape (n, 2), in order: each a science stop.
    drills : array_like
        The drill sites (x, y), m, shape (k, 2), in drilling order, visited after the waypoints.
    screen : Screen, optional
        The cells the rover may stop on; a goal the scheduler names as unserved is moved to the nearest
        other one (its cell marked bad). None: no goal is moved, the first failure is final.
    max_moves : int, optional
        Most goal moves before giving up; default 8.

    Returns
    -------
    Schedule
        ``(timeline, error, goal_times, goals, failure)``: the :class:`~lupex.rover.scheduler.Timeline` or None;
        the scheduler's last message ("" when flown); arrival UTC per goal ("" where not served); the goal table
        (``name``, ``x_m``, ``y_m``, ``science_h``, ``drill_h``, ``moved_m`` and, when flown, ``arrival_utc``);
        and, when it failed, ``{"binding": dict or None, "goals": tuple}`` for
        :func:`lupex.mission.feasibility.assess`.
    """
    goals = _goals(p, waypoints, drills)
    orig = [(g.x_m, g.y_m) for g in goals]
    tl = None
    err = ""
    binding = None
    for _ in range(max_moves + 1):
        try:
            tl = schedule_goals(dem, light, rover, start_xy, start_utc, p, goals)
            break
        except LupexError as exc:
            err = str(exc)
            binding = getattr(exc, "binding", None)
            m = re.search(r"goal (\d+)", err)
            if screen is None or m is None:
                break
            i = int(m.group(1)) - 1
            g = goals[i]
            r, c = screen.rc((g.x_m, g.y_m))
            screen.bad.add((int(r[0]), int(c[0])))
            try:
                nx_, ny_ = screen.snap((g.x_m, g.y_m))[0]
            except InputError:
                break
            log.info("campaign timeline: %s; moving goal %d to (%.0f, %.0f) m", err, i + 1, nx_, ny_)
            goals[i] = dataclasses.replace(g, x_m=float(nx_), y_m=float(ny_))
    gdf = pd.DataFrame([dict(name=g.name, x_m=g.x_m, y_m=g.y_m, science_h=g.science_h, drill_h=g.drill_h,
                             moved_m=float(math.hypot(g.x_m - o[0], g.y_m - o[1]))) for g, o in zip(goals, orig)])
    if tl is None:
        log.warning("campaign timeline failed: %s", err)
        return Schedule(timeline=None, error=err, goal_times=(), goals=gdf,
                        failure=dict(binding=binding, goals=tuple(goals)))
    times = _arrival_times(dem, tl, goals)
    gdf["arrival_utc"] = list(times)
    return Schedule(timeline=tl, error="", goal_times=times, goals=gdf, failure=None)
