"""The launch-to-landing budget section of the report."""

from __future__ import annotations

import html

from lupex.report.html import Section, table_html


def budget_sections(budget) -> list[Section]:
    cols = ["phase", "stage", "dv_ideal_m_s", "dv_m_s", "isp_s", "mass_before_kg", "mass_after_kg", "propellant_kg",
            "jettisoned_kg"]
    tab = budget.table[cols].copy()
    verdict = html.escape(budget.verdict())
    return [Section(
        "budget", "Launch to landing: delta-v and mass budget",
        [
            f"<b>{verdict}</b>",
            "H3 from Tanegashima into a GTO-like parking orbit, propulsion module to a 100 km polar lunar orbit, "
            "lander from there to the surface (patched conics and the rocket equation, per-manoeuvre Isp and margins; "
            "every assumption is listed with its source in lupex.mission.budget.BudgetParams). Also in budget.csv.",
        ],
        [],
        [table_html(tab, floatfmt="{:,.0f}")],
    )]
