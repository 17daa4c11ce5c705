"""GPR forward model: radargrams (B-scans) along a traverse over ground-truth columns.

Physics per trace (zero-offset, normal incidence, primaries only):

- layered reflectivity: Fresnel coefficients R = (n1 - n2)/(n1 + n2) between
  the layers of the :class:`lupex.subsurface.Column` (n = sqrt eps', eps' and
  tan delta from :mod:`lupex.instruments.gpr_dielectric`), two-way transmission
  loss prod(1 - R^2) through the interfaces above;
- two-way time t = 2 h/c + 2 sum dz/v, v = c/sqrt(eps') (h: antenna height);
- attenuation exp(-2 sum alpha dz), alpha = pi f_c sqrt(eps') tan(delta)/c
  (low-loss, evaluated at the centre frequency; no dispersion);
- geometric spreading of a point source, amplitude 1/L with the paraxial
  two-way spreading length L = 2 (h + sum dz/n) (refraction narrows the beam;
  Newman 1973, Geophys. Prosp. 21:242); ``spreading="line"`` gives 1/sqrt(L),
  the 2-D (line source) law, used to compare with 2-D FDTD;
- rocks: geometric-optics sphere, radar cross-section pi a^2 |R|^2
  (Ruck et al. 1970, Radar Cross Section Handbook), i.e. an echo a/r times that
  of a mirror at the same range r, rolled off as (k a)^2 for k a < 1 (Rayleigh
  regime), arriving from the nearest point of the sphere along a two-medium
  (air gap + ground) refracted ray; the ground above the rock is replaced by its
  average velocity; the antenna's two-way beam is cos(theta) out to
  ``beam_half_angle_deg``;
- source wavelet: Ricker with peak frequency f_c (zero phase: its peak marks the
  arrival time); antenna direct coupling at the system delay; per-trace trigger
  jitter; a decaying low-frequency "wow"; white noise and band-limited noise
  (white noise filtered to the wavelet's spectrum), both in dB relative to the
  direct-coupling peak (amplitude 1).

Assumed instrument (LUPEX GPR is not described publicly in detail): peak
frequency 800 MHz, 62.5 ps sampling, 512 samples (32 ns; 1.5 m at eps' <= 6),
antenna 0.3 m above ground. Similar instruments: Chang'E-3/4 LPR channel 2 at
500 MHz, antenna ~0.3 m above ground (Fang et al. 2014, Res. Astron.
Astrophys. 14:1607); RIMFAX 150-1200 MHz (Hamran et al. 2020, Space Sci. Rev.
216:128). A 1.5 m sounding depth with ~10 cm resolution needs ~0.8-1 GHz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numba
import numpy as np

from lupex.errors import ConfigError, InputError
from lupex.instruments.gpr_dielectric import (
    C_M_S,
    MIXING_RULES,
    OLHOEFT_BASE,
    attenuation_np_m,
    column_dielectric,
    fresnel_reflection,
    regolith_dielectric,
)
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, check_rng, param

_GPR_ASSUMED = f"{ASSUMED}: LUPEX GPR is not described publicly (module docstring)"


@dataclass(frozen=True)
class GprParams:
    """Instrument and simulation settings (SI units); every default's source is in its metadata."""

    centre_frequency_hz: float = param(800e6, "Hz", "peak frequency of the Ricker source wavelet",
                                       f"{_GPR_ASSUMED}; 1.5 m depth at ~10 cm resolution needs 0.8-1 GHz "
                                       "(Chang'E-3/4 LPR ch. 2: 500 MHz, Fang et al. 2014; RIMFAX 150-1200 MHz)")
    dt_s: float = param(62.5e-12, "s", "sampling interval of a trace (<= 1/(4 centre_frequency_hz))",
                        f"{_GPR_ASSUMED}: 16 GS/s equivalent-time sampling")
    n_samples: int = param(512, "samples", "samples per trace (512 x 62.5 ps = 32 ns, 1.5 m at eps' <= 6)",
                           _GPR_ASSUMED)
    antenna_height_m: float = param(0.3, "m", "antenna height above the ground",
                                    "Chang'E-3 LPR ch. 2 antenna ~0.3 m above ground (Fang et al. 2014)")
    system_delay_s: float = param(2e-9, "s", "time of the antenna direct coupling after the trigger", _GPR_ASSUMED)
    direct_coupling: float = param(1.0, "-", "amplitude of the antenna direct coupling (the amplitude unit; noise "
                                   "levels are relative to it)", "normalisation")
    timing_jitter_s: float = param(15e-12, "s", "1-sigma trigger jitter per trace",
                                   f"{ASSUMED}: ~a quarter sample, typical of equivalent-time samplers")
    wow_amplitude: float = param(0.05, "-", "amplitude of the decaying low-frequency 'wow' (x direct coupling)",
                                 f"{ASSUMED}: a few % of the coupling, removed by dewow")
    wow_time_constant_s: float = param(10e-9, "s", "decay time of the wow", f"{ASSUMED}: ~8 wavelet periods")
    noise_floor_db: float = param(-60.0, "dB", "white noise rms relative to the direct-coupling peak (-inf: none)",
                                  f"{ASSUMED}: ~60 dB dynamic range of a GPR receiver")
    bandlimited_noise_db: float = param(-66.0, "dB", "noise filtered to the wavelet's spectrum, rms relative to the "
                                        "direct-coupling peak (-inf: none)", f"{ASSUMED}: clutter/ringing below the floor")
    spreading: str = param("point", "-", "geometric spreading: point (3-D, 1/L) or line (2-D, 1/sqrt(L), to compare "
                           "with 2-D FDTD)", "Newman 1973, Geophys. Prosp. 21:242")
    beam_half_angle_deg: float = param(60.0, "deg", "half-angle of the antenna's two-way beam (cos(theta) pattern)",
                                       f"{ASSUMED}: broad beam of a bowtie antenna near the ground")
    rock_permittivity: float = param(OLHOEFT_BASE ** 3.0, "- (relative permittivity)",
                                     "permittivity of buried rocks (solid basalt at 3.0 g/cm^3)",
                                     "Olhoeft & Strangway 1975: eps' = 1.919^rho")
    mixing_rule: str = param("log", "-", "ice-regolith dielectric mixing rule: log or crim",
                             "lupex.instruments.gpr_dielectric (logarithmic mixing, Olhoeft & Strangway 1975)")
    min_reflection: float = param(1e-6, "-", "reflections weaker than this amplitude are not rendered",
                                  "numerical: far below the -60 dB noise floor")

    def __post_init__(self):
        check_positive(self, "centre_frequency_hz", "dt_s", "direct_coupling", "wow_time_constant_s")
        check_non_negative(self, "antenna_height_m", "system_delay_s", "timing_jitter_s", "wow_amplitude",
                           "min_reflection")
        if isinstance(self.n_samples, bool) or not isinstance(self.n_samples, (int, np.integer)) or self.n_samples < 16:
            raise ConfigError(f"GprParams.n_samples must be an integer >= 16, got {self.n_samples!r}")
        for name in ("noise_floor_db", "bandlimited_noise_db"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or np.isnan(v) or v == np.inf:
                raise ConfigError(f"GprParams.{name} must be a number of dB or -inf (no noise), got {v!r}")
        if self.spreading not in ("point", "line"):
            raise ConfigError(f"GprParams.spreading must be 'point' (3-D) or 'line' (2-D), got {self.spreading!r}")
        if self.mixing_rule not in MIXING_RULES:
            raise ConfigError(f"GprParams.mixing_rule must be one of {MIXING_RULES}, got {self.mixing_rule!r}")
        check_range(self, "beam_half_angle_deg", 0.0, 90.0, lo_open=True, hi_open=True)
        check_range(self, "rock_permittivity", 1.0, 100.0)
        if self.dt_s * self.centre_frequency_hz > 0.25:
            raise ConfigError("GprParams.dt_s is too coarse for the wavelet: use dt_s <= 1/(4 centre_frequency_hz)")


@dataclass(frozen=True)
class Radargram:
    """A B-scan: ``data[i_trace, i_sample]``, sample k at time k * dt_s, traces at ``positions_m``."""

    data: np.ndarray
    positions_m: np.ndarray
    dt_s: float
    config: GprParams = field(default_factory=GprParams)

    @property
    def time_s(self) -> np.ndarray:
        """Sample times (n_samples,), s."""
        return np.arange(self.data.shape[1]) * self.dt_s

    @property
    def dx_m(self) -> float:
        """Median trace spacing, m (NaN with one trace)."""
        return float(np.median(np.diff(self.positions_m))) if len(self.positions_m) > 1 else float("nan")


def ricker(t_s, centre_frequency_hz: float) -> np.ndarray:
    """Ricker wavelet with peak frequency f, unit peak at t = 0: (1 - 2 pi^2 f^2 t^2) exp(-pi^2 f^2 t^2)."""
    a = (np.pi * centre_frequency_hz * np.asarray(t_s, float)) ** 2
    return (1 - 2 * a) * np.exp(-a)


def check_positions(positions_m, n: int | None = None) -> np.ndarray:
    """Along-track positions: finite, strictly increasing (and of length n when given)."""
    p = np.asarray(positions_m, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise InputError("positions_m must be a non-empty 1-D sequence of along-track distances (m)")
    if not np.all(np.isfinite(p)):
        raise InputError("positions_m contains NaN or infinite values")
    if np.any(np.diff(p) <= 0):
        raise InputError("positions_m must increase strictly along the traverse; sort the traces or drop repeats")
    if n is not None and p.size != n:
        raise InputError(f"got {n} columns but {p.size} positions_m; give one position per column")
    return p


def _resolve_columns(columns, positions_m):
    if callable(columns):
        if positions_m is None:
            raise InputError("with a column_at(s_m) callable, give positions_m as well")
        p = check_positions(positions_m)
        cols = [columns(float(s)) for s in p]
    else:
        cols = list(columns)
        if positions_m is None:
            raise InputError("give positions_m (along-track distance of each column, m)")
        p = check_positions(positions_m, len(cols))
    return cols, p


def _layer_arrivals(z_m, eps, tan, cfg: GprParams):
    """Arrival times (s, from the antenna) and amplitudes of the layered primaries, vectorised over rows.

    ``eps``, ``tan``: (n_columns, n_layers) on the common grid ``z_m`` (cell centres).
    Returns (times, amps) of shape (n_columns, n_layers): index 0 is the surface.
    """
    z = np.asarray(z_m, float)
    dz = float(z[1] - z[0]) if z.size > 1 else float(2 * z[0])
    top = z[0] - dz / 2
    if abs(top) > 1e-6 * max(dz, 1e-3):
        raise InputError(f"Column.z_m must start at dz/2 below the surface (first cell top at 0 m, got {top:g} m)")
    h = cfg.antenna_height_m
    n = np.sqrt(eps)
    alpha = attenuation_np_m(eps, tan, cfg.centre_frequency_hz)
    one_way = np.cumsum(dz * n / C_M_S, axis=1)                 # to the bottom of each layer
    loss = np.exp(-2 * np.cumsum(alpha * dz, axis=1))
    spread_len = 2 * (h + np.cumsum(dz / n, axis=1))
    r = np.empty_like(eps)
    r[:, 0] = (1 - n[:, 0]) / (1 + n[:, 0])
    r[:, 1:] = (n[:, :-1] - n[:, 1:]) / (n[:, :-1] + n[:, 1:])
    trans = np.cumprod(1 - r ** 2, axis=1)                     # two-way, through interfaces 0..k
    times = np.empty_like(eps)
    amps = np.empty_like(eps)
    times[:, 0] = 2 * h / C_M_S
    times[:, 1:] = 2 * h / C_M_S + 2 * one_way[:, :-1]
    geo = spreading_factor(np.concatenate([np.full((eps.shape[0], 1), 2 * h), spread_len[:, :-1]], axis=1),
                           cfg.spreading)
    amps[:, 0] = r[:, 0] * geo[:, 0]
    amps[:, 1:] = r[:, 1:] * trans[:, :-1] * loss[:, :-1] * geo[:, 1:]
    return times, amps


def spreading_factor(length_m, spreading: str):
    """Amplitude factor of geometric spreading over a two-way length (m), normalised to 1 at 1 m.

    ``spreading``: "point", 1/L, or else 1/sqrt(L).
    """
    L = np.maximum(np.asarray(length_m, float), 1e-3)
    return 1.0 / L if spreading == "point" else 1.0 / np.sqrt(L)


def two_medium_time(rho_m, h_m, z_m, v_m_s, iterations: int = 8):
    """One-way time from an antenna at height h to a point at depth z and horizontal distance rho.

    Fermat's principle: the refraction point p (0 <= p <= rho) on the surface
    minimises sqrt(p^2 + h^2)/c + sqrt((rho-p)^2 + z^2)/v; Newton iterations
    from the straight-ray guess. Vectorised.

    Parameters
    ----------
    rho_m : array_like
        Horizontal distance, m.
    h_m : array_like
        Antenna height above the surface, m.
    z_m : array_like
        Depth of the point, m.
    v_m_s : array_like
        Wave speed in the ground, m/s.
    iterations : int
        Newton iterations.
    """
    rho, h, z, v = np.broadcast_arrays(*(np.asarray(a, float) for a in (rho_m, h_m, z_m, v_m_s)))
    p = rho * h / np.maximum(h + z, 1e-12)
    for _ in range(iterations):
        a = np.maximum(np.sqrt(p ** 2 + h ** 2), 1e-12)
        b = np.sqrt((rho - p) ** 2 + z ** 2)
        g = p / (a * C_M_S) - (rho - p) / (b * v)
        dg = h ** 2 / (a ** 3 * C_M_S) + z ** 2 / (b ** 3 * v)
        p = np.clip(p - g / np.maximum(dg, 1e-30), 0.0, rho)
    p = np.where(h > 0, p, 0.0)          # antenna on the ground: straight ray (no head wave)
    return np.sqrt(p ** 2 + h ** 2) / C_M_S + np.sqrt((rho - p) ** 2 + z ** 2) / v, p


def _rock_arrivals(cols, p, eps_rows, tan_rows, col_index, z_grid, cfg: GprParams):
    """(trace index, time, amplitude) of the rock diffractions seen by every trace in their beam."""
    seen = {}
    for i, c in enumerate(cols):
        for rk in c.rocks:
            x0 = p[i] + rk.along_track_m
            key = (round(x0, 6), round(rk.offset_m, 6), round(rk.depth_m, 6), round(rk.radius_m, 6))
            seen.setdefault(key, (rk, x0))
    out_i, out_t, out_a = [], [], []
    h = cfg.antenna_height_m
    tan_beam = np.tan(np.radians(cfg.beam_half_angle_deg))
    for rk, x0 in seen.values():
        if not (rk.radius_m > 0 and rk.depth_m > rk.radius_m):
            raise InputError(f"rock at {x0:g} m: need 0 < radius_m < depth_m (got radius {rk.radius_m}, depth {rk.depth_m})")
        j = int(np.clip(np.searchsorted(p, x0), 0, len(p) - 1))
        u = col_index[j]
        z = z_grid[u]
        eps, tan = eps_rows[u], tan_rows[u]
        dz = float(z[1] - z[0]) if z.size > 1 else float(2 * z[0])
        z_top = rk.depth_m - rk.radius_m
        above = np.clip((z_top - (z - dz / 2)) / dz, 0, 1) * dz     # thickness of each layer above the rock top
        if z_top > z[-1] + dz / 2:
            continue
        n = np.sqrt(eps)
        t_one = float(np.sum(above * n) / C_M_S)
        v_avg = z_top / t_one
        k_host = int(np.clip(np.searchsorted(z + dz / 2, z_top), 0, z.size - 1))
        n_host = float(n[k_host])
        r_rock = float(fresnel_reflection(eps[k_host], cfg.rock_permittivity))
        r_surf = (1 - n[0]) / (1 + n[0])
        loss_per_m = float(np.sum(above * attenuation_np_m(eps, tan, cfg.centre_frequency_hz)) / max(z_top, 1e-9))
        k_wave = 2 * np.pi * cfg.centre_frequency_hz * n_host / C_M_S
        size = min(1.0, (k_wave * rk.radius_m) ** 2)
        max_rho = (rk.depth_m + h) * tan_beam + rk.radius_m
        sel = np.flatnonzero(np.abs(p - x0) <= max_rho)
        rho = np.hypot(p[sel] - x0, rk.offset_m)
        t1, pr = two_medium_time(rho, h, rk.depth_m, v_avg)
        r_ground = np.hypot(rho - pr, rk.depth_m)                   # centre range in the ground
        cos_t = rk.depth_m / r_ground
        ok = cos_t >= np.cos(np.radians(cfg.beam_half_angle_deg))
        r_air = np.hypot(pr, h)
        geo = spreading_factor(2 * (r_air + (r_ground - rk.radius_m) / n_host), cfg.spreading)
        amp = (r_rock * (1 - r_surf ** 2) * np.exp(-2 * loss_per_m * (r_ground - rk.radius_m))
               * size * np.minimum(1.0, rk.radius_m / np.maximum(r_ground - rk.radius_m, 1e-9)) * geo * cos_t)
        out_i.append(sel[ok])
        out_t.append((2 * (t1 - rk.radius_m / v_avg))[ok])
        out_a.append(amp[ok])
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    return np.concatenate(out_i).astype(np.int64), np.concatenate(out_t), np.concatenate(out_a)


@numba.njit(cache=True)
def _render(out, dt, f, half_width, t0, col_index, times, amps, rock_i, rock_t, rock_a, direct, amp_min):
    n_tr, n_s = out.shape
    pf2 = (np.pi * f) ** 2
    hw = int(half_width / dt) + 1
    for i in range(n_tr):
        u = col_index[i]
        for k in range(-1, times.shape[1]):
            if k < 0:
                ta, a = t0[i], direct
            else:
                a = amps[u, k]
                if abs(a) < amp_min:
                    continue
                ta = t0[i] + times[u, k]
            c = int(ta / dt)
            for s in range(max(c - hw, 0), min(c + hw + 2, n_s)):
                x = pf2 * (s * dt - ta) ** 2
                out[i, s] += a * (1 - 2 * x) * np.exp(-x)
    for j in range(rock_i.shape[0]):
        i = rock_i[j]
        ta = t0[i] + rock_t[j]
        a = rock_a[j]
        c = int(ta / dt)
        for s in range(max(c - hw, 0), min(c + hw + 2, n_s)):
            x = pf2 * (s * dt - ta) ** 2
            out[i, s] += a * (1 - 2 * x) * np.exp(-x)


def forward_radargram(columns: Sequence | Callable, positions_m=None, *, rng: np.random.Generator,
                      config: GprParams | None = None) -> Radargram:
    """Simulate a B-scan over a traverse.

    ``columns``: a sequence of :class:`lupex.subsurface.Column` (one per trace)
    with their along-track ``positions_m``, or a callable ``column_at(s_m)``
    evaluated at each of ``positions_m``. Rocks are placed at the column's
    position plus ``Rock.along_track_m`` (cross-track ``offset_m``); the same
    rock listed by several columns is rendered once. ``rng`` drives all noise.

    Parameters
    ----------
    columns : sequence of Column or callable
        One column per trace, or ``column_at(s_m)``.
    positions_m : array_like, optional
        (n_traces,) along-track positions, m.
    rng : np.random.Generator
        Source of all the noise.
    config : GprConfig, optional
        The radar's settings (default: :class:`GprConfig`).
    """
    cfg = config or GprParams()
    check_rng(rng)
    cols, p = _resolve_columns(columns, positions_m)
    # unique columns (by identity), grouped by depth grid for vectorised dielectric/arrival computation
    uniq, col_index = {}, np.empty(len(cols), np.int64)
    for i, c in enumerate(cols):
        col_index[i] = uniq.setdefault(id(c), len(uniq))
    ucols = [None] * len(uniq)
    for c in cols:
        ucols[uniq[id(c)]] = c
    groups = {}
    for u, c in enumerate(ucols):
        z = np.asarray(c.z_m, float)
        groups.setdefault((z.size, round(float(z[0]), 9), round(c.dz_m, 9)), []).append(u)
    n_max = max(np.asarray(c.z_m).size for c in ucols)
    times = np.zeros((len(ucols), n_max))
    amps = np.zeros((len(ucols), n_max))
    eps_rows, tan_rows, z_grid = [None] * len(ucols), [None] * len(ucols), [None] * len(ucols)
    for us in groups.values():
        dens = np.stack([np.asarray(ucols[u].density_kg_m3, float) for u in us])
        weh = np.stack([np.asarray(ucols[u].weh_wt_pct, float) for u in us])
        feo = np.array([ucols[u].feo_tio2_wt_pct for u in us], float)[:, None]
        eps, tan = regolith_dielectric(dens, weh, feo, cfg.mixing_rule)
        t, a = _layer_arrivals(ucols[us[0]].z_m, eps, tan, cfg)
        times[us, :t.shape[1]] = t
        amps[us, :a.shape[1]] = a
        for k, u in enumerate(us):
            eps_rows[u], tan_rows[u], z_grid[u] = eps[k], tan[k], np.asarray(ucols[u].z_m, float)
    rock_i, rock_t, rock_a = _rock_arrivals(cols, p, eps_rows, tan_rows, col_index, z_grid, cfg)

    n_tr, n_s, dt = len(cols), cfg.n_samples, cfg.dt_s
    t0 = cfg.system_delay_s + cfg.timing_jitter_s * rng.standard_normal(n_tr)
    out = np.zeros((n_tr, n_s), np.float64)
    _render(out, dt, cfg.centre_frequency_hz, 1.6 / cfg.centre_frequency_hz, t0, col_index, times, amps,
            rock_i, rock_t, rock_a, float(cfg.direct_coupling), cfg.min_reflection)
    t = np.arange(n_s) * dt
    if cfg.wow_amplitude:
        w = cfg.wow_amplitude * (1 + 0.3 * rng.standard_normal(n_tr))
        out += w[:, None] * np.exp(-t / cfg.wow_time_constant_s)[None, :]
    sigma_w = cfg.direct_coupling * 10 ** (cfg.noise_floor_db / 20)
    out += sigma_w * rng.standard_normal((n_tr, n_s))
    if np.isfinite(cfg.bandlimited_noise_db):
        nf = 2 * n_s
        spec = np.abs(np.fft.rfft(ricker(np.arange(nf) * dt - nf * dt / 2, cfg.centre_frequency_hz)))
        spec /= np.sqrt(np.mean(spec ** 2) * nf / (nf // 2 + 1))
        bl = np.fft.irfft(np.fft.rfft(rng.standard_normal((n_tr, nf)), axis=1) * spec, n=nf, axis=1)[:, :n_s]
        bl *= cfg.direct_coupling * 10 ** (cfg.bandlimited_noise_db / 20) / max(float(np.std(bl)), 1e-300)
        out += bl
    return Radargram(out.astype(np.float32), p, dt, cfg)


def column_two_way_time(column, depth_m: float, rule: str = "log") -> float:
    """Two-way time (s) from the surface to ``depth_m`` through a Column: 2 integral dz / v."""
    eps, _ = column_dielectric(column, rule)
    z = np.asarray(column.z_m, float)
    dz = column.dz_m
    frac = np.clip((depth_m - (z - dz / 2)) / dz, 0, 1)
    return float(2 * np.sum(frac * dz * np.sqrt(eps)) / C_M_S)


# the names before the one naming rule for parameter classes (*Params), for code that uses them
GprConfig = GprParams
