"""``HuggingFaceEndpointEmbeddings``: ``feature_extraction`` on TEI, an endpoint or a provider.

A drop-in for ``langchain_huggingface.HuggingFaceEndpointEmbeddings``: a dedicated endpoint or
self-hosted text-embeddings-inference by URL (``model="http://..."`` or ``endpoint_url``), or
a Hub model (``sentence-transformers/all-MiniLM-L6-v2``) through HF Inference or another
provider. ``normalize`` and ``truncate`` are TEI's options; vectors come back as lists.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.embeddings import PolyvoxEmbeddings
from polyvox.core.errors import ProviderResponseError
from polyvox.huggingface._sdk import sdk_errors
from polyvox.huggingface.connection import HuggingFaceConnectionMixin
from polyvox.huggingface.loading import acall_waiting_for_model, call_waiting_for_model

__all__ = ["HuggingFaceEndpointEmbeddings"]


class HuggingFaceEndpointEmbeddings(HuggingFaceConnectionMixin, PolyvoxEmbeddings):
    """Text embeddings through ``InferenceClient.feature_extraction``.

    Example:
        .. code-block:: python

            from polyvox.huggingface import HuggingFaceEndpointEmbeddings

            emb = HuggingFaceEndpointEmbeddings(model="sentence-transformers/all-MiniLM-L6-v2")
            vector = emb.embed_query("hello")
    """

    provider: ClassVar[str] = "huggingface"
    api_key_env: ClassVar[str | None] = None  # HF_TOKEN and its older names
    base_url_env: ClassVar[str | None] = "HF_ROUTER_URL"
    requires_api_key: ClassVar[bool] = False

    model: str = Field(
        default="sentence-transformers/all-mpnet-base-v2",
        validation_alias=AliasChoices("model", "repo_id"),
    )
    """The Hub model id, or an endpoint's URL."""

    endpoint_url: str | None = None
    """A dedicated endpoint or TEI URL (also accepted as ``model``)."""

    inference_provider: str | None = Field(
        default="hf-inference", validation_alias=AliasChoices("provider", "inference_provider")
    )
    """The provider serving a Hub model (``"hf-inference"``, ``"together"``, ``"auto"``...)."""

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_key", "huggingfacehub_api_token", "token")
    )
    """The Hugging Face token (``HF_TOKEN``); a public TEI needs none. Never shown."""

    normalize: bool | None = None
    """Unit-length vectors (TEI's default is true)."""

    truncate: bool | None = None
    """Cut inputs longer than the model's window instead of failing (TEI's ``truncate``)."""

    prompt_name: str | None = None
    """A prompt of the model's Sentence Transformers config to prepend (``"query"``)."""

    truncation_direction: str | None = None
    """``"left"`` or ``"right"``: which end ``truncate`` cuts."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further ``feature_extraction`` parameters."""

    chunk_size: int = Field(default=32, gt=0)
    """Texts sent in one request (TEI's default batch limit is 32)."""

    model_loading_timeout: float = Field(default=120.0, ge=0)
    """Seconds to wait in all for a model that answers 503 "loading"."""

    bill_to: str | None = None
    """An organisation to bill provider calls to (``X-HF-Bill-To``)."""

    default_headers: dict[str, str] | None = None
    """Headers sent with every request."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.endpoint_url is None and self.model.startswith(("http://", "https://")):
            self.endpoint_url = self.model
        self._check_token(type(self).__name__, needed=self.endpoint_url is None)
        return self

    def _target(self) -> dict[str, str | None]:
        if self.endpoint_url is not None:
            return {"model": self.endpoint_url}
        if self.base_url is not None:  # a proxy of the router (or the emulator)
            root = self.base_url.rstrip("/").removesuffix("/v1")
            provider = self.inference_provider or "hf-inference"
            url = f"{root}/{provider}/models/{self.model}/pipeline/feature-extraction"
            return {"model": url}
        return {"model": self.model, "provider": self.inference_provider}

    def _params(self) -> dict[str, Any]:
        params = {
            "normalize": self.normalize,
            "truncate": self.truncate,
            "prompt_name": self.prompt_name,
            "truncation_direction": self.truncation_direction,
            **self.model_kwargs,
        }
        return {k: v for k, v in params.items() if v is not None}

    def _vectors(self, array: Any, expected: int) -> list[list[float]]:
        rows = array.tolist() if hasattr(array, "tolist") else array
        if isinstance(rows, list) and rows and not isinstance(rows[0], list):
            rows = [rows]  # one text: one vector
        if not isinstance(rows, list) or len(rows) != expected:
            msg = f"huggingface returned {str(rows)[:200]!r} for {expected} texts, not vectors"
            raise ProviderResponseError(msg, provider="huggingface", body=str(rows)[:2000])
        return [[float(x) for x in row] for row in rows]

    def _embed(self, texts: list[str]) -> list[list[float]]:
        def once() -> Any:
            try:
                return self.client.feature_extraction(texts, **self._params())
            except sdk_errors() as exc:
                raise self._fail(exc) from exc

        return self._vectors(call_waiting_for_model(once, self.model_loading_timeout), len(texts))

    async def _aembed(self, texts: list[str]) -> list[list[float]]:
        async def once() -> Any:
            try:
                async with self._leased_async_client(stream=False) as client:
                    return await client.feature_extraction(texts, **self._params())
            except sdk_errors() as exc:
                raise self._fail(exc) from exc

        array = await acall_waiting_for_model(once, self.model_loading_timeout)
        return self._vectors(array, len(texts))
