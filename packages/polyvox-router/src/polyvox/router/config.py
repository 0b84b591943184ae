"""Routers from YAML, mappings and ``POLYVOX_ROUTER_*`` environment variables.

A configuration (a YAML file, YAML text or a mapping; optionally under a top-level
``router:`` key)::

    strategy: cost                  # or {name: ucb, exploration: 1.0, min_trials: 3}
    fallbacks: true
    max_retries: 1
    max_retry_wait_s: 5
    prefer_local: false
    max_latency_ms: 2000
    default_sensitivity: internal
    default_tier: balanced
    detect_language: true
    language_routes: {pl: bielik}
    context_overflow_fallback: [long]
    content_policy_fallback: [local]
    mid_stream_fallback: false
    breaker: {failure_threshold: 5, window_s: 60, reset_timeout_s: 30, half_open_max_calls: 1}
    redis_url: redis://127.0.0.1:6379/0    # breakers shared through Redis (breaker.prefix too)
    deployments:
      - name: fast
        provider: openai            # openai, openrouter, cloudru, llamacpp, vllm, together,
        model: gpt-4o-mini          # ollama, bielik; or class: "package.module:ChatClass"
        api_key_env: OPENAI_API_KEY # read from the environment, never written in the file
        base_url: https://api.openai.com/v1
        params: {temperature: 0, timeout: 30, max_retries: 0}   # more constructor arguments
        weight: 2
        priority: 0
        quality: 0.6
        tags: [cheap]
        local: false                # data that must stay local may use it (default: from
                                    # the class and a loopback/private base_url)
      - name: bielik
        provider: bielik            # model defaults to the class's own
      - name: mine
        ref: my_model               # a chat model passed in Router.from_config(models=...)

Other router fields (``max_attempts``, ``max_tokens``, ``temperature``, ``stop``) are
accepted too. A malformed configuration raises :class:`RouterConfigError` naming the key
(``deployments[1].provider``). Provider classes are imported only when used.

Environment (:meth:`Router.from_env <polyvox.router.router.Router.from_env>`):

- ``POLYVOX_ROUTER_CONFIG``: a configuration file, read first;
- ``POLYVOX_ROUTER_MODELS``: deployments as ``provider:model`` items separated by commas
  (``gpt-4o-mini,ollama:llama3.2``); a colon after no provider name belongs to the model
  (an Ollama tag, ``ft:...``), but a prefix one or two edits from a provider name
  (``olama:``) is refused as an unknown provider, as in a configuration file;
- ``POLYVOX_ROUTER_DEFAULT_PROVIDER``: the provider of deployments that name none (in
  ``POLYVOX_ROUTER_MODELS`` and in the configuration file; ``openai`` when unset);
- ``POLYVOX_ROUTER_STRATEGY``, ``POLYVOX_ROUTER_FALLBACKS``, ``POLYVOX_ROUTER_PREFER_LOCAL``,
  ``POLYVOX_ROUTER_MAX_LATENCY_MS``: the router fields of those names (booleans as
  ``true/false``, ``1/0``, ``yes/no``, ``on/off``);
- ``POLYVOX_ROUTER_REDIS_URL``: share the circuit breakers through Redis.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyvox.core.keywords import near_miss
from polyvox.router.deployment import Deployment

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["PROVIDERS", "RouterConfigError", "build_model", "env_kwargs", "router_kwargs"]

PROVIDERS: dict[str, str] = {
    "openai": "polyvox.openai:ChatOpenAI",
    "openrouter": "polyvox.openai:ChatOpenRouter",
    "cloudru": "polyvox.openai:ChatCloudRu",
    "llamacpp": "polyvox.openai:ChatLlamaCpp",
    "vllm": "polyvox.openai:ChatVLLM",
    "together": "polyvox.openai:ChatTogether",
    "ollama": "polyvox.ollama:ChatOllama",
    "bielik": "polyvox.ollama:ChatBielik",
}
"""Provider name → the polyvox chat model class (``module:Class``) a deployment builds."""

_TAGGED_PROVIDERS = frozenset({"ollama", "bielik"})
"""Providers whose model names carry a ``:tag`` (``llama3.2:3b``)."""

_DISTRIBUTIONS = {"polyvox.openai": "polyvox-openai", "polyvox.ollama": "polyvox-ollama"}

_BOOL = "a boolean"
_NUMBER = "a number"
_INT = "a whole number"
_TEXT = "a string"
_TEXTS = "a list of strings"
_ROUTER_KEYS: dict[str, str] = {
    "fallbacks": _BOOL,
    "prefer_local": _BOOL,
    "detect_language": _BOOL,
    "mid_stream_fallback": _BOOL,
    "max_retries": _INT,
    "max_attempts": _INT,
    "probation_max_in_flight": _INT,
    "max_tokens": _INT,
    "max_retry_wait_s": _NUMBER,
    "max_latency_ms": _NUMBER,
    "temperature": _NUMBER,
    "default_sensitivity": _TEXT,
    "default_tier": _TEXT,
    "context_overflow_fallback": _TEXTS,
    "content_policy_fallback": _TEXTS,
    "stop": _TEXTS,
}
_OTHER_KEYS = {"deployments", "strategy", "breaker", "redis_url", "language_routes", "catalog"}
_DEPLOYMENT_KEYS = {
    "name",
    "provider",
    "class",
    "model",
    "ref",
    "base_url",
    "api_key_env",
    "params",
    "weight",
    "priority",
    "quality",
    "tags",
    "local",
}
_BREAKER_KEYS = {
    "failure_threshold",
    "window_s",
    "reset_timeout_s",
    "half_open_max_calls",
    "redis_url",
    "prefix",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class RouterConfigError(ValueError):
    """A router configuration (file, mapping or environment) is malformed."""

    def __init__(self, key: str, problem: str) -> None:
        """Create the error.

        Args:
            key: The offending key, as a path (``deployments[1].provider``).
            problem: What is wrong with it.
        """
        self.key = key
        """The offending key."""
        super().__init__(f"router config: {key}: {problem}")


def router_kwargs(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    models: Mapping[str, BaseChatModel] | None = None,
    default_provider: str = "openai",
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Read a configuration into ``Router`` keyword arguments.

    Args:
        source: A YAML file path, YAML text, or a mapping.
        models: Chat models deployments refer to with ``ref:``.
        default_provider: The provider of deployments that name none.
        environ: Where ``api_key_env`` variables are read (``os.environ``).

    Returns:
        The keyword arguments.

    Raises:
        RouterConfigError: Naming the key that is wrong.
    """
    data = _load(source)
    if set(data) == {"router"}:
        data = _mapping(data["router"], "router")
    unknown = sorted(set(data) - set(_ROUTER_KEYS) - _OTHER_KEYS)
    if unknown:
        known = ", ".join(sorted([*_ROUTER_KEYS, *_OTHER_KEYS]))
        raise RouterConfigError(unknown[0], f"unknown key; known keys: {known}")
    kwargs: dict[str, Any] = {}
    for key, kind in _ROUTER_KEYS.items():
        if key in data and data[key] is not None:
            kwargs[key] = _typed(data[key], kind, key)
    if "strategy" in data:
        kwargs["strategy"] = _strategy(data["strategy"])
    if "language_routes" in data:
        routes = _mapping(data["language_routes"], "language_routes")
        kwargs["language_routes"] = {
            str(k): _typed(v, _TEXT, f"language_routes.{k}") for k, v in routes.items()
        }
    if "catalog" in data:
        kwargs["catalog"] = _catalog(data["catalog"])
    breaker = _breakers(data.get("breaker"), data.get("redis_url"))
    if breaker is not None:
        kwargs["breakers"] = breaker
    if "deployments" in data:
        items = data["deployments"]
        if not isinstance(items, list) or not items:
            raise RouterConfigError("deployments", "must be a non-empty list")
        env = os.environ if environ is None else environ
        kwargs["deployments"] = [
            _deployment(item, f"deployments[{i}]", models or {}, default_provider, env)
            for i, item in enumerate(items)
        ]
    return kwargs


