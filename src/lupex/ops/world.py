"""The world the twin lives in: DEM window, slopes, Sun/Earth visibility per cell and hour, havens, Earth range.

Nothing here is new physics; it gathers what lupex's models already compute:

* horizons of the DEM raised by the far field
  (:func:`lupex.light.farfield.horizons_with_far_field`) and the per-cell,
  per-step visible fractions of the Sun's and Earth's disks over a window
  around the rover (:func:`lupex.light.visibility.visibility_series`);
* slope and aspect of each cell as the planner sees them
  (``lupex.rover.planner._slope_aspect``: central differences, grid azimuth
  of steepest ascent);
* safe havens (:func:`lupex.rover.havens.find_havens`);
* the Earth's range from the Moon's centre (SPICE through
  :func:`lupex.ephemeris.body_vectors`), which sets the one-way light time
  d / c (about 1.28 s at the mean 384,400 km, docs/REFERENCES.md#light-time)
  and the link budget (:func:`lupex.rover.comms.max_data_rate_bps`).

A run directory holds the DEM, its config (rover parameters, light settings),
the rover's planned start and the subsurface truth (``ground_truth.nc``: what
the twin's drill and neutron spectrometer meet under the rover); it does not store per-cell time series (only
the statistics and the top sites' series), so the window's light is computed
again from the DEM -- seconds for a few-km window.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from lupex import ephemeris
from lupex.config import Config, check_span, load
from lupex.constants import SPEED_OF_LIGHT_M_S as C_M_S
from lupex.errors import InputError
from lupex.instruments.drill import DrillParams
from lupex.light.farfield import horizons_with_far_field
from lupex.light.visibility import VisibilitySeries, corridor_window, visibility_series
from lupex.rover import havens as H
from lupex.rover import planner as P
from lupex.rover.vehicle import RoverParams
from lupex.subsurface.ground_truth import GroundTruth
from lupex.terrain import generate_site, geo, read_dem
from lupex.terrain.builtin import far_field_paths, read_site_dem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpsSite:
    """Everything the twin reads about its surroundings; arrays cover the light window only."""

    name: str
    dem: object  # xarray DataArray, full DEM
    light: VisibilitySeries
    slope_deg: np.ndarray  # (ny, nx) of the window
    aspect_deg: np.ndarray  # (ny, nx) grid azimuth of steepest ascent
    havens: pd.DataFrame
    earth_range_m: np.ndarray  # (nt,) at the light times
    start_xy: tuple[float, float]
    rover: RoverParams = field(default_factory=RoverParams)
    planner: P.PlannerParams = field(default_factory=P.PlannerParams)
    drill: DrillParams = field(default_factory=DrillParams)
    start_soc: float | None = None  # the rover's state of charge at the start, when a run's plan gives it
    ground_truth: object = None  # the run's lupex.subsurface.ground_truth.GroundTruth (ground_truth.nc), if any

    def __post_init__(self):
        # the grid of the DEM as plain floats: cell lookups run per step and per scenario candidate
        xs = np.asarray(self.dem["x"].values, float)
        ys = np.asarray(self.dem["y"].values, float)
        object.__setattr__(self, "_grid", (float(xs[0]), float(xs[1] - xs[0]), float(ys[0]), float(ys[1] - ys[0])))
        object.__setattr__(self, "_pixel_m", float(geo.pixel_size_m(self.dem)))
        object.__setattr__(self, "_t0", float(self.light.times[0].astype("datetime64[ns]").astype(np.int64) / 1e9))

    @property
    def pixel_m(self) -> float:
        """DEM pixel size, m."""
        return self._pixel_m

    @property
    def t0_unix_s(self) -> float:
        """Time of the first light step, Unix s."""
        return self._t0

    @property
    def t_end_unix_s(self) -> float:
        """End of the light series (one step after its last time), Unix s."""
        return self.t0_unix_s + self.light.times.size * self.light.step_s

    def cell(self, x_m: float, y_m: float) -> tuple[int, int] | None:
        """Full-DEM (row, col) of a point, or None when it is outside the simulated window."""
        if not (math.isfinite(x_m) and math.isfinite(y_m)):
            return None
        x0, dx, y0, dy = self._grid
        c = int(round((x_m - x0) / dx))
        r = int(round((y_m - y0) / dy))
        return (r, c) if self.light.contains(r, c) else None

    def k(self, t_unix_s: float) -> int:
        """Light-step index holding time t (clipped to the series)."""
        k = int((t_unix_s - self.t0_unix_s) // self.light.step_s)
        return min(max(k, 0), self.light.times.size - 1)

    def sun(self, rc, t_unix_s: float) -> float:
        """Visible fraction (0..1) of the Sun's disk at full-DEM cell ``rc`` at ``t_unix_s``."""
        return float(self.light.sun_fraction(self.k(t_unix_s), rc[0], rc[1]))

    def earth(self, rc, t_unix_s: float) -> float:
        """Visible fraction (0..1) of the Earth's disk at full-DEM cell ``rc`` at ``t_unix_s``."""
        return float(self.light.earth_fraction(self.k(t_unix_s), rc[0], rc[1]))

    def terrain(self, rc) -> tuple[float, float]:
        """(slope_deg, aspect_deg) of a full-DEM cell."""
        i, j = rc[0] - self.light.row0, rc[1] - self.light.col0
        return float(self.slope_deg[i, j]), float(self.aspect_deg[i, j])

    def light_time_s(self, t_unix_s: float) -> float:
        """One-way light time to the Earth at ``t_unix_s``, s."""
        return float(self.earth_range_m[self.k(t_unix_s)] / C_M_S)

    def next_dark_h(self, rc, t_unix_s: float) -> float:
        """Hours until the cell is dark (0 when dark now); the time left in the series when it never is."""
        k0 = self.k(t_unix_s)
        thr = self.rover.survival.dark_threshold * 255
        col = self.light.sun[k0:, rc[0] - self.light.row0, rc[1] - self.light.col0]
        dark = np.flatnonzero(col <= thr)
        if dark.size and dark[0] == 0:
            return 0.0
        t_dark = self.t0_unix_s + (k0 + (dark[0] if dark.size else col.size)) * self.light.step_s
        return max(t_dark - t_unix_s, 0.0) / 3600.0


