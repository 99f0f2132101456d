"""``planner catchments``: contiguous enrolment catchment zones."""

from __future__ import annotations

import argparse
from pathlib import Path

from planner.io.export import check_out_dir
from planner.outputs import catchments as presenter
from planner.plans.catchments import catchments


def register(sub) -> None:
    from planner.cli.common import district_arg, lang_arg
    p = sub.add_parser("catchments", help="draw enrolment catchment zones")
    district_arg(p, optional=True)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--stage", choices=("primary", "junior"), help="one stage (default both)")
    p.add_argument("--contiguity", choices=("sweep", "cheap", "flow"), default="sweep",
                   help="sweep (default): a unit joins a school only through a neighbour met "
                        "earlier in a cheapest-first sweep from the school; cheap: through a "
                        "neighbour nearer to the school; flow: exact flow formulation (slow)")
    p.add_argument("--k-nearest", type=int, default=8, help="candidate schools per unit")
    p.add_argument("--exclude-boarding", action="store_true",
                   help="do not zone boarding schools (indicator 21 leaves them out of its share)")
    p.add_argument("--solver", choices=("highs", "cbc"), default="highs")
    p.add_argument("--time-limit", type=float, default=60.0)
    lang_arg(p)
    p.set_defaults(func=cmd_catchments)



def cmd_catchments(args: argparse.Namespace) -> int:
    from planner.cli.common import UsageError, load_arg
    d = load_arg(args)
    out = check_out_dir(args.out, d.path)
    stages = [args.stage] if args.stage else ["primary", "junior"]
    try:
        outcomes = [catchments(d, st, mode=args.contiguity, k_nearest=args.k_nearest,
                               solver=args.solver, time_limit=args.time_limit,
                               include_boarding=not args.exclude_boarding) for st in stages]
    except ValueError as e:
        raise UsageError(str(e)) from None
    presenter.write_files(outcomes, out, args.lang)
    print("\n".join(presenter.console_lines(outcomes, args.lang)))
    ok = all(o.result.status in ("optimal", "feasible") for o in outcomes)
    return 0 if ok else 3
