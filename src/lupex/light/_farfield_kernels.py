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
def build_lines(zc, x0c, y0c, pc, dir_x, dir_y, lat_x, lat_y, cx, cy, v_lo, n_lines, spacing,
                ex_x0, ex_x1, ex_y0, ex_y1, u_lo, max_d, ds, radius, k0,
                u_first, n_samp, xs, ys, n_hull, inv_k, dinv_k, hx, hy):
    """Sample, place and hull the regional DEM ``zc`` along each line ``j`` of each azimuth ``k`` of a batch.

    Azimuth ``k`` has ``n_lines[k]`` lines; its geometry is ``dir_*[k]``, ``lat_*[k]``, ``v_lo[k]``,
    ``u_lo[k]``, and its outputs are ``[k, j]`` rows. Line ``j`` runs through
    ``p_j = c + (v_lo + j*spacing) * lat`` in the direction ``dir`` (projected metres). Its targets are the
    samples at ``u = u_start + i*ds`` (i >= 1) with ``u_start`` the line's exit from the excluded rectangle
    ``[ex_x0, ex_x1] x [ex_y0, ex_y1]`` (``u_lo`` when the line misses it), inside the regional grid's
    cell-centre domain and within ``max_d`` of ``c``. Heights are bilinear in ``zc`` (row 0 at ``y0c``,
    column 0 at ``x0c``, pixel ``pc``).

    True arc length from the foot point (polar stereographic, scale ``k = k0 (1 + rho**2 / (4 k0**2 R**2))``,
    integrated in closed form along the straight projected line):
    ``s(u) = (4 k0 R**2 / C) (atan((u + B) / C) - atan(B / C))``, ``B = p.dir``, ``C**2 = 4 k0**2 R**2 + |p|**2 - B**2``.
    That closed form places the first sample; the next ones add ``ds / k`` at the step's midpoint (the
    midpoint rule's error, ``ds**3/24 |(1/k)''|``, is below 1e-6 m per step).
    ``inv_k``/``dinv_k`` are ``1/k`` and ``d(1/k)/du`` at the foot, for the observers' (short) offsets.
    ``hx``/``hy`` get the hull vertices' coordinates (``n_hull`` of them per line): the monotone chain's
    stack itself.
    """
    n_max = xs.shape[1]
    for it in prange(dir_x.size * n_max):  # one region for the batch (a region per azimuth cost more than it saved)
        k = it // n_max
        j = it - k * n_max
        if j < n_lines[k]:
            _build_line(zc, x0c, y0c, pc, dir_x[k], dir_y[k], lat_x[k], lat_y[k], cx, cy, v_lo[k] + j * spacing,
                        ex_x0, ex_x1, ex_y0, ex_y1, u_lo[k], max_d, ds, radius, k0, k, j,
                        u_first, n_samp, xs, ys, n_hull, inv_k, dinv_k, hx, hy)


# one numba kernel: samples and hull of one line in one pass; splitting it costs a call per sample
@njit(cache=True)
def _build_line(zc, x0c, y0c, pc, dir_x, dir_y, lat_x, lat_y, cx, cy, v, ex_x0, ex_x1, ex_y0, ex_y1, u_lo,
                max_d, ds, radius, k0, k, j, u_first, n_samp, xs, ys, n_hull, inv_k, dinv_k, hx, hy):
    """Line ``j`` of azimuth ``k`` at lateral offset ``v`` (see :func:`build_lines`)."""
    max_s = xs.shape[2]
    nyc, nxc = zc.shape
    x1c = x0c + (nxc - 1) * pc
    y1c = y0c - (nyc - 1) * pc
    q = 4.0 * k0 * k0 * radius * radius
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
    inv_k[k, j] = 1.0 / kf
    dinv_k[k, j] = -(2.0 * k0 * bb / q) / (kf * kf)
    u_first[k, j] = u_start + ds
    n = 0
    top = -1
    s_arc = 0.0
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
        if n == 0:  # closed form to the first sample, then the midpoint rule step by step
            s_arc = fac * (np.arctan((u + bb) / cc) - at0)
        else:
            um = u - 0.5 * ds
            s_arc += ds / (k0 * (1.0 + (rho2 + um * (2.0 * bb + um)) / q))
        g = s_arc / radius
        if abs(g) < 0.3:
            sg, cg, omc = _sincos_mid(g)
        else:
            sg = np.sin(g)
            cg = np.cos(g)
            omc = 2.0 * np.sin(0.5 * g) ** 2
        X = (radius + z) * sg
        Y = z * cg - radius * omc
        xs[k, j, n] = X
        ys[k, j, n] = Y
        # upper convex hull, X increasing (monotone chain): drop vertices that do not turn clockwise
        while top >= 1:
            ax = hx[k, j, top - 1]
            ay = hy[k, j, top - 1]
            if (hx[k, j, top] - ax) * (Y - ay) - (hy[k, j, top] - ay) * (X - ax) >= 0.0:
                top -= 1
            else:
                break
        top += 1
        hx[k, j, top] = X
        hy[k, j, top] = Y
        n += 1
    n_samp[k, j] = n
    n_hull[k, j] = top + 1


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


