"""What a run writes for a planner to read: map.html, report.html, the workbook,
figures.json (the numbers ``planner compare`` puts side by side), and what
``planner run`` and ``planner compare`` print.

The workbook (``方案工作簿.xlsx`` / ``workbook.xlsx``) has Chinese (or English) headers
and values on every sheet and number formats on every number (CVs three decimals,
shares as percentages, more decimals where a value would otherwise read as its
threshold): 结论 (the verdict before and after), 指标前后对比 (every indicator before
and after side by side: county value, standard, CV, pass, failing schools by name),
差异系数 (1-7 per stage, both states), 未达标学校 (both states, value, standard, 差),
各校指标 (1-7 by school part, before and after), 培训与资格证 (the teachers short of
training hours or a certificate, by name), B 类指标 (by item), 一票否决, 数据提示 (the
loader's warnings, when there are any); then each plan's sheets from its presenter,
with any header or value still a code put into words (:func:`localise_sheet`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from planner.indicators.engine import Report, plain
from planner.outputs import values as V
from planner.outputs.checkfiles import b_grade, indicator_name
from planner.outputs.i18n import catalogue, label, tr, yes_no
from planner.plans.scenario import RunResult, Scenario


def figures(res: RunResult) -> dict:
    """The numbers ``planner compare`` puts side by side (``figures.json``): the
    verdict after the plans, the A indicators that fail (``a_failing``, by number), the
    county values and CVs of 1-7 (CVs unrounded), and each plan's ``compare_figures``."""
    a = res.after
    f = {"recognised": bool(a.recognised), "a_passed": a.a_passed, "a_total": a.a_total,
         "a_failing": [i.id for i in a.a_results if not i.passed],
         "b_score": plain(a.b_score), "b_grade": a.b_grade, "b_grade_en": a.b_grade_en,
         "veto": list(a.veto),
         "verified": res.verified}
    for ind in a.a_results:
        if ind.kind == "per_pupil":
            for st, v in plain(ind.cv_exact or {}, None).items():
                f[f"cv_{ind.id}_{st}"] = v
            for st, v in plain(ind.county_value or {}).items():
                f[f"value_{ind.id}_{st}"] = v
    for presenter, outcome in plans_of(res):
        f.update(presenter.compare_figures(outcome))
    return f


def _known(x) -> bool:
    return x is not None and x is not pd.NA and not (isinstance(x, float) and math.isnan(x))


def _pupils(district) -> dict[str, int]:
    if district is None:
        return {}
    s = district.schools
    return {str(k): int(a) + int(b) for k, a, b in
            zip(s["school_id"], s["students_primary"].fillna(0), s["students_junior"].fillna(0))}


def school_status(report: Report, closed: set[str], school_ids: list[str] = (),
                  before: Report | None = None, pupils_before: dict | None = None,
                  pupils_after: dict | None = None) -> dict:
    """Per school: pass / fail / closed / no_data, with the popup rows the map puts into
    words: one per indicator 1-7 and stage, and one per other A indicator that lists the
    school (after, or before for a closed school), each a dict ``{"indicator", "stage",
    "before", "after", "threshold", "passed", "at_most", "kind"}`` (``passed`` after the
    plan; values unrounded). ``pupils`` before → after when given. A school outside the
    scope of 1-7 (private, special) passes unless another A indicator lists it."""
    parts = report.parts_table()
    bparts = before.parts_table() if before is not None else None
    out: dict[str, dict] = {sid: {"status": "pass", "rows": []} for sid in school_ids}
    pb = bparts.set_index(["school_id", "stage"]) if bparts is not None and len(bparts) else None

    def before_value(sid, stage, k):
        if pb is None or (sid, stage) not in pb.index:
            return None
        v = pb.loc[(sid, stage)].get(f"value_{k}")
        return float(v) if _known(v) else None

    keys = [c.replace("value_", "") for c in parts.columns if c.startswith("value_")]
    for _, p in parts.iterrows():
        sid = p["school_id"]
        rows = out.setdefault(sid, {"status": "pass", "rows": []})["rows"]
        for k in keys:
            v, thr = p.get(f"value_{k}"), p.get(f"threshold_{k}")
            ok = p.get(f"passed_{k}")
            ok = bool(ok) if _known(ok) else None
            rows.append({"indicator": k, "stage": p["stage"], "kind": "per_pupil",
                         "before": before_value(sid, p["stage"], k),
                         "after": float(v) if _known(v) else None,
                         "threshold": float(thr) if _known(thr) else None, "passed": ok,
                         "at_most": False})
            if ok is None:
                out[sid]["status"] = "no_data"
    was = {}
    if before is not None:
        for ind in before.a_results:
            for fs in ind.failing_schools:
                was[(ind.id, fs.get("school_id"), fs.get("stage"))] = fs.get("value")
    for ind in report.a_results:
        for fs in ind.failing_schools:
            sid = fs.get("school_id")
            if not sid:
                continue
            e = out.setdefault(sid, {"status": "pass", "rows": []})
            e["status"] = "fail"
            if ind.kind != "per_pupil":
                e["rows"].append({"indicator": str(ind.id), "stage": fs.get("stage") or "",
                                  "kind": ind.kind,
                                  "before": was.get((ind.id, sid, fs.get("stage"))),
                                  "after": fs.get("value"),
                                  "threshold": fs.get("threshold"), "passed": False,
                                  "at_most": ind.kind in V.AT_MOST_KINDS})
    for sid in closed:
        rows = []
        if bparts is not None:
            for _, p in bparts[bparts["school_id"] == sid].iterrows():
                for k in keys:
                    v, thr = p.get(f"value_{k}"), p.get(f"threshold_{k}")
                    rows.append({"indicator": k, "stage": p["stage"], "kind": "per_pupil",
                                 "before": float(v) if _known(v) else None, "after": None,
                                 "threshold": float(thr) if _known(thr) else None,
                                 "passed": None, "at_most": False})
        out[sid] = {"status": "closed", "rows": rows}
    for sid, e in out.items():
        if pupils_before is not None:
            e["pupils_before"] = pupils_before.get(sid)
        if pupils_after is not None:
            e["pupils_after"] = pupils_after.get(sid) if sid not in closed else 0
    return out


