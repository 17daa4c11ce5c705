"""The landing part of the report: Monte Carlo statistics (rendered vs simulated vision), error plots, rendered frames.

The Monte Carlo figures are drawn here from :mod:`lupex.landing.montecarlo`'s table of runs (the model draws nothing).
"""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Circle, Ellipse  # noqa: E402

from lupex.landing.descent import TouchdownParams  # noqa: E402
from lupex.landing.montecarlo import landing_ellipse, nav_error_table  # noqa: E402
from lupex.report.figures import png_bytes  # noqa: E402
from lupex.report.html import Section, table_html  # noqa: E402


def window_paragraphs(choice) -> list[str]:
    """What the report says of the landing epoch against the window rules (lupex.landing.window): the flag first."""
    if choice is None:
        return []
    j = choice.judgement
    how = "forced by landing.epoch" if choice.forced else "the start of the first landing window after time.start"
    if choice.in_window:
        head = (f"Landing epoch {str(choice.epoch)[:19]} UTC ({how}) is inside a landing window: Sun "
                f"{j.sun_margin_deg:.2f} deg above the local horizon at the target, {100 * j.track_lit_frac:.0f}% of the "
                f"descent track lit, Earth {100 * j.earth_fraction:.0f}% of its disk in view, "
                f"{'at least ' if j.lit_to_search_end else ''}{j.lit_hours_after_h:.0f} h of light ahead to commission the rover.")
    else:
        head = (f"<b>WARNING: landing epoch {str(choice.epoch)[:19]} UTC ({how}) is OUTSIDE every landing window</b>: "
                f"{html.escape(j.reason)}. The descent was flown as asked; where the terrain its camera images is in shadow it gets no "
                "crater fixes and navigates on IMU and altimeter alone.")
    ws = "; ".join(f"{str(w.start)[:16]} to {str(w.end)[:16]}" for w in choice.windows[:5])
    tail = (f"Landing windows (UTC) found in the {choice.search_days:g} days from {choice.search_start}: "
            f"{ws or 'none'}.")
    return [head, tail]


def landing_sections(result, dem) -> list[Section]:
    """Return the report's landing section (id ``landing``): statistics, error plots and rendered frames."""
    s = result.summary
    lon, lat = result.target_lonlat
    stats = pd.DataFrame(
        [
            ("descents", f"{int(s['n_runs'])}"),
            ("success rate", f"{100 * s['success_rate']:.0f}%"),
            ("navigation error at 50 m, median / 99th pct (m)", f"{s['nav_err_50m_median_m']:.2f} / {s['nav_err_50m_p99_m']:.2f}"),
            ("landing error from the target, median / 99th pct (m)", f"{s['landing_error_median_m']:.1f} / {s['landing_error_p99_m']:.1f}"),
            ("error from the (retargeted) aim point, median / 99th pct (m)", f"{s['aim_error_median_m']:.2f} / {s['aim_error_p99_m']:.2f}"),
            ("hazard retargets", f"{100 * s['retarget_rate']:.0f}% of descents"),
            ("3-sigma dispersion ellipse about the aim point, semi-axes (m; k = 3, 98.9 % of a 2-D Gaussian)",
             f"{s['ellipse_3sigma_major_m']:.1f} x {s['ellipse_3sigma_minor_m']:.1f}"),
            ("99.73 % dispersion ellipse, semi-axes (m; k = 3.44)",
             f"{s.get('ellipse_p9973_major_m', float('nan')):.1f} x {s.get('ellipse_p9973_minor_m', float('nan')):.1f}"),
            ("touchdown spread about the target incl. hazard retargets, 3-sigma semi-axes (m)",
             f"{s.get('touchdown_spread_3sigma_major_m', float('nan')):.1f} x "
             f"{s.get('touchdown_spread_3sigma_minor_m', float('nan')):.1f}"),
            ("worst touchdown: vertical / horizontal speed (m/s), slope (deg)",
             f"{s['v_vert_max_mps']:.2f} / {s['v_horiz_max_mps']:.2f}, {s['slope_max_deg']:.1f}"),
            ("propellant, mean / max (kg)", f"{s['propellant_mean_kg']:.0f} / {s['propellant_max_kg']:.0f}"),
            ("failures", ", ".join(f"{k}: {v}" for k, v in dict(s["failures"]).items()) or "none"),
        ],
        columns=["quantity", "value"],
    )
    by_vision = vision_table(s.get("by_vision", {}))
    paras = [
        f"Target: the best landing site, lat {lat:.4f}, lon {lon:.3f} (x {result.target_xy[0]:.0f} m, "
        f"y {result.target_xy[1]:.0f} m). Sun {result.sun_elevation_deg:.2f} deg above the horizon there at the landing "
        "epoch (SPICE). Powered descent from 15 km at about 1.7 km/s (SLIM-like) with E-guidance, an EKF fusing IMU, "
        "laser altimeter (range jumps over crater rims kept, not rejected) and vision fixes, hazard detection at "
        "hover and retargeting within 60 m; touchdown limits of Chandrayaan-3 (2 m/s vertical, 0.5 m/s horizontal, "
        "12 deg). Anchors: SLIM's navigation error before its last manoeuvre was 3-4 m; Mars 2020 LVS landed 5 m "
        "from target. Vision fixes in the Monte Carlo are simulated at about one camera GSD; the frames below run "
        "the real renderer, crater detector and pose solver.",
    ]
    paras = window_paragraphs(getattr(result, "window", None))[:1] + paras + window_paragraphs(getattr(result, "window", None))[1:]
    rv = s.get("by_vision", {}).get("rendered")
    if rv:
        paras.append(
            f"{rv['n_runs']} of the descents flew the real vision chain instead (rendered frames at sparse altitudes, "
            "crater detection and identification or template matching, PnP), with simulated fixes only while the point "
            "below the lander was beyond the DEM (the approach map a mission carries). A frame without a fix leaves "
            f"the filter on IMU and altimeter. {rv['fixes']} of {rv['frames']} rendered frames gave a fix; the second "
            "table compares the two vision models and says why the other frames gave none.")
    figs = [
        ("Touchdown points around the target, with the 3-sigma ellipse", fig_landing_scatter(result.runs, dem, result.target_xy)),
        ("Navigation error against altitude", fig_nav_error_vs_altitude(result.runs)),
        ("Touchdown velocities against the limits", fig_touchdown_velocity(result.runs)),
    ]
    figs += [(f"Rendered descent frame at {f.altitude_m:,.0f} m above the target, detected craters in cyan",
              frame_png(f)) for f in result.frames]
    tables = ([table_html(stats, source="landing_runs.parquet", caption="Monte Carlo statistics over the descents")]
              + ([table_html(by_vision, source="landing_summary.json", caption="Rendered vs simulated vision")]
                 if len(by_vision) else [])
              + [table_html(result.frame_table, source="landing_frames.csv", caption="Rendered descent frames")])
    return [Section("landing", "Landing", paras, figs, tables)]


