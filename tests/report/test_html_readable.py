"""The run report reads well (issue 19, item 5): no ``nan``/``None``/raw dumps or over-long numbers in what
a reader sees, every table linked to its product file, maps with scale bars, site markers, colour limits fitted
to the data and colour-blind-safe masks, and a working offline pan/zoom on the figures.

The report checks parse ``report.html`` of the session's small run (``conftest.small_mission``) with the
standard library's ``html.parser``; ``test_html_browser.py`` checks the same file in Chromium where it is
installed. The pan/zoom script runs under Node.js against a minimal DOM stand-in (skipped without ``node``).
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from lupex.report import figures
from lupex.report.html import DASH, fmt_number, fmt_value, pretty_header, table_html

# A number as printed: with thousands separators, or plain digits; a decimal part and an exponent optional.
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:[eE][+-]?\d+)?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
MAX_SIGNIFICANT = 6  # more than this is a float printed raw (0.30000000000000004, 19154.7031) or false precision


def significant_digits(number: str) -> int:
    """Digits of the mantissa after leading zeros (trailing zeros of a decimal count: they were printed; those
    of a whole number do not: 1,200,000 has two)."""
    mantissa = re.split(r"[eE]", number)[0]
    digits = re.sub(r"\D", "", mantissa).lstrip("0")
    return len(digits if "." in mantissa else digits.rstrip("0"))


class _Report(HTMLParser):
    """Visible text (outside <script>/<style>), and each table with its caption's links and its section."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.tables: list[dict] = []  # {"section": id, "links": [href], "caption": text}
        self._skip = 0
        self._section = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "section":
            self._section = a.get("id")
        elif tag == "table":
            self.tables.append({"section": self._section, "links": [], "caption": ""})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "a" and self._in_caption and self.tables:
            self.tables[-1]["links"].append(a.get("href", ""))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._in_caption and self.tables:
            self.tables[-1]["caption"] += data


@pytest.fixture(scope="module")
def report(small_mission):
    run_dir = small_mission[0]
    parser = _Report()
    parser.feed((run_dir / "report.html").read_text(encoding="utf-8"))
    return run_dir, parser


def test_visible_text_has_no_nan_none_or_raw_dumps(report):
    """No ``nan``/``inf``/``None``/``True``/dict or list reprs/numpy timestamps in the text a reader sees."""
    _, parser = report
    text = "\n".join(parser.text)
    bad = {
        "nan": re.compile(r"\bnan\b", re.I), "inf": re.compile(r"(?<![\w-])-?inf\b", re.I),
        "None": re.compile(r"\bNone\b"), "True/False": re.compile(r"\b(?:True|False)\b"),
        "dict repr": re.compile(r"\{'"), "list of tuples": re.compile(r"\[\("),
        "list repr": re.compile(r"\[-?\d"), "numpy datetime": re.compile(r"\d{2}:\d{2}:\d{2}\.\d"),
    }
    found = {name: [text[max(0, m.start() - 60):m.end() + 30] for m in pat.finditer(text)][:3]
             for name, pat in bad.items()}
    found = {k: v for k, v in found.items() if v}
    assert not found, f"the report shows raw values: {found}"


def test_no_number_printed_with_false_precision(report):
    _, parser = report
    text = "\n".join(parser.text)
    long_ = [text[max(0, m.start() - 50):m.end() + 20] for m in NUMBER.finditer(text)
             if significant_digits(m.group(0)) > MAX_SIGNIFICANT]
    assert not long_, f"{len(long_)} numbers with more than {MAX_SIGNIFICANT} significant digits: {long_[:5]}"


def test_every_table_links_its_product_file(report):
    """Each table's caption links (relative href) a file of the run directory that exists; the tables of the
    product files the task names are all there."""
    run_dir, parser = report
    assert parser.tables, "the report has no tables"
    unlinked = [(t["section"], t["caption"][:60]) for t in parser.tables if not t["links"]]
    assert not unlinked, f"tables without a link to their data file: {unlinked}"
    hrefs = [h for t in parser.tables for h in t["links"]]
    for h in hrefs:
        assert ":" not in h and not h.startswith("/") and ".." not in h, f"not a relative link into the run: {h}"
        assert (run_dir / h).is_file(), f"a table links {h}, which the run did not write"
    for name in ("sites.csv", "budget.csv", "campaign_scores.parquet", "drilling_sites.csv", "rover_survival.csv"):
        assert name in hrefs, f"no table links {name} (links: {sorted(set(hrefs))})"


