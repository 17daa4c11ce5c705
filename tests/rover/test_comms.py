"""Communication: Friis loss vs the handbook formula, link budget by hand, window edges."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lupex.errors import InputError
from lupex.rover import comms
from lupex.rover.vehicle import RoverParams

P = RoverParams()


def test_free_space_loss_handbook_values():
    # handbook form: L = 32.45 + 20 log10(f / MHz) + 20 log10(d / km)  (e.g. ITU-R P.525)
    assert comms.free_space_loss_db(1e3, 1e9) == pytest.approx(92.45, abs=0.01)
    want = 32.45 + 20 * math.log10(8450.0) + 20 * math.log10(384_400.0)
    assert comms.free_space_loss_db(384_400e3, 8.45e9) == pytest.approx(want, abs=0.01)
    assert want == pytest.approx(222.68, abs=0.01)


@settings(max_examples=30, deadline=None)
@given(st.floats(1e6, 1e9), st.floats(1.0, 10.0))
def test_loss_inverse_square(d, k):
    assert comms.free_space_loss_db(d * k, 8.4e9) - comms.free_space_loss_db(d, 8.4e9) == pytest.approx(20 * math.log10(k), abs=1e-9)


def test_link_budget_by_hand_at_lunar_distance():
    # EIRP 10 dBW + 15 dBi - 1 dB = 24 dBW; -222.68 path; -3 misc; +53 dB/K; +228.60 (Boltzmann)
    cn0 = 24.0 - 222.68 - 3.0 + 53.0 + 228.60
    assert comms.cn0_dbhz(384_400e3, P) == pytest.approx(cn0, abs=0.01)
    rate = 10 ** ((cn0 - 2.5 - 3.0) / 10)
    assert comms.max_data_rate_bps(384_400e3, P, capped=False) == pytest.approx(rate, rel=0.005)
    assert rate == pytest.approx(27.7e6, rel=0.01)
    assert comms.max_data_rate_bps(384_400e3, P) == 2.0e6  # radio cap binds
    # with a weaker link the budget binds instead: 1 W on a 0 dBi antenna -> 25 dB less
    weak = dataclasses.replace(P, comms=dataclasses.replace(P.comms, tx_power_w=1.0, tx_antenna_gain_dbi=0.0))
    assert comms.max_data_rate_bps(384_400e3, weak) == pytest.approx(rate / 10**2.5, rel=0.005)


def _p(**kw):
    return dataclasses.replace(P, comms=dataclasses.replace(P.comms, **kw))


T = np.arange(20) * 3600.0
EF = np.array([0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1.0])


def test_windows_edges_and_volume():
    w = comms.windows(T, EF, _p(min_window_s=0.0))
    assert [(x.start, x.end) for x in w] == [(7200.0, 18000.0), (21600.0, 28800.0), (39600.0, 43200.0), (57600.0, 68400.0)]
    assert [x.truncated for x in w] == [False, False, False, True]
    assert w[0].volume_bits == pytest.approx(2e6 * 3 * 3600)


def test_windows_merge_then_min_duration():
    w = comms.windows(T, EF, _p(min_window_s=3 * 3600.0, merge_gap_s=3600.0))
    # the 1 h gap at 18000-21600 s is bridged: one 6 h window with 5 h visible; the lone hour is dropped
    assert [(x.start, x.end) for x in w] == [(7200.0, 28800.0), (57600.0, 68400.0)]
    assert w[0].visible_s == 5 * 3600.0 and w[0].duration_s == 6 * 3600.0
    assert w[0].volume_bits == pytest.approx(2e6 * 5 * 3600)


def test_threshold_and_elevation_mask():
    ef = np.array([0.2, 0.5, 0.6, 0.4, 0.9, 0.9])
    el = np.array([1, 1, 1, 1, 1, -1.0])
    t = np.arange(6) * 1800.0
    w = comms.windows(t, ef, _p(min_window_s=0.0))
    assert [(x.start, x.end) for x in w] == [(1800.0, 5400.0), (7200.0, 9000.0)]
    w = comms.windows(t, ef, _p(min_window_s=0.0, min_elevation_deg=0.0), earth_el_deg=el)
    assert [(x.start, x.end, x.truncated) for x in w] == [(1800.0, 5400.0, False), (7200.0, 9000.0, False)]


def test_datetime_times_and_bad_input():
    t = np.datetime64("2027-01-01T00:00:00") + np.arange(20) * np.timedelta64(1, "h")
    w = comms.windows(t, EF, P)
    assert w[0].start == np.datetime64("2027-01-01T02:00:00") and w[0].duration_s == 3 * 3600
    with pytest.raises(InputError, match="earth_fraction"):
        comms.windows(T, EF[:-1], P)
    with pytest.raises(InputError, match="0..1"):
        comms.windows(T, EF * 2, P)
