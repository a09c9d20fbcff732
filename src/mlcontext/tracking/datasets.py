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

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import (
    ArtifactCorruptedError,
    DataFormatError,
    InvalidArgumentError,
    LineageLostWarning,
    NotFoundError,
    UsageError,
)
from ..loops import current_loops
from ..names import check_name
from ..store import Store
from ..store.context import ROLES, ContextStore, VersionRow, latest_first_key
from ..store.frames import VERSIONS, typed_empty
from .dataset_refs import dataset_of, version_row
from .derivation import lineage_leaves, plain_value, record_output
from .formats import decode, encode_frame
from .profile import Profile, profile
from .refs import dataset_ref
from .run import active_run
from .stores import get_store
from .uses import Source, defer_test_read, registered_any
from .uses import install as install_use_hook

__all__ = ["DatasetVersion", "dataset", "dataset_version", "versions", "DIRECTIONS"]

#: What a run can do with a dataset version it registers: read it, or make it.
DIRECTIONS = ("input", "output")

@dataclass(frozen=True)
class DatasetVersion:
    """One version of a named dataset, with its profile. ``load()`` gives the data back.

    Returned by :func:`mlcontext.dataset` and :func:`mlcontext.dataset_version`; accepted wherever a
    dataset version is asked for.

    Attributes
    ----------
    project, name : str
        Where it belongs and the dataset's name.
    version : int
        1, 2, ... in the order contents were recorded; ``ref`` is ``"name@version"``.
    content_hash : str
        The data's identity, as lineage knows it.
    artifact_hash : str
        Where its bytes are stored.
    role : str or None
        ``train``, ``validation``, ``test`` or ``live``.
    rows : int or None
        Rows of the table.
    profile : Profile
        Schema and per-column statistics.
    run_id : str or None
        The run that recorded it.
    user : str
        Who recorded it.
    created_at : float
        UNIX seconds.
    new : bool
        Whether this call recorded a new version (``False``: the content was known).
    store : Store or None
        The store it was read from.

    Examples
    --------
    >>> import pandas as pd
    >>> v = mc.dataset(pd.DataFrame({"x": [1, 2]}), "trips", role="train", project="doc")
    >>> v.ref, v.role, v.rows, v.load()["x"].tolist()
    ('trips@1', 'train', 2, [1, 2])
    """

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
    store: Store | None = field(default=None, repr=False, compare=False)
    _row_id: int | None = field(default=None, repr=False, compare=False)

    @property
    def ref(self) -> str:
        """``name@version``, accepted wherever a dataset version is asked for."""
        return f"{self.name}@{self.version}"

    def load(self, *, trusted: bool | None = None) -> pd.DataFrame:
        """The data as a plain DataFrame (read back from the artifact store, verified).

        Versions are stored as Arrow (or as the data file they were read from). Versions an older
        mlcontext stored as pickles load only with ``trusted=True``: unpickling runs code chosen by
        whoever wrote the store (``docs/security.md``). Inside a run, the read is recorded.

        Parameters
        ----------
        trusted : bool, optional
            Whether you trust whoever wrote the store (only legacy pickles need it).

        Returns
        -------
        pandas.DataFrame
            The data, as it was recorded.

        Raises
        ------
        UntrustedArtifactError
            The version is a legacy pickle and ``trusted`` is not ``True``.
        ArtifactCorruptedError
            The stored bytes do not match their content hash.

        Examples
        --------
        >>> import pandas as pd
        >>> v = mc.dataset(pd.DataFrame({"x": [1.5, 2.5]}), "trips", project="doc")
        >>> mc.dataset_version("trips@1", project="doc").load()
             x
        0  1.5
        1  2.5
        """
        store = self.store or get_store()
        data = store.artifacts.get(self.artifact_hash)
        frame = _decode(data, store, self.artifact_hash, trusted)
        self._record_read()
        return frame

    def _record_read(self) -> None:
        run = active_run()
        if run is None:
            return
        if self.role == "test" and self._row_id is not None:  # counted when evaluated (uses.py)
            defer_test_read(run, Source(self.artifact_hash, None, self._row_id, "test", self.ref))
            return
        ContextStore(run.store.metadata).record_access(
            run.id, self.artifact_hash, role=self.role, user=run.user, version_id=self._row_id)

    def frame(self, *, trusted: bool | None = None) -> Any:
        """The data as a traced frame whose lineage leaf is this version, so derived data links back.

        A CSV, TSV or Parquet file version is read with :func:`mlcontext.read_csv` or
        :func:`mlcontext.read_parquet` (identified by the file's bytes, as the version is), a frame
        version wrapped with :func:`mlcontext.frame` (identified by its columnwise fingerprint). A
        ``.npy`` file version's frame is identified by its content, not by the version: derived data
        does not link back to it (register the array as a frame, or read it with
        :func:`mlcontext.load`).
        """
        from ..ops.pandas_api import frame, own_frame, read_csv, read_parquet

        store = self.store or get_store()
        info = store.metadata.artifact_info(self.artifact_hash)
        if info is not None and info[0] == "file":
            # Read as _read_file reads it, through the traced reader: the leaf then carries the
            # file's hash, which is the version's (a parquet file's frame fingerprint is not).
            fmt = str(info[2].get("format", "")).lower()
            readers = {"csv": lambda raw: read_csv(raw, name=self.name),
                       "txt": lambda raw: read_csv(raw, name=self.name),
                       "tsv": lambda raw: read_csv(raw, name=self.name, sep="\t"),
                       "parquet": lambda raw: read_parquet(raw, name=self.name)}
            reader = readers.get(fmt)
            if reader is not None:
                self._record_read()
                return reader(store.artifacts.get(self.artifact_hash))
        data = self.load(trusted=trusted)  # read from the store: this process's own copy
        if isinstance(data, pd.DataFrame | pd.Series):
            return own_frame(data, name=self.name)
        return frame(data, name=self.name)

    def __repr__(self) -> str:
        return (f"<DatasetVersion {self.project}/{self.ref} role={self.role} rows={self.rows} "
                f"{self.content_hash[:8]}>")


