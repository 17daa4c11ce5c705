"""Pinhole camera model for the descent camera, in the local Cartesian *site frame*.

Site frame
----------
x = grid x (east-ish), y = grid y (north-ish) of the DEM's projected CRS
(IAU_2015:30135 for the south pole), z = up at the CRS origin (0, 0). A DEM cell
at grid (x, y) with height h above the 1737.4 km sphere sits at
``(x, y, h - (x**2 + y**2) / (2 R))`` (the parabolic curvature drop, exact to
~(d/R)^2 for d << R). The polar stereographic scale error within 20 km of
the origin is < 1e-4 and is neglected.

Camera
------
Ideal pinhole (Hartley & Zisserman 2004, *Multiple View Geometry*, 2nd ed.,
eq. 6.8: ``x = K R [I | -C] X``). Camera axes: +z along the boresight, +x to
image right (+u, columns), +y to image down (+v, rows). ``rotation`` maps
site-frame vectors into camera axes (world -> camera); ``position_m`` is the
camera centre C in the site frame. Focal length in pixels from the horizontal
field of view: ``f = (width / 2) / tan(fov / 2)``. Pixel (u, v) = (column,
row) with pixel centres at integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lupex.errors import InputError

__all__ = ["Camera", "look_at_rotation", "nadir_rotation", "rotation_error_deg"]


def nadir_rotation(heading_deg: float = 0.0) -> np.ndarray:
    """World->camera rotation of a camera looking straight down.

    With ``heading_deg = 0`` the image is "north-up": +u along site +x and +v
    along site -y. A positive heading turns the camera clockwise about the
    down axis (image top toward grid azimuth ``heading_deg``).
    """
    h = np.radians(heading_deg)
    c, s = np.cos(h), np.sin(h)
    # camera axes expressed in the site frame (rows): x_cam, y_cam, z_cam
    x_cam = np.array([c, -s, 0.0])
    y_cam = np.array([-s, -c, 0.0])
    z_cam = np.array([0.0, 0.0, -1.0])
    return np.vstack([x_cam, y_cam, z_cam])


def look_at_rotation(position_m, target_m, up_hint=(0.0, 1.0, 0.0)) -> np.ndarray:
    """World->camera rotation of a camera at ``position_m`` looking at ``target_m``.

    The image's "up" (-v) is the projection of ``up_hint`` on the image plane.
    """
    p = np.asarray(position_m, float)
    z = np.asarray(target_m, float) - p
    n = np.linalg.norm(z)
    if not n > 0:
        raise InputError("look_at_rotation: target coincides with the camera position; move one of them")
    z = z / n
    up = np.asarray(up_hint, float)
    y = -(up - z * (up @ z))
    if np.linalg.norm(y) < 1e-9:
        raise InputError("look_at_rotation: up_hint is parallel to the line of sight; give another up_hint")
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return np.vstack([x, y, z])


def rotation_error_deg(r_a: np.ndarray, r_b: np.ndarray) -> float:
    """Angle (deg) of the rotation taking ``r_b`` to ``r_a``."""
    c = (np.trace(np.asarray(r_a) @ np.asarray(r_b).T) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


@dataclass(frozen=True)
class Camera:
    """A pinhole camera with a pose (see the module docstring for the conventions).

    ``fov_deg`` is the full horizontal field of view; square pixels; the
    principal point defaults to the image centre ``((width-1)/2, (height-1)/2)``.
    """

    fov_deg: float
    width: int
    height: int
    position_m: np.ndarray = field(default_factory=lambda: np.zeros(3))
    rotation: np.ndarray = field(default_factory=nadir_rotation)
    cx: float | None = None
    cy: float | None = None

    def __post_init__(self):
        if not (0.0 < float(self.fov_deg) < 179.0):
            raise InputError(f"fov_deg = {self.fov_deg}: the horizontal field of view must be in (0, 179) deg")
        if int(self.width) < 2 or int(self.height) < 2:
            raise InputError(f"image size {self.width} x {self.height}: give at least 2 x 2 pixels")
        pos = np.asarray(self.position_m, float).reshape(-1)
        rot = np.asarray(self.rotation, float)
        if pos.shape != (3,) or not np.isfinite(pos).all():
            raise InputError("camera position_m must be 3 finite metres (site frame)")
        if rot.shape != (3, 3) or not np.isfinite(rot).all():
            raise InputError("camera rotation must be a finite 3x3 matrix (world -> camera)")
        if np.abs(rot @ rot.T - np.eye(3)).max() > 1e-6 or np.linalg.det(rot) < 0:
            raise InputError("camera rotation must be a proper rotation matrix (orthonormal, det +1)")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        object.__setattr__(self, "position_m", pos)
        object.__setattr__(self, "rotation", rot)
        object.__setattr__(self, "cx", (self.width - 1) / 2.0 if self.cx is None else float(self.cx))
        object.__setattr__(self, "cy", (self.height - 1) / 2.0 if self.cy is None else float(self.cy))

    # --- intrinsics -------------------------------------------------------------
    @property
    def f_px(self) -> float:
        """Focal length in pixels, ``(width / 2) / tan(fov / 2)``."""
        return 0.5 * self.width / np.tan(np.radians(self.fov_deg) / 2.0)

    @property
    def K(self) -> np.ndarray:
        """The 3x3 intrinsic matrix."""
        f = self.f_px
        return np.array([[f, 0.0, self.cx], [0.0, f, self.cy], [0.0, 0.0, 1.0]])

    def gsd_m(self, altitude_m) -> np.ndarray | float:
        """Ground sample distance (m/pixel) at the image centre, nadir view: ``altitude / f``."""
        return np.asarray(altitude_m, float) / self.f_px

    def with_pose(self, position_m, rotation) -> "Camera":
        """The same intrinsics at another pose."""
        return replace(self, position_m=np.asarray(position_m, float), rotation=np.asarray(rotation, float))

    # --- projection -------------------------------------------------------------
    def to_camera(self, points_m) -> np.ndarray:
        """Site-frame points (n, 3) -> camera-frame points (n, 3)."""
        p = np.asarray(points_m, float).reshape(-1, 3)
        return (p - self.position_m) @ self.rotation.T

    def project(self, points_m) -> tuple[np.ndarray, np.ndarray]:
        """Project site-frame points (n, 3) to pixels.

        Returns ``(uv, depth_m)``: ``uv`` (n, 2) as (column, row), ``depth_m``
        (n,) the distance along the boresight (<= 0 means behind the camera,
        where ``uv`` is NaN).
        """
        pc = self.to_camera(points_m)
        z = pc[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            zi = np.where(z > 0, 1.0 / z, np.nan)
        f = self.f_px
        uv = np.column_stack([f * pc[:, 0] * zi + self.cx, f * pc[:, 1] * zi + self.cy])
        return uv, z

    def ray(self, pixels) -> np.ndarray:
        """Unit site-frame directions (n, 3) of the rays through pixels (n, 2) = (u, v)."""
        uv = np.asarray(pixels, float).reshape(-1, 2)
        d = np.column_stack([(uv[:, 0] - self.cx) / self.f_px, (uv[:, 1] - self.cy) / self.f_px, np.ones(len(uv))])
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        return d @ self.rotation

    def in_image(self, uv, margin_px: float = 0.0) -> np.ndarray:
        """Whether pixels (n, 2) lie inside the frame, ``margin_px`` from its edges."""
        uv = np.asarray(uv, float).reshape(-1, 2)
        return ((uv[:, 0] >= -0.5 + margin_px) & (uv[:, 0] <= self.width - 0.5 - margin_px)
                & (uv[:, 1] >= -0.5 + margin_px) & (uv[:, 1] <= self.height - 0.5 - margin_px))
