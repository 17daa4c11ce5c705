"""The site-analysis part of the run report: maps, tables and time series."""

from __future__ import annotations

import html

import numpy as np

from lupex.report.figures import hillshade, map_png, series_png
from lupex.report.html import Section, table_html
from lupex.terrain.geo import pixel_size_m


def _horizon_note(st, em: float) -> str:
    """What the horizons were made of: the site DEM alone, or with far-field DEMs (named, with their reach).

    The far field reaches far beyond this map (e.g. +-184 km for the LOLA polar cap against a 16 km site),
    so its extent is written out instead of drawn.
    """
    dems = str(st.attrs.get("far_field_dems", ""))
    if not dems:
        return (f"Horizons stop where the DEM ends, so values outside the dashed box ({em:g} m inside the border) "
                "are optimistic; landing sites are only taken inside it.")
    reach = float(st.attrs.get("far_field_max_m", 0.0))
    names = ", ".join(html.escape(d.strip().rsplit("/", 1)[-1]) for d in dems.split(";"))
    where = f"out to {reach / 1000:g} km from the site's centre" if reach > 0 else "out to their edge"
    return (f"Horizons include the terrain beyond this DEM from the far-field DEMs {names}, {where} "
            f"(lupex.light.farfield); cells near the border still see their nearest surroundings only at the far "
            f"field's resolution. Landing sites are taken inside the dashed box ({em:g} m inside the border).")


def _site_section(result, hs, px: float) -> Section:
    """The site: its DEM, size and elevation range, hillshade and elevation maps."""
    dem = result.dem
    sites = result.sites
    name = html.escape(str(dem.attrs.get("long_name", dem.attrs.get("source", "DEM"))))
    z = np.asarray(dem)
    return Section(
        "site", "Site",
        [
            f"{name}: {dem.shape[1]} x {dem.shape[0]} cells at {px:g} m "
            f"({dem.shape[1] * px / 1000:.1f} x {dem.shape[0] * px / 1000:.1f} km), "
            f"elevation {np.nanmin(z):.0f} to {np.nanmax(z):.0f} m relative to the 1737.4 km sphere.",
            "On the maps below, colour scales span the 2nd to 98th percentile of each map (arrows on the colour "
            "bar mark values beyond it), numbered rings mark the ranked candidate landing sites, 0/1 masks are "
            "blue (yes) and orange (no), and the bar in the lower left gives the scale. Every figure zooms: "
            "double-click where to look (Shift+double-click zooms out) or use its + and - buttons, drag to pan.",
        ],
        [
            ("Hillshade (sun from grid azimuth 315 deg, 30 deg high, for relief only)",
             map_png(dem.copy(data=hs), "Hillshade", cmap="gray", vmin=0, vmax=1)),
            ("Elevation (m) over the hillshade, with the candidate landing sites; colours span the 2nd to 98th percentile", map_png(dem, "Elevation", cmap="viridis", label="m", background=hs, sites=sites)),
        ],
    )


def _hazard_section(result, cfg, hs) -> Section:
    """Slopes, lander-safe ground and roughness."""
    sites = result.sites
    safe_pct = 100.0 * float(np.mean(np.asarray(result.lander_safe)))
    rsafe_pct = 100.0 * float(np.mean(np.asarray(result.rover_safe)))
    return Section(
        "hazards", "Slopes and hazards",
        [
            f"Lander slope limit {cfg.lander.max_slope_deg:g} deg: {safe_pct:.1f}% of the site is within it. "
            f"Rover slope limit {cfg.rover.max_slope_deg:g} deg: {rsafe_pct:.1f}% traversable.",
        ],
        [
            ("Slope at the lander baseline (deg)",
             map_png(result.slope_lander_deg, "Slope (lander baseline)", cmap="magma", label="deg", vmin=0,
                     sites=sites)),
            (f"Lander-safe ground (slope within {cfg.lander.max_slope_deg:g} deg) in blue, too steep in orange",
             map_png(result.lander_safe.astype(float), "Lander-safe", background=hs, sites=sites,
                     mask_labels=(f"slope within {cfg.lander.max_slope_deg:g} deg", "too steep"))),
            (f"RMS roughness at {cfg.rover.roughness_baseline_m:g} m (m)",
             map_png(result.roughness_m, "Roughness", cmap="cividis", label="m", vmin=0, sites=sites)),
        ],
    )


