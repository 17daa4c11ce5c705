"""Phase 2 of a run: landing at the site analysis's best site.

* A Monte Carlo of dispersed powered descents (:mod:`lupex.landing.montecarlo`)
  to the top-ranked landing site, with the Sun's true elevation and grid azimuth
  there at the landing epoch (SPICE) driving the vision drop-outs and the hazard
  map's shadows; the descent, lander, touchdown-limit and dispersion parameters are
  the config's ``[descent]``, ``[lander_vehicle]``, ``[touchdown]`` and
  ``[dispersions]`` tables; vision fixes are simulated
  at about one camera GSD (Hamel et al. 2025), because rendering hundreds of 1 Hz
  frames per descent is too slow for a run, except on the first
  ``landing.rendered_runs`` descents, which fly the real chain
  (:class:`lupex.landing.sensors.RenderedVision`) at the sparse
  ``landing.rendered_altitudes_m``, with simulated fixes only where the point
  below the lander is beyond the DEM (the approach map a mission carries; SLIM's
  came from Kaguya data, docs/REFERENCES.md#slim). The scene and onboard map are built
  once and shared with the frames below.
* The real vision chain on a few frames: the true terrain rendered from above
  the target at the configured altitudes (:mod:`lupex.landing.render`), craters
  detected, and the pose located on the onboard map from a prediction 20 m off
  (:func:`lupex.landing.pose.locate`); each fix's error against the truth is
  reported beside the frame.

The landing epoch follows the window rules of :mod:`lupex.landing.window`
(:func:`choose_landing`): with ``landing.epoch`` empty, the start of the first
window after ``time.start``; a forced epoch outside every window is flown but
flagged (a warning in the log, ``in_window: false`` and the reason in
``landing_summary.json``, the report's landing section). The descent flies the
Sun's true elevation there, negative included (the hazard map's shadows), and
its camera sees the Sun over the terrain it images
(:func:`lupex.landing.window.camera_sun_elevation_deg`): when the target or most
of the descent track is in shadow the simulated camera gives no crater fixes and
the filter runs on IMU and altimeter alone.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lupex import ephemeris as eph
from lupex.errors import ConfigError, InputError
from lupex.io import write_dataframe, write_json
from lupex.landing import montecarlo as mc
from lupex.landing import render as R
from lupex.landing import sensors as sens
from lupex.landing import window as W
from lupex.landing.camera import Camera, nadir_rotation
from lupex.landing.craters import detect_craters, image_sun_direction
from lupex.landing.descent import LanderVehicleParams
from lupex.landing.onboard_map import build_onboard_map
from lupex.landing.pose import PosePrior, locate
from lupex.mission.budget import lander_at_pdi
from lupex.parsing import frame_altitudes
from lupex.progress import NO_PROGRESS, Steps
from lupex.terrain.geo import grid_north_azimuth_deg

if TYPE_CHECKING:
    from lupex.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandingResult:
    """The landing phase's result: the Monte Carlo of descents and the rendered frames (numbers)."""

    target_xy: tuple[float, float]
    target_lonlat: tuple[float, float]
    sun_elevation_deg: float
    runs: pd.DataFrame
    summary: pd.Series
    frames: list  # LandingFrame per rendered altitude
    frame_table: pd.DataFrame
    window: LandingChoice | None = None  # the epoch flown and how it stands against the landing-window rules
    vehicle: LanderVehicleParams | None = None       # the lander the Monte Carlo flew (:func:`landing_vehicle`)

    @property
    def epoch(self) -> np.datetime64 | None:
        """Return the landing epoch flown (UTC), None without a window judgement."""
        return None if self.window is None else self.window.epoch


