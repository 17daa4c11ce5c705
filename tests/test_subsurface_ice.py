"""Ice stability, random fields (variogram), ice placement and rocks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from lupex.errors import InputError
from lupex.subsurface import ice, polar, vapor


def test_vapor_pressure_and_loss_rate():
    # Murphy & Koop 2005 eq. 7 at 273.16 K gives the triple-point pressure 611.657 Pa (their Table/check value)
    assert vapor.vapor_pressure_ice_pa(273.16) == pytest.approx(611.657, rel=1e-3)
    # Siegler et al. 2016 (docs/REFERENCES.md#siegler2016): ~1 mm/Gyr near 100 K
    t1 = optimize.brentq(lambda t: np.log(vapor.recession_mm_per_gyr(vapor.sublimation_rate_kg_m2_s(t))), 80, 130)
    assert 98 < t1 < 104


def test_stability_depth_on_analytic_profile():
    # T_max(z) = 100 + 60 exp(-z/0.1): crosses 110 K at z = 0.1 ln 6
    z = np.linspace(0, 2, 2001)
    t = 100 + 60 * np.exp(-z / 0.1)
    assert ice.stability_depth_m(z, t) == pytest.approx(0.1 * np.log(6), abs=1e-4)
    assert ice.stability_depth_m(z, t + 20) == np.inf
    assert ice.stability_depth_m(z, t - 60) == 0.0
    both = ice.stability_depth_m(z, np.stack([t, t + 20]))
    assert both[0] == pytest.approx(0.1 * np.log(6), abs=1e-4) and np.isinf(both[1])


def test_stability_depth_nan_raises():
    with pytest.raises(InputError, match="NaN"):
        ice.stability_depth_m([0, 1], [np.nan, 100.0])


def test_field_variance_and_correlation_length_from_variogram():
    """Fit gamma(h) = s^2 (1 - exp(-h/L)) to the empirical variogram of synthesised fields."""
    L, px, n = 8.0, 1.0, 256
    g = ice.gaussian_random_fields((n, n), px, L, np.random.default_rng(42), n_fields=4)
    assert g.var() == pytest.approx(1.0, abs=0.1)
    lags, gam = zip(*(ice.empirical_variogram(f, px, 24) for f in g))
    gam = np.mean(gam, axis=0)
    (s2, lfit), _ = optimize.curve_fit(lambda h, s2, l_: s2 * (1 - np.exp(-h / l_)), lags[0], gam, p0=(1, 5))
    assert lfit == pytest.approx(L, rel=0.15)
    assert s2 == pytest.approx(1.0, abs=0.15)


def test_matern_reduces_to_exponential():
    r = np.linspace(0, 50, 11)
    np.testing.assert_allclose(ice.matern_covariance(r, 10.0, 0.5), np.exp(-r / 10))
    # nu = 1.5 closed form: (1 + sqrt3 r/L) exp(-sqrt3 r/L)
    s = np.sqrt(3) * r / 10
    np.testing.assert_allclose(ice.matern_covariance(r, 10.0, 1.5), (1 + s) * np.exp(-s), rtol=1e-9)


def test_fields_need_a_generator():
    with pytest.raises(InputError, match="Generator"):
        ice.gaussian_random_fields((8, 8), 1.0, 2.0, 42)
    with pytest.raises(InputError, match="corr_length_m"):
        ice.gaussian_random_fields((8, 8), 1.0, -2.0, np.random.default_rng(0))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), free=st.floats(0, 1), depth=st.floats(0, 4))
def test_ice_only_where_stable(seed, free, depth):
    rng = np.random.default_rng(seed)
    stab = np.where(rng.random((24, 24)) < 0.5, depth, np.inf)
    table, weh = ice.ice_fields(stab, 1.0, rng, corr_length_m=3.0, ice_free_frac=free)
    has = np.isfinite(table)
    assert np.all(np.isfinite(stab[has]))
    assert np.all(table[has] >= stab[has])
    assert np.all(table[has] < 3.0)
    assert np.all((weh > 0) == has) and np.all(weh <= 20.0)


def test_ice_statistics_follow_parameters():
    stab = np.zeros((300, 300))
    table, weh = ice.ice_fields(stab, 1.0, np.random.default_rng(7), corr_length_m=5.0, ice_free_frac=0.3)
    has = np.isfinite(table)
    assert has.mean() == pytest.approx(0.7, abs=0.05)
    assert np.median(weh[has]) == pytest.approx(1.5, rel=0.1)
    assert np.median(table[has]) == pytest.approx(0.25, rel=0.1)


@pytest.mark.parametrize("kw,msg", [({"weh_median_wt_pct": -1.0}, "wt%"), ({"weh_max_wt_pct": 120.0}, "wt%"),
                                    ({"ice_free_frac": 1.5}, "ice_free_frac")])
def test_ice_bad_parameters(kw, msg):
    with pytest.raises(InputError, match=msg):
        ice.ice_fields(np.zeros((4, 4)), 1.0, np.random.default_rng(0), **kw)


def test_negative_stability_depth_raises():
    with pytest.raises(InputError, match=">= 0 m"):
        ice.ice_fields(-np.ones((4, 4)), 1.0, np.random.default_rng(0))


def test_rocks_count_and_size_distribution():
    """Number and sizes against the Golombek & Rapp 1997 model integrated independently."""
    k = 0.02
    rocks = ice.buried_rocks((0, 200), (0, 200), np.random.default_rng(3), rock_abundance=k, d_min_m=0.2)
    q = 1.79 + 0.152 / k
    # expected volume fraction of rocks >= 0.2 m (up to 2 m): k (exp(-0.2 q) - exp(-2 q))
    frac = (4 / 3 * np.pi * rocks["radius_m"] ** 3).sum() / (200 * 200 * 2.0)
    assert frac == pytest.approx(k * (np.exp(-0.2 * q) - np.exp(-2 * q)), rel=0.15)
    expected_n = 200 * 200 * 2.0 * ice.rock_number_density_m3(k, 0.2, 2.0)
    assert len(rocks) == pytest.approx(expected_n, rel=5 / np.sqrt(expected_n))
    assert rocks["radius_m"].between(0.1, 1.0).all() and rocks["depth_m"].between(0, 2).all()


def test_polar_table_stability_behaves():
    tb = polar.polar_table()
    s = tb.stability_depth_m[0]
    assert s[0] == 0.0  # permanent shadow: stable at the surface (T_max ~49 K)
    assert np.isinf(s[-1])  # always lit: nowhere stable within 3 m
    fin = s[np.isfinite(s)]
    assert np.all(np.diff(fin) > 0)  # more sun, deeper ice
    assert np.all(np.diff(tb.t_mean_surface_k[0]) >= -1e-6)
