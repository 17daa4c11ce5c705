"""Phase 1 of a run: site analysis (terrain, hazards, horizons, light, Earth, landing sites).

Everything the run directory holds for the site is computed here from the
configuration; the CLI only parses options and prints. Products:

* ``dem.tif`` and the slope / roughness / hazard GeoTIFFs;
* ``light.nc`` plus one GeoTIFF per light statistic (illumination %, longest
  darkness, Earth-visible %, sun-and-Earth %, permanent shadow);
* ``sites.geojson`` and ``sites.csv``: ranked landing sites;
* ``series.nc`` and ``series.parquet``: sun and Earth time series at the top sites;
* ``report.html``: the figures and tables, self-contained.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from lupex import __version__
from lupex import ephemeris as eph
from lupex.errors import ConfigError
from lupex.io import write_dataframe, write_json, write_netcdf, write_text
from lupex.light.farfield import horizons_with_far_field
from lupex.light.illumination import compute_light, point_series, write_light_products
from lupex.parsing import parse_points
from lupex.progress import NO_PROGRESS, Steps
from lupex.site_selection import rank_landing_sites, sites_geojson
from lupex.terrain import builtin
from lupex.terrain.builtin import builtin_site, read_site_dem
from lupex.terrain.geo import pixel_size_m, xy_from_lonlat
from lupex.terrain.io import read_dem, write_geotiff
from lupex.terrain.slope import roughness_m, slope_deg
from lupex.terrain.synthetic import generate_site

if TYPE_CHECKING:
    from lupex.config import Config

log = logging.getLogger("lupex.site")


@dataclass(frozen=True)
class SiteAnalysis:
    """What the site phase hands to later phases."""

    dem: xr.DataArray
    craters: pd.DataFrame | None
    slope_lander_deg: xr.DataArray
    slope_rover_deg: xr.DataArray
    roughness_m: xr.DataArray
    lander_safe: xr.DataArray
    rover_safe: xr.DataArray
    light: xr.Dataset
    sites: pd.DataFrame
    series: xr.Dataset
    times: np.ndarray
    horizon_cube: np.ndarray | None  # (n_az, ny, nx) deg; None when it was streamed through disk
    synthetic: bool
    timings_s: dict


def load_site(cfg: Config):
    """Return the site the config names: (dem, craters or None).

    The site the config names: ``site.dem`` when given, else the built-in site ``site.name`` (real LOLA
    terrain, see :mod:`lupex.terrain.builtin`) or the synthetic one. Returns (dem, craters or None).
    """
    if cfg.site.dem:
        return read_dem(cfg.site.dem), None
    if cfg.site.name != "synthetic":
        return read_site_dem(cfg.site.name), None

    site = generate_site(seed=cfg.site.seed, size_m=cfg.site.size_m, pixel_m=cfg.site.pixel_m)
    return site.dem, site.craters


def far_field_paths(cfg: Config) -> list[Path]:
    """Return the regional DEMs that extend the site's horizons.

    The regional DEMs that extend the site's horizons: ``site.far_field`` when given, else the built-in
    site's own far field (none for ``site.dem`` or the synthetic site).
    """
    given = list(getattr(cfg.site, "far_field", ()) or ())
    if given:
        return [Path(p) for p in given]
    if cfg.site.dem or cfg.site.name == "synthetic":
        return []

    return builtin.far_field_paths(cfg.site.name)


def site_provenance(cfg: Config, dem) -> dict:
    """Which site and which data a run used, for the manifest and the report."""
    if cfg.site.dem:
        kind, files = "dem", [{"path": str(cfg.site.dem)}]
    elif cfg.site.name == "synthetic":
        kind, files = "synthetic", []
    else:
        entry = builtin_site(cfg.site.name)
        kind = "builtin"
        files = [{"file": e.filename, "sha256": e.sha256, "title": e.title, "source": e.source, "citation": e.citation,
                  "role": role} for e, role in [(entry.dem, "site")] + [(f, "far field") for f in entry.far_field]]
    far = [str(p) for p in far_field_paths(cfg)] if kind != "builtin" else []
    return {"name": cfg.site.name if kind != "dem" else Path(cfg.site.dem).name, "kind": kind,
            "title": dem.attrs.get("long_name", ""), "files": files, "far_field": far}


def load_far_field(cfg: Config) -> list[xr.DataArray]:
    """Return the far-field DEMs, smallest first.

    The far-field DEMs (smallest first), read as lupex reads any DEM: ``site.far_field``, else the built-in
    site's own (:func:`far_field_paths`).
    """
    out = []
    for path in far_field_paths(cfg):
        if not Path(path).is_file():
            raise ConfigError(f"site.far_field DEM {path} does not exist; check the path given to --far-field")
        out.append(read_dem(path))
    return out


def far_field_max_m(cfg: Config) -> float | None:
    """``light.far_field_max_km`` in metres, None for 0 (out to the far-field DEMs' edge)."""
    return cfg.light.far_field_max_km * 1000.0 or None


def horizon_cube(cfg: Config, site: SiteAnalysis) -> np.ndarray:
    """Return the site's horizon cube (elevation angles, deg).

    The site's horizon cube: the one the site phase kept, or, when it was streamed through disk or the
    run was resumed from a checkpoint (which does not hold it), recomputed bit for bit the same (with the
    same far field).
    """
    if site.horizon_cube is not None:
        return site.horizon_cube

    return horizons_with_far_field(site.dem, load_far_field(cfg), cfg.light.n_azimuths,
                                   observer_height_m=cfg.light.observer_height_m, max_distance_m=far_field_max_m(cfg))


def analysis_times(cfg: Config) -> np.ndarray:
    """The UTC time grid of the span, checked against the kernels' coverage."""
    t0 = np.datetime64(cfg.time.start.replace("Z", ""), "s") if _iso_ok(cfg.time.start) else None
    if t0 is None:
        raise ConfigError(f"time.start {cfg.time.start!r} is not a UTC ISO 8601 time (e.g. 2027-01-01T00:00:00)")
    t1 = t0 + np.timedelta64(int(round(cfg.time.days * 86400)), "s")
    times = eph.time_grid(t0, t1, cfg.time.step_hours)
    eph.utc_to_et(times[[0, -1]])  # raises a clear error outside the kernels
    return times


def _extra_points_xy(dem, cfg: Config) -> np.ndarray:
    """Projected (x, y) of ``sites.extra_points``, each checked to lie on the DEM."""
    extra = parse_points(cfg.sites.extra_points)
    if not extra:
        return np.empty((0, 2))
    lat, lon = np.array(extra, float).T
    ex, ey = xy_from_lonlat(dem, lon, lat)
    x = np.asarray(dem["x"].values, float)
    y = np.asarray(dem["y"].values, float)
    inside = (ex >= x.min()) & (ex <= x.max()) & (ey >= y.min()) & (ey <= y.max())
    if not inside.all():
        bad = extra[int(np.argmin(inside))]
        raise ConfigError(f"sites.extra_points {bad[0]:g},{bad[1]:g} lies outside the DEM; choose a point inside it")
    return np.column_stack([ex, ey])


def _iso_ok(s: str) -> bool:
    try:
        np.datetime64(s.replace("Z", ""), "s")
        return True
    except ValueError:
        return False


def _mask(da, name: str, long_name: str):
    """A boolean map as a mask product: its own name and meaning, no unit."""
    out = da.astype(bool).rename(name)
    out.attrs = {"long_name": long_name}
    return out


@dataclass(frozen=True)
class _Terrain:
    """The terrain stage's maps: the DEM, its craters, slopes, roughness and safe masks, and the far field."""

    dem: xr.DataArray
    craters: object
    extra_xy: np.ndarray
    far_field: object
    pixel_m: float
    synthetic: bool
    s_land: xr.DataArray
    s_rov: xr.DataArray
    rough: xr.DataArray
    land_safe: xr.DataArray
    rov_safe: xr.DataArray


def _terrain_stage(cfg: Config, outdir: Path, steps: Steps) -> _Terrain:
    """Load the site, compute slopes, roughness and safe masks, and write them (GeoTIFFs, craters.parquet)."""
    with steps.task("terrain", total=3) as advance:
        dem, craters = load_site(cfg)
        extra_xy = _extra_points_xy(dem, cfg)  # fail now, not after the light computation
        far_field = load_far_field(cfg)
        advance(1)
        pixel_m = pixel_size_m(dem)
        synthetic = dem.attrs.get("source") == "synthetic"
        s_land = slope_deg(dem, cfg.lander.slope_baseline_m or None)
        s_rov = slope_deg(dem, cfg.rover.slope_baseline_m or None)
        rough = roughness_m(dem, max(cfg.rover.roughness_baseline_m, 3 * pixel_m))
        land_safe = s_land <= cfg.lander.max_slope_deg
        rov_safe = s_rov <= cfg.rover.max_slope_deg
        advance(1)
        write_geotiff(dem, outdir / "dem.tif")
        write_geotiff(s_land.rename("slope_lander_deg"), outdir / "slope_lander_deg.tif")
        write_geotiff(s_rov.rename("slope_rover_deg"), outdir / "slope_rover_deg.tif")
        write_geotiff(rough.rename("roughness_m"), outdir / "roughness_m.tif")
        # masks: uint8 0/1, no unit (the slope's attributes do not carry over to a comparison's result)
        write_geotiff(_mask(land_safe, "lander_safe", f"slope <= {cfg.lander.max_slope_deg:g} deg (lander)"),
                      outdir / "lander_safe.tif")
        write_geotiff(_mask(rov_safe, "rover_safe", f"slope <= {cfg.rover.max_slope_deg:g} deg (rover)"),
                      outdir / "rover_safe.tif")
        if craters is not None:
            write_dataframe(outdir / "craters.parquet", craters)
        advance(1)
    return _Terrain(dem=dem, craters=craters, extra_xy=extra_xy, far_field=far_field, pixel_m=pixel_m,
                    synthetic=synthetic, s_land=s_land, s_rov=s_rov, rough=rough, land_safe=land_safe,
                    rov_safe=rov_safe)


def _light_stage(cfg: Config, dem, times, far_field, client, steps: Steps):
    """Horizons and light statistics over ``times``: ``(stats, cube)`` (cube None when streamed through disk)."""
    tile = cfg.light.tile
    n_tiles = -(-dem.shape[0] // tile) * -(-dem.shape[1] // tile)
    with steps.task("horizons", total=cfg.light.n_azimuths) as adv_h, steps.task("light statistics", total=n_tiles) as adv_s:
        done = [0]

        def tiles_progress(i, _total):
            adv_s(i - done[0])
            done[0] = i

        return compute_light(
            dem,
            times,
            n_azimuths=cfg.light.n_azimuths,
            observer_height_m=cfg.light.observer_height_m,
            dark_threshold=cfg.light.dark_threshold,
            earth_threshold=cfg.light.earth_threshold,
            memory_limit_bytes=int(cfg.light.memory_limit_gib * 2**30),
            tile=tile,
            client=client,
            progress=tiles_progress,
            horizon_progress=lambda k: adv_h(1),
            far_field=far_field,
            far_field_max_m=far_field_max_m(cfg),
        )


def _sites_stage(cfg: Config, outdir: Path, ter: _Terrain, stats, cube, times):
    """Rank the landing sites, take the Sun/Earth series at the best and the extra points; write both."""
    dem = ter.dem
    span_h = cfg.time.days * 24.0
    sites = rank_landing_sites(
        dem, ter.s_land, stats,
        max_slope_deg=cfg.lander.max_slope_deg,
        landing_radius_m=cfg.lander.landing_radius_m,
        span_h=span_h,
        count=cfg.sites.count,
        min_separation_m=cfg.sites.min_separation_m,
        weights=(cfg.sites.weight_sun, cfg.sites.weight_earth, cfg.sites.weight_night),
        edge_margin_m=cfg.sites.edge_margin_m,
    )
    write_dataframe(outdir / "sites.csv", sites.drop(columns=["row", "col"]))
    write_json(outdir / "sites.geojson", sites_geojson(sites))
    n_series = min(cfg.sites.series_points, len(sites))
    pts = np.column_stack([sites["x_m"].to_numpy()[:n_series], sites["y_m"].to_numpy()[:n_series]])
    labels = [f"site {i + 1}" for i in range(n_series)]
    if len(ter.extra_xy):
        pts = np.vstack([pts, ter.extra_xy])
        labels += [f"point {la:g},{lo:g}" for la, lo in parse_points(cfg.sites.extra_points)]
    # cube is None when it was streamed through disk: point_series then ray-marches those few cells
    if cube is None and ter.far_field:
        log.warning("the horizon cube was streamed through disk: the time series at the sites use the site DEM's "
                    "horizons only (no far field); raise light.memory_limit_gib to keep the cube")
    series = point_series(dem, cube, pts, times, n_azimuths=cfg.light.n_azimuths,
                          observer_height_m=cfg.light.observer_height_m)
    series = series.assign_coords(label=("point", labels))
    write_netcdf(outdir / "series.nc", series, crs=dem.rio.crs)     # the points' x / y are in the DEM's CRS
    write_dataframe(outdir / "series.parquet", series.to_dataframe().reset_index())
    return sites, series


def run_site_analysis(cfg: Config, outdir: Path, *, client=None, steps: Steps = NO_PROGRESS) -> SiteAnalysis:
    """Run the site phase and write its products into ``outdir``: terrain, light, then sites and series.

    Parameters
    ----------
    cfg : Config
        The run's configuration (``[site]``, ``[time]``, ``[light]``, ``[sites]`` ...); written to
        ``config.toml`` first.
    outdir : path-like
        The run's working folder; receives ``config.toml``, the terrain GeoTIFFs (``dem.tif``, slopes,
        roughness, safety masks), ``craters.parquet`` when the site has a crater catalogue (the synthetic
        site), the light products, ``sites.csv`` / ``sites.geojson`` and ``series.nc`` / ``series.parquet``.
    client : dask.distributed.Client, optional
        Splits the horizons (by azimuth chunks) and the light statistics (by tiles) across a Dask cluster;
        None computes them in this process.
    steps : lupex.progress.Steps, optional
        Progress bars (default: none).

    Returns
    -------
    SiteAnalysis
        The DEM (m), crater catalogue, slopes (deg), roughness (m), safety masks, light statistics, ranked
        sites and their time series, the UTC time grid, the horizon cube (deg, (n_az, ny, nx), or None when
        streamed through disk) and each stage's wall time (s).
    """
    timings: dict[str, float] = {}
    outdir = Path(outdir)
    write_text(outdir / "config.toml", cfg.to_toml())
    times = analysis_times(cfg)

    t = time.perf_counter()
    ter = _terrain_stage(cfg, outdir, steps)
    dem = ter.dem
    timings["terrain"] = time.perf_counter() - t
    log.info("terrain: %s, %d x %d cells at %.1f m", dem.attrs.get("source"), dem.shape[0], dem.shape[1], ter.pixel_m)

    t = time.perf_counter()
    stats, cube = _light_stage(cfg, dem, times, ter.far_field, client, steps)
    timings["light"] = time.perf_counter() - t
    write_light_products(stats, outdir)

    t = time.perf_counter()
    sites, series = _sites_stage(cfg, outdir, ter, stats, cube, times)
    timings["sites"] = time.perf_counter() - t

    return SiteAnalysis(
        dem=dem, craters=ter.craters, slope_lander_deg=ter.s_land, slope_rover_deg=ter.s_rov, roughness_m=ter.rough,
        lander_safe=ter.land_safe, rover_safe=ter.rov_safe, light=stats, sites=sites, series=series,
        times=times, horizon_cube=cube, synthetic=ter.synthetic, timings_s=timings,
    )


def versions() -> dict[str, str]:
    """Versions of lupex, Python and the numerical stack, for the manifest."""
    out = {"lupex": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("numpy", "scipy", "numba", "spiceypy", "xarray", "rasterio", "dask", "skyfield-data", "lunarsky"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "absent"
    return out


def write_manifest(cfg: Config, outdir: Path, result: SiteAnalysis, wall_s: float, extra: dict | None = None) -> None:
    """Write ``manifest.json``: versions, seed, site and its data, span, kernels and timings (s).

    Parameters
    ----------
    cfg : Config
        The run's configuration (``site.seed``, the far-field DEMs and ``light.far_field_max_km``).
    outdir : path-like
        The folder ``manifest.json`` is written to (atomically).
    result : SiteAnalysis
        The site phase's result: its DEM's attributes, time grid and stage timings (s) are recorded.
    wall_s : float
        The whole run's wall time, s, recorded as ``timings_s.total``.
    extra : dict, optional
        More top-level keys, after the ones above (the run's verdicts and notes).
    """
    far = [str(p) for p in far_field_paths(cfg)]
    write_json(
        outdir / "manifest.json",
        {
            "lupex_version": __version__,
            "versions": versions(),
            "seed": cfg.site.seed,
            "site": result.dem.attrs.get("long_name", ""),
            "site_data": site_provenance(cfg, result.dem),
            "synthetic_site": result.synthetic,
            "dem_source": result.dem.attrs.get("source", ""),
            "span_utc": [str(result.times[0]), str(result.times[-1])],
            "steps": int(result.times.size),
            "far_field": {"dems": far, "max_km": cfg.light.far_field_max_km,
                          "note": "horizons include these DEMs' terrain beyond the site DEM" if far
                          else "horizons from the site DEM alone"},
            "kernels": {k: p.name for k, p in eph.kernel_paths().items()},
            "timings_s": {**result.timings_s, "total": wall_s},
        } | (extra or {}),
    )
