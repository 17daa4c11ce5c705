"""A self-contained HTML report: inline CSS, figures embedded as base64 PNG.

It opens offline in any browser (no CDN, no script). Each section has an id so
tests (and people) can find it; each figure has an ``alt`` text.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

SUMMARY_CSS = (  # the verdict table of lupex.report.summary
    ".verdicts td,.verdicts th{text-align:left;vertical-align:top}"
    ".status{font-weight:bold;white-space:nowrap}"
    ".overall{font-size:1.15em;padding:.4em .8em;display:inline-block;font-weight:bold}"
    ".verdicts details{font-size:.9em;color:#333}"
)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#1b1b1b;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
.meta{color:#555;font-size:.9em} .warn{background:#fff4d6;border-left:4px solid #e0a800;padding:.5em 1em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f2f2f2} td:first-child,th:first-child{text-align:left}
figure{display:inline-block;margin:.4em;vertical-align:top} figcaption{font-size:.8em;color:#444;max-width:580px}
img{max-width:100%}
"""
_CSS += SUMMARY_CSS


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)  # trusted HTML snippets built by lupex
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, png)
    tables: list[str] = field(default_factory=list)  # HTML tables
    lead: bool = False  # drawn before the table of contents (the summary: bad news goes first)


def table_html(df, floatfmt: str = "{:.2f}", max_rows: int = 50) -> str:
    """An HTML table from a DataFrame with values escaped and floats formatted."""
    cols = list(df.columns)
    out = ["<table><thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols) + "</tr></thead><tbody>"]
    for _, row in df.head(max_rows).iterrows():
        cells = []
        for c in cols:
            v = row[c]
            s = floatfmt.format(v) if isinstance(v, float) else str(v)
            cells.append(f"<td>{html.escape(s)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render(title: str, meta: str, sections: list[Section], warning: str = "") -> str:
    """The whole report as one HTML string."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='meta'>{meta}</p>",
    ]
    if warning:
        parts.append(f"<p class='warn'>{warning}</p>")
    nav = "<nav><ul>" + "".join(f"<li><a href='#{s.id}'>{html.escape(s.title)}</a></li>" for s in sections) + "</ul></nav>"
    lead = [s for s in sections if s.lead]
    for s in lead + [nav] + [s for s in sections if not s.lead]:
        if isinstance(s, str):
            parts.append(s)
            continue
        parts.append(f"<section id='{s.id}'><h2>{html.escape(s.title)}</h2>")
        parts.extend(f"<p>{p}</p>" for p in s.paragraphs)
        parts.extend(s.tables)
        for cap, png in s.figures:
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img alt='{html.escape(cap, quote=True)}' src='data:image/png;base64,{b64}'>"
                f"<figcaption>{html.escape(cap)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
