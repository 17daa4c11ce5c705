"""The offline console in headless Chromium: twin -> UDP -> console -> browser, and browser -> console -> UDP -> twin.

Needs Debian's ``chromium`` (skipped without it; ``LUPEX_CHROMIUM`` points at another binary). The browser is
the one of ``tests/report/test_html_browser.py`` (stdlib CDP over ``--remote-debugging-pipe``); every name resolves
to nothing, so any request outside 127.0.0.1 would fail and is listed."""

import json
import threading
import time
import urllib.request

import pytest

from lupex.ops.console import GroundConsole
from lupex.ops.link import Session
from lupex.ops.twin import Twin
from tests.ops.test_twin import small_site
from tests.report.test_html_browser import Chromium, _chromium


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    site = small_site()
    twin = Twin(site)
    gc = GroundConsole(tm_port=0, tc_port=0, http_port=0, rover=site.rover).start()
    sess = Session(twin, ground_port=gc.ground.port)
    gc.ground.twin = ("127.0.0.1", sess.tc_port)
    halt = threading.Event()
    th = threading.Thread(target=lambda: sess.run(1e9, 60.0, stop=halt.is_set))
    th.start()
    yield twin, gc
    halt.set()
    th.join(10)
    sess.close()
    gc.close()


def _until(fn, timeout_s=20.0):
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    return None


def test_console_json_and_commands(live):
    twin, gc = live
    base = f"http://127.0.0.1:{gc.http_port}"
    st = _until(lambda: (lambda s: s if s["hk"] else None)(json.loads(urllib.request.urlopen(base + "/state.json").read())))
    assert st and st["hk"]["soc"] == pytest.approx(twin.soc, abs=0.01)
    bad = urllib.request.Request(base + "/command", data=b'{"name": "LAUNCH"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(bad)
    assert exc.value.code == 400


def test_console_in_headless_chromium(live, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium (apt-get install chromium, or set LUPEX_CHROMIUM)")
    twin, gc = live
    url = f"http://localhost:{gc.http_port}/"  # the only name the test browser resolves
    browser = Chromium(exe, tmp_path / "profile")
    try:
        text = browser.open_page(url)
        session = text.session

        soc = _until(lambda: (lambda t: t if t and t.endswith("%") else None)(text("document.getElementById('soc').textContent")))
        assert soc is not None, "the page must show the state of charge from telemetry"
        assert abs(float(soc.rstrip(" %")) - 100 * twin.soc) < 2.0
        assert text("document.getElementById('te').textContent") not in ("-", "")
        # the operator sends a command from the page; the twin executes it; the page shows the event
        text("sendCommand('SET_HEATER', {node: 1, setpoint_k: 265})")
        assert _until(lambda: abs(twin.state.setpoint_k[1] - 265.0) < 1e-3), "the command must reach the twin"
        row = _until(lambda: text("[...document.querySelectorAll('#events tr')].map(r => r.textContent)"
                                  ".find(t => t.includes('SET_HEATER') && t.includes('COMPLETED')) || ''"))
        assert row, "the page must show the command's completion from telemetry"
        ev = [m for m in browser.events if m.get("sessionId") == session]
        exceptions = [m for m in ev if m.get("method") == "Runtime.exceptionThrown"]
        requests = [m["params"]["request"]["url"] for m in ev if m.get("method") == "Network.requestWillBeSent"]
        assert not exceptions, exceptions
        assert requests and all(u.startswith(url) for u in requests), requests
    finally:
        browser.close()
