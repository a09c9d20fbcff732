"""Crafted lineage logs cannot run code, write files or exhaust memory in ``mc.recompute``
(issue 13 items 1 and 9).

Two routes to code execution, each kept as a crafted log: an ``eval``/``query`` expression whose
``@`` reference walks to ``os.system`` (pandas-dev/pandas#58697 and #60602; dtale CVE-2023-46134),
and function leaves such as ``operator.attrgetter`` fed to ``Series.map``. Siblings: a method named by
a string (``df.agg("to_csv", path)``) and estimator params that write (``memory=path``). Resource
bombs: an output size declared by the log (keras-team/keras#23016, ml-explore/mlx#3365: a small file
declaring a huge shape) and nested loop patches.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import LineageError
from mlcontext.fingerprint import hash_frame

DF = pd.DataFrame({"name": ["ab", "c", "def"], "x": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 6.0]})


def _log(*rows) -> str:
    return "\n".join(json.dumps(r) for r in (["mlcontext-lineage", 1], *rows)) + "\n"


def _frame_leaf(ident: int = 0) -> list:
    return ["l", ident, "pandas.data",
            ["D", [["hash", ["s", hash_frame(DF)]], ["kind", ["s", "frame"]],
                   ["shape", ["T", [["i", 3], ["i", 3]]]]]], "df", None]


def _call(ident, opcode, refs, args, kwargs=()) -> list:
    return ["i", ident, opcode, refs, ["T", [["T", args], ["D", [list(kw) for kw in kwargs]]]]]


# -- route 1: expressions ---------------------------------------------------------------------------

ATTACKS = {
    # No local_dict: pandas would look @pd up in the frame that calls eval (mlcontext's own module,
    # which imports pandas as pd), and pd.compat.os is the os module.
    "at_module_attribute": ("@pd.compat.os.system('touch {marker}')", ()),
    "at_name_recorded_then_attribute": ("@k.__class__", (("local_dict", ["D", [["k", ["i", 1]]]]),)),
    "dunder_import_python_engine": ("__import__('os').system('touch {marker}')",
                                    (("engine", ["s", "python"]),)),
    "lambda": ("(lambda: 1)()", ()),
    "subscript": ("x[0]", ()),
    "global_dict": ("x > @k", (("global_dict", ["D", [["k", ["i", 1]]]]),)),
    "resolvers": ("x > 1", (("resolvers", ["T", []]),)),
    "python_parser": ("x > 1", (("parser", ["s", "python"]),)),
    "comprehension": ("[a for a in x]", ()),
    "other_call": ("getattr(x, 'real')", ()),
}


@pytest.mark.parametrize("opcode", ["pandas.DataFrame.query", "pandas.DataFrame.eval"])
@pytest.mark.parametrize("name", list(ATTACKS))
def test_crafted_expressions_are_refused(tmp_path, opcode: str, name: str) -> None:
    marker = tmp_path / "pwned"
    expr, kwargs = ATTACKS[name]
    text = _log(_frame_leaf(), _call(1, opcode, [0], [["r", 0], ["s", expr.format(marker=marker)]],
                                     kwargs), ["r", [1]])
    with pytest.raises(LineageError):
        mc.recompute(text, inputs={"df": DF})
    assert not marker.exists()


@pytest.mark.parametrize("expr, expected", [
    ("x > 1.5 and y < 6", DF.query("x > 1.5 and y < 6")),
    ("`x` * 2 >= @k", DF[DF.x * 2 >= 4]),
    ("name in ['ab', 'def'] or not (x == 2)", DF.query("name in ['ab', 'def'] or not (x == 2)")),
    ("sqrt(x) + abs(-y) > 3", DF.query("sqrt(x) + abs(-y) > 3")),
])
def test_plain_column_arithmetic_still_recomputes(expr: str, expected: pd.DataFrame) -> None:
    k = 4  # noqa: F841 - read by the expression through @k
    t = mc.frame(DF, name="df")
    text = mc.lineage.dumps(t.query(expr))
    pd.testing.assert_frame_equal(mc.recompute(text, inputs={"df": DF}), expected)


def test_eval_assignments_recompute_untrusted() -> None:
    t = mc.frame(DF, name="df")
    text = mc.lineage.dumps(t.eval("z = x + y\nw = z * 2"))
    pd.testing.assert_frame_equal(mc.recompute(text, inputs={"df": DF}), DF.eval("z = x + y\nw = z * 2"))


# -- route 2: function leaves -------------------------------------------------------------------------

def _function_log(qualname: str, opcode: str = "pandas.Series.map") -> str:
    fn = ["l", 2, "python.function", ["D", [["builtin", ["b", True]], ["qualname", ["s", qualname]]]],
          qualname, None]
    column = _call(1, "pandas.DataFrame.__getitem__", [0], [["r", 0], ["s", "name"]])
    return _log(_frame_leaf(), column, fn, _call(3, opcode, [1, 2], [["r", 0], ["r", 1]]), ["r", [3]])


@pytest.mark.parametrize("qualname", [
    "operator.attrgetter", "operator.methodcaller", "operator.call", "operator.itemgetter",
    "operator.getitem", "builtins.eval", "builtins.exec", "builtins.__import__", "builtins.getattr",
    "builtins.open", "builtins.type", "os.system", "subprocess.run", "pickle.loads",
    "math.__loader__", "numpy.load", "numpy.frompyfunc",
])
@pytest.mark.parametrize("opcode", ["pandas.Series.map", "pandas.Series.apply"])
def test_function_leaves_outside_the_pure_list_are_refused(qualname: str, opcode: str) -> None:
    with pytest.raises(LineageError, match="refused"):
        mc.recompute(_function_log(qualname, opcode), inputs={"df": DF})


@pytest.mark.parametrize("qualname, expected", [
    ("builtins.len", [2, 1, 3]), ("builtins.str", ["ab", "c", "def"]),
])
def test_pure_functions_run_by_name(qualname: str, expected: list) -> None:
    got = mc.recompute(_function_log(qualname), inputs={"df": DF})
    assert list(got) == expected


def speed(row):
    return row.x / row.y


def test_user_functions_need_to_be_passed_by_name_or_a_trusted_log() -> None:
    t = mc.frame(DF, name="df")
    out = t.apply(speed, axis=1)
    text = mc.lineage.dumps(out)
    expected = DF.apply(speed, axis=1)
    with pytest.raises(LineageError, match=r"speed is refused; pass it in inputs="):
        mc.recompute(text, inputs={"df": DF})
    name = f"{__name__}.speed"
    pd.testing.assert_series_equal(mc.recompute(text, inputs={"df": DF, name: speed}), expected)
    pd.testing.assert_series_equal(mc.recompute(text, inputs={"df": DF}, trusted=True), expected)


# -- siblings: methods named by strings, estimator params that write ------------------------------------

def test_a_method_named_as_a_function_string_is_refused(tmp_path) -> None:
    target = tmp_path / "written.csv"
    for opcode in ("pandas.DataFrame.agg", "pandas.DataFrame.apply", "pandas.DataFrame.transform"):
        text = _log(_frame_leaf(), _call(1, opcode, [0], [["r", 0], ["s", "to_csv"], ["s", str(target)]]),
                    ["r", [1]])
        with pytest.raises(LineageError, match="may not name the method 'to_csv'"):
            mc.recompute(text, inputs={"df": DF})
    grouped = ["T", [["r", 0], ["T", [["s", "name"]]], ["D", []], ["n", None], ["L", [["s", "to_pickle"]]]]]
    text = _log(_frame_leaf(), ["i", 1, "pandas.DataFrame.groupby.agg", [0], ["T", [grouped, ["D", []]]]],
                ["r", [1]])
    with pytest.raises(LineageError, match="to_pickle"):
        mc.recompute(text, inputs={"df": DF})
    assert not target.exists()


def test_named_aggregations_and_reductions_by_name_still_recompute() -> None:
    t = mc.frame(DF, name="df")
    out = t.groupby("name").agg(total=("x", "sum"), top=("y", "max"))
    got = mc.recompute(mc.lineage.dumps(out), inputs={"df": DF})
    pd.testing.assert_frame_equal(got, DF.groupby("name").agg(total=("x", "sum"), top=("y", "max")))
    pd.testing.assert_series_equal(mc.recompute(mc.lineage.dumps(t[["x", "y"]].agg("mean")),
                                                inputs={"df": DF}), DF[["x", "y"]].agg("mean"))


def test_estimators_from_a_log_cannot_cache_to_a_path(tmp_path) -> None:
    pytest.importorskip("sklearn")
    from sklearn.cluster import AgglomerativeClustering

    X_np = np.random.default_rng(0).normal(size=(20, 2))
    X = mc.array(X_np, name="X")
    model = mc.traced(AgglomerativeClustering(n_clusters=2))
    model.fit(X)
    text = mc.lineage.dumps(model.__dict__["_mlcontext_info"]["fit_lineage"])
    forged = text.replace('["memory",["n",null]]', f'["memory",["s",{json.dumps(str(tmp_path / "cache"))}]]')
    assert forged != text
    with pytest.raises(LineageError, match="may not cache to a path"):
        mc.recompute(forged, inputs={"X": X_np})
    assert not (tmp_path / "cache").exists()
    mc.recompute(text, inputs={"X": X_np})  # the honest log recomputes


# -- resource bombs -----------------------------------------------------------------------------------

def _data_leaf(shape: tuple[int, ...], payload: str) -> list:
    arr = np.zeros(shape)
    return ["l", 0, "lineage.data",
            ["D", [["dtype", ["s", "<f8"]], ["hash", ["s", mc.fingerprint.hash_array(arr)]],
                   ["shape", ["T", [["i", n] for n in shape]]]]], None, payload]


def test_tile_bomb_is_refused_before_allocating() -> None:
    """The issue's 286-byte log: ``numpy.tile(leaf, 2**32)``."""
    import base64

    leaf = _data_leaf((1,), base64.b64encode(np.zeros(1).tobytes()).decode())
    text = _log(leaf, _call(1, "numpy.tile", [0], [["r", 0], ["i", 1 << 32]]), ["r", [1]])
    assert len(text) < 400
    with pytest.raises(LineageError, match=r"refused numpy.tile \(estimated .* more than the limit"):
        mc.recompute(text)
    assert mc.recompute(text.replace(str(1 << 32), "8")).shape == (8,)


