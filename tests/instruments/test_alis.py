"""ALIS: Planck and Hapke pieces against independent computations, the laboratory tables
against rows re-read from their source files, the MORB ESPAT-water relation, thermal band
filling, and round-trip water retrieval."""

import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import brentq

from lupex.errors import ConfigError, InputError
from lupex.instruments import alis

LAM = alis.wavelengths_um()
MU0_LAB = np.cos(np.radians(30.0))

# Source rows, re-read from the data release of Cremons & Honniball 2022
# (github.com/philiplinden/cremons-et-al-2022). data/Highlands_62231_Spectra.txt (RELAB LR-CMP-098),
# line number: (wavelength um, reflectance)
SOIL_ROWS = {89: (0.73, 0.14727), 90: (0.735, 0.14789), 91: (0.74, 0.14832), 92: (0.745, 0.14887),
             93: (0.75, 0.14924), 94: (0.755, 0.14972), 95: (0.76, 0.15015), 96: (0.765, 0.15064),
             97: (0.77, 0.15105), 441: (2.49, 0.33926), 442: (2.495, 0.34019), 443: (2.5, 0.34076),
             444: (2.505, 0.34111), 445: (2.51, 0.34135), 529: (2.6497, 0.35349), 1121: (3.7988, 0.39132)}
# data/650^oC.csv, 700^oC.csv, 750^oC.CSV, 800^oC.CSV, line number: (wavenumber cm^-1, R in % per file),
# the rows around the 3.00 um channel (2.99-3.01 um = 3322.3-3344.5 cm^-1)
MORB_ROWS = {5540: (3320.392, 5.716430, 26.48937, 43.60522, 27.76511),
             5550: (3325.213, 5.689476, 26.39544, 43.49239, 27.69798),
             5560: (3330.035, 5.669130, 26.30575, 43.39397, 27.63912),
             5571: (3335.338, 5.643369, 26.20778, 43.26327, 27.59209),
             5581: (3340.159, 5.624298, 26.10886, 43.16344, 27.50873),
             5592: (3345.463, 5.592712, 26.01240, 43.03719, 27.45098)}
MORB_PPM = (1522.0, 762.0, 176.0, 22.0)      # SIMS water after 650, 700, 750, 800 C (same source)


def _reff_hapke(w, mu0=MU0_LAB, mu=1.0):
    """Reflectance factor (I/F / mu0) of the isotropic Hapke model, written out independently."""
    g = np.sqrt(1.0 - w)

    def h(x):
        return (1.0 + 2.0 * x) / (1.0 + 2.0 * g * x)
    return w / 4.0 / (mu0 + mu) * h(mu0) * h(mu)


def _ssa_of_reff(r):
    return np.array([brentq(lambda w, v=v: _reff_hapke(w) - v, 1e-9, 1.0 - 1e-12, xtol=1e-13) for v in np.ravel(r)])


def _channel_mean(lam, r, centre, half=0.01):
    x = np.linspace(centre - half, centre + half, 4001)
    return integrate.trapezoid(np.interp(x, lam, r), x) / (2 * half)


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


def test_lab_tables_reproduce_source_rows():
    lab = alis.lab_spectra()
    soil = np.array(list(SOIL_ROWS.values()))
    for c in (0.74, 0.76, 2.50):
        k = int(np.argmin(abs(lab.wavelength_um - c)))
        assert lab.soil_reff[k] == pytest.approx(_channel_mean(soil[:, 0], soil[:, 1], c), abs=2e-6)
        assert lab.soil_dry_reff[k] == lab.soil_reff[k]              # no water line below 2.65 um
    # the dry spectrum is the straight line through lines 529 and 1121 at 3.0 um (lab water removed)
    (l1, r1), (l2, r2) = SOIL_ROWS[529], SOIL_ROWS[1121]
    k3 = int(np.argmin(abs(lab.wavelength_um - 3.0)))
    assert lab.soil_dry_reff[k3] == pytest.approx(r1 + (r2 - r1) * (3.0 - l1) / (l2 - l1), abs=2e-6)
    assert lab.soil_reff[k3] < lab.soil_dry_reff[k3] - 0.04     # the sample's own water band
    rows = np.array(list(MORB_ROWS.values()))
    lam = 1e4 / rows[::-1, 0]
    km = int(np.argmin(abs(lab.morb_wavelength_um - 3.0)))
    for j in range(4):
        assert lab.morb_reff[j, km] == pytest.approx(_channel_mean(lam, rows[::-1, j + 1] / 100, 3.0), rel=2e-5)
    assert tuple(lab.morb_water_ppm) == MORB_PPM


def _independent_morb_espat():
    """ESPAT of the four MORB spectra, normalised to 0.2363 at 2.6 um and inverted here with brentq."""
    lab = alis.lab_spectra()
    k = int(np.argmin(abs(lab.morb_wavelength_um - 2.6)))
    r = lab.morb_reff * (0.2363 / lab.morb_reff[:, k:k + 1])
    w = _ssa_of_reff(r).reshape(r.shape)
    return lab.morb_wavelength_um, w, (1 - w) / w


