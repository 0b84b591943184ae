"""Shared test helpers: the recorded provider fixtures in ../shared/fixtures/recorded."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

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
