"""Independent verification of a rotation plan from its files (see planner.verify).

Everything is recomputed from ``rotation.csv``, the district's roster and school
table, the parameters and the standard: no figure of the model is used.
"""

from __future__ import annotations

import math
from collections import Counter
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
    share, bshare = float(params.share), float(params.backbone_share)
    base, band, send = params.backbone_base, params.band, params.max_send_share
    rows = _rows(folder / "rotation.csv")
    t = district.teachers
    if t is None:
        return [("rotation: the district has no teacher roster (teachers.csv) to check "
                 "rotation.csv against")]
    s = district.schools
    scope = set(s[(s["public"].fillna(True).astype(bool)) & (s["type"] != "special")]["school_id"])
    tt = t[t["school_id"].isin(scope)].set_index("teacher_id")
    stages = {sid: set(school_stages(r)) for sid, r in s.set_index("school_id").iterrows()}
    errs = []
    ids = [_unescape(r["teacher_id"]) for r in rows]
    for tid, n in Counter(ids).items():
        if n > 1:
            errs.append(f"rotation: teacher {tid} is listed {n} times")
    movers = 0
    backbone = 0
    out_n, in_n = Counter(), Counter()
    leaving = Counter()
    for r in rows:
        tid = _unescape(r["teacher_id"])
        if tid not in tt.index:
            errs.append(f"rotation: teacher {tid} is not on the roster of a public school")
            continue
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
        if not (ft and not exempt and pd.notna(yrs) and yrs >= district.settings.rotation_min_years
                and pd.notna(age) and age < district.settings.rotation_max_age):
            errs.append(f"rotation: {tid} is not eligible to rotate")
        movers += 1
        backbone += x["backbone"] in ("county", "city", "province", "national")
        out_n[frm] += 1
        in_n[to] += 1
        leaving[(frm, x["stage"], str(x["subject"]))] += 1
    ft_mask = t["full_time"].fillna(True).astype(bool)
    exempt = t["exempt"].fillna("").astype(str).str.strip() != ""
    elig = (t["school_id"].isin(scope) & ft_mask & ~exempt
            & (t["years_at_school"] >= district.settings.rotation_min_years).fillna(False)
            & (t["age"] < district.settings.rotation_max_age).fillna(False))
    eligible = int(elig.sum())
    required = math.ceil(share * eligible - 1e-9)
    if movers < required:
        errs.append(f"rotation: {movers} movers < ceil({share:.0%} × {eligible} eligible) = {required}")
    need_b = (bshare * movers) if base == "rotated" else math.ceil(bshare * required - 1e-9)
    if backbone + 1e-9 < need_b:
        errs.append(f"rotation: {backbone} backbone movers < {need_b:g} required")
    have = Counter(zip(tt["school_id"], tt["stage"], tt["subject"].astype(str)))
    for key, n in leaving.items():
        if n >= have[key]:
            errs.append(f"rotation: {key[0]} loses every {key[1]} teacher of {key[2]}")
    head = Counter(tt["school_id"])
    quota = dict(zip(s["school_id"], s["staff_quota"]))
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
