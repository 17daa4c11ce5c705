"""Rover parameters: one frozen dataclass tree, every field with unit, help and source.

Each field carries ``metadata = {"unit", "help", "source"}`` so the config system
can expose it (``lupex.config`` uses the same ``unit``/``help`` keys). Where a
number is not a published LUPEX figure it says *assumption* in its source and
why the value is plausible; replace it when JAXA publishes the real one.

Published anchors used here (docs/REFERENCES.md#lupex-mission, docs/REFERENCES.md#viper, docs/REFERENCES.md#wong2008, docs/REFERENCES.md#carrier1991):

* LUPEX rover ~350 kg with instruments, ~1.75 x 1.46 x 1.50 m stowed, four
  independently steered crawlers, one flat unfolding thin-film solar array,
  Li-ion batteries (JAXA LUPEX pages, docs/REFERENCES.md#lupex-mission).
* VIPER: 450 W max, 0.8 km/h, 25-30 deg slopes, hibernation of ~50 h.
* Lunar soil after Wong (n, k_c, k_phi, c, phi, K): Wong, J.Y. 2008, *Theory of
  Ground Vehicles*, 4th ed., Wiley, Ch. 2 (Bekker pressure-sinkage and
  Janosi-Hanamoto shear parameters; the lunar-soil row originally from Bekker
  1969); c = 0.52 kPa, phi = 42 deg are the Lunar Sourcebook best estimates for
  the top ~15-30 cm (Carrier, Olhoeft & Mendell 1991, Ch. 9, Table 9.11 --
  table number from memory, check it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import ClassVar

from lupex.errors import ConfigError
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, param

MODES = ("drive", "science", "drill", "communicate", "standby", "hibernate")
"""Operating modes the power model knows; heaters are added on top by the thermal model."""




@dataclass(frozen=True)
class SoilParams:
    """Bekker pressure-sinkage and Janosi-Hanamoto shear parameters of the regolith."""

    TABLE: ClassVar[str] = "vehicle.soil"   # the config table: errors name vehicle.soil.<key>

    n: float = param(1.0, "-", "Bekker sinkage exponent", "Wong 2008 Ch. 2, lunar soil row (docs/REFERENCES.md#wong2008)")
    k_c: float = param(1.4e3, "N/m^(n+1)", "Bekker cohesive modulus", "Wong 2008 Ch. 2, lunar soil (1.4 kN/m^(n+1))")
    k_phi: float = param(820e3, "N/m^(n+2)", "Bekker frictional modulus", "Wong 2008 Ch. 2, lunar soil (820 kN/m^(n+2))")
    cohesion_pa: float = param(520.0, "Pa", "soil cohesion c (range 100-2700 Pa)", "Carrier et al. 1991, Lunar Sourcebook Ch. 9 (docs/REFERENCES.md#carrier1991: 0.52 kPa)")
    friction_angle_deg: float = param(42.0, "deg", "internal friction angle phi (range 25-50 deg)", "Carrier et al. 1991, Lunar Sourcebook Ch. 9 (docs/REFERENCES.md#carrier1991: 42 deg)")
    shear_modulus_k_m: float = param(0.0178, "m", "Janosi-Hanamoto shear deformation modulus K", "after Wong (docs/REFERENCES.md#wong2008: 1.78 cm)")

    def __post_init__(self):
        check_positive(self, "n", "k_phi", "shear_modulus_k_m")
        check_non_negative(self, "k_c", "cohesion_pa")
        check_range(self, "friction_angle_deg", 0.0, 90.0, lo_open=True, hi_open=True)


@dataclass(frozen=True)
class MobilityParams:
    """Crawler geometry, drive train and the operational slope limits."""

    TABLE: ClassVar[str] = "vehicle.mobility"   # the config table: errors name vehicle.mobility.<key>

    mass_kg: float = param(350.0, "kg", "rover mass with instruments", "JAXA LUPEX (docs/REFERENCES.md#lupex-mission: ~350 kg)")
    n_tracks: int = param(4, "-", "number of crawlers", "JAXA LUPEX (docs/REFERENCES.md#lupex-mission: four crawlers)")
    track_length_m: float = param(0.50, "m", "ground-contact length of one crawler", ASSUMED + ": fits the 1.75 m stowed length with four crawlers")
    track_width_m: float = param(0.15, "m", "width of one crawler", ASSUMED + ": ~10% of the 1.46 m stowed width")
    internal_resistance_coef: float = param(0.0226, "-", "track/suspension internal resistance over normal load at zero speed",
                                         "Bekker's tracked-vehicle rule R_in = W(222 + 3V) N/t (V km/h), as quoted in Wong 2008 Ch. 4; 222/9810 = 0.0226; exact equation number unchecked")
    internal_resistance_per_kmh: float = param(0.000306, "1/(km/h)", "speed-dependent part of the internal resistance coefficient", "same rule: 3/9810 per km/h")
    drive_efficiency: float = param(0.6, "-", "electrical-to-track mechanical efficiency (motor x gear x controller)", ASSUMED + ": 0.85 motor x 0.8 harmonic gear x 0.9 controller")
    drive_power_max_w: float = param(200.0, "W", "maximum electrical power to the drive motors", ASSUMED + ": below VIPER's 450 W total")
    speed_cmd_m_s: float = param(0.1, "m/s", "commanded (track) speed", ASSUMED + ": LUPEX value unpublished; VIPER 0.8 km/h = 0.22 m/s is an upper bound")
    max_uphill_deg: float = param(25.0, "deg", "operational uphill slope limit", ASSUMED + ": VIPER-class 25-30 deg (docs/REFERENCES.md#viper), the lower end")
    max_downhill_deg: float = param(25.0, "deg", "operational downhill slope limit", ASSUMED + ": as uphill")
    max_cross_slope_deg: float = param(20.0, "deg", "operational cross-slope (roll) limit", ASSUMED + ": tip-over margin for a 1.5 m tall rover")
    max_step_m: float = param(0.15, "m", "highest step / rock the crawlers climb", ASSUMED + ": about the crawler's sprocket radius")
    sweep_width_m: float = param(1.46, "m", "width of the swept path (rocks in it must be avoided or climbed)", "JAXA LUPEX stowed width (docs/REFERENCES.md#lupex-mission)")

    def __post_init__(self):
        check_positive(self, "mass_kg", "n_tracks", "track_length_m", "track_width_m", "drive_power_max_w",
                       "speed_cmd_m_s", "max_step_m", "sweep_width_m")
        for n in ("max_uphill_deg", "max_downhill_deg", "max_cross_slope_deg"):
            check_range(self, n, 0.0, 90.0, lo_open=True, hi_open=True)
        check_range(self, "drive_efficiency", 0.0, 1.0, lo_open=True)
        check_non_negative(self, "internal_resistance_coef", "internal_resistance_per_kmh")


@dataclass(frozen=True)
class PanelParams:
    """One flat solar array. Normal tilt from zenith; azimuth relative to the rover heading."""

    TABLE: ClassVar[str] = "vehicle.panels"   # the config table: errors name vehicle.panels.<key>

    area_m2: float = param(2.0, "m^2", "cell area of the array", ASSUMED + ": unfolded array ~2 x the stowed top (1.75 x 1.46 m) less frame")
    efficiency: float = param(0.22, "-", "end-to-end conversion efficiency (cells x packing x MPPT) at 28 C", ASSUMED + ": thin-film multi-junction cells ~28% x 0.8")
    tilt_deg: float = param(90.0, "deg", "angle of the panel normal from the local zenith (90 = vertical panel)", ASSUMED + ": near-vertical array for a Sun at +-1.6 deg elevation")
    azimuth_rel_deg: float = param(90.0, "deg", "azimuth of the panel normal clockwise from the rover heading (90 = right side)", ASSUMED)
    temp_coeff_per_k: float = param(-0.0022, "1/K", "relative power change per kelvin of cell temperature above 28 C", ASSUMED + ": typical triple-junction GaAs value")

    def __post_init__(self):
        check_positive(self, "area_m2")
        check_range(self, "efficiency", 0.0, 1.0, lo_open=True)
        check_range(self, "tilt_deg", 0.0, 180.0)


@dataclass(frozen=True)
class BatteryParams:
    """The battery: capacity (Wh), charge and discharge efficiencies, allowed state-of-charge range."""

    TABLE: ClassVar[str] = "vehicle.battery"   # the config table: errors name vehicle.battery.<key>

    capacity_wh: float = param(4000.0, "Wh", "nameplate Li-ion energy", ASSUMED + ": ~27 kg at 150 Wh/kg cell level, sized for a ~100 h dark period")
    charge_efficiency: float = param(0.95, "-", "fraction of bus energy that ends stored when charging", ASSUMED + ": Li-ion coulombic x voltage efficiency")
    discharge_efficiency: float = param(0.95, "-", "fraction of stored energy delivered to the bus", ASSUMED)
    soc_min: float = param(0.2, "-", "lowest allowed state of charge (depth-of-discharge limit)", ASSUMED + ": 80% DoD for a few deep cycles")
    soc_max: float = param(1.0, "-", "highest allowed state of charge", ASSUMED)
    soc_initial: float = param(1.0, "-", "state of charge at the start of a simulation", ASSUMED)

    def __post_init__(self):
        check_positive(self, "capacity_wh")
        for n in ("charge_efficiency", "discharge_efficiency"):
            check_range(self, n, 0.0, 1.0, lo_open=True)
        for n in ("soc_min", "soc_max", "soc_initial"):
            check_range(self, n, 0.0, 1.0)
        if not self.soc_min < self.soc_max:
            raise ConfigError(f"vehicle.battery.soc_min ({self.soc_min}) must be below soc_max ({self.soc_max})")


@dataclass(frozen=True)
class LoadParams:
    """Electrical load per mode, without thermostatic heaters (those come from the thermal model)."""

    TABLE: ClassVar[str] = "vehicle.loads"   # the config table: errors name vehicle.loads.<key>

    drive_w: float = param(250.0, "W", "driving: avionics, cameras, GPR, NS and the motors at nominal speed on flat ground", ASSUMED + ": VIPER 450 W is the peak")
    science_w: float = param(150.0, "W", "stopped for science (ALIS, EMS-L, imaging)", ASSUMED)
    drill_w: float = param(300.0, "W", "drilling with the auger and REIWA analysis", ASSUMED)
    communicate_w: float = param(180.0, "W", "direct-to-Earth downlink (X-band amplifier)", ASSUMED + ": 10 W RF at ~30% PA efficiency + avionics")
    standby_w: float = param(60.0, "W", "parked, awake, waiting for light or a link", ASSUMED)
    hibernate_w: float = param(20.0, "W", "hibernation: survival avionics and receiver only", ASSUMED + ": VIPER/Chandrayaan-class survival loads are tens of W (docs/REFERENCES.md#viper, docs/REFERENCES.md#chandrayaan3)")

    def __post_init__(self):
        check_non_negative(self, *(f.name for f in fields(self)))

    def of(self, mode: str) -> float:
        """Bus load (W) of ``mode`` (drive, science, drill, communicate, standby, hibernate)."""
        return getattr(self, f"{mode}_w")


@dataclass(frozen=True)
class NodeParams:
    """One lumped thermal node (warm electronics box or battery)."""

    heat_capacity_j_k: float = param(30_000.0, "J/K", "heat capacity (mass x specific heat)", ASSUMED)
    radiator_area_m2: float = param(0.8, "m^2", "area radiating to the environment", ASSUMED + ": sized so the louvres open keep a 250 W drive load + sun below ~310 K")
    emissivity: float = param(0.12, "-", "effective IR emissivity of that area with the louvres closed (or without louvres)",
                           "Gilmore 2002, Spacecraft Thermal Control Handbook vol. 1, ch. 6: louvre effective emittance ~0.1-0.14 closed")
    emissivity_open: float = param(0.74, "-", "effective IR emissivity with the louvres fully open (= emissivity: no louvres)",
                                "Gilmore 2002, ch. 6: ~0.7-0.75 fully open")
    louvre_closed_k: float = param(283.15, "K", "louvres closed at or below this temperature", ASSUMED + ": +10 C")
    louvre_open_k: float = param(301.15, "K", "louvres fully open at or above this temperature", "Gilmore 2002: actuation span ~18 K (+10 to +28 C)")
    absorptivity: float = param(0.1, "-", "solar absorptivity of the sunlit projected area", ASSUMED)
    sun_area_m2: float = param(0.3, "m^2", "area projected towards the Sun", ASSUMED)
    terrain_view_factor: float = param(0.5, "-", "view factor of the radiator to the terrain (rest is cold space)", ASSUMED + ": side-looking radiator")
    dissipation_frac: float = param(1.0, "-", "fraction of the bus load dissipated in this node", ASSUMED)
    heater_max_w: float = param(60.0, "W", "maximum heater power", ASSUMED)
    heater_setpoint_k: float = param(238.15, "K", "heater thermostat set point", ASSUMED + ": 5 K above the survival limit")
    survival_min_k: float = param(233.15, "K", "lowest non-operating (survival) temperature", ASSUMED + ": -40 C, common for space electronics")
    survival_max_k: float = param(343.15, "K", "highest non-operating temperature", ASSUMED + ": +70 C")

    def __post_init__(self):
        check_positive(self, "heat_capacity_j_k", "heater_setpoint_k", "survival_min_k", "survival_max_k")
        check_non_negative(self, "radiator_area_m2", "sun_area_m2", "heater_max_w")
        for n in ("emissivity", "emissivity_open", "absorptivity", "terrain_view_factor", "dissipation_frac"):
            check_range(self, n, 0.0, 1.0)
        if not self.louvre_closed_k < self.louvre_open_k:
            raise ConfigError("thermal node louvre_closed_k must be below louvre_open_k")
        if not self.survival_min_k < self.survival_max_k:
            raise ConfigError("thermal node survival_min_k must be below survival_max_k")


def _battery_node() -> NodeParams:
    return NodeParams(
        heat_capacity_j_k=27_000.0, radiator_area_m2=0.3, emissivity=0.05, emissivity_open=0.05, absorptivity=0.0,
        sun_area_m2=0.0,
        terrain_view_factor=0.5, dissipation_frac=0.0, heater_max_w=40.0,
        heater_setpoint_k=258.15, survival_min_k=253.15, survival_max_k=318.15,
    )


@dataclass(frozen=True)
class ThermalParams:
    """Two nodes: the warm electronics box (all bus dissipation) and the battery, conductively coupled."""

    TABLE: ClassVar[str] = "vehicle.thermal"   # the config table: errors name vehicle.thermal.<key>

    electronics: NodeParams = field(default_factory=NodeParams, metadata={"unit": "-", "help": "warm electronics box node", "source": ASSUMED})
    battery: NodeParams = field(default_factory=_battery_node, metadata={
        "unit": "-", "help": "battery node (no own dissipation; survival -20..+45 C)",
        "source": ASSUMED + ": Li-ion non-operating limits -20/+45 C are typical cell data-sheet values; 27 kg x 1000 J/(kg K)"})
    coupling_w_k: float = param(0.2, "W/K", "conductance between the two nodes", ASSUMED + ": isolating mounts")
    max_substep_s: float = param(600.0, "s", "largest internal integration step", "numerical: well below the node time constants (~10 h)")

    def __post_init__(self):
        check_positive(self, "max_substep_s")
        check_non_negative(self, "coupling_w_k")


@dataclass(frozen=True)
class TerrainThermalParams:
    """Crude terrain temperature when the light core gives none: radiative equilibrium, no thermal inertia."""

    TABLE: ClassVar[str] = "vehicle.terrain_thermal"   # the config table: errors name vehicle.terrain_thermal.<key>

    albedo: float = param(0.12, "-", "Bond albedo of the regolith", "Vasavada et al. 2012, JGR 117:E00H18 (A0 = 0.12); from memory")
    emissivity: float = param(0.95, "-", "IR emissivity of the regolith", "Vasavada et al. 2012 (0.95)")
    night_k: float = param(60.0, "K", "terrain temperature floor in the dark", ASSUMED + ": Diviner polar night/shadow temperatures are ~40-90 K")
    slope_toward_sun_deg: float = param(0.0, "deg", "effective tilt of the surrounding terrain towards the Sun", ASSUMED)

    def __post_init__(self):
        for n in ("albedo", "emissivity"):
            check_range(self, n, 0.0, 1.0)
        check_positive(self, "night_k")


@dataclass(frozen=True)
class CommsParams:
    """Direct-to-Earth X-band link (rover -> ground station)."""

    TABLE: ClassVar[str] = "vehicle.comms"   # the config table: errors name vehicle.comms.<key>

    frequency_hz: float = param(8.45e9, "Hz", "downlink carrier frequency", "ITU deep-space X-band allocation 8.40-8.50 GHz")
    tx_power_w: float = param(10.0, "W", "RF output power", ASSUMED)
    tx_antenna_gain_dbi: float = param(15.0, "dBi", "rover antenna gain", ASSUMED + ": small medium-gain antenna")
    tx_line_loss_db: float = param(1.0, "dB", "cable and switch loss", ASSUMED)
    misc_loss_db: float = param(3.0, "dB", "pointing, polarisation and atmospheric losses", ASSUMED)
    ground_g_over_t_db_k: float = param(53.0, "dB/K", "ground station figure of merit G/T",
                                     "DSN 34 m BWG at X-band: ~68 dBi gain, ~30-35 K system temperature (JPL DSN 810-005, module 104; approximate). Usuda 54 m is somewhat higher")
    ebn0_required_db: float = param(2.5, "dB", "Eb/N0 needed for the target bit error rate", "CCSDS 130.1-G: rate-1/2 convolutional + RS(255,223) ~2.5 dB at BER 1e-5 (approximate)")
    link_margin_db: float = param(3.0, "dB", "required margin", "common design practice (3 dB)")
    max_rate_bps: float = param(2.0e6, "bit/s", "highest rate the radio supports", ASSUMED)
    earth_threshold: float = param(0.5, "fraction 0-1", "Earth counts as visible when this fraction of its disk is above the horizon", "config key light.earth_threshold")
    min_elevation_deg: float = param(-90.0, "deg", "additional mask: Earth's centre must be above this elevation", ASSUMED + ": no mask; the horizon is in earth_fraction")
    min_window_s: float = param(1800.0, "s", "windows shorter than this are dropped", ASSUMED + ": setup and ranging overhead")
    merge_gap_s: float = param(0.0, "s", "gaps up to this long between two windows are bridged", ASSUMED)
    antenna_height_m: float = param(1.5, "m", "antenna height above ground (for the horizon computation)", "JAXA LUPEX stowed height 1.50 m (docs/REFERENCES.md#lupex-mission)")

    def __post_init__(self):
        check_positive(self, "frequency_hz", "tx_power_w", "max_rate_bps")
        check_range(self, "earth_threshold", 0.0, 1.0)
        check_non_negative(self, "min_window_s", "merge_gap_s")


@dataclass(frozen=True)
class SurvivalParams:
    """How a parked rover lives through dark periods: thresholds, modes and the verdict's margin."""

    TABLE: ClassVar[str] = "vehicle.survival"   # the config table: errors name vehicle.survival.<key>

    dark_threshold: float = param(0.0, "fraction 0-1", "a step is dark when the visible fraction of the solar disk is at or below this", "config key light.dark_threshold")
    lit_mode: str = param("standby", "mode", "mode while parked in sunlight", ASSUMED)
    dark_mode: str = param("hibernate", "mode", "mode in the dark", ASSUMED)
    required_margin: float = param(0.1, "fraction of capacity", "battery energy left above soc_min at the end of the worst point for the verdict 'survives'", ASSUMED)
    track_sun: bool = param(True, "-", "while parked in light the rover turns in place to keep its array facing the Sun's azimuth", ASSUMED)
    heading_deg: float = param(0.0, "deg", "parking heading, clockwise from north, when track_sun is false", ASSUMED + ": the planner picks it")

    def __post_init__(self):
        for n in ("dark_threshold", "required_margin"):
            check_range(self, n, 0.0, 1.0)
        for n in ("lit_mode", "dark_mode"):
            if getattr(self, n) not in MODES:
                raise ConfigError(f"vehicle.survival.{n} must be one of {', '.join(MODES)}, got {getattr(self, n)!r}")


