"""lupex.instruments.neutron_materials: the n-p cross section against evaluated data, hydrogen's thermal
absorption, the Apollo 16 - Apollo 11 mixing line at its ends, and mass fractions and atom densities by hand."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.instruments import neutron_materials as M


@pytest.mark.parametrize("e_ev,sigma_b", [(0.0253, 20.44), (1e6, 4.26), (1.4e7, 0.69)])
def test_np_cross_section_against_evaluated_data(e_ev, sigma_b):
    # free n-p elastic: 20.44 b at zero energy (Houk 1971), 4.26 b at 1 MeV and 0.69 b at 14 MeV (ENDF/B-VIII.0
    # H-1 MT=2); 2 % covers what the two-term effective-range expansion leaves out
    assert float(M.np_cross_section_b(e_ev)) == pytest.approx(sigma_b, rel=0.02)


def test_np_cross_section_falls_with_energy():
    s = M.np_cross_section_b(np.logspace(-3, 7.3, 40))
    assert (np.diff(s) <= 0).all()


def test_hydrogen_absorbs_0_33_b_at_2200_m_s():
    h = M.ELEMENTS.index("H")
    assert h == M.H_INDEX
    assert M.SIGMA_A_2200_B[h] == pytest.approx(0.3326, rel=1e-3)        # Sears 1992
    assert M.MASS_RATIO[h] == pytest.approx(1.008 / 1.00866, rel=1e-3)


def test_oxides_are_the_two_soils_at_the_ends_of_the_mixing_line():
    a16 = M.OXIDES_A16["FeO"] + M.OXIDES_A16["TiO2"]
    a11 = M.OXIDES_A11["FeO"] + M.OXIDES_A11["TiO2"]
    for a, soil in ((a16, M.OXIDES_A16), (a11, M.OXIDES_A11)):
        ox = M.oxides_for(a)
        for k in soil:
            assert ox[k] == pytest.approx(soil[k], rel=1e-12), k
    mid = M.oxides_for(0.5 * (a16 + a11))
    assert mid["Al2O3"] == pytest.approx(0.5 * (M.OXIDES_A16["Al2O3"] + M.OXIDES_A11["Al2O3"]), rel=1e-12)
    # beyond the line: FeO + TiO2 is what was asked, the total kept
    hi = M.oxides_for(30.0)
    assert hi["FeO"] + hi["TiO2"] == pytest.approx(30.0, rel=1e-12)
    assert sum(hi.values()) == pytest.approx(sum(M.OXIDES_A11.values()), rel=1e-12)
    with pytest.raises(InputError, match="feo_tio2_wt_pct must be within"):
        M.oxides_for(40.1)


def test_mass_fractions_add_up_and_water_adds_its_hydrogen():
    dry = M.element_mass_fractions(6.0, 0.0)
    wet = M.element_mass_fractions(6.0, 9.0)
    assert dry.sum() == pytest.approx(1.0, rel=1e-12) and wet.sum() == pytest.approx(1.0, rel=1e-12)
    h = M.H_INDEX
    assert dry[h] == 0.0
    assert wet[h] == pytest.approx(0.09 * 2 * 1.008 / 18.015, rel=1e-3)    # 9 wt% H2O: H is 2/18 of its mass
    assert M.element_mass_fractions(6.0, 0.0, sm_ppm=0.0, gd_ppm=0.0)[M.ELEMENTS.index("Gd")] == 0.0
    with pytest.raises(InputError, match="weh_wt_pct"):
        M.element_mass_fractions(6.0, -1.0)


def test_atoms_and_absorption_per_gram_of_water():
    f = np.zeros(len(M.ELEMENTS))
    f[M.H_INDEX] = 2 * 1.008 / 18.015
    f[M.ELEMENTS.index("O")] = 15.999 / 18.015
    n = M.atoms_per_gram(f)
    assert n[M.H_INDEX] == pytest.approx(2 * 6.02214e23 / 18.015, rel=1e-3)   # two H atoms per molecule
    # water's thermal absorption is essentially hydrogen's: 2 x 0.3326 b per molecule
    assert M.macroscopic_absorption_cm2_g(f) == pytest.approx(6.02214e23 / 18.015 * 0.6652e-24, rel=2e-3)
