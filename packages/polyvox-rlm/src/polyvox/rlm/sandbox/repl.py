"""The REPL inside the worker: the namespace, its helpers, and running one cell.

The namespace persists across cells. It holds ``context`` (a :class:`TrackedStr`),
``documents`` (when the context was a list), the sub-call helpers that block on the host,
``search``/``bm25_search``, ``show_vars``, ``FINAL``/``FINAL_VAR``, and builtins whose
``__import__`` admits only the allowed modules. A cell's last expression is echoed like in
a notebook. Protected names a cell rebinds are put back afterwards and reported.
"""

from __future__ import annotations

import ast
import builtins
import copy
import linecache
import sys
import traceback
from collections import deque
from collections.abc import Mapping
from types import CodeType, ModuleType, TracebackType
from typing import Any, cast

from polyvox.rlm.sandbox.capture import CappedOutput
from polyvox.rlm.sandbox.functions import seal
from polyvox.rlm.sandbox.guard import make_guarded_import
from polyvox.rlm.sandbox.protocol import MAX_WORKER_FRAME_BYTES, PipeChannel, encode_frame
from polyvox.rlm.sandbox.signals import SignalState
from polyvox.rlm.sandbox.tracking import ReadTracker, TrackedStr
from polyvox.rlm.sandbox.watchdog import CellTimeout, Watchdog
from polyvox.rlm.search import BM25Index, regex_search

__all__ = ["PROTECTED_NAMES", "HostGone", "Repl", "SubcallError"]

PROTECTED_NAMES = (
    "context",
    "documents",
    "llm_query",
    "llm_query_batched",
    "rlm_query",
    "search",
    "bm25_search",
    "show_vars",
    "FINAL",
    "FINAL_VAR",
)
"""Names restored after every cell (``documents`` only when the context was a list)."""

_REMOVED_BUILTINS = ("breakpoint", "help", "exit", "quit", "copyright", "credits", "license")
_TRACEBACK_CHARS = 4000
_ERROR_CHARS = 2000
_SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset, deque, range)


class SubcallError(RuntimeError):
    """A sub-call failed on the host (the model's error, the handler's, or a limit)."""


class HostGone(BaseException):
    """The host closed the pipe or broke the protocol: the worker must exit."""


