"""Artifact formats: objects to stored bytes and back, without running the writer's code in the reader.

A store is shared: whoever can write to it chooses the bytes a colleague's ``mc.load_artifact`` or
``mlcontext diff`` reads. So every value goes through a format made for it, and only pickles can run
code when read:

==========  =================================================  ========================================
format      what                                               read back with
==========  =================================================  ========================================
``npy``     NumPy arrays (not ``dtype=object``), scalars       ``np.load(allow_pickle=False)``
``arrow``   pandas DataFrame / Series (Arrow IPC, "Feather")   ``pyarrow``; labels from a JSON note
``json``    None, bool, int, float, str, and lists / dicts     ``json.loads``
            of them (str keys), when they round-trip exactly
``skops``   scikit-learn estimators (the ``sklearn`` extra)    ``skops.io.loads``: scikit-learn's own
                                                               types; others only when trusted
``torch``   tensors and state dicts (when torch is imported)   ``torch.load(weights_only=True)``;
                                                               whole modules only when trusted
``pickle``  anything else                                      ``pickle`` only when trusted
==========  =================================================  ========================================

Files, ``bytes`` and folders are stored as they are (``tracking/trees.py`` for folders). Legacy
formats stay readable: ``array`` (header + buffer, from before ``npy``) and ``frame`` (a pickled
DataFrame written by ``mc.dataset``, which, being a pickle, needs trust).

Trust: a pickle (or a skops/torch file naming other types) is read when the caller passes
``trusted=True``, or when this very process wrote it. Recorded user names and file ownership are not
trusted: anyone who can write the store can write any name, and a copied or cloned store belongs to
whoever copied it. Inside the CLI (:func:`no_unpickling`) nothing is ever unpickled, trusted or not.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import pickle
import re
import sys
import types
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ArtifactCorruptedError, DataFormatError, UntrustedArtifactError
from ..fingerprint import array_header, canonical_array, hash_array, hash_frame
from .state import STATE

__all__ = ["Encoded", "encode", "decode", "encode_frame", "decode_frame", "decode_array",
           "no_unpickling", "UNSAFE_FORMATS"]

#: Formats whose reading can run code chosen by the writer (see :func:`decode`).
UNSAFE_FORMATS = frozenset({"pickle", "frame"})

# STATE.written_here: digests of pickles this process wrote, safe for it to read back;
# STATE.no_unpickling > 0 inside no_unpickling(): nothing is unpickled, trusted or not.


@dataclass(frozen=True)
class Encoded:
    """Bytes to store, the format they are in, metadata, and the content's lineage identity."""

    data: bytes
    format: str
    meta: dict[str, Any] = field(default_factory=dict)
    content_hash: str | None = None


@contextlib.contextmanager
def no_unpickling() -> Iterator[None]:
    """Within this block no pickle is ever loaded, even with ``trusted=True`` (the CLI runs in one)."""
    STATE.no_unpickling += 1
    try:
        yield
    finally:
        STATE.no_unpickling = max(0, STATE.no_unpickling - 1)  # (0 if reset inside the block)


def note_written(digest: str, fmt: str) -> None:
    """Remember that this process wrote ``digest``: its own pickles it may read back untrusted."""
    if fmt in UNSAFE_FORMATS or fmt in ("skops", "torch"):
        STATE.written_here.add(digest)


# -- encoding ------------------------------------------------------------------------------------

def encode(obj: Any) -> Encoded:
    """``obj`` in the safest format that holds it (the table in the module docstring).

    Raises
    ------
    DataFormatError
        ``obj`` fits no format and does not pickle either.
    """
    if isinstance(obj, bytes | bytearray | memoryview):
        return Encoded(bytes(obj), "bytes")
    if isinstance(obj, np.ndarray | np.generic) and not np.asarray(obj).dtype.hasobject:
        return _encode_npy(obj)
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(obj, pandas.DataFrame | pandas.Series):
        data, content_hash = encode_frame(obj)
        return Encoded(data, "arrow", {"pandas": type(obj).__name__}, content_hash)
    text = _json_bytes(obj)
    if text is not None:
        return Encoded(text, "json")
    for encoder in (_encode_torch, _encode_skops):
        found = encoder(obj)
        if found is not None:
            return found
    return _encode_pickle(obj)


