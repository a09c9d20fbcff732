"""Whose code a module is: the user's own (identified by its code) or an installed package's (by the
package's version). The file decides, not the name: a project's own ``colorsys.py`` is the user's."""

from __future__ import annotations

import importlib.metadata
import os
import site
import sys
import sysconfig

_USER: dict[str, bool] = {}
_VERSIONS: dict[str, str] = {}


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
        return not os.path.realpath(path).startswith(_LIBRARY_PATHS)
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
                    version = "?"
        _VERSIONS[top] = version
    return version



_LIBRARY_PATHS = _library_paths()
