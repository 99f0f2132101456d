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
    limit; a receiver's classes (⌈pupils / 45 or 50⌉ per stage) fit its classrooms
    and its size stays ≤ 2000 (≤ 2500 for nine- and twelve-year schools).
catchments
    every unit is in exactly one zone per stage, no zone exceeds its school's seats
    (classrooms × 45 / 50, shared by stage in proportion to classes), and every zone
    is connected on the cells' shared-edge adjacency (networkx).
"""

from __future__ import annotations

from pathlib import Path

from models.status import Status
from planner.core.district import District
from planner.verify.catchments import verify_catchments
from planner.verify.consolidation import verify_consolidation
from planner.verify.rotation import verify_rotation

__all__ = ["verify_dir", "verify_outcomes", "verify_rotation", "verify_consolidation",
           "verify_catchments"]


def verify_dir(out: Path, district: District, scenario: dict | None = None) -> list[str]:
    """Re-check every plan found in ``out`` (a run folder or one plan's folder)."""
    out = Path(out)
    scenario = scenario or {}
    errs: list[str] = []
    for sub in (out / "rotation", out):
        if (sub / "rotation.csv").exists():
            errs += verify_rotation(district, sub, scenario.get("rotation") or {})
            break
    for sub in (out / "consolidation", out):
        if (sub / "assignments.csv").exists():
            errs += verify_consolidation(district, sub, scenario.get("consolidation") or {})
            break
    for sub in (out / "catchments", out):
        if (sub / "units.csv").exists() and (sub / "catchments.geojson").exists():
            errs += verify_catchments(district, sub)
            break
    return errs


def _has_plan(outcome) -> bool:
    st = getattr(outcome, "status", None)
    st = outcome.result.status if st is None else st
    try:
        return Status(str(st)).has_plan
    except ValueError:
        return False


def verify_outcomes(district: District, res) -> list[str]:
    """The runner's call: verify the plans just written, each against the district
    it was made on (rotation after consolidation, catchments after both)."""
    errs = []
    scen = {}
    if res.consolidation is not None:
        s = res.consolidation.settings
        scen = {"bus_capacity": s.bus_capacity, "max_ride_min": s.max_ride_min}
        errs += verify_consolidation(district, res.out / "consolidation", scen)
    base = district
    if res.consolidation is not None and _has_plan(res.consolidation):
        base = res.consolidation.district_after
    if res.rotation is not None:
        st = res.rotation.problem.settings
        errs += verify_rotation(base, res.out / "rotation",
                                {"share": st.share, "backbone_share": st.backbone_share,
                                 "backbone_base": st.backbone_base, "band": st.band,
                                 "max_send_share": st.max_send_share})
    if res.catchments:
        after = res.rotation.district_after if res.rotation is not None and \
            _has_plan(res.rotation) else base
        errs += verify_catchments(after, res.out / "catchments")
    return errs


