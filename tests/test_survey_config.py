"""The run's instrument tables ([survey], [gpr], [neutron], [alis], [emsl], [emsl_outgassing]) reach the
traverse survey: a --set value changes the survey's output in the direction the physics says, measured on
the output (not read back from the parameters)."""

import numpy as np
import pytest
from test_survey import X0, Y_PATH, make_truth

from lupex import config as c
from lupex.errors import ConfigError
from lupex.mission import survey as sv

PATH = np.array([[X0 - 20.0, Y_PATH], [X0 + 20.0, Y_PATH]])  # 40 m across the dry/ice cell edge at X0
FAST = ["survey.gpr_max_fits=0"]  # eps' from the prior: the GPR retrieval's hyperbola fits are not under test
CHANGED = ["neutron.footprint_fwhm_m=4", "gpr.centre_frequency_hz=5e8", "alis.snr=25",
           "emsl.sensitivity_n2_cps_per_cm3=1e-2", "emsl_outgassing.lander_rate_1d_s.H2O=1e19",
           "survey.alis_every_m=5", "vehicle.mobility.speed_cmd_m_s=0.2"]


def _survey(truth, sets):
    grid, gt = truth
    cfg = c.load(overrides=FAST + sets)
    return sv.run_survey(gt, grid, PATH, seed=3, params=cfg.survey, gpr_config=cfg.gpr,
                         neutron_spectrometer=cfg.neutron, alis_params=cfg.alis, ion_trap=cfg.emsl,
                         outgassing=cfg.emsl_outgassing, write=False)


@pytest.fixture(scope="module")
def pair():
    truth = make_truth()
    # every instrument draws from its own generator, so changing all tables at once keeps each comparison clean
    return _survey(truth, []), _survey(truth, CHANGED)


def test_neutron_footprint_smooths_the_count_profile(pair):
    """A 4 m footprint spreads each step of the ground rate over ~4x the distance of a 1 m one (the along-track
    kernel's width scales with its FWHM), so the steepest gradient of the expected counts drops ~4x."""
    grads = []
    for r in pair:
        s = 0.5 * (r.ns["s_start_m"] + r.ns["s_end_m"])
        rate = r.ns["epi_expected"] / (r.ns["t_end_s"] - r.ns["t_start_s"])
        grads.append(float(np.max(np.abs(np.diff(rate)) / np.diff(s))))
    assert grads[1] < 0.4 * grads[0]


def _direct_coupling_width_s(r):
    """Time between the zero crossings around the direct-coupling peak of the mean trace."""
    tr = r.radargram.data.astype(float).mean(axis=0)
    dt = r.radargram.dt_s
    k = int(np.argmax(tr[: int(3e-9 / dt)]))
    lo = k - np.argmax(tr[k::-1] < 0)
    hi = k + np.argmax(tr[k:] < 0)
    # linear interpolation of both crossings
    t_lo = (lo + tr[lo] / (tr[lo] - tr[lo + 1])) * dt
    t_hi = (hi - 1 + tr[hi - 1] / (tr[hi - 1] - tr[hi])) * dt
    return t_hi - t_lo


def test_gpr_centre_frequency_sets_the_wavelet_period(pair):
    """A Ricker wavelet's central lobe spans sqrt(2)/(pi f) between its zero crossings (analytic)."""
    for r, f in zip(pair, (800e6, 500e6)):
        assert _direct_coupling_width_s(r) == pytest.approx(np.sqrt(2) / (np.pi * f), rel=0.1)


def test_alis_noise_widens_the_retrieval_sigma(pair):
    """SNR 100 -> 25: the channel noise is 4x larger, so is the least-squares sigma of the water content."""
    base, changed = (float(np.median(r.alis["water_sigma_wt_pct"])) for r in pair)
    assert changed / base == pytest.approx(4.0, rel=0.15)


def test_emsl_sensitivity_and_outgassing_reach_the_counts(pair):
    base, changed = (r.emsl.groupby("species")["expected_counts"].mean() for r in pair)
    # He has no contamination term: counts = dwell (background + S n); 10x the sensitivity, ~10x the counts
    assert changed["He"] / base["He"] == pytest.approx(10.0, rel=0.05)
    h2o = [r.emsl[r.emsl["species"] == "H2O"]["contamination_true_cm3"].mean() for r in pair]
    assert h2o[1] / h2o[0] == pytest.approx(10.0, rel=0.02)  # 1e19 vs 1e18 molecules/s (the rover's share is small)
    fit = [float(r.emsl_fit.set_index("species").loc["H2O", "lander_rate_1d_s"]) for r in pair]
    assert fit[1] / fit[0] == pytest.approx(10.0, rel=0.2)


