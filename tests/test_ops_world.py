"""The twin's world from a run directory: its DEM, its config's rover and the rover plan's start are what the twin uses."""

import numpy as np
import pandas as pd
import pytest

from lupex.config import load, to_toml
from lupex.errors import InputError
from lupex.ops.twin import Twin
from lupex.ops.twin import default_ground
from lupex.ops.world import site_from_run
from lupex.subsurface.ground_truth import make_ground_truth
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
    # a cold trap everywhere (T_max < 110 K: ice is stable), ice in every cell under a random overburden
    t_max = np.full(dem.shape, 80.0)
    make_ground_truth(dem, seed=3, t_max_surface_k=t_max, t_mean_surface_k=0.6 * t_max,
                      ice_free_frac=0.0).to_netcdf(d / "ground_truth.nc")
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


def test_the_ground_under_the_rover_is_the_runs_ground_truth(run_dir, tmp_path):
    import xarray as xr

    d, xy = run_dir
    s = site_from_run(d, days=1, radius_m=400)
    col = Twin(s).ground(*xy)
    # ground_truth.nc read by hand: the ice table of the grid cell holding the rover
    with xr.open_dataset(d / "ground_truth.nc") as ds:
        ix = int(np.argmin(np.abs(ds["x"].values - xy[0])))
        iy = int(np.argmin(np.abs(ds["y"].values - xy[1])))
        table = float(ds["ice_table_depth_m"].values[iy, ix])
    assert np.isfinite(table) and col.ice_table_depth_m == pytest.approx(table, rel=1e-6)
    assert col.ice_table_depth_m != pytest.approx(default_ground(*xy).ice_table_depth_m)
    # without the file the twin keeps the assumed column
    (tmp_path / "dem.tif").symlink_to(d / "dem.tif")
    (tmp_path / "config.toml").symlink_to(d / "config.toml")
    s2 = site_from_run(tmp_path, start="2027-02-03T04:00:00", days=1, radius_m=400)
    assert s2.ground_truth is None and Twin(s2).ground is default_ground
    (tmp_path / "ground_truth.nc").write_text("not netcdf")
    with pytest.raises(InputError, match="ground_truth.nc"):
        site_from_run(tmp_path, start="2027-02-03T04:00:00", days=1, radius_m=400)
