"""What the verifiers find: typed problems, worded by the output layer.

A :class:`Problem` is a catalogue key under ``verify.`` (the words, zh and en, are in
``planner/outputs/catalogue/verify.yaml``), the values it names (``fields``) and the
file it is in (``where``, relative to the folder checked: ``rotation/rotation.csv``).
The library makes no words: :func:`planner.outputs.verification.problem_text` says a
problem in the chosen language; ``str(p)`` gives its file, key and fields, for logs
and library callers.

The fields are text: ids as they are, numbers formatted as the English sentence
formats them, codes as codes. A few field names carry codes the output layer words
(see :mod:`planner.outputs.verification`): ``stage`` (a stage code), ``action`` (a
remediation action), ``school_column`` / ``teacher_column`` (a column of the schools
or teachers table), ``parts`` (``"S1 junior, S2 primary"``: schools and their stage),
``cv`` (``"primary 0.51, junior 0.4"``: CV by stage), ``level_from`` / ``level_to``
(backbone levels), ``recognised`` / ``summary_recognised`` (``True`` / ``False``). A
field may hold another problem (``verify.roadmap.year``: a rotation problem of one year
of a roadmap).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

__all__ = ["Problem"]


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``key`` (``verify.rotation.same_school``), the ``fields`` it
    names and ``where`` (the file, relative to the folder checked; empty when unknown)."""

    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", {
            k: v if isinstance(v, Problem) else str(v) for k, v in dict(self.fields).items()})

    def at(self, prefix: str) -> Problem:
        """The same problem, its file seen from a folder ``prefix`` up
        (``Problem(..., where="rotation.csv").at("rotation/")``: ``rotation/rotation.csv``)."""
        return replace(self, where=f"{prefix}{self.where}")

    def body(self) -> str:
        """The key and fields, without the file."""
        return f"{self.key}: " + "; ".join(
            f"{k}=({v})" if isinstance(v, Problem) else f"{k}={v}"
            for k, v in self.fields.items())

    def __str__(self) -> str:
        return f"{self.where}: {self.body()}" if self.where else self.body()

    def __hash__(self) -> int:
        return hash((self.key, tuple(self.fields.items()), self.where))

