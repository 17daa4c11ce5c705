"""GPR velocity models: a density profile's eps'(z) against the forward model's own column sums,
closed forms for constant eps', Monte Carlo for the depth sigma, and retrievals over graded ground."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.instruments import gpr
from lupex.instruments.gpr_dielectric import C_M_S, attenuation_np_m, column_dielectric
from lupex.instruments.gpr_velocity import PROFILE_SCALE_SIGMA, VelocityModel
from lupex.subsurface import regolith
from lupex.subsurface.profile import Column, Rock


def _column(model="carrier", z_ice=np.inf, weh=0.0, dz=0.002, depth=1.6, rho_shift=0.0, feo=5.5):
    """Ground truth on a density profile, ice filling the pores below z_ice (the ground truth's rule)."""
    z = np.arange(dz / 2, depth, dz)
    rho = regolith.density_kg_m3(z, model) + rho_shift
    w = np.where(z > z_ice, weh, 0.0)
    return Column(z, regolith.bulk_density_with_ice_kg_m3(rho, w), w, np.full(z.size, 90.0), feo, z_ice)


def test_profile_integrals_match_the_forward_models_column_sums():
    col = _column(dz=0.001)
    eps, tan = column_dielectric(col)
    vm = VelocityModel.prior("carrier")
    for z in (0.05, 0.2, 0.45, 1.2):
        # two-way time: the forward model's own sum over the column (independent of the model's grid)
        assert 2 * vm.one_way_time_s(z) == pytest.approx(gpr.column_two_way_time(col, z), rel=2e-4)
        k = col.z_m < z
        assert vm.inverse_n_integral_m(z) == pytest.approx(np.sum(col.dz_m / np.sqrt(eps[k])), rel=2e-3)
        assert vm.attenuation_integral(z, 5.5, 800e6) == pytest.approx(
            np.sum(attenuation_np_m(eps[k], tan[k], 800e6) * col.dz_m), rel=2e-3)
        # the time-to-depth inversion is the integral's inverse, and the graded top reads slower than its base
        assert vm.depth_m(2 * vm.one_way_time_s(z)) == pytest.approx(z, abs=1e-5)
        assert vm.eps_at(0.0) < vm.mean_eps(z) < vm.eps_at(z)
    # Carrier 1991 eq. 9.6 through 1.919^rho: 1.30 g/cm^3 at the top (eps' 2.33), 1.65 at 0.3 m (3.00)
    assert vm.eps_at(0.0) == pytest.approx(1.919 ** 1.3013, rel=1e-4)
    assert vm.eps_at(0.3) == pytest.approx(1.919 ** (1.92 * 42.2 / 48), rel=1e-4)


def test_constant_model_is_the_closed_form():
    vm = VelocityModel("constant", 3.0, 0.2)
    t, st = np.array([4e-9, 8e-9]), np.array([50e-12, 80e-12])
    v = C_M_S / np.sqrt(3.0)
    np.testing.assert_allclose(vm.depth_m(t), v * t / 2, rtol=1e-12)
    sig_v = v * 0.2 / (2 * 3.0)
    np.testing.assert_allclose(vm.depth_sigma_m(t, st), np.hypot(t / 2 * sig_v, v / 2 * st), rtol=1e-9)
    assert vm.inverse_n_integral_m(0.5) == pytest.approx(0.5 / np.sqrt(3.0))
    assert np.all(vm.mean_eps([0.1, 1.0]) == 3.0)


def test_depth_sigma_is_the_spread_over_the_scale():
    """First-order sigma against Monte Carlo over s ~ N(1, sigma_s) (the published scatter, 0.150)."""
    assert PROFILE_SCALE_SIGMA == pytest.approx(np.hypot(1.66 * 0.17 / 1.93, np.log(1.919) * 0.05))
    vm = VelocityModel.prior("carrier")
    t = 2 * vm.one_way_time_s(0.4)
    s = np.random.default_rng(0).normal(1.0, 0.05, 4000)     # small spread: the linear regime
    mc = np.std([float(vm.scaled(x).depth_m(t)) for x in s])
    assert float(vm.scaled(1.0, 0.05).depth_sigma_m(t, 0.0)) == pytest.approx(mc, rel=0.05)


def _retrieve(col, prior, n=80, seed=1, **kw):
    rg = gpr.forward_radargram([col] * n, np.arange(n) * 0.05, rng=np.random.default_rng(seed))
    return gpr.retrieve(rg, eps_prior=prior, ice="pores", feo_tio2_wt_pct=5.5, max_fits=0, **kw)


def test_profile_prior_removes_the_constant_prior_depth_bias():
    """5 wt% WEH in the pores below 0.4 m of Carrier-profile regolith (eps' 2.33 at the top, 3.06 at the
    table). The Chang'E-4 constant 3.25 reads the table ~8 % shallow; the Carrier profile reads it
    within 1 cm, and a Hayne-profile ground read with the Carrier profile stays within 2 sigma."""
    const = _retrieve(_column(z_ice=0.4, weh=5.0), (3.25, 0.31))
    assert -0.045 < const.depth_m - 0.4 < -0.02                           # measured -0.028
    prof = _retrieve(_column(z_ice=0.4, weh=5.0), VelocityModel.prior("carrier"))
    assert prof.eps_source.startswith("prior: carrier")
    assert abs(prof.depth_m - 0.4) < 0.01
    assert abs(prof.weh_wt_pct - 5.0) < 2 * prof.weh_sigma_wt_pct and abs(prof.weh_wt_pct - 5.0) < 0.3
    assert prof.eps_top == pytest.approx(float(VelocityModel.prior("carrier").mean_eps(0.4)), rel=0.01)
    other = _retrieve(_column("hayne", z_ice=0.4, weh=5.0), VelocityModel.prior("carrier"))
    assert abs(other.depth_m - 0.4) < 2 * other.depth_sigma_m
    assert abs(other.weh_wt_pct - 5.0) < 2 * other.weh_sigma_wt_pct
    # the pick limit follows the profile and the picker's search start: 0.8 periods of two-way time below
    # the surface echo once the dry ground's echoes are subtracted (~0.09 m), 2 periods without that step
    cut = gpr.drop_surface_picks(prof, 800e6)
    assert cut.meta["min_depth_m"] == pytest.approx(float(prof.velocity_model.depth_m(0.8 / 800e6)), rel=1e-6)
    old = _retrieve(_column(z_ice=0.4, weh=5.0), VelocityModel.prior("carrier"), shallow=False)
    assert gpr.drop_surface_picks(old, 800e6).meta["min_depth_m"] == pytest.approx(
        float(prof.velocity_model.depth_m(2 / 800e6)), rel=1e-6)


@pytest.mark.parametrize("truth,z_ice,weh", [("carrier", 0.10, 2.0), ("carrier", 0.15, 1.0), ("carrier", 0.25, 1.0),
                                             ("hayne", 0.15, 2.0)])
def test_shallow_ice_is_found_once_the_dry_grounds_echoes_are_subtracted(truth, z_ice, weh):
    """Ice tables at 0.10-0.25 m hide in the tail of the surface echo (within 2.2 periods): the old picker
    never found those above 0.2 m. Fitting the echoes of dry ground (direct coupling, surface, Carrier density gradient:
    gpr_retrieval.surface_basis) and searching the residual finds them at the right depth and WEH; the
    Hayne-profile ground is read with the Carrier profile (measured 0.152 m, 2.37 +- 0.17 wt%)."""
    col = _column(truth, z_ice=z_ice, weh=weh)
    r = gpr.drop_surface_picks(_retrieve(col, VelocityModel.prior("carrier")), 800e6)
    z, w = r.ice_depth_m, r.weh_below_wt_pct
    assert np.isfinite(z).all()
    assert np.abs(np.median(z) - z_ice) < max(0.01, np.median(r.ice_depth_sigma_m))
    assert abs(np.median(w) - weh) < 2.5 * np.median(r.weh_below_sigma_wt_pct)
    if z_ice < 0.2:
        old = gpr.drop_surface_picks(_retrieve(col, VelocityModel.prior("carrier"), shallow=False), 800e6)
        # nothing, or the echo's tail below the 2-period limit (0.23 m over the Hayne ground)
        assert not np.any(np.abs(old.ice_depth_m - z_ice) < 0.05)


@pytest.mark.parametrize("truth,shift", [("carrier", 0.0), ("hayne", 0.0), ("carrier", 120.0), ("carrier", -100.0)])
def test_dry_ground_gives_no_shallow_pick(truth, shift):
    """No ice: neither the Carrier ground the basis is built on nor a Hayne or denser/looser one may leave a
    residual that passes for ice (the model floor is twice the Carrier-Hayne residual)."""
    r = gpr.drop_surface_picks(_retrieve(_column(truth, rho_shift=shift), VelocityModel.prior("carrier")), 800e6)
    assert not np.isfinite(r.ice_depth_m).any()


def test_hyperbolas_measure_the_profiles_scale():
    """A denser-than-Carrier ground (+0.12 g/cm^3 everywhere: eps' x 1.919^0.12 = 1.081) with rocks
    above a 0.7 m table: the fits scale the profile, and the depth follows."""
    col = _column(z_ice=0.7, weh=4.0, dz=0.005, rho_shift=120.0)
    n = 240
    p = np.arange(n) * 0.05
    rocks = tuple(Rock(d, 0.04, 0.0, x) for x, d in zip((2.0, 5.0, 8.0, 11.0), (0.3, 0.45, 0.35, 0.5)))
    cols = [Column(col.z_m, col.density_kg_m3, col.weh_wt_pct, col.temperature_k, 5.5, 0.7, rocks)] + [col] * (n - 1)
    rg = gpr.forward_radargram(cols, p, rng=np.random.default_rng(5))
    r = gpr.retrieve(rg, eps_prior=VelocityModel.prior("carrier"), ice="pores", feo_tio2_wt_pct=5.5,
                     radius_m=0.04, max_fits=8)
    assert "scaling the carrier profile" in r.eps_source
    vm = r.velocity_model
    assert vm.scale == pytest.approx(1.919 ** 0.12, abs=max(2 * vm.scale_sigma, 0.02))
    assert vm.scale_sigma < 0.5 * PROFILE_SCALE_SIGMA
    assert abs(r.depth_m - 0.7) < max(2 * r.depth_sigma_m, 0.01)


def test_bad_velocity_models_raise():
    with pytest.raises(InputError, match="velocity model must be one of"):
        VelocityModel("apollo")
    with pytest.raises(InputError, match="scale must be > 0"):
        VelocityModel("carrier", -1.0, 0.1)
    with pytest.raises(InputError, match=">= 1"):
        VelocityModel("constant", 0.5, 0.1)
    with pytest.raises(InputError, match="beyond the velocity model"):
        VelocityModel.prior("carrier").depth_m(1e-6)   # 1 us two-way: ~90 m, beyond the 20 m grid


def test_surface_pick_is_corrected_for_the_direct_couplings_tail():
    """Noise-free uniform ground (eps' known exactly) over ice at 0.55 m: the surface echo's peak is pulled
    ~12 ps late by the direct coupling's tail 1.6 periods before it, which read the table 1.06 mm short
    (several times a 1 m stack's timing sigma). The synthetic echoes give that bias, and the depth comes
    out within 0.1 mm (measured 0.02 mm)."""
    from lupex.instruments.gpr_dielectric import column_dielectric
    from lupex.subsurface.profile import two_layer_column

    quiet = gpr.GprParams(noise_floor_db=-300.0, bandlimited_noise_db=-np.inf, wow_amplitude=0.0, timing_jitter_s=0.0)
    col = two_layer_column(dry_thickness_m=0.55, weh_top_wt_pct=0, weh_bottom_wt_pct=6)
    eps = float(column_dielectric(col)[0][0])
    rg = gpr.forward_radargram([col] * 40, np.arange(40) * 0.05, rng=np.random.default_rng(0), config=quiet)
    fixed = gpr.retrieve(rg, eps_prior=(eps, 1e-6), max_fits=0)
    assert abs(fixed.depth_m - 0.55) < 1e-4
    raw = gpr.retrieve(rg, eps_prior=(eps, 1e-6), max_fits=0, shallow=False)
    assert -1.3e-3 < raw.depth_m - 0.55 < -0.8e-3
