"""The registry of benchmarks: family modules add to it with :func:`register`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.harness.context import Context
    from benchmarks.harness.report import Section

__all__ = ["Benchmark", "register", "registered", "select"]

Runner = Callable[["Context"], "Section"]


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One registered benchmark."""

    name: str
    """Dotted name, ``<family>.<what>`` (``openai.invoke``); ``--only`` matches it."""
    title: str
    """One line saying what it compares."""
    run: Runner
    """Measures and returns the section to print."""
    network: bool
    """Whether it talks to the emulator (the runner then starts one for the run)."""
    order: int
    """Where it runs and prints: lowest first, then in registration order."""

    @property
    def family(self) -> str:
        """The part of the name before the first dot."""
        return self.name.split(".", 1)[0]


_REGISTRY: dict[str, Benchmark] = {}


def register(
    name: str, title: str, *, network: bool = False, order: int = 100
) -> Callable[[Runner], Runner]:
    """Register the decorated function as a benchmark.

    Args:
        name: Dotted name, ``<family>.<what>``.
        title: One line saying what it compares.
        network: Whether it needs the emulator.
        order: Where it runs and prints (lowest first; ties in registration order).

    Returns:
        The decorator (it returns the function unchanged).
    """

    def decorate(run: Runner) -> Runner:
        if name in _REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        _REGISTRY[name] = Benchmark(name, title, run, network, order)
        return run

    return decorate


def registered() -> list[Benchmark]:
    """Every registered benchmark, by ``order`` then registration order."""
    return sorted(_REGISTRY.values(), key=lambda b: b.order)


def select(only: Sequence[str]) -> list[Benchmark]:
    """The benchmarks ``--only`` names: exact names or families (``openai``).

    Args:
        only: Names or family names; empty selects everything.

    Returns:
        The selected benchmarks, in running order.

    Raises:
        ValueError: For a name that matches nothing.
    """
    if not only:
        return registered()
    for want in only:
        if not any(b.name == want or b.family == want for b in _REGISTRY.values()):
            known = ", ".join(sorted({*_REGISTRY, *(b.family for b in _REGISTRY.values())}))
            raise ValueError(f"no benchmark or family named {want!r}; known: {known}")
    return [b for b in registered() if b.name in only or b.family in only]
