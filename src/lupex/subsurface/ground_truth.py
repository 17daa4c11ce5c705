"""The subsurface ground truth of a simulated mission, on the DEM's grid.

Assembles the models of this package into one deterministic map:

* temperatures and depth to stable ice from :mod:`lupex.subsurface.polar` (thermal
  model of Hayne et al. 2017 run under a synthetic polar forcing and interpolated
  by illumination fraction and slope), or from temperatures the caller supplies;
* ice-table depth and WEH from :func:`lupex.subsurface.ice.ice_fields`;
* background (dry) hydrogen 0.05-0.1 wt% WEH, the solar-wind-implanted level
  outside cold traps (Lunar Prospector: ~50-150 ppm H, Feldman et al. 2001 JGR
  106:23231; 100 ppm H = 0.09 wt% WEH), as a smooth random field;
* FeO+TiO2 around 5.5 +- 0.5 wt% (:mod:`lupex.subsurface.regolith`);
* buried rocks (:func:`lupex.subsurface.ice.buried_rocks`, Golombek & Rapp 1997).

Randomness: one ``numpy.random.SeedSequence(seed)`` spawns an independent
generator per component (ice, composition, hydrogen, rocks), so a change to the
rock parameters does not reshuffle the ice. Same seed and inputs -> byte-identical
arrays. ``to_netcdf`` saves everything (parameters in the attributes) so a
campaign can be scored later.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from lupex.errors import ConfigError, InputError
from lupex.io import write_netcdf
from lupex.params import ASSUMED, check_non_negative, check_pair, check_positive, check_range, param
from lupex.subsurface import ice as ice_mod
from lupex.subsurface import polar, regolith, thermal
from lupex.subsurface.profile import Column, Rock
from lupex.terrain.geo import dem_crs, pixel_size_m

FIELDS = ("ice_table_depth_m", "weh_wt_pct", "dry_weh_wt_pct", "feo_tio2_wt_pct", "stability_depth_m",
          "t_max_surface_k", "t_mean_surface_k")
ROCK_COLUMNS = ("x_m", "y_m", "depth_m", "radius_m")
# fields whose "none" is +inf in memory (ice table, stable depth); saved as NaN, the products' one no-data value
NO_ICE_INF_FIELDS = ("ice_table_depth_m", "stability_depth_m")


def _grid_axes(grid) -> tuple[np.ndarray, np.ndarray, float]:
    if not isinstance(grid, xr.DataArray) or grid.dims[-2:] != ("y", "x"):
        raise InputError("grid must be an xarray.DataArray with dims ('y', 'x') in metres (a DEM)")
    return np.asarray(grid["x"].values, float), np.asarray(grid["y"].values, float), pixel_size_m(grid)


def _cell_map(name: str, v, shape, *, lo=None, hi=None, allow_inf=False) -> np.ndarray:
    a = np.asarray(v.values if isinstance(v, xr.DataArray) else v, float)
    try:
        a = np.broadcast_to(a, shape).astype(float)
    except ValueError:
        raise InputError(f"{name} must be a scalar or have the grid's shape {shape}, got {a.shape}") from None
    if np.any(np.isnan(a)) or (not allow_inf and np.any(np.isinf(a))):
        raise InputError(f"{name} contains NaN or infinite values; fill the holes (e.g. interpolate) first")
    if lo is not None and np.any(a < lo):
        raise InputError(f"{name} must be >= {lo:g}, found {np.nanmin(a):g}")
    if hi is not None and np.any(a > hi):
        raise InputError(f"{name} must be <= {hi:g}, found {np.nanmax(a):g}")
    return a


def stability_depth_from_surface_m(t_max_surface_k, t_mean_surface_k, *, threshold_k: float = 110.0,
                                   props: thermal.RegolithThermalParams = thermal.HAYNE2017) -> np.ndarray:
    """Rough stability depth when only surface T_max and T_mean are known.

    Assumes the peak decays like a single annual wave: ``T_max(z) = T_mean + (T_max_s -
    T_mean) exp(-z/delta)`` with the annual skin depth ``delta`` of the deep regolith
    (k_d, rho_d, c_p at T_mean; 12-lunation period). Ignores the rise of the mean
    temperature with depth, so it is slightly optimistic; prefer a full thermal run.

    Parameters
    ----------
    t_max_surface_k : float or array_like
        Highest surface temperature over the year, K; any shape (e.g. a (ny, nx) map).
    t_mean_surface_k : float or array_like
        Mean surface temperature, K, the same or a broadcastable shape; not above ``t_max_surface_k``.
    threshold_k : float
        Temperature below which ice is taken as stable, K (110 K by default).
    props : RegolithThermalParams
        Regolith thermal properties (default Hayne et al. 2017); the deep conductivity k_d, radiative
        parameter chi, deep density rho_d and heat capacity set the annual skin depth delta.

    Returns
    -------
    np.ndarray
        Depth to stable ice, m, the broadcast shape: 0 where even T_max is below the threshold, +inf where
        T_mean is not, else ``delta ln((T_max - T_mean) / (threshold - T_mean))``.
    """
    tmax = np.asarray(t_max_surface_k, float)
    tmean = np.asarray(t_mean_surface_k, float)
    if np.any(tmean > tmax + 1e-9):
        raise InputError("t_mean_surface_k must not exceed t_max_surface_k")
    k = props.k_d_w_m_k * (1 + props.chi * (tmean / 350.0) ** 3)
    kappa = k / (props.rho_d_kg_m3 * props.heat_capacity_j_kg_k(tmean))
    delta = np.sqrt(kappa * 12 * thermal.SYNODIC_MONTH_S / np.pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = delta * np.log((tmax - tmean) / (threshold_k - tmean))
    return np.where(tmax < threshold_k, 0.0, np.where(tmean < threshold_k, z, np.inf))


@dataclass(frozen=True)
class GroundTruth:
    """Gridded subsurface truth (``dataset``, dims y, x) plus a table of buried rocks."""

    dataset: xr.Dataset
    rocks: pd.DataFrame

    def __getattr__(self, name):
        if name in FIELDS:
            return self.dataset[name]
        raise AttributeError(name)

    @property
    def pixel_m(self) -> float:
        """Return the grid's pixel size (m)."""
        return float(self.dataset.attrs["pixel_m"])

    @property
    def params(self) -> dict:
        """Return the parameters the truth was made with (as saved in ``params_json``)."""
        return json.loads(self.dataset.attrs["params_json"])

    @property
    def crs(self):
        """Return the grid's CRS (a pyproj CRS through rioxarray)."""
        return self.dataset.rio.crs

    # ------------------------------------------------------------------ columns

    def _index(self, x_m: float, y_m: float) -> tuple[int, int]:
        x = self.dataset["x"].values
        y = self.dataset["y"].values
        if not (np.isfinite(x_m) and np.isfinite(y_m)):
            raise InputError("column position must be finite (x_m, y_m in metres)")
        ix = int(np.argmin(np.abs(x - x_m)))
        iy = int(np.argmin(np.abs(y - y_m)))
        h = self.pixel_m / 2 * (1 + 1e-9)
        if abs(x[ix] - x_m) > h or abs(y[iy] - y_m) > h:
            raise InputError(f"point ({x_m:.1f}, {y_m:.1f}) m is outside the ground-truth grid "
                             f"x {x.min():.1f}..{x.max():.1f}, y {y.min():.1f}..{y.max():.1f}")
        return iy, ix

    def column(self, x_m: float, y_m: float, *, depth_m: float = 2.0, dz_m: float = 0.01,
               rock_search_m: float = 1.0, heading_deg: float | None = None) -> Column:
        """Ground truth at a point: Carrier density (+ pore ice), WEH, temperature, rocks.

        Values are those of the grid cell holding the point. Rocks whose centres lie
        within ``rock_search_m`` horizontally become :class:`Rock` s: with ``heading_deg``
        (grid azimuth of travel) the offset is split into ``along_track_m`` and a signed
        cross-track ``offset_m`` (positive to the right); without it ``offset_m`` is the
        horizontal distance. The temperature is the time-mean profile, approximated as
        T_mean,surface + Q_b z / k_d (the diurnal and annual waves average out; the
        rise of the mean with depth from the T^3 conductivity is neglected).

        Parameters
        ----------
        x_m, y_m : float
            The point, m, in the grid's CRS; inside the grid.
        depth_m : float
            Depth of the column, m (> 0).
        dz_m : float
            Layer thickness, m, in (0, ``depth_m``]; layer centres at ``dz_m / 2, 3 dz_m / 2, ...``.
        rock_search_m : float
            Horizontal radius within which rock centres count, m.
        heading_deg : float, optional
            Grid azimuth of travel, deg, clockwise from grid +y; None: rocks get the plain horizontal distance.

        Returns
        -------
        Column
            Per layer (n = depth / dz): centre depth (m), bulk density with pore ice (kg/m^3, the density model
            of the truth, Carrier/Hayne), WEH (wt%, the cell's wet value below the ice table and dry above, capped
            at the pores' capacity) and mean temperature (K); the cell's FeO+TiO2 (wt%), ice-table depth (m, inf
            when below the column) and the rocks nearest first.
        """
        if not (np.isfinite(depth_m) and depth_m > 0):
            raise InputError(f"column depth_m must be > 0 m, got {depth_m}")
        if not (np.isfinite(dz_m) and 0 < dz_m <= depth_m):
            raise InputError(f"dz_m must be > 0 and <= depth_m, got {dz_m}")
        iy, ix = self._index(x_m, y_m)
        ds = self.dataset
        z = np.arange(dz_m / 2, depth_m, dz_m)
        table = float(ds["ice_table_depth_m"].values[iy, ix])
        weh_wet = float(ds["weh_wt_pct"].values[iy, ix])
        weh_dry = float(ds["dry_weh_wt_pct"].values[iy, ix])
        rho_dry = regolith.density_kg_m3(z, ds.attrs["density_model"])
        # pore ice cannot exceed the pores: where the field's WEH (up to 20 wt%) is more than the compacted
        # regolith's pores hold at that depth, the column holds what fits (excess ice is not modelled)
        w = np.minimum(np.where(z >= table, weh_wet, weh_dry), 0.999 * regolith.pore_ice_capacity_wt_pct(rho_dry))
        rho = regolith.bulk_density_with_ice_kg_m3(rho_dry, w)
        props = thermal.HAYNE2017
        temp = float(ds["t_mean_surface_k"].values[iy, ix]) + props.heat_flux_w_m2 * z / props.k_d_w_m_k
        rocks = []
        if len(self.rocks):
            dx = self.rocks["x_m"].to_numpy() - x_m
            dy = self.rocks["y_m"].to_numpy() - y_m
            dist = np.hypot(dx, dy)
            sel = np.flatnonzero((dist <= rock_search_m) & (self.rocks["depth_m"].to_numpy() - self.rocks["radius_m"].to_numpy() < depth_m))
            for k in sel[np.argsort(dist[sel], kind="stable")]:
                d, r = float(self.rocks["depth_m"].iat[k]), float(self.rocks["radius_m"].iat[k])
                if heading_deg is None:
                    rocks.append(Rock(d, r, float(dist[k]), 0.0))
                else:
                    a = np.radians(heading_deg)
                    along = dx[k] * np.sin(a) + dy[k] * np.cos(a)
                    cross = dx[k] * np.cos(a) - dy[k] * np.sin(a)
                    rocks.append(Rock(d, r, float(cross), float(along)))
        return Column(z, rho, w, temp, float(ds["feo_tio2_wt_pct"].values[iy, ix]),
                      table if table < depth_m else float("inf"), tuple(rocks))

    # ------------------------------------------------------------------ scoring

    def water_mass_kg(self, depth_max_m: float = 1.5, *, include_dry: bool = False) -> xr.DataArray:
        """Water (WEH) mass per cell between the surface and ``depth_max_m`` (kg).

        Water per bulk mass w in pore ice: water mass per volume = w rho_dry / (1 - w),
        integrated with the closed-form dry areal mass of the density model. The
        default 1.5 m is the LUPEX drill depth.
        """
        if not (np.isfinite(depth_max_m) and depth_max_m > 0):
            raise InputError(f"depth_max_m must be > 0 m, got {depth_max_m}")
        ds = self.dataset
        model = ds.attrs["density_model"]
        top = np.minimum(ds["ice_table_depth_m"].values, depth_max_m)
        m_top = regolith.areal_mass_kg_m2(top, model)
        m_bot = regolith.areal_mass_kg_m2(np.float64(depth_max_m), model)
        w = ds["weh_wt_pct"].values / 100.0
        kg_m2 = (m_bot - m_top) * w / (1 - w)
        if include_dry:
            wd = ds["dry_weh_wt_pct"].values / 100.0
            kg_m2 = kg_m2 + m_top * wd / (1 - wd)
        return xr.DataArray(kg_m2 * self.pixel_m**2, coords={"y": ds["y"], "x": ds["x"]}, dims=("y", "x"),
                            name="water_mass_kg", attrs={"depth_max_m": depth_max_m})

    def total_ice_mass_kg(self, depth_max_m: float = 1.5, mask=None) -> float:
        """Total ice (WEH below the ice table) in the top ``depth_max_m`` of the cells in ``mask``."""
        m = self.water_mass_kg(depth_max_m).values
        if mask is not None:
            mk = np.asarray(mask.values if isinstance(mask, xr.DataArray) else mask, bool)
            if mk.shape != m.shape:
                raise InputError(f"mask must have the grid's shape {m.shape}")
            m = np.where(mk, m, 0.0)
        return float(m.sum())

    # ------------------------------------------------------------------ I/O

    def to_netcdf(self, path) -> None:
        """Write the truth (fields, rocks, parameters, CRS) atomically as NetCDF4."""
        ds = self.dataset.copy()
        for name in NO_ICE_INF_FIELDS:      # in memory "no ice" is +inf; in every product it is NaN
            ds[name] = ds[name].where(np.isfinite(ds[name]))
            ds[name].attrs["comment"] = "NaN: no ice (or no stable depth) within the model's depth"
        for c in ROCK_COLUMNS:
            ds[f"rock_{c}"] = ("rock", self.rocks[c].to_numpy(float), {"units": "m"})
        write_netcdf(path, ds)

    @classmethod
    def from_netcdf(cls, path) -> GroundTruth:
        """Return the truth saved by :meth:`to_netcdf` at ``path``; InputError when it is not one."""
        try:
            with xr.open_dataset(path, engine="h5netcdf", decode_coords="all") as f:
                ds = f.load()
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read a ground truth from {path}: {exc}") from exc
        missing = [v for v in FIELDS + tuple(f"rock_{c}" for c in ROCK_COLUMNS) if v not in ds]
        if missing or "params_json" not in ds.attrs:
            raise InputError(f"{path} is not a lupex ground truth (missing {missing or 'params_json'})")
        rocks = pd.DataFrame({c: ds[f"rock_{c}"].values for c in ROCK_COLUMNS})
        ds = ds.drop_vars([f"rock_{c}" for c in ROCK_COLUMNS])
        for name in NO_ICE_INF_FIELDS:
            ds[name] = ds[name].fillna(np.inf)
            ds[name].attrs.pop("comment", None)
        return cls(ds, rocks)


