"""Slope, roughness and hazard masks against analytic surfaces and brute-force plane fits."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lupex.errors import ConfigError, InputError
from lupex.terrain import (
    dem_from_array,
    hazard_mask,
    lander_hazard_map,
    roughness_m,
    rover_hazard_map,
    slope_deg,
)


def _dem(f, n=101, p=10.0):
    x = (np.arange(n) - (n - 1) / 2) * p
    y = -x.copy()
    xx, yy = np.meshgrid(x, y)
    return dem_from_array(f(xx, yy), x, y, source="analytic")


@pytest.mark.parametrize("baseline", [None, 10.0, 20.0, 50.0, 100.0, 210.0])
def test_tilted_plane_has_its_slope_everywhere(baseline):
    a, b = np.tan(np.radians(10.0)) * 0.6, np.tan(np.radians(10.0)) * 0.8  # |grad| = tan 10 deg
    s = slope_deg(_dem(lambda x, y: 50 + a * x - b * y), baseline)
    v = s.values
    interior = np.isfinite(v)
    assert interior.sum() > 0.5 * v.size
    np.testing.assert_allclose(v[interior], 10.0, atol=1e-9)
    k = 0 if baseline is None or baseline < 15 else int(round(baseline / 20.0))
    k = max(k, 1)
    # cells whose window leaves the grid are NaN, the rest are not
    assert np.isnan(v[: k]).all() and np.isfinite(v[k:-k, k:-k]).all()


def test_slope_direction_sign_conventions():
    # rising toward +y (north) only: the rows must be read as decreasing y
    s = slope_deg(_dem(lambda x, y: 0.1 * y), 50.0)
    np.testing.assert_allclose(np.nanmax(s.values), np.degrees(np.arctan(0.1)), atol=1e-9)


@pytest.mark.parametrize("baseline", [None, 60.0])
def test_cone_gives_its_angle(baseline):
    theta = 25.0
    s = slope_deg(_dem(lambda x, y: -np.hypot(x, y) * np.tan(np.radians(theta)), n=201), baseline)
    x = s.x.values
    xx, yy = np.meshgrid(x, s.y.values)
    r = np.hypot(xx, yy)
    far = (r > 400.0) & np.isfinite(s.values)
    # a plane fitted across a cone's curvature under-reads by O((w/r)^2): < 0.3 deg here
    np.testing.assert_allclose(s.values[far], theta, atol=0.3)
    assert abs(np.median(s.values[far]) - theta) < 0.1


def test_roughness_of_a_plane_is_zero():
    r = roughness_m(_dem(lambda x, y: 1500.0 + 0.3 * x + 0.2 * y), 60.0)
    assert np.nanmax(r.values) < 1e-6


def test_roughness_of_a_sinusoid_matches_brute_force_and_the_analytic_limit():
    A, lam = 3.0, 70.0
    d = _dem(lambda x, y: A * np.sin(2 * np.pi * (0.6 * x + 0.8 * y) / lam + 0.3) + 0.05 * x)
    base = 60.0
    r = roughness_m(d, base)
    k = int(round(base / 20.0))
    z = d.values
    rng = np.random.default_rng(0)
    ii = np.arange(-k, k + 1)
    X, Y = np.meshgrid(ii, -ii)
    G = np.column_stack([np.ones(X.size), X.ravel(), Y.ravel()])
    for _ in range(20):
        i, j = rng.integers(k, z.shape[0] - k, 2)
        w = z[i - k: i + k + 1, j - k: j + k + 1].ravel()
        coef, *_ = np.linalg.lstsq(G, w, rcond=None)
        expect = np.sqrt(np.mean((w - G @ coef) ** 2))
        assert r.values[i, j] == pytest.approx(expect, rel=1e-7, abs=1e-9)
    # a window many wavelengths wide leaves the sinusoid's own RMS, A / sqrt(2)
    wide = roughness_m(d, 600.0)
    assert np.nanmean(wide.values) == pytest.approx(A / np.sqrt(2), rel=0.05)


def test_hazard_mask_thresholds():
    # left half 10 deg, right half 14 deg
    def f(x, y):
        return np.where(x < 0, np.tan(np.radians(10)) * x, np.tan(np.radians(14)) * x)

    d = _dem(f)
    s = slope_deg(d, 40.0)
    m = hazard_mask(s, 12.0)
    assert m.dtype == bool and m.name == "safe"
    xx = np.broadcast_to(d.x.values, d.shape)
    fin = np.isfinite(s.values)
    assert m.values[fin & (xx < -50)].all()
    assert not m.values[fin & (xx > 50)].any()
    assert not m.values[~fin].any()  # NaN is unsafe
    # the lander's 12 deg (Chandrayaan-3) and a rover allowed 20 deg
    lm, rm = lander_hazard_map(d, baseline_m=40.0), rover_hazard_map(d, 20.0, 40.0)
    assert (lm.values == m.values).all()
    assert rm.values[fin & (np.abs(xx) > 50)].all()
    # roughness limits add to the slope limit
    rough = roughness_m(d, 40.0)
    both = hazard_mask(s, 20.0, rough, 0.05)  # planes: 0 m; the kink: ~0.1 m
    kink = fin & (np.abs(xx) <= 10)
    assert not both.values[kink].any() and both.values[fin & (np.abs(xx) > 50)].all()


def test_hazard_config_errors():
    d = _dem(lambda x, y: 0 * x)
    s = slope_deg(d)
    for bad in (0.0, 90.0, -3.0):
        with pytest.raises(ConfigError):
            hazard_mask(s, bad)
    with pytest.raises(ConfigError):
        hazard_mask(s, 12.0, roughness_m(d, 40.0))
    with pytest.raises(ConfigError):
        slope_deg(d, -5.0)
    with pytest.raises(InputError):
        slope_deg(d.isel(x=[0, 1, 3]))  # irregular grid


def test_megapixel_dem_is_fast():
    rng = np.random.default_rng(0)
    n = 1000
    x = np.arange(n) * 20.0
    d = dem_from_array(rng.normal(size=(n, n)).cumsum(0).cumsum(1), x, -x)
    t = time.perf_counter()
    slope_deg(d)
    slope_deg(d, 200.0)
    roughness_m(d, 200.0)
    assert time.perf_counter() - t < 3.0  # three maps; the brief's budget is < 1 s each


def test_roughness_of_a_checkerboard_on_a_tilted_plane():
    # +-a alternating cells over a plane: in a (2k+1)^2 window the fitted plane is the tilt plus a mean of
    # +-a/n (n = (2k+1)^2 cells, one more of one sign), so the RMS residual is a sqrt(1 - 1/n^2) exactly
    from lupex.terrain import slope as slope_mod

    a = 0.3
    n_px = 41
    ii, jj = np.meshgrid(np.arange(n_px), np.arange(n_px), indexing="ij")
    board = a * (-1.0) ** (ii + jj)
    dem = _dem(lambda x, y: 20 + 0.05 * x + 0.02 * y, n=n_px)
    dem = dem.copy(data=dem.values + board)
    for k in (1, 2, 3):
        r = slope_mod.roughness_m(dem, baseline_m=2 * k * 10.0).values
        n = (2 * k + 1) ** 2
        inner = r[k:-k, k:-k]
        np.testing.assert_allclose(inner, a * np.sqrt(1 - 1 / n ** 2), rtol=1e-9)
        assert np.isnan(r[:k]).all()
