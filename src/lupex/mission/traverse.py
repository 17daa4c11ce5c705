"""A rover traverse: its path geometry on the site grid, GeoJSON in and out, and the default plans.

The survey (:mod:`lupex.mission.survey`) drives a :class:`TraversePath` over the ground truth's
:class:`Grid`; :func:`path_from_geojson` and :func:`path_to_geojson` read and write it as a GeoJSON
LineString (planetocentric lon/lat on the lunar sphere, or the DEM's metres). Traverse planning never
reads the truth's ice (the survey is how the mission learns it): the first traverse's goal is the
nearest orbital prior-ice region (:func:`lupex.mission.campaign.screen.first_traverse_goal`, the campaign's
own area choice, on the cells the rover planner accepts), and a run drives there along the path of the real
rover planner (:mod:`lupex.rover.planner`);
:func:`default_traverse` is the fallback without a light series: straight (or dog-leg) legs toward the
same prior, ignoring slopes, light and comms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from pyproj import Transformer
from scipy import ndimage

from lupex.errors import InputError
from lupex.terrain.geo import dem_crs, geojson_crs_member, lunar_geographic_crs, xy_from_lonlat

__all__ = ["PRIOR_FIELDS", "Grid", "TraversePath", "TraversePlanner", "as_path", "cell_runs", "check_on_grid",
           "default_traverse", "orbital_prior_ice", "path_from_geojson", "path_to_geojson", "plan_traverse", "site_xy"]


# ----------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class TraversePath:
    """A polyline (m) with its cumulative along-track length, for lookups by distance along it."""

    xy: np.ndarray       # vertices without repeats
    cum_m: np.ndarray    # cumulative length at each vertex
    seg: np.ndarray      # segment vectors
    seg_len_m: np.ndarray

    @property
    def length_m(self) -> float:
        """Length of the path (m)."""
        return float(self.cum_m[-1])

    def at(self, s_m):
        """(x, y, heading grid azimuth deg) at along-track distances ``s_m``."""
        s = np.clip(np.asarray(s_m, float), 0.0, self.length_m)
        i = np.clip(np.searchsorted(self.cum_m, s, side="right") - 1, 0, len(self.seg_len_m) - 1)
        f = (s - self.cum_m[i]) / self.seg_len_m[i]
        xy = self.xy[i] + f[:, None] * self.seg[i]
        heading = np.degrees(np.arctan2(self.seg[i, 0], self.seg[i, 1])) % 360.0
        return xy[:, 0], xy[:, 1], heading


def as_path(path_xy) -> TraversePath:
    """The path of (n, 2) vertices (m) with repeated vertices dropped; InputError for fewer than two."""
    p = np.asarray(path_xy, float)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 2:
        raise InputError("the path must be an (n, 2) array of at least two (x, y) vertices in metres")
    if not np.all(np.isfinite(p)):
        raise InputError("the path contains NaN or infinite coordinates")
    seg = np.diff(p, axis=0)
    keep = np.r_[True, np.hypot(seg[:, 0], seg[:, 1]) > 1e-9]
    p = p[keep]
    if p.shape[0] < 2:
        raise InputError("the path has zero length: give at least two distinct vertices")
    seg = np.diff(p, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    return TraversePath(p, np.r_[0.0, np.cumsum(seg_len)], seg, seg_len)


@dataclass(frozen=True)
class Grid:
    """Cell centres (m) and signed steps of a DEM or ground-truth grid, with bounds and cell lookup."""

    x: np.ndarray
    y: np.ndarray
    dx: float
    dy: float

    @classmethod
    def of(cls, da) -> Grid:
        """The grid of a gridded DataArray or Dataset (x/y coordinates in m, at least 2 x 2 cells)."""
        x = np.asarray(da["x"].values, float)
        y = np.asarray(da["y"].values, float)
        if x.size < 2 or y.size < 2:
            raise InputError("the ground truth grid must have at least 2 x 2 cells")
        return cls(x, y, float(x[1] - x[0]), float(y[1] - y[0]))

    def bounds(self):
        """(x0, x1, y0, y1) m: the outer edges of the grid's cells."""
        hx, hy = abs(self.dx) / 2, abs(self.dy) / 2
        return self.x.min() - hx, self.x.max() + hx, self.y.min() - hy, self.y.max() + hy

    def contains(self, x, y):
        """Bool array: True where (x, y) (m) lies on the grid's cells, edges included."""
        x0, x1, y0, y1 = self.bounds()
        x, y = np.asarray(x, float), np.asarray(y, float)
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)

    def index(self, x, y):
        """(iy, ix): the row and column of the cell nearest each (x, y) (m), clipped to the grid."""
        ix = np.clip(np.round((np.asarray(x, float) - self.x[0]) / self.dx).astype(np.int64), 0, self.x.size - 1)
        iy = np.clip(np.round((np.asarray(y, float) - self.y[0]) / self.dy).astype(np.int64), 0, self.y.size - 1)
        return iy, ix


