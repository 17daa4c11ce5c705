"""Monte Carlo of powered descents with dispersions, in-process or on Dask; summary tables (``report.landing`` draws them).

Each run draws, from its own ``numpy.random.Generator`` (``SeedSequence(seed).spawn(n_runs)``,
so a run's result depends only on (seed, index), never on where or in which
order it runs):

* the PDI state error (orbit determination; default 200 m / 100 m vertical, 0.5 m/s per axis),
* the IMU's turn-on bias, noise and bias walk (:class:`lupex.landing.sensors.ImuParams`),
* the engine: thrust scale (1 % sigma) and Isp (0.5 % sigma) against the onboard model,
* the onboard map's registration error (1.5 m horizontal, 1 m vertical per axis),
* the camera: the vision-fix sigma in GSDs, uniform 0.7-1.5,

all assumptions (stated as such) except where the module that uses them cites
a source.

Vision: each run flies either simulated fixes (:class:`lupex.landing.sensors.SimulatedVision`,
1 Hz, ~1 GSD, Hamel et al. 2025) or, for the first ``rendered_runs`` runs, the
real chain (:class:`lupex.landing.sensors.RenderedVision`: render, detect,
identify, PnP or template) at a sparse set of altitudes; the ``vision`` column
says which. A rendered frame that gives no fix leaves the filter on IMU and
altimeter; the frame counts and the failure causes are columns of the table
(``vision_frames``, ``vision_fixes``, ``vision_fail_<cause>``,
``vision_fix_err_median_m``: the chain's own horizontal error against the
truth) and :func:`summary` reports both models separately.

Landing ellipse (:func:`dispersion_ellipse`): the dispersion of the touchdown about
the point the lander aimed at (the target, or the retargeted safe spot after hazard
avoidance), ``aim_dx_m``/``aim_dy_m``: the navigation and guidance scatter. The
deliberate retargets (up to 60 m) are not dispersion: over the touchdowns about the
*target* they make a bimodal cloud whose covariance is the gap between retargeted and
non-retargeted runs, so they are reported apart (``retarget_rate``, and the
``touchdown_spread_*`` ellipse of the raw touchdowns, the footprint a site must clear).
Convention: the ellipse of the sample covariance ``S`` (eigen-decomposition
``S = V diag(l) V^T``) scaled by ``k``: semi-axes ``k sqrt(l_i)`` along the
eigenvectors. For a 2-D Gaussian the squared Mahalanobis distance is chi-square with 2
degrees of freedom, so the ellipse holds ``1 - exp(-k^2 / 2)`` of the touchdowns:
``k = 3`` ("3 sigma" per principal axis) holds 98.89 %; ``k = 3.44`` =
sqrt(chi2_2^-1(0.9973)) holds the 99.73 % of a 1-D 3-sigma interval. The summary gives
both (``ellipse_3sigma_*``: k = 3, 98.9 %; ``ellipse_p9973_*``: k = 3.44, 99.73 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lupex.compute import dask_client
from lupex.errors import ConfigError
from lupex.landing import descent as _d
from lupex.landing import sensors as sens
from lupex.params import ASSUMED, check_non_negative, check_pair, check_range, param

__all__ = ["DispersionParams", "DispersionParams", "run_one", "run_monte_carlo", "summary", "vision_breakdown", "landing_ellipse",
           "dispersion_ellipse", "ellipse_probability", "ellipse_scale", "nav_error_table"]


@dataclass(frozen=True)
class DispersionParams:
    """One-sigma dispersions of a Monte Carlo run (see the module docstring)."""

    init_sigma_r_m: tuple[float, float, float] = param(
        (200.0, 200.0, 100.0), "m", "[x, y, z] 1-sigma PDI position error (orbit determination)",
        f"{ASSUMED}: lunar-orbit determination of a few hundred m horizontally, ~100 m vertically")
    init_sigma_v_m_s: float = param(0.5, "m/s", "1-sigma PDI velocity error per axis", f"{ASSUMED}: orbit determination")
    thrust_scale_sigma: float = param(0.01, "fraction", "1-sigma thrust scale error of the real engines against the onboard model",
                                      f"{ASSUMED}: 1 % engine acceptance-test scatter")
    isp_sigma_frac: float = param(0.005, "fraction", "1-sigma specific-impulse error against the onboard model",
                                  f"{ASSUMED}: 0.5 % engine acceptance-test scatter")
    map_offset_sigma_m: tuple[float, float, float] = param(
        (1.5, 1.5, 1.0), "m", "[x, y, z] 1-sigma registration error of the onboard map",
        f"{ASSUMED}: sub-pixel registration of a ~5 m LOLA-derived map")
    vision_sigma_gsd_range: tuple[float, float] = param(
        (0.7, 1.5), "GSD", "[low, high] of the uniform draw of the vision-fix sigma, in camera ground sample distances",
        "crater navigation error ~1 GSD (Hamel et al. 2025; docs/REFERENCES.md#hamel2025)")
    vision_p_dropout: float = param(
        0.05, "probability", "chance that a simulated vision frame gives no fix, at any sun",
        f"{ASSUMED}: occasional frame loss (lupex.landing.sensors.SimulatedVision)")
    vision_p_dropout_low_sun: float = param(
        0.3, "probability", "extra no-fix chance of a simulated frame, times exp(-sun elevation / 2 deg)",
        "polar low sun is the hardest case (Maehara et al. 2021); the rendered chain measures far more "
        "losses at 1 deg sun (landing summary: by_vision.rendered.fix_rate)")
    imu: sens.ImuParams = param(sens.ImuParams(), "-", "accelerometer error model", "lupex.landing.sensors.ImuParams")

    def __post_init__(self):
        for name, n in (("init_sigma_r_m", 3), ("map_offset_sigma_m", 3)):
            v = getattr(self, name)
            if (not isinstance(v, tuple) or len(v) != n
                    or not all(isinstance(i, (int, float)) and np.isfinite(i) and i >= 0 for i in v)):
                raise ConfigError(f"DispersionParams.{name} must be {n} finite sigmas >= 0 (m), got {v!r}")
        check_non_negative(self, "init_sigma_v_m_s", "thrust_scale_sigma", "isp_sigma_frac")
        check_range(self, "vision_p_dropout", 0.0, 1.0)
        check_range(self, "vision_p_dropout_low_sun", 0.0, 1.0)
        check_pair(self, "vision_sigma_gsd_range", positive=True)
        lo, hi = self.vision_sigma_gsd_range
        if lo > hi:
            raise ConfigError(f"DispersionParams.vision_sigma_gsd_range must be [low, high], got {list(self.vision_sigma_gsd_range)}")

    def simulated_vision(self, sun_elevation_deg: float, **kw) -> sens.SimulatedVision:
        """The simulated camera with this table's frame loss (``kw``: its other fields)."""
        return sens.SimulatedVision(sun_elevation_deg=sun_elevation_deg, p_dropout=self.vision_p_dropout,
                                    p_dropout_low_sun=self.vision_p_dropout_low_sun, **kw)


