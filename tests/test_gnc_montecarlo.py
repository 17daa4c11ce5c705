"""Monte Carlo: determinism per seed, Dask parity, summary statistics and figures."""

import numpy as np
import pandas as pd
import pytest

from lupex.errors import ConfigError
from lupex.landing import descent as d
from lupex.landing import montecarlo as mc
from lupex.terrain import generate_site

SHORT = d.DescentConfig(sun_azimuth_deg=0.0, pdi_altitude_m=3000.0, pdi_speed_m_s=150.0, braking_decel_m_s2=1.5,
                        gate_altitude_m=800.0, gate_descent_m_s=20.0)
TARGET = (0.0, 750.0)


@pytest.fixture(scope="module")
def site():
    return generate_site(1, size_m=3000.0, pixel_m=2.0, shackleton=False)


@pytest.fixture(scope="module")
def df(site):
    return mc.run_monte_carlo(site, TARGET, 2, seed=5, config=SHORT)


def test_same_seed_same_table_different_seed_differs(site, df):
    again = mc.run_monte_carlo(site, TARGET, 2, seed=5, config=SHORT, check_target=False)
    pd.testing.assert_frame_equal(df, again)
    other = mc.run_monte_carlo(site, TARGET, 1, seed=6, config=SHORT, check_target=False)
    assert other.landing_error_m[0] != df.landing_error_m[0]
    # run i depends on (seed, i) only: a shorter campaign is a prefix of a longer one
    pd.testing.assert_frame_equal(mc.run_monte_carlo(site, TARGET, 1, seed=5, config=SHORT, check_target=False),
                                  df.iloc[:1])


def test_dask_two_worker_local_cluster_matches_in_process(site, df):
    pytest.importorskip("dask.distributed")
    par = mc.run_monte_carlo(site, TARGET, 2, seed=5, config=SHORT, workers=2, check_target=False)
    pd.testing.assert_frame_equal(df, par)


def test_campaign_meets_limits_and_summary(df):
    assert df.success.all(), df.failure_cause.tolist()
    assert (df.v_vert_mps <= 2.0).all() and (df.v_horiz_mps <= 0.5).all() and (df.slope_deg <= 12.0).all()
    s = mc.summary(df)
    assert s.n_runs == 2 and s.success_rate == 1.0
    assert s.nav_err_50m_median_m == pytest.approx(float(np.median(df.nav_err_50m)))


def test_ellipse_recovers_a_known_covariance():
    rng = np.random.default_rng(0)
    ang = np.radians(30.0)
    R = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    xy = rng.standard_normal((20000, 2)) * [10.0, 2.0] @ R.T
    c, a, b, th = mc.landing_ellipse(pd.DataFrame({"dx_m": xy[:, 0], "dy_m": xy[:, 1]}))
    assert a == pytest.approx(30.0, rel=0.03) and b == pytest.approx(6.0, rel=0.03)
    assert (th - 30.0) % 180.0 == pytest.approx(0.0, abs=1.0) or (th - 30.0) % 180.0 == pytest.approx(180.0, abs=1.0)


