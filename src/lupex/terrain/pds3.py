"""Read the label of a LOLA PDS3 polar stereographic product: ODL parsing and the checked header.

PDS3 products (``LDEM_*`` / ``LDEM_*_*M``) are read from the raw ``.IMG`` with
the label parsed here (detached ``.LBL`` or attached). Conventions, from the
LOLA archive (DSMAP_POLAR.CAT of LRO-L-LOLA-4-GDR-V1.0, Neumann 2011, LOLA RDR
and derived products SIS) and the PDS3 Standards Reference (ch. 12, ODL):

* pixel (line ``l``, sample ``s``), both 1-based, has its centre at
  ``x = (s - SAMPLE_PROJECTION_OFFSET - 1) * MAP_SCALE`` and
  ``y = (1 - l + LINE_PROJECTION_OFFSET) * MAP_SCALE``; with the LOLA offsets
  ``N/2 - 0.5`` this is DSMAP_POLAR's ``X = (I - N/2 - 0.5) * MAP_SCALE`` with
  its image-down ``Y`` turned north-up. In the south, longitude 0 points up
  (+y) and 90 E to the right (+x), as in IAU_2015:30135.
* ``MAP_SCALE`` carries its unit (``<METERS/PIXEL>`` for LOLA); without one it
  is km/pixel (PDS data dictionary). Radii without a unit are km.
* the physical value is ``DN * SCALING_FACTOR + OFFSET`` in ``UNIT``
  (``METER`` or ``KILOMETER``; LOLA integer products are metres, float products
  kilometres, which is assumed when ``UNIT`` is absent). LOLA puts the
  reference radius in ``OFFSET`` (1737400 m or 1737.4 km: "map values are
  relative to a radius of 1737.4 km"), so when ``OFFSET`` is a radius (within
  100 km of ``A_AXIS_RADIUS``) it is subtracted back out and the returned
  elevation is the height above that sphere. Raw DNs equal to
  ``MISSING_CONSTANT`` are no-data.
* the CRS is a polar stereographic projection, true scale at the pole, on the
  sphere of radius ``A_AXIS_RADIUS`` centred at ``CENTER_LONGITUDE``; for
  1737.4 km and longitude 0 it is returned as IAU_2015:30135 (south) or
  IAU_2015:30130 (north).
"""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path

import numpy as np
from pyproj import CRS

from lupex.constants import MOON_RADIUS_M
from lupex.errors import InputError
from lupex.terrain.geo import MAX_PIXEL_M, MIN_PIXEL_M, REPROJECT_HINT

__all__ = ["find_label", "is_pds3", "label_number", "length_m", "missing_value", "parse_pds3_label", "pds3_header",
           "polar_crs"]


def is_pds3(path: Path) -> bool:
    """True for a ``.LBL``/``.IMG`` name or a file that starts with a PDS3 label."""
    if path.suffix.lower() in (".lbl", ".img"):
        return True
    with open(path, "rb") as f:
        head = f.read(64)
    return head.lstrip().startswith((b"PDS_VERSION_ID", b"CCSD"))


_ODL_STATEMENT = re.compile(r"\s*(\^?[A-Za-z][A-Za-z0-9_:]*)\s*=\s*")


def parse_pds3_label(text: str) -> dict:
    """Parse a PDS3 ODL label into nested dicts.

    ``OBJECT``/``GROUP`` blocks become nested dicts under their name (a repeated
    name gets ``_2``, ``_3`` ...). Values stay strings with quotes removed;
    units in ``<...>`` are kept in the string (see :func:`label_number`).
    """
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    root: dict = {}
    stack = [root]
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        if re.match(r"END\s*$", text[pos:pos + 4]) or text[pos:].strip() == "END":
            break
        m = _ODL_STATEMENT.match(text, pos)
        if not m:
            # a line we do not understand (e.g. stray text): skip it
            nl = text.find("\n", pos)
            pos = n if nl < 0 else nl + 1
            continue
        key = m.group(1).upper()
        pos = m.end()
        value, pos = _odl_value(text, pos)
        if key in ("OBJECT", "GROUP"):
            child: dict = {}
            name = value.upper()
            k, i = name, 2
            while k in stack[-1]:
                k, i = f"{name}_{i}", i + 1
            stack[-1][k] = child
            stack.append(child)
        elif key in ("END_OBJECT", "END_GROUP"):
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1][key] = value
    return root


