"""``planner synth``: a synthetic district for tests and benchmarks."""

from __future__ import annotations

import time
from pathlib import Path

from planner.cli.common import UsageError, lang_arg


def register(sub) -> None:
    p = sub.add_parser("synth", help="write a synthetic district")
    p.add_argument("out", type=Path)
    p.add_argument("--schools", type=int, required=True, help="number of schools (10 to 20000)")
    p.add_argument("--seed", type=int, default=0)
    lang_arg(p)
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    from planner.io.synth import synth_district
    if not 10 <= args.schools <= 20000:
        raise UsageError(f"--schools {args.schools}: choose between 10 and 20000")
    t0 = time.perf_counter()
    out = synth_district(args.schools, args.seed, args.out)
    print(f"{out} ({args.schools} schools, seed {args.seed}, {time.perf_counter() - t0:.1f} s)")
    return 0