def test_dispersion_ellipse_holds_the_chi_square_share_of_a_gaussian():
    """Against an analytic Gaussian (covariance built here: sigmas 12 m and 3 m, major axis at 120 deg): the
    semi-axes are k x the true sigmas, the angle the true one, and the share of the sample inside the ellipse is
    the chi-square (2 dof) CDF: 1 - exp(-9/2) = 98.89 % for k = 3, 99.73 % for k = 3.44 (scipy's chi2 here, an
    independent implementation)."""
    from scipy.stats import chi2

    assert mc.ellipse_probability(3.0) == pytest.approx(chi2.cdf(9.0, 2), abs=1e-12)
    assert mc.ellipse_scale(0.9973) == pytest.approx(np.sqrt(chi2.ppf(0.9973, 2)), abs=1e-9)
    assert mc.ellipse_scale(0.9973) == pytest.approx(3.44, abs=0.005)
    rng = np.random.default_rng(11)
    th = np.radians(120.0)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    cov = R @ np.diag([12.0**2, 3.0**2]) @ R.T
    xy = rng.multivariate_normal([4.0, -2.0], cov, size=200_000)
    for k, share in ((3.0, chi2.cdf(9.0, 2)), (mc.ellipse_scale(0.9973), 0.9973)):
        c, a, b, ang = mc.dispersion_ellipse(xy, k)
        assert c == pytest.approx([4.0, -2.0], abs=0.1)
        assert a == pytest.approx(k * 12.0, rel=0.01) and b == pytest.approx(k * 3.0, rel=0.01)
        assert ang == pytest.approx(120.0, abs=0.5)
        # inside: Mahalanobis distance in the ellipse's own axes (computed here from its semi-axes and angle)
        u = np.radians(ang)
        d = xy - c
        p = d @ np.array([np.cos(u), np.sin(u)])
        q = d @ np.array([-np.sin(u), np.cos(u)])
        inside = (p / a) ** 2 + (q / b) ** 2 <= 1.0
        # binomial 1-sigma of the share with n = 2e5: <= 2.4e-4; 5 sigma
        assert inside.mean() == pytest.approx(share, abs=1.2e-3)


def test_landing_ellipse_is_the_dispersion_not_the_retarget_gap():
    """Half the runs retargeted 40 m east (hazard avoidance), all with the same 2 m Gaussian scatter about their
    aim point: the dispersion ellipse is the scatter's (3 x 2 m), the spread about the target holds the gap."""
    rng = np.random.default_rng(5)
    n = 4000
    e = rng.standard_normal((n, 2)) * 2.0
    shift = np.where(np.arange(n) % 2 == 0, 40.0, 0.0)
    df = pd.DataFrame({"dx_m": e[:, 0] + shift, "dy_m": e[:, 1], "aim_dx_m": e[:, 0], "aim_dy_m": e[:, 1],
                       "retarget_m": shift})
    _, a, b, _ = mc.landing_ellipse(df)
    assert a == pytest.approx(6.0, rel=0.05) and b == pytest.approx(6.0, rel=0.05)
    _, ta, tb, tang = mc.landing_ellipse(df, about="target")
    assert ta == pytest.approx(3.0 * np.sqrt(20.0**2 + 4.0), rel=0.05) and tb == pytest.approx(6.0, rel=0.05)
    assert tang % 180.0 == pytest.approx(0.0, abs=2.0) or tang % 180.0 == pytest.approx(180.0, abs=2.0)


def test_monte_carlo_rows_carry_the_offset_from_the_aim_point(df):
    """aim_dx/aim_dy are the touchdown minus the aim point: their norm is the aim error of each run."""
    assert np.hypot(df.aim_dx_m, df.aim_dy_m).to_numpy() == pytest.approx(df.aim_error_m.to_numpy(), abs=1e-6)
    s = mc.summary(df)
    assert s.ellipse_p9973_major_m == pytest.approx(s.ellipse_3sigma_major_m * mc.ellipse_scale(0.9973) / 3.0)
    assert "98.9 %" in s.ellipse_convention


def test_figures_are_png(site, df):
    from lupex.report.landing import fig_landing_scatter, fig_nav_error_vs_altitude, fig_touchdown_velocity

    for png in (fig_landing_scatter(df, site.dem, TARGET), fig_nav_error_vs_altitude(df), fig_touchdown_velocity(df)):
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    t = mc.nav_error_table(df)
    assert list(t.columns) == ["altitude_m", "median_m", "p90_m", "p99_m"] and len(t) > 3


# ----------------------------------------------------------------------------- config tables reach the descent

_SHORT_SETS = ["descent.pdi_altitude_m=3000", "descent.pdi_speed_m_s=150", "descent.braking_decel_m_s2=1.5",
               "descent.gate_altitude_m=800", "descent.gate_descent_m_s=20"]


