"""lupex's light model against published illumination studies of the real south pole.

Each function recomputes one published number on real LOLA terrain with that
study's own period, observer height and definition of "lit", and returns
lupex's value beside the published one (docs/VALIDATION.md keeps the rows;
``python -m lupex.light.published`` prints them at full resolution, the tests
run cheaper versions). Sources (entries of the project's reference list):

* Gläser et al. 2014 (docs/REFERENCES.md#glaser2014): connecting ridge, 19 years covering the
  precession cycle, best points 92.27 % at 2 m and 95.65 % at 10 m above
  ground; longest darkness there typically 3-5 days. Illumination is the
  visible fraction of the solar disk (``illumination_pct``).
* Gläser et al. 2018 (docs/REFERENCES.md#glaser2018): hourly 2017-01-01 to 2037-01-01; the south
  sites' averages at 2 m reach 88.0 % on the connecting ridge.
* Bussey et al. 2010 (docs/REFERENCES.md#bussey2010): Kaguya topography, 2020; the most
  illuminated place, 86 % of the year, near Shackleton's rim at 88.74 S
  124.5 E. Lit = any part of the Sun (``sunlit_time_pct``) and disk-fraction
  both reported.
* Gläser et al. 2018 at the surface: the six sites of both poles average 69.5-82.9 % at 0 m, the
  highest on Whipple's rim in the north, so the south ridge's surface value lies in [69.5, 82.9) %
  (the per-site value is in the paper's table, which we could not read; the abstract gives the range).
* Mazarico et al. 2011 (docs/REFERENCES.md#mazarico2011): 240 m LOLA DEMs; permanently shadowed
  area 16,055 km^2 in the south (illumination computed poleward of 80 S). Their table of named
  highly lit points could not be read (only the abstract is at hand); public code that cites the
  paper quotes its south "Point 001" at 89.45 S 222.69 E with 89.0 % average illumination at the
  surface (docs/REFERENCES.md#mazarico2011-point001, second-hand and unverified).

Horizons: the site DEM's sweep (:mod:`lupex.light.horizon`) raised by the far
field of the regional DEM where one is given, or a ray march on the 240 m cap
for points off the site DEM.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lupex import ephemeris as eph
from lupex.light.farfield import horizons_with_far_field
from lupex.light.illumination import _bruteforce_columns, _nearest_cells, compute_light, light_statistics, point_series
from lupex.light.points import point_statistics
from lupex.terrain.geo import lonlat_from_xy, xy_from_lonlat
from lupex.terrain.io import read_dem

__all__ = ["Comparison", "bussey2010_best_point", "mazarico2011_point", "mazarico2011_psr_area"]

BUSSEY2010_POINT = (-88.74, 124.5)  # lat, lon (deg, planetocentric east)
BUSSEY2010_PCT = 86.0
MAZARICO2011_PSR_SOUTH_KM2 = 16_055.0
GLASER2014_2M_PCT = 92.27
GLASER2014_10M_PCT = 95.65
GLASER2014_DARK_DAYS = (3.0, 5.0)
GLASER2018_2M_RIDGE_PCT = 88.0
GLASER2018_SURFACE_RANGE_PCT = (69.5, 82.9)  # all six sites at 0 m; the top one is in the north
MAZARICO2011_POINT = (-89.45, 222.69)  # lat, lon (deg); second-hand, see the module docstring
MAZARICO2011_POINT_PCT = 89.0


@dataclass(frozen=True)
class Comparison:
    """One published number and lupex's, with where and how lupex computed it."""

    name: str
    published: float
    ours: float
    unit: str
    detail: str

    @property
    def difference(self) -> float:
        """Our value minus the published one, in ``unit``."""
        return self.ours - self.published


def _times(start: str, stop: str, step_h: float) -> np.ndarray:
    return eph.time_grid(np.datetime64(start), np.datetime64(stop), step_h)


