"""Crater identification (no prior / tracking) and the terrain template-matching fallback.

Identification without a prior position: triangle similarity
------------------------------------------------------------
After the SLIM triangle-similarity matching (Ishii et al., Trans. JSASS; here
with k-nearest-neighbour triangles rather than only the Delaunay ones, which
survive missed and false detections better). The attitude is known (star
tracker), so each detection's ray is intersected with a horizontal plane one
unit below the camera: detections then form a pattern *similar* to the
catalogue's (unknown scale = altitude, unknown translation, no rotation). Each
triangle is described by the invariants ``(a/c, b/c, cos t, sin t)`` with
``a <= b <= c`` its sides and ``t`` the direction of the longest side from the
vertex opposite ``a`` to the one opposite ``b``; near-isosceles triangles
(ambiguous labelling) are skipped. The catalogue's triangles sit in a k-d tree;
every image triangle votes for a similarity transform (3 vertices, least
squares), which is verified by counting detections that land within a
tolerance of a catalogue crater of compatible radius. The best-supported
hypothesis gives the correspondences. (Christian et al. 2021, J. Astronaut.
Sci. 68:1056, use projective invariants of crater triads instead, which need
no attitude; with the attitude known the similarity invariants are stronger.)

Tracking (prior pose)
---------------------
The catalogue is projected with the predicted pose; each detection takes the
nearest projected crater within a gate (``gate_sigma`` x the predicted
position sigma in pixels, at least ``min_gate_px``) whose radius agrees within
a factor 1.6; only mutual nearest pairs are kept.

Template matching fallback
--------------------------
:mod:`lupex.landing.template` (its names stay importable from here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from lupex.landing.camera import Camera
from lupex.landing.template import TEMPLATE_BLOCK_PX, template_block_px, template_correspondences  # noqa: F401  (moved there; still importable from here)

__all__ = ["TriangleIndex", "identify_no_prior", "match_with_prior", "template_correspondences",
           "triangle_features"]

_ANGLE_WEIGHT = 0.5  # weight of (cos t, sin t) against the side ratios in the k-d tree metric
_ISOSCELES_TOL = 0.04


def _knn_triangles(xy: np.ndarray, k: int) -> np.ndarray:
    n = len(xy)
    if n < 3:
        return np.empty((0, 3), int)
    k = min(k, n - 1)
    _, nb = cKDTree(xy).query(xy, k + 1)
    tris = set()
    for i in range(n):
        nbi = nb[i, 1:]
        for a in range(k):
            for b in range(a + 1, k):
                tris.add(tuple(sorted((i, int(nbi[a]), int(nbi[b])))))
    return np.array(sorted(tris), int).reshape(-1, 3)


def triangle_features(xy: np.ndarray, tris: np.ndarray):
    """Invariants (m, 4) and canonically ordered vertices (m, 3) of triangles; invalid rows dropped."""
    P = xy[tris]  # (m, 3, 2)
    # side opposite vertex j
    s = np.stack([np.linalg.norm(P[:, 1] - P[:, 2], axis=1), np.linalg.norm(P[:, 0] - P[:, 2], axis=1),
                  np.linalg.norm(P[:, 0] - P[:, 1], axis=1)], 1)
    order = np.argsort(s, axis=1)  # vertex opposite shortest, middle, longest
    ss = np.take_along_axis(s, order, 1)
    verts = np.take_along_axis(tris, order, 1)
    c = ss[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1, f2 = ss[:, 0] / c, ss[:, 1] / c
        A = xy[verts[:, 0]]
        B = xy[verts[:, 1]]
        d = (B - A) / c[:, None]
    ok = (c > 0) & ((ss[:, 1] - ss[:, 0]) / c > _ISOSCELES_TOL) & ((ss[:, 2] - ss[:, 1]) / c > _ISOSCELES_TOL) \
        & (f1 > 0.15)
    feats = np.column_stack([f1, f2, _ANGLE_WEIGHT * d[:, 0], _ANGLE_WEIGHT * d[:, 1]])
    return feats[ok], verts[ok]


@dataclass(frozen=True)
class TriangleTier:
    min_radius_m: float
    members: np.ndarray  # catalogue rows in this tier
    verts: np.ndarray  # (m, 3) catalogue rows, canonical order
    tree: object  # cKDTree over the triangle invariants


@dataclass(frozen=True)
class TriangleIndex:
    """k-NN triangles of the catalogue in radius tiers (r >= r0 * 2^t), each with a k-d tree of invariants.

    Tiers keep the neighbourhoods comparable between the map and a frame in
    which only craters above some size are detected.
    """

    xy: np.ndarray
    radius: np.ndarray
    point_tree: object  # cKDTree over all crater centres
    tiers: tuple

    @staticmethod
    def build(x_m, y_m, radius_m, k: int = 8, min_per_tier: int = 12) -> "TriangleIndex":
        """The index of craters at (``x_m``, ``y_m``) with ``radius_m`` (m), ``k`` neighbours per triangle.

        A tier is kept while it holds at least ``min_per_tier`` craters.

        Parameters
        ----------
        x_m, y_m : array_like
            (n,) crater centres, m.
        radius_m : array_like
            (n,) crater radii, m.
        k : int
            Nearest neighbours per crater that form its triangles.
        min_per_tier : int
            Fewest craters of a tier.
        """
        xy = np.column_stack([x_m, y_m]).astype(float)
        rad = np.asarray(radius_m, float)
        tiers = []
        if len(xy):
            r0 = float(rad.min())
            t = 0
            while True:
                rmin = r0 * 2.0**t
                mem = np.flatnonzero(rad >= rmin)
                if len(mem) < min_per_tier:
                    break
                tris = _knn_triangles(xy[mem], k)
                if len(tris):
                    feats, verts = triangle_features(xy[mem], tris)
                    if len(feats):
                        tiers.append(TriangleTier(rmin, mem, mem[verts], cKDTree(feats)))
                t += 1
        return TriangleIndex(xy, rad, cKDTree(xy) if len(xy) else None, tuple(tiers))

    def grid(self):
        """Uniform-grid bucketing of the crater centres for the numba nearest-neighbour search (cached).

        ``(xy, x0, y0, cell, ncx, ncy, start, items)``: cell ``(a, b)`` holds
        ``items[start[a * ncy + b]:start[a * ncy + b + 1]]``; about two craters per cell.
        """
        g = self.__dict__.get("_grid")
        if g is None:
            lo, hi = self.xy.min(0), self.xy.max(0)
            span = np.maximum(hi - lo, 1.0)
            cell = float(np.sqrt(span[0] * span[1] / max(len(self.xy), 1) * 2.0))
            ncx, ncy = int(span[0] // cell) + 1, int(span[1] // cell) + 1
            a = np.minimum(((self.xy[:, 0] - lo[0]) // cell).astype(np.int64), ncx - 1)
            b = np.minimum(((self.xy[:, 1] - lo[1]) // cell).astype(np.int64), ncy - 1)
            c = a * ncy + b
            items = np.argsort(c, kind="stable").astype(np.int64)
            start = np.searchsorted(c[items], np.arange(ncx * ncy + 1)).astype(np.int64)
            g = (np.ascontiguousarray(self.xy), float(lo[0]), float(lo[1]), cell, ncx, ncy, start, items)
            object.__setattr__(self, "_grid", g)
        return g


def _ground_plane(camera: Camera, uv: np.ndarray) -> np.ndarray:
    """Detections -> horizontal plane one unit below the camera (site-frame x, y per unit altitude)."""
    d = camera.ray(uv)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -1.0 / d[:, 2]
    return d[:, :2] * t[:, None]


def _similarity(src: np.ndarray, dst: np.ndarray):
    """Scale + translation (no rotation) least squares: dst ~ s * src + t."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    s = float((a * b).sum() / max((a * a).sum(), 1e-300))
    return s, md - s * ms


