"""Validation of user-given names (runs, params, metrics, loops, artifacts, datasets)."""

from __future__ import annotations

import re

from .errors import InvalidNameError

__all__ = ["check_name", "NAME_PATTERN"]

# Letters, digits and a few separators; slashes allow hierarchies ("train/loss"). No whitespace at the
# ends, no control characters: names appear in SQL, file paths, CLI output and the lineage log.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/:@ ]{0,254}$")


def check_name(name: object, what: str) -> str:
    """Return ``name`` if it is a valid name for ``what``, else raise :class:`InvalidNameError`."""
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} name must be a string, got {type(name).__name__}: {name!r}")
    if not NAME_PATTERN.match(name) or name != name.strip() or "//" in name or ".." in name:
        raise InvalidNameError(
            f"invalid {what} name {name!r}: use 1-255 letters, digits, spaces and '_.-/:@', "
            "starting with a letter, digit or '_' (no '..', '//' or surrounding spaces)"
        )
    return name
