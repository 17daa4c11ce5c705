"""The twin behind its UDP link: light time, pass-only telemetry, command rules, hostile datagrams, the clock.

Every check compares with something the twin did not compute: SPICE's Earth range directly, the light cube
read by hand, straight-line geometry, the commanded speed as an upper bound, published light-time bounds."""

import functools
import math
import time

import numpy as np
import pytest
import spiceypy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lupex import ephemeris
from lupex.errors import ConfigError
from lupex.ops import packets as K
from lupex.ops.link import Ground, Session, check_speed
from lupex.ops.twin import Twin
from lupex.ops.world import fresh_site

C = 299_792_458.0


@functools.lru_cache(maxsize=1)
def small_site():
    """The synthetic 3 km site, 5 days hourly, the whole site simulated: built once for every ops test module."""
    return fresh_site("synthetic", days=5, size_m=3000, radius_m=1500)


@pytest.fixture(scope="module")
def site():
    return small_site()


def _pair(twin):
    g = Ground(0, rover=twin.site.rover)
    s = Session(twin, ground_port=g.port)
    g.twin = (g.host, s.tc_port)
    g.clock = lambda: s.t
    return g, s


def _earth_ok(site, k, rc):
    return site.light.earth[k, rc[0] - site.light.row0, rc[1] - site.light.col0] / 255.0 >= site.rover.comms.earth_threshold


def _sun_ok(site, k, rc):
    return site.light.sun[k, rc[0] - site.light.row0, rc[1] - site.light.col0] > 0


def _step_with(site, rc, earth: bool, sun: bool = True, hours: int = 2) -> int:
    """First light step where the cell's Earth/Sun state holds for ``hours`` steps, read off the cube by hand."""
    for k in range(site.light.times.size - hours):
        if all(_earth_ok(site, kk, rc) == earth and _sun_ok(site, kk, rc) == sun for kk in range(k, k + hours)):
            return k
    pytest.skip("no such light step in this span")


def _t(site, k):
    return site.t0_unix_s + k * site.light.step_s


def _drivable_goal(site, tw, k, distances_m):
    """The first straight drive from the start (in the order of ``distances_m``, every 22.5 deg) whose
    line keeps the Earth in view over light steps k..k+2 and that the twin accepts; skips the test if none."""
    x0, y0 = site.start_xy
    for d in distances_m:
        for a in np.radians(np.arange(0, 360, 22.5)):
            cand = (x0 + d * math.sin(a), y0 + d * math.cos(a))
            cells = [site.cell(x0 + f * (cand[0] - x0), y0 + f * (cand[1] - y0)) for f in np.linspace(0, 1, 41)]
            in_view = all(c is not None and _earth_ok(site, kk, c) for c in cells for kk in (k, k + 1, k + 2))
            if in_view and tw.predict_drive(cand)[0] == K.Reason.OK:
                return cand
    pytest.skip("no drivable straight line from the start at this time")


def _wait_for(g, s, seq, status=None, max_s=7200.0, dt=30.0):
    t0 = s.t
    while s.t - t0 < max_s:
        s.advance(dt)
        g.collect(0.0)
        ev = [e for e in g.events_for(seq) if status is None or e["status"] == status]
        if ev:
            return ev
    return []


def test_light_time_is_spice_range_over_c_and_inside_published_bounds(site):
    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True)
    tw = Twin(site, t0_unix_s=_t(site, k))
    g, s = _pair(tw)
    with g, s:
        s.advance(120.0)
        g.collect(0.2)
    assert g.hk, "telemetry must flow while the Earth is in view"
    hk = g.hk[0]
    et = ephemeris.utc_to_et(np.array([np.datetime64(int(hk["utc_unix_s"]), "s")]))[0]
    ephemeris.load_kernels()
    pos, _ = spiceypy.spkpos("EARTH", et, "J2000", "NONE", "MOON")
    assert hk["light_time_s"] == pytest.approx(np.linalg.norm(pos) * 1000.0 / C, abs=2e-3)
    # perigee 356,400 km and apogee 406,700 km (NASA Moon fact sheet) over c
    assert 1.18 < hk["light_time_s"] < 1.36


def test_command_round_trip_takes_two_light_times(site):
    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True)
    tw = Twin(site, t0_unix_s=_t(site, k))
    g, s = _pair(tw)
    with g, s:
        s.advance(1.0)
        t_send = s.t
        q = g.send("NOOP")
        s.advance(0.0, wait_s=0.5)
        ev = _wait_for(g, s, q, max_s=10.0, dt=0.02)
    lt = site.light_time_s(t_send)
    assert ev and ev[0]["status"] == K.Status.COMPLETED
    assert ev[0]["utc_unix_s"] - t_send == pytest.approx(lt, abs=1e-6)  # executed on arrival at the Moon
    assert ev[0]["rx_unix_s"] - t_send == pytest.approx(2 * lt, abs=0.03)  # and heard back one light time later


