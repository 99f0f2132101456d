"""``planner check``: the 26 A and 10 B indicators, vetoes and the verdict."""

from __future__ import annotations

from pathlib import Path

from planner.cli.common import district_arg, lang_arg, load_arg


def register(sub) -> None:
    p = sub.add_parser("check", help="check a district against the indicators")
    district_arg(p, optional=True)
    p.add_argument("--json", type=Path, help="write the indicator report as JSON")
    p.add_argument("--xlsx", type=Path, help="write the indicator workbook")
    lang_arg(p)
    p.set_defaults(func=cmd_check)


def cmd_check(args) -> int:
    from planner.cli.common import UsageError
    from planner.indicators.engine import check
    from planner.io.export import check_single_output
    from planner.outputs.checkfiles import render_console, write_json, write_xlsx
    if args.json and args.xlsx and args.json.resolve() == args.xlsx.resolve():
        raise UsageError(f"--json and --xlsx name one file ({args.json}); give two names")
    d = load_arg(args)
    # a single-file output never replaces an input of the run or a non-regular file
    for option, path in (("--json", args.json), ("--xlsx", args.xlsx)):
        if path:
            check_single_output(path, option, district=d.path)
    report = check(d)
    print(render_console(report, lang=args.lang))
    if args.json:
        write_json(report, args.json)
    if args.xlsx:
        write_xlsx(report, args.xlsx, lang=args.lang)
    return 0