@njit(cache=True, inline="always")
def _max_slope(hx, hy, j, m, ox, oy):
    """Largest slope ``(ty - oy) / (tx - ox)`` from ``(ox, oy)`` (behind them all) to hull vertices 0..m-1 of line j."""
    lo = 0
    hi = m - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _higher(hx[j, mid], hy[j, mid], hx[j, mid + 1], hy[j, mid + 1], ox, oy):
            lo = mid + 1
        else:
            hi = mid
    return (hy[j, lo] - oy) / (hx[j, lo] - ox)


@njit(cache=True, inline="always")
def _block_bound(p, q, blk, x0f, y0f, pf, zlo, zhi, dir_x, dir_y, lat_x, lat_y, cx, cy, v_lo, inv_spacing,
                 radius, u_first, n_samp, n_hull, hx, hy, inv_k, dinv_k):
    """Upper bound (rad) on the far-field horizon of every cell of block (p, q); +inf: none made, -inf: no far terrain.

    The block holds rows ``p*blk .. p*blk+blk-1`` and columns ``q*blk ..``; the bound is on the horizon that
    :func:`query_cells` computes itself.

    ``zlo``/``zhi`` are the block's lowest and highest eye heights (ground + observer), m. For each line ``j`` the
    block's cells may take, their eyes lie in the box ``[x_lo, x_hi] x [y_lo, inf)`` of the line's plane (from the
    block's arc range ``[g_lo, g_hi]`` and eye heights). For an eye in that box and a target ahead of ``x_hi`` the
    slope ``(ty - oy) / (tx - ox)`` is largest at the lowest eye, ``y_lo``, and, being ``c / (tx - ox)``, monotone
    in ``ox``, so at ``x_lo`` or ``x_hi``; over the line's samples the largest is a hull vertex (tangent by binary
    search). The elevation is that plane angle plus the eye's own central angle (its horizontal is turned by
    ``g``), hence ``e <= atan(max slope) + g_hi``. No bound where a cell of the block may be past its line's first
    sample (:func:`late_cells` takes those) or the box is not behind every sample.
    """
    n_lines = hx.shape[0]
    u_lo = np.inf
    u_hi = -np.inf
    v_mn = np.inf
    v_mx = -np.inf
    for a in range(2):  # u and v are linear in x and y: their extremes are at the block's corner cells
        for b in range(2):
            rx = x0f + (q * blk + b * (blk - 1)) * pf - cx
            ry = y0f - (p * blk + a * (blk - 1)) * pf - cy
            u = rx * dir_x + ry * dir_y
            v = (rx * lat_x + ry * lat_y - v_lo) * inv_spacing + 0.5
            u_lo = min(u_lo, u)
            u_hi = max(u_hi, u)
            v_mn = min(v_mn, v)
            v_mx = max(v_mx, v)
    j_lo = min(max(int(np.floor(v_mn - 1e-6)), 0), n_lines - 1)
    j_hi = min(max(int(np.floor(v_mx + 1e-6)), 0), n_lines - 1)
    best = -np.inf
    for j in range(j_lo, j_hi + 1):
        m = n_hull[j]
        if n_samp[j] == 0 or m == 0:
            continue
        if u_hi >= u_first[j] - 1.0:
            return np.inf
        g_lo = (u_lo * inv_k[j] + 0.5 * u_lo * u_lo * dinv_k[j]) / radius
        g_hi = (u_hi * inv_k[j] + 0.5 * u_hi * u_hi * dinv_k[j]) / radius
        s_lo, c_lo, o_lo = _sincos_small(g_lo)
        s_hi, c_hi, o_hi = _sincos_small(g_hi)
        x_lo = (radius + (zlo if g_lo >= 0.0 else zhi)) * s_lo
        x_hi = (radius + (zhi if g_hi >= 0.0 else zlo)) * s_hi
        if abs(g_hi) >= abs(g_lo):
            y_lo = zlo * c_hi - radius * o_hi
        else:
            y_lo = zlo * c_lo - radius * o_lo
        if x_hi >= hx[j, 0] - 1.0:
            return np.inf
        sl = max(_max_slope(hx, hy, j, m, x_hi, y_lo), _max_slope(hx, hy, j, m, x_lo, y_lo))
        best = max(best, np.arctan(sl) + g_hi)
    return best


