"""Open an HTML file in Debian's headless Chromium with the network blocked.

One Chromium run per page: ``--dump-dom`` after the scripts ran (virtual time),
``--screenshot`` of the window, and stderr logging. Console errors are caught
two ways: a probe script injected at the top of ``<head>`` records uncaught
errors, failed resource loads, unhandled rejections and ``console.error`` into a
hidden element that the dumped DOM carries, plus any ``CONSOLE`` error lines
Chromium logs to stderr. The probe also lists every resource the page loaded
(``performance`` entries), so a test can assert nothing went to the network.

No CDP client is needed. Tests call :func:`chromium_or_skip` to skip cleanly
where Chromium is not installed (CI's ``.ci/run`` installs ``chromium`` and
``fonts-noto-cjk``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")

#: flags that keep everything local: no DNS, a dead proxy, no background traffic
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>", "--enable-logging=stderr", "--v=0",
)

PROBE_ID = "__pl_probe"

PROBE_JS = """
(function () {
  var out = {errors: [], console: [], resources: []};
  function save() {
    var el = document.getElementById('%(id)s');
    if (!el) {
      el = document.createElement('script');
      el.type = 'application/json'; el.id = '%(id)s';
      (document.body || document.documentElement).appendChild(el);
    }
    el.textContent = JSON.stringify(out);
  }
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) {
      out.errors.push('resource failed: ' + (t.src || t.href));
    } else {
      out.errors.push('Uncaught ' + (e.error && e.error.stack ? e.error.stack : e.message)
                      + ' @' + e.lineno);
    }
    save();
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    out.errors.push('unhandled rejection: ' + e.reason); save();
  });
  window.alert = function (msg) { out.errors.push('alert: ' + msg); save(); };
  var ce = console.error, cw = console.warn;
  console.error = function () {
    out.errors.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); save();
    return ce.apply(console, arguments);
  };
  console.warn = function () {
    out.console.push('console.warn: ' + Array.prototype.join.call(arguments, ' ')); save();
    return cw.apply(console, arguments);
  };
  window.addEventListener('load', function () {
    setTimeout(function () {
      out.resources = performance.getEntriesByType('resource').map(function (r) { return r.name; });
      out.done = true; save();
    }, 500);
  });
})();
""" % {"id": PROBE_ID}

_CONSOLE_ERR = re.compile(r"CONSOLE.*(Uncaught|Error|error)")


def find_chromium() -> str | None:
    for c in CANDIDATES:
        if os.path.exists(c) and os.access(c, os.X_OK):
            return c
    return shutil.which("chromium")


def chromium_or_skip() -> str:
    import pytest

    exe = find_chromium()
    if exe is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    return exe


class _Counter(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, frozenset[str]]] = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        self.elements.append((tag, frozenset(cls.split())))

    handle_startendtag = handle_starttag


@dataclass
class PageResult:
    dom: str
    errors: list[str]
    console: list[str]
    resources: list[str]
    probe_done: bool
    screenshot: Path | None
    stderr: str = field(repr=False, default="")
    _elements: list = field(repr=False, default_factory=list)

    def count(self, *classes: str, tag: str | None = None) -> int:
        """Elements of the final DOM carrying all these classes (and that tag)."""
        want = set(classes)
        return sum(1 for t, c in self._elements if want <= c and (tag is None or t == tag))

    @property
    def network_resources(self) -> list[str]:
        """Resources loaded from anywhere but the page itself or ``data:``."""
        return [r for r in self.resources if not r.startswith(("data:", "file:", "blob:"))]


def render_page(html_path: str | os.PathLike, *, screenshot: str | os.PathLike | None = None,
                extra_js: str | None = None, window: tuple[int, int] = (1400, 1000),
                budget_ms: int = 5000, timeout: float = 90.0) -> PageResult:
    """Load ``html_path`` (a copy with the probe injected) and return what happened.

    ``extra_js`` runs after the page's own scripts (appended at the end), e.g. to
    open a popup before the DOM is dumped and the screenshot is taken.
    """
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium not found")
    src = Path(html_path).read_text(encoding="utf-8")
    probe = f"<script>{PROBE_JS}</script>"
    head = re.search(r"<head[^>]*>", src, flags=re.I)
    src = (src[:head.end()] + probe + src[head.end():]) if head else probe + src
    if extra_js:
        tail = f"<script>{extra_js}</script>"
        i = src.lower().rfind("</html>")
        src = src[:i] + tail + src[i:] if i >= 0 else src + tail

    with tempfile.TemporaryDirectory(prefix="pl-chromium-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(src, encoding="utf-8")
        cmd = [exe, *OFFLINE_FLAGS, f"--user-data-dir={tmp}/profile",
               f"--window-size={window[0]},{window[1]}", f"--virtual-time-budget={budget_ms}",
               "--dump-dom"]
        if screenshot is not None:
            cmd.append(f"--screenshot={Path(screenshot).resolve()}")
        cmd.append(page.as_uri())
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=tmp, env={**os.environ, "LANG": "zh_CN.UTF-8"})
    dom, stderr = proc.stdout, proc.stderr
    probe_data: dict = {}
    m = re.search(r'<script type="application/json" id="%s">(.*?)</script>' % PROBE_ID,
                  dom, flags=re.S)
    if m:
        import html as _html
        try:
            probe_data = json.loads(_html.unescape(m.group(1)))
        except ValueError:
            probe_data = json.loads(m.group(1))
    errors = list(probe_data.get("errors", []))
    errors += [ln for ln in stderr.splitlines() if _CONSOLE_ERR.search(ln)]
    counter = _Counter()
    counter.feed(dom)
    shot = Path(screenshot) if screenshot is not None and Path(screenshot).exists() else None
    return PageResult(dom=dom, errors=errors, console=list(probe_data.get("console", [])),
                      resources=list(probe_data.get("resources", [])),
                      probe_done=bool(probe_data.get("done")), screenshot=shot,
                      stderr=stderr, _elements=counter.elements)


TEXT_ID = "__pl_text"

#: copies what the reader sees (``innerText``: no hidden element, no collapsed
#: ``<details>``, no script) into a hidden element of the dumped DOM
TEXT_JS = """
(function () {
  setTimeout(function () {
    var el = document.createElement('textarea');
    el.id = '%(id)s'; el.style.display = 'none';
    el.textContent = document.body.innerText;
    document.body.appendChild(el);
  }, %(delay)d);
})();
"""


def visible_text(html_path: str | os.PathLike, *, extra_js: str = "", delay_ms: int = 400,
                 screenshot: str | os.PathLike | None = None,
                 window: tuple[int, int] = (1400, 1000)) -> tuple[str, PageResult]:
    """The text a reader sees on the page once it has run (after ``extra_js``, e.g.
    opening a popup), and the page's :class:`PageResult`."""
    import html as _html
    js = extra_js + TEXT_JS % {"id": TEXT_ID, "delay": delay_ms}
    r = render_page(html_path, extra_js=js, screenshot=screenshot, window=window)
    m = re.search(r'<textarea id="%s"[^>]*>(.*?)</textarea>' % TEXT_ID, r.dom, flags=re.S)
    return (_html.unescape(m.group(1)) if m else ""), r