_REFS = "docs/REFERENCES.md#"


@dataclass(frozen=True)
class SubsurfaceParams:
    """Parameters of the subsurface ground truth (the ``[subsurface]`` config table).

    The ice statistics are calibration choices (see :mod:`lupex.subsurface.ice`:
    LCROSS-like 95th percentile, orbital-neutron-like area mean), not measured
    rover-scale values; the rocks follow Golombek & Rapp 1997.
    """

    seed: int = param(1, "-", "seed of the subsurface ground truth (ice, rocks, composition)",
                      f"{ASSUMED}: any seed; the same seed and inputs give the same truth")
    corr_length_m: float = param(10.0, "m", "correlation length of the ice concentration and ice-table depth fields",
                                 f"{ASSUMED}: metre-scale patches, below orbital resolution (not yet measured)")
    ice_free_frac: float = param(0.3, "fraction 0-1", "fraction of the cold-trapped area that holds no ice",
                                 f"{ASSUMED}: with it the area-mean WEH is near the orbital 0.5-1.5 wt% "
                                 f"({_REFS}sanin2017)")
    weh_median_wt_pct: float = param(1.5, "wt% WEH", "median water-equivalent hydrogen below the ice table where ice "
                                     "is present", f"calibration: 95th percentile LCROSS-like ({_REFS}colaprete2010)")
    overburden_median_m: float = param(0.25, "m", "median thickness of dry regolith over the ice table where ice is "
                                       "stable at the surface", f"impact gardening ({_REFS}hurley2012)")
    stability_threshold_k: float = param(110.0, "K", "ice is stable where the maximum temperature stays below this "
                                         "(Paige et al. 2010)", f"{_REFS}paige2010")
    rock_abundance: float = param(0.005, "fraction", "buried rock abundance (Golombek & Rapp 1997 cumulative "
                                  "fractional area)", f"Diviner surface rock abundance ({_REFS}bandfield2011)")
    nu: float = param(0.5, "-", "Matern smoothness of the random fields (0.5 = exponential covariance)",
                      f"{ASSUMED}: exponential covariance, the roughest Matern ({_REFS}dietrich1997)")
    weh_sigma_ln: float = param(0.75, "-", "log-normal spread of the WEH below the ice table",
                                f"calibration against LCROSS ({_REFS}colaprete2010)")
    weh_max_wt_pct: float = param(20.0, "wt% WEH", "cap of the WEH (also capped by what the pores hold)",
                                  f"{ASSUMED}: pore ice only, no excess ice")
    overburden_sigma_ln: float = param(0.5, "-", "log-normal spread of the dry overburden (5-95 %: 0.11-0.57 m)",
                                       f"impact gardening ({_REFS}hurley2012)")
    max_ice_depth_m: float = param(3.0, "m", "no ice deeper than this", f"{ASSUMED}: twice the drill's reach")
    dry_weh_range_wt_pct: tuple[float, float] = param((0.05, 0.1), "wt% WEH", "range of the background (dry) "
                                                      "hydrogen outside ice", f"Lunar Prospector ({_REFS}feldman2001)")
    feo_tio2_mean_wt_pct: float = param(regolith.FEO_TIO2_POLAR_HIGHLANDS_WT_PCT, "wt%", "mean FeO+TiO2",
                                        f"polar highlands ({_REFS}lawrence2002, {_REFS}prettyman2006)")
    feo_tio2_sd_wt_pct: float = param(regolith.FEO_TIO2_POLAR_HIGHLANDS_SD_WT_PCT, "wt%", "spread of FeO+TiO2",
                                      f"{ASSUMED}: our reading of the polar maps ({_REFS}prettyman2006)")
    feo_corr_length_m: float = param(200.0, "m", "correlation length of the FeO+TiO2 field",
                                     f"{ASSUMED}: smooth at the rover's scale")
    rock_d_min_m: float = param(0.2, "m", "smallest buried rock diameter", f"{ASSUMED}: what a GPR or drill notices")
    rock_d_max_m: float = param(2.0, "m", "largest buried rock diameter", f"{ASSUMED}: boulders are rare")
    rock_depth_max_m: float = param(2.0, "m", "depth of the buried rock layer", f"{ASSUMED}: below the drill's reach")
    stability_criterion: str = param("temperature", "-", "temperature (T_max below stability_threshold_k) or "
                                     "sublimation (< 1 mm/Gyr)", f"{_REFS}paige2010, {_REFS}siegler2016")
    density_model: str = param(regolith.DEFAULT_DENSITY_MODEL, "-", "regolith density profile: carrier or hayne",
                               f"Lunar Sourcebook ({_REFS}carrier1991)")

    def __post_init__(self):
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
        if self.stability_criterion not in ("temperature", "sublimation"):
            raise ConfigError(f"stability_criterion must be 'temperature' or 'sublimation', "
                              f"got {self.stability_criterion!r}")
        if self.density_model not in regolith.DENSITY_MODELS:
            raise ConfigError(f"density_model must be one of {regolith.DENSITY_MODELS}, got {self.density_model!r}")
        check_positive(self, "corr_length_m", "stability_threshold_k")
        check_range(self, "ice_free_frac", 0.0, 1.0)
        check_range(self, "weh_median_wt_pct", 0.0, 100.0, lo_open=True, hi_open=True)
        check_non_negative(self, "overburden_median_m", "feo_tio2_sd_wt_pct")
        check_range(self, "rock_abundance", 0.0, 1.0, hi_open=True)
        check_pair(self, "dry_weh_range_wt_pct")
        lo, hi = self.dry_weh_range_wt_pct
        for name, v in (("dry_weh_range_wt_pct", lo), ("dry_weh_range_wt_pct", hi),
                        ("feo_tio2_mean_wt_pct", self.feo_tio2_mean_wt_pct)):
            if not (np.isfinite(v) and 0 <= v <= 100):
                raise ConfigError(f"{name} must be between 0 and 100 wt%, got {v}")
        if hi < lo:
            raise ConfigError("dry_weh_range_wt_pct must be (low, high) with low <= high")

    @property
    def ice_free_fraction(self) -> float:
        """Return ``ice_free_frac`` (fraction 0-1), under its name before one spelling per unit."""
        return self.ice_free_frac


