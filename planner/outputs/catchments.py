"""The catchment plan (one outcome per stage) as a planner reads it (presenter;
contract in :mod:`planner.outputs.sections`). Every word comes from the catalogue
(``planner/outputs/catalogue/catchments.yaml``); the files are language-free.

Files (``write_files``): ``catchments.geojson`` (the zones of every stage,
coordinates to 1e-6°), ``catchments.gpkg`` (one layer ``zones_<stage>`` per stage,
with a fixed GeoPackage date so the file is the same run to run), ``units.csv``
(one row per unit and stage), ``places.csv`` (one row per zoned school and stage:
its places under each limiting indicator, the binding one, pupils today and at full
turnover), ``path.csv`` (pupils per school and year until full turnover) and
``summary.json`` (:func:`planner.plans.catchments.combined_summary`).

The report section of a stage: figures a planner reads (pupils whose school
changes, indicator 21, take-up, where the outline came from), the zones with their
places and binding limit, the year-by-year path, the places under every limit;
what binds in red (one line per stage when places are short); solver figures under
``technical`` (the report's 技术说明).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from models.status import Status
from planner.io.export import write_csv, write_json, write_text
from planner.outputs.i18n import label, tr, yes_no
from planner.outputs.sections import ReportSection, Table
from planner.plans.catchment_places import LIMIT_ORDER
from planner.plans.catchments import GRADES, CatchmentOutcome, combined_summary

__all__ = [
    "compare_figures",
    "console_lines",
    "map_layers",
    "path_frame",
    "places_frame",
    "report_sections",
    "shortfall_lines",
    "workbook_sheets",
    "write_files",
]

#: the summary's figures a planner reads, in this order
FIGURES = ("stage", "units", "schools", "contiguous", "pupils_changed", "changed_per_year",
           "stability_reference", "keep_current", "take_up", "unassigned_children",
           "indicator_21_share", "outline", "verified")

#: solver figures (the report's 技术说明)
TECHNICAL = ("status", "mode", "gap", "bound", "objective", "solver_gap", "rounds", "cuts",
             "k_nearest", "solver", "max_load_ratio")

#: the date stamped into catchments.gpkg (fixed, so the file is the same run to run)
GPKG_DATE = "2000-01-01T00:00:00.000Z"  # not-a-rule: a timestamp, not indicator 12

#: the zones table of the report
ZONE_COLUMNS = ("school_id", "school", "children", "pupils_today", "pupils", "places",
                "binding", "n_units", "area_km2", "polsby_popper")

#: units listed by name in a shortfall line
LISTED_UNITS = 5

#: columns of units.csv and of the workbook's units sheet
UNIT_COLUMNS = ("unit_id", "unit", "stage", "school_id", "school", "children", "km",
                "school_today_id", "changes")


# ---------------------------------------------------------------------------
# tables (language-free)
# ---------------------------------------------------------------------------

def places_frame(o: CatchmentOutcome) -> pd.DataFrame:
    """One row per zoned school: places under every limiting indicator (empty where
    a limit has no data or does not apply), the binding one, pupils today and at full
    turnover, classes and largest class then."""
    names = dict(zip(o.zones["school_id"].astype(str), o.zones["school"].astype(str)))
    names.update({str(s): str(n) for s, n in zip(o.district.schools["school_id"],
                                                 o.district.schools["name"])})
    rows = []
    for sid, p in sorted(o.places.items()):
        x = o.after[sid]
        row: dict[str, Any] = {"school_id": sid, "school": names.get(sid, sid),
                               "stage": o.stage, "places": p.places, "binding": p.binding}
        row.update({f"limit_{k}": v for k, v in p.limits})
        row.update({"pupils_today": x.today, "children": x.children, "pupils": x.pupils,
                    "classes": x.classes, "max_class": x.max_class})
        rows.append(row)
    return pd.DataFrame(rows)


def path_frame(o: CatchmentOutcome) -> pd.DataFrame:
    """Pupils per zoned school and year (``year_0`` today … ``year_G`` full turnover),
    with the school's places."""
    names = {str(s): str(n) for s, n in zip(o.district.schools["school_id"],
                                            o.district.schools["name"])}
    wide = o.path.pivot(index="school_id", columns="year", values="pupils")
    wide.columns = [f"year_{int(y)}" for y in wide.columns]
    wide = wide.reset_index()
    wide.insert(1, "school", wide["school_id"].map(names))
    wide.insert(2, "stage", o.stage)
    wide["places"] = wide["school_id"].map(lambda s: o.places[s].places)
    return wide.sort_values("school_id").reset_index(drop=True)


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------

