"""The report's first screen: the mission verdicts, one overview map and the mission timeline.

Status colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"),
distinguishable with the common colour-vision deficiencies, and every status also
carries a symbol and its word, so nothing is told by colour alone. The console
shows the same verdicts as a rich table (:func:`console_table`), worst first.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Ellipse, Rectangle  # noqa: E402
from rich import box  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402

from lupex.mission.verdicts import AT_RISK, FAIL, NOT_RUN, PASS, overall, worst_first  # noqa: E402
from lupex.report.figures import hillshade, png_bytes  # noqa: E402
from lupex.report.html import Section  # noqa: E402
from lupex.terrain.geo import pixel_size_m  # noqa: E402

# Okabe-Ito: vermillion, orange, grey, bluish green; text colour chosen for contrast on each
STATUS_STYLE = {
    FAIL: ("\u2716", "#D55E00", "#ffffff"),      # heavy multiplication x
    AT_RISK: ("\u25b2", "#E69F00", "#000000"),   # black up-pointing triangle
    NOT_RUN: ("\u25cb", "#BBBBBB", "#000000"),   # white circle
    PASS: ("\u2714", "#009E73", "#ffffff"),      # heavy check mark
}
RICH_STYLE = {FAIL: "bold white on dark_orange3", AT_RISK: "bold black on orange1", NOT_RUN: "black on grey70",
              PASS: "bold white on green4"}
# Okabe-Ito for the map and timeline figures
_OI = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
       "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000", "grey": "#999999"}


def status_html(status: str) -> str:
    """Return a verdict status as an HTML badge (symbol, word and colour)."""
    sym, bg, fg = STATUS_STYLE.get(status, ("?", "#ffffff", "#000000"))
    return (f"<span class='status' style='background:{bg};color:{fg};padding:1px 6px'>"
            f"{sym} {html.escape(status)}</span>")


def verdict_table_html(verdicts, anchors: set[str]) -> str:
    """The verdicts as an HTML table, each requirement linked to its section when the report has it."""
    rows = ["<table class='verdicts'><caption>Mission requirements; data: <a class='src' href='manifest.json'>"
            "manifest.json</a> (\"verdicts\")</caption><thead><tr><th>status</th><th>requirement</th><th>measured</th>"
            "<th>required</th><th>binding constraint</th></tr></thead><tbody>"]
    for v in verdicts:
        req = html.escape(v.requirement)
        if v.section_anchor in anchors:
            req = f"<a href='#{html.escape(v.section_anchor, quote=True)}'>{req}</a>"
        detail = (f"<details><summary>details</summary>{html.escape(v.detail)}</details>"
                  if v.detail and v.detail != v.binding_constraint else "")
        rows.append(f"<tr><td>{status_html(v.status)}</td><td>{req}</td><td>{html.escape(v.measured)}</td>"
                    f"<td>{html.escape(v.required)}</td><td>{html.escape(v.binding_constraint)}{detail}</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def summary_sections(verdicts, anchors, *, site=None, landing=None, rover=None, drilling=None, campaign=None,
                     dark_threshold: float = 0.0, earth_threshold: float = 0.5) -> list[Section]:
    """The summary section (verdicts, overview map, mission timeline) that opens the report.

    ``anchors``: ids of the report's other sections (a requirement links to its section only when it is there).

    Parameters
    ----------
    verdicts : sequence of lupex.mission.verdicts.Verdict
        One per mission requirement; the worst gives the overall status.
    anchors : collection of str
        Ids of the report's other sections.
    site : lupex.mission.site_analysis.SiteAnalysis, optional
        The site: DEM (heights, m; x/y in m) and ranked landing sites; None: no overview map.
    landing : lupex.mission.landing_phase.LandingResult, optional
        The landing Monte Carlo (its 3-sigma ellipse, m); None: not drawn.
    rover : lupex.mission.rover_phase.RoverResult, optional
        The first traverse (path in m, havens) and the drill site's dark periods; None: not drawn.
    drilling : lupex.mission.drilling.DrillingResult, optional
        The drill sites (x/y, m); None: not drawn.
    campaign : lupex.mission.campaign.CampaignResult, optional
        The campaign's area, paths and drill sites (m) and its activity timeline; None: not drawn.
    dark_threshold : float
        Visible Sun fraction (0..1) at or below which the rover is in the dark.
    earth_threshold : float
        Visible Earth fraction (0..1) at or above which the Earth counts as in view.

    Returns
    -------
    list of Section
        The one ``summary`` section (``lead``): the overall verdict, the overview map and timeline when there is
        something to draw, and the verdict table.
    """
    ov = overall(verdicts)
    sym, bg, fg = STATUS_STYLE[ov.status]
    link = (f" (<a href='#{html.escape(ov.section_anchor, quote=True)}'>see section</a>)"
            if ov.section_anchor in anchors else "")
    paras = [
        f"<span class='overall' style='background:{bg};color:{fg}'>{sym} Mission: "
        f"{html.escape(ov.status)}</span> {html.escape(ov.measured)}. Binding constraint: "
        f"<b>{html.escape(ov.binding_constraint)}</b>{link}.",
    ]
    figs = []
    ov_png = overview_map_png(site, landing=landing, rover=rover, drilling=drilling, campaign=campaign)
    if ov_png is not None:
        figs.append(("Overview: landing site and its 3-sigma ellipse, first traverse, campaign area and paths, "
                     "drill sites and havens on the hillshade, with a scale bar", ov_png))
    tl_png = timeline_png(rover=rover, campaign=campaign, dark_threshold=dark_threshold,
                          earth_threshold=earth_threshold)
    if tl_png is not None:
        figs.append(("Mission timeline: dark periods and Earth visibility where the rover is, the drill site's "
                     "nights (rover phase), the campaign's activities and the battery's state of charge", tl_png))
    legend = ("<p class='meta'>Statuses: " + ", ".join(f"{status_html(s)}" for s in (FAIL, AT_RISK, NOT_RUN, PASS))
              + ". AT RISK: met with less than 10 % to spare, or on thin evidence; every threshold is in "
              "lupex.mission.verdicts.VerdictParams. Also in manifest.json (\"verdicts\", \"overall\").</p>")
    return [Section("summary", "Mission verdicts", paras, figs, [verdict_table_html(verdicts, set(anchors)) + legend],
                    lead=True)]


def summary_first(verdicts, phases: dict, sections: list[Section]) -> list[Section]:
    """Return ``sections`` with the summary before them.

    ``sections`` with the summary before them (its links point only at sections that are there);
    ``phases``: the keywords of :func:`summary_sections` (site, landing, rover, drilling, campaign, thresholds).
    """
    return summary_sections(verdicts, {s.id for s in sections}, **phases) + list(sections)


# ----------------------------------------------------------------------------- overview map


def _nice_length_m(span_m: float) -> float:
    """A round scale-bar length of about a fifth of ``span_m``."""
    target = max(span_m / 5.0, 1.0)
    mag = 10 ** np.floor(np.log10(target))
    for f in (5, 2, 1):
        if f * mag <= target:
            return float(f * mag)
    return float(mag)


@dataclass
class _Overview:
    """What the overview map draws.

    Layers (kind, payload) in drawing order, the points to zoom to (m) and the havens' positions (m).
    """

    layers: list = field(default_factory=list)
    pts: list = field(default_factory=list)
    havens: list = field(default_factory=list)


def overview_map_png(site, *, landing=None, rover=None, drilling=None, campaign=None, dpi: int = 90):
    """Return a PNG of the mission's places on the site's hillshade, zoomed to them; None without a site.

    Parameters
    ----------
    site : lupex.mission.site_analysis.SiteAnalysis, optional
        The site: DEM (heights, m; x/y in m) and ranked landing sites; None: no overview map.
    landing : lupex.mission.landing_phase.LandingResult, optional
        The landing Monte Carlo (its 3-sigma ellipse, m); None: not drawn.
    rover : lupex.mission.rover_phase.RoverResult, optional
        The first traverse (path in m, havens) and the drill site's dark periods; None: not drawn.
    drilling : lupex.mission.drilling.DrillingResult, optional
        The drill sites (x/y, m); None: not drawn.
    campaign : lupex.mission.campaign.CampaignResult, optional
        The campaign's area, paths and drill sites (m) and its activity timeline; None: not drawn.
    dpi : int
        Resolution, dots per inch (the figure is 8 x 7.2 in).

    Returns
    -------
    bytes or None
        The PNG file (axes in m, polar stereographic, with a scale bar); None without a site or landing sites.
    """
    if site is None or not len(getattr(site, "sites", ())):
        return None
    dem = site.dem
    best = site.sites.iloc[0]
    tx, ty = float(best["x_m"]), float(best["y_m"])
    ov = _Overview(pts=[(tx, ty)])
    _landing_layers(ov, landing, tx, ty)
    if rover is not None:
        _rover_layers(ov, rover, dem)
    if campaign is not None:
        _campaign_layers(ov, campaign)
    if drilling is not None and len(drilling.sites):
        d = drilling.sites[["x_m", "y_m"]].to_numpy(float)
        ov.layers.append(("drills:first traverse", d))
        ov.pts += [tuple(d.min(0)), tuple(d.max(0))]
    if ov.havens:
        hv = np.unique(np.round(np.asarray(ov.havens, float), 1), axis=0)
        ov.layers.append(("havens", hv))
        ov.pts += [tuple(hv.min(0)), tuple(hv.max(0))]
    xmin, xmax, ymin, ymax = _zoom(ov.pts)
    fig, ax = plt.subplots(figsize=(8.0, 7.2), dpi=dpi)
    _hillshade_under(ax, dem, xmin, xmax, ymin, ymax)
    for kind, val in ov.layers:
        _draw_layer(ax, kind, val)
    ax.scatter([tx], [ty], s=180, marker="*", color=_OI["yellow"], edgecolor="black", zorder=6,
               label=f"landing site (lat {best['lat_deg']:.3f}, lon {best['lon_deg']:.2f})")
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    _overview_scale_bar(ax, xmin, xmax, ymin, ymax)
    ax.set_xlabel("x (m, polar stereographic)")
    ax.set_ylabel("y (m)")
    ax.set_title("Mission overview", fontsize=11)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return png_bytes(fig, bbox_tight=True)


def _landing_layers(ov: _Overview, landing, tx: float, ty: float) -> None:
    """Add the landing Monte Carlo's 3-sigma ellipse and touchdowns around the target (``tx``, ``ty``, m)."""
    summ = getattr(landing, "summary", None)
    if summ is None:
        return
    a, b = float(summ.get("ellipse_3sigma_major_m", np.nan)), float(summ.get("ellipse_3sigma_minor_m", np.nan))
    cx = tx + float(summ.get("ellipse_centre_x_m", 0.0))
    cy = ty + float(summ.get("ellipse_centre_y_m", 0.0))
    if np.isfinite(a) and np.isfinite(b):
        ov.layers.append(("ellipse", (cx, cy, a, b, float(summ.get("ellipse_angle_deg", 0.0)))))
        ov.pts += [(cx - a, cy - a), (cx + a, cy + a)]
    runs = getattr(landing, "runs", None)
    if runs is not None and len(runs):
        td = np.column_stack([tx + runs["dx_m"].to_numpy(float), ty + runs["dy_m"].to_numpy(float)])
        ov.layers.append(("touchdowns", td))


