"""Numba kernel of the per-cell light statistics (see :mod:`lupex.light.illumination`).

One call handles one tile of the horizon cube. Cells run in parallel (prange
over the tile's rows); each cell walks the times in order, in chunks of
``TCHUNK`` steps. Per chunk and body the kernel first bounds the body's
elevation at the cell (interval arithmetic on the per-chunk ranges of the
site-frame direction) and the cell's horizon over the azimuth sectors the body
crosses in the chunk; when the whole disk stays above (or below) the horizon
for the whole chunk, the chunk is accounted for in O(1). Otherwise the chunk's
steps are evaluated together, in three loops the compiler vectorises (AVX2
where the CPU has it): elevation (a tilt dot product and a cubic) and azimuth
bin; the horizon interpolated between the two neighbouring azimuths (a
gather); the disk fraction in closed form. No transcendental function and no
branch per cell-step. The early-outs are conservative, so they never change a
result.

Disk fraction: the visible part of a disk of radius r whose centre is m above
a straight horizon is, with x = m / r in [-1, 1] (circular segment, e.g.
Weisstein, MathWorld "Circular Segment"),

    f(x) = 1/2 + (x sqrt(1 - x^2) + asin x) / pi,

evaluated with asin|x| = pi/2 - sqrt(1 - |x|) P7(|x|), the degree-7 polynomial
of Abramowitz & Stegun (1964), eq. 4.4.46 (|error| <= 2e-8 rad), so f is within
1e-8 of the exact value (tested). 1 for x >= 1, 0 for x <= -1, exactly.

Sums of fractions are kept per chunk in floating point and added to a 64-bit
fixed-point total (unit 2^-32), so a chunk whose disk is whole at every step
adds exactly what the O(1) path adds: the result does not depend on which
chunks took which path (nor on the tiling, nor on Dask).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from lupex.errors import ConfigError
from lupex.light.sky import C_A1, C_A2, C_A3, C_EL0, C_F0, C_INVR, C_KX, C_KY, C_R, C_SX, C_SY, C_SZ

TCHUNK = 32
N_SEC = 72
_IFIX = 1 << 32  # fixed-point unit of the fraction sums (2.3e-10)
_FIX = float(_IFIX)
# LLVM fast-math flags of the kernels: reassociation lets the per-chunk loops
# vectorise; no 'nnan' / 'ninf', since the bounds use +-inf and NaN marks bad cells
FASTMATH = {"contract", "reassoc", "nsz", "arcp", "afn"}

# output slots of the per-cell result array
O_SUN_SUM, O_SUN_ANY, O_SUN_LIT, O_LONGEST, O_EARTH_SUM, O_EARTH_VIS, O_BOTH, O_LEAD, O_TRAIL = range(9)
N_OUT = 9

# columns of the per-chunk bounds table
(B_EL0MIN, B_EL0MAX, B_SXMIN, B_SXMAX, B_SYMIN, B_SYMAX, B_SZMIN, B_SZMAX, B_A1MIN, B_A1MAX, B_RMAX) = range(11)
N_B = 11

# Abramowitz & Stegun 4.4.46: asin(x) = pi/2 - sqrt(1 - x) (a0 + a1 x + ... + a7 x^7), 0 <= x <= 1
_AS0, _AS1, _AS2, _AS3 = 1.5707963050, -0.2145988016, 0.0889789874, -0.0501743046
_AS4, _AS5, _AS6, _AS7 = 0.0308918810, -0.0170881256, 0.0066700901, -0.0012624911
_HALF_PI = 0.5 * np.pi
_INV_PI = 1.0 / np.pi


@njit(cache=True, inline="always")
def disk_fraction(x):
    """Visible fraction of a disk whose centre is ``x`` radii above a straight horizon (see the module docstring)."""
    ax = min(abs(x), 1.0)
    p = _AS0 + ax * (_AS1 + ax * (_AS2 + ax * (_AS3 + ax * (_AS4 + ax * (_AS5 + ax * (_AS6 + ax * _AS7))))))
    g = ax * np.sqrt(1.0 - ax * ax) + _HALF_PI - np.sqrt(1.0 - ax) * p
    v = 0.5 + np.copysign(g, x) * _INV_PI
    v = 1.0 if x >= 1.0 else v
    return 0.0 if x <= -1.0 else v


@njit(cache=True, inline="always")
def _elevation(tx, ty, tzm1, C, t):
    """Body elevation (deg) at a cell; ``C``: (N_COEF, nt) coefficients of :func:`lupex.light.sky.body_coefficients`, transposed."""
    d = tx * C[C_SX, t] + ty * C[C_SY, t] + tzm1 * C[C_SZ, t]
    return C[C_EL0, t] + d * (C[C_A1, t] + d * (C[C_A2, t] + d * C[C_A3, t]))


@njit(cache=True, inline="always")
def _azimuth_bin(tx, ty, wzb, n_az, C, t):
    """(whole bin as a float in [0, n_az), weight of the next bin) of the body's grid azimuth at a cell."""
    f = C[C_F0, t] + wzb + tx * C[C_KX, t] + ty * C[C_KY, t]
    k = np.floor(f)
    w = f - k
    k = k - n_az if k >= n_az else k
    k = k - n_az if k >= n_az else k
    return k, w


