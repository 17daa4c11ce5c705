"""Sensor models of the descent: IMU, laser altimeter and the vision-fix sources.

* **IMU** (accelerometer channel; attitude is abstracted, so the gyro only
  matters through the thrust-direction knowledge, which is taken as perfect):
  sensed delta-v = true non-gravitational delta-v + b dt + white noise of
  velocity random walk ``vrw`` (m/s/sqrt(s)); the bias b starts at a turn-on
  value and random-walks with ``bias_rw`` (m/s^2/sqrt(s)), the standard
  accelerometer error model (IEEE Std 952 / 1293 terms). Defaults are of a
  navigation-grade unit: 50 ug turn-on bias, 30 ug/sqrt(Hz) noise (~0.018 m/s/sqrt(h)),
  assumptions for LUPEX.
* **Laser altimeter**: slant range along the beam to the *real* terrain
  (:func:`lupex.landing.descent.slant_range_m`), Gaussian noise ``sigma_m +
  frac * range``, maximum range ``max_range_m`` (assumed 8 km; SLIM and
  Chandrayaan-3 altimeters work from several km).
* **Vision**: a :class:`VisionSource` returns a map-relative position fix
  (``VisionFix``, the contract with :mod:`lupex.landing.pose`) or None.
  :class:`SimulatedVision` draws true position + the map registration error +
  Gaussian noise of about one camera ground sample distance (Hamel et al.
  2025: crater-navigation error ~1 GSD; docs/REFERENCES.md#hamel2025), dropping frames at low
  sun (few usable craters, Maehara et al. 2021) and outside its altitude
  range. :class:`RenderedVision` renders the onboard camera and runs the
  vision engineer's ``pose.locate``; it needs ``lupex.landing.render`` and
  ``lupex.landing.pose``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lupex.errors import ConfigError, InputError
from lupex.landing import camera as camera_mod
from lupex.landing import descent as _d
from lupex.landing import filter as nav
from lupex.landing import pose, render
from lupex.landing.camera import Camera
from lupex.landing.craters import detect_craters, image_sun_direction
from lupex.landing.onboard_map import build_onboard_map
from lupex.landing.pose import VisionFix  # the contract between vision and filter
from lupex.params import ASSUMED, check_non_negative, param

__all__ = ["ImuParams", "ImuParams", "ImuState", "Altimeter", "VisionFix", "VisionSource", "SimulatedVision",
           "RenderedVision", "RenderedVisionSetup", "RENDERED_FIX_ALTITUDES_M", "VISION_FAILURES", "TruthState",
           "camera_gsd_m"]

UG = 9.80665e-6  # one micro-g in m/s^2


@dataclass(frozen=True)
class TruthState:
    """What a sensor may see of the truth: time, position, velocity (site frame), map error."""

    t_s: float
    r_m: np.ndarray
    v_m_s: np.ndarray
    altitude_m: float


# --------------------------------------------------------------------------- IMU


@dataclass(frozen=True)
class ImuParams:
    """Accelerometer error model (see the module docstring)."""

    turn_on_bias_m_s2: float = param(50 * UG, "m/s^2", "1-sigma accelerometer turn-on bias per axis (50 ug)",
                                     f"{ASSUMED}: navigation-grade unit (IEEE Std 952/1293 error terms)")
    vrw_m_s_rthz: float = param(30 * UG, "m/s/sqrt(s)", "velocity random walk, (m/s^2)/sqrt(Hz) (30 ug/sqrt(Hz), ~0.018 m/s/sqrt(h))",
                                f"{ASSUMED}: navigation-grade unit")
    bias_rw_m_s2_rts: float = param(1e-6, "m/s^2/sqrt(s)", "random walk of the accelerometer bias", f"{ASSUMED}: navigation-grade unit")

    def __post_init__(self):
        check_non_negative(self, "turn_on_bias_m_s2", "vrw_m_s_rthz", "bias_rw_m_s2_rts")

    def draw_bias(self, rng: np.random.Generator) -> np.ndarray:
        """A turn-on accelerometer bias (3,), m/s^2."""
        return rng.normal(0.0, self.turn_on_bias_m_s2, 3)


@dataclass(frozen=True)
class ImuState:
    """The accelerometer's current bias (3,), m/s^2."""

    bias_m_s2: np.ndarray