def _odl_value(text: str, pos: int) -> tuple[str, int]:
    n = len(text)
    if pos < n and text[pos] == '"':
        end = text.find('"', pos + 1)
        end = n if end < 0 else end
        val = " ".join(text[pos + 1:end].split())
        pos = end + 1
        # trailing unit or rest of line
        nl = text.find("\n", pos)
        return val, (n if nl < 0 else nl + 1)
    if pos < n and text[pos] in "({":
        depth, i, inq = 0, pos, False
        while i < n:
            c = text[i]
            if c == '"':
                inq = not inq
            elif not inq and c in "({":
                depth += 1
            elif not inq and c in ")}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        val = " ".join(text[pos:i + 1].split())
        nl = text.find("\n", i)
        return val, (n if nl < 0 else nl + 1)
    nl = text.find("\n", pos)
    end = n if nl < 0 else nl
    val = text[pos:end].strip().strip("'")
    return val, end + 1


def label_number(value, default_unit: str | None = None) -> tuple[float, str | None]:
    """``"20 <METERS/PIXEL>"`` -> ``(20.0, "METERS/PIXEL")``."""
    if value is None:
        raise KeyError
    m = re.match(r"\s*([-+0-9.eEdD]+)\s*(?:<\s*([^>]*)\s*>)?", str(value))
    if not m:
        raise ValueError(value)
    unit = m.group(2).strip().upper() if m.group(2) else default_unit
    return float(m.group(1).replace("D", "E").replace("d", "e")), unit


def length_m(value, default_unit: str, what: str, label: Path) -> float:
    """A label length (``"1737.4 <KM>"``) in metres; InputError naming ``what`` for a unit that is not one.

    Parameters
    ----------
    value : str or float
        The label value, e.g. ``"1737.4 <KM>"``.
    default_unit : str
        The unit when the value has none.
    what : str
        The keyword, for the message.
    label : Path
        The label file, for the message.
    """
    v, unit = label_number(value, default_unit)
    unit = (unit or default_unit).upper().replace(" ", "")
    base = unit.split("/")[0]
    if base in ("KM", "KILOMETER", "KILOMETERS", "KILOMETRE", "KILOMETRES"):
        return v * 1000.0
    if base in ("M", "METER", "METERS", "METRE", "METRES"):
        return v
    raise InputError(f"{label}: {what} has unit <{unit}>, expected kilometres or metres; fix the label")


