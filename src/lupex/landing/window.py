"""Landing windows: when the Sun, Earth and the coming day allow a landing at a target.

A landing epoch is *in a window* when three rules hold at it (each a field of
:class:`LandingWindowParams`):

(a) **Vision light.** The descent's crater navigation and hazard detection see
    the terrain by sunlight. At the pole the Sun is never high, and low sun is
    the hard case of crater navigation (Maehara et al. 2021,
    docs/REFERENCES.md#maehara2021: with low sun too few craters are usable; template matching still
    met the accuracy on images more than 50 % in shadow), while a Sun below the
    local horizon gives black frames. So the rule asks for a low but non-zero
    Sun: at the target, the Sun's centre at least ``min_sun_margin_deg`` above
    the local terrain horizon (the horizon height at the Sun's azimuth) with at
    least ``min_sun_frac`` of its disk visible; along the descent ground
    track (points uprange of the target on the approach azimuth, the last
    ``track_length_m`` of the approach, where the camera looks down on the
    terrain the onboard map covers), at least ``min_track_lit_frac`` of the
    points lit by the same test (Maehara's >50 % shadow case).
(b) **Earth in view.** At least ``min_earth_frac`` of Earth's disk above
    the target's horizon (the descent's lowest and last point; higher up the
    lander sees farther), for the direct-to-Earth link through the descent.
(c) **Time to commission.** The lit period that the landing starts (Sun's
    visible fraction at the target > ``dark_sun_frac``, the light
    statistics' dark threshold) lasts at least ``commission_h`` hours, so the
    rover can be deployed and checked out before the first dark period.

The Sun and Earth come from :func:`lupex.light.illumination.point_series`
(SPICE, disk fraction above the interpolated horizon) at the target and the
track points, whose horizons are taken once from the run's horizon cube when
there is one, else by a ray march at those few cells. A window is a run of
consecutive steps of a regular grid that all satisfy the three rules; a forced
epoch is judged on its own (a grid starting at it), with the reasons it fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lupex.errors import InputError
from lupex.light.illumination import _bruteforce_columns, _nearest_cells, point_series
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, param

__all__ = ["LandingWindowParams", "LandingWindow", "EpochJudgement", "descent_track_xy", "track_horizons",
           "step_rules", "find_windows", "judge_epoch", "camera_sun_elevation_deg"]

LOOKAHEAD_H = 709.0
"""How far ahead (h) :func:`judge_epoch` follows the light: one synodic month (29.53 d), enough to tell a lit period
that commissions the rover from one that does not; a period lit beyond it is reported as a lower bound."""

_MAEHARA = "low but non-zero sun for polar crater navigation (Maehara et al. 2021, docs/REFERENCES.md#maehara2021)"


@dataclass(frozen=True)
class LandingWindowParams:
    """The rules of a landing window (see the module docstring) and the search that finds them."""

    min_sun_margin_deg: float = param(
        0.5, "deg", "lowest elevation of the Sun's centre above the local terrain horizon at the target (vision chain)",
        f"{ASSUMED}: {_MAEHARA}; 0.5 deg keeps the whole disk (0.27 deg radius) up and leaves ~1 h before a "
        "polar sunset at the Sun's ~0.5 deg/h azimuth rate over a sloping horizon")
    min_sun_frac: float = param(1.0, "fraction 0-1", "least visible part of the Sun's disk at the target and at a "
                                    "lit track point", f"{ASSUMED}: a partly set Sun is dusk for the camera; {_MAEHARA}")
    min_track_lit_frac: float = param(
        0.5, "fraction 0-1", "least share of the descent-track points lit by the same test as the target",
        "Maehara et al. 2021: matching met the accuracy on images >50 % in shadow (docs/REFERENCES.md#maehara2021)")
    track_length_m: float = param(15_000.0, "m", "length of the descent ground track checked uprange of the target",
                                  f"{ASSUMED}: the last ~15 km of the approach, below ~8 km altitude, where the frames "
                                  "cover the site's map (lupex.landing.sensors.RENDERED_FIX_ALTITUDES_M)")
    track_points: int = param(8, "-", "points sampled along the track (those off the DEM are left out)", ASSUMED)
    min_earth_frac: float = param(0.5, "fraction 0-1", "least part of Earth's disk above the target's horizon",
                                      "the light statistics' earth_threshold (light.earth_threshold)")
    commission_h: float = param(
        72.0, "h", "shortest first lit period after landing (deploy and commission the rover before the first night)",
        f"{ASSUMED}: no published LUPEX figure; three days to roll a ~350 kg rover off the lander and check its "
        "mobility, power, comms, drill and instruments (docs/REFERENCES.md#lupex-mission) before its first night")
    dark_sun_frac: float = param(0.0, "fraction 0-1", "a step is dark when the Sun's visible fraction at the "
                                     "target is at or below this (ends the lit period)",
                                     "the light statistics' dark_threshold (light.dark_threshold)")
    search_days: float = param(60.0, "days", "span searched for windows from the requested start",
                               f"{ASSUMED}: two lunar days, so a polar site's next lit season is usually inside")
    step_h: float = param(1.0, "h", "time step of the search (a window's ends are known to this step)", ASSUMED)
    n_azimuths: int = param(360, "-", "horizon azimuths of the ray march when the run has no horizon cube",
                            "light.n_azimuths' default (1 deg)")

    def __post_init__(self):
        check_non_negative(self, "min_sun_margin_deg", "commission_h")
        for name in ("min_sun_frac", "min_track_lit_frac", "min_earth_frac", "dark_sun_frac"):
            check_range(self, name, 0.0, 1.0)
        check_positive(self, "track_length_m", "search_days", "step_h")
        check_range(self, "track_points", 1, 1000)
        check_range(self, "n_azimuths", 4, 100_000)


@dataclass(frozen=True)
class LandingWindow:
    """A run of landing epochs (UTC, ``start`` to ``end`` inclusive, on the search grid) that meet every rule."""

    start: np.datetime64
    end: np.datetime64
    min_sun_margin_deg: float  # lowest Sun-centre elevation above the target's horizon in the window
    min_earth_frac: float  # lowest visible part of Earth's disk at the target in the window
    lit_hours_after_h: float  # lit hours ahead of a landing at ``start``
    lit_to_search_end: bool = False  # the light lasts to the end of the searched grid: lit_hours_after_h is a lower bound

    @property
    def duration_h(self) -> float:
        """Length of the window, h."""
        return float((self.end - self.start) / np.timedelta64(1, "s")) / 3600.0

    def line(self) -> str:
        """The window in one line of text, with its margins and the light ahead."""
        span = f"{self.duration_h:.0f} h" if self.end > self.start else "one search step"
        return (f"{str(self.start)[:16]} to {str(self.end)[:16]} UTC ({span}): Sun >= "
                f"{self.min_sun_margin_deg:.2f} deg above the horizon, Earth >= {100 * self.min_earth_frac:.0f}% "
                f"of its disk, {'>= ' if self.lit_to_search_end else ''}{self.lit_hours_after_h:.0f} h of light ahead")


@dataclass(frozen=True)
class EpochJudgement:
    """Whether a landing at ``epoch`` meets the window rules, the numbers behind it and why not."""

    epoch: np.datetime64
    in_window: bool
    reasons: tuple[str, ...]
    sun_margin_deg: float  # Sun centre above the target's terrain horizon (negative: below)
    sun_elevation_deg: float  # Sun centre above the target's local horizontal
    sun_fraction: float
    track_lit_frac: float
    earth_fraction: float
    lit_hours_after_h: float
    lit_to_search_end: bool = False  # lit to the end of the judged span (LOOKAHEAD_H): a lower bound

    @property
    def reason(self) -> str:
        """The broken rules in one string, '; '-separated (empty in a window)."""
        return "; ".join(self.reasons)


def descent_track_xy(dem, target_xy, approach_azimuth_deg: float, params: LandingWindowParams) -> np.ndarray:
    """Points (n, 2), m, of the ground track uprange of the target that lie on the DEM.

    The approach is along grid azimuth ``approach_azimuth_deg`` (clockwise from +y,
    :class:`lupex.landing.descent.DescentConfig`); points are ``track_length_m / track_points`` apart.

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM.
    target_xy : array_like
        (2,) the landing target, m.
    approach_azimuth_deg : float
        Grid azimuth of the approach, deg, clockwise from +y.
    params : LandingWindowParams
        ``track_length_m`` and ``track_points``.
    """
    a = np.radians(approach_azimuth_deg)
    d = params.track_length_m * np.arange(1, params.track_points + 1) / params.track_points
    pts = np.column_stack([target_xy[0] - d * np.sin(a), target_xy[1] - d * np.cos(a)])
    x = np.asarray(dem["x"].values, float)
    y = np.asarray(dem["y"].values, float)
    inside = (pts[:, 0] >= x.min()) & (pts[:, 0] <= x.max()) & (pts[:, 1] >= y.min()) & (pts[:, 1] <= y.max())
    return pts[inside]


def track_horizons(dem, points_xy, *, horizon_cube=None, n_azimuths: int = 360,
                   observer_height_m: float = 0.0) -> np.ndarray:
    """(n_az, n) deg: horizons of the points, from ``horizon_cube`` (n_az, ny, nx) when given, else ray-marched.

    Parameters
    ----------
    dem : xr.DataArray
        The site DEM, heights in m.
    points_xy : array_like
        (n, 2) points, m.
    horizon_cube : np.ndarray, optional
        (n_az, ny, nx) horizons, deg.
    n_azimuths : int
        Azimuths of the ray march.
    observer_height_m : float
        Eye height of the ray march above the ground, m.
    """
    row, col = _nearest_cells(dem, np.asarray(points_xy, float).reshape(-1, 2))
    if horizon_cube is not None:
        return np.stack([np.asarray(horizon_cube[:, r, c], float) for r, c in zip(row, col)], axis=1)
    return _bruteforce_columns(dem, row, col, int(n_azimuths), observer_height_m)


def step_rules(series, params: LandingWindowParams) -> pd.DataFrame:
    """Per time step (rows): the three rules at the target (point 0) and the track (points 1..).

    ``series`` is a :func:`~lupex.light.illumination.point_series` Dataset on a regular grid. ``lit_hours_after_h``
    is the run of lit steps from each step on times the step (a lower bound where it reaches the grid's end).
    """
    t = np.asarray(series["time"].values, dtype="datetime64[s]")
    step_h = float((t[1] - t[0]) / np.timedelta64(1, "s")) / 3600.0 if t.size > 1 else params.step_h
    frac = np.asarray(series["sun_fraction"].values, float)
    margin = np.asarray(series["sun_elevation_deg"].values - series["sun_horizon_deg"].values, float)
    vis = (margin >= params.min_sun_margin_deg) & (frac >= params.min_sun_frac)
    track_frac = vis[1:].mean(axis=0) if vis.shape[0] > 1 else vis[0].astype(float)
    earth = np.asarray(series["earth_fraction"].values[0], float)
    lit = frac[0] > params.dark_sun_frac
    run = np.zeros(t.size, np.int64)
    for k in range(t.size - 1, -1, -1):
        run[k] = (run[k + 1] + 1 if k + 1 < t.size else 1) if lit[k] else 0
    out = pd.DataFrame({
        "time": t, "sun_margin_deg": margin[0], "sun_elevation_deg": np.asarray(series["sun_elevation_deg"].values[0]),
        "sun_fraction": frac[0], "track_lit_frac": track_frac, "earth_fraction": earth, "lit_hours_after_h": run * step_h,
        "lit_to_end": lit & (run == t.size - np.arange(t.size)),
    })
    out["vision_ok"] = vis[0] & (track_frac >= params.min_track_lit_frac)
    out["earth_ok"] = earth >= params.min_earth_frac
    out["commission_ok"] = out["lit_hours_after_h"] >= params.commission_h
    out["ok"] = out["vision_ok"] & out["earth_ok"] & out["commission_ok"]
    return out


def _series(dem, target_xy, times, params, approach_azimuth_deg, horizon_columns, horizon_cube, observer_height_m):
    track = descent_track_xy(dem, target_xy, approach_azimuth_deg, params)
    pts = np.vstack([np.asarray(target_xy, float).reshape(1, 2), track])
    if horizon_columns is None:
        horizon_columns = track_horizons(dem, pts, horizon_cube=horizon_cube, n_azimuths=params.n_azimuths,
                                         observer_height_m=observer_height_m)
    elif np.asarray(horizon_columns).shape[1] != len(pts):
        raise InputError(f"horizon_columns must hold the target and its {len(track)} track points "
                         f"({len(pts)} columns), got {np.asarray(horizon_columns).shape[1]}")
    return point_series(dem, None, pts, times, horizon_columns=horizon_columns)


def _grid(start, hours: float, step_h: float) -> np.ndarray:
    t0 = np.datetime64(str(start).replace("Z", ""), "s")
    step_s = int(round(step_h * 3600.0))
    n = int(np.floor(hours * 3600.0 / step_s)) + 1
    return t0 + np.arange(n) * np.timedelta64(step_s, "s")


def find_windows(dem, target_xy, start, params: LandingWindowParams = LandingWindowParams(), *,
                 approach_azimuth_deg: float = 90.0, horizon_cube=None, horizon_columns=None,
                 observer_height_m: float = 0.0) -> list[LandingWindow]:
    """Landing windows at ``target_xy`` (m, the DEM's CRS) from ``start`` (UTC) over ``params.search_days``.

    Parameters
    ----------
    dem : xarray.DataArray
        The site DEM, heights in m.
    target_xy : (float, float)
        The landing target, m.
    start : str or datetime64
        UTC start of the search; the grid runs ``commission_h`` past its end so that rule (c) is decided everywhere.
    params : LandingWindowParams
        The rules and the search grid.
    approach_azimuth_deg : float
        Grid azimuth of the approach (clockwise from +y), the descent's ``approach_azimuth_deg``.
    horizon_cube, horizon_columns : array, optional
        The site's horizon cube (n_az, ny, nx) deg, or the columns (n_az, 1 + track points) of the target and its
        track points; else a ray march at those cells (``params.n_azimuths``, ``observer_height_m``).
    """
    span_h = params.search_days * 24.0
    t = _grid(start, span_h + params.commission_h + params.step_h, params.step_h)
    rules = step_rules(_series(dem, target_xy, t, params, approach_azimuth_deg, horizon_columns, horizon_cube,
                               observer_height_m), params)
    n_search = int(np.floor(span_h / params.step_h)) + 1
    ok = rules["ok"].to_numpy()[:n_search]
    edges = np.diff(np.concatenate(([0], ok.view(np.int8), [0])))
    out = []
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        part = rules.iloc[a:b]
        out.append(LandingWindow(start=t[a], end=t[b - 1], min_sun_margin_deg=float(part["sun_margin_deg"].min()),
                                 min_earth_frac=float(part["earth_fraction"].min()),
                                 lit_hours_after_h=float(part["lit_hours_after_h"].iloc[0]),
                                 lit_to_search_end=bool(part["lit_to_end"].iloc[0])))
    return out


def judge_epoch(dem, target_xy, epoch, params: LandingWindowParams = LandingWindowParams(), *,
                approach_azimuth_deg: float = 90.0, horizon_cube=None, horizon_columns=None,
                observer_height_m: float = 0.0) -> EpochJudgement:
    """Whether a landing at ``epoch`` (UTC) meets the window rules, and each rule it breaks in words.

    Arguments as :func:`find_windows`; the light ahead is followed for ``commission_h`` or ``LOOKAHEAD_H`` (a
    lunation), whichever is longer, on a grid starting at ``epoch``.

    Parameters
    ----------
    dem : xarray.DataArray
        The site DEM, heights in m.
    target_xy : (float, float)
        The landing target, m.
    epoch : str or datetime64
        UTC landing time.
    params : LandingWindowParams
        The rules.
    approach_azimuth_deg : float
        Grid azimuth of the approach (clockwise from +y), the descent's ``approach_azimuth_deg``.
    horizon_cube, horizon_columns : array, optional
        The site's horizon cube (n_az, ny, nx) deg, or the columns (n_az, 1 + track points) of the target and its
        track points; else a ray march at those cells.
    observer_height_m : float
        Eye height of that ray march above the ground, m.
    """
    t = _grid(epoch, max(params.commission_h, LOOKAHEAD_H) + params.step_h, params.step_h)
    r = step_rules(_series(dem, target_xy, t, params, approach_azimuth_deg, horizon_columns, horizon_cube,
                           observer_height_m), params).iloc[0]
    reasons = []
    if not r["vision_ok"]:
        where = "above" if r["sun_margin_deg"] >= 0 else "below"
        if r["sun_margin_deg"] < params.min_sun_margin_deg or r["sun_fraction"] < params.min_sun_frac:
            reasons.append(f"Sun {abs(r['sun_margin_deg']):.2f} deg {where} the local horizon at the target, "
                           f"{100 * r['sun_fraction']:.0f}% of its disk visible (vision needs >= "
                           f"{params.min_sun_margin_deg:g} deg above it and {100 * params.min_sun_frac:.0f}%)")
        if r["track_lit_frac"] < params.min_track_lit_frac:
            reasons.append(f"{100 * r['track_lit_frac']:.0f}% of the descent track lit (vision needs "
                           f">= {100 * params.min_track_lit_frac:.0f}%)")
    if not r["earth_ok"]:
        reasons.append(f"Earth {100 * r['earth_fraction']:.0f}% of its disk in view (needs "
                       f">= {100 * params.min_earth_frac:.0f}%)")
    if not r["commission_ok"]:
        reasons.append(f"first lit period after landing {r['lit_hours_after_h']:.0f} h (commissioning needs "
                       f"{params.commission_h:g} h)")
    return EpochJudgement(epoch=t[0], in_window=bool(r["ok"]), reasons=tuple(reasons),
                          sun_margin_deg=float(r["sun_margin_deg"]), sun_elevation_deg=float(r["sun_elevation_deg"]),
                          sun_fraction=float(r["sun_fraction"]), track_lit_frac=float(r["track_lit_frac"]),
                          earth_fraction=float(r["earth_fraction"]), lit_hours_after_h=float(r["lit_hours_after_h"]),
                          lit_to_search_end=bool(r["lit_to_end"]))


def camera_sun_elevation_deg(judgement: EpochJudgement, params: LandingWindowParams) -> float:
    """Sun elevation (deg) over the terrain the descent camera images, for the vision model.

    The model is :class:`lupex.landing.sensors.SimulatedVision`, which gives no fix at <= 0. The value is the Sun's
    centre above the target's terrain horizon while the target is lit and at least ``min_track_lit_frac`` of the
    track is; else at most 0 (dark frames). The same light test as rule (a), so a landing in a window never flies a
    dark camera.
    """
    m = judgement.sun_margin_deg
    return m if m > 0.0 and judgement.track_lit_frac >= params.min_track_lit_frac else min(m, 0.0)
