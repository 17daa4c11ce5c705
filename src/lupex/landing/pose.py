"""Camera pose from 2-D/3-D correspondences: DLT or known-attitude init, Gauss-Newton, RANSAC, covariance.

* **DLT** (Hartley & Zisserman 2004, *Multiple View Geometry*, 2nd ed., alg. 7.1,
  with Hartley normalisation): the 3x4 projection from >= 6 non-coplanar points,
  then ``K^-1 P`` split into the nearest rotation (SVD) and the centre.
* **Known attitude** (the star tracker / IMU gives the rotation to ~0.01 deg):
  with ``R`` fixed, ``u - cx = f (r1 . (X - C)) / (r3 . (X - C))`` is linear in
  the centre ``C``: two equations per point, a 3x3 least-squares solve. It is the
  minimal solver of the RANSAC loop (2 points; 3 are drawn) and works for the
  nearly planar crater fields where the DLT is degenerate.
* **Gauss-Newton** on the reprojection error over all 6 degrees of freedom
  (rotation as a left-multiplied small-angle update ``exp([dtheta]x) R``,
  centre ``C``), analytic Jacobian of the pinhole projection.
* **Covariance**: ``sigma^2 (J^T J)^-1`` with ``sigma^2 = sum(r^2) / (2n - 6)``
  (Gauss-Markov, e.g. Hartley & Zisserman sec. 5.2.3); the position block is
  reported.
* **RANSAC** (Fischler & Bolles 1981, CACM 24:381) with the known-attitude
  solver, an inlier threshold in pixels and the adaptive iteration count for
  99.9% confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from lupex.errors import InputError
from lupex.landing.camera import Camera
from lupex.landing.craters import detect_craters, image_sun_direction
from lupex.landing.matching import identify_no_prior, match_with_prior
from lupex.landing.template import template_correspondences

__all__ = ["PnPResult", "VisionFix", "dlt_pose", "pnp_ransac", "position_from_attitude", "refine_pose",
           "skew", "so3_exp"]


@dataclass(frozen=True)
class VisionFix:
    """One vision navigation fix, as consumed by the navigation filter.

    ``position_m`` (3,) camera centre and ``rotation`` (3x3, world -> camera) in
    the site frame, ``cov_position_m2`` (3x3), ``n_matches`` (inliers used),
    ``method`` ('crater' | 'template' | 'none') and ``ok`` (False: ignore the fix;
    position and covariance are then NaN).
    """

    position_m: np.ndarray
    rotation: np.ndarray
    cov_position_m2: np.ndarray
    n_matches: int
    method: str
    ok: bool

    @staticmethod
    def failed(rotation=None) -> "VisionFix":
        """A fix with ``ok=False``, NaN position and covariance (``rotation`` kept when given)."""
        r = np.full((3, 3), np.nan) if rotation is None else np.asarray(rotation, float)
        return VisionFix(np.full(3, np.nan), r, np.full((3, 3), np.nan), 0, "none", False)


@dataclass(frozen=True)
class PnPResult:
    """A camera pose from 2-D/3-D matches: rotation (world -> camera), position (m), covariance and inliers."""

    rotation: np.ndarray
    position_m: np.ndarray
    cov6: np.ndarray  # (dtheta (3), C (3)) covariance
    inliers: np.ndarray  # bool (n,)
    rms_px: float

    @property
    def cov_position_m2(self) -> np.ndarray:
        """Covariance (3, 3) of the camera position, m^2."""
        return self.cov6[3:, 3:]


def skew(w) -> np.ndarray:
    """Skew-symmetric (3, 3) cross-product matrix of ``w`` (3,): ``skew(w) @ v == w x v``."""
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


def so3_exp(w) -> np.ndarray:
    """Rodrigues' formula."""
    w = np.asarray(w, float)
    th = np.linalg.norm(w)
    if th < 1e-12:
        return np.eye(3) + skew(w)
    k = skew(w / th)
    return np.eye(3) + np.sin(th) * k + (1.0 - np.cos(th)) * (k @ k)