def plans_of(res: RunResult, keyed: bool = False) -> list:
    """(presenter module, outcome) of every plan the run made, in run order;
    ``keyed``: (kind, (presenter, outcome))."""
    from planner.outputs import catchments, consolidation, remediation, roadmap, rotation
    presenters = {"consolidation": consolidation, "rotation": rotation,
                  "catchments": catchments, "remediation": remediation, "roadmap": roadmap}
    if keyed:
        return [(kind, (presenters[kind], o)) for kind, o in res.plans()]
    return [(presenters[kind], o) for kind, o in res.plans()]


def final_district(res: RunResult, district):
    """The district after every plan of the run (the last plan's ``district_after``)."""
    current = district
    for _, outcome in res.plans():
        for o in (outcome if isinstance(outcome, (list, tuple)) else [outcome]):
            after = getattr(o, "district_after", None)
            status = getattr(o, "status", None)
            if after is not None and (status is None or getattr(status, "has_plan", True)):
                current = after
                break
    return current


def _rotation_flows(res: RunResult, flows: list[dict]) -> list[dict]:
    """The rotation's flows with ``backbone`` (backbone teachers among the movers) when
    the presenter's flows do not carry it, counted from the moves and the roster."""
    if not flows or all("backbone" in f for f in flows) or res.rotation is None:
        return flows
    o = res.rotation
    t = o.district_after.teachers
    level = dict(zip(t["teacher_id"].astype(str), t["backbone"].astype(str))) \
        if t is not None and "backbone" in t.columns else {}
    count: dict[tuple[str, str], int] = {}
    for m in o.result.moves:
        if level.get(str(m.teacher_id), "none") not in ("", "none"):
            key = (str(m.from_school), str(m.to_school))
            count[key] = count.get(key, 0) + 1
    return [{**f, "backbone": count.get((str(f["from_school_id"]), str(f["to_school_id"])), 0)}
            for f in flows]


def write_views(district, res: RunResult, scenario: Scenario, meta: dict, lang: str) -> None:
    """map.html, report.html and the workbook, from the typed reports and outcomes
    through the plans' presenters."""
    from planner.io.export import write_text
    from planner.outputs.checkfiles import write_sheets
    from planner.outputs.maps import build_map
    from planner.outputs.report import build_report

    plans = plans_of(res)
    closed = set(res.consolidation.result.closed) if res.consolidation is not None else set()
    status = school_status(res.after, closed, list(district.schools["school_id"]),
                           before=res.before, pupils_before=_pupils(district),
                           pupils_after=_pupils(final_district(res, district)))
    layers: dict[str, Any] = {}
    main = None
    for presenter, outcome in plans:
        got = presenter.map_layers(outcome)
        layers.update(got)
        main = main or next(iter(got), None)
    if "rotation_flows" in layers:
        layers["rotation_flows"] = _rotation_flows(res, layers["rotation_flows"])
    names = {i.id: indicator_name(i, lang) for i in res.after.a_results}
    html_map = build_map(district, school_status=status, lang=lang, title=scenario.name,
                         indicator_names=names, main_layer=main, **layers)
    write_text(html_map, res.out / "map.html")

    sections = [sec for presenter, outcome in plans
                for sec in presenter.report_sections(outcome, lang)]
    res.plan_warnings = sum(len(sec.warnings) for sec in sections)
    html_report = build_report(scenario_name=scenario.name, before=res.before, after=res.after,
                               sections=sections, verification=res.verification,
                               every_plan_made=res.every_plan_made, map_html=html_map,
                               headline=[h for presenter, outcome in plans
                                         if hasattr(presenter, "headline")
                                         for h in presenter.headline(outcome, lang)],
                               meta={"input_sha256": meta["input_sha256"][:16],
                                     "version": meta["toolkit_version"]}, lang=lang)
    write_text(html_report, res.out / "report.html")
    write_sheets(workbook_sheets(res, lang), res.out / tr("run.workbook", lang), lang)


# ------------------------------------------------------------------- workbook

def _col(key: str, lang: str, **kw) -> str:
    return tr(f"run.col.{key}", lang, **kw)


def _dec_format(d: int, pct: bool = False) -> str:
    base = "0" if d <= 0 else "0." + "0" * d
    return base + "%" if pct else ("#,##" + base if d <= 2 else base)


