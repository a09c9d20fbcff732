"""One error hierarchy for the whole library.

::

    MLContextError
     ├── ConfigError            (ValueError)   bad configuration or environment
     ├── ParamError             (ValueError)   a param value or override that cannot be used
     ├── InvalidNameError       (ValueError)   a run/metric/param/artifact name with odd characters
     ├── RunError               (RuntimeError) misuse of runs: nested runs, no active run, ...
     ├── AmbiguousReferenceError (LookupError) a reference that names more than one thing
     ├── StoreError             (RuntimeError) the metadata or artifact store failed
     │    ├── SchemaOutdatedError              the store's schema is older than this library
     │    ├── ReadOnlyStoreError  (PermissionError)
     │    ├── NotFoundError       (LookupError) no such run, artifact, version
     │    ├── ArtifactCorruptedError           stored bytes do not match their content hash
     │    ├── UnsafeArchiveError                a recorded archive or path would leave its destination
     │    ├── UntrustedArtifactError (PermissionError) loading it would run code its writer chose
     │    └── DataFormatError     (TypeError)   a value no artifact format can hold
     ├── LineageError           (ValueError)   malformed lineage, log or recompute input
     ├── UsageError             (TypeError)    an argument of a kind a public function does not take
     │    ├── ReferenceTypeError               an object where a reference is expected that is none
     │    └── UntracedAttributeError (AttributeError) an attribute a traced object does not trace
     ├── InvalidArgumentError   (ValueError)   an argument's value a public function does not accept
     ├── QueryError             (ValueError)   a query's condition, date or limit cannot be read
     └── FingerprintError       (TypeError)    a value that cannot be hashed deterministically

    MLContextWarning (UserWarning)
     ├── UnhandledOperationWarning             an operation fell back to an opaque lineage item
     ├── UnidentifiedWarning                   a value or function without fingerprint: never reused
     ├── StepSideEffectWarning                 a step wrote into an argument: that call not reused
     ├── TestSetOveruseWarning                 a test set evaluated beyond its budget
     └── LineageLostWarning                    data registered in a run with no lineage to what it read

Every subclass also inherits the matching builtin so ``except ValueError`` keeps working. A name that
is not even a string raises an :class:`InvalidNameError` that is also a :class:`UsageError` (and so a
``TypeError``).
"""

from __future__ import annotations

__all__ = [
    "MLContextError",
    "ConfigError",
    "ParamError",
    "InvalidNameError",
    "RunError",
    "AmbiguousReferenceError",
    "ReferenceTypeError",
    "StoreError",
    "SchemaOutdatedError",
    "ReadOnlyStoreError",
    "NotFoundError",
    "ArtifactCorruptedError",
    "UnsafeArchiveError",
    "UntrustedArtifactError",
    "DataFormatError",
    "LineageError",
    "FingerprintError",
    "UsageError",
    "UntracedAttributeError",
    "InvalidArgumentError",
    "QueryError",
    "MLContextWarning",
    "UnhandledOperationWarning",
    "UnidentifiedWarning",
    "StepSideEffectWarning",
    "TestSetOveruseWarning",
    "LineageLostWarning",
]


class MLContextError(Exception):
    """Root of every error mlcontext raises."""


class ConfigError(MLContextError, ValueError):
    """Configuration (environment variables, URLs, options) is invalid."""


class ParamError(MLContextError, ValueError):
    """A param value cannot be recorded, or a command-line override does not parse."""


class InvalidNameError(MLContextError, ValueError):
    """A name (run, param, metric, loop, artifact) contains characters that are not allowed."""


class RunError(MLContextError, RuntimeError):
    """Runs used in a way that is not allowed (nested runs, finishing twice, ...)."""


class AmbiguousReferenceError(MLContextError, LookupError):
    """A reference names more than one thing (a dataset in two projects, a dataset and a run).

    Deliberately not a :class:`NotFoundError`: code that falls back to another reading of a reference
    when one is *absent* must not hide that it was *ambiguous*.
    """


class StoreError(MLContextError, RuntimeError):
    """The metadata store or the artifact store failed."""


class SchemaOutdatedError(StoreError):
    """The store's schema is older (or newer) than this version of mlcontext expects."""


class ReadOnlyStoreError(StoreError, PermissionError):
    """The store cannot be written to."""


class NotFoundError(StoreError, LookupError):
    """No such run, artifact or version."""


class ArtifactCorruptedError(StoreError):
    """Bytes read back from the artifact store do not match their content hash."""


class UnsafeArchiveError(StoreError):
    """A recorded archive (a code snapshot, a stored folder) holds a path or link leading outside the
    folder it is restored into, or into ``.git``."""


