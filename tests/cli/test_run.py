"""The CLI as a user meets it: a small end-to-end run, --help, and bad input (exit 2, nothing left behind)."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from lupex.config import all_keys
from lupex.report.build import build_report

from tests.conftest import SMALL_OVERRIDES

SMALL = [a for o in SMALL_OVERRIDES for a in ("--set", o)] + ["-q"]


def lupex(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lupex", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_run_help_lists_every_key_with_its_unit():
    r = subprocess.run([sys.executable, "-m", "lupex", "run", "--help"], capture_output=True, text=True,
                       env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **{k: v for k, v in __import__("os").environ.items()}})
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    for key, _d, unit, _h in all_keys():
        assert key in text, key
        assert f"({unit})" in text, unit


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "small"
    r = lupex("run", "--out", out, *SMALL)
    assert r.returncode == 0, r.stderr + r.stdout
    return out


def test_small_run_products(small_run):
    out = small_run
    for name in ("report.html", "dem.tif", "slope_lander_deg.tif", "illumination_pct.tif", "longest_darkness_h.tif",
                 "earth_visible_pct.tif", "permanent_shadow.tif", "light_statistics.nc", "sites.geojson", "sites.csv",
                 "series.nc", "series.parquet", "config.toml", "manifest.json", "run.log", "ground_truth.nc",
                 "truth_ice_table_depth_m.tif", "budget.csv", "landing_runs.parquet",
                 "landing_summary.json", "landing_frames.csv", "survey_retrievals.parquet", "survey_radargram.nc",
                 "drilling.parquet", "rover_plan.geojson", "rover_survival.csv"):
        assert (out / name).exists(), name
    with rasterio.open(out / "illumination_pct.tif") as src:
        assert src.crs is not None and "Moon" in src.crs.to_wkt()
        ill = src.read(1)
    assert np.nanmin(ill) >= 0 and np.nanmax(ill) <= 100
    sites = pd.read_csv(out / "sites.csv")
    assert len(sites) == 3 and (sites["slope_deg"] <= 12).all()
    gj = json.loads((out / "sites.geojson").read_text())
    assert len(gj["features"]) == 3
    ds = xr.open_dataset(out / "light_statistics.nc")
    assert {"illumination_pct", "longest_darkness_h", "earth_visible_pct", "permanent_shadow"} <= set(ds.data_vars)
    html = (out / "report.html").read_text()
    for sec in ("site", "hazards", "light", "earth", "sites", "series", "landing", "subsurface", "rover", "survey",
                "drilling",
                "budget"):
        assert f"id='{sec}'" in html
    assert html.count("data:image/png;base64,") >= 10
    assert "SYNTHETIC" in html
    assert "http://" not in html and "https://" not in html  # opens offline
    man = json.loads((out / "manifest.json").read_text())
    assert man["synthetic_site"] is True and man["steps"] == 180
    ser = xr.open_dataset(out / "series.nc")
    assert list(ser["label"].values) == ["site 1", "site 2", "site 3", "point -89.97,45"]


def test_run_is_deterministic(small_run, small_mission):
    """The CLI run and the session's in-process run of the same configuration give the same products."""
    out = small_mission[0]
    a = pd.read_csv(small_run / "sites.csv")
    b = pd.read_csv(out / "sites.csv")
    pd.testing.assert_frame_equal(a, b)
    with rasterio.open(small_run / "illumination_pct.tif") as s1, rasterio.open(out / "illumination_pct.tif") as s2:
        assert np.array_equal(s1.read(1), s2.read(1))