def _nav_col(level):
    return f"nav_err_{int(level)}m"


def run_one(terrain: _d.SiteTerrain, target_xy, seed_seq: np.random.SeedSequence, index: int,
            config: _d.DescentParams, dispersions: DispersionParams, vision=None, vehicle: _d.LanderVehicleParams = _d.LanderVehicleParams(),
            limits: _d.TouchdownParams = _d.TouchdownParams()) -> dict:
    """One dispersed descent; returns a table row (dict).

    ``vision``: None (simulated), a VisionSource,
    a :class:`~lupex.landing.sensors.RenderedVisionSetup` (called with the run's map offset and vision
    sigma), or a callable ``(rng, map_offset_m) -> VisionSource``.

    Parameters
    ----------
    terrain : SiteTerrain
        The true terrain.
    target_xy : array_like
        (2,) the target, m.
    seed_seq : np.random.SeedSequence
        This run's seed.
    index : int
        Run number.
    config : DescentParams
        The approach and guidance settings.
    dispersions : DispersionParams
        The dispersions drawn.
    vision : optional
        The vision source (see above).
    vehicle : LanderVehicleParams
        The lander.
    limits : TouchdownParams
        What a safe touchdown is.
    """
    from lupex.landing import guidance  # noqa: PLC0415  keeps `lupex --help` fast

    rng = np.random.default_rng(seed_seq)
    d = dispersions
    map_off = tuple(rng.normal(0.0, 1.0, 3) * np.asarray(d.map_offset_sigma_m, float))
    thrust_err = float(rng.normal(0.0, d.thrust_scale_sigma))
    isp_err = float(rng.normal(0.0, d.isp_sigma_frac))
    sig_gsd = float(rng.uniform(*d.vision_sigma_gsd_range))
    if vision is None:
        vis = d.simulated_vision(config.camera_sun_elevation_deg, sigma_gsd=sig_gsd, map_offset_m=map_off)
    elif isinstance(vision, sens.VisionSource):
        vis = vision
    elif isinstance(vision, sens.RenderedVisionSetup):
        vis = vision(rng, map_off, sig_gsd)
    elif callable(vision):
        vis = vision(rng, map_off)
    else:
        raise ConfigError("vision must be None, a VisionSource or a callable (rng, map_offset_m) -> VisionSource")
    res = guidance.run_descent(terrain, target_xy, rng, config=config, vehicle=vehicle, imu=d.imu, vision=vis,
                               init_sigma_r_m=d.init_sigma_r_m, init_sigma_v_m_s=d.init_sigma_v_m_s,
                               map_offset_m=map_off, thrust_scale_error=thrust_err, isp_error_frac=isp_err,
                               limits=limits, record=False)
    # the columns of landing_runs.parquet: v_vert_mps / v_horiz_mps keep the schema's spelling (readers use it)
    row = dict(run=index, success=res.success, failure_cause=res.failure_cause,
               landing_error_m=res.landing_error_m, aim_error_m=res.aim_error_m, retarget_m=res.retarget_m,
               dx_m=float(res.touchdown_r_m[0] - target_xy[0]), dy_m=float(res.touchdown_r_m[1] - target_xy[1]),
               aim_dx_m=float(res.touchdown_r_m[0] - res.aim_r_m[0]), aim_dy_m=float(res.touchdown_r_m[1] - res.aim_r_m[1]),
               v_vert_mps=res.vertical_speed_m_s, v_horiz_mps=res.horizontal_speed_m_s, slope_deg=res.slope_deg,
               propellant_kg=res.propellant_used_kg, duration_s=res.duration_s,
               map_offset_m=float(np.hypot(map_off[0], map_off[1])), thrust_scale_error=thrust_err)
    for lv, e in res.nav_error_at_m.items():
        row[_nav_col(lv)] = e
    row.update(_vision_columns(vis, res))
    return row


