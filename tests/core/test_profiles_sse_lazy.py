from __future__ import annotations

import subprocess
import sys

import pytest
from langchain_core.language_models import ModelProfile

import polyvox.core
from polyvox.core.profiles import get_profile, register_profiles, registered_models
from polyvox.core.sse import SSEDecoder, SSEEvent


def test_profiles_exact_and_prefix() -> None:
    register_profiles(
        "acme-test",
        {"m1": ModelProfile(max_input_tokens=10), "m1-pro": ModelProfile(max_input_tokens=20)},
    )
    assert get_profile("acme-test", "m1") == {"max_input_tokens": 10}
    assert get_profile("acme-test", "m1-2025-01-01") == {"max_input_tokens": 10}
    assert get_profile("acme-test", "m1-pro-latest") == {"max_input_tokens": 20}
    assert get_profile("acme-test", "m10") is None
    assert get_profile("nobody", "m1") is None
    assert registered_models("acme-test") == ["m1", "m1-pro"]
    copy = get_profile("acme-test", "m1")
    assert copy is not None
    copy["max_input_tokens"] = 1
    assert get_profile("acme-test", "m1") == {"max_input_tokens": 10}


def _decode(lines: list[str]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [e for line in lines if (e := decoder.feed(line)) is not None]
    if (last := decoder.flush()) is not None:
        events.append(last)
    return events


def test_sse_comments_multiline_and_names() -> None:
    lines = [
        ": OPENROUTER PROCESSING",
        "",
        "event: delta",
        'data: {"a":',
        "data: 1}",
        "",
        "data:[DONE]",
    ]
    assert _decode(lines) == [SSEEvent('{"a":\n1}', "delta"), SSEEvent("[DONE]")]


def test_sse_crlf_split_lines_and_blank_runs() -> None:
    assert _decode(["", "", "data: x", "", "", "data: y"]) == [SSEEvent("x"), SSEEvent("y")]


def test_core_all_is_importable() -> None:
    for name in polyvox.core.__all__:
        assert getattr(polyvox.core, name) is not None
    assert sorted(polyvox.core.__all__) == polyvox.core.__all__
    with pytest.raises(AttributeError):
        _ = polyvox.core.does_not_exist


def test_import_polyvox_core_is_lazy() -> None:
    code = "import sys, polyvox.core; print('langchain_core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
