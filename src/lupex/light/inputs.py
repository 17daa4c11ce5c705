"""The inputs of the light statistics, checked.

They are the regular UTC time grid, the DEM, the horizon cube and the store (memory or a temporary np.memmap)
the horizons are computed into.

:mod:`lupex.light.illumination` uses them and re-exports them.
"""

from __future__ import annotations

import errno
import os
import tempfile
import weakref
from pathlib import Path

import numpy as np
import xarray as xr

from lupex import ephemeris
from lupex.errors import ConfigError, InputError
from lupex.terrain import geo

__all__ = ["HorizonShapeError", "TimeGridError", "horizon_store", "regular_times"]


class TimeGridError(ConfigError):
    """The times are not a usable regular grid."""


class HorizonShapeError(InputError):
    """The horizon cube does not match the DEM."""


# ---------------------------------------------------------------- inputs


def _as_datetime64(times) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(times))
    if arr.ndim != 1:
        raise TimeGridError(f"times must be a 1-D sequence, got shape {arr.shape}")
    if arr.size == 0:
        raise TimeGridError("no times given; give at least one UTC time (e.g. lupex.ephemeris.time_grid)")
    return ephemeris._to_datetime64(arr)


def regular_times(times) -> tuple[np.ndarray, float]:
    """Check that ``times`` (UTC) are a regular increasing grid; return (datetime64[ns], step seconds).

    Steps may differ by at most 1 ms. Raises :class:`TimeGridError` otherwise.
    """
    t = _as_datetime64(times)
    if t.size < 2:
        raise TimeGridError("statistics need at least 2 times (a regular grid, e.g. lupex.ephemeris.time_grid)")
    dt = np.diff(t).astype("timedelta64[ns]").astype(np.int64)
    if np.any(dt <= 0):
        i = int(np.argmax(dt <= 0))
        raise TimeGridError(
            f"times must increase with a positive step; step {i} ({t[i]} -> {t[i + 1]}) is "
            f"{dt[i] / 3.6e12:g} h. Sort the times or build them with lupex.ephemeris.time_grid"
        )
    if np.any(np.abs(dt - dt[0]) > 1_000_000):
        i = int(np.argmax(np.abs(dt - dt[0]) > 1_000_000))
        raise TimeGridError(
            f"times must be a regular grid: the first step is {dt[0] / 3.6e12:g} h but step {i} "
            f"({t[i]} -> {t[i + 1]}) is {dt[i] / 3.6e12:g} h. Use lupex.ephemeris.time_grid"
        )
    return t, float(dt.mean()) / 1e9


def _check_dem(dem):
    if not isinstance(dem, xr.DataArray) or tuple(dem.dims) != ("y", "x"):
        raise InputError("the DEM must be an xarray.DataArray with dims ('y', 'x'); read it with lupex.terrain")

    geo.pixel_size_m(dem)  # square, regular


def _check_cube(dem, cube) -> int:
    shape = getattr(cube, "shape", None)
    ny, nx = dem.shape
    if shape is None or len(shape) != 3 or tuple(shape[1:]) != (ny, nx):
        raise HorizonShapeError(
            f"the horizon cube has shape {shape} but the DEM is {ny} x {nx}; it must be "
            f"(n_azimuths, {ny}, {nx}), from lupex.light.horizon.horizon_angles on this DEM"
        )
    if shape[0] < 4:
        raise HorizonShapeError(f"the horizon cube has only {shape[0]} azimuths; use at least 4 (360 is usual)")
    return int(shape[0])


# ---------------------------------------------------------------- storage


def horizon_store(shape, n_az: int, max_bytes: int, tmpdir=None) -> np.ndarray:
    """An empty float32 horizon cube (n_az, ny, nx): in memory if it fits in ``max_bytes``, else an np.memmap.

    The memmap lives in a temporary file in ``tmpdir`` (default: the system's
    temporary directory), deleted when the array is garbage collected
    (``.filename`` names it).

    Parameters
    ----------
    shape : tuple of int
        (ny, nx) of the DEM.
    n_az : int
        Number of azimuths.
    max_bytes : int
        Largest cube kept in memory, bytes.
    tmpdir : str or Path, optional
        Directory of the memmap file (default: the system's temporary directory).
    """
    ny, nx = (int(s) for s in shape)
    n_az = int(n_az)
    if n_az < 1 or ny < 1 or nx < 1:
        raise ConfigError(f"horizon cube dimensions must be positive, got {n_az} x {ny} x {nx}")
    nbytes = n_az * ny * nx * 4
    if nbytes <= max_bytes:
        return np.empty((n_az, ny, nx), dtype=np.float32)
    d = Path(tmpdir) if tmpdir is not None else Path(tempfile.gettempdir())
    d.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="lupex-horizon-", suffix=".f32", dir=d)
    try:
        # reserve every block now: a memory-mapped page that cannot be backed later (a full disk) kills the
        # process with SIGBUS, where this raises ENOSPC that the message below explains
        _reserve(fd, nbytes)
        os.close(fd)
        fd = -1
        mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_az, ny, nx))
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        os.unlink(path)
        raise InputError(
            f"cannot create a {nbytes / 2**30:.1f} GiB horizon file in {d} ({exc}); "
            "free disk space or choose another tmpdir"
        ) from exc
    weakref.finalize(mm, _unlink_quiet, path)
    return mm


def _reserve(fd: int, nbytes: int) -> None:
    """Allocate ``nbytes`` of disk for the open file ``fd`` with posix_fallocate.

    Where the file system cannot, raise OSError ENOSPC when it has less free than that.
    """
    try:
        os.posix_fallocate(fd, 0, nbytes)
        return
    except AttributeError:  # pragma: no cover (not POSIX)
        pass
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    st = os.fstatvfs(fd)
    if st.f_bavail * st.f_frsize < nbytes:
        raise OSError(errno.ENOSPC, "No space left on device")


def _unlink_quiet(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
