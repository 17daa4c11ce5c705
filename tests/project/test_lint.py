"""The layers and the lint rules of pyproject.toml hold: import-linter's contracts and ruff on src/.

Both tools read their settings from pyproject.toml ([tool.importlinter], [tool.ruff]); each runs in a
subprocess from the repository root, on this checkout's src/ (first on PYTHONPATH), so what is checked is
what the tests import.
"""

from __future__ import annotations

import ast
import os
import re
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
    """Models never import mission, report, config or cli; mission never imports report, config or cli; no cycle
    among lupex's packages nor among the modules of landing, mission and mission.campaign (pyproject.toml lists
    the contracts, with no ignored import).
    """
    r = _run([_tool("lint-imports"), "--no-cache"])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_ruff_passes_on_src():
    r = _run([_tool("ruff"), "check", "--no-cache", "src"])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def _public_functions(tree: ast.Module):
    """(qualified name, node) of each public function and public class's public method of a module."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and not sub.name.startswith("_"):
                    yield f"{node.name}.{sub.name}", sub


def test_public_functions_of_more_than_three_arguments_document_them():
    """../shared/STYLE.md "Docstrings": a public function with more than three arguments has a numpydoc
    ``Parameters`` section (each unit and shape). Private modules (``_kernel.py``) and the CLI's Typer commands
    are exempt: a command's options carry their help and unit in ``--help``.
    """
    missing = []
    for path in sorted((ROOT / "src" / "lupex").rglob("*.py")):
        rel = path.relative_to(ROOT / "src")
        if rel.parts[1] == "cli" or any(p.startswith("_") and p not in ("__init__.py", "__main__.py")
                                         for p in rel.parts):
            continue
        for name, fn in _public_functions(ast.parse(path.read_text(encoding="utf-8"))):
            a = fn.args
            args = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
            if len(args) > 3 and not re.search(r"^Parameters\n-{3,}$", ast.get_docstring(fn) or "", re.M):
                missing.append(f"{rel}:{fn.lineno} {name} ({len(args)} arguments)")
    assert not missing, "public functions of more than three arguments without a Parameters section:\n" + \
        "\n".join(missing)
