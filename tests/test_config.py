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
        ("vehicle.battery.capacity_wh=-5", "vehicle.battery.capacity_wh must be positive"),
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


def test_model_tables_tuples_and_maps_from_toml_and_set(tmp_path):
    """Tuple fields take a TOML array (length checked), name -> value maps take a table that updates the defaults."""
    text = ("[dispersions]\ninit_sigma_r_m = [50, 60.5, 20]\n\n[dispersions.imu]\nturn_on_bias_mps2 = 1e-4\n\n"
            "[ltga]\nice_release_k = [210.0, 9.0]\n\n[drill.volatiles_rel_h2o_pct]\nH2S = 1.0\n\n"
            "[triton.background_molecules]\nN2 = 3e16\n")
    p = tmp_path / "m.toml"
    p.write_text(text)
    cfg = c.load(p, ["isap.shift_range_cm=[200, 3500]", "drill.volatiles_rel_h2o_pct.CH4=0"])
    assert cfg.dispersions.init_sigma_r_m == (50.0, 60.5, 20.0)
    assert all(isinstance(v, float) for v in cfg.dispersions.init_sigma_r_m)
    assert cfg.dispersions.imu.turn_on_bias_m_s2 == 1e-4
    assert cfg.ltga.ice_release_k == (210.0, 9.0) and cfg.isap.shift_range_cm == (200.0, 3500.0)
    # the species given change, the others keep the LCROSS values (Colaprete et al. 2010, Table 1: NH3 6.03)
    assert cfg.drill.volatiles_rel_h2o_pct["H2S"] == 1.0 and cfg.drill.volatiles_rel_h2o_pct["CH4"] == 0.0
    assert cfg.drill.volatiles_rel_h2o_pct["NH3"] == 6.03
    assert cfg.triton.background_molecules == {"N2": 3e16}
    out = tmp_path / "out.toml"
    out.write_text(c.to_toml(cfg))
    assert c.load(out) == cfg


def test_every_new_model_table_round_trips(tmp_path):
    sets = ["descent.hover_altitude_m=80", "lander_vehicle.isp_s=300", "touchdown.max_vertical_m_s=1.5",
            "dispersions.map_offset_sigma_m=[3, 3, 2]", "drill.max_depth_m=1.0", "ltga.noise_kg=1e-10",
            "triton.resolving_power=8000", "adore.reflectivity=0.99995", "isap.step_cm=1.5", "lander.max_slope_deg=10"]
    cfg = c.load(overrides=sets)
    p = tmp_path / "c.toml"
    p.write_text(c.to_toml(cfg))
    again = c.load(p)
    assert again == cfg
    assert again.touchdown.max_slope_deg == 10.0  # follows lander.max_slope_deg
    assert "sun_elevation_deg" not in tomllib.loads(c.to_toml(cfg))["descent"]
    keys = {k for k, *_ in c.all_keys()}
    for table in ("descent", "lander_vehicle", "touchdown", "dispersions", "drill", "ltga", "triton", "adore", "isap"):
        assert any(k.startswith(table + ".") for k in keys), table


@pytest.mark.parametrize(
    "override,needle",
    [
        ("dispersions.init_sigma_r_m=[1, 2]", "array of 3 values"),
        ("dispersions.init_sigma_r_m=5", "array of 3 values"),
        ("ltga.ice_release_k=[200, 'x']", r"ltga.ice_release_k\[1\]' must be of type float"),
        ("drill.volatiles_rel_h2o_pct.Xe=1", "unknown species 'Xe'"),
        ("drill.volatiles_rel_h2o_pct=3", "must be a table"),
        ("triton.background_molecules.Ar=1", "background_molecules"),
        ("drill.max_depth_m=2", "max_depth_m"),
        ("adore.reflectivity=1.5", "AdoreParams.reflectivity"),
        ("isap.shift_range_cm=[3000, 200]", "shift_range_cm must be increasing"),
        ("descent.altimeter_gating=maybe", "altimeter_gating"),
        ("lander_vehicle.propellant_kg=5000", "propellant_kg"),
        ("dispersions.vision_sigma_gsd_range=[2, 1]", "vision_sigma_gsd_range"),
        ("dispersions.vision_p_dropout=1.5", r"vision_p_dropout must be in \[0, 1\] \(probability\)"),
        ("landing.reference_sun_offset_deg=400", "reference_sun_offset_deg must be in"),
        ("descent.sun_elevation_deg=10", "not a config key: it is set from the landing epoch"),
        ("touchdown.max_slope_deg=10", "follows 'lander.max_slope_deg'"),
        ("drill.max_dept_m=1", "did you mean 'drill.max_depth_m'"),
    ],
)
def test_model_table_bad_values_name_the_key(override, needle):
    with pytest.raises(ConfigError, match=needle):
        c.load(overrides=[override])