def check_on_grid(path: np.ndarray, grid: Grid, what: str = "path") -> None:
    """InputError naming the first vertex of ``path`` (n, 2; m) that lies off ``grid``."""
    inside = grid.contains(path[:, 0], path[:, 1])
    if not inside.all():
        k = int(np.flatnonzero(~inside)[0])
        x0, x1, y0, y1 = grid.bounds()
        raise InputError(f"{what} vertex {k} at ({path[k, 0]:.1f}, {path[k, 1]:.1f}) m is off the DEM "
                         f"(x {x0:.1f}..{x1:.1f}, y {y0:.1f}..{y1:.1f} m); move it inside the site")


def cell_runs(path: TraversePath, grid: Grid):
    """Along-track edges (m) where the path enters a new grid cell, and the cell (iy, ix) of each run."""
    cuts = [path.cum_m]
    for j in range(len(path.seg_len_m)):
        a, d = path.xy[j], path.seg[j]
        for coord, centres, step in ((0, grid.x, grid.dx), (1, grid.y, grid.dy)):
            if abs(d[coord]) < 1e-12:
                continue
            b = centres[:-1] + step / 2            # cell boundaries between centres
            f = (b - a[coord]) / d[coord]
            f = f[(f > 0) & (f < 1)]
            cuts.append(path.cum_m[j] + f * path.seg_len_m[j])
    s = np.unique(np.concatenate(cuts))
    s = s[np.r_[True, np.diff(s) > 1e-9]]
    s[-1] = path.length_m
    mid = 0.5 * (s[:-1] + s[1:])
    x, y, _ = path.at(mid)
    iy, ix = grid.index(x, y)
    change = np.r_[True, (np.diff(iy) != 0) | (np.diff(ix) != 0)]
    edges = np.r_[s[:-1][change], s[-1]]
    return edges, iy[change], ix[change]


# ----------------------------------------------------------------------------- paths


