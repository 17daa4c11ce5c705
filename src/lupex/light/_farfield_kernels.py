"""numba kernels behind :mod:`lupex.light.farfield` (see there for the method, sources and accuracy).

Two kernels, both for one grid azimuth:

* :func:`build_lines` -- samples the regional DEM along parallel lines that cover the site, from where
  each line leaves the excluded (finer) footprint outwards, places the samples in the exact plane of the
  line's great circle (true arc length from the polar stereographic scale factor, the Moon a sphere), and
  keeps each line's upper convex hull;
* :func:`query_cells` -- for every site cell, the tangent from the cell's eye (its own ground height plus
  the observer height) to the hull of its line, i.e. the highest far-field target, folded into the cube
  slice with ``max``.

Plane coordinates of a point at height ``z`` and central angle ``g`` from the line's foot point:
``X = (R + z) sin g`` (forward), ``Y = (R + z) cos g - R`` (up at the foot point), written as
``z cos g - 2 R sin(g/2)**2`` to keep the digits. Everything is metres; angles radians until the output.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_DEG32 = np.float32(180.0 / np.pi)


@njit(cache=True, inline="always")
def _slab(p, d, lo, hi):
    """(t_enter, t_exit) of the line p + t d through the interval [lo, hi] (inf/-inf bounds when d == 0)."""
    if d > 0.0:
        return (lo - p) / d, (hi - p) / d
    if d < 0.0:
        return (hi - p) / d, (lo - p) / d
    if lo <= p <= hi:
        return -np.inf, np.inf
    return np.inf, -np.inf


@njit(cache=True, inline="always")
def _sincos_mid(g):
    """(sin g, cos g, 1 - cos g) for |g| < 0.3 (500 km on the Moon) by Taylor series, error < 2e-16."""
    g2 = g * g
    s = g * (1.0 - g2 / 6.0 * (1.0 - g2 / 20.0 * (1.0 - g2 / 42.0 * (1.0 - g2 / 72.0 * (1.0 - g2 / 110.0)))))
    omc = 0.5 * g2 * (1.0 - g2 / 12.0 * (1.0 - g2 / 30.0 * (1.0 - g2 / 56.0 * (1.0 - g2 / 90.0 * (1.0 - g2 / 132.0)))))
    return s, 1.0 - omc, omc


@njit(cache=True, parallel=True)
def build_lines(zc, x0c, y0c, pc, dir_x, dir_y, lat_x, lat_y, cx, cy, v_lo, spacing,
                ex_x0, ex_x1, ex_y0, ex_y1, u_lo, max_d, ds, radius, k0,
                u_first, n_samp, xs, ys, hull, n_hull, inv_k, dinv_k, hx, hy):
    """Sample, place and hull the regional DEM ``zc`` along each line ``j`` (rows of the outputs).

    Line ``j`` runs through ``p_j = c + (v_lo + j*spacing) * lat`` in the direction ``dir`` (projected
    metres). Its targets are the samples at ``u = u_start + i*ds`` (i >= 1) with ``u_start`` the line's
    exit from the excluded rectangle ``[ex_x0, ex_x1] x [ex_y0, ex_y1]`` (``u_lo`` when the line misses
    it), inside the regional grid's cell-centre domain and within ``max_d`` of ``c``. Heights are
    bilinear in ``zc`` (row 0 at ``y0c``, column 0 at ``x0c``, pixel ``pc``).

    True arc length from the foot point (polar stereographic, scale ``k = k0 (1 + rho**2 / (4 k0**2 R**2))``,
    integrated in closed form along the straight projected line):
    ``s(u) = (4 k0 R**2 / C) (atan((u + B) / C) - atan(B / C))``, ``B = p.dir``, ``C**2 = 4 k0**2 R**2 + |p|**2 - B**2``.
    ``inv_k``/``dinv_k`` are ``1/k`` and ``d(1/k)/du`` at the foot, for the observers' (short) offsets.
    ``hx``/``hy`` get the hull vertices' coordinates (``n_hull`` of them per line).
    """
    n_lines, max_s = xs.shape
    nyc, nxc = zc.shape
    x1c = x0c + (nxc - 1) * pc
    y1c = y0c - (nyc - 1) * pc
    q = 4.0 * k0 * k0 * radius * radius
    for j in prange(n_lines):
        v = v_lo + j * spacing
        px = cx + v * lat_x
        py = cy + v * lat_y
        a_in, a_out = _slab(px, dir_x, ex_x0, ex_x1)
        b_in, b_out = _slab(py, dir_y, ex_y0, ex_y1)
        t_in = max(a_in, b_in)
        t_out = min(a_out, b_out)
        u_start = t_out if t_in <= t_out else u_lo
        a_in, a_out = _slab(px, dir_x, x0c, x1c)
        b_in, b_out = _slab(py, dir_y, y1c, y0c)
        u_end = min(a_out, b_out)
        if max_d * max_d > v * v:
            u_end = min(u_end, np.sqrt(max_d * max_d - v * v))
        else:
            u_end = -np.inf
        rho2 = px * px + py * py
        bb = px * dir_x + py * dir_y
        cc = np.sqrt(q + rho2 - bb * bb)
        fac = 4.0 * k0 * radius * radius / cc
        at0 = np.arctan(bb / cc)
        kf = k0 * (1.0 + rho2 / q)
        inv_k[j] = 1.0 / kf
        dinv_k[j] = -(2.0 * k0 * bb / q) / (kf * kf)
        u_first[j] = u_start + ds
        n = 0
        top = -1
        while n < max_s:
            u = u_start + (n + 1) * ds
            if u > u_end:
                break
            qx = px + u * dir_x
            qy = py + u * dir_y
            fc = (qx - x0c) / pc
            fr = (y0c - qy) / pc
            fc = min(max(fc, 0.0), nxc - 1.0)
            fr = min(max(fr, 0.0), nyc - 1.0)
            i0 = min(int(fr), nyc - 2)
            c0 = min(int(fc), nxc - 2)
            wr = fr - i0
            wc = fc - c0
            z = ((1.0 - wr) * ((1.0 - wc) * zc[i0, c0] + wc * zc[i0, c0 + 1])
                 + wr * ((1.0 - wc) * zc[i0 + 1, c0] + wc * zc[i0 + 1, c0 + 1]))
            g = fac * (np.arctan((u + bb) / cc) - at0) / radius
            if abs(g) < 0.3:
                sg, cg, omc = _sincos_mid(g)
            else:
                sg = np.sin(g)
                cg = np.cos(g)
                omc = 2.0 * np.sin(0.5 * g) ** 2
            X = (radius + z) * sg
            Y = z * cg - radius * omc
            xs[j, n] = X
            ys[j, n] = Y
            # upper convex hull, X increasing (monotone chain): drop vertices that do not turn clockwise
            while top >= 1:
                a = hull[j, top - 1]
                b = hull[j, top]
                if (xs[j, b] - xs[j, a]) * (Y - ys[j, a]) - (ys[j, b] - ys[j, a]) * (X - xs[j, a]) >= 0.0:
                    top -= 1
                else:
                    break
            top += 1
            hull[j, top] = n
            n += 1
        n_samp[j] = n
        n_hull[j] = top + 1
        for i in range(top + 1):  # the hull's vertices side by side, for the queries
            hx[j, i] = xs[j, hull[j, i]]
            hy[j, i] = ys[j, hull[j, i]]


@njit(cache=True, inline="always")
def _sincos_small(g):
    """(sin g, cos g, 1 - cos g) for |g| < 0.02 by their series (error < 1e-18)."""
    g2 = g * g
    s = g * (1.0 - g2 / 6.0 * (1.0 - g2 / 20.0 * (1.0 - g2 / 42.0)))
    omc = 0.5 * g2 * (1.0 - g2 / 12.0 * (1.0 - g2 / 30.0))
    return s, 1.0 - omc, omc


@njit(cache=True, inline="always")
def _higher(ax, ay, bx, by, ox, oy):
    """True when b is seen strictly higher than a from o (both ahead of o)."""
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox) > 0.0


@njit(cache=True, parallel=True)
def query_cells(zf, x0f, y0f, pf, h_m, dir_x, dir_y, lat_x, lat_y, cx, cy, v_lo, spacing, ds, radius,
                u_first, n_samp, n_hull, hx, hy, inv_k, dinv_k, by_columns, late_n, late_at, out_deg):
    """``out_deg[r, c] = max(out_deg[r, c], far-field horizon of cell (r, c))`` in degrees.

    The cell (centre ``(x0f + c pf, y0f - r pf)``, eye ``zf[r, c] + h_m``) belongs to the nearest line
    ``j`` (lateral offset <= spacing / 2). Its arc position on the line is ``s = u/k + u**2/2 d(1/k)/du``
    (``|u|`` is at most the site's half diagonal). When all the line's targets lie ahead (``u`` before
    the first sample) the highest one is the hull vertex tangent from the eye: the angle seen from a
    point behind the hull is unimodal along it, so a binary search finds it, or, for the next cell on
    the same line, a walk from the previous cell's vertex (usually a step or two). A cell past its
    line's first sample (where the line leaves the footprint before the cell's own ray does) is left to
    :func:`late_cells` and recorded: ``late_at[o, :late_n[o]]`` hold the inner indices. Cells are
    visited along columns when ``by_columns`` (lines closer to the grid's y axis), so that neighbours
    share a line. Elevation is measured from the eye's own horizontal (exact on the sphere).
    """
    ny, nx = zf.shape
    n_lines = hx.shape[0]
    n_outer = nx if by_columns else ny
    n_inner = ny if by_columns else nx
    inv_spacing = 1.0 / spacing
    rad = np.float32(np.pi / 180.0)
    for o in prange(n_outer):
        late_n[o] = 0
        prev_j = -1
        kb = 0
        oo = np.int64(o)
        # u, v of the outer line's first cell and their steps along it
        if by_columns:
            rx = x0f + oo * pf - cx
            ry = y0f - cy
            du = -pf * dir_y
            dv = -pf * lat_y
        else:
            rx = x0f - cx
            ry = y0f - oo * pf - cy
            du = pf * dir_x
            dv = pf * lat_x
        u0 = rx * dir_x + ry * dir_y
        v0 = (rx * lat_x + ry * lat_y - v_lo) * inv_spacing + 0.5
        dv *= inv_spacing
        for i_in in range(n_inner):
            r = np.int64(i_in) if by_columns else oo
            c = oo if by_columns else np.int64(i_in)
            u = u0 + i_in * du
            j = int(np.floor(v0 + i_in * dv))
            j = min(max(j, 0), n_lines - 1)
            n = n_samp[j]
            if n == 0:
                continue
            g = (u * inv_k[j] + 0.5 * u * u * dinv_k[j]) / radius
            sg, cg, omc = _sincos_small(g)
            zo = zf[r, c] + h_m
            ox = (radius + zo) * sg
            oy = zo * cg - radius * omc
            if u < u_first[j] - 1e-6:
                m = n_hull[j]
                if j != prev_j:
                    lo = 0
                    hi = m - 1
                    while lo < hi:
                        mid = (lo + hi) // 2
                        if _higher(hx[j, mid], hy[j, mid], hx[j, mid + 1], hy[j, mid + 1], ox, oy):
                            lo = mid + 1
                        else:
                            hi = mid
                    kb = lo
                    prev_j = j
                else:
                    while kb + 1 < m and _higher(hx[j, kb], hy[j, kb], hx[j, kb + 1], hy[j, kb + 1], ox, oy):
                        kb += 1
                    while kb > 0 and not _higher(hx[j, kb - 1], hy[j, kb - 1], hx[j, kb], hy[j, kb], ox, oy):
                        kb -= 1
                tx = hx[j, kb]
                ty = hy[j, kb]
            else:
                late_at[o, late_n[o]] = i_in
                late_n[o] += 1
                continue
            dx = tx - ox
            dy = ty - oy
            tan_e = (dx * sg + dy * cg) / (dx * cg - dy * sg)
            # skip the arctangent where the cube's value is surely higher: tan x >= x on [0, pi/2)
            # and tan x >= 4x/pi on [-pi/4, 0) (the chord of the concave branch)
            en = out_deg[r, c] * rad
            lb = en if en >= 0.0 else (1.2732395 * en if en >= -0.785 else -np.inf)
            if tan_e <= lb:
                continue
            e = _DEG32 * np.arctan(np.float32(tan_e))  # atanf: the cube is float32 anyway
            if e > out_deg[r, c]:
                out_deg[r, c] = e


@njit(cache=True)
def late_cells(zf, x0f, y0f, pf, h_m, dir_x, dir_y, lat_x, lat_y, cx, cy, v_lo, spacing, ds, radius,
               u_first, n_samp, xs, ys, inv_k, dinv_k, by_columns, late_n, late_at, out_deg):
    """The far field of the cells :func:`query_cells` left (past their line's first sample), exactly.

    Per line, its late cells in decreasing ``u`` meet the line's samples in a backward sweep that keeps
    the upper hull of the samples ahead of the current cell (at least ``ds/2`` ahead: nearer ones are
    below the grid's resolution), as the near-field kernel does; the tangent vertex is found by binary
    search on that hull. O(samples + late cells) per line.
    """
    ny, nx = zf.shape
    n_lines = xs.shape[0]
    total = 0
    for o in range(late_n.size):
        total += late_n[o]
    if total == 0:
        return
    rr = np.empty(total, np.int64)
    cc = np.empty(total, np.int64)
    jj = np.empty(total, np.int64)
    uu = np.empty(total)
    key = np.empty(total)
    k = 0
    for o in range(late_n.size):
        for m in range(late_n[o]):
            i_in = late_at[o, m]
            r = i_in if by_columns else o
            c = o if by_columns else i_in
            rx = x0f + c * pf - cx
            ry = y0f - r * pf - cy
            u = rx * dir_x + ry * dir_y
            v = rx * lat_x + ry * lat_y
            j = min(max(int(np.floor((v - v_lo) / spacing + 0.5)), 0), n_lines - 1)
            rr[k] = r
            cc[k] = c
            jj[k] = j
            uu[k] = u
            key[k] = j * 1.0e8 - u  # by line, then from the far end backwards (|u| << 1e8 m)
            k += 1
    order = np.argsort(key)
    stack = np.empty(xs.shape[1], np.int64)
    a0 = 0
    while a0 < total:
        j = jj[order[a0]]
        a1 = a0
        while a1 < total and jj[order[a1]] == j:
            a1 += 1
        n = n_samp[j]
        top = -1
        nxt = n - 1
        for q in range(a0, a1):
            t = order[q]
            u = uu[t]
            while nxt >= 0 and u_first[j] + nxt * ds >= u + 0.5 * ds:
                # sample nxt joins as the nearest: drop the vertices it hides
                px_ = xs[j, nxt]
                py_ = ys[j, nxt]
                while top >= 1:
                    b = stack[top]
                    c2 = stack[top - 1]
                    if (xs[j, b] - px_) * (ys[j, c2] - py_) - (ys[j, b] - py_) * (xs[j, c2] - px_) >= 0.0:
                        top -= 1
                    else:
                        break
                top += 1
                stack[top] = nxt
                nxt -= 1
            if top < 0:
                continue
            g = (u * inv_k[j] + 0.5 * u * u * dinv_k[j]) / radius
            sg, cg, omc = _sincos_small(g)
            zo = zf[rr[t], cc[t]] + h_m
            ox = (radius + zo) * sg
            oy = zo * cg - radius * omc
            lo = 0
            hi = top
            while lo < hi:  # stack[0] farthest .. stack[top] nearest; the angle is unimodal along it
                mid = (lo + hi) // 2
                a = stack[mid]
                b = stack[mid + 1]
                if _higher(xs[j, a], ys[j, a], xs[j, b], ys[j, b], ox, oy):
                    lo = mid + 1
                else:
                    hi = mid
            best = stack[lo]
            dx = xs[j, best] - ox
            dy = ys[j, best] - oy
            tan_e = (dx * sg + dy * cg) / (dx * cg - dy * sg)
            e = _DEG32 * np.arctan(np.float32(tan_e))
            if e > out_deg[rr[t], cc[t]]:
                out_deg[rr[t], cc[t]] = e
        a0 = a1
