"""Traced pandas, the public face (``mc.pd``): ``mc.frame``, ``mc.read_csv``, ``mc.read_parquet`` and
the traced module functions (``mc.pd.concat``, ``mc.pd.merge`` ...).

The other concerns live beside it: :mod:`.pandas_registry` (which operations are traced and what
each runs), :mod:`.pandas_proxies` (indexers, accessors, deferred objects), :mod:`.pandas_leaves`
(frames, files, functions and scalars as lineage leaves), :mod:`.pandas_frame` (the traced frame
itself); reading lineage back as transformations is :mod:`mlcontext.insight.transformations`
(``mc.pd.transformations``, which the package adds here when ``mc.pd`` is first used).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..checks import file_bytes
from ..errors import InvalidArgumentError, UsageError, refusal
from ..fingerprint import hash_bytes
from ..lineage.item import leaf
from ..names import check_name
from . import pandas_frame as pf
from .dispatch import Uncanonical
from .pandas_frame import TracedFrame, TracedSeries, call
from .pandas_leaves import (
    FRAME_DATA,
    FUNCTION,
    READ_CSV,
    READ_PARQUET,
    frame_leaf,
    parquet_reader,
)

__all__ = ["frame", "read_csv", "read_parquet", "concat", "merge", "to_datetime", "to_numeric",
           "get_dummies", "cut", "qcut", "FRAME_DATA", "FUNCTION", "READ_CSV", "READ_PARQUET"]


def frame(data: Any, name: str | None = None) -> TracedFrame | TracedSeries:
    """A traced frame (or series): a leaf identified by its content hash, labelled ``name``.

    The data is copied, as :func:`mlcontext.array` copies: ``data`` may be changed afterwards without
    changing the traced frame or its lineage. (Copy-on-write alone did not keep them apart: a frame
    built on a NumPy array without a copy, ``pd.DataFrame(X, copy=False)``, changes when ``X`` is
    written in place, and a newcomer's traced frame then served cached sums of the old values beside
    fresh maxima of the new ones.)

    Parameters
    ----------
    data : DataFrame, Series, TracedFrame, TracedSeries or what ``pandas.DataFrame`` takes
        A pandas frame or series (traced as it is), a traced one (returned unchanged), or data for
        ``pandas.DataFrame(data)``: a dict of columns, a list of rows, a 2-d array.
    name : str, optional
        The label of the leaf in lineage (``trips``); default: none (the content hash names it).

    Returns
    -------
    TracedFrame or TracedSeries
        A :class:`TracedSeries` for a series, else a :class:`TracedFrame`, with the same index,
        columns and dtypes as ``data``.

    Raises
    ------
    UsageError
        ``data`` is of a kind ``pandas.DataFrame`` does not take (a scalar, ``None``, a function).
    InvalidArgumentError
        pandas refuses ``data``'s content (columns of different lengths ...); the message says why.
    FingerprintError
        A column holds values without a fingerprint (arbitrary objects).
    InvalidNameError
        ``name`` is not a valid name.

    Examples
    --------
    >>> import pandas as pd, mlcontext as mc
    >>> trips = mc.frame(pd.DataFrame({"duration": [5.0, -1.0, 12.0]}), name="trips")
    >>> ok = trips[trips.duration >= 0]
    >>> ok.lineage.opcode, len(ok)
    ('pandas.DataFrame.__getitem__', 2)
    """
    if isinstance(data, TracedFrame | TracedSeries):
        return data
    if name is not None:
        check_name(name, "frame")
    value = data.copy(deep=True) if isinstance(data, pd.DataFrame | pd.Series) else _new_frame(data)
    return own_frame(value, name)


def own_frame(value: pd.DataFrame | pd.Series, name: str | None = None) -> TracedFrame | TracedSeries:
    """A traced leaf of a frame nothing else holds (read from the store, or :func:`frame`'s copy): no
    copy is made (``name`` checked by the caller)."""
    item = frame_leaf(value, name)
    cls = TracedFrame if isinstance(value, pd.DataFrame) else TracedSeries
    return cls(value, item)


def _new_frame(data: Any) -> pd.DataFrame:
    """``pd.DataFrame(data)``, with pandas' refusal said as an mlcontext error."""
    if data is None or isinstance(data, str | bytes | np.generic) or callable(data) or not (
            isinstance(data, Iterable) or hasattr(data, "__array__") or hasattr(data, "__dataframe__")):
        raise UsageError(
            f"mc.frame takes a pandas DataFrame or Series, or data pandas.DataFrame(...) accepts (a dict "
            f"of columns, a list of rows, a 2-d array), not the {type(data).__name__} {_short(data)}")
    try:
        return pd.DataFrame(data)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"mc.frame: pandas cannot make a DataFrame of this "
                                   f"{type(data).__name__}: {exc}; pass a DataFrame, a dict of columns "
                                   "of equal length, or a list of rows") from None


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        return "..."
    return text if len(text) <= 40 else text[:37] + "..."


