"""A minimal offline operator console in the browser: a ground station on the loopback with a web page.

``lupex ops console`` receives the twin's telemetry on ``--tm-port`` (it *is*
the ground: nothing is read from the twin's memory), keeps the latest
housekeeping, the rover's track and the event history, and serves one
self-contained page on 127.0.0.1 (no external script, font or image: it works
offline): state of charge, both temperatures against their survival limits,
Sun and Earth, link rate and light time, hours to the next darkness, the
rover's track on the site, the command history, and a form that sends
telecommands (as CCSDS packets over UDP, like any other ground).

With ``ground=`` a :class:`lupex.ops.yamcs.YamcsGround`, the console sits behind Yamcs instead: the page
shows the packets Yamcs archived (decoded by lupex) and its form issues commands through Yamcs
(``lupex ops --yamcs --console``).

Routes: ``/`` the page, ``/state.json`` what the page polls, ``POST /command``
with ``{"name": ..., "args": {...}}``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lupex.ops import packets as K
from lupex.ops.link import LOOPBACK, Ground, check_port
from lupex.rover.vehicle import MODES, RoverParams

log = logging.getLogger(__name__)
MAX_TRACK = 5000
MAX_HISTORY = 200


class GroundConsole:
    """Telemetry in on ``tm_port``, telecommands out to ``tc_port``, a web page on ``http_port`` (all 127.0.0.1)."""

    def __init__(self, *, tm_port: int = 0, tc_port: int = 0, http_port: int = 0, rover: RoverParams | None = None,
                 ground=None):
        self.rover = rover or RoverParams()
        if ground is None:  # the console is the ground itself, on the UDP link
            ground = Ground(check_port(tc_port, "--tc-port"), port=check_port(tm_port, "--tm-port"), rover=self.rover)
        self.ground = ground
        self.via = "yamcs" if hasattr(ground, "archive") else "udp"
        self.lock = threading.Lock()
        self.track: list[tuple[float, float]] = []
        self.commands: list[dict] = []
        self.last_rx_wall = None
        self._stop = threading.Event()
        console = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):  # quiet: the CLI prints what matters
                log.debug(fmt, *args)

            def _send(self, code, body: bytes, ctype: str):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path in ("/", "/index.html"):
                    self._send(200, PAGE.encode(), "text/html; charset=utf-8")
                elif self.path == "/state.json":
                    self._send(200, json.dumps(console.state()).encode(), "application/json")
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self):
                if self.path != "/command":
                    return self._send(404, b"not found", "text/plain")
                try:
                    n = min(int(self.headers.get("Content-Length", "0")), 65536)
                    req = json.loads(self.rfile.read(n) or b"{}")
                    seq = console.send(str(req.get("name", "")), dict(req.get("args") or {}))
                except (ValueError, TypeError, K.PacketError) as exc:
                    return self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
                except OSError as exc:  # the ground (Yamcs) could not send it
                    return self._send(502, json.dumps({"error": str(exc)}).encode(), "application/json")
                self._send(200, json.dumps({"seq": seq}).encode(), "application/json")

        self.http = ThreadingHTTPServer((LOOPBACK, check_port(http_port, "--http-port")), Handler)
        self.http_port = self.http.server_address[1]
        self._threads = [threading.Thread(target=self.http.serve_forever, daemon=True),
                         threading.Thread(target=self._receive, daemon=True)]

    def start(self) -> "GroundConsole":
        """Start the console's threads; returns the console."""
        for t in self._threads:
            t.start()
        return self

    def close(self) -> None:
        """Stop the threads and the web server and close the ground link."""
        self._stop.set()
        self.http.shutdown()
        self.http.server_close()
        for t in self._threads:
            t.join(5)
        self.ground.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _receive(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                n0, e0 = len(self.ground.hk), len(self.ground.events)
                self.ground.collect(0.0)
                new = self.ground.hk[n0:]
                if new or len(self.ground.events) > e0:
                    self.last_rx_wall = time.time()
                for h in new:
                    self.track.append((h["x_m"], h["y_m"]))
                del self.track[: max(len(self.track) - MAX_TRACK, 0)]
                del self.ground.hk[: max(len(self.ground.hk) - 2, 0)]
                del self.ground.events[: max(len(self.ground.events) - MAX_HISTORY, 0)]
            time.sleep(0.05)

    def send(self, name: str, args: dict) -> int:
        """Send a telecommand (PacketError for an unknown name or bad arguments); its sequence count."""
        cd = K.COMMAND_BY_NAME.get(name)
        if cd is None:
            raise K.PacketError(f"unknown telecommand {name!r}")
        codes = {a.name: a.code for a in cd.args}
        kw = {k: (int(v) if codes.get(k) in ("B", "H", "I") else float(v)) for k, v in args.items()}
        with self.lock:
            K.tc_packet(name, self.ground.seq + 1, **kw)  # check before counting it
            seq = self.ground.send(name, **kw)
            self.commands.append({"seq": seq, "name": name, "args": kw, "sent_wall_s": time.time()})
            del self.commands[: max(len(self.commands) - MAX_HISTORY, 0)]
        return seq

    def state(self) -> dict:
        """What the page shows: latest HK (with names), track, events, commands, limits."""
        r = self.rover
        with self.lock:
            hk = dict(self.ground.hk[-1]) if self.ground.hk else None
            events = [dict(e) for e in self.ground.events]
            track = list(self.track)
            commands = list(self.commands)
        if hk:
            hk["mode_name"] = MODES[hk["mode"]] if hk["mode"] < len(MODES) else str(hk["mode"])
            hk["activity_name"] = K.Opcode(hk["activity"]).name if hk["activity"] in set(K.Opcode) else str(hk["activity"])
        for e in events:
            e["status_name"] = K.Status(e["status"]).name if e["status"] in set(K.Status) else str(e["status"])
            e["reason_name"] = K.Reason(e["reason"]).name if e["reason"] in set(K.Reason) else str(e["reason"])
            e["opcode_name"] = K.Opcode(e["opcode"]).name if e["opcode"] in set(K.Opcode) else "UNREADABLE"
        return {
            "hk": hk, "track": track, "events": events[::-1], "commands": commands[::-1],
            "via": self.via,
            "age_s": None if self.last_rx_wall is None else time.time() - self.last_rx_wall,
            "limits": {"soc_min": r.battery.soc_min,
                       "electronics_k": [r.thermal.electronics.survival_min_k, r.thermal.electronics.survival_max_k],
                       "battery_k": [r.thermal.battery.survival_min_k, r.thermal.battery.survival_max_k]},
            "commands_known": {c.name: [[a.name, a.unit] for a in c.args] for c in K.COMMANDS},
        }


PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lupex ops console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#10141a;color:#dde3ea}
header{padding:8px 14px;background:#1b2330;display:flex;gap:18px;align-items:baseline}
header h1{font-size:16px;margin:0}.muted{color:#8a96a6}
main{display:grid;grid-template-columns:320px 1fr 1fr;gap:12px;padding:12px}
section{background:#18202b;border-radius:6px;padding:10px 12px}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:#8fb3d9;margin:0 0 8px}
.big{font-size:26px;font-weight:600}.bar{height:10px;background:#2a3442;border-radius:5px;overflow:hidden}
.bar>div{height:100%;background:#4caf7a}.alarm{color:#ff6b6b}.ok{color:#7bd88f}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{padding:2px 6px;text-align:left;border-bottom:1px solid #263142}
canvas{width:100%;background:#0c1016;border-radius:4px}
input,select,button{background:#0f151d;color:#dde3ea;border:1px solid #334155;border-radius:4px;padding:3px 6px}
</style></head><body>
<header><h1>lupex ops console</h1><span id="clock" class="muted">waiting for telemetry</span><span id="age" class="muted"></span><span id="via" class="muted"></span></header>
<main>
<section><h2>Power</h2><div class="big" id="soc">-</div><div class="bar"><div id="socbar" style="width:0"></div></div>
<p>array <b id="solar">-</b> W, load <b id="load">-</b> W, heaters <b id="heater">-</b> W</p>
<h2>Thermal</h2><p>electronics <b id="te">-</b> K<br>battery <b id="tb">-</b> K</p>
<h2>Sun, Earth, link</h2><p>Sun <b id="sun">-</b>, Earth <b id="earth">-</b><br>link <b id="rate">-</b> bit/s, light time <b id="lt">-</b> s<br>
next darkness in <b id="dark">-</b> h</p>
<h2>Rover</h2><p>mode <b id="mode">-</b>, activity <b id="act">-</b><br>slope <b id="slope">-</b> deg, odometer <b id="odo">-</b> m<br>
drill depth <b id="drill">-</b> m, NS <b id="ns">-</b> counts/s</p></section>
<section><h2>Track on the site (m, DEM CRS)</h2><canvas id="map" width="600" height="600"></canvas>
<p class="muted" id="pos">-</p></section>
<section><h2>Command</h2><form id="cmdform"><select id="cmd"></select> <span id="args"></span> <button type="submit" id="sendbtn">send</button></form>
<p id="cmdmsg" class="muted"></p>
<h2>Command history (telemetry events)</h2><table><thead><tr><th>time UTC</th><th>TC</th><th>command</th><th>status</th><th>reason</th><th>value</th></tr></thead>
<tbody id="events"></tbody></table></section>
</main>
<script>
"use strict";
let known = {};
const $ = id => document.getElementById(id);
const fmt = (v, d) => (v === null || v === undefined || !isFinite(v)) ? "-" : Number(v).toFixed(d);
function utc(s) { return new Date(s * 1000).toISOString().slice(0, 19).replace("T", " "); }
function buildForm() {
  const sel = $("cmd");
  if (sel.options.length) return;
  for (const name of Object.keys(known)) { const o = document.createElement("option"); o.value = o.textContent = name; sel.appendChild(o); }
  sel.onchange = showArgs; showArgs();
}
function showArgs() {
  const a = $("args"); a.textContent = "";
  for (const [n, u] of known[$("cmd").value] || []) {
    const i = document.createElement("input"); i.id = "arg_" + n; i.placeholder = n + " (" + u + ")"; i.size = 10; a.appendChild(i);
  }
}
async function sendCommand(name, args) {
  const r = await fetch("/command", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({name, args})});
  const j = await r.json();
  $("cmdmsg").textContent = r.ok ? ("sent " + name + " as TC " + j.seq) : ("refused by the console: " + j.error);
  return j;
}
$("cmdform").onsubmit = ev => {
  ev.preventDefault();
  const name = $("cmd").value, args = {};
  for (const [n] of known[name] || []) args[n] = Number($("arg_" + n).value);
  sendCommand(name, args);
};
function drawMap(track, hk) {
  const c = $("map"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  if (!track.length) return;
  let xs = track.map(p => p[0]), ys = track.map(p => p[1]);
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const span = Math.max(x1 - x0, y1 - y0, 200), cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const sx = x => c.width / 2 + (x - cx) / span * c.width * 0.8, sy = y => c.height / 2 - (y - cy) / span * c.height * 0.8;
  g.strokeStyle = "#2f3d50"; g.lineWidth = 1;
  for (let k = -5; k <= 5; k++) { g.beginPath(); g.moveTo(sx(cx + k * span / 10), 0); g.lineTo(sx(cx + k * span / 10), c.height); g.stroke();
    g.beginPath(); g.moveTo(0, sy(cy + k * span / 10)); g.lineTo(c.width, sy(cy + k * span / 10)); g.stroke(); }
  g.strokeStyle = "#8fb3d9"; g.lineWidth = 2; g.beginPath();
  track.forEach((p, k) => k ? g.lineTo(sx(p[0]), sy(p[1])) : g.moveTo(sx(p[0]), sy(p[1]))); g.stroke();
  const p = track[track.length - 1];
  g.fillStyle = hk && hk.sun_fraction > 0 ? "#ffd166" : "#ff6b6b"; g.beginPath(); g.arc(sx(p[0]), sy(p[1]), 6, 0, 7); g.fill();
  $("pos").textContent = "rover at (" + fmt(p[0], 1) + ", " + fmt(p[1], 1) + ") m; grid " + fmt(span / 10, 0) + " m";
}
function show(s) {
  known = s.commands_known; buildForm();
  const h = s.hk, L = s.limits;
  $("via").textContent = s.via === "yamcs" ? "via Yamcs (its archive; commands issued through it)" : "via UDP";
  $("age").textContent = s.age_s === null ? "" : "last packet " + fmt(s.age_s, 1) + " s ago";
  if (h) {
    $("clock").textContent = utc(h.utc_unix_s) + " UTC (simulated)";
    $("soc").textContent = fmt(100 * h.soc, 1) + " %"; $("socbar").style.width = (100 * h.soc) + "%";
    $("soc").className = "big " + (h.soc <= L.soc_min + 1e-6 ? "alarm" : "ok");
    $("solar").textContent = fmt(h.solar_w, 0); $("load").textContent = fmt(h.load_w, 0); $("heater").textContent = fmt(h.heater_w, 1);
    for (const [id, v, lim] of [["te", h.electronics_k, L.electronics_k], ["tb", h.battery_k, L.battery_k]]) {
      $(id).textContent = fmt(v, 1); $(id).className = (v < lim[0] || v > lim[1]) ? "alarm" : "ok"; }
    $("sun").textContent = fmt(h.sun_fraction, 2); $("earth").textContent = fmt(h.earth_fraction, 2);
    $("rate").textContent = fmt(h.link_rate_bps, 0); $("lt").textContent = fmt(h.light_time_s, 3);
    $("dark").textContent = fmt(h.next_dark_h, 1); $("mode").textContent = h.mode_name; $("act").textContent = h.activity_name;
    $("slope").textContent = fmt(h.slope_deg, 1); $("odo").textContent = fmt(h.odometer_m, 1);
    $("drill").textContent = fmt(h.drill_depth_m, 2); $("ns").textContent = fmt(h.ns_rate_cps, 2);
  }
  drawMap(s.track, h);
  const tb = $("events"); tb.textContent = "";
  for (const e of s.events.slice(0, 60)) {
    const tr = document.createElement("tr");
    for (const v of [utc(e.utc_unix_s), e.tc_seq === 65535 ? "?" : e.tc_seq, e.opcode_name, e.status_name, e.reason_name, fmt(e.value, 2)]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
    if (e.status_name === "REFUSED" || e.status_name === "ABORTED") tr.className = "alarm";
    tb.appendChild(tr);
  }
}
async function poll() {
  try { show(await (await fetch("/state.json", {cache: "no-store"})).json()); }
  catch (e) { $("age").textContent = "console unreachable"; }
  setTimeout(poll, 500);
}
poll();
</script></body></html>
"""
