"""Independent verification of a consolidation plan from its files (see planner.verify)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from planner.core.district import District
from planner.verify.files import _rows

CLASS_CAP = {"primary": 45, "junior": 50}


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
