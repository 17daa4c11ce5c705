"""Navigation filter: an extended Kalman filter fusing IMU, laser altimeter and vision fixes.

State x = [r (3), v (3), b (3)]: site-frame position and velocity and the
accelerometer bias. Propagation with the sensed delta-v over each step
(strapdown mechanisation with attitude abstracted, Savage 1998; the error
model of Groves 2013, *Principles of GNSS, Inertial and Multisensor Integrated
Navigation*, ch. 14), point-mass gravity and the Moon's rotation; the
transition matrix carries the gravity gradient mu/r^3 (3 u u^T - I).
Covariances propagate with the discretised white-noise terms (velocity
random walk q_v dt on v, q_v dt^3/3 on r, bias random walk q_b dt on b).

Updates use the Joseph form. The **altimeter** is predicted by ray-casting
the onboard DEM from the estimated position along the beam; its Jacobian is
the ray-plane sensitivity d(range)/dr = -n / (n . b) with n the surface normal
of the onboard DEM smoothed over a baseline of about the horizontal position
sigma (so the linearisation is valid over the uncertainty). What the plane
cannot explain over +-2 sigma (the Taylor remainder, measured on the onboard
DEM) is added to the range's variance, times the number of ranges that fall on
the same patch (their remainders are one error, not independent ones): without
it, 10 Hz ranges over rough ground collapsed a 300 m horizontal sigma to a few
metres while the error stayed ~300 m. Gating is on the
normalised innovation squared (chi-square, 1 dof): a true range jump over a
crater rim is *predicted* by the onboard DEM too, so its innovation stays
small and it is kept. After ``max_rejects`` consecutive rejections a
measurement is accepted with its variance inflated by the innovation squared
(the filter must never lock the sensor out for good). The ``naive`` mode
reproduces the logic that lost ispace M1 (docs/REFERENCES.md#ispace-m1): reject any range
that jumps by more than ``jump_m`` from the last accepted one (after the
expected change from the vertical rate); once the ground has stepped, every
later range differs by the step and is rejected forever.

**Vision** fixes are position measurements with the fix's covariance,
chi-square gated with 3 dof.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numba
import numpy as np

from lupex.landing import descent as _d
from lupex.params import ASSUMED, check_non_negative, check_positive, param

__all__ = ["FilterParams", "NavState", "init_nav", "predict", "update_altimeter", "update_vision",
           "AltimeterGate", "nees", "CHI2_1DOF_999", "CHI2_3DOF_999"]

CHI2_1DOF_999 = 10.828
CHI2_3DOF_999 = 16.266


@dataclass(frozen=True)
class FilterParams:
    """Process noise and gating of the navigation filter (the filter's model of the IMU, plus margin)."""

    q_vel_m_s_rts: float = param(5e-4, "m/s/sqrt(s)", "velocity random walk the filter assumes: the IMU's 2.9e-4 "
                                 "(ImuParams.vrw_m_s_rthz) plus margin for unmodelled thrust-pointing error",
                                 f"{ASSUMED}: tuned on the descent Monte Carlo (NEES, tests/landing/test_filter.py)")
    q_bias_m_s2_rts: float = param(2e-6, "m/s^2/sqrt(s)", "accelerometer-bias random walk the filter assumes",
                                   f"{ASSUMED}: twice the IMU's 1e-6 (ImuParams.bias_rw_m_s2_rts)")
    gate_alt_chi2: float = param(CHI2_1DOF_999, "-", "altimeter innovation gate, chi-square with 1 dof (99.9 %)",
                                 "chi-square quantile, 1 dof, p = 0.999 (scipy.stats.chi2.ppf(0.999, 1) = 10.83)")
    gate_vis_chi2: float = param(CHI2_3DOF_999, "-", "vision-fix innovation gate, chi-square with 3 dof (99.9 %)",
                                 "chi-square quantile, 3 dof, p = 0.999 (scipy.stats.chi2.ppf(0.999, 3) = 16.27)")
    max_rejects: int = param(5, "-", "consecutive gated altimeter ranges after which one is accepted, inflated",
                             f"{ASSUMED}: the filter must never lock a sensor out for good (ispace M1)")
    naive_jump_m: float = param(30.0, "m", "jump that the 'naive' altimeter gate rejects (the logic that lost "
                                "ispace M1)", "docs/REFERENCES.md#ispace-m1")

    def __post_init__(self):
        check_positive(self, "q_vel_m_s_rts", "q_bias_m_s2_rts", "gate_alt_chi2", "gate_vis_chi2", "naive_jump_m")
        check_non_negative(self, "max_rejects")


@dataclass(frozen=True)
class NavState:
    """The filter's estimate at ``t_s``: mean ``x`` (9,) and covariance ``P`` (9, 9)."""

    t_s: float
    x: np.ndarray
    P: np.ndarray

    @property
    def r_m(self):
        """Estimated position (3,), m, site frame."""
        return self.x[0:3]

    @property
    def v_m_s(self):
        """Estimated velocity (3,), m/s, site frame."""
        return self.x[3:6]

    @property
    def bias_m_s2(self):
        """Estimated accelerometer bias (3,), m/s^2."""
        return self.x[6:9]


@dataclass(frozen=True)
class AltimeterGate:
    """Bookkeeping of the altimeter gate (consecutive rejections, the naive mode's last range)."""

    mode: str = "innovation"
    rejects: int = 0
    last_range_m: float = float("nan")
    last_t_s: float = float("nan")
    n_accepted: int = 0
    n_rejected: int = 0


def init_nav(t_s, r_m, v_m_s, sigma_r_m, sigma_v_m_s, sigma_b_m_s2) -> NavState:
    """A filter state with diagonal initial covariance (per-axis sigmas, scalars or 3-vectors).

    Parameters
    ----------
    t_s : float
        Time, s.
    r_m : array_like
        (3,) estimated position, m, site frame.
    v_m_s : array_like
        (3,) estimated velocity, m/s.
    sigma_r_m : float or array_like
        Position 1-sigma, m.
    sigma_v_m_s : float or array_like
        Velocity 1-sigma, m/s.
    sigma_b_m_s2 : float or array_like
        Accelerometer-bias 1-sigma, m/s^2.
    """
    x = np.concatenate([np.asarray(r_m, float), np.asarray(v_m_s, float), np.zeros(3)])
    s = np.concatenate([np.broadcast_to(sigma_r_m, 3), np.broadcast_to(sigma_v_m_s, 3),
                        np.broadcast_to(sigma_b_m_s2, 3)]).astype(float)
    return NavState(float(t_s), x, np.diag(s**2))


@numba.njit(cache=True)
def _predict(x, P, dv, dt, omega, qv, qb):
    r = x[0:3]
    v = x[3:6]
    b = x[6:9]
    a_ng = dv / dt - b
    rc = np.array([r[0], r[1], r[2] + _d.R_M])
    rho = np.sqrt(rc[0] ** 2 + rc[1] ** 2 + rc[2] ** 2)
    g = -_d.MU_MOON_M3_S2 * rc / rho**3
    g[0] += -2.0 * omega * v[1] + omega * omega * rc[0]
    g[1] += 2.0 * omega * v[0] + omega * omega * rc[1]
    a = a_ng + g
    xn = x.copy()
    xn[0:3] = r + v * dt + 0.5 * a * dt * dt
    xn[3:6] = v + a * dt
    u = rc / rho
    G = _d.MU_MOON_M3_S2 / rho**3 * (3.0 * np.outer(u, u) - np.eye(3))
    F = np.eye(9)
    for i in range(3):
        F[i, 3 + i] = dt
        F[i, 6 + i] = -0.5 * dt * dt
        F[3 + i, 6 + i] = -dt
        for j in range(3):
            F[3 + i, j] += G[i, j] * dt
            F[i, j] += 0.5 * G[i, j] * dt * dt
    Pn = F @ P @ F.T
    qv2 = qv * qv
    for i in range(3):
        Pn[i, i] += qv2 * dt**3 / 3.0
        Pn[i, 3 + i] += qv2 * dt**2 / 2.0
        Pn[3 + i, i] += qv2 * dt**2 / 2.0
        Pn[3 + i, 3 + i] += qv2 * dt
        Pn[6 + i, 6 + i] += qb * qb * dt
    return xn, 0.5 * (Pn + Pn.T)


def predict(nav: NavState, dv_sensed, dt: float, tuning: FilterParams = FilterParams()) -> NavState:
    """Propagate over ``dt`` with the IMU's sensed delta-v (site frame).

    Parameters
    ----------
    nav : NavState
        The estimate.
    dv_sensed : array_like
        (3,) sensed delta-v over the step, m/s, site frame.
    dt : float
        Step, s.
    tuning : FilterParams
        Process noise.
    """
    x, P = _predict(nav.x, nav.P, np.asarray(dv_sensed, float), float(dt), _d.OMEGA_MOON_RAD_S,
                    tuning.q_vel_m_s_rts, tuning.q_bias_m_s2_rts)
    return NavState(nav.t_s + dt, x, P)


def _update(nav: NavState, y, H, R) -> NavState:
    P = nav.P
    S = H @ P @ H.T + R
    K = np.linalg.solve(S, H @ P).T
    x = nav.x + K @ y
    IKH = np.eye(9) - K @ H
    Pn = IKH @ P @ IKH.T + K @ R @ K.T
    return NavState(nav.t_s, x, 0.5 * (Pn + Pn.T))


def predicted_range(nav: NavState, onboard, altimeter):
    """Predicted altimeter range (m), its Jacobian (9,) and linearisation variance (m^2), from the estimate.

    The range is ray-cast on the onboard DEM (see :func:`nonlinear_range_var_m2`).
    """
    r = nav.r_m
    b = altimeter.beam(r)
    rho = _d.slant_range_m(onboard, r, b, 2.0 * altimeter.max_range_m)
    if not np.isfinite(rho):
        return float("nan"), None, 0.0
    q = r + rho * b
    sig_h = float(np.sqrt(max(nav.P[0, 0], nav.P[1, 1])))
    L = float(np.clip(2.0 * sig_h, onboard.pixel_m, 200.0))
    Lr = float(np.clip(2.0 * sig_h, onboard.pixel_m, 5000.0))
    hx = onboard.height([q[0] + L, q[0] - L, q[0], q[0], q[0], q[0] + Lr, q[0] - Lr, q[0], q[0]],
                        [q[1], q[1], q[1] + L, q[1] - L, q[1], q[1], q[1], q[1] + Lr, q[1] - Lr])
    gx = (hx[0] - hx[1]) / (2 * L)
    gy = (hx[2] - hx[3]) / (2 * L)
    up = (q + np.array([0.0, 0.0, _d.R_M]))
    up /= np.linalg.norm(up)
    n = up - gx * np.array([1.0, 0.0, 0.0]) - gy * np.array([0.0, 1.0, 0.0])
    n /= np.linalg.norm(n)
    H = np.zeros(9)
    H[0:3] = -n / float(n @ b)
    return rho, H, nonlinear_range_var_m2(hx[4], hx[5:9], Lr, gx, gy, n @ b)


def nonlinear_range_var_m2(h0, h_r, Lr, gx, gy, n_dot_b) -> float:
    """Variance of the range the linearised model cannot explain over the position uncertainty.

    The ray-plane Jacobian assumes the terrain is a plane over +-2 sigma of the horizontal position.
    The heights at +-Lr (= 2 sigma) along x and y, minus that plane through the centre height h0,
    are the second-order (and rougher) Taylor remainder; their mean square, mapped to range by
    1/|n.b|, is added to the altimeter's variance. Without it, ~10 Hz ranges over the same slope,
    each taken as independent and exact to the altimeter's noise, collapsed a 380 m horizontal sigma
    to 5 m in a few seconds while the true error stayed 100-500 m, and correct vision fixes were then
    refused (rendered-only descents on the default site). Second-order EKF reasoning: Gelb 1974,
    *Applied Optimal Estimation*, sec. 6.1 (linearisation error as added measurement noise).

    Parameters
    ----------
    h0 : float
        Onboard-DEM height under the estimate, m.
    h_r : sequence of float
        Heights at +Lr and -Lr along x, then along y, m (NaN: off the DEM).
    Lr : float
        Stencil half width (2 sigma of horizontal position), m.
    gx, gy : float
        Terrain gradient of the linearised model, m/m.
    n_dot_b : float
        Cosine between the terrain normal and the beam.
    """
    hxp, hxm, hyp, hym = (float(v) for v in h_r)
    res = np.array([hxp - h0 - gx * Lr, hxm - h0 + gx * Lr, hyp - h0 - gy * Lr, hym - h0 + gy * Lr])
    res = res[np.isfinite(res)]  # stencil points beyond the onboard DEM are left out
    if res.size == 0:
        return 0.0
    return float(np.mean(res**2) / max(float(n_dot_b) ** 2, 1e-6))


def _looks_per_patch(nav: NavState, gate: AltimeterGate, onboard) -> float:
    """How many ranges fall on the same +-2 sigma terrain patch.

    That is the patch width over the ground distance between two ranges. Their linearisation errors are the same
    error, not independent ones, so each range carries that many times the remainder variance (one patch, one look's
    worth).
    """
    if not np.isfinite(gate.last_t_s):
        return 1.0
    sig_h = float(np.sqrt(max(nav.P[0, 0], nav.P[1, 1])))
    step = float(np.hypot(nav.v_m_s[0], nav.v_m_s[1])) * max(nav.t_s - gate.last_t_s, 0.0)
    return float(np.clip(4.0 * sig_h / max(step, onboard.pixel_m), 1.0, 1e4))


def update_altimeter(nav: NavState, gate: AltimeterGate, range_m: float, sigma_m: float, onboard, altimeter,
                     tuning: FilterParams = FilterParams()):
    """Fuse one slant range; returns (nav, gate, accepted).

    Parameters
    ----------
    nav : NavState
        The estimate.
    gate : AltimeterGate
        The gate's bookkeeping.
    range_m : float
        Measured slant range, m.
    sigma_m : float
        Its 1-sigma, m.
    onboard : SiteTerrain
        The onboard DEM the range is predicted on.
    altimeter : Altimeter
        The altimeter (its beam).
    tuning : FilterParams
        Gate and noise settings.
    """
    rho_hat, H, var_nl = predicted_range(nav, onboard, altimeter)
    if H is None:
        return nav, gate, False
    y = float(range_m - rho_hat)
    R = sigma_m**2 + var_nl * _looks_per_patch(nav, gate, onboard)
    if gate.mode == "naive":
        if np.isfinite(gate.last_range_m):
            expected = gate.last_range_m - float(nav.v_m_s @ altimeter.beam(nav.r_m)) * (nav.t_s - gate.last_t_s)
            if abs(range_m - expected) > tuning.naive_jump_m:
                return nav, replace(gate, n_rejected=gate.n_rejected + 1), False
        nav = _update(nav, np.array([y]), H[None, :], np.array([[R]]))
        return nav, replace(gate, last_range_m=float(range_m), last_t_s=nav.t_s, n_accepted=gate.n_accepted + 1), True
    S = float(H @ nav.P @ H) + R
    nis = y * y / S
    if nis > tuning.gate_alt_chi2:
        if gate.rejects + 1 <= tuning.max_rejects:
            return nav, replace(gate, rejects=gate.rejects + 1, n_rejected=gate.n_rejected + 1), False
        R = R + y * y  # re-acquire: accept, de-weighted by the innovation itself
    nav = _update(nav, np.array([y]), H[None, :], np.array([[R]]))
    return nav, replace(gate, rejects=0, last_range_m=float(range_m), last_t_s=nav.t_s,
                        n_accepted=gate.n_accepted + 1), True


def update_vision(nav: NavState, fix, tuning: FilterParams = FilterParams()):
    """Fuse a map-relative position fix; returns (nav, accepted, nis)."""
    H = np.zeros((3, 9))
    H[:, 0:3] = np.eye(3)
    R = np.asarray(fix.cov_position_m2, float)
    y = np.asarray(fix.position_m, float) - nav.r_m
    S = H @ nav.P @ H.T + R
    nis = float(y @ np.linalg.solve(S, y))
    if nis > tuning.gate_vis_chi2:
        return nav, False, nis
    return _update(nav, y, H, R), True, nis


def nees(nav: NavState, r_true, v_true=None) -> float:
    """Normalised estimation error squared of position (3 dof) or position+velocity (6 dof)."""
    if v_true is None:
        e = nav.r_m - np.asarray(r_true)
        return float(e @ np.linalg.solve(nav.P[0:3, 0:3], e))
    e = np.concatenate([nav.r_m - np.asarray(r_true), nav.v_m_s - np.asarray(v_true)])
    return float(e @ np.linalg.solve(nav.P[0:6, 0:6], e))