def _similarity_batch(src: np.ndarray, dst: np.ndarray):
    """:func:`_similarity` for stacks of point sets (m, p, 2): scales (m,), translations (m, 2)."""
    ms, md = src.mean(1), dst.mean(1)
    a, b = src - ms[:, None], dst - md[:, None]
    s = (a * b).sum((1, 2)) / np.maximum((a * a).sum((1, 2)), 1e-300)
    return s, md - s[:, None] * ms


@numba.njit(cache=True, nogil=True)
def _grid_nearest(px, py, xy, x0, y0, cell, ncx, ncy, start, items):  # pragma: no cover - numba
    """Nearest catalogue point to (px, py) by ring search on the uniform grid: (index, distance)."""
    ci = min(max(int(np.floor((px - x0) / cell)), 0), ncx - 1)
    cj = min(max(int(np.floor((py - y0) / cell)), 0), ncy - 1)
    best_d2 = np.inf
    best = -1
    k = 0
    while True:
        for a in range(ci - k, ci + k + 1):
            if a < 0 or a >= ncx:
                continue
            step = 1 if (a == ci - k or a == ci + k) else 2 * k
            b = cj - k
            while b <= cj + k:
                if 0 <= b < ncy:
                    c = a * ncy + b
                    for q in range(start[c], start[c + 1]):
                        it = items[q]
                        dx = xy[it, 0] - px
                        dy = xy[it, 1] - py
                        d2 = dx * dx + dy * dy
                        if d2 < best_d2 or (d2 == best_d2 and it < best):
                            best_d2 = d2
                            best = it
                b += step
        # lower bound of the distance to any cell outside the searched square
        bound = np.inf
        if ci - k > 0:
            bound = min(bound, px - (x0 + (ci - k) * cell))
        if ci + k < ncx - 1:
            bound = min(bound, x0 + (ci + k + 1) * cell - px)
        if cj - k > 0:
            bound = min(bound, py - (y0 + (cj - k) * cell))
        if cj + k < ncy - 1:
            bound = min(bound, y0 + (cj + k + 1) * cell - py)
        if bound == np.inf or (best >= 0 and best_d2 <= max(bound, 0.0) ** 2):
            break
        k += 1
    return best, np.sqrt(best_d2)


