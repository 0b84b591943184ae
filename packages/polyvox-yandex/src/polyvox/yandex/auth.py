"""Credentials for Yandex Cloud: API keys, IAM tokens, and IAM tokens made and refreshed.

An API key (``Authorization: Api-Key ...``) or an IAM token (``Bearer``, valid about 12
hours) is sent as given. An OAuth token or a service-account key is exchanged for an IAM
token through the IAM service (``IamTokenService.Create``) and exchanged again before it
ages: the SDK's ``OAuthTokenAuth`` does it for OAuth tokens, and
:class:`ServiceAccountKeyAuth` here does it for authorized keys (a JWT signed PS256 with
the key, as Yandex Cloud documents), on the SDK's own refreshing base. Secrets stay in
``SecretStr`` fields; nothing here logs them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["IAM_AUDIENCE", "ServiceAccountKeyAuth", "load_service_account_key", "make_auth"]

IAM_AUDIENCE = "https://iam.api.cloud.yandex.net/iam/v1/tokens"
"""The ``aud`` claim of the JWT exchanged for an IAM token."""

_KEY_FIELDS = ("id", "service_account_id", "private_key")


def load_service_account_key(key: Mapping[str, Any] | str | Path) -> dict[str, str]:
    """An authorized key (``yc iam key create --output key.json``) as a dict.

    Args:
        key: The key's JSON object, its JSON text, or the path of its file.

    Returns:
        The key, with ``id``, ``service_account_id`` and ``private_key``.

    Raises:
        ValueError: The key is not JSON, or lacks one of those fields.
    """
    if isinstance(key, Mapping):
        data: Any = dict(key)
    else:
        text = str(key)
        if not text.lstrip().startswith("{"):
            text = Path(text).expanduser().read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except ValueError as exc:
            msg = "the service account key is not JSON: give the file `yc iam key create` wrote"
            raise ValueError(msg) from exc
    missing = [f for f in _KEY_FIELDS if not isinstance(data, Mapping) or not data.get(f)]
    if missing:
        msg = (
            f"the service account key lacks {', '.join(missing)}: give the JSON file that "
            "`yc iam key create --output key.json --service-account-id <id>` wrote"
        )
        raise ValueError(msg)
    return {f: str(data[f]) for f in _KEY_FIELDS}


def _base() -> type[Any]:
    from yandex_ai_studio_sdk._auth import RefresheableIAMTokenAuth

    return RefresheableIAMTokenAuth


def _service_account_auth_class() -> type[Any]:
    """The SDK's refreshing IAM-token auth, exchanging a signed JWT (made once, on first use)."""
    global _SA_CLASS
    if _SA_CLASS is not None:
        return _SA_CLASS

    class _ServiceAccountKeyAuth(_base()):  # type: ignore[misc]
        """IAM tokens from a service account's authorized key, refreshed by the SDK's rules."""

        def __init__(self, key: Mapping[str, str], audience: str = IAM_AUDIENCE) -> None:
            self._key = dict(key)
            self._audience = audience
            super().__init__(None)

        def __repr__(self) -> str:
            return f"ServiceAccountKeyAuth(service_account_id={self._key['service_account_id']!r})"

        def jwt(self) -> str:
            import jwt

            now = int(time.time())
            payload = {
                "iss": self._key["service_account_id"],
                "aud": self._audience,
                "iat": now,
                "exp": now + 3600,
            }
            headers = {"kid": self._key["id"]}
            return jwt.encode(payload, self._key["private_key"], algorithm="PS256", headers=headers)

        async def _get_token(self, client: Any, timeout: float) -> str:  # noqa: ASYNC109
            from yandex.cloud.iam.v1.iam_token_service_pb2 import (
                CreateIamTokenRequest,
                CreateIamTokenResponse,
            )
            from yandex.cloud.iam.v1.iam_token_service_pb2_grpc import IamTokenServiceStub

            request = CreateIamTokenRequest(jwt=self.jwt())
            async with client.get_service_stub(IamTokenServiceStub, timeout=timeout) as stub:
                result = await client.call_service(
                    stub.Create,
                    request=request,
                    timeout=timeout,
                    expected_type=CreateIamTokenResponse,
                    auth=False,
                )
            return str(result.iam_token)

    _SA_CLASS = _ServiceAccountKeyAuth
    return _SA_CLASS


_SA_CLASS: type[Any] | None = None


def ServiceAccountKeyAuth(key: Mapping[str, Any] | str | Path) -> Any:  # noqa: N802
    """The SDK auth object for a service account's authorized key.

    It signs a JWT with the key, exchanges it for an IAM token through the IAM service, and
    exchanges again when the SDK's refresh period (an hour; tokens live 12) has passed.

    Args:
        key: The key (see :func:`load_service_account_key`).

    Returns:
        A ``yandex_ai_studio_sdk`` auth object (a ``RefresheableIAMTokenAuth``).
    """
    return _service_account_auth_class()(load_service_account_key(key))


def make_auth(
    *,
    api_key: SecretStr | None,
    iam_token: SecretStr | None,
    oauth_token: SecretStr | None,
    service_account_key: SecretStr | None,
) -> Any:
    """The SDK auth object for the first credential given.

    Precedence: API key, IAM token, service-account key, OAuth token.

    Args:
        api_key: An API key (``AQVN...``).
        iam_token: An IAM token (``t1.``...), sent as it is.
        oauth_token: A Yandex OAuth token (``y0_``...), exchanged for IAM tokens.
        service_account_key: An authorized key's JSON (or its file's path).

    Returns:
        The auth object, or ``None`` when none was given.
    """
    from yandex_ai_studio_sdk import auth

    if api_key is not None:
        return auth.APIKeyAuth(api_key.get_secret_value())
    if iam_token is not None:
        return auth.IAMTokenAuth(iam_token.get_secret_value())
    if service_account_key is not None:
        return ServiceAccountKeyAuth(service_account_key.get_secret_value())
    if oauth_token is not None:
        import warnings

        with warnings.catch_warnings():  # the SDK warns that OAuth tokens are deprecated
            warnings.simplefilter("ignore", UserWarning)
            return auth.OAuthTokenAuth(oauth_token.get_secret_value())
    return None