def _rover_layers(ov: _Overview, rover, dem) -> None:
    """Add the first traverse and its havens."""
    xy = np.column_stack([rover.plan.x_m, rover.plan.y_m])
    ov.layers.append(("traverse", xy))
    ov.pts += [tuple(xy.min(0)), tuple(xy.max(0))]
    for r, c in getattr(rover.plan, "havens", ()):
        ov.havens.append((float(dem.x[int(c)]), float(dem.y[int(r)])))


def _campaign_layers(ov: _Overview, campaign) -> None:
    """Add the campaign's area, each plan's path and drill sites, and where its timeline hibernates."""
    x0, x1, y0, y1 = (float(v) for v in campaign.area)
    ov.layers.append(("box", (x0, x1, y0, y1)))
    ov.pts += [(x0, y0), (x1, y1)]
    for name, plan in campaign.plans.items():
        p = np.asarray(plan.path_xy, float).reshape(-1, 2)
        if len(p):
            ov.layers.append((f"path:{name}", p))
        d = np.asarray(plan.drill_xy, float).reshape(-1, 2)
        if len(d):
            ov.layers.append((f"drills:{name}", d))
            ov.pts += [tuple(d.min(0)), tuple(d.max(0))]
        tl = plan.timeline
        if tl is not None and {"mode", "x_m", "y_m"} <= set(tl.activities):
            h = tl.activities[tl.activities["mode"] == "hibernate"]
            ov.havens += list(zip(h["x_m"].astype(float), h["y_m"].astype(float)))


