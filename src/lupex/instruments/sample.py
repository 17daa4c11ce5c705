"""The drilled sample that travels to the REIWA/ISAP instruments.

Also the volatile-loss physics shared by the drill and the sample handling.

Sources
-------
* Ice vapour pressure: Murphy, D. M. & Koop, T. (2005), Q. J. R. Meteorol. Soc.
  131:1539-1565, eq. (7), hexagonal ice, stated valid for T > 110 K::

      ln p[Pa] = 9.550426 - 5723.265/T + 3.53068 ln T - 0.00728332 T

  Below 110 K the formula is extrapolated; the flux there is < 1e-10 kg m^-2 s^-1
  and irrelevant to the loss budget.
* Free sublimation into vacuum, Hertz-Knudsen(-Langmuir)::

      J [kg m^-2 s^-1] = alpha * p(T) * sqrt(m / (2 pi k T))

  with the evaporation coefficient alpha ~ 1 measured for ice below ~185 K
  (Haynes, Tro & George 1992, J. Phys. Chem. 96:8502).
* Regolith specific heat: Hayne et al. (2017), JGR Planets 122:2371, eq. (A6)
  polynomial (after Hemingway et al. 1981), used by the drill heating model.

Assumptions (stated, not measured)
----------------------------------
* The loss rate of a sample is J(T) times an *effective exposed area* times an
  impedance factor (<= 1) for vapour diffusion through the pores of the
  sample; with the default factor 1 the estimate is an upper bound.
* Other volatiles (H2S, NH3, SO2, C2H4, CO2, CH3OH, CH4) are taken to be
  trapped in the water ice (clathrate / mixed ice; they would not survive as
  pure ices at >= 100 K) and are lost in proportion to the ice; they come off
  with the ice when it is heated ("co-desorption", Collings et al. 2004,
  MNRAS 354:1133). Their ratios to H2O are number (molecule) ratios, as in the
  LCROSS table (Colaprete et al. 2010, Science 330:463, Table 1).
* Latent heat drawn by sublimation is neglected (cooling would reduce the loss).
* Sub-sampling: each instrument takes an aliquot of the homogenised sample;
  the ice content of an aliquot scatters about the bulk with a relative
  standard deviation proportional to 1/sqrt(aliquot mass) (Gy's fundamental
  sampling error, Gy 1979, "Sampling of Particulate Materials", ch. 10).
  We take 3 % at 1 mg (assumption); the analyses include it in their sigma.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

import numpy as np

from lupex.constants import AVOGADRO_PER_MOL as N_A
from lupex.constants import BOLTZMANN_J_K as K_B
from lupex.constants import H2O_MOLAR_MASS_KG_MOL
from lupex.errors import InputError

AMU_KG = 1.66053906660e-27  # kg (CODATA 2018)

#: Molar masses (kg/mol, standard atomic weights) of the volatiles the instruments know.
MOLAR_MASS_KG_MOL = MappingProxyType({
    "H2O": H2O_MOLAR_MASS_KG_MOL, "H2": 2.01588e-3, "CO": 28.0101e-3, "CO2": 44.0095e-3,
    "H2S": 34.0809e-3, "NH3": 17.03052e-3, "SO2": 64.0638e-3, "C2H4": 28.0532e-3,
    "CH3OH": 32.04186e-3, "CH4": 16.04246e-3, "OH": 17.00734e-3, "N2": 28.0134e-3,
})

#: LCROSS ejecta volatiles relative to H2O, in per cent of the H2O molecule number
#: (Colaprete et al. 2010, Science 330:463, Table 1; H2O itself 5.6 +- 2.9 wt%).
LCROSS_REL_H2O_PCT = MappingProxyType({
    "H2S": 16.75, "NH3": 6.03, "SO2": 3.19, "C2H4": 3.12, "CO2": 2.17,
    "CH3OH": 1.55, "CH4": 0.65, "OH": 0.03,
})
LCROSS_H2O_WT_PCT = (5.6, 2.9)

#: Apollo 16 mature-soil average (wt% oxides), highland reference composition.
#: Lunar Sourcebook (Heiken, Vaniman & French 1991), Table 7.15 averages, rounded;
#: used as the default regolith of a drilled sample (ISAP ground truth).
APOLLO16_SOIL_OXIDES_WT_PCT = MappingProxyType({
    "SiO2": 45.0, "TiO2": 0.54, "Al2O3": 27.3, "FeO": 5.1, "MgO": 5.7,
    "CaO": 15.7, "Na2O": 0.46,
})


# --------------------------------------------------------------------------- physics
def ice_vapour_pressure_pa(temperature_k):
    """Saturation vapour pressure of hexagonal ice (Pa), Murphy & Koop 2005 eq. 7."""
    t = np.asarray(temperature_k, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise InputError("temperature must be finite and positive (kelvin)")
    return np.exp(9.550426 - 5723.265 / t + 3.53068 * np.log(t) - 0.00728332 * t)


def hertz_knudsen_flux_kg_m2_s(temperature_k, *, molar_mass_kg_mol: float = MOLAR_MASS_KG_MOL["H2O"],
                               alpha: float = 1.0, vapour_pressure_pa=None):
    """Free-sublimation mass flux into vacuum, J = alpha p sqrt(m/(2 pi k T)) (kg m^-2 s^-1).

    ``vapour_pressure_pa`` defaults to water ice (Murphy & Koop 2005).

    Parameters
    ----------
    temperature_k : array_like
        Ice temperature, K.
    molar_mass_kg_mol : float
        Molar mass of the vapour, kg/mol.
    alpha : float
        Sublimation (evaporation) coefficient, 0..1.
    vapour_pressure_pa : array_like, optional
        Saturation vapour pressure, Pa (default: water ice).
    """
    t = np.asarray(temperature_k, dtype=float)
    p = ice_vapour_pressure_pa(t) if vapour_pressure_pa is None else np.asarray(vapour_pressure_pa, float)
    m = molar_mass_kg_mol / N_A
    return alpha * p * np.sqrt(m / (2.0 * np.pi * K_B * t))


def regolith_heat_capacity_j_kg_k(temperature_k):
    """Specific heat of lunar regolith, Hayne et al. 2017 eq. A6 (J kg^-1 K^-1)."""
    t = np.asarray(temperature_k, dtype=float)
    c = (-3.6125, 2.7431, 2.3616e-3, -1.2340e-5, 8.9093e-9)
    return c[0] + c[1] * t + c[2] * t**2 + c[3] * t**3 + c[4] * t**4


def other_volatiles_mass_per_water_mass(rel_h2o_pct: Mapping[str, float]) -> float:
    """Mass of the trapped non-water volatiles per kg of water, from number ratios (% of H2O)."""
    mw = MOLAR_MASS_KG_MOL["H2O"]
    return float(sum(v / 100.0 * MOLAR_MASS_KG_MOL[k] / mw for k, v in rel_h2o_pct.items()))


@dataclass(frozen=True)
class Exposure:
    """One step of a sample's thermal history: duration, temperature, exposed area, phase name."""

    duration_s: float
    temperature_k: float
    exposed_area_m2: float
    phase: str = ""


