"""Independent verification of a consolidation plan from its files (see planner.verify).

Recomputed from ``assignments.csv``, ``routes.csv``, ``boarding.csv`` (when the
folder has one), the settings in ``summary.json`` and the district alone (no model
object, no solver variable):

- every closed school's pupils are assigned in full, to schools that exist, are
  open (a receiver that is itself closed is an error) and teach the stage;
- every route carries at most the bus capacity, ends at a receiving school and
  rides no longer than the ride limit (first stop to school); its length and ride
  time are recomputed on the district's travel service from the stops' positions
  (each stop's dwell included) and must match the file;
- every stop's clock time is its trip's departure plus its offset; every trip
  arrives within its school's window (no later than the margin before the bell, no
  earlier than the earliest arrival); the trips of one bus do not overlap (after a
  trip arrives the bus unloads and drives empty to the next first stop in time);
- the buses carry what the assignments say: per closed school, receiver and stage
  the pupils boarding (``boarding.csv``) equal the pupils assigned, and per trip and
  stop they equal the stop's boarding count; an emptied ``routes.csv`` (or
  ``boarding.csv``) leaves pupils without a bus and is caught; every pupil walks at
  most the walking limit from the unit to the stop (straight line);
- a receiver's classes fit its classrooms and its size stays within the standard's
  limit for its type.

Classes after the merge, per stage (indicator 13's reading of the model, here
recomputed from the assignments): new pupils first fill the free seats of the
existing classes up to the standard's class cap, then need new classes,
``classes + ⌈max(0, added − max(0, classes × cap − pupils)) / cap⌉``. A receiver
whose classes are already over the cap gets no free seat (it fails indicator 13
for reasons of its own; the plan is not blamed for it). The limits come from the resolved
:class:`~planner.core.params.ConsolidationParams` (ride limit, bus capacity, walking
limit, timetable) and the standard's :class:`~planner.core.rules.Rules` (class caps,
school sizes); a limit the params leave ``None`` is the standard's.

Regressions of the receivers' indicators are not a broken rule of the plan files
(plan mode reports them; the report lists them): :func:`receiver_regressions`
recomputes them from the files with the indicator engine for whoever wants that check.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from planner.core.district import District, school_stages
from planner.core.params import ConsolidationParams
from planner.core.rules import Rules
from planner.verify.files import _rows

__all__ = ["params_of_folder", "verify_consolidation"]

#: tolerances of the recomputation: figures are written rounded (minutes to 0.1,
#: km to 0.01); a clock time is the minute a time falls in
_MIN_TOL = 0.15  # not-a-rule: rounding of arrive_min (0.1) plus slack
_KM_TOL = 0.02   # not-a-rule: rounding of km_from_start (0.01) plus slack
_CLOCK_TOL = 1.1  # not-a-rule: a clock minute against a time rounded to 0.1 min
_WALK_TOL_M = 1.0
_HALF_MINUTE = 0.5  # not-a-rule: the middle of a clock minute


def params_of_folder(folder: Path) -> ConsolidationParams:
    """The settings a plan's folder was made with (its ``summary.json``); unset (the
    standard's, or the defaults) when it has none."""
    p = Path(folder) / "summary.json"
    settings = {}
    if p.exists():
        settings = (json.loads(p.read_text(encoding="utf-8")).get("settings") or {})
    keep = {k: settings[k] for k in ("max_ride_min", "bus_capacity", "walk_limit_m",
                                     "bell_time", "bell_times", "arrival_margin_min",
                                     "earliest_arrival_min", "stop_dwell_min", "max_trips")
            if settings.get(k) is not None}
    if "bell_times" in keep and not keep["bell_times"]:
        del keep["bell_times"]
    return ConsolidationParams(**keep)


def _minutes(text: str) -> int | None:
    try:
        h, m = str(text).split(":")
        return int(h) * 60 + int(m)  # not-a-rule: minutes in an hour
    except ValueError:
        return None