class UntrustedArtifactError(StoreError, PermissionError):
    """An artifact can only be loaded by running code its writer chose (a pickle), and the reader has
    not said it trusts that writer (``trusted=True``)."""


class DataFormatError(StoreError, TypeError):
    """A value cannot be stored in (or read from) any artifact format: a column Arrow cannot hold, an
    object that does not pickle, a format whose library is missing."""


class LineageError(MLContextError, ValueError):
    """Lineage (items, logs, recompute inputs) is malformed or inconsistent."""


class UsageError(MLContextError, TypeError):
    """A public function was given an argument of a kind it does not take (``mc.traced(1)``)."""


class UntracedAttributeError(UsageError, AttributeError):
    """A traced object lacks an attribute its plain counterpart has (``g.spawn`` of a traced random
    generator): the message says what to write instead. An ``AttributeError`` too, so ``hasattr``
    and ``getattr(x, name, default)`` answer as for any missing attribute."""


class InvalidArgumentError(MLContextError, ValueError):
    """An argument has the right type but a value the function does not accept: an unknown role or
    mode, a negative threshold, a frame whose column labels repeat."""


class ReferenceTypeError(UsageError):
    """An object was passed where a reference (a name, a ``DatasetVersion``, a ``Run`` ...) is expected."""


class QueryError(MLContextError, ValueError):
    """A query's arguments cannot be read: a condition, a date that is not ISO 8601, a limit."""


class FingerprintError(MLContextError, TypeError):
    """A value has no deterministic fingerprint; hashing it would risk a wrong cache hit."""


class MLContextWarning(UserWarning):
    """Root of every warning mlcontext emits."""


class UnidentifiedWarning(MLContextWarning):
    """Something that would be part of a cache key (a value a function reads, an argument) has no
    fingerprint: the call is computed, never reused. ``mc.reuse(strict=True)`` raises instead."""


class StepSideEffectWarning(MLContextWarning):
    """A call of an ``@mc.step`` wrote into one of its arguments (``X -= X.mean(0)``, ``out.append``,
    ``obj.attr = ...``): a later call served from the cache would skip that write, so a call that
    writes is computed, never reused. Warned once per step."""


class UnhandledOperationWarning(MLContextWarning):
    """An operation is not traced precisely; it was computed on plain values with opaque lineage."""


class TestSetOveruseWarning(MLContextWarning):
    """A test set has been evaluated more often than its budget allows."""

    __test__ = False  # not a pytest test class despite the name


class LineageLostWarning(MLContextWarning):
    """Data registered in a run that read other data is a plain value without lineage (``to_pandas()``
    or ``np.asarray`` dropped it): the graph cannot show what it was derived from."""


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` for an error message, abbreviated past ``limit`` characters: a message quoting
    all 400 digits of ``10**400`` (or a 1 MB string) hides what it says. Huge integers are described
    by their size without converting them (``str`` of one beyond 4,300 digits raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        digits = int(value.bit_length() * 0.30103) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits:,} digits"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the error being reported
        return f"<{type(value).__name__} object>"
    if len(text) <= limit:
        return text
    keep = limit - 20
    return f"{text[:keep]}...({len(text):,} characters)"


def refusal(what: str, library: str, exc: Exception) -> MLContextError:
    """A library's own ``TypeError`` or ``ValueError`` for arguments it refuses (pandas for
    ``mc.pd.concat(1)``, NumPy for a draw's ``size="x"``), said as mlcontext's: a :class:`UsageError`
    or an :class:`InvalidArgumentError`, still the same builtin, so ``except TypeError`` keeps
    working (an ``IndexError`` some library versions raise for a bad value becomes an
    :class:`InvalidArgumentError`, a ``ValueError``). ``what`` is the public function
    (``mc.pd.concat``)."""
    if isinstance(exc, MLContextError):
        return exc
    kind = UsageError if isinstance(exc, TypeError) else InvalidArgumentError
    name = what.rsplit(".", 1)[-1]
    return kind(f"{what}: {library} refused the arguments ({type(exc).__name__}: {exc}); check them "
                f"against {library}'s documentation of {name}")


class NameTypeError(InvalidNameError, UsageError):
    """A name that is not a string (``mc.log(1, 0.5)``): an :class:`InvalidNameError` and a
    ``TypeError`` both, so either ``except`` catches it. Raised by :func:`mlcontext.names.check_name`;
    not exported, catch it by either base."""


class NoLineageError(LineageError, UsageError):
    """A value without lineage where lineage is asked for (``mc.recompute(1)``, ``mc.lineage.dumps``
    of a plain array): a :class:`LineageError` and a ``TypeError`` both. Not exported."""

