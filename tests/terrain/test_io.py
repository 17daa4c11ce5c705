"""DEM input/output: GeoTIFF round trip, PDS3 LDEM labels, hole filling, errors, atomic writes.

Expected values come from the test's own construction (known arrays, known
labels, analytic surfaces) and from the LOLA DSMAP_POLAR convention
x = (s - SAMPLE_PROJECTION_OFFSET - 1) * MAP_SCALE,
y = (1 - l + LINE_PROJECTION_OFFSET) * MAP_SCALE (1-based l, s).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Transformer
from rasterio.transform import from_origin

from tests import _paths
from lupex.errors import InputError, LupexError
from lupex.terrain import canonical_crs, dem_from_array, filled_mask, read_dem, write_geotiff
from lupex.terrain.geo import dem_crs

SHARED_DATA = _paths.SHARED / "data"


def _dem(nx=40, ny=30, p=20.0, seed=1):
    rng = np.random.default_rng(seed)
    x = (np.arange(nx) - nx / 2 + 0.5) * p + 1000.0
    y = -(np.arange(ny) - ny / 2 + 0.5) * p - 500.0
    z = rng.normal(0, 50, (ny, nx)) + 300.0
    return dem_from_array(z, x, y, source="test")


def _assert_south_polar(da):
    """Independent check of the attached CRS: (0, 1 km) is on meridian 0, (1 km, 0) on 90 E."""
    crs = dem_crs(da)
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform([0.0, 1000.0], [1000.0, 0.0])
    np.testing.assert_allclose(lon, [0.0, 90.0], atol=1e-9)
    # stereographic on the 1737.4 km sphere: rho = 2 R tan((90 - |lat|)/2)
    np.testing.assert_allclose(lat, -90 + np.degrees(2 * np.arctan(1000.0 / (2 * 1737400.0))), atol=1e-9)


def _write_tif(path, arr, transform, crs, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype=arr.dtype.name, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(arr, 1)


# --------------------------------------------------------------------------- GeoTIFF


def test_geotiff_round_trip(tmp_path):
    dem = _dem()
    out = write_geotiff(dem, tmp_path / "dem.tif")
    back = read_dem(out)
    np.testing.assert_array_equal(back.values, dem.values)
    np.testing.assert_array_equal(back.x.values, dem.x.values)
    np.testing.assert_array_equal(back.y.values, dem.y.values)
    assert canonical_crs(dem_crs(back)) == "IAU_2015:30135"
    _assert_south_polar(back)
    assert back.rio.transform() == dem.rio.transform()
    assert back.name == "elevation" and back.dims == ("y", "x") and back.dtype == np.float64
    assert back.attrs["units"] == "m" and back.attrs["n_filled"] == 0 and back.attrs["source"] == str(out)
    with rasterio.open(out) as f:
        assert f.profile["compress"] == "deflate"
        assert f.transform == from_origin(dem.x.values[0] - 10, dem.y.values[0] + 10, 20, 20)


def test_geotiff_reads_south_up_and_canonicalises_crs(tmp_path):
    z = np.arange(12.0).reshape(3, 4)
    # south-up raster (positive y pixel size), CRS written as a bare PROJ string
    tr = rasterio.Affine(10, 0, -20, 0, 10, -15)
    _write_tif(tmp_path / "s.tif", z, tr, "+proj=stere +lat_0=-90 +lon_0=0 +k=1 +R=1737400 +units=m")
    d = read_dem(tmp_path / "s.tif")
    assert list(d.y.values) == [10.0, 0.0, -10.0]
    np.testing.assert_array_equal(d.values, z[::-1])
    assert canonical_crs(dem_crs(d)) == "IAU_2015:30135"


@pytest.mark.parametrize("dtype", ["float32", "uint8", "bool", "int16"])
def test_write_other_dtypes(tmp_path, dtype):
    dem = _dem(8, 6)
    data = (dem.values > 300) if dtype == "bool" else dem.values.astype(dtype)
    da = dem.copy(data=data)
    write_geotiff(da, tmp_path / "m.tif")
    with rasterio.open(tmp_path / "m.tif") as f:
        arr = f.read(1)
        assert f.dtypes[0] == ("uint8" if dtype == "bool" else dtype)
        assert f.crs is not None
    np.testing.assert_array_equal(arr, data.astype(arr.dtype))


def test_product_conventions_maps_float32_masks_uint8_and_the_crs_code(tmp_path):
    dem = _dem(8, 6)
    m = dem.rename("depth_m").copy(data=dem.values.copy())
    m.attrs = {"units": "m", "long_name": "a depth"}
    m.values[0, 0] = np.inf                                          # "none" in memory
    write_geotiff(m, tmp_path / "m.tif")
    mask = (dem > 300).rename("safe")
    mask.attrs = {"units": "deg", "long_name": "slope below the limit"}   # inherited from a slope map
    write_geotiff(mask, tmp_path / "mask.tif")
    write_geotiff(dem, tmp_path / "dem.tif")
    with rasterio.open(tmp_path / "m.tif") as f:
        a = f.read(1)
        assert f.dtypes[0] == "float32" and np.isnan(f.nodata) and f.tags()["units"] == "m"
        assert np.isnan(a[0, 0]) and np.allclose(a[1:], m.values[1:], rtol=1e-7)   # float32 rounding only
        assert f.tags()["CRS_AUTHORITY"] == "IAU_2015:30135" and canonical_crs(f.crs) == "IAU_2015:30135"
    with rasterio.open(tmp_path / "mask.tif") as f:
        assert f.dtypes[0] == "uint8" and f.nodata is None and "units" not in f.tags()
    with rasterio.open(tmp_path / "dem.tif") as f:
        assert f.dtypes[0] == "float64"       # the DEM contract's elevation: later commands reload it


def test_write_nan_becomes_nodata(tmp_path):
    dem = _dem(8, 6)
    z = dem.values.copy()
    z[2, 3] = np.nan
    write_geotiff(dem.copy(data=z), tmp_path / "n.tif")
    back = read_dem(tmp_path / "n.tif", fill_holes=False)
    assert np.isnan(back.values[2, 3]) and np.isfinite(back.values).sum() == z.size - 1


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    dem = _dem(8, 6)
    target = tmp_path / "out.tif"
    target.write_bytes(b"old")
    real_write = Path.write_bytes

    def broken_write(self, data):  # the GeoTIFF is built in memory, then written as bytes
        if self.name.endswith(".tif"):
            real_write(self, data[: len(data) // 2])  # half the temporary file is on disk...
            raise OSError(5, "disk went away")  # ...and the write fails (EIO)
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", broken_write)
    with pytest.raises(OSError):
        write_geotiff(dem, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]
    target.unlink()
    with pytest.raises(OSError):
        write_geotiff(dem, target)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- PDS3


LABEL_INT16 = """PDS_VERSION_ID            = "PDS3"
/* synthetic LOLA-style label written by the test */
RECORD_TYPE               = FIXED_LENGTH
RECORD_BYTES              = {record_bytes}
FILE_RECORDS              = {lines}
^IMAGE                    = "{img}"
PRODUCT_ID                = "LDEM_TEST_20M"
OBJECT                    = IMAGE
  NAME                    = HEIGHT
  DESCRIPTION             = "Each sample represents height relative to a
                             reference radius (OFFSET)."
  LINES                   = {lines}
  LINE_SAMPLES            = {samples}
  MAXIMUM                 = 0
  SAMPLE_TYPE             = LSB_INTEGER
  SAMPLE_BITS             = 16
  UNIT                    = METER
  SCALING_FACTOR          = 0.5
  OFFSET                  = 1737400.
  MISSING_CONSTANT        = -32768
