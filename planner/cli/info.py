"""``planner info``: load a district and print its summary."""

from __future__ import annotations

from planner.cli.common import district_arg, lang_arg, load_arg
from planner.outputs.console import district_summary


def register(sub) -> None:
    p = sub.add_parser("info", help="load a district and print its summary")
    district_arg(p, optional=True)
    lang_arg(p)
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    d = load_arg(args)
    print(district_summary(d, args.lang))
    return 0
