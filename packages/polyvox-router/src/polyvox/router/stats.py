"""What the router has measured: calls, failures, latency, time to first token and cost.

:class:`RouterStats` keeps one set of counters per deployment (and per agent and
deployment when calls name an agent). Recording a call costs the same whatever has been
recorded before: counters are added to, the latency and time-to-first-token averages are
exponentially weighted moving averages (EWMA), and the latency percentiles come from a
sliding window of the most recent successful calls (a bounded reservoir), sorted only
when a snapshot is read.

Strategies read the hot-path figures (:meth:`RouterStats.latency`,
:meth:`RouterStats.success_rate`, ...) without taking the lock: each is a single read of
a value that :meth:`RouterStats.record` replaces whole. Snapshots
(:meth:`RouterStats.get`, :meth:`RouterStats.by_deployment`) take the lock and are
consistent.

Per-agent statistics are bounded: agent ids come from callers (one per user or session
is common), so only the ``max_agents`` most recently active agents are kept (1000 by
default); recording a call for one more agent forgets the least recently active one. The
per-deployment figures are not affected.

Latency averages and percentiles count successful calls only: a call that failed says
how fast the provider refused, not how fast it answers. Failures count against the
success rate instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polyvox.router.token_rates import COUNTS, TokenRates, Tokens

__all__ = ["DeploymentStats", "RouterStats"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class DeploymentStats:
    """A snapshot of one deployment's counters (for one agent, or all)."""

    calls: int = 0
    """Calls recorded (successes plus failures)."""

    successes: int = 0
    """Calls that returned an answer."""

    failures: int = 0
    """Calls that raised."""

    success_rate: float | None = None
    """``successes / calls``; ``None`` before the first call."""

    latency_ewma_s: float | None = None
    """Moving average of successful calls' latency, in seconds; ``None`` until measured."""

    ttft_ewma_s: float | None = None
    """Moving average of time to first token (streamed calls), in seconds."""

    latency_p50_s: float | None = None
    """Median latency of the recent successful calls (the sliding window)."""

    latency_p95_s: float | None = None
    """95th-percentile latency of the recent successful calls."""

    total_cost_usd: Decimal = _ZERO
    """Cost of every call that reported one, in USD."""

    input_tokens: int = 0
    """Input tokens of every call."""

    output_tokens: int = 0
    """Output tokens of every call."""

    last_error: str | None = None
    """The most recent failure's description (``None`` when none failed)."""

    @property
    def error_rate(self) -> float | None:
        """``failures / calls``; ``None`` before the first call."""
        return None if self.success_rate is None else 1.0 - self.success_rate

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as plain JSON-ready data (the cost as a string, to keep it exact).

        Returns:
            Field name → value.
        """
        return {
            "calls": self.calls,
            "successes": self.successes,
            "failures": self.failures,
            "success_rate": self.success_rate,
            "latency_ewma_s": self.latency_ewma_s,
            "ttft_ewma_s": self.ttft_ewma_s,
            "latency_p50_s": self.latency_p50_s,
            "latency_p95_s": self.latency_p95_s,
            "total_cost_usd": str(self.total_cost_usd),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "last_error": self.last_error,
        }


EMPTY_STATS = DeploymentStats()
"""The snapshot of a deployment nothing has been recorded for."""


class _Cell:
    """One deployment's (or one agent's deployment's) mutable counters, under the lock."""

    __slots__ = (
        "calls",
        "cost",
        "cost_calls",
        "cost_float",
        "failures",
        "input_tokens",
        "last_error",
        "latency",
        "output_tokens",
        "priced",
        "rates",
        "streak",
        "success_rate",
        "successes",
        "ttft",
        "window",
    )

    def __init__(self, window: int) -> None:
        self.streak = 0  # failures since the last success
        self.calls = 0
        self.successes = 0
        self.failures = 0
        # Kept apart from the counters so readers get it in one read, never a torn ratio.
        self.success_rate: float | None = None
        self.latency: float | None = None
        self.ttft: float | None = None
        self.window: deque[float] = deque(maxlen=window)
        self.cost = _ZERO
        self.cost_float = 0.0
        self.cost_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.last_error: str | None = None
        # Calls priced at ``rates``: their tokens summed, priced when a snapshot is read.
        self.priced: list[int] = [0] * COUNTS
        self.rates: TokenRates | None = None

    def _settle(self) -> None:
        """Price the summed tokens into :attr:`cost` (before the rates change)."""
        if self.rates is not None:
            self.cost += self.rates.price(tuple(self.priced))  # type: ignore[arg-type]
            self.priced = [0] * COUNTS
            self.rates = None

    def total_cost(self) -> Decimal:
        """The exact cost of every call that reported one."""
        if self.rates is None:
            return self.cost
        return self.cost + self.rates.price(tuple(self.priced))  # type: ignore[arg-type]

    def add(
        self,
        ok: bool,
        latency_s: float,
        ttft_s: float | None,
        cost_usd: Decimal | None,
        input_tokens: int,
        output_tokens: int,
        error: str | None,
        alpha: float,
        unhealthy: bool,
        tokens: Tokens | None,
        rates: TokenRates | None,
        approx_cost: float,
    ) -> None:
        """Count one call (``tokens`` at ``rates`` is its cost when given, else ``cost_usd``)."""
        self.calls += 1
        if ok:
            self.streak = 0
        elif unhealthy:
            self.streak += 1
        if ok:
            self.successes += 1
            old = self.latency
            self.latency = latency_s if old is None else old + alpha * (latency_s - old)
            self.window.append(latency_s)
            if ttft_s is not None:
                old = self.ttft
                self.ttft = ttft_s if old is None else old + alpha * (ttft_s - old)
        else:
            self.failures += 1
            self.last_error = error
        self.success_rate = self.successes / self.calls
        if cost_usd is not None:
            self.cost += cost_usd
            self.cost_float += float(cost_usd)
            self.cost_calls += 1
        elif tokens is not None:
            if rates is not self.rates:
                self._settle()
                self.rates = rates
            priced = self.priced
            priced[0] += tokens[0]
            priced[1] += tokens[1]
            priced[2] += tokens[2]
            priced[3] += tokens[3]
            priced[4] += tokens[4]
            priced[5] += tokens[5]
            self.cost_float += approx_cost
            self.cost_calls += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens

    def snapshot(self) -> DeploymentStats:
        p50 = p95 = None
        if self.window:
            ordered = sorted(self.window)
            p50 = _percentile(ordered, 0.50)
            p95 = _percentile(ordered, 0.95)
        return DeploymentStats(
            calls=self.calls,
            successes=self.successes,
            failures=self.failures,
            success_rate=self.success_rate,
            latency_ewma_s=self.latency,
            ttft_ewma_s=self.ttft,
            latency_p50_s=p50,
            latency_p95_s=p95,
            total_cost_usd=self.total_cost(),
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            last_error=self.last_error,
        )