@dataclass(frozen=True)
class LandingChoice:
    """The landing epoch a run flies and how it stands against the window rules.

    Also the windows found after the requested time (``landing.epoch``, else ``time.start``).
    """

    epoch: np.datetime64
    forced: bool  # True when landing.epoch (or lupex land --epoch) set it
    judgement: object  # lupex.landing.window.EpochJudgement
    windows: tuple = field(default=())  # lupex.landing.window.LandingWindow, in time order
    search_start: str = ""
    search_days: float = 0.0

    @property
    def in_window(self) -> bool:
        """Return True when the epoch is inside a landing window."""
        return bool(self.judgement.in_window)

    def flag(self) -> str:
        """One line saying why the epoch is outside every window ('' when it is inside one)."""
        if self.in_window:
            return ""
        how = "forced landing epoch" if self.forced else \
            f"no landing window within {self.search_days:g} days of {self.search_start}; landing"
        return f"{how} {str(self.epoch)[:19]} UTC is outside every landing window: {self.judgement.reason}"

    def lines(self, n: int = 3) -> list[str]:
        """A few lines for the console: the flag, the epoch flown and the next windows."""
        out = [f"WARNING: {self.flag()}"] if not self.in_window else []
        j = self.judgement
        out.append(f"landing at {str(self.epoch)[:19]} UTC ({'forced' if self.forced else 'first window'}; "
                   f"{'in' if self.in_window else 'OUTSIDE'} a landing window): Sun elevation {j.sun_elevation_deg:.2f} "
                   f"deg, {j.sun_margin_deg:+.2f} deg against the target's terrain horizon, "
                   f"{100 * j.track_lit_frac:.0f}% of the descent track lit, Earth {100 * j.earth_fraction:.0f}% in view")
        ws = [w for w in self.windows if w.end >= self.epoch][:n]
        out += [f"  window {w.line()}" for w in ws] or \
            [f"  no landing window within {self.search_days:g} days of {self.search_start}"]
        return out

    def summary(self) -> dict:
        """The fields ``landing_summary.json`` carries."""
        j = self.judgement
        return {"in_window": self.in_window, "window_reason": j.reason, "epoch_forced": self.forced,
                "sun_margin_above_horizon_deg": j.sun_margin_deg, "sun_visible_fraction": j.sun_fraction,
                "track_lit_frac": j.track_lit_frac, "earth_visible_fraction": j.earth_fraction,
                "lit_hours_after_landing_h": j.lit_hours_after_h, "lit_hours_after_is_lower_bound": j.lit_to_search_end,
                "next_windows_utc": [[str(w.start)[:19], str(w.end)[:19]] for w in self.windows[:5]]}


def landing_epoch(cfg: Config) -> np.datetime64:
    """The requested landing time: ``landing.epoch``, else ``time.start`` (the window search starts there)."""
    return np.datetime64((cfg.landing.epoch or cfg.time.start).replace("Z", ""), "s")


def choose_landing(cfg: Config, dem, sites: pd.DataFrame, *, horizon_cube=None) -> LandingChoice | None:
    """The landing epoch at the best site by the window rules (``[landing_window]``), None without sites.

    With ``landing.epoch`` empty: the start of the first window in ``landing_window.search_days`` after
    ``time.start`` (``time.start`` itself, flagged, when there is none); a forced epoch is judged as it is.
    Horizons come from ``horizon_cube`` when given, else a ray march at the few cells (see
    :mod:`lupex.landing.window`). A landing outside every window is logged as a warning.

    Parameters
    ----------
    cfg : Config
        The run's configuration: ``[landing_window]`` (rules, ``search_days``, ``n_azimuths``),
        ``landing.epoch``, ``time.start``, ``descent.approach_azimuth_deg`` (deg, the descent track's
        heading) and ``light.observer_height_m`` (m).
    dem : xarray.DataArray
        The site's heights (m), site frame, shape (ny, nx).
    sites : pandas.DataFrame
        Candidate landing sites, best first (``x_m``, ``y_m`` in m); only the first row is judged.
    horizon_cube : numpy.ndarray, optional
        The site's horizons, deg, shape (n_az, ny, nx); None ray-marches the target and its descent track.

    Returns
    -------
    LandingChoice or None
        The epoch (UTC, ``datetime64[s]``), whether ``landing.epoch`` forced it, its judgement against the
        window rules and the windows found from the requested time; None when ``sites`` is empty.
    """
    if len(sites) == 0:
        return None
    best = sites.iloc[0]
    target = (float(best["x_m"]), float(best["y_m"]))
    p = cfg.landing_window
    kw = dict(approach_azimuth_deg=cfg.descent.approach_azimuth_deg)
    pts = np.vstack([np.asarray(target).reshape(1, 2), W.descent_track_xy(dem, target, kw["approach_azimuth_deg"], p)])
    cols = W.track_horizons(dem, pts, horizon_cube=horizon_cube, n_azimuths=p.n_azimuths,
                            observer_height_m=cfg.light.observer_height_m)
    requested = landing_epoch(cfg)
    windows = tuple(W.find_windows(dem, target, requested, p, horizon_columns=cols, **kw))
    forced = bool(cfg.landing.epoch)
    epoch = requested if forced or not windows else windows[0].start
    judgement = W.judge_epoch(dem, target, epoch, p, horizon_columns=cols, **kw)
    choice = LandingChoice(epoch=epoch, forced=forced, judgement=judgement, windows=windows,
                           search_start=str(requested)[:19], search_days=p.search_days)
    if not choice.in_window:
        log.warning(choice.flag())
    else:
        log.info("landing at %s UTC, in a landing window (%d found in %g days)", str(epoch)[:19], len(windows),
                 p.search_days)
    return choice


