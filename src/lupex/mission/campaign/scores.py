"""A plan's scores against the truth, and its energy by use.

Scores against the truth (:mod:`lupex.prospect.scoring`), per plan: WEH map RMSE / MAE / bias, coverage of the
95 % interval, ice-table RMSE, the fraction of the ice mass located (mass-weighted recall at
``weh_threshold_wt_pct``), the located water in kg (WEH x dry bulk density, Carrier et al. 1991 via
:func:`lupex.subsurface.regolith.density_kg_m3`, x the wet thickness within the drill's reach x cell area),
drill hits and water measured (TRITON) vs true (in situ), km driven, kWh used (drive energy of the straight-leg
cost model plus the drill's own energy), and water located per km and per kWh.

The true WEH the maps are scored against is the WEH of the wet layer where the ice table lies within the
drill's reach (``drill_depth_m``), the dry background elsewhere: the water a LUPEX-class campaign can find and
sample. The true ice-table depth is clipped at 3 m (the map's upper bound; no ice = 3 m).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from lupex.mission.campaign.params import DEPTH_BOUNDS_M, CampaignParams
from lupex.mission.campaign.plans import CampaignSetup, PlanDraft
from lupex.mission.campaign.screen import crs_of, grid_of, sel_area
from lupex.mission.campaign.timeline import PlanTimeline
from lupex.prospect import scoring as sc
from lupex.prospect.strategy import Area
from lupex.subsurface import regolith
from lupex.terrain import geo

__all__ = ["TIMELINE_MODES", "energy_breakdown", "plan_scores", "timeline_energy_breakdown", "truth_maps"]

#: the timeline's modes whose energy :func:`timeline_energy_breakdown` reports one by one
TIMELINE_MODES = ("drive", "drill", "science", "communicate", "standby", "hibernate")


def truth_maps(gt, area: Area, p: CampaignParams) -> xr.Dataset:
    """True WEH within drill reach (dry background elsewhere), ice-table depth (<= 3 m) and water mass per cell."""
    ds = sel_area(gt.dataset, area)
    table = np.asarray(ds["ice_table_depth_m"].values, float)
    weh = np.asarray(ds["weh_wt_pct"].values, float)
    dry = np.asarray(ds["dry_weh_wt_pct"].values, float)
    wet = np.isfinite(table) & (weh > 0)
    D = p.drill_depth_m
    reach = wet & (table < D)
    weh_true = np.where(reach, weh, dry)
    depth = np.where(wet, np.clip(table, 0.0, DEPTH_BOUNDS_M[1]), DEPTH_BOUNDS_M[1])
    z = np.linspace(0.005, D - 0.005, 150)
    rho = float(np.mean(regolith.density_kg_m3(z, ds.attrs.get("density_model", regolith.DEFAULT_DENSITY_MODEL))))
    x, y = grid_of(ds)
    cell = abs(x[1] - x[0]) * abs(y[1] - y[0])
    thick = np.where(reach, np.maximum(D - np.maximum(table, 0.0), 0.0), 0.0)
    water_kg = weh_true / 100.0 * rho * thick * cell
    core = np.where(reach, weh * thick / D, dry)     # what a drill to D would measure, core-averaged
    out = xr.Dataset({"weh_wt_pct": (("y", "x"), weh_true), "ice_depth_m": (("y", "x"), depth),
                      "water_kg": (("y", "x"), water_kg), "core_weh_wt_pct": (("y", "x"), core)},
                     coords={"y": y, "x": x},
                     attrs={"density_kg_m3": rho, "drill_depth_m": D, "cell_area_m2": cell})
    crs = crs_of(gt.dataset)
    if crs is not None:
        out = out.rio.write_crs(crs)
    return out


def _map_scores(plan_maps, truth, p: CampaignParams) -> dict:
    """The WEH and ice-depth maps against the truth: errors, calibration, the GP fits, the water located."""
    tw = truth["weh_wt_pct"]
    thr = p.weh_threshold_wt_pct
    me = sc.map_errors(plan_maps["weh_mean"], tw)
    out = dict(weh_rmse_wt_pct=me["rmse"], weh_mae_wt_pct=me["mae"], weh_bias_wt_pct=me["bias"],
               weh_calibration_95=sc.calibration(tw, lower=plan_maps["weh_lower"], upper=plan_maps["weh_upper"]),
               gp_weh_length_m=float(plan_maps["weh_mean"].attrs.get("length_m", np.nan)),
               gp_weh_variance=float(plan_maps["weh_mean"].attrs.get("signal_variance", np.nan)),
               gp_weh_nugget=float(plan_maps["weh_mean"].attrs.get("nugget", np.nan)))
    if "ice_depth_mean" in plan_maps:
        td = truth["ice_depth_m"].where(truth["ice_depth_m"] < p.drill_depth_m)   # scored where the drill reaches ice
        de = sc.map_errors(plan_maps["ice_depth_mean"], td) if np.isfinite(td.values).any() else \
            {"rmse": float("nan"), "bias": float("nan")}
        out.update(ice_depth_rmse_m=de["rmse"], ice_depth_bias_m=de["bias"],
                   ice_depth_calibration_95=float("nan") if not np.isfinite(td.values).any() else
                   sc.calibration(td, lower=plan_maps["ice_depth_lower"], upper=plan_maps["ice_depth_upper"]),
                   gp_ice_depth_length_m=float(plan_maps["ice_depth_mean"].attrs.get("length_m", np.nan)))
    located = sc.ice_mass_located(tw, plan_maps["weh_median"], thr)
    t, m = tw.values, plan_maps["weh_median"].values
    ice = t > thr
    kg = truth["water_kg"].values
    out.update(ice_mass_located=located, water_total_kg=float(kg[ice].sum()),
               water_located_kg=float(kg[ice & (m > thr)].sum()),
               claim_precision=sc.claim_precision(tw, plan_maps["weh_median"], thr),
               claimed_cells=int(np.sum(np.isfinite(m) & (m > thr))), true_ice_cells=int(np.sum(ice)))
    return out


def _drill_scores(drill_sites, truth, p: CampaignParams) -> dict:
    """The drill sites' hits and water measured vs true (:func:`lupex.prospect.scoring.drill_scores`), ``drill_*``."""
    thr = p.weh_threshold_wt_pct
    if len(drill_sites):
        ds = sc.drill_scores(drill_sites["true_water_wt_pct"].to_numpy(float),
                             drill_sites["measured_water_wt_pct"].to_numpy(float), thr,
                             truth_field=truth["core_weh_wt_pct"].values)
    else:
        ds = sc.drill_scores([], [], thr)
    return {f"drill_{k}": v for k, v in ds.items()}