END_OBJECT                = IMAGE
OBJECT                    = IMAGE_MAP_PROJECTION
  ^DATA_SET_MAP_PROJECTION     = "DSMAP_POLAR.CAT"
  MAP_PROJECTION_TYPE          = "POLAR STEREOGRAPHIC"
  A_AXIS_RADIUS                = 1737.4 <KM>
  B_AXIS_RADIUS                = 1737.4 <KM>
  C_AXIS_RADIUS                = 1737.4 <KM>
  FIRST_STANDARD_PARALLEL      = 'N/A'
  POSITIVE_LONGITUDE_DIRECTION = "EAST"
  CENTER_LATITUDE              = -90.0 <DEG>
  CENTER_LONGITUDE             = 0.0 <DEG>
  LINE_FIRST_PIXEL             = 1
  LINE_LAST_PIXEL              = {lines}
  SAMPLE_FIRST_PIXEL           = 1
  SAMPLE_LAST_PIXEL            = {samples}
  MAP_PROJECTION_ROTATION      = 0.0
  MAP_RESOLUTION               = 1516.5 <PIX/DEG>
  MAP_SCALE                    = 20 <METERS/PIXEL>
  MAXIMUM_LATITUDE             = -89.9 <DEG>
  MINIMUM_LATITUDE             = -90.0 <DEG>
  LINE_PROJECTION_OFFSET       = {l0} <PIXEL>
  SAMPLE_PROJECTION_OFFSET     = {s0} <PIXEL>
  COORDINATE_SYSTEM_TYPE       = "BODY-FIXED ROTATING"
  COORDINATE_SYSTEM_NAME       = "MEAN EARTH/POLAR AXIS OF DE421"
