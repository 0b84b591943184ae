"""The langchain-core internals polyvox relies on, pinned to the installed langchain-core.

Every private name or behaviour of langchain-core that polyvox uses goes through
``polyvox.core.langchain_internals``; these tests exercise each one, so that a
langchain-core upgrade that changes one fails here, with a message naming the adapter,
instead of somewhere deep in a call. The last tests check that no other module reaches
into langchain-core's internals.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import tomllib
import uuid
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import (
    AsyncCallbackManager,
    BaseCallbackHandler,
    CallbackManager,
    CallbackManagerForChainRun,
)
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.load import dumpd
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompt_values import ChatPromptValue, StringPromptValue
from packaging.specifiers import SpecifierSet

from polyvox.core import langchain_internals as li
from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.ollama import ChatOllama
from polyvox.openai import ChatOpenAI

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = "polyvox.core.langchain_internals"
LC_VERSION = version("langchain-core")


def pinned(ok: object, what: str) -> None:
    """Fail naming the adapter module and what changed."""
    assert ok, (
        f"langchain-core {LC_VERSION} changed {what}; update {ADAPTER} "
        f"(checked against langchain-core{li.SUPPORTED_LANGCHAIN_CORE})"
    )


class _Stub(PolyvoxChatModel):
    """A polyvox chat model answering without a server."""

    provider = "openai"
    requires_api_key = False

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(
            content=f"echo {len(messages)}",
            response_metadata={"model_name": self.model, "model_provider": "openai"},
            usage_metadata={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
        )
        return ChatResult(
            generations=[
                ChatGeneration(message=message, generation_info={"finish_reason": "stop"})
            ],
            llm_output={"model_name": self.model, "system_fingerprint": "fp"},
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)


# ---- the version range ---------------------------------------------------------------------


def _pins() -> dict[str, str]:
    found = {}
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text())
        for requirement in data["project"].get("dependencies", []):
            name = requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0]
            if name.strip() == "langchain-core":
                found[pyproject.parent.name] = requirement[len("langchain-core") :].strip()
    return found


def test_every_package_pins_the_range_the_adapter_was_checked_against() -> None:
    pins = _pins()
    assert pins, "no package pins langchain-core"
    wrong = {package: spec for package, spec in pins.items() if spec != li.SUPPORTED_LANGCHAIN_CORE}
    assert not wrong, f"pins differ from {ADAPTER}.SUPPORTED_LANGCHAIN_CORE: {wrong}"


def test_installed_langchain_core_is_inside_the_pinned_range() -> None:
    pinned(
        LC_VERSION in SpecifierSet(li.SUPPORTED_LANGCHAIN_CORE),
        f"nothing: {LC_VERSION} is outside the pinned range",
    )


# ---- input ---------------------------------------------------------------------------------


def test_convert_input() -> None:
    model = _Stub(model="m")
    pinned(isinstance(li.convert_input(model, "hi"), StringPromptValue), "_convert_input(str)")
    value = li.convert_input(model, [("human", "hi")])
    pinned(isinstance(value, ChatPromptValue), "_convert_input(messages)")
    pinned(value.to_messages() == [HumanMessage(content="hi")], "_convert_input's messages")


def test_normalize_messages_turns_v0_data_blocks_into_v1() -> None:
    block = {"type": "image", "source_type": "base64", "data": "AAAA", "mime_type": "image/png"}
    (message,) = li.normalize_messages([HumanMessage(content=[block])])
    pinned(
        message.content == [{"type": "image", "base64": "AAAA", "mime_type": "image/png"}],
        "_normalize_messages",
    )
    plain = [HumanMessage(content="hi")]
    pinned(li.normalize_messages(plain) == plain, "_normalize_messages on plain text")


def test_format_for_tracing() -> None:
    image = {"type": "image", "base64": "AAAA", "mime_type": "image/png"}
    (message,) = li.format_for_tracing([HumanMessage(content=[{"text": "x"}, image])])
    pinned(
        message.content
        == [
            {"type": "text", "text": "x"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ],
        "_format_for_tracing",
    )


# ---- a model's identity and parameters -----------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        ChatOpenAI(model="gpt-4o-mini", api_key="k", temperature=0.2),
        ChatOllama(model="llama3.2", num_ctx=4096),
        _Stub(model="m", max_tokens=7, stop=["x"]),
    ],
    ids=["openai", "ollama", "stub"],
)
def test_invocation_params_are_langchain_cores(model: BaseChatModel) -> None:
    kwargs = {"temperature": 0.5, "tools": [{"type": "function"}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shortcut must not warn either
        ours = li.invocation_params(model, ["stop"], **kwargs)
    theirs = BaseChatModel._get_invocation_params(model, stop=["stop"], **kwargs)
    pinned(ours == theirs, "what _get_invocation_params computes")
    pinned(li.call_invocation_params(model, ["stop"], **kwargs) == theirs, "_get_invocation_params")
    pinned(ours["_type"] == li.llm_type(model), "the _type invocation parameter")


def test_invocation_params_defer_to_langchain_when_dict_is_overridden() -> None:
    class Custom(_Stub):
        def dict(self, **kwargs: Any) -> dict[str, Any]:
            return {"custom": True}

    params = li.invocation_params(Custom(model="m"), None)
    assert params == {"custom": True, "stop": None}


def test_ls_params() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", api_key="k")
    params = li.ls_params(model, ["s"], temperature=0.1)
    pinned(params["ls_provider"] == "openai", "_get_ls_params")
    pinned(params["ls_model_name"] == "gpt-4o-mini", "_get_ls_params")
    pinned(params["ls_stop"] == ["s"] and params["ls_temperature"] == 0.1, "_get_ls_params")
    defaults = li.ls_params_with_defaults(model, None)
    pinned(defaults["ls_integration"] == "langchain_chat_model", "_get_ls_params_with_defaults")
    pinned(defaults["ls_model_name"] == "gpt-4o-mini", "_get_ls_params_with_defaults")


def test_identity() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", api_key="k")
    pinned(li.llm_type(model) == "polyvox-openai-chat", "_llm_type")
    pinned(li.identifying_params(model)["model"] == "gpt-4o-mini", "_identifying_params")
    pinned(li.serialized(model) == dumpd(model), "_serialized")
    pinned(li.serialized(model) is li.serialized(model), "_serialized (cached)")


# ---- calling and finishing -----------------------------------------------------------------


def test_generate_and_agenerate_call_the_model_directly() -> None:
    model = _Stub(model="m")
    messages: list[BaseMessage] = [HumanMessage(content="hi")]
    pinned(li.generate(model, messages, None).generations[0].text == "echo 1", "_generate")
    result = asyncio.run(li.agenerate(model, messages, None))
    pinned(result.generations[0].text == "echo 1", "_agenerate")


def test_new_run_id_is_langchains_kind() -> None:
    run_id = li.new_run_id()
    pinned(isinstance(run_id, uuid.UUID) and run_id.version == 7, "its run ids (UUID v7)")


class _Capture(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("start", args, kwargs))

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("end", args, kwargs))

    def on_llm_error(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("error", args, kwargs))


def test_finish_generations_is_generates_post_processing() -> None:
    model = _Stub(model="m")
    capture = _Capture()
    full = model.invoke("hi", config={"callbacks": [capture]})  # langchain-core's own path
    run_id = capture.events[0][2]["run_id"]
    result = model._generate([HumanMessage(content="hi")])
    li.finish_generations(result, run_id)
    ours = result.generations[0].message
    pinned(ours.id == full.id == f"lc_run--{run_id}-0", "the message id of a run")
    pinned(ours.response_metadata == full.response_metadata, "the response_metadata merge")


def test_error_generations_carry_the_http_response() -> None:
    class Response:
        status_code = 429
        headers = {"retry-after": "1"}

        def json(self) -> dict[str, Any]:
            return {"error": "slow down"}

    class HTTPError(Exception):
        response = Response()

    (generation,) = li.error_generations(HTTPError())
    metadata = generation.message.response_metadata
    pinned(metadata["status_code"] == 429, "_generate_response_from_error")
    pinned(metadata["body"] == {"error": "slow down"}, "_generate_response_from_error")
    pinned(li.error_generations(ValueError("x")) == [], "_generate_response_from_error")


def test_run_metadata_is_configures() -> None:
    parent = CallbackManager(
        handlers=[], metadata={"a": 1, "lc_versions": {"x": "1"}}, parent_run_id=uuid.uuid4()
    )
    inheritable = {"a": 2, "ls_provider": "openai", "lc_versions": {"y": "2"}}
    local = {"b": 3, "lc_versions": {"z": "3"}}
    configured = CallbackManager.configure(parent, None, False, None, None, inheritable, local)
    bare = CallbackManager.configure(parent, None, False)
    pinned(li.run_metadata(bare, inheritable, local) == configured.metadata, "metadata merging")
    pinned(configured.metadata["lc_versions"] == {"x": "1", "y": "2", "z": "3"}, "lc_versions")


@pytest.mark.parametrize("asynchronous", [False, True])
def test_child_callback_manager_is_get_child(asynchronous: bool) -> None:
    handler = _Capture()
    chain = CallbackManagerForChainRun(
        run_id=uuid.uuid4(),
        handlers=[handler],
        inheritable_handlers=[handler],
        tags=["local"],
        inheritable_tags=["t"],
        metadata={"local": 1},
        inheritable_metadata={"m": 1},
    )
    theirs = chain.get_child()
    ours = li.child_callback_manager(
        chain.run_id,
        chain.inheritable_handlers,
        chain.inheritable_tags,
        chain.inheritable_metadata,
        asynchronous=asynchronous,
    )
    pinned(isinstance(ours, AsyncCallbackManager if asynchronous else CallbackManager), "managers")
    for field in ("parent_run_id", "handlers", "inheritable_handlers", "tags", "metadata"):
        pinned(getattr(ours, field) == getattr(theirs, field), f"get_child's {field}")


def test_handed_run_is_read_once_and_reset() -> None:
    assert li.take_handed_run() is None
    token = li.hand_over_run("run")
    assert li.take_handed_run() == "run"
    assert li.take_handed_run() is None
    li.reset_handed_run(token)
    assert li.take_handed_run() is None


def test_beta_warning_is_a_warning() -> None:
    pinned(issubclass(li.LangChainBetaWarning, Warning), "LangChainBetaWarning")


# ---- hooks polyvox overrides ---------------------------------------------------------------

HOOK_PARAMETERS = {
    "_get_invocation_params": ["self", "stop", "kwargs"],
    "_get_ls_params": ["self", "stop", "kwargs"],
    "_should_stream": ["self", "async_api", "run_manager", "kwargs"],
    "_convert_input": ["self", "model_input"],
    "_generate_helper": ["self", "prompts", "stop", "run_managers", "new_arg_supported", "kwargs"],
    "_agenerate_helper": ["self", "prompts", "stop", "run_managers", "new_arg_supported", "kwargs"],
}

BASES = {
    "langchain_core.language_models.BaseChatModel": BaseChatModel,
    "langchain_core.language_models.BaseLLM": BaseLLM,
}


@pytest.mark.parametrize(
    ("base", "hook"),
    [(base, hook) for base, hooks in li.OVERRIDDEN_HOOKS.items() for hook in hooks],
)
def test_overridden_hooks_keep_their_signature(base: str, hook: str) -> None:
    method = getattr(BASES[base], hook, None)
    pinned(method is not None, f"{base}.{hook} (gone)")
    names = list(inspect.signature(method).parameters)
    pinned(names == HOOK_PARAMETERS[hook], f"{base}.{hook}'s parameters ({names})")


def test_should_stream_receives_the_run_manager() -> None:
    seen: list[Any] = []

    class Watching(_Stub):
        def _should_stream(self, *, async_api: bool, run_manager: Any = None, **kw: Any) -> bool:
            seen.append(run_manager)
            return False

    Watching(model="m").invoke("hi", config={"callbacks": [_Capture()]})
    pinned(seen and seen[0] is not None, "_should_stream's run_manager argument")


def test_generate_helper_receives_every_run_manager() -> None:
    from polyvox.core.llm import ChatModelLLM

    seen: list[int] = []

    class Watching(ChatModelLLM):
        def _generate_helper(self, prompts: Any, stop: Any, run_managers: Any, **kw: Any) -> Any:
            seen.append(len(run_managers))
            return super()._generate_helper(prompts, stop, run_managers, **kw)

    llm = Watching(chat_model=_Stub(model="m"))
    llm.generate(["a", "b"], callbacks=[_Capture()])
    pinned(seen == [2], "_generate_helper's run_managers argument")


# ---- nobody else reaches into langchain-core -----------------------------------------------

SOURCES = sorted(
    p
    for p in (ROOT / "packages").glob("*/src/polyvox/**/*.py")
    if p.name != "langchain_internals.py"
)


def _private_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("langchain_core"):
            module = node.module or ""
            names = [alias.name for alias in node.names if alias.name.startswith("_")]
            if any(part.startswith("_") for part in module.split(".")) or names:
                found.append(f"from {module} import {', '.join(names) or '...'}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "langchain_core" and any(p.startswith("_") for p in parts):
                    found.append(f"import {alias.name}")
    return found


def test_no_module_outside_the_adapter_imports_a_private_langchain_core_name() -> None:
    bad = {
        str(path.relative_to(ROOT)): found
        for path in SOURCES
        if (found := _private_imports(ast.parse(path.read_text())))
    }
    assert not bad, f"import these through {ADAPTER}: {bad}"


def _langchain_private_attributes() -> set[str]:
    from langchain_core.callbacks import BaseCallbackManager, CallbackManagerForLLMRun
    from langchain_core.language_models import BaseLanguageModel
    from langchain_core.outputs import LLMResult
    from langchain_core.runnables import Runnable, RunnableBinding

    classes = [
        BaseChatModel,
        BaseLLM,
        BaseLanguageModel,
        Runnable,
        RunnableBinding,
        BaseCallbackManager,
        CallbackManagerForLLMRun,
        BaseCallbackHandler,
        BaseMessage,
        ChatResult,
        LLMResult,
    ]
    return {
        name
        for cls in classes
        for name in dir(cls)
        if name.startswith("_") and not name.startswith(("__", "_abc"))
    }


def _is_own(receiver: ast.expr) -> bool:
    """``self.x``, ``cls.x`` and ``super().x``: a class using or overriding its own hooks."""
    if isinstance(receiver, ast.Name):
        return receiver.id in ("self", "cls")
    return (
        isinstance(receiver, ast.Call)
        and isinstance(receiver.func, ast.Name)
        and receiver.func.id == "super"
    )


def test_no_module_outside_the_adapter_reads_private_attributes_of_langchain_objects() -> None:
    private = _langchain_private_attributes()
    assert {"_get_ls_params", "_convert_input", "_llm_type", "_generate"} <= private
    bad = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private and not _is_own(node.value):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, f"go through {ADAPTER}:\n" + "\n".join(bad)
