"""The drilling part of the report: measured vs true water per depth, and the raw curves behind it.

Figures: the LTGA mass-loss curve (Gaussian release steps, see :mod:`lupex.instruments.ltga`),
the TRITON time-of-flight spectrum (as m/z), ADORE ring-down decays on and off the water
line, and water vs depth from every instrument with 1-sigma error bars over the truth.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lupex.instruments.triton import time_to_mz
from lupex.io import write_bytes  # noqa: E402
from lupex.report.figures import png_bytes  # noqa: E402
from lupex.report.html import Section, table_html  # noqa: E402


def _png(fig, dpi: int = 90) -> bytes:
    return png_bytes(fig, dpi=dpi)


def _label(ex) -> str:
    return f"site {ex.site + 1}, {ex.top_m:.2f}-{ex.bottom_m:.2f} m"


def ltga_png(ex) -> bytes:
    """Mass (mg) vs temperature with the fitted steps marked."""
    rec, res = ex.ltga, ex.ltga_result
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.plot(rec.temperature_k, np.asarray(rec.mass_kg) * 1e6, lw=0.8, color="k")
    for s in res.steps:
        ax.axvline(s.temperature_k, color="tab:blue", ls=":", lw=0.8)
        ax.annotate(f"{s.mass_kg * 1e9:.1f} ug", (s.temperature_k, ax.get_ylim()[1]), fontsize=7, color="tab:blue",
                    xytext=(2, -10), textcoords="offset points")
    ax.set_xlabel("temperature (K)")
    ax.set_ylabel("aliquot mass (mg)")
    ax.set_title(f"LTGA mass-loss curve, {_label(ex)}: water {res.water_wt_pct:.2f} +- {res.sigma_wt_pct:.2f} wt%",
                 fontsize=9)
    ax.grid(alpha=0.3)
    return _png(fig)


def triton_png(ex) -> bytes:
    """Counts vs m/z of the time-of-flight record, peaks labelled by assignment."""
    rec, res = ex.triton, ex.triton_result
    mz = time_to_mz(np.asarray(rec.time_s), rec.accel_voltage_v, rec.flight_length_m)
    c = np.asarray(rec.counts, float)
    # decimate for plotting: the max of each block keeps the peaks
    blk = max(1, c.size // 4000)
    n = c.size // blk * blk
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.plot(mz[:n].reshape(-1, blk).mean(axis=1), c[:n].reshape(-1, blk).max(axis=1), lw=0.6, color="k")
    for p in sorted(res.peaks, key=lambda p: -p.area_counts)[:8]:
        if p.assignment:
            ax.annotate(p.assignment.split(":")[0], (p.mz, 0), fontsize=7, color="tab:red", rotation=90,
                        xytext=(0, 12), textcoords="offset points")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("m/z")
    ax.set_ylabel("counts per bin")
    ax.set_title(f"TRITON spectrum, {_label(ex)}: water {res.water_wt_pct:.2f} +- {res.sigma_wt_pct:.2f} wt%",
                 fontsize=9)
    ax.grid(alpha=0.3)
    return _png(fig)


def adore_png(ex) -> bytes:
    """Mean ring-down decay at the line centre and at the scan edge (log intensity vs time)."""
    rec, res = ex.adore, ex.adore_result
    i = np.asarray(rec.intensity)
    t_us = np.asarray(rec.time_s) * 1e6
    centre = int(np.argmin(np.abs(np.asarray(rec.nu_cm) - np.median(rec.nu_cm))))
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for k, lab in ((0, "off line (scan edge)"), (centre, "line centre")):
        y = i[k].mean(axis=0)
        ax.plot(t_us, np.clip(y, 1e-4, None), lw=0.9, label=f"{lab}: tau {res.tau_s[k] * 1e6:.2f} us")
    ax.set_yscale("log")
    ax.set_xlabel("time (us)")
    ax.set_ylabel("intensity / initial")
    ax.set_title(f"ADORE ring-down, {_label(ex)}: water {res.water_wt_pct:.2f} +- {res.sigma_wt_pct:.2f} wt%",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def example_figures(examples) -> dict:
    """Name -> PNG of the curves and spectra of the example intervals."""
    out = {}
    for j, ex in enumerate(examples, start=1):
        out[f"ltga_{j}"] = ltga_png(ex)
        out[f"triton_{j}"] = triton_png(ex)
        out[f"adore_{j}"] = adore_png(ex)
    return out


def with_example_figures(result, outdir: str | Path | None = None):
    """Return the :class:`lupex.mission.drilling.DrillingResult` ``result`` with its example figures drawn.

    ``figures`` maps ``ltga_1``, ``triton_1``, ... to PNG bytes (:func:`example_figures` of ``result.examples``);
    with ``outdir`` each is also written there, atomically, as ``drilling_<name>.png`` (a product of the run,
    journaled like the others).
    """
    figures = example_figures(result.examples)
    if outdir is not None:
        for name, png in figures.items():
            write_bytes(Path(outdir) / f"drilling_{name}.png", png)
    return dataclasses.replace(result, figures=figures)


def water_vs_depth_png(table, site: int) -> bytes:
    """Return a PNG of water (wt%) vs interval mid-depth (m) at one drill site.

    Water vs interval mid-depth for one site: each instrument +- 1 sigma over the true in-situ and
    delivered water (steps over the intervals).
    """
    t = table[table["site"] == site]
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    if len(t):
        mid = 0.5 * (t["top_m"] + t["bottom_m"]).to_numpy()
        edges = np.r_[t["top_m"].to_numpy(), t["bottom_m"].to_numpy()[-1]]
        ax.stairs(t["true_in_situ_water_wt_pct"].to_numpy(), edges, orientation="horizontal", color="k", lw=1.4,
                  label="true, in situ")
        ax.stairs(t["true_delivered_water_wt_pct"].to_numpy(), edges, orientation="horizontal", color="0.5", lw=1.2,
                  ls="--", label="true, delivered")
        for off, (name, col, sig, c) in zip((-0.02, -0.007, 0.007, 0.02), (
                ("LTGA", "ltga_water_wt_pct", "ltga_sigma_wt_pct", "tab:blue"),
                ("TRITON", "triton_water_wt_pct", "triton_sigma_wt_pct", "tab:orange"),
                ("ADORE", "adore_water_wt_pct", "adore_sigma_wt_pct", "tab:green"),
                ("ISAP (ice)", "isap_ice_wt_pct", "isap_ice_sigma_wt_pct", "tab:purple"))):
            ax.errorbar(t[col], mid + off, xerr=t[sig], fmt="o", ms=3, lw=0.8, color=c, label=name)
    ax.invert_yaxis()
    ax.set_xlabel("water (wt%)")
    ax.set_ylabel("depth (m)")
    ax.set_title(f"Site {site + 1}: water vs depth", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def drilling_sections(result) -> list[Section]:
    """Report section (id ``drilling``): sites, per-depth table, water vs depth, curves and spectra."""
    tab = result.table
    sites = result.sites
    paras = [
        f"{len(sites)} drill sites, {len(tab)} depth intervals. Each interval's delivered sample went through "
        "TRITON, LTGA (with TRITON's water share of the released gas), ADORE and ISAP. 'In situ' is the water the "
        "bit met in the ground; 'delivered' is what reached the instruments after sublimation while drilling and "
        "handling. "
        + (html.escape(result.rule) + "." if getattr(result, "rule", "") else
           "The drill sites were given by the caller (no site-choice rule ran)."),
    ]
    if len(sites) and sites["stopped_by_rock"].any():
        k = sites.loc[sites["stopped_by_rock"], "site"].to_numpy() + 1
        paras.append(f"A buried rock stopped the drill at site(s) {', '.join(map(str, k))}.")
    tables = []
    if len(sites):
        st = sites.copy()
        st["site"] = st["site"] + 1
        tables.append(table_html(st, "{:.2f}", source="drilling_sites.csv", caption="Drill sites"))
    choice = getattr(result, "choice", None)
    if choice is not None and len(choice):   # what the rover knew when it chose (the maps, not the truth)
        ch = choice.copy()
        ch["site"] = ch["site"] + 1
        tables.append(table_html(ch, "{:.2f}", source="drilling_choice.csv",
                                caption="What the rover knew when it chose each site"))
    if len(tab):
        agr = result.agreement()
        paras.append("Agreement with the delivered water (fraction of intervals within 2 sigma): " + ", ".join(
            f"{r.instrument} {r.frac_within:.0%}" for r in agr.itertuples()) + ".")
        cols = ["site", "top_m", "bottom_m", "true_in_situ_water_wt_pct", "true_delivered_water_wt_pct",
                "ltga_water_wt_pct", "ltga_sigma_wt_pct", "triton_water_wt_pct", "triton_sigma_wt_pct",
                "adore_water_wt_pct", "adore_sigma_wt_pct", "isap_ice_wt_pct", "isap_ice_sigma_wt_pct",
                "loss_fraction"]
        t = tab[cols].copy()
        t["site"] = t["site"] + 1
        t = t.rename(columns={"true_in_situ_water_wt_pct": "true in situ", "true_delivered_water_wt_pct":
                              "true delivered", "ltga_water_wt_pct": "LTGA", "ltga_sigma_wt_pct": "LTGA 1 sigma",
                              "triton_water_wt_pct": "TRITON", "triton_sigma_wt_pct": "TRITON 1 sigma",
                              "adore_water_wt_pct": "ADORE", "adore_sigma_wt_pct": "ADORE 1 sigma",
                              "isap_ice_wt_pct": "ISAP ice", "isap_ice_sigma_wt_pct": "ISAP 1 sigma",
                              "loss_fraction": "lost in transfer (fraction)"})
        tables.append(table_html(t, "{:.3f}", max_rows=200, source="drilling.parquet",
                                caption="Water per sample interval: truth and instruments (wt%; depths in m)"))
        tables.append(table_html(agr, "{:.3f}", source="drilling.parquet",
                                caption="Agreement of each instrument with the delivered water"))
    figs = [(f"Water vs depth at site {k + 1}: instruments +- 1 sigma over the true in-situ and delivered water (wt%)",
             water_vs_depth_png(tab, int(k))) for k in (sites["site"] if len(sites) else [])]
    captions = {"ltga": "LTGA mass-loss curve (mass vs temperature; dotted: detected release steps)",
                "triton": "TRITON time-of-flight spectrum (counts vs m/z; symlog scale)",
                "adore": "ADORE ring-down decays off and on the 7181 cm^-1 water line"}
    for name, png in result.figures.items():
        kind, j = name.rsplit("_", 1)
        ex = result.examples[int(j) - 1] if int(j) - 1 < len(result.examples) else None
        where = f" ({_label(ex)})" if ex is not None else ""
        figs.append((captions.get(kind, name) + where, png))
    return [Section("drilling", "Drilling and sample analysis: measured vs true water", paras, figs, tables)]
