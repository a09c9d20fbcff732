"""Array leaves a lineage log can rebuild on its own: constants recorded by their constructor.

A plain NumPy array mixed into traced code (``np.ones((n, 1))``, ``lam * np.eye(d)``,
``np.arange(n)``) is a leaf identified by its content hash like any other. Small ones are embedded
in the log; a large one would have to be handed to recompute by its hash, which nobody can do for
an array they never named. So a large array that is constant-filled, a scaled identity, or an
evenly spaced ``arange`` (in C order, any shape) is recorded by a *recipe* instead: its constructor
and one or two scalars, with dtype and shape already in the leaf. The recipe is an extra of the leaf,
not part of its hash: the leaf stays the same item whether or not a recipe was found.

A recipe is only ever recorded after the array it would build was compared with the value byte for
byte (chunk by chunk, so a 1 GB constant costs no second gigabyte), and recompute checks the content
hash of what it builds, so a recipe cannot make a wrong value.

Arrays that are neither small nor constant are handed to the *array sink* when one is installed: the
tracking layer installs one while a run is active that keeps them in the artifact store, where
``mc.recompute`` finds them by hash. This layer never imports the store.

Recipe literals (``g`` nodes are NumPy scalars of the leaf's dtype)::

    ["T", [["s", "full"], g]]           every element equal to g
    ["T", [["s", "eye"], g]]            2-D: g on the main diagonal, zero elsewhere
    ["T", [["s", "arange"], g0, g1]]    element i (C order) = g0 + i * g1
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import LineageError
from .literals import Literals, Node
from .state import STATE

__all__ = ["describe", "build", "check_recipe", "check_size", "set_array_sink", "array_sink", "RECIPE_KINDS"]

RECIPE_KINDS = {"full": 1, "eye": 1, "arange": 2}  # kind -> number of scalar parameters
_NUMERIC = "iufc"
# x87 extended precision in 16 (32) bytes: the padding bytes of values computed are not defined, so
# a recipe could not rebuild the bytes that were hashed (values equal, bytes not): no recipes.
_PADDED = (np.longdouble, np.clongdouble)
_CHUNK = 1 << 20  # elements compared or built at a time
_WORDS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # element width -> unsigned word

ArraySink = Callable[[np.ndarray, str], None]


def set_array_sink(sink: ArraySink | None) -> ArraySink | None:
    """Install ``sink(array, content_hash)`` for plain array leaves the log cannot hold; return the
    previous one. The tracking layer installs the artifact store here while a run is active."""
    old, STATE.sink = STATE.sink, sink
    return old


def array_sink() -> ArraySink | None:
    """The installed array sink, or ``None``."""
    return STATE.sink


def _scalar_node(value: np.ndarray) -> Node:
    return ("g", (value.dtype.str, value.tobytes().hex()))


def describe(value: np.ndarray) -> Node | None:
    """The recipe literal of ``value`` if it is a constant, scaled identity or ``arange``; else None.

    Costs a few element reads for an array that is none of these, and one pass over the array, at
    about a hash's cost, for one that is a constant or a scaled identity (compared as machine words:
    the lead case, ``G + lam * np.eye(d)`` with a new ``lam`` per call, is recognised at every call).
    An ``arange`` and elements wider than 8 bytes are compared chunk by chunk with what the recipe
    builds (:func:`describe_by_chunks`, which gives the same answer for every array).
    """
    if not _may_have_recipe(value):
        return None
    dt = value.dtype
    words = _WORDS.get(dt.itemsize)
    if words is None:
        return describe_by_chunks(value)
    flat = np.ascontiguousarray(value).reshape(-1)
    ints = flat.view(words)
    n, w0, shape = ints.size, ints[0], value.shape
    if ints[1] == w0:  # only a constant can start with two equal elements (or an arange of step 0)
        if ints[n - 1] == w0 and ints[n // 2] == w0 and bool((ints == w0).all()):
            return _if_rebuilt(("T", (("s", "full"), _scalar_node(flat[:1]))), flat, shape)
        return None
    if value.ndim == 2 and w0 != 0 and ints[1] == 0:
        count, step = min(shape[0], shape[1]), shape[1] + 1
        if ints[(count - 1) * step] == w0 and bool((ints[:count * step:step] == w0).all()) \
                and int(np.count_nonzero(ints)) == count:
            return _if_rebuilt(("T", (("s", "eye"), _scalar_node(flat[:1]))), flat, shape)
    if dt.kind not in _NUMERIC:
        return None
    return _arange(flat, shape)


def _may_have_recipe(value: np.ndarray) -> bool:
    """Two elements or more, of a plain bool or numeric dtype without padding bytes."""
    dt = value.dtype
    return value.size >= 2 and dt.kind in "b" + _NUMERIC and dt.fields is None and dt.type not in _PADDED


def _if_rebuilt(recipe: Node, flat: np.ndarray, shape: tuple[int, ...]) -> Node | None:
    """``recipe`` if its scalar, read back and written into an array as the recipe's builder does,
    has the bytes of the array's first element: the words matched the array's own first element, but
    a scalar read back may not give those bytes (a bool byte 0x02, which any NumPy bool scalar writes
    as 0x01). The builder reads its scalar from the recipe's bytes and assigns it to elements of the
    leaf's dtype; reading ``flat[0]`` and assigning it is that round trip, without building the
    recipe (a ``G + lam * np.eye(d)`` loop meets a new scaled identity at every call)."""
    first = flat[:1]
    out = np.empty(1, first.dtype)
    out[0] = first[0]
    return recipe if out.tobytes() == first.tobytes() else None


def describe_by_chunks(value: np.ndarray) -> Node | None:
    """:func:`describe` for any element width: each candidate recipe built chunk by chunk and
    compared with the array's bytes (slower; the reference the word comparison is tested against)."""
    if not _may_have_recipe(value):
        return None
    dt = value.dtype
    flat = np.ascontiguousarray(value).reshape(-1)
    first = flat[:1]
    candidates: list[Node] = [("T", (("s", "full"), _scalar_node(first)))]
    if value.ndim == 2 and first.tobytes() != bytes(dt.itemsize):
        candidates.append(("T", (("s", "eye"), _scalar_node(first))))
    for recipe in candidates:
        if _matches(recipe, flat, value.shape):
            return recipe
    return _arange(flat, value.shape) if dt.kind in _NUMERIC else None