def test_existing_run_dir_is_refused(small_run):
    before = sorted(p.name for p in small_run.iterdir())
    r = lupex("run", "--out", small_run, *SMALL)
    assert r.returncode == 2 and "already exists" in r.stderr
    assert sorted(p.name for p in small_run.iterdir()) == before


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--dem", "no-such-file.tif"], "does not exist"),
        (["--start", "2070-01-01T00:00:00"], "outside the SPICE kernels' coverage"),
        (["--step-hours", "-1"], "must be positive"),
        (["--set", "light.n_azimuth=90"], "did you mean 'light.n_azimuths'"),
        (["--start", "not-a-time"], "ISO 8601"),
    ],
)
def test_bad_input_exits_2_and_leaves_nothing(tmp_path, args, needle):
    out = tmp_path / "run"
    r = lupex("run", "--out", out, *SMALL, *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_geographic_dem_is_refused(tmp_path):
    from rasterio.transform import from_origin

    p = tmp_path / "latlon.tif"
    with rasterio.open(p, "w", driver="GTiff", width=20, height=20, count=1, dtype="float32",
                       crs="IAU_2015:30100", transform=from_origin(0, -85, 0.01, 0.01)) as dst:
        dst.write(np.zeros((1, 20, 20), "float32"))
    out = tmp_path / "run"
    r = lupex("run", "--out", out, "--dem", p, *SMALL)
    assert r.returncode == 2
    assert "reproject" in " ".join(r.stderr.split())
    assert not out.exists() and not (tmp_path / "run.partial").exists()


def test_bad_config_file_exits_2(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[lander]\nmax_slope = 10\n")
    r = lupex("run", "--config", cfg, "--out", tmp_path / "run")
    assert r.returncode == 2 and "did you mean 'lander.max_slope_deg'" in " ".join(r.stderr.split())


def test_corrupt_dem_exits_2(tmp_path):
    p = tmp_path / "broken.tif"
    p.write_bytes(b"II*\x00" + b"\x00" * 100)  # a TIFF header and nothing else
    r = lupex("run", "--out", tmp_path / "run", "--dem", p, *SMALL)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_non_square_pixels_exit_2(tmp_path):
    from rasterio.transform import from_origin

    p = tmp_path / "rect.tif"
    with rasterio.open(p, "w", driver="GTiff", width=40, height=40, count=1, dtype="float32",
                       crs="IAU_2015:30135", transform=from_origin(-400, 400, 20, 30)) as dst:
        dst.write(np.zeros((1, 40, 40), "float32"))
    r = lupex("run", "--out", tmp_path / "run", "--dem", p, *SMALL)
    assert r.returncode == 2 and "non-square" in " ".join(r.stderr.split())


def test_extra_point_off_the_dem_exits_2_before_computing(tmp_path):
    r = lupex("run", "--out", tmp_path / "run", *SMALL, "--set", 'sites.extra_points="-80,0"')
    assert r.returncode == 2 and "outside the DEM" in " ".join(r.stderr.split())


def test_workers_give_the_same_run(small_run, tmp_path):
    """The same run on a 2-worker local Dask cluster: identical light statistics and sites."""
    out = tmp_path / "dask"
    r = lupex("run", "--out", out, *SMALL, "--workers", "2")
    assert r.returncode == 0, r.stderr
    for name in ("illumination_pct.tif", "longest_darkness_h.tif", "earth_visible_pct.tif"):
        with rasterio.open(small_run / name) as a, rasterio.open(out / name) as b:
            assert np.array_equal(a.read(1), b.read(1)), name
    pd.testing.assert_frame_equal(pd.read_csv(small_run / "sites.csv"), pd.read_csv(out / "sites.csv"))


@pytest.mark.parametrize("args", [["run", "--no-such-option"], ["land"], ["nonsense"], ["ephem", "--time"]])
def test_usage_errors_exit_2_without_traceback(args):
    r = lupex(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.strip()


@pytest.mark.parametrize("target,needle", [("-80,0", "outside the DEM"), ("north", "LAT,LON")])
def test_land_bad_target_exits_2(tmp_path, target, needle):
    r = lupex("land", f"--target={target}", "--runs", "2", "--size-m", "3000", "--pixel-m", "30",
              "--out", tmp_path / "land")
    assert r.returncode == 2 and needle in " ".join(r.stderr.split())
    assert not (tmp_path / "land").exists()


def test_land_and_sample_help_list_their_tables():
    env = {**__import__("os").environ, "COLUMNS": "200"}
    for cmd, tables in (("land", ("descent", "lander_vehicle", "touchdown", "dispersions", "landing")),
                        ("sample", ("drill", "ltga", "triton", "adore", "isap"))):
        r = subprocess.run([sys.executable, "-m", "lupex", cmd, "--help"], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        text = " ".join(r.stdout.split())
        assert "--config" in text and "--set" in text
        for key, _d, unit, _h in all_keys():
            if key.split(".")[0] in tables:
                assert key in text and f"({unit})" in text, (cmd, key)


def test_land_bad_set_exits_2_before_any_work(tmp_path):
    r = lupex("land", "--target=-89.9,0", "--set", "dispersions.init_sigma_r_m=[1, 2]", "--out", tmp_path / "land")
    assert r.returncode == 2 and "array of 3 values" in " ".join(r.stderr.split())
    assert not (tmp_path / "land").exists()


@pytest.mark.parametrize("n,needle", [("-1", "--rendered-runs"), ("5", "must not exceed landing.runs")])
def test_land_bad_rendered_runs_exits_2(tmp_path, n, needle):
    r = lupex("land", "--target=-89.9,0", "--runs", "2", "--rendered-runs", n, "--size-m", "3000", "--pixel-m", "30",
              "--out", tmp_path / "land")
    assert r.returncode == 2 and needle in " ".join(r.stderr.split()), r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "land").exists()


def test_run_options_become_config_keys(tmp_path, monkeypatch):
    # the `run` command function itself: each option lands on its config key (and --set beside it) before the
    # mission starts; the mission is replaced by a spy that stops there
    from lupex.cli import run as run_cli
    from lupex.errors import ConfigError, LupexError

    seen = []

    class Stop(Exception):
        pass

    def spy(cfg, progress, resume, report=None):
        seen.append((cfg, progress, resume, report))
        raise Stop

    monkeypatch.setattr("lupex.mission.run.run_mission", spy)
    with pytest.raises(Stop):
        run_cli.run(site="synthetic", days=3.0, step_hours=2.0, azimuths=36, seed=5, out_dir=tmp_path / "r",
                    set_=["landing.runs=2"], quiet=True)
    cfg, progress, resume, report = seen[0]
    assert report is build_report   # the run hands the mission the report's entry point
    assert (cfg.site.name, cfg.site.seed, cfg.time.days, cfg.time.step_hours) == ("synthetic", 5, 3.0, 2.0)
    assert cfg.light.n_azimuths == 36 and cfg.landing.runs == 2
    assert str(cfg.output.directory) == str(tmp_path / "r") and progress is False and resume is False
    with pytest.raises(LupexError, match="does not exist"):
        run_cli.run(dem=tmp_path / "missing.tif")
    with pytest.raises(ConfigError, match="leave out --out"):
        run_cli.run(resume=tmp_path / "r", out_dir=tmp_path / "r")
    assert len(seen) == 1
