"""DEM input/output, the procedural polar site, slopes and hazards.

* :mod:`lupex.terrain.io` -- read GeoTIFF and LOLA PDS3 polar DEMs into the
  DEM contract (float64 ``elevation`` DataArray, dims ``(y, x)``, cell-centre
  metres, north-up, square pixels, CRS attached), fill small no-data holes,
  write GeoTIFFs atomically.
* :mod:`lupex.terrain.synthetic` -- the built-in SYNTHETIC south-pole site and
  its true crater catalogue.
* :mod:`lupex.terrain.slope` -- slope, roughness and hazard masks at a baseline.
* :mod:`lupex.terrain.geo` -- grid geometry (pixel size, lon/lat, grid north).
* :mod:`lupex.terrain.fetch` -- the manifest of native LOLA products (PGDA 78
  and 90, PDS GDR polar), verified resumable downloads into a user cache, and
  crops to a lat/lon box (``lupex data fetch``; not imported here: it needs pooch).
"""

from lupex.terrain.io import (
    canonical_crs,
    dem_from_array,
    fill_nodata,
    filled_mask,
    parse_pds3_label,
    read_dem,
    write_geotiff,
)
from lupex.terrain.slope import (
    LANDER_MAX_SLOPE_DEG,
    ROVER_MAX_SLOPE_DEG,
    hazard_mask,
    lander_hazard_map,
    roughness_m,
    rover_hazard_map,
    slope_deg,
)
from lupex.terrain.synthetic import SyntheticSite, generate_site

__all__ = [
    "LANDER_MAX_SLOPE_DEG",
    "ROVER_MAX_SLOPE_DEG",
    "SyntheticSite",
    "canonical_crs",
    "dem_from_array",
    "fill_nodata",
    "filled_mask",
    "generate_site",
    "hazard_mask",
    "lander_hazard_map",
    "parse_pds3_label",
    "read_dem",
    "rover_hazard_map",
    "roughness_m",
    "slope_deg",
    "write_geotiff",
]
