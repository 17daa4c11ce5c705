"""DEM input/output, the procedural polar site, slopes and hazards.

* :mod:`lupex.terrain.io` -- read GeoTIFF and LOLA PDS3 polar DEMs into the
  DEM contract (float64 ``elevation`` DataArray, dims ``(y, x)``, cell-centre
  metres, north-up, square pixels, CRS attached), fill small no-data holes,
  write GeoTIFFs atomically.
* :mod:`lupex.terrain.geo` -- grid geometry (pixel size, lon/lat, grid north).
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

__all__ = [
    "canonical_crs",
    "dem_from_array",
    "fill_nodata",
    "filled_mask",
    "parse_pds3_label",
    "read_dem",
    "write_geotiff",
]
