"""The launch-to-landing budget section of the report."""

from __future__ import annotations

import html

from lupex.report.html import Section, table_html


def budget_sections(budget) -> list[Section]:
    """Return the report's launch-to-landing budget section (id ``budget``)."""
    cols = ["phase", "stage", "dv_ideal_m_s", "dv_m_s", "isp_s", "mass_before_kg", "mass_after_kg", "propellant_kg",
            "jettisoned_kg"]
    tab = budget.table[cols].copy()
    verdict = html.escape(budget.verdict())
    tables = [table_html(tab, floatfmt="{:,.0f}", source="budget.csv", caption="Delta-v and mass per manoeuvre")]
    closing = getattr(budget, "closing", None)
    paras = [
        f"<b>{verdict}</b>",
        "H3 from Tanegashima into a GTO-like parking orbit, propulsion module to a 100 km polar lunar orbit, "
        "lander from there to the surface (patched conics and the rocket equation, per-manoeuvre Isp and margins; "
        "every assumption is listed with its source in lupex.mission.budget.BudgetParams). Also in budget.csv.",
    ]
    if hasattr(budget, "descent_line"):
        paras.append(html.escape(budget.descent_line()[0].upper() + budget.descent_line()[1:]) + ".")
    if closing is not None and len(closing):
        paras.append("What would close it: each assumption alone, the value that makes the deliverable payload "
                     "equal the requirement (sorted by the relative change needed; the first is the binding one; "
                     "a dash where no physical value does).")
        c = closing.reset_index()[["parameter", "value", "unit", "closing_value", "change", "change_frac"]]
        c["change_frac"] = 100 * c["change_frac"]
        c = c.astype(object).where(c.notna(), "")
        tables.append(table_html(c.rename(columns={"change_frac": "change_pct"}), floatfmt="{:,.4g}",
                                  source="budget_closing.csv", caption="What would close the budget"))
    return [Section("budget", "Launch to landing: delta-v and mass budget", paras, [], tables)]
