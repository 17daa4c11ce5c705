"""Terrain template matching, the fallback of crater navigation at low sun.

For low sun, where too few craters are usable (Maehara et al. 2021, J. Jpn.
Soc. Photogramm. Remote Sens. 60(1):4-18: template matching + least-squares
matching against a photo map). The descent image is orthorectified onto the
map grid with the predicted pose, cut into blocks, and each block is matched
against the reference image: normalised cross-correlation (FFT) over the
search window, then least-squares (Gauss-Newton) subpixel translation
refinement (Gruen 1985, S. Afr. J. Photogramm. 14:175). Because the reference
was rendered at another illumination, both images are turned into
gradient-orientation fields (unit vectors (gx, gy)/|g| where the gradient is
significant), which are insensitive to brightness and contrast changes
(orientation correlation: Fitch, Kadyrov, Christmas & Kittler 2002, BMVC).
Each block gives one 3-D/2-D correspondence for :func:`lupex.landing.pose.pnp_ransac`.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from lupex.landing.camera import Camera

__all__ = ["TEMPLATE_BLOCK_PX", "template_block_px", "template_correspondences"]


def _orientation_field(img: np.ndarray, sigma: float = 1.0, rel_floor: float = 0.05):
    """Unit gradient-orientation field (2, ny, nx), zero where the gradient is weak or the pixel invalid."""
    a = ndimage.gaussian_filter(np.nan_to_num(img, nan=0.0).astype(float), sigma)
    gy = ndimage.sobel(a, 0)
    gx = ndimage.sobel(a, 1)
    mag = np.hypot(gx, gy)
    valid = np.isfinite(img)
    floor = rel_floor * (np.percentile(mag[valid], 90) if valid.any() else 1.0)
    w = (mag > floor) & ndimage.binary_erosion(valid, iterations=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        ox = np.where(w, gx / mag, 0.0)
        oy = np.where(w, gy / mag, 0.0)
    return np.stack([ox, oy])


def _ncc_search(tpl: np.ndarray, ref: np.ndarray):
    """Normalised correlation of a 2-channel template over every offset of a 2-channel reference (FFT)."""
    c, th, tw = tpl.shape
    _, rh, rw = ref.shape
    # circular correlation on a fast FFT size >= the window: the valid offsets never wrap;
    # the channels' cross-spectra are summed before one inverse transform
    shape = (sfft.next_fast_len(rh, real=True), sfft.next_fast_len(rw, real=True))
    F = sfft.rfft2(ref, shape, axes=(1, 2)) * np.conj(sfft.rfft2(tpl, shape, axes=(1, 2)))
    num = sfft.irfft2(F.sum(0), shape)[: rh - th + 1, : rw - tw + 1]
    # energy of the reference under the template window (sum of squares over channels)
    e = (ref**2).sum(0)
    ii = np.pad(e, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    win = ii[th:, tw:] - ii[:-th, tw:] - ii[th:, :-tw] + ii[:-th, :-tw]
    tn = np.sqrt((tpl**2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        ncc = num / (tn * np.sqrt(np.maximum(win, 1e-12)))
    return np.nan_to_num(ncc, nan=-1.0)


@numba.njit(cache=True, nogil=True)
def _shift_bilinear(planes, d0, d1, th, tw):  # pragma: no cover - numba
    """``planes`` (c, ny, nx) sampled at ``(i + d0, j + d1)`` for ``i < th, j < tw``, bilinear, 0 outside.

    The same values as ``ndimage.map_coordinates(order=1, mode='constant')`` on
    a uniformly shifted grid, without a per-point spline evaluation.
    """
    c, ny, nx = planes.shape
    i0 = int(np.floor(d0))
    j0 = int(np.floor(d1))
    fy = d0 - i0
    fx = d1 - j0
    out = np.zeros((c, th, tw))
    for i in range(th):
        y = i + d0
        if y < 0 or y > ny - 1:
            continue
        ia = i + i0
        ib = min(ia + 1, ny - 1)
        for j in range(tw):
            x = j + d1
            if x < 0 or x > nx - 1:
                continue
            ja = j + j0
            jb = min(ja + 1, nx - 1)
            for k in range(c):
                out[k, i, j] = ((1 - fy) * ((1 - fx) * planes[k, ia, ja] + fx * planes[k, ia, jb])
                                + fy * ((1 - fx) * planes[k, ib, ja] + fx * planes[k, ib, jb]))
    return out


def _lsm_refine(tpl: np.ndarray, ref: np.ndarray, r0: float, c0: float, n_iter: int = 8):
    """Least-squares translation refinement: min sum (T(x) - R(x + d))^2 over d (Gauss-Newton)."""
    c = tpl.shape[0]
    gy = np.stack([ndimage.sobel(ref[k], 0) / 8.0 for k in range(c)])
    gx = np.stack([ndimage.sobel(ref[k], 1) / 8.0 for k in range(c)])
    planes = np.ascontiguousarray(np.concatenate([ref, gy, gx]), dtype=np.float64)
    return _lsm_iterate(np.ascontiguousarray(tpl, dtype=np.float64), planes, float(r0), float(c0), n_iter)


@numba.njit(cache=True, nogil=True)
def _lsm_iterate(tpl, planes, r0, c0, n_iter):  # pragma: no cover - numba
    """Gauss-Newton steps of :func:`_lsm_refine` on the stacked (reference, d/dy, d/dx) planes."""
    c, th, tw = tpl.shape
    d = np.array([r0, c0])
    for _ in range(n_iter):
        S = _shift_bilinear(planes, d[0], d[1], th, tw)
        h00 = h01 = h11 = b0 = b1 = 0.0
        for k in range(c):
            for i in range(th):
                for j in range(tw):
                    gy = S[c + k, i, j]
                    gx = S[2 * c + k, i, j]
                    res = tpl[k, i, j] - S[k, i, j]
                    h00 += gy * gy
                    h01 += gy * gx
                    h11 += gx * gx
                    b0 += gy * res
                    b1 += gx * res
        # condition number of the 2x2 normal matrix (eigenvalues of a symmetric PSD matrix)
        tr = h00 + h11
        disc = np.sqrt(max(0.25 * (h00 - h11) ** 2 + h01 * h01, 0.0))
        lmax, lmin = 0.5 * tr + disc, 0.5 * tr - disc
        if not lmin > 0 or lmax / lmin > 1e8:
            break
        det = h00 * h11 - h01 * h01
        s0 = min(max((h11 * b0 - h01 * b1) / det, -1.0), 1.0)
        s1 = min(max((h00 * b1 - h01 * b0) / det, -1.0), 1.0)
        d[0] += s0
        d[1] += s1
        if max(abs(s0), abs(s1)) < 1e-3:
            break
    return d


@numba.njit(cache=True, nogil=True)
def _orthorectify(img, xs, ys, Z, R, C, f, cx, cy, width, height):  # pragma: no cover - numba
    """The frame resampled onto map cells (ys x xs, heights Z) through the pinhole; NaN where not seen.

    Bilinear, for cells whose projection lies at least one pixel inside the
    frame (as ``ndimage.map_coordinates(order=1)`` there).
    """
    ny, nx = Z.shape
    out = np.full((ny, nx), np.nan)
    for i in range(ny):
        for j in range(nx):
            d0, d1, d2 = xs[j] - C[0], ys[i] - C[1], Z[i, j] - C[2]
            pz = d0 * R[2, 0] + d1 * R[2, 1] + d2 * R[2, 2]
            if not pz > 0:
                continue
            zi = 1.0 / pz
            u = f * (d0 * R[0, 0] + d1 * R[0, 1] + d2 * R[0, 2]) * zi + cx
            v = f * (d0 * R[1, 0] + d1 * R[1, 1] + d2 * R[1, 2]) * zi + cy
            if not (u >= 0.5 and u <= width - 1.5 and v >= 0.5 and v <= height - 1.5):
                continue
            iu, iv = int(np.floor(u)), int(np.floor(v))
            fu, fv = u - iu, v - iv
            iu1, iv1 = min(iu + 1, width - 1), min(iv + 1, height - 1)
            out[i, j] = ((1 - fv) * ((1 - fu) * img[iv, iu] + fu * img[iv, iu1])
                         + fv * ((1 - fu) * img[iv1, iu] + fu * img[iv1, iu1]))
    return out


TEMPLATE_BLOCK_PX = (12, 48)
"""Smallest and largest template block (map pixels). Blocks are the largest that fit 4 per side of the
frame's footprint on the map: on a 20 m map a 1024-pixel, 30-deg frame spans 54 map pixels at 2 km, where
fixed 48-pixel blocks gave at most one block and no fix at all; 12-pixel blocks fixed it to 0.9 m at
1 deg sun (the default site)."""


def template_block_px(footprint_px: int) -> int:
    """Block size (map px) for a footprint of ``footprint_px`` map pixels.

    Four blocks per side, within :data:`TEMPLATE_BLOCK_PX`.
    """
    lo, hi = TEMPLATE_BLOCK_PX
    return int(np.clip(int(footprint_px) // 4, lo, hi))


def template_correspondences(image, camera_pred: Camera, omap, *, search_m: float = 60.0, block_px: int | None = None,
                             min_ncc: float = 0.25, min_valid: float = 0.6):
    """Block-wise orientation-NCC + least-squares matching of the orthorectified frame against the reference.

    ``block_px``: block size in map pixels (None: :func:`template_block_px` of the footprint).
    Returns ``(points_m (n, 3), uv (n, 2), ncc (n,))``: site-frame map points and
    the frame pixels that see them.

    Parameters
    ----------
    image : np.ndarray
        (ny, nx) descent frame.
    camera_pred : Camera
        The camera at the predicted pose.
    omap : OnboardMap
        The onboard map (its reference image).
    search_m : float
        Search radius around the prediction, m.
    block_px : int, optional
        Block size, map px.
    min_ncc : float
        Smallest normalised cross-correlation of a kept block.
    min_valid : float
        Smallest share (0..1) of a block's pixels seen by the frame.
    """
    img = np.asarray(image, float)
    ny, nx = omap.z_site_m.shape
    # map cells in the predicted footprint
    uvc, depth = camera_pred.project(np.column_stack([omap.x_m[[0, -1, 0, -1]], omap.y_m[[0, 0, -1, -1]],
                                                      omap.z_site_m[[0, 0, -1, -1], [0, -1, 0, -1]]]))
    corners = camera_pred.ray(np.array([[0, 0], [camera_pred.width - 1, 0], [0, camera_pred.height - 1],
                                        [camera_pred.width - 1, camera_pred.height - 1]], float))
    zref = omap.median_height_m()
    t = (zref - camera_pred.position_m[2]) / corners[:, 2]
    if not (t > 0).all():
        return np.empty((0, 3)), np.empty((0, 2)), np.empty(0)
    gxy = camera_pred.position_m[:2] + corners[:, :2] * t[:, None]
    c0 = int(np.clip(np.floor((gxy[:, 0].min() - omap.x_m[0]) / omap.pixel_m), 0, nx - 1))
    c1 = int(np.clip(np.ceil((gxy[:, 0].max() - omap.x_m[0]) / omap.pixel_m), 0, nx - 1))
    r0 = int(np.clip(np.floor((omap.y_m[0] - gxy[:, 1].max()) / omap.pixel_m), 0, ny - 1))
    r1 = int(np.clip(np.ceil((omap.y_m[0] - gxy[:, 1].min()) / omap.pixel_m), 0, ny - 1))
    if block_px is None:
        block_px = template_block_px(min(r1 - r0, c1 - c0))
    if r1 - r0 < block_px or c1 - c0 < block_px:
        return np.empty((0, 3)), np.empty((0, 2)), np.empty(0)
    rows = np.arange(r0, r1 + 1)
    cols = np.arange(c0, c1 + 1)
    Z = omap.z_site_m[np.ix_(rows, cols)]
    ortho = _orthorectify(img, omap.x_m[cols], omap.y_m[rows], np.ascontiguousarray(Z, dtype=np.float64),
                          camera_pred.rotation, camera_pred.position_m, camera_pred.f_px, camera_pred.cx,
                          camera_pred.cy, camera_pred.width, camera_pred.height)
    tpl_field = _orientation_field(ortho)
    s = int(np.ceil(search_m / omap.pixel_m))
    R0, R1 = max(r0 - s, 0), min(r1 + s, ny - 1)
    C0, C1 = max(c0 - s, 0), min(c1 + s, nx - 1)
    ref_field = _orientation_field(omap.reference_image[R0:R1 + 1, C0:C1 + 1])
    pts, pix, scores = [], [], []
    valid = np.isfinite(ortho)
    for br in range(0, ortho.shape[0] - block_px + 1, block_px):
        for bc in range(0, ortho.shape[1] - block_px + 1, block_px):
            vb = valid[br:br + block_px, bc:bc + block_px]
            tb = tpl_field[:, br:br + block_px, bc:bc + block_px]
            if vb.mean() < min_valid or (np.abs(tb).sum(0) > 0).mean() < 0.05:
                continue
            # block position in the reference crop, search window +-s
            gr, gc = r0 + br - R0, c0 + bc - C0
            wr0, wc0 = max(gr - s, 0), max(gc - s, 0)
            wr1 = min(gr + s + block_px, ref_field.shape[1])
            wc1 = min(gc + s + block_px, ref_field.shape[2])
            win = ref_field[:, wr0:wr1, wc0:wc1]
            if win.shape[1] < block_px + 2 or win.shape[2] < block_px + 2:
                continue
            ncc = _ncc_search(tb, win)
            k = np.unravel_index(np.argmax(ncc), ncc.shape)
            best = ncc[k]
            if best < min_ncc:
                continue
            if not (0 < k[0] < ncc.shape[0] - 1 and 0 < k[1] < ncc.shape[1] - 1):
                continue  # peak on the edge of the search window: unreliable
            d = _lsm_refine(tb, win, float(k[0]), float(k[1]))
            # displacement (map px) of the block from its predicted place
            dr = wr0 + d[0] - gr
            dc = wc0 + d[1] - gc
            cr, cc = br + (block_px - 1) / 2.0, bc + (block_px - 1) / 2.0
            xw = omap.x_m[c0] + cc * omap.pixel_m
            yw = omap.y_m[r0] - cr * omap.pixel_m
            xt, yt = xw + dc * omap.pixel_m, yw - dr * omap.pixel_m
            pts.append([xt, yt])
            pix.append([xw, yw])
            scores.append(best)
    if not pts:
        return np.empty((0, 3)), np.empty((0, 2)), np.empty(0)
    pts, pix = np.asarray(pts), np.asarray(pix)
    # pixel that (by the predicted pose) saw each block centre, and the world point it really shows
    zw = omap.height_at(pix[:, 0], pix[:, 1])
    uvp, _ = camera_pred.project(np.column_stack([pix, zw]))
    return np.column_stack([pts, omap.height_at(pts[:, 0], pts[:, 1])]), uvp, np.asarray(scores)
