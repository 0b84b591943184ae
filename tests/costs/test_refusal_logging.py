"""A budget refusal reaches the caller once: no "Error in CostCallbackHandler" line as well.

langchain-core's callback manager (and polyvox's direct path, which follows it) logs a
warning for every exception a handler raises. A refusal is the call's own exception, so
that line only repeats it; real handler errors must still be logged.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from polyvox.costs.ledger import Budget, BudgetExceededError, BudgetGuard, Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.openai import ChatOpenAI
from polyvox.testing import Emulator

CALLBACKS_LOGGER = "langchain_core.callbacks.manager"


class _Quiet(BaseCallbackHandler):
    """Any other handler: it makes LangChain's full path run."""

    run_inline = True


class _Broken(BaseCallbackHandler):
    """A handler with a bug."""

    run_inline = True

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        raise KeyError("a real bug")


class _DownGuard:
    def reserve(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("ledger database down")


def _model(emulator: Emulator) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini", api_key="k", base_url=emulator.openai_base_url, max_retries=0
    )


def _callback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == CALLBACKS_LOGGER]


@pytest.mark.parametrize("path", ["direct", "langchain"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_a_refusal_is_not_logged_as_a_handler_error(
    emulator: Emulator,
    ledger: Ledger,
    caplog: pytest.LogCaptureFixture,
    path: str,
    asynchronous: bool,
) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "tight", Decimal("0.0000001"))])
    handlers: list[BaseCallbackHandler] = [CostCallbackHandler(ledger, budgets=guard)]
    if path == "langchain":  # first: langchain-core never awaits the handlers after a refusal
        handlers.insert(0, _Quiet())
    config: Any = {"callbacks": handlers, "metadata": {"workspace_id": "tight"}}
    model = _model(emulator)

    def call() -> object:
        if asynchronous:
            return asyncio.run(model.ainvoke("x" * 3000, config=config))
        return model.invoke("x" * 3000, config=config)

    with caplog.at_level(logging.WARNING), pytest.raises(BudgetExceededError):
        call()
    assert _callback_warnings(caplog) == []
    assert not emulator.requests


@pytest.mark.parametrize("path", ["direct", "langchain"])
def test_a_check_that_fails_closed_is_logged_once_by_polyvox(
    emulator: Emulator, ledger: Ledger, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    handlers: list[BaseCallbackHandler] = [CostCallbackHandler(ledger, budgets=_DownGuard())]  # type: ignore[arg-type]
    if path == "langchain":
        handlers.append(_Quiet())
    with caplog.at_level(logging.WARNING), pytest.raises(ConnectionError):
        _model(emulator).invoke("go", config={"callbacks": handlers})
    assert _callback_warnings(caplog) == []
    [warning] = [r for r in caplog.records if r.name == "polyvox.costs"]
    assert "budget check failed" in warning.getMessage()
    assert warning.exc_info is not None  # the cause, with its traceback


def test_other_handler_errors_are_still_logged(
    emulator: Emulator, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "tight", Decimal("0.0000001"))])
    handlers = [_Broken(), CostCallbackHandler(ledger, budgets=guard)]
    config: Any = {"callbacks": handlers, "metadata": {"workspace_id": "tight"}}
    with caplog.at_level(logging.WARNING), pytest.raises(BudgetExceededError):
        _model(emulator).invoke("x" * 3000, config=config)
    assert _callback_warnings(caplog) == [
        "Error in _Broken.on_chat_model_start callback: KeyError('a real bug')"
    ]
    free: Any = {"callbacks": [_Broken(), CostCallbackHandler(ledger)]}
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _model(emulator).invoke("fine", config=free)
    assert _callback_warnings(caplog) == [
        "Error in _Broken.on_chat_model_start callback: KeyError('a real bug')"
    ]


_SCRIPT = """
import sys
from decimal import Decimal
from polyvox.costs.ledger import Budget, BudgetExceededError, BudgetGuard, Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.openai import ChatOpenAI

ledger = Ledger("sqlite:///" + sys.argv[2])
guard = BudgetGuard(ledger, [Budget("workspace", "tight", Decimal("0.0000001"))])
model = ChatOpenAI(model="gpt-4o-mini", api_key="k", base_url=sys.argv[1], max_retries=0)
config = {"callbacks": [CostCallbackHandler(ledger, budgets=guard)],
          "metadata": {"workspace_id": "tight"}}
try:
    model.invoke("x" * 3000, config=config)
except BudgetExceededError as error:
    print("refused:", error)
ledger.close()
"""


def test_nothing_reaches_stderr_without_logging_configured(
    emulator: Emulator, tmp_path: Any
) -> None:
    # Python's last-resort handler prints warnings to stderr when logging is not set up:
    # that is where the duplicate line used to appear.
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, emulator.openai_base_url, str(tmp_path / "l.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.startswith("refused: budget exceeded for workspace 'tight'")
    assert "Error in" not in done.stderr
    assert done.stderr == ""
