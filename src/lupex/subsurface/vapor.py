"""Water-ice vapour pressure and free-surface sublimation rate.

* Vapour pressure over hexagonal ice: Murphy & Koop (2005), Q. J. R. Meteorol.
  Soc. 131:1539, eq. 7:
  ``ln p[Pa] = 9.550426 - 5723.265/T + 3.53068 ln T - 0.00728332 T``.
  Stated valid for T > 110 K; below 110 K (most lunar cold traps) it is an
  extrapolation - the same one used by the lunar ice-stability literature.
* Sublimation into vacuum (Hertz-Knudsen, unit sticking coefficient):
  ``E = p(T) sqrt(m / (2 pi k_B T))`` in kg m^-2 s^-1, with m the mass of an
  H2O molecule. Converted to a recession rate with an ice density of
  920 kg/m^3. With these formulas bare ice loses 1 mm/Gyr at ~101 K and
  ~16 cm/Gyr at 110 K, consistent with Siegler et al. 2016 (Nature 531:480;
  "~100 K for 1 mm/Gyr") and with the 110 K threshold of Paige et al. 2010
  (Science 330:479) being the looser criterion.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from lupex.constants import BOLTZMANN_J_K as K_B
from lupex.constants import H2O_MOLECULE_KG as M_H2O_KG

RHO_ICE_KG_M3 = 920.0
SECONDS_PER_GYR = 1e9 * 365.25 * 86400.0


@njit(cache=True)
def _sublimation_rate_scalar(t_k: float) -> float:
    if t_k <= 1.0:
        return 0.0
    lnp = 9.550426 - 5723.265 / t_k + 3.53068 * math.log(t_k) - 0.00728332 * t_k
    return math.exp(lnp) * math.sqrt(M_H2O_KG / (2.0 * math.pi * K_B * t_k))


def vapor_pressure_ice_pa(t_k) -> np.ndarray:
    """Saturation vapour pressure over ice (Pa), Murphy & Koop 2005 eq. 7."""
    t = np.asarray(t_k, float)
    return np.exp(9.550426 - 5723.265 / t + 3.53068 * np.log(t) - 0.00728332 * t)


def sublimation_rate_kg_m2_s(t_k) -> np.ndarray:
    """Hertz-Knudsen free-surface sublimation mass flux into vacuum (kg m^-2 s^-1)."""
    t = np.asarray(t_k, float)
    return vapor_pressure_ice_pa(t) * np.sqrt(M_H2O_KG / (2.0 * np.pi * K_B * t))


def recession_mm_per_gyr(rate_kg_m2_s) -> np.ndarray:
    """Convert a sublimation mass flux to an ice recession rate in mm per Gyr."""
    return np.asarray(rate_kg_m2_s, float) * SECONDS_PER_GYR / RHO_ICE_KG_M3 * 1e3
