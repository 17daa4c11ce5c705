"""The twin's world from a run directory: its DEM, its config's rover and the rover plan's start are what the twin uses."""

import numpy as np
import pandas as pd
import pytest

from lupex.config import load, to_toml
from lupex.errors import InputError
from lupex.ops.twin import Twin
from lupex.ops.world import site_from_run
from lupex.terrain import generate_site
from lupex.terrain.io import write_geotiff


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    dem = generate_site(seed=3, size_m=2000, pixel_m=20).dem
    write_geotiff(dem, d / "dem.tif")
    cfg = load(None, ["site.name=synthetic", "vehicle.battery.capacity_wh=5000"])
    (d / "config.toml").write_text(to_toml(cfg))
    x, y = float(dem["x"].values[40]), float(dem["y"].values[60])
    pd.DataFrame({"time_utc": [pd.Timestamp("2027-02-03T04:00:00")], "x_m": [x], "y_m": [y], "soc": [0.8]}).to_parquet(
        d / "rover_plan.parquet")
    return d, (x, y)


def test_run_directory_sets_place_time_and_rover(run_dir):
    d, xy = run_dir
    s = site_from_run(d, days=2, radius_m=600)
    assert s.start_xy == pytest.approx(xy)
    assert str(s.light.times[0])[:19] == "2027-02-03T04:00:00"
    assert s.rover.battery.capacity_wh == 5000
    tw = Twin(s)
    assert tw.state.battery_wh == pytest.approx(5000 * 0.8)  # the plan's state of charge, the config's capacity
    # the window is centred on the start and the DEM read back is the one written
    assert s.cell(*xy) is not None and s.cell(xy[0] + 5000, xy[1]) is None
    assert np.isfinite(s.slope_deg).all()


def test_a_directory_without_a_run_is_refused(tmp_path):
    with pytest.raises(InputError, match="lupex run"):
        site_from_run(tmp_path)
