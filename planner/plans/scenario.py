"""Scenario files and the main job: ``planner run``, ``planner compare``, ``planner demo``.

A scenario file (YAML, read with :func:`planner.io.yamlsafe.load_yaml`: duplicate keys,
alias bombs and oversized files are errors) says which district and which
plans to make::

    schema: 1
    name: 云溪区 2024 撤并与轮岗方案
    district: ../geodata/yunxi          # relative to this file
    lang: zh                            # zh | en: the run's language unless --lang says
    solver: highs                       # highs | cbc            } SolveParams
    time_limit: 60                      # seconds per optimisation }
    seed: 0                             #                        }
    consolidation:                      # optional: ConsolidationParams
      mode: plan                        # plan | optimise
      closures: yunxi-2024-closures.csv # plan mode: a closures file, or a list of
                                        #   {school_id, receiving_school_id, share}
      max_ride_min: 30                  # default: the standard's transport rule
      bus_capacity: 56
      costs:                            # yuan a year; defaults of models.consolidation.Costs
        bus_yuan_per_year: 100000
    rotation:                           # optional: RotationParams
      share: 0.10                       # default: the standard's indicator 19
    catchments:                         # optional: CatchmentParams
      stages: [primary, junior]
    remediation:                        # optional: RemediationParams (after the plans)
      costs: {building_m2: 3200}        # or a YAML file of cost keys, relative to this file

Every section is read by its typed parameters class of :mod:`planner.core.params`
(``from_dict``): the one place that holds each setting's default and check. A
section given with no keys (``rotation:``) makes that plan with every default.
Unknown keys are an error that lists the allowed ones; every problem of a file is
reported at once (:class:`~planner.core.errors.DataError`, one line each, naming
the file and the key).

Every output records the resolved scenario (:meth:`Scenario.resolved`: each
section's ``to_dict()``, every default filled; ``null`` means "the standard's
value") and a SHA-256 fingerprint of its inputs (the scenario file, the closures
file and every file of the district folder).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.status import Status, worst
from planner.core.errors import DataError
from planner.core.params import (
    CatchmentParams,
    ConsolidationParams,
    RemediationParams,
    RoadmapParams,
    RotationParams,
    SolveParams,
)
from planner.io.yamlsafe import load_yaml

SCHEMA_VERSION = 1
LANGS = ("zh", "en")

#: top-level keys of a scenario file; the solve keys and the plan sections are
#: checked by their parameters classes
TOP_KEYS = ("schema", "name", "district", "lang", *SolveParams.names(), "consolidation",
            "rotation", "catchments", "remediation", "roadmap")
SECTIONS = {"consolidation": ConsolidationParams, "rotation": RotationParams,
            "catchments": CatchmentParams, "remediation": RemediationParams,
            "roadmap": RoadmapParams}
CLOSURE_KEYS = ("school_id", "receiving_school_id", "share")


@dataclass(frozen=True)
class Scenario:
    """A scenario file as read: typed parameters, paths resolved.

    ``solve`` holds the solver settings every optimisation of the run uses; a plan
    section is ``None`` when the file does not ask for that plan. ``lang`` is the
    file's ``lang:`` (``None`` when not given)."""

    path: Path
    name: str
    district: Path
    solve: SolveParams = field(default_factory=SolveParams)
    lang: str | None = None
    consolidation: ConsolidationParams | None = None
    rotation: RotationParams | None = None
    catchments: CatchmentParams | None = None
    remediation: RemediationParams | None = None
    roadmap: RoadmapParams | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    # the solve settings by their old names
    @property
    def solver(self) -> str:
        return self.solve.solver

    @property
    def time_limit(self) -> float:
        return self.solve.time_limit

    @property
    def seed(self) -> int:
        return self.solve.seed

    def resolved(self) -> dict:
        """The scenario with every default filled and paths made portable (recorded in
        ``scenario.json`` and the indicator files)."""
        out: dict[str, Any] = {"schema": SCHEMA_VERSION, "name": self.name,
                               "district": _portable(self.district), **self.solve.to_dict()}
        if self.lang is not None:
            out["lang"] = self.lang
        for key in SECTIONS:
            params = getattr(self, key)
            if params is None:
                continue
            d = params.to_dict()
            if isinstance(getattr(params, "closures", None), Path):
                d["closures"] = _portable(params.closures)
            if isinstance(getattr(params, "costs", None), Path):
                d["costs"] = _portable(params.costs)
            if isinstance(getattr(params, "plan", None), Path):
                d["plan"] = _portable(params.plan)
            out[key] = d
        return out


def _portable(p: Path) -> str:
    """A path as recorded in outputs: relative to the working folder when inside it
    (outputs must not depend on where the checkout lives)."""
    try:
        return Path(p).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(p).name


