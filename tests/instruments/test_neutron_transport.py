"""Monte Carlo neutron transport: nuclear data against their sources, collision kinematics and the
free-gas kernel against analytic results, and invariants of the layered transport."""

import math

import numpy as np
import pytest
from scipy import integrate

from lupex.errors import InputError
from lupex.instruments import neutron_transport as nt


# ------------------------------------------------------------------ nuclear data

def test_np_cross_section_effective_range_values():
    # zero energy: 3 pi a_t^2 + pi a_s^2 = 20.48 b; Sears 1992's free-proton value is 20.49 b (bound 82.02 b)
    assert nt.np_cross_section_b(1e-3) == pytest.approx(20.49, abs=0.02)
    # ENDF/B-VIII H-1 elastic: 4.26 b at 1 MeV, 2.91 b at 2 MeV, 12.7 b at 100 keV
    np.testing.assert_allclose(nt.np_cross_section_b([1e5, 1e6, 2e6]), [12.7, 4.26, 2.91], rtol=0.01)
    assert np.all(np.diff(nt.np_cross_section_b(np.logspace(0, 7, 50))) < 0)


def test_element_cross_sections_are_sears_1992_free_atom():
    # Sears 1992 (Neutron News 3:26) bound scattering / 2200 m/s absorption, barn, typed from the table
    sears = {"H": (82.02, 0.3326), "O": (4.232, 0.00019), "Si": (2.167, 0.171), "Al": (1.503, 0.231),
             "Fe": (11.62, 2.56), "Ti": (4.35, 6.09), "Gd": (180.0, 49700.0), "Sm": (39.4, 5922.0)}
    for el, (bound, absorb) in sears.items():
        i = nt.ELEMENTS.index(el)
        a = nt.MASS_U[i] / 1.00866491595
        assert nt.SIGMA_S_FREE_B[i] == pytest.approx(bound * (a / (a + 1)) ** 2, rel=1e-9)
        assert nt.SIGMA_A_2200_B[i] == pytest.approx(absorb, rel=1e-9)
    assert nt.SIGMA_S_FREE_B[nt.H_INDEX] == pytest.approx(20.49, abs=0.01)


def test_water_macroscopic_absorption_hand_calculation():
    # pure water (100 wt% WEH): (2 x 0.3326 + 0.00019) b per molecule x N_A / 18.015 g = 0.02224 cm^2/g
    frac = nt.element_mass_fractions(6.0, 100.0)
    assert frac.sum() == pytest.approx(1.0)
    assert nt.macroscopic_absorption_cm2_g(frac) == pytest.approx(
        (2 * 0.3326 + 0.00019) * 1e-24 * 6.02214076e23 / 18.015, rel=2e-3)


def test_composition_from_lunar_sourcebook_table_7_15():
    # the highland end of the mixing line is the Apollo 16 average soil: 5.1 % FeO + 0.54 % TiO2
    ox = nt.oxides_for(5.64)
    assert ox["FeO"] == pytest.approx(5.1) and ox["Al2O3"] == pytest.approx(27.3)
    ox = nt.oxides_for(23.1)                  # Apollo 11 soil 10002
    assert ox["TiO2"] == pytest.approx(7.8) and ox["SiO2"] == pytest.approx(42.2)
    for a in (0.0, 3.0, 12.0, 35.0):
        ox = nt.oxides_for(a)
        assert ox["FeO"] + ox["TiO2"] == pytest.approx(a)
        assert sum(ox.values()) == pytest.approx(sum(nt.OXIDES_A16.values()), rel=0.05)
    f = nt.element_mass_fractions(6.0, 1.0)
    assert f.sum() == pytest.approx(1.0)
    # 1 wt% WEH is 1 wt% H2O: 2 x 1.008 / 18.015 of it is hydrogen
    assert f[nt.H_INDEX] == pytest.approx(0.01 * 2 * 1.008 / 18.015, rel=1e-3)
    with pytest.raises(InputError):
        nt.element_mass_fractions(6.0, 101.0)
    with pytest.raises(InputError):
        nt.oxides_for(-1.0)


# ------------------------------------------------------------------ kinematics

def _scatter_many(e0, a, kt, n, seed=1):
    s = nt._seed_state(np.uint64(seed), np.uint64(0))
    out = np.empty(n)
    cosines = np.empty(n)
    for k in range(n):
        e, u, v, w = nt._scatter(s, e0, 0.0, 0.0, 1.0, a, kt)
        out[k] = e
        cosines[k] = w
    return out, cosines


def test_elastic_kinematics_off_a_nucleus_at_rest():
    # isotropic in the centre of mass: E'/E uniform on [alpha, 1], alpha = ((A-1)/(A+1))^2;
    # mean lab cosine 2/(3A)
    a = 15.86
    alpha = ((a - 1) / (a + 1)) ** 2
    e, mu = _scatter_many(1e4, a, 1e-5, 200_000)
    x = e / 1e4
    assert x.min() >= alpha - 1e-9 and x.max() <= 1 + 1e-9
    assert x.mean() == pytest.approx((1 + alpha) / 2, abs=2e-4)
    assert np.histogram(x, bins=10, range=(alpha, 1))[0].std() / 20000 < 0.02
    assert mu.mean() == pytest.approx(2 / (3 * a), abs=0.005)
    # hydrogen: E' uniform on [0, E]
    e, _ = _scatter_many(1e4, nt.MASS_RATIO[nt.H_INDEX], 1e-5, 200_000)
    assert (e / 1e4).mean() == pytest.approx(0.5, abs=0.003)


