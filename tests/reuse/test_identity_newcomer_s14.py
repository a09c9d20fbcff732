"""A newcomer's stale and wrong ``@mc.step`` results (session 14), each kept as its input, with the
siblings of each kind: classes that were identified by their name only (enums, subclasses of builtin
types, metaclasses), containers whose type was not part of their identity, reads from outside that
were not noticed (SQLite, the file system's metadata, other audit events, ``mc.load``), a module's
``__getattr__``, code in site-packages without a version, and a wrapper whose own parameter names
clashed with the step's keywords.

The cross-process tests run a script twice against one persistent store (``MLCONTEXT_HOME`` in a
temporary folder), editing a module in between: the second process must compute the edited code's
result, not read the first one's from the store.
"""

from __future__ import annotations

import array
import collections
import dataclasses
import decimal
import enum
import importlib
import json
import os
import pathlib
import sqlite3
import subprocess
import sys
import textwrap
import threading
import types
import warnings

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.fingerprint import hash_function, hash_value, packages
from script_runs import run_script

PRELUDE = """
import json
import numpy as np
import mlcontext as mc
mc.reuse(persist=True, disk_bytes_per_s=float("inf"), persist_min_s=0, min_compute_s=0.0)
"""


def _run(folder: pathlib.Path, main: str) -> dict:
    """Run ``main`` (after PRELUDE) in a fresh process in ``folder``; it prints one JSON line."""
    return run_script(folder, PRELUDE, main)


class _Calls(list):
    """Counts a body's runs. Its fingerprint is a constant: a list the body appends to would be part of
    the step's identity, and a call that changes it is never reused."""

    def __mlcontext_fingerprint__(self) -> str:
        return "calls"


class _Sync:
    """Two events a step and another thread hand over by (no fingerprint of their own)."""

    def __init__(self) -> None:
        self.go, self.done = threading.Event(), threading.Event()

    def __mlcontext_fingerprint__(self) -> str:
        return "sync"


def _write(folder: pathlib.Path, name: str, source: str) -> None:
    (folder / name).write_text(textwrap.dedent(source))


def _before_and_after_edit(folder: pathlib.Path, module: str, source: str, edit: tuple[str, str],
                           main: str) -> tuple[dict, dict]:
    _write(folder, module, source)
    first = _run(folder, main)
    _write(folder, module, source.replace(*edit))
    return first, _run(folder, main)


# -- 1. classes identified by their name only ----------------------------------------------------------

KINDS = """
    import dataclasses, enum

    class Kind(enum.Enum):
        A = 1
        def factor(self):
            return 2

    class Level(enum.IntEnum):
        LOW = 1
        def factor(self):
            return 2

    class Perm(enum.Flag):
        R = 1
        W = 2
        def factor(self):
            return 2

    DEFAULT = Kind.A

    @dataclasses.dataclass(frozen=True)
    class Conf:
        kind: Kind

    class Unit(str):
        def factor(self):
            return 2

    class Count(int):
        def factor(self):
            return 2

    class Meta(type):
        def k(cls):
            return 2

    class M(metaclass=Meta):
        pass
"""

KINDS_MAIN = """
    import kinds
    from kinds import DEFAULT

    @mc.step
    def by_argument(x, k):
        return x * k.factor()

    @mc.step
    def by_global(x):
        return x * DEFAULT.factor()

    @mc.step
    def by_field(x, conf):
        return x * conf.kind.factor()

    @mc.step
    def by_metaclass(x):
        return x * kinds.M.k()

    @mc.step
    def by_class_argument(x, cls):
        return x * cls.k()

    x = np.arange(3.0)
    out = {"enum": by_argument(x, kinds.Kind.A), "intenum": by_argument(x, kinds.Level.LOW),
           "flag": by_argument(x, kinds.Perm.R | kinds.Perm.W), "global": by_global(x),
           "field": by_field(x, kinds.Conf(kinds.Kind.A)), "str_subclass": by_argument(x, kinds.Unit("m")),
           "int_subclass": by_argument(x, kinds.Count(3)), "metaclass": by_metaclass(x),
           "metaclass_argument": by_class_argument(x, kinds.M)}
    print(json.dumps({k: float(v[1]) for k, v in out.items()} | {"hits": mc.reuse_stats().persistent_hits}))
"""