def _num_format(ind, v, thr, *, cv: bool = False) -> str:
    """The number format of one value of ``ind`` (threshold-aware decimals)."""
    if cv:
        return _dec_format(V.decimals(v, thr, 3)) if _known(v) else "0.000"
    if ind is not None and ind.kind in V.PCT_KINDS:
        return _dec_format(V.decimals(v, thr, 2, scale=100.0), pct=True) if _known(v) \
            else "0.00%"
    if _known(v) and _known(thr):
        return _dec_format(V.decimals(float(v), float(thr), 2))
    return "#,##0.00"


class _Sheet:
    """Rows of a sheet with per-cell number formats (``attrs['cell_formats']``)."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.rows: list[list] = []
        self.formats: dict[tuple[int, str], str] = {}
        self.col_formats: dict[str, str] = {}

    def add(self, values: list, formats: dict[str, str] | None = None) -> None:
        for c, f in (formats or {}).items():
            self.formats[(len(self.rows), c)] = f
        self.rows.append(values)

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=self.columns, dtype=object)
        df.attrs["cell_formats"] = dict(self.formats)
        df.attrs["formats"] = dict(self.col_formats)
        return df


def _failing_names(ind, lang: str, stage: str | None = None) -> str:
    if ind is None:
        return ""
    fs = [f for f in ind.failing_schools if stage is None or f.get("stage") == stage]
    return V.listing([str(f.get("name") or f.get("school_id")) for f in fs], lang)


def _stage_pass(ind, stage: str, cv_rows: pd.DataFrame) -> bool | None:
    """Whether one stage of a per-pupil indicator passes: county value, CV, schools."""
    if ind is None:
        return None
    r = cv_rows[(cv_rows["indicator"] == ind.id) & (cv_rows["stage"] == stage)]
    if r.empty:
        return None
    r = r.iloc[0]
    if int(r["missing"]) > 0:
        return None
    schools_ok = not any(f.get("stage") == stage for f in ind.failing_schools)
    return bool(r["county_ok"]) and bool(r["cv_ok"]) and schools_ok


def _pass_word(ind, lang: str, stage_ok: Any = "-") -> str:
    if ind is None:
        return ""
    if stage_ok is None or ind.no_data:
        return tr("no_data", lang)
    ok = ind.passed if stage_ok == "-" else stage_ok
    return tr("report.yes" if ok else "report.no", lang)


def _summary_sheet(res: RunResult, lang: str) -> pd.DataFrame:
    b, a = res.before, res.after
    sh = _Sheet([_col("item", lang), _col("before", lang), _col("after", lang)])
    def verdict(r):
        return tr("run.verdict.recognised" if r.recognised else "run.verdict.not_recognised",
                  lang)

    def fails(r):
        return V.listing([str(i.id) for i in r.a_results if not i.passed], lang) or \
            tr("report.none", lang)

    def vetoes(r):
        return V.listing([r.veto_names.get(k, {}).get(lang, k) for k in r.veto], lang) or \
            tr("report.none", lang)
    title = a.standard_title_en if lang == "en" else a.standard_title_zh
    sh.add([_col("district", lang), b.district, a.district])
    sh.add([_col("standard", lang), title, title])
    sh.add([_col("verdict", lang), verdict(b), verdict(a)])
    sh.add([_col("a_passed", lang), f"{b.a_passed} / {b.a_total}", f"{a.a_passed} / {a.a_total}"])
    sh.add([_col("a_failing", lang), fails(b), fails(a)])
    sh.add([_col("b_score", lang), plain(b.b_score), plain(a.b_score)],
           {_col("before", lang): "0.0", _col("after", lang): "0.0"})
    sh.add([_col("b_grade", lang), b_grade(b, lang) or "", b_grade(a, lang) or ""])
    sh.add([_col("veto", lang), vetoes(b), vetoes(a)])
    sh.add([_col("verified", lang), "", yes_no(res.verified, lang)])
    return sh.frame()


def _compare_sheet(res: RunResult, lang: str) -> pd.DataFrame:
    """Every indicator before and after side by side."""
    b_rep, a_rep = res.before, res.after
    keys = ("indicator", "name", "class", "stage", "threshold", "county_before", "county_after",
            "cv_before", "cv_after", "cv_limit", "passed_before", "passed_after",
            "failing_n_before", "failing_n_after", "failing_before", "failing_after")
    cols = {k: _col(k, lang) for k in keys}
    sh = _Sheet([cols[k] for k in keys])
    bmap = {i.id: i for i in b_rep.indicators}
    for a in a_rep.indicators:
        b = bmap.get(a.id)
        common = [a.id, indicator_name(a, lang), a.cls]
        if a.kind == "per_pupil":
            for st in ("primary", "junior"):
                if st not in (a.county_value or {}) and (b is None or
                                                        st not in (b.county_value or {})):
                    continue
                thr = (a.threshold or {}).get(st)
                lim = (a.cv_limit or {}).get(st)
                vb = (b.county_value or {}).get(st) if b is not None else None
                va = (a.county_value or {}).get(st)
                cb = (b.cv_exact or {}).get(st) if b is not None else None
                ca = (a.cv_exact or {}).get(st)
                fmts = {cols["county_before"]: _num_format(a, vb, thr),
                        cols["county_after"]: _num_format(a, va, thr),
                        cols["cv_before"]: _num_format(a, cb, lim, cv=True),
                        cols["cv_after"]: _num_format(a, ca, lim, cv=True),
                        cols["cv_limit"]: "0.00"}
                nb = sum(f.get("stage") == st for f in b.failing_schools) if b is not None \
                    else None
                na = sum(f.get("stage") == st for f in a.failing_schools)
                sh.add(common + [V.stage_word(st, lang), f"≥ {V.num(thr, 2)}", vb, va, cb, ca,
                                 lim, _pass_word(b, lang, _stage_pass(b, st, b_rep.cv_table())),
                                 _pass_word(a, lang, _stage_pass(a, st, a_rep.cv_table())),
                                 nb, na, _failing_names(b, lang, st),
                                 _failing_names(a, lang, st)], fmts)
            continue
        if a.cls == "B":
            fmts = {cols["county_before"]: "0.0", cols["county_after"]: "0.0"}
            sh.add(common + ["", V.threshold_text(a, lang),
                             b.county_value if b is not None else None, a.county_value,
                             None, None, None, _pass_word(b, lang), _pass_word(a, lang),
                             None, None, "", ""], fmts)
            continue
        fmts = {}
        vb = V.county_text(b, lang) if b is not None else ""
        va = V.county_text(a, lang)
        if a.kind in V.PCT_KINDS and not isinstance(a.county_value, dict):
            thr = a.threshold
            vb = b.county_value if b is not None else None
            va = a.county_value
            fmts = {cols["county_before"]: _num_format(a, vb, thr),
                    cols["county_after"]: _num_format(a, va, thr)}
        sh.add(common + ["", V.threshold_text(a, lang), vb, va, None, None, None,
                         _pass_word(b, lang), _pass_word(a, lang),
                         len(b.failing_schools) if b is not None else None,
                         len(a.failing_schools), _failing_names(b, lang),
                         _failing_names(a, lang)], fmts)
    return sh.frame()


def _cv_sheet(res: RunResult, lang: str) -> pd.DataFrame:
    """Indicators 1-7 per stage, before and after: county value, CV, each test."""
    keys = ("indicator", "name", "stage", "parts_before", "parts_after", "pupils_before",
            "pupils_after", "threshold_n", "county_before", "county_after",
            "county_ok_before", "county_ok_after", "cv_before", "cv_after", "cv_limit",
            "cv_ok_before", "cv_ok_after")
    cols = {k: _col(k, lang) for k in keys}
    sh = _Sheet([cols[k] for k in keys])
    bt, at = res.before.cv_table(), res.after.cv_table()
    inds = {i.id: i for i in res.after.a_results}
    bkey = {(int(r.indicator), r.stage): r for r in bt.itertuples(index=False)}
    for r in at.itertuples(index=False):
        b = bkey.get((int(r.indicator), r.stage))
        ind = inds.get(int(r.indicator))
        thr, lim = float(r.threshold), float(r.cv_limit)

        def val(x, attr):
            v = getattr(x, attr) if x is not None else None
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

        def ok(x, attr):
            v = val(x, attr)
            return "" if v is None else yes_no(bool(v), lang)
        vb, va = val(b, "county_value"), val(r, "county_value")
        cb, ca = val(b, "cv_exact"), val(r, "cv_exact")
        sh.add([int(r.indicator), indicator_name(ind, lang) if ind is not None else "",
                V.stage_word(r.stage, lang), val(b, "parts"), val(r, "parts"),
                val(b, "pupils"), val(r, "pupils"), thr, vb, va, ok(b, "county_ok"),
                ok(r, "county_ok"), cb, ca, lim, ok(b, "cv_ok"), ok(r, "cv_ok")],
               {cols["county_before"]: _num_format(ind, vb, thr),
                cols["county_after"]: _num_format(ind, va, thr),
                cols["cv_before"]: _num_format(ind, cb, lim, cv=True),
                cols["cv_after"]: _num_format(ind, ca, lim, cv=True),
                cols["threshold_n"]: "0.0#", cols["cv_limit"]: "0.00",
                cols["pupils_before"]: "#,##0", cols["pupils_after"]: "#,##0"})
    return sh.frame()


def _failing_sheet(res: RunResult, lang: str) -> pd.DataFrame:
    keys = ("state", "indicator", "name", "school_id", "school", "stage", "checked", "value",
            "threshold", "gap")
    cols = {k: _col(k, lang) for k in keys}
    sh = _Sheet([cols[k] for k in keys])
    for state, rep in (("before", res.before), ("after", res.after)):
        for ind in rep.a_results:
            for f in ind.failing_schools:
                v, t, gap = f.get("value"), f.get("threshold"), V.gap_value(f)
                fm = _num_format(ind, v, t)
                if ind.kind not in V.PCT_KINDS and ind.kind != "per_pupil":
                    fm = "#,##0" if _known(v) and float(v).is_integer() else "#,##0.00"
                what = f.get("check")
                sh.add([tr(f"report.{state}", lang), ind.id, indicator_name(ind, lang),
                        f.get("school_id"), f.get("name"), V.stage_word(f.get("stage"), lang),
                        label("check.item", what, lang) if what else "", v, t, gap],
                       {cols["value"]: fm, cols["threshold"]: fm, cols["gap"]: fm})
    return sh.frame()


def _parts_sheet(res: RunResult, lang: str) -> pd.DataFrame:
    """Indicators 1-7 by school part: before and after side by side, and the standard."""
    bp, ap = res.before.parts_table(), res.after.parts_table()
    keys = [c.replace("value_", "") for c in ap.columns if c.startswith("value_")] or \
        [c.replace("value_", "") for c in bp.columns if c.startswith("value_")]
    names = {str(i.id): indicator_name(i, lang) for i in res.after.a_results}
    head = [_col("school_id", lang), _col("school", lang), _col("stage", lang),
            _col("pupils_before", lang), _col("pupils_after", lang)]
    for k in keys:
        short = V.short_name(int(k), lang, names.get(k))
        head += [_col("value_before", lang, k=k, name=short),
                 _col("value_after", lang, k=k, name=short),
                 _col("value_threshold", lang, k=k, name=short)]
    head += [_col("met_after", lang), _col("school_passed_after", lang)]
    sh = _Sheet(head)
    b_idx = bp.set_index(["school_id", "stage"]) if len(bp) else None
    a_idx = ap.set_index(["school_id", "stage"]) if len(ap) else None
    order = list(dict.fromkeys(
        [tuple(x) for x in ap[["school_id", "stage"]].itertuples(index=False, name=None)]
        + [tuple(x) for x in bp[["school_id", "stage"]].itertuples(index=False, name=None)]))
    for sid, st in order:
        b = b_idx.loc[(sid, st)] if b_idx is not None and (sid, st) in b_idx.index else None
        a = a_idx.loc[(sid, st)] if a_idx is not None and (sid, st) in a_idx.index else None
        ref = a if a is not None else b
        row = [sid, ref["name"], V.stage_word(st, lang),
               int(b["pupils"]) if b is not None else None,
               int(a["pupils"]) if a is not None else None]
        fmts = {head[3]: "#,##0", head[4]: "#,##0"}
        for j, k in enumerate(keys):
            thr = ref.get(f"threshold_{k}")
            vb = b.get(f"value_{k}") if b is not None else None
            va = a.get(f"value_{k}") if a is not None else None
            vb = float(vb) if _known(vb) else None
            va = float(va) if _known(va) else None
            row += [vb, va, float(thr) if _known(thr) else None]
            fmts[head[5 + 3 * j]] = _num_format(None, vb, thr)
            fmts[head[6 + 3 * j]] = _num_format(None, va, thr)
            fmts[head[7 + 3 * j]] = "#,##0.0#"
        if a is not None:
            row += [int(a["met"]), yes_no(bool(a["passed"]), lang)]
        else:
            row += [None, tr("map.status.closed", lang)]
        sh.add(row, fmts)
    return sh.frame()


def _teachers_sheet(res: RunResult, lang: str) -> pd.DataFrame:
    keys = ("indicator", "name", "teacher_id", "teacher", "school_id", "school", "stage",
            "recorded")
    cols = {k: _col(k, lang) for k in keys}
    sh = _Sheet([cols[k] for k in keys])
    for ind in res.after.a_results:
        if ind.kind not in ("training_hours", "certification"):
            continue
        for x in (ind.details or {}).get("short_teachers", []):
            v = x.get("value")
            rec: Any
            if v is None:
                rec = tr("report.not_recorded", lang)
            elif ind.kind == "certification":
                rec = yes_no(v, lang)
            else:
                rec = v
            sh.add([ind.id, indicator_name(ind, lang), x.get("teacher_id"), x.get("name"),
                    x.get("school_id"), x.get("school"), V.stage_word(x.get("stage"), lang),
                    rec], {cols["recorded"]: "0.#"})
    return sh.frame()


def _b_sheet(rep: Report, lang: str) -> pd.DataFrame:
    keys = ("indicator", "name", "b_item", "b_item_text", "b_points", "b_item_score",
            "b_score_ind", "b_line", "passed")
    cols = {k: _col(k, lang) for k in keys}
    sh = _Sheet([cols[k] for k in keys])
    for ind in rep.b_results:
        det = ind.details or {}
        for it in det.get("items") or []:
            sh.add([ind.id, indicator_name(ind, lang), it.get("item"),
                    it.get("zh", "") if lang == "zh" else "", it.get("points"), it.get("score"),
                    ind.county_value, ind.threshold, _pass_word(ind, lang)],
                   {cols["b_points"]: "0.#", cols["b_item_score"]: "0.#",
                    cols["b_score_ind"]: "0.#", cols["b_line"]: "0.#"})
    sh.add(["", tr("report.b_total", lang), "", "", None, None, plain(rep.b_score),
            rep.b_total_min, b_grade(rep, lang) or ""], {cols["b_score_ind"]: "0.0"})
    return sh.frame()


def _veto_sheet(rep: Report, lang: str) -> pd.DataFrame:
    sh = _Sheet([tr("report.veto_item", lang), tr("report.veto_state", lang)])
    for k, names in rep.veto_names.items():
        state = "veto_on" if k in rep.veto else ("veto_unknown" if k in rep.veto_unknown
                                                 else "veto_off")
        sh.add([names.get(lang, k), tr(f"report.{state}", lang)])
    return sh.frame()


def _warnings_sheet(rep: Report, lang: str) -> pd.DataFrame | None:
    if not rep.input_warnings:
        return None
    sh = _Sheet([_col("school_id", lang), _col("school", lang), _col("row", lang),
                 _col("column", lang), _col("warning", lang)])
    for w in rep.input_warnings:
        sh.add([w.get("school_id"), w.get("school"), w.get("row"),
                w.get("column_zh") if lang == "zh" else w.get("column"),
                V.input_warning_text(w, lang)])
    return sh.frame()


#: label kinds whose codes a sheet's column of that name holds (put into words)
_CODE_COLUMNS = {"stage": "stage", "degree": "degree", "backbone": "backbone",
                 "type": "school_type", "area_type": "area_type", "status": "status"}


def localise_sheet(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A presenter's sheet with every header that is still a code (``school_id``,
    ``children`` ...) put into words (catalogue ``report.label.<code>``), the codes of
    stage, degree, backbone level, school type and area type into words, and truth
    values as 是/否. Headers and values already in words are left as they are."""
    known = catalogue()
    out = df.copy()
    for c in list(out.columns):
        kind = _CODE_COLUMNS.get(str(c))
        if kind is not None:
            out[c] = [label(kind, v, lang) if isinstance(v, str) and v else v for v in out[c]]
        if out[c].dtype == bool or out[c].dtype == object:
            out[c] = [yes_no(bool(v), lang) if isinstance(v, bool) or type(v).__name__ == "bool_"
                      else v for v in out[c]]
    out = out.rename(columns=lambda c: tr(f"report.label.{c}", lang)
                     if f"report.label.{c}" in known else c)
    out.attrs = dict(df.attrs)
    return out