def bussey2010_best_point(cap, *, radius_m: float = 4000.0, step_h: float = 1.0, n_azimuths: int = 360,
                          step_px: float = 0.5) -> tuple[Comparison, dict]:
    """The most illuminated cell of the 240 m cap within ``radius_m`` of Bussey et al. 2010's best point.

    Over 2020 at the surface; horizons by ray march on the cap (it reaches >= 146 km beyond the point).

    Parameters
    ----------
    cap : xr.DataArray
        The 240 m LDEM_75S polar cap, heights in m.
    radius_m : float
        Search radius around the published point, m.
    step_h : float
        Time step, h.
    n_azimuths : int
        Horizon azimuths over 360 deg.
    step_px : float
        Ray-march step, px.
    """
    lat0, lon0 = BUSSEY2010_POINT
    bx, by = (float(v) for v in xy_from_lonlat(cap, lon0, lat0))
    xs, ys = cap["x"].values, cap["y"].values
    X, Y = np.meshgrid(xs, ys)
    rows, cols = np.nonzero(np.hypot(X - bx, Y - by) <= radius_m)
    h = _bruteforce_columns(cap, rows, cols, n_azimuths, 0.0, step_px=step_px)
    pts = np.column_stack([xs[cols], ys[rows]])
    df = point_statistics(cap, pts, _times("2020-01-01T00:00:00", "2021-01-01T00:00:00", step_h), horizon_columns=h)
    i = int(df["illumination_pct"].idxmax())
    lon, lat = (float(v) for v in lonlat_from_xy(cap, *pts[i]))
    at = df.loc[i]
    c = Comparison("Bussey et al. 2010: most illuminated point, 2020, surface", BUSSEY2010_PCT,
                   float(at["illumination_pct"]), "%",
                   f"{lat:.3f} S {lon % 360:.2f} E, {np.hypot(pts[i, 0] - bx, pts[i, 1] - by) / 1e3:.1f} km "
                   f"from the published point; sunlit (any part) {at['sunlit_time_pct']:.1f} %, longest darkness "
                   f"{at['longest_darkness_h']:.0f} h; 240 m LOLA cap, {n_azimuths} azimuths, {step_h:g} h steps")
    at_point = point_statistics(cap, np.array([[bx, by]]), _times("2020-01-01T00:00:00", "2021-01-01T00:00:00",
                                                                   step_h), n_azimuths=n_azimuths).iloc[0]
    return c, {"best": at.to_dict(), "at_published_point": at_point.to_dict()}


def mazarico2011_psr_area(light_stats, *, max_radius_m: float | None = None) -> tuple[Comparison, dict]:
    """Permanently shadowed area (km^2) of a light-statistics map of the cap, against Mazarico et al. 2011.

    The area counts within ``max_radius_m`` of the pole (default: the cap's inscribed circle); Mazarico et al.
    2011 give the south total (80-90 S).
    """
    psr = np.asarray(light_stats["permanent_shadow"].values, bool)
    xs, ys = light_stats["x"].values, light_stats["y"].values
    px = abs(float(xs[1] - xs[0]))
    X, Y = np.meshgrid(xs, ys)
    rho = np.hypot(X, Y)
    r_max = float(max_radius_m or min(abs(xs).max(), abs(ys).max()))
    inside = rho <= r_max
    area = float(psr[inside].sum()) * (px / 1e3) ** 2
    lat_edge = 90.0 - np.degrees(r_max / eph.MOON_RADIUS_M)
    span = f"{light_stats.attrs.get('start_utc', '?')} to {light_stats.attrs.get('end_utc', '?')}"
    c = Comparison("Mazarico et al. 2011: south permanently shadowed area", MAZARICO2011_PSR_SOUTH_KM2, area, "km^2",
                   f"ours poleward of {lat_edge:.1f} S only (the cap's inscribed circle, {r_max / 1e3:.0f} km), "
                   f"never lit over {span}; theirs poleward of 80 S")
    return c, {"lat_edge_deg": lat_edge, "radius_m": r_max}


