"""The errors a planner can act on. Anything else raised is an internal error.

- :class:`DataError`: bad input data (district tables, district.yaml, a scenario,
  a closures file); ``problems`` holds one line per problem naming the file and
  the row and column (or key). Exit code 2.
- :class:`PlanInputError`: the input is readable but a plan cannot be asked of it
  (no teacher roster for a rotation, no school of a stage to zone, a bad option
  value); one line. Exit code 2. A ``ValueError``, so library callers that catch
  ``ValueError`` keep working; but the command line treats only this subclass as
  a user error, so an internal ``ValueError`` (a bug) stays an internal error.
- :class:`OutputError`: an output path that may not be written. Exit code 2.

A plan that no choice can make meet the hard limits is not an exception: its
outcome has ``status`` :data:`~models.status.Status.INFEASIBLE` and says which
limit binds and where (exit code 3).
"""

from __future__ import annotations

__all__ = ["DataError", "PlanInputError", "OutputError"]


class DataError(Exception):
    """Invalid input data; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class PlanInputError(ValueError):
    """A plan cannot be made from this input (a user's error, not a bug)."""


class OutputError(Exception):
    """An output path that may not be written (it is an input, or not ours)."""