def verify_consolidation(district: District, folder: Path, params: ConsolidationParams,
                         rules: Rules | None = None) -> list[str]:
    """Every broken rule of the plan in ``folder``, one line each (empty: none)."""
    rules = rules if rules is not None else district.rules
    t = rules.transport
    cap_bus = int(params.bus_capacity if params.bus_capacity is not None else t.bus_capacity)
    limit = float(params.max_ride_min if params.max_ride_min is not None else t.max_ride_min)
    folder = Path(folder)
    errs: list[str] = []
    assign = _rows(folder / "assignments.csv")
    routes = _rows(folder / "routes.csv")
    board_path = folder / "boarding.csv"
    boarding = _rows(board_path) if board_path.exists() else None
    s = district.schools.set_index("school_id")
    closed = {a["school_id"] for a in assign}
    # the assignments: known, open receivers teaching the stage
    for a in assign:
        sid, rid, st = a["school_id"], a["receiving_school_id"], a["stage"]
        if sid not in s.index:
            errs.append(f"consolidation: assignments.csv names an unknown school {sid}")
            continue
        if rid not in s.index:
            errs.append(f"consolidation: {sid} sends pupils to an unknown school {rid}")
            continue
        if rid in closed:
            errs.append(f"consolidation: {sid} sends pupils to {rid}, which is itself closed")
        if st not in school_stages(s.loc[rid]):
            errs.append(f"consolidation: {rid} has no {st} stage for the pupils of {sid}")
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
        if sid not in s.index:
            continue
        total = int(s.loc[sid, "students_primary"] + s.loc[sid, "students_junior"])
        if n != total:
            errs.append(f"consolidation: {sid} has {total} pupils but {n} are assigned")
    if boarding is not None:
        errs += _check_boarding(district, assign, by_route, boarding, params)
    else:  # a folder of the old format: pupils board at their school's site
        pair: Counter = Counter()
        for a in assign:
            pair[(a["school_id"], a["receiving_school_id"])] += int(a["pupils"])
        for key, n in pair.items():
            if carried[key] != n:
                errs.append(f"consolidation: {n} pupils of {key[0]} go to {key[1]} but buses "
                            f"carry {carried[key]}")
    if routes and "clock" in routes[0]:
        errs += _check_trips(district, by_route, params, limit)
    for rid, add in sorted(added.items()):
        if rid not in s.index:
            continue
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


def _check_boarding(district: District, assign: list[dict], by_route: dict,
                    boarding: list[dict], params: ConsolidationParams) -> list[str]:
    """Pupils carried exactly once: boarding against the assignments and the routes;
    walks within the limit."""
    from geodata.travel import haversine_km
    errs = []
    receiver_of = {rid: stops[-1]["stop_id"] for rid, stops in by_route.items() if stops}
    at_stop = {(rid, r["stop_id"]): r for rid, stops in by_route.items() for r in stops[:-1]}
    want: Counter = Counter()
    for a in assign:
        want[(a["school_id"], a["receiving_school_id"], a["stage"])] += int(a["pupils"])
    got: Counter = Counter()
    per_stop: Counter = Counter()
    units = {}
    if district.units is not None:
        g = district.units.geometry
        pts = [(p.x, p.y) if p.geom_type == "Point" else
               (p.representative_point().x, p.representative_point().y) for p in g]
        units = dict(zip(district.units["unit_id"].astype(str), pts, strict=True))
    schools = district.schools.set_index("school_id")
    walk_limit = float(params.walk_limit_m)
    for b in boarding:
        rid = b["route_id"]
        if rid not in receiver_of:
            errs.append(f"consolidation: boarding.csv puts pupils on route {rid}, which "
                        f"routes.csv does not have")
            continue
        got[(b["school_id"], receiver_of[rid], b["stage"])] += int(b["pupils"])
        per_stop[(rid, b["stop_id"])] += int(b["pupils"])
        stop = at_stop.get((rid, b["stop_id"]))
        if stop is None:
            errs.append(f"consolidation: boarding.csv: route {rid} has no stop {b['stop_id']}")
            continue
        home = units.get(b["unit_id"])
        if home is None and b["unit_id"] in schools.index:
            home = (float(schools.loc[b["unit_id"], "lon"]), float(schools.loc[b["unit_id"],
                                                                                "lat"]))
        if home is not None and stop.get("lon") not in (None, ""):
            m = 1000.0 * float(haversine_km(home[0], home[1], float(stop["lon"]),
                                            float(stop["lat"])))
            if m > walk_limit + _WALK_TOL_M:
                errs.append(f"consolidation: pupils of unit {b['unit_id']} walk {m:,.0f} m to "
                            f"stop {b['stop_id']} > {walk_limit:g} m")
    for key, n in sorted(want.items()):
        if got[key] != n:
            errs.append(f"consolidation: {n} {key[2]} pupils of {key[0]} go to {key[1]} but "
                        f"buses carry {got[key]}")
    for key, n in sorted(got.items()):
        if key not in want:
            errs.append(f"consolidation: buses carry {n} {key[2]} pupils of {key[0]} to "
                        f"{key[1]}, which assignments.csv does not send there")
    for key, r in sorted(at_stop.items()):
        if per_stop[key] != int(r["pupils_boarding"]):
            errs.append(f"consolidation: route {key[0]} stop {key[1]}: {r['pupils_boarding']} "
                        f"boarding in routes.csv, {per_stop[key]} in boarding.csv")
    return errs


