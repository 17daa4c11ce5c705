"""Link transforms: forward and inverse undo each other, the derivative is the forward's slope (central
difference), and the back-transformed moments match a Monte Carlo sample of the latent Gaussian."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.prospect import transforms as T

CASES = [(T.Identity(), np.array([-2.0, 0.0, 3.5])), (T.LogShift(0.1), np.array([0.0, 0.3, 2.0, 9.0])),
         (T.Logit(0.0, 3.0), np.array([0.05, 0.7, 1.5, 2.9]))]


@pytest.mark.parametrize("t, v", CASES, ids=["Identity", "LogShift", "Logit"])
def test_round_trip_and_derivative(t, v):
    np.testing.assert_allclose(t.inverse(t.forward(v)), v, rtol=1e-12, atol=1e-12)
    h = 1e-6
    numeric = (t.forward(v + h) - t.forward(v - h)) / (2 * h)
    np.testing.assert_allclose(t.derivative(v), numeric, rtol=1e-6)


@pytest.mark.parametrize("t", [T.LogShift(0.1), T.Logit(0.0, 3.0)], ids=["LogShift", "Logit"])
def test_moments_match_a_monte_carlo_of_the_latent_gaussian(t):
    rng = np.random.default_rng(0)
    mu, sd = np.array([0.2, -0.5]), np.array([0.3, 0.8])
    m, s = t.moments(mu, sd)
    for i in range(2):
        sample = t.inverse(mu[i] + sd[i] * rng.standard_normal(400_000))
        assert m[i] == pytest.approx(sample.mean(), rel=5e-3)
        assert s[i] == pytest.approx(sample.std(), rel=1e-2)


def test_checks_and_bad_parameters():
    with pytest.raises(InputError):
        T.LogShift(0.1).check([-0.2])
    T.LogShift(0.1).check([-0.05])
    with pytest.raises(InputError):
        T.Logit(0.0, 3.0).check([3.1])
    with pytest.raises(InputError):
        T.LogShift(0.0)
    with pytest.raises(InputError):
        T.Logit(1.0, 1.0)
