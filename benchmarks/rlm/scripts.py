"""The REPL code the scripted root models write: fixed strategies, one per depth mode.

Every strategy starts with the same probe (the context's length, its first lines, and a few
helpers defined in the REPL), then, per question form:

* ``code`` (RLM depth 0): the root does the work in code where a fixed pattern can (the
  needle and both hops of the multi-hop question are found by regular expressions around
  ``search`` hits, no sub-call); where a record's label must be understood (counting, the
  most frequent label, pairs) it sends one ``llm_query`` per chunk, one after another;
* ``subcalls`` (RLM depth 1): filter with ``search`` where the question names something
  (a project, an artifact, a city) and send windows around the hits, else split the whole
  context into chunks; ask the sub-model about all of them with ``llm_query_batched``;
  combine the answers in code;
* ``recursive`` (RLM depth 2): split the context into a few big parts and hand each part
  that matters to a child RLM with ``rlm_query`` (a question marked ``(part k of n)``, which
  the child answers with the ``subcalls`` strategy); combine the children's answers in code.

The code is generated here as text, with the question's values written in as Python
literals; nothing in it knows the gold answer.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from benchmarks.rlm import questions as q
from benchmarks.rlm.questions import NOT_FOUND, Question

__all__ = ["Mode", "Plan", "probe", "step_code"]

Mode = Literal["code", "subcalls", "recursive"]
"""The strategies: RLM depth 0, 1 and 2."""

HELPERS: Final = '''import re

def spans(start, end, size):
    """Spans of context between start and end, about size long, cut after a newline."""
    out, a = [], start
    while a < end:
        b = min(a + size, end)
        if b < end:
            tail = context[max(a, b - 400):b]
            cut = tail.rfind("\\n")
            if cut >= 0:
                b = b - len(tail) + cut + 1
        out.append((a, b))
        a = b
    return out

def split(count):
    """count spans of context of about equal size, cut after a newline."""
    n, bounds = len(context), [0]
    for k in range(1, count):
        b = k * n // count
        tail = context[max(0, b - 400):b]
        cut = tail.rfind("\\n")
        bounds.append(b - len(tail) + cut + 1 if cut >= 0 else b)
    bounds.append(n)
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]

def windows(hits, radius):
    """Merged spans of context around search hits."""
    out = []
    for h in sorted(hits, key=lambda h: h["start"]):
        a, b = max(0, h["start"] - radius), min(len(context), h["end"] + radius)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out

def prompts(question, parts):
    return [question + "\\n\\nText:\\n" + context[a:b] for a, b in parts]

def ask(question, parts):
    """Ask the sub-model about every part, concurrently."""
    return llm_query_batched(prompts(question, parts))

def ask_each(question, parts):
    """Ask the sub-model about every part, one call after another."""
    return [llm_query(p) for p in prompts(question, parts)]

def delegate(question, parts):
    """Hand each part to a child RLM, marked (part k of n)."""
    n = len(parts)
    print("DELEGATED=" + ";".join(f"{a}:{b}" for a, b in parts))
    return [rlm_query(f"{question} (part {k} of {n})", context=context[a:b])
            for k, (a, b) in enumerate(parts, 1)]

def holding(parts, hits):
    """The parts that contain a search hit."""
    return [(a, b) for a, b in parts if any(a <= h["start"] < b for h in hits)]

def found(answers):
    return [x for x in answers if x.strip() != NOT_FOUND]
'''


def probe(chunk_chars: int) -> str:
    """The first cell: the context's size and start, and the helpers."""
    return (
        f"NOT_FOUND = {NOT_FOUND!r}\nCHUNK = {chunk_chars}\n{HELPERS}\n"
        'print(f"CONTEXT_CHARS={len(context)}")\n'
        "print(context[:300])\n"
    )


