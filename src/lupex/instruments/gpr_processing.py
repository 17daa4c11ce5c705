"""GPR processing chain, one function per step, on ``data[i_trace, i_sample]`` arrays.

Standard steps as in Jol (ed.) 2009, *Ground Penetrating Radar Theory and
Applications*, ch. 4 (Cassidy): dewow (running-mean subtraction), time-zero
correction (first-break picking), background removal (mean-trace subtraction,
optionally in a moving window of traces), gain (SEC: spherical and exponential
compensation; AGC), and constant-velocity f-k migration (Stolt 1978,
Geophysics 43:23, exploding-reflector form with velocity v/2).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import hilbert

from lupex.errors import InputError


def _as_data(data) -> np.ndarray:
    d = np.asarray(data)
    if d.ndim != 2 or d.shape[1] < 4:
        raise InputError(f"radargram data must be 2-D (traces x samples), got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise InputError("radargram data contains NaN or infinite samples; interpolate or zero them first")
    return d


def _positive(name, v):
    if not (np.isfinite(v) and v > 0):
        raise InputError(f"{name} must be a positive number, got {v!r}")
    return float(v)


def dewow(data, dt_s: float, window_s: float) -> np.ndarray:
    """Subtract a running mean of length ``window_s`` along time (removes the low-frequency 'wow')."""
    d = _as_data(data)
    n = max(3, int(round(_positive("window_s", window_s) / _positive("dt_s", dt_s))) | 1)
    return d - uniform_filter1d(d, n, axis=1, mode="nearest")


def first_break_s(data, dt_s: float, threshold: float = 0.5) -> np.ndarray:
    """Time (s) of the first strong peak of each trace.

    The first sample whose |amplitude| exceeds ``threshold`` x the trace maximum, then the local |peak| after it,
    refined by a parabola.
    """
    d = _as_data(data)
    if not 0 < threshold < 1:
        raise InputError("threshold must be between 0 and 1")
    a = np.abs(d)
    first = np.argmax(a >= threshold * a.max(axis=1, keepdims=True), axis=1)
    n = d.shape[1]
    idx = np.arange(d.shape[0])
    k = first.copy()
    for _ in range(n):  # climb to the local peak (few steps)
        nxt = np.minimum(k + 1, n - 1)
        up = a[idx, nxt] > a[idx, k]
        if not up.any():
            break
        k = np.where(up, nxt, k)
    km, kp = np.clip(k - 1, 0, n - 1), np.clip(k + 1, 0, n - 1)
    y0, y1, y2 = a[idx, km], a[idx, k], a[idx, kp]
    den = y0 - 2 * y1 + y2
    frac = np.where(np.abs(den) > 0, 0.5 * (y0 - y2) / np.where(den == 0, 1, den), 0.0)
    return (k + np.clip(frac, -0.5, 0.5)) * dt_s


def shift_traces(data, dt_s: float, shift_s) -> np.ndarray:
    """Delay each trace by ``shift_s`` (negative: advance) with a Fourier (sub-sample) shift."""
    d = _as_data(data)
    n = d.shape[1]
    nf = 2 * n
    f = np.fft.rfftfreq(nf, dt_s)
    spec = np.fft.rfft(d, n=nf, axis=1) * np.exp(-2j * np.pi * f[None, :] * np.asarray(shift_s, float).reshape(-1, 1))
    return np.fft.irfft(spec, n=nf, axis=1)[:, :n].astype(d.dtype, copy=False)


def time_zero(data, dt_s: float, threshold: float = 0.5, reference_s: float | None = None):
    """Align the first break (direct coupling) of every trace at ``reference_s`` (default: median pick).

    Returns (aligned data, the picks in s, the reference in s).

    Parameters
    ----------
    data : np.ndarray
        (n_traces, n_samples) B-scan.
    dt_s : float
        Sample interval, s.
    threshold : float
        First-break threshold, share (0..1) of the trace maximum.
    reference_s : float, optional
        Time to align the first breaks at, s (default: their median).
    """
    picks = first_break_s(data, dt_s, threshold)
    ref = float(np.median(picks)) if reference_s is None else float(reference_s)
    return shift_traces(data, dt_s, ref - picks), picks, ref


def background_removal(data, window_traces: int | None = None) -> np.ndarray:
    """Subtract the mean trace (``window_traces=None``) or a moving mean over that many traces."""
    d = _as_data(data)
    if window_traces is None or window_traces >= d.shape[0]:
        return d - d.mean(axis=0, keepdims=True)
    if window_traces < 2:
        raise InputError("window_traces must be at least 2")
    return d - uniform_filter1d(d, int(window_traces), axis=0, mode="reflect")


def sec_gain(data, dt_s: float, t0_s: float = 0.0, power: float = 1.0, alpha_np_s: float = 0.0) -> np.ndarray:
    """Spherical and exponential compensation: multiply by ((t - t0)/dt)^power exp(alpha (t - t0)) after t0.

    Parameters
    ----------
    data : np.ndarray
        (n_traces, n_samples) B-scan.
    dt_s : float
        Sample interval, s.
    t0_s : float
        Start of the gain, s.
    power : float
        Spherical-spreading exponent.
    alpha_np_s : float
        Exponential gain rate, Np/s.
    """
    d = _as_data(data)
    t = np.arange(d.shape[1]) * dt_s - t0_s
    g = np.where(t > 0, np.maximum(t / dt_s, 1.0) ** power * np.exp(alpha_np_s * np.maximum(t, 0)), 1.0)
    return d * g[None, :]


def agc(data, dt_s: float, window_s: float, eps: float = 1e-12) -> np.ndarray:
    """Automatic gain control: divide by the running RMS over ``window_s``.

    Parameters
    ----------
    data : np.ndarray
        (n_traces, n_samples) B-scan.
    dt_s : float
        Sample interval, s.
    window_s : float
        RMS window, s.
    eps : float
        Floor of the RMS, against division by zero.
    """
    d = _as_data(data)
    n = max(3, int(round(_positive("window_s", window_s) / _positive("dt_s", dt_s))))
    rms = np.sqrt(uniform_filter1d(d.astype(float) ** 2, n, axis=1, mode="nearest"))
    return d / (rms + eps * (rms.max() + eps))


def matched_filter(data, dt_s: float, centre_frequency_hz: float) -> np.ndarray:
    """Correlate each trace with the Ricker source wavelet, scaled so that a unit Ricker keeps peak 1.

    The matched filter is the maximum-likelihood delay estimator in white noise
    (Turin 1960, IRE Trans. Inf. Theory 6:311); the wavelet is symmetric, so
    its peak stays at the arrival time.
    """
    d = _as_data(data).astype(float)
    n = d.shape[1]
    half = int(1.6 / centre_frequency_hz / dt_s) + 1
    tw = np.arange(-half, half + 1) * dt_s
    a = (np.pi * centre_frequency_hz * tw) ** 2
    w = (1 - 2 * a) * np.exp(-a)
    nf = int(2 ** np.ceil(np.log2(n + w.size)))
    spec = np.fft.rfft(d, nf, axis=1) * np.fft.rfft(w / np.sum(w ** 2), nf)[None, :]
    return np.fft.irfft(spec, nf, axis=1)[:, half: half + n]


def envelope(data, axis: int = 1) -> np.ndarray:
    """Instantaneous amplitude |analytic signal| (Hilbert transform along time)."""
    return np.abs(hilbert(np.asarray(data, float), axis=axis))


def _stolt_block(d, dt, dx, v, nt_pad, nx_pad):
    vv = v / 2.0                                        # exploding-reflector velocity
    spec = np.fft.fftshift(np.fft.fft2(d, s=(nx_pad, nt_pad)).astype(np.complex64), axes=1)
    ws = np.fft.fftshift(2 * np.pi * np.fft.fftfreq(nt_pad, dt)).astype(np.float32)
    kx = (2 * np.pi * np.fft.fftfreq(nx_pad, dx)).astype(np.float32)
    dw = float(ws[1] - ws[0])
    # output frequency ws <-> kz = ws / vv; input frequency on the dispersion relation
    win = np.sign(ws)[None, :] * np.sqrt(ws[None, :] ** 2 + (vv * kx[:, None]) ** 2)
    pos = (win - ws[0]) / dw
    j = np.floor(pos).astype(np.int64)
    f = (pos - j).astype(np.float32)
    ok = (j >= 0) & (j < nt_pad - 1)
    np.clip(j, 0, nt_pad - 2, out=j)
    rows = np.arange(nx_pad)[:, None]
    val = (1 - f) * spec[rows, j] + f * spec[rows, j + 1]
    jac = np.abs(ws)[None, :] / np.maximum(np.abs(win), 1e-30)
    val *= np.where(ok, jac, 0).astype(np.float32)
    return np.fft.ifft2(np.fft.ifftshift(val, axes=1)).real[: d.shape[0], : d.shape[1]]


def stolt_migration(data, dt_s: float, dx_m: float, velocity_m_s: float, t_surface_s: float = 0.0,
                    block_traces: int = 1024, overlap_traces: int = 128) -> np.ndarray:
    """Constant-velocity f-k (Stolt) migration; time stays the vertical axis (t = 2 z / v below ``t_surface_s``).

    Samples before ``t_surface_s`` are left out of the migration and copied
    through. Long traverses are migrated in overlapping blocks of traces (the
    migration aperture is a few metres), so memory stays bounded.

    Parameters
    ----------
    data : np.ndarray
        (n_traces, n_samples) B-scan.
    dt_s : float
        Sample interval, s.
    dx_m : float
        Trace spacing, m.
    velocity_m_s : float
        Wave speed in the ground, m/s.
    t_surface_s : float
        Two-way time of the surface, s.
    block_traces : int
        Traces per migrated block.
    overlap_traces : int
        Traces shared by neighbouring blocks.
    """
    d = _as_data(data).astype(float)
    _positive("dx_m", dx_m)
    _positive("velocity_m_s", velocity_m_s)
    k0 = int(round(t_surface_s / dt_s))
    body = d[:, k0:]
    nt = body.shape[1]
    nt_pad = int(2 ** np.ceil(np.log2(2 * nt)))
    out = d.copy()
    n = d.shape[0]
    step = block_traces - 2 * overlap_traces
    if n <= block_traces:
        out[:, k0:] = _stolt_block(body, dt_s, dx_m, velocity_m_s, nt_pad, int(2 ** np.ceil(np.log2(2 * n))))
        return out
    nx_pad = int(2 ** np.ceil(np.log2(block_traces + 2 * overlap_traces)))
    for s in range(0, n, step):
        a, b = max(0, s - overlap_traces), min(n, s + step + overlap_traces)
        m = _stolt_block(body[a:b], dt_s, dx_m, velocity_m_s, nt_pad, nx_pad)
        out[s:min(n, s + step), k0:] = m[s - a: s - a + min(step, n - s)]
    return out


def focusing(data) -> float:
    """Energy focusing metric: sum(e^4) / sum(e^2)^2 (e: envelope); larger = more compact energy."""
    e2 = envelope(data) ** 2
    return float(np.sum(e2 ** 2) / np.sum(e2) ** 2 * e2.size)