def imu_measure(model: ImuParams, state: ImuState, dv_true, dt: float, rng: np.random.Generator):
    """(sensed delta-v, next IMU state) over one step of ``dt`` seconds.

    Parameters
    ----------
    model : ImuParams
        The accelerometer's errors.
    state : ImuState
        Its current bias.
    dv_true : array_like
        (3,) true non-gravitational delta-v over the step, m/s.
    dt : float
        Step, s.
    rng : np.random.Generator
        Source of the noise.
    """
    dv = np.asarray(dv_true) + state.bias_m_s2 * dt + rng.normal(0.0, model.vrw_m_s_rthz * np.sqrt(dt), 3)
    nb = state.bias_m_s2 + rng.normal(0.0, model.bias_rw_m_s2_rts * np.sqrt(dt), 3)
    return dv, ImuState(nb)


# --------------------------------------------------------------------------- altimeter


@dataclass(frozen=True)
class Altimeter:
    """Laser altimeter: slant range along ``beam_tilt_deg`` from the local vertical (toward +x)."""

    sigma_m: float = 0.3
    sigma_frac: float = 1e-3
    max_range_m: float = 8_000.0
    beam_tilt_deg: float = 0.0

    def beam(self, r) -> np.ndarray:
        """Unit beam direction (3,) in the site frame from position ``r`` (m)."""
        rc = np.asarray(r, float) + np.array([0.0, 0.0, _d.R_M])
        down = -rc / np.linalg.norm(rc)
        t = np.radians(self.beam_tilt_deg)
        side = np.array([1.0, 0.0, 0.0]) - down[0] * down
        side /= np.linalg.norm(side)
        return np.cos(t) * down + np.sin(t) * side

    def sigma(self, range_m: float) -> float:
        """Range noise 1-sigma at ``range_m``, m."""
        return self.sigma_m + self.sigma_frac * range_m

    def measure(self, terrain, r_true, rng: np.random.Generator) -> float | None:
        """A noisy slant range to the real terrain, or None when out of range."""
        rho = _d.slant_range_m(terrain, r_true, self.beam(r_true), self.max_range_m)
        if not np.isfinite(rho):
            return None
        return rho + rng.normal(0.0, self.sigma(rho))


# --------------------------------------------------------------------------- vision


def camera_gsd_m(altitude_m: float, fov_deg: float, n_pixels: int) -> float:
    """Nadir ground sample distance (m/px) of a pinhole camera: altitude x IFOV."""
    return float(altitude_m) * np.radians(fov_deg) / n_pixels


@runtime_checkable
class VisionSource(Protocol):
    """Anything that can turn the current situation into a map-relative fix (or None)."""

    def fix(self, t: float, true_state: TruthState, est_state: Any, rng: np.random.Generator) -> VisionFix | None:
        """A map-relative fix at time ``t`` (s), or None when no fix is made.

        Parameters
        ----------
        t : float
            Time, s.
        true_state : TruthState
            The true lander state.
        est_state : NavState
            The filter's estimate.
        rng : np.random.Generator
            Source of the randomness.
        """
        ...


