"""Teacher rotation for a district: ``planner rotate`` and the scenario step.

The district's roster becomes a :class:`models.rotation.RotationProblem`:

- every rostered teacher of a public, non-special school enters the model with the
  derived flags of :mod:`planner.district` (qualified, backbone, PE/art,
  eligible under the district's ``rotation_min_years`` / ``rotation_max_age``);
  private and special-education schools take no part in the county rotation;
- pupils per school part are the school table's; floors are the standard's
  thresholds of indicators 1–3;
- travel between schools is the road time in minutes where the district has
  roads, else the straight-line distance in km.

The plan is then re-checked by :func:`models.rotation.verify_rotation` and by the
indicator engine (CVs of 1–3 before and after).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models import rotation as rm

from planner.core.district import District, school_stages
from planner.io.export import mask_id_number, write_csv, write_json, write_xlsx

AREA_ZH = {"urban": "城区", "town": "镇区", "rural": "乡村"}
DIRECTION_ZH = {"urban": "城镇", "town": "城镇", "rural": "乡村"}
REASON_EN = {"pe_art": "add PE/art teachers", "backbone": "backbone teacher supports a weak school",
             "qualified": "add teachers above the required degree",
             "quota": "meet the rotation share"}
BACKBONE_ZH = {"none": "无", "county": "县级", "city": "市级", "province": "省级", "national": "国家级"}
DEGREE_ZH = {"secondary": "中专及以下", "associate": "大专", "bachelor": "本科", "postgraduate": "研究生"}
STAGE_ZH = {"primary": "小学", "junior": "初中"}

ROTATION_HEADERS_ZH = {
    "teacher_id": "教师编号", "name": "姓名", "stage": "任教学段", "subject": "任教学科",
    "degree": "最高学历", "backbone": "骨干教师级别", "from_school_id": "原学校代码",
    "from_school": "原学校", "to_school_id": "交流学校代码", "to_school": "交流学校",
    "direction": "交流方向", "reason": "交流原因", "id_number": "身份证号（已脱敏）",
}


@dataclass
class RotationOutcome:
    result: rm.RotationResult
    problem: rm.RotationProblem
    table: pd.DataFrame            # rotation.csv rows
    district_after: District
    summary: dict
    violations: list[str]


def floors_from_standard(standard: str) -> dict[str, tuple[float, float, float]]:
    """Thresholds of indicators 1–3 per stage from the standard file, else rules.md's."""
    try:
        from planner.indicators.engine import load_standard
        std = load_standard(standard)
        out = {}
        for st in ("primary", "junior"):
            out[st] = tuple(float(_threshold(std, k, st)) for k in (1, 2, 3))
        return out
    except (KeyError, ValueError):  # the standard file lacks them: rules.md's
        return dict(rm.DEFAULT_FLOORS)


def _threshold(std, k: int, stage: str) -> float:
    return std.indicator(k)["threshold"][stage]


def travel_costs(district: District, school_ids: list[str]) -> tuple[dict, str]:
    """(school pair -> cost, unit): road minutes where roads exist, else km."""
    s = district.schools.set_index("school_id").loc[school_ids]
    lon, lat = s["lon"].to_numpy(float), s["lat"].to_numpy(float)
    mat, unit = None, "km"
    if district.roads is not None and len(district.roads):
        try:
            from geodata.roads import travel_matrix
            net = district.road_network()
            snapped = net.snap(list(zip(lon, lat)), ids=school_ids)
            mat = travel_matrix(net, snapped, snapped, weight="time_s") / 60.0
            unit = "min"
            if not np.isfinite(mat).all():
                mat = None
        except Exception:
            mat = None
    if mat is None:
        unit = "km"
        from geodata.roads import utm_crs
        from pyproj import Transformer
        tr = Transformer.from_crs(4326, utm_crs(float(np.mean(lon)), float(np.mean(lat))),
                                  always_xy=True)
        x, y = tr.transform(lon, lat)
        mat = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) / 1000.0
    out = {}
    for i, a in enumerate(school_ids):
        for j, b in enumerate(school_ids):
            if i != j:
                out[(a, b)] = round(float(mat[i, j]), 3)
    return out, unit