def _percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of sorted values, interpolated linearly."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class RouterStats:
    """Per-deployment and per-agent call statistics of one router; thread-safe.

    Example:
        .. code-block:: python

            stats = RouterStats()
            stats.record("gpt-4o-mini", ok=True, latency_s=0.41, cost_usd=Decimal("0.0003"))
            stats.latency("gpt-4o-mini")  # 0.41
            stats.get("gpt-4o-mini").success_rate  # 1.0
    """

    def __init__(
        self, *, ewma_alpha: float = 0.2, window: int = 256, max_agents: int = 1000
    ) -> None:
        """Create empty statistics.

        Args:
            ewma_alpha: Weight of the newest sample in the latency and time-to-first-token
                moving averages, in (0, 1]: higher follows changes faster, lower is smoother.
            window: How many recent successful latencies the percentiles are taken over.
            max_agents: How many agents :meth:`by_agent` keeps statistics for: the most
                recently active ones (0 keeps none).

        Raises:
            ValueError: For an ``ewma_alpha`` outside (0, 1], a ``window`` below 1 or a
                negative ``max_agents``.
        """
        if not 0.0 < ewma_alpha <= 1.0:
            raise ValueError(f"ewma_alpha must be in (0, 1], got {ewma_alpha}")
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if max_agents < 0:
            raise ValueError(f"max_agents must be >= 0, got {max_agents}")
        self.ewma_alpha = ewma_alpha
        """Weight of the newest sample in the moving averages."""
        self.window = window
        """How many recent latencies the percentiles are taken over."""
        self.max_agents = max_agents
        """How many agents (the most recently active) per-agent statistics are kept for."""
        self._lock = threading.Lock()
        self._cells: dict[str, _Cell] = {}
        self._agents: OrderedDict[str, dict[str, _Cell]] = OrderedDict()
        self._pending: dict[str, int] = {}
        self._total = 0

    def __getstate__(self) -> dict[str, Any]:
        """The settings, for pickling: an unpickled copy starts with empty statistics."""
        return {"ewma_alpha": self.ewma_alpha, "window": self.window, "max_agents": self.max_agents}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def record(
        self,
        deployment: str,
        *,
        ok: bool,
        latency_s: float,
        ttft_s: float | None = None,
        cost_usd: Decimal | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        agent: str | None = None,
        error: str | None = None,
        unhealthy: bool = True,
        tokens: Tokens | None = None,
        rates: TokenRates | None = None,
    ) -> None:
        """Record one call's outcome.

        Args:
            deployment: The deployment's name.
            ok: Whether it returned an answer.
            latency_s: Its duration in seconds (counted in the latency figures only when
                ``ok``).
            ttft_s: Time to the first streamed token, in seconds, for streamed calls.
            cost_usd: What it cost in USD, when known.
            input_tokens: Input tokens it used.
            output_tokens: Output tokens it produced.
            agent: The agent it is attributed to (adds to :meth:`by_agent` as well, which
                keeps the ``max_agents`` most recently active agents).
            error: A description of the failure (kept as ``last_error``).
            unhealthy: For a failure: whether it says the deployment is unhealthy (a rate
                limit, a server error, a timeout, a connection failure...), which puts it on
                probation (:meth:`failing`); a rejected request or a programming error does
                not.
            tokens: The call's ``(input, cache_read, cache_write, output, reasoning)``
                tokens, priced at ``rates`` when both are given and ``cost_usd`` is not.
            rates: The deployment's per-token rates (a price without tiers).

        Raises:
            ValueError: For a negative latency, time to first token or token count, or
                ``tokens`` that contradict each other.
        """
        if latency_s < 0 or (ttft_s is not None and ttft_s < 0):
            raise ValueError("latency_s and ttft_s must be >= 0")
        if input_tokens < 0 or output_tokens < 0:
            raise ValueError("token counts must be >= 0")
        if tokens is not None and (
            min(tokens) < 0
            or tokens[1] + tokens[2] > tokens[0]
            or tokens[4] > tokens[3]
            or tokens[5] > tokens[2]
        ):
            msg = (
                f"tokens {tokens} are not (input, cache_read, cache_write, output, reasoning, "
                "cache_write_1h) with the cached tokens inside input, the 1-hour writes inside "
                "cache_write and reasoning inside output"
            )
            raise ValueError(msg)
        approx = 0.0
        if tokens is not None and rates is not None and cost_usd is None:
            approx = rates.approx_price(tokens)
        else:
            tokens = None
        args = (ok, latency_s, ttft_s, cost_usd, input_tokens, output_tokens, error)
        more = (self.ewma_alpha, unhealthy, tokens, rates, approx)
        with self._lock:
            pending = self._pending.get(deployment)
            if pending:  # the call started with started() has ended
                self._pending[deployment] = pending - 1
            cell = self._cells.get(deployment)
            if cell is None:
                cell = self._cells[deployment] = _Cell(self.window)
            cell.add(*args, *more)
            if agent is not None and self.max_agents:
                agents = self._agents
                cells = agents.get(agent)
                if cells is None:
                    cells = agents[agent] = {}
                    if len(agents) > self.max_agents:
                        agents.popitem(last=False)  # the least recently active agent
                else:
                    agents.move_to_end(agent)
                agent_cell = cells.get(deployment)
                if agent_cell is None:
                    agent_cell = cells[deployment] = _Cell(self.window)
                agent_cell.add(*args, *more)
            self._total += 1

    # -- hot-path reads (no lock: each reads one value record() replaces whole) ----------

    def latency(self, deployment: str) -> float | None:
        """Moving average of the deployment's successful calls' latency, in seconds.

        Args:
            deployment: The deployment's name.

        Returns:
            The average, or ``None`` before its first successful call.
        """
        cell = self._cells.get(deployment)
        return None if cell is None else cell.latency

    def ttft(self, deployment: str) -> float | None:
        """Moving average of the deployment's time to first token, in seconds.

        Args:
            deployment: The deployment's name.

        Returns:
            The average, or ``None`` before its first streamed success.
        """
        cell = self._cells.get(deployment)
        return None if cell is None else cell.ttft

    def success_rate(self, deployment: str) -> float | None:
        """The share of the deployment's calls that succeeded.

        Args:
            deployment: The deployment's name.

        Returns:
            The rate in [0, 1], or ``None`` before its first call.
        """
        cell = self._cells.get(deployment)
        return None if cell is None else cell.success_rate

    def failing(self, deployment: str) -> int:
        """Unhealthy failures of the deployment since its last success (0 once it answers).

        Args:
            deployment: The deployment's name.

        Returns:
            The count (0 before its first call).
        """
        cell = self._cells.get(deployment)
        return 0 if cell is None else cell.streak

    def started(self, deployment: str) -> None:
        """Note a call to the deployment under way (ended by :meth:`record` or :meth:`ended`).

        Strategies that learn from counts (the bandit) read :meth:`pulls`, so concurrent
        requests on a fresh router spread across deployments instead of all taking the
        one that looked best before any of them finished.

        Args:
            deployment: The deployment's name.
        """
        with self._lock:
            self._pending[deployment] = self._pending.get(deployment, 0) + 1

    def start_within(self, deployment: str, limit: int) -> bool:
        """Count a call as started if fewer than ``limit`` are in flight (atomically).

        Args:
            deployment: The deployment's name.
            limit: Most calls in flight.

        Returns:
            Whether the call was counted (``False``: the deployment is at its limit).
        """
        with self._lock:
            busy = self._pending.get(deployment, 0)
            if busy >= limit:
                return False
            self._pending[deployment] = busy + 1
            return True

    def ended(self, deployment: str) -> None:
        """Note that a started call ended without a recorded outcome (it was cancelled).

        Args:
            deployment: The deployment's name.
        """
        with self._lock:
            pending = self._pending.get(deployment)
            if pending:
                self._pending[deployment] = pending - 1

    def in_flight(self, deployment: str) -> int:
        """Calls to the deployment started and not yet recorded.

        Args:
            deployment: The deployment's name.

        Returns:
            The count (0 when none).
        """
        return self._pending.get(deployment, 0)

    def pulls(self, deployment: str) -> int:
        """Recorded calls plus calls under way: how often the deployment was chosen.

        Args:
            deployment: The deployment's name.

        Returns:
            The count.
        """
        cell = self._cells.get(deployment)
        return (0 if cell is None else cell.calls) + self._pending.get(deployment, 0)

    def calls(self, deployment: str) -> int:
        """How many calls were recorded for the deployment.

        Args:
            deployment: The deployment's name.

        Returns:
            The count (0 when none).
        """
        cell = self._cells.get(deployment)
        return 0 if cell is None else cell.calls

    def mean_cost(self, deployment: str) -> float | None:
        """The deployment's average cost per call that reported one, in USD (a float).

        Args:
            deployment: The deployment's name.

        Returns:
            The average, or ``None`` when no call reported a cost.
        """
        cell = self._cells.get(deployment)
        if cell is None or not cell.cost_calls:
            return None
        return cell.cost_float / cell.cost_calls

    def total_calls(self) -> int:
        """Calls recorded for every deployment together."""
        return self._total

    # -- snapshots ------------------------------------------------------------------------

    def get(self, deployment: str) -> DeploymentStats:
        """A snapshot of one deployment's statistics.

        Args:
            deployment: The deployment's name.

        Returns:
            The snapshot (all zeros for a deployment never recorded).
        """
        with self._lock:
            cell = self._cells.get(deployment)
            return EMPTY_STATS if cell is None else cell.snapshot()

    def by_deployment(self) -> dict[str, DeploymentStats]:
        """A snapshot of every recorded deployment's statistics.

        Returns:
            Deployment name → snapshot, in the order deployments were first recorded.
        """
        with self._lock:
            return {name: cell.snapshot() for name, cell in self._cells.items()}

    def by_agent(self) -> dict[str, dict[str, DeploymentStats]]:
        """A snapshot of the statistics of calls that named an agent.

        Only the ``max_agents`` most recently active agents are kept.

        Returns:
            Agent → deployment name → snapshot, least recently active agent first.
        """
        with self._lock:
            return {
                agent: {name: cell.snapshot() for name, cell in cells.items()}
                for agent, cells in self._agents.items()
            }

    def reset(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self._cells = {}
            self._agents = OrderedDict()
            self._pending = {}
            self._total = 0

    def __repr__(self) -> str:
        return f"RouterStats(deployments={len(self._cells)}, calls={self._total})"
