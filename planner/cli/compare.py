"""``planner compare A.yaml B.yaml --out DIR``: scenarios side by side."""

from __future__ import annotations

from pathlib import Path

from planner.cli.common import lang_arg
from planner.plans.scenario import load_scenario, run_scenario


def register(sub) -> None:
    p = sub.add_parser("compare", help="run scenarios and compare them side by side")
    p.add_argument("scenarios", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quiet", action="store_true")
    lang_arg(p)
    p.set_defaults(func=cmd_compare)


COMPARE_ROWS = [
    ("recognised", "是否达到认定条件", "recognised"), ("a_passed", "A 类达标数", "A passed"),
    ("b_score", "B 类得分", "B score"), ("verified", "独立校验通过", "verified"),
    ("closed", "撤并学校数", "schools closed"), ("buses", "校车数", "buses"),
    ("bus_km", "线路总长 km", "bus-km"), ("max_ride_min", "最长车程 分钟", "longest ride min"),
    ("pupils_moved", "转学学生数", "pupils moved"), ("teachers_moved", "交流教师数", "teachers moved"),
    ("backbone_moved", "交流骨干教师数", "backbone moved"),
    ("pupils_school_changes", "划片后换校学生数", "pupils whose school changes"),
    ("max_load_ratio", "最大负荷", "max load ratio"),
]



def cmd_compare(args) -> int:
    import pandas as pd

    from planner.io.export import check_out_dir, write_csv, write_text
    from planner.outputs.report import esc, table_html
    zh = args.lang == "zh"
    out = check_out_dir(args.out, None)
    names, figs = [], []
    for i, sp in enumerate(args.scenarios):
        scen = load_scenario(sp)
        sub = out / f"{i + 1:02d}_{sp.stem}"
        res = run_scenario(scen, sub, lang=args.lang, quiet=args.quiet, anonymise=args.anonymise)
        names.append(scen.name)
        figs.append(res.figures)
    keys = [k for k, _, _ in COMPARE_ROWS] + sorted(
        {k for f in figs for k in f if k.startswith(("cv_", "value_"))})
    label = {k: (zh_ if zh else en) for k, zh_, en in COMPARE_ROWS}
    rows = []
    for k in keys:
        row = {("指标" if zh else "figure"): label.get(k, k)}
        for n, f in zip(names, figs):
            v = f.get(k)
            row[n] = "" if v is None else v
        rows.append(row)
    df = pd.DataFrame(rows)
    write_csv(df, out / "comparison.csv")
    title = "方案对比" if zh else "Scenario comparison"
    html = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + esc(title) +
            "</title><style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:2em}"
            "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:3px 8px}"
            "th{background:#eef1f5}</style></head><body><h1>" + esc(title) + "</h1>" +
            table_html(df.astype(str)) + "</body></html>\n")
    write_text(html, out / "comparison.html")
    print(df.to_string(index=False))
    return 0
