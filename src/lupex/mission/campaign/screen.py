"""Where a campaign may go: the rover's straight-leg cost, the prospecting area and the cells the rover may stop on.

The area's centre is the nearest cell to the landing site whose square holds most of the orbital prior's ice
within the drill's reach (:func:`survey_centre`); the cells a plan may stop on are those the traverse planner
accepts (:class:`Screen`), near a safe haven when one survives every dark period (:func:`near_haven`). None of
this reads the truth's ice: only the orbital prior (the depth to stable ice of the thermal model).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy import ndimage

from lupex.errors import InputError
from lupex.light.visibility import VisibilitySeries, corridor_window
from lupex.mission.campaign.params import CampaignParams
from lupex.mission.traverse import site_xy
from lupex.prospect.strategy import Area, straight_line_cost
from lupex.rover import havens as H
from lupex.rover import mobility
from lupex.rover import planner as P
from lupex.rover.vehicle import RoverParams

__all__ = ["PRIOR_SHARE", "Screen", "area_for", "campaign_window", "check_light", "crs_of", "first_traverse_goal",
           "flat_light", "grid_of", "ice_prior", "is_steep", "near_haven", "reach_fraction", "rover_cost",
           "sel_area", "survey_centre"]

#: the area's centre is the nearest cell whose square holds at least this share of the best prior-ice share
PRIOR_SHARE = 0.75


def rover_cost(vehicle, p: CampaignParams):
    """(cost, Wh/m, rover): the straight-leg cost from the vehicle (drive load over flat speed, plus a stop overhead).

    ``cost(a, b)`` gives (energy Wh, time h) of the straight leg from ``a`` to ``b`` (m)
    (:func:`lupex.prospect.strategy.straight_line_cost`); ``rover`` is ``vehicle`` or the default
    :class:`~lupex.rover.vehicle.RoverParams`.
    """
    rover = vehicle or RoverParams()
    v = float(mobility.speed_m_s(0.0, rover))
    wh_per_m = rover.loads.drive_w / v / 3600.0
    return straight_line_cost(wh_per_m=wh_per_m, m_per_h=v * 3600.0, wh_per_leg=p.leg_overhead_wh,
                              h_per_leg=p.leg_overhead_wh / max(rover.loads.drive_w, 1e-9)), wh_per_m, rover


def grid_of(da):
    """(x, y): the cell-centre coordinates (m) of a gridded DataArray or Dataset."""
    x = np.asarray(da["x"].values, float)
    y = np.asarray(da["y"].values, float)
    return x, y


def area_for(truth_ds: xr.Dataset, dem, start_xy, half_m: float) -> Area:
    """The cell-centre rectangle of the area: the square around the start, clipped to the truth (and DEM).

    Raises :class:`~lupex.errors.InputError` when the start is off the grids or the area holds fewer than
    3 x 3 cells.

    Parameters
    ----------
    truth_ds : xarray.Dataset
        The ground truth's dataset (:attr:`~lupex.subsurface.ground_truth.GroundTruth.dataset`), dims (y, x)
        in m, at least 3 x 3 cells.
    dem : xarray.DataArray or None
        The site DEM (x, y in m); when given the start must lie on it and the area is clipped to its cell
        centres too.
    start_xy : tuple of float
        The square's centre (x, y), m (the landing site, or the area's centre).
    half_m : float
        Half side of the square, m (``campaign.area_half_m``).

    Returns
    -------
    lupex.prospect.strategy.Area
        ``x_min``, ``x_max``, ``y_min``, ``y_max`` (m): the extreme truth cell centres inside the square.
    """
    x, y = grid_of(truth_ds)
    if x.size < 3 or y.size < 3:
        raise InputError("the ground truth grid must have at least 3 x 3 cells for a campaign")
    dx, dy = abs(x[1] - x[0]), abs(y[1] - y[0])
    sx, sy = (float(v) for v in start_xy)
    boxes = [(x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2, "ground truth grid")]
    if dem is not None:
        dxx, dyy = grid_of(dem)
        px = abs(dxx[1] - dxx[0]) if dxx.size > 1 else 0.0
        py = abs(dyy[1] - dyy[0]) if dyy.size > 1 else 0.0
        boxes.append((dxx.min() - px / 2, dxx.max() + px / 2, dyy.min() - py / 2, dyy.max() + py / 2, "DEM"))
    for x0, x1, y0, y1, what in boxes:
        if not (np.isfinite(sx) and np.isfinite(sy) and x0 <= sx <= x1 and y0 <= sy <= y1):
            raise InputError(f"campaign start ({sx:.1f}, {sy:.1f}) m is outside the {what} (x {x0:.1f}..{x1:.1f}, "
                             f"y {y0:.1f}..{y1:.1f} m); give the landed position on the site")
    xs = x[(x >= sx - half_m) & (x <= sx + half_m)]
    ys = y[(y >= sy - half_m) & (y <= sy + half_m)]
    if dem is not None:
        dxx, dyy = grid_of(dem)
        xs = xs[(xs >= dxx.min()) & (xs <= dxx.max())]
        ys = ys[(ys >= dyy.min()) & (ys <= dyy.max())]
    if xs.size < 3 or ys.size < 3:
        raise InputError(f"the campaign area ({2 * half_m:g} m square around the start) holds fewer than 3 x 3 cells "
                         f"of the ground truth ({dx:g} m pixels); raise campaign.area_half_m")
    return Area(float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))


def sel_area(obj, area: Area, pad: float = 0.0):
    """``obj`` (gridded, x/y in m) cut to ``area`` widened by ``pad`` m, whichever way its y axis runs."""
    y = np.asarray(obj["y"].values, float)
    ysl = slice(area.y_max + pad, area.y_min - pad) if y.size > 1 and y[1] < y[0] else slice(area.y_min - pad, area.y_max + pad)
    return obj.sel(x=slice(area.x_min - pad, area.x_max + pad), y=ysl)


def crs_of(obj):
    """The rioxarray CRS of ``obj``, or None when it has none."""
    try:
        return obj.rio.crs
    except Exception:  # no rioxarray CRS: plain coordinates
        return None


class Screen:
    """Where the rover may stop: the traverse planner's own cells.

    :func:`lupex.rover.planner.build_problem` on the light window the scheduler uses: passable, with a
    traversable edge, reachable from the landing site through the edge table, and (with a light series) lit at
    least ``MIN_LIT_FRACTION`` of the time so science and drilling can run. Without a light series the window
    is :func:`campaign_window` (slopes only).
    """

    MIN_LIT_FRACTION = 0.05

    def __init__(self, dem, light, landed, p: CampaignParams, rover):
        self.dem = dem
        lt = light if light is not None else flat_light(dem, campaign_window(dem, landed, p))
        prob = P.build_problem(dem, lt, rover, P.PlannerParams(max_slope_deg=p.max_slope_deg))
        ok = prob.passable & (prob.tau > 0).any(axis=1)
        r, c = P.cell_of(dem, landed, "landing site")
        r, c = r - prob.row0, c - prob.col0
        if 0 <= r < prob.ny and 0 <= c < prob.nx and ok[r * prob.nx + c]:
            ok &= P.static_reachable(prob, r * prob.nx + c)
        if light is not None:
            ok &= (prob.sun > prob.dark_u8).mean(axis=0) >= self.MIN_LIT_FRACTION
        self.near_haven = None
        if light is not None:
            near = near_haven(prob, rover, p)
            if near is not None and (ok & near).any():
                ok &= near
                self.near_haven = near.reshape(prob.ny, prob.nx)
        self.ok = ok.reshape(prob.ny, prob.nx)
        self.row0, self.col0 = prob.row0, prob.col0
        x, y = grid_of(dem)
        self.x = x[self.col0:self.col0 + prob.nx]
        self.y = y[self.row0:self.row0 + prob.ny]
        self.bad: set = set()

    def rc(self, xy):
        """(rows, cols) of the window's cells under the points ``xy`` ((n, 2) m; may lie outside the window)."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        c = np.rint((xy[:, 0] - self.x[0]) / (self.x[1] - self.x[0])).astype(int)
        r = np.rint((xy[:, 1] - self.y[0]) / (self.y[1] - self.y[0])).astype(int)
        return r, c

    def ok_xy(self, xy) -> np.ndarray:
        """(n,) bool: True where the cell under a point is one the rover may stop on (and not marked bad)."""
        r, c = self.rc(xy)
        inside = (r >= 0) & (r < self.ok.shape[0]) & (c >= 0) & (c < self.ok.shape[1])
        out = np.zeros(r.size, bool)
        out[inside] = self.ok[r[inside], c[inside]]
        for k in np.flatnonzero(out):
            if (int(r[k]), int(c[k])) in self.bad:
                out[k] = False
        return out

    def snap(self, xy, area=None) -> np.ndarray:
        """(n, 2) m: each point unchanged if its cell is fine, else the nearest fine cell centre.

        The nearest inside ``area`` when it is given.
        """
        xy = np.asarray(xy, float).reshape(-1, 2).copy()
        good = self.ok.copy()
        for r, c in self.bad:
            good[r, c] = False
        X, Y = np.meshgrid(self.x, self.y)
        if area is not None:
            good &= (X >= area.x_min - 1e-6) & (X <= area.x_max + 1e-6) & (Y >= area.y_min - 1e-6) & (Y <= area.y_max + 1e-6)
        if not good.any():
            raise InputError("no cell of the campaign area is passable and reachable from the landing site for the "
                             "rover planner; raise campaign.max_slope_deg or move the start")
        gx, gy = X[good], Y[good]
        fine = self.ok_xy(xy)
        for k in np.flatnonzero(~fine):
            j = int(np.argmin(np.hypot(gx - xy[k, 0], gy - xy[k, 1])))
            xy[k] = (gx[j], gy[j])
        return xy