@dataclass(frozen=True)
class SimulatedVision:
    """Vision fixes without images: truth + map registration error + ~1 GSD noise.

    ``sigma_gsd`` scales the per-axis horizontal sigma in camera GSDs
    (nadir camera of ``fov_deg`` over ``n_pixels``); the vertical sigma is
    ``vertical_factor`` times that. ``map_floor_m`` is the map's own
    resolution limit (per axis), added in quadrature. Frames are lost with
    probability ``p_dropout`` plus ``p_dropout_low_sun`` x exp(-sun_el/2 deg)
    (polar low sun: Maehara et al. 2021), every frame when
    ``sun_elevation_deg <= 0`` (the Sun over the imaged terrain: it is in shadow
    and a crater chain sees black frames, as the rendered chain does), and below
    ``min_altitude_m`` or above ``max_altitude_m``. ``map_offset_m`` is this run's registration error of
    the onboard map (the fix is relative to the map).
    """

    fov_deg: float = 30.0
    n_pixels: int = 1024
    sigma_gsd: float = 1.0
    vertical_factor: float = 2.0
    map_floor_m: float = 0.5
    min_altitude_m: float = 30.0
    max_altitude_m: float = 30_000.0
    p_dropout: float = 0.05
    p_dropout_low_sun: float = 0.3
    sun_elevation_deg: float = 1.5
    map_offset_m: tuple = (0.0, 0.0, 0.0)

    def __post_init__(self):
        if not (self.fov_deg > 0 and self.n_pixels > 0 and self.sigma_gsd > 0):
            raise ConfigError("SimulatedVision: fov_deg, n_pixels and sigma_gsd must be positive")

    def p_drop(self) -> float:
        """Probability (0..1) that a frame gives no fix at the current Sun elevation."""
        if self.sun_elevation_deg <= 0.0:  # dark: no crater fixes, the filter runs on IMU and altimeter
            return 1.0
        return float(min(1.0, self.p_dropout + self.p_dropout_low_sun * np.exp(-max(self.sun_elevation_deg, 0) / 2.0)))

    def fix(self, t, true_state: TruthState, est_state, rng: np.random.Generator):
        """A simulated fix at time ``t`` (s) around the true pose, or None (outside its altitudes, or dropped).

        Parameters
        ----------
        t : float
            Time, s.
        true_state : TruthState
            The true lander state.
        est_state : NavState
            The filter's estimate.
        rng : np.random.Generator
            Source of the randomness.
        """
        alt = true_state.altitude_m
        u = rng.random()  # always drawn: the random stream does not depend on the outcome
        noise = rng.standard_normal(3)
        if not (self.min_altitude_m <= alt <= self.max_altitude_m) or u < self.p_drop():
            return None
        s = np.hypot(self.sigma_gsd * camera_gsd_m(alt, self.fov_deg, self.n_pixels), self.map_floor_m)
        sig = np.array([s, s, self.vertical_factor * s])
        pos = np.asarray(true_state.r_m, float) + np.asarray(self.map_offset_m, float) + sig * noise
        return VisionFix(position_m=pos, rotation=np.eye(3), cov_position_m2=np.diag(sig**2),
                         n_matches=10, method="crater", ok=True)


RENDERED_FIX_ALTITUDES_M = (8000.0, 6000.0, 4000.0, 3000.0, 2000.0, 1000.0, 500.0, 100.0)
"""Default altitudes (m above the terrain) of the rendered-vision frames: every 2 km, then every 1 km, 500 m and the
hover altitude. Navigation costs ~0.1 s and rendering ~0.2 s per 1024 x 1024 frame (benchmarks/bench_vision.py), so
a frame every 1-2 km is affordable where a 1 Hz stream of ~900 frames per descent is not."""

VISION_FAILURES = ("outside_map", "dark", "no_craters", "id_failed")
"""Why a rendered frame gave no fix: the frame saw none of the DEM (the map does not reach that far); the frame was
dark (< ``dark_fraction`` of its pixels lit); fewer craters detected than a pose needs and the template fallback
failed; enough craters detected but neither identification + PnP nor the template fallback gave a pose."""


