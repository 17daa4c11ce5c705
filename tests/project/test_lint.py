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


def _docstring_lines(node) -> int:
    body = getattr(node, "body", None)
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


MODULE_MAX_LINES = 600   # ../shared/STYLE.md "Size and shape": a module holds one concern (about 600 lines)
FUNCTION_MAX_LINES = 80  # a function fits on a screen (about 60 lines; issue 18 allows up to ~80)


def test_modules_and_functions_stay_small():
    """Lines of code, docstrings aside (a numpydoc Parameters section documents a function, it does not make it
    longer to read): no module over 600, no function over 80. A numba kernel may be longer when the line above
    its decorator says why it stays one function ("# one numba kernel: ...")."""
    too_long = []
    for path in sorted((ROOT / "src" / "lupex").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                                                 ast.AsyncFunctionDef))]
        code = len(lines) - sum(_docstring_lines(n) for n in nodes)
        rel = path.relative_to(ROOT / "src")
        if code > MODULE_MAX_LINES:
            too_long.append(f"{rel}: {code} lines of code")
        for fn in (n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            inner = sum(_docstring_lines(n) for n in ast.walk(fn)
                        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
            n_code = fn.end_lineno - fn.lineno + 1 - inner
            first = min([d.lineno for d in fn.decorator_list] + [fn.lineno])
            reason = lines[first - 2].strip() if first >= 2 else ""
            if n_code > FUNCTION_MAX_LINES and not reason.startswith("# one numba kernel:"):
                too_long.append(f"{rel}:{fn.lineno} {fn.name}: {n_code} lines of code")
    assert not too_long, "split these by concern (../shared/STYLE.md Size and shape):\n" + "\n".join(too_long)