def path_from_geojson(path, dem) -> np.ndarray:
    """Vertices (n, 2) in metres of the DEM's CRS from a GeoJSON LineString.

    Accepts a LineString geometry, a Feature holding one, or a FeatureCollection whose
    first LineString is taken. Coordinates are planetocentric lon/lat in degrees on the
    lunar sphere or projected metres in the DEM's CRS: a ``crs`` member naming a
    projected CRS (old GeoJSON style) decides; otherwise lon/lat (GeoJSON's convention) is
    taken when every vertex is a valid lon/lat landing on the DEM, metres when only the
    metres reading lands on it. A pole-centred DEM spans small metre values, so a lon/lat
    path there may also read as metres: lon/lat wins; add the ``crs`` member
    ``{"type": "name", "properties": {"name": "IAU_2015:30135"}}`` to force metres.
    A vertex off the DEM raises :class:`InputError` naming it.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"traverse file {p} does not exist; check the path given to --path")
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p} is not valid GeoJSON ({exc}); give a LineString of lon/lat or x/y vertices") from exc
    coords, crs_name = _linestring(obj, p)
    try:
        c = np.asarray(coords, float)
    except (TypeError, ValueError):
        raise InputError(f"{p}: LineString coordinates must be numbers [x, y] or [lon, lat]") from None
    if c.ndim != 2 or c.shape[0] < 2 or c.shape[1] < 2:
        raise InputError(f"{p}: a LineString needs at least two [x, y] or [lon, lat] vertices")
    c = c[:, :2]
    if not np.all(np.isfinite(c)):
        raise InputError(f"{p}: the LineString has NaN or infinite coordinates")
    grid = Grid.of(dem)
    if crs_name is not None:
        projected = "4326" not in crs_name and "CRS84" not in crs_name.upper() and "30100" not in crs_name
        xy = c if projected else np.column_stack(_lonlat_to_xy(dem, c))
        check_on_grid(xy, grid)
        return xy
    looks_lonlat = bool(np.all(np.abs(c[:, 0]) <= 360) and np.all(np.abs(c[:, 1]) <= 90))
    raw_ok = bool(grid.contains(c[:, 0], c[:, 1]).all())
    if looks_lonlat:
        xy = np.column_stack(_lonlat_to_xy(dem, c))
        ll_ok = bool(grid.contains(xy[:, 0], xy[:, 1]).all())
        if ll_ok:          # GeoJSON's own convention wins when both readings fit (RFC 7946: lon/lat)
            return xy
        if raw_ok:
            return c.copy()
        check_on_grid(xy, grid)
        return xy
    check_on_grid(c, grid)
    return c.copy()


def _lonlat_to_xy(dem, c):
    return xy_from_lonlat(dem, c[:, 0], c[:, 1])


def _linestring(obj, p):
    crs = None
    if isinstance(obj, dict) and isinstance(obj.get("crs"), dict):
        crs = str(obj["crs"].get("properties", {}).get("name", "")) or None
    geoms = []
    if isinstance(obj, dict):
        t = obj.get("type")
        if t == "FeatureCollection":
            geoms = [f.get("geometry") for f in obj.get("features", []) if isinstance(f, dict)]
        elif t == "Feature":
            geoms = [obj.get("geometry")]
        else:
            geoms = [obj]
    for g in geoms:
        if isinstance(g, dict) and g.get("type") == "LineString":
            return g.get("coordinates"), crs
    kinds = sorted({str(g.get("type")) for g in geoms if isinstance(g, dict)})
    raise InputError(f"{p} holds no LineString (found {', '.join(kinds) or 'nothing'}); the traverse must be a "
                     "GeoJSON LineString")


def path_to_geojson(path_xy, dem) -> dict:
    """A GeoJSON Feature (lon/lat on the lunar sphere) of a path given in the DEM's metres."""
    crs = dem_crs(dem)
    tr = Transformer.from_crs(crs, lunar_geographic_crs(crs), always_xy=True)
    p = np.asarray(path_xy, float)
    lon, lat = tr.transform(p[:, 0], p[:, 1])
    auth = lunar_geographic_crs(crs).to_authority()
    out = {"type": "Feature", "properties": {"name": "traverse"},
           "geometry": {"type": "LineString", "coordinates": [[float(a), float(b)] for a, b in zip(lon, lat)]}}
    if auth:
        out["crs"] = geojson_crs_member(":".join(auth))
    return out


# ----------------------------------------------------------------------------- planning

TraversePlanner = Callable[..., np.ndarray]

#: the fields of a ground truth a mission knows before it measures (the orbital prior and the site's
#: regolith model); every other field (ice table, WEH, rocks) is learnt only along the rover's path
PRIOR_FIELDS = ("stability_depth_m", "t_max_surface_k", "t_mean_surface_k", "feo_tio2_wt_pct", "dry_weh_wt_pct")


