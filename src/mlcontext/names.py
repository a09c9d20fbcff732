"""Validation of user-given names (runs, params, metrics, loops, artifacts, datasets).

A name must also be *referable* in the forms the questions take (``docs/references.md``): a dataset
is named ``NAME`` or ``NAME@VERSION`` and a run's artifact ``RUN:NAME``, and a 32-digit hex string is
read as a content hash. So a dataset name holds no ``@`` or ``:`` and is not a hash, and a run name
holds no ``:``; such names are refused when the thing is created, not discovered unreachable later.
"""

from __future__ import annotations

import re
import reprlib

from .errors import InvalidNameError, NameTypeError

__all__ = ["check_name", "NAME_PATTERN", "ValidNames"]

# Letters, digits and a few separators; slashes allow hierarchies ("train/loss"). No whitespace at the
# ends, no control characters: names appear in SQL, file paths, CLI output and the lineage log.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/:@ ]{0,254}$")
_HASH = re.compile(r"^[0-9a-f]{32}$")

# Characters that separate the parts of a reference, by the kind of thing named.
_SEPARATORS = {
    "dataset": {"@": "NAME@VERSION", ":": "RUN:ARTIFACT"},
    "run": {":": "RUN:ARTIFACT"},
}


def check_name(name: object, what: str) -> str:
    """Return ``name`` if it is a valid name for ``what``, else raise :class:`InvalidNameError`."""
    if not isinstance(name, str):
        raise NameTypeError(_not_text(name, what))
    if not NAME_PATTERN.match(name) or name != name.strip() or "//" in name or ".." in name:
        allowed = "_.-/" + "".join(c for c in ":@" if c not in _SEPARATORS.get(what, {}))
        raise InvalidNameError(
            f"invalid {what} name {name!r}: use 1-255 ASCII letters (a-z, A-Z), digits, spaces and "
            f"{allowed!r}, starting with a letter, digit or '_' (no '..', '//' or surrounding spaces)"
        )
    for char, form in _SEPARATORS.get(what, {}).items():
        if char in name:
            raise InvalidNameError(
                f"invalid {what} name {name!r}: {char!r} separates the parts of a reference "
                f"({form}), so this {what} could never be referred to; use '-' or '_' instead, "
                f"e.g. {name.replace(char, '-')!r}")
    if what == "dataset" and _HASH.match(name):
        raise InvalidNameError(f"invalid dataset name {name!r}: 32 hex digits are read as a content "
                               "hash; add a letter beyond f or a separator")
    return name


class ValidNames(set[str]):
    """The names already found valid for one kind of thing, so that a name used in a hot loop
    (``mc.log("loss", ...)`` at every step) is checked once.

    Callers test ``name.__class__ is str and name in memo`` inline (a set lookup, no call: a name
    that is not a string, even an unhashable list, goes to :meth:`check`, which refuses it) and call
    :meth:`check` otherwise. Bounded: names made up per step (``f"loss_{i}"``) do not grow it without
    end; past ``MAX`` it starts again.
    """

    __slots__ = ("what",)
    MAX = 10_000

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def check(self, name: object) -> str:
        """``name`` if it is a valid name for :attr:`what` (remembered), else raise as :func:`check_name`."""
        valid = check_name(name, self.what)
        if len(self) >= self.MAX:
            self.clear()
        self.add(valid)
        return valid


def _not_text(name: object, what: str) -> str:
    kind = type(name).__name__
    if isinstance(name, int | float | bool) or name is None:
        return (f"{what} name must be a string, got {kind}: {name!r}; pass the name as text, "
                f"e.g. str({name!r})")
    # Data where the name belongs (a frame, an array: arguments given in the other order) would
    # print whole in the message; name its kind and shape only.
    shape = getattr(name, "shape", None)
    if isinstance(shape, tuple):
        return (f"{what} name must be a string, got a {kind} of shape {shape}: the data comes "
                f"first, then the name")
    return f"{what} name must be a string, got {kind} {_SHORT.repr(name)}"


_SHORT = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_SHORT.maxstring = _SHORT.maxother = 40
_SHORT.maxlist = _SHORT.maxdict = 4
