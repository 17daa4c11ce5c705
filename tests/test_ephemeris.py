"""Ephemeris checked against SPICE's own az/el routine, skyfield, and published facts."""

import json

import numpy as np
import pytest
import spiceypy as sp

from lupex import ephemeris as eph
from lupex.errors import EphemerisError

SITES = [(-89.9, 0.0, 0.0), (-85.0, 120.0, 1500.0), (-88.74, 124.5, -2000.0), (-89.45, 222.7, 10.0)]


def _times(n=40, seed=1):
    rng = np.random.default_rng(seed)
    base = np.datetime64("2026-01-01T00:00:00", "s")
    return base + rng.integers(0, 10 * 365 * 86400, n).astype("timedelta64[s]")


@pytest.mark.parametrize("lat,lon,h", SITES)
@pytest.mark.parametrize("body", ["SUN", "EARTH"])
def test_matches_spice_azlcpo(lat, lon, h, body):
    """Our az/el equal SPICE's azlcpo (constant-position observer, ellipsoid normal = sphere normal)."""
    times = _times()
    topo = eph.topocentric(body, lat, lon, h, times=times)
    obs_km = eph.surface_point(lat, lon, h) / 1000.0
    for i, e in enumerate(topo.et):
        azl, _lt = sp.azlcpo("ELLIPSOID", body, e, "LT+S", False, True, obs_km, "MOON", "MOON_ME")
        rng, az, el = azl[0], np.degrees(azl[1]), np.degrees(azl[2])
        assert abs(topo.elevation_deg[i] - el) < 1e-6
        daz = (topo.azimuth_deg[i] - az + 180) % 360 - 180
        assert abs(daz) < 1e-6
        assert abs(topo.range_m[i] / 1000 - rng) < 1e-3 * rng / 1e5 + 1e-3


def _skyfield_altaz(body, lat, lon, h, times):
    skyfield = pytest.importorskip("skyfield")
    from skyfield.api import load, load_file
    from skyfield.planetarylib import PlanetaryConstants

    p = eph.kernel_paths()
    ts = load.timescale(builtin=True)
    planets = load_file(str(p["spk"]))
    pc = PlanetaryConstants()
    with open(p["fk"], "rb") as f:
        pc.read_text(f)
    pc.read_binary(open(p["pck"], "rb"))  # skyfield reads it lazily: keep it open
    pc.variables["BODY301_RADII"] = [eph.MOON_RADIUS_M / 1000.0] * 3
    frame = pc.build_frame_named("MOON_ME_DE421")
    place = planets["moon"] + pc.build_latlon_degrees(frame, lat, lon, h)
    dt = times.astype("datetime64[s]").astype("O")
    from datetime import timezone

    t = ts.from_datetimes([d.replace(tzinfo=timezone.utc) for d in dt])
    target = planets["sun" if body == "SUN" else "earth"]
    alt, az, _ = place.at(t).observe(target).apparent().altaz()
    return alt.degrees, az.degrees, skyfield


@pytest.mark.parametrize("body", ["SUN", "EARTH"])
def test_matches_skyfield_independent_implementation(body):
    """skyfield (an independent pure-Python reader of the same kernels) agrees to < 0.01 arcsec (measured 1e-4)."""
    times = _times(25, seed=7)
    lat, lon, h = -89.5, 45.0, 0.0
    alt, az, _ = _skyfield_altaz(body, lat, lon, h, times)
    topo = eph.topocentric(body, lat, lon, h, times=times)
    assert np.max(np.abs(topo.elevation_deg - alt)) < 3e-6
    daz = (topo.azimuth_deg - az + 180) % 360 - 180
    assert np.max(np.abs(daz)) < 3e-6


def test_sun_elevation_at_pole_stays_within_published_band():
    """At the pole the Sun's elevation stays within about +-1.6 deg (docs/REFERENCES.md#polar-sun-geometry: 1.54 deg obliquity plus libration)."""
    times = eph.time_grid("2027-01-01", "2028-01-01", 2.0)
    topo = eph.topocentric("SUN", -90.0, 0.0, 0.0, times=times)
    el = topo.elevation_deg
    assert np.max(np.abs(el)) < 1.65
    assert np.max(el) > 1.4 and np.min(el) < -1.4  # it does reach the band's edges over a year
    # the Sun goes round the horizon once per synodic month (29.53 d): ~12.4 circuits a year
    unwrapped = np.unwrap(np.radians(topo.azimuth_deg))
    circuits = abs(unwrapped[-1] - unwrapped[0]) / (2 * np.pi)
    assert 12.0 < circuits < 13.0


