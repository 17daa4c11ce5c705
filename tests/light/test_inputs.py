"""The light models' input checks and horizon storage: a regular UTC grid and its step, the grids refused,
and a horizon cube in memory below the byte limit, in a temporary file (removed with the array) above it."""

import gc

import numpy as np
import pytest

from lupex.errors import ConfigError
from lupex.light import inputs


def test_regular_times_returns_the_step():
    t = np.datetime64("2027-01-01T00:00") + np.arange(5) * np.timedelta64(90, "m")
    got, step_s = inputs.regular_times(t)
    assert step_s == 5400.0 and got.dtype == np.dtype("datetime64[ns]") and got.size == 5
    got, step_s = inputs.regular_times(["2027-01-01T00:00:00", "2027-01-01T06:00:00"])
    assert step_s == 6 * 3600.0


@pytest.mark.parametrize("times", [
    ["2027-01-01T00:00", "2027-01-01T01:00", "2027-01-01T03:00"],   # irregular
    ["2027-01-01T01:00", "2027-01-01T00:00"],                       # decreasing
    ["2027-01-01T00:00"],                                           # one time
    [],
])
def test_unusable_grids_raise_a_config_error(times):
    with pytest.raises(inputs.TimeGridError) as e:
        inputs.regular_times(np.array(times, dtype="datetime64[m]"))
    assert isinstance(e.value, ConfigError)


def test_horizon_store_in_memory_or_on_disk(tmp_path):
    small = inputs.horizon_store((3, 4), 8, max_bytes=8 * 3 * 4 * 4)
    assert small.shape == (8, 3, 4) and small.dtype == np.float32 and not isinstance(small, np.memmap)
    big = inputs.horizon_store((3, 4), 8, max_bytes=8 * 3 * 4 * 4 - 1, tmpdir=tmp_path)
    assert isinstance(big, np.memmap) and big.shape == (8, 3, 4)
    path = big.filename
    assert str(tmp_path) in str(path) and (tmp_path / path).stat().st_size == 8 * 3 * 4 * 4
    big[:] = 1.5
    assert float(big.sum()) == 1.5 * big.size
    del big
    gc.collect()
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError):
        inputs.horizon_store((0, 4), 8, max_bytes=10)
