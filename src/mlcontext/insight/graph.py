"""Derivation (backward lineage) and impact (forward lineage) of artifacts, with pictures.

Both walk the ``edges`` the tracking layer records (:mod:`mlcontext.tracking.derivation`): *lineage*
edges from the data an output was computed from, explained by a lineage log, and *run* edges from
everything a run read to what it wrote. Nodes are artifacts (dataset versions, files, arrays, models),
labelled as users named them; edges carry the run (who, when, which code) and the operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from rich.tree import Tree

from ..store import Store
from ..store import schema as t
from ..store.context import ContextStore
from ..store.records import code_version
from ..tracking.stores import get_store
from .operations import computed_from_itself, edge_operations
from .refs import describe_hashes, resolve_artifact
from .scope import ProjectScope

__all__ = ["Graph", "derivation", "consumers", "operations_of"]


@dataclass(frozen=True)
class Graph:
    """A lineage graph around ``root``, as :func:`derivation` and :func:`consumers` return it.

    Attributes
    ----------
    root, root_label : str
        The artifact asked about: its hash and its label (``trips@2``, ``RUN:NAME``).
    direction : {"upstream", "downstream"}
        ``upstream`` for a derivation, ``downstream`` for consumers.
    nodes : pandas.DataFrame
        One row per artifact: ``hash``, ``label``, ``depth`` (edges from the root).
    edges : pandas.DataFrame
        One row per derivation: ``src``, ``dst``, ``kind`` (``lineage``, ``run``, ``fit``,
        ``evaluate``), the run that made it (``run_id``, ``run_name``, its ``project``, ``user``,
        ``git_commit`` and ``git_dirty``: whether uncommitted changes ran, the commit alone is then
        not the code), its
        ``operations`` (its own only, in a topological order, each input branch whole) and its
        ``branches`` (the same as chains: ``operations``, ``after`` the operation it forks from,
        ``into`` the one it joins, ``registered``; see :class:`~.operations.Branch`).
    readers : pandas.DataFrame
        Runs that read any node (downstream only).
    operations : list of str
        Upstream only: how the root itself was computed where no registered data is upstream of it
        (a frame cleaned from a file read but never registered), from its own lineage log; empty
        when its edges say it.
    unchanged : bool
        Upstream only: those operations started from data with the root's own bytes (a filter that
        kept every row of a registered ``raw``: ``clean@1 = raw@1`` is one node), so they changed
        nothing; the tree says so instead of "computed from data not registered".
    source : str
        Upstream only, for data with nothing upstream: the runs that stored or registered it from data
        they did not trace (``no recorded derivation: stored by run prep 2e80a24a (ana) from data it
        did not trace``); empty otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = mc.dataset(pd.DataFrame({"x": [1.0, None]}), "raw", project="doc")
    >>> with mc.run("clean", project="doc"):
    ...     _ = mc.dataset(raw.frame().dropna(), "clean", project="doc")
    >>> graph = mc.derivation("clean", project="doc")
    >>> graph.direction, graph.edges["kind"].tolist()
    ('upstream', ['lineage'])
    """

    root: str
    root_label: str
    direction: str  # "upstream" (derivation) or "downstream" (impact)
    nodes: pd.DataFrame
    edges: pd.DataFrame
    readers: pd.DataFrame  # runs that read any node (downstream only)
    operations: list[str] = field(default_factory=list)  # the root's own, when no edge says them
    # the root's own operations started from data with the root's own bytes (they changed nothing)
    unchanged: bool = False
    # upstream, for data with nothing upstream: which runs stored it, untraced ("" otherwise)
    source: str = ""

    def __str__(self) -> str:
        """The tree as plain text, so ``print(graph)`` shows it (``print(graph.tree())`` printed the
        rich object's repr: rich renders its trees with ``console.print``)."""
        import io
        import shutil

        from rich.console import Console

        console = Console(file=io.StringIO(), width=shutil.get_terminal_size((100, 24)).columns,
                          color_system=None, record=True)
        console.print(self.tree())
        return console.export_text().rstrip("\n")

    def tree(self) -> Tree:
        """A rich tree: the root, then what it came from (or what came from it), level by level.
        Show it with ``rich.print(graph.tree())``, or ``print(graph)`` for plain text."""
        labels = dict(zip(self.nodes["hash"], self.nodes["label"], strict=True))
        tree = Tree(f"[bold]{self.root_label}[/]")
        if self.operations:
            start, end = ("computed from these same bytes", " (these operations changed nothing)") \
                if self.unchanged else ("computed from data not registered", "")
            tree.add(f"[dim]{start} →[/] [cyan]"
                     + "[/] [dim]→[/] [cyan]".join(map(_escape, self.operations))
                     + f"[/] [dim]→ {_escape(self.root_label)}{end}[/]")
        if self.source:
            tree.add(f"[dim]{_escape(self.source)}[/]")
        self._grow(tree, self.root, labels, {self.root})
        return tree

    def _grow(self, branch: Tree, node: str, labels: dict[str, str], seen: set[str]) -> None:
        """One child per neighbour, however many runs made the edge; a subtree already printed is
        referred to, not printed again (shared inputs, diamonds, the same step run many times)."""
        key, other = ("dst", "src") if self.direction == "upstream" else ("src", "dst")
        edges = self.edges[self.edges[key] == node]
        for target, group in edges.groupby(other, sort=False):
            label = labels.get(target, target[:12])
            kinds = [_kind_words(k, self.direction) for k in dict.fromkeys(group["kind"])]
            child = branch.add(f"{label}  [dim]{' / '.join(kinds)} · {_made_by(group)}[/]")
            src, dst = (target, node) if self.direction == "upstream" else (node, target)
            for line in _operation_lines(group, labels.get(src, src[:12]), labels.get(dst, dst[:12])):
                child.add(line)
            if target in seen:
                if (self.edges[key] == target).any():
                    child.add("[dim]… shown above[/]")
                continue
            seen.add(target)
            self._grow(child, target, labels, seen)

    def to_dot(self) -> str:
        """Graphviz DOT text (render with ``dot -Tsvg``)."""
        lines = ["digraph lineage {", "  rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica];"]
        for _, node in self.nodes.iterrows():
            style = ", style=\"rounded,bold\"" if node["hash"] == self.root else ""
            lines.append(f"  \"{node['hash']}\" [label={_quote(node['label'])}{style}];")
        # One arrow per pair of nodes, as the tree has one child per neighbour: the runs that made
        # it and every kind (two runs making the same bytes drew two arrows; a fit and an evaluation
        # of one run drew one, labelled only fit).
        for (src, dst), group in self.edges.groupby(["src", "dst"], sort=False):
            runs = group.drop_duplicates("run_id")
            names = list(dict.fromkeys(str(n) for n in runs["run_name"].fillna("")))
            who = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
            if len(runs) > 1:
                who += f" ({len(runs)} runs)"
            label = f"{who}\\n{' / '.join(dict.fromkeys(group['kind']))}"
            lines.append(f"  \"{src}\" -> \"{dst}\" [label={_quote(label)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "label": self.root_label, "direction": self.direction,
                "nodes": self.nodes.to_dict(orient="records"),
                "edges": self.edges.to_dict(orient="records"),
                "readers": self.readers.to_dict(orient="records"), "operations": list(self.operations),
                "unchanged": self.unchanged, "source": self.source}


def _escape(text: str) -> str:
    """Text shown as is in a rich tree (an operation such as ``getitem ['a']`` is no markup)."""
    from rich.markup import escape

    return escape(text)


def _operation_lines(edges: pd.DataFrame, src: str, dst: str) -> list[str]:
    """The operations of the edges between two nodes, from the source to the destination: one line
    for a chain, one per branch where branches fork or join (each says where it joins), so that two
    inputs of one operation never read as one chain. Runs that did the same are shown once."""
    seen: dict[str, None] = {}
    kinds = edges["kind"] if "kind" in edges else [None] * len(edges)
    for kind, branches in zip(kinds, edges["branches"] if "branches" in edges else (), strict=False):
        for branch in branches or ():
            start = branch["after"] or (src if branch["registered"] else "data not registered")
            # An evaluation log ends at the data given to predict/score, not in the model: say so
            # (`test → getitem 'target' → model` read as if the target had fed the model).
            end = f"into {branch['into']}" if branch["into"] else \
                f"predicted on or scored by {dst}" if kind == "evaluate" else dst
            seen[_chain(start, branch["operations"], end)] = None
    return list(seen)


def _chain(start: str, operations: list[str], end: str) -> str:
    return (f"[dim]{_escape(start)} →[/] [cyan]" + "[/] [dim]→[/] [cyan]".join(map(_escape, operations))
            + f"[/] [dim]→ {_escape(end)}[/]")



def _kind_words(kind: str, direction: str) -> str:
    """An edge kind as the tree says it: a ``run`` edge in words (a newcomer read ``lookup@1  run`` in
    the lineage of a frame that never used it as "clean was derived from lookup")."""
    if kind != "run":
        return kind
    return ("read by the run, not traced into it" if direction == "upstream"
            else "made by a run that read it, not traced from it")

def _made_by(edges: pd.DataFrame, shown: int = 3) -> str:
    """The runs behind edges between two nodes: one as before, several counted and the first named."""
    runs = edges.drop_duplicates("run_id")
    # Runs of several projects behind one edge (byte-identical data registered in each): say whose.
    projects = "project" in runs and runs["project"].dropna().nunique() > 1
    parts = []
    for _, edge in runs.head(shown).iterrows():
        if not isinstance(edge["run_id"], str):
            continue
        version = code_version(edge["git_commit"], edge["git_dirty"])
        code = f" @ {version}" if version else ""
        where = f" ({edge['project']})" if projects else ""
        parts.append(f"run {edge['run_name']} {edge['run_id'][:8]}{where} by {edge['user']}{code}")
    more = f" and {len(runs) - shown} more" if len(runs) > shown else ""
    prefix = f"{len(runs)} runs: " if len(runs) > 1 else ""
    return prefix + ", ".join(parts) + more


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n") + '"'


def derivation(ref: Any, *, project: str | None = None, store: Store | None = None) -> Graph:
    """How ``ref`` was made: every run and operation back to the source data, with code versions.

    Parameters
    ----------
    ref : str, DatasetVersion or ArtifactRef
        A dataset (``trips``, ``trips@2``), ``RUN:NAME``, an artifact hash, a ``DatasetVersion`` or
        an ``ArtifactRef``.
    project : str, optional
        The project of a dataset name that exists in several projects.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    Graph
        ``nodes`` (data, models: hash, label, depth) and ``edges`` (the runs and operations between
        them), as DataFrames; ``graph.tree()`` renders it.

    Raises
    ------
    NotFoundError
        ``ref`` names nothing recorded.
    AmbiguousReferenceError
        ``ref`` names more than one thing (a dataset in several projects).
    ReferenceTypeError
        ``ref`` is of a kind that names no artifact.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = mc.dataset(pd.DataFrame({"x": [1.0, None, 3.0]}), "raw", project="doc")
    >>> with mc.run("clean", project="doc"):
    ...     clean = mc.dataset(raw.frame().dropna(), "clean", project="doc")
    >>> mc.derivation("clean@1", project="doc").nodes["label"].tolist()
    ['clean@1', 'raw@1']
    """
    return _graph(ref, project, store, upstream=True)


def consumers(ref: Any, *, project: str | None = None, store: Store | None = None) -> Graph:
    """Everything downstream of ``ref``, transitively: derived data, models, and the runs reading them.

    Parameters
    ----------
    ref : str, DatasetVersion or ArtifactRef
        A dataset (``trips``, ``trips@2``), ``RUN:NAME``, an artifact hash, a ``DatasetVersion`` or
        an ``ArtifactRef``.
    project : str, optional
        The project of a dataset name that exists in several projects.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    Graph
        Nodes (data, models) and edges (the runs and operations between them).

    Raises
    ------
    NotFoundError
        ``ref`` names nothing recorded.
    AmbiguousReferenceError
        ``ref`` names more than one thing.
    ReferenceTypeError
        ``ref`` is of a kind that names no artifact.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = mc.dataset(pd.DataFrame({"x": [1.0, None, 3.0]}), "raw", project="doc")
    >>> with mc.run("clean", project="doc"):
    ...     clean = mc.dataset(raw.frame().dropna(), "clean", project="doc")
    >>> mc.consumers("raw@1", project="doc").nodes["label"].tolist()
    ['raw@1', 'clean@1']
    """
    return _graph(ref, project, store, upstream=False)


def _without_covered_run_edges(edges: pd.DataFrame) -> pd.DataFrame:
    """``edges`` without a ``run`` edge (the run read src and made dst) where another edge of the
    same source, target and run says more; every other kind is kept, each once: a model fitted on
    a set and evaluated on it has a ``fit`` and an ``evaluate`` edge from it (keeping one edge per
    source, target and run dropped the fit when the evaluation sorted first)."""
    key = (edges["src"].astype(str) + "\0" + edges["dst"].astype(str) + "\0"
           + edges["run_id"].fillna("").astype(str))
    telling = edges["kind"] != "run"
    covered = set(key[telling])
    keep = telling | ~key.isin(covered)
    return edges[keep].drop_duplicates(["src", "dst", "run_id", "kind"])


def _graph(ref: Any, project: str | None, store: Store | None, *, upstream: bool) -> Graph:
    store = store or get_store()
    root = resolve_artifact(store, ref, project)
    context = ContextStore(store.metadata)
    scope = ProjectScope(context, project or root.project)
    reached: Reached = {}
    raw = _walk(context, root.hash, root.run_id, scope, upstream=upstream, reached=reached)
    edges = pd.DataFrame(raw, columns=["src", "dst", "run_id", "kind", "log_hash"])
    edges = _without_covered_run_edges(edges)
    runs = _runs(store, edges["run_id"].dropna().unique().tolist())
    edges = edges.merge(runs, how="left", left_on="run_id", right_index=True)
    explained = [edge_operations(store, log, src, run if isinstance(run, str) else None, dst)
                 if isinstance(log, str) else None
                 for log, src, dst, run in zip(edges["log_hash"], edges["src"], edges["dst"], edges["run_id"],
                                               strict=True)]
    edges["operations"] = [e.operations if e is not None else None for e in explained]
    # How the operations fork and join (a target taken beside the features, both fitted on).
    edges["branches"] = [[b.to_dict() for b in e.branches] if e is not None else None for e in explained]
    hashes = [root.hash, *edges["src"], *edges["dst"]]
    # Downstream, an output several runs stored is named after the run that made it on the walk's
    # path (a newcomer's impact of raw@3 named an output after a run that ran before raw@3 existed).
    made_on_path = {node: reach.by[0][0] for node, reach in reached.items() if reach.by}
    labels = scope.labels(describe_hashes(store, hashes, made_on_path))
    # Identical bytes are one node, labelled by the first run that stored them; the root is the one
    # asked about (`sweep:weights` of the last sweep run), and its title and node must agree. A
    # dataset version is labelled by the scope, as the other versions of the graph are (with its
    # project where the graph shows several).
    if root.dataset is None or root.hash not in labels:
        labels[root.hash] = root.label
    depth = _depths(root.hash, raw, upstream)
    nodes = pd.DataFrame({"hash": list(labels), "label": list(labels.values()),
                          "depth": [depth.get(h, 0) for h in labels]})
    readers = pd.DataFrame(columns=["run_id", "run_name", "user", "artifact", "role"])
    if not upstream:
        readers = _readers(store, list(labels), labels, scope, _reached_times(store, reached))
    operations: list[str] = []
    unchanged = False
    if upstream and not ((edges["dst"] == root.hash) & edges["kind"].isin(["lineage", "fit"])).any():
        own = store.metadata.lineage_logs_of(root.hash, scope.project)
        operations = operations_of(store, own[-1]) if own else []
        unchanged = bool(operations) and computed_from_itself(store, own[-1], root.hash)
    source = _source(store, root.hash, scope.project) if upstream and edges.empty and not operations else ""
    return Graph(root.hash, labels[root.hash], "upstream" if upstream else "downstream", nodes,
                 edges.reset_index(drop=True), readers, operations, unchanged, source)


def _source(store: Store, digest: str, project: str | None) -> str:
    """For data with nothing upstream: which runs stored it, and that it came in untraced — the tree
    of a dataset registered from a plain frame was its name alone (a newcomer's finding)."""
    from sqlalchemy import or_, select

    # (a run's outputs, and the runs that made or registered a dataset version of these bytes)
    stored = select(t.RunArtifact.run_id).where(t.RunArtifact.artifact_hash == digest,
                                                t.RunArtifact.direction == "output")
    made = select(t.DatasetVersion.run_id).where(t.DatasetVersion.artifact_hash == digest)
    registered = select(t.DatasetVersion.registered_by).where(t.DatasetVersion.artifact_hash == digest)
    query = (select(t.Run.id, t.Run.name, t.Run.user)
             .join(t.Project, t.Project.id == t.Run.project_id)
             .where(or_(t.Run.id.in_(stored), t.Run.id.in_(made), t.Run.id.in_(registered))))
    if project is not None:
        query = query.where(t.Project.name == project)
    with store.metadata.read() as conn:
        rows = conn.execute(query.order_by(t.Run.started_at)).all()
    if not rows:
        return "no recorded derivation: stored outside any run"
    named = ", ".join(f"{name} {run_id[:8]} ({user})" for run_id, name, user in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return f"no recorded derivation: stored by run {named}{more} from data it did not trace"


@dataclass
class _Reach:
    """How a downstream walk reached a node and left it: the ``(run, order)`` of each edge it came
    by, and the runs whose edges out of it it followed or left out (recorded before it got there)."""

    by: list[tuple[str | None, int]] = field(default_factory=list)
    followed: set[str | None] = field(default_factory=set)
    left_out: set[str | None] = field(default_factory=set)


Reached = dict[str, _Reach]  # node -> how a downstream walk reached it


def _walk(context: ContextStore, root: str, run_id: str | None, scope: ProjectScope, *, upstream: bool,
          max_depth: int = 100, reached: Reached | None = None) -> list[tuple]:
    """The edges back from ``root`` (``upstream``) or forward from it, breadth first, keeping each
    run's occurrence of a node apart.

    Content addressing makes identical bytes one node, however many runs made them. Upstream, reached
    through an edge of run R (or named ``R:NAME``), a node's own derivation is the one R recorded, when
    R derived it (a ``lineage``, ``fit`` or ``evaluate`` edge): the lineage of run A's weights never
    shows the edges run B made for the same bytes.
    A node that R only read (a dataset made by an earlier run), or registered again with only ``run``
    edges into it, has R's edges and every derivation recorded for it before R used it (a run that
    made the same bytes later is not where R's copy came from).
    Downstream, a node reached through an edge of run R (R made it from the root's side: a derivation,
    or a ``run`` edge, a possible influence) goes on to what R did with it and to what other runs did
    with it *after* R made it, except a run that derived the same bytes itself (its own
    ``lineage``/``fit``/``evaluate`` edge into the node): it never got them from R. Two scoring runs
    that cut the same batch from the same data, each with its own model, are then not downstream of
    each other's model; and a model trained on ``clean@1`` before a new ``raw@2`` was cleaned into the
    same bytes is not downstream of ``raw@2`` (a newcomer's ``impact raw@3`` listed nine models made
    before raw@3 existed).
    In both directions, at bytes that several projects registered, only the runs that used the dataset
    the question reached are followed (``scope``). ``reached``, when given, is filled downstream with
    each node's ``(run, order)`` of the edges the walk reached it by (whose reads count: see
    :func:`_readers`).
    """
    near, far = (1, 0) if upstream else (0, 1)  # the end of an edge at the frontier, the other end
    frontier: list[tuple[str, str | None]] = [(root, run_id)]
    seen = set(frontier)
    edges: dict[tuple, None] = {}
    made_at: dict[tuple[str, str | None], int] = {}  # (node, R) reached downstream by R's edge -> its order
    read_at: dict[tuple[str, str | None], int] = {}  # (node, R) reached upstream by R's edge -> its order
    if not upstream and run_id is not None:
        # The root named with its run (RUN:NAME): what other runs did with the same bytes before that
        # run made them is not downstream of it (a newcomer's impact of run B's model listed scores
        # computed from run A's identical model before B ran). Placed by the run's edges into it.
        into = [e[5] for e in context.neighbours([root], upstream=True, with_order=True) if e[2] == run_id]
        made = min(into) if into else _order_at_saving(context, root, run_id)
        if made is not None:
            made_at[(root, run_id)] = made
            if reached is not None:  # (its readers are counted as a reached node's are)
                reached.setdefault(root, _Reach()).by.append((run_id, made))
    for _ in range(max_depth):
        level = context.neighbours({node for node, _ in frontier}, upstream=upstream, with_order=True)
        at: dict[str, list[tuple]] = {}
        for edge in level:
            at.setdefault(edge[near], []).append(edge)
        scope.prefetch(frontier, [e[:5] for e in level])
        derived = _derived_by(context, [key[0] for key in frontier if key in made_at])
        following: list[tuple[str, str | None]] = []
        for node, run in frontier:
            candidates = _after_run_edge(node, run, made_at.get((node, run)), derived, at.get(node, []))
            if reached is not None and (node, run) in made_at:
                reach = reached.setdefault(node, _Reach())
                reach.followed |= {e[2] for e in candidates}
                reach.left_out |= {e[2] for e in at.get(node, [])} - {e[2] for e in candidates}
            kept = scope.keep(node, run, [e[:5] for e in candidates])
            orders = {e[:5]: e[5] for e in candidates}
            own = [e for e in kept if upstream and run is not None and e[2] == run]
            follow = own or kept
            if upstream and (node, run) in read_at and not any(e[3] != "run" for e in own):
                # R did not derive the node (it read it, or registered again bytes it read: its run
                # edges into it say only what it read before): R's edges, and the derivations
                # recorded before R used it (later ones, by runs that made the same bytes again, are
                # not where R's copy came from)
                follow = own + [e for e in kept if e[2] != run and orders[e] < read_at[node, run]]
            for edge in follow:
                edges[edge] = None
                nxt = (edge[far], edge[2])
                if nxt not in seen:
                    seen.add(nxt)
                    following.append(nxt)
                    if upstream:
                        read_at[nxt] = orders[edge]
                    else:
                        made_at[nxt] = orders[edge]
                        if reached is not None:
                            reached.setdefault(nxt[0], _Reach()).by.append((edge[2], orders[edge]))
        frontier = following
        if not frontier:
            break
    return list(edges)


def _order_at_saving(context: ContextStore, node: str, run_id: str) -> int | None:
    """The place in the edges' order at which run ``run_id`` saved ``node``, for a run with no edge
    into it (a model fitted on data it read from nowhere mlcontext saw): the last edge recorded before
    the run's own record of the output, by the store's times; ``None`` when the run never saved it."""
    from sqlalchemy import func, select

    with context.metadata.read() as conn:
        saved = conn.execute(select(func.min(t.RunArtifact.time)).where(
            t.RunArtifact.run_id == run_id, t.RunArtifact.artifact_hash == node,
            t.RunArtifact.direction == "output")).scalar()
        if saved is None:
            return None
        before = conn.execute(select(func.max(t.Edge.id)).where(t.Edge.time < saved)).scalar()
    return int(before) if before is not None else 0


def _derived_by(context: ContextStore, nodes: list[str]) -> dict[str, set[str | None]]:
    """The runs that derived each of ``nodes`` themselves: a ``lineage``, ``fit`` or ``evaluate`` edge
    into it (a ``run`` edge says only what a run read before it registered the bytes: a run that read
    them from another and registered them again is a consumer, a reviewer's finding)."""
    found: dict[str, set[str | None]] = {}
    for _src, dst, run, kind, *_ in context.neighbours(set(nodes), upstream=True):
        if kind != "run":
            found.setdefault(dst, set()).add(run)
    return found


def _after_run_edge(node: str, run: str | None, order: int | None, derived: dict[str, set[str | None]],
                    edges: list[tuple]) -> list[tuple]:
    """The edges out of ``node`` to follow when run ``run`` made it from the walk's side (its edge,
    recorded at ``order``): its own, and the later ones of runs that did not derive the node
    themselves; all of them at the walk's root (``order`` None)."""
    if order is None:
        return edges
    others = derived.get(node, set()) - {run}
    return [e for e in edges if e[2] == run or (e[5] > order and e[2] not in others)]


def _runs(store: Store, run_ids: list[str]) -> pd.DataFrame:
    from sqlalchemy import select

    # git_dirty beside the commit: a dirty run's code is not the commit (shown as ``+dirty``); the
    # project: byte-identical data of two projects is one node, and an edge says whose run made it.
    columns = ["run_name", "project", "user", "git_commit", "git_dirty", "started_at"]
    if not run_ids:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="run_id"))
    with store.metadata.read() as conn:
        rows = conn.execute(select(t.Run.id, t.Run.name, t.Project.name, t.Run.user, t.Run.git_commit,
                                   t.Run.git_dirty, t.Run.started_at)
                            .join(t.Project, t.Project.id == t.Run.project_id)
                            .where(t.Run.id.in_(run_ids))).all()
    # (SQLite gives the flag as 0 or 1: a bool again, as everywhere else)
    values = [(name, project, user, commit, None if dirty is None else bool(dirty), started)
              for _, name, project, user, commit, dirty, started in rows]
    return pd.DataFrame(values, columns=columns, index=pd.Index([r[0] for r in rows], name="run_id"))