def _earth_range_m(times) -> np.ndarray:
    et = ephemeris.utc_to_et(times)
    return np.linalg.norm(ephemeris.body_vectors("EARTH", et), axis=1)


def build_site(dem, far_field, times, center_xy, *, radius_m: float, name: str, rover: RoverParams | None = None,
               planner: P.PlannerParams | None = None, drill: DrillParams | None = None, n_azimuths: int = 72,
               observer_height_m: float = 1.5) -> OpsSite:
    """An :class:`OpsSite` on ``dem`` around ``center_xy`` (m, DEM CRS) over the UTC grid ``times``.

    ``radius_m`` sets the square window simulated around the centre (m); the
    horizons see the whole DEM and ``far_field``.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM, heights in m.
    far_field : sequence of xr.DataArray
        Regional DEMs, smallest first, that raise the horizons.
    times : array_like
        Regular UTC grid (datetime64) of the light series.
    center_xy : tuple of float
        Centre of the simulated window, m, DEM CRS.
    radius_m : float
        Half side of the square window, m.
    name : str
        The site's name.
    rover, planner, drill : optional
        The rover's, planner's and drill's parameters (default: their defaults).
    n_azimuths : int
        Horizon azimuths over 360 deg.
    observer_height_m : float
        Eye height of the light series above the ground, m.
    """
    rover = rover or RoverParams()
    planner = planner or P.PlannerParams()
    if not (np.isfinite(radius_m) and radius_m > 0):
        raise InputError(f"window radius must be a positive number of metres, got {radius_m}")
    rc = P.cell_of(dem, center_xy, "rover start")
    pix = float(geo.pixel_size_m(dem))
    window = corridor_window(dem.shape, [rc], int(np.ceil(radius_m / pix)))
    cube = horizons_with_far_field(dem, list(far_field), n_azimuths, observer_height_m=observer_height_m)
    light = visibility_series(dem, cube, times, window=window)
    r0, r1, c0, c1 = window
    z = np.asarray(dem.values, float)
    slope, aspect = P._slope_aspect(z, pix)
    hv = H.find_havens(dem, light, rover=rover, params=planner)
    return OpsSite(name=name, dem=dem, light=light, slope_deg=slope[r0:r1, c0:c1], aspect_deg=aspect[r0:r1, c0:c1],
                   havens=hv, earth_range_m=_earth_range_m(light.times), start_xy=(float(center_xy[0]), float(center_xy[1])),
                   rover=rover, planner=planner, drill=drill or DrillParams())


