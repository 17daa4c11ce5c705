"""The rover's digital twin: state stepped in simulated time under lupex's own rover models.

Each step of ``dt`` seconds (at most ``TwinParams.max_step_s``) chains the
models the batch tools use, on the rover's current cell and light step:

* array power :func:`lupex.rover.power.panel_power_w` (visible Sun fraction of
  the cell, Sun azimuth/elevation, the rover's heading; parked in standby the
  rover turns its array to the Sun, as :mod:`lupex.rover.survival` does);
* bus load per mode :func:`lupex.rover.power.mode_load_w`, plus while driving
  the traction energy above flat ground :func:`lupex.rover.mobility.energy_per_m_j`
  (as the planner adds it);
* the two thermal nodes :func:`lupex.rover.thermal.simulate` with the
  operators' heater set points, the heater power added to the load;
* the battery :func:`lupex.rover.power.step_battery` (floor soc_min);
* ground speed on the cell's pitch along the heading :func:`lupex.rover.mobility.speed_m_s`
  and the slope limits :func:`lupex.rover.mobility.traversable`;
* the drill :func:`lupex.instruments.drill.drill` on the ground column under
  the rover (rocks stop it), and the neutron spectrometer's expected count
  rate :func:`lupex.instruments.neutron.expected_rates_cps` on survey legs.

Rules (each refusal or abort carries a :class:`lupex.ops.packets.Reason`):
drives and drilling need the Sun on the rover's cell; drives start only with
Earth in view and stop when it sets (operators in the loop, as VIPER drives,
docs/REFERENCES.md#viper); a drive follows the straight line to its goal or
(``TwinParams.route = "planner"``) the planner's least-time route around the
slopes, and is refused when a cell on it
is beyond the slope limits, when a cell is dark at the predicted passage time,
or when the predicted battery would fall below soc_min plus the survival
reserve; at soc_min the rover sheds its loads and hibernates. Hibernation
keeps only the receiver: WAKE and SET_HEATER are still executed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from lupex.errors import ConfigError, InputError
from lupex.instruments import drill as D
from lupex.ops.packets import MODE_CODES, Opcode, Reason, Status, Telecommand
from lupex.ops.world import OpsSite
from lupex.params import ASSUMED, check_positive, param
from lupex.rover import mobility, power, thermal
from lupex.rover import planner as P
from lupex.rover.comms import max_data_rate_bps
from lupex.rover.planner import heater_power_w
from lupex.rover.vehicle import MODES
from lupex.subsurface.profile import Column, two_layer_column

MODES_SET = frozenset(MODES)


@dataclass(frozen=True)
class TwinParams:
    """Operating rules and stepping of the twin."""

    max_step_s: float = param(60.0, "s", "longest physics step; a longer advance is split", "numerical: << thermal time constants (~10 h) and a 20 m cell crossing (~200 s)")
    hk_period_s: float = param(60.0, "s", "simulated time between housekeeping packets", ASSUMED + ": one per minute")
    energy_reserve_frac: float = param(0.1, "fraction of capacity", "a drive or drill must leave this much above soc_min", "as vehicle.survival.required_margin (0.1)")
    max_events: int = param(256, "-", "events kept for the next pass when Earth is out of view (oldest dropped)", ASSUMED)
    drive_requires_earth: bool = param(True, "-", "drives start only with Earth in view and stop when it sets", "VIPER operations (docs/REFERENCES.md#viper)")
    route: str = param("straight", "-", "path of a drive: 'straight' (the line to the goal) or 'planner' (the least-time route on lupex.rover.planner's slope-limited edge graph, light and energy then checked along it)", ASSUMED + ": operators' choice")

    def __post_init__(self):
        check_positive(self, "max_step_s", "hk_period_s")
        if self.route not in ("straight", "planner"):
            raise ConfigError(f"twin route must be 'straight' or 'planner', got {self.route!r}")


def default_ground(x_m: float, y_m: float) -> Column:
    """Ground truth under the rover when no run provides one: 30 cm of dry regolith over 2 wt% WEH, no rocks.

    An assumption of the order LCROSS found in a polar cold trap (5.6 +- 2.9 wt%
    water in the ejecta, docs/REFERENCES.md#colaprete2010) and Lunar Prospector's
    buried hydrogen (docs/REFERENCES.md#lawrence2006) suggest; scenarios put rocks in it.
    """
    return two_layer_column(dry_thickness_m=0.3, weh_top_wt_pct=0.1, weh_bottom_wt_pct=2.0)


@dataclass(frozen=True)
class Event:
    """A telecommand event: time (Unix s), sequence count, opcode, status, reason and a value."""

    t_unix_s: float
    tc_seq: int
    opcode: int
    status: Status
    reason: Reason
    value: float = 0.0


@dataclass
class _Drive:
    seq: int
    op: Opcode
    path: np.ndarray  # (n, 2) points from the start to the goal, one per cell crossing
    i: int = 0  # index of the next point
    survey: bool = False


@dataclass
class _Drill:
    seq: int
    remaining_s: float
    record: D.DrillRecord


@dataclass
class TwinState:
    """The rover's simulated state: time, pose, mode, battery, temperatures, power and counters."""

    t_unix_s: float
    x_m: float
    y_m: float
    heading_deg: float
    mode: str
    battery_wh: float
    temperature_k: np.ndarray  # (2,) electronics, battery
    setpoint_k: np.ndarray  # (2,)
    odometer_m: float = 0.0
    drill_depth_m: float = 0.0
    solar_w: float = 0.0
    load_w: float = 0.0
    heater_w: float = 0.0
    ns_rate_cps: float = 0.0
    tc_received: int = 0
    tc_refused: int = 0
    last_tc_seq: int = 0
    activity: object = None


class Twin:
    """The rover twin on an :class:`OpsSite`; :meth:`step` advances it, :meth:`command` executes a telecommand."""

    def __init__(self, site: OpsSite, params: TwinParams | None = None, *, t0_unix_s: float | None = None,
                 xy=None, soc0: float | None = None, ground=None, rng: np.random.Generator | None = None):
        self.site = site
        self.params = params or TwinParams()
        if ground is None:  # the run's ground truth under the rover, else the assumed column
            gt = getattr(site, "ground_truth", None)
            ground = default_ground if gt is None else gt.column
        self.ground = ground
        self.rng = rng if rng is not None else np.random.default_rng(0)
        r = site.rover
        x, y = xy if xy is not None else site.start_xy
        soc = soc0 if soc0 is not None else site.start_soc if site.start_soc is not None else r.battery.soc_initial
        nodes = (r.thermal.electronics, r.thermal.battery)
        sp = np.array([n.heater_setpoint_k for n in nodes])
        self.state = TwinState(t_unix_s=site.t0_unix_s if t0_unix_s is None else float(t0_unix_s), x_m=float(x), y_m=float(y),
                               heading_deg=0.0, mode="standby", battery_wh=soc * r.battery.capacity_wh,
                               temperature_k=sp.copy(), setpoint_k=sp)
        self.events: list[Event] = []
        self.rc = site.cell(x, y)
        if self.rc is None:
            raise InputError(f"rover start ({x:.0f}, {y:.0f}) m is outside the simulated window; pick a point in it")
        self._cold = False

    # ----------------------------------------------------------------- environment at the rover
    @property
    def soc(self) -> float:
        """Battery state of charge, 0..1."""
        return self.state.battery_wh / self.site.rover.battery.capacity_wh

    def sun(self, rc=None, t=None) -> float:
        """Visible fraction (0..1) of the Sun's disk at cell ``rc`` (default: the rover's) and time ``t``."""
        return self.site.sun(rc or self.rc, self.state.t_unix_s if t is None else t)

    def earth_visible(self, rc=None, t=None) -> bool:
        """Whether enough of the Earth is in view at ``rc`` and ``t`` for the radio link."""
        c = self.site.rover.comms
        f = self.site.earth(rc or self.rc, self.state.t_unix_s if t is None else t)
        return f >= c.earth_threshold if c.earth_threshold > 0 else f > 0

    def lit(self, rc=None, t=None) -> bool:
        """Whether the visible part of the Sun's disk exceeds the rover's dark threshold at ``rc`` and ``t``."""
        return self.sun(rc, t) > self.site.rover.survival.dark_threshold

    def _emit(self, seq, op, status, reason, value=0.0):
        self.events.append(Event(self.state.t_unix_s, int(seq), int(op), status, reason, float(value)))
        del self.events[: max(len(self.events) - self.params.max_events, 0)]
        if status == Status.REFUSED:
            self.state.tc_refused = (self.state.tc_refused + 1) % 65536

    # ----------------------------------------------------------------- commands
    def command(self, tc: Telecommand) -> None:
        """Execute or refuse a decoded telecommand (it has reached the rover); the outcome goes to ``events``."""
        s = self.state
        s.tc_received = (s.tc_received + 1) % 65536
        s.last_tc_seq = tc.seq
        op = tc.opcode
        if op == Opcode.NOOP:
            return self._emit(tc.seq, op, Status.COMPLETED, Reason.OK)
        if op == Opcode.SET_HEATER:
            s.setpoint_k = s.setpoint_k.copy()
            s.setpoint_k[int(tc.args["node"])] = float(tc.args["setpoint_k"])
            return self._emit(tc.seq, op, Status.COMPLETED, Reason.OK, tc.args["setpoint_k"])
        if op == Opcode.WAKE:
            if s.mode == "hibernate":
                s.mode = "standby"
            return self._emit(tc.seq, op, Status.COMPLETED, Reason.OK)
        if s.mode == "hibernate":
            return self._emit(tc.seq, op, Status.REFUSED, Reason.HIBERNATING)
        if op == Opcode.HIBERNATE:
            if s.activity is not None:
                self._emit(s.activity.seq, self._activity_op(), Status.ABORTED, Reason.OK)
                s.activity = None
            s.mode = "hibernate"
            return self._emit(tc.seq, op, Status.COMPLETED, Reason.OK)
        if s.activity is not None:
            return self._emit(tc.seq, op, Status.REFUSED, Reason.BUSY)
        if not self.lit():
            return self._emit(tc.seq, op, Status.REFUSED, Reason.NO_DAYLIGHT)
        if op in (Opcode.DRIVE_TO, Opcode.SURVEY_LEG):
            return self._start_drive(tc)
        if op == Opcode.DRILL:
            return self._start_drill(tc)

    def _activity_op(self) -> int:
        a = self.state.activity
        return int(a.op) if isinstance(a, _Drive) else int(Opcode.DRILL) if isinstance(a, _Drill) else 0

    def _line(self, goal) -> np.ndarray:
        """Points from the rover to ``goal`` every half pixel (so no cell on the line is skipped), goal included."""
        s = self.state
        d = math.hypot(goal[0] - s.x_m, goal[1] - s.y_m)
        n = max(int(math.ceil(d / (0.5 * self.site.pixel_m))), 1)
        f = np.arange(1, n + 1) / n
        return np.column_stack([s.x_m + f * (goal[0] - s.x_m), s.y_m + f * (goal[1] - s.y_m)])

    def _planner_route(self, goal) -> np.ndarray | None:
        """Points from the rover to ``goal`` along the planner's least-time route over its static edge graph.

        The route is that of :func:`lupex.rover.planner.heuristic_ticks` (backward Dijkstra over the slope-limited
        moves), every half pixel, goal included; None when no traversable route joins them.
        """
        site = self.site
        prob = getattr(site, "_route_problem", None)
        if prob is None:  # built once per site (a second or so) and kept on it: the site is read-only
            prob = P.build_problem(site.dem, site.light, site.rover, site.planner)
            object.__setattr__(site, "_route_problem", prob)
        rc0, rc1 = self.rc, site.cell(*goal)
        a = (rc0[0] - prob.row0) * prob.nx + rc0[1] - prob.col0
        b = (rc1[0] - prob.row0) * prob.nx + rc1[1] - prob.col0
        h = P.heuristic_ticks(prob, b, "static")
        if not np.isfinite(h[a]):
            return None
        cells = [a]
        while cells[-1] != b and len(cells) <= prob.tau.shape[0]:
            c = cells[-1]
            r, cc = divmod(c, prob.nx)
            best = None
            for d, (dr, dc) in enumerate(P.DIRS):
                if prob.tau[c, d] > 0:
                    n = (r + dr) * prob.nx + cc + dc
                    cost = prob.tau[c, d] + h[n]
                    if best is None or cost < best[0]:
                        best = (cost, n)
            cells.append(best[1])
        xs, ys = site.dem["x"].values, site.dem["y"].values
        knots = [(self.state.x_m, self.state.y_m)]
        knots += [(float(xs[c % prob.nx + prob.col0]), float(ys[c // prob.nx + prob.row0])) for c in cells[1:-1]]
        knots.append((float(goal[0]), float(goal[1])))
        pts = []
        for p, q in zip(knots[:-1], knots[1:]):
            n = max(int(math.ceil(math.hypot(q[0] - p[0], q[1] - p[1]) / (0.5 * site.pixel_m))), 1)
            f = np.arange(1, n + 1) / n
            pts.append(np.column_stack([p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1])]))
        return np.concatenate(pts)

    def route(self, goal) -> np.ndarray | None:
        """The drive's points to ``goal`` (every half pixel, goal included) under ``params.route``; None: no route."""
        return self._line(goal) if self.params.route == "straight" else self._planner_route(goal)

    def predict_drive(self, goal):
        """(reason, value) of the drive rules along the route to ``goal``; (OK, duration_s) when it passes."""
        s, site, rv = self.state, self.site, self.site.rover
        if site.cell(*goal) is None:
            return Reason.OUT_OF_MAP, 0.0
        if self.params.drive_requires_earth and not self.earth_visible():
            return Reason.NO_EARTH, 0.0
        pts = self.route(goal)
        if pts is None:  # no route within the slope limits
            return Reason.SLOPE_LIMIT, 0.0
        heading = math.degrees(math.atan2(goal[0] - s.x_m, goal[1] - s.y_m)) % 360.0
        prev = np.array([s.x_m, s.y_m])
        t = s.t_unix_s
        times, solar, load = [t], [], []
        for p in pts:
            rc = site.cell(*p)
            if rc is None:
                return Reason.OUT_OF_MAP, 0.0
            if float(math.hypot(p[0] - prev[0], p[1] - prev[1])) > 1e-9:
                heading = math.degrees(math.atan2(p[0] - prev[0], p[1] - prev[1])) % 360.0
            slope, aspect = site.terrain(rc)
            if slope > site.planner.max_slope_deg or not bool(mobility.traversable(slope, aspect, heading, rv)):
                return Reason.SLOPE_LIMIT, float(math.hypot(*(p - np.array([s.x_m, s.y_m]))))
            pitch = float(mobility.attitude_deg(slope, aspect, heading)[0])
            v = float(mobility.speed_m_s(pitch, rv))
            ds = float(math.hypot(*(p - prev)))
            dt = ds / max(v, 1e-9)
            if not self.lit(rc, t):
                return Reason.DARK_BEFORE_ARRIVAL, (t - s.t_unix_s) / 3600.0
            solar.append(self._solar(rc, t, heading))
            load.append(self._drive_load(pitch, v))
            t += dt
            times.append(t)
            prev = p
        if not self.lit(site.cell(*goal), t):
            return Reason.DARK_BEFORE_ARRIVAL, (t - s.t_unix_s) / 3600.0
        heat = np.array([self._steady_heater(l) for l in load])
        bt = power.step_battery(np.array(times), np.array(solar), np.array(load) + heat, rv, soc0=self.soc)
        b = rv.battery
        if bt.total_deficit_wh > 0 or bt.soc.min() < b.soc_min + self.params.energy_reserve_frac:
            return Reason.INSUFFICIENT_ENERGY, float(bt.soc.min())
        return Reason.OK, t - s.t_unix_s

    def _steady_heater(self, load_w: float) -> float:
        return heater_power_w(self.site.rover, float(round(load_w, 0)), True)

    def _drive_load(self, pitch_deg: float, v_m_s: float) -> float:
        rv = self.site.rover
        extra = (float(mobility.energy_per_m_j(pitch_deg, rv)) - float(mobility.energy_per_m_j(0.0, rv))) * v_m_s
        return float(power.mode_load_w(["drive"], rv)[0]) + max(extra, 0.0)

    def _solar(self, rc, t, heading_deg) -> float:
        site = self.site
        k = site.k(t)
        L = site.light
        return float(power.panel_power_w(site.sun(rc, t), L.sun_azimuth_deg[k], L.sun_elevation_deg[k], heading_deg,
                                         site.rover, sun_distance_m=L.sun_distance_m[k]))

    def _start_drive(self, tc: Telecommand):
        goal = (float(tc.args["x_m"]), float(tc.args["y_m"]))
        reason, value = self.predict_drive(goal)
        if reason != Reason.OK:
            return self._emit(tc.seq, tc.opcode, Status.REFUSED, reason, value)
        s = self.state
        s.heading_deg = math.degrees(math.atan2(goal[0] - s.x_m, goal[1] - s.y_m)) % 360.0
        s.activity = _Drive(tc.seq, tc.opcode, self.route(goal), survey=tc.opcode == Opcode.SURVEY_LEG)
        s.mode = "drive"
        self._emit(tc.seq, tc.opcode, Status.ACCEPTED, Reason.OK, value)

    def _start_drill(self, tc: Telecommand):
        s, rv = self.state, self.site.rover
        depth = min(float(tc.args["depth_m"]), self.site.drill.max_depth_m)
        column = self.ground(s.x_m, s.y_m)
        _, rec = D.drill(column, 0.0, depth, rng=self.rng, params=self.site.drill)
        dur = rec.drill_time_s + rec.retract_time_s
        need_wh = (float(power.mode_load_w(["drill"], rv)[0]) * dur + rec.energy_j) / 3600.0
        floor = (rv.battery.soc_min + self.params.energy_reserve_frac) * rv.battery.capacity_wh
        if s.battery_wh - need_wh / rv.battery.discharge_efficiency < floor:
            return self._emit(tc.seq, tc.opcode, Status.REFUSED, Reason.INSUFFICIENT_ENERGY, self.soc)
        s.activity = _Drill(tc.seq, dur, rec)
        s.mode = "drill"
        self._emit(tc.seq, tc.opcode, Status.ACCEPTED, Reason.OK, dur)

    # ----------------------------------------------------------------- stepping
    def advance(self, dt_s: float) -> None:
        """Advance the twin by ``dt_s`` simulated seconds (split into steps of at most ``max_step_s``)."""
        left = float(dt_s)
        while left > 1e-9:
            h = min(left, self.params.max_step_s)
            self._step(h)
            left -= h

    def _step(self, dt: float) -> None:
        s, site, rv = self.state, self.site, self.site.rover
        t = s.t_unix_s
        a = s.activity
        if isinstance(a, _Drive):
            if not self.lit():
                self._stop_drive(Reason.NO_DAYLIGHT)
            elif self.params.drive_requires_earth and not self.earth_visible():
                self._stop_drive(Reason.LOS_ABORT)
        a = s.activity
        moved, pitch, v = 0.0, 0.0, 0.0
        if isinstance(a, _Drive):
            slope, aspect = site.terrain(self.rc)
            pitch = float(mobility.attitude_deg(slope, aspect, s.heading_deg)[0])
            v = float(mobility.speed_m_s(pitch, rv))
            moved = self._move(a, v * dt)
        if s.mode == "standby" and rv.survival.track_sun:
            s.heading_deg = float(power.heading_facing_sun_deg(site.light.sun_azimuth_deg[site.k(t)], rv.panels[0]))
        mode = s.mode
        if mode == "standby" and self.earth_visible():
            mode = "communicate"
        load = float(power.mode_load_w([mode], rv)[0])
        if isinstance(a, _Drive):
            load = self._drive_load(pitch, v)
        sun = self.sun()
        solar = self._solar(self.rc, t, s.heading_deg)
        k = site.k(t)
        rvt = self._thermal_rover()
        tr = thermal.simulate(np.array([0.0, dt]), sun, load, rvt, sun_el_deg=float(site.light.sun_elevation_deg[k]),
                              sun_distance_m=float(site.light.sun_distance_m[k]), t0_k=s.temperature_k)
        heater = float(tr.heater_total_w[0])
        b = rv.battery
        soc = min(max(self.soc, b.soc_min), b.soc_max)
        bt = power.step_battery(np.array([0.0, dt]), solar, load + heater, rv, soc0=soc)
        s.temperature_k = tr.temperature_k[-1].copy()
        s.battery_wh = float(bt.energy_wh[-1])
        s.solar_w, s.load_w, s.heater_w = solar, load + heater, heater
        s.odometer_m += moved
        s.t_unix_s = t + dt
        if isinstance(s.activity, _Drill):
            s.activity.remaining_s -= dt
            if s.activity.remaining_s <= 1e-9:
                self._finish_drill()
        if bt.total_deficit_wh > 0 and s.mode != "hibernate":
            if s.activity is not None:
                self._emit(s.activity.seq, self._activity_op(), Status.ABORTED, Reason.BATTERY_FLOOR)
                s.activity = None
            s.mode = "hibernate"
            self._emit(0, 0, Status.COMPLETED, Reason.BATTERY_FLOOR, self.soc)
        cold = bool(np.any(tr.min_temperature_k[0] < [rv.thermal.electronics.survival_min_k, rv.thermal.battery.survival_min_k]))
        if cold and not self._cold:
            self._emit(0, 0, Status.COMPLETED, Reason.THERMAL_LIMIT, float(tr.min_temperature_k[0].min()))
        self._cold = cold

    def _thermal_rover(self):
        """The rover's parameters with the operators' heater set points (rebuilt only when they change)."""
        s, rv = self.state, self.site.rover
        key = (float(s.setpoint_k[0]), float(s.setpoint_k[1]))
        if getattr(self, "_rvt_key", None) != key:
            th = replace(rv.thermal, electronics=replace(rv.thermal.electronics, heater_setpoint_k=key[0]),
                         battery=replace(rv.thermal.battery, heater_setpoint_k=key[1]))
            self._rvt, self._rvt_key = replace(rv, thermal=th), key
        return self._rvt

    def _move(self, a: _Drive, dist: float) -> float:
        s = self.state
        moved = 0.0
        while a.i < len(a.path) and dist > 1e-9:
            p = a.path[a.i]
            d = math.hypot(p[0] - s.x_m, p[1] - s.y_m)
            if d > 1e-9:  # a route bends: face the next point
                s.heading_deg = math.degrees(math.atan2(p[0] - s.x_m, p[1] - s.y_m)) % 360.0
            if d <= dist:
                s.x_m, s.y_m = float(p[0]), float(p[1])
                dist -= d
                moved += d
                a.i += 1
            else:
                f = dist / d
                s.x_m += f * (p[0] - s.x_m)
                s.y_m += f * (p[1] - s.y_m)
                moved += dist
                dist = 0.0
            self.rc = self.site.cell(s.x_m, s.y_m)
        if a.survey:
            from lupex.instruments import neutron  # noqa: PLC0415  slow to load; surveys only

            s.ns_rate_cps = float(neutron.expected_rates_cps(self.ground(s.x_m, s.y_m))[0])
        if a.i >= len(a.path):
            s.activity = None
            s.mode = "standby"
            s.ns_rate_cps = 0.0
            self._emit(a.seq, a.op, Status.COMPLETED, Reason.OK, 0.0)
        return moved

    def _stop_drive(self, reason: Reason) -> None:
        s = self.state
        a = s.activity
        left = math.hypot(a.path[-1][0] - s.x_m, a.path[-1][1] - s.y_m)
        s.activity = None
        s.mode = "standby"
        s.ns_rate_cps = 0.0
        self._emit(a.seq, a.op, Status.ABORTED, reason, left)

    def _finish_drill(self) -> None:
        s = self.state
        a = s.activity
        s.activity = None
        s.mode = "standby"
        s.drill_depth_m = max(s.drill_depth_m, a.record.reached_m)
        if a.record.stopped_by_rock:
            self._emit(a.seq, Opcode.DRILL, Status.ABORTED, Reason.DRILL_STALLED, a.record.reached_m)
        else:
            self._emit(a.seq, Opcode.DRILL, Status.COMPLETED, Reason.OK, a.record.reached_m)

    # ----------------------------------------------------------------- saved state
    STATE_FORMAT = "lupex-ops-twin/1"

    def snapshot(self) -> dict:
        """The twin's state as JSON-able numbers (what :meth:`restore` reads); a running activity is named only."""
        s = self.state
        return {"format": self.STATE_FORMAT, "site": self.site.name, "t_unix_s": s.t_unix_s, "x_m": s.x_m,
                "y_m": s.y_m, "heading_deg": s.heading_deg, "mode": s.mode, "battery_wh": s.battery_wh,
                "temperature_k": [float(v) for v in s.temperature_k], "setpoint_k": [float(v) for v in s.setpoint_k],
                "odometer_m": s.odometer_m, "drill_depth_m": s.drill_depth_m, "tc_received": s.tc_received,
                "tc_refused": s.tc_refused, "last_tc_seq": s.last_tc_seq,
                "solar_w": s.solar_w, "load_w": s.load_w, "heater_w": s.heater_w,
                "activity": None if s.activity is None else {"opcode": self._activity_op(), "seq": s.activity.seq}}

    def restore(self, snap: dict) -> None:
        """Continue from a :meth:`snapshot` (InputError if it is not one, or lies outside this site's window/span).

        A drive or drill that was running is not resumed: it is reported ABORTED with reason RESTARTED and the
        rover waits in standby, as a rover that rebooted would.
        """
        try:
            if snap.get("format") != self.STATE_FORMAT:
                raise KeyError("format")
            t = float(snap["t_unix_s"])
            xy = (float(snap["x_m"]), float(snap["y_m"]))
            mode = str(snap["mode"])
            temps = np.array(snap["temperature_k"], float)
            sp = np.array(snap["setpoint_k"], float)
            vals = {k: float(snap[k]) for k in ("heading_deg", "battery_wh", "odometer_m", "drill_depth_m")}
            counters = {k: int(snap[k]) % 65536 for k in ("tc_received", "tc_refused", "last_tc_seq")}
            last = {k: float(snap.get(k, 0.0)) for k in ("solar_w", "load_w", "heater_w")}  # the last step's flows
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"the saved twin state is not one lupex ops wrote ({exc}); delete it or give another --state") from None
        rc = self.site.cell(*xy)
        if rc is None or not (self.site.t0_unix_s <= t < self.site.t_end_unix_s) or mode not in MODES_SET \
                or temps.shape != (2,) or sp.shape != (2,) or not np.all(np.isfinite(np.r_[temps, sp, list(vals.values())])):
            raise InputError("the saved twin state does not fit this site and span (position, time or values); "
                             "start it with the same --run/--site and a --start/--days that cover it, or delete it")
        cap = self.site.rover.battery.capacity_wh
        s = self.state
        s.t_unix_s, (s.x_m, s.y_m), s.mode = t, xy, mode
        s.temperature_k, s.setpoint_k = temps, sp
        s.heading_deg, s.odometer_m, s.drill_depth_m = vals["heading_deg"], vals["odometer_m"], vals["drill_depth_m"]
        s.battery_wh = float(np.clip(vals["battery_wh"], 0.0, cap))
        s.tc_received, s.tc_refused, s.last_tc_seq = counters["tc_received"], counters["tc_refused"], counters["last_tc_seq"]
        s.solar_w, s.load_w, s.heater_w = (max(v, 0.0) if np.isfinite(v) else 0.0 for v in last.values())
        s.ns_rate_cps = 0.0
        s.activity = None
        self.rc = rc
        act = snap.get("activity")
        if isinstance(act, dict):
            if s.mode in ("drive", "drill"):
                s.mode = "standby"
            self._emit(int(act.get("seq", 0)), int(act.get("opcode", 0)), Status.ABORTED, Reason.RESTARTED)

    # ----------------------------------------------------------------- telemetry values
    def housekeeping(self, budget_rate_bps: float | None = None) -> dict:
        """Values of the HK packet (see :func:`lupex.ops.packets.hk_fields`).

        ``budget_rate_bps``: the link budget's rate at the current range if the caller has it.
        """
        s, site = self.state, self.site
        k = site.k(s.t_unix_s)
        if budget_rate_bps is None:
            budget_rate_bps = float(max_data_rate_bps(site.earth_range_m[k], site.rover))
        rate = budget_rate_bps if self.earth_visible() else 0.0
        return {
            "utc_unix_s": s.t_unix_s, "x_m": s.x_m, "y_m": s.y_m, "heading_deg": s.heading_deg % 360.0,
            "mode": MODE_CODES[s.mode], "activity": self._activity_op(), "soc": self.soc, "battery_wh": s.battery_wh,
            "solar_w": s.solar_w, "load_w": s.load_w, "heater_w": s.heater_w,
            "electronics_k": s.temperature_k[0], "battery_k": s.temperature_k[1],
            "electronics_setpoint_k": s.setpoint_k[0], "battery_setpoint_k": s.setpoint_k[1],
            "sun_fraction": self.sun(), "earth_fraction": site.earth(self.rc, s.t_unix_s), "link_rate_bps": rate,
            "light_time_s": site.light_time_s(s.t_unix_s), "slope_deg": site.terrain(self.rc)[0],
            "next_dark_h": site.next_dark_h(self.rc, s.t_unix_s), "odometer_m": s.odometer_m,
            "drill_depth_m": s.drill_depth_m, "ns_rate_cps": s.ns_rate_cps,
            "tc_received": s.tc_received, "tc_refused": s.tc_refused, "last_tc_seq": s.last_tc_seq,
        }