def _vision_columns(vis, res) -> dict:
    """Which vision model flew and, for rendered vision, what its frames gave."""
    log = getattr(vis, "log", None) if isinstance(vis, sens.RenderedVision) else None
    kind = ("rendered" if isinstance(vis, sens.RenderedVision) else "simulated" if isinstance(vis, sens.SimulatedVision)
            else type(vis).__name__)
    out = dict(vision=kind, vision_accepted=int(res.history.get("vision_accepted", 0)))
    log = log or []
    errs = [e["err_m"] for e in log if e["outcome"] == "fix"]
    out.update(vision_frames=len(log), vision_fixes=len(errs),
               vision_fixes_rejected=sum(e["outcome"] == "fix" and not e["accepted"] for e in log),
               vision_beyond_map_fixes=int(getattr(vis, "n_beyond_map", 0)))
    for cause in sens.VISION_FAILURES:
        out[f"vision_fail_{cause}"] = sum(e["outcome"] == cause for e in log)
    out["vision_fix_err_median_m"] = float(np.median(errs)) if errs else float("nan")
    return out


def _run_task(terrain, target_xy, seed_seq, index, vision, **kw) -> dict:
    return run_one(terrain, target_xy, seed_seq, index, vision=vision, **kw)


def run_monte_carlo(site_or_dem, target_xy, n_runs: int, seed: int = 0, *, client=None, workers: int = 0,
                    scheduler: str = "", config: _d.DescentParams = _d.DescentParams(),
                    dispersions: DispersionParams = DispersionParams(), vision=None, vehicle: _d.LanderVehicleParams = _d.LanderVehicleParams(),
                    limits: _d.TouchdownParams = _d.TouchdownParams(), check_target: bool = True,
                    rendered_runs: int = 0, rendered_vision: sens.RenderedVisionSetup | None = None) -> pd.DataFrame:
    """``n_runs`` dispersed descents to ``target_xy``: one row per run (sorted by ``run``).

    ``site_or_dem``: a :class:`lupex.terrain.SyntheticSite` or a DEM DataArray.
    Runs go to ``client`` (a ``dask.distributed.Client``) when given, else to a
    LocalCluster of ``workers`` processes or the scheduler at ``scheduler``
    (``tcp://host:port``), else run in this process. Results are identical
    either way for the same ``seed``.

    Runs ``0 .. rendered_runs - 1`` fly ``rendered_vision`` (a
    :class:`~lupex.landing.sensors.RenderedVisionSetup`; default: built from the
    DEM, the site's crater catalogue if it has one, and the Sun of ``config``,
    with the default frame altitudes and simulated fixes beyond the DEM); the
    others fly ``vision``. The setup is shipped to Dask workers once.

    Parameters
    ----------
    site_or_dem : SyntheticSite or xr.DataArray
        The site.
    target_xy : array_like
        (2,) the target, m.
    n_runs : int
        Number of descents.
    seed : int
        Seed of the runs' SeedSequence.
    client : dask.distributed.Client, optional
        Run on its workers.
    workers : int
        Processes of a LocalCluster (0: none).
    scheduler : str
        Address of a running Dask scheduler.
    config : DescentParams
        The approach and guidance settings.
    dispersions : DispersionParams
        The dispersions drawn.
    vision : optional
        The vision source of the runs that are not rendered.
    vehicle : LanderVehicleParams
        The lander.
    limits : TouchdownParams
        What a safe touchdown is.
    check_target : bool
        Refuse a target the lander cannot be sent to (:func:`lupex.landing.hazard.validate_target`).
    rendered_runs : int
        Number of runs that fly rendered vision.
    rendered_vision : RenderedVisionSetup, optional
        Their setup.
    """
    from lupex.landing import hazard  # noqa: PLC0415  keeps `lupex --help` fast

    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs <= 0:
        raise ConfigError(f"n_runs must be a positive whole number of descents, got {n_runs!r}")
    if (isinstance(rendered_runs, bool) or not isinstance(rendered_runs, (int, np.integer))
            or not 0 <= rendered_runs <= n_runs):
        raise ConfigError(f"rendered_runs must be a whole number of descents from 0 to n_runs ({n_runs}), "
                          f"got {rendered_runs!r}")
    dem = getattr(site_or_dem, "dem", site_or_dem)
    if rendered_runs and rendered_vision is None:
        from lupex.landing import render  # noqa: PLC0415  keeps `lupex --help` fast

        rendered_vision = sens.RenderedVisionSetup.build(
            dem, getattr(site_or_dem, "craters", None),
            render.sun_vector_from_az_el(config.sun_azimuth_deg, config.sun_elevation_deg),
            beyond_map=dispersions.simulated_vision(config.camera_sun_elevation_deg))
    if check_target:
        hazard.validate_target(dem, target_xy, footprint_m=vehicle.footprint_m)
    terrain = _d.site_terrain(dem)
    target_xy = (float(target_xy[0]), float(target_xy[1]))
    children = np.random.SeedSequence(int(seed)).spawn(int(n_runs))
    args = (target_xy,)
    if client is None and (workers > 0 or scheduler):
        with dask_client(workers, scheduler) as c:
            return run_monte_carlo(dem, target_xy, n_runs, seed, client=c, config=config, dispersions=dispersions,
                                   vision=vision, vehicle=vehicle, limits=limits, check_target=False,
                                   rendered_runs=rendered_runs, rendered_vision=rendered_vision)
    n_r = int(rendered_runs)
    if client is None:
        rows = [run_one(terrain, *args, ch, i, config, dispersions, rendered_vision if i < n_r else vision, vehicle,
                        limits)
                for i, ch in enumerate(children)]
    else:
        tf = client.scatter(terrain, broadcast=True)
        rv = client.scatter(rendered_vision, broadcast=True) if n_r else None
        futs = client.map(_run_task, [tf] * n_runs, [target_xy] * n_runs, children, list(range(n_runs)),
                          [rv if i < n_r else vision for i in range(n_runs)],
                          config=config, dispersions=dispersions, vehicle=vehicle, limits=limits, pure=False)
        rows = client.gather(futs)
    df = pd.DataFrame(rows).sort_values("run").reset_index(drop=True)
    df.attrs.update(seed=int(seed), target_xy=target_xy)
    return df