def test_an_edited_method_of_an_enum_a_builtin_subclass_or_a_metaclass_is_not_served_stale(tmp_path):
    first, second = _before_and_after_edit(tmp_path, "kinds.py", KINDS, ("return 2", "return 50"), KINDS_MAIN)
    assert first.pop("hits") == 0
    assert set(first.values()) == {2.0}, first
    second.pop("hits")
    stale = sorted(k for k, v in second.items() if v != 50.0)
    assert not stale, f"served the old method's result from the store: {stale}"


def _cell(source: str) -> dict:
    scope: dict = {"__name__": "__main__", "enum": enum, "dataclasses": dataclasses}
    exec(compile(textwrap.dedent(source), "<cell>", "exec"), scope)  # noqa: S102 - test input
    return scope


@pytest.mark.parametrize("base", ["int", "float", "dict", "list", "tuple", "frozenset", "bytes"])
def test_a_builtin_subclass_with_a_method_is_identified_by_its_code(base):
    make = {"int": "3", "float": "3.0", "dict": "{'a': 1}", "list": "[1]", "tuple": "(1,)",
            "frozenset": "{1}", "bytes": "b'a'"}[base]
    source = f"class Sub({base}):\n    def factor(self):\n        return 2\nvalue = Sub({make})\n"
    before = hash_value(_cell(source)["value"])
    assert before == hash_value(_cell(source)["value"])
    assert before != hash_value(_cell(source.replace("return 2", "return 50"))["value"])


def test_a_str_subclass_instance_attribute_is_part_of_its_identity():
    cls = _cell("class Unit(str):\n    def factor(self):\n        return self.scale\n")["Unit"]
    a, b = cls("m"), cls("m")
    a.scale, b.scale = 1, 1000
    assert hash_value(a) != hash_value(b)


@pytest.mark.parametrize("source", [
    # a class whose metaclass is the user's, passed as an argument
    "class Meta(type):\n    def k(cls):\n        return 2\nclass M(metaclass=Meta):\n    pass\nvalue = M\n",
    # __init_subclass__ on the base sets what the subclass computes
    "class Base:\n    def __init_subclass__(cls):\n        cls.k = staticmethod(lambda: 2)\n"
    "class Sub(Base):\n    pass\nvalue = Sub\n",
    # a class decorator adding a method
    "def deco(cls):\n    cls.k = lambda self: 2\n    return cls\n@deco\nclass C:\n    pass\nvalue = C\n",
    # user subclasses of registered types that are not builtins
    "import datetime\nclass Day(datetime.date):\n    def k(self):\n        return 2\n"
    "value = Day(2024, 1, 1)\n",
    "import decimal\nclass D(decimal.Decimal):\n    def k(self):\n        return 2\n"
    "value = D('1.5')\n",
    "import pathlib\nclass P(type(pathlib.PurePath())):\n    def k(self):\n        return 2\n"
    "value = P('a')\n",
    # an enum member held by a dataclass field
    "class K(enum.Enum):\n    A = 1\n    def k(self):\n        return 2\n"
    "@dataclasses.dataclass\nclass C:\n    kind: K\nvalue = C(K.A)\n",
], ids=["metaclass-argument", "init-subclass", "class-decorator", "date-subclass", "decimal-subclass",
        "path-subclass", "enum-in-dataclass"])
def test_class_code_reached_by_other_routes_is_part_of_the_identity(source):
    edited = source.replace(": 2", ": 50").replace("return 2", "return 50")
    assert hash_value(_cell(source)["value"]) != hash_value(_cell(edited)["value"])


def test_an_enum_class_digest_does_not_grow_with_the_members_a_process_made():
    # Flag caches the combined members it makes (A | B) in _value2member_map_: the class's digest
    # must not depend on which combinations a process happened to use.
    cls = _cell("class P(enum.Flag):\n    R = 1\n    W = 2\n")["P"]
    before = hash_value(cls.R)
    _ = cls.R | cls.W, ~cls.R
    assert hash_value(cls.R) == before


