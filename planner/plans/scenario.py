"""Scenario files and the main job: ``planner run``, ``planner compare``, ``planner demo``.

A scenario file (YAML, read with ``yaml.safe_load``) says which district and which
plans to make::

    schema: 1
    name: 云溪区 2024 撤并与轮岗方案
    district: ../geodata/yunxi          # relative to this file
    solver: highs                       # highs | cbc
    time_limit: 60                      # seconds per optimisation
    seed: 0
    consolidation:                      # optional
      mode: plan                        # plan | optimise
      closures: yunxi-2024-closures.csv # plan mode: a closures file, or a list of
                                        #   {school_id, receiving_school_id, share}
      max_ride_min: 30
      bus_capacity: 56
      costs:                            # yuan a year; defaults of models.consolidation.Costs
        bus_yuan_per_year: 100000
    rotation:                           # optional
      share: 0.10
      backbone_share: 0.20
    catchments:                         # optional
      stages: [primary, junior]

Unknown keys are an error that lists the allowed ones. Every output records the
resolved scenario and a SHA-256 fingerprint of its inputs (the scenario file, the
closures file and every file of the district folder).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from planner.io.load import DataError

SCHEMA_VERSION = 1

TOP_KEYS = {"schema": int, "name": str, "district": str, "solver": str, "time_limit": (int, float),
            "seed": int, "lang": str, "consolidation": dict, "rotation": dict, "catchments": dict}
CONSOLIDATION_KEYS = ("mode", "closures", "max_ride_min", "bus_capacity", "candidates_max_pupils",
                      "costs")
COST_KEYS = ("bus_yuan_per_year", "yuan_per_bus_km", "yuan_per_pupil_minute",
             "school_yuan_per_year")
ROTATION_KEYS = ("share", "backbone_share", "backbone_base", "band", "max_send_share",
                 "direction_rule")
CATCHMENT_KEYS = ("stages", "k_nearest", "stability_penalty", "contiguity")


@dataclass
class Scenario:
    path: Path
    name: str
    district: Path
    solver: str = "highs"
    time_limit: float = 60.0
    seed: int = 0
    consolidation: dict | None = None
    rotation: dict | None = None
    catchments: dict | None = None
    raw: dict = field(default_factory=dict)

    def resolved(self) -> dict:
        """The scenario with defaults filled and paths resolved (recorded in outputs)."""
        out = {"schema": SCHEMA_VERSION, "name": self.name,
               "district": _portable(self.district), "solver": self.solver,
               "time_limit": self.time_limit, "seed": self.seed}
        for k in ("consolidation", "rotation", "catchments"):
            v = getattr(self, k)
            if v is not None:
                v = dict(v)
                if isinstance(v.get("closures"), Path):
                    v["closures"] = _portable(v["closures"])
                out[k] = v
        return out


def _portable(p: Path) -> str:
    """A path as recorded in outputs: relative to the working folder when inside it
    (outputs must not depend on where the checkout lives)."""
    try:
        return Path(p).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(p).name


def _value_problems(label: str, raw: dict, sections: dict, path: Path) -> list[str]:
    """Every value a run would use, checked before anything runs (a bad one
    would otherwise fail mid-run, after output was started)."""
    out = []

    def num(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    def check(key, v, ok, what):
        if not ok(v):
            out.append(f"{label} key {key}: {v!r} is not {what}")

    if "time_limit" in raw:
        check("time_limit", raw["time_limit"], lambda v: num(v) and v > 0, "a positive number of seconds")
    if "lang" in raw:
        check("lang", raw["lang"], lambda v: v in ("zh", "en"), "one of zh, en")
    d = raw.get("district")
    if isinstance(d, str) and d and not (path.parent / d).exists():
        out.append(f"{label} key district: {d} does not exist (a district folder, district.yaml "
                   f"or .gpkg, relative to {label})")
    frac = (lambda v: num(v) and 0 <= v <= 1, "a number between 0 and 1")
    pos = (lambda v: num(v) and v > 0, "a positive number")
    pos_int = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
               "a positive whole number")
    nonneg = (lambda v: num(v) and v >= 0, "a non-negative number")
    rules = {
        "consolidation": {"max_ride_min": pos, "bus_capacity": pos_int,
                          "candidates_max_pupils": nonneg},
        "rotation": {"share": frac, "backbone_share": frac, "band": frac, "max_send_share": frac,
                     "backbone_base": (lambda v: v is None or v in ("rotated", "eligible"),
                                       "one of rotated, eligible"),
                     "direction_rule": (lambda v: isinstance(v, bool), "true or false")},
        "catchments": {"k_nearest": pos_int, "stability_penalty": nonneg,
                       "contiguity": (lambda v: v in ("sweep", "cheap", "flow"),
                                      "one of sweep, cheap, flow")},
    }
    for sec, keys in rules.items():
        v = sections.get(sec)
        if not isinstance(v, dict):
            continue
        for k, (ok, what) in keys.items():
            if k in v:
                check(f"{sec}.{k}", v[k], ok, what)
    cons = sections.get("consolidation")
    costs = cons.get("costs") if isinstance(cons, dict) else None
    if costs is not None:
        if not isinstance(costs, dict):
            out.append(f"{label} key consolidation.costs: {costs!r} is not a mapping of "
                       f"{', '.join(COST_KEYS)}")
        else:
            for k, v in costs.items():
                if k not in COST_KEYS:
                    out.append(f"{label} key consolidation.costs.{k}: unknown key; allowed: "
                               f"{', '.join(COST_KEYS)}")
                else:
                    check(f"consolidation.costs.{k}", v, *nonneg)
    closures = cons.get("closures") if isinstance(cons, dict) else None
    if closures is not None and not isinstance(closures, (str, Path, list)):
        out.append(f"{label} key consolidation.closures: {closures!r} is not a closures file "
                   f"or a list")
    elif isinstance(closures, list):
        for i, item in enumerate(closures, start=1):
            key = f"consolidation.closures[{i}]"
            if not isinstance(item, dict):
                out.append(f"{label} key {key}: {item!r} is not a mapping of school_id, "
                           f"receiving_school_id, share")
                continue
            for k in item:
                if k not in ("school_id", "receiving_school_id", "share"):
                    out.append(f"{label} key {key}.{k}: unknown key; allowed: school_id, "
                               f"receiving_school_id, share")
            for k in ("school_id", "receiving_school_id"):
                if not isinstance(item.get(k), (str, int)) or isinstance(item.get(k), bool) \
                        or str(item.get(k)).strip() == "":
                    out.append(f"{label} key {key}.{k}: a school id is missing")
            if "share" in item:
                check(f"{key}.share", item["share"], lambda v: num(v) and 0 < v <= 1,
                      "a number in (0, 1]")
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise DataError naming file and key."""
    path = Path(path)
    label = path.name
    if not path.exists():
        raise DataError([f"{path}: no such scenario file"])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "line -"
        raise DataError([f"{label} {where}, key -: not valid YAML ({getattr(e, 'problem', e)})"]) from None
    if not isinstance(raw, dict):
        raise DataError([f"{label} line 1, key -: expected a mapping of keys"])
    problems = []
    for k, v in raw.items():
        if k not in TOP_KEYS:
            problems.append(f"{label} key {k}: unknown key; allowed: {', '.join(TOP_KEYS)}")
        elif v is not None and not isinstance(v, TOP_KEYS[k]) or isinstance(v, bool):
            problems.append(f"{label} key {k}: {v!r} has the wrong type")
    schema = raw.get("schema")
    if schema != SCHEMA_VERSION:
        problems.append(f"{label} key schema: {schema!r} is not a supported schema version "
                        f"(this toolkit reads schema {SCHEMA_VERSION})")
    if not raw.get("district"):
        problems.append(f"{label} key district: the district path is missing")
    solver = raw.get("solver", "highs")
    if solver not in ("highs", "cbc"):
        problems.append(f'{label} key solver: "{solver}" is not one of highs, cbc')
    sections = {}
    for sec, allowed in (("consolidation", CONSOLIDATION_KEYS), ("rotation", ROTATION_KEYS),
                         ("catchments", CATCHMENT_KEYS)):
        v = raw.get(sec)
        if v is None:
            sections[sec] = None if sec not in raw else {}
            continue
        if not isinstance(v, dict):
            continue
        for k in v:
            if k not in allowed:
                problems.append(f"{label} key {sec}.{k}: unknown key; allowed: {', '.join(allowed)}")
        sections[sec] = dict(v)
    cons = sections.get("consolidation")
    if cons is not None:
        mode = cons.get("mode", "plan")
        if mode not in ("plan", "optimise"):
            problems.append(f'{label} key consolidation.mode: "{mode}" is not one of plan, optimise')
        if mode == "plan" and not cons.get("closures"):
            problems.append(f"{label} key consolidation.closures: plan mode needs a closures "
                            f"file or list")
        if isinstance(cons.get("closures"), str):
            cons["closures"] = (path.parent / cons["closures"]).resolve()
            if not cons["closures"].exists():
                problems.append(f"{label} key consolidation.closures: {cons['closures'].name} "
                                f"does not exist")
    cat = sections.get("catchments")
    if cat is not None:
        stages = cat.get("stages", ["primary", "junior"])
        if isinstance(stages, str):
            stages = [stages]
        if not isinstance(stages, list):
            problems.append(f"{label} key catchments.stages: {stages!r} is not a list of stages")
            stages = []
        bad = [s for s in stages if s not in ("primary", "junior")]
        if bad:
            problems.append(f"{label} key catchments.stages: {bad[0]!r} is not one of primary, junior")
        cat["stages"] = list(stages)
    problems += _value_problems(label, raw, sections, path)
    if problems:
        raise DataError(problems)
    district = (path.parent / raw["district"]).resolve()
    return Scenario(path=path, name=str(raw.get("name") or path.stem), district=district,
                    solver=solver, time_limit=float(raw.get("time_limit", 60)),
                    seed=int(raw.get("seed", 0)), consolidation=sections.get("consolidation"),
                    rotation=sections.get("rotation"), catchments=sections.get("catchments"),
                    raw=raw)