def ellipse_probability(k: float) -> float:
    """Share of a 2-D Gaussian inside its k-sigma covariance ellipse.

    The chi-square (2 dof) CDF at k^2, ``1 - exp(-k^2 / 2)`` (3 -> 0.9889).
    """
    return float(-np.expm1(-0.5 * float(k) ** 2))


def ellipse_scale(probability: float) -> float:
    """The k whose covariance ellipse holds ``probability`` of a 2-D Gaussian: sqrt(-2 ln(1 - p)) (0.9973 -> 3.44)."""
    if not 0.0 < probability < 1.0:
        raise ConfigError(f"ellipse probability must be in (0, 1), got {probability!r}")
    return float(np.sqrt(-2.0 * np.log1p(-float(probability))))


def dispersion_ellipse(xy, n_sigma: float = 3.0):
    """Centre (2,), semi-major m, semi-minor m and major-axis angle from +x (deg) of an ``n_sigma`` ellipse.

    The covariance ellipse of the points ``xy`` (n, 2): the sample mean, and the eigen-decomposition of the sample
    covariance (semi-axes ``n_sigma sqrt(eigenvalue)``; see the module docstring for the probability).
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if not len(xy):
        return np.full(2, np.nan), float("nan"), float("nan"), float("nan")
    c = xy.mean(axis=0)
    cov = np.cov(xy.T) if len(xy) > 1 else np.zeros((2, 2))
    w, v = np.linalg.eigh(cov)
    w = np.clip(w, 0.0, None)
    ang = float(np.degrees(np.arctan2(v[1, 1], v[0, 1]))) % 180.0
    return c, float(n_sigma * np.sqrt(w[1])), float(n_sigma * np.sqrt(w[0])), ang


def landing_ellipse(df: pd.DataFrame, n_sigma: float = 3.0, *, about: str = "aim"):
    """The ``n_sigma`` dispersion ellipse (see :func:`dispersion_ellipse`) of the touchdowns.

    About the aim point (``about='aim'``: the dispersion, retargets removed; runs without aim columns fall back to
    the target) or about the target (``about='target'``: the raw touchdown spread, retargets included).
    """
    cols = ["aim_dx_m", "aim_dy_m"] if about == "aim" and {"aim_dx_m", "aim_dy_m"} <= set(df.columns) else ["dx_m", "dy_m"]
    if about not in ("aim", "target"):
        raise ConfigError(f"landing_ellipse about must be 'aim' or 'target', got {about!r}")
    return dispersion_ellipse(df[cols].to_numpy(float), n_sigma)


K_9973 = ellipse_scale(0.9973)   # 3.44: the 2-D ellipse holding a 1-D 3-sigma interval's 99.73 %


def summary(df: pd.DataFrame) -> pd.Series:
    """The campaign's numbers: success rate, error percentiles, 3-sigma ellipse, touchdown and propellant stats."""
    c, a, b, ang = landing_ellipse(df)
    _, a99, b99, _ = landing_ellipse(df, K_9973)
    tc, ta, tb, tang = landing_ellipse(df, about="target")
    causes = df.loc[~df.success, "failure_cause"].value_counts().to_dict()
    out = {
        "n_runs": len(df),
        "success_rate": float(df.success.mean()),
        "nav_err_50m_median_m": float(df["nav_err_50m"].median()),
        "nav_err_50m_p99_m": float(df["nav_err_50m"].quantile(0.99)),
        "nav_err_1000m_median_m": float(df["nav_err_1000m"].median()),
        "landing_error_median_m": float(df.landing_error_m.median()),
        "landing_error_p99_m": float(df.landing_error_m.quantile(0.99)),
        "aim_error_median_m": float(df.aim_error_m.median()),
        "aim_error_p99_m": float(df.aim_error_m.quantile(0.99)),
        "retarget_rate": float((df.retarget_m.fillna(0) > 0).mean()),
        "ellipse_3sigma_major_m": a, "ellipse_3sigma_minor_m": b, "ellipse_angle_deg": ang,
        "ellipse_centre_x_m": float(c[0]), "ellipse_centre_y_m": float(c[1]),
        "ellipse_probability": ellipse_probability(3.0),
        "ellipse_p9973_major_m": a99, "ellipse_p9973_minor_m": b99,
        "ellipse_convention": ("touchdown about the aim point; sample covariance eigen-decomposition, semi-axes "
                               "k sqrt(eigenvalue); k = 3 holds 98.9 % of a 2-D Gaussian (chi-square, 2 dof), "
                               f"k = {K_9973:.2f} holds 99.73 %"),
        "touchdown_spread_3sigma_major_m": ta, "touchdown_spread_3sigma_minor_m": tb,
        "touchdown_spread_angle_deg": tang,
        "touchdown_spread_centre_x_m": float(tc[0]), "touchdown_spread_centre_y_m": float(tc[1]),
        "v_vert_max_mps": float(df.v_vert_mps.max()), "v_horiz_max_mps": float(df.v_horiz_mps.max()),
        "slope_max_deg": float(df.slope_deg.max()),
        "propellant_mean_kg": float(df.propellant_kg.mean()), "propellant_max_kg": float(df.propellant_kg.max()),
        "failures": causes,
        "by_vision": vision_breakdown(df),
    }
    return pd.Series(out)


