"""``planner consolidate``: close small schools and plan the school buses.

The options are those of :class:`planner.core.params.ConsolidationParams`, of the
costs (:class:`models.consolidation.Costs`) and of
:class:`planner.core.params.SolveParams`, built with ``add_options`` (their one
default lives in those classes); ``--plan FILE`` is ``mode: plan`` with that
closures file, ``--optimise`` is ``mode: optimise``. Exit 0 when a plan meets
every hard limit, 3 when none does (the limits that bind are printed), 2 for
bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.consolidation import Costs
from planner.core.params import ConsolidationParams, SolveParams, add_options, from_args

#: the cost options (the costs of a scenario may also set trips_per_day,
#: directions and school_days)
COST_OPTIONS = ["bus_yuan_per_year", "driver_yuan_per_year", "attendant_yuan_per_year",
                "yuan_per_bus_km", "yuan_per_pupil_minute", "school_yuan_per_year"]
#: the plan's own options (ConsolidationParams fields)
PLAN_OPTIONS = ["max_ride_min", "bus_capacity", "candidates_max_pupils", "walk_limit_m",
                "young_share", "catchment_units", "bell_time", "arrival_margin_min",
                "earliest_arrival_min", "stop_dwell_min", "max_trips", "route_seconds"]


def register(sub) -> None:
    from planner.cli.common import district_arg, lang_arg, out_arg
    p = sub.add_parser("consolidate", help="close small schools and plan school buses")
    district_arg(p, optional=True)
    out_arg(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--plan", type=Path,
                   help="closures.csv / .xlsx: school_id, receiving_school_id, share")
    g.add_argument("--optimise", "--optimize", action="store_true",
                   help="choose the closures and receivers at least annual cost")
    add_options(p, ConsolidationParams, PLAN_OPTIONS)
    add_options(p, SolveParams, ["solver", "time_limit", "seed"])
    add_options(p, Costs, COST_OPTIONS)  # type: ignore[arg-type]
    lang_arg(p)
    p.set_defaults(func=cmd_consolidate)


def params_from_args(args: argparse.Namespace) -> tuple[ConsolidationParams, SolveParams]:
    """The plan's parameters and the solver's from the parsed options (checked
    like a scenario section: a bad value is a DataError, exit 2)."""
    costs = {k: getattr(args, k) for k in COST_OPTIONS if getattr(args, k) is not None}
    base = ConsolidationParams.from_dict(
        {"mode": "optimise" if args.optimise else "plan",
         **({"closures": args.plan} if args.plan is not None else {}),
         **({"costs": costs} if costs else {})}, "command line")
    params = from_args(ConsolidationParams, args, base=base)
    return params, from_args(SolveParams, args)


def cmd_consolidate(args: argparse.Namespace) -> int:
    from planner.cli.common import UsageError, load_arg, plan_output, timer_of
    from planner.outputs import consolidation as presenter
    from planner.outputs.i18n import tr
    from planner.plans.consolidation import consolidate, read_closures
    if args.plan is None and not args.optimise:
        raise UsageError("consolidate: give --plan FILE or --optimise")
    params, solve = params_from_args(args)
    d = load_arg(args)
    if args.plan is not None:
        read_closures(args.plan, d)     # a bad plan fails before --out is created
    with plan_output(args, "consolidate", d, inputs=(args.plan,)) as staging:
        o = consolidate(d, params, solve)
        timer_of(args).plan(o)
        presenter.write_files(o, staging, args.lang)
    for line in presenter.console_lines(o, args.lang):
        print(line)
    print(tr("consolidation.console.written", args.lang, path=Path(args.out)))
    return 0 if o.status.has_plan else 3  # not-a-rule: exit code, no plan meets the limits
