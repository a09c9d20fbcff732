"""Lineage-based reuse: full, partial and function-level, with a cost-based cache (LIMA, issue 4).

Modules: :mod:`.config` (policies and settings), :mod:`.cache` (the tiers, placeholders, eviction),
:mod:`.eviction` (scores), :mod:`.spill` (local disk), :mod:`.rewrites` (partial reuse),
:mod:`.executor` (the dispatcher hook), :mod:`.multilevel` (``@mc.step`` reuse), :mod:`.persistent`
(the persistent-tier protocol and codec), :mod:`.stats` (counters and the event log), :mod:`.api`.
"""

from __future__ import annotations

from .api import get_cache, reuse, reuse_clear, reuse_config, reuse_events, reuse_stats, set_tier_factory
from .cache import LineageCache
from .config import EVICTIONS, POLICIES, ReuseConfig
from .persistent import PersistentTier
from .stats import Event, ReuseStats

__all__ = [
    "EVICTIONS",
    "POLICIES",
    "Event",
    "LineageCache",
    "PersistentTier",
    "ReuseConfig",
    "ReuseStats",
    "get_cache",
    "reuse",
    "reuse_clear",
    "reuse_config",
    "reuse_events",
    "reuse_stats",
    "set_tier_factory",
]