@dataclass(frozen=True)
class RoverParams:
    """Every rover parameter, grouped per model."""

    soil: SoilParams = field(default_factory=SoilParams, metadata={"unit": "-", "help": "regolith terramechanics", "source": "see fields"})
    mobility: MobilityParams = field(default_factory=MobilityParams, metadata={"unit": "-", "help": "crawlers and drive", "source": "see fields"})
    panels: tuple[PanelParams, ...] = field(default=(PanelParams(),), metadata={"unit": "-", "help": "solar arrays", "source": "see fields"})
    battery: BatteryParams = field(default_factory=BatteryParams, metadata={"unit": "-", "help": "Li-ion battery", "source": "see fields"})
    loads: LoadParams = field(default_factory=LoadParams, metadata={"unit": "-", "help": "loads per mode", "source": "see fields"})
    thermal: ThermalParams = field(default_factory=ThermalParams, metadata={"unit": "-", "help": "two-node thermal model", "source": "see fields"})
    terrain_thermal: TerrainThermalParams = field(default_factory=TerrainThermalParams, metadata={"unit": "-", "help": "fallback terrain temperature", "source": "see fields"})
    comms: CommsParams = field(default_factory=CommsParams, metadata={"unit": "-", "help": "direct-to-Earth link", "source": "see fields"})
    survival: SurvivalParams = field(default_factory=SurvivalParams, metadata={"unit": "-", "help": "night-survival analysis", "source": "see fields"})

    def __post_init__(self):
        if not self.panels or not all(isinstance(p, PanelParams) for p in self.panels):
            raise ConfigError("vehicle.panels must be a non-empty list of [[vehicle.panels]] tables (PanelParams)")


def parameter_table(obj=None, prefix: str = "") -> list[tuple[str, object, str, str, str]]:
    """Flatten a parameter tree into rows (key, value, unit, help, source) for docs and the config system."""
    obj = RoverParams() if obj is None else obj
    rows = []
    for f in fields(obj):
        v = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(v):
            rows += parameter_table(v, key + ".")
        elif isinstance(v, tuple) and v and dataclasses.is_dataclass(v[0]):
            for i, item in enumerate(v):
                rows += parameter_table(item, f"{key}[{i}].")
        else:
            rows.append((key, v, f.metadata.get("unit", ""), f.metadata.get("help", ""), f.metadata.get("source", "")))
    return rows
