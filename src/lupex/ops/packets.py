"""Telemetry and telecommand packets of the twin: CCSDS Space Packets, one table of fields as the source of truth.

Framing follows the CCSDS Space Packet Protocol (CCSDS 133.0-B-2, Blue Book,
2020; docs/REFERENCES.md#ccsds-spp): a 6-byte primary header -- version (3
bits, 0), type (1 bit: 0 telemetry, 1 telecommand), secondary-header flag,
APID (11 bits), sequence flags (2 bits, 3 = unsegmented), a 14-bit sequence
count, and the packet data length field, which holds the number of octets in
the data field *minus one* -- followed by the data field (1..65536 octets).
The header is built and parsed with the maintained ``spacepackets`` library;
the data field is our own fixed big-endian layout, described field by field
below (name, struct code, unit, meaning, valid range). The same tables make
the XTCE mission database (:mod:`lupex.ops.mdb`), so the decoder, the encoder
and the ground's database cannot drift apart.

Packets (no secondary header; the data field starts with the time):

* APID 100, ``HK``: housekeeping, one per telemetry period.
* APID 101, ``EVENT``: a command acknowledgement, completion, refusal or abort,
  with a reason code (:class:`Reason`).
* APID 200, ``TC``: a telecommand: an opcode octet, then its arguments.

A malformed datagram never raises out of :func:`decode_tc`; it returns a
:class:`Malformed` with the reason, which the twin reports in an EVENT.
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass
from dataclasses import fields as dc_fields

from spacepackets.ccsds.spacepacket import PacketType, SequenceFlags, SpacePacketHeader

from lupex.errors import LupexError
from lupex.instruments.drill import MAX_DEPTH_M
from lupex.rover.vehicle import MODES, RoverParams

APID_HK = 100
APID_EVENT = 101
APID_TC = 200
HEADER_LEN = 6
MAX_SEQ = 0x3FFF
SETPOINT_RANGE_K = (150.0, 350.0)
"""Heater set points a SET_HEATER may command (K): an operational guard, not a physical limit."""
NO_SEQ = 0xFFFF
"""Sequence count put in an EVENT that answers a datagram whose header could not be read."""


class PacketError(LupexError):
    """A packet or an argument cannot be encoded (a value out of its range or type)."""


class Reason(enum.IntEnum):
    """Why a command was refused, aborted or stopped (EVENT ``reason``)."""

    OK = 0
    MALFORMED = 1  # header unreadable, wrong APID/type/length, or arguments too short/long
    UNKNOWN_OPCODE = 2
    BAD_ARGUMENT = 3  # NaN, out of range
    HIBERNATING = 4  # only WAKE and SET_HEATER are executed in hibernation
    BUSY = 5  # an activity is running
    OUT_OF_MAP = 6  # goal outside the DEM window the twin simulates
    SLOPE_LIMIT = 7  # a cell on the way is beyond the uphill/downhill/cross-slope limits
    NO_DAYLIGHT = 8  # the rover is in shadow (drive, survey and drill need the Sun)
    NO_EARTH = 9  # Earth out of view: drives are done with operators in the loop
    INSUFFICIENT_ENERGY = 10  # the activity would take the battery below its floor (plus reserve)
    DARK_BEFORE_ARRIVAL = 11  # a cell on the way is dark when the rover would reach it
    LOS_ABORT = 12  # Earth set during a drive: the rover stopped and waits
    DRILL_STALLED = 13  # a rock stopped the drill above the commanded depth
    BATTERY_FLOOR = 14  # the battery hit soc_min: loads shed, rover hibernates
    THERMAL_LIMIT = 15  # a node is below its survival temperature
    END_OF_LIGHT = 16  # the simulated span ends
    RESTARTED = 17  # the twin was restarted from its saved state; a running activity was lost


class Status(enum.IntEnum):
    """Outcome of a telecommand, as its events report it."""

    ACCEPTED = 0
    COMPLETED = 1
    REFUSED = 2
    ABORTED = 3


class Opcode(enum.IntEnum):
    """Telecommand opcodes (the first octet of a TC data field)."""

    NOOP = 0
    DRIVE_TO = 1
    SURVEY_LEG = 2
    DRILL = 3
    HIBERNATE = 4
    WAKE = 5
    SET_HEATER = 6


MODE_CODES = {m: i for i, m in enumerate(MODES)}
"""Rover mode -> octet in HK (the order of :data:`lupex.rover.vehicle.MODES`)."""


@dataclass(frozen=True)
class Field:
    """One field of a packet's data field: name, struct code (big-endian), unit, meaning, valid range."""

    name: str
    code: str  # 'd' float64, 'f' float32, 'B' uint8, 'H' uint16, 'I' uint32
    unit: str
    help: str
    lo: float | None = None
    hi: float | None = None
    enum: tuple[tuple[int, str], ...] = ()
    alarm_lo: float | None = None
    alarm_hi: float | None = None
    source: str = ""  # where the unit, range or alarm limits come from (lupex parameter metadata)

    @property
    def size(self) -> int:
        """Size of the field in octets."""
        return struct.calcsize(">" + self.code)


