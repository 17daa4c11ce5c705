"""Traverse geometry: along-track length and positions of an L-shaped path by hand, the cells a straight path
crosses and where, vertices off the grid refused, and the GeoJSON written and read back to the same metres."""

import json

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.mission import traverse as tv
from lupex.terrain.io import dem_from_array


def _dem(n=50, p=10.0):
    x = (np.arange(n) - (n - 1) / 2) * p + 2000.0   # off the pole, so lon/lat is not also a metre reading
    y = -(np.arange(n) - (n - 1) / 2) * p + 1000.0
    return dem_from_array(np.zeros((n, n)), x, y, source="flat")


def test_l_shaped_path_length_positions_and_headings():
    p = tv.as_path([[0.0, 0.0], [30.0, 0.0], [30.0, 0.0], [30.0, 40.0]])   # the repeated vertex is dropped
    assert p.xy.shape == (3, 2) and p.length_m == 70.0
    x, y, heading = p.at([0.0, 15.0, 30.0, 50.0, 99.0])
    np.testing.assert_allclose(x, [0, 15, 30, 30, 30])
    np.testing.assert_allclose(y, [0, 0, 0, 20, 40])   # clipped at the end
    np.testing.assert_allclose(heading, [90, 90, 0, 0, 0])   # grid azimuth: east 90, north 0
    for bad in ([[0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [np.nan, 1.0]]):
        with pytest.raises(InputError):
            tv.as_path(bad)


def test_cell_runs_of_a_straight_path():
    dem = _dem()
    g = tv.Grid.of(dem)
    x0 = float(dem.x[10])
    y0 = float(dem.y[20])
    path = tv.as_path([[x0 - 2.0, y0], [x0 + 33.0, y0]])   # 35 m east along one row, from 2 m west of a centre
    edges, iy, ix = tv.cell_runs(path, g)
    # crossing the boundaries at +5, +15, +25 m from the centre: 2 m before the first one, 10 m between
    np.testing.assert_allclose(edges, [0.0, 7.0, 17.0, 27.0, 35.0])
    assert list(iy) == [20] * 4 and list(ix) == [10, 11, 12, 13]
    with pytest.raises(InputError, match="vertex 1"):
        tv.check_on_grid(np.array([[x0, y0], [x0 + 1e4, y0]]), g)


def test_geojson_round_trip(tmp_path):
    dem = _dem()
    xy = np.array([[1900.0, 950.0], [2050.0, 1000.0], [2100.0, 1150.0]])
    feature = tv.path_to_geojson(xy, dem)
    lon, lat = np.array(feature["geometry"]["coordinates"]).T
    assert np.all(lat < -89.9)   # a few km from the south pole
    f = tmp_path / "path.geojson"
    f.write_text(json.dumps(feature))
    np.testing.assert_allclose(tv.path_from_geojson(f, dem), xy, atol=1e-6)
