"""Far-field horizons against an independent ray march through the nested real LOLA DEMs.

The reference (:func:`nested_ray_march`, plain numpy, written for this test) shares nothing with
:mod:`lupex.light.farfield`: it walks the true great circle from each cell (built from the cell's unit
vector on the sphere and the direction of the grid azimuth there, by the inverse stereographic formula
written out below), samples every 30 m, reads the site DEM inside its footprint and the regional DEM
outside (bilinear), and takes the elevation on the exact sphere,
``tan e = ((R + z) cos g - (R + z_eye)) / ((R + z) sin g)``.

Error bound used (derived in lupex.light.farfield): with ``G`` the regional DEM's largest slope,
``spacing = ds = 240 m`` and ``sigma = 16 m``,
``|tan e_far - tan e_ref| <= (G (spacing/2 + ds/2 + sigma) + |tan e_ref| ds/2) / d_h``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests import _paths
from lupex.errors import InputError
from lupex.light.farfield import far_field_horizons, far_field_summary, horizons_with_far_field
from lupex.light.horizon import horizon_angles

DATA = _paths.SHARED / "data" / "lola_south_pole"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/lola_south_pole")
SITE = DATA / "lola_site01_connecting_ridge_20m.tif"
CAP = DATA / "lola_ldem75s_southpole_240m.tif"
R = 1_737_400.0

pytestmark = pytest.mark.skipif(not (SITE.is_file() and CAP.is_file()), reason="real LOLA data not available")


# -- the independent reference ----------------------------------------------------------------------


def _unit(x, y):
    """South polar stereographic (true scale at the pole) -> unit vectors, by hand."""
    rho = np.hypot(x, y)
    th = 2.0 * np.arctan(rho / (2.0 * R))  # angular distance from the south pole
    lon = np.arctan2(x, y)
    return np.stack([np.sin(th) * np.sin(lon), np.sin(th) * np.cos(lon), -np.cos(th)], -1)


def _xy(n):
    th = np.arccos(np.clip(-n[..., 2], -1.0, 1.0))
    rho = 2.0 * R * np.tan(th / 2.0)
    lon = np.arctan2(n[..., 0], n[..., 1])
    return rho * np.sin(lon), rho * np.cos(lon)


def _bilinear(da, x, y):
    z = np.asarray(da.values, float)
    x0, y0 = float(da.x[0]), float(da.y[0])
    p = float(da.x[1] - da.x[0])
    ny, nx = z.shape
    fc, fr = (x - x0) / p, (y0 - y) / p
    inside = (fc >= 0) & (fc <= nx - 1) & (fr >= 0) & (fr <= ny - 1)
    fc, fr = np.clip(fc, 0, nx - 1), np.clip(fr, 0, ny - 1)
    i, j = np.minimum(fr.astype(int), ny - 2), np.minimum(fc.astype(int), nx - 2)
    wr, wc = fr - i, fc - j
    v = (1 - wr) * ((1 - wc) * z[i, j] + wc * z[i, j + 1]) + wr * ((1 - wc) * z[i + 1, j] + wc * z[i + 1, j + 1])
    return v, inside


def nested_ray_march(site, regional, rows, cols, az_deg, *, h=0.0, max_d=np.inf, step_m=30.0, far_only=False,
                     reach_m=260e3):
    """(elevation deg, distance m) of the highest sample on the great circle from each cell; -90 if none."""
    x = site.x.values[cols]
    y = site.y.values[rows]
    z_eye = site.values[rows, cols] + h
    n0 = _unit(x, y)
    a = np.radians(az_deg)
    t = _unit(x + np.sin(a), y + np.cos(a)) - n0  # the grid direction, 1 m ahead, on the sphere
    t -= np.sum(t * n0, -1, keepdims=True) * n0
    t /= np.linalg.norm(t, axis=-1, keepdims=True)
    g = np.arange(1, int(reach_m / step_m)) * step_m / R
    pts = np.cos(g)[None, :, None] * n0[:, None, :] + np.sin(g)[None, :, None] * t[:, None, :]
    px, py = _xy(pts)
    z = np.full(px.shape, np.nan)
    zz, inside = _bilinear(site, px, py)
    if not far_only:
        z[inside] = zz[inside]
    covered = inside.copy()
    for da in regional:
        zz, inside = _bilinear(da, px, py)
        z[inside & ~covered] = zz[inside & ~covered]
        covered |= inside
    cx, cy = float(site.x.values.mean()), float(site.y.values.mean())
    z[np.hypot(px - cx, py - cy) > max_d] = np.nan
    first_out = np.where((~covered).any(1), (~covered).argmax(1), covered.shape[1])
    z[np.arange(z.shape[1])[None, :] >= first_out[:, None]] = np.nan
    tan_e = ((R + z) * np.cos(g) - (R + z_eye[:, None])) / ((R + z) * np.sin(g))
    tan_e = np.where(np.isnan(tan_e), -np.inf, tan_e)
    k = np.argmax(tan_e, 1)
    best = tan_e[np.arange(k.size), k]
    return np.where(np.isfinite(best), np.degrees(np.arctan(best)), -90.0), g[k] * R


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dems():
    from lupex.terrain.io import read_dem

    return read_dem(SITE), read_dem(CAP)


@pytest.fixture(scope="module")
def cells():
    rng = np.random.default_rng(11)
    return rng.integers(100, 700, 120), rng.integers(100, 700, 120)  # >= 2 km inside the site's edge


N_AZ = 8


@pytest.fixture(scope="module")
def far_cube(dems):
    site, cap = dems
    return far_field_horizons(site, [cap], N_AZ, observer_height_m=2.0)


def _slope(da):
    z = np.asarray(da.values, float)
    p = float(da.x[1] - da.x[0])
    return max(np.abs(np.diff(z, axis=0)).max(), np.abs(np.diff(z, axis=1)).max()) / p


# -- against the ray march --------------------------------------------------------------------------


def test_far_field_within_bound_of_nested_ray_march(dems, cells, far_cube):
    site, cap = dems
    rows, cols = cells
    g = _slope(cap)
    errs, ratios, dist = [], [], []
    for k in range(N_AZ):
        ref, d = nested_ray_march(site, [cap], rows, cols, k * 360.0 / N_AZ, h=2.0, far_only=True)
        ours = far_cube[k][rows, cols].astype(float)
        assert np.all(ref > -90.0) and np.all(ours > -90.0)  # the cap reaches beyond the site everywhere
        t_ref = np.tan(np.radians(ref))
        bound = (g * (120.0 + 120.0 + 16.0) + np.abs(t_ref) * 120.0) / d
        ratios.append(np.abs(np.tan(np.radians(ours)) - t_ref) / bound)
        errs.append(np.abs(ours - ref))
        dist.append(d)
    ratios, errs, dist = map(np.concatenate, (ratios, errs, dist))
    assert ratios.max() <= 1.0
    assert np.median(errs) < 0.02  # degrees
    assert np.percentile(errs, 90) < 0.3
    far = dist > 20e3  # horizons set by distant massifs: a few hundredths of a degree
    assert far.sum() > 200
    assert np.median(errs[far]) < 0.01
    assert np.percentile(errs[far], 99) < 0.08


def test_near_plus_far_matches_ray_march_through_both_dems(dems, cells):
    """The combined cube against the march that reads the 20 m DEM inside its footprint and the cap outside."""
    site, cap = dems
    rows, cols = cells
    azs = [1, 4]  # of 8
    cube = horizons_with_far_field(site, [cap], N_AZ, observer_height_m=2.0, az_indices=azs)
    errs, far_wins = [], []
    for i, k in enumerate(azs):
        ref, _ = nested_ray_march(site, [cap], rows, cols, k * 360.0 / N_AZ, h=2.0)
        near_ref, _ = nested_ray_march(site, [], rows, cols, k * 360.0 / N_AZ, h=2.0)
        errs.append(np.abs(cube[i][rows, cols] - ref))
        far_wins.append(ref > near_ref + 0.05)
    errs, far_wins = np.concatenate(errs), np.concatenate(far_wins)
    assert far_wins.mean() > 0.1  # the far field matters on this ridge
    assert np.median(errs) < 0.05
    assert np.percentile(errs, 90) < 0.5


def test_max_distance_against_ray_march(dems, cells):
    site, cap = dems
    rows, cols = cells[0][:40], cells[1][:40]
    cube = far_field_horizons(site, [cap], N_AZ, observer_height_m=2.0, max_distance_m=30e3, az_indices=[3])
    ref, d = nested_ray_march(site, [cap], rows, cols, 3 * 360.0 / N_AZ, h=2.0, far_only=True, max_d=30e3)
    assert d.max() < 42e3
    assert np.median(np.abs(cube[0][rows, cols] - ref)) < 0.05


# -- invariants -------------------------------------------------------------------------------------


def test_combined_is_max_of_near_and_far(dems, far_cube):
    site, cap = dems
    azs = [0, 5]
    near = horizon_angles(site.values, 20.0, N_AZ, observer_height_m=2.0, az_indices=azs)
    both = horizons_with_far_field(site, [cap], N_AZ, observer_height_m=2.0, az_indices=azs)
    assert np.array_equal(both, np.maximum(near, far_cube[azs]))
    assert np.array_equal(horizons_with_far_field(site, None, N_AZ, observer_height_m=2.0, az_indices=azs), near)


def test_culling_bound_never_falls_below_the_far_field(dems, far_cube):
    """Cells whose cube value is above their block's bound on the far field are skipped (farfield._CULL_BLOCK).

    Folding into a cube set just below the far field itself (1e-3 deg) skips a cell only where that bound lies
    below the cell's far-field horizon, which would leave the cell 1e-3 deg short: so the fold must give the
    far-field cube back exactly, at every cell of every azimuth."""
    site, cap = dems
    below = np.where(far_cube > -90.0, far_cube - np.float32(1e-3), far_cube)
    got = far_field_horizons(site, [cap], N_AZ, observer_height_m=2.0, out=below.copy())
    assert np.array_equal(got, far_cube)


def test_shorter_reach_never_raises_the_horizon(dems, far_cube):
    site, cap = dems
    short = far_field_horizons(site, [cap], N_AZ, observer_height_m=2.0, max_distance_m=25e3, az_indices=[2, 6])
    assert np.all(short <= far_cube[[2, 6]])
    assert np.mean(short < far_cube[[2, 6]]) > 0.05


def test_nested_regional_dems(dems, cells):
    """A 40 km crop of the cap then the whole cap give the cap's far field (the crop's terrain is the cap's)."""
    site, cap = dems
    crop = cap.sel(x=slice(-19_700, 20_500), y=slice(13_500, -26_700))
    both = far_field_horizons(site, [crop, cap], N_AZ, observer_height_m=2.0, az_indices=[1, 6])
    one = far_field_horizons(site, [cap], N_AZ, observer_height_m=2.0, az_indices=[1, 6])
    rows, cols = cells
    # the two differ only by where lines start beyond the crop's edge (<= one cap pixel)
    assert np.median(np.abs(both[:, rows, cols] - one[:, rows, cols])) < 0.01