def _check_trips(district: District, by_route: dict, params: ConsolidationParams,
                 limit: float) -> list[str]:
    """Length, ride time and clock times recomputed on the district's travel service;
    windows; buses not on two trips at once."""
    errs = []
    pts: dict[tuple[float, float], str] = {}
    for stops in by_route.values():
        for r in stops:
            key = (round(float(r["lon"]), 6), round(float(r["lat"]), 6))
            pts.setdefault(key, f"p{len(pts)}")
    ids = {v: k for k, v in pts.items()}
    from geodata.travel import FarFromRoads
    try:
        matrix = district.travel([(pid, lon, lat) for pid, (lon, lat) in sorted(ids.items())])
    except FarFromRoads as e:
        return [f"consolidation: routes.csv: {len(e.points)} stop(s) lie farther than "
                f"{e.limit_m:,.0f} m from every road"]
    idx = {o: k for k, o in enumerate(matrix.origins)}
    schools = district.schools.set_index("school_id")
    for rid, stops in sorted(by_route.items()):
        end = stops[-1]
        if end["stop_id"] in schools.index and (
                abs(float(end["lon"]) - float(schools.loc[end["stop_id"], "lon"])) > 1e-5 or
                abs(float(end["lat"]) - float(schools.loc[end["stop_id"], "lat"])) > 1e-5):
            errs.append(f"consolidation: route {rid} ends at ({end['lon']}, {end['lat']}), not "
                        f"at school {end['stop_id']}")

    def leg(a: dict, b: dict) -> tuple[float, float]:
        pa = pts[(round(float(a["lon"]), 6), round(float(a["lat"]), 6))]
        pb = pts[(round(float(b["lon"]), 6), round(float(b["lat"]), 6))]
        return (float(matrix.minutes[idx[pa], idx[pb]]), float(matrix.km[idx[pa], idx[pb]]))

    dwell = float(params.stop_dwell_min)
    bell = _minutes(params.bell_time) or 0
    bells = {k: _minutes(v) for k, v in (params.bell_times or {}).items()}
    buses: dict[str, list] = defaultdict(list)
    for rid, stops in sorted(by_route.items()):
        t = km = 0.0
        depart = _minutes(stops[0]["clock"])
        for k, r in enumerate(stops):
            if k:
                dm, dk = leg(stops[k - 1], r)
                t += dm + dwell
                km += dk
            if abs(t - float(r["arrive_min"])) > _MIN_TOL * max(1, k) or \
                    abs(km - float(r["km_from_start"])) > _KM_TOL * max(1, k):
                errs.append(f"consolidation: route {rid} stop {r['stop_order']}: the file says "
                            f"{r['arrive_min']} min / {r['km_from_start']} km, the roads give "
                            f"{t:.1f} min / {km:.2f} km")
                break
            when = _minutes(r["clock"])
            if depart is None or when is None or \
                    abs(depart + float(r["arrive_min"]) - when - _HALF_MINUTE) > _CLOCK_TOL:
                errs.append(f"consolidation: route {rid} stop {r['stop_order']}: clock "
                            f"{r['clock']} is not the departure plus {r['arrive_min']} min")
                break
        if t > limit + _MIN_TOL:
            errs.append(f"consolidation: route {rid} rides {t:.1f} min on the roads > "
                        f"{limit:g} min")
        if depart is None:
            continue
        arrive = depart + float(stops[-1]["arrive_min"])
        school = stops[-1]["stop_id"]
        b = bells.get(school, bell)
        latest = b - float(params.arrival_margin_min)
        earliest = b - float(params.earliest_arrival_min)
        if not earliest - _MIN_TOL <= arrive <= latest + _MIN_TOL:
            errs.append(f"consolidation: route {rid} arrives at {stops[-1]['clock']}, outside "
                        f"its window (bell {b // 60:02d}:{b % 60:02d})")  # not-a-rule: hours
        buses[stops[0]["bus"]].append((depart, arrive, stops[0], stops[-1], rid))
    for bus, trips in sorted(buses.items()):
        trips.sort(key=lambda x: x[0])
        if len(trips) > int(params.max_trips):
            errs.append(f"consolidation: bus {bus} runs {len(trips)} trips > "
                        f"{params.max_trips}")
        for (_, arr_a, _, end_a, _), (dep_b, _, first_b, _, rid_b) in zip(trips, trips[1:]):
            gap, _ = leg(end_a, first_b)
            if dep_b + _MIN_TOL < arr_a + dwell + gap:
                errs.append(f"consolidation: bus {bus} cannot reach route {rid_b} in time "
                            f"({dep_b - arr_a:.1f} min after its last trip, "
                            f"{dwell + gap:.1f} needed)")
    return errs
