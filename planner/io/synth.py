"""Synthetic districts of any size (10 to 20,000 schools), for tests and benchmarks.

``synth_district(n_schools, seed, out_dir)`` writes a district folder in the format of
``docs/data-format.md`` — ``district.yaml``, ``schools.csv``, ``teachers.csv``, ``units.csv``,
``roads.geojson``, ``boundary.geojson`` — deterministically (same seed, same bytes).
Everything is vectorised with numpy; 20,000 schools (about 400,000 teachers, 60,000
units, a road grid plus links, ~125,000 segments) take 5–10 seconds.

The layout: a square district of about 10 km² per school, towns scattered over it,
schools and residential units clustered around the towns, a regular road grid
(trunk / tertiary / unclassified lines) and one straight link from every school and
unit to its nearest grid node, sharing that node's exact coordinates, so the road
network is one connected graph.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from planner.core.district import Settings
from planner.core.rules import Rules, load_rules

__all__ = ["synth_district"]

LON0, LAT0 = 112.0, 27.5                 # somewhere in Hunan
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))

TYPES = ["primary", "junior", "nine_year", "twelve_year", "complete_middle", "teaching_point",
         "special"]
TYPE_SHARE = np.array([0.52, 0.17, 0.09, 0.01, 0.02, 0.18, 0.01])

SCHOOL_COLUMNS = [
    "school_id", "name", "type", "area_type", "public", "boarding", "parent_id", "lon", "lat",
    "students_primary", "students_junior", "classes_primary", "classes_junior",
    "max_class_primary", "max_class_junior", "classrooms", "building_area_m2", "sports_area_m2",
    "equipment_yuan", "multimedia_rooms", "music_rooms", "music_room_min_m2", "art_rooms",
    "art_room_min_m2", "staff_quota", "public_funds_yuan", "training_funds_yuan", "town",
]
TEACHER_COLUMNS = [
    "teacher_id", "name", "school_id", "stage", "subject", "degree", "backbone", "certified",
    "full_time", "years_at_school", "age", "training_hours_5y", "exempt",
]
UNIT_COLUMNS = ["unit_id", "name", "lon", "lat", "population", "children_primary",
                "children_junior", "town"]


SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田"
                         "董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方"
                         "白邹孟熊秦邱江尹薛阎段雷侯龙史黎贺顾毛郝龚邵万钱覃"))
GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌俊宇"
                      "浩然欣怡梦婷雪琳晨阳思远志宏海燕丹慧颖佳琪子涵博晓东春梅立新亮清云峰波凤"
                      "莲鑫蕾倩琴"))
PLACE = np.array(list("东南西北上下中大小新老长高安和平兴隆福寿永清石桥河湖山岭冲塘坪湾港口田铺"
                      "桃李花竹松柏枫杨柳金银龙凤"))
SUBJ_P = (np.array(["语文", "数学", "英语", "科学", "道德与法治", "信息技术", "综合实践",
                    "心理健康"]),
          np.array([0.34, 0.28, 0.12, 0.08, 0.08, 0.05, 0.03, 0.02]))  # not-a-rule: sample shape
SUBJ_J = (np.array(["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治",
                    "信息技术", "心理健康"]),
          np.array([0.15, 0.15, 0.14, 0.09, 0.07, 0.07,  # not-a-rule: sample shape
                    0.08, 0.07, 0.09, 0.05, 0.04]))  # not-a-rule: sample shape


# ------------------------------------------------------------------ helpers --
def _lonlat(x, y):
    return (np.round(LON0 + np.asarray(x) / M_PER_DEG_LON, 6),
            np.round(LAT0 + np.asarray(y) / M_PER_DEG_LAT, 6))


def _counts(n: int, share: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Integers summing to n, proportional to share, each at least `minimum` if n allows."""
    k = len(share)
    base = np.full(k, minimum if n >= k * minimum else 0, dtype=np.int64)
    rest = n - base.sum()
    q = share / share.sum() * rest
    c = np.floor(q).astype(np.int64)
    left = rest - c.sum()
    order = np.lexsort((np.arange(k), -(q - c)))
    c[order[:left]] += 1
    return base + c


