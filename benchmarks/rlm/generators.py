"""Seeded generators of long-context tasks like the RLM paper's (arXiv 2512.24601).

Five families, each at any size (the benchmark uses 2^13 to 2^20 tokens of about four
characters):

* ``needle``: a unique fact (a project's secret access code) hidden in filler text, with
  decoy sentences naming the same project and other projects' codes;
* ``count`` and ``top`` (OOLONG-like): labelled records, one per line, whose label is implied
  by their wording and never written; count the records of a label (scored ``0.75^|error|``
  as OOLONG does), or name the most frequent label (exact);
* ``pairs`` (OOLONG-Pairs-like): the pairs of users who each have at least one record of
  label A and one of label B (scored by F1 over the pairs);
* ``multihop``: a list of documents; a sentence in one document says in which city's archive
  an artifact is kept, the document of that city says who runs its archive; ask who runs
  the archive that keeps the artifact.

The same ``(family, size, seed)`` gives the same task, byte for byte. Gold answers come from
what the generator planted, not from reading the text back.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Final, Literal

from langchain_core.documents import Document

from benchmarks.rlm import questions as q
from benchmarks.rlm.world import (
    CHARS_PER_TOKEN,
    LABELS,
    artifact_decoy,
    filler_paragraph,
    filler_sentences,
    instance_text,
    keeper_fact,
    location_fact,
    make_artifacts,
    make_code,
    make_names,
    make_people,
    needle_decoy,
    needle_fact,
    record_line,
)

__all__ = [
    "FAMILIES",
    "Family",
    "Task",
    "generate",
    "join_documents",
]

Family = Literal["needle", "count", "top", "pairs", "multihop"]
FAMILIES: Final[tuple[Family, ...]] = ("needle", "count", "top", "pairs", "multihop")
"""Every task family, in the order the report lists them."""

Metric = Literal["exact", "0.75^|err|", "F1"]


@dataclass(frozen=True)
class Task:
    """One benchmark task: a question over a long context, with its gold answer."""

    family: Family
    """The task family."""
    size_tokens: int
    """The context size asked for, in tokens of four characters."""
    seed: int
    """The seed it was generated from."""
    question: str
    """The question, in the form :func:`benchmarks.rlm.questions.parse_question` reads."""
    context: str | list[Document]
    """The long input: one text, or documents with ``title`` and ``doc_id`` metadata."""
    gold: str
    """The gold answer, as text."""
    metric: Metric
    """How answers are scored."""
    expected: Any = field(repr=False)
    """The gold answer as data (a count, a label, a set of pairs, ...)."""
    distractors: tuple[str, ...] = field(default=(), repr=False)
    """Wrong answers the context also holds (an answer naming one is wrong)."""
    details: dict[str, Any] = field(default_factory=dict, repr=False)
    """What the generator planted, for tests and reports."""

    @property
    def text(self) -> str:
        """The context as one string (documents joined by :func:`join_documents`)."""
        if isinstance(self.context, str):
            return self.context
        return join_documents(self.context)

    @property
    def chars(self) -> int:
        """Characters in :attr:`text`."""
        return len(self.text)

    def score(self, answer: str) -> float:
        """Score an answer in [0, 1] (see :attr:`metric`)."""
        return _SCORERS[self.family](self, answer)


def join_documents(documents: list[Document]) -> str:
    """Documents as one text: each under a ``# <title>`` line, blank lines between."""
    return "\n\n".join(
        f"# {doc.metadata.get('title', '')}\n{doc.page_content}" for doc in documents
    )


def generate(family: Family, size_tokens: int, seed: int = 0) -> Task:
    """Generate one task.

    Args:
        family: One of :data:`FAMILIES`.
        size_tokens: The context size in tokens (of :data:`CHARS_PER_TOKEN` characters);
            the text is that long to within a few percent.
        seed: Any integer; the same arguments give the same task.

    Returns:
        The task.

    Raises:
        ValueError: For an unknown family or a size under 1024 tokens.
    """
    if family not in _GENERATORS:
        raise ValueError(f"unknown task family {family!r}; known: {', '.join(FAMILIES)}")
    if size_tokens < 1024:
        raise ValueError(f"size_tokens must be at least 1024, got {size_tokens}")
    rng = random.Random(f"polyvox-rlm-bench:{family}:{size_tokens}:{seed}")
    return _GENERATORS[family](rng, size_tokens, seed)


# -- needle ---------------------------------------------------------------------------------