def build_problem(district: District, settings: rm.RotationSettings | None = None,
                  travel: bool = True) -> rm.RotationProblem:
    s = district.schools
    if district.teachers is None:
        raise ValueError("the district has no teacher roster (teachers.csv): rotation needs one")
    in_scope = s[(s["public"].fillna(True).astype(bool)) & (s["type"] != "special")]
    ids = list(in_scope["school_id"])
    schools = []
    for row in in_scope.itertuples(index=False):
        stages = school_stages(row)
        quota = None if pd.isna(row.staff_quota) else int(row.staff_quota)
        schools.append(rm.School(id=row.school_id, stages=frozenset(stages),
                                 pupils={st: int(getattr(row, f"students_{st}")) for st in stages},
                                 area_type=row.area_type, lon=float(row.lon), lat=float(row.lat),
                                 staff_quota=quota))
    t = district.teachers[district.teachers["school_id"].isin(ids)]
    teachers = [rm.Teacher(id=r.teacher_id, school_id=r.school_id, stage=r.stage,
                           subject=str(r.subject), qualified=bool(r.qualified),
                           backbone=bool(r.is_backbone), pe_art=bool(r.pe_art),
                           eligible=bool(r.eligible), name=str(r.name),
                           years_at_school=int(r.years_at_school) if pd.notna(r.years_at_school) else 0)
                for r in t.itertuples(index=False)]
    settings = settings or rm.RotationSettings(floors=floors_from_standard(district.standard))
    cost = travel_costs(district, ids)[0] if travel else None
    return rm.RotationProblem(teachers=teachers, schools=schools, settings=settings, travel=cost)


def rotate(district: District, share: float = 0.10, backbone_share: float = 0.20,
           backbone_base: str | None = None, band: float = 0.10, max_send_share: float = 0.30,
           direction_rule: bool = False, solver: str = "highs",
           time_limit: float | None = 60.0, lang: str = "zh") -> RotationOutcome:
    settings = rm.RotationSettings(share=share, backbone_share=backbone_share,
                                   backbone_base=backbone_base or district.settings.backbone_base, band=band,
                                   max_send_share=max_send_share, direction_rule=direction_rule,
                                   floors=floors_from_standard(district.standard))
    problem = build_problem(district, settings)
    result = rm.solve(problem, solver=solver, time_limit=time_limit)
    violations = rm.verify_rotation(problem, result.moves)
    table = rotation_table(district, result, lang)
    after = apply_moves(district, result.moves)
    summary = rotation_summary(district, after, result, problem)
    summary["verified"] = not violations
    summary["violations"] = violations
    return RotationOutcome(result, problem, table, after, summary, violations)


def apply_moves(district: District, moves) -> District:
    """The district after the plan: movers belong to their new school (0 years there)."""
    t = district.teachers.copy()
    idx = {tid: i for i, tid in enumerate(t["teacher_id"])}
    for m in moves:
        i = t.index[idx[m.teacher_id]]
        t.at[i, "school_id"] = m.to_school
        t.at[i, "years_at_school"] = 0.0
    from planner.core.district import derive_teacher_flags
    return district.with_schools(district.schools, derive_teacher_flags(
        t.drop(columns=["qualified", "is_backbone", "pe_art", "eligible"]), district.settings))


