"""``OllamaEmbeddings``: text embeddings from a model served by Ollama (``/api/embed``)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import PrivateAttr

from polyvox.core.embeddings import PolyvoxEmbeddings
from polyvox.ollama.server import OllamaServerMixin

__all__ = ["OllamaEmbeddings"]


class OllamaEmbeddings(OllamaServerMixin, PolyvoxEmbeddings):
    """Embeddings from an Ollama embedding model (``nomic-embed-text``, ``bge-m3``, ...).

    Example:
        .. code-block:: python

            from polyvox.ollama import OllamaEmbeddings

            vectors = OllamaEmbeddings(model="nomic-embed-text").embed_documents(["a", "b"])
    """

    provider: ClassVar[str] = "ollama"
    api_key_env: ClassVar[str | None] = "OLLAMA_API_KEY"
    base_url_env: ClassVar[str | None] = "OLLAMA_HOST"
    default_base_url: ClassVar[str | None] = "http://127.0.0.1:11434"
    requires_api_key: ClassVar[bool] = False
    is_local: ClassVar[bool] = True

    model: str = "nomic-embed-text"
    """The embedding model."""

    headers: dict[str, str] | None = None
    """Headers sent with every request."""

    keep_alive: float | str | None = None
    """How long Ollama keeps the model loaded after a call."""

    dimensions: int | None = None
    """Shorten vectors to this many dimensions (models that support it)."""

    truncate: bool = True
    """Let Ollama cut inputs longer than the model's window (else it answers an error)."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    def _request(self, texts: list[str]) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "input": texts, "truncate": self.truncate}
        if self.keep_alive is not None:
            request["keep_alive"] = self.keep_alive
        if self.dimensions is not None:
            request["dimensions"] = self.dimensions
        return request

    def _embed(self, texts: list[str]) -> list[list[float]]:
        try:
            response = self.client.embed(**self._request(texts))
        except self._errors() as exc:
            raise self._fail(exc) from exc
        return [list(map(float, v)) for v in response.embeddings]

    async def _aembed(self, texts: list[str]) -> list[list[float]]:
        try:
            response = await self.async_client.embed(**self._request(texts))
        except self._errors() as exc:
            raise self._fail(exc) from exc
        return [list(map(float, v)) for v in response.embeddings]
