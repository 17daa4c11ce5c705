"""Numerical helpers of the far-field kernels against numpy: the Taylor sine/cosine of a central angle
(|g| < 0.3 rad, 500 km on the Moon) and the slab test of a line through an interval."""

import numpy as np
import pytest

from lupex.light import _farfield_kernels as fk


@pytest.mark.parametrize("g", [0.0, 1e-6, -3e-4, 0.01, 0.1, -0.2, 0.29])
def test_taylor_sincos_matches_libm(g):
    s, c, omc = fk._sincos_mid(g)
    assert s == pytest.approx(np.sin(g), abs=2e-16)
    assert c == pytest.approx(np.cos(g), abs=2e-16)
    # 1 - cos g without cancellation: 2 sin^2(g/2)
    assert omc == pytest.approx(2 * np.sin(g / 2) ** 2, rel=1e-14, abs=1e-300)


def test_slab_entry_and_exit():
    assert fk._slab(0.0, 2.0, 1.0, 5.0) == (0.5, 2.5)
    assert fk._slab(0.0, -2.0, -5.0, -1.0) == (0.5, 2.5)
    assert fk._slab(3.0, 0.0, 1.0, 5.0) == (-np.inf, np.inf)   # parallel, inside
    assert fk._slab(7.0, 0.0, 1.0, 5.0) == (np.inf, -np.inf)   # parallel, outside: empty
