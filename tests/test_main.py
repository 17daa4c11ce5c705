"""``python -m lupex`` (lupex/__main__.py) is the ``lupex`` command: help lists the commands and exits 0, a
user error exits 2 with one line."""

import runpy
import sys

import pytest

from tests.cli_in_process import one_line


def _module(capsys, name, *args):
    argv, sys.argv = sys.argv, ["lupex", *args]
    capsys.readouterr()
    try:
        with pytest.raises(SystemExit) as e:
            runpy.run_module(name, run_name="__main__", alter_sys=False)
    finally:
        sys.argv = argv
    got = capsys.readouterr()
    return e.value.code, got.out, got.err


def test_python_m_lupex(capsys):
    code, out, _ = _module(capsys, "lupex.__main__", "--help")
    assert code == 0
    for command in ("run", "ephem", "dem", "data", "land", "plan", "survey", "ops"):
        assert command in out
    code, _, err = _module(capsys, "lupex.__main__", "ephem", "--time", "2027-01-01T00:00:00", "--lat", "91")
    assert code == 2 and one_line(err) and "--lat" in err