def _sheet_name(name: str, lang: str) -> str:
    """A presenter's sheet name with a stage code put into words (``划片primary`` →
    ``划片小学``)."""
    for st in ("primary", "junior"):
        if lang == "zh" and st in name:
            name = name.replace(st, label("stage", st, lang))
    return name


def workbook_sheets(res: RunResult, lang: str = "zh") -> dict:
    """The run workbook (see the module docstring), then every plan's sheets from its
    presenter, localised."""
    sheets = {tr("run.sheet.summary", lang): _summary_sheet(res, lang),
              tr("run.sheet.indicators", lang): _compare_sheet(res, lang),
              tr("run.sheet.cv", lang): _cv_sheet(res, lang),
              tr("run.sheet.failing", lang): _failing_sheet(res, lang),
              tr("run.sheet.school_parts", lang): _parts_sheet(res, lang),
              tr("run.sheet.teachers", lang): _teachers_sheet(res, lang),
              tr("run.sheet.b", lang): _b_sheet(res.after, lang),
              tr("run.sheet.veto", lang): _veto_sheet(res.after, lang)}
    warn = _warnings_sheet(res.before, lang)
    if warn is not None:
        sheets[tr("run.sheet.warnings", lang)] = warn
    for presenter, outcome in plans_of(res):
        for name, df in presenter.workbook_sheets(outcome, lang).items():
            sheets[_sheet_name(str(name), lang)] = localise_sheet(df, lang)
    return sheets


