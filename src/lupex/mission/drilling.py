"""Drilling campaign: drill at chosen spots of the ground truth and run the whole sample chain.

At each site the ground-truth column (:meth:`lupex.subsurface.ground_truth.GroundTruth.column`,
rocks within reach included) is drilled in bites of ``bite_m`` down to ``depth_m``
(:func:`lupex.instruments.drill.drill_profile`: volatile loss while drilling and
handling, rocks that stop the drill). Each delivered sample goes through the REIWA
instruments and the ISRO package as the cross-check of :mod:`lupex.instruments`
prescribes:

* TRITON (:mod:`lupex.instruments.triton`): water wt% of its aliquot and the water
  share of the released gas;
* LTGA (:mod:`lupex.instruments.ltga`): the ice step of the mass-loss curve, turned into
  water with TRITON's water share (the ice also holds the LCROSS volatiles);
* ADORE (:mod:`lupex.instruments.adore`): water vapour by cavity ring-down;
* ISAP (:mod:`lupex.instruments.isap`): Raman modes -> oxides of the regolith and ice.

The table (``drilling.parquet``) has one row per site and interval with the true
water in situ (in the ground, what the drill bit met), delivered (after the losses:
what the instruments should see) and each instrument's value with its 1-sigma error.

:func:`lupex.mission.campaign.plans.choose_drill_sites` picks the sites (a :class:`DrillChoice`)
from what the first traverse measured, never from the truth: the survey's NS WEH and GPR / NS
ice-table retrievals fused into maps as the campaign fuses them, and the campaign's drilling rule,
on the cells the rover drove over (:func:`footprint_cells`).

Randomness: one ``numpy.random.SeedSequence(seed)`` spawns one generator per site, so
adding a site does not reshuffle the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from lupex.errors import InputError
from lupex.instruments import adore, isap, ltga, triton
from lupex.instruments.drill import MAX_DEPTH_M, DrillParams, drill_profile
from lupex.io import write_bytes, write_dataframe
from lupex.mission.traverse import Grid, check_on_grid

log = logging.getLogger("lupex.drilling")


@dataclass(frozen=True)
class IntervalRecords:
    """The raw instrument records of one interval, kept for the report's curves and spectra."""

    site: int
    top_m: float
    bottom_m: float
    ltga: object
    ltga_result: object
    triton: object
    triton_result: object
    adore: object
    adore_result: object


@dataclass(frozen=True)
class DrillingResult:
    """What the drilling measured: one row per site and interval, the sites, example records and figures."""

    table: pd.DataFrame                   # one row per site and depth interval
    sites: pd.DataFrame                   # one row per site: position, reached depth, stopped by rock
    examples: tuple[IntervalRecords, ...] = ()
    figures: dict = field(default_factory=dict)   # name -> PNG bytes; empty here, report.drilling draws them
    outdir: Path | None = None
    rule: str = ""                        # how the sites were chosen (from a DrillChoice), for the report
    choice: pd.DataFrame | None = None    # per site: what the maps said when it was chosen (DrillChoice.table)

    def agreement(self, k: float = 2.0) -> pd.DataFrame:
        """Per instrument, agreement with the delivered water (:func:`agreement` of the table).

        What the report prints, so ``report.drilling`` needs nothing from this module.
        """
        return agreement(self.table, k=k)


def check_depths(depth_m, bite_m) -> None:
    """Raise :class:`~lupex.errors.InputError` unless 0 < ``bite_m`` <= ``depth_m`` <= the drill's reach (m)."""
    for name, v in (("depth_m", depth_m), ("bite_m", bite_m)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise InputError(f"drill {name} must be a number of metres, got {v!r}")
    if not 0 < depth_m <= MAX_DEPTH_M:
        raise InputError(f"drill depth {depth_m:g} m is outside (0, {MAX_DEPTH_M:g}] m: the LUPEX drill reaches "
                         f"{MAX_DEPTH_M:g} m; give --depth between 0 and {MAX_DEPTH_M:g}")
    if not 0 < bite_m <= depth_m:
        raise InputError(f"drill bite {bite_m:g} m must be > 0 and no deeper than the hole ({depth_m:g} m)")


def _sites_array(sites_xy) -> np.ndarray:
    a = np.asarray(sites_xy, float)
    if a.ndim == 1 and a.size == 2:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] == 0:
        raise InputError("drill sites must be an (n, 2) array of (x, y) positions in metres")
    if not np.all(np.isfinite(a)):
        raise InputError("drill site positions contain NaN or infinite values")
    return a


