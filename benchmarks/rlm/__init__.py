"""The Recursive Language Model benchmark: ``python -m benchmarks.rlm``.

Compares, on seeded long-context tasks like those of the RLM paper (arXiv 2512.24601) from
2^13 to 2^20 tokens, a direct call, LlamaIndex ``tree_summarize`` and
:class:`polyvox.rlm.rlm.RecursiveLanguageModel` at depth 0, 1 and 2; measures score, calls and
tokens per depth, the root's peak context, cost, wall time and the share of the context read.

By default (scripted mode) the root models are scripted (fixed strategies) and the sub-model
is a simulated oracle: that measures the RLM's mechanics, not a model's reasoning. With
``--base-url URL --model NAME`` one real OpenAI-compatible model plays both roles.

Layout: ``world`` (the synthetic texts' vocabulary and formats), ``questions`` (question and
answer wording), ``generators`` (tasks and scorers), ``reading`` and ``oracle`` (the oracle
sub-model), ``scripts`` and ``scripted`` (the scripted root models), ``baselines``,
``measure`` (call records, a result row), ``runner``, ``report``, ``section`` (the
``rlm.scripted`` family of ``python -m benchmarks``) and ``__main__`` (the command line).
"""
