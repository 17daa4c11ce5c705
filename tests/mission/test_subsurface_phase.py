"""The subsurface phase of a run: the ground truth it builds is the one make_ground_truth gives for the run's
[subsurface] settings, and what it saves (ground_truth.nc, truth_*.tif) reads back as those fields (NaN where the truth says inf)."""

from types import SimpleNamespace

import numpy as np
import rasterio

from lupex.config import load
from lupex.mission import subsurface_phase as sp
from lupex.subsurface.ground_truth import GroundTruth, make_ground_truth
from lupex.terrain.io import dem_from_array

N, PX = 40, 5.0


def _site():
    x = (np.arange(N) + 0.5) * PX + 1000.0
    y = (np.arange(N)[::-1] + 0.5) * PX - 5000.0
    dem = dem_from_array(np.zeros((N, N)), x, y, source="flat")
    illum = dem.copy(data=np.broadcast_to(np.linspace(0, 40, N), (N, N)).copy())
    slope = dem.copy(data=np.full((N, N), 3.0))
    slope[0, 0] = np.nan   # the phase fills NaN slopes with the median
    return SimpleNamespace(dem=dem, light={"illumination_pct": illum}, slope_rover_deg=slope)


def test_phase_builds_and_saves_the_configured_truth(tmp_path):
    cfg = load(None, ["subsurface.seed=7", "subsurface.corr_length_m=8"])
    site = _site()
    gt = sp.run_subsurface(cfg, site, tmp_path)
    sc = cfg.subsurface
    want = make_ground_truth(site.dem, seed=7, illumination_pct=site.light["illumination_pct"],
                             slope_deg=site.slope_rover_deg.fillna(3.0), corr_length_m=8.0,
                             ice_free_fraction=sc.ice_free_fraction, weh_median_wt_pct=sc.weh_median_wt_pct,
                             overburden_median_m=sc.overburden_median_m, threshold_k=sc.stability_threshold_k,
                             rock_abundance=sc.rock_abundance)
    for v in ("ice_table_depth_m", "weh_wt_pct", "stability_depth_m", "t_max_surface_k"):
        np.testing.assert_array_equal(gt.dataset[v].values, want.dataset[v].values)
        with rasterio.open(tmp_path / f"truth_{v}.tif") as ds:
            # "none" (no ice within reach, inf in the truth) is NaN in a product
            values = gt.dataset[v].values
            np.testing.assert_allclose(ds.read(1), np.where(np.isfinite(values), values, np.nan), rtol=1e-6,
                                       equal_nan=True)
    back = GroundTruth.from_netcdf(tmp_path / "ground_truth.nc")
    for v in gt.dataset.data_vars:
        np.testing.assert_array_equal(back.dataset[v].values, gt.dataset[v].values)
    assert len(back.rocks) == len(gt.rocks)