class Repl:
    """The persistent namespace and the machinery to run cells in it."""

    def __init__(
        self,
        *,
        context: str,
        documents: list[Mapping[str, Any]] | None,
        limits: Mapping[str, Any],
        channel: PipeChannel,
        watchdog: Watchdog,
        hidden_dir: str,
    ) -> None:
        """Build the namespace.

        Args:
            context: The whole context.
            documents: ``{"metadata", "start", "end"}`` per document, or ``None`` for a string.
            limits: The sandbox limits as sent by the host.
            channel: The pipe to the host.
            watchdog: The cell timer.
            hidden_dir: Frames from files under it are left out of tracebacks.
        """
        self._channel = channel
        self._watchdog = watchdog
        self._hidden_dir = hidden_dir
        self._output_limit = int(limits["output_chars"])
        self._max_subcalls = int(limits["max_subcalls_per_cell"])
        self._memory_mb = int(limits["memory_mb"])
        self._allowed = frozenset(limits["allowed_imports"])
        self._plain = context
        self._tracker = ReadTracker()
        self._bm25: dict[tuple[int, int | None], BM25Index] = {}
        self._output = CappedOutput(self._output_limit)
        self._final: str | None = None
        self._subcalls = 0
        self._seq = 0
        self._cells = 0
        self._signals = SignalState()
        tracked = TrackedStr(context, 0, self._tracker)
        self._protected: dict[str, Any] = {
            "context": tracked,
            "llm_query": seal(self.llm_query, "llm_query(prompt) -> str"),
            "llm_query_batched": seal(
                self.llm_query_batched, "llm_query_batched(prompts) -> list[str]"
            ),
            "rlm_query": seal(self.rlm_query, "rlm_query(prompt, context=None) -> str"),
            "search": seal(
                self.search, "search(pattern, flags=0, max_hits=50, window=200) -> list[dict]"
            ),
            "bm25_search": seal(
                self.bm25_search, "bm25_search(query, k=5, chunk_chars=2000) -> list[dict]"
            ),
            "show_vars": seal(self.show_vars, "show_vars()"),
            "FINAL": seal(self.final, "FINAL(value)"),
            "FINAL_VAR": seal(self.final_var, "FINAL_VAR(name)"),
        }
        self._builtins_dict = self._builtins()
        self._builtins_items = tuple(self._builtins_dict.items())
        self._documents: list[dict[str, Any]] | None = None
        if documents is not None:
            self._pristine = [
                {
                    "text": TrackedStr(context[start:end], start, self._tracker),
                    "metadata": doc["metadata"],
                    "start": start,
                    "end": end,
                }
                for doc in documents
                for start, end in [(int(doc["start"]), int(doc["end"]))]
            ]
            self._documents = self._fresh_documents()
            self._protected["documents"] = self._documents
        self.namespace: dict[str, Any] = {
            "__name__": "__main__",
            "__doc__": None,
            "__builtins__": self._builtins_dict,
            **self._protected,
        }

    # ---- the helpers the cell's code calls ----------------------------------------------

    def llm_query(self, prompt: str) -> str:
        """Ask the sub-model one prompt; returns its answer."""
        _require_str(prompt, "llm_query", "prompt")
        value = self._subcall("llm_query", {"prompt": prompt}, 1)
        if not isinstance(value, str):
            raise HostGone("llm_query reply is not a str")
        return value

    def llm_query_batched(self, prompts: list[str]) -> list[str]:
        """Ask the sub-model several prompts concurrently; answers in the same order."""
        if isinstance(prompts, str) or not isinstance(prompts, list | tuple):
            raise TypeError("llm_query_batched expects a list of str prompts")
        items = list(prompts)
        for index, prompt in enumerate(items):
            _require_str(prompt, "llm_query_batched", f"prompts[{index}]")
        if not items:
            return []
        values = self._subcall("llm_query_batched", {"prompts": items}, len(items))
        if (
            not isinstance(values, list)
            or len(values) != len(items)
            or not all(isinstance(v, str) for v in values)
        ):
            raise HostGone("llm_query_batched reply is not a list of str of the right length")
        return values

    def rlm_query(self, prompt: str, context: str | None = None) -> str:
        """Ask a child RLM (over ``context``, or the prompt itself when ``None``)."""
        _require_str(prompt, "rlm_query", "prompt")
        if context is not None:
            _require_str(context, "rlm_query", "context")
        value = self._subcall("rlm_query", {"prompt": prompt, "context": context}, 1)
        if not isinstance(value, str):
            raise HostGone("rlm_query reply is not a str")
        return value

    def search(
        self, pattern: str, flags: int = 0, max_hits: int = 50, window: int = 200
    ) -> list[dict[str, Any]]:
        """Regular-expression search over ``context`` with offsets and snippets."""
        hits = regex_search(self._plain, pattern, flags=flags, max_hits=max_hits, window=window)
        for hit in hits:
            self._tracker.add(hit.start, hit.end)
        return [hit.to_dict() for hit in hits]

    def bm25_search(
        self, query: str, k: int = 5, chunk_chars: int = 2000, overlap: int | None = None
    ) -> list[dict[str, Any]]:
        """BM25 ranking of fixed-size chunks of ``context``."""
        _require_str(query, "bm25_search", "query")
        key = (int(chunk_chars), None if overlap is None else int(overlap))
        index = self._bm25.get(key)
        if index is None:
            index = BM25Index(self._plain, chunk_chars=key[0], overlap=key[1])
            self._bm25[key] = index
        hits = index.search(query, k)
        for hit in hits:
            self._tracker.add(hit.start, hit.end)
        return [hit.to_dict() for hit in hits]

    def show_vars(self) -> None:
        """Print the variables the cells defined, one per line, with type and size."""
        described = self.describe_vars()
        if not described:
            print("(no variables yet)")
        for name, description in described.items():
            print(f"{name}: {description}")

    def final(self, value: object) -> None:
        """Give the final answer: ``str(value)``."""
        self._final = str(value)

    def final_var(self, name: str) -> None:
        """Give the final answer: the value of the variable called ``name``."""
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(
                'FINAL_VAR takes the name of a variable, e.g. FINAL_VAR("answer"); '
                "to answer with a value, call FINAL(value)"
            )
        if name not in self.namespace:
            raise NameError(
                f"FINAL_VAR: there is no variable named {name!r} in the REPL; "
                "to answer with a value, call FINAL(value)"
            )
        self._final = str(self.namespace[name])

    # ---- running cells --------------------------------------------------------------------

    def run(self, seq: int, code: str, timeout: float) -> dict[str, Any]:
        """Run one cell.

        Args:
            seq: The request's sequence number (echoed in sub-calls and the result).
            code: The cell's source.
            timeout: Seconds its own code may run.

        Returns:
            The ``result`` message.
        """
        self._seq = seq
        self._cells += 1
        self._final = None
        self._subcalls = 0
        self._output.reset()
        self._tracker.take()
        filename = f"<cell {self._cells}>"
        error: str | None = None
        details = ""
        timed_out = False
        try:
            body, last = self._compile(code, filename)
        except (SyntaxError, ValueError) as exc:
            error = _describe(exc)
            details = "".join(traceback.format_exception_only(type(exc), exc))
        else:
            error, details, timed_out = self._execute(body, last, timeout)
        restored = self._restore()
        self._signals.restore()
        output = self._output.getvalue()
        truncated = self._output.dropped > 0
        if truncated:
            output += (
                f"\n[output truncated: {self._output.dropped:,} more characters were not kept "
                f"(the limit is {self._output_limit:,} per cell)]"
            )
        if details:
            if len(details) > _TRACEBACK_CHARS:
                details = details[:1000] + "\n[...]\n" + details[-(_TRACEBACK_CHARS - 1000) :]
            output += ("\n" if output and not output.endswith("\n") else "") + details
        return {
            "op": "result",
            "seq": seq,
            "output": output,
            "error": error,
            "truncated": truncated,
            "timed_out": timed_out,
            "final": self._final,
            "reads": self._tracker.take(),
            "restored": restored,
        }

    def describe_vars(self) -> dict[str, str]:
        """Name to a short description, for the variables the cells defined."""
        described: dict[str, str] = {}
        for name, value in list(self.namespace.items()):
            if name.startswith("_") or name in self._protected:
                continue
            described[name] = _describe_value(value)
        return described

    def vars_message(self, seq: int, timeout: float) -> dict[str, Any]:
        """The ``vars`` message, computed under the cell time limit."""
        described: dict[str, str] = {}
        self._watchdog.arm(timeout)
        try:
            self._watchdog.in_cell = True
            described = self.describe_vars()
        except BaseException:  # a hostile __len__ or a timeout must not kill the worker
            pass
        finally:
            self._watchdog.in_cell = False
            self._watchdog.disarm()
        return {"op": "vars", "seq": seq, "vars": described}

    def value_message(self, seq: int, name: str, max_chars: int, timeout: float) -> dict[str, Any]:
        """The ``value`` message: ``str()`` of one variable, computed under the time limit."""
        text: str | None = None
        self._watchdog.arm(timeout)
        try:
            self._watchdog.in_cell = True
            if name in self.namespace and name not in self._protected:
                text = str(self.namespace[name])[: max(0, max_chars)]
                text = text if type(text) is str else None  # a str subclass stays here
        except BaseException:  # a hostile __str__ or a timeout must not kill the worker
            text = None
        finally:
            self._watchdog.in_cell = False
            self._watchdog.disarm()
        return {"op": "value", "seq": seq, "value": text}

    def _compile(self, code: str, filename: str) -> tuple[CodeType, CodeType | None]:
        tree = ast.parse(code, filename, "exec")
        last: CodeType | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            expression = ast.Expression(cast(ast.Expr, tree.body.pop()).value)
            last = compile(expression, filename, "eval", dont_inherit=True)
        body = compile(tree, filename, "exec", dont_inherit=True)
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        return body, last

    def _execute(
        self, body: CodeType, last: CodeType | None, timeout: float
    ) -> tuple[str | None, str, bool]:
        namespace = self.namespace
        self._reinstall_builtins()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self._output
        self._watchdog.arm(timeout)
        try:
            try:
                self._watchdog.in_cell = True
                exec(body, namespace)
                if last is not None:
                    value = eval(last, namespace)
                    if value is not None:
                        print(repr(value))
            finally:
                self._watchdog.in_cell = False
        except CellTimeout as exc:
            message = (
                f"TimeoutError: the cell ran longer than {timeout:g} s and was interrupted; "
                "variables assigned before that are kept"
            )
            return message, self._traceback(exc.__traceback__, message), True
        except HostGone:
            raise
        except BaseException as exc:  # every failure goes to the model
            message = self._explain(exc)
            return message, self._traceback(exc.__traceback__, message), False
        finally:
            self._watchdog.disarm()
            sys.stdout, sys.stderr = saved
        return None, "", False

    def _explain(self, exc: BaseException) -> str:
        if isinstance(exc, MemoryError):
            return f"MemoryError: out of memory (the RLM sandbox allows {self._memory_mb} MB)"
        if isinstance(exc, SystemExit):
            return (
                "SystemExit: exiting is not available in the RLM sandbox; "
                "call FINAL(value) to give the answer"
            )
        if isinstance(exc, KeyboardInterrupt):
            return "KeyboardInterrupt: the cell was interrupted"
        return _describe(exc)

    def _traceback(self, tb: TracebackType | None, last_line: str) -> str:
        frames = []
        while tb is not None:
            try:
                frame = tb.tb_frame
            except PermissionError:  # the audit hook's own frame cannot be read
                frame = None
            if frame is not None and not frame.f_code.co_filename.startswith(self._hidden_dir):
                frames.append((frame, tb.tb_lineno))
            tb = tb.tb_next
        if not frames:
            return last_line + "\n"
        summary = traceback.StackSummary.extract(frames)
        return "Traceback (most recent call last):\n" + "".join(summary.format()) + last_line + "\n"

    def _restore(self) -> list[str]:
        """Put the protected names and the restricted builtins back; never raises.

        It runs outside the cell (no time limit, stdout restored), so it compares by identity
        and exact type only: no code the cell defined (``__eq__``, ``__hash__``) runs here.
        """
        restored: list[str] = []
        try:
            self._reinstall_builtins(restored)
            namespace = self.namespace
            missing = object()
            for name, original in self._protected.items():
                if namespace.get(name, missing) is not original:
                    namespace[name] = original
                    restored.append(name)
            if self._documents is not None:
                # Always reinstall fresh documents (cheap: the texts are shared); report them
                # when the cell visibly changed them.
                changed = not _same_documents(self._documents, self._pristine)
                self._documents = self._fresh_documents()
                self._protected["documents"] = namespace["documents"] = self._documents
                if changed and "documents" not in restored:
                    restored.append("documents")
        except BaseException:
            self.namespace = self._new_namespace_keeping(self.namespace)
            restored.append("(namespace rebuilt)")
        return restored

    def _reinstall_builtins(self, restored: list[str] | None = None) -> None:
        """Reinstall the restricted builtins dict (and its contents) in the namespace."""
        current = self.namespace.get("__builtins__")
        changed = current is not self._builtins_dict
        builtins_dict = self._builtins_dict
        if not changed and len(builtins_dict) == len(self._builtins_items):
            for name, value in self._builtins_items:
                if builtins_dict.get(name) is not value:
                    changed = True
                    break
        else:
            changed = True
        if changed:
            builtins_dict.clear()
            builtins_dict.update(self._builtins_items)
            self.namespace["__builtins__"] = builtins_dict
            if restored is not None:
                restored.append("__builtins__")

    def _new_namespace_keeping(self, old: dict[str, Any]) -> dict[str, Any]:
        """A fresh namespace with the protected names, keeping what can be copied safely."""
        namespace: dict[str, Any] = {
            "__name__": "__main__",
            "__doc__": None,
            "__builtins__": self._builtins_dict,
        }
        try:
            for name in list(old):
                if type(name) is str and name not in namespace:
                    namespace[name] = dict.__getitem__(old, name)
        except BaseException:
            pass
        builtins_dict = self._builtins_dict
        builtins_dict.clear()
        builtins_dict.update(self._builtins_items)
        if self._documents is not None:
            self._documents = self._fresh_documents()
            self._protected["documents"] = self._documents
        namespace.update(self._protected)
        return namespace

    def _fresh_documents(self) -> list[dict[str, Any]]:
        return [
            {
                "text": doc["text"],
                "metadata": copy.deepcopy(doc["metadata"]),
                "start": doc["start"],
                "end": doc["end"],
            }
            for doc in self._pristine
        ]

    def _builtins(self) -> dict[str, Any]:
        names = dict(builtins.__dict__)
        for name in _REMOVED_BUILTINS:
            names.pop(name, None)
        names["__import__"] = make_guarded_import(self._allowed, builtins.__import__)
        return names

    def _subcall(self, kind: str, payload: dict[str, Any], count: int) -> Any:
        if self._subcalls + count > self._max_subcalls:
            raise SubcallError(
                f"sub-call limit reached: a cell may make at most {self._max_subcalls} "
                "llm_query/llm_query_batched/rlm_query prompts"
            )
        frame = encode_frame(
            {"op": "subcall", "seq": self._seq, "kind": kind, **payload}, replace_surrogates=True
        )
        if len(frame) > MAX_WORKER_FRAME_BYTES:
            raise ValueError(
                f"{kind}: the request is {len(frame):,} bytes; the limit is "
                f"{MAX_WORKER_FRAME_BYTES:,}"
            )
        self._subcalls += count
        watchdog = self._watchdog
        was_in_cell = watchdog.in_cell
        watchdog.in_cell = False
        watchdog.pause()
        try:
            self._channel.send_frame(frame)
            reply = self._channel.receive()
        except (OSError, EOFError, ValueError) as exc:
            raise HostGone(f"lost the host during {kind}: {exc}") from None
        finally:
            watchdog.resume()
            watchdog.in_cell = was_in_cell
        if reply.get("op") != "reply" or reply.get("seq") != self._seq:
            raise HostGone(f"unexpected reply to {kind}: {reply.get('op')!r}")
        if not reply.get("ok"):
            raise SubcallError(str(reply.get("error") or f"{kind} failed"))
        return reply.get("value")


