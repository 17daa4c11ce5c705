"""Dielectric properties of dry and icy lunar regolith for the GPR model.

Sources
-------
- Dry regolith (Olhoeft & Strangway 1975, EPSL 24:394, as restated by
  Carrier, Olhoeft & Mendell 1991, Lunar Sourcebook ch. 9, eqs. 9.1 and 9.2):

      eps' = 1.919 ** rho                                   (rho in g/cm^3)
      tan(delta) = 10 ** (0.038 (FeO+TiO2 wt%) + 0.312 rho - 3.260)

- Icy regolith: ``1.919 ** rho`` is logarithmic (Lichtenecker) mixing of grains
  with vacuum (ln eps = rho ln 1.919 is linear in the grain volume fraction),
  so the consistent rule for putting ice into the pore space is to keep mixing
  logarithmically: ln eps* = ln eps*_dry + v_ice ln eps*_ice (default,
  ``rule="log"``). CRIM (sqrt eps* linear in volume fractions; Birchak et al.
  1974, Proc. IEEE 62:93) is the option ``rule="crim"``:
  sqrt eps* = sqrt eps*_dry + v_ice (sqrt eps*_ice - 1). In both, ice replaces
  vacuum, so with no ice the dry Olhoeft value is returned exactly. Mixing is
  done on complex permittivity eps* = eps' (1 - i tan delta).
- Ice: eps' = 3.15 (Matsuoka et al. 1997, docs/REFERENCES.md#matsuoka1997),
  tan(delta) ~ 1e-4 at hundreds of MHz for cold ice (assumed, order of
  magnitude; Matsuoka 1996 give 1e-4..1e-3 between 190 and 260 K).

Conventions (state the assumption, since the Column contract leaves it open):
``density_kg_m3`` of a :class:`lupex.subsurface.Column` is the *bulk* density
(regolith + ice) and WEH is the weight percent of water in that bulk. The dry
matrix density (grains + vacuum) is therefore rho_bulk (1 - w/100) and the
volume fraction of ice is w/100 rho_bulk / rho_ice. Ice must fit in the pores
of the dry matrix, whose grains have density 3100 kg/m^3 (Carrier et al. 1991,
specific gravity 3.1).
"""

from __future__ import annotations

import numpy as np

from lupex.constants import GRAIN_DENSITY_KG_M3, ICE_DENSITY_KG_M3
from lupex.constants import SPEED_OF_LIGHT_M_S as C_M_S
from lupex.errors import InputError

OLHOEFT_BASE = 1.919
ICE_PERMITTIVITY = 3.15
ICE_LOSS_TANGENT = 1e-4
MIXING_RULES = ("log", "crim")


