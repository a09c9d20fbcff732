"""The operations of one edge of the lineage graph, as a person would read them.

An edge ``src -> dst`` of run R is explained by a lineage log: the whole computation of ``dst`` in R,
back to the leaves. The log also holds what belongs to *other* edges: how ``src`` itself was made (the
edges into it say that), and the branches that went through other registered data (a target taken
from ``clean`` and features standardised from a registered ``train``: the features' operations are
on the edge ``train -> model``, their split on ``clean -> train``). So an edge lists only the
operations on the paths from its own source to its target that pass through no other registered
node of the log, plus the branches from data never registered that join those paths (they have no
edge of their own and would be shown nowhere else).

The operations come in a topological order, each input branch whole before the operation that joins
it (:func:`edge_operations`), and as :class:`Branch` chains that say where each branch forks and
joins, so that the target taken from ``clean`` never reads as taken from the standardised matrix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from ..lineage import loads
from ..lineage.item import Item, walk
from ..lineage.literals import Literals
from ..lineage.patch import DEDUP, OUTPUT
from ..ops.sklearn_steps import METHOD_OPCODES
from ..store import Store
from ..store import schema as t
from ..store.context import ContextStore
from ..tracking.uses import leaf_hash
from .transformations import describe, is_series

__all__ = ["Branch", "EdgeOperations", "edge_operations", "operation_name", "computed_from_itself",
           "MAX_OPERATIONS"]

MAX_OPERATIONS = 40


@dataclass(frozen=True)
class Branch:
    """One chain of operations of an edge: each reads the one before it.

    Attributes
    ----------
    operations : tuple of str
        The chain, oldest first.
    after : str or None
        The operation of another branch it forks from (``to_numpy`` for the mean taken of a matrix
        that is also standardised); ``None``: it starts at data (the edge's source, or data never
        registered).
    into : str or None
        The operation of another branch it joins (``Ridge.fit`` for the target of a fit); ``None``:
        it ends at the edge's target.
    registered : bool
        ``False`` for a branch computed from data never registered (no edge of its own).
    """

    operations: tuple[str, ...]
    after: str | None = None
    into: str | None = None
    registered: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"operations": list(self.operations), "after": self.after, "into": self.into,
                "registered": self.registered}


@dataclass(frozen=True)
class EdgeOperations:
    """The operations of an edge: ``operations`` flat, in a topological order with each input branch
    whole; ``branches`` as chains (one when the edge's operations are one chain)."""

    operations: list[str]
    branches: list[Branch]


def edge_operations(store: Store, log_hash: str, source: str | None = None,
                    run_id: str | None = None, target: str | None = None) -> EdgeOperations:
    """The operations of the edge from ``source`` explained by the lineage log ``log_hash``.

    Parameters
    ----------
    store : Store
        Where the log and the edges are.
    log_hash : str
        The stored lineage log of the edge.
    source : str, optional
        The edge's source artifact. ``None``: every operation of the log (how an output was computed
        from data never registered).
    run_id : str, optional
        The edge's run. Two runs that computed the same thing share one content-addressed log; the
        sources that bound it are those this run recorded (another run may have registered data
        this one used unregistered). ``None``: every run's edges of the log.
    target : str, optional
        The edge's target artifact: never a boundary of its own edge. One log can explain both a
        split registered as ``test`` and a model's evaluation on it (content-addressed, the two
        logs are the same bytes): the split bounds the evaluation's edges, and its own edge
        ``clean -> test`` keeps its operations (a newcomer's showed none once a model had
        predicted on the split).

    Returns
    -------
    EdgeOperations
        The operations on the paths from ``source`` to the log's roots that pass through no other
        registered source of the log, with the branches from unregistered data that join them.
    """
    roots = _parsed(store.artifacts.url, log_hash, store)
    boundaries: dict[str, frozenset[str]] = {}
    if source is not None:
        context = ContextStore(store.metadata)
        explained = {e for e in context.edges_of_log(log_hash) if run_id is None or e[2] == run_id}
        # Registered data with an edge of its own into the same target, recorded by the same run, is
        # that edge's: the training set in the log of a model's evaluation (the fit is in it) is the
        # fit edge's source, not "data not registered" on the evaluate edge. (Only the same run's:
        # data another run registered later was not registered when this log was written, and its
        # branch would be shown nowhere.)
        runs = {run for _, _, run in explained}
        siblings = {e[0] for e in context.neighbours({dst for _, dst, _ in explained}, upstream=True)
                    if e[2] in runs}
        for node in ({source} | {src for src, _, _ in explained} | siblings) - {target}:
            boundaries[node] = _items_of(store, context, node, log_hash)
    chosen, mine = _chosen(roots, boundaries, source)
    return _describe(roots, chosen, mine)


def operation_name(item: Item) -> str | None:
    """How one item reads: a pandas step as a transformation, a step or loop by its name, a NumPy
    or scikit-learn operation by its opcode; ``None`` for an output of a multi-output item (the
    item that made it is the operation) and for leaves."""
    if not item.inputs or item.opcode == OUTPUT:
        return None
    if item.opcode.startswith("pandas.") or item.opcode == DEDUP:
        return describe(item)
    if item.opcode.startswith("sklearn."):
        # which estimator: a Pipeline's StandardScaler and PolynomialFeatures both fit_transform,
        # and "sklearn.fit_transform" once said neither (nor that there were two)
        cls = _estimator_class(item)
        method = item.opcode.removeprefix("sklearn.")
        return f"{cls}.{method}" if cls else item.opcode
    return item.opcode.removeprefix("numpy.")


def _estimator_class(item: Item, depth: int = 0) -> str | None:
    """The class name of the estimator a scikit-learn operation fits or applies: a fit names its
    class path in its literal, the first text after its data (``sklearn.preprocessing.StandardScaler``,
    ``mymodels.MeanRegressor``: any module); a method (``transform``, ``predict``) applies the fit
    that is its first input (through the fit's multi-output item)."""
    if item.opcode not in METHOD_OPCODES:
        literal = Literals(item.literals)
        for node in literal.args if literal.is_call else ():
            if node[0] == "s" and isinstance(node[1], str):
                return node[1].rsplit(".", 1)[-1] or None
        return None
    first = item.inputs[0] if item.inputs else None
    while first is not None and first.opcode == OUTPUT:
        first = first.inputs[0] if first.inputs else None
    if first is None or depth > 8 or not first.opcode.startswith("sklearn."):
        return None
    return _estimator_class(first, depth + 1)


# -- which items belong to the edge -------------------------------------------------------------------

def _inputs(item: Item) -> tuple[Item, ...]:
    """The inputs an operation is read as transforming: a series computed to be an argument of a
    pandas operation (the mask of ``t[t.duration >= 0]``) is part of that step's description."""
    if item.opcode in METHOD_OPCODES and len(item.inputs) > 1:
        # transform/predict: input 0 is the fit applied, the data it transforms comes after it; a
        # chain follows the data (the fit's own chain says how it was fitted)
        return (*item.inputs[1:], item.inputs[0])
    if not item.opcode.startswith("pandas.") or not item.inputs:
        return item.inputs
    return (item.inputs[0], *(i for i in item.inputs[1:] if not is_series(i)))



def computed_from_itself(store: Store, log_hash: str, node: str) -> bool:
    """Whether the log that says how ``node`` was computed starts from data with ``node``'s own bytes:
    operations that changed nothing (a filter that kept every row, ``dropna`` without nulls), so
    the registered data they started from is the same graph node as their result."""
    leaves = _leaves(store.artifacts.url, log_hash, store)
    return any(h in leaves for h in _identities(store, ContextStore(store.metadata), node))


def _items_of(store: Store, context: ContextStore, node: str, log_hash: str) -> frozenset[str]:
    """The hashes of the items of a log that stand for the registered ``node``: its own lineage
    items (the roots of the logs that say how it was computed) and the leaves holding its data."""
    logs = {e[4] for e in context.neighbours([node], upstream=True)
            if e[4] and e[3] != "evaluate"}  # an evaluate log says what a model was used on
    logs |= set(store.metadata.lineage_logs_of(node))
    own = {r.hash for h in logs for r in _parsed(store.artifacts.url, h, store)}
    leaves = _leaves(store.artifacts.url, log_hash, store)
    found = (leaves.get(h, ()) for h in _identities(store, context, node))
    return frozenset(own.union(*found))


def _identities(store: Store, context: ContextStore, node: str) -> set[str]:
    """Every hash a leaf may carry for ``node``: its bytes' hash, and the content hash a dataset
    version or a stored array is known by in lineage (a frame's columnwise fingerprint)."""
    found = {node}
    version = context.versions_by_hash([node]).get(node)
    if version is not None:
        found.add(version.content_hash)
    with store.metadata.read() as conn:
        content = conn.execute(select(t.Artifact.content_hash).where(t.Artifact.hash == node)).scalar()
    if content:
        found.add(content)
    return found


def _chosen(roots: tuple[Item, ...], boundaries: dict[str, frozenset[str]],
            source: str | None) -> tuple[set[str], set[str]]:
    """The hashes of the operations of the edge from ``source`` (see the module docstring), and of
    those among them computed from the source (the others are branches from data never registered)."""
    stop = frozenset().union(*boundaries.values())
    order = [i for i in walk(list(roots), inputs=lambda i: () if i.hash in stop else _inputs(i))
             if i.hash not in stop and i.inputs]
    everything = {i.hash for i in order}
    # Operations computed from each registered node without passing through another one.
    reached = {node: _downstream(order, items, stop) for node, items in boundaries.items()}
    if source is None:
        return everything, everything
    if not boundaries[source]:  # the source is not found in the log: what no other node reaches
        reached[source] = everything - set().union(*(r for n, r in reached.items() if n != source))
    any_reached = set().union(*reached.values())
    joins = _joining(order, any_reached, reached)
    # A branch from data never registered goes with the branches it joins (it has no edge of its
    # own), or with every edge when it joins none of them (else it would be shown nowhere).
    unregistered = {h for h in everything - any_reached if not joins[h] or source in joins[h]}
    return reached[source] | unregistered, reached[source]


def _downstream(order: list[Item], start: frozenset[str], stop: frozenset[str] = frozenset()) -> set[str]:
    """The operations of ``order`` (inputs first) computed from an item in ``start``: through the
    inputs they are read as transforming, or through a series folded into their description (the
    mask of ``A[B["k"] > 1]`` is computed from ``B``: the filter is ``B``'s operation too, and
    ``B``'s edge listed none, a newcomer's finding). A folded series is followed back to ``start``
    without passing through another registered node (``stop``)."""
    found: set[str] = set()
    folded: dict[str, bool] = {}  # a folded series -> whether it was computed from ``start``
    for item in order:
        inputs = _inputs(item)
        if any(i.hash in start or i.hash in found for i in inputs) or (
                len(inputs) < len(item.inputs)
                and any(_folded_from(i, start, stop, folded) for i in item.inputs if i not in inputs)):
            found.add(item.hash)
    return found


def _folded_from(item: Item, start: frozenset[str], stop: frozenset[str], memo: dict[str, bool]) -> bool:
    """Whether the folded series ``item`` was computed from an item in ``start`` (memoised: one mask
    folded into several steps is walked once)."""
    known = memo.get(item.hash)
    if known is None:
        known = memo[item.hash] = any(
            node.hash in start for node in walk([item], inputs=lambda i: () if i.hash in stop else i.inputs))
    return known


def _joining(order: list[Item], any_reached: set[str], reached: dict[str, set[str]]) -> dict[str, set[str]]:
    """For each operation computed from data never registered, the registered nodes whose branches
    it joins (their operations read it, directly or through other such operations)."""
    consumers: dict[str, list[str]] = {}
    for item in order:
        for i in _inputs(item):
            consumers.setdefault(i.hash, []).append(item.hash)
    joins: dict[str, set[str]] = {}
    for item in reversed(order):  # readers before what they read
        nodes: set[str] = set()
        for reader in consumers.get(item.hash, ()):
            if reader in any_reached:
                nodes |= {n for n, r in reached.items() if reader in r}
            else:
                nodes |= joins.get(reader, set())
        joins[item.hash] = nodes
    return joins


# -- how they read ------------------------------------------------------------------------------------

def _describe(roots: tuple[Item, ...], chosen: set[str], mine: set[str]) -> EdgeOperations:
    """The chosen operations flat (a topological order: the walk yields each input branch whole
    before its reader) and as chains."""
    order = [i for i in walk(list(roots), inputs=lambda i: tuple(x for x in _inputs(i) if x.hash in chosen))
             if i.hash in chosen]
    branches, member = _chains(order, chosen, mine)
    operations = _steps((member[i.hash], name, _a_fit(i)) for i in order
                        if (name := operation_name(i)) is not None)
    extra = [f"… {len(operations) - MAX_OPERATIONS} more"] if len(operations) > MAX_OPERATIONS else []
    return EdgeOperations(operations[:MAX_OPERATIONS] + extra, branches)


def _chains(order: list[Item], chosen: set[str], mine: set[str]) -> tuple[list[Branch], dict[str, int]]:
    """Split the operations into chains, each following the first input an operation reads among
    the edge's operations (the data it transforms), readers first; side inputs start their own
    chain, which says which operation it joins. Chains come in the order their first operation ran."""
    position = {item.hash: k for k, item in enumerate(order)}
    readers: dict[str, Item] = {}
    for item in order:
        for i in _inputs(item):
            if i.hash in chosen:
                readers.setdefault(i.hash, item)  # the first reader, in order
    member: dict[str, int] = {}
    chains: list[tuple[int, list[Item], Item | None]] = []
    for tail in reversed(order):
        if tail.hash in member:
            continue
        chain, item, fork = [tail], tail, None
        member[tail.hash] = len(chains)
        while (nxt := _first_chosen_input(item, chosen, mine)) is not None:
            if nxt.hash in member:
                fork = nxt
                break
            member[nxt.hash] = len(chains)
            chain.append(nxt)
            item = nxt
        chains.append((position[chain[-1].hash], chain[::-1], fork))
    branches: list[Branch] = []
    renumber: dict[int, int] = {}
    for old, (_, chain, fork) in sorted(enumerate(chains), key=lambda c: c[1][0]):  # as they began
        names = _steps((0, name, _a_fit(i)) for i in chain
                       if (name := operation_name(i)) is not None)[:MAX_OPERATIONS]
        renumber[old] = len(branches)
        reader = readers.get(chain[-1].hash)
        branches.append(Branch(tuple(names), _named(fork), _named(reader),
                               registered=fork is not None or chain[0].hash in mine))
    return [b for b in branches if b.operations], {h: renumber[c] for h, c in member.items()}


def _steps(named: Iterable[tuple[int, str, bool]]) -> list[str]:
    """The names of ``(branch, name, is a fit)``, each run of one name in one branch (a loop's
    iterations, one after another, interleaved with other branches or not) as one step; fits are
    never merged (two SimpleImputers in a row are two steps)."""
    steps: list[str] = []
    last: dict[int, str] = {}
    for branch, name, fit in named:
        if last.get(branch) != name or fit:
            steps.append(name)
            last[branch] = name
    return steps


def _a_fit(item: Item) -> bool:
    """A scikit-learn operation (a fit, or a method of one): each is its own step, whatever its name."""
    return item.opcode.startswith("sklearn.")


def _first_chosen_input(item: Item, chosen: set[str], mine: set[str]) -> Item | None:
    """The input a chain follows back from ``item``: the first one among the edge's operations; from
    an operation computed from the source, the first one computed from it too, so that a branch from
    data never registered joins the source's chain rather than hiding where the source comes in."""
    inputs = [i for i in _inputs(item) if i.hash in chosen]
    if item.hash in mine:
        inputs = [i for i in inputs if i.hash in mine]
    return inputs[0] if inputs else None


def _named(item: Item | None) -> str | None:
    """The name of the operation ``item`` is (or is an output of)."""
    while item is not None and item.opcode == OUTPUT:
        item = item.inputs[0]
    return None if item is None else operation_name(item)


@lru_cache(maxsize=256)
def _leaves(url: str, log_hash: str, store: Store) -> dict[str, frozenset[str]]:
    """The data leaves of a log by the content hash they hold (every edge from it asks)."""
    found: dict[str, set[str]] = {}
    for item in walk(list(_parsed(url, log_hash, store))):
        if not item.inputs and (digest := leaf_hash(item)) is not None:
            found.setdefault(digest, set()).add(item.hash)
    return {digest: frozenset(items) for digest, items in found.items()}


@lru_cache(maxsize=1024)
def _parsed(_url: str, log_hash: str, store: Store) -> tuple[Item, ...]:
    parsed = loads(store.artifacts.get(log_hash).decode())
    return tuple(parsed) if isinstance(parsed, tuple) else (parsed,)
