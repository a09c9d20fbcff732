"""Named, versioned datasets (``mc.dataset``) and who read them for what (behavioural context).

``mc.dataset(data, name="trips", role="train")`` stores the data content-addressed, records a new
version of ``trips`` only when the content changed, keeps its profile (schema and per-column
statistics), and, inside a run, records the run's read of it with its role, or, when the data was
derived in the run (it carries lineage), records it as the run's output with edges from what it was
derived from. Reading a ``test`` version more often than its budget warns
(:class:`~mlcontext.errors.TestSetOveruseWarning`): test data used for model selection stops being
test data.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xxhash

from ..errors import MLContextError, NotFoundError, TestSetOveruseWarning
from ..insight.profile import Profile, profile
from ..lineage.item import DATA, walk
from ..lineage.log import roots_of
from ..lineage.recompute import leaf_fields
from ..names import check_name
from ..store import Store
from ..store.context import ROLES, ContextStore, VersionRow
from .run import active_run
from .stores import get_store

__all__ = ["DatasetVersion", "dataset", "dataset_version", "versions", "TEST_BUDGET"]

#: How many runs may evaluate one test version before each further evaluation warns.
TEST_BUDGET = int(os.environ.get("MLCONTEXT_TEST_BUDGET", "10"))


@dataclass(frozen=True)
class DatasetVersion:
    """One version of a named dataset, with its profile. ``load()`` gives the data back."""

    project: str
    name: str
    version: int
    content_hash: str
    artifact_hash: str
    role: str | None
    rows: int | None
    profile: Profile
    run_id: str | None
    user: str
    created_at: float
    new: bool = False
    store: Store | None = None

    @property
    def ref(self) -> str:
        """``name@version``, accepted wherever a dataset version is asked for."""
        return f"{self.name}@{self.version}"

    def load(self) -> pd.DataFrame:
        store = self.store or get_store()
        return _decode(store.artifacts.get(self.artifact_hash), store, self.artifact_hash)

    def __repr__(self) -> str:
        return (f"<DatasetVersion {self.project}/{self.ref} role={self.role} rows={self.rows} "
                f"{self.content_hash[:8]}>")


def dataset(data: Any, name: str, role: str | None = None, *, project: str | None = None,
            store: Store | None = None, budget: int | None = None) -> DatasetVersion:
    """Record a version of the dataset ``name`` (a DataFrame, a traced frame/array, or a file path).

    Examples
    --------
    >>> import mlcontext as mc, pandas as pd, tempfile
    >>> mc.set_store(tempfile.mkdtemp())
    >>> v = mc.dataset(pd.DataFrame({"x": [1, 2]}), name="toy", project="doc")
    >>> v.ref, v.new, v.profile.rows
    ('toy@1', True, 2)
    >>> mc.dataset(pd.DataFrame({"x": [1, 2]}), name="toy", project="doc").new
    False
    >>> mc.set_store(None)
    """
    check_name(name, "dataset")
    if role is not None and role not in ROLES:
        raise MLContextError(f"role must be one of {ROLES}, not {role!r}")
    run = active_run()
    store = store or (run.store if run is not None else get_store())
    project = project or (run.project if run is not None else _default_project())
    frame, content_hash, artifact_hash, leaves = _store_content(store, data)
    row, new = ContextStore(store.metadata).add_version(
        project, name, content_hash=content_hash, artifact_hash=artifact_hash, role=role,
        rows=len(frame), profile=profile(frame).to_dict(), run_id=run.id if run else None,
        user=run.user if run else _user())
    if run is not None:
        _record_use(store, run, row, role or row.role, leaves, budget)
    return _public(row, new, store)


def _record_use(store: Store, run: Any, row: VersionRow, role: str | None, leaves: list[str],
                budget: int | None) -> None:
    context = ContextStore(store.metadata)
    if leaves:  # derived here: an output of the run, with edges from the leaves it came from
        store.metadata.add_artifact(run.id, row.name, row.artifact_hash, size=0, kind="dataset",
                                    meta={"dataset": row.name, "version": row.version})
        context.add_edges([(leaf, row.artifact_hash) for leaf in leaves], run_id=run.id, kind="lineage")
        return
    context.record_access(run.id, row.artifact_hash, role=role, user=run.user, version_id=row.id)
    if role == "test":
        _check_test_budget(context, row, TEST_BUDGET if budget is None else budget)


def _check_test_budget(context: ContextStore, row: VersionRow, budget: int) -> None:
    reads = context.accesses(version_id=row.id, role="test")
    runs = {r[0] for r in reads}
    users = {r[1] for r in reads}
    if len(runs) > budget:
        warnings.warn(
            f"test set {row.ref} has been evaluated in {len(runs)} runs by {len(users)} people "
            f"(budget {budget}): model selection on it overfits the test set; use a validation split, "
            "or a fresh test set (`mlcontext testuse` lists the evaluations)",
            TestSetOveruseWarning, stacklevel=3)


def dataset_version(ref: str, *, project: str | None = None, store: Store | None = None) -> DatasetVersion:
    """The version named by ``ref``: ``"trips@2"``, ``"trips"`` (the latest), or a content hash."""
    store = store or get_store()
    context = ContextStore(store.metadata)
    name, _, number = ref.partition("@")
    if not number and len(ref) == 32 and all(c in "0123456789abcdef" for c in ref):
        found = context.versions_by_hash([ref])
        if ref in found:
            return _public(found[ref], False, store)
    try:
        version = int(number) if number else None
    except ValueError:
        raise NotFoundError(f"{ref!r}: expected NAME, NAME@VERSION (a number) or a content hash") from None
    return _public(context.version(name, version, project), False, store)


def versions(name: str, *, project: str | None = None, store: Store | None = None) -> pd.DataFrame:
    """Every version of dataset ``name``: version, role, rows, columns, who, when, which run."""
    store = store or get_store()
    rows = ContextStore(store.metadata).versions(name, project)
    frame = pd.DataFrame([dict(project=v.project, version=v.version, role=v.role, rows=v.rows,
                               columns=len(v.profile.get("columns", {})), user=v.user, run_id=v.run_id,
                               content_hash=v.content_hash, created=v.created_at) for v in rows])
    if not frame.empty:
        frame["created"] = pd.to_datetime(frame["created"], unit="s", utc=True)
    return frame


def _public(row: VersionRow, new: bool, store: Store) -> DatasetVersion:
    return DatasetVersion(project=row.project, name=row.name, version=row.version,
                          content_hash=row.content_hash, artifact_hash=row.artifact_hash, role=row.role,
                          rows=row.rows, profile=Profile.from_dict(row.profile), run_id=row.run_id,
                          user=row.user, created_at=row.created_at, new=new, store=store)


# -- content: bytes in the artifact store, identity, lineage leaves ------------------------------

def _store_content(store: Store, data: Any) -> tuple[pd.DataFrame, str, str, list[str]]:
    """``(frame, content hash, artifact hash, lineage leaf hashes)`` of ``data`` after storing it."""
    leaves = _lineage_leaves(data)
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if not path.is_file():
            raise NotFoundError(f"no such data file: {path}")
        digest = store.artifacts.put_file(path)
        store.metadata.add_artifact(None, path.name, digest, size=path.stat().st_size, kind="file",
                                    meta={"source": str(path.resolve()), "format": path.suffix.lstrip(".")})
        return _read_file(path), digest, digest, leaves
    frame = _as_frame(data)
    payload = pickle.dumps(frame, protocol=5)
    digest = store.artifacts.put(payload)
    store.metadata.add_artifact(None, "dataset", digest, size=len(payload), kind="frame", meta={})
    return frame, frame_content_hash(frame), digest, leaves


def frame_content_hash(frame: pd.DataFrame) -> str:
    """A content fingerprint of a frame: column names, dtypes, index and values."""
    h = xxhash.xxh3_128()
    h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def _as_frame(data: Any) -> pd.DataFrame:
    value = getattr(data, "_value", data)  # a traced frame or array holds its plain value
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame()
    if isinstance(value, np.ndarray) or hasattr(data, "__array__"):
        array = np.asarray(data)
        return pd.DataFrame(array.reshape(len(array), -1) if array.ndim != 2 else array).rename(columns=str)
    raise MLContextError(f"mc.dataset() takes a DataFrame, an array or a file path, not "
                         f"{type(data).__name__}")


def _read_file(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".npy":
        return _as_frame(np.load(path, allow_pickle=False))
    raise MLContextError(f"cannot read {path.name}: mc.dataset() reads .csv, .tsv, .parquet and .npy "
                         "files; load other formats yourself and pass the DataFrame")


def _decode(data: bytes, store: Store, digest: str) -> pd.DataFrame:
    info = store.metadata.artifact_info(digest)
    kind = info[0] if info else "frame"
    if kind == "frame":
        return pickle.loads(data)  # noqa: S301 - written by mc.dataset into this project's store
    suffix = (info[2].get("format", "csv") if info else "csv")
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"mlcontext-{digest}.{suffix}"
    tmp.write_bytes(data)
    try:
        return _read_file(tmp)
    finally:
        tmp.unlink(missing_ok=True)


def _lineage_leaves(data: Any) -> list[str]:
    """Content hashes of the data leaves ``data`` was derived from (empty for plain data)."""
    try:
        roots = roots_of(data)
    except MLContextError:
        return []
    if all(r.opcode == DATA for r in roots):
        return []  # a traced leaf is the data itself, not something derived
    return [leaf_fields(item)["hash"] for item in walk(roots) if item.opcode == DATA]


def _default_project() -> str:
    from .run import _default_project as default

    return default()


def _user() -> str:
    from .environment import capture_environment

    return capture_environment().user