def mazarico2011_point(cap, site=None, site_cube=None, *, start: str = "2017-01-01T00:00:00",
                       stop: str = "2037-01-01T00:00:00", step_h: float = 1.0, n_azimuths: int = 360,
                       step_px: float = 0.5) -> tuple[Comparison, dict]:
    """Mean visible fraction of the solar disk (%) at the surface at Mazarico et al. 2011's south "Point 001".

    The location and value are second-hand (see the module docstring). Computed on the 240 m cap as they used it
    (ray march on the cap, which reaches >= 150 km around the point), over ``start``..``stop`` (default a whole
    18.6-year precession cycle, as the paper's own period is not at hand; a full cycle's mean barely depends on
    where it starts). With ``site``/``site_cube`` (a site DEM and its 0 m horizons, e.g. with the far field) the
    same coordinates are also read on the finer DEM.

    Parameters
    ----------
    cap : xr.DataArray
        The 240 m LDEM_75S polar cap, heights in m.
    site : xr.DataArray, optional
        A finer site DEM on which the point is also read.
    site_cube : np.ndarray, optional
        (n_az, ny, nx) 0 m horizons of ``site``, deg.
    start, stop : str
        UTC span (ISO).
    step_h : float
        Time step, h.
    n_azimuths : int
        Horizon azimuths over 360 deg.
    step_px : float
        Ray-march step, px.
    """
    lat0, lon0 = MAZARICO2011_POINT
    times = _times(start, stop, step_h)
    xy = np.array([[float(v) for v in xy_from_lonlat(cap, lon0, lat0)]])
    rows, cols = _nearest_cells(cap, xy)
    h = _bruteforce_columns(cap, rows, cols, n_azimuths, 0.0, step_px=step_px)
    at = point_statistics(cap, xy, times, horizon_columns=h).iloc[0]
    extra = {"cap": at.to_dict()}
    note = ""
    if site is not None and site_cube is not None:
        sxy = np.array([[float(v) for v in xy_from_lonlat(site, lon0, lat0)]])
        fine = point_statistics(site, sxy, times, horizon_cube=site_cube).iloc[0]
        extra["site"] = fine.to_dict()
        note = f"; the same coordinates on the site DEM read {fine['illumination_pct']:.1f} %"
    c = Comparison("Mazarico et al. 2011: south Point 001 (second-hand), surface", MAZARICO2011_POINT_PCT,
                   float(at["illumination_pct"]), "%",
                   f"{-lat0:.2f} S {lon0:.2f} E at 0 m on the 240 m LOLA cap, {start[:10]}..{stop[:10]}, "
                   f"{step_h:g} h steps, {n_azimuths} azimuths; sunlit (any part) {at['sunlit_time_pct']:.1f} %, "
                   f"longest darkness {at['longest_darkness_h']:.0f} h{note}")
    return c, extra


def bussey2010_best_pair(dem_map, stats, cap, *, candidates: int = 30, max_separation_m: float = 10_000.0,
                         step_h: float = 1.0, n_azimuths: int = 360, step_px: float = 0.5) -> tuple[Comparison, dict]:
    """Together-lit time (%) of the best pair of points under ``max_separation_m`` apart, against Bussey et al. 2010.

    The pair is the one lit together (any part of the Sun at one of them) the longest over 2020; Bussey et al.
    2010 give 94 %.

    Candidates are the ``candidates`` most illuminated cells of ``stats`` (a light-statistics map of ``dem_map``,
    e.g. the cap or a crop of it), at least 1 km apart; their series come from a ray march on ``cap``.

    Parameters
    ----------
    dem_map : xr.DataArray
        The DEM of ``stats``.
    stats : xr.Dataset
        Light statistics of ``dem_map``.
    cap : xr.DataArray
        The 240 m polar cap the candidates' series are ray-marched on.
    candidates : int
        Number of most illuminated cells tried.
    max_separation_m : float
        Largest distance between the two points, m.
    step_h : float
        Time step, h.
    n_azimuths : int
        Horizon azimuths over 360 deg.
    step_px : float
        Ray-march step, px.
    """
    pts = best_cells(dem_map, stats, count=candidates, min_separation_m=1000.0, key="sunlit_time_pct")
    rows, cols = _nearest_cells(cap, pts)
    h = _bruteforce_columns(cap, rows, cols, n_azimuths, 0.0, step_px=step_px)
    s = point_series(cap, None, pts, _times("2020-01-01T00:00:00", "2021-01-01T00:00:00", step_h),
                     horizon_columns=h)
    lit = s["sun_fraction"].values > 0.0  # (point, time)
    best = (-1.0, 0, 0)
    for i in range(len(pts)):
        for j in range(i + 1, len(pts)):
            if np.hypot(*(pts[i] - pts[j])) < max_separation_m:
                both = 100.0 * float((lit[i] | lit[j]).mean())
                if both > best[0]:
                    best = (both, i, j)
    pct, i, j = best
    lon, lat = lonlat_from_xy(cap, pts[[i, j], 0], pts[[i, j], 1])
    where = [f"{lat[n]:.3f} S {lon[n] % 360:.2f} E ({100 * lit[k].mean():.1f} % alone)" for n, k in enumerate((i, j))]
    c = Comparison("Bussey et al. 2010: two points < 10 km apart, together lit in 2020", 94.0, pct, "%",
                   f"{where[0]} and {where[1]}, {np.hypot(*(pts[i] - pts[j])) / 1e3:.1f} km apart; any part of the Sun at "
                   f"either; best of {len(pts)} candidates, 240 m LOLA cap, {n_azimuths} azimuths, {step_h:g} h steps")
    return c, {"points": [pts[i].tolist(), pts[j].tolist()]}


