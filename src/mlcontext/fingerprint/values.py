"""Identity of plain Python values: scalars, containers, dates, numbers and small standard objects.

Each value is fed with a type tag and a length prefix (see :func:`.scheme._tag`), so ``1`` and ``1.0``,
``("ab", "c")`` and ``("a", "bc")``, ``(0, 1)`` and ``[0, 1]``, ``{1}`` and ``frozenset({1})``, ``b"a"``
and ``bytearray(b"a")`` differ. Dataclasses, named tuples and enums are identified by their class (a
user's class by its code, see :mod:`.callables`) and their fields.
"""

from __future__ import annotations

import argparse
import array
import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import logging
import math
import pathlib
import re
import struct
import types
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from .scheme import _feed, _tag, add_rule, hash_value, register


@register(type(None))
def _none(value: None, h: Any) -> None:
    _tag(h, b"N")


@register(bool, np.bool_)
def _bool(value: bool, h: Any) -> None:
    _tag(h, b"B", b"\x01" if value else b"\x00")


@register(int)
def _int(value: int, h: Any) -> None:
    _tag(h, b"I", str(value).encode())


@register(float)
def _float(value: float, h: Any) -> None:
    # Canonical NaN; -0.0 and 0.0 stay distinct because they can give different results.
    _tag(h, b"F", struct.pack("<d", math.nan if math.isnan(value) else value))


@register(complex)
def _complex(value: complex, h: Any) -> None:
    _tag(h, b"X", struct.pack("<dd", value.real, value.imag))


@register(str)
def _str(value: str, h: Any) -> None:
    _tag(h, b"S", value.encode("utf-8", "surrogatepass"))


@register(bytes)
def _bytes(value: bytes, h: Any) -> None:
    _tag(h, b"Y", value)


@register(bytearray)
def _bytearray(value: bytearray, h: Any) -> None:
    # Not bytes: code can tell them apart (``isinstance``, ``x + b"!"`` keeps the type, a bytearray
    # can be written into), so equal contents of the two types are two values.
    _tag(h, b"Ya", bytes(value))


@register(memoryview)
def _memoryview(value: memoryview, h: Any) -> None:
    # Its format and shape decide what indexing it gives (``m[0]`` is a byte or a whole float).
    _tag(h, b"Ym", f"{value.format}|{value.shape}|{value.readonly}".encode())
    _tag(h, b"Y", value.tobytes())


@register(tuple, list)
def _sequence(value: tuple | list, h: Any) -> None:
    # A list, dict or set is copied (atomically, under the GIL) before it is read: another thread may
    # change it while its items are hashed, and a length prefix that disagrees with the items fed
    # could alias another value; a dict or set would raise "changed size during iteration".
    items = value if type(value) is tuple else tuple(value)
    _tag(h, b"T" if isinstance(value, tuple) else b"L", struct.pack("<Q", len(items)))
    for item in items:
        _feed(item, h)


@register(dict)
def _dict(value: dict, h: Any) -> None:
    # In insertion order: dicts are ordered, and results depend on it (``list(w.values())``, a dict
    # of column names). Two orders of the same items at worst miss each other; they never alias.
    # (dict.copy is one C call; iterating the live dict can run a GC callback midway, and another
    # thread can change the dict then: "dictionary changed size during iteration", seen in the suite)
    items = tuple((value.copy() if type(value) is dict else value).items())
    _tag(h, b"D2", struct.pack("<Q", len(items)))
    for key, item in items:
        _feed(key, h)
        _feed(item, h)


@register(set, frozenset)
def _set(value: set | frozenset, h: Any) -> None:
    # A frozenset is not a set (it can be a dict key, ``s.add`` fails): the type is part of the value,
    # as a tuple's is apart from a list's.
    digests = sorted(hash_value(v) for v in (value.copy() if type(value) is set else value))
    _tag(h, b"E" if isinstance(value, set) else b"Ef", "".join(digests).encode())


@register(range)
def _range(value: range, h: Any) -> None:
    _tag(h, b"rng", f"{value.start}:{value.stop}:{value.step}".encode())


@register(collections.deque)
def _deque(value: collections.deque, h: Any) -> None:
    # Its items in order and its ``maxlen`` (which decides what an append drops).
    items = tuple(value.copy())
    _tag(h, b"dq", struct.pack("<qQ", -1 if value.maxlen is None else value.maxlen, len(items)))
    for item in items:
        _feed(item, h)


@register(array.array)
def _array(value: array.array, h: Any) -> None:
    _tag(h, b"arr", value.typecode.encode())
    _tag(h, b"Y", value.tobytes())


@register(slice)
def _slice(value: slice, h: Any) -> None:
    _tag(h, b"Z")
    for part in (value.start, value.stop, value.step):
        _feed(part, h)