def _light_section(result, cfg, hs, px: float) -> Section:
    """Mean illumination, longest darkness and permanent shadow over the span."""
    st = result.light
    sites = result.sites
    span = f"{str(result.times[0])[:16]} to {str(result.times[-1])[:16]} UTC, {result.times.size} steps of {cfg.time.step_hours:g} h"
    ps_km2 = float(np.sum(np.asarray(st["permanent_shadow"]))) * px * px / 1e6
    em = cfg.sites.edge_margin_m
    return Section(
        "light", "Illumination",
        [
            f"Span {span}; observer {cfg.light.observer_height_m:g} m above ground; {cfg.light.n_azimuths} horizon azimuths. "
            f"Best mean illumination {float(np.nanmax(st['illumination_pct'])):.1f}%; "
            f"permanently shadowed over the span: {ps_km2:.2f} km^2. " + _horizon_note(st, em),
        ],
        [
            ("Mean illumination (% of the solar disk, time-averaged)",
             map_png(st["illumination_pct"], "Mean illumination", cmap="inferno", label="%", sites=sites, margin_m=em)),
            ("Longest continuous darkness (h)",
             map_png(st["longest_darkness_h"], "Longest darkness", cmap="viridis_r", label="h", sites=sites, margin_m=em)),
            ("Permanent shadow over the span (never any part of the Sun visible) in blue, sunlit at some time in orange",
             map_png(st["permanent_shadow"].astype(float), "Permanent shadow", background=hs, sites=sites,
                     mask_labels=("permanently shadowed", "sunlit at some time"))),
        ],
    )


def _earth_section(result, cfg) -> Section:
    """Earth visibility, alone and with the Sun."""
    st = result.light
    sites = result.sites
    em = cfg.sites.edge_margin_m
    return Section(
        "earth", "Earth visibility",
        [f"Earth visible when at least {cfg.light.earth_threshold:.0%} of its disk is above the horizon."],
        [
            ("Earth visible (% of time)",
             map_png(st["earth_visible_pct"], "Earth visible", cmap="cividis", label="%", sites=sites, margin_m=em)),
            ("Sun and Earth both visible (% of time)",
             map_png(st["sun_and_earth_pct"], "Sun and Earth", cmap="viridis", label="%", sites=sites, margin_m=em)),
        ],
    )


def _sites_section(result, cfg) -> Section:
    """The ranked candidate landing sites as a table."""
    sites = result.sites
    cols = ["rank", "lat_deg", "lon_deg", "x_m", "y_m", "elevation_m", "slope_deg", "illumination_pct",
            "earth_visible_pct", "sun_and_earth_pct", "longest_darkness_h", "score"]
    return Section(
        "sites", "Candidate landing sites",
        [
            f"Cells whose whole {cfg.lander.landing_radius_m:g} m landing disk is within {cfg.lander.max_slope_deg:g} deg "
            f"of slope, ranked by {cfg.sites.weight_sun:g} x illumination + {cfg.sites.weight_earth:g} x Earth time + "
            f"{cfg.sites.weight_night:g} x (1 - longest darkness / span), at least {cfg.sites.min_separation_m:g} m apart. "
            "Also in sites.geojson and sites.csv."
        ],
        [],
        [table_html(sites[cols], source="sites.csv", caption="Candidate landing sites")],
    )


def _series_section(result) -> Section:
    """Visible fractions of the Sun's and Earth's disks at the top sites over the span."""
    ser = result.series
    figs = []
    for i in range(ser.sizes.get("point", 0)):
        p = ser.isel(point=i)
        label = str(p["label"].values).capitalize()
        figs.append((
            f"{label}: visible fraction of the Sun's and Earth's disks",
            series_png(ser["time"].values, {"Sun": p["sun_fraction"].values, "Earth": p["earth_fraction"].values},
                       label, "visible fraction", ylim=(-0.02, 1.02)),
        ))
    return Section("series", "Sun and Earth at the top sites", [], figs)


def site_sections(result, cfg) -> list[Section]:
    """Report sections for the site phase (ids: site, hazards, light, earth, sites, series)."""
    dem = result.dem
    px = pixel_size_m(dem)
    hs = hillshade(np.asarray(dem), px)
    return [_site_section(result, hs, px), _hazard_section(result, cfg, hs), _light_section(result, cfg, hs, px),
            _earth_section(result, cfg), _sites_section(result, cfg), _series_section(result)]