def input_hash(scenario: Scenario) -> str:
    """SHA-256 over the scenario file, the closures file and the district's files
    (names and bytes, in sorted order)."""
    h = hashlib.sha256()
    files = [scenario.path]
    c = (scenario.consolidation or {}).get("closures")
    if isinstance(c, Path):
        files.append(c)
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
    out: Path
    before: Any            # indicators.Report
    after: Any
    consolidation: Any = None
    rotation: Any = None
    catchments: list = field(default_factory=list)
    verification: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)


class _Progress:
    """One line per step on stderr, with elapsed seconds (kept out of the files)."""

    def __init__(self, quiet: bool = False):
        import time
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.quiet = quiet
        self.timings: dict[str, float] = {}

    def step(self, name: str, label: str) -> None:
        import sys
        import time
        now = time.perf_counter()
        self.timings[name] = round(now - self.last, 3)
        self.last = now
        if not self.quiet:
            print(f"[{now - self.t0:6.1f} s] {label}", file=sys.stderr, flush=True)


STEP_LABELS = {
    "zh": {"load": "读取区县数据", "before": "方案前指标核查", "consolidation": "撤并与校车线路",
           "rotation": "教师交流轮岗", "catchments": "划片", "after": "方案后指标核查",
           "verify": "独立校验", "write": "写出地图、报告与工作簿"},
    "en": {"load": "loading the district", "before": "baseline indicator check",
           "consolidation": "consolidation and bus routes", "rotation": "teacher rotation",
           "catchments": "catchment zones", "after": "indicator check after the plans",
           "verify": "independent verification", "write": "writing map, report and workbook"},
}