def _enum(e) -> tuple[tuple[int, str], ...]:
    return tuple((int(v), v.name) for v in e)


def _meta(obj, name: str) -> tuple[str, str]:
    """(unit, source) of a parameter field from its ``param`` metadata."""
    for f in dc_fields(obj):
        if f.name == name:
            return f.metadata.get("unit", ""), f"{type(obj).__name__}.{name}: {f.metadata.get('source', '')}"
    raise KeyError(name)


def hk_fields(rover: RoverParams | None = None) -> tuple[Field, ...]:
    """HK packet fields.

    Where a field is a rover quantity, its unit comes from that parameter's metadata and its valid and alarm
    ranges from the rover's own parameters (capacity, soc_min, survival temperatures, radio rate).
    """
    r = rover or RoverParams()
    te, tb = r.thermal.electronics, r.thermal.battery
    b = r.battery
    u_wh, s_wh = _meta(b, "capacity_wh")
    u_soc, s_soc = _meta(b, "soc_min")
    u_k, s_te = _meta(te, "survival_min_k")
    _, s_tb = _meta(tb, "survival_min_k")
    u_sp, s_sp = _meta(te, "heater_setpoint_k")
    u_hw, s_hw = _meta(te, "heater_max_w")
    u_rate, s_rate = _meta(r.comms, "max_rate_bps")
    u_thr, s_thr = _meta(r.comms, "earth_threshold")
    return (
        Field("utc_unix_s", "d", "s", "simulation time of the sample, UTC seconds since 1970-01-01"),
        Field("x_m", "d", "m", "rover easting in the DEM's projected CRS"),
        Field("y_m", "d", "m", "rover northing in the DEM's projected CRS"),
        Field("heading_deg", "f", "deg", "rover heading, grid azimuth clockwise from grid north", 0.0, 360.0),
        Field("mode", "B", "-", "operating mode", 0, len(MODES) - 1, tuple(enumerate(MODES))),
        Field("activity", "B", "-", "running command (NOOP = none)", 0, max(Opcode), _enum(Opcode)),
        Field("soc", "f", u_soc, "battery state of charge", 0.0, 1.0, alarm_lo=b.soc_min, source=s_soc),
        Field("battery_wh", "f", u_wh, "stored battery energy", 0.0, b.capacity_wh, source=s_wh),
        Field("solar_w", "f", "W", "array power over the last step", 0.0, 5000.0),
        Field("load_w", "f", "W", "bus load over the last step, heaters included", 0.0, 5000.0),
        Field("heater_w", "f", u_hw, "thermostatic heater power over the last step", 0.0, te.heater_max_w + tb.heater_max_w,
              source=s_hw),
        Field("electronics_k", "f", u_k, "warm electronics box temperature", 0.0, 500.0,
              alarm_lo=te.survival_min_k, alarm_hi=te.survival_max_k, source=s_te),
        Field("battery_k", "f", u_k, "battery temperature", 0.0, 500.0,
              alarm_lo=tb.survival_min_k, alarm_hi=tb.survival_max_k, source=s_tb),
        Field("electronics_setpoint_k", "f", u_sp, "electronics heater set point", SETPOINT_RANGE_K[0], SETPOINT_RANGE_K[1],
              source=s_sp),
        Field("battery_setpoint_k", "f", u_sp, "battery heater set point", SETPOINT_RANGE_K[0], SETPOINT_RANGE_K[1], source=s_sp),
        Field("sun_fraction", "f", "fraction 0-1", "visible fraction of the solar disk at the rover", 0.0, 1.0),
        Field("earth_fraction", "f", u_thr, "visible fraction of Earth's disk at the rover", 0.0, 1.0, source=s_thr),
        Field("link_rate_bps", "f", u_rate, "direct-to-Earth rate the link budget allows", 0.0, r.comms.max_rate_bps,
              source=s_rate),
        Field("light_time_s", "f", "s", "one-way light time to Earth", 1.0, 1.5),
        Field("slope_deg", "f", "deg", "terrain slope under the rover", 0.0, 90.0),
        Field("next_dark_h", "f", "h", "time until the rover's cell goes dark (capped at the series end; 0 = dark now)", 0.0, 1e5),
        Field("odometer_m", "d", "m", "distance driven since the start"),
        Field("drill_depth_m", "f", "m", "deepest hole drilled at the current spot", 0.0, MAX_DEPTH_M),
        Field("ns_rate_cps", "f", "counts/s", "neutron spectrometer epithermal count rate (survey legs; 0 otherwise)", 0.0, 1e4),
        Field("tc_received", "H", "-", "telecommands received (mod 65536)"),
        Field("tc_refused", "H", "-", "telecommands refused (mod 65536)"),
        Field("last_tc_seq", "H", "-", "sequence count of the last telecommand received (65535 = unreadable)"),
    )


