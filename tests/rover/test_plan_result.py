"""lupex.rover.plan_result: a planned traverse on a flat lit map as states (segments by hand, distance = the grid
moves, time = drive + wait), its table and its GeoJSON (the states' lon/lat, one point each)."""

import types

import numpy as np
import pytest

from lupex.rover import plan_result as PR
from lupex.rover import planner as P
from lupex.terrain.geo import LUNAR_LONLAT_CRS
from tests.rover.test_planner import flat_dem, light_of, xy


def test_segments_from_a_search_by_hand():
    res = types.SimpleNamespace(cells=np.array([5, 6, 6, 36]), ticks=np.array([0, 3, 10, 14]))
    segs = PR.segments_from_search(res)
    assert segs == [PR.Segment(0, 3, 5, 6, "drive"), PR.Segment(3, 10, 6, 6, "wait"),
                    PR.Segment(10, 14, 6, 36, "drive")]


@pytest.fixture(scope="module")
def plan():
    dem = flat_dem()
    return dem, P.plan(dem, light_of(np.full((48, 30, 30), 255)), xy(dem, 15, 2), xy(dem, 10, 12), "2027-01-01T00:00:00")


def test_the_plan_is_the_grid_moves_and_its_times(plan):
    dem, p = plan
    assert isinstance(p, PR.Plan)
    # 10 columns and 5 rows: the shortest 8-connected path is 5 diagonal and 5 straight moves of 20 m (flat ground)
    assert p.distance_m == pytest.approx(20.0 * (5 * np.sqrt(2) + 5), rel=1e-9)
    assert p.duration_h == pytest.approx(p.drive_time_h + p.wait_time_h, rel=1e-12)
    assert (p.rows[0], p.cols[0], p.rows[-1], p.cols[-1]) == (15, 2, 10, 12) and p.mode[-1] == "arrive"
    np.testing.assert_array_equal(p.x_m, dem.x.values[p.cols])
    assert p.min_soc == pytest.approx(p.soc.min()) and p.longest_shadow_h == 0.0
    df = p.to_dataframe()
    assert len(df) == len(p.times) and list(df["battery_k"]) == list(p.temperature_k[:, 1])
    assert p.summary()["distance_m"] == p.distance_m


def test_the_geojson_holds_the_path_and_one_point_per_state(plan):
    _, p = plan
    gj = PR.plan_geojson(p)
    assert LUNAR_LONLAT_CRS in str(gj["crs"])
    line, *points = gj["features"]
    assert line["geometry"]["coordinates"] == [[float(a), float(b)] for a, b in zip(p.lon_deg, p.lat_deg)]
    assert line["properties"]["kind"] == "path" and line["properties"]["distance_m"] == p.distance_m
    assert len(points) == len(p.times) and [q["properties"]["index"] for q in points] == list(range(len(p.times)))
    assert points[-1]["properties"]["mode"] == "arrive" and points[0]["properties"]["time"].endswith("Z")
    assert all(-90.0 <= c[1] <= -89.0 for c in line["geometry"]["coordinates"])     # within 30 km of the pole
