"""Configuration: every key documented, typos named with a suggestion, ranges enforced."""

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lupex import config as c
from lupex.errors import ConfigError


def test_every_key_has_unit_and_help():
    keys = c.all_keys()
    assert len(keys) > 20
    for key, _default, unit, help in keys:
        assert unit and help and "." in key


def test_toml_round_trip(tmp_path):
    cfg = c.load(overrides=["light.n_azimuths=90", 'time.start="2028-03-01T00:00:00"', "output.overwrite=true"])
    p = tmp_path / "c.toml"
    p.write_text(c.to_toml(cfg))
    assert c.load(p) == cfg
    assert tomllib.loads(c.to_toml(cfg))["light"]["n_azimuths"] == 90


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[light]\nn_azimuth = 90\n", "did you mean 'light.n_azimuths'"),
        ("[ligth]\nn_azimuths = 90\n", "did you mean 'light'"),
        ("[lander]\nmax_slope = 10\n", "did you mean 'lander.max_slope_deg'"),
        ("[time]\nstep_hours = -1\n", "time.step_hours must be positive"),
        ("[light]\nn_azimuths = 'many'\n", "must be of type int"),
        ("[site\n", "not valid TOML"),
    ],
)
def test_bad_config_files(tmp_path, text, needle):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        c.load(p)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        c.load(tmp_path / "nope.toml")


def test_set_syntax():
    with pytest.raises(ConfigError, match="table.key=value"):
        c.load(overrides=["n_azimuths=3"])
    with pytest.raises(ConfigError, match="scheduler address"):
        c.load(overrides=['compute.scheduler="localhost"'])


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=0.01, max_value=89.9), st.integers(min_value=4, max_value=3600))
def test_valid_values_round_trip(slope, naz):
    cfg = c.load(overrides=[f"lander.max_slope_deg={slope!r}", f"light.n_azimuths={naz}"])
    assert c.merge(c.Config(), tomllib.loads(c.to_toml(cfg))) == cfg


def test_parse_lat_lon_is_the_one_point_parser():
    from lupex.errors import InputError

    assert c.parse_lat_lon("-89.45,222.7", "--at") == (-89.45, 222.7)
    assert c.parse_points(" -89.9,45 ; -89.8,-80") == [(-89.9, 45.0), (-89.8, -80.0)]
    for bad in ("north", "-89,1,2", "-95,0", "nan,0", "-89,400"):
        with pytest.raises(InputError, match="--at .*LAT,LON|--at must be LAT,LON"):
            c.parse_lat_lon(bad, "--at")
    with pytest.raises(ConfigError, match="sites.extra_points entry"):
        c.parse_points("-89.9,45; oops")


def test_nested_model_tables_round_trip_and_apply(tmp_path):
    """[vehicle], [planner] and [budget] are the models' own parameter trees, set from TOML or --set."""
    from lupex.rover.vehicle import parameter_table

    text = ("[vehicle.battery]\ncapacity_wh = 6000.0\n\n[vehicle.thermal.electronics]\nheater_max_w = 80.0\n\n"
            "[[vehicle.panels]]\narea_m2 = 1.5\n\n[[vehicle.panels]]\narea_m2 = 1.0\nazimuth_rel_deg = 270.0\n\n"
            "[planner]\nwait_s = 1800\n\n[budget]\n")
    p = tmp_path / "v.toml"
    p.write_text(text)
    cfg = c.load(p, ["vehicle.panels[1].tilt_deg=80", "light.earth_threshold=0.25"])
    assert cfg.vehicle.battery.capacity_wh == 6000 and cfg.vehicle.thermal.electronics.heater_max_w == 80
    assert [q.area_m2 for q in cfg.vehicle.panels] == [1.5, 1.0]
    assert cfg.vehicle.panels[1].tilt_deg == 80 and cfg.vehicle.panels[1].azimuth_rel_deg == 270
    assert cfg.vehicle.panels[1].efficiency == cfg.vehicle.panels[0].efficiency  # new entries start from the first
    assert cfg.planner.wait_s == 1800
    # run-level keys set the model copies that follow them
    assert cfg.vehicle.comms.earth_threshold == cfg.planner.earth_threshold == 0.25
    # the round trip through config.toml is exact
    p2 = tmp_path / "out.toml"
    p2.write_text(c.to_toml(cfg))
    assert c.load(p2) == cfg
    # every rover parameter of the vehicle model is a config key (derived ones excepted)
    keys = {k for k, *_ in c.all_keys(cfg)}
    for key, *_ in parameter_table(cfg.vehicle):
        full = f"vehicle.{key}"
        assert full in keys or full in c.DERIVED, full
    assert any(k.startswith("budget.") for k in keys) and any(k.startswith("planner.") for k in keys)


@pytest.mark.parametrize(
    "override,needle",
    [
        ("vehicle.battery.capacity_w=1", "did you mean 'vehicle.battery.capacity_wh'"),
        ("vehicle.batery.capacity_wh=1", "did you mean 'vehicle.battery'"),
        ("vehicle.battery.capacity_wh=-5", "capacity_wh must be a positive number"),
        ("vehicle.panels[3].area_m2=1", r"vehicle.panels\[3\].*1 entries"),
        ("planner.max_slope_deg=10", "follows 'rover.max_slope_deg'"),
        ("vehicle.survival.dark_mode=sleep", "dark_mode must be one of"),
        ("budget.launch_mass_kg=oops", "'budget.launch_mass_kg' must be of type float"),
        ("vehicle.battery=3", "must be a table"),
    ],
)
def test_nested_bad_keys_name_the_key(override, needle):
    with pytest.raises(ConfigError, match=needle):
        c.load(overrides=[override])
