"""``lupex data list`` and ``lupex data fetch``: native LOLA products, downloaded and cropped to a site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from lupex.cli._console import out
from lupex.errors import LupexError

data_app = typer.Typer(help="Download native LOLA products (needs internet) and cut site boxes from them.",
                       no_args_is_help=True)


_DATA_DIR_HELP = "Cache directory for downloaded products (default $LUPEX_DATA_DIR, else the user cache, lupex/lola)."
_MANIFEST_HELP = "JSON product manifest to use instead of the built-in one (lupex/terrain/data/lola_products.json)."


@data_app.command("list")
def data_list(
    data_dir: Annotated[Optional[Path], typer.Option(help=_DATA_DIR_HELP)] = None,
    manifest: Annotated[Optional[Path], typer.Option(help=_MANIFEST_HELP)] = None,
) -> None:
    """List the LOLA products lupex can fetch: name, size (bytes, as published), citation, cached or not."""
    from lupex.terrain import fetch  # pooch, requests, urllib3 and tqdm (~0.1 s): on use, keeps lupex --help fast

    products = fetch.load_manifest(manifest)
    where = fetch.data_dir(data_dir)
    tab = Table(title=f"LOLA products (cache: {where})")
    for c in ("name", "size", "pixel (m)", "cached", "what", "cite"):
        tab.add_column(c)
    for p in products.values():
        tab.add_row(p.name, p.size_text(), f"{p.pixel_m:g}", fetch.cached_state(p, where), p.title, p.citation)
    out.print(tab)
    seen = []
    for p in products.values():
        if p.citation not in seen:
            seen.append(p.citation)
            out.print(f"[b]{p.citation}[/b]: {p.citation_text}", highlight=False)


@data_app.command("fetch")
def data_fetch(
    product: Annotated[str, typer.Argument(help="Product name from `lupex data list`, e.g. site01.")],
    crop: Annotated[Optional[str], typer.Option(help="Cut a square out of the product: LAT,LON,SIZE_KM = centre planetocentric latitude (deg), east longitude (deg), side (km).", metavar="LAT,LON,SIZE_KM")] = None,
    pixel_m: Annotated[Optional[float], typer.Option(help="Pixel size of the crop, m (default: the product's own).")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", "-o", help="GeoTIFF to write the crop to (IAU_2015:30135, heights in m); needs --crop.")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help=_DATA_DIR_HELP)] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Fetch every file from BASE_URL/<file name> (a mirror) instead of the manifest's URLs (default $LUPEX_DATA_URL).")] = None,
    manifest: Annotated[Optional[Path], typer.Option(help=_MANIFEST_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Download a LOLA product into the cache (verified by size, content type and checksum) and optionally crop it."""
    from lupex.terrain import fetch  # pooch, requests, urllib3 and tqdm: on use, keeps lupex --help fast

    prod = fetch.get_product(fetch.load_manifest(manifest), product)
    box = fetch.parse_crop(crop) if crop is not None else None
    if out_file is not None and box is None:
        raise LupexError("--out needs --crop LAT,LON,SIZE_KM (the full product stays in the cache; see --data-dir)")
    if box is not None and out_file is None:
        raise LupexError("--crop needs --out FILE.tif, the GeoTIFF to write")
    if pixel_m is not None and box is None:
        raise LupexError("--pixel-m applies to a crop; give --crop and --out as well")
    if pixel_m is not None and not pixel_m > 0:
        raise LupexError(f"--pixel-m {pixel_m:g} must be a positive number of metres")
    path = fetch.fetch_product(prod, directory=data_dir, base_url=base_url, progress=not quiet)
    out.print(f"{prod.name}: {path}", highlight=False)
    if box is None:
        return
    lat, lon, size_km = box
    info = fetch.crop_to_site(path, out_file, lat_deg=lat, lon_deg=lon, size_km=size_km, pixel_m=pixel_m,
                              source=f"{prod.title}; {prod.citation_text}; cropped to {size_km:g} km around "
                                     f"lat {lat:g}, lon {lon:g}")
    ny, nx = info["shape"]
    lo, hi = info["height_range_m"]
    out.print(f"wrote {out_file} ({nx} x {ny} cells at {info['pixel_m']:g} m, IAU_2015:30135; heights {lo:.1f} to "
              f"{hi:.1f} m; {info['n_nodata']} no-data cells)", highlight=False)
    out.print(f"use it: lupex run --dem {out_file}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``data`` group to the main CLI app."""
    app.add_typer(data_app, name="data")