def test_summary_and_errors(dems):
    site, cap = dems
    s = far_field_summary([cap], 150e3)
    assert "ldem75s" in s["far_field_dems"] and s["far_field_max_m"] == 150e3
    small = cap.sel(x=slice(-10_000, 10_000), y=slice(10_000, -10_000))
    with pytest.raises(InputError, match="does not cover"):
        far_field_horizons(site, [small], 8)
    other = cap.rio.write_crs("EPSG:3031")
    with pytest.raises(InputError, match="reproject"):
        far_field_horizons(site, [other], 8)
    with pytest.raises(InputError, match="max_distance_m"):
        far_field_horizons(site, [cap], 8, max_distance_m=-1.0)
    with pytest.raises(InputError):
        far_field_horizons(site, [xr.DataArray(np.zeros((3, 3)))], 8)


# -- wiring: compute_light, the site phase's resume path, the CLI ------------------------------------


@pytest.fixture(scope="module")
def small_site(dems, tmp_path_factory):
    """A 60 x 60 crop (1.2 km) of Site01 at 20 m written as a GeoTIFF, as a run would read it."""
    from lupex.terrain.io import read_dem, write_geotiff

    site, _cap = dems
    path = tmp_path_factory.mktemp("ff") / "crop.tif"
    write_geotiff(site.isel(y=slice(300, 360), x=slice(500, 560)), path)
    return read_dem(path), path


