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
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lupex import ephemeris as eph
from lupex.config import Config, frame_altitudes
from lupex.errors import ConfigError, InputError
from lupex.io import write_dataframe, write_json
from lupex.progress import NO_PROGRESS, Steps


@dataclass(frozen=True)
class LandingResult:
    target_xy: tuple[float, float]
    target_lonlat: tuple[float, float]
    sun_elevation_deg: float
    runs: pd.DataFrame
    summary: pd.Series
    frames: list  # (altitude_m, png bytes, fix error m or nan, method)
    frame_table: pd.DataFrame


def landing_epoch(cfg: Config) -> np.datetime64:
    return np.datetime64((cfg.landing.epoch or cfg.time.start).replace("Z", ""), "s")


def run_landing(cfg: Config, dem, craters, sites: pd.DataFrame, outdir, *, client=None,
                steps: Steps = NO_PROGRESS, rendered_runs: int | None = None) -> LandingResult | None:
    """Monte Carlo and rendered frames for the best site; None when ``landing.runs`` is 0.

    ``rendered_runs`` (default ``landing.rendered_runs``): how many of the runs fly rendered vision."""
    from lupex.landing import montecarlo as mc
    from lupex.landing import render as R
    from lupex.landing import sensors as sens
    from lupex.landing.onboard_map import build_onboard_map
    from lupex.terrain.geo import grid_north_azimuth_deg

    n_rendered = cfg.landing.rendered_runs if rendered_runs is None else rendered_runs
    if isinstance(n_rendered, bool) or not isinstance(n_rendered, (int, np.integer)) or n_rendered < 0:
        raise ConfigError(f"rendered runs must be a whole number >= 0, got {n_rendered!r}")
    if cfg.landing.runs == 0 or len(sites) == 0:
        return None
    if n_rendered > cfg.landing.runs:
        raise ConfigError(f"rendered runs ({n_rendered}) cannot exceed the Monte Carlo's runs ({cfg.landing.runs})")
    best = sites.iloc[0]
    target = (float(best["x_m"]), float(best["y_m"]))
    epoch = landing_epoch(cfg)
    sun = eph.topocentric("SUN", float(best["lat_deg"]), float(best["lon_deg"]), 0.0, times=[epoch])
    sun_el = float(sun.elevation_deg[0])
    cell = dem.sel(x=[target[0]], y=[target[1]], method="nearest")
    sun_az = float((sun.azimuth_deg[0] + grid_north_azimuth_deg(cell)[0, 0]) % 360.0)  # grid azimuth, from +y
    config = dataclasses.replace(cfg.descent, sun_elevation_deg=max(sun_el, 0.0), sun_azimuth_deg=sun_az)
    alts = frame_altitudes(cfg.landing.frame_altitudes_m)
    scene = omap = setup = None
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
        setup = sens.RenderedVisionSetup.build(
            dem, craters, sun_site, scene=scene, onboard_map=omap,
            altitudes_m=frame_altitudes(cfg.landing.rendered_altitudes_m, "landing.rendered_altitudes_m"),
            beyond_map=cfg.dispersions.simulated_vision(config.sun_elevation_deg))
    with steps.task("landing Monte Carlo", total=1) as advance:
        runs = mc.run_monte_carlo(dem, target, cfg.landing.runs, cfg.landing.seed, client=client, config=config,
                                  dispersions=cfg.dispersions, vehicle=cfg.lander_vehicle, limits=cfg.touchdown,
                                  rendered_runs=int(n_rendered), rendered_vision=setup)
        advance(1)
    summ = mc.summary(runs)
    write_dataframe(outdir / "landing_runs.parquet", runs)
    write_json(outdir / "landing_summary.json", {k: (v if not isinstance(v, dict) else v) for k, v in summ.items()}
               | {"target_x_m": target[0], "target_y_m": target[1], "sun_elevation_deg": sun_el,
                  "sun_grid_azimuth_deg": sun_az, "epoch_utc": str(epoch)})
    with steps.task("landing frames", total=max(len(alts), 1)) as advance:
        frames, table = _frames(dem, craters, target, epoch, alts, cfg.landing.seed, advance, scene=scene, omap=omap,
                                ref_offset_deg=cfg.landing.reference_sun_offset_deg)
    write_dataframe(outdir / "landing_frames.csv", table)
    return LandingResult(target, (float(best["lon_deg"]), float(best["lat_deg"])), sun_el, runs, summ, frames, table)


def _frames(dem, craters, target, epoch, altitudes, seed, advance, *, ref_offset_deg, scene=None, omap=None):
    """Render, detect and locate at each altitude above the target; PNGs with detections drawn.
    ``scene`` / ``omap``: the scene and onboard map when already built (the same ones this would build)."""
    from lupex.landing import render as R
    from lupex.landing.camera import Camera, nadir_rotation
    from lupex.landing.craters import detect_craters, image_sun_direction
    from lupex.landing.onboard_map import build_onboard_map
    from lupex.landing.pose import PosePrior, locate

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
        frames.append((alt, _frame_png(img, det, alt, fx.method, err), err, fx.method))
        advance(1)
    return frames, pd.DataFrame(rows)


def _frame_png(img, det, alt, method, err) -> bytes:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    from lupex.report.figures import png_bytes  # also selects the Agg backend

    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=90)
    ax.imshow(img, cmap="gray", interpolation="nearest")
    for u, v, r in zip(det.u, det.v, det.radius_px):
        ax.add_patch(Circle((u, v), r, fill=False, color="cyan", lw=0.7))
    fix = f"{method} fix, {err:.1f} m off" if np.isfinite(err) else "no fix"
    ax.set_title(f"{alt:,.0f} m: {len(det.u)} craters detected; {fix}", fontsize=8)
    ax.set_axis_off()
    return png_bytes(fig)