def _check(points_m, uv):
    X = np.asarray(points_m, float).reshape(-1, 3)
    x = np.asarray(uv, float).reshape(-1, 2)
    if X.shape[0] != x.shape[0]:
        raise InputError(f"{X.shape[0]} 3-D points but {x.shape[0]} pixels; give one pixel per point")
    if not (np.isfinite(X).all() and np.isfinite(x).all()):
        raise InputError("PnP input has NaN/inf points or pixels; drop them first")
    return X, x


def position_from_attitude(points_m, uv, camera: Camera, rotation) -> np.ndarray:
    """Least-squares camera centre for a known world->camera ``rotation`` (>= 2 points).

    Parameters
    ----------
    points_m : np.ndarray
        (n, 3) world points, m, site frame.
    uv : np.ndarray
        (n, 2) their image positions, px.
    camera : Camera
        The camera's intrinsics.
    rotation : np.ndarray
        (3, 3) world -> camera rotation.
    """
    X, x = _check(points_m, uv)
    R = np.asarray(rotation, float)
    a = (x[:, 0] - camera.cx) / camera.f_px
    b = (x[:, 1] - camera.cy) / camera.f_px
    r1, r2, r3 = R
    # a (r3.(X-C)) - r1.(X-C) = 0  ->  (a r3 - r1).C = (a r3 - r1).X
    A1 = a[:, None] * r3 - r1
    A2 = b[:, None] * r3 - r2
    A = np.vstack([A1, A2])
    rhs = np.concatenate([(A1 * X).sum(1), (A2 * X).sum(1)])
    C, *_ = np.linalg.lstsq(A, rhs, rcond=None)
    return C


def _attitude_rows(X, x, camera: Camera, R):
    a = (x[:, 0] - camera.cx) / camera.f_px
    b = (x[:, 1] - camera.cy) / camera.f_px
    A1 = a[:, None] * R[2] - R[0]
    A2 = b[:, None] * R[2] - R[1]
    return A1, A2, (A1 * X).sum(1), (A2 * X).sum(1)