def sublimation_loss(ice_kg: float, exposures, *, impedance: float = 1.0, alpha: float = 1.0):
    """Water-ice mass lost (kg) over a sequence of :class:`Exposure` steps, and the loss per step.

    Each step loses ``impedance * J(T) * area * duration``, capped by the ice left.

    Parameters
    ----------
    ice_kg : float
        Ice at the start, kg.
    exposures : sequence of Exposure
        The thermal history, in order.
    impedance : float
        Pore-diffusion impedance factor (<= 1).
    alpha : float
        Sublimation coefficient, 0..1.
    """
    if not (0.0 < impedance <= 1.0):
        raise InputError("impedance must be in (0, 1]: fraction of the free-sublimation flux")
    left = float(ice_kg)
    per_step = []
    for e in exposures:
        if e.duration_s < 0 or e.exposed_area_m2 < 0:
            raise InputError("exposure duration and area must be non-negative")
        want = impedance * float(hertz_knudsen_flux_kg_m2_s(e.temperature_k, alpha=alpha)) \
            * e.exposed_area_m2 * e.duration_s
        lost = min(left, want)
        left -= lost
        per_step.append(lost)
    return float(ice_kg) - left, tuple(per_step)


# --------------------------------------------------------------------------- sample type
@dataclass(frozen=True)
class SampleTruth:
    """What was in the ground, kept beside the sample for scoring (never read by an analysis)."""

    in_situ_water_wt_pct: float
    in_situ_mass_kg: float
    water_lost_kg: float
    loss_fraction: float


