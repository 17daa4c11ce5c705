"""The rover part of the report: the first traverse and the nights at the drill site."""

from __future__ import annotations

from lupex.report.html import Section, table_html


def rover_sections(result) -> list[Section]:
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
    figs = [("Planned traverse on the illumination map (mean % over the span), coloured by the state of charge",
             result.map_png),
            ("State of charge and temperatures along the traverse", result.profile_png)]
    return [Section("rover", "Rover: first traverse and nights", paras, figs,
                    [table_html(result.survival[cols], source="rover_survival.csv",
                                caption="Dark periods at the drill site") if len(result.survival) else "<p>No dark period in the month.</p>"])]
