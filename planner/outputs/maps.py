"""The interactive plan map: one self-contained, offline HTML file.

:func:`build_map` draws a district and, optionally, a plan on it: schools coloured
by their A-indicator status, closed schools with dashed arrows to where their
pupils go, school-bus routes along the roads with numbered stops, catchment
polygons per stage and teacher-rotation flows. :func:`write_map` writes it
atomically.

Offline (design.md, "Offline"): folium's CDN ``<script>``/``<link>`` tags are
switched off and Leaflet (JS, CSS and its images as ``data:`` URIs) and jQuery
(folium's own Popup and bring-to-front code call ``$``) are embedded inline from
the XStatic packages, read at run time from ``xstatic.pkg.*.BASE_DIR``. Font-Awesome, Bootstrap,
awesome-markers and MarkerCluster are not used: markers are CircleMarkers and
DivIcons styled by the map's own CSS. The district's boundary and roads are
drawn from its own data, so the map reads without web tiles; OpenStreetMap tiles
are an optional base layer, off by default (only switching it on goes online).

folium draws only the frame: the map, panes, base layers, one FeatureGroup per
overlay, the layer control. The data of each overlay goes in as one JSON object
handed to a small inline builder (``PL.add``) by a raw script element. Not
through folium elements: branca compiles every rendered snippet as a Jinja
template, so a school called ``{{ ... }}`` would be evaluated (template
injection), and a county's few thousand elements would take seconds to compile.
Every text that comes from data (school names, indicator labels, the district
name) is HTML-escaped (also ``$``, backtick, backslash and braces, for safety
should it ever reach a folium template literal), and the JSON has no ``<``.

The output is deterministic: folium's random element ids (32 hex digits) are
replaced by sequential ids in order of first appearance.

Geometries are simplified with a 5 m tolerance in a projected CRS (the
district's ``settings.crs``, else its UTM zone) and coordinates rounded to 6
decimals, which keeps a county's map well under 5 MB.
"""

from __future__ import annotations

import base64
import html as _html
import json
import math
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from planner.outputs.i18n import LANGS, label, tr
from planner.outputs.values import PCT_KINDS, listing, num, pct, short_name

__all__ = ["build_map", "write_map", "LAYER_NAMES", "STATUS_COLORS"]

#: simplification tolerance for drawing, metres in a projected CRS
SIMPLIFY_M = 5.0
#: decimals kept in WGS84 coordinates (6 decimals is about 0.1 m)
DECIMALS = 6

#: overlay and base-layer names (catalogue ``map.layer.*``), by language
LAYER_KEYS = ("boundary", "roads", "schools", "closures", "routes", "catch_primary",
              "catch_junior", "rotation", "blank", "osm")
LAYER_NAMES = {lang: {k: tr(f"map.layer.{k}", lang) for k in LAYER_KEYS} for lang in LANGS}

STATUS_COLORS = {"pass": "#2e7d32", "fail": "#d32f2f", "closed": "#9e9e9e",
                 "no_data": "#f9a825", None: "#1565c0"}

_STATUSES = ("pass", "fail", "closed", "no_data", None)
_TYPES = ("primary", "junior", "nine_year", "twelve_year", "complete_middle", "teaching_point",
          "special")
_WORDS = ("title", "pupils", "indicator", "stage_h", "value", "threshold", "ok", "yes", "no",
          "nd", "closure", "closure_lbl", "route", "route_name", "stop", "catch", "rot",
          "leg_closure", "leg_route", "leg_catch", "leg_rot", "leg_boundary", "leg_roads",
          "pass_fail", "tip", "before", "after", "regression", "leg_regression", "depart",
          "at_clock", "at_min", "rot_backbone", "flow.to_rural", "flow.to_town",
          "flow.town_town", "flow.rural_rural", "leg_rot_backbone", "leg_rot_other",
          "leg_more")


@lru_cache(maxsize=None)
def _text(lang: str) -> dict:
    """The map's words in ``lang`` (catalogue ``map.*``, run.yaml; stages: ``stage.*``)."""
    t: dict[str, Any] = {k: tr(f"map.{k}", lang) for k in _WORDS}
    t["status"] = {st: tr(f"map.status.{'none' if st is None else st}", lang)
                   for st in _STATUSES}
    t["stage"] = {st: label("stage", st, lang) for st in ("primary", "junior")}
    t["type"] = {ty: tr(f"map.type.{ty}", lang) for ty in _TYPES}
    return t


def _stage_word(T: dict, stage: Any) -> str:
    """A stage code in words; a part of two stages (``primary+junior``) part by part."""
    code = "" if stage is None else str(stage)
    return "+".join(T["stage"].get(c, esc(c)) for c in code.split("+"))


ROUTE_COLORS = ["#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#e377c2", "#8c564b",
                "#bcbd22", "#393b79", "#637939", "#7b4173", "#3182bd", "#e6550d"]
ZONE_COLORS = ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
               "#b3de69", "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f", "#a6cee3",
               "#b2df8a", "#cab2d6", "#fdbf6f", "#d9d9d9"]
CLOSURE_COLOR = "#5d4037"
ROTATION_COLOR = "#6a1b9a"
ROAD_STYLE = {  # highway class -> (weight, colour)
    "motorway": (3.5, "#8d6e63"), "trunk": (3.0, "#8d6e63"), "primary": (2.5, "#a1887f"),
    "secondary": (2.0, "#a1887f"), "tertiary": (1.5, "#bcaaa4"),
}
ROAD_DEFAULT = (1.0, "#bcaaa4")

# panes, bottom to top: the district's land (boundary fill), catchments, roads and
# boundary line, plan lines, schools; DivIcons sit in Leaflet's markerPane (600)
PANES = (("pl-land", 230), ("pl-zones", 300), ("pl-base", 320), ("pl-lines", 420),
         ("pl-schools", 450))

_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
_ASSETS_MARK = "<!--planner-offline-assets-->"


# --------------------------------------------------------------------------- text

def esc(value: Any) -> str:
    """Escape a data text for HTML that folium places inside a JS template literal."""
    s = _html.escape("" if value is None else str(value), quote=True)
    return (s.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")
            .replace("{", "&#123;").replace("}", "&#125;"))


def _isnan(v: Any) -> bool:
    try:
        return v is None or (isinstance(v, float) and math.isnan(v)) or bool(np.isnan(v))
    except (TypeError, ValueError):
        return False


def _fmt(v: Any, nd: str = "—") -> str:
    if v is None or (not isinstance(v, str) and _isnan(v)):
        return nd
    if isinstance(v, (bool, np.bool_)):
        return "✓" if v else "✗"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v) >= 0.01 else f"{v:.4g}"
    return esc(v)


