"""Structured output through the router: bound per deployment, parsed whatever the wire form.

The router does not know which deployment will answer, so ``with_structured_output``
binds a :class:`StructuredSpec`; at call time the chosen deployment gets the form it
supports (a polyvox model its own native JSON schema or JSON mode parameters, any other
LangChain model a forced tool call through its ``bind_tools``), cached per deployment. The
parser then reads the answer from a tool call when there is one, else from the JSON text,
so the same runnable works whichever deployment answered.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.json import parse_json_markdown
from langchain_core.utils.pydantic import is_basemodel_subclass

from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.costs.catalog import Capability

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["METHODS", "StructuredSpec", "build_parser"]

METHODS = ("json_schema", "function_calling", "json_mode")
"""The structured-output methods the router accepts."""

_CAPABILITY = {
    "json_schema": Capability.STRUCTURED_OUTPUT,
    "json_mode": Capability.JSON_MODE,
    "function_calling": Capability.TOOLS,
}


@dataclass(eq=False)
class StructuredSpec:
    """One ``with_structured_output`` request, bound on the router for every call."""

    schema: dict[str, Any] | type
    """The schema as the user gave it (pydantic model, TypedDict, JSON schema, tool dict)."""

    method: Literal["json_schema", "function_calling", "json_mode"]
    """How deployments are asked for it."""

    strict: bool | None = None
    """Whether providers should enforce the schema exactly."""

    name: str = field(init=False)
    """The schema's name (the forced tool's name)."""

    json_schema: dict[str, Any] = field(init=False)
    """The schema in JSON schema form."""

    _bound: dict[str, Runnable[Any, Any]] = field(init=False, default_factory=dict, repr=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            msg = f"method must be one of {', '.join(METHODS)}; got {self.method!r}"
            raise ValueError(msg)
        schema = self.schema
        if isinstance(schema, dict) and isinstance(schema.get("function"), dict):
            self.name = str(schema["function"]["name"])
            self.json_schema = dict(schema["function"].get("parameters", {}))
        else:
            self.name = str(convert_to_openai_tool(schema)["function"]["name"])
            self.json_schema = dict(convert_to_json_schema(schema))

    @property
    def capability(self) -> Capability:
        """The capability a polyvox deployment needs for this method."""
        return _CAPABILITY[self.method]

    def capability_for(self, model: BaseChatModel) -> Capability:
        """The capability ``model`` needs to answer in the schema, as it would be asked.

        A polyvox model is asked natively (``structured_output`` for ``json_schema``,
        ``json_mode`` for JSON mode); any other model gets a forced tool call, so it needs
        ``tools`` whatever the method.

        Args:
            model: The deployment's chat model.

        Returns:
            The capability the router's filter requires of it.
        """
        if self.method != "function_calling" and isinstance(model, PolyvoxChatModel):
            return _CAPABILITY[self.method]
        return Capability.TOOLS

    @property
    def is_pydantic(self) -> bool:
        """Whether the schema is a pydantic model (answers are validated into it)."""
        return isinstance(self.schema, type) and is_basemodel_subclass(self.schema)

    def binding(self, name: str, model: BaseChatModel) -> Runnable[Any, Any]:
        """The deployment's model bound to answer in the schema (cached per deployment).

        Args:
            name: The deployment's name.
            model: Its chat model.

        Returns:
            The bound runnable.
        """
        bound = self._bound.get(name)
        if bound is None:
            with self._lock:
                bound = self._bound.get(name)
                if bound is None:
                    bound = self._bound[name] = self._bind(model)
        return bound

    def _bind(self, model: BaseChatModel) -> Runnable[Any, Any]:
        # the deployment's own run reports the format too (tracing shows it at both levels)
        ls_format = {
            "kwargs": {"method": self.method, "strict": self.strict},
            "schema": self.schema,
        }
        if isinstance(model, PolyvoxChatModel) and self.method != "function_calling":
            kwargs = model._structured_output_kwargs(
                self.method, self.json_schema, self.name, self.strict
            )
            return model.bind(ls_structured_output_format=ls_format, **kwargs)
        tool = convert_to_openai_tool(self.schema, strict=self.strict)
        bound = model.bind_tools([tool], tool_choice=self.name)
        return bound.bind(ls_structured_output_format=ls_format)

    def parse(self, message: BaseMessage) -> Any:
        """Read the structured answer from a message, whichever form the deployment used.

        Args:
            message: The deployment's answer.

        Returns:
            An instance of the pydantic schema, or a dict.

        Raises:
            OutputParserException: When the answer holds no parseable object.
        """
        data: Any = None
        if isinstance(message, AIMessage) and message.tool_calls:
            calls = message.tool_calls
            call = next((c for c in calls if c["name"] == self.name), calls[0])
            data = call["args"]
        else:
            text = message.text
            try:
                data = parse_json_markdown(text)
            except ValueError as exc:
                msg = f"the answer is not JSON for {self.name}: {text[:200]!r}"
                raise OutputParserException(msg, llm_output=text) from exc
        if not self.is_pydantic:
            return data
        try:
            return cast(Any, self.schema).model_validate(data)
        except AttributeError:  # a pydantic v1 model
            return cast(Any, self.schema).parse_obj(data)
        except ValueError as exc:
            msg = f"the answer does not match {self.name}: {exc}"
            raise OutputParserException(msg, llm_output=str(data)) from exc


def build_parser(
    bound: Runnable[Any, Any], spec: StructuredSpec, *, include_raw: bool
) -> Runnable[Any, Any]:
    """Pipe the bound router into the spec's parser (with the raw message when asked).

    Args:
        bound: The router bound with the spec.
        spec: The structured-output request.
        include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising on a
            parsing failure.

    Returns:
        The structured-output runnable.
    """
    parser: Runnable[Any, Any] = RunnableLambda(spec.parse, name=f"parse_{spec.name}")
    if not include_raw:
        return bound | parser
    parse_ok = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    parse_none = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=bound) | parse_ok.with_fallbacks(
        [parse_none], exception_key="parsing_error"
    )
