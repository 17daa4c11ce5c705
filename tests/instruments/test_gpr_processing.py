"""GPR trace processing against analytic signals: the envelope of a modulated Gaussian, an integer Fourier
shift, the removal of a common trace and the spherical gain law."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.instruments import gpr_processing as gp

DT_S = 0.1e-9
T_S = np.arange(1024) * DT_S


def _pulse(t0_s, f_hz=400e6, width_s=3e-9):
    g = np.exp(-0.5 * ((T_S - t0_s) / width_s) ** 2)
    return g, g * np.cos(2 * np.pi * f_hz * (T_S - t0_s))


def test_envelope_of_a_modulated_gaussian_is_the_gaussian():
    # a narrow-band carrier under a slow Gaussian: |analytic signal| is the Gaussian (Bedrosian's theorem)
    g, s = _pulse(50e-9)
    env = gp.envelope(s[None, :])[0]
    inner = slice(200, 824)  # away from the FFT's wrap-around at the ends
    assert np.max(np.abs(env[inner] - g[inner])) < 1e-3


def test_shift_by_whole_samples_is_a_delay_and_time_zero_aligns_the_picks():
    _, s = _pulse(30e-9)
    shifted = gp.shift_traces(s[None, :], DT_S, 25 * DT_S)[0]
    assert np.max(np.abs(shifted[25:] - s[:-25])) < 1e-6
    # two traces 25 samples apart: after time_zero their first breaks sit at the same time
    data = np.vstack([s, shifted])
    aligned, picks, ref = gp.time_zero(data, DT_S)
    assert picks[1] - picks[0] == pytest.approx(25 * DT_S, abs=0.05 * DT_S)
    new_picks = gp.first_break_s(aligned, DT_S)
    assert np.allclose(new_picks, ref, atol=0.05 * DT_S)


def test_background_removal_and_sec_gain():
    rng = np.random.default_rng(3)
    common = rng.normal(size=T_S.size)
    local = np.zeros((6, T_S.size))
    local[2, 300] = 1.0
    out = gp.background_removal(common[None, :] + local)
    # the common trace goes; what differs between traces stays (minus its share of the mean)
    assert np.allclose(out, local - local.mean(axis=0), atol=1e-12)
    g = gp.sec_gain(np.ones((1, 10)), DT_S, t0_s=2 * DT_S, power=2.0)[0]
    expected = [1, 1, 1, 1, 4, 9, 16, 25, 36, 49]  # ((t - t0)/dt)^2 after t0, at least 1
    assert np.allclose(g, expected)
    with pytest.raises(InputError):
        gp.background_removal(np.ones((4, 10)), window_traces=1)