@dataclass(frozen=True)
class Sample:
    """A drilled sample as delivered to the instruments (after losses).

    ``water_wt_pct`` is water *ice* in wt% of the delivered bulk mass (the
    quantity the LTGA/ADORE/TRITON cross-check compares); other volatiles are
    number ratios to H2O in per cent (LCROSS convention) and are held in the ice.
    ``adsorbed_water_wt_pct`` / ``bound_water_wt_pct`` are water on grain
    surfaces and in minerals/glass (OH), released at higher temperatures.
    """

    top_m: float
    bottom_m: float
    mass_kg: float
    water_wt_pct: float
    volatiles_rel_h2o_pct: Mapping[str, float] = field(default_factory=dict)
    adsorbed_water_wt_pct: float = 0.05
    bound_water_wt_pct: float = 0.1
    oxides_wt_pct: Mapping[str, float] = field(default_factory=lambda: dict(APOLLO16_SOIL_OXIDES_WT_PCT))
    temperature_k: float = 100.0
    history: tuple[Exposure, ...] = ()
    truth: SampleTruth | None = None

    def __post_init__(self):
        check_sample_fields(self)
        object.__setattr__(self, "volatiles_rel_h2o_pct", MappingProxyType(dict(self.volatiles_rel_h2o_pct)))
        object.__setattr__(self, "oxides_wt_pct", MappingProxyType(dict(self.oxides_wt_pct)))

    @property
    def water_kg(self) -> float:
        """Water in the sample, kg."""
        return self.mass_kg * self.water_wt_pct / 100.0

    @property
    def other_volatiles_kg(self) -> float:
        """Volatiles other than water in the sample, kg."""
        return self.water_kg * other_volatiles_mass_per_water_mass(self.volatiles_rel_h2o_pct)

    def with_mass(self, mass_kg: float) -> "Sample":
        """The same sample with mass ``mass_kg`` (kg)."""
        return replace(self, mass_kg=mass_kg)


def check_sample_fields(s: Sample) -> None:
    """Raise InputError for a sample no instrument can measure (empty, NaN, impossible)."""
    for name in ("top_m", "bottom_m", "mass_kg", "water_wt_pct", "adsorbed_water_wt_pct",
                 "bound_water_wt_pct", "temperature_k"):
        v = getattr(s, name)
        if not np.isfinite(v):
            raise InputError(f"Sample.{name} is {v}; give a finite number")
    if s.mass_kg <= 0:
        raise InputError(f"the sample is empty (mass {s.mass_kg} kg): drill a non-empty interval first")
    if not (0 <= s.top_m < s.bottom_m):
        raise InputError(f"sample interval [{s.top_m}, {s.bottom_m}] m must have 0 <= top < bottom")
    if not (0 <= s.water_wt_pct < 100):
        raise InputError(f"sample water content {s.water_wt_pct} wt% must be in [0, 100)")
    for k, v in dict(s.volatiles_rel_h2o_pct).items():
        if k not in MOLAR_MASS_KG_MOL:
            raise InputError(f"unknown volatile {k!r}; known: {sorted(MOLAR_MASS_KG_MOL)}")
        if not np.isfinite(v) or v < 0:
            raise InputError(f"volatile {k} ratio {v} % of H2O must be finite and >= 0")
    if s.temperature_k <= 0:
        raise InputError("sample temperature must be positive (kelvin)")


def require_sample(sample) -> Sample:
    """Instruments call this first: a clear error for None/empty samples."""
    if sample is None:
        raise InputError("no sample: the drill returned none (stopped above the interval); drill elsewhere")
    if not isinstance(sample, Sample):
        raise InputError(f"expected a lupex Sample, got {type(sample).__name__}")
    check_sample_fields(sample)
    return sample


def aliquot_mass(sample: Sample, aliquot_kg: float, instrument: str) -> float:
    """The aliquot an instrument takes from a homogenised sample (all of it if the sample is smaller)."""
    if not np.isfinite(aliquot_kg) or aliquot_kg <= 0:
        raise InputError(f"{instrument}: aliquot mass must be a positive number of kg (got {aliquot_kg})")
    return float(min(aliquot_kg, sample.mass_kg))


SUBSAMPLING_REL_SIGMA_AT_1MG = 0.03


def subsampling_rel_sigma(aliquot_kg: float) -> float:
    """Relative scatter of an aliquot's ice content about the bulk (Gy: variance ~ 1/mass)."""
    return SUBSAMPLING_REL_SIGMA_AT_1MG * float(np.sqrt(1e-6 / aliquot_kg))


def aliquot_ice_factor(sample: "Sample", aliquot_kg: float, rng: np.random.Generator) -> float:
    """Draw the ratio (aliquot ice content / bulk ice content); 1 when the aliquot is the whole sample."""
    if aliquot_kg >= sample.mass_kg:
        return 1.0
    return float(max(rng.normal(1.0, subsampling_rel_sigma(aliquot_kg)), 0.0))


def check_finite_array(name: str, a, *, positive: bool = False) -> np.ndarray:
    """``a`` as a float array; InputError naming ``name`` when it is empty, not finite, or (``positive``) <= 0."""
    a = np.asarray(a, dtype=float)
    if a.size == 0:
        raise InputError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or infinite values; remove or interpolate them first")
    if positive and np.any(a <= 0):
        raise InputError(f"{name} must be positive")
    return a
