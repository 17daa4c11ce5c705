"""Closed-loop descents: touchdown limits (Chandrayaan-3), propellant accounting, retarget, bad inputs."""

import numpy as np
import pytest

from lupex.errors import ConfigError, InputError
from lupex.landing import descent as d
from lupex.landing import guidance as g
from lupex.landing import montecarlo as mc
from lupex.terrain import generate_site
from lupex.terrain.io import dem_from_array

# Chandrayaan-3's published touchdown limits (ISRO; docs/REFERENCES.md#chandrayaan3), written out, not taken from the code
MAX_V_VERT, MAX_V_HORIZ, MAX_SLOPE = 2.0, 0.5, 12.0

SHORT = d.DescentParams(sun_azimuth_deg=0.0, pdi_altitude_m=3000.0, pdi_speed_m_s=150.0, braking_decel_m_s2=1.5,
                        gate_altitude_m=800.0, gate_descent_m_s=20.0)


@pytest.fixture(scope="module")
def site():
    return generate_site(1, size_m=3000.0, pixel_m=2.0, shackleton=False)


def test_full_slim_like_descent_meets_touchdown_limits(site):
    """From 15 km at 1.7 km/s (SLIM, docs/REFERENCES.md#slim) to touchdown, with IMU errors and simulated vision."""
    cfg = d.DescentParams(sun_azimuth_deg=0.0)
    res = g.run_descent(site.dem, (0.0, 750.0), np.random.default_rng(11), config=cfg)
    assert res.success, res.failure_cause
    assert res.vertical_speed_m_s <= MAX_V_VERT and res.horizontal_speed_m_s <= MAX_V_HORIZ
    assert res.slope_deg <= MAX_SLOPE
    assert res.landing_error_m < 10.0
    h = res.history
    assert h["alt_m"][0] > 13_000 and h["speed_m_s"][0] > 1650
    # propellant: the mass that left equals what the engine could burn; the budget closes
    veh = d.LanderVehicleParams()
    assert 0 < res.propellant_used_kg < veh.propellant_kg
    # the delta-v it implies (rocket equation) exceeds the 1.7 km/s shed plus hover: gravity losses are > 0
    dv = veh.exhaust_velocity_m_s * np.log(veh.wet_mass_kg / (veh.wet_mass_kg - res.propellant_used_kg))
    assert 1700.0 < dv < 2400.0


def test_hazard_retarget_moves_off_a_boulder():
    x = np.arange(-1000.0, 1000.0, 2.0) + 1.0
    y = -x
    X, Y = np.meshgrid(x, y)
    z = 1000.0 + 3.0 * np.exp(-((X - 4.0) ** 2 + Y**2) / (2 * 3.0**2))  # the target on a 3 m mound's flank
    dem = dem_from_array(z, x, y)
    res = g.run_descent(dem, (0.0, 0.0), np.random.default_rng(2), config=SHORT,
                        init_sigma_r_m=(20.0, 20.0, 20.0))
    assert res.success, res.failure_cause
    assert 3.0 < res.retarget_m <= 60.0
    assert np.hypot(res.touchdown_r_m[0] - 4.0, res.touchdown_r_m[1]) > 6.0
    assert res.slope_deg <= MAX_SLOPE


def test_bad_inputs(site):
    with pytest.raises(ConfigError, match="n_runs"):
        mc.run_monte_carlo(site, (0.0, 750.0), 0)
    with pytest.raises(ConfigError, match="n_runs"):
        mc.run_monte_carlo(site, (0.0, 750.0), -3)
    with pytest.raises(InputError, match="outside"):
        mc.run_monte_carlo(site, (9000.0, 0.0), 2)
    with pytest.raises(InputError, match="outside"):
        g.run_descent(site.dem, (9000.0, 0.0), np.random.default_rng(0))
    with pytest.raises(ConfigError):
        d.DescentParams(hover_altitude_m=-5)
    with pytest.raises(ConfigError):
        d.DescentParams(altimeter_gating="maybe")
    with pytest.raises(ConfigError):
        d.LanderVehicleParams(propellant_kg=5000.0)


def test_vision_sources_are_pluggable():
    from lupex.landing import sensors as sens

    assert isinstance(sens.SimulatedVision(), sens.VisionSource)


def test_rendered_vision_fix_is_near_the_truth():
    """The real chain: render the truth, locate from a prediction 15 m off; the fix lands within
    a few camera GSDs of the true position (Hamel et al. 2025: about one GSD)."""
    from lupex.landing import render as R
    from lupex.landing import sensors as sens
    from lupex.landing.camera import Camera
    from lupex.landing.filter import NavState
    from lupex.landing.onboard_map import build_onboard_map
    from lupex.terrain import generate_site

    site = generate_site(3, size_m=2400.0, pixel_m=3.0, shackleton=False)
    sun = R.sun_vector_from_az_el(120.0, 25.0)
    omap = build_onboard_map(site.dem, site.craters, (125.0, 25.0))
    zc = float(np.median(omap.z_site_m))
    vis = sens.RenderedVision(scene=R.make_scene(site.dem, sun), camera=Camera(30.0, 512, 512),
                              onboard_map=omap, sun_vector_site=sun)
    truth = np.array([40.0, -60.0, zc + 1000.0])
    ts = sens.TruthState(0.0, truth, np.zeros(3), 1000.0)
    est = NavState(0.0, np.r_[truth + [12.0, -9.0, 4.0], np.zeros(6)], np.diag([100.0] * 3 + [1.0] * 6))
    fx = vis.fix(0.0, ts, est, np.random.default_rng(0))
    assert fx is not None and fx.ok
    gsd = 1000.0 * np.radians(30.0) / 512
    assert np.linalg.norm(fx.position_m[:2] - truth[:2]) < 4 * gsd
    assert vis.fix(0.0, sens.TruthState(0.0, truth, np.zeros(3), 10.0), est, np.random.default_rng(0)) is None


def test_simulated_vision_sigma_is_about_one_gsd():
    from lupex.landing import sensors as sens

    v = sens.SimulatedVision(map_floor_m=0.0, p_dropout=0.0, p_dropout_low_sun=0.0)
    rng = np.random.default_rng(0)
    ts = sens.TruthState(0.0, np.array([0.0, 0.0, 5000.0]), np.zeros(3), 5000.0)
    errs = np.array([v.fix(0.0, ts, None, rng).position_m[:2] for _ in range(4000)])
    gsd = 5000.0 * np.radians(30.0) / 1024  # altitude x IFOV of a 30 deg, 1024 px camera
    assert np.std(errs) == pytest.approx(gsd, rel=0.05)
    assert v.fix(0.0, sens.TruthState(0.0, np.zeros(3), np.zeros(3), 10.0), None, rng) is None  # too low
