"""``planner run SCENARIO --out DIR`` and ``planner demo``: the main job."""

from __future__ import annotations

from pathlib import Path

from planner.cli.common import lang_arg
from planner.plans.scenario import RunResult, find_demo_scenario, load_scenario, run_scenario


def register(sub) -> None:
    p = sub.add_parser("run", help="run a scenario: plans, checks, map and report")
    p.add_argument("scenario", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    lang_arg(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="run the bundled Yunxi district's own plan")
    p.add_argument("--out", type=Path, default=Path("out/demo"))
    p.add_argument("--quiet", action="store_true")
    lang_arg(p)
    p.set_defaults(func=cmd_demo)




def _print_run(res: RunResult, lang: str) -> None:
    f = res.figures
    zh = lang == "zh"
    verdict = ("达到认定条件" if f["recognised"] else "未达到认定条件") if zh else (
        "recognised" if f["recognised"] else "not recognised")
    print(("结论：" if zh else "Verdict: ") + verdict +
          (f"；A 类指标 {f['a_passed']}/{f['a_total']}，B 类 {f['b_score']} 分（{f['b_grade']}）" if zh else
           f"; A indicators {f['a_passed']}/{f['a_total']}, B score {f['b_score']} ({f['b_grade']})"))
    b, a = res.before.to_dict(), res.after.to_dict()
    print((f"方案前 A 类达标 {b['a_passed']}/{b['a_total']} → 方案后 {a['a_passed']}/{a['a_total']}") if zh
          else f"A indicators passed: {b['a_passed']} → {a['a_passed']} of {a['a_total']}")
    for ind in a["indicators"]:
        if ind["class"] == "A" and not ind["passed"]:
            n = len(ind.get("failing_schools") or [])
            name = ind["name"] if zh else ind.get("name_en", ind["name"])
            tail = ("无数据" if zh else "no data") if ind["no_data"] else (
                f"{n} 所学校未达标" if zh else f"{n} failing school(s)") if n else (
                "全县值或差异系数未达标" if zh else "county value or CV fails")
            print(f"  ✗ {ind['id']}. {name}: {tail}")
    if res.consolidation is not None:
        print((f"撤并 {f['closed']} 所，校车 {f['buses']} 辆，{f['bus_km']} km，最长车程 {f['max_ride_min']} 分钟") if zh
              else f"Closed {f['closed']}, {f['buses']} buses, {f['bus_km']} km, longest ride {f['max_ride_min']} min")
        from planner.outputs.consolidation import explanation_text
        for e in res.consolidation.result.explanations:
            print("  " + explanation_text(e, lang))
    if res.rotation is not None:
        print((f"交流轮岗 {f['teachers_moved']} 人，其中骨干 {f['backbone_moved']} 人") if zh
              else f"Rotation: {f['teachers_moved']} teachers, {f['backbone_moved']} backbone")
    if res.catchments:
        print((f"划片最大负荷 {f['max_load_ratio']}") if zh else f"Catchments: max load {f['max_load_ratio']}")
    if res.verification:
        print(("独立校验发现问题：" if zh else "Verification found problems: ") + "; ".join(res.verification))
    else:
        print("全部方案经独立校验通过" if zh else "Every plan passed independent verification")
    print(("输出：" if zh else "Output: ") + str(res.out / "report.html"))



def cmd_run(args) -> int:
    scen = load_scenario(args.scenario)
    res = run_scenario(scen, args.out, lang=args.lang, quiet=args.quiet, anonymise=args.anonymise)
    _print_run(res, args.lang)
    return 0 if not res.verification else 1



def cmd_demo(args) -> int:
    scen = load_scenario(find_demo_scenario())
    res = run_scenario(scen, args.out, lang=args.lang, quiet=args.quiet, anonymise=args.anonymise)
    _print_run(res, args.lang)
    return 0 if not res.verification else 1
