"""The schedule's check: the whole timeline re-simulated with the vehicle models, every constraint asserted.

:func:`_simulate` cuts the timeline's segments at light steps and runs
:func:`lupex.rover.thermal.simulate` (heater power from the thermostats) and
:func:`lupex.rover.power.step_battery` (mode loads + heaters) over them;
:func:`_evaluate` asserts, at every interval, that no load is left unpowered
(SOC never below ``soc_min``), both thermal nodes stay within their survival
temperatures and communication happens only with the Earth in view, and
aggregates the rows into a :class:`Timeline`. Data volume per ``communicate``
interval: :func:`lupex.rover.comms.max_data_rate_bps` x time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lupex.errors import LupexError
from lupex.rover import comms, power, thermal
from lupex.rover import planner as P

__all__ = ["ScheduleError", "Timeline"]


class ScheduleError(LupexError):
    """The timeline cannot be built or breaks a constraint (the message says which, where and when)."""


@dataclass(frozen=True)
class Timeline:
    """Activities (one row per run of the same mode at the same place) and the per-interval trace."""

    activities: pd.DataFrame
    trace: pd.DataFrame
    plans: tuple

    def summary(self) -> dict:
        """Totals of the timeline as a dict: span (UTC), hours per mode, minima of SOC and temperatures (K), data (Gbit)."""
        a = self.activities
        dur = (a["end_utc"] - a["start_utc"]).dt.total_seconds() / 3600.0
        return {
            "start_utc": str(a["start_utc"].iloc[0])[:19], "end_utc": str(a["end_utc"].iloc[-1])[:19],
            "hours_by_mode": {m: float(dur[a["mode"] == m].sum()) for m in sorted(a["mode"].unique())},
            "min_soc": float(self.trace["soc_end"].min()),
            "min_electronics_k": float(self.trace["electronics_min_k"].min()),
            "min_battery_k": float(self.trace["battery_min_k"].min()),
            "data_volume_gbit": float(a["data_volume_bits"].sum() / 1e9),
            "goals_reached": len(self.plans),
        }


_MODE_OF = {"drive": "drive", "wait": "standby", "hibernate": None}


def _resync(prob, rover, params, segs, D):
    """The battery deficit (J) the final re-simulation will see at the end of ``segs`` (``D`` if none yet).

    The greedy rule's own bookkeeping uses steady-state heater powers; the check uses the thermal transient,
    so the two drift apart over long hibernations. Deciding each stop on the re-simulated state keeps the
    rule's promise ("can afford it") true for the check.
    """
    if not segs:
        return D
    sim = _simulate(prob, rover, params, segs)
    b = rover.battery
    return float(max((b.soc_max - sim["bt"].soc[-1]) * b.capacity_wh * 3600.0, 0.0))


def _simulate(prob, rover, params, segs) -> dict:
    """Pieces of ``segs`` cut at light steps, re-simulated with thermal.simulate + step_battery."""
    tps = prob.ticks_per_step
    rows = []  # per piece
    for s in segs:
        a = s.t0
        while a < s.t1:
            k = (prob.k0_tick + a) // tps
            b = min(s.t1, (k + 1) * tps - prob.k0_tick)
            f = prob.sun[k, s.cell_from]
            lit = f > prob.dark_u8
            if s.mode == "drive":
                d = P._direction(prob, s.cell_from, s.cell_to)
                sol = prob.panel_move_w[k, d] * f / 255.0
                base = float(prob.move_load_w[s.cell_from, d])
                mode = "drive"
            else:
                sol = prob.panel_wait_w[k] * f / 255.0
                mode = s.mode
                if mode == "wait":
                    mode = "standby"
                if mode == "hibernate" and lit:
                    mode = "standby"
                base = rover.loads.of(mode)
            rows.append((a, b, s.cell_from, s.cell_to if b == s.t1 else s.cell_from, mode, sol, base, f / 255.0,
                         prob.earth[k, s.cell_from] / 255.0))
            a = b
    arr = list(zip(*rows))
    ticks = np.array(list(arr[0]) + [arr[1][-1]], dtype=np.int64)
    times = prob.tick_time(ticks)
    mode = np.array(arr[4])
    solar = np.array(arr[5])
    base = np.array(arr[6])
    sunf = np.array(arr[7])
    earthf = np.array(arr[8])
    k_idx = (prob.k0_tick + ticks[:-1]) // tps
    el = prob.sun_el_deg[k_idx]
    tr = thermal.simulate(times, np.append(sunf, sunf[-1]), np.append(base, base[-1]), rover, sun_el_deg=np.append(el, el[-1]))
    load = base + tr.heater_total_w
    b = rover.battery
    bt = power.step_battery(times, solar, load, rover, soc0=params.soc_start)
    return dict(arr=arr, ticks=ticks, times=times, mode=mode, solar=solar, base=base, sunf=sunf, earthf=earthf, tr=tr,
                load=load, bt=bt)


def _evaluate(dem, prob, rover, params, segs, plans, k_start) -> Timeline:
    """Re-simulate with thermal.simulate + step_battery, assert every constraint, aggregate rows."""
    sim = _simulate(prob, rover, params, segs)
    arr, ticks, times, mode, solar = sim["arr"], sim["ticks"], sim["times"], sim["mode"], sim["solar"]
    earthf, sunf, tr, load, bt = sim["earthf"], sim["sunf"], sim["tr"], sim["load"], sim["bt"]
    dt = np.diff(ticks) * prob.tick_s
    comm_bad = (mode == "communicate") & (earthf * 255 < prob.earth_u8 - 1e-9)
    te, tb = rover.thermal.electronics, rover.thermal.battery
    cold = (tr.min_temperature_k[:, 0] < te.survival_min_k) | (tr.min_temperature_k[:, 1] < tb.survival_min_k)
    hot = (tr.temperature_k[1:, 0] > te.survival_max_k) | (tr.temperature_k[1:, 1] > tb.survival_max_k)
    for name, bad in (("the battery ran out (load left unpowered below soc_min)", bt.deficit_wh > 1e-6),
                      ("a thermal node fell below its survival temperature", cold),
                      ("a thermal node rose above its survival temperature", hot),
                      ("communication scheduled while the Earth is not visible", comm_bad)):
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ScheduleError(f"the timeline breaks a constraint at {str(times[i])[:19]} ({mode[i]}): {name}; "
                                "a larger battery, a better haven or fewer activities per stop would fix it")
    rate = float(comms.max_data_rate_bps(comms.EARTH_MOON_MEAN_M, rover))
    vol = np.where(mode == "communicate", rate * dt, 0.0)
    cells = np.array(arr[2])
    trace = pd.DataFrame({
        "start_utc": times[:-1], "end_utc": times[1:], "mode": mode, "row": cells // prob.nx + prob.row0,
        "col": cells % prob.nx + prob.col0, "solar_w": solar, "load_w": load, "heater_w": tr.heater_total_w,
        "sun_fraction": sunf, "earth_fraction": earthf, "soc_start": bt.soc[:-1], "soc_end": bt.soc[1:],
        "electronics_min_k": tr.min_temperature_k[:, 0], "battery_min_k": tr.min_temperature_k[:, 1],
        "electronics_end_k": tr.temperature_k[1:, 0], "battery_end_k": tr.temperature_k[1:, 1],
        "energy_wh": load * dt / 3600.0, "data_volume_bits": vol,
    })
    # aggregate runs of the same mode at the same cell (drives: consecutive drive pieces)
    key = (trace["mode"] != trace["mode"].shift()) | ((trace["mode"] != "drive") & ((trace["row"] != trace["row"].shift()) | (trace["col"] != trace["col"].shift())))
    grp = key.cumsum()
    xs = np.asarray(dem["x"].values, float)
    ys = np.asarray(dem["y"].values, float)
    acts = trace.groupby(grp).agg(
        start_utc=("start_utc", "first"), end_utc=("end_utc", "last"), mode=("mode", "first"), row=("row", "first"),
        col=("col", "first"), row_end=("row", "last"), col_end=("col", "last"), energy_wh=("energy_wh", "sum"),
        soc_start=("soc_start", "first"), soc_end=("soc_end", "last"), soc_min=("soc_end", "min"),
        electronics_min_k=("electronics_min_k", "min"), battery_min_k=("battery_min_k", "min"),
        data_volume_bits=("data_volume_bits", "sum"),
    ).reset_index(drop=True)
    acts.insert(4, "x_m", xs[acts["col"]])
    acts.insert(5, "y_m", ys[acts["row"]])
    return Timeline(acts, trace, plans)
