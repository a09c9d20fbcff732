"""What a lineage log may ask recompute to do: argument checks of the operations that interpret code.

A log is data that anyone who can write to a shared store may have written (``docs/security.md``).
Most registered operations only compute on their arguments, but a few interpret a string or a
parameter as code:

* ``DataFrame.eval`` / ``query`` evaluate an expression; its ``@name`` references walk to any
  attribute of the named value (``@pd.compat.os.system('id')``, pandas-dev/pandas#58697 and #60602,
  dtale CVE-2023-46134). Checked against the part of pandas' expression grammar that is plain column
  arithmetic: names, literals, arithmetic, comparisons, boolean logic, the math functions pandas
  itself offers, assignments of a column (``eval``); no attribute access, no subscripts, no calls of
  anything else, ``@`` names only from the recorded ``local_dict``, an empty ``global_dict``.
* ``agg`` / ``aggregate`` / ``apply`` / ``transform`` (and the same on ``groupby``, ``rolling`` ...,
  and ``aggfunc=`` of the pivot functions) look a string up as a method of the frame and call it:
  ``df.agg("to_csv", "/home/me/.bashrc")`` writes a file. Strings there must name a pure reduction
  or transform.
* scikit-learn estimators rebuilt from a log get their recorded params: ``memory="/some/path"``
  (``Pipeline``, ``AgglomerativeClustering`` ...) would write cache files there.

Each check runs before its operation in recompute (:data:`~mlcontext.lineage.operations.CHECKS`)
and raises :class:`~mlcontext.errors.LineageError` unless the log is trusted
(:mod:`mlcontext.lineage.policy`). Tracing is not checked: there the user runs their own code.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from ..errors import LineageError
from ..lineage.operations import OPERATIONS, register_check
from ..lineage.policy import current as current_policy
from . import pandas_registry as _pandas_registry  # noqa: F401  (registers the pandas operations checked here)

__all__ = ["check_expression", "SAFE_FUNCTION_NAMES"]

MAX_EXPRESSION = 10_000

# The math functions pandas' expression grammar offers (pandas.core.computation.ops.MATHOPS).
_MATHOPS = frozenset("""sin cos tan exp log expm1 log1p sqrt sinh cosh tanh arcsin arccos arctan
arccosh arcsinh arctanh abs log10 floor ceil arctan2""".split())

_NODES = (ast.Module, ast.Expr, ast.Assign, ast.Name, ast.Load, ast.Store, ast.Constant, ast.BinOp,
          ast.UnaryOp, ast.BoolOp, ast.Compare, ast.List, ast.Tuple, ast.Call, ast.operator,
          ast.unaryop, ast.boolop, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In,
          ast.NotIn)
_EXCLUDED = (ast.MatMult,)
_BACKTICK = re.compile(r"`[^`]*`")
_AT = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
_AT_PREFIX = "_mc_at_"


def check_expression(expr: Any, local_names: set[str], *, statements: bool) -> None:
    """Refuse ``expr`` unless it is plain column arithmetic in pandas' expression grammar.

    Parameters
    ----------
    expr
        The expression string of ``eval``/``query`` as the log recorded it.
    local_names
        The names ``@name`` may refer to (the keys of the recorded ``local_dict``).
    statements
        Allow column assignments (``c = a + b``, one per line), as ``eval`` does.

    Raises
    ------
    LineageError
        Anything else: attribute access, subscripts, calls other than pandas' math functions,
        ``@`` names not recorded, lambdas, comprehensions ...
    """
    if type(expr) is not str or len(expr) > MAX_EXPRESSION:
        raise LineageError("an eval/query expression must be a string of at most "
                           f"{MAX_EXPRESSION} characters")
    text = _BACKTICK.sub(lambda m: f"_mc_bt{m.start()}", expr)
    used = set(_AT.findall(text))
    text = _AT.sub(lambda m: _AT_PREFIX + m.group(1), text)
    if "@" in text:
        raise LineageError(f"expression {expr[:80]!r}: '@' must be followed by a recorded name")
    missing = used - local_names
    if missing:
        raise LineageError(f"expression {expr[:80]!r} refers to @{sorted(missing)[0]}, which the log "
                           "does not record in local_dict")
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise LineageError(f"expression {expr[:80]!r} is not in pandas' expression grammar") from None
    if not statements and (len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr)):
        raise LineageError(f"query {expr[:80]!r} must be a single expression")
    for node in ast.walk(tree):
        _check_node(node, expr)


def _check_node(node: ast.AST, expr: str) -> None:
    if not isinstance(node, _NODES) or isinstance(node, _EXCLUDED):
        raise LineageError(f"expression {expr[:80]!r}: {type(node).__name__} is not plain column "
                           "arithmetic (no attribute access, subscripts, lambdas or other calls)")
    if isinstance(node, ast.Assign) and not (len(node.targets) == 1
                                             and isinstance(node.targets[0], ast.Name)):
        raise LineageError(f"expression {expr[:80]!r}: only a column may be assigned")
    if isinstance(node, ast.Name) and node.id.startswith("__"):
        raise LineageError(f"expression {expr[:80]!r}: name {node.id!r} is not allowed")
    if isinstance(node, ast.Constant) and type(node.value) not in (int, float, complex, str, bool,
                                                                      type(None)):
        raise LineageError(f"expression {expr[:80]!r}: a {type(node.value).__name__} literal")
    if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _MATHOPS
                                           and not node.keywords):
        raise LineageError(f"expression {expr[:80]!r}: only pandas' math functions "
                           f"({', '.join(sorted(_MATHOPS))}) may be called")


_EXPR_KWARGS = {"local_dict", "global_dict", "engine", "parser", "inplace", "kwargs_order"}


def _query_check(statements: bool) -> Callable[[tuple, dict], None]:
    def check(args: tuple, kwargs: dict) -> None:
        if current_policy().trusted:
            return
        if len(args) != 2:
            raise LineageError("eval/query take the frame and the expression, the rest by keyword")
        unknown = set(kwargs) - _EXPR_KWARGS
        if unknown:
            raise LineageError(f"eval/query argument {sorted(unknown)[0]!r} is not allowed in a log")
        if kwargs.get("global_dict", {}) != {} or kwargs.get("inplace", False) is not False:
            raise LineageError("eval/query in a log take no global_dict and do not work in place")
        if kwargs.get("parser", "pandas") != "pandas" or \
                kwargs.get("engine") not in (None, "numexpr", "python"):
            raise LineageError("eval/query in a log use pandas' parser and a standard engine")
        local = kwargs.get("local_dict", {})
        if not isinstance(local, dict):
            raise LineageError("eval/query local_dict must be a dict")
        check_expression(args[1], set(local), statements=statements)
    return check


# Names a log may give as a function string: pure reductions and transforms of pandas objects.
SAFE_FUNCTION_NAMES = frozenset("""
sum mean median min max std var sem prod product count size nunique first last any all idxmin idxmax
cumsum cumprod cummin cummax cumcount rank diff pct_change shift quantile skew kurt kurtosis abs round
ffill bfill nlargest nsmallest describe value_counts unique head tail ngroup mode
""".split())


def _check_functions(value: Any, where: str, depth: int = 0) -> None:
    """Strings in a function position must be safe names; lists, tuples and dicts are searched."""
    if depth > 8:
        raise LineageError(f"{where}: functions nested too deeply")
    if isinstance(value, str):
        if value not in SAFE_FUNCTION_NAMES:
            raise LineageError(f"{where}: a log may not name the method {value[:40]!r} as a "
                               f"function (allowed: {', '.join(sorted(SAFE_FUNCTION_NAMES))})")
    elif isinstance(value, dict):
        for v in value.values():
            _check_functions(v, where, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_functions(v, where, depth + 1)


def _method_func_check(first_extra: int, opcode: str) -> Callable[[tuple, dict], None]:
    """The function argument is positional ``first_extra`` or ``func=``/``arg=``."""

    def check(args: tuple, kwargs: dict) -> None:
        if current_policy().trusted:
            return
        if len(args) > first_extra:
            _check_functions(args[first_extra], opcode)
        for key in ("func", "arg", "aggfunc"):
            if key in kwargs:
                _check_functions(kwargs[key], opcode)
        if any(f".{factory}." in opcode for factory in ("groupby", "resample", "rolling", "expanding")):
            for key, v in kwargs.items():  # named aggregation: new=("column", "sum")
                if key != "kwargs_order" and isinstance(v, tuple) and len(v) == 2:
                    _check_functions(v[1], opcode)
    return check


def _aggfunc_check(opcode: str, position: int) -> Callable[[tuple, dict], None]:
    def check(args: tuple, kwargs: dict) -> None:
        if current_policy().trusted:
            return
        if "aggfunc" in kwargs:
            _check_functions(kwargs["aggfunc"], opcode)
        if len(args) > position:
            _check_functions(args[position], opcode)
    return check


# Methods that call a function given to them, or look a string up as a method and call it. (map
# takes a mapping whose values are data, and calls only callables; DataFrame.filter takes labels.)
_FUNC_METHODS = ("agg", "aggregate", "apply", "transform")
_DEFERRED_FUNC_METHODS = (*_FUNC_METHODS, "filter")


# The kinds of fit items no other call can share (``sklearn_steps._unique_fit``): why each has no
# recipe, and what to do instead.
_LITERAL = "or give the estimator literal parameters (cv=5, random_state=0)"
_UNIQUE_FITS = {
    "unique": ("a parameter had no literal form (an object such as cv=KFold(5), a random generator)",
               _LITERAL),
    "partial_fit": ("it was updated in place by partial_fit", _LITERAL),
    "warm_start": ("it continued from the previous fit's state (warm_start=True)", _LITERAL),
    "edited": ("its parameters or fitted attributes were changed after the fit",
               "or fit a new estimator with the parameters wanted instead of editing a fitted one"),
}


def _opaque_fit_check(args: tuple, kwargs: dict) -> None:
    """A fit no other call can share (params without a literal form, ``partial_fit`` updates, a warm
    start, a fitted estimator edited before a call): it holds no recipe (a reviewer's recompute
    failed with ``_op_fit() missing 2 required positional arguments``)."""
    kind = args[1].partition(":")[0] if len(args) == 2 and isinstance(args[1], str) else ""
    found = _UNIQUE_FITS.get(kind)
    if found is not None:
        reason, advice = found
        raise LineageError(f"cannot recompute the fit of {args[0]}: {reason}, so the log holds no "
                           f"recipe for it; pass what was computed from it by content hash in inputs=, "
                           f"{advice}")


def _estimator_params_check(args: tuple, kwargs: dict) -> None:
    if current_policy().trusted or len(args) < 4:
        return
    _no_memory(args[3], 0)


def _no_memory(params: Any, depth: int) -> None:
    # Params of an estimator and of the estimators nested in it, as the fit literal holds them.
    if depth > 16:
        raise LineageError("estimator params nested too deeply")
    if isinstance(params, dict):
        for key, value in params.items():
            if key == "memory" and value is not None:
                raise LineageError("an estimator rebuilt from a log may not cache to a path "
                                   f"(memory={str(value)[:60]!r}); pass trusted=True for your own log")
            _no_memory(value, depth + 1)
    elif isinstance(params, list | tuple):
        for value in params:
            _no_memory(value, depth + 1)


Check = Callable[[tuple, dict], None]


def _both(first: Check, second: Check) -> Check:
    def check(args: tuple, kwargs: dict) -> None:
        first(args, kwargs)
        second(args, kwargs)
    return check


def _register() -> None:
    register_check("pandas.DataFrame.query", _query_check(statements=False))
    register_check("pandas.DataFrame.eval", _query_check(statements=True))
    for opcode in list(OPERATIONS):
        if not opcode.startswith("pandas."):
            continue
        parts = opcode.split(".")
        if len(parts) == 3 and parts[2] in _FUNC_METHODS:  # pandas.DataFrame.agg: (obj, func)
            register_check(opcode, _method_func_check(1, opcode))
        elif len(parts) in (4, 5) and parts[-1] in _DEFERRED_FUNC_METHODS and \
                parts[2] not in ("str", "dt", "cat"):  # (5: a window on groups, groupby.rolling.apply)
            register_check(opcode, _method_func_check(4, opcode))  # (obj, f_args, f_kwargs, sel, func)
        elif parts[-1] == "pivot_table":  # (data | self, values, index, columns, aggfunc)
            register_check(opcode, _aggfunc_check(opcode, 4))
        elif parts[-1] == "crosstab":  # (index, columns, values, rownames, colnames, aggfunc)
            register_check(opcode, _aggfunc_check(opcode, 5))
    for opcode in ("sklearn.fit", "sklearn.fit_transform"):
        register_check(opcode, _both(_opaque_fit_check, _estimator_params_check))


_register()
