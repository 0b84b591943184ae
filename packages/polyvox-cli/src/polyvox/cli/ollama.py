"""``polyvox ollama``: pull models with a progress bar, list them, check health."""

from __future__ import annotations

import sys
from typing import TextIO

from polyvox.ollama import ChatOllama, PullProgress

__all__ = ["ProgressBar", "run_health", "run_list", "run_pull"]


class ProgressBar:
    """A one-line text progress bar for Ollama pulls (redrawn in place on a terminal)."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self._out = out
        self._width = width
        self._tty = out.isatty()
        self._last: tuple[str, int] | None = None

    def __call__(self, step: PullProgress) -> None:
        """Draw one step.

        Args:
            step: What Ollama reported.
        """
        fraction = step.fraction
        if fraction is None:
            self._line(step.status, None)
            return
        filled = int(fraction * self._width)
        bar = "#" * filled + "-" * (self._width - filled)
        size = f"{_size(step.completed or 0)}/{_size(step.total or 0)}"
        self._line(f"{step.status} [{bar}] {fraction:6.1%} {size}", int(fraction * 100))

    def _line(self, text: str, percent: int | None) -> None:
        key = (text.split(" [", 1)[0], percent if percent is not None else -1)
        if not self._tty and key == self._last:
            return  # in logs, one line per status and percent
        self._last = key
        end = "\r" if self._tty and percent is not None and percent < 100 else "\n"
        self._out.write(f"\x1b[2K{text}{end}" if self._tty else f"{text}\n")
        self._out.flush()


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover


def run_pull(model: str, host: str | None, out: TextIO | None = None) -> int:
    """Pull a model onto an Ollama server, drawing a progress bar.

    Args:
        model: The model (``llama3.2``, ``SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M``).
        host: The Ollama server (default: ``OLLAMA_HOST`` or the local one).
        out: Where to draw (default: standard output).

    Returns:
        0 on success, 1 on failure (the error is printed).
    """
    out = out or sys.stdout
    chat = ChatOllama(model=model, base_url=host)
    print(f"pulling {model} onto Ollama at {chat.host}", file=out)
    try:
        chat.pull(progress=ProgressBar(out))
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{model} is ready", file=out)
    return 0


def run_list(host: str | None, out: TextIO | None = None) -> int:
    """Print the models pulled on an Ollama server.

    Args:
        host: The Ollama server.
        out: Where to print.

    Returns:
        0, or 1 when the server is not reachable.
    """
    out = out or sys.stdout
    try:
        names = ChatOllama(model="-", base_url=host).list_models()
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name in names:
        print(name, file=out)
    return 0


def run_health(model: str, host: str | None, out: TextIO | None = None) -> int:
    """Say whether Ollama is up and the model pulled, and what to run if not.

    Args:
        model: The model to check.
        host: The Ollama server.
        out: Where to print.

    Returns:
        0 when calls can succeed, 1 otherwise.
    """
    health = ChatOllama(model=model, base_url=host).health_check()
    print(health.message, file=out or sys.stdout)
    return 0 if health.ok else 1
