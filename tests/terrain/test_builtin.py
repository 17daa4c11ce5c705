"""The built-in real site (LOLA Site01 + the LDEM_75S cap): what ships, how a run picks it, what it refuses."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
import rasterio

from tests import _paths
from lupex.config import load
from lupex.errors import ConfigError, InputError
from lupex.mission.site_analysis import far_field_paths, load_site, site_provenance
from lupex.terrain import builtin

SHARED = _paths.SHARED / "data" / "lola_south_pole"
ORIGINALS = {"site01_connecting_ridge_20m.tif": "lola_site01_connecting_ridge_20m.tif",
             "ldem75s_southpole_240m.tif": "lola_ldem75s_southpole_240m.tif"}


@pytest.mark.parametrize("entry", [builtin.BUILTIN_SITES["site01"].dem, *builtin.BUILTIN_SITES["site01"].far_field])
def test_shipped_files_hold_the_shared_lola_pixels(entry):
    """The shipped copies differ from the project's shared LOLA files only in compression: same float32 values,
    same grid and CRS (the shared files' provenance is in ../shared/data/README.md)."""
    path = builtin.dem_path(entry)
    original = SHARED / ORIGINALS[entry.filename]
    if not original.exists():
        pytest.skip(f"shared LOLA data not present at {original}")
    with rasterio.open(path) as a, rasterio.open(original) as b:
        assert a.transform == b.transform and a.crs == b.crs and a.shape == b.shape
        assert np.array_equal(a.read(1), b.read(1))  # the same stored bytes decoded, not a computation


def test_default_run_is_the_real_site():
    cfg = load(None, [])
    assert cfg.site.name == "site01" and not cfg.site.dem
    dem, craters = load_site(cfg)
    assert craters is None and dem.shape == (800, 800)
    # Site01's published footprint (shared/data/README.md): x -19000..-3000 m, y -20000..-4000 m at 20 m
    x, y = dem["x"].values, dem["y"].values
    assert (x.min(), x.max(), y.min(), y.max()) == pytest.approx((-18990, -3010, -19990, -4010), abs=1e-6)
    assert float(dem.max()) == pytest.approx(1958.8, abs=0.5) and float(dem.min()) == pytest.approx(-519.6, abs=0.5)
    prov = site_provenance(cfg, dem)
    assert prov["kind"] == "builtin" and [f["role"] for f in prov["files"]] == ["site", "far field"]
    assert all("docs/REFERENCES.md#" in f["citation"] for f in prov["files"])
    assert [p.name for p in far_field_paths(cfg)] == ["ldem75s_southpole_240m.tif"]


def test_synthetic_site_is_one_option_away():
    cfg = load(None, ["site.name=synthetic", "site.size_m=2000", "site.pixel_m=40"])
    dem, craters = load_site(cfg)
    assert dem.attrs["source"] == "synthetic" and craters is not None and dem.shape == (50, 50)
    assert far_field_paths(cfg) == [] and site_provenance(cfg, dem)["kind"] == "synthetic"


def test_unknown_site_name_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="site01, synthetic"):
        load(None, ['site.name="site99"'])


def test_a_damaged_install_is_refused(tmp_path, monkeypatch):
    entry = builtin.BUILTIN_SITES["site01"].dem
    copy = tmp_path / "data"
    copy.mkdir()
    shutil.copy(builtin.dem_path(entry), copy / entry.filename)
    with open(copy / entry.filename, "r+b") as f:
        f.seek(5000)
        f.write(b"\0\0\0\0")

    class FakeRoot:
        def __truediv__(self, name):
            return tmp_path / name

    monkeypatch.setattr(builtin.resources, "files", lambda pkg: FakeRoot())
    with pytest.raises(InputError, match="damaged"):
        builtin.dem_path(entry)
    (copy / entry.filename).unlink()
    with pytest.raises(InputError, match="missing"):
        builtin.dem_path(entry)


def test_cli_unknown_site_exits_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lupex", "run", "--site", "moonbase", "--out", str(tmp_path / "r")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "site01" in r.stderr and "moonbase" in r.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "r.partial").exists()
