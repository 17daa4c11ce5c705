"""``lupex data list`` (the command function) on a manifest of two products: both listed with their citation,
and the cache column says "yes" for the one whose file lies in the cache directory, "no" for the other."""

import json

from lupex.cli import data as data_cli


def _manifest(path):
    def product(name):
        return {"title": f"{name} map", "citation": "ref1", "pixel_m": 20, "coverage": "test",
                "files": [{"name": f"{name}.tif", "url": f"https://example.invalid/{name}.tif", "format": "geotiff",
                           "size_bytes": 1000}]}

    path.write_text(json.dumps({"citations": {"ref1": "Someone et al. 2020"},
                                "products": {"alpha": product("alpha"), "bravo": product("bravo")}}))
    return path


def test_list_shows_products_citations_and_cache_state(tmp_path, capsys):
    manifest = _manifest(tmp_path / "m.json")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "alpha.tif").write_bytes(b"x" * 1000)
    data_cli.data_list(data_dir=cache, manifest=manifest)
    text = capsys.readouterr().out
    rows = {name: line for line in text.splitlines() for name in ("alpha", "bravo") if f" {name} " in line}
    assert set(rows) == {"alpha", "bravo"}
    assert " yes " in rows["alpha"] and " no " in rows["bravo"]
    assert "ref1: Someone et al. 2020" in text
