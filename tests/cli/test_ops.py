"""``lupex ops`` on the command line: units in --help, user errors as one line with exit 2, a short run, a scenario."""


import pytest

from tests.cli_in_process import cli, one_line


def test_help_gives_every_option_a_unit_or_choice(capsys):
    from typer.testing import CliRunner

    from lupex.cli import app

    text = CliRunner().invoke(app, ["ops", "--help"], env={"COLUMNS": "200"}).output
    for opt, unit in (("--speed", "wall-clock second"), ("--days", "days"), ("--radius-m", ", m"),
                      ("--hk-period-s", ", s"), ("--step-hours", ", h"), ("--duration-h", "hours"),
                      ("--tc-port", "127.0.0.1"), ("--at", "degrees")):
        assert opt in text and unit in text, (opt, unit)


@pytest.mark.parametrize("args", [
    ["ops", "--speed", "0"], ["ops", "--speed", "5000"], ["ops", "--host", "192.168.1.2"],
    ["ops", "--tc-port", "70000"], ["ops", "--duration-h", "-1"], ["ops", "--run", "/nonexistent/run"],
    ["ops", "--route", "zigzag"], ["ops", "scenario", "meteor"], ["ops", "send", "LAUNCH"], ["ops", "send", "DRIVE_TO", "x_m=abc"],
])
def test_bad_input_is_one_line_and_exit_2(capsys, args):
    code, err = cli(capsys, *args)
    assert code == 2 and one_line(err), err


def test_yamcs_without_it_says_what_to_install(capsys, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, err = cli(capsys, "ops", "--yamcs", "--site", "synthetic")
    assert code == 2 and one_line(err) and "java" in err.lower()


def test_short_accelerated_run_and_a_scenario(capsys):
    code, err = cli(capsys, "ops", "--site", "synthetic", "--days", "2", "--duration-h", "0.5", "--speed", "3600",
                    "--tc-port", "0", "--tm-port", "9")
    assert code == 0, err
    code, err = cli(capsys, "ops", "scenario", "drill-rock", "--days", "2")
    assert code == 0, err


def test_mdb_writes_xtce(capsys, tmp_path):
    pytest.importorskip("yamcs.pymdb")
    import xml.etree.ElementTree as ET

    code, err = cli(capsys, "ops", "mdb", "--out", tmp_path / "lupex.xml")
    assert code == 0, err
    assert ET.parse(tmp_path / "lupex.xml").getroot().get("name") == "LUPEX"


def test_console_serves_and_stops(capsys):
    code, err = cli(capsys, "ops", "console", "--tm-port", "0", "--tc-port", "9", "--http-port", "0", "--duration-s", "0.3")
    assert code == 0, err
    code, err = cli(capsys, "ops", "console", "--duration-s", "-1")
    assert code == 2 and one_line(err)


def test_state_file_resumes_a_killed_twin(capsys, tmp_path):
    import json

    f = tmp_path / "twin.json"
    args = ["ops", "--site", "synthetic", "--days", "2", "--duration-h", "0.5", "--speed", "3600", "--tc-port", "0",
            "--tm-port", "9", "--state", f]
    code, err = cli(capsys, *args)
    assert code == 0, err
    t1 = json.loads(f.read_text())["t_unix_s"]
    code, err = cli(capsys, *args)
    assert code == 0, err
    assert json.loads(f.read_text())["t_unix_s"] == pytest.approx(t1 + 1800.0)
    f.write_text("{not json")
    code, err = cli(capsys, *args)
    assert code == 2 and one_line(err)


def test_console_in_the_twins_process(capsys):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        tm = s.getsockname()[1]
    code, err = cli(capsys, "ops", "--site", "synthetic", "--days", "2", "--duration-h", "0.5", "--speed", "3600",
                    "--tc-port", "0", "--tm-port", str(tm), "--console", "--console-port", "0")
    assert code == 0, err
    code, err = cli(capsys, "ops", "--console", "--console-port", "70000")
    assert code == 2 and one_line(err)


def test_mdb_command_writes_the_configured_battery_and_args_parse(tmp_path):
    # the `ops mdb` command function itself: a --set reaches the XTCE it writes
    pytest.importorskip("yamcs.pymdb")
    import xml.etree.ElementTree as ET

    from lupex.cli import ops as ops_cli
    from lupex.errors import ConfigError

    out = tmp_path / "mdb.xml"
    ops_cli.mdb(out=out, config=None, set_=["vehicle.battery.capacity_wh=5500"])
    ns = {"x": "http://www.omg.org/spec/XTCE/20180204"}
    rng = ET.parse(out).getroot().find(".//x:SpaceSystem[@name='HK']//*[@name='battery_wh']/x:ValidRange", ns)
    assert float(rng.get("maxInclusive")) == 5500.0
    assert ops_cli._arg("x_m = 120.5") == ("x_m", 120.5)
    for bad in ("x_m", "x_m=abc"):
        with pytest.raises(ConfigError):
            ops_cli._arg(bad)
