"""GigaChat's OAuth token: fetched once per credentials, shared, refreshed, re-fetched on a 401.

Every test counts the requests that reached the emulator's OAuth endpoint: concurrent calls,
sync and async, on threads and on several event loops, must never fetch two tokens.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import pickle
import re
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gigachat.exceptions
import pytest
from langchain_core.exceptions import ModelAuthenticationError

from polyvox.gigachat import (
    GigaChat,
    GigaChatAuthenticationError,
    GigaChatEmbeddings,
    GigaChatInsecureWarning,
)
from polyvox.gigachat import auth as auth_module
from polyvox.testing import Emulator, Fault
from polyvox.testing.emulator.gigachat_protocol import tokens_for
from tests.gigachat.conftest import connection


def _oauth_calls(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/api/v2/oauth")


def _chat_calls(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/api/v1/chat/completions")


def test_sync_and_async_calls_share_one_token(emulator: Emulator) -> None:
    fields = connection(emulator)
    chat = GigaChat(max_retries=0, **fields)
    chat.invoke("one")
    asyncio.run(chat.ainvoke("two"))
    asyncio.run(chat.ainvoke("three"))  # another event loop, another async client
    GigaChatEmbeddings(**fields).embed_query("four")  # another model, the same credentials
    list(chat.stream("five"))
    assert _oauth_calls(emulator) == 1
    tokens = {r.headers["authorization"] for r in emulator.requests if r.path != "/api/v2/oauth"}
    assert len(tokens) == 1


def test_concurrent_calls_fetch_one_token(emulator: Emulator) -> None:
    chat = GigaChat(max_retries=0, **connection(emulator))

    async def many() -> None:
        await asyncio.gather(*(chat.ainvoke(f"async {i}") for i in range(15)))

    def run_loop() -> None:
        asyncio.run(many())

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(chat.invoke, f"sync {i}") for i in range(10)]
        futures += [pool.submit(run_loop) for _ in range(2)]
        for future in futures:
            future.result()
    assert _oauth_calls(emulator) == 1
    assert _chat_calls(emulator) == 40


def test_token_is_refreshed_before_it_expires(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens_for(emulator.state).lifetime_ms = 5 * 60 * 1000
    chat = GigaChat(max_retries=0, **connection(emulator))
    chat.invoke("first")
    later = time.time() + 4.5 * 60  # 30 s before expiry: inside the 60 s buffer

    class Clock:
        @staticmethod
        def time() -> float:
            return later

    monkeypatch.setattr(auth_module, "time", Clock)
    chat.invoke("second")
    assert _oauth_calls(emulator) == 2
    assert _chat_calls(emulator) == 2  # refreshed before the call: no 401 on the way


def test_a_401_is_answered_by_one_reauthentication_and_one_retry(emulator: Emulator) -> None:
    chat = GigaChat(max_retries=0, **connection(emulator))
    chat.invoke("first")
    tokens_for(emulator.state).expire_all()
    assert chat.invoke("second").content
    assert _oauth_calls(emulator) == 2
    assert _chat_calls(emulator) == 3  # first, the 401, the retry


def test_concurrent_401s_fetch_one_new_token(emulator: Emulator) -> None:
    chat = GigaChat(max_retries=0, **connection(emulator))
    chat.invoke("warm up")
    tokens_for(emulator.state).expire_all()
    barrier = threading.Barrier(8)

    def call(i: int) -> str:
        barrier.wait()
        return str(chat.invoke(f"after expiry {i}").content)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(call, range(8)))
    assert all(answers)
    assert _oauth_calls(emulator) == 2


async def test_concurrent_async_401s_fetch_one_new_token(emulator: Emulator) -> None:
    chat = GigaChat(max_retries=0, **connection(emulator))
    await chat.ainvoke("warm up")
    tokens_for(emulator.state).expire_all()
    answers = await asyncio.gather(*(chat.ainvoke(f"after {i}") for i in range(10)))
    assert all(a.content for a in answers)
    assert _oauth_calls(emulator) == 2


def test_a_second_401_is_an_authentication_error(emulator: Emulator) -> None:
    chat = GigaChat(max_retries=0, **connection(emulator))
    chat.invoke("warm up")
    emulator.fail(Fault.unauthorized(), times=2)
    with pytest.raises(GigaChatAuthenticationError) as caught:
        chat.invoke("hello")
    assert isinstance(caught.value, gigachat.exceptions.AuthenticationError)
    assert isinstance(caught.value, ModelAuthenticationError)
    assert "401" in str(caught.value)
    assert "refused the access token" in str(caught.value)
    assert (_oauth_calls(emulator), _chat_calls(emulator)) == (2, 3)


def test_oauth_rejection_names_the_credentials(emulator: Emulator) -> None:
    bad = base64.b64encode(b"invalid-client:secret").decode()
    chat = GigaChat(max_retries=0, **{**connection(emulator), "credentials": bad})
    with pytest.raises(GigaChatAuthenticationError) as caught:
        chat.invoke("hello")
    message = str(caught.value)
    assert "OAuth endpoint" in message
    assert "credentials doesn't match db data" in message
    assert "GIGACHAT_CREDENTIALS" in message
    assert _chat_calls(emulator) == 0


def test_password_authentication(emulator: Emulator) -> None:
    chat = GigaChat(
        max_retries=0,
        user="alice",
        password="wonderland",
        base_url=emulator.gigachat_base_url,
        auth_url=emulator.gigachat_auth_url,
    )
    assert chat.invoke("hello").content
    assert [r.path for r in emulator.requests][:1] == ["/api/v1/token"]


def test_credentials_are_never_shown_or_logged(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    fields = connection(emulator)
    key = fields["credentials"]
    chat = GigaChat(max_retries=0, password="pa55word", **fields)
    with caplog.at_level(logging.DEBUG):
        chat.invoke("hello")
        emulator.fail(Fault.unauthorized(), times=2)
        with pytest.raises(GigaChatAuthenticationError) as caught:
            chat.invoke("again")
    shown = [repr(chat), str(chat.model_dump()), caplog.text, str(caught.value),
             str(pickle.loads(pickle.dumps(caught.value)).__dict__)]  # fmt: skip
    for text in shown:
        assert key not in text
        assert "pa55word" not in text
    token = chat.client._store.token
    assert token is not None
    assert token.access_token not in caplog.text


def test_missing_credentials_say_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GIGACHAT_CREDENTIALS", "GIGACHAT_USER", "GIGACHAT_PASSWORD",
                 "GIGACHAT_ACCESS_TOKEN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="GIGACHAT_CREDENTIALS"):
        GigaChat()


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> None:
    env: dict[str, Any] = {
        "GIGACHAT_CREDENTIALS": connection(emulator)["credentials"],
        "GIGACHAT_BASE_URL": emulator.gigachat_base_url,
        "GIGACHAT_AUTH_URL": emulator.gigachat_auth_url,
        "GIGACHAT_SCOPE": "GIGACHAT_API_CORP",
        "GIGACHAT_MODEL": "GigaChat-2-Pro",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    chat = GigaChat(max_retries=0)
    assert (chat.model, chat.scope) == ("GigaChat-2-Pro", "GIGACHAT_API_CORP")
    chat.invoke("hello")
    assert emulator.requests[0].body == b"scope=GIGACHAT_API_CORP"
    assert emulator.requests[-1].json["model"] == "GigaChat-2-Pro"


def test_the_lines_polyvox_emulate_prints_reach_the_emulator(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    """The banner's GigaChat exports, pasted: a model built with no arguments answers."""
    from polyvox.testing.emulator.server import _announcement

    printed = _announcement(emulator.url)
    exports = re.findall(r"^export (GIGACHAT_\w+)=(\S+)$", printed, re.MULTILINE)
    assert [name for name, _ in exports] == [
        "GIGACHAT_BASE_URL", "GIGACHAT_AUTH_URL", "GIGACHAT_CREDENTIALS"
    ]  # fmt: skip
    for name, value in exports:
        monkeypatch.setenv(name, value)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GigaChatInsecureWarning)
        chat = GigaChat(max_retries=0)  # verification stays on: the emulator is plain HTTP
    assert chat.verify_ssl_certs is True
    assert chat.invoke("привет").content == "You said: привет"
    assert _oauth_calls(emulator) == 1


def test_a_static_access_token_is_sent_as_it_is(emulator: Emulator) -> None:
    token, _ = tokens_for(emulator.state).issue()
    chat = GigaChat(
        max_retries=0,
        access_token=token,
        base_url=emulator.gigachat_base_url,
        auth_url=emulator.gigachat_auth_url,
    )
    chat.invoke("hello")
    assert _oauth_calls(emulator) == 0
    assert emulator.requests[-1].headers["authorization"] == f"Bearer {token}"
