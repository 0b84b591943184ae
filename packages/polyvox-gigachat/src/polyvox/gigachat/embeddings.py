"""``GigaChatEmbeddings``: GigaChat's embedding models (``Embeddings``, ``EmbeddingsGigaR``).

Texts go to ``POST /embeddings`` in batches (``chunk_size``), with the same credentials,
shared OAuth token and TLS settings as the chat model. ``EmbeddingsGigaR`` is made for
retrieval: its queries work best with an instruction in front, which
``use_prefix_query=True`` adds to ``embed_query`` (langchain-gigachat's option and text).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, PrivateAttr

from polyvox.core.embeddings import PolyvoxEmbeddings
from polyvox.gigachat._sdk import call_errors
from polyvox.gigachat.connection import GigaChatConnection

__all__ = ["DEFAULT_QUERY_PREFIX", "GigaChatEmbeddings"]

DEFAULT_QUERY_PREFIX = "Дано предложение, необходимо найти его парафраз \nпредложение: "  # noqa: RUF001
"""The instruction put before queries with ``use_prefix_query`` (as langchain-gigachat's)."""


class GigaChatEmbeddings(GigaChatConnection, PolyvoxEmbeddings):
    """Embeddings from GigaChat (``Embeddings``, ``Embeddings-2``, ``EmbeddingsGigaR``).

    A drop-in for ``langchain_gigachat.GigaChatEmbeddings``.

    Example:
        .. code-block:: python

            from polyvox.gigachat import GigaChatEmbeddings

            embeddings = GigaChatEmbeddings(model="EmbeddingsGigaR", credentials="...")
            vectors = embeddings.embed_documents(["первый текст", "второй текст"])
    """

    provider: ClassVar[str] = "gigachat"
    api_key_env: ClassVar[str | None] = "GIGACHAT_CREDENTIALS"
    base_url_env: ClassVar[str | None] = "GIGACHAT_BASE_URL"
    requires_api_key: ClassVar[bool] = False  # user/password or a static token also do

    model: str = "Embeddings"
    """The embedding model."""

    chunk_size: int = Field(default=100, gt=0)
    """Texts sent in one request."""

    use_prefix_query: bool = False
    """Put :attr:`prefix_query` before the text in ``embed_query``."""

    prefix_query: str = DEFAULT_QUERY_PREFIX
    """The query instruction (for ``EmbeddingsGigaR``)."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    def _vectors(self, response: Any, expected: int) -> list[list[float]]:
        data = sorted(response.data or (), key=lambda item: item.index)
        return self._checked([list(item.embedding) for item in data], expected)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        client = self.client
        try:
            response = client.embeddings(texts, self.model)
        except call_errors() as exc:
            raise self._fail(exc) from exc
        return self._vectors(response, len(texts))

    async def _aembed(self, texts: list[str]) -> list[list[float]]:
        client = self.async_client
        try:
            response = await client.aembeddings(texts, self.model)
        except call_errors() as exc:
            raise self._fail(exc) from exc
        return self._vectors(response, len(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (with the query instruction when ``use_prefix_query``).

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return super().embed_query(self.prefix_query + text if self.use_prefix_query else text)

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query`.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        query = self.prefix_query + text if self.use_prefix_query else text
        return await super().aembed_query(query)
