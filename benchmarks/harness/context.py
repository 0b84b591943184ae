"""What a benchmark gets to run with: the run's size and the shared emulator."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Literal

from benchmarks.harness.emulator import SERVER_NOTES, emulator

__all__ = ["Context", "ServerMode"]

ServerMode = Literal["subprocess", "thread"]


@dataclass
class Context:
    """The run's options and resources; the runner closes it at the end."""

    quick: bool = False
    """A short run (~30 s in all): fewer repetitions, wider confidence intervals."""
    server: ServerMode = "subprocess"
    """Where the emulator runs: its own process (default) or a thread of this one."""
    _stack: ExitStack = field(default_factory=ExitStack)
    _url: str | None = None

    def scale(self, full: int, quick: int) -> int:
        """Pick a repetition count for this run.

        Args:
            full: The count for a full run.
            quick: The count for ``--quick``.

        Returns:
            One of them.
        """
        return quick if self.quick else full

    def emulator_url(self) -> str:
        """The emulator's root URL (``http://127.0.0.1:PORT``), started on first use.

        Every benchmark of the run shares this one server, whatever protocol it speaks.
        """
        if self._url is None:
            self._url = self._stack.enter_context(emulator(self.server))
        return self._url

    def openai_base_url(self) -> str:
        """The emulator's OpenAI base URL (``http://127.0.0.1:PORT/v1``)."""
        return f"{self.emulator_url()}/v1"

    def anthropic_base_url(self) -> str:
        """The emulator's Anthropic base URL: the server root (the SDK adds ``/v1/messages``)."""
        return self.emulator_url()

    def gemini_base_url(self) -> str:
        """The emulator's Gemini base URL: the server root (``HttpOptions(base_url=...)``)."""
        return self.emulator_url()

    def ollama_url(self) -> str:
        """The emulator's Ollama host: the server root (``ollama.Client(host=...)``)."""
        return self.emulator_url()

    @property
    def server_note(self) -> str:
        """One line saying where the emulator runs, for the tables' set-up notes."""
        return SERVER_NOTES[self.server]

    def close(self) -> None:
        """Stop the emulator (if one was started)."""
        self._stack.close()
        self._url = None
