"""Reuse pipelines measured in instructions, not seconds: mlcontext's own cost without the noise.

``python -m bench.count_reuse [NAME ...|all] [--runs N] [--jobs J]``

Timings of these pipelines move by 5-15 % between processes on a shared virtual machine (the ideal's
best of 9 was 49, 54 and 58 ms for the same code), which is more than the margin being measured.
Instruction counts do not move: ``valgrind --tool=callgrind`` counts every instruction a process
executes, the same total twice for the same program, inputs and environment, whatever else the
machine does. So this tool answers the question the timings cannot settle: how much work does
mlcontext add to a pipeline, and in which layer — the CPython interpreter (mlcontext's Python
bookkeeping: items, probes, rewrites), NumPy's C code, BLAS, the content hash (xxhash) or libc's
copies.

For each pipeline of :mod:`bench.bench_reuse` and each variant (``ideal``: the hand-deduplicated
program; ``mlc``: the plain program on traced leaves under reuse), two child processes run under
callgrind: one runs the variant once, the other ``1 + runs`` times, after the same imports, data and
warm-up. The difference divided by ``runs`` is the cost of one run, without start-up or first-call
effects. Children run ``jobs`` at a time (counts do not depend on it).

Caveats, both printed with the table:

- valgrind does not emulate AVX-512, so OpenBLAS picks its Haswell kernels under it: BLAS counts are
  those of an AVX2 machine. The interpreter's and mlcontext's counts do not depend on this.
- An instruction is not a fixed time: a BLAS kernel retires 2-4 per cycle, the interpreter fewer, and
  a copy waits for memory. Seconds stay the measure of the issue's targets (``bench.bench_reuse``);
  this is the noise-free measure of the overhead that decides them.

Needs ``valgrind`` (Debian package ``valgrind``; its ``callgrind_annotate`` comes with it). Each
pipeline takes four children under valgrind, a few minutes each (callgrind runs Python 20-50 times
slower): the five LIMA pipelines took about 25 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("ideal", "mlc")
LAYERS = ("interpreter", "numpy", "blas", "xxhash", "extensions", "libc", "other")
# callgrind_annotate lines: "1,234,567 (12.34%)  file:function [object]"
_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")


def layer_of(symbol: str) -> str:
    """The layer a callgrind symbol (``file:function [object path]``) belongs to: the CPython
    interpreter (libpython, the python executable, the standard library's C modules), NumPy's C
    code, BLAS (OpenBLAS, NumPy's or SciPy's), xxhash, other packages' compiled code (pandas,
    SciPy, scikit-learn: ``extensions``), libc and the loader, or other (libm, ...)."""
    obj = symbol[symbol.rfind("[") + 1:].rstrip("]") if "[" in symbol else ""
    low = obj.lower()
    if "xxhash" in low or "xxh3" in symbol.lower():
        return "xxhash"
    if "openblas" in low:
        return "blas"
    if "/numpy/" in low:
        return "numpy"
    if "site-packages" in low:
        return "extensions"
    name = low.rsplit("/", 1)[-1]
    if name.startswith("libpython") or re.fullmatch(r"python(3(\.\d+)?)?", name) or "/lib-dynload/" in low:
        return "interpreter"
    if name.startswith(("libc.so", "libc-", "ld-linux")):
        return "libc"
    if not obj:  # code inlined from a header is listed by its source file alone
        if "/python-3." in symbol.lower():  # (CPython's own build tree)
            return "interpreter"
        if "/sysdeps/" in symbol:
            return "libc"
    return "other"


def parse_annotate(text: str) -> Counter[str]:
    """Instructions by layer from ``callgrind_annotate --inclusive=no`` output (totals line left
    out; every function listed, so the layers add up to the program's total)."""
    layers: Counter[str] = Counter()
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None or "PROGRAM TOTALS" in m.group(2):
            continue
        layers[layer_of(m.group(2))] += int(m.group(1).replace(",", ""))
    return layers


def per_run(once: Counter[str], more: Counter[str], runs: int) -> dict[str, float]:
    """Instructions of one run by layer: (``1 + runs`` runs minus one run) / ``runs``."""
    return {k: (more[k] - once[k]) / runs for k in LAYERS}


def _child(name: str, variant: str, count: int, calls_file: str) -> None:
    """Runs inside callgrind: imports and data as bench_reuse has them, then the variant
    ``count`` times; writes the reuse counters of one mlcontext run to ``calls_file`` (JSON)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    import mlcontext as mc
    from bench import bench_reuse as br

    # Only this pipeline's data, and no warm-up: the first run's imports and first calls are in
    # both children, so the difference leaves them out.
    lima = {c.name: c for c in br.lima_cases()}
    case = lima[name] if name in lima else {c.name: c for c in br.more_cases()}[name]
    counters: dict[str, int] = {}
    for _ in range(count):
        if variant == "ideal":
            case.ideal()
            continue
        mc.reuse_clear()  # a first run on an empty cache, as bench_reuse times it
        before = mc.reuse_stats().as_dict()
        br._plain(case.mlc())
        after = mc.reuse_stats().as_dict()
        mc.reuse_clear()
        counters = {k: after[k] - before[k] for k in ("hits", "partial_hits", "misses", "deferred")}
    Path(calls_file).write_text(json.dumps(counters))


def _callgrind(name: str, variant: str, count: int, folder: Path) -> tuple[Counter[str], dict[str, int]]:
    out, calls = folder / f"{name}.{variant}.{count}.out", folder / f"{name}.{variant}.{count}.calls"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
           "bench.count_reuse", "--child", name, variant, str(count), str(calls)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} ({variant}) failed under valgrind:\n{done.stderr[-2000:]}")
    text = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", str(out)],
                          capture_output=True, text=True, check=True).stdout
    out.unlink()
    return parse_annotate(text), json.loads(calls.read_text())


Row = tuple[str, dict[str, dict[str, float]], dict[str, int]]


def count(names: list[str], runs: int, jobs: int) -> list[Row]:
    """``(name, {variant: instructions of one run by layer}, reuse counters of one mlcontext run)``:
    the counters tell which paths the run took (admission follows measured costs, and under
    valgrind every operation is 20-50 times slower: compare them with ``bench.profile_reuse``'s)."""
    with tempfile.TemporaryDirectory(prefix="count-reuse-") as tmp:
        folder = Path(tmp)
        specs = [(n, v, c) for n in names for v in VARIANTS for c in (1, 1 + runs)]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = dict(zip(specs, pool.map(lambda s: _callgrind(*s, folder), specs), strict=True))
    rows = []
    for n in names:
        layers = {v: per_run(results[n, v, 1][0], results[n, v, 1 + runs][0], runs) for v in VARIANTS}
        rows.append((n, layers, results[n, "mlc", 1][1]))
    return rows


def table(rows: list[Row]) -> str:
    """Millions of instructions of one run, by layer, and what mlcontext adds to the ideal."""
    head = ("| pipeline | variant | total | interpreter | NumPy C | BLAS | xxhash | other extensions | "
            "libc | other | added by mlcontext | its interpreter instructions per traced call |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, layers, counters in rows:
        ideal, mlc = layers["ideal"], layers["mlc"]
        calls = sum(counters.values())
        for variant in VARIANTS:
            v = layers[variant]
            cells = " | ".join(f"{v[k] / 1e6:.1f}" for k in LAYERS)
            extra = ""
            if variant == "mlc":
                added = sum(mlc.values()) - sum(ideal.values())
                per_call = (mlc["interpreter"] - ideal["interpreter"]) / max(calls, 1)
                share = added / sum(ideal.values())
                extra = f"{added / 1e6:+.1f} ({share:+.0%}) | {per_call:,.0f} ({calls} calls: {counters})"
            else:
                extra = " | "
            lines.append(f"| {name} | {variant} | {sum(v.values()) / 1e6:.1f} | {cells} | {extra} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """``python -m bench.count_reuse [NAME ...|all] [--runs N] [--jobs J]``."""
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2], int(argv[3]), argv[4])
        return
    parser = argparse.ArgumentParser(
        prog="python -m bench.count_reuse",
        description="Instructions of one run of each reuse pipeline (ideal and mlcontext), by layer "
                    "(interpreter, NumPy C, BLAS, xxhash, other extensions, libc, other), counted by "
                    "valgrind's callgrind: the same figures on every run, unlike seconds. Needs valgrind "
                    "(Debian package); a few minutes per child, four children per pipeline. Names: "
                    "HLM HCV PCALM stepLM multilevel and those of bench/pipelines_more.py (docs/reuse.md).")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="pipelines of bench.bench_reuse (default: the five LIMA ones; 'all': every one)")
    parser.add_argument("--runs", type=int, default=2, metavar="N",
                        help="runs counted per variant (default 2)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="J",
                        help="children under valgrind at a time (default: the number of cores)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.jobs < 1:
        parser.error("--runs and --jobs must be at least 1")
    missing = [t for t in ("valgrind", "callgrind_annotate") if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"{' and '.join(missing)} not found: install Debian's valgrind package "
                         "(apt-get install valgrind), which brings both")
    from bench import bench_reuse as br

    available = [c.name for c in br.lima_cases() + br.more_cases()]
    names = args.names or ["HLM", "HCV", "PCALM", "stepLM", "multilevel"]
    if names == ["all"]:
        names = available
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise SystemExit(f"unknown pipeline(s) {unknown}; available: {available}")
    print(f"callgrind, {args.runs} run(s) per variant after one; {len(names)} pipeline(s), "
          f"{args.jobs} at a time: about {10 * len(names) // args.jobs + 2} min", flush=True)
    print(table(count(names, args.runs, args.jobs)))
    print("\nMillions of instructions of one run. BLAS counts are of OpenBLAS's AVX2 (Haswell) kernels, "
          "which it picks under valgrind; the interpreter's are the same on any x86-64.")


if __name__ == "__main__":
    main(sys.argv[1:])