def test_compute_light_with_far_field(dems, small_site):
    """Far terrain only raises horizons, so it can only shorten the Sun's and Earth's visibility."""
    from lupex.light.illumination import compute_light

    _site, cap = dems
    dem, _ = small_site
    times = np.arange(np.datetime64("2027-01-01T00"), np.datetime64("2027-01-05T00"), np.timedelta64(2, "h"))
    calls = []
    near, cube_n = compute_light(dem, times, n_azimuths=36, observer_height_m=2.0)
    far, cube_f = compute_light(dem, times, n_azimuths=36, observer_height_m=2.0, far_field=[cap],
                                far_field_max_m=150e3, horizon_progress=calls.append)
    assert len(calls) == 36  # one progress call per azimuth, as without the far field
    assert np.all(cube_f >= cube_n) and np.any(cube_f > cube_n + 0.5)
    for v in ("illumination_pct", "earth_visible_pct"):
        assert np.all(far[v].values <= near[v].values + 1e-3)
    assert far.attrs["far_field_max_m"] == 150e3 and str(CAP) in far.attrs["far_field_dems"]
    assert "far_field_dems" not in near.attrs


def test_resume_recomputes_the_same_cube(dems, small_site):
    from types import SimpleNamespace

    from lupex.config import load
    from lupex.light.illumination import compute_light
    from lupex.mission.site_analysis import horizon_cube

    dem, path = small_site
    cfg = load(overrides=[f"site.dem={str(path)!r}", f"site.far_field=[{str(CAP)!r}]", "light.n_azimuths=24",
                          "light.far_field_max_km=120"])
    times = np.arange(np.datetime64("2027-01-01T00"), np.datetime64("2027-01-02T00"), np.timedelta64(1, "h"))
    _, cube = compute_light(dem, times, n_azimuths=24, observer_height_m=cfg.light.observer_height_m,
                            far_field=[dems[1]], far_field_max_m=120e3)
    again = horizon_cube(cfg, SimpleNamespace(dem=dem, horizon_cube=None))
    assert np.array_equal(again, cube)


def test_cli_far_field_option(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "lupex", "run", "--far-field", str(tmp_path / "nope.tif"), "-q",
                        "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert r.returncode == 2 and "far-field DEM" in r.stderr and "--far-field" in r.stderr
    assert not (tmp_path / "run").exists()


def test_report_names_the_far_field():
    from lupex.report.site import _horizon_note

    with_ff = _horizon_note(xr.Dataset(attrs={"far_field_dems": "/d/cap_240m.tif", "far_field_max_m": 150e3}), 2000)
    assert "cap_240m.tif" in with_ff and "150 km" in with_ff
    assert "stop where the DEM ends" in _horizon_note(xr.Dataset(), 2000)


def test_dask_near_field_gives_the_same_cube(dems, small_site):
    """With a Dask client the near field runs on the workers, the far field here: the same cube, bit for bit."""
    distributed = pytest.importorskip("distributed")
    _site, cap = dems
    dem, _ = small_site
    local = horizons_with_far_field(dem, [cap], 24, observer_height_m=2.0)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        done = []
        remote = horizons_with_far_field(dem, [cap], 24, observer_height_m=2.0, client=client, progress=done.append)
    assert np.array_equal(local, remote)
    assert done[-1] == 24
