"""``planner synth``: a synthetic district for tests and benchmarks.

``OUT`` must be new (or an empty folder): an existing district is never
overwritten; the files appear together when complete."""

from __future__ import annotations

import time
from pathlib import Path

from planner.cli.common import UsageError, lang_arg


def register(sub) -> None:
    p = sub.add_parser("synth", help="write a synthetic district")
    p.add_argument("out", type=Path)
    p.add_argument("--schools", type=int, required=True, help="number of schools (10 to 20000)")
    p.add_argument("--seed", type=int, default=0, help="a non-negative whole number (default 0)")
    lang_arg(p)
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    if not 10 <= args.schools <= 20000:
        raise UsageError(f"--schools {args.schools}: choose between 10 and 20000")
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed}: not a non-negative whole number")
    from planner.io.synth import synth_district
    from planner.outputs.i18n import tr
    t0 = time.perf_counter()
    out = synth_district(args.schools, args.seed, args.out)
    print(tr("synth.written", args.lang, path=out, n=args.schools, seed=args.seed,
             seconds=f"{time.perf_counter() - t0:.1f}"))
    return 0
