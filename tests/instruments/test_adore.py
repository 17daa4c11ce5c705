"""ADORE: ring-down times vs tau = L/(c(1-R)), absorption and number-density recovery,
line-strength temperature scaling, bad input."""

import dataclasses
import math

import numpy as np
import pytest

from lupex.errors import ConfigError, InputError
from lupex.instruments import adore
from lupex.instruments.sample import Sample

C = 299792458.0


@pytest.mark.parametrize("length,refl", [(0.5, 0.9999), (0.3, 0.99995)])
def test_empty_cavity_ringdown_time_is_analytic(length, refl):
    p = adore.AdoreParams(cavity_length_m=length, reflectivity=refl)
    rec = adore.measure(Sample(1.0, 1.1, 0.02, 0.0), np.random.default_rng(4), p)
    res = adore.analyse(rec)
    tau0 = length / (C * (1 - refl))
    assert np.all(np.abs(res.tau_s / tau0 - 1) < 5 * res.tau_sigma_s / res.tau_s)
    assert res.tau0_s == pytest.approx(tau0, rel=2e-4)
    assert abs(res.number_density_m3) < 4 * res.number_density_sigma_m3


def test_line_strength_scaling_hand_calculation():
    assert adore.line_strength_cm_molec(296.0) == pytest.approx(1.505e-20, rel=1e-12)
    t, c2, e, nu = 250.0, 1.4387769, 136.7617, 7181.155780
    s = 1.505e-20 * (296 / t) ** 1.5 * math.exp(-c2 * e / t) / math.exp(-c2 * e / 296) \
        * (1 - math.exp(-c2 * nu / t)) / (1 - math.exp(-c2 * nu / 296))
    assert adore.line_strength_cm_molec(t) == pytest.approx(s, rel=1e-12)


def test_absorption_and_number_density_recovered():
    s = Sample(1.0, 1.1, 0.02, 5.0)
    rng = np.random.default_rng(5)
    z = []
    for _ in range(8):
        rec = adore.measure(s, rng)
        res = adore.analyse(rec)
        n = rec.truth["number_density_m3"]
        z.append((res.number_density_m3 - n) / res.number_density_sigma_m3)
    # peak absorption by hand: alpha = n S g(0), Doppler g(0) = sqrt(ln2/pi)/gamma_D
    gd = 7181.155780 / C * math.sqrt(2 * 1.380649e-23 * 296 * math.log(2) / (18.01528e-3 / 6.02214076e23))
    alpha0_cm = n * 1e-6 * 1.505e-20 * math.sqrt(math.log(2) / math.pi) / gd
    mid = rec.nu_cm.size // 2
    assert res.alpha_per_cm[mid] == pytest.approx(alpha0_cm, rel=0.01)
    tau_hand = 1 / (C * ((1 - 0.9999) / 0.5 + alpha0_cm * 100))
    assert res.tau_s[mid] == pytest.approx(tau_hand, rel=0.01)
    assert abs(np.mean(z)) < 1.2 and np.std(z) < 2.0
    # water content: split calibration (2 %) and sub-sampling dominate the sigma
    assert abs(res.water_wt_pct - 5.0) < 4 * res.sigma_wt_pct
    assert 0.015 < res.sigma_wt_pct / res.water_wt_pct < 0.05


def test_bad_adore_input():
    rec = adore.measure(Sample(1.0, 1.1, 0.02, 2.0), np.random.default_rng(1))
    i = rec.intensity.copy()
    i[0, 0, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        adore.analyse(dataclasses.replace(rec, intensity=i))
    with pytest.raises(InputError, match="cm\\^-1"):
        adore.analyse(dataclasses.replace(rec, nu_cm=1e7 / rec.nu_cm))            # nm
    with pytest.raises(InputError, match="seconds"):
        adore.analyse(dataclasses.replace(rec, time_s=rec.time_s * 1e6))        # us
    with pytest.raises(ConfigError, match="reflectivity"):
        adore.AdoreParams(reflectivity=1.2)
