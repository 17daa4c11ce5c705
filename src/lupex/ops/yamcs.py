"""Optional Yamcs ground segment for ``lupex ops --yamcs``: configuration, start, readiness and stop.

Yamcs (https://yamcs.org; docs/REFERENCES.md#yamcs) is AGPL-3.0 and runs here as a
separate, unmodified Java process: lupex writes its configuration files, starts
``org.yamcs.YamcsServer`` from the jars of the ``fprime-yamcs-bundle`` wheel
(the ``ops`` extra) and talks to it only over UDP (the space link) and HTTP
(its API, for tests). What it is given:

* the XTCE mission database of :mod:`lupex.ops.mdb` (``mdb/lupex.xml``);
* a UDP telemetry link listening on the twin's telemetry port and a UDP
  telecommand link sending to the twin's telecommand port, both on 127.0.0.1
  (Yamcs' ISS command postprocessor fills in the packet length and the
  sequence count of each command it sends; no checksum);
* the archive services (packets, parameters, alarms, command history) writing
  under ``--yamcs-dir`` (RocksDB), which survives a restart: a Yamcs killed and
  started again on the same directory still has what it had archived;
* its web interface and HTTP API on 127.0.0.1 (``--yamcs-port``).

Needs a Java 17+ runtime (Debian: ``openjdk-17-jre-headless``).
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from lupex import io
from lupex.errors import LupexError
from lupex.ops import packets as K

log = logging.getLogger(__name__)
INSTANCE = "lupex"
MIN_JAVA = 17


class YamcsMissing(LupexError):
    """Java or the Yamcs server jars are not installed."""


class YamcsError(LupexError):
    """Yamcs did not start (port taken, bad directory); the message points at its log."""


def java_major(java: str) -> int | None:
    """Major version of a Java runtime (``java -version``), or None if it does not answer."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def require_yamcs() -> tuple[str, Path]:
    """(java executable, directory of the Yamcs jars), or :class:`YamcsMissing` naming what to install."""
    java = shutil.which("java")
    if java is None:
        raise YamcsMissing("--yamcs needs a Java 17+ runtime: install it (Debian/Ubuntu: apt-get install "
                           "openjdk-17-jre-headless) and pip install 'lupex[ops]'")
    v = java_major(java)
    if v is None or v < MIN_JAVA:
        raise YamcsMissing(f"--yamcs needs Java {MIN_JAVA}+, {java} is {v or 'unreadable'}: install "
                           "openjdk-17-jre-headless (Debian/Ubuntu) and put it first on PATH")
    try:  # the optional AGPL jar bundle: only --yamcs needs it
        import fprime_yamcs_bundle  # noqa: PLC0415  optional dependency (the ops extra)
    except ImportError:
        raise YamcsMissing("--yamcs needs the Yamcs server jars: pip install 'lupex[ops]' "
                           "(the fprime-yamcs-bundle wheel, AGPL-3.0, run as a separate process)") from None
    lib = Path(fprime_yamcs_bundle.LIB_DIR)
    if not any(lib.glob("yamcs-core-*.jar")):
        raise YamcsMissing(f"no yamcs-core jar in {lib}: reinstall it with pip install --force-reinstall fprime-yamcs-bundle")
    return java, lib


_SERVER = """\
services:
  - class: org.yamcs.http.HttpServer
    args:
      address: 127.0.0.1
      port: {http_port}
instances:
  - {instance}
secretKey: lupex-ops-loopback-only
"""