def best_cells(dem, stats, *, count: int = 5, min_separation_m: float = 200.0, edge_margin_m: float = 0.0,
               key: str = "illumination_pct") -> np.ndarray:
    """Grid (x, y) in metres of the ``count`` most lit cells of a statistics map.

    They are at least ``min_separation_m`` apart and ``edge_margin_m`` inside the DEM.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM of ``stats``.
    stats : xr.Dataset
        Light statistics of ``dem``.
    count : int
        Number of cells.
    min_separation_m : float
        Smallest distance between two chosen cells, m.
    edge_margin_m : float
        Smallest distance from the DEM's edge, m.
    key : str
        The statistic to rank by.
    """
    v = np.asarray(stats[key].values, float).copy()
    xs, ys = dem["x"].values, dem["y"].values
    if edge_margin_m > 0:
        X, Y = np.meshgrid(xs, ys)
        v[(X - xs.min() < edge_margin_m) | (xs.max() - X < edge_margin_m)
          | (Y - ys.min() < edge_margin_m) | (ys.max() - Y < edge_margin_m)] = -1.0
    out: list[tuple[float, float]] = []
    for k in np.argsort(np.nan_to_num(v, nan=-1.0).ravel())[::-1]:
        r, c = divmod(int(k), v.shape[1])
        p = (float(xs[c]), float(ys[r]))
        if all(np.hypot(p[0] - q[0], p[1] - q[1]) >= min_separation_m for q in out):
            out.append(p)
        if len(out) == count:
            break
    return np.array(out)


def glaser_ridge(dem, cube, observer_height_m: float, *, published: float, name: str, start: str, stop: str,
                 map_step_h: float = 1.0, series_step_h: float = 1.0, count: int = 5,
                 edge_margin_m: float = 2000.0) -> tuple[Comparison, dict]:
    """The best point of the connecting ridge, followed over ``start``..``stop`` at ``observer_height_m``.

    The point is the most lit of ``count`` candidates from a one-year map (Gläser et al. 2014's
    2018-10-22..2019-10-22).

    ``cube`` (n_az, ny, nx), deg: the site's horizons at that observer height (with the far field when the
    comparison is to include it).

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM (Site01), heights in m.
    cube : np.ndarray
        (n_az, ny, nx) horizons of ``dem`` at ``observer_height_m``, deg.
    observer_height_m : float
        Eye height above the ground, m.
    published : float
        The published value, %.
    name : str
        The comparison's name.
    start, stop : str
        UTC span of the series (ISO).
    map_step_h : float
        Time step of the one-year map, h.
    series_step_h : float
        Time step of the point's series, h.
    count : int
        Number of candidates from the map.
    edge_margin_m : float
        Smallest distance of a candidate from the DEM's edge, m.
    """
    year = _times("2018-10-22T00:00:00", "2019-10-22T00:00:00", map_step_h)
    stats = light_statistics(dem, cube, year)
    pts = best_cells(dem, stats, count=count, edge_margin_m=edge_margin_m)
    df = point_statistics(dem, pts, _times(start, stop, series_step_h), horizon_cube=cube)
    i = int(df["illumination_pct"].idxmax())
    at = df.loc[i]
    lon, lat = (float(v) for v in lonlat_from_xy(dem, *pts[i]))
    c = Comparison(name, published, float(at["illumination_pct"]), "%",
                   f"{-lat:.3f} S {lon % 360:.2f} E at {observer_height_m:g} m, {start[:10]}..{stop[:10]}, "
                   f"{series_step_h:g} h steps; sunlit (any part) {at['sunlit_time_pct']:.2f} %, longest darkness "
                   f"{at['longest_darkness_h']:.0f} h, Earth {at['earth_visible_pct']:.1f} %")
    return c, {"best": at.to_dict(), "candidates": df, "map_best_pct": float(np.nanmax(stats["illumination_pct"]))}


