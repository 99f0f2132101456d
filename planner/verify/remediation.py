"""Independent verification of a remediation programme from its files (see planner.verify).

Everything is recomputed from ``remediation.csv``, ``summary.json``, the
``district_after/`` folder (read back with the loader, as ``planner check`` reads it), the
district the programme was made on and the standard: no figure of the model is used.

1. **The rows.** Every row's cost is its quantity times its unit cost; the unit cost of
   an action priced by the cost table is that key's value in the summary's
   ``unit_costs`` (a moved pupil: ``pupil_move_per_year + pupil_move_per_km_year × km``
   with the one-way road km between the two schools, recomputed here); the totals,
   the capital / recurring split and the totals by indicator and by school are the
   sums of the rows.
2. **The district after** is the district with exactly the rows applied: every column a
   row names changes by the rows' quantities (areas, equipment, rooms, classrooms,
   classes, funds, pupils moved out and in), a set value (quota, largest class) is the
   row's ``value_after``, and no other school cell changes; teachers: only those a row
   names are trained, certified, developed into backbone teachers or replaced, each
   hire and replacement is one new certified full-time teacher above the required
   degree with the training hours of 17 (PE/art for a PE/art hire), and no other
   roster cell changes.
3. **The indicators.** The indicator engine on ``district_after`` (with the rotation and
   catchment figures the summary recorded): every school-level A indicator (1–7 with
   their county values and CVs, 11, 12, 13; for 17 and 20 every school part and the
   county share, a county fact such as ``training_records_kept`` being no school's)
   passes and no school fails 10, 14, 15 or 28 — unless the summary says the programme
   is a closest plan (infeasible);
   and the summary's ``a_passed_after`` and per-indicator verdicts are the engine's.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from planner.core.district import District
from planner.core.errors import DataError
from planner.core.rules import Rules
from planner.indicators.engine import check
from planner.verify.files import _rows, _unescape

#: the school-level A indicators that must pass, and those whose school lists must be empty
SCHOOL_LEVEL = (1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 17, 20)  # not-a-rule: indicator ids
SCHOOL_LISTS = (10, 14, 15, 28)  # not-a-rule: indicator ids
#: actions that add their quantity to the column they name
ADDS = {"build_floor_area", "build_sports_area", "buy_equipment", "equip_multimedia_rooms",
        "build_music_rooms", "build_art_rooms", "add_classrooms", "add_classes",
        "raise_public_funds", "raise_training_funds"}
#: actions that take their quantity from the column they name
TAKES = {"retire_music_rooms", "retire_art_rooms"}
#: actions that set the column they name to ``value_after``
SETS = {"raise_staff_quota", "rebalance_classes"}
#: actions on named teachers / new teachers
TEACHER_ACTIONS = {"hire_qualified", "hire_pe_art", "train_new_hires", "develop_backbone",
                   "train_teacher", "certify_teacher", "replace_teacher"}
#: the cost-table key of each priced action (``yuan``: 1 yuan a yuan; none: no cost)
PRICE = {"build_floor_area": "building_m2", "build_sports_area": "sports_m2",
         "buy_equipment": "equipment_yuan", "equip_multimedia_rooms": "multimedia_room",
         "build_music_rooms": "music_room", "rebuild_music_rooms": "music_room",
         "build_art_rooms": "art_room", "rebuild_art_rooms": "art_room",
         "add_classrooms": "classroom", "hire_qualified": "teacher_hire_per_year",
         "hire_pe_art": "teacher_hire_per_year", "replace_teacher": "teacher_hire_per_year",
         "train_new_hires": "training_hour", "train_teacher": "training_hour",
         "develop_backbone": "backbone_development", "certify_teacher": "certification",
         "raise_public_funds": "yuan", "raise_training_funds": "yuan"}
#: the cells a teacher action may change
TEACHER_CELLS = ("school_id", "stage", "subject", "degree", "backbone", "certified",
                 "full_time", "training_hours_5y")
QUALIFIED = {"primary": {"associate", "bachelor", "postgraduate"},
             "junior": {"bachelor", "postgraduate"}}
PE_ART = {"体育", "体育与健康", "音乐", "美术", "艺术"}
TOL = 0.01           # yuan: the rounding of written money


def verify_remediation(district: District, folder: Path, rules: Rules | None = None
                       ) -> list[str]:
    """Every check of the module docstring on the programme in ``folder`` made on
    ``district``; one line per breach (empty: verified)."""
    folder = Path(folder)
    rules = district.rules if rules is None else rules
    need = [folder / "remediation.csv", folder / "summary.json",
            folder / "district_after" / "district.yaml"]
    missing = [p.relative_to(folder).as_posix() for p in need if not p.exists()]
    if missing:
        return [f"remediation: {', '.join(missing)} missing in {folder}"]
    rows = _rows(folder / "remediation.csv")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    from planner.io.load import load_district
    try:
        after = load_district(folder / "district_after")
    except DataError as e:
        return [f"remediation: district_after does not load: {p}" for p in e.problems]
    errs = _check_rows(district, rows, summary)
    errs += _check_schools(district, after, rows)
    errs += _check_teachers(district, after, rows, rules)
    errs += _check_indicators(after, summary, rules)
    return errs


def _f(v: str) -> float:
    v = _unescape(v or "").strip()
    return float(v) if v else float("nan")


def _ids(v: str) -> list[str]:
    v = _unescape(v or "").strip()
    return [x for x in v.split(";") if x] if v else []


# ---------------------------------------------------------------------------
# 1. the rows and their costs
# ---------------------------------------------------------------------------

def _check_rows(district: District, rows: list[dict], summary: dict) -> list[str]:
    errs = []
    unit = summary.get("unit_costs") or {}
    total = cap = rec = 0.0
    by_ind: dict[str, float] = defaultdict(float)
    by_school: dict[str, float] = defaultdict(float)
    moves = [(r["school_id"], r["to_school_id"]) for r in rows if r["action"] == "move_pupils"]
    km = _km(district, moves)
    for n, r in enumerate(rows, start=2):
        q, u, c = _f(r["quantity"]), _f(r["unit_cost_yuan"]), _f(r["cost_yuan"])
        where = f"remediation.csv row {n} ({r['school_id']} {r['action']})"
        if not all(math.isfinite(x) for x in (q, u, c)) or q < 0 or u < 0:
            errs.append(f"{where}: quantity, unit cost and cost must be non-negative numbers")
            continue
        if abs(q * u - c) > TOL + 1e-9 * abs(c):
            errs.append(f"{where}: cost {c:g} is not quantity {q:g} × unit cost {u:g}")
        key = PRICE.get(r["action"])
        expect = None
        if r["action"] == "move_pupils":
            d = km.get((r["school_id"], r["to_school_id"]))
            if d is None:
                errs.append(f"{where}: {r['to_school_id']} is not a school the district's "
                            f"roads reach from {r['school_id']}")
            else:
                expect = round(unit.get("pupil_move_per_year", float("nan"))
                               + unit.get("pupil_move_per_km_year", float("nan")) * d, 2)
        elif key == "yuan":
            expect = 1.0
        elif key is not None:
            expect = unit.get(key)
        else:
            expect = 0.0
        if expect is None or abs(u - float(expect)) > TOL:
            errs.append(f"{where}: unit cost {u:g} is not the cost table's {expect}")
        total += c
        if r["recurring"] == "true":
            rec += c
        else:
            cap += c
        by_ind[str(int(_f(r["indicator"])))] += c
        by_school[r["school_id"]] += c
    for name, mine in (("total_cost_yuan", total), ("capital_yuan", cap),
                       ("recurring_yuan_per_year", rec)):
        if abs(float(summary.get(name) or 0.0) - mine) > TOL * max(1, len(rows)):
            errs.append(f"remediation: summary {name} {summary.get(name)} is not the rows' "
                        f"sum {mine:.2f}")
    for name, mine in (("cost_by_indicator", by_ind), ("cost_by_school", by_school)):
        theirs = summary.get(name) or {}
        for k in sorted(set(theirs) | set(mine)):
            if abs(float(theirs.get(k) or 0.0) - mine.get(k, 0.0)) > TOL * max(1, len(rows)):
                errs.append(f"remediation: summary {name}[{k}] {theirs.get(k)} is not the "
                            f"rows' sum {mine.get(k, 0.0):.2f}")
    return errs


def _km(district: District, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """One-way road km between the schools of each pair (the district's travel)."""
    known = set(district.schools["school_id"].astype(str))
    ids = sorted({x for p in pairs for x in p if x in known})
    if len(ids) < 2:
        return {}
    tm = district.travel(district.school_points(ids))
    oi, di = tm.index()
    return {(a, b): float(tm.km[oi[a], di[b]]) for a, b in pairs
            if a in oi and b in di and np.isfinite(tm.km[oi[a], di[b]])}


# ---------------------------------------------------------------------------
# 2. the district after: exactly the rows applied
# ---------------------------------------------------------------------------

def _same(a, b) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if pd.isna(a) or pd.isna(b):
        return False
    try:
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    except (TypeError, ValueError):
        return str(a) == str(b)


def _changed(b: pd.DataFrame, a: pd.DataFrame, cols: list[str]) -> list[tuple[str, str]]:
    """(row id, column) of every cell of ``cols`` that differs between ``b`` and ``a``
    (same index): numbers by value (1e-6 relative), text by its string, empty = empty."""
    out = []
    for col in cols:
        x, y = b[col].astype(object), a[col].reindex(b.index).astype(object)
        xn = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
        yn = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
        xna, yna = x.isna().to_numpy(), y.isna().to_numpy()
        num = ~np.isnan(xn) & ~np.isnan(yn)
        same = (xna & yna) | (num & (np.abs(xn - yn) <= 1e-6 * np.maximum(1.0, np.abs(xn))))
        same |= ~num & ~xna & ~yna & (x.astype(str).to_numpy() == y.astype(str).to_numpy())
        out += [(str(i), col) for i in b.index[~same]]
    return out


def _check_schools(district: District, after: District, rows: list[dict]) -> list[str]:
    errs = []
    b = district.schools.set_index(district.schools["school_id"].astype(str))
    a = after.schools.set_index(after.schools["school_id"].astype(str))
    if set(a.index) != set(b.index):
        return [f"remediation: district_after has schools {sorted(set(a.index) ^ set(b.index))} "
                f"that the district has not (or lacks them)"]
    delta: dict[tuple[str, str], float] = defaultdict(float)
    sets: dict[tuple[str, str], float] = {}
    rooms_touched = set()
    for r in rows:
        k, col, q = r["action"], r["column"], _f(r["quantity"])
        if k in ADDS:
            delta[(r["school_id"], col)] += q
        elif k in TAKES:
            delta[(r["school_id"], col)] -= q
        elif k in SETS:
            sets[(r["school_id"], col)] = _f(r["value_after"])
        elif k == "move_pupils":
            delta[(r["school_id"], col)] -= q
            delta[(r["to_school_id"], col)] += q
        if "_rooms" in k:
            rooms_touched.add((r["school_id"], "music" if "music" in k else "art"))
    missing = [c for c in b.columns if c not in a.columns]
    if missing:
        return [f"remediation: district_after lacks the column(s) {', '.join(missing)}"]
    expected = set(delta) | set(sets)
    for sid, col in sorted(set(_changed(b, a, list(b.columns))) | expected):
        x, y = b.at[sid, col], a.at[sid, col]
        key = (sid, col)
        if key in sets:
            if not _same(y, sets[key]):
                errs.append(f"remediation: {sid} {col} is {y} in district_after, the row "
                            f"sets {sets[key]:g}")
            continue
        if col.endswith("_room_min_m2") and (sid, col.split("_")[0]) in rooms_touched:
            continue                      # set by the rooms rule, checked by indicator 11
        d = delta.get(key, 0.0)
        if d:
            base = 0.0 if pd.isna(x) else float(x)
            if pd.isna(y) or abs(float(y) - base - d) > 1e-6 * max(1.0, abs(base + d)):
                errs.append(f"remediation: {sid} {col} is {y} in district_after, not "
                            f"{x} + {d:g} from the rows")
        elif not _same(x, y):
            errs.append(f"remediation: {sid} {col} changed from {x} to {y} without a row")
    return errs


def _check_teachers(district: District, after: District, rows: list[dict],
                    rules: Rules) -> list[str]:
    errs = []
    tb = district.teachers.set_index(district.teachers["teacher_id"].astype(str))
    ta = after.teachers.set_index(after.teachers["teacher_id"].astype(str))
    replaced, trained, certified, developed = set(), defaultdict(float), set(), set()
    new_at: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        k, ids = r["action"], _ids(r["teacher_ids"])
        part = (r["school_id"], r["stage"])
        if k == "replace_teacher":
            replaced.update(ids)
            new_at[part]["any"] += len(ids)
        elif k in ("hire_qualified", "hire_pe_art"):
            new_at[part]["any"] += int(_f(r["quantity"]))
            if k == "hire_pe_art":
                new_at[part]["pe_art"] += int(_f(r["quantity"]))
        elif k == "train_teacher":
            for x in ids:
                trained[x] += _f(r["quantity"]) / len(ids)
        elif k == "certify_teacher":
            certified.update(ids)
        elif k == "develop_backbone":
            developed.update(ids)
            if len(ids) != int(_f(r["quantity"])):
                errs.append(f"remediation: {r['school_id']} develop_backbone names {len(ids)} "
                            f"teachers for a quantity of {r['quantity']}")
    for x in sorted(replaced):
        if x not in tb.index:
            errs.append(f"remediation: replaced teacher {x} is not on the roster")
        elif x in ta.index:
            errs.append(f"remediation: replaced teacher {x} is still on the roster after")
    gone = sorted(set(tb.index) - set(ta.index) - replaced)
    if gone:
        errs.append(f"remediation: teachers {', '.join(gone[:8])} left the roster without a row")
    hours = rules.training_min_hours
    common = sorted(set(tb.index) & set(ta.index))
    cols = [c for c in TEACHER_CELLS if c in tb.columns]
    cells = set(_changed(tb.loc[common], ta.loc[common], cols)) | {
        (x, "training_hours_5y") for x in trained if x in ta.index and x in tb.index}
    for x, col in sorted(cells):
        o, n = tb.at[x, col], ta.at[x, col]
        if col == "training_hours_5y" and x in trained:
            base = 0.0 if pd.isna(o) else float(o)
            if pd.isna(n) or abs(float(n) - base - trained[x]) > 1e-6:
                errs.append(f"remediation: teacher {x} has {n} hours, not {base:g} + "
                            f"{trained[x]:g} trained")
            continue
        if col == "certified" and x in certified:
            if not (pd.notna(n) and bool(n)):
                errs.append(f"remediation: teacher {x} is listed as certified but is not")
            continue
        if col == "backbone" and x in developed:
            if str(o) != "none" or str(n) not in ("county", "city", "province", "national"):
                errs.append(f"remediation: teacher {x} developed from {o} to {n}")
            continue
        errs.append(f"remediation: teacher {x} {col} changed from {o} to {n} without a row")
    for x in sorted(certified & set(common)):
        v = ta.at[x, "certified"]
        if (x, "certified") not in cells and not (pd.notna(v) and bool(v)):
            errs.append(f"remediation: teacher {x} is listed as certified but is not")
    for x in sorted(developed & set(common)):
        if (x, "backbone") not in cells and str(ta.at[x, "backbone"]) not in (
                "county", "city", "province", "national"):
            errs.append(f"remediation: teacher {x} is listed as developed but is not a "
                        f"backbone teacher")
    new = ta.loc[sorted(set(ta.index) - set(tb.index))]
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for x, t in new.iterrows():
        part = (str(t["school_id"]), str(t["stage"]))
        counts[part]["any"] += 1
        subj = str(t["subject"]).strip()
        counts[part]["pe_art"] += subj in PE_ART
        ok = (str(t["degree"]) in QUALIFIED.get(part[1], set())
              and pd.notna(t["certified"]) and bool(t["certified"])
              and (pd.isna(t["full_time"]) or bool(t["full_time"]))
              and pd.notna(t["training_hours_5y"])
              and float(t["training_hours_5y"]) >= hours * (1 - 1e-9))
        if not ok:
            errs.append(f"remediation: new teacher {x} is not a certified full-time teacher "
                        f"above the required degree with {hours:g} training hours")
        if x in developed and str(t["backbone"]) == "none":
            errs.append(f"remediation: new teacher {x} is listed as developed but is not a "
                        f"backbone teacher")
        elif x not in developed and str(t["backbone"]) != "none":
            errs.append(f"remediation: new teacher {x} is a backbone teacher without a row")
    for part in sorted(set(counts) | set(new_at)):
        have, want = counts.get(part, {}), new_at.get(part, {})
        if have.get("any", 0) != want.get("any", 0):
            errs.append(f"remediation: {part[0]} {part[1]} has {have.get('any', 0)} new teachers, "
                        f"the rows hire or replace {want.get('any', 0)}")
        elif have.get("pe_art", 0) < want.get("pe_art", 0):
            errs.append(f"remediation: {part[0]} {part[1]} has {have.get('pe_art', 0)} new PE/art "
                        f"teachers, the rows hire {want.get('pe_art', 0)}")
    unknown = (developed | certified | set(trained)) - set(ta.index)
    if unknown:
        errs.append(f"remediation: rows name teachers {', '.join(sorted(unknown)[:8])} who are "
                    f"not on the roster after")
    return errs


# ---------------------------------------------------------------------------
# 3. the indicators of the district after
# ---------------------------------------------------------------------------

def _check_indicators(after: District, summary: dict, rules: Rules) -> list[str]:
    inputs = summary.get("indicator_inputs") or {}
    rep = check(after, rotation=inputs.get("rotation"), catchments=inputs.get("catchments"),
                rules=rules)
    errs = []
    closest = bool(summary.get("closest")) or summary.get("status") == "infeasible"
    if not closest:
        for k in SCHOOL_LEVEL:
            ind = rep.indicator(k)
            if k <= 7 or k in (11, 12, 13):  # not-a-rule: indicator ids
                if not ind.passed:
                    errs.append(f"remediation: indicator {k} fails in district_after"
                                + _where(ind))
            elif ind.failing_schools or ind.details.get("missing") or not _share_ok(ind):
                # a county fact (training records kept) is no school's; the roster is
                errs.append(f"remediation: indicator {k} fails in district_after" + _where(ind))
        for k in SCHOOL_LISTS:
            ind = rep.indicator(k)
            if ind.failing_schools:
                errs.append(f"remediation: indicator {k} fails in district_after" + _where(ind))
    if summary.get("a_passed_after") != rep.a_passed:
        errs.append(f"remediation: summary a_passed_after {summary.get('a_passed_after')} is "
                    f"not the engine's {rep.a_passed}")
    for k, ok in (summary.get("school_level_after") or {}).items():
        if bool(ok) != bool(rep.indicator(int(k)).passed):
            errs.append(f"remediation: summary says indicator {k} "
                        f"{'passes' if ok else 'fails'}, the engine says otherwise")
    return errs


def _share_ok(ind) -> bool:
    v, t = ind.county_value, ind.threshold
    try:
        return float(v) >= float(t) * (1 - 1e-9)
    except (TypeError, ValueError):
        return False


def _where(ind) -> str:
    fs = ind.failing_schools[:3]
    if fs:
        return " at " + ", ".join(f"{f.get('school_id')} {f.get('stage') or ''}".strip()
                                  for f in fs)
    cv = {k: v for k, v in (ind.cv_exact or {}).items() if v is not None}
    return f" (county value {ind.county_value}, CV {cv})" if cv else ""

