"""``lupex dem synth`` and ``lupex dem info`` (the command functions): the written GeoTIFF has the asked size
and pixel in IAU_2015:30135 with its crater catalogue beside it, and info describes it as rasterio reads it."""

import numpy as np
import pandas as pd
import rasterio

from lupex.cli import dem as dem_cli


def test_synth_then_info(tmp_path, capsys):
    out = tmp_path / "site.tif"
    dem_cli.dem_synth(out_file=out, seed=3, size_m=2000.0, pixel_m=40.0)
    said = capsys.readouterr().out
    with rasterio.open(out) as ds:
        assert (ds.width, ds.height) == (50, 50)
        assert abs(ds.transform.a) == 40.0
        assert "30135" in ds.crs.to_string() or "IAU_2015" in (ds.tags().get("CRS_AUTHORITY", "") + ds.crs.to_wkt())
        z = ds.read(1)
    cat = pd.read_parquet(out.with_suffix(".craters.parquet"))
    assert f"({len(cat)} craters)" in said and "50 x 50 cells" in said
    dem_cli.dem_info(out)
    info = capsys.readouterr().out
    assert "50 x 50 cells, pixel 40 m" in info
    assert f"heights {np.min(z):.1f} to {np.max(z):.1f} m" in info.replace("\n", " ")
