"""Message conversion between LlamaIndex ChatMessages and LangChain messages."""

from __future__ import annotations

import base64

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages import ChatMessage as LCChatMessage
from langchain_core.messages.tool import tool_call, tool_call_chunk
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection

from polyvox.core.llamaindex.messages import (
    LANGCHAIN_KWARGS_KEY,
    to_langchain_message,
    to_langchain_messages,
    to_llamaindex_message,
    to_llamaindex_messages,
    tool_calls_of,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PNG_B64 = base64.b64encode(PNG).decode()

CALL = tool_call(name="add", args={"a": 3, "b": 4}, id="call_1")


def signature(message: BaseMessage) -> tuple[object, ...]:
    return (
        message.type,
        message.content,
        getattr(message, "tool_calls", None),
        getattr(message, "tool_call_id", None),
    )


CONVERSATION: list[BaseMessage] = [
    SystemMessage(content="be brief"),
    HumanMessage(content="what is 3 + 4?"),
    AIMessage(content="", tool_calls=[CALL]),
    ToolMessage(content="7", tool_call_id="call_1", name="add"),
    AIMessage(content="It is 7."),
]


def test_every_role_round_trips() -> None:
    llama = to_llamaindex_messages(CONVERSATION)
    assert [m.role for m in llama] == [
        MessageRole.SYSTEM,
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
        MessageRole.ASSISTANT,
    ]
    back = to_langchain_messages(llama)
    assert [signature(m) for m in back] == [signature(m) for m in CONVERSATION]
    assert isinstance(back[3], ToolMessage)
    assert back[3].name == "add"


def test_ai_tool_calls_land_in_additional_kwargs_and_blocks() -> None:
    message = to_llamaindex_message(AIMessage(content="let me add", tool_calls=[CALL]))
    assert message.content == "let me add"
    assert message.additional_kwargs["tool_calls"] == [dict(CALL)]
    blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
    assert [(b.tool_call_id, b.tool_name, b.tool_kwargs) for b in blocks] == [
        ("call_1", "add", {"a": 3, "b": 4})
    ]


def test_tool_only_answer_has_no_empty_text_block() -> None:
    message = to_llamaindex_message(AIMessage(content="", tool_calls=[CALL]))
    assert not any(isinstance(b, TextBlock) for b in message.blocks)


def test_tool_message_carries_tool_call_id() -> None:
    message = to_llamaindex_message(ToolMessage(content="7", tool_call_id="call_9"))
    assert message.role == MessageRole.TOOL
    assert message.additional_kwargs == {"tool_call_id": "call_9"}
    assert message.content == "7"


def test_llamaindex_tool_message_without_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="tool_call_id"):
        to_langchain_message(ChatMessage(role=MessageRole.TOOL, content="7"))


@pytest.mark.parametrize(
    "calls",
    [
        [{"name": "add", "args": {"a": 3, "b": 4}, "id": "call_1", "type": "tool_call"}],
        [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "add", "arguments": '{"a": 3, "b": 4}'},
            }
        ],
        [ToolSelection(tool_id="call_1", tool_name="add", tool_kwargs={"a": 3, "b": 4})],
    ],
    ids=["langchain", "openai", "tool-selection"],
)
def test_assistant_tool_calls_in_any_shape(calls: list[object]) -> None:
    message = ChatMessage(
        role=MessageRole.ASSISTANT, content="", additional_kwargs={"tool_calls": calls}
    )
    converted = to_langchain_message(message)
    assert isinstance(converted, AIMessage)
    assert converted.tool_calls == [CALL]


def test_openai_sdk_style_tool_call_objects_are_read() -> None:
    class Function:
        name = "add"
        arguments = '{"a": 3, "b": 4}'

    class SdkToolCall:
        id = "call_1"
        function = Function()

    message = ChatMessage(
        role=MessageRole.ASSISTANT, additional_kwargs={"tool_calls": [SdkToolCall()]}
    )
    assert tool_calls_of(message) == [CALL]


def test_tool_call_blocks_alone_are_read() -> None:
    message = ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[
            ToolCallBlock(tool_call_id="call_1", tool_name="add", tool_kwargs='{"a": 3, "b": 4}')
        ],
    )
    assert tool_calls_of(message) == [CALL]


def test_unrecognised_tool_call_is_an_error() -> None:
    message = ChatMessage(role=MessageRole.ASSISTANT, additional_kwargs={"tool_calls": [42]})
    with pytest.raises(ValueError, match="Unrecognised tool call"):
        to_langchain_message(message)