def landing_vehicle(cfg: Config) -> LanderVehicleParams:
    """Return the lander the landing Monte Carlo flies.

    The lander the landing Monte Carlo flies: with ``landing.lander_from_budget`` (the default) the budget's
    lander at PDI (:func:`lupex.mission.budget.lander_at_pdi`), so the descent and the launch-to-landing budget
    are one vehicle; otherwise ``[lander_vehicle]`` as configured.
    """
    if not cfg.landing.lander_from_budget:
        return cfg.lander_vehicle
    return lander_at_pdi(cfg.budget, cfg.lander_vehicle, cfg.descent)


def run_landing(cfg: Config, dem, craters, sites: pd.DataFrame, outdir, *, client=None,
                steps: Steps = NO_PROGRESS, rendered_runs: int | None = None, choice: LandingChoice | None = None,
                horizon_cube=None) -> LandingResult | None:
    """Return the Monte Carlo and the rendered frames for the best site; None when ``landing.runs`` is 0.

    Writes ``landing_runs.parquet``, ``landing_summary.json`` and ``landing_frames.csv`` into ``outdir``.

    Parameters
    ----------
    cfg : Config
        The run's configuration (``[landing]``, ``[descent]``, ``[dispersions]``, ``[touchdown]``, ...).
    dem : xarray.DataArray
        The site's heights (m), site frame.
    craters : pandas.DataFrame or None
        The site's crater catalogue (the onboard map's landmarks).
    sites : pandas.DataFrame
        Candidate landing sites, best first (``x_m``, ``y_m``, ``lat_deg``, ``lon_deg``).
    outdir : path
        Where the products go.
    client : dask.distributed.Client, optional
        Runs the descents on a cluster.
    steps : Steps
        Progress bars.
    rendered_runs : int, optional
        How many of the runs fly rendered vision (default ``landing.rendered_runs``).
    choice : LandingChoice, optional
        The landing epoch (:func:`choose_landing`, computed here with ``horizon_cube`` when not given).
    horizon_cube : numpy.ndarray, optional
        The site's horizons, for :func:`choose_landing`.
    """
    n_rendered = cfg.landing.rendered_runs if rendered_runs is None else rendered_runs
    if isinstance(n_rendered, bool) or not isinstance(n_rendered, (int, np.integer)) or n_rendered < 0:
        raise ConfigError(f"rendered runs must be a whole number >= 0, got {n_rendered!r}")
    if cfg.landing.runs == 0 or len(sites) == 0:
        return None
    if n_rendered > cfg.landing.runs:
        raise ConfigError(f"rendered runs ({n_rendered}) cannot exceed the Monte Carlo's runs ({cfg.landing.runs})")
    best = sites.iloc[0]
    if choice is None:
        choice = choose_landing(cfg, dem, sites, horizon_cube=horizon_cube)
    setup = _descent_setup(cfg, dem, craters, best, choice, int(n_rendered))
    vehicle = landing_vehicle(cfg)
    log.info("landing: the lander at PDI is %.0f kg with up to %.0f kg of propellant (%s)", vehicle.wet_mass_kg,
             vehicle.propellant_kg, "the launch-to-landing budget's" if cfg.landing.lander_from_budget
             else "[lander_vehicle] as configured")
    runs, summ = _monte_carlo(cfg, dem, setup, vehicle, client, steps)
    write_dataframe(outdir / "landing_runs.parquet", runs)
    write_json(outdir / "landing_summary.json", {k: (v if not isinstance(v, dict) else v) for k, v in summ.items()}
               | {"target_x_m": setup.target[0], "target_y_m": setup.target[1], "sun_elevation_deg": setup.sun_el,
                  "sun_grid_azimuth_deg": setup.sun_az, "epoch_utc": str(choice.epoch),
                  "camera_sun_elevation_deg": setup.cam_el}
               | choice.summary())
    with steps.task("landing frames", total=max(len(setup.alts), 1)) as advance:
        frames, table = _frames(dem, craters, setup.target, choice.epoch, setup.alts, cfg.landing.seed, advance,
                                scene=setup.scene, omap=setup.omap,
                                ref_offset_deg=cfg.landing.reference_sun_offset_deg)
    write_dataframe(outdir / "landing_frames.csv", table)
    log.info("landing frames: %d rendered at %s m; wrote landing_runs.parquet, landing_summary.json, "
             "landing_frames.csv", len(frames), ", ".join(f"{a:g}" for a in setup.alts) or "no altitudes")
    return LandingResult(setup.target, (float(best["lon_deg"]), float(best["lat_deg"])), setup.sun_el, runs, summ,
                         frames, table, window=choice, vehicle=vehicle)


