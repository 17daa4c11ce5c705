"""Survey/drill strategy and scoring: geometry by hand, the information gain
against its closed form, scores against hand-computed values, determinism, and
the info-gain vs lawnmower comparison on a seeded truth."""

import numpy as np
import pytest
import xarray as xr

from lupex.errors import InputError
from lupex.prospect import fusion as F
from lupex.prospect import fusion
from lupex.prospect import scoring as S
from lupex.prospect import strategy as St

pytestmark = pytest.mark.usefixtures("one_blas_thread")  # see conftest.py


def truth(seed, n=40, cell=15.0, ell=90.0):
    """WEH lognormal (median 0.5 wt%), ice-table depth logistic on (0, 3) m."""
    rng = np.random.default_rng(seed)
    g = S.gaussian_random_field((n, n), cell, ell, rng)
    h = S.gaussian_random_field((n, n), cell, ell, rng)
    x = (np.arange(n) + 0.5) * cell
    return xr.Dataset({"weh_wt_pct": (("y", "x"), np.exp(-0.7 + g)),
                       "ice_depth_m": (("y", "x"), 3.0 / (1 + np.exp(-1.2 * h)))},
                      coords={"x": x, "y": x[::-1].copy()})


def test_lawnmower_geometry():
    w = St.lawnmower((0, 100, 0, 40), 20.0)
    np.testing.assert_allclose(w, [[0, 10], [100, 10], [100, 30], [0, 30]])
    w2 = St.lawnmower((0, 100, 0, 40), 20.0, start=(100, 40))
    assert tuple(w2[0]) == (100, 30)
    L = np.linalg.norm(np.diff(St.lawnmower((0, 600, 0, 600), St.lawnmower_spacing_for_budget((0, 600, 0, 600), 3000)),
                               axis=0), axis=1).sum()
    assert L == pytest.approx(3000, rel=0.1)
    with pytest.raises(InputError):
        St.lawnmower((0, 100, 0, 40), 0.0)
    with pytest.raises(InputError):
        St.lawnmower((0, -1, 0, 40), 10.0)


def test_drill_grid_and_path_points_and_truncation():
    d = St.drill_grid((0, 100, 0, 100), 4)
    np.testing.assert_allclose(sorted(map(tuple, d)), [(25, 25), (25, 75), (75, 25), (75, 75)])
    p = St.path_points([[0, 0], [10, 0], [10, 10]], 4.0)
    np.testing.assert_allclose(p, [[4, 0], [8, 0], [10, 2], [10, 6], [10, 10]])
    cost = St.straight_line_cost(wh_per_m=1.0, wh_per_leg=0.0)
    path, e, _ = St.truncate_path([[0, 0], [10, 0], [10, 10]], cost, 15.0)
    np.testing.assert_allclose(path[-1], [10, 5], atol=1e-6)
    assert e == pytest.approx(15.0)


def test_information_gain_closed_form_single_point():
    """One new point, prior GP (fixed s2), Identity transform:
    I = 0.5 log(1 + sigma_post^2 / (noise^2 + nugget))."""
    obs = F.observations([0.0], [0.0], [0.0], [0.5])
    m = F.fit_gp(obs, mean="zero", fixed={"variance": 2.0, "length_m": 30.0, "nugget": 0.01})
    q = np.array([[40.0, 0.0]])
    k = F.kernel_matrix("matern32", np.zeros((1, 2)), q, 2.0, 30.0)[0, 0]
    post = 2.0 - k**2 / (2.0 + 0.25 + 0.01)
    assert St.information_gain(m, q, 0.3) == pytest.approx(0.5 * np.log(1 + post / (0.09 + 0.01)), rel=1e-10)
    # two co-located points give less than twice one (submodularity)
    assert St.information_gain(m, np.vstack([q, q]), 0.3) < 2 * St.information_gain(m, q, 0.3)


def test_choose_drive_prefers_unexplored_ground():
    rng = np.random.default_rng(0)
    xs = rng.uniform(0, 100, 60)
    obs = F.observations(xs, rng.uniform(0, 100, 60), np.ones(60), np.full(60, 0.1))
    m = F.fit_gp(obs, mean="constant", fixed={"variance": 1.0, "length_m": 40.0, "nugget": 1e-3})
    cands = np.array([[50.0, 90.0], [50.0, -200.0]])  # through the data vs into unseen ground (same length)
    ch = St.choose_drive(m, (50.0, -50.0), cands, St.straight_line_cost(), noise_sd=0.1, step_m=10.0)
    assert ch.index == 1
    assert St.choose_drive(m, (50.0, -50.0), cands, St.straight_line_cost(), noise_sd=0.1, step_m=10.0,
                           remaining_wh=1.0) is None


