"""lupex.config.checks: the time-span check refuses just past each bound and names the key to fix; the workers
bound is 4 per core."""

import os

import numpy as np
import pytest

from lupex.config import checks
from lupex.errors import ConfigError, InputError


def test_a_plain_span_passes():
    checks.check_span("2027-01-01T00:00:00", 365.0, 1.0)
    checks.check_span("2027-01-01", 0.0, None)          # a single time: days = 0, no step


@pytest.mark.parametrize("start", ["tomorrow", "01/01/2027", "", "2027-13-40T00:00:00"])
def test_a_start_that_is_not_iso_8601_names_the_start_key(start):
    with pytest.raises(ConfigError, match=r"^--start .* is not a UTC ISO 8601 time"):
        checks.check_span(start, 10.0, 1.0)


@pytest.mark.parametrize("days,step,key", [(0.0, 1.0, "--days"), (-1.0, 1.0, "--days"), (float("nan"), 1.0, "--days"),
                                           (10.0, 0.0, "--step-hours"), (10.0, float("inf"), "--step-hours")])
def test_non_positive_or_non_finite_days_and_steps_name_their_key(days, step, key):
    with pytest.raises(ConfigError, match=f"^{key} must be a positive, finite number"):
        checks.check_span("2027-01-01T00:00:00", days, step)


def test_the_step_bounds_are_one_second_and_one_step_of_span():
    # one second exactly is a whole-second grid; just under it is refused
    checks.check_span("2027-01-01T00:00:00", 0.01, 1.0 / 3600.0)
    with pytest.raises(ConfigError, match="under one second"):
        checks.check_span("2027-01-01T00:00:00", 0.01, 0.999 / 3600.0)
    # a span of exactly one step is fine; a hair shorter is refused, naming both keys
    checks.check_span("2027-01-01T00:00:00", 0.25, 6.0)
    with pytest.raises(ConfigError, match=r"--days 0.249 is shorter than one step of 6 h \(--step-hours\)"):
        checks.check_span("2027-01-01T00:00:00", 0.249, 6.0)


def test_the_step_count_bound_is_max_time_steps():
    step_h = 0.01
    days_at_max = checks.MAX_TIME_STEPS * step_h / 24.0        # exactly MAX_TIME_STEPS steps
    checks.check_span("2027-01-01T00:00:00", days_at_max, step_h)
    with pytest.raises(ConfigError, match="more than 1,000,000"):
        checks.check_span("2027-01-01T00:00:00", days_at_max * 1.001, step_h)


def test_the_span_must_lie_inside_the_kernels_coverage():
    with pytest.raises(ConfigError, match=r"^--start 1800-01-01T00:00:00 is outside the SPICE kernels' coverage"):
        checks.check_span("1800-01-01T00:00:00", 1.0, 1.0)
    # the start is inside but the end is not: the message names both keys
    with pytest.raises(ConfigError, match=r"the span 2050-06-01T00:00:00 \+ 400 days \(set by --start and --days\)"):
        checks.check_span("2050-06-01T00:00:00", 400.0, 24.0)
    checks.check_span("2050-06-01T00:00:00", 200.0, 24.0)  # ends 2050-12-18, inside


def test_the_key_names_and_the_error_class_are_the_callers():
    with pytest.raises(InputError, match="^landing.epoch 'soon'"):
        checks.check_span("soon", 0.0, None, start_key="landing.epoch", error=InputError)
    with pytest.raises(InputError, match="^time.days must"):
        checks.check_span("2027-01-01", -2.0, 1.0, days_key="time.days", error=InputError)


def test_max_workers_is_four_per_core():
    assert checks.max_workers() == 4 * (os.cpu_count() or 1)


def test_the_point_parsers_are_re_exported_not_copied():
    from lupex import parsing
    assert checks.parse_points is parsing.parse_points
    assert checks.parse_lat_lon is parsing.parse_lat_lon
    assert checks.frame_altitudes is parsing.frame_altitudes
    np.testing.assert_allclose(checks.frame_altitudes("8000, 4000"), [8000.0, 4000.0])
