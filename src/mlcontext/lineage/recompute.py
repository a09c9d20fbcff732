"""Recompute values from lineage: replay a log (or items) through the registered operations only.

Leaves are found, in this order, in the log itself (small arrays embedded, constants by their
recipe, :mod:`.leaves`), in ``inputs`` by leaf name or by content hash, and through
``resolver(content_hash)`` (the tracking layer plugs the artifact store in here). A value handed in
must have the recorded content hash. Intermediate values are dropped as soon as their last reader
has run, so long loops recompute in bounded memory.

A log is untrusted data (:mod:`.policy`): only registered operations run, each after its literal
check and its output-size estimate; anything an operation raises comes back as a
:class:`~mlcontext.errors.LineageError` naming it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, cast

import numpy as np

from ..errors import LineageError, MLContextError, UsageError
from ..fingerprint import hash_array
from . import leaves
from .item import DATA, Item, LeafItem, walk
from .layout import with_layout
from .literals import Literals, build, build_call, parse_dtype
from .log import loads, roots_of
from .operations import CHECKS, SIZES, SOURCES, fresh_out, operation
from .patch import DEDUP, OUTPUT, PATCHES, Patch
from .policy import RecomputePolicy, applied, current

__all__ = ["recompute", "Resolver", "OPAQUE", "leaf_fields"]

OPAQUE = "lineage.opaque"  # an unhandled operation: identified by the hash of its output


class Resolver(Protocol):
    """Finds a leaf's value by content hash (e.g. in the artifact store); ``None`` if unknown."""

    def __call__(self, content_hash: str, /) -> np.ndarray | None: ...


def leaf_fields(item: Item) -> dict[str, Any]:
    """The fields of a data (or opaque) leaf: ``hash``, ``dtype``, ``shape``, ``layout`` (None: C
    order; see :mod:`.layout`)."""
    lit = item.literals
    try:
        if item.opcode == OPAQUE:
            lit = Literals(lit).fields
        fields = {k: build(v, ()) for k, v in lit[1]}
        digest, dtype, shape = fields["hash"], parse_dtype(fields["dtype"]), tuple(fields["shape"])
    except (KeyError, TypeError, ValueError, IndexError):
        raise LineageError(f"malformed data leaf literal in {item.opcode}") from None
    layout = fields.get("layout")
    if type(digest) is not str or not all(type(n) is int and n >= 0 for n in shape) or not (
            layout is None or type(layout) is str):
        raise LineageError(f"malformed data leaf literal in {item.opcode}: hash, dtype, shape or layout")
    return {"hash": digest, "dtype": dtype, "shape": shape, "layout": layout}


def recompute(lineage: Any, inputs: Mapping[str, Any] | None = None,
              resolver: Resolver | Callable[[str], Any] | None = None, *, trusted: bool = False,
              max_bytes: int | None = None, max_nodes: int | None = None) -> Any:
    """Reproduce the value(s) a lineage log (or item, or traced value) describes.

    Parameters
    ----------
    lineage
        Log text from :func:`mlcontext.lineage.dumps`, an :class:`Item`, or a traced value.
    inputs
        Leaf values by leaf name or by content hash; functions (``apply``, ``map`` ...) by their
        qualified name.
    resolver
        ``content_hash -> ndarray | None`` for leaves found neither in the log nor in ``inputs``.
    trusted
        Only for logs you wrote: also use functions traced earlier in this process without passing
        them, and expression strings as recorded (:mod:`mlcontext.lineage.policy`).
    max_bytes
        Refuse any operation whose output would exceed this many bytes, estimated from the recorded
        shapes before allocating (default ``MLCONTEXT_RECOMPUTE_MAX_BYTES`` or 4 GiB).
    max_nodes
        Refuse logs whose loops expand to more operations (default ``MLCONTEXT_LINEAGE_MAX_NODES``
        or 5e7).

    Returns
    -------
    The plain value of the root, or a tuple of them for a log with several roots.

    Raises
    ------
    UsageError
        ``inputs`` is not a mapping, or ``resolver`` not callable.
    LineageError
        The log is malformed, a leaf is missing (the message lists each one and why), an operation
        is refused by its check or size limit, or an operation failed (its error is chained).

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> x = mc.array(np.arange(4.0), name="x")
    >>> text = mc.lineage.dumps(np.cumsum(x * 2))
    >>> mc.recompute(text, inputs={"x": np.arange(4.0)})
    array([ 0.,  2.,  6., 12.])
    """
    if inputs is not None and not isinstance(inputs, Mapping):
        raise UsageError(f"recompute(inputs=...) takes a mapping of leaf names or content hashes to "
                         f"values, e.g. {{'X': X}}, not a {type(inputs).__name__}")
    if resolver is not None and not callable(resolver):
        raise UsageError(f"recompute(resolver=...) takes a function content_hash -> array or None, not "
                         f"a {type(resolver).__name__}")
    if isinstance(lineage, bytes | bytearray | memoryview):  # a log as stored (load_artifact)
        try:
            lineage = bytes(lineage).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LineageError(f"these bytes are not a lineage log (not UTF-8 text: {exc})") from None
    policy = RecomputePolicy.from_env(trusted, max_bytes, max_nodes)
    with applied(policy):
        if isinstance(lineage, str):
            parsed = loads(lineage)
            roots = list(parsed) if isinstance(parsed, tuple) else [parsed]
        else:
            roots = roots_of(lineage)
        values = _Evaluator(dict(inputs or {}), resolver, policy).run(roots)
    return values[0] if len(values) == 1 else tuple(values)


