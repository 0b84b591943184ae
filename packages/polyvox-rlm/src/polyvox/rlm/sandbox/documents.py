"""How a list of documents becomes the REPL's single ``context`` string.

The texts are joined with :data:`DOCUMENT_SEPARATOR`; each document's ``(start, end)`` span in
the joined string is kept, so code (and the host) can map any offset of ``context`` back to
a document. ``context.split(DOCUMENT_SEPARATOR)`` gives the documents back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DOCUMENT_SEPARATOR", "join_documents", "prepare_context"]

DOCUMENT_SEPARATOR = "\n\n=== document break ===\n\n"
"""What stands between two documents in ``context``."""


def join_documents(texts: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join document texts into one context string.

    Args:
        texts: The documents' texts, in order.

    Returns:
        The joined string and each document's ``(start, end)`` in it
        (``joined[start:end] == texts[i]``).

    Raises:
        TypeError: If an item is not a ``str``.
    """
    spans: list[tuple[int, int]] = []
    position = 0
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"document {index} is a {type(text).__name__}, not a str")
        if index:
            position += len(DOCUMENT_SEPARATOR)
        spans.append((position, position + len(text)))
        position += len(text)
    return DOCUMENT_SEPARATOR.join(texts), spans


def prepare_context(
    context: str | Sequence[str], metadata: Sequence[Mapping[str, Any]] | None
) -> tuple[str, list[tuple[int, int]] | None, list[dict[str, Any]] | None]:
    """Validate a sandbox's context and build what the worker needs.

    Args:
        context: One string, or several documents' texts.
        metadata: One mapping per document (for a single string: ``None`` or one mapping).

    Returns:
        The joined context, each document's span (``None`` for a bare string), and the
        documents' ``{"metadata", "start", "end"}`` for the worker (``None`` likewise).

    Raises:
        TypeError: For a context that is neither a string nor a sequence of strings, or
            metadata entries that are not mappings.
        ValueError: If ``metadata`` does not have one entry per document.
    """
    if isinstance(context, str):
        if metadata is None:
            return context, None, None
        texts: Sequence[str] = [context]
    elif isinstance(context, Sequence):
        texts = context
    else:
        raise TypeError(f"context must be a str or a sequence of str, not {type(context).__name__}")
    text, spans = join_documents(texts)
    if metadata is None:
        metadata = [{} for _ in texts]
    if len(metadata) != len(texts):
        raise ValueError(f"metadata has {len(metadata)} entries for {len(texts)} documents")
    documents = [
        {"metadata": _json_safe(meta), "start": start, "end": end}
        for meta, (start, end) in zip(metadata, spans, strict=True)
    ]
    return text, spans, documents


def _json_safe(metadata: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata entries must be mappings, not {type(metadata).__name__}")
    loaded: dict[str, Any] = json.loads(json.dumps(dict(metadata), default=str))
    return loaded
