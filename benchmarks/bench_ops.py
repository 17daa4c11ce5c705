"""Operations benchmark: how fast the rover twin steps, how many telemetry packets its UDP link sustains at x3600,
and the command round trip through 127.0.0.1 at x3600 and at x1 (real time, two light times).

Reference measured in the same process: the same six hours of the same models (thermal.simulate, then
power.step_battery) in ONE batched call on the whole time grid -- what the batch tools do -- against the twin's
one call per 60 s step (the price of stepping live, command by command). The ratio is twin / batch.

    PYTHONPATH=src python benchmarks/bench_ops.py [--no-x1] [--yamcs]

``--yamcs`` also times NOOP round trips commanded from a local Yamcs (Java 17+ and the ops extra): from the
HTTP API call that issues the command to Yamcs showing the twin's COMPLETED event (twin at x3600).

Prints one JSON line (wall seconds, ratios, packets per second, round-trip milliseconds, peak RSS).

Measured 2026-12-06 on the shared 2-core machine under other jobs' load (three runs): twin 104,518-234,617
simulated s per wall s (29-65x headroom over x3600); twin / batch 115-992 (the batched reference swings most with
the load); at x3600 with 1 s housekeeping 554-970 packets per wall second sent and received (3,600 asked);
NOOP round trip 0.8-1.0 ms median, 1.2-4.3 ms max at x3600, 2.613-2.615 s at x1 (two light times 2.612 s);
through Yamcs 19.0 ms median, 742 ms max (the first), Yamcs up in 5.8 s; peak RSS 392-412 MiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import threading
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-x1", action="store_true", help="skip the real-time round trip (about 3 s)")
    ap.add_argument("--yamcs", action="store_true", help="also time round trips commanded from Yamcs")
    a = ap.parse_args()
    from lupex.ops import packets as K
    from lupex.ops.link import Ground, Session
    from lupex.ops.twin import Twin, TwinParams
    from lupex.ops.world import fresh_site
    from lupex.rover import power, thermal

    t = time.perf_counter()
    site = fresh_site("synthetic", days=3, size_m=3000, radius_m=1500)
    out = {"site_s": round(time.perf_counter() - t, 2)}

    # 1. the twin free-running (no link), 6 simulated hours in 60 s steps
    tw = Twin(site)
    tw.advance(120.0)  # warm the numba kernels
    t = time.perf_counter()
    tw.advance(6 * 3600.0)
    twin_s = time.perf_counter() - t
    out["twin_sim_s_per_wall_s"] = round(6 * 3600.0 / twin_s)
    out["headroom_over_x3600"] = round(6 * 3600.0 / twin_s / 3600.0, 1)

    # reference: the same models, one batched call over the same grid
    times = np.arange(361) * 60.0
    t = time.perf_counter()
    for _ in range(5):
        tr = thermal.simulate(times, 1.0, 180.0, site.rover, sun_el_deg=1.0)
        power.step_battery(times, 600.0, 180.0 + tr.heater_total_w, site.rover)
    batch_s = (time.perf_counter() - t) / 5
    out["twin_over_batch"] = round(twin_s / batch_s, 1)

    # 2. telemetry at x3600 with one HK per simulated second (3600 packets per wall second asked)
    tw = Twin(site, TwinParams(hk_period_s=1.0))
    g = Ground(0, rover=site.rover)
    s = Session(tw, ground_port=g.port)
    g.twin = (g.host, s.tc_port)
    got = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            g.collect(0.05)
        got.append(len(g.hk))

    th = threading.Thread(target=listen)
    th.start()
    t = time.perf_counter()
    s.run(3 * 3600.0, speed=3600.0)
    wall = time.perf_counter() - t
    time.sleep(0.1)
    stop.set()
    th.join()
    out["tm_asked_per_s"] = 3600
    out["tm_sent_per_s"] = round(s.stats.tm_sent / wall)
    out["tm_received_per_s"] = round(got[0] / wall)
    out["x3600_wall_s_for_3h"] = round(wall, 2)
    s.close()
    g.close()

    # 3. command round trips (NOOP -> COMPLETED event), session in a thread, ground here
    def round_trips(speed, n):
        tw = Twin(site)
        g = Ground(0, rover=site.rover)
        s = Session(tw, ground_port=g.port)
        g.twin = (g.host, s.tc_port)
        halt = threading.Event()
        th = threading.Thread(target=lambda: s.run(1e9, speed, stop=halt.is_set))
        th.start()
        rt = []
        for _ in range(n):
            t0 = time.perf_counter()
            q = g.send("NOOP")
            while not [e for e in g.events_for(q) if e["status"] == K.Status.COMPLETED]:
                g.collect(0.01)
                if time.perf_counter() - t0 > 10:
                    break
            rt.append(time.perf_counter() - t0)
        halt.set()
        th.join()
        s.close()
        g.close()
        return rt, site.light_time_s(tw.state.t_unix_s)

    rt, lt = round_trips(3600.0, 20)
    out["rtt_x3600_ms_median"] = round(1e3 * statistics.median(rt), 1)
    out["rtt_x3600_ms_max"] = round(1e3 * max(rt), 1)
    if not a.no_x1:
        rt, lt = round_trips(1.0, 1)
        out["rtt_x1_s"] = round(rt[0], 3)
        out["two_light_times_s"] = round(2 * lt, 3)
    if a.yamcs:
        out.update(yamcs_round_trips(site, 10))
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out))


def yamcs_round_trips(site, n: int) -> dict:
    """Median and max wall time (ms) of NOOPs issued through Yamcs' HTTP API until Yamcs holds the COMPLETED event."""
    import socket
    import tempfile

    from yamcs.client import YamcsClient

    from lupex.ops.link import Session
    from lupex.ops.mdb import xtce
    from lupex.ops.twin import Twin
    from lupex.ops.yamcs import require_yamcs, start, stop, wait_ready, write_config

    def free(kind):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    java, lib = require_yamcs()
    http, tm, tc = free(socket.SOCK_STREAM), free(socket.SOCK_DGRAM), free(socket.SOCK_DGRAM)
    root = tempfile.mkdtemp(prefix="lupex-yamcs-bench-")
    write_config(root, xtce(site.rover), tm_port=tm, tc_port=tc, http_port=http)
    t = time.perf_counter()
    proc = start(root, java, lib)
    twin = Twin(site)
    sess = Session(twin, ground_port=tm, tc_port=tc)
    halt = threading.Event()
    th = threading.Thread(target=lambda: sess.run(1e9, 3600.0, stop=halt.is_set))
    try:
        wait_ready(proc, http, root)
        start_s = time.perf_counter() - t
        th.start()
        p = YamcsClient(f"127.0.0.1:{http}").get_processor("lupex", "realtime")
        rt = []
        for _ in range(n):
            before = twin.state.tc_received
            t0 = time.perf_counter()
            p.issue_command("/LUPEX/TC/NOOP")
            while time.perf_counter() - t0 < 10:
                if twin.state.tc_received > before:
                    seq = twin.state.last_tc_seq
                    e = p.get_parameter_value("/LUPEX/EVENT/tc_seq")
                    if e is not None and e.eng_value == seq:
                        break
                time.sleep(0.002)
            rt.append(time.perf_counter() - t0)
    finally:
        halt.set()
        if th.is_alive():
            th.join(10)
        sess.close()
        stop(proc)
    return {"yamcs_start_s": round(start_s, 1), "rtt_yamcs_x3600_ms_median": round(1e3 * statistics.median(rt), 1),
            "rtt_yamcs_x3600_ms_max": round(1e3 * max(rt), 1)}


if __name__ == "__main__":
    main()