def _needs(item: Item) -> tuple[Item, ...]:
    # An opaque item's value comes by its content hash; its inputs are lineage, not arguments.
    return () if item.opcode == OPAQUE or item.opcode in SOURCES else item.inputs


def _order(roots: Sequence[Item]) -> list[Item]:
    """Items needed to evaluate ``roots``, inputs first."""
    return list(walk(list(roots), inputs=_needs))


class _Evaluator:
    def __init__(self, inputs: dict[str, Any], resolver: Callable[[str], Any] | None,
                 policy: RecomputePolicy) -> None:
        self.inputs = inputs  # values are checked (and turned into arrays) where a leaf takes them
        self.resolver = resolver
        self.policy = policy

    def run(self, roots: Sequence[Item]) -> list[Any]:
        order = _order(roots)
        found = self._check_leaves(order)
        readers: dict[int, int] = {}
        for item in order:
            for i in _needs(item):
                readers[id(i)] = readers.get(id(i), 0) + 1
        keep = {id(r) for r in roots}
        values: dict[int, Any] = {}
        for item in order:
            if item.opcode == DATA:
                values[id(item)] = found.pop(id(item))
            else:
                values[id(item)] = self.value(item, [values[id(i)] for i in _needs(item)])
            for i in _needs(item):  # free what no later item reads
                readers[id(i)] -= 1
                if readers[id(i)] == 0 and id(i) not in keep:
                    del values[id(i)]
        return [values[id(r)] for r in roots]

    def _check_leaves(self, order: list[Item]) -> dict[int, np.ndarray]:
        """Every data leaf's value, found before anything runs; else one error naming each missing
        leaf and why it could not be found."""
        found: dict[int, np.ndarray] = {}
        problems: list[str] = []
        for item in order:
            if item.opcode == DATA and id(item) not in found:
                value, problem = self._leaf(item)
                if problem is None:  # laid out as traced: NumPy's results follow the layout
                    value = cast(np.ndarray, value)  # (no problem: a value)
                    found[id(item)] = with_layout(value, leaf_fields(item)["layout"], self.policy.max_bytes)
                else:
                    problems.append(problem)
        if problems:
            raise LineageError(f"cannot recompute: {len(problems)} leaf value(s) missing: "
                               + "; ".join(problems))
        return found

    def value(self, item: Item, args: list[Any]) -> Any:
        if item.opcode == OPAQUE:
            return self._opaque(item)
        source = SOURCES.get(item.opcode)
        if source is not None:
            return _guarded(item.opcode, lambda: source(item, self.inputs, self.resolver))
        if item.opcode == OUTPUT:
            return _output(args[0], Literals(item.literals).output)
        if item.opcode == DEDUP:
            view = Literals(item.literals)
            return run_patch(PATCHES[view.patch], args, view.holes)
        return call(item.opcode, item.literals, args)

    def _leaf(self, item: Item) -> tuple[np.ndarray | None, str | None]:
        """``(value, None)``, or ``(None, why it is missing)``."""
        f = leaf_fields(item)
        what = (f"{item.label!r}" if item.label else "unnamed") + \
            f" ({f['dtype']} array of shape {f['shape']}, hash {f['hash']})"
        extra = item.extra or {}
        if "data" in extra or "recipe" in extra:
            if "data" in extra:
                value = _decode_payload(extra["data"], f)
            else:
                value = leaves.build(extra["recipe"], f["dtype"], f["shape"], self.policy.max_bytes)
            if hash_array(value) != f["hash"]:
                # Forged bytes or recipe: drop them from the shared leaf, so that an honest log read
                # later can attach its own (leaves are hash-consed: the first log's extra is kept).
                if isinstance(item, LeafItem):
                    item.extra = None
            return _checked(value, f, what), None
        mismatched = []
        for key in (item.label, f["hash"]):
            if key is not None and key in self.inputs:
                value = _as_array(self.inputs[key], what)
                digest = hash_array(value)
                if digest == f["hash"]:
                    return value, None
                mismatched.append(f"inputs[{key!r}] has content hash {digest}, not the recorded one")
        if self.resolver is not None and not mismatched:  # a wrong value handed in is reported
            stored = self.resolver(f["hash"])
            if stored is not None:
                return _checked(_as_array(stored, what), f, what), None
        return None, what + ": " + _why_missing(item, mismatched, self.resolver is not None)

    def _opaque(self, item: Item) -> Any:
        f = leaf_fields(item)
        value = self.inputs.get(f["hash"])
        if value is None and self.resolver is not None:
            value = self.resolver(f["hash"])
        if value is None:
            name = Literals(item.literals).name
            raise LineageError(f"cannot recompute the unhandled operation {name}: its output "
                               f"({f['hash']}) is neither in inputs= nor found by the resolver")
        value = _checked(_as_array(value, "an opaque output"), f, f"the output of {item.hash}")
        return with_layout(value, f["layout"], self.policy.max_bytes)