def _zoom(pts) -> tuple[float, float, float, float]:
    """Return the square view (xmin, xmax, ymin, ymax; m) around the finite ``pts``, 15 % margin, at least 600 m."""
    P = np.asarray(pts, float)
    P = P[np.all(np.isfinite(P), axis=1)]
    lo, hi = P.min(0), P.max(0)
    half = max(float((hi - lo).max()) / 2 * 1.15, 300.0)
    ctr = (lo + hi) / 2
    return ctr[0] - half, ctr[0] + half, ctr[1] - half, ctr[1] + half


def _hillshade_under(ax, dem, xmin: float, xmax: float, ymin: float, ymax: float) -> None:
    """Draw the hillshade of the DEM cells inside the view (nothing when under five cells are)."""
    xs, ys = np.asarray(dem.x, float), np.asarray(dem.y, float)
    sub = dem.isel(x=np.flatnonzero((xs >= xmin) & (xs <= xmax)), y=np.flatnonzero((ys >= ymin) & (ys <= ymax)))
    if sub.size > 4:
        px = pixel_size_m(dem)
        shade = hillshade(np.asarray(sub, float), px)
        sx, sy = np.asarray(sub.x, float), np.asarray(sub.y, float)
        ax.imshow(shade, cmap="gray", vmin=0, vmax=1, interpolation="nearest",
                  extent=(sx[0] - px / 2, sx[-1] + px / 2, sy[-1] - px / 2, sy[0] + px / 2))