_LEGACY_NAMES = {"ice_free_fraction": "ice_free_frac", "threshold_k": "stability_threshold_k"}
"""Old keyword names of :func:`make_ground_truth` (before it took :class:`SubsurfaceParams`) -> field names."""


def _surface_temperatures(shape, *, illumination_pct, slope_deg, t_max_surface_k, t_mean_surface_k,
                          stability_depth_m, threshold_k, stability_criterion):
    """Per-cell T_max (K), T_mean (K), depth to stable ice (m) and where they came from (see make_ground_truth)."""
    if t_max_surface_k is not None or t_mean_surface_k is not None or stability_depth_m is not None:
        if t_max_surface_k is None or t_mean_surface_k is None:
            raise ConfigError("give both t_max_surface_k and t_mean_surface_k (and optionally stability_depth_m)")
        tmax = _cell_map("t_max_surface_k", t_max_surface_k, shape, lo=1e-9)
        tmean = _cell_map("t_mean_surface_k", t_mean_surface_k, shape, lo=1e-9)
        if stability_depth_m is not None:
            stab = _cell_map("stability_depth_m", stability_depth_m, shape, lo=0.0, allow_inf=True)
        else:
            stab = stability_depth_from_surface_m(tmax, tmean, threshold_k=threshold_k)
        return tmax, tmean, stab, "given temperatures"
    if illumination_pct is not None:
        f = _cell_map("illumination_pct", illumination_pct, shape, lo=0.0, hi=100.0) / 100.0
        if slope_deg is None:
            table = polar.polar_table(threshold_k=threshold_k)
            s = None
        else:
            s = _cell_map("slope_deg", slope_deg, shape, lo=0.0, hi=89.0)
            table = polar.polar_table(slope_levels=(0.0, 10.0, 20.0, 30.0), threshold_k=threshold_k)
        tmax = polar.interpolate_table(table, "t_max_surface_k", f, s)
        tmean = polar.interpolate_table(table, "t_mean_surface_k", f, s)
        name = "stability_depth_m" if stability_criterion == "temperature" else "stability_depth_sublimation_m"
        stab = polar.interpolate_table(table, name, f, s)
        return tmax, tmean, stab, "illumination table (lupex.subsurface.polar)"
    raise ConfigError("make_ground_truth needs illumination_pct (per-cell %, from the light core) "
                      "or t_max_surface_k and t_mean_surface_k")


