"""The questions the benchmark asks and the phrasing of the oracle's answers.

One module, so that the generators (which ask), the oracle (which answers), the scripted
root models (which ask sub-questions and parse the answers in their REPL code) and the
scorers agree on the wording. A question may carry a ``(part k of n)`` suffix: a scripted
root that delegates a slice of its context to a child RLM says so, and the child then
does not split its slice again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from benchmarks.rlm.world import LABELS, keeper_fact, location_fact

Kind = Literal[
    "needle", "count", "top", "label_counts", "pairs", "users_with", "multihop", "hop1", "hop2"
]
"""The question forms: five asked by tasks, the rest only as sub-questions."""

NOT_FOUND: Final = "The text does not say."
"""The oracle's answer when the text it was given does not hold what was asked."""
CANNOT: Final = "I cannot answer that question from the text."
"""The oracle's answer to a question it does not recognise."""


@dataclass(frozen=True, slots=True)
class Question:
    """A parsed question."""

    kind: Kind
    """Its form."""
    args: tuple[str, ...]
    """Its parameters (a project, a label, an artifact, a city...)."""
    part: tuple[int, int] | None = None
    """``(k, n)`` when it carries a ``(part k of n)`` suffix."""


# -- builders -------------------------------------------------------------------------------


def needle_question(project: str) -> str:
    """Ask for a project's secret access code."""
    return f"What is the secret access code for project {project}?"


def count_question(label: str) -> str:
    """Ask how many records carry ``label``."""
    return f"How many records are labelled {label}?"


def top_question() -> str:
    """Ask for the most frequent label."""
    return "Which label is the most frequent among the records?"


def label_counts_question() -> str:
    """Ask for the count of records of every label (a sub-question)."""
    return "How many records does the text hold for each label?"


def pairs_question(first: str, second: str) -> str:
    """Ask for the pairs of users who each have instances of both labels."""
    return (
        f"List all pairs of users where both users have at least one instance labelled "
        f"{first} and at least one instance labelled {second}. Give each pair once, "
        f"smaller user ID first."
    )


def users_with_question(labels: Iterable[str]) -> str:
    """Ask which users have an instance of each label (a sub-question)."""
    parts = [f"at least one instance labelled {label}" for label in labels]
    return "Which users have " + ", and which users have ".join(parts) + "?"


def multihop_question(artifact: str) -> str:
    """Ask who runs the archive that keeps ``artifact`` (two hops)."""
    return f"Who runs the archive where the {artifact} is kept?"


def hop1_question(artifact: str) -> str:
    """Ask where ``artifact`` is kept (first hop)."""
    return f"In which archive is the {artifact} kept?"


def hop2_question(city: str) -> str:
    """Ask who runs the archive of ``city`` (second hop)."""
    return f"Who runs the archive of {city}?"


def with_part(question: str, k: int, n: int) -> str:
    """Mark ``question`` as asked about part ``k`` of ``n`` of a context."""
    return f"{question} (part {k} of {n})"


def question_text(question: Question) -> str:
    """The canonical wording of a parsed question (without its part mark)."""
    args = question.args
    if question.kind == "needle":
        return needle_question(args[0])
    if question.kind == "count":
        return count_question(args[0])
    if question.kind == "top":
        return top_question()
    if question.kind == "label_counts":
        return label_counts_question()
    if question.kind == "pairs":
        return pairs_question(args[0], args[1])
    if question.kind == "users_with":
        return users_with_question(args)
    if question.kind == "multihop":
        return multihop_question(args[0])
    if question.kind == "hop1":
        return hop1_question(args[0])
    return hop2_question(args[0])


# -- parsing --------------------------------------------------------------------------------

