"""The plan map (planner.maps): offline, escaped, deterministic, small, and it renders.

Unit tests read the HTML; browser tests open it in headless Chromium with the network
blocked (tests/browser.py) and count what Leaflet drew. The browser tests skip
where Chromium is not installed.
"""

import json
import re

import browser
import geopandas as gpd
import pytest
from conftest import TINY_SCHOOLS, write_tiny
from shapely.geometry import box

from planner.io.load import load_district
from planner.outputs.maps import LAYER_NAMES, build_map, offline_assets, write_map

XSS = "<script>alert(1)</script>"
NASTY = "河口{{ 7*7 }}`${alert(2)}`\\学校"   # Jinja, JS template literal, backslash


@pytest.fixture
def district(tmp_path):
    schools = (TINY_SCHOOLS.replace("S2,城关中学,", f"S2,{XSS},")
               .replace("S3,河口学校,", f"S3,{NASTY},"))
    return load_district(write_tiny(tmp_path / "tiny", schools=schools))


def plan():
    rows_ok = [("每百名学生拥有高于规定学历教师数", "primary", 5.12345, 4.2, True),
               ("生均教学及辅助用房面积", "primary", 5.0, 4.5, True)]
    rows_bad = [("每百名学生拥有县级以上骨干教师数", "junior", 0.5, 1.0, False),
                (f"指标 {XSS}", "junior", None, 2.0, None)]
    status = {"S1": {"status": "pass", "rows": rows_ok},
              "S2": {"status": "fail", "rows": rows_bad},
              "S3": {"status": "no_data", "rows": []}}
    closures = [{"school_id": "S4", "receiving_school_id": "S1", "pupils": 40}]
    routes = [
        {"route_id": "R1", "bus": "B1", "receiving_school_id": "S1", "km": 6.1, "minutes": 14,
         "coords": [(113.03, 29.07), (113.025, 29.045), (113.02, 29.02)],
         "stops": [{"order": 1, "stop_id": "S4", "name": "山背教学点", "lon": 113.03,
                    "lat": 29.07, "arrive_min": 0, "pupils": 25},
                   {"order": 2, "stop_id": "U3", "name": "山背村", "lon": 113.025,
                    "lat": 29.045, "arrive_min": 6, "pupils": 15},
                   {"order": 3, "stop_id": "S1", "name": "城关小学", "lon": 113.02,
                    "lat": 29.02, "arrive_min": 14, "pupils": 0}]},
        {"route_id": "R2", "bus": "B2", "receiving_school_id": "S1", "km": 8.7, "minutes": 18,
         "coords": [(113.08, 29.08), (113.05, 29.05), (113.02, 29.02)],
         "stops": [{"order": 1, "stop_id": "U2", "name": "河口村", "lon": 113.08,
                    "lat": 29.08, "arrive_min": 0, "pupils": 10},
                   {"order": 2, "stop_id": "X1", "name": XSS, "lon": 113.05,
                    "lat": 29.05, "arrive_min": 8, "pupils": 5},
                   {"order": 3, "stop_id": "S1", "name": "城关小学", "lon": 113.02,
                    "lat": 29.02, "arrive_min": 18, "pupils": 0}]},
    ]
    catchments = gpd.GeoDataFrame(
        {"school_id": ["S1", "S3", "S2"], "school": ["城关小学", NASTY, XSS],
         "stage": ["primary", "primary", "junior"], "children": [750, 180, 410],
         "seats": [700, 300, 450], "load_ratio": [750 / 700, 0.6, 410 / 450]},
        geometry=[box(113.0, 29.0, 113.05, 29.1), box(113.05, 29.0, 113.1, 29.1),
                  box(113.0, 29.0, 113.1, 29.1)], crs="EPSG:4326")
    flows = [{"from_school_id": "S1", "to_school_id": "S3", "teachers": 3},
             {"from_school_id": "S3", "to_school_id": "S1", "teachers": 1}]
    return dict(school_status=status, closures=closures, routes=routes,
                catchments=catchments, rotation_flows=flows)


def layer_data(html: str) -> list[dict]:
    """The JSON objects handed to the map's PL.add, in order."""
    return [json.loads(m.group(1)) for m in re.finditer(r"PL\.add\(\w+, (\{.*\})\);\n", html)]


