"""Survey geometry and drive costs: the area, fixed patterns, points along a path, candidate legs.

Plain plane geometry in the DEM's metres (no curvature: survey areas are a few
km across). :func:`lawnmower` is the boustrophedon survey pattern and
:func:`drill_grid` the evenly spaced drill pattern that :mod:`lupex.prospect.strategy`
compares its adaptive choices against; :func:`straight_line_cost` is the cost
model of straight drives (energy linear in distance plus a per-leg overhead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lupex.errors import InputError

__all__ = [
    "Area",
    "straight_line_cost",
    "lawnmower",
    "lawnmower_spacing_for_budget",
    "drill_grid",
    "path_points",
    "truncate_path",
    "candidate_waypoints",
]


@dataclass(frozen=True)
class Area:
    """Axis-aligned survey rectangle (m)."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float

    def __post_init__(self):
        vals = (self.x_min, self.x_max, self.y_min, self.y_max)
        if not all(np.isfinite(v) for v in vals) or self.x_max <= self.x_min or self.y_max <= self.y_min:
            raise InputError(f"area must have finite x_min < x_max and y_min < y_max, got {vals}")

    @classmethod
    def of_grid(cls, grid) -> "Area":
        """The rectangle spanned by a grid's cell centres."""
        x, y = np.asarray(grid["x"].values, float), np.asarray(grid["y"].values, float)
        return cls(float(x.min()), float(x.max()), float(y.min()), float(y.max()))

    def clip(self, xy):
        """Points ``xy`` (..., 2) moved onto the rectangle (m), as an (n, 2) array."""
        xy = np.asarray(xy, float)
        return np.column_stack([np.clip(xy[..., 0], self.x_min, self.x_max),
                                np.clip(xy[..., 1], self.y_min, self.y_max)])


def _area(area) -> Area:
    return area if isinstance(area, Area) else Area(*(float(v) for v in area))


def straight_line_cost(wh_per_m: float = 0.5, m_per_h: float = 300.0, wh_per_leg: float = 2.0,
                       h_per_leg: float = 0.02):
    """A cost(from, to) -> (energy_Wh, time_h) for straight drives.

    Linear in distance plus a fixed stop/turn overhead per leg. Vectorised over ``to``.

    Parameters
    ----------
    wh_per_m : float
        Drive energy per metre, Wh/m, > 0.
    m_per_h : float
        Drive speed, m/h, > 0.
    wh_per_leg : float
        Energy overhead of each leg (stop and turn), Wh, >= 0.
    h_per_leg : float
        Time overhead of each leg, h, >= 0.

    Returns
    -------
    callable
        ``cost(p0, p1)`` with ``p0`` (2,) and ``p1`` (2,) or (k, 2) in m, returning (energy in Wh, time in h), each
        a float or shape (k,): ``wh_per_m d + wh_per_leg`` and ``d / m_per_h + h_per_leg`` for the distance d.
    """
    if not (wh_per_m > 0 and m_per_h > 0 and wh_per_leg >= 0 and h_per_leg >= 0):
        raise InputError("straight_line_cost needs wh_per_m > 0, m_per_h > 0 and non-negative overheads")

    def cost(p0, p1):
        d = np.linalg.norm(np.asarray(p1, float) - np.asarray(p0, float), axis=-1)
        return wh_per_m * d + wh_per_leg, d / m_per_h + h_per_leg

    return cost


def lawnmower(area, spacing_m: float, start=None) -> np.ndarray:
    """Boustrophedon waypoints (k, 2): lines along x, ``spacing_m`` apart, the first half a spacing inside the area.

    Of the four mirror images, the one whose first waypoint is nearest ``start``.
    """
    a = _area(area)
    if not (spacing_m > 0 and np.isfinite(spacing_m)):
        raise InputError(f"lawnmower spacing_m must be a positive number of metres, got {spacing_m}")
    h = a.y_max - a.y_min
    n = max(1, int(np.floor(h / spacing_m + 0.5)))
    ys = a.y_min + (np.arange(n) + 0.5) * (h / n)
    pts = []
    for i, y in enumerate(ys):
        xs = (a.x_min, a.x_max) if i % 2 == 0 else (a.x_max, a.x_min)
        pts += [(xs[0], y), (xs[1], y)]
    w = np.array(pts)
    if start is None:
        return w
    variants = [w, w[::-1], np.column_stack([a.x_min + a.x_max - w[:, 0], w[:, 1]])]
    variants.append(variants[2][::-1])
    s = np.asarray(start, float)
    return min(variants, key=lambda v: float(np.hypot(*(v[0] - s))))