# --------------------------------------------------------------------- console

def no_plan_lines(res: RunResult, lang: str = "zh", indent: str = "") -> list[str]:
    """Each plan of a run that could not be made, with the limits that bind (its
    presenter's lines, indented by ``indent``)."""
    presenters = dict(plans_of(res, keyed=True))
    lines: list[str] = []
    for kind, status in res.statuses().items():
        if status.has_plan:
            continue
        lines.append(tr("run.no_plan", lang, plan=tr(f"run.plan.{kind}", lang),
                        status=label("status", status.value, lang)))
        presenter, outcome = presenters[kind]
        lines += [indent + str(x) for x in presenter.console_lines(outcome, lang)]
    return lines


def console_lines(res: RunResult, lang: str = "zh") -> list[str]:
    """What ``planner run`` / ``planner demo`` print: the data warnings, the verdict,
    the A indicators that fail, each plan's figures, every plan that could not be made
    with the limits that bind (its presenter's lines), the verification and the report."""
    f = res.figures
    after = res.after
    verdict = tr("run.verdict.recognised" if f["recognised"] else "run.verdict.not_recognised",
                 lang)
    grade = b_grade(after, lang)
    lines = [tr("input.console", lang) + V.input_warning_text(w, lang)
             for w in res.before.input_warnings]
    lines += [tr("run.verdict", lang, verdict=verdict, a_passed=f["a_passed"],
                 a_total=f["a_total"], b_score=f["b_score"], b_grade=grade),
              tr("run.a_change", lang, before=res.before.a_passed, after=after.a_passed,
                 total=after.a_total)]
    for ind in after.a_results:
        if ind.passed:
            continue
        n = len(ind.failing_schools)
        name = indicator_name(ind, lang)
        tail = tr("run.fail.no_data", lang) if ind.no_data else (
            tr("run.fail.schools", lang, n=n) if n else tr("run.fail.county", lang))
        lines.append(f"  ✗ {ind.id}. {name}: {tail}")
    if res.consolidation is not None:
        lines.append(tr("run.consolidation", lang, **f))
        from planner.outputs.consolidation import explanation_text
        for e in res.consolidation.result.explanations:
            lines.append("  " + explanation_text(e, lang))
    if res.rotation is not None:
        lines.append(tr("run.rotation", lang, **f))
    if res.catchments:
        lines.append(tr("run.catchments", lang,
                        **{**f, "max_load_ratio": _figure_text("max_load_ratio",
                                                               f.get("max_load_ratio"), lang)}))
        from planner.outputs.catchments import headline as catchment_headline
        lines += ["  " + h for h in catchment_headline(res.catchments, lang)]
    if res.remediation is not None and res.remediation.status.has_plan:
        from planner.outputs.remediation import console_lines as remediation_lines
        lines += remediation_lines(res.remediation, lang)[:2]
    if getattr(res, "roadmap", None) is not None:
        from planner.outputs.roadmap import console_lines as roadmap_lines
        lines += roadmap_lines(res.roadmap, lang)
    lines += no_plan_lines(res, lang, indent="  ")
    if res.verification:
        from planner.outputs.verification import problem_text
        lines.append(tr("run.verify.problems", lang)
                     + "; ".join(problem_text(v, lang) for v in res.verification))
    elif res.every_plan_made:
        n = res.plan_warnings
        lines.append(tr("run.verify.warn", lang, n=n) if n else tr("run.verify.ok", lang))
    else:
        lines.append(tr("run.verify.partial", lang))
    lines.append(tr("run.output", lang) + str(res.out / "report.html"))
    return lines


