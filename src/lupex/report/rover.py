"""The rover part of the report: the first traverse and the nights at the drill site.

The traverse figures are drawn here from :class:`lupex.rover.planner.Plan`'s numbers (the planner draws nothing).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lupex.report.figures import png_bytes  # noqa: E402
from lupex.report.html import Section, table_html  # noqa: E402


def rover_sections(result, site) -> list[Section]:
    """The report's rover section (id ``rover``), drawn from the phase's numbers.

    The first traverse on the illumination map, the state of charge and temperatures along it, and the dark
    periods at its goal.

    ``result`` is a :class:`lupex.mission.rover_phase.RoverResult`, ``site`` the run's
    :class:`lupex.mission.site_analysis.SiteAnalysis` (its DEM and illumination map under the traverse).
    """
    s = result.plan.summary()
    paras = [
        f"From the landed position to the first traverse's goal (the nearest orbital prior-ice region; the drill sites are "
        f"chosen from what the survey measured on the way): {s['distance_m']:,.0f} m driven in {s['duration_h']:.1f} h "
        f"(departure {s['start_utc']} UTC, {s['wait_time_h']:.1f} h waiting), {s['energy_used_wh']:,.0f} Wh used, state "
        f"of charge never below {100 * s['min_soc']:.0f}%, longest continuous shadow {s['longest_shadow_h']:.1f} h, "
        f"{s['time_without_earth_h']:.1f} h without Earth in view. Earliest arrival under slope, battery and light "
        "limits (space-time A*, proved optimal against exhaustive search in the tests). Also in rover_plan.geojson.",
        ("The rover survives every dark period at the traverse's goal (the drilling area) over the month after arrival."
         if result.survives else
         "<b>The rover does not survive every dark period at the traverse's goal (the drilling area)</b>: see the table (negative margin)."),
    ]
    cols = [c for c in ("start", "end", "duration_h", "energy_needed_wh", "min_soc", "min_electronics_k",
                        "min_battery_k", "margin_wh", "verdict") if c in result.survival.columns]
    map_png = plan_map_png(result.plan, site.dem, background=np.asarray(site.light["illumination_pct"]),
                           background_label="mean illumination over the site span (%)")
    figs = [("Planned traverse on the illumination map (mean % over the span), coloured by the state of charge",
             map_png),
            ("State of charge and temperatures along the traverse", plan_profile_png(result.plan))]
    return [Section("rover", "Rover: first traverse and nights", paras, figs,
                    [table_html(result.survival[cols], source="rover_survival.csv",
                                caption="Dark periods at the drill site") if len(result.survival) else "<p>No dark period in the month.</p>"])]


def _png(fig) -> bytes:
    return png_bytes(fig, dpi=100, tight_layout=False)


def plan_map_png(p, dem, background=None, background_label: str = "") -> bytes:
    """Return a PNG of a planned traverse on the DEM or on a background map.

    PNG of a :class:`lupex.rover.planner.Plan`'s path on the DEM (or on ``background``, a (ny, nx) array such
    as illumination), start/goal marked.

    Parameters
    ----------
    p : lupex.rover.planner.Plan
        The traverse; its states' ``x_m``, ``y_m`` (m) and ``soc`` (0..1, the points' colour) are drawn.
    dem : xr.DataArray, (ny, nx)
        Site heights, m, with ``x``/``y`` coordinates in m (the extent, and the image without ``background``).
    background : array_like, (ny, nx), optional
        Map drawn instead of the heights, in its own unit (e.g. mean illumination, %).
    background_label : str
        Colour-bar label of ``background`` (with the unit).

    Returns
    -------
    bytes
        The PNG file.
    """
    x = np.asarray(dem["x"].values, float)
    y = np.asarray(dem["y"].values, float)
    img = np.asarray(dem.values if background is None else background, float)
    fig, ax = plt.subplots(figsize=(6, 5.5))
    im = ax.imshow(img, extent=(x[0] / 1e3, x[-1] / 1e3, y[-1] / 1e3, y[0] / 1e3), cmap="gray", origin="upper")
    fig.colorbar(im, ax=ax, label="elevation (m)" if background is None else background_label)
    sc = ax.scatter(p.x_m / 1e3, p.y_m / 1e3, c=p.soc, s=4, cmap="viridis", vmin=0, vmax=1, zorder=3)
    ax.plot(p.x_m / 1e3, p.y_m / 1e3, "-", color="tab:orange", lw=1, zorder=2)
    ax.plot(p.x_m[0] / 1e3, p.y_m[0] / 1e3, "o", color="tab:green", label="start")
    ax.plot(p.x_m[-1] / 1e3, p.y_m[-1] / 1e3, "*", color="tab:red", ms=12, label="goal")
    fig.colorbar(sc, ax=ax, label="state of charge")
    pad = 0.3 + 0.2 * max(np.ptp(p.x_m), np.ptp(p.y_m)) / 1e3
    ax.set_xlim(p.x_m.min() / 1e3 - pad, p.x_m.max() / 1e3 + pad)
    ax.set_ylim(p.y_m.min() / 1e3 - pad, p.y_m.max() / 1e3 + pad)
    ax.set_xlabel("x (km)")
    ax.set_ylabel("y (km)")
    ax.set_title(f"traverse {p.distance_m / 1e3:.2f} km, {p.duration_h:.1f} h")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def plan_profile_png(p) -> bytes:
    """Return a PNG of the state of charge, temperatures and light along a traverse.

    PNG: state of charge, temperatures, Sun/Earth visibility and shadow time along a
    :class:`lupex.rover.planner.Plan` vs time.
    """
    h = (p.times - p.times[0]) / np.timedelta64(1, "s") / 3600.0
    fig, axs = plt.subplots(3, 1, figsize=(7, 7), sharex=True)
    axs[0].plot(h, p.soc, "-", color="tab:green")
    axs[0].set_ylabel("state of charge")
    axs[0].set_ylim(0, 1.05)
    axs[1].plot(h, p.temperature_k[:, 0], label="electronics")
    axs[1].plot(h, p.temperature_k[:, 1], label="battery")
    axs[1].set_ylabel("temperature (K)")
    axs[1].legend(fontsize=8)
    axs[2].step(h, p.sun_fraction, where="post", label="Sun fraction")
    axs[2].step(h, p.earth_fraction, where="post", label="Earth fraction")
    axs[2].plot(h, p.shadow_h / max(p.longest_shadow_h, 1e-9), ":", label="shadow run (rel.)")
    axs[2].set_ylabel("visible fraction")
    axs[2].set_xlabel("hours since start")
    axs[2].legend(fontsize=8)
    return _png(fig)
