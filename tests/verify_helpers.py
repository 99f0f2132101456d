"""The independent verifier's findings as English text, for tests that assert its
sentences: the verifiers return typed problems (planner.verify.problems.Problem),
worded by planner.outputs.verification."""

from __future__ import annotations

from planner.outputs.verification import problem_message, problem_text


def said(found) -> list[str]:
    """Each finding's English sentence, without its file (what the verifiers said
    before they returned problems)."""
    return [problem_message(p, "en") for p in found]


def said_at(found) -> list[str]:
    """Each finding's English line with its file (``rotation/rotation.csv: ...``)."""
    return [problem_text(p, "en") for p in found]