# one numba kernel: the parallel loop over cells walks each line's hull in place; splitting it costs a call per cell
@njit(cache=True, parallel=True)
def query_cells(zf, x0f, y0f, pf, h_m, dir_x, dir_y, lat_x, lat_y, cx, cy, v_lo, n_lines, spacing, radius,
                u_first, n_samp, n_hull, hx, hy, inv_k, dinv_k, late_n, late_at, out_deg,
                blk, zmin_blk, zmax_blk, margin_deg, bound_deg):
    """``out_deg[k, r, c] = max(out_deg[k, r, c], far-field horizon of cell (r, c) at azimuth k)`` in degrees.

    One parallel region for a batch of azimuths ``k`` (geometry ``dir_*[k]``, ``lat_*[k]``, ``v_lo[k]``,
    ``n_lines[k]``; the line arrays carry ``k`` first). The cell (centre ``(x0f + c pf, y0f - r pf)``, eye
    ``zf[r, c] + h_m``) belongs to the nearest line ``j`` (lateral offset <= spacing / 2). Its arc position on
    the line is ``s = u/k + u**2/2 d(1/k)/du`` (``|u|`` is at most the site's half diagonal). When all the
    line's targets lie ahead (``u`` before the first sample) the highest one is the hull vertex tangent from
    the eye: the angle seen from a point behind the hull is unimodal along it, so a binary search finds it,
    or, for the next cell on the same line, a walk from the previous cell's vertex (usually a step or two).
    A cell past its line's first sample (where the line leaves the footprint before the cell's own ray does)
    is left to :func:`late_cells` and recorded: ``late_at[k, r, c] = 1``, ``late_n[k, r]`` counts them. Cells
    are visited row by row (down the columns was slower for lines near the y axis: strided memory costs more
    than the extra binary searches). Elevation is measured from the eye's own horizontal (exact on the sphere).

    Culling (``blk > 0``): the cells go in blocks of ``blk x blk`` (lowest and highest eye ``zmin_blk``,
    ``zmax_blk``, m); a block's bound (:func:`_block_bound`, deg, plus ``margin_deg``, kept in
    ``bound_deg[k]``) is made once per azimuth, and a cell whose cube value is already >= it is skipped: its
    far field cannot raise it, so the folded cube is the same as without culling.
    """
    ny, nx = zf.shape
    nk = dir_x.size
    inv_spacing = 1.0 / spacing
    rad = np.float32(np.pi / 180.0)
    step = blk if blk > 0 else 8
    nby = (ny + step - 1) // step
    nbx = (nx + step - 1) // step
    for it in prange(nk * nby):
        k = it // nby
        p = it - k * nby
        dxk = dir_x[k]
        dyk = dir_y[k]
        lxk = lat_x[k]
        lyk = lat_y[k]
        vlk = v_lo[k]
        nlk = n_lines[k]
        if blk > 0:
            for q in range(nbx):
                bb = _block_bound(p, q, blk, x0f, y0f, pf, zmin_blk[p, q], zmax_blk[p, q], dxk, dyk, lxk, lyk,
                                  cx, cy, vlk, inv_spacing, radius, u_first[k, :nlk], n_samp[k, :nlk],
                                  n_hull[k, :nlk], hx[k, :nlk], hy[k, :nlk], inv_k[k, :nlk], dinv_k[k, :nlk])
                bound_deg[k, p, q] = np.float32(bb * (180.0 / np.pi) + margin_deg) if np.isfinite(bb) else bb
        for r in range(p * step, min(ny, (p + 1) * step)):
            late_n[k, r] = 0
            prev_j = -1
            kb = 0
            # u, v of the row's first cell and their steps along the row
            rx = x0f - cx
            ry = y0f - r * pf - cy
            u0 = rx * dxk + ry * dyk
            du = pf * dxk
            v0 = (rx * lxk + ry * lyk - vlk) * inv_spacing + 0.5
            dv = pf * lxk * inv_spacing
            for q in range(nbx):
                lim = bound_deg[k, p, q] if blk > 0 else np.float32(np.inf)
                for c in range(q * step, min(nx, (q + 1) * step)):
                    if out_deg[k, r, c] >= lim:
                        continue
                    u = u0 + c * du
                    j = int(np.floor(v0 + c * dv))
                    j = min(max(j, 0), nlk - 1)
                    n = n_samp[k, j]
                    if n == 0:
                        continue
                    if u >= u_first[k, j] - 1e-6:
                        late_at[k, r, c] = 1
                        late_n[k, r] += 1
                        continue
                    g = (u * inv_k[k, j] + 0.5 * u * u * dinv_k[k, j]) / radius
                    sg, cg, omc = _sincos_small(g)
                    zo = zf[r, c] + h_m
                    ox = (radius + zo) * sg
                    oy = zo * cg - radius * omc
                    m = n_hull[k, j]
                    if j != prev_j:
                        lo = 0
                        hi = m - 1
                        while lo < hi:
                            mid = (lo + hi) // 2
                            if _higher(hx[k, j, mid], hy[k, j, mid], hx[k, j, mid + 1], hy[k, j, mid + 1], ox, oy):
                                lo = mid + 1
                            else:
                                hi = mid
                        kb = lo
                        prev_j = j
                    else:
                        while kb + 1 < m and _higher(hx[k, j, kb], hy[k, j, kb], hx[k, j, kb + 1], hy[k, j, kb + 1],
                                                     ox, oy):
                            kb += 1
                        while kb > 0 and not _higher(hx[k, j, kb - 1], hy[k, j, kb - 1], hx[k, j, kb], hy[k, j, kb],
                                                     ox, oy):
                            kb -= 1
                    dx = hx[k, j, kb] - ox
                    dy = hy[k, j, kb] - oy
                    tan_e = (dx * sg + dy * cg) / (dx * cg - dy * sg)
                    # skip the arctangent where the cube's value is surely higher: tan x >= x on [0, pi/2)
                    # and tan x >= 4x/pi on [-pi/4, 0) (the chord of the concave branch)
                    en = out_deg[k, r, c] * rad
                    lb = en if en >= 0.0 else (1.2732395 * en if en >= -0.785 else -np.inf)
                    if tan_e <= lb:
                        continue
                    e = _DEG32 * np.arctan(np.float32(tan_e))  # atanf: the cube is float32 anyway
                    if e > out_deg[k, r, c]:
                        out_deg[k, r, c] = e


