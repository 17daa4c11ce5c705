"""PDS3 label pieces by hand: numbers with units, lengths in metres, the ODL parser's nesting, the polar CRS
of the Moon's sphere and of another one."""

import pytest
from pyproj import CRS, Transformer

from lupex.errors import InputError
from lupex.terrain import pds3

LABEL = """PDS_VERSION_ID = PDS3
/* a comment */
OBJECT = IMAGE
  LINES = 3
  LINE_SAMPLES = 4
  SAMPLE_TYPE = LSB_INTEGER
END_OBJECT = IMAGE
OBJECT = IMAGE_MAP_PROJECTION
  MAP_SCALE = 0.02 <KM/PIXEL>
  A_AXIS_RADIUS = 1737.4 <KM>
  TARGET_NAME = "MOON"
END_OBJECT = IMAGE_MAP_PROJECTION
END
"""


def test_numbers_and_lengths():
    assert pds3.label_number("20 <METERS/PIXEL>") == (20.0, "METERS/PIXEL")
    assert pds3.label_number("1.5D3") == (1500.0, None)
    assert pds3.label_number("7", "KM") == (7.0, "KM")
    assert pds3.length_m("1737.4 <KM>", "KM", "radius", "x.lbl") == pytest.approx(1_737_400.0)
    assert pds3.length_m("20", "METERS/PIXEL", "scale", "x.lbl") == 20.0
    with pytest.raises(InputError, match="scale"):
        pds3.length_m("3 <DEGREES>", "KM", "scale", "x.lbl")


def test_label_parses_into_nested_objects():
    lab = pds3.parse_pds3_label(LABEL)
    assert lab["IMAGE"]["LINES"] == "3" and lab["IMAGE"]["LINE_SAMPLES"] == "4"
    proj = lab["IMAGE_MAP_PROJECTION"]
    assert pds3.length_m(proj["MAP_SCALE"], "KM/PIXEL", "MAP_SCALE", "x.lbl") == pytest.approx(20.0)
    assert proj["TARGET_NAME"] == "MOON"


def test_polar_crs_of_the_moon_and_of_another_sphere(tmp_path):
    assert pds3.polar_crs(-90.0, 0.0, 1_737_400.0) == "IAU_2015:30135"
    assert pds3.polar_crs(90.0, 0.0, 1_737_400.0) == "IAU_2015:30130"
    other = CRS.from_user_input(pds3.polar_crs(-90.0, 0.0, 1_737_150.0))
    assert other.ellipsoid.semi_major_metre == pytest.approx(1_737_150.0)
    assert other.is_projected and "Stereographic" in other.coordinate_operation.method_name
    x, y = Transformer.from_crs(other.geodetic_crs, other, always_xy=True).transform(0.0, -90.0)
    assert abs(x) < 1e-6 and abs(y) < 1e-6   # the south pole at the origin
    (tmp_path / "a.txt").write_text(LABEL)
    (tmp_path / "b.txt").write_text("hello")
    assert pds3.is_pds3(tmp_path / "a.txt") and not pds3.is_pds3(tmp_path / "b.txt")
