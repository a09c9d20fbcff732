"""docs/state.md is the inventory of the state mlcontext keeps at module level: every module-level
container, module-level instance and ``global`` rebinding in ``src/mlcontext`` has a row there, and
every row names something that exists (issue 12 point 5). There is no kind for free process state:
real state is a layer's state object, which the runtime composes and resets (kind ``state``), or is
module-level by nature (kind ``nature``) with the reason."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mlcontext"
DOC = PACKAGE.parents[1] / "docs" / "state.md"
KINDS = {"constant", "registry", "cache", "state", "nature", "lock"}
CONTAINERS = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter", "WeakKeyDictionary",
              "WeakValueDictionary", "WeakSet", "local", "ContextVar", "Lock", "RLock"}


def _is_state(value: ast.expr) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        f = value.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        # a container, or an instance of a class (CamelCase); TypeVar is typing, not state
        return name in CONTAINERS or (name.lstrip("_")[:1].isupper() and name != "TypeVar")
    return False


def module_state(path: Path) -> set[str]:
    """Names of ``path``'s module-level containers and instances, and of the globals it rebinds."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if _is_state(value):
            found |= {t.id for t in targets if isinstance(t, ast.Name) and t.id != "__all__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found |= set(node.names)
    return found


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
