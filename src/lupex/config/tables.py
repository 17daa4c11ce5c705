"""The run's own tables of ``lupex run``: site, time, light, lander, rover maps, sites, landing, compute, output.

Each is a frozen ``*Params`` dataclass of :func:`lupex.params.param` fields that
checks its own keys in ``__post_init__`` (errors name the config key through the
``TABLE`` class attribute); the checks across keys are :func:`lupex.config.validate`.
The models' tables (``[vehicle]``, ``[descent]``, ...) are the models' own
``*Params``; :class:`lupex.config.Config` gathers them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from lupex.config.checks import MAX_AZIMUTHS, frame_altitudes, max_workers, parse_points
from lupex.errors import ConfigError
from lupex.params import ASSUMED, check_non_negative, check_positive, check_range, param
from lupex.subsurface.ground_truth import SubsurfaceParams
from lupex.terrain.builtin import SITE_NAMES

__all__ = [
    "ComputeConfig", "ComputeParams", "LanderConfig", "LanderParams", "LandingConfig", "LandingParams", "LightConfig",
    "LightParams", "OutputConfig", "OutputParams", "RoverConfig", "RoverTerrainParams", "SiteConfig", "SiteParams",
    "SitesConfig", "SitesParams", "SubsurfaceConfig", "SubsurfaceParams", "TimeConfig", "TimeParams",
]

_REFS = "docs/REFERENCES.md#"
_CHOICE = f"{ASSUMED}: a user's choice of run, not a physical value"


@dataclass(frozen=True)
class SiteParams:
    """The terrain of the run (``[site]``)."""

    TABLE: ClassVar[str] = "site"
    name: str = param("site01", "-", "built-in site: site01 = real LOLA terrain of the Shackleton-de Gerlache connecting "
                      "ridge (PGDA Site01, 16 x 16 km at 20 m, with the LDEM_75S cap as far field); synthetic = the "
                      "procedural site (size_m, pixel_m, seed)", f"LOLA PGDA site ({_REFS}barker2021)")
    dem: str = param("", "path", "your own DEM file (GeoTIFF or PDS3 .IMG/.LBL, projected CRS); replaces the built-in "
                     "site", _CHOICE)
    seed: int = param(0, "-", "seed of the synthetic site generator (same seed, same terrain)", _CHOICE)
    size_m: float = param(20_000.0, "m", "side length of the synthetic site, centred on the south pole", _CHOICE)
    pixel_m: float = param(20.0, "m", "pixel size of the synthetic site", f"{ASSUMED}: the built-in site's 20 m")
    far_field: tuple[str, ...] = param((), "paths", "regional DEMs (same CRS, coarser, smallest first, each covering "
                                       "the one before) whose terrain beyond the site DEM raises its horizons; [] = "
                                       "the site DEM alone", _CHOICE)

    def __post_init__(self):
        if self.name not in SITE_NAMES:
            raise ConfigError(f"site.name {self.name!r} is not a built-in site; choose one of {', '.join(SITE_NAMES)}, "
                              "or give your own DEM as site.dem (--dem)")
        check_positive(self, "size_m", "pixel_m")
        check_non_negative(self, "seed")


@dataclass(frozen=True)
class TimeParams:
    """The analysis span (``[time]``)."""

    TABLE: ClassVar[str] = "time"
    start: str = param("2027-01-01T00:00:00", "UTC ISO 8601", "start of the analysis span", _CHOICE)
    days: float = param(365.0, "days", "length of the analysis span", f"{ASSUMED}: a year covers every season")
    step_hours: float = param(1.0, "h", "time step of the light and Earth series",
                              f"{ASSUMED}: the Sun moves 0.5 deg of azimuth an hour at the pole")

    def __post_init__(self):
        check_positive(self, "days")
        check_positive(self, "step_hours", hint="a negative or zero step makes no time grid")


@dataclass(frozen=True)
class LightParams:
    """The horizons and the light statistics (``[light]``)."""

    TABLE: ClassVar[str] = "light"
    n_azimuths: int = param(360, "-", "number of horizon azimuths (360 = 1 deg spacing)",
                            f"{ASSUMED}: 1 deg, as published polar illumination maps ({_REFS}mazarico2011)")
    observer_height_m: float = param(2.0, "m", "height of the observer (solar array / antenna) above the ground",
                                     f"{ASSUMED}: a rover mast, as in polar illumination studies ({_REFS}glaser2014)")
    dark_threshold: float = param(0.0, "fraction 0-1", "a step is dark when the visible fraction of the solar disk is "
                                  "at or below this", f"{ASSUMED}: dark = no part of the disk")
    earth_threshold: float = param(0.5, "fraction 0-1", "Earth counts as visible when at least this fraction of its "
                                   "disk is above the horizon", f"{ASSUMED}: half the disk")
    memory_limit_gib: float = param(4.0, "GiB", "above this size the horizon cube is streamed through a temporary "
                                    "file instead of RAM", f"{ASSUMED}: fits a laptop")
    tile: int = param(256, "cells", "tile side for the per-cell statistics (and for distributing them on Dask)",
                      f"{ASSUMED}: a few MB per tile")
    far_field_max_km: float = param(0.0, "km", "far-field terrain farther than this from the site DEM's centre is "
                                    "left out; 0 = out to the far-field DEMs' edge", _CHOICE)

    def __post_init__(self):
        check_range(self, "n_azimuths", 4, MAX_AZIMUTHS, hint="0.05 deg spacing at most")
        check_non_negative(self, "observer_height_m")
        check_range(self, "dark_threshold", 0.0, 1.0, hi_open=True)
        check_range(self, "earth_threshold", 0.0, 1.0, lo_open=True)
        check_positive(self, "memory_limit_gib")
        check_range(self, "tile", 16, math.inf)
        check_non_negative(self, "far_field_max_km", hint="0 = out to the far-field DEMs' edge")


@dataclass(frozen=True)
class LanderParams:
    """The lander's slope map and landing-site limits (``[lander]``)."""

    TABLE: ClassVar[str] = "lander"
    max_slope_deg: float = param(12.0, "deg", "lander touchdown slope limit (Chandrayaan-3: 12 deg)",
                                 f"{_REFS}chandrayaan3")
    slope_baseline_m: float = param(0.0, "m", "baseline of the lander slope map; 0 = one pixel", _CHOICE)
    landing_radius_m: float = param(50.0, "m", "radius around a candidate site that must be entirely within the slope "
                                    "limit", f"{ASSUMED}: a few times the landing accuracy of a vision-aided lander")

    def __post_init__(self):
        check_range(self, "max_slope_deg", 0.0, 90.0, lo_open=True, hi_open=True)
        check_non_negative(self, "slope_baseline_m", "landing_radius_m")