EVENT_FIELDS = (
    Field("utc_unix_s", "d", "s", "simulation time of the event, UTC seconds since 1970-01-01"),
    Field("tc_seq", "H", "-", "sequence count of the telecommand this answers (65535 = unreadable header)"),
    Field("opcode", "B", "-", "opcode of that telecommand (255 = unreadable)", enum=_enum(Opcode) + ((255, "UNREADABLE"),)),
    Field("status", "B", "-", "what happened to it", enum=_enum(Status)),
    Field("reason", "B", "-", "why (OK when accepted or completed)", enum=_enum(Reason)),
    Field("value", "f", "-", "a number the event reports: depth reached (m) for DRILL, distance left (m) for drives"),
)


@dataclass(frozen=True)
class CommandDef:
    """One telecommand: name, opcode, argument fields and help text."""

    name: str
    opcode: Opcode
    args: tuple[Field, ...]
    help: str


COMMANDS = (
    CommandDef("NOOP", Opcode.NOOP, (), "do nothing; answered with COMPLETED (round-trip test)"),
    CommandDef("DRIVE_TO", Opcode.DRIVE_TO, (Field("x_m", "d", "m", "goal easting (DEM CRS)"),
                                              Field("y_m", "d", "m", "goal northing (DEM CRS)")),
               "drive in a straight line to (x, y)"),
    CommandDef("SURVEY_LEG", Opcode.SURVEY_LEG, (Field("x_m", "d", "m", "leg end easting (DEM CRS)"),
                                                  Field("y_m", "d", "m", "leg end northing (DEM CRS)")),
               "drive to (x, y) with the neutron spectrometer and GPR running"),
    CommandDef("DRILL", Opcode.DRILL, (Field("depth_m", "f", "m", "depth to drill to", 0.01, MAX_DEPTH_M),),
               "drill from the surface to depth_m at the current spot"),
    CommandDef("HIBERNATE", Opcode.HIBERNATE, (), "shed loads and hibernate (transmitter off, receiver on)"),
    CommandDef("WAKE", Opcode.WAKE, (), "leave hibernation to standby"),
    CommandDef("SET_HEATER", Opcode.SET_HEATER, (Field("node", "B", "-", "0 = electronics, 1 = battery", 0, 1),
                                                  Field("setpoint_k", "f", "K", "new thermostat set point",
                                                        SETPOINT_RANGE_K[0], SETPOINT_RANGE_K[1])),
               "change a heater's thermostat set point"),
)
COMMAND_BY_OPCODE = {c.opcode: c for c in COMMANDS}
COMMAND_BY_NAME = {c.name: c for c in COMMANDS}


