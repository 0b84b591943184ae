"""Building a wrapped model from the wrapper's own keyword arguments.

The adapters (LangChain ``LLM``, LlamaIndex LLM, LlamaIndex embedding) wrap a model
held in one field. A provider subclass names the class to wrap, so that
``OpenAILLM(model="gpt-4o-mini")`` or ``polyvox.openai.llamaindex.OpenAI(model=...)``
builds its ``ChatOpenAI`` from every keyword argument that is not the wrapper's own.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["build_wrapped"]


def build_wrapped(
    wrapper: type[BaseModel], data: Any, *, field: str, wrapped_class: type[Any] | None
) -> Any:
    """Split a wrapper's constructor data and build the wrapped model when needed.

    Args:
        wrapper: The wrapper class (a pydantic model).
        data: The constructor's data (``mode="before"`` validator input).
        field: The field that holds the wrapped model.
        wrapped_class: The class to build it from, or ``None`` when it must be given.

    Returns:
        The data with the wrapped model built into ``field``.

    Raises:
        ValueError: For keyword arguments that belong to neither, or a missing model.
    """
    if not isinstance(data, dict):
        return data
    own: set[str] = set()
    for name, info in wrapper.model_fields.items():
        own.add(name)
        if info.alias:
            own.add(info.alias)
    other = {key: value for key, value in data.items() if key not in own}
    if data.get(field) is not None or wrapped_class is None:
        if other:
            msg = f"{wrapper.__name__} got unknown parameters: {', '.join(sorted(other))}"
            raise ValueError(msg)
        if data.get(field) is None:
            msg = f"{wrapper.__name__} needs a {field} (or a subclass with {field}_class set)"
            raise ValueError(msg)
        return data
    built = {key: value for key, value in data.items() if key in own}
    built[field] = wrapped_class(**other)
    return built
