"""Horizon angles: against a naive ray march, analytic terrains, invariants and bad input.

The references here are computed independently of the sweep: by the brute-force
ray march (:func:`lupex.light.horizon.horizon_bruteforce`, bilinear sampling every
0.25 px from the cell centre) or by a closed-form formula written out in the test.

Error bound used against the ray march (derived in lupex.light.horizon): the sweep
looks along a line shifted sideways by <= half a cell and samples once per column,
so with ``G`` = largest neighbour height step / pixel,

    |tan e_sweep - tan e_ray| <= (2 G + |tan e_ray|) * pixel / d_h,

``d_h`` the nearer of the two horizon distances. The typical error is far smaller;
the median and 99th percentile are asserted too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lupex.errors import InputError, LupexError
from lupex.light.horizon import (
    _horizon_with_distance,
    azimuths_deg,
    horizon_angles,
    horizon_angles_dask,
    horizon_bruteforce,
    horizon_memory_bytes,
)

AZIMUTHS = [0.0, 12.7, 33.3, 45.0, 90.0, 137.3, 181.0, 200.0, 271.1, 315.5]


def fractal_dem(ny, nx, pixel_m, *, seed=0, beta=3.7, rms_slope=0.25):
    """Spectral-synthesis fractal terrain (power ~ k**-beta) scaled to an RMS slope."""
    rng = np.random.default_rng(seed)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(nx), np.fft.fftfreq(ny)))
    k[0, 0] = 1.0
    spec = (rng.normal(size=(ny, nx)) + 1j * rng.normal(size=(ny, nx))) * k ** (-beta / 2)
    spec[0, 0] = 0.0
    z = np.fft.ifft2(spec).real
    gy, gx = np.gradient(z, pixel_m)
    return z / np.sqrt(np.mean(gx**2 + gy**2)) * rms_slope


@pytest.fixture(scope="module")
def rough():
    p = 20.0
    return fractal_dem(150, 190, p, seed=3), p  # non-square: exercises the transposed sweeps


def _compare(z, p, az, rows, cols, **kw):
    e, d = _horizon_with_distance(z, p, az, **kw)
    b, db = horizon_bruteforce(z, p, az, rows, cols, return_distance=True, **kw)
    return e[rows, cols].astype(np.float64), d[rows, cols], b, db


# -- against the brute-force ray march ------------------------------------------------------------


@pytest.mark.parametrize("radius_m,h_m", [(1_737_400.0, 0.0), (50_000.0, 0.0), (50_000.0, 5.0)])
def test_matches_ray_march_within_one_cell_bound(rough, radius_m, h_m):
    z, p = rough
    ny, nx = z.shape
    rng = np.random.default_rng(7)
    rows = rng.integers(1, ny - 1, 600)  # interior: the outermost ring's edge convention differs by design
    cols = rng.integers(1, nx - 1, 600)
    g = max(np.abs(np.diff(z, axis=0)).max(), np.abs(np.diff(z, axis=1)).max()) / p
    errs, ratios, cell_ok = [], [], []
    for az in AZIMUTHS:
        es, ds, eb, db = _compare(z, p, az, rows, cols, observer_height_m=h_m, radius_m=radius_m)
        dh = np.minimum(ds, db)
        tb = np.tan(np.radians(eb))
        bound = (2 * g + np.abs(tb)) * p / dh + 1e-5 * (1 + tb**2)
        ratios.append(np.abs(np.tan(np.radians(es)) - tb) / bound)
        errs.append(np.abs(es - eb))
        cell_ok.append(np.abs(es - eb) <= np.degrees(np.arctan(p / dh)) + 1e-4)
        if az % 90.0 == 0.0:
            # along the grid axes the lines pass through the cell centres: only the ray march's
            # finer sampling of the first pixel differs (curvature dip of 0.25 px vs 1 px).
            assert np.percentile(np.abs(es - eb), 99) < 0.01
    ratios, errs, cell_ok = map(np.concatenate, (ratios, errs, cell_ok))
    assert ratios.max() <= 1.0
    assert np.median(errs) < 0.5  # degrees
    assert np.percentile(errs, 99) < 10.0  # near-field horizons on 14-deg RMS slopes
    assert cell_ok.mean() > 0.99  # within the angular size of one cell at the horizon


def test_far_horizons_are_accurate(rough):
    """Where the horizon is >= 20 cells away the error is a small fraction of a degree."""
    z, p = rough
    ny, nx = z.shape
    rr, cc = np.meshgrid(np.arange(1, ny - 1, 3), np.arange(1, nx - 1, 3), indexing="ij")
    rows, cols = rr.ravel(), cc.ravel()
    errs = []
    for az in AZIMUTHS:
        es, ds, eb, db = _compare(z, p, az, rows, cols)
        far = np.minimum(ds, db) >= 20 * p
        errs.append(np.abs(es - eb)[far])
    errs = np.concatenate(errs)
    assert errs.size > 1000
    assert np.median(errs) < 0.05
    assert np.percentile(errs, 99) < 1.0


def test_public_api_matches_private_single_azimuth(rough):
    z, p = rough
    n = 24
    full = horizon_angles(z, p, n)
    for k in (0, 5, 17):
        e, _ = _horizon_with_distance(z, p, azimuths_deg(n)[k])
        assert np.array_equal(full[k], e)


# -- analytic terrains ------------------------------------------------------------------------------


def test_flat_sphere_raised_observer_sees_the_geometric_horizon():
    """z = 0 on a sphere of R = 50 km, eye at h: tan e = max_d (-h/d - d/2R) = -sqrt(2h/R) at d = sqrt(2Rh)."""
    p, radius, h = 20.0, 50_000.0, 10.0
    z = np.zeros((161, 161))
    e = horizon_angles(z, p, 16, observer_height_m=h, radius_m=radius)
    exact = -math.degrees(math.atan(math.sqrt(2 * h / radius)))  # -1.146 deg, horizon 1 km away
    inner = e[:, 60:101, 60:101]  # >= 1.2 km from every edge
    np.testing.assert_allclose(inner, exact, atol=2e-4)
    # the rim the ray leaves through has no terrain ahead: the smooth-sphere horizon
    east = horizon_angles(z, p, 4, observer_height_m=h, radius_m=radius, az_indices=[1])[0]
    np.testing.assert_allclose(east[:, -1], exact, atol=1e-5)


def test_flat_sphere_on_the_ground_sees_the_nearest_sample():
    """h = 0: tan(-d/2R) is largest for the nearest sample, d = pixel / max(|sin a|, |cos a|)."""
    p, radius = 20.0, 50_000.0
    z = np.zeros((40, 50))
    n = 8
    e = horizon_angles(z, p, n, radius_m=radius)
    for k, az in enumerate(azimuths_deg(n)):
        a = math.radians(az)
        d1 = p / max(abs(math.sin(a)), abs(math.cos(a)))
        exact = -math.degrees(math.atan(d1 / (2 * radius)))
        np.testing.assert_allclose(e[k, 2:-2, 2:-2], exact, atol=2e-6)


def _cone(n, p, height_m, slope):
    c = (n - 1) / 2
    rr, cc = np.mgrid[0:n, 0:n]
    r = np.hypot(rr - c, cc - c) * p
    return np.maximum(height_m - slope * r, 0.0), int(c)


@pytest.mark.parametrize("k", range(8))
def test_cone_peak_seen_across_the_plain(k):
    """Eye on the flat plain at distance D from a cone's apex, looking at it along an axis or
    diagonal (the line passes through the apex): tan e = (H - D**2/2R) / D."""
    p, height, slope = 10.0, 400.0, 0.8
    z, c = _cone(241, p, height, slope)
    n_steps = 90  # >= 500 m (base radius) away along axis and diagonal
    az = 45.0 * k
    a = math.radians(az)
    dc, dr = round(math.sin(a)), round(-math.cos(a))
    row, col = c - dr * n_steps, c - dc * n_steps  # step back from the apex
    e = horizon_angles(z, p, 8, az_indices=[k])[0, row, col]
    dist = n_steps * p * math.hypot(dc, dr)
    exact = math.degrees(math.atan((height - dist**2 / (2 * 1_737_400.0)) / dist))
    assert abs(e - exact) < 2e-4


def test_cone_peak_at_an_oblique_azimuth():
    """Oblique view of the apex: the line misses it sideways by < 1/2 cell, tan error <= slope*pixel/D."""
    p, height, slope = 10.0, 400.0, 0.8
    z, c = _cone(241, p, height, slope)
    n = 360
    az = azimuths_deg(n)
    e = horizon_angles(z, p, n, az_indices=np.arange(0, n, 7))
    checked = 0
    for i, k in enumerate(range(0, n, 7)):
        a = math.radians(az[k])
        for dist_px in (70.0, 95.0):
            row = int(round(c + dist_px * math.cos(a)))  # observer cell about dist_px behind the apex
            col = int(round(c - dist_px * math.sin(a)))
            dy, dx = (row - c) * p, (c - col) * p  # apex relative to observer: (+x east, +y north)
            dist = math.hypot(dx, dy)
            look = math.degrees(math.atan2(dx, dy)) % 360.0
            if abs((look - az[k] + 180) % 360 - 180) > 1e-9:
                # the cell is off the exact ray through the apex: shift the expected height by the miss
                miss = abs(math.sin(math.radians(look - az[k]))) * dist
            else:
                miss = 0.0
            peak = height - slope * miss  # highest point of the cone on the parallel ray
            exact_tan = (peak - dist**2 / (2 * 1_737_400.0)) / dist
            tol = slope * p / dist + 1e-6
            assert abs(math.tan(math.radians(e[i, row, col])) - exact_tan) <= tol
            checked += 1
    assert checked > 80


@pytest.mark.parametrize("radius_m", [1_737_400.0, 50_000.0])
def test_pit_apex_sees_its_own_slope_minus_the_nearest_dip(radius_m):
    """z = k r seen from the apex along axes/diagonals: every sample has slope k, the
    curvature dip makes the nearest (d1) the horizon: tan e = k - d1/(2R)."""
    p, slope = 20.0, 0.3
    n_cells = 81
    c = 40
    rr, cc = np.mgrid[0:n_cells, 0:n_cells]
    z = slope * np.hypot(rr - c, cc - c) * p
    e = horizon_angles(z, p, 8, radius_m=radius_m)[:, c, c]
    for k in range(8):
        d1 = p * (math.sqrt(2) if k % 2 else 1.0)
        exact = math.degrees(math.atan(slope - d1 / (2 * radius_m)))
        assert abs(e[k] - exact) < 1e-4


@pytest.mark.parametrize("radius_m", [1_737_400.0, 50_000.0])
def test_crater_floor_sees_the_rim(radius_m):
    """Paraboloid bowl z = H (r/Rc)^2 inside a flat plateau at H: from the floor centre the
    slope to the wall rises to the rim, then falls, so tan e = H/Rc - Rc/(2R) at every azimuth.
    The sweep samples the wall once per column (<= sqrt 2 pixels), so it may fall short by at
    most H sqrt(2) p / Rc^2 in tan; it must not exceed the rim."""
    p, height, rc = 5.0, 300.0, 1000.0
    n_cells = 2 * int(rc / p) + 41
    c = (n_cells - 1) // 2
    rr, cc = np.mgrid[0:n_cells, 0:n_cells]
    r = np.hypot(rr - c, cc - c) * p
    z = np.where(r <= rc, height * (r / rc) ** 2, height)
    e = horizon_angles(z, p, 36, radius_m=radius_m)[:, c, c]
    exact_tan = height / rc - rc / (2 * radius_m)
    t = np.tan(np.radians(e.astype(np.float64)))
    assert np.all(t <= exact_tan + 1e-5)
    assert np.all(t >= exact_tan - height * math.sqrt(2) * p / rc**2 - 1e-5)


def test_curvature_lowers_a_distant_horizon_by_the_parabolic_drop():
    """A wall at distance D: tan e = (Hw - D**2/(2R)) / D, on a small moon (R = 50 km)."""
    p = 20.0
    z = np.zeros((30, 120))
    z[:, 110:] = 200.0  # wall 200 m high starting at column 110
    for radius in (50_000.0, np.inf):
        e = horizon_angles(z, p, 4, radius_m=radius, az_indices=[1])[0]  # look east
        for col in (10, 60, 100):
            # every wall sample is 200 m high; the nearest one (column 110) is the horizon
            dist = (110 - col) * p
            drop = 0.0 if np.isinf(radius) else dist**2 / (2 * radius)
            exact = math.degrees(math.atan((200.0 - drop) / dist))
            assert abs(e[15, col] - exact) < 1e-4


# -- invariants --------------------------------------------------------------------------------------


def test_raising_the_observer_lowers_the_horizon(rough):
    z, p = rough
    prev = None
    for h in (0.0, 2.0, 10.0, 100.0):
        e = horizon_angles(z, p, 16, observer_height_m=h, radius_m=100_000.0)
        if prev is not None:
            assert np.all(e <= prev + 1e-5)
            assert np.mean(e < prev - 1e-3) > 0.5
        prev = e


def test_every_cell_written_on_a_non_square_grid():
    z = fractal_dem(37, 53, 10.0, seed=1)
    out = np.full((72, 37, 53), np.nan, np.float32)
    res = horizon_angles(z, 10.0, 72, out=out)
    assert res is out
    assert np.isfinite(out).all()
    assert (np.abs(out) <= 90).all()


def test_subset_memmap_and_progress(tmp_path, rough):
    z, p = rough
    full = horizon_angles(z, p, 36)
    sel = np.array([35, 3, 9])
    mm = np.lib.format.open_memmap(tmp_path / "h.npy", mode="w+", dtype=np.float32, shape=(3, *z.shape))
    calls = []
    horizon_angles(z, p, 36, az_indices=sel, out=mm, progress=calls.append)
    mm.flush()
    assert calls == [1, 2, 3]
    assert np.array_equal(np.load(tmp_path / "h.npy"), full[sel])


def test_azimuths_and_memory():
    np.testing.assert_allclose(azimuths_deg(8), [0, 45, 90, 135, 180, 225, 270, 315])
    assert horizon_memory_bytes((1000, 1000), 360) >= 360 * 1000 * 1000 * 4


# -- dask ----------------------------------------------------------------------------------------


def test_dask_is_bit_for_bit(rough):
    distributed = pytest.importorskip("distributed")
    z, p = rough
    z = z[:60, :70]
    ref = horizon_angles(z, p, 24, observer_height_m=1.5)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        seen = []
        got = horizon_angles_dask(z, p, 24, client=client, chunk_azimuths=5, observer_height_m=1.5,
                                  progress=seen.append)
    assert np.array_equal(got, ref)
    assert seen[-1] == 24


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "z,pixel,n,kw,words",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), 10.0, 8, {}, "NaN"),
        (np.zeros(5), 10.0, 8, {}, "2-D"),
        (np.zeros((3, 3, 3)), 10.0, 8, {}, "2-D"),
        (np.zeros((4, 4)), 0.0, 8, {}, "pixel_m"),
        (np.zeros((4, 4)), -5.0, 8, {}, "pixel_m"),
        (np.zeros((4, 4)), 10.0, 0, {}, "n_azimuths"),
        (np.zeros((4, 4)), 10.0, 8, {"observer_height_m": -1.0}, "observer_height_m"),
        (np.zeros((4, 4)), 10.0, 8, {"az_indices": [8]}, "az_indices"),
        (np.zeros((4, 4)), 10.0, 8, {"out": np.zeros((8, 4, 4))}, "float32"),
    ],
)
def test_bad_input_raises_input_error(z, pixel, n, kw, words):
    with pytest.raises(InputError, match=words) as info:
        horizon_angles(z, pixel, n, **kw)
    assert isinstance(info.value, LupexError)


def test_bruteforce_rejects_nan():
    with pytest.raises(InputError, match="NaN"):
        horizon_bruteforce(np.array([[0.0, np.nan], [1.0, 2.0]]), 10.0, 0.0, [0], [0])
