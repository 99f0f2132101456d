"""The catchment plan (one outcome per stage) as a planner reads it (presenter;
contract in :mod:`planner.outputs.sections`). Every word comes from the catalogue
(``planner/outputs/catalogue/catchments.yaml``); the files are language-free.

Files (``write_files``): ``catchments.geojson`` (the zones of every stage,
coordinates to 1e-6°), ``catchments.gpkg`` (one layer ``zones_<stage>`` per stage,
with a fixed GeoPackage date so the file is the same run to run), ``units.csv``
(one row per unit and stage) and ``summary.json``
(:func:`planner.plans.catchments.combined_summary`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from planner.io.export import write_csv, write_json, write_text
from planner.outputs.i18n import label, tr, yes_no
from planner.outputs.sections import ReportSection, Table
from planner.plans.catchments import CatchmentOutcome, combined_summary

__all__ = [
    "compare_figures",
    "console_lines",
    "map_layers",
    "report_sections",
    "shortfall_lines",
    "workbook_sheets",
    "write_files",
]

#: the summary's figures shown in the report, in this order
FIGURES = ("stage", "status", "objective", "gap", "solver", "mode", "units", "schools",
           "max_load_ratio", "contiguous", "pupils_changed", "stability_reference",
           "unassigned_children", "catchment_share", "verified")

#: the date stamped into catchments.gpkg (fixed, so the file is the same run to run)
GPKG_DATE = "2000-01-01T00:00:00.000Z"  # not-a-rule: a timestamp, not indicator 12

#: the zones table of the report
ZONE_COLUMNS = ("school_id", "school", "stage", "children", "seats", "load_ratio", "n_units",
                "area_km2", "polsby_popper", "n_parts")


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------

def write_files(outcomes: list[CatchmentOutcome], out: Path, lang: str = "zh") -> list[Path]:
    """The plan's files in ``out`` (the same in every language)."""
    out = Path(out)
    zones = gpd.GeoDataFrame(pd.concat([o.zones for o in outcomes], ignore_index=True),
                             geometry="geometry", crs=4326)
    files = []
    gj = zones.copy()
    gj["geometry"] = gj.geometry.map(_round_geom)
    files.append(write_text(gj.to_json(drop_id=True, ensure_ascii=False, sort_keys=True),
                            out / "catchments.geojson"))
    import pyogrio
    # GeoPackages stamp the current time; a fixed date keeps the file identical run to run
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    gpkg = out / ".part.catchments.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    for o in outcomes:
        o.zones.to_file(gpkg, layer=f"zones_{o.stage}", driver="GPKG")
    gpkg.replace(out / "catchments.gpkg")
    files.append(out / "catchments.gpkg")
    files.append(write_csv(pd.concat([o.units for o in outcomes], ignore_index=True),
                           out / "units.csv"))
    files.append(write_json(combined_summary(outcomes), out / "summary.json"))
    return files


def _round_geom(g, nd: int = 6):
    from shapely import set_precision
    return set_precision(g, 10 ** -nd)


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------

def console_lines(outcomes: list[CatchmentOutcome], lang: str = "zh") -> list[str]:
    """Per stage: one line of figures, then what binds (shortfalls, violations)."""
    lines = []
    for o in outcomes:
        s = o.summary
        stage = label("stage", o.stage, lang)
        if not o.status.has_plan and not o.closest:
            lines.append(tr("catchments.no_plan", lang, stage=stage,
                            status=label("status", o.status.value, lang)))
            continue
        lines.append(tr("catchments.console", lang, stage=stage, units=s["units"],
                        schools=s["schools"], max_load=s["max_load_ratio"],
                        contiguous=yes_no(s["contiguous"], lang),
                        status=label("status", o.status.value, lang), gap=s["gap"],
                        changed=s["pupils_changed"],
                        reference=tr(f"catchments.reference.{s['stability_reference']}",
                                     lang)))
        lines += shortfall_lines(o, lang)
        lines += [tr("catchments.violation", lang, text=v) for v in o.violations]
    return lines