def _fmt(fields) -> str:
    return ">" + "".join(f.code for f in fields)


def _header(ptype: PacketType, apid: int, seq: int, n_data: int) -> bytes:
    if not 1 <= n_data <= 65536:
        raise PacketError(f"a space packet data field holds 1 to 65536 octets, got {n_data}")
    return SpacePacketHeader(packet_type=ptype, apid=apid, seq_count=seq & MAX_SEQ, data_len=n_data - 1,
                             seq_flags=SequenceFlags.UNSEGMENTED).pack()


def pack_fields(fields, values: dict) -> bytes:
    """The data field of ``values`` (a dict by field name) laid out as ``fields``; PacketError on a bad value."""
    out = []
    for f in fields:
        v = values[f.name]
        if f.code in "BHI":
            iv = int(v)
            hi = {"B": 0xFF, "H": 0xFFFF, "I": 0xFFFFFFFF}[f.code]
            if not 0 <= iv <= hi:
                raise PacketError(f"{f.name} = {v} does not fit an unsigned {8 * f.size}-bit field")
            out.append(iv)
        else:
            out.append(float(v))
    return struct.pack(_fmt(fields), *out)


def tm_packet(apid: int, seq: int, fields, values: dict) -> bytes:
    """A telemetry Space Packet (header and data field) of ``values`` packed as ``fields``.

    Parameters
    ----------
    apid : int
        Application process identifier.
    seq : int
        Packet sequence count.
    fields : sequence of Field
        The data field's layout.
    values : dict
        Value of each field, in the field's unit.
    """
    data = pack_fields(fields, values)
    return _header(PacketType.TM, apid, seq, len(data)) + data


def tc_packet(name: str, seq: int, **args) -> bytes:
    """A telecommand packet: ``tc_packet("DRIVE_TO", 7, x_m=..., y_m=...)``."""
    try:
        cd = COMMAND_BY_NAME[name]
    except KeyError:
        raise PacketError(f"unknown telecommand {name!r}; known: {', '.join(COMMAND_BY_NAME)}") from None
    missing = {a.name for a in cd.args} - set(args)
    extra = set(args) - {a.name for a in cd.args}
    if missing or extra:
        raise PacketError(f"{name} takes {', '.join(a.name for a in cd.args) or 'no arguments'}; "
                          f"got {', '.join(sorted(args)) or 'none'}")
    data = bytes([int(cd.opcode)]) + pack_fields(cd.args, args)
    return _header(PacketType.TC, APID_TC, seq, len(data)) + data


@dataclass(frozen=True)
class Packet:
    """A decoded Space Packet header (APID, sequence count, TC or TM) and its data field."""

    apid: int
    seq: int
    is_tc: bool
    data: bytes


