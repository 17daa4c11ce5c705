"""The test tree keeps mirroring the source (tests/README.md): every module under src/lupex is named by a test
(imported by its module path), and every test file sits in the folder of the package it tests, named after
one of that package's modules (``test_<module>.py`` or ``test_<module>_<aspect>.py``)."""

import re

from tests._paths import ROOT

SRC = ROOT / "src" / "lupex"
TESTS = ROOT / "tests"


def _modules() -> list[str]:
    out = []
    for p in sorted(SRC.rglob("*.py")):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out


def _named(text: str) -> set[str]:
    """Module paths a test's text imports: ``import lupex.a.b``, ``from lupex.a import b, c``, ``"lupex.a.b"``."""
    named = set()
    for m in re.finditer(r"^\s*from\s+(lupex(?:\.\w+)*)\s+import\s+\(?([\w\s,]+?)\)?\s*(?:#.*)?$", text, re.M):
        named.add(m.group(1))
        named.update(f"{m.group(1)}.{n}" for n in re.split(r"[,\s]+", m.group(2)) if n and n != "as")
    named.update(re.findall(r"^\s*import\s+(lupex(?:\.\w+)*)", text, re.M))
    named.update(re.findall(r"[\"'](lupex(?:\.\w+)+)[\"']", text))
    return named


def test_every_module_is_named_by_a_test():
    named = set()
    for p in TESTS.rglob("*.py"):
        named |= _named(p.read_text(encoding="utf-8"))
    missing = [m for m in _modules() if m not in named]
    assert not missing, ("modules no test imports by their module path (add a real test to "
                         "tests/<package>/test_<module>.py):\n" + "\n".join(missing))


def test_test_files_mirror_the_source():
    misplaced = []
    for p in sorted(TESTS.rglob("test_*.py")):
        rel = p.relative_to(TESTS)
        if rel.parts[0] == "project":
            continue
        pkg = SRC.joinpath(*rel.parts[:-1])
        if not pkg.is_dir():
            misplaced.append(f"{rel}: no package src/lupex/{'/'.join(rel.parts[:-1])}")
            continue
        names = {"main" if c.stem == "__main__" else c.stem.lstrip("_") for c in pkg.glob("*.py")}
        names |= {c.name for c in pkg.iterdir() if (c / "__init__.py").is_file()}
        name = p.stem[len("test_"):]
        if not any(name == n or name.startswith(n + "_") for n in names - {"init"}):
            misplaced.append(f"{rel}: names no module of src/lupex/{'/'.join(rel.parts[:-1]) or '.'}")
    assert not misplaced, "test files outside the mirrored layout (tests/README.md):\n" + "\n".join(misplaced)
