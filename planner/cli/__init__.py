"""The ``planner`` command line.

Every command takes ``--lang zh|en`` (default zh). Bad input exits with code 2
and one line per problem naming file, row and column, never a traceback; an
internal error exits with code 1 and one line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from planner import __version__
from models.mip import SolverUnavailable

from planner.io.export import OutputError
from planner.io.load import DataError, load_district


class UsageError(Exception):
    """A bad command-line value (exit 2)."""


def bundled_district() -> Path:
    import geodata
    return Path(geodata.__file__).resolve().parent / "yunxi"


def district_arg(p: argparse.ArgumentParser, optional: bool = False) -> None:
    if optional:
        p.add_argument("district", nargs="?", default=None,
                       help="district folder or .gpkg (default: the bundled Yunxi district)")
    else:
        p.add_argument("district", help="district folder or .gpkg")


def lang_arg(p: argparse.ArgumentParser) -> None:
    """The options every command takes: --lang and --anonymise."""
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of the printed and written output (default zh)")
    p.add_argument("--anonymise", action="store_true",
                   help="replace teachers' names with stable pseudonyms in every output")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="planner",
        description="县域义务教育优质均衡规划工具 / planning toolkit for high-quality "
                    "balanced compulsory education")
    ap.add_argument("--version", action="version", version=f"planner {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="load a district and print its summary")
    district_arg(p, optional=True)
    lang_arg(p)

    p = sub.add_parser("check", help="check a district against the indicators")
    district_arg(p, optional=True)
    p.add_argument("--json", type=Path, help="write the indicator report as JSON")
    p.add_argument("--xlsx", type=Path, help="write the indicator workbook")
    lang_arg(p)

    p = sub.add_parser("synth", help="write a synthetic district")
    p.add_argument("out", type=Path)
    p.add_argument("--schools", type=int, required=True, help="number of schools (10 to 20000)")
    p.add_argument("--seed", type=int, default=0)
    lang_arg(p)

    # plan commands live beside their adapters: each module's register(sub)
    # adds its parser and sets ``func``
    import importlib
    for mod in PLAN_MODULES:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a plan module not built yet
            if e.name != mod:
                raise
            continue
        if hasattr(m, "register"):
            m.register(sub)
    return ap


#: modules that add a command (rotate, consolidate, catchments, run ...)
PLAN_MODULES = ("planner.plans.rotation", "planner.plans.consolidation", "planner.plans.catchments",
                "planner.plans.scenario", "planner.verify")


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return 2
    out = getattr(args, "out", None)
    fresh = out is not None and not Path(out).exists()
    rc = _run_command(args)
    if rc != 0 and fresh:
        # a command that fails leaves no output folder it created and left empty
        _remove_empty_tree(Path(out))
    return rc


def _remove_empty_tree(folder: Path) -> None:
    """Remove ``folder`` if it holds no file (only empty folders); never a file."""
    if not folder.is_dir():
        return
    for p in sorted(folder.rglob("*"), key=lambda x: len(x.parts), reverse=True):
        if p.is_dir() and not p.is_symlink():
            try:
                p.rmdir()
            except OSError:
                return
        else:
            return
    try:
        folder.rmdir()
    except OSError:
        pass


def _run_command(args) -> int:
    try:
        func = getattr(args, "func", None) or COMMANDS[args.command]
        return func(args)
    except DataError as e:
        for line in e.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except (UsageError, OutputError, SolverUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.: stop quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an internal error: one line unless --debug
        if args.debug:
            raise
        print(f"internal error: {type(e).__name__}: {e} (run with --debug for details)",
              file=sys.stderr)
        return 1


def load_arg(args) -> "District":  # noqa: F821
    """The district named on the command line, else the bundled one."""
    d = load_district(args.district if args.district else bundled_district())
    if getattr(args, "anonymise", False):
        from planner.core.district import anonymise
        d = anonymise(d)
    return d


def cmd_info(args) -> int:
    d = load_arg(args)
    print(district_summary(d, args.lang))
    return 0


def district_summary(d, lang: str = "zh") -> str:
    s = d.schools
    types = s["type"].value_counts().sort_index()
    road_km = 0.0
    if d.roads is not None and len(d.roads):
        from geodata.roads import utm_crs
        c = d.roads.geometry.union_all().centroid
        road_km = float(d.roads.to_crs(utm_crs(c.x, c.y)).length.sum() / 1000)
    n_teachers = len(d.teachers) if d.teachers is not None else 0
    n_units = len(d.units) if d.units is not None else 0
    zh = lang == "zh"
    tnames = TYPE_NAMES_ZH if zh else {k: k for k in TYPE_NAMES_ZH}
    lines = [
        f"{'区县' if zh else 'District'}: {d.name}  ({d.standard})",
        f"{'学校' if zh else 'Schools'}: {len(s)}  (" +
        ", ".join(f"{tnames.get(t, t)} {n}" for t, n in types.items()) + ")",
        f"{'小学在校生' if zh else 'Primary pupils'}: {int(s['students_primary'].sum())}",
        f"{'初中在校生' if zh else 'Junior pupils'}: {int(s['students_junior'].sum())}",
        f"{'百人以下学校' if zh else 'Schools under 100 pupils'}: "
        f"{int(((s['students_primary'] + s['students_junior']) < 100).sum())}",
        f"{'教师' if zh else 'Teachers'}: {n_teachers}",
        f"{'居住单元' if zh else 'Residential units'}: {n_units}",
        f"{'道路' if zh else 'Roads'}: {road_km:.1f} km",
    ]
    return "\n".join(lines)


TYPE_NAMES_ZH = {"primary": "小学", "junior": "初中", "nine_year": "九年一贯制学校",
                 "twelve_year": "十二年一贯制学校", "complete_middle": "完全中学",
                 "teaching_point": "教学点", "special": "特殊教育学校"}


def cmd_check(args) -> int:
    from planner.outputs.checkfiles import render_console, write_json, write_xlsx
    from planner.indicators.engine import check
    d = load_arg(args)
    report = check(d)
    print(render_console(report, lang=args.lang))
    if args.json:
        write_json(report, args.json)
    if args.xlsx:
        write_xlsx(report, args.xlsx, lang=args.lang)
    return 0


def cmd_synth(args) -> int:
    from planner.io.synth import synth_district
    if not 10 <= args.schools <= 20000:
        raise UsageError(f"--schools {args.schools}: choose between 10 and 20000")
    t0 = time.perf_counter()
    out = synth_district(args.schools, args.seed, args.out)
    print(f"{out} ({args.schools} schools, seed {args.seed}, {time.perf_counter() - t0:.1f} s)")
    return 0


COMMANDS = {"info": cmd_info, "check": cmd_check, "synth": cmd_synth}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