def test_survey_table_and_rover_speed_reach_the_sampling(pair):
    base, changed = pair
    assert len(changed.alis) == 2 * len(base.alis) - 1          # every 5 m instead of 10 m over 40 m
    assert len(changed.ns) == len(base.ns) // 2                 # 1 Hz at 0.2 m/s instead of 0.1 m/s
    assert changed.params.speed_m_s == 0.2 and changed.summary["instrument_params"]["neutron"]["footprint_fwhm_m"] == 4


def test_campaign_call_still_works_with_params_only(tmp_path):
    """The campaign's call, run_survey(truth, dem, path, outdir, seed=..., params=SurveyParams(...)), is unchanged."""
    grid, gt = make_truth()
    r = sv.run_survey(gt, grid, PATH, tmp_path, seed=1,
                      params=sv.SurveyParams(ns_window_s=20.0, emsl_duration_s=1800.0, gpr_max_fits=0))
    assert r.summary["instrument_params"]["gpr"]["centre_frequency_hz"] == 800e6
    assert (tmp_path / "survey_summary.json").is_file()


@pytest.mark.parametrize("override,needle", [
    ("survey.ns_weh_prior=flat", "SurveyParams.ns_weh_prior"),
    ("survey.gpr_window_traces=2", "SurveyParams.gpr_window_traces"),
    ("survey.alis_incidence_deg=95", "SurveyParams.alis_incidence_deg"),
    ("survey.gpr_eps_prior=[0.5, 0.1]", "gpr_eps_prior"),
    ("survey.gpr_velocity_model=apollo", "SurveyParams.gpr_velocity_model"),
    ("survey.emsl_dwell_s=-1", "SurveyParams.emsl_dwell_s"),
    ("survey.speed_m_s=0.2", "follows 'vehicle.mobility.speed_cmd_m_s'"),
    ("gpr.centre_frequency_hz=5e9", "GprParams.dt_s is too coarse"),
    ("gpr.spreading=cone", "GprParams.spreading"),
    ("gpr.mixing_rule=linear", "GprParams.mixing_rule"),
    ("gpr.noise_floor_db=nan", "GprParams.noise_floor_db"),
    ("gpr.n_samples=8", "GprParams.n_samples"),
    ("neutron.footprint_fwhm_m=0", "NeutronParams.footprint_fwhm_m"),
    ("neutron.systematic_frac=0.5", "NeutronParams.systematic_frac"),
    ("neutron.response.table=/nonexistent/table.npz", "NeutronResponseParams.table: neutron response table"),
    ("neutron.response.tabel=x", "did you mean 'neutron.response.table'"),
    ("neutron.response.epi_a=0.4", "unknown config key .neutron.response.epi_a."),  # removed: the table replaces it
    ("neutron.th_dry_rate_cps=30", "unknown config key .neutron.th_dry_rate_cps."),  # follows from the table
    ("alis.snr=0", "AlisParams.snr"),
    ("alis.fit_range_um=[3.0, 2.5]", "AlisParams.fit_range_um must be increasing"),
    ("alis.fit_range_um=[2.4, 4.0]", "AlisParams.fit_range_um must lie within"),
    ("alis.regolith_grain_size_um=0", "AlisParams.regolith_grain_size_um"),
    ("alis.continuum_scale=3", "AlisParams.continuum_scale"),
    ("alis.espat_per_wt_pct=0.5", "unknown config key .alis.espat_per_wt_pct."),  # removed: lab data replace it
    ("emsl.relative_sensitivity.Xe=1", "unknown species 'Xe'"),
    ("emsl.relative_sensitivity.He=0", "IonTrapParams.relative_sensitivity.He"),
    ("emsl_outgassing.index=0", "OutgassingParams.index"),
    ("emsl_outgassing.rover_density_1d_cm3.H2O=-3", "OutgassingParams.rover_density_1d_cm3.H2O"),
])
def test_bad_instrument_values_name_their_key(override, needle):
    with pytest.raises(ConfigError, match=needle):
        c.load(overrides=[override])
