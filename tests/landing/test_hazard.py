"""Hazard map, retarget and target checks against brute force and constructed terrain."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.landing import hazard
from lupex.terrain import generate_site
from lupex.terrain.io import dem_from_array


def _brute_safe(z, p, footprint_m, max_slope_deg, max_rough_m):
    """Plane fit by lstsq on every (2k+1)^2 window; NaN (unsafe) where the window leaves the patch."""
    k = int(round(footprint_m / (2 * p)))
    ny, nx = z.shape
    ii, jj = np.mgrid[-k:k + 1, -k:k + 1]
    A = np.column_stack([jj.ravel() * p, -ii.ravel() * p, np.ones(ii.size)])
    safe = np.zeros(z.shape, bool)
    for i in range(k, ny - k):
        for j in range(k, nx - k):
            w = z[i - k:i + k + 1, j - k:j + k + 1].ravel()
            coef, *_ = np.linalg.lstsq(A, w, rcond=None)
            slope = np.degrees(np.arctan(np.hypot(coef[0], coef[1])))
            rough = np.sqrt(np.mean((w - A @ coef) ** 2))
            safe[i, j] = slope <= max_slope_deg and rough <= max_rough_m
    return safe


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_retarget_picks_nearest_safe_cell_within_60m(seed):
    rng = np.random.default_rng(seed)
    p = 2.0
    n = 71  # +-70 m
    xs = p * (np.arange(n) - n // 2)
    ys = -xs
    X, Y = np.meshgrid(xs, ys)
    z = 0.02 * X + rng.normal(0, 0.05, X.shape)
    for _ in range(25):  # boulders and pits
        cx, cy, h, w = rng.uniform(-70, 70), rng.uniform(-70, 70), rng.uniform(-4, 4), rng.uniform(3, 10)
        z += h * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * w * w))
    z += 6.0 * np.exp(-(X**2 + Y**2) / (2 * 4.0**2))  # the target itself sits on a mound: unsafe
    hz = hazard.hazard_map(z, xs, ys, footprint_m=6.0, max_slope_deg=12.0, max_roughness_m=0.3)
    assert not hz.safe.values[n // 2, n // 2]
    spot, dist = hazard.choose_landing_site(hz.safe.values, xs, ys, (0.0, 0.0), 60.0)
    brute = _brute_safe(z, p, 6.0, 12.0, 0.3)
    d = np.hypot(X, Y)
    cand = brute & (d <= 60.0)
    assert spot is not None
    assert dist == pytest.approx(d[cand].min(), abs=1e-9)
    i, j = np.argwhere((X == spot[0]) & (Y == spot[1]))[0]
    assert brute[i, j] and dist <= 60.0


def test_retarget_margin_keeps_a_clear_disk():
    xs = np.arange(-40.0, 41.0, 1.0)
    ys = -xs
    safe = np.ones((xs.size, xs.size), bool)
    safe[30:50, 30:50] = False  # hazard block around the target
    spot, dist = hazard.choose_landing_site(safe, xs, ys, (0.0, 0.0), 60.0, margin_m=5.0)
    X, Y = np.meshgrid(xs, ys)
    near = np.hypot(X - spot[0], Y - spot[1]) <= 5.0
    assert safe[near].all()
    assert 10.0 + 5.0 <= dist + 1e-9 <= 60.0


def test_shadow_behind_a_wall_matches_geometry():
    # a 10 m wall at x = 100 m, sun from +x at 2 deg: shadow reaches 10 / tan(2 deg) = 286 m behind it
    def h(x, y):
        return np.where((np.asarray(x) >= 100.0) & (np.asarray(x) < 102.0), 10.0, 0.0)

    xs = np.arange(-300.0, 96.0, 2.0)
    sh = hazard.shadow_mask(h, xs, np.array([0.0]), 2.0, 90.0, 1.0, max_dist_m=1000.0, relief_m=20.0)[0]
    edge = 100.0 - 10.0 / np.tan(np.radians(2.0))
    assert sh[xs > edge + 3].all() and not sh[xs < edge - 3].any()


def _dem(z, p=5.0):
    n = z.shape[0]
    x = p * (np.arange(n) - n / 2 + 0.5)
    return dem_from_array(z, x, -x)


def test_validate_target_rejects_outside_slope_and_permanent_shadow():
    site = generate_site(1, size_m=3000.0, pixel_m=2.0, shackleton=False)
    hazard.validate_target(site.dem, (0.0, 750.0))  # flat and lit: accepted
    with pytest.raises(InputError, match="outside the DEM"):
        hazard.validate_target(site.dem, (5000.0, 0.0))
    with pytest.raises(InputError, match="finite"):
        hazard.validate_target(site.dem, (float("nan"), 0.0))
    n = 400
    x = 5.0 * (np.arange(n) - n / 2 + 0.5)
    X, Y = np.meshgrid(x, -x)
    with pytest.raises(InputError, match="slope"):
        hazard.validate_target(_dem(1000.0 + np.tan(np.radians(20.0)) * X), (0.0, 0.0))
    # a bowl 300 m deep and 600 m wide near the pole: its floor never sees a sun <= ~1.9 deg high
    pit = 1000.0 - 300.0 * np.clip((300.0 - np.hypot(X, Y)) / 240.0, 0.0, 1.0)  # flat floor inside 60 m
    assert hazard.in_permanent_shadow(_dem(pit), 0.0, 0.0)
    with pytest.raises(InputError, match="permanent shadow"):
        hazard.validate_target(_dem(pit), (0.0, 0.0))
