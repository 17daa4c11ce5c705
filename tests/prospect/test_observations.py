"""Point retrievals: validation, stacking, and binning by inverse-variance means per source (independent or
fully correlated errors), checked against the weighted means written out by hand."""

import numpy as np
import pytest

from lupex.errors import InputError
from lupex.prospect import observations as O


def test_binning_is_the_inverse_variance_mean_per_cell_and_source():
    ob = O.observations([1.0, 3.0, 12.0, 2.0], [1.0, 2.0, 1.0, 2.0], [1.0, 3.0, 5.0, 7.0], [1.0, 2.0, 1.0, 1.0],
                        source=np.array(["ns", "ns", "ns", "gpr"]))
    b = O.bin_observations(ob, cell_m=10.0)
    assert b.n == 3
    got = {(s, round(x, 9)): (v, sg) for s, x, v, sg in zip(b.source, b.x_m, b.value, b.sigma)}
    w = np.array([1.0, 0.25])
    x_ns = (1.0 * w[0] + 3.0 * w[1]) / w.sum()
    v_ns, s_ns = got[("ns", round(x_ns, 9))]
    assert v_ns == pytest.approx((1.0 * w[0] + 3.0 * w[1]) / w.sum(), rel=1e-12)
    assert s_ns == pytest.approx(1 / np.sqrt(w.sum()), rel=1e-12)
    assert got[("ns", 12.0)] == (5.0, 1.0) and got[("gpr", 2.0)] == (7.0, 1.0)   # alone in their bins
    # fully correlated errors: sigma is the weighted mean of the members' sigmas, not reduced
    c = O.bin_observations(ob, cell_m=10.0, correlated=True)
    sig = dict(zip(zip(c.source, np.round(c.x_m, 9)), c.sigma))
    assert sig[("ns", round(x_ns, 9))] == pytest.approx((1.0 * w[0] + 2.0 * w[1]) / w.sum(), rel=1e-12)
    floor = O.bin_observations(ob, cell_m=10.0, sigma_floor=0.95)
    assert floor.sigma.min() == pytest.approx(0.95)


def test_validation_and_concat():
    a = O.observations([0.0], [0.0], [1.0], [0.1], source="a")
    b = O.observations([1.0, 2.0], [0.0, 0.0], [2.0, 3.0], [0.2, 0.2], source="b")
    ab = O.concat_observations(a, None, b)
    assert ab.n == 3 and list(ab.source) == ["a", "b", "b"] and ab.xy.shape == (3, 2)
    for bad in (dict(sigma=[0.0]), dict(value=[np.nan]), dict(x_m=[1.0, 2.0]), dict(value=[])):
        args = dict(x_m=[0.0], y_m=[0.0], value=[1.0], sigma=[0.1]) | bad
        with pytest.raises(InputError):
            O.observations(**args)
    with pytest.raises(InputError):
        O.bin_observations(a, cell_m=0.0)
    with pytest.raises(InputError):
        O.concat_observations()
