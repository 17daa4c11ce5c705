"""A rehearsal scenario end to end through the whole chain, in the default suite:

twin -> CCSDS over UDP -> Yamcs (decodes with lupex's XTCE, archives) -> the console (reads Yamcs' archive)
-> the page in headless Chromium; and back: yamcs-client and the page's form -> Yamcs -> UDP -> twin.

The scenario is ``haven-unreachable``: darkness is coming, the operators command a drive to a safe haven from
Yamcs, the twin refuses it (DARK_BEFORE_ARRIVAL, checked here against the light cube read by hand), and they
hibernate from the console's page. The twin's clock is stepped by the test (no sleeping in simulated time).

Skipped, with the reason, only without Java 17+ (Debian ``openjdk-17-jre-headless``) or Chromium (Debian
``chromium``; ``.ci/run`` installs both when it can). One Yamcs serves the whole module."""

import socket
import time

import numpy as np
import pytest

from lupex.config import Config
from lupex.ops import scenarios as S
from lupex.ops import yamcs as Y
from lupex.ops.mdb import xtce
from tests.ops.test_twin import small_site
from tests.report.test_html_browser import Chromium, _chromium


def _free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(fn, timeout_s=20.0, pause_s=0.2):
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        v = fn()
        if v:
            return v
        time.sleep(pause_s)
    return None


