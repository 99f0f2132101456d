"""``planner consolidate``: close small schools and plan the school buses."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from models import consolidation as M
from planner.outputs import consolidation as presenter
from planner.plans.consolidation import check_out_dir, consolidate, read_closures


def register(sub) -> None:
    from planner.cli.common import district_arg, lang_arg
    p = sub.add_parser("consolidate", help="close small schools and plan school buses")
    district_arg(p, optional=True)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--plan", type=Path, help="closures.csv / .xlsx: school_id, receiving_school_id, share")
    g.add_argument("--optimise", "--optimize", action="store_true",
                   help="choose the closures and receivers at least annual cost")
    p.add_argument("--max-ride-min", type=float, default=30.0, help="longest ride of a pupil (min)")
    p.add_argument("--bus-capacity", type=int, default=56, help="seats per bus")
    p.add_argument("--candidates-max-pupils", type=int, default=100,
                   help="optimise: schools under this many pupils may close")
    p.add_argument("--time-limit", type=float, default=60.0, help="MIP time limit (s)")
    p.add_argument("--seed", type=int, default=0)
    c = M.Costs()
    p.add_argument("--bus-yuan-per-year", type=float, default=c.bus_yuan_per_year,
                   help=f"annual cost of one bus with its driver (default {c.bus_yuan_per_year:,.0f})")
    p.add_argument("--yuan-per-bus-km", type=float, default=c.yuan_per_bus_km,
                   help=f"running cost per bus-km (default {c.yuan_per_bus_km})")
    p.add_argument("--yuan-per-pupil-minute", type=float, default=c.yuan_per_pupil_minute,
                   help=f"value of a pupil's ride minute (default {c.yuan_per_pupil_minute})")
    p.add_argument("--school-yuan-per-year", type=float, default=c.school_yuan_per_year,
                   help=f"annual running cost saved by closing a school (default "
                        f"{c.school_yuan_per_year:,.0f})")
    lang_arg(p)
    p.set_defaults(func=cmd_consolidate)



def cmd_consolidate(args: argparse.Namespace) -> int:
    from planner.cli.common import UsageError, load_arg
    if args.plan is None and not args.optimise:
        raise UsageError("consolidate: give --plan FILE or --optimise")
    if not args.max_ride_min > 0:
        raise UsageError(f"--max-ride-min {args.max_ride_min}: must be positive")
    if args.bus_capacity < 1:
        raise UsageError(f"--bus-capacity {args.bus_capacity}: must be a positive integer")
    if not args.time_limit > 0:
        raise UsageError(f"--time-limit {args.time_limit}: must be positive")
    for k in ("bus_yuan_per_year", "yuan_per_bus_km", "yuan_per_pupil_minute",
              "school_yuan_per_year"):
        v = getattr(args, k)
        if not (v >= 0 and math.isfinite(v)):
            raise UsageError(f"--{k.replace('_', '-')} {v}: must be a non-negative number")
    costs = M.Costs(bus_yuan_per_year=args.bus_yuan_per_year, yuan_per_bus_km=args.yuan_per_bus_km,
                    yuan_per_pupil_minute=args.yuan_per_pupil_minute,
                    school_yuan_per_year=args.school_yuan_per_year)
    d = load_arg(args)
    if args.plan is not None:
        read_closures(args.plan, d)     # a bad plan fails before --out is created
    check_out_dir(args.out, d)
    o = consolidate(d, plan=args.plan, optimise=args.optimise, max_ride_min=args.max_ride_min,
                    bus_capacity=args.bus_capacity, candidates_max_pupils=args.candidates_max_pupils,
                    time_limit=args.time_limit, seed=args.seed, costs=costs)
    presenter.write_files(o, args.out, args.lang)
    for line in presenter.console_lines(o, args.lang):
        print(line)
    zh = args.lang == "zh"
    print(("输出" if zh else "written") + f": {Path(args.out)}")
    return 0 if o.result.status in ("optimal", "feasible") else 3
