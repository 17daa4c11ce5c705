"""The real LOLA site that ships with lupex, and how a run picks its site.

``site.name = "site01"`` (the default) is PGDA product 78 Site01, the
Shackleton--de Gerlache connecting ridge at 20 m (Barker et al. 2021,
docs/REFERENCES.md#barker2021), with the pole-centred LOLA GDR LDEM_75S_120M cap
at 240 m (Smith et al. 2010, docs/REFERENCES.md#smith2010) as its far field.
``site.name = "synthetic"`` is the procedural site of :mod:`lupex.terrain.synthetic`.
A DEM given as ``site.dem`` replaces the built-in one. Provenance, licence and
checksums: ``lupex/terrain/data/README.md``; every open verifies the SHA-256 of
the shipped file so a damaged install is refused, not silently analysed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lupex.errors import InputError
from lupex.terrain.io import read_dem

__all__ = ["BuiltinDem", "BuiltinSite", "BUILTIN_SITES", "SITE_NAMES", "builtin_site", "dem_path", "read_site_dem",
           "far_field_paths"]


@dataclass(frozen=True)
class BuiltinDem:
    """One shipped DEM file: its name in ``lupex/terrain/data``, checksum and provenance."""

    filename: str
    sha256: str
    title: str
    source: str
    citation: str


@dataclass(frozen=True)
class BuiltinSite:
    """A built-in site: the site DEM and the regional DEMs that give its far-field horizon."""

    name: str
    title: str
    dem: BuiltinDem
    far_field: tuple[BuiltinDem, ...]


_CAP = BuiltinDem(
    filename="ldem75s_southpole_240m.tif",
    sha256="d67e9665708e6ccaed635513696bb284f13ee3a339b6ff4b7a8f0e20fb73318b",
    title="LOLA LDEM_75S_120M south-pole cap, +-184 km at 240 m",
    source="LRO-L-LOLA-4-GDR-V1.0 LDEM_75S_120M, pole-centred 3072^2 crop resampled to 240 m",
    citation="Smith et al. 2010 (LOLA), docs/REFERENCES.md#smith2010",
)

BUILTIN_SITES: dict[str, BuiltinSite] = {
    "site01": BuiltinSite(
        name="site01",
        title="Shackleton-de Gerlache connecting ridge (LOLA PGDA Site01), 16 x 16 km at 20 m",
        dem=BuiltinDem(
            filename="site01_connecting_ridge_20m.tif",
            sha256="82142a627222f53fb31254b2ede34e8144d5a96e15028d70101202a00ead6ebd",
            title="LOLA PGDA product 78 Site01 (connecting ridge), 20 m",
            source="PGDA product 78 Site01_final_adj_5mpp_surf, 5 m LOLA DEM resampled to 20 m",
            citation="Barker et al. 2021, PSS 203:105119, docs/REFERENCES.md#barker2021",
        ),
        far_field=(_CAP,),
    ),
}

#: every value ``site.name`` takes
SITE_NAMES = (*BUILTIN_SITES, "synthetic")


def builtin_site(name: str) -> BuiltinSite:
    """The built-in site called ``name``; an unknown name is an :class:`InputError` listing the known ones."""
    try:
        return BUILTIN_SITES[name]
    except KeyError:
        raise InputError(f"unknown site {name!r}; choose one of {', '.join(SITE_NAMES)}, "
                         "or give your own DEM with --dem") from None


def dem_path(entry: BuiltinDem) -> Path:
    """Path of a shipped DEM, after checking its SHA-256 (once per process)."""
    path = Path(str(resources.files("lupex.terrain") / "data" / entry.filename))
    if not path.is_file():
        raise InputError(f"the built-in DEM {entry.filename} is missing from the lupex install ({path}); "
                         "reinstall lupex, or give a DEM with --dem")
    got = _sha256(str(path), path.stat().st_mtime_ns)
    if got != entry.sha256:
        raise InputError(f"the built-in DEM {path} is damaged (sha256 {got[:12]}..., expected {entry.sha256[:12]}...); "
                         "reinstall lupex")
    return path


def read_site_dem(name: str):
    """The built-in site ``name``'s DEM (checksum verified), its attrs naming the site, source and citation."""
    entry = builtin_site(name)
    dem = read_dem(dem_path(entry.dem))
    dem.attrs.update(long_name=entry.title, source=entry.dem.source, citation=entry.dem.citation,
                     site_name=entry.name, sha256=entry.dem.sha256)
    return dem


def far_field_paths(name: str) -> list[Path]:
    """Paths of the built-in site ``name``'s far-field DEMs (checksums verified), smallest first."""
    return [dem_path(e) for e in builtin_site(name).far_field]


@lru_cache(maxsize=8)
def _sha256(path: str, _mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