def vision_breakdown(df: pd.DataFrame) -> dict:
    """Per vision model ('rendered', 'simulated'): runs, success rate and errors (m), median and p99.

    The errors are the navigation error at 50 m, the landing error and the error from the (retargeted) aim
    point; for rendered runs also the frames, fixes and why the others gave none.

    With few runs the p99 is close to the worst run (linear interpolation between order statistics).
    """
    out = {}
    kinds = df["vision"] if "vision" in df else pd.Series(["simulated"] * len(df), index=df.index)
    for kind, g in df.groupby(kinds, sort=True):
        d = {"n_runs": int(len(g)), "success_rate": float(g.success.mean()),
             "nav_err_50m_median_m": float(g["nav_err_50m"].median()),
             "nav_err_50m_p99_m": float(g["nav_err_50m"].quantile(0.99)),
             "landing_error_median_m": float(g.landing_error_m.median()),
             "landing_error_p99_m": float(g.landing_error_m.quantile(0.99)),
             "aim_error_median_m": float(g.aim_error_m.median()), "aim_error_p99_m": float(g.aim_error_m.quantile(0.99)),
             "failures": g.loc[~g.success, "failure_cause"].value_counts().to_dict()}
        if kind == "rendered":
            frames = int(g.vision_frames.sum())
            d.update(frames=frames, fixes=int(g.vision_fixes.sum()),
                     fix_rate=float(g.vision_fixes.sum() / frames) if frames else float("nan"),
                     fixes_rejected_by_filter=int(g.vision_fixes_rejected.sum()),
                     fix_error_median_m=float(g.vision_fix_err_median_m.median()),
                     beyond_map_fixes=int(g.vision_beyond_map_fixes.sum()),
                     no_fix={c: int(g[f"vision_fail_{c}"].sum()) for c in sens.VISION_FAILURES})
        out[str(kind)] = d
    return out


def nav_error_table(df: pd.DataFrame) -> pd.DataFrame:
    """Navigation error (m) vs altitude: median, 90th and 99th percentile over the runs."""
    from lupex.landing import guidance  # noqa: PLC0415  keeps `lupex --help` fast

    rows = []
    for lv in guidance.NAV_LEVELS_M:
        col = _nav_col(lv)
        if col in df:
            e = df[col].dropna()
            rows.append(dict(altitude_m=lv, median_m=e.median(), p90_m=e.quantile(0.9), p99_m=e.quantile(0.99)))
    return pd.DataFrame(rows)
