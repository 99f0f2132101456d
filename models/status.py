"""The one solver-status type every model returns.

``Status`` is a ``str`` enum, so it compares equal to its value and is written
to JSON as that value (``"optimal"``, ``"feasible"``, ...):

- ``OPTIMAL``: a plan, proven optimal (within the requested gap);
- ``FEASIBLE``: a plan that meets every hard limit, not proven optimal (a time
  limit or a gap stopped the solver; the result carries the gap when known);
- ``INFEASIBLE``: proven: no plan meets the hard limits. A model may still
  return a relaxed *closest plan* with its shortfalls measured; that is said by
  the result's own ``closest`` flag, never by the status;
- ``NO_PLAN_IN_TIME``: the time limit came before any plan was found;
- ``ERROR``: the solver failed (unbounded model, solver crash).

``has_plan`` is true for ``OPTIMAL`` and ``FEASIBLE`` only.
"""

from __future__ import annotations

from enum import Enum
from typing import Iterable

__all__ = ["Status", "worst"]


class Status(str, Enum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_PLAN_IN_TIME = "no_plan_in_time"
    ERROR = "error"

    def __str__(self) -> str:  # "optimal", not "Status.OPTIMAL"
        return self.value

    @property
    def has_plan(self) -> bool:
        """A plan that meets every hard limit exists (optimal or feasible)."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


_ORDER = (Status.OPTIMAL, Status.FEASIBLE, Status.NO_PLAN_IN_TIME, Status.INFEASIBLE,
          Status.ERROR)


def worst(statuses: Iterable[Status]) -> Status:
    """The status of a plan made of parts (e.g. the stages of a catchment plan):
    the worst part's, in the order optimal < feasible < no plan in time <
    infeasible < error; ``OPTIMAL`` for no parts."""
    out = Status.OPTIMAL
    for s in statuses:
        s = Status(s)
        if _ORDER.index(s) > _ORDER.index(out):
            out = s
    return out