@dataclass(frozen=True)
class _Analysers:
    """The parameters of the four sample instruments of a drilling run."""

    triton: object
    ltga: object
    adore: object
    isap: object


def _analyse_interval(k: int, x: float, y: float, s, rec, col, rng, an: _Analysers):
    """One drilled interval through TRITON, LTGA, ADORE and ISAP: its table row and its records."""
    tr_rec = triton.measure(s, rng, an.triton)
    tr = triton.analyse(tr_rec)
    lt_rec = ltga.measure(s, rng, an.ltga)
    lt = ltga.analyse(lt_rec, water_mass_fraction=tr.water_mass_fraction,
                      water_mass_fraction_sigma=tr.water_mass_fraction_sigma)
    ad_rec = adore.measure(s, rng, an.adore)
    ad = adore.analyse(ad_rec)
    isr = isap.analyse(isap.measure(s, rng, an.isap), an.isap)
    z = np.asarray(col.z_m)
    in_cell = (z >= s.top_m) & (z < s.bottom_m)
    row = dict(site=k, x_m=float(x), y_m=float(y), top_m=s.top_m, bottom_m=s.bottom_m,
               true_column_weh_wt_pct=float(np.mean(np.asarray(col.weh_wt_pct)[in_cell])),
               true_in_situ_water_wt_pct=s.truth.in_situ_water_wt_pct,
               true_delivered_water_wt_pct=s.water_wt_pct, loss_fraction=s.truth.loss_fraction,
               sample_mass_kg=s.mass_kg, drill_time_s=rec.drill_time_s, energy_j=rec.energy_j,
               cuttings_temperature_k=rec.cuttings_temperature_k, stopped_by_rock=rec.stopped_by_rock,
               ltga_water_wt_pct=lt.water_wt_pct, ltga_sigma_wt_pct=lt.sigma_wt_pct,
               triton_water_wt_pct=tr.water_wt_pct, triton_sigma_wt_pct=tr.sigma_wt_pct,
               adore_water_wt_pct=ad.water_wt_pct, adore_sigma_wt_pct=ad.sigma_wt_pct,
               isap_ice_wt_pct=isr.ice_wt_pct, isap_ice_sigma_wt_pct=isr.ice_sigma_wt_pct)
    for ox, v in isr.oxides_wt_pct.items():
        row[f"isap_{ox}_wt_pct"] = float(v)
        row[f"isap_{ox}_sigma_wt_pct"] = float(isr.oxides_sigma_wt_pct[ox])
        row[f"true_{ox}_wt_pct"] = float(s.oxides_wt_pct.get(ox, np.nan))
    return row, IntervalRecords(k, s.top_m, s.bottom_m, lt_rec, lt, tr_rec, tr, ad_rec, ad)


def _drill_site(k: int, x: float, y: float, rng, truth, depth_m: float, bite_m: float, dp, an: _Analysers):
    """Drill one site and analyse its intervals: (site row, interval rows, interval records)."""
    col = truth.column(float(x), float(y), depth_m=max(2.0, depth_m + 0.1), dz_m=0.01, rock_search_m=1.2)
    prof = drill_profile(col, bite_m=float(bite_m), rng=rng, params=dp)
    reached = max((r.reached_m for _, r in prof), default=0.0)
    stopped = bool(prof and prof[-1][1].stopped_by_rock) or (not prof)
    site_row = dict(site=k, x_m=float(x), y_m=float(y), ice_table_depth_m=col.ice_table_depth_m,
                    reached_m=reached, stopped_by_rock=stopped, n_intervals=len(prof))
    rows, records = [], []
    for s, rec in prof:
        row, record = _analyse_interval(k, x, y, s, rec, col, rng, an)
        rows.append(row)
        records.append(record)
    return site_row, rows, records


def _drill_params(drill_params, depth_m: float):
    """The drill's parameters with ``max_depth_m`` set to the depth drilled to."""
    dp = drill_params or DrillParams(max_depth_m=float(depth_m))
    if drill_params is not None and dp.max_depth_m != depth_m:
        dp = replace(dp, max_depth_m=float(depth_m))
    return dp


