"""lupex.mission.campaign.products on a hand-made two-plan result near the south pole: the maps dataset (prefixed
variables, attributes, CRS, settings) and its NetCDF round trip, the paths GeoJSON (lon/lat on the Moon, checked
against the polar stereographic formula and by the inverse transform), the timeline table, and the files
write_campaign writes (strict JSON)."""

import dataclasses
import json
import math
import types

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from pyproj import CRS, Transformer

from lupex.io import write_netcdf
from lupex.mission.campaign import products as PR
from lupex.mission.campaign.params import CampaignParams
from lupex.mission.campaign.results import CampaignPlan, CampaignResult
from lupex.terrain.geo import DEFAULT_CRS

R_MOON_M = 1_737_400.0          # the IAU 2015 lunar sphere of IAU_2015:30135
X = np.array([5000.0, 5010.0, 5020.0])
Y = np.array([10.0, 0.0])


def _da(v, **attrs):
    return xr.DataArray(np.asarray(v, float), coords={"y": Y, "x": X}, dims=("y", "x"), attrs=attrs)


def _plan(name, k, timeline=None):
    maps = xr.Dataset({"weh_mean": _da(np.full((2, 3), k), transform="LogShift(c=0.1)", length_m=30.0),
                       "weh_sd": _da(np.full((2, 3), 0.5 * k)), "scratch": _da(np.zeros((2, 3)))})
    return CampaignPlan(name=name, path_xy=np.array([[5000.0, 0.0], [5020.0, 10.0]]),
                        legs=pd.DataFrame({"length_m": [22.4]}), observations={}, maps=maps,
                        drill_xy=np.array([[5010.0, 10.0]]), drilling=pd.DataFrame(),
                        drill_sites=pd.DataFrame({"site": [1], "measured_water_wt_pct": [1.0 * k]}),
                        survey_energy_wh=10.0, survey_m=22.36, drill_tour_m=10.0, drill_tour_wh=1.0,
                        drill_energy_wh=2.0, timeline=timeline,
                        goal_times=("2027-01-02T00:00:00", "2027-01-02T01:00:00", "2027-01-02T03:00:00"))


def _result(timeline=None):
    truth = xr.Dataset({k: _da(np.arange(6.0).reshape(2, 3) + i)
                        for i, k in enumerate(("weh_wt_pct", "ice_depth_m", "water_kg", "core_weh_wt_pct"))})
    truth = truth.rio.write_crs(DEFAULT_CRS)
    plans = {"strategy": _plan("strategy", 2.0, timeline), "lawnmower": _plan("lawnmower", 1.0)}
    return CampaignResult(params=CampaignParams(rounds=7), seed=4, start_xy=(5000.0, 0.0),
                          start_utc="2027-01-02T00:00:00", area=(5000.0, 5020.0, 0.0, 10.0), truth=truth, plans=plans,
                          scores=pd.DataFrame({"plan": ["strategy", "lawnmower"], "weh_rmse_wt_pct": [0.5, np.nan]}),
                          budget_wh=100.0)


def test_maps_dataset_holds_both_plans_and_the_truth_and_round_trips_through_netcdf(tmp_path):
    res = _result()
    ds = PR.maps_dataset(res)
    assert set(ds.data_vars) == {"strategy_weh_mean", "strategy_weh_sd", "lawnmower_weh_mean", "lawnmower_weh_sd",
                                 "truth_weh_wt_pct", "truth_ice_depth_m", "truth_water_kg", "truth_core_weh_wt_pct"}
    np.testing.assert_array_equal(ds["lawnmower_weh_sd"].values, np.full((2, 3), 0.5))
    np.testing.assert_array_equal(ds["truth_water_kg"].values, res.truth["water_kg"].values)
    a = ds["strategy_weh_mean"].attrs
    assert a["gp_transform"] == "LogShift(c=0.1)" and "transform" not in a and a["length_m"] == 30.0
    assert ds.rio.crs == res.truth.rio.crs and ds.rio.crs.to_epsg() is None    # the truth's lunar CRS, not an EPSG one
    assert CampaignParams(**json.loads(ds.attrs["params_json"])) == res.params
    assert (ds.attrs["seed"], ds.attrs["start_utc"]) == (4, "2027-01-02T00:00:00")
    with xr.open_dataset(write_netcdf(tmp_path / "m.nc", ds), decode_coords="all") as back:
        for k in ds.data_vars:
            np.testing.assert_array_equal(back[k].values, ds[k].values)
        assert back.rio.crs == ds.rio.crs


