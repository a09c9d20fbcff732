"""Lineage items: hash-consed nodes ``(opcode, inputs, literals)`` of the lineage DAG.

An item's 128-bit hash comes from its opcode, its inputs' hashes and its literals alone
(:func:`.digest.node_digest`), never from the bytes of its value: equal hash means equal computation, in
every process and on every machine. The hash is computed lazily, once, and without recursion (an explicit
stack), so 100,000-step chains hash in linear time.

Items made outside a dedup scope are hash-consed through a table keyed by
``(opcode, literals, identities of inputs)``: inputs are themselves unique, so equal keys mean identical
computations, and the same subcomputation traced twice is one object. Inside a dedup scope (a loop
body or a step call) items are recorded for the scope's patch instead; they are short-lived.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from ..errors import LineageError
from .digest import node_digest
from .literals import Literals, Node
from .patch import DEDUP, OUTPUT, PATCHES

__all__ = [
    "Item", "LeafItem", "DedupItem", "make", "leaf", "DATA", "walk", "state", "OPEN_SCOPES", "outside_scope",
    "scope_opened", "scope_closed", "sweep", "identity"]

DATA = "lineage.data"  # opcode of an array leaf identified by content hash


class _State(threading.local):
    # The innermost active dedup scope of this thread, or None (see .dedup).
    scope: Any = None


state = _State()
# Scopes open in any thread: when 0, nobody needs to read the thread-local (a plain read on the hot
# path). Changed only under the lock: ``n[0] += 1`` is a read, an add and a write, and two threads
# opening scopes at once could lose one (the count would then say 0 while a scope is open).
OPEN_SCOPES = [0]
_scopes_lock = threading.Lock()


def scope_opened() -> None:
    """Count a dedup scope opened (in any thread)."""
    with _scopes_lock:
        OPEN_SCOPES[0] += 1


def scope_closed() -> None:
    """Count a dedup scope closed."""
    with _scopes_lock:
        OPEN_SCOPES[0] -= 1


class Item:
    """One node of the lineage DAG.

    Attributes
    ----------
    opcode : str
        A stable name, e.g. ``"numpy.linalg.solve"``.
    inputs : tuple of Item
        The items whose values the operation read.
    literals : tuple
        The non-array arguments as a canonical literal tree (:mod:`.literals`).
    height : int
        Longest path to a leaf (0 for leaves).
    label : str or None
        A human label (the name of a leaf); not part of the hash.
    """

    # Few slots, set once: an item is made for every traced operation, so creation must be cheap.
    __slots__ = ("opcode", "inputs", "literals", "height", "_digest", "__weakref__")
    height: int  # 0 for a leaf, else one more than the highest input
    label: str | None = None
    extra: dict | None = None  # leaf payload (an embedded small array); not part of the hash
    _outs: list[bytes] | None = None  # output hashes of a dedup item

    def __init__(self, opcode: str, inputs: tuple[Item, ...], literals: Node) -> None:
        self.opcode = opcode
        self.inputs = inputs
        self.literals = literals
        self._digest: bytes | None = None
        n = len(inputs)
        if n == 2:
            h0, h1 = inputs[0].height, inputs[1].height
            self.height = (h0 if h0 > h1 else h1) + 1
        elif n == 1:
            self.height = inputs[0].height + 1
        else:
            self.height = max([i.height for i in inputs]) + 1 if n else 0

    @property
    def digest(self) -> bytes:
        """The 16-byte hash."""
        d = self._digest
        return d if d is not None else _compute(self)

    @property
    def hash(self) -> str:
        """The hash as 32 lowercase hex characters."""
        return self.digest.hex()

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Item):
            return NotImplemented
        return self.digest == other.digest

    def __hash__(self) -> int:
        return int.from_bytes(self.digest[:8], "little")

    def __repr__(self) -> str:
        name = f" {self.label!r}" if self.label else ""
        return f"<Item {self.opcode}{name} height={self.height} hash={self.hash[:12]}…>"

    def __reduce__(self) -> tuple:
        # Pickle as the lineage log: flat text, no recursion through inputs, stable across versions.
        from .log import dumps

        return (_from_log, (dumps(self),))


class LeafItem(Item):
    """A leaf: data by content hash, a seed, a file read. May carry a label and a payload."""

    __slots__ = ("label", "extra")

    def __init__(self, opcode: str, literals: Node, label: str | None, extra: dict | None) -> None:
        super().__init__(opcode, (), literals)
        self.label = label
        self.extra = extra


class DedupItem(Item):
    """The one item of a deduplicated loop iteration or step call."""

    __slots__ = ("_outs",)

    def __init__(self, opcode: str, inputs: tuple[Item, ...], literals: Node) -> None:
        super().__init__(opcode, inputs, literals)
        self._outs = None


def _from_log(text: str) -> Item:
    from .log import loads

    item = loads(text)
    if isinstance(item, tuple):  # __reduce__ wrote the log of one item
        raise LineageError(f"a pickled lineage item holds a log of {len(item)} roots, not one")
    return item


@contextmanager
def outside_scope() -> Iterator[None]:
    """Make items as if no dedup scope were active (for parsing logs, and for leaves)."""
    saved, state.scope = state.scope, None
    try:
        yield
    finally:
        state.scope = saved


# Hash-consing table: (opcode, literals, *identities of inputs) -> item. Values are strong references
# and unreferenced entries are swept when the table has doubled, newest first so that dead chains go
# in one pass: cheaper per operation than weak references with callbacks. A key's input identities
# stay valid while its entry lives, because the item holds its inputs.
_table: dict[tuple, Item] = {}
_sweep_at = 1 << 14

#: An object's identity, as ``id`` gives it, but without an audit event: ``id()`` raises
#: ``builtins.id``, which every installed audit hook sees (mlcontext's own watch of the I/O of traced
#: user code installs one, for good), at several times the call's cost on the hot path. The default
#: ``object.__hash__`` is the object's address rotated by a few bits: unique among live objects.
identity = object.__hash__


def make(opcode: str, inputs: tuple[Item, ...], literals: Node) -> Item:
    """The item for an operation: recorded in the active dedup scope, else hash-consed."""
    scope = state.scope if OPEN_SCOPES[0] else None
    if scope is not None:
        item = (DedupItem if opcode == DEDUP else Item)(opcode, inputs, literals)
        scope.items.append(item)
        return item
    n = len(inputs)
    if n == 1:
        key: tuple = (opcode, literals, identity(inputs[0]))
    elif n == 2:
        key = (opcode, literals, identity(inputs[0]), identity(inputs[1]))
    else:
        key = (opcode, literals, *[identity(i) for i in inputs])
    found = _table.get(key)
    if found is None:
        found = _table[key] = (DedupItem if opcode == DEDUP else Item)(opcode, inputs, literals)
        if len(_table) > _sweep_at:
            _sweep()
    return found


def leaf(opcode: str, literals: Node, label: str | None = None,
         extra: dict | None = None) -> Item:
    """A leaf item (no inputs); always hash-consed, never part of a dedup patch."""
    key = (opcode, literals, label)
    item = _table.get(key)
    if item is None:
        item = _table[key] = LeafItem(opcode, literals, label, extra)
    elif extra is not None and isinstance(item, LeafItem) and item.extra is None:
        item.extra = extra
    return item


def sweep() -> None:
    """Drop the hash-consing table's items that nothing else holds (it does so by itself each time
    the table has doubled); what those items kept alive, such as a traced function, can then go.
    Waits for a sweep another thread is running, then sweeps again."""
    with _sweeping:
        _sweep_held()


#: One sweep at a time: two threads sweeping together each hold the item the other is testing, so
#: each sees one reference too many and both keep it (dead entries left behind, a reviewer's flaky
#: test), and each deletes keys of the other's snapshot. Reentrant: popping an entry can free a traced
#: function whose finalizer (or a collection the sweep triggers) runs code that sweeps again in this
#: thread, which must not wait for itself.
_sweeping = threading.RLock()


def _new_sweep_lock() -> None:
    # A child forked while another thread of the parent was sweeping inherits the lock held by a
    # thread it does not have: without a new lock it could never sweep (or reset) again.
    global _sweeping
    _sweeping = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_sweep_lock)


def _sweep() -> None:
    # The automatic sweep: a thread that finds another one sweeping leaves it the work.
    lock = _sweeping
    if lock.acquire(blocking=False):
        try:
            _sweep_held()
        finally:
            lock.release()


def _sweep_held() -> None:
    global _sweep_at
    getrefcount = sys.getrefcount
    for key in reversed(list(_table)):
        # (.get and .pop: other threads' `make` may replace an entry meanwhile; only sweeps remove)
        item = _table.get(key)
        if item is not None and getrefcount(item) <= 3:  # the table's, `item`'s and the argument's
            _table.pop(key, None)
    _sweep_at = max(1 << 14, 2 * len(_table))


def _compute(root: Item) -> bytes:
    # Post-order over the items whose hash is still unknown, with an explicit stack.
    stack = [root]
    while stack:
        item = stack[-1]
        if item._digest is not None:
            stack.pop()
            continue
        pending = [i for i in item.inputs if i._digest is None]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        item._digest = _own_digest(item)
    return root._digest  # type: ignore[return-value]


def _own_digest(item: Item) -> bytes:
    ins = cast("list[bytes]", [i._digest for i in item.inputs])  # _compute hashed the inputs first
    if item.opcode == OUTPUT and item.inputs[0].opcode == DEDUP:
        # Output k of a dedup item hashes as the expanded lineage it stands for.
        return item.inputs[0]._outs[Literals(item.literals).output]  # type: ignore[index]
    if item.opcode == DEDUP:
        view = Literals(item.literals)
        patch = PATCHES.get(view.patch)
        if patch is None:
            raise LineageError(f"dedup item refers to unknown patch {view.patch!r}")
        cast(DedupItem, item)._outs = patch.expand_digests(ins, view.holes)
    return node_digest(item.opcode, ins, item.literals)


def walk(roots: Item | list[Item] | tuple[Item, ...],
         inputs: Callable[[Item], tuple[Item, ...]] | None = None) -> Iterator[Item]:
    """Every item reachable from ``roots``, each once, inputs before the items that read them.

    Iterative, so it handles 100,000-deep chains; items are told apart by identity. ``inputs`` picks
    which inputs of an item to follow (default: all of them).
    """
    roots = [roots] if isinstance(roots, Item) else list(roots)
    seen: set[int] = set()
    stack: list[tuple[Item, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        item, expanded = stack.pop()
        if expanded:
            yield item
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        stack.append((item, True))
        following = item.inputs if inputs is None else inputs(item)
        stack.extend((i, False) for i in reversed(following) if id(i) not in seen)
