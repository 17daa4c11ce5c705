"""Point statistics over long spans (lupex.light.points) against the per-cell maps and a plain loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lupex import ephemeris
from lupex.errors import InputError
from lupex.light.illumination import light_statistics
from lupex.light.points import longest_run, point_statistics

from tests.light.test_illumination import _dem, _wavy_cube


@given(st.lists(st.booleans(), min_size=1, max_size=60))
@settings(max_examples=200, deadline=None)
def test_longest_run_matches_a_plain_loop(bits):
    best = cur = 0
    for b in bits:
        cur = cur + 1 if b else 0
        best = max(best, cur)
    assert longest_run(np.array(bits)) == best


def test_points_equal_the_map_at_their_cells():
    """Invariant: the same horizons and the same span give the same numbers through the map kernel
    (light_statistics, numba, tile by tile) and through the point path (vectorised numpy, in chunks)."""
    dem = _dem(6, 2000.0, cx=-11_000.0, cy=-12_000.0)
    cube = _wavy_cube(dem, np.random.default_rng(4))
    times = ephemeris.time_grid("2027-01-01", "2027-04-01", 2.0)
    stats = light_statistics(dem, cube, times)
    rows, cols = np.array([0, 2, 5, 3]), np.array([1, 4, 0, 3])
    pts = np.column_stack([dem["x"].values[cols], dem["y"].values[rows]])
    df = point_statistics(dem, pts, times, horizon_cube=cube, chunk_steps=333)  # chunks that split dark runs
    for name in ("illumination_pct", "sunlit_time_pct", "earth_visible_pct"):
        # the kernel sums float32 fractions per tile, the point path float64: 1e-3 percentage points
        np.testing.assert_allclose(df[name], stats[name].values[rows, cols], atol=1e-3, err_msg=name)
    # run lengths are counts of steps; a step whose fraction sits at the threshold within rounding could
    # flip, so allow one step (2 h)
    np.testing.assert_allclose(df["longest_darkness_h"], stats["longest_darkness_h"].values[rows, cols], atol=2.0)
    assert (df["centre_lit_pct"] <= df["sunlit_time_pct"] + 1e-9).all()
    assert (df["illumination_pct"] <= df["sunlit_time_pct"] + 1e-9).all()


def test_horizon_columns_replace_the_cube():
    dem = _dem(4, 1000.0)
    cube = _wavy_cube(dem, np.random.default_rng(1))
    times = ephemeris.time_grid("2027-01-01", "2027-01-20", 3.0)
    pts = np.array([[dem["x"].values[1], dem["y"].values[2]]])
    a = point_statistics(dem, pts, times, horizon_cube=cube)
    b = point_statistics(dem, pts, times, horizon_columns=cube[:, 2:3, 1].astype(float))
    np.testing.assert_allclose(a.drop(columns=["x_m", "y_m"]).values, b.drop(columns=["x_m", "y_m"]).values)
    with pytest.raises(InputError, match="horizon_columns"):
        point_statistics(dem, pts, times, horizon_columns=np.zeros((360, 2)))
    with pytest.raises(InputError, match="regular"):
        point_statistics(dem, pts, times[[0, 1, 3]], horizon_cube=cube)
