"""lupex.mission.campaign.run: the checkpoint fingerprint is stable for the same inputs and changes with each of
them (settings, seed, start, start time, the truth's values and shape); run_campaign refuses bad input, naming it,
before any stage runs."""

import types

import numpy as np
import pytest
import xarray as xr

import lupex.mission.campaign.run as R
from lupex.errors import ConfigError, InputError
from lupex.mission.campaign.params import CampaignParams

P = CampaignParams()
START = (100.0, -50.0)
UTC = "2027-01-02T00:00:00"


def _gt(values=None):
    v = np.arange(12.0).reshape(3, 4) if values is None else values
    ds = xr.Dataset({"weh_wt_pct": (("y", "x"), v)},
                    coords={"y": np.arange(v.shape[0]) * -10.0, "x": np.arange(v.shape[1]) * 10.0})
    return types.SimpleNamespace(dataset=ds)


def test_the_fingerprint_is_stable_and_16_hex_digits():
    a = R.fingerprint(P, 5, START, UTC, _gt())
    assert a == R.fingerprint(CampaignParams(), 5, (100.0, -50.0), UTC, _gt())    # equal inputs, new objects
    assert len(a) == 16 and int(a, 16) >= 0
    # below the 6-decimal rounding of the start the hash does not move
    assert a == R.fingerprint(P, 5, (100.0 + 1e-9, -50.0), UTC, _gt())


def test_the_fingerprint_changes_with_every_input():
    base = R.fingerprint(P, 5, START, UTC, _gt())
    v = np.arange(12.0).reshape(3, 4)
    v2 = v.copy()
    v2[1, 2] += 1e-6
    others = [R.fingerprint(CampaignParams(rounds=P.rounds + 1), 5, START, UTC, _gt()),
              R.fingerprint(CampaignParams(kernel="se"), 5, START, UTC, _gt()),
              R.fingerprint(P, 6, START, UTC, _gt()),
              R.fingerprint(P, 5, (100.0, -49.0), UTC, _gt()),
              R.fingerprint(P, 5, START, "2027-01-03T00:00:00", _gt()),
              R.fingerprint(P, 5, START, UTC, _gt(v2)),
              R.fingerprint(P, 5, START, UTC, _gt(v.reshape(4, 3))),     # same bytes, another shape
              R.fingerprint(P, 5, START, UTC, _gt(np.where(v == 3.0, np.nan, v)))]
    assert base not in others
    assert len(set(others)) == len(others)


@pytest.mark.parametrize("kw,err,needle", [
    (dict(params={}), ConfigError, "params must be a lupex.mission.campaign.CampaignParams"),
    (dict(seed=-1), InputError, "campaign seed must be a non-negative integer"),
    (dict(seed=True), InputError, "campaign seed must be a non-negative integer"),
    (dict(truth=object()), InputError, "truth must be a lupex.subsurface.ground_truth.GroundTruth"),
    (dict(start_xy="here"), InputError, "start_xy must be an \\(x, y\\) pair"),
    (dict(start_utc="soon"), InputError, "start_utc 'soon' is not a UTC ISO 8601 time"),
])
def test_run_campaign_refuses_bad_input_naming_it(kw, err, needle):
    args = dict(params=P, truth=_gt(), dem=None, light=None, start_xy=START, start_utc=UTC, seed=0) | kw
    with pytest.raises(err, match=needle):
        R.run_campaign(args.pop("params"), args.pop("truth"), args.pop("dem"), args.pop("light"), args.pop("start_xy"),
                       args.pop("start_utc"), seed=args.pop("seed"))