@njit(cache=True, inline="always")
def _horizon(buf, k, w):
    """Horizon (deg) interpolated between bins ``k`` and ``k + 1`` of ``buf`` (n_az + 2 values, wrapped)."""
    i = np.int64(k)
    h0 = np.float64(buf[i])
    return h0 + w * (np.float64(buf[i + 1]) - h0)


@njit(cache=True, inline="always")
def _fraction(tx, ty, tzm1, wzb, buf, n_az, C, t):
    """Visible fraction of the body's disk at one cell and step."""
    k, w = _azimuth_bin(tx, ty, wzb, n_az, C, t)
    return disk_fraction((_elevation(tx, ty, tzm1, C, t) - _horizon(buf, k, w)) * C[C_INVR, t])


@njit(cache=True, inline="always")
def _chunk_fractions(C, t0, n, tx, ty, tzm1, wzb, buf, n_az, out, kb, wb):
    """:func:`_fraction` for steps ``t0 .. t0 + n`` into ``out[:n]``, as three loops that vectorise (kb, wb: scratch)."""
    for i in range(n):
        out[i] = _elevation(tx, ty, tzm1, C, t0 + i)
        kb[i], wb[i] = _azimuth_bin(tx, ty, wzb, n_az, C, t0 + i)
    for i in range(n):
        out[i] = (out[i] - _horizon(buf, kb[i], wb[i])) * C[C_INVR, t0 + i]
    for i in range(n):
        out[i] = disk_fraction(out[i])


@njit(cache=True, inline="always")
def _chunk_states(B, Q, tx, ty, tzm1, eps, smin, smax, hl, hh, st):
    """State of every chunk for one cell and body into ``st``: 0 disk below the horizon for the whole chunk, 1 above, 2 undecided.

    ``Q``: (nq, n_chunks) the azimuth sectors each chunk crosses (see
    :func:`chunk_bounds`); ``hl``, ``hh``: scratch for the horizon's min and
    max over them. Written as loops over the chunks with no branch, so they
    vectorise.
    """
    nch = B.shape[0]
    for c in range(nch):
        hl[c] = smin[Q[0, c]]
        hh[c] = smax[Q[0, c]]
    for i in range(1, Q.shape[0]):
        for c in range(nch):
            hl[c] = min(hl[c], smin[Q[i, c]])
            hh[c] = max(hh[c], smax[Q[i, c]])
    for c in range(nch):
        a = tx * B[c, B_SXMIN]
        b = tx * B[c, B_SXMAX]
        dlo = min(a, b)
        dhi = max(a, b)
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
        r = B[c, B_RMAX]
        v = 2 - np.int64(el_lo - r >= hh[c])
        st[c] = 0 if el_hi + r <= hl[c] else v