_CAUSES = {"outside_map": "frame beyond the DEM", "dark": "dark frame", "no_craters": "too few craters",
           "id_failed": "identification / pose failed"}


def vision_table(by_vision: dict) -> pd.DataFrame:
    """Rendered vs simulated vision: navigation error at 50 m and landing error (median / p99), fixes and causes."""
    rows = []
    for kind, v in by_vision.items():
        row = {"vision": kind, "descents": v["n_runs"], "success": f"{100 * v['success_rate']:.0f}%",
               "nav error at 50 m, median / p99 (m)": f"{v['nav_err_50m_median_m']:.2f} / {v['nav_err_50m_p99_m']:.2f}",
               "landing error, median / p99 (m)": f"{v['landing_error_median_m']:.1f} / {v['landing_error_p99_m']:.1f}",
               "error from the aim point, median / p99 (m)": f"{v['aim_error_median_m']:.2f} / {v['aim_error_p99_m']:.2f}",
               "frames with a fix": "-", "no fix, by cause": "-"}
        if kind == "rendered":
            err = v["fix_error_median_m"]
            row["frames with a fix"] = (f"{v['fixes']} / {v['frames']}"
                                        + (f" (median fix error {err:.1f} m)" if err == err else "")
                                        + (f", {v['fixes_rejected_by_filter']} rejected by the filter"
                                           if v["fixes_rejected_by_filter"] else ""))
            row["no fix, by cause"] = ", ".join(f"{_CAUSES.get(c, c)}: {n}" for c, n in v["no_fix"].items() if n) or "none"
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- Monte Carlo figures (PNG bytes)


def _png(fig) -> bytes:
    return png_bytes(fig, dpi=110, tight_layout=False, bbox_tight=True)


