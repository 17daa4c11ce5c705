"""Numba kernel of the per-cell light statistics (see :mod:`lupex.light.illumination`).

One call handles one tile of the horizon cube. Cells run in parallel (prange
over the tile's rows); each cell walks the times in order, in chunks of
``TCHUNK`` steps. Per chunk and body the kernel first bounds the body's
elevation at the cell (interval arithmetic on the per-chunk ranges of the
site-frame direction) and the cell's horizon over the azimuth sectors the body
crosses in the chunk; when the whole disk stays above (or below) the horizon
for the whole chunk, the chunk is accounted for in O(1). Otherwise, per step:
a tilt dot product and a cubic for the elevation, an early-out against the
chunk's horizon bounds, an azimuth bin + weight, two horizon loads and a table
lookup for the disk fraction. No transcendental function per cell-step. The
early-outs are conservative, so they never change a result.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from lupex.light.sky import C_A1, C_A2, C_A3, C_EL0, C_F0, C_INVR, C_KX, C_KY, C_R, C_SX, C_SY, C_SZ

TCHUNK = 32
N_SEC = 72

# output slots of the per-cell result array
O_SUN_SUM, O_SUN_ANY, O_SUN_LIT, O_LONGEST, O_EARTH_SUM, O_EARTH_VIS, O_BOTH, O_LEAD, O_TRAIL = range(9)
N_OUT = 9

# columns of the per-chunk bounds table
(B_EL0MIN, B_EL0MAX, B_SXMIN, B_SXMAX, B_SYMIN, B_SYMAX, B_SZMIN, B_SZMAX, B_A1MIN, B_A1MAX, B_RMAX, B_Q0, B_NQ) = range(13)
N_B = 13


@njit(cache=True, inline="always")
def _fraction(el, tx, ty, wzb, hmin, hmax, buf, n_az, C, t, table, half_n):
    r = C[t, C_R]
    if el - r >= hmax:
        return 1.0
    if el + r <= hmin:
        return 0.0
    f = C[t, C_F0] + wzb + tx * C[t, C_KX] + ty * C[t, C_KY]
    k = int(f)  # f > 0: truncation is floor
    w = f - k
    if k >= n_az:
        k -= n_az
        if k >= n_az:
            k -= n_az
    h0 = buf[k]
    h = h0 + w * (buf[k + 1] - h0)
    m = el - h
    if m >= r:
        return 1.0
    if m <= -r:
        return 0.0
    u = (m * C[t, C_INVR] + 1.0) * half_n
    i = int(u)
    a = table[i]
    return a + (u - i) * (table[i + 1] - a)


@njit(cache=True, inline="always")
def _elevation(tx, ty, tzm1, C, t):
    d = tx * C[t, C_SX] + ty * C[t, C_SY] + tzm1 * C[t, C_SZ]
    return C[t, C_EL0] + d * (C[t, C_A1] + d * (C[t, C_A2] + d * C[t, C_A3]))


@njit(cache=True, inline="always")
def _chunk_state(B, c, tx, ty, tzm1, eps, smin, smax, n_sec):
    """0: disk fully below the horizon for the whole chunk, 1: fully above, 2: undecided.

    Also returns the horizon's min and max over the sectors of the chunk.
    """
    dlo = 0.0
    dhi = 0.0
    a = tx * B[c, B_SXMIN]
    b = tx * B[c, B_SXMAX]
    dlo += min(a, b)
    dhi += max(a, b)
    a = ty * B[c, B_SYMIN]
    b = ty * B[c, B_SYMAX]
    dlo += min(a, b)
    dhi += max(a, b)
    a = tzm1 * B[c, B_SZMIN]
    b = tzm1 * B[c, B_SZMAX]
    dlo += min(a, b)
    dhi += max(a, b)
    el_lo = B[c, B_EL0MIN] + min(dlo * B[c, B_A1MIN], dlo * B[c, B_A1MAX]) - eps
    el_hi = B[c, B_EL0MAX] + max(dhi * B[c, B_A1MIN], dhi * B[c, B_A1MAX]) + eps
    q = int(B[c, B_Q0])
    nq = int(B[c, B_NQ])
    hl = np.inf
    hh = -np.inf
    for _ in range(nq):
        if smin[q] < hl:
            hl = smin[q]
        if smax[q] > hh:
            hh = smax[q]
        q += 1
        if q == n_sec:
            q = 0
    r = B[c, B_RMAX]
    if el_hi + r <= hl:
        return 0, hl, hh
    if el_lo - r >= hh:
        return 1, hl, hh
    return 2, hl, hh


@njit(parallel=True, cache=True)
def tile_stats(H, tx, ty, tzm1, wzb, S, E, BS, BE, eps_s, eps_e, pad, table, dark_thr, earth_thr):
    """Statistics of the cells of one tile.

    H: (n_az, tr, tc) float32 horizon in degrees; tx, ty, tzm1, wzb: (tr, tc)
    float64 cell rotation (wzb = twist in azimuth bins); S, E: (nt, N_COEF)
    float64 per-time coefficients of Sun and Earth; BS, BE: (n_chunks, N_B)
    per-chunk bounds (see :func:`chunk_bounds`); eps_*: bound of the
    higher-order elevation terms (deg); pad: azimuth bins added to each side
    of a sector (more than the largest per-cell azimuth correction, plus one
    for the interpolation neighbour); table: disk fraction on x in [-1, 1].

    Returns (tr, tc, N_OUT) float64: sum of the Sun's fraction, steps with any
    Sun, steps not dark (fraction > dark_thr), longest dark run, sum of
    Earth's fraction, steps with Earth visible (fraction >= earth_thr), steps
    not dark and Earth visible, the leading and trailing dark runs (steps; the
    leading run is nt for a cell dark throughout). NaN horizon: NaN.
    """
    n_az, tr, tc = H.shape
    nt = S.shape[0]
    n_sec = N_SEC
    half_n = 0.5 * (table.shape[0] - 2)
    out = np.empty((tr, tc, N_OUT), dtype=np.float64)
    for row in prange(tr):
        buf = np.empty((tc, n_az + 2), dtype=np.float32)
        for k in range(n_az):
            for j in range(tc):
                buf[j, k] = H[k, row, j]
        bad = np.zeros(tc, dtype=np.bool_)
        smin = np.empty((tc, n_sec), dtype=np.float64)
        smax = np.empty((tc, n_sec), dtype=np.float64)
        for j in range(tc):
            buf[j, n_az] = buf[j, 0]
            buf[j, n_az + 1] = buf[j, 1 % n_az]
            for k in range(n_az):
                if np.isnan(buf[j, k]):
                    bad[j] = True
                    break
            for q in range(n_sec):
                k0 = (q * n_az) // n_sec - pad
                k1 = ((q + 1) * n_az + n_sec - 1) // n_sec + pad
                lo = np.inf
                hi = -np.inf
                for kk in range(k0, k1 + 1):
                    v = buf[j, kk % n_az]
                    if v < lo:
                        lo = v
                    if v > hi:
                        hi = v
                smin[j, q] = lo
                smax[j, q] = hi
        for j in range(tc):
            if bad[j]:
                for q in range(N_OUT):
                    out[row, j, q] = np.nan
                continue
            cx = tx[row, j]
            cy = ty[row, j]
            cz = tzm1[row, j]
            cw = wzb[row, j]
            hb = buf[j]
            slo = smin[j]
            shi = smax[j]
            ss = 0.0
            es = 0.0
            na = 0
            nl = 0
            ne = 0
            nb = 0
            rn = 0
            lg = 0
            ld = -1  # -1: still in the leading dark run
            for c in range(BS.shape[0]):
                t0 = c * TCHUNK
                t1 = min(t0 + TCHUNK, nt)
                n = t1 - t0
                st_s, sl, sh = _chunk_state(BS, c, cx, cy, cz, eps_s, slo, shi, n_sec)
                st_e, el_, eh = _chunk_state(BE, c, cx, cy, cz, eps_e, slo, shi, n_sec)
                if st_s != 2 and st_e != 2:
                    fe = float(st_e)
                    es += fe * n
                    ev = fe >= earth_thr
                    if ev:
                        ne += n
                    if st_s == 1:
                        ss += n
                        na += n
                        nl += n
                        if ev:
                            nb += n
                        if ld < 0:
                            ld = rn
                        rn = 0
                    else:
                        rn += n
                        if rn > lg:
                            lg = rn
                    continue
                for t in range(t0, t1):
                    if st_s == 2:
                        el = _elevation(cx, cy, cz, S, t)
                        fs = _fraction(el, cx, cy, cw, sl, sh, hb, n_az, S, t, table, half_n)
                    else:
                        fs = float(st_s)
                    if st_e == 2:
                        el = _elevation(cx, cy, cz, E, t)
                        fe = _fraction(el, cx, cy, cw, el_, eh, hb, n_az, E, t, table, half_n)
                    else:
                        fe = float(st_e)
                    ss += fs
                    es += fe
                    if fs > 0.0:
                        na += 1
                    ev = fe >= earth_thr
                    if ev:
                        ne += 1
                    if fs > dark_thr:
                        nl += 1
                        if ev:
                            nb += 1
                        if ld < 0:
                            ld = rn
                        rn = 0
                    else:
                        rn += 1
                        if rn > lg:
                            lg = rn
            out[row, j, O_SUN_SUM] = ss
            out[row, j, O_SUN_ANY] = na
            out[row, j, O_SUN_LIT] = nl
            out[row, j, O_LONGEST] = lg
            out[row, j, O_EARTH_SUM] = es
            out[row, j, O_EARTH_VIS] = ne
            out[row, j, O_BOTH] = nb
            out[row, j, O_LEAD] = ld if ld >= 0 else nt
            out[row, j, O_TRAIL] = rn
    return out


def _arc_bins(a: np.ndarray, n_az: int) -> tuple[float, float]:
    """Shortest circular arc (start, length) in bins [0, n_az) that covers azimuths ``a``."""
    s = np.sort(np.mod(a, n_az))
    gaps = np.diff(np.concatenate([s, [s[0] + n_az]]))
    i = int(np.argmax(gaps))
    start = s[(i + 1) % s.size]
    return float(start), float(n_az - gaps[i])


def chunk_bounds(C: np.ndarray, n_az: int) -> np.ndarray:
    """Per-chunk (TCHUNK steps) ranges of a body's coefficients and the sectors it crosses."""
    nt = C.shape[0]
    nch = -(-nt // TCHUNK)
    B = np.empty((nch, N_B), dtype=np.float64)
    for c in range(nch):
        blk = C[c * TCHUNK : (c + 1) * TCHUNK]
        B[c, B_EL0MIN], B[c, B_EL0MAX] = blk[:, C_EL0].min(), blk[:, C_EL0].max()
        B[c, B_SXMIN], B[c, B_SXMAX] = blk[:, C_SX].min(), blk[:, C_SX].max()
        B[c, B_SYMIN], B[c, B_SYMAX] = blk[:, C_SY].min(), blk[:, C_SY].max()
        B[c, B_SZMIN], B[c, B_SZMAX] = blk[:, C_SZ].min(), blk[:, C_SZ].max()
        B[c, B_A1MIN], B[c, B_A1MAX] = blk[:, C_A1].min(), blk[:, C_A1].max()
        B[c, B_RMAX] = blk[:, C_R].max()
        start, length = _arc_bins(blk[:, C_F0] - n_az, n_az)
        q0 = min(int(start * N_SEC / n_az), N_SEC - 1)
        q1 = min(int(((start + length) % n_az) * N_SEC / n_az), N_SEC - 1)
        nq = (q1 - q0) % N_SEC + 1
        if length >= n_az * (1.0 - 1.0 / N_SEC):
            nq = N_SEC
        B[c, B_Q0], B[c, B_NQ] = q0, nq
    return B


def run_tile(H, tx, ty, tzm1, wz, S, E, table, dark_thr, earth_thr) -> np.ndarray:
    """Prepare the per-tile bounds and run :func:`tile_stats` (``wz`` in radians)."""
    n_az = H.shape[0]
    wzb = wz * (n_az / (2.0 * np.pi))
    corr = np.abs(wzb).max() + np.abs(tx).max() * max(np.abs(S[:, C_KX]).max(), np.abs(E[:, C_KX]).max())
    corr += np.abs(ty).max() * max(np.abs(S[:, C_KY]).max(), np.abs(E[:, C_KY]).max())
    pad = int(np.ceil(corr)) + 1
    if pad > n_az // 4:
        raise ValueError("per-cell azimuth corrections are too large for this tile; use smaller tiles")
    dmax = float((np.abs(tx) + np.abs(ty) + np.abs(tzm1)).max())

    def eps(C):
        return 1.01 * (np.abs(C[:, C_A2]).max() * dmax**2 + np.abs(C[:, C_A3]).max() * dmax**3) + 1e-9

    return tile_stats(
        np.ascontiguousarray(H, dtype=np.float32),
        tx, ty, tzm1, wzb, S, E,
        chunk_bounds(S, n_az), chunk_bounds(E, n_az), eps(S), eps(E), pad,
        table, float(dark_thr), float(earth_thr),
    )


@njit(cache=True)
def series_fraction(el, f, hb, C, table):
    """Disk fractions for one cell: el (nt,) deg, f (nt,) azimuth in bins + n_az, hb (n_az + 2,) horizon."""
    nt = el.shape[0]
    n_az = hb.shape[0] - 2
    half_n = 0.5 * (table.shape[0] - 2)
    out = np.empty(nt)
    for t in range(nt):
        k = int(f[t])
        w = f[t] - k
        if k >= n_az:
            k -= n_az
            if k >= n_az:
                k -= n_az
        h = hb[k] + w * (hb[k + 1] - hb[k])
        m = el[t] - h
        r = C[t, C_R]
        if m >= r:
            out[t] = 1.0
        elif m <= -r:
            out[t] = 0.0
        else:
            u = (m * C[t, C_INVR] + 1.0) * half_n
            i = int(u)
            out[t] = table[i] + (u - i) * (table[i + 1] - table[i])
    return out
