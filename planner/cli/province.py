"""``planner province COUNTIES_DIR --out DIR`` and ``planner synth-province K OUT``.

``province`` checks every county of a folder (one sub-folder per district) and, with
``--scenario``, runs the scenario template on each, on Dask (a local cluster, or
``--scheduler tcp://host:8786``); it writes each county's files as it finishes,
then ``province.html`` and ``province.xlsx``. Exit code: 0 when every county is
done; else 1 if a county had an internal error, 2 if one had bad data, 3 if a plan
could not be made (a county's failure never stops the others; the dashboard lists
them all).
"""

from __future__ import annotations

import time
from pathlib import Path

from planner.cli.common import lang_arg
from planner.core.params import ProvinceParams, SynthProvinceParams, add_options, from_args

#: exit code of a province run by the worst county status (see planner.cli)
EXIT_BY_STATUS = {"error": 1, "bad_input": 2, "no_plan": 3}


def register(sub) -> None:
    p = sub.add_parser("province", help="check (and plan) every county of a province on Dask")
    p.add_argument("counties", type=Path, help="folder with one sub-folder per county")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--scenario", type=Path, default=None,
                   help="scenario template run on every county (its district: is replaced "
                        "by the county)")
    add_options(p, ProvinceParams, ["scheduler", "workers", "resume"])
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    lang_arg(p, scenario=True)
    p.set_defaults(func=cmd_province)

    p = sub.add_parser("synth-province", help="write a synthetic province of K counties")
    p.add_argument("k", type=int, help="number of counties")
    p.add_argument("out", type=Path)
    add_options(p, SynthProvinceParams, ["seed", "min_schools", "max_schools",
                                         "median_schools"])
    lang_arg(p)
    p.set_defaults(func=cmd_synth_province)


def province_exit_code(res) -> int:
    """1, 2 or 3 by the worst county (internal error, bad data, no plan), else 0."""
    for status, code in EXIT_BY_STATUS.items():
        if res.by_status(status):
            return code
    return 0


def cmd_province(args) -> int:
    from planner.outputs.province import ProgressBar, console_lines
    from planner.plans.scenario import load_scenario
    from planner.province import run_province
    from planner.runner import run_language
    params = from_args(ProvinceParams, args)
    scen = load_scenario(args.scenario) if args.scenario is not None else None
    lang = run_language(scen, args.lang) if scen is not None else (args.lang or "zh")
    res = run_province(args.counties, args.out, scen, params, lang=lang,
                       anonymise=args.anonymise,
                       progress=ProgressBar(lang, quiet=args.quiet))
    print("\n".join(console_lines(res)))
    return province_exit_code(res)


def cmd_synth_province(args) -> int:
    from planner.cli.common import UsageError
    from planner.io.synth_province import synth_province
    from planner.outputs.i18n import tr
    if not 1 <= args.k <= 1000:
        raise UsageError(f"{args.k} counties: choose between 1 and 1000")
    params = from_args(SynthProvinceParams, args)
    t0 = time.perf_counter()
    from planner.io.synth_province import county_sizes
    sizes = county_sizes(args.k, params)
    synth_province(args.k, args.out, params, sizes=sizes)
    print(tr("province.synth.done", args.lang, out=args.out, k=args.k, smallest=min(sizes),
             largest=max(sizes), seed=params.seed,
             seconds=f"{time.perf_counter() - t0:.1f}"))
    return 0
