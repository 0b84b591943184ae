"""Regex and BM25 search over a text, with character offsets (polyvox.rlm.search)."""

from __future__ import annotations

import itertools
import re

import pytest

from polyvox.rlm.search import (
    BM25Index,
    bm25_search,
    chunk_spans,
    regex_search,
    tokenize,
)

TEXT = (
    "The harbour opened in 1871. Ships came from Gdańsk and Szczecin.\n"
    "In 1905 a fire destroyed the north pier; it was rebuilt in 1907.\n"
    "Zażółć gęślą jaźń — the old sailors' motto, painted on the lighthouse.\n"
)


def test_regex_hits_carry_offsets_and_snippets() -> None:
    hits = regex_search(TEXT, r"\b(1[89]\d\d)\b", window=10)
    assert [h.match for h in hits] == ["1871", "1905", "1907"]
    for hit in hits:
        assert TEXT[hit.start : hit.end] == hit.text
        assert TEXT[hit.match_start : hit.match_end] == hit.match
        assert hit.start == max(0, hit.match_start - 10)
        assert hit.end == min(len(TEXT), hit.match_end + 10)
        assert hit.match in hit.text


def test_regex_flags_max_hits_and_compiled_patterns() -> None:
    assert [h.match for h in regex_search(TEXT, "the", flags=re.IGNORECASE)][:2] == ["The", "the"]
    assert len(regex_search(TEXT, r"\d{4}", max_hits=2)) == 2
    assert regex_search(TEXT, r"\d{4}", max_hits=0) == []
    compiled = re.compile(r"jaźń")
    (hit,) = regex_search(TEXT, compiled)
    assert TEXT[hit.match_start : hit.match_end] == "jaźń"
    assert hit.to_dict()["match"] == "jaźń"
    assert set(hit.to_dict()) == {"start", "end", "text", "match_start", "match_end", "match"}


def test_regex_zero_width_and_long_matches_are_bounded() -> None:
    assert len(regex_search(TEXT, r"x*", max_hits=7)) == 7
    (hit,) = regex_search(TEXT, r"(?s).+", window=5, max_match_chars=20)
    assert hit.match == TEXT[:20]
    assert hit.match_end == len(TEXT)
    assert hit.text == TEXT[:25]
    with pytest.raises(re.error):
        regex_search(TEXT, "(")
    with pytest.raises(ValueError, match="max_hits"):
        regex_search(TEXT, "a", max_hits=-1)


def test_tokenize_is_unicode_aware_for_polish() -> None:
    assert tokenize("Zażółć GĘŚLĄ jaźń, 2024 r.") == ["zażółć", "gęślą", "jaźń", "2024", "r"]
    assert tokenize("snake_case and ŁÓDŹ") == ["snake", "case", "and", "łódź"]
    decomposed = "z\u0307o\u0301łw"  # combining accents: NFC makes them one word, "żółw"
    assert tokenize(decomposed) == ["żółw"]


def test_chunk_spans_cover_the_text_with_overlap() -> None:
    spans = chunk_spans(1000, 300, 100)
    assert spans[0] == (0, 300)
    assert spans[-1][1] == 1000
    for (a_start, a_end), (b_start, b_end) in itertools.pairwise(spans):
        assert b_start == a_start + 200
        assert a_end - b_start == 100 or a_end == 1000
        assert b_end > a_end
    assert chunk_spans(0, 300, 100) == []
    assert chunk_spans(50, 300, 100) == [(0, 50)]
    with pytest.raises(ValueError, match="overlap"):
        chunk_spans(10, 5, 5)
    with pytest.raises(ValueError, match="chunk_chars"):
        chunk_spans(10, 0, 0)


def test_bm25_ranks_the_relevant_chunk_first() -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40
    needle = "Latarnia morska w Helu ma wysokość 41 metrów i stoi od 1942 roku. "
    text = filler + needle + filler
    hits = bm25_search(text, "latarnia Helu wysokość", k=3, chunk_chars=500)
    assert hits, "the needle's chunk must match"
    best = hits[0]
    assert "Latarnia morska" in best.text
    assert text[best.start : best.end] == best.text
    assert best.end - best.start <= 500
    assert all(a.score >= b.score > 0 for a, b in itertools.pairwise(hits))
    assert set(best.to_dict()) == {"start", "end", "score", "text"}


def test_bm25_prefers_rare_terms_and_handles_edge_cases() -> None:
    text = ("alpha beta " * 50) + ("gamma " * 3) + ("alpha beta " * 50)
    index = BM25Index(text, chunk_chars=200, overlap=50)
    (top,) = index.search("gamma alpha", k=1)
    assert "gamma" in top.text
    assert index.search("nothing-here-zzz") == []
    assert index.search("gamma", k=0) == []
    assert BM25Index("").search("gamma") == []
    assert index.overlap == 50
    assert BM25Index(text, chunk_chars=200).overlap == 50
    with pytest.raises(ValueError, match="k must be"):
        index.search("gamma", k=-1)
    with pytest.raises(ValueError, match="k1"):
        BM25Index(text, b=2.0)


def test_bm25_finds_a_term_cut_by_a_chunk_boundary_in_the_overlap() -> None:
    text = "a" * 95 + " Szczebrzeszyn " + "b" * 200
    hits = bm25_search(text, "szczebrzeszyn", chunk_chars=100, overlap=40)
    assert hits
    assert "Szczebrzeszyn" in hits[0].text
