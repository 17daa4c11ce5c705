"""Electrical power: solar arrays at the Sun's true direction, loads per mode, a Li-ion battery.

Array output (per panel, summed):

    P = S(r) * eta * A * max(cos i, 0) * sun_fraction * (1 + gamma (T_cell - 301.15 K))

* S(r) = 1361 W/m^2 (AU / r)^2, total solar irradiance at 1 au from Kopp &
  Lean 2011 (GRL 38:L01706), scaled with the actual Sun distance r when given.
* cos i = n . s, with s the unit vector to the Sun in local east/north/up from
  the geographic azimuth (clockwise from north) and elevation, and n the panel
  normal: tilt from the zenith, azimuth = rover heading + the panel's azimuth
  relative to the heading. A vertical panel facing the Sun's azimuth gets
  cos(elevation) -- near 1 at the pole, where the Sun stays within ~1.6 deg of
  the horizon (docs/REFERENCES.md#polar-sun-geometry).
* sun_fraction is the visible fraction of the solar disk from the horizon
  model; limb darkening is ignored (the partial disk counts by area).
* Optional linear temperature derating, gamma from the panel parameters.

Battery (energy bookkeeping, no voltage model): the state is the stored
energy E in [soc_min, soc_max] * capacity. Over each interval of the time grid
(piecewise constant, values at the interval's left end) the net bus power
solar - load charges the battery with ``charge_efficiency`` or discharges it
with ``discharge_efficiency``. What does not fit above soc_max is *surplus*
(array power the bus cannot use: curtailed); what cannot be drawn below
soc_min is *deficit* (load left unpowered). Both are reported per interval, so
energy is conserved exactly:

    sum (solar - load) dt = sum charged + sum surplus - sum discharged - sum deficit
    E_end - E_0 = charge_eff * sum charged - sum discharged / discharge_eff
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numba
import numpy as np

from lupex.constants import AU_M, SOLAR_CONSTANT_W_M2
from lupex.errors import InputError
from lupex.rover.vehicle import MODES, PanelParams, RoverParams

T_REF_CELL_K = 301.15  # 28 C, the usual cell rating temperature


def _arr(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or infinite values; fill or mask them before calling the rover model")
    return a


def interval_seconds(times) -> np.ndarray:
    """Lengths (s) of the n-1 intervals of a time grid (datetime64 or seconds); must increase strictly."""
    t = np.asarray(times)
    if t.ndim != 1 or t.size < 2:
        raise InputError("a time series needs at least two times in a 1-D array")
    if np.issubdtype(t.dtype, np.datetime64):
        dt = np.diff(t.astype("datetime64[ns]")).astype(np.int64) / 1e9
    else:
        dt = np.diff(_arr(t, "times"))
    if np.any(dt <= 0):
        raise InputError("times must increase strictly (sort them and drop duplicates)")
    return dt.astype(float)


def solar_irradiance_w_m2(sun_distance_m=None) -> np.ndarray | float:
    """Solar irradiance (W/m^2) at distance r: 1361 (AU/r)^2; 1 au when r is None."""
    if sun_distance_m is None:
        return SOLAR_CONSTANT_W_M2
    r = _arr(sun_distance_m, "sun_distance_m")
    if np.any(r <= 0):
        raise InputError("sun_distance_m must be positive (metres from the rover to the Sun)")
    return SOLAR_CONSTANT_W_M2 * (AU_M / r) ** 2


def direction_enu(azimuth_deg, elevation_deg) -> np.ndarray:
    """Unit vector(s) (..., 3) east/north/up for a geographic azimuth (clockwise from north) and elevation."""
    az = np.radians(_arr(azimuth_deg, "azimuth_deg"))
    el = np.radians(_arr(elevation_deg, "elevation_deg"))
    az, el = np.broadcast_arrays(az, el)
    return np.stack([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)], axis=-1)


def cos_incidence(sun_az_deg, sun_el_deg, tilt_deg, normal_az_deg) -> np.ndarray:
    """Cosine of the Sun's incidence angle on a panel, clipped at 0 (Sun behind the panel).

    ``tilt_deg`` is the normal's angle from the zenith; ``normal_az_deg`` its geographic azimuth.

    cos i = n . s with both unit vectors in local east/north/up (module docstring).

    Parameters
    ----------
    sun_az_deg : float or array_like
        Sun azimuth, deg, clockwise from north.
    sun_el_deg : float or array_like
        Sun elevation above the horizon, deg.
    tilt_deg : float or array_like
        Panel normal's angle from the zenith, deg (90: a vertical panel).
    normal_az_deg : float or array_like
        Panel normal's azimuth, deg, clockwise from north.

    Returns
    -------
    np.ndarray
        max(cos i, 0), the broadcast shape of the four inputs.
    """
    s = direction_enu(sun_az_deg, sun_el_deg)
    n = direction_enu(normal_az_deg, 90.0 - np.asarray(tilt_deg, float))
    return np.maximum(np.sum(s * n, axis=-1), 0.0)


def heading_facing_sun_deg(sun_az_deg, panel: PanelParams) -> np.ndarray:
    """Rover heading (deg clockwise from north) that turns the panel's normal to the Sun's azimuth."""
    return (_arr(sun_az_deg, "sun_az_deg") - panel.azimuth_rel_deg) % 360.0


def panel_power_w(sun_fraction, sun_az_deg, sun_el_deg, heading_deg, params: RoverParams | None = None,
                  sun_distance_m=None, cell_temperature_k=None) -> np.ndarray:
    """Total array power (W) of all panels for Sun direction, visible fraction and rover heading.

    P = S(r) eta A max(cos i, 0) sun_fraction (1 + gamma (T_cell - 301.15 K)), summed over the panels,
    with S(r) from Kopp & Lean 2011 (module docstring).

    Parameters
    ----------
    sun_fraction : float or array_like
        Visible fraction of the solar disk, 0..1.
    sun_az_deg : float or array_like
        Sun azimuth, deg, clockwise from north (or grid +y: only its difference with the heading matters).
    sun_el_deg : float or array_like
        Sun elevation, deg.
    heading_deg : float or array_like
        Rover heading, deg, in the same azimuth convention as ``sun_az_deg``.
    params : RoverParams, optional
        The rover; each of ``panels`` gives area (m^2), efficiency, tilt, azimuth relative to the heading and
        temperature coefficient (default ``RoverParams()``).
    sun_distance_m : float or array_like, optional
        Distance to the Sun, m; None: 1 au.
    cell_temperature_k : float or array_like, optional
        Panel cell temperature, K; None: no temperature derating.

    Returns
    -------
    np.ndarray
        Array power, W, the broadcast shape of the inputs.
    """
    params = params or RoverParams()
    f = _arr(sun_fraction, "sun_fraction")
    if np.any((f < 0) | (f > 1)):
        raise InputError("sun_fraction must be within 0..1 (visible fraction of the solar disk)")
    s = solar_irradiance_w_m2(sun_distance_m)
    head = _arr(heading_deg, "heading_deg")
    total = 0.0
    for p in params.panels:
        c = cos_incidence(sun_az_deg, sun_el_deg, p.tilt_deg, head + p.azimuth_rel_deg)
        derate = 1.0
        if cell_temperature_k is not None:
            derate = np.maximum(1.0 + p.temp_coeff_per_k * (_arr(cell_temperature_k, "cell_temperature_k") - T_REF_CELL_K), 0.0)
        total = total + s * p.efficiency * p.area_m2 * c * f * derate
    return np.asarray(total, dtype=float)


def mode_load_w(modes, params: RoverParams | None = None) -> np.ndarray:
    """Bus load (W) for each entry of a sequence of mode names (see ``MODES``)."""
    params = params or RoverParams()
    m = np.asarray(modes, dtype=str)
    out = np.empty(m.shape, dtype=float)
    for name in np.unique(m):
        if name not in MODES:
            close = difflib.get_close_matches(str(name), MODES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"unknown rover mode {name!r}{hint} Known modes: {', '.join(MODES)}")
        out[m == name] = params.loads.of(str(name))
    return out


@dataclass(frozen=True)
class BatteryTrace:
    """Battery state at the n times and energy flows (Wh) over the n-1 intervals."""

    energy_wh: np.ndarray  # (n,) stored energy
    soc: np.ndarray  # (n,) energy / capacity
    charged_wh: np.ndarray  # (n-1,) bus energy into the battery
    discharged_wh: np.ndarray  # (n-1,) bus energy delivered by the battery
    surplus_wh: np.ndarray  # (n-1,) array energy not usable (battery full)
    deficit_wh: np.ndarray  # (n-1,) load energy not delivered (battery at soc_min)

    @property
    def total_surplus_wh(self) -> float:
        """Array energy (Wh) that could not be stored, over the whole series."""
        return float(self.surplus_wh.sum())

    @property
    def total_deficit_wh(self) -> float:
        """Load energy (Wh) that could not be delivered, over the whole series."""
        return float(self.deficit_wh.sum())


@numba.njit(cache=True)
def _battery_kernel(dt_h, net_w, e0, emin, emax, eta_c, eta_d):
    n = net_w.size
    e = np.empty(n + 1)
    ch = np.zeros(n)
    dis = np.zeros(n)
    sur = np.zeros(n)
    dfc = np.zeros(n)
    e[0] = e0
    for k in range(n):
        bus = net_w[k] * dt_h[k]
        ek = e[k]
        if bus >= 0.0:
            room_bus = max(emax - ek, 0.0) / eta_c
            c = min(bus, room_bus)
            ch[k] = c
            sur[k] = bus - c
            ek = min(ek + c * eta_c, emax) if c < room_bus else max(ek, emax)
        else:
            need = -bus
            avail_bus = max(ek - emin, 0.0) * eta_d
            d = min(need, avail_bus)
            dis[k] = d
            dfc[k] = need - d
            ek = ek - d / eta_d if d < avail_bus else min(ek, emin)
        e[k + 1] = ek
    return e, ch, dis, sur, dfc


def step_battery(times, solar_w, load_w, params: RoverParams | None = None, soc0: float | None = None) -> BatteryTrace:
    """Step the battery along a time series; ``solar_w`` and ``load_w`` hold per time (n) or per interval (n-1).

    The energy bookkeeping of the module docstring: piecewise-constant net power per interval (its left
    end), charge and discharge efficiencies, surplus above ``soc_max`` and deficit below ``soc_min``.

    Parameters
    ----------
    times : array_like, (n,)
        Time grid, datetime64 or seconds, strictly increasing.
    solar_w : float or array_like, (n,) or (n - 1,)
        Array power, W (>= 0); per time (the last value unused) or per interval.
    load_w : float or array_like, (n,) or (n - 1,)
        Bus load, W (>= 0); per time or per interval.
    params : RoverParams, optional
        The rover; its ``battery`` gives capacity (Wh), SoC limits and efficiencies (default ``RoverParams()``).
    soc0 : float, optional
        State of charge at ``times[0]``, within [soc_min, soc_max]; None: ``battery.soc_initial``.

    Returns
    -------
    BatteryTrace
        Stored energy (Wh) and SoC at the n times; charged, discharged, surplus and deficit (Wh) over the
        n - 1 intervals.
    """
    params = params or RoverParams()
    b = params.battery
    dt_h = interval_seconds(times) / 3600.0
    n = dt_h.size
    sol = _per_interval(_arr(solar_w, "solar_w"), n, "solar_w")
    load = _per_interval(_arr(load_w, "load_w"), n, "load_w")
    if np.any(sol < 0) or np.any(load < 0):
        raise InputError("solar_w and load_w must be >= 0 W")
    soc0 = b.soc_initial if soc0 is None else float(soc0)
    if not b.soc_min <= soc0 <= b.soc_max:
        raise InputError(f"initial state of charge {soc0} is outside [{b.soc_min}, {b.soc_max}]")
    e, ch, dis, sur, dfc = _battery_kernel(dt_h, sol - load, soc0 * b.capacity_wh, b.soc_min * b.capacity_wh,
                                           b.soc_max * b.capacity_wh, b.charge_efficiency, b.discharge_efficiency)
    return BatteryTrace(e, e / b.capacity_wh, ch, dis, sur, dfc)


def _per_interval(a: np.ndarray, n: int, name: str) -> np.ndarray:
    a = np.broadcast_to(a, (n,)) if a.ndim == 0 else a
    if a.shape == (n + 1,):
        return np.ascontiguousarray(a[:-1])
    if a.shape == (n,):
        return np.ascontiguousarray(a, dtype=float)
    raise InputError(f"{name} must have one value per time ({n + 1}) or per interval ({n}), got shape {a.shape}")