def dataset(data: Any, name: str, role: str | None = None, *, project: str | None = None,
            store: Store | None = None, budget: int | None = None,
            direction: str | None = None) -> DatasetVersion:
    """Record a version of the dataset ``name`` (a DataFrame, a traced frame/array, or a file path).

    A new version is made only when the content changes. Inside a run, a plain value is a *read* of
    the version (with its role; reads of ``test`` versions count against the budget) and a traced
    value with lineage is an *output* of the run, linked to the data it was derived from.
    ``direction="output"`` records a plain value (or a file) as what the run *made*: a scoring
    script's predictions, a file it wrote. It is linked to everything the run read or loaded before
    (run-level lineage, as OpenLineage's run inputs and outputs), so ``impact`` of the model it
    loaded reaches it.

    Parameters
    ----------
    data : DataFrame, Series, array, traced value, str or path
        The content, or the path of a ``.csv``, ``.tsv``, ``.parquet`` or ``.npy`` file.
    name : str
        The dataset's name (``trips``; no ``@`` or ``:``).
    role : {"train", "validation", "test", "live"}, optional
        What the version is used for; ``test`` versions are counted when evaluated.
    project : str, optional
        Default: the active run's project, else the project folder's name.
    store : Store, optional
        Default: the active run's store, else :func:`mlcontext.get_store`.
    budget : int, optional
        Evaluations of this test version allowed before :class:`~mlcontext.TestSetOveruseWarning`.
    direction : {"input", "output"}, optional
        What the active run did with the data. Default: ``"output"`` for a traced value derived in
        the run, ``"input"`` for anything else. An output is not a use of a test version: making
        a test set is not evaluating on it. Registering content that is a version already makes it
        the latest again, as registering new content does (a step re-run with its old parameters,
        a raw file rolled back), except with an explicit ``direction="input"``: a run that only
        re-reads an old snapshot changes nothing (``mc.dataset_version("trips@1").load()`` reads
        one without registering anything).

    Returns
    -------
    DatasetVersion
        The version (``ref`` such as ``"trips@2"``, ``new``, ``rows``, ``profile``, ``frame()``).

    Raises
    ------
    InvalidNameError
        ``name`` is not a valid dataset name.
    InvalidArgumentError
        ``role`` is not one of the roles, or ``direction`` not one of the directions.
    UsageError
        ``data`` is of a kind that is no table, or ``direction`` is given outside a run.
    NotFoundError
        ``data`` is a path naming no file.
    DataFormatError
        The file's format is not one mc.dataset reads.

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
        raise InvalidArgumentError(f"role must be one of {ROLES} (or None: the version's earlier role), "
                                   f"not {role!r}")
    if direction is not None and direction not in DIRECTIONS:
        raise InvalidArgumentError(f"direction must be one of {DIRECTIONS} (or None: an output when the "
                                   f"value was derived in the run), not {direction!r}")
    run = active_run()
    if direction is not None and run is None:
        raise UsageError(f"mc.dataset(..., direction={direction!r}) says what a run did with {name!r}, "
                         "but no run is active: call it inside `with mc.run(...)`, or drop direction=")
    store = store or (run.store if run is not None else get_store())
    project = project or (run.project if run is not None else _default_project())
    frame, content_hash, artifact_hash = _store_content(store, data)
    derived = bool(lineage_leaves(data)) if direction is None else direction == "output"
    row, new = ContextStore(store.metadata).add_version(
        project, name, content_hash=content_hash, artifact_hash=artifact_hash, role=role,
        rows=len(frame), profile=profile(frame).to_dict(), run_id=run.id if run else None,
        # Registering says "this is the dataset's content now": content registered again (a step
        # re-run with its old parameters, a raw file rolled back) is the latest again, whether the
        # run made it or read it, as new content is. A run that says it only reads an old snapshot
        # (direction="input") changes nothing.
        user=run.user if run else _user(), made=direction != "input")
    if run is not None:
        _record_use(store, run, row, role or row.role, data, derived, budget)
    return _public(row, new, store)


def _record_use(store: Store, run: Any, row: VersionRow, role: str | None, data: Any,
                derived: bool, budget: int | None) -> None:
    context = ContextStore(store.metadata)
    if derived:  # made in this run: its output, with edges from what it came from (traced), else
        # from everything the run read before (record_output's run edges)
        # with the enclosing loops' indices, as an artifact has them (mc.load_artifact(run, name, day=1))
        loops = {frame.name: frame.index for frame in current_loops()}
        store.metadata.add_artifact(run.id, row.name, row.artifact_hash, size=0, kind="dataset",
                                    meta={"dataset": row.name, "version": row.version}, direction="output",
                                    context=loops)
        # Its role travels with it: a test set split inside the script counts when it is evaluated,
        # by a traced estimator or metric, or by code mlcontext cannot see once the split is taken out
        # of lineage (the use hook hears of that: installed here, as for traced estimators).
        record_output(run, row.artifact_hash, data, row.name,
                      source=Source(row.artifact_hash, None, row.id, role or row.role, row.ref))
        if (role or row.role) == "test":
            install_use_hook()
        return
    if lineage_leaves(data) is None and not isinstance(data, (str, os.PathLike)) and registered_any(run.id):
        _warn_lineage_lost(row)
    if role == "test":  # counted when evaluated, or when the run finishes (uses.py)
        defer_test_read(run, Source(row.artifact_hash, None, row.id, "test", row.ref), budget)
        return
    context.record_access(run.id, row.artifact_hash, role=role, user=run.user, version_id=row.id)


def _warn_lineage_lost(row: VersionRow) -> None:
    """A plain value registered after the run derived registered data from traced values was most
    likely derived too, by code that dropped the lineage on the way (``to_pandas()``, ``np.asarray``):
    say so instead of recording a graph with a silent gap."""
    warnings.warn(
        f"{row.name}@{row.version} is a plain value without lineage, although this run derived other "
        "registered data: mlcontext cannot tell what it came from, so lineage and impact will not link "
        "it. Keep the traced frame or array (e.g. split it with train_test_split directly, without "
        ".to_pandas() or np.asarray); if it is new data, ignore this warning",
        LineageLostWarning, stacklevel=4)  # the user's mc.dataset line


def dataset_version(ref: Any, *, project: str | None = None, store: Store | None = None) -> DatasetVersion:
    """The version named by ``ref``: ``"trips@2"``, ``"trips"`` (the latest), a content hash, or a
    ``DatasetVersion`` (read again from ``store``).

    Parameters
    ----------
    ref : str or DatasetVersion
        ``"trips@2"``, ``"trips"`` (the latest), a content hash, or a ``DatasetVersion``.
    project : str, optional
        The project of a dataset name that exists in several projects.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    DatasetVersion
        The version, as recorded.

    Raises
    ------
    NotFoundError
        No such dataset or version.
    AmbiguousReferenceError
        The name exists in several projects and ``project`` is not given.
    ReferenceTypeError
        ``ref`` is of a kind that names no dataset version.

    Examples
    --------
    >>> import pandas as pd
    >>> _ = mc.dataset(pd.DataFrame({"x": [1, 2]}), "trips", project="doc")
    >>> v = mc.dataset_version("trips@1", project="doc")
    >>> v.ref, v.rows, v.frame().to_pandas()["x"].tolist()
    ('trips@1', 2, [1, 2])
    """
    store = store or get_store()
    ref, project = dataset_ref(ref, project)
    return _public(version_row(store, ref, project), False, store)


def versions(name: Any, *, project: str | None = None, store: Store | None = None) -> pd.DataFrame:
    """Every version of dataset ``name`` (or of a ``DatasetVersion``'s dataset).

    Parameters
    ----------
    name : str or DatasetVersion
        The dataset: its name, ``NAME@VERSION``, a content hash or a ``DatasetVersion`` (each
        names its dataset).
    project : str, optional
        The project of a dataset name that exists in several projects.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    pandas.DataFrame
        Columns ``project, version, role, rows, columns, user, run_id, content_hash, created,
        registered, registered_by``, latest first: the first row is the version ``NAME`` alone
        names, the one registered last (content registered again is the latest again, whatever its
        number). ``user`` and ``run_id`` made the version (``created``); ``registered`` is when its
        content was last registered, by run ``registered_by`` (None when no run did, or when a store
        from before revision 0008 recorded it).

    Raises
    ------
    NotFoundError
        ``name`` names no dataset: no dataset of that name, a version or a content hash (or a hash
        prefix) no dataset version has; the message says what to pass instead.
    AmbiguousReferenceError
        The name exists in several projects and ``project`` is not given.
    ReferenceTypeError
        ``name`` names no dataset.

    Examples
    --------
    >>> import pandas as pd
    >>> _ = mc.dataset(pd.DataFrame({"x": [1, 2]}), "trips", project="doc")
    >>> _ = mc.dataset(pd.DataFrame({"x": [1, 2, 3]}), "trips", project="doc")
    >>> mc.versions("trips", project="doc")[["version", "rows", "columns"]]
       version  rows  columns
    0        2     3        1
    1        1     2        1
    """
    store = store or get_store()
    name, project = dataset_of(store, name, project)
    # Latest first, as `runs` and `find` list newest first (docs/cli.md): the first row is what NAME
    # alone names (ContextStore.version), registered within one clock tick: the newer version first.
    rows = sorted(ContextStore(store.metadata).versions(name, project), key=latest_first_key, reverse=True)
    if not rows:
        return typed_empty(VERSIONS)
    frame = pd.DataFrame([dict(project=v.project, version=v.version, role=v.role, rows=v.rows,
                               columns=len(v.profile.get("columns", {})), user=v.user, run_id=v.run_id,
                               content_hash=v.content_hash, created=v.created_at,
                               registered=v.registered_at, registered_by=v.registered_by) for v in rows])
    if not frame.empty:
        for column in ("created", "registered"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame


def _public(row: VersionRow, new: bool, store: Store) -> DatasetVersion:
    return DatasetVersion(project=row.project, name=row.name, version=row.version,
                          content_hash=row.content_hash, artifact_hash=row.artifact_hash, role=row.role,
                          rows=row.rows, profile=Profile.from_dict(row.profile), run_id=row.run_id,
                          user=row.user, created_at=row.created_at, new=new, store=store, _row_id=row.id)


# -- content: bytes in the artifact store, identity, lineage leaves ------------------------------

def _store_content(store: Store, data: Any) -> tuple[pd.DataFrame, str, str]:
    """``(frame, content hash, artifact hash)`` of ``data`` after storing it.

    The content hash is the one lineage uses for the same data (a file's bytes, as ``mc.read_csv``; a
    frame's columnwise fingerprint, as ``mc.frame``), so derived data links back to this version.
    """
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if not path.is_file():
            raise NotFoundError(f"no such data file: {path}")
        frame = _read_file(path, path.suffix, path.name)  # before storing: an unreadable file stores nothing
        digest = store.artifacts.put_file(path)
        store.metadata.add_artifact(None, path.name, digest, size=path.stat().st_size, kind="file",
                                    meta={"source": str(path.resolve()), "format": path.suffix.lstrip(".")})
        return frame, digest, digest
    frame = _as_frame(data)
    payload, content_hash = encode_frame(frame)  # Arrow, never a pickle: readers run no code
    digest = store.artifacts.put(payload)
    store.metadata.add_artifact(None, "dataset", digest, size=len(payload), kind="frame",
                                meta={"format": "arrow", "pandas": "DataFrame"}, content_hash=content_hash)
    return frame, content_hash, digest


def _as_frame(data: Any) -> pd.DataFrame:
    value = plain_value(data)
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame()
    if isinstance(value, np.ndarray) or hasattr(data, "__array__"):
        array = np.asarray(data)
        return pd.DataFrame(array.reshape(len(array), -1) if array.ndim != 2 else array).rename(columns=str)
    raise UsageError(f"mc.dataset() takes a DataFrame, a Series, an array or a file path, not "
                     f"{type(data).__name__}; convert it first (e.g. pd.DataFrame(...))")


def _read_file(source: Path | io.BytesIO, suffix: str, name: str) -> pd.DataFrame:
    """A data file (a path, or its stored bytes) as a frame, by its suffix."""
    suffix = suffix.lower()
    if suffix not in (".csv", ".txt", ".tsv", ".parquet", ".npy"):
        raise DataFormatError(f"cannot read {name}: mc.dataset() reads .csv, .tsv, .parquet and .npy "
                              "files; load other formats yourself and pass the DataFrame")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(source)
        if suffix == ".npy":
            return _as_frame(np.load(source, allow_pickle=False))
        return pd.read_csv(source, sep="\t" if suffix == ".tsv" else ",")
    except (ValueError, OSError, EOFError) as exc:  # an empty file, a parser error, not this format
        # (pandas' EmptyDataError and ParserError, pyarrow's ArrowInvalid are ValueErrors)
        raise DataFormatError(f"cannot read {name} as a {suffix} file: {type(exc).__name__}: "
                              f"{str(exc).rstrip('.')}. "
                              "Check the file (an export that failed may leave it empty), or load it "
                              "yourself and pass the DataFrame") from exc


def _decode(data: bytes, store: Store, digest: str, trusted: bool | None) -> pd.DataFrame:
    info = store.metadata.artifact_info(digest)
    kind, meta = (info[0], info[2]) if info else ("frame", {})
    if kind == "file":  # a data file: read by its suffix, straight from the verified bytes
        return _read_file(io.BytesIO(data), "." + str(meta.get("format", "csv")), digest)
    # Arrow; or, written by an older mlcontext, a pickle (kind "frame"), which needs trust.
    fmt = meta["format"] if isinstance(meta.get("format"), str) else str(kind)
    value = decode(data, fmt, meta, trusted=trusted, digest=digest)
    if not isinstance(value, pd.DataFrame):
        raise ArtifactCorruptedError(f"dataset artifact {digest} holds a {type(value).__name__}, not a "
                                     "DataFrame")
    return value


def _default_project() -> str:
    from .run import _default_project as default

    return default()


def _user() -> str:
    from .environment import current_user  # (not capture_environment: it also lists packages)

    return current_user()
