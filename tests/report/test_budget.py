"""The budget section of the report: one row per manoeuvre of the budget's own table, the verdict in bold,
linked to its CSV."""

from html.parser import HTMLParser

from lupex.mission.budget import launch_to_landing_budget
from lupex.report import budget as report_budget


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self._row, self.links = [], None, []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_data(self, data):
        if self._row is not None and data.strip():
            self._row.append(data.strip())

    def handle_endtag(self, tag):
        if tag == "tr":
            self.rows.append(self._row)
            self._row = None


def test_budget_section_has_every_manoeuvre_and_the_verdict():
    b = launch_to_landing_budget()
    (sec,) = report_budget.budget_sections(b)
    assert sec.id == "budget" and not sec.figures
    p = _Cells()
    p.feed(sec.tables[0])
    body = [r for r in p.rows[1:] if r]
    assert len(body) == len(b.table)
    for row, (_, want) in zip(body, b.table.iterrows()):
        assert row[0] == str(want["phase"]) and row[1] == str(want["stage"])
    assert "budget.csv" in p.links
    assert sec.paragraphs[0].startswith("<b>") and b.verdict().split()[0] in sec.paragraphs[0]
