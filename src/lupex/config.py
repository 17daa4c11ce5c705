"""Run configuration: every parameter of ``lupex run``, with its unit and meaning.

A configuration is a set of frozen dataclasses, one per TOML table. A TOML file
(``lupex run --config my.toml``) or ``--set table.key=value`` options override
the defaults; an unknown or misspelt key is an error that names the key and
suggests the closest known one. ``lupex run --help`` lists every key from the
metadata below, so the help and the code cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from lupex.errors import ConfigError, LupexError
from lupex.instruments.adore import AdoreParams
from lupex.instruments.alis import AlisParams
from lupex.instruments.drill import DrillParams
from lupex.instruments.emsl import IonTrapParams, Outgassing
from lupex.instruments.gpr_forward import GprConfig
from lupex.instruments.isap import IsapParams
from lupex.instruments.ltga import LTGAParams
from lupex.instruments.neutron import NeutronSpectrometer
from lupex.instruments.triton import TritonParams
from lupex.landing.descent import DescentConfig, TouchdownLimits, Vehicle
from lupex.landing.montecarlo import Dispersions
from lupex.landing.window import LandingWindowParams
from lupex.mission.budget import BudgetParams
from lupex.mission.campaign import CampaignParams
from lupex.mission.survey import SurveyParams
from lupex.parsing import frame_altitudes, parse_lat_lon, parse_points  # noqa: F401  (moved down: mission uses them)
from lupex.rover.planner import PlannerParams
from lupex.rover.vehicle import RoverParams
from lupex.terrain.builtin import SITE_NAMES


def _p(default, unit: str, help: str, **kw):
    return field(default=default, metadata={"unit": unit, "help": help, **kw})


@dataclass(frozen=True)
class SiteConfig:
    name: str = _p("site01", "-", "built-in site: site01 = real LOLA terrain of the Shackleton-de Gerlache connecting ridge "
                   "(PGDA Site01, 16 x 16 km at 20 m, with the LDEM_75S cap as far field); synthetic = the procedural "
                   "site (size_m, pixel_m, seed)")
    dem: str = _p("", "path", "your own DEM file (GeoTIFF or PDS3 .IMG/.LBL, projected CRS); replaces the built-in site")
    seed: int = _p(0, "-", "seed of the synthetic site generator (same seed, same terrain)")
    size_m: float = _p(20_000.0, "m", "side length of the synthetic site, centred on the south pole")
    pixel_m: float = _p(20.0, "m", "pixel size of the synthetic site")
    far_field: tuple[str, ...] = _p((), "paths", "regional DEMs (same CRS, coarser, smallest first, each covering the one "
                                   "before) whose terrain beyond the site DEM raises its horizons; [] = the site DEM alone")


@dataclass(frozen=True)
class TimeConfig:
    start: str = _p("2027-01-01T00:00:00", "UTC ISO 8601", "start of the analysis span")
    days: float = _p(365.0, "days", "length of the analysis span")
    step_hours: float = _p(1.0, "h", "time step of the light and Earth series")


@dataclass(frozen=True)
class LightConfig:
    n_azimuths: int = _p(360, "-", "number of horizon azimuths (360 = 1 deg spacing)")
    observer_height_m: float = _p(2.0, "m", "height of the observer (solar array / antenna) above the ground")
    dark_threshold: float = _p(0.0, "fraction 0-1", "a step is dark when the visible fraction of the solar disk is at or below this")
    earth_threshold: float = _p(0.5, "fraction 0-1", "Earth counts as visible when at least this fraction of its disk is above the horizon")
    memory_limit_gib: float = _p(4.0, "GiB", "above this size the horizon cube is streamed through a temporary file instead of RAM")
    tile: int = _p(256, "cells", "tile side for the per-cell statistics (and for distributing them on Dask)")
    far_field_max_km: float = _p(0.0, "km", "far-field terrain farther than this from the site DEM's centre is left out; 0 = out to the far-field DEMs' edge")


@dataclass(frozen=True)
class LanderConfig:
    max_slope_deg: float = _p(12.0, "deg", "lander touchdown slope limit (Chandrayaan-3: 12 deg)")
    slope_baseline_m: float = _p(0.0, "m", "baseline of the lander slope map; 0 = one pixel")
    landing_radius_m: float = _p(50.0, "m", "radius around a candidate site that must be entirely within the slope limit")


@dataclass(frozen=True)
class RoverConfig:
    max_slope_deg: float = _p(20.0, "deg", "rover traversable slope limit")
    slope_baseline_m: float = _p(0.0, "m", "baseline of the rover slope map; 0 = one pixel")
    roughness_baseline_m: float = _p(100.0, "m", "baseline of the roughness map")


@dataclass(frozen=True)
class SitesConfig:
    count: int = _p(10, "-", "number of candidate landing sites to list")
    min_separation_m: float = _p(1_000.0, "m", "minimum distance between two listed sites")
    edge_margin_m: float = _p(2_000.0, "m", "sites must lie this far inside the DEM's border, where horizons are truncated by the DEM's end")
    weight_sun: float = _p(0.5, "-", "score weight of the mean illumination")
    weight_earth: float = _p(0.3, "-", "score weight of the Earth-visible time")
    weight_night: float = _p(0.2, "-", "score weight of (1 - longest darkness / span)")
    series_points: int = _p(3, "-", "number of top sites whose sun/Earth time series go into the report")
    extra_points: str = _p("", "lat,lon deg; ...", "more points for time series, e.g. \"-89.45,222.7; -89.78,204.3\" (planetocentric)")


@dataclass(frozen=True)
class LandingConfig:
    runs: int = _p(20, "-", "Monte Carlo descents to the top landing site (0 = skip the landing phase)")
    seed: int = _p(0, "-", "seed of the landing Monte Carlo (dispersions, sensor noise)")
    epoch: str = _p("", "UTC ISO 8601", "landing time, which sets the Sun's direction; empty = the start of the first "
                    "landing window after time.start ([landing_window]); a time outside every window is flown but flagged")
    frame_altitudes_m: str = _p("8000, 4000, 2000", "m", "altitudes of the rendered descent frames in the report (comma-separated)")
    rendered_runs: int = _p(1, "-", "of the runs, how many fly the real vision chain (render, detect, identify, PnP/template) "
                                    "instead of simulated fixes (~2 s CPU more than a simulated descent on the default site)")
    rendered_altitudes_m: str = _p("8000, 6000, 4000, 3000, 2000, 1000, 500, 100", "m",
                                   "altitudes above the terrain of the rendered-vision frames (comma-separated)")
    reference_sun_offset_deg: float = _p(5.0, "deg", "grid-azimuth offset of the Sun that lights the onboard map's "
                                         "reference image from the landing Sun (5 deg ~ 10 h earlier at the pole; 0 = "
                                         "the map rendered for the planned landing hour)")
    lander_from_budget: bool = _p(True, "-", "fly the launch-to-landing budget's lander: its mass at powered-descent "
                                  "initiation from the fixed launch mass and the burns before PDI, propellant up to "
                                  "the lander stage's dry mass (false = [lander_vehicle]'s wet_mass_kg and propellant_kg)")


@dataclass(frozen=True)
class SubsurfaceConfig:
    seed: int = _p(1, "-", "seed of the subsurface ground truth (ice, rocks, composition)")
    corr_length_m: float = _p(10.0, "m", "correlation length of the ice concentration and ice-table depth fields")
    ice_free_fraction: float = _p(0.3, "fraction 0-1", "fraction of the cold-trapped area that holds no ice")
    weh_median_wt_pct: float = _p(1.5, "wt% WEH", "median water-equivalent hydrogen below the ice table where ice is present")
    overburden_median_m: float = _p(0.25, "m", "median thickness of dry regolith over the ice table where ice is stable at the surface")
    stability_threshold_k: float = _p(110.0, "K", "ice is stable where the maximum temperature stays below this (Paige et al. 2010)")
    rock_abundance: float = _p(0.005, "fraction", "buried rock abundance (Golombek & Rapp 1997 cumulative fractional area)")


@dataclass(frozen=True)
class ComputeConfig:
    workers: int = _p(0, "processes", "start a local Dask cluster with this many workers; 0 = run in this process")
    scheduler: str = _p("", "address", "address of a running Dask scheduler (tcp://host:port); overrides workers")


@dataclass(frozen=True)
class OutputConfig:
    directory: str = _p("", "path", "run directory; empty = lupex-runs/run-<UTC timestamp> in the working directory")
    overwrite: bool = _p(False, "-", "replace an existing run directory of the same name")


@dataclass(frozen=True)
class Config:
    site: SiteConfig = field(default_factory=SiteConfig)
    time: TimeConfig = field(default_factory=TimeConfig)
    light: LightConfig = field(default_factory=LightConfig)
    lander: LanderConfig = field(default_factory=LanderConfig)
    rover: RoverConfig = field(default_factory=RoverConfig)
    sites: SitesConfig = field(default_factory=SitesConfig)
    landing: LandingConfig = field(default_factory=LandingConfig)
    subsurface: SubsurfaceConfig = field(default_factory=SubsurfaceConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    vehicle: RoverParams = field(default_factory=RoverParams)
    planner: PlannerParams = field(default_factory=PlannerParams)
    budget: BudgetParams = field(default_factory=BudgetParams)
    campaign: CampaignParams = field(default_factory=CampaignParams)
    descent: DescentConfig = field(default_factory=DescentConfig)
    lander_vehicle: Vehicle = field(default_factory=Vehicle)
    touchdown: TouchdownLimits = field(default_factory=TouchdownLimits)
    dispersions: Dispersions = field(default_factory=Dispersions)
    landing_window: LandingWindowParams = field(default_factory=LandingWindowParams)
    drill: DrillParams = field(default_factory=DrillParams)
    ltga: LTGAParams = field(default_factory=LTGAParams)
    triton: TritonParams = field(default_factory=TritonParams)
    adore: AdoreParams = field(default_factory=AdoreParams)
    isap: IsapParams = field(default_factory=IsapParams)
    survey: SurveyParams = field(default_factory=SurveyParams)
    gpr: GprConfig = field(default_factory=GprConfig)
    neutron: NeutronSpectrometer = field(default_factory=NeutronSpectrometer)
    alis: AlisParams = field(default_factory=AlisParams)
    emsl: IonTrapParams = field(default_factory=IonTrapParams)
    emsl_outgassing: Outgassing = field(default_factory=Outgassing)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {f.name: dataclasses.asdict(getattr(self, f.name)) for f in fields(self)}

    def to_toml(self) -> str:
        """:func:`to_toml` of this Config (the run directory's config.toml; the phases, below config, call this)."""
        return to_toml(self)


DERIVED: dict[str, str] = {
    "planner.max_slope_deg": "rover.max_slope_deg",
    "planner.slope_baseline_m": "rover.slope_baseline_m",
    "planner.earth_threshold": "light.earth_threshold",
    "planner.dark_threshold": "light.dark_threshold",
    "vehicle.comms.earth_threshold": "light.earth_threshold",
    "vehicle.survival.dark_threshold": "light.dark_threshold",
    "campaign.max_slope_deg": "rover.max_slope_deg",
    "campaign.speed_m_s": "vehicle.mobility.speed_cmd_m_s",
    "touchdown.max_slope_deg": "lander.max_slope_deg",
    "survey.speed_m_s": "vehicle.mobility.speed_cmd_m_s",
}
"""Model parameters that one run-level key sets everywhere (key -> the key that sets it).

They are not configurable on their own: two tables disagreeing on, say, when
Earth counts as visible would make the site map and the rover's link windows
contradict each other.

A model field whose metadata says ``config=False`` is not a key either: the run
computes it (the descent's Sun elevation and azimuth come from ``landing.epoch``).
"""


def _computed(f) -> bool:
    """A model field the run computes from other keys (``config=False`` in its metadata): never a key."""
    return f.metadata.get("config", True) is False


def _sections() -> dict[str, type]:
    return {f.name: f.default_factory().__class__ for f in fields(Config)}  # type: ignore[misc]


def _is_seq_of_dataclasses(v) -> bool:
    return isinstance(v, tuple) and bool(v) and all(dataclasses.is_dataclass(i) for i in v)


def _leaves(obj, prefix: str):
    """(key, value, field) of every scalar parameter under ``obj``; tuples of dataclasses as ``key[i]``."""
    for f in fields(obj):
        v = getattr(obj, f.name)
        key = f"{prefix}.{f.name}"
        if dataclasses.is_dataclass(v):
            yield from _leaves(v, key)
        elif _is_seq_of_dataclasses(v):
            for i, item in enumerate(v):
                yield from _leaves(item, f"{key}[{i}]")
        elif key not in DERIVED and not _computed(f):
            yield key, v, f


def all_keys(cfg: Config | None = None) -> list[tuple[str, Any, str, str]]:
    """Every configurable key as (``table.key``, default, unit, help), nested model tables included."""
    cfg = cfg or Config()
    return [(key, v, f.metadata.get("unit", ""), f.metadata.get("help", ""))
            for sec in _sections() for key, v, f in _leaves(getattr(cfg, sec), sec)]


def help_lines(tables: tuple[str, ...] | None = None) -> list[str]:
    """``key = default (unit): meaning`` for every key (or the keys of ``tables``), for ``--help`` epilogs."""
    out = []
    for key, default, unit, help in all_keys():
        if tables is not None and key.split(".", 1)[0] not in tables:
            continue
        d = _help_value(default)
        out.append(f"{key} = {d} ({unit}): {help}")
    return out


def _help_value(v) -> str:
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(i)}" for k, i in v.items()) + "}"
    return _toml_value(v)


