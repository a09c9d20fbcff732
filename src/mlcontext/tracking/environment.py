"""Environment capture: interpreter, machine, process and installed packages of a run.

Listing packages through :mod:`importlib.metadata` costs about 100 ms in a fresh process (its import
alone is ~60 ms, then every ``METADATA`` file is parsed as an e-mail message), most of the 150 ms
budget for starting a run. Instead the ``*.dist-info`` / ``*.egg-info`` directory names on
``sys.path`` are read (well under 1 ms): the wheel specification fixes those names as
``{name}-{version}.dist-info``. Only entries whose name carries no version (e.g. a development
``pkg.egg-info``) have their metadata file read, and only its headers. Results are cached per
process, keyed by ``sys.path`` and each entry's modification time: installing, upgrading or removing
a distribution adds or renames a ``*-info`` directory in its entry, so a ``%pip install`` in a
notebook is seen by the next capture (one ``stat`` per entry).
"""

from __future__ import annotations

import functools
import getpass
import os
import platform as _platform_module
import re
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import StoreError

__all__ = [
    "Environment",
    "capture_environment",
    "diff_environments",
    "installed_packages",
    "resolve_entry_point",
]

# Fields compared by diff_environments; pid always differs between runs and says nothing.
_COMPARED_FIELDS = ("python", "implementation", "platform", "host", "user", "cwd", "argv",
                    "entry_point")


@dataclass(frozen=True)
class Environment:
    """Where and how a run executed.

    Attributes
    ----------
    python : str
        Interpreter version, e.g. ``"3.11.7"``.
    implementation : str
        ``sys.implementation.name``, e.g. ``"cpython"``.
    platform : str
        ``"{system}-{release}-{machine}"``, e.g. ``"Linux-6.1.0-x86_64"``.
    host, user : str
        Host name and login name (``"unknown"`` when the OS cannot say).
    pid : int
        Process id.
    cwd : str
        Working directory (``""`` if it was deleted).
    argv : tuple of str
        ``sys.argv``.
    entry_point : str or None
        See :func:`resolve_entry_point`.
    packages : Mapping[str, str]
        Installed distributions: normalised name (PEP 503) -> version. Treat as read-only.
    """

    python: str
    implementation: str
    platform: str
    host: str
    user: str
    pid: int
    cwd: str
    argv: tuple[str, ...]
    entry_point: str | None
    packages: Mapping[str, str] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists for tuples, packages sorted by name).

        Examples
        --------
        >>> env = capture_environment()
        >>> Environment.from_dict(env.to_dict()) == env
        True
        """
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["argv"] = list(self.argv)
        data["packages"] = dict(sorted(self.packages.items()))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        """Rebuild from :meth:`to_dict` output (e.g. read back from the store).

        Raises
        ------
        StoreError
            A field is missing or has the wrong type.
        """
        try:
            return cls(
                python=str(data["python"]),
                implementation=str(data["implementation"]),
                platform=str(data["platform"]),
                host=str(data["host"]),
                user=str(data["user"]),
                pid=int(data["pid"]),
                cwd=str(data["cwd"]),
                argv=tuple(str(a) for a in data["argv"]),
                entry_point=None if data["entry_point"] is None else str(data["entry_point"]),
                packages={str(k): str(v) for k, v in dict(data["packages"]).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"malformed environment record: {exc!r}") from exc


def capture_environment() -> Environment:
    """Capture the current process's environment (cheap: packages are cached per process)."""
    argv = tuple(getattr(sys, "argv", ()))
    return Environment(
        python=_platform_module.python_version(),
        implementation=sys.implementation.name,
        platform=_platform(),
        host=socket.gethostname(),
        user=_user(),
        pid=os.getpid(),
        cwd=_cwd(),
        argv=argv,
        entry_point=resolve_entry_point(argv, sys.modules.get("__main__")),
        packages=installed_packages(),
    )


def resolve_entry_point(argv: Sequence[str], main: ModuleType | None) -> str | None:
    """What the process runs: a script's absolute path, a module name, or ``None``.

    ``python -m pkg`` gives ``"pkg"`` (``__main__.__spec__`` names the module; ``argv[0]`` is then
    a file path that hides the ``-m``); ``python -c ...``, ``python -`` and the interactive prompt
    give ``None``; ``python train.py`` gives the resolved path of ``train.py``.

    Examples
    --------
    >>> resolve_entry_point(["-c"], None) is None
    True
    """
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name and name != "__main__":  # "__main__" itself: a directory or zip run as a script
        return name.removesuffix(".__main__")
    if not argv or argv[0] in ("", "-c", "-"):
        return None
    # The script's own path: ``__main__.__file__`` is absolute (Python >= 3.9), so it holds even
    # after the script changed directory; ``argv[0]`` may be relative to where it started.
    main_file = getattr(main, "__file__", None)
    path = Path(main_file) if isinstance(main_file, str) and os.path.isabs(main_file) else Path(argv[0])
    return str(path.resolve()) if path.exists() else None