@numba.njit(cache=True, nogil=True)
def _verify_hypotheses(g, ok, rg, hs, ht, pos_tol, rad, xy, x0, y0, cell, ncx, ncy, start,
                       items):  # pragma: no cover - numba
    """Support of each similarity hypothesis over all detections: (n_good, sum of tolerance radii^2)."""
    m = hs.size
    n_good = np.zeros(m, np.int64)
    lam = np.zeros(m)
    for h in range(m):
        s = hs[h]
        tx, ty = ht[h, 0], ht[h, 1]
        acc = 0.0
        for i in range(g.shape[0]):
            if not ok[i]:
                continue
            j, d = _grid_nearest(g[i, 0] * s + tx, g[i, 1] * s + ty, xy, x0, y0, cell, ncx, ncy, start, items)
            rs = rg[i] * s
            tol = pos_tol * max(rad[j], rs)
            rr = rs / rad[j]
            if d < tol and rr > 0.5 and rr < 2.0:
                n_good[h] += 1
            acc += tol * tol
        lam[h] = acc
    return n_good, lam


def _tier_hypotheses(det, tier, index: TriangleIndex, gall, okall, rgall, altitude_m, n_use, k, feat_tol, budget):
    """Distinct similarity hypotheses voted by one tier's triangles, and the number of votes used (<= ``budget``).

    Returns ``((s, t, det_idx, cat_idx), used)``, the hypotheses None when none survive.
    """
    if altitude_m is not None:
        sel = np.flatnonzero(okall & (rgall * altitude_m >= 0.8 * tier.min_radius_m))
        sel = sel[np.argsort(-det.score[sel])][:n_use]
    else:
        sel = np.flatnonzero(okall)
        sel = sel[np.argsort(-det.radius_px[sel])][:n_use]
    if len(sel) < 3:
        return None, 0
    g = gall[sel]
    tris = _knn_triangles(g, k)
    if not len(tris):
        return None, 0
    feats, verts = triangle_features(g, tris)
    if not len(feats):
        return None, 0
    hits = tier.tree.query_ball_point(feats, feat_tol)
    # every (image triangle, catalogue triangle) hit, in order, up to the hypothesis budget
    ti = np.repeat(np.arange(len(hits)), [len(h) for h in hits])
    if not ti.size:
        return None, 0
    h = np.fromiter((x for hl in hits for x in hl), int, count=ti.size)
    ti, h = ti[:budget], h[:budget]
    cv = tier.verts[h]
    s, t = _similarity_batch(g[verts[ti]], index.xy[cv])
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = s > 0
        if altitude_m is not None:
            keep &= (0.75 < s / altitude_m) & (s / altitude_m < 1.25)
        rv = rgall[sel[verts[ti]]] * s[:, None] / index.radius[cv]
        keep &= ~np.any((rv < 0.5) | (rv > 2.0), axis=1)
        s, t = s[keep], t[keep]
        hd, hc = sel[verts[ti]][keep], cv[keep]
        if not s.size:
            return None, ti.size
        # one verification per distinct (scale, translation) cell, first occurrence kept
        key = np.column_stack([np.rint(np.log(s) * 20), np.rint(t[:, 0] / (s * 0.02)),
                               np.rint(t[:, 1] / (s * 0.02))])
    _, first = np.unique(key, axis=0, return_index=True)
    first.sort()
    return (s[first], t[first], hd[first], hc[first]), ti.size