TABLES_INTRO = ("[b]Parameters[/b] read from --config FILE.toml (the same file as lupex run's) "
                "or --set table.key=value:")


def help_epilog(intro: str = TABLES_INTRO, tables: tuple[str, ...] | None = None) -> str:
    """A command's ``--help`` epilog: ``intro`` (Rich markup) and :func:`help_lines`, one paragraph each."""
    from rich.markup import escape

    return "\n\n".join([intro] + [escape(line) for line in help_lines(tables)])


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(choices))}"


def _type_name(typ) -> str:
    return getattr(typ, "__name__", None) if get_origin(typ) is None else str(typ).replace("typing.", "")


def _coerce(key: str, value: Any, typ: type, allow_inf: bool = False) -> Any:
    """``value`` (from TOML or --set) as ``typ``: bool, int, float, str, ``tuple[float, ...]`` or a fixed-length
    ``tuple[float, float]`` (a TOML array), ``Mapping[str, float]`` (a TOML table); ConfigError naming ``key``."""
    origin, args = get_origin(typ), get_args(typ)
    if origin is tuple and args == (str, Ellipsis) and isinstance(value, str):
        value = [value] if value else []  # one path given as a plain string (--set site.far_field=a.tif)
    if origin is tuple:
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis and isinstance(value, list) else args
        if not isinstance(value, list) or len(items) != len(value):
            n = "an array" if len(args) == 2 and args[1] is Ellipsis else f"an array of {len(args)} values"
            raise ConfigError(f"config key {key!r} must be {n} like [1.0, 2.0], got {value!r}")
        return tuple(_coerce(f"{key}[{i}]", v, t) for i, (v, t) in enumerate(zip(value, items)))
    if origin in (Mapping, dict):
        kt, vt = args or (str, float)
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} must be a table of name = value, got {value!r}")
        return {_coerce(key, k, kt): _coerce(f"{key}.{k}", v, vt) for k, v in value.items()}
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError
        if typ is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            if not -_INT_LIMIT <= int(value) <= _INT_LIMIT:
                raise ConfigError(f"config key {key!r} = {value!r} is out of range (at most {_INT_LIMIT:.3g} in size)")
            return int(value)
        if typ is float:
            if isinstance(value, bool):
                raise ValueError
            if not allow_inf and not math.isfinite(float(value)):  # (a key that takes inf checks itself)
                raise ConfigError(f"config key {key!r} must be a finite number, got {value!r}")
            return float(value)
        if typ is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
    except (TypeError, ValueError, OverflowError):
        pass
    else:
        return value
    raise ConfigError(f"config key {key!r} must be of type {_type_name(typ)}, got {value!r}")