def test_earth_elevation_at_pole_follows_libration_in_latitude():
    """From the pole, Earth's elevation is the sub-Earth latitude (optical libration in latitude, +-6.7 deg;
    Eckhardt 1981) plus at most 0.26 deg of parallax; it is above the horizon about half the time."""
    times = eph.time_grid("2020-01-01", "2039-01-01", 12.0)
    el = eph.topocentric("EARTH", -90.0, 0.0, 0.0, times=times).elevation_deg
    assert 6.3 < el.max() < 7.3 and -7.3 < el.min() < -6.3
    assert 0.4 < np.mean(el > 0) < 0.6


def test_sun_and_earth_disk_sizes():
    topo_s = eph.topocentric("SUN", -89.9, 0, 0, times=_times(10))
    topo_e = eph.topocentric("EARTH", -89.9, 0, 0, times=_times(10))
    # Sun's disk ~0.53 deg across, Earth's ~1.9 deg (docs/REFERENCES.md#polar-sun-geometry)
    assert np.all(np.abs(2 * topo_s.angular_radius_deg - 0.53) < 0.015)
    assert np.all(np.abs(2 * topo_e.angular_radius_deg - 1.9) < 0.12)


def test_subsolar_point_matches_spice_subslr():
    """SPICE's subslr seen from the Moon's centre (the Sun's zenith point *now*; subpnt observed
    from the Sun would evaluate the Moon's rotation ~499 s earlier, 0.076 deg off)."""
    times = _times(20, seed=3)
    et = eph.utc_to_et(times)
    lat, lon = eph.subsolar_point(et)
    for i, e in enumerate(et):
        spoint, _, _ = sp.subslr("INTERCEPT/ELLIPSOID", "MOON", e, "MOON_ME", "LT+S", "MOON")
        _, lo, la = sp.reclat(spoint)
        assert abs(np.degrees(la) - lat[i]) < 1e-3
        assert abs((np.degrees(lo) - lon[i] + 180) % 360 - 180) < 1e-3
    assert np.all(np.abs(lat) < 1.65)


def test_utc_to_et_matches_str2et_including_leap_second():
    eph.load_kernels()
    times = np.array(["2016-12-31T23:00:00", "2017-01-01T01:00:00", "2027-06-30T12:34:56", "1999-03-01T00:00:00"],
                     dtype="datetime64[s]")
    ours = eph.utc_to_et(times)
    ref = np.array([sp.str2et(str(t)) for t in times])
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    grid = eph.time_grid("2016-12-31T20:00:00", "2017-01-01T04:00:00", 0.5)
    many = np.tile(grid, 5)  # >= 64 elements: the vectorised path
    ref = np.array([sp.str2et(str(t)) for t in many])
    np.testing.assert_allclose(eph.utc_to_et(many), ref, atol=1e-4)


@pytest.mark.parametrize("bad", ["2070-01-01T00:00:00", "1850-01-01"])
def test_time_outside_kernels_is_a_clear_error(bad):
    with pytest.raises(EphemerisError, match="outside the SPICE kernels' coverage"):
        eph.utc_to_et([bad])


def test_bad_inputs():
    with pytest.raises(EphemerisError, match="ISO 8601"):
        eph.utc_to_et(["yesterday"])
    with pytest.raises(EphemerisError, match="positive"):
        eph.time_grid("2027-01-01", "2027-02-01", -1)
    with pytest.raises(EphemerisError, match="after"):
        eph.time_grid("2027-02-01", "2027-01-01", 1)
    with pytest.raises(EphemerisError, match="latitude"):
        eph.topocentric("SUN", -95, 0, 0, times=["2027-01-01"])
    with pytest.raises(EphemerisError, match="unknown body"):
        eph.topocentric("MARS", -89, 0, 0, times=["2027-01-01"])


def test_cli_ephem_json(capsys):
    from lupex.cli import main
    import sys

    argv = sys.argv
    sys.argv = ["lupex", "ephem", "--time", "2027-01-01T00:00:00", "--lat", "-89.9", "--lon", "0", "--json"]
    try:
        with pytest.raises(SystemExit) as done:  # main() ends with the command's exit status
            main()
    finally:
        sys.argv = argv
    assert done.value.code in (0, None)
    data = json.loads(capsys.readouterr().out)
    topo = eph.topocentric("SUN", -89.9, 0.0, 0.0, times=["2027-01-01T00:00:00"])
    assert data["sun"]["elevation_deg"] == pytest.approx(topo.elevation_deg[0], abs=1e-9)
    for key in ("sun", "earth", "subsolar_point"):
        assert key in data
    obs = eph.surface_point(-89.9, 0.0, 0.0) / 1000.0
    azl, _ = sp.azlcpo("ELLIPSOID", "EARTH", topo.et[0], "LT+S", False, True, obs, "MOON", "MOON_ME")
    assert data["earth"]["elevation_deg"] == pytest.approx(np.degrees(azl[2]), abs=1e-6)


def test_cli_ephem_out_of_range_exits_2():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "lupex", "ephem", "--time", "2099-01-01T00:00:00"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "outside the SPICE kernels' coverage" in r.stderr
    assert "Traceback" not in r.stderr
