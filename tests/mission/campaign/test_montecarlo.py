"""lupex.mission.campaign.montecarlo: medians over seeds of a hand-made score frame (with the strategy/lawnmower
ratio row), the Monte Carlo's input checks, and the truth factory giving the same truth as make_ground_truth
at base_seed + seed (and pickling, to go to Dask workers)."""

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from lupex.errors import InputError
from lupex.mission import campaign as C
from lupex.mission.campaign import montecarlo as M
from lupex.mission.campaign.params import CampaignParams
from lupex.subsurface.ground_truth import SubsurfaceParams, make_ground_truth
from lupex.terrain.io import dem_from_array
from tests.mission.test_campaign import P, small_site


def _frame():
    rows = []
    for seed, (s_km, l_km, s_rec, l_rec) in enumerate([(2.0, 1.0, 0.9, 0.3), (4.0, 1.0, 0.5, 0.5), (3.0, 4.0, 0.7, 0.1)]):
        rows.append(dict(seed=seed, plan="lawnmower", water_located_kg_per_km=l_km, ice_mass_located=l_rec, extra=1.0))
        rows.append(dict(seed=seed, plan="strategy", water_located_kg_per_km=s_km, ice_mass_located=s_rec, extra=2.0))
    return pd.DataFrame(rows)


def test_medians_and_ratio_by_hand():
    med = M.monte_carlo_medians(_frame())
    assert list(med["plan"]) == ["strategy", "lawnmower", "strategy / lawnmower"]   # PLANS order, then the ratio
    assert list(med.columns) == ["plan", "n_seeds", "water_located_kg_per_km", "ice_mass_located"]  # MC_COLUMNS only
    m = med.set_index("plan")
    assert m.loc["strategy", "water_located_kg_per_km"] == pytest.approx(3.0)      # median of 2, 4, 3
    assert m.loc["lawnmower", "water_located_kg_per_km"] == pytest.approx(1.0)     # of 1, 1, 4
    assert m.loc["strategy", "ice_mass_located"] == pytest.approx(0.7)
    assert m.loc["lawnmower", "ice_mass_located"] == pytest.approx(0.3)
    assert m.loc["strategy / lawnmower", "water_located_kg_per_km"] == pytest.approx(3.0)
    assert m.loc["strategy / lawnmower", "ice_mass_located"] == pytest.approx(0.7 / 0.3)
    assert list(m["n_seeds"]) == [3, 3, 3]


def test_one_plan_has_no_ratio_row_and_a_zero_denominator_gives_nan():
    df = _frame()
    one = M.monte_carlo_medians(df[df["plan"] == "strategy"])
    assert list(one["plan"]) == ["strategy"]
    df.loc[df["plan"] == "lawnmower", "ice_mass_located"] = 0.0
    r = M.monte_carlo_medians(df).set_index("plan").loc["strategy / lawnmower"]
    assert np.isnan(r["ice_mass_located"]) and r["water_located_kg_per_km"] == pytest.approx(3.0)


@pytest.mark.parametrize("seeds,factory,needle", [
    ([], lambda s: None, "at least one seed"),
    ([1, 1], lambda s: None, "distinct non-negative"),
    ([-1], lambda s: None, "distinct non-negative"),
    ([0], "not callable", "truth_factory must be a callable"),
])
def test_monte_carlo_refuses_bad_seeds_and_factories(seeds, factory, needle):
    with pytest.raises(InputError, match=needle):
        M.campaign_monte_carlo(CampaignParams(), factory, seeds)


def test_truth_factory_is_make_ground_truth_at_base_seed_plus_seed_and_pickles():
    n = 12
    x = (np.arange(n) + 0.5) * 10.0
    dem = dem_from_array(np.zeros((n, n)), x, -x)
    kw = dict(stability_depth_m=np.full((n, n), 0.1), t_max_surface_k=np.full((n, n), 90.0),
              t_mean_surface_k=np.full((n, n), 50.0))
    sub = SubsurfaceParams(corr_length_m=30.0, weh_median_wt_pct=2.0)
    f = M.TruthFactory(dem, (60.0, -60.0), base_seed=7, kwargs=kw, params=sub)
    inp = pickle.loads(pickle.dumps(f))(2)
    assert isinstance(inp, M.CampaignInputs)
    assert inp.dem is not None and inp.start_xy == (60.0, -60.0) and inp.light is None
    assert inp.start_utc == "2027-01-02T00:00:00"
    xr.testing.assert_identical(inp.truth.dataset, make_ground_truth(dem, sub, seed=9, **kw).dataset)
    assert not inp.truth.dataset["weh_wt_pct"].equals(f(3).truth.dataset["weh_wt_pct"])
    # the run's [subsurface] table is the factory's: another table, another truth at the same seed
    other = dataclasses.replace(f, params=SubsurfaceParams(corr_length_m=30.0, weh_median_wt_pct=4.0))(2)
    assert not other.truth.dataset["weh_wt_pct"].equals(inp.truth.dataset["weh_wt_pct"])


# moved from tests/mission/test_campaign.py (assertions unchanged)
def test_monte_carlo_on_dask_equals_serial():
    n = 12   # the tiniest truth that holds a campaign area
    dem, _ = small_site(n=n)
    start = (float(dem.x[n // 2]), float(dem.y[n // 2]))
    small = dataclasses.replace(P, **{"drills": 0, "rounds": 2,
                                "area_half_m": 50.0, "drive_budget_wh": 60.0, "approach_max_m": 0.0})
    fac = C.TruthFactory(dem, start, base_seed=20, kwargs=dict(
        t_max_surface_k=np.full(dem.shape, 90.0), t_mean_surface_k=np.full(dem.shape, 50.0),
        stability_depth_m=np.full(dem.shape, 0.05), corr_length_m=40.0, rock_abundance=0.001))
    serial = C.campaign_monte_carlo(small, fac, [0, 1])
    from lupex.compute import dask_client

    with dask_client(1) as client:   # one worker: the start-up is most of the cost; still a separate process
        par = C.campaign_monte_carlo(small, fac, [0, 1], client=client)
    pd.testing.assert_frame_equal(serial, par)
    assert len(serial) == 4 and set(serial["plan"]) == set(C.PLANS)
    assert not serial[serial.plan == "strategy"]["weh_rmse_wt_pct"].duplicated().any()   # seeds differ
    # the run's instrument tables reach every campaign of the Monte Carlo: a noisier neutron spectrometer
    # (10 % count-rate systematics instead of 2 %) gives other maps, hence other scores, on the same seed
    from lupex.instruments.neutron import NeutronParams

    noisy = C.campaign_monte_carlo(small, fac, [0], instruments=dict(
        neutron_spectrometer=dataclasses.replace(NeutronParams(), systematic_frac=0.10)))
    assert not np.allclose(noisy["weh_rmse_wt_pct"], serial[serial.seed == 0]["weh_rmse_wt_pct"])
    med = C.monte_carlo_medians(serial)
    for n in C.PLANS:
        v = serial[serial.plan == n]["water_located_kg_per_km"].median()
        assert med.set_index("plan").loc[n, "water_located_kg_per_km"] == pytest.approx(v)