def _encode_npy(obj: np.ndarray | np.generic) -> Encoded:
    # Record arrays with their padding zeroed: equal arrays, equal bytes (fingerprint.canonical_array).
    array = np.asarray(obj)
    if array.dtype.fields is not None:  # (not for others: ascontiguousarray makes 0-d arrays 1-d)
        array = canonical_array(array)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    meta = {"shape": list(array.shape), "dtype": _dtype_meta(array.dtype),
            "scalar": isinstance(obj, np.generic)}
    # The lineage leaf hash (equal to hash_bytes(array_header(array) + array.tobytes())), streamed
    # from the buffer instead of hashing a concatenated copy: a 32 MB array was copied twice for it.
    identity = hash_array(array)
    return Encoded(buffer.getvalue(), "npy", meta, identity)


def _dtype_meta(dtype: np.dtype) -> Any:
    # A record dtype's ``str`` is '|V16': its fields by the .npy format's description instead.
    return dtype.str if dtype.fields is None else np.lib.format.dtype_to_descr(dtype)


def _dtype_of(meta: Any) -> np.dtype:
    if isinstance(meta, str):
        return np.dtype(meta)
    return np.lib.format.descr_to_dtype(_tuples(meta))


def _tuples(x: Any) -> Any:
    # JSON gave lists where the description had tuples (field, format[, shape]).
    if isinstance(x, list) and x and all(isinstance(f, list | tuple) for f in x):
        return [tuple(_tuples(v) if isinstance(v, list) else v for v in f) for f in x]
    return x


def _json_bytes(obj: Any) -> bytes | None:
    """JSON of plain data that reads back equal, of the same types; else ``None``."""
    if not _plain(obj, depth=0):
        return None
    return json.dumps(obj, ensure_ascii=False, sort_keys=False, separators=(",", ":")).encode()


def _plain(obj: Any, depth: int) -> bool:
    if depth > 100:
        return False
    if obj is None or type(obj) in (bool, int, str):
        return True
    if type(obj) is float:
        return True  # NaN and infinities are written as NaN / Infinity, which json.loads reads
    if type(obj) is list:
        return all(_plain(x, depth + 1) for x in obj)
    if type(obj) is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in obj.items())
    return False


def _encode_pickle(obj: Any) -> Encoded:
    try:
        data = pickle.dumps(obj, protocol=5)
    except Exception as exc:  # noqa: BLE001 - __reduce__ is user code: any error means "cannot store"
        raise DataFormatError(
            f"cannot store a {type(obj).__name__} as an artifact: it fits no data format and does not "
            f"pickle ({type(exc).__name__}: {exc}); save it to a file and pass the path instead") from exc
    return Encoded(data, "pickle", {"class": f"{type(obj).__module__}.{type(obj).__qualname__}"})


# -- scikit-learn through skops ------------------------------------------------------------------

def _skops_io() -> Any:
    """``skops.io``, imported without importing torch when the program has not.

    Importing skops.io lists scikit-learn's estimators (``sklearn.utils.all_estimators``), whose
    ``pkgutil.walk_packages`` imports every package of scikit-learn to find its modules, vendored ones
    it then skips included: ``sklearn.externals.array_api_compat.torch`` imports torch, 3.6 s of the
    5.3 s a first model save took on a 2-core machine with torch installed (a newcomer's "train took
    8 s"). A module object stands in for that one package while skops.io is imported, and is taken out
    again; a program that imported torch has it already, and nothing stands in. The walk only asks the
    stand-in for its ``__path__``; another thread that meets it meanwhile and reads anything else gets
    the real package, imported then (:class:`_Vendored`)."""
    loaded = sys.modules.get("skops.io")
    if loaded is not None:
        return loaded
    import importlib

    stand_in = None
    if _VENDORED_TORCH not in sys.modules and "torch" not in sys.modules:
        stand_in = sys.modules[_VENDORED_TORCH] = _Vendored(_VENDORED_TORCH)
    try:
        return importlib.import_module("skops.io")
    finally:
        if stand_in is not None and sys.modules.get(_VENDORED_TORCH) is stand_in:
            del sys.modules[_VENDORED_TORCH]


