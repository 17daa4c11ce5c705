"""The per-cell sky representation against SPICE called per cell, and the disk geometry.

References are computed independently of :mod:`lupex.light.sky`: the direction
of the Sun / Earth from each cell comes from :func:`lupex.ephemeris.topocentric`
at the cell's own latitude / longitude, turned into a grid azimuth with
:func:`lupex.terrain.geo.grid_north_azimuth_deg` (geographic azimuth = grid
azimuth - grid-north azimuth); the disk fraction is checked by Monte Carlo.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from lupex import ephemeris
from lupex.errors import LupexError
from lupex.light import sky
from lupex.terrain import geo


def _dem(cx, cy, half_m, pixel_m):
    import rioxarray  # noqa: F401

    x = np.arange(cx - half_m + pixel_m / 2, cx + half_m, pixel_m)
    y = (x - cx + cy)[::-1]
    da = xr.DataArray(np.zeros((y.size, x.size), np.float32), dims=("y", "x"), coords={"y": y, "x": x})
    return da.rio.write_crs(geo.DEFAULT_CRS)


@pytest.fixture(scope="module")
def et_year():
    return ephemeris.utc_to_et(ephemeris.time_grid("2027-01-01", "2028-01-01", 5.0))


@pytest.mark.parametrize(
    "cx, cy, half",
    [(0.0, 0.0, 10_000.0), (30_000.0, -40_000.0, 10_000.0)],
    ids=["pole-20km", "88.4S-20km"],
)
def test_sky_matches_spice_per_cell(cx, cy, half, et_year):
    dem = _dem(cx, cy, half, 500.0)
    s = sky.site_sky(dem, et_year)
    rot = sky.cell_rotation(dem, s.site)
    lon, lat = geo.lonlat_grid(dem)
    gna = geo.grid_north_azimuth_deg(dem)
    ny, nx = dem.shape
    rng = np.random.default_rng(7)
    cells = [(0, 0), (0, nx - 1), (ny - 1, 0), (ny - 1, nx - 1)] + [
        (int(rng.integers(ny)), int(rng.integers(nx))) for _ in range(4)
    ]
    for body, track in (("SUN", s.sun), ("EARTH", s.earth)):
        for r, c in cells:
            ref = ephemeris.topocentric(body, lat[r, c], lon[r, c], 0.0, et=et_year)
            el, az = sky.sky_at_cells(track, rot.take(r, c))
            grid_az = (ref.azimuth_deg + gna[r, c]) % 360.0
            daz = (az - grid_az + 180.0) % 360.0 - 180.0
            # brief: 0.01 deg elevation, 0.05 deg azimuth; we do much better (Earth: parallax ~2e-4)
            assert np.abs(el - ref.elevation_deg).max() < (1e-5 if body == "SUN" else 5e-4)
            assert np.abs(daz).max() < 5e-3
            assert np.abs(track.radius_deg - ref.angular_radius_deg).max() < 1e-4


def test_sky_at_exact_pole_cell(et_year):
    # odd grid centred on the pole: the centre cell is the pole itself, where north is undefined
    dem = _dem(0.0, 0.0, 2_500.0, 1000.0)
    lon, lat = geo.lonlat_grid(dem)
    assert lat[2, 2] == pytest.approx(-90.0)
    s = sky.site_sky(dem, et_year)
    rot = sky.cell_rotation(dem, s.site)
    el, az = sky.sky_at_cells(s.sun, rot.take(2, 2))
    # at the pole the zenith is -z in MOON_ME: elevation is minus the latitude of the
    # Sun's direction seen from the pole (observer at (0, 0, -R))
    v = ephemeris.body_vectors("SUN", et_year) + np.array([0.0, 0.0, ephemeris.MOON_RADIUS_M])
    el_ref = -np.degrees(np.arcsin(v[:, 2] / np.linalg.norm(v, axis=1)))
    assert np.abs(el - el_ref).max() < 1e-5
    # grid azimuth of a direction at the pole is continuous with the neighbouring cell's
    _, az_n = sky.sky_at_cells(s.sun, rot.take(2, 3))
    assert np.abs((az - az_n + 180) % 360 - 180).max() < 0.2


def test_high_sun_is_refused():
    site = sky.SiteFrame(axes=np.eye(3), point_m=np.zeros(3))
    tr = sky.BodyTrack("SUN", np.zeros(2), np.array([[0.0, 0.3, 0.95], [0.0, 1.0, 0.0]]), np.full(2, 0.27))
    with pytest.raises(LupexError, match="60 deg"):
        sky.body_coefficients(tr, 360)
    del site


# ---------------------------------------------------------------- disk fraction


def test_disk_fraction_analytic_cases():
    r = 0.27
    assert sky.disk_visible_fraction(0.0, r) == pytest.approx(0.5, abs=1e-15)
    assert sky.disk_visible_fraction(r, r) == 1.0
    assert sky.disk_visible_fraction(5.0, r) == 1.0
    assert sky.disk_visible_fraction(-r, r) == 0.0
    assert sky.disk_visible_fraction(-5.0, r) == 0.0
    # margin r/2: segment of height 3r/2 -> 1 - (theta - sin theta)/(2 pi), theta = 2 acos(1/2)
    th = 2 * np.arccos(0.5)
    assert sky.disk_visible_fraction(r / 2, r) == pytest.approx(1 - (th - np.sin(th)) / (2 * np.pi), rel=1e-12)


def test_disk_fraction_monte_carlo():
    rng = np.random.default_rng(2024)
    n = 400_000
    # uniform points in the unit disk
    rad = np.sqrt(rng.random(n))
    ang = rng.random(n) * 2 * np.pi
    yy = rad * np.sin(ang)
    for m in (-0.9, -0.5, -0.1, 0.2, 0.7):
        mc = np.mean(yy > -m)  # point visible if above the line at -margin (disk centre at 0)
        assert sky.disk_visible_fraction(m * 0.95, 0.95) == pytest.approx(mc, abs=4 * np.sqrt(0.25 / n))


@settings(max_examples=200, deadline=None)
@given(
    m=st.floats(-3.0, 3.0, allow_nan=False),
    dm=st.floats(0.0, 1.0, allow_nan=False),
    r=st.floats(0.01, 2.0, allow_nan=False),
)
def test_disk_fraction_properties(m, dm, r):
    f = sky.disk_visible_fraction
    assert 0.0 <= f(m, r) <= 1.0
    assert f(m + dm, r) >= f(m, r) - 1e-15  # monotone in the margin
    assert f(m, r) + f(-m, r) == pytest.approx(1.0, abs=1e-12)  # symmetric


def test_kernel_disk_fraction_matches_the_exact_segment():
    """The kernel's closed form (A&S 4.4.46 asin) against the exact circular segment, and its invariants."""
    from lupex.light._kernel import disk_fraction

    x = np.concatenate([np.linspace(-1.2, 1.2, 240_001), [-1.0, 1.0, 0.0, 1 - 1e-12, -1 + 1e-12]])
    got = np.array([disk_fraction(v) for v in x])
    assert np.abs(got - sky.disk_visible_fraction(x, 1.0)).max() < 1e-8
    assert np.all(got[x >= 1.0] == 1.0) and np.all(got[x <= -1.0] == 0.0)  # whole disk exactly
    assert np.all(np.diff(got[:240_001]) >= -1e-15)  # monotone
    lin = got[:240_001]
    assert np.abs(lin + lin[::-1] - 1.0).max() < 2e-8  # f(x) + f(-x) = 1, to the asin series error


def test_disk_fraction_bad_radius():
    with pytest.raises(LupexError, match="radius"):
        sky.disk_visible_fraction(0.1, 0.0)