_INT_LIMIT = 2**63 - 1  # an integer key must fit a 64-bit integer (seeds, counts)


def _unknown(key: str, name: str, known) -> ConfigError:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{key}.{close[0]}'?" if close else f"; [{key}] knows: {', '.join(sorted(known))}"
    return ConfigError(f"unknown config key '{key}.{name}'{hint}")


def _merge_obj(obj, values: dict, key: str, origin: str):
    """``obj`` (a parameter dataclass) with ``values`` applied, recursing into nested tables."""
    if not isinstance(values, dict):
        raise ConfigError(f"[{key}] in {origin} must be a table of keys, got {values!r}")
    hints = get_type_hints(type(obj))
    known = {f.name for f in fields(obj) if not _computed(f)}
    computed = {f.name: f.metadata.get("source", "") for f in fields(obj) if _computed(f)}
    kw = {}
    for k, v in values.items():
        full = f"{key}.{k}"
        if full in DERIVED:
            raise ConfigError(f"'{full}' in {origin} follows '{DERIVED[full]}'; set that key instead")
        if k in computed:
            raise ConfigError(f"'{full}' in {origin} is not a config key: it is {computed[k]}")
        if k not in known:
            err = _unknown(key, str(k), known)
            raise ConfigError(f"{err} (in {origin})")
        cur = getattr(obj, k)
        if dataclasses.is_dataclass(cur):
            kw[k] = _merge_obj(cur, v, full, origin)
        elif _is_seq_of_dataclasses(cur):
            kw[k] = _merge_seq(cur, v, full, origin)
        elif isinstance(cur, Mapping):  # a name -> value table: the names given update the current ones
            kw[k] = {**cur, **_coerce(full, v, hints[k])}
        else:  # infinity only where the key's meaning names it (e.g. "-inf: none")
            meaning = next((f.metadata.get("help", "") for f in fields(obj) if f.name == k), "")
            kw[k] = _coerce(full, v, hints[k], allow_inf="inf" in str(meaning))
    try:
        return dataclasses.replace(obj, **kw)
    except ConfigError as exc:
        raise ConfigError(f"[{key}] in {origin}: {exc}") from None


