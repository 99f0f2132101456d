"""Independent verification of the plans in an output folder: ``planner verify DIR``.

Every hard rule is re-checked from the written files (``rotation.csv``,
``assignments.csv``, ``routes.csv``, ``units.csv``) and the district alone — no
solver variable, no constraint built by a model is used. The rules:

rotation
    each mover is on the roster at the school the list says, eligible (full-time,
    not exempt, years and age as the district's settings), moves once, to another
    school that teaches the teacher's stage; movers ≥ ceil(share × eligible);
    backbone movers ≥ backbone_share × movers (``backbone_base: rotated``) or
    ≥ ceil(backbone_share × ceil(share × eligible)) (``eligible``); every school part
    keeps at least one of its own teachers of each subject it teaches; no school
    sends more than ``max(1, floor(max_send_share × head count))``; head counts stay
    within ``[floor((1−band)·n), min(ceil((1+band)·n), quota)]`` (a school already
    above its quota may not gain).
consolidation
    every closed school's pupils are assigned in full; routes carry at most the bus
    capacity; every route ends at its receiving school; no ride is longer than the
    limit; a receiver's classes (⌈pupils / 45 or 50⌉ per stage) fit its classrooms
    and its size stays ≤ 2000 (≤ 2500 for nine- and twelve-year schools).
catchments
    every unit is in exactly one zone per stage, no zone exceeds its school's seats
    (classrooms × 45 / 50, shared by stage in proportion to classes), and every zone
    is connected on the cells' shared-edge adjacency (networkx).
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from pathlib import Path

import networkx as nx
import pandas as pd

from planner.core.district import District, school_stages

CLASS_CAP = {"primary": 45, "junior": 50}


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _unescape(v: str) -> str:
    return v[1:] if v.startswith("'") and len(v) > 1 and v[1] in "=+-@\t\r" else v


def verify_rotation(district: District, folder: Path, settings: dict) -> list[str]:
    share = float(settings.get("share", 0.10))
    bshare = float(settings.get("backbone_share", 0.20))
    base = settings.get("backbone_base", "rotated")
    band = float(settings.get("band", 0.10))
    send = float(settings.get("max_send_share", 0.30))
    rows = _rows(folder / "rotation.csv")
    t = district.teachers
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


def verify_consolidation(district: District, folder: Path, settings: dict) -> list[str]:
    cap_bus = int(settings.get("bus_capacity", 56))
    limit = float(settings.get("max_ride_min", 30))
    errs = []
    assign = _rows(folder / "assignments.csv")
    routes = _rows(folder / "routes.csv")
    s = district.schools.set_index("school_id")
    by_route = defaultdict(list)
    for r in routes:
        by_route[r["route_id"]].append(r)
    carried = Counter()
    for rid, stops in sorted(by_route.items()):
        stops.sort(key=lambda r: int(r["stop_order"]))
        load = sum(int(r["pupils_boarding"]) for r in stops)
        if load > cap_bus:
            errs.append(f"consolidation: route {rid} carries {load} pupils > bus capacity {cap_bus}")
        last = stops[-1]["stop_id"]
        recv = {a["receiving_school_id"] for a in assign}
        if last not in recv:
            errs.append(f"consolidation: route {rid} ends at {last}, not a receiving school")
        ride = float(stops[-1]["arrive_min"]) - float(stops[0]["arrive_min"])
        if ride > limit + 1e-6:
            errs.append(f"consolidation: route {rid} rides {ride:.1f} min > {limit:g} min")
        for r in stops[:-1]:
            carried[(r["stop_id"], last)] += int(r["pupils_boarding"])
    closed_pupils = Counter()
    added = defaultdict(Counter)
    for a in assign:
        closed_pupils[a["school_id"]] += int(a["pupils"])
        added[a["receiving_school_id"]][a["stage"]] += int(a["pupils"])
        ride = a.get("ride_min") or ""
        if ride and float(ride) > limit + 1e-6:
            errs.append(f"consolidation: pupils of {a['school_id']} ride {ride} min to "
                        f"{a['receiving_school_id']} > {limit:g}")
    for sid, n in closed_pupils.items():
        total = int(s.loc[sid, "students_primary"] + s.loc[sid, "students_junior"])
        if n != total:
            errs.append(f"consolidation: {sid} has {total} pupils but {n} are assigned")
    pair = Counter()
    for a in assign:
        pair[(a["school_id"], a["receiving_school_id"])] += int(a["pupils"])
    if routes:
        for key, n in pair.items():
            if carried[key] != n:
                errs.append(f"consolidation: {n} pupils of {key[0]} go to {key[1]} but buses "
                            f"carry {carried[key]}")
    for rid, add in sorted(added.items()):
        r = s.loc[rid]
        classes = 0
        size = 0
        for st in ("primary", "junior"):
            n = int(r[f"students_{st}"]) + add[st]
            size += n
            classes += max(int(r[f"classes_{st}"]), math.ceil(n / CLASS_CAP[st])) if n else 0
        rooms = r["classrooms"]
        if pd.notna(rooms) and classes > rooms:
            errs.append(f"consolidation: {rid} needs {classes} classes but has {int(rooms)} classrooms")
        lim = 2500 if r["type"] in ("nine_year", "twelve_year") else 2000
        if size > lim:
            errs.append(f"consolidation: {rid} would have {size} pupils > {lim}")
    return errs


def verify_catchments(district: District, folder: Path) -> list[str]:
    from planner.plans.catchments import _cells, seats, zoned_schools
    from geodata.cells import rook_adjacency
    errs = []
    rows = _rows(folder / "units.csv")
    units = set(district.units["unit_id"].astype(str))
    for stage in sorted({r["stage"] for r in rows}):
        r = [x for x in rows if x["stage"] == stage]
        c = Counter(x["unit_id"] for x in r)
        for u in sorted(units):
            if c[u] != 1:
                errs.append(f"catchments {stage}: unit {u} is in {c[u]} zones")
        schools = zoned_schools(district, stage)
        cap = {sid: seats(row, stage) for sid, row in schools.set_index("school_id", drop=False).iterrows()}
        load = Counter()
        for x in r:
            if x["school_id"]:
                load[x["school_id"]] += int(x["children"])
        for sid, n in sorted(load.items()):
            if n > cap.get(sid, 0):
                errs.append(f"catchments {stage}: {sid} has {n} children for {cap.get(sid, 0)} seats")
        cells, homes = _cells(district, schools)
        g = rook_adjacency(cells)
        zone = defaultdict(list)
        for x in r:
            if x["school_id"]:
                zone[x["school_id"]].append("U:" + x["unit_id"])
        for sid, h in zip(schools["school_id"], homes):
            members = zone.get(sid, []) + [h]
            if not nx.is_connected(g.subgraph(members)):
                errs.append(f"catchments {stage}: the zone of {sid} is not connected")
    return errs


def verify_dir(out: Path, district: District, scenario: dict | None = None) -> list[str]:
    """Re-check every plan found in ``out`` (a run folder or one plan's folder)."""
    out = Path(out)
    scenario = scenario or {}
    errs: list[str] = []
    for sub in (out / "rotation", out):
        if (sub / "rotation.csv").exists():
            errs += verify_rotation(district, sub, scenario.get("rotation") or {})
            break
    for sub in (out / "consolidation", out):
        if (sub / "assignments.csv").exists():
            errs += verify_consolidation(district, sub, scenario.get("consolidation") or {})
            break
    for sub in (out / "catchments", out):
        if (sub / "units.csv").exists() and (sub / "catchments.geojson").exists():
            errs += verify_catchments(district, sub)
            break
    return errs


def verify_outcomes(district: District, res) -> list[str]:
    """The runner's call: verify the plans just written, each against the district
    it was made on (rotation after consolidation, catchments after both)."""
    errs = []
    scen = {}
    if res.consolidation is not None:
        s = res.consolidation.settings
        scen = {"bus_capacity": s.bus_capacity, "max_ride_min": s.max_ride_min}
        errs += verify_consolidation(district, res.out / "consolidation", scen)
    base = res.consolidation.district_after if res.consolidation is not None and \
        res.consolidation.result.status in ("optimal", "feasible") else district
    if res.rotation is not None:
        st = res.rotation.problem.settings
        errs += verify_rotation(base, res.out / "rotation",
                                {"share": st.share, "backbone_share": st.backbone_share,
                                 "backbone_base": st.backbone_base, "band": st.band,
                                 "max_send_share": st.max_send_share})
    if res.catchments:
        after = res.rotation.district_after if res.rotation is not None else base
        errs += verify_catchments(after, res.out / "catchments")
    return errs


