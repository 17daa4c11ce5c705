"""The layers and the lint rules of pyproject.toml hold: import-linter's contracts and ruff on src/.

Both tools read their settings from pyproject.toml ([tool.importlinter], [tool.ruff]); each runs in a
subprocess from the repository root, on this checkout's src/ (first on PYTHONPATH), so what is checked is
what the tests import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._paths import ROOT


def _tool(name: str) -> str:
    """The console script ``name`` beside this Python (the test extra installs it), else on PATH."""
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install '.[test]')")
    return found


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_imports_point_down_and_do_not_cycle():
    """Models never import mission, report, config or cli; mission never imports report or cli; no cycle among
    lupex's packages (the known debts are listed, each with its issue item, in pyproject.toml)."""
    r = _run([_tool("lint-imports"), "--no-cache"])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_ruff_passes_on_src():
    r = _run([_tool("ruff"), "check", "--no-cache", "src"])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