def _merge_seq(cur: tuple, v, key: str, origin: str) -> tuple:
    """A tuple of parameter tables: a TOML array of tables replaces it (``[[vehicle.panels]]``, each entry
    starting from the first entry's values); ``{index: table}`` (from ``--set key[i].name=...``) edits entries."""
    if isinstance(v, list):
        if not v:
            raise ConfigError(f"{key} in {origin} needs at least one entry")
        return tuple(_merge_obj(cur[min(i, len(cur) - 1)], item, f"{key}[{i}]", origin) for i, item in enumerate(v))
    if isinstance(v, dict) and all(isinstance(i, int) for i in v):
        out = list(cur)
        for i, item in v.items():
            if not 0 <= i < len(cur):
                raise ConfigError(f"{key}[{i}] in {origin}: there are {len(cur)} entries (0..{len(cur) - 1}); "
                                  f"add entries with a [[{key}]] array of tables in a config file")
            out[i] = _merge_obj(cur[i], item, f"{key}[{i}]", origin)
        return tuple(out)
    raise ConfigError(f"{key} in {origin} must be an array of tables ([[{key}]]), got {v!r}")


def _set_path(obj, path: list[str], value):
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    return dataclasses.replace(obj, **{path[0]: _set_path(getattr(obj, path[0]), path[1:], value)})


