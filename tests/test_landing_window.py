"""Landing windows (lupex.landing.window) on the real default site, against an independent computation.

The independent side takes the Sun and Earth from SPICE at each point's own latitude, longitude and height
(:func:`lupex.ephemeris.topocentric`) and the horizon from a plain numpy ray march along the body's exact grid
azimuth, then applies the three rules by hand; the code under test interpolates a 180-azimuth horizon and the
site-frame sky of :func:`lupex.light.illumination.point_series`. Steps where a margin lies within ``TOL_DEG`` of a
threshold are left undecided (the two horizons may differ by that much between azimuths).
"""

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import map_coordinates

from lupex import ephemeris as eph
from lupex.config import Config, load
from lupex.landing import window as W
from lupex.mission.site_analysis import load_site
from lupex.terrain.geo import grid_north_azimuth_deg, lonlat_grid, pixel_size_m

# the top-ranked landing site of the default run (site01 with its LDEM far field, 2027-01-01 + 365 days at 1 h,
# 360 azimuths, eye 2 m up; sites.csv rank 1: lat -89.4390, lon -137.1440, 1959 m, 87.7 % illumination, Earth
# 51.1 %), measured 2026-12-06. The tests below use the site DEM's own horizons (no far field) on both sides.
BEST_XY = (-11570.0, -12470.0)
DARK_EPOCH = "2028-02-14T06:00:00"  # issue 17: the default `lupex land --epoch` that landed in the dark
START, DAYS, STEP_H, N_AZ = "2027-01-10T00:00:00", 21.0, 3.0, 180
TOL_DEG = 0.25  # the 180-azimuth interpolation differs from the exact-azimuth march by up to 0.17 deg here
SUN_RADIUS_DEG = 0.2666  # 696,000 km at 1 au: the independent side's own disk size (+-1.7 % over the year)
EARTH_RADIUS_DEG = 0.95  # 6,371 km at ~384,000 km


@pytest.fixture(scope="module")
def dem():
    return load_site(Config())[0]


@pytest.fixture(scope="module")
def params():
    return W.LandingWindowParams(search_days=DAYS, step_h=STEP_H, n_azimuths=N_AZ)


@pytest.fixture(scope="module")
def columns(dem, params):
    pts = np.vstack([np.asarray(BEST_XY)[None], W.descent_track_xy(dem, BEST_XY, 90.0, params)])
    return pts, W.track_horizons(dem, pts, n_azimuths=N_AZ)


@pytest.fixture(scope="module")
def windows(dem, params, columns):
    return W.find_windows(dem, BEST_XY, START, params, horizon_columns=columns[1])


def _cell(dem, xy):
    """(row, col) of the nearest cell; a point midway between two (track points can be) goes to the even index, the
    convention of point_series (numpy's rint)."""
    x = np.asarray(dem["x"].values, float)
    y = np.asarray(dem["y"].values, float)
    return int(np.rint((xy[1] - y[0]) / (y[1] - y[0]))), int(np.rint((xy[0] - x[0]) / (x[1] - x[0])))


def _horizon_deg(z, pixel_m, row, col, az_grid_deg):
    """Horizon elevation (deg) from a cell along a grid azimuth (clockwise from +y = up the rows' reverse), by
    marching quarter-pixel steps to the DEM's edge with bilinear heights and the sphere's drop d^2 / 2R."""
    a = np.radians(az_grid_deg)
    ny, nx = z.shape
    d_px = np.arange(0.25, 2.0 * max(ny, nx), 0.25)
    cc = col + d_px * np.sin(a)
    rr = row - d_px * np.cos(a)  # rows grow southward (-y)
    keep = (cc >= 0) & (cc <= nx - 1) & (rr >= 0) & (rr <= ny - 1)
    d_m = d_px[keep] * pixel_m
    h = map_coordinates(z, [rr[keep], cc[keep]], order=1)
    return float(np.degrees(np.arctan((h - z[row, col] - d_m**2 / (2 * eph.MOON_RADIUS_M)) / d_m)).max())


