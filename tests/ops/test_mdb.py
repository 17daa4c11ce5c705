"""The XTCE mission database, read back with the standard library's XML parser and checked against packets the
twin really emits (sizes, order, APIDs) and against the rover's own limits (units, alarms)."""

import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("yamcs.pymdb")

from lupex.ops import packets as K  # noqa: E402
from lupex.ops.mdb import xtce  # noqa: E402
from lupex.rover.vehicle import RoverParams  # noqa: E402

NS = {"x": "http://www.omg.org/spec/XTCE/20180204"}


@pytest.fixture(scope="module")
def root():
    return ET.fromstring(xtce())


def _system(root, name):
    return root.find(f".//x:SpaceSystem[@name='{name}']", NS)


def _types(sub):
    return {t.get("name"): t for t in sub.find("x:TelemetryMetaData/x:ParameterTypeSet", NS)}


def test_root_is_an_xtce_space_system(root):
    assert root.tag == "{%s}SpaceSystem" % NS["x"] and root.get("name") == "LUPEX"


@pytest.mark.parametrize("name,apid,fields", [("HK", K.APID_HK, K.hk_fields()), ("EVENT", K.APID_EVENT, K.EVENT_FIELDS)])
def test_containers_match_the_emitted_packets(root, name, apid, fields):
    sub = _system(root, name)
    cont = sub.find(f".//x:SequenceContainer[@name='{name}_packet']", NS)
    base = cont.find("x:BaseContainer", NS)
    assert base is not None and base.get("containerRef").endswith("ccsds_space_packet")
    cond = base.find(".//x:Condition", NS)
    assert cond.find("x:ParameterInstanceRef", NS).get("parameterRef").endswith("ccsds_packet_id/apid")
    assert cond.find("x:ComparisonOperator", NS).text == "=="
    assert int(cond.find("x:Value", NS).text) == apid
    refs = [e.get("parameterRef") for e in cont.find("x:EntryList", NS)]
    assert refs == [f.name for f in fields]
    types = _types(sub)
    params = {p.get("name"): p.get("parameterTypeRef") for p in sub.find("x:TelemetryMetaData/x:ParameterSet", NS)}
    enc = [next(e for e in types[params[r]] if e.tag.endswith("DataEncoding")) for r in refs]
    bits = sum(int(e.get("sizeInBits")) for e in enc)
    # a packet the twin really sends: its data field is exactly as long as the database says
    packet = K.tm_packet(apid, 1, fields, {f.name: 0 for f in fields})
    assert bits == 8 * (len(packet) - 6)


def test_units_ranges_and_alarms_come_from_the_rover(root):
    r = RoverParams()
    types = _types(_system(root, "HK"))
    bk = types["battery_k"]
    assert bk.find("x:UnitSet/x:Unit", NS).text == "K"
    crit = bk.find(".//x:CriticalRange", NS)
    assert float(crit.get("minInclusive")) == pytest.approx(r.thermal.battery.survival_min_k)
    assert float(crit.get("maxInclusive")) == pytest.approx(r.thermal.battery.survival_max_k)
    assert float(types["battery_wh"].find("x:ValidRange", NS).get("maxInclusive")) == pytest.approx(r.battery.capacity_wh)
    modes = [e.get("label") for e in types["mode"].find("x:EnumerationList", NS)]
    assert modes == ["drive", "science", "drill", "communicate", "standby", "hibernate"]


def test_bigger_battery_moves_the_range(root):
    x = ET.fromstring(xtce(RoverParams(battery=RoverParams().battery.__class__(capacity_wh=6000.0))))
    types = _types(_system(x, "HK"))
    assert float(types["battery_wh"].find("x:ValidRange", NS).get("maxInclusive")) == 6000.0


@pytest.mark.parametrize("cd", K.COMMANDS, ids=lambda c: c.name)
def test_commands_encode_as_the_twin_decodes(root, cd):
    mc = _system(root, "TC").find(f".//x:MetaCommand[@name='{cd.name}']", NS)
    assigns = {a.get("argumentName"): a.get("argumentValue") for a in mc.iter("{%s}ArgumentAssignment" % NS["x"])}
    assert int(assigns["ccsds_apid"]) == K.APID_TC
    entries = list(mc.find("x:CommandContainer/x:EntryList", NS))
    assert entries[0].get("binaryValue") == f"{int(cd.opcode):02X}" and entries[0].get("sizeInBits") == "8"
    assert [e.get("argumentRef") for e in entries[1:]] == [a.name for a in cd.args]
    listed = mc.find("x:ArgumentList", NS)
    assert [a.get("name") for a in (listed if listed is not None else [])] == [a.name for a in cd.args]
    types = {t.get("name"): t for t in _system(root, "TC").find("x:CommandMetaData/x:ArgumentTypeSet", NS)}
    for a in cd.args:
        t = types[f"{cd.name}__{a.name}"]
        unit = t.find("x:UnitSet/x:Unit", NS)
        assert (unit.text if unit is not None else "-") == a.unit


def test_rover_quantities_carry_their_parameter_metadata(root):
    """The unit of a rover quantity is its parameter's own unit, and the database says which parameter."""
    from dataclasses import fields

    meta = {f.name: f.metadata for f in fields(RoverParams().battery)}
    types = _types(_system(root, "HK"))
    assert types["battery_wh"].find("x:UnitSet/x:Unit", NS).text == meta["capacity_wh"]["unit"]
    params = {p.get("name"): p for p in _system(root, "HK").find("x:TelemetryMetaData/x:ParameterSet", NS)}
    desc = params["battery_wh"].find("x:LongDescription", NS)
    assert desc is not None and "BatteryParams.capacity_wh" in desc.text