#: a word of Latin letters (codes like Y001 or T00286 are matched whole, with digits)
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:[-.][A-Za-z0-9_]+)*")
#: what a Python value looks like when it is printed instead of put into words
REPR = re.compile(r"[{}]|\b(True|False|None|nan|NaN|inf)\b")


def latin_words(text: str, allowed: set[str] | frozenset[str] = frozenset(),
                code: re.Pattern | None = None) -> list[str]:
    """The Latin words of ``text`` that are neither ``allowed`` nor codes (``code``:
    by default a capital letter and digits, e.g. ``Y001``, ``T00286``, ``Y001-01``)."""
    code = code or re.compile(r"[A-Z]+[0-9][0-9A-Z]*(?:-[0-9]+)*")
    return [w for w in LATIN_WORD.findall(text) if w not in allowed and not code.fullmatch(w)]


def reprs(text: str) -> list[str]:
    """Pieces of ``text`` that look like a Python repr (``{``, ``True``, ``None``, ``nan``)."""
    return [m.group(0) for m in REPR.finditer(text)]


if __name__ == "__main__":  # python tests/browser.py page.html [shot.png]
    import sys

    r = render_page(sys.argv[1], screenshot=sys.argv[2] if len(sys.argv) > 2 else None)
    print(json.dumps({"errors": r.errors, "console": r.console, "resources": r.resources,
                      "probe_done": r.probe_done, "screenshot": str(r.screenshot)},
                     ensure_ascii=False, indent=1))
