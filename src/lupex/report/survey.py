"""The traverse-survey part of the report.

The path over the true ice, the radargram, neutron
count rates, and retrieved vs true ice depth and WEH along track, with a scores table.

The radargram is shown dewowed, time-zeroed (:func:`lupex.instruments.gpr.preprocess`),
background-removed and with a linear time gain, on a depth axis from the retrieved
top-layer permittivity.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lupex.instruments.gpr import background_removal, preprocess
from lupex.instruments.gpr_dielectric import C_M_S
from lupex.mission.survey import NS_DETECT_LO95_WT_PCT
from lupex.report.figures import png_bytes, robust_limits, scale_bar  # noqa: E402
from lupex.report.html import Section, table_html  # noqa: E402


def _png(fig, dpi: int = 90) -> bytes:
    return png_bytes(fig, dpi=dpi)


def path_map_png(result) -> bytes:
    """True ice-table depth around the path (blank: no ice within 3 m), the path, start and end."""
    da = result.ice_map
    fig, ax = plt.subplots(figsize=(7.6, 6.4))
    x, y = np.asarray(da["x"], float), np.asarray(da["y"], float)
    ext = None
    if x.size > 1 and y.size > 1:
        dx, dy = (x[1] - x[0]) / 2, (y[1] - y[0]) / 2
        ext = [x[0] - dx, x[-1] + dx, y[-1] + dy, y[0] - dy]
        lo, hi = robust_limits(np.asarray(da, float), vmin=0.0)
        im = ax.imshow(np.asarray(da, float), extent=ext, cmap="plasma_r", vmin=lo, vmax=hi, interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.85, label="true ice-table depth (m)")
    p = np.asarray(result.path_xy)
    ax.plot(p[:, 0], p[:, 1], "-", color="black", lw=3.0)
    ax.plot(p[:, 0], p[:, 1], "-", color="#56B4E9", lw=1.6)
    # Okabe-Ito sky blue / vermillion with black edges: start and end stay apart without red/green
    ax.plot(*p[0], "o", color="#56B4E9", mec="black", ms=9, label="start (landing site)")
    ax.plot(*p[-1], "s", color="#D55E00", mec="black", ms=8, label="end")
    if ext is not None:
        scale_bar(ax, ext, unit="m")
    ax.set_xlabel("x (m, polar stereographic)")
    ax.set_ylabel("y (m)")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"Traverse of {result.length_m:.0f} m over the true ice table", fontsize=10)
    return _png(fig)


def radargram_png(result, max_traces: int = 2000) -> bytes:
    """Return a PNG of the GPR radargram along the traverse (at most ``max_traces`` traces)."""
    rg = result.radargram
    data, t_ant = preprocess(rg)
    data = background_removal(data, max(2, int(round(10.0 / max(rg.dx_m, 1e-9)))))
    t_surf = t_ant + 2 * rg.config.antenna_height_m / C_M_S
    t = rg.time_s
    data = data * np.clip((t - t_surf) / 1e-9, 0.0, None)[None, :]          # linear gain below the surface
    step = max(1, data.shape[0] // max_traces)
    img = data[::step]
    eps = float(result.summary.get("gpr_eps_top", 3.25))
    depth = (t - t_surf) * C_M_S / np.sqrt(eps) / 2
    keep = (depth >= -0.1) & (depth <= 1.6)
    img = img[:, keep]
    v = float(np.quantile(np.abs(img), 0.99)) or 1.0
    s = np.asarray(rg.positions_m)[::step]
    fig, ax = plt.subplots(figsize=(9.0, 3.6))
    ax.imshow(img.T, aspect="auto", cmap="gray", vmin=-v, vmax=v,
              extent=[s[0], s[-1], depth[keep][-1], depth[keep][0]], interpolation="nearest")
    w = result.gpr_windows
    truth = np.where(np.isfinite(w["true_ice_table_depth_m"]), w["true_ice_table_depth_m"], np.nan)
    ax.plot(w["s_m"], truth, color="cyan", lw=1.0, label="true ice table")
    ax.plot(w["s_m"], w["ice_depth_m"], ".", color="red", ms=2, label="GPR pick")
    ax.set_ylim(1.6, -0.1)
    ax.set_xlabel("along track (m)")
    ax.set_ylabel(f"depth (m, eps' {eps:.2f})")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("GPR radargram (dewow, time-zero, background removal, linear gain)", fontsize=10)
    return _png(fig)


def ns_rates_png(result) -> bytes:
    """Return a PNG of the neutron spectrometer's count rates along the traverse."""
    r = result.retrievals
    ns = result.ns
    fig, ax = plt.subplots(figsize=(9.0, 3.2))
    for ch, c in (("epi", "tab:blue"), ("th", "tab:red")):
        rate = r[f"ns_{ch}_counts"] / r["ns_live_s"]
        err = np.sqrt(r[f"ns_{ch}_counts"]) / r["ns_live_s"]
        ax.errorbar(r["s_m"], rate, yerr=err, fmt=".", ms=3, lw=0.6, color=c,
                    label=f"{'epithermal' if ch == 'epi' else 'thermal'} (window)")
        dt = (ns["t_end_s"] - ns["t_start_s"]).to_numpy()
        ax.plot(0.5 * (ns["s_start_m"] + ns["s_end_m"]), ns[f"{ch}_expected"] / dt, lw=0.8, color=c, alpha=0.6,
                label="expected (noise-free)")
    ax.set_xlabel("along track (m)")
    ax.set_ylabel("count rate (counts/s)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=4, loc="best")
    ax.set_title("Neutron spectrometer count rates along track", fontsize=10)
    return _png(fig)


def _ci(r, mean, lo, hi):
    m = r[mean].to_numpy(float)
    return np.vstack([np.clip(m - r[lo].to_numpy(float), 0, None), np.clip(r[hi].to_numpy(float) - m, 0, None)])


def _truth_line(s, v):
    return np.asarray(s, float), np.where(np.isfinite(v), v, np.nan)


def depth_png(result) -> bytes:
    """Return a PNG of the retrieved vs true ice-table depth along the traverse."""
    r = result.retrievals
    fig, ax = plt.subplots(figsize=(9.0, 3.4))
    w = result.gpr_windows
    ax.plot(*_truth_line(w["s_m"], w["true_ice_table_depth_m"]), color="k", lw=1.2, label="true ice table")
    ax.errorbar(r["s_m"] - 0.4, r["gpr_ice_depth_m"], yerr=r["gpr_ice_depth_sigma_m"], fmt="o", ms=3, lw=0.7,
                color="tab:red", label="GPR (median in window) +- 1 sigma")
    # the NS burial depth means something only where the NS sees a wet layer (the survey's criterion, which the
    # campaign uses too: its WEH 95 % lower bound above NS_DETECT_LO95_WT_PCT); over dry ground its posterior is
    # the prior's spread
    seen = (r["ns_weh_lo95_wt_pct"] > NS_DETECT_LO95_WT_PCT).to_numpy()
    rs = r[seen]
    lo = np.where(seen, r["ns_burial_lo95_m"], np.nan)
    hi = np.where(seen, r["ns_burial_hi95_m"], np.nan)
    ax.errorbar(rs["s_m"] + 0.4, rs["ns_burial_depth_m"], yerr=_ci(rs, "ns_burial_depth_m", "ns_burial_lo68_m",
                "ns_burial_hi68_m"), fmt="s", ms=3, lw=0.7, color="tab:blue",
                label=f"NS burial depth, 68% interval ({int(seen.sum())} of {seen.size} windows see a wet layer)")
    ax.fill_between(r["s_m"], lo, hi, color="tab:blue", alpha=0.12, step="mid", label="NS 95% interval")
    ax.set_ylim(1.6, 0)
    ends = [float(v) for v in (r["s_end_m"].max(), w["s_m"].max()) if np.isfinite(v)]
    ax.set_xlim(0.0, max(ends, default=1.0))
    ax.set_xlabel("along track (m)")
    ax.set_ylabel("depth (m)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Ice-table depth: retrieved vs true", fontsize=10)
    return _png(fig)


def weh_png(result) -> bytes:
    """Return a PNG of the retrieved vs true WEH along the traverse."""
    r = result.retrievals
    w = result.gpr_windows
    fig, ax = plt.subplots(figsize=(9.0, 3.4))
    ax.plot(*_truth_line(w["s_m"], w["true_weh_wt_pct"]), color="k", lw=1.2, label="true WEH (wet layer)")
    ax.errorbar(r["s_m"] - 0.4, r["ns_weh_wt_pct"], yerr=_ci(r, "ns_weh_wt_pct", "ns_weh_lo68_wt_pct",
                "ns_weh_hi68_wt_pct"), fmt="s", ms=3, lw=0.7, color="tab:blue", label="NS mean, 68% interval")
    ax.fill_between(r["s_m"], r["ns_weh_lo95_wt_pct"], r["ns_weh_hi95_wt_pct"], color="tab:blue", alpha=0.12,
                    step="mid", label="NS 95% interval")
    ax.errorbar(r["s_m"] + 0.4, r["gpr_weh_below_wt_pct"], yerr=r["gpr_weh_below_sigma_wt_pct"], fmt="o", ms=3,
                lw=0.7, color="tab:red", label="GPR below the ice table +- 1 sigma")
    a = result.alis
    ax.errorbar(a["s_m"], a["water_wt_pct"], yerr=a["water_sigma_wt_pct"], fmt="^", ms=3, lw=0.7, color="tab:green",
                label="ALIS surface water +- 1 sigma")
    ax.set_xlabel("along track (m)")
    ax.set_ylabel("water (wt% WEH)")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=3)
    ax.set_title("Water: retrieved vs true", fontsize=10)
    return _png(fig)


