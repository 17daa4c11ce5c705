"""Run configuration: every parameter of ``lupex run``, with its unit and meaning.

A configuration is a set of frozen dataclasses, one per TOML table. A TOML file
(``lupex run --config my.toml``) or ``--set table.key=value`` options override
the defaults; an unknown or misspelt key is an error that names the key and
suggests the closest known one. ``lupex run --help`` lists every key from the
metadata below, so the help and the code cannot drift apart.

The run's own tables live in :mod:`lupex.config.tables`, the value checks and
parsers in :mod:`lupex.config.checks`; both are re-exported here, so
``from lupex.config import SiteParams, check_span`` works as before.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from rich.markup import escape

from lupex.config.checks import (  # noqa: F401  (re-exported: lupex.config is where callers import them)
    MAX_AZIMUTHS,
    MAX_TIME_STEPS,
    check_span,
    frame_altitudes,
    max_workers,
    parse_lat_lon,
    parse_points,
)
from lupex.config.tables import (  # noqa: F401  (re-exported: lupex.config is where callers import them)
    ComputeParams,
    LanderParams,
    LandingParams,
    LightParams,
    OutputParams,
    RoverTerrainParams,
    SiteParams,
    SitesParams,
    SubsurfaceParams,
    TimeParams,
)
from lupex.errors import ConfigError
from lupex.instruments.adore import AdoreParams
from lupex.instruments.alis import AlisParams
from lupex.instruments.drill import DrillParams
from lupex.instruments.emsl import IonTrapParams, OutgassingParams
from lupex.instruments.gpr_forward import GprParams
from lupex.instruments.isap import IsapParams
from lupex.instruments.ltga import LTGAParams
from lupex.instruments.neutron import NeutronParams
from lupex.instruments.triton import TritonParams
from lupex.landing.descent import DescentParams, LanderVehicleParams, TouchdownParams
from lupex.landing.montecarlo import DispersionParams
from lupex.landing.window import LandingWindowParams
from lupex.mission.budget import BudgetParams
from lupex.mission.campaign import CampaignParams
from lupex.mission.survey import SurveyParams
from lupex.rover.planner import PlannerParams
from lupex.rover.vehicle import RoverParams

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """Every parameter of a run: one table (a ``*Params`` dataclass) per TOML table, by its name."""

    site: SiteParams = field(default_factory=SiteParams)
    time: TimeParams = field(default_factory=TimeParams)
    light: LightParams = field(default_factory=LightParams)
    lander: LanderParams = field(default_factory=LanderParams)
    rover: RoverTerrainParams = field(default_factory=RoverTerrainParams)
    sites: SitesParams = field(default_factory=SitesParams)
    landing: LandingParams = field(default_factory=LandingParams)
    subsurface: SubsurfaceParams = field(default_factory=SubsurfaceParams)
    compute: ComputeParams = field(default_factory=ComputeParams)
    output: OutputParams = field(default_factory=OutputParams)
    vehicle: RoverParams = field(default_factory=RoverParams)
    planner: PlannerParams = field(default_factory=PlannerParams)
    budget: BudgetParams = field(default_factory=BudgetParams)
    campaign: CampaignParams = field(default_factory=CampaignParams)
    descent: DescentParams = field(default_factory=DescentParams)
    lander_vehicle: LanderVehicleParams = field(default_factory=LanderVehicleParams)
    touchdown: TouchdownParams = field(default_factory=TouchdownParams)
    dispersions: DispersionParams = field(default_factory=DispersionParams)
    landing_window: LandingWindowParams = field(default_factory=LandingWindowParams)
    drill: DrillParams = field(default_factory=DrillParams)
    ltga: LTGAParams = field(default_factory=LTGAParams)
    triton: TritonParams = field(default_factory=TritonParams)
    adore: AdoreParams = field(default_factory=AdoreParams)
    isap: IsapParams = field(default_factory=IsapParams)
    survey: SurveyParams = field(default_factory=SurveyParams)
    gpr: GprParams = field(default_factory=GprParams)
    neutron: NeutronParams = field(default_factory=NeutronParams)
    alis: AlisParams = field(default_factory=AlisParams)
    emsl: IonTrapParams = field(default_factory=IonTrapParams)
    emsl_outgassing: OutgassingParams = field(default_factory=OutgassingParams)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Return ``{table: {key: value}}`` of every table (nested tables as dicts)."""
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