def _span(start: str, days: float, step_h: float):
    check_span(start, days, step_h, error=InputError)
    t0 = ephemeris._to_datetime64(start)[0]
    return ephemeris.time_grid(t0, t0 + np.timedelta64(int(round(days * 86400)), "s"), step_h)


DEFAULT_AFTER = "2027-01-01T00:00:00"


def first_earth_rise(dem, after: str = DEFAULT_AFTER, min_elevation_deg: float = 2.0, within_days: int = 60) -> str:
    """UTC ISO time of the first hour from ``after`` when the Earth's centre is ``min_elevation_deg`` up.

    The elevation is above the mathematical horizon of the DEM's centre (SPICE, :func:`lupex.ephemeris.topocentric`).

    Near the pole the Earth's elevation swings by about +-7 deg over a month (libration), so for days at a time
    it is below every horizon and nothing can be rehearsed with the ground; a fresh twin starts when it is up.

    Parameters
    ----------
    dem : xr.DataArray
        The DEM; its centre is the observer.
    after : str
        UTC ISO time to search from.
    min_elevation_deg : float
        Elevation of the Earth's centre to wait for, deg.
    within_days : int
        Length of the search, days.
    """
    t0 = ephemeris._to_datetime64(after)[0]
    times = t0 + np.arange(within_days * 24) * np.timedelta64(3600, "s")
    lon, lat = geo.lonlat_from_xy(dem, float(dem["x"].values.mean()), float(dem["y"].values.mean()))
    el = ephemeris.topocentric("EARTH", float(lat), float(lon), times=times).elevation_deg
    up = np.flatnonzero(el >= min_elevation_deg)
    if not up.size:
        raise InputError(f"the Earth never rises {min_elevation_deg:g} deg above the site's horizon within "
                         f"{within_days} days of {after}; give --start")
    return str(times[up[0]].astype("datetime64[s]"))


def fresh_site(site: str = "site01", *, start: str | None = None, days: float = 10.0, step_h: float = 1.0,
               radius_m: float = 1500.0, start_xy=None, seed: int = 0, size_m: float = 3000.0, pixel_m: float = 20.0,
               n_azimuths: int = 72, config=None, start_lonlat=None) -> OpsSite:
    """The twin's world on a built-in site (``site01``, the real LOLA ridge) or the procedural one (``synthetic``).

    The rover starts at ``start_xy`` (m, DEM CRS) or, by default, at the best
    safe haven near the DEM centre (landers aim for lit, Earth-visible ground);
    at ``start`` (UTC ISO 8601) or, by default, at :func:`first_earth_rise`
    from 2027-01-01.

    Parameters
    ----------
    site : str
        ``site01`` (or another built-in site) or ``synthetic``.
    start : str, optional
        UTC ISO 8601 start (default: :func:`first_earth_rise`).
    days : float
        Length of the light series, days.
    step_h : float
        Its time step, h.
    radius_m : float
        Half side of the simulated window, m.
    start_xy : tuple of float, optional
        The rover's start, m, DEM CRS.
    seed, size_m, pixel_m : optional
        The synthetic site's seed, side (m) and pixel (m).
    n_azimuths : int
        Horizon azimuths over 360 deg.
    config : Config, optional
        Rover, planner, drill and light settings (default: the defaults).
    start_lonlat : tuple, optional
        ``("lonlat", lon_deg, lat_deg)`` of the start, instead of ``start_xy``.
    """
    cfg = config or Config()
    if start is not None:
        _span(start, days, step_h)  # every number checked before the site is read
    if site == "synthetic":
        dem, far = generate_site(seed=seed, size_m=size_m, pixel_m=pixel_m).dem, []
    else:
        dem, far = read_site_dem(site), [read_dem(p) for p in far_field_paths(site)]
    times = _span(start if start is not None else first_earth_rise(dem), days, step_h)
    if start_lonlat is not None:  # ("lonlat", lon_deg, lat_deg) from the CLI's --at
        start_xy = P.xy_of_lonlat(dem, float(start_lonlat[1]), float(start_lonlat[2]))
    centre = (float(dem["x"].values.mean()), float(dem["y"].values.mean())) if start_xy is None else start_xy
    s = build_site(dem, far, times, centre, radius_m=radius_m, name=site, rover=cfg.vehicle, planner=cfg.planner,
                   drill=cfg.drill, n_azimuths=n_azimuths, observer_height_m=cfg.light.observer_height_m)
    if start_xy is None:
        s = _start_at_haven(s, centre)
    return s


