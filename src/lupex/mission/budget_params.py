"""The parameters of the launch-to-landing budget (:class:`BudgetParams`), the ``[budget]`` config table.

Every field names its unit and its source; numbers marked *assumption* are not
published LUPEX figures and each says why it is plausible. The solver that uses
them is :mod:`lupex.mission.budget` (which re-exports these names).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from lupex.errors import ConfigError
from lupex.landing.descent import DescentParams, LanderVehicleParams
from lupex.mission import astro
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, param

__all__ = ["ARCHITECTURES", "G_MOON_SURFACE_M_S2", "STAGES", "BudgetParams"]

_VEHICLE = LanderVehicleParams()
_DESCENT = DescentParams()

STAGES = ("pm", "lander")
ARCHITECTURES = ("pm+lander", "integrated")
G_MOON_SURFACE_M_S2 = astro.MU_MOON_M3_S2 / astro.R_MOON_M**2


@dataclass(frozen=True)
class BudgetParams:
    """Everything the launch-to-landing budget depends on; each field has unit, help and source metadata."""

    # --- requirement and launcher
    launch_mass_kg: float = param(6000.0, "kg", "spacecraft mass at separation from H3 (PM + lander + payload, wet)",
                               "LUPEX public figure ~6,000 kg (docs/REFERENCES.md#lupex-mission)")
    required_surface_payload_kg: float = param(350.0, "kg", "surface payload the lander must deliver (the JAXA rover)",
                                            "LUPEX requirement >=350 kg (docs/REFERENCES.md#lupex-mission)")
    launcher_capability_kg: float = param(6500.0, "kg", "H3-24 payload to a GTO with delta-v to GSO 1,500 m/s (lower bound for our parking orbit)",
                                       "JAXA H3 programme: H3-24 > 6.5 t to GTO (dV_GSO 1,500 m/s)")
    launch_latitude_deg: float = param(30.4, "deg", "launch site latitude (Tanegashima, Yoshinobu pad)",
                                    "Tanegashima Space Center ~30.40 N")
    # --- Earth parking orbit and transfer
    parking_perigee_altitude_m: float = param(250e3, "m", "perigee altitude of the elliptic parking orbit H3 injects into",
                                           f"{ASSUMED}: H-IIA/H3 standard GTO perigee ~250 km; Chandrayaan-3 EPO 170 km")
    parking_apogee_altitude_m: float = param(36_000e3, "m", "apogee altitude of the elliptic parking orbit",
                                          f"{ASSUMED}: GTO-like, as Chandrayaan-3's 170 x 36,500 km EPO")
    earth_moon_distance_m: float = param(astro.EARTH_MOON_MEAN_DISTANCE_M, "m", "Earth-Moon distance at arrival (apogee of the transfer)",
                                      "mean 384,400 km; astro.earth_moon_distance_m(utc) gives DE421 at a date")
    earth_phasing_dv_m_s: float = param(50.0, "m/s", "Earth-orbit phasing, apsidal alignment and small plane trim before TLI",
                                     f"{ASSUMED}: allowance for aligning a 30.4 deg GTO's apsides with the Moon at arrival")
    tli_loss_frac: float = param(0.02, "-", "finite-burn loss of TLI as a fraction of the impulsive delta-v (several perigee burns)",
                              f"{ASSUMED}: 1-3 % for perigee burns split in several arcs")
    transfer_tcm_dv_m_s: float = param(15.0, "m/s", "trajectory correction manoeuvres on the way to the Moon (stochastic)",
                                    f"{ASSUMED}: 10-30 m/s typical lunar-transfer TCM allocation")
    # --- lunar orbit
    lunar_orbit_altitude_m: float = param(100e3, "m", "altitude of the circular polar lunar orbit before descent",
                                       "Chandrayaan-3: ~100 km (153 x 163 km achieved) polar circular orbit")
    loi_loss_frac: float = param(0.03, "-", "finite-burn loss of lunar orbit insertion (fraction of impulsive delta-v)",
                              f"{ASSUMED}: low thrust-to-weight capture split in several periselene burns")
    lunar_orbit_ops_dv_m_s: float = param(20.0, "m/s", "lunar-orbit maintenance and phasing for the landing window",
                                       f"{ASSUMED}: weeks in a 100 km polar orbit (mascon perturbations)")
    # --- descent
    descent_perilune_altitude_m: float = param(_DESCENT.pdi_altitude_m, "m", "perilune altitude of the descent orbit where powered descent starts",
                                            "lupex.landing.descent.DescentParams.pdi_altitude_m (SLIM ~15 km; Chandrayaan-3 30 km): "
                                            "where the landing Monte Carlo starts")
    gravity_loss_m_s: float = param(250.0, "m/s", "gravity and steering losses of powered descent, added to the perilune speed",
                                 f"{ASSUMED}: brings braking to ~1.9-2.0 km/s, the 1.7-2.0 km/s range of lunar landers")
    hover_time_s: float = param(30.0, "s", "hover time for hazard detection (delta-v = g_moon * t)",
                             f"{ASSUMED}: SLIM hovered at ~50 m; Chandrayaan-3 hazard detection near 150 m")
    hazard_avoidance_dv_m_s: float = param(30.0, "m/s", "lateral retargeting and terminal vertical descent",
                                        f"{ASSUMED}: retargeting up to ~60 m (Chandrayaan-3) plus touchdown at <=2 m/s")
    powered_descent_dv_m_s: float = param(0.0, "m/s", "delta-v from PDI to touchdown (braking, hover, retargets, terminal); "
                                       "0: the analytic estimate (perilune speed + gravity loss, hover, hazard avoidance)",
                                       "the landing Monte Carlo's descent_quantile (see descent_from_monte_carlo); 0 without one")
    descent_quantile: float = param(0.99, "-", "quantile of the landing Monte Carlo's descent delta-v the budget carries",
                                 f"{ASSUMED}: 99 % of dispersed descents have the propellant to land")
    deterministic_dv_margin: float = param(0.05, "-", "delta-v margin on deterministic manoeuvres",
                                        "ESA margin philosophy (SRE-PA/2011.097): 5 %")
    stochastic_dv_margin: float = param(1.0, "-", "delta-v margin on stochastic manoeuvres (TCMs)",
                                     "ESA margin philosophy (SRE-PA/2011.097): 100 %")
    # --- propulsion and structure
    architecture: str = param("pm+lander", "-", "'pm+lander' (propulsion module to lunar orbit, then lander) or 'integrated' (the lander does everything)",
                           "Chandrayaan-3 architecture (ISRO)")
    pm_isp_s: float = param(310.0, "s", "propulsion module main engine specific impulse (440 N MMH/MON-3 LAM class)",
                         f"{ASSUMED}: 300-320 s for 400-500 N MMH/MON apogee engines")
    lander_isp_s: float = param(_VEHICLE.isp_s, "s", "lander engines' specific impulse (800 N-class throttleable MMH/MON-3)",
                             "lupex.landing.descent.LanderVehicleParams.isp_s: the same number the landing Monte Carlo flies")
    pm_fixed_dry_kg: float = param(280.0, "kg", "PM dry mass that does not scale with propellant (bus, engine, adapter)",
                                "Chandrayaan-3 PM: 2,145 - 1,696 = 449 kg dry, less 0.10 x 1,696 kg tankage")
    lander_fixed_dry_kg: float = param(700.0, "kg", "lander dry mass that does not scale with propellant (structure, legs, engines, avionics, own instruments)",
                                    f"{ASSUMED}: Vikram (Ch-2) 626 kg dry - 27 kg rover - 85 kg tankage = 515 kg, scaled up for a ~2 t landing mass and rover egress")
    tank_ratio: float = param(0.10, "kg/kg", "tank, pressurant and feed mass per kg of propellant loaded",
                           f"{ASSUMED}: 8-12 % for pressure-fed bipropellant systems")
    dry_mass_growth: float = param(0.20, "-", "dry-mass growth allowance applied to both stages' dry mass",
                                "ESA margin philosophy: 20 % system margin; AIAA S-120A-2015 MGA 15-30 % early")
    residual_frac: float = param(0.02, "-", "residual / unusable propellant as a fraction of the load",
                              "ESA margin philosophy: 2 % residuals")
    acs_frac: float = param(0.02, "-", "attitude-control propellant as a fraction of the stage's main-engine propellant",
                         f"{ASSUMED}: 1-3 % for three-axis stabilised spacecraft")

    def __post_init__(self):
        numbers = [f.name for f in fields(self) if f.name != "architecture"]
        check_non_negative(self, *numbers)
        check_positive(self, "launch_mass_kg", "required_surface_payload_kg", "pm_isp_s", "lander_isp_s",
                       "parking_perigee_altitude_m", "lunar_orbit_altitude_m", "descent_perilune_altitude_m",
                       "earth_moon_distance_m", "launcher_capability_kg")
        check_range(self, "descent_quantile", 0.0, 1.0, lo_open=True, hi_open=True)
        for name in ("tli_loss_frac", "loi_loss_frac", "residual_frac", "acs_frac", "tank_ratio",
                     "deterministic_dv_margin"):
            check_range(self, name, 0.0, 1.0, hi_open=True, hint="a fraction must be < 1")
        check_range(self, "launch_latitude_deg", 0.0, 90.0, hi_open=True)
        if self.required_surface_payload_kg >= self.launch_mass_kg:
            raise ConfigError(
                f"budget parameter required_surface_payload_kg ({self.required_surface_payload_kg} kg) must be smaller "
                f"than launch_mass_kg ({self.launch_mass_kg} kg)")
        if self.parking_apogee_altitude_m < self.parking_perigee_altitude_m:
            raise ConfigError("budget parameter parking_apogee_altitude_m must be >= parking_perigee_altitude_m")
        if self.parking_apogee_altitude_m + astro.R_EARTH_M >= self.earth_moon_distance_m:
            raise ConfigError("budget parameter parking_apogee_altitude_m must be below the Moon's distance")
        if self.descent_perilune_altitude_m >= self.lunar_orbit_altitude_m:
            raise ConfigError("budget parameter descent_perilune_altitude_m must be below lunar_orbit_altitude_m")
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"budget parameter architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")

    def replace(self, **changes) -> BudgetParams:
        """Return a copy with ``changes`` (field = value) applied and checked."""
        return dataclasses.replace(self, **changes)
