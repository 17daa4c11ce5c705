"""DEM input/output, the procedural polar site, slopes and hazards."""
