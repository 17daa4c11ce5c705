"""lupex.mission.campaign.plans: the pure helpers (path length, round names, nearest-first drill order) by hand,
and a stage's checkpoint: computed once, read back, refused for another campaign or another version."""

import numpy as np
import pytest

from lupex.errors import LupexError
from lupex.mission.campaign import plans as PL
from lupex.mission.checkpoint import Checkpoints


def test_path_length_by_hand():
    assert PL.path_length_m([[0, 0], [3, 4], [3, 10]]) == pytest.approx(11.0)     # 5 + 6
    assert PL.path_length_m([[1, 2]]) == 0.0
    assert PL.path_length_m(np.zeros((0, 2))) == 0.0
    assert PL.path_length_m([0.0, 0.0, 0.0, 2.0]) == pytest.approx(2.0)          # flat input: (x, y) pairs


def test_round_names_sort_in_round_order():
    names = [PL.round_name(k) for k in (0, 9, 10, 123)]
    assert names[0] == "campaign-strategy-round-000" and names == sorted(names)


def test_drill_sites_are_visited_nearest_first():
    spots = [[100.0, 0.0], [10.0, 0.0], [50.0, 0.0], [12.0, 30.0]]
    order = PL._nearest_order(spots, (0.0, 0.0))
    # from the origin: (10,0) at 10 m; then (12,30) at 30.1 m beats (50,0) at 40 m; then (50,0), (100,0)
    np.testing.assert_array_equal(order, [[10, 0], [12, 30], [50, 0], [100, 0]])
    assert PL._nearest_order([], (0, 0)).shape == (0, 2)


def test_a_stage_is_computed_once_then_read_back(tmp_path):
    ck = Checkpoints(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"value": np.arange(3)}

    first = PL.stage(ck, "campaign-test", "fp1", compute)
    again = PL.stage(Checkpoints(tmp_path), "campaign-test", "fp1", compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(again["value"], first["value"])
    assert isinstance(ck.load("campaign-test"), PL.Checkpointed) and ck.load("campaign-test").fingerprint == "fp1"


def test_a_stage_of_another_campaign_or_version_is_refused(tmp_path):
    ck = Checkpoints(tmp_path)
    PL.stage(ck, "campaign-test", "fp1", lambda: 1)
    with pytest.raises(LupexError, match="belongs to another campaign"):
        PL.stage(ck, "campaign-test", "fp2", lambda: 1)
    ck.save("campaign-old", {"not": "checkpointed"})
    with pytest.raises(LupexError, match="another lupex version"):
        PL.stage(ck, "campaign-old", "fp1", lambda: 1)