_VENDORED_TORCH = "sklearn.externals.array_api_compat.torch"


class _Vendored(types.ModuleType):
    """Stands in for a package while a package walk passes it: no ``__path__`` (so the walk does not go
    into it), and any other attribute read from the real package, imported at the first such read."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        import importlib

        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def _encode_skops(obj: Any) -> Encoded | None:
    base = sys.modules.get("sklearn.base")
    if base is None or not isinstance(obj, base.BaseEstimator):
        return None
    try:
        sio = _skops_io()
    except ImportError:  # the sklearn extra brings skops; without it, a trusted-only pickle
        return None
    plain = _untraced(obj)
    try:
        data = sio.dumps(plain)
    except Exception:  # noqa: BLE001 - skops cannot hold every object; a pickle (trusted-only) can
        return None
    cls = type(plain)
    return Encoded(_canonical_skops(data), "skops", {"class": f"{cls.__module__}.{cls.__qualname__}"})


_MEMBER_NAME = re.compile(r"(\d+)(\.\w+)")


def _canonical_skops(data: bytes) -> bytes:
    """The skops zip with the same bytes for the same model in every process.

    skops names nodes and array members by ``id()`` and stamps members with the current time, so one
    model would be stored once per process. Ids are renumbered in order of first appearance (the
    schema's order is the object's), members renamed to match, times zeroed.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            schema = json.loads(source.read("schema.json"))
            members = {name: source.read(name) for name in source.namelist() if name != "schema.json"}
    except (zipfile.BadZipFile, KeyError, ValueError):
        return data
    ids: dict[int, int] = {}
    _number_ids(schema, ids)
    renamed = {_renumber_member(name, ids): body for name, body in members.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for name, body in [("schema.json", json.dumps(_renumber(schema, ids), indent=2).encode()),
                           *sorted(renamed.items())]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            out.writestr(info, body)
    return buffer.getvalue()


def _number_ids(node: Any, ids: dict[int, int]) -> None:
    if isinstance(node, dict):
        if type(node.get("__id__")) is int:
            ids.setdefault(node["__id__"], len(ids))
        for value in node.values():
            _number_ids(value, ids)
    elif isinstance(node, list):
        for value in node:
            _number_ids(value, ids)


def _renumber(node: Any, ids: dict[int, int]) -> Any:
    if isinstance(node, dict):
        return {k: (ids.get(v, v) if k == "__id__" and type(v) is int else
                    _renumber_member(v, ids) if k == "file" and isinstance(v, str) else _renumber(v, ids))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_renumber(v, ids) for v in node]
    return node


def _renumber_member(name: str, ids: dict[int, int]) -> str:
    found = _MEMBER_NAME.fullmatch(name)
    if found is None or int(found.group(1)) not in ids:
        return name
    return f"{ids[int(found.group(1))]}{found.group(2)}"


class _Untracing(pickle.Pickler):
    """Pickles estimators traced by ``mc.traced`` as their plain scikit-learn class."""

    def reducer_override(self, obj: Any) -> Any:
        base = type(obj).__dict__.get("_mlcontext_base")  # set on traced classes only
        if isinstance(base, type):  # mlcontext's own attributes (lineage items) stay behind
            state = {k: v for k, v in vars(obj).items() if not k.startswith("_mlcontext")}
            return (_plain_instance, (base, state))
        return NotImplemented


def _plain_instance(cls: type[Any], state: dict) -> Any:
    # the class's own __new__ (mypy reads cls.__new__ of a type[Any] as the metaclass's, type.__new__)
    obj = cls.__new__(cls)  # type: ignore[call-overload]
    obj.__dict__.update(state)
    return obj


def _untraced(estimator: Any) -> Any:
    """A copy of ``estimator`` with every traced estimator in it replaced by its plain class."""
    buffer = io.BytesIO()
    _Untracing(buffer, protocol=5).dump(estimator)
    return pickle.loads(buffer.getvalue())  # noqa: S301 - bytes this function just wrote


def _decode_skops(data: bytes, meta: Mapping[str, Any], trusted: bool) -> Any:
    try:
        sio = _skops_io()
    except ImportError as exc:
        raise DataFormatError("this artifact is a scikit-learn model in skops format: install "
                              "skops (pip install 'mlcontext[sklearn]')") from exc
    try:
        names = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001 - a damaged or crafted file
        raise ArtifactCorruptedError(f"not a readable skops file: {exc}") from exc
    unknown = [n for n in names if not _sklearn_class(n)]
    if unknown and not trusted:
        raise UntrustedArtifactError(
            f"this scikit-learn model names types outside scikit-learn ({', '.join(unknown[:5])}); "
            "loading them runs their code. Pass trusted=True if you trust who wrote it")
    return sio.loads(data, trusted=names)


def _sklearn_class(name: str) -> bool:
    """Whether ``name`` is a class of scikit-learn itself (what a model may name untrusted)."""
    module, _, attr = name.rpartition(".")
    if module.split(".")[0] != "sklearn":
        return False
    try:
        found = getattr(__import__(module, fromlist=[attr]), attr, None)
    except ImportError:
        return False
    return isinstance(found, type)


# -- torch ---------------------------------------------------------------------------------------

def _encode_torch(obj: Any) -> Encoded | None:
    torch = sys.modules.get("torch")  # only when the user's code imported it: never import it here
    if torch is None:
        return None
    module = isinstance(obj, torch.nn.Module)
    state = isinstance(obj, torch.Tensor) or (
        isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()))
    if not (module or state):
        return None
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return Encoded(buffer.getvalue(), "torch", {"weights_only": not module})