def _pore_ice_limits(weh_max_wt_pct: float, weh_median_wt_pct: float, max_ice_depth_m: float,
                     density_model: str) -> tuple[float, float]:
    """WEH cap and median (wt%) within what pore ice can hold at ``max_ice_depth_m``."""
    # pore ice fills at most the pores of the densest (deepest) regolith the ice can sit in: a larger
    # WEH would need excess ice, which the pore-ice columns (and the GPR mixing rule) do not model
    # (out-of-range settings go through unchanged, for ice_fields to refuse them by name)
    weh_cap, weh_med = weh_max_wt_pct, weh_median_wt_pct
    if 0 < weh_max_wt_pct <= 100 and 0 < weh_median_wt_pct <= weh_max_wt_pct and max_ice_depth_m > 0:
        weh_cap = min(weh_max_wt_pct, 0.999 * float(regolith.pore_ice_capacity_wt_pct(
            regolith.density_kg_m3(np.float64(max_ice_depth_m), density_model))))
        weh_med = min(weh_median_wt_pct, weh_cap)
    return weh_cap, weh_med


def _truth_dataset(grid, x, y, px: float, data: dict, params: dict, density_model: str) -> xr.Dataset:
    """The ground truth's maps as a Dataset on ``grid``'s axes and CRS, with units and the parameters."""
    coords = {"y": ("y", y), "x": ("x", x)}
    units = dict(ice_table_depth_m="m", weh_wt_pct="wt% WEH", dry_weh_wt_pct="wt% WEH", feo_tio2_wt_pct="wt%",
                 stability_depth_m="m", t_max_surface_k="K", t_mean_surface_k="K")
    ds = xr.Dataset({k: (("y", "x"), np.ascontiguousarray(v, dtype=np.float64), {"units": units[k]})
                     for k, v in data.items()}, coords=coords,
                    attrs={"pixel_m": px, "density_model": density_model, "params_json": json.dumps(params),
                           "title": "lupex subsurface ground truth"})
    return ds.rio.write_crs(dem_crs(grid).to_wkt())


