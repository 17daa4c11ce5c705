"""Fill no-data holes of a DEM by minimum-curvature interpolation, or refuse to invent terrain.

No-data holes are filled by minimum-curvature interpolation (Briggs 1974,
Geophysics 39:39): the hole cells take the values that minimise the sum of the
squared discrete Laplacians of every cell whose stencil touches a hole, with
the valid cells around the hole held fixed. Its Euler-Lagrange equation is the
biharmonic equation, so planes and paraboloids are reproduced exactly and the
fill joins the surrounding slope smoothly. Filling only interpolates: when any
hole cell lies more than ``max_hole_radius_px`` pixels from valid data, or more
than ``max_nodata_frac`` of the DEM is no-data, the reader refuses (an
:class:`~lupex.errors.InputError`) rather than invent terrain.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import lsqr, spsolve

from lupex.errors import InputError

__all__ = ["DEFAULT_MAX_HOLE_RADIUS_PX", "DEFAULT_MAX_NODATA_FRAC", "fill_nodata"]

DEFAULT_MAX_HOLE_RADIUS_PX = 25.0
DEFAULT_MAX_NODATA_FRAC = 0.5


def _check_fillable(hole: np.ndarray, *, max_hole_radius_px, max_nodata_frac, pixel_m, name) -> None:
    """Raise InputError when the no-data cells are all of ``z``, too many, or a hole too wide to interpolate."""
    n_hole = int(hole.sum())
    if n_hole == hole.size:
        raise InputError(f"{name} holds no valid elevation (every cell is no-data); check the file or its no-data value")
    frac = n_hole / hole.size
    if frac > max_nodata_frac:
        raise InputError(
            f"{name} is {100 * frac:.1f}% no-data, more than the {100 * max_nodata_frac:.0f}% "
            "(max_nodata_frac) lupex will fill; crop it to the covered area or pass a larger "
            "max_nodata_frac"
        )
    dist = ndimage.distance_transform_edt(hole)
    worst = float(dist.max())
    if worst > max_hole_radius_px:
        i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
        where = f"row {i}, column {j}"
        size = f"{worst:.0f} px" + (f" ({worst * pixel_m:.0f} m)" if pixel_m else "")
        raise InputError(
            f"{name} has a no-data hole around {where} whose centre is {size} from the nearest valid "
            f"elevation, more than max_hole_radius_px={max_hole_radius_px:g}; filling it would invent "
            "terrain. Crop the DEM to the covered area, fill the gap from another product, or pass a "
            "larger max_hole_radius_px"
        )


def _min_curvature(z: np.ndarray, hole: np.ndarray, name: str) -> np.ndarray:
    """Hole values (m) that minimise the squared 5-point Laplacians of every cell touching a hole."""
    n_hole = int(hole.sum())
    ny, nx = z.shape
    idx = -np.ones(z.shape, dtype=np.int64)
    idx[hole] = np.arange(n_hole)
    # equation centres: every cell whose 5-point stencil touches a hole cell
    touch = ndimage.binary_dilation(hole, structure=ndimage.generate_binary_structure(2, 1))
    ci, cj = np.nonzero(touch)
    rows, cols, vals = [], [], []
    rhs = np.zeros(ci.size)
    has_x = (cj > 0) & (cj < nx - 1)
    has_y = (ci > 0) & (ci < ny - 1)
    eq = np.arange(ci.size)
    shift = float(np.mean(z[~hole]))  # solve for deviations: better conditioned sums
    zk = np.where(hole, 0.0, z - shift)  # known values; holes contribute through the matrix

    def add(sel, di, dj, w):
        ii, jj, ee = ci[sel] + di, cj[sel] + dj, eq[sel]
        unk = idx[ii, jj]
        u = unk >= 0
        rows.append(ee[u])
        cols.append(unk[u])
        vals.append(np.full(int(u.sum()), w))
        np.subtract.at(rhs, ee[~u], w * zk[ii[~u], jj[~u]])

    for sel, (d1, d2) in ((has_x, ((0, -1), (0, 1))), (has_y, ((-1, 0), (1, 0)))):
        add(sel, d1[0], d1[1], 1.0)
        add(sel, d2[0], d2[1], 1.0)
        add(sel, 0, 0, -2.0)
    a = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(ci.size, n_hole)
    )
    ata = (a.T @ a).tocsc()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a singular system falls back to lsqr below
        sol = spsolve(ata, a.T @ rhs)
    if not np.all(np.isfinite(sol)):
        sol = lsqr(a, rhs, atol=1e-12, btol=1e-12)[0]
    if not np.all(np.isfinite(sol)):
        raise InputError(f"{name}: the no-data holes could not be filled; crop the DEM to the covered area")
    return sol + shift


def fill_nodata(
    z: np.ndarray,
    *,
    max_hole_radius_px: float = DEFAULT_MAX_HOLE_RADIUS_PX,
    max_nodata_frac: float = DEFAULT_MAX_NODATA_FRAC,
    pixel_m: float | None = None,
    name: str = "the DEM",
) -> tuple[np.ndarray, np.ndarray]:
    """Fill non-finite cells of ``z`` by minimum-curvature interpolation.

    Returns ``(filled_z, mask)`` with ``mask`` True at the cells that were
    filled. Raises :class:`InputError` when ``z`` has no valid cell, when more
    than ``max_nodata_frac`` of it is no-data, or when a hole cell lies
    more than ``max_hole_radius_px`` pixels from the nearest valid cell (a
    64 x 64 fully no-data block reaches 32 px).

    Parameters
    ----------
    z : np.ndarray
        (ny, nx) heights, m; NaN or inf where there is no data.
    max_hole_radius_px : float
        Largest distance, px, of a hole cell from the nearest valid cell.
    max_nodata_frac : float
        Largest share (0..1) of no-data cells.
    pixel_m : float, optional
        Pixel size, m, for the messages only.
    name : str
        What ``z`` is, for the messages.
    """
    z = np.array(z, dtype=np.float64)
    hole = ~np.isfinite(z)
    if not hole.any():
        return z, hole
    _check_fillable(hole, max_hole_radius_px=max_hole_radius_px, max_nodata_frac=max_nodata_frac,
                    pixel_m=pixel_m, name=name)
    z[hole] = _min_curvature(z, hole, name)
    return z, hole