def env_kwargs(
    environ: Mapping[str, str], *, models: Mapping[str, BaseChatModel] | None = None
) -> dict[str, Any]:
    """Read ``POLYVOX_ROUTER_*`` variables into ``Router`` keyword arguments.

    Args:
        environ: The environment.
        models: Chat models a configuration file refers to by name.

    Returns:
        The keyword arguments.

    Raises:
        RouterConfigError: Naming the variable that is wrong.
    """
    provider = environ.get("POLYVOX_ROUTER_DEFAULT_PROVIDER", "").strip() or "openai"
    kwargs: dict[str, Any] = {}
    if path := environ.get("POLYVOX_ROUTER_CONFIG", "").strip():
        if not Path(path).is_file():
            raise RouterConfigError("POLYVOX_ROUTER_CONFIG", f"no such file: {path}")
        kwargs = router_kwargs(path, models=models, default_provider=provider, environ=environ)
    if specs := environ.get("POLYVOX_ROUTER_MODELS", "").strip():
        kwargs["deployments"] = [
            _from_spec(item.strip(), provider) for item in specs.split(",") if item.strip()
        ]
    if strategy := environ.get("POLYVOX_ROUTER_STRATEGY", "").strip():
        kwargs["strategy"] = strategy
    for var, key in (
        ("POLYVOX_ROUTER_FALLBACKS", "fallbacks"),
        ("POLYVOX_ROUTER_PREFER_LOCAL", "prefer_local"),
    ):
        if (value := environ.get(var, "").strip()) != "":
            kwargs[key] = _env_bool(value, var)
    if latency := environ.get("POLYVOX_ROUTER_MAX_LATENCY_MS", "").strip():
        try:
            kwargs["max_latency_ms"] = float(latency)
        except ValueError:
            raise RouterConfigError(
                "POLYVOX_ROUTER_MAX_LATENCY_MS", f"expected a number, got {latency!r}"
            ) from None
    if url := environ.get("POLYVOX_ROUTER_REDIS_URL", "").strip():
        from polyvox.router.breaker import BreakerBoard

        kwargs["breakers"] = BreakerBoard.redis(url)
    return kwargs