def _decode_torch(data: bytes, meta: Mapping[str, Any], trusted: bool) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise DataFormatError("this artifact was saved with torch.save: install torch to load it") from exc
    weights_only = meta.get("weights_only") is not False
    if not weights_only and not trusted:
        raise UntrustedArtifactError(
            "this artifact is a whole torch module, which loads by unpickling its classes; pass "
            "trusted=True if you trust who wrote it, or store model.state_dict() instead")
    try:
        with warnings.catch_warnings():
            # torch's weights-only unpickler warns about a pickle protocol other than its own (a file
            # not written by torch.save): the error below says what is wrong, the raw warning adds
            # only noise to the reader's output.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(io.BytesIO(data), weights_only=weights_only)
    except Exception as exc:  # noqa: BLE001 - a damaged or crafted file raises anything
        if weights_only and "Weights only load failed" in str(exc):
            # torch's restricted unpickler refused a type: the file names more than tensors. It was
            # recorded as tensors only (a state dict), so trusted=True cannot help: the label and
            # the bytes disagree, and a label is never upgraded to "run the pickle" by a reader.
            first = str(exc).split("\n")[0]
            raise UntrustedArtifactError(
                "this torch file was recorded as tensors only (a state dict) but names other types, "
                "which only an unpickler that runs code could load; trusted=True does not change "
                "that. Ask its writer to store model.state_dict() again, or, if you trust them, read "
                f"the stored bytes yourself with torch.load(..., weights_only=False) ({first})") from exc
        raise ArtifactCorruptedError(f"not a readable torch file: {exc}".split("\n")[0]) from exc


# -- pandas through Arrow ------------------------------------------------------------------------

_NOTE_KEY = b"mlcontext.pandas"


