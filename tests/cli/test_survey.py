"""`lupex survey` and `lupex sample` on a tiny run, through typer's CliRunner on an app built here."""

import json

import numpy as np
import pandas as pd
import pytest
import typer
from pyproj import CRS, Transformer
from typer.testing import CliRunner

from lupex.errors import LupexError
from lupex.cli import survey as commands



@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    commands.register(a)
    return a


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, small_mission):
    """A copy of the session's small mission (conftest.small_mission) laid out as ``lupex run`` leaves it
    (lupex-runs/run-<time>/), so these tests may add to it without touching the shared one."""
    import shutil

    out = tmp_path_factory.mktemp("runs") / "lupex-runs" / "run-20270101T000000Z"
    shutil.copytree(small_mission[0], out)
    return out


def invoke(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)


def _lonlat(xy):
    crs = CRS.from_user_input("IAU_2015:30135")
    tr = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = tr.transform(np.asarray(xy)[:, 0], np.asarray(xy)[:, 1])
    return lon, lat


def test_survey_command(app, run_dir, tmp_path):
    sites = pd.read_csv(run_dir / "sites.csv")
    x, y = float(sites.x_m[0]), float(sites.y_m[0])
    lon, lat = _lonlat([[x, y], [x + 40.0, y]])
    gj = tmp_path / "traverse.geojson"
    gj.write_text(json.dumps({"type": "LineString", "coordinates": np.column_stack([lon, lat]).tolist()}))
    out = tmp_path / "surv"
    r = invoke(app, "survey", "--run", run_dir, "--path", gj, "--out", out, "--seed", 3)
    assert r.exit_code == 0, r.output + repr(r.exception)
    for name in ("survey_ns.parquet", "survey_gpr.parquet", "survey_radargram.nc", "survey_retrievals.parquet",
                 "report.html"):
        assert (out / name).is_file(), name
    g = pd.read_parquet(out / "survey_gpr.parquet")
    assert np.allclose(g["x_m"].iloc[[0, -1]], [x, x + 40.0], atol=0.06) and np.allclose(g["y_m"], y, atol=1e-3)
    assert "id='survey'" in (out / "report.html").read_text()
    # default --out: RUN/survey-<stamp>
    r = invoke(app, "survey", "--run", run_dir, "--path", gj)
    assert r.exit_code == 0, r.output
    made = [p for p in run_dir.glob("survey-*") if p.is_dir()]
    assert len(made) == 1 and not made[0].name.endswith(".partial")
    # a path off the DEM: non-zero exit, the message names the vertex, nothing written
    gj.write_text(json.dumps({"type": "LineString", "coordinates": [[x, y], [x + 9000.0, y]]}))
    bad = tmp_path / "bad"
    r = invoke(app, "survey", "--run", run_dir, "--path", gj, "--out", bad)
    assert r.exit_code != 0 and isinstance(r.exception, LupexError)
    assert "vertex 1" in str(r.exception)
    assert not bad.exists() and not bad.with_name("bad.partial").exists()


def test_survey_failure_leaves_nothing(app, run_dir, tmp_path, monkeypatch):
    sites = pd.read_csv(run_dir / "sites.csv")
    x, y = float(sites.x_m[0]), float(sites.y_m[0])
    gj = tmp_path / "t.geojson"
    gj.write_text(json.dumps({"type": "LineString", "coordinates": [[x, y], [x + 10.0, y]]}))

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("lupex.mission.survey.write_netcdf", boom)
    out = tmp_path / "s"
    r = invoke(app, "survey", "--run", run_dir, "--path", gj, "--out", out)
    assert r.exit_code != 0
    assert not out.exists() and not list(tmp_path.glob("s.partial"))


def test_sample_command(app, run_dir, tmp_path):
    from lupex.subsurface.ground_truth import GroundTruth

    gt = GroundTruth.from_netcdf(run_dir / "ground_truth.nc")
    ds = gt.dataset
    iy, ix = np.argwhere(np.isfinite(ds.ice_table_depth_m.values) & (ds.ice_table_depth_m.values < 0.5))[0]
    lon, lat = _lonlat([[float(ds.x[ix]), float(ds.y[iy])]])
    out = tmp_path / "samp"
    r = invoke(app, "sample", "--run", run_dir, f"--at={lat[0]:.8f},{lon[0]:.8f}", "--depth", 0.6, "--bite", 0.2,
               "--out", out)
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert "measured vs true" in r.output and "LTGA" in r.output
    t = pd.read_parquet(out / "drilling.parquet")
    assert len(t) <= 3 and t["bottom_m"].max() <= 0.6 + 1e-9
    assert np.allclose(t["x_m"], float(ds.x[ix]), atol=0.01)