def rotation_table(district: District, result: rm.RotationResult, lang: str = "zh") -> pd.DataFrame:
    names = district.school_names()
    area = dict(zip(district.schools["school_id"], district.schools["area_type"]))
    t = district.teachers.set_index("teacher_id")
    rows = []
    for m in result.moves:
        r = t.loc[m.teacher_id]
        a, b = area[m.from_school], area[m.to_school]
        if lang == "zh":
            direction = f"{DIRECTION_ZH[a]}→{DIRECTION_ZH[b]}"
            reason = rm.REASONS.get(m.reason, m.reason)
        else:
            en = {"urban": "town", "town": "town", "rural": "village"}
            direction = f"{en[a]}→{en[b]}"
            reason = REASON_EN.get(m.reason, m.reason)
        rows.append({"teacher_id": m.teacher_id, "name": r["name"], "stage": m.stage,
                     "subject": m.subject, "degree": r["degree"], "backbone": r["backbone"],
                     "from_school_id": m.from_school, "from_school": names[m.from_school],
                     "to_school_id": m.to_school, "to_school": names[m.to_school],
                     "direction": direction, "reason": reason})
    cols = [c for c in ROTATION_HEADERS_ZH if c != "id_number"]
    out = pd.DataFrame(rows, columns=cols)
    ids = t["id_number"] if "id_number" in t.columns else None
    if ids is not None and (ids.astype(str).str.strip() != "").any():
        # identity numbers are never written in full
        out["id_number"] = [mask_id_number(ids.get(x, "")) for x in out["teacher_id"]]
    return out


def _cv13(report) -> dict:
    d = report.to_dict() if hasattr(report, "to_dict") else report
    out = {}
    for ind in d["indicators"]:
        if ind["id"] in (1, 2, 3):
            out[str(ind["id"])] = ind.get("cv")
    return out


def rotation_summary(before: District, after: District, result: rm.RotationResult,
                     problem: rm.RotationProblem) -> dict:
    from planner.indicators.engine import check
    rb, ra = check(before), check(after)
    counts = dict(result.counts)
    parts = []
    floors = problem.settings.floors
    met_before = met_after = 0
    for p in result.parts:
        f = floors[p.stage]
        ok_b = all(v + 1e-9 >= fl for v, fl in zip(p.before, f))
        ok_a = all(v + 1e-9 >= fl for v, fl in zip(p.after, f))
        met_before += ok_b
        met_after += ok_a
        parts.append({"school_id": p.school_id, "stage": p.stage, "pupils": p.pupils,
                      "before": [round(v, 4) for v in p.before],
                      "after": [round(v, 4) for v in p.after],
                      "floors_met_before": ok_b, "floors_met_after": ok_a})
    return {
        "status": result.status,
        "objective": {k: round(v, 6) for k, v in result.objective.items()},
        "gap": result.gap, "solve_seconds": round(result.seconds, 3), "solver": result.solver,
        "eligible": counts.get("eligible"), "required": counts.get("required_movers"),
        "rotated": counts.get("rotated"), "backbone_rotated": counts.get("backbone_rotated"),
        "cv_before": _cv13(rb), "cv_after": _cv13(ra),
        "floors_met_before": met_before, "floors_met_after": met_after,
        "school_parts": len(parts),
        "messages": list(result.messages),
        "shortfalls": [{"rule": s.rule, "required": s.required, "achieved": s.achieved,
                        "short": s.short, "text": s.text} for s in result.shortfalls],
        "parts": parts,
    }


def write_outputs(outcome: RotationOutcome, out: Path, lang: str = "zh") -> list[Path]:
    table = outcome.table
    files = [write_csv(table, out / "rotation.csv")]
    x = table.copy()
    if lang == "zh":
        x["stage"] = x["stage"].map(STAGE_ZH)
        x["degree"] = x["degree"].map(DEGREE_ZH).fillna(x["degree"])
        x["backbone"] = x["backbone"].map(BACKBONE_ZH).fillna(x["backbone"])
        x = x.rename(columns=ROTATION_HEADERS_ZH)
    files.append(write_xlsx({"交流轮岗名单" if lang == "zh" else "rotation": x},
                            out / "rotation.xlsx"))
    files.append(write_json(outcome.summary, out / "summary.json"))
    return files


def flows(outcome: RotationOutcome) -> list[dict]:
    """Teachers moving between each pair of schools (for the map)."""
    c: dict[tuple[str, str], int] = {}
    for m in outcome.result.moves:
        c[(m.from_school, m.to_school)] = c.get((m.from_school, m.to_school), 0) + 1
    return [{"from_school_id": a, "to_school_id": b, "teachers": n} for (a, b), n in sorted(c.items())]


# ------------------------------------------------------------------ command line


__all__ = ["rotate", "build_problem", "apply_moves", "write_outputs", "flows",
           "RotationOutcome", "mask_id_number"]
