"""Drilling campaign: sites from the placeholder rule checked on the truth directly; measured water
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


@pytest.fixture(scope="module")
def sites(truth):
    _, gt = truth
    return dr.choose_drill_sites(gt, None, (X0 - 50.0, 0.0), n=3, radius_m=250.0)


@pytest.fixture(scope="module")
def result(truth, sites, tmp_path_factory):
    grid, gt = truth
    return dr.run_drilling(gt, grid, sites, tmp_path_factory.mktemp("drill"), seed=4, bite_m=0.1, depth_m=1.5, **FAST)


def test_sites_follow_the_stated_rule(truth, sites):
    grid, gt = truth
    ds = gt.dataset
    assert sites.shape == (3, 2)
    table = ds.ice_table_depth_m.values
    xx, yy = np.meshgrid(ds.x.values, ds.y.values)
    d = np.hypot(xx - (X0 - 50.0), yy)
    reach = (d <= 250.0) & np.isfinite(table) & (table < 1.5) & (ds.weh_wt_pct.values > 0)
    shallowest = np.sort(table[reach])[0]
    picked = [table[np.argmin(np.abs(ds.y.values - y)), np.argmin(np.abs(ds.x.values - x))] for x, y in sites]
    assert np.all(np.isfinite(picked)) and picked[0] == shallowest           # the shallowest ice in reach first
    assert np.all(np.diff(picked) >= 0)
    assert np.all(np.hypot(sites[:, 0] - (X0 - 50.0), sites[:, 1]) <= 250.0)
    sep = np.hypot(*(sites[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    assert np.all(sep[np.triu_indices(3, 1)] >= 2 * 20.0)
    assert np.array_equal(sites, dr.choose_drill_sites(gt, grid, (X0 - 50.0, 0.0), n=3, radius_m=250.0))  # pure
    with pytest.raises(InputError, match="no ground-truth cell"):
        dr.choose_drill_sites(gt, grid, (1e6, 0.0))


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
    assert "PLACEHOLDER" in html


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