_LABEL = "(" + "|".join(LABELS) + ")"
_FORMS: Final[tuple[tuple[Kind, re.Pattern[str]], ...]] = (
    ("needle", re.compile(r"What is the secret access code for project (\w+)\?")),
    ("count", re.compile(rf"How many records are labelled {_LABEL}\?")),
    ("top", re.compile(r"Which label is the most frequent among the records\?")),
    ("label_counts", re.compile(r"How many records does the text hold for each label\?")),
    (
        "pairs",
        re.compile(
            rf"List all pairs of users where both users have at least one instance labelled "
            rf"{_LABEL} and at least one instance labelled {_LABEL}\."
        ),
    ),
    ("users_with", re.compile(r"Which users have (at least one instance labelled [^?]+)\?")),
    ("multihop", re.compile(r"Who runs the archive where the ([a-z]+(?: [a-z]+)+) is kept\?")),
    ("hop1", re.compile(r"In which archive is the ([a-z]+(?: [a-z]+)+) kept\?")),
    ("hop2", re.compile(r"Who runs the archive of (\w+)\?")),
)
_PART = re.compile(r"\(part (\d+) of (\d+)\)")


def parse_question(text: str) -> Question | None:
    """Find the first question of a known form in ``text``.

    Args:
        text: Any text: a prompt, a question, a message history.

    Returns:
        The question that starts earliest, or ``None`` when there is none.
    """
    found: list[tuple[int, Question]] = []
    for kind, pattern in _FORMS:
        match = pattern.search(text)
        if match is None:
            continue
        args = match.groups()
        if kind == "users_with":
            args = tuple(re.findall(rf"labelled {_LABEL}", args[0]))
        found.append((match.start(), Question(kind, tuple(args))))
    if not found:
        return None
    start, question = min(found, key=lambda item: item[0])
    part = _PART.search(text, start)
    if part is not None:
        return Question(question.kind, question.args, (int(part[1]), int(part[2])))
    return question


# -- the oracle's answers -------------------------------------------------------------------


def count_answer(count: int, label: str) -> str:
    """Say how many records carry ``label``."""
    return f"There are {count} records labelled {label}."


COUNT_ANSWER: Final = re.compile(r"There are (\d+) records labelled (\w+)\.")
"""Matches :func:`count_answer`: groups count and label."""


def label_counts_answer(counts: Counter[str]) -> str:
    """List the count of every label seen (largest first, then by name)."""
    if not counts:
        return "Label counts: none."
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "Label counts: " + ", ".join(f"{label}={n}" for label, n in items) + "."


LABEL_COUNTS_ANSWER: Final = re.compile(r"Label counts: ([a-z]+=\d+(?:, [a-z]+=\d+)*)\.")
"""Matches :func:`label_counts_answer` (with counts): group 1 is ``a=1, b=2``."""
LABEL_COUNT_ITEM: Final = re.compile(r"([a-z]+)=(\d+)")
"""One ``label=count`` item of a label-counts answer."""


def top_answer(counts: Counter[str]) -> str:
    """Name the most frequent label, after the counts it was read from."""
    if not counts:
        return NOT_FOUND
    top = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return f"{label_counts_answer(counts)} The most frequent label is {top}."


TOP_ANSWER: Final = re.compile(rf"most frequent label is {_LABEL}")
"""Matches the naming part of :func:`top_answer`: group 1 is the label."""


def users_answer(label: str, users: Iterable[int]) -> str:
    """List the users with an instance of ``label``."""
    ids = sorted(set(users))
    return f"Users with label {label}: " + (", ".join(map(str, ids)) if ids else "none") + "."


USERS_ANSWER: Final = re.compile(r"Users with label (\w+): (none|\d+(?:, \d+)*)\.")
"""Matches :func:`users_answer`: groups label and ``1, 2, 3`` (or ``none``)."""


def pairs_answer(pairs: Iterable[tuple[int, int]]) -> str:
    """List pairs of user IDs, each once, smaller first, sorted."""
    ordered = sorted({(min(a, b), max(a, b)) for a, b in pairs})
    if not ordered:
        return "Pairs: none."
    return "Pairs: " + ", ".join(f"({a}, {b})" for a, b in ordered) + "."


PAIR: Final = re.compile(r"\((\d+), ?(\d+)\)")
"""One ``(a, b)`` pair in an answer."""


def multihop_answer(artifact: str, city: str | None, person: str | None) -> str:
    """State both hops as far as they were found."""
    if city is None:
        return NOT_FOUND
    first = location_fact(artifact, city)
    if person is None:
        return f"{first} The text does not say who runs that archive."
    return f"{first} {keeper_fact(city, person)}"
