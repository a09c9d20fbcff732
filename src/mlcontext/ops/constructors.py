"""``mc.array``: make a traced leaf from data."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import file_bytes
from ..errors import InvalidArgumentError, LineageError, UsageError
from ..fingerprint import hash_bytes
from ..lineage.item import Item, leaf
from ..lineage.literals import Literals
from ..lineage.operations import register_source
from ..names import check_name
from .dispatch import data_leaf, hold
from .traced import TracedArray

__all__ = ["array", "asarray", "load", "LOAD"]

LOAD = "numpy.load"  # a leaf: an array read from a .npy file, identified by the file's bytes


def array(data: Any, name: str | None = None, *, dtype: Any = None,
          copy: bool = True) -> TracedArray:
    """A traced leaf: the array identified by its content hash, labelled ``name``.

    Like :func:`numpy.array` the data is copied (``copy=False`` wraps it when it already is an
    ndarray: then do not change it afterwards, its lineage would go stale; :func:`asarray` wraps
    without copying and makes the array read-only instead).

    Parameters
    ----------
    data : array_like
        Anything :func:`numpy.array` takes, except masked arrays and matrices (their meaning would
        be lost), ``None``, generators and functions; a traced array is returned as it is.
    name : str, optional
        A label shown in lineage and used by recompute to find the data again.
    dtype : data-type, optional
        As for :func:`numpy.array`.
    copy : bool
        ``False`` wraps an ndarray without copying it.

    Returns
    -------
    TracedArray
        The value with a leaf lineage item (opcode ``lineage.data``) holding its content hash.

    Raises
    ------
    UsageError
        ``data`` is ``None``, a generator, a function, a masked array or a matrix, or ``dtype`` is
        not one.
    InvalidArgumentError
        NumPy cannot make an array of ``data`` (ragged nested lists ...).
    InvalidNameError
        ``name`` is not a valid name.
    FingerprintError
        An object array holds elements without a fingerprint (arbitrary objects).

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> x = mc.array(np.arange(3.0), name="x")
    >>> x.lineage.opcode, x.lineage.label
    ('lineage.data', 'x')
    >>> np.asarray(2 * x)
    array([0., 2., 4.])
    """
    if isinstance(data, TracedArray):
        return data if dtype is None else data.astype(dtype)
    _refuse_subclass(data)
    if name is not None:
        check_name(name, "array")
    value = _new_array(data, dtype, copy)
    if value is not data and value.base is None:
        value.flags.writeable = False  # our own copy: nothing may write into a traced value
        hold(value)
    return TracedArray(value, data_leaf(value, name, embed=False))


def _new_array(data: Any, dtype: Any, copy: bool) -> np.ndarray:
    """``np.array(data, dtype=dtype)``, with NumPy's refusals said as mlcontext errors."""
    if data is None:  # NumPy would make a 0-d object array holding None
        raise UsageError("mc.array takes array-like data (an array, a list, a number), not None")
    if (isinstance(data, Iterator) or callable(data)) and not hasattr(data, "__array__"):
        # NumPy would make a 0-d object array holding the generator or function itself (an iterator
        # or callable that converts itself, as ``a.flat`` and ``np.poly1d`` do, is data).
        raise UsageError(f"mc.array takes array-like data (an array, a list, a number), not the "
                         f"{type(data).__name__} {_short(data)}; "
                         + ("pass list(...) of it" if isinstance(data, Iterator) else "call it first"))
    try:
        return np.array(data, dtype=dtype, copy=True if copy else None)
    except TypeError as exc:  # a dtype NumPy does not understand, data it cannot convert to it
        raise UsageError(f"mc.array: NumPy refuses this {type(data).__name__} (dtype={dtype!r}): {exc}") \
            from None
    except ValueError as exc:  # ragged nested lists, a string that is no number for dtype=float
        raise InvalidArgumentError(f"mc.array: NumPy cannot make an array of this {type(data).__name__}: "
                                   f"{exc}; pass a regular (rectangular) nested list or an array") from None


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        return "..."
    return text if len(text) <= 40 else text[:37] + "..."


def _refuse_subclass(data: Any) -> None:
    """A masked array or a matrix would silently become the plain ndarray of its buffer (its mask
    lost, ``*`` elementwise): traced NumPy would then compute something else than NumPy does."""
    if isinstance(data, np.ma.MaskedArray):
        raise UsageError("a masked array cannot be traced: a traced array is a plain ndarray, so its "
                         "mask would be lost and results would differ from NumPy's; use "
                         "np.ma.filled(a, fill), or trace the data and the mask as two arrays")
    if isinstance(data, np.matrix):
        raise UsageError("an np.matrix cannot be traced: a traced array is a plain ndarray, so * would "
                         "be elementwise and results would differ from NumPy's; use np.asarray(m) "
                         "and the @ operator")