def test_enum_members_of_one_class_with_equal_values_stay_apart_and_library_enums_hash():
    cls = _cell("class K(enum.Enum):\n    A = 1\n    B = 2\n")["K"]
    assert hash_value(cls.A) != hash_value(cls.B)
    assert hash_value(decimal.ROUND_HALF_UP) == hash_value(decimal.ROUND_HALF_UP)
    import http
    assert hash_value(http.HTTPStatus.OK) != hash_value(http.HTTPStatus.CREATED)


# -- 2. a container's type is part of its identity -----------------------------------------------------

A = np.arange(6.0).reshape(3, 2)


def test_a_tuple_and_a_list_index_are_two_step_calls():
    @mc.step
    def pick(idx):
        return A[idx]

    assert np.asarray(pick((0, 1))).shape == ()
    np.testing.assert_array_equal(np.asarray(pick([0, 1])), A[[0, 1]])


@pytest.mark.parametrize(("a", "b"), [
    ({1, 2}, frozenset({1, 2})), (b"ab", bytearray(b"ab")), (b"ab", memoryview(b"ab")),
    (bytearray(b"ab"), memoryview(b"ab")), (memoryview(b"abcd"), memoryview(b"abcd").cast("H")),
    ((1, 2), [1, 2]), ({"a": 1}, collections.OrderedDict(a=1)), ({"a": 1}, collections.defaultdict(int, a=1)),
    ((1, 2), collections.namedtuple("P", "x y")(1, 2)), ([0, 1, 2], range(3)),
    ([1, 2], collections.deque([1, 2])), (collections.deque([1, 2]), collections.deque([1, 2], maxlen=2)),
    (array.array("d", [1.0]), array.array("f", [1.0])), (array.array("b", [1]), b"\x01"),
], ids=["set-frozenset", "bytes-bytearray", "bytes-memoryview", "bytearray-memoryview", "memoryview-format",
        "tuple-list", "dict-ordereddict", "dict-defaultdict", "tuple-namedtuple", "list-range",
        "list-deque", "deque-maxlen", "array-typecode", "array-bytes"])
def test_containers_of_two_types_with_the_same_items_hash_apart(a, b):
    assert hash_value(a) != hash_value(b)


def test_a_step_given_a_set_then_a_frozenset_runs_twice():
    calls = _Calls()

    @mc.step
    def kind(v):
        calls.append(1)
        return type(v).__name__

    assert kind({1, 2}) == "set"
    assert kind(frozenset({1, 2})) == "frozenset"
    assert kind(b"ab") == "bytes"
    assert kind(bytearray(b"ab")) == "bytearray"
    assert len(calls) == 4


def test_range_deque_and_array_arguments_are_identified_and_reused():
    calls = _Calls()

    @mc.step
    def total(v):
        calls.append(1)
        return float(sum(v))

    for value in (range(4), collections.deque([1.0, 2.0]), array.array("d", [1.0, 2.0])):
        total(value)
        total(value)
    assert len(calls) == 3


# -- 3. reads from outside that no key holds: audit events ---------------------------------------------

def test_a_step_reading_sqlite_is_computed_again_after_the_table_changes(tmp_path):
    path = str(tmp_path / "d.db")
    with sqlite3.connect(path) as con:
        con.execute("create table t(v)")
        con.execute("insert into t values (1)")
    con.close()

    @mc.step
    def total(p):
        con = sqlite3.connect(p)
        try:
            return float(con.execute("select sum(v) from t").fetchone()[0])
        finally:
            con.close()

    assert total(path) == 1.0
    with sqlite3.connect(path) as con:
        con.execute("insert into t values (5)")
    con.close()
    assert total(path) == 6.0


def test_a_step_running_a_program_is_not_reused():
    calls = _Calls()

    @mc.step
    def status(x):
        calls.append(1)
        return x + os.system("true")

    status(1)
    status(1)
    assert len(calls) == 2


@pytest.mark.parametrize("event", [
    "sqlite3.connect", "socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request",
    "http.client.connect", "subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.scandir",
    "os.listdir", "os.walk", "glob.glob", "pathlib.Path.glob", "os.getxattr", "os.listxattr"])
