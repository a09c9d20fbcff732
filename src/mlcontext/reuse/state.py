"""The reuse layer's process state, in one object (``STATE``) whose lifetime the runtime
(:mod:`mlcontext.runtime`) owns: reset to a fresh process's by ``mc._reset_state()``."""

from __future__ import annotations

from collections.abc import Callable

from .cache import LineageCache
from .config import ReuseConfig
from .persistent import PersistentTier
from .rewrites import STATE as REWRITES
from .rewrites import RewriteState

__all__ = ["ReuseState", "STATE"]


class ReuseState:
    """What the reuse layer keeps between calls.

    Attributes
    ----------
    cache : LineageCache
        The process-wide lineage cache (its settings are ``mc.reuse``'s); one object for the
        process: executors and step hooks hold it.
    rewrites : RewriteState
        What the partial-reuse rewrites noted of the program (stack layouts, prefix families).
    tier_factory : callable or None
        How ``mc.reuse(persist=True)`` finds a persistent tier (the tracking layer's default store's,
        wired by the runtime).
    warned : set of str
        The steps warned about (``StepSideEffectWarning``): once per step for the process.
    """

    __slots__ = ("cache", "rewrites", "tier_factory", "warned")
    #: Slots a reset keeps, resetting them in place: executors and step hooks hold the cache.
    KEPT = ("cache", "rewrites")

    def __init__(self) -> None:
        self.cache = LineageCache(ReuseConfig())
        self.rewrites: RewriteState = REWRITES
        self.tier_factory: Callable[[], PersistentTier] | None = None
        self.warned: set[str] = set()

    def clear(self, *, stats: bool = True) -> None:
        """Empty the in-memory and spill tiers and the rewrites' notes (``mc.reuse_clear()``)."""
        self.cache.clear()
        self.rewrites.clear()
        if stats:
            self.cache.counters.reset()

    def reset(self) -> None:
        """As a fresh process has it: an empty cache with the default settings, no persistent tier,
        no events recorded, nothing noted by the rewrites, no tier factory. (The executor and step
        hook the settings install are the ops and lineage layers' state: the runtime re-installs
        them.)"""
        self.clear()
        self.cache.attach_tier(None)
        self.cache.configure(ReuseConfig())
        self.cache.events.enabled = False
        self.cache.events.take()
        self.tier_factory = None
        self.warned = set()


STATE = ReuseState()
