"""Packets of the twin: the CCSDS primary header laid out by hand (CCSDS 133.0-B-2 section 4.1.3), round trips,
and a decoder that never raises on hostile bytes."""

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lupex.ops import packets as K


def _header_by_hand(ptype: int, apid: int, seq: int, n_data: int) -> bytes:
    """CCSDS 133.0-B-2 4.1.3: version 000, type, sec-hdr flag 0, APID (11 bits) | seq flags 11, count (14 bits) |
    data length - 1 -- written from the Blue Book's bit layout, not from the library."""
    word1 = (0 << 13) | (ptype << 12) | (0 << 11) | apid
    word2 = (0b11 << 14) | seq
    return struct.pack(">HHH", word1, word2, n_data - 1)


def test_tc_header_is_the_blue_book_layout():
    b = K.tc_packet("DRIVE_TO", 77, x_m=12.5, y_m=-3.0)
    assert b[:6] == _header_by_hand(1, K.APID_TC, 77, len(b) - 6)
    assert b[6] == K.Opcode.DRIVE_TO
    assert struct.unpack(">dd", b[7:]) == (12.5, -3.0)


def test_tm_header_is_the_blue_book_layout():
    vals = {f.name: 1 for f in K.hk_fields()}
    b = K.tm_packet(K.APID_HK, K.MAX_SEQ + 3, K.hk_fields(), vals)  # the count wraps at 14 bits
    assert b[:6] == _header_by_hand(0, K.APID_HK, 2, len(b) - 6)
    kind, v = K.decode_tm(b)
    assert kind == "HK" and v["soc"] == 1.0 and v["mode"] == 1


@pytest.mark.parametrize("cd", K.COMMANDS, ids=lambda c: c.name)
def test_every_command_round_trips(cd):
    args = {a.name: (a.lo if a.lo is not None else 1.25) for a in cd.args}
    tc = K.decode_tc(K.tc_packet(cd.name, 9, **args))
    assert isinstance(tc, K.Telecommand) and tc.opcode == cd.opcode and tc.seq == 9
    for a in cd.args:
        assert math.isclose(tc.args[a.name], args[a.name], rel_tol=1e-6)


def _with(b: bytes, i: int, value: int) -> bytes:
    return b[:i] + bytes([value]) + b[i + 1:]


@pytest.mark.parametrize("mutate,reason", [
    (lambda b: b[:-1], K.Reason.MALFORMED),  # shorter than its length field
    (lambda b: b + b"\x00", K.Reason.MALFORMED),  # longer
    (lambda b: b[:5], K.Reason.MALFORMED),  # not even a header
    (lambda b: _with(b, 0, b[0] & 0xEF), K.Reason.MALFORMED),  # type bit cleared: telemetry, not a command
    (lambda b: _with(b, 1, 0x01), K.Reason.MALFORMED),  # APID 1
    (lambda b: _with(b, 0, b[0] | 0x20), K.Reason.MALFORMED),  # version 1
    (lambda b: _with(b, 6, 99), K.Reason.UNKNOWN_OPCODE),
    (lambda b: b[:7] + struct.pack(">dd", math.nan, 0.0), K.Reason.BAD_ARGUMENT),
])
def test_malformed_commands_are_named(mutate, reason):
    bad = K.decode_tc(mutate(K.tc_packet("DRIVE_TO", 5, x_m=1.0, y_m=2.0)))
    assert isinstance(bad, K.Malformed) and bad.reason == reason and bad.detail


def test_arguments_out_of_range_are_refused():
    data = bytearray(K.tc_packet("DRILL", 3, depth_m=1.0))
    data[7:11] = struct.pack(">f", 2.5)  # deeper than the 1.5 m drill reach
    bad = K.decode_tc(bytes(data))
    assert isinstance(bad, K.Malformed) and bad.reason == K.Reason.BAD_ARGUMENT
    with pytest.raises(K.PacketError):
        K.tc_packet("DRILL", 3, depth=1.0)
    with pytest.raises(K.PacketError):
        K.tc_packet("LAUNCH", 3)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80))
def test_decoder_never_raises_on_random_bytes(data):
    out = K.decode_tc(data)
    assert isinstance(out, (K.Telecommand, K.Malformed))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(K.COMMANDS), st.integers(0, K.MAX_SEQ), st.binary(max_size=24))
def test_decoder_never_raises_on_valid_headers_with_random_payloads(cd, seq, payload):
    n = len(payload)
    head = _header_by_hand(1, K.APID_TC, seq, max(n, 1))
    out = K.decode_tc(head + (payload or b"\x00"))
    assert isinstance(out, (K.Telecommand, K.Malformed))
    if isinstance(out, K.Telecommand):  # whatever decodes passed every range check
        c = K.COMMAND_BY_OPCODE[out.opcode]
        for a in c.args:
            v = out.args[a.name]
            assert math.isfinite(v) and (a.lo is None or v >= a.lo) and (a.hi is None or v <= a.hi)
