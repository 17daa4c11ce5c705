"""lupex.instruments.neutron_forward: the along-track footprint (unit integral, its FWHM, the CDF as the kernel's
integral), footprint-smoothed rates over uniform and stepped ground, Poisson counts' expectation, the reduction of
a layered column to two layers by hand, and the parameters' bounds."""

import types

import numpy as np
import pytest
from scipy import integrate

from lupex.errors import ConfigError, InputError
from lupex.instruments import neutron_forward as NF


@pytest.mark.parametrize("beta", [0.0, NF.BEAMING_EXPONENT, 1.0])
def test_the_footprint_integrates_to_one_and_has_its_fwhm(beta):
    fwhm = 1.3
    total, _ = integrate.quad(lambda x: NF.footprint_kernel(x, fwhm, beta), -np.inf, np.inf)
    assert total == pytest.approx(1.0, rel=1e-7)          # quad's tolerance on a heavy-tailed integrand
    k0 = NF.footprint_kernel(0.0, fwhm, beta)
    assert NF.footprint_kernel(fwhm / 2, fwhm, beta) == pytest.approx(k0 / 2, rel=1e-12)
    for x in (-2.0, -0.3, 0.0, 0.7, 5.0):
        part, _ = integrate.quad(lambda u: NF.footprint_kernel(u, fwhm, beta), -np.inf, x)
        assert float(NF.footprint_cdf(x, fwhm, beta)) == pytest.approx(part, abs=1e-7)


def test_fwhm_per_height_by_hand():
    assert NF.fwhm_per_height(0.0) == pytest.approx(2.0 * np.sqrt(2.0 - 1.0))     # isotropic: 2 h
    p = NF.NeutronParams(footprint_fwhm_m=1.0)
    assert p.height_m * NF.fwhm_per_height(p.beaming_exponent) == pytest.approx(1.0, rel=1e-12)


def test_smoothed_rates_over_uniform_and_stepped_ground():
    edges = np.array([-100.0, 0.0, 100.0])
    flat = NF.smoothed_rates(np.array([-50.0, 0.0, 30.0]), edges, np.array([7.0, 7.0]))
    np.testing.assert_allclose(flat, 7.0, rtol=1e-12)
    # over a step from 10 to 20 cps: the mean at the edge (the kernel is symmetric), the sides far from it
    # (within the 50 m window's truncation, 6e-4 of the step)
    r = NF.smoothed_rates(np.array([-60.0, 0.0, 60.0]), edges, np.array([10.0, 20.0]))
    np.testing.assert_allclose(r, [10.0, 15.0, 20.0], atol=10.0 * 6e-4)
    with pytest.raises(InputError, match="one value per ground cell"):
        NF.smoothed_rates([0.0], edges, [1.0])


def test_track_counts_expect_rate_times_time_over_uniform_ground():
    t = np.arange(0.0, 101.0, 10.0)
    s = 0.1 * t
    epi, th, m_epi, m_th = NF.simulate_track_counts(t, s, np.array([-1e3, 1e3]), np.array([30.0]), np.array([12.0]),
                                                    np.random.default_rng(0))
    np.testing.assert_allclose(m_epi, 300.0, rtol=1e-12)
    np.testing.assert_allclose(m_th, 120.0, rtol=1e-12)
    assert epi.shape == th.shape == (10,) and epi.dtype.kind == "i"
    assert abs(epi.sum() - 3000) < 5 * np.sqrt(3000)          # Poisson: 5 sigma


def _column(w, t_k=100.0, n=40, dz=0.05, rho=1500.0):
    w = np.asarray(w, float) * np.ones(n)
    return types.SimpleNamespace(weh_wt_pct=w, density_kg_m3=np.full(n, rho), dz_m=dz,
                                 temperature_k=np.full(n, t_k), feo_tio2_wt_pct=6.0)


def test_equivalent_two_layer_by_hand():
    assert NF.equivalent_two_layer(_column(2.0)) == (2.0, 2.0, 0.0)
    w = np.zeros(40)
    w[4:] = 5.0                         # 4 dry layers of 1500 kg/m3 x 5 cm = 7.5 g/cm2 each over wet ground
    top, bot, m = NF.equivalent_two_layer(_column(w))
    assert (top, bot) == (0.0, 5.0) and m == pytest.approx(30.0)
    assert NF.sampling_temperature_k(_column(2.0, t_k=123.0)) == pytest.approx(123.0)


def test_two_layers_of_one_water_content_are_homogeneous_ground():
    # 0.2 %: the table interpolates over the top layer's mass too, which a homogeneous column does not
    e2, t2 = NF.two_layer_ratios(3.0, 3.0, 20.0)
    assert float(e2) == pytest.approx(float(NF.epithermal_ratio(3.0)) * float(NF.composition_factors(6.0)[0]),
                                      rel=2e-3)
    assert float(t2) == pytest.approx(float(NF.thermal_ratio(3.0)), rel=2e-3)
    assert float(NF.epithermal_ratio(0.0)) == pytest.approx(1.0, abs=1e-6)   # dry reference regolith
    assert float(NF.epithermal_ratio(5.0)) < float(NF.epithermal_ratio(1.0)) < 1.0   # hydrogen moderates
    with pytest.raises(InputError, match="weh_top_wt_pct must be within"):
        NF.two_layer_ratios(101.0, 0.0, 1.0)


@pytest.mark.parametrize("kw,needle", [
    (dict(epi_dry_rate_cps=0.0), "epi_dry_rate_cps"),
    (dict(beaming_exponent=3.01), "beaming_exponent"),
    (dict(systematic_frac=0.3), "systematic_frac"),
    (dict(reference_feo_tio2_wt_pct=40.1), "reference_feo_tio2_wt_pct"),
    (dict(response="builtin"), "response must be a NeutronResponseParams"),
])
def test_neutron_params_refuse_just_past_their_bounds(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        NF.NeutronParams(**kw)
    with pytest.raises(ConfigError, match="table must be 'builtin' or a path"):
        NF.NeutronResponseParams(table="")