def ns_detection_png(result) -> bytes:
    """Return a PNG of the neutron spectrometer's detection limit vs integration time.

    Detection limit of the NS vs integration time (homogeneous ground, 3 sigma), for the instrument's
    systematics and 1 % / 3 % (the survey summary's ``ns_detection`` curves), with the survey window and the
    0.5 wt% requirement marked.
    """
    d = result.summary["ns_detection"]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for f, lim in d["curve_limit_wt_pct_by_systematics"].items():
        own = abs(float(f) - d["systematic_frac"]) < 1e-12
        ax.plot(d["curve_time_s"], lim, lw=1.8 if own else 0.9, label=f"systematics {100 * float(f):g} %")
    ax.axhline(0.5, color="k", lw=0.7, ls="--", label="0.5 wt% (NSS requirement)")
    ax.axvline(result.params.ns_window_s, color="grey", lw=0.7, ls=":", label="survey window")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("integration time (s)")
    ax.set_ylabel("WEH detected at 3 sigma (wt%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    ax.set_title("Neutron spectrometer detection limit (homogeneous ground, epithermal)", fontsize=9)
    return _png(fig)


def survey_sections(result) -> list[Section]:
    """Report section (id ``survey``) for a :class:`lupex.mission.survey.SurveyResult`."""
    p = result.params
    sm = result.summary
    paras = [
        f"A {result.length_m:.0f} m traverse at {p.speed_m_s:g} m/s: GPR every {p.gpr_spacing_m * 100:g} cm "
        f"({len(result.gpr)} traces), neutron spectrometer at {p.ns_rate_hz:g} Hz ({len(result.ns)} samples, "
        f"fitted in {p.ns_window_s:g} s windows), ALIS every {p.alis_every_m:g} m ({len(result.alis)} spectra), "
        f"EMS-L for {p.emsl_duration_s / 3600:g} h at the start. Retrievals are scored against the ground truth.",
        f"GPR: top-layer permittivity {sm.get('gpr_eps_top', float('nan')):.2f} +- "
        f"{sm.get('gpr_eps_top_sigma', float('nan')):.2f} above the median ice table ({sm.get('gpr_eps_source', '?')}, "
        f"{sm.get('n_hyperbolas', 0)} hyperbolas; time to depth through {sm.get('gpr_velocity_model', '?')}). "
        "The echoes of dry ground (surface and density gradient) are fitted and subtracted before the ice table is "
        f"picked; picks shallower than {sm.get('gpr_min_depth_m', float('nan')):.2f} m "
        f"({p.gpr_min_pick_periods:g} wavelet periods below the surface echo) are not used. Ice found in "
        f"{_pct(sm.get('gpr_detection_rate'))} of the 1 m windows with ice within 1.2 m; picks in "
        f"{_pct(sm.get('gpr_false_pick_rate'))} of the windows without ice.",
        _ns_detection_text(sm.get("ns_detection")),
        "Scores use windows that lie in one ground-truth cell (NS: with its 1 m footprint); sigma of the NS is "
        "half its 68% credible interval. The NS two-layer fit cannot separate a little shallow water from more "
        "water deeper down, so its intervals are wide where the ice is deep or absent.",
    ]
    paras = [q for q in paras if q]
    sc = result.scores.copy().rename(columns={
        "rmse": "rms error (quantity's unit)", "bias": "mean error (quantity's unit)",
        "frac_within_2sigma": "within 2 sigma (fraction)", "frac_in_95ci": "truth inside the 95 % interval (fraction)"})
    tables = [table_html(sc, "{:.3f}", source="survey_summary.json",
                         caption="Retrieval scores against the truth (errors in the unit of each quantity)")]
    if len(result.emsl_fit):
        tables.append(table_html(result.emsl_fit[["species", "temperature_k", "natural_ref_cm3", "natural_ref_sigma_cm3",
                                                  "natural_ref_true_cm3", "lander_rate_1d_s", "decay_index"]].rename(
                                      columns={"lander_rate_1d_s": "lander outgassing 1 d after landing (molecules/s)",
                                               "decay_index": "outgassing decay index (rate ~ t^-n)"}),
                                  "{:.3g}",
                                  source="survey_emsl.parquet", caption="Exospheric mass spectrometer fit"))
    figs = [
        ("The traverse over the true ice-table depth (blank: no ice within 3 m)", path_map_png(result)),
        ("GPR radargram along the traverse with the true ice table and the GPR picks", radargram_png(result)),
        ("Neutron count rates along track: windows (+- counting error) and the noise-free expectation",
         ns_rates_png(result)),
        ("Ice-table depth along track: GPR and NS retrievals with error bars vs the truth", depth_png(result)),
        ("Water along track: NS (wet layer), GPR (below the ice table) and ALIS (surface) vs the truth",
         weh_png(result)),
    ]
    if sm.get("ns_detection"):
        figs.append(("Neutron spectrometer: the smallest WEH a stop detects at 3 sigma vs its length",
                     ns_detection_png(result)))
    return [Section("survey", "Traverse survey: retrieved vs true ice", paras, figs, tables)]


def _ns_detection_text(d) -> str:
    if not d:
        return ""
    lim = d["limit_wt_pct"]
    return (f"NS detection (homogeneous ground, {d['k_sigma']:g} sigma, {100 * d['systematic_frac']:g} % "
            f"systematics): 0.5 wt% WEH in {d['time_for_0p5_wt_pct_s']:.1f} s of counting; one survey window detects "
            f"{lim['window']:.2f} wt%, a 10 min stop {lim['10 min']:.2f} wt%; the systematics floor is "
            f"{d['floor_wt_pct']:.2f} wt%.")


def _pct(v) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.0f}%"