@dataclass(frozen=True)
class _DescentSetup:
    """What the descents and the frames fly.

    The target, the Sun there, the descent table, the frames' altitudes,
    and the scene, onboard map and rendered-vision setup (None where nothing renders).
    """

    target: tuple[float, float]
    sun_el: float  # deg, true elevation at the target (negative included)
    sun_az: float  # deg, grid azimuth from +y
    cam_el: float  # deg, the Sun over the terrain the camera images
    config: object  # lupex.landing.descent.DescentParams
    alts: list
    n_rendered: int
    scene: object = None
    omap: object = None
    vision: object = None  # lupex.landing.sensors.RenderedVisionSetup


def _descent_setup(cfg: Config, dem, craters, best, choice: LandingChoice, n_rendered: int) -> _DescentSetup:
    """Return the descent's Sun, configuration, frames' altitudes and (when anything renders) scene and map."""
    target = (float(best["x_m"]), float(best["y_m"]))
    epoch = choice.epoch
    sun = eph.topocentric("SUN", float(best["lat_deg"]), float(best["lon_deg"]), 0.0, times=[epoch])
    sun_el = float(sun.elevation_deg[0])
    cell = dem.sel(x=[target[0]], y=[target[1]], method="nearest")
    sun_az = float((sun.azimuth_deg[0] + grid_north_azimuth_deg(cell)[0, 0]) % 360.0)  # grid azimuth, from +y
    # the true elevation, negative included (hazard shadows), and the Sun over the terrain the camera images: a dark
    # one gets no crater fixes (lupex.landing.sensors.SimulatedVision), the filter then runs on IMU and altimeter
    cam_el = W.camera_sun_elevation_deg(choice.judgement, cfg.landing_window)
    config = dataclasses.replace(cfg.descent, sun_elevation_deg=sun_el, sun_azimuth_deg=sun_az,
                                 vision_sun_elevation_deg=cam_el)
    alts = frame_altitudes(cfg.landing.frame_altitudes_m)
    scene = omap = vision = None
    if alts or n_rendered:
        # one scene and onboard map for the frames and the rendered descents (~9 s CPU on a 1000 x 1000 DEM)
        sun_site = R.sun_vector_site(dem, times=[epoch]).reshape(-1)[:3]
        az = float(np.degrees(np.arctan2(sun_site[0], sun_site[1])) % 360.0)
        el = float(np.degrees(np.arcsin(np.clip(sun_site[2], -1, 1))))
        scene = R.make_scene(dem, sun_site)
        # reference lit from landing.reference_sun_offset_deg away (default: a few hours earlier); a map needs a
        # lit reference, so at a dark epoch (the frames are then black and counted as such) it is taken at 0.5 deg
        omap = build_onboard_map(dem, craters, (az + cfg.landing.reference_sun_offset_deg, el if el > 0 else 0.5))
    if n_rendered:
        vision = sens.RenderedVisionSetup.build(
            dem, craters, sun_site, scene=scene, onboard_map=omap,
            altitudes_m=frame_altitudes(cfg.landing.rendered_altitudes_m, "landing.rendered_altitudes_m"),
            beyond_map=cfg.dispersions.simulated_vision(config.camera_sun_elevation_deg))
    log.info("landing: target (%.1f, %.1f) m = %.4f, %.4f deg, epoch %s, Sun %.2f deg; %d descents (%d rendered), "
             "seed %d", target[0], target[1], float(best["lat_deg"]), float(best["lon_deg"]), epoch, sun_el,
             cfg.landing.runs, int(n_rendered), cfg.landing.seed)
    return _DescentSetup(target=target, sun_el=sun_el, sun_az=sun_az, cam_el=cam_el, config=config, alts=alts,
                         n_rendered=n_rendered, scene=scene, omap=omap, vision=vision)