def _finite(name: str, a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or infinite values; fill or drop them first")
    return a


def check_weh(weh_wt_pct) -> np.ndarray:
    """Validate water-equivalent hydrogen in wt% (0..100) and return it as an array."""
    w = _finite("weh_wt_pct", weh_wt_pct)
    if np.any(w < 0) or np.any(w > 100):
        raise InputError(f"weh_wt_pct must be within 0..100 wt%, got {w.min():g}..{w.max():g}")
    return w


def check_permittivity(eps) -> np.ndarray:
    """Validate a relative permittivity (real part, >= 1) and return it as an array."""
    e = _finite("permittivity", eps)
    if np.any(e < 1):
        raise InputError(f"relative permittivity must be >= 1 (vacuum), got {e.min():g}")
    return e


def _density_g_cm3(density_kg_m3) -> np.ndarray:
    rho = _finite("density_kg_m3", density_kg_m3)
    if np.any(rho <= 0):
        raise InputError("density_kg_m3 must be positive (kg/m^3, e.g. 1500 for regolith)")
    if np.any(rho > 20_000):
        raise InputError(f"density_kg_m3 = {rho.max():g} is not a regolith density; pass kg/m^3, not g/cm^3")
    return rho / 1000.0


def dry_permittivity(density_kg_m3) -> np.ndarray:
    """Real relative permittivity of dry regolith, eps' = 1.919^rho (Olhoeft & Strangway 1975)."""
    return OLHOEFT_BASE ** _density_g_cm3(density_kg_m3)


def dry_loss_tangent(density_kg_m3, feo_tio2_wt_pct) -> np.ndarray:
    """Loss tangent of dry regolith, 10^(0.038 (FeO+TiO2) + 0.312 rho - 3.260) (Olhoeft & Strangway 1975)."""
    rho = _density_g_cm3(density_kg_m3)
    f = _finite("feo_tio2_wt_pct", feo_tio2_wt_pct)
    if np.any(f < 0) or np.any(f > 100):
        raise InputError("feo_tio2_wt_pct must be within 0..100 wt%")
    return 10.0 ** (0.038 * f + 0.312 * rho - 3.260)


def density_from_dry_permittivity(eps) -> np.ndarray:
    """Invert eps' = 1.919^rho: dry-matrix density in kg/m^3."""
    return 1000.0 * np.log(check_permittivity(eps)) / np.log(OLHOEFT_BASE)


def ice_volume_fraction(weh_wt_pct, density_kg_m3) -> np.ndarray:
    """Volume fraction of water ice from WEH (wt% of bulk) and bulk density; checks it fits the pores."""
    w = check_weh(weh_wt_pct) / 100.0
    rho = _density_g_cm3(density_kg_m3) * 1000.0
    v_ice = w * rho / ICE_DENSITY_KG_M3
    rho_dry = rho * (1.0 - w)
    porosity = 1.0 - rho_dry / GRAIN_DENSITY_KG_M3
    bad = v_ice > porosity + 1e-9
    if np.any(bad):
        i = np.flatnonzero(np.ravel(bad))[0]
        raise InputError(
            f"{100 * np.ravel(w)[i]:g} wt% WEH at bulk density {np.ravel(np.broadcast_to(rho, bad.shape))[i]:g} kg/m^3 "
            "needs more ice than the pore space holds; lower the WEH or the bulk density")
    return v_ice


def _check_rule(rule: str) -> str:
    if rule not in MIXING_RULES:
        raise InputError(f"mixing rule must be one of {MIXING_RULES}, got {rule!r}")
    return rule


def mix_ice(eps_dry, tan_dry, v_ice, rule: str = "log", eps_ice: float = ICE_PERMITTIVITY,
            tan_ice: float = ICE_LOSS_TANGENT) -> tuple[np.ndarray, np.ndarray]:
    """Put a volume fraction ``v_ice`` of ice into the vacuum of a dry matrix; returns (eps', tan delta).

    Parameters
    ----------
    eps_dry : array_like
        Real permittivity of the dry matrix.
    tan_dry : array_like
        Loss tangent of the dry matrix.
    v_ice : array_like
        Ice volume fraction, 0..1.
    rule : str
        Mixing rule: ``"log"`` or ``"crim"``.
    eps_ice, tan_ice : float
        Ice's real permittivity and loss tangent.
    """
    _check_rule(rule)
    ed = check_permittivity(eps_dry) * (1 - 1j * np.asarray(tan_dry, float))
    ei = check_permittivity(eps_ice) * (1 - 1j * tan_ice)
    v = np.asarray(v_ice, float)
    if rule == "log":
        e = np.exp(np.log(ed) + v * np.log(ei))
    else:
        e = (np.sqrt(ed) + v * (np.sqrt(ei) - 1.0)) ** 2
    return e.real, -e.imag / e.real


def regolith_dielectric(density_kg_m3, weh_wt_pct, feo_tio2_wt_pct, rule: str = "log"):
    """(eps', tan delta) of regolith with bulk density, WEH (wt% of bulk) and FeO+TiO2 (see module doc).

    Parameters
    ----------
    density_kg_m3 : array_like
        Bulk density, kg/m^3.
    weh_wt_pct : array_like
        Water-equivalent hydrogen, wt% of bulk.
    feo_tio2_wt_pct : array_like
        FeO + TiO2, wt%.
    rule : str
        Mixing rule: ``"log"`` or ``"crim"``.
    """
    w = check_weh(weh_wt_pct)
    rho = _density_g_cm3(density_kg_m3) * 1000.0
    v_ice = ice_volume_fraction(w, rho)
    rho_dry = rho * (1.0 - w / 100.0)
    return mix_ice(dry_permittivity(rho_dry), dry_loss_tangent(rho_dry, feo_tio2_wt_pct), v_ice, rule)


def weh_from_permittivity(eps_wet, rho_bulk_kg_m3, rule: str = "log", eps_ice: float = ICE_PERMITTIVITY):
    """Invert the mixing rule at a given *bulk* density: WEH (wt%) that gives real permittivity ``eps_wet``.

    Uses the real parts only (loss changes eps' by < 1e-5 relative here). With
    w the mass fraction, the dry matrix has density rho (1-w) and ice volume
    fraction w rho / rho_ice; the mixing rule is then solved for w (linear for
    ``log``, a 1-D root for ``crim``). Negative results (eps below the dry
    value) are returned as they are so that noise is not clipped into a bias.

    Parameters
    ----------
    eps_wet : array_like
        Real permittivity of the icy regolith.
    rho_bulk_kg_m3 : array_like
        Bulk density, kg/m^3.
    rule : str
        Mixing rule: ``"log"`` or ``"crim"``.
    eps_ice : float
        Ice's real permittivity.
    """
    _check_rule(rule)
    e = check_permittivity(eps_wet)
    rho = _density_g_cm3(rho_bulk_kg_m3)
    ri = ICE_DENSITY_KG_M3 / 1000.0
    if rule == "log":
        # ln e = rho (1-w) ln 1.919 + w rho/ri ln eps_ice
        w = (np.log(e) - rho * np.log(OLHOEFT_BASE)) / (rho * (np.log(eps_ice) / ri - np.log(OLHOEFT_BASE)))
    else:
        # sqrt e = 1.919^(rho (1-w)/2) + w rho/ri (sqrt eps_ice - 1): monotone in w, solve by Newton
        w = np.zeros(np.broadcast(e, rho).shape)
        for _ in range(30):
            f = OLHOEFT_BASE ** (rho * (1 - w) / 2) + w * rho / ri * (np.sqrt(eps_ice) - 1) - np.sqrt(e)
            df = -rho / 2 * np.log(OLHOEFT_BASE) * OLHOEFT_BASE ** (rho * (1 - w) / 2) + rho / ri * (np.sqrt(eps_ice) - 1)
            w = w - f / df
    return 100.0 * w


def column_dielectric(column, rule: str = "log") -> tuple[np.ndarray, np.ndarray]:
    """(eps', tan delta) per layer of a :class:`lupex.subsurface.Column`."""
    return regolith_dielectric(column.density_kg_m3, column.weh_wt_pct, column.feo_tio2_wt_pct, rule)


def velocity_m_s(eps) -> np.ndarray:
    """Low-loss phase velocity c / sqrt(eps')."""
    return C_M_S / np.sqrt(check_permittivity(eps))


def attenuation_np_m(eps, tan_delta, frequency_hz) -> np.ndarray:
    """Low-loss attenuation alpha = pi f sqrt(eps') tan(delta) / c in nepers per metre."""
    return np.pi * np.asarray(frequency_hz, float) * np.sqrt(np.asarray(eps, float)) * np.asarray(tan_delta, float) / C_M_S


def fresnel_reflection(eps_1, eps_2) -> np.ndarray:
    """Normal-incidence amplitude reflection coefficient from medium 1 into medium 2 (real permittivities)."""
    n1 = np.sqrt(check_permittivity(eps_1))
    n2 = np.sqrt(check_permittivity(eps_2))
    return (n1 - n2) / (n1 + n2)