@pytest.mark.parametrize("args, msg", [
    (["--at=-89.9,0", "--depth", "2"], "depth"),
    (["--at=-89.9,0", "--depth", "0"], "depth"),
    (["--at", "north-ish"], "LAT,LON"),
    (["--at=-95,0"], "LAT,LON"),
    (["--at=-80,0"], "off the run's DEM"),
])
def test_sample_bad_input(app, run_dir, tmp_path, args, msg):
    r = invoke(app, "sample", "--run", run_dir, *args, "--out", tmp_path / "x")
    assert r.exit_code != 0
    assert isinstance(r.exception, LupexError) and msg in str(r.exception)
    assert not (tmp_path / "x").exists()


def test_default_run_is_the_newest_or_a_clear_error(app, run_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke(app, "sample", "--at=-89.97,-100")
    assert r.exit_code != 0 and "run `lupex run` first" in str(r.exception)
    base = run_dir.parent                                 # lupex-runs/ holding run-20270101T000000Z
    (base / "run-20261231T000000Z").mkdir()               # older
    (base / "run-20991231T000000Z.partial").mkdir()       # newer but unfinished: ignored
    monkeypatch.chdir(base.parent)
    assert commands.newest_run() == run_dir


def test_sample_reads_config_tables_over_the_run(app, run_dir, tmp_path):
    """--config/--set reach the drill and the instruments; drill.max_depth_m is the depth when --depth is not given."""
    from lupex.subsurface.ground_truth import GroundTruth

    ds = GroundTruth.from_netcdf(run_dir / "ground_truth.nc").dataset
    iy, ix = np.argwhere(np.isfinite(ds.ice_table_depth_m.values) & (ds.ice_table_depth_m.values < 0.5))[0]
    lon, lat = _lonlat([[float(ds.x[ix]), float(ds.y[iy])]])
    at = f"--at={lat[0]:.8f},{lon[0]:.8f}"
    toml = tmp_path / "s.toml"
    toml.write_text("[drill]\nmax_depth_m = 0.4\n")
    out = tmp_path / "samp"
    r = invoke(app, "sample", "--run", run_dir, at, "--bite", 0.2, "--config", toml,
               "--set", "triton.calibration_sigma_rel=0.5", "--out", out)
    assert r.exit_code == 0, r.output + repr(r.exception)
    t = pd.read_parquet(out / "drilling.parquet")
    assert len(t) <= 2 and t["bottom_m"].max() <= 0.4 + 1e-9
    wet = t["triton_water_wt_pct"] > 0.1
    assert wet.any() and (t.loc[wet, "triton_sigma_wt_pct"] >= 0.5 * t.loc[wet, "triton_water_wt_pct"]).all()
    # --depth and a different drill.max_depth_m contradict each other: an error, not a silent choice
    r = invoke(app, "sample", "--run", run_dir, at, "--depth", 0.6, "--set", "drill.max_depth_m=0.4",
               "--out", tmp_path / "x")
    assert isinstance(r.exception, LupexError) and "disagree" in str(r.exception)
    assert not (tmp_path / "x").exists()


def test_survey_reads_config_tables_over_the_run(app, run_dir, tmp_path):
    """--config/--set reach the survey's instruments; a shortcut option that disagrees with its key is refused."""
    sites = pd.read_csv(run_dir / "sites.csv")
    x, y = float(sites.x_m[0]), float(sites.y_m[0])
    gj = tmp_path / "t.geojson"
    gj.write_text(json.dumps({"type": "LineString", "coordinates": [[x, y], [x + 20.0, y]]}))
    cfg = tmp_path / "c.toml"
    cfg.write_text("[alis]\nsnr = 50.0\n")
    out = tmp_path / "s"
    r = invoke(app, "survey", "--run", run_dir, "--path", gj, "--out", out, "--config", cfg,
               "--set", "survey.alis_every_m=5", "--set", "neutron.footprint_fwhm_m=2", "--set", "survey.gpr_max_fits=0")
    assert r.exit_code == 0, r.output + repr(r.exception)
    summary = json.loads((out / "survey_summary.json").read_text())
    assert summary["instrument_params"]["alis"]["snr"] == 50.0
    assert summary["instrument_params"]["neutron"]["footprint_fwhm_m"] == 2.0
    assert len(pd.read_parquet(out / "survey_alis.parquet")) == 5      # 0, 5, ..., 20 m
    bad = tmp_path / "bad"
    r = invoke(app, "survey", "--run", run_dir, "--path", gj, "--out", bad, "--alis-every", "2",
               "--set", "survey.alis_every_m=5")
    assert r.exit_code != 0 and "disagree" in str(r.exception) and not bad.exists()
    r = invoke(app, "survey", "--run", run_dir, "--path", gj, "--out", bad, "--set", "gpr.centre_freq_hz=5e8")
    assert r.exit_code != 0 and "did you mean 'gpr.centre_frequency_hz'" in str(r.exception) and not bad.exists()