@dataclass(eq=False)
class RenderedVision:
    """Fixes from rendered images.

    The true terrain is rendered from the true pose (:func:`lupex.landing.render.render`) and located on the onboard
    map from the filter's prediction (:func:`lupex.landing.pose.locate`).

    ``scene`` is :func:`lupex.landing.render.make_scene` of the *true* DEM and
    Sun; ``camera`` gives the intrinsics (its pose is replaced per frame by a
    nadir view at ``heading_deg``); ``onboard_map`` is built before the flight
    (:func:`lupex.landing.onboard_map.build_onboard_map`). Frames below
    ``min_altitude_m`` are skipped. The attitude is taken as known (star
    tracker).

    ``altitudes_m`` (empty: a frame at every call) makes the frames sparse: one
    frame at the first call at or below each of these true altitudes (several
    passed between two calls give one frame). ``map_offset_m`` is this run's
    registration error of the onboard map: the chain runs on the true map
    from the prior shifted back by it and the fix is shifted forward, which is
    the fix a rigidly displaced map would give (the same convention as
    :class:`SimulatedVision`). Each frame is appended to ``log`` (altitude,
    outcome = 'fix' or one of :data:`VISION_FAILURES`, method, matches,
    whether the filter's chi-square gate at default tuning accepts it,
    horizontal error of the chain's fix against the truth). One instance per
    descent (it keeps state); :class:`RenderedVisionSetup` makes them.

    ``beyond_map``: a :class:`SimulatedVision` that gives the fixes while the
    point below the lander is outside the DEM (None: no fix there). A site DEM
    of tens of km covers only the last minutes of a ~700 km braking arc; SLIM
    navigated that arc on a wide-area crater map from SELENE (Kaguya) data
    (docs/REFERENCES.md#slim), which this stands in for, at the simulated model's ~1 GSD.
    Those fixes are counted in ``n_beyond_map`` and not logged as frames.
    """

    scene: Any
    camera: Any
    onboard_map: Any
    sun_vector_site: np.ndarray
    min_altitude_m: float = 30.0
    heading_deg: float = 0.0
    altitudes_m: tuple = ()
    map_offset_m: tuple = (0.0, 0.0, 0.0)
    dark_fraction: float = 0.01
    beyond_map: Any = None
    log: list = field(default_factory=list, repr=False)
    n_beyond_map: int = field(default=0, init=False, repr=False)
    _slot: int = field(default=0, init=False, repr=False)

    def _over_map(self, r) -> bool:
        x, y = self.scene.x_m, self.scene.y_m
        return bool(min(x[0], x[-1]) <= r[0] <= max(x[0], x[-1]) and min(y[0], y[-1]) <= r[1] <= max(y[0], y[-1]))

    def _due(self, alt: float) -> bool:
        if not self.altitudes_m:
            return True
        slots = sorted((float(a) for a in self.altitudes_m), reverse=True)
        if self._slot >= len(slots) or alt > slots[self._slot]:
            return False
        while self._slot < len(slots) and alt <= slots[self._slot]:
            self._slot += 1
        return True

    def fix(self, t, true_state: TruthState, est_state, rng: np.random.Generator):
        """The fix from the frame rendered at time ``t`` (s), or None when no frame is due or it gives none.

        Parameters
        ----------
        t : float
            Time, s.
        true_state : TruthState
            The true lander state.
        est_state : NavState
            The filter's estimate.
        rng : np.random.Generator
            Source of the randomness.
        """
        alt = float(true_state.altitude_m)
        r_true = np.asarray(true_state.r_m, float)
        if self.beyond_map is not None and not self._over_map(r_true):
            fx = self.beyond_map.fix(t, true_state, est_state, rng)
            self.n_beyond_map += fx is not None
            return fx
        if alt < self.min_altitude_m or not self._due(alt):
            return None
        off = np.asarray(self.map_offset_m, float)
        entry = dict(t_s=float(t), altitude_m=alt, outcome="", method="none", n_matches=0, accepted=False,
                     err_m=float("nan"))
        self.log.append(entry)
        rot = camera_mod.nadir_rotation(self.heading_deg)
        true_cam = self.camera.with_pose(r_true, rot)
        try:
            image = render.render(self.scene, true_cam, rng=rng)
        except InputError:  # the frame sees nothing of the DEM
            entry["outcome"] = "outside_map"
            return None
        prior = pose.PosePrior(position_m=np.asarray(est_state.r_m, float) - off, rotation=rot,
                               cov_position_m2=np.asarray(est_state.P, float)[:3, :3])
        fx = pose.locate(image, true_cam, prior, self.onboard_map, rng, sun_site=self.sun_vector_site)
        if not fx.ok:
            entry["outcome"] = self._why(image, true_cam)
            return None
        fx = dataclasses.replace(fx, position_m=np.asarray(fx.position_m, float) + off)
        # the filter's chi-square gate with the default tuning (what the Monte Carlo flies), for the log only
        _, accepted, _ = nav.update_vision(est_state, fx)
        entry.update(outcome="fix", method=fx.method, n_matches=int(fx.n_matches), accepted=bool(accepted),
                     err_m=float(np.linalg.norm(fx.position_m[:2] - off[:2] - r_true[:2])))
        return fx

    def _why(self, image, cam) -> str:
        """Classify a failed frame (detection is re-run only for failures, ~30 ms)."""
        if float(np.mean(np.asarray(image) >= 2)) < self.dark_fraction:
            return "dark"
        try:
            n = len(detect_craters(image, image_sun_direction(cam, self.sun_vector_site)).u)
        except InputError:  # Sun at the zenith: no shading direction
            n = 0
        return "no_craters" if n < 8 else "id_failed"  # 8: pose.locate's min_matches


