"""Shared test helpers: the recorded provider fixtures in ../shared/fixtures/recorded, a ledger."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from polyvox.costs.ledger import Ledger

REPO = Path(__file__).resolve().parents[1]
RECORDED = Path(
    os.environ.get("POLYVOX_RECORDED_FIXTURES", REPO.parent / "shared/fixtures/recorded")
)


def recorded(name: str) -> dict[str, Any]:
    """Load one recorded interaction (``openai__tool_call`` or ``openai__tool_call.json``)."""
    path = RECORDED / (name if name.endswith(".json") else f"{name}.json")
    if not path.exists():
        pytest.fail(f"recorded fixtures not found at {RECORDED} (set POLYVOX_RECORDED_FIXTURES)")
    return json.loads(path.read_text(encoding="utf-8"))


def recorded_names(prefix: str) -> list[str]:
    """Names of the recorded interactions whose file name starts with ``prefix``."""
    return sorted(p.stem for p in RECORDED.glob(f"{prefix}*.json"))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger on a temporary SQLite file."""
    from polyvox.costs.ledger import Ledger

    led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield led
    led.close()
