"""Who wrote an entry of the shared reuse cache, and whom a reader trusts.

Every writer has an Ed25519 key pair. The private key stays in a file only its owner can read
(``MLCONTEXT_KEY_FILE``, default ``~/.config/mlcontext/writer.key``, created on first use); entries
carry the writer's name, public key and a signature over what they claim (this lineage hash has the
value stored under this artifact hash). A reader reuses an entry only when its public key is one the
reader trusts and the signature verifies: its own key always, plus the team's keys it was given
(``MLCONTEXT_TRUST="alice:<public key>,bob:<public key>"``, or ``StoreTier(store, trust=...)``).

Names are labels for people; keys are what is trusted. Anyone who can write to the database can write
a row that *says* it comes from Alice, but cannot sign it with Alice's key, so Alice's teammates (and
Alice herself) never reuse it. ``mlcontext cache --whoami`` prints the ``name:key`` to hand to a team.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConfigError, MLContextWarning

__all__ = ["WriterKey", "entry_message", "verify", "parse_trust", "load_writer_key", "default_key_path"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


def default_key_path() -> Path:
    """``MLCONTEXT_KEY_FILE``, else ``$XDG_CONFIG_HOME/mlcontext/writer.key`` (``~/.config`` by default)."""
    explicit = os.environ.get("MLCONTEXT_KEY_FILE")
    if explicit:
        return Path(explicit).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "mlcontext" / "writer.key"


@dataclass(frozen=True)
class WriterKey:
    """A writer's name and key pair; :meth:`sign` signs messages, ``public`` is 64 hex characters."""

    name: str
    private: Ed25519PrivateKey
    public: str

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()

    @property
    def label(self) -> str:
        """``name:public key``, the form teammates put in ``MLCONTEXT_TRUST``."""
        return f"{self.name}:{self.public}"


def load_writer_key(name: str, path: Path | None = None) -> WriterKey:
    """The key pair at ``path`` (default :func:`default_key_path`), created there if missing.

    Raises
    ------
    ConfigError
        The file cannot be read or created, or holds no key.
    """
    path = path or default_key_path()
    try:
        raw = _read_or_create(path)
    except OSError as exc:
        raise ConfigError(f"cannot use the reuse-cache signing key {path}: {exc}; set MLCONTEXT_KEY_FILE "
                          "to a file you can write (it is created on first use)") from exc
    try:
        private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(raw.strip()))
    except ValueError as exc:
        raise ConfigError(
            f"the reuse-cache signing key {path} is malformed (it must hold one line of 64 hex "
            f"characters, an Ed25519 private key: {exc}). To regenerate it, delete the file: a new key "
            "is created on first use (then give teammates the new label from `mlcontext cache "
            "--whoami` for their MLCONTEXT_TRUST); or point MLCONTEXT_KEY_FILE at your valid key") from exc
    _warn_if_shared(path)
    public = private.public_key().public_bytes_raw().hex()
    return WriterKey(name, private, public)


def _warn_if_shared(path: Path) -> None:
    """A signing key others can read lets them sign cache entries as this writer."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return
    if mode & 0o077:
        warnings.warn(f"the reuse-cache signing key {path} is readable by others (mode {mode:04o}): "
                      "whoever reads it can sign cache entries as you. Run: chmod 600 " + str(path),
                      MLContextWarning, stacklevel=3)


def _read_or_create(path: Path) -> str:
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = Ed25519PrivateKey.generate().private_bytes_raw().hex()
    # Written under a unique name with owner-only permissions, then linked into place: processes
    # starting together all end up with the first one's key (link fails when the name exists).
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secret + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text()


def entry_message(lineage_hash: str, artifact_hash: str, writer: str) -> bytes:
    """What a signature covers: this lineage hash's value is the artifact, per this writer."""
    return f"mlcontext-cache-entry-v1\0{lineage_hash}\0{artifact_hash}\0{writer}".encode()


def verify(public: str, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (hex) is ``public``'s signature of ``message``; malformed means no."""
    if not (isinstance(public, str) and _HEX64.match(public) and isinstance(signature, str)
            and _HEX128.match(signature)):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_trust(spec: str | Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """Trusted writers as ``{public key: name}`` from ``"alice:<key>,bob:<key>"``, a mapping
    ``{name: key}`` or an iterable of ``"name:key"``.

    Raises
    ------
    ConfigError
        An entry is not ``name:key`` with a 64-hex-character key.
    """
    if spec is None:
        return {}
    if isinstance(spec, str):
        items = [part.strip() for part in spec.replace("\n", ",").split(",") if part.strip()]
    elif isinstance(spec, Mapping):
        items = [f"{name}:{key}" for name, key in spec.items()]
    else:
        items = list(spec)
    trusted: dict[str, str] = {}
    for item in items:
        name, _, key = str(item).rpartition(":")
        key = key.strip().lower()
        if not name or not _HEX64.match(key):
            raise ConfigError(f"trusted writer {item!r} is not 'name:<64 hex characters>' (the form "
                              "`mlcontext cache --whoami` prints)")
        trusted[key] = name.strip()
    return trusted
