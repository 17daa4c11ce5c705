"""Template matching's pieces against independent computations: the FFT normalised cross-correlation against
the direct sum, the numba bilinear shift against scipy's map_coordinates, the least-squares refinement
recovering a known sub-pixel shift, and the block size rule."""

import numpy as np
import pytest
from scipy import ndimage

from lupex.landing import template as T


def _smooth_planes(seed, shape=(2, 60, 70), sigma=3.0):
    rng = np.random.default_rng(seed)
    return np.stack([ndimage.gaussian_filter(rng.normal(size=shape[1:]), sigma) for _ in range(shape[0])])


def test_ncc_matches_the_direct_sum_and_peaks_at_the_cut():
    ref = _smooth_planes(1)
    tpl = ref[:, 12:32, 20:45].copy()
    ncc = T._ncc_search(tpl, ref)
    assert ncc.shape == (60 - 20 + 1, 70 - 25 + 1)
    assert np.unravel_index(np.argmax(ncc), ncc.shape) == (12, 20) and ncc[12, 20] == pytest.approx(1.0, abs=1e-9)
    for r, c in ((0, 0), (7, 33), (40, 45)):
        win = ref[:, r:r + 20, c:c + 25]
        direct = (tpl * win).sum() / np.sqrt((tpl ** 2).sum() * (win ** 2).sum())
        assert ncc[r, c] == pytest.approx(direct, abs=1e-9)


@pytest.mark.parametrize("d0, d1", [(3.25, 7.5), (0.0, 0.0), (10.9, 2.1)])
def test_bilinear_shift_equals_map_coordinates(d0, d1):
    planes = _smooth_planes(2, shape=(3, 30, 40))
    th, tw = 15, 20
    got = T._shift_bilinear(planes, d0, d1, th, tw)
    ii, jj = np.meshgrid(np.arange(th) + d0, np.arange(tw) + d1, indexing="ij")
    for k in range(3):
        want = ndimage.map_coordinates(planes[k], [ii, jj], order=1, mode="constant", cval=0.0)
        np.testing.assert_allclose(got[k], want, atol=1e-12)


def test_least_squares_refinement_recovers_a_subpixel_shift():
    ref = _smooth_planes(3, sigma=4.0)
    true = (8.3, 11.6)
    ii, jj = np.meshgrid(np.arange(24) + true[0], np.arange(30) + true[1], indexing="ij")
    tpl = np.stack([ndimage.map_coordinates(p, [ii, jj], order=3) for p in ref])
    d = T._lsm_refine(tpl, ref, 8.0, 12.0)
    assert d == pytest.approx(true, abs=0.03)


def test_block_size_is_a_quarter_footprint_within_limits():
    lo, hi = T.TEMPLATE_BLOCK_PX
    assert [T.template_block_px(n) for n in (0, 4 * lo - 1, 4 * lo, 100, 4 * hi, 10_000)] == [lo, lo, lo, 25, hi, hi]