_INSTANCE = """\
services:
  - class: org.yamcs.archive.XtceTmRecorder
  - class: org.yamcs.archive.ParameterRecorder
  - class: org.yamcs.archive.AlarmRecorder
  - class: org.yamcs.archive.EventRecorder
  - class: org.yamcs.archive.ReplayServer
  - class: org.yamcs.ProcessorCreatorService
    args:
      name: realtime
      type: realtime
  - class: org.yamcs.archive.CommandHistoryRecorder
  - class: org.yamcs.parameterarchive.ParameterArchive
    args:
      realtimeFiller:
        enabled: true

dataLinks:
  - name: twin-tm
    class: org.yamcs.tctm.UdpTmDataLink
    stream: tm_realtime
    port: {tm_port}
    packetPreprocessorClassName: org.yamcs.tctm.GenericPacketPreprocessor
    packetPreprocessorArgs:
      timestampOffset: -1   # the packets have no secondary header: stamp them on reception
      seqCountOffset: -1
  - name: twin-tc
    class: org.yamcs.tctm.UdpTcDataLink
    stream: tc_realtime
    host: 127.0.0.1
    port: {tc_port}
    commandPostprocessorClassName: org.yamcs.tctm.IssCommandPostprocessor  # fills the length and sequence count
    commandPostprocessorArgs:
      enableChecksum: false   # CCSDS 133.0-B-2 packets without a secondary header carry no checksum

mdb:
  - type: xtce
    args:
      file: {mdb}

streamConfig:
  tm:
    - name: tm_realtime
      processor: realtime
    - name: tm_dump
  cmdHist: ["cmdhist_realtime", "cmdhist_dump"]
  event: ["events_realtime", "events_dump"]
  param: ["pp_realtime", "sys_param", "proc_param"]
  parameterAlarm: ["alarms_realtime"]
  eventAlarm: ["event_alarms_realtime"]
  tc:
    - name: tc_realtime
      processor: realtime
"""

_PROCESSOR = """\
realtime:
  services:
    - class: org.yamcs.StreamTmPacketProvider
    - class: org.yamcs.StreamTcCommandReleaser
    - class: org.yamcs.tctm.StreamParameterProvider
    - class: org.yamcs.algorithms.AlgorithmManager
    - class: org.yamcs.parameter.LocalParameterManager
  config:
    subscribeAll: true
    persistParameters: true
    alarm:
      parameterCheck: true
      parameterServer: enabled
Archive:
  services:
    - class: org.yamcs.tctm.ReplayService
  config:
    subscribeAll: true
ParameterArchive:
  services:
    - class: org.yamcs.tctm.ReplayService
  config:
    subscribeAll: true
ArchiveRetrieval:
  services:
    - class: org.yamcs.tctm.ReplayService
  config:
    subscribeAll: true
"""


_LOGGING = """\
# Yamcs' log (yamcs.log) in plain text, without a line per HTTP request: the console polls the archive
handlers = java.util.logging.ConsoleHandler
java.util.logging.ConsoleHandler.level = ALL
java.util.logging.ConsoleHandler.formatter = java.util.logging.SimpleFormatter
java.util.logging.SimpleFormatter.format = %1$tF %1$tT.%1$tL %4$s %3$s: %5$s%6$s%n
.level = INFO
org.yamcs.http.HttpRequestHandler.level = WARNING
"""


def write_config(root: Path, xtce_text: str, *, tm_port: int, tc_port: int, http_port: int) -> Path:
    """Write etc/ and mdb/ of a Yamcs server for the twin under ``root``; the data stays in ``root/data``.

    Parameters
    ----------
    root : Path
        The server's directory.
    xtce_text : str
        The XTCE mission database.
    tm_port, tc_port : int
        UDP ports of the telemetry in and the telecommands out.
    http_port : int
        Port of Yamcs' web server and HTTP API.
    """
    root = Path(root)
    mdb = root / "mdb" / "lupex.xml"
    io.write_text(mdb, xtce_text)
    io.write_text(root / "etc" / "yamcs.yaml", _SERVER.format(http_port=http_port, instance=INSTANCE))
    io.write_text(root / "etc" / f"yamcs.{INSTANCE}.yaml",
                  _INSTANCE.format(tm_port=tm_port, tc_port=tc_port, mdb=mdb.absolute().as_posix()))
    io.write_text(root / "etc" / "processor.yaml", _PROCESSOR)
    io.write_text(root / "etc" / "logging.properties", _LOGGING)
    return root


def start(root: Path, java: str, lib: Path) -> subprocess.Popen:
    """Start Yamcs on the configuration in ``root`` (log in ``root/yamcs.log``); returns the process."""
    root = Path(root).absolute()
    logf = open(root / "yamcs.log", "ab")
    cmd = [java, "-cp", f"{lib}/*", "org.yamcs.YamcsServer", "--etc-dir", str(root / "etc"),
           "--data-dir", str(root / "data"), "--cache-dir", str(root / "cache"), "--no-color"]
    try:
        return subprocess.Popen(cmd, cwd=root, stdout=logf, stderr=subprocess.STDOUT)
    finally:
        logf.close()


