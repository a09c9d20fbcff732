"""Traced random generation: ``mc.random.default_rng(seed)``, a generator whose draws have lineage.

The generator's state is itself a lineage value. The leaf ``numpy.random.default_rng`` records the seed —
for ``seed=None`` the 128-bit entropy NumPy drew from the OS — so the state is known exactly. Each draw
is an item ``numpy.random.Generator.<method>(state, args…)`` with two outputs: the drawn values and the
next state, to which the generator is rebound. Recompute replays draws from the recorded state with the
very same PCG64 stream, so values are bit-identical; two draws are equal items only if they start from
the same state with the same arguments, which is exactly when their values are equal.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError, UntracedAttributeError, UsageError, refusal, short_repr
from ..lineage import nondeterminism
from ..lineage.dedup import bind
from ..lineage.item import Item, leaf, make, state
from ..lineage.literals import EMPTY_KWARGS, Node
from ..lineage.operations import Traits, register_operation
from ..lineage.patch import OUTPUT
from . import views as _views
from .dispatch import Args
from .traced import TracedArray

if TYPE_CHECKING:  # the TypedDict of a PCG64 state, in NumPy's stubs only
    from numpy.random._pcg64 import _PCG64State

__all__ = ["default_rng", "TracedGenerator", "METHODS"]

METHODS = """
random integers normal standard_normal uniform choice permutation permuted exponential
standard_exponential gamma standard_gamma beta binomial poisson geometric lognormal laplace logistic
multinomial multivariate_normal dirichlet chisquare noncentral_chisquare f noncentral_f standard_t
standard_cauchy triangular vonmises wald weibull zipf hypergeometric negative_binomial pareto power
rayleigh gumbel logseries shuffle
""".split()


def _bits(state_value: _PCG64State) -> np.random.PCG64:
    bit = np.random.PCG64()
    bit.state = state_value
    return bit


def _generator(state_value: _PCG64State) -> np.random.Generator:
    return np.random.Generator(_bits(state_value))


def _seeded(entropy: Any) -> _PCG64State:
    return np.random.PCG64(entropy).state  # the state of np.random.default_rng(entropy)


def _draw_fn(method: str) -> Any:
    def draw(state_value: _PCG64State, *args: Any, **kwargs: Any) -> tuple[Any, _PCG64State]:
        bit = _bits(state_value)
        gen = np.random.Generator(bit)
        if method == "shuffle":
            value = np.array(args[0], copy=True)
            gen.shuffle(value, *args[1:], **kwargs)
        else:
            value = getattr(gen, method)(*args, **kwargs)
        return value, bit.state

    return draw


# Draws are replayed from their recorded state by recompute, but never probed or cached by reuse.
_DRAW = Traits(deterministic=False)
register_operation("numpy.random.default_rng", _seeded, traits=_DRAW)
for _m in METHODS:
    register_operation(f"numpy.random.Generator.{_m}", _draw_fn(_m), traits=_DRAW)


class TracedGenerator:
    """A :class:`numpy.random.Generator` (PCG64) whose draws are traced."""

    __slots__ = ("_gen", "_item", "__weakref__")

    def __init__(self, gen: np.random.Generator, item: Item) -> None:
        self._gen = gen
        self._item = item
        if state.scope is not None:
            state.scope.holders.append(weakref.ref(self))

    @property
    def lineage(self) -> Item:
        """The lineage item of the generator's current state."""
        return self._item

    def __repr__(self) -> str:
        return f"TracedGenerator(PCG64, lineage={self._item.opcode})"

    def __getattr__(self, name: str) -> Any:
        # Members of NumPy's Generator that are not traced: an error that says what to write (a
        # newcomer's g.spawn(2) and g.bytes(4) met a bare AttributeError).
        advice = _UNTRACED.get(name)
        if advice is None and not name.startswith("_") and hasattr(np.random.Generator, name):
            advice = "draw with a traced method instead, or use a plain np.random.default_rng"
        if advice is None:
            raise AttributeError(f"'TracedGenerator' object has no attribute {name!r}")
        raise UntracedAttributeError(f"mc.random's generator does not trace Generator.{name}: {advice}")

    def _draw(self, method: str, args: tuple, kwargs: dict) -> Any:
        col = Args()
        # The state is the first argument of the recorded (functional) draw.
        lit, plain_args, plain_kwargs = col.call(args, kwargs, leading=(self._item,))
        item = make(f"numpy.random.Generator.{method}", tuple(col.items), lit)
        if method == "shuffle":
            target = args[0]
            if type(target) is TracedArray:
                _views.check_writable(target)  # (a view: written back into its base, as NumPy does)
            value = np.array(plain_args[0], copy=True)
            self._gen.shuffle(value, *plain_args[1:], **plain_kwargs)
        else:
            try:
                value = getattr(self._gen, method)(*plain_args, **plain_kwargs)
            except (TypeError, ValueError) as exc:  # size="x", low >= high: NumPy's refusal, said as ours
                raise refusal(f"mc.random.Generator.{method}", "NumPy", exc) from exc
        bind(self, make(OUTPUT, (item,), ("k", 1)))
        out = make(OUTPUT, (item,), ("k", 0))
        if method == "shuffle":
            if type(target) is TracedArray:
                target._value = value
                bind(target, out)
                _views.after_write(target)
            else:
                np.copyto(target, value)
            return None
        if not isinstance(value, np.ndarray | np.generic):
            value = np.asarray(value)[()]  # Python floats from size=None draws stay traced
        return TracedArray(value, out)


