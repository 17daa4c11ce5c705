"""lupex.config.tables: every run table builds from its defaults, each key carries unit/help/source, the table
sits in Config under its TABLE name, round-trips through TOML (lupex.config), and a bad value names table.key."""

import dataclasses
import tomllib

import pytest

import lupex.config as config
from lupex.config import tables
from lupex.errors import ConfigError

PARAMS = sorted({getattr(tables, n) for n in tables.__all__ if n.endswith("Params")}, key=lambda t: t.__name__)
OWN = [t for t in PARAMS if t.__module__ == tables.__name__]    # SubsurfaceParams is the subsurface model's


@pytest.mark.parametrize("table", OWN, ids=lambda t: t.__name__)
def test_every_table_builds_from_defaults_and_sits_in_config_under_its_name(table):
    t = table()
    assert dataclasses.is_dataclass(t)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(t, dataclasses.fields(t)[0].name, None)
    field = {f.name: f for f in dataclasses.fields(config.Config)}[table.TABLE]
    assert field.default_factory is table
    for f in dataclasses.fields(t):
        assert f.metadata.get("unit") and f.metadata.get("help") and f.metadata.get("source"), f"{table.TABLE}.{f.name}"


def test_every_table_round_trips_through_toml_with_non_default_values():
    changed = config.load(overrides=["site.name=synthetic", "site.size_m=6000", "time.days=20.5",
                                     "light.n_azimuths=90", "lander.landing_radius_m=75", "rover.max_slope_deg=18",
                                     "sites.count=3", "landing.runs=2", 'landing.frame_altitudes_m="3000, 1000"',
                                     "compute.workers=1", 'output.directory="x"'])
    text = config.to_toml(changed)
    back = config.load_text(text)
    assert back == changed
    doc = tomllib.loads(text)
    for table in OWN:          # every key of every run table is written, with the value the Config holds
        for k, v in dataclasses.asdict(getattr(changed, table.TABLE)).items():
            assert doc[table.TABLE][k] == (list(v) if isinstance(v, tuple) else v), f"{table.TABLE}.{k}"
    assert doc["light"]["n_azimuths"] == 90 and doc["site"]["size_m"] == 6000


@pytest.mark.parametrize("table,kw,needle", [
    (tables.SiteParams, dict(name="site99"), "site.name 'site99' is not a built-in site"),
    (tables.SiteParams, dict(pixel_m=0.0), "site.pixel_m must be positive"),
    (tables.TimeParams, dict(step_hours=-1.0), "time.step_hours must be positive"),
    (tables.LightParams, dict(n_azimuths=tables.MAX_AZIMUTHS + 1), "light.n_azimuths"),
    (tables.LightParams, dict(n_azimuths=3), "light.n_azimuths"),
    (tables.LightParams, dict(dark_threshold=1.0), "light.dark_threshold"),
    (tables.LightParams, dict(tile=15), "light.tile"),
    (tables.LanderParams, dict(max_slope_deg=90.0), "lander.max_slope_deg"),
    (tables.RoverTerrainParams, dict(roughness_baseline_m=0.0), "rover.roughness_baseline_m"),
    (tables.SitesParams, dict(count=0), "sites.count"),
    (tables.LandingParams, dict(runs=-1), "landing.runs"),
    (tables.LandingParams, dict(rendered_altitudes_m=""), "landing.rendered_altitudes_m must list"),
    (tables.ComputeParams, dict(scheduler="localhost:8786"), "compute.scheduler 'localhost:8786'"),
])
def test_a_value_just_past_its_bound_is_refused_naming_the_key(table, kw, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        table(**kw)


def test_the_bounds_themselves_are_accepted():
    tables.LightParams(n_azimuths=4, tile=16, dark_threshold=0.0, earth_threshold=1.0)
    tables.LightParams(n_azimuths=tables.MAX_AZIMUTHS)
    tables.LanderParams(max_slope_deg=89.9)
    tables.SitesParams(count=1)
    tables.ComputeParams(workers=tables.max_workers(), scheduler="tcp://host:8786")
    with pytest.raises(ConfigError, match="compute.workers"):
        tables.ComputeParams(workers=tables.max_workers() + 1)
