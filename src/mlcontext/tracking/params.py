"""Params: JSON-safe values, and overrides from the command line (``--param lr=0.1``)."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import MLContextWarning, ParamError, short_repr
from ..names import check_name

__all__ = ["parse_overrides", "coerce_override", "encode_param"]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_overrides(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split ``--param name=value`` (or ``--param=name=value``) pairs out of ``argv``.

    Returns the overrides and the remaining arguments, so the script's own argument parser never
    sees ours.

    Examples
    --------
    >>> parse_overrides(["train.py", "--param", "lr=0.1", "--epochs", "3", "--param=k=5"])
    ({'lr': '0.1', 'k': '5'}, ['train.py', '--epochs', '3'])
    """
    overrides: dict[str, str] = {}
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--param":
            pair = next(args, None)
            if pair is None:
                raise ParamError("--param needs a value: --param name=value")
        elif arg.startswith("--param="):
            pair = arg[len("--param="):]
        else:
            rest.append(arg)
            continue
        name, sep, value = pair.partition("=")
        if not sep:
            raise ParamError(f"--param {pair!r}: expected name=value, e.g. --param lr=0.1")
        name = check_name(name.strip(), "param")
        if name in overrides and overrides[name] != value:
            # (the last wins, as argparse's options do; said, since a sweep that passes one twice by
            # mistake otherwise records a value nobody noticed: a newcomer's finding)
            warnings.warn(MLContextWarning(
                f"--param {name} is given twice ({overrides[name]!r}, then {value!r}): the last one, "
                f"{value!r}, is used"), stacklevel=3)
        overrides[name] = value
    return overrides, rest


def coerce_override(name: str, raw: str, default: Any) -> Any:
    """Parse the command-line text ``raw`` as a value of the same type as ``default``."""
    kind = type(default)
    try:
        if isinstance(default, bool | np.bool_):
            lowered = raw.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError("expected one of true/false/1/0/yes/no/on/off")
            return lowered in _TRUE
        if isinstance(default, int | np.integer):
            return kind(_parse_int(raw))
        if isinstance(default, float | np.floating):
            return kind(float(raw))
        if isinstance(default, str):
            return raw
        if default is None or isinstance(default, list | dict | tuple):
            value = json.loads(raw)
            if default is not None and not isinstance(value, list if kind is tuple else kind):
                raise ValueError(f"expected JSON for a {kind.__name__}")
            return tuple(value) if kind is tuple else value
    except (ValueError, TypeError) as exc:
        raise ParamError(
            f"--param {name}={short_repr(raw)}: cannot use it as {_article(kind.__name__)} like the "
            f"default {short_repr(default)} ({exc})") from exc
    raise ParamError(f"param {name!r}: a default of type {kind.__name__} cannot be overridden "
                     "from the command line; use a bool, int, float, str, list, dict or None")


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _parse_int(raw: str) -> int:
    """An integer as people write it on a command line: ``8``, ``08`` (a fold, a month: decimal, not
    octal), ``1_000``, ``0x1f``/``0o17``/``0b101`` with their prefixes, or ``1e3`` (an integral float)."""
    text = raw.strip()
    try:
        return int(text, 10)  # leading zeros are decimal: Python's int(text, 0) refuses "08"
    except ValueError:
        pass
    if text[:2].lower() in ("0x", "0o", "0b") or text[1:3].lower() in ("0x", "0o", "0b"):
        return int(text, 0)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if not number.is_integer():
        raise ValueError(f"{text!r} is not a whole number")
    return int(number)


def encode_param(name: str, value: Any) -> tuple[str, str]:
    """The JSON text and type name stored for a param value; raises :class:`ParamError` if unsafe.
    A 0-d array, traced or not (``t.max()`` of a traced array), is recorded as its NumPy scalar, as
    the same code on plain arrays would have passed one."""
    if getattr(value, "ndim", None) == 0 and (isinstance(value, np.ndarray) or hasattr(value, "lineage")):
        value = np.asarray(value)[()]
    try:
        text = json.dumps(_plain(value), allow_nan=True, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ParamError(
            f"param {name!r}: a value of type {type(value).__name__} cannot be recorded ({exc}); "
            "use numbers, strings, booleans, None, or lists/dicts of them") from exc
    return text, type(value).__name__


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("dict keys must be strings")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
