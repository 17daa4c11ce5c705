"""The parameter helpers: param's metadata, and each check accepting its bounds and refusing just past them
with a ConfigError that names the field and its unit."""

import math
from dataclasses import dataclass, fields

import numpy as np
import pytest

from lupex import params as P
from lupex.errors import ConfigError, InputError


@dataclass(frozen=True)
class Demo:
    speed_m_s: float = P.param(0.1, unit="m/s", help="drive speed", source="assumption: test")
    frac: float = P.param(0.5, unit="1", help="a fraction", source="assumption: test")
    span: tuple = P.param((1.0, 2.0), unit="m", help="a range", source="assumption: test")
    table: dict = P.param(unit="-", help="a table", source="assumption: test", factory=dict)


def test_param_carries_unit_help_source_and_needs_them():
    meta = {f.name: f.metadata for f in fields(Demo)}
    assert meta["speed_m_s"]["unit"] == "m/s" and meta["speed_m_s"]["source"] == "assumption: test"
    assert Demo().table == {} and Demo().table is not Demo().table
    assert P.unit_of(Demo(), "speed_m_s") == "m/s" and P.unit_of(Demo(), "nothing") == ""
    with pytest.raises(TypeError):
        P.param(1.0, unit="m", help="no source")


def test_positive_and_non_negative():
    P.check_positive(Demo(speed_m_s=1e-300), "speed_m_s")
    P.check_non_negative(Demo(speed_m_s=0.0), "speed_m_s")
    for bad in (0.0, -1.0, math.inf, math.nan, True, "1"):
        with pytest.raises(ConfigError, match=r"Demo\.speed_m_s"):
            P.check_positive(Demo(speed_m_s=bad), "speed_m_s")
    with pytest.raises(ConfigError, match=r"m/s"):
        P.check_non_negative(Demo(speed_m_s=-1e-12), "speed_m_s")


@pytest.mark.parametrize("value, lo_open, hi_open, ok", [
    (0.0, False, False, True), (1.0, False, False, True), (0.0, True, False, False), (1.0, False, True, False),
    (0.5, True, True, True), (-1e-12, False, False, False), (1 + 1e-12, False, False, False),
])
def test_range_bounds_open_and_closed(value, lo_open, hi_open, ok):
    d = Demo(frac=value)
    if ok:
        P.check_range(d, "frac", 0.0, 1.0, lo_open=lo_open, hi_open=hi_open)
    else:
        with pytest.raises(ConfigError, match=r"Demo\.frac must be in [\[(]0, 1[\])]"):
            P.check_range(d, "frac", 0.0, 1.0, lo_open=lo_open, hi_open=hi_open)


def test_pair_and_rng():
    P.check_pair(Demo(), "span", increasing=True, positive=True)
    for bad, kw in (((2.0, 1.0), {"increasing": True}), ((0.0, 1.0), {"positive": True}),
                    ((1.0,), {}), ([1.0, 2.0], {}), ((1.0, math.nan), {}), ((True, 2.0), {})):
        with pytest.raises(ConfigError, match=r"Demo\.span"):
            P.check_pair(Demo(span=bad), "span", **kw)
    g = np.random.default_rng(1)
    assert P.check_rng(g) is g
    with pytest.raises(InputError, match="seed_rng must be a numpy.random.Generator"):
        P.check_rng(1, "seed_rng")