def test_linear_espat_model_reproduces_the_four_morb_spectra():
    # Milliken & Mustard 2005 / Cremons & Honniball 2022: ESPAT linear in water at every wavelength.
    # The module's fit reproduces the measured albedos within 0.011 over 2.6-3.6 um (0.0099 measured,
    # for the 762 ppm spectrum at 3.5 um) and within 0.005 over the band core 2.6-3.0 um (0.0044).
    lam, w, e = _independent_morb_espat()
    fit = alis.morb_espat_fit()
    np.testing.assert_allclose(fit.ssa, w, atol=1e-9)
    model = fit.model_ssa(MORB_PPM)
    band = (lam >= 2.6 - 1e-9)
    core = band & (lam <= 3.0 + 1e-9)
    assert np.abs(model - w)[:, band].max() < 0.011
    assert np.abs(model - w)[:, core].max() < 0.005
    # the slope is the least-squares line through the four ESPATs (np.polyfit), zero up to 2.6 um
    for k in np.where(lam > 2.6 + 1e-9)[0]:
        assert fit.slope_per_ppm[k] == pytest.approx(np.polyfit(MORB_PPM, e[:, k], 1)[0], rel=1e-9)
    assert np.all(fit.slope_per_ppm[lam <= 2.6 + 1e-9] == 0.0)
    # without the water term the 1522 ppm spectrum is missed by far more than the tolerance
    assert np.abs(1 / (1 + fit.intercept) - w[0])[band].max() > 0.05


def test_band_peaks_at_the_glass_water_band():
    # The OH/H2O stretching band of hydrous silicate glass lies at ~3550 cm^-1 (2.82 um);
    # band_centre_um is where the lab slope spectrum peaks.
    fit = alis.morb_espat_fit()
    peak = fit.wavelength_um[np.argmax(fit.slope_per_ppm)]
    assert peak == pytest.approx(1e4 / 3550.0, abs=0.021)
    assert alis.AlisParams().band_centre_um == pytest.approx(peak, abs=1e-9)


def test_espat_is_linear_in_water_with_the_lab_slope_scaled_to_grain_size():
    # Forward model: band-centre ESPAT minus dry ESPAT is linear in H2O with zero intercept, does not
    # depend on viewing geometry, and has the MORB slope (fitted here with np.polyfit on independently
    # inverted albedos) times 1e4 ppm/wt% times 32/69 (regolith / glass grain size, Hapke ESPAT ~ alpha D).
    lam, _, e = _independent_morb_espat()
    k = int(np.argmin(abs(lam - 2.82)))
    expected = np.polyfit(MORB_PPM, e[:, k], 1)[0] * 1e4 * 32.0 / 69.0
    i2 = np.argmin(abs(LAM - 2.82))
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
        assert slope == pytest.approx(expected, rel=1e-6)
        assert abs(icpt) < 1e-8
    half = alis.AlisParams(regolith_grain_size_um=16.0)
    assert alis.water_espat_per_wt_pct(2.82, half) == pytest.approx(expected / 2, rel=1e-9)


def test_dry_continuum_is_relab_62231():
    # The dry surface seen at the RELAB geometry (i = 30, e = 0 deg) gives back 62231's reflectance
    # factor (I/F / cos i): 0.14924 at 0.75 um (line 93), 0.34076 at 2.5 um (line 443), within the
    # 20 nm channel averaging (< 0.1 %); the power law it replaces gave 0.22 / cos 30 = 0.254 at 0.75 um.
    lam = np.array([0.75, 2.5])
    w = alis.single_scattering_albedo(lam, 0.0)
    reff = _reff_hapke(w)
    assert reff[0] == pytest.approx(SOIL_ROWS[93][1], rel=1e-3)
    assert reff[1] == pytest.approx(SOIL_ROWS[443][1], rel=1e-3)
    # scale and tilt act as documented
    w2 = alis.single_scattering_albedo(lam, 0.0, continuum_scale=1.2, continuum_slope=0.5)
    np.testing.assert_allclose(_reff_hapke(w2), reff * 1.2 * (lam / 0.75) ** 0.5, rtol=1e-9)


def test_band_depth_grows_with_water():
    # band depth at 2.82 um against the 2.5-3.5 um line; the dry 62231 continuum is concave over
    # 2.5-3.5 um, so the dry depth is slightly negative (-1.5 %)
    bds = [alis.band_depth(LAM, alis.radiance(LAM, x, 100.0, 30.0, 0.0)[1] * np.pi / alis.solar_irradiance(LAM))
           for x in (0.0, 0.01, 0.05, 0.1, 0.5)]
    assert -0.03 < bds[0] < 0.0
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
    lambda: alis.radiance(np.array([3.0, 4.0]), 0.1, 200.0, 30.0),          # beyond the lab tables
])
def test_bad_inputs_raise_input_error(call):
    with pytest.raises(InputError):
        call()


@pytest.mark.parametrize("kw", [{"regolith_grain_size_um": 0.0}, {"continuum_scale": 3.0},
                                {"continuum_slope": -2.0}, {"band_centre_um": 4.0}])
def test_bad_params_raise_config_error(kw):
    with pytest.raises(ConfigError):
        alis.AlisParams(**kw)
