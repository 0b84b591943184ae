"""The ``polyvox`` command line: one sub-command per module, dispatched with argparse."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def _versions() -> str:
    """``polyvox <version>``, then each installed polyvox distribution and its version."""
    from importlib.metadata import PackageNotFoundError, distributions, version

    try:
        own = version("polyvox-cli")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without install
        own = "unknown"
    installed = sorted(
        {
            (dist.metadata["Name"], dist.version)
            for dist in distributions()
            if (dist.metadata["Name"] or "").startswith("polyvox-")
        }
    )
    return f"polyvox {own}\n" + "\n".join(f"  {name} {ver}" for name, ver in installed)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``polyvox`` command.

    Returns:
        The parser, with one sub-parser per command.
    """
    parser = argparse.ArgumentParser(
        prog="polyvox",
        description="polyvox: every LLM provider as LangChain/LlamaIndex models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps --version's lines
    )
    parser.add_argument(
        "--version",
        action="version",
        version=_versions(),
        help="print the installed polyvox packages' versions and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="stream a reply, call a tool and print token usage",
        description="Streams a reply, runs a tool-calling round trip and prints token usage. "
        "With OPENAI_API_KEY set it calls the real API (or --base-url); otherwise it starts "
        "the built-in emulator and says so.",
    )
    demo.add_argument("--model", default="gpt-4o-mini", help="model id (default: %(default)s)")
    demo.add_argument("--base-url", help="an OpenAI-compatible server's base URL")
    demo.add_argument(
        "--emulator", action="store_true", help="use the built-in emulator even if a key is set"
    )

    ollama = sub.add_parser(
        "ollama", help="pull, list and check models on an Ollama server", description=None
    )
    ollama.add_argument("--host", help="the Ollama server (default: OLLAMA_HOST or local)")
    ollama_sub = ollama.add_subparsers(dest="ollama_command", required=True, metavar="ACTION")
    pull = ollama_sub.add_parser("pull", help="pull a model, with a progress bar")
    pull.add_argument("model", help="e.g. llama3.2 or SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M")
    ollama_sub.add_parser("list", help="list the pulled models")
    health = ollama_sub.add_parser("health", help="is Ollama up and the model pulled?")
    health.add_argument("model", help="the model to check")

    from polyvox.cli.costs import add_costs_parser

    add_costs_parser(sub)

    emulate = sub.add_parser(
        "emulate",
        help="run the provider emulator in the foreground",
        description="Runs the polyvox provider emulator (OpenAI protocol at /v1) until stopped.",
    )
    emulate.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    emulate.add_argument("--port", type=int, default=8765, help="port (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``polyvox`` command.

    Args:
        argv: The arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from polyvox.cli.demo import run_demo

        return run_demo(model=args.model, base_url=args.base_url, force_emulator=args.emulator)
    if args.command == "ollama":
        from polyvox.cli import ollama as commands

        if args.ollama_command == "pull":
            return commands.run_pull(args.model, args.host)
        if args.ollama_command == "list":
            return commands.run_list(args.host)
        return commands.run_health(args.model, args.host)
    if args.command == "costs":
        from polyvox.cli.costs import run_costs

        return run_costs(args)
    if args.command == "emulate":
        from polyvox.testing.emulator import serve

        try:
            serve(host=args.host, port=args.port)
        except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after a graceful shutdown
            print("polyvox emulator stopped", file=sys.stderr)
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