def orbital_prior_ice(truth, ice_max_depth_m: float) -> np.ndarray:
    """Boolean map (the truth's grid): where the orbital prior lets ice be stable within ``ice_max_depth_m``.

    The depth to stable ice of the thermal model (Paige et al. 2010); not the ice itself.
    """
    st_ = np.asarray(truth.dataset["stability_depth_m"].values, float)
    return np.isfinite(st_) & (st_ <= ice_max_depth_m)


def default_traverse(site, truth, *, min_length_m: float = 300.0, max_length_m: float = 1000.0,
                     ice_max_depth_m: float = 1.0, area_radius_m: float = 30.0, edge_margin_m: float = 20.0
                     ) -> np.ndarray:
    """A straight or dog-leg path from the landing site toward the nearest orbital prior-ice area.

    The fallback where no light series is at hand (it ignores slopes, light and comms); a run drives the
    rover planner's path to :func:`lupex.mission.campaign.screen.first_traverse_goal` instead. It reads
    only the orbital prior: prior-ice cells are those where ice can be stable within ``ice_max_depth_m``
    (:func:`orbital_prior_ice`), never the truth's ice table;
    an *area* is where at least half the cells within ``area_radius_m`` are prior-ice cells.
    The path heads straight for the nearest such cell and runs ``area_radius_m`` past it, at least
    ``min_length_m`` and at most ``max_length_m`` long and kept ``edge_margin_m`` inside the grid; if the
    straight line cannot reach ``min_length_m`` inside the grid, a second leg at right angles (toward the
    larger room) makes up the rest: a dog-leg. The first leg's length is ``clip(max(d + area_radius_m, min_length_m), min_length_m, max_length_m)``,
    with d the distance to the nearest area cell, shortened to the room left inside the grid.
    Without any prior-ice cell the path heads for the cell of lowest peak surface temperature.

    Parameters
    ----------
    site : tuple of float, pandas.Series or SiteAnalysis
        The landing site: an (x, y) pair in metres (the truth's CRS), a row with ``x_m``/``y_m``, or a site
        analysis (its best-ranked site); it must lie ``edge_margin_m`` inside the grid.
    truth : lupex.subsurface.ground_truth.GroundTruth
        Only its grid and orbital-prior fields are read: ``stability_depth_m`` (m) and ``t_max_surface_k`` (K).
    min_length_m : float, optional
        Shortest path, m (both legs together, room permitting); default 300 m.
    max_length_m : float, optional
        Longest first leg, m; default 1000 m.
    ice_max_depth_m : float, optional
        A cell is prior ice where the thermal model's depth to stable ice is at most this, m; a run passes
        ``drill.max_depth_m``. Default 1 m.
    area_radius_m : float, optional
        Radius of the disk (m) over which at least half the cells must be prior ice for an area; also how
        far past the nearest area cell the first leg runs. Default 30 m.
    edge_margin_m : float, optional
        Distance the path keeps inside the grid's outer edges, m; default 20 m.

    Returns
    -------
    numpy.ndarray
        The path's vertices (x, y), m, shape (2, 2) for a straight path or (3, 2) for a dog-leg.

    Raises
    ------
    lupex.errors.InputError
        When the site lies outside the grid less ``edge_margin_m``, or there is no room for a path.
    """
    sx, sy = site_xy(site)
    grid = Grid.of(truth.dataset)
    ds = truth.dataset
    table = ds["stability_depth_m"].values
    ice = orbital_prior_ice(truth, ice_max_depth_m)
    r_px = max(1, int(round(area_radius_m / abs(grid.dx))))
    yy, xx = np.mgrid[-r_px:r_px + 1, -r_px:r_px + 1]
    disk = (xx**2 + yy**2 <= r_px**2).astype(float)
    frac = ndimage.convolve(ice.astype(float), disk / disk.sum(), mode="constant")
    area = ice & (frac >= 0.5)
    if not area.any():
        area = ice
    x0, x1, y0, y1 = grid.bounds()
    x0, x1, y0, y1 = x0 + edge_margin_m, x1 - edge_margin_m, y0 + edge_margin_m, y1 - edge_margin_m
    if not (x0 <= sx <= x1 and y0 <= sy <= y1):
        raise InputError(f"landing site ({sx:.1f}, {sy:.1f}) m is not inside the ground truth grid "
                         f"(less {edge_margin_m:g} m margin)")
    if area.any():
        iy, ix = np.nonzero(area)
        d = np.hypot(grid.x[ix] - sx, grid.y[iy] - sy)
        k = int(np.argmin(d))
        tx, ty = grid.x[ix[k]], grid.y[iy[k]]
    else:   # no prior ice at all: head for the coldest ground
        k = np.unravel_index(int(np.argmin(ds["t_max_surface_k"].values)), table.shape)
        tx, ty = grid.x[k[1]], grid.y[k[0]]
    dvec = np.array([tx - sx, ty - sy])
    dist = float(np.hypot(*dvec))
    u = dvec / dist if dist > 1e-9 else np.array([0.0, 1.0])
    room = _room(sx, sy, u, (x0, x1, y0, y1))
    want = float(np.clip(max(dist + area_radius_m, min_length_m), min_length_m, max_length_m))
    leg1 = min(want, room)
    pts = [(sx, sy), (sx + leg1 * u[0], sy + leg1 * u[1])]
    if leg1 < min_length_m - 1e-6:
        ex, ey = pts[-1]
        best = None
        for v in (np.array([u[1], -u[0]]), np.array([-u[1], u[0]])):
            r = _room(ex, ey, v, (x0, x1, y0, y1))
            if best is None or r > best[0]:
                best = (r, v)
        leg2 = min(min_length_m - leg1, best[0])
        if leg2 > 1e-6:
            pts.append((ex + leg2 * best[1][0], ey + leg2 * best[1][1]))
    out = np.array(pts, float)
    if np.hypot(*(out[-1] - out[0])) < 1e-6:
        raise InputError("no room for a traverse inside the ground truth grid; use a larger site")
    return out