def run_scenario(scenario: Scenario, out: str | Path, lang: str = "zh",
                 quiet: bool = False, anonymise: bool = False) -> RunResult:
    """Baseline check → consolidation → rotation on the consolidated district →
    catchments → check again → verify → files.

    Everything is written into a hidden staging folder beside ``out`` that is
    renamed to ``out`` only when complete: a run that is killed or fails leaves
    no half-written output folder (an earlier complete run in ``out`` is
    replaced only at the end)."""
    import shutil

    from planner.io.export import check_out_dir
    from planner.io.load import load_district
    district = load_district(scenario.district)
    if anonymise:
        from planner.core.district import anonymise as _anon
        district = _anon(district)
    final = Path(out).resolve()
    if final.exists() and any(final.iterdir()) and not (final / "scenario.json").exists():
        from planner.io.export import OutputError
        raise OutputError(f"--out {final}: the folder exists and is not a planner run folder; "
                          f"choose a new or empty folder")
    check_out_dir(final.parent / f".{final.name}.partial", district.path)
    stage = final.parent / f".{final.name}.partial"
    try:
        res = _run(scenario, district, stage, lang, quiet)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    check_out_dir(final, district.path)
    old = final.parent / f".{final.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    final.rename(old)
    stage.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    res.out = final
    return res