def make_ground_truth(grid: xr.DataArray, params: SubsurfaceParams | None = None, *, seed: int | None = None,
                      illumination_pct=None, slope_deg=None, t_max_surface_k=None, t_mean_surface_k=None,
                      stability_depth_m=None, **overrides) -> GroundTruth:
    """Return a deterministic ground truth on ``grid`` (a DEM DataArray, dims y, x, metres).

    Parameters
    ----------
    grid : xarray.DataArray
        The DEM (dims y, x; metres) whose axes and CRS the truth takes.
    params : SubsurfaceParams, optional
        Every setting of the truth (default: ``SubsurfaceParams()``).
    seed : int, optional
        Replaces ``params.seed`` (a campaign draws one truth per seed).
    illumination_pct, slope_deg : array_like, optional
        Per cell: illumination 0-100 % (from the light core) and slope in degrees
        (default 10 deg), read through the thermal table of :mod:`lupex.subsurface.polar`.
    t_max_surface_k, t_mean_surface_k, stability_depth_m : array_like, optional
        Per cell temperatures (K) and depth to stable ice (m) from a full thermal run.
    **overrides
        Fields of :class:`SubsurfaceParams` to replace (the old keywords ``ice_free_fraction``
        and ``threshold_k`` name ``ice_free_frac`` and ``stability_threshold_k``).

    Returns
    -------
    GroundTruth
        The maps and the buried rocks.

    Notes
    -----
    Temperatures, in order of precedence: ``stability_depth_m`` + ``t_max_surface_k`` +
    ``t_mean_surface_k`` given per cell (from a full thermal run); ``t_max_surface_k`` +
    ``t_mean_surface_k`` (stability depth by :func:`stability_depth_from_surface_m`);
    otherwise ``illumination_pct`` through the thermal calibration table.
    ``stability_criterion`` 'temperature' (T_max < ``stability_threshold_k``, Paige 2010)
    or 'sublimation' (< 1 mm/Gyr, Siegler 2016) applies to the table route.
    """
    p = params if params is not None else SubsurfaceParams()
    if seed is not None:
        overrides["seed"] = seed
    if overrides:
        p = dataclasses.replace(p, **{_LEGACY_NAMES.get(k, k): v for k, v in overrides.items()})
    lo, hi = p.dry_weh_range_wt_pct
    x, y, px = _grid_axes(grid)
    shape = (y.size, x.size)
    tmax, tmean, stab, source = _surface_temperatures(
        shape, illumination_pct=illumination_pct, slope_deg=slope_deg, t_max_surface_k=t_max_surface_k,
        t_mean_surface_k=t_mean_surface_k, stability_depth_m=stability_depth_m, threshold_k=p.stability_threshold_k,
        stability_criterion=p.stability_criterion)

    ss = np.random.SeedSequence(int(p.seed))
    g_ice, g_feo, g_dry, g_rock = (np.random.default_rng(s_) for s_ in ss.spawn(4))
    weh_cap, weh_med = _pore_ice_limits(p.weh_max_wt_pct, p.weh_median_wt_pct, p.max_ice_depth_m, p.density_model)
    table_depth, weh = ice_mod.ice_fields(
        stab, px, g_ice, corr_length_m=p.corr_length_m, ice_free_frac=p.ice_free_frac,
        weh_median_wt_pct=weh_med, weh_sigma_ln=p.weh_sigma_ln, weh_max_wt_pct=weh_cap,
        overburden_median_m=p.overburden_median_m, overburden_sigma_ln=p.overburden_sigma_ln,
        max_ice_depth_m=p.max_ice_depth_m, nu=p.nu)
    feo = np.clip(p.feo_tio2_mean_wt_pct + p.feo_tio2_sd_wt_pct *
                  ice_mod.gaussian_random_fields(shape, px, p.feo_corr_length_m, g_feo, nu=p.nu)[0], 0.0, 100.0)
    dry = lo + (hi - lo) * special.ndtr(ice_mod.gaussian_random_fields(shape, px, p.corr_length_m, g_dry, nu=p.nu)[0])
    half = px / 2
    rocks = ice_mod.buried_rocks((x.min() - half, x.max() + half), (y.min() - half, y.max() + half), g_rock,
                                 rock_abundance=p.rock_abundance, d_min_m=p.rock_d_min_m, d_max_m=p.rock_d_max_m,
                                 depth_max_m=p.rock_depth_max_m)

    # the saved parameters keep their first names and order (ground_truth.nc is a data product)
    params = dict(seed=int(p.seed), corr_length_m=p.corr_length_m, nu=p.nu, ice_free_fraction=p.ice_free_frac,
                  weh_median_wt_pct=p.weh_median_wt_pct, weh_sigma_ln=p.weh_sigma_ln,
                  weh_max_wt_pct=p.weh_max_wt_pct, overburden_median_m=p.overburden_median_m,
                  overburden_sigma_ln=p.overburden_sigma_ln, max_ice_depth_m=p.max_ice_depth_m,
                  dry_weh_range_wt_pct=[lo, hi], feo_tio2_mean_wt_pct=p.feo_tio2_mean_wt_pct,
                  feo_tio2_sd_wt_pct=p.feo_tio2_sd_wt_pct, feo_corr_length_m=p.feo_corr_length_m,
                  rock_abundance=p.rock_abundance, rock_d_min_m=p.rock_d_min_m, rock_d_max_m=p.rock_d_max_m,
                  rock_depth_max_m=p.rock_depth_max_m, threshold_k=p.stability_threshold_k,
                  stability_criterion=p.stability_criterion, density_model=p.density_model,
                  temperature_source=source)
    data = dict(ice_table_depth_m=table_depth, weh_wt_pct=weh, dry_weh_wt_pct=dry, feo_tio2_wt_pct=feo,
                stability_depth_m=stab, t_max_surface_k=tmax, t_mean_surface_k=tmean)
    return GroundTruth(_truth_dataset(grid, x, y, px, data, params, p.density_model), rocks)
