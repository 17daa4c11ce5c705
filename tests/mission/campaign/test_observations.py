"""lupex.mission.campaign.observations: merging legs' observations map by map, the latent Gaussian of an interval
(its bounds come back at +-z sigma), the GPR's quarter-wavelength model error, and a hand-made survey turned into
observations (wet / dry NS windows, GPR picks, NS burial, "none seen", ALIS) as the module notes say."""

import math
import types

import numpy as np
import pandas as pd
import pytest

from lupex.errors import InputError
from lupex.mission.campaign import observations as O
from lupex.mission.campaign.params import NO_ICE_DEPTH_M, NO_ICE_SIGMA_M, CampaignParams
from lupex.prospect import fusion


def _obs(xs, label):
    xs = np.asarray(xs, float)
    return fusion.observations(xs, -xs, xs / 10.0, np.full(xs.size, 0.5), label)


def test_merged_concatenates_map_by_map_and_keeps_missing_maps_missing():
    a = O.SurveyObservations(ns=_obs([1, 2], "ns"), gpr=_obs([3], "gpr"))
    b = O.SurveyObservations(ns=_obs([4], "ns_dry"), alis=_obs([5, 6], "alis"))
    m = a.merged(b)
    np.testing.assert_array_equal(m.ns.x_m, [1, 2, 4])          # a's first, then b's
    assert list(m.ns.source) == ["ns", "ns", "ns_dry"]
    np.testing.assert_array_equal(m.gpr.x_m, [3])
    np.testing.assert_array_equal(m.alis.y_m, [-5, -6])
    assert O.SurveyObservations().merged(O.SurveyObservations()).as_dict() == {"ns": None, "gpr": None, "alis": None}
    assert set(a.as_dict()) == {"ns", "gpr", "alis"} and a.as_dict()["ns"] is a.ns


@pytest.mark.parametrize("z", [1.0, 1.959963984540054])
def test_latent_gaussian_puts_the_interval_at_plus_minus_z_sigma(z):
    tr = fusion.LogShift(0.1)
    lo, hi = np.array([0.0, 0.5, 2.0]), np.array([1.0, 4.0, 2.5])
    v, s = O.latent_gaussian(tr, lo, hi, z=z)
    centre = tr.forward(v)
    latent_sd = s * np.abs(tr.derivative(v))      # back to latent units by the transform's slope at the centre
    np.testing.assert_allclose(centre - z * latent_sd, np.log(lo + 0.1), rtol=1e-12)
    np.testing.assert_allclose(centre + z * latent_sd, np.log(hi + 0.1), rtol=1e-12)
    np.testing.assert_allclose(v, np.sqrt((lo + 0.1) * (hi + 0.1)) - 0.1, rtol=1e-12)   # the log-midpoint


def test_gpr_model_sigma_is_a_quarter_wavelength_in_the_top_layer():
    c = 299_792_458.0
    sr = types.SimpleNamespace(summary={"gpr_eps_top": 4.0})
    assert O.gpr_model_sigma_m(sr) == pytest.approx(c / (4 * 800e6 * 2.0), rel=1e-12)     # ~4.7 cm at 800 MHz
    for bad in ({}, {"gpr_eps_top": float("nan")}, {"gpr_eps_top": 0.5}):   # unknown or unphysical: eps' = 3
        assert O.gpr_model_sigma_m(types.SimpleNamespace(summary=bad)) == pytest.approx(c / (4 * 800e6 * math.sqrt(3)))


def _survey():
    """Three NS windows: wet (95 % lower bound 1.0 > 0.3, burial 0.2-0.6 m), dry (lower bound 0), unusable (NaN)."""
    nan = float("nan")
    retrievals = pd.DataFrame({
        "x_m": [0.0, 10.0, 20.0], "y_m": [0.0, 0.0, 0.0],
        "ns_weh_lo95_wt_pct": [1.0, 0.0, nan], "ns_weh_hi95_wt_pct": [8.0, 1.5, nan],
        "ns_weh_lo68_wt_pct": [2.0, 0.1, nan], "ns_weh_hi68_wt_pct": [5.0, 0.8, nan],
        "ns_burial_lo95_m": [0.2, nan, nan], "ns_burial_hi95_m": [0.6, nan, nan],
        "gpr_n_picks": [1, 0, 0]})
    gpr_windows = pd.DataFrame({"x_m": [0.0, 10.0], "y_m": [1.0, 1.0], "ice_depth_m": [0.25, nan],
                                "ice_depth_sigma_m": [0.01, nan]})
    alis = pd.DataFrame({"x_m": [0.0, 30.0], "y_m": [2.0, 2.0], "water_wt_pct": [-0.1, 0.4],
                         "water_sigma_wt_pct": [0.2, 0.0]})
    return types.SimpleNamespace(retrievals=retrievals, gpr_windows=gpr_windows, alis=alis,
                                 summary={"gpr_eps_top": 4.0})


def test_survey_observations_by_hand():
    p = CampaignParams()
    sr = _survey()
    obs = O.survey_observations(sr, p)
    # WEH: the two usable windows, as the log(WEH + c) Gaussian of their 68 % interval
    assert list(obs.ns.source) == ["ns", "ns_dry"]
    v, s = O.latent_gaussian(fusion.LogShift(p.weh_offset_wt_pct), np.array([2.0, 0.1]), np.array([5.0, 0.8]), z=1.0)
    np.testing.assert_allclose(obs.ns.value, v, rtol=1e-12)
    np.testing.assert_allclose(obs.ns.sigma, s, rtol=1e-12)
    # ice depth: the GPR pick (its sigma with the radar's resolution in quadrature), the wet window's burial,
    # and "deeper than they see" at the dry window (no GPR pick there)
    g = obs.gpr
    assert list(g.source) == ["gpr", "ns_burial", "none_seen"]
    assert g.value[0] == pytest.approx(0.25) and g.sigma[0] == pytest.approx(math.hypot(0.01, O.gpr_model_sigma_m(sr)))
    assert 0.2 < g.value[1] < 0.6
    assert (g.x_m[2], g.value[2], g.sigma[2]) == (10.0, NO_ICE_DEPTH_M, NO_ICE_SIGMA_M)
    # ALIS: the retrieval with a zero sigma is dropped, a negative one clipped at 0
    assert obs.alis.n == 1 and obs.alis.value[0] == 0.0 and obs.alis.x_m[0] == 0.0


def test_a_survey_with_no_usable_window_gives_no_maps_to_fuse():
    sr = _survey()
    for c in ("ns_weh_lo68_wt_pct", "ns_weh_hi68_wt_pct"):
        sr.retrievals[c] = float("nan")
    sr.gpr_windows["ice_depth_m"] = float("nan")
    sr.alis["water_sigma_wt_pct"] = 0.0
    obs = O.survey_observations(sr, CampaignParams())
    assert obs.as_dict() == {"ns": None, "gpr": None, "alis": None}
    with pytest.raises(InputError, match="no neutron retrieval to map; raise campaign.drive_budget_wh"):
        O.fuse(None, obs, CampaignParams())
