"""Nuclear data and regolith composition for the neutron transport: elements, oxides, cross sections.

The elements a neutron meets in hydrated lunar regolith, their masses and
free-atom cross sections (periodictable's tables, Sears 1992, Neutron News
3:26), the free n-p elastic cross section from the effective-range expansion
(Dumbrajs et al. 1983), and regolith chemistry along the Apollo 16 - Apollo 11
soil line of the Lunar Sourcebook, Table 7.15 (Haskin & Warren 1991). The
Monte Carlo that uses them is :mod:`lupex.instruments.neutron_transport`.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import periodictable as pt

from lupex.constants import AVOGADRO_PER_MOL as N_A
from lupex.errors import InputError

BARN_CM2 = 1e-24
E_2200_EV = 0.0253
K_B_EV = 8.617333262e-5
NEUTRON_MASS_U = 1.00866491595
MN_C2_MEV = 939.56542052
HBAR_C_MEV_FM = 197.3269804
CD_CUTOFF_EV = 0.5
# n-p effective-range parameters (Dumbrajs et al. 1983), fm
NP_AT, NP_RT, NP_AS, NP_RS = 5.424, 1.759, -23.74, 2.75

ELEMENTS = ("H", "O", "Na", "Mg", "Al", "Si", "K", "Ca", "Ti", "Cr", "Mn", "Fe", "Sm", "Gd")
H_INDEX = 0

# Lunar Sourcebook Table 7.15 (Haskin & Warren 1991, ch. 7; USGS astrogeology tab7_15.asc): average
# soils in wt%. Apollo 16 (average of the site's stations, column "16") and Apollo 11 (soil 10002).
OXIDES_A16 = {"SiO2": 45.0, "TiO2": 0.54, "Al2O3": 27.3, "Cr2O3": 0.33, "FeO": 5.1, "MnO": 0.30, "MgO": 5.7,
              "CaO": 15.7, "Na2O": 0.46, "K2O": 0.17}
OXIDES_A11 = {"SiO2": 42.2, "TiO2": 7.8, "Al2O3": 13.6, "Cr2O3": 0.30, "FeO": 15.3, "MnO": 0.20, "MgO": 7.8,
              "CaO": 11.9, "Na2O": 0.47, "K2O": 0.16}
_OXIDE_CATION = {"SiO2": ("Si", 1, 2), "TiO2": ("Ti", 1, 2), "Al2O3": ("Al", 2, 3), "Cr2O3": ("Cr", 2, 3),
                 "FeO": ("Fe", 1, 1), "MnO": ("Mn", 1, 1), "MgO": ("Mg", 1, 1), "CaO": ("Ca", 1, 1),
                 "Na2O": ("Na", 2, 1), "K2O": ("K", 2, 1)}
# Rare earths, the strongest thermal absorbers: not in Table 7.15's excerpt. Polar highland regolith,
# far from the Procellarum KREEP terrane (Th ~1 ppm vs 2 ppm at Apollo 16; Lawrence et al. 2000, JGR 105
# 20307), is taken to hold about half the ~5-7 ppm Sm and Gd of Apollo 16 soils: an assumption whose weight
# the calibration reports (rare earths off vs on).
SM_PPM_DEFAULT = 3.0
GD_PPM_DEFAULT = 3.5


def _element_data():
    """Masses and cross sections of :data:`ELEMENTS` from periodictable's neutron data (Sears 1992).

    Returns (mass in u, mass over the neutron's, free-atom scattering and 2200 m/s absorption cross
    sections in barn).
    """
    mass_u = np.array([getattr(pt, s).mass for s in ELEMENTS])
    a = mass_u / NEUTRON_MASS_U
    bound = np.array([getattr(pt, s).neutron.total for s in ELEMENTS])
    absorb = np.array([getattr(pt, s).neutron.absorption for s in ELEMENTS])
    free = bound * (a / (a + 1.0)) ** 2
    return mass_u, a, free, absorb


MASS_U, MASS_RATIO, SIGMA_S_FREE_B, SIGMA_A_2200_B = _element_data()


def np_cross_section_b(energy_ev):
    """Free n-p elastic cross section (barn) at lab energy ``energy_ev`` (effective range expansion)."""
    e = np.asarray(energy_ev, float)
    return _np_xs(e)


@nb.vectorize(["float64(float64)"], cache=True)
def _np_xs(e_ev):
    k2 = MN_C2_MEV * (e_ev * 1e-6) / (2.0 * HBAR_C_MEV_FM * HBAR_C_MEV_FM)   # fm^-2
    dt = -1.0 / NP_AT + 0.5 * NP_RT * k2
    ds = -1.0 / NP_AS + 0.5 * NP_RS * k2
    return (3.0 * math.pi / (k2 + dt * dt) + math.pi / (k2 + ds * ds)) * 0.01   # fm^2 -> barn


def oxides_for(feo_tio2_wt_pct: float) -> dict:
    """Oxide wt% of dry regolith with the given FeO+TiO2.

    Linear between the Apollo 16 and Apollo 11 soils of Lunar Sourcebook Table 7.15 (a highland-mare mixing line);
    beyond either end FeO and TiO2 are scaled and the other oxides renormalised to keep the total.
    """
    a = float(feo_tio2_wt_pct)
    if not (np.isfinite(a) and 0.0 <= a <= 40.0):
        raise InputError(f"feo_tio2_wt_pct must be within [0, 40] wt%, got {feo_tio2_wt_pct!r}")
    a16 = OXIDES_A16["FeO"] + OXIDES_A16["TiO2"]
    a11 = OXIDES_A11["FeO"] + OXIDES_A11["TiO2"]
    f = min(max((a - a16) / (a11 - a16), 0.0), 1.0)
    ox = {k: OXIDES_A16[k] + f * (OXIDES_A11[k] - OXIDES_A16[k]) for k in OXIDES_A16}
    total = sum(ox.values())
    have = ox["FeO"] + ox["TiO2"]
    if abs(have - a) > 1e-12:
        s = a / have
        rest = total - have
        ox["FeO"] *= s
        ox["TiO2"] *= s
        r = (total - a) / rest
        for k in ox:
            if k not in ("FeO", "TiO2"):
                ox[k] *= r
    return ox


def element_mass_fractions(feo_tio2_wt_pct: float = 6.0, weh_wt_pct: float = 0.0,
                           sm_ppm: float = SM_PPM_DEFAULT, gd_ppm: float = GD_PPM_DEFAULT) -> np.ndarray:
    """Mass fraction of each of :data:`ELEMENTS` in regolith holding ``weh_wt_pct`` of water-equivalent hydrogen.

    H2O mass fraction W/100, the dry part scaled by 1 - W/100. The dry part's oxides follow the Apollo 16 - Apollo 11
    soil line of Lunar Sourcebook Table 7.15 (:func:`oxides_for`), with Sm and Gd added.

    Parameters
    ----------
    feo_tio2_wt_pct : float
        FeO+TiO2 of the dry regolith, wt% in [0, 40].
    weh_wt_pct : float
        Water-equivalent hydrogen, wt% of the wet regolith, in [0, 100].
    sm_ppm, gd_ppm : float
        Samarium and gadolinium in the dry regolith, ppm by mass, >= 0.

    Returns
    -------
    numpy.ndarray, shape (len(ELEMENTS),)
        Mass fractions in the order of :data:`ELEMENTS`, summing to 1.
    """
    w = float(weh_wt_pct)
    if not (np.isfinite(w) and 0.0 <= w <= 100.0):
        raise InputError(f"weh_wt_pct must be within [0, 100] wt% WEH, got {weh_wt_pct!r}")
    if not (np.isfinite(sm_ppm) and np.isfinite(gd_ppm) and sm_ppm >= 0 and gd_ppm >= 0):
        raise InputError("sm_ppm and gd_ppm must be finite and >= 0")
    idx = {s: i for i, s in enumerate(ELEMENTS)}
    m = dict(zip(ELEMENTS, MASS_U))
    frac = np.zeros(len(ELEMENTS))
    ox = oxides_for(feo_tio2_wt_pct)
    tot = sum(ox.values())
    for name, wt in ox.items():
        cat, nc, no = _OXIDE_CATION[name]
        mol = nc * m[cat] + no * m["O"]
        frac[idx[cat]] += wt / tot * nc * m[cat] / mol
        frac[idx["O"]] += wt / tot * no * m["O"] / mol
    frac[idx["Sm"]] = sm_ppm * 1e-6
    frac[idx["Gd"]] = gd_ppm * 1e-6
    frac /= frac.sum()
    dry = 1.0 - w / 100.0
    frac *= dry
    h2o = 2 * m["H"] + m["O"]
    frac[idx["H"]] += w / 100.0 * 2 * m["H"] / h2o
    frac[idx["O"]] += w / 100.0 * m["O"] / h2o
    return frac


def atoms_per_gram(mass_fractions) -> np.ndarray:
    """Atoms per gram of each of :data:`ELEMENTS` for the given mass fractions (1/g)."""
    return N_A * np.asarray(mass_fractions, float) / MASS_U


def macroscopic_absorption_cm2_g(mass_fractions) -> float:
    """Thermal (2200 m/s) macroscopic absorption cross section per gram."""
    return float(atoms_per_gram(mass_fractions) @ SIGMA_A_2200_B * BARN_CM2)