def fig_landing_scatter(df: pd.DataFrame, dem=None, target_xy=None, half_width_m: float = 100.0) -> bytes:
    """Touchdown points, the 3-sigma dispersion ellipse (and the spread with retargets) over a hillshade.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per Monte Carlo run (:mod:`lupex.landing.montecarlo`): touchdown offsets ``dx_m``, ``dy_m`` from
        the target (m), ``success``, ``retarget_m`` (m) and, when present, the aim-point offsets the ellipse is
        drawn about (:func:`lupex.landing.montecarlo.landing_ellipse`).
    dem : xr.DataArray, optional
        Site heights, m, with ``x``/``y`` in m (or an object holding one as ``.dem``); None: no hillshade.
    target_xy : tuple of float, optional
        Target (x, y), m, in the DEM's CRS; None: ``df.attrs["target_xy"]``, else (0, 0).
    half_width_m : float
        Half the side of the square shown around the target, m.

    Returns
    -------
    bytes
        The PNG file.
    """
    target_xy = target_xy or df.attrs.get("target_xy", (0.0, 0.0))
    fig, ax = plt.subplots(figsize=(6, 6))
    if dem is not None:
        dem = getattr(dem, "dem", dem)
        sub = dem.sel(x=slice(target_xy[0] - half_width_m, target_xy[0] + half_width_m),
                      y=slice(target_xy[1] + half_width_m, target_xy[1] - half_width_m))
        z = sub.values
        p = float(abs(sub.x[1] - sub.x[0]))
        gy, gx = np.gradient(z, p)
        az, el = np.radians(315.0), np.radians(45.0)
        slope = np.arctan(np.hypot(gx, gy))
        aspect = np.arctan2(-gx, gy)
        shade = np.sin(el) * np.cos(slope) + np.cos(el) * np.sin(slope) * np.cos(az - aspect)
        ax.imshow(shade, cmap="gray", extent=(float(sub.x[0]) - target_xy[0], float(sub.x[-1]) - target_xy[0],
                                              float(sub.y[-1]) - target_xy[1], float(sub.y[0]) - target_xy[1]))
    ok = df.success.to_numpy(bool)
    ax.scatter(df.dx_m[ok], df.dy_m[ok], s=10, c="tab:green", label="success")
    ax.scatter(df.dx_m[~ok], df.dy_m[~ok], s=18, c="tab:red", marker="x", label="failure")
    c, a, b, ang = landing_ellipse(df)
    # the dispersion about the aim point, drawn where an un-retargeted descent lands (target + mean aim offset)
    ax.add_patch(Ellipse(c, 2 * a, 2 * b, angle=ang, fill=False, color="yellow", lw=2,
                         label="3-sigma dispersion about the aim point (98.9 %)"))
    if (df.retarget_m.fillna(0) > 0).any():
        tc, ta, tb, tang = landing_ellipse(df, about="target")
        ax.add_patch(Ellipse(tc, 2 * ta, 2 * tb, angle=tang, fill=False, color="orange", lw=1.2, ls="--",
                             label="touchdown spread incl. hazard retargets"))
    ax.plot(0, 0, "c+", ms=14, mew=2, label="target")
    ax.set_xlabel("x - target (m)")
    ax.set_ylabel("y - target (m)")
    ax.set_xlim(-half_width_m, half_width_m)
    ax.set_ylim(-half_width_m, half_width_m)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"Touchdown points ({len(df)} runs)")
    return _png(fig)


def fig_nav_error_vs_altitude(df: pd.DataFrame) -> bytes:
    """Median and 99th-percentile navigation error vs altitude (log-log)."""
    t = nav_error_table(df)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(t.altitude_m, t.median_m, "o-", label="median")
    ax.loglog(t.altitude_m, t.p99_m, "s--", label="99th pct")
    ax.axhline(3.0, color="gray", ls=":", label="goal at 50 m (3 m)")
    ax.invert_xaxis()
    ax.set_xlabel("altitude above terrain (m)")
    ax.set_ylabel("position error (m)")
    ax.legend()
    return _png(fig)


def fig_touchdown_velocity(df: pd.DataFrame, limits: TouchdownParams = TouchdownParams()) -> bytes:
    """Histograms of touchdown vertical and horizontal speed with the limits."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.5))
    a1.hist(df.v_vert_mps, bins=20, color="tab:blue")
    a1.axvline(limits.max_vertical_m_s, color="r", ls="--")
    a1.set_xlabel("vertical speed (m/s)")
    a2.hist(df.v_horiz_mps, bins=20, color="tab:orange")
    a2.axvline(limits.max_horizontal_m_s, color="r", ls="--")
    a2.set_xlabel("horizontal speed (m/s)")
    a1.set_ylabel("runs")
    return _png(fig)


def frame_png(frame) -> bytes:
    """PNG of one rendered descent frame (:class:`lupex.mission.landing_phase.LandingFrame`).

    The detected craters are circled in cyan and the fix's error is in the title.
    """
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=90)
    ax.imshow(frame.image, cmap="gray", interpolation="nearest")
    for u, v, r in zip(frame.crater_u_px, frame.crater_v_px, frame.crater_radius_px):
        ax.add_patch(Circle((u, v), r, fill=False, color="cyan", lw=0.7))
    err = frame.error_m
    fix = f"{frame.method} fix, {err:.1f} m off" if np.isfinite(err) else "no fix"
    ax.set_title(f"{frame.altitude_m:,.0f} m: {len(frame.crater_u_px)} craters detected; {fix}", fontsize=8)
    ax.set_axis_off()
    return png_bytes(fig)