# ------------------------------------------------------------------------ assets

@lru_cache(maxsize=None)
def offline_assets() -> str:
    """Leaflet CSS/JS and jQuery as inline ``<style>``/``<script>`` blocks."""
    import xstatic.pkg.jquery as xjq
    import xstatic.pkg.leaflet as xl

    ldir = Path(xl.BASE_DIR)
    css = (ldir / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(m: re.Match) -> str:
        name = m.group(1).strip("'\"")
        p = ldir / name
        if not p.is_file():
            return "url(data:,)"
        b64 = base64.b64encode(p.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{b64})"

    css = re.sub(r"url\(([^)]+)\)", data_uri, css)
    ljs = (ldir / "leaflet.js").read_text(encoding="utf-8")
    jq = (Path(xjq.BASE_DIR) / "jquery.min.js").read_text(encoding="utf-8")
    # source-map comments would make devtools fetch a file that is not there
    ljs = re.sub(r"//# sourceMappingURL=\S+", "", ljs)
    jq = re.sub(r"//# sourceMappingURL=\S+", "", jq)

    def script(src: str) -> str:
        return "<script>" + src.replace("</script", "<\\/script") + "</script>"

    return (f"<style>/* Leaflet {xl.VERSION} */\n{css}</style>\n"
            f"{script(ljs)}\n{script(jq)}")


_FONTS = '"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",'
_MAP_CSS = """
<style>
body,.leaflet-container{font-family:""" + _FONTS + """
 "Source Han Sans SC",sans-serif;background:#e6e2d8;font-size:13px}
.pl-title{position:fixed;top:10px;left:50%;transform:translateX(-50%);z-index:1000;
 background:rgba(255,255,255,.92);padding:6px 14px;border-radius:4px;font-size:17px;
 font-weight:bold;box-shadow:0 1px 4px rgba(0,0,0,.3);pointer-events:none;max-width:60%;
 text-align:center}
.pl-framed .pl-title{display:none}
.pl-framed .pl-legend{font-size:11px;line-height:15px;padding:5px 7px;max-width:230px}
.leaflet-tooltip.pl-label{background:rgba(255,255,255,.82);border:0;box-shadow:none;
 padding:0 3px;font-size:12px;line-height:15px;color:#212121;font-weight:600}
.leaflet-tooltip.pl-label:before{display:none}
.leaflet-tooltip.pl-label-hidden{visibility:hidden}
.pl-zone-lbl{display:inline-block;transform:translate(-50%,-50%);white-space:nowrap;
 background:rgba(255,255,255,.85);border-radius:3px;padding:0 4px 0 0;font-size:11px;
 line-height:15px;color:#37474f;border:1px solid #90a4ae}
.pl-zone-lbl i{display:inline-block;width:10px;height:15px;vertical-align:top;margin-right:3px;
 border-radius:3px 0 0 3px}
.pl-legend{position:fixed;bottom:24px;right:10px;z-index:1000;background:rgba(255,255,255,.94);
 padding:8px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:12px;
 line-height:18px;max-width:300px}
.pl-legend b{display:block;margin:2px 0}
.pl-legend summary{cursor:pointer;color:#37474f;font-weight:600}
.pl-legend i{display:inline-block;vertical-align:middle;margin-right:6px}
.pl-legend .dot{width:12px;height:12px;border-radius:50%;border:1.5px solid #333}
.pl-legend .ln{width:26px;height:0;border-top:3px solid}
.pl-legend .sq{width:16px;height:11px;border:1px solid #555}
.pl-stop-num{width:18px;height:18px;border-radius:50%;color:#fff;font:bold 11px/18px sans-serif;
 text-align:center;border:1.5px solid #fff;box-shadow:0 0 2px #000}
.pl-stop-dot{position:absolute;left:-4px;top:-4px;width:8px;height:8px;border-radius:50%;
 border:1.5px solid #fff;box-shadow:0 0 2px #000}
.pl-stop-badge{position:absolute;left:3px;top:-23px}
.pl-flow-lbl{background:#fff;border:1px solid;border-radius:3px;padding:0 3px;font-size:11px;
 line-height:15px;white-space:nowrap;display:inline-block;transform:translate(-50%,-50%)}
.pl-arrow{width:0;height:0;border-top:6px solid transparent;border-bottom:6px solid transparent;
 border-left:12px solid}
.pl-pop{font-size:12px}
.pl-pop h4{margin:0 0 4px;font-size:14px}
.pl-pop table{border-collapse:collapse}
.pl-pop td,.pl-pop th{border:1px solid #ccc;padding:1px 5px;text-align:left}
.pl-pop tr.f td{background:#fde0dc}
.pl-pop tr.n td{background:#fff4d6}
</style>
"""


# ---------------------------------------------------------------------- geometry

def _projected_crs(district, gdf=None):
    crs = getattr(getattr(district, "settings", None), "crs", None)
    if crs:
        return crs
    b = district.boundary
    if b is not None and not b.is_empty:
        lon, lat = b.centroid.x, b.centroid.y
    elif gdf is not None and len(gdf):
        x0, y0, x1, y1 = gdf.total_bounds
        lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    else:
        s = district.schools
        lon, lat = float(s["lon"].mean()), float(s["lat"].mean())
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _drawable(geoms, crs_proj, coverage: bool = False):
    """Simplify WGS84 geometries to SIMPLIFY_M in a projected CRS, round to DECIMALS."""
    import geopandas as gpd
    import shapely

    gs = gpd.GeoSeries(list(geoms), crs="EPSG:4326").to_crs(crs_proj)
    arr = np.asarray(gs.values)
    if coverage and len(arr) > 1 and all(g is not None
                                         and g.geom_type in ("Polygon", "MultiPolygon")
                                         for g in arr):
        # shared edges stay shared (no slivers between zones). coverage_simplify
        # is Visvalingam-Whyatt (drops triangles under tolerance² in area), gentler
        # than Douglas-Peucker; its result is undefined on overlapping input
        try:
            ok = bool(shapely.coverage_is_valid(arr))
            simp = shapely.coverage_simplify(arr, SIMPLIFY_M) if ok else None
        except Exception:  # GEOS too old for coverage functions
            simp = None
        if simp is None:
            simp = shapely.simplify(arr, SIMPLIFY_M, preserve_topology=True)
    else:
        simp = shapely.simplify(arr, SIMPLIFY_M, preserve_topology=True)
    out = gpd.GeoSeries(simp, crs=crs_proj).to_crs("EPSG:4326")
    return [shapely.transform(g, lambda xy: np.round(xy, DECIMALS)) if g is not None else None
            for g in out.values]


def _r(x: float) -> float:
    return round(float(x), DECIMALS)


def _ll(lon: float, lat: float) -> list[float]:
    return [_r(lat), _r(lon)]


def _merc(lon: float, lat: float) -> tuple[float, float]:
    lat = max(min(lat, 85.0), -85.0)
    return math.radians(lon), math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _screen_angle(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Clockwise screen angle (degrees, 0 = east) of the direction lon/lat a -> b."""
    ax, ay = _merc(*a)
    bx, by = _merc(*b)
    return math.degrees(math.atan2(-(by - ay), bx - ax))


def _arc(a: tuple[float, float], b: tuple[float, float], bend: float = 0.15,  # not-a-rule: style
         n: int = 16) -> list[tuple[float, float]]:
    """A gentle curve a -> b bending to the right, so a -> b and b -> a stay apart."""
    k = math.cos(math.radians((a[1] + b[1]) / 2))
    dx, dy = (b[0] - a[0]) * k, b[1] - a[1]
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    cx, cy = mx + dy * bend / k if k else mx, my - dx * bend
    pts = []
    for i in range(n + 1):
        t = i / n
        x = (1 - t) ** 2 * a[0] + 2 * (1 - t) * t * cx + t ** 2 * b[0]
        y = (1 - t) ** 2 * a[1] + 2 * (1 - t) * t * cy + t ** 2 * b[1]
        pts.append((x, y))
    return pts


def _along(pts: Sequence[tuple[float, float]], frac: float) -> tuple[tuple[float, float], float]:
    """Point at a fraction of a polyline's length and the screen angle there."""
    k = math.cos(math.radians(pts[0][1]))
    seg = [math.hypot((q[0] - p[0]) * k, q[1] - p[1]) for p, q in zip(pts, pts[1:])]
    total = sum(seg) or 1.0
    goal, acc = frac * total, 0.0
    for (p, q), s in zip(zip(pts, pts[1:]), seg):
        if acc + s >= goal and s > 0:
            t = (goal - acc) / s
            return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])), _screen_angle(p, q)
        acc += s
    return pts[-1], _screen_angle(pts[-2], pts[-1]) if len(pts) > 1 else 0.0


