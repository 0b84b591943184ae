"""Every package's ``__all__``: sorted, importable, and nothing public left out or extra."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

EXPECTED = {
    "polyvox.core": {
        "ChatModelLLM",
        "ErrorKind",
        "MissingAPIKeyError",
        "PolyvoxChatModel",
        "PolyvoxEmbeddings",
        "ProviderErrorMixin",
        "ProviderResponseError",
        "as_llm",
        "classify",
        "format_tool_choice",
        "get_profile",
        "is_blocked",
        "is_context_overflow",
        "make_usage",
        "parse_retry_after",
        "rebrand",
        "register_profiles",
        "registered_models",
        "response_metadata",
    },
    "polyvox.core.llamaindex": {
        "LangChainEmbedding",
        "LangChainLLM",
        "to_llamaindex",
        "to_llamaindex_embedding",
    },
    "polyvox.openai": {
        "ChatCloudRu",
        "ChatLlamaCpp",
        "ChatOpenAI",
        "ChatOpenRouter",
        "ChatTogether",
        "ChatVLLM",
        "OpenAIAPIError",
        "OpenAIAuthenticationError",
        "OpenAIConnectionError",
        "OpenAIContextOverflowError",
        "OpenAIEmbeddings",
        "OpenAIInvalidRequestError",
        "OpenAILLM",
        "OpenAINotFoundError",
        "OpenAIPermissionDeniedError",
        "OpenAIRateLimitError",
        "OpenAIStreamError",
        "OpenAITimeoutError",
    },
    "polyvox.openai.llamaindex": {"OpenAI", "OpenAIEmbedding"},
    "polyvox.testing": {
        "Emulator",
        "Fault",
        "RawResponse",
        "RecordedRequest",
        "Reply",
        "ToolCall",
        "Usage",
        "generate_value",
        "serve",
        "shared_emulator",
    },
    "polyvox.cli": {"main"},
    "polyvox.core.catalog": {
        "CATALOG_FILE_ENV",
        "Capability",
        "CatalogError",
        "ModelCatalog",
        "ModelEntry",
        "ModelPrice",
        "PriceOverlay",
        "PriceTier",
        "Strategy",
        "Tier",
        "UnitPrices",
        "UnknownModelError",
        "canonical_provider",
        "default_catalog",
        "set_default_catalog",
    },
    "polyvox.core.costs": {
        "CostBreakdown",
        "CurrencyRates",
        "MissingRateError",
        "TokenPartition",
        "compute_cost",
        "cost_of",
        "sum_costs",
    },
    "polyvox.core.ledger": {
        "Budget",
        "BudgetCurrencyError",
        "BudgetExceededError",
        "BudgetGuard",
        "BudgetStatus",
        "CallRecord",
        "Ledger",
        "LedgerError",
        "LedgerHealth",
        "LedgerURLError",
        "LedgerUnavailableError",
        "ReportRow",
        "Reservation",
        "default_url",
        "new_record_id",
        "read_csv",
    },
    "polyvox.core.cache": {
        "CACHE_HIT_KEY",
        "CacheStats",
        "CacheUnavailableError",
        "InMemoryResponseCache",
        "RedisResponseCache",
        "ResponseCache",
        "SQLiteResponseCache",
    },
    "polyvox.core.tracking": {
        "ATTRIBUTION_KEYS",
        "Attribution",
        "CallRecorder",
        "CostCallbackHandler",
        "LlamaIndexCostHandler",
        "ObservedCall",
        "attribution_from",
        "default_ledger",
        "track_llamaindex_costs",
    },
    "polyvox.ollama": {
        "BIELIK_DEFAULT_MODEL",
        "BIELIK_VARIANTS",
        "ChatBielik",
        "ChatOllama",
        "OllamaAPIError",
        "OllamaConnectionError",
        "OllamaContextOverflowError",
        "OllamaEmbeddings",
        "OllamaHealth",
        "OllamaInvalidRequestError",
        "OllamaLLM",
        "OllamaModelNotFoundError",
        "OllamaTimeoutError",
        "PullProgress",
        "detect_language",
        "english_to_polish",
        "polish_to_english",
    },
    "polyvox.ollama.llamaindex": {"Ollama", "OllamaEmbedding"},
    "polyvox.core.language": {
        "DEFAULT_LANGUAGES",
        "DEFAULT_POLISH_THRESHOLD",
        "FALLBACK_RATIO",
        "LanguageDetector",
        "default_detector",
        "detect_language",
        "detect_language_with_confidence",
        "is_polish",
        "preload",
    },
    "polyvox.router": {
        "AllDeploymentsFailedError",
        "Attempt",
        "BalancedStrategy",
        "BreakerBoard",
        "BreakerConfig",
        "BreakerState",
        "BreakerStatus",
        "BreakerStore",
        "CallableStrategy",
        "CandidateTrace",
        "CapabilityMatchStrategy",
        "CostOptimizedStrategy",
        "Deployment",
        "DeploymentStats",
        "HealthChecker",
        "HealthResult",
        "LargeInputHandler",
        "LatencyOptimizedStrategy",
        "LocalFirstStrategy",
        "MemoryBreakerStore",
        "NoDeploymentError",
        "QualityOptimizedStrategy",
        "RedisBreakerStore",
        "RouteDecision",
        "RouteRequest",
        "Router",
        "RouterConfigError",
        "RouterContextOverflowError",
        "RouterError",
        "RouterStats",
        "RoutingStrategy",
        "Sensitivity",
        "StreamInterruptedError",
        "UCBStrategy",
        "get_strategy",
        "score_table",
        "strategy_names",
    },
    "polyvox.core.translation": {
        "AUTO",
        "LANGUAGE_NAMES",
        "TranslationInput",
        "english_to_polish",
        "ensure_language",
        "language_name",
        "polish_to_english",
        "translation_prompt",
        "translator",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_all(name: str) -> None:
    module = importlib.import_module(name)
    assert set(module.__all__) == EXPECTED[name]
    assert len(module.__all__) == len(set(module.__all__))
    for attr in module.__all__:
        assert getattr(module, attr) is not None, attr


def test_namespace_package() -> None:
    import polyvox

    assert not hasattr(polyvox, "__file__") or polyvox.__file__ is None
    assert len(list(polyvox.__path__)) >= 4


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        ("import polyvox.openai", ("openai", "langchain_core", "llama_index")),
        ("from polyvox.openai import ChatOpenAI", ("openai", "llama_index")),
        ("import polyvox.testing", ("starlette", "uvicorn", "langchain_core")),
        ("import polyvox.ollama", ("ollama", "langchain_core", "lingua")),
        ("import polyvox.core.tracking", ("sqlalchemy", "genai_prices", "llama_index")),
        ("import polyvox.core.cache", ("redis", "sqlite3")),
        ("from polyvox.ollama import ChatOllama", ("ollama", "lingua", "llama_index")),
        ("import polyvox.router", ("langchain_core", "redis", "lingua", "sqlalchemy")),
        ("from polyvox.router import Router", ("redis", "lingua", "sqlalchemy", "llama_index")),
    ],
)
def test_imports_stay_lazy(statement: str, absent: tuple[str, ...]) -> None:
    code = f"import sys; {statement}; print(','.join(m for m in {absent!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
