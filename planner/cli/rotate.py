"""``planner rotate``: the year's teacher rotation list.

Options are the fields of :class:`~planner.core.params.RotationParams` and the
solver and time limit of :class:`~planner.core.params.SolveParams` (their one
default lives there). Exit 0 with a plan, 3 when no plan meets the hard rotation
counts (the closest plan is written and the message says what is short).

``--record YEAR`` makes the list the one of school year ``YEAR`` (it is the list's
``school_year``) and, when there is a plan, appends it to the district's
``rotation_history.csv`` (made when missing), so next year's run continues from it.
"""

from __future__ import annotations

import argparse

from planner.cli.common import district_arg, lang_arg, load_arg, out_arg, plan_output, timer_of
from planner.core.errors import PlanInputError
from planner.core.params import RotationParams, SolveParams, add_options, from_args
from planner.outputs import rotation as presenter
from planner.outputs.i18n import tr
from planner.plans.rotation import rotate

#: the SolveParams fields ``planner rotate`` offers
SOLVE_OPTIONS = ["solver", "time_limit"]


def register(sub) -> None:
    p = sub.add_parser("rotate", help="draw up the year's teacher rotation list")
    district_arg(p, optional=True)
    out_arg(p)
    add_options(p, RotationParams, RotationParams.names())
    add_options(p, SolveParams, SOLVE_OPTIONS)
    p.add_argument("--record", type=str, default=None, metavar="YEAR",
                   help="the list is for school year YEAR (2025 = 2025/26): append it to "
                        "the district's rotation_history.csv (made when missing)")
    lang_arg(p)
    p.set_defaults(func=cmd_rotate)


def _record_year(args: argparse.Namespace, params: RotationParams) -> int | None:
    if args.record is None:
        return None
    try:
        year = int(args.record)
    except ValueError:
        year = 0
    if year <= 0:
        raise PlanInputError(f"--record {args.record}: not a school year (a positive whole "
                             f"number, 2025 for 2025/26)")
    if params.school_year is not None and params.school_year != year:
        raise PlanInputError(f"--record {year}: the list is for school year "
                             f"{params.school_year} (--school-year); give one year")
    if str(getattr(args, "district", "") or "").lower().endswith(".gpkg"):
        raise PlanInputError(f"--record {year}: the district is a GeoPackage; keep "
                             f"rotation_history.csv in a district folder to record it")
    return year


def cmd_rotate(args: argparse.Namespace) -> int:
    params = from_args(RotationParams, args)
    solve = from_args(SolveParams, args)
    year = _record_year(args, params)
    if year is not None:
        params = params.replace(school_year=year)
    d = load_arg(args)
    if year is not None and d.path is not None:
        presenter.check_record(d, d.path, year)
    with plan_output(args, "rotate", d) as staging:
        o = rotate(d, params, solve)
        timer_of(args).plan(o)
        presenter.write_files(o, staging, args.lang)
    print("\n".join(presenter.console_lines(o, args.lang)))
    if year is not None and o.status.has_plan and d.path is not None:
        path = presenter.record_history(o, d.path, year, args.lang)
        print(tr("rotation.history.recorded", args.lang, rows=len(o.listed()), year=year,
                 next=year + 1, file=path))
    return 0 if o.status.has_plan else 3
