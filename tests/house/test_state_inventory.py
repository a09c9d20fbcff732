"""docs/state.md is the inventory of the state mlcontext keeps at module level: every module-level
name of ``src/mlcontext`` that can hold state has a row there, and every row names something that
exists (issue 12 point 5). There is no kind for free process state: real state is a layer's state
object, which the runtime composes and resets (kind ``state``), or is module-level by nature (kind
``nature``) with the reason.

The scanner's rules. A module-level name (in the module's body, or under a top-level ``if``/``try``/
``with``) is state when it is bound by

1. an assignment, annotated assignment or augmented assignment, tuple/list unpacking included;
2. a ``global`` statement in any function;
3. a caching decorator (``functools.lru_cache``/``cache``, called or not): the cache holds results
   for the process;

unless its value is a constant by construction: a literal (number, string, bytes, None, bool, and
arithmetic on them), a tuple or ``frozenset`` of literals, a compiled regex (``re.compile``), a type
alias (a name, attribute, subscript or ``|`` of them, or annotated ``TypeAlias``), a ``TypeVar``/
``ParamSpec``/``NewType``, or ``__all__``. Classes, functions and imports bind no state.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mlcontext"
DOC = PACKAGE.parents[1] / "docs" / "state.md"
KINDS = {"constant", "registry", "cache", "state", "nature", "lock"}
_CONSTANT_CALLS = {"frozenset", "compile", "TypeVar", "ParamSpec", "NewType"}
_CACHES = {"lru_cache", "cache"}


def _literal(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.UnaryOp):
        return _literal(value.operand)
    if isinstance(value, ast.BinOp):
        return _literal(value.left) and _literal(value.right)
    if isinstance(value, ast.JoinedStr):
        return all(_literal(v.value) if isinstance(v, ast.FormattedValue) else True for v in value.values)
    return isinstance(value, ast.Tuple) and all(_literal(e) for e in value.elts)


def _type_alias(value: ast.expr) -> bool:
    if isinstance(value, ast.Name | ast.Attribute):
        return True
    if isinstance(value, ast.Constant):  # None in `int | None`
        return value.value is None
    if isinstance(value, ast.Subscript):
        return _type_alias(value.value)
    return isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr) and \
        _type_alias(value.left) and _type_alias(value.right)


def _name(f: ast.expr) -> str:
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _constant(value: ast.expr, annotation: ast.expr | None = None) -> bool:
    if annotation is not None and _name(annotation) == "TypeAlias":
        return True
    if _literal(value) or _type_alias(value):
        return True
    if isinstance(value, ast.Call) and _name(value.func) in _CONSTANT_CALLS:
        # frozenset of literals; re.compile; TypeVar/ParamSpec/NewType
        args = [a for a in value.args if not isinstance(a, ast.Set | ast.List | ast.Tuple)] + \
            [e for a in value.args if isinstance(a, ast.Set | ast.List | ast.Tuple) for e in a.elts]
        return _name(value.func) != "frozenset" or all(_literal(a) for a in args)
    return False


def _targets(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _targets(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return [n for e in target.elts for n in _targets(e)]
    return []  # an attribute or item of something: that something is the state


def _cached(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_name(d.func if isinstance(d, ast.Call) else d) in _CACHES for d in node.decorator_list)


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements run at import: the body, and what top-level if/try/with/for blocks hold."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        for field in ("body", "orelse", "finalbody"):
            out += _top_level(getattr(node, field, [])) if not isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else []
        for handler in getattr(node, "handlers", []):
            out += _top_level(handler.body)
    return out


def module_state(path: Path) -> set[str]:
    """Names of ``path``'s module-level state, by the rules at the top of this file."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.Assign) and not _constant(node.value):
            found |= {n for t in node.targets for n in _targets(t)}
        elif isinstance(node, ast.AnnAssign) and node.value is not None and \
                not _constant(node.value, node.annotation):
            found |= set(_targets(node.target))
        elif isinstance(node, ast.AugAssign):
            found |= set(_targets(node.target))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _cached(node):
            found.add(node.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found |= set(node.names)
    return found - {"__all__"}


def in_source() -> set[tuple[str, str]]:
    return {(str(p.relative_to(PACKAGE)), name)
            for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts
            for name in module_state(p)}


def in_doc() -> dict[tuple[str, str], str]:
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| (\w+) \|", DOC.read_text(), flags=re.M)
    return {(module, name): kind for module, name, kind in rows}


def test_every_piece_of_module_state_is_in_the_inventory() -> None:
    missing = sorted(in_source() - set(in_doc()))
    assert not missing, ("module-level state not listed in docs/state.md (add a row: module, name, kind, "
                         f"and how long it lives): {missing}")


def test_every_row_of_the_inventory_still_exists() -> None:
    stale = sorted(set(in_doc()) - in_source())
    assert not stale, f"docs/state.md lists state that no longer exists (remove the rows): {stale}"


def test_every_row_has_a_known_kind() -> None:
    wrong = {key: kind for key, kind in in_doc().items() if kind not in KINDS}
    assert not wrong, f"kinds are {sorted(KINDS)}: {wrong}"


def test_the_scanner_sees_new_state(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import threading\nA = {}\nB = threading.local()\nC = 1\n"
                     "def f():\n    global D\n    D = 2\n")
    assert module_state(probe) == {"A", "B", "D"}


def test_the_scanner_sees_unpacking_unknown_calls_and_caches(tmp_path: Path) -> None:
    """Missed before: ``PROPERTIES, SPECIAL = _tables()`` (ops/pandas_proxies.py), an instance made
    by a call of a lower-case factory (``itertools.count()``, ``_HOME = _home()``), an lru_cache."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import functools, itertools, re\nfrom typing import TypeAlias, TypeVar\n"
        "P, (Q, *R) = f()\nN = itertools.count()\nH = home()\nS = 'a b'.split()\nK = 0\nK += 1\n"
        "@functools.lru_cache(maxsize=8)\ndef scan(x): return x\n@functools.cache\ndef c(): pass\n"
        "if True:\n    T = []\n"
        "L = 1 << 20\nU = ('a', 2, (3,))\nF = frozenset({'a', 'b'})\nX = re.compile('x')\n"
        "A = dict[str, int]\nB = int | None\nAl: TypeAlias = 'list[int]'\nV = TypeVar('V')\n"
        "__all__ = ['P']\nclass Z: pass\ndef g(): pass\n")
    assert module_state(probe) == {"P", "Q", "R", "N", "H", "S", "K", "scan", "c", "T"}


def _object(module: str, name: str) -> object:
    dotted = "mlcontext." + module.removesuffix(".py").replace("/", ".")
    return getattr(importlib.import_module(dotted.removesuffix(".__init__")), name)


def test_every_state_object_is_owned_by_the_runtime() -> None:
    """A row of kind ``state`` is the runtime, a layer's state object it composes, or a part of one:
    what the runtime's reset puts back. Anything else is free process state."""
    from mlcontext.runtime import LAYERS, RUNTIME

    layers = [RUNTIME.layer(name) for name in LAYERS]
    parts = {id(getattr(state, slot)) for state in layers for slot in type(state).__slots__}
    owned = {id(RUNTIME)} | {id(state) for state in layers} | parts
    free = [key for key, kind in in_doc().items() if kind == "state" and id(_object(*key)) not in owned]
    assert not free, f"state objects the runtime does not own (compose them in mlcontext/runtime.py): {free}"
    assert all(callable(getattr(state, "reset", None)) for state in layers)


def test_the_inventory_has_no_free_process_state() -> None:
    """A new module-level global of real state cannot be listed under some kind meaning 'process': it
    goes into its layer's state object, or is listed as ``nature`` with the reason."""
    text = DOC.read_text()
    assert "| process |" not in text
    nature = [line for line in text.splitlines() if "| nature |" in line]
    assert all(len(line.rsplit("| nature |", 1)[1].strip(" |")) > 20 for line in nature), \
        "every row of kind nature says why the state cannot live in a state object"
