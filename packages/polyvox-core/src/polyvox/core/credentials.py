"""Where a provider's API key and base URL come from, the same for every kind of model."""

from __future__ import annotations

import os

from pydantic import SecretStr

from polyvox.core.errors import MissingAPIKeyError

__all__ = ["resolve_api_key", "resolve_base_url"]


def resolve_api_key(
    given: SecretStr | None, *, env: str | None, required: bool, owner: str
) -> SecretStr | None:
    """The key to use: the one given, else the environment variable's.

    Args:
        given: The key passed to the constructor.
        env: The provider's usual environment variable.
        required: Whether a missing key is an error (local servers need none).
        owner: The class name, for the error message.

    Returns:
        The key, or ``None`` when none is needed and none was found.

    Raises:
        MissingAPIKeyError: When a key is required and none was found.
    """
    if given is not None:
        return given
    if env and os.environ.get(env):
        return SecretStr(os.environ[env])
    if required:
        where = f" or set the environment variable {env}" if env else ""
        msg = f"{owner} needs an API key: pass api_key=...{where}."
        raise MissingAPIKeyError(msg)
    return None


def resolve_base_url(given: str | None, *, env: str | None, default: str | None) -> str | None:
    """The base URL to use: the one given, else the environment variable's, else the default.

    Args:
        given: The URL passed to the constructor.
        env: The provider's base-URL environment variable.
        default: The provider's public endpoint.

    Returns:
        The URL (``None`` lets the SDK use its own default).
    """
    if given:
        return given
    return (os.environ.get(env) if env else None) or default