def _closures_problems(label: str, closures: Any, folder: Path) -> tuple[list[str], Any]:
    """Check ``consolidation.closures`` (a file relative to the scenario, or a list of
    closures); return the problems and the value with a file path resolved."""
    out: list[str] = []
    key = f"{label} key consolidation.closures"
    if isinstance(closures, str):
        path = (folder / closures).resolve()
        if not path.exists():
            out.append(f"{key}: {path.name} does not exist")
        return out, path
    if not isinstance(closures, list):
        return [f"{key}: {closures!r} is not a closures file or a list"], closures
    for i, item in enumerate(closures, start=1):
        where = f"{label} key consolidation.closures[{i}]"
        if not isinstance(item, dict):
            out.append(f"{where}: {item!r} is not a mapping of {', '.join(CLOSURE_KEYS)}")
            continue
        for k in item:
            if k not in CLOSURE_KEYS:
                out.append(f"{where}.{k}: unknown key; allowed: {', '.join(CLOSURE_KEYS)}")
        for k in ("school_id", "receiving_school_id"):
            v = item.get(k)
            if not isinstance(v, (str, int)) or isinstance(v, bool) or str(v).strip() == "":
                out.append(f"{where}.{k}: a school id is missing")
        if "share" in item:
            v = item["share"]
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1
            if not ok:
                out.append(f"{where}.share: {v!r} is not a number in (0, 1]")
    return out, closures