BOMBS = {
    "repeat": ("numpy.repeat", [["r", 0], ["i", 1 << 33]], ()),
    "resize": ("numpy.resize", [["r", 0], ["T", [["i", 1 << 20], ["i", 1 << 20]]]], ()),
    "broadcast_to": ("numpy.broadcast_to", [["r", 0], ["T", [["i", 1 << 20], ["i", 1 << 17]]]], ()),
    "outer": ("numpy.outer", [["r", 0], ["r", 0]], ()),
    "kron": ("numpy.kron", [["r", 0], ["r", 0]], ()),
    "ufunc_outer": ("numpy.add.outer", [["r", 0], ["r", 0]], ()),
    "pad": ("numpy.pad", [["r", 0], ["i", 1 << 31]], ()),
    "full_like": ("numpy.full_like", [["r", 0], ["i", 1]],
                  (["shape", ["T", [["i", 1 << 20], ["i", 1 << 20]]]],)),
    "bincount": ("numpy.bincount", [["r", 1]], ()),
    "astype_huge_string": ("numpy.ndarray.astype", [["r", 0], ["d", "<U99999999"]], ()),
    "meshgrid": ("numpy.meshgrid", [["r", 0], ["r", 0]], ()),
    "diag": ("numpy.diag", [["r", 0]], ()),
    "histogram_bins": ("numpy.histogram", [["r", 0], ["i", 1 << 34]], ()),
    "einsum_outer": ("numpy.einsum", [["s", "i,j->ij"], ["r", 0], ["r", 0]], ()),
    "fancy_index_broadcast": ("numpy.ndarray.__getitem__",
                              [["r", 2], ["T", [["r", 3], ["r", 4]]]], ()),
    "broadcast_add": ("numpy.add", [["r", 3], ["r", 4]], ()),
    "random_size": ("numpy.random.Generator.normal", [["r", 5], ["f", 0.5]],
                    (["size", ["T", [["i", 1 << 20], ["i", 1 << 20]]]],)),
}