@dataclass(frozen=True)
class RenderedVisionSetup:
    """What every rendered-vision descent shares, built once.

    The scene and onboard map cost ~9 s CPU on a 1000 x 1000 DEM, most of it the two shadow sweeps; the setup
    is pickled to Dask workers (~65 MB); calling it
    with ``(rng, map_offset_m[, sigma_gsd])`` gives one descent's :class:`RenderedVision` (it draws
    nothing from ``rng``). ``beyond_map``: a :class:`SimulatedVision` template for the fixes outside the
    DEM (see :class:`RenderedVision`); its ``map_offset_m`` and ``sigma_gsd`` are set per descent.
    """

    scene: Any
    camera: Any
    onboard_map: Any
    sun_vector_site: np.ndarray
    altitudes_m: tuple = RENDERED_FIX_ALTITUDES_M
    min_altitude_m: float = 30.0
    beyond_map: Any = None

    def __post_init__(self):
        alts = tuple(float(a) for a in self.altitudes_m)
        if not alts or not all(np.isfinite(a) and a > 0 for a in alts):
            raise ConfigError(f"rendered-vision altitudes must be positive metres, got {list(self.altitudes_m)}")
        object.__setattr__(self, "altitudes_m", alts)

    def __call__(self, rng: np.random.Generator, map_offset_m=(0.0, 0.0, 0.0), sigma_gsd: float | None = None
                 ) -> RenderedVision:
        """One descent's :class:`RenderedVision`, with this run's map offset (m) and vision sigma (GSD)."""
        off = tuple(float(v) for v in map_offset_m)
        beyond = self.beyond_map
        if beyond is not None:
            beyond = dataclasses.replace(beyond, map_offset_m=off,
                                         sigma_gsd=beyond.sigma_gsd if sigma_gsd is None else float(sigma_gsd))
        return RenderedVision(self.scene, self.camera, self.onboard_map, self.sun_vector_site,
                              min_altitude_m=self.min_altitude_m, altitudes_m=self.altitudes_m,
                              map_offset_m=off, beyond_map=beyond)

    @classmethod
    def build(cls, dem, craters, sun_site, *, scene=None, onboard_map=None, reference_sun_az_el=None,
              altitudes_m=RENDERED_FIX_ALTITUDES_M, fov_deg: float = 30.0, n_pixels: int = 1024,
              min_altitude_m: float = 30.0, beyond_map: "SimulatedVision | None" = None) -> "RenderedVisionSetup":
        """The setup for a DEM, its crater catalogue and the true Sun (site-frame unit vector).

        A catalogue of None means craters detected in the reference image. ``scene`` / ``onboard_map`` reuse ones
        already built. The onboard map's reference image is lit from ``reference_sun_az_el`` (default: the Sun's
        grid azimuth + 5 deg, a few hours earlier at the pole, as the landing phase's frames use).

        Parameters
        ----------
        dem : xr.DataArray
            The true DEM, heights in m.
        craters : pd.DataFrame, optional
            Its crater catalogue (``x_m, y_m, diameter_m``).
        sun_site : array_like
            (3,) unit Sun vector, site frame.
        scene : Scene, optional
            A scene already made of ``dem`` under ``sun_site``.
        onboard_map : OnboardMap, optional
            An onboard map already built.
        reference_sun_az_el : tuple of float, optional
            Grid azimuth and elevation of the reference Sun, deg.
        altitudes_m : sequence of float
            Altitudes of the rendered frames, m.
        fov_deg : float
            Camera field of view, deg.
        n_pixels : int
            Camera image side, px.
        min_altitude_m : float
            No frames below this altitude, m.
        beyond_map : SimulatedVision, optional
            Template of the fixes outside the DEM.
        """
        sun = np.asarray(sun_site, float).reshape(-1)
        if scene is None:
            scene = render.make_scene(dem, sun)
        if onboard_map is None:
            if reference_sun_az_el is None:
                az = float(np.degrees(np.arctan2(sun[0], sun[1])) % 360.0)
                el = float(np.degrees(np.arcsin(np.clip(sun[2] / np.linalg.norm(sun), -1, 1))))
                reference_sun_az_el = (az + 5.0, el)
            onboard_map = build_onboard_map(dem, craters, reference_sun_az_el)
        return cls(scene, Camera(fov_deg, n_pixels, n_pixels), onboard_map, sun, tuple(altitudes_m), min_altitude_m,
                   beyond_map)