def _same_documents(current: object, pristine: list[dict[str, Any]]) -> bool:
    """Whether ``current`` still equals ``pristine``, judged by exact types and identity."""
    if type(current) is not list or len(current) != len(pristine):
        return False
    for item, original in zip(current, pristine, strict=True):
        if type(item) is not dict or len(item) != 4 or any(type(k) is not str for k in item):
            return False
        for key in ("text", "start", "end"):
            if dict.get(item, key) is not original[key]:
                return False
        if not _same_json(dict.get(item, "metadata"), original["metadata"]):
            return False
    return True


def _same_json(value: object, original: object, depth: int = 0) -> bool:
    """Equality of JSON-like values that runs no code of the cell (exact types only)."""
    kind = type(original)
    if type(value) is not kind or depth > 50:
        return False
    if kind is dict:
        left = cast(dict[Any, Any], value)
        right = cast(dict[Any, Any], original)
        if len(left) != len(right) or any(type(k) is not str for k in left):
            return False
        for key, item in right.items():
            if not dict.__contains__(left, key):
                return False
            if not _same_json(dict.__getitem__(left, key), item, depth + 1):
                return False
        return True
    if kind is list:
        left_items = cast(list[Any], value)
        right_items = cast(list[Any], original)
        return len(left_items) == len(right_items) and all(
            _same_json(a, b, depth + 1) for a, b in zip(left_items, right_items, strict=True)
        )
    if kind in (str, int, float, bool) or original is None:
        return value == original
    return value is original


def _require_str(value: object, function: str, argument: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{function}: {argument} must be a str, not {type(value).__name__}")


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not hide the error's type
        text = ""
    name = type(exc).__name__
    message = f"{name}: {text}" if text else name
    return message if len(message) <= _ERROR_CHARS else message[:_ERROR_CHARS] + "..."


def _describe_value(value: object) -> str:
    if isinstance(value, ModuleType):
        return "module"
    kind = type(value).__name__
    if isinstance(value, str):
        return f"{kind}, {len(value):,} chars"
    if isinstance(value, _SIZED):
        return f"{kind}, {len(value):,} items"
    if isinstance(value, type):
        return "class"
    if callable(value):
        return "function"
    return kind
