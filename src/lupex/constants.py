"""Physical constants, each defined once here with its source (an anchored citation of the reference list).

Modules import these rather than writing the number again; a module may keep a
local alias (``C_M_S = SPEED_OF_LIGHT_M_S``), which a numba kernel reads as a
compile-time constant like any other module global. Material constants that
two models share (ice and grain density) live here too, so the GPR's mixing
rule and the regolith model cannot drift apart.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------- the Moon
MOON_RADIUS_M = 1_737_400.0
"""IAU 2015 mean lunar radius, the LOLA reference sphere (docs/REFERENCES.md#archinal2018)."""
MU_MOON_M3_S2 = 4.9028e12
"""GM of the Moon, m^3/s^2: DE421 (docs/REFERENCES.md#folkner2008); GRAIL GL0660B gives the same 4902.8 km^3/s^2
(docs/REFERENCES.md#konopliv2013)."""
G_MOON_M_S2 = 1.62
"""Lunar surface gravity, m/s^2, as the mission description uses it (NASA's Moon fact sheet gives 1.62;
IAU/GRAIL ~1.625; docs/REFERENCES.md#nasa-moon-factsheet)."""
EARTH_MOON_MEAN_DISTANCE_M = 384_400e3
"""Mean Earth-Moon distance (semi-major axis of the lunar orbit, 384,400 km; docs/REFERENCES.md#nasa-moon-factsheet)."""

# ----------------------------------------------------------------------------- Earth and Sun
EARTH_RADIUS_M = 6_378_137.0
"""Earth's equatorial radius, WGS84 (docs/REFERENCES.md#wgs84)."""
SUN_RADIUS_M = 695_700_000.0
"""IAU 2015 Resolution B3 nominal solar radius (docs/REFERENCES.md#archinal2018)."""
SOLAR_CONSTANT_W_M2 = 1361.0
"""Total solar irradiance at 1 au (Kopp & Lean 2011, GRL 38:L01706; docs/REFERENCES.md#kopp2011)."""
AU_M = 149_597_870_700.0
"""The astronomical unit, exact by IAU 2012 Resolution B2 (docs/REFERENCES.md#iau2012-au)."""
G0_M_S2 = 9.80665
"""Standard acceleration of gravity, exact (3rd CGPM 1901; docs/REFERENCES.md#cgpm1901): Isp in seconds to exhaust
speed."""

# ----------------------------------------------------------------------------- fundamental (SI 2019, CODATA 2018)
SPEED_OF_LIGHT_M_S = 299_792_458.0
"""Speed of light in vacuum, exact (docs/REFERENCES.md#codata2018)."""
BOLTZMANN_J_K = 1.380649e-23
"""Boltzmann constant, exact (docs/REFERENCES.md#codata2018)."""
AVOGADRO_PER_MOL = 6.02214076e23
"""Avogadro constant, exact (docs/REFERENCES.md#codata2018)."""
STEFAN_BOLTZMANN_W_M2_K4 = 5.670374419e-8
"""Stefan-Boltzmann constant (docs/REFERENCES.md#codata2018)."""

# ----------------------------------------------------------------------------- water and regolith
H2O_MOLAR_MASS_KG_MOL = 18.01528e-3
"""Molar mass of water from the standard atomic weights (H 1.00794, O 15.9994)."""
H2O_MOLECULE_KG = H2O_MOLAR_MASS_KG_MOL / AVOGADRO_PER_MOL
"""Mean mass of one water molecule, kg."""
ICE_DENSITY_KG_M3 = 917.0
"""Water ice Ih near 100-200 K (Petrenko & Whitworth 1999, Physics of Ice, table 11.2;
docs/REFERENCES.md#petrenko1999)."""
GRAIN_DENSITY_KG_M3 = 3100.0
"""Density of the regolith's grains, specific gravity 3.1 (Carrier et al. 1991, sec. 9.1.4;
docs/REFERENCES.md#carrier1991)."""
