"""A vertical ground-truth profile at one spot.

It is the contract between the ground-truth model and every instrument that
looks into the ground.

Depths are positive downwards from the local surface, in metres. Water is
given as water-equivalent hydrogen (WEH) in weight percent of the bulk
(regolith + ice), the unit neutron spectroscopy reports (1500 ppm H =
1.35 wt% WEH; docs/REFERENCES.md#nss).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lupex.errors import InputError


@dataclass(frozen=True)
class Rock:
    """A buried rock: centre depth, radius and horizontal offset from the column axis (m)."""

    depth_m: float
    radius_m: float
    offset_m: float = 0.0
    along_track_m: float = 0.0


@dataclass(frozen=True)
class Column:
    """Layered ground truth at one spot, on a regular depth grid of cell centres.

    ``z_m[i]`` is the centre of layer i (thickness ``dz_m``); arrays are all the
    same length. ``ice_table_depth_m`` is the depth of the top of the ice-bearing
    layer (``inf`` where there is none within the column).
    """

    z_m: np.ndarray
    density_kg_m3: np.ndarray
    weh_wt_pct: np.ndarray
    temperature_k: np.ndarray
    feo_tio2_wt_pct: float
    ice_table_depth_m: float = float("inf")
    rocks: tuple[Rock, ...] = field(default_factory=tuple)

    def __post_init__(self):
        n = np.asarray(self.z_m).size
        for name in ("density_kg_m3", "weh_wt_pct", "temperature_k"):
            a = np.asarray(getattr(self, name))
            if a.shape != (n,):
                raise InputError(f"Column.{name} must have the same length as z_m ({n}), got shape {a.shape}")
            if not np.all(np.isfinite(a)):
                raise InputError(f"Column.{name} contains NaN or infinite values")
        w = np.asarray(self.weh_wt_pct)
        if np.any(w < 0) or np.any(w > 100):
            raise InputError("water content must be between 0 and 100 wt% WEH")
        if np.any(np.asarray(self.density_kg_m3) <= 0):
            raise InputError("density must be positive (kg/m^3)")
        if np.any(np.diff(self.z_m) <= 0):
            raise InputError("Column.z_m must increase with depth")

    @property
    def dz_m(self) -> float:
        """Return the depth step of the profile (m)."""
        z = np.asarray(self.z_m)
        return float(z[1] - z[0]) if z.size > 1 else float(2 * z[0])

    @property
    def depth_m(self) -> float:
        """Total depth covered (bottom of the last layer)."""
        return float(self.z_m[-1] + self.dz_m / 2)

    def column_mass_g_cm2(self, z_top_m: float = 0.0, z_bottom_m: float | None = None) -> float:
        """Areal mass between two depths in g/cm^2 (the unit of neutron transport depth)."""
        z_bottom_m = self.depth_m if z_bottom_m is None else z_bottom_m
        top = np.asarray(self.z_m) - self.dz_m / 2
        bot = top + self.dz_m
        overlap = np.clip(np.minimum(bot, z_bottom_m) - np.maximum(top, z_top_m), 0.0, None)
        return float(np.sum(overlap * np.asarray(self.density_kg_m3)) * 0.1)  # kg/m^2 -> g/cm^2


def two_layer_column(*, dry_thickness_m: float, weh_top_wt_pct: float, weh_bottom_wt_pct: float,
                     density_kg_m3=1500.0, temperature_k=100.0, feo_tio2_wt_pct: float = 6.0,
                     depth_m: float = 2.0, dz_m: float = 0.01) -> Column:
    """A dry (or less wet) layer over a wet one: the stratigraphy rover instruments are built to resolve.

    Parameters
    ----------
    dry_thickness_m : float
        Thickness of the top layer, m; layers whose centre is shallower hold ``weh_top_wt_pct``.
    weh_top_wt_pct : float
        WEH of the top layer, wt% of the bulk.
    weh_bottom_wt_pct : float
        WEH below it, wt% of the bulk.
    density_kg_m3 : float or array_like
        Bulk density, kg/m^3: one value, or one per layer (n,) with n = depth_m / dz_m.
    temperature_k : float or array_like
        Temperature, K: one value, or one per layer (n,).
    feo_tio2_wt_pct : float
        FeO + TiO2 of the column, wt%.
    depth_m : float
        Depth of the column, m.
    dz_m : float
        Layer thickness, m; layer centres at ``dz_m / 2, 3 dz_m / 2, ...``.

    Returns
    -------
    Column
        The layered column; its ice table is at ``dry_thickness_m`` when the bottom layer is the wetter one,
        else inf.
    """
    z = np.arange(dz_m / 2, depth_m, dz_m)
    w = np.where(z < dry_thickness_m, weh_top_wt_pct, weh_bottom_wt_pct).astype(float)
    rho = np.broadcast_to(np.asarray(density_kg_m3, float), z.shape).copy()
    t = np.broadcast_to(np.asarray(temperature_k, float), z.shape).copy()
    ice_top = dry_thickness_m if weh_bottom_wt_pct > weh_top_wt_pct else float("inf")
    return Column(z, rho, w, t, float(feo_tio2_wt_pct), ice_top)