def near_haven(prob, rover, p: CampaignParams):
    """(ncell,) bool: cells within ``haven_reach_h`` of static driving from a haven that survives every dark period.

    The havens are candidates of :func:`lupex.rover.havens.haven_index` that survive every dark period of the
    series with ``haven_margin_wh``; None when no candidate survives them all (the timeline then hops between
    havens in time, or reports itself infeasible).
    """
    idx = H.haven_index(prob, rover, margin_wh=p.haven_margin_wh)
    every = idx.worst_need_wh <= prob.dmax_j / 3600.0 - p.haven_margin_wh
    if not every.any():
        return None
    drive_h = idx.to_haven_ticks[every].min(axis=0) * prob.tick_s / 3600.0
    return drive_h <= p.haven_reach_h


def flat_light(dem, window) -> VisibilitySeries:
    """A one-step, all-lit VisibilitySeries over ``window`` (only the planner's slope tables are wanted)."""
    r0, r1, c0, c1 = window
    sh = (1, r1 - r0, c1 - c0)
    return VisibilitySeries(times=np.array(["2027-01-01T00:00:00"], "datetime64[ns]"), step_s=3600.0, row0=r0, col0=c0,
                            sun=np.full(sh, 255, np.uint8), earth=np.full(sh, 255, np.uint8),
                            sun_azimuth_deg=np.zeros(1), sun_elevation_deg=np.full(1, 1.0),
                            sun_distance_m=np.full(1, 1.496e11), earth_elevation_deg=np.full(1, 5.0))


