"""``planner catchments``: contiguous enrolment catchment zones.

Options come from :class:`planner.core.params.CatchmentParams` and
:class:`~planner.core.params.SolveParams` (their one default each); ``--stage``
zones one stage (``stages``), ``--exclude-boarding`` sets ``include_boarding``
false, ``--move-current`` sets ``keep_current`` false. Exit 0 when every stage has a
plan, 3 when one has none (one printed line per stage names what is missing and
where).
"""

from __future__ import annotations

import argparse

from planner.core.params import CatchmentParams, SolveParams, add_options, from_args
from planner.outputs import catchments as presenter
from planner.plans.catchments import catchment_plan, plan_status


def register(sub) -> None:
    from planner.cli.common import district_arg, lang_arg, out_arg
    p = sub.add_parser("catchments", help="draw enrolment catchment zones")
    district_arg(p, optional=True)
    out_arg(p)
    p.add_argument("--stage", choices=("primary", "junior"), help="one stage (default both)")
    add_options(p, CatchmentParams, ["contiguity", "k_nearest", "stability_penalty",
                                     "include_private", "take_up", "max_changed", "gap"])
    p.add_argument("--exclude-boarding", action="store_true",
                   help="do not zone boarding schools (indicator 21 leaves them out of its share)")
    p.add_argument("--move-current", action="store_true",
                   help="today's pupils move to their zone's school at once (keep_current false)")
    add_options(p, SolveParams, ["solver", "time_limit"])
    lang_arg(p)
    p.set_defaults(func=cmd_catchments)


def params_from_args(args: argparse.Namespace) -> tuple[CatchmentParams, SolveParams]:
    """The plan's settings from the parsed options (defaults: the parameters classes)."""
    params = from_args(CatchmentParams, args)
    if args.stage:
        params = params.replace(stages=(args.stage,))
    if args.exclude_boarding:
        params = params.replace(include_boarding=False)
    if args.move_current:
        params = params.replace(keep_current=False)
    return params, from_args(SolveParams, args)


def cmd_catchments(args: argparse.Namespace) -> int:
    from planner.cli.common import load_arg, plan_output, timer_of
    params, solve = params_from_args(args)
    d = load_arg(args)
    with plan_output(args, "catchments", d) as staging:
        outcomes = catchment_plan(d, params, solve)
        timer_of(args).plan(outcomes)
        presenter.write_files(outcomes, staging, args.lang)
    print("\n".join(presenter.console_lines(outcomes, args.lang)))
    return 0 if plan_status(outcomes).has_plan else 3
