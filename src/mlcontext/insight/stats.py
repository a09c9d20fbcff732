"""Small statistical tests used by drift detection, in NumPy alone (SciPy is not a dependency).

The tests in ``tests/insight/test_stats.py`` check them against SciPy where it is installed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ks_2samp", "ks_p_value", "chi2_sf", "chi2_contingency", "wasserstein_1d", "ks_and_wasserstein",
           "psi", "EXACT_KS_MAX"]

_EPS = 1e-6

#: Largest ``n * m`` whose KS p-value is computed exactly (the time grows with ``n * m``: about 15 ms
#: at a million, ``docs/drift.md``); larger samples get the asymptotic distribution.
EXACT_KS_MAX = 1_000_000


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic and p-value (two-sided; see :func:`ks_p_value`)."""
    a, b = np.sort(a), np.sort(b)
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return math.nan, math.nan
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / n
    cdf_b = np.searchsorted(b, both, side="right") / m
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    return d, ks_p_value(d, n, m)


def ks_p_value(d: float, n: int, m: int) -> float:
    """P(D >= d) for two samples of ``n`` and ``m`` values of one continuous distribution (two-sided).

    Exact (:func:`_ks_exact_sf`) when ``n * m <= EXACT_KS_MAX``; beyond, the asymptotic Kolmogorov
    distribution with Stephens' small-sample correction, as in Numerical Recipes. Ties (discrete
    values) make either conservative."""
    if n * m <= EXACT_KS_MAX:
        return _ks_exact_sf(n, m, d)
    ne = n * m / (n + m)
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d  # Stephens (1970)
    return _kolmogorov_sf(lam)


_BIG = 1e200  # a scale of path counts is renormalised when its largest count passes this,
_SPLIT = 1e-250  # ... split in two when its smallest is this far below its largest,
_CUT = 1e-120  # ... the counts below this ratio of the largest taking a scale of their own


def _ks_exact_sf(n: int, m: int, d: float) -> float:
    """Exact two-sided two-sample KS p-value: the share of the ``C(n + m, n)`` equally likely orders
    of the pooled values whose path from (0, 0) to (n, m) (a step right per value of the first sample,
    up per value of the second) reaches ``|i/n - j/m| >= d`` somewhere (Hodges 1958).

    The statistic is put on the lattice first: ``|i/n - j/m| = |i·m/g - j·n/g| / lcm`` with ``g`` the
    gcd, so ``h = round(d · lcm)`` is a whole number and a point is inside when
    ``|i·m/g - j·n/g| < h``: no floating-point tolerance decides a point on the boundary (SciPy rounds
    the same way). Column by column over the smaller sample (``min(n, m) + 1`` steps, each a vectorised
    cumulative sum: the paths inside reaching ``(i, j)`` are those reaching ``(i - 1, j')`` for ``j' <=
    j``), the p-value is the sum over the points where paths first leave the band of (paths reaching it
    from inside) × (ways on to (n, m)) / ``C(n + m, n)``, taken in logarithms: a sum of positive terms,
    exact to rounding even for p of 1e-200 (``1 - P(inside)`` would cancel). Path counts overflow
    a double (``C(2000, 1000)`` is 1e600), so a column holds them as blocks, each with its own scale
    (a logarithm); one block suffices unless the band is very wide.
    """
    if n > m:
        n, m = m, n
    g = math.gcd(n, m)
    mg, ng = m // g, n // g
    h = int(round(d * n * mg))
    if h <= 0:
        return 1.0
    column = np.arange(n + 1)
    lows = np.maximum((column * mg - h) // ng + 1, 0).tolist()  # the band, column by column
    highs = np.minimum(-((-(column * mg + h)) // ng) - 1, m).tolist()
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + m + 1)))])
    log_total = float(log_fact[n + m] - log_fact[n] - log_fact[m])

    def leaving(i: int, j0: int, j1: int, log_counts: Any) -> float:
        """Probability of the paths counted (in logarithms) entering (i, j0..j1-1) from inside."""
        if j1 - j0 == 1:  # (most columns: one point, in scalars, several times faster than in arrays)
            first = log_counts if isinstance(log_counts, float) else log_counts[0]
            return math.exp(first + log_fact[n - i + m - j0] - log_fact[m - j0]
                            - log_fact[n - i] - log_total)
        rest = log_fact[n - i + m - j1 + 1:n - i + m - j0 + 1][::-1] - log_fact[m - j1 + 1:m - j0 + 1][::-1]
        return float(np.exp(log_counts + rest - log_fact[n - i] - log_total).sum())

    counts = np.zeros(m + 1)
    lo, hi = lows[0], highs[0]
    counts[lo:hi + 1] = 1.0
    blocks = _Blocks(counts, [lo], [0.0])
    exits = leaving(0, hi + 1, hi + 2, 0.0) if hi < m else 0.0
    with np.errstate(divide="ignore"):  # (a count that underflowed is log 0: it adds nothing)
        for i in range(1, n + 1):
            lo_p, hi_p = lo, hi
            lo, hi = lows[i], highs[i]
            if lo > hi_p:
                return 1.0  # every path has left the band
            if lo > lo_p:  # paths stepping right from below the new band leave it
                stop = min(lo, hi_p + 1)
                one = len(blocks.starts) == 1
                spans = [(lo_p, stop, blocks.scales[0])] if one else blocks.spans(lo_p, stop)
                exits += math.fsum(leaving(i, a, b, np.log(counts[a:b]) + scale) for a, b, scale in spans)
                blocks.drop_below(lo)
            blocks.cumsum(hi)
            if hi < m:  # paths stepping up from the band's top leave it
                exits += leaving(i, hi + 1, hi + 2, math.log(counts[hi]) + blocks.scales[-1])
            blocks.rescale(hi)
    return min(1.0, max(0.0, exits))