def _draw_layer(ax, kind: str, val) -> None:
    """Draw one overview layer (see :func:`overview_map_png`), with its legend label."""
    if kind == "ellipse":
        cx, cy, a, b, ang = val
        ax.add_patch(Ellipse((cx, cy), 2 * a, 2 * b, angle=ang, fill=False, color=_OI["yellow"], lw=2.0,
                             label=f"3-sigma landing ellipse {a:.0f} x {b:.0f} m"))
    elif kind == "touchdowns":
        ax.scatter(val[:, 0], val[:, 1], s=8, marker=".", color=_OI["yellow"], label="touchdowns (Monte Carlo)")
    elif kind == "traverse":
        ax.plot(val[:, 0], val[:, 1], color=_OI["sky"], lw=2.2, label="first traverse (rover phase)")
    elif kind == "box":
        x0, x1, y0, y1 = val
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ls="--", lw=1.4, color=_OI["orange"],
                               label="campaign area"))
    elif kind.startswith("path:"):
        name = kind.split(":", 1)[1]
        ax.plot(val[:, 0], val[:, 1], lw=1.1, ls="-" if name == "strategy" else ":",
                color=_OI["purple"] if name == "strategy" else _OI["blue"], label=f"campaign path ({name})")
    elif kind.startswith("drills:"):
        name = kind.split(":", 1)[1]
        style = {"first traverse": ("D", _OI["vermillion"]), "strategy": ("^", _OI["purple"])}.get(
            name, ("v", _OI["blue"]))
        ax.scatter(val[:, 0], val[:, 1], s=55, marker=style[0], facecolor=style[1], edgecolor="white",
                   linewidth=0.8, zorder=5, label=f"drill sites ({name})")
    elif kind == "havens":
        ax.scatter(val[:, 0], val[:, 1], s=90, marker="s", facecolor="none", edgecolor=_OI["green"],
                   linewidth=1.8, zorder=5, label="havens (hibernation spots)")


def _overview_scale_bar(ax, xmin: float, xmax: float, ymin: float, ymax: float) -> None:
    """Draw a round-length scale bar (m) in the view's lower left corner."""
    L = _nice_length_m(xmax - xmin)
    bx, by = xmin + 0.05 * (xmax - xmin), ymin + 0.05 * (ymax - ymin)
    ax.plot([bx, bx + L], [by, by], color="white", lw=6, solid_capstyle="butt")
    ax.plot([bx, bx + L], [by, by], color="black", lw=3, solid_capstyle="butt")
    ax.text(bx + L / 2, by + 0.02 * (ymax - ymin), f"{L:,.0f} m", ha="center", va="bottom", fontsize=9,
            color="black", bbox=dict(facecolor="white", alpha=0.8, edgecolor="none", pad=1))


# ----------------------------------------------------------------------------- timeline


def _spans(t0, t1, mask):
    """(start, width) in matplotlib date units of the runs where ``mask`` is true."""
    a = mdates.date2num(pd.to_datetime(t0).to_numpy())
    b = mdates.date2num(pd.to_datetime(t1).to_numpy())
    out, i, n = [], 0, len(mask)
    while i < n:
        if mask[i]:
            j = i
            while j + 1 < n and mask[j + 1]:
                j += 1
            out.append((a[i], b[j] - a[i]))
            i = j + 1
        else:
            i += 1
    return out


def _bars(starts, ends):
    """(start, width) in matplotlib date units of each [start, end) interval."""
    a = mdates.date2num(pd.to_datetime(pd.Series(starts)).to_numpy())
    b = mdates.date2num(pd.to_datetime(pd.Series(ends)).to_numpy())
    return list(zip(a, b - a))


