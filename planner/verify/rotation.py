"""Independent verification of a rotation plan from its files (see planner.verify).

Everything is recomputed from ``rotation.csv``, the district's roster and school
table, the parameters and the standard: no figure of the model is used.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.core.district import District, school_stages
from planner.core.params import RotationParams
from planner.core.rules import Rules
from planner.verify.files import _rows, _unescape


def verify_rotation(district: District, folder: Path, params: RotationParams,
                    rules: Rules) -> list[str]:
    """Every hard rule of the plan in ``folder/rotation.csv``, one line per breach.

    ``params`` are the parameters the plan was made with, resolved
    (:meth:`RotationParams.resolved`); a ``None`` left in them is filled here the
    same way, from ``rules`` and the district's settings.
    """
    params = params.resolved(rules, district.settings.backbone_base)
    rows = _rows(folder / "rotation.csv")
    if district.teachers is None:
        return [("rotation: the district has no teacher roster (teachers.csv) to check "
                 "rotation.csv against")]
    s = district.schools
    scope = set(s[(s["public"].fillna(True).astype(bool)) & (s["type"] != "special")]["school_id"])
    tt = district.teachers[district.teachers["school_id"].isin(scope)].set_index("teacher_id")
    stages = {sid: set(school_stages(r)) for sid, r in s.set_index("school_id").iterrows()}
    errs: list[str] = []
    ids = [_unescape(r["teacher_id"]) for r in rows]
    for tid, n in Counter(ids).items():
        if n > 1:
            errs.append(f"rotation: teacher {tid} is listed {n} times")
    tally = _Tally()
    for r in rows:
        errs += _check_mover(district, scope, stages, tt, r, tally)
    errs += _check_counts(district, scope, params, tally)
    errs += _check_schools(district, tt, params, tally)
    return errs


@dataclass
class _Tally:
    """What the listed moves add up to."""

    movers: int = 0
    backbone: int = 0
    out_n: Counter = field(default_factory=Counter)
    in_n: Counter = field(default_factory=Counter)
    leaving: Counter = field(default_factory=Counter)   # (school, stage, subject)


def _check_mover(district: District, scope: set, stages: dict, tt: pd.DataFrame, r: dict,
                 tally: _Tally) -> list[str]:
    """One row: on the roster where it says, eligible, to another school of its stage."""
    tid = _unescape(r["teacher_id"])
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
    ft = bool(x["full_time"]) if pd.notna(x["full_time"]) else True
    exempt = str(x["exempt"] or "").strip() != ""
    yrs, age = x["years_at_school"], x["age"]
    st = district.settings
    if not (ft and not exempt and pd.notna(yrs) and yrs >= st.rotation_min_years
            and pd.notna(age) and age < st.rotation_max_age):
        errs.append(f"rotation: {tid} is not eligible to rotate")
    tally.movers += 1
    tally.backbone += x["backbone"] in ("county", "city", "province", "national")
    tally.out_n[frm] += 1
    tally.in_n[to] += 1
    tally.leaving[(frm, x["stage"], str(x["subject"]))] += 1
    return errs


def _check_counts(district: District, scope: set, params: RotationParams,
                  tally: _Tally) -> list[str]:
    """Indicator 19 as the parameters set it: movers and backbone movers."""
    t, st = district.teachers, district.settings
    share, bshare = float(params.share), float(params.backbone_share)
    ft_mask = t["full_time"].fillna(True).astype(bool)
    exempt = t["exempt"].fillna("").astype(str).str.strip() != ""
    elig = (t["school_id"].isin(scope) & ft_mask & ~exempt
            & (t["years_at_school"] >= st.rotation_min_years).fillna(False)
            & (t["age"] < st.rotation_max_age).fillna(False))
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
