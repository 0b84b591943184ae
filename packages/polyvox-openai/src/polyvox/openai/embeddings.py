"""``OpenAIEmbeddings``: OpenAI's (and any compatible server's) ``/embeddings`` endpoint."""

from __future__ import annotations

import base64
import json
import sys
from array import array
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import PrivateAttr

from polyvox.core.embeddings import PolyvoxEmbeddings
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


class OpenAIEmbeddings(SDKClientMixin, PolyvoxEmbeddings):
    """Text embeddings from OpenAI or an OpenAI-compatible server (vLLM, llama.cpp, ...).

    Vectors travel base64-encoded (a quarter of the JSON size) and are decoded here;
    ``chunk_size`` texts go in one request.

    Example:
        .. code-block:: python

            from polyvox.openai import OpenAIEmbeddings

            emb = OpenAIEmbeddings(model="text-embedding-3-small")
            vector = emb.embed_query("hello")
    """

    provider: ClassVar[str] = "openai"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    base_url_env: ClassVar[str | None] = "OPENAI_BASE_URL"
    sdk_retries: ClassVar[bool] = True

    model: str = "text-embedding-3-small"
    """The embedding model."""

    dimensions: int | None = None
    """Shorten vectors to this many dimensions (text-embedding-3 models)."""

    encoding_format: str = "base64"
    """Wire encoding of the vectors: ``"base64"`` (compact) or ``"float"``."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    def _body(self, texts: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "input": texts,
            "encoding_format": self.encoding_format,
        }
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        return body

    def _vectors(self, raw: Any) -> list[list[float]]:
        text = raw.http_response.text
        try:
            data = json.loads(text)["data"]
            if not all(isinstance(d, dict) for d in data):
                raise TypeError("an item of data is not an object")
            data = sorted(data, key=lambda d: d.get("index") or 0)
            return [_decode(d["embedding"]) for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"{self.provider} returned a body that is not an embeddings list: {text[:200]!r}"
            raise ProviderResponseError(msg, provider=self.provider, body=text[:2000]) from exc

    def _fail(self, exc: openai.OpenAIError) -> Exception:
        from polyvox.openai.errors import map_openai_error

        return map_openai_error(exc, provider=self.provider, base_url=self.base_url)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        try:
            raw = self.client.embeddings.with_raw_response.create(**self._body(texts))
        except sdk().OpenAIError as exc:
            raise self._fail(exc) from exc
        return self._vectors(raw)

    async def _aembed(self, texts: list[str]) -> list[list[float]]:
        try:
            raw = await self.async_client.embeddings.with_raw_response.create(**self._body(texts))
        except sdk().OpenAIError as exc:
            raise self._fail(exc) from exc
        return self._vectors(raw)
