"""``python -m lupex.cli`` (lupex/cli/__main__.py) is the same command as ``lupex``."""

from tests.test_main import _module


def test_python_m_lupex_cli(capsys):
    code, out, _ = _module(capsys, "lupex.cli.__main__", "--help")
    assert code == 0 and "run" in out and "ephem" in out
    code, _, err = _module(capsys, "lupex.cli.__main__", "dem", "info", "/nonexistent/dem.tif")
    assert code == 2 and len(err.strip().splitlines()) == 1
