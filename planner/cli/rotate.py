"""``planner rotate``: the year's teacher rotation list.

Options are the fields of :class:`~planner.core.params.RotationParams` and the
solver and time limit of :class:`~planner.core.params.SolveParams` (their one
default lives there). Exit 0 with a plan, 3 when no plan meets the hard rotation
counts (the closest plan is written and the message says what is short).
"""

from __future__ import annotations

import argparse

from planner.cli.common import district_arg, lang_arg, load_arg, out_arg, plan_output, timer_of
from planner.core.params import RotationParams, SolveParams, add_options, from_args
from planner.outputs import rotation as presenter
from planner.plans.rotation import rotate

#: the SolveParams fields ``planner rotate`` offers
SOLVE_OPTIONS = ["solver", "time_limit"]


def register(sub) -> None:
    p = sub.add_parser("rotate", help="draw up the year's teacher rotation list")
    district_arg(p, optional=True)
    out_arg(p)
    add_options(p, RotationParams, RotationParams.names())
    add_options(p, SolveParams, SOLVE_OPTIONS)
    lang_arg(p)
    p.set_defaults(func=cmd_rotate)


def cmd_rotate(args: argparse.Namespace) -> int:
    params = from_args(RotationParams, args)
    solve = from_args(SolveParams, args)
    d = load_arg(args)
    with plan_output(args, "rotate", d) as staging:
        o = rotate(d, params, solve)
        timer_of(args).plan(o)
        presenter.write_files(o, staging, args.lang)
    print("\n".join(presenter.console_lines(o, args.lang)))
    return 0 if o.status.has_plan else 3