def _start_at_haven(s: OpsSite, centre) -> OpsSite:
    """Move the start to the safe haven nearest ``centre``.

    It prefers one with Sun and Earth at the first step; the site is unchanged when there is no haven.
    """
    if not len(s.havens):
        return s
    L = s.light
    r = s.havens["row"].to_numpy() - L.row0
    c = s.havens["col"].to_numpy() - L.col0
    ready = (L.sun[0, r, c] > 0) & (L.earth[0, r, c] >= s.rover.comms.earth_threshold * 255)
    d = np.hypot(s.havens["x_m"].to_numpy() - centre[0], s.havens["y_m"].to_numpy() - centre[1])
    i = int(np.argmin(np.where(ready, d, d + 1e12)))
    return _with_start(s, (float(s.havens["x_m"].iloc[i]), float(s.havens["y_m"].iloc[i])))


def _with_start(s: OpsSite, xy) -> OpsSite:
    return replace(s, start_xy=(float(xy[0]), float(xy[1])))


def site_from_run(run_dir: Path, *, start: str | None = None, days: float = 10.0, step_h: float = 1.0,
                  radius_m: float = 1500.0, n_azimuths: int = 72) -> OpsSite:
    """The twin's world from a ``lupex run`` directory: its DEM, config (rover, light) and the rover plan's start.

    The start time, place and state of charge are the first row of
    ``rover_plan.parquet`` (the time unless ``start``, UTC ISO 8601, is given);
    without a plan, the safe haven nearest the DEM centre, battery as configured.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    start : str, optional
        UTC ISO 8601 start (default: the plan's first time).
    days : float
        Length of the light series, days.
    step_h : float
        Its time step, h.
    radius_m : float
        Half side of the simulated window, m.
    n_azimuths : int
        Horizon azimuths over 360 deg.
    """
    run_dir = Path(run_dir)
    for need in ("dem.tif", "config.toml"):
        if not (run_dir / need).is_file():
            raise InputError(f"{run_dir} has no {need}; give --run a directory written by `lupex run`")
    cfg = load(run_dir / "config.toml")
    dem = read_dem(run_dir / "dem.tif")
    far = []
    if cfg.site.far_field:
        far = [read_dem(p) for p in cfg.site.far_field if Path(p).exists()]
    elif cfg.site.name != "synthetic" and not cfg.site.dem:
        far = [read_dem(p) for p in far_field_paths(cfg.site.name)]
    plan_path = run_dir / "rover_plan.parquet"
    xy, soc = None, None
    if plan_path.is_file():
        plan = pd.read_parquet(plan_path)
        if len(plan):
            xy = (float(plan["x_m"].iloc[0]), float(plan["y_m"].iloc[0]))
            start = start or str(pd.Timestamp(plan["time_utc"].iloc[0]).isoformat())
            if "soc" in plan and np.isfinite(plan["soc"].iloc[0]):
                soc = float(np.clip(plan["soc"].iloc[0], cfg.vehicle.battery.soc_min, cfg.vehicle.battery.soc_max))
    start = start or cfg.time.start
    times = _span(start, days, step_h)
    centre = xy or (float(dem["x"].values.mean()), float(dem["y"].values.mean()))
    s = build_site(dem, far, times, centre, radius_m=radius_m, name=run_dir.name, rover=cfg.vehicle,
                   planner=cfg.planner, drill=cfg.drill, n_azimuths=n_azimuths,
                   observer_height_m=cfg.light.observer_height_m)
    if xy is None:
        s = _start_at_haven(s, centre)

    return replace(s, start_soc=soc, ground_truth=_ground_truth(run_dir))


def _ground_truth(run_dir: Path):
    """The run's subsurface truth (``ground_truth.nc``: WEH, ice table, density, rocks), or None without one."""
    path = Path(run_dir) / "ground_truth.nc"
    if not path.is_file():
        return None

    try:
        return GroundTruth.from_netcdf(path)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path} is not a ground truth lupex run wrote ({exc}); delete it or run `lupex run` again") from None
