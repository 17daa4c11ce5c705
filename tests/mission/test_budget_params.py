"""lupex.mission.budget_params: the [budget] table builds from its defaults, every field carries unit/help/source,
the lunar surface gravity is the published 1.62 m/s^2, and each check refuses just past its bound naming the key."""

import dataclasses

import pytest

import lupex.mission.budget_params as B
from lupex.errors import ConfigError
from lupex.landing.descent import DescentParams, LanderVehicleParams
from lupex.mission import budget


def test_defaults_build_and_every_field_is_documented():
    p = B.BudgetParams()
    for f in dataclasses.fields(p):
        assert f.metadata.get("unit") and f.metadata.get("help") and f.metadata.get("source"), f.name
    assert p.architecture in B.ARCHITECTURES and B.STAGES == ("pm", "lander")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.launch_mass_kg = 1.0


def test_the_solver_module_re_exports_the_same_objects():
    assert budget.BudgetParams is B.BudgetParams
    assert budget.G_MOON_SURFACE_M_S2 == B.G_MOON_SURFACE_M_S2


def test_lunar_surface_gravity_is_the_published_value():
    # GM / R^2 with the module's constants; the published mean surface gravity is 1.62 m/s^2 (NASA Moon fact
    # sheet: 1.62); the tolerance covers the fact sheet's two decimals
    assert B.G_MOON_SURFACE_M_S2 == pytest.approx(1.62, abs=0.005)


def test_the_descent_defaults_are_the_landing_models_own():
    p = B.BudgetParams()
    assert p.descent_perilune_altitude_m == DescentParams().pdi_altitude_m
    assert p.lander_isp_s == LanderVehicleParams().isp_s


@pytest.mark.parametrize("kw,needle", [
    (dict(launch_mass_kg=0.0), "launch_mass_kg must be positive"),
    (dict(hover_time_s=-1.0), "hover_time_s must be >= 0"),
    (dict(descent_quantile=1.0), "descent_quantile"),
    (dict(descent_quantile=0.0), "descent_quantile"),
    (dict(tli_loss_frac=1.0), "tli_loss_frac"),
    (dict(tank_ratio=1.0), "tank_ratio"),
    (dict(launch_latitude_deg=90.0), "launch_latitude_deg"),
    (dict(required_surface_payload_kg=6000.0), "required_surface_payload_kg"),
    (dict(parking_apogee_altitude_m=249e3), "parking_apogee_altitude_m must be >= parking_perigee_altitude_m"),
    (dict(parking_apogee_altitude_m=390_000e3), "parking_apogee_altitude_m must be below the Moon's distance"),
    (dict(descent_perilune_altitude_m=100e3), "descent_perilune_altitude_m must be below lunar_orbit_altitude_m"),
    (dict(architecture="three-stage"), "architecture must be one of"),
])
def test_each_check_refuses_just_past_its_bound_naming_the_key(kw, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        B.BudgetParams(**kw)


def test_the_bounds_themselves_are_accepted():
    B.BudgetParams(hover_time_s=0.0, descent_quantile=0.999, tli_loss_frac=0.999, launch_latitude_deg=0.0,
                   required_surface_payload_kg=5999.0, parking_apogee_altitude_m=250e3,
                   descent_perilune_altitude_m=99.9e3, architecture="integrated")


def test_replace_checks_the_new_values():
    p = B.BudgetParams().replace(launch_mass_kg=5500.0)
    assert p.launch_mass_kg == 5500.0 and p.required_surface_payload_kg == B.BudgetParams().required_surface_payload_kg
    with pytest.raises(ConfigError, match="launch_mass_kg"):
        B.BudgetParams().replace(launch_mass_kg=300.0)
