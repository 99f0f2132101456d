"""``planner remediate``: the least-cost remediation programme (达标整改测算).

Options are the fields of :class:`~planner.core.params.RemediationParams` (``--costs
FILE`` overrides the cost table key by key) and the solver and time limit of
:class:`~planner.core.params.SolveParams` (their one default lives there). Writes
``remediation.csv``, ``remediation.xlsx``, ``summary.json`` and ``district_after/`` in
``--out`` and re-verifies them independently (:mod:`planner.verify.remediation`).
Exit 0 with a verified programme, 3 when no programme meets the hard limits (the
closest one is written and the lines say which school, indicator and limit), 1 when
the verifier rejects the written programme.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from planner.cli.common import district_arg, lang_arg, load_arg, out_arg, plan_output, timer_of
from planner.core.params import RemediationParams, SolveParams, add_options, from_args
from planner.outputs import remediation as presenter
from planner.outputs.i18n import tr
from planner.plans.remediation import remediate
from planner.verify.remediation import verify_remediation

#: the SolveParams fields ``planner remediate`` offers
SOLVE_OPTIONS = ["solver", "time_limit"]


def register(sub) -> None:
    p = sub.add_parser("remediate", help="cost the least actions that close every remaining "
                                         "gap (达标整改测算)")
    district_arg(p, optional=True)
    out_arg(p)
    add_options(p, RemediationParams, RemediationParams.names())
    add_options(p, SolveParams, SOLVE_OPTIONS)
    lang_arg(p)
    p.set_defaults(func=cmd_remediate)


def cmd_remediate(args: argparse.Namespace) -> int:
    params = from_args(RemediationParams, args)
    solve = from_args(SolveParams, args)
    d = load_arg(args)
    costs = params.costs if isinstance(params.costs, (str, Path)) else None
    with plan_output(args, "remediate", d, inputs=(costs,)) as staging:
        o = remediate(d, params, solve, where="--costs")
        timer_of(args).plan(o)
        presenter.write_files(o, staging, args.lang)
        errs = verify_remediation(d, staging, d.rules)
    out = Path(args.out)
    lines = presenter.console_lines(o, args.lang)
    if errs:
        lines.append(tr("remediation.console.verify_failed", args.lang, problems="; ".join(errs)))
    elif o.status.has_plan:
        lines.append(tr("remediation.console.verified", args.lang))
    lines.append(tr("remediation.console.files", args.lang, path=out / "district_after"))
    print("\n".join(lines))
    if errs:
        return 1
    return 0 if o.status.has_plan else 3
