"""The callables the REPL's code gets (``llm_query``, ``search``, ``FINAL``...), sealed.

A bound method or a plain function would hand the cell its ``__self__`` and ``__globals__``:
the worker's modules, its pipe to the host, the real ``__import__``. Each helper is instead
a :class:`SandboxFunction`: an immutable tuple subclass whose class is defined by ``exec`` in
a namespace holding nothing but a minimal ``__builtins__``, so ``__call__.__globals__`` leads
nowhere, and whose only item of substance is a C-level ``functools`` wrapper (an uncached
``lru_cache`` wrapper), which calls the worker's method without exposing it as an attribute.

This closes the direct routes (``llm_query.__func__``, ``llm_query.__self__``,
``llm_query.__call__.__globals__``, ``type(llm_query).__call__.__globals__``). It does not
make the worker's internals unreachable: any frame the cell obtains (a traceback's
``tb_frame``, ``sys._getframe`` reached through an allowed module) has ``f_back``, which
Python does not audit, up to the worker's own frames. The kernel's confinement of the worker
is the boundary; the host checks everything the worker tells it.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import Any, cast

__all__ = ["seal"]

_SOURCE = '''
class SandboxFunction(tuple):
    """A function of the RLM sandbox (call it like a function)."""

    __slots__ = ()

    def __call__(self, /, *args, **kwargs):
        return self[0](*args, **kwargs)

    def __repr__(self):
        return "<RLM sandbox function " + self[1] + ">"

    __str__ = __repr__
'''


def _build_class() -> type:
    namespace: dict[str, Any] = {
        "__builtins__": {"__build_class__": builtins.__build_class__, "tuple": tuple},
        "__name__": "rlm_sandbox",
    }
    exec(compile(_SOURCE, "<rlm sandbox function>", "exec"), namespace)
    return cast(type, namespace["SandboxFunction"])


_SANDBOX_FUNCTION = _build_class()


def seal(function: Callable[..., Any], signature: str) -> Any:
    """Wrap ``function`` so that the REPL's code can call it but not look inside it.

    Args:
        function: The worker's implementation (a bound method is fine).
        signature: How it is shown, e.g. ``"llm_query(prompt) -> str"``.

    Returns:
        An immutable callable.
    """
    # The uncached lru_cache wrapper keeps ``function`` in a C field with no attribute.
    wrapper: Any = getattr(functools, "_lru_cache_wrapper")  # noqa: B009 - private C type
    opaque = wrapper(function, 0, False, getattr(functools, "_CacheInfo"))  # noqa: B009
    return tuple.__new__(_SANDBOX_FUNCTION, (opaque, signature))
