"""Regolith bulk density, porosity and composition of the lunar south-polar highlands.

Two published density-depth profiles are offered:

* **Carrier** (the default for the ground truth and for instruments):
  Carrier, Olhoeft & Mendell (1991), "Physical properties of the lunar surface",
  in *Lunar Sourcebook* (Heiken, Vaniman & French, eds.), ch. 9, eq. 9.6:
  ``rho(z) = 1.92 (z + 12.2) / (z + 18)`` g/cm^3 with z in cm. It is a fit to
  Apollo core-tube and drive-tube densities, so it reproduces the depth-averaged
  "best estimates" of Carrier et al. 1991 Table 9.4:
  0-15 cm 1.50 +- 0.05, 0-30 cm 1.58 +- 0.05, 30-60 cm 1.74 +- 0.05,
  0-60 cm 1.66 +- 0.05 g/cm^3 (checked in the tests through
  :func:`mean_density_carrier_kg_m3`, the closed-form depth average).
* **Hayne** (the default inside the thermal model, because its conductivity
  profile was fitted together with it): Hayne et al. (2017), JGR Planets
  122:2371, eq. A2 and Table A1:
  ``rho(z) = rho_d - (rho_d - rho_s) exp(-z/H)``, rho_s = 1100, rho_d = 1800
  kg/m^3, H = 0.06 m (Table A1 gives 0.07 m for the global fit and the
  H-parameter map peaks near 0.06 m; we use 0.06 m, as in Hayne's published
  heat1d code - treat H as uncertain by ~0.01 m).

Porosity ``phi = 1 - rho / rho_grain`` with a grain density of 3100 kg/m^3
(Carrier et al. 1991, sec. 9.1.4: specific gravity 2.9-3.5, 3.1 recommended).

FeO + TiO2 of the polar highlands: Lunar Prospector gamma-ray spectrometer
(Lawrence et al. 2002, JGR 107(E12):5130, FeO; Prettyman et al. 2006, JGR
111:E12007, Fe and Ti) gives FeO ~4-6 wt% and TiO2 < 1 wt% (mostly ~0.3-0.5)
in the feldspathic south-polar region at ~half-degree resolution; the default
mean here is 5.5 wt% FeO+TiO2 with a 0.5 wt% standard deviation of local
variation (our reading of those maps, not a published per-site value).
"""

from __future__ import annotations

import numpy as np

from lupex.constants import GRAIN_DENSITY_KG_M3, ICE_DENSITY_KG_M3
from lupex.errors import InputError

HAYNE_RHO_SURFACE_KG_M3 = 1100.0  # Hayne et al. 2017, Table A1
HAYNE_RHO_DEEP_KG_M3 = 1800.0  # Hayne et al. 2017, Table A1
HAYNE_H_M = 0.06  # Hayne et al. 2017 (Table A1: 0.07 m; H-parameter map ~0.06 m)
FEO_TIO2_POLAR_HIGHLANDS_WT_PCT = 5.5  # Lawrence 2002 / Prettyman 2006 (our reading)
FEO_TIO2_POLAR_HIGHLANDS_SD_WT_PCT = 0.5

DENSITY_MODELS = ("carrier", "hayne")
DEFAULT_DENSITY_MODEL = "carrier"


def _depth(depth_m) -> np.ndarray:
    z = np.asarray(depth_m, dtype=float)
    if not np.all(np.isfinite(z)):
        raise InputError("depth contains NaN or infinite values; give finite depths in metres")
    if np.any(z < 0):
        raise InputError("depth must be >= 0 m (positive downwards from the surface)")
    return z


def density_carrier_kg_m3(depth_m) -> np.ndarray:
    """Carrier et al. 1991 eq. 9.6: 1.92 (z + 12.2)/(z + 18) g/cm^3, z in cm; returned in kg/m^3."""
    z_cm = _depth(depth_m) * 100.0
    return 1920.0 * (z_cm + 12.2) / (z_cm + 18.0)


def density_hayne_kg_m3(depth_m, *, rho_s_kg_m3: float = HAYNE_RHO_SURFACE_KG_M3,
                        rho_d_kg_m3: float = HAYNE_RHO_DEEP_KG_M3, h_m: float = HAYNE_H_M) -> np.ndarray:
    """Hayne et al. 2017 eq. A2: rho_d - (rho_d - rho_s) exp(-z/H).

    Parameters
    ----------
    depth_m : float or array_like
        Depth z below the surface, m (>= 0); any shape.
    rho_s_kg_m3 : float
        Surface density rho_s, kg/m^3 (Hayne et al. 2017 Table A1: 1100).
    rho_d_kg_m3 : float
        Deep density rho_d, kg/m^3 (Table A1: 1800).
    h_m : float
        e-folding depth H, m (> 0; 0.06 m, see the module docstring).

    Returns
    -------
    np.ndarray
        Dry bulk density, kg/m^3, the shape of ``depth_m``.
    """
    if h_m <= 0:
        raise InputError(f"H (density e-folding scale) must be > 0 m, got {h_m}")
    z = _depth(depth_m)
    return rho_d_kg_m3 - (rho_d_kg_m3 - rho_s_kg_m3) * np.exp(-z / h_m)