def _bools(a) -> np.ndarray:
    return np.where(np.asarray(a, dtype=bool), "true", "false")


def _names(rng, n: int, prefix: np.ndarray | None = None,
           suffix: np.ndarray | str = "") -> np.ndarray:
    a = PLACE[rng.integers(0, len(PLACE), n)]
    b = PLACE[rng.integers(0, len(PLACE), n)]
    out = np.char.add(a, b)
    if prefix is not None:
        out = np.char.add(prefix, out)
    return np.char.add(out, suffix)


def _group_rank(groups: np.ndarray) -> np.ndarray:
    """0-based rank of each element inside its run of equal consecutive group ids."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1]
    lens = np.diff(np.r_[start, n])
    return np.arange(n) - np.repeat(start, lens)


def _col_str(a) -> list:
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return [repr(float(x)) if x != int(x) else str(int(x)) for x in a.tolist()]
    if a.dtype.kind in "iu" and len(a) and 0 <= a.min() and a.max() < 100_000:
        lut = [str(i) for i in range(int(a.max()) + 1)]
        return [lut[v] for v in a.tolist()]
    return list(map(str, a.tolist()))


def _write_csv(path: Path, columns: list, data: dict) -> None:
    """Fast plain CSV writer (values hold no commas, quotes or newlines)."""
    cols = [_col_str(data[c]) for c in columns]
    for c in cols:
        if isinstance(c[0] if c else "", str):
            blob = "".join(c[:50000])
            assert "," not in blob and '"' not in blob and "\n" not in blob
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(",".join(columns) + "\n")
        f.writelines(",".join(r) + "\n" for r in zip(*cols))


# --------------------------------------------------------------- the district --
def synth_district(n_schools: int, seed: int, out_dir: Path, rules: Rules | None = None) -> Path:
    """Write a synthetic district of ``n_schools`` schools into ``out_dir``; return it.

    Values are drawn around the thresholds of ``rules`` (default: the
    ``hunan-2023`` standard, which the district's ``standard:`` then names): floor
    areas, equipment and rooms a margin above indicators 4-7 and 11, classes up to
    indicator 13's limits (a few above), funds by indicators 10, 14, 15 and 28,
    teachers by 1-3, training hours by 17, quotas by 10, rotation figures by 19.

    ``out_dir`` must not exist or be an empty folder: an existing district (or any
    other file) is never overwritten (:class:`~planner.io.export.OutputRefused`
    ``synth.exists``). The files are written into a private staging folder beside
    it and appear together, by one rename, when complete. ``seed`` is a
    non-negative whole number.
    """
    rules = load_rules() if rules is None else rules
    n = int(n_schools)
    if not 1 <= n <= 200_000:
        raise ValueError("n_schools must be between 1 and 200000")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, not {seed!r}")
    final = Path(out_dir)
    _refuse_existing(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.synth-", dir=final.parent))
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(stage, 0o777 & ~umask)     # mkdtemp makes it private
        _synth(n, int(seed), stage, rules)
        _refuse_existing(final)             # made meanwhile: still never replaced
        if final.exists():
            final.rmdir()                   # empty (checked): the rename takes its place
        os.replace(stage, final)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return final


def _refuse_existing(out: Path) -> None:
    from planner.io.export import OutputRefused
    if os.path.lexists(out) and (not out.is_dir() or out.is_symlink() or any(out.iterdir())):
        raise OutputRefused("synth.exists", path=out)


def _synth(n: int, seed: int, out: Path, rules: Rules) -> None:
    """The district's files in ``out`` (an empty folder)."""
    rng = np.random.default_rng(seed)

    # ---------------------------------------------------------- geography --
    side = max(8000.0, math.sqrt(n * 10.0e6))            # ~10 km² per school
    spacing = 2500.0 if n <= 5000 else 3000.0  # not-a-rule: sample shape
    g = int(math.ceil(side / spacing)) + 1                # grid nodes per side
    side = (g - 1) * spacing
    n_towns = max(1, n // 12)  # not-a-rule: sample shape
    town_xy = rng.uniform(0.08 * side, 0.92 * side, (n_towns, 2))  # not-a-rule: sample shape
    town_names = np.char.add(_names(rng, n_towns),
                             np.where(rng.random(n_towns) < 0.3, "街道", "镇"))

    def around(k: int, town: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xy = town_xy[town] + rng.normal(0.0, 1.0, (k, 2)) * sd[:, None]
        # a point beyond the margin is mirrored back inside (clipping it would put
        # every such point of a small district on the same edge or corner)
        lo, hi = 0.02 * side, 0.98 * side  # not-a-rule: margin of the square
        for _ in range(4):                  # mirrored again if it overshoots the far side
            xy = np.where(xy < lo, 2 * lo - xy, np.where(xy > hi, 2 * hi - xy, xy))
        xy = np.clip(xy, lo, hi)
        return xy[:, 0], xy[:, 1]

    # ------------------------------------------------------------ schools --
    counts = _counts(n, TYPE_SHARE, minimum=1 if n >= len(TYPES) else 0)
    stype = np.repeat(np.array(TYPES), counts)
    stype = stype[rng.permutation(n)]
    town = rng.integers(0, n_towns, n)
    is_tp = stype == "teaching_point"
    central = np.isin(stype, ["junior", "nine_year", "twelve_year", "complete_middle", "special"])
    sd = np.where(central, 600.0,  # not-a-rule: sample shape
                  np.where(is_tp, 4000.0, 2500.0)) * rng.uniform(0.5, 1.5, n)  # not-a-rule: m
    sx, sy = around(n, town, sd)
    dist = np.hypot(sx - town_xy[town, 0], sy - town_xy[town, 1])
    area_type = np.where(dist < 1200, "urban", np.where(dist < 3000, "town", "rural"))
    area_type = np.where(is_tp, "rural", area_type)
    rural = area_type == "rural"

    P = np.zeros(n, dtype=np.int64)
    J = np.zeros(n, dtype=np.int64)
    def ln(med, s, k):
        return np.round(rng.lognormal(math.log(med), s, k)).astype(np.int64)

    m = stype == "primary"
    P[m] = np.clip(ln(230, 0.8, m.sum()) * np.where(rural[m], 0.35, 1.0),
                   30, 2600)  # not-a-rule: sample shape
    m = stype == "junior"
    J[m] = np.clip(ln(400, 0.55, m.sum()), 80, 2600)  # not-a-rule: sample shape
    m = stype == "nine_year"
    P[m], J[m] = (np.clip(ln(240, 0.5, m.sum()), 60, 1500),  # not-a-rule: sample shape
                  np.clip(ln(160, 0.5, m.sum()), 40, 1000))  # not-a-rule: sample shape
    m = stype == "twelve_year"
    P[m], J[m] = (np.clip(ln(650, 0.4, m.sum()), 200, 1500),
                  np.clip(ln(480, 0.4, m.sum()), 150, 1000))
    m = stype == "complete_middle"
    J[m] = np.clip(ln(650, 0.4, m.sum()), 200, 2400)
    m = is_tp
    P[m] = rng.integers(8, 90, m.sum())  # not-a-rule: sample shape
    m = stype == "special"
    P[m], J[m] = (rng.integers(30, 120, m.sum()),  # not-a-rule: sample shape
                  rng.integers(10, 60, m.sum()))  # not-a-rule: sample shape
    small = (P + J) < rules.small_school_pupils

    public = np.ones(n, dtype=bool)
    can_private = np.isin(stype, ["primary", "junior", "nine_year", "twelve_year"]) & ~rural
    public[can_private & (rng.random(n) < 0.09)] = False
    if n >= 10 and public.all():
        public[np.flatnonzero(can_private)[:1]] = False
    boarding = (np.isin(stype, ["junior", "nine_year", "twelve_year", "complete_middle"])
                & (area_type != "urban") & (rng.random(n) < 0.6)) | (stype == "special")

    school_id = np.array([f"S{i + 1:05d}" for i in range(n)])
    # teaching points belong to a primary/nine-year school of their town (else any)
    parent = np.full(n, "", dtype=object)
    hosts = np.flatnonzero(np.isin(stype, ["primary", "nine_year"]) & public)
    if len(hosts) and is_tp.any():
        host_town = town[hosts]
        order = np.argsort(host_town, kind="stable")
        ht = host_town[order]
        tp = np.flatnonzero(is_tp)
        pos = np.searchsorted(ht, town[tp])
        found = (pos < len(ht)) & (ht[np.minimum(pos, len(ht) - 1)] == town[tp])
        pick = np.where(found, hosts[order[np.minimum(pos, len(ht) - 1)]],
                        hosts[rng.integers(0, len(hosts), len(tp))])
        parent[tp] = school_id[pick]
    suffix = {"primary": "小学", "junior": "中学", "nine_year": "学校", "twelve_year": "实验学校",
              "complete_middle": "中学", "teaching_point": "教学点", "special": "特殊教育学校"}
    sname = np.char.add(np.char.add(town_names[town], _names(rng, n)),
                        np.array([suffix[t] for t in stype]))
    dup = pd.Series(sname).duplicated(keep="first").to_numpy()
    sname = sname.astype(object)
    sname[dup] = [f"{s}（{i}）" for s, i in zip(sname[dup], school_id[dup])]

    # ----------------------------------------------- classes and facilities --
    fail = rng.random(n)                       # a few deliberate failures
    fail_class = (fail < 0.012) & ~small
    fail_equip = (fail >= 0.012) & (fail < 0.024)
    fail_area = (fail >= 0.024) & (fail < 0.032) & ~small
    avg_p = np.where(area_type == "urban", rng.uniform(40, 44, n),
                     np.where(area_type == "town", rng.uniform(36, 41, n), rng.uniform(26, 34, n)))
    avg_j = avg_p + rng.uniform(3, 5, n)
    cp = np.where(P > 0, np.where(small, np.where(P >= 40, 6, 3),
                                  np.maximum(6, np.ceil(P / avg_p))), 0).astype(np.int64)
    cj = np.where(J > 0, np.where(small, 3, np.maximum(3, np.ceil(J / avg_j))), 0).astype(np.int64)
    max_p, max_j = rules.max_class["primary"], rules.max_class["junior"]      # indicator 13
    mp = np.where(cp > 0, np.minimum(max_p, np.ceil(P / np.maximum(cp, 1))
                                     + rng.integers(1, 4, n)), 0)
    mj = np.where(cj > 0, np.minimum(max_j, np.ceil(J / np.maximum(cj, 1))
                                     + rng.integers(1, 4, n)), 0)
    mp = np.where(fail_class & (cp > 0), rng.integers(max_p + 1, max_p + 11, n), mp)
    mp = mp.astype(np.int64)
    mj = np.where(fail_class & (cj > 0), rng.integers(max_j + 1, max_j + 10, n), mj)
    mj = mj.astype(np.int64)
    C = cp + cj
    classrooms = C + rng.integers(0, 4, n)
    both = (P > 0) & (J > 0)
    wj = rules.facility_weight("nine_year", "junior")       # junior pupils weigh more
    W = np.where(both, P + wj * J, P + J).astype(float)

    def need(k):
        """Per weighted pupil, what indicator k asks of a school of these stages."""
        tp_, tj = float(rules.threshold(k, "primary")), float(rules.threshold(k, "junior"))
        return np.where(both, np.maximum(tp_, tj / wj), np.where(P > 0, tp_, tj))

    mb = np.where(small, rng.uniform(1.8, 3.0, n), rng.uniform(1.12, 1.6, n))
    mb = np.where(fail_area, rng.uniform(0.8, 0.95, n), mb)  # not-a-rule: sample shape
    ms = np.where(small, rng.uniform(1.8, 3.5, n), rng.uniform(1.08, 1.5, n))
    me = np.where(small, rng.uniform(1.05, 1.35, n), rng.uniform(1.12, 1.6, n))
    me = np.where(fail_equip, rng.uniform(0.6, 0.9, n), me)  # not-a-rule: sample shape
    mm = rng.uniform(1.1, 1.6, n)
    building = np.round(W * need(4) * mb, 1)
    sports = np.round(W * need(5) * ms, 1)
    equipment = np.round(W * need(6) * me, -2)
    multimedia = np.ceil(W * need(7) * mm / 100.0).astype(np.int64)
    per_room = rules.classes_per_room                          # indicator 11
    rooms_need = np.ceil(C / per_room).astype(np.int64)
    music = rooms_need + (rng.random(n) < 0.3) * (C >= 2 * per_room)
    art = rooms_need + (rng.random(n) < 0.3) * (C >= 2 * per_room)
    m2_music, m2_art = math.ceil(rules.music_room_min_m2), math.ceil(rules.art_room_min_m2)
    music_m2 = rng.integers(m2_music, m2_music + 25, n).astype(float)
    art_m2 = rng.integers(m2_art, m2_art + 26, n).astype(float)
    fp, fs = rules.funds_per_pupil_yuan, rules.small_school_funds_per_pupil_yuan   # 10, 14
    small_funds = np.where(J > 0, rules.small_school_pupils * fs.junior,
                           rules.small_school_pupils * fs.primary)
    funds = np.where(stype == "special",
                     (P + J) * rules.special_funds_per_pupil_yuan * rng.uniform(1.05, 1.2, n),
                     np.where(small, small_funds * rng.uniform(1.02, 1.15, n),
                              (P * fp.primary + J * fp.junior) * rng.uniform(1.05, 1.25, n)))
    funds = np.round(funds, -2)
    share28 = round(rules.training_funds_share + 0.005, 6)     # just above indicator 28
    training = np.round(funds * rng.uniform(share28, 0.12, n), -2)

    # ---------------------------------------------------------- teachers --
    def n_teachers(pupils, ratio_lo, ratio_hi, floor):
        k = np.round(pupils / rng.uniform(ratio_lo, ratio_hi, n))
        k = np.where(small, np.clip(np.round(pupils / 16) + 2, 2, 6), np.maximum(k, floor))
        k = np.where(is_tp, np.clip(np.ceil(pupils * 0.05) + 1, 1, 5), k)
        k = np.where(stype == "special", np.maximum(3, np.round(pupils / 6)), k)
        return np.where(pupils > 0, k, 0).astype(np.int64)

    tp_n = n_teachers(P, 13.0, 16.5, 6)
    tj_n = n_teachers(J, 10.5, 12.5, 8)
    # group = (school, stage); order: school asc, primary before junior
    g_school = np.repeat(np.arange(n), 2)
    g_stage = np.tile(np.array([0, 1]), n)
    g_size = np.column_stack([tp_n, tj_n]).ravel()
    g_pupils = np.column_stack([P, J]).ravel()
    keep = g_size > 0
    g_school, g_stage = g_school[keep], g_stage[keep]
    g_size, g_pupils = g_size[keep], g_pupils[keep]
    g_small = small[g_school]
    per100 = {k: np.where(g_stage == 0, rules.threshold(k, "primary"), rules.threshold(k, "junior"))
              for k in (1, 2, 3)}                             # indicators 1-3, per 100 pupils
    g_pa = np.where(g_small, 1, np.ceil(g_pupils * per100[3] / 100
                                        * rng.uniform(1.2, 1.7, len(g_size))))
    g_pa = np.where((fail[g_school] >= 0.032) & (fail[g_school] < 0.04) & g_small, 0, g_pa)
    g_pa = np.minimum(g_pa, g_size - 1).astype(np.int64)
    g_bb = np.where(g_small, 1, np.ceil(g_pupils * per100[2] / 100
                                        * rng.uniform(1.06, 1.3, len(g_size))))
    g_bb = np.minimum(g_bb, g_size - 1).astype(np.int64)

    t_group = np.repeat(np.arange(len(g_size)), g_size)
    T = len(t_group)
    rank = _group_rank(t_group)
    t_school = g_school[t_group]
    t_stage = g_stage[t_group]
    t_rural = rural[t_school]
    # subjects: first g_pa ranks PE / music / art, the rest by stage weights
    pa_kind = np.array(["体育", "音乐", "美术"])[rank % 3]
    subj_p = SUBJ_P[0][rng.choice(len(SUBJ_P[0]), T, p=SUBJ_P[1])]
    subj_j = SUBJ_J[0][rng.choice(len(SUBJ_J[0]), T, p=SUBJ_J[1])]
    subject = np.where(rank < g_pa[t_group], pa_kind, np.where(t_stage == 0, subj_p, subj_j))
    subject = np.where((rank == g_pa[t_group]), "语文", subject)
    u = rng.random(T)
    degree = np.where(
        t_stage == 0,
        np.where(t_rural, np.select([u < 0.08, u < 0.45, u < 0.98],  # not-a-rule: sample shape
                                    ["secondary", "associate", "bachelor"], "postgraduate"),
                 np.select([u < 0.02, u < 0.27, u < 0.94],
                           ["secondary", "associate", "bachelor"], "postgraduate")),
        np.where(t_rural, np.select([u < 0.10,  # not-a-rule: sample shape
                                     u < 0.92], ["associate", "bachelor"], "postgraduate"),
                 np.select([u < 0.05, u < 0.88], ["associate", "bachelor"], "postgraduate")))
    # most school parts get enough qualified teachers for indicator 1; ~2 % do not
    g_need = np.ceil(g_pupils * per100[1] / 100 * 1.1)
    g_topup = rng.random(len(g_size)) >= 0.02
    unq = np.where(t_stage == 0, np.isin(degree, ["secondary"]), np.isin(degree, ["associate"]))
    degree = np.where(unq & (rank < g_need[t_group]) & g_topup[t_group], "bachelor", degree)
    is_bb = rank >= (g_size[t_group] - g_bb[t_group])
    lv = rng.random(T)
    backbone = np.where(is_bb, np.select([lv < 0.62, lv < 0.90,  # not-a-rule: sample shape
                                          lv < 0.99],
                                         ["county", "city", "province"], "national"),
                        "none")
    age = rng.triangular(22, np.where(t_rural, 50, 42), 60, T)  # not-a-rule: sample shape
    age = np.clip(np.round(age), 22, 59)
    age = age.astype(np.int64)
    age = np.where(is_bb, np.maximum(age, 30), age)  # not-a-rule: sample shape
    years = np.minimum(age - 21, np.floor(rng.exponential(9.0, T)) + 1).astype(np.int64)
    full_time = rng.random(T) >= 0.04
    full_time = np.where(is_bb | (rank <= g_pa[t_group]) | (rank < g_need[t_group]), True,
                         full_time)
    certified = rng.random(T) >= 0.001
    min_hours = int(rules.training_min_hours)                 # indicator 17
    hours = rng.integers(min_hours + 12, 540, T).astype(float)  # not-a-rule: sample shape
    hours = np.where(rng.random(T) < 0.002, rng.integers(200, min_hours - 1, T), hours)
    e = rng.random(T)
    exempt = np.select([(e < 0.008) & (age <= 38), (e > 0.996), (age >= 58) & (e < 0.3)],
                       ["孕期", "病休", "待退休"], "")
    tname = np.char.add(SURNAMES[np.minimum(rng.exponential(18, T).astype(np.int64),
                                            len(SURNAMES) - 1)],
                        GIVEN[rng.integers(0, len(GIVEN), T)])
    two = rng.random(T) < 0.7
    tname = np.where(two, np.char.add(tname, GIVEN[rng.integers(0, len(GIVEN), T)]), tname)
    teachers = ({
        "teacher_id": [f"T{i + 1:06d}" for i in range(T)],
        "name": tname,
        "school_id": school_id[t_school],
        "stage": np.where(t_stage == 0, "primary", "junior"),
        "subject": subject,
        "degree": degree,
        "backbone": backbone,
        "certified": _bools(certified),
        "full_time": _bools(full_time),
        "years_at_school": years,
        "age": age,
        "training_hours_5y": hours.astype(np.int64),
        "exempt": exempt,
    })

    ft_per_school = np.bincount(t_school[full_time], minlength=n)
    q = rules.pupils_per_quota                                 # indicator 10
    quota = np.maximum(np.ceil(P / q.primary + J / q.junior), ft_per_school + 1).astype(np.int64)

    slon, slat = _lonlat(sx, sy)
    schools = ({
        "school_id": school_id, "name": sname, "type": stype, "area_type": area_type,
        "public": _bools(public), "boarding": _bools(boarding), "parent_id": parent,
        "lon": slon, "lat": slat, "students_primary": P, "students_junior": J,
        "classes_primary": cp, "classes_junior": cj, "max_class_primary": mp,
        "max_class_junior": mj, "classrooms": classrooms, "building_area_m2": building,
        "sports_area_m2": sports, "equipment_yuan": equipment.astype(np.int64),
        "multimedia_rooms": multimedia, "music_rooms": music.astype(np.int64),
        "music_room_min_m2": music_m2.astype(np.int64), "art_rooms": art.astype(np.int64),
        "art_room_min_m2": art_m2.astype(np.int64), "staff_quota": quota,
        "public_funds_yuan": funds.astype(np.int64),
        "training_funds_yuan": training.astype(np.int64),
        "town": town_names[town],
    })

    # -------------------------------------------------------------- units --
    nu = 3 * n
    utown = rng.integers(0, n_towns, nu)
    usd = rng.uniform(600, 4500, nu)  # not-a-rule: sample shape
    ux, uy = around(nu, utown, usd)
    udist = np.hypot(ux - town_xy[utown, 0], uy - town_xy[utown, 1])
    urban_u = udist < 1500
    pop = np.where(urban_u, rng.lognormal(math.log(4200), 0.4, nu),
                   rng.lognormal(math.log(1500), 0.45, nu))  # not-a-rule: sample shape
    pop = np.round(pop).astype(np.int64)
    share_p = (np.where(urban_u, 0.066, 0.060)
               * rng.uniform(0.85, 1.15, nu))  # not-a-rule: sample shape
    cp_u = np.round(pop * share_p).astype(np.int64)
    cj_u = pop * share_p * 0.47 * rng.uniform(0.9, 1.1, nu)  # not-a-rule: sample shape
    cj_u = np.round(cj_u).astype(np.int64)
    # the units' children are the pupils of the schools that zone them (public, not
    # special): drawn from the population alone they were three times as many, so
    # no catchment plan could seat them
    zoned = public & (stype != "special")
    for arr, pupils in ((cp_u, P), (cj_u, J)):
        total, want = int(arr.sum()), int(pupils[zoned].sum())
        if total > 0:
            arr[:] = np.floor(arr * (want / total)).astype(np.int64)
    ulon, ulat = _lonlat(ux, uy)
    units = ({
        "unit_id": [f"U{i + 1:06d}" for i in range(nu)],
        "name": np.char.add(_names(rng, nu), np.where(urban_u, "社区", "村")),
        "lon": ulon, "lat": ulat, "population": pop,
        "children_primary": cp_u, "children_junior": cj_u, "town": town_names[utown],
    })

    _write_csv(out / "schools.csv", SCHOOL_COLUMNS, schools)
    _write_csv(out / "teachers.csv", TEACHER_COLUMNS, teachers)
    _write_csv(out / "units.csv", UNIT_COLUMNS, units)

    # -------------------------------------------------------------- roads --
    _write_roads(out / "roads.geojson", rng, g, spacing,
                 np.concatenate([sx, ux]), np.concatenate([sy, uy]),
                 np.concatenate([area_type != "rural", urban_u]))
    x0, y0 = _lonlat(np.array([-500.0, side + 500.0]), np.array([-500.0, side + 500.0]))
    ring = [[x0[0], y0[0]], [x0[1], y0[0]], [x0[1], y0[1]], [x0[0], y0[1]], [x0[0], y0[0]]]
    bnd = {"type": "FeatureCollection", "name": "boundary", "features": [{
        "type": "Feature", "properties": {"name": f"合成区{seed}", "source": "synthetic"},
        "geometry": {"type": "Polygon", "coordinates": [[[float(a), float(b)] for a, b in ring]]}}]}
    (out / "boundary.geojson").write_text(json.dumps(bnd, ensure_ascii=False,
                                                     separators=(",", ":")) + "\n",
                                          encoding="utf-8")

    # ------------------------------------------------------ district.yaml --
    ft = full_time & (exempt == "")
    st = Settings()
    eligible = int((ft & (years >= st.rotation_min_years) & (age < st.rotation_max_age)).sum())
    # indicator 19 met with a margin
    rotated = math.ceil(eligible * round(rules.rotation_share + 0.005, 6))
    backbone = math.ceil(rotated * round(rules.rotation_backbone_share + 0.02, 6))
    (out / "district.yaml").write_text(_yaml(f"合成区{seed}", eligible, rotated, backbone,
                                             rules.name, st), encoding="utf-8")


def _write_roads(path: Path, rng, g: int, spacing: float, px, py, purban) -> None:
    """A g × g grid of road lines plus one link per point to its nearest grid node."""
    coords = np.arange(g) * spacing
    glon, _ = _lonlat(coords, np.zeros(g))
    _, glat = _lonlat(np.zeros(g), coords)
    # class of a grid line by its index: every 10th trunk, every 3rd tertiary
    HW = ["trunk", "tertiary", "unclassified", "residential"]
    SP = [60, 40, 30, 30]  # not-a-rule: sample shape
    def num(arr):
        return [repr(x) for x in np.asarray(arr, dtype=float).tolist()]

    glon_s, glat_s = num(glon), num(glat)
    node = [[f"[{glon_s[i]},{glat_s[j]}]" for j in range(g)] for i in range(g)]
    ii, jj = np.meshgrid(np.arange(g - 1), np.arange(g), indexing="ij")
    ii, jj = ii.ravel().tolist(), jj.ravel().tolist()
    gcls = [0 if j % 10 == 0 else (1 if j % 3 == 0 else 2) for j in range(g)]
    # horizontal segments (along x at row j), vertical (along y at column j), links
    seg_a = [node[i][j] for i, j in zip(ii, jj)] + [node[j][i] for i, j in zip(ii, jj)]
    seg_b = [node[i + 1][j] for i, j in zip(ii, jj)] + [node[j][i + 1] for i, j in zip(ii, jj)]
    cls = [gcls[j] for j in jj] * 2
    gx = np.clip(np.rint(px / spacing), 0, g - 1).astype(np.int64).tolist()
    gy = np.clip(np.rint(py / spacing), 0, g - 1).astype(np.int64).tolist()
    plon, plat = _lonlat(px, py)
    seg_a += [f"[{a},{b}]" for a, b in zip(num(plon), num(plat))]
    seg_b += [node[i][j] for i, j in zip(gx, gy)]
    cls += np.where(purban, 3, 2).tolist()
    m = len(cls)
    haz = ((np.asarray(cls) == 2) & (rng.random(m) < 0.01)).tolist()
    head = {(c, h): ('{"type":"Feature","properties":{"highway":"%s","speed_kmh":%d,"oneway":false,'
                     '"hazardous":%s},"geometry":{"type":"LineString","coordinates":['
                     % (HW[c], SP[c], "true" if h else "false"))
            for c in range(4) for h in (False, True)}
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write('{"type":"FeatureCollection","name":"roads","features":[\n')
        f.write(",\n".join([head[(c, h)] + a + "," + b + "]}}"
                             for c, h, a, b in zip(cls, haz, seg_a, seg_b)]))
        f.write("\n]}\n")


def _yaml(name: str, eligible: int, rotated: int, backbone: int, standard: str,
          st: Settings) -> str:
    return f"""# Synthetic district written by planner.synth (not real data).
name: {name}
standard: {standard}
settings:
  school_rule: {st.school_rule}
  teaching_points: {st.teaching_points}
  rotation_min_years: {st.rotation_min_years}
  rotation_max_age: {st.rotation_max_age}
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
  8: [3, 2, 2, 2]
  9: [1, 2, 1]
  23: [2, 1, 1]
  27: [1, 3, 1, 1, 2, 1]
  29: [3, 2, 4]
  30: [1, 2, 1, 1, 1, 1, 1, 1]
  32: [3, 5, 4, 2, 3]
  33: [3, 2, 2, 2]
  34: [3, 5]
  35: [2, 2, 3, 2]
veto:
  exam_admission: false
  illegal_school_choice: false
  key_schools_or_classes: false
  vacant_posts_unfilled: false
  major_safety_incident: false
  falsification: false
"""
