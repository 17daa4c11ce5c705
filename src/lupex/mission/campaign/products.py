"""The campaign's data products: the maps (NetCDF, GeoTIFF), paths (GeoJSON), timeline, legs, drills and scores.

Every file is written atomically (:mod:`lupex.io`); the same seed gives byte-identical products (timings go to
the log, never into a product).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from pyproj import Transformer

from lupex.io import write_dataframe, write_json, write_netcdf
from lupex.mission import feasibility as F
from lupex.mission.campaign.results import CampaignResult
from lupex.mission.campaign.screen import crs_of
from lupex.terrain.geo import LUNAR_LONLAT_CRS, dem_crs, geojson_crs_member, lunar_geographic_crs
from lupex.terrain.io import write_geotiff

log = logging.getLogger("lupex.campaign")

__all__ = ["maps_dataset", "paths_geojson", "timeline_table", "write_campaign"]


def maps_dataset(result: CampaignResult) -> xr.Dataset:
    """Both plans' fused maps (prefixed ``strategy_``/``lawnmower_``) and the truth (``truth_``) on one grid."""
    keep = ("weh_mean", "weh_sd", "weh_median", "weh_lower", "weh_upper", "ice_depth_mean", "ice_depth_sd",
            "ice_depth_lower", "ice_depth_upper", "p_ice_within_drill", "alis_mean", "alis_sd")
    vars_ = {}
    for name, pl in result.plans.items():
        for k in keep:
            if k in pl.maps:
                da = pl.maps[k]
                attrs = {("gp_transform" if a == "transform" else a): (v if isinstance(v, (int, float, str)) else str(v))
                         for a, v in da.attrs.items()}   # 'transform' would read as an affine to rioxarray
                vars_[f"{name}_{k}"] = xr.DataArray(np.asarray(da.values, float), dims=("y", "x"), attrs=attrs)
    for k in ("weh_wt_pct", "ice_depth_m", "water_kg", "core_weh_wt_pct"):
        vars_[f"truth_{k}"] = xr.DataArray(np.asarray(result.truth[k].values, float), dims=("y", "x"))
    ds = xr.Dataset(vars_, coords={"y": result.truth["y"].values, "x": result.truth["x"].values},
                    attrs={"title": "lupex campaign maps", "seed": result.seed, "start_utc": result.start_utc,
                           "units_weh": "wt%", "units_ice_depth": "m",
                           "params_json": json.dumps(dataclasses.asdict(result.params))})
    crs = crs_of(result.truth)
    if crs is not None:
        ds = ds.rio.write_crs(crs)
    return ds


def paths_geojson(result: CampaignResult, dem=None) -> dict:
    """Both survey paths (LineStrings, lon/lat when the CRS allows, with x/y metres and arrival times) and drill sites."""
    feats = []
    ref = dem if dem is not None else result.truth
    lonlat = _lonlat(np.zeros((1, 2)), ref) is not None
    for name, pl in result.plans.items():
        xy = np.asarray(pl.path_xy, float)
        coords = _lonlat(xy, ref) if lonlat else xy.tolist()
        n_wp = len(xy)       # goals: every path vertex (the centre first), then the drill sites
        times = list(pl.goal_times[:n_wp]) if pl.goal_times else []
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                      "properties": {"plan": name, "kind": "survey path", "length_m": pl.survey_m,
                                     "xy_m": xy.round(3).tolist(),
                                     "vertex_arrival_utc": times if times else None}})
        dt = list(pl.goal_times[n_wp:]) if pl.goal_times else []
        for i, s in enumerate(np.asarray(pl.drill_xy, float).reshape(-1, 2)):
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": (_lonlat(s[None], ref) if lonlat else s[None].tolist())[0]},
                          "properties": {"plan": name, "kind": "drill site", "order": i + 1, "x_m": float(s[0]),
                                         "y_m": float(s[1]), "arrival_utc": dt[i] if i < len(dt) and dt[i] else None}})
    out = {"type": "FeatureCollection", "name": "lupex_campaign_paths", "features": feats}
    if lonlat:  # lon/lat on the Moon, named so a GIS does not take them for WGS 84 (see terrain.geo)
        out["crs"] = geojson_crs_member(_lonlat_crs_name(ref))
    return out


