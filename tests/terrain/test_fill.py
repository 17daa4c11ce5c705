"""Hole filling (minimum curvature) at the edges of what it accepts: a hole within the radius is filled
back to the plane, valid cells are never touched, and one beyond the radius or the no-data share is refused."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.terrain import fill


def _plane_with_hole(half_px):
    yy, xx = np.mgrid[0:60, 0:60].astype(float)
    z = 100.0 + 0.5 * xx - 0.25 * yy
    holed = z.copy()
    holed[30 - half_px: 30 + half_px, 20 - half_px: 20 + half_px] = np.nan
    return z, holed


def test_hole_within_radius_is_filled_to_the_plane_and_valid_cells_stay():
    z, holed = _plane_with_hole(4)   # an 8 x 8 hole: its centre lies 4 px from the nearest valid cell
    out, mask = fill.fill_nodata(holed, max_hole_radius_px=5)
    assert np.array_equal(mask, np.isnan(holed))
    assert np.array_equal(out[~mask], holed[~mask])  # bit for bit
    np.testing.assert_allclose(out[mask], z[mask], atol=1e-6)


def test_hole_beyond_radius_or_too_much_nodata_is_refused():
    _, holed = _plane_with_hole(4)
    with pytest.raises(InputError):
        fill.fill_nodata(holed, max_hole_radius_px=3)
    with pytest.raises(InputError):
        fill.fill_nodata(holed, max_nodata_frac=0.01)   # 64 of 3600 cells is 1.8 %
    with pytest.raises(InputError):
        fill.fill_nodata(np.full((5, 5), np.nan))
    clean = np.ones((4, 4))
    out, mask = fill.fill_nodata(clean)
    assert not mask.any() and np.array_equal(out, clean)
