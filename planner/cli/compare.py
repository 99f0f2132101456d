"""``planner compare A.yaml B.yaml --out DIR``: scenarios side by side.

Each scenario runs into ``DIR/NN_<file stem>``; ``comparison.csv`` and
``comparison.html`` put them side by side in words (the verdict, the failing A
indicators by number and name, the key plan figures, 1-7), with a link to each
scenario's report. Two scenarios with one ``name:`` get distinct columns (name and
file); the same file given twice is an error (exit 2). The comparison's language is
``--lang``, else the first scenario's ``lang:``, else zh; every scenario of the
comparison is run in it. Exit code 3 when a plan of any scenario cannot meet its hard
limits (the table is still written)."""

from __future__ import annotations

from pathlib import Path

from planner.cli.common import lang_arg, out_arg
from planner.cli.run import EXIT_NO_PLAN, EXIT_OK
from planner.io.export import output_folder
from planner.outputs.checkfiles import indicator_name
from planner.outputs.i18n import tr
from planner.outputs.run import comparison_columns, comparison_text, write_comparison
from planner.plans.scenario import load_scenario
from planner.runner import run_language, run_scenario


def register(sub) -> None:
    p = sub.add_parser("compare", help="run scenarios and compare them side by side")
    p.add_argument("scenarios", type=Path, nargs="+")
    out_arg(p)
    p.add_argument("--quiet", action="store_true")
    lang_arg(p, scenario=True)
    p.set_defaults(func=cmd_compare)


def cmd_compare(args) -> int:
    scens = [load_scenario(sp) for sp in args.scenarios]   # every file checked first
    # one column per scenario: same-named scenarios are told apart by their file; the
    # same file twice is an error, before anything runs
    columns = comparison_columns([s.name for s in scens], list(args.scenarios))
    lang = run_language(scens[0], args.lang)
    figs, links, made = [], [], True
    names: dict[int, str] = {}
    # every scenario's run and the comparison are staged and appear as one set
    with output_folder(args.out, "compare", districts=[s.district for s in scens],
                       inputs=[s.path for s in scens], force=args.force) as of:
        for i, (sp, scen) in enumerate(zip(args.scenarios, scens)):
            sub = of.staging / f"{i + 1:02d}_{sp.stem}"
            res = run_scenario(scen, sub, lang=lang, quiet=args.quiet, anonymise=args.anonymise)
            figs.append(res.figures)
            links.append(f"{sub.name}/report.html")
            names.update({ind.id: indicator_name(ind, lang) for ind in res.after.a_results})
            made &= res.every_plan_made
        df = write_comparison(columns, figs, of.staging, lang, indicator_names=names,
                              links=links)
        of.commit()
    print(comparison_text(df))
    print(tr("compare.written", lang, path=args.out / "comparison.html"))
    return EXIT_OK if made else EXIT_NO_PLAN
