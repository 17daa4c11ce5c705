"""Grid geometry against the closed-form south polar stereographic projection (Snyder 1987, eq. 21-33)."""

import numpy as np
import pytest
import xarray as xr

from lupex.errors import InputError
from lupex.terrain.geo import cell_of, grid_north_azimuth_deg, lonlat_grid, pixel_size_m, xy_from_lonlat

R = 1_737_400.0


def _grid(n=21, px=500.0, x0=0.0, y0=0.0):
    x = x0 + (np.arange(n) - n // 2) * px
    y = y0 - (np.arange(n) - n // 2) * px
    return xr.DataArray(np.zeros((n, n)), dims=("y", "x"), coords={"x": x, "y": y}).rio.write_crs("IAU_2015:30135")


def test_lonlat_matches_snyder_sphere_formula():
    da = _grid(px=2000.0, x0=30_000.0, y0=-20_000.0)
    lon, lat = lonlat_grid(da)
    xx, yy = np.meshgrid(da.x.values, da.y.values)
    rho = np.hypot(xx, yy)
    # south polar stereographic on a sphere, k0 = 1: rho = 2 R tan(pi/4 + lat/2)  (Snyder eq. 21-33 with lat -> -lat)
    lat_ref = np.degrees(2 * np.arctan(rho / (2 * R)) - np.pi / 2)
    lon_ref = np.degrees(np.arctan2(xx, yy))
    np.testing.assert_allclose(lat, lat_ref, atol=1e-9)
    np.testing.assert_allclose((lon - lon_ref + 180) % 360 - 180, 0, atol=1e-7)
    x2, y2 = xy_from_lonlat(da, lon, lat)
    np.testing.assert_allclose(x2, xx, atol=1e-6)
    np.testing.assert_allclose(y2, yy, atol=1e-6)


def test_grid_north_azimuth_equals_longitude_at_south_pole():
    da = _grid(px=700.0)
    lon, lat = lonlat_grid(da)
    gn = grid_north_azimuth_deg(da)
    off_pole = np.abs(lat) < 90 - 1e-6
    assert off_pole.sum() == lon.size - 1  # only the centre cell is the pole itself
    np.testing.assert_allclose(((gn - lon) % 360 + 180) % 360 - 180, 0, atol=1e-5, rtol=0)


def test_pixel_checks():
    da = _grid()
    assert pixel_size_m(da) == 500.0
    bad = da.assign_coords(y=da.y * 1.5)
    with pytest.raises(InputError, match="non-square"):
        pixel_size_m(bad)
    irregular = da.assign_coords(x=np.r_[da.x.values[:-1], da.x.values[-1] + 7])
    with pytest.raises(InputError, match="irregular"):
        pixel_size_m(irregular)


def test_cell_of_is_the_nearest_cell_centre():
    """Against brute force: the cell whose centre is nearest by Euclidean distance (points off the cell
    boundaries); a point one metre past the outer half pixel is outside; a tie goes to the even index."""
    da = _grid(n=9, px=20.0, x0=1_000.0, y0=-3_000.0)
    rng = np.random.default_rng(5)
    x, y = da.x.values, da.y.values
    pts = np.column_stack([rng.uniform(x.min() - 9.9, x.max() + 9.9, 200), rng.uniform(y.min() - 9.9, y.max() + 9.9, 200)])
    xx, yy = np.meshgrid(x, y)
    d2 = (xx.ravel()[None, :] - pts[:, :1]) ** 2 + (yy.ravel()[None, :] - pts[:, 1:]) ** 2
    want_r, want_c = np.unravel_index(np.argmin(d2, axis=1), xx.shape)
    row, col = cell_of(da, pts)
    np.testing.assert_array_equal(row, want_r)
    np.testing.assert_array_equal(col, want_c)
    r, c = cell_of(da, pts[0])
    assert isinstance(r, int) and (r, c) == (want_r[0], want_c[0])
    assert cell_of(da, (x[0] + 10.0, y[0]))[1] == 0 and cell_of(da, (x[0] + 30.0, y[0]))[1] == 2  # half to even
    with pytest.raises(InputError, match="outside the DEM"):
        cell_of(da, (x.max() + 11.0, y[0]), "rover start")
    with pytest.raises(InputError, match="finite"):
        cell_of(da, (np.nan, y[0]))