def test_each_audit_event_of_a_read_from_outside_makes_a_step_call_unreusable(event):
    calls = _Calls()

    @mc.step
    def body(x):
        calls.append(1)
        sys.audit(event, "somewhere")  # what CPython raises when the body does that read
        return x * 2

    body(1)
    body(1)
    assert len(calls) == 2


def test_a_step_loading_through_mc_load_is_computed_again_after_the_file_changes(tmp_path):
    # mlcontext's own readers read for the body: only the cache's, the store's and the fingerprint's
    # reads are mlcontext's own.
    path = tmp_path / "d.npy"
    np.save(path, np.arange(3.0))

    @mc.step
    def total(p):
        return float(np.asarray(mc.load(p)).sum())

    assert total(str(path)) == 3.0
    np.save(path, np.arange(30.0))
    assert total(str(path)) == 435.0


def test_a_warning_shown_by_a_step_does_not_stop_its_reuse():
    # Showing a warning reads the source line (linecache): not a read the result depends on.
    calls = _Calls()

    @mc.step
    def noisy(x):
        calls.append(1)
        warnings.warn("shown", UserWarning, stacklevel=1)
        return x * 2

    shown = []

    def show(message, category, filename, lineno, file=None, line=None):
        shown.append(warnings.formatwarning(message, category, filename, lineno))  # reads the line

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        noisy(1)
        noisy(1)
    assert "warnings.warn" in shown[0]
    assert len(calls) == 1


# -- 4. the file system's metadata: os.stat and what calls it ------------------------------------------

