"""``planner rotate``: the year's teacher rotation list."""

from __future__ import annotations

import argparse
from pathlib import Path

from planner.io.export import check_out_dir
from planner.outputs import rotation as presenter
from planner.plans.rotation import rotate


def register(sub) -> None:
    from planner.cli.common import district_arg, lang_arg
    p = sub.add_parser("rotate", help="draw up the year's teacher rotation list")
    district_arg(p, optional=True)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--share", type=float, default=0.10, help="share of eligible teachers who move")
    p.add_argument("--backbone-share", type=float, default=0.20,
                   help="share of movers who are backbone teachers")
    p.add_argument("--backbone-base", choices=("rotated", "eligible"), default=None,
                   help="20 %% of the movers (rotated) or of the required movers (eligible); "
                        "default: the district's setting")
    p.add_argument("--band", type=float, default=0.10, help="head-count band per school")
    p.add_argument("--max-send-share", type=float, default=0.30)
    p.add_argument("--direction-rule", action="store_true",
                   help="outgoing moves only town→village or strong→weak")
    p.add_argument("--solver", choices=("highs", "cbc"), default="highs")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds")
    lang_arg(p)
    p.set_defaults(func=cmd_rotate)



def cmd_rotate(args: argparse.Namespace) -> int:
    from planner.cli.common import UsageError, load_arg
    for name in ("share", "backbone_share", "band", "max_send_share"):
        v = getattr(args, name)
        if not 0 <= v <= 1:
            raise UsageError(f"--{name.replace('_', '-')} {v}: must be between 0 and 1")
    if args.time_limit <= 0:
        raise UsageError(f"--time-limit {args.time_limit}: must be positive")
    d = load_arg(args)
    out = check_out_dir(args.out, d.path)
    try:
        o = rotate(d, share=args.share, backbone_share=args.backbone_share,
                   backbone_base=args.backbone_base, band=args.band,
                   max_send_share=args.max_send_share, direction_rule=args.direction_rule,
                   solver=args.solver, time_limit=args.time_limit, lang=args.lang)
    except ValueError as e:
        raise UsageError(str(e)) from None
    presenter.write_files(o, out, args.lang)
    print("\n".join(presenter.console_lines(o, args.lang)))
    return 0 if o.result.status in ("optimal", "feasible") else 3