def _best_flat(gall, okall, rgall, hs, ht, index: TriangleIndex, pos_tol_frac, min_support):
    """``(det_idx, cat_idx)`` of the flat-ground hypothesis with the largest support beyond chance (or empty)."""
    empty = (np.empty(0, int), np.empty(0, int))
    span = index.xy.max(0) - index.xy.min(0)
    density = len(index.xy) / max(float(span[0] * span[1]), 1.0)  # catalogue craters per m^2
    n_good, lam = _verify_hypotheses(gall, okall, rgall, hs, ht, pos_tol_frac, index.radius, *index.grid())
    lam = lam * density * np.pi
    # support beyond chance: expected random coincidences in the tolerance disks
    excess = (n_good - lam) / np.sqrt(lam + 1.0)
    excess[n_good < min_support] = -np.inf
    b = int(np.argmax(excess))  # first of the best, as the sequential search kept it
    if not excess[b] > 0 or float(excess[b]) < 5.0:
        return empty
    m = gall * hs[b] + ht[b]
    dist, j = index.point_tree.query(np.where(okall[:, None], m, 1e12))
    rr = rgall * hs[b] / index.radius[j]
    good = (okall & (dist < pos_tol_frac * np.maximum(index.radius[j], rgall * hs[b])) & (rr > 0.5)
            & (rr < 2.0))
    di, ci = np.flatnonzero(good), j[good]
    # one detection per crater: keep the first (best score) occurrence
    _, first = np.unique(ci, return_index=True)
    return di[first], ci[first]


def identify_no_prior(det, camera: Camera, index: TriangleIndex, *, altitude_m: float | None = None,
                      n_use: int = 30, k: int = 5, feat_tol: float = 0.03, pos_tol_frac: float = 0.3,
                      min_support: int = 8, max_hypotheses: int = 20000, xyz_m=None):
    """Identify detections against the catalogue with no prior position (attitude from ``camera.rotation``).

    For each catalogue tier the detections are cut at the tier's radius (in
    metres when ``altitude_m`` is known, else the ``n_use`` largest), their
    k-NN triangles are looked up, and every hit is verified on all detections
    (see the module docstring). With ``altitude_m`` the scale of a hypothesis
    must agree with it within 25%. Returns ``(det_idx, cat_idx)`` int arrays
    (possibly empty) for the hypothesis with the largest support beyond chance
    (``(n - lam) / sqrt(lam + 1)`` with ``lam`` the expected number of random
    coincidences given the catalogue density), which must reach 5 and
    ``min_support`` matches.

    ``xyz_m`` (catalogue centres with their rim heights, (n, 3)): verify each
    hypothesis through the camera instead of the flat-ground similarity. The
    three correspondences give the camera centre with the attitude known
    (:func:`lupex.landing.pose.position_from_attitude`, a linear solve), the
    catalogue craters in that footprint are projected and each detection is
    tested against its nearest projection (tolerance ``pos_tol_frac`` x the
    larger radius, in pixels; chance level from the projected-crater density).
    Relief is then handled exactly: at 500 m above rough polar terrain (relief
    std ~ 60 m, 12 % of the altitude) the flat model misplaces true craters by
    ~7 m, 5x the tolerance, and no-prior identification failed there. This is
    the 3-D verification of crater-triad hypotheses used with a known attitude
    (Christian et al. 2021, J. Astronaut. Sci. 68:1056, sec. on pose from
    identified craters; Maass et al. 2020 for DLR's crater navigation).

    Parameters
    ----------
    det : Detections
        The frame's detections.
    camera : Camera
        The camera (intrinsics and attitude).
    index : TriangleIndex
        The catalogue's triangle index.
    altitude_m : float, optional
        Altitude above the terrain, m, when known.
    n_use : int
        Detections used per tier without an altitude.
    k : int
        Neighbours per triangle.
    feat_tol : float
        Search radius in the triangles' invariant space.
    pos_tol_frac : float
        Position tolerance, fraction of the larger radius.
    min_support : int
        Fewest matches of an identification.
    max_hypotheses : int
        Most hypotheses verified.
    xyz_m : np.ndarray, optional
        (n, 3) catalogue centres at rim height, m, for the 3-D verification.
    """
    empty = (np.empty(0, int), np.empty(0, int))
    if not index.tiers or len(det) < 3:
        return empty
    gall = _ground_plane(camera, det.uv)
    okall = np.isfinite(gall).all(1)
    rgall = det.radius_px / camera.f_px  # radius per unit altitude (nadir approximation)
    n_hyp = 0
    hyps = []
    for tier in index.tiers:
        if n_hyp >= max_hypotheses:
            break
        hyp, used = _tier_hypotheses(det, tier, index, gall, okall, rgall, altitude_m, n_use, k, feat_tol,
                                     max_hypotheses - n_hyp)
        n_hyp += used
        if hyp is not None:
            hyps.append(hyp)
    if not hyps:
        return empty
    hs, ht, hd, hc = (np.concatenate(col) for col in zip(*hyps))
    if xyz_m is not None:
        return _verify_3d(det, camera, index, np.asarray(xyz_m, float), hd, hc, okall, pos_tol_frac, min_support,
                          altitude_m)
    return _best_flat(gall, okall, rgall, hs, ht, index, pos_tol_frac, min_support)