def diff_environments(a: Environment, b: Environment) -> dict[str, Any]:
    """What changed from ``a`` to ``b``; every part is empty when nothing did.

    Returns
    -------
    dict
        ``{"fields": {name: (a_value, b_value)}, "added": {pkg: version},
        "removed": {pkg: version}, "changed": {pkg: (a_version, b_version)}}`` where ``fields``
        covers python, implementation, platform, host, user, cwd, argv and entry_point.

    Examples
    --------
    >>> env = capture_environment()
    >>> diff_environments(env, env)
    {'fields': {}, 'added': {}, 'removed': {}, 'changed': {}}
    """
    pa, pb = a.packages, b.packages
    return {
        "fields": {
            name: (getattr(a, name), getattr(b, name))
            for name in _COMPARED_FIELDS
            if getattr(a, name) != getattr(b, name)
        },
        "added": {k: pb[k] for k in sorted(pb.keys() - pa.keys())},
        "removed": {k: pa[k] for k in sorted(pa.keys() - pb.keys())},
        "changed": {k: (pa[k], pb[k]) for k in sorted(pa.keys() & pb.keys()) if pa[k] != pb[k]},
    }


# --------------------------------------------------------------------------------------------------
# pieces


@functools.lru_cache(maxsize=1)
def _platform() -> str:
    # platform.platform() costs ~8 ms (it reads the interpreter binary to find the libc version).
    uname = _platform_module.uname()
    return f"{uname.system}-{uname.release}-{uname.machine}"


def current_user() -> str:
    """The login name of this process's user (``"unknown"`` when it has none)."""
    return _user()


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name: containers with an unnamed uid
        return "unknown"


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return ""


def installed_packages(path: Sequence[str] | None = None) -> dict[str, str]:
    """Installed distributions on ``path`` (default ``sys.path``): normalised name -> version.

    As with imports, the first entry on the path wins when a distribution is installed twice.

    Examples
    --------
    >>> "xxhash" in installed_packages()
    True
    """
    entries = sys.path if path is None else path
    # "" means the working directory, which may change between calls: resolve it before caching.
    key = tuple((e, _mtime(e)) for e in (e or _cwd() for e in entries))
    return dict(_scan(key))


def _mtime(entry: str) -> int:
    # An install or upgrade creates/renames a *-info directory in the entry, which changes the
    # entry's mtime: keying the cache by it makes a mid-process install visible.
    try:
        return os.stat(entry).st_mtime_ns
    except OSError:  # missing entry (may appear later: then its mtime differs from -1)
        return -1


@functools.lru_cache(maxsize=8)
def _scan(entries: tuple[tuple[str, int], ...]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for entry, _ in entries:
        for name, version in _dists_in(entry):
            found.setdefault(name, version)
    return tuple(sorted(found.items()))


def _dists_in(directory: str) -> list[tuple[str, str]]:
    try:
        with os.scandir(directory) as it:
            names = [(e.name, e.path) for e in it if e.name.endswith((".dist-info", ".egg-info"))]
    except OSError:  # missing directory, zip file on sys.path, ...
        return []
    dists = []
    for name, path in sorted(names):
        parsed = _from_dir_name(name) or _from_metadata(path)
        if parsed is not None:
            dists.append(parsed)
    return dists


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _from_dir_name(name: str) -> tuple[str, str] | None:
    """``pkg-1.0.dist-info`` or ``pkg-1.0-py3.11.egg-info`` -> ``("pkg", "1.0")``."""
    stem = name.rsplit(".", 1)[0]
    parts = stem.split("-")
    if name.endswith(".dist-info") and len(parts) == 2 and all(parts):
        return _normalise(parts[0]), parts[1]
    if name.endswith(".egg-info") and len(parts) in (2, 3) and all(parts):
        return _normalise(parts[0]), parts[1]
    return None


def _from_metadata(path: str) -> tuple[str, str] | None:
    """Read Name and Version from the headers of a METADATA/PKG-INFO file (or egg-info file)."""
    candidates = [path] if os.path.isfile(path) else [
        os.path.join(path, "METADATA"), os.path.join(path, "PKG-INFO")
    ]
    for candidate in candidates:
        try:
            with open(candidate, encoding="utf-8", errors="replace") as fh:
                headers = _headers(fh)
        except OSError:
            continue
        if "name" in headers and "version" in headers:
            return _normalise(headers["name"]), headers["version"]
    return None


def _headers(lines: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        if not line.strip():  # the headers end at the first blank line; the description follows
            break
        key, sep, value = line.partition(":")
        if sep and key.lower() in ("name", "version"):
            headers.setdefault(key.lower(), value.strip())
    return headers
