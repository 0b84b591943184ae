"""Order statistics of timing samples: median, p90 and a confidence interval for the median.

Timings are skewed (a GC pause, a scheduler hiccup), so everything here is built on
order statistics, never on the mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Summary", "diff_ci_halfwidth", "percentile"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted values, interpolated linearly.

    Args:
        ordered: The values, sorted ascending (at least one).
        q: The percentile, 0 to 100.

    Returns:
        The percentile (numpy's default "linear" method).
    """
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True, slots=True)
class Summary:
    """Order statistics of one set of samples (in whatever unit they were given)."""

    n: int
    median: float
    p10: float
    p90: float
    minimum: float
    ci_low: float
    """Lower end of the distribution-free ~95% confidence interval of the median."""
    ci_high: float
    """Upper end of that interval."""

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        """Summarise samples.

        Args:
            values: The samples (any order, at least one).

        Returns:
            Their summary.
        """
        ordered = sorted(values)
        n = len(ordered)
        # Ranks n/2 -+ 1.96 * sqrt(n)/2 bound the median with ~95% confidence whatever
        # the distribution (binomial order-statistic interval, normal approximation).
        half = 1.96 * math.sqrt(n) / 2
        low = max(0, math.floor(n / 2 - half))
        high = min(n - 1, math.ceil(n / 2 + half) - 1)
        return cls(
            n=n,
            median=percentile(ordered, 50),
            p10=percentile(ordered, 10),
            p90=percentile(ordered, 90),
            minimum=ordered[0],
            ci_low=ordered[low],
            ci_high=ordered[high],
        )

    @property
    def ci_halfwidth(self) -> float:
        """Half the width of the median's confidence interval."""
        return (self.ci_high - self.ci_low) / 2


def diff_ci_halfwidth(a: Summary, b: Summary) -> float:
    """Approximate ~95% half-width of ``a.median - b.median`` for independent samples.

    Args:
        a: One summary.
        b: The other.

    Returns:
        The half-widths of the two medians combined in quadrature.
    """
    return math.hypot(a.ci_halfwidth, b.ci_halfwidth)