def find_label(path: Path) -> tuple[Path, str, bool]:
    """Label path, label text and whether the label is attached, for the PDS3 product at ``path``."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.lstrip().startswith((b"PDS_VERSION_ID", b"CCSD")):
        buf = bytearray(head)
        with open(path, "rb") as f:
            f.seek(len(head))
            while not re.search(rb"(?m)^\s*END\s*$", bytes(buf)) and len(buf) < 4_000_000:
                chunk = f.read(65536)
                if not chunk:
                    break
                buf += chunk
        m = re.search(rb"(?m)^\s*END\s*$", bytes(buf))
        text = bytes(buf[: m.end()] if m else buf).decode("latin-1")
        return path, text, path.suffix.lower() != ".lbl"
    if path.suffix.lower() == ".lbl":
        raise InputError(f"{path} is not a PDS3 label (no PDS_VERSION_ID); check the file")
    for cand in _siblings(path, (".LBL", ".lbl", ".Lbl")):
        with open(cand, "rb") as f:
            return cand, f.read(4_000_000).decode("latin-1"), False
    raise InputError(
        f"{path} has no attached PDS3 label and no {path.stem}.LBL beside it; put the label next to the image"
    )


def _siblings(path: Path, suffixes) -> list[Path]:
    out = [path.with_suffix(s) for s in suffixes if path.with_suffix(s).exists()]
    if not out:
        low = {p.name.lower(): p for p in path.parent.iterdir()} if path.parent.exists() else {}
        for s in suffixes:
            p = low.get((path.stem + s).lower())
            if p is not None:
                out.append(p)
    return out


def _resolve(label_path: Path, name: str) -> Path:
    p = label_path.parent / name
    if p.exists():
        return p
    low = {q.name.lower(): q for q in label_path.parent.iterdir()}
    if name.lower() in low:
        return low[name.lower()]
    raise InputError(f"the label {label_path} points at {name}, which is not beside it; put the image next to the label")


_SAMPLE_TYPES = {
    "LSB_INTEGER": "<i", "PC_INTEGER": "<i", "VAX_INTEGER": "<i",
    "MSB_INTEGER": ">i", "SUN_INTEGER": ">i", "MAC_INTEGER": ">i", "INTEGER": ">i",
    "LSB_UNSIGNED_INTEGER": "<u", "PC_UNSIGNED_INTEGER": "<u", "VAX_UNSIGNED_INTEGER": "<u",
    "MSB_UNSIGNED_INTEGER": ">u", "SUN_UNSIGNED_INTEGER": ">u", "MAC_UNSIGNED_INTEGER": ">u",
    "UNSIGNED_INTEGER": ">u",
    "PC_REAL": "<f", "LSB_IEEE_REAL": "<f", "IEEE_REAL": ">f", "MSB_IEEE_REAL": ">f",
    "SUN_REAL": ">f", "MAC_REAL": ">f", "REAL": ">f",
}


def _label(path: Path) -> tuple[Path, bool, dict, dict, dict]:
    """(label path, attached?, parsed label, its IMAGE object, its IMAGE_MAP_PROJECTION group)."""
    label_path, text, attached = find_label(path)
    try:
        lab = parse_pds3_label(text)
    except Exception as exc:  # pragma: no cover - the parser is lenient
        raise InputError(f"cannot parse the PDS3 label {label_path} ({exc})") from exc
    img = lab.get("IMAGE")
    if not isinstance(img, dict):
        raise InputError(f"{label_path} has no IMAGE object; lupex reads PDS3 image (LDEM) products only")
    proj = lab.get("IMAGE_MAP_PROJECTION") or img.get("IMAGE_MAP_PROJECTION")
    if not isinstance(proj, dict):
        raise InputError(f"{label_path} has no IMAGE_MAP_PROJECTION group; it is not a map-projected DEM")
    return label_path, attached, lab, img, proj


def _need(d: dict, key: str, label_path: Path):
    """Keyword ``key`` of ``d``; InputError naming it when the label lacks it."""
    if key not in d:
        raise InputError(f"{label_path}: required keyword {key} is missing from the label")
    return d[key]


def _keyword_num(d: dict, key: str, label_path: Path, default=None, *, integer=False, lo=-math.inf,
                 hi=math.inf) -> float:
    """Keyword ``key`` of ``d`` as a finite number in [lo, hi]; InputError naming it otherwise."""
    raw = _need(d, key, label_path) if default is None else d.get(key, default)
    try:
        v = label_number(raw)[0]
    except (ValueError, KeyError):
        v = math.nan
    if not (math.isfinite(v) and lo <= v <= hi) or (integer and not float(v).is_integer()):
        kind = "an integer" if integer else "a number"
        rng = f" in [{lo:g}, {hi:g}]" if math.isfinite(lo) or math.isfinite(hi) else ""
        raise InputError(f"{label_path}: {key} = {raw!r} is not {kind}{rng}; the label is corrupt, fix it or "
                         "download the product again")
    return int(v) if integer else v


def _image_layout(img: dict, label_path: Path) -> dict:
    """Lines, samples, prefix and suffix bytes, scaling, offset and the sample dtype of the IMAGE object."""
    def num(key, default=None, **kw):
        return _keyword_num(img, key, label_path, default, **kw)

    h: dict = {"lines": num("LINES", integer=True, lo=2, hi=10_000_000),
               "samples": num("LINE_SAMPLES", integer=True, lo=2, hi=10_000_000)}
    bits = num("SAMPLE_BITS", integer=True, lo=8, hi=64)
    bands = num("BANDS", "1", integer=True, lo=1, hi=1e6)
    h["prefix"] = num("LINE_PREFIX_BYTES", "0", integer=True, lo=0, hi=1e9)
    h["suffix"] = num("LINE_SUFFIX_BYTES", "0", integer=True, lo=0, hi=1e9)
    h["scale_f"] = num("SCALING_FACTOR", "1")
    h["offset"] = num("OFFSET", "0")
    if h["scale_f"] == 0:
        raise InputError(f"{label_path}: SCALING_FACTOR = 0 makes every height the same; the label is corrupt")
    stype = str(_need(img, "SAMPLE_TYPE", label_path)).upper().replace(" ", "_")
    if stype not in _SAMPLE_TYPES:
        raise InputError(f"{label_path}: SAMPLE_TYPE {stype} is not supported; convert the product to a GeoTIFF")
    kind = _SAMPLE_TYPES[stype]
    if bits not in ((32, 64) if kind.endswith("f") else (8, 16, 32, 64)):
        raise InputError(f"{label_path}: SAMPLE_BITS={bits} is impossible for {stype}; the label is corrupt")
    if bands != 1:
        raise InputError(f"{label_path} has {bands} bands; extract the elevation band first")
    h["dtype"] = np.dtype(f"{kind}{bits // 8}") if bits > 8 else np.dtype(kind[1] + "1")
    return h


def _projection(proj: dict, label_path: Path) -> dict:
    """Pole, centre longitude, sphere radius (m), pixel (m) and projection offsets of a polar stereographic grid."""
    ptype = str(_need(proj, "MAP_PROJECTION_TYPE", label_path)).upper().replace("_", " ")
    clat = _keyword_num(proj, "CENTER_LATITUDE", label_path, lo=-90, hi=90)
    polar = "POLAR STEREOGRAPHIC" in ptype or (ptype.strip() == "STEREOGRAPHIC" and abs(abs(clat) - 90) < 1e-9)
    if not polar:
        raise InputError(
            f"{label_path}: MAP_PROJECTION_TYPE is {ptype!r}; lupex reads polar stereographic PDS products "
            f"only; use an LDEM_*S_*M polar product or {REPROJECT_HINT}"
        )
    if abs(abs(clat) - 90.0) > 1e-9:
        raise InputError(f"{label_path}: CENTER_LATITUDE={clat} is not a pole; only polar stereographic grids are read")
    clon = _keyword_num(proj, "CENTER_LONGITUDE", label_path, "0", lo=-360, hi=360)
    try:
        radius_m = length_m(proj.get("A_AXIS_RADIUS", "1737.4 <KM>"), "KM", "A_AXIS_RADIUS", label_path)
        scale_m = length_m(_need(proj, "MAP_SCALE", label_path), "KM/PIXEL", "MAP_SCALE", label_path)
    except (ValueError, KeyError):
        raise InputError(f"{label_path}: A_AXIS_RADIUS or MAP_SCALE is not a number with a unit; "
                         "the label is corrupt, fix it or download the product again") from None
    if not (math.isfinite(radius_m) and 100e3 <= radius_m <= 10_000e3):
        raise InputError(f"{label_path}: A_AXIS_RADIUS = {radius_m / 1000:g} km is not a body radius "
                         "(the Moon's is 1737.4 km); the label is corrupt")
    if not (math.isfinite(scale_m) and MIN_PIXEL_M <= scale_m <= MAX_PIXEL_M):
        raise InputError(f"{label_path}: MAP_SCALE = {scale_m:g} m per pixel is outside {MIN_PIXEL_M:g} to "
                         f"{MAX_PIXEL_M:g} m; the label is corrupt")
    return {"clat": clat, "clon": clon, "radius_m": radius_m, "scale_m": scale_m,
            "l0": _keyword_num(proj, "LINE_PROJECTION_OFFSET", label_path),
            "s0": _keyword_num(proj, "SAMPLE_PROJECTION_OFFSET", label_path)}


def _data_location(lab: dict, label_path: Path, path: Path, attached: bool, h: dict) -> dict:
    """The image file, its first byte and the bytes per row; checks the file holds every row."""
    ptr = lab.get("^IMAGE")
    if ptr is None:
        raise InputError(f"{label_path} has no ^IMAGE pointer; the label is corrupt")
    try:
        data_path, start = _pointer(str(ptr), label_path, path, attached, lab.get("RECORD_BYTES"))
    except (ValueError, KeyError):
        raise InputError(f"{label_path}: ^IMAGE = {ptr!r} is not a file name or offset; the label is corrupt") from None
    if start < 0:
        raise InputError(f"{label_path}: ^IMAGE points before the start of the file; the label is corrupt")
    row_bytes = h["prefix"] + h["samples"] * h["dtype"].itemsize + h["suffix"]
    need_bytes = start + h["lines"] * row_bytes
    size = data_path.stat().st_size
    if size < need_bytes:
        raise InputError(
            f"{data_path} is {size} bytes but its label needs {need_bytes} (truncated or corrupt download?); "
            "download the file again"
        )
    return {"data_path": data_path, "start": start, "row_bytes": row_bytes}


def pds3_header(path: Path) -> dict:
    """Everything a reader needs from a PDS3 label, each field checked (InputError naming it).

    Keys: ``label_path``, ``img`` (the IMAGE object), ``lines``, ``samples``, ``prefix``, ``scale_f``,
    ``offset``, ``dtype``, ``clat``, ``clon`` (deg), ``radius_m``, ``scale_m``, ``l0``, ``s0``, ``data_path``,
    ``start`` and ``row_bytes`` (bytes).
    """
    label_path, attached, lab, img, proj = _label(path)
    h: dict = {"label_path": label_path, "img": img}
    layout = _image_layout(img, label_path)
    h.update((k, v) for k, v in layout.items() if k != "suffix")
    h.update(_projection(proj, label_path))
    h.update(_data_location(lab, label_path, path, attached, layout))
    return h


def missing_value(value: str, dtype: np.dtype):
    """MISSING_CONSTANT as a value comparable with the raw DNs (``16#...#`` = raw bits)."""
    v = str(value).strip()
    try:
        m = re.match(r"16#([0-9A-Fa-f]+)#", v)
        if m:
            bits = np.array([int(m.group(1), 16)], dtype=f">u{dtype.itemsize}")
            return bits.view(dtype.newbyteorder(">"))[0]
        return dtype.type(label_number(v)[0]) if dtype.kind == "f" else int(label_number(v)[0])
    except (ValueError, KeyError, OverflowError):
        return None


def _pointer(ptr: str, label_path: Path, given: Path, attached: bool, record_bytes) -> tuple[Path, int]:
    """Resolve a PDS3 ``^IMAGE`` pointer into (file, byte offset)."""
    ptr = ptr.strip()
    rb = None
    if record_bytes is not None:
        with contextlib.suppress(ValueError, KeyError):
            rb = int(label_number(record_bytes)[0])

    def offset_of(tok: str) -> int:
        v, unit = label_number(tok)
        if unit and unit.startswith("BYTE"):
            return int(v) - 1
        if rb is None:
            raise InputError(f"{label_path}: ^IMAGE is a record number but RECORD_BYTES is missing; fix the label")
        return (int(v) - 1) * rb

    m = re.match(r'\(\s*"?([^",]+)"?\s*,\s*(.+)\)', ptr)
    if m:
        return _resolve(label_path, m.group(1).strip()), offset_of(m.group(2))
    if ptr.startswith("(") or re.match(r"[A-Za-z_]", ptr):
        return _resolve(label_path, ptr.strip('()" ')), 0
    # a bare number: the image follows the label in the same file
    data = given if attached else label_path
    return data, offset_of(ptr)


def polar_crs(clat: float, clon: float, radius_m: float):
    """Polar stereographic CRS of the pole ``clat`` (deg) on a sphere; IAU_2015:30135/30130 for the Moon's."""
    if abs(radius_m - MOON_RADIUS_M) < 1e-3 and clon % 360.0 == 0.0:
        return "IAU_2015:30135" if clat < 0 else "IAU_2015:30130"
    return CRS.from_proj4(
        f"+proj=stere +lat_0={'-90' if clat < 0 else '90'} +lon_0={clon:.12g} +k=1 +x_0=0 +y_0=0 "
        f"+R={radius_m:.6f} +units=m +no_defs"
    )
