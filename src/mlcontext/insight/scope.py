"""Which runs of byte-identical data a lineage question is about.

Content addressing makes identical bytes one node of the graph, however many datasets registered
them: ``raw@1`` of project ``wine`` and its byte copy in project ``archive`` are one node. At such a
node the edges and reads of runs that used the *other* dataset are that dataset's, not this one's
(``impact raw@1 -p archive`` listed wine's whole downstream). Which dataset a node stands for follows
how the question reached it:

- the node asked about: the project of the question (``-p``, the version's or the run's project);
- a node reached through an edge of run R: the versions R read or created (its accesses, the run a
  version records), else those of R's own project, else every one.

Versions a run linked by copying (it read one and created another of the same bytes: a mirror of
wine's clean) stand for each other: the mirror's model derives from wine's computation.

An edge or read at the node belongs to it when its run read or created one of those versions, or, for
a run that touched no version of the node, when the run is in one of those projects (a run of project
``analysis`` that read wine's ``raw@1`` by its project is wine's reader, not of analysis's byte copy).
Nodes that only one project's datasets hold are never filtered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..store.context import ContextStore, VersionRow

__all__ = ["ProjectScope"]

#: Projects a node stands for; None: every project (nothing to choose by).
Projects = frozenset[str] | None


class ProjectScope:
    """The projects each shared node of one graph question stands for (see the module docstring)."""

    def __init__(self, context: ContextStore, project: str | None) -> None:
        self.context, self.project = context, project
        self._held: dict[str, list[VersionRow]] = {}  # hash -> the dataset versions holding it
        self._touched: dict[str, set[int]] = {}  # run -> versions it read or created
        self._projects: dict[str, str] = {}  # run -> its project
        self._stands_for: dict[str, set[str] | None] = {}  # node -> projects (union over its reaches)
        self._links: dict[str, list[set[str]]] = {}  # node -> projects each run touching it linked

    # -- what is known ---------------------------------------------------------------------------------
    def _versions(self, hashes: Iterable[str]) -> None:
        unknown = [h for h in set(hashes) if h not in self._held]
        if unknown:
            found = self.context.all_versions_by_hash(unknown)
            for h in unknown:
                self._held[h] = found.get(h, [])

    def _runs(self, run_ids: Iterable[str | None]) -> None:
        unknown = [r for r in set(run_ids) if r and r not in self._touched]
        if unknown:
            self._touched.update(self.context.touched_versions(unknown))
            self._projects.update(self.context.run_projects(unknown))

    def _shared(self, node: str) -> bool:
        return len({v.project for v in self._held.get(node, ())}) > 1

    # -- the projects a node stands for ----------------------------------------------------------------
    def _linked(self, node: str, projects: set[str]) -> set[str]:
        """``projects`` and those whose versions of ``node`` a run touched together with one of
        theirs (read wine's clean, created mirror's: a copy), to a fixed point."""
        links = self._links.get(node)
        if links is None:
            held = {v.id: v.project for v in self._held[node]}
            touching = self.context.touching_runs(held)
            links = self._links[node] = [{held[i] for i in ids} for ids in touching.values() if len(ids) > 1]
        found, grown = set(projects), True
        while grown:
            grown = False
            for linked in links:
                if linked & found and not linked <= found:
                    found |= linked
                    grown = True
        return found

    def _reached(self, node: str, via: str | None) -> Projects:
        """The projects ``node`` stands for when reached through an edge of run ``via`` (None: it is
        the node asked about)."""
        held = self._held[node]
        if via is None:
            found: set[str] | None = {self.project} if self.project else None
        else:
            touched = self._touched.get(via, set())
            found = {v.project for v in held if v.id in touched}
            own = self._projects.get(via)
            if not found and own in {v.project for v in held}:
                found = {own}
            found = found or None
        if found is not None:
            found = self._linked(node, found)
        if node not in self._stands_for or self._stands_for[node] is not None:
            known = self._stands_for.get(node, set())
            self._stands_for[node] = None if found is None else (known or set()) | found
        return None if found is None else frozenset(found)

    def _belongs(self, run: str | None, node: str, projects: frozenset[str]) -> bool:
        """Whether run ``run`` used ``node`` as one of ``projects``' datasets: the versions of it the
        run read or created say which; a run that touched none of them, by its own project."""
        if run is None:
            return False
        touched = self._touched.get(run, set())
        used = {v.project for v in self._held[node] if v.id in touched}
        return bool(used & projects) if used else self._projects.get(run) in projects

    def prefetch(self, frontier: Iterable[tuple[str, str | None]], level: Sequence[tuple]) -> None:
        """Read at once what :meth:`keep` needs for one level of a traversal: the versions holding
        its nodes, and the runs that reached them and made its edges."""
        frontier = list(frontier)
        self._versions([*(node for node, _ in frontier), *(e[0] for e in level), *(e[1] for e in level)])
        self._runs([*(run for _, run in frontier), *(e[2] for e in level)])

    def keep(self, node: str, via: str | None, edges: list[tuple]) -> list[tuple]:
        """The ``edges`` (src, dst, run_id, ...) at ``node``, reached through run ``via``, that
        belong to what ``node`` stands for (what they need is read by :meth:`prefetch`, else here)."""
        self._versions([node])
        if not self._shared(node):
            return edges
        self._runs([via, *(e[2] for e in edges)])
        projects = self._reached(node, via)
        if projects is None:
            return edges
        return [e for e in edges if self._belongs(e[2], node, projects)]

    def keep_reads(self, reads: list[Any]) -> list[Any]:
        """The reads ``(run_id, run_name, user, hash, role, version_id)`` that belong to what their
        node stands for (the readers of a downstream graph)."""
        self._versions(r[3] for r in reads)
        self._runs(r[0] for r in reads)
        kept = []
        for read in reads:
            node, version = read[3], read[5]
            projects = self._stands_for.get(node)
            if not self._shared(node) or projects is None:
                kept.append(read)
            elif version is not None:
                if any(v.id == version and v.project in projects for v in self._held[node]):
                    kept.append(read)
            elif self._belongs(read[0], node, frozenset(projects)):
                kept.append(read)
        return kept

    def labels(self, labels: dict[str, str]) -> dict[str, str]:
        """Nodes that versions of several datasets hold: the versions they stand for, never one
        picked silently (``raw@1 = raw-backup@1``; with the project when several:
        ``wine/raw@1 = zzz/raw-backup@1``)."""
        self._versions(labels)
        chosen: dict[str, list[VersionRow]] = {}
        for node in labels:
            held = self._held.get(node, [])
            projects = self._stands_for.get(node, {self.project} if self.project else None)
            if held:
                chosen[node] = [v for v in held if projects is None or v.project in projects] or held
        # Versions of several projects in one graph (or of another project than the question's) are
        # named with their projects, all of them: `clean@1` beside `archive/clean@1 = churn/clean@2`
        # read as if clean@1 were archive's.
        shown = {v.project for versions in chosen.values() for v in versions}
        qualify = len(shown) > 1 or (self.project is not None and shown - {self.project} != set())
        for node, versions in chosen.items():
            if len(self._held[node]) > 1 or qualify:  # (describe_hashes names one of several)
                labels[node] = " = ".join(f"{v.project}/{v.ref}" if qualify else v.ref for v in versions)
        return labels
