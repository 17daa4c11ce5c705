"""Crater detection in descent images: a shading-pair (Haar-like) detector, and its scoring.

Method
------
Under oblique sun a bowl-shaped crater shows a *shading pair* along the Sun's
image direction ``s``: its wall on the Sun's side faces away from the Sun and is
dark (self- and cast shadow), its far wall faces the Sun and is bright, and the
outer slope of the Sun-side rim is lit again. The detector is the Haar-like
three-box feature of the SLIM heritage (Tanaami et al. 2012, "Image-based crater
detection for the SLIM lander", Trans. JSASS; Viola & Jones 2001 box filters
from an integral image), at radii ``r`` in geometric steps::

    dark   = B_r(c + 0.5 r s)      bright = B_r(c - 0.5 r s)
    rim    = B_r(c + 1.35 r s)     B_r = mean over a (2h+1)^2 box, h ~ 0.35 r
    score  = min(bright - dark, rim - dark) / (lit-median of the frame)

The ``min`` rejects the far edges of large cast shadows (dark then bright, but
dark again beyond). Local maxima over space above ``threshold`` are kept per
scale, then merged across scales by greedy non-maximum suppression. Centres
are the midpoint of the pair; radii come from the scale, refined by a
parabola through the scores of the neighbouring scales.

It is classical (no learning), one pass of O(N) box filters per scale. At
1-2 deg sun the crater floors fill with shadow that merges with the shadows of
the surrounding relief and recall drops: the polar caveat of Maehara et al.
2021 (J. Jpn. Soc. Photogramm. Remote Sens. 60(1):4-18), for which
:mod:`lupex.landing.matching` keeps a template-matching fallback.

Scoring (:func:`precision_recall`) counts a detection as true when its centre
is within ``max(0.5 r_true, 2 px)`` of a projected truth crater whose radius
is within a factor 2; recall is over truth craters of radius >= ``min_radius_px``
whose disk lies fully in the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from lupex.errors import InputError

__all__ = ["Detections", "detect_craters", "image_sun_direction", "precision_recall", "project_craters"]


@dataclass(frozen=True)
class Detections:
    """Detected craters: pixel centres ``u``, ``v`` (column, row), ``radius_px`` and ``score``, best first."""

    u: np.ndarray
    v: np.ndarray
    radius_px: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return int(self.u.size)

    @property
    def uv(self) -> np.ndarray:
        """Pixel centres (n, 2): columns ``u``, ``v``."""
        return np.column_stack([self.u, self.v])

    def top(self, n: int) -> "Detections":
        """The ``n`` best detections."""
        return Detections(self.u[:n], self.v[:n], self.radius_px[:n], self.score[:n])


def image_sun_direction(camera, sun_site) -> np.ndarray:
    """Unit image-plane direction (du, dv) toward the Sun for ground features below the camera."""
    s = np.asarray(sun_site, float)
    h = np.array([s[0], s[1], 0.0])
    if np.linalg.norm(h) < 1e-9:
        raise InputError("the Sun is at the zenith: no shading direction for crater detection")
    # image displacement of a small ground step toward the Sun, at the boresight's ground point
    d = camera.rotation @ h
    uvd = np.array([d[0], d[1]])
    n = np.linalg.norm(uvd)
    if n < 1e-9:
        raise InputError("the Sun's direction is along the boresight; cannot define a shading direction")
    return uvd / n


def _lit_median(raw: np.ndarray, img: np.ndarray) -> float:
    """Median of the lit pixels (> 10% of the maximum) of ``img`` (float32 copy of ``raw``); 1 if none.

    Integer frames (the camera's 8/16-bit counts) take the exact median from a
    histogram, O(N) instead of a partition over a million floats.
    """
    mx = img.max()
    if mx <= 0:
        lit = img.ravel()
        return float(np.median(lit)) if lit.size else 1.0
    cut = 0.1 * mx
    if raw.dtype.kind in "ui" and raw.min() >= 0 and mx < 65536:
        h = np.bincount(raw.ravel().astype(np.intp), minlength=int(mx) + 1)
        h[np.arange(h.size, dtype=np.float32) <= cut] = 0
        n = int(h.sum())
        if n == 0:
            return 1.0
        c = np.cumsum(h)
        lo = int(np.searchsorted(c, (n - 1) // 2 + 1))
        hi = int(np.searchsorted(c, n // 2 + 1))
        return float(np.float32(0.5 * (lo + hi)))
    lit = img[img > cut]
    return float(np.median(lit)) if lit.size else 1.0


def _pyramid_responses(img, sun_uv, radii, levels):
    """Dark/bright pair response at each radius (px), each on its pyramid level (2x2 block means)."""
    # image pyramid (2x2 block means): scale r is evaluated at level L where r / 2^L is 4..8 px
    s = sun_uv
    pyr = [img]
    while len(pyr) <= levels.max():
        a = pyr[-1]
        a = a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2]
        pyr.append(0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]))
    resp_by_scale = []
    boxes = {}
    for r, lev in zip(radii, levels):
        a = pyr[lev]
        rl = r / 2**lev
        h = max(1, int(round(0.35 * rl)))
        if (lev, h) not in boxes:  # neighbouring scales often share a box size
            boxes[(lev, h)] = _box_mean(a, h)
        box = boxes[(lev, h)]
        off = lambda k: (int(round(k * rl * s[1])), int(round(k * rl * s[0])))  # noqa: E731
        resp_by_scale.append(_pair_response(box, *off(0.5), *off(-0.5), *off(1.35)))
    return resp_by_scale


def _response_at(resp_by_scale, levels, j, uu, vv):
    """Response of scale ``j`` at full-resolution pixel positions (uu, vv) (nearest sample on its level)."""
    g = 2.0**levels[j]
    rj = np.clip(np.rint((vv + 0.5) / g - 0.5).astype(int), 0, resp_by_scale[j].shape[0] - 1)
    cj = np.clip(np.rint((uu + 0.5) / g - 0.5).astype(int), 0, resp_by_scale[j].shape[1] - 1)
    return resp_by_scale[j][rj, cj]


def _scale_candidates(resp_by_scale, radii, levels, k, sun_uv, scale_step, threshold, n_sigma, centre_shift):
    """Candidates ``(u, v, radius, score)`` (n, 4) of scale ``k``: local maxima over its threshold; None if none."""
    r, lev = radii[k], levels[k]
    resp = resp_by_scale[k]
    sub = resp[:: max(1, resp.shape[0] // 128), :: max(1, resp.shape[1] // 128)]
    med = float(np.median(sub))
    thr = max(threshold, med + n_sigma * 1.4826 * float(np.median(np.abs(sub - med))))
    b = int(np.ceil(r / 2**lev)) + 1
    # 3x3 local maxima above the threshold, away from the border
    rr, cc, sc = _local_maxima(resp, np.float32(thr), b)
    if rr.size == 0:
        return None
    # parabolic refinement of log-radius from the neighbouring scales (sampled at the same point)
    f = 2.0**lev
    uu, vv = (cc + 0.5) * f - 0.5, (rr + 0.5) * f - 0.5
    if 0 < k < len(radii) - 1:
        lo, hi = _response_at(resp_by_scale, levels, k - 1, uu, vv), _response_at(resp_by_scale, levels, k + 1, uu, vv)
        den = lo - 2 * sc + hi
        dk = np.clip(np.where(den < 0, 0.5 * (lo - hi) / np.where(den < 0, den, -1.0), 0.0), -0.5, 0.5)
    else:
        dk = np.zeros_like(sc)
    rad = r * scale_step ** dk
    s = sun_uv
    return np.column_stack([uu - centre_shift * rad * s[0], vv - centre_shift * rad * s[1], rad, sc])


def detect_craters(image, sun_dir_uv, *, min_radius_px: float = 4.0, max_radius_px: float | None = None,
                   scale_step: float = 1.25, threshold: float = 0.1, n_sigma: float = 5.0,
                   centre_shift: float = 0.2, max_detections: int = 400) -> Detections:
    """Detect craters in ``image`` (2-D, any numeric dtype) lit from image direction ``sun_dir_uv``.

    Returns :class:`Detections` sorted by decreasing score. A peak is kept
    where its score exceeds both ``threshold`` (units of the median brightness
    of the lit pixels) and ``n_sigma`` robust standard deviations (1.4826 MAD)
    of that scale's response over the frame, so the cut follows the contrast
    of the illumination. The pair's midpoint sits ~0.2 r sunward of the true
    centre (the darkest band hugs the sunward rim); ``centre_shift`` removes it
    (calibrated on :mod:`lupex.landing.render` frames at 15-30 deg sun).

    Parameters
    ----------
    image : array_like
        (ny, nx) image, any numeric dtype.
    sun_dir_uv : array_like
        (2,) direction of the illumination in the image (u, v).
    min_radius_px : float
        Smallest crater radius searched, px.
    max_radius_px : float, optional
        Largest crater radius searched, px (default: an eighth of the smaller image side).
    scale_step : float
        Ratio between successive radii searched.
    threshold : float
        Smallest score, in units of the median brightness of the lit pixels.
    n_sigma : float
        Smallest score in robust standard deviations of the scale's response.
    centre_shift : float
        Correction of the sunward offset of the detected centre, crater radii.
    max_detections : int
        Largest number of detections returned.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise InputError(f"image must be 2-D (rows, columns), got shape {img.shape}")
    raw = img
    img = img.astype(np.float32)
    if not np.isfinite(img).all():
        raise InputError("image has NaN/inf pixels; give a finite image (replace invalid pixels by 0)")
    s = np.asarray(sun_dir_uv, float)
    s = s / np.linalg.norm(s)
    ny, nx = img.shape
    norm = _lit_median(raw, img)
    if norm <= 0:
        return Detections(*(np.empty(0) for _ in range(4)))
    img = img / norm
    if max_radius_px is None:
        max_radius_px = min(ny, nx) / 8.0
    n_sc = int(np.floor(np.log(max_radius_px / min_radius_px) / np.log(scale_step))) + 1
    radii = min_radius_px * scale_step ** np.arange(max(n_sc, 1))
    levels = np.maximum(0, np.floor(np.log2(radii / 4.0))).astype(int)
    resp_by_scale = _pyramid_responses(img, s, radii, levels)
    cands = [c for k in range(len(radii))
             if (c := _scale_candidates(resp_by_scale, radii, levels, k, s, scale_step, threshold, n_sigma,
                                        centre_shift)) is not None]
    if not cands:
        return Detections(*(np.empty(0) for _ in range(4)))
    c = np.concatenate(cands)
    c = c[np.argsort(-c[:, 3], kind="stable")][: 20 * max_detections]
    keep = _nms(c[:, 0], c[:, 1], c[:, 2], max_detections)
    c = c[keep]
    return Detections(c[:, 0], c[:, 1], c[:, 2], c[:, 3])



@numba.njit(cache=True, nogil=True)
def _box_mean(a, h):  # pragma: no cover - numba
    """Mean over a (2h+1)^2 box with edge-replicated borders (scipy ``uniform_filter(mode='nearest')``).

    Separable running sums in float64, O(1) per pixel whatever ``h``.
    """
    ny, nx = a.shape
    w = 2 * h + 1
    inv = 1.0 / (w * w)
    tmp = np.empty((ny, nx), np.float64)
    for i in range(ny):
        row = a[i]
        t = tmp[i]
        acc = 0.0
        for k in range(-h, h + 1):
            acc += row[min(max(k, 0), nx - 1)]
        t[0] = acc
        j = 1
        while j < nx and j - h - 1 < 0:
            acc += row[min(j + h, nx - 1)] - row[0]
            t[j] = acc
            j += 1
        while j < nx - h:
            acc += row[j + h] - row[j - h - 1]
            t[j] = acc
            j += 1
        while j < nx:
            acc += row[nx - 1] - row[j - h - 1]
            t[j] = acc
            j += 1
    out = np.empty((ny, nx), np.float32)
    col = np.zeros(nx, np.float64)
    for k in range(-h, h + 1):
        tk = tmp[min(max(k, 0), ny - 1)]
        for j in range(nx):
            col[j] += tk[j]
    for j in range(nx):
        out[0, j] = col[j] / (w * w)
    for i in range(1, ny):
        ta = tmp[min(i + h, ny - 1)]
        tb = tmp[max(i - h - 1, 0)]
        o = out[i]
        for j in range(nx):
            c = col[j] + (ta[j] - tb[j])
            col[j] = c
            o[j] = c * inv
    return out


@numba.njit(cache=True, nogil=True)
def _pair_response(box, dy_d, dx_d, dy_b, dx_b, dy_r, dx_r):  # pragma: no cover - numba
    """``min(bright - dark, rim - dark)`` with each box sampled at its offset (edge-clamped)."""
    ny, nx = box.shape
    out = np.empty((ny, nx), np.float32)
    for i in range(ny):
        id_ = min(max(i + dy_d, 0), ny - 1)
        ib = min(max(i + dy_b, 0), ny - 1)
        ir = min(max(i + dy_r, 0), ny - 1)
        for j in range(nx):
            dk = box[id_, min(max(j + dx_d, 0), nx - 1)]
            br = box[ib, min(max(j + dx_b, 0), nx - 1)] - dk
            rm = box[ir, min(max(j + dx_r, 0), nx - 1)] - dk
            out[i, j] = br if br < rm else rm
    return out


@numba.njit(cache=True, nogil=True)
def _local_maxima(resp, thr, border):  # pragma: no cover - numba
    """Pixels above ``thr``, at least ``border`` from the edge, >= their 8 neighbours: (rows, cols, scores)."""
    ny, nx = resp.shape
    n = 0
    rr = np.empty(64, np.int64)
    cc = np.empty(64, np.int64)
    for i in range(border, ny - border):
        for j in range(border, nx - border):
            v = resp[i, j]
            if not v > thr:
                continue
            ok = True
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    if (dy != 0 or dx != 0) and v < resp[i + dy, j + dx]:
                        ok = False
            if ok:
                if n == rr.size:
                    rr2 = np.empty(2 * n, np.int64)
                    cc2 = np.empty(2 * n, np.int64)
                    rr2[:n] = rr
                    cc2[:n] = cc
                    rr, cc = rr2, cc2
                rr[n] = i
                cc[n] = j
                n += 1
    sc = np.empty(n, np.float32)
    for k in range(n):
        sc[k] = resp[rr[k], cc[k]]
    return rr[:n], cc[:n], sc


def _nms(u, v, r, max_n: int) -> np.ndarray:
    """Greedy NMS (input sorted by score): drop a candidate whose centre lies inside a kept one's 0.8 r."""
    return _nms_kernel(np.ascontiguousarray(u, np.float64), np.ascontiguousarray(v, np.float64),
                       np.ascontiguousarray(r, np.float64), int(max_n))


@numba.njit(cache=True, nogil=True)
def _nms_kernel(u, v, r, max_n):  # pragma: no cover - numba
    n = u.size
    suppressed = np.zeros(n, np.bool_)
    keep = np.empty(min(n, max_n), np.int64)
    nk = 0
    for i in range(n):
        if suppressed[i]:
            continue
        keep[nk] = i
        nk += 1
        if nk >= max_n:
            break
        rad = 0.8 * max(r[i], 1.0)
        r2 = rad * rad
        for j in range(i + 1, n):
            du = u[j] - u[i]
            dv = v[j] - v[i]
            if du * du + dv * dv <= r2:
                suppressed[j] = True
    return keep[:nk]


def project_craters(camera, xyz_m, radius_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project crater centres (n, 3, site frame) and radii to pixels: ``(uv, radius_px, depth_m)``."""
    uv, depth = camera.project(xyz_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        rpx = np.where(depth > 0, np.asarray(radius_m, float) * camera.f_px / depth, np.nan)
    return uv, rpx, depth


def precision_recall(det: Detections, truth_uv, truth_radius_px, width: int, height: int, *,
                     min_radius_px: float = 5.0, mask=None) -> dict:
    """Precision and recall of ``det`` against projected truth craters (see the module docstring).

    ``mask`` (optional, bool over the truth craters) further restricts the
    craters that count for recall (e.g. those not too degraded).

    Parameters
    ----------
    det : Detections
        The detections.
    truth_uv : array_like
        (n, 2) projected truth crater centres, px.
    truth_radius_px : array_like
        (n,) projected truth radii, px.
    width, height : int
        Image size, px; truth craters not wholly inside do not count.
    min_radius_px : float
        Smallest truth radius that counts, px.
    mask : array_like of bool, optional
        (n,) truth craters that may count for recall.
    """
    tuv = np.asarray(truth_uv, float).reshape(-1, 2)
    tr = np.asarray(truth_radius_px, float)
    ok = np.isfinite(tr) & np.isfinite(tuv).all(1)
    tuv, tr = tuv[ok], tr[ok]
    m = None if mask is None else np.asarray(mask, bool)[ok]
    inside = ((tuv[:, 0] - tr >= 0) & (tuv[:, 0] + tr <= width - 1) & (tuv[:, 1] - tr >= 0)
              & (tuv[:, 1] + tr <= height - 1))
    counted = inside & (tr >= min_radius_px)
    if m is not None:
        counted &= m
    n = len(det)
    matched_truth = np.zeros(tr.size, bool)
    tp = 0
    for i in range(n):
        d = np.hypot(tuv[:, 0] - det.u[i], tuv[:, 1] - det.v[i])
        ratio = det.radius_px[i] / np.maximum(tr, 1e-9)
        good = (d <= np.maximum(0.5 * tr, 2.0)) & (ratio > 0.5) & (ratio < 2.0)
        if good.any():
            tp += 1
            j = np.flatnonzero(good)
            matched_truth[j[np.argmin(d[j])]] = True
    # detections centred outside the counted region don't count as false either way
    n_counted = int(counted.sum())
    recall = float((matched_truth & counted).sum() / n_counted) if n_counted else float("nan")
    precision = float(tp / n) if n else float("nan")
    return dict(precision=precision, recall=recall, n_detections=n, n_truth=n_counted, n_true_positive=tp)
