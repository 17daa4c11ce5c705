"""The space link between the twin and the ground: UDP on the loopback, light-time delay, Earth visibility.

* Both directions are UDP datagrams of exactly one CCSDS Space Packet on
  127.0.0.1 (nothing else is accepted as a host: the rehearsal never leaves
  the machine).
* A telecommand read from the socket at simulated time t reaches the rover at
  t + d/c (one-way light time, d the Earth's range from the Moon: about 1.28 s,
  docs/REFERENCES.md#light-time); it is executed only if the rover's cell
  then sees the Earth (otherwise it is lost in space and counted in nothing
  the ground can see -- as a real uplink outside a pass).
* Telemetry made at t is sent to the ground at t + d/c, and only while the
  downlink closes: Earth in view at the rover (the fraction of its disk above
  the horizon >= ``comms.earth_threshold``), the transmitter on (not in
  hibernation) and the link budget's rate
  (:func:`lupex.rover.comms.max_data_rate_bps`) at least the bits queued per
  housekeeping period. Housekeeping made outside a pass is dropped (it is
  a live sample); events are kept and sent at the next pass (store and forward).

Time is the twin's simulated clock: :meth:`Session.advance` steps it
deterministically (tests, scenarios); :meth:`Session.run` follows the wall
clock multiplied by ``speed`` (x1 real time to x3600, an hour a second).
"""

from __future__ import annotations

import heapq
import logging
import select
import socket
import time
from dataclasses import dataclass, field

from lupex.errors import ConfigError
from lupex.ops import packets as K
from lupex.ops.twin import Twin
from lupex.rover.comms import max_data_rate_bps

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_DATAGRAM = 65542  # 6-octet header + 65536 data octets
MAX_SPEED = 3600.0


def check_host(host: str) -> str:
    """The loopback address, or ConfigError: the twin and its ground talk on this machine only."""
    if host not in ("127.0.0.1", "localhost"):
        raise ConfigError(f"host {host!r} is not the loopback; lupex ops talks only on 127.0.0.1")
    return LOOPBACK


def check_port(port: int, what: str) -> int:
    """The UDP ``port`` (0-65535, 0: any free port); ConfigError naming ``what`` otherwise."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"{what} must be a UDP port 0-65535 (0 = any free port), got {port!r}")
    return port


def check_speed(speed: float) -> float:
    """The clock ``speed`` (simulated seconds per wall second, 1 to ``MAX_SPEED``); ConfigError otherwise."""
    if not (isinstance(speed, (int, float)) and 1.0 <= speed <= MAX_SPEED):
        raise ConfigError(f"--speed must be between 1 (real time) and {MAX_SPEED:g} (an hour per second), got {speed!r}")
    return float(speed)


@dataclass
class LinkStats:
    """Counts of the link's telecommands and telemetry packets, and of the bytes sent."""

    tc_read: int = 0
    tc_lost: int = 0  # reached the Moon with Earth out of view
    tm_sent: int = 0
    hk_dropped: int = 0  # made outside a pass
    bytes_sent: int = 0


@dataclass(order=True)
class _Due:
    t: float
    n: int
    data: bytes = field(compare=False)