def lawnmower_spacing_for_budget(area, distance_m: float) -> float:
    """The line spacing (m) whose lawnmower over ``area`` is ``distance_m`` long.

    Lines along x plus the turns along y, so a fixed plan uses the budget.
    """
    a = _area(area)
    w, h = a.x_max - a.x_min, a.y_max - a.y_min
    if distance_m <= w + h:
        return h
    return float(w * h / (distance_m - h))


def drill_grid(area, n: int) -> np.ndarray:
    """``n`` drill spots on the most nearly square grid over the area (cell centres)."""
    a = _area(area)
    if int(n) < 1:
        raise InputError(f"drill_grid needs n >= 1, got {n}")
    n = int(n)
    w, h = a.x_max - a.x_min, a.y_max - a.y_min
    nx = max(1, int(np.ceil(np.sqrt(n * w / h))))
    ny = int(np.ceil(n / nx))
    xs = a.x_min + (np.arange(nx) + 0.5) * w / nx
    ys = a.y_min + (np.arange(ny) + 0.5) * h / ny
    xx, yy = np.meshgrid(xs, ys)
    return np.column_stack([xx.ravel(), yy.ravel()])[:n]


def path_points(waypoints, step_m: float, *, include_start: bool = False) -> np.ndarray:
    """Points every ``step_m`` of arc length along a polyline (k, 2), the step carried across vertices."""
    w = np.asarray(waypoints, float).reshape(-1, 2)
    if not (step_m > 0):
        raise InputError(f"step_m must be > 0, got {step_m}")
    seg = np.linalg.norm(np.diff(w, axis=0), axis=1)
    s_v = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(0.0 if include_start else step_m, s_v[-1] + 1e-9, step_m)
    if s.size == 0:
        return np.zeros((0, 2))
    return np.column_stack([np.interp(s, s_v, w[:, 0]), np.interp(s, s_v, w[:, 1])])


def truncate_path(waypoints, cost, budget_wh: float):
    """The longest prefix of the polyline that ``cost`` lets us drive with ``budget_wh`` (last leg cut by bisection).

    Returns (waypoints, energy_Wh, time_h).
    """
    w = np.asarray(waypoints, float).reshape(-1, 2)
    out, e_tot, t_tot = [w[0]], 0.0, 0.0
    for p0, p1 in zip(w[:-1], w[1:]):
        e, t = (float(v) for v in cost(p0, p1))
        if e_tot + e <= budget_wh:
            out.append(p1)
            e_tot += e
            t_tot += t
            continue
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if e_tot + float(cost(p0, p0 + mid * (p1 - p0))[0]) <= budget_wh:
                lo = mid
            else:
                hi = mid
        if lo > 0:
            p = p0 + lo * (p1 - p0)
            e, t = (float(v) for v in cost(p0, p))
            out.append(p)
            e_tot += e
            t_tot += t
        break
    return np.array(out), e_tot, t_tot


def candidate_waypoints(position, area, reach_m: float, n_headings: int = 16) -> np.ndarray:
    """Waypoints ``reach_m`` away in ``n_headings`` directions, clipped to the area.

    Those that the clipping brings within ``reach_m / 4`` are dropped.

    Parameters
    ----------
    position : array_like, shape (2,)
        Rover position (x, y), m.
    area : Area or tuple of float
        Survey rectangle, or (x_min, x_max, y_min, y_max) in m.
    reach_m : float
        Leg length before clipping, m.
    n_headings : int
        Headings evenly spaced over 360 degrees, the first along +x.

    Returns
    -------
    numpy.ndarray, shape (k, 2)
        Waypoints (x, y), m, k <= ``n_headings``, in heading order.
    """
    a = _area(area)
    ang = 2 * np.pi * np.arange(n_headings) / n_headings
    p = np.asarray(position, float)
    c = a.clip(p + reach_m * np.column_stack([np.cos(ang), np.sin(ang)]))
    keep = np.linalg.norm(c - p, axis=1) >= 0.25 * reach_m
    return c[keep]
