"""``lupex ephem`` (the command function): the Sun at the pole within its published +-1.6 deg band, its
distance within 0.980-1.020 au (the Earth's 0.983-1.017 au plus the Moon's 0.0026 au orbit), the Earth's
within the lunar orbit's range, and bad input refused."""

import json

import pytest

from lupex.cli import ephem as ephem_cli
from lupex.errors import LupexError

AU_KM = 149_597_870.7


def test_json_rows_at_the_pole(capsys):
    times = ["2027-01-01T00:00:00", "2027-03-20T12:00:00", "2027-06-21T00:00:00"]
    ephem_cli.ephem(time_=times, lat=-90.0, lon=0.0, height=0.0, as_json=True)
    rows = json.loads(capsys.readouterr().out)
    assert [r["time_utc"] for r in rows] == times
    for r in rows:
        # the Sun's elevation at the pole stays within about +-1.6 deg (docs/REFERENCES.md#polar-sun-geometry)
        assert abs(r["sun"]["elevation_deg"]) < 1.6
        # the Earth's perihelion/aphelion 0.9833/1.0167 au, plus or minus the Moon's 384,400 km (0.0026 au)
        assert 0.980 * AU_KM < r["sun"]["distance_km"] < 1.020 * AU_KM
        assert 356_000 < r["earth"]["distance_km"] < 407_000   # perigee / apogee
        assert abs(r["subsolar_point"]["lat_deg"]) < 1.6
        # at the pole the Sun's elevation is minus the sub-solar point's colatitude complement: el = -lat_ss (+ parallax)
        assert r["sun"]["elevation_deg"] == pytest.approx(-r["subsolar_point"]["lat_deg"], abs=0.02)


def test_one_time_prints_one_object_and_a_table_without_json(capsys):
    ephem_cli.ephem(time_=["2027-01-01T00:00:00"], lat=-89.9, lon=45.0, height=2.0, as_json=True)
    row = json.loads(capsys.readouterr().out)
    assert row["observer"] == {"lat_deg": -89.9, "lon_deg": 45.0, "height_m": 2.0}
    ephem_cli.ephem(time_=["2027-01-01T00:00:00"], lat=-89.9, lon=45.0, height=2.0, as_json=False)
    assert "sun el" in capsys.readouterr().out


@pytest.mark.parametrize("kw", [{"lat": 91.0}, {"lon": float("nan")}, {"height": 2e6}])
def test_bad_observer_is_refused(kw):
    args = {"lat": -89.9, "lon": 0.0, "height": 0.0, **kw}
    with pytest.raises(LupexError, match="must be a finite number"):
        ephem_cli.ephem(time_=["2027-01-01T00:00:00"], as_json=True, **args)
