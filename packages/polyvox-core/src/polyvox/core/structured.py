"""``with_structured_output`` built once for every provider.

The three methods differ only in what is bound to the model (a forced tool, a JSON
schema response format, JSON mode) and in the parser that reads the answer; the
provider supplies the bound parameters through ``_structured_output_kwargs``.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["NativeKwargs", "StructuredOutputMethod", "build_structured_output"]

StructuredOutputMethod = Literal["json_schema", "function_calling", "json_mode"]
"""How a model is made to answer in a schema."""

NativeKwargs = Callable[
    [Literal["json_schema", "json_mode"], dict[str, Any], str, bool | None], dict[str, Any]
]
"""The model's call arguments for native structured output: ``(method, json_schema, name,
strict) -> kwargs`` (``response_format`` for OpenAI, ``format`` for Ollama...)."""

_METHODS = ("json_schema", "function_calling", "json_mode")


def _schema_name_and_json(schema: dict[str, Any] | type) -> tuple[str, dict[str, Any]]:
    """The schema's name and its JSON schema, whatever form it was given in."""
    if isinstance(schema, dict) and isinstance(schema.get("function"), dict):
        function = schema["function"]
        return str(function["name"]), dict(function.get("parameters", {}))
    if isinstance(schema, dict) and isinstance(schema.get("json_schema"), dict):
        spec = schema["json_schema"]
        return str(spec.get("name", "output")), dict(spec.get("schema", {}))
    name = str(convert_to_openai_tool(schema)["function"]["name"])
    return name, dict(convert_to_json_schema(schema))


def build_structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type,
    *,
    method: str,
    include_raw: bool,
    strict: bool | None,
    native_kwargs: NativeKwargs,
) -> Runnable[Any, Any]:
    """Assemble the structured-output runnable for ``model``.

    Args:
        model: The chat model.
        schema: Pydantic model, TypedDict, JSON schema or OpenAI tool dict.
        method: One of ``json_schema``, ``function_calling``, ``json_mode``.
        include_raw: Whether to return the raw message and parsing error too.
        strict: Whether the provider should enforce the schema exactly.
        native_kwargs: The model's arguments for ``json_schema`` and ``json_mode``.

    Returns:
        ``model`` bound and piped into the matching parser.

    Raises:
        ValueError: For an unknown method.
    """
    if method not in _METHODS:
        msg = f"method must be one of {', '.join(_METHODS)}; got {method!r}"
        raise ValueError(msg)
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    name, json_schema = _schema_name_and_json(schema)
    ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    parser: Runnable[Any, Any]
    if method == "function_calling":
        bound = model.bind_tools(
            [schema], tool_choice=name, strict=strict, ls_structured_output_format=ls_format
        )
        if is_pydantic:
            parser = PydanticToolsParser(tools=[cast(Any, schema)], first_tool_only=True)
        else:
            parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    else:
        kwargs = native_kwargs(
            cast(Literal["json_schema", "json_mode"], method), json_schema, name, strict
        )
        bound = model.bind(ls_structured_output_format=ls_format, **kwargs)
        if is_pydantic:
            parser = PydanticOutputParser(pydantic_object=cast(Any, schema))
        else:
            parser = JsonOutputParser()
    if not include_raw:
        return bound | parser
    parse_ok = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    parse_none = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=bound) | parse_ok.with_fallbacks(
        [parse_none], exception_key="parsing_error"
    )