def encode_frame(value: Any) -> tuple[bytes, str]:
    """Arrow IPC bytes of a DataFrame or Series, and its :func:`~mlcontext.fingerprint.hash_frame`.

    Column labels of any plain type (``1`` and ``"1"`` side by side, tuples of a MultiIndex, a
    RangeIndex) are kept in a JSON note, since Arrow fields are named by strings. The bytes are read
    back before they are accepted: what is stored hashes like what was given, so a dataset version
    read back links to the same lineage leaf.

    Raises
    ------
    DataFormatError
        A column Arrow cannot hold (mixed Python objects, complex numbers, sparse), or labels of
        another type than None, bool, int, float, str or tuples of them.
    """
    import pandas as pd
    import pyarrow as pa

    series = isinstance(value, pd.Series)
    frame = value.to_frame() if series else value
    note = {"columns": _encode_columns(frame.columns), "dtypes": [str(d) for d in frame.dtypes],
            "series": series, "name": _tag(value.name) if series else None,
            "nulls": _object_nulls(frame)}
    positional = frame.copy(deep=False)
    positional.columns = [f"c{k}" for k in range(frame.shape[1])]
    try:
        table = pa.Table.from_pandas(positional, preserve_index=None)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        # Arrow names the positional field (c0): say the user's own label instead.
        labels = list(frame.columns)
        reason = re.sub(r"\bc(\d+)\b", lambda m: repr(labels[int(m.group(1))])
                        if int(m.group(1)) < len(labels) else m.group(0), str(exc))
        raise DataFormatError(f"cannot store this {type(value).__name__} as Arrow data ({reason}); convert "
                              "the column to one type first (e.g. .astype(str))") from exc
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           _NOTE_KEY: json.dumps(note).encode()})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    data = sink.getvalue().to_pybytes()
    expected = hash_frame(value)
    if hash_frame(decode_frame(data)) != expected:
        raise DataFormatError(f"this {type(value).__name__} does not survive a round trip through Arrow "
                              f"unchanged (dtypes {sorted({str(d) for d in frame.dtypes})}); convert "
                              "its unusual columns first")
    return data, expected


def decode_frame(data: bytes) -> Any:
    """The DataFrame or Series :func:`encode_frame` stored.

    Raises
    ------
    ArtifactCorruptedError
        The bytes are not an Arrow file written by :func:`encode_frame`.
    """
    import pyarrow as pa

    try:
        table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
        note = json.loads(table.schema.metadata[_NOTE_KEY])
        frame = table.to_pandas()
        frame.columns = _decode_columns(note["columns"])
        nulls = note.get("nulls") or {}
        for k, dtype in enumerate(note["dtypes"]):
            if dtype == "object":  # Python objects as they were (None stays None, not NaN)
                frame.isetitem(k, _objects(table.column(f"c{k}").to_pylist(), frame.index,
                                           nulls.get(str(k))))
        if note["series"]:
            return frame.iloc[:, 0].rename(_untag(note["name"]))
        return frame
    except (pa.ArrowException, KeyError, TypeError, ValueError, IndexError, RecursionError) as exc:
        raise ArtifactCorruptedError(f"not an Arrow frame written by mlcontext: {exc!r}") from exc


def _objects(values: list[Any], index: Any, nulls: dict[str, Any] | None = None) -> Any:
    import pandas as pd

    array = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):  # element by element: a list value stays one element
        array[k] = value
    if nulls:  # the missing values that were not None (Arrow keeps a null, not which one)
        for kind, where in nulls.items():
            missing = _null_kinds()[kind]
            if where == "all":
                array[[k for k, v in enumerate(values) if v is None]] = missing
            else:
                for k in where:
                    array[k] = missing
    return pd.Series(array, index=index, dtype=object)


def _null_kinds() -> dict[str, Any]:
    import pandas as pd

    return {"nan": float("nan"), "npnan": np.float64("nan"), "NA": pd.NA, "NaT": pd.NaT}


