"""The run report in a real browser: a small ``lupex run`` whose report.html is loaded by headless
Chromium with the network off, over the Chrome DevTools Protocol (stdlib only, ``--remote-debugging-pipe``).

What it checks, against the browser rather than against the HTML text:

- every section the run handed to the report is there, with its heading, and every phase the run
  produced (site, landing, subsurface, rover, survey, drilling, budget) has its section;
- every figure decodes (``complete``, ``naturalWidth > 0``, ``img.decode()`` resolves, and
  ``createImageBitmap`` on its bytes gives the same size: ``<img>`` decoding is progressive and shows a
  truncated PNG as its top rows, ``createImageBitmap`` rejects it) and each section shows as many figures
  as the run made for it;
- nothing is fetched from outside the file: no request other than the report itself and ``data:`` URLs,
  no ``src``/``href`` in the DOM that is not ``data:``, ``#...`` or a table's link to a file of the run
  directory that exists, every ``#...`` link has its target;
- no JavaScript exception (the pan/zoom script runs), no console or browser-log error; UTF-8;
- the report opens with the mission verdicts (section ``summary``, before the table of contents, its table
  on the first screen), and no figure is empty (a blank PNG is one colour; the summary's map and timeline
  must not be almost all one colour).

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it where apt-get
works); skipped without it. ``LUPEX_CHROMIUM`` points at another Chromium/Chrome binary.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TIMEOUT_S = 60.0


def _chromium() -> str | None:
    exe = os.environ.get("LUPEX_CHROMIUM")
    if exe:
        return exe if os.access(exe, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


class CDPError(RuntimeError):
    pass


class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe``: NUL-separated JSON messages,
    commands written to the browser's fd 3, answers and events read from its fd 4."""

    def __init__(self, exe: str, profile_dir: Path):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        # copies above fd 10 so that dup2 onto 3 and 4 in the child cannot clobber them
        child_in = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)

        def onto_3_and_4():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        args = [
            exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--remote-debugging-pipe", f"--user-data-dir={profile_dir}", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions",
            # no name resolves: any http(s) fetch fails (and is still seen by the Network domain)
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost", "--proxy-server=127.0.0.1:9",
            "about:blank",
        ]
        # stderr to a file, not a pipe: Chromium logs a lot (D-Bus complaints in a container) and would
        # block once a pipe nobody reads is full
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, preexec_fn=onto_3_and_4, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)
        for fd in (to_chrome_r, from_chrome_w, child_in, child_out):
            os.close(fd)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("timed out waiting for Chromium")
            ready, _, _ = select.select([self._r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise CDPError("Chromium closed the pipe: " + self.stderr_tail())
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout_s: float = TIMEOUT_S) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._next_id:
                if "error" in m:
                    raise CDPError(f"{method}: {m['error']}")
                return m["result"]
            self.events.append(m)

    def wait_event(self, method: str, session: str, timeout_s: float = TIMEOUT_S) -> dict:
        for m in self.events:
            if m.get("method") == method and m.get("sessionId") == session:
                return m
        deadline = time.monotonic() + timeout_s
        while True:
            m = self._read_message(deadline)
            self.events.append(m)
            if m.get("method") == method and m.get("sessionId") == session:
                return m

    def open_page(self, url: str):
        """A new tab loaded with ``url`` (Page, Runtime and Network events on): returns ``evaluate(js)``, the
        value of a JavaScript expression in it (promises awaited; a page exception fails the test)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable", session=session)
        nav = self.send("Page.navigate", {"url": url}, session=session)
        assert "errorText" not in nav, nav
        self.wait_event("Page.loadEventFired", session)

        def evaluate(expr: str):
            r = self.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True, "returnByValue": True},
                          session=session)
            assert "exceptionDetails" not in r, r
            return r["result"].get("value")

        evaluate.session = session
        return evaluate

    def stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def close(self):
        try:
            self.send("Browser.close", timeout_s=10)
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._w, self._r):
            os.close(fd)
        self._stderr.close()


# Runs in the page after the load event. Reports, it does not judge: the assertions are in Python.
PROBE_JS = r"""
(async () => {
  const imgs = [...document.images];
  const decoded = await Promise.all(imgs.map(i => i.decode().then(() => true, () => false)));
  // <img> decoding is progressive: a truncated PNG still "decodes" with its top rows only.
  // createImageBitmap on the bytes is strict and rejects a truncated or corrupted image.
  const bitmaps = await Promise.all(imgs.map(async i => {
    const src = i.getAttribute('src') || '';
    if (!src.startsWith('data:')) return 'not a data: URL';
    try { const b = await createImageBitmap(await (await fetch(src)).blob()); return [b.width, b.height]; }
    catch (e) { return String(e); }
  }));
  // what each figure shows: distinct colours and the share of the commonest one (a blank figure has one colour)
  const pixels = imgs.map(i => {
    try {
      const w = Math.max(1, Math.min(i.naturalWidth, 300));
      const h = Math.max(1, Math.round(i.naturalHeight * w / Math.max(i.naturalWidth, 1)));
      const c = document.createElement('canvas'); c.width = w; c.height = h;
      const g = c.getContext('2d'); g.drawImage(i, 0, 0, w, h);
      const d = g.getImageData(0, 0, w, h).data;
      const counts = new Map();
      for (let k = 0; k < d.length; k += 4) {
        const key = (d[k] << 16) | (d[k + 1] << 8) | d[k + 2];
        counts.set(key, (counts.get(key) || 0) + 1);
      }
      let top = 0; for (const v of counts.values()) top = Math.max(top, v);
      return {distinct: counts.size, dominant: top / (d.length / 4)};
    } catch (e) { return {error: String(e)}; }
  });
  const summaryEl = document.getElementById('summary');
  const navEl = document.querySelector('nav');
  const summary = summaryEl ? {
    first: document.querySelector('section') === summaryEl,
    beforeNav: navEl ? Boolean(summaryEl.compareDocumentPosition(navEl) & Node.DOCUMENT_POSITION_FOLLOWING) : true,
    tableTop: (summaryEl.querySelector('table.verdicts') || summaryEl).getBoundingClientRect().top,
    viewportHeight: window.innerHeight,
    statuses: [...summaryEl.querySelectorAll('table.verdicts tbody .status')].map(e => e.textContent),
  } : null;
  const sections = [...document.querySelectorAll('section')].map(s => {
    const h = s.querySelector('h2');
    return {id: s.id, heading: h ? h.textContent : null, figures: s.querySelectorAll('img').length};
  });
  const images = imgs.map((i, k) => ({
    section: i.closest('section') ? i.closest('section').id : null, alt: i.alt,
    src: (i.getAttribute('src') || '').slice(0, 30), complete: i.complete,
    naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, decoded: decoded[k], bitmap: bitmaps[k],
    pixels: pixels[k]}));
  const refs = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of ['src', 'href', 'srcset', 'poster', 'data', 'action', 'background', 'xlink:href']) {
      const v = el.getAttribute(a);
      if (v !== null) refs.push({tag: el.tagName.toLowerCase(), attr: a, value: v.slice(0, 200)});
    }
  }
  const cssUrls = [];
  for (const sh of document.styleSheets) {
    if (sh.href) cssUrls.push(sh.href);
    let rules = [];
    try { rules = [...sh.cssRules]; } catch (e) { cssUrls.push(String(e)); }  // a cross-origin sheet
    for (const r of rules) { for (const m of r.cssText.matchAll(/url\(([^)]*)\)/g)) cssUrls.push(m[1]); }
  }
  for (const el of document.querySelectorAll('[style]')) {
    for (const m of el.getAttribute('style').matchAll(/url\(([^)]*)\)/g)) cssUrls.push(m[1]);
  }
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const brokenAnchors = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'))
      .filter(h => h.length > 1 && !document.getElementById(decodeURIComponent(h.slice(1))));
  return {
    charset: document.characterSet, title: document.title, readyState: document.readyState,
    h1: [...document.querySelectorAll('h1')].map(h => h.textContent),
    sections, images, refs, cssUrls, brokenAnchors, summary,
    duplicateIds: ids.filter((v, k) => ids.indexOf(v) !== k),
    scripts: document.scripts.length,
    resources: performance.getEntriesByType('resource').map(e => e.name.slice(0, 200)),
  };
})()
"""


def inspect_in_browser(report: Path, exe: str, profile_dir: Path) -> tuple[dict, dict]:
    """Load ``report`` with the network off; return (what the page probe found, what the browser logged)."""
    browser = Chromium(exe, profile_dir)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        try:  # offline on top of the unresolvable host names of the command line
            browser.send("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                              "downloadThroughput": -1, "uploadThroughput": -1},
                         session=session)
        except CDPError:  # a future Chromium may drop this (deprecated) command; requests are still seen
            pass
        url = report.resolve().as_uri()
        nav = browser.send("Page.navigate", {"url": url}, session=session)
        assert "errorText" not in nav, f"navigation to {url} failed: {nav}"
        browser.wait_event("Page.loadEventFired", session)
        res = browser.send("Runtime.evaluate", {"expression": PROBE_JS, "awaitPromise": True, "returnByValue": True},
                           session=session)
        if "exceptionDetails" in res:
            raise CDPError(f"the probe script failed: {res['exceptionDetails']}")
        probe = res["result"]["value"]
        ev = [m for m in browser.events if m.get("sessionId") == session]
        log = {
            "url": url,
            "requests": [m["params"]["request"]["url"] for m in ev if m.get("method") == "Network.requestWillBeSent"],
            "failed": [m["params"] for m in ev if m.get("method") == "Network.loadingFailed"],
            "exceptions": [m["params"]["exceptionDetails"] for m in ev if m.get("method") == "Runtime.exceptionThrown"],
            "console_errors": [m["params"] for m in ev if m.get("method") == "Runtime.consoleAPICalled"
                               and m["params"].get("type") in ("error", "assert")],
            "log_errors": [m["params"]["entry"] for m in ev if m.get("method") == "Log.entryAdded"
                           and m["params"]["entry"].get("level") == "error"],
        }
        return probe, log
    finally:
        browser.close()


def expected_sections(spy_calls: list, result) -> list:
    """The sections ``run_mission`` handed to the report renderer, and a check that every phase the run
    produced has its section (ids from lupex.report.*: site, landing, subsurface, rover, survey, drilling,
    budget)."""
    assert len(spy_calls) == 1, f"render() was called {len(spy_calls)} times"
    sections = spy_calls[0]
    ids = [s.id for s in sections]
    phases = {"site": result.site, "landing": result.landing, "subsurface": result.ground_truth,
              "rover": result.rover, "survey": result.survey, "drilling": result.drilling, "budget": True}
    # in this small run every phase ran; if one did not, the test is not testing what it says
    missing_phases = [name for name, produced in phases.items() if produced is None]
    assert not missing_phases, f"the small run skipped phases {missing_phases}; make the config run them"
    for name in phases:
        assert name in ids, f"the run produced {name} but the report has no '{name}' section (ids: {ids})"
    return sections


@pytest.fixture(scope="module")
def browser_exe():
    exe = _chromium()
    if exe is None:
        pytest.skip("headless browser test needs Chromium: apt-get install chromium (Debian), or set LUPEX_CHROMIUM")
    return exe


def check_report_in_browser(report: Path, sections: list, exe: str, profile_dir: Path) -> None:
    probe, log = inspect_in_browser(report, exe, profile_dir)

    assert probe["readyState"] == "complete", probe["readyState"]
    assert probe["charset"] == "UTF-8", f"the page is read as {probe['charset']}: no <meta charset='utf-8'>?"
    assert probe["h1"], "no <h1> title"

    # sections: the ones handed to the renderer, in order, each with its heading and all its figures
    got = [(s["id"], s["heading"], s["figures"]) for s in probe["sections"]]
    want = [(s.id, s.title, len(s.figures)) for s in sections]
    assert got == want, f"sections in the browser\n{got}\n!= sections the run made\n{want}"

    # figures: every image decoded
    assert probe["images"], "no figures at all"
    bad = [i for i in probe["images"] if not (i["complete"] and i["decoded"] and i["naturalWidth"] > 0
                                              and i["naturalHeight"] > 0
                                              and i["bitmap"] == [i["naturalWidth"], i["naturalHeight"]])]
    assert not bad, f"{len(bad)} of {len(probe['images'])} figures did not decode: {bad[:5]}"
    assert all(i["alt"] for i in probe["images"]), "a figure without alt text"
    # no empty figure: a blank PNG is one colour; the summary's own figures (map, timeline) are mostly drawn on
    blank = [(i["section"], i["alt"][:60], i["pixels"]) for i in probe["images"]
             if "error" in i["pixels"] or i["pixels"]["distinct"] < 4]
    assert not blank, f"empty figures: {blank}"
    sparse = [(i["alt"][:60], i["pixels"]) for i in probe["images"]
              if i["section"] == "summary" and i["pixels"]["dominant"] > 0.97]
    assert not sparse, f"summary figures with (almost) nothing drawn: {sparse}"

    # bad news first: the verdicts are the first section, before the table of contents, on the first screen
    if any(s.id == "summary" for s in sections):
        sm = probe["summary"]
        assert sm and sm["first"], "the report does not open with the summary section"
        assert sm["beforeNav"], "the table of contents comes before the summary"
        assert sm["tableTop"] < sm["viewportHeight"], f"the verdict table starts below the first screen: {sm}"
        assert sm["statuses"], "the summary has no verdicts"

    # offline: nothing but the file itself and data: URLs, in the DOM, in CSS and on the wire
    # tables link their product files in the run directory: plain relative <a href>s to files that are there
    # (a link is followed only when clicked, so it loads nothing)
    external = [r for r in probe["refs"] if not (r["value"].startswith("data:") or r["value"].startswith("#")
                                                 or _run_file_link(r, report.parent))]
    assert not external, f"references out of the file: {external}"
    assert not [u for u in probe["cssUrls"] if not u.strip("'\" ").startswith("data:")], probe["cssUrls"]
    assert not probe["brokenAnchors"], f"links to ids that do not exist: {probe['brokenAnchors']}"
    assert not probe["duplicateIds"], f"duplicate ids: {probe['duplicateIds']}"
    assert not [r for r in probe["resources"] if not r.startswith("data:")], probe["resources"]
    requests = [u for u in log["requests"] if u != log["url"] and not u.startswith("data:")]
    assert not requests, f"the page tried to load {requests}"
    assert not log["failed"], f"failed loads: {log['failed'][:5]}"

    # no script errors (the report's one inline script is the figures' pan and zoom; a broken one shows here)
    assert not log["exceptions"], log["exceptions"]
    assert not log["console_errors"], log["console_errors"]
    assert not log["log_errors"], log["log_errors"]


def _run_file_link(ref: dict, run_dir: Path) -> bool:
    """Whether ``ref`` is an <a href> to a file of the run directory (no scheme, no '..', the file exists)."""
    v = ref["value"]
    return (ref["tag"] == "a" and ref["attr"] == "href" and ":" not in v and not v.startswith("/")
            and ".." not in v.split("/") and (run_dir / v).is_file())


def test_report_in_headless_browser(small_mission, browser_exe, tmp_path):
    """The session's small run (conftest.small_mission, the run tests/cli/test_run.py makes through the CLI)."""
    run_dir, render_calls, result = small_mission
    report = run_dir / "report.html"
    sections = expected_sections(render_calls, result)
    t0 = time.perf_counter()
    assert sections[0].id == "summary", "the run's report must open with the mission verdicts"
    check_report_in_browser(report, sections, browser_exe, tmp_path / "profile")
    print(f"browser check of {report.stat().st_size / 1e6:.1f} MB report: {time.perf_counter() - t0:.1f} s")
