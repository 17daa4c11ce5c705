"""Per-cell visibility series against point_series (vectorised numpy, exact asin/atan2) on a small site."""

import numpy as np
import pytest

from lupex import ephemeris
from lupex.errors import InputError
from lupex.light.horizon import horizon_angles
from lupex.light.illumination import point_series
from lupex.light.visibility import corridor_window, visibility_series
from lupex.terrain import generate_site


@pytest.fixture(scope="module")
def site():
    dem = generate_site(seed=2, size_m=1500, pixel_m=30).dem
    cube = horizon_angles(np.asarray(dem.values), 30.0, 72)
    times = ephemeris.time_grid("2027-01-01T00:00:00", "2027-01-15T00:00:00", 2.0)
    return dem, cube, times


def test_series_matches_point_series(site):
    dem, cube, times = site
    win = (10, 30, 5, 40)
    vs = visibility_series(dem, cube, times, window=win)
    assert vs.sun.shape == (times.size, 20, 35) and vs.sun.dtype == np.uint8
    rc = [(10, 5), (17, 22), (29, 39)]
    pts = [(float(dem.x[c]), float(dem.y[r])) for r, c in rc]
    ps = point_series(dem, cube, pts, times)
    for i, (r, c) in enumerate(rc):
        for name, cube_u8 in (("sun_fraction", vs.sun), ("earth_fraction", vs.earth)):
            ours = cube_u8[:, r - 10, c - 5] / 255.0
            ref = ps[name].values[i]
            assert np.max(np.abs(ours - ref)) <= 1 / 510 + 2e-3  # quantisation + the kernel's table interpolation
            assert np.array_equal(ours == 0, ref == 0)  # dark is exact
    # the window's cells are the full grid's (no dependence on the window)
    full = visibility_series(dem, cube, times)
    assert np.array_equal(full.sun[:, 10:30, 5:40], vs.sun)


def test_time_index_and_window_errors(site):
    dem, cube, times = site
    vs = visibility_series(dem, cube, times[:3], window=(0, 2, 0, 2))
    assert vs.time_index("2027-01-01T03:00:00") == 1
    with pytest.raises(InputError, match="outside the light series"):
        vs.time_index("2026-12-31T00:00:00")
    with pytest.raises(InputError, match="window"):
        visibility_series(dem, cube, times[:3], window=(0, 999, 0, 2))
    assert corridor_window((50, 50), [(10, 10), (20, 30)], 5) == (5, 26, 5, 36)
