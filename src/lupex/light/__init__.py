"""Horizons, sun and Earth visibility, dark periods and per-cell light statistics."""
