"""The ``planner`` command line: a leaf that nothing in the library imports.

One module per command (``planner/cli/<command>.py``), each with ``register(sub)``
that adds its parser and sets ``func``. Exit codes, the same for every command:

- 0: done (a plan was made);
- 2: bad input (one line per problem naming file, row and column, or the option);
- 3: no plan satisfies the hard limits (the message names the limit and where);
- 1: internal error only (one line; ``--debug`` shows the traceback);
- 130: interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from planner import __version__

#: one module per command, in the order ``planner --help`` lists them
COMMAND_MODULES = ("info", "check", "rotate", "consolidate", "catchments", "run", "compare",
                   "verify", "synth")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="planner",
        description="县域义务教育优质均衡规划工具 / planning toolkit for high-quality "
                    "balanced compulsory education")
    ap.add_argument("--version", action="version", version=f"planner {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"planner.cli.{name}").register(sub)
    return ap


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
    from models.mip import SolverUnavailable
    from planner.core.errors import DataError, OutputError, PlanInputError
    try:
        return args.func(args)
    except DataError as e:
        for line in e.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except (PlanInputError, OutputError, SolverUnavailable) as e:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
