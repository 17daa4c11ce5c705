"""Drilling campaign: the cells a path crosses (the measured footprint); measured water
against the delivered and in-situ water; high-loss handling; bad input; atomic outputs."""

import numpy as np
import pandas as pd
import pytest

from lupex.errors import InputError
from lupex.instruments import adore, triton
from lupex.instruments.drill import DrillParams
from lupex.mission import drilling as dr
from test_survey import X0, make_truth

# lighter instrument settings (same physics, as in test_samples_crosscheck) keep the test fast
FAST = dict(triton_params=triton.TritonParams(flight_length_m=5.0, mz_range=(0.8, 66.0)),
            adore_params=adore.AdoreParams(n_frequencies=25, decays_per_frequency=4))


@pytest.fixture(scope="module")
def truth():
    return make_truth()


def shallowest_ice_sites(gt, centre, n=3, radius_m=250.0, sep_m=40.0):
    """Test helper (the test may read the truth; the mission may not): the ``n`` cells of shallowest ice within
    ``radius_m`` of ``centre``, at least ``sep_m`` apart, so the instruments see ice."""
    ds = gt.dataset
    xx, yy = np.meshgrid(ds.x.values, ds.y.values)
    table = ds.ice_table_depth_m.values
    ok = (np.hypot(xx - centre[0], yy - centre[1]) <= radius_m) & np.isfinite(table) & (table < 1.5)
    out = []
    for i in np.argsort(np.where(ok, table, np.inf), axis=None):
        if not ok.ravel()[i]:
            break
        p = (xx.ravel()[i], yy.ravel()[i])
        if all(np.hypot(p[0] - q[0], p[1] - q[1]) >= sep_m for q in out):
            out.append(p)
        if len(out) == n:
            break
    return np.array(out, float)


@pytest.fixture(scope="module")
def sites(truth):
    _, gt = truth
    return shallowest_ice_sites(gt, (X0 - 50.0, 0.0))


@pytest.fixture(scope="module")
def result(truth, sites, tmp_path_factory):
    from lupex.report.drilling import with_example_figures

    grid, gt = truth
    res = dr.run_drilling(gt, grid, sites, tmp_path_factory.mktemp("drill"), seed=4, bite_m=0.1, depth_m=1.5, **FAST)
    return with_example_figures(res, res.outdir)   # the report draws the example figures, as `lupex sample` does


def test_footprint_cells_are_the_cells_the_path_crosses(truth):
    """Against a hand count: a straight east-west path through the middle of row 5 crosses the cells whose x
    range it spans; a diagonal crosses its cells only (checked by dense sampling here)."""
    grid, _ = truth
    x, y = grid.x.values, grid.y.values
    m = dr.footprint_cells(np.array([[x[3], y[5]], [x[9], y[5]]]), grid)
    assert m.sum() == 7 and m[5, 3:10].all()
    diag = np.array([[x[2] - 9.0, y[2] + 3.0], [x[8] + 4.0, y[7] - 2.0]])
    t = np.linspace(0, 1, 20001)[:, None]
    q = diag[0] + t * (diag[1] - diag[0])
    ref = np.zeros_like(m)
    ref[np.abs(y[None, :] - q[:, 1:]).argmin(1), np.abs(x[None, :] - q[:, :1]).argmin(1)] = True
    assert np.array_equal(dr.footprint_cells(diag, grid), ref)


def test_measured_water_agrees_with_delivered(result):
    t = result.table
    assert len(t) >= 3 * 10 and (t["bottom_m"] > t["top_m"]).all() and t["bottom_m"].max() <= 1.5 + 1e-9
    delivered = t["true_delivered_water_wt_pct"].to_numpy()
    for inst in ("ltga", "triton", "adore"):
        z = (t[f"{inst}_water_wt_pct"] - delivered) / t[f"{inst}_sigma_wt_pct"]
        assert np.mean(np.abs(z) < 2) >= 0.85, inst
        assert abs(np.mean(z)) < 0.6, inst
    assert np.all(delivered <= t["true_in_situ_water_wt_pct"].to_numpy() + 1e-12)
    ag = dr.agreement(t)
    assert set(ag["instrument"]) == {"LTGA", "TRITON", "ADORE", "ISAP"}


def test_in_situ_water_is_the_ground_truth(result, truth):
    """Away from rocks, the in-situ water of an interval is the truth's WEH (wet below the table, dry above)."""
    _, gt = truth
    ds = gt.dataset
    for _, r in result.table.iterrows():
        iy = np.argmin(np.abs(ds.y.values - r.y_m))
        ix = np.argmin(np.abs(ds.x.values - r.x_m))
        table = ds.ice_table_depth_m.values[iy, ix]
        wet, dry = ds.weh_wt_pct.values[iy, ix], ds.dry_weh_wt_pct.values[iy, ix]
        if r.top_m >= table:
            expect = wet
        elif r.bottom_m <= table:
            expect = dry
        else:
            continue                       # straddles the ice table: a mixture
        assert r.true_in_situ_water_wt_pct == pytest.approx(expect, rel=0.02, abs=1e-3)


