"""Catchment plan: what a planner reads (console summary)."""

from __future__ import annotations

from planner.plans.catchments import STAGE_ZH, CatchmentOutcome


def render_summary(o: CatchmentOutcome, lang: str = "zh") -> str:
    s = o.summary
    if lang == "zh":
        lines = [f"{STAGE_ZH[o.stage]}划片：{s['units']} 个居住单元，{s['schools']} 所学校，"
                 f"最大负荷 {s['max_load_ratio']}，片区连通 {'是' if s['contiguous'] else '否'}，"
                 f"状态 {s['status']}，差距 {s['gap']}"]
    else:
        lines = [f"{o.stage} catchments: {s['units']} units, {s['schools']} schools, "
                 f"max load {s['max_load_ratio']}, contiguous {s['contiguous']}, "
                 f"status {s['status']}, gap {s['gap']}"]
    for sf in s["shortfalls"]:
        lines.append(str(sf.get("reason", sf)))
    if o.violations:
        lines.append("; ".join(o.violations))
    return "\n".join(lines)
