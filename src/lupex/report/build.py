"""The report's entry point: every figure of a run and its ``report.html``, drawn from the phases' results.

The phases (:mod:`lupex.mission`) return numbers; :func:`lupex.mission.run.run_mission` calls the
``report`` it is handed (``lupex run`` hands it :func:`build_report`) inside the run directory once every
phase has run, before the manifest, so the report and the figures that are products of their own
(``drilling_*.png``) are written, journaled and published like every other product.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import TYPE_CHECKING

from lupex import __version__
from lupex.io import write_text
from lupex.mission.site_analysis import site_provenance
from lupex.report import html as report_html  # render looked up at call time: tests spy on it
from lupex.report.budget import budget_sections
from lupex.report.campaign import campaign_sections
from lupex.report.drilling import drilling_sections, with_example_figures
from lupex.report.landing import landing_sections
from lupex.report.rover import rover_sections
from lupex.report.site import site_sections
from lupex.report.subsurface import subsurface_sections
from lupex.report.summary import summary_first
from lupex.report.survey import survey_sections

if TYPE_CHECKING:
    from lupex.config import Config
    from lupex.mission.run import MissionResult
    from lupex.report.html import Section

TITLE = "lupex mission report"


def build_report(work: Path, result: MissionResult, cfg: Config) -> Path:
    """Return the path of ``report.html``, written into ``work`` with every section and figure of ``result``.

    Also writes the drilling example figures (``drilling_*.png``) beside it. ``result`` is what
    :func:`lupex.mission.run.run_mission` holds at its end; ``cfg`` the run's configuration.
    """
    drilling = result.drilling
    if drilling is not None:  # products of their own, written beside the tables they illustrate
        drilling = with_example_figures(drilling, work)
    result = dataclasses.replace(result, drilling=drilling)
    sections = summary_first(result.verdicts, _lead(result, cfg), phase_sections(result, cfg))
    page = report_html.render(TITLE, _meta(cfg, result.site), sections, _warning(result))
    return write_text(work / "report.html", page)


def phase_sections(result: MissionResult, cfg: Config) -> list[Section]:
    """Return the report's sections after the summary, one or more per phase that ran, in the order of the run."""
    site = result.site
    return (site_sections(site, cfg)
            + (landing_sections(result.landing, site.dem) if result.landing else [])
            + subsurface_sections(result.ground_truth, site, cfg)
            + (rover_sections(result.rover, site) if result.rover else [])
            + (survey_sections(result.survey) if result.survey else [])
            + (drilling_sections(result.drilling) if result.drilling else [])
            + (campaign_sections(result.campaign, result.campaign_mc) if result.campaign else [])
            + budget_sections(result.budget))


def _lead(result: MissionResult, cfg: Config) -> dict:
    """Return the keywords of :func:`lupex.report.summary.summary_sections`.

    The phases the overview map and the timeline draw, and the light thresholds.
    """
    return dict(site=result.site, landing=result.landing, rover=result.rover, drilling=result.drilling,
                campaign=result.campaign, dark_threshold=cfg.vehicle.survival.dark_threshold,
                earth_threshold=cfg.vehicle.comms.earth_threshold)


def _meta(cfg: Config, site) -> str:
    """Return the report's header line: lupex's version, the site and its data, the span."""
    return (f"lupex {__version__}; site: {site_line(cfg, site)}; span from {cfg.time.start} for "
            f"{cfg.time.days:g} days; configuration in config.toml")


def _warning(result: MissionResult) -> str:
    """Return the banner over the report: a synthetic site, and what the run could not do (HTML)."""
    warn = ""
    if result.site.synthetic:
        warn = ("This site is SYNTHETIC: procedurally generated terrain that measures like the lunar south pole, "
                "not a real place. Run with --dem on a LOLA product for a real site.")
    if result.notes:  # html.escape: a planner message may hold "<" or "&"
        warn = " ".join([warn] + [html.escape(n) for n in result.notes]).strip()
    return warn


def site_line(cfg: Config, site) -> str:
    """Return one line naming the site and its data, for the report's header."""
    prov = site_provenance(cfg, site.dem)
    if prov["kind"] == "synthetic":
        return f"SYNTHETIC (procedural, seed {cfg.site.seed})"
    if prov["kind"] == "dem":
        far = f"; far field {', '.join(prov['far_field'])}" if prov["far_field"] else ""
        return f"{cfg.site.dem}{far}"
    files = "; ".join(f"{f['role']}: {f['title']} ({f['citation']})" for f in prov["files"])
    return f"{prov['title']}, real LOLA terrain [{files}]"
