"""The public face of reuse: ``mc.reuse(...)``, ``mc.reuse_stats()``, ``mc.reuse_events()``.

One process-wide :class:`~.cache.LineageCache` serves every thread. Reuse is on by default (policy
``hybrid``): importing mlcontext installs the executor in mlcontext's own dispatcher and the hook
around ``@mc.step`` calls; nothing outside mlcontext is patched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..checks import check_flag
from ..errors import ConfigError
from ..fingerprint import set_strict
from ..lineage.step import set_call_hook
from ..ops import dispatch as _dispatch
from .cache import LineageCache
from .config import ReuseConfig
from .executor import ReuseExecutor
from .multilevel import StepReuse
from .persistent import PersistentTier
from .state import STATE
from .stats import Event, ReuseStats

__all__ = ["reuse", "reuse_stats", "reuse_events", "reuse_clear", "reuse_config", "get_cache",
           "set_tier_factory"]

_lock = threading.RLock()


def set_tier_factory(factory: Callable[[], PersistentTier] | None) -> None:
    """How ``mc.reuse(persist=True)`` finds a persistent tier (the tracking layer registers the
    default store's)."""
    STATE.tier_factory = factory


def get_cache() -> LineageCache:
    """The process-wide lineage cache."""
    return STATE.cache


def reuse_config() -> ReuseConfig:
    """The active reuse settings."""
    return STATE.cache.config


def _install(config: ReuseConfig) -> None:
    exact = config.policy == "exact"  # (its own namespace of keys: see cache.EXACT_PREFIX)
    executor = ReuseExecutor(STATE.cache, config.partial, exact=exact) if config.full else None
    _dispatch.set_executor(executor)
    set_call_hook(StepReuse(STATE.cache, exact=exact) if config.multilevel else None)
    set_strict(config.strict)


class _Applied:
    """Returned by :func:`reuse`: the new config, and a context manager restoring the old one."""

    def __init__(self, config: ReuseConfig, previous: ReuseConfig, previous_tier: Any) -> None:
        self.config = config
        self._previous = previous
        self._previous_tier = previous_tier

    def __enter__(self) -> ReuseConfig:
        return self.config

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            STATE.cache.configure(self._previous)
            STATE.cache.attach_tier(self._previous_tier)
            _install(self._previous)

    def __repr__(self) -> str:
        return repr(self.config)


def reuse(policy: str | None = None, *, budget: int | None = None, eviction: str | None = None,
          spill: bool | None = None, spill_dir: str | None = None, persist: bool | None = None,
          tier: PersistentTier | None = None, min_compute_s: float | None = None,
          persist_min_s: float | None = None, disk_bytes_per_s: float | None = None,
          eager_s_per_byte: float | None = None, strict: bool | None = None) -> _Applied:
    """Set how traced computations are reused; usable as a context manager to restore the old setting.

    Parameters
    ----------
    policy : {"none", "full", "partial", "multilevel", "exact", "hybrid"}, optional
        ``"none"``, ``"full"`` (same lineage hash, same value), ``"partial"`` (full plus rewrites
        from cached pieces, equal to floating-point tolerance), ``"multilevel"`` (whole ``@mc.step``
        calls), ``"exact"`` (full and multilevel: every result bit-identical to a run without reuse)
        or ``"hybrid"`` (all; the default). Every argument left out keeps its current setting.
    budget : int, optional
        Bytes the in-memory cache may hold.
    eviction : {"cost_size", "lru", "dag_height"}, optional
        Which entry leaves memory first (default ``"cost_size"``).
    spill : bool, optional
        Whether evicted entries worth it go to a local folder.
    spill_dir : str, optional
        That folder (default: a temporary one).
    persist : bool, optional
        Write entries to a persistent tier shared by processes.
    tier : PersistentTier, optional
        That tier (default: the default store's).
    min_compute_s : float, optional
        Operations faster than this (seconds) are never cached.
    persist_min_s : float, optional
        Entries computed faster than this (seconds) are not persisted.
    disk_bytes_per_s : float, optional
        The disk speed assumed when weighing a read against a recompute (spill and persist).
    eager_s_per_byte : float, optional
        Values computing at least this many seconds per byte are cached when first computed; cheaper
        ones when their lineage hash is seen a second time (0: everything at once).
    strict : bool, optional
        When something that would be part of a key cannot be identified (a step or a function given
        to ``apply`` reads an open file, an argument without fingerprint), raise
        :class:`~mlcontext.errors.FingerprintError` naming it instead of warning once
        (:class:`~mlcontext.errors.UnidentifiedWarning`) and never reusing that call.

    Returns
    -------
    ReuseConfig-like context manager
        Holds the new settings (``.config``); leaving its ``with`` block restores the previous ones.

    Raises
    ------
    ConfigError
        An unknown policy or eviction, a negative budget or time, or ``persist=True`` without a
        tier.
    UsageError
        An argument of the wrong type (``budget="big"``).
    FingerprintError
        Later, at a call, under ``strict=True`` (see above).

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> X = mc.array(np.random.default_rng(0).random((200, 5)))
    >>> with mc.reuse("hybrid", min_compute_s=0):
    ...     a = X.T @ X
    ...     b = X.T @ X          # same lineage: served from the cache
    >>> bool(np.array_equal(a, b))
    True
    """
    with _lock:
        previous, previous_tier = STATE.cache.config, STATE.cache.tier
        config = previous.with_(policy=policy, budget=budget, eviction=eviction, spill=spill,
                                spill_dir=spill_dir, persist=persist, min_compute_s=min_compute_s,
                                persist_min_s=persist_min_s, disk_bytes_per_s=disk_bytes_per_s,
                                eager_s_per_byte=eager_s_per_byte, strict=strict)
        if config.persist and tier is None and STATE.cache.tier is None:
            if STATE.tier_factory is None:
                raise ConfigError("persist=True needs a persistent tier: pass tier=... or import "
                                  "mlcontext (whose tracking layer provides the default store's)")
            tier = STATE.tier_factory()
        if tier is not None:
            STATE.cache.attach_tier(tier)
        STATE.cache.configure(config)
        _install(config)
        return _Applied(config, previous, previous_tier)


def reuse_stats() -> ReuseStats:
    """Counters of the reuse layer since the process started (or :func:`reuse_clear`).

    Returns
    -------
    ReuseStats
        Hits, misses, partial hits, step hits, evictions, spills, bytes held and compute time saved.

    Examples
    --------
    >>> import mlcontext as mc
    >>> s = mc.reuse_stats()
    >>> s.hits >= 0 and s.saved_s >= 0
    True
    """
    return STATE.cache.stats()


def reuse_clear(*, stats: bool = True) -> None:
    """Empty the in-memory and spill tiers (the persistent tier stays), forget what the partial-reuse
    rewrites noted of the program (stack layouts, prefix families), and reset the counters.

    Parameters
    ----------
    stats : bool
        Also reset the counters of :func:`reuse_stats` (default ``True``).

    Raises
    ------
    UsageError
        ``stats`` is not a bool.

    Examples
    --------
    >>> import numpy as np
    >>> X = mc.array(np.ones((50, 50)))
    >>> with mc.reuse("full", min_compute_s=0, eager_s_per_byte=0):
    ...     _ = X @ X
    ...     mc.reuse_clear()
    ...     mc.reuse_stats().bytes
    0
    """
    check_flag(stats, "stats")
    STATE.clear(stats=stats)


@contextmanager
def reuse_events() -> Iterator[list[Event]]:
    """Record which operations and steps were computed or reused inside the block (with reuse on: under
    ``mc.reuse("none")`` nothing goes through the cache and nothing is recorded).

    Yields
    ------
    list of Event
        Filled when the block ends; each :class:`~.stats.Event` has ``kind`` (``computed``,
        ``reused``, ``partial``, ``deferred``, ``step_computed``, ``step_reused``), ``name`` (opcode
        or step name) and ``key`` (lineage hash).

    Examples
    --------
    >>> import numpy as np
    >>> X = mc.array(np.ones((50, 50)))
    >>> with mc.reuse("full", min_compute_s=0, eager_s_per_byte=0), mc.reuse_events() as events:
    ...     a, b = X @ X, X @ X
    >>> [(e.kind, e.name) for e in events]
    [('computed', 'numpy.matmul'), ('reused', 'numpy.matmul')]
    """
    events: list[Event] = []
    log = STATE.cache.events
    saved = log.enabled
    log.take()
    log.enabled = True
    try:
        yield events
    finally:
        log.enabled = saved
        events.extend(log.take())


def install() -> None:
    """Install the executor and the step hook the current settings ask for (a fresh process's:
    ``hybrid``), in the ops and lineage layers."""
    _install(STATE.cache.config)


install()