# --------------------------------------------------------------------- compare

#: the plan figures ``planner compare`` shows, in this order when present (labels:
#: catalogue ``compare.<key>``); any other figure a presenter's ``compare_figures``
#: gives follows them, in its order
COMPARE_KEYS = ("closed", "buses", "bus_km", "max_ride_min", "pupils_moved", "teachers_moved",
                "backbone_moved", "pupils_school_changes", "max_load_ratio",
                "remediation_cost_yuan", "remediation_capital_yuan", "remediation_recurring_yuan",
                "remediation_a_passed")
#: figures ``figures()`` itself writes (the verdict rows, 1-7), not plan figures
_VERDICT_KEYS = ("recognised", "a_passed", "a_total", "a_failing", "b_score", "b_grade",
                 "b_grade_en", "veto", "verified")


def comparison_columns(names: list[str], files: list[Path]) -> list[str]:
    """One distinct column title per scenario: its ``name``, with its file when two
    scenarios share a name (``name（file）``), with the file's folder when that is not
    enough. The same file given twice is an error (``PlanInputError``)."""
    from planner.core.errors import PlanInputError
    seen: dict[Path, int] = {}
    for k, p in enumerate(files):
        rp = Path(p).resolve()
        if rp in seen:
            raise PlanInputError(f"{p}: the same scenario file is given twice (scenarios "
                                 f"{seen[rp] + 1} and {k + 1}); give each scenario once")
        seen[rp] = k
    cols = [str(n) for n in names]
    for attempt in (lambda k: f"{names[k]}（{Path(files[k]).name}）",
                    lambda k: f"{names[k]}（{Path(files[k]).parent.name}/"
                              f"{Path(files[k]).name}）",
                    lambda k: f"{names[k]}（{Path(files[k]).resolve().as_posix()}）"):
        dup = {c for c in cols if cols.count(c) > 1}
        if not dup:
            break
        cols = [attempt(k) if c in dup else c for k, c in enumerate(cols)]
    return cols