# one numba kernel: every statistic of a cell in one parallel pass over the tile; split, each helper would re-read the horizons
@njit(parallel=True, cache=True, fastmath=FASTMATH)
def tile_stats(H, r0, c0, tr, tc, tx, ty, tzm1, wzb, S, E, BS, BE, QS, QE, eps_s, eps_e, pad, dark_thr, earth_thr):
    """Statistics of the cells of one tile: rows r0 .. r0 + tr, columns c0 .. c0 + tc of the inputs.

    H: (n_az, ny, nx) float32 horizon in degrees; tx, ty, tzm1, wzb: (ny, nx)
    float64 cell rotation (wzb = twist in azimuth bins); S, E: (N_COEF, nt)
    float64 per-time coefficients of Sun and Earth (transposed
    :func:`lupex.light.sky.body_coefficients`); BS, BE: (n_chunks, N_B)
    per-chunk bounds and QS, QE: (nq, n_chunks) sectors (see :func:`chunk_bounds`); eps_*: bound of the
    higher-order elevation terms (deg); pad: azimuth bins added to each side
    of a sector (more than the largest per-cell azimuth correction, plus one
    for the interpolation neighbour).

    Returns (tr, tc, N_OUT) float64: sum of the Sun's fraction, steps with any
    Sun, steps not dark (fraction > dark_thr), longest dark run, sum of
    Earth's fraction, steps with Earth visible (fraction >= earth_thr), steps
    not dark and Earth visible, the leading and trailing dark runs (steps; the
    leading run is nt for a cell dark throughout). NaN horizon: NaN.
    """
    n_az = H.shape[0]
    nt = S.shape[1]
    n_sec = N_SEC
    out = np.empty((tr, tc, N_OUT), dtype=np.float64)
    for row in prange(tr):
        buf = np.empty((tc, n_az + 2), dtype=np.float32)
        for k in range(n_az):
            for j in range(tc):
                buf[j, k] = H[k, r0 + row, c0 + j]
        bad = np.zeros(tc, dtype=np.bool_)
        ext = np.empty(n_az + 2 * pad + 1, dtype=np.float32)
        smin = np.empty((tc, n_sec), dtype=np.float64)
        smax = np.empty((tc, n_sec), dtype=np.float64)
        fsb = np.empty(TCHUNK)  # per-chunk fractions of the Sun, the Earth, and scratch
        feb = np.empty(TCHUNK)
        kb = np.empty(TCHUNK)
        wb = np.empty(TCHUNK)
        nch = BS.shape[0]
        hl = np.empty(nch, dtype=np.float64)  # per-chunk scratch of the states
        hh = np.empty(nch, dtype=np.float64)
        sts = np.empty(nch, dtype=np.int64)
        ste = np.empty(nch, dtype=np.int64)
        for j in range(tc):
            buf[j, n_az] = buf[j, 0]
            buf[j, n_az + 1] = buf[j, 1 % n_az]
            for k in range(n_az):
                if np.isnan(buf[j, k]):
                    bad[j] = True
                    break
            # the horizon with pad bins wrapped on each side: ext[i] = horizon at bin i - pad
            for i in range(pad):
                ext[i] = buf[j, n_az - pad + i]
            for i in range(n_az):
                ext[pad + i] = buf[j, i]
            for i in range(pad + 1):
                ext[pad + n_az + i] = buf[j, i]
            for q in range(n_sec):
                k0 = (q * n_az) // n_sec  # sector q with pad: bins k0 - pad .. k1 + pad
                k1 = ((q + 1) * n_az + n_sec - 1) // n_sec
                lo = np.float32(np.inf)
                hi = np.float32(-np.inf)
                for i in range(k0, k1 + 2 * pad + 1):
                    lo = min(lo, ext[i])
                    hi = max(hi, ext[i])
                smin[j, q] = lo
                smax[j, q] = hi
        for j in range(tc):
            if bad[j]:
                for q in range(N_OUT):
                    out[row, j, q] = np.nan
                continue
            cx = tx[r0 + row, c0 + j]
            cy = ty[r0 + row, c0 + j]
            cz = tzm1[r0 + row, c0 + j]
            cw = wzb[r0 + row, c0 + j]
            hb = buf[j]
            slo = smin[j]
            shi = smax[j]
            s_full = 0  # fixed-point sums of the fractions
            e_full = 0
            na = 0  # steps with any Sun
            nl = 0  # steps not dark
            ne = 0  # steps with Earth visible
            nb = 0  # steps not dark with Earth visible
            rn = 0  # current dark run
            lg = 0  # longest dark run
            ld = -1  # leading dark run; -1: still in it
            _chunk_states(BS, QS, cx, cy, cz, eps_s, slo, shi, hl, hh, sts)
            _chunk_states(BE, QE, cx, cy, cz, eps_e, slo, shi, hl, hh, ste)
            for c in range(nch):
                t0 = c * TCHUNK
                n = min(t0 + TCHUNK, nt) - t0
                st_s = sts[c]
                st_e = ste[c]
                # Earth: sum and steps visible in this chunk
                if st_e == 2:
                    _chunk_fractions(E, t0, n, cx, cy, cz, cw, hb, n_az, feb, kb, wb)
                    acc = 0.0
                    ce = 0
                    for i in range(n):
                        acc += feb[i]
                        ce += np.int64(feb[i] >= earth_thr)
                    e_full += np.int64(acc * _FIX)
                elif st_e == 1:  # whole disk up: fraction 1 >= earth_thr
                    ce = n
                    e_full += n * _IFIX
                else:
                    ce = 0
                ne += ce
                # Sun: sum, steps with any Sun, steps not dark, dark runs, and lit with Earth
                if st_s == 2:
                    _chunk_fractions(S, t0, n, cx, cy, cz, cw, hb, n_az, fsb, kb, wb)
                    acc = 0.0
                    ca = 0
                    cl = 0
                    for i in range(n):
                        acc += fsb[i]
                        ca += np.int64(fsb[i] > 0.0)
                        cl += np.int64(fsb[i] > dark_thr)
                    s_full += np.int64(acc * _FIX)
                    na += ca
                    if cl == n:
                        st_s = 1
                    elif cl == 0:
                        st_s = 0
                    else:  # mixed chunk: step by step
                        for i in range(n):
                            if fsb[i] > dark_thr:
                                nl += 1
                                if st_e == 1 or (st_e == 2 and feb[i] >= earth_thr):
                                    nb += 1
                                if ld < 0:
                                    ld = rn
                                rn = 0
                            else:
                                rn += 1
                                if rn > lg:
                                    lg = rn
                        continue
                elif st_s == 1:
                    s_full += n * _IFIX
                    na += n
                if st_s == 1:  # lit throughout the chunk
                    nl += n
                    nb += ce
                    if ld < 0:
                        ld = rn
                    rn = 0
                else:  # dark throughout the chunk
                    rn += n
                    if rn > lg:
                        lg = rn
            out[row, j, O_SUN_SUM] = s_full / _FIX
            out[row, j, O_SUN_ANY] = na
            out[row, j, O_SUN_LIT] = nl
            out[row, j, O_LONGEST] = lg
            out[row, j, O_EARTH_SUM] = e_full / _FIX
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