def run_drilling(truth, dem, sites_xy, outdir=None, *, seed: int, bite_m: float = 0.1, depth_m: float | None = None,
                 drill_params=None, triton_params=None, ltga_params=None, adore_params=None, isap_params=None,
                 n_examples: int = 2, write: bool = True) -> DrillingResult:
    """The drilling of every site of ``sites_xy``, each interval analysed by TRITON, LTGA, ADORE and ISAP.

    Writes ``drilling.parquet`` and ``drilling_sites.csv`` into ``outdir``, each atomically, unless
    ``write`` is False; the example figures (``drilling_*.png``) are the report's
    (:func:`lupex.report.drilling.with_example_figures`).

    Parameters
    ----------
    truth : lupex.subsurface.ground_truth.GroundTruth
        The ground truth drilled: each site's column (:meth:`~lupex.subsurface.ground_truth.GroundTruth.column`,
        1 cm layers, rocks within 1.2 m) is what the drill meets. Every site must lie on its grid.
    dem : xarray.DataArray or None
        The site's DEM (x, y in m); used only to check that every site lies on it. None skips that check.
    sites_xy : array_like or DrillChoice
        Site positions (x, y), m, in the truth's CRS: shape (n, 2) (or (2,) for one site), drilled in this
        order; or a :class:`DrillChoice`, whose ``rule`` and ``table`` the result keeps.
    outdir : path-like, optional
        Folder the products are written to; needed when ``write`` is True.
    seed : int
        Non-negative seed; ``numpy.random.SeedSequence(seed).spawn(n)`` gives one generator per site.
    bite_m : float, optional
        Length of each drilled interval (one sample), m; 0 < ``bite_m`` <= ``depth_m``. Default 0.1 m.
    depth_m : float, optional
        Depth to drill to, m, at most the drill's reach (:data:`lupex.instruments.drill.MAX_DEPTH_M`, 1.5 m).
        None takes ``drill_params.max_depth_m`` (the config's ``drill.max_depth_m``), or that reach
        without ``drill_params``.
    drill_params : lupex.instruments.drill.DrillParams, optional
        The drill (losses, rock stops); its ``max_depth_m`` is set to ``depth_m``. Default: the model's.
    triton_params, ltga_params, adore_params, isap_params : optional
        :class:`~lupex.instruments.triton.TritonParams`, :class:`~lupex.instruments.ltga.LTGAParams`,
        :class:`~lupex.instruments.adore.AdoreParams`, :class:`~lupex.instruments.isap.IsapParams`;
        default: each model's defaults.
    n_examples : int, optional
        How many intervals keep their raw records for the report's curves (the wettest delivered one,
        then the shallowest; at most 2 are picked). Default 2; 0 keeps none.
    write : bool, optional
        Write the products into ``outdir`` (default True).

    Returns
    -------
    DrillingResult
        ``table``: one row per site and interval (true in-situ and delivered water, wt%; each instrument's
        value and 1-sigma, wt%; sample mass, kg; drill time, s; energy, J); ``sites``: one row per site
        (position, m; ice-table depth and depth reached, m; stopped by rock); the example records; and
        the choice's rule and table when ``sites_xy`` is a :class:`DrillChoice`.

    Raises
    ------
    lupex.errors.InputError
        On a bad depth, bite or seed, a site off the grid, or ``write`` without ``outdir``.
    """
    if depth_m is None:
        depth_m = drill_params.max_depth_m if drill_params is not None else MAX_DEPTH_M
    check_depths(depth_m, bite_m)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    choice = sites_xy if isinstance(sites_xy, DrillChoice) else None
    xy = _sites_array(choice.sites_xy if choice is not None else sites_xy)
    check_on_grid(xy, Grid.of(truth.dataset), "drill site")
    if dem is not None:
        check_on_grid(xy, Grid.of(dem), "drill site")
    dp = _drill_params(drill_params, depth_m)
    an = _Analysers(triton=triton_params or triton.TritonParams(), ltga=ltga_params or ltga.LTGAParams(),
                    adore=adore_params or adore.AdoreParams(), isap=isap_params or isap.IsapParams())
    gens = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(len(xy))]
    rows, site_rows, records = [], [], []
    for k, ((x, y), rng) in enumerate(zip(xy, gens)):
        site_row, site_intervals, site_records = _drill_site(k, x, y, rng, truth, depth_m, bite_m, dp, an)
        site_rows.append(site_row)
        rows.extend(site_intervals)
        records.extend(site_records)
    table = pd.DataFrame(rows)
    sites = pd.DataFrame(site_rows)
    examples = _pick_examples(table, records, n_examples)
    figures = {}  # drawn from the examples by lupex.report.drilling.with_example_figures: the report draws
    result = DrillingResult(table, sites, examples, figures, Path(outdir) if outdir is not None else None,
                            rule=choice.rule if choice is not None else "",
                            choice=choice.table if choice is not None else None)
    if write:
        if outdir is None:
            raise InputError("give outdir to write the drilling products, or write=False")
        write_drilling(result, outdir)
    log.info("drilled %d sites: %d intervals", len(xy), len(table))
    return result