def test_expected_drill_water_limits():
    tr = F.Logit(0.0, 3.0)
    # table surely at 0.3 m -> 80 % of a 1.5 m core is wet; surely at 2.5 m -> none
    np.testing.assert_allclose(St.expected_drill_water(5.0, tr.forward(0.3), 1e-6, tr), 5.0 * 1.2 / 1.5, rtol=1e-5)
    assert St.expected_drill_water(5.0, tr.forward(2.5), 1e-6, tr) == pytest.approx(0.0, abs=1e-9)
    ei = St.expected_improvement(np.array([0.0, 1.0]), np.array([1.0, 1e-9]), 0.0)
    assert ei[0] == pytest.approx(1 / np.sqrt(2 * np.pi)) and ei[1] == pytest.approx(1.0)


def test_scores_by_hand_and_grid_mismatch():
    x = np.array([0.5, 1.5])
    t = xr.DataArray([[2.0, 0.5], [3.0, 0.0]], dims=("y", "x"), coords={"x": x, "y": x[::-1].copy()})
    m = t.copy(data=[[2.5, 0.4], [0.8, 0.0]])
    e = S.map_errors(m, t)
    assert e["rmse"] == pytest.approx(np.sqrt((0.25 + 0.01 + 4.84) / 4)) and e["bias"] == pytest.approx(-0.45)
    assert S.ice_mass_located(t, m, 1.0) == pytest.approx(2.0 / 5.0)
    assert S.calibration(t, m, t.copy(data=np.full((2, 2), 0.5)), k=2.0) == pytest.approx(0.75)
    d = S.drill_scores([2.0, 0.5], [1.0, 0.5], 1.0, truth_field=t.values)
    assert d["hit_rate"] == 0.5 and d["bias"] == pytest.approx(-0.5) and d["oracle_fraction"] == pytest.approx(1.5 / 5)
    shifted = t.assign_coords(x=x + 10)
    with pytest.raises(InputError, match="different x"):
        S.map_errors(m, shifted)
    with pytest.raises(InputError, match="different grids"):
        S.map_errors(m.isel(x=[0]), t)
    with pytest.raises(InputError, match="outside"):
        S.sample_grid(t, [[50.0, 0.0]])


def test_gaussian_random_field_needs_generator_and_is_seeded():
    with pytest.raises(InputError):
        S.gaussian_random_field((4, 4), 1.0, 2.0, 42)
    a = S.gaussian_random_field((8, 8), 1.0, 2.0, np.random.default_rng(3))
    b = S.gaussian_random_field((8, 8), 1.0, 2.0, np.random.default_rng(3))
    assert np.array_equal(a, b)


def _run(seed, **kw):
    return St.compare_strategies(truth(seed), budget_wh=900.0, cost=St.straight_line_cost(),
                                 rng=np.random.default_rng(1000 + seed), reach_m=60.0, refit_every=6,
                                 n_drills=5, **kw)


def test_compare_same_seed_same_scores_and_budget_respected():
    a, b = _run(0), _run(0)
    for plan in ("info_gain", "lawnmower"):
        for k in ("ice_mass_located", "calibration_95", "energy_wh", "map", "drills"):
            assert a[plan][k] == b[plan][k]
        assert a[plan]["energy_wh"] <= 900.0 + 1e-9
        assert a[plan]["energy_wh"] > 0.9 * 900.0
        assert a[plan]["drill_spots"].shape == (5, 2)


@pytest.mark.slow
def test_info_gain_vs_lawnmower_over_seeds():
    """Measured, not assumed: on 10 seeds the expected-water drill choice beats
    the fixed drill grid; the survey's ice-mass-located medians are printed
    (against a budget-matched lawnmower the pure-MI survey did NOT win, see
    the report)."""
    res = [_run(s) for s in range(10)]
    ig = np.array([r["info_gain"]["ice_mass_located"] for r in res])
    lm = np.array([r["lawnmower"]["ice_mass_located"] for r in res])
    hits_ig = np.array([r["info_gain"]["drills"]["hit_rate"] for r in res])
    hits_lm = np.array([r["lawnmower"]["drills"]["hit_rate"] for r in res])
    print(f"ice located median: info_gain {np.median(ig):.3f} lawnmower {np.median(lm):.3f}; "
          f"drill hits median {np.median(hits_ig):.2f} vs {np.median(hits_lm):.2f}")
    assert np.median(hits_ig) > np.median(hits_lm)
    assert np.median(ig) > 0.2  # the survey maps find a real share of the ice at all


