"""``planner verify DIR``: re-check a plan's files against the district."""

from __future__ import annotations

import json
from pathlib import Path

from planner.verify import verify_dir


def register(sub) -> None:
    from planner.cli.common import lang_arg
    p = sub.add_parser("verify", help="re-check every plan in an output folder")
    p.add_argument("dir", type=Path, help="output folder of run, rotate, consolidate or catchments")
    p.add_argument("--district", type=Path, help="district folder (default: from scenario.json, "
                                                 "else the bundled district)")
    lang_arg(p)
    p.set_defaults(func=cmd_verify)



def cmd_verify(args) -> int:
    from planner.cli.common import UsageError
    from planner.io.load import bundled_district, load_district
    if not args.dir.is_dir():
        raise UsageError(f"{args.dir}: no such output folder")
    scen = {}
    meta = args.dir / "scenario.json"
    district_path = args.district
    if meta.exists():
        scen = json.loads(meta.read_text(encoding="utf-8"))["scenario"]
        if district_path is None:
            district_path = Path(scen["district"])
    d = load_district(district_path or bundled_district())
    if meta.exists() and (scen.get("consolidation") or scen.get("rotation")):
        raise UsageError("a run folder is verified by planner run itself (plans build on each "
                         "other); verify one plan's folder, e.g. DIR/rotation, with --district")
    errs = verify_dir(args.dir, d, scen)
    if errs:
        for e in errs:
            print(e)
        print(f"{len(errs)} problem(s) found" if args.lang == "en" else f"发现 {len(errs)} 个问题")
        return 1
    print("all plans verified" if args.lang == "en" else "全部方案校验通过")
    return 0
