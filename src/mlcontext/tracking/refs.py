"""The objects the API returns, accepted wherever a reference is asked for (``docs/references.md``).

A function that takes a reference takes its text (``"trips@2"``, a run id or name, ``"RUN:NAME"``, a
content hash) **or** the object that names the same thing: a :class:`~.datasets.DatasetVersion`, a
:class:`~.run.Run`, a :class:`~mlcontext.store.RunRecord`, an :class:`~mlcontext.store.ArtifactRef`.
An object is turned into the *exact* reference it stands for (a version with its project, a run by its
full id, an artifact by its content hash), never into a name that could resolve to something else.
"""

from __future__ import annotations

from typing import Any

from ..errors import ReferenceTypeError
from ..store import ArtifactRef, RunRecord

__all__ = ["run_id_ref", "dataset_ref", "dataset_name", "artifact_ref", "is_dataset_version", "is_run",
           "is_hash"]

_HEX = frozenset("0123456789abcdef")


def is_hash(text: Any) -> bool:
    """Whether ``text`` is read as a content hash: 32 lowercase hex digits (no dataset is so named)."""
    return isinstance(text, str) and len(text) == 32 and set(text) <= _HEX


def is_dataset_version(obj: Any) -> bool:
    from .datasets import DatasetVersion  # datasets imports this module's neighbours; import on use

    return isinstance(obj, DatasetVersion)


def is_run(obj: Any) -> bool:
    from .run import Run

    return isinstance(obj, Run | RunRecord)


def _refuse(obj: Any, wanted: str) -> ReferenceTypeError:
    return ReferenceTypeError(f"expected {wanted}, got a {type(obj).__name__}: {obj!r:.80}")


def run_id_ref(ref: Any) -> str:
    """A run reference as text: a ``Run`` or ``RunRecord`` by its full id, a string as it is."""
    if isinstance(ref, str):
        return ref
    if is_run(ref):
        return ref.id
    raise _refuse(ref, "a run: its id, an id prefix, its name, a Run or a RunRecord")


def dataset_ref(ref: Any, project: str | None = None) -> tuple[str, str | None]:
    """``(text, project)`` of a dataset reference; a ``DatasetVersion`` is ``name@version`` in its project."""
    if isinstance(ref, str):
        return ref, project
    if is_dataset_version(ref):
        return ref.ref, ref.project
    raise _refuse(ref, "a dataset: NAME, NAME@VERSION, a content hash or a DatasetVersion")


def dataset_name(ref: Any, project: str | None = None) -> tuple[str, str | None]:
    """``(name, project)`` where a whole dataset is asked for (``versions``, ``history``, ``tried``)."""
    if is_dataset_version(ref):
        return ref.name, ref.project
    text, project = dataset_ref(ref, project)
    return text, project


def artifact_ref(ref: Any, project: str | None = None) -> tuple[str, str | None]:
    """``(text, project)`` of anything lineage questions are asked about.

    A ``DatasetVersion`` becomes its content hash in its project, an ``ArtifactRef`` its content hash.
    """
    if isinstance(ref, str):
        return ref, project
    if is_dataset_version(ref):
        return ref.artifact_hash, ref.project
    if isinstance(ref, ArtifactRef):
        return ref.hash, project
    raise _refuse(ref, "an artifact: NAME, NAME@VERSION, RUN:NAME, a content hash, a DatasetVersion or "
                       "an ArtifactRef")