def _sync(cfg: Config) -> Config:
    """Copy each run-level key into the model parameters that follow it (see DERIVED)."""
    for dst, src in DERIVED.items():
        sec, *rest = dst.split(".")
        value = cfg
        for name in src.split("."):
            value = getattr(value, name)
        cfg = dataclasses.replace(cfg, **{sec: _set_path(getattr(cfg, sec), rest, value)})
    return cfg


def merge(cfg: Config, updates: dict[str, Any], origin: str = "config", *, check: bool = True) -> Config:
    """Return ``cfg`` with ``updates`` (nested ``{table: {key: value}}``) applied and validated (the checks
    across keys only with ``check``: :func:`load` applies every ``--set`` first, then checks them together)."""
    sections = _sections()
    new = {}
    for sec, values in updates.items():
        if sec not in sections:
            raise ConfigError(f"unknown table [{sec}] in {origin}{_suggest(sec, sections)}")
        new[sec] = _merge_obj(getattr(cfg, sec), values, sec, origin)
    out = _sync(dataclasses.replace(cfg, **new))
    if check:
        validate(out)
    return out


_INDEXED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]$")


def _dotted(key: str, value) -> dict:
    """``vehicle.panels[0].area_m2`` = v -> ``{"vehicle": {"panels": {0: {"area_m2": v}}}}``."""
    parts: list = []
    for part in key.split("."):
        m = _INDEXED.match(part)
        if m:
            parts += [m.group(1), int(m.group(2))]
        elif part:
            parts.append(part)
        else:
            raise ConfigError(f"--set key {key!r} has an empty part; write table.key=value")
    out: Any = value
    for p in reversed(parts):
        out = {p: out}
    return out


