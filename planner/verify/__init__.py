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
    limit; a receiver's classes (⌈pupils / the standard's class cap⌉ per stage) fit its
    classrooms and its size stays within the standard's limit for its type (the
    ride limit and capacity: the scenario's, else those in the folder's summary.json).
catchments
    every unit is in exactly one zone per stage, no zone exceeds its school's seats
    (classrooms × the standard's class-size limit, shared by stage in proportion to
    classes), and every zone is connected on the cells' shared-edge adjacency
    (networkx).
remediation
    every row's cost, the totals, the district after as exactly the rows applied, and
    every school-level A indicator of the district after by the indicator engine
    (:mod:`planner.verify.remediation`).

A run folder (``planner run``: ``scenario.json`` beside ``consolidation/``,
``rotation/``, ``catchments/``) is verified plan by plan, each against the district it
was made on, rebuilt from the files alone (:func:`district_after_files`): rotation on
the district after the consolidation, catchments and remediation on the district
after both.
Paths are resolved against the run's ``scenario.json`` (:func:`resolve_run`): the run
records the district and the closures file relative to the run folder (``paths``;
:func:`recorded_paths`), or absolute; an older run's working-folder path is tried
next. Every problem names its plan folder and file (``rotation/rotation.csv: ...``).

The verifiers return :class:`~planner.verify.problems.Problem` (a catalogue key and
its fields, worded by :func:`planner.outputs.verification.problem_text`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.core.district import District, derive_teacher_flags, repoint_parents
from planner.core.errors import PlanInputError
from planner.core.params import CatchmentParams, ConsolidationParams, RotationParams
from planner.verify.catchments import verify_catchments
from planner.verify.consolidation import params_of_folder, verify_consolidation
from planner.verify.files import PlanFileError, _rows, _unescape
from planner.verify.problems import Problem
from planner.verify.remediation import verify_remediation
from planner.verify.rotation import verify_rotation

__all__ = [
    "PlanFileError",
    "Problem",
    "RunFolder",
    "district_after_files",
    "recorded_paths",
    "resolve_run",
    "verify_catchments",
    "verify_consolidation",
    "verify_dir",
    "verify_outcomes",
    "verify_remediation",
    "verify_rotation",
]

#: the plans of a run, in run order: (key, sub-folder, the file that marks the plan)
PLANS = (("consolidation", "consolidation", "assignments.csv"),
         ("rotation", "rotation", "rotation.csv"),
         ("catchments", "catchments", "units.csv"))


def recorded_paths(scenario, run_dir: Path) -> dict:
    """The district (and closures file) of a scenario as a run records them in
    ``scenario.json`` (``paths``): relative to the run folder, POSIX style, so the run
    verifies from any working folder and still does when the run folder and the
    district move together. ``run_dir`` may be the run's staging folder (inside the
    final folder, see :mod:`planner.io.export`): the path is relative to the folder the
    files will be in."""
    from planner.io.export import final_path
    run_dir = final_path(run_dir)
    out = {"district": _relative(scenario.district, run_dir)}
    c = scenario.consolidation.closures if scenario.consolidation is not None else None
    if isinstance(c, Path):
        out["closures"] = _relative(c, run_dir)
    return out


def _relative(p: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(Path(p).resolve(), Path(start).resolve())).as_posix()
    except ValueError:                   # another drive (Windows): absolute
        return Path(p).resolve().as_posix()


@dataclass
class RunFolder:
    """What ``scenario.json`` of a folder says: the resolved scenario sections (empty
    for a single plan's folder), the district and closures paths found (``None`` when
    not recorded or not found), and the paths tried."""

    folder: Path
    scenario: dict = field(default_factory=dict)
    district: Path | None = None
    closures: Path | None = None
    tried: list[str] = field(default_factory=list)

    @property
    def is_run(self) -> bool:
        return any(self.scenario.get(k) is not None for k, _, _ in PLANS)


def resolve_run(folder: str | Path) -> RunFolder:
    """Read ``folder/scenario.json`` (when there is one) and find the district it was
    made on: the recorded ``paths.district`` (relative to the folder, or absolute), then
    the scenario's ``district`` as recorded (relative to the folder, then to the working
    folder, then absolute). A ``scenario.json`` that cannot be read is a
    :class:`PlanInputError` naming it."""
    folder = Path(folder)
    meta_path = folder / "scenario.json"
    run = RunFolder(folder)
    if not meta_path.exists():
        return run
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        run.scenario = dict(meta.get("scenario") or {})
        paths = dict(meta.get("paths") or {})
    except (OSError, ValueError, AttributeError, TypeError) as e:
        raise PlanInputError(f"{meta_path}: not a run's scenario.json ({e})") from None

    def find(recorded: str | None, legacy: str | None) -> Path | None:
        cands = []
        if recorded:
            cands.append(Path(recorded) if Path(recorded).is_absolute()
                         else folder / recorded)
        if legacy:
            lp = Path(legacy)
            cands += [lp] if lp.is_absolute() else [folder / lp, Path.cwd() / lp]
        for c in cands:
            run.tried.append(str(c))
            if c.exists():
                return c.resolve()
        return None
    run.district = find(paths.get("district"), run.scenario.get("district"))
    cons = run.scenario.get("consolidation") or {}
    closures = cons.get("closures") if isinstance(cons, dict) else None
    if paths.get("closures") or isinstance(closures, str):
        run.closures = find(paths.get("closures"),
                            closures if isinstance(closures, str) else None)
    return run


def _located(prefix: str, sub: str, errs: list[Problem]) -> list[Problem]:
    """Problems relocated under ``prefix`` (``rotation/rotation.csv``); one that names
    no file is put at its plan's marker file."""
    mark = {s: m for _, s, m in PLANS}[sub]
    return [(e if e.where else Problem(e.key, e.fields, mark)).at(prefix) for e in errs]


def district_after_files(district: District, folder: Path, kind: str) -> District:
    """The district after a plan, rebuilt from the plan's files alone (no model object),
    as the plan's own ``district_after`` is made:

    consolidation (``assignments.csv``, ``redeployment.csv``)
        the closed schools removed; each receiver gains its pupils by stage and the
        classes they need (new pupils fill the free seats of the existing classes up to
        the standard's class cap, then open classes: the verifier's reading); the closed
        schools' quota, funds and equipment (``FOLLOWS_PUPILS``) shared among their
        receivers in proportion to the pupils each takes; redeployed teachers at their
        new school with 0 years there; the other teachers of a closed school leave the
        roster. A receiver's largest class is the one its ``summary.json`` records after
        the merge (``receivers.<id>.after.13.max_class``), else as it was.
    rotation (``rotation.csv``)
        each mover at the new school with 0 years there.
    catchments (``summary.json``)
        each stage with a plan at full turnover: a zoned school's pupils, classes and
        largest class as ``<stage>.schools_after`` records them, the pupil-following
        columns scaled as the plan does (:func:`planner.plans.catchments.district_after`).
    """
    from planner.plans.consolidation import FOLLOWS_PUPILS
    folder = Path(folder)
    if kind == "catchments":
        from models.status import Status
        from planner.plans.catchments import district_at_turnover
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return district
        after = {}
        for st in district.rules.stages:
            sec = summary.get(st) if isinstance(summary, dict) else None
            if not isinstance(sec, dict) or sec.get("status") not in {x.value for x in Status} \
                    or not Status(sec["status"]).has_plan or sec.get("closest"):
                continue
            after[st] = {str(x["school_id"]): (int(x["pupils"]), int(x["classes"]),
                                               int(x["max_class"]))
                         for x in sec.get("schools_after") or []}
        return district_at_turnover(district, after)
    if kind == "rotation":
        if district.teachers is None:
            return district
        t = district.teachers.copy()
        dest = {_unescape(r["teacher_id"]): r["to_school_id"]
                for r in _rows(folder / "rotation.csv")}
        ids = t["teacher_id"].astype(str)
        moving = ids.isin(list(dest))
        t.loc[moving, "school_id"] = ids[moving].map(dest)
        if "years_at_school" in t.columns:
            t.loc[moving, "years_at_school"] = 0.0
        t = t.drop(columns=[c for c in ("qualified", "is_backbone", "pe_art", "eligible")
                            if c in t.columns])
        return district.with_schools(district.schools, derive_teacher_flags(t, district.settings))
    rules = district.rules
    s = district.schools.copy()
    idx = {sid: k for k, sid in zip(s.index, s["school_id"])}
    rows = _rows(folder / "assignments.csv")
    for col in FOLLOWS_PUPILS:
        if col in s.columns:
            s[col] = s[col].astype(float)
    added: dict[tuple[str, str], int] = {}
    for r in rows:
        frm, to, st, n = r["school_id"], r["receiving_school_id"], r["stage"], int(r["pupils"])
        if frm not in idx or to not in idx:
            continue
        kf, kt = idx[frm], idx[to]
        total = int(s.loc[kf, "students_primary"] + s.loc[kf, "students_junior"])
        if total > 0:
            for col in FOLLOWS_PUPILS:
                if col in s.columns:
                    v, have = s.loc[kf, col], s.loc[kt, col]
                    if pd.notna(v) and pd.notna(have):
                        s.loc[kt, col] = round(float(have) + float(v) * n / total, 2)
        added[(to, st)] = added.get((to, st), 0) + n
    for (to, st), n in added.items():
        k = idx[to]
        have, c = int(s.loc[k, f"students_{st}"]), int(s.loc[k, f"classes_{st}"])
        cap = rules.max_class[st]
        spill = n - max(0, c * cap - have)
        s.loc[k, f"students_{st}"] = have + n
        s.loc[k, f"classes_{st}"] = c + (math.ceil(spill / cap) if spill > 0 else 0)
    summary = folder / "summary.json"
    receivers = {}
    if summary.exists():
        try:
            receivers = dict(json.loads(summary.read_text(encoding="utf-8")).get("receivers")
                             or {})
        except (OSError, ValueError, AttributeError, TypeError):
            receivers = {}
    for rid, rec in receivers.items():
        after = rec.get("after", {}) if isinstance(rec, dict) else {}
        for st, mc in ((after.get("13") or {}).get("max_class") or {}).items():
            if rid in idx and f"max_class_{st}" in s.columns and isinstance(mc, int):
                s.loc[idx[rid], f"max_class_{st}"] = mc
    closed = {r["school_id"] for r in rows}
    s = s[~s["school_id"].isin(closed)].reset_index(drop=True)
    s = repoint_parents(s, ((r["school_id"], r["receiving_school_id"], r["pupils"])
                            for r in rows))
    teachers = district.teachers
    if teachers is not None:
        t = teachers.copy()
        red = folder / "redeployment.csv"
        dest = {_unescape(r["teacher_id"]): r["to_school_id"] for r in _rows(red)
                if r.get("to_school_id")} if red.exists() else {}
        ids = t["teacher_id"].astype(str)
        moving = ids.isin(list(dest))
        t.loc[moving, "school_id"] = ids[moving].map(dest)
        if "years_at_school" in t.columns:
            t.loc[moving, "years_at_school"] = 0
        t = t[t["school_id"].isin(set(s["school_id"]))].reset_index(drop=True)
        teachers = derive_teacher_flags(t, district.settings)
    return district.with_schools(s, teachers)


def _params(cls, section, key: str):
    """A plan's parameters from its scenario section (as ``scenario.json`` records it)."""
    if isinstance(section, cls):
        return section
    if isinstance(section, dict):
        return cls.from_dict(section, "scenario.json", f"{key}.")
    return None


def verify_dir(out: Path, district: District, scenario: dict | None = None
               ) -> list[Problem]:
    """Re-check every plan found in ``out`` (a run folder or one plan's folder).

    A run folder (its ``scenario.json`` names plans) is checked plan by plan, each
    against the district it was made on (:func:`district_after_files`); a plan's folder
    against ``district``. Every problem names the file it is in, relative to ``out``
    (``where``: ``rotation/rotation.csv``).
    A plan file that cannot be read is a :class:`PlanFileError`."""
    out = Path(out)
    if scenario is None:
        scenario = resolve_run(out).scenario
    scenario = scenario or {}
    run = any(scenario.get(k) is not None for k, _, _ in PLANS) and \
        any((out / sub).is_dir() for _, sub, _ in PLANS)
    errs: list[Problem | str] = []
    current = district
    for key, sub, mark in PLANS:
        folder = out / sub if run or (out / sub / mark).exists() else out
        if not (folder / mark).exists() or (key == "catchments" and
                                            not (folder / "catchments.geojson").exists()):
            continue
        prefix = f"{sub}/" if folder != out else ""
        sec = scenario.get(key)
        if key == "consolidation":
            params = (_params(ConsolidationParams, sec, key) if sec
                      else params_of_folder(folder))
            found = verify_consolidation(current, folder, params, current.rules)
        elif key == "rotation":
            params = _params(RotationParams, sec, key) or RotationParams()
            found = verify_rotation(current, folder, params, current.rules)
        else:
            found = verify_catchments(current, folder,
                                      _params(CatchmentParams, sec, key))
        errs += _located(prefix, sub, found)
        if run:
            current = district_after_files(current, folder, key)
    rem = out / "remediation" if (out / "remediation" / "remediation.csv").exists() else out
    if (rem / "remediation.csv").exists():
        prefix = "remediation/" if rem != out else ""
        errs += [e.at(prefix) for e in verify_remediation(current, rem, current.rules)]
    return errs


def verify_outcomes(district: District, res) -> list[Problem | str]:
    """The runner's call: verify the plans just written, each against the district
    it was made on (rotation after consolidation, catchments after both). Every
    problem names its file in the run folder (``rotation/rotation.csv``), as
    :func:`verify_dir` does."""
    errs: list[Problem | str] = []
    if res.consolidation is not None:
        errs += [e.at("consolidation/") for e in verify_consolidation(
            district, res.out / "consolidation", res.consolidation.params,
            res.consolidation.rules)]
    base = district
    if res.consolidation is not None and res.consolidation.status.has_plan:
        base = res.consolidation.district_after
    if res.rotation is not None:
        errs += [e.at("rotation/") for e in verify_rotation(
            base, res.out / "rotation", res.rotation.params, base.rules)]
    if res.catchments:
        after = res.rotation.district_after if res.rotation is not None and \
            res.rotation.status.has_plan else base
        errs += [e.at("catchments/") for e in verify_catchments(
            after, res.out / "catchments", res.catchments[0].params)]
    if getattr(res, "remediation", None) is not None:
        # made on the district after consolidation and rotation and, with catchments,
        # at their full turnover (the runner's district; issue 16)
        after = res.rotation.district_after if res.rotation is not None and \
            res.rotation.status.has_plan else base
        if res.catchments:
            from planner.plans.catchments import district_after as zoned_after
            after = zoned_after(after, res.catchments)
        errs += [e.at("remediation/") for e in verify_remediation(
            after, res.out / "remediation", after.rules)]
    if getattr(res, "roadmap", None) is not None:
        from planner.verify.roadmap import verify_roadmap
        errs += [e.at("roadmap/") for e in verify_roadmap(res.roadmap, res.out / "roadmap")]
    return errs