def test_survey_instrument_tables_round_trip(tmp_path):
    """[survey], [gpr], [neutron] (with [neutron.response]), [alis], [emsl] and [emsl_outgassing]: TOML and --set,
    nested tables, species maps, pairs and -inf; survey.speed_m_s follows the rover's commanded speed."""
    import shutil

    from lupex.instruments.neutron import BUILTIN_TABLE

    table = tmp_path / "my_table.npz"
    shutil.copy(BUILTIN_TABLE, table)
    text = (f"[neutron.response]\ntable = '{table}'\n\n[emsl_outgassing.lander_rate_1d_s]\nH2O = 3e17\n\n"
            "[gpr]\nbandlimited_noise_db = -inf\n\n[vehicle.mobility]\nspeed_cmd_m_s = 0.15\n")
    p = tmp_path / "s.toml"
    p.write_text(text)
    cfg = c.load(p, ["survey.gpr_eps_prior=[3.0, 0.2]", "alis.fit_range_um=[2.5, 3.5]", "alis.regolith_grain_size_um=45",
                     "emsl.relative_sensitivity.He=0.2",
                     "survey.ns_weh_prior=uniform", "survey.gpr_fit_rock_size=false"])
    assert cfg.neutron.response.table == str(table) and cfg.neutron.response.load().path == str(table)
    assert cfg.emsl_outgassing.lander_rate_1d_s == {"H2O": 3e17, "N2": 2e17, "CO2": 5e16}
    assert cfg.emsl.relative_sensitivity["He"] == 0.2 and cfg.emsl.relative_sensitivity["Ar"] == 1.29
    assert cfg.gpr.bandlimited_noise_db == -float("inf") and cfg.survey.gpr_eps_prior == (3.0, 0.2)
    assert cfg.survey.speed_m_s == 0.15 and cfg.survey.gpr_fit_rock_size is False
    assert cfg.alis.regolith_grain_size_um == 45.0 and cfg.alis.continuum_slope == 0.0
    out = tmp_path / "out.toml"
    out.write_text(c.to_toml(cfg))
    assert c.load(out) == cfg
    assert "speed_m_s" not in tomllib.loads(c.to_toml(cfg))["survey"]
    keys = {k for k, *_ in c.all_keys()}
    for key in ("survey.ns_window_s", "gpr.centre_frequency_hz", "neutron.footprint_fwhm_m", "neutron.response.table",
                "alis.snr", "alis.regolith_grain_size_um", "alis.continuum_scale", "emsl.background_cps",
                "emsl.relative_sensitivity", "emsl_outgassing.index"):
        assert key in keys, key
    assert "survey.speed_m_s" not in keys


@pytest.mark.parametrize("old,new", sorted(c.RENAMED.items()))
def test_old_unit_spellings_still_load_with_a_warning(tmp_path, caplog, old, new):
    """A key renamed to the one spelling per unit (``_mps`` -> ``_m_s``, ``_fraction`` -> ``_frac``) still
    loads from a config file and from --set, means the same as the new key, and logs a warning naming it."""
    *path, leaf = old.split(".")
    default = next(v for k, v, *_ in c.all_keys() if k == new)
    value = default * 0.5 if default else 0.5  # a value other than the default, valid for every renamed key
    want = c.load(overrides=[f"{new}={value!r}"])
    with caplog.at_level("WARNING", logger="lupex.config"):
        got_set = c.load(overrides=[f"{old}={value!r}"])
    assert got_set == want and want != c.Config()
    assert any(new in r.getMessage() and "deprecated" in r.getMessage() for r in caplog.records)
    p = tmp_path / "old.toml"
    p.write_text(f"[{'.'.join(path)}]\n{leaf} = {value!r}\n")
    assert c.load(p) == want
    assert new.rsplit(".", 1)[1] + " =" in c.to_toml(want) and f"\n{leaf} =" not in c.to_toml(want)


def test_old_and_new_name_of_one_key_together_are_refused(tmp_path):
    p = tmp_path / "both.toml"
    p.write_text("[descent]\npdi_speed_mps = 1600.0\npdi_speed_m_s = 1700.0\n")
    with pytest.raises(ConfigError, match="given twice.*pdi_speed_m_s"):
        c.load(p)
