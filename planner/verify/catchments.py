"""Independent verification of a catchments plan from its files (see planner.verify).

From ``units.csv`` (and ``catchments.geojson`` for the zoned schools when the
settings are not known, ``summary.json`` for each stage's status and take-up) and
the district alone, per stage:

- every unit of the district is in exactly one zone;
- every zoned school passes, at full turnover, every school-level A indicator that
  depends on pupils — evaluated forward here at the zone's pupils (the zone's
  children × the take-up, rounded), *not* with the plan's places: indicators 1–3
  (its teachers of the stage per 100 pupils), 4–7 (its resources split by weighted
  enrolment as the indicator engine splits them,
  :func:`planner.indicators.engine.facility_shares`, with the other stage of a
  two-stage school at its own full turnover when that stage has a plan in the
  folder, else today's), 11 (the classes both stages need, ``⌈pupils / class
  limit⌉`` each, within ``classes_per_room ×`` its music and art rooms), 12 (its
  size limit) and 13 (those classes within its classrooms), with the scope of 1–7
  the engine's (private schools by the district's setting, teaching points below
  the standard's minimum out). A limit without data is not checked;
- every zone is connected, with its school's own cell, on the shared-edge
  adjacency of the cells (networkx), the cells rebuilt from the zoned schools.

The zoned schools are those the settings select (``params``: boarding and private
schools); with ``params=None`` (a folder written by ``planner catchments`` with
unknown options) they are the schools ``catchments.geojson`` names for the stage,
each of which must teach it. The take-up is ``params.take_up``, else the one the
folder's summary records, else today's (the zoned schools' pupils ÷ the stage's
children, at most 1). A stage whose summary has no plan (a closest plan) is checked
for units and contiguity only.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from planner.core.district import District
from planner.core.params import CatchmentParams
from planner.core.rules import Rules
from planner.verify.files import _rows
from planner.verify.problems import Problem

_HAS_PLAN = ("optimal", "feasible")
_TEACHERS = {1: "qualified", 2: "backbone", 3: "pe_art"}
_RTOL = 1e-9


def _zoned_in_files(folder: Path, stage: str) -> set[str] | None:
    path = folder / "catchments.geojson"
    if not path.exists():
        return None
    feats = json.loads(path.read_text(encoding="utf-8")).get("features") or []
    return {str(f["properties"]["school_id"]) for f in feats
            if f.get("properties", {}).get("stage") == stage}


def _summary(folder: Path) -> dict:
    path = folder / "summary.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _teaches(district: District, stage: str) -> pd.DataFrame:
    """Public and private, boarding or not, non-special schools teaching ``stage``."""
    from planner.core.district import school_stages
    s = district.schools
    keep = s.apply(lambda r: stage in school_stages(r), axis=1) & (s["type"] != "special")
    return s[keep].sort_values("school_id").reset_index(drop=True)


def _zoned(district: District, folder: Path, stage: str, params: CatchmentParams | None,
           errs: list[Problem]) -> pd.DataFrame:
    teaching = _teaches(district, stage)
    if params is not None:
        keep = pd.Series(True, index=teaching.index)
        if not params.include_private:
            keep &= teaching["public"].fillna(True).astype(bool)
        if not params.include_boarding:
            keep &= ~teaching["boarding"].fillna(False).astype(bool)
        return teaching[keep].reset_index(drop=True)
    named = _zoned_in_files(folder, stage)
    if named is None:
        keep = teaching["public"].fillna(True).astype(bool)
        return teaching[keep].reset_index(drop=True)
    for sid in sorted(named - set(teaching["school_id"].astype(str))):
        errs.append(Problem("verify.catchments.not_of_stage", {"stage": stage, "school": sid},
                            "catchments.geojson"))
    return teaching[teaching["school_id"].astype(str).isin(named)].reset_index(drop=True)


def _take_up(district: District, stage: str, schools: pd.DataFrame,
             params: CatchmentParams | None, summary: dict) -> float:
    if params is not None and params.take_up is not None:
        return float(params.take_up)
    recorded = (summary.get(stage) or {}).get("take_up")
    if recorded is not None and params is None:
        return float(recorded)
    kids = int(district.units[f"children_{stage}"].sum())
    pupils = int(schools[f"students_{stage}"].sum())
    return 1.0 if kids <= 0 or pupils <= 0 else min(1.0, pupils / kids)


def verify_catchments(district: District, folder: Path, params: CatchmentParams | None = None,
                      *, rules: Rules | None = None) -> list[Problem]:
    """Problems found in the catchments plan of ``folder`` (empty: verified)."""
    from geodata.cells import rook_adjacency
    from planner.plans.catchments import _cells
    rules = rules if rules is not None else district.rules
    folder = Path(folder)
    errs: list[Problem] = []
    rows = _rows(folder / "units.csv")
    summary = _summary(folder)
    units = set(district.units["unit_id"].astype(str))
    stages = sorted({r["stage"] for r in rows})
    zoned: dict[str, pd.DataFrame] = {}
    final: dict[str, dict[str, int]] = {}          # stage -> school -> pupils at full turnover
    for stage in stages:
        r = [x for x in rows if x["stage"] == stage]
        c = Counter(x["unit_id"] for x in r)
        for u in sorted(units):
            if c[u] != 1:
                errs.append(Problem("verify.catchments.unit_zones",
                                    {"stage": stage, "unit": u, "count": c[u]}, "units.csv"))
        schools = _zoned(district, folder, stage, params, errs)
        zoned[stage] = schools
        status = (summary.get(stage) or {}).get("status", "optimal")
        if status not in _HAS_PLAN or schools.empty:
            continue
        a = _take_up(district, stage, schools, params, summary)
        kids: Counter = Counter()
        for x in r:
            if x["school_id"]:
                kids[x["school_id"]] += int(x["children"])
        final[stage] = {str(sid): int(round(a * kids.get(str(sid), 0)))
                        for sid in schools["school_id"]}
    for stage, pupils in final.items():
        errs += _check_places(district, rules, stage, zoned[stage], pupils, final)
    for stage in stages:
        schools = zoned[stage]
        if schools.empty:
            continue
        r = [x for x in rows if x["stage"] == stage]
        cells, homes, _, _ = _cells(district, schools)
        g = rook_adjacency(cells)
        zone = defaultdict(list)
        for x in r:
            if x["school_id"]:
                zone[x["school_id"]].append("U:" + x["unit_id"])
        for sid, h in zip(schools["school_id"], homes):
            members = zone.get(sid, []) + [h]
            if not nx.is_connected(g.subgraph(members)):
                errs.append(Problem("verify.catchments.not_connected",
                                    {"stage": stage, "school": sid}, "units.csv"))
    return errs


def _ge(value: float, threshold: float) -> bool:
    return value >= threshold * (1 - _RTOL) - 1e-12


def _check_places(district: District, rules: Rules, stage: str, schools: pd.DataFrame,
                  pupils: dict[str, int], final: dict[str, dict[str, int]]) -> list[Problem]:
    """Each zoned school of ``stage`` at its full-turnover pupils, indicator by
    indicator (module docstring)."""
    from planner.indicators.engine import facility_shares
    ostage = "junior" if stage == "primary" else "primary"
    st = district.settings
    tc = district.teacher_counts()
    s = schools.copy()
    own = s["school_id"].astype(str).map(pupils).astype(int)
    other = s.apply(lambda row: final.get(ostage, {}).get(str(row["school_id"]),
                                                          int(row[f"students_{ostage}"])), axis=1)
    s[f"students_{stage}"] = own.to_numpy()
    s[f"students_{ostage}"] = np.asarray(other, dtype=int)
    shares = facility_shares(s, {t: dict(ws) for t, ws in rules.facility_weights})
    errs = []
    for i, row in s.iterrows():
        sid, typ = str(row["school_id"]), str(row["type"])
        n, n_o = int(row[f"students_{stage}"]), int(row[f"students_{ostage}"])
        if n <= 0:
            continue
        bad: list[tuple[str, dict]] = []
        public = row.get("public")
        public = True if public is None or pd.isna(public) else bool(public)
        scope = public or st.private_schools == "include"
        if typ == "teaching_point":
            if st.teaching_points == "exclude_all":
                scope = False
            elif st.teaching_points == "exclude_below_50" and \
                    n + n_o < rules.teaching_point_min_pupils:
                scope = False
        if scope:
            for k in range(1, 8):
                rule = rules.rule(k)
                thr = float(rule.threshold[stage])
                if k in _TEACHERS:
                    key = (sid, stage)
                    t = float(tc.loc[key, _TEACHERS[k]]) if key in tc.index else math.nan
                    value = rule.multiplier * t / n
                else:
                    res = pd.to_numeric(pd.Series([row.get(rule.resource)]),
                                        errors="coerce").iloc[0]
                    value = rule.multiplier * float(res) * float(shares.loc[i, stage]) / n
                if not math.isnan(value) and not _ge(value, thr):
                    bad.append(("verify.catchments.indicator_low",
                                {"indicator": k, "value": f"{value:.4g}",
                                 "threshold": f"{thr:g}"}))
        limit = rules.max_class
        if sid in final.get(ostage, {}):
            classes_o = -(-n_o // int(limit[ostage])) if n_o > 0 else 0
        else:                                   # the other stage as it is today
            classes_o = int(row[f"classes_{ostage}"])
        need = -(-n // int(limit[stage])) + classes_o
        rooms = pd.to_numeric(pd.Series([row.get("classrooms")]), errors="coerce").iloc[0]
        if not math.isnan(rooms) and need > rooms:
            bad.append(("verify.catchments.classrooms", {"classes": need, "rooms": int(rooms)}))
        if typ not in ("special", "teaching_point"):
            m = pd.to_numeric(pd.Series([row.get("music_rooms"), row.get("art_rooms")]),
                              errors="coerce")
            if not m.isna().any() and need > rules.classes_per_room * float(m.min()):
                bad.append(("verify.catchments.art_rooms",
                            {"classes": need, "rooms": int(m.min())}))
        size = n + n_o if typ in ("nine_year", "twelve_year") else n
        if size > rules.school_size_limit(typ):
            bad.append(("verify.catchments.size",
                        {"size": size, "limit": rules.school_size_limit(typ)}))
        errs += [Problem(what, {"stage": stage, "school": sid, "pupils": n, **fields},
                         "units.csv") for what, fields in bad]
    return errs
