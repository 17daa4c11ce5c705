"""``lupex land`` (src/lupex/cli/land.py) end to end on a small synthetic site."""

import typer
from typer.testing import CliRunner

from lupex.cli import land as commands


def test_land_writes_its_products_and_a_run_log(tmp_path):
    app = typer.Typer()
    commands.register(app)
    app.command("noop")(lambda: None)  # two commands, so Typer keeps "land" as a subcommand
    out = tmp_path / "land"
    # a flat, lit cell of the 3 km synthetic site (seed 0): rank 2 of the small run's landing sites
    res = CliRunner().invoke(app, ["land", "--target=-89.9718,-105.255", "--runs", "2", "--rendered-runs", "0",
                                   "--size-m", "3000", "--pixel-m", "30", "--frames", "2000", "--out", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("landing_runs.parquet", "landing_summary.json", "landing_scatter.png", "frame_2000m.png"):
        assert (out / name).is_file(), name
    log = (out / "run.log").read_text()
    # the run log says what was asked and what came out (it used to be empty)
    assert "lupex land --target -89.9718,-105.255" in log and "site synthetic (seed 0, 3000 m" in log
    assert "landing Monte Carlo: 2 descents" in log
    assert "wrote landing_scatter.png" in log
