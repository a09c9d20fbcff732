"""Whose code a module is: the user's own (identified by its code) or an installed package's (by the
package's version). The file decides, not the name: a project's own ``colorsys.py`` is the user's.

A version only identifies code that cannot change without it. So code in site-packages counts as the
user's own (hashed by its code) when no installed distribution owns its top-level name (a package
copied there by hand, without ``*.dist-info``), or when the distribution that owns it was installed
from a local folder (``direct_url.json`` says ``dir_info``: ``pip install ./lib`` or ``-e``), whose
code is rebuilt without a version bump.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import site
import sys
import sysconfig

_USER: dict[str, bool] = {}
_VERSIONS: dict[str, str] = {}
#: site directory -> top-level import name -> the ``*.dist-info`` / ``*.egg-info`` folders owning it,
#: read once per directory, the first time a module there is not named as its distribution is.
_OWNERS: dict[str, dict[str, list[str]]] = {}


def _library_paths() -> tuple[str, ...]:
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    paths.add(site.getusersitepackages() if hasattr(site, "getusersitepackages") else "")
    paths.update({sys.prefix, sys.base_prefix, sys.exec_prefix})
    return tuple(os.path.realpath(p) + os.sep for p in paths if p)


def _is_user(module_name: str | None) -> bool:
    """Whether a module is the user's own code (hashed by code) rather than an installed package."""
    if module_name is None:
        return True
    known = _USER.get(module_name)
    if known is None:
        known = _USER[module_name] = _classify(module_name)
    return known


def _classify(module_name: str) -> bool:
    top = module_name.partition(".")[0]
    if module_name == "__main__":
        return True
    if top == "mlcontext" or top in sys.builtin_module_names:
        return False
    module = sys.modules.get(module_name) or sys.modules.get(top)
    path = getattr(module, "__file__", None)
    if path:  # the file decides, not the name: a project's own colorsys.py shadows the stdlib's
        real = os.path.realpath(path)
        if not real.startswith(_LIBRARY_PATHS):
            return True
        return top not in sys.stdlib_module_names and _unversioned(top, real)
    # No file: a frozen stdlib module, or code defined in a notebook, exec'd or made at run time
    # (hashed by its code).
    return top not in sys.stdlib_module_names


def _version(module_name: str) -> str:
    top = module_name.partition(".")[0]
    version = _VERSIONS.get(top)
    if version is None:
        version = getattr(sys.modules.get(top), "__version__", None)
        if not isinstance(version, str):
            if top in sys.stdlib_module_names or top in sys.builtin_module_names:
                version = "python-" + sys.version.split()[0]
            else:
                try:
                    version = importlib.metadata.version(top)
                except (importlib.metadata.PackageNotFoundError, ValueError):
                    version = _owner_names(top) or "?"
        _VERSIONS[top] = version
    return version


def _site_of(path: str) -> str | None:
    """The site directory (site-packages) a real file path lies in, if any."""
    found = [d for d in _SITE_DIRS if path.startswith(d)]
    return max(found, key=len) if found else None


def _unversioned(top: str, path: str) -> bool:
    """Whether a module in site-packages has no version that identifies its code: no distribution
    owns its top-level name, or the one that does was installed from a local folder."""
    site = _site_of(path)
    if site is None:  # under the interpreter's prefix but in no site directory: the interpreter's
        return False
    try:  # the common case, the import name is the distribution's (numpy): one lookup
        dists = [importlib.metadata.distribution(top)]
    except (importlib.metadata.PackageNotFoundError, ValueError):
        dists = [importlib.metadata.PathDistribution(pathlib.Path(p)) for p in _owners(site).get(top, [])]
    if not dists:
        return True
    return any(_from_folder(d) for d in dists)


def _from_folder(dist: importlib.metadata.Distribution) -> bool:
    text = dist.read_text("direct_url.json")
    if not text:
        return False
    try:
        return "dir_info" in json.loads(text)
    except ValueError:
        return False


def _owner_names(top: str) -> str:
    """``name-version`` of the distributions owning a top-level name (a namespace package such as
    ``google`` has no version of its own), from their folder names; empty if none is found."""
    names = []
    for folder in _SITE_DIRS:
        names += [os.path.basename(p).rsplit(".", 1)[0] for p in _owners(folder).get(top, [])]
    return "+".join(sorted(names))


def _owners(site: str) -> dict[str, list[str]]:
    """Top-level import name -> the metadata folders in ``site`` that own it (``top_level.txt``,
    else the first path parts of ``RECORD``): about 60 ms for 200 distributions, once per folder."""
    owners = _OWNERS.get(site)
    if owners is None:
        owners = {}
        try:
            entries = [e.path for e in os.scandir(site) if e.name.endswith((".dist-info", ".egg-info"))]
        except OSError:
            entries = []
        for meta in sorted(entries):
            for name in _tops(meta):
                owners.setdefault(name, []).append(meta)
        _OWNERS[site] = owners
    return owners


def _tops(meta: str) -> set[str]:
    try:
        with open(os.path.join(meta, "top_level.txt"), encoding="utf-8") as f:
            return set(f.read().split())
    except OSError:
        pass
    tops = set()
    try:
        with open(os.path.join(meta, "RECORD"), encoding="utf-8") as f:
            for line in f:
                first = line.split(",", 1)[0].split("/", 1)[0]
                if first and not first.endswith((".dist-info", ".egg-info", ".data", ".pth")):
                    tops.add(first[:-3] if first.endswith(".py") else first.split(".", 1)[0])
    except OSError:
        pass
    return tops



_LIBRARY_PATHS = _library_paths()
_SITE_DIRS = tuple(sorted({os.path.realpath(p) + os.sep for p in (
    *(sysconfig.get_paths()[k] for k in ("purelib", "platlib")),
    *(site.getsitepackages() if hasattr(site, "getsitepackages") else []),
    site.getusersitepackages() if hasattr(site, "getusersitepackages") else "") if p}))
