"""``planner verify DIR``: re-check every plan in an output folder against the district.

``DIR`` is a run folder (``planner run`` / ``demo``: every plan, each against the
district it was made on) or one plan's folder (``rotate``, ``consolidate``,
``catchments``). The district is ``--district``, else the one the run's
``scenario.json`` records (resolved against that file, so any working folder will do),
else the bundled district. Each problem is printed with its plan and file."""

from __future__ import annotations

from pathlib import Path

from planner.verify import resolve_run, verify_dir

PLAN_FOLDERS = ("consolidation", "rotation", "catchments")
#: the plan a file of a plan's own folder belongs to
FILE_PLAN = {"assignments.csv": "consolidation", "routes.csv": "consolidation",
             "rotation.csv": "rotation", "units.csv": "catchments",
             "catchments.geojson": "catchments"}


def register(sub) -> None:
    from planner.cli.common import lang_arg
    p = sub.add_parser("verify", help="re-check every plan in an output folder (a run's "
                                      "folder or one plan's)")
    p.add_argument("dir", type=Path, help="output folder of run, demo, rotate, consolidate or "
                                          "catchments")
    p.add_argument("--district", type=Path, help="district folder (default: the one the "
                                                 "folder's scenario.json records, else the "
                                                 "bundled district)")
    lang_arg(p)
    p.set_defaults(func=cmd_verify)


def cmd_verify(args) -> int:
    from planner.cli.common import UsageError
    from planner.io.load import bundled_district, load_district
    from planner.outputs.i18n import tr
    if not args.dir.is_dir():
        raise UsageError(f"{args.dir}: no such output folder")
    folder, only = args.dir, None
    if not (folder / "scenario.json").exists() and (folder.parent / "scenario.json").exists() \
            and folder.resolve().name in PLAN_FOLDERS:
        # one plan of a run: verified within its run (plans build on each other)
        folder, only = folder.parent, folder.resolve().name + "/"
    run = resolve_run(folder)
    district_path = args.district
    if district_path is None and (folder / "scenario.json").exists():
        if run.district is None:
            raise UsageError(f"{folder / 'scenario.json'}: the district it records is not "
                             f"found (tried {', '.join(run.tried) or 'nothing'}); give "
                             f"--district")
        district_path = run.district
    d = load_district(district_path or bundled_district())
    errs = verify_dir(folder, d, run.scenario)
    if only is not None:
        errs = [e for e in errs if e.startswith(only)]
    if errs:
        for e in errs:
            where, _, text = e.partition(": ")
            plan = where.split("/")[0] if "/" in where else FILE_PLAN.get(where, "")
            word = tr(f"verify.plan.{plan}", args.lang) if plan in PLAN_FOLDERS else ""
            print(tr("verify.problem", args.lang, plan=word, file=where, text=text)
                  if word else tr("verify.problem_file", args.lang, file=where, text=text))
        print(tr("verify.found", args.lang, n=len(errs)))
        return 1
    print(tr("verify.ok", args.lang))
    return 0
