"""A self-contained HTML report: inline CSS, figures embedded as base64 PNG.

It opens offline in any browser (no CDN, nothing fetched). One small inline script of lupex's own lets
the reader pan and zoom every figure. Each section has an id so tests (and people) can find it; each
figure has an ``alt`` text; each table from a product file links to it (relative href) in its caption.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
caption{caption-side:top;text-align:left;font-size:.85em;color:#444;padding:.2em 0}
"""
_CSS += SUMMARY_CSS
_CSS += (".zv{overflow:hidden;position:relative;touch-action:none;cursor:zoom-in}"
         ".zv img{display:block;transform-origin:0 0}.zv.zoomed{cursor:grab}"
         ".zbar{font-size:.75em;margin-bottom:2px}.zbar button{margin-right:3px;padding:0 6px}")

# Pan and zoom for every figure, offline (no library): "+" / "-" / "1:1" buttons, double-click to zoom in
# where clicked, the wheel zooms once a figure is zoomed (or with Ctrl/Shift held, so the page still scrolls),
# drag to pan. The image itself is only transformed: no element is added that loads anything.
_ZOOM_JS = """
(function(){
 document.querySelectorAll('figure .zv').forEach(function(box){
  var img=box.querySelector('img'); if(!img) return;
  var s=1,tx=0,ty=0,drag=null;
  function apply(){
   if(s<=1.0001){s=1;tx=0;ty=0;}
   var w=box.clientWidth,h=box.clientHeight;
   tx=Math.min(0,Math.max(w-w*s,tx)); ty=Math.min(0,Math.max(h-h*s,ty));
   img.style.transform='translate('+tx+'px,'+ty+'px) scale('+s+')';
   box.classList.toggle('zoomed',s>1);
  }
  function zoomAt(f,cx,cy){var ns=Math.min(10,Math.max(1,s*f));tx=cx-(cx-tx)*ns/s;ty=cy-(cy-ty)*ns/s;s=ns;apply();}
  function centre(f){zoomAt(f,box.clientWidth/2,box.clientHeight/2);}
  var bar=document.createElement('div'); bar.className='zbar';
  [['+','zoom in',function(){centre(1.5);}],['\\u2212','zoom out',function(){centre(1/1.5);}],
   ['1:1','whole figure',function(){s=1;apply();}]].forEach(function(b){
    var e=document.createElement('button'); e.type='button'; e.textContent=b[0]; e.title=b[1];
    e.addEventListener('click',b[2]); bar.appendChild(e);});
  box.parentNode.insertBefore(bar,box);
  box.addEventListener('dblclick',function(e){var r=box.getBoundingClientRect();
   zoomAt(e.shiftKey?0.5:2,e.clientX-r.left,e.clientY-r.top);e.preventDefault();});
  box.addEventListener('wheel',function(e){
   if(s===1&&!e.ctrlKey&&!e.shiftKey) return;
   e.preventDefault(); var r=box.getBoundingClientRect();
   zoomAt(e.deltaY<0?1.2:1/1.2,e.clientX-r.left,e.clientY-r.top);},{passive:false});
  box.addEventListener('pointerdown',function(e){if(s===1) return; drag=[e.clientX-tx,e.clientY-ty];
   box.setPointerCapture(e.pointerId); e.preventDefault();});
  box.addEventListener('pointermove',function(e){if(!drag) return; tx=e.clientX-drag[0]; ty=e.clientY-drag[1]; apply();});
  box.addEventListener('pointerup',function(){drag=null;});
  box.addEventListener('pointercancel',function(){drag=null;});
 });
})();
"""


@dataclass
class Section:
    """One section of the report: id, title, paragraphs (HTML), figures (caption, PNG bytes) and tables (HTML)."""

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)  # trusted HTML snippets built by lupex
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, png)
    tables: list[str] = field(default_factory=list)  # HTML tables
    lead: bool = False  # drawn before the table of contents (the summary: bad news goes first)


DASH = "\u2014"  # an absent value (NaN, None, not applicable) in a table


def fmt_number(x, sig: int = 3) -> str:
    """Return ``x`` to ``sig`` significant digits as a reader writes it.

    Thousands separators and no exponent between 0.001 and 10^9 (887,000 rather than 8.87e+05), an exponent
    outside; an em dash when not finite.
    """
    x = float(x)
    if not math.isfinite(x):
        return DASH
    if x == 0.0:
        return "0"
    x = float(f"{x:.{max(sig - 1, 0)}e}")  # rounded first: 99.96 to 3 digits is 100, not 100.0
    mag = math.floor(math.log10(abs(x)))
    if not -3 <= mag < 9:
        return f"{x:.{max(sig - 1, 0)}e}"
    decimals = sig - 1 - mag
    if decimals <= 0:
        return f"{round(x, decimals):,.0f}"  # negative ndigits: 887,123 -> 887,000
    return f"{x:,.{decimals}f}"


