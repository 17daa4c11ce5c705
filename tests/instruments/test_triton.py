"""TRITON: TOF peak positions vs m/q = 2U(t/L)^2, resolving power from peak widths,
CO/N2 separation, LCROSS abundance recovery (Colaprete et al. 2010), bad input."""

import dataclasses
import math

import numpy as np
import pytest

from lupex.errors import ConfigError, InputError
from lupex.instruments import triton
from lupex.instruments.sample import LCROSS_REL_H2O_PCT, Sample

E, U = 1.602176634e-19, 1.66053906660e-27
ME = 5.48579909065e-4
# exact ion masses by hand (AME2016 atomic masses minus one electron)
H, C, O, S = 1.00782503223, 12.0, 15.99491461957, 31.9720711744
IONS = {"H2O+": 2 * H + O - ME, "CO2+": C + 2 * O - ME, "H2S+": 2 * H + S - ME, "SO2+": S + 2 * O - ME}


@pytest.fixture(scope="module")
def lcross():
    s = Sample(1.0, 1.1, 0.02, 5.6, dict(LCROSS_REL_H2O_PCT))   # LCROSS: 5.6 wt% H2O
    rec = triton.measure(s, np.random.default_rng(2010))
    return s, rec, triton.analyse(rec)


def test_peak_positions_follow_tof_formula(lcross):
    _, rec, res = lcross
    for name, mz in IONS.items():
        t_hand = 10.0 * math.sqrt(mz * U / (2 * E * 1000.0))      # t = L sqrt(m / (2 q U))
        t_fit, _, _ = triton.fit_peak_width(rec, mz)
        assert t_fit == pytest.approx(t_hand, rel=2e-6), name
        found = min(res.peaks, key=lambda p: abs(p.mz - mz))
        assert found.mz == pytest.approx(mz, abs=mz / 5000 / 10)   # within a tenth of the FWHM
        assert found.assignment is not None


def test_resolving_power_from_peak_width(lcross):
    _, rec, _ = lcross
    for mz in (IONS["H2O+"], IONS["CO2+"], IONS["SO2+"]):
        t, fwhm, r = triton.fit_peak_width(rec, mz)
        assert r == pytest.approx(5000, rel=0.03)
        assert t / (2 * fwhm) == r


def test_co_and_n2_resolved_only_with_enough_resolving_power():
    # CO+ (27.9949) from CO2 fragmentation vs N2+ (28.0061): needs R ~ 2500
    s = Sample(1.0, 1.1, 0.02, 1.0, {"CO2": 50.0})
    near = lambda res: [p for p in res.peaks if 27.98 < p.mz < 28.02]
    for r_power, n_expected in ((5000, 2), (800, 1)):
        p = triton.TritonParams(resolving_power=r_power, background_molecules={"N2": 3e16})
        res = triton.analyse(triton.measure(s, np.random.default_rng(1), p))
        assert len(near(res)) == n_expected, r_power
    assert "N2" in res.detected


def test_lcross_abundances_recovered(lcross):
    _, rec, res = lcross
    for sp in ("H2O", "H2S", "NH3", "SO2", "C2H4", "CO2", "CH3OH", "CH4"):
        assert sp in res.detected
    for sp in ("H2", "CO", "N2"):
        assert sp not in res.detected
    for sp, want in LCROSS_REL_H2O_PCT.items():
        got, sig = res.rel_h2o_pct[sp], res.rel_h2o_sigma_pct[sp]
        assert abs(got - want) < 4 * sig, sp
        if sp != "OH":                        # OH (0.03 %) sits under H2O's OH+ fragment: ~2 sigma only
            assert got == pytest.approx(want, rel=0.03), sp
    # water content: counting + 3 % calibration + sub-sampling
    assert abs(res.water_wt_pct - 5.6) < 3 * res.sigma_wt_pct
    assert res.sigma_wt_pct / res.water_wt_pct < 0.05


def test_bad_triton_input(lcross):
    _, rec, _ = lcross
    c = rec.counts.copy()
    c[5] = np.nan
    with pytest.raises(InputError, match="NaN"):
        triton.analyse(dataclasses.replace(rec, counts=c))
    with pytest.raises(InputError, match="seconds"):
        triton.analyse(dataclasses.replace(rec, time_s=rec.time_s * 1e6))   # microseconds
    with pytest.raises(InputError):
        triton.analyse(rec, species=("H2O", "Xe"))
    with pytest.raises(ConfigError, match="background_molecules"):   # a bad parameter is a config error naming the field
        triton.TritonParams(background_molecules={"Ar": 1.0})