def _arange(flat: np.ndarray, shape: tuple[int, ...]) -> Node | None:
    first = flat[:1]
    with np.errstate(all="ignore"):  # integer steps wrap, as the recipe's arithmetic does
        step = (flat[1:2] - first).astype(flat.dtype)  # (arithmetic gives native byte order)
    recipe = ("T", (("s", "arange"), _scalar_node(first), _scalar_node(step)))
    return recipe if _matches(recipe, flat, shape) else None


def _matches(recipe: Node, flat: np.ndarray, shape: tuple[int, ...]) -> bool:
    n = flat.size
    chunk = _builder(recipe, flat.dtype, shape)  # (the recipe's scalars parsed once)

    for i in dict.fromkeys((0, 1, n // 2, n - 1)):  # cheap rejection first
        if chunk(i, i + 1).tobytes() != flat[i:i + 1].tobytes():
            return False
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        if not np.array_equal(chunk(start, stop).view(np.uint8), flat[start:stop].view(np.uint8)):
            return False
    return True


def _param(node: Node, dtype: np.dtype) -> np.generic:
    if node[0] != "g" or node[1][0] != dtype.str:
        raise LineageError(f"a recipe scalar must be a NumPy scalar of the leaf's dtype {dtype.str}")
    return np.frombuffer(bytes.fromhex(node[1][1]), dtype=dtype)[0]


def _builder(recipe: Node, dtype: np.dtype, shape: tuple[int, ...]) -> Callable[[int, int], np.ndarray]:
    """``(start, stop) -> elements start:stop`` (C order) of the array ``recipe`` builds, in
    ``dtype`` byte order included (arithmetic gives native order: a '>f8' leaf must be rebuilt, and
    compared, as the bytes that were hashed)."""
    view = Literals(recipe)
    kind, params = view.name, view.params
    if kind == "full":
        fill = _param(params[0], dtype)
        return lambda start, stop: np.full(stop - start, fill, dtype=dtype)
    if kind == "eye":
        diagonal = _param(params[0], dtype)
        step, count = shape[1] + 1, min(shape[0], shape[1])

        def eye(start: int, stop: int) -> np.ndarray:
            # the diagonal's flat positions are the first min(rows, cols) multiples of cols + 1:
            # set those in the chunk, instead of a division and a modulo per element (a 151 x 151
            # identity was 10 times slower to check than to hash)
            out = np.zeros(stop - start, dtype=dtype)
            first, last = -(-start // step), min(count, -(-stop // step))
            if first < last:
                out[np.arange(first, last, dtype=np.int64) * step - start] = diagonal
            return out
        return eye
    start_value, step_value = _param(params[0], dtype), _param(params[1], dtype)
    if dtype.kind in "iu":  # exact modular arithmetic, then wrapped to the dtype's width
        wrap = np.uint64(int(step_value) % (1 << 64)), np.uint64(int(start_value) % (1 << 64))

        def arange_int(start: int, stop: int) -> np.ndarray:
            index = np.arange(start, stop, dtype=np.uint64)
            with np.errstate(over="ignore"):
                return (index * wrap[0] + wrap[1]).astype(dtype)
        return arange_int

    def arange(start: int, stop: int) -> np.ndarray:
        index = np.arange(start, stop, dtype=np.int64)
        with np.errstate(all="ignore"):
            return (start_value + index.astype(dtype) * step_value).astype(dtype, copy=False)
    return arange


def check_recipe(node: Node) -> Node:
    """Validate the structure of a recipe literal read from a log (dtypes are checked in build)."""
    ok = node[0] == "T" and len(node[1]) >= 1 and node[1][0][0] == "s"
    kind = Literals(node).name if ok else None
    if kind not in RECIPE_KINDS or len(node[1]) != 1 + RECIPE_KINDS[kind]:
        raise LineageError("a leaf recipe is [\"T\", [[\"s\", \"full\"|\"eye\"|\"arange\"], scalar...]]")
    if not all(p[0] == "g" for p in node[1][1:]):
        raise LineageError("the parameters of a leaf recipe are NumPy scalars (\"g\" literals)")
    return node


def build(recipe: Node, dtype: np.dtype, shape: tuple[int, ...], max_bytes: int) -> np.ndarray:
    """The array a recipe describes, refused before allocating when it exceeds ``max_bytes``."""
    check_recipe(recipe)
    if dtype.kind not in "b" + _NUMERIC or dtype.fields is not None:
        raise LineageError(f"a leaf recipe cannot build dtype {dtype.str}")
    kind = Literals(recipe).name
    if kind == "eye" and len(shape) != 2 or kind == "arange" and dtype.kind == "b":
        raise LineageError(f"a {kind!r} recipe does not fit a {dtype.str} array of shape {shape}")
    count = 1
    for n in shape:
        count *= n
    check_size(count * dtype.itemsize, f"a constant leaf of shape {shape}", max_bytes)
    if count == 0:
        return np.zeros(shape, dtype=dtype)
    chunk = _builder(recipe, dtype, shape)
    out = np.empty(count, dtype=dtype)  # (filled in place: np.concatenate would drop a '>f8' order)
    for a in range(0, count, _CHUNK):
        b = min(count, a + _CHUNK)
        out[a:b] = chunk(a, b)
    return out.reshape(shape)


def check_size(nbytes: int, what: str, max_bytes: int) -> None:
    """Refuse to allocate ``nbytes`` for ``what`` beyond the recompute size limit."""
    if nbytes > max_bytes:
        raise LineageError(f"recompute refused {what}: it needs {nbytes:,} bytes, more than the limit "
                           f"of {max_bytes:,} (raise it with max_bytes= or MLCONTEXT_RECOMPUTE_MAX_BYTES "
                           "if the log is yours and the memory is there)")