# --------------------------------------------------------------------------- map

# ------------------------------------------------------------- the JS builder

#: draws a layer from plain data; data strings are escaped HTML already.
#: ``PL.add`` builds a layer; ``PL.finish`` runs once the map is built: the layer panel
#: collapses when the map sits in a frame (the report), a metric scale bar, no
#: attribution prefix, and on every zoom the school markers that overlap are set apart
#: on a ring (a thin line to the true spot) and the school names that fit are shown,
#: failing and closed schools first, then the larger schools.
_PLAN_JS = r"""<script>
var PL = {
  schools: [],
  add: function (g, s) {
    (s.circles || []).forEach(function (c) {
      var m = L.circleMarker([c.y, c.x], c.o);
      m.plId = c.id; m.plTrue = L.latLng(c.y, c.x); m.plRank = c.r || 0;
      m.plR0 = c.o.radius || 6;
      if (c.n) {
        m.bindTooltip(c.n, {permanent: true, direction: 'right', interactive: false,
                            offset: [c.o.radius || 6, 0], className: 'pl-label'});
      } else if (c.t) {
        m.bindTooltip(c.t, {sticky: true});
      }
      if (c.p) m.bindPopup(function () { return PL.popup(s, c); }, {maxWidth: 520});
      g.addLayer(m);
      if (c.n) {
        PL.schools.push({m: m, g: g});
        // a name hidden for want of room shows while the pointer is on the school
        m.on('mouseover', function () {
          var el = m.getTooltip().getElement();
          if (el && el.classList.contains('pl-label-hidden')) {
            el.classList.remove('pl-label-hidden'); el.plPeek = true;
          }
        });
        m.on('mouseout', function () {
          var el = m.getTooltip().getElement();
          if (el && el.plPeek) { el.classList.add('pl-label-hidden'); el.plPeek = false; }
        });
      }
    });
    (s.lines || []).forEach(function (l) {
      var m = L.polyline(l.p, l.o);
      if (l.t) m.bindTooltip(l.t, {sticky: true});
      g.addLayer(m);
    });
    (s.icons || []).forEach(function (i) {
      var m = L.marker([i.y, i.x], {
        icon: L.divIcon({html: i.h, className: i.k, iconSize: i.s, iconAnchor: i.a}),
        interactive: !!(i.t || i.p), keyboard: false, pane: i.pane || 'markerPane'});
      if (i.t) m.bindTooltip(i.t, {direction: 'top', offset: [0, -24]});
      if (i.p) m.bindPopup('<div class="pl-pop">' + i.p + '</div>');
      g.addLayer(m);
    });
    (s.geo || []).forEach(function (d) {
      g.addLayer(L.geoJSON(d.data, Object.assign({
        style: function (f) { return f.properties.s; },
        onEachFeature: function (f, l) {
          if (f.properties.t) l.bindTooltip(f.properties.t, {sticky: true});
        }}, d.opts || {})));
    });
  },
  popup: function (s, c) {
    var h = c.p;
    if (c.rows && c.rows.length) {
      h += '<table><tr><th>' + s.head.join('</th><th>') + '</th></tr>';
      c.rows.forEach(function (r) {
        var ok = r[5];
        var cls = ok === 1 ? '' : (ok === 0 ? ' class="f"' : ' class="n"');
        h += '<tr' + cls + '><td>' + s.labels[r[0]] + '</td><td>' + r[1] + '</td><td>'
          + r[2] + '</td><td>' + r[3] + '</td><td>' + r[4] + '</td><td>'
          + s.ok[ok === null ? 2 : ok] + '</td></tr>';
      });
      h += '</table>';
    }
    return '<div class="pl-pop">' + h + '</div>';
  },
  finish: function (map, ctrl, o) {
    var framed = false;
    try { framed = window.self !== window.top; } catch (e) { framed = true; }
    if (framed) {
      document.body.classList.add('pl-framed');
      ctrl.remove(); ctrl.options.collapsed = true; ctrl.addTo(map);
      document.querySelectorAll('.pl-legend details').forEach(function (d) {
        d.removeAttribute('open');
      });
    }
    if (map.attributionControl) map.attributionControl.setPrefix('');
    L.control.scale({imperial: false, position: 'bottomleft'}).addTo(map);
    PL.map = map; PL.labelZoom = o.labelZoom;
    PL.leaders = L.layerGroup().addTo(map);
    map.on('zoomend', PL.arrange);
    map.on('overlayadd overlayremove', PL.arrange);
    PL.arrange();
  },
  arrange: function () {
    // markers that overlap on screen are pushed apart (a few deterministic rounds of
    // pairwise repulsion from their true spots), with a thin line to the true spot
    var map = PL.map, items = PL.schools.filter(function (x) { return map.hasLayer(x.g); });
    PL.leaders.clearLayers();
    // markers shrink when zoomed out (a county on a small frame), grow a little in
    var f = Math.min(1.2, Math.max(0.55, Math.pow(2, (map.getZoom() - 12) / 2)));
    PL.schools.forEach(function (x) { x.m.setRadius(Math.round(x.m.plR0 * f * 10) / 10); });
    var n = items.length, p = [], r = [];
    items.forEach(function (x) {
      var q = map.latLngToLayerPoint(x.m.plTrue);
      p.push([q.x, q.y]); r.push(x.m.options.radius);
    });
    for (var it = 0; it < 60; it++) {
      var moved = false;
      for (var i = 0; i < n; i++) for (var j = i + 1; j < n; j++) {
        var dx = p[j][0] - p[i][0], dy = p[j][1] - p[i][1];
        var d = Math.sqrt(dx * dx + dy * dy), need = r[i] + r[j] + 2;
        if (d >= need) continue;
        if (d < 1e-6) { var a = 2.399963 * (i + j); dx = Math.cos(a); dy = Math.sin(a); d = 1; }
        var push = (need - d) / 2 + 0.1;
        p[i][0] -= dx / d * push; p[i][1] -= dy / d * push;
        p[j][0] += dx / d * push; p[j][1] += dy / d * push;
        moved = true;
      }
      if (!moved) break;
    }
    items.forEach(function (x, i) {
      var t = map.latLngToLayerPoint(x.m.plTrue);
      if (Math.abs(t.x - p[i][0]) + Math.abs(t.y - p[i][1]) < 1) {
        x.m.setLatLng(x.m.plTrue);
        return;
      }
      var ll = map.layerPointToLatLng(L.point(p[i][0], p[i][1]));
      x.m.setLatLng(ll);
      PL.leaders.addLayer(L.polyline([x.m.plTrue, ll], {color: '#424242', weight: 1,
        opacity: 0.8, interactive: false, pane: 'pl-lines', className: 'pl-leader'}));
    });
    PL.labels();
  },
  labels: function () {
    // as many school names as fit without covering another name or school (failing
    // and closed schools first, then the larger), then the flow labels that fit
    var map = PL.map;
    var items = PL.schools.filter(function (x) { return map.hasLayer(x.g); })
      .sort(function (a, b) { return b.m.plRank - a.m.plRank; });
    function hit(b, q) {
      return b.left < q.right && b.right > q.left && b.top < q.bottom && b.bottom > q.top;
    }
    var marks = items.map(function (x) {
      var c = map.latLngToContainerPoint(x.m.getLatLng()), rad = x.m.options.radius;
      var o = map.getContainer().getBoundingClientRect();
      return {left: o.left + c.x - rad, right: o.left + c.x + rad, top: o.top + c.y - rad,
              bottom: o.top + c.y + rad, m: x.m};
    });
    var placed = [];
    items.forEach(function (x) {
      var t = x.m.getTooltip(), el = t && t.getElement && t.getElement();
      if (!el) return;
      el.classList.remove('pl-label-hidden');
      el.style.marginLeft = ''; el.style.marginTop = '';
      var b0 = el.getBoundingClientRect(), rad = x.m.options.radius;
      var w = b0.right - b0.left, h = b0.bottom - b0.top;
      // right of the school, else left, above, below
      var shifts = [[0, 0], [-(w + 2 * rad + 4), 0], [-(w / 2 + rad + 2), -(h / 2 + rad + 2)],
                    [-(w / 2 + rad + 2), h / 2 + rad + 2]];
      var ok = shifts.some(function (sh) {
        var b = {left: b0.left + sh[0], right: b0.right + sh[0], top: b0.top + sh[1],
                 bottom: b0.bottom + sh[1]};
        var bad = placed.some(function (q) { return hit(b, q); }) ||
          marks.some(function (q) { return q.m !== x.m && hit(b, q); });
        if (bad) return false;
        el.style.marginLeft = sh[0] + 'px'; el.style.marginTop = sh[1] + 'px';
        placed.push(b);
        return true;
      });
      if (!ok) el.classList.add('pl-label-hidden');
    });
    document.querySelectorAll('.pl-flow-lbl').forEach(function (el) {
      el.style.visibility = '';
      var b = el.getBoundingClientRect();
      if (!b.width) return;
      var bad = placed.some(function (q) { return hit(b, q); }) ||
        marks.some(function (q) { return hit(b, q); });
      if (bad) { el.style.visibility = 'hidden'; } else { placed.push(b); }
    });
  }
};
</script>
"""