def _distance_scores(located_kg, survey_m, survey_wh, tour_m, tour_wh, drill_wh, budget) -> dict:
    """Km driven and kWh used (survey incl. the approach, drill tour, drill) and the water located per km and kWh."""
    km = (survey_m + tour_m) / 1000.0
    kwh = (survey_wh + tour_wh + drill_wh) / 1000.0
    return dict(survey_km=survey_m / 1000.0, drill_tour_km=tour_m / 1000.0, km_driven=km, survey_kwh=survey_wh / 1000.0,
                drill_kwh=(tour_wh + drill_wh) / 1000.0, kwh_used=kwh, budget_kwh=budget / 1000.0,
                water_located_kg_per_km=located_kg / km if km > 0 else float("nan"),
                water_located_kg_per_kwh=located_kg / kwh if kwh > 0 else float("nan"))


def energy_breakdown(approach_wh, survey_wh, tour_wh, drill_wh, budget_wh) -> dict:
    """The planned energy of a plan, by use, in kWh; the parts add up to ``kwh_used``.

    ``drive_budget_wh`` pays for the survey drives only (the adaptive plan's legs, the lawnmower's lines); the
    approach from the landing site to the area's centre, the drive between drill sites and the drill itself
    are paid on top of it: ``kwh_used`` = budget - survey budget left + approach + drill tour + drill. Planned loads
    only (drive and drill power x time); the six-month timeline's bus energy, heaters included, is
    :func:`timeline_energy_breakdown`.

    Parameters
    ----------
    approach_wh : float
        Drive energy from the landing site to the area's centre, Wh.
    survey_wh : float
        Drive energy of the plan's survey (legs or lawnmower lines, stop overheads included), Wh.
    tour_wh : float
        Drive energy between the drill sites, Wh.
    drill_wh : float
        Energy of the drilling itself, Wh.
    budget_wh : float
        The survey's drive budget (``campaign.drive_budget_wh``), Wh.

    Returns
    -------
    dict
        ``energy_approach_kwh``, ``energy_survey_drive_kwh``, ``energy_drill_tour_kwh``, ``energy_drill_kwh``,
        their sum ``kwh_used``, ``energy_over_drive_budget_kwh`` (``kwh_used`` - budget) and
        ``survey_budget_left_kwh`` (budget - survey), all kWh.
    """
    parts = dict(energy_approach_kwh=approach_wh / 1000.0, energy_survey_drive_kwh=survey_wh / 1000.0,
                 energy_drill_tour_kwh=tour_wh / 1000.0, energy_drill_kwh=drill_wh / 1000.0)
    total = sum(parts.values())
    return dict(parts, kwh_used=total, energy_over_drive_budget_kwh=total - budget_wh / 1000.0,
                survey_budget_left_kwh=(budget_wh - survey_wh) / 1000.0)


