"""What the reuse layer does: the policy, the memory budget, eviction, spilling, the persistent tier.

One :class:`ReuseConfig` is active per process (:func:`mlcontext.reuse` replaces it). Policies follow
LIMA (SIGMOD 2021, §5): ``full`` probes the cache by lineage hash before every operation, ``partial``
adds rewrites that compute a result from cached pieces, ``multilevel`` reuses whole ``@mc.step`` calls,
``hybrid`` is all three and ``none`` turns reuse off.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["ReuseConfig", "POLICIES", "EVICTIONS", "DEFAULT_BUDGET"]

POLICIES = ("none", "full", "partial", "multilevel", "exact", "hybrid")
EVICTIONS = ("cost_size", "lru", "dag_height")


def _default_budget() -> int:
    # A quarter of physical memory, at most 4 GiB: the cache competes with the program it speeds up.
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return int(min(total // 4, 4 << 30))


DEFAULT_BUDGET = _default_budget()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# The settings that are amounts: numbers >= 0.
_NUMBERS = {"budget": "bytes", "min_compute_s": "seconds", "eager_s_per_byte": "seconds per byte",
            "disk_bytes_per_s": "bytes per second", "persist_min_s": "seconds"}


@dataclass(frozen=True, slots=True)
class ReuseConfig:
    """The reuse settings of the process.

    Attributes
    ----------
    policy : str
        ``none | full | partial | multilevel | exact | hybrid`` (default ``hybrid``: all of them;
        ``exact``: full and multilevel, every result bit-identical to a run without reuse).
    budget : int
        Bytes of values the in-memory cache may hold; beyond it entries are evicted.
    eviction : str
        ``cost_size`` (compute time per byte, raised by hits; the default), ``lru`` or ``dag_height``
        (deep intermediates go first: values near the leaves are reused more often).
    spill : bool
        Evicted entries whose recompute costs more than reading them back are written to a local
        folder (``spill_dir``, a temporary folder by default) instead of being dropped.
    min_compute_s : float
        Operations faster than this are never cached: a probe and the bookkeeping would cost more.
    eager_s_per_byte : float
        A value is cached the first time it is computed only when it is expensive for its size: at
        least this many seconds of compute per byte (Grams, reductions), or when its operation is a
        factorisation or solve (``np.linalg.svd``, ``qr``, ``cholesky``, ``eigh``, ``solve``,
        ``inv``, ``lstsq`` …: cost class ``FACTOR``, whatever its cost per byte). Cheaper ones
        (copies, elementwise maps, stacks, outer products) are cached when their lineage hash comes
        round a second time (delayed admission), so a pipeline without redundancy keeps nothing and
        its new results reuse freed memory instead of fresh pages. 0 caches everything at once.
        Applies to NumPy values of NumPy operations; frames, fitted estimators and the arrays
        pandas operations give (``to_numpy``) are always cached at once.
    disk_bytes_per_s : float
        The read speed assumed when deciding between spilling and deleting.
    persist : bool
        Write entries worth it to the persistent tier (the artifact store, indexed by lineage hash),
        so that other processes reuse them; needs a tier (``mc.reuse(persist=True)`` uses the default
        store's).
    persist_min_s : float
        Only entries whose compute took at least this long are written to the persistent tier.
    strict : bool
        Raise :class:`~mlcontext.errors.FingerprintError` when a function or value that would be part
        of a key cannot be identified, instead of one warning and no reuse of that call.

    Examples
    --------
    >>> with mc.reuse("full", budget=2**20) as config:
    ...     config.policy, config.budget
    ('full', 1048576)
    """

    policy: str = "hybrid"
    budget: int = DEFAULT_BUDGET
    eviction: str = "cost_size"
    spill: bool = True
    spill_dir: str | None = None
    min_compute_s: float = 2e-5
    eager_s_per_byte: float = 1e-8
    disk_bytes_per_s: float = 500e6
    persist: bool = False
    persist_min_s: float = 1e-3
    strict: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if type(self.policy) is not str or self.policy not in POLICIES:  # (an array's `in` is ambiguous)
            raise ConfigError(f"reuse policy {_short(self.policy)} is not one of {', '.join(POLICIES)}")
        if type(self.eviction) is not str or self.eviction not in EVICTIONS:
            raise ConfigError(f"eviction policy {_short(self.eviction)} is not one of {', '.join(EVICTIONS)}")
        for name in _NUMBERS:  # (NaN is not >= 0 either)
            value = getattr(self, name)
            # numbers.Real: NumPy scalars (np.int64 from a computed budget, np.float32) are numbers
            # (`value < 0 or value != value`: typeshed's numbers.Real has __lt__ but not __ge__)
            if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real) or (
                    value < 0 or value != value):
                raise ConfigError(f"reuse {name} must be a number >= 0 ({_NUMBERS[name]}), not {value!r}")
        for name in ("spill", "persist", "strict"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, not {getattr(self, name)!r}")
        if self.spill_dir is not None and not isinstance(self.spill_dir, str | os.PathLike):
            raise ConfigError(f"spill_dir must be a folder path, not {self.spill_dir!r}")

    @property
    def full(self) -> bool:
        """Operations are probed by lineage hash (full reuse)."""
        return self.policy in ("full", "partial", "exact", "hybrid")

    @property
    def partial(self) -> bool:
        """Partial-reuse rewrites are tried on a miss."""
        return self.policy in ("partial", "hybrid")

    @property
    def multilevel(self) -> bool:
        """``@mc.step`` calls are reused as a whole."""
        return self.policy in ("multilevel", "exact", "hybrid")

    def with_(self, **changes: Any) -> ReuseConfig:
        """A copy with ``changes`` (``None`` values keep the current setting)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