def _object_nulls(frame: Any) -> dict[str, dict[str, Any]]:
    """Per object column (by position), the missing values that are not None, by kind: Arrow stores
    every one as a null, read back as None, and a frame with NaN for a missing string (what
    ``.astype(object)`` of strings with NaN gives) was refused as not surviving the round trip (a
    newcomer's finding). ``"all"`` when every null of the column is of that kind."""
    import pandas as pd

    found: dict[str, dict[str, Any]] = {}
    for k, dtype in enumerate(frame.dtypes):
        if str(dtype) != "object":
            continue
        values = frame.iloc[:, k].to_numpy()
        missing = pd.isna(values) if values.ndim == 1 else None
        if missing is None or not missing.any():
            continue
        kinds: dict[str, list[int]] = {}
        for position in np.flatnonzero(missing):
            v = values[position]
            kind = ("nan" if type(v) is float else "npnan" if type(v) is np.float64 else "NA" if v is pd.NA
                    else "NaT" if v is pd.NaT else None)
            if kind is not None:
                kinds.setdefault(kind, []).append(int(position))
        total = int(missing.sum())
        found_k = {kind: ("all" if len(where) == total else where) for kind, where in kinds.items()}
        if found_k:
            found[str(k)] = found_k
    return found


def _encode_columns(columns: Any) -> dict[str, Any]:
    import pandas as pd

    names = [_tag(n) for n in columns.names]
    if isinstance(columns, pd.RangeIndex):
        return {"range": [columns.start, columns.stop, columns.step], "names": names}
    labels = [_tag(x) for x in columns]
    if isinstance(columns, pd.MultiIndex):
        return {"multi": labels, "names": names}
    return {"labels": labels, "dtype": str(columns.dtype), "names": names}


def _decode_columns(note: Mapping[str, Any]) -> Any:
    import pandas as pd

    names = [_untag(n) for n in note["names"]]
    if "range" in note:
        return pd.RangeIndex(*note["range"], name=names[0])
    if "multi" in note:
        return pd.MultiIndex.from_tuples([_untag(x) for x in note["multi"]], names=names)
    dtype = note["dtype"]
    return pd.Index([_untag(x) for x in note["labels"]], dtype=object if dtype == "object" else dtype,
                    name=names[0])


def _tag(value: Any) -> list[Any]:
    """A label as tagged JSON, so ``1``, ``"1"``, ``1.0`` and ``True`` stay apart."""
    if value is None:
        return ["n"]
    if isinstance(value, bool | np.bool_):
        return ["b", bool(value)]
    if isinstance(value, int | np.integer):
        return ["i", int(value)]
    if isinstance(value, float | np.floating):
        return ["f", repr(float(value))]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, tuple):
        return ["t", [_tag(x) for x in value]]
    raise DataFormatError(f"cannot store a column label of type {type(value).__name__} ({value!r}); "
                          "rename the columns to strings or numbers")


def _untag(tagged: list[Any]) -> Any:
    kind = tagged[0]
    if kind == "n":
        return None
    if kind == "t":
        return tuple(_untag(x) for x in tagged[1])
    value = tagged[1]
    checks = {"b": bool, "i": int, "s": str, "f": str}
    if kind not in checks or type(value) is not checks[kind]:
        raise ValueError(f"bad label tag {tagged!r}")
    return float(str(value)) if kind == "f" else value  # "f": a float written as its text


# -- decoding ------------------------------------------------------------------------------------