def density_kg_m3(depth_m, model: str = DEFAULT_DENSITY_MODEL) -> np.ndarray:
    """Dry bulk density at depth with the named model ('carrier' default, or 'hayne')."""
    if model == "carrier":
        return density_carrier_kg_m3(depth_m)
    if model == "hayne":
        return density_hayne_kg_m3(depth_m)
    raise InputError(f"unknown density model {model!r}; choose one of {DENSITY_MODELS}")


def areal_mass_carrier_kg_m2(depth_m) -> np.ndarray:
    """Closed-form integral of the Carrier profile from the surface to ``depth_m`` (kg/m^2).

    int_0^z 1.92 (1 - 5.8/(z'+18)) dz' = 1.92 [z - 5.8 ln((z+18)/18)] (g/cm^3 * cm).
    """
    z_cm = _depth(depth_m) * 100.0
    g_cm2 = 1.92 * (z_cm - 5.8 * np.log((z_cm + 18.0) / 18.0))
    return g_cm2 * 10.0  # g/cm^2 -> kg/m^2


def areal_mass_hayne_kg_m2(depth_m, *, rho_s_kg_m3: float = HAYNE_RHO_SURFACE_KG_M3,
                           rho_d_kg_m3: float = HAYNE_RHO_DEEP_KG_M3, h_m: float = HAYNE_H_M) -> np.ndarray:
    """Closed-form integral of the Hayne profile from the surface to ``depth_m`` (kg/m^2).

    int_0^z rho(z') dz' = rho_d z - (rho_d - rho_s) H (1 - exp(-z/H)), from Hayne et al. 2017 eq. A2.

    Parameters
    ----------
    depth_m : float or array_like
        Depth z below the surface, m (>= 0); any shape.
    rho_s_kg_m3 : float
        Surface density rho_s, kg/m^3 (Hayne et al. 2017 Table A1: 1100).
    rho_d_kg_m3 : float
        Deep density rho_d, kg/m^3 (Table A1: 1800).
    h_m : float
        e-folding depth H, m (> 0; 0.06 m, see the module docstring).

    Returns
    -------
    np.ndarray
        Dry areal mass above ``depth_m``, kg/m^2, the shape of ``depth_m``.
    """
    z = _depth(depth_m)
    return rho_d_kg_m3 * z - (rho_d_kg_m3 - rho_s_kg_m3) * h_m * (1.0 - np.exp(-z / h_m))


def areal_mass_kg_m2(depth_m, model: str = DEFAULT_DENSITY_MODEL) -> np.ndarray:
    """Dry regolith mass per unit area above ``depth_m`` (kg/m^2)."""
    if model == "carrier":
        return areal_mass_carrier_kg_m2(depth_m)
    if model == "hayne":
        return areal_mass_hayne_kg_m2(depth_m)
    raise InputError(f"unknown density model {model!r}; choose one of {DENSITY_MODELS}")


def mean_density_carrier_kg_m3(z_top_m: float, z_bottom_m: float) -> float:
    """Depth-averaged Carrier density between two depths (what a core-tube measures)."""
    if not z_bottom_m > z_top_m:
        raise InputError("z_bottom_m must be deeper than z_top_m")
    m = areal_mass_carrier_kg_m2(np.array([z_top_m, z_bottom_m]))
    return float((m[1] - m[0]) / (z_bottom_m - z_top_m))


def porosity(density_kg_m3, grain_density_kg_m3: float = GRAIN_DENSITY_KG_M3) -> np.ndarray:
    """Porosity 1 - rho/rho_grain (Carrier et al. 1991 eq. 9.4 with G = 3.1)."""
    rho = np.asarray(density_kg_m3, float)
    if np.any(rho <= 0) or np.any(rho >= grain_density_kg_m3):
        raise InputError("bulk density must be > 0 and below the grain density")
    return 1.0 - rho / grain_density_kg_m3


def pore_ice_capacity_wt_pct(dry_density_kg_m3, grain_density_kg_m3: float = GRAIN_DENSITY_KG_M3) -> np.ndarray:
    """Return the largest WEH (wt% of the bulk) that pore ice can hold.

    Every pore filled with ice: w_max = phi rho_ice / (rho_dry + phi rho_ice),
    phi = 1 - rho_dry / rho_grain.
    """
    rho = np.asarray(dry_density_kg_m3, float)
    phi = np.clip(1.0 - rho / grain_density_kg_m3, 0.0, 1.0)
    return 100.0 * phi * ICE_DENSITY_KG_M3 / (rho + phi * ICE_DENSITY_KG_M3)


def bulk_density_with_ice_kg_m3(dry_density_kg_m3, weh_wt_pct) -> np.ndarray:
    """Bulk density when pore ice holding ``weh_wt_pct`` (wt% of the bulk) fills pores.

    Ice in pores adds mass without adding volume: rho = rho_dry / (1 - w).
    (Pore-filling caps w near phi rho_ice / (rho_dry + phi rho_ice) ~ 15-20 wt%;
    larger values imply excess ice and are not corrected for here.)
    """
    w = np.asarray(weh_wt_pct, float)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w >= 100):
        raise InputError("water content must be finite and between 0 and 100 wt% WEH")
    return np.asarray(dry_density_kg_m3, float) / (1.0 - w / 100.0)