class Plan:
    """What a strategy needs to know to write its next cell."""

    def __init__(
        self,
        question: Question,
        mode: Mode,
        context_chars: int,
        *,
        chunk_chars: int,
        fanout: int,
    ) -> None:
        self.question = question
        """The parsed question (with its ``part`` mark, for a child)."""
        self.mode = mode
        """The strategy."""
        self.context_chars = context_chars
        """The context's length as the probe printed it."""
        self.chunk_chars = chunk_chars
        """Characters per sub-call chunk."""
        self.fanout = fanout
        """The most big parts the recursive strategy splits into."""

    @property
    def text(self) -> str:
        """The question as written (without a part mark), to ask sub-models again."""
        return q.question_text(self.question)

    @property
    def big_parts(self) -> int:
        """Into how many parts a recursive cell splits (0: it does not recurse).

        A child RLM gets a part only when the context holds more than two chunks, and each
        part holds at least two chunks; a child (a question marked as a part) never splits.
        """
        if self.mode != "recursive" or self.question.part is not None:
            return 0
        if self.context_chars <= 2 * self.chunk_chars:
            return 0
        return min(self.fanout, -(-self.context_chars // (2 * self.chunk_chars)))

    def but(self, question: Question) -> Plan:
        """The same strategy for another question."""
        return Plan(
            question,
            self.mode,
            self.context_chars,
            chunk_chars=self.chunk_chars,
            fanout=self.fanout,
        )


def step_code(plan: Plan, step: int, seen: str) -> str:
    """The code of cell ``step`` (1 = the first after the probe).

    Args:
        plan: The strategy and question.
        step: Which cell.
        seen: The REPL output fed back so far (read for a hop's result).

    Returns:
        The cell's code; every strategy ends with ``FINAL(answer)``.
    """
    kind = plan.question.kind
    if kind in ("hop1", "hop2", "needle"):
        return _lookup(plan)
    if kind == "multihop":
        return _multihop(plan, step, seen)
    return _aggregate(plan)


def _chunks(plan: Plan) -> str:
    """Code for the spans a cell works on: big parts when recursing, else chunks."""
    if plan.big_parts:
        return f"split({plan.big_parts})"
    return "spans(0, len(context), CHUNK)"


def _ask(plan: Plan, question: str) -> str:
    """Code that sets ``answers`` from ``parts``, as the mode asks."""
    if plan.big_parts:
        return f"answers = delegate({question!r}, parts)\n"
    if plan.mode == "code":
        return f"answers = ask_each({question!r}, parts)\n"
    return f"answers = ask({question!r}, parts)\n"


# -- a named thing: needle, hop 1, hop 2 ---------------------------------------------------

_KEY_PATTERNS: Final = {
    "needle": r"\bproject {0}\b",
    "hop1": r"\b{0}\b",
    "hop2": r"\barchive of {0}\b",
}
_FACT_PATTERNS: Final = {
    "needle": (r"secret access code for project ", r" is (\d{3}-[A-Z]{3})", "{1}"),
    "hop1": (
        r"The ",
        r" is kept in the archive of (\w+)\.",
        "The {0} is kept in the archive of {1}.",
    ),
    "hop2": (
        r"The archive of ",
        r" is run by ([A-Z]\w+ [A-Z]\w+)\.",
        "The archive of {0} is run by {1}.",
    ),
}
"""Per form: the fact's regex before and after the key, and how to state what was found."""


def _lookup(plan: Plan, *, final: bool = True, key_expr: str | None = None) -> str:
    """Find what the question names; sets ``answer`` (a sentence, or NOT_FOUND).

    ``key_expr`` is a Python expression for the key, for code that takes it from a
    variable (the code-only multi-hop strategy); by default the question's key is written in.
    """
    kind, key = plan.question.kind, plan.question.args[0]
    key_expr = key_expr or repr(key)
    if plan.mode == "code":
        before, after, shape = _FACT_PATTERNS[kind]
        code = (
            f"fact = {before!r} + re.escape({key_expr}) + {after!r}\n"
            "hits = search(fact)\n"
            "answer = NOT_FOUND\n"
            "for h in hits:\n"
            "    m = re.search(fact, context[h['start']:h['end']])\n"
            "    if m:\n"
            f"        answer = {shape!r}.format({key_expr}, m.group(1))\n"
            "        break\n"
        )
    else:
        pattern = _KEY_PATTERNS[kind].format(re.escape(key))
        code = f"hits = search({pattern!r}, max_hits=1000)\n"
        if plan.big_parts:
            code += f"parts = holding({_chunks(plan)}, hits) or {_chunks(plan)}\n"
        else:
            code += f"parts = windows(hits, 1500) or {_chunks(plan)}\n"
        code += _ask(plan, plan.text)
        code += "hits_found = found(answers)\n"
        code += "answer = hits_found[0] if hits_found else NOT_FOUND\n"
    code += 'print("ANSWER=" + answer)\n'
    return code + ("FINAL(answer)\n" if final else "")


# -- multi-hop: two lookups, the second reads the first's result ---------------------------

_CITY = "m = re.search(r'archive of (\\w+)', answer)\ncity = m.group(1) if m else '?'\n"
_PERSON = (
    "m = re.search(r'is run by ([A-Z]\\w+ [A-Z]\\w+)', answer)\n"
    "answer = m.group(1) if m else NOT_FOUND\n"
    "FINAL(answer)\n"
)


def _multihop(plan: Plan, step: int, seen: str) -> str:
    artifact = plan.question.args[0]
    first = plan.but(Question("hop1", (artifact,)))
    if plan.mode == "code":  # both hops in one cell: the city is a variable
        second = plan.but(Question("hop2", ("?",)))
        return (
            _lookup(first, final=False)
            + _CITY
            + _lookup(second, final=False, key_expr="city")
            + _PERSON
        )
    if step <= 1:
        return _lookup(first, final=False) + _CITY + 'print("HOP1_CITY=" + city)\n'
    cities = re.findall(r"HOP1_CITY=(\w+|\?)", seen)
    city = cities[-1] if cities else "?"
    if city == "?":
        return "answer = NOT_FOUND\nFINAL(answer)\n"
    return _lookup(plan.but(Question("hop2", (city,))), final=False) + _PERSON


# -- aggregation over every record: count, top, label counts, users, pairs -----------------


def _aggregate(plan: Plan) -> str:
    kind, args = plan.question.kind, plan.question.args
    code = f"parts = {_chunks(plan)}\n"
    if kind == "count":
        code += _ask(plan, plan.text)
        return code + (
            f"total = sum(int(m.group(1)) for a in answers "
            f"for m in [re.search({q.COUNT_ANSWER.pattern!r}, a)] if m)\n"
            f"answer = f'There are {{total}} records labelled {args[0]}.'\n"
            "FINAL(answer)\n"
        )
    if kind in ("top", "label_counts"):
        code += _ask(plan, q.label_counts_question())
        code += (
            "from collections import Counter\n"
            "counts = Counter()\n"
            "for a in answers:\n"
            f"    for m in re.finditer({q.LABEL_COUNTS_ANSWER.pattern!r}, a):\n"
            f"        for label, n in re.findall({q.LABEL_COUNT_ITEM.pattern!r}, m.group(1)):\n"
            "            counts[label] += int(n)\n"
            "ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))\n"
            "print(ranked)\n"
        )
        if kind == "top":
            return code + "answer = ranked[0][0] if ranked else NOT_FOUND\nFINAL(answer)\n"
        return code + (
            "answer = ('Label counts: ' + ', '.join(f'{k}={v}' for k, v in ranked) + '.') "
            "if ranked else 'Label counts: none.'\n"
            "FINAL(answer)\n"
        )
    labels = args
    code += _ask(plan, q.users_with_question(labels))
    code += (
        f"users = {{label: set() for label in {labels!r}}}\n"
        "for a in answers:\n"
        f"    for m in re.finditer({q.USERS_ANSWER.pattern!r}, a):\n"
        "        if m.group(1) in users and m.group(2) != 'none':\n"
        "            users[m.group(1)].update(int(u) for u in m.group(2).split(', '))\n"
        "print({k: len(v) for k, v in users.items()})\n"
    )
    if kind == "users_with":
        return code + (
            "answer = '\\n'.join(f'Users with label {k}: ' + "
            "(', '.join(map(str, sorted(v))) or 'none') + '.' for k, v in users.items())\n"
            "FINAL(answer)\n"
        )
    return code + (
        f"both = sorted(users[{labels[0]!r}] & users[{labels[1]!r}])\n"
        "pairs = [(a, b) for i, a in enumerate(both) for b in both[i + 1:]]\n"
        "answer = ('Pairs: ' + ', '.join(f'({a}, {b})' for a, b in pairs) + '.') "
        "if pairs else 'Pairs: none.'\n"
        "FINAL(answer)\n"
    )