def _independent_margins(dem, pts, times):
    """(body) -> (n_points, n_times) elevation of the body's centre above the ray-marched horizon, deg."""
    z = np.asarray(dem.values, float)
    px = pixel_size_m(dem)
    out = {"SUN": np.empty((len(pts), len(times))), "EARTH": np.empty((len(pts), len(times)))}
    for i, xy in enumerate(pts):
        r, c = _cell(dem, xy)
        cell = dem.isel(y=[r], x=[c])
        lon, lat = (float(v[0, 0]) for v in lonlat_grid(cell))
        gna = float(grid_north_azimuth_deg(cell)[0, 0])
        for body in out:
            topo = eph.topocentric(body, lat, lon, float(z[r, c]), times=times)
            for k, (el, az) in enumerate(zip(topo.elevation_deg, topo.azimuth_deg)):
                out[body][i, k] = el - _horizon_deg(z, px, r, c, (az + gna) % 360.0)
    return out


def _rules(m, p, shift):
    """The three rules by hand from margins shifted by ``shift`` deg (the horizon lowered by it)."""
    sun, earth = m["SUN"] + shift, m["EARTH"] + shift
    vis = sun >= max(p.min_sun_margin_deg, SUN_RADIUS_DEG)  # whole disk up and the margin met
    vision = vis[0] & (vis[1:].mean(axis=0) >= p.min_track_lit_frac)
    earth_ok = earth[0] >= 0.0  # half of Earth's disk above a straight horizon: its centre above it
    lit = sun[0] > -SUN_RADIUS_DEG
    run = np.zeros(lit.size)
    for k in range(lit.size - 1, -1, -1):
        run[k] = (run[k + 1] + 1 if k + 1 < lit.size else 1) if lit[k] else 0
    return vision & earth_ok & (run * STEP_H >= p.commission_h)


def test_windows_match_sun_earth_and_horizons_computed_independently(dem, params, columns, windows):
    pts = columns[0]
    assert len(pts) >= 3  # the target and at least two track points on the DEM (the approach comes from -x)
    n_search = int(DAYS * 24 / STEP_H) + 1
    times = np.datetime64(START) + np.arange(n_search + int(params.commission_h / STEP_H) + 1) * np.timedelta64(
        int(STEP_H * 3600), "s")
    m = _independent_margins(dem, pts, times)
    lo, hi = _rules(m, params, -TOL_DEG)[:n_search], _rules(m, params, +TOL_DEG)[:n_search]
    in_win = np.zeros(n_search, bool)
    for w in windows:
        in_win[(times[:n_search] >= w.start) & (times[:n_search] <= w.end)] = True
    decided = lo == hi
    assert decided.mean() > 0.7, f"only {decided.mean():.0%} of the steps decided at {TOL_DEG} deg"
    assert lo.any() and (~hi).any()  # the span holds both window and no-window steps
    bad = np.flatnonzero(decided & (in_win != lo))
    assert bad.size == 0, f"windows disagree with the independent rules at {times[bad][:5]}"
    assert not (in_win & ~hi).any()  # no window step that the kindest horizon would refuse


def test_forced_dark_epoch_at_the_best_site_is_flagged(dem):
    """2028-02-14T06:00 UTC: the Sun is below the best site's horizontal (SPICE), the descent track is mostly in
    shadow and Earth is down; the run flies it but flags it."""
    from lupex.mission.landing_phase import choose_landing

    r, c = _cell(dem, BEST_XY)
    cell = dem.isel(y=[r], x=[c])
    lon, lat = (float(v[0, 0]) for v in lonlat_grid(cell))
    sun = eph.topocentric("SUN", lat, lon, float(dem.values[r, c]), times=[np.datetime64(DARK_EPOCH)])
    assert -1.0 < float(sun.elevation_deg[0]) < 0.0  # dark there indeed (issue 17 quotes ~0.6 deg below)
    cfg = load(overrides=[f'landing.epoch="{DARK_EPOCH}"', "landing_window.n_azimuths=36",
                          "landing_window.search_days=10", "landing_window.step_h=6"])
    sites = pd.DataFrame({"x_m": [BEST_XY[0]], "y_m": [BEST_XY[1]], "lat_deg": [lat], "lon_deg": [lon]})
    choice = choose_landing(cfg, dem, sites)
    assert choice.forced and not choice.in_window and choice.epoch == np.datetime64(DARK_EPOCH)
    assert choice.judgement.sun_elevation_deg == pytest.approx(float(sun.elevation_deg[0]), abs=0.01)
    # the camera flies dark: the ridge-top target may be lit, but none of the 3 track points on the DEM is
    assert W.camera_sun_elevation_deg(choice.judgement, cfg.landing_window) <= 0.0
    assert "descent track lit" in choice.judgement.reason and "Earth" in choice.judgement.reason
    s = choice.summary()
    assert s["in_window"] is False and s["window_reason"] == choice.judgement.reason
    assert choice.lines()[0].startswith("WARNING") and "outside every landing window" in choice.lines()[0]