@dataclass(frozen=True)
class RoverTerrainParams:
    """The rover's slope and roughness maps (``[rover]``; the rover itself is ``[vehicle]``)."""

    TABLE: ClassVar[str] = "rover"
    max_slope_deg: float = param(20.0, "deg", "rover traversable slope limit",
                                 f"{ASSUMED}: tracked planetary rovers climb about 20 deg")
    slope_baseline_m: float = param(0.0, "m", "baseline of the rover slope map; 0 = one pixel", _CHOICE)
    roughness_baseline_m: float = param(100.0, "m", "baseline of the roughness map", f"{ASSUMED}: rover-traverse scale")

    def __post_init__(self):
        check_range(self, "max_slope_deg", 0.0, 90.0, lo_open=True, hi_open=True)
        check_non_negative(self, "slope_baseline_m")
        check_positive(self, "roughness_baseline_m")


@dataclass(frozen=True)
class SitesParams:
    """The ranked list of candidate landing sites (``[sites]``)."""

    TABLE: ClassVar[str] = "sites"
    count: int = param(10, "-", "number of candidate landing sites to list", _CHOICE)
    min_separation_m: float = param(1_000.0, "m", "minimum distance between two listed sites", _CHOICE)
    edge_margin_m: float = param(2_000.0, "m", "sites must lie this far inside the DEM's border, where horizons are "
                                 "truncated by the DEM's end", f"{ASSUMED}: a few km of horizon beyond the site")
    weight_sun: float = param(0.5, "-", "score weight of the mean illumination", f"{ASSUMED}: power first")
    weight_earth: float = param(0.3, "-", "score weight of the Earth-visible time", f"{ASSUMED}: then the link")
    weight_night: float = param(0.2, "-", "score weight of (1 - longest darkness / span)", f"{ASSUMED}: then survival")
    series_points: int = param(3, "-", "number of top sites whose sun/Earth time series go into the report", _CHOICE)
    extra_points: str = param("", "lat,lon deg; ...", "more points for time series, e.g. \"-89.45,222.7; "
                              "-89.78,204.3\" (planetocentric)", _CHOICE)

    def __post_init__(self):
        check_range(self, "count", 1, 10_000)
        check_non_negative(self, "min_separation_m", "edge_margin_m", "weight_sun", "weight_earth", "weight_night",
                           "series_points")
        parse_points(self.extra_points)


