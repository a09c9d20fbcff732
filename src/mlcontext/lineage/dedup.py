"""Loop and function deduplication (LIMA §4): one patch per distinct control path of a body.

While a loop iteration (``mc.loop``) or a step call (``@mc.step``) runs, the items its operations make
are collected in a :class:`Scope` instead of being hash-consed. When the body ends, the items whose
values outlive it (held by traced arrays or generators still alive) are its outputs; the recorded items
become a template — external inputs turned into placeholders, numbers into holes — and the template,
looked up by its structure, is the body's :class:`~.patch.Patch`. A different control path (a branch
taken, a different number of operations) gives a different template, hence another patch. The body then
leaves exactly one ``lineage.dedup`` item (patch id, actual inputs, hole values) plus one output item per
escaping value; the per-operation items become garbage.

Output items hash as the expanded lineage would (:meth:`.patch.Patch.expand_digests`), so reuse and
equality are unaffected. Scopes nest: an inner loop's dedup item is one operation of the outer body.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .item import OPEN_SCOPES, Item, identity, make, scope_closed, scope_opened, state
from .literals import Node, abstract
from .patch import DEDUP, OUTPUT, Patch, register_patch
from .state import DEDUP_OVERRIDE, STATE

__all__ = ["Scope", "open_scope", "close_scope", "bind", "set_dedup", "dedup_enabled", "no_dedup"]


def set_dedup(enabled: bool) -> None:
    """Turn loop and step deduplication on or off for the process (on by default); a ``no_dedup()``
    block still has deduplication off inside it."""
    STATE.dedup = bool(enabled)


def dedup_enabled() -> bool:
    """Whether loop and step bodies are deduplicated here (in this thread or task): the per-context
    override of ``no_dedup()`` if any, else the process default (one thread's ``no_dedup()`` never
    switches another thread off)."""
    found = DEDUP_OVERRIDE.get()
    return STATE.dedup if found is None else found


@contextmanager
def no_dedup() -> Iterator[None]:
    """Trace the enclosed code without deduplication (every operation its own item).

    Per context (a :class:`contextvars.ContextVar`): other threads, and asyncio tasks not started
    inside the block, keep deduplicating.
    """
    token = DEDUP_OVERRIDE.set(False)
    try:
        yield
    finally:
        DEDUP_OVERRIDE.reset(token)


class Scope:
    """The items and value holders of one running body."""

    __slots__ = ("label", "items", "holders", "parent")

    def __init__(self, label: str, parent: Scope | None) -> None:
        self.label = label
        self.items: list[Item] = []
        self.holders: list[weakref.ref] = []
        self.parent = parent


def bind(holder: Any, item: Item) -> None:
    """Give ``holder`` (a traced array or generator) ``item``; note it in the scope."""
    holder._item = item
    scope = state.scope if OPEN_SCOPES[0] else None
    if scope is not None:
        scope.holders.append(weakref.ref(holder))


def open_scope(label: str) -> Scope:
    """Start recording a body; must be paired with :func:`close_scope` in the same thread."""
    scope = Scope(label, state.scope)
    state.scope = scope
    scope_opened()
    return scope


def close_scope(scope: Scope) -> None:
    """Stop recording ``scope``: turn its items into a patch and one dedup item."""
    state.scope = scope.parent
    scope_closed()
    if scope.items:
        _fold(scope)


_patches_by_template: dict[tuple, Patch] = {}
_OUT_LITERALS = tuple(("k", j) for j in range(64))


def _fold(scope: Scope) -> None:
    index = {identity(it): k for k, it in enumerate(scope.items)}
    live, out_pos = _live_outputs(scope, index)
    if not live:
        return  # nothing escapes the body: no lineage to keep
    nodes, placeholders, holes = _template(scope.items, index)
    outputs = tuple(out_pos)
    key = (tuple(nodes), len(placeholders), len(holes), outputs)
    patch = _patches_by_template.get(key)
    if patch is None:
        patch = register_patch(Patch.make(nodes, len(placeholders), len(holes), outputs))
        _patches_by_template[key] = patch
    literal = ("T", (("s", patch.pid), ("s", scope.label), ("T", tuple(holes))))
    call = make(DEDUP, tuple(placeholders), literal)  # recorded in the enclosing scope, if any
    # Output items are new by construction (their call is): no need to hash-cons them.
    outs = [Item(OUTPUT, (call,), _OUT_LITERALS[j] if j < 64 else ("k", j))
            for j in range(len(outputs))]
    if scope.parent is not None:
        scope.parent.items.extend(outs)
    for holder, k in live:
        bind(holder, outs[out_pos[k]])


def _live_outputs(scope: Scope, index: dict[int, int]) -> tuple[list, dict[int, int]]:
    live: list[tuple[Any, int]] = []
    out_pos: dict[int, int] = {}
    seen: set[int] = set()
    for ref in scope.holders:
        holder = ref()
        if holder is None or identity(holder) in seen:
            continue
        seen.add(identity(holder))
        k = index.get(identity(holder._item))
        if k is None:
            continue
        live.append((holder, k))
        if k not in out_pos:
            out_pos[k] = len(out_pos)
    return live, out_pos


def _template(items: list[Item], index: dict[int, int]) -> tuple[list, list[Item], list]:
    placeholder_of: dict[int, int] = {}
    placeholders: list[Item] = []
    holes: list = []
    nodes = []
    for it in items:
        refs = []
        for i in it.inputs:
            k = index.get(identity(i))
            if k is None:
                k = placeholder_of.get(identity(i))
                if k is None:
                    k = placeholder_of[identity(i)] = -len(placeholders) - 1
                    placeholders.append(i)
            refs.append(k)
        lit = it.literals
        cached = _abstracted.get(lit)
        if cached is None:
            values: list = []
            cached = _abstracted[lit] = (abstract(lit, values), tuple(values))
            if len(_abstracted) > 100_000:  # varying literals (offsets) must not grow it forever
                _abstracted.clear()
        nodes.append((it.opcode, tuple(refs), cached[0]))  # holes numbered per node
        holes.extend(cached[1])
    return nodes, placeholders, holes


# literal -> (literal with holes numbered from 0, the hole values): the same literals recur every
# iteration, and abstracting them again would be most of the cost of folding a body.
_abstracted: dict[Node, tuple[Node, tuple]] = {}


class _LoopDedup:
    """The :mod:`mlcontext.loops` listener: one scope per iteration of every ``mc.loop``."""

    def __init__(self) -> None:
        self._open: dict[int, list[Scope | None]] = {}

    def loop_started(self, name: str) -> None:
        pass

    def iteration_started(self, name: str, index: int) -> None:
        scope = open_scope(f"loop:{name}") if dedup_enabled() else None
        self._open.setdefault(_thread_key(), []).append(scope)

    def iteration_ended(self, name: str, index: int) -> None:
        stack = self._open.get(_thread_key())
        scope = stack.pop() if stack else None
        if scope is not None:
            close_scope(scope)

    def loop_ended(self, name: str) -> None:
        pass


def _thread_key() -> int:
    import threading

    return threading.get_ident()


#: Subscribed to :mod:`mlcontext.loops` by :mod:`mlcontext.ops`, which makes the items it folds: a
#: process that imports the lineage layer without tracing anything (a run installing its array sink)
#: must not pay for a scope per loop iteration (issue 15: ``mc.loop`` ≤ 0.5 µs).
LOOP_LISTENER = _LoopDedup()