class _Blocks:
    """A column of path counts too far apart for one scale, as consecutive blocks: ``values[j] *
    exp(scales[k])`` for ``starts[k] <= j < starts[k + 1]`` (the last block ends at the band's top).
    Counts rise along a column (each is a cumulative sum), so a block's first value is its smallest
    and its last its largest."""

    def __init__(self, values: np.ndarray, starts: list[int], scales: list[float]) -> None:
        self.values, self.starts, self.scales = values, starts, scales

    def _end(self, k: int, top: int) -> int:
        return self.starts[k + 1] if k + 1 < len(self.starts) else top + 1

    def spans(self, a: int, b: int) -> list[tuple[int, int, float]]:
        """``(start, end, scale)`` of the blocks' parts within ``[a, b)``."""
        return [(max(a, s), min(b, self._end(k, b - 1)), self.scales[k]) for k, s in enumerate(self.starts)
                if max(a, s) < min(b, self._end(k, b - 1))]

    def drop_below(self, lo: int) -> None:
        self.values[:lo] = 0.0
        while len(self.starts) > 1 and self.starts[1] <= lo:
            del self.starts[0], self.scales[0]
        self.starts[0] = max(self.starts[0], lo)

    def cumsum(self, top: int) -> None:
        """The next column: the cumulative sum up to ``top``, each block's total carried into the next."""
        carry, carry_scale = 0.0, 0.0
        for k, start in enumerate(self.starts):
            part = self.values[start:self._end(k, top)]
            np.cumsum(part, out=part)
            if carry > 0:  # (below the next block's precision, the carry underflows to nothing)
                part += carry * math.exp(carry_scale - self.scales[k])
            carry, carry_scale = part[-1], self.scales[k]

    def rescale(self, top: int) -> None:
        for k in range(len(self.starts) - 1, -1, -1):
            part = self.values[self.starts[k]:self._end(k, top)]
            largest = part[-1]
            if largest > _BIG:
                part /= largest
                self.scales[k] += math.log(largest)
                largest = 1.0
            if 0 < part[0] < largest * _SPLIT:
                cut = int(np.searchsorted(part, largest * _CUT))
                low = part[:cut]
                peak = low[-1]
                low /= peak
                self.starts.insert(k + 1, self.starts[k] + cut)
                self.scales.insert(k, self.scales[k] + math.log(peak))


