"""Whole campaigns (both plans) over many seeds, serially or on Dask workers, and their medians."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from lupex.errors import InputError
from lupex.mission.campaign.params import PLANS, CampaignParams
from lupex.mission.campaign.run import run_campaign
from lupex.mission.campaign.screen import sel_area
from lupex.prospect.strategy import Area
from lupex.subsurface.ground_truth import SubsurfaceParams, make_ground_truth

__all__ = ["MC_COLUMNS", "CampaignInputs", "TruthFactory", "campaign_monte_carlo", "monte_carlo_medians",
           "truth_factory_from_site"]


@dataclass(frozen=True)
class CampaignInputs:
    """What one campaign runs on: the truth, the DEM (or None), the start, and optionally a light series."""

    truth: Any
    dem: Any
    start_xy: tuple
    start_utc: str = "2027-01-02T00:00:00"
    light: Any = None


@dataclass(frozen=True)
class TruthFactory:
    """Picklable ``seed -> CampaignInputs``: a fresh ground truth per seed on a (cropped) site grid.

    ``params`` (the run's ``[subsurface]`` table; None: its defaults) and ``kwargs`` (per-cell maps, or fields
    of :class:`~lupex.subsurface.ground_truth.SubsurfaceParams` to replace) go to
    :func:`lupex.subsurface.ground_truth.make_ground_truth` with ``seed = base_seed + seed``; ``grid`` is the
    DEM crop the truth lives on (also used as the campaign's DEM).
    """

    grid: Any
    start_xy: tuple
    base_seed: int = 0
    kwargs: dict = field(default_factory=dict)
    start_utc: str = "2027-01-02T00:00:00"
    params: SubsurfaceParams | None = None

    def __call__(self, seed: int) -> CampaignInputs:
        """The inputs of the campaign of ``seed``: a fresh ground truth on ``grid``."""
        gt = make_ground_truth(self.grid, self.params, seed=int(self.base_seed) + int(seed), **self.kwargs)
        return CampaignInputs(gt, self.grid, tuple(self.start_xy), self.start_utc, None)


def truth_factory_from_site(site, subsurface_cfg, start_xy, params: CampaignParams, start_utc: str,
                            margin_m: float = 200.0) -> TruthFactory:
    """A :class:`TruthFactory` on the site DEM cropped to the campaign area (+ ``margin_m``).

    With the run's subsurface settings and the site phase's illumination and slope (as
    :func:`lupex.mission.subsurface_phase.run_subsurface` uses them).

    Parameters
    ----------
    site : lupex.mission.site_analysis.SiteAnalysis
        The site phase's result: ``dem`` (m), ``light["illumination_pct"]`` (%) and ``slope_rover_deg`` (deg,
        NaN cells set to the crop's median), each cropped to the square below.
    subsurface_cfg : lupex.config.SubsurfaceParams
        The run's ``[subsurface]`` table; seed ``k`` builds its truth with seed ``subsurface_cfg.seed + 10000 + k``,
        never the run's own truth.
    start_xy : tuple of float
        The landing site (x, y), m: the centre of the crop and every campaign's start.
    params : CampaignParams
        The campaign settings; ``area_half_m`` (m) sets the crop.
    start_utc : str
        Start of every campaign, UTC ISO 8601 (kept to the second).
    margin_m : float, optional
        Added to ``params.area_half_m`` for the crop's half side, m; default 200 m. The crop is the square
        ``start_xy +- (area_half_m + margin_m)``.

    Returns
    -------
    TruthFactory
        ``seed -> CampaignInputs`` on the cropped DEM (also the campaigns' DEM), without a light series.
    """
    sx, sy = (float(v) for v in start_xy)
    h = params.area_half_m + margin_m
    a = Area(sx - h, sx + h, sy - h, sy + h)
    dem = sel_area(site.dem, a)
    sc = subsurface_cfg
    slope = sel_area(site.slope_rover_deg, a)
    kw = dict(illumination_pct=np.asarray(sel_area(site.light["illumination_pct"], a).values, float),
              slope_deg=np.asarray(slope.fillna(float(np.nanmedian(slope))).values, float))
    return TruthFactory(dem, (sx, sy), int(sc.seed) + 10_000, kw, str(start_utc)[:19], sc)


def _mc_one(params: CampaignParams, factory: Callable, seed: int, instruments: dict | None = None) -> list[dict]:
    """The score rows (one per plan, with ``seed``) of the campaign of ``seed``."""
    inp = factory(int(seed))
    if not isinstance(inp, CampaignInputs):
        inp = CampaignInputs(*inp)
    res = run_campaign(params, inp.truth, inp.dem, inp.light, inp.start_xy, inp.start_utc, None, seed=int(seed),
                       instruments=instruments)
    return [dict(r, seed=int(seed)) for r in res.scores.to_dict(orient="records")]


#: the headline scores :func:`monte_carlo_medians` takes the median of
MC_COLUMNS = ("water_located_kg_per_km", "water_located_kg_per_kwh", "ice_mass_located", "claim_precision", "weh_rmse_wt_pct",
              "weh_calibration_95", "drill_hit_rate", "drill_measured_total", "km_driven", "kwh_used")


def campaign_monte_carlo(params: CampaignParams, truth_factory: Callable, seeds, client=None,
                         instruments: dict | None = None) -> pd.DataFrame:
    """Whole campaigns (both plans) over ``seeds``: one row per seed and plan, every score.

    ``truth_factory(seed)`` returns :class:`CampaignInputs` (or a tuple of its fields): e.g. a
    :class:`TruthFactory`; it must pickle to go to Dask workers. With a ``dask.distributed`` client
    (:func:`lupex.compute.dask_client`) the campaigns run on its workers, otherwise serially; the rows are
    the same either way. Medians per plan: :func:`monte_carlo_medians` (also in ``df.attrs["medians"]``).

    Parameters
    ----------
    params : CampaignParams
        The campaign settings, the same for every seed.
    truth_factory : callable
        ``truth_factory(seed) -> CampaignInputs`` (truth, DEM or None, start (x, y) in m, start UTC,
        light or None); picklable when ``client`` is given.
    seeds : int or iterable of int
        Distinct non-negative seeds; each is both the factory's seed and the campaign's.
    client : dask.distributed.Client, optional
        Runs one campaign per task on its workers; None runs them here, one after the other.
    instruments : dict, optional
        Keyword arguments of :func:`lupex.mission.survey.run_survey` for every leg, as for
        :func:`lupex.mission.campaign.run_campaign`; default: the instruments' defaults.

    Returns
    -------
    pandas.DataFrame
        One row per seed and plan, sorted by ``seed`` then ``plan``: ``seed``, ``plan`` and every column of the
        campaign's score table; ``attrs["medians"]`` holds :func:`monte_carlo_medians`' rows as dicts.

    Raises
    ------
    lupex.errors.InputError
        For no seeds, negative or repeated seeds, or a ``truth_factory`` that is not callable.
    """
    seeds = [int(s) for s in np.atleast_1d(np.asarray(list(seeds) if not np.isscalar(seeds) else [seeds]))]
    if not seeds:
        raise InputError("campaign_monte_carlo needs at least one seed")
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise InputError(f"Monte Carlo seeds must be distinct non-negative integers, got {seeds}")
    if not callable(truth_factory):
        raise InputError("truth_factory must be a callable seed -> CampaignInputs (e.g. a TruthFactory)")
    if client is not None:
        futs = client.map(_mc_one, [params] * len(seeds), [truth_factory] * len(seeds), seeds,
                          [instruments] * len(seeds), pure=False)
        parts = client.gather(futs)
    else:
        parts = [_mc_one(params, truth_factory, s, instruments) for s in seeds]
    df = pd.DataFrame([r for part in parts for r in part])
    cols = ["seed", "plan"] + [c for c in df.columns if c not in ("seed", "plan")]
    df = df[cols].sort_values(["seed", "plan"], kind="stable").reset_index(drop=True)
    df.attrs["medians"] = monte_carlo_medians(df).to_dict(orient="records")
    return df


def monte_carlo_medians(df: pd.DataFrame) -> pd.DataFrame:
    """Median over seeds of the headline scores, one row per plan, plus the strategy/lawnmower ratio row."""
    cols = [c for c in MC_COLUMNS if c in df.columns]
    med = df.groupby("plan")[cols].median().reindex([p for p in PLANS if p in set(df["plan"])])
    med.insert(0, "n_seeds", df.groupby("plan")["seed"].nunique())
    out = med.reset_index()
    if set(PLANS) <= set(out["plan"]):
        a, b = med.loc["strategy", cols], med.loc["lawnmower", cols]
        ratio = {c: (float(a[c] / b[c]) if b[c] not in (0, 0.0) and np.isfinite(b[c]) else float("nan")) for c in cols}
        out = pd.concat([out, pd.DataFrame([dict(plan="strategy / lawnmower", n_seeds=int(med["n_seeds"].min()), **ratio)])],
                        ignore_index=True)
    return out
