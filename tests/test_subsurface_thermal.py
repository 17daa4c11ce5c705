"""Thermal model checks: analytic cases (Carslaw & Jaeger) and published Diviner temperatures."""

import numpy as np
import pytest
from scipy import integrate as sint
from scipy import optimize

from lupex.errors import ConfigError, InputError
from lupex.subsurface import polar, thermal as th

EPS_SIGMA = 0.95 * 5.670374419e-8


def _equatorial_flux(nt=709):
    dt = th.SYNODIC_MONTH_S / nt
    h = 2 * np.pi * (np.arange(nt) + 1) / nt  # hour angle from local noon
    inc = np.degrees(np.arccos(np.cos(h)))
    return th.absorbed_flux_w_m2(inc), dt


def test_geothermal_steady_state_matches_conduction_integral():
    """(a) No sunlight: T_s = (Q/eps sigma)^1/4 and int k(T) dT = Q int dz / k_c (independent quadrature)."""
    p = th.HAYNE2017
    grid = th.make_grid(z_max_m=2.0)
    r = th.integrate(100.0, np.zeros(3000), 1e7, grid=grid)
    ts = (p.heat_flux_w_m2 / EPS_SIGMA) ** 0.25
    assert r.t_final_k[0] == pytest.approx(ts, abs=0.01)
    for z in (0.05, 0.5, 1.0, 2.0):
        rhs = p.heat_flux_w_m2 * sint.quad(lambda s: 1 / p.contact_conductivity_w_m_k(s), 0, z)[0]

        def f(t):
            return sint.quad(lambda s: 1 + p.chi * (s / 350) ** 3, ts, t)[0] - rhs

        t_exact = optimize.brentq(f, ts, ts + 100)
        t_model = np.interp(z, r.z_m, r.t_final_k)
        assert t_model == pytest.approx(t_exact, abs=0.05), z


def test_periodic_forcing_skin_depth_and_phase_lag():
    """(b) Constant-property half-space, sinusoidal surface T: amplitude exp(-z/d), lag z/d (Carslaw & Jaeger 2.6)."""
    k, rho, cp = 1e-3, 1500.0, 600.0
    props = th.ThermalProperties(k_s_w_m_k=k, k_d_w_m_k=k, chi=0.0, rho_s_kg_m3=rho, rho_d_kg_m3=rho,
                                 cp_coeffs=(cp,), heat_flux_w_m2=0.0)
    period, nt = th.SYNODIC_MONTH_S, 709
    dt = period / nt
    delta = th.skin_depth_m(k, rho, cp, period)
    grid = th.Grid(np.arange(0.0, 16 * delta, 0.001))
    t = (np.arange(nt) + 1) * dt
    ts = 250.0 + 100.0 * np.sin(2 * np.pi * t / period)
    r = th.integrate(250.0, np.zeros(nt), dt, props=props, grid=grid, surface_t_k=ts, n_repeat=6)
    T = r.t_final_k.copy()
    z_probe = np.array([1.0, 2.0, 3.0]) * delta
    idx = np.searchsorted(grid.z_m, z_probe)
    series = np.empty((nt, idx.size))
    for n in range(nt):  # one more period, step by step, to see the waves at depth
        T = th.integrate(T, np.zeros(1), dt, props=props, grid=grid, surface_t_k=ts[n:n + 1]).t_final_k
        series[n] = T[idx]
    w = 2 * np.pi * t / period
    for j, zz in enumerate(grid.z_m[idx]):
        s = series[:, j] - series[:, j].mean()
        a, b = 2 * np.mean(s * np.sin(w)), 2 * np.mean(s * np.cos(w))
        amp, lag = np.hypot(a, b) / 100.0, -np.arctan2(b, a)
        assert amp == pytest.approx(np.exp(-zz / delta), rel=0.02)
        assert lag == pytest.approx(zz / delta, abs=0.03)


def test_equatorial_day_matches_diviner():
    """(c) Noon near radiative equilibrium; night minimum ~95 K.

    Diviner: equatorial maxima ~387-390 K and pre-dawn minima ~95 K (Vasavada et al.
    2012, JGR 117:E00H18; Williams et al. 2017, Icarus 283:300).
    """
    flux, dt = _equatorial_flux()
    r = th.periodic_temperatures(flux, dt)
    assert r.converged
    t_eq = ((1 - 0.12) * 1361 / EPS_SIGMA) ** 0.25  # A(0) = 0.12
    assert t_eq == pytest.approx(386.2, abs=0.1)
    assert r.t_surface_k.max() == pytest.approx(t_eq, abs=3.0)
    assert 380 < r.t_surface_k.max() < 395
    assert 90 < r.t_surface_k.min() < 102
    # periodic: one more plain (unaccelerated) lunation changes nothing
    again = th.integrate(r.t_final_k, flux, dt)
    assert np.max(np.abs(again.t_final_k - r.t_final_k)) < 0.1
    assert np.max(np.abs(again.t_surface_k - r.t_surface_k)) < 0.1


def test_permanent_shadow_temperature():
    """(d) Geothermal + 0.1 W/m^2 scattered: ~38 K, inside Paige et al. 2010's 25-50 K PSR range."""
    flux = np.full(120, 0.1)
    r = th.periodic_temperatures(flux, 6 * 3600.0)
    expected = ((0.1 + 0.018) / EPS_SIGMA) ** 0.25
    assert r.t_surface_k.max() == pytest.approx(expected, abs=0.2)
    assert 25 < r.t_surface_k.max() < 50


def test_albedo_incidence_dependence():
    p = th.HAYNE2017
    np.testing.assert_allclose(p.albedo([0, 45, 90]), [0.12, 0.12 + 0.06 + 0.25 * 0.5**8, 0.12 + 0.06 * 8 + 0.25])


def test_incidence_on_slope():
    # sun 10 deg high due north on a 20 deg north-facing slope: incidence 60 deg
    assert th.incidence_deg(10.0, 0.0, 20.0, 0.0) == pytest.approx(60.0)
    assert th.incidence_deg(10.0, 180.0, 20.0, 0.0) == pytest.approx(100.0)


def test_three_hour_steps_close_to_one_hour():
    a = th.periodic_temperatures(*polar.polar_forcing(0.1, 10.0, steps_per_month=236))
    b = th.periodic_temperatures(*polar.polar_forcing(0.1, 10.0, steps_per_month=709))
    assert abs(a.t_max_k[0] - b.t_max_k[0]) < 1.0
    assert np.max(np.abs(a.t_max_k - b.t_max_k)) < 1.5


@pytest.mark.parametrize("bad", [[1.0, np.nan], [np.inf]])
def test_nan_forcing_raises(bad):
    with pytest.raises(InputError, match="NaN"):
        th.periodic_temperatures(bad, 3600.0)


def test_bad_properties_raise():
    with pytest.raises(ConfigError, match="emissivity"):  # a *Params field: ConfigError, as every parameter check
        th.RegolithThermalParams(emissivity=1.5)
    with pytest.raises(InputError, match="visible_fraction"):
        th.absorbed_flux_w_m2(0.0, 2.0)