# ----------------------------------------------------------------------------- the water-mapping risk objective


def test_mapping_risk_is_the_lognormal_partial_expectation_by_monte_carlo():
    from lupex.prospect import strategy as st

    tr = fusion.LogShift(0.1)
    rng = np.random.default_rng(0)
    for mu, sd in ((-1.0, 1.2), (0.5, 0.4), (0.0, 2.0)):
        w = rng.normal(mu, sd, 2_000_000)
        v = np.exp(w) - 0.1
        l0 = np.mean(np.where(v > 1.0, v, 0.0))
        l1 = 1.0 * np.mean(v <= 1.0)
        assert st.mapping_risk(mu, sd, tr, 1.0) == pytest.approx(min(l0, l1), rel=0.01)


def test_risk_reduction_is_the_preposterior_expectation():
    """E over mu' ~ N(mu, sd^2 - sa^2) of the risk at (mu', sa), by sampling; >= 0; 0 when nothing is learned."""
    from lupex.prospect import strategy as st

    tr = fusion.LogShift(0.1)
    rng = np.random.default_rng(1)
    mu, sd, sa = np.array([-1.2, 0.1, 0.8]), np.array([1.5, 0.7, 0.3]), np.array([0.6, 0.2, 0.29])
    got = st.risk_reduction(mu, sd, sa, tr, 1.0)
    for k in range(3):
        mp = rng.normal(mu[k], np.sqrt(sd[k] ** 2 - sa[k] ** 2), 400_000)
        ref = st.mapping_risk(mu[k], sd[k], tr, 1.0) - st.mapping_risk(mp, sa[k], tr, 1.0).mean()
        assert got[k] == pytest.approx(ref, abs=2e-3 + 0.01 * abs(ref))
    assert (got >= 0).all()
    np.testing.assert_allclose(st.risk_reduction(mu, sd, sd, tr, 1.0), 0.0, atol=1e-9)


def test_risk_objective_looks_beyond_one_leg_to_the_prior_region():
    """Dry ground seen at x = 300 m; the orbital prior allows ice only at x < 160 m. Legs of 120 m cannot
    reach it and are worth ~nothing; with destinations across the area the drive goes into the prior region."""
    from lupex.prospect import strategy as st

    x = y = np.arange(21) * 20.0
    f = np.zeros((21, 21))
    f[:, :8] = 1.0
    da = xr.DataArray(f, coords={"y": y, "x": x}, dims=("y", "x"))
    tr = fusion.LogShift(0.1)
    yy = np.arange(0, 400, 10.0)
    obs = fusion.observations(np.full(yy.size, 300.0), yy, np.full(yy.size, 0.2), np.full(yy.size, 0.1))
    m = fusion.fit_gp(obs, mean="drift", transform=tr, drift=fusion.Drift.of(da), bounds=fusion.gp_bounds(0.7, 100.0))
    target = st.LocatedWater(fusion.grid_points(da), f.ravel(), 1.0)
    cost = st.straight_line_cost(0.7)
    pos = np.array([300.0, 200.0])
    legs = st.candidate_waypoints(pos, st.Area(0, 400, 0, 400), 120.0, 12)
    near = st.choose_drive(m, pos, legs, cost, noise_sd=0.1, step_m=10.0, target=target)
    far = st.choose_drive(m, pos, np.vstack([legs, st.drill_grid(st.Area(0, 400, 0, 400), 49)]), cost,
                          noise_sd=0.1, step_m=10.0, target=target)
    assert far.objective == "risk" and far.waypoint[0] < 160.0
    assert far.gain_nats > 100 * near.gain_nats
    # the same choice without the prior weights: no ground is special, the risk sits everywhere alike
    flat = st.LocatedWater(target.xy, np.zeros(target.xy.shape[0]), 1.0)
    assert st.choose_drive(m, pos, legs, cost, noise_sd=0.1, step_m=10.0, target=flat).objective != "risk"
