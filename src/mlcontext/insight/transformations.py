"""pandas lineage read back as the transformations a person would describe (``filter duration >= 0``,
``groupby 'zone' ['duration'] mean``): what ``mc.pd.transformations``, ``mc.history`` and the
derivation graph show."""

from __future__ import annotations

from typing import Any

from ..errors import LineageError
from ..lineage.item import DATA, Item
from ..lineage.literals import Literals, build, build_call
from ..lineage.patch import DEDUP, OUTPUT
from ..ops.pandas_frame import DICT, OPAQUE_FRAME, ORDER
from ..ops.pandas_leaves import FRAME_DATA, FUNCTION, READ_CSV, READ_PARQUET
from ..ops.pandas_registry import DEFERRED, NESTED

__all__ = ["transformations", "describe", "is_series", "scope_name"]

_SYMBOLS = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__floordiv__": "//",
            "__mod__": "%", "__pow__": "**", "__and__": "&", "__or__": "|", "__xor__": "^",
            "__lt__": "<", "__le__": "<=", "__eq__": "==", "__ne__": "!=", "__gt__": ">", "__ge__": ">="}
_FRAME_OPS = ("pandas.DataFrame.", "pandas.Series.", "pandas.concat", "pandas.merge")


def transformations(x: Any) -> list[str]:
    """The chain of transformations that made ``x``, oldest first, as a person would read them.

    Follows each operation's first input (the frame it transforms) back to the leaf; arguments
    that are series computed from that frame are written as expressions.

    Examples
    --------
    >>> import pandas as pd, mlcontext as mc
    >>> trips = mc.frame(pd.DataFrame({"duration": [5.0, -1.0], "zone": [1, 2]}), name="trips")
    >>> ok = trips[trips.duration >= 0].dropna()
    >>> mc.pd.transformations(ok.groupby("zone").duration.mean())
    ['frame trips', 'filter duration >= 0', 'dropna', "groupby 'zone' ['duration'] mean"]
    """
    item = x if isinstance(x, Item) else x.lineage
    chain = [item]
    while item.inputs and item.opcode != OPAQUE_FRAME:
        item = item.inputs[0]
        chain.append(item)
    # An output of a multi-output item (a step's result) is no transformation: the item is.
    return [describe(i) for i in reversed(chain) if i.opcode != OUTPUT]


def describe(item: Item) -> str:
    """One pandas item as a transformation (``dropna``, ``filter duration >= 0`` ...)."""
    op = item.opcode
    if not item.inputs:
        name = {FRAME_DATA: "frame", READ_CSV: "read_csv", READ_PARQUET: "read_parquet"}.get(op, op)
        return f"{name} {item.label or item.hash[:12]}"
    if op == OPAQUE_FRAME:
        return f"unhandled {Literals(item.literals).name}"
    if op == DEDUP:  # a step call (or a loop iteration), recorded once as a patch
        return scope_name(Literals(item.literals).label)
    args, kwargs = _rendered_call(item)
    kind, _, method = op.removeprefix("pandas.").partition(".")
    rest = args[1:]
    if method == "__getitem__" and rest and item.inputs[1:] and is_series(item.inputs[-1]):
        return f"filter {rest[0]}"
    if method in ("__setitem__", "loc.__setitem__"):
        return f"set {' '.join(rest[:-1])} = {rest[-1]}"
    if op.startswith("pandas.") and method == "take" and len(item.inputs) > 1 \
            and (count := _positions(item.inputs[1])) is not None:
        # (scikit-learn's train_test_split and KFold take rows by positions: "take data axis=0"
        # said neither how many nor of what); the axis by keyword or as the second argument
        axis = next((k.partition("=")[2] for k in kwargs if k.startswith("axis=")),
                    rest[1] if len(rest) > 1 else "0")
        what = "columns" if axis in ("1", "'columns'") else "rows"
        return f"take {count} {what} by position"
    factory, _, agg = method.partition(".")
    window, _, windowed = agg.partition(".")
    if factory in NESTED and window in NESTED[factory] and windowed:
        # groupby("id")["x"].rolling(2).max(): its literal holds the groupby's and the window's
        # arguments together (see ops.pandas_registry.deferred_call)
        return " ".join([*_window_on_groups(item, factory, window), windowed, *rest[3:], *kwargs]).strip()
    if factory in DEFERRED and agg:
        by, fkw, sel = rest[:3]
        words = [factory, by.strip("()").rstrip(",")]
        if fkw != "{}":
            words.append(fkw)
        if sel != "None":
            words.append(f"[{sel}]" if not sel.startswith("[") else sel)
        return " ".join([*words, agg, *rest[3:], *kwargs]).strip()
    if op == "pandas.concat" and args:  # what was joined: concat [orders_01, orders_02]
        return " ".join(["concat", args[0], *rest, *kwargs]).strip()
    # each part of a dotted method bare: iloc.__getitem__ -> iloc.getitem (not iloc.__getitem)
    bare = ".".join(part.strip("_") for part in method.split(".")) if method else ""
    return " ".join([bare or kind, *rest, *kwargs]).strip()