def _run(scenario: Scenario, district, out: Path, lang: str, quiet: bool) -> RunResult:
    from planner.plans import catchments as cat
    from planner.plans import rotation as rot
    from planner.io.export import write_json
    from planner.indicators.engine import check

    lab = STEP_LABELS[lang]
    prog = _Progress(quiet)
    prog.step("load", lab["load"])
    before = check(district)
    prog.step("before", lab["before"])
    res = RunResult(out=out, before=before, after=None)
    current = district

    if scenario.consolidation is not None:
        from planner.core.params import ConsolidationParams, SolveParams
        from planner.plans import consolidation as con
        c = scenario.consolidation
        params = c if isinstance(c, ConsolidationParams) else ConsolidationParams.from_dict(
            c, scenario.path.name, "consolidation.")
        solve = SolveParams(solver=scenario.solver, time_limit=scenario.time_limit,
                            seed=scenario.seed)
        res.consolidation = con.consolidate(current, params, solve)
        if res.consolidation.status.has_plan:
            current = res.consolidation.district_after
        (out / "consolidation").mkdir(exist_ok=True)
        from planner.outputs import consolidation as con_out
        con_out.write_files(res.consolidation, out / "consolidation", lang)
        prog.step("consolidation", lab["consolidation"])

    rotation_counts = None
    if scenario.rotation is not None:
        r = scenario.rotation
        from planner.core.params import RotationParams, SolveParams
        res.rotation = rot.rotate(
            current, r if isinstance(r, RotationParams)
            else RotationParams.from_dict(r, scenario.path.name, "rotation."),
            SolveParams(solver=scenario.solver, time_limit=scenario.time_limit,
                        seed=scenario.seed))
        (out / "rotation").mkdir(exist_ok=True)
        from planner.outputs import rotation as rot_out
        rot_out.write_files(res.rotation, out / "rotation", lang)
        s = res.rotation.summary
        rotation_counts = {"eligible": s["eligible"], "rotated": s["rotated"],
                           "backbone_rotated": s["backbone_rotated"]}
        if res.rotation.result.status in ("optimal", "feasible"):
            current = res.rotation.district_after
        prog.step("rotation", lab["rotation"])

    catchment_shares = None
    if scenario.catchments is not None:
        from planner.core.params import CatchmentParams, SolveParams
        k = scenario.catchments
        params = k if isinstance(k, CatchmentParams) else CatchmentParams.from_dict(
            k, scenario.path.name, "catchments.")
        res.catchments = cat.catchment_plan(
            current, params, SolveParams(solver=scenario.solver, time_limit=scenario.time_limit))
        (out / "catchments").mkdir(exist_ok=True)
        from planner.outputs import catchments as cat_out
        cat_out.write_files(res.catchments, out / "catchments", lang)
        catchment_shares = cat.share_for_indicator_21(res.catchments)
        prog.step("catchments", lab["catchments"])

    res.after = check(current, rotation=rotation_counts, catchments=catchment_shares)
    prog.step("after", lab["after"])

    from planner.verify import verify_outcomes
    res.verification = verify_outcomes(district, res)
    prog.step("verify", lab["verify"])

    meta = {"scenario": scenario.resolved(), "input_sha256": input_hash(scenario),
            "toolkit_version": _version()}
    write_json(meta, out / "scenario.json")
    before_d = before.to_dict()
    after_d = res.after.to_dict()
    before_d["scenario"] = after_d["scenario"] = meta
    write_json(before_d, out / "indicators_before.json")
    write_json(after_d, out / "indicators_after.json")
    from planner.outputs.run import _write_views, figures
    _write_views(district, current, res, scenario, meta, lang)
    res.figures = figures(res)
    write_json(res.figures, out / "figures.json")
    prog.step("write", lab["write"])
    res.timings = prog.timings
    write_json({"seconds": prog.timings,
                "note": "wall-clock times; every other file is identical run to run"},
               out / "timings.json")
    return res


def _version() -> str:
    from planner import __version__
    return __version__


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


