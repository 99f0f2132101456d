"""``planner run SCENARIO --out DIR`` and ``planner demo``: the main job.

Exit code 0 when every plan the scenario asks for was made and verified, 3 when a
plan cannot meet its hard limits (the lines printed name the limit and where),
1 when the independent verifier finds a problem in a plan that was made (a bug)."""

from __future__ import annotations

from pathlib import Path

from planner.cli.common import lang_arg, out_arg
from planner.outputs.run import console_lines
from planner.plans.scenario import RunResult, find_demo_scenario, load_scenario
from planner.runner import run_language, run_scenario

#: exit codes of a run (see planner.cli)
EXIT_OK, EXIT_INTERNAL, EXIT_NO_PLAN = 0, 1, 3


def register(sub) -> None:
    p = sub.add_parser("run", help="run a scenario: plans, checks, map and report")
    p.add_argument("scenario", type=Path)
    out_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    lang_arg(p, scenario=True)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="run the bundled Yunxi district's own plan")
    out_arg(p, default=Path("out/demo"))
    p.add_argument("--quiet", action="store_true")
    lang_arg(p, scenario=True)
    p.set_defaults(func=cmd_demo)


def run_exit_code(res: RunResult) -> int:
    """3 when a plan could not be made, else 1 when verification found a problem, else 0."""
    if not res.every_plan_made:
        return EXIT_NO_PLAN
    return EXIT_INTERNAL if res.verification else EXIT_OK


def _run(path: Path, args) -> int:
    scen = load_scenario(path)
    lang = run_language(scen, args.lang)
    res = run_scenario(scen, args.out, lang=lang, quiet=args.quiet, anonymise=args.anonymise,
                       force=args.force, started=getattr(args, "started", None))
    print("\n".join(console_lines(res, lang)))
    return run_exit_code(res)


def cmd_run(args) -> int:
    return _run(args.scenario, args)


def cmd_demo(args) -> int:
    return _run(find_demo_scenario(), args)
