"""Fine-grained lineage: items, the lineage log, loop/function deduplication, recompute.

This layer knows nothing of NumPy's dispatch or of the store: :mod:`mlcontext.ops` makes items while
traced code runs and registers the operations recompute may execute.
"""

from __future__ import annotations

from .dedup import dedup_enabled, no_dedup, set_dedup
from .item import Item, walk
from .log import dumps, loads
from .patch import Patch
from .recompute import Resolver, recompute
from .step import StepInfo, step

__all__ = [
    "Item",
    "Patch",
    "Resolver",
    "StepInfo",
    "dedup_enabled",
    "dumps",
    "loads",
    "no_dedup",
    "recompute",
    "set_dedup",
    "step",
    "walk",
]
