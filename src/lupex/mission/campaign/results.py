"""What a campaign returns: one :class:`CampaignPlan` per plan inside a :class:`CampaignResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from lupex.mission.campaign.params import CampaignParams

__all__ = ["CampaignPlan", "CampaignResult"]


@dataclass(frozen=True)
class CampaignPlan:
    """One plan's campaign: path, legs, observations, maps, drilling, timeline and scores."""

    name: str
    path_xy: np.ndarray             # (n, 2) survey path vertices, m
    legs: pd.DataFrame              # one row per leg (strategy: per decision round)
    observations: dict              # "ns", "gpr", "alis" -> fusion.Observations (raw, unbinned)
    maps: xr.Dataset                # fused maps on the area grid
    drill_xy: np.ndarray            # (k, 2) drill sites in drilling order
    drilling: pd.DataFrame          # run_drilling table
    drill_sites: pd.DataFrame       # per site: measured (TRITON) and true water, reached depth
    survey_energy_wh: float
    survey_m: float
    drill_tour_m: float
    drill_tour_wh: float
    drill_energy_wh: float
    timeline: Any = None            # lupex.rover.scheduler.Timeline or None
    schedule_error: str = ""
    goal_times: tuple = ()          # arrival UTC (str) per goal, from the timeline
    goals: pd.DataFrame | None = None
    scores: dict = field(default_factory=dict)
    approach_m: float = 0.0         # straight drive from the landing site to the area's centre
    approach_wh: float = 0.0


@dataclass(frozen=True)
class CampaignResult:
    """Both plans of one campaign, the truth they are scored against and the score table (one row per plan)."""

    params: CampaignParams
    seed: int
    start_xy: tuple
    start_utc: str
    area: tuple                     # (x_min, x_max, y_min, y_max) of the cell centres, m
    truth: xr.Dataset               # weh_wt_pct, ice_depth_m, water_kg on the area grid
    plans: dict                     # name -> CampaignPlan
    scores: pd.DataFrame            # one row per plan
    budget_wh: float
    outdir: Path | None = None
    timings_s: dict = field(default_factory=dict)
    survey_centre_xy: tuple = ()    # centre of the area (the nearest prior-ice region); start_xy = landing site
    prior_share: float = 0.0        # share of the area's cells where the orbital prior allows ice in reach
    feasibility: dict = field(default_factory=dict)  # plan -> lupex.mission.feasibility.Feasibility

