"""Would a compiled hot path reach the ideal? The LIMA pipelines with mlcontext's hot modules compiled
by Cython, against the same source interpreted, interleaved in one run.

``OPENBLAS_NUM_THREADS=1 python -m bench compiled`` (or ``python -m bench.bench_compiled --repeats 3``)

The eleventh session measured that a traced call costs 3-5x more inside a pipeline than alone, because
every call refills the caches that the last large array evicted (``python -m bench cache_refill``), and
concluded that only a hot path touching far fewer cache lines (compiled: no bytecode, no frames) could
close the last points to the ideal on HLM and HCV. This benchmark measures that conclusion instead of
assuming it: it copies ``src/mlcontext`` to a temporary folder, compiles the modules of the hot path
(:data:`HOT_MODULES`: dispatch, the traced array, the executor, lineage items, the cache, the rewrites,
deferred values, literals, digests) with Cython, ``annotation_typing=False`` so that the compiled code
keeps Python's semantics (annotations are not turned into C types, which would convert a NumPy float
passed as ``float``), and runs ``bench.bench_reuse``'s measurement of each pipeline in a subprocess on
the compiled copy and on the source, alternating, ``--repeats`` times. Each subprocess reports achieved
/ ideal per pipeline and whether mlcontext's results equal plain NumPy's.

Needs Cython (``pip install cython``) and a C compiler; without them it says so and measures nothing.
It is a measurement of a design alternative, not a build mode of the product.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOT_MODULES = ["ops/dispatch.py", "ops/traced.py", "ops/deferred.py", "reuse/executor.py", "reuse/cache.py",
               "reuse/rewrites.py", "lineage/item.py", "lineage/literals.py", "lineage/digest.py"]
LIMA = ["HLM", "HCV", "PCALM", "stepLM", "multilevel"]

# One subprocess's measurement: bench_reuse's own interleaved rounds, as JSON on the last line.
_MEASURE = """
import json, sys, mlcontext.ops.dispatch as d
from bench import bench_reuse as br
names, rounds = sys.argv[1].split(","), int(sys.argv[2])
rows = [br.measure(c, rounds=rounds) for c in br.lima_cases() if c.name in names]
print(json.dumps({"compiled": d.__file__.endswith(".so"),
                  "rows": {r.case.name: {"achieved": r.achieved, "same": r.same} for r in rows}}))
"""


def _missing_tools() -> str | None:
    try:
        import Cython  # noqa: F401
    except ImportError:
        return "Cython is not installed (pip install cython)"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler!r} is not on PATH)"
    return None


def compile_copy(folder: Path) -> Path:
    """``src/mlcontext`` copied into ``folder`` with :data:`HOT_MODULES` compiled in place; the copy's
    parent folder, to put first on ``PYTHONPATH``."""
    target = folder / "mlcontext"
    shutil.copytree(ROOT / "src" / "mlcontext", target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    files = [str(target / m) for m in HOT_MODULES]
    subprocess.run([sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-3", "-q", "-j", "2",
                    "-X", "annotation_typing=False", *files],
                   check=True, cwd=folder, stdout=subprocess.DEVNULL)
    return folder


def _measure(pythonpath: str, names: list[str], rounds: int) -> dict:
    env = {**os.environ, "PYTHONPATH": pythonpath, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _MEASURE, ",".join(names), str(rounds)], env=env,
                          cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(runs: dict[str, list[dict]], names: list[str]) -> str:
    lines = ["| pipeline | interpreted: achieved / ideal | compiled: achieved / ideal | median gain | "
             "results = plain |", "|---|---|---|---|---|"]
    for name in names:
        cols = {v: [r["rows"][name]["achieved"] for r in runs[v]] for v in runs}
        same = all(r["rows"][name]["same"] for v in runs for r in runs[v])
        gain = statistics.median(cols["compiled"]) - statistics.median(cols["interpreted"])
        lines.append(f"| {name} | {' / '.join(f'{a:.1%}' for a in cols['interpreted'])} | "
                     f"{' / '.join(f'{a:.1%}' for a in cols['compiled'])} | {gain * 100:+.1f} points | "
                     f"{'yes' if same else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_compiled",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="subprocess runs per variant (default 2)")
    parser.add_argument("--rounds", type=int, default=9, help="bench_reuse rounds per run (default 9)")
    parser.add_argument("--only", default=",".join(LIMA), help=f"pipelines (default {','.join(LIMA)})")
    args = parser.parse_args(argv if argv is not None else [])
    missing = _missing_tools()
    if missing:
        print(f"bench_compiled: skipped: {missing}")
        return
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(LIMA))
    if unknown:
        sys.exit(f"bench_compiled: unknown pipeline(s) {unknown}; choose from {LIMA}")
    with tempfile.TemporaryDirectory(prefix="mlcontext-compiled-") as tmp:
        print(f"compiling {len(HOT_MODULES)} modules with Cython ...", flush=True)
        compiled = str(compile_copy(Path(tmp)))
        paths = {"interpreted": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
                 "compiled": f"{compiled}{os.pathsep}{ROOT}"}
        runs: dict[str, list[dict]] = {v: [] for v in paths}
        for r in range(args.repeats):
            order = list(paths) if r % 2 == 0 else list(paths)[::-1]
            for variant in order:
                result = _measure(paths[variant], names, args.rounds)
                if result["compiled"] != (variant == "compiled"):
                    sys.exit(f"bench_compiled: the {variant} run imported the wrong mlcontext")
                runs[variant].append(result)
                print(f"  run {r + 1} {variant}: " + ", ".join(
                    f"{n} {result['rows'][n]['achieved']:.1%}" for n in names), flush=True)
    print(f"\n{len(HOT_MODULES)} hot modules compiled by Cython against interpreted; achieved / ideal "
          f"per run (best of {args.rounds} rounds each), OPENBLAS_NUM_THREADS=1\n")
    print(table(runs, names))


if __name__ == "__main__":
    main(sys.argv[1:])
