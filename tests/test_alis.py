"""ALIS: Planck and Hapke pieces against independent computations, the ESPAT-water
relation, thermal band filling, and round-trip water retrieval."""

import numpy as np
import pytest
from scipy import integrate

from lupex.errors import InputError
from lupex.instruments import alis

LAM = alis.wavelengths_um()


def test_planck_matches_wavenumber_form():
    # Independent: B in wavenumber units, converted with B_lambda = B_nu~ * nu~^2
    h, c, k = 6.62607015e-34, 299792458.0, 1.380649e-23
    for t in (150.0, 250.0, 350.0):
        nu = 1.0 / 3.0e-6                           # 3 um in m^-1
        b_nu = 2 * h * c ** 2 * nu ** 3 / (np.exp(h * c * nu / (k * t)) - 1)
        assert alis.planck_radiance(3.0, t) == pytest.approx(b_nu * nu ** 2, rel=1e-10)
    # Stefan-Boltzmann: pi * integral of B over wavelength = sigma T^4
    lam = np.geomspace(0.5, 2000, 20001)
    tot = np.pi * integrate.trapezoid(alis.planck_radiance(lam, 300.0), lam * 1e-6)
    assert tot == pytest.approx(5.670374419e-8 * 300.0 ** 4, rel=1e-3)


def test_thermal_part_at_3um_is_emissivity_times_planck():
    _, _, therm = alis.radiance(np.array([3.0]), 0.05, 320.0, 70.0, 10.0)
    w = alis.single_scattering_albedo(np.array([3.0]), 0.05)
    eps = np.sqrt(1 - w) * (1 + 2 * np.cos(np.radians(10))) / (1 + 2 * np.sqrt(1 - w) * np.cos(np.radians(10)))
    h, c, k, lam = 6.62607015e-34, 299792458.0, 1.380649e-23, 3e-6
    b = 2 * h * c ** 2 / lam ** 5 / (np.exp(h * c / (lam * k * 320.0)) - 1)
    assert therm[0] == pytest.approx(eps[0] * b, rel=1e-9)


def test_solar_irradiance_integrates_to_solar_constant():
    lam = np.geomspace(0.05, 500, 40001)
    assert integrate.trapezoid(alis.solar_irradiance(lam), lam * 1e-6) == pytest.approx(1361.0, rel=1e-3)


def test_emissivity_plus_hemispherical_reflectance_is_one():
    # Kirchhoff check of eps = gamma H(mu): integrate Hapke's bidirectional
    # reflectance over the hemisphere (exact only with the exact H function;
    # the approximate H keeps it within 4 %: we measure up to 3.3 % at w = 0.9).
    for w in (0.3, 0.6, 0.9):
        for inc in (0.0, 60.0):
            mu0 = np.cos(np.radians(inc))

            def f(mu):
                return alis.hapke_iof(w, inc, np.degrees(np.arccos(mu))) / (np.pi * mu0) * mu * 2 * np.pi
            rh = integrate.quad(f, 0, 1)[0]
            assert rh + alis.directional_emissivity(w, inc) == pytest.approx(1.0, abs=0.04)


def test_espat_is_linear_in_water_milliken_mustard_2005():
    # Milliken & Mustard 2005: band-centre ESPAT minus continuum ESPAT is linear in
    # H2O wt% with zero intercept, and does not depend on viewing geometry.
    i2 = np.argmin(abs(LAM - 2.9))
    water = np.array([0.0, 0.01, 0.05, 0.1, 0.3, 1.0])
    for inc, em in ((30.0, 0.0), (80.0, 20.0)):
        d = []
        for x in water:
            _, refl, _ = alis.radiance(LAM, x, 100.0, inc, em)
            iof = refl * np.pi / alis.solar_irradiance(LAM)
            _, refl0, _ = alis.radiance(LAM, 0.0, 100.0, inc, em)
            iof0 = refl0 * np.pi / alis.solar_irradiance(LAM)
            d.append(alis.espat(alis.invert_hapke(iof[i2], inc, em)) - alis.espat(alis.invert_hapke(iof0[i2], inc, em)))
        slope, icpt = np.polyfit(water, d, 1)
        assert slope == pytest.approx(alis.AlisParams().espat_per_wt_pct, rel=1e-6)
        assert abs(icpt) < 1e-8