def test_paths_geojson_is_lon_lat_on_the_moon():
    res = _result()
    gj = PR.paths_geojson(res)
    assert gj["type"] == "FeatureCollection" and "IAU" in json.dumps(gj["crs"])
    lines = [f for f in gj["features"] if f["geometry"]["type"] == "LineString"]
    drills = [f for f in gj["features"] if f["properties"]["kind"] == "drill site"]
    assert [f["properties"]["plan"] for f in lines] == ["strategy", "lawnmower"] and len(drills) == 2
    line = lines[0]
    lonlat = np.array(line["geometry"]["coordinates"])
    xy = res.plans["strategy"].path_xy
    # polar stereographic (k0 = 1 at the pole) on the 1737.4 km sphere: colatitude = 2 atan(rho / 2R)
    colat = np.degrees(2 * np.arctan(np.hypot(xy[:, 0], xy[:, 1]) / (2 * R_MOON_M)))
    np.testing.assert_allclose(lonlat[:, 1], -90.0 + colat, atol=1e-9)
    crs = CRS.from_user_input(DEFAULT_CRS)
    back = np.column_stack(Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True).transform(*lonlat.T))
    np.testing.assert_allclose(back, xy, atol=1e-6)      # micrometres: the transform's round trip, not a model
    assert line["properties"]["xy_m"] == xy.tolist()
    assert line["properties"]["vertex_arrival_utc"] == ["2027-01-02T00:00:00", "2027-01-02T01:00:00"]
    assert drills[0]["properties"]["arrival_utc"] == "2027-01-02T03:00:00"
    assert (drills[0]["properties"]["x_m"], drills[0]["properties"]["y_m"]) == (5010.0, 10.0)
    assert math.isclose(drills[0]["geometry"]["coordinates"][1], -90.0 + math.degrees(
        2 * math.atan(math.hypot(5010.0, 10.0) / (2 * R_MOON_M))), abs_tol=1e-9)


def test_timeline_table_stacks_the_plans_that_have_one():
    empty = PR.timeline_table(_result())
    assert len(empty) == 0 and list(empty.columns) == ["plan", "mode"]
    acts = pd.DataFrame({"mode": ["drive", "science"], "energy_wh": [1.0, 2.0]})
    t = PR.timeline_table(_result(timeline=types.SimpleNamespace(activities=acts)))
    assert list(t["plan"]) == ["strategy", "strategy"] and list(t["mode"]) == ["drive", "science"]


def test_write_campaign_writes_every_product_as_strict_json_and_parquet(tmp_path):
    res = _result()
    paths = PR.write_campaign(res, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(["campaign_maps.nc", "campaign_weh_mean.tif", "campaign_weh_sd.tif",
                            "campaign_paths.geojson", "campaign_timeline.parquet", "campaign_legs.parquet",
                            "campaign_drills.parquet", "campaign_scores.parquet", "campaign_scores.json"])
    doc = json.loads((tmp_path / "campaign_scores.json").read_text(), parse_constant=pytest.fail)
    assert doc["scores"][1]["weh_rmse_wt_pct"] is None                 # NaN as null: strict JSON
    assert doc["params"] == dataclasses.asdict(res.params) and doc["seed"] == 4
    legs = pd.read_parquet(tmp_path / "campaign_legs.parquet")
    assert list(legs["plan"]) == ["strategy", "lawnmower"]
    with rasterio.open(tmp_path / "campaign_weh_mean.tif") as src:
        np.testing.assert_array_equal(src.read(1), np.full((2, 3), 2.0))
