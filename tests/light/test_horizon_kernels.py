"""The brute-force horizon kernel (the reference the sweep is checked against) on analytic terrain: a tilted
plane seen uphill and downhill, the grid edge, and the curvature drop d^2 / 2R on flat ground."""

import math

import numpy as np
import pytest

from lupex.light import _horizon_kernels as hk


def _march(z, az_deg, rows, cols, inv_radius=0.0, pixel_m=10.0, edge_deg=-90.0):
    out = np.empty(len(rows))
    dist = np.empty(len(rows))
    hk.bruteforce_cells(z, pixel_m, math.radians(az_deg), np.asarray(rows, np.int64), np.asarray(cols, np.int64),
                        0.0, inv_radius, 0.25, edge_deg, out, dist)
    return out, dist


def test_tilted_plane_uphill_downhill_and_edge():
    s = 0.1   # rises 0.1 m per metre towards north (towards row 0)
    ny, nx = 40, 30
    rows = np.arange(ny)[:, None] * np.ones((1, nx))
    z = -s * rows * 10.0
    north, _ = _march(z, 0.0, [20, 35], [15, 5])
    assert north == pytest.approx([math.degrees(math.atan(s))] * 2, abs=1e-9)
    south, _ = _march(z, 180.0, [20], [15])
    assert south == pytest.approx([-math.degrees(math.atan(s))], abs=1e-9)
    edge, _ = _march(z, 0.0, [0], [15], edge_deg=-7.0)
    assert edge[0] == -7.0   # the first step leaves the grid


def test_flat_ground_drops_by_the_curvature():
    inv_r = 1.0 / 1_737_400.0
    z = np.zeros((5, 200))
    el, dist = _march(z, 90.0, [2], [0], inv_radius=inv_r)
    # the highest sample is the nearest (0.25 px): elevation atan(-d / 2R)
    d = 0.25 * 10.0
    assert dist[0] == pytest.approx(d)
    assert el[0] == pytest.approx(math.degrees(math.atan(-0.5 * d * inv_r)), rel=1e-9)
