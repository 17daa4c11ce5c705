"""Atomic output: every file lupex writes appears whole or not at all.

Writers produce a temporary file in the destination directory and move it into
place with :func:`os.replace`, which is atomic on POSIX and Windows when source
and target share a file system. A crash, a full disk or an exception while
writing leaves the previous file (if any) untouched and no half-written file.

A file written inside an unfinished ``lupex run`` (a ``NAME.partial`` directory
holding ``resume.json``) also gets a line ``sha256 size path`` appended to that
directory's :data:`JOURNAL` just before it is moved into place, so a resumed run
can check that every file is still the one that was written
(:func:`lupex.mission.rundir.verify_written`). The journal is found from the
path alone, so writes from Dask worker processes are recorded too.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lupex.errors import LupexError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left as it
    was. ``OSError`` with ENOSPC/EDQUOT becomes a :class:`LupexError` that names
    the file.
    """
    path = check_utf8_path(path)
    if path.is_dir():
        raise LupexError(f"{path} is a directory; give the name of a file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else "".join(path.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{sfx}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs follow the umask like open() does
        _journal(tmp_path, path)
        os.replace(tmp_path, path)
    except OSError as exc:
        _cleanup(tmp_path)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise LupexError(
                f"no space left on the device while writing {path}; free some space "
                "or choose another output directory (nothing was overwritten)"
            ) from exc
        raise
    except BaseException:
        _cleanup(tmp_path)
        raise


def check_utf8_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path; LupexError when its name is not valid UTF-8 (GDAL and HDF5 cannot open it)."""
    p = Path(path)
    try:
        str(p.absolute()).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(p).encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise LupexError(f"the path {shown} is not valid UTF-8 (it holds raw bytes); the GeoTIFF and NetCDF "
                         "writers need UTF-8 names: choose another name") from None
    return p


JOURNAL = "written.sha256"
"""Checksums of the files an unfinished run wrote, one ``sha256 size relative/path`` line per write."""
_RUN_MARK = ("resume.json", ".partial")  # an unfinished lupex run: NAME.partial holding resume.json


def run_of(path: Path, levels: int = 4) -> Path | None:
    """The unfinished run directory ``path`` lies in (up to ``levels`` folders up), or None."""
    for d in list(Path(path).absolute().parents)[:levels]:
        if d.name.endswith(_RUN_MARK[1]) and (d / _RUN_MARK[0]).is_file():
            return d
    return None


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of the file at ``path``, as hex, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _journal(tmp: Path, path: Path) -> None:
    """Record the checksum of ``tmp`` (about to become ``path``) in the journal of the run it belongs to."""
    run = run_of(path)
    if run is None:
        return
    rel = path.absolute().relative_to(run).as_posix()
    line = f"{sha256_file(tmp)} {tmp.stat().st_size} {rel}\n".encode("utf-8", "surrogateescape")
    fd = os.open(run / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)  # one short O_APPEND write: whole lines even from several processes
    finally:
        os.close(fd)


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide and not thread-safe to probe


def _cleanup(p: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        p.unlink()


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.datetime64,)):
        return str(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot serialise {type(o).__name__} to JSON")


def write_dataframe(path: str | os.PathLike, df) -> Path:
    """Write a pandas DataFrame as CSV or Parquet (by suffix) atomically.

    Float +-inf becomes NaN: "no value" (no ice, no detection) is NaN in every lupex product, as in its
    rasters, so a GIS or pandas reader needs one test (``isna``).
    """
    path = Path(path)
    df = _inf_to_nan(df)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            raise ValueError(f"unsupported table format {path.suffix!r}")
    return path


def _inf_to_nan(df):
    cols = [c for c in df.columns if df[c].dtype.kind == "f" and np.isinf(df[c].to_numpy()).any()]
    if not cols:
        return df
    df = df.copy()
    for c in cols:
        df[c] = df[c].where(np.isfinite(df[c]) | df[c].isna())
    return df


# projected coordinates of the site CRS, as CF names them (CF 1.11 section 5.6, Appendix F)
_XY_ATTRS = {
    "x": {"units": "m", "standard_name": "projection_x_coordinate", "axis": "X",
          "long_name": "easting in the site's polar stereographic CRS"},
    "y": {"units": "m", "standard_name": "projection_y_coordinate", "axis": "Y",
          "long_name": "northing in the site's polar stereographic CRS"},
}


def write_netcdf(path: str | os.PathLike, ds, *, crs=None) -> Path:
    """Write an xarray Dataset/DataArray to NetCDF4 (h5netcdf engine) atomically.

    The product conventions every lupex NetCDF follows: ``x`` / ``y`` coordinates carry units (m) and CF
    standard names; with ``crs`` (or a ``spatial_ref`` coordinate already attached by rioxarray) the CRS
    travels as a CF grid mapping (``spatial_ref`` with ``crs_wkt``) named by each variable's
    ``grid_mapping``, which GDAL, QGIS and rioxarray read; float +-inf becomes NaN (the one no-data value);
    numeric variables are deflate-compressed (shuffle + level 4: lossless, deterministic).
    """
    import xarray as xr  # noqa: PLC0415  heavy; only netCDF writes need it

    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "data")
    ds = ds.copy()
    for name in list(ds.data_vars) + [c for c in ds.coords if c not in ds.dims]:
        v = ds[name]
        if v.dtype.kind == "f" and np.isinf(v.values).any():
            ds[name] = v.where(~np.isinf(v), np.nan)
            ds[name].attrs.update(v.attrs)
    for name, attrs in _XY_ATTRS.items():
        if name in ds.coords and ds[name].dtype.kind == "f":
            ds[name].attrs.update({k: val for k, val in attrs.items() if k not in ds[name].attrs})
    for name in ("x_m", "y_m"):
        if name in ds.coords and "units" not in ds[name].attrs:
            ds[name].attrs["units"] = "m"
    if crs is not None and "spatial_ref" not in ds.variables:
        import rioxarray  # noqa: F401, PLC0415  (registers .rio; heavy, so only here)

        ds = ds.rio.write_crs(crs)
    data = [n for n in ds.data_vars if n != "spatial_ref"]
    if "spatial_ref" in ds.variables:
        for name in data:
            if "grid_mapping" not in ds[name].encoding:
                ds[name].attrs.setdefault("grid_mapping", "spatial_ref")
    encoding = {}  # replaces each variable's own encoding in to_netcdf: keep what rioxarray put there
    for name in data:
        v = ds[name]
        if v.dtype.kind in "fiub" and v.ndim > 0 and v.size > 64:
            keep = {k: v.encoding[k] for k in ("grid_mapping", "dtype", "_FillValue") if k in v.encoding}
            encoding[name] = {**keep, "zlib": True, "complevel": 4, "shuffle": True}
    return _write_netcdf_bytes(Path(path), ds, encoding)


IN_MEMORY_NETCDF_BYTES = 256 * 2**20


def _write_netcdf_bytes(path: Path, ds, encoding: dict) -> Path:
    """Write ``ds`` to ``path`` as netCDF so that a full disk gives the usual error, not a crash; returns ``path``.

    HDF5 cannot survive a full disk: a file it failed to flush crashes the process when it is closed (a
    segfault at exit, after the clear message). So a dataset under :data:`IN_MEMORY_NETCDF_BYTES` is built in
    memory and written as plain bytes, and a larger one is written only when the disk has room for its
    uncompressed size (else the usual full-disk error, before HDF5 opens anything).
    """
    if int(getattr(ds, "nbytes", 0)) < IN_MEMORY_NETCDF_BYTES:
        import dask  # noqa: PLC0415  heavy; only netCDF writes need it

        # in memory there is no file to lock: keep xarray from asking a running Dask cluster for a write lock
        # named after the BytesIO target (distributed refuses it: "Semaphore or Lock ... not known")
        with dask.config.set(scheduler="synchronous"):
            data = bytes(ds.to_netcdf(engine="h5netcdf", encoding=encoding))
        with atomic_path(path, suffix=".nc") as tmp:
            tmp.write_bytes(data)
        return path

    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    if free < 1.05 * ds.nbytes + 2**24:
        raise LupexError(f"no space left on the device for {path} (it needs about {ds.nbytes / 2**20:.0f} MiB, "
                         f"{free / 2**20:.0f} MiB are free); free some space or choose another output directory "
                         "(nothing was overwritten)")
    with atomic_path(path, suffix=".nc") as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return path
