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
* Mazarico et al. 2011 (docs/REFERENCES.md#mazarico2011): 240 m LOLA DEMs; permanently shadowed
  area 16,055 km^2 in the south (illumination computed poleward of 80 S).

Horizons: the site DEM's sweep (:mod:`lupex.light.horizon`) raised by the far
field of the regional DEM where one is given, or a ray march on the 240 m cap
for points off the site DEM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lupex import ephemeris as eph
from lupex.light.illumination import _bruteforce_columns
from lupex.light.points import point_statistics
from lupex.terrain.geo import lonlat_grid, xy_from_lonlat

__all__ = ["Comparison", "bussey2010_best_point", "mazarico2011_psr_area"]

BUSSEY2010_POINT = (-88.74, 124.5)  # lat, lon (deg, planetocentric east)
BUSSEY2010_PCT = 86.0
MAZARICO2011_PSR_SOUTH_KM2 = 16_055.0
GLASER2014_2M_PCT = 92.27
GLASER2014_10M_PCT = 95.65
GLASER2014_DARK_DAYS = (3.0, 5.0)
GLASER2018_2M_RIDGE_PCT = 88.0


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
        return self.ours - self.published


def _times(start: str, stop: str, step_h: float) -> np.ndarray:
    return eph.time_grid(np.datetime64(start), np.datetime64(stop), step_h)


def bussey2010_best_point(cap, *, radius_m: float = 4000.0, step_h: float = 1.0, n_azimuths: int = 360,
                          step_px: float = 0.5) -> tuple[Comparison, dict]:
    """The most illuminated cell of the 240 m cap within ``radius_m`` of Bussey et al. 2010's best point, over
    2020 at the surface; horizons by ray march on the cap (it reaches >= 146 km beyond the point)."""
    lat0, lon0 = BUSSEY2010_POINT
    bx, by = (float(v) for v in xy_from_lonlat(cap, lon0, lat0))
    xs, ys = cap["x"].values, cap["y"].values
    X, Y = np.meshgrid(xs, ys)
    rows, cols = np.nonzero(np.hypot(X - bx, Y - by) <= radius_m)
    h = _bruteforce_columns(cap, rows, cols, n_azimuths, 0.0, step_px=step_px)
    pts = np.column_stack([xs[cols], ys[rows]])
    df = point_statistics(cap, pts, _times("2020-01-01T00:00:00", "2021-01-01T00:00:00", step_h), horizon_columns=h)
    i = int(df["illumination_pct"].idxmax())
    lon, lat = lonlat_grid(cap.isel(y=slice(rows[i], rows[i] + 1), x=slice(cols[i], cols[i] + 1)))
    at = df.loc[i]
    c = Comparison("Bussey et al. 2010: most illuminated point, 2020, surface", BUSSEY2010_PCT,
                   float(at["illumination_pct"]), "%",
                   f"{float(lat[0, 0]):.3f} S {float(lon[0, 0]) % 360:.2f} E, {np.hypot(pts[i, 0] - bx, pts[i, 1] - by) / 1e3:.1f} km "
                   f"from the published point; sunlit (any part) {at['sunlit_time_pct']:.1f} %, longest darkness "
                   f"{at['longest_darkness_h']:.0f} h; 240 m LOLA cap, {n_azimuths} azimuths, {step_h:g} h steps")
    at_point = point_statistics(cap, np.array([[bx, by]]), _times("2020-01-01T00:00:00", "2021-01-01T00:00:00",
                                                                   step_h), n_azimuths=n_azimuths).iloc[0]
    return c, {"best": at.to_dict(), "at_published_point": at_point.to_dict()}


def mazarico2011_psr_area(light_stats, *, max_radius_m: float | None = None) -> tuple[Comparison, dict]:
    """Permanently shadowed area (km^2) of a light-statistics map of the cap, within ``max_radius_m`` of the pole
    (default: the cap's inscribed circle), against Mazarico et al. 2011's south total (80-90 S)."""
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


def bussey2010_best_pair(dem_map, stats, cap, *, candidates: int = 30, max_separation_m: float = 10_000.0,
                         step_h: float = 1.0, n_azimuths: int = 360, step_px: float = 0.5) -> tuple[Comparison, dict]:
    """Two points under ``max_separation_m`` apart that are together lit (any part of the Sun at one of them)
    the longest over 2020, against Bussey et al. 2010's 94 %.

    Candidates are the ``candidates`` most illuminated cells of ``stats`` (a light-statistics map of ``dem_map``,
    e.g. the cap or a crop of it), at least 1 km apart; their series come from a ray march on ``cap``."""
    il = np.asarray(stats["sunlit_time_pct"].values, float)
    xs, ys = dem_map["x"].values, dem_map["y"].values
    chosen: list[tuple[float, float]] = []
    for k in np.argsort(np.nan_to_num(il, nan=-1.0).ravel())[::-1]:
        r, c = divmod(int(k), il.shape[1])
        p = (float(xs[c]), float(ys[r]))
        if all(np.hypot(p[0] - q[0], p[1] - q[1]) >= 1000.0 for q in chosen):
            chosen.append(p)
        if len(chosen) == candidates:
            break
    pts = np.array(chosen)
    from lupex.light.illumination import _nearest_cells

    rows, cols = _nearest_cells(cap, pts)
    h = _bruteforce_columns(cap, rows, cols, n_azimuths, 0.0, step_px=step_px)
    from lupex.light.illumination import point_series

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
    lon, lat = lonlat_grid(cap)
    where = [f"{lat[rows[k], cols[k]]:.3f} S {lon[rows[k], cols[k]] % 360:.2f} E ({100 * lit[k].mean():.1f} % alone)"
             for k in (i, j)]
    c = Comparison("Bussey et al. 2010: two points < 10 km apart, together lit in 2020", 94.0, pct, "%",
                   f"{where[0]} and {where[1]}, {np.hypot(*(pts[i] - pts[j])) / 1e3:.1f} km apart; any part of the Sun at "
                   f"either; best of {len(pts)} candidates, 240 m LOLA cap, {n_azimuths} azimuths, {step_h:g} h steps")
    return c, {"points": [pts[i].tolist(), pts[j].tolist()]}