@register(type(Ellipsis))
def _ellipsis(value: Any, h: Any) -> None:
    _tag(h, b"...")



@register(datetime.datetime)
def _datetime(value: datetime.datetime, h: Any) -> None:
    # The wall time, the zone by its type and name (two zones with today's offset can differ after the
    # next DST change) and ``fold``. pandas' Timestamp (a subclass) has nanoseconds: its own handler.
    tz = value.tzinfo
    zone = "" if tz is None else f"{type(tz).__module__}.{type(tz).__qualname__}:{tz}:{tz.utcoffset(value)}"
    _tag(h, b"dT", f"{value.replace(tzinfo=None).isoformat()}|{zone}|{value.fold}".encode())


@register(datetime.date)
def _date(value: datetime.date, h: Any) -> None:
    _tag(h, b"dD", value.isoformat().encode())


@register(datetime.time)
def _time(value: datetime.time, h: Any) -> None:
    tz = value.tzinfo
    zone = "" if tz is None else f"{type(tz).__qualname__}:{tz}:{tz.utcoffset(None)}"
    _tag(h, b"dt:", f"{value.replace(tzinfo=None).isoformat()}|{zone}|{value.fold}".encode())


@register(datetime.timedelta)
def _timedelta(value: datetime.timedelta, h: Any) -> None:
    _tag(h, b"dd", struct.pack("<qqq", value.days, value.seconds, value.microseconds))


@register(decimal.Decimal)
def _decimal(value: decimal.Decimal, h: Any) -> None:
    # The exact tuple: Decimal("1.0") and Decimal("1.00") print differently and keep their exponent.
    _tag(h, b"dec", str(value.as_tuple()).encode())


@register(uuid.UUID)
def _uuid(value: uuid.UUID, h: Any) -> None:
    _tag(h, b"U", value.bytes)


@register(fractions.Fraction)
def _fraction(value: fractions.Fraction, h: Any) -> None:
    _tag(h, b"Q", f"{value.numerator}/{value.denominator}".encode())



@register(enum.Enum)
def _enum(value: enum.Enum, h: Any) -> None:
    # The class as any class is identified (a user's enum by its code: ``Kind.A.factor()`` returns
    # what its method computes, so an edited method is another value), the member's name and value.
    _feed(type(value), h)
    _tag(h, b"enum", str(value.name).encode())
    _feed(value.value, h)


def _dataclass_instance(value: Any, h: Any) -> None:
    # The class (by its identity: a user's class by its code) and every field's value.
    _feed(type(value), h)
    fields = dataclasses.fields(value)
    for f in fields:
        _tag(h, b"f", f.name.encode())
        _feed(getattr(value, f.name), h)
    # Attributes set on the instance besides its fields (``conf.extra = 7``): code reads them too.
    names = {f.name for f in fields}
    space = getattr(value, "__dict__", None) or {}
    for name, item in sorted((k, v) for k, v in tuple(space.items()) if k not in names):
        _tag(h, b"fx", name.encode())
        _feed(item, h)


def _namedtuple(value: tuple, h: Any) -> None:
    _feed(type(value), h)
    _sequence(value, h)


@register(dataclasses.Field)
def _dataclass_field(value: Any, h: Any) -> None:
    # A dataclass's field: its name and default (or default factory) decide what instances hold.
    _tag(h, b"dcf", str(value.name).encode())
    for part in (value.default, value.default_factory):
        if part is dataclasses.MISSING:
            _tag(h, b"-")
        else:
            _feed(part, h)



@register(pathlib.PurePath)
def _path(value: pathlib.PurePath, h: Any) -> None:
    # The path, not the file's content: reading a file is I/O (declare such steps reuse=False).
    _tag(h, b"path", f"{type(value).__qualname__}:{value}".encode())


@register(re.Pattern)
def _pattern(value: re.Pattern, h: Any) -> None:
    _tag(h, b"re", b"%d:" % value.flags)
    _feed(value.pattern, h)


@register(types.SimpleNamespace, argparse.Namespace)
def _namespace(value: Any, h: Any) -> None:
    # ``args = parser.parse_args()`` read by a step: its attributes, by value.
    _tag(h, b"ns", type(value).__qualname__.encode())
    _dict(vars(value), h)


@register(logging.Logger)
def _logger(value: logging.Logger, h: Any) -> None:
    # A logger a function writes to does not decide what it returns: identified by its name.
    _tag(h, b"log", value.name.encode())



def _structural(cls: type) -> Callable[[Any, Any], None] | None:
    """Dataclasses, named tuples and enums of any class (an IntEnum before its int base)."""
    if dataclasses.is_dataclass(cls):
        return _dataclass_instance
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return _namedtuple
    if issubclass(cls, enum.Enum):  # IntEnum, StrEnum: int and str come before Enum in their MRO
        return _enum
    return None


add_rule(_structural)
