"""``OpenAIEmbeddings``: OpenAI's (and any compatible server's) ``/embeddings`` endpoint."""

from __future__ import annotations

import base64
import json
import sys
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.credentials import resolve_api_key, resolve_base_url
from polyvox.core.errors import ProviderResponseError
from polyvox.openai._sdk import SDKClientMixin, sdk

if TYPE_CHECKING:
    import openai

__all__ = ["OpenAIEmbeddings"]


def _decode(item: Any) -> list[float]:
    if isinstance(item, list):
        return [float(x) for x in item]
    floats = array("f", base64.b64decode(item))  # little-endian float32, as OpenAI sends
    if sys.byteorder == "big":  # pragma: no cover
        floats.byteswap()
    return floats.tolist()


class OpenAIEmbeddings(SDKClientMixin, BaseModel, Embeddings):
    """Text embeddings from OpenAI or an OpenAI-compatible server (vLLM, llama.cpp, ...).

    Vectors travel base64-encoded (a quarter of the JSON size) and are decoded here;
    ``chunk_size`` texts go in one request.

    Example:
        .. code-block:: python

            from polyvox.openai import OpenAIEmbeddings

            emb = OpenAIEmbeddings(model="text-embedding-3-small")
            vector = emb.embed_query("hello")
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    provider: ClassVar[str] = "openai"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    base_url_env: ClassVar[str | None] = "OPENAI_BASE_URL"
    default_base_url: ClassVar[str | None] = None
    requires_api_key: ClassVar[bool] = True

    model: str = "text-embedding-3-small"
    """The embedding model."""

    dimensions: int | None = None
    """Shorten vectors to this many dimensions (text-embedding-3 models)."""

    api_key: SecretStr | None = None
    """The API key; read from ``OPENAI_API_KEY`` when not given. Never shown."""

    base_url: str | None = None
    """The server's base URL; read from ``OPENAI_BASE_URL`` when not given."""

    timeout: float | None = None
    """Seconds to wait for each request."""

    max_retries: int = 2
    """Retries on retryable failures (the SDK's backoff, honouring ``Retry-After``)."""

    chunk_size: int = Field(default=1000, gt=0)
    """Texts sent in one request."""

    encoding_format: str = "base64"
    """Wire encoding of the vectors: ``"base64"`` (compact) or ``"float"``."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve_key_and_url(self) -> Self:
        cls = type(self)
        self.api_key = resolve_api_key(
            self.api_key, env=cls.api_key_env, required=cls.requires_api_key, owner=cls.__name__
        )
        self.base_url = resolve_base_url(
            self.base_url, env=cls.base_url_env, default=cls.default_base_url
        )
        return self

    def _body(self, texts: Sequence[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "input": list(texts),
            "encoding_format": self.encoding_format,
        }
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        return body

    def _vectors(self, raw: Any, expected: int) -> list[list[float]]:
        text = raw.http_response.text
        try:
            data = sorted(json.loads(text)["data"], key=lambda d: d.get("index", 0))
            vectors = [_decode(d["embedding"]) for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"{self.provider} returned a body that is not an embeddings list: {text[:200]!r}"
            raise ProviderResponseError(msg, provider=self.provider, body=text[:2000]) from exc
        if len(vectors) != expected:
            msg = f"{self.provider} returned {len(vectors)} embeddings for {expected} texts"
            raise ProviderResponseError(msg, provider=self.provider, body=text[:2000])
        return vectors

    def _fail(self, exc: openai.OpenAIError) -> Exception:
        from polyvox.openai.errors import map_openai_error

        return map_openai_error(exc, provider=self.provider, base_url=self.base_url)

    def _batches(self, texts: list[str]) -> list[list[str]]:
        return [texts[i : i + self.chunk_size] for i in range(0, len(texts), self.chunk_size)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage.

        Args:
            texts: The texts.

        Returns:
            One vector per text, in order.
        """
        out: list[list[float]] = []
        for batch in self._batches(texts):
            try:
                raw = self.client.embeddings.with_raw_response.create(**self._body(batch))
            except sdk().OpenAIError as exc:
                raise self._fail(exc) from exc
            out += self._vectors(raw, len(batch))
        return out

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage, asynchronously.

        Args:
            texts: The texts.

        Returns:
            One vector per text, in order.
        """
        out: list[list[float]] = []
        for batch in self._batches(texts):
            try:
                raw = await self.async_client.embeddings.with_raw_response.create(
                    **self._body(batch)
                )
            except sdk().OpenAIError as exc:
                raise self._fail(exc) from exc
            out += self._vectors(raw, len(batch))
        return out

    async def aembed_query(self, text: str) -> list[float]:
        """Embed a search query, asynchronously.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return (await self.aembed_documents([text]))[0]
