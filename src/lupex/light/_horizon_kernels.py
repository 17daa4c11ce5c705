"""numba kernels behind :mod:`lupex.light.horizon` (see there for the method and sources).

Two kernels:

* :func:`sweep_azimuth` -- the O(N)-per-azimuth line sweep with an upper-convex-hull
  stack (Dozier & Frew 1990, IEEE TGRS 28(5):963-969; Dozier 2022, Computers &
  Geosciences 160:105011), on a grid already turned so that the sweep runs along
  +column ("major" axis) and the lines drift towards +row ("minor" axis) by
  ``t = tan(angle off the major axis)`` in [0, 1] rows per column;
* :func:`bruteforce_cells` -- a deliberately naive ray march with bilinear sampling,
  the independent reference the tests and the benchmark compare against.

Inside the kernels heights are metres, distances metres, slopes are tangents.
Curvature uses the parabolic (small-angle) drop ``d**2 / (2 R)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_LINES_PER_CHUNK = 16
_DEG32 = np.float32(180.0 / np.pi)


# one numba kernel: the sweep carries its hull from cell to cell along a line; splitting it costs a call per cell
@njit(cache=True, parallel=True, fastmath=False)
def sweep_azimuth(w_m, t, ds_m, inv_radius, h_m, edge_deg, transpose, flip_major, flip_minor,
                  out_deg, want_dist, dist_m):
    """Horizon of every cell of the turned grid ``w_m`` (n_minor, n_major) for one azimuth.

    Line ``L`` visits, at every column ``c``, the fractional row
    ``m = r0 + t*c`` with ``r0 = L - base[-1]``; ``base[c] = floor(t*c + 0.5)`` and
    ``frac[c] = t*c - base[c]`` in [-0.5, 0.5). The sample is the observer for cell
    ``(r0 + base[c], c)`` (nearest row), so each cell is visited exactly once; its
    height is the linear interpolation between the two rows straddling ``m``
    (the edge row's own value where ``m`` lies in the half-cell margin outside the
    outer cell centres). Only samples with ``0 <= m <= n_minor - 1`` act as
    targets (the terrain the ray crosses), matching the brute force's domain.

    With arclength ``s = c * ds`` and ``z' = z - s**2 / (2R)``, the curvature-corrected
    slope from observer ``o`` (raised by ``h``) to target ``t`` is
    ``(z'_t - z'_o - h) / (s_t - s_o) + s_o / R``: the per-observer term does not
    depend on the target, so the maximiser is the hull vertex of the (s, z')
    points ahead that is tangent from ``(s_o, z'_o + h)``.

    Results go to ``out_deg`` in the original (un-turned) orientation:
    ``transpose``/``flip_*`` say how the turned indices map back.
    """
    n_minor, n_major = w_m.shape
    base = np.empty(n_major, np.int64)
    frac = np.empty(n_major, np.float64)
    zdrop = np.empty(n_major, np.float64)
    half_inv_r = 0.5 * inv_radius
    for c in range(n_major):
        m = t * c
        b = np.floor(m + 0.5)
        base[c] = np.int64(b)
        frac[c] = m - b
        s = c * ds_m
        zdrop[c] = s * s * half_inv_r
    b_last = base[n_major - 1]
    n_lines = n_minor + b_last
    n_chunks = (n_lines + _LINES_PER_CHUNK - 1) // _LINES_PER_CHUNK
    for ch in prange(n_chunks):
        stack = np.empty(n_major, np.int64)
        zp = np.empty(n_major, np.float64)
        lo = ch * _LINES_PER_CHUNK
        hi = min(lo + _LINES_PER_CHUNK, n_lines)
        for line in range(lo, hi):
            r0 = line - b_last
            c_start = np.searchsorted(base, -r0, side="left")
            c_end = np.searchsorted(base, n_minor - 1 - r0, side="right") - 1
            # transformed heights along the line
            for c in range(c_start, c_end + 1):
                row = r0 + base[c]
                f = frac[c]
                z0 = w_m[row, c]
                if f >= 0.0:
                    r2 = row + 1 if row + 1 < n_minor else row
                    z = z0 + f * (w_m[r2, c] - z0)
                else:
                    r2 = row - 1 if row >= 1 else row
                    z = z0 - f * (w_m[r2, c] - z0)
                zp[c] = z - zdrop[c]
            top = -1
            for c in range(c_end, c_start - 1, -1):
                row = r0 + base[c]
                f = frac[c]
                is_target = not ((row == 0 and f < 0.0) or (row == n_minor - 1 and f > 0.0))
                zo = zp[c]
                best = -1
                if top >= 0:
                    if is_target:
                        # ground point joins the hull: drop vertices it hides (amortised O(1))
                        while top >= 1:
                            a = stack[top]
                            b2 = stack[top - 1]
                            if (zp[a] - zo) * (b2 - c) <= (zp[b2] - zo) * (a - c):
                                top -= 1
                            else:
                                break
                    if h_m == 0.0 and is_target:
                        best = stack[top]
                    else:
                        # tangent from the raised (or non-hull) observer: unimodal over the hull
                        zq = zo + h_m
                        lo_k = 0
                        hi_k = top
                        while lo_k < hi_k:
                            mid = (lo_k + hi_k) // 2
                            a = stack[mid]
                            a1 = stack[mid + 1]
                            if (zp[a] - zq) * (a1 - c) >= (zp[a1] - zq) * (a - c):
                                hi_k = mid
                            else:
                                lo_k = mid + 1
                        best = stack[lo_k]
                if best >= 0:
                    d = (best - c) * ds_m
                    tan_e = (zp[best] - zo - h_m) / d + c * ds_m * inv_radius
                    elev = _DEG32 * np.arctan(np.float32(tan_e))  # atanf: result is float32 anyway
                else:
                    d = np.inf
                    elev = np.float32(edge_deg)
                if is_target:
                    top += 1
                    stack[top] = c
                rr = n_minor - 1 - row if flip_minor else row
                cc = n_major - 1 - c if flip_major else c
                if transpose:
                    out_deg[cc, rr] = elev
                    if want_dist:
                        dist_m[cc, rr] = d
                else:
                    out_deg[rr, cc] = elev
                    if want_dist:
                        dist_m[rr, cc] = d


@njit(cache=True, parallel=True)
def bruteforce_cells(z_m, pixel_m, az_rad, rows, cols, h_m, inv_radius, step_px, edge_deg,
                     out_deg, dist_m):
    """Naive reference: march from each cell centre in steps of ``step_px`` pixels to the grid edge.

    The terrain is the bilinear surface through the cell centres, defined on
    ``[0, nx-1] x [0, ny-1]`` (column, row); the elevation of a sample at distance
    ``d`` is ``atan((z_t - z_o - h - d**2 / (2R)) / d)``; the horizon is the maximum over
    samples (``edge_deg`` when the first step already leaves the grid).
    """
    ny, nx = z_m.shape
    dc = step_px * np.sin(az_rad)
    dr = -step_px * np.cos(az_rad)
    eps = 1e-9
    for i in prange(rows.size):
        r0 = rows[i]
        c0 = cols[i]
        zo = z_m[r0, c0] + h_m
        best = -np.inf
        best_d = np.inf
        k = 1
        while True:
            r = r0 + k * dr
            c = c0 + k * dc
            if r < -eps or r > ny - 1 + eps or c < -eps or c > nx - 1 + eps:
                break
            r = min(max(r, 0.0), ny - 1.0)
            c = min(max(c, 0.0), nx - 1.0)
            i0 = min(int(np.floor(r)), ny - 2)
            j0 = min(int(np.floor(c)), nx - 2)
            fr = r - i0
            fc = c - j0
            z = ((1 - fr) * ((1 - fc) * z_m[i0, j0] + fc * z_m[i0, j0 + 1])
                 + fr * ((1 - fc) * z_m[i0 + 1, j0] + fc * z_m[i0 + 1, j0 + 1]))
            d = k * step_px * pixel_m
            tan_e = (z - zo - 0.5 * d * d * inv_radius) / d
            if tan_e > best:
                best = tan_e
                best_d = d
            k += 1
        if best == -np.inf:
            out_deg[i] = edge_deg
        else:
            out_deg[i] = np.degrees(np.arctan(best))
        dist_m[i] = best_d