def test_no_telemetry_and_no_commanding_outside_a_pass(site):
    rc = site.cell(*site.start_xy)
    k = next((kk for kk in range(site.light.times.size - 2) if not _earth_ok(site, kk, rc) and not _earth_ok(site, kk + 1, rc)), None)
    if k is None:  # the start always sees the Earth: use a cell that does not
        ny, nx = site.light.sun.shape[1:]
        for k in range(site.light.times.size - 2):
            m = (site.light.earth[k] < site.rover.comms.earth_threshold * 255) & (site.light.earth[k + 1] < site.rover.comms.earth_threshold * 255)
            if m.any():
                i, j = np.argwhere(m)[0]
                rc = (i + site.light.row0, j + site.light.col0)
                break
    xy = (float(site.dem["x"].values[rc[1]]), float(site.dem["y"].values[rc[0]]))
    tw = Twin(site, t0_unix_s=_t(site, k), xy=xy)
    g, s = _pair(tw)
    with g, s:
        g.send("NOOP")
        s.advance(3000.0, wait_s=0.3)
        g.collect(0.1)
    assert g.hk == [] and g.events == []
    assert s.stats.tc_lost == 1 and s.stats.hk_dropped >= 49


def test_a_drive_ends_at_its_goal_no_faster_than_commanded(site):
    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True, hours=3)
    tw = Twin(site, t0_unix_s=_t(site, k))
    x0, y0 = site.start_xy
    goal = _drivable_goal(site, tw, k, (100.0, 60.0, 40.0))
    g, s = _pair(tw)
    with g, s:
        s.advance(1.0)
        t_send = s.t
        q = g.send("DRIVE_TO", x_m=goal[0], y_m=goal[1])
        s.advance(0.0, wait_s=0.5)
        ev = _wait_for(g, s, q, status=K.Status.COMPLETED, max_s=4 * 3600.0, dt=10.0)
    assert ev, "the drive must complete"
    dist = math.hypot(goal[0] - x0, goal[1] - y0)
    assert (tw.state.x_m, tw.state.y_m) == pytest.approx(goal, abs=1e-6)
    assert tw.state.odometer_m == pytest.approx(dist, rel=1e-9)
    took = ev[0]["utc_unix_s"] - t_send - site.light_time_s(t_send)
    assert took >= dist / site.rover.mobility.speed_cmd_m_s - 60.0  # never faster than commanded (one step slack)
    socs = [h["soc"] for h in g.hk]
    assert min(socs) >= site.rover.battery.soc_min - 1e-6 and max(socs) <= 1.0 + 1e-6


def test_refusals_name_the_rule(site):
    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True)
    tw = Twin(site, t0_unix_s=_t(site, k))
    x0, y0 = site.start_xy
    g, s = _pair(tw)
    with g, s:
        s.advance(1.0)
        out = g.send("DRIVE_TO", x_m=x0 + 1e5, y_m=y0)
        hib = g.send("HIBERNATE")
        drv = g.send("DRIVE_TO", x_m=x0 + 20, y_m=y0)  # refused while hibernating, heard after the wake
        s.advance(5.0, wait_s=0.3)
        s.advance(600.0)
        g.collect(0.1)
        n_hk_asleep = len(g.hk)
        wk = g.send("WAKE")
        heat = g.send("SET_HEATER", node=1, setpoint_k=270.0)
        s.advance(0.0, wait_s=0.3)
        s.advance(180.0)
        g.collect(0.2)
    def one(q):
        ev = g.events_for(q)
        assert len(ev) == 1, ev
        return K.Status(ev[0]["status"]), K.Reason(ev[0]["reason"])
    assert one(out) == (K.Status.REFUSED, K.Reason.OUT_OF_MAP)
    assert one(hib) == (K.Status.COMPLETED, K.Reason.OK)
    assert one(drv) == (K.Status.REFUSED, K.Reason.HIBERNATING)
    assert one(wk) == (K.Status.COMPLETED, K.Reason.OK)
    assert one(heat) == (K.Status.COMPLETED, K.Reason.OK)
    assert n_hk_asleep <= 1  # transmitter off while hibernating
    assert g.hk[-1]["battery_setpoint_k"] == pytest.approx(270.0)
    assert g.hk[-1]["tc_refused"] == 2