def _costs_problems(label: str, costs: Any, folder: Path) -> tuple[list[str], Any]:
    """Check ``remediation.costs`` (a YAML file of cost keys relative to the scenario, or a
    mapping of them); return the problems and the value with a file path resolved."""
    from planner.plans.remediation import COST_KEYS
    key = f"{label} key remediation.costs"
    if isinstance(costs, str):
        p = (folder / costs).resolve()
        return ([] if p.exists() else [f"{key}: {p.name} does not exist"]), p
    if not isinstance(costs, dict):
        return [f"{key}: {costs!r} is not a cost file or a mapping of cost keys"], costs
    out = [f"{key}.{k}: unknown cost key; allowed: {', '.join(COST_KEYS)}"
           for k in costs if k not in COST_KEYS]
    return out, costs


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; every problem at once in a
    :class:`~planner.core.errors.DataError` naming the file and the key."""
    path = Path(path)
    label = path.name
    if not path.exists():
        raise DataError([f"{path}: no such scenario file"])
    raw = load_yaml(path, label)
    if not isinstance(raw, dict):
        raise DataError([f"{label} line 1, key -: expected a mapping of keys"])
    problems: list[str] = []
    for k in raw:
        if k not in TOP_KEYS:
            problems.append(f"{label} key {k}: unknown key; allowed: {', '.join(TOP_KEYS)}")
    schema = raw.get("schema")
    if schema != SCHEMA_VERSION or isinstance(schema, bool) or not isinstance(schema, int):
        problems.append(f"{label} key schema: {schema!r} is not a supported schema version "
                        f"(this toolkit reads schema {SCHEMA_VERSION})")
    district = raw.get("district")
    if not district:
        problems.append(f"{label} key district: the district path is missing")
    elif not isinstance(district, str):
        problems.append(f"{label} key district: {district!r} is not a path")
    elif not (path.parent / district).exists():
        problems.append(f"{label} key district: {district} does not exist (a district folder, "
                        f"district.yaml or .gpkg, relative to {label})")
    name = raw.get("name")
    if name is not None and not isinstance(name, (str, int)) or isinstance(name, bool):
        problems.append(f"{label} key name: {name!r} is not a text")
    lang = raw.get("lang")
    if lang is not None and lang not in LANGS:
        problems.append(f"{label} key lang: {lang!r} is not one of {', '.join(LANGS)}")

    def typed(cls, data, prefix=""):
        try:
            return cls.from_dict(data, label, prefix)
        except DataError as e:
            problems.extend(e.problems)
            return None

    solve = typed(SolveParams, {k: raw[k] for k in SolveParams.names() if k in raw})
    sections: dict[str, Any] = {}
    for key, cls in SECTIONS.items():
        if key not in raw:
            continue
        data = raw[key]
        if key == "consolidation" and isinstance(data, dict) and data.get("closures") is not None:
            found, closures = _closures_problems(label, data["closures"], path.parent)
            problems.extend(found)
            data = {**data, "closures": closures}
        if key == "remediation" and isinstance(data, dict) and data.get("costs") is not None:
            found, costs = _costs_problems(label, data["costs"], path.parent)
            problems.extend(found)
            data = {**data, "costs": costs}
        if key == "roadmap" and isinstance(data, dict) and data.get("closures") is not None:
            found, closures = _closures_problems(label, data["closures"], path.parent)
            problems.extend(p.replace("consolidation.closures", "roadmap.closures")
                            for p in found)
            data = {**data, "closures": closures}
        plan = data.get("plan") if key == "catchments" and isinstance(data, dict) else None
        sections[key] = typed(cls, data, f"{key}.")
        if isinstance(plan, str) and sections[key] is not None:
            # catchments.plan: a catchment file relative to the scenario, used instead of solving
            plan_path = (path.parent / plan).resolve()
            if not plan_path.is_file():
                problems.append(f"{label} key catchments.plan: {plan_path.name} does not exist")
            sections[key] = sections[key].replace(plan=plan_path)
    cons = sections.get("consolidation")
    if cons is not None and cons.mode == "plan" and not cons.closures:
        problems.append(f"{label} key consolidation.closures: plan mode needs a closures "
                        f"file or list")
    if problems:
        raise DataError(problems)
    return Scenario(path=path, name=str(name or path.stem),
                    district=(path.parent / district).resolve(), solve=solve, lang=lang,
                    raw=raw, **sections)


def input_hash(scenario: Scenario) -> str:
    """SHA-256 over the scenario file, the closures file and the district's files
    (names and bytes, in sorted order)."""
    h = hashlib.sha256()
    files = [scenario.path]
    c = scenario.consolidation.closures if scenario.consolidation is not None else None
    if isinstance(c, Path):
        files.append(c)
    rc = scenario.roadmap.closures if scenario.roadmap is not None else None
    if isinstance(rc, Path) and rc not in files:
        files.append(rc)
    r = scenario.remediation.costs if scenario.remediation is not None else None
    if isinstance(r, Path) and r.exists():
        files.append(r)
    k = scenario.catchments.plan if scenario.catchments is not None else None
    if isinstance(k, Path):
        files.append(k)
    d = scenario.district
    if d.is_dir():
        files += sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in
                        (".yaml", ".yml", ".csv", ".xlsx", ".geojson", ".json", ".gpkg"))
    elif d.exists():
        files.append(d)
    for f in files:
        h.update(f.name.encode("utf-8") + b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


# ---------------------------------------------------------------------------
# running a scenario
# ---------------------------------------------------------------------------

@dataclass
class RunResult:
    """What :func:`run_scenario` made: the indicator reports before and after, each
    plan's outcome, the verifier's findings, the figures ``compare`` shows."""

    out: Path
    before: Any            # planner.indicators.Report
    after: Any
    consolidation: Any = None
    rotation: Any = None
    catchments: Any = field(default_factory=list)
    remediation: Any = None
    roadmap: Any = None
    verification: list[str] = field(default_factory=list)
    #: red warnings in the plans' report sections (a regression, a limit that binds),
    #: counted when the documents are written
    plan_warnings: int = 0
    timings: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    lang: str = "zh"

    def plans(self) -> list[tuple[str, Any]]:
        """``(kind, outcome)`` of every plan the run made, in run order."""
        out = [(k, getattr(self, k)) for k in ("consolidation", "rotation")
               if getattr(self, k) is not None]
        if self.catchments:
            out.append(("catchments", self.catchments))
        if self.remediation is not None:
            out.append(("remediation", self.remediation))
        if self.roadmap is not None:
            out.append(("roadmap", self.roadmap))
        return out

    def statuses(self) -> dict[str, Status]:
        """The :class:`~models.status.Status` of every plan, by kind."""
        return {k: outcome_status(o) for k, o in self.plans()}

    @property
    def every_plan_made(self) -> bool:
        """Every plan the scenario asked for has a plan meeting its hard limits."""
        return all(s.has_plan for s in self.statuses().values())

    @property
    def verified(self) -> bool:
        """Every plan was made and the independent verifier found no problem."""
        return self.every_plan_made and not self.verification


def outcome_status(outcome: Any) -> Status:
    """The status of a plan's outcome (``outcome.status``, else ``outcome.result.status``);
    a list of outcomes (one per stage) has the worst of theirs."""
    if isinstance(outcome, (list, tuple)):
        return worst(outcome_status(o) for o in outcome)
    st = getattr(outcome, "status", None)
    if st is None:
        st = outcome.result.status
    try:
        return Status(str(st))
    except ValueError:
        return Status.ERROR


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------

DEMO_SCENARIO = "scenarios/yunxi-2024.yaml"


def find_demo_scenario() -> Path:
    """``scenarios/yunxi-2024.yaml`` in the working folder, else beside the source."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        p = base / DEMO_SCENARIO
        if p.exists():
            return p
    raise DataError([f"{DEMO_SCENARIO}: not found; run planner demo from the project folder"])