class _Endpoint:
    """A UDP socket bound on the loopback, closed by ``close()`` or a ``with`` block."""

    def _bind(self, host: str, port: int, what: str, option: str, *, blocking: bool = True) -> int:
        """Bind ``self.sock`` to ``host:port`` (0 = any free port) and return the port.

        Raises ConfigError naming ``option`` when the port is taken.
        """
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(blocking)
        try:
            self.sock.bind((host, check_port(port, what)))
        except OSError as exc:
            self.sock.close()
            raise ConfigError(f"cannot listen on UDP {host}:{port} ({exc.strerror}); pick another {option}") from None
        return self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Session(_Endpoint):
    """The twin behind its UDP link: reads telecommands on ``tc_port``, sends telemetry to ``ground_port``."""

    def __init__(self, twin: Twin, *, ground_port: int, tc_port: int = 0, host: str = LOOPBACK):
        self.twin = twin
        self.host = check_host(host)
        self.ground = (self.host, check_port(ground_port, "ground port"))
        self.tc_port = self._bind(self.host, tc_port, "telecommand port", "--tc-port", blocking=False)
        self.up: list[_Due] = []
        self.down: list[_Due] = []
        self._n = 0
        self.seq_hk = 0
        self.seq_ev = 0
        self.next_hk = twin.state.t_unix_s
        self.stats = LinkStats()
        self._hk_fields = K.hk_fields(twin.site.rover)
        self._rate = {}  # link-budget rate (bit/s) per light step

    @property
    def t(self) -> float:
        """The twin's simulated time, Unix s."""
        return self.twin.state.t_unix_s

    def _push(self, q, t, data):
        self._n += 1
        heapq.heappush(q, _Due(t, self._n, data))

    def pump(self, wait_s: float = 0.0) -> int:
        """Read every datagram waiting on the telecommand socket (up to ``wait_s`` wall seconds for the first)."""
        n = 0
        while True:
            r, _, _ = select.select([self.sock], [], [], wait_s if n == 0 else 0.0)
            if not r:
                return n
            try:
                data, _addr = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return n
            except OSError:  # e.g. ICMP port unreachable of an earlier send: nothing to read
                return n
            n += 1
            self.stats.tc_read += 1
            self._push(self.up, self.t + self.twin.site.light_time_s(self.t), bytes(data))

    def link_ok(self, n_bits: float = 0.0, transmitter_on: bool | None = None) -> bool:
        """Downlink closes now: Earth in view, transmitter on, the budget's rate carries ``n_bits`` per HK period."""
        tw = self.twin
        tx = tw.state.mode != "hibernate" if transmitter_on is None else transmitter_on
        if not tx or not tw.earth_visible():
            return False
        return self.rate_bps() * tw.params.hk_period_s >= n_bits

    def rate_bps(self) -> float:
        """Rate the link budget allows at the current Earth range (bit/s), cached per light step."""
        k = self.twin.site.k(self.t)
        if k not in self._rate:
            self._rate[k] = float(max_data_rate_bps(self.twin.site.earth_range_m[k], self.twin.site.rover))
        return self._rate[k]

    def _event_packets(self) -> list[bytes]:
        return [K.tm_packet(K.APID_EVENT, self.seq_ev + i, K.EVENT_FIELDS,
                            {"utc_unix_s": e.t_unix_s, "tc_seq": e.tc_seq, "opcode": e.opcode, "status": int(e.status),
                             "reason": int(e.reason), "value": e.value}) for i, e in enumerate(self.twin.events)]

    def _queue(self, packets: list[bytes], transmitter_on: bool | None = None) -> bool:
        """Send ``packets`` one light time from now if the downlink closes; False (nothing sent) if not."""
        if not packets or not self.link_ok(8 * sum(map(len, packets)), transmitter_on):
            return False
        due = self.t + self.twin.site.light_time_s(self.t)
        for p in packets:
            self._push(self.down, due, p)
        return True

    def _flush_events(self, transmitter_on: bool | None = None) -> None:
        """Events go down as soon as the link closes (kept on board until then)."""
        if self.twin.events and self._queue(self._event_packets(), transmitter_on):
            self.seq_ev = (self.seq_ev + len(self.twin.events)) & K.MAX_SEQ
            self.twin.events.clear()

    def _telemetry(self) -> None:
        tw = self.twin
        hk = K.tm_packet(K.APID_HK, self.seq_hk, self._hk_fields, tw.housekeeping(self.rate_bps()))
        if self._queue([hk]):
            self.seq_hk = (self.seq_hk + 1) & K.MAX_SEQ
        else:
            self.stats.hk_dropped += 1

    def _deliver(self) -> None:
        while self.up and self.up[0].t <= self.t + 1e-9:
            d = heapq.heappop(self.up)
            if not self.twin.earth_visible():
                self.stats.tc_lost += 1
                continue
            awake = self.twin.state.mode != "hibernate"
            self._execute(d.data)
            self._flush_events(transmitter_on=awake)  # the answer leaves before a HIBERNATE turns the transmitter off
        while self.down and self.down[0].t <= self.t + 1e-9:
            d = heapq.heappop(self.down)
            try:
                self.sock.sendto(d.data, self.ground)
                self.stats.tm_sent += 1
                self.stats.bytes_sent += len(d.data)
            except OSError as exc:  # nobody listening yet, buffer full: telemetry is lost, the twin goes on
                log.debug("telemetry not sent: %s", exc)

    def _execute(self, data: bytes) -> None:
        tw = self.twin
        tc = K.decode_tc(data)
        if isinstance(tc, K.Malformed):
            tw.state.tc_received = (tw.state.tc_received + 1) % 65536
            tw.state.last_tc_seq = tc.seq
            tw._emit(tc.seq, tc.opcode, K.Status.REFUSED, tc.reason)
            log.info("telecommand refused: %s", tc.detail)
            return
        tw.command(tc)

    def advance(self, dt_s: float, *, wait_s: float = 0.0) -> None:
        """Step ``dt_s`` simulated seconds: read the socket, deliver due packets, step the twin, make HK on its period."""
        self.pump(wait_s)
        end = self.t + float(dt_s)
        while True:
            self._deliver()
            if self.t >= self.next_hk - 1e-9:
                self._telemetry()
                self.next_hk += self.twin.params.hk_period_s
            self._flush_events()
            nxt = min([end, self.next_hk] + [q[0].t for q in (self.up, self.down) if q])
            if nxt <= self.t + 1e-9:
                if self.t >= end - 1e-9:
                    return
                nxt = min(end, self.t + 1e-6)
            self.twin.advance(nxt - self.t)

    def run(self, duration_s: float, speed: float = 1.0, *, stop=lambda: False, save=None, save_every_s: float = 600.0) -> None:
        """Follow the wall clock x ``speed`` for ``duration_s`` simulated seconds (or until ``stop()`` is true).

        ``save``: a callable given the twin's :meth:`~lupex.ops.twin.Twin.snapshot` every ``save_every_s``
        simulated seconds and at the end (e.g. an atomic write to ``--state``), so a killed twin can resume.

        Parameters
        ----------
        duration_s : float
            Simulated seconds to run.
        speed : float
            Simulated seconds per wall second, 1 to ``MAX_SPEED``.
        stop : callable
            Returns True to end the run early.
        save : callable, optional
            Given the twin's snapshot every ``save_every_s`` and at the end.
        save_every_s : float
            Simulated seconds between snapshots.
        """
        speed = check_speed(speed)
        try:
            self._run(duration_s, speed, stop, save, save_every_s)
        finally:
            if save is not None:
                save(self.twin.snapshot())

    def _run(self, duration_s, speed, stop, save, save_every_s) -> None:
        next_save = self.t + save_every_s
        t_end = min(self.t + duration_s, self.twin.site.t_end_unix_s)
        wall0, sim0 = time.monotonic(), self.t
        while self.t < t_end - 1e-9 and not stop():
            target = min(sim0 + (time.monotonic() - wall0) * speed, t_end)
            if target > self.t:
                self.advance(target - self.t)
            nxt = min([self.next_hk] + [q[0].t for q in (self.up, self.down) if q])
            self.pump(min(max((nxt - self.t) / speed, 0.0), 0.05))
            if save is not None and self.t >= next_save:
                save(self.twin.snapshot())
                next_save = self.t + save_every_s
        if self.t >= self.twin.site.t_end_unix_s - 1e-9:  # the light series ends: say so, then send what is due
            self.twin._emit(0, 0, K.Status.COMPLETED, K.Reason.END_OF_LIGHT)
            self._flush_events()
            lt = self.twin.site.light_time_s(self.t)
            end = self.t + lt
            while self.down and self.down[0].t <= end + 1e-9:
                d = heapq.heappop(self.down)
                try:
                    self.sock.sendto(d.data, self.ground)
                    self.stats.tm_sent += 1
                except OSError:
                    pass


