"""The bridge from any LangChain `Embeddings` to a LlamaIndex embedding model."""

from __future__ import annotations

from typing import Any, ClassVar

from langchain_core.embeddings import Embeddings
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import BaseModel, Field, field_serializer, model_validator

from polyvox.core.wrapping import build_wrapped

__all__ = ["LangChainEmbedding", "to_llamaindex_embedding"]


def _embeddings_name(embeddings: Embeddings) -> str:
    """The wrapped embeddings' model name, falling back to its class name."""
    for attribute in ("model", "model_name"):
        value = getattr(embeddings, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(embeddings).__name__


def _restore_embeddings(dumped: dict[str, Any], cls: type[LangChainEmbedding]) -> Embeddings:
    """Rebuild the wrapped embeddings from ``to_dict()`` output; keys come from the environment."""
    allowed = cls.embeddings_class
    name = f"{allowed.__module__}.{allowed.__qualname__}" if allowed is not None else None
    if allowed is None or dumped.get("class") != name or "settings" not in dumped:
        msg = (
            f"{cls.__name__}.from_dict cannot rebuild {dumped.get('class')!r}; "
            "pass embeddings=<model> instead"
        )
        raise ValueError(msg)
    return allowed(**dumped["settings"])


class LangChainEmbedding(BaseEmbedding):
    """A LlamaIndex embedding model backed by any LangChain `Embeddings`.

    Queries go through `embed_query`/`aembed_query`, texts through
    `embed_documents`/`aembed_documents` (batched by LlamaIndex's `embed_batch_size`);
    the async methods await the wrapped model's async methods.

    Example:
        ```python
        Settings.embed_model = LangChainEmbedding(OpenAIEmbeddings())
        ```
    """

    embeddings: Embeddings = Field(description="The LangChain embeddings to delegate to.")
    """The LangChain embeddings every call is delegated to."""

    embeddings_class: ClassVar[type[Embeddings] | None] = None
    """Embeddings class built from the constructor's other keyword arguments, when set."""

    @model_validator(mode="before")
    @classmethod
    def _build_embeddings(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("embeddings"), dict):
            data = {**data, "embeddings": _restore_embeddings(data["embeddings"], cls)}
        data = build_wrapped(cls, data, field="embeddings", wrapped_class=cls.embeddings_class)
        if isinstance(data, dict) and "model_name" not in data:
            data["model_name"] = _embeddings_name(data["embeddings"])
        return data

    @field_serializer("embeddings")
    def _dump_embeddings(self, embeddings: Embeddings) -> dict[str, Any]:
        """The wrapped model's settings, secrets masked (``SecretStr`` dumps as stars)."""
        if isinstance(embeddings, BaseModel):
            return {
                "class": f"{type(embeddings).__module__}.{type(embeddings).__qualname__}",
                "settings": embeddings.model_dump(mode="json", exclude={"api_key"}),
            }
        return {"class": f"{type(embeddings).__module__}.{type(embeddings).__qualname__}"}

    def __init__(self, embeddings: Embeddings | None = None, /, **kwargs: Any) -> None:
        """Wrap LangChain embeddings.

        Args:
            embeddings: The LangChain embeddings; may also be given as `embeddings=`.
            **kwargs: Other `BaseEmbedding` fields (`model_name`, `embed_batch_size`, ...);
                `model_name` defaults to the wrapped model's name.
        """
        if embeddings is not None:
            kwargs["embeddings"] = embeddings
        wrapped = kwargs.get("embeddings")
        if "model_name" not in kwargs and isinstance(wrapped, Embeddings):
            kwargs["model_name"] = _embeddings_name(wrapped)
        super().__init__(**kwargs)

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "LangChainEmbedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        """Embed a query with `embed_query`."""
        return self.embeddings.embed_query(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        """Embed a query with `aembed_query`."""
        return await self.embeddings.aembed_query(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        """Embed one text with `embed_documents`."""
        return self.embeddings.embed_documents([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        """Embed one text with `aembed_documents`."""
        return (await self.embeddings.aembed_documents([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        """Embed a batch of texts with `embed_documents`."""
        return self.embeddings.embed_documents(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        """Embed a batch of texts with `aembed_documents`."""
        return await self.embeddings.aembed_documents(texts)


def to_llamaindex_embedding(embeddings: Embeddings, **kwargs: Any) -> LangChainEmbedding:
    """Wrap LangChain embeddings as a LlamaIndex embedding model.

    Args:
        embeddings: Any LangChain `Embeddings`.
        **kwargs: Further `LangChainEmbedding` fields (`embed_batch_size`, ...).

    Returns:
        The LlamaIndex embedding model.
    """
    return LangChainEmbedding(embeddings, **kwargs)