def _mc_with_config(site, sets, n_runs=2, seed=5):
    """The Monte Carlo as the landing phase calls it: every parameter from the config tables."""
    import dataclasses

    from lupex.config import load

    cfg = load(overrides=_SHORT_SETS + sets)
    config = dataclasses.replace(cfg.descent, sun_azimuth_deg=0.0)
    return mc.run_monte_carlo(site, TARGET, n_runs, seed=seed, config=config, dispersions=cfg.dispersions,
                              vehicle=cfg.lander_vehicle, limits=cfg.touchdown, check_target=False)


@pytest.fixture(scope="module")
def cfg_df(site):
    return _mc_with_config(site, [])


def test_config_dispersions_widen_the_landing_spread(site, cfg_df):
    # the onboard map's registration error moves the touchdown with it: 30 m sigma instead of 1.5 m
    wide = _mc_with_config(site, ["dispersions.map_offset_sigma_m=[30, 30, 1]"])
    assert (wide.map_offset_m > 5 * cfg_df.map_offset_m).all()
    assert wide.landing_error_m.mean() > cfg_df.landing_error_m.mean() + 10.0


def test_config_vehicle_and_descent_reach_the_simulation(site, cfg_df):
    # a worse engine burns more propellant for the same descent (rocket equation: m0/m1 = exp(dv / (Isp g0)))
    weak = _mc_with_config(site, ["lander_vehicle.isp_s=250"], n_runs=1)
    assert weak.propellant_kg[0] > 1.1 * cfg_df.propellant_kg[0]
    # hovering 30 s longer takes longer and burns more
    hover = _mc_with_config(site, ["descent.hover_time_s=34"], n_runs=1)
    assert hover.duration_s[0] > cfg_df.duration_s[0] + 20.0 and hover.propellant_kg[0] > cfg_df.propellant_kg[0]


def test_config_touchdown_limits_judge_the_touchdown(site, cfg_df):
    # the terminal descent ends at descent.terminal_speed_m_s = 1 m/s: a 0.2 m/s limit fails every run
    strict = _mc_with_config(site, ["touchdown.max_vertical_m_s=0.2"])
    assert cfg_df.success.all() and not strict.success.any()
    assert strict.failure_cause.str.contains("vertical").all()