def _figure_text(key: str, v: Any, lang: str, fixed: bool = False) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return yes_no(v, lang)
    if isinstance(v, (int, float)):
        if key.startswith("cv_"):
            return V.cv_text(v)
        if key == "max_load_ratio":
            return V.num(float(v) * 100, 2, fixed=fixed) + " %"
        return V.num(v, 2, fixed=fixed)
    if isinstance(v, (list, tuple)):
        return V.listing([str(x) for x in v], lang)
    return str(v)


def _row_texts(key: str, values: list, lang: str) -> list[str]:
    """One figure across the scenarios, every number with the same decimals: whole
    numbers stay whole, and when one value needs decimals they all show two (1.41 beside
    1.40, not 1.4; 1,306,269.20 yuan beside 1,264,469.20)."""
    texts = [_figure_text(key, v, lang) for v in values]
    if any("." in t for t, v in zip(texts, values)
           if isinstance(v, (int, float)) and not isinstance(v, bool)):
        texts = [_figure_text(key, v, lang, fixed=True) for v in values]
    return texts


def comparison_frame(names: list[str], figs: list[dict], lang: str = "zh",
                     indicator_names: dict[int, str] | None = None) -> pd.DataFrame:
    """One row per figure, one column per scenario (``comparison.csv``), every row and
    value in words: the verdict, A passed, the failing A indicators by number, one row
    per A indicator that fails in any scenario (达标 / 未达标), the B score and grade,
    verification, every plan figure (``compare.<key>``), then the county values and CVs
    of 1-7 by indicator name and stage."""
    known = catalogue()
    indicator_names = indicator_names or {}
    fig_col = tr("compare.figure", lang)
    rows: list[dict] = []

    def row(label_text: str, cells: list[str]) -> None:
        r = {fig_col: label_text}
        r.update({n: c for n, c in zip(names, cells)})
        rows.append(r)

    def each(fn) -> list[str]:
        return [fn(f) for f in figs]

    groups = {0: "verdict"}
    row(tr("compare.recognised", lang), each(lambda f: yes_no(f.get("recognised"), lang)))
    row(tr("compare.a_passed", lang), each(lambda f: f"{f.get('a_passed')} / {f.get('a_total')}"))
    row(tr("compare.a_failing", lang), each(
        lambda f: V.listing([str(i) for i in f.get("a_failing") or []], lang)
        or tr("report.none", lang)))
    failing = sorted({i for f in figs for i in (f.get("a_failing") or [])})
    for i in failing:
        name = indicator_names.get(i, "")
        row(tr("compare.indicator", lang, id=i, name=name), each(
            lambda f, i=i: tr("report.no" if i in (f.get("a_failing") or []) else "report.yes",
                              lang) if "a_failing" in f else ""))
    row(tr("compare.b_score", lang), each(lambda f: V.num(f.get("b_score"), 1)))
    row(tr("compare.b_grade", lang), each(
        lambda f: str(f.get("b_grade_en" if lang == "en" else "b_grade") or "")))
    row(tr("compare.verified", lang), each(lambda f: yes_no(f.get("verified"), lang)))
    plan_keys = [k for k in COMPARE_KEYS if any(k in f for f in figs)]
    for f in figs:
        for k in f:
            if k not in plan_keys and k not in COMPARE_KEYS and k not in _VERDICT_KEYS \
                    and not k.startswith(("cv_", "value_")):
                plan_keys.append(k)
    if plan_keys:
        groups[len(rows)] = "plans"
    for k in plan_keys:
        text = tr(f"compare.{k}", lang) if f"compare.{k}" in known else (
            tr(f"report.label.{k}", lang) if f"report.label.{k}" in known else k)
        row(text, _row_texts(k, [f.get(k) for f in figs], lang))
    extra = sorted({k for f in figs for k in f if k.startswith(("value_", "cv_"))},
                   key=lambda k: (int(k.split("_")[1]), k.split("_")[2] != "primary",
                                  not k.startswith("value_")))
    if extra:
        groups[len(rows)] = "indicators"
    for k in extra:
        kind, i, st = k.split("_", 2)
        text = tr(f"compare.{kind}_row", lang, id=i,
                  name=V.short_name(int(i), lang, indicator_names.get(int(i))),
                  stage=V.stage_word(st, lang))
        row(text, _row_texts(k, [f.get(k) for f in figs], lang))
    df = pd.DataFrame(rows, columns=[fig_col, *names])
    df.attrs["groups"] = groups
    return df