def _read(opcode: str, reader: Callable[..., Any], source: Any, name: str | None,
          kwargs: dict) -> TracedFrame:
    what = "mc.read_csv" if opcode == READ_CSV else "mc.read_parquet"
    if name is not None:
        check_name(name, "frame")
    raw = file_bytes(source, f"{what}: the file")
    label = name or (Path(source).name if isinstance(source, str | os.PathLike) else None)
    try:
        value = reader(io.BytesIO(raw), **kwargs)
    except (TypeError, ValueError) as exc:  # a parser error, a bad keyword value
        raise refusal(what, "pandas", exc) from exc
    col = pf.FrameArgs()
    try:
        kw_node, _ = col.canon_kwargs(kwargs)
        if col.items:
            raise Uncanonical("an argument with lineage")
    except Uncanonical:
        return TracedFrame(value, frame_leaf(value, label))  # identified by the frame's content
    lit = ("D", (("hash", ("s", hash_bytes(raw))), ("kwargs", kw_node)))
    return TracedFrame(value, leaf(opcode, lit, label))


def read_csv(path: Any, name: str | None = None, **kwargs: Any) -> TracedFrame:
    """Read a CSV file as a traced frame identified by the file's content hash and the arguments.

    The file is read once, whole: its bytes are hashed (the leaf's identity) and handed to
    :func:`pandas.read_csv`.

    Parameters
    ----------
    path : str, os.PathLike, bytes or binary file object
        The file: a path, its bytes, or a file open in binary mode (``io.BytesIO``).
    name : str, optional
        The label of the leaf in lineage; default: the file's name (none for bytes and file objects).
    **kwargs
        Keyword arguments of :func:`pandas.read_csv` (``sep``, ``dtype``, ``usecols`` ...); they are
        part of the leaf's identity.

    Returns
    -------
    TracedFrame
        The frame ``pandas.read_csv`` reads.

    Raises
    ------
    NotFoundError
        ``path`` names no file (a ``LookupError``).
    UsageError
        ``path`` is not a path, bytes or a binary file (``None``, a number, a text-mode file).
    InvalidArgumentError
        pandas cannot read the file with these arguments (no columns, a parser error, a bad keyword
        value); the message gives pandas' reason.
    InvalidNameError
        ``name`` is not a valid name.

    Examples
    --------
    >>> import io, mlcontext as mc
    >>> df = mc.read_csv(io.BytesIO(b"a,b\\n1,2\\n3,4\\n"), name="small")
    >>> df.lineage.opcode, df.a.sum().item()
    ('pandas.read_csv', 4)
    """
    return _read(READ_CSV, pd.read_csv, path, name, kwargs)


def read_parquet(path: Any, name: str | None = None, **kwargs: Any) -> TracedFrame:
    """Read a Parquet file as a traced frame identified by the file's content hash and the arguments.

    Needs pyarrow (a dependency of mlcontext) or fastparquet.

    Parameters
    ----------
    path : str, os.PathLike, bytes or binary file object
        The file: a path, its bytes, or a file open in binary mode (``io.BytesIO``).
    name : str, optional
        The label of the leaf in lineage; default: the file's name (none for bytes and file objects).
    **kwargs
        Keyword arguments of :func:`pandas.read_parquet` (``columns`` ...); they are part of the
        leaf's identity.

    Returns
    -------
    TracedFrame
        The frame ``pandas.read_parquet`` reads.

    Raises
    ------
    NotFoundError
        ``path`` names no file (a ``LookupError``).
    UsageError
        ``path`` is not a path, bytes or a binary file.
    InvalidArgumentError
        The bytes are not a Parquet file, or pandas refuses the arguments; the message says why.
    InvalidNameError
        ``name`` is not a valid name.

    Examples
    --------
    >>> import io, pandas as pd, mlcontext as mc
    >>> buf = io.BytesIO()
    >>> pd.DataFrame({"a": [1, 2, 3]}).to_parquet(buf)
    >>> df = mc.read_parquet(buf.getvalue(), name="small")
    >>> df.lineage.opcode, df.a.sum().item()
    ('pandas.read_parquet', 6)
    """
    return _read(READ_PARQUET, parquet_reader(), path, name, kwargs)


def _module_function(name: str) -> Callable[..., Any]:
    def fn(*args: Any, **kwargs: Any) -> Any:
        try:
            return call(f"pandas.{name}", args, kwargs)
        # mc.pd.concat(1): pandas' refusal, said as ours (pandas 3.0.0's qcut(q=-1) refuses with
        # an IndexError where later versions raise ValueError: one answer on every supported pandas)
        except (TypeError, ValueError, IndexError) as exc:
            raise refusal(f"mc.pd.{name}", "pandas", exc) from exc

    fn.__name__ = name
    fn.__doc__ = f"Traced :func:`pandas.{name}` (arguments may be traced frames and series)."
    return fn


concat = _module_function("concat")
merge = _module_function("merge")
to_datetime = _module_function("to_datetime")
to_numeric = _module_function("to_numeric")
get_dummies = _module_function("get_dummies")
cut = _module_function("cut")
qcut = _module_function("qcut")
crosstab = _module_function("crosstab")
melt = _module_function("melt")
pivot_table = _module_function("pivot_table")



def __getattr__(name: str) -> Any:
    # ``mc.pd`` traces pandas' module functions, not all of pandas: a newcomer's first try is often
    # ``mc.pd.DataFrame(...)``, which deserves the way to do it rather than a bare AttributeError.
    if name in ("DataFrame", "Series"):
        raise AttributeError(
            f"mlcontext.pd has no {name}: build it with pandas and trace it, "
            f"mc.frame(pd.{name}(...)) (or read it with mc.pd.read_csv / mc.pd.read_parquet)")
    raise AttributeError(f"module 'mlcontext.pd' has no attribute {name!r}; it traces "
                         f"{', '.join(n for n in __all__ if n.islower())}")