def test_landing_phase_passes_the_config_tables(site, monkeypatch, tmp_path):
    """run_landing hands [descent], [dispersions], [lander_vehicle], [touchdown] to the Monte Carlo, with the
    Sun's elevation and azimuth computed from landing.epoch (not settable)."""
    import pandas as pd

    from lupex import ephemeris as eph
    from lupex.config import load
    from lupex.mission import landing_phase as lp
    from lupex.terrain.geo import lonlat_grid

    seen = {}
    real = mc.run_monte_carlo

    def fake_mc(dem, target, n, seed, **kw):  # record what the phase passes; fly one short descent
        seen.update(kw, n=n, seed=seed)
        return real(dem, target, 1, seed, config=SHORT, check_target=False)

    monkeypatch.setattr(mc, "run_monte_carlo", fake_mc)
    monkeypatch.setattr(lp, "_frames", lambda *a, **k: ([], pd.DataFrame()))
    cfg = load(overrides=["landing.runs=3", "landing.seed=7", 'landing.epoch="2027-03-01T00:00:00"',
                          "landing_window.n_azimuths=36",
                          "descent.hover_altitude_m=80", "dispersions.init_sigma_v_m_s=0.2",
                          "lander_vehicle.isp_s=300", "touchdown.max_horizontal_m_s=0.4"])
    dem = site.dem
    cell = dem.sel(x=[TARGET[0]], y=[TARGET[1]], method="nearest")
    lon, lat = (float(v[0, 0]) for v in lonlat_grid(cell))
    sites = pd.DataFrame({"x_m": [TARGET[0]], "y_m": [TARGET[1]], "lat_deg": [lat], "lon_deg": [lon]})
    lp.run_landing(cfg, dem, None, sites, tmp_path)
    assert seen["n"] == 3 and seen["seed"] == 7 and seen["rendered_runs"] == cfg.landing.rendered_runs
    assert seen["dispersions"] == cfg.dispersions
    # the budget's lander at PDI (landing.lander_from_budget, the default) with [lander_vehicle]'s engines
    from lupex.mission.budget import lander_at_pdi
    assert seen["vehicle"] == lander_at_pdi(cfg.budget, cfg.lander_vehicle, cfg.descent)
    assert seen["vehicle"].isp_s == 300.0 and seen["vehicle"].max_thrust_n == cfg.lander_vehicle.max_thrust_n
    assert seen["vehicle"].wet_mass_kg != pytest.approx(cfg.lander_vehicle.wet_mass_kg, rel=1e-3)
    assert seen["limits"] == cfg.touchdown and seen["config"].hover_altitude_m == 80.0
    sun = eph.topocentric("SUN", lat, lon, 0.0, times=[np.datetime64("2027-03-01T00:00:00")])
    # the true elevation, not clamped at 0: a dark landing must fly dark (no crater fixes)
    assert seen["config"].sun_elevation_deg == pytest.approx(float(sun.elevation_deg[0]))
    # grid azimuth = topocentric azimuth + the grid azimuth of local north (site frame, from +y)
    from lupex.terrain.geo import grid_north_azimuth_deg

    gna = float(grid_north_azimuth_deg(cell)[0, 0])
    assert seen["config"].sun_azimuth_deg == pytest.approx((float(sun.azimuth_deg[0]) + gna) % 360.0)
    # and [lander_vehicle] exactly as configured when the budget's lander is switched off
    lp.run_landing(load(overrides=["landing.runs=3", 'landing.epoch="2027-03-01T00:00:00"',
                                   "landing_window.n_azimuths=36", "landing.lander_from_budget=false",
                                   "lander_vehicle.isp_s=300"]), dem, None, sites, tmp_path / "b")
    assert seen["vehicle"] == load(overrides=["lander_vehicle.isp_s=300"]).lander_vehicle


def test_vision_frame_loss_is_a_dispersion_and_vision_carries_the_navigation(site, df):
    # per-frame loss reaches the simulated camera: all frames lost, no fix accepted, and the filter
    # navigates on IMU + altimeter alone (here ~3 m instead of ~1 m on a small rough site from 3 km; the
    # default site from 15 km: 49 m instead of 2.2 m)
    blind = mc.run_monte_carlo(site, TARGET, 2, seed=5, config=SHORT, check_target=False,
                               dispersions=mc.Dispersions(vision_p_dropout=1.0, vision_p_dropout_low_sun=0.0))
    assert (df.vision_accepted > 0).all() and (blind.vision_accepted == 0).all()
    assert blind.nav_err_50m.median() > 2 * df.nav_err_50m.median()
    with pytest.raises(ConfigError, match="probability"):
        mc.Dispersions(vision_p_dropout=1.5)


def test_the_budget_flies_this_monte_carlos_descent(df):
    """One lander for both: the budget's descent is the delta-v these runs bought (rocket equation on their
    propellant with the vehicle they flew), which must at least cancel the PDI speed (a physical lower bound: the
    horizontal velocity at PDI has to go), and the budget's descent row carries its 99 % quantile + 5 %."""
    from lupex.landing.descent import Vehicle
    from lupex.mission.budget import BudgetParams, descent_from_monte_carlo, launch_to_landing_budget

    d = descent_from_monte_carlo(df, Vehicle(), SHORT, 0.99)
    assert d.n_runs == int(df.success.sum())
    assert SHORT.pdi_speed_m_s < d.dv_mean_m_s < 3500.0
    b = launch_to_landing_budget(BudgetParams(), d)
    row = b.table[b.table.phase.str.startswith("Powered descent")]
    assert row["dv_m_s"].iloc[0] == pytest.approx(1.05 * d.dv_quantile_m_s, rel=1e-12)
    assert b.params.descent_perilune_altitude_m == SHORT.pdi_altitude_m and b.params.lander_isp_s == Vehicle().isp_s