def page_part(html: str) -> str:
    """The HTML without the inlined Leaflet/jQuery sources."""
    return html.replace(offline_assets(), "")


# ------------------------------------------------------------------ unit tests

def test_no_cdn_or_remote_assets(district):
    html = build_map(district, **plan())
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html, flags=re.I)
    remote = [t for t in tags if re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", t)]
    assert remote == []
    page = page_part(html)
    assert not re.search(r"<script[^>]*\bsrc=", page) and "<link" not in page
    assert offline_assets() in html                   # Leaflet + jQuery inline
    import xstatic.pkg.jquery as xjq
    import xstatic.pkg.leaflet as xl
    assert f"jQuery v{xjq.VERSION}" in html and f"Leaflet {xl.VERSION}" in html
    assert "url(images/" not in html and "data:image/png;base64," in html
    # the only web tiles are the optional OSM base layer, never added at start
    assert "tile.openstreetmap.org" in html
    tile_var = re.search(r"var (tile_layer_\w+) = L\.tileLayer", html).group(1)
    assert f"{tile_var}.addTo" not in html


def test_names_escaped(district):
    html = build_map(district, **plan())
    assert XSS not in html and "alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "${alert(2)}" not in html and "{{ 7*7 }}" not in html and "`" not in page_part(html)
    assert "河口&#123;&#123; 7*7 &#125;&#125;&#96;&#36;&#123;alert(2)&#125;&#96;&#92;学校" in html
    # the popup table rows carry the escaped label too
    schools = layer_data(html)[2]
    assert any("&lt;script&gt;" in lbl for lbl in schools["labels"])
    esc_xss = "&lt;script&gt;alert(1)"
    assert (build_map(district, title=XSS).count(esc_xss)
            == build_map(district).count(esc_xss) + 2)        # <title> and the title box


def test_deterministic(district):
    a, b = build_map(district, **plan()), build_map(district, **plan())
    assert a == b
    assert not re.search(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", page_part(a))
    assert re.search(r'class="folium-map" id="map_000001"', a)


def test_layers_and_statuses(district):
    html = build_map(district, **plan())
    names = [json.loads(f'"{n}"') for n in re.findall(r'^\s*"((?:[^"\\]|\\.)*)" : \w+,$',
                                                         html, flags=re.M)]
    zh = LAYER_NAMES["zh"]
    assert names == [zh[k] for k in ("blank", "osm", "boundary", "roads", "schools",
                                     "closures", "routes", "catch_primary", "catch_junior",
                                     "rotation")]
    data = layer_data(html)
    schools = data[2]["circles"]
    status = {c["id"]: c["o"]["className"].split()[1] for c in schools}
    assert status == {"S1": "pl-school-pass", "S2": "pl-school-fail",
                      "S3": "pl-school-no_data", "S4": "pl-school-closed"}
    s2 = next(c for c in schools if c["id"] == "S2")
    assert s2["o"]["fillColor"] == "#d32f2f" and [r[5] for r in s2["rows"]] == [0, None]
    # [label, stage, before, after, standard, passed]: an after-only row has no before
    assert [r[2:5] for r in s2["rows"]] == [["—", "0.5", "≥ 1"], ["—", "—", "≥ 2"]]
    closures, routes = data[3], data[4]
    assert closures["lines"][0]["o"]["dashArray"] and "40" in closures["lines"][0]["t"]
    assert len({ln["o"]["color"] for ln in routes["lines"]}) == 2
    stops = [i for i in routes["icons"] if i["k"] == "pl-stop"]
    assert [re.search(r">(\d+)<", i["h"]).group(1) for i in stops] == list("123123")
    assert "出发后 8 分钟到站" in stops[4]["t"]
    primary = data[5]["geo"][0]["data"]["features"]
    assert [f["properties"]["s"]["color"] for f in primary] == ["#c62828", "#455a64"]  # S1 over
    assert "负荷 107%" in primary[0]["properties"]["t"]
    rot = data[7]["lines"]
    assert rot[0]["o"]["weight"] > rot[1]["o"]["weight"] and "3 名" in rot[0]["t"]


def test_english(district):
    html = build_map(district, lang="en", **plan())
    for k in ("boundary", "roads", "schools", "closures", "routes", "catch_primary",
              "catch_junior", "rotation"):
        assert f'"{LAYER_NAMES["en"][k]}" : ' in html
    assert "校车线路" not in html and "all A indicators pass" in html
    with pytest.raises(ValueError):
        build_map(district, lang="fr")


def test_size_and_rounding(district, tmp_path):
    html = build_map(district, **plan())
    assert len(html.encode()) < 400_000               # ~270 kB, nearly all Leaflet + jQuery
    assert not re.search(r"\d\.\d{7,}", page_part(html))   # coordinates rounded to 6 decimals
    out = write_map(html, tmp_path / "out" / "map.html")
    assert out.read_text(encoding="utf-8") == html
    assert [p.name for p in out.parent.iterdir()] == ["map.html"]   # no temp file left


def test_size_county(tmp_path):
    """A synthetic county of 300 schools, every school with 52 indicator rows: < 5 MB."""
    from planner.io.synth import synth_district

    d = load_district(synth_district(300, 7, tmp_path / "synth"))
    rows = [(f"指标{i}", st, 4.123456, 4.2, i % 5 != 0) for i in range(1, 27)
            for st in ("primary", "junior")]
    html = build_map(d, school_status={s: {"status": "fail", "rows": rows}
                                       for s in d.schools["school_id"]})
    assert len(html.encode()) < 5_000_000


# --------------------------------------------------------------- browser tests

OPEN_JS = """
(function () {
  var map = window[document.querySelector('.folium-map').id];
  document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function (l) {
    var box = l.querySelector('input');
    if (!box.checked) box.click();
  });
  map.eachLayer(function (l) {
    if (l.plId) { l.openTooltip(); if (l.plId === 'S2') l.openPopup(); }
  });
})();
"""


def test_browser_renders_plan(district, tmp_path):
    browser.chromium_or_skip()
    page = write_map(build_map(district, **plan()), tmp_path / "map.html")
    shot = tmp_path / "map.png"
    r = browser.render_page(page, screenshot=shot, extra_js=OPEN_JS)
    assert r.probe_done, r.stderr[-2000:]
    assert r.errors == []
    assert r.network_resources == []                  # nothing left the machine
    assert r.count("leaflet-tile") == 0               # no web tiles by default
    n = len(district.schools)
    assert r.count("pl-school", tag="path") == n == 4
    assert r.count("pl-school-closed", tag="path") == 1
    assert r.count("pl-boundary", tag="path") == r.count("pl-boundary-fill", tag="path") == 1
    assert r.count("pl-road", tag="path") == 2       # one path per road class
    assert r.count("pl-closure", tag="path") == 1
    assert r.count("pl-closure-label", "leaflet-marker-icon") == 1
    assert r.count("pl-route", tag="path") == 2
    assert r.count("pl-stop", "leaflet-marker-icon") == 6
    assert r.count("pl-catchment-primary", tag="path") == 2
    assert r.count("pl-catchment-junior", tag="path") == 1   # switched on by OPEN_JS
    assert r.count("pl-rotation", tag="path") == 2
    assert r.count("pl-arrowhead", "leaflet-marker-icon") == 3   # 1 closure + 2 flows
    # the school names are text: tooltips and the popup show the escaped script
    assert r.count("leaflet-tooltip") == n
    assert r.count("leaflet-popup") == 1
    assert "<h4>&lt;script&gt;alert(1)&lt;/script&gt;</h4>" in r.dom
    assert XSS not in r.dom
    assert "河口{{ 7*7 }}`${alert(2)}`\\学校" in r.dom
    control = r.dom[r.dom.index("leaflet-control-layers-list"):]
    for name in ("区界", "道路", "学校", "撤并", "校车线路", "小学片区", "初中片区", "教师交流"):
        assert name in control
    assert r.screenshot == shot and shot.stat().st_size > 20_000


def test_browser_district_only(district, tmp_path):
    browser.chromium_or_skip()
    page = write_map(build_map(district, lang="en"), tmp_path / "map.html")
    r = browser.render_page(page, screenshot=tmp_path / "map.png")
    assert r.probe_done and r.errors == [] and r.network_resources == []
    assert r.count("pl-school", tag="path") == len(district.schools)
    assert r.count("pl-route") == r.count("pl-catchment") == r.count("pl-rotation") == 0
    assert "Schools" in r.dom and "学校" not in r.dom.split("leaflet-control-layers-list")[1]


def test_catchment_edges_stay_shared(district):
    """Zones are simplified as a coverage: a wiggly shared edge is the same in both."""
    import numpy as np
    from shapely.geometry import Polygon, shape
    from shapely.ops import unary_union

    ys = np.linspace(29.0, 29.1, 400)
    xs = 113.05 + 0.000005 * np.sin(np.arange(400))         # ~0.5 m wiggles
    edge = list(zip(xs, ys))
    west = Polygon([(113.0, 29.0), *edge, (113.0, 29.1)])
    east = Polygon([(113.1, 29.0), (113.1, 29.1), *edge[::-1]])
    cat = gpd.GeoDataFrame({"school_id": ["S1", "S3"], "school": ["a", "b"],
                            "stage": ["primary"] * 2, "children": [1, 2], "seats": [3, 4],
                            "load_ratio": [0.3, 0.5]}, geometry=[west, east], crs="EPSG:4326")
    html = build_map(district, catchments=cat)
    feats = next(d for d in layer_data(html) if "geo" in d and "pl-catchment" in
                 d["geo"][0]["opts"]["className"])["geo"][0]["data"]["features"]
    a, b = (shape(f["geometry"]) for f in feats)
    assert len(a.exterior.coords) < 300                     # simplified (402 given)
    assert a.intersection(b).area < 1e-12                   # no overlap ...
    assert abs(unary_union([a, b]).area - (a.area + b.area)) < 1e-12
    assert abs(a.area + b.area - 0.1 * 0.1) < 1e-7          # ... and no gap


def test_deterministic_across_processes(district, tmp_path):
    """Same bytes whatever the hash seed (set order, ids) of the Python process."""
    import hashlib
    import os
    import subprocess
    import sys

    code = ("import hashlib, sys; sys.path[:0] = ['tests']\n"
            "from planner.io.load import load_district\n"
            "from planner.outputs.maps import build_map\n"
            "from test_map_browser import plan\n"
            f"d = load_district({str(district.path)!r})\n"
            "print(hashlib.sha256(build_map(d, **plan()).encode()).hexdigest())")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=root,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
               for seed in ("1", "2")}
    assert digests == {hashlib.sha256(build_map(district, **plan()).encode()).hexdigest()}


def test_without_boundary_or_roads(district):
    from dataclasses import replace

    bare = replace(district, boundary=None, roads=None)
    html = build_map(bare, closures=[{"school_id": "S4", "receiving_school_id": "nowhere",
                                      "pupils": 3}])
    data = layer_data(html)
    assert [len(d.get("circles", [])) for d in data] == [4, 0]   # schools, closures
    assert data[1]["lines"] == []             # an unknown receiver is not drawn
    assert "fitBounds" in html


def test_popup_stage_words_in_both_languages(district):
    """A part of two stages (indicator 12 lists a nine-year school as primary+junior) is
    put into words part by part; it used to show the code in the Chinese map."""
    status = {"S3": {"status": "fail", "rows": [("12", "primary+junior", 2600, 2500, False),
                                                  ("1", "junior", 4.0, 5.3, False)]}}
    for lang, words in (("zh", ["小学+初中", "初中"]), ("en", ["primary+junior", "junior"])):
        circles = next(d for d in layer_data(build_map(district, school_status=status, lang=lang))
                       if "circles" in d)["circles"]
        s3 = next(c for c in circles if c["id"] == "S3")
        assert [r[1] for r in s3["rows"]] == words, lang


def test_school_status_from_the_typed_report(district):
    """The map's statuses and popup rows come from the Report itself (no dicts)."""
    from planner.indicators import check
    from planner.outputs.run import school_status
    rep = check(district)
    st = school_status(rep, {"S4"}, list(district.schools["school_id"]))
    assert st["S4"] == {"status": "closed", "rows": []}
    failing = {f["school_id"] for r in rep.a_results for f in r.failing_schools}
    assert failing - {"S4"}                      # the tiny district has failing schools
    assert {sid for sid, v in st.items() if v["status"] == "fail"} == failing - {"S4"}
    rows = {r["indicator"]: r for r in st["S1"]["rows"]}
    part = rep.parts_table().set_index(["school_id", "stage"]).loc[("S1", "primary")]
    assert rows["1"]["stage"] == "primary" and rows["1"]["after"] == part["value_1"]
    assert rows["1"]["threshold"] == part["threshold_1"] == 4.2