# one numba kernel: the exact march for the leftover cells; splitting it costs a call per cell and sample
@njit(cache=True)
def late_cells(zf, x0f, y0f, pf, h_m, dir_x, dir_y, lat_x, lat_y, cx, cy, v_lo, spacing, ds, radius,
               u_first, n_samp, xs, ys, inv_k, dinv_k, late_n, late_at, out_deg):
    """The far field of the cells :func:`query_cells` left (past their line's first sample), exactly.

    Per line, its late cells in decreasing ``u`` meet the line's samples in a backward sweep that keeps
    the upper hull of the samples ahead of the current cell (at least ``ds/2`` ahead: nearer ones are
    below the grid's resolution), as the near-field kernel does; the tangent vertex is found by binary
    search on that hull. O(samples + late cells) per line. The ``late_at`` marks (uint8, one per cell) are
    read and cleared, ready for the next azimuth.
    """
    ny, nx = zf.shape
    n_lines = xs.shape[0]
    total = 0
    for r in range(late_n.size):
        total += late_n[r]
    if total == 0:
        return
    rr = np.empty(total, np.int64)
    cc = np.empty(total, np.int64)
    jj = np.empty(total, np.int64)
    uu = np.empty(total)
    key = np.empty(total)
    k = 0
    for r in range(late_n.size):
        if late_n[r] == 0:
            continue
        for c in range(nx):
            if late_at[r, c] == 0:
                continue
            late_at[r, c] = 0
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