END_OBJECT                = IMAGE_MAP_PROJECTION
END
"""


def _int16_product(tmp_path, lines=10, samples=14, l0=4.5, s0=6.5, name="LDEM_TEST_20M"):
    rng = np.random.default_rng(3)
    dn = rng.integers(-4000, 4000, (lines, samples)).astype("<i2")
    (tmp_path / f"{name}.IMG").write_bytes(dn.tobytes())
    (tmp_path / f"{name}.LBL").write_text(LABEL_INT16.format(
        record_bytes=2 * samples, lines=lines, samples=samples, img=f"{name}.IMG", l0=l0, s0=s0))
    return dn


def test_pds3_int16_detached_label(tmp_path):
    dn = _int16_product(tmp_path)
    dn[2, 5] = -32768
    (tmp_path / "LDEM_TEST_20M.IMG").write_bytes(dn.tobytes())
    for p in ("LDEM_TEST_20M.LBL", "LDEM_TEST_20M.IMG"):
        d = read_dem(tmp_path / p, fill_holes=False)
        expected = dn.astype(float) * 0.5  # metres above the 1737.4 km sphere
        expected[2, 5] = np.nan
        np.testing.assert_array_equal(d.values, expected)
        # DSMAP_POLAR: x = (s - S0 - 1) * scale, y = (1 - l + L0) * scale
        np.testing.assert_array_equal(d.x.values, (np.arange(1, 15) - 6.5 - 1) * 20.0)
        np.testing.assert_array_equal(d.y.values, (1 - np.arange(1, 11) + 4.5) * 20.0)
        assert canonical_crs(dem_crs(d)) == "IAU_2015:30135"
        assert d.attrs["n_filled"] == 0
    filled = read_dem(tmp_path / "LDEM_TEST_20M.IMG")
    assert filled.attrs["n_filled"] == 1 and bool(filled_mask(filled).values[2, 5])
    assert filled_mask(filled).values.sum() == 1


def test_pds3_lola_offsets_put_the_pole_at_the_grid_centre(tmp_path):
    # LOLA polar products: N x N with offsets N/2 - 0.5 -> the pole is the image centre
    _int16_product(tmp_path, lines=8, samples=8, l0=3.5, s0=3.5)
    d = read_dem(tmp_path / "LDEM_TEST_20M.LBL")
    assert d.x.values[0] == -70.0 and d.x.values[-1] == 70.0
    assert d.y.values[0] == 70.0 and d.y.values[-1] == -70.0
    # longitude 0 is up (+y), 90 E to the right (+x), as DSMAP_POLAR describes the south
    crs = CRS("IAU_2015:30135")
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform([0.0, 70.0], [70.0, 0.0])
    np.testing.assert_allclose(lon, [0.0, 90.0], atol=1e-9)
    assert lat[0] < -89.99


def test_pds3_pc_real_attached_label_km(tmp_path):
    lines, samples, rb = 6, 5, 512
    rng = np.random.default_rng(4)
    h_km = rng.integers(-4000, 4000, (lines, samples)) / 1024.0  # exact in float32
    label = f"""PDS_VERSION_ID = PDS3
RECORD_TYPE = FIXED_LENGTH
RECORD_BYTES = {rb}
FILE_RECORDS = 4
LABEL_RECORDS = 2
^IMAGE = 3
OBJECT = IMAGE
  LINES = {lines}
  LINE_SAMPLES = {samples}
  SAMPLE_TYPE = PC_REAL
  SAMPLE_BITS = 32
  UNIT = KILOMETER
  SCALING_FACTOR = 1
  OFFSET = 1737.4