def is_steep(screen: Screen | None, xy, p: CampaignParams) -> np.ndarray:
    """(n,) bool: True where a point is NOT a cell the rover planner accepts as a stop (see :class:`Screen`)."""
    if screen is None:
        return np.zeros(len(np.asarray(xy).reshape(-1, 2)), bool)
    return ~screen.ok_xy(xy)


def ice_prior(gt, p: CampaignParams) -> np.ndarray:
    """Bool map on the truth's grid: where the orbital prior says ice can be within the drill's reach.

    The depth to stable ice (the truth's ``stability_depth_m``, from the surface temperatures of the thermal
    model: 0 where the surface T_max is below 110 K, Paige et al. 2010, Science 330:479) no deeper than
    ``drill_depth_m``. Not the ice itself.
    """
    st_ = np.asarray(gt.dataset["stability_depth_m"].values, float)
    return np.isfinite(st_) & (st_ <= p.drill_depth_m)


def reach_fraction(gt, area: Area, p: CampaignParams) -> xr.DataArray:
    """The orbital prior as a map (0-1): the fraction of the drill column below the depth to stable ice.

    ``clip((D - stability_depth) / D, 0, 1)`` (0 where ice is nowhere stable), on the truth's grid over the
    area and a margin. It drives the WEH and ice-depth maps' means (``campaign.orbital_drift``) and weights the
    adaptive plan's risk objective (the share of a cell's column that can hold water).
    """
    ds = sel_area(gt.dataset, area, pad=4 * float(abs(gt.dataset.x[1] - gt.dataset.x[0])))
    st_ = np.asarray(ds["stability_depth_m"].values, float)
    D = p.drill_depth_m
    f = np.where(np.isfinite(st_), np.clip((D - st_) / D, 0.0, 1.0), 0.0)
    return xr.DataArray(f, coords={"y": ds["y"].values, "x": ds["x"].values}, dims=("y", "x"),
                        name="orbital_ice_reach_fraction")