def test_a_step_asking_whether_a_file_exists_and_its_size_is_not_served_stale(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("abc")
    X = np.arange(3.0)

    @mc.step
    def adjusted(x):
        extra = 10.0 if os.path.exists("override.flag") else 0.0
        return x + extra + os.path.getsize("data.txt")

    np.testing.assert_array_equal(np.asarray(adjusted(X)), X + 3)
    (tmp_path / "data.txt").write_text("abcdef")
    (tmp_path / "override.flag").write_text("")
    np.testing.assert_array_equal(np.asarray(adjusted(X)), X + 16)


@pytest.mark.parametrize("probe", [
    lambda p: os.path.isfile(p), lambda p: os.path.getmtime(p), lambda p: os.stat(p).st_size,
    lambda p: os.lstat(p).st_size, lambda p: pathlib.Path(p).exists(),
    lambda p: pathlib.Path(p).stat().st_size,
    lambda p: os.access(p, os.R_OK), lambda p: os.path.isdir(p)],
    ids=["isfile", "getmtime", "os.stat", "os.lstat", "Path.exists", "Path.stat", "os.access", "isdir"])
def test_each_way_of_asking_the_file_system_makes_a_step_call_unreusable(tmp_path, probe):
    calls = _Calls()
    target = str(tmp_path / "f")
    pathlib.Path(target).write_text("x")

    @mc.step
    def body(x):
        calls.append(1)
        probe(target)
        return x

    body(1)
    body(1)
    assert len(calls) == 2


def test_a_stat_on_another_thread_while_a_step_runs_is_not_the_step_s():
    # Watching is per thread: a stat another thread makes meanwhile is no read of this body.
    sync, calls = _Sync(), _Calls()

    def other() -> None:
        sync.go.wait(60)  # (a bound against a hang, not a timing: the step sets it at once)
        os.path.exists(os.devnull)
        sync.done.set()

    worker = threading.Thread(target=other)
    worker.start()

    @mc.step
    def body(x):
        calls.append(1)
        sync.go.set()
        sync.done.wait(60)
        return x

    body(1)
    worker.join()
    body(1)
    assert len(calls) == 1


def test_the_stat_wrappers_keep_what_os_says_they_support():
    # shutil.rmtree's guard against symlink attacks asks whether os.stat is in these sets.
    @mc.step
    def body(x):
        return x

    body(1)
    assert getattr(os.stat, "__mlcontext_watched__", False)
    assert os.stat in os.supports_follow_symlinks and os.stat in os.supports_fd
    assert os.stat(os.devnull).st_mode == os.stat(os.devnull, follow_symlinks=True).st_mode


# -- 5. a module's __getattr__ (PEP 562) ---------------------------------------------------------------

SETTINGS = """
    def __getattr__(name):
        if name == "SCALE":
            return 2
        raise AttributeError(name)
"""

SETTINGS_MAIN = """
    import settings

    @mc.step
    def scaled(x):
        return x * settings.SCALE

    @mc.step
    def scaled_import(x):
        from settings import SCALE
        return x * SCALE

    x = np.arange(3.0)
    print(json.dumps({"attribute": float(scaled(x)[1]), "import": float(scaled_import(x)[1])}))
"""


def test_a_constant_served_by_a_module_getattr_is_not_served_stale(tmp_path):
    first, second = _before_and_after_edit(tmp_path, "settings.py", SETTINGS, ("return 2", "return 9"),
                                           SETTINGS_MAIN)
    assert first == {"attribute": 2.0, "import": 2.0}
    assert second == {"attribute": 9.0, "import": 9.0}


def test_a_module_class_with_a_property_is_part_of_the_identity():
    def make(value: int) -> types.ModuleType:
        module = types.ModuleType("cfg_s14")
        cls = _cell(f"import types\nclass Cfg(types.ModuleType):\n    @property\n    def SCALE(self):\n"
                    f"        return {value}\n")["Cfg"]
        module.__class__ = cls
        return module

    def reader(cfg):
        def scaled(x):
            return x * cfg.SCALE
        return scaled

    assert hash_function(reader(make(2))) != hash_function(reader(make(9)))


# -- 6. code in site-packages without a version --------------------------------------------------------

@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    """A folder the fingerprint takes for site-packages, on sys.path, with fresh caches."""
    site = tmp_path / "site"
    site.mkdir()
    real = os.path.realpath(site) + os.sep
    monkeypatch.setattr(packages, "_LIBRARY_PATHS", (*packages._LIBRARY_PATHS, real))
    monkeypatch.setattr(packages, "_SITE_DIRS", (*packages._SITE_DIRS, real))
    for cache in ("_USER", "_VERSIONS", "_OWNERS"):
        monkeypatch.setattr(packages, cache, {})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield site
    for name in [m for m in sys.modules if m.startswith("vendored_s14")]:
        del sys.modules[name]


def _digest_before_and_after_edit(site: pathlib.Path) -> tuple[str, str]:
    (site / "vendored_s14").mkdir()
    init = site / "vendored_s14" / "__init__.py"
    init.write_text("def rate():\n    return 2\n")
    module = importlib.import_module("vendored_s14")

    def step(x):
        return x * module.rate()

    before = hash_function(step)
    init.write_text("def rate():\n    return 50\n")
    packages._USER.clear()
    importlib.reload(module)
    return before, hash_function(step)


def _dist_info(site: pathlib.Path, direct_url: dict | None = None) -> None:
    meta = site / "vendored_s14-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: vendored_s14\nVersion: 1.0\n")
    (meta / "top_level.txt").write_text("vendored_s14\n")
    if direct_url is not None:
        (meta / "direct_url.json").write_text(json.dumps(direct_url))


def test_a_package_in_site_packages_without_a_distribution_is_identified_by_its_code(fake_site):
    before, after = _digest_before_and_after_edit(fake_site)
    assert packages._is_user("vendored_s14")
    assert before != after


def test_a_distribution_installed_from_a_local_folder_is_identified_by_its_code(fake_site):
    _dist_info(fake_site, {"url": "file:///src/vendored", "dir_info": {}})
    before, after = _digest_before_and_after_edit(fake_site)
    assert packages._is_user("vendored_s14")
    assert before != after


def test_a_distribution_with_a_version_is_identified_by_it(fake_site):
    _dist_info(fake_site)
    before, after = _digest_before_and_after_edit(fake_site)
    assert not packages._is_user("vendored_s14")
    assert before == after  # documented: an installed package is its name and version
    assert packages._version("vendored_s14") == "1.0"


# -- 7. a wrapper's own parameter names ----------------------------------------------------------------

