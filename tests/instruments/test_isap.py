"""ISAP (Raman): recovery of a published highland composition -- Apollo 16 mature-soil
average (Lunar Sourcebook, Heiken et al. 1991, Table 7.15) -- and of mineral/ice modes."""

import dataclasses

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.instruments import isap
from lupex.instruments.sample import Sample

# Apollo 16 average mature soil, wt% (Lunar Sourcebook Table 7.15, rounded), typed here independently
APOLLO16 = {"SiO2": 45.0, "TiO2": 0.54, "Al2O3": 27.3, "FeO": 5.1, "MgO": 5.7, "CaO": 15.7, "Na2O": 0.46}


def test_anorthite_stoichiometry_by_hand():
    # An95 = 0.95 CaAl2Si2O8 (278.21 g/mol) + 0.05 NaAlSi3O8 (262.22): 277.41 g per formula unit;
    # CaO 0.95 * 56.077 / 277.41 = 19.20 %, Al2O3 0.975 * 101.961 / 277.41 = 35.84 %
    m = isap.mineral_oxide_wt_pct()[:, isap.MINERALS.index("plagioclase")]
    ox = dict(zip(isap.OXIDES, m))
    assert ox["CaO"] == pytest.approx(19.20, abs=0.02) and ox["Al2O3"] == pytest.approx(35.84, abs=0.02)


def test_apollo16_composition_recovered_from_raman():
    s = Sample(0.5, 0.6, 0.02, 3.0, oxides_wt_pct=APOLLO16)
    rng = np.random.default_rng(16)
    rec = isap.measure(s, rng)
    res = isap.analyse(rec)
    tot = sum(APOLLO16.values())
    for ox in ("SiO2", "Al2O3", "CaO", "FeO", "MgO"):
        # within 1 wt% of the published value (4-phase norm misfit <= 0.5 wt% plus noise)
        assert res.oxides_wt_pct[ox] == pytest.approx(100 * APOLLO16[ox] / tot, abs=1.0), ox
        assert abs(res.oxides_wt_pct[ox] - rec.truth[f"ox_{ox}"]) < 4 * res.oxides_sigma_wt_pct[ox] + 0.05
    # plagioclase-dominated highland regolith (~75 % plagioclase)
    assert 0.65 < res.modes_wt_frac["plagioclase"] / (1 - res.modes_wt_frac["ice"]) < 0.85
    assert res.ice_wt_pct == pytest.approx(3.0, abs=4 * res.ice_sigma_wt_pct + 0.05)
    for ph in isap.PHASES:
        assert abs(res.modes_wt_frac[ph] - rec.truth[ph]) < 4 * res.modes_sigma[ph] + 1e-3


def test_bad_isap_input():
    rec = isap.measure(Sample(0.5, 0.6, 0.02, 3.0), np.random.default_rng(0))
    c = rec.counts.copy()
    c[10] = np.inf
    with pytest.raises(InputError):
        isap.analyse(dataclasses.replace(rec, counts=c))
    with pytest.raises(InputError, match="cm\\^-1"):
        isap.analyse(dataclasses.replace(rec, shift_cm=rec.shift_cm * 1e3))
