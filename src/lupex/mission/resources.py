"""What a run needs from the machine, estimated before anything is computed: memory, disk, temporary space.

:func:`check_run_fits` sizes the work from the grid (the DEM's header, or the
synthetic site's size and pixel), the span and the azimuths, and refuses with
the numbers (an :class:`~lupex.errors.InputError`, exit 2) when

* the peak memory exceeds what the machine has available (the horizon cube,
  4 bytes per cell and azimuth, is held in memory by the rover phase whatever
  ``light.memory_limit_gib`` says, and the maps besides);
* the file system of ``--out`` has less free space than the run's products and
  checkpoints at their peak (just before the run is renamed into place);
* the horizon cube is streamed through a temporary file
  (``light.memory_limit_gib`` below its size) and the temporary directory
  (``$TMPDIR``, else the system's) lacks the space, or ``$TMPDIR`` names a
  directory that cannot be written (a memory-mapped file on a full file system
  kills the process with SIGBUS, so it is checked here and preallocated in
  :func:`lupex.light.illumination.horizon_store`).

The disk model was measured on lupex's own runs (8 km synthetic site at 40 m,
30 days at 6 h: 38 MB of products and 58 MB of checkpoints at the peak); it is
an upper bound: rasters are counted uncompressed.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lupex.errors import InputError
from lupex.mission.rundir import run_paths
from lupex.parsing import parse_points
from lupex.terrain.builtin import builtin_site, dem_path
from lupex.terrain.io import check_fits, dem_header

if TYPE_CHECKING:
    from lupex.config import Config

RUN_BYTES_PER_CELL = 160
"""Peak bytes of memory per DEM cell of a run besides the horizon cube: heights, slopes, roughness, safe masks,
the light statistics and their temporaries (float64 maps)."""

DISK_BYTES_PER_CELL = 320
"""Bytes on disk per DEM cell at the run's peak, counted uncompressed: 17 GeoTIFF maps (site, light, truth; 63 B),
``light_statistics.nc`` (33 B), the grids of ``ground_truth.nc`` (56 B) and the site and subsurface checkpoints
(about 130 B measured)."""

DISK_BYTES_PER_M2 = 0.2
"""Bytes on disk per square metre of site: the ground truth's rocks (about 2.7e-3 per m2 at the default rock
density, 32 B each in ``ground_truth.nc`` and again in its checkpoint; 0.17 B/m2 measured)."""

DISK_BYTES_PER_STEP_AND_POINT = 200
"""Bytes on disk per time step and series point: ``series.nc`` and ``series.parquet`` (10 float64 series)."""

DISK_FIXED_BYTES = 128 * 2**20
"""The products whose size does not follow the grid: the traverse survey (radargram, retrievals), drilling,
the campaign, their checkpoints and the report (80 MB measured on the 8 km quick site)."""

TMP_FLOOR_BYTES = 1 * 2**20
"""Free space asked of an explicitly set ``$TMPDIR`` even when the run streams nothing through it (libraries may
write small files there)."""


@dataclass(frozen=True)
class RunEstimate:
    """A run's size and what it needs (bytes)."""

    ny: int
    nx: int
    n_times: int
    n_azimuths: int
    memory_bytes: float
    disk_bytes: float
    tmp_bytes: float  # the horizon cube when it is streamed through a temporary file, else 0

    def line(self) -> str:
        """One line for the log and the messages."""
        tmp = f", {_size(self.tmp_bytes)} of temporary space (horizon cube on disk)" if self.tmp_bytes else ""
        return (f"{self.nx} x {self.ny} cells, {self.n_times} time steps, {self.n_azimuths} azimuths: about "
                f"{_size(self.memory_bytes)} of memory and {_size(self.disk_bytes)} of disk{tmp}")


def _size(n: float) -> str:
    for unit, f in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= f:
            return f"{n / f:.1f} {unit}"
    return f"{n:.0f} B"


def run_grid(cfg: Config) -> tuple[int, int, float, str, str]:
    """(ny, nx, pixel_m, what it is, how to make it smaller) of the run's site, from a header or the config."""
    fewer = "fewer azimuths (light.n_azimuths)"
    if cfg.site.dem or cfg.site.name != "synthetic":
        path = cfg.site.dem
        if not path:  # a built-in site ships its DEM with the package

            path = dem_path(builtin_site(cfg.site.name).dem)
        h = dem_header(path)  # the header only: no pixel is read
        return (h["ny"], h["nx"], float(h["pixel_m"]), f"the DEM {path}",
                f"crop the DEM to the area you need (`gdal_translate -srcwin`), resample it coarser, or use {fewer}")
    n = int(round(cfg.site.size_m / cfg.site.pixel_m))
    return (n, n, float(cfg.site.pixel_m), "the synthetic site (site.size_m / site.pixel_m)",
            f"use a smaller site.size_m, a larger site.pixel_m or {fewer}")