def _window_on_groups(item: Item, factory: str, window: str) -> list[str]:
    """``groupby 'id' ['x'] rolling 2``: the groups and the window of a window-on-groups item, whose
    literal holds ``((groupby args), {groupby keywords}, (window args), selection after it)``, the
    window's keywords and the selection before it."""
    try:
        raw, _ = build_call(item.literals, [_Rendered(_expression(i, 3)) for i in item.inputs])
        (g_args, g_kwargs, w_args, after), w_kwargs, selection = raw[1], raw[2], raw[3]
    except (LineageError, TypeError, ValueError, IndexError):
        return [factory, window]
    words = [factory, *_call_words(g_args, g_kwargs), *_selection_words(selection), window,
             *_call_words(w_args, w_kwargs), *_selection_words(after)]
    return words


def _selection_words(selection: Any) -> list[str]:
    if selection is None:
        return []
    return [repr(list(selection)) if isinstance(selection, list) else f"[{selection!r}]"]


def _call_words(args: Any, kwargs: Any) -> list[str]:
    """Arguments and keywords as they read (either may be an input, already rendered)."""
    words = [repr(a) for a in args] if isinstance(args, tuple) else [str(args)]
    if isinstance(kwargs, dict):
        words += [f"{k}={v!r}" for k, v in kwargs.items()]
    elif kwargs:
        words.append(str(kwargs))
    return words


def _positions(item: Item) -> int | None:
    """How many positions a 1-D integer array leaf holds (``take``'s indexer), else ``None``."""
    literal = item.literals
    if item.opcode != DATA or item.inputs or literal[0] != "D":
        return None
    fields = dict(literal[1])
    dtype, shape = fields.get("dtype"), fields.get("shape")
    if dtype is None or shape is None or dtype[1][1:2] not in ("i", "u") or len(shape[1]) != 1:
        return None
    return int(shape[1][0][1])


def scope_name(label: str) -> str:
    """A dedup scope's label as its name: ``step:pkg.clean:3f2a…`` -> ``pkg.clean`` (the step's
    qualified name), ``loop:epoch`` -> ``loop epoch``."""
    kind, _, rest = label.partition(":")
    if kind == "step":
        return rest.rpartition(":")[0] or rest
    return f"{kind} {rest}" if rest else kind


def is_series(item: Item) -> bool:
    """Whether ``item`` makes a series (a column, a mask) rather than a frame."""
    return item.opcode.startswith("pandas.Series.") or (
        item.opcode == "pandas.DataFrame.__getitem__" and Literals(item.literals).arg(1)[0] == "s")


def _rendered_call(item: Item) -> tuple[list[str], list[str]]:
    names = [_expression(i, 3) for i in item.inputs]
    try:
        args, kwargs = build_call(item.literals, [_Rendered(n) for n in names])
    except LineageError:
        return names, []
    order = kwargs.pop(ORDER, None)
    if order is not None:
        kwargs = {k: kwargs[k] for k in order}
    return [repr(a) for a in args], [f"{k}={v!r}" for k, v in kwargs.items()]