def test_every_window_step_meets_all_three_rules_and_the_steps_beside_do_not(dem, params, columns, windows):
    """Invariant: judged on its own (a grid starting at it), every step of every window is in a window; the
    step before and after each window inside the span is not."""
    assert windows, "the span was chosen to hold windows"
    step = np.timedelta64(int(STEP_H * 3600), "s")
    end = np.datetime64(START) + np.timedelta64(int(DAYS * 86400), "s")
    for w in windows:
        t = w.start
        while t <= w.end:
            j = W.judge_epoch(dem, BEST_XY, t, params, horizon_columns=columns[1])
            assert j.in_window and not j.reasons, (t, j.reason)
            assert j.sun_margin_deg >= params.min_sun_margin_deg and j.earth_fraction >= params.min_earth_frac
            assert j.lit_hours_after_h >= params.commission_h and j.track_lit_frac >= params.min_track_lit_frac
            assert W.camera_sun_elevation_deg(j, params) >= params.min_sun_margin_deg  # the camera sees light
            t = t + step
        for t in (w.start - step, w.end + step):
            if np.datetime64(START) <= t <= end:
                j = W.judge_epoch(dem, BEST_XY, t, params, horizon_columns=columns[1])
                assert not j.in_window and j.reasons, t
        assert w.min_sun_margin_deg >= params.min_sun_margin_deg and w.lit_hours_after_h >= params.commission_h


def test_a_dark_descent_gets_no_crater_fixes():
    """With the Sun at or below the horizontal the simulated camera gives no fix: the filter runs on IMU and
    altimeter alone; at a low positive Sun it still fixes most frames."""
    from lupex.landing import sensors as sens

    for el in (-0.62, 0.0):
        assert sens.SimulatedVision(sun_elevation_deg=el).p_drop() == 1.0
    assert sens.SimulatedVision(sun_elevation_deg=1.0).p_drop() < 0.3
    # through a whole (short) descent: the dark one accepts no vision fix, the lit one does
    import dataclasses

    from lupex.landing import descent as d
    from lupex.landing import montecarlo as mc
    from lupex.terrain import generate_site

    site = generate_site(1, size_m=3000.0, pixel_m=5.0, shackleton=False)
    short = d.DescentConfig(sun_azimuth_deg=0.0, pdi_altitude_m=3000.0, pdi_speed_m_s=150.0, braking_decel_m_s2=1.5,
                            gate_altitude_m=800.0, gate_descent_m_s=20.0, hazard_detection=False)
    runs = {el: mc.run_monte_carlo(site, (0.0, 750.0), 1, seed=5, config=dataclasses.replace(short, sun_elevation_deg=el),
                                   check_target=False) for el in (-0.62, 1.0)}
    assert (runs[-0.62].vision_accepted == 0).all() and (runs[1.0].vision_accepted > 0).all()
    assert runs[-0.62].nav_err_50m.iloc[0] > runs[1.0].nav_err_50m.iloc[0]  # and navigates worse for it


def test_a_run_lands_at_its_first_window_and_says_so(small_mission):
    """``lupex run`` with landing.epoch empty (the small synthetic run): the epoch flown is the first window's start
    (or time.start, flagged, when the search found none), the rover phase and the campaign start a day later, and
    landing_summary.json and the report's landing section carry the verdict."""
    import json

    run_dir, calls, result = small_mission
    choice = result.landing_window
    assert choice is not None and not choice.forced
    if choice.windows:
        assert choice.in_window and choice.epoch == choice.windows[0].start
    else:
        assert not choice.in_window and "no landing window" in choice.flag()
    assert result.landing.epoch == choice.epoch
    day = np.timedelta64(1, "D")
    assert np.datetime64(result.rover.plan.times[0], "s") == choice.epoch + day  # the rover leaves a day later
    if result.campaign is not None:  # and the campaign starts from there too
        assert np.datetime64(result.campaign.start_utc[:19], "s") == choice.epoch + day
    s = json.loads((run_dir / "landing_summary.json").read_text())
    assert s["in_window"] == choice.in_window and s["epoch_utc"].startswith(str(choice.epoch)[:19])
    landing = next(sec for sec in calls[-1] if sec.id == "landing")
    assert "landing window" in landing.paragraphs[0] and str(choice.epoch)[:19] in landing.paragraphs[0]