RENAMED: dict[str, str] = {
    "subsurface.ice_free_fraction": "subsurface.ice_free_frac",
    "vehicle.thermal.electronics.dissipation_fraction": "vehicle.thermal.electronics.dissipation_frac",
    "vehicle.thermal.battery.dissipation_fraction": "vehicle.thermal.battery.dissipation_frac",
    "descent.pdi_speed_mps": "descent.pdi_speed_m_s",
    "descent.braking_decel_mps2": "descent.braking_decel_m_s2",
    "descent.gate_descent_mps": "descent.gate_descent_m_s",
    "descent.terminal_speed_mps": "descent.terminal_speed_m_s",
    "touchdown.max_vertical_mps": "touchdown.max_vertical_m_s",
    "touchdown.max_horizontal_mps": "touchdown.max_horizontal_m_s",
    "dispersions.init_sigma_v_mps": "dispersions.init_sigma_v_m_s",
    "dispersions.imu.turn_on_bias_mps2": "dispersions.imu.turn_on_bias_m_s2",
    "dispersions.imu.vrw_mps_rthz": "dispersions.imu.vrw_m_s_rthz",
    "dispersions.imu.bias_rw_mps2_rts": "dispersions.imu.bias_rw_m_s2_rts",
    "landing_window.min_sun_fraction": "landing_window.min_sun_frac",
    "landing_window.min_earth_fraction": "landing_window.min_earth_frac",
    "landing_window.dark_sun_fraction": "landing_window.dark_sun_frac",
    "drill.recovery_fraction": "drill.recovery_frac",
    "drill.heat_fraction_to_cuttings": "drill.heat_frac_to_cuttings",
    "adore.split_fraction": "adore.split_frac",
}
"""Old config keys (before one spelling per unit: ``_m_s``, ``_m_s2``, ``_frac``) -> their new names.

An old key in a config file or ``--set`` still loads and means the same; a
warning names the new key, so old run directories and scripts keep working.
"""


def _renamed(full: str, origin: str) -> str:
    """The new name of ``full`` when it is an old key (logging a deprecation warning), else ``full``."""
    new = RENAMED.get(full)
    if new is None:
        return full
    _log.warning("config key '%s' (in %s) is deprecated; it is now '%s': rename it there", full, origin, new)
    return new


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
    return "\n\n".join([intro] + [escape(line) for line in help_lines(tables)])


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(choices))}"


def _type_name(typ) -> str:
    return getattr(typ, "__name__", None) if get_origin(typ) is None else str(typ).replace("typing.", "")


def _coerce(key: str, value: Any, typ: type, allow_inf: bool = False) -> Any:
    """Return ``value`` (from TOML or --set) as ``typ``; ConfigError naming ``key`` when it is not one.

    ``typ`` is bool, int, float, str, ``tuple[float, ...]`` or a fixed-length
    ``tuple[float, float]`` (a TOML array), or ``Mapping[str, float]`` (a TOML table).
    """
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
        full = _renamed(f"{key}.{k}", origin)   # an old key's new name (with a warning), else itself
        k = full.rsplit(".", 1)[1]
        if k in kw:  # the old and the new name of one key
            raise ConfigError(f"'{full}' is given twice in {origin} (also under its old name); keep only '{full}'")
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
    """Return a tuple of parameter tables with ``v`` applied.

    A TOML array of tables replaces it (``[[vehicle.panels]]``, each entry starting
    from the first entry's values); ``{index: table}`` (from ``--set key[i].name=...``)
    edits entries.
    """
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
    """Return ``cfg`` with ``updates`` (nested ``{table: {key: value}}``) applied and validated.

    Each table checks its own keys; the checks across keys (:func:`validate`) run
    only with ``check``: :func:`load` applies every ``--set`` first, then checks
    them together.

    Parameters
    ----------
    cfg : Config
        The configuration to start from (unchanged; configurations are frozen).
    updates : dict
        ``{table: {key: value}}`` as TOML parses it: a value may itself be a table
        (a nested parameter dataclass), an array of tables (``[[vehicle.panels]]``) or
        ``{index: table}`` (from ``--set key[i].name=...``). Old key names in
        :data:`RENAMED` are accepted with a warning; keys in :data:`DERIVED` are refused.
    origin : str, optional
        Where the updates come from, named in every error and warning (a file path,
        ``"--set"``, ``"--resume"``, an option such as ``"--depth"``). Default ``"config"``.
    check : bool, optional
        Run :func:`validate` (the checks that relate keys to each other) on the result.
        Default True.

    Returns
    -------
    Config
        A new configuration with the updates applied and every :data:`DERIVED` key
        copied from the run-level key it follows.

    Raises
    ------
    lupex.errors.ConfigError
        On an unknown table or key (with the closest known name), a value of the wrong
        type or range, or, with ``check``, keys that disagree.
    """
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
    """Check what spans several keys; raise ConfigError naming them.

    Each table checks its own keys when it is made (``__post_init__``); what is
    left here relates keys to each other, so it runs once every ``--set`` is in
    (applied one by one, two keys could disagree on the way).
    """
    cells = cfg.site.size_m / max(cfg.site.pixel_m, 1e-9)
    checks = [
        (cells >= 16, "site.size_m / site.pixel_m must give at least 16 cells"),
        (cells <= 20_000, "site.size_m / site.pixel_m above 20,000 cells a side is too large"),
        (cfg.sites.weight_sun + cfg.sites.weight_earth + cfg.sites.weight_night > 0,
         "at least one sites.weight_* must be positive"),
        (cfg.landing.runs == 0 or cfg.landing.rendered_runs <= cfg.landing.runs,
         f"landing.rendered_runs ({cfg.landing.rendered_runs}) must not exceed landing.runs ({cfg.landing.runs})"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ConfigError(msg)
    check_span(cfg.time.start, cfg.time.days, cfg.time.step_hours, "time.start", "time.days", "time.step_hours")
    if cfg.landing.epoch:
        check_span(cfg.landing.epoch, 0.0, None, "landing.epoch")


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
