"""Rotary-percussive auger drill to 1.5 m.

Sampling by depth interval, drilling time and energy, cuttings heating and volatile loss, rocks that stop it.

Model (one depth cell of the ground truth at a time)
----------------------------------------------------
* Strength: unconfined compressive strength (UCS) of icy regolith rises with
  ice content; we use UCS = ucs_dry + k * ice_wt_pct (capped), with
  ucs_dry = 0.3 MPa and k = 1.5 MPa per wt% -- a linear stand-in for the
  strong rise measured for ice-cemented lunar simulant at cryogenic
  temperature (Gertsch, Gustafson & Gertsch 2006, AIP Conf. Proc. 813:1093;
  tens of MPa near 10 wt%). Approximate; treat as a tunable assumption.
* Specific energy: Teale (1965), Int. J. Rock Mech. Min. Sci. 2:57 -- the
  energy per excavated volume approaches the UCS at best, so
  SE = UCS / eta with a mechanical efficiency eta (default 0.1).
  Penetration rate v = eta P / (A UCS), capped by the feed limit.
* Drill class: ~100 W cutting power, 25 mm bit, in the class of Honeybee
  Robotics' LunarVader/TRIDENT rotary-percussive drills (Zacny et al. 2013,
  AIAA Space 2013-5385; Zacny et al. 2021 TRIDENT for VIPER, ~1 m in <1 h).
  Parameter values are assumptions of that order, not LUPEX specifications.
* Cuttings heating: a fraction f of the cutting power goes into the cuttings
  (mass rate rho A v, heat capacity c_p(T) of Hayne et al. 2017), so
  dT = f P / (rho A v c_p) = f UCS / (eta rho c_p), independent of power.
  Hard icy ground heats its cuttings more. Thermal-vacuum drilling tests in
  icy simulant (Kleinhenz et al. 2015, AIAA 2015-1177; Zacny et al. 2013)
  report cuttings warming of a few to tens of K and water loss rising steeply
  with cuttings temperature; f = 0.1 is our assumption.
* Volatile loss: Hertz-Knudsen sublimation (see :mod:`lupex.instruments.sample`)
  (1) on the auger flutes while drilling and retracting, mean residence = half
  the drilling time plus the retraction, area = flute surface 2 pi r L;
  (2) during transfer and waiting, as a pile of the delivered mass
  (hemisphere of the bulk density: area 2 pi r^2), at the waiting temperature.
* Rocks: a buried rock whose sphere meets the bit's cylinder stops the drill
  at first contact when its radius exceeds ``rock_stop_radius_m``; smaller
  rocks are cut through at rock strength (their cuttings dilute the sample).
  The rock's horizontal distance from the hole is hypot(offset_m, along_track_m).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping

import numpy as np

from lupex.errors import ConfigError, InputError
from lupex.instruments.sample import (
    APOLLO16_SOIL_OXIDES_WT_PCT,
    LCROSS_REL_H2O_PCT,
    MOLAR_MASS_KG_MOL,
    Exposure,
    Sample,
    SampleTruth,
    other_volatiles_mass_per_water_mass,
    regolith_heat_capacity_j_kg_k,
    sublimation_loss,
)
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, check_rng, param
from lupex.subsurface.profile import Column

MAX_DEPTH_M = 1.5  # LUPEX drill reach (docs/REFERENCES.md#lupex-mission)


_ZACNY = "drill class of Zacny et al. 2013 (AIAA 2013-5385) and TRIDENT (Zacny et al. 2021)"


@dataclass(frozen=True)
class DrillParams:
    """The drill and sample handling (see the module docstring for the model and its sources)."""

    max_depth_m: float = param(MAX_DEPTH_M, "m", f"depth to drill to, from the surface (at most the drill's {MAX_DEPTH_M} m reach)",
                               "LUPEX drill reach 1.5 m (docs/REFERENCES.md#lupex-mission)")
    bit_radius_m: float = param(0.0125, "m", "auger bit radius (25 mm bit)", f"{ASSUMED}: {_ZACNY}")
    cutting_power_w: float = param(100.0, "W", "power into cutting at the bit", f"{ASSUMED}: ~100 W, {_ZACNY}")
    overhead_power_w: float = param(20.0, "W", "drill electronics and feed motor power while drilling and retracting",
                                    f"{ASSUMED}: 20 % of the cutting power")
    mechanical_efficiency: float = param(0.1, "fraction 0-1", "Teale mechanical efficiency eta: specific energy = UCS / eta",
                                         f"Teale 1965 (Int. J. Rock Mech. Min. Sci. 2:57) form; 0.1 is an {ASSUMED} for rotary-percussive augers")
    max_rate_m_s: float = param(0.01, "m/s", "feed (penetration) rate limit", f"{ASSUMED}: ~1 m in minutes at best, as TRIDENT")
    ucs_dry_pa: float = param(0.3e6, "Pa", "unconfined compressive strength of dry regolith",
                              f"{ASSUMED}: linear stand-in for Gertsch, Gustafson & Gertsch 2006 (AIP Conf. Proc. 813:1093)")
    ucs_per_ice_wt_pct_pa: float = param(1.5e6, "Pa per wt%", "rise of the UCS per wt% of ice",
                                         f"{ASSUMED}: fits Gertsch et al. 2006's tens of MPa near 10 wt% ice")
    ucs_max_pa: float = param(40e6, "Pa", "cap of the icy-regolith UCS", f"{ASSUMED}: Gertsch et al. 2006, tens of MPa at cryogenic temperature")
    rock_ucs_pa: float = param(150e6, "Pa", "UCS of a buried rock (cut through when small)", f"{ASSUMED}: typical basalt/breccia 100-250 MPa")
    rock_density_kg_m3: float = param(3000.0, "kg/m^3", "density of rock cuttings", f"{ASSUMED}: lunar basalt/breccia ~3,000 kg/m^3")
    rock_stop_radius_m: float = param(0.03, "m", "a rock at least this large stops the drill at first contact",
                                      f"{ASSUMED}: about the bit diameter (a rock the auger cannot push aside)")
    recovery_frac: float = param(0.3, "fraction 0-1", "mean fraction of the cut material delivered as sample",
                                     f"{ASSUMED}: auger flutes retain part of the cuttings (Zacny et al. 2013)")
    recovery_sigma: float = param(0.03, "fraction", "1-sigma spread of the recovered fraction between intervals", ASSUMED)
    heat_frac_to_cuttings: float = param(0.1, "fraction 0-1", "share of the cutting power that heats the cuttings",
                                             f"{ASSUMED}: gives the few-to-tens-of-K warming of Kleinhenz et al. 2015 (AIAA 2015-1177)")
    retract_rate_m_s: float = param(0.01, "m/s", "speed of pulling the auger out with its cuttings", f"{ASSUMED}: as the feed limit")
    transfer_s: float = param(300.0, "s", "time to transfer the cuttings to the instruments' inlet", f"{ASSUMED}: minutes")
    wait_s: float = param(600.0, "s", "time the delivered sample waits before analysis", f"{ASSUMED}: minutes")
    wait_temperature_k: float = param(140.0, "K", "sample temperature while transferred and waiting",
                                      f"{ASSUMED}: shaded sample inlet of a rover in a polar night region")
    impedance: float = param(1.0, "-", "Hertz-Knudsen sublimation impedance (1 = free surface; >1 slows the loss through a porous layer)",
                             f"{ASSUMED}: free sublimation, the conservative (largest-loss) case")
    volatiles_rel_h2o_pct: Mapping[str, float] = param(
        unit="% of H2O (number)", factory=lambda: dict(LCROSS_REL_H2O_PCT),
        help="volatiles trapped with the ice, per species (names update the defaults; 0 drops a species)",
        source="LCROSS plume abundances relative to water (Colaprete et al. 2010, Science 330:463, Table 1)")
    adsorbed_water_wt_pct: float = param(0.05, "wt%", "water adsorbed on grain surfaces of every sample",
                                         f"{ASSUMED}: tenths of wt% or less (Hibbitts et al. 2011, Icarus 213:64)")
    bound_water_wt_pct: float = param(0.1, "wt%", "bound water / OH in glass and minerals of every sample",
                                      f"{ASSUMED}: ~0.1 wt% order (Liu et al. 2012, Nature Geosci. 5:779)")

    def __post_init__(self):
        for f in fields(self):
            if f.name != "volatiles_rel_h2o_pct":
                check_non_negative(self, f.name)
        if self.max_depth_m > MAX_DEPTH_M or self.max_depth_m <= 0:
            raise ConfigError(f"DrillParams.max_depth_m = {self.max_depth_m} m must be in (0, {MAX_DEPTH_M}]: "
                              f"the drill reaches {MAX_DEPTH_M} m")
        check_positive(self, "bit_radius_m", "cutting_power_w", "max_rate_m_s", "retract_rate_m_s", "ucs_dry_pa",
                       "rock_ucs_pa", "impedance")
        check_range(self, "mechanical_efficiency", 0, 1, lo_open=True)
        check_range(self, "recovery_frac", 0, 1, lo_open=True)
        check_range(self, "heat_frac_to_cuttings", 0, 1)
        for k, v in self.volatiles_rel_h2o_pct.items():
            if k not in MOLAR_MASS_KG_MOL:
                raise ConfigError(f"DrillParams.volatiles_rel_h2o_pct: unknown species {k!r}; "
                                  f"known: {', '.join(sorted(MOLAR_MASS_KG_MOL))}")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ConfigError(f"DrillParams.volatiles_rel_h2o_pct.{k} must be a finite % >= 0, got {v!r}")


@dataclass(frozen=True)
class DrillRecord:
    """One drilled interval: depths (m), times (s), energy (J), cuttings temperature (K) and water lost."""

    top_m: float
    bottom_m: float
    reached_m: float
    stopped_by_rock: bool
    drill_time_s: float
    retract_time_s: float
    energy_j: float
    cuttings_temperature_k: float
    water_lost_kg: float
    loss_fraction: float
    loss_by_phase_kg: Mapping[str, float]


def ice_ucs_pa(ice_wt_pct, params: DrillParams = DrillParams()):
    """UCS of icy regolith (Pa): linear in ice content, capped (see module docstring)."""
    return np.minimum(params.ucs_dry_pa + params.ucs_per_ice_wt_pct_pa * np.asarray(ice_wt_pct, float),
                      params.ucs_max_pa)


def penetration_rate_m_s(ucs_pa, params: DrillParams = DrillParams()):
    """Teale specific-energy rate v = eta P / (A UCS), capped by the feed limit."""
    area = np.pi * params.bit_radius_m**2
    return np.minimum(params.mechanical_efficiency * params.cutting_power_w / (area * np.asarray(ucs_pa, float)),
                      params.max_rate_m_s)


def cuttings_temperature_rise_k(ucs_pa, density_kg_m3, temperature_k, params: DrillParams = DrillParams()):
    """DT = f UCS / (eta rho c_p): frictional heating of the cuttings (K).

    Parameters
    ----------
    ucs_pa : array_like
        Unconfined compressive strength of the ground, Pa.
    density_kg_m3 : array_like
        Bulk density, kg/m^3.
    temperature_k : array_like
        Ground temperature, K (sets the heat capacity c_p).
    params : DrillParams
        The drill's heat fraction f and efficiency eta.
    """
    cp = regolith_heat_capacity_j_kg_k(temperature_k)
    return params.heat_frac_to_cuttings * np.asarray(ucs_pa, float) / (
        params.mechanical_efficiency * np.asarray(density_kg_m3, float) * cp)


def rock_contact(column: Column, params: DrillParams):
    """Per rock that meets the hole: (top contact depth, bottom depth, radius). Sorted by depth."""
    out = []
    for r in column.rocks:
        d = float(np.hypot(r.offset_m, r.along_track_m))
        reach = max(d - params.bit_radius_m, 0.0)
        if reach < r.radius_m:
            half = float(np.sqrt(r.radius_m**2 - reach**2))
            out.append((r.depth_m - half, r.depth_m + half, r.radius_m))
    return sorted(out)


def _check_interval(column: Column, top_m: float, bottom_m: float, params: DrillParams):
    for name, v in (("top_m", top_m), ("bottom_m", bottom_m)):
        if not np.isfinite(v):
            raise InputError(f"drill {name} is {v}; give a finite depth in metres")
        if v < 0:
            raise InputError(f"drill {name} = {v} m is negative: depths are positive downwards from the surface")
        if v > params.max_depth_m + 1e-12:
            raise InputError(f"drill {name} = {v} m is beyond the drill's reach of {params.max_depth_m} m")
    if bottom_m <= top_m:
        raise InputError(f"drill interval [{top_m}, {bottom_m}] m is empty: bottom must be deeper than top")
    if bottom_m > column.depth_m + 1e-12:
        raise InputError(f"drill bottom {bottom_m} m is below the ground-truth column ({column.depth_m} m); "
                         "make the column deeper")


def drill(column: Column, top_m: float, bottom_m: float, *, rng: np.random.Generator,
          params: DrillParams = DrillParams()):
    """Drill the interval [top_m, bottom_m] (hole assumed open down to top_m) and deliver its cuttings.

    Returns ``(sample, record)``; ``sample`` is None when a rock stops the drill above ``top_m``.

    Parameters
    ----------
    column : Column
        The ground under the rover.
    top_m, bottom_m : float
        The interval, m below the surface.
    rng : np.random.Generator
        Source of the randomness.
    params : DrillParams
        The drill's parameters.
    """
    check_rng(rng)
    _check_interval(column, top_m, bottom_m, params)
    contacts = rock_contact(column, params)
    stop = min((c[0] for c in contacts if c[2] >= params.rock_stop_radius_m and c[1] > 0), default=np.inf)
    reached = float(min(bottom_m, max(stop, 0.0)))
    area = np.pi * params.bit_radius_m**2
    z = np.asarray(column.z_m)
    top_c, bot_c = z - column.dz_m / 2, z + column.dz_m / 2
    overlap = np.clip(np.minimum(bot_c, reached) - np.maximum(top_c, top_m), 0.0, None)
    # small rocks cut through: their chord inside the interval replaces regolith
    rock_len = 0.0
    for c_top, c_bot, rad in contacts:
        if rad < params.rock_stop_radius_m:
            rock_len += max(0.0, min(c_bot, reached) - max(c_top, top_m))
    length = max(reached - top_m, 0.0)
    regolith_scale = (length - rock_len) / length if length > 0 else 0.0
    overlap = overlap * regolith_scale
    ice = np.asarray(column.weh_wt_pct, float)
    rho = np.asarray(column.density_kg_m3, float)
    temp = np.asarray(column.temperature_k, float)
    ucs = ice_ucs_pa(ice, params)
    v = penetration_rate_m_s(ucs, params)
    t_cells = overlap / v
    p_used = v * area * ucs / params.mechanical_efficiency
    rock_v = float(penetration_rate_m_s(params.rock_ucs_pa, params))
    t_rock = rock_len / rock_v
    drill_time = float(t_cells.sum() + t_rock)
    retract_time = reached / params.retract_rate_m_s
    energy = float((p_used * t_cells).sum() + rock_v * area * params.rock_ucs_pa / params.mechanical_efficiency
                   * t_rock + params.overhead_power_w * (drill_time + retract_time))
    if length <= 0:
        rec = DrillRecord(top_m, bottom_m, reached, True, drill_time, retract_time, energy,
                          float("nan"), 0.0, 0.0, {})
        return None, rec

    m_cells = rho * area * overlap
    recovery = float(np.clip(rng.normal(params.recovery_frac, params.recovery_sigma), 0.05, 1.0))
    m_reg = float(m_cells.sum())
    m_rock = params.rock_density_kg_m3 * area * rock_len
    mass_insitu = (m_reg + m_rock) * recovery
    ice_kg = float((m_cells * ice / 100).sum()) * recovery
    dT = cuttings_temperature_rise_k(ucs, rho, temp, params)
    w = m_cells / max(m_reg, 1e-300)
    t_cut = float(np.sum(w * (temp + dT))) if m_reg > 0 else float(np.mean(temp))
    t_ground = float(np.sum(w * temp)) if m_reg > 0 else float(np.mean(temp))
    pile_r = (3 * mass_insitu / (2 * np.pi * max(float(np.sum(w * rho)), 1.0))) ** (1 / 3)
    exposures = (
        Exposure(drill_time / 2 + retract_time, t_cut, 2 * np.pi * params.bit_radius_m * length, "drilling"),
        Exposure(params.transfer_s, max(t_ground, min(t_cut, params.wait_temperature_k)),
                 2 * np.pi * pile_r**2, "transfer"),
        Exposure(params.wait_s, params.wait_temperature_k, 2 * np.pi * pile_r**2, "waiting"),
    )
    lost, per_step = sublimation_loss(ice_kg, exposures, impedance=params.impedance)
    others = other_volatiles_mass_per_water_mass(params.volatiles_rel_h2o_pct)
    mass_del = mass_insitu - lost * (1 + others)
    water_del = (ice_kg - lost) / mass_del * 100
    oxides = _scale_oxides(column.feo_tio2_wt_pct)
    truth = SampleTruth(in_situ_water_wt_pct=ice_kg / mass_insitu * 100 if mass_insitu > 0 else 0.0,
                        in_situ_mass_kg=mass_insitu, water_lost_kg=lost,
                        loss_fraction=lost / ice_kg if ice_kg > 0 else 0.0)
    sample = Sample(top_m=float(top_m), bottom_m=reached, mass_kg=mass_del, water_wt_pct=water_del,
                    volatiles_rel_h2o_pct=dict(params.volatiles_rel_h2o_pct),
                    adsorbed_water_wt_pct=params.adsorbed_water_wt_pct,
                    bound_water_wt_pct=params.bound_water_wt_pct, oxides_wt_pct=oxides,
                    temperature_k=params.wait_temperature_k, history=exposures, truth=truth)
    rec = DrillRecord(float(top_m), float(bottom_m), reached, reached < bottom_m, drill_time, retract_time,
                      energy, t_cut, lost, truth.loss_fraction,
                      {e.phase: l for e, l in zip(exposures, per_step)})
    return sample, rec


def _scale_oxides(feo_tio2_wt_pct: float) -> dict:
    """Apollo 16 soil with FeO and TiO2 scaled to the column's FeO+TiO2, the rest renormalised."""
    ox = dict(APOLLO16_SOIL_OXIDES_WT_PCT)
    total = sum(ox.values())
    ft = ox["FeO"] + ox["TiO2"]
    f = float(np.clip(feo_tio2_wt_pct, 0.0, 0.9 * total)) / ft
    rest = total - ft
    g = (total - f * ft) / rest
    return {k: (v * f if k in ("FeO", "TiO2") else v * g) for k, v in ox.items()}


def drill_profile(column: Column, *, bite_m: float = 0.1, rng: np.random.Generator,
                  params: DrillParams = DrillParams()):
    """Drill consecutive bites from the surface to max depth (or a rock); list of (sample, record).

    Parameters
    ----------
    column : Column
        The ground under the rover.
    bite_m : float
        Depth of one bite, m.
    rng : np.random.Generator
        Source of the randomness.
    params : DrillParams
        The drill's parameters (``max_depth_m``).
    """
    if not np.isfinite(bite_m) or bite_m <= 0:
        raise InputError("bite_m must be a positive depth increment in metres")
    out = []
    bottom_max = min(params.max_depth_m, column.depth_m)
    edges = np.append(np.arange(0.0, bottom_max, bite_m), bottom_max)
    edges = edges[np.r_[True, np.diff(edges) > 1e-9]]
    for a, b in zip(edges[:-1], edges[1:]):
        s, r = drill(column, float(a), float(b), rng=rng, params=params)
        if s is not None:
            out.append((s, r))
        if r.stopped_by_rock:
            break
    return out