def test_cells_are_formatted_for_a_reader():
    """One cell formatter: absent values are an em dash with a footnote, floats never carry noise digits."""
    assert fmt_value(float("nan")) == DASH
    assert fmt_value(float("inf")) == DASH and fmt_value(-math.inf) == DASH
    assert fmt_value(None) == DASH and fmt_value(pd.NaT) == DASH
    assert fmt_value(0.1 + 0.2, "{:.3g}") == "0.3"
    assert fmt_value(40000.0, "{:.3g}") == "40,000", "no exponent for a number a reader writes out"
    assert fmt_number(887_123.4) == "887,000" and fmt_number(99.96) == "100" and fmt_number(0.012345) == "0.0123"
    assert fmt_number(9.88e17) == "9.88e+17" and fmt_number(float("nan")) == DASH
    assert significant_digits("1,200,000") == 2 and significant_digits("0.30000000000000004") == 17
    assert significant_digits(fmt_value(19154.703125, "{:.2f}")) <= MAX_SIGNIFICANT
    assert fmt_value(np.float32(2.5), "{:.1f}") == "2.5"
    assert fmt_value(np.int64(12)) == "12"
    assert fmt_value(True) == "yes"
    assert fmt_value({"dark": 2, "no_craters": 1}) == "dark: 2, no_craters: 1"
    assert fmt_value(pd.Timestamp("2027-01-08T12:00:00.000000001")) == "2027-01-08 12:00"
    assert fmt_value(np.datetime64("2027-01-08T12:00:00")) == "2027-01-08 12:00"
    df = pd.DataFrame({"phase": ["burn", "attitude control"], "isp_s": [310.0, np.nan]})
    t = table_html(df, "{:,.0f}", source="budget.csv", caption="Budget")
    assert "nan" not in t and DASH in t
    assert "<a class='src' href='budget.csv'>budget.csv</a>" in t
    assert "no value" in t, "an em dash needs its footnote"
    assert "<th>Isp (s)</th>" in t, "column names carry their unit for a reader"
    assert pretty_header("dv_ideal_m_s") == "delta-v ideal (m/s)"
    assert pretty_header("true_in_situ_water_wt_pct") == "true in situ water (wt%)"
    assert pretty_header("strategy / lawnmower") == "strategy / lawnmower"


def test_robust_colour_limits_ignore_outliers():
    """2nd-98th percentiles: a handful of extreme cells does not stretch the scale."""
    rng = np.random.default_rng(0)
    a = rng.uniform(10.0, 20.0, 10_000)
    a[:5] = 1e6
    a[5:10] = np.nan
    lo, hi = figures.robust_limits(a)
    assert 10.0 <= lo < 10.5 and 19.5 < hi <= 20.0
    assert figures.robust_limits(a, vmin=0.0)[0] == 0.0
    assert figures.robust_limits(np.full(4, np.nan)) == (0.0, 1.0)


def _png_rgb(png: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    return (mpimg.imread(io.BytesIO(png), format="png")[..., :3] * 255).round().astype(int)


def _has_colour(img: np.ndarray, hex_colour: str, tol: int = 3) -> bool:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(img - rgb).max(axis=-1) <= tol).any())


def test_mask_map_is_blue_and_orange_with_scale_bar_and_legible_size():
    """A 0/1 mask is drawn in the Okabe-Ito blue/orange pair (never red/green), at least 600 px wide."""
    import xarray as xr

    x = np.arange(0.0, 3000.0, 30.0)
    y = x[::-1].copy()
    mask = (np.add.outer(y, x) > 3000.0).astype(float)
    da = xr.DataArray(mask, coords={"y": y, "x": x}, dims=("y", "x"))
    calls = []
    real = figures.scale_bar
    try:
        figures.scale_bar = lambda ax, ext, **kw: (calls.append(ext), real(ax, ext, **kw))
        png = figures.map_png(da, "mask", mask_labels=("yes", "no"),
                              sites=pd.DataFrame({"x_m": [1000.0], "y_m": [2000.0], "rank": [1]}))
    finally:
        figures.scale_bar = real
    img = _png_rgb(png)
    assert img.shape[1] >= 600, f"map only {img.shape[1]} px wide"
    assert _has_colour(img, figures.MASK_YES) and _has_colour(img, figures.MASK_NO)
    red = (img[..., 0] > 200) & (img[..., 1] < 60) & (img[..., 2] < 60)
    green = (img[..., 1] > 150) & (img[..., 0] < 80) & (img[..., 2] < 80)
    assert not red.any() and not green.any(), "a mask in red or green"
    assert len(calls) == 1, "no scale bar"
    assert figures.nice_length(3.0) == 0.5 and figures.nice_length(16.0) == 2.0


RED_GREEN = {"RdYlGn", "RdGn", "RdYlGn_r", "PiYG", "PRGn", "brg", "jet", "hsv", "gist_rainbow", "rainbow"}


def test_site_maps_fit_their_data_and_mark_the_sites(small_mission, monkeypatch):
    """Every site map (but the relief-only hillshade) marks the candidate sites; none is red/green; masks use
    the blue/orange pair; percentage maps are no longer pinned to 0-100 but fitted to the data."""
    import lupex.report.site as site_mod
    from lupex.config import load

    from tests.conftest import SMALL_OVERRIDES

    calls = []
    real = site_mod.map_png

    def spy(da, title, **kw):
        calls.append((title, kw))
        return real(da, title, **kw)

    monkeypatch.setattr(site_mod, "map_png", spy)
    result = small_mission[2]
    site_mod.site_sections(result.site, load(None, SMALL_OVERRIDES))
    assert len(calls) >= 8
    for title, kw in calls:
        assert kw.get("cmap") not in RED_GREEN, f"{title}: colour map {kw.get('cmap')} is not colour-blind safe"
        if title != "Hillshade":
            assert kw.get("sites") is not None and len(kw["sites"]), f"{title}: no site markers"
        if kw.get("label") == "%":
            assert kw.get("vmax") is None, f"{title}: colour limits pinned instead of fitted to the data"
    masks = {t for t, kw in calls if kw.get("mask_labels")}
    assert {"Lander-safe", "Permanent shadow"} <= masks, masks


