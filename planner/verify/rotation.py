"""Independent verification of a rotation plan from its files (see planner.verify).

Everything is recomputed from ``rotation.csv`` (English or Chinese headers), the
district's roster, school table and ``rotation_history``, the parameters and the
standard (through the indicator engine): no figure of the model is used, except that
the purpose figures of the folder's ``summary.json`` are checked against the
recomputed ones.

- **History.** The list's school year is the parameters' (default: the year after
  the latest of the history). A teacher with a move (not a return) in the
  ``cycle_years`` years before it, or later, may not be listed as a mover; a teacher
  whose latest move has a period that has ended and who is still at the school they
  went to must be listed returning to the school they came from (when that school
  takes part in the rotation); the rest of the list is checked on the roster after
  those returns.
- **Purpose.** A part is weak when the engine finds it below a floor of indicators
  1–7 or below the county value of 1–3 before the plan; strong when it is urban and
  not weak. A move goes toward need when it goes to a town or village school, or
  from an urban school to a weak urban part that lacks a flag the teacher has (or is
  below a floor of 4–7), or (``urban_moves``) from an urban school to any urban one.
  Other moves from a part in need to an urban part (a strong one for an urban part)
  are exchange legs as far as as many moves toward need go the other way between the
  same two schools. Every other move serves no need; so does a backbone exchange leg
  for the backbone count. With ``direction_rule`` both counts must be 0; without it
  they may not exceed what ``summary.json`` says.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.core.district import District, school_stages
from planner.core.params import RotationParams
from planner.core.rules import Rules
from planner.indicators.engine import check
from planner.io.load import ROTATION_HISTORY_COLUMNS
from planner.verify.files import _rows, _unescape

#: the columns of rotation.csv the verifier reads, by English and Chinese header
_ID_COLUMNS = {c.name: c.zh for c in ROTATION_HISTORY_COLUMNS
               if c.name in ("teacher_id", "from_school_id", "to_school_id")}
_BACKBONE = ("county", "city", "province", "national")


def verify_rotation(district: District, folder: Path, params: RotationParams,
                    rules: Rules) -> list[str]:
    """Every hard rule of the plan in ``folder/rotation.csv``, one line per breach.

    ``params`` are the parameters the plan was made with, resolved
    (:meth:`RotationParams.resolved`); a ``None`` left in them is filled here the
    same way, from ``rules``, the district's settings and its history.
    """
    params = params.resolved(rules, district.settings.backbone_base)
    if district.teachers is None:
        return [("rotation: the district has no teacher roster (teachers.csv) to check "
                 "rotation.csv against")]
    rows = _read_list(folder / "rotation.csv")
    if isinstance(rows, str):
        return [rows]
    s = district.schools
    scope = set(s[(s["public"].fillna(True).astype(bool)) & (s["type"] != "special")]["school_id"])
    errs: list[str] = []
    ids = [r["teacher_id"] for r in rows]
    for tid, n in Counter(ids).items():
        if n > 1:
            errs.append(f"rotation: teacher {tid} is listed {n} times")
    year, recent, due = _history(district, params, scope)
    returns, moves = [], []
    for r in rows:
        want = due.get(r["teacher_id"])
        if want is not None and (r["from_school_id"], r["to_school_id"]) == want:
            returns.append(r)
        else:
            moves.append(r)
    listed = {r["teacher_id"] for r in returns}
    for tid, (frm, home) in sorted(due.items()):
        if tid not in listed:
            errs.append(f"rotation: {tid}'s exchange has ended; the return {frm} → {home} "
                        f"is missing")
    start = _after(district, returns)
    tt = start.teachers[start.teachers["school_id"].isin(scope)].set_index("teacher_id")
    stages = {sid: set(school_stages(r)) for sid, r in s.set_index("school_id").iterrows()}
    tally = _Tally()
    for r in moves:
        errs += _check_mover(start, scope, stages, tt, r, tally, recent, year)
    errs += _check_counts(start, scope, params, tally, recent)
    errs += _check_schools(start, tt, params, tally)
    errs += _check_purpose(start, rules, params, tt, moves, folder)
    return errs


def _read_list(path: Path) -> list[dict] | str:
    """The listed moves with their ids, whatever the header language."""
    raw = _rows(path)
    if not raw:
        return []
    head = list(raw[0])
    col = {}
    for name, zh in _ID_COLUMNS.items():
        hit = [h for h in head if h.strip() in (name, zh)]
        if not hit:
            return f"rotation: rotation.csv has no column {name} ({zh})"
        col[name] = hit[0]
    return [{k: _unescape(r[c]) for k, c in col.items()} for r in raw]


# ---------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------

def _history(district: District, params: RotationParams, scope: set
             ) -> tuple[int | None, dict[str, int], dict[str, tuple[str, str]]]:
    """(school year, teacher -> year of a move within the cycle, teacher -> due
    return (from, to))."""
    h = district.rotation_history
    year = params.school_year
    if h is None or len(h) == 0:
        return year, {}, {}
    years = [int(y) for y in h["school_year"] if y == y]
    if year is None:
        year = max(years) + 1
    recent: dict[str, int] = {}
    last: dict[str, tuple] = {}
    for r in h.itertuples(index=False):
        tid, y = str(r.teacher_id), int(r.school_year)
        if r.move_type != "return" and y > year - params.cycle_years:
            recent[tid] = max(recent.get(tid, y), y)
        if tid not in last or y > last[tid][0]:
            last[tid] = (y, r)
    roster = district.teachers.set_index("teacher_id")
    due: dict[str, tuple[str, str]] = {}
    for tid, (y, r) in last.items():
        p = r.period_years
        if r.move_type == "return" or p != p or p <= 0 or y + p > year:
            continue
        if tid not in roster.index or roster.at[tid, "school_id"] != r.to_school_id:
            continue
        recent.setdefault(tid, y)
        home = str(r.from_school_id)
        row = district.schools.set_index("school_id").loc[home]
        if home in scope and roster.at[tid, "stage"] in school_stages(row):
            due[tid] = (str(r.to_school_id), home)
    return year, recent, due


def _after(district: District, returns: list[dict]) -> District:
    if not returns:
        return district
    t = district.teachers.copy()
    at = {tid: i for i, tid in zip(t.index, t["teacher_id"])}
    for r in returns:
        t.at[at[r["teacher_id"]], "school_id"] = r["to_school_id"]
        t.at[at[r["teacher_id"]], "years_at_school"] = 0.0
    return district.with_schools(district.schools, t)


# ---------------------------------------------------------------------------
# moves, counts, schools
# ---------------------------------------------------------------------------

@dataclass
class _Tally:
    """What the listed moves add up to."""

    movers: int = 0
    backbone: int = 0
    out_n: Counter = field(default_factory=Counter)
    in_n: Counter = field(default_factory=Counter)
    leaving: Counter = field(default_factory=Counter)   # (school, stage, subject)


def _eligible(x, settings) -> bool:
    ft = bool(x["full_time"]) if pd.notna(x["full_time"]) else True
    exempt = str(x["exempt"] or "").strip() != ""
    yrs, age = x["years_at_school"], x["age"]
    return (ft and not exempt and pd.notna(yrs) and yrs >= settings.rotation_min_years
            and pd.notna(age) and age < settings.rotation_max_age)


def _check_mover(district: District, scope: set, stages: dict, tt: pd.DataFrame, r: dict,
                 tally: _Tally, recent: dict, year) -> list[str]:
    """One row: on the roster where it says, eligible, to another school of its stage."""
    tid = r["teacher_id"]
    if tid not in tt.index:
        return [f"rotation: teacher {tid} is not on the roster of a public school"]
    errs = []
    x = tt.loc[tid]
    frm, to = r["from_school_id"], r["to_school_id"]
    if x["school_id"] != frm:
        errs.append(f"rotation: {tid} is at {x['school_id']}, not {frm}")
    if frm == to:
        errs.append(f"rotation: {tid} moves to the same school {to}")
    if to not in scope:
        errs.append(f"rotation: {tid} moves to {to}, not a public school of the county")
    elif x["stage"] not in stages[to]:
        errs.append(f"rotation: {tid} teaches {x['stage']} but {to} has no {x['stage']} stage")
    if not _eligible(x, district.settings):
        errs.append(f"rotation: {tid} is not eligible to rotate")
    elif tid in recent:
        errs.append(f"rotation: {tid} moved in {recent[tid]}, within the cycle before {year}")
    tally.movers += 1
    tally.backbone += x["backbone"] in _BACKBONE
    tally.out_n[frm] += 1
    tally.in_n[to] += 1
    tally.leaving[(frm, x["stage"], str(x["subject"]))] += 1
    return errs


def _check_counts(district: District, scope: set, params: RotationParams,
                  tally: _Tally, recent: dict) -> list[str]:
    """Indicator 19 as the parameters set it: movers and backbone movers."""
    t, st = district.teachers, district.settings
    share, bshare = float(params.share), float(params.backbone_share)
    ft_mask = t["full_time"].fillna(True).astype(bool)
    exempt = t["exempt"].fillna("").astype(str).str.strip() != ""
    elig = (t["school_id"].isin(scope) & ft_mask & ~exempt
            & (t["years_at_school"] >= st.rotation_min_years).fillna(False)
            & (t["age"] < st.rotation_max_age).fillna(False)
            & ~t["teacher_id"].isin(list(recent)))
    eligible = int(elig.sum())
    required = math.ceil(share * eligible - 1e-9)
    errs = []
    if tally.movers < required:
        errs.append(f"rotation: {tally.movers} movers < ceil({share:.0%} × {eligible} "
                    f"eligible) = {required}")
    need_b = (bshare * tally.movers if params.backbone_base == "rotated"
              else math.ceil(bshare * required - 1e-9))
    if tally.backbone + 1e-9 < need_b:
        errs.append(f"rotation: {tally.backbone} backbone movers < {need_b:g} required")
    return errs


def _check_schools(district: District, tt: pd.DataFrame, params: RotationParams,
                   tally: _Tally) -> list[str]:
    """Per school: one own teacher kept per subject, the send limit, the head-count band
    and the staffing quota."""
    errs = []
    have = Counter(zip(tt["school_id"], tt["stage"], tt["subject"].astype(str)))
    for key, n in tally.leaving.items():
        if n >= have[key]:
            errs.append(f"rotation: {key[0]} loses every {key[1]} teacher of {key[2]}")
    head = Counter(tt["school_id"])
    s = district.schools
    quota = dict(zip(s["school_id"], s["staff_quota"]))
    band, send = params.band, params.max_send_share
    out_n, in_n = tally.out_n, tally.in_n
    for sid in sorted(set(out_n) | set(in_n)):
        n = head[sid]
        cap = max(1, math.floor(send * n + 1e-9))
        if out_n[sid] > cap:
            errs.append(f"rotation: {sid} sends {out_n[sid]} of {n} teachers (> {cap})")
        after = n - out_n[sid] + in_n[sid]
        lo = math.floor((1 - band) * n + 1e-9)
        hi = math.ceil((1 + band) * n - 1e-9)
        q = quota.get(sid)
        if q is not None and not pd.isna(q):
            hi = n if n > q else min(hi, int(q))
        if not lo <= after <= hi and (in_n[sid] or out_n[sid]):
            errs.append(f"rotation: {sid} head count {n} → {after} outside [{lo}, {hi}]")
    return errs


# ---------------------------------------------------------------------------
# purpose
# ---------------------------------------------------------------------------

def _classes(district: District, rules: Rules) -> tuple[dict, set]:
    """(school, stage) -> indicators it lacks (1–3 below floor or county value,
    4 for a floor of 4–7), from the indicator engine; and the urban schools."""
    report = check(district, rules=rules)
    parts = report.parts_table()
    lacks: dict[tuple[str, str], set[int]] = defaultdict(set)
    for k in range(1, 8):
        if f"passed_{k}" not in parts.columns:
            continue
        v = parts[f"value_{k}"].to_numpy(dtype=float)
        bad = ~parts[f"passed_{k}"].astype(bool).to_numpy() & ~np.isnan(v)
        if k <= 3:
            county = report.indicator(k).county_value or {}
            c = parts["stage"].map(lambda st, c=county: c.get(st)).astype(float).to_numpy()
            bad |= v < c - 1e-9
        for sid, st in zip(parts["school_id"][bad], parts["stage"][bad]):
            lacks[(str(sid), str(st))].add(min(k, 4))
    s = district.schools
    urban = set(s.loc[s["area_type"] == "urban", "school_id"].astype(str))
    return lacks, urban


def _flags(x) -> tuple[bool, bool, bool]:
    return (bool(x["qualified"]), bool(x["is_backbone"]), bool(x["pe_art"]))


def _check_purpose(district: District, rules: Rules, params: RotationParams,
                   tt: pd.DataFrame, moves: list[dict], folder: Path) -> list[str]:
    """Moves serving no need and backbone movers not toward need, recomputed; zero
    with the direction rule, else no more than summary.json says."""
    lacks, urban = _classes(district, rules)
    known = [r for r in moves if r["teacher_id"] in tt.index]

    def toward(r, x) -> bool:
        frm, to, st = r["from_school_id"], r["to_school_id"], x["stage"]
        if to not in urban:
            return True
        if frm not in urban:
            return False
        if params.urban_moves:
            return True
        lk = lacks.get((to, st), set())
        return 4 in lk or any(f and k in lk for k, f in zip((1, 2, 3), _flags(x)))

    legs: dict[tuple, list] = defaultdict(lambda: [[], 0])
    plain = []
    for r in known:
        x = tt.loc[r["teacher_id"]]
        frm, to, st = r["from_school_id"], r["to_school_id"], x["stage"]
        if toward(r, x):
            legs[(to, frm, st)][1] += 1          # a possible back leg of (to -> frm)
            continue
        need = frm not in urban or bool(lacks.get((frm, st)))
        stronger = to in urban and (frm not in urban or not lacks.get((to, st)))
        if need and stronger:
            legs[(frm, to, st)][0].append(r)
        else:
            plain.append(r)
    none = len(plain)
    backbone = sum(bool(tt.loc[r["teacher_id"], "is_backbone"]) for r in plain)
    for (_frm, _to, _st), (outs, backs) in sorted(legs.items()):
        none += max(0, len(outs) - backs)
        backbone += sum(bool(tt.loc[r["teacher_id"], "is_backbone"]) for r in outs)
    errs = []
    if params.direction_rule:
        if none:
            errs.append(f"rotation: {none} moves serve no need (direction rule)")
        if backbone:
            errs.append(f"rotation: {backbone} backbone movers do not go toward need "
                        f"(direction rule)")
        return errs
    summary = folder / "summary.json"
    if summary.exists():
        s = json.loads(summary.read_text(encoding="utf-8"))
        for key, n in (("not_toward_need", none), ("backbone_not_toward_need", backbone)):
            if key in s and s[key] is not None and n > s[key]:
                errs.append(f"rotation: {n} {key.replace('_', ' ')} recomputed, but "
                            f"summary.json says {s[key]}")
    return errs
