"""Crops to a lat/lon box: the text form, and a plane cropped at the source's pixel (bilinear) and at a
coarser one (area mean) stays the plane at every output cell centre."""

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Transformer

from lupex.errors import InputError
from lupex.terrain import crop
from lupex.terrain.io import dem_from_array, write_geotiff


def test_parse_crop():
    assert crop.parse_crop(" -89.45, -137.5 ,10") == (-89.45, -137.5, 10.0)
    for bad in ("abc", "-89,10", "45,10,5", "-89,10,0", "-89,nan,5"):
        with pytest.raises(InputError):
            crop.parse_crop(bad)


@pytest.mark.parametrize("pixel_m", [None, 40.0])
def test_plane_stays_a_plane(tmp_path, pixel_m):
    p = 20.0
    x = (np.arange(200) - 99.5) * p
    y = -x.copy()
    xx, yy = np.meshgrid(x, y)
    plane = lambda x, y: 300.0 + 0.01 * x - 0.02 * y  # noqa: E731
    src = tmp_path / "plane.tif"
    write_geotiff(dem_from_array(plane(xx, yy), x, y, source="plane"), src)
    # the box centre 300 m east and 200 m south of the pole, as lat/lon by pyproj
    to_ll = Transformer.from_crs(CRS.from_user_input("IAU_2015:30135"),
                                 CRS.from_user_input("IAU_2015:30135").geodetic_crs, always_xy=True)
    lon, lat = to_ll.transform(300.0, -200.0)
    out = tmp_path / "crop.tif"
    info = crop.crop_to_site(src, out, lat_deg=lat, lon_deg=lon, size_km=1.0, pixel_m=pixel_m)
    q = pixel_m or p
    n = int(round(1000 / q))
    assert info["shape"] == (n, n) and info["n_nodata"] == 0
    with rasterio.open(out) as ds:
        z = ds.read(1).astype(float)
        cx = ds.transform.c + (np.arange(ds.width) + 0.5) * ds.transform.a
        cy = ds.transform.f + (np.arange(ds.height) + 0.5) * ds.transform.e
    assert np.mean(cx) == pytest.approx(300.0, abs=1e-6) and np.mean(cy) == pytest.approx(-200.0, abs=1e-6)
    gx, gy = np.meshgrid(cx, cy)
    np.testing.assert_allclose(z, plane(gx, gy), atol=1e-3)  # float32 storage


def test_box_outside_the_product_is_refused(tmp_path):
    x = (np.arange(20) - 9.5) * 20.0
    src = tmp_path / "small.tif"
    write_geotiff(dem_from_array(np.zeros((20, 20)), x, -x, source="flat"), src)
    with pytest.raises(InputError, match="outside"):
        crop.crop_to_site(src, tmp_path / "c.tif", lat_deg=-89.0, lon_deg=0.0, size_km=1.0)
