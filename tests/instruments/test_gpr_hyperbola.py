"""The diffraction-velocity combination: an inverse-variance mean with Birge-ratio inflation, the prior
where no hyperbola was fitted."""

from types import SimpleNamespace

import numpy as np
import pytest

from lupex.instruments import gpr_hyperbola as gh


def test_no_fit_gives_the_prior():
    m, s, how = gh.combine_eps([], prior=(3.1, 0.4))
    assert (m, s) == (3.1, 0.4) and "prior" in how


def test_consistent_fits_give_the_weighted_mean_and_its_sigma():
    fits = [SimpleNamespace(eps=3.0, eps_sigma=0.1), SimpleNamespace(eps=3.1, eps_sigma=0.2)]
    m, s, _ = gh.combine_eps(fits)
    w = np.array([1 / 0.1 ** 2, 1 / 0.2 ** 2])
    assert m == pytest.approx((3.0 * w[0] + 3.1 * w[1]) / w.sum(), rel=1e-12)
    # chi2 / dof = 0.8 < 1: the sigma is not shrunk
    assert s == pytest.approx(1 / np.sqrt(w.sum()), rel=1e-12)


def test_scattered_fits_inflate_the_sigma_by_the_birge_ratio():
    fits = [SimpleNamespace(eps=e, eps_sigma=0.05) for e in (2.8, 3.2, 3.6)]
    m, s, how = gh.combine_eps(fits)
    assert m == pytest.approx(3.2, rel=1e-12) and how.startswith("3 ")
    birge = np.sqrt(((0.4 / 0.05) ** 2 * 2) / 2)  # sqrt(chi2 / (n - 1))
    assert s == pytest.approx(0.05 / np.sqrt(3) * birge, rel=1e-12)