def _filler_lines(rng: random.Random, target_chars: int, pool: list[str]) -> list[str]:
    lines: list[str] = []
    total = 0
    while total < target_chars:
        line = filler_paragraph(rng, pool, rng.randint(4, 9))
        lines.append(line)
        total += len(line) + 1
    return lines


def _plant(rng: random.Random, lines: list[str], sentence: str) -> int:
    """Append ``sentence`` to a random line; return that line's index."""
    index = rng.randrange(len(lines))
    lines[index] = f"{lines[index]} {sentence}"
    return index


def _needle(rng: random.Random, size_tokens: int, seed: int) -> Task:
    pool = filler_sentences(rng, 400)
    lines = _filler_lines(rng, size_tokens * CHARS_PER_TOKEN, pool)
    projects = make_names(rng, 6)
    codes: dict[str, None] = {}
    while len(codes) < len(projects):
        codes[make_code(rng)] = None
    project, code = projects[0], next(iter(codes))
    index = _plant(rng, lines, needle_fact(project, code))
    for other, other_code in list(zip(projects, codes, strict=True))[1:]:
        _plant(rng, lines, needle_fact(other, other_code))
    for _ in range(3):
        _plant(rng, lines, needle_decoy(rng, project))
    return Task(
        family="needle",
        size_tokens=size_tokens,
        seed=seed,
        question=q.needle_question(project),
        context="\n".join(lines),
        gold=code,
        metric="exact",
        expected=code,
        distractors=tuple(list(codes)[1:]),
        details={"project": project, "position": index / len(lines)},
    )


# -- labelled records -----------------------------------------------------------------------

_AVERAGE_RECORD_CHARS: Final = 96


@dataclass
class _Record:
    user: int
    label: str
    text: str = ""