def _pick_examples(table, records, n):
    """The wettest delivered interval and the shallowest one (different intervals when possible)."""
    if not len(table) or n <= 0:
        return ()
    order = [int(np.argmax(table["true_delivered_water_wt_pct"].to_numpy()))]
    if n > 1:
        first = int(np.argmin(table["top_m"].to_numpy() + 10 * table["site"].to_numpy()))
        if first != order[0]:
            order.append(first)
    return tuple(records[i] for i in order[:n])


def write_drilling(result: DrillingResult, outdir) -> list[Path]:
    """Write the drilling table, sites, choice and figures into ``outdir`` (each file atomically); returns the paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_dataframe(out / "drilling.parquet", result.table),
             write_dataframe(out / "drilling_sites.csv", result.sites)]
    if result.choice is not None:
        paths.append(write_dataframe(out / "drilling_choice.csv", result.choice))
    for name, png in result.figures.items():
        paths.append(write_bytes(out / f"drilling_{name}.png", png))
    return paths


def agreement(table: pd.DataFrame, reference: str = "true_delivered_water_wt_pct", k: float = 2.0) -> pd.DataFrame:
    """Per instrument: fraction of intervals within ``k`` sigma of ``reference``, mean z, RMSE."""
    rows = []
    ref = table[reference].to_numpy(float) if len(table) else np.zeros(0)
    for inst, col, sig in (("LTGA", "ltga_water_wt_pct", "ltga_sigma_wt_pct"),
                           ("TRITON", "triton_water_wt_pct", "triton_sigma_wt_pct"),
                           ("ADORE", "adore_water_wt_pct", "adore_sigma_wt_pct"),
                           ("ISAP", "isap_ice_wt_pct", "isap_ice_sigma_wt_pct")):
        if not len(table):
            rows.append(dict(instrument=inst, n=0, frac_within=np.nan, mean_z=np.nan, rmse_wt_pct=np.nan))
            continue
        v, s = table[col].to_numpy(float), table[sig].to_numpy(float)
        ok = np.isfinite(v) & np.isfinite(s) & (s > 0)
        z = (v[ok] - ref[ok]) / s[ok]
        rows.append(dict(instrument=inst, n=int(ok.sum()), frac_within=float(np.mean(np.abs(z) <= k)),
                         mean_z=float(np.mean(z)), rmse_wt_pct=float(np.sqrt(np.mean((v[ok] - ref[ok]) ** 2)))))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- site choice (from the survey)


@dataclass(frozen=True)
class DrillChoice:
    """Drill sites chosen from a survey's retrievals, and why."""

    sites_xy: np.ndarray      # (k, 2) cell centres in drilling order, m
    table: pd.DataFrame       # per site: x_m, y_m, weh_mean_wt_pct, p_ice_within_drill, expected_core_weh_wt_pct
    maps: object              # the fused maps (xarray Dataset) on the cells around the path
    rule: str                 # one sentence a report can print


def footprint_cells(path_xy, template, step_frac: float = 0.1) -> np.ndarray:
    """Boolean (ny, nx) on ``template``'s cells: the cells the path crosses (sampled every ``step_frac`` pixel).

    The ground the traverse instruments saw (GPR and ALIS under the rover, the NS footprint smoothed along
    track over the crossed cells, see :mod:`lupex.mission.survey`).
    """
    x = np.asarray(template["x"].values, float)
    y = np.asarray(template["y"].values, float)
    dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
    p = np.asarray(path_xy, float).reshape(-1, 2)
    pts = [p[:1]]
    for a, b in zip(p[:-1], p[1:]):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / (step_frac * min(abs(dx), abs(dy))))))
        pts.append(a + np.linspace(0.0, 1.0, n + 1)[1:, None] * (b - a))
    q = np.vstack(pts)
    c = np.rint((q[:, 0] - x[0]) / dx).astype(int)
    r = np.rint((q[:, 1] - y[0]) / dy).astype(int)
    ok = (r >= 0) & (r < y.size) & (c >= 0) & (c < x.size)
    out = np.zeros((y.size, x.size), bool)
    out[r[ok], c[ok]] = True
    return out
