"""Citations point into the repository's own docs/REFERENCES.md, and every model parameter names a source.

Pure text and import checks (no numerics):

* every ``docs/REFERENCES.md#<id>`` written in src/, tests/, docs/, README.md,
  tools/ and benchmarks/ names an entry (a ``### <id>`` heading) of
  docs/REFERENCES.md;
* nothing in the code or the docs cites a REFERENCES.md outside the repository
  (the read-only team copy under ``/work/shared``, ``../shared``): in src/,
  tests/, tools/, benchmarks/ and docs/VALIDATION.md every mention of the file is
  an anchored ``docs/REFERENCES.md#<id>``;
* every ``param(...)`` field of every model parameter dataclass reachable from
  :class:`lupex.config.Config` has a ``source`` in words (not empty, not a
  placeholder such as ``-``), and a source that
  cites the reference list cites an existing entry.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from lupex.config import Config

from tests._paths import ROOT
REFERENCES = ROOT / "docs" / "REFERENCES.md"
THIS = Path(__file__).resolve()

ENTRY = re.compile(r"^### ([a-z0-9][a-z0-9-]*)\s*$", re.M)
SECTION = re.compile(r"^## (.+?)\s*$", re.M)
CITATION = re.compile(r"docs/REFERENCES\.md#([A-Za-z0-9_-]+)")
MENTION = re.compile(r"REFERENCES\.md")
OUTSIDE = re.compile(r"shared/(\S*/)?REFERENCES\.md")  # /work/shared/REFERENCES.md, ../shared/REFERENCES.md
WORDS = re.compile(r"[A-Za-z]{2}")  # a source says something in words, not just "-"
TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".cfg", ".rst"}


def _entries() -> list[str]:
    return ENTRY.findall(REFERENCES.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def _files(*tops: str):
    for top in tops:
        p = ROOT / top
        if p.is_file():
            yield p
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix in TEXT_SUFFIXES and f.resolve() != THIS and "__pycache__" not in f.parts:
                    yield f


def _lines(*tops: str):
    for f in _files(*tops):
        for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            yield f.relative_to(ROOT), n, line


def test_reference_list_has_unique_entries():
    ids = _entries()
    assert len(ids) > 50, "docs/REFERENCES.md should hold one '### id' entry per cited source"
    dup = sorted({i for i in ids if ids.count(i) > 1})
    assert not dup, f"duplicate entry ids in docs/REFERENCES.md: {dup}"


def test_every_cited_anchor_exists():
    ids = set(_entries())
    missing = [f"{path}:{n}: #{cid}" for path, n, line in _lines("src", "tests", "docs", "README.md", "tools", "benchmarks")
               for cid in CITATION.findall(line) if cid not in ids]
    assert not missing, ("cited ids with no '### id' entry in docs/REFERENCES.md (add the entry or fix the id):\n"
                         + "\n".join(missing))


def test_internal_links_of_the_reference_list_resolve():
    text = REFERENCES.read_text(encoding="utf-8")
    targets = set(_entries()) | {_slug(h) for h in SECTION.findall(text)}
    broken = sorted({t for t in re.findall(r"\]\(#([^)]+)\)", text) if t not in targets})
    assert not broken, f"links inside docs/REFERENCES.md to missing anchors: {broken}"


def test_no_citation_points_outside_the_repository():
    bad = []
    for path, n, line in _lines("src", "tests", "tools", "benchmarks", "docs/VALIDATION.md", "README.md"):
        if OUTSIDE.search(line):
            bad.append(f"{path}:{n}: {line.strip()}")
            continue
        if str(path) == "README.md":
            continue  # the README may link the list itself, without an entry
        for m in MENTION.finditer(line):
            anchored = line[:m.start()].endswith("docs/") and line[m.end():m.end() + 1] == "#"
            if not anchored:
                bad.append(f"{path}:{n}: {line.strip()}")
    assert not bad, ("cite an entry of the repository's own list as docs/REFERENCES.md#<id> "
                     "(not a REFERENCES.md outside the repo):\n" + "\n".join(bad))


def _param_fields(obj, key: str):
    """(key, owner class, field) of every scalar field under a model dataclass; config-only tables skipped."""
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        k = f"{key}.{f.name}"
        if dataclasses.is_dataclass(v):
            yield from _param_fields(v, k)
        elif isinstance(v, tuple) and v and all(dataclasses.is_dataclass(i) for i in v):
            for i, item in enumerate(v):
                yield from _param_fields(item, f"{k}[{i}]")
        elif type(obj).__module__ != "lupex.config":  # lupex.config's own run tables carry unit and help only
            yield k, type(obj), f


def test_every_param_field_has_a_source():
    found = list(_param_fields(Config(), "config"))
    assert len(found) > 100, "expected the model parameter dataclasses under lupex.config.Config"
    empty = [f"{k} ({cls.__module__}.{cls.__name__}): {f.metadata.get('source')!r}" for k, cls, f in found
             if not (isinstance(f.metadata.get("source"), str) and WORDS.search(f.metadata["source"]))]
    assert not empty, ("param fields without a source (say where the default comes from, or 'assumption: why'; "
                       "a placeholder such as '-' is not a source):\n" + "\n".join(empty))


def test_param_sources_cite_existing_entries():
    ids = set(_entries())
    bad = []
    for k, _cls, f in _param_fields(Config(), "config"):
        src = f.metadata.get("source", "")
        if OUTSIDE.search(src):
            bad.append(f"{k}: {src}")
        cited = CITATION.findall(src)
        if len(MENTION.findall(src)) != len(cited) or any(c not in ids for c in cited):
            bad.append(f"{k}: {src}")
    assert not bad, "param sources that cite REFERENCES.md without an existing docs/REFERENCES.md#<id>:\n" + "\n".join(bad)


@pytest.mark.parametrize("entry", ["glaser2014", "glaser2018", "bussey2010", "mazarico2011",
                                   "smith2010", "barker2021", "lola-ldem75s"])
def test_data_and_illumination_sources_are_listed(entry):
    assert entry in set(_entries())