def _branca():
    from branca.element import Element, MacroElement

    class Raw(Element):
        """Text rendered as is: no Jinja (data must never be parsed as a template)."""

        def __init__(self, text: str):
            super().__init__()
            self._text = text

        def render(self, **kwargs):
            return self._text

    class LayerData(MacroElement):
        """``PL.add(<feature group>, <data>)`` placed right after the group's own script."""

        def __init__(self, data: dict):
            super().__init__()
            self._name = "LayerData"
            self._data = data

        def render(self, **kwargs):
            js = f"PL.add({self._parent.get_name()}, {_json(self._data)});\n"
            self.get_root().script.add_child(Raw(js), name=self.get_name())

    class Finish(MacroElement):
        """``PL.finish(<map>, <layer control>, options)`` after everything else."""

        def __init__(self, control):
            super().__init__()
            self._name = "Finish"
            self._control = control

        def render(self, **kwargs):
            js = (f"PL.finish({self._parent.get_name()}, {self._control.get_name()}, "
                  f"{_json({'labelZoom': 0})});\n")
            self.get_root().script.add_child(Raw(js), name=self.get_name())

    return Raw, LayerData, Finish


def _json(obj: Any) -> str:
    """JSON for an inline <script>: no ``<`` (so no ``</script>`` or ``<!--``)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return s.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, str) or _isnan(v):
        return None
    return float(v)


# --------------------------------------------------------------------------- map

#: where a flow of teachers goes, by the area types of its schools (urban and town
#: schools are 城镇, rural ones 乡村): its colour
FLOW_COLORS = {"to_rural": "#1565c0", "to_town": "#ef6c00", "town_town": "#7b1fa2",
               "rural_rural": "#2e7d32"}
REGRESSION_COLOR = "#c62828"
#: map_layers keys and the layer each one fills
_LAYER_OF = {"closures": "closures", "routes": "routes", "rotation_flows": "rotation",
             "catchments": "catch_primary", "regressions": "closures"}
#: the plan layer shown at start when the caller names none: the first present
_MAIN_ORDER = ("closures", "rotation", "catch_primary", "catch_junior", "routes")


def _flow_kind(a: str, b: str) -> str:
    """``to_rural`` / ``to_town`` / ``town_town`` / ``rural_rural`` from two area types."""
    ra, rb = a == "rural", b == "rural"
    if ra and rb:
        return "rural_rural"
    if ra:
        return "to_town"
    return "to_rural" if rb else "town_town"


def _zone_colours(zones: list, n_colours: int) -> list[int]:
    """Colour index of each zone: greedy colouring of the zones that touch (neighbours
    differ), in zone order (deterministic)."""
    import shapely
    geoms = np.asarray(zones, dtype=object)
    tree = shapely.STRtree(geoms)
    out: list[int] = []
    for i, g in enumerate(geoms):
        near = [int(j) for j in tree.query(g, predicate="intersects") if int(j) < i]
        used = {out[j] for j in near}
        out.append(next((c for c in range(n_colours) if c not in used), i % n_colours))
    return out


def _row(r: Any) -> dict:
    """A popup row as a dict (a ``(label, stage, value, threshold, passed)`` tuple is an
    after-plan value without a before)."""
    if isinstance(r, Mapping):
        return dict(r)
    lab, stage, value, threshold, passed = r
    return {"indicator": lab, "stage": stage, "before": None, "after": value,
            "threshold": threshold, "passed": passed, "kind": ""}


def build_map(district, *, school_status: Mapping[str, Mapping] | None = None,
              closures: Iterable[Mapping] | None = None,
              routes: Iterable[Mapping] | None = None,
              catchments=None,
              rotation_flows: Iterable[Mapping] | None = None,
              regressions: Mapping[str, Iterable] | None = None,
              indicator_names: Mapping[int, str] | None = None,
              main_layer: str | None = None,
              lang: str = "zh", title: str | None = None) -> str:
    """Draw a district and a plan as one self-contained, offline HTML string.

    Parameters (all plain data, so a scenario runner can pass its plans):

    - ``school_status``: ``{school_id: {"status": "pass"|"fail"|"closed"|"no_data",
      "rows": [...], "pupils_before", "pupils_after"}}``; schools are coloured by
      status, named on the map (as many names as fit, failing and closed schools
      first), and their popup tabulates the rows: dicts ``{"indicator", "stage",
      "before", "after", "threshold", "passed", "at_most", "kind"}``
      (:func:`planner.outputs.run.school_status`) or ``(indicator, stage, value,
      threshold, passed)`` tuples (an after-plan value). Schools missing from a given
      ``school_status`` are drawn as "no data".
    - ``closures``: ``[{"school_id", "receiving_school_id", "pupils"}]``; the closed
      school is drawn grey and dashed, with a dashed arrow to each receiver,
      labelled with the pupil count.
    - ``routes``: ``[{"route_id", "bus", "receiving_school_id", "coords": [(lon, lat)],
      "km", "minutes", "depart_clock"?, "stops": [{"order", "stop_id", "name", "lon",
      "lat", "arrive_min", "pupils", "clock"?}]}]``; one colour per route, numbered
      stops, clock times when given.
    - ``catchments``: GeoDataFrame (WGS84) with ``school_id, school, stage, children,
      seats, load_ratio`` and polygons; one layer per stage; neighbouring zones differ
      in colour, each zone is labelled with its school and its school ringed in its
      colour.
    - ``rotation_flows``: ``[{"from_school_id", "to_school_id", "teachers",
      "backbone"?}]``; curved lines coloured by direction (城镇→乡村, 乡村→城镇, within
      城镇, within 乡村: the schools' area types), solid when backbone teachers move,
      dashed otherwise, wider with more teachers.
    - ``regressions``: ``{school_id: [indicator id or {"indicator", "stage"}]}``: the A
      indicators a receiving school fails after the merge; a red ring and a line in its
      tooltip (in the closures layer).
    - ``indicator_names``: ``{id: name}`` for the popups (short names of 1-7 from the
      catalogue first); ``main_layer``: the ``map_layers`` key whose layer is on at
      start (default: the first of closures, rotation, catchments, routes); the other
      plan layers are off, one click away in the layer panel. Boundary, roads and
      schools are always on.
    - ``lang``: ``"zh"`` (default) or ``"en"``; ``title`` overrides the title.
    """
    import folium

    if lang not in LANGS:
        raise ValueError(f"lang must be one of {sorted(LANGS)}, not {lang!r}")
    Raw, LayerData, Finish = _branca()
    T, LN = _text(lang), LAYER_NAMES[lang]
    school_status = {str(k): v for k, v in (school_status or {}).items()}
    closures = list(closures or [])
    routes = list(routes or [])
    rotation_flows = list(rotation_flows or [])
    regressions = {str(k): list(v) for k, v in (regressions or {}).items() if v}
    indicator_names = dict(indicator_names or {})

    schools = district.schools
    names = {str(k): str(v) for k, v in zip(schools["school_id"], schools["name"])}
    pos = {str(k): (float(x), float(y)) for k, x, y in
           zip(schools["school_id"], schools["lon"], schools["lat"])}
    area = ({str(k): str(v) for k, v in zip(schools["school_id"], schools["area_type"])}
            if "area_type" in schools.columns else {})

    def name_of(sid) -> str:
        return names.get(str(sid), str(sid))

    def ind_word(k) -> str:
        try:
            i = int(k)
        except (TypeError, ValueError):
            return esc(k)
        return f"{i}. {esc(short_name(i, lang, indicator_names.get(i)))}"

    present = []
    if closures or regressions:
        present.append("closures")
    if rotation_flows:
        present.append("rotation")
    if catchments is not None and len(catchments):
        present += [f"catch_{st}" for st in ("primary", "junior")
                    if (catchments["stage"] == st).any()]
    if routes:
        present.append("routes")
    main = _LAYER_OF.get(main_layer or "", main_layer)
    if main == "catch_primary" and "catch_primary" not in present and "catch_junior" in present:
        main = "catch_junior"
    if main not in present:
        main = next((k for k in _MAIN_ORDER if k in present), None)

    crs_proj = _projected_crs(district, district.units)

    # ---- extent
    if district.boundary is not None and not district.boundary.is_empty:
        w, s, e, n = district.boundary.bounds
    else:
        w, e = float(schools["lon"].min()), float(schools["lon"].max())
        s, n = float(schools["lat"].min()), float(schools["lat"].max())
    m = folium.Map(location=[_r((s + n) / 2), _r((w + e) / 2)], zoom_start=11, tiles=None,
                   control_scale=False)
    m.default_js = []   # no CDN links: the assets are inlined (offline_assets)
    m.default_css = []
    fig = m.get_root()
    title_text = title if title is not None else T["title"].format(name=district.name)
    fig.header.add_child(Raw(f"<title>{esc(title_text)}</title>\n{_ASSETS_MARK}\n"
                             f"{_MAP_CSS}{_PLAN_JS}"), name="planner_head")

    for pane, z in PANES:
        folium.map.CustomPane(pane, z_index=z).add_to(m)

    # ---- base layers: none (offline) by default, OSM tiles optional and unchecked
    folium.FeatureGroup(name=LN["blank"], overlay=False, show=True).add_to(m)
    folium.TileLayer("OpenStreetMap", name=LN["osm"], overlay=False, show=False,
                     max_zoom=19).add_to(m)  # not-a-rule: style

    def layer(key: str, data: dict, show: bool | None = None) -> None:
        if show is None:
            show = key in ("boundary", "roads", "schools") or key == main
        fg = folium.FeatureGroup(name=LN[key], show=show)
        fg.add_child(LayerData(data))
        fg.add_to(m)

    def line_opts(colour, weight, cls, dash=None, opacity=0.85):  # not-a-rule: style
        o = {"pane": "pl-lines", "color": colour, "weight": weight, "opacity": opacity,
             "className": cls}
        if dash:
            o["dashArray"] = dash
        return o

    def icon(lon, lat, html, cls, size=(0, 0), anchor=(0, 0), tip=None, pop=None):
        d = {"x": _r(lon), "y": _r(lat), "h": html, "k": cls, "s": list(size),
             "a": list(anchor)}
        if tip:
            d["t"] = tip
        if pop:
            d["p"] = pop
        return d

    def arrow(lon, lat, angle, colour):
        return icon(lon, lat, f'<div class="pl-arrow" style="border-left-color:{colour};'
                    f'transform:translate(-6px,-6px) rotate({angle:.1f}deg)"></div>',
                    "pl-arrowhead")

    # ---- boundary (light fill inside, so the district reads without tiles)
    if district.boundary is not None and not district.boundary.is_empty:
        (bgeom,) = _drawable([district.boundary], crs_proj)
        feature = {"type": "Feature", "geometry": bgeom.__geo_interface__}
        layer("boundary", {"geo": [
            {"data": {**feature, "properties": {"s": {"stroke": False, "fillColor": "#ffffff",
                                                       "fillOpacity": 0.7}}},
             "opts": {"pane": "pl-land", "interactive": False,
                      "className": "pl-boundary-fill"}},
            {"data": {**feature, "properties": {"s": {"color": "#37474f", "weight": 2.5,
                                                       "dashArray": "8 4 2 4",
                                                       "opacity": 0.9,  # not-a-rule: style
                                                       "fill": False}}},
             "opts": {"pane": "pl-base", "interactive": False, "className": "pl-boundary"}}]})

    # ---- roads: one multi-line per road class (few SVG paths, small file)
    if district.roads is not None and len(district.roads):
        import shapely
        roads = district.roads
        hw = (roads["highway"].astype(str).to_numpy() if "highway" in roads.columns
              else np.full(len(roads), ""))
        by_class: dict[tuple, list] = {}
        for h, g in zip(hw, _drawable(roads.geometry.values, crs_proj)):
            if g is None or g.is_empty:
                continue
            parts = g.geoms if hasattr(g, "geoms") else [g]
            by_class.setdefault(ROAD_STYLE.get(h, ROAD_DEFAULT), []).extend(
                p for p in parts if p.geom_type == "LineString")
        feats = [{"type": "Feature",
                  "geometry": shapely.MultiLineString(gs).__geo_interface__,
                  "properties": {"s": {"color": colour, "weight": weight,
                                       "opacity": 0.9}}}  # not-a-rule: style
                 for (weight, colour), gs in sorted(by_class.items()) if gs]
        layer("roads", {"geo": [{"data": {"type": "FeatureCollection", "features": feats},
                                 "opts": {"pane": "pl-base", "interactive": False,
                                          "className": "pl-road"}}]})

    # ---- schools
    closed_ids = {str(c["school_id"]) for c in closures}
    closed_ids |= {str(k) for k, v in school_status.items() if v.get("status") == "closed"}
    labels: dict[str, int] = {}
    circles = []
    pupils_all = (schools["students_primary"].fillna(0) + schools["students_junior"].fillna(0))
    rank_of = {"fail": 3, "closed": 2, "no_data": 2}
    for row, pupils in zip(schools.itertuples(index=False), pupils_all):
        sid = str(row.school_id)
        st = school_status.get(sid, {})
        status = "closed" if sid in closed_ids else (st.get("status", "no_data")
                                                     if school_status else None)
        if status not in STATUS_COLORS:
            status = "no_data"
        colour = STATUS_COLORS[status]
        closed = status == "closed"
        opts = {"pane": "pl-schools", "radius": round(5 + min(9.0, math.sqrt(
                    max(float(pupils), 0.0)) / 4), 1),
                "color": "#616161" if closed else "#212121", "weight": 2 if closed else 1.5,
                "fillColor": colour, "fillOpacity": 0.55 if closed else 0.9,  # not-a-rule: style
                "className": f"pl-school pl-school-{status or 'plain'}"}
        if closed:
            opts["dashArray"] = "3 3"
        typ = T["type"].get(row.type, esc(row.type))
        pb, pa = st.get("pupils_before"), st.get("pupils_after")
        if pb is None:
            pb = pupils
        ptext = _fmt(pb) if pa is None or pa == pb else f"{_fmt(pb)} → {_fmt(pa)}"
        head = (f'<h4>{esc(row.name)}</h4><div>{esc(sid)} · {typ} · {T["pupils"]} '
                f'{ptext} · <b style="color:{colour}">{T["status"][status]}</b></div>')
        if sid in regressions:
            head += (f'<div class="pl-reg">{T["regression"]}'
                     f'{listing([_reg_word(x, ind_word, T) for x in regressions[sid]], lang)}'
                     '</div>')
        rows = []
        for raw in st.get("rows") or []:
            r = _row(raw)
            li = labels.setdefault(ind_word(r.get("indicator")), len(labels))
            passed = r.get("passed")
            ok = (None if passed is None or (not isinstance(passed, (bool, np.bool_))
                                             and _isnan(passed))
                  else int(bool(passed)))
            thr = r.get("threshold")
            sense = "≤ " if r.get("at_most") else "≥ "
            rows.append([li, _stage_word(T, r.get("stage")), _val(r, "before", thr, lang),
                         _val(r, "after", thr, lang),
                         (sense + _val(r, "threshold", None, lang)) if thr is not None
                         else "—", ok])
        c = {"id": sid, "x": _r(row.lon), "y": _r(row.lat), "o": opts, "n": esc(row.name),
             "r": rank_of.get(status or "", 1) + min(float(pupils), 9999.0) / 1e4,
             "t": T["tip"].format(name=esc(row.name), status=T["status"][status]), "p": head}
        if rows:
            c["rows"] = rows
        circles.append(c)
    layer("schools", {"circles": circles, "labels": list(labels),
                      "head": [T["indicator"], T["stage_h"], T["before"], T["after"],
                               T["threshold"], T["ok"]],
                      "ok": [T["no"], T["yes"], T["nd"]]})

    # ---- closures: dashed arrows to where the pupils go, labelled with pupils; the
    # receivers that fail an A indicator after the merge ringed in red
    if closures or regressions:
        lines, icons, rings = [], [], []
        for c in closures:
            a, b = pos.get(str(c["school_id"])), pos.get(str(c["receiving_school_id"]))
            if a is None or b is None:
                continue
            tip = T["closure"].format(frm=esc(name_of(c["school_id"])),
                                      to=esc(name_of(c["receiving_school_id"])),
                                      n=_fmt(c.get("pupils")))
            pts = [a, b]
            lines.append({"p": [_ll(*p) for p in pts], "t": tip,
                          "o": line_opts(CLOSURE_COLOR, 2.5, "pl-closure", "7 5",
                                         0.9)})  # not-a-rule: style
            (ax, ay), ang = _along(pts, 0.8)
            icons.append(arrow(ax, ay, ang, CLOSURE_COLOR))
            (lx, ly), _ = _along(pts, 0.5)  # not-a-rule: style
            icons.append(icon(lx, ly, f'<span class="pl-flow-lbl" style="border-color:'
                              f'{CLOSURE_COLOR};color:{CLOSURE_COLOR}">'
                              f'{T["closure_lbl"].format(n=_fmt(c.get("pupils")))}</span>',
                              "pl-closure-label", tip=tip))
        for sid, items in sorted(regressions.items()):
            if sid not in pos:
                continue
            x, y = pos[sid]
            rings.append({"id": f"reg-{sid}", "x": _r(x), "y": _r(y),
                          "t": f'{esc(name_of(sid))}：{T["regression"]}'
                               f'{listing([_reg_word(v, ind_word, T) for v in items], lang)}',
                          "o": {"pane": "pl-lines", "radius": 17, "color": REGRESSION_COLOR,
                                "weight": 3, "fill": False, "className": "pl-regression"}})
        layer("closures", {"lines": lines, "icons": icons, "circles": rings})

    # ---- bus routes along the roads, numbered stops in order, clock times when given
    if routes:
        lines, icons = [], []
        for i, r in enumerate(routes):
            colour = ROUTE_COLORS[i % len(ROUTE_COLORS)]
            stops = sorted(r.get("stops") or [], key=lambda st: _num(st.get("order")) or 0)
            coords = [(float(x), float(y)) for x, y in r.get("coords") or []]
            if len(coords) < 2:
                coords = [(float(st["lon"]), float(st["lat"])) for st in stops]
            rname = T["route_name"].format(rid=esc(r.get("route_id")))
            tip = T["route"].format(rid=esc(r.get("route_id")), bus=esc(r.get("bus")),
                                    to=esc(name_of(r.get("receiving_school_id"))),
                                    km=_fmt(r.get("km")), min=_fmt(r.get("minutes")),
                                    stops=len(stops))
            if r.get("depart_clock"):
                tip += "<br>" + T["depart"].format(clock=esc(r.get("depart_clock")))
            if len(coords) >= 2:
                import shapely
                (ln,) = _drawable([shapely.LineString(coords)], crs_proj)
                lines.append({"p": [[y, x] for x, y in ln.coords], "t": tip,
                              "o": line_opts(colour, 4, "pl-route")})
            for st in stops:
                arr = (T["at_clock"].format(clock=esc(st.get("clock"))) if st.get("clock")
                       else T["at_min"].format(min=_fmt(st.get("arrive_min"))))
                stip = T["stop"].format(route=rname, order=_fmt(st.get("order")),
                                        name=esc(st.get("name")), arr=arr,
                                        n=_fmt(st.get("pupils")))
                # a dot on the stop, its number in a badge up and to the right, so a
                # stop at a school (first and last stops often are) leaves it visible
                icons.append(icon(st["lon"], st["lat"],
                                  f'<div class="pl-stop-dot" style="background:{colour}"></div>'
                                  f'<div class="pl-stop-num pl-stop-badge" '
                                  f'style="background:{colour}">{_fmt(st.get("order"))}</div>',
                                  "pl-stop", tip=stip, pop=stip))
        layer("routes", {"lines": lines, "icons": icons})

    # ---- catchments, one layer per stage: neighbours differ in colour, each zone
    # labelled with its school, the school ringed in its zone's colour
    if catchments is not None and len(catchments):
        cat = catchments.to_crs("EPSG:4326") if catchments.crs is not None else catchments
        for stage in ("primary", "junior"):
            part = cat[cat["stage"] == stage]
            if not len(part):
                continue
            feats, icons, rings = [], [], []
            geoms = _drawable(part.geometry.values, crs_proj, coverage=True)
            ok = [g is not None and not g.is_empty for g in geoms]
            colours = _zone_colours([g for g, k in zip(geoms, ok) if k], len(ZONE_COLORS))
            ci = iter(colours)
            for row, g, k in zip(part.itertuples(index=False), geoms, ok):
                if not k:
                    continue
                sid = str(row.school_id)
                colour = ZONE_COLORS[next(ci)]
                load = _num(getattr(row, "load_ratio", None))
                over = load is not None and load > 1.0 + 1e-9
                school = getattr(row, "school", None) or name_of(sid)
                tip = T["catch"].format(school=esc(school), stage=T["stage"][stage],
                                        children=_fmt(getattr(row, "children", None)),
                                        seats=_fmt(getattr(row, "seats", None)),
                                        load="—" if load is None else f"{load:.0%}")
                feats.append({"type": "Feature", "geometry": g.__geo_interface__,
                              "properties": {"t": tip, "s": {
                                  "fillColor": colour, "fillOpacity": 0.45,  # not-a-rule: style
                                  "color": "#c62828" if over else "#455a64",
                                  "weight": 2.5 if over else 1.0}}})
                p = g.representative_point()
                icons.append(icon(p.x, p.y, f'<span class="pl-zone-lbl"><i style="background:'
                                  f'{colour}"></i>{esc(school)}</span>', "pl-zone-label",
                                  tip=tip))
                if sid in pos:
                    x, y = pos[sid]
                    rings.append({"id": f"zone-{stage}-{sid}", "x": _r(x), "y": _r(y),
                                  "o": {"pane": "pl-lines", "radius": 15, "color": colour,
                                        "weight": 5, "fill": False, "opacity": 1.0,
                                        "className": f"pl-zone-ring pl-zone-ring-{stage}"}})
            if feats:
                layer(f"catch_{stage}",
                      {"geo": [{"data": {"type": "FeatureCollection", "features": feats},
                                "opts": {"pane": "pl-zones", "className":
                                         f"pl-catchment pl-catchment-{stage}"}}],
                       "icons": icons, "circles": rings})

    # ---- teacher rotation flows: colour by direction, solid with backbone teachers
    if rotation_flows:
        lines, icons = [], []
        for f in rotation_flows:
            frm, to = str(f["from_school_id"]), str(f["to_school_id"])
            a, b = pos.get(frm), pos.get(to)
            if a is None or b is None or a == b:
                continue
            t = _num(f.get("teachers")) or 0.0
            bb = _num(f.get("backbone"))
            kind = _flow_kind(area.get(frm, ""), area.get(to, ""))
            colour = FLOW_COLORS[kind]
            tip = T["rot"].format(frm=esc(name_of(frm)), to=esc(name_of(to)),
                                  n=_fmt(f.get("teachers")))
            if bb is not None:
                tip += T["rot_backbone"].format(n=_fmt(bb))
            tip += f'<br>{T["flow." + kind]}'
            pts = _arc(a, b)
            dash = None if bb else "6 4"
            cls = f"pl-rotation pl-rotation-{kind}" + (" pl-rotation-backbone" if bb else "")
            lines.append({"p": [_ll(*p) for p in pts], "t": tip,
                          "o": line_opts(colour, round(1.5 + 1.5 * math.sqrt(max(t, 0.0)), 1),
                                         cls, dash, opacity=0.8)})  # not-a-rule: style
            (ax, ay), ang = _along(pts, 0.75)
            icons.append(arrow(ax, ay, ang, colour))
        layer("rotation", {"lines": lines, "icons": icons})

    lc = folium.LayerControl(collapsed=False)
    lc.add_to(m)
    folium.FitBounds([[_r(s), _r(w)], [_r(n), _r(e)]]).add_to(m)
    m.add_child(Finish(lc))
    fig.html.add_child(Raw(f'<div class="pl-title">{esc(title_text)}</div>\n'
                           + _legend(T, bool(school_status), closures, routes, catchments,
                                     rotation_flows, regressions)), name="planner_body")

    out = _renumber_ids(fig.render())
    return out.replace(_ASSETS_MARK, offline_assets(), 1)


def _reg_word(x: Any, ind_word, T: dict) -> str:
    """One regression item (an indicator id, or ``{"indicator", "stage"}``) in words."""
    if isinstance(x, Mapping):
        k = x.get("indicator", x.get("id"))
        st = x.get("stage")
        return ind_word(k) + (f"（{_stage_word(T, st)}）" if st else "")
    return ind_word(x)


def _val(r: dict, key: str, thr: Any, lang: str) -> str:
    """A popup value: a share as a percentage, others with two decimals kept off the
    threshold."""
    v = r.get(key)
    if v is None or (not isinstance(v, str) and _isnan(v)):
        return "—"
    if isinstance(v, str):
        return esc(v)
    if r.get("kind") in PCT_KINDS:
        return pct(v, thr if key != "threshold" else None)
    return num(v, 2, thr if key != "threshold" else None)


def _legend(T, with_status, closures, routes, catchments, rotation_flows,
            regressions=None) -> str:
    parts = ['<div class="pl-legend"><b>'
             f'{T["pass_fail"] if with_status else T["status"][None]}</b>']
    statuses: tuple = ("pass", "fail", "no_data", "closed") if with_status else (None,)
    if not with_status and closures:
        statuses = (None, "closed")
    for st in statuses:
        dash = ";border-style:dashed" if st == "closed" else ""
        parts.append(f'<div><i class="dot" style="background:{STATUS_COLORS[st]}{dash}"></i>'
                     f'{T["status"][st]}</div>')
    parts.append(f'<details open><summary>{T["leg_more"]}</summary>')
    if closures:
        parts.append(f'<div><i class="ln" style="border-top:3px dashed {CLOSURE_COLOR}"></i>'
                     f'{T["leg_closure"]}</div>')
    if regressions:
        parts.append(f'<div><i class="dot" style="background:none;border:3px solid '
                     f'{REGRESSION_COLOR}"></i>{T["leg_regression"]}</div>')
    if routes:
        parts.append(f'<div><i class="ln" style="border-color:{ROUTE_COLORS[0]}"></i>'
                     f'<i class="pl-stop-num" style="display:inline-block;background:'
                     f'{ROUTE_COLORS[0]};width:14px;height:14px;line-height:14px;font-size:9px">'
                     f'1</i>{T["leg_route"]}</div>')
    if catchments is not None and len(catchments):
        parts.append(f'<div><i class="sq" style="background:{ZONE_COLORS[0]}"></i>'
                     f'{T["leg_catch"]}</div>')
    if rotation_flows:
        kinds = []
        for kind, colour in FLOW_COLORS.items():
            kinds.append(f'<div><i class="ln" style="border-color:{colour}"></i>'
                         f'{T["flow." + kind]}</div>')
        parts.append(f'<div>{T["leg_rot"]}</div>' + "".join(kinds) +
                     '<div><i class="ln" style="border-color:#555"></i>'
                     f'{T["leg_rot_backbone"]} <i class="ln" style="border-top:3px dashed '
                     f'#555"></i>{T["leg_rot_other"]}</div>')
    parts.append('<div><i class="ln" style="border-top:2px dashed #37474f"></i>'
                 f'{T["leg_boundary"]} <i class="ln" style="border-color:#a1887f"></i>'
                 f'{T["leg_roads"]}</div></details></div>')
    return "".join(parts)


def _renumber_ids(text: str) -> str:
    """Replace folium's random 32-hex element ids by sequential ones."""
    seen: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        k = m.group(0)
        if k not in seen:
            seen[k] = f"{len(seen) + 1:06d}"
        return seen[k]

    return _HEX_ID.sub(sub, text)


def write_map(html: str, path: str | os.PathLike) -> Path:
    """Write the map atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a map is for sharing
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