def asarray(data: Any, name: str | None = None, *, dtype: Any = None) -> TracedArray:
    """A traced leaf over ``data`` without copying it, as :func:`numpy.asarray` does: the array is
    made read-only instead, so its lineage can never go stale.

    Use it for large inputs you will not change (``mc.array`` copies, which for a 1 GB input costs
    about as much as reading it). An array that owns its memory is frozen in place: writing into it
    afterwards raises ``ValueError: assignment destination is read-only``. A view of another array
    (which could still be written through its base), a non-array, or an array to convert to another
    ``dtype`` is copied, as by :func:`array`.
    Views of ``data`` made *before* the call are not frozen with it: do not write through them.

    Parameters
    ----------
    data : array_like
        As for :func:`array`; an ndarray that owns its memory is wrapped, not copied.
    name : str, optional
        A label shown in lineage and used by recompute to find the data again.
    dtype : data-type, optional
        As for :func:`numpy.asarray` (another dtype than ``data``'s copies).

    Returns
    -------
    TracedArray
        The value with a leaf lineage item holding its content hash.

    Raises
    ------
    UsageError
        ``dtype`` is not a NumPy dtype, or ``data`` is not array-like (as for :func:`array`).
    InvalidArgumentError
        NumPy cannot make an array of ``data``.
    InvalidNameError
        ``name`` is not a valid name.

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> data = np.arange(3.0)
    >>> x = mc.asarray(data, name="x")
    >>> np.shares_memory(np.asarray(x), data), data.flags.writeable
    (True, False)
    """
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise UsageError(f"mc.asarray(dtype={dtype!r}): not a NumPy dtype ({exc})") from None
    if isinstance(data, TracedArray):
        return data if dtype is None or dtype == data.dtype else data.astype(dtype)
    if type(data) is not np.ndarray or data.base is not None or data.dtype.hasobject or (
            dtype is not None and dtype != data.dtype):
        return array(data, name, dtype=dtype)
    if name is not None:
        check_name(name, "array")
    data.flags.writeable = False
    hold(data)  # (its owner may make it writable again: documented, as for copy=False)
    return TracedArray(data, data_leaf(data, name, embed=False))


def load(file: str | os.PathLike[str] | bytes, name: str | None = None) -> TracedArray:
    """Read a ``.npy`` file as a traced leaf identified by the content hash of the file's bytes.

    Recompute finds the bytes again by the leaf's name or hash in ``inputs=`` (a path or bytes), or
    in the artifact store when the file was stored there (e.g. with :func:`mlcontext.dataset`).
    Pickled object arrays are refused, as in ``np.load(allow_pickle=False)``.

    Parameters
    ----------
    file : str, path or bytes
        The file's path, or its bytes.
    name : str, optional
        A label (default: the file's name).

    Returns
    -------
    TracedArray
        The array, with a leaf lineage item (opcode ``numpy.load``) holding the bytes' hash.

    Raises
    ------
    NotFoundError
        No file at ``file``.
    UsageError
        ``file`` is neither a path nor bytes.
    LineageError
        The bytes are not a ``.npy`` array (or hold pickled objects).
    InvalidNameError
        ``name`` is not a valid name.

    Examples
    --------
    >>> import io, numpy as np, mlcontext as mc
    >>> buffer = io.BytesIO(); np.save(buffer, np.arange(3.0))
    >>> x = mc.load(buffer.getvalue(), name="x.npy")
    >>> mc.recompute(mc.lineage.dumps(x * 2), inputs={"x.npy": buffer.getvalue()})
    array([0., 2., 4.])
    """
    raw = file_bytes(file, "mc.load: the .npy file")
    label = name if name is not None else (None if isinstance(file, bytes | bytearray | memoryview)
                                           else Path(file).name)
    if label is not None:
        check_name(label, "array")
    value = _decode_npy(raw, label)
    return TracedArray(value, leaf(LOAD, ("D", (("hash", ("s", hash_bytes(raw))),)), label))


def _decode_npy(raw: bytes, label: str | None) -> np.ndarray:
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as exc:
        raise LineageError(f"{label or 'file'}: not a .npy array file ({exc})") from exc


def _load_source(item: Item, inputs: Mapping[str, Any], resolver: Any) -> np.ndarray:
    hash_node = Literals(item.literals).field("hash")
    if hash_node is None:  # the log parser checks a source leaf's fields: only a hand-made item lacks it
        raise LineageError(f"{item.label or 'source'}: a source leaf without a content hash")
    digest = hash_node[1]
    raw = None
    for key in (item.label, digest):
        if key is not None and key in inputs:
            given = inputs[key]
            is_bytes = isinstance(given, bytes | bytearray | memoryview)
            raw = bytes(given) if is_bytes else Path(given).read_bytes()
            break
    if raw is None and resolver is not None:
        found = resolver(digest)
        raw = bytes(found) if isinstance(found, bytes | bytearray | memoryview) else None
    if raw is None:
        raise LineageError(f"cannot recompute: no bytes for file {item.label or digest}; pass its path "
                           "or bytes in inputs= by name or content hash")
    if hash_bytes(raw) != digest:
        raise LineageError(f"the file given for {item.label or digest} has content hash {hash_bytes(raw)}, "
                           f"the lineage recorded {digest}")
    return _decode_npy(raw, item.label)


register_source(LOAD, _load_source)
