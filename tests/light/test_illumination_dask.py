"""Scale-out: tiles on a dask.distributed LocalCluster give exactly the single-process numbers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from lupex import ephemeris
from lupex.light import illumination as il
from lupex.terrain import geo

distributed = pytest.importorskip("distributed")


def test_dask_tiles_equal_single_process(tmp_path):
    import rioxarray  # noqa: F401

    n = 9
    x = (np.arange(n) - 4) * 1500.0
    dem = xr.DataArray(np.zeros((n, n), np.float32), dims=("y", "x"), coords={"y": x[::-1] - 20_000.0, "x": x})
    dem = dem.rio.write_crs(geo.DEFAULT_CRS)
    rng = np.random.default_rng(3)
    a = np.radians(np.arange(180) * 2.0)[:, None, None]
    cube = (rng.uniform(-0.5, 1.5, (1, n, n)) + rng.uniform(0, 1.5, (1, n, n)) * np.sin(a + rng.uniform(0, 6, (1, n, n))))
    cube = cube.astype(np.float32)
    times = ephemeris.time_grid("2027-02-01", "2027-03-15", 1.0)
    local = il.light_statistics(dem, cube, times, tile=4)
    mm = il.horizon_store(dem.shape, 180, max_bytes=0, tmpdir=tmp_path)
    mm[...] = cube
    mm.flush()
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        done = []
        remote = il.light_statistics(dem, cube, times, tile=4, client=client, progress=lambda d, t: done.append(d))
        remote_mm = il.light_statistics(dem, mm, times, tile=4, client=client)
    assert sorted(done) == list(range(1, 10))
    for v in il.STAT_VARIABLES:
        assert np.array_equal(local[v].values, remote[v].values), v
        assert np.array_equal(local[v].values, remote_mm[v].values), v
    assert float(local.illumination_pct.max()) > 0
