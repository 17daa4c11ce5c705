"""lupex.parsing: the parsers of values written as text, against hand-written cases (and config's re-export)."""

import math

import pytest

import lupex.config as config
from lupex import parsing
from lupex.errors import ConfigError, InputError


def test_lat_lon_points_and_altitudes():
    assert parsing.parse_lat_lon(" -89.45, 222.7 ", "--at") == (-89.45, 222.7)
    assert parsing.parse_points("-89.5,10; ;-88,-20.5;") == [(-89.5, 10.0), (-88.0, -20.5)]
    assert parsing.frame_altitudes("8000, 4000,2000") == [8000.0, 4000.0, 2000.0]
    assert parsing.frame_altitudes("") == []


@pytest.mark.parametrize("text", ["-91,0", "0,361", "nan,0", "1,2,3", "north"])
def test_bad_points_say_what(text):
    with pytest.raises(InputError, match="--at"):
        parsing.parse_lat_lon(text, "--at")
    with pytest.raises(ConfigError, match="sites.extra_points entry"):
        parsing.parse_points(text)


def test_bad_altitudes_name_the_key():
    with pytest.raises(ConfigError, match="landing.rendered_altitudes_m entry '40'"):
        parsing.frame_altitudes("100, 40", "landing.rendered_altitudes_m")
    with pytest.raises(ConfigError, match="not a number of metres"):
        parsing.frame_altitudes("8 km")
    assert math.isclose(parsing.frame_altitudes("30000")[0], 30_000.0)


def test_config_reexports_the_same_functions():
    assert config.parse_lat_lon is parsing.parse_lat_lon
    assert config.parse_points is parsing.parse_points
    assert config.frame_altitudes is parsing.frame_altitudes