class _Rendered(str):
    """An input written as an expression: its repr is the expression itself."""

    def __repr__(self) -> str:
        return str(self)


def _expression(item: Item, depth: int) -> str:
    op = item.opcode
    if op == DICT and depth > 0:  # keywords in the caller's order ({'window': 3, 'min_periods': 1})
        try:
            (keys, values), _ = build_call(item.literals, [_Rendered(_expression(i, depth - 1))
                                                          for i in item.inputs])
            return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in zip(keys, values, strict=True)) + "}"
        except (LineageError, TypeError, ValueError):
            return "dict"
    if not item.inputs:
        return item.label or ("function" if op == FUNCTION else op.rpartition(".")[2])
    method = op.rpartition(".")[2]
    if depth <= 0 or not op.startswith(_FRAME_OPS):
        return "…"
    if op == "pandas.DataFrame.__getitem__" and Literals(item.literals).arg(1)[0] == "s":
        return build(Literals(item.literals).arg(1), ())
    args, _ = build_call(item.literals, [_Rendered(_expression(i, depth - 1)) for i in item.inputs])
    symbol = _SYMBOLS.get(method)
    if symbol is not None and len(args) == 2:
        return f"({args[0]!r} {symbol} {args[1]!r})" if depth < 3 else f"{args[0]!r} {symbol} {args[1]!r}"
    if method == "__invert__":
        return f"~{args[0]!r}"
    if method == "__getitem__" and len(args) == 2:  # orders[x > 0], not orders.__getitem__((x > 0))
        indexer = op.split(".")[-2]
        where = f".{indexer}" if indexer in ("loc", "iloc", "at", "iat") else ""
        return f"{args[0]!r}{where}[{_index_text(args[1])}]"
    factory, _, rest = op.removeprefix("pandas.").partition(".")[2].partition(".")
    if factory in DEFERRED and rest and len(args) >= 4:
        # df.groupby('id')['x'].transform('max'), not df.transform(('id',), {}, 'x', 'max')
        return _deferred_expression(args, factory, rest)
    return f"{args[0]!r}.{method}({', '.join(repr(a) for a in args[1:])})" if args else method


def _index_text(key: Any) -> str:
    """An indexer as it is written: ``x > 0``, ``:10``, ``2:5, 'fare'``."""
    if isinstance(key, slice):
        text = ":".join("" if v is None else repr(v) for v in (key.start, key.stop))
        return text + (f":{key.step!r}" if key.step is not None else "")
    if isinstance(key, tuple):
        return ", ".join(_index_text(k) for k in key)
    text = repr(key)
    return text[1:-1] if isinstance(key, _Rendered) and text.startswith("(") and text.endswith(")") else text


def _deferred_expression(args: tuple | list, factory: str, rest: str) -> str:
    """A deferred call (``groupby``, ``rolling`` ..., a window on groups) as pandas code reads."""
    window, _, method = rest.partition(".")
    nested = bool(method) and window in NESTED.get(factory, ())
    if not nested:
        window, method = "", rest
    f_args, f_kwargs, selection = args[1], args[2], args[3]
    try:
        after = None
        if nested:  # ((groupby args), {groupby keywords}, (window args), after), {window keywords}
            g_args, g_kwargs, w_args, after = f_args
        else:
            g_args, g_kwargs = f_args, f_kwargs
        text = f"{args[0]!r}.{factory}({', '.join(_call_words(g_args, g_kwargs))})"
        if selection is not None:
            text += f"[{selection!r}]"
        if nested:
            text += f".{window}({', '.join(_call_words(w_args, f_kwargs))})"
        if after is not None:
            text += f"[{after!r}]"
    except (TypeError, ValueError):
        return f"{args[0]!r}.{factory}(…).{rest}(…)"
    return f"{text}.{method}({', '.join(repr(a) for a in args[4:])})"