@pytest.fixture(scope="module")
def yamcs_server(tmp_path_factory):
    """A Yamcs on free loopback ports with lupex's XTCE, started once for the module: (http, tm, tc, root)."""
    try:
        java, lib = Y.require_yamcs()
    except Y.YamcsMissing as exc:
        pytest.skip(f"no Yamcs ground segment: {exc}")
    pytest.importorskip("yamcs.client", reason="yamcs-client is in the test extra: pip install '.[test]'")
    root = tmp_path_factory.mktemp("yamcs")
    http, tm, tc = _free_port(), _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_DGRAM)
    Y.write_config(root, xtce(Config().vehicle), tm_port=tm, tc_port=tc, http_port=http)
    proc = Y.start(root, java, lib)  # the JVM starts while the site is built
    try:
        yield proc, http, tm, tc, root
    finally:
        Y.stop(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium (apt-get install chromium, or set LUPEX_CHROMIUM)")
    b = Chromium(exe, tmp_path_factory.mktemp("profile"))
    yield b
    b.close()


def test_haven_unreachable_through_udp_yamcs_and_the_browser(yamcs_server, browser):
    from yamcs.client import YamcsClient

    from lupex.ops.console import GroundConsole
    from lupex.ops.link import Session
    from lupex.ops.twin import Twin

    proc, http, tm, tc, root = yamcs_server
    site = small_site()
    k, xy, haven = S.find_unreachable_haven(site)
    # the situation, read off the light cube by hand: a cell on the straight line to the haven is dark next hour
    L = site.light
    cells = {site.cell(xy[0] + f * (haven[0] - xy[0]), xy[1] + f * (haven[1] - xy[1])) for f in np.linspace(0, 1, 200)}
    assert any(L.sun[k + 1, c[0] - L.row0, c[1] - L.col0] == 0 for c in cells)

    twin = Twin(site, t0_unix_s=S._t(site, k + 1) - 900.0, xy=xy)
    sess = Session(twin, ground_port=tm, tc_port=tc)
    Y.wait_ready(proc, http, root)
    client = YamcsClient(f"127.0.0.1:{http}")
    processor = client.get_processor(Y.INSTANCE, "realtime")
    gc = GroundConsole(ground=Y.YamcsGround(http, rover=site.rover), http_port=0, rover=site.rover).start()
    try:
        def pump(n_tc):  # step the twin's clock until the n-th telecommand has come through Yamcs, then 10 s more
            ok = _until(lambda: sess.advance(0.0, wait_s=0.1) or sess.stats.tc_read >= n_tc, pause_s=0.0)
            assert ok, f"telecommand {n_tc} did not reach the twin through Yamcs (see {root / 'yamcs.log'})"
            sess.advance(10.0)

        sess.advance(1.0)
        sess.advance(60.0)  # one housekeeping packet for Yamcs and the page
        # the operators command the drive to the haven from Yamcs (yamcs-client)
        processor.issue_command("/LUPEX/TC/DRIVE_TO", args={"x_m": haven[0], "y_m": haven[1]})
        pump(1)
        assert twin.state.tc_refused == 1 and twin.state.activity is None  # refused: the rover stays put
        # Yamcs decoded the refusal with lupex's XTCE
        reason = _until(lambda: (lambda v: v if v is not None and v.eng_value == "DARK_BEFORE_ARRIVAL" else None)(
            processor.get_parameter_value("/LUPEX/EVENT/reason")))
        assert reason is not None, "Yamcs must decode the twin's refusal"

        url = f"http://localhost:{gc.http_port}/"  # the only name the test browser resolves
        js = browser.open_page(url)
        session = js.session

        def row(*words):
            return _until(lambda: js("[...document.querySelectorAll('#events tr')].map(r => r.textContent)"
                                     f".find(t => {' && '.join(f't.includes({w!r})' for w in words)}) || ''"))

        assert row("DRIVE_TO", "REFUSED", "DARK_BEFORE_ARRIVAL"), "the page must show the refusal from Yamcs' archive"
        assert "Yamcs" in js("document.getElementById('via').textContent")
        soc = js("document.getElementById('soc').textContent")
        assert soc.endswith("%") and abs(float(soc.rstrip(" %")) - 100 * twin.soc) < 2.0
        # the operators hibernate from the page: console -> Yamcs -> UDP -> twin
        js("sendCommand('HIBERNATE', {})")
        pump(2)
        assert twin.state.mode == "hibernate"
        assert row("HIBERNATE", "COMPLETED"), "the page must show the hibernation's completion"
        # Yamcs holds the whole exchange: both commands in its history, every packet the page showed in its archive
        archive = client.get_archive(Y.INSTANCE)
        names = {c.name for c in archive.list_command_history()}
        assert {"/LUPEX/TC/DRIVE_TO", "/LUPEX/TC/HIBERNATE"} <= names, names
        n_archived = len(list(archive.list_packets()))
        assert n_archived >= len(gc.state()["events"]) + 1
        ev = [m for m in browser.events if m.get("sessionId") == session]
        assert not [m for m in ev if m.get("method") == "Runtime.exceptionThrown"]
        requests = [m["params"]["request"]["url"] for m in ev if m.get("method") == "Network.requestWillBeSent"]
        assert requests and all(u.startswith(url) for u in requests), requests
    finally:
        gc.close()
        sess.close()
        client.close()


def test_one_command_brings_up_twin_yamcs_and_console(tmp_path):
    """`lupex ops --yamcs --console` (the README's second command) as a user runs it: one process serves the console behind Yamcs; Ctrl-C stops all of it."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    try:
        Y.require_yamcs()
    except Y.YamcsMissing as exc:
        pytest.skip(f"no Yamcs ground segment: {exc}")
    pytest.importorskip("yamcs.client", reason="yamcs-client is in the test extra: pip install '.[test]'")
    http, page = _free_port(), _free_port()
    tm, tc = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_DGRAM)
    cmd = [sys.executable, "-m", "lupex", "ops", "--yamcs", "--console", "--site", "synthetic", "--days", "2",
           "--speed", "120", "--duration-h", "1", "--tm-port", str(tm), "--tc-port", str(tc), "--yamcs-port", str(http),
           "--console-port", str(page), "--yamcs-dir", str(tmp_path / "yamcs")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    base = f"http://127.0.0.1:{page}"
    try:
        def state():
            try:
                return json.loads(urllib.request.urlopen(base + "/state.json", timeout=2).read())
            except OSError:
                return None
        st = _until(lambda: (lambda s: s if s and s["hk"] else None)(state()), 120)
        assert st is not None, "the console must show Yamcs' telemetry"
        assert st["via"] == "yamcs"
        req = urllib.request.Request(base + "/command", data=json.dumps(
            {"name": "SET_HEATER", "args": {"node": 0, "setpoint_k": 262}}).encode(), method="POST")
        assert urllib.request.urlopen(req, timeout=10).status == 200
        done = _until(lambda: [e for e in state()["events"]
                               if e["opcode_name"] == "SET_HEATER" and e["status_name"] == "COMPLETED"], 30)
        assert done, "the command sent from the page through Yamcs must complete on the twin"
        # node 0 is the electronics: its set point in the housekeeping Yamcs archived
        assert _until(lambda: abs(state()["hk"]["electronics_setpoint_k"] - 262.0) < 0.01, 30)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    with pytest.raises(OSError):  # Yamcs went with it
        urllib.request.urlopen(f"http://127.0.0.1:{http}/api/instances/lupex", timeout=2)
    assert "console at" in out and "Yamcs" in out, out