def test_a_drive_over_too_steep_ground_is_refused(site):
    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True)
    # the test's own slope map: central differences of the DEM, steepest cell near the start
    z = np.asarray(site.dem.values, float)
    p = float(abs(site.dem["x"].values[1] - site.dem["x"].values[0]))
    gr, gc = np.gradient(z, p)
    slope = np.degrees(np.arctan(np.hypot(gr, gc)))
    L = site.light
    ny, nx = L.sun.shape[1:]
    best = None
    for i in range(max(rc[0] - 15, L.row0), min(rc[0] + 16, L.row0 + ny)):
        for j in range(max(rc[1] - 15, L.col0), min(rc[1] + 16, L.col0 + nx)):
            if slope[i, j] > site.planner.max_slope_deg + 2 and (best is None or
                    math.hypot(i - rc[0], j - rc[1]) < math.hypot(best[0] - rc[0], best[1] - rc[1])):
                best = (i, j)
    if best is None:
        pytest.skip("no steep cell near the start")
    goal = (float(site.dem["x"].values[best[1]]), float(site.dem["y"].values[best[0]]))
    tw = Twin(site, t0_unix_s=_t(site, k))
    reason, _ = tw.predict_drive(goal)
    assert reason in (K.Reason.SLOPE_LIMIT, K.Reason.DARK_BEFORE_ARRIVAL)
    if reason == K.Reason.DARK_BEFORE_ARRIVAL:
        pytest.skip("darkness comes first on that line")


def test_hostile_datagrams_are_answered_and_never_stop_the_twin(site):
    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True, hours=3)
    tw = Twin(site, t0_unix_s=_t(site, k))
    g, s = _pair(tw)
    junk = [b"", b"\x00", b"\xff" * 7, b"\x10\xc8\xff\xf0\x00\x00\x63", K.tc_packet("DRILL", 4, depth_m=1.0)[:-2],
            bytes(70000 // 2)]
    with g, s:
        s.advance(1.0)
        for j in junk:
            g.send_raw(j)
        s.advance(0.0, wait_s=0.3)
        s.advance(120.0)
        g.collect(0.2)
        q = g.send("NOOP")
        s.advance(0.0, wait_s=0.3)
        ev = _wait_for(g, s, q, max_s=10.0, dt=1.0)
    refused = [e for e in g.events if e["status"] == K.Status.REFUSED]
    assert len(refused) == len(junk) and all(e["reason"] in (K.Reason.MALFORMED, K.Reason.UNKNOWN_OPCODE) for e in refused)
    assert ev and ev[0]["status"] == K.Status.COMPLETED  # still alive and commandable


@pytest.fixture(scope="module")
def fuzz_pair(site):
    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True, hours=3)
    tw = Twin(site, t0_unix_s=_t(site, k))
    g, s = _pair(tw)
    yield g, s
    g.close()
    s.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=60),
                      st.builds(lambda op, seq, tail: K.tc_packet("NOOP", seq)[:6] + bytes([op]) + tail,
                                st.integers(0, 255), st.integers(0, K.MAX_SEQ), st.binary(max_size=20))))
def test_fuzz_through_udp(fuzz_pair, data):
    """Random bytes and packets with a real header and a random body, over UDP: the twin steps on."""
    g, s = fuzz_pair
    t0 = s.t
    g.send_raw(data)
    s.advance(3.0, wait_s=0.05)
    assert s.t == pytest.approx(t0 + 3.0)
    assert s.twin.state.battery_wh > 0


def test_accelerated_clock_follows_the_wall_clock(site):
    tw = Twin(site)
    g, s = _pair(tw)
    with g, s:
        t0, w0 = s.t, time.monotonic()
        s.run(1800.0, speed=3600.0)  # half an hour in half a second
        wall = time.monotonic() - w0
    assert s.t == pytest.approx(t0 + 1800.0, abs=1e-6)
    assert 0.45 < wall < 5.0


def test_only_the_loopback_and_sane_speeds(site):
    with pytest.raises(ConfigError):
        Session(Twin(site), ground_port=9, host="10.1.2.3")
    for bad in (0.5, 3601, float("nan")):
        with pytest.raises(ConfigError):
            check_speed(bad)


@pytest.mark.slow
def test_survey_leg_reports_the_neutron_rate_of_the_ground(site):
    """Slow: the neutron response table takes seconds to load the first time."""
    from lupex.instruments import neutron
    from lupex.ops.twin import default_ground

    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True, hours=3)
    tw = Twin(site, t0_unix_s=_t(site, k))
    x0, y0 = site.start_xy
    goal = _drivable_goal(site, tw, k, (60.0, 40.0, 20.0))
    tw.command(K.Telecommand(1, K.Opcode.SURVEY_LEG, {"x_m": goal[0], "y_m": goal[1]}))
    tw.advance(60.0)
    expected = neutron.expected_rates_cps(default_ground(*goal))[0]
    if tw.state.activity is not None:
        assert tw.housekeeping()["ns_rate_cps"] == pytest.approx(expected, rel=1e-6)
    for _ in range(120):
        tw.advance(60.0)
        if tw.state.activity is None:
            break
    assert tw.state.ns_rate_cps == 0.0 and tw.state.odometer_m == pytest.approx(math.hypot(goal[0] - x0, goal[1] - y0))