class Ground(_Endpoint):
    """A minimal ground station on the loopback: sends telecommands, collects and decodes telemetry."""

    def __init__(self, twin_port: int, *, port: int = 0, host: str = LOOPBACK, rover=None):
        self.host = check_host(host)
        self.twin = (self.host, check_port(twin_port, "twin port"))
        self.port = self._bind(self.host, port, "ground port", "--tm-port")
        self.seq = 0
        self.rover = rover
        self.hk: list[dict] = []
        self.events: list[dict] = []
        self.bad = 0
        self.clock = None  # a callable giving the simulated time: received packets get it as rx_unix_s

    def send(self, name: str, **args) -> int:
        """Send a telecommand; returns its sequence count."""
        self.seq = (self.seq + 1) & K.MAX_SEQ
        self.sock.sendto(K.tc_packet(name, self.seq, **args), self.twin)
        return self.seq

    def send_raw(self, data: bytes) -> None:
        """Send ``data`` to the twin as one datagram, unchecked."""
        self.sock.sendto(bytes(data), self.twin)

    def collect(self, wait_s: float = 0.0) -> int:
        """Read every telemetry packet waiting (up to ``wait_s`` wall seconds for the first)."""
        n = 0
        while True:
            r, _, _ = select.select([self.sock], [], [], wait_s if n == 0 else 0.0)
            if not r:
                return n
            data, _ = self.sock.recvfrom(MAX_DATAGRAM)
            n += 1
            try:
                kind, v = K.decode_tm(data, self.rover)
            except K.PacketError:
                self.bad += 1
                continue
            if self.clock is not None:
                v["rx_unix_s"] = float(self.clock())
            (self.hk if kind == "HK" else self.events).append(v)

    def events_for(self, seq: int) -> list[dict]:
        """The events received for the telecommand of sequence count ``seq``."""
        return [e for e in self.events if e["tc_seq"] == seq]