def _verify_3d(det, camera: Camera, index: TriangleIndex, xyz: np.ndarray, hyp_d: np.ndarray, hyp_c: np.ndarray,
               okall: np.ndarray, pos_tol_frac: float, min_support: int, altitude_m):
    """Hypotheses (detection triples, catalogue triples) verified through the camera (see identify_no_prior)."""
    empty = (np.empty(0, int), np.empty(0, int))
    R = np.asarray(camera.rotation, float)
    uv = det.uv
    a = (uv[:, 0] - camera.cx) / camera.f_px
    b = (uv[:, 1] - camera.cy) / camera.f_px
    A1 = a[:, None] * R[2] - R[0]
    A2 = b[:, None] * R[2] - R[1]
    _, x0, y0, cell, ncx, ncy, start, items = index.grid()
    half_diag = np.hypot(camera.width, camera.height) / 2.0 / camera.f_px
    alt = (-1.0, np.inf) if altitude_m is None else (0.75 * altitude_m, 1.25 * altitude_m)
    n_good, lam, C = _verify_3d_kernel(np.ascontiguousarray(hyp_d, np.int64), np.ascontiguousarray(hyp_c, np.int64),
                                       A1, A2, uv, det.radius_px.astype(float), okall, xyz, index.radius, R,
                                       camera.f_px, camera.cx, camera.cy, float(camera.width), float(camera.height),
                                       pos_tol_frac, half_diag, float(xyz[:, 2].min()), alt[0], alt[1],
                                       x0, y0, cell, ncx, ncy, start, items)
    with np.errstate(invalid="ignore"):
        excess = (n_good - lam) / np.sqrt(lam + 1.0)
    excess[(n_good < min_support) | ~np.isfinite(excess)] = -np.inf
    k = int(np.argmax(excess))
    if not excess[k] >= 5.0:
        return empty
    cam = camera.with_pose(C[k], R)
    puv, depth = cam.project(xyz)
    with np.errstate(divide="ignore", invalid="ignore"):
        rpx = index.radius * camera.f_px / depth
    vis = np.flatnonzero((depth > 0) & cam.in_image(np.nan_to_num(puv, nan=-1e9), margin_px=-20))
    if not vis.size:
        return empty
    dist, jj = cKDTree(puv[vis]).query(uv)
    j = vis[jj]
    rr = det.radius_px / rpx[j]
    good = okall & (dist < pos_tol_frac * np.maximum(rpx[j], det.radius_px)) & (rr > 0.5) & (rr < 2.0)
    di, ci = np.flatnonzero(good), j[good]
    _, first = np.unique(ci, return_index=True)
    return di[first], ci[first]


