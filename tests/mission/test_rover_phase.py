"""The rover phase of the session's small run (``conftest.small_mission``): the products it writes are its
plan (parquet states, GeoJSON line, survival table), the plan's distance is the 3-D length of its path over
the DEM measured here, its minimum state of charge is that of its states; the report draws its figures from
those numbers as PNG images (the phase itself draws nothing)."""

import json

import numpy as np
import pandas as pd
import pytest

from lupex.mission.rover_phase import RoverResult
from lupex.report.rover import rover_sections


def test_rover_products_are_its_plan(small_mission):
    run_dir, _, result = small_mission
    rover = result.rover
    if not isinstance(rover, RoverResult):
        pytest.skip(f"the small run planned no traverse: {rover}")
    plan = rover.plan
    df = pd.read_parquet(run_dir / "rover_plan.parquet")
    for col, want in (("x_m", plan.x_m), ("y_m", plan.y_m), ("soc", plan.soc), ("row", plan.rows)):
        np.testing.assert_array_equal(df[col].to_numpy(), np.asarray(want))
    # the distance driven is the 3-D length of the path over the DEM, cell centre to cell centre
    z = np.asarray(result.site.dem.values, float)[np.asarray(plan.rows), np.asarray(plan.cols)]
    length = np.hypot(np.hypot(np.diff(plan.x_m), np.diff(plan.y_m)), np.diff(z)).sum()
    assert plan.distance_m == pytest.approx(float(length), rel=1e-9)
    assert plan.min_soc == pytest.approx(float(np.min(plan.soc)), abs=1e-12)
    line = json.loads((run_dir / "rover_plan.geojson").read_text())
    feats = line.get("features", [line])
    coords = next(np.asarray(f["geometry"]["coordinates"]) for f in feats if f["geometry"]["type"] == "LineString")
    assert coords[0] == pytest.approx([plan.lon_deg[0], plan.lat_deg[0]], abs=1e-9)
    assert coords[-1] == pytest.approx([plan.lon_deg[-1], plan.lat_deg[-1]], abs=1e-9)
    surv = pd.read_csv(run_dir / "rover_survival.csv")
    assert len(surv) == len(rover.survival)
    (section,) = rover_sections(rover, result.site)
    assert len(section.figures) == 2
    for _caption, png in section.figures:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
