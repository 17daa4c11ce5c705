"""The prospecting-campaign part of the report.

The adaptive plan's WEH map with its uncertainty, the truth,
both plans' paths and drill sites, the scores table, the strategy-vs-lawnmower comparison (and the Monte
Carlo medians when given), and the battery state of charge over the six-month timeline.
"""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lupex.mission.campaign import monte_carlo_medians
from lupex.mission.feasibility import feasibility_line
from lupex.report.figures import png_bytes, scale_bar  # noqa: E402
from lupex.report.html import Section, fmt_number, table_html  # noqa: E402

_COLORS = {"strategy": "cyan", "lawnmower": "orange"}


def _extent(da):
    x, y = np.asarray(da["x"], float), np.asarray(da["y"], float)
    dx, dy = (x[1] - x[0]) / 2, (y[1] - y[0]) / 2
    return [x[0] - dx, x[-1] + dx, y[-1] + dy, y[0] - dy] if y[0] > y[-1] else [x[0] - dx, x[-1] + dx, y[0] - dy, y[-1] + dy]


def maps_png(result) -> bytes:
    """Truth, adaptive-plan WEH mean and sd, lawnmower WEH mean; both paths and drill sites on each."""
    t = result.truth["weh_wt_pct"]
    vmax = float(np.nanpercentile(t.values, 99)) or 1.0
    panels = [("true WEH within drill reach (wt%)", t, "viridis", 0, vmax),
              ("adaptive plan: WEH mean (wt%)", result.plans["strategy"].maps["weh_mean"], "viridis", 0, vmax),
              ("adaptive plan: WEH sd (wt%)", result.plans["strategy"].maps["weh_sd"], "magma", 0, None),
              ("lawnmower: WEH mean (wt%)", result.plans["lawnmower"].maps["weh_mean"], "viridis", 0, vmax)]
    fig, axes = plt.subplots(2, 2, figsize=(10, 9))
    ext = _extent(t)
    for ax, (title, da, cmap, lo, hi) in zip(axes.ravel(), panels):
        im = ax.imshow(np.asarray(da, float), extent=ext, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8)
        for name, pl in result.plans.items():
            p = np.asarray(pl.path_xy)
            ax.plot(p[:, 0], p[:, 1], "-", color=_COLORS.get(name, "w"), lw=1.2, label=f"{name} path")
            d = np.asarray(pl.drill_xy).reshape(-1, 2)
            if len(d):
                ax.plot(d[:, 0], d[:, 1], "X", color=_COLORS.get(name, "w"), mec="k", ms=8, label=f"{name} drills")
        if len(result.survey_centre_xy):   # the plans start at the area's centre, reached from the landing site
            ax.plot(*result.survey_centre_xy, "o", color="#56B4E9", mec="k", ms=7, label="area centre (plans start)")
        ax.set_xlim(ext[0], ext[1])
        ax.set_ylim(min(ext[2], ext[3]), max(ext[2], ext[3]))
        ax.set_title(title, fontsize=9)
        scale_bar(ax, ext, unit="m")
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    handles, labels = axes[0, 0].get_legend_handles_labels()   # one legend below the panels, clear of the scale bars
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=7, frameon=False)
    fig.subplots_adjust(bottom=0.08)
    fig.suptitle("Water maps: truth and the fused GP maps (x, y in m, polar stereographic)", fontsize=10)
    return png_bytes(fig, dpi=80)


def soc_png(result) -> bytes | None:
    """Battery state of charge of both timelines."""
    have = [(n, pl.timeline) for n, pl in result.plans.items() if pl.timeline is not None]
    if not have:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for n, tl in have:
        tr = tl.trace
        ax.plot(pd.to_datetime(tr["end_utc"]), tr["soc_end"], lw=0.8, color=_COLORS.get(n, "k"), label=n)
    ax.set_ylabel("battery SOC")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("State of charge over the campaign timeline (scheduler, every interval checked)", fontsize=10)
    fig.autofmt_xdate()
    return png_bytes(fig, dpi=80)


_SCORE_ROWS = [("weh_rmse_wt_pct", "WEH map RMSE (wt%)"), ("weh_bias_wt_pct", "WEH map bias (wt%)"),
               ("weh_calibration_95", "truth inside the 95 % interval"), ("ice_depth_rmse_m", "ice-table RMSE where < drill depth (m)"),
               ("ice_mass_located", "fraction of the ice mass located"),
               ("claim_precision", "share of the cells the map calls icy that are"), ("water_located_kg", "water located (kg)"),
               ("drill_hit_rate", "drill hits (true > threshold)"), ("drill_measured_total", "water measured, sum over drills (wt%)"),
               ("drill_true_total", "true water, sum over drills (wt%)"), ("drill_oracle_fraction", "measured / best possible drills"),
               ("km_driven", "km driven"), ("kwh_used", "kWh used (drive + drilling)"),
               ("energy_approach_kwh", "  of which approach drive (kWh)"),
               ("energy_survey_drive_kwh", "  of which survey drives, the drive budget (kWh)"),
               ("energy_drill_tour_kwh", "  of which drives between drill sites (kWh)"),
               ("energy_drill_kwh", "  of which drilling (kWh)"),
               ("timeline_energy_kwh", "timeline bus energy, six months (kWh)"),
               ("timeline_hibernate_heater_kwh", "  of which hibernation heaters (kWh)"),
               ("water_located_kg_per_km", "water located per km (kg/km)"),
               ("water_located_kg_per_kwh", "water located per kWh (kg/kWh)"), ("gp_weh_length_m", "fitted GP length scale, WEH (m)"),
               ("timeline_min_soc", "timeline minimum SOC"), ("timeline_last_goal_utc", "last goal reached (UTC)")]