def survey_centre(gt, dem, landed, p: CampaignParams, screen: Screen | None):
    """((x, y) m, prior share): the centre of the prospecting area and the prior-ice share of its square.

    The nearest cell to the landing site (within ``approach_max_m``, on a cell the rover planner accepts)
    whose ``area_half_m`` square holds at least ``PRIOR_SHARE`` of the best prior-ice share within reach;
    the landing site itself (share 0) when no prior ice is in reach.

    Parameters
    ----------
    gt : lupex.subsurface.ground_truth.GroundTruth
        Only its grid and ``stability_depth_m`` (m, the orbital prior, :func:`ice_prior`) are read.
    dem : xarray.DataArray or None
        The site DEM (x, y in m); candidates must lie within its cell centres. None: no such limit.
    landed : tuple of float
        The landing site (x, y), m.
    p : CampaignParams
        ``approach_max_m`` (m, farthest centre), ``area_half_m`` (m, the square's half side, rounded to whole
        cells) and ``drill_depth_m`` (m, the prior's reach).
    screen : Screen or None
        The cells the rover may stop on; None accepts every cell.

    Returns
    -------
    tuple
        ``((x, y), share)``: the centre (m, a truth cell centre) and the fraction 0-1 of its square's cells
        that are prior ice.
    """
    prior = ice_prior(gt, p).astype(float)
    x, y = grid_of(gt.dataset)
    px = abs(x[1] - x[0])
    n = 2 * int(round(p.area_half_m / px)) + 1
    share = ndimage.uniform_filter(prior, size=n, mode="constant")
    X, Y = np.meshgrid(x, y)
    dist = np.hypot(X - landed[0], Y - landed[1])
    cand = dist <= p.approach_max_m
    if screen is not None:
        cand &= screen.ok_xy(np.column_stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    if dem is not None:
        dx, dy = grid_of(dem)
        cand &= (X >= dx.min()) & (X <= dx.max()) & (Y >= dy.min()) & (Y <= dy.max())
    if not cand.any() or share[cand].max() <= 0:
        return (float(landed[0]), float(landed[1])), 0.0
    best = share[cand].max()
    ok = cand & (share >= PRIOR_SHARE * best)
    j = int(np.argmin(np.where(ok, dist, np.inf)))
    return (float(X.flat[j]), float(Y.flat[j])), float(share.flat[j])


def first_traverse_goal(truth, dem, landed_xy, params: CampaignParams | None = None, rover=None) -> tuple[float, float]:
    """(x, y) m: where the first traverse goes, from the orbital prior only.

    The centre of the campaign's prospecting area (:func:`survey_centre`: the nearest cell within
    ``approach_max_m`` whose ``area_half_m`` square holds at least 3/4 of the best prior-ice share in reach,
    on a cell the rover planner accepts and can reach from the landing site). The landing site itself when no
    prior ice is in reach (then :func:`lupex.mission.traverse.default_traverse` supplies the path).

    Parameters
    ----------
    truth : lupex.subsurface.ground_truth.GroundTruth
        Only its grid and orbital prior (``stability_depth_m``, m) are read, never its ice.
    dem : xarray.DataArray or None
        The site DEM (m); the rover planner's cells are screened on it by slope and reachability from the
        landing site (no light series). None: every cell within ``approach_max_m`` is a candidate.
    landed_xy : tuple of float, pandas.Series or SiteAnalysis
        The landing site: an (x, y) pair in m, a row with ``x_m``/``y_m``, or a site analysis (its best site).
    params : CampaignParams, optional
        The run's ``[campaign]`` table; default its defaults.
    rover : lupex.rover.vehicle.RoverParams, optional
        The vehicle the planner screens for; default its defaults.

    Returns
    -------
    tuple of float
        The goal (x, y), m.
    """
    p = params or CampaignParams()
    sx, sy = site_xy(landed_xy)
    screen = Screen(dem, None, (sx, sy), p, rover_cost(rover, p)[2]) if dem is not None else None
    centre, _ = survey_centre(truth, dem, (sx, sy), p, screen)
    return centre


def campaign_window(dem, start_xy, params: CampaignParams, margin_cells: int = 12):
    """(r0, r1, c0, c1): the DEM window whose light series a campaign's timeline needs.

    The landing site ``start_xy``, every area centre within ``approach_max_m`` of it and the area around that
    centre, plus ``margin_cells``.

    Parameters
    ----------
    dem : xarray.DataArray
        The site DEM (x, y in m), shape (ny, nx); ``start_xy`` must lie on it.
    start_xy : tuple of float
        The landing site (x, y), m.
    params : CampaignParams
        ``area_half_m`` + ``approach_max_m`` (m) set the window's half side, in whole cells (rounded up).
    margin_cells : int, optional
        Cells added on every side; default 12.

    Returns
    -------
    tuple of int
        ``(r0, r1, c0, c1)``: first row, row past the last, first column, column past the last of the window,
        clipped to the DEM's shape.
    """
    x, _ = grid_of(dem)
    px = abs(x[1] - x[0])
    r, c = P.cell_of(dem, start_xy, "campaign start")
    half = int(math.ceil((params.area_half_m + params.approach_max_m) / px))
    return corridor_window(dem.shape, [(r, c)], half + int(margin_cells))


def check_light(light, dem, area: Area) -> None:
    """Raise :class:`~lupex.errors.InputError` unless ``light`` (or None) is a series that covers the area."""
    if light is None:
        return
    if not all(hasattr(light, a) for a in ("sun", "earth", "times", "row0", "col0")):
        raise InputError("light must be a lupex.light.visibility.VisibilitySeries (see campaign_light) or None")
    for xy, what in (((area.x_min, area.y_min), "south-west"), ((area.x_max, area.y_max), "north-east")):
        r, c = P.cell_of(dem, xy, f"campaign area {what} corner")
        ny, nx = light.sun.shape[1:]
        if not (light.row0 <= r < light.row0 + ny and light.col0 <= c < light.col0 + nx):
            raise InputError(f"the light series' window does not cover the campaign area's {what} corner; compute it "
                             "over campaign_window(dem, start_xy, params)")
