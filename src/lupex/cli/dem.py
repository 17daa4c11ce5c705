"""``lupex dem synth`` and ``lupex dem info``: make or inspect a DEM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from lupex.cli._console import out
from lupex.config import load
from lupex.io import write_dataframe
from lupex.terrain.geo import dem_crs, lonlat_grid, pixel_size_m
from lupex.terrain.io import dem_header, describe_dem, read_dem, write_geotiff
from lupex.terrain.synthetic import generate_site

dem_app = typer.Typer(help="Make or inspect a DEM.", no_args_is_help=True)


@dem_app.command("synth")
def dem_synth(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="GeoTIFF to write.")],
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
    size_m: Annotated[float, typer.Option(help="Side of the square site, m.")] = 20_000.0,
    pixel_m: Annotated[float, typer.Option(help="Pixel size, m.")] = 20.0,
) -> None:
    """Write the SYNTHETIC south-pole site (IAU_2015:30135) as a GeoTIFF, and its crater catalogue as Parquet."""
    load(overrides=[f"site.size_m={size_m}", f"site.pixel_m={pixel_m}", f"site.seed={seed}"])  # validates ranges
    site = generate_site(seed=seed, size_m=size_m, pixel_m=pixel_m)
    write_geotiff(site.dem, out_file)
    cat = out_file.with_suffix(".craters.parquet")
    write_dataframe(cat, site.craters)
    out.print(f"wrote {out_file} ({site.dem.shape[1]} x {site.dem.shape[0]} cells) and {cat} ({len(site.craters)} craters)")


@dem_app.command("info")
def dem_info(path: Annotated[Path, typer.Argument(help="DEM file (GeoTIFF or PDS3 .IMG/.LBL).")]) -> None:
    """Read a DEM as lupex would and describe it (size, pixel, CRS, heights, filled holes).

    A large one is read in windows, never whole.
    """
    h = dem_header(path)  # checks the header before any pixel is read
    if h["ny"] * h["nx"] > 4_000_000:  # summarised window by window: memory stays small whatever the size
        d = describe_dem(path)
        out.print(f"{path}: {d['nx']} x {d['ny']} cells, pixel {d['pixel_m']:g} m", markup=False)
        out.print(f"CRS: {d['crs'].name}", markup=False)
        out.print(f"latitude {d['lat_min_deg']:.3f} to {d['lat_max_deg']:.3f} deg; heights {d['z_min_m']:.1f} to "
                  f"{d['z_max_m']:.1f} m", markup=False)
        out.print(f"no-data cells: {d['n_nodata']} (filled when lupex reads the DEM)", markup=False)
        return
    da = read_dem(path)
    lon, lat = lonlat_grid(da)
    z = np.asarray(da)
    out.print(f"{path}: {da.shape[1]} x {da.shape[0]} cells, pixel {pixel_size_m(da):g} m", markup=False)
    out.print(f"CRS: {dem_crs(da).name}", markup=False)
    out.print(f"latitude {lat.min():.3f} to {lat.max():.3f} deg; heights {z.min():.1f} to {z.max():.1f} m")
    out.print(f"no-data cells filled: {da.attrs.get('n_filled', 0)}")


def register(app: typer.Typer) -> None:
    """Add the ``dem`` group to the main CLI app."""
    app.add_typer(dem_app, name="dem")