def _draw_triples(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """``m`` uniformly random 3-subsets of ``range(n)`` (distinct within a row), all drawn at once."""
    u = rng.integers(0, [n, n - 1, n - 2], size=(m, 3))
    a = u[:, 0]
    b = u[:, 1] + (u[:, 1] >= a)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    c = u[:, 2]
    c = c + (c >= lo)
    c = c + (c >= hi)
    return np.column_stack([a, b, c]).astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _ransac_loop(A1, A2, rhs1, rhs2, samples, X, x, R, f, cx, cy, thr, confidence):  # pragma: no cover - numba
    """Sequential RANSAC over pre-drawn samples with the adaptive stop for ``confidence``: (best mask, count)."""
    n = X.shape[0]
    best = np.zeros(n, np.bool_)
    best_n = 0
    need = samples.shape[0]
    it = 0
    while it < min(need, samples.shape[0]):
        inl, k = _ransac_trial(A1, A2, rhs1, rhs2, samples[it], X, x, R, f, cx, cy, thr)
        it += 1
        if k > best_n:
            best_n = k
            best = inl
            w = k / n
            if w < 1:
                need = int(np.ceil(np.log(1 - confidence) / np.log(max(1 - w**3, 1e-12))))
            else:
                need = 1
    return best, best_n


@numba.njit(cache=True, nogil=True)
def _ransac_trial(A1, A2, rhs1, rhs2, idx, X, x, R, f, cx, cy, thr):  # pragma: no cover - numba
    """One RANSAC trial: centre from the sampled points' rows (least squares), then inliers of all points."""
    m = idx.size
    A = np.empty((2 * m, 3))
    rhs = np.empty(2 * m)
    for q in range(m):
        A[q] = A1[idx[q]]
        A[m + q] = A2[idx[q]]
        rhs[q] = rhs1[idx[q]]
        rhs[m + q] = rhs2[idx[q]]
    C = np.linalg.lstsq(A, rhs)[0]
    n = X.shape[0]
    inl = np.zeros(n, np.bool_)
    k = 0
    for i in range(n):
        d0, d1, d2 = X[i, 0] - C[0], X[i, 1] - C[1], X[i, 2] - C[2]
        pz = d0 * R[2, 0] + d1 * R[2, 1] + d2 * R[2, 2]
        if not pz > 0:
            continue
        px = d0 * R[0, 0] + d1 * R[0, 1] + d2 * R[0, 2]
        py = d0 * R[1, 0] + d1 * R[1, 1] + d2 * R[1, 2]
        e = np.hypot(f * px / pz + cx - x[i, 0], f * py / pz + cy - x[i, 1])
        if e < thr:
            inl[i] = True
            k += 1
    return inl, k


def dlt_pose(points_m, uv, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Normalised DLT pose (rotation, centre) from >= 6 points in general (non-coplanar) position."""
    X, x = _check(points_m, uv)
    if len(X) < 6:
        raise InputError(f"DLT needs >= 6 correspondences, got {len(X)}")
    mx, sx = X.mean(0), np.sqrt(((X - X.mean(0)) ** 2).sum(1).mean() / 3.0)
    mu, su = x.mean(0), np.sqrt(((x - x.mean(0)) ** 2).sum(1).mean() / 2.0)
    T3 = np.diag([1 / sx, 1 / sx, 1 / sx, 1.0])
    T3[:3, 3] = -mx / sx
    T2 = np.diag([1 / su, 1 / su, 1.0])
    T2[:2, 2] = -mu / su
    Xn = (np.column_stack([X, np.ones(len(X))]) @ T3.T)
    xn = (np.column_stack([x, np.ones(len(x))]) @ T2.T)
    rows = []
    for Xi, (u, v, _w) in zip(Xn, xn):
        rows.append(np.concatenate([np.zeros(4), -Xi, v * Xi]))
        rows.append(np.concatenate([Xi, np.zeros(4), -u * Xi]))
    _, s, vt = np.linalg.svd(np.asarray(rows))
    P = np.linalg.inv(T2) @ vt[-1].reshape(3, 4) @ T3
    M = np.linalg.inv(camera.K) @ P
    if np.linalg.det(M[:, :3]) < 0:
        M = -M
    scale = np.cbrt(np.linalg.det(M[:, :3]))
    M = M / scale
    U, _, Vt = np.linalg.svd(M[:, :3])
    R = U @ Vt
    C = -np.linalg.solve(M[:, :3], M[:, 3])
    return R, C


def _residuals_jacobian(X, x, camera: Camera, R, C):
    pc = (X - C) @ R.T
    z = pc[:, 2]
    f = camera.f_px
    u = f * pc[:, 0] / z + camera.cx
    v = f * pc[:, 1] / z + camera.cy
    r = np.concatenate([u - x[:, 0], v - x[:, 1]])
    n = len(X)
    # d(pc)/d(dtheta) for R <- exp([dtheta]x) R : d pc = -[pc]x dtheta ;  d pc / dC = -R
    J = np.zeros((2 * n, 6))
    du_dpc = np.column_stack([f / z, np.zeros(n), -f * pc[:, 0] / z**2])
    dv_dpc = np.column_stack([np.zeros(n), f / z, -f * pc[:, 1] / z**2])
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1.0
        dpc = np.cross(e, pc)  # d(exp([w]x) pc)/dw_k = e_k x pc
        J[:n, k] = (du_dpc * dpc).sum(1)
        J[n:, k] = (dv_dpc * dpc).sum(1)
    J[:n, 3:] = -du_dpc @ R
    J[n:, 3:] = -dv_dpc @ R
    return r, J, z


def _augment(r, J, R, R_prior, w):
    """Append attitude-prior rows ``w * log(R R_prior^T)`` (small-angle) to a residual system."""
    if R_prior is None:
        return r, J
    D = R @ R_prior.T
    th = 0.5 * np.array([D[2, 1] - D[1, 2], D[0, 2] - D[2, 0], D[1, 0] - D[0, 1]])
    Ja = np.zeros((3, 6))
    Ja[:, :3] = np.eye(3) * w
    return np.concatenate([r, w * th]), np.vstack([J, Ja])


def refine_pose(points_m, uv, camera: Camera, rotation, position_m, n_iter: int = 10, *,
                attitude_prior=None, attitude_sigma_rad: float | None = None, sigma_px: float = 1.0) -> PnPResult:
    """Gauss-Newton on the reprojection error (6 DOF) from an initial pose; covariance as in the module docstring.

    With ``attitude_prior`` (world->camera rotation) and ``attitude_sigma_rad``
    the rotation is also pulled to the star-tracker attitude, as three extra
    residuals ``(sigma_px / attitude_sigma) * dtheta`` (pixel-equivalent weight;
    ``sigma_px`` is re-estimated from the reprojection residuals).

    Parameters
    ----------
    points_m : np.ndarray
        (n, 3) world points, m, site frame.
    uv : np.ndarray
        (n, 2) their image positions, px.
    camera : Camera
        The camera's intrinsics.
    rotation : np.ndarray
        (3, 3) initial world -> camera rotation.
    position_m : np.ndarray
        (3,) initial camera centre, m.
    n_iter : int
        Gauss-Newton iterations.
    attitude_prior : np.ndarray, optional
        (3, 3) star-tracker world -> camera rotation.
    attitude_sigma_rad : float, optional
        Its 1-sigma, rad.
    sigma_px : float
        Starting reprojection 1-sigma, px.
    """
    X, x = _check(points_m, uv)
    R = np.asarray(rotation, float).copy()
    C = np.asarray(position_m, float).copy()
    Rp = None if attitude_prior is None or attitude_sigma_rad is None else np.asarray(attitude_prior, float)
    for _ in range(n_iter):
        r, J, z = _residuals_jacobian(X, x, camera, R, C)
        if not (z > 0).all():
            break
        r, J = _augment(r, J, R, Rp, sigma_px / attitude_sigma_rad if Rp is not None else 0.0)
        try:
            step = np.linalg.lstsq(J, -r, rcond=None)[0]
        except np.linalg.LinAlgError:
            break
        R = so3_exp(step[:3]) @ R
        C = C + step[3:]
        if np.abs(step[:3]).max() < 1e-10 and np.abs(step[3:]).max() < 1e-7:
            break
    U, _, Vt = np.linalg.svd(R)
    R = U @ Vt
    r, J, _ = _residuals_jacobian(X, x, camera, R, C)
    dof = max(2 * len(X) - (6 if Rp is None else 3), 1)
    s2 = max(float(r @ r) / dof, 1e-6)
    rms = float(np.sqrt(np.mean(r**2)))
    if Rp is not None:
        r, J = _augment(r, J, R, Rp, np.sqrt(s2) / attitude_sigma_rad)
    try:
        cov = s2 * np.linalg.inv(J.T @ J)
    except np.linalg.LinAlgError:
        cov = np.full((6, 6), np.inf)
    return PnPResult(R, C, cov, np.ones(len(X), bool), rms)


def _reproj_err(X, x, camera, R, C):
    pc = (X - C) @ R.T
    with np.errstate(divide="ignore", invalid="ignore"):
        u = camera.f_px * pc[:, 0] / pc[:, 2] + camera.cx
        v = camera.f_px * pc[:, 1] / pc[:, 2] + camera.cy
    e = np.hypot(u - x[:, 0], v - x[:, 1])
    return np.where(pc[:, 2] > 0, e, np.inf)


def pnp_ransac(points_m, uv, camera: Camera, rotation_init, rng: np.random.Generator | None = None, *,
               threshold_px: float = 3.0, max_iter: int = 500, min_inliers: int = 5,
               confidence: float = 0.999, attitude_sigma_deg: float | None = None) -> PnPResult | None:
    """RANSAC over the known-attitude solver, then 6-DOF Gauss-Newton on the inliers.

    With ``attitude_sigma_deg`` the refinement keeps ``rotation_init`` as an
    attitude prior of that accuracy (see :func:`refine_pose`).
    Returns ``None`` when fewer than ``min_inliers`` agree. ``rng`` draws the
    samples (default: a fixed-seed generator, so the result is reproducible).

    Parameters
    ----------
    points_m : np.ndarray
        (n, 3) world points, m, site frame.
    uv : np.ndarray
        (n, 2) their image positions, px.
    camera : Camera
        The camera's intrinsics.
    rotation_init : np.ndarray
        (3, 3) known world -> camera rotation.
    rng : np.random.Generator, optional
        Draws the samples.
    threshold_px : float
        Inlier reprojection threshold, px.
    max_iter : int
        Most RANSAC iterations.
    min_inliers : int
        Fewest inliers of a pose.
    confidence : float
        Stop when this probability of an all-inlier sample is reached.
    attitude_sigma_deg : float, optional
        1-sigma of the attitude prior, deg (None: free 6-DOF).
    """
    X, x = _check(points_m, uv)
    n = len(X)
    if n < max(3, min_inliers):
        return None
    rng = np.random.default_rng(0) if rng is None else rng
    R0 = np.asarray(rotation_init, float)
    # known-attitude rows of every point, once: (a r3 - r1) . C = (a r3 - r1) . X, same for b
    A1, A2, rhs1, rhs2 = _attitude_rows(X, x, camera, R0)
    best, best_n = _ransac_loop(A1, A2, rhs1, rhs2, _draw_triples(rng, n, max_iter), X, x, R0, camera.f_px,
                                camera.cx, camera.cy, float(threshold_px), float(confidence))
    if best_n < min_inliers:
        return None
    C = position_from_attitude(X[best], x[best], camera, R0)
    kw = dict(attitude_prior=R0, attitude_sigma_rad=None if attitude_sigma_deg is None
              else np.radians(attitude_sigma_deg), sigma_px=threshold_px / 3.0)
    res = refine_pose(X[best], x[best], camera, R0, C, **kw)
    inl = _reproj_err(X, x, camera, res.rotation, res.position_m) < threshold_px
    if inl.sum() < min_inliers:
        return None
    res = refine_pose(X[inl], x[inl], camera, res.rotation, res.position_m, **kw)
    if attitude_sigma_deg is not None:
        res = refine_pose(X[inl], x[inl], camera, res.rotation, res.position_m,
                          **{**kw, "sigma_px": max(res.rms_px, 0.05)})
    return PnPResult(res.rotation, res.position_m, res.cov6, inl, res.rms_px)


# ----------------------------------------------------------------------------- top level
@dataclass(frozen=True)
class PosePrior:
    """Predicted pose from the navigation filter: position (3,), rotation (world -> camera), position covariance."""

    position_m: np.ndarray
    rotation: np.ndarray
    cov_position_m2: np.ndarray


def _sigma_xy_m(predicted_pose: PosePrior) -> float:
    """Horizontal 1-sigma (m) of the prior position: sqrt of the mean of the x and y variances."""
    return float(np.sqrt(max(np.trace(np.asarray(predicted_pose.cov_position_m2, float)[:2, :2]) / 2.0, 0.0)))


def _template_fix(img, camera: Camera, predicted_pose: PosePrior, onboard_map, att, rng, min_matches, threshold_px,
                  attitude_sigma_deg) -> VisionFix | None:
    """Fix from template matching around the prior (:func:`lupex.landing.matching.template_correspondences`)."""
    cam_pred = camera.with_pose(predicted_pose.position_m, predicted_pose.rotation)
    sig = _sigma_xy_m(predicted_pose)
    pts, pix, _ = template_correspondences(img, cam_pred, onboard_map, search_m=max(3.0 * sig, 20.0))
    if len(pts) >= min_matches:
        res = pnp_ransac(pts, pix, camera, att, rng, threshold_px=max(threshold_px, 2.0 * onboard_map.pixel_m
                                                                     * camera.f_px / max(cam_pred.position_m[2]
                                                                     - float(np.median(pts[:, 2])), 1.0)),
                         min_inliers=min_matches, attitude_sigma_deg=attitude_sigma_deg)
        if res is not None and np.isfinite(res.cov6).all():
            return VisionFix(res.position_m, res.rotation, res.cov_position_m2, int(res.inliers.sum()),
                             "template", True)
    return None


def _crater_fix(det, camera: Camera, cam_att: Camera, att, predicted_pose, onboard_map, altitude_m, rng, min_matches,
                threshold_px, attitude_sigma_deg) -> VisionFix | None:
    """Fix from the detected craters: tracked with the prior or identified without, then re-associated once."""
    xyz = onboard_map.xyz()
    rad = onboard_map.craters["radius_m"].to_numpy()
    if predicted_pose is not None:
        cam_pred = camera.with_pose(predicted_pose.position_m, predicted_pose.rotation)
        di, ci = match_with_prior(det, cam_pred, xyz, rad, sigma_position_m=_sigma_xy_m(predicted_pose))
    else:
        # below ~1 km the relief distorts the flat-ground triangle invariants (shape errors ~0.05-0.1 at 500 m
        # over polar relief); the 3-D verification keeps the wider search from accepting wrong hypotheses
        low = altitude_m is not None and altitude_m < 1000.0
        di, ci = identify_no_prior(det, cam_att, onboard_map.triangles, altitude_m=altitude_m,
                                   xyz_m=onboard_map.xyz() if low else None, feat_tol=0.1 if low else 0.03)
    if len(di) < min_matches:
        return None
    res = pnp_ransac(xyz[ci], det.uv[di], camera, att, rng, threshold_px=threshold_px, min_inliers=min_matches,
                     attitude_sigma_deg=attitude_sigma_deg)
    if res is not None:
        # re-associate with gates around the first pose (much tighter than the prior's), then solve again
        di, ci = match_with_prior(det, camera.with_pose(res.position_m, res.rotation), xyz, rad,
                                  sigma_position_m=float(np.sqrt(np.trace(res.cov_position_m2[:2, :2]) / 2)))
        res2 = (pnp_ransac(xyz[ci], det.uv[di], camera, att, rng, threshold_px=threshold_px,
                           min_inliers=min_matches, attitude_sigma_deg=attitude_sigma_deg)
                if len(di) >= min_matches else None)
        # no prior: the re-association must confirm the identification; tracking keeps its first fix
        res = res2 if (res2 is not None or predicted_pose is None) else res
    if res is not None and np.isfinite(res.cov6).all():
        return VisionFix(res.position_m, res.rotation, res.cov_position_m2, int(res.inliers.sum()), "crater", True)
    return None


def _reidentify_fix(det, camera: Camera, cam_att: Camera, att, predicted_pose: PosePrior, onboard_map, rng,
                    min_matches, threshold_px, attitude_sigma_deg) -> VisionFix | None:
    """Fix from identifying the craters afresh (no gates), the altitude taken from the prior."""
    xyz = onboard_map.xyz()
    alt = float(predicted_pose.position_m[2] - onboard_map.median_height_m())
    di, ci = identify_no_prior(det, cam_att, onboard_map.triangles, altitude_m=alt if alt > 0 else None,
                               xyz_m=onboard_map.xyz() if 0 < alt < 1000.0 else None,
                               feat_tol=0.1 if 0 < alt < 1000.0 else 0.03)
    if len(di) >= min_matches:
        res = pnp_ransac(xyz[ci], det.uv[di], camera, att, rng, threshold_px=threshold_px,
                         min_inliers=min_matches, attitude_sigma_deg=attitude_sigma_deg)
        if res is not None and np.isfinite(res.cov6).all():
            return VisionFix(res.position_m, res.rotation, res.cov_position_m2, int(res.inliers.sum()),
                             "crater", True)
    return None


def locate(image, camera: Camera, predicted_pose: PosePrior | None, onboard_map, rng: np.random.Generator | None = None,
           *, sun_site=None, altitude_m: float | None = None, attitude_sigma_deg: float | None = 0.05,
           min_matches: int = 8, threshold_px: float = 3.0, use_template: bool = True,
           template_below_sun_deg: float = 10.0) -> VisionFix:
    """One vision fix from a descent frame.

    ``camera`` gives the intrinsics and, through its ``rotation``, the attitude
    estimate (star tracker / IMU; its position is not used). With a
    ``predicted_pose`` (tracking) the catalogue is projected and matched with
    gates; otherwise craters are identified with no prior by triangle
    similarity. Crater matches go to :func:`pnp_ransac`. When the crater path
    fails and a prior exists, the template-matching fallback is tried (needs
    the prior). ``sun_site``: unit Sun vector at the time of the frame (default:
    the map's reference Sun). ``altitude_m`` (altimeter, optional) narrows the
    no-prior search. ``attitude_sigma_deg``: accuracy of the attitude estimate,
    used as a prior in the pose refinement (None: free 6-DOF). With a prior and
    the Sun below ``template_below_sun_deg`` the template path goes first and
    craters are the fallback: at polar low sun most detections are shadows and
    the centres of the real ones are biased (Maehara et al. 2021), and a
    tracked crater fix was found several metres off at 2-5 deg where the
    template fix is within 1-2 m. Returns :class:`VisionFix` (``ok=False``,
    ``method='none'`` when nothing worked).

    Parameters
    ----------
    image : np.ndarray
        (ny, nx) descent frame.
    camera : Camera
        Intrinsics and attitude estimate.
    predicted_pose : PosePrior, optional
        The filter's prediction (None: no prior).
    onboard_map : OnboardMap
        The onboard map.
    rng : np.random.Generator, optional
        Draws the RANSAC samples.
    sun_site : np.ndarray, optional
        (3,) unit Sun vector, site frame.
    altitude_m : float, optional
        Altimeter altitude, m.
    attitude_sigma_deg : float, optional
        Accuracy of the attitude estimate, deg.
    min_matches : int
        Fewest crater matches of a fix.
    threshold_px : float
        RANSAC inlier threshold, px.
    use_template : bool
        Allow the template-matching path.
    template_below_sun_deg : float
        Sun elevation below which the template path goes first, deg.
    """
    img = np.asarray(image)
    if img.ndim != 2 or img.shape != (camera.height, camera.width):
        raise InputError(f"image shape {img.shape} does not match the camera's {camera.height} x {camera.width}")
    if not np.isfinite(img.astype(float)).all():
        raise InputError("image has NaN/inf pixels; give a finite frame")
    sun = onboard_map.reference_sun_site if sun_site is None else np.asarray(sun_site, float)
    rng = np.random.default_rng(0) if rng is None else rng
    att = camera.rotation if predicted_pose is None else np.asarray(predicted_pose.rotation, float)
    cam_att = camera.with_pose(camera.position_m, att)
    solve = dict(min_matches=min_matches, threshold_px=threshold_px, attitude_sigma_deg=attitude_sigma_deg)

    sun_el_deg = float(np.degrees(np.arcsin(np.clip(sun[2] / max(np.linalg.norm(sun), 1e-12), -1.0, 1.0))))
    template_first = predicted_pose is not None and use_template and sun_el_deg < template_below_sun_deg
    if template_first:
        # low sun: crater centres are biased and most detections false (Maehara et al. 2021); the
        # template path is the primary one, craters the fallback
        fx = _template_fix(img, camera, predicted_pose, onboard_map, att, rng, **solve)
        if fx is not None:
            return fx
    det = detect_craters(img, image_sun_direction(cam_att, sun))
    fx = _crater_fix(det, camera, cam_att, att, predicted_pose, onboard_map, altitude_m, rng, **solve)
    if fx is not None:
        return fx
    if predicted_pose is not None and len(det) >= min_matches:
        # the gates may have been too tight or too loose: identify afresh, altitude from the prior
        fx = _reidentify_fix(det, camera, cam_att, att, predicted_pose, onboard_map, rng, **solve)
        if fx is not None:
            return fx
    if predicted_pose is not None and use_template and not template_first:
        fx = _template_fix(img, camera, predicted_pose, onboard_map, att, rng, **solve)
        if fx is not None:
            return fx
    return VisionFix.failed(att)