@numba.njit(cache=True, nogil=True)
def _verify_3d_kernel(hyp_d, hyp_c, A1, A2, uv, rdet, ok, xyz, rad, R, f, cx, cy, W, H, pos_tol, half_diag,
                      zmin, alt_lo, alt_hi, x0, y0, cell, ncx, ncy, start, items):  # pragma: no cover - numba
    m = hyp_d.shape[0]
    n = uv.shape[0]
    n_good = np.zeros(m, np.int64)
    lam = np.full(m, np.inf)
    Cs = np.full((m, 3), np.nan)
    A = np.empty((6, 3))
    rhs = np.empty(6)
    pu = np.empty(items.size)
    pv = np.empty(items.size)
    pr = np.empty(items.size)
    for h in range(m):
        for q in range(3):
            d = hyp_d[h, q]
            c = hyp_c[h, q]
            A[q] = A1[d]
            A[3 + q] = A2[d]
            rhs[q] = A1[d, 0] * xyz[c, 0] + A1[d, 1] * xyz[c, 1] + A1[d, 2] * xyz[c, 2]
            rhs[3 + q] = A2[d, 0] * xyz[c, 0] + A2[d, 1] * xyz[c, 1] + A2[d, 2] * xyz[c, 2]
        C = np.linalg.lstsq(A, rhs)[0]
        zc = (xyz[hyp_c[h, 0], 2] + xyz[hyp_c[h, 1], 2] + xyz[hyp_c[h, 2], 2]) / 3.0
        if not (C[2] - zc > alt_lo and C[2] - zc < alt_hi):
            continue
        Cs[h] = C
        # catalogue craters in the footprint, projected
        reach = 1.2 * (C[2] - zmin) * half_diag
        a0 = max(int(np.floor((C[0] - reach - x0) / cell)), 0)
        a1 = min(int(np.floor((C[0] + reach - x0) / cell)), ncx - 1)
        b0 = max(int(np.floor((C[1] - reach - y0) / cell)), 0)
        b1 = min(int(np.floor((C[1] + reach - y0) / cell)), ncy - 1)
        npj = 0
        for aa in range(a0, a1 + 1):
            for bb in range(b0, b1 + 1):
                cc = aa * ncy + bb
                for q in range(start[cc], start[cc + 1]):
                    it = items[q]
                    d0, d1, d2 = xyz[it, 0] - C[0], xyz[it, 1] - C[1], xyz[it, 2] - C[2]
                    pz = d0 * R[2, 0] + d1 * R[2, 1] + d2 * R[2, 2]
                    if not pz > 0:
                        continue
                    u = f * (d0 * R[0, 0] + d1 * R[0, 1] + d2 * R[0, 2]) / pz + cx
                    v = f * (d0 * R[1, 0] + d1 * R[1, 1] + d2 * R[1, 2]) / pz + cy
                    if u < -20 or u > W + 20 or v < -20 or v > H + 20:
                        continue
                    pu[npj] = u
                    pv[npj] = v
                    pr[npj] = rad[it] * f / pz
                    npj += 1
        if npj == 0:
            continue
        dens = npj / ((W + 40) * (H + 40))
        acc = 0.0
        for i in range(n):
            if not ok[i]:
                continue
            bd = np.inf
            bj = -1
            for q in range(npj):
                du = pu[q] - uv[i, 0]
                dv = pv[q] - uv[i, 1]
                d2 = du * du + dv * dv
                if d2 < bd:
                    bd = d2
                    bj = q
            tol = pos_tol * max(pr[bj], rdet[i])
            rr = rdet[i] / pr[bj]
            if np.sqrt(bd) < tol and rr > 0.5 and rr < 2.0:
                n_good[h] += 1
            acc += tol * tol
        lam[h] = dens * np.pi * acc
    return n_good, lam, Cs