def comparison_text(df: pd.DataFrame) -> str:
    """The comparison as aligned console text (a CJK character is two columns wide)."""
    from planner.outputs.checkfiles import _display_width
    cols = list(df.columns)
    rows = [[str(c) for c in cols]] + [["" if v is None else str(v) for v in r]
                                       for r in df.itertuples(index=False, name=None)]
    widths = [max(_display_width(r[j]) for r in rows) for j in range(len(cols))]

    def cell(text: str, j: int) -> str:
        pad = " " * (widths[j] - _display_width(text))
        return text + pad if j == 0 else pad + text
    return "\n".join("  ".join(cell(v, j) for j, v in enumerate(r)).rstrip() for r in rows)


def write_comparison(names: list[str], figs: list[dict], out: Path, lang: str = "zh",
                     indicator_names: dict[int, str] | None = None,
                     links: list[str] | None = None):
    """``comparison.csv`` and ``comparison.html`` in ``out``; returns the table.
    ``links``: each scenario's report, relative to ``out`` (a row of links in the HTML,
    of paths in the CSV)."""
    from planner.io.export import write_csv, write_text
    from planner.outputs.report import esc
    df = comparison_frame(names, figs, lang, indicator_names)
    table = df
    if links:
        table = pd.concat([df, pd.DataFrame([{tr("compare.figure", lang): tr("compare.report",
                                                                               lang),
                                               **dict(zip(names, links))}])],
                          ignore_index=True)
    write_csv(table, out / "comparison.csv")
    title = tr("compare.title", lang)
    head = f"<th>{esc(df.columns[0])}</th>" + "".join(
        f"<th><a href='{esc(x)}'>{esc(c)}</a></th>" if links else f"<th>{esc(c)}</th>"
        for c, x in zip(df.columns[1:], links or [""] * (len(df.columns) - 1)))
    groups = df.attrs.get("groups") or {}
    body = []
    for k, r in enumerate(df.itertuples(index=False, name=None)):
        if k in groups:
            body.append(f"<tr class='grp'><th colspan='{len(df.columns)}'>"
                        f"{esc(tr('compare.group.' + groups[k], lang))}</th></tr>")
        cells = [f"<td>{esc(r[0])}</td>"]
        for v in r[1:]:
            cls = " class='fail'" if v == tr("report.no", lang) else (
                " class='pass'" if v == tr("report.yes", lang) else "")
            cells.append(f"<td{cls}>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if links:
        body.append(f"<tr><td>{esc(tr('compare.report', lang))}</td>" + "".join(
            f"<td><a href='{esc(x)}'>{esc(tr('compare.open_report', lang))}</a></td>"
            for x in links) + "</tr>")
    html = ("<!DOCTYPE html><html lang='" + tr("report.html_lang", lang) + "'><head>"
            "<meta charset='utf-8'><title>" + esc(title) +
            "</title><style>body{font-family:'Noto Sans CJK SC','Noto Sans SC',"
            "'Microsoft YaHei',sans-serif;margin:2em;font-size:14px}"
            "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 10px;"
            "text-align:left;vertical-align:top}th{background:#eef1f5}"
            "td:not(:first-child){text-align:right}.fail{color:#b3261e;font-weight:600}"
            "tr.grp th{background:#dde3ea;text-align:left}th a{color:#0d47a1}"
            ".pass{color:#17663a}</style></head><body><h1>" + esc(title) + "</h1>"
            "<table><tr>" + head + "</tr>" + "".join(body) + "</table></body></html>\n")
    write_text(html, out / "comparison.html")
    return table