def _bomb_leaves() -> list:
    def leaf(ident, value, recipe=None):
        value = np.asarray(value)
        payload = recipe if recipe is not None else \
            __import__("base64").b64encode(np.ascontiguousarray(value).tobytes()).decode()
        return ["l", ident, "lineage.data",
                ["D", [["dtype", ["s", value.dtype.str]], ["hash", ["s", mc.fingerprint.hash_array(value)]],
                       ["shape", ["T", [["i", n] for n in value.shape]]]]], None, payload]

    zero = ["g", ["<f8", "0000000000000000"]]
    return [leaf(0, np.zeros(1 << 17), ["T", [["s", "full"], zero]]), leaf(1, np.array([1 << 40])),
            leaf(2, np.zeros((1 << 16, 2)), ["T", [["s", "full"], zero]]),
            leaf(3, np.zeros((1 << 16, 1), dtype=np.int64), ["T", [["s", "full"], ["g", ["<i8", "0" * 16]]]]),
            leaf(4, np.zeros((1, 1 << 16), dtype=np.int64), ["T", [["s", "full"], ["g", ["<i8", "0" * 16]]]]),
            ["l", 5, "numpy.random.default_rng", ["T", [["T", [["i", 0]]], ["D", []]]], None, None]]


@pytest.mark.parametrize("name", list(BOMBS))
def test_allocation_bombs_are_refused_before_allocating(name: str) -> None:
    opcode, args, kwargs = BOMBS[name]
    text = _log(*_bomb_leaves(), _call(6, opcode, list(range(6)), args, kwargs), ["r", [6]])
    with pytest.raises(LineageError, match="estimated from the recorded shapes.*more than the limit"):
        mc.recompute(text, max_bytes=1 << 30)


