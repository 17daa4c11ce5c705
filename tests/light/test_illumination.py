"""Light statistics against slow, independent computations.

The references here never touch :mod:`lupex.light.sky`'s representation nor the
numba kernel: per cell they call :func:`lupex.ephemeris.topocentric` at the
cell's own latitude / longitude for every time, turn the azimuth into a grid
azimuth with :func:`lupex.terrain.geo.grid_north_azimuth_deg`, interpolate the
horizon with ``np.interp`` (periodic), take the exact circular-segment
fraction, and count runs with a plain Python loop.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import xarray as xr

from lupex import ephemeris
from lupex.errors import LupexError
from lupex.light import illumination as il
from lupex.light import sky
from lupex.terrain import geo

N_AZ = 360
AZ = np.arange(N_AZ) * 360.0 / N_AZ


def _dem(n, pixel_m, cx=0.0, cy=0.0, z=None):
    import rioxarray  # noqa: F401

    x = cx + (np.arange(n) - (n - 1) / 2) * pixel_m
    y = (cy + (np.arange(n) - (n - 1) / 2) * pixel_m)[::-1]
    data = np.zeros((n, n), np.float32) if z is None else np.asarray(z, np.float32)
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x})
    return da.rio.write_crs(geo.DEFAULT_CRS)


@pytest.fixture(scope="module")
def year():
    return ephemeris.time_grid("2027-01-01", "2028-01-01", 1.0)


@pytest.fixture(scope="module")
def dem5():
    # 5 x 5 cells of 2 km centred on the south pole (the centre cell is the pole)
    return _dem(5, 2000.0)


def _wavy_cube(dem, rng):
    """A horizon per cell: base + smooth azimuthal wave, in degrees (float32)."""
    ny, nx = dem.shape
    base = rng.uniform(-0.5, 1.5, (1, ny, nx))
    amp = rng.uniform(0.3, 1.5, (1, ny, nx))
    ph = rng.uniform(0, 2 * np.pi, (2, 1, ny, nx))
    a = np.radians(AZ)[:, None, None]
    return (base + amp * (np.sin(a + ph[0]) + 0.4 * np.sin(3 * a + ph[1])) / 1.4).astype(np.float32)


class Naive:
    """Slow reference for one cell: SPICE per time, np.interp horizon, exact disk fraction."""

    def __init__(self, dem, cube, r, c, times):
        lon, lat = geo.lonlat_grid(dem)
        gna = geo.grid_north_azimuth_deg(dem)[r, c]
        if abs(lat[r, c]) > 90 - 1e-6:  # the pole: take the meridian of the neighbour (grid az is what matters)
            lon_c, lat_c = lon[r, c + 1], lat[r, c]
            gna = geo.grid_north_azimuth_deg(dem)[r, c + 1]
        else:
            lon_c, lat_c = lon[r, c], lat[r, c]
        h = np.asarray(cube[:, r, c], float)
        self.frac = {}
        self.el = {}
        for body in ("SUN", "EARTH"):
            t = ephemeris.topocentric(body, lat_c, lon_c, 0.0, times=times)
            gaz = (t.azimuth_deg + gna) % 360.0
            hz = np.interp(gaz, np.concatenate([AZ, [360.0]]), np.concatenate([h, h[:1]]))
            self.frac[body] = sky.disk_visible_fraction(t.elevation_deg - hz, t.angular_radius_deg)
            self.el[body] = t.elevation_deg

    def longest_dark(self, thr=0.0):
        run = best = 0
        for f in self.frac["SUN"]:
            run = run + 1 if f <= thr else 0
            best = max(best, run)
        return best


@pytest.fixture(scope="module")
def wavy(dem5, year):
    cube = _wavy_cube(dem5, np.random.default_rng(11))
    stats = il.light_statistics(dem5, cube, year)
    return cube, stats


def test_statistics_match_naive_per_cell(dem5, year, wavy):
    cube, stats = wavy
    for r, c in [(0, 0), (1, 3), (4, 2)]:
        ref = Naive(dem5, cube, r, c, year)
        fs, fe = ref.frac["SUN"], ref.frac["EARTH"]
        n = fs.size
        assert stats.illumination_pct.values[r, c] == pytest.approx(100 * fs.mean(), abs=2e-4)
        # counts may differ only where a disk edge grazes the horizon within ~1e-5 deg
        assert abs(stats.sunlit_time_pct.values[r, c] - 100 * np.mean(fs > 0)) <= 100 * 2 / n
        assert stats.longest_darkness_h.values[r, c] == pytest.approx(ref.longest_dark(), abs=2)
        assert stats.mean_earth_fraction.values[r, c] == pytest.approx(fe.mean(), abs=1e-5)
        assert abs(stats.earth_visible_pct.values[r, c] - 100 * np.mean(fe >= 0.5)) <= 100 * 2 / n
        both = np.mean((fs > 0) & (fe >= 0.5))
        assert abs(stats.sun_and_earth_pct.values[r, c] - 100 * both) <= 100 * 2 / n
        assert bool(stats.permanent_shadow.values[r, c]) == bool(np.all(fs == 0))
        # edge runs
        lead = np.argmax(fs > 0) if np.any(fs > 0) else n
        trail = np.argmax(fs[::-1] > 0) if np.any(fs > 0) else n
        assert stats.dark_at_start_h.values[r, c] == pytest.approx(lead, abs=1)
        assert stats.dark_at_end_h.values[r, c] == pytest.approx(trail, abs=1)
    assert 0 < float(stats.illumination_pct.min()) < float(stats.illumination_pct.max()) < 100
    assert stats.rio.crs is not None


def test_flat_pole_over_a_year_is_lit_about_half_the_time(dem5, year):
    """Flat horizon (0 deg) at the pole: the Sun's centre is up about half the year.

    Anchor (docs/REFERENCES.md#polar-sun-geometry): the Sun's
    elevation at the pole stays within about +-1.6 deg; over a year it is above
    the horizon roughly half the time. The exact share comes from the naive loop.
    """
    cube = np.zeros((N_AZ,) + dem5.shape, np.float32)
    stats = il.light_statistics(dem5, cube, year)
    ref = Naive(dem5, cube, 2, 2, year)
    el = ref.el["SUN"]
    assert -1.7 < el.min() < -1.4 and 1.4 < el.max() < 1.7
    up = np.mean(el > 0)
    assert 0.35 < up < 0.65  # "about half the time"
    assert stats.illumination_pct.values[2, 2] == pytest.approx(100 * ref.frac["SUN"].mean(), abs=2e-4)
    assert stats.illumination_pct.values[2, 2] == pytest.approx(100 * up, abs=3.0)  # disk vs centre
    # the whole 10 x 10 km flat site agrees with the naive values at a corner too
    ref0 = Naive(dem5, cube, 0, 4, year)
    assert stats.illumination_pct.values[0, 4] == pytest.approx(100 * ref0.frac["SUN"].mean(), abs=2e-4)


def test_walls_and_open_sky(dem5, year):
    ny, nx = dem5.shape
    # The Sun's centre stays below ~1.65 deg at the pole; 5.7 km away (the corners) the local
    # vertical tilts by 0.19 deg, so the top of the disk stays below ~2.1 deg: a 2.5 deg wall
    # hides it all year (checked with SPICE at the corner).
    corner = Naive(dem5, np.zeros((N_AZ, ny, nx)), 0, 4, year)
    assert corner.el["SUN"].max() + 0.27 < 2.5
    wall = np.full((N_AZ, ny, nx), 2.5, np.float32)
    s = il.light_statistics(dem5, wall, year)
    assert bool(s.permanent_shadow.all())
    assert float(np.abs(s.illumination_pct).max()) == 0.0
    assert np.all(s.longest_darkness_h.values == 8760.0)
    assert np.all(s.dark_at_start_h.values == 8760.0) and np.all(s.dark_at_end_h.values == 8760.0)
    open_ = np.full((N_AZ, ny, nx), -5.0, np.float32)
    s = il.light_statistics(dem5, open_, year)
    assert np.all(s.illumination_pct.values == 100.0)
    assert np.all(s.sunlit_time_pct.values == 100.0)
    assert np.all(s.longest_darkness_h.values == 0.0)
    assert not bool(s.permanent_shadow.any())
    # Earth's elevation at the pole swings about +-7 deg (libration); at -5 deg horizon it is
    # seen whenever its elevation > -5 deg, which the naive loop counts
    ref = Naive(dem5, open_, 1, 1, ephemeris.time_grid("2027-01-01", "2028-01-01", 1.0))
    assert s.earth_visible_pct.values[1, 1] == pytest.approx(100 * np.mean(ref.frac["EARTH"] >= 0.5), abs=0.03)


def test_longest_darkness_known_run(dem5):
    """Horizon at -5 deg except a 6-deg-high wall over a 90-deg sector: the Sun hides
    while it crosses the sector (about a quarter of a synodic month), one run per month."""
    ny, nx = dem5.shape
    times = ephemeris.time_grid("2027-03-01", "2027-05-01", 0.5)
    cube = np.full((N_AZ, ny, nx), -5.0, np.float32)
    cube[100:190] = 6.0
    s = il.light_statistics(dem5, cube, times)
    ref = Naive(dem5, cube, 3, 1, times)
    longest = ref.longest_dark() * 0.5
    assert s.longest_darkness_h.values[3, 1] == pytest.approx(longest, abs=0.5)
    # ~ (90 deg + the disk and one interpolation bin) / (360 deg per 29.5-day synodic month... as
    # seen from the pole the Sun's azimuth turns once per synodic month)
    assert 150 < longest < 200


def test_point_series_matches_naive_and_statistics(dem5, year, wavy):
    cube, stats = wavy
    x = dem5.x.values[3] + 300.0  # nearest cell is (row 1, col 3)
    y = dem5.y.values[1] - 200.0
    ps = il.point_series(dem5, cube, [[x, y]], year)
    assert int(ps.row[0]) == 1 and int(ps.col[0]) == 3
    ref = Naive(dem5, cube, 1, 3, year)
    assert np.abs(ps.sun_fraction.values[0] - ref.frac["SUN"]).max() < 1e-4
    assert np.abs(ps.earth_fraction.values[0] - ref.frac["EARTH"]).max() < 2e-3
    assert np.abs(ps.sun_elevation_deg.values[0] - ref.el["SUN"]).max() < 1e-5
    # same representation as the kernel: its mean is the cell's statistic (closed-form disk fraction, < 1e-8)
    assert 100 * float(ps.sun_fraction.mean()) == pytest.approx(float(stats.illumination_pct[1, 3]), abs=1e-4)


def test_tiles_memmap_and_nan(dem5, year, wavy, tmp_path):
    cube, stats = wavy
    mm = il.horizon_store(dem5.shape, N_AZ, max_bytes=0, tmpdir=tmp_path)
    assert isinstance(mm, np.memmap)
    mm[...] = cube
    mm.flush()
    s2 = il.light_statistics(dem5, mm, year, tile=2)
    for v in il.STAT_VARIABLES:
        assert np.array_equal(s2[v].values, stats[v].values), v
    # a cube the kernel cannot read in place (float64, not C-ordered) is converted tile by tile: same numbers
    s4 = il.light_statistics(dem5, np.asfortranarray(cube.astype(np.float64)), year, tile=3)
    for v in il.STAT_VARIABLES:
        assert np.array_equal(s4[v].values, stats[v].values), v
    path = mm.filename
    del mm, s2
    import gc

    gc.collect()
    assert not any(tmp_path.iterdir()), f"temporary horizon file {path} was not removed"
    assert not isinstance(il.horizon_store(dem5.shape, N_AZ, max_bytes=10**9), np.memmap)
    holed = cube.copy()
    holed[5, 0, 0] = np.nan
    s3 = il.light_statistics(dem5, holed, ephemeris.time_grid("2027-01-01", "2027-01-03", 1.0))
    assert np.isnan(s3.illumination_pct.values[0, 0]) and not bool(s3.permanent_shadow.values[0, 0])
    assert np.isfinite(s3.illumination_pct.values[0, 1])


def test_bad_inputs(dem5):
    cube = np.zeros((N_AZ,) + dem5.shape, np.float32)
    good = ephemeris.time_grid("2027-01-01", "2027-01-02", 1.0)
    irregular = np.concatenate([good[:5], good[6:]])
    with pytest.raises(il.TimeGridError, match="regular grid"):
        il.light_statistics(dem5, cube, irregular)
    with pytest.raises(il.TimeGridError, match="positive step"):
        il.light_statistics(dem5, cube, good[::-1])
    with pytest.raises(il.TimeGridError, match="positive step"):
        il.light_statistics(dem5, cube, np.concatenate([good[:3], good[2:]]))
    with pytest.raises(il.TimeGridError, match="at least 2"):
        il.light_statistics(dem5, cube, good[:1])
    with pytest.raises(il.HorizonShapeError, match=r"\(n_azimuths, 5, 5\)"):
        il.light_statistics(dem5, cube[:, :4], good)
    with pytest.raises(LupexError, match="outside the DEM"):
        il.point_series(dem5, cube, [[1e6, 0.0]], good)
    with pytest.raises(LupexError, match="dark_threshold"):
        il.light_statistics(dem5, cube, good, dark_threshold=1.5)
    assert issubclass(il.TimeGridError, LupexError) and issubclass(il.HorizonShapeError, LupexError)


def test_write_products(dem5, wavy, tmp_path):
    import rioxarray

    _, stats = wavy
    paths = il.write_light_products(stats, tmp_path / "light")
    names = {p.name for p in paths}
    assert "illumination_pct.tif" in names and "permanent_shadow.tif" in names and "light_statistics.nc" in names
    back = rioxarray.open_rasterio(tmp_path / "light" / "illumination_pct.tif").squeeze()
    assert back.rio.crs is not None
    assert np.allclose(back.values, stats.illumination_pct.values)
    assert np.allclose(back.x.values, stats.x.values) and np.allclose(back.y.values, stats.y.values)
    nc = xr.open_dataset(tmp_path / "light" / "light_statistics.nc", engine="h5netcdf")
    assert np.allclose(nc.longest_darkness_h.values, stats.longest_darkness_h.values)
    nc.close()


def _naive_horizon_module():
    """A stand-in for lupex.light.horizon: brute-force march, nearest cell, no curvature."""

    def horizon_angles(z_m, pixel_m, n_azimuths=360, *, observer_height_m=0.0, az_indices=None, out=None, progress=None):
        z = np.asarray(z_m, float)
        ny, nx = z.shape
        idx = np.arange(n_azimuths) if az_indices is None else np.asarray(az_indices)
        res = np.empty((idx.size, ny, nx), np.float32) if out is None else out
        rr, cc = np.mgrid[0:ny, 0:nx]
        for i, k in enumerate(idx):
            a = np.radians(k * 360.0 / n_azimuths)
            best = np.full((ny, nx), -90.0)
            for step in range(1, 2 * max(ny, nx)):
                c = np.rint(cc + step * np.sin(a)).astype(int)
                r = np.rint(rr - step * np.cos(a)).astype(int)
                ok = (c >= 0) & (c < nx) & (r >= 0) & (r < ny)
                if not ok.any():
                    break
                dz = np.where(ok, z[np.clip(r, 0, ny - 1), np.clip(c, 0, nx - 1)] - z - observer_height_m, -np.inf)
                best = np.maximum(best, np.degrees(np.arctan2(dz, step * pixel_m)))
            res[i] = best
        return res

    mod = types.ModuleType("lupex.light.horizon")
    mod.horizon_angles = horizon_angles
    return mod


def test_compute_light_memory_and_disk_agree(monkeypatch, tmp_path):
    import lupex.light

    mod = _naive_horizon_module()
    monkeypatch.setitem(sys.modules, "lupex.light.horizon", mod)
    monkeypatch.setattr(lupex.light, "horizon", mod, raising=False)
    yy, xx = np.mgrid[0:6, 0:6]
    z = 300.0 * np.exp(-((xx - 4.0) ** 2 + (yy - 1.0) ** 2) / 3.0)  # a hill to the north-east
    dem = _dem(6, 400.0, cx=0.0, cy=-30_000.0, z=z)
    times = ephemeris.time_grid("2027-06-01", "2027-06-11", 2.0)
    calls = []
    s_mem, cube = il.compute_light(dem, times, n_azimuths=72, progress=lambda d, t: calls.append((d, t)))
    assert cube is not None and cube.shape == (72, 6, 6)
    s_disk, none = il.compute_light(dem, times, n_azimuths=72, memory_limit_bytes=4000, tmpdir=tmp_path, tile=4)
    assert none is None
    for v in il.STAT_VARIABLES:
        assert np.array_equal(s_mem[v].values, s_disk[v].values), v
    assert not any(tmp_path.iterdir())
    direct = il.light_statistics(dem, mod.horizon_angles(dem.values.astype(float), 400.0, 72), times)
    assert np.array_equal(direct.illumination_pct.values, s_mem.illumination_pct.values)
    assert calls and calls[-1][0] == calls[-1][1]
