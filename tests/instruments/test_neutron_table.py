"""The response table's smoothing (penalised least squares on second differences) and the built-in table's
physics: a plane passes through unchanged, pinned points hold, noise is reduced; hydrogen lowers the
epithermal count."""

import numpy as np
import pytest

from lupex.instruments import neutron_table as ntab


def _plane_grid():
    x = np.linspace(0.0, 4.0, 7)
    y = np.linspace(0.0, 200.0, 6)
    z = 0.3 + 0.1 * x[:, None] - 0.002 * y[None, :]
    return x, y, z


def test_a_plane_is_left_unchanged():
    x, y, z = _plane_grid()
    s = ntab.smooth_grid(x, y, z, np.full(z.shape, 0.01), 0.3)
    assert np.allclose(s, z, atol=1e-9)  # second differences of a plane vanish: no penalty


def test_noise_is_smoothed_to_the_target_chi2_and_pinned_points_hold():
    x, y, z = _plane_grid()
    rng = np.random.default_rng(0)
    sigma = np.full(z.shape, 0.01)
    noisy = z + rng.normal(0.0, 0.01, z.shape)
    pinned = np.zeros(z.shape, bool)
    pinned[0, 0] = True
    s = ntab.smooth_grid(x, y, noisy, sigma, 0.3, pinned=pinned)
    assert s[0, 0] == noisy[0, 0]
    free = ~pinned
    chi2 = np.sum(((noisy - s)[free] / sigma[free]) ** 2)
    assert chi2 == pytest.approx(0.3 * free.sum(), rel=1e-3)
    assert np.sqrt(np.mean((s - z) ** 2)) < np.sqrt(np.mean((noisy - z) ** 2))


def test_builtin_table_hydrogen_lowers_the_epithermal_count():
    t = ntab.load_table("builtin")
    w = np.array([0.0, 0.5, 2.0, 8.0])
    epi, _ = t.ratios(w, w, np.full(w.shape, 0.0))
    assert np.all(np.diff(np.asarray(epi, float)) < 0)