def parse(datagram: bytes) -> Packet:
    """Primary header and data field of one space packet filling ``datagram`` exactly; PacketError otherwise."""
    if len(datagram) < HEADER_LEN + 1:
        raise PacketError(f"{len(datagram)} octets is shorter than a space packet (7 at least)")
    try:
        h = SpacePacketHeader.unpack(bytes(datagram[:HEADER_LEN]))
    except Exception as exc:  # the library's own parse errors: report, never raise past here
        raise PacketError(f"unreadable primary header: {exc}") from None
    if h.ccsds_version != 0:
        raise PacketError(f"packet version {h.ccsds_version} is not 0 (CCSDS 133.0-B-2)")
    total = HEADER_LEN + h.data_len + 1
    if total != len(datagram):
        raise PacketError(f"length field says {total} octets, the datagram holds {len(datagram)}")
    return Packet(h.apid, h.seq_count, h.packet_type == PacketType.TC, bytes(datagram[HEADER_LEN:]))


def unpack_fields(fields, data: bytes) -> dict:
    """Values of ``fields`` read from a data field; PacketError when its length is wrong."""
    fmt = _fmt(fields)
    if len(data) != struct.calcsize(fmt):
        raise PacketError(f"data field holds {len(data)} octets, {struct.calcsize(fmt)} expected")
    return dict(zip((f.name for f in fields), struct.unpack(fmt, data)))


def _as_stored(f: Field, v):
    if v is None or f.code != "f":
        return v
    return struct.unpack(">f", struct.pack(">f", v))[0]


@dataclass(frozen=True)
class Telecommand:
    """A well-formed telecommand: sequence count, opcode and arguments."""

    seq: int
    opcode: Opcode
    args: dict


@dataclass(frozen=True)
class Malformed:
    """A telecommand that could not be decoded, and why."""

    seq: int  # NO_SEQ when the header could not be read
    opcode: int  # 255 when unknown
    reason: Reason
    detail: str


def decode_tc(datagram: bytes) -> Telecommand | Malformed:
    """A telecommand, or :class:`Malformed` saying why not. Never raises on any input."""
    try:
        p = parse(datagram)
    except PacketError as exc:
        return Malformed(NO_SEQ, 255, Reason.MALFORMED, str(exc))
    if not p.is_tc or p.apid != APID_TC:
        return Malformed(p.seq, 255, Reason.MALFORMED, f"not a telecommand for APID {APID_TC} (type TC={p.is_tc}, APID {p.apid})")
    op = p.data[0]
    try:
        cd = COMMAND_BY_OPCODE[Opcode(op)]
    except ValueError:
        return Malformed(p.seq, op, Reason.UNKNOWN_OPCODE, f"opcode {op} is not one of {[int(o) for o in Opcode]}")
    try:
        args = unpack_fields(cd.args, p.data[1:])
    except PacketError as exc:
        return Malformed(p.seq, op, Reason.MALFORMED, f"{cd.name}: {exc}")
    for a in cd.args:
        v = args[a.name]
        if isinstance(v, float) and not math.isfinite(v):
            return Malformed(p.seq, op, Reason.BAD_ARGUMENT, f"{cd.name}.{a.name} is {v}")
        lo, hi = (_as_stored(a, a.lo), _as_stored(a, a.hi))  # a float32 bound compares as it is stored
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return Malformed(p.seq, op, Reason.BAD_ARGUMENT, f"{cd.name}.{a.name} = {v} outside [{a.lo}, {a.hi}] {a.unit}")
    return Telecommand(p.seq, Opcode(op), args)


def decode_tm(datagram: bytes, rover: RoverParams | None = None) -> tuple[str, dict]:
    """("HK" | "EVENT", values) of a telemetry packet; PacketError when it is neither."""
    p = parse(datagram)
    if p.is_tc:
        raise PacketError("a telecommand is not telemetry")
    if p.apid == APID_HK:
        return "HK", unpack_fields(hk_fields(rover), p.data) | {"seq": p.seq}
    if p.apid == APID_EVENT:
        return "EVENT", unpack_fields(EVENT_FIELDS, p.data) | {"seq": p.seq}
    raise PacketError(f"unknown telemetry APID {p.apid}")
