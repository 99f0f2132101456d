"""``planner project``: enrolment per school, stage and school year with an 80 % band
(:mod:`planner.plans.projection`), and with ``--backtest`` the error of re-projections
from earlier years (MAPE at 1 and 5 years for the county and per school).

Options are the fields of :class:`~planner.core.params.ProjectionParams` (their one
default lives there). Writes ``projection.csv``, ``projection_candidates.csv``,
``projection_county.csv``, ``projection.xlsx`` (and ``backtest.csv``,
``backtest.json``) in ``--out``. Exit 0, 2 for bad input (no history, no births).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from planner.cli.common import district_arg, lang_arg, load_arg, out_arg, plan_output, timer_of
from planner.core.params import ProjectionParams, add_options, from_args
from planner.outputs import projection as presenter
from planner.outputs.i18n import tr
from planner.plans.projection import project


def register(sub) -> None:
    p = sub.add_parser("project", help="project enrolment per school and year "
                                       "(在校生规模预测)")
    district_arg(p, optional=True)
    out_arg(p)
    p.add_argument("--backtest", action="store_true",
                   help="re-project from earlier years and report the error (MAPE)")
    add_options(p, ProjectionParams, ProjectionParams.names())
    lang_arg(p)
    p.set_defaults(func=cmd_project)


def cmd_project(args: argparse.Namespace) -> int:
    params = from_args(ProjectionParams, args)
    d = load_arg(args)
    with plan_output(args, "project", d) as staging:
        o = project(d, params, with_backtest=args.backtest)
        timer_of(args).step("plan")
        presenter.write_files(o, staging, args.lang)
    out = Path(args.out)
    lines = presenter.console_lines(o, args.lang)
    lines.append(tr("projection.console.files", args.lang, path=out))
    print("\n".join(lines))
    return 0