def timeline_png(*, rover=None, campaign=None, dark_threshold: float = 0.0, earth_threshold: float = 0.5,
                 dpi: int = 90):
    """Return a PNG of the mission timeline; None without a rover phase or a campaign timeline.

    PNG of the mission timeline (dark periods, Earth in view, the drill site's nights, activities, state of
    charge); None when the run has neither a rover phase nor a campaign timeline.

    Parameters
    ----------
    rover : lupex.mission.rover_phase.RoverResult, optional
        Its ``survival`` table (dark periods at the drill site: UTC start/end and verdict) is drawn.
    campaign : lupex.mission.campaign.CampaignResult, optional
        The first plan with a timeline gives the rows of Sun, Earth and activities (UTC) and the state of charge.
    dark_threshold : float
        Visible Sun fraction (0..1) at or below which the rover is in the dark.
    earth_threshold : float
        Visible Earth fraction (0..1) at or above which the Earth counts as in view.
    dpi : int
        Resolution, dots per inch (the figure is 11 x 5.2 in).

    Returns
    -------
    bytes or None
        The PNG file, or None.
    """
    tl = None
    if campaign is not None:
        tl = next((p.timeline for p in campaign.plans.values() if p.timeline is not None), None)
        name = next((k for k, p in campaign.plans.items() if p.timeline is not None), "")
    surv = rover.survival if rover is not None else None
    if tl is None and (surv is None or not len(surv)):
        return None
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11.0, 5.2), dpi=dpi, sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1.2]})
    rows = []
    if tl is not None:
        tr = tl.trace
        rows.append(("Sun: dark where the rover is", _spans(tr["start_utc"], tr["end_utc"],
                                                            tr["sun_fraction"].to_numpy(float) <= dark_threshold),
                     _OI["black"]))
        rows.append(("Earth in view", _spans(tr["start_utc"], tr["end_utc"],
                                             tr["earth_fraction"].to_numpy(float) >= earth_threshold), _OI["blue"]))
    if surv is not None and len(surv):
        for verdict, col in (("survives", _OI["green"]), ("marginal", _OI["orange"]), ("fails", _OI["vermillion"])):
            m = (surv["verdict"] == verdict).to_numpy()
            if m.any():
                rows.append((f"drill-site night: {verdict}", _bars(surv["start"][m], surv["end"][m]), col))
    if tl is not None:
        a = tl.activities
        colours = {"drive": _OI["vermillion"], "science": _OI["purple"], "drill": _OI["orange"],
                   "communicate": _OI["sky"], "standby": _OI["grey"], "hibernate": _OI["blue"]}
        for mode in [m for m in colours if m in set(a["mode"])] + sorted(set(a["mode"]) - set(colours)):
            m = (a["mode"] == mode).to_numpy()
            rows.append((f"{name}: {mode}", _bars(a["start_utc"][m], a["end_utc"][m]), colours.get(mode, _OI["black"])))
    for i, (label, spans, col) in enumerate(rows):
        if spans:
            ax.broken_barh(spans, (i - 0.4, 0.8), facecolors=col)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Mission timeline", fontsize=11)
    if tl is not None:
        t = pd.to_datetime(tl.trace["end_utc"]).to_numpy()
        ax2.plot(t, 100 * tl.trace["soc_end"].to_numpy(float), color=_OI["blue"], lw=0.9,
                 label=f"{name} timeline")
    if surv is not None and len(surv):
        for k, (x0, w) in enumerate(_bars(surv["start"], surv["end"])):
            ax2.plot([x0, x0 + w], [100 * float(surv["min_soc"].iloc[k])] * 2, color=_OI["vermillion"], lw=2.5,
                     label="drill site: lowest SoC of each night" if k == 0 else None)
    ax2.set_ylabel("state of\ncharge (%)", fontsize=8)
    ax2.set_ylim(0, 105)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
    ax2.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    return png_bytes(fig, bbox_tight=True)


# ----------------------------------------------------------------------------- console


def console_table(verdicts):
    """Return the verdicts as a compact rich Table, worst first.

    The verdicts as a compact rich Table (status, requirement, measured and required, binding constraint),
    worst first, the overall verdict in the title.
    """
    ov = overall(verdicts)
    tab = Table(title=escape(f"{STATUS_STYLE[ov.status][0]} Mission: {ov.status}: {ov.binding_constraint}"),
                title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    tab.add_column("status", no_wrap=True)
    tab.add_column("requirement", no_wrap=True)
    tab.add_column("measured (required)", overflow="fold", ratio=1)
    tab.add_column("binding constraint", overflow="fold", ratio=1)
    for v in worst_first(verdicts):
        tab.add_row(f"[{RICH_STYLE[v.status]}]{STATUS_STYLE[v.status][0]} {v.status}[/]", escape(v.requirement),
                    escape(f"{v.measured} ({v.required})"), escape(v.binding_constraint))
    return tab