def load_text(text: str, base: Config | None = None, origin: str = "config") -> Config:
    """``base`` (default: the defaults) updated by the TOML ``text``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {origin} is not valid TOML: {exc}") from exc
    return merge(base or Config(), data, origin=origin)


def load(path: str | Path | None = None, overrides: list[str] | None = None, base: Config | None = None) -> Config:
    """``base`` (default: the defaults), then the TOML file at ``path``, then ``table.key=value`` overrides."""
    cfg = base or Config()
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist; check the path given to --config")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc
        cfg = load_text(text, cfg, origin=str(p))
    for item in overrides or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"--set expects table.key=value (e.g. light.n_azimuths=90), got {item!r}")
        key, val = item.split("=", 1)
        try:
            parsed = tomllib.loads(f"v = {val.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            if val.strip()[:1] in ("'", '"', "[", "{"):  # meant as TOML: never taken as a bare string, quotes and all
                raise ConfigError(f"--set {key.strip()}: {val.strip()!r} is not a valid TOML value; check its quotes "
                                  "and escapes") from None
            parsed = val.strip()
        cfg = merge(cfg, _dotted(key.strip(), parsed), origin="--set", check=False)
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    """Check the ranges a run can work with; raise ConfigError naming the key."""
    checks = [
        (cfg.site.name in SITE_NAMES, f"site.name {cfg.site.name!r} is not a built-in site; choose one of "
                                      f"{', '.join(SITE_NAMES)}, or give your own DEM as site.dem (--dem)"),
        (cfg.site.size_m > 0, "site.size_m must be positive"),
        (cfg.site.pixel_m > 0, "site.pixel_m must be positive"),
        (cfg.site.size_m / max(cfg.site.pixel_m, 1e-9) >= 16, "site.size_m / site.pixel_m must give at least 16 cells"),
        (cfg.site.size_m / max(cfg.site.pixel_m, 1e-9) <= 20_000, "site.size_m / site.pixel_m above 20,000 cells a side is too large"),
        (cfg.time.days > 0, "time.days must be positive"),
        (cfg.time.step_hours > 0, "time.step_hours must be positive (a negative or zero step makes no time grid)"),
        (cfg.light.n_azimuths >= 4, "light.n_azimuths must be at least 4"),
        (cfg.light.observer_height_m >= 0, "light.observer_height_m must be >= 0"),
        (0 <= cfg.light.dark_threshold < 1, "light.dark_threshold must be in [0, 1)"),
        (0 < cfg.light.earth_threshold <= 1, "light.earth_threshold must be in (0, 1]"),
        (cfg.light.memory_limit_gib > 0, "light.memory_limit_gib must be positive"),
        (cfg.light.tile >= 16, "light.tile must be at least 16"),
        (cfg.light.far_field_max_km >= 0, "light.far_field_max_km must be >= 0 km (0 = out to the far-field DEMs' edge)"),
        (0 < cfg.lander.max_slope_deg < 90, "lander.max_slope_deg must be in (0, 90)"),
        (cfg.lander.slope_baseline_m >= 0, "lander.slope_baseline_m must be >= 0"),
        (cfg.lander.landing_radius_m >= 0, "lander.landing_radius_m must be >= 0"),
        (0 < cfg.rover.max_slope_deg < 90, "rover.max_slope_deg must be in (0, 90)"),
        (cfg.rover.slope_baseline_m >= 0, "rover.slope_baseline_m must be >= 0"),
        (cfg.rover.roughness_baseline_m > 0, "rover.roughness_baseline_m must be positive"),
        (cfg.sites.count >= 1, "sites.count must be at least 1"),
        (cfg.sites.min_separation_m >= 0, "sites.min_separation_m must be >= 0"),
        (cfg.sites.edge_margin_m >= 0, "sites.edge_margin_m must be >= 0"),
        (min(cfg.sites.weight_sun, cfg.sites.weight_earth, cfg.sites.weight_night) >= 0, "sites.weight_* must be >= 0"),
        (cfg.sites.weight_sun + cfg.sites.weight_earth + cfg.sites.weight_night > 0, "at least one sites.weight_* must be positive"),
        (cfg.sites.series_points >= 0, "sites.series_points must be >= 0"),
        (cfg.landing.runs >= 0, "landing.runs must be >= 0 (0 skips the landing phase)"),
        (cfg.landing.seed >= 0, "landing.seed must be >= 0"),
        (cfg.landing.rendered_runs >= 0, "landing.rendered_runs must be >= 0 (0: every run flies simulated vision)"),
        (-180.0 <= cfg.landing.reference_sun_offset_deg <= 180.0,
         "landing.reference_sun_offset_deg must be in [-180, 180] deg"),
        (cfg.landing.runs == 0 or cfg.landing.rendered_runs <= cfg.landing.runs,
         f"landing.rendered_runs ({cfg.landing.rendered_runs}) must not exceed landing.runs ({cfg.landing.runs})"),
        (cfg.subsurface.seed >= 0, "subsurface.seed must be >= 0"),
        (cfg.subsurface.corr_length_m > 0, "subsurface.corr_length_m must be positive"),
        (0 <= cfg.subsurface.ice_free_fraction <= 1, "subsurface.ice_free_fraction must be in [0, 1]"),
        (0 < cfg.subsurface.weh_median_wt_pct < 100, "subsurface.weh_median_wt_pct must be in (0, 100) wt%"),
        (cfg.subsurface.overburden_median_m >= 0, "subsurface.overburden_median_m must be >= 0"),
        (cfg.subsurface.stability_threshold_k > 0, "subsurface.stability_threshold_k must be positive"),
        (0 <= cfg.subsurface.rock_abundance < 1, "subsurface.rock_abundance must be in [0, 1)"),
        (cfg.compute.workers >= 0, "compute.workers must be >= 0"),
        (cfg.compute.workers <= _max_workers(),
         f"compute.workers = {cfg.compute.workers} is more than {_max_workers()} (4 per CPU core of this machine); "
         "use fewer workers, or a Dask cluster through compute.scheduler"),
        (cfg.site.seed >= 0, "site.seed must be >= 0"),
        (cfg.light.n_azimuths <= MAX_AZIMUTHS, f"light.n_azimuths must be at most {MAX_AZIMUTHS} (0.05 deg spacing)"),
        (cfg.sites.count <= 10_000, "sites.count must be at most 10000"),
        (cfg.landing.runs <= 100_000, "landing.runs must be at most 100000"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ConfigError(msg)
    check_span(cfg.time.start, cfg.time.days, cfg.time.step_hours, "time.start", "time.days", "time.step_hours")
    if cfg.landing.epoch:
        check_span(cfg.landing.epoch, 0.0, None, "landing.epoch")
    parse_points(cfg.sites.extra_points)
    frame_altitudes(cfg.landing.frame_altitudes_m)
    if not frame_altitudes(cfg.landing.rendered_altitudes_m, "landing.rendered_altitudes_m"):
        raise ConfigError("landing.rendered_altitudes_m must list at least one altitude (m), e.g. \"4000, 2000, 1000\"")
    if cfg.compute.scheduler and not cfg.compute.scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise ConfigError(
            f"compute.scheduler {cfg.compute.scheduler!r} is not a scheduler address; use e.g. tcp://host:8786"
        )


MAX_AZIMUTHS = 7200
MAX_TIME_STEPS = 1_000_000
"""Most steps of a time series (one year at 31.5 s): above it the light series alone need tens of GB per
thousand cells, and a smaller time.step_hours resolves nothing the light model can tell apart."""
_SAFE_SPAN = ("1900-01-03T00:00:00", "2050-12-28T00:00:00")  # inside the kernels' coverage (ephemeris.coverage_utc)


def _max_workers() -> int:
    import os

    return 4 * (os.cpu_count() or 1)


def check_span(start: str, days: float, step_hours: float | None, start_key: str = "--start",
               days_key: str = "--days", step_key: str = "--step-hours", error: type[LupexError] = ConfigError) -> None:
    """Check a time span given by the user: ``start`` is UTC ISO 8601, ``days`` and ``step_hours`` finite and
    positive, at most :data:`MAX_TIME_STEPS` steps, and the span inside the SPICE kernels' coverage; ``error``
    naming the key (``*_key``) otherwise. ``step_hours=None`` checks a single time (``days`` = 0)."""
    import numpy as np

    text = str(start).strip()
    try:
        if not re.match(r"^[+-]?\d{4}-\d\d-\d\d", text):
            raise ValueError
        t0 = np.datetime64(text.replace("Z", ""), "s")
    except (ValueError, OverflowError):
        raise error(f"{start_key} {start!r} is not a UTC ISO 8601 time; write e.g. 2027-01-01T00:00:00") from None
    if step_hours is not None:
        if not (math.isfinite(days) and days > 0):
            raise error(f"{days_key} must be a positive, finite number of days, got {days!r}")
        if not (math.isfinite(step_hours) and step_hours > 0):
            raise error(f"{step_key} must be a positive, finite number of hours, got {step_hours!r}")
        if step_hours * 3600.0 < 1.0:
            raise error(f"{step_key} {step_hours:g} is under one second; the time grid is in whole seconds")
        if days * 24.0 < step_hours:
            raise error(f"{days_key} {days:g} is shorter than one step of {step_hours:g} h ({step_key}); "
                        "lengthen the span or shorten the step")
        if days * 24.0 / step_hours > MAX_TIME_STEPS:
            raise error(f"{days_key} {days:g} at {step_key} {step_hours:g} makes {days * 24.0 / step_hours:.3g} time "
                        f"steps, more than {MAX_TIME_STEPS:,}; use a larger step or a shorter span")
    a, b = (np.datetime64(t, "s") for t in _SAFE_SPAN)
    stop_s = (t0 - a).astype(np.int64) + days * 86400.0  # in float: a huge span must not wrap around
    if t0 < a or stop_s > (b - a).astype(np.int64):
        from lupex.ephemeris import coverage_utc

        c0, c1 = coverage_utc()
        what = (f"{start_key} {text}" if step_hours is None or t0 < a
                else f"the span {text} + {days:g} days (set by {start_key} and {days_key})")
        raise error(f"{what} is outside the SPICE kernels' coverage ({c0} to {c1} UTC); choose times inside it")


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(i) for i in v) + "]"
    return repr(v)


def _toml_table(name: str, values: dict, lines: list[str], array: bool = False) -> None:
    lines.append(f"[[{name}]]" if array else f"[{name}]")
    subs = []
    for k, v in values.items():
        if isinstance(v, dict):
            subs.append((k, v, False))
        elif isinstance(v, (list, tuple)) and v and all(isinstance(i, dict) for i in v):
            subs.extend((k, i, True) for i in v)
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    lines.append("")
    for k, v, arr in subs:
        _toml_table(f"{name}.{k}", v, lines, arr)


def _drop_computed(obj, d: dict) -> dict:
    """``d`` (asdict of ``obj``) without the computed fields, recursing into nested tables."""
    for f in fields(obj):
        v = getattr(obj, f.name)
        if _computed(f):
            del d[f.name]
        elif dataclasses.is_dataclass(v):
            _drop_computed(v, d[f.name])
        elif _is_seq_of_dataclasses(v):
            for item, di in zip(v, d[f.name]):
                _drop_computed(item, di)
    return d


def to_toml(cfg: Config) -> str:
    """Serialise a Config as TOML (for the run directory's config.toml); ``load`` reads it back exactly."""
    lines: list[str] = []
    data = {sec: _drop_computed(getattr(cfg, sec), d) for sec, d in cfg.to_dict().items()}
    for key in DERIVED:  # written by the key they follow
        *path, leaf = key.split(".")
        d = data
        for p in path:
            d = d[p]
        del d[leaf]
    for sec, values in data.items():
        _toml_table(sec, values, lines)
    return "\n".join(lines)