def _lonlat_crs_name(ref) -> str:
    """The authority name of the lunar geographic CRS of ``ref``'s projection (IAU 2015 when it has none)."""
    auth = lunar_geographic_crs(dem_crs(ref)).to_authority()
    return ":".join(auth) if auth else LUNAR_LONLAT_CRS


def _lonlat(xy, ref):
    """[[lon, lat], ...] on the Moon of ``xy`` metres in ``ref``'s CRS, or None when ``ref`` has no usable CRS."""
    try:
        crs = dem_crs(ref)
        tr = Transformer.from_crs(crs, lunar_geographic_crs(crs), always_xy=True)
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return [[float(a), float(b)] for a, b in zip(lon, lat)]
    except Exception:  # no CRS: the caller writes projected metres
        return None


def timeline_table(result: CampaignResult) -> pd.DataFrame:
    """Both plans' timeline activities in one table (column ``plan``); empty when neither has a timeline."""
    parts = []
    for name, pl in result.plans.items():
        if pl.timeline is not None:
            parts.append(pl.timeline.activities.assign(plan=name))
    if not parts:
        return pd.DataFrame({"plan": pd.Series(dtype=str), "mode": pd.Series(dtype=str)})
    return pd.concat(parts, ignore_index=True)


def write_campaign(result: CampaignResult, outdir, dem=None) -> list[Path]:
    """Write every campaign product into ``outdir``, each file atomically; returns the paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ds = maps_dataset(result)
    paths = [write_netcdf(out / "campaign_maps.nc", ds)]
    if crs_of(ds) is not None:
        for k in ("weh_mean", "weh_sd"):
            da = xr.DataArray(ds[f"strategy_{k}"].values, dims=("y", "x"), coords={"y": ds["y"].values, "x": ds["x"].values},
                              name=f"campaign_{k}", attrs={"units": "wt%", "long_name": f"adaptive-plan WEH {k[4:]}"})
            da = da.rio.write_crs(crs_of(ds))
            paths.append(write_geotiff(da, out / f"campaign_{k}.tif"))
    paths.append(write_json(out / "campaign_paths.geojson", paths_geojson(result, dem)))
    paths.append(write_dataframe(out / "campaign_timeline.parquet", timeline_table(result)))
    legs = pd.concat([pl.legs.assign(plan=n) for n, pl in result.plans.items() if len(pl.legs)], ignore_index=True)
    paths.append(write_dataframe(out / "campaign_legs.parquet", legs))
    drills = [pl.drill_sites.assign(plan=n) for n, pl in result.plans.items() if len(pl.drill_sites)]
    if drills:
        paths.append(write_dataframe(out / "campaign_drills.parquet", pd.concat(drills, ignore_index=True)))
    paths.append(write_dataframe(out / "campaign_scores.parquet", result.scores))
    paths.append(write_json(out / "campaign_scores.json", _jsonable(dict(
        seed=result.seed, start_xy_m=list(result.start_xy), start_utc=result.start_utc, area_m=list(result.area),
        budget_wh=result.budget_wh, params=dataclasses.asdict(result.params),
        scores=result.scores.to_dict(orient="records"),
        schedule_errors={n: pl.schedule_error for n, pl in result.plans.items()},
        feasibility={n: f.to_dict() for n, f in result.feasibility.items()}))))
    if result.feasibility:
        paths.append(write_json(out / "campaign_feasibility.json", _jsonable(dict(
            line=F.feasibility_line(result.feasibility),
            plans={n: f.to_dict() for n, f in result.feasibility.items()}))))
    # timings go to the log, not into a product: the same seed gives byte-identical products
    log.info("campaign timings (s): %s", ", ".join(f"{k} {v:.1f}" for k, v in result.timings_s.items()))
    return paths


def _jsonable(o):
    """``o`` with numpy scalars as Python ones and non-finite floats as None (strict JSON)."""
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.bool_, bool)):
        return bool(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return float(o) if np.isfinite(o) else None
    return o
