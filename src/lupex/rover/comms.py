"""Direct-to-Earth communication: visibility windows, link budget, data rate and volume.

Link budget (e.g. Sklar 2001, *Digital Communications*, 2nd ed., Ch. 5;
JPL DSN Telecommunications Link Design Handbook 810-005):

    EIRP      = 10 log10(P_tx) + G_tx - L_line                         [dBW]
    L_fs      = 20 log10(4 pi d f / c)      (Friis free-space loss)     [dB]
    C/N0      = EIRP - L_fs - L_misc + G/T - 10 log10(k_B)              [dB-Hz]
    R_max     = C/N0 - (Eb/N0)_req - margin                             [dB-bit/s]

k_B = 1.380649e-23 J/K (so -10 log10 k = 228.60 dB). The rate is capped at the
radio's maximum. Defaults (vehicle.CommsParams) are stated assumptions: a 10 W
X-band transmitter on a 15 dBi antenna to a 34 m DSN antenna (G/T ~53 dB/K);
with the Earth at ~384,400 km the budget allows ~28 Mbit/s, so the 2 Mbit/s
radio cap binds.

Windows: Earth counts as visible over an interval of the time grid when at the
interval's start at least ``earth_threshold`` of its disk is above the horizon
(``earth_fraction`` from the light core, computed at the antenna height) and,
optionally, its centre is above ``min_elevation_deg``. A window runs from the
first visible time to the first time not visible. Windows separated by gaps
up to ``merge_gap_s`` are merged first; then windows shorter than
``min_window_s`` are dropped. A window touching either end of the series is
flagged ``truncated`` (it may extend beyond it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lupex.constants import BOLTZMANN_J_K
from lupex.constants import EARTH_MOON_MEAN_DISTANCE_M as EARTH_MOON_MEAN_M
from lupex.constants import SPEED_OF_LIGHT_M_S as C_M_S
from lupex.errors import InputError
from lupex.rover.power import _arr, _per_interval, interval_seconds
from lupex.rover.vehicle import CommsParams, RoverParams


def free_space_loss_db(distance_m, frequency_hz) -> np.ndarray:
    """Friis free-space path loss 20 log10(4 pi d f / c) (dB)."""
    d = _arr(distance_m, "distance_m")
    f = _arr(frequency_hz, "frequency_hz")
    if np.any(d <= 0) or np.any(f <= 0):
        raise InputError("distance_m and frequency_hz must be positive")
    return 20.0 * np.log10(4.0 * np.pi * d * f / C_M_S)


def eirp_dbw(c: CommsParams) -> float:
    """Effective isotropic radiated power (dBW): transmitter power plus antenna gain less line loss."""
    return 10.0 * np.log10(c.tx_power_w) + c.tx_antenna_gain_dbi - c.tx_line_loss_db


def cn0_dbhz(distance_m, params: RoverParams | None = None) -> np.ndarray:
    """Received carrier-to-noise density C/N0 (dB-Hz) at the ground station."""
    c = (params or RoverParams()).comms
    return (eirp_dbw(c) - free_space_loss_db(distance_m, c.frequency_hz) - c.misc_loss_db
            + c.ground_g_over_t_db_k - 10.0 * np.log10(BOLTZMANN_J_K))


def max_data_rate_bps(distance_m=EARTH_MOON_MEAN_M, params: RoverParams | None = None, capped: bool = True) -> np.ndarray:
    """Highest bit rate (bit/s) that closes the link with the required Eb/N0 and margin; capped at the radio max."""
    c = (params or RoverParams()).comms
    r = 10.0 ** ((cn0_dbhz(distance_m, params) - c.ebn0_required_db - c.link_margin_db) / 10.0)
    return np.minimum(r, c.max_rate_bps) if capped else r


@dataclass(frozen=True)
class CommWindow:
    """A pass with the Earth in view: start, end, durations (s), mean data rate (bit/s) and volume (bit)."""

    start: np.datetime64 | float
    end: np.datetime64 | float
    duration_s: float
    visible_s: float  # time Earth is actually visible inside (less than duration when gaps were merged)
    mean_rate_bps: float
    volume_bits: float
    truncated: bool


def visible_mask(earth_fraction, params: RoverParams | None = None, earth_el_deg=None) -> np.ndarray:
    """Per-time Earth visibility from the disk fraction (and the optional elevation mask)."""
    c = (params or RoverParams()).comms
    f = _arr(earth_fraction, "earth_fraction")
    if np.any((f < 0) | (f > 1)):
        raise InputError("earth_fraction must be within 0..1 (visible fraction of Earth's disk)")
    vis = f >= c.earth_threshold if c.earth_threshold > 0 else f > 0
    if earth_el_deg is not None:
        vis = vis & (_arr(earth_el_deg, "earth_el_deg") >= c.min_elevation_deg)
    return vis


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[a, b) index runs where mask is true."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def windows(times, earth_fraction, params: RoverParams | None = None, earth_el_deg=None,
            earth_range_m=EARTH_MOON_MEAN_M) -> list[CommWindow]:
    """Direct-to-Earth windows with their mean rate and data volume (see module notes for the edge rules).

    Parameters
    ----------
    times : array_like, (n,)
        The time grid, datetime64 or seconds, strictly increasing; at least two times.
    earth_fraction : array_like, (n,)
        Fraction (0..1) of the Earth's disk above the local horizon at the antenna at each time.
    params : RoverParams, optional
        The rover; its ``comms`` (``CommsParams``) sets the visibility threshold, elevation mask, merge gap,
        shortest window and the link budget (default ``RoverParams()``).
    earth_el_deg : array_like, (n,), optional
        Elevation of the Earth's centre above the horizon at each time, deg; None: no elevation mask.
    earth_range_m : float or array_like, (n,) or (n - 1,)
        Antenna-to-Earth distance, m, per time or per interval (default the mean Earth-Moon distance);
        feeds the link budget of the module docstring (Friis free-space loss, C/N0, Eb/N0 and margin).

    Returns
    -------
    list of CommWindow
        One per window in time order: start and end (from ``times``), duration and visible time (s), the
        mean rate over the visible time (bit/s), the volume (bit) and whether it touches either end of the series.
    """
    params = params or RoverParams()
    c = params.comms
    t = np.asarray(times)
    dt = interval_seconds(t)
    n = dt.size
    vis_t = visible_mask(earth_fraction, params, earth_el_deg)
    if vis_t.shape != t.shape:
        raise InputError(f"earth_fraction must have one value per time ({t.size}), got {vis_t.shape}")
    vis = vis_t[:-1]
    rate = np.where(vis, _per_interval(np.asarray(max_data_rate_bps(earth_range_m, params), float), n, "earth_range_m"), 0.0)
    tsec = np.concatenate([[0.0], np.cumsum(dt)])
    runs = _runs(vis)
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and tsec[a] - tsec[merged[-1][1]] <= c.merge_gap_s:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    out = []
    for a, b in merged:
        dur = tsec[b] - tsec[a]
        if dur < c.min_window_s or dur <= 0:
            continue
        seen = float(np.sum(dt[a:b] * vis[a:b]))
        vol = float(np.sum(rate[a:b] * dt[a:b]))
        trunc = bool(a == 0 and vis_t[0]) or bool(b == n and vis_t[-1])
        out.append(CommWindow(t[a], t[b], float(dur), seen, vol / seen if seen else 0.0, vol, trunc))
    return out