END_OBJECT = IMAGE
OBJECT = IMAGE_MAP_PROJECTION
  MAP_PROJECTION_TYPE = "POLAR STEREOGRAPHIC"
  A_AXIS_RADIUS = 1737.4 <KM>
  CENTER_LATITUDE = -90.0 <DEG>
  CENTER_LONGITUDE = 0.0 <DEG>
  MAP_SCALE = 0.005 <KM/PIXEL>
  LINE_PROJECTION_OFFSET = 2.5
  SAMPLE_PROJECTION_OFFSET = 2.0
END_OBJECT = IMAGE_MAP_PROJECTION
END
""".encode()
    assert len(label) <= 2 * rb
    blob = label.ljust(2 * rb, b" ") + h_km.astype("<f4").tobytes()
    (tmp_path / "LDEM_ATT.IMG").write_bytes(blob)
    d = read_dem(tmp_path / "LDEM_ATT.IMG")
    np.testing.assert_array_equal(d.values, h_km * 1000.0)
    np.testing.assert_allclose(d.x.values, (np.arange(1, samples + 1) - 2.0 - 1) * 5.0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(d.y.values, (1 - np.arange(1, lines + 1) + 2.5) * 5.0, rtol=0, atol=1e-9)


def test_pds3_other_sphere_builds_a_polar_stereographic_crs(tmp_path):
    _int16_product(tmp_path)
    lbl = tmp_path / "LDEM_TEST_20M.LBL"
    lbl.write_text(lbl.read_text().replace("A_AXIS_RADIUS                = 1737.4 <KM>",
                                           "A_AXIS_RADIUS                = 1737.15 <KM>")
                   .replace("CENTER_LONGITUDE             = 0.0", "CENTER_LONGITUDE             = 45.0"))
    d = read_dem(lbl)
    crs = CRS.from_user_input(d.rio.crs.to_wkt())
    assert crs.ellipsoid.semi_major_metre == pytest.approx(1737150.0)
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(0.0, 100.0)
    assert lon == pytest.approx(45.0) and lat < -89.9


def test_pds3_errors(tmp_path):
    _int16_product(tmp_path)
    lbl = tmp_path / "LDEM_TEST_20M.LBL"
    text = lbl.read_text()
    lbl.write_text(text.replace('"POLAR STEREOGRAPHIC"', '"EQUIRECTANGULAR"'))
    with pytest.raises(InputError, match="polar stereographic"):
        read_dem(lbl)
    lbl.write_text(text)
    img = tmp_path / "LDEM_TEST_20M.IMG"
    img.write_bytes(img.read_bytes()[:-10])
    with pytest.raises(InputError, match="truncated"):
        read_dem(lbl)
    img.unlink()
    with pytest.raises(InputError, match="not beside it"):
        read_dem(lbl)
    orphan = tmp_path / "ORPHAN.IMG"
    orphan.write_bytes(b"\0" * 64)
    with pytest.raises(InputError, match="no attached PDS3 label"):
        read_dem(orphan)


# --------------------------------------------------------------------------- hole filling


def _grid(n=64, p=20.0):
    x = (np.arange(n) - n / 2 + 0.5) * p
    return x, -x.copy(), np.meshgrid(x, -x)


def test_fill_reproduces_a_plane_and_a_paraboloid_exactly():
    x, y, (xx, yy) = _grid()
    r = np.hypot(xx - 100, yy + 60)
    hole = r < 130  # ~13 px across
    for truth in (0.07 * xx - 0.12 * yy + 500.0, (xx**2 + yy**2) / 4000.0 - 0.03 * xx):
        z = truth.copy()
        z[hole] = np.nan
        d = dem_from_array(z, x, y, source="t")
        from lupex.terrain import fill_nodata

        filled, mask = fill_nodata(z)
        # minimum-curvature fill: Euler-Lagrange is biharmonic, exact for quadratics
        np.testing.assert_allclose(filled[hole], truth[hole], rtol=0, atol=1e-6)
        assert (mask == hole).all()
        del d


def test_fill_smooth_surface_and_edge_hole(tmp_path):
    x, y, (xx, yy) = _grid()
    truth = 200.0 * np.sin(xx / 400.0) * np.cos(yy / 500.0)  # relief 400 m, wavelengths ~2.5-3 km
    z = truth.copy()
    z[20:30, 25:33] = np.nan  # interior hole 160 x 200 m
    z[:6, :7] = np.nan  # corner hole
    write_geotiff(dem_from_array(z, x, y), tmp_path / "h.tif")
    d = read_dem(tmp_path / "h.tif")
    m = filled_mask(d).values
    assert d.attrs["n_filled"] == int(np.isnan(z).sum()) == m.sum()
    err = np.abs(d.values - truth)
    # stated tolerances (relief 400 m): an interior hole 160 x 200 m is interpolated to
    # 0.1 m (0.025%); the corner hole is an extrapolation, held to 12 m (3%)
    assert err[20:30, 25:33].max() < 0.1, err[20:30, 25:33].max()
    assert err[:6, :7].max() < 12.0, err[:6, :7].max()
    assert np.isfinite(d.values).all()


def test_fill_refuses_big_holes_and_all_nan(tmp_path):
    x, y, (xx, yy) = _grid(100)
    z = 0.01 * xx
    big = z.copy()
    big[10:80, 10:80] = np.nan  # 70 x 70 block: centre 35 px from data
    write_geotiff(dem_from_array(big, x, y), tmp_path / "big.tif")
    with pytest.raises(InputError, match="max_hole_radius_px"):
        read_dem(tmp_path / "big.tif")
    assert read_dem(tmp_path / "big.tif", max_hole_radius_px=40).attrs["n_filled"] == 70 * 70
    nan = np.full_like(z, np.nan)
    write_geotiff(dem_from_array(nan, x, y), tmp_path / "nan.tif")
    with pytest.raises(InputError, match="no valid elevation"):
        read_dem(tmp_path / "nan.tif")
    rng = np.random.default_rng(0)
    sparse_ = z.copy()
    sparse_[rng.random(z.shape) < 0.6] = np.nan
    write_geotiff(dem_from_array(sparse_, x, y), tmp_path / "sparse.tif")
    with pytest.raises(InputError, match="max_nodata_frac"):
        read_dem(tmp_path / "sparse.tif")


# --------------------------------------------------------------------------- errors


def test_input_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_dem(tmp_path / "nope.tif")
    bad = tmp_path / "bad.tif"
    bad.write_bytes(os.urandom(2000))
    with pytest.raises(InputError, match="corrupt"):
        read_dem(bad)
    z = np.ones((5, 6), "float32")
    _write_tif(tmp_path / "geo.tif", z, from_origin(0, -85, 0.1, 0.1), "IAU_2015:30100")
    with pytest.raises(InputError, match="degenerate") as e:
        read_dem(tmp_path / "geo.tif")
    assert "gdalwarp" in str(e.value) and "IAU_2015:30135" in str(e.value)
    _write_tif(tmp_path / "rect.tif", z, rasterio.Affine(20, 0, 0, 0, -30, 0), "IAU_2015:30135")
    with pytest.raises(InputError, match="non-square"):
        read_dem(tmp_path / "rect.tif")
    _write_tif(tmp_path / "nocrs.tif", z, from_origin(0, 0, 20, 20), None)
    with pytest.raises(InputError, match="no CRS"):
        read_dem(tmp_path / "nocrs.tif")
    assert issubclass(InputError, LupexError)


# --------------------------------------------------------------------------- real LOLA data


def _real_files():
    if not SHARED_DATA.is_dir():
        return []
    out = []
    for pat in ("**/LDEM_*.LBL", "**/ldem_*.lbl", "**/*.tif"):
        out += sorted(SHARED_DATA.glob(pat))
    return out


@pytest.mark.skipif(not _real_files(), reason=f"no real LOLA product under {SHARED_DATA} (see its README)")
def test_reads_real_lola_product():
    path = _real_files()[0]
    # a 4 x 4 km window around the pole keeps the test fast on gigabyte products
    d = read_dem(path, bounds_m=(-2000, -2000, 2000, 2000), max_nodata_frac=0.9, max_hole_radius_px=1e9)
    assert d.dims == ("y", "x") and d.attrs["units"] == "m"
    # LOLA heights near the south pole lie within a few km of the 1737.4 km sphere
    assert np.nanmin(d.values) > -6000 and np.nanmax(d.values) < 6000
