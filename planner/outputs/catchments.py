"""The catchment plan (one outcome per stage) as a planner reads it (presenter;
contract in :mod:`planner.outputs.sections`)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from planner.outputs.report import display_table, summary_figures
from planner.outputs.sections import ReportSection, Table
from planner.plans.catchments import STAGE_ZH, CatchmentOutcome, write_outputs


def write_files(outcomes: list[CatchmentOutcome], out: Path, lang: str = "zh") -> list[Path]:
    return write_outputs(outcomes, out)


def console_lines(outcomes: list[CatchmentOutcome], lang: str = "zh") -> list[str]:
    return [line for o in outcomes for line in render_summary(o, lang).splitlines()]


def workbook_sheets(outcomes: list[CatchmentOutcome], lang: str = "zh") -> dict[str, pd.DataFrame]:
    return {(("划片" if lang == "zh" else "catchments_") + o.stage): o.units for o in outcomes}


def report_sections(outcomes: list[CatchmentOutcome], lang: str = "zh") -> list[ReportSection]:
    return [ReportSection(key=f"catchments_{o.stage}",
                          title=("划片 " + STAGE_ZH[o.stage]) if lang == "zh"
                          else f"Catchments {o.stage}",
                          figures=summary_figures(o.summary, lang),
                          tables=(Table("", display_table(
                              pd.DataFrame(o.zones.drop(columns="geometry")), lang)),))
            for o in outcomes]


def compare_figures(outcomes: list[CatchmentOutcome]) -> dict:
    return {"pupils_school_changes": sum(o.summary["pupils_changed"] for o in outcomes),
            "max_load_ratio": max((o.summary["max_load_ratio"] or 0) for o in outcomes)}


def map_layers(outcomes: list[CatchmentOutcome]) -> dict:
    zones = gpd.GeoDataFrame(pd.concat([o.zones for o in outcomes], ignore_index=True),
                             geometry="geometry", crs=4326)
    return {"catchments": zones}


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
