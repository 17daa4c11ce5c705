"""Traverse planner on constructed light (analytic cases) and on the synthetic site (invariants, errors, outputs)."""

import dataclasses
import json

import numpy as np
import pytest

from lupex.light.visibility import VisibilitySeries
from lupex.rover import havens as H
from lupex.rover import planner as P
from lupex.rover.vehicle import BatteryParams, RoverParams
from lupex.terrain import dem_from_array

T0 = np.datetime64("2027-01-01T00:00:00", "ns")


def flat_dem(n=30, pixel=20.0):
    x = (np.arange(n) - n / 2) * pixel
    y = -x
    return dem_from_array(np.zeros((n, n)), x, y)


def light_of(sun, earth=None, step_s=3600.0):
    nt = sun.shape[0]
    return VisibilitySeries(
        times=T0 + (np.arange(nt) * step_s * 1e9).astype("timedelta64[ns]"), step_s=step_s, row0=0, col0=0,
        sun=sun.astype(np.uint8), earth=(np.full_like(sun, 255) if earth is None else earth).astype(np.uint8),
        sun_azimuth_deg=np.full(nt, 90.0), sun_elevation_deg=np.full(nt, 1.0),
        sun_distance_m=np.full(nt, 1.496e11), earth_elevation_deg=np.full(nt, 5.0),
    )


def xy(dem, r, c):
    return float(dem.x[c]), float(dem.y[r])


def test_flat_lit_map_straight_line_time():
    """All lit, flat: arrival = cells x ceil(pixel / v_flat / tick) ticks (speed from the mobility model)."""
    from lupex.rover import mobility

    dem = flat_dem()
    light = light_of(np.full((48, 30, 30), 255))
    p = P.plan(dem, light, xy(dem, 15, 2), xy(dem, 15, 22), "2027-01-01T00:00:00")
    v = mobility.speed_m_s(0.0)
    per = np.ceil(20.0 / v / 20)
    assert p.duration_h == pytest.approx(20 * per * 20 / 3600)
    assert p.wait_time_h == 0 and p.longest_shadow_h == 0
    assert p.distance_m == pytest.approx(400.0)
    assert p.min_soc > 0.9


def test_waits_for_light_when_the_dark_band_is_too_long_for_the_battery():
    """A dark band across the map for the first 10 h; with a small battery the rover must hold back for sunrise."""
    dem = flat_dem()
    sun = np.full((48, 30, 30), 255)
    sun[:10, :, 6:24] = 0  # 360 m of shadow: ~1.1 h of driving, ~300 Wh with heaters
    light = light_of(sun)
    small = dataclasses.replace(RoverParams(), battery=BatteryParams(capacity_wh=250.0))
    big = RoverParams()
    a = P.plan(dem, light, xy(dem, 15, 2), xy(dem, 15, 26), "2027-01-01T00:00:00", rover=big)
    b = P.plan(dem, light, xy(dem, 15, 2), xy(dem, 15, 26), "2027-01-01T00:00:00", rover=small)
    assert a.wait_time_h == 0 and a.longest_shadow_h > 0.5
    # it holds back (waiting, or driving about in the light: equal arrival) until the band is short enough
    assert b.duration_h > a.duration_h + 5.0
    assert b.min_soc >= small.battery.soc_min - 1e-9
    # it crosses the band in shadow only as long as the small battery allows
    assert b.longest_shadow_h < a.longest_shadow_h


def test_soc_from_step_battery_matches_the_search_deficit():
    """The kernel's deficit and power.step_battery (independent bookkeeping) give the same end SOC."""
    dem = flat_dem()
    rng = np.random.default_rng(3)
    sun = rng.integers(0, 256, (48, 30, 30))
    sun[rng.random(sun.shape) < 0.4] = 0
    light = light_of(sun)
    rover = RoverParams()
    prob = P.build_problem(dem, light, rover).with_start("2027-01-01T00:00:00")
    res = P.astar(prob, 15 * 30 + 2, 15 * 30 + 26, 0, 0.0)
    assert res.status == P.FOUND
    p = P.build_plan(dem, prob, P.segments_from_search(res), rover, 1.0)
    cap_j = rover.battery.capacity_wh * 3600
    assert p.soc[-1] == pytest.approx(1.0 - res.deficit_j[-1] / cap_j, abs=1e-9)


