"""Night survival at a parking spot: energy and temperature through each dark period.

Given a spot's time series from the light core (visible fraction of the solar
disk, Sun azimuth/elevation, optionally Sun distance and terrain temperature),
the rover parks from ``start`` on: in ``survival.lit_mode`` while the Sun is
visible (turning in place to face its array to the Sun if ``track_sun``), in
``survival.dark_mode`` (hibernation) in the dark. The chain is

    loads per mode  ->  thermal.simulate (heater power to hold the set points)
    ->  power.step_battery (array power + load + heaters)  ->  per dark period verdict.

A step is dark when sun_fraction <= ``survival.dark_threshold``. A dark
period is a run of dark intervals [t_a, t_b): it starts at the first dark time
and ends at the first lit time after it (``complete`` is False when it runs
past the end of the series, or was already under way at ``start``).

Per period: ``energy_needed_wh`` is the energy taken out of the battery
(bus deficit of load + heaters over array power, divided by the discharge
efficiency; the unmet part is included, so it is what a big enough battery
would have supplied); ``margin_wh`` is the lowest stored energy during the
period minus the soc_min floor, or minus the unmet load energy when the battery
ran out. Verdict: ``"fails"`` if the battery ran out or a node fell below its
survival temperature, ``"marginal"`` if it survived with less than
``survival.required_margin`` of capacity left above the floor, else
``"survives"``.

Simplification: the thermal model runs first assuming heaters are always
powered; a period where the battery runs out fails anyway, so the heater
feedback on an empty battery is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lupex.errors import InputError
from lupex.rover import power, thermal
from lupex.rover.comms import _runs
from lupex.rover.power import _arr, interval_seconds
from lupex.rover.vehicle import RoverParams


@dataclass(frozen=True)
class DarkPeriod:
    """One dark period parked at a spot: span, energy (Wh), minima of SOC and temperatures (K), verdict."""

    start: np.datetime64 | float
    end: np.datetime64 | float
    duration_h: float
    energy_needed_wh: float
    heater_energy_wh: float
    min_soc: float
    min_electronics_k: float
    min_battery_k: float
    deficit_wh: float
    margin_wh: float
    verdict: str  # "survives" | "marginal" | "fails"
    complete: bool


@dataclass(frozen=True)
class SurvivalResult:
    """Survival of the dark periods at one spot: each period, and the SOC, temperature and power series."""

    periods: tuple[DarkPeriod, ...]
    times: np.ndarray
    soc: np.ndarray  # (n,)
    temperature_k: np.ndarray  # (n, 2) electronics, battery
    solar_w: np.ndarray  # (n-1,) per interval
    load_w: np.ndarray  # (n-1,) bus load incl. heaters
    heater_w: np.ndarray  # (n-1,)

    @property
    def survives(self) -> bool:
        """True when no dark period fails (marginal counts as surviving)."""
        return all(p.verdict != "fails" for p in self.periods)

    @property
    def worst(self) -> DarkPeriod | None:
        """The dark period with the smallest margin."""
        return min(self.periods, key=lambda p: p.margin_wh) if self.periods else None

    def to_dataframe(self):
        """One row per dark period."""
        return pd.DataFrame([p.__dict__ for p in self.periods])


def _start_index(times: np.ndarray, start) -> int:
    if start is None:
        return 0
    if np.issubdtype(times.dtype, np.datetime64):
        try:
            s = np.datetime64(str(start).replace("Z", ""), "ns") if not isinstance(start, np.datetime64) else start
        except ValueError as exc:
            raise InputError(f"cannot read start time {start!r}; give UTC ISO 8601, e.g. 2027-01-01T00:00:00") from exc
    else:
        s = float(start)
    i = int(np.searchsorted(times, s, side="left"))
    if i >= times.size - 1:
        raise InputError(f"start {start} is at or after the end of the time series ({times[-1]}); pick an earlier start")
    if i == 0 and times[0] > s:
        raise InputError(f"start {start} is before the time series begins ({times[0]}); pick a later start")
    return i


def survive(times, sun_fraction, sun_az_deg, sun_el_deg, params: RoverParams | None = None, start=None,
            sun_distance_m=None, terrain_k=None, soc0: float | None = None, t0_k=None) -> SurvivalResult:
    """Simulate a parked rover from ``start`` and judge every dark period of the series.

    The chain and the verdicts of the module docstring: loads per mode, :func:`lupex.rover.thermal.simulate`,
    :func:`lupex.rover.power.step_battery`, then one :class:`DarkPeriod` per run of dark intervals.

    Parameters
    ----------
    times : array_like, (n,)
        Time grid, datetime64 (UTC) or seconds, strictly increasing.
    sun_fraction : array_like, (n,)
        Visible fraction of the solar disk at the spot, 0..1.
    sun_az_deg : array_like, (n,)
        Sun azimuth, deg, clockwise from north.
    sun_el_deg : array_like, (n,)
        Sun elevation, deg (also drives the fallback terrain temperature).
    params : RoverParams, optional
        The rover; ``survival`` sets the lit and dark modes, dark threshold, heading or Sun tracking and the
        required margin (default ``RoverParams()``).
    start : str or np.datetime64 or float, optional
        When the rover parks (UTC ISO 8601, or seconds for a float grid), inside the series; None: ``times[0]``.
    sun_distance_m : float or array_like, (n,), optional
        Distance to the Sun, m; None: 1 au.
    terrain_k : float or array_like, (n,), optional
        Terrain temperature, K; None: :func:`lupex.rover.thermal.terrain_temperature_k`.
    soc0 : float, optional
        State of charge at ``start``; None: ``battery.soc_initial``.
    t0_k : sequence of float, optional
        (electronics, battery) temperatures at ``start``, K; None: each node's heater set point.

    Returns
    -------
    SurvivalResult
        The dark periods (span, hours, energy needed and margin in Wh, minimum SoC and temperatures in K, verdict)
        and, from ``start`` on, the SoC and (n', 2) temperatures per time and the array, load and heater power (W)
        per interval.
    """
    params = params or RoverParams()
    sp = params.survival
    t_all = np.asarray(times)
    f_all = _arr(sun_fraction, "sun_fraction")
    az_all = _arr(sun_az_deg, "sun_az_deg")
    el_all = _arr(sun_el_deg, "sun_el_deg")
    for name, a in (("sun_fraction", f_all), ("sun_az_deg", az_all), ("sun_el_deg", el_all)):
        if a.shape != t_all.shape:
            raise InputError(f"{name} must have one value per time ({t_all.size}), got shape {a.shape}")
    i0 = _start_index(t_all, start)
    sl = slice(i0, None)
    t, f, az, el = t_all[sl], f_all[sl], az_all[sl], el_all[sl]
    dist = None if sun_distance_m is None or np.ndim(sun_distance_m) == 0 else np.asarray(sun_distance_m)[sl]
    dist = sun_distance_m if dist is None else dist
    tk = terrain_k if terrain_k is None or np.ndim(terrain_k) == 0 else np.asarray(terrain_k)[sl]
    dt = interval_seconds(t)
    n = dt.size

    dark_t = f <= sp.dark_threshold
    dark = dark_t[:-1]
    base = np.where(dark, params.loads.of(sp.dark_mode), params.loads.of(sp.lit_mode))
    heading = power.heading_facing_sun_deg(az, params.panels[0]) if sp.track_sun else np.full(t.shape, sp.heading_deg)
    solar = power.panel_power_w(f, az, el, heading, params, sun_distance_m=dist)[:-1]

    tr = thermal.simulate(t, f, base, params, terrain_k=tk, sun_el_deg=el, sun_distance_m=dist, t0_k=t0_k)
    heater = tr.heater_total_w
    load = base + heater
    bt = power.step_battery(t, solar, load, params, soc0=soc0)

    b = params.battery
    floor = b.soc_min * b.capacity_wh
    te, tb = params.thermal.electronics, params.thermal.battery
    periods = []
    for a, z in _runs(dark):
        drawn = float(bt.discharged_wh[a:z].sum() + bt.deficit_wh[a:z].sum()) / b.discharge_efficiency
        deficit = float(bt.deficit_wh[a:z].sum())
        emin = float(bt.energy_wh[a : z + 1].min())
        tmin_e = float(tr.min_temperature_k[a:z, 0].min())
        tmin_b = float(tr.min_temperature_k[a:z, 1].min())
        margin = -deficit if deficit > 0 else emin - floor
        cold = tmin_e < te.survival_min_k or tmin_b < tb.survival_min_k
        if deficit > 0 or cold:
            verdict = "fails"
        elif margin < sp.required_margin * b.capacity_wh:
            verdict = "marginal"
        else:
            verdict = "survives"
        began_before = a == 0 and (i0 == 0 or f_all[i0 - 1] <= sp.dark_threshold)
        complete = not began_before and not (z == n and dark_t[-1])
        periods.append(DarkPeriod(
            start=t[a], end=t[z], duration_h=float(dt[a:z].sum() / 3600.0), energy_needed_wh=drawn,
            heater_energy_wh=float(np.sum(heater[a:z] * dt[a:z]) / 3600.0), min_soc=emin / b.capacity_wh,
            min_electronics_k=tmin_e, min_battery_k=tmin_b, deficit_wh=deficit, margin_wh=float(margin),
            verdict=verdict, complete=bool(complete),
        ))
    return SurvivalResult(tuple(periods), t, bt.soc, tr.temperature_k, solar, load, heater)
