"""Write docs/api.md: every public name of ``mlcontext`` with its signature and the first paragraph of
its docstring, grouped as a user looks for them.

``python scripts/api_doc.py`` rewrites the file; ``python scripts/api_doc.py --check`` exits 1 when the
file is not what the code says (``tests/test_api_doc.py`` runs the check). A newcomer found
``mc.find``'s, ``mc.versions``' and ``mc.metrics``' arguments nowhere in the docs.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import mlcontext as mc

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"

GROUPS: list[tuple[str, list[str]]] = [
    ("Runs: what a script records", ["run", "Run", "active_run", "param", "log", "artifact", "loop",
                                     "current_loops"]),
    ("Runs: what was recorded", ["runs", "metrics", "get_run", "load_artifact", "restore_code", "RunRecord",
                                 "RunStatus", "ArtifactRef"]),
    ("Stores", ["get_store", "set_store", "use_store", "Store"]),
    ("Datasets", ["dataset", "dataset_version", "versions", "DatasetVersion", "profile", "Profile"]),
    ("Traced values and their lineage", ["array", "asarray", "load", "frame", "read_csv", "read_parquet",
                                          "TracedArray", "TracedFrame", "TracedSeries", "traced",
                                          "model_info", "step", "random", "lineage", "fingerprint",
                                          "recompute"]),
    ("Reuse", ["reuse", "reuse_stats", "reuse_events", "reuse_clear", "ReuseConfig", "ReuseStats"]),
    ("The context questions", ["find", "derivation", "consumers", "Graph", "history", "tried", "testuse",
                               "diff", "DatasetDiff", "ModelDiff", "drift", "DriftReport"]),
]
def _first_paragraph(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _annotation(annotation: object) -> str:
    # (the package uses postponed annotations: they are strings, shown without their quotes)
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _signature(signature: inspect.Signature) -> str:
    params = list(signature.parameters.values())
    parts, star = [], False
    for i, param in enumerate(params):
        if param.kind is param.KEYWORD_ONLY and not star:
            parts.append("*")
        star = star or param.kind in (param.KEYWORD_ONLY, param.VAR_POSITIONAL)
        text = {param.VAR_POSITIONAL: "*", param.VAR_KEYWORD: "**"}.get(param.kind, "") + param.name
        if param.annotation is not param.empty:
            text += f": {_annotation(param.annotation)}"
        if param.default is not param.empty:
            text += (" = " if param.annotation is not param.empty else "=") + repr(param.default)
        parts.append(text)
        if param.kind is param.POSITIONAL_ONLY and (i + 1 == len(params)
                                                    or params[i + 1].kind is not param.POSITIONAL_ONLY):
            parts.append("/")
    returned = "" if signature.return_annotation is signature.empty else \
        f" -> {_annotation(signature.return_annotation)}"
    return f"({', '.join(parts)}){returned}"


def _entry(name: str) -> str:
    obj = getattr(mc, name)
    if inspect.ismodule(obj):
        return f"- `mc.{name}`: {_first_paragraph(obj)}"
    try:
        signature = _signature(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = ""
    kind = "class " if inspect.isclass(obj) else ""
    return f"- {kind}`mc.{name}{signature}`\n\n  {_first_paragraph(obj)}"


def render() -> str:
    listed = {n for _, names in GROUPS for n in names}
    errors = [n for n in mc.__all__ if inspect.isclass(getattr(mc, n, None))
              and issubclass(getattr(mc, n), BaseException)]
    rest = [n for n in mc.__all__ if n not in listed and n not in errors and not n.startswith("__")]
    lines = ["# Python API", "",
             "Every public name of `import mlcontext as mc`, with its signature and what it does. The full",
             "docstrings (parameters, shapes, errors raised, sources) are in the code: `help(mc.find)`.",
             "This file is written by `python scripts/api_doc.py`; `tests/test_api_doc.py` fails when it",
             "no longer says what the code does.", ""]
    for title, names in [*GROUPS, ("Also exported", rest)]:
        if not names:
            continue
        lines += [f"## {title}", ""]
        lines += [_entry(n) for n in names]
        lines.append("")
    lines += ["## Errors and warnings", "",
              "Every error derives from `mc.MLContextError`, every warning from `mc.MLContextWarning`.", ""]
    lines += [f"- `mc.{n}`: {_first_paragraph(getattr(mc, n))}" for n in errors]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run `python scripts/api_doc.py`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
