"""Search over a long text with character offsets: regular expressions and BM25.

Pure functions over a ``str``, used inside the RLM sandbox (``search`` and ``bm25_search``
in the REPL) and on the host (``RLMEngine.search_context``). Every hit carries ``start`` and
``end`` such that ``text[start:end] == hit.text``.

BM25 ranks fixed-size, overlapping character chunks (no sentence or paragraph detection, so
the offsets are predictable). The tokenizer is Unicode-aware: a token is a run of letters and
digits in any script (so Polish ``zażółć`` is one token), compared after NFC normalisation
and case folding. There is no stemming: inflected forms are different terms.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BM25Index",
    "Bm25Hit",
    "RegexHit",
    "bm25_search",
    "chunk_spans",
    "regex_search",
    "tokenize",
]

_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class RegexHit:
    """One match of :func:`regex_search`, with a snippet around it."""

    start: int
    """Where the snippet starts in the searched text."""
    end: int
    """Where the snippet ends (exclusive): ``text[start:end] == self.text``."""
    text: str
    """The snippet: the match with up to ``window`` characters on each side."""
    match_start: int
    """Where the match starts in the searched text."""
    match_end: int
    """Where the match ends (exclusive)."""
    match: str
    """The matched text (cut to ``max_match_chars``)."""

    def to_dict(self) -> dict[str, Any]:
        """The hit as a plain dict (what the REPL's ``search`` returns)."""
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "match_start": self.match_start,
            "match_end": self.match_end,
            "match": self.match,
        }


@dataclass(frozen=True)
class Bm25Hit:
    """One chunk ranked by :class:`BM25Index`."""

    start: int
    """Where the chunk starts in the indexed text."""
    end: int
    """Where the chunk ends (exclusive): ``text[start:end] == self.text``."""
    score: float
    """Its BM25 score for the query (higher is more relevant; always > 0)."""
    text: str
    """The chunk's text."""

    def to_dict(self) -> dict[str, Any]:
        """The hit as a plain dict (what the REPL's ``bm25_search`` returns)."""
        return {"start": self.start, "end": self.end, "score": self.score, "text": self.text}


def regex_search(
    text: str,
    pattern: str | re.Pattern[str],
    *,
    flags: int = 0,
    max_hits: int = 50,
    window: int = 200,
    max_match_chars: int = 2000,
) -> list[RegexHit]:
    """Find a regular expression in ``text``.

    Args:
        text: The text to search.
        pattern: A pattern string or a compiled pattern.
        flags: ``re`` flags for a pattern string (ignored for a compiled pattern).
        max_hits: The most matches returned (the first ones, in text order).
        window: Characters of context kept on each side of a match in the snippet.
        max_match_chars: A longer match is cut to this many characters (in ``match`` and in
            the snippet).

    Returns:
        The hits, in text order.

    Raises:
        ValueError: If ``max_hits``, ``window`` or ``max_match_chars`` is negative (or
            ``max_match_chars`` is 0).
        re.error: If the pattern is invalid.
    """
    if max_hits < 0 or window < 0 or max_match_chars < 1:
        raise ValueError("max_hits and window must be >= 0 and max_match_chars >= 1")
    compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
    hits: list[RegexHit] = []
    if max_hits == 0:
        return hits
    length = len(text)
    for found in compiled.finditer(text):
        match_start, match_end = found.span()
        shown_end = min(match_end, match_start + max_match_chars)
        start = max(0, match_start - window)
        end = min(length, shown_end + window)
        hits.append(
            RegexHit(
                start=start,
                end=end,
                text=text[start:end],
                match_start=match_start,
                match_end=match_end,
                match=text[match_start:shown_end],
            )
        )
        if len(hits) >= max_hits:
            break
    return hits


def tokenize(text: str) -> list[str]:
    """Split text into search terms: runs of letters and digits, NFC-normalised, case-folded.

    Args:
        text: Any text, in any script.

    Returns:
        The terms, in order (repeats kept).
    """
    return _TOKEN.findall(unicodedata.normalize("NFC", text).casefold())