def _monte_carlo(cfg: Config, dem, setup: _DescentSetup, vehicle: LanderVehicleParams, client, steps: Steps):
    """Return the landing Monte Carlo's table of runs and its summary (:func:`lupex.landing.montecarlo.summary`)."""
    t0 = time.perf_counter()
    with steps.task("landing Monte Carlo", total=1) as advance:
        runs = mc.run_monte_carlo(dem, setup.target, cfg.landing.runs, cfg.landing.seed, client=client,
                                  config=setup.config, dispersions=cfg.dispersions, vehicle=vehicle,
                                  limits=cfg.touchdown, rendered_runs=setup.n_rendered, rendered_vision=setup.vision)
        advance(1)
    summ = mc.summary(runs)
    log.info("landing Monte Carlo: %d descents in %.1f s; success %.0f %%, landing error median %.1f m, p99 %.1f m",
             len(runs), time.perf_counter() - t0, 100 * float(summ["success_rate"]),
             float(summ["landing_error_median_m"]), float(summ["landing_error_p99_m"]))
    return runs, summ


@dataclass(frozen=True)
class LandingFrame:
    """One rendered descent frame above the target and what the vision chain made of it.

    Numbers only: the report draws it (:func:`lupex.report.landing.frame_png`).
    """

    altitude_m: float
    image: np.ndarray  # (512, 512) camera counts
    crater_u_px: np.ndarray  # detected craters: centre column, row and radius in pixels
    crater_v_px: np.ndarray
    crater_radius_px: np.ndarray
    error_m: float  # horizontal fix error against the truth, nan without a fix
    method: str  # how the pose was located (lupex.landing.pose.locate), "none" without a fix


def _frames(dem, craters, target, epoch, altitudes, seed, advance, *, ref_offset_deg, scene=None, omap=None):
    """Return the rendered frames (:class:`LandingFrame`) and their table.

    Render, detect and locate at each altitude above the target. ``scene`` / ``omap``: the scene and onboard
    map when already built (the same ones this would build).
    """
    sun = R.sun_vector_site(dem, times=[epoch]).reshape(-1)[:3]
    az = float(np.degrees(np.arctan2(sun[0], sun[1])) % 360.0)
    el = float(np.degrees(np.arcsin(np.clip(sun[2], -1, 1))))
    rng = np.random.default_rng(seed)
    scene = R.make_scene(dem, sun) if scene is None else scene
    omap = build_onboard_map(dem, craters, (az + ref_offset_deg, el)) if omap is None else omap
    h = float(dem.sel(x=target[0], y=target[1], method="nearest"))
    zc = h - (target[0] ** 2 + target[1] ** 2) / (2.0 * eph.MOON_RADIUS_M)  # site frame: curvature drop
    rot = nadir_rotation(0.0)
    rows, frames = [], []
    for alt in altitudes:
        truth = np.array([target[0], target[1], zc + alt])
        cam = Camera(30.0, 512, 512, position_m=truth, rotation=rot)
        try:
            img = R.render(scene, cam, rng)
        except InputError as exc:  # a frame that sees nothing of the DEM
            rows.append({"altitude_m": alt, "gsd_m": cam.gsd_m(alt), "detections": 0, "method": "none",
                         "fix_error_m": np.nan, "note": str(exc)[:80]})
            advance(1)
            continue
        det = detect_craters(img, image_sun_direction(cam, sun))
        prior = PosePrior(position_m=truth + np.array([15.0, -12.0, 5.0]), rotation=rot,
                          cov_position_m2=np.diag([400.0, 400.0, 100.0]))
        fx = locate(img, cam, prior, omap, rng, sun_site=sun)
        err = float(np.linalg.norm(fx.position_m[:2] - truth[:2])) if fx.ok else np.nan
        rows.append({"altitude_m": alt, "gsd_m": cam.gsd_m(alt), "detections": int(len(det.u)),
                     "method": fx.method, "matches": int(fx.n_matches), "fix_error_m": err, "note": ""})
        frames.append(LandingFrame(altitude_m=alt, image=img, crater_u_px=np.asarray(det.u),
                                   crater_v_px=np.asarray(det.v), crater_radius_px=np.asarray(det.radius_px),
                                   error_m=err, method=fx.method))
        advance(1)
    return frames, pd.DataFrame(rows)
