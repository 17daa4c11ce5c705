"""lupex.mission.campaign.results: CampaignPlan and CampaignResult are built by keyword, immutable, with the
stated defaults, and their per-instance defaults are not shared."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from lupex.mission.campaign import results as R
from lupex.mission.campaign.params import CampaignParams


def _plan(name="strategy"):
    return R.CampaignPlan(name=name, path_xy=np.zeros((2, 2)), legs=pd.DataFrame(), observations={}, maps=xr.Dataset(),
                          drill_xy=np.zeros((0, 2)), drilling=pd.DataFrame(), drill_sites=pd.DataFrame(),
                          survey_energy_wh=10.0, survey_m=5.0, drill_tour_m=0.0, drill_tour_wh=0.0, drill_energy_wh=0.0)


def test_a_plan_is_built_by_keyword_with_its_defaults_and_is_frozen():
    pl = _plan()
    assert pl.timeline is None and pl.schedule_error == "" and pl.goal_times == () and pl.goals is None
    assert pl.approach_m == 0.0 and pl.approach_wh == 0.0 and pl.scores == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        pl.survey_m = 1.0
    assert _plan().scores is not pl.scores          # a fresh dict each
    with pytest.raises(TypeError):                  # the 13 fields without a default are required
        R.CampaignPlan(name="x")


def test_a_result_is_built_by_keyword_holds_its_plans_and_is_frozen():
    plans = {"strategy": _plan("strategy"), "lawnmower": _plan("lawnmower")}
    res = R.CampaignResult(params=CampaignParams(), seed=3, start_xy=(1.0, 2.0), start_utc="2027-01-02T00:00:00",
                           area=(0.0, 10.0, 0.0, 10.0), truth=xr.Dataset(), plans=plans,
                           scores=pd.DataFrame({"plan": list(plans)}), budget_wh=100.0)
    assert res.plans["lawnmower"].name == "lawnmower" and list(res.scores["plan"]) == ["strategy", "lawnmower"]
    assert res.outdir is None and res.timings_s == {} and res.feasibility == {} and res.survey_centre_xy == ()
    assert res.prior_share == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.seed = 4
    assert {f.name for f in dataclasses.fields(R.CampaignResult)} >= {"params", "seed", "plans", "scores", "budget_wh"}