def chunk_spans(length: int, chunk_chars: int, overlap: int) -> list[tuple[int, int]]:
    """Fixed-size overlapping chunks covering ``range(length)``.

    Chunks start every ``chunk_chars - overlap`` characters; the last one ends at ``length``
    (it may be shorter, and no chunk lies wholly inside the previous one).

    Args:
        length: Length of the text.
        chunk_chars: Characters per chunk (> 0).
        overlap: Characters shared by consecutive chunks (0 <= overlap < chunk_chars).

    Returns:
        ``(start, end)`` pairs in order; empty for an empty text.

    Raises:
        ValueError: For a non-positive ``chunk_chars`` or an overlap out of range.
    """
    if chunk_chars <= 0:
        raise ValueError("chunk_chars must be > 0")
    if not 0 <= overlap < chunk_chars:
        raise ValueError("overlap must be >= 0 and < chunk_chars")
    step = chunk_chars - overlap
    spans: list[tuple[int, int]] = []
    start = 0
    while start < length:
        end = min(length, start + chunk_chars)
        spans.append((start, end))
        if end == length:
            break
        start += step
    return spans


class BM25Index:
    """Okapi BM25 over fixed-size overlapping character chunks of one text.

    Building the index tokenizes every chunk once; searching costs one pass over the postings
    of the query's terms. The inverse document frequency is the non-negative form
    ``ln(1 + (N - df + 0.5) / (df + 0.5))``.
    """

    def __init__(
        self,
        text: str,
        *,
        chunk_chars: int = 2000,
        overlap: int | None = None,
        k1: float = 1.5,
        b: float = 0.75,
    ) -> None:
        """Index ``text``.

        Args:
            text: The text to index.
            chunk_chars: Characters per chunk.
            overlap: Characters shared by consecutive chunks (default: a quarter of a chunk).
            k1: BM25 term-frequency saturation.
            b: BM25 length normalisation (0: none, 1: full).

        Raises:
            ValueError: For an invalid chunk size, overlap, ``k1`` or ``b``.
        """
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError("k1 must be >= 0 and b within [0, 1]")
        self.text = text
        """The indexed text."""
        self.chunk_chars = chunk_chars
        """Characters per chunk."""
        self.overlap = chunk_chars // 4 if overlap is None else overlap
        """Characters shared by consecutive chunks."""
        self.k1 = k1
        """BM25 term-frequency saturation."""
        self.b = b
        """BM25 length normalisation."""
        self.spans = chunk_spans(len(text), chunk_chars, self.overlap)
        """Each chunk's ``(start, end)``."""
        self._lengths: list[int] = []
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for index, (start, end) in enumerate(self.spans):
            counts = Counter(tokenize(text[start:end]))
            self._lengths.append(sum(counts.values()))
            for term, count in counts.items():
                self._postings.setdefault(term, []).append((index, count))
        total = sum(self._lengths)
        self._average = total / len(self._lengths) if total else 0.0

    def search(self, query: str, k: int = 5) -> list[Bm25Hit]:
        """Rank the chunks for ``query``.

        Args:
            query: Words to look for (tokenized like the text; repeats count once).
            k: The most hits returned.

        Returns:
            Up to ``k`` chunks with a positive score, best first (ties: earlier first).

        Raises:
            ValueError: If ``k`` is negative.
        """
        if k < 0:
            raise ValueError("k must be >= 0")
        chunks = len(self.spans)
        if k == 0 or chunks == 0 or self._average == 0:
            return []
        scores: dict[int, float] = {}
        for term in dict.fromkeys(tokenize(query)):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = math.log(1.0 + (chunks - len(postings) + 0.5) / (len(postings) + 0.5))
            for index, count in postings:
                norm = self.k1 * (1.0 - self.b + self.b * self._lengths[index] / self._average)
                gain = idf * count * (self.k1 + 1.0) / (count + norm)
                scores[index] = scores.get(index, 0.0) + gain
        ranked = sorted(
            (item for item in scores.items() if item[1] > 0), key=lambda item: (-item[1], item[0])
        )
        hits: list[Bm25Hit] = []
        for index, score in ranked[:k]:
            start, end = self.spans[index]
            hits.append(Bm25Hit(start=start, end=end, score=score, text=self.text[start:end]))
        return hits


def bm25_search(
    text: str,
    query: str,
    *,
    k: int = 5,
    chunk_chars: int = 2000,
    overlap: int | None = None,
) -> list[Bm25Hit]:
    """Rank fixed-size chunks of ``text`` by BM25 relevance to ``query`` (one-off index).

    Build a :class:`BM25Index` instead to search the same text several times.

    Args:
        text: The text to search.
        query: Words to look for.
        k: The most hits returned.
        chunk_chars: Characters per chunk.
        overlap: Characters shared by consecutive chunks (default: a quarter of a chunk).

    Returns:
        Up to ``k`` chunks, best first.
    """
    return BM25Index(text, chunk_chars=chunk_chars, overlap=overlap).search(query, k)
