"""The ground-truth section of the report: the stable and icy areas and the ice mass it states are those of
the truth (counted here from its fields), and its four maps are PNG images."""

import numpy as np

from lupex.config import load
from lupex.report import subsurface as report_subsurface
from lupex.subsurface.ground_truth import make_ground_truth
from tests.mission.test_subsurface_phase import PX, _site


def test_section_states_the_truths_areas_and_draws_four_maps():
    site = _site()
    cfg = load(None, ["subsurface.seed=5"])
    gt = make_ground_truth(site.dem, seed=5, illumination_pct=site.light["illumination_pct"], corr_length_m=8.0)
    (sec,) = report_subsurface.subsurface_sections(gt, site, cfg)
    ds = gt.dataset
    stable_km2 = np.isfinite(ds["stability_depth_m"].values).sum() * PX * PX / 1e6
    icy = np.isfinite(ds["ice_table_depth_m"].values) & (ds["weh_wt_pct"].values > 0)
    text = sec.paragraphs[0]
    assert f"over {stable_km2:.2f} km^2 of the site" in text
    assert f"ice is present over {icy.sum() * PX * PX / 1e6:.2f} km^2" in text
    assert f"{gt.total_ice_mass_kg(depth_max_m=1.5) / 1000:,.0f} t of water" in text and "(seed 5)" in text
    assert len(sec.figures) == 4
    for _, png in sec.figures:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