def test_hot_handling_loses_water_and_instruments_see_what_arrived(truth, sites, tmp_path):
    grid, gt = truth
    hot = DrillParams(wait_temperature_k=195.0, wait_s=1800.0, max_depth_m=0.6)
    res = dr.run_drilling(gt, grid, sites[:1], tmp_path, seed=9, bite_m=0.2, depth_m=0.6, drill_params=hot, **FAST)
    t = res.table
    wet = t["true_in_situ_water_wt_pct"] > 1.0
    assert wet.any()
    assert np.all(t.loc[wet, "true_delivered_water_wt_pct"] < t.loc[wet, "true_in_situ_water_wt_pct"])
    for inst in ("ltga", "adore"):
        assert np.all(t.loc[wet, f"{inst}_water_wt_pct"] < t.loc[wet, "true_in_situ_water_wt_pct"]), inst
        z = (t[f"{inst}_water_wt_pct"] - t["true_delivered_water_wt_pct"]) / t[f"{inst}_sigma_wt_pct"]
        assert np.mean(np.abs(z) < 3) >= 0.6, inst


@pytest.mark.parametrize("depth", [2.0, 0.0, -0.5, float("nan")])
def test_bad_depth_is_refused(truth, sites, tmp_path, depth):
    grid, gt = truth
    with pytest.raises(InputError, match="depth"):
        dr.run_drilling(gt, grid, sites, tmp_path, seed=1, depth_m=depth)
    assert not list(tmp_path.iterdir())


def test_bad_sites_are_refused(truth, tmp_path):
    grid, gt = truth
    with pytest.raises(InputError, match="off the DEM"):
        dr.run_drilling(gt, grid, [[X0, 9999.0]], tmp_path, seed=1)
    with pytest.raises(InputError, match="bite"):
        dr.run_drilling(gt, grid, [[X0, 0.0]], tmp_path, seed=1, bite_m=0.0)
    with pytest.raises(InputError, match=r"\(n, 2\)"):
        dr.run_drilling(gt, grid, [[1.0, 2.0, 3.0]], tmp_path, seed=1)


def test_outputs_and_atomic_failure(result, truth, sites, tmp_path, monkeypatch):
    out = result.outdir
    back = pd.read_parquet(out / "drilling.parquet")
    pd.testing.assert_frame_equal(back, result.table)
    pngs = sorted(p.name for p in out.glob("drilling_*.png"))
    assert {"drilling_ltga_1.png", "drilling_triton_1.png", "drilling_adore_1.png"} <= set(pngs)
    assert all((out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)

    def boom(self, *a, **k):
        raise OSError("no space")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    grid, gt = truth
    with pytest.raises(OSError):
        dr.run_drilling(gt, grid, sites[:1], tmp_path, seed=1, depth_m=0.3, **FAST)
    assert not list(tmp_path.iterdir())


def test_report_section(result):
    from lupex.report.drilling import drilling_sections
    from lupex.report.html import render

    secs = drilling_sections(result)
    html = render("t", "m", secs)
    assert "id='drilling'" in html
    assert html.count("data:image/png;base64,") == len(result.sites) + len(result.figures)
    assert "PLACEHOLDER" not in html and "given by the caller" in html   # sites given, no rule claimed


# ----------------------------------------------------------------------------- config tables reach the models

_CFG_BASE = ["drill.max_depth_m=0.6", "triton.flight_length_m=5.0", "triton.mz_range=[0.8, 66.0]",
             "adore.n_frequencies=25", "adore.decays_per_frequency=4"]


def _drill_with_config(truth, sites, sets):
    """Drill as ``lupex run`` does: every model parameter from the config tables (``--set`` here)."""
    from lupex.config import load

    grid, gt = truth
    cfg = load(overrides=_CFG_BASE + sets)
    return dr.run_drilling(gt, grid, sites[:1], None, seed=9, bite_m=0.2, drill_params=cfg.drill,
                           triton_params=cfg.triton, ltga_params=cfg.ltga, adore_params=cfg.adore,
                           isap_params=cfg.isap, n_examples=0, write=False).table


@pytest.fixture(scope="module")
def config_base(truth, sites):
    return _drill_with_config(truth, sites, [])


def test_config_drill_depth_reaches_the_drill(truth, sites, config_base):
    shallow = _drill_with_config(truth, sites, ["drill.max_depth_m=0.2"])
    assert len(shallow) < len(config_base)                # 0.2 m in 0.2 m bites: one interval instead of three
    assert shallow["bottom_m"].max() <= 0.2 + 1e-9 < config_base["bottom_m"].max()


@pytest.mark.parametrize("override,column,larger", [
    ("ltga.aliquot_kg=5e-4", "ltga_sigma_wt_pct", False),         # 10x the aliquot: less sub-sampling scatter (Gy)
    ("triton.calibration_sigma_rel=0.3", "triton_sigma_wt_pct", True),   # calibration enters sigma in quadrature
    ("adore.split_sigma_rel=0.2", "adore_sigma_wt_pct", True),     # as does the gas split's calibration
    ("isap.counts_per_unit=2e7", "isap_ice_sigma_wt_pct", False),  # 100x the Raman signal: smaller shot-noise error
])
def test_config_instrument_tables_reach_the_instruments(truth, sites, config_base, override, column, larger):
    t = _drill_with_config(truth, sites, [override])
    wet = config_base["true_delivered_water_wt_pct"].to_numpy() > 0.5
    assert wet.any()
    new, old = t.loc[wet, column].to_numpy(), config_base.loc[wet, column].to_numpy()
    assert np.all(new > old) if larger else np.all(new < old), (new, old)