def decode(data: bytes, fmt: str, meta: Mapping[str, Any], *, trusted: bool | None = None,
           digest: str | None = None) -> Any:
    """The object stored as ``data`` in format ``fmt`` (see the module docstring).

    Parameters
    ----------
    trusted
        ``True``: you trust whoever wrote the store, so pickles (and skops or torch files naming
        types outside their library) may be loaded, which runs code they chose. ``None`` (default):
        only pickles this process wrote. ``False``: never.
    digest
        The content hash of ``data`` (to recognise what this process wrote).

    Raises
    ------
    UntrustedArtifactError
        Reading would run code its writer chose and the reader did not say it trusts the writer.
    ArtifactCorruptedError
        The bytes are not in the recorded format.
    """
    trust = _trusts(trusted, digest)
    if fmt == "npy":
        return _decode_npy(data, meta)
    if fmt == "array":
        return decode_array(data, meta)
    if fmt == "arrow":
        return decode_frame(data)
    if fmt == "json":
        return _decode_json(data)
    if fmt == "skops":
        return _decode_skops(data, meta, trust)
    if fmt == "torch":
        return _decode_torch(data, meta, trust)
    if fmt in UNSAFE_FORMATS:
        return _unpickle(data, meta, trust, fmt)
    return data  # bytes and files: the bytes themselves


def _trusts(trusted: bool | None, digest: str | None) -> bool:
    if STATE.no_unpickling:
        return False
    if trusted is not None:
        return bool(trusted)
    return digest is not None and digest in STATE.written_here


def _unpickle(data: bytes, meta: Mapping[str, Any], trust: bool, fmt: str) -> Any:
    if not trust:
        what = ("a DataFrame an older mlcontext stored as a pickle" if fmt == "frame"
                else f"a pickle of {meta.get('class', 'an object')}")
        where = ("the mlcontext command line never unpickles; load it in Python"
                 if STATE.no_unpickling else "pass trusted=True")
        raise UntrustedArtifactError(
            f"this artifact is {what}: loading it runs code chosen by whoever wrote it. If you trust "
            f"them, {where} (e.g. mc.load_artifact(run, name, trusted=True) or "
            "mc.dataset_version(ref).load(trusted=True)); see docs/security.md")
    try:
        return pickle.loads(data)  # noqa: S301 - the caller said it trusts the writer
    except (ImportError, AttributeError) as exc:
        # Not corrupt (its bytes match their hash): it names a class this process cannot import.
        raise DataFormatError(_missing_class(exc, meta)) from exc
    except Exception as exc:  # noqa: BLE001 - a damaged pickle: any error the unpickler raises
        raise ArtifactCorruptedError(f"the pickled artifact does not load: {exc!r}") from exc


def _missing_class(exc: ImportError | AttributeError, meta: Mapping[str, Any]) -> str:
    """What to import or install when a pickle names a class this process does not have."""
    recorded = meta.get("class")
    module = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    if module is None and isinstance(recorded, str) and "." in recorded:
        module = recorded.rpartition(".")[0]
    what = f"class {recorded}" if isinstance(recorded, str) else "a class"
    if module in (None, "__main__"):
        return (f"this pickle names {what}, which cannot be imported here ({exc}); it was defined in the "
                "writer's script (__main__): define or import that class in this process before "
                "loading, or store the object in a data format")
    return (f"this pickle names {what}, which cannot be imported here ({exc}): install or import the "
            f"module {module!r} (the writer's code) in this process before loading it")


def _decode_npy(data: bytes, meta: Mapping[str, Any]) -> Any:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ArtifactCorruptedError(f"not an .npy array without pickles: {exc}") from exc
    return array[()] if meta.get("scalar") and array.ndim == 0 else array


def _decode_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ArtifactCorruptedError(f"not a JSON artifact: {exc!r}") from exc


def decode_array(data: bytes, meta: Mapping[str, Any]) -> np.ndarray:
    """An array in the legacy ``array`` format (header + buffer; dtype and shape come from meta)."""
    try:
        dtype, shape = _dtype_of(meta["dtype"]), tuple(meta["shape"])
        if dtype.hasobject:
            raise ValueError("object arrays are not stored as raw buffers")
        skip = len(array_header(np.empty((0,) * len(shape), dtype=dtype)))
        count = math.prod(shape)
        return np.frombuffer(data, dtype=dtype, offset=skip, count=count).reshape(shape).copy()
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ArtifactCorruptedError(f"not an array artifact: {exc}") from exc
