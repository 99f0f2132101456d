"""Independent verification of a catchments plan from its files (see planner.verify).

From ``units.csv`` (and ``catchments.geojson`` for the zoned schools when the
settings are not known) and the district alone, per stage:

- every unit of the district is in exactly one zone;
- no zone holds more children than its school's seats: classrooms of the stage ×
  the standard's class-size limit (``rules.max_class``, indicator 13), the
  classrooms of a two-stage school shared in proportion to its classes;
- every zone is connected, with its school's own cell, on the shared-edge
  adjacency of the cells (networkx), the cells rebuilt from the zoned schools.

The zoned schools are those the settings select (``params``: boarding and private
schools); with ``params=None`` (a folder written by ``planner catchments`` with
unknown options) they are the schools ``catchments.geojson`` names for the stage,
each of which must teach it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import networkx as nx

from planner.core.district import District
from planner.core.params import CatchmentParams
from planner.core.rules import Rules
from planner.verify.files import _rows


def _zoned_in_files(folder: Path, stage: str) -> set[str] | None:
    path = folder / "catchments.geojson"
    if not path.exists():
        return None
    feats = json.loads(path.read_text(encoding="utf-8")).get("features") or []
    return {str(f["properties"]["school_id"]) for f in feats
            if f.get("properties", {}).get("stage") == stage}


def verify_catchments(district: District, folder: Path, params: CatchmentParams | None = None,
                      *, rules: Rules | None = None) -> list[str]:
    """Problems found in the catchments plan of ``folder`` (empty: verified)."""
    from geodata.cells import rook_adjacency
    from planner.plans.catchments import _cells, seats, zoned_schools
    rules = rules if rules is not None else district.rules
    errs = []
    rows = _rows(folder / "units.csv")
    units = set(district.units["unit_id"].astype(str))
    for stage in sorted({r["stage"] for r in rows}):
        r = [x for x in rows if x["stage"] == stage]
        c = Counter(x["unit_id"] for x in r)
        for u in sorted(units):
            if c[u] != 1:
                errs.append(f"catchments {stage}: unit {u} is in {c[u]} zones")
        if params is not None:
            schools = zoned_schools(district, stage, params)
        else:
            named = _zoned_in_files(folder, stage)
            teaching = zoned_schools(district, stage, CatchmentParams(include_boarding=True,
                                                                      include_private=True))
            if named is None:
                schools = zoned_schools(district, stage)
            else:
                for sid in sorted(named - set(teaching["school_id"].astype(str))):
                    errs.append(f"catchments {stage}: {sid} is zoned but is no school of the "
                                f"stage")
                schools = teaching[teaching["school_id"].astype(str).isin(named)]
                schools = schools.reset_index(drop=True)
        cap = {sid: seats(row, stage, rules)
               for sid, row in schools.set_index("school_id", drop=False).iterrows()}
        load: Counter = Counter()
        for x in r:
            if x["school_id"]:
                load[x["school_id"]] += int(x["children"])
        for sid, n in sorted(load.items()):
            if n > cap.get(sid, 0):
                errs.append(f"catchments {stage}: {sid} has {n} children for "
                            f"{cap.get(sid, 0)} seats")
        if schools.empty:
            continue
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
