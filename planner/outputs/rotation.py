"""The rotation plan as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from planner.outputs.report import display_table, summary_figures
from planner.outputs.sections import ReportSection, Table
from planner.plans.rotation import STAGE_ZH, RotationOutcome, flows, write_outputs

#: a report shows a teacher only by name and subject
REPORT_COLUMNS = ["name", "subject", "from_school", "to_school", "direction", "reason"]


def write_files(o: RotationOutcome, out: Path, lang: str = "zh") -> list[Path]:
    return write_outputs(o, out, lang)


def console_lines(o: RotationOutcome, lang: str = "zh") -> list[str]:
    return render_summary(o, lang).splitlines()


def workbook_sheets(o: RotationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    return {("交流轮岗名单" if lang == "zh" else "rotation"): o.table}


def report_sections(o: RotationOutcome, lang: str = "zh") -> list[ReportSection]:
    return [ReportSection(key="rotation",
                          title="教师交流轮岗" if lang == "zh" else "Teacher rotation",
                          figures=summary_figures(o.summary, lang),
                          tables=(Table("", display_table(o.table[REPORT_COLUMNS], lang)),))]


def compare_figures(o: RotationOutcome) -> dict:
    s = o.summary
    return {"teachers_moved": s["rotated"], "backbone_moved": s["backbone_rotated"]}


def map_layers(o: RotationOutcome) -> dict:
    return {"rotation_flows": flows(o)}


def render_summary(o: RotationOutcome, lang: str = "zh") -> str:
    s = o.summary
    zh = lang == "zh"
    lines = [
        (f"交流轮岗：符合条件 {s['eligible']} 人，需交流 ≥ {s['required']} 人，"
         f"安排交流 {s['rotated']} 人，其中骨干 {s['backbone_rotated']} 人；状态 {s['status']}")
        if zh else
        (f"Rotation: {s['eligible']} eligible, ≥ {s['required']} must move, {s['rotated']} move, "
         f"{s['backbone_rotated']} of them backbone; status {s['status']}"),
        (f"达到指标1–3底线的学校学段：{s['floors_met_before']} → {s['floors_met_after']} / {s['school_parts']}"
         if zh else
         f"School parts meeting the floors of 1–3: {s['floors_met_before']} → "
         f"{s['floors_met_after']} of {s['school_parts']}"),
    ]
    for k in ("1", "2", "3"):
        b, a = s["cv_before"].get(k) or {}, s["cv_after"].get(k) or {}
        lines.append(("差异系数 指标" if zh else "CV indicator ") + k + ": " + ", ".join(
            f"{STAGE_ZH[st] if zh else st} {b.get(st)} → {a.get(st)}" for st in ("primary", "junior")
            if st in b or st in a))
    for m in s["messages"]:
        lines.append(m)
    for sf in s["shortfalls"]:
        lines.append(sf["text"])
    if o.violations:
        lines.append(("校验未通过：" if zh else "Verification failed: ") + "; ".join(o.violations))
    return "\n".join(lines)
