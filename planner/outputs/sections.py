"""The contract between a plan's presenter and the documents of a run.

Every plan kind has one presenter module, ``planner/outputs/<plan>.py``
(``consolidation``, ``rotation``, ``catchments``, and later ``remediation``,
``roadmap`` ...), that turns the library's typed outcome into a planner's words.
It offers the same functions, so the run, the report, the workbook, the map and
``compare`` treat every plan alike:

``write_files(outcome, out: Path, lang: str) -> list[Path]``
    the plan's own files (docs/data-format.md names) in ``out``;
``console_lines(outcome, lang: str) -> list[str]``
    what the command (and ``planner run``) prints about it;
``workbook_sheets(outcome, lang: str) -> dict[str, pandas.DataFrame]``
    its sheets of the run workbook, headers and values in ``lang``;
``report_sections(outcome, lang: str) -> list[ReportSection]``
    its sections of ``report.html``;
``compare_figures(outcome) -> dict[str, float | int | str]``
    language-free figures for ``compare`` (labels: catalogue ``compare.<key>``);
``headline(outcome, lang: str) -> list[str]`` (optional)
    lines shown right under the report's verdict when the plan leads to recognition
    (the remediation list's cost and result, the roadmap's first year);
``map_layers(outcome) -> dict``
    keyword arguments of :func:`planner.outputs.maps.build_map` it fills
    (``closures``, ``routes``, ``rotation_flows``, ``catchments`` ...).

Only the presenter knows the words; the library outcome holds codes and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReportSection", "Table"]


@dataclass(frozen=True)
class Table:
    """A table as the reader sees it: display headers and display values."""

    caption: str
    frame: Any                        # pandas.DataFrame
    note: str = ""


@dataclass(frozen=True)
class ReportSection:
    """One section of ``report.html``, already in the reader's language.

    ``figures`` are (label, formatted value) pairs shown as a short list;
    ``warnings`` are shown in red (a regression, a limit that binds); ``technical``
    goes into the collapsed 技术说明 (solver, status, gap) at the end of the report.
    A figure that is a solver's goes there too: one made by
    :func:`planner.outputs.report.summary_figures` from a summary key of
    :data:`planner.outputs.report.TECHNICAL` (a ``TechnicalFigure``), or one whose label
    is the catalogue word of such a key (``<plan>.figure.gap`` ...). Values are words or
    numbers; a truth value is put into words by the report (never ``True``).
    """

    key: str                          # "consolidation", "rotation", "catchments_primary" ...
    title: str
    figures: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    technical: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    #: inline SVG charts made by the presenter (every text in them escaped there)
    charts: tuple[str, ...] = ()
