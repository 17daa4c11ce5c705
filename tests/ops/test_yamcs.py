"""Yamcs as the twin's ground segment (optional: Java 17+ and the ops extra), through UDP on 127.0.0.1:
Yamcs decodes the twin's telemetry with lupex's XTCE, commands it, archives, and keeps its archive
when killed and restarted. Slow (two JVM starts): run with -m slow."""

import socket
import threading
import time

import pytest

from lupex.ops.mdb import xtce
from lupex.ops.yamcs import YamcsMissing, require_yamcs, start, stop, wait_ready, write_config

pytestmark = pytest.mark.slow


def _free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(fn, timeout_s=30.0):
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    return None


def test_twin_behind_yamcs(tmp_path):
    try:
        java, lib = require_yamcs()
    except YamcsMissing as exc:
        pytest.skip(str(exc))
    yc = pytest.importorskip("yamcs.client")
    from lupex.ops.link import Session
    from lupex.ops.twin import Twin
    from lupex.ops.world import fresh_site

    http, tm, tc = _free_port(), _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_DGRAM)
    site = fresh_site("synthetic", days=2, size_m=3000, radius_m=1500)
    write_config(tmp_path, xtce(site.rover), tm_port=tm, tc_port=tc, http_port=http)
    proc = start(tmp_path, java, lib)
    twin = Twin(site)
    halt = threading.Event()
    sess = Session(twin, ground_port=tm, tc_port=tc)
    th = threading.Thread(target=lambda: sess.run(1e9, 60.0, stop=halt.is_set))
    try:
        wait_ready(proc, http, tmp_path)
        th.start()
        client = yc.YamcsClient(f"127.0.0.1:{http}")
        p = client.get_processor("lupex", "realtime")

        def soc():
            try:
                return p.get_parameter_value("/LUPEX/HK/soc")
            except Exception:
                return None
        v = _until(soc)
        assert v is not None and 0.2 <= v.eng_value <= 1.0  # decoded by Yamcs with lupex's XTCE
        p.issue_command("/LUPEX/TC/NOOP")
        assert _until(lambda: twin.state.tc_received >= 1), "the command must reach the twin through Yamcs"
        ev = _until(lambda: (lambda e: e if e is not None and e.eng_value == "COMPLETED" else None)(
            p.get_parameter_value("/LUPEX/EVENT/status")))
        assert ev is not None
        # a command with arguments: Yamcs encodes it from the XTCE and fills the length, the twin decodes it
        p.issue_command("/LUPEX/TC/SET_HEATER", args={"node": 1, "setpoint_k": 270.0})
        assert _until(lambda: abs(twin.state.setpoint_k[1] - 270.0) < 1e-3), "SET_HEATER from Yamcs must reach the twin"
        assert twin.state.tc_refused == 0
        archive = client.get_archive("lupex")
        n_before = _until(lambda: len(list(archive.list_packets())), 20)
        assert n_before
        # the twin dies and restarts from its saved state on the same ports: Yamcs keeps archiving
        snap = twin.snapshot()
        halt.set()
        th.join(10)
        sess.close()
        twin = Twin(site)
        twin.restore(snap)
        halt = threading.Event()
        sess = Session(twin, ground_port=tm, tc_port=tc)
        th = threading.Thread(target=lambda: sess.run(1e9, 60.0, stop=halt.is_set))
        th.start()
        n_restart = _until(lambda: (lambda n: n if n > n_before else None)(len(list(archive.list_packets()))), 20)
        assert n_restart, "telemetry of the restarted twin must reach the archive"
        n_before = n_restart
        proc.kill()  # SIGKILL: no clean shutdown of the archive
        proc.wait(20)
        proc = start(tmp_path, java, lib)
        wait_ready(proc, http, tmp_path)
        archive = yc.YamcsClient(f"127.0.0.1:{http}").get_archive("lupex")
        assert len(list(archive.list_packets())) >= n_before  # nothing archived was lost
    finally:
        halt.set()
        if th.is_alive():
            th.join(10)
        sess.close()
        stop(proc)