def match_with_prior(det, camera_pred: Camera, xyz_m: np.ndarray, radius_m: np.ndarray, *,
                     sigma_position_m: float = 0.0, gate_sigma: float = 3.0, min_gate_px: float = 6.0,
                     min_vote_excess: float = 5.0):
    """Gated mutual-nearest matching of detections to the catalogue projected with the predicted pose.

    When the gate is wider than ``2 min_gate_px`` (an uncertain prior, where a
    gate holds several craters), the common image offset of the prior's error
    is voted first: every (detection, projected crater) pair in the gate with
    compatible radii votes for its displacement in a 2-D histogram (bins of
    ``min_gate_px / 2``, 3x3 summed; a generalised-Hough offset vote, Ballard
    1981, Pattern Recognit. 13:111); the pairs within ``min_gate_px`` of the
    winning offset are kept and the nearest-neighbour test is made after
    removing it. The vote is used only when its peak stands ``min_vote_excess``
    Poisson sigmas above the count expected from pairs spread uniformly over
    the gate (low sun, mostly false detections: no common offset, plain
    gated matching as before).

    Parameters
    ----------
    det : Detections
        The frame's detections.
    camera_pred : Camera
        The camera at the predicted pose.
    xyz_m : np.ndarray
        (n, 3) catalogue crater centres, m, site frame.
    radius_m : np.ndarray
        (n,) catalogue radii, m.
    sigma_position_m : float
        1-sigma of the predicted position, m (sets the gate).
    gate_sigma : float
        Gate half width in position sigmas.
    min_gate_px : float
        Narrowest gate, px.
    min_vote_excess : float
        Poisson sigmas by which the offset vote's peak must stand out.
    """
    empty = (np.empty(0, int), np.empty(0, int))
    if len(det) == 0 or len(xyz_m) == 0:
        return empty
    uv, depth = camera_pred.project(xyz_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        rpx = np.asarray(radius_m) * camera_pred.f_px / depth
    vis = (depth > 0) & camera_pred.in_image(np.nan_to_num(uv, nan=-1e9), margin_px=-20)
    if not vis.any():
        return empty
    cidx = np.flatnonzero(vis)
    uv, rpx = uv[vis], rpx[vis]
    alt = float(np.median(depth[vis]))
    gate = max(min_gate_px, gate_sigma * sigma_position_m * camera_pred.f_px / alt)
    du = det.uv
    cand = cKDTree(uv).query_ball_point(du, gate)
    pi = np.repeat(np.arange(len(cand)), [len(c) for c in cand])
    if not pi.size:
        return empty
    pc = np.fromiter((x for cl in cand for x in cl), int, count=pi.size)
    ratio = det.radius_px[pi] / rpx[pc]
    ok = (ratio > 1 / 1.6) & (ratio < 1.6)
    pi, pc = pi[ok], pc[ok]
    if not pi.size:
        return empty
    disp = uv[pc] - du[pi]
    if gate > 2.0 * min_gate_px:
        b = 0.5 * min_gate_px
        nb = int(np.ceil(gate / b))
        edges = np.arange(-nb, nb + 1) * b
        hist, _, _ = np.histogram2d(disp[:, 0], disp[:, 1], bins=(edges, edges))
        hist = ndimage.uniform_filter(hist, 3, mode="constant") * 9.0
        k0, k1 = np.unravel_index(np.argmax(hist), hist.shape)
        # votes expected in a 3x3 cell window from pairs spread uniformly over the gate disk
        lam = pi.size * (3.0 * b) ** 2 / (np.pi * gate**2)
        if (hist[k0, k1] - lam) / np.sqrt(lam + 1.0) >= min_vote_excess:
            centre = np.array([edges[k0] + 0.5 * b, edges[k1] + 0.5 * b])
            near = np.hypot(*(disp - centre).T) < min_gate_px
            offset = disp[near].mean(0) if near.any() else centre
            disp = disp - offset
            keep = np.hypot(disp[:, 0], disp[:, 1]) < min_gate_px
            pi, pc, disp = pi[keep], pc[keep], disp[keep]
            if not pi.size:
                return empty
    dd = np.hypot(disp[:, 0], disp[:, 1])
    # each detection's nearest crater ...
    o = np.lexsort((dd, pi))
    first = np.ones(o.size, bool)
    first[1:] = pi[o[1:]] != pi[o[:-1]]
    ch = o[first]
    # ... kept when the detection is also that crater's nearest among the detections choosing it
    o2 = np.lexsort((pi[ch], dd[ch], pc[ch]))
    first2 = np.ones(o2.size, bool)
    first2[1:] = pc[ch][o2[1:]] != pc[ch][o2[:-1]]
    mutual = np.sort(ch[o2[first2]])
    return pi[mutual].astype(int), cidx[pc[mutual]].astype(int)
