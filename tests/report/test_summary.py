"""The verdict summary: the HTML table (one row per requirement, linked only to sections the report has,
text escaped, each status with its symbol) and the console table (worst first, the overall verdict in its title)."""

from html.parser import HTMLParser

from rich.console import Console

from lupex.mission.verdicts import AT_RISK, FAIL, PASS, Verdict
from lupex.report import summary as S

VERDICTS = [
    Verdict("Landing accuracy", "60 m", "<= 100 m", PASS, "3-sigma dispersion", "landing"),
    Verdict("Night survival", "0 of 2 nights", "every night", FAIL, "battery <5 kWh>", "rover", detail="long"),
    Verdict("Ice found", "0.6 wt%", ">= 0.5 wt%", AT_RISK, "detection margin", "survey"),
]


class _Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.links, self._text = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._text = []
        if tag == "a":
            self.links.append(dict(attrs)["href"])

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "tr":
            self.rows.append("".join(self._text))
            self._text = None


def test_verdict_table_rows_links_and_escaping():
    html = S.verdict_table_html(VERDICTS, anchors={"landing", "survey"})
    p = _Rows()
    p.feed(html)
    body = p.rows[1:]   # the first row is the header
    assert len(body) == 3
    assert p.links == ["manifest.json", "#landing", "#survey"]   # no section 'rover' in this report: no link
    assert "battery <5 kWh>" in body[1] and "<5 kWh>" not in html   # escaped in the markup, intact as text
    for v, row in zip(VERDICTS, body):
        assert row.startswith(f"{S.STATUS_STYLE[v.status][0]} {v.status}")


def test_console_table_is_worst_first_under_the_overall_verdict():
    console = Console(record=True, width=200)
    console.print(S.console_table(VERDICTS))
    text = console.export_text()
    title, table = text.split("\n", 1)
    assert "Mission: FAIL: Night survival" in title
    order = sorted(("Night survival", "Ice found", "Landing accuracy"), key=table.index)
    assert order == ["Night survival", "Ice found", "Landing accuracy"]