def _why_missing(item: Item, mismatched: list[str], have_resolver: bool) -> str:
    if mismatched:
        return "; ".join(mismatched) + " (a different array than the one traced)"
    where = ("the resolver (the artifact store for mc.recompute) does not have it" if have_resolver
             else "no resolver= was given")
    if item.label:
        return (f"not in inputs= (pass inputs={{{item.label!r}: ...}}, the array you named when "
                f"tracing), and {where}")
    return ("a plain array too large to embed in the log and not a constant, not in inputs= by "
            f"content hash, and {where}; plain arrays are kept in the artifact store only while a "
            "run is active (mc.run), or name them with mc.array(..., name=...) and pass them in")


def _output(value: Any, k: int) -> Any:
    try:
        return value[k]
    except (TypeError, IndexError, KeyError):
        raise LineageError(f"output {k} of a value of type {type(value).__name__} does not exist") \
            from None


def _as_array(value: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise LineageError(f"the value given for {what} is not an array ({exc})") from None
    return arr


def _decode_payload(data: bytes, f: dict[str, Any]) -> np.ndarray:
    raw = data if isinstance(data, bytes) else base64.b64decode(data)
    count = 1
    for n in f["shape"]:
        count *= n
    if f["dtype"].hasobject or len(raw) != count * f["dtype"].itemsize:
        raise LineageError("embedded leaf payload does not fit its dtype and shape")
    return np.frombuffer(raw, dtype=f["dtype"]).reshape(f["shape"]).copy()


def _checked(value: Any, f: dict[str, Any], what: str) -> np.ndarray:
    arr = np.asarray(value)
    digest = hash_array(arr)
    if digest != f["hash"]:
        raise LineageError(f"the value given for leaf {what} has content hash {digest}, "
                           f"the lineage recorded {f['hash']}")
    return arr


def _guarded(opcode: str, run: Callable[[], Any]) -> Any:
    """``run()``; anything but an mlcontext error becomes a :class:`LineageError` naming ``opcode``."""
    try:
        return run()
    except MLContextError:
        raise
    except RecursionError:
        raise LineageError(f"recompute of {opcode} recursed too deeply") from None
    except Exception as exc:  # noqa: BLE001 - a log may make any registered operation fail
        raise LineageError(f"recompute of {opcode} failed: {type(exc).__name__}: "
                           f"{str(exc)[:300]}") from exc


def call(opcode: str, literals: Any, args: Sequence[Any]) -> Any:
    """Execute one registered operation on input values: the one place recompute runs code.

    The operation's literal check and output-size estimate run first; an output larger than the
    limit is refused before it is allocated.
    """
    op = operation(opcode)
    pos, kw = build_call(literals, args)
    max_bytes = current().max_bytes
    check, size = CHECKS.get(opcode), SIZES.get(opcode)
    if check is not None:
        _guarded(opcode, lambda: check(pos, kw))
    if size is not None:
        try:
            estimate = size(pos, kw)
        except Exception:  # noqa: BLE001 - arguments the estimate cannot read: the operation will
            estimate = None  # say what is wrong with them, and the output is checked after it
        if estimate is not None:
            leaves.check_size(estimate, f"{opcode} (estimated from the recorded shapes)", max_bytes)
    if kw.get("out") is not None:
        kw["out"] = fresh_out(kw["out"], op.fresh_out)
    result = _guarded(opcode, lambda: op.fn(*pos, **kw))
    nbytes = getattr(result, "nbytes", 0)
    if type(nbytes) is int and nbytes > max_bytes:  # an operation no estimate covers: stop here
        leaves.check_size(nbytes, f"the output of {opcode}", max_bytes)
    return result


def run_patch(patch: Patch, inputs: Sequence[Any], holes: Sequence[Any]) -> tuple:
    """Execute a dedup patch's template for one iteration / call; its output values."""
    values: list[Any] = []
    for opcode, refs, lit in patch.filled(holes):
        args = [values[r] if r >= 0 else inputs[-r - 1] for r in refs]
        if opcode == OUTPUT:
            values.append(_output(args[0], Literals(lit).output))
        elif opcode == DEDUP:
            view = Literals(lit)
            values.append(run_patch(PATCHES[view.patch], args, view.holes))
        else:
            values.append(call(opcode, lit, args))
    return tuple(values[o] for o in patch.outputs)