def _kolmogorov_sf(lam: float) -> float:
    """Survival function of the Kolmogorov distribution. Below 1.18 by its theta-function form
    (Numerical Recipes, 3rd ed., §6.14): the alternating series ``2 Σ (-1)^(k-1) exp(-2k²λ²)``
    converges too slowly there (its terms are all near 1 for small λ, and 100 of them gave p = 0.17
    for a statistic near 0, where p is 1: a newcomer's finding)."""
    if lam < 1.18:
        if lam <= 0.0:
            return 1.0
        y = math.exp(-math.pi * math.pi / (8.0 * lam * lam))
        cdf = math.sqrt(2.0 * math.pi) / lam * (y + y ** 9 + y ** 25 + y ** 49)
        return float(min(1.0, max(0.0, 1.0 - cdf)))
    total, sign = 0.0, 1.0
    for k in range(1, 101):
        term = sign * math.exp(-2.0 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
        sign = -sign
    return float(min(1.0, max(0.0, 2.0 * total)))


def chi2_sf(x: float, dof: int) -> float:
    """Survival function of the chi-squared distribution (upper regularised incomplete gamma)."""
    if dof <= 0 or x < 0 or math.isnan(x):
        return math.nan
    return _gammaincc(dof / 2.0, x / 2.0)


def _gammaincc(a: float, x: float) -> float:
    if x == 0:
        return 1.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:  # series for the lower function converges fast here
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefactor))
    # Lentz's continued fraction for the upper function.
    b = x + 1.0 - a
    c = 1.0 / 1e-300
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(log_prefactor) * h)


def chi2_contingency(counts_a: np.ndarray, counts_b: np.ndarray) -> tuple[float, float]:
    """Chi-squared test of homogeneity of two count vectors over the same categories."""
    table = np.vstack([counts_a, counts_b]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, chi2_sf(stat, table.shape[1] - 1)


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance between two empirical distributions on the line."""
    a, b = np.sort(a), np.sort(b)
    if a.size == 0 or b.size == 0:
        return math.nan
    both = np.sort(np.concatenate([a, b]))
    widths = np.diff(both)
    cdf_a = np.searchsorted(a, both[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, both[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def ks_and_wasserstein(a: np.ndarray, b: np.ndarray, *, p_value: bool = True) -> tuple[float, float, float]:
    """``(KS statistic, KS p-value, Wasserstein distance)`` from one sort of each sample and one of both
    (the p-value NaN when ``p_value`` is false: a column tested another way needs only the statistic).

    ``±inf`` are values like any other in the KS statistic (the lowest and the highest there are: a
    column where 30 % of the values became ``+inf`` has a gap of 0.3 between its CDFs); the Wasserstein
    distance is that of the finite values alone, since any change in how much mass sits at an infinity
    makes it infinite and says nothing more (``docs/drift.md``). NaN is not a value: drop it first."""
    a, b = np.sort(a), np.sort(b)
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return math.nan, math.nan, math.nan
    both = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(a, both, side="right") / n
    cdf_b = np.searchsorted(b, both, side="right") / m
    gap = np.abs(cdf_a - cdf_b)
    d = float(np.max(gap))
    if np.isfinite(both[0]) and np.isfinite(both[-1]):
        w = float(np.sum(gap[:-1] * np.diff(both)))
    else:  # (inf - inf is NaN, and 0 * inf too: one infinity made the whole sum NaN)
        w = wasserstein_1d(a[np.isfinite(a)], b[np.isfinite(b)])
    return d, ks_p_value(d, n, m) if p_value else math.nan, w


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins (counts or fractions)."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e = np.clip(e / max(e.sum(), _EPS), _EPS, None)
    a = np.clip(a / max(a.sum(), _EPS), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))