def scores_table(result) -> pd.DataFrame:
    """Return the scores of each plan, one row per score, side by side."""
    s = result.scores.set_index("plan")
    rows = []
    if "timeline_status" in s:   # first: whether each plan's scores were flown at all
        rows.append({"score": "six-month timeline", **{n: ("flown" if s.loc[n, "timeline_status"] == "flown" else
                                                        f"NOT FLOWN ({s.loc[n, 'timeline_status']})")
                                                     for n in s.index}, "strategy / lawnmower": ""})
    for key, label in _SCORE_ROWS:
        if key not in s:
            continue
        row = {"score": label}
        for n in s.index:
            row[n] = s.loc[n, key]
        a, b = s[key].get("strategy"), s[key].get("lawnmower")
        try:
            row["strategy / lawnmower"] = float(a) / float(b) if float(b) != 0 else float("nan")
        except (TypeError, ValueError):
            row["strategy / lawnmower"] = ""
        rows.append(row)
    return pd.DataFrame(rows)


def campaign_sections(result, monte_carlo: pd.DataFrame | None = None) -> list[Section]:
    """Return the report's campaign section (id ``campaign``), with the Monte Carlo medians when given."""
    p = result.params
    s = result.scores.set_index("plan")
    st, lm = s.loc["strategy"], s.loc["lawnmower"]
    paras = [
        f"Two plans from the landed position ({result.start_xy[0]:.0f}, {result.start_xy[1]:.0f}) m"
        + (f" (both drive {result.plans['strategy'].approach_m:,.0f} m to the area centred on "
           f"({result.survey_centre_xy[0]:.0f}, {result.survey_centre_xy[1]:.0f}) m, the nearest orbital prior-ice "
           "region, and start there)" if len(result.survey_centre_xy) and result.plans['strategy'].approach_m > 0 else "")
        + ", on the same "
        f"ground truth and the same drive budget of {result.budget_wh:g} Wh, with the real instrument chain "
        f"(GPR every {p.gpr_spacing_m:g} m, neutron spectrometer at {p.ns_rate_hz:g} Hz in {p.ns_window_s:g} s windows, "
        f"ALIS every {p.alis_every_m:g} m; drilling to {p.drill_depth_m:g} m with REIWA and ISAP). The adaptive plan "
        f"refits a Gaussian process to the neutron WEH retrievals every round"
        + (" (with the orbital ice-stability prior as its external drift)" if p.orbital_drift else "")
        + (" and drives toward the destination of highest expected reduction of the water-mapping risk per Wh "
           "(a knowledge-gradient value of information, weighted by the orbital prior; "
           f"{p.leg_m:g} m at a time, then it decides again)" if p.objective == "risk" else
           " and drives the leg of highest information gain per Wh (Krause et al. 2008)")
        + ", then drills where the expected water per hour is highest; "
        f"the fixed plan mows lines {float(result.plans['lawnmower'].legs['spacing_m'].iloc[0]) if 'spacing_m' in result.plans['lawnmower'].legs else float('nan'):.0f} m "
        f"apart and drills on a grid.",
        f"Water located per km driven: adaptive {fmt_number(st['water_located_kg_per_km'])} kg/km, lawnmower "
        f"{fmt_number(lm['water_located_kg_per_km'])} kg/km; per kWh: {fmt_number(st['water_located_kg_per_kwh'])} vs "
        f"{fmt_number(lm['water_located_kg_per_kwh'])} kg/kWh. Of the cells each map calls icy (median WEH above "
        f"{p.weh_threshold_wt_pct:g} wt%), {st['claim_precision']:.0%} and {lm['claim_precision']:.0%} are. "
        f"Drill hits {st['drill_hit_rate']:.0%} vs {lm['drill_hit_rate']:.0%}.",
        "Scored truth: the wet layer's WEH where the ice table lies within the drill's reach, the dry background "
        "elsewhere. The neutron retrieval's WEH over a buried wet layer is biased high with wide intervals; the map "
        "inherits it (see the survey section's scores).",
    ]
    feas = getattr(result, "feasibility", None) or {}
    if any(getattr(f, "status", "") == "infeasible" for f in feas.values()):
        # bad news first: an infeasible plan's scores are what it would find if it could fly, not a result
        paras.insert(0, f"<b>NOT FLOWN</b>: {html.escape(feasibility_line(feas))}. The scores below for a plan marked "
                        "NOT FLOWN are what it would find if it could survive its dark periods; they are not a flown "
                        "result (alternatives and the binding dark period: campaign_feasibility.json).")
    for n, pl in result.plans.items():
        if pl.schedule_error:
            paras.append(f"<b>{html.escape(n)} timeline</b>: {html.escape(pl.schedule_error)}")
    figs = [("Truth, the adaptive plan's WEH mean and sd, the lawnmower's WEH mean; paths and drill sites of both plans",
             maps_png(result))]
    soc = soc_png(result)
    if soc is not None:
        figs.append(("Battery state of charge over the timeline of each plan", soc))
    tables = [table_html(scores_table(result), floatfmt="{:.3g}", source="campaign_scores.parquet",
                         caption="Scores of each plan (a plan whose timeline is NOT FLOWN did not fly them)")]
    if monte_carlo is not None and len(monte_carlo):
        paras.append(f"Monte Carlo over {monte_carlo['seed'].nunique()} seeds (truth and instrument noise both "
                     "redrawn): medians per plan and their ratio.")
        tables.append(table_html(monte_carlo_medians(monte_carlo), floatfmt="{:.3g}",
                                  source="campaign_monte_carlo.parquet", caption="Monte Carlo medians per plan"))
    return [Section("campaign", "Prospecting campaign: adaptive strategy vs lawnmower", paras, figs, tables)]