def wait_ready(proc: subprocess.Popen, http_port: int, root: Path, timeout_s: float = 90.0) -> None:
    """Return when the instance answers on its HTTP API; :class:`YamcsError` if Yamcs exits or is too slow.

    Parameters
    ----------
    proc : subprocess.Popen
        The Yamcs server process.
    http_port : int
        Port of its HTTP API.
    root : Path
        The server's directory (its ``yamcs.log`` is named in the errors).
    timeout_s : float
        Longest wait, wall s.
    """
    url = f"http://127.0.0.1:{http_port}/api/instances/{INSTANCE}"
    t_end = time.monotonic() + timeout_s
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            raise YamcsError(f"Yamcs exited with status {proc.returncode}; see {Path(root) / 'yamcs.log'} "
                             "(a port already in use? pick other --yamcs-port / --tm-port / --tc-port)")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if b'"RUNNING"' in r.read():
                    return
        except OSError:
            pass
        time.sleep(0.5)
    stop(proc)
    raise YamcsError(f"Yamcs did not start within {timeout_s:g} s; see {Path(root) / 'yamcs.log'}")


def stop(proc: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """Stop Yamcs: SIGTERM (it closes its archive cleanly), then SIGKILL after ``timeout_s``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class YamcsGround:
    """The console's ground when Yamcs is the ground segment.

    Telemetry is read back from Yamcs' archive and commands are issued through Yamcs (its HTTP API via
    ``yamcs-client``, LGPL-3.0, the ops extra).

    It has the interface of :class:`lupex.ops.link.Ground` that :class:`lupex.ops.console.GroundConsole` uses
    (``hk``, ``events``, ``seq``, ``collect``, ``send``, ``close``): each ``collect`` asks the archive for the
    packets Yamcs stored since the last one (at most every ``poll_s`` wall seconds) and decodes their raw bytes
    with lupex's own decoder, so the page shows exactly what Yamcs archived; ``send`` issues
    ``/LUPEX/TC/<NAME>`` on the realtime processor, and Yamcs encodes it from the XTCE and sends it to the twin.
    A Yamcs that stops answering is retried at the next poll (``errors`` counts the failures).
    """

    def __init__(self, http_port: int, *, rover=None, history_s: float = 3600.0, poll_s: float = 0.4):
        try:
            from yamcs.client import YamcsClient  # noqa: PLC0415  optional dependency (the ops extra)
        except ImportError:
            raise YamcsMissing("the console on Yamcs needs yamcs-client: pip install 'lupex[ops]'") from None

        self.port = http_port
        self.rover = rover
        self.client = YamcsClient(f"127.0.0.1:{http_port}")
        self.archive = self.client.get_archive(INSTANCE)
        self.processor = self.client.get_processor(INSTANCE, "realtime")
        self.hk: list[dict] = []
        self.events: list[dict] = []
        self.seq = 0
        self.bad = 0
        self.errors = 0
        self.poll_s = poll_s
        self._next_poll = 0.0
        self._last = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=history_s)
        self._seen: set = set()

    def collect(self, wait_s: float = 0.0) -> int:
        """Decode the packets archived since the last call; returns how many were new."""
        now = time.monotonic()
        if now < self._next_poll:
            time.sleep(min(wait_s, self._next_poll - now))
            return 0
        self._next_poll = now + self.poll_s
        try:
            got = list(self.archive.list_packets(start=self._last, page_size=1000))
        except Exception as exc:  # Yamcs restarting or gone: try again at the next poll
            self.errors += 1
            log.debug("Yamcs archive poll failed: %s", exc)
            return 0
        n = 0
        for p in got:
            key = (p.generation_time, p.sequence_number, bytes(p.binary))
            if key in self._seen:
                continue
            if p.generation_time > self._last:
                self._last, self._seen = p.generation_time, set()
            self._seen.add(key)
            n += 1
            try:
                kind, v = K.decode_tm(bytes(p.binary), self.rover)
            except K.PacketError:
                self.bad += 1
                continue
            (self.hk if kind == "HK" else self.events).append(v)
        return n

    def send(self, name: str, **args) -> int:
        """Issue the telecommand through Yamcs; returns this console's count of commands sent."""
        try:
            self.processor.issue_command(f"/LUPEX/TC/{name}", args=args or None)
        except Exception as exc:  # Yamcs down or refusing it: the console answers 502 with this
            raise OSError(f"Yamcs did not take {name}: {exc}") from None
        self.seq += 1
        return self.seq

    def close(self) -> None:
        """Close the Yamcs client (quietly when its server is gone)."""
        try:
            self.client.close()
        except Exception:  # closing a client whose server is gone
            pass