def _reached_times(store: Store, reached: Reached) -> dict[str, tuple[list[tuple], _Reach]]:
    """Each reached node's ``(run, time)`` of the edges the walk came by, with how it left it."""
    from sqlalchemy import select

    orders = sorted({order for reach in reached.values() for _, order in reach.by})
    if not orders:
        return {}
    with store.metadata.read() as conn:
        times = dict(conn.execute(select(t.Edge.id, t.Edge.time).where(t.Edge.id.in_(orders))).all())
    return {node: ([(run, times[order]) for run, order in reach.by if order in times], reach)
            for node, reach in reached.items()}


def _readers(store: Store, hashes: list[str], labels: dict[str, str], scope: ProjectScope,
             reached: dict[str, tuple[list[tuple], _Reach]] | None = None) -> pd.DataFrame:
    """The runs that read the graph's nodes. At a node the walk reached (not the root) a read counts
    as the walk's edges do: the run that made it there and the runs whose edges out of it the walk
    followed are readers; a run whose edges out of it the walk left out (recorded before the node was
    reached: a model trained on ``clean@1`` before a new raw version was cleaned into those bytes)
    is not. A run with no edge out of it is placed by the times the runs recorded (its read after the
    edge the walk came by), the only order there is between a read and an edge."""
    from sqlalchemy import select

    with store.metadata.read() as conn:
        rows = conn.execute(select(t.Access.run_id, t.Run.name, t.Access.user, t.Access.artifact_hash,
                                   t.Access.role, t.Access.version_id, t.Access.time)
                            .join(t.Run, t.Run.id == t.Access.run_id)
                            .where(t.Access.artifact_hash.in_(hashes)).distinct()).all()
    reached = reached or {}

    def counts(row: Any) -> bool:
        if row[3] not in reached:
            return True
        by, reach = reached[row[3]]
        run = row[0]
        if run in reach.followed or any(run == r for r, _ in by):
            return True
        if run in reach.left_out:
            return False
        return not by or any(row[6] >= time for _, time in by)  # (no time known: kept)

    rows = [r for r in rows if counts(r)]
    kept = list(dict.fromkeys(tuple(r[:5]) for r in scope.keep_reads([tuple(r[:6]) for r in rows])))
    frame = pd.DataFrame(kept, columns=["run_id", "run_name", "user", "artifact", "role"])
    frame["artifact"] = [labels.get(h, h[:12]) for h in frame["artifact"]]
    return frame


def _depths(root: str, edges: list[tuple], upstream: bool) -> dict[str, int]:
    depth = {root: 0}
    changed = True
    while changed:
        changed = False
        for src, dst, *_ in edges:
            near, far = (dst, src) if upstream else (src, dst)
            if near in depth and far not in depth:
                depth[far] = depth[near] + 1
                changed = True
    return depth


def operations_of(store: Store, log_hash: str, source: str | None = None,
                  target: str | None = None) -> list[str]:
    """The operations a lineage log records, as a person would read them, in a topological order.

    With ``source`` (the edge's source artifact), only the edge's own: those on the paths from the
    source to the log's roots that pass through no other registered source of the log (see
    :func:`~.operations.edge_operations`), so the edge ``wine-clean -> wine-train`` shows the split,
    not the cleaning again, and the edge ``clean -> model`` of a model fitted on features of a
    registered ``train`` and a target taken from ``clean`` shows the target's branch only.
    """
    return edge_operations(store, log_hash, source, target=target).operations