def build_model(
    provider: str | None,
    model: str | None = None,
    *,
    cls: str | None = None,
    key: str = "deployment",
    **params: Any,
) -> BaseChatModel:
    """Build a chat model for a provider (its class imported only now).

    Args:
        provider: A name from :data:`PROVIDERS` (ignored when ``cls`` is given).
        model: The model name (the class's default when omitted).
        cls: A class as ``package.module:ClassName``, for any other chat model.
        key: Where in the configuration the model is described (for error messages).
        **params: Further constructor arguments.

    Returns:
        The chat model.

    Raises:
        RouterConfigError: Unknown provider, class not importable, or rejected arguments.
    """
    target = cls
    if target is None:
        if provider is None:
            raise RouterConfigError(f"{key}.provider", "missing (or give class:)")
        target = PROVIDERS.get(provider.strip().lower())
        if target is None:
            raise _unknown_provider(provider, f"{key}.provider")
    module_name, _, class_name = target.partition(":")
    where = f"{key}.class" if cls else f"{key}.provider"
    try:
        factory = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        dist = _DISTRIBUTIONS.get(module_name, module_name)
        raise RouterConfigError(where, f"cannot import {target} ({exc}); install {dist}") from exc
    except AttributeError:
        raise RouterConfigError(where, f"{module_name} has no {class_name}") from None
    if model is not None:
        params["model"] = model
    try:
        built: BaseChatModel = factory(**params)
    except Exception as exc:  # the class's own validation: say where it came from
        raise RouterConfigError(key, f"{class_name} rejected its arguments: {exc}") from exc
    return built


