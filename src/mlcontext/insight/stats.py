"""Small statistical tests used by drift detection, in NumPy alone (SciPy is not a dependency).

The tests in ``tests/insight/test_stats.py`` check them against SciPy where it is installed.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ks_2samp", "chi2_sf", "chi2_contingency", "wasserstein_1d", "ks_and_wasserstein", "psi"]

_EPS = 1e-6


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic and asymptotic p-value."""
    a, b = np.sort(a), np.sort(b)
    n, m = a.size, b.size
    if n == 0 or m == 0:
        return math.nan, math.nan
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / n
    cdf_b = np.searchsorted(b, both, side="right") / m
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    ne = n * m / (n + m)
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d  # Stephens (1970), as in Numerical Recipes
    return d, _kolmogorov_sf(lam)


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


def ks_and_wasserstein(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``(KS statistic, KS p-value, Wasserstein distance)`` from one sort of each sample and one of both.

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
    ne = n * m / (n + m)
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d
    if np.isfinite(both[0]) and np.isfinite(both[-1]):
        w = float(np.sum(gap[:-1] * np.diff(both)))
    else:  # (inf - inf is NaN, and 0 * inf too: one infinity made the whole sum NaN)
        w = wasserstein_1d(a[np.isfinite(a)], b[np.isfinite(b)])
    return d, _kolmogorov_sf(lam), w


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins (counts or fractions)."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e = np.clip(e / max(e.sum(), _EPS), _EPS, None)
    a = np.clip(a / max(a.sum(), _EPS), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))
