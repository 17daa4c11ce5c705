"""``lupex plan`` / ``lupex survive`` through Typer's CliRunner on a small synthetic site."""

import json

import pytest
import typer
from typer.testing import CliRunner

from lupex.errors import LupexError
from lupex.cli import rover as commands
from lupex.terrain import generate_site
from lupex.terrain.geo import lonlat_grid

SITE = ["--size-m", "3000", "--pixel-m", "30", "--seed", "1", "--azimuths", "36", "--days", "3"]


@pytest.fixture(scope="module")
def app_and_ll():
    app = typer.Typer()
    commands.register(app)
    lon, lat = lonlat_grid(generate_site(seed=1, size_m=3000, pixel_m=30).dem)

    def ll(r, c):
        return f"{lat[r, c]:.6f},{lon[r, c]:.6f}"

    return app, ll


def test_plan_writes_outputs(app_and_ll, tmp_path):
    app, ll = app_and_ll
    out = tmp_path / "p"
    res = CliRunner().invoke(app, ["plan", "--from", ll(10, 10), "--to", ll(40, 12), "--start", "2027-01-03T00:00:00",
                                   "--out", str(out), "--json"] + SITE)
    assert res.exit_code == 0, res.output
    s = json.loads(res.output.splitlines()[0])
    assert s["distance_m"] > 800 and 0.2 <= s["min_soc"] <= 1 and s["out_dir"] == str(out)
    gj = json.loads((out / "plan.geojson").read_text())
    assert gj["features"][0]["geometry"]["type"] == "LineString"
    assert (out / "plan.parquet").stat().st_size > 0 and (out / "plan_map.png").read_bytes()[:4] == b"\x89PNG"


def test_plan_bad_input_raises_lupex_error_and_writes_nothing(app_and_ll, tmp_path):
    app, ll = app_and_ll
    out = tmp_path / "bad"
    r = CliRunner()
    cases = [
        (["--from", "-80,0", "--to", ll(40, 12), "--start", "2027-01-03T00:00:00"], "outside the DEM"),
        (["--from", ll(10, 10), "--to", ll(80, 85), "--start", "2027-01-03T00:00:00"], "impassable"),
        (["--from", "nonsense", "--to", ll(40, 12), "--start", "2027-01-03T00:00:00"], "LAT,LON"),
    ]
    for args, msg in cases:
        res = r.invoke(app, ["plan"] + args + ["--out", str(out)] + SITE)
        assert res.exit_code != 0 and isinstance(res.exception, LupexError), res.output
        assert msg in str(res.exception)
    assert not out.exists()


def test_survive_reports_dark_periods(app_and_ll, tmp_path):
    app, ll = app_and_ll
    res = CliRunner().invoke(app, ["survive", "--at", ll(54, 20), "--start", "2027-01-01T00:00:00", "--out", str(tmp_path),
                                   "--json"] + SITE)
    assert res.exit_code == 0, res.output
    s = json.loads(res.output.splitlines()[0])
    assert s["verdict"] == "survives"
    assert (tmp_path / "survival.csv").exists()


def test_plan_with_timeline(app_and_ll, tmp_path):
    """``lupex plan --timeline-days``: the mission timeline after the traverse, every interval within limits."""
    import pandas as pd

    from lupex.rover.vehicle import RoverParams

    app, ll = app_and_ll
    out = tmp_path / "t"
    args = ["plan", "--from", ll(10, 10), "--to", ll(40, 12), "--start", "2027-01-03T00:00:00", "--out", str(out),
            "--json", "--timeline-days", "20"] + SITE
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summ = json.loads(res.output.splitlines()[1])["timeline"]
    assert sum(summ["hours_by_mode"].values()) == pytest.approx(20 * 24, abs=1.0)
    assert summ["goals_reached"] == 1
    tr = pd.read_parquet(out / "timeline_trace.parquet")
    rover = RoverParams()
    assert (tr["soc_end"] >= rover.battery.soc_min - 1e-9).all()
    assert (tr["electronics_min_k"] >= rover.thermal.electronics.survival_min_k).all()
    assert (tr["electronics_end_k"] <= rover.thermal.electronics.survival_max_k).all()
    assert (out / "timeline_activities.parquet").exists()
    bad = CliRunner().invoke(app, args[:-len(SITE) - 2] + ["--timeline-days", "-1"] + SITE)
    assert bad.exit_code != 0 and "timeline-days" in str(bad.exception)


def test_vehicle_config_reaches_survive(app_and_ll, tmp_path):
    """--set vehicle.* changes the model the command runs: on a spot with ~270 h nights a bigger battery
    raises the worst margin by about the extra usable energy (soc_max - soc_min) x extra capacity."""
    app, ll = app_and_ll
    args = ["survive", "--at", ll(50, 50), "--start", "2027-01-01T00:00:00", "--json"] + SITE[:-1] + ["30"]
    r = CliRunner()
    base = r.invoke(app, args)
    big = r.invoke(app, args + ["--set", "vehicle.battery.capacity_wh=8000"])
    m0, m1 = (json.loads(x.output.splitlines()[0])["worst_margin_wh"] for x in (base, big))
    assert 0.6 * 4000 * 0.8 < m1 - m0 <= 4000 * 0.8 + 1e-6
    bad = r.invoke(app, args + ["--set", "vehicle.battery.capacity=1"])
    assert isinstance(bad.exception, LupexError) and "capacity_wh" in str(bad.exception)


def test_plan_without_out_writes_a_default_directory_and_prints_text(app_and_ll, tmp_path, monkeypatch):
    app, ll = app_and_ll
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["plan", "--from", ll(10, 10), "--to", ll(40, 12), "--start", "2027-01-03T00:00:00"]
                             + SITE)
    assert res.exit_code == 0, res.output
    made = list((tmp_path / "lupex-runs").glob("plan-*"))
    assert len(made) == 1 and (made[0] / "plan.geojson").is_file() and (made[0] / "plan.parquet").is_file()
    assert str(made[0]) in res.output.replace("\n", "")
    assert res.output.startswith("traverse ") and "{" not in res.output      # text, not a JSON dump
    res = CliRunner().invoke(app, ["survive", "--at", ll(54, 20), "--start", "2027-01-01T00:00:00"] + SITE)
    assert res.exit_code == 0 and res.output.startswith("parked at ") and "the rover survives" in res.output


def test_help_shows_the_config_tables_and_one_azimuth_default():
    from lupex.cli import app

    for cmd, tables in (("plan", "[vehicle], [planner], [rover] and [light]"), ("survive", "[vehicle] and [light]")):
        res = CliRunner().invoke(app, [cmd, "--help"], env={"COLUMNS": "250", "TERMINAL_WIDTH": "250"})
        text = " ".join(res.output.replace("│", " ").split())
        assert res.exit_code == 0 and f"TOML file with {tables} tables" in text, text
        assert "does not read light.n_azimuths" in text and "[default: 72]" in text