def _whole(df: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Counts stay whole numbers in the file: the columns starting with ``prefix``
    (a missing limit, or a year a stage does not have, is left empty)."""
    for c in df.columns:
        if str(c).startswith(prefix):
            df[c] = df[c].astype("Int64")
    return df


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
        if len(o.zones):
            o.zones.to_file(gpkg, layer=f"zones_{o.stage}", driver="GPKG")
    if gpkg.exists():
        gpkg.replace(out / "catchments.gpkg")
        files.append(out / "catchments.gpkg")
    files.append(write_csv(pd.concat([o.units for o in outcomes], ignore_index=True),
                           out / "units.csv"))
    files.append(write_csv(_whole(pd.concat([places_frame(o) for o in outcomes],
                                            ignore_index=True), "limit_"),
                           out / "places.csv"))
    files.append(write_csv(_whole(pd.concat([path_frame(o) for o in outcomes],
                                            ignore_index=True), "year_"),
                           out / "path.csv"))
    files.append(write_json(combined_summary(outcomes), out / "summary.json"))
    return files


def _round_geom(g, nd: int = 6):
    from shapely import set_precision
    return set_precision(g, 10 ** -nd)


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------

def console_lines(outcomes: list[CatchmentOutcome], lang: str = "zh") -> list[str]:
    """Per stage: one line of figures, then what binds (one shortfall line,
    violations)."""
    lines = []
    for o in outcomes:
        s = o.summary
        stage = label("stage", o.stage, lang)
        if not o.status.has_plan and not o.closest:
            lines.append(tr("catchments.no_plan", lang, stage=stage,
                            status=label("status", o.status.value, lang)))
            continue
        lines.append(tr("catchments.console", lang, stage=stage, units=s["units"],
                        schools=s["schools"], contiguous=yes_no(s["contiguous"], lang),
                        status=label("status", o.status.value, lang), gap=_pct(s["gap"], lang),
                        changed=s["pupils_changed"], share=_pct(s["indicator_21_share"], lang),
                        reference=tr(f"catchments.reference.{s['stability_reference']}",
                                     lang)))
        lines += shortfall_lines(o, lang)
        lines += _emptied_lines(o, lang)
        lines += [tr("catchments.violation", lang, text=v) for v in o.violations]
    return lines


def shortfall_lines(o: CatchmentOutcome, lang: str = "zh") -> list[str]:
    """One line for a stage whose places are short (none when it has a plan): how
    many places are missing, which units are left out, where a school would help."""
    sf = o.shortfall
    if sf is None:
        return []
    stage = label("stage", o.stage, lang)
    sep = tr("catchments.list_sep", lang)
    names = [_unit_name(o, u) for u in sf.unzoned_units[:LISTED_UNITS]]
    units = sep.join(names)
    if len(sf.unzoned_units) > LISTED_UNITS:
        units = tr("catchments.and_more", lang, units=units, n=len(sf.unzoned_units))
    # seats enough, no plan found in the time: the solver's limit, not the county's
    # seats, left the units out (no site to suggest)
    in_time = not sf.missing and o.status is Status.NO_PLAN_IN_TIME
    if sf.missing:
        key = "catchments.short.places"
    else:
        key = "catchments.short.in_time" if in_time else "catchments.short.fragmented"
    parts = [tr(key, lang, stage=stage, need=sf.need, places=sf.places, missing=sf.missing),
             tr("catchments.short.units", lang, n=len(sf.unzoned_units),
                children=sf.unzoned_children, units=units)]
    unreachable = dict(sf.codes).get("no_school_in_reach", 0) + \
        dict(sf.codes).get("no_contiguous_path", 0)
    if unreachable:
        parts.append(tr("catchments.short.unreachable", lang, n=unreachable))
    if sf.sites and not in_time:
        site, need = sf.sites[0]
        more = len(sf.sites) - 1
        parts.append(tr("catchments.short.site", lang, site=_unit_name(o, site), places=need)
                     + (tr("catchments.short.more_sites", lang, n=more) if more else ""))
    return [tr("catchments.short.join", lang).join(parts)]


def _pct(v: Any, lang: str) -> str:
    if v is None:
        return tr("catchments.none", lang)
    return f"{100 * float(v):.2f}%"


def _unit_name(o: CatchmentOutcome, cell_id: Any) -> str:
    """``name (id)`` of a unit cell ``U:<id>``; a school's own cell ``S:<id>`` is
    named by the school."""
    kind, _, raw = str(cell_id).partition(":")
    if kind == "U":
        names = dict(zip(o.units["unit_id"].astype(str), o.units["unit"].astype(str)))
        return f"{names.get(raw, raw)} ({raw})"
    names = {str(s): str(n) for s, n in zip(o.district.schools["school_id"],
                                            o.district.schools["name"])}
    return f"{names.get(raw, raw)} ({raw})"


def _summary_value(o: CatchmentOutcome, key: str) -> Any:
    s = o.summary
    if key == "changed_per_year":
        return int(round(s["pupils_changed"] / GRADES[o.stage]))
    return s[key]


def _figure_value(key: str, v: Any, lang: str) -> Any:
    if key in ("stage", "status"):
        return label(key, v, lang)
    if key == "mode":
        return tr(f"catchments.mode.{v}", lang)
    if key == "stability_reference":
        return tr(f"catchments.reference.{v}", lang)
    if key == "outline":
        return tr(f"catchments.outline.{v}", lang)
    if key in ("gap", "solver_gap", "take_up", "indicator_21_share"):
        return _pct(v, lang)
    if isinstance(v, bool):
        return yes_no(v, lang)
    if v is None:
        return tr("catchments.none", lang)
    return v


def _figures(o: CatchmentOutcome, keys: tuple[str, ...], lang: str
             ) -> tuple[tuple[str, Any], ...]:
    return tuple((tr(f"catchments.figure.{k}", lang),
                  _figure_value(k, _summary_value(o, k), lang)) for k in keys)


def _limit_word(ind: str, lang: str) -> str:
    return tr(f"catchments.limit.{ind}", lang)


def _zone_table(o: CatchmentOutcome, lang: str) -> pd.DataFrame:
    if not len(o.zones):
        return pd.DataFrame()
    t = pd.DataFrame(o.zones.drop(columns="geometry"))[list(ZONE_COLUMNS)].copy()
    t["binding"] = t["binding"].map(lambda v: _limit_word(str(v), lang))
    return t.rename(columns=lambda c: tr(f"catchments.column.{c}", lang))


def _path_table(o: CatchmentOutcome, lang: str) -> pd.DataFrame:
    w = path_frame(o).drop(columns=["stage"])
    g = GRADES[o.stage]
    names = {"school_id": tr("catchments.column.school_id", lang),
             "school": tr("catchments.column.school", lang),
             "places": tr("catchments.column.places", lang)}
    for y in range(g + 1):
        key = "catchments.year.today" if y == 0 else (
            "catchments.year.full" if y == g else "catchments.year.n")
        names[f"year_{y}"] = tr(key, lang, n=y)
    return w.rename(columns=names)


def _places_table(o: CatchmentOutcome, lang: str) -> pd.DataFrame:
    f = places_frame(o)
    keep = ["school_id", "school", "places", "binding"] + [f"limit_{k}" for k in LIMIT_ORDER]
    t = f[keep].copy()
    t["binding"] = t["binding"].map(lambda v: _limit_word(str(v), lang))
    for k in LIMIT_ORDER:
        t[f"limit_{k}"] = t[f"limit_{k}"].map(
            lambda v: tr("catchments.none", lang) if v is None or pd.isna(v) else int(v))
    names = {c: tr(f"catchments.column.{c}", lang) for c in ("school_id", "school", "places",
                                                            "binding")}
    names.update({f"limit_{k}": _limit_word(k, lang) for k in LIMIT_ORDER})
    return t.rename(columns=names)


def workbook_sheets(outcomes: list[CatchmentOutcome], lang: str = "zh") -> dict[str, pd.DataFrame]:
    """Per stage: the units (``units.csv`` columns, headers and values in ``lang``),
    the year-by-year path and the places."""
    out = {}
    for o in outcomes:
        stage = label("stage", o.stage, lang)
        u = o.units[list(UNIT_COLUMNS)].copy()
        u["stage"] = u["stage"].map(lambda v: label("stage", v, lang))
        u["changes"] = u["changes"].map(lambda v: yes_no(bool(v), lang))
        u = u.rename(columns=lambda c: tr(f"catchments.unit_column.{c}", lang))
        out[tr("catchments.sheet", lang, stage=stage)] = u
        out[tr("catchments.sheet_path", lang, stage=stage)] = _path_table(o, lang)
        out[tr("catchments.sheet_places", lang, stage=stage)] = _places_table(o, lang)
    return out


def report_sections(outcomes: list[CatchmentOutcome], lang: str = "zh") -> list[ReportSection]:
    """One section per stage: its figures, zones, path and places; what binds in red;
    the solver's figures as ``technical``."""
    out = []
    for o in outcomes:
        stage = label("stage", o.stage, lang)
        warnings = tuple(shortfall_lines(o, lang)) + tuple(_emptied_lines(o, lang))
        warnings += tuple(tr("catchments.violation", lang, text=v) for v in o.violations)
        if not o.status.has_plan and not o.closest:
            warnings += (tr("catchments.no_plan", lang, stage=stage,
                            status=label("status", o.status.value, lang)),)
        tables: tuple[Table, ...] = (Table(tr("catchments.table.zones", lang),
                                           _zone_table(o, lang)),)
        if o.has_plan:
            tables += (Table(tr("catchments.table.path", lang, years=GRADES[o.stage]),
                             _path_table(o, lang),
                             tr("catchments.note.path_keep" if o.params.keep_current
                                else "catchments.note.path_move", lang)),)
        tables += (Table(tr("catchments.table.places", lang), _places_table(o, lang),
                         tr("catchments.note.places", lang)),)
        notes = [tr("catchments.note.take_up", lang, take_up=_pct(o.take_up, lang))]
        shrink = [x for x in o.after.values() if x.today > x.places and o.has_plan]
        notes += [tr("catchments.note.shrinks", lang, school=_school_name(o, x.school_id),
                     today=x.today, places=x.places, limit=_limit_word(x.binding, lang),
                     pupils=x.pupils, years=GRADES[o.stage]) for x in shrink]
        if o.outline == "derived":
            notes.append(tr("catchments.note.outline_derived", lang))
        if o.params.plan is None and o.problem.k_nearest != o.params.k_nearest:
            notes.append(tr("catchments.note.widened", lang, given=o.params.k_nearest,
                            k=o.problem.k_nearest))
        out.append(ReportSection(
            key=f"catchments_{o.stage}",
            title=tr("catchments.title", lang, stage=stage),
            figures=_figures(o, FIGURES, lang), tables=tables, notes=tuple(notes),
            warnings=warnings, technical=_figures(o, TECHNICAL, lang)))
    return out


def emptied(o: CatchmentOutcome) -> list[str]:
    """The zoned schools that teach pupils today and whose zone brings none: at full
    turnover they have no pupils of the stage (a closure the zoning makes)."""
    if not o.has_plan:
        return []
    return sorted(x.school_id for x in o.after.values() if x.today > 0 and x.pupils == 0)


def over_places_until(o: CatchmentOutcome) -> dict[str, int]:
    """School → the last year (1 … full turnover) in which its pupils on the path are
    still above its places; only the schools that are."""
    if not o.has_plan or o.path is None or o.path.empty:
        return {}
    out: dict[str, int] = {}
    for sid, year, pupils in o.path[["school_id", "year", "pupils"]].itertuples(
            index=False, name=None):
        if int(year) >= 1 and sid in o.places and int(pupils) > o.places[sid].places:
            out[str(sid)] = max(out.get(str(sid), 0), int(year))
    return out


def _emptied_lines(o: CatchmentOutcome, lang: str) -> list[str]:
    gone = emptied(o)
    if not gone:
        return []
    sep = tr("catchments.list_sep", lang)
    schools = sep.join(tr("catchments.emptied.school", lang, school=_school_name(o, sid),
                          today=o.after[sid].today) for sid in gone)
    return [tr("catchments.emptied", lang, stage=label("stage", o.stage, lang),
               schools=schools, years=GRADES[o.stage])]


def headline(outcomes: list[CatchmentOutcome], lang: str = "zh") -> list[str]:
    """Under the verdict: the after-plan check counts the zones at full turnover, so
    say from which year every zoned school is within its places (and which are not
    before), and the schools the zoning would empty."""
    lines = []
    for o in outcomes:
        over = over_places_until(o)
        if over:
            last = max(over.values())
            sep = tr("catchments.list_sep", lang)
            schools = sep.join(tr("catchments.headline.school", lang,
                                  school=_school_name(o, sid), until=y)
                               for sid, y in sorted(over.items(), key=lambda kv: kv[0]))
            lines.append(tr("catchments.headline.transition", lang,
                            stage=label("stage", o.stage, lang), year=last + 1,
                            years=GRADES[o.stage], schools=schools))
        lines += _emptied_lines(o, lang)
    return lines


def _school_name(o: CatchmentOutcome, sid: str) -> str:
    names = {str(s): str(n) for s, n in zip(o.district.schools["school_id"],
                                            o.district.schools["name"])}
    return names.get(sid, sid)


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
