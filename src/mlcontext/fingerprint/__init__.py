"""Stable content fingerprints of bytes, arrays, frames, plain Python values and code.

Every fingerprint is a 128-bit xxh3 digest written as 32 lowercase hex characters. The same value gives
the same fingerprint in every process, on every machine and after pickling: nothing here depends on
``id()``, ``hash()`` (salted per process for ``str``) or dict insertion order of sets.

Values are normalised through a dispatch table (after dask's ``tokenize``): register a type with
:func:`register`, or give a class a ``__mlcontext_fingerprint__()`` method. Values of unknown types raise
:class:`~mlcontext.errors.FingerprintError` instead of getting a random token: a silent cache miss is
bad, a wrong hit is worse.

Functions have one identity (:func:`hash_function`): their code, defaults, closure cells, the globals
they read (the user's own functions and modules transitively) and the versions of the packages they
call into. :data:`SCHEME_VERSION` names this whole scheme; it is part of every persistent cache key
(:func:`persistent_key`), so a change of any digest here never aliases an entry written before.

One module per job:

================  ===================================================================================
``scheme``        the scheme version, the digest, the dispatch table (``register``, ``hash_value``)
``strict``        what happens when something cannot be identified (warn and never reuse, or raise)
``values``        plain Python values: scalars, containers, dates, decimals, dataclasses, enums ...
``arrays``        NumPy arrays (buffer + full dtype description + shape), scalars and dtypes
``frames``        pandas frames, series, indexes, scalars and dtypes (pandas imported lazily)
``packages``      whose code a module is: the user's (hashed by code) or a package's (by version)
``functions``     function identity: code, defaults, closure cells, globals read, snapshots
``callables``     classes, methods, builtins, partials and descriptors
``estimators``    scikit-learn estimators (class, version, parameters; registered lazily)
================  ===================================================================================
"""

from __future__ import annotations

from . import callables, estimators, values  # noqa: F401  (they register their types)
from .arrays import array_header, canonical_array, dtype_descr, hash_array
from .frames import column_digest, hash_frame, hash_index
from .functions import hash_function
from .scheme import DIGEST_HEX_LEN, SCHEME_VERSION, Hasher, hash_bytes, hash_value, persistent_key, register
from .strict import set_strict, strict, unidentified

__all__ = ["hash_bytes", "hash_array", "array_header", "canonical_array", "hash_value", "register", "Hasher",
           "DIGEST_HEX_LEN", "SCHEME_VERSION", "persistent_key", "hash_function", "dtype_descr", "set_strict",
           "strict", "unidentified", "hash_frame", "hash_index", "column_digest"]