def test_free_gas_chain_reaches_the_maxwellian_collision_density():
    # Scattering off a free gas of protons at temperature T: the energies after collisions form a Markov
    # chain whose stationary law is the collision density Sigma_eff(E) phi(E), phi ~ E exp(-E/kT) the
    # Maxwellian flux and Sigma_eff ~ F(y), y = sqrt(A E / kT) (constant sigma; Lux & Koblinger 1991).
    kt = nt.K_B_EV * 150.0
    a = nt.MASS_RATIO[nt.H_INDEX]
    s = nt._seed_state(np.uint64(5), np.uint64(0))
    e, u, v, w = 1.0, 0.0, 0.0, 1.0
    es = np.empty(300_000)
    for k in range(es.size):
        e, u, v, w = nt._scatter(s, e, u, v, w, a, kt)
        es[k] = e
    es = es[1000:]

    def dens(x):
        return nt.free_gas_factor(np.sqrt(a * x / kt)) * x * np.exp(-x / kt)

    norm = integrate.quad(dens, 0, 40 * kt)[0]
    mean = integrate.quad(lambda x: x * dens(x), 0, 40 * kt)[0] / norm
    assert es.mean() == pytest.approx(mean, rel=0.01)
    # and not merely the mean: the share below kT
    below = integrate.quad(dens, 0, kt)[0] / norm
    assert np.mean(es < kt) == pytest.approx(below, abs=0.005)


def test_free_gas_factor_limits():
    # F -> 1 for a fast neutron; F -> 1/(y sqrt(pi)) * 2 (the 1/v collision rate) as y -> 0
    assert nt.free_gas_factor(30.0) == pytest.approx(1.0 + 0.5 / 900, rel=1e-9)
    y = 1e-3
    assert nt.free_gas_factor(y) == pytest.approx(2 / (y * math.sqrt(math.pi)), rel=1e-5)


# -------------------------------------------------------------- the transport

def test_splitting_a_layer_changes_nothing():
    # the same medium cut into layers is the same medium: the same histories, tally by tally. Not bit-equal:
    # a flight that crosses the extra boundaries spends its optical depth in pieces (tau -= sigma * dist
    # per layer, then z += tau / sigma), and the rounding of those pieces (and whether the compiler fuses
    # them into FMAs, which depends on the CPU: the last bit differed on AVX-512 machines) moves a
    # tally by ~1e-17. A history that took
    # another path would move a tally by one neutron's weight, ~1/6400 = 1.6e-4, so a relative
    # tolerance of 1e-9 still proves the histories are the same, one by one.
    a = nt.simulate_leakage([nt.Slab(0, 2.0)], histories=6400, seed=9)
    b = nt.simulate_leakage([nt.Slab(7.0, 2.0), nt.Slab(40.0, 2.0), nt.Slab(0, 2.0)], histories=6400, seed=9)
    for name in ("epithermal", "thermal", "current", "bare", "flux"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-9, abs=0.0), name
    np.testing.assert_allclose(b.flux_spectrum, a.flux_spectrum, rtol=1e-9, atol=1e-15)


def test_same_seed_same_result_and_seeds_differ():
    a = nt.simulate_leakage([nt.Slab(0, 0.0)], histories=6400, seed=3)
    b = nt.simulate_leakage([nt.Slab(0, 0.0)], histories=6400, seed=3)
    c = nt.simulate_leakage([nt.Slab(0, 0.0)], histories=6400, seed=4)
    assert a.bare == b.bare and a.bare != c.bare
    assert abs(a.bare - c.bare) < 5 * math.hypot(a.epithermal_sigma + a.thermal_sigma, c.epithermal_sigma + c.thermal_sigma)


def test_leakage_falls_with_hydrogen_and_the_epithermal_spectrum_is_slowing_down_like():
    dry = nt.simulate_leakage([nt.Slab(0, 0.0)], histories=64_000, seed=1)
    wet = nt.simulate_leakage([nt.Slab(0, 5.0)], histories=64_000, seed=1)
    assert wet.current < dry.current and wet.epithermal < 0.6 * dry.epithermal and wet.thermal > dry.thermal
    # slowing down in a weak absorber: the flux per unit lethargy changes slowly through the epithermal
    # range (a 1/E spectrum): decade means within a factor 3 from 1 eV to 10 keV
    e = dry.energy_edges_ev
    c = np.sqrt(e[1:] * e[:-1])
    per_leth = dry.flux_spectrum / np.diff(np.log(e))
    decades = [per_leth[(c > lo) & (c < 10 * lo)].mean() for lo in (1.0, 10.0, 100.0, 1e3)]
    assert max(decades) / min(decades) < 3.0


@pytest.mark.parametrize("bad", [
    dict(layers=[]),
    dict(layers=[nt.Slab(-1.0, 0.0), nt.Slab(0, 1.0)]),
    dict(layers=[nt.Slab(0, 120.0)]),
    dict(layers=[nt.Slab(0, 1.0)], temperature_k=0.0),
    dict(layers=[nt.Slab(0, 1.0)], histories=3),
])
def test_bad_input_is_refused(bad):
    kw = dict(histories=6400)
    kw.update(bad)
    with pytest.raises(InputError):
        nt.simulate_leakage(**kw)