@dataclass(frozen=True)
class LandingParams:
    """The landing phase: Monte Carlo size, epoch and rendered frames (``[landing]``)."""

    TABLE: ClassVar[str] = "landing"
    runs: int = param(20, "-", "Monte Carlo descents to the top landing site (0 = skip the landing phase)", _CHOICE)
    seed: int = param(0, "-", "seed of the landing Monte Carlo (dispersions, sensor noise)", _CHOICE)
    epoch: str = param("", "UTC ISO 8601", "landing time, which sets the Sun's direction; empty = the start of the "
                       "first landing window after time.start ([landing_window]); a time outside every window is "
                       "flown but flagged", _CHOICE)
    frame_altitudes_m: str = param("8000, 4000, 2000", "m", "altitudes of the rendered descent frames in the report "
                                   "(comma-separated)", _CHOICE)
    rendered_runs: int = param(1, "-", "of the runs, how many fly the real vision chain (render, detect, identify, "
                               "PnP/template) instead of simulated fixes (~2 s CPU more than a simulated descent on "
                               "the default site)", _CHOICE)
    rendered_altitudes_m: str = param("8000, 6000, 4000, 3000, 2000, 1000, 500, 100", "m",
                                      "altitudes above the terrain of the rendered-vision frames (comma-separated)",
                                      f"{ASSUMED}: a SLIM-like fix schedule ({_REFS}slim)")
    reference_sun_offset_deg: float = param(5.0, "deg", "grid-azimuth offset of the Sun that lights the onboard "
                                            "map's reference image from the landing Sun (5 deg ~ 10 h earlier at "
                                            "the pole; 0 = the map rendered for the planned landing hour)",
                                            f"{ASSUMED}: a map made some hours before the landing")
    lander_from_budget: bool = param(True, "-", "fly the launch-to-landing budget's lander: its mass at "
                                     "powered-descent initiation from the fixed launch mass and the burns before PDI, "
                                     "propellant up to the lander stage's dry mass (false = [lander_vehicle]'s "
                                     "wet_mass_kg and propellant_kg)", _CHOICE)

    def __post_init__(self):
        check_range(self, "runs", 0, 100_000, hint="0 skips the landing phase")
        check_non_negative(self, "seed")
        check_non_negative(self, "rendered_runs", hint="0: every run flies simulated vision")
        check_range(self, "reference_sun_offset_deg", -180.0, 180.0)
        frame_altitudes(self.frame_altitudes_m)
        if not frame_altitudes(self.rendered_altitudes_m, "landing.rendered_altitudes_m"):
            raise ConfigError("landing.rendered_altitudes_m must list at least one altitude (m), e.g. "
                              "\"4000, 2000, 1000\"")


@dataclass(frozen=True)
class ComputeParams:
    """Where the run computes (``[compute]``)."""

    TABLE: ClassVar[str] = "compute"
    workers: int = param(0, "processes", "start a local Dask cluster with this many workers; 0 = run in this "
                         "process", _CHOICE)
    scheduler: str = param("", "address", "address of a running Dask scheduler (tcp://host:port); overrides "
                           "workers", _CHOICE)

    def __post_init__(self):
        check_non_negative(self, "workers")
        if self.workers > max_workers():
            raise ConfigError(f"compute.workers = {self.workers} is more than {max_workers()} (4 per CPU core of this "
                              "machine); use fewer workers, or a Dask cluster through compute.scheduler")
        if self.scheduler and not self.scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise ConfigError(f"compute.scheduler {self.scheduler!r} is not a scheduler address; use e.g. "
                              "tcp://host:8786")


@dataclass(frozen=True)
class OutputParams:
    """Where the run writes (``[output]``)."""

    TABLE: ClassVar[str] = "output"
    directory: str = param("", "path", "run directory; empty = lupex-runs/run-<UTC timestamp> in the working "
                           "directory", _CHOICE)
    overwrite: bool = param(False, "-", "replace an existing run directory of the same name", _CHOICE)


# the names before the one naming rule (``*Params``), kept for code that imports them
SiteConfig = SiteParams
TimeConfig = TimeParams
LightConfig = LightParams
LanderConfig = LanderParams
RoverConfig = RoverTerrainParams
SitesConfig = SitesParams
LandingConfig = LandingParams
SubsurfaceConfig = SubsurfaceParams
ComputeConfig = ComputeParams
OutputConfig = OutputParams
