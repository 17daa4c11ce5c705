"""Phase 2 of a run: the subsurface ground truth on the site grid, saved with the run.

The ground truth (:func:`lupex.subsurface.make_ground_truth`) takes the site
phase's per-cell illumination and slope, so ice is stable where the light core
says it is cold, and is saved as ``ground_truth.nc`` (fields and the buried
rocks, once) so a campaign can be scored later against the same truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lupex.progress import NO_PROGRESS, Steps
from lupex.subsurface.ground_truth import make_ground_truth
from lupex.terrain.io import write_geotiff

if TYPE_CHECKING:
    from lupex.config import Config


def run_subsurface(cfg: Config, site, outdir, *, steps: Steps = NO_PROGRESS):
    """Build and save the ground truth; returns the :class:`GroundTruth`.

    Writes ``ground_truth.nc`` (every field and the buried rocks) and ``truth_<name>.tif`` GeoTIFFs of
    the ice-table depth (m), WEH (wt%), stability depth (m) and peak surface temperature (K) into ``outdir``.

    Parameters
    ----------
    cfg : Config
        The run's configuration; its ``[subsurface]`` table (:class:`~lupex.config.SubsurfaceParams`,
        seed included) drives :func:`lupex.subsurface.ground_truth.make_ground_truth`.
    site : lupex.mission.site_analysis.SiteAnalysis
        The site phase's result: the truth is built on ``site.dem``'s grid (ny, nx; m) from
        ``site.light["illumination_pct"]`` (%) and ``site.slope_rover_deg`` (deg, NaN cells set to the median).
    outdir : pathlib.Path
        The run's working folder.
    steps : lupex.progress.Steps, optional
        Progress bars (default: none).

    Returns
    -------
    lupex.subsurface.ground_truth.GroundTruth
        The ground truth on the site grid.
    """
    sc = cfg.subsurface
    with steps.task("subsurface ground truth", total=2) as advance:
        gt = make_ground_truth(
            site.dem,
            sc,
            illumination_pct=site.light["illumination_pct"],
            slope_deg=site.slope_rover_deg.fillna(float(np.nanmedian(site.slope_rover_deg))),
        )
        advance(1)
        gt.to_netcdf(outdir / "ground_truth.nc")     # the rocks too (rock_* variables): stored once
        for name in ("ice_table_depth_m", "weh_wt_pct", "stability_depth_m", "t_max_surface_k"):
            da = gt.dataset[name]
            if name in ("ice_table_depth_m", "stability_depth_m"):
                da = da.where(np.isfinite(da))
            write_geotiff(da.rio.write_crs(site.dem.rio.crs).rename(name), outdir / f"truth_{name}.tif")
        advance(1)
    return gt
