"""What every command shares: the district argument, --lang/--anonymise, usage errors."""

from __future__ import annotations

import argparse

from planner.core.errors import PlanInputError
from planner.io.load import bundled_district, load_district


class UsageError(PlanInputError):
    """A bad command-line value (exit 2)."""



def district_arg(p: argparse.ArgumentParser, optional: bool = False) -> None:
    if optional:
        p.add_argument("district", nargs="?", default=None,
                       help="district folder or .gpkg (default: the bundled Yunxi district)")
    else:
        p.add_argument("district", help="district folder or .gpkg")



def lang_arg(p: argparse.ArgumentParser, scenario: bool = False) -> None:
    """The options every command takes: --lang and --anonymise. A command that runs
    scenario files (``scenario=True``) leaves ``--lang`` unset by default: the run's
    language is then the scenario's ``lang:``, else zh."""
    if scenario:
        p.add_argument("--lang", choices=("zh", "en"), default=None,
                       help="language of the printed and written output (default: the "
                            "scenario's lang:, else zh)")
    else:
        p.add_argument("--lang", choices=("zh", "en"), default="zh",
                       help="language of the printed and written output (default zh)")
    p.add_argument("--anonymise", action="store_true",
                   help="replace teachers' names with stable pseudonyms in every output")



def load_arg(args) -> "District":  # noqa: F821
    """The district named on the command line, else the bundled one."""
    d = load_district(args.district if args.district else bundled_district())
    if getattr(args, "anonymise", False):
        from planner.core.district import anonymise
        d = anonymise(d)
    return d
