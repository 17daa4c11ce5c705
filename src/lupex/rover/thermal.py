"""Two-node lumped thermal model: warm electronics box (WEB) and battery, with thermostatic heaters.

For node j (heat capacity C_j):

    C_j dT_j/dt = Q_int,j + Q_heater,j + alpha_j S A_sun,j f_sun
                  + eps_j sigma A_j [F_j T_terrain^4 + (1 - F_j) T_space^4]
                  - eps_j sigma A_j T_j^4 + G (T_other - T_j)

the usual spacecraft lumped-parameter energy balance (e.g. Gilmore, ed., 2002,
*Spacecraft Thermal Control Handbook* Vol. I, 2nd ed., The Aerospace Press,
Ch. 1-2). eps_j A_j is an *effective* radiating area that folds in MLI
leakage and a radiator with closed louvres; F_j is the radiator's view factor
to the terrain (the rest sees space at 2.7 K). Q_int is the share of the bus
load dissipated in the node; the heater power is drawn from the battery and
also ends up as heat in the node.

Heaters are ideal thermostats: in each integration substep the node is
advanced without heater; if it would end below the set point, the heater runs
at the constant power (up to its maximum) that makes the substep end there. At equilibrium at the set point
the heater power therefore equals the net loss there:
Q_heater = eps sigma A (T_set^4 - F T_t^4 - (1-F) T_sp^4) - Q_int - G (T_other - T_set).

Integration: Heun (2nd-order Runge-Kutta) substeps of at most
``thermal.max_substep_s`` (600 s), each time-grid interval split evenly;
inputs are held constant over each interval (left values). Node time
constants are ~10-40 h, so 600 s substeps are accurate to ~1e-5 relative.

Terrain temperature: ideally from the light core (thermal model of the
regolith). The fallback here is instantaneous radiative equilibrium of the
surface under the Sun, T = [(1 - A) S f sin(e + slope) / (eps sigma)]^(1/4),
floored at a night temperature -- it ignores thermal inertia (the regolith
cools over hours to days), so it is cold-biased right after sunset and warm-
biased at sunrise. Albedo and emissivity after Vasavada et al. 2012
(JGR 117:E00H18; values from memory).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np

from lupex.constants import STEFAN_BOLTZMANN_W_M2_K4 as SIGMA
from lupex.errors import InputError
from lupex.rover.power import _arr, _per_interval, interval_seconds, solar_irradiance_w_m2
from lupex.rover.vehicle import NodeParams, RoverParams

T_SPACE_K = 2.725
"""Cosmic microwave background temperature (Fixsen 2009, ApJ 707:916)."""

NODE_NAMES = ("electronics", "battery")


def terrain_temperature_k(sun_fraction, sun_el_deg, params: RoverParams | None = None, sun_distance_m=None) -> np.ndarray:
    """Fallback terrain temperature (K): radiative equilibrium under the Sun, floored at the night value.

    T = [(1 - A) S f sin(e + slope) / (eps sigma)]^(1/4), floored at ``night_k`` (module docstring; albedo and
    emissivity after Vasavada et al. 2012).

    Parameters
    ----------
    sun_fraction : float or array_like
        Visible fraction f of the solar disk, 0..1.
    sun_el_deg : float or array_like
        Sun elevation e, deg; broadcasts with ``sun_fraction``.
    params : RoverParams, optional
        The rover; ``terrain_thermal`` gives albedo A, emissivity eps, the slope toward the Sun (deg) and the
        night floor (K) (default ``RoverParams()``).
    sun_distance_m : float or array_like, optional
        Distance to the Sun, m, giving S (Kopp & Lean 2011 at 1 au); None: 1 au.

    Returns
    -------
    np.ndarray
        Terrain temperature, K, the broadcast shape of the inputs.
    """
    params = params or RoverParams()
    tp = params.terrain_thermal
    f = _arr(sun_fraction, "sun_fraction")
    e = np.radians(_arr(sun_el_deg, "sun_el_deg") + tp.slope_toward_sun_deg)
    absorbed = (1.0 - tp.albedo) * solar_irradiance_w_m2(sun_distance_m) * f * np.clip(np.sin(e), 0.0, None)
    return np.maximum((absorbed / (tp.emissivity * SIGMA)) ** 0.25, tp.night_k)


def effective_emissivity(temperature_k, node: NodeParams) -> np.ndarray:
    """Emissivity of a louvred radiator: closed up to ``louvre_closed_k``, open above ``louvre_open_k``.

    Linear in between (Gilmore 2002, Spacecraft Thermal Control Handbook, ch. 6).
    """
    x = np.clip((np.asarray(temperature_k, float) - node.louvre_closed_k) / (node.louvre_open_k - node.louvre_closed_k),
                0.0, 1.0)
    return node.emissivity + (node.emissivity_open - node.emissivity) * x


def radiative_loss_w(temperature_k, node: NodeParams, terrain_k) -> np.ndarray:
    """Net IR loss (W) of a node to terrain and space."""
    env4 = node.terrain_view_factor * np.asarray(terrain_k, float) ** 4 + (1.0 - node.terrain_view_factor) * T_SPACE_K**4
    t = np.asarray(temperature_k, float)
    return effective_emissivity(t, node) * SIGMA * node.radiator_area_m2 * (t**4 - env4)


def steady_state_k(node: NodeParams, heat_in_w, terrain_k) -> np.ndarray:
    """Equilibrium temperature (K) of an isolated node with constant absorbed/dissipated power ``heat_in_w``."""
    env4 = node.terrain_view_factor * np.asarray(terrain_k, float) ** 4 + (1.0 - node.terrain_view_factor) * T_SPACE_K**4
    q = np.asarray(heat_in_w, float)
    closed = (q / (node.emissivity * SIGMA * node.radiator_area_m2) + env4) ** 0.25
    opened = (q / (node.emissivity_open * SIGMA * node.radiator_area_m2) + env4) ** 0.25
    out = np.where(closed <= node.louvre_closed_k, closed, opened)
    mid = (closed > node.louvre_closed_k) & (opened < node.louvre_open_k)
    if np.any(mid):  # louvres part open: the loss is monotone in T, so bisect between the set points
        lo = np.full(np.shape(out), node.louvre_closed_k)
        hi = np.full(np.shape(out), node.louvre_open_k)
        env_b = np.broadcast_to(env4, np.shape(out))
        q_b = np.broadcast_to(q, np.shape(out))
        for _ in range(60):
            t = 0.5 * (lo + hi)
            too_hot = effective_emissivity(t, node) * SIGMA * node.radiator_area_m2 * (t**4 - env_b) > q_b
            hi = np.where(too_hot, t, hi)
            lo = np.where(too_hot, lo, t)
        out = np.where(mid, 0.5 * (lo + hi), out)
    return out


def time_constant_s(node: NodeParams, temperature_k: float, coupling_w_k: float = 0.0) -> float:
    """Linearised time constant C / (dLoss/dT + G) (s) about ``temperature_k`` (louvres: eps(T)).

    dLoss/dT = sigma A (4 eps T^3 + eps'(T) T^4); the second term is the louvres' own
    feedback (zero outside the actuation span), the environment term being fixed.
    """
    t = float(temperature_k)
    eps = float(effective_emissivity(t, node))
    span = node.louvre_open_k - node.louvre_closed_k
    d_eps = (node.emissivity_open - node.emissivity) / span if node.louvre_closed_k < t < node.louvre_open_k else 0.0
    dloss = SIGMA * node.radiator_area_m2 * (4.0 * eps * t**3 + d_eps * t**4)
    return node.heat_capacity_j_k / (dloss + coupling_w_k)


@dataclass(frozen=True)
class ThermalTrace:
    """Node temperatures at the n times and heater power averaged over each of the n-1 intervals."""

    temperature_k: np.ndarray  # (n, 2): electronics, battery
    heater_w: np.ndarray  # (n-1, 2)
    min_temperature_k: np.ndarray  # (n-1, 2): lowest substep temperature within each interval

    @property
    def heater_total_w(self) -> np.ndarray:
        """Heater power of both nodes together (W) per interval."""
        return self.heater_w.sum(axis=1)


@numba.njit(cache=True, inline="always")
def _ea(j, t, ea):
    """eps(T) sigma A of node j; ea rows: closed, open, louvre-closed T, louvre-open T."""
    x = (t - ea[2, j]) / (ea[3, j] - ea[2, j])
    x = min(max(x, 0.0), 1.0)
    return ea[0, j] + (ea[1, j] - ea[0, j]) * x


@numba.njit(cache=True)
def _heun(t_a, t_b, qa, qb, h, qe0, qe1, env0, env1, c, ea, g):
    """One Heun (RK2) step of both nodes with heater powers qa, qb held constant."""
    fa1 = (qe0 + qa - _ea(0, t_a, ea) * (t_a**4 - env0) + g * (t_b - t_a)) / c[0]
    fb1 = (qe1 + qb - _ea(1, t_b, ea) * (t_b**4 - env1) + g * (t_a - t_b)) / c[1]
    pa = t_a + h * fa1
    pb = t_b + h * fb1
    fa2 = (qe0 + qa - _ea(0, pa, ea) * (pa**4 - env0) + g * (pb - pa)) / c[0]
    fb2 = (qe1 + qb - _ea(1, pb, ea) * (pb**4 - env1) + g * (pa - pb)) / c[1]
    return t_a + 0.5 * h * (fa1 + fa2), t_b + 0.5 * h * (fb1 + fb2)


@numba.njit(cache=True)
def _thermal_kernel(dt_s, max_sub, q_ext, tenv4, c, ea, g, hmax, tset, t0):
    # q_ext (n, 2): absorbed sun + dissipation (W); tenv4 (n, 2): environment T^4; ea (4, 2): see _ea
    n = dt_s.size
    temp = np.empty((n + 1, 2))
    heat = np.zeros((n, 2))
    tmin = np.empty((n, 2))
    temp[0, 0] = t0[0]
    temp[0, 1] = t0[1]
    for k in range(n):
        m = int(np.ceil(dt_s[k] / max_sub))
        h = dt_s[k] / m
        t_a = temp[k, 0]
        t_b = temp[k, 1]
        lo_a = t_a
        lo_b = t_b
        ea_h = 0.0
        eb_h = 0.0
        for _ in range(m):
            na, nb = _heun(t_a, t_b, 0.0, 0.0, h, q_ext[k, 0], q_ext[k, 1], tenv4[k, 0], tenv4[k, 1], c, ea, g)
            if na < tset[0] or nb < tset[1]:
                # ideal thermostats: the constant heater power over the substep that ends the node
                # at its set point (fixed-point iteration; contraction ~ h * dLoss/dT / 2C << 1)
                qa = 0.0
                qb = 0.0
                for _it in range(4):
                    if na < tset[0] or qa > 0.0:
                        qa = min(max(qa + c[0] * (tset[0] - na) / h, 0.0), hmax[0])
                    if nb < tset[1] or qb > 0.0:
                        qb = min(max(qb + c[1] * (tset[1] - nb) / h, 0.0), hmax[1])
                    na, nb = _heun(t_a, t_b, qa, qb, h, q_ext[k, 0], q_ext[k, 1], tenv4[k, 0], tenv4[k, 1], c, ea, g)
                ea_h += qa * h
                eb_h += qb * h
            t_a = na
            t_b = nb
            lo_a = min(lo_a, t_a)
            lo_b = min(lo_b, t_b)
        temp[k + 1, 0] = t_a
        temp[k + 1, 1] = t_b
        heat[k, 0] = ea_h / dt_s[k]
        heat[k, 1] = eb_h / dt_s[k]
        tmin[k, 0] = lo_a
        tmin[k, 1] = lo_b
    return temp, heat, tmin


def simulate(times, sun_fraction, load_w, params: RoverParams | None = None, terrain_k=None, sun_el_deg=None,
             sun_distance_m=None, t0_k=None) -> ThermalTrace:
    """Integrate the two nodes along a time series.

    ``sun_fraction`` and ``load_w`` (bus load, W) per time or per interval;
    ``terrain_k`` per time/interval or scalar; if None it comes from
    :func:`terrain_temperature_k` (then ``sun_el_deg`` is needed).
    ``t0_k``: initial (electronics, battery) temperatures; default each node's heater set point.

    The two-node energy balance of the module docstring (Gilmore 2002, Ch. 1-2) with ideal thermostats,
    integrated by Heun substeps of at most ``thermal.max_substep_s``.

    Parameters
    ----------
    times : array_like, (n,)
        Time grid, datetime64 or seconds, strictly increasing.
    sun_fraction : float or array_like, (n,) or (n - 1,)
        Visible fraction of the solar disk on the nodes' sunlit areas, 0..1.
    load_w : float or array_like, (n,) or (n - 1,)
        Bus load, W; each node dissipates its ``dissipation_frac`` of it.
    params : RoverParams, optional
        The rover; ``thermal`` gives the two nodes and their coupling (default ``RoverParams()``).
    terrain_k : float or array_like, (n,) or (n - 1,), optional
        Terrain temperature, K; None: :func:`terrain_temperature_k` from ``sun_el_deg``.
    sun_el_deg : float or array_like, (n,), optional
        Sun elevation, deg; needed when ``terrain_k`` is None.
    sun_distance_m : float or array_like, (n,) or (n - 1,), optional
        Distance to the Sun, m; None: 1 au.
    t0_k : sequence of float, optional
        (electronics, battery) temperatures at ``times[0]``, K.

    Returns
    -------
    ThermalTrace
        (n, 2) node temperatures, K; (n - 1, 2) mean heater power per interval, W; (n - 1, 2) lowest substep
        temperature within each interval, K.
    """
    params = params or RoverParams()
    th = params.thermal
    nodes = (th.electronics, th.battery)
    dt = interval_seconds(times)
    n = dt.size
    f = _per_interval(_arr(sun_fraction, "sun_fraction"), n, "sun_fraction")
    load = _per_interval(_arr(load_w, "load_w"), n, "load_w")
    if terrain_k is None:
        if sun_el_deg is None:
            raise InputError("give terrain_k (terrain temperature, K) or sun_el_deg to estimate it")
        terrain_k = terrain_temperature_k(sun_fraction, sun_el_deg, params, sun_distance_m)
    tt = _per_interval(_arr(terrain_k, "terrain_k"), n, "terrain_k")
    if np.any(tt < 0):
        raise InputError("terrain temperature must be >= 0 K")
    s = solar_irradiance_w_m2(sun_distance_m)
    s = _per_interval(np.asarray(s, float), n, "sun_distance_m")
    q_ext = np.empty((n, 2))
    tenv4 = np.empty((n, 2))
    for j, nd in enumerate(nodes):
        q_ext[:, j] = nd.absorptivity * s * nd.sun_area_m2 * f + nd.dissipation_frac * load
        tenv4[:, j] = nd.terrain_view_factor * tt**4 + (1.0 - nd.terrain_view_factor) * T_SPACE_K**4
    t0 = np.array([nd.heater_setpoint_k for nd in nodes] if t0_k is None else t0_k, dtype=float)
    if t0.shape != (2,) or np.any(~np.isfinite(t0)) or np.any(t0 <= 0):
        raise InputError("t0_k must be two positive temperatures (electronics, battery) in K")
    temp, heat, tmin = _thermal_kernel(
        dt, float(th.max_substep_s), q_ext, tenv4,
        np.array([nd.heat_capacity_j_k for nd in nodes]),
        np.array([[nd.emissivity * SIGMA * nd.radiator_area_m2 for nd in nodes],
                  [nd.emissivity_open * SIGMA * nd.radiator_area_m2 for nd in nodes],
                  [nd.louvre_closed_k for nd in nodes],
                  [nd.louvre_open_k for nd in nodes]]),
        float(th.coupling_w_k),
        np.array([nd.heater_max_w for nd in nodes]),
        np.array([nd.heater_setpoint_k for nd in nodes]),
        t0,
    )
    return ThermalTrace(temp, heat, tmin)


@functools.lru_cache(maxsize=32)
def heater_power_w(rover: RoverParams, load_w: float, sunlit: bool) -> float:
    """Steady thermostat heater power (W) for a constant bus load, in the Sun (fraction 1, 1 deg) or in the dark.

    Runs :func:`simulate` for 40 days at 1 h (node time constants ~10-40 h) and
    averages the last day.
    """
    n = 24 * 40
    t = np.arange(n) * 3600.0
    f = np.full(n, 1.0 if sunlit else 0.0)
    tr = simulate(t, f, np.full(n, float(load_w)), rover, sun_el_deg=np.full(n, 1.0))
    return float(tr.heater_total_w[-24:].mean())
