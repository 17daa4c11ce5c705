"""Sun and Earth statistics at chosen points over long spans (years to a precession cycle).

The per-cell maps of :mod:`lupex.light.illumination` cost cells x steps; a
published landing-site number is usually quoted for one point over one to
twenty years. Here the points' horizons are taken once (from a horizon cube,
a ray march, or given columns that include a far field) and their visible
Sun and Earth fractions are followed over any number of steps, in chunks so
that twenty years at hourly steps (175,000 steps) fit in a few MB.

Definitions are those of :func:`lupex.light.illumination.light_statistics`
(``illumination_pct``: time-mean of the visible fraction of the Sun's disk;
``sunlit_time_pct``: time with any part of the disk visible; ``longest_darkness_h``:
longest run of steps with visible fraction <= ``dark_threshold``;
``earth_visible_pct``: time with at least ``earth_threshold`` of Earth's disk up),
so a point's numbers equal the map's at its cell over the same span (tested).
``centre_lit_pct`` adds the definition of studies that call a step lit when the
Sun's centre is above the horizon (visible fraction >= 1/2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lupex.errors import InputError
from lupex.light.illumination import _bruteforce_columns, _nearest_cells, point_series

__all__ = ["point_statistics", "longest_run"]


def longest_run(dark: np.ndarray) -> np.ndarray:
    """Length (steps) of the longest run of True along the last axis of a boolean array."""
    d = np.asarray(dark, dtype=bool)
    flat = d.reshape(-1, d.shape[-1])
    out = np.zeros(flat.shape[0], dtype=np.int64)
    for i, row in enumerate(flat):
        edges = np.diff(np.concatenate(([0], row.view(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        out[i] = int((ends - starts).max()) if starts.size else 0
    return out.reshape(d.shape[:-1])


def point_statistics(dem, points_xy, times, *, horizon_columns=None, horizon_cube=None, n_azimuths: int = 360,
                     observer_height_m: float = 0.0, dark_threshold: float = 0.0, earth_threshold: float = 0.5,
                     chunk_steps: int = 20_000) -> pd.DataFrame:
    """Light and Earth statistics (%, h) of each point over ``times`` (regular UTC grid), one row per point.

    Parameters
    ----------
    dem : xarray.DataArray
        The site DEM (m); each point takes its nearest cell.
    points_xy : array (n, 2)
        Points in the DEM's CRS, m.
    times : array of datetime64
        Regular time grid (the step sets the unit of ``longest_darkness_h``).
    horizon_columns : array (n_az, n), deg, optional
        The points' horizons (e.g. near + far field); else ``horizon_cube`` (n_az, ny, nx) deg, else a
        ray march on ``dem`` at ``n_azimuths`` with ``observer_height_m`` (m).
    dark_threshold, earth_threshold : float
        As in :func:`lupex.light.illumination.light_statistics`.
    """
    t = np.asarray(times, dtype="datetime64[s]")
    if t.size < 2:
        raise InputError("times must hold at least two steps")
    step = np.diff(t).astype(np.int64)
    if np.any(step != step[0]) or step[0] <= 0:
        raise InputError("times must be a regular, increasing grid")
    step_h = float(step[0]) / 3600.0
    if horizon_columns is None:  # the points' horizons once, for every chunk
        row, col = _nearest_cells(dem, points_xy)
        if horizon_cube is not None:
            horizon_columns = np.stack([np.asarray(horizon_cube[:, r, c], float) for r, c in zip(row, col)], axis=1)
        else:
            horizon_columns = _bruteforce_columns(dem, row, col, int(n_azimuths), observer_height_m)
    sun_parts, earth_parts = [], []
    for k0 in range(0, t.size, int(chunk_steps)):
        s = point_series(dem, None, points_xy, t[k0:k0 + int(chunk_steps)], horizon_columns=horizon_columns)
        sun_parts.append(s["sun_fraction"].values.astype(np.float32))
        earth_parts.append(s["earth_fraction"].values.astype(np.float32))
    sun = np.concatenate(sun_parts, axis=1)
    earth = np.concatenate(earth_parts, axis=1)
    n = sun.shape[1]
    return pd.DataFrame({
        "x_m": np.asarray(points_xy, float).reshape(-1, 2)[:, 0],
        "y_m": np.asarray(points_xy, float).reshape(-1, 2)[:, 1],
        "illumination_pct": 100.0 * sun.astype(np.float64).sum(axis=1) / n,
        "sunlit_time_pct": 100.0 * (sun > 0).sum(axis=1) / n,
        "centre_lit_pct": 100.0 * (sun >= 0.5).sum(axis=1) / n,
        "longest_darkness_h": longest_run(sun <= dark_threshold) * step_h,
        "earth_visible_pct": 100.0 * (earth >= earth_threshold).sum(axis=1) / n,
        "steps": n,
        "step_h": step_h,
    })
