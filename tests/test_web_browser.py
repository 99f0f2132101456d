"""planner serve in a real browser: Debian's chromium and chromedriver through Selenium.

One test walks the issue's path: the app starts on a new workspace (the bundled Yunxi
district and its demo scenario), the District page shows the verdict, the demo
scenario runs from the Run page with live progress until the report is there, and on
the Zones page a click on a unit's cell and on another school moves the unit; the
re-check shows at once (the two schools' children change by the unit's children,
their rows are marked) and the edited plan is saved and verified. Skipped where
chromium, chromedriver or Selenium is missing (.ci/run installs them).

``PLANNER_WEB_SHOTS=DIR`` keeps a screenshot of each page there (web-*.png) and the
seconds from the click on Run to the report (web-run-seconds.txt).
"""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from planner.web.app import create_app

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    import uvicorn
    app = create_app(tmp_path / "ws")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    th.join(timeout=10)


@pytest.fixture
def driver(tmp_path):
    import browser
    exe = browser.chromium_or_skip()
    if not os.path.exists(CHROMEDRIVER):
        pytest.skip("chromedriver is not installed (apt-get install chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = exe
    for flag in browser.OFFLINE_FLAGS:
        # the app is on loopback: no dead proxy (browser.py sends loopback through it)
        if flag.startswith(("--headless", "--enable-logging", "--v=", "--proxy",
                            "--host-resolver")):
            continue
        opts.add_argument(flag)
    opts.add_argument("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    opts.add_argument("--headless=new")
    opts.add_argument("--window-size=1400,1000")
    opts.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    opts.add_argument("--lang=zh-CN")
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def _shots(tmp_path) -> Path:
    p = Path(os.environ.get("PLANNER_WEB_SHOTS") or tmp_path / "shots")
    p.mkdir(parents=True, exist_ok=True)
    return p


def _shot(d, folder: Path, name: str, height: int | None = None) -> None:
    if height:
        d.set_window_size(1400, height)
    d.save_screenshot(str(folder / f"web-{name}.png"))
    d.set_window_size(1400, 1000)


def _children(d, school: str) -> int:
    row = d.find_element("css selector", f'#zone-table tr[data-school="{school}"]')
    return int(row.find_elements("tag name", "td")[1].text)


def test_district_run_and_a_zone_move_in_the_browser(server, driver, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
    base, app = server
    d = driver
    shots = _shots(tmp_path)
    wait = WebDriverWait(d, 90)

    d.get(base + "/district")
    verdict = wait.until(EC.visibility_of_element_located(("id", "verdict")))
    assert "未达到认定条件" in verdict.text and "19/26" in verdict.text
    assert "臣山小学" in d.page_source
    _shot(d, shots, "district", 1100)
    d.get(base + "/scenario?name=yunxi-2024")
    assert d.find_element("name", "name").get_attribute("value") == "云溪区2024年优质均衡创建方案"
    _shot(d, shots, "scenario", 2300)

    # Run: click, watch the steps, wait for the report
    d.get(base + "/runs")
    Select(d.find_element("id", "run-scenario")).select_by_value("yunxi-2024")
    t0 = time.perf_counter()
    d.find_element("id", "run-button").click()
    wait.until(EC.presence_of_element_located(("css selector", "#steps li")))
    wait.until(EC.element_to_be_clickable(("id", "report-link")))
    wait.until(lambda drv: drv.execute_script(
        "var f = document.getElementById('report-frame');"
        "return f && f.contentDocument === null ? true : !!f;"))
    seconds = time.perf_counter() - t0
    steps = d.find_elements("css selector", "#steps li.done")
    assert len(steps) == 8 and "完成，全部方案经独立校验通过" in d.page_source
    run_id = d.current_url.rstrip("/").rsplit("/", 1)[1]
    job = app.state.planner.runner.get(run_id)
    (shots / "web-run-seconds.txt").write_text(
        f"click on Run to the report shown: {seconds:.1f} s; the run itself: {job.seconds} s\n",
        encoding="utf-8")
    time.sleep(1.0)   # the report frame draws its map
    _shot(d, shots, "run", 1500)

    # Zones: a real click on a unit's cell, then on another school
    d.find_element("id", "zones-link").click()
    wait.until(lambda drv: drv.find_element("id", "zones").get_attribute("data-ready") == "yes")
    target = d.execute_script("""
        var out = null, z = window.PLZONES, m = z.map;
        z.layer().eachLayer(function (l) {
          var p = l.feature.properties;
          if (out || p.kind !== 'U' || p.candidates.length < 2) { return; }
          var c = m.latLngToContainerPoint(l.getCenter());
          var size = m.getSize();
          if (c.x < 40 || c.y < 40 || c.x > size.x - 40 || c.y > size.y - 40) { return; }
          out = {id: p.id, children: p.children, x: c.x, y: c.y, w: size.x, h: size.y};
        });
        return out;""")
    assert target is not None
    _shot(d, shots, "zones-before", 1000)
    mapdiv = d.find_element("id", "map")
    ActionChains(d).move_to_element_with_offset(
        mapdiv, int(target["x"] - target["w"] / 2), int(target["y"] - target["h"] / 2)).click() \
        .perform()
    # the popup is drawn, then its school's button disabled: wait for both (under load
    # the second came after the first check)
    def drawn(drv):
        bs = [b for b in drv.find_elements("css selector", ".zpop button") if b.is_displayed()]
        return bs if any(not b.is_enabled() for b in bs) else None
    buttons = wait.until(drawn)
    here = next(b.get_attribute("data-school") for b in buttons if not b.is_enabled())
    choice = next(b for b in buttons if b.is_enabled())
    there = choice.get_attribute("data-school")
    before = {s: _children(d, s) for s in (here, there)}
    choice.click()
    wait.until(lambda drv: drv.find_element("id", "zones").get_attribute("data-moves") == "1")
    assert _children(d, here) == before[here] - target["children"]
    assert _children(d, there) == before[there] + target["children"]
    hits = {r.get_attribute("data-school")
            for r in d.find_elements("css selector", "#zone-table tr.hit")}
    assert hits == {here, there}
    assert "已调整单元次数 1" in d.find_element("id", "ind21").text
    _shot(d, shots, "zones", 1000)

    # save and verify the edited plan
    name = d.find_element("id", "plan-name")
    name.clear()
    name.send_keys("browser-zones")
    d.find_element("id", "save").click()
    status = wait.until(EC.visibility_of_element_located(("id", "save-status")))
    assert "已保存 catchments/browser-zones.csv" in status.text
    st = app.state.planner
    assert st.ws.plan_path("browser-zones").is_file()
    assert ("独立校验通过" in status.text) == (
        d.find_element("id", "violations").get_attribute("data-feasible") == "yes")

    d.get(base + f"/compare?run={run_id}")
    assert "A 类达标数" in d.find_element("id", "compare-table").text
    _shot(d, shots, "compare", 1000)
    d.get(base + "/district?lang=en")
    assert "District data and check" in d.page_source
    _shot(d, shots, "district-en", 1100)
