"""``betas``: Anthropic's beta features, as the ``anthropic-beta`` header of every request."""

from __future__ import annotations

from polyvox.anthropic import ChatAnthropic
from polyvox.testing import Emulator


def test_betas_travel_as_the_anthropic_beta_header(emulator: Emulator) -> None:
    chat = ChatAnthropic(
        model="claude-sonnet-4-5",
        api_key="k",
        base_url=emulator.url,
        betas=["context-1m-2025-08-07", "files-api-2025-04-14"],
        default_headers={"anthropic-beta": "fine-grained-tool-streaming-2025-05-14"},
    )
    chat.invoke("hi")
    list(chat.stream("hi"))
    chat.get_num_tokens("hi")
    expected = "fine-grained-tool-streaming-2025-05-14,context-1m-2025-08-07,files-api-2025-04-14"
    assert [r.headers["anthropic-beta"] for r in emulator.requests] == [expected] * 3