# A minimal DOM for the pan/zoom script: enough of document, elements and events to click its buttons and
# double-click a figure, then read the image's transform.
_NODE_HARNESS = r"""
function El(tag){ this.tagName=tag; this.children=[]; this.style={}; this.listeners={}; this.classes=new Set();
  this.clientWidth=400; this.clientHeight=300; this.parentNode=null; this.textContent='';
  var self=this; this.classList={toggle:function(c,on){ if(on) self.classes.add(c); else self.classes.delete(c); },
    contains:function(c){ return self.classes.has(c); }}; }
El.prototype.appendChild=function(c){ c.parentNode=this; this.children.push(c); return c; };
El.prototype.insertBefore=function(c,ref){ c.parentNode=this; var i=this.children.indexOf(ref);
  this.children.splice(i<0?this.children.length:i,0,c); return c; };
El.prototype.querySelector=function(sel){ return this.children.find(function(c){ return c.tagName===sel; })||null; };
El.prototype.addEventListener=function(t,f){ (this.listeners[t]=this.listeners[t]||[]).push(f); };
El.prototype.fire=function(t,e){ e=e||{}; e.preventDefault=function(){}; (this.listeners[t]||[]).forEach(function(f){ f(e); }); };
El.prototype.getBoundingClientRect=function(){ return {left:0, top:0}; };
El.prototype.setPointerCapture=function(){};
var fig=new El('figure'), box=new El('div'), img=new El('img');
fig.appendChild(box); box.appendChild(img);
global.document={ querySelectorAll:function(s){ return s==='figure .zv' ? [box] : []; },
  createElement:function(t){ return new El(t); } };
eval(require('fs').readFileSync(process.argv[2], 'utf8'));
var out={};
var bar=fig.children[0];
out.buttons=bar.children.map(function(b){ return b.textContent; });
box.fire('wheel', {deltaY:-1, clientX:200, clientY:150});
out.afterPlainWheel=img.style.transform||'';
box.fire('dblclick', {clientX:100, clientY:100});
out.afterDblclick=img.style.transform; out.zoomedClass=box.classList.contains('zoomed');
box.fire('pointerdown', {clientX:100, clientY:100, pointerId:1});
box.fire('pointermove', {clientX:80, clientY:90}); box.fire('pointerup', {});
out.afterDrag=img.style.transform;
bar.children[0].fire('click'); out.afterPlus=img.style.transform;
bar.children[2].fire('click'); out.afterReset=img.style.transform; out.zoomedAfterReset=box.classList.contains('zoomed');
console.log(JSON.stringify(out));
"""


def _transform(s: str) -> tuple[float, float, float]:
    m = re.fullmatch(r"translate\((-?[\d.]+)px,(-?[\d.]+)px\) scale\(([\d.]+)\)", s)
    assert m, f"unexpected transform {s!r}"
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


def test_figures_pan_and_zoom_offline(report, tmp_path):
    """The report's own inline script (no library, nothing fetched) zooms a figure where it is double-clicked,
    pans it by dragging, zooms with its buttons and resets; the plain wheel leaves the page scrolling."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("the pan/zoom check runs the report's script under Node.js; node is not installed")
    run_dir, _ = report
    html_text = (run_dir / "report.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", html_text, re.S)
    assert len(scripts) == 1 and "src=" not in re.findall(r"<script[^>]*>", html_text)[0]
    assert "http" not in scripts[0], "the zoom script refers to something online"
    (tmp_path / "zoom.js").write_text(scripts[0])
    (tmp_path / "harness.js").write_text(_NODE_HARNESS)
    res = subprocess.run([node, str(tmp_path / "harness.js"), str(tmp_path / "zoom.js")], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["buttons"] == ["+", "\u2212", "1:1"]
    assert out["afterPlainWheel"] == "", "the wheel zoomed an unzoomed figure: the page would not scroll"
    tx, ty, s = _transform(out["afterDblclick"])
    assert s == pytest.approx(2.0) and out["zoomedClass"]
    # the double-clicked point (100, 100) stays under the cursor: tx + 100 * s == 100
    assert tx + 100 * s == pytest.approx(100.0) and ty + 100 * s == pytest.approx(100.0)
    tx2, ty2, _ = _transform(out["afterDrag"])
    assert (tx2 - tx, ty2 - ty) == (pytest.approx(-20.0), pytest.approx(-10.0))
    assert _transform(out["afterPlus"])[2] == pytest.approx(3.0)
    assert _transform(out["afterReset"]) == (0.0, 0.0, 1.0) and not out["zoomedAfterReset"]
