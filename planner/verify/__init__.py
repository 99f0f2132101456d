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
"""

from __future__ import annotations

from pathlib import Path

from planner.core.district import District
from planner.core.params import CatchmentParams, ConsolidationParams, RotationParams
from planner.verify.catchments import verify_catchments
from planner.verify.consolidation import params_of_folder, verify_consolidation
from planner.verify.remediation import verify_remediation
from planner.verify.rotation import verify_rotation

__all__ = [
    "verify_catchments",
    "verify_consolidation",
    "verify_dir",
    "verify_outcomes",
    "verify_remediation",
    "verify_rotation",
]


def verify_dir(out: Path, district: District, scenario: dict | None = None) -> list[str]:
    """Re-check every plan found in ``out`` (a run folder or one plan's folder)."""
    out = Path(out)
    scenario = scenario or {}
    errs: list[str] = []
    for sub in (out / "rotation", out):
        if (sub / "rotation.csv").exists():
            params = RotationParams.from_dict(scenario.get("rotation"), "scenario.json",
                                              "rotation.")
            errs += verify_rotation(district, sub, params, district.rules)
            break
    for sub in (out / "consolidation", out):
        if (sub / "assignments.csv").exists():
            sec = scenario.get("consolidation")
            params = (ConsolidationParams.from_dict(sec, "scenario.json", "consolidation.")
                      if sec else params_of_folder(sub))
            errs += verify_consolidation(district, sub, params, district.rules)
            break
    for sub in (out / "catchments", out):
        if (sub / "units.csv").exists() and (sub / "catchments.geojson").exists():
            cat = scenario.get("catchments")
            params = (cat if isinstance(cat, CatchmentParams) else
                      CatchmentParams.from_dict(cat, "scenario.json", "catchments.")
                      if isinstance(cat, dict) else None)
            errs += verify_catchments(district, sub, params)
            break
    for sub in (out / "remediation", out):
        if (sub / "remediation.csv").exists():
            errs += verify_remediation(district, sub, district.rules)
            break
    return errs


def verify_outcomes(district: District, res) -> list[str]:
    """The runner's call: verify the plans just written, each against the district
    it was made on (rotation after consolidation, catchments after both)."""
    errs = []
    if res.consolidation is not None:
        errs += verify_consolidation(district, res.out / "consolidation",
                                     res.consolidation.params, res.consolidation.rules)
    base = district
    if res.consolidation is not None and res.consolidation.status.has_plan:
        base = res.consolidation.district_after
    if res.rotation is not None:
        errs += verify_rotation(base, res.out / "rotation", res.rotation.params, base.rules)
    if res.catchments:
        after = res.rotation.district_after if res.rotation is not None and \
            res.rotation.status.has_plan else base
        errs += verify_catchments(after, res.out / "catchments", res.catchments[0].params)
    if getattr(res, "remediation", None) is not None:
        # made on the district after consolidation and rotation (catchments change none)
        after = res.rotation.district_after if res.rotation is not None and \
            res.rotation.status.has_plan else base
        errs += verify_remediation(after, res.out / "remediation", after.rules)
    return errs


