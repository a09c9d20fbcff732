"""The layer table of docs/architecture.md, enforced from the imports: every import points down.

A module may import from its own layer and from the layers below it, never from a layer above. Imports
inside functions count too: a lazy import that points up is still a dependency that points up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mlcontext"

# Bottom up, as in docs/architecture.md (replay, the UI and integrations are layers to come: no package
# yet, their rank reserved so that they slot in above the questions). The package root
# (mlcontext/__init__.py), __main__ and the runtime (which composes the layers' state and wires them)
# are the composition points that expose everything, so they sit above every layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("basics", ("errors", "names", "checks", "fingerprint", "loops", "exits")),
    ("lineage", ("lineage",)),
    ("traced operations", ("ops",)),
    ("reuse", ("reuse",)),
    ("store", ("store",)),
    ("tracking", ("tracking",)),
    ("insight", ("insight",)),
    ("replay", ("replay",)),
    ("faces", ("cli", "ui", "integrations")),
    ("package", ("__init__", "__main__", "runtime")),
]
RANK = {top: rank for rank, (_, tops) in enumerate(LAYERS) for top in tops}


def top_of(module: str) -> str:
    """``mlcontext.ops.traced`` -> ``ops``; ``mlcontext`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, this: str | None = None) -> list[tuple[int, str]]:
    """Every mlcontext module ``path`` (module ``this``) imports, absolute, with its line number."""
    this = this or module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "mlcontext"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "mlcontext":
                continue
            if target == "mlcontext" or node.module is None:  # `from . import lineage` names submodules
                found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_top_level_module_has_a_layer():
    tops = {top_of(module_name(p)) for p in SOURCES}
    assert tops <= set(RANK), f"add these to the layer table: {sorted(tops - set(RANK))}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_point_down(path):
    here = top_of(module_name(path))
    upward = [
        f"line {line}: {target} ({LAYERS[RANK[top_of(target)]][0]})"
        for line, target in imported_modules(path)
        if top_of(target) in RANK and RANK[top_of(target)] > RANK[here]
    ]
    assert not upward, f"{path.name} ({LAYERS[RANK[here]][0]}) imports from a layer above: {upward}"


def test_lineage_and_reuse_know_nothing_of_the_store():
    # DESIGN.md: `lineage` and `reuse` know nothing of the store; `tracking` connects them to it.
    for path in SOURCES:
        if top_of(module_name(path)) in ("lineage", "reuse", "ops"):
            stores = [t for _, t in imported_modules(path) if top_of(t) == "store"]
            assert not stores, f"{path.relative_to(PACKAGE)} imports the store: {stores}"


def test_the_checker_sees_an_upward_import(tmp_path):
    # The checker must be able to fail: lineage/item.py with a relative import up into tracking.
    probe = tmp_path / "item.py"
    probe.write_text((PACKAGE / "lineage" / "item.py").read_text() + "\nfrom ..tracking import run\n")
    assert "mlcontext.tracking" in [t for _, t in imported_modules(probe, "mlcontext.lineage.item")]


def test_the_documented_layer_table_is_the_enforced_one():
    # docs/architecture.md stands on its own: its layer table must be the one this file enforces
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text()
    table = doc.split("## Layers", 1)[1].split("\n\n")[2]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    documented = [(layer.strip(), tuple(p.strip(" `") for p in packages.split(",")))
                  for layer, packages in rows]
    enforced = [(layer, tuple(t for t in tops if (PACKAGE / t).exists() or (PACKAGE / f"{t}.py").exists()))
                for layer, tops in LAYERS if layer != "package"]
    assert documented == [(layer, tops) for layer, tops in enforced if tops]