def shortfall_lines(o: CatchmentOutcome, lang: str = "zh") -> list[str]:
    """One line per unit left out of the closest plan: which limit binds, and where."""
    out = []
    if o.closest:
        out.append(tr("catchments.closest", lang, stage=label("stage", o.stage, lang),
                      unassigned=o.result.unassigned_children))
    for sf in o.result.shortfalls:
        out.append(tr(f"catchments.shortfall.{sf.code}", lang, unit=_unit_name(o, sf.unit),
                      children=sf.children, seats=sf.seats_within_reach,
                      reachable=sf.reachable_by_cost, k=o.params.k_nearest,
                      n=len(sf.reachable_schools), demand=sf.demand_within_reach,
                      missing=sf.seats_missing, site=_unit_name(o, sf.suggested_site),
                      group=sf.group_children, spare=sf.largest_spare))
    return out


def _unit_name(o: CatchmentOutcome, cell_id: Any) -> str:
    """``name (id)`` of a unit cell ``U:<id>``; a school's own cell ``S:<id>`` is
    named by the school."""
    kind, _, raw = str(cell_id).partition(":")
    if kind == "U":
        names = dict(zip(o.units["unit_id"].astype(str), o.units["unit"].astype(str)))
        return f"{names.get(raw, raw)} ({raw})"
    zones = dict(zip(o.zones["school_id"].astype(str), o.zones["school"].astype(str)))
    return f"{zones.get(raw, raw)} ({raw})"


def _figure_value(key: str, v: Any, lang: str) -> Any:
    if isinstance(v, bool):
        return yes_no(v, lang)
    if key in ("stage", "status"):
        return label(key, v, lang)
    if key == "mode":
        return tr(f"catchments.mode.{v}", lang)
    if key == "stability_reference":
        return tr(f"catchments.reference.{v}", lang)
    return v


def _figures(o: CatchmentOutcome, lang: str) -> tuple[tuple[str, Any], ...]:
    return tuple((tr(f"catchments.figure.{k}", lang), _figure_value(k, o.summary[k], lang))
                 for k in FIGURES)


def _zone_table(o: CatchmentOutcome, lang: str) -> pd.DataFrame:
    t = pd.DataFrame(o.zones.drop(columns="geometry"))[list(ZONE_COLUMNS)].copy()
    t["stage"] = t["stage"].map(lambda v: label("stage", v, lang))
    return t.rename(columns=lambda c: tr(f"catchments.column.{c}", lang))


def workbook_sheets(outcomes: list[CatchmentOutcome], lang: str = "zh") -> dict[str, pd.DataFrame]:
    """One sheet per stage: the units table (``units.csv`` columns)."""
    return {tr("catchments.sheet", lang, stage=o.stage): o.units for o in outcomes}


def report_sections(outcomes: list[CatchmentOutcome], lang: str = "zh") -> list[ReportSection]:
    """One section per stage: its figures, its zones, and what binds in red."""
    out = []
    for o in outcomes:
        warnings = tuple(shortfall_lines(o, lang))
        warnings += tuple(tr("catchments.violation", lang, text=v) for v in o.violations)
        if not o.status.has_plan and not o.closest:
            warnings += (tr("catchments.no_plan", lang, stage=label("stage", o.stage, lang),
                            status=label("status", o.status.value, lang)),)
        out.append(ReportSection(
            key=f"catchments_{o.stage}",
            title=tr("catchments.title", lang, stage=label("stage", o.stage, lang)),
            figures=_figures(o, lang), tables=(Table("", _zone_table(o, lang)),),
            warnings=warnings))
    return out


# ---------------------------------------------------------------------------
# numbers for compare and the map
# ---------------------------------------------------------------------------

def compare_figures(outcomes: list[CatchmentOutcome]) -> dict:
    return {"pupils_school_changes": sum(o.summary["pupils_changed"] for o in outcomes),
            "max_load_ratio": max((o.summary["max_load_ratio"] or 0) for o in outcomes)}


def map_layers(outcomes: list[CatchmentOutcome]) -> dict:
    zones = gpd.GeoDataFrame(pd.concat([o.zones for o in outcomes], ignore_index=True),
                             geometry="geometry", crs=4326)
    return {"catchments": zones}
