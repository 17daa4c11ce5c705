"""lupex.mission.campaign.params: CampaignParams builds from its defaults, each check refuses just past its bound
with a message naming campaign.<key>, the bounds themselves pass, and a leg's survey settings are the campaign's."""

import dataclasses

import pytest

import lupex.mission.campaign.params as CP
from lupex.errors import ConfigError
from lupex.mission import campaign as C
from lupex.mission.survey import SurveyParams


def test_defaults_build_documented_and_frozen():
    p = CP.CampaignParams()
    for f in dataclasses.fields(p):
        assert f.metadata.get("unit") and f.metadata.get("source"), f.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.rounds = 3
    assert CP.PLANS == ("strategy", "lawnmower")
    lo, hi = CP.DEPTH_BOUNDS_M
    assert lo < CP.NO_ICE_DEPTH_M < hi and CP.NO_ICE_SIGMA_M > 0


@pytest.mark.parametrize("kw,needle", [
    (dict(area_half_m=0.0), "campaign.area_half_m must be positive"),
    (dict(leg_overhead_wh=-0.001), "campaign.leg_overhead_wh must be >= 0"),
    (dict(rounds=0), "campaign.rounds must be >= 1"),
    (dict(n_headings=2), "campaign.n_headings must be >= 3"),
    (dict(gpr_window_traces=3, min_leg_m=25.0), "campaign.gpr_window_traces must be >= 4"),
    (dict(drill_depth_m=1.51), "campaign.drill_depth_m = 1.51 m"),
    (dict(drill_depth_m=0.5, drill_bite_m=0.51), "campaign.drill_bite_m must not exceed"),
    (dict(min_leg_m=120.01), "campaign.min_leg_m (120.01 m) must not exceed campaign.leg_m"),
    (dict(min_leg_m=9.99, gpr_spacing_m=0.5, gpr_window_traces=20), "shorter than one GPR window"),
    (dict(min_leg_m=10.0, gpr_spacing_m=0.5, gpr_window_traces=20, speed_m_s=5.01, ns_rate_hz=1.0),
     "too short for two neutron samples"),
    (dict(objective="greed"), "campaign.objective must be 'risk' or 'information'"),
    (dict(kernel="rbf"), "campaign.kernel must be"),
    (dict(rounds=2.0), "campaign.rounds must be an integer"),
    (dict(rounds=True), "campaign.rounds must be an integer"),
    (dict(leg_m=float("inf")), "campaign.leg_m must be a finite number"),
    (dict(schedule=1), "campaign.schedule must be true or false"),
])
def test_each_check_refuses_just_past_its_bound_naming_the_key(kw, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        CP.CampaignParams(**kw)


def test_the_bounds_themselves_pass():
    CP.CampaignParams(drill_depth_m=1.5, drill_bite_m=1.5, min_leg_m=120.0, leg_overhead_wh=0.0, rounds=1,
                      n_headings=3, drills=0, mc_seeds=0)
    # exactly one GPR window (20 x 0.5 m) and exactly two NS samples (2 x 5 m/s / 1 Hz)
    CP.CampaignParams(min_leg_m=10.0, gpr_spacing_m=0.5, gpr_window_traces=20, speed_m_s=5.0, ns_rate_hz=1.0)


def test_survey_params_put_the_campaigns_spacings_on_the_runs_survey_table():
    p = CP.CampaignParams(speed_m_s=0.2, gpr_spacing_m=1.0, ns_window_s=40.0)
    base = SurveyParams()
    sp = p.survey_params(base)
    assert (sp.speed_m_s, sp.gpr_spacing_m, sp.ns_window_s) == (0.2, 1.0, 40.0)
    assert (sp.gpr_window_traces, sp.ns_rate_hz, sp.alis_every_m) == (p.gpr_window_traces, p.ns_rate_hz, p.alis_every_m)
    untouched = {f.name for f in dataclasses.fields(SurveyParams)} - {
        "speed_m_s", "gpr_spacing_m", "gpr_window_traces", "ns_rate_hz", "ns_window_s", "alis_every_m"}
    for n in untouched:
        assert getattr(sp, n) == getattr(base, n), n
    assert p.survey_params() == p.survey_params(SurveyParams())


# moved from tests/mission/test_campaign.py (assertions unchanged)
@pytest.mark.parametrize("kw, needle", [
    (dict(drive_budget_wh=0.0), "drive_budget_wh"),
    (dict(duration_days=-1.0), "duration_days"),
    (dict(drills=-1), "drills"),
    (dict(kernel="rbf"), "kernel"),
    (dict(objective="greedy"), "objective"),
    (dict(gp_max_length_m=0.0), "gp_max_length_m"),
    (dict(drift_prior_sd=-1.0), "drift_prior_sd"),
    (dict(drill_depth_m=2.0), "1.5 m"),
    (dict(rounds=2.5), "integer"),
    (dict(min_leg_m=5.0, gpr_spacing_m=1.0), "GPR window"),
])
def test_bad_params_name_what_to_fix(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        C.CampaignParams(**kw)


def test_survey_params_start_from_the_runs_survey_table():
    """A campaign leg uses the run's [survey] settings, with only the campaign's spacings and rates on top."""
    import dataclasses

    from lupex.mission.survey import SurveyParams

    base = dataclasses.replace(SurveyParams(), gpr_pick_snr=9.0, ns_window_s=20.0)
    p = C.CampaignParams()
    got = p.survey_params(base)
    assert got.gpr_pick_snr == 9.0  # from the run's table
    assert (got.gpr_spacing_m, got.ns_window_s, got.alis_every_m) == (p.gpr_spacing_m, p.ns_window_s, p.alis_every_m)
    assert p.survey_params() == p.survey_params(SurveyParams())
