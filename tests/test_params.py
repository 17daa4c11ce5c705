"""lupex.params: the one way to declare and check parameters, and the naming rule it comes with."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import pytest

from lupex.config import Config, load
from lupex.errors import ConfigError
from lupex.params import check_non_negative, check_positive, check_range, param
from lupex.subsurface.ground_truth import SubsurfaceParams


@dataclass(frozen=True)
class _ModelParams:
    length_m: float = param(1.0, "m", "a length", "assumption: a test value")

    def __post_init__(self):
        check_positive(self, "length_m")


@dataclass(frozen=True)
class _TableParams:
    TABLE: ClassVar[str] = "demo"
    count: int = param(1, "-", "a count", "assumption: a test value")
    frac: float = param(0.5, "fraction 0-1", "a fraction", "assumption: a test value")

    def __post_init__(self):
        check_non_negative(self, "count", hint="0 skips the demo")
        check_range(self, "frac", 0.0, 1.0, hi_open=True)


def test_messages_name_the_class_field_or_the_config_key_with_unit_value_and_hint():
    with pytest.raises(ConfigError, match=r"^_ModelParams\.length_m must be positive \(m\), got -2\.0$"):
        _ModelParams(-2.0)
    with pytest.raises(ConfigError, match=r"^demo\.count must be >= 0 \(-\), got -1; 0 skips the demo$"):
        _TableParams(count=-1)
    with pytest.raises(ConfigError, match=r"^demo\.frac must be in \[0, 1\) \(fraction 0-1\), got 1\.0$"):
        _TableParams(frac=1.0)
    with pytest.raises(ConfigError, match="finite number"):
        _TableParams(frac=float("nan"))


def test_param_needs_unit_meaning_and_source():
    with pytest.raises(TypeError, match="unit, help and source"):
        param(1.0, "m", "a length")


def _tables(obj, seen):
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        items = v if isinstance(v, tuple) and v and all(dataclasses.is_dataclass(i) for i in v) else (v,)
        for i in items:
            if dataclasses.is_dataclass(i) and not isinstance(i, type):
                seen.add(type(i))
                _tables(i, seen)
    return seen


def test_every_config_table_is_a_params_dataclass_of_param_fields():
    """One way to declare parameters: every table under Config is a frozen ``*Params`` dataclass whose fields
    all carry unit, help and source (lupex.params.param)."""
    tables = _tables(Config(), set())
    assert len(tables) > 30
    for cls in tables:
        assert cls.__name__.endswith("Params"), cls
        assert cls.__dataclass_params__.frozen, cls
        for f in dataclasses.fields(cls):
            assert {"unit", "help", "source"} <= set(f.metadata), (cls.__name__, f.name)


def test_the_subsurface_table_is_the_ground_truth_model_s_own_params():
    assert type(Config().subsurface) is SubsurfaceParams
    with pytest.raises(ConfigError, match="subsurface.*ice_free_frac"):
        load(overrides=["subsurface.ice_free_frac=1.5"])
