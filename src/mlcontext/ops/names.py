"""Tables of names resolved by ``getattr`` (NumPy functions, pandas methods, Generator draws, estimator
methods): a name the installed library lacks is either newer than that version, which the table's
``added_in`` mapping says, or a typo, which :func:`unresolved` reports (the suite checks every table
on the newest and the oldest supported versions)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping


def release(version: str) -> tuple[int, ...]:
    """``"2.1.0rc1"`` -> ``(2, 1, 0)``: the numeric release, for comparing versions."""
    parts = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.group() != piece:  # "0rc1": a pre-release of the number it starts with
            break
    return tuple(parts)


def absent_here(name: str, added_in: Mapping[str, str], version: str) -> bool:
    """Whether ``name`` is listed as added in a release later than the installed ``version``."""
    return name in added_in and release(version) < release(added_in[name])


def unresolved(names: Iterable[str], resolve: Callable[[str], object], added_in: Mapping[str, str],
               version: str) -> list[str]:
    """The names ``resolve`` does not find (returns None) that ``added_in`` does not explain for
    ``version``: misspelled entries, or names missing from ``added_in``."""
    return [n for n in names if resolve(n) is None and not absent_here(n, added_in, version)]
