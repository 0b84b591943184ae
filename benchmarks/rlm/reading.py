"""How the oracle sub-model reads a text: what it finds, and what it misses.

The oracle answers only from the text it is given. It knows the world of
:mod:`benchmarks.rlm.world` the way a language model knows English: it recognises the
facts, the records and, from an instance's wording, its label. It also reads its own earlier
answers when they are part of the text (a count stated as "There are 12 records labelled
x.", a list of users, a list of pairs), so partial answers can be merged, as tree
summarization needs.

Every unit it reads (a record, a fact, a stated partial answer) is missed with probability
``loss``: the caller sets it from the input's length, so long inputs are read worse.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Final

from benchmarks.rlm import questions as q
from benchmarks.rlm.world import (
    KEEPER_FACT,
    LOCATION_FACT,
    NEEDLE_FACT,
    RECORD,
    keeper_fact,
    location_fact,
)

__all__ = ["Reader", "answer", "classify"]

_CUES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"(?:Where is|In which region|Which country) "), "location"),
    (re.compile(r"(?:Who|Whose) "), "person"),
    (re.compile(r"(?:How many|What year|How long) "), "number"),
    (re.compile(r"(?:What animal|Which instrument|What plant) "), "entity"),
    (re.compile(r"(?:Why is|How does|What is the purpose) "), "description"),
    (re.compile(r"What (?:does \w+ stand for|is the full form)"), "abbreviation"),
)


def classify(instance: str) -> str | None:
    """The label an instance's wording implies (``None`` when it implies none)."""
    for cue, label in _CUES:
        if cue.match(instance):
            return label
    return None


class Reader:
    """Reads units from a text, missing each with probability ``loss``."""

    def __init__(self, text: str, loss: float, rng: random.Random) -> None:
        self.text = text
        """The whole prompt."""
        self.loss = loss
        """The chance of missing each unit."""
        self._rng = rng

    def sees(self) -> bool:
        """Whether the next unit is read (``False`` with probability ``loss``)."""
        return self.loss <= 0 or self._rng.random() >= self.loss

    def find(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        """The matches of ``pattern`` that are read."""
        return (m for m in pattern.finditer(self.text) if self.sees())

    def records(self) -> Iterator[tuple[int, str]]:
        """``(user, label)`` of every record read whose label the wording implies."""
        for match in self.find(RECORD):
            label = classify(match.group(2))
            if label is not None:
                yield int(match.group(1)), label


def answer(question: q.Question, reader: Reader) -> str:
    """Answer ``question`` from what ``reader`` reads.

    Args:
        question: The parsed question.
        reader: The text and how well it is read.

    Returns:
        The answer, in the phrasing of :mod:`benchmarks.rlm.questions`.
    """
    kind, args = question.kind, question.args
    if kind == "needle":
        for match in reader.find(NEEDLE_FACT):
            if match.group(1) == args[0]:
                return match.group(0)
        return q.NOT_FOUND
    if kind == "count":
        return q.count_answer(_label_counts(reader)[args[0]], args[0])
    if kind == "top":
        return q.top_answer(_label_counts(reader))
    if kind == "label_counts":
        return q.label_counts_answer(_label_counts(reader))
    if kind == "users_with":
        users = _users_with(reader, args)
        return "\n".join(q.users_answer(label, users[label]) for label in args)
    if kind == "pairs":
        return _pairs(reader, args[0], args[1])
    if kind in ("hop1", "multihop"):
        city = _city_of(reader, args[0])
        if kind == "hop1" or city is None:
            return q.NOT_FOUND if city is None else location_fact(args[0], city)
        return q.multihop_answer(args[0], city, _keeper_of(reader, city))
    person = _keeper_of(reader, args[0])
    return q.NOT_FOUND if person is None else keeper_fact(args[0], person)


def _label_counts(reader: Reader) -> Counter[str]:
    counts = Counter(label for _, label in reader.records())
    for match in reader.find(q.COUNT_ANSWER):
        counts[match.group(2)] += int(match.group(1))
    for match in reader.find(q.LABEL_COUNTS_ANSWER):
        for label, n in q.LABEL_COUNT_ITEM.findall(match.group(1)):
            counts[label] += int(n)
    return counts


def _users_with(reader: Reader, labels: tuple[str, ...]) -> dict[str, set[int]]:
    users: dict[str, set[int]] = {label: set() for label in labels}
    for user, label in reader.records():
        if label in users:
            users[label].add(user)
    for match in reader.find(q.USERS_ANSWER):
        if match.group(1) in users and match.group(2) != "none":
            users[match.group(1)].update(int(u) for u in match.group(2).split(", "))
    return users


def _pairs(reader: Reader, first: str, second: str) -> str:
    users = _users_with(reader, (first, second))
    both = sorted(users[first] & users[second])
    pairs = {(a, b) for i, a in enumerate(both) for b in both[i + 1 :]}
    for stated in re.finditer(r"Pairs: [^\n]*", reader.text):
        if reader.sees():
            pairs.update((int(a), int(b)) for a, b in q.PAIR.findall(stated.group(0)))
    return q.pairs_answer(pairs)


def _city_of(reader: Reader, artifact: str) -> str | None:
    for match in reader.find(LOCATION_FACT):
        if match.group(1) == artifact:
            return match.group(2)
    return None


def _keeper_of(reader: Reader, city: str) -> str | None:
    for match in reader.find(KEEPER_FACT):
        if match.group(1) == city:
            return match.group(2)
    return None
