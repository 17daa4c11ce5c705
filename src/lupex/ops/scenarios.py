"""Rehearsal scenarios that end by themselves, each played through the real UDP chain on the loopback.

A scenario finds, on the twin's own site and span, a moment and place where
its situation happens (searching the per-cell light cube, then checking each
candidate with the twin's own rules), starts the twin there, and plays the
operators' part from a :class:`lupex.ops.link.Ground`: it sends telecommands
as UDP packets, steps the simulated clock (deterministically, no sleeping)
and reads the telemetry that comes back. It passes when the telemetry shows
the expected outcome.

* ``comms-loss-drive``: the comms window closes during a drive: the rover
  drives into a cell where the Earth is below the horizon, stops (LOS_ABORT),
  and the ground learns it only when the Earth is back in view (events are
  stored on board and sent at the next pass).
* ``haven-unreachable``: darkness is coming; the operators command a drive to
  a safe haven, the twin refuses it (DARK_BEFORE_ARRIVAL: a cell on the way is
  dark when the rover would get there), and the operators hibernate instead.
* ``drill-rock``: a buried rock under the rover stops the drill above the
  commanded depth (DRILL_STALLED, the depth reached in the event).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from lupex.errors import LupexError
from lupex.ops import packets as K
from lupex.ops.link import Ground, Session
from lupex.ops.twin import Twin, default_ground
from lupex.ops.world import OpsSite
from lupex.subsurface.profile import Rock

SCENARIOS = ("comms-loss-drive", "haven-unreachable", "drill-rock")


class ScenarioError(LupexError):
    """The scenario's situation does not occur on this site and span, or the name is unknown."""


@dataclass
class ScenarioResult:
    """Outcome of a scenario: passed, its log lines, events and HK, and the simulated time it took (s)."""

    name: str
    passed: bool
    lines: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    hk: list[dict] = field(default_factory=list)
    sim_s: float = 0.0


def _lit(site: OpsSite, k: int, rc) -> bool:
    return site.light.sun[k, rc[0] - site.light.row0, rc[1] - site.light.col0] > site.rover.survival.dark_threshold * 255


def _earth(site: OpsSite, k: int, rc) -> bool:
    thr = site.rover.comms.earth_threshold
    v = site.light.earth[k, rc[0] - site.light.row0, rc[1] - site.light.col0] / 255.0
    return v >= thr if thr > 0 else v > 0


LEAD_S = 900.0
"""Scenarios with a drive send it this long (s) before the light step in which things change."""


