"""Atomic output: every file lupex writes appears whole or not at all.

Writers produce a temporary file in the destination directory and move it into
place with :func:`os.replace`, which is atomic on POSIX and Windows when source
and target share a file system. A crash, a full disk or an exception while
writing leaves the previous file (if any) untouched and no half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lupex.errors import LupexError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left as it
    was. ``OSError`` with ENOSPC/EDQUOT becomes a :class:`LupexError` that names
    the file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else "".join(path.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{sfx}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs follow the umask like open() does
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
    import numpy as np

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
    rasters, so a GIS or pandas reader needs one test (``isna``)."""
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
    import numpy as np

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
    import numpy as np
    import xarray as xr

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
        import rioxarray  # noqa: F401  (registers .rio; heavy, so only here)

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
    with atomic_path(path, suffix=".nc") as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return Path(path)