def fmt_value(v, floatfmt: str = "{:.2f}") -> str:
    """Return one table cell as text.

    One table cell as text: NaN, None and +-inf as an em dash (absent), floats through ``floatfmt`` but never
    with more than 6 significant digits, timestamps to the minute, sequences and mappings spelled out.
    """
    if v is None or v is pd.NaT:
        return DASH
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if not math.isfinite(x):
            return DASH
        s = floatfmt.format(x)
        if "e" in s.lower() and 1e-3 <= abs(x) < 1e9:  # "{:.3g}" on 40000.0 gives 4e+04: write 40,000
            s = fmt_number(x, max(_sig_digits(s), 1))
        if _sig_digits(s) > 6:  # e.g. "{:.2f}" on 12345678.9: round, keep the thousands separators
            s = f"{x:,.6g}" if abs(x) < 1e15 else f"{x:.3e}"
        return s
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        t = pd.Timestamp(v)
        return DASH if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, (pd.Timedelta, np.timedelta64)):
        td = pd.Timedelta(v)
        return DASH if pd.isna(td) else f"{td.total_seconds() / 3600:.1f} h"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {fmt_value(x, floatfmt)}" for k, x in v.items()) or DASH
    if isinstance(v, (list, tuple, np.ndarray)):
        return ", ".join(fmt_value(x, floatfmt) for x in v) or DASH
    s = str(v)
    return DASH if s.strip().lower() in ("nan", "none", "inf", "-inf", "nat", "") else s


def _sig_digits(s: str) -> int:
    """Significant digits printed in a formatted number (its mantissa's digits without leading zeros)."""
    m = s.lower().split("e")[0]
    d = "".join(ch for ch in m if ch.isdigit()).lstrip("0")
    return len(d)


# unit suffixes of lupex column names (STYLE.md: one spelling per unit) and how a reader writes them
_UNIT_SUFFIXES = (("_wt_pct", "wt%"), ("_m_s2", "m/s\u00b2"), ("_m_s", "m/s"), ("_cm3", "cm\u00b3"), ("_kwh", "kWh"),
                  ("_wh", "Wh"), ("_kg", "kg"), ("_deg", "deg"), ("_pct", "%"), ("_km", "km"), ("_m", "m"),
                  ("_h", "h"), ("_s", "s"), ("_k", "K"), ("_w", "W"), ("_frac", "fraction"), ("_utc", "UTC"))

_WORDS = {"soc": "SoC", "isp": "Isp", "dv": "delta-v", "weh": "WEH", "gpr": "GPR", "ns": "NS", "lat": "latitude",
          "lon": "longitude", "sd": "SD", "ci": "CI", "earth": "Earth", "sun": "Sun"}


def pretty_header(name) -> str:
    """A column name for a reader: ``dv_ideal_m_s`` -> ``dv ideal (m/s)``; names without underscores unchanged."""
    n = str(name)
    if "_" not in n:
        return n
    unit = ""
    for suffix, u in _UNIT_SUFFIXES:
        if n.endswith(suffix) and len(n) > len(suffix):
            n, unit = n[: -len(suffix)], f" ({u})"
            break
    return " ".join(_WORDS.get(w, w) for w in n.split("_")) + unit


def source_link(path: str, what: str = "") -> str:
    """A caption linking a table or figure to its product file in the run directory (relative href)."""
    p = html.escape(path, quote=True)
    return f"{html.escape(what) + ' ' if what else ''}data: <a class='src' href='{p}'>{html.escape(path)}</a>"


def table_html(df, floatfmt: str = "{:.2f}", max_rows: int = 50, *, source: str = "", caption: str = "") -> str:
    """Return an HTML table of a DataFrame.

    An HTML table from a DataFrame with values escaped and formatted by :func:`fmt_value`; ``source``: the
    run-directory file it comes from, linked in the caption (relative href); ``caption``: its text before it.
    Column names are shown with their unit spelled out (:func:`pretty_header`); the file keeps the originals.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; column names carry their unit suffix (``_m``, ``_h``, ...).
    floatfmt : str
        ``str.format`` pattern for floats (at most 6 significant digits are kept).
    max_rows : int
        Most rows shown; the caption says when rows were left out.
    source : str
        Run-directory path of the product file, linked in the caption; empty: no link.
    caption : str
        Caption text (plain text, escaped).

    Returns
    -------
    str
        The ``<table>`` element.
    """
    cols = list(df.columns)
    body, absent = [], False
    for row in df.head(max_rows).itertuples(index=False, name=None):
        cells = [fmt_value(v, floatfmt) for v in row]
        absent = absent or DASH in cells
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    cap = ""
    if source or caption or absent:
        bits = [html.escape(caption)] if caption else []
        if source:
            bits.append(source_link(source, "full table" if len(df) > max_rows else "").strip())
        if len(df) > max_rows:
            bits.append(f"first {max_rows} of {len(df)} rows shown")
        if absent:
            bits.append(f"{DASH}: no value (not applicable, or not measured)")
        cap = f"<caption>{'; '.join(bits)}</caption>"
    head = "".join(f"<th>{html.escape(pretty_header(c))}</th>" for c in cols)
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(title: str, meta: str, sections: list[Section], warning: str = "") -> str:
    """The whole report as one HTML string.

    Parameters
    ----------
    title : str
        Page title and heading (plain text, escaped).
    meta : str
        Trusted HTML line under the heading (run date, site, ...).
    sections : list of Section
        The sections in order; those with ``lead`` come before the table of contents.
    warning : str
        Trusted HTML warning shown under ``meta``; empty: none.

    Returns
    -------
    str
        A self-contained HTML document, figures embedded as base64 PNG.
    """
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
                f"<figure><div class='zv'><img alt='{html.escape(cap, quote=True)}' "
                f"src='data:image/png;base64,{b64}'></div>"
                f"<figcaption>{html.escape(cap)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts.append(f"<script>{_ZOOM_JS}</script>")
    parts.append("</body></html>")
    return "\n".join(parts)