def _line_cells(site: OpsSite, a, b):
    n = max(int(math.ceil(math.hypot(b[0] - a[0], b[1] - a[1]) / (0.5 * site.pixel_m))), 1)
    out = []
    for f in np.arange(n + 1) / n:
        rc = site.cell(a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
        if rc is None:
            return None
        if not out or out[-1] != rc:
            out.append(rc)
    return out


def _goals(xy, dists=(120.0, 240.0, 400.0), n_dir=16):
    for d in dists:
        for i in range(n_dir):
            a = 2 * math.pi * i / n_dir
            yield (xy[0] + d * math.sin(a), xy[1] + d * math.cos(a))


def _t(site: OpsSite, k: int) -> float:
    return site.t0_unix_s + k * site.light.step_s


def _play(site, twin, script, max_sim_s, done) -> tuple[Ground, Session, float]:
    """Run ``script(ground, session)`` then step until ``done(ground)`` or ``max_sim_s``; returns the ground."""
    g = Ground(0, rover=site.rover)
    s = Session(twin, ground_port=g.port)
    g.twin = (g.host, s.tc_port)
    g.clock = lambda: s.t
    t0 = s.t
    try:
        script(g, s)
        while s.t - t0 < max_sim_s and not done(g):
            s.advance(min(600.0, max_sim_s - (s.t - t0)))
            g.collect(0.0)
        g.collect(0.01)
    finally:
        s.close()
        g.close()
    return g, s, s.t - t0


def _send(g: Ground, s: Session, name: str, **args) -> int:
    q = g.send(name, **args)
    s.advance(0.0, wait_s=0.5)  # read it off the socket now; it reaches the rover one light time later
    return q


# ------------------------------------------------------------------ comms window closes during a drive

def find_comms_loss(site: OpsSite, max_candidates: int = 200, max_wait_steps: int = 24):
    """(k, start_xy, goal_xy) where a drive started with Earth in view runs into a cell without it."""
    nt = site.light.times.size
    starts = [site.start_xy] + [(float(x), float(y)) for x, y in zip(site.havens["x_m"], site.havens["y_m"])]
    tried = 0
    lines = {xy: [(goal, _line_cells(site, xy, goal)) for goal in _goals(xy)] for xy in starts}  # time-independent
    for k in range(0, nt - 3):
        for xy in starts:
            rc0 = site.cell(*xy)
            if rc0 is None or not (_lit(site, k, rc0) and _earth(site, k, rc0)):
                continue
            for goal, cells in lines[xy]:
                if cells is None or len(cells) < 3:
                    continue
                if not all(_lit(site, kk, c) for c in cells for kk in (k, k + 1)):
                    continue
                lost = [c for c in cells[1:] if not (_earth(site, k, c) and _earth(site, k + 1, c))]
                if not lost or not any(_earth(site, kk, lost[0]) for kk in range(k + 2, min(k + max_wait_steps, nt))):
                    continue  # no loss on the way, or no Earth again soon where it would stop
                tried += 1
                tw = Twin(site, t0_unix_s=_t(site, k + 1) - LEAD_S, xy=xy)
                tw.command(K.Telecommand(1, K.Opcode.DRIVE_TO, {"x_m": goal[0], "y_m": goal[1]}))
                if tw.state.activity is None:
                    continue
                for _ in range(120):
                    tw.advance(60.0)
                    if tw.state.activity is None:
                        break
                if any(e.reason == K.Reason.LOS_ABORT for e in tw.events):
                    ks = site.k(tw.state.t_unix_s)
                    back = [kk for kk in range(ks, min(ks + max_wait_steps, nt)) if _earth(site, kk, tw.rc)]
                    if back:  # the Earth returns soon where it stopped: the ground hears of it in this rehearsal
                        return k, xy, goal
                if tried >= max_candidates:
                    raise ScenarioError("no drive on this site and span runs out of Earth view within "
                                        f"{max_candidates} candidates; try another --start or a longer --days")
    raise ScenarioError("no drive on this site and span runs out of Earth view; try another --start or a longer --days")


def comms_loss_drive(site: OpsSite, max_wait_s: float = 5 * 86400.0) -> ScenarioResult:
    """The ``comms-loss-drive`` scenario, waiting at most ``max_wait_s`` simulated seconds for the Earth."""
    k, xy, goal = find_comms_loss(site)
    t_cmd = _t(site, k + 1) - LEAD_S
    twin = Twin(site, t0_unix_s=t_cmd, xy=xy)
    out = {}

    def script(g, s):
        s.advance(1.0)
        out["q"] = _send(g, s, "DRIVE_TO", x_m=goal[0], y_m=goal[1])

    def done(g):
        return any(e["status"] == K.Status.ABORTED for e in g.events_for(out.get("q", -1)))

    g, s, sim = _play(site, twin, script, max_wait_s, done)
    ev = g.events_for(out["q"])
    statuses = [(K.Status(e["status"]).name, K.Reason(e["reason"]).name) for e in ev]
    passed = ("ACCEPTED", "OK") in statuses and ("ABORTED", "LOS_ABORT") in statuses
    lines = [f"drive from ({xy[0]:.0f}, {xy[1]:.0f}) to ({goal[0]:.0f}, {goal[1]:.0f}) m at "
             f"{str(np.datetime64(int(t_cmd), 's'))} UTC",
             f"telemetry for TC {out['q']}: {statuses}"]
    ab = [e for e in ev if e["status"] == K.Status.ABORTED]
    if ab:
        lines.append(f"stopped {(ab[0]['utc_unix_s'] - t_cmd) / 60:.0f} min after the command with {ab[0]['value']:.0f} m "
                     f"left; the ground heard it {(ab[0]['rx_unix_s'] - t_cmd) / 3600:.1f} h after the command")
    return ScenarioResult("comms-loss-drive", passed, lines, g.events, g.hk, sim)


# ------------------------------------------------------------------ a haven is unreachable in time

def find_unreachable_haven(site: OpsSite, radius_m: float = 600.0, max_candidates: int = 60):
    """(k, start_xy, haven_xy): darkness on the way to a haven before the rover can get there."""
    if not len(site.havens):
        raise ScenarioError("this site window has no safe haven; widen --radius-m or pick another site")
    nt = site.light.times.size
    tried = 0
    hv = [(float(x), float(y)) for x, y in zip(site.havens["x_m"], site.havens["y_m"])]
    for k in range(0, nt - 3):
        for h in hv:
            for xy in _goals(h, dists=(200.0, 400.0, radius_m), n_dir=8):
                rc0 = site.cell(*xy)
                cells = _line_cells(site, xy, h)
                if rc0 is None or cells is None or not (_lit(site, k, rc0) and _earth(site, k, rc0)):
                    continue
                if not any(not _lit(site, k + 1, c) for c in cells[1:]):
                    continue
                tried += 1
                tw = Twin(site, t0_unix_s=_t(site, k + 1) - 900.0, xy=xy)
                if not (tw.lit() and tw.earth_visible()):
                    continue
                reason, _ = tw.predict_drive(h)
                if reason == K.Reason.DARK_BEFORE_ARRIVAL:
                    return k, xy, h
                if tried >= max_candidates:
                    raise ScenarioError(f"no haven on this site and span becomes unreachable within {max_candidates} "
                                        "candidates; try another --start or a longer --days")
    raise ScenarioError("no haven on this site and span becomes unreachable; try another --start or a longer --days")


def haven_unreachable(site: OpsSite) -> ScenarioResult:
    """The ``haven-unreachable`` scenario."""
    k, xy, h = find_unreachable_haven(site)
    twin = Twin(site, t0_unix_s=_t(site, k + 1) - 900.0, xy=xy)
    out = {}

    def script(g, s):
        s.advance(1.0)
        out["drive"] = _send(g, s, "DRIVE_TO", x_m=h[0], y_m=h[1])
        s.advance(10.0)
        out["hib"] = _send(g, s, "HIBERNATE")
        s.advance(10.0)

    def done(g):
        return bool(g.events_for(out["hib"]))

    g, s, sim = _play(site, twin, script, 600.0, done)
    d = [(K.Status(e["status"]).name, K.Reason(e["reason"]).name) for e in g.events_for(out["drive"])]
    hb = [(K.Status(e["status"]).name, K.Reason(e["reason"]).name) for e in g.events_for(out["hib"])]
    passed = d == [("REFUSED", "DARK_BEFORE_ARRIVAL")] and hb == [("COMPLETED", "OK")] and twin.state.mode == "hibernate"
    lines = [f"rover at ({xy[0]:.0f}, {xy[1]:.0f}) m, haven at ({h[0]:.0f}, {h[1]:.0f}) m, "
             f"{str(np.datetime64(int(_t(site, k + 1) - 900), 's'))} UTC",
             f"drive to the haven: {d}; hibernate: {hb}; mode now {twin.state.mode}"]
    return ScenarioResult("haven-unreachable", passed, lines, g.events, g.hk, sim)


# ------------------------------------------------------------------ the drill stalls on a rock

ROCK = Rock(depth_m=0.45, radius_m=0.10)
"""The buried rock of ``drill-rock``: centre 0.45 m deep, 0.10 m radius, on the hole's axis (contact at 0.35 m)."""


def find_drill_time(site: OpsSite, xy) -> int:
    """First light step at which ``xy`` has Sun and Earth for two steps; ScenarioError if none."""
    rc = site.cell(*xy)
    for k in range(site.light.times.size - 2):
        if all(_lit(site, kk, rc) and _earth(site, kk, rc) for kk in (k, k + 1)):
            return k
    raise ScenarioError("the rover's spot never has Sun and Earth together for two hours in this span; "
                        "try a longer --days")


def drill_rock(site: OpsSite, depth_m: float = 1.0) -> ScenarioResult:
    """The ``drill-rock`` scenario, drilling to ``depth_m`` (m) above a buried rock."""
    xy = site.start_xy
    k = find_drill_time(site, xy)

    def ground(x, y):
        c = default_ground(x, y)

        return replace(c, rocks=(ROCK,))

    twin = Twin(site, t0_unix_s=_t(site, k), xy=xy, ground=ground)
    out = {}

    def script(g, s):
        s.advance(1.0)
        out["q"] = _send(g, s, "DRILL", depth_m=depth_m)

    def done(g):
        return any(e["status"] in (K.Status.COMPLETED, K.Status.ABORTED, K.Status.REFUSED) for e in g.events_for(out["q"]))

    g, s, sim = _play(site, twin, script, 3 * 3600.0, done)
    ev = g.events_for(out["q"])
    st = [(K.Status(e["status"]).name, K.Reason(e["reason"]).name, round(e["value"], 3)) for e in ev]
    end = [e for e in ev if e["status"] == K.Status.ABORTED and e["reason"] == K.Reason.DRILL_STALLED]
    passed = bool(end) and end[0]["value"] < depth_m
    lines = [f"drill to {depth_m:g} m at ({xy[0]:.0f}, {xy[1]:.0f}) m over a rock of radius {ROCK.radius_m} m "
             f"centred {ROCK.depth_m} m deep", f"telemetry for TC {out['q']}: {st}"]
    return ScenarioResult("drill-rock", passed, lines, g.events, g.hk, sim)


RUNNERS = {"comms-loss-drive": comms_loss_drive, "haven-unreachable": haven_unreachable, "drill-rock": drill_rock}


def run_scenario(name: str, site: OpsSite) -> ScenarioResult:
    """The scenario ``name`` played on ``site``; ScenarioError when the name is unknown."""
    try:
        fn = RUNNERS[name]
    except KeyError:
        raise ScenarioError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}") from None
    return fn(site)
