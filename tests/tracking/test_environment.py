"""Environment capture: fields, the fast package listing, serialisation and diffs."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import sys
import time
import types
from dataclasses import replace
from pathlib import Path

import pytest

from mlcontext.errors import StoreError
from mlcontext.tracking.environment import (
    Environment,
    capture_environment,
    diff_environments,
    installed_packages,
    resolve_entry_point,
)


def test_capture_environment_fields() -> None:
    env = capture_environment()
    assert env.python == ".".join(map(str, sys.version_info[:3]))
    assert env.implementation == sys.implementation.name
    assert env.pid == os.getpid() and env.cwd == os.getcwd()
    assert env.argv == tuple(sys.argv)
    assert env.host and env.user and env.platform
    assert env.packages["pytest"] == importlib.metadata.version("pytest")


def test_packages_match_importlib_metadata() -> None:
    expected: dict[str, str] = {}
    for dist in importlib.metadata.distributions():  # sys.path order, like imports: first wins
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        expected.setdefault(name, dist.version)
    assert installed_packages() == expected


def test_packages_from_directory_names_and_metadata(tmp_path: Path) -> None:
    site, later = tmp_path / "site", tmp_path / "later"
    (site / "Foo_Bar-1.2.3.dist-info").mkdir(parents=True)
    (site / "old_pkg-0.9-py3.11.egg-info").mkdir()
    dev = site / "devpkg.egg-info"
    dev.mkdir()
    (dev / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: Dev.Pkg\nVersion: 0.1.dev0\n\nx\n")
    (site / "single.egg-info").write_text("Name: single\nVersion: 3\n")
    (site / "broken.egg-info").mkdir()
    (later / "foo_bar-9.0.dist-info").mkdir(parents=True)
    found = installed_packages([str(site), str(later), str(tmp_path / "missing")])
    assert found == {"foo-bar": "1.2.3", "old-pkg": "0.9", "dev-pkg": "0.1.dev0", "single": "3"}


def test_package_listing_is_cached() -> None:
    first = installed_packages()
    assert installed_packages() == first
    assert capture_environment().packages == first


@pytest.mark.parametrize(
    ("argv", "spec_name", "expected"),
    [
        (["-c"], None, None),
        ([""], None, None),
        (["-"], None, None),
        ([], None, None),
        (["/x/pkg/__main__.py", "a"], "pkg.__main__", "pkg"),
        (["/x/pkg/mod.py"], "pkg.mod", "pkg.mod"),
        (["no-such-file.py"], None, None),
    ],
)
def test_resolve_entry_point(argv: list[str], spec_name: str | None, expected: str | None) -> None:
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name=spec_name) if spec_name else None
    assert resolve_entry_point(argv, main) == expected


def test_resolve_entry_point_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "train.py").write_text("")
    monkeypatch.chdir(tmp_path)
    assert resolve_entry_point(["train.py"], None) == str((tmp_path / "train.py").resolve())


def test_resolve_entry_point_after_the_script_changed_directory(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``python train.py`` then ``os.chdir``: ``argv[0]`` is relative to where it started, and a
    newcomer found the run's entry point empty; ``__main__.__file__`` is absolute."""
    (tmp_path / "train.py").write_text("")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    main = types.ModuleType("__main__")
    main.__file__ = str(tmp_path / "train.py")
    assert resolve_entry_point(["train.py"], main) == str((tmp_path / "train.py").resolve())


def test_dict_round_trip_through_json() -> None:
    env = capture_environment()
    data = json.loads(json.dumps(env.to_dict()))
    assert Environment.from_dict(data) == env
    assert list(data["packages"]) == sorted(data["packages"])


def test_from_dict_rejects_malformed() -> None:
    data = capture_environment().to_dict()
    del data["python"]
    with pytest.raises(StoreError, match="malformed"):
        Environment.from_dict(data)


def test_diff_environments() -> None:
    a = replace(capture_environment(), packages={"numpy": "1.0", "gone": "1", "same": "2"})
    b = replace(a, python="9.9.9", pid=a.pid + 1,
                packages={"numpy": "2.0", "new": "0.1", "same": "2"})
    assert diff_environments(a, b) == {
        "fields": {"python": (a.python, "9.9.9")},
        "added": {"new": "0.1"},
        "removed": {"gone": "1"},
        "changed": {"numpy": ("1.0", "2.0")},
    }
    assert diff_environments(a, a) == {"fields": {}, "added": {}, "removed": {}, "changed": {}}


def _bump(directory: Path, before: int) -> None:
    # Filesystem timestamps can be coarse (a kernel tick): wait until the entry's mtime has moved,
    # as it has long since when a user runs %pip install between two runs.
    while directory.stat().st_mtime_ns == before:
        time.sleep(0.005)
        (directory / ".tick").touch()
        (directory / ".tick").unlink()


def test_a_package_installed_mid_process_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``%pip install`` (or upgrade) in a notebook between two runs shows in the next capture;
    the package cache used to be keyed by the sys.path entries only, so it never did."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert "fakepkg" not in capture_environment().packages
    before = site.stat().st_mtime_ns
    (site / "fakepkg-1.0.dist-info").mkdir()
    (site / "fakepkg-1.0.dist-info" / "METADATA").write_text("Name: fakepkg\nVersion: 1.0\n")
    _bump(site, before)
    assert capture_environment().packages["fakepkg"] == "1.0"
    before = site.stat().st_mtime_ns
    shutil.rmtree(site / "fakepkg-1.0.dist-info")  # pip's upgrade: the old -info goes, the new comes
    (site / "fakepkg-2.0.dist-info").mkdir()
    (site / "fakepkg-2.0.dist-info" / "METADATA").write_text("Name: fakepkg\nVersion: 2.0\n")
    _bump(site, before)
    assert capture_environment().packages["fakepkg"] == "2.0"
    assert installed_packages()["fakepkg"] == "2.0"