def _load(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(source, Mapping):
        return dict(source)
    import yaml  # type: ignore[import-untyped]

    text = str(source)
    path = Path(text)
    is_file = isinstance(source, os.PathLike) or (
        "\n" not in text
        and path.suffix
        in {
            ".yaml",
            ".yml",
            ".json",
        }
    )
    if is_file:
        if not path.is_file():
            raise RouterConfigError("<file>", f"no such file: {path}")
        text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RouterConfigError("<yaml>", f"not valid YAML: {exc}") from exc
    return _mapping(data, "<top level>")


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise RouterConfigError(key, f"expected a mapping, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _typed(value: Any, kind: str, key: str) -> Any:
    ok = {
        _BOOL: isinstance(value, bool),
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _NUMBER: isinstance(value, int | float) and not isinstance(value, bool),
        _TEXT: isinstance(value, str),
        _TEXTS: isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[kind]
    if not ok:
        raise RouterConfigError(key, f"expected {kind}, got {value!r}")
    return value


def _strategy(value: Any) -> Any:
    from polyvox.router.strategies import get_strategy

    if isinstance(value, str):
        spec, options = value, {}
    else:
        options = _mapping(value, "strategy")
        spec = options.pop("name", None)
        if not isinstance(spec, str):
            raise RouterConfigError("strategy.name", "missing: name the strategy")
    try:
        return get_strategy(spec, **options)
    except (ValueError, TypeError) as exc:
        raise RouterConfigError("strategy", str(exc)) from exc


def _catalog(value: Any) -> Any:
    from polyvox.costs.catalog import ModelCatalog

    path = _typed(value, _TEXT, "catalog")
    if not Path(path).is_file():
        raise RouterConfigError("catalog", f"no such file: {path}")
    return ModelCatalog.builtin(extra=path)


def _breakers(value: Any, redis_url: Any) -> Any:
    if value is None and redis_url is None:
        return None
    from polyvox.router.breaker import BreakerBoard, BreakerConfig

    fields = _mapping(value, "breaker") if value is not None else {}
    unknown = sorted(set(fields) - _BREAKER_KEYS)
    if unknown:
        known = ", ".join(sorted(_BREAKER_KEYS))
        raise RouterConfigError(f"breaker.{unknown[0]}", f"unknown key; known keys: {known}")
    url = fields.pop("redis_url", None) or redis_url
    prefix = fields.pop("prefix", None)
    for name, field_value in fields.items():
        _typed(field_value, _NUMBER, f"breaker.{name}")
    try:
        config = BreakerConfig(**fields)
    except ValueError as exc:
        raise RouterConfigError("breaker", str(exc)) from exc
    if url is None:
        return BreakerBoard(config)
    url = _typed(url, _TEXT, "redis_url")
    if prefix is not None:
        return BreakerBoard.redis(
            url, prefix=_typed(prefix, _TEXT, "breaker.prefix"), config=config
        )
    return BreakerBoard.redis(url, config=config)


def _deployment(
    item: Any,
    key: str,
    models: Mapping[str, BaseChatModel],
    default_provider: str,
    environ: Mapping[str, str],
) -> Deployment:
    fields = _mapping(item, key)
    unknown = sorted(set(fields) - _DEPLOYMENT_KEYS)
    if unknown:
        known = ", ".join(sorted(_DEPLOYMENT_KEYS))
        raise RouterConfigError(f"{key}.{unknown[0]}", f"unknown key; known keys: {known}")
    extra: dict[str, Any] = {}
    if "name" in fields:
        extra["name"] = _typed(fields["name"], _TEXT, f"{key}.name")
    for name, kind in (("weight", _NUMBER), ("priority", _INT), ("quality", _NUMBER)):
        if fields.get(name) is not None:
            extra[name] = _typed(fields[name], kind, f"{key}.{name}")
    if "tags" in fields:
        extra["tags"] = frozenset(_typed(fields["tags"], _TEXTS, f"{key}.tags"))
    if fields.get("local") is not None:
        extra["local"] = _typed(fields["local"], _BOOL, f"{key}.local")
    if "ref" in fields:
        ref = _typed(fields["ref"], _TEXT, f"{key}.ref")
        if ref not in models:
            known = ", ".join(sorted(models)) or "none were given"
            raise RouterConfigError(f"{key}.ref", f"no model {ref!r} in models= ({known})")
        model = models[ref]
    else:
        params = dict(_mapping(fields.get("params", {}), f"{key}.params"))
        if "base_url" in fields:
            params["base_url"] = _typed(fields["base_url"], _TEXT, f"{key}.base_url")
        if "api_key_env" in fields:
            var = _typed(fields["api_key_env"], _TEXT, f"{key}.api_key_env")
            if not environ.get(var):
                raise RouterConfigError(f"{key}.api_key_env", f"{var} is not set")
            params["api_key"] = environ[var]
        model_name = fields.get("model")
        if model_name is not None:
            model_name = _typed(model_name, _TEXT, f"{key}.model")
        cls = _typed(fields["class"], _TEXT, f"{key}.class") if "class" in fields else None
        provider = fields.get("provider", default_provider)
        model = build_model(provider, model_name, cls=cls, key=key, **params)
    try:
        return Deployment.of(model, **extra)
    except (TypeError, ValueError) as exc:
        raise RouterConfigError(key, str(exc)) from exc


def _unknown_provider(provider: str, key: str) -> RouterConfigError:
    """The error for a provider name polyvox does not know, with the closest known one."""
    known = ", ".join(PROVIDERS)
    close = near_miss(provider.strip().lower(), PROVIDERS)
    hint = f"; did you mean {close!r}?" if close else ""
    return RouterConfigError(key, f"unknown provider {provider!r}{hint} (known: {known})")


def _from_spec(spec: str, default_provider: str) -> Deployment:
    key = f"POLYVOX_ROUTER_MODELS[{spec}]"
    provider, sep, model = spec.partition(":")
    if not sep or provider.strip().lower() not in PROVIDERS:
        # No provider, or a colon inside the model name: an Ollama tag (llama3.2:3b) when
        # the default provider serves tags, an OpenAI-style name (ft:gpt-4o-mini:org::id)
        # otherwise. A prefix one or two edits from a provider name (olama:llama3.2) is a
        # misspelt provider, not a model to send to the default provider's cloud.
        tagged = default_provider.strip().lower() in _TAGGED_PROVIDERS
        if sep and not tagged and near_miss(provider.strip().lower(), PROVIDERS) is not None:
            raise _unknown_provider(provider, key)
        provider, model = default_provider, spec
    return Deployment.of(build_model(provider, model, key=key))


def _env_bool(value: str, var: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise RouterConfigError(var, f"expected true or false, got {value!r}")
