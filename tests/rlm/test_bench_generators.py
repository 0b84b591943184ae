"""The RLM benchmark's task generators: seeded, sized, and with gold answers that are right.

Gold answers are checked by reading the generated text back independently of the generator
and of the oracle: each instance's label is recovered by matching it against the wording
templates (not the oracle's cue words), facts by their own regular expressions.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import combinations

import pytest

from benchmarks.rlm import questions as q
from benchmarks.rlm.generators import FAMILIES, Task, generate, join_documents
from benchmarks.rlm.world import CHARS_PER_TOKEN, INSTANCE_TEMPLATES, LABELS

SIZES = (1 << 13, 1 << 16)


def _template_regexes() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for label, templates in INSTANCE_TEMPLATES.items():
        for template in templates:
            pattern = re.escape(template)
            pattern = re.sub(r"\\\{\w+\\\}", r"[^?]+?", pattern)
            out.append((re.compile(pattern + r"\Z"), label))
    return out


TEMPLATES = _template_regexes()
LINE = re.compile(r"^Date: .+? \|\| User: (\d+) \|\| Instance: (.+)$")


def _labels(task: Task) -> list[tuple[int, str]]:
    """(user, label) of every record, labels recovered from the templates alone."""
    out = []
    for line in task.text.split("\n"):
        match = LINE.match(line)
        assert match, f"not a record line: {line[:80]!r}"
        labels = {label for pattern, label in TEMPLATES if pattern.match(match.group(2))}
        assert len(labels) == 1, f"{match.group(2)!r} matches {labels}"
        out.append((int(match.group(1)), labels.pop()))
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_task_other_seed_other_task(family: str) -> None:
    a, b = generate(family, 1 << 13, seed=7), generate(family, 1 << 13, seed=7)  # type: ignore[arg-type]
    assert (a.question, a.text, a.gold, a.expected) == (b.question, b.text, b.gold, b.expected)
    c = generate(family, 1 << 13, seed=8)  # type: ignore[arg-type]
    assert c.text != a.text


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("family", FAMILIES)
def test_context_is_the_size_asked(family: str, size: int) -> None:
    task = generate(family, size, seed=1)  # type: ignore[arg-type]
    assert abs(task.chars / (size * CHARS_PER_TOKEN) - 1) < 0.08
    assert q.parse_question(task.question) is not None


def test_a_million_tokens_is_generated() -> None:
    task = generate("count", 1 << 20, seed=0)
    assert abs(task.chars / (4 << 20) - 1) < 0.05
    assert int(task.gold) == sum(1 for _, label in _labels(task) if label == task.details["label"])


@pytest.mark.parametrize("seed", range(3))
def test_needle_is_unique_and_right(seed: int) -> None:
    task = generate("needle", 1 << 14, seed)
    project = task.details["project"]
    found = re.findall(rf"access code for project {project} is (\S+)\.", task.text)
    assert found == [task.gold]
    assert len(re.findall(rf"\bproject {project}\b", task.text)) == 4  # the needle and 3 decoys
    assert task.gold not in task.distractors
    assert all(d in task.text for d in task.distractors)


@pytest.mark.parametrize("seed", range(3))
def test_count_gold_is_the_count(seed: int) -> None:
    task = generate("count", 1 << 14, seed)
    labels = Counter(label for _, label in _labels(task))
    assert int(task.gold) == labels[task.details["label"]] > 0
    assert sum(labels.values()) == task.details["records"]


@pytest.mark.parametrize("seed", range(3))
def test_top_gold_is_the_unique_most_frequent(seed: int) -> None:
    task = generate("top", 1 << 14, seed)
    (first, n1), (_, n2) = Counter(label for _, label in _labels(task)).most_common(2)
    assert task.gold == first
    assert n1 > n2


@pytest.mark.parametrize("seed", range(3))
def test_pairs_gold_are_the_pairs(seed: int) -> None:
    task = generate("pairs", 1 << 14, seed)
    first, second = task.details["labels"]
    seen: dict[int, set[str]] = defaultdict(set)
    for user, label in _labels(task):
        seen[user].add(label)
    both = sorted(u for u, labels in seen.items() if {first, second} <= labels)
    assert set(combinations(both, 2)) == task.expected
    assert len(both) >= 6
    only = [u for u, labels in seen.items() if len({first, second} & labels) == 1]
    assert only, "users with one of the two labels make the pairs non-trivial"


@pytest.mark.parametrize("seed", range(3))
def test_multihop_needs_two_documents(seed: int) -> None:
    task = generate("multihop", 1 << 14, seed)
    assert isinstance(task.context, list)
    artifact = task.details["artifact"]
    holding = [
        (i, m.group(1))
        for i, doc in enumerate(task.context)
        for m in re.finditer(rf"The {artifact} is kept in the archive of (\w+)\.", doc.page_content)
    ]
    assert len(holding) == 1
    fact_doc, city = holding[0]
    titled = [i for i, doc in enumerate(task.context) if doc.metadata["title"] == city]
    assert len(titled) == 1
    assert titled[0] != fact_doc
    keeper = re.findall(rf"The archive of {city} is run by (\w+ \w+)\.", task.text)
    assert keeper == [task.gold]
    assert keeper[0] in task.context[titled[0]].page_content
    assert len(re.findall(re.escape(artifact), task.text)) == 4  # the fact and 3 decoys
    assert task.text == join_documents(task.context)


def test_scorers() -> None:
    needle = generate("needle", 1 << 13, 0)
    assert needle.score(f"The code is {needle.gold}.") == 1.0
    assert needle.score(f"{needle.gold} or {needle.distractors[0]}") == 0.0
    assert needle.score("I do not know.") == 0.0

    count = generate("count", 1 << 13, 0)
    gold = int(count.gold)
    assert count.score(f"There are {gold} records labelled x.") == 1.0
    assert count.score(str(gold + 2)) == pytest.approx(0.75**2)
    assert count.score("none") == 0.0

    top = generate("top", 1 << 13, 0)
    other = next(label for label in LABELS if label != top.gold)
    assert top.score(top.gold) == 1.0
    assert top.score(f"Label counts: {other}=9. The most frequent label is {top.gold}.") == 1.0
    assert top.score(f"{top.gold} or {other}") == 0.0

    pairs = generate("pairs", 1 << 13, 0)
    gold_pairs = sorted(pairs.expected)
    assert pairs.score(pairs.gold) == 1.0
    half = q.pairs_answer(gold_pairs[: len(gold_pairs) // 2])
    recall = (len(gold_pairs) // 2) / len(gold_pairs)
    assert pairs.score(half) == pytest.approx(2 * recall / (1 + recall))
    assert pairs.score("Pairs: none.") == 0.0

    hop = generate("multihop", 1 << 13, 0)
    assert hop.score(f"It is {hop.gold}.") == 1.0
    assert hop.score(f"{hop.gold} or {hop.distractors[0]}") == 0.0


@pytest.mark.parametrize(
    "question",
    [
        q.needle_question("Velmar"),
        q.count_question("entity"),
        q.top_question(),
        q.label_counts_question(),
        q.pairs_question("person", "number"),
        q.users_with_question(["location", "abbreviation"]),
        q.multihop_question("amber music box"),
        q.hop1_question("amber music box"),
        q.hop2_question("Velmar"),
    ],
)
def test_questions_round_trip(question: str) -> None:
    parsed = q.parse_question(f"Some text first.\n{question}\nText:\nDate: ...")
    assert parsed is not None
    assert parsed.part is None
    assert q.question_text(parsed) == question
    marked = q.parse_question(q.with_part(question, 2, 4))
    assert marked is not None
    assert marked.part == (2, 4)
    assert marked.args == parsed.args


def test_unknown_family_and_tiny_size_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown task family"):
        generate("poems", 1 << 13)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1024"):
        generate("needle", 100)
