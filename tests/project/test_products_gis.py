"""Every product of a run opens in GIS readers with its CRS, type, unit and no-data convention.

The conventions (README "What a run leaves behind"): GeoTIFFs in IAU_2015:30135 with the code in the
``CRS_AUTHORITY`` tag; continuous maps float32 (the DEM float64) with a unit and NaN no-data; masks uint8
0/1 without a unit or no-data; GeoJSON lon/lat on the Moon with a ``crs`` member GDAL reads; NetCDF x/y
in metres with the CRS as a CF grid mapping; "none" is NaN everywhere, never +-inf. Each file is opened
with the reader a user would use (rasterio, pyogrio = GDAL's OGR as QGIS uses it, xarray, pandas), not
with lupex's own readers.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import xarray as xr

pyogrio = pytest.importorskip("pyogrio")

MASKS = {"lander_safe.tif", "rover_safe.tif", "permanent_shadow.tif"}
NOT_GIS = {".png", ".html", ".json", ".toml", ".log"}   # opened as what they are below, no CRS to check
MOON_R_M = 1_737_400.0                                   # IAU 2015 lunar sphere (the CRS's datum)


@pytest.fixture(scope="module")
def run_dir(small_mission):
    return small_mission[0]


def _files(run_dir, suffix):
    return sorted(p for p in run_dir.iterdir() if p.is_file() and p.suffix == suffix)


def _is_site_crs(crs) -> bool:
    """IAU_2015:30135 by its definition: polar stereographic about the south pole, true scale there, on the
    1737.4 km sphere, in metres. GDAL keeps the CRS without its IAU code (WKT1 AUTHORITY["IAU", ...] loses
    the 2015 edition), so the parameters, not the code, are what a reader can check."""
    c = pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "you may lose information" converting to PROJ keys: we want them
        d = c.to_dict()
    return (c.is_projected and d.get("proj") == "stere" and d.get("lat_0") == -90 and d.get("lon_0", 0) == 0
            and d.get("x_0", 0) == 0 and d.get("y_0", 0) == 0 and (d.get("k", 1) == 1 or d.get("lat_ts") == -90)
            and d.get("R") == MOON_R_M and d.get("units") == "m" and "Moon (2015)" in c.to_wkt())


def test_the_site_crs_check_is_not_vacuous():
    assert _is_site_crs(pyproj.CRS("IAU_2015:30135")) and _is_site_crs(rasterio.crs.CRS.from_string("IAU_2015:30135"))
    assert not _is_site_crs(pyproj.CRS("IAU_2015:30130"))          # the north pole's
    assert not _is_site_crs(pyproj.CRS("EPSG:3031"))               # Antarctic polar stereographic, on Earth


def test_every_product_has_a_reader_here(run_dir):
    known = {".tif", ".geojson", ".nc", ".parquet", ".csv"} | NOT_GIS
    other = [p.name for p in run_dir.iterdir() if p.is_file() and p.suffix not in known]
    assert not other, f"products no test below opens: {other}"
    assert len(_files(run_dir, ".tif")) >= 20 and len(_files(run_dir, ".geojson")) >= 3


def test_geotiffs_crs_type_units_nodata(run_dir):
    for p in _files(run_dir, ".tif"):
        with rasterio.open(p) as f:
            tags = f.tags()
            a = f.read(1)
            assert f.crs is not None and _is_site_crs(f.crs), p.name
            assert tags.get("CRS_AUTHORITY") == "IAU_2015:30135", p.name
            if p.name in MASKS:
                assert f.dtypes[0] == "uint8" and f.nodata is None and "units" not in tags, (p.name, tags)
                assert set(np.unique(a)) <= {0, 1}, p.name
            else:
                assert f.dtypes[0] == ("float64" if p.name == "dem.tif" else "float32"), (p.name, f.dtypes)
                assert f.nodata is not None and np.isnan(f.nodata), (p.name, f.nodata)
                assert tags.get("units"), p.name
                assert not np.isinf(a).any(), p.name


def test_geojson_is_lunar_lonlat_that_gdal_reads(run_dir):
    for p in _files(run_dir, ".geojson"):
        info = pyogrio.read_info(p)
        crs = pyproj.CRS.from_wkt(info["crs"]) if info["crs"].startswith(("GEOG", "PROJ")) else pyproj.CRS(info["crs"])
        # not WGS 84 (GDAL's default when the member is missing): the Moon's sphere, geographic degrees
        assert crs.is_geographic and crs.ellipsoid.semi_major_metre == pytest.approx(MOON_R_M), (p.name, info["crs"])
        assert json.loads(p.read_text())["crs"]["properties"]["name"] == "IAU_2015:30100", p.name
        meta, _fids, geom, _fields = pyogrio.raw.read(p)
        assert info["features"] > 0 and len(geom) == info["features"]
        lon0, lat0, lon1, lat1 = info["total_bounds"]
        assert -180 <= lon0 <= lon1 <= 360 and -90 <= lat0 <= lat1 < -85, (p.name, info["total_bounds"])


def test_netcdf_coordinates_units_and_crs(run_dir):
    for p in _files(run_dir, ".nc"):
        with xr.open_dataset(p, decode_coords="all") as ds:
            for c in ("x", "y", "x_m", "y_m"):
                if c in ds.coords:
                    assert ds[c].attrs.get("units") == "m", (p.name, c)
            if {"x", "y"} <= set(ds.dims) or "x_m" in ds.coords or "x" in ds.coords:
                assert ds.rio.crs is not None and _is_site_crs(ds.rio.crs), p.name
                gridded = [v for v in ds.data_vars if {"y", "x"} <= set(ds[v].dims)]
                assert all(ds[v].encoding.get("grid_mapping") == "spatial_ref" for v in gridded), p.name
            for v in ds.data_vars:
                if ds[v].dtype.kind == "f":
                    assert not np.isinf(ds[v].values).any(), (p.name, v)


def test_tables_use_nan_not_inf(run_dir):
    for p in _files(run_dir, ".parquet") + _files(run_dir, ".csv"):
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
        num = df.select_dtypes("number")
        bad = [c for c in num.columns if np.isinf(num[c].to_numpy(float)).any()]
        assert not bad, (p.name, bad)
    # "no ice" is now NaN where it used to be +inf
    gw = pd.read_parquet(run_dir / "survey_gpr_windows.parquet")
    assert gw["true_ice_table_depth_m"].isna().any() or (gw["true_ice_table_depth_m"] > 0).all()


def test_the_rocks_are_stored_once_and_read_back(run_dir):
    from lupex.subsurface.ground_truth import GroundTruth

    assert not (run_dir / "ground_truth_rocks.parquet").exists()
    gt = GroundTruth.from_netcdf(run_dir / "ground_truth.nc")
    assert len(gt.rocks) > 0 and list(gt.rocks.columns) == ["x_m", "y_m", "depth_m", "radius_m"]
    # in memory "no ice" stays +inf (the models test isfinite / compare depths); on disk it is NaN
    assert not np.isnan(gt.dataset["ice_table_depth_m"].values).any()


def test_other_files_open(run_dir):
    for p in _files(run_dir, ".json"):
        json.loads(p.read_text())
    for p in _files(run_dir, ".png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", p.name