def estimate_run(cfg: Config) -> RunEstimate:
    """Memory, disk and temporary space of a run of ``cfg`` (see the module notes for the model)."""
    ny, nx, pixel_m, _, _ = run_grid(cfg)
    cells = float(ny) * float(nx)
    n_az = int(cfg.light.n_azimuths)
    n_times = int(cfg.time.days * 24.0 / cfg.time.step_hours) + 1
    cube = 4.0 * cells * n_az
    points = cfg.sites.series_points + len(parse_points(cfg.sites.extra_points))
    disk = (DISK_BYTES_PER_CELL * cells + DISK_BYTES_PER_M2 * cells * pixel_m**2
            + DISK_BYTES_PER_STEP_AND_POINT * n_times * points + DISK_FIXED_BYTES)
    tmp = cube if cube > cfg.light.memory_limit_gib * 2**30 else 0.0
    return RunEstimate(ny, nx, n_times, n_az, RUN_BYTES_PER_CELL * cells + cube, disk, tmp)


def free_bytes(path: str | os.PathLike) -> tuple[Path, int]:
    """(the existing directory ``path`` lies in, the bytes free there for this user) from ``os.statvfs``."""
    d = Path(path).absolute()
    while not d.exists() and d != d.parent:
        d = d.parent
    if not d.is_dir():
        d = d.parent
    st = os.statvfs(d)
    return d, int(st.f_bavail) * int(st.f_frsize)


def _tree_bytes(d: Path) -> int:
    """Bytes of the files under ``d`` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(d):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def temp_dir() -> tuple[Path, str]:
    """Return the temporary directory a run will use and how it was named.

    (the temporary directory a run will use, how it was named): ``$TMPDIR`` (or ``$TEMP``, ``$TMP``) when
    set, else the system's; an explicitly named directory is never swapped silently for another.
    """
    for var in ("TMPDIR", "TEMP", "TMP"):
        if os.environ.get(var):
            return Path(os.environ[var]), f"{var}={os.environ[var]}"
    d = tempfile.gettempdir()
    return Path(d), f"the temporary directory {d}"


def check_temp_dir(need_bytes: float) -> None:
    """InputError unless the temporary directory exists, can be written and has ``need_bytes`` free."""
    d, named = temp_dir()
    fix = ("point TMPDIR at a writable directory with room (e.g. `TMPDIR=$HOME/tmp lupex run ...`)"
           + (", or raise light.memory_limit_gib so the horizon cube stays in memory" if need_bytes > TMP_FLOOR_BYTES
              else ""))
    if not d.is_dir():
        raise InputError(f"{named} is not a directory; {fix}")
    try:
        with tempfile.TemporaryFile(dir=d) as fh:
            fh.write(b"lupex")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise InputError(f"{named} cannot be written ({exc.strerror or exc}); {fix}") from None
    _, free = free_bytes(d)
    if free < need_bytes:
        raise InputError(f"{named} has {_size(free)} free and this run needs about {_size(need_bytes)} of temporary "
                         f"space there; {fix}")


def check_run_fits(cfg: Config, final: str | os.PathLike, *, resume: bool = False) -> RunEstimate:
    """Return the run's estimated memory, disk and temporary space, refusing a run that does not fit.

    Estimate the memory, disk and temporary space of a run of ``cfg`` into ``final`` before anything is
    computed; refuse, with the numbers, when one does not fit (see the module notes). Returns the estimate,
    which the run logs.
    """
    ny, nx, _, name, hint = run_grid(cfg)
    check_fits(ny, nx, name, RUN_BYTES_PER_CELL + 4 * cfg.light.n_azimuths,
               f"a run with {cfg.light.n_azimuths} azimuths", hint)
    est = estimate_run(cfg)
    final, partial = run_paths(final)
    need = est.disk_bytes - (_tree_bytes(partial) if resume else 0)  # a resumed run has written part of it
    where, free = free_bytes(final.parent)
    if free < need:
        raise InputError(f"the run needs about {_size(need)} of disk for its products and checkpoints and {where} "
                         f"has {_size(free)} free ({est.line()}); free some space, choose another --out, or make "
                         f"the run smaller: {hint}")
    explicit = any(os.environ.get(v) for v in ("TMPDIR", "TEMP", "TMP"))
    if est.tmp_bytes or explicit:
        check_temp_dir(max(est.tmp_bytes, TMP_FLOOR_BYTES))
    return est
