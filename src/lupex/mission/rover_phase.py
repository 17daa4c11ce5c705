"""Phase 4 of a run: the rover's first traverse and its nights.

From the landed position (the first landing Monte Carlo descent's touchdown,
or the target when landing is skipped) to the first traverse's goal (the nearest orbital
prior-ice region, :func:`lupex.mission.campaign.first_traverse_goal`; never the truth), planned by the
time-dependent space-time A* of :mod:`lupex.rover.planner` over the site's own
horizons (the cube of the site phase, so nothing is recomputed), starting one
day after the landing epoch; then every dark period at the goal (the drilling area) over the
following month judged by :func:`lupex.rover.survival.survive` (energy and
temperatures through hibernation). The survey phase drives along this path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lupex import ephemeris as eph
from lupex.io import write_dataframe, write_json
from lupex.light.visibility import corridor_window, visibility_series
from lupex.mission.site_analysis import horizon_cube
from lupex.progress import NO_PROGRESS, Steps
from lupex.rover import havens as H
from lupex.rover import planner as P
from lupex.rover import survival
from lupex.terrain import geo

if TYPE_CHECKING:
    from lupex.config import Config


@dataclass(frozen=True)
class RoverResult:
    """The first traverse and the nights at its goal, as numbers.

    :func:`lupex.report.rover.rover_sections` draws them.
    """

    plan: object  # lupex.rover.planner.Plan
    survival: pd.DataFrame  # one row per dark period at the goal
    survives: bool


def run_rover(cfg: Config, site, start_xy, goal_xy, start_utc, outdir, *, steps: Steps = NO_PROGRESS,
              days: float = 30.0) -> RoverResult:
    """Return the first traverse from ``start_xy`` to ``goal_xy`` (m, site frame) and the nights at the goal.

    Writes ``rover_plan.geojson``, ``rover_plan.parquet`` and ``rover_survival.csv`` into ``outdir``.

    Parameters
    ----------
    cfg : Config
        The run's configuration (``[planner]``, ``[vehicle]``).
    site : SiteAnalysis
        The site phase's result (its horizon cube is computed when missing).
    start_xy, goal_xy : tuple of float
        Start and goal (m, site frame).
    start_utc : numpy.datetime64 or str
        Earliest departure (UTC).
    outdir : path
        Where the products go.
    steps : Steps
        Progress bars.
    days : float
        Length of the light series planned over and of the survival check (days).
    """
    dem = site.dem
    params, rover = cfg.planner, cfg.vehicle  # the planner follows rover.max_slope_deg and the light thresholds
    cells = [P.cell_of(dem, start_xy, "rover start"), P.cell_of(dem, goal_xy, "rover goal")]
    span = int(max(abs(cells[0][0] - cells[1][0]), abs(cells[0][1] - cells[1][1])))
    window = corridor_window(dem.shape, cells, params.margin_cells + span // 2)
    t0 = np.datetime64(str(start_utc)[:19], "s")
    times = eph.time_grid(t0, t0 + np.timedelta64(int(days * 86400), "s"), 1.0)
    with steps.task("rover traverse", total=3) as advance:
        light = visibility_series(dem, horizon_cube(cfg, site), times, window=window)
        advance(1)
        try:
            plan = P.plan(dem, light, start_xy, goal_xy, str(t0), rover=rover, params=params)
        except P.PlanError as exc:
            if "battery" not in str(exc):
                raise
            plan = H.plan_via_havens(dem, light, start_xy, goal_xy, str(t0),
                                     H.find_havens(dem, light, rover=rover, params=params), rover=rover, params=params)
        advance(1)
        r, c = cells[1]
        f = light.sun[:, r - light.row0, c - light.col0] / 255.0
        gna = float(geo.grid_north_azimuth_deg(dem.isel(y=slice(r, r + 1), x=slice(c, c + 1)))[0, 0])
        res = survival.survive(light.times, f, (light.sun_azimuth_deg - gna) % 360.0, light.sun_elevation_deg,
                               start=light.times[0], sun_distance_m=light.sun_distance_m, params=rover)
        advance(1)
    surv = res.to_dataframe()
    write_json(outdir / "rover_plan.geojson", P.plan_geojson(plan))
    write_dataframe(outdir / "rover_plan.parquet", plan.to_dataframe())
    write_dataframe(outdir / "rover_survival.csv", surv)
    return RoverResult(plan, surv, bool(res.survives))
