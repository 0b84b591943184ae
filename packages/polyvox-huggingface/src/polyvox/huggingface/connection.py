"""What the chat model, the LLM and the embeddings share: the token rules and error mapping."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pydantic import SecretStr

from polyvox.core.errors import MissingAPIKeyError
from polyvox.huggingface._sdk import InferenceClientMixin

__all__ = ["HuggingFaceConnectionMixin"]


def _env_token() -> SecretStr | None:
    for name in ("HF_TOKEN", "HUGGINGFACEHUB_API_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if value := os.environ.get(name):
            return SecretStr(value)
    return None


class HuggingFaceConnectionMixin(InferenceClientMixin):
    """What the chat model, the LLM and the embeddings share: token rules and error mapping."""

    if TYPE_CHECKING:
        api_key: SecretStr | None
        endpoint_url: str | None
        base_url: str | None

    def _check_token(self, owner: str, *, needed: bool) -> None:
        if self.api_key is None:
            self.api_key = _env_token()
        if self.api_key is None and needed:
            msg = (
                f"{owner} needs a Hugging Face token for the Inference Providers router: pass "
                "api_key=... (or huggingfacehub_api_token=...) or set HF_TOKEN; a dedicated "
                "endpoint or self-hosted TGI (endpoint_url=...) needs none."
            )
            raise MissingAPIKeyError(msg)

    def _where(self) -> str:
        return self.endpoint_url or self.base_url or "the Inference Providers router"

    def _fail(self, exc: BaseException, events: int = 0) -> BaseException:
        from polyvox.huggingface.errors import map_hf_error

        return map_hf_error(exc, provider="huggingface", where=self._where(), events=events)