def test_the_end_of_the_light_series_is_announced(site):
    tw = Twin(site, t0_unix_s=site.t_end_unix_s - 600.0)
    g, s = _pair(tw)
    with g, s:
        s.run(3600.0, speed=3600.0)
        g.collect(0.2)
    assert s.t == pytest.approx(site.t_end_unix_s)
    if tw.earth_visible():
        assert any(e["reason"] == K.Reason.END_OF_LIGHT for e in g.events)


def test_a_restarted_twin_continues_from_its_saved_state(site):
    import json

    from lupex.errors import InputError

    rc = site.cell(*site.start_xy)
    k = _step_with(site, rc, earth=True, hours=3)
    tw = Twin(site, t0_unix_s=_t(site, k))
    tw.command(K.Telecommand(7, K.Opcode.SET_HEATER, {"node": 0, "setpoint_k": 250.0}))
    tw.advance(1800.0)
    snap = json.loads(json.dumps(tw.snapshot()))  # through JSON, as the --state file
    again = Twin(site)
    again.restore(snap)
    assert again.housekeeping() == pytest.approx(tw.housekeeping())
    # one more hour of both: the same physics from the same state gives the same rover
    tw.advance(3600.0)
    again.advance(3600.0)
    assert again.state.battery_wh == pytest.approx(tw.state.battery_wh, rel=1e-12)
    assert again.state.temperature_k == pytest.approx(tw.state.temperature_k, rel=1e-12)
    # a drill running when the twin died is reported lost, not silently resumed
    tw.command(K.Telecommand(8, K.Opcode.DRILL, {"depth_m": 1.0}))
    if tw.state.activity is not None:
        snap = tw.snapshot()
        fresh = Twin(site)
        fresh.restore(snap)
        assert fresh.state.mode == "standby" and fresh.state.activity is None
        assert [(e.tc_seq, e.status, e.reason) for e in fresh.events] == [(8, K.Status.ABORTED, K.Reason.RESTARTED)]
    with pytest.raises(InputError):
        Twin(site).restore({"format": "something else"})
    with pytest.raises(InputError):
        Twin(site).restore(snap | {"x_m": 1e9})


def test_a_planner_route_goes_round_a_slope_the_straight_line_cannot_cross(site):
    """With route='planner' a drive the straight line refuses (SLOPE_LIMIT) follows the planner's route instead:
    every cell it crosses is within the slope limit (the site's slope grid read by hand), it is longer than the
    straight line, and the rover ends at the goal."""
    from lupex.ops.scenarios import _goals
    from lupex.ops.twin import TwinParams

    xy = site.start_xy
    rc = site.cell(*xy)
    k = _step_with(site, rc, earth=True, hours=5)
    found = None
    for goal in _goals(xy, dists=(150.0, 300.0), n_dir=16):
        if site.cell(*goal) is None:
            continue
        straight = Twin(site, t0_unix_s=_t(site, k)).predict_drive(goal)
        if straight[0] != K.Reason.SLOPE_LIMIT:
            continue
        tw = Twin(site, TwinParams(route="planner"), t0_unix_s=_t(site, k))
        if tw.predict_drive(goal)[0] == K.Reason.OK:
            found = goal, tw
            break
    if found is None:
        pytest.skip("no slope the planner goes round near the start in this span")
    goal, tw = found
    pts = tw.route(goal)
    L = site.light
    for p in pts:
        r, c = site.cell(*p)
        assert site.slope_deg[r - L.row0, c - L.col0] <= site.planner.max_slope_deg + 1e-9
    length = float(np.sum(np.hypot(*np.diff(np.vstack([xy, pts]), axis=0).T)))
    assert length > math.hypot(goal[0] - xy[0], goal[1] - xy[1]) + site.pixel_m / 2
    tw.command(K.Telecommand(1, K.Opcode.DRIVE_TO, {"x_m": goal[0], "y_m": goal[1]}))
    for _ in range(600):
        tw.advance(60.0)
        if tw.state.activity is None:
            break
    done = [e for e in tw.events if e.status == K.Status.COMPLETED and e.opcode == K.Opcode.DRIVE_TO]
    assert done, [(e.status, e.reason) for e in tw.events]
    assert math.hypot(tw.state.x_m - goal[0], tw.state.y_m - goal[1]) < 1e-6
    assert tw.state.odometer_m == pytest.approx(length, rel=1e-6)
