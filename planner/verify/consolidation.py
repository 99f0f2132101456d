"""Independent verification of a consolidation plan from its files (see planner.verify).

Recomputed from ``assignments.csv``, ``routes.csv`` and the district alone (no
model object): every closed school's pupils are assigned in full; no route
carries more than the bus capacity; every route ends at a receiving school; no
ride (route or assignment) is longer than the ride limit; the buses carry what
the assignments say; a receiver's classes fit its classrooms, and its size
stays within the standard's limit for its type.

Classes after the merge, per stage (indicator 13's reading of the model, here
recomputed from the assignments): new pupils first fill the free seats of the
existing classes up to the standard's class cap, then need new classes,
``classes + ⌈max(0, added − max(0, classes × cap − pupils)) / cap⌉``. A receiver
whose classes are already over the cap gets no free seat (it fails indicator 13
for reasons of its own; the plan is not blamed for it). The limits come from the resolved
:class:`~planner.core.params.ConsolidationParams` (ride limit, bus capacity) and
the standard's :class:`~planner.core.rules.Rules` (class caps, school sizes);
a limit the params leave ``None`` is the standard's.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from planner.core.district import District
from planner.core.params import ConsolidationParams
from planner.core.rules import Rules
from planner.verify.files import _rows

__all__ = ["params_of_folder", "verify_consolidation"]


def params_of_folder(folder: Path) -> ConsolidationParams:
    """The ride limit and bus capacity a plan's folder was made with (its
    ``summary.json`` settings); unset (the standard's) when it has none."""
    p = Path(folder) / "summary.json"
    settings = {}
    if p.exists():
        settings = (json.loads(p.read_text(encoding="utf-8")).get("settings") or {})
    return ConsolidationParams(max_ride_min=settings.get("max_ride_min"),
                               bus_capacity=settings.get("bus_capacity"))


def verify_consolidation(district: District, folder: Path, params: ConsolidationParams,
                         rules: Rules | None = None) -> list[str]:
    """Every broken rule of the plan in ``folder``, one line each (empty: none)."""
    rules = rules if rules is not None else district.rules
    t = rules.transport
    cap_bus = int(params.bus_capacity if params.bus_capacity is not None else t.bus_capacity)
    limit = float(params.max_ride_min if params.max_ride_min is not None else t.max_ride_min)
    errs = []
    assign = _rows(folder / "assignments.csv")
    routes = _rows(folder / "routes.csv")
    s = district.schools.set_index("school_id")
    by_route = defaultdict(list)
    for r in routes:
        by_route[r["route_id"]].append(r)
    carried: Counter = Counter()
    recv = {a["receiving_school_id"] for a in assign}
    for rid, stops in sorted(by_route.items()):
        stops.sort(key=lambda r: int(r["stop_order"]))
        load = sum(int(r["pupils_boarding"]) for r in stops)
        if load > cap_bus:
            errs.append(f"consolidation: route {rid} carries {load} pupils > bus capacity "
                        f"{cap_bus}")
        last = stops[-1]["stop_id"]
        if last not in recv:
            errs.append(f"consolidation: route {rid} ends at {last}, not a receiving school")
        ride = float(stops[-1]["arrive_min"]) - float(stops[0]["arrive_min"])
        if ride > limit + 1e-6:
            errs.append(f"consolidation: route {rid} rides {ride:.1f} min > {limit:g} min")
        for r in stops[:-1]:
            carried[(r["stop_id"], last)] += int(r["pupils_boarding"])
    closed_pupils: Counter = Counter()
    added: defaultdict = defaultdict(Counter)
    for a in assign:
        closed_pupils[a["school_id"]] += int(a["pupils"])
        added[a["receiving_school_id"]][a["stage"]] += int(a["pupils"])
        ride_min = a.get("ride_min") or ""
        if ride_min and float(ride_min) > limit + 1e-6:
            errs.append(f"consolidation: pupils of {a['school_id']} ride {ride_min} min to "
                        f"{a['receiving_school_id']} > {limit:g}")
    for sid, n in closed_pupils.items():
        total = int(s.loc[sid, "students_primary"] + s.loc[sid, "students_junior"])
        if n != total:
            errs.append(f"consolidation: {sid} has {total} pupils but {n} are assigned")
    pair: Counter = Counter()
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
        for st in rules.stages:
            have, c = int(r[f"students_{st}"]), int(r[f"classes_{st}"])
            cap = rules.max_class[st]
            size += have + add[st]
            spill = add[st] - max(0, c * cap - have)
            classes += c + (math.ceil(spill / cap) if spill > 0 else 0)
        rooms = r["classrooms"]
        if pd.notna(rooms) and classes > rooms:
            errs.append(f"consolidation: {rid} needs {classes} classes but has {int(rooms)} "
                        f"classrooms")
        lim = rules.school_size_limit(str(r["type"]))
        if size > lim:
            errs.append(f"consolidation: {rid} would have {size} pupils > {lim}")
    return errs
