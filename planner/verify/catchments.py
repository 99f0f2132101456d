"""Independent verification of a catchments plan from its files (see planner.verify)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import networkx as nx

from planner.core.district import District
from planner.verify.files import _rows

CLASS_CAP = {"primary": 45, "junior": 50}


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