def test_nested_loop_patches_are_bounded_by_the_declared_sizes() -> None:
    """Each patch calls the one before it 1,000 times: a few KB declaring 10^12 operations."""
    rows: list = []
    inner = [["numpy.negative", [-1], ["T", [["T", [["r", 0]]], ["D", []]]]]]
    from mlcontext.lineage.patch import Patch, register_patch

    pid = register_patch(Patch.make([(op, tuple(refs), _tuple(lit)) for op, refs, lit in inner],
                                    1, 0, [0])).pid
    rows.append(["p", pid, 1, 0, [0], inner])
    for _ in range(4):
        nodes = []
        prev = -1
        for k in range(1000):
            nodes.append(["lineage.dedup", [prev], ["T", [["s", pid], ["s", "loop:x"], ["T", []]]]])
            nodes.append(["lineage.output", [2 * k], ["k", 0]])
            prev = 2 * k + 1
        try:
            pid = register_patch(Patch.make([(op, tuple(refs), _tuple(lit)) for op, refs, lit in nodes],
                                            1, 0, [prev])).pid
        except LineageError:
            break  # a single patch bigger than the per-patch bound is refused as it is parsed
        rows.append(["p", pid, 1, 0, [prev], nodes])
    leaf = ["l", 0, "lineage.data", ["D", [["dtype", ["s", "<f8"]],
                                           ["hash", ["s", mc.fingerprint.hash_array(np.zeros(1))]],
                                           ["shape", ["T", [["i", 1]]]]]], None, "AAAAAAAAAAA="]
    run = ["d", 1, 10_000, pid, "loop:y", [["prev", 0, 0]], []]
    text = _log(*rows, leaf, run, ["r", [[10_000, 0]]])
    with pytest.raises(LineageError, match="expand to more than|expands to"):
        mc.lineage.loads(text)
    with pytest.raises(LineageError, match="expand to more than|expands to"):
        mc.recompute(text, max_nodes=10_000)


def _tuple(node):
    if isinstance(node, list):
        return tuple(_tuple(x) for x in node)
    return node