def timeline_energy_breakdown(trace: pd.DataFrame) -> dict:
    """The six-month timeline's bus energy (load x time, heaters included) by mode, in kWh, and the heaters' share.

    ``timeline_energy_<mode>_kwh`` for each mode of :data:`TIMELINE_MODES` (other modes in
    ``timeline_energy_other_kwh``) add up to ``timeline_energy_kwh``; ``timeline_heater_kwh`` is the heaters'
    energy over all modes and ``timeline_hibernate_heater_kwh`` the heaters' energy while hibernating (the
    survival heaters through the nights).
    """
    dt_h = (pd.to_datetime(trace["end_utc"]) - pd.to_datetime(trace["start_utc"])).dt.total_seconds().to_numpy() / 3600.0
    e = trace["energy_wh"].to_numpy(float) / 1000.0
    heat = trace["heater_w"].to_numpy(float) * dt_h / 1000.0
    mode = trace["mode"].to_numpy().astype(str)
    out = {f"timeline_energy_{m}_kwh": float(e[mode == m].sum()) for m in TIMELINE_MODES}
    out["timeline_energy_other_kwh"] = float(e[~np.isin(mode, TIMELINE_MODES)].sum())
    out.update(timeline_energy_kwh=float(e.sum()), timeline_heater_kwh=float(heat.sum()),
               timeline_hibernate_heater_kwh=float(heat[mode == "hibernate"].sum()))
    return out


def _timeline_km(trace: pd.DataFrame, dem) -> float:
    """Distance driven in a timeline (km): the steps between the cells of consecutive trace rows (grid moves)."""
    r = trace["row"].to_numpy(float)
    c = trace["col"].to_numpy(float)
    return float(np.hypot(np.diff(r), np.diff(c)).sum() * geo.pixel_size_m(dem) / 1000.0) if r.size > 1 else 0.0


def _timeline_scores(tl, goal_times, dem) -> dict:
    """What the six-month timeline flew: lowest state of charge, data, hours by mode, temperatures, km, energy."""
    s = tl.summary()
    hours = s["hours_by_mode"]
    out = dict(timeline_min_soc=s["min_soc"], timeline_data_gbit=s["data_volume_gbit"],
               timeline_drive_h=hours.get("drive", 0.0), timeline_hibernate_h=hours.get("hibernate", 0.0),
               timeline_energy_kwh=float(tl.activities["energy_wh"].sum() / 1000.0),
               timeline_last_goal_utc=max((t for t in goal_times if t), default=""),
               timeline_science_h=hours.get("science", 0.0), timeline_drill_h=hours.get("drill", 0.0),
               timeline_communicate_h=hours.get("communicate", 0.0),
               timeline_min_electronics_k=s["min_electronics_k"], timeline_min_battery_k=s["min_battery_k"],
               timeline_km=_timeline_km(tl.trace, dem))
    out.update(timeline_energy_breakdown(tl.trace))
    return out


def plan_scores(s: CampaignSetup, draft: PlanDraft, tl: PlanTimeline) -> dict:
    """One row of the score table: the plan's maps, drilling, distance, energy and timeline against the truth."""
    d = draft.drilling
    survey_m, survey_wh = draft.survey_m + s.approach_m, draft.survey_wh + s.approach_wh
    out = dict(plan=draft.name, **_map_scores(d.maps, s.truth_maps, s.params))
    out.update(_drill_scores(d.sites, s.truth_maps, s.params))
    out.update(_distance_scores(out["water_located_kg"], survey_m, survey_wh, d.tour_m, d.tour_wh, d.drill_wh,
                                s.budget_wh))
    out.update(approach_km=s.approach_m / 1000.0, approach_kwh=s.approach_wh / 1000.0,
               survey_km=draft.survey_m / 1000.0, survey_kwh=draft.survey_wh / 1000.0)
    out.update(energy_breakdown(s.approach_wh, draft.survey_wh, d.tour_wh, d.drill_wh, s.budget_wh))
    if tl.timeline is not None:
        out.update(_timeline_scores(tl.timeline, tl.goal_times, s.dem))
    out["timeline_ok"] = tl.timeline is not None
    out.update(tl.feasibility.score_fields())
    return out
