"""The ground-truth part of the report: what a simulated campaign is scored against."""

from __future__ import annotations

import numpy as np

from lupex.report.figures import map_png
from lupex.report.html import Section


def subsurface_sections(gt, site, cfg) -> list[Section]:
    """Return the report's subsurface section (id ``subsurface``): the ground truth's maps."""
    ds = gt.dataset
    sites = getattr(site, "sites", None)  # the candidate landing sites, for orientation
    stab = ds["stability_depth_m"]
    ice = ds["ice_table_depth_m"]
    weh = ds["weh_wt_pct"]
    px2 = float(abs(ds.x[1] - ds.x[0]) * abs(ds.y[1] - ds.y[0]))
    stable_km2 = float(np.isfinite(stab).sum()) * px2 / 1e6
    has_ice = np.isfinite(ice) & (weh > 0)
    ice_km2 = float(has_ice.sum()) * px2 / 1e6
    mass_t = gt.total_ice_mass_kg(depth_max_m=1.5) / 1000.0
    paras = [
        "This is the simulated mission's ground truth, drawn from the models of lupex.subsurface "
        f"(seed {cfg.subsurface.seed}). Ice is stable below {cfg.subsurface.stability_threshold_k:g} K of maximum temperature "
        f"(Paige et al. 2010) over {stable_km2:.2f} km^2 of the site (within 3 m); ice is present over {ice_km2:.2f} km^2, "
        f"{mass_t:,.0f} t of water in the top 1.5 m. Saved as ground_truth.nc (with the rocks).",
    ]
    figs = [
        ("Maximum surface temperature over the span (K)",
         map_png(ds["t_max_surface_k"], "Max surface temperature", cmap="coolwarm", label="K", sites=sites)),
        ("Depth to stable ice (m; blank where ice is not stable within 3 m)",
         map_png(stab.where(np.isfinite(stab)), "Depth to stable ice", cmap="viridis_r", label="m", vmin=0, vmax=3, sites=sites)),
        ("Ice-table depth where ice is present (m)",
         map_png(ice.where(has_ice), "Ice-table depth", cmap="plasma_r", label="m", vmin=0, vmax=3, sites=sites)),
        ("Water-equivalent hydrogen below the ice table (wt%)",
         map_png(weh.where(has_ice), "WEH below the ice table", cmap="Blues", label="wt% WEH", vmin=0, sites=sites)),
    ]
    return [Section("subsurface", "Ground truth: temperatures and ice", paras, figs)]
