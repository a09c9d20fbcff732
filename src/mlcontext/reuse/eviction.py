"""Eviction scores: the entry with the lowest score leaves memory first (LIMA §5.3).

* ``cost_size`` — compute time per byte, raised by hits: cheap-to-recompute, large, never-reused
  values go first. Ties go to the least recently used.
* ``lru`` — least recently used first.
* ``dag_height`` — the deepest intermediates first: values close to the leaves (a centred matrix, a
  Gram matrix) are the ones later computations keep coming back to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["SCORES", "score_function"]


def _cost_size(e: Any) -> tuple:
    return ((e.cost * (1 + e.hits)) / max(e.size, 1), e.last)


def _lru(e: Any) -> tuple:
    return (e.last,)


def _dag_height(e: Any) -> tuple:
    return (-e.height, e.last)


SCORES: dict[str, Callable[[Any], tuple]] = {
    "cost_size": _cost_size,
    "lru": _lru,
    "dag_height": _dag_height,
}


def score_function(name: str) -> Callable[[Any], tuple]:
    """The score of an entry under eviction policy ``name`` (lower leaves first)."""
    return SCORES[name]