def site_xy(site) -> tuple[float, float]:
    """(x, y) m of a site: an (x, y) pair, a row with ``x_m``/``y_m``, or a site analysis (its best-ranked site)."""
    if hasattr(site, "sites"):
        s = site.sites
        if not len(s):
            raise InputError("the site analysis found no landing site to start a traverse from")
        return float(s.iloc[0]["x_m"]), float(s.iloc[0]["y_m"])
    if hasattr(site, "__getitem__") and not isinstance(site, (tuple, list, np.ndarray)):
        try:
            return float(site["x_m"]), float(site["y_m"])
        except (KeyError, TypeError, IndexError):
            pass
    a = np.asarray(site, float).ravel()
    if a.size != 2 or not np.all(np.isfinite(a)):
        raise InputError("site must be an (x_m, y_m) pair in metres, a row with x_m and y_m, or a site analysis")
    return float(a[0]), float(a[1])


def _room(x, y, v, box):
    """Distance from (x, y) along unit vector v to the box edge."""
    x0, x1, y0, y1 = box
    t = np.inf
    for c, d, lo, hi in ((x, v[0], x0, x1), (y, v[1], y0, y1)):
        if d > 1e-12:
            t = min(t, (hi - c) / d)
        elif d < -1e-12:
            t = min(t, (lo - c) / d)
    return float(max(t, 0.0))


def plan_traverse(site, truth, planner: TraversePlanner | None = None, **kw) -> np.ndarray:
    """The traverse a run surveys: ``planner(site, truth, **kw)`` (default :func:`default_traverse`)."""
    return np.asarray((planner or default_traverse)(site, truth, **kw), float)
