"""The survey's rock selection along a path, against a brute-force distance to each segment: rocks within the
search width are kept with their along-track and signed cross-track positions (positive right of travel);
rocks at the surface, too deep or too far are left out."""

import numpy as np
import pandas as pd
import pytest

from lupex.mission import survey_instruments as si


def test_rocks_along_an_l_shaped_path():
    path = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]])   # east, then north
    rocks = pd.DataFrame({
        "x_m":      [10.0, 50.0, 50.0, 103.0, 97.0, 50.0, 50.0, 50.0],
        "y_m":      [-2.0, 1.5, 30.0, 60.0, 20.0, 0.0, 0.5, 0.0],
        "depth_m":  [0.5, 0.8, 0.5, 0.4, 0.6, 0.1, 3.5, 0.5],
        "radius_m": [0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.1, 0.1],
    })
    got = si.rocks_along_path(rocks, path, search_m=5.0, depth_max_m=2.0)
    # kept: 0 (s 10, 2 m right of an eastward track), 1 (s 50, 1.5 m left), 3 (s 160, 3 m right of the northward
    # leg), 4 (s 120, 3 m left), 7 (s 50, on the track); left out: 2 (30 m away), 5 (reaches the surface),
    # 6 (below 2 m)
    got = got.sort_values(["s_m", "cross_m"]).reset_index(drop=True)
    np.testing.assert_allclose(got["s_m"], [10.0, 50.0, 50.0, 120.0, 160.0], atol=1e-12)
    np.testing.assert_allclose(got["cross_m"], [2.0, -1.5, 0.0, -3.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(got["depth_m"], [0.5, 0.8, 0.5, 0.6, 0.4])
    assert list(si.rocks_along_path(None, path, 5.0, 2.0).columns) == ["s_m", "cross_m", "depth_m", "radius_m",
                                                                        "x_m", "y_m"]
    assert si.rocks_along_path(rocks, path, search_m=0.1, depth_max_m=2.0)["s_m"].tolist() == pytest.approx([50.0])