_UNTRACED = {
    "spawn": "make the i-th independent stream as mc.random.default_rng([seed, i])",
    "bytes": "draw g.integers(0, 256, n, dtype=np.uint8) and take .tobytes() of its value",
    "bit_generator": "its state is its lineage (g.lineage); seed a new one to start again",
}


def _make_method(name: str) -> Any:
    def method(self: TracedGenerator, *args: Any, **kwargs: Any) -> Any:
        return self._draw(name, args, kwargs)

    method.__name__ = name
    method.__doc__ = f"Traced :meth:`numpy.random.Generator.{name}`."
    return method


for _m in METHODS:
    setattr(TracedGenerator, _m, _make_method(_m))


def _seed_sequence(seed: Any) -> np.random.SeedSequence:
    """NumPy's seed sequence of ``seed``; its refusal said as an mlcontext error."""
    if isinstance(seed, np.random.SeedSequence | np.random.BitGenerator | np.random.Generator):
        # (NumPy takes these; their state is not a recordable seed)
        raise UsageError(f"mc.random.default_rng takes an int seed (or a sequence of ints, or None), not "
                         f"a {type(seed).__name__}: pass the int that seeded it")
    try:
        return np.random.SeedSequence(seed)
    except TypeError:
        raise UsageError(f"mc.random.default_rng takes a seed that is an int, a sequence of ints or None, "
                         f"not the {type(seed).__name__} {short_repr(seed)}; e.g. default_rng(7)") from None
    except ValueError as exc:
        raise InvalidArgumentError(f"mc.random.default_rng: the seed {short_repr(seed)} is refused ({exc}); "
                                   "pass a non-negative int, e.g. default_rng(7)") from None


def default_rng(seed: int | list[int] | tuple[int, ...] | None = None) -> TracedGenerator:
    """A traced PCG64 generator, as :func:`numpy.random.default_rng`, with its seed in lineage.

    Parameters
    ----------
    seed : int, sequence of int or None
        The seed, as NumPy takes it (non-negative); ``None`` draws fresh entropy from the OS, which is
        recorded in lineage (the stream can be recomputed) but makes a step using it non-reusable.

    Returns
    -------
    TracedGenerator
        A generator whose draws (``normal``, ``integers``, ``choice`` ...) are traced arrays, the same
        values ``np.random.default_rng(seed)`` draws.

    Raises
    ------
    UsageError
        ``seed`` is not an int, a sequence of ints or None (a word, a float, a ``SeedSequence``).
    InvalidArgumentError
        ``seed`` is negative.

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> rng = mc.random.default_rng(42)
    >>> x = rng.normal(size=3)
    >>> bool(np.array_equal(np.asarray(x), np.random.default_rng(42).normal(size=3)))
    True
    >>> bool(np.array_equal(mc.recompute(mc.lineage.dumps(x)), np.asarray(x)))
    True
    """
    if seed is None:  # fresh OS entropy: recorded in lineage, but a step drawing it is not reusable
        nondeterminism.note("unseeded random generator")
    seq = _seed_sequence(seed)
    entropy = seq.entropy  # the OS entropy when seed is None: recording it makes the stream exact
    entropy_node: Node
    if isinstance(entropy, int):
        entropy_node = ("i", entropy)
    else:
        assert entropy is not None  # SeedSequence(None) draws its entropy from the OS
        entropy_node = ("L", tuple(("i", int(e)) for e in entropy))
    lit = ("T", (("T", (entropy_node,)), EMPTY_KWARGS))
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    return TracedGenerator(gen, leaf("numpy.random.default_rng", lit))