def _records(
    rng: random.Random, size_tokens: int, labels: tuple[str, ...], weights: list[float]
) -> tuple[list[_Record], list[int], list[str]]:
    """Records of random users and labels, about ``size_tokens`` long once rendered."""
    count = max(40, size_tokens * CHARS_PER_TOKEN // _AVERAGE_RECORD_CHARS)
    users = rng.sample(range(10_000, 100_000), max(40, count // 10))
    drawn = rng.choices(labels, weights=weights, k=count)
    owners = rng.choices(users, k=count)
    places = make_names(rng, 80)
    return [_Record(u, label) for u, label in zip(owners, drawn, strict=True)], users, places


def _render(rng: random.Random, records: list[_Record], places: list[str]) -> str:
    for record in records:
        record.text = instance_text(rng, record.label, places)
    return "\n".join(record_line(rng, r.user, r.text) for r in records)


def _count(rng: random.Random, size_tokens: int, seed: int) -> Task:
    weights = [rng.uniform(0.5, 2.0) for _ in LABELS]
    records, _, places = _records(rng, size_tokens, LABELS, weights)
    label = rng.choice(LABELS)
    context = _render(rng, records, places)
    gold = sum(r.label == label for r in records)
    return Task(
        family="count",
        size_tokens=size_tokens,
        seed=seed,
        question=q.count_question(label),
        context=context,
        gold=str(gold),
        metric="0.75^|err|",
        expected=gold,
        details={"label": label, "records": len(records)},
    )


def _top(rng: random.Random, size_tokens: int, seed: int) -> Task:
    weights = rng.sample([0.28, 0.2, 0.17, 0.14, 0.12, 0.09], len(LABELS))
    records, _, places = _records(rng, size_tokens, LABELS, weights)
    counts = Counter(r.label for r in records)
    (first, n1), (_, n2) = counts.most_common(2)
    for record in records:  # a tie would make the gold answer ambiguous: break it
        if n1 > n2:
            break
        if record.label != first:
            record.label, n1 = first, n1 + 1
    context = _render(rng, records, places)
    counts = Counter(r.label for r in records)
    return Task(
        family="top",
        size_tokens=size_tokens,
        seed=seed,
        question=q.top_question(),
        context=context,
        gold=first,
        metric="exact",
        expected=first,
        distractors=tuple(label for label in LABELS if label != first),
        details={"counts": dict(counts), "records": len(records)},
    )


def _pairs(rng: random.Random, size_tokens: int, seed: int) -> Task:
    first, second = rng.sample(LABELS, 2)
    others = tuple(label for label in LABELS if label not in (first, second))
    records, users, places = _records(rng, size_tokens, others, [1.0] * len(others))
    by_user: dict[int, list[_Record]] = {}
    for record in records:
        by_user.setdefault(record.user, []).append(record)
    eligible = sorted(u for u in users if len(by_user.get(u, ())) >= 4)
    chosen = rng.sample(eligible, min(len(eligible), 22))
    qualifying = sorted(chosen[: rng.randint(6, 10)])
    rest = chosen[len(qualifying) :]
    only_first, only_second = rest[: len(rest) // 2], rest[len(rest) // 2 :]
    for user in chosen:
        mine = rng.sample(by_user[user], 4)
        if user not in only_second:
            for record in mine[: rng.randint(1, 2)]:
                record.label = first
        if user not in only_first:
            for record in mine[2 : 2 + rng.randint(1, 2)]:
                record.label = second
    context = _render(rng, records, places)
    gold = sorted(combinations(qualifying, 2))
    return Task(
        family="pairs",
        size_tokens=size_tokens,
        seed=seed,
        question=q.pairs_question(first, second),
        context=context,
        gold=q.pairs_answer(gold),
        metric="F1",
        expected=frozenset(gold),
        details={
            "labels": (first, second),
            "qualifying": qualifying,
            "only_first": sorted(only_first),
            "only_second": sorted(only_second),
            "records": len(records),
        },
    )


# -- multi-hop over documents ---------------------------------------------------------------


def _multihop(rng: random.Random, size_tokens: int, seed: int) -> Task:
    target = size_tokens * CHARS_PER_TOKEN
    n_docs = max(8, min(512, target // 8000))
    doc_chars = target // n_docs
    cities = make_names(rng, n_docs)
    people = make_people(rng, n_docs)
    artifacts = make_artifacts(rng, n_docs)
    pool = filler_sentences(rng, 400)
    docs = [_filler_lines(rng, doc_chars, pool) for _ in range(n_docs)]
    for j, lines in enumerate(docs):
        _plant(rng, lines, keeper_fact(cities[j], people[j]))
    kept_in = [rng.randrange(n_docs) for _ in artifacts]
    stated_in = []
    for artifact, home in zip(artifacts, kept_in, strict=True):
        where = rng.choice([d for d in range(n_docs) if d != home])
        stated_in.append(where)
        _plant(rng, docs[where], location_fact(artifact, cities[home]))
    for _ in range(3):
        _plant(
            rng, docs[rng.randrange(n_docs)], artifact_decoy(rng, artifacts[0], rng.choice(cities))
        )
    documents = [
        Document(page_content="\n".join(lines), metadata={"title": cities[j], "doc_id": j})
        for j, lines in enumerate(docs)
    ]
    home = kept_in[0]
    return Task(
        family="multihop",
        size_tokens=size_tokens,
        seed=seed,
        question=q.multihop_question(artifacts[0]),
        context=documents,
        gold=people[home],
        metric="exact",
        expected=people[home],
        distractors=tuple(p for i, p in enumerate(people) if i != home),
        details={
            "artifact": artifacts[0],
            "city": cities[home],
            "fact_doc": stated_in[0],
            "answer_doc": home,
            "documents": n_docs,
        },
    )


# -- scoring --------------------------------------------------------------------------------


def _exact(task: Task, answer: str) -> float:
    text = answer.casefold()
    if task.gold.casefold() not in text:
        return 0.0
    return 0.0 if any(d.casefold() in text for d in task.distractors) else 1.0


def _needle_score(task: Task, answer: str) -> float:
    return _exact(task, answer)


_INTEGER = re.compile(r"-?\d[\d,]*")


def _count_score(task: Task, answer: str) -> float:
    match = _INTEGER.search(answer)
    if match is None:
        return 0.0
    value = int(match.group().replace(",", ""))
    return float(0.75 ** abs(value - int(task.expected)))


def _top_score(task: Task, answer: str) -> float:
    named = q.TOP_ANSWER.search(answer)
    if named is not None:
        return float(named.group(1) == task.expected)
    words = set(re.findall(r"[a-z]+", answer.casefold()))
    mentioned = [label for label in LABELS if label in words]
    return float(mentioned == [task.expected])


def _pairs_score(task: Task, answer: str) -> float:
    got = {(min(int(a), int(b)), max(int(a), int(b))) for a, b in q.PAIR.findall(answer)}
    gold: frozenset[tuple[int, int]] = task.expected
    if not gold and not got:
        return 1.0
    hits = len(got & gold)
    if hits == 0:
        return 0.0
    precision, recall = hits / len(got), hits / len(gold)
    return 2 * precision * recall / (precision + recall)


_GENERATORS = {
    "needle": _needle,
    "count": _count,
    "top": _top,
    "pairs": _pairs,
    "multihop": _multihop,
}
_SCORERS = {
    "needle": _needle_score,
    "count": _count_score,
    "top": _top_score,
    "pairs": _pairs_score,
    "multihop": _exact,
}
