"""Deterministic text embeddings that carry a little meaning.

A vector is a hashed bag of words plus character trigrams, L2-normalised: identical texts
get identical vectors, texts that share words get a high cosine similarity, and common
English function words weigh little, so a small retrieval test ranks the right document
first. Nothing is random and nothing depends on the process (``hash()`` is not used).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import re
import struct
from collections.abc import Sequence

__all__ = ["DEFAULT_DIMENSIONS", "embed_text", "encode_base64", "model_dimensions"]

DEFAULT_DIMENSIONS = 1536
"""Dimensions when neither the model nor the request says otherwise."""

_MODEL_DIMENSIONS = {"text-embedding-3-large": 3072}
_WORD = re.compile(r"\w+")
_STOP_WORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by did do does for from had has have he her his how i in is it "
        "its me my of on or our she so that the their them they this to was we were what when "
        "where which who why will with you your",
    )
)
_WORD_WEIGHT = 1.0
_STOP_WEIGHT = 0.1
_TRIGRAM_WEIGHT = 0.25


def model_dimensions(model: str) -> int:
    """Return the native vector size of an embedding model.

    Args:
        model: The model name.

    Returns:
        3072 for ``text-embedding-3-large``, else :data:`DEFAULT_DIMENSIONS`.
    """
    return _MODEL_DIMENSIONS.get(model, DEFAULT_DIMENSIONS)


@functools.lru_cache(maxsize=4096)
def embed_text(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> tuple[float, ...]:
    """Embed one text.

    Args:
        text: The text.
        dimensions: The vector size (at least 1).

    Returns:
        A unit-length vector.
    """
    size = max(1, dimensions)
    vector = [0.0] * size
    words = [_stem(w) for w in _WORD.findall(text.lower())] or ["<empty>"]
    for word in words:
        _add(vector, f"w:{word}", _STOP_WEIGHT if word in _STOP_WORDS else _WORD_WEIGHT)
        if word in _STOP_WORDS:
            continue
        padded = f"^{word}$"
        for i in range(len(padded) - 2):
            _add(vector, f"t:{padded[i : i + 3]}", _TRIGRAM_WEIGHT)
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0], norm = 1.0, 1.0
    return tuple(v / norm for v in vector)


def encode_base64(vector: Sequence[float]) -> str:
    """Pack a vector the way the OpenAI API does for ``encoding_format="base64"``.

    Args:
        vector: The vector.

    Returns:
        Base64 of the little-endian float32 values.
    """
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _add(vector: list[float], feature: str, weight: float) -> None:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    index = int.from_bytes(digest[:4], "little") % len(vector)
    vector[index] += weight if digest[4] & 1 else -weight