def chunk_bounds(C: np.ndarray, n_az: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-chunk (TCHUNK steps) ranges of a body's coefficients, and the azimuth sectors it crosses.

    Returns ``B`` (n_chunks, N_B) and ``Q`` (nq, n_chunks) int64: the sectors
    of each chunk, nq the most any chunk crosses (a chunk that crosses fewer
    repeats its last sector).
    """
    nt = C.shape[0]
    nch = -(-nt // TCHUNK)
    B = np.empty((nch, N_B), dtype=np.float64)
    q0s = np.empty(nch, dtype=np.int64)  # first sector and number of sectors of each chunk
    nqs = np.empty(nch, dtype=np.int64)
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
        q0s[c], nqs[c] = q0, nq
    steps = np.minimum(np.arange(int(nqs.max()))[:, None], nqs[None, :] - 1)
    Q = (q0s[None, :] + steps) % N_SEC
    return B, np.ascontiguousarray(Q)


class Bodies(NamedTuple):
    """Kernel inputs of the Sun and Earth over one span, shared by every tile (see :func:`prepare_bodies`)."""

    S: np.ndarray  # (nt, N_COEF) per-time coefficients of the Sun
    E: np.ndarray  # same for the Earth
    ST: np.ndarray  # (N_COEF, nt) the same, transposed (the kernel's layout)
    ET: np.ndarray
    BS: np.ndarray  # (n_chunks, N_B) per-chunk bounds
    BE: np.ndarray
    QS: np.ndarray  # (nq, n_chunks) the azimuth sectors of each chunk
    QE: np.ndarray
    n_az: int


def prepare_bodies(S: np.ndarray, E: np.ndarray, n_az: int) -> Bodies:
    """Transpose the coefficients and bound each chunk, once per span."""
    (BS, QS), (BE, QE) = chunk_bounds(S, n_az), chunk_bounds(E, n_az)
    return Bodies(S, E, np.ascontiguousarray(S.T), np.ascontiguousarray(E.T), BS, BE, QS, QE, int(n_az))


def run_tile(H, tx, ty, tzm1, wz, bodies: Bodies, dark_thr, earth_thr, window=None) -> np.ndarray:
    """Run :func:`tile_stats` on the cells ``window`` = (r0, r1, c0, c1) (default: all) of the inputs.

    ``H`` (n_az, ny, nx) float32 horizons and ``tx, ty, tzm1, wz`` (ny, nx) cell
    rotation (``wz`` in radians) cover the same cells; the window is read in
    place (no copy of the cube).
    """
    S, E = bodies.S, bodies.E
    n_az, ny, nx = H.shape
    r0, r1, c0, c1 = (0, ny, 0, nx) if window is None else (int(v) for v in window)
    tx, ty, tzm1, wz = (np.ascontiguousarray(a, dtype=np.float64) for a in (tx, ty, tzm1, wz))
    if n_az != bodies.n_az:
        raise ValueError(f"the horizon tile has {n_az} azimuths, the bodies were prepared for {bodies.n_az}")
    wzb = wz * (n_az / (2.0 * np.pi))
    w = np.s_[r0:r1, c0:c1]
    corr = np.abs(wzb[w]).max() + np.abs(tx[w]).max() * max(np.abs(S[:, C_KX]).max(), np.abs(E[:, C_KX]).max())
    corr += np.abs(ty[w]).max() * max(np.abs(S[:, C_KY]).max(), np.abs(E[:, C_KY]).max())
    pad = int(np.ceil(corr)) + 1
    if pad > n_az // 4:
        raise ConfigError(
            "the cells of one tile see the Sun at azimuths too far apart for the kernel's sector "
            "bounds; use a smaller tile (light_statistics(..., tile=128))"
        )
    dmax = float((np.abs(tx[w]) + np.abs(ty[w]) + np.abs(tzm1[w])).max())

    def eps(C):
        return 1.01 * (np.abs(C[:, C_A2]).max() * dmax**2 + np.abs(C[:, C_A3]).max() * dmax**3) + 1e-9

    if not (isinstance(H, np.ndarray) and H.dtype == np.float32 and H.flags.c_contiguous):
        H = np.ascontiguousarray(H, dtype=np.float32)
    b = bodies
    return tile_stats(H, r0, c0, r1 - r0, c1 - c0, tx, ty, tzm1, wzb, b.ST, b.ET, b.BS, b.BE, b.QS, b.QE,
                      eps(S), eps(E), pad, float(dark_thr), float(earth_thr))