def test_band_depth_anchor_500ppm():
    # Design anchor (docstring): 500 ppm H2O ~10 % band depth at 2.9 um, the order of
    # the M3 high-latitude band depths Li & Milliken 2017 convert to ~500 ppm.
    _, refl, _ = alis.radiance(LAM, 0.05, 100.0, 30.0, 0.0)
    bd = alis.band_depth(LAM, refl * np.pi / alis.solar_irradiance(LAM))
    assert 0.07 < bd < 0.13
    bds = [alis.band_depth(LAM, alis.radiance(LAM, x, 100.0, 30.0, 0.0)[1] * np.pi / alis.solar_irradiance(LAM))
           for x in (0.01, 0.05, 0.1, 0.5)]
    assert np.all(np.diff(bds) > 0)


def test_warm_surface_fills_the_band():
    # Thermal emission fills the 3 um band (Li & Milliken 2017; Bandfield 2018) when
    # the continuum comes from shorter wavelengths, as it must for M3 (range ends at
    # 3.0 um): continuum extrapolated from 2.3-2.5 um, no thermal correction.
    f = alis.solar_irradiance(LAM)
    bd = [alis.band_depth(LAM, alis.radiance(LAM, 0.1, t, 75.0)[0] * np.pi / f, shoulders_um=(2.3, 2.5))
          for t in (150.0, 300.0, 360.0)]
    assert bd[0] > bd[1] > bd[2]
    assert bd[2] < 0.5 * bd[0]


@pytest.mark.parametrize("water", [0.01, 0.05, 0.2])
@pytest.mark.parametrize("temp", [150.0, 250.0, 330.0])
def test_round_trip_given_temperature(water, temp):
    rng = np.random.default_rng(int(water * 1000 + temp))
    y, sig = alis.simulate_spectrum(LAM, water, temp, 75.0, 5.0, rng)
    r = alis.retrieve_water(LAM, y, 75.0, 5.0, temperature_k=temp, sigma=sig)
    assert abs(r.water_wt_pct - water) < 3.5 * r.water_sigma_wt_pct
    assert r.water_sigma_wt_pct < 0.01                      # 100 ppm at SNR 100


def test_round_trip_fitted_temperature_warm_surface():
    rng = np.random.default_rng(99)
    y, sig = alis.simulate_spectrum(LAM, 0.08, 340.0, 70.0, 0.0, rng)
    r = alis.retrieve_water(LAM, y, 70.0, 0.0, sigma=sig)
    assert r.temperature_k == pytest.approx(340.0, abs=3 * r.temperature_sigma_k + 1.0)
    assert abs(r.water_wt_pct - 0.08) < 3.5 * r.water_sigma_wt_pct
    # the thermally corrected I/F recovers the reflected band depth
    _, refl, _ = alis.radiance(r.wavelength_um, 0.08, 340.0, 70.0, 0.0)
    true_bd = alis.band_depth(r.wavelength_um, refl * np.pi / alis.solar_irradiance(r.wavelength_um))
    assert r.band_depth == pytest.approx(true_bd, abs=0.02)


@pytest.mark.parametrize("call", [
    lambda: alis.radiance(LAM, -0.1, 200.0, 30.0),
    lambda: alis.radiance(LAM, 0.1, -5.0, 30.0),
    lambda: alis.radiance(LAM, 0.1, 200.0, 95.0),
    lambda: alis.retrieve_water(LAM, np.full(LAM.shape, np.nan), 30.0),
    lambda: alis.retrieve_water(LAM[::-1], np.ones(LAM.size), 30.0),
    lambda: alis.retrieve_water(LAM, np.ones(LAM.size - 1), 30.0),
    lambda: alis.simulate_spectrum(LAM, 0.1, 200.0, 30.0, 0.0, rng=1),
])
def test_bad_inputs_raise_input_error(call):
    with pytest.raises(InputError):
        call()