def main(data_dir: str) -> list[Comparison]:  # pragma: no cover - the full-resolution run behind docs/VALIDATION.md
    """Every comparison at full settings on the LOLA files in ``data_dir`` (see shared/data/README.md).

    Prints a Markdown table. About 10 minutes on two cores.
    """
    d = Path(data_dir)
    cap = read_dem(d / "lola_ldem75s_southpole_240m.tif")
    rows: list[Comparison] = []
    t0 = time.perf_counter()
    rows.append(bussey2010_best_point(cap)[0])
    year = _times("2020-01-01T00:00:00", "2021-01-01T00:00:00", 1.0)
    cap_stats, _ = compute_light(cap, year, n_azimuths=360, observer_height_m=0.0, memory_limit_bytes=8 * 2**30)
    rows.append(bussey2010_best_pair(cap, cap_stats, cap, candidates=40)[0])
    rows.append(mazarico2011_psr_area(cap_stats)[0])
    rows.extend(glaser_rows(d, cap))
    print(f"| comparison | published | lupex | difference | where, how |  ({time.perf_counter() - t0:.0f} s)")
    print("|---|---|---|---|---|")
    for c in rows:
        print(f"| {c.name} | {c.published:g} {c.unit} | {c.ours:.2f} {c.unit} | {c.difference:+.2f} | {c.detail} |")
    return rows


def glaser_rows(d, cap, *, n_azimuths: int = 360, far_field: bool = True) -> list[Comparison]:
    """Comparisons with Gläser et al. 2014 and 2018 on Site01 at 20 m, and Mazarico et al. 2011's Point 001.

    Gläser et al. 2014: 2 m, 10 m, 19 years; 2018: 0 m, 2 m, 2017-2037. Point 001 is read on the cap and on
    Site01.

    Parameters
    ----------
    d : Path
        Directory of the LOLA files.
    cap : xr.DataArray
        The 240 m polar cap, heights in m.
    n_azimuths : int
        Horizon azimuths over 360 deg.
    far_field : bool
        Raise the site's horizons by the cap's far field.
    """
    site = read_dem(d / "lola_site01_connecting_ridge_20m.tif")
    cube0 = site_horizons(site, [cap] if far_field else [], 0.0, n_azimuths)
    lo, hi = GLASER2018_SURFACE_RANGE_PCT
    name = f"Gläser et al. 2018: connecting ridge at the surface, 2017-2037 (all sites {lo:g}-{hi:g} %)"
    out = [glaser_ridge(site, cube0, 0.0, published=hi, start="2017-01-01T00:00:00", stop="2037-01-01T00:00:00",
                        name=name)[0],
           mazarico2011_point(cap, site, cube0)[0]]
    del cube0
    for h, pub, label in ((2.0, GLASER2014_2M_PCT, "2 m"), (10.0, GLASER2014_10M_PCT, "10 m")):
        cube = site_horizons(site, [cap] if far_field else [], h, n_azimuths)
        out.append(glaser_ridge(site, cube, h, published=pub, start="2018-10-22T00:00:00", stop="2037-10-22T00:00:00",
                                name=f"Gläser et al. 2014: connecting ridge best point, {label}, 19 years")[0])
        if h == 2.0:
            out.append(glaser_ridge(site, cube, h, published=GLASER2018_2M_RIDGE_PCT, start="2017-01-01T00:00:00",
                                    stop="2037-01-01T00:00:00",
                                    name="Gläser et al. 2018: connecting ridge at 2 m, 2017-2037")[0])
    return out


def site_horizons(site, far_field, observer_height_m: float, n_azimuths: int = 360) -> np.ndarray:
    """The site DEM's horizon cube (deg) at ``observer_height_m``, raised by the far field of ``far_field`` DEMs.

    Parameters
    ----------
    site : xr.DataArray
        The site DEM, heights in m.
    far_field : sequence of xr.DataArray
        Regional DEMs, smallest first (empty: near field only).
    observer_height_m : float
        Eye height above the ground, m.
    n_azimuths : int
        Horizon azimuths over 360 deg.
    """
    return horizons_with_far_field(site, list(far_field), n_azimuths, observer_height_m=observer_height_m)


if __name__ == "__main__":  # pragma: no cover
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/lola_south_pole")