def test_a_step_with_a_keyword_named_fn_runs():
    @mc.step
    def apply(X, fn):
        return fn(X)

    np.testing.assert_array_equal(np.asarray(apply(np.arange(3.0), fn=np.sqrt)), np.sqrt(np.arange(3.0)))
    np.testing.assert_array_equal(np.asarray(apply(np.arange(3.0), fn=np.sqrt)), np.sqrt(np.arange(3.0)))
    assert mc.reuse_stats().step_hits == 1


def test_a_traced_operation_with_a_keyword_named_fn_runs():
    import pandas as pd

    frame = mc.frame(pd.DataFrame({"x": [1.0, 4.0]}))
    out = frame.apply(lambda col, fn: fn(col), fn=np.sqrt)
    np.testing.assert_array_equal(np.asarray(out["x"]), [1.0, 2.0])


# -- peer caches' bugs of the same kinds, with inputs of our own ---------------------------------------

def test_argument_boundaries_are_part_of_the_key():
    """dgilland/cacheout#44: argument digests were concatenated without separators, so f(1, 23),
    f(12, 3) and f(123) shared a key."""
    calls = _Calls()

    @mc.step
    def join(*parts):
        calls.append(parts)
        return "-".join(map(str, parts))

    assert [join(1, 23), join(12, 3), join(123), join("ab", "c"), join("a", "bc")] == \
        ["1-23", "12-3", "123", "ab-c", "a-bc"]
    assert len(calls) == 5


def test_a_list_argument_with_other_items_is_another_call():
    """pallets-eco/flask-caching#445: a memoized function given a shorter list of stores kept
    returning the longer list's total."""
    calls = _Calls()

    @mc.step
    def customers(ids):
        calls.append(1)
        return len(ids) * 300

    assert customers([1234, 2345, 3456]) == 900
    assert customers([1234]) == 300
    ids = [1234]
    ids.append(9)
    assert customers(ids) == 600
    assert len(calls) == 3


def _digest_in_a_process(source: str, seed: str) -> str:
    script = ("import sys, textwrap\nfrom mlcontext.fingerprint import hash_function, hash_value\n"
              "scope = {'__name__': '__main__', 'hash_value': hash_value, 'hash_function': hash_function}\n"
              "exec(textwrap.dedent(sys.argv[1]), scope)\n"
              "print(scope['digest']())\n")
    out = subprocess.run([sys.executable, "-c", script, source], env=dict(os.environ, PYTHONHASHSEED=seed),
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


def test_an_enum_member_has_one_digest_in_every_process():
    """nextflow-io/nextflow#3901: enum values were cached by their per-run hash code, so another run
    never found them. Here: one digest under two hash seeds, and a renamed member is another value."""
    source = """
        import enum
        class Kind(enum.Enum):
            A = 1
            def factor(self):
                return 2
        def digest():
            return hash_value([Kind.A, {Kind.A: 1}])
    """
    one, two = _digest_in_a_process(source, "1"), _digest_in_a_process(source, "2")
    assert one == two
    assert _digest_in_a_process(source.replace("A = 1", "B = 1").replace("Kind.A", "Kind.B"), "1") != one


def test_a_function_with_a_set_constant_has_one_identity_in_every_process():
    """marimo-team/marimo#9861: a frozenset in a function's constants (``x in {"a", "b"}``) iterates
    in an order that follows PYTHONHASHSEED, so the function's hash changed between runs."""
    source = """
        def keep(x):
            return x in {"alpha", "beta", "gamma", "delta"}
        def digest():
            return hash_function(keep)
    """
    assert _digest_in_a_process(source, "1") == _digest_in_a_process(source, "7")


def test_shared_objects_do_not_change_a_digest():
    """joblib/joblib#1283: the pickler's memo made ``[{"a": v}, v]`` hash apart from the same value
    built from two equal lists, so equal arguments missed the cache."""
    v, w = ["test"], ["test"]
    assert hash_value([{"a": v}, v]) == hash_value([{"a": w}, v]) == hash_value([{"a": w}, w])
    calls = _Calls()

    @mc.step
    def count(items):
        calls.append(1)
        return len(items)

    count([{"a": v}, v])
    count([{"a": w}, v])
    assert len(calls) == 1