def test_developer_role_is_a_system_message() -> None:
    converted = to_langchain_message(ChatMessage(role=MessageRole.DEVELOPER, content="rules"))
    assert isinstance(converted, SystemMessage)


def test_multiple_text_blocks_join_like_llamaindex_content() -> None:
    message = ChatMessage(blocks=[TextBlock(text="one"), TextBlock(text="two")])
    assert to_langchain_message(message).content == message.content == "one\ntwo"


def test_image_from_bytes_becomes_a_base64_block() -> None:
    message = ChatMessage(blocks=[TextBlock(text="what is it?"), ImageBlock(image=PNG)])
    converted = to_langchain_message(message)
    assert converted.content == [
        {"type": "text", "text": "what is it?"},
        {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
    ]


def test_image_url_and_data_url() -> None:
    message = ChatMessage(
        blocks=[
            ImageBlock(url="https://example.com/cat.png"),
            ImageBlock(url=f"data:image/png;base64,{PNG_B64}"),
        ]
    )
    content = to_langchain_message(message).content
    assert content == [
        {"type": "image", "url": "https://example.com/cat.png", "mime_type": "image/png"},
        {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
    ]


def test_image_from_path(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "dot.png"
    path.write_bytes(PNG)
    content = to_langchain_message(ChatMessage(blocks=[ImageBlock(path=path)])).content
    assert content == [{"type": "image", "base64": PNG_B64, "mime_type": "image/png"}]


def test_images_round_trip() -> None:
    original = HumanMessage(
        content=[
            {"type": "text", "text": "compare"},
            {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
            {"type": "image", "url": "https://example.com/a.jpg"},
        ]
    )
    llama = to_llamaindex_message(original)
    images = [b for b in llama.blocks if isinstance(b, ImageBlock)]
    assert len(images) == 2
    assert images[0].image_mimetype == "image/png"
    assert str(images[1].url) == "https://example.com/a.jpg"
    back = to_langchain_message(llama)
    assert back.content == [
        {"type": "text", "text": "compare"},
        {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
        {"type": "image", "url": "https://example.com/a.jpg", "mime_type": "image/jpeg"},
    ]


def test_openai_image_url_blocks_are_read() -> None:
    message = HumanMessage(
        content=[
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}},
        ]
    )
    images = to_llamaindex_message(message).blocks
    assert isinstance(images[0], ImageBlock)
    assert images[0].image_mimetype == "image/png"
    assert images[0].image == PNG_B64.encode()
    assert isinstance(images[1], ImageBlock)
    assert str(images[1].url) == "https://example.com/b.png"


def test_audio_document_and_reasoning_blocks() -> None:
    message = ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[
            ThinkingBlock(content="hmm"),
            AudioBlock(url="https://example.com/a.mp3", format="mp3"),
            DocumentBlock(url="https://example.com/d.pdf", document_mimetype="application/pdf"),
            TextBlock(text="done"),
        ],
    )
    content = to_langchain_message(message).content
    assert content == [
        {"type": "reasoning", "reasoning": "hmm"},
        {"type": "audio", "url": "https://example.com/a.mp3", "mime_type": "audio/mp3"},
        {"type": "file", "url": "https://example.com/d.pdf", "mime_type": "application/pdf"},
        {"type": "text", "text": "done"},
    ]
    back = to_llamaindex_message(AIMessage(content=content))
    kinds = [type(b).__name__ for b in back.blocks]
    assert kinds == ["ThinkingBlock", "AudioBlock", "DocumentBlock", "TextBlock"]


def test_langchain_additional_kwargs_round_trip() -> None:
    original = AIMessage(content="x", additional_kwargs={"refusal": None, "extra": {"k": 1}})
    llama = to_llamaindex_message(original)
    assert llama.additional_kwargs[LANGCHAIN_KWARGS_KEY] == {"refusal": None, "extra": {"k": 1}}
    assert to_langchain_message(llama).additional_kwargs == original.additional_kwargs


def test_streamed_chunk_with_partial_tool_call() -> None:
    chunk = AIMessageChunk(
        content="",
        tool_call_chunks=[tool_call_chunk(name="add", args='{"a": 3, "b', id="c", index=0)],
    )
    message = to_llamaindex_message(chunk)
    assert message.additional_kwargs["tool_calls"][0]["name"] == "add"
    assert message.additional_kwargs["tool_calls"][0]["args"] == {"a": 3}


def test_generic_langchain_chat_message_role() -> None:
    assert to_llamaindex_message(LCChatMessage(role="assistant", content="x")).role == "assistant"
    assert to_llamaindex_message(LCChatMessage(role="narrator", content="x")).role == "user"