def test_errors_outside_impassable_unreachable_time_battery():
    dem = flat_dem()
    z = np.zeros((30, 30))
    z[:, 14:16] = np.arange(2)[None, :] * 200.0  # a 200 m wall: x-gradient ~84 deg
    wall = dem_from_array(z, dem.x.values, dem.y.values)
    light = light_of(np.full((24, 30, 30), 255))
    with pytest.raises(P.PlanError, match="outside the DEM"):
        P.plan(dem, light, (1e6, 0.0), xy(dem, 5, 5), "2027-01-01T00:00:00")
    with pytest.raises(P.PlanError, match="impassable slope"):
        P.plan(wall, light, xy(wall, 5, 14), xy(wall, 5, 5), "2027-01-01T00:00:00")
    with pytest.raises(P.PlanError, match="slope limits"):
        P.plan(wall, light, xy(wall, 5, 2), xy(wall, 5, 25), "2027-01-01T00:00:00")
    from lupex.errors import LupexError

    with pytest.raises(LupexError, match="outside the light series"):
        P.plan(dem, light, xy(dem, 5, 2), xy(dem, 5, 25), "2027-02-01T00:00:00")
    with pytest.raises(P.PlanError, match="light series ends"):
        P.plan(dem, light, xy(dem, 2, 2), xy(dem, 27, 27), "2027-01-01T23:00:00")
    dark = light_of(np.zeros((24, 30, 30)))
    tiny = dataclasses.replace(RoverParams(), battery=BatteryParams(capacity_wh=50.0))
    with pytest.raises(P.PlanError, match="battery"):
        P.plan(dem, dark, xy(dem, 5, 2), xy(dem, 5, 25), "2027-01-01T00:00:00", rover=tiny)


def test_havens_route_through_a_lit_spot():
    """The map goes dark for 16 h except a small always-lit haven; the battery cannot cross the dark.

    Both the space-time A* (which may wait anywhere) and the haven router find a plan that parks
    at the haven; the unrestricted A* is never later than the haven-restricted route.
    """
    dem = flat_dem(20)
    sun = np.zeros((30, 20, 20), np.uint8)
    sun[:1] = 255  # everything lit for the first hour
    sun[17:] = 255  # and again after 17 h
    sun[:, 9:11, 9:11] = 255  # a haven always lit
    light = light_of(sun)
    rover = dataclasses.replace(RoverParams(), battery=BatteryParams(capacity_wh=150.0))
    s, g = xy(dem, 10, 0), xy(dem, 10, 19)
    direct = P.plan(dem, light, s, g, "2027-01-01T00:30:00", rover=rover)
    hv = H.find_havens(dem, light, rover, min_earth_pct=0)
    assert len(hv) >= 1 and (hv["longest_darkness_h"] == 0).any()
    p = H.plan_via_havens(dem, light, s, g, "2027-01-01T00:30:00", hv, rover=rover)
    assert p.times[-1] >= direct.times[-1]
    # in the dark hours the rover can only be at the haven (elsewhere the battery would run out)
    for q in (p, direct):
        mid = (q.times > np.datetime64("2027-01-01T05:00:00")) & (q.times < np.datetime64("2027-01-01T15:00:00"))
        assert mid.any() and np.all((q.rows[mid] >= 9) & (q.rows[mid] < 11) & (q.cols[mid] >= 9) & (q.cols[mid] < 11))
    assert direct.times[-1] >= np.datetime64("2027-01-01T17:00:00")  # nobody crosses before sunrise
    for q in (p, direct):
        assert q.min_soc >= rover.battery.soc_min - 1e-9


def test_outputs_geojson_and_pngs():
    dem = flat_dem()
    light = light_of(np.full((24, 30, 30), 255))
    p = P.plan(dem, light, xy(dem, 3, 3), xy(dem, 20, 25), "2027-01-01T00:00:00")
    gj = P.plan_geojson(p)
    json.dumps(gj)
    assert gj["crs"]["properties"]["name"] == "IAU_2015:30100"
    assert gj["features"][0]["geometry"]["type"] == "LineString"
    pts = gj["features"][1:]
    assert len(pts) == len(p.times) and pts[0]["properties"]["time"].endswith("Z")
    lat = np.array([f["geometry"]["coordinates"][1] for f in pts])
    assert np.all(lat < -89.0)  # on the lunar sphere near the south pole
    from lupex.report.rover import plan_map_png, plan_profile_png

    for png in (plan_map_png(p, dem), plan_profile_png(p)):
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    df = p.to_dataframe()
    assert len(df) == len(p.times) and {"soc", "electronics_k", "shadow_h"} <= set(df.columns)
