"""The reuse-correctness corpus: small programs in the styles people write.

Each program is the source of a notebook cell or a script: it runs in a fresh namespace (with ``np``,
``pd`` and ``mc`` imported) and leaves what it computed in ``result``. Most of them change something
between two calls that a cache could miss — a closure value, a helper, a global, a default, an input
mutated in place, a record dtype's field names, a datetime unit — so a stale or foreign hit shows as a
result that differs from the same program run without reuse. Programs whose name starts with
``same_`` repeat identical work, so with a warm cache they must be served (at least partly) from it.
"""

from __future__ import annotations

PROGRAMS: dict[str, str] = {}


def program(name: str, source: str) -> None:
    assert name not in PROGRAMS, name
    PROGRAMS[name] = source


# -- closures and factories ----------------------------------------------------------------------------
program("closure_step_factory", """
X = mc.array(np.arange(12.0).reshape(4, 3))
def make_scaler(f):
    @mc.step
    def scale(a):
        return a * f
    return scale
result = [make_scaler(2.0)(X), make_scaler(3.0)(X), make_scaler(2.0)(X)]
""")
program("closure_apply_lambda_factory", """
raw = pd.DataFrame({"fare": [10.0, 20.0, 35.5]})
def make(rate):
    return lambda x: round(x * rate, 2)
result = [mc.frame(raw).fare.apply(make(r)) for r in (0.1, 0.15, 0.1)]
""")
program("closure_nested_two_levels", """
X = mc.array(np.linspace(0, 1, 10))
def outer(a):
    def middle(b):
        @mc.step
        def inner(v):
            return v * a + b
        return inner
    return middle
result = [outer(1.0)(2.0)(X), outer(1.0)(3.0)(X), outer(2.0)(2.0)(X)]
""")
program("closure_cell_rebound", """
X = mc.array(np.arange(5.0))
k = 2.0
@mc.step
def scale(a):
    return a * k
first = scale(X)
k = 4.0
result = [first, scale(X)]
""")
program("closure_over_array_mutated", """
X = mc.array(np.arange(6.0))
w = np.ones(6)
@mc.step
def weigh(a):
    return a * w
first = weigh(X)
w[2] = 10.0
result = [first, weigh(X)]
""")
program("closure_class_factory", """
class Scaler:
    def __init__(self, f):
        self.f = f
    def make(self):
        f = self.f
        return lambda x: x * f
raw = pd.DataFrame({"v": [1.0, 2.0]})
result = [mc.frame(raw).v.map(Scaler(2).make()), mc.frame(raw).v.map(Scaler(5).make())]
""")

# -- helpers and globals edited between calls -----------------------------------------------------------
program("helper_redefined_apply", """
raw = pd.DataFrame({"fare": [10.0, 20.0]})
def rate(x):
    return 0.1
def tip(x):
    return x * rate(x)
first = mc.frame(raw).fare.apply(tip)
def rate(x):
    return 0.2
result = [first, mc.frame(raw).fare.apply(tip)]
""")
program("helper_constant_changed", """
raw = pd.DataFrame({"fare": [10.0, 20.0]})
RATE = 0.1
def rate(x):
    return RATE
def tip(x):
    return x * rate(x)
first = mc.frame(raw).fare.apply(tip)
RATE = 0.25
result = [first, mc.frame(raw).fare.apply(tip)]
""")
program("global_read_by_step", """
K = 2.0
@mc.step
def scale(a):
    return a * K
X = mc.array(np.arange(4.0))
first = scale(X)
K = 3.0
result = [first, scale(X)]
""")
program("global_dict_config_mutated", """
CONFIG = {"alpha": 0.5, "power": 2}
@mc.step
def transform(a):
    return (a ** CONFIG["power"]) * CONFIG["alpha"]
X = mc.array(np.arange(5.0))
first = transform(X)
CONFIG["power"] = 3
result = [first, transform(X)]
""")
program("global_list_appended", """
OFFSETS = [1.0]
@mc.step
def shift(a):
    return a + sum(OFFSETS)
X = mc.array(np.arange(3.0))
first = shift(X)
OFFSETS.append(5.0)
result = [first, shift(X)]
""")
program("helper_of_helper_edited", """
def inner(a):
    return a + 1
def outer(a):
    return inner(a) * 2
@mc.step
def run(a):
    return outer(a)
X = mc.array(np.arange(4.0))
first = run(X)
def inner(a):
    return a + 10
result = [first, run(X)]
""")
program("helper_module_attribute", """
import types
helpers = types.ModuleType("corpus_helpers")
exec("SCALE = 2.0\\ndef f(a):\\n    return a * SCALE\\n", helpers.__dict__)
@mc.step
def run(a):
    return helpers.f(a)
X = mc.array(np.arange(4.0))
first = run(X)
helpers.SCALE = 7.0
result = [first, run(X)]
""")
program("mutual_recursion_helpers", """
def even(n):
    return n == 0 or odd(n - 1)
def odd(n):
    return n != 0 and even(n - 1)
@mc.step
def parity(a, n):
    return a * (1.0 if even(n) else -1.0)
X = mc.array(np.arange(3.0))
first = [parity(X, 4), parity(X, 5)]
def odd(n):
    return False
result = first + [parity(X, 5)]
""")
program("recursive_function", """
def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)
raw = pd.DataFrame({"n": [1, 3, 5]})
result = [mc.frame(raw).n.apply(fact), mc.frame(raw).n.apply(fact)]
""")
program("pipe_with_edited_function", """
raw = pd.DataFrame({"a": [1, 2, 3], "b": [4.0, 5.0, 6.0]})
def clean(df):
    return df.assign(c=df.a * 2)
first = mc.frame(raw).pipe(clean)
def clean(df):
    return df.assign(c=df.a * 3)
result = [first, mc.frame(raw).pipe(clean)]
""")
program("groupby_agg_custom_function", """
raw = pd.DataFrame({"g": ["a", "b", "a", "b"], "x": [1.0, 2.0, 3.0, 5.0]})
Q = 0.5
def spread(s):
    return s.max() - s.min() * Q
first = mc.frame(raw).groupby("g").x.agg(spread)
Q = 2.0
result = [first, mc.frame(raw).groupby("g").x.agg(spread)]
""")
program("frame_apply_axis1_global", """
raw = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
W = 1.0
def row(r):
    return r.a * W + r.b
first = mc.frame(raw).apply(row, axis=1)
W = -1.0
result = [first, mc.frame(raw).apply(row, axis=1)]
""")
program("builtin_and_partial_functions", """
import functools
raw = pd.DataFrame({"s": ["a", "bb", "ccc"]})
def pad(s, n):
    return s.ljust(n, "*")
result = [mc.frame(raw).s.map(len), mc.frame(raw).s.map(functools.partial(pad, n=4)),
          mc.frame(raw).s.map(functools.partial(pad, n=5)), mc.frame(raw).s.map(str.upper)]
""")

# -- defaults changed ---------------------------------------------------------------------------------
program("defaults_changed", """
@mc.step
def scale(a, k=2.0):
    return a * k
X = mc.array(np.arange(4.0))
first = scale(X)
scale.__wrapped__.__defaults__ = (5.0,)
result = [first, scale(X), scale(X, k=2.0)]
""")
program("kwdefaults_changed", """
@mc.step
def scale(a, *, k=2.0):
    return a * k
X = mc.array(np.arange(4.0))
first = scale(X)
scale.__wrapped__.__kwdefaults__ = {"k": 9.0}
result = [first, scale(X)]
""")
program("mutable_default_mutated", """
def add(x, extra=[0.0]):
    return x + sum(extra)
raw = pd.DataFrame({"v": [1.0, 2.0]})
first = mc.frame(raw).v.apply(add)
add.__defaults__[0].append(3.0)
result = [first, mc.frame(raw).v.apply(add)]
""")

# -- notebook-style redefinition -------------------------------------------------------------------------
program("notebook_redefine_step", """
@mc.step
def feat(a):
    return a + 1
X = mc.array(np.arange(4.0))
first = feat(X)
@mc.step
def feat(a):
    return a + 2
result = [first, feat(X)]
""")
program("notebook_redefine_same_body", """
@mc.step
def feat(a):
    return np.sqrt(a) + 1
X = mc.array(np.arange(4.0))
first = feat(X)
@mc.step
def feat(a):
    return np.sqrt(a) + 1
result = [first, feat(X)]
""")
program("notebook_rebind_data_variable", """
raw = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
def f(v):
    return v * 2
first = mc.frame(raw).x.apply(f)
raw = pd.DataFrame({"x": [10.0, 20.0, 30.0]})
result = [first, mc.frame(raw).x.apply(f)]
""")

# -- mutated inputs ---------------------------------------------------------------------------------------
program("plain_array_mutated_between_calls", """
data = np.arange(6.0).reshape(2, 3)
@mc.step
def total(a):
    return a.sum(axis=0)
first = total(data)
data[0, 0] = 100.0
result = [first, total(data)]
""")
program("traced_array_setitem", """
X = mc.array(np.arange(9.0).reshape(3, 3))
first = X.T @ X
X[1, 1] = -5.0
second = X.T @ X
X += 1.0
result = [first, second, X.T @ X]
""")
program("traced_frame_setitem_and_loc", """
t = mc.frame(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
first = t.sum()
t["a"] = 0.0
second = t.sum()
t.loc[0, "b"] = 100.0
third = t.sum()
t.iloc[1, 0] = -1.0
result = [first, second, third, t.sum(), t.fingerprint == mc.frame(t.to_pandas()).fingerprint]
""")
program("multiindex_columns_setitem", """
raw = pd.DataFrame({"g": [1, 1, 2], "x": [1.0, 2.0, 3.0]})
t = mc.frame(raw).groupby("g").agg({"x": ["min", "max"]})
u = mc.frame(raw).groupby("g").agg({"x": ["min", "max"]})
before = t.fingerprint
t["x"] = 0.0
u["x"] = 99.0
result = [t, u, len({before, t.fingerprint, u.fingerprint})]
""")
program("inplace_methods", """
t = mc.frame(pd.DataFrame({"a": [1.0, None, 3.0], "b": [3.0, 2.0, 1.0]}))
first = t.mean()
t.fillna(0.0, inplace=True)
second = t.mean()
t.sort_values("b", inplace=True)
result = [first, second, t.reset_index(drop=True)]
""")
program("plain_frame_mutated_between_applies", """
raw = pd.DataFrame({"x": [1.0, 2.0]})
first = mc.frame(raw).x.apply(abs)
raw.loc[0, "x"] = -7.0
result = [first, mc.frame(raw).x.apply(abs)]
""")

# -- record arrays, dtypes, datetimes ------------------------------------------------------------------
program("record_arrays_swapped_fields", """
a = np.zeros(3, [("a", "<i8"), ("b", "<f8")])
a["a"], a["b"] = [3, 1, 2], [0.5, 2.5, 1.5]
y = a.view([("b", "<i8"), ("a", "<f8")])
result = [np.sort(mc.array(a)["b"]), np.sort(mc.array(y)["b"])]
""")
program("record_array_byte_order", """
a = np.zeros(2, [("v", "<i4")])
a["v"] = [1, 2]
b = np.frombuffer(a.tobytes(), [("v", ">i4")])
result = [mc.array(a)["v"] * 1, mc.array(b)["v"] * 1]
""")
program("datetime_units", """
raw = np.arange(3, dtype="i8")
s = mc.array(raw.view("M8[s]"))
d = mc.array(raw.view("M8[D]"))
result = [s[1:], d[1:]]
""")
program("same_bytes_other_dtype", """
raw = np.arange(4, dtype="<i4")
result = [mc.array(raw) * 1, mc.array(raw.view("<f4")) * 1, mc.array(raw.view(">i4")) * 1]
""")
program("string_kinds", """
u = np.array(["ab", "c"])
s = np.array([b"ab", b"c"])
result = [np.sort(mc.array(u)), np.sort(mc.array(s))]
""")
program("datetime_object_columns", """
import datetime, decimal
raw = pd.DataFrame({"day": [datetime.date(2024, 1, d) for d in (3, 1, 2)],
                    "amount": [decimal.Decimal("1.10"), decimal.Decimal("2"), decimal.Decimal("0.5")]})
t = mc.frame(raw)
result = [t.sort_values("day"), t.amount.apply(lambda v: float(v) * 2)]
""")
program("timezones_and_categories", """
idx = pd.date_range("2024-03-30", periods=3, freq="D")
a = mc.frame(pd.DataFrame({"t": idx.tz_localize("UTC")}))
b = mc.frame(pd.DataFrame({"t": idx.tz_localize("Europe/Paris")}))
c1 = mc.frame(pd.DataFrame({"c": pd.Categorical(["x", "y"], categories=["x", "y"])}))
c2 = mc.frame(pd.DataFrame({"c": pd.Categorical(["x", "y"], categories=["y", "x"])}))
result = [a.t.dt.hour, b.t.dt.hour, c1.c.cat.codes, c2.c.cat.codes]
""")
program("labels_with_types", """
a = mc.frame(pd.DataFrame({1: [1.0, 2.0], "1": [3.0, 4.0]}))
b = mc.frame(pd.DataFrame({"1": [1.0, 2.0], 1: [3.0, 4.0]}))
result = [a[1] * 2, b[1] * 2, a["1"] + 1, b["1"] + 1]
""")
program("object_array_mixed_values", """
a = np.array([1, "1", 2.5], dtype=object)
b = np.array(["1", "1", 2.5], dtype=object)
result = [mc.array(a)[:2], mc.array(b)[:2]]
""")

# -- scikit-learn pipelines with custom functions ------------------------------------------------------
program("sklearn_function_transformer_edited", """
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.pipeline import make_pipeline
from sklearn.linear_model import Ridge
rng = np.random.default_rng(0)
X, y = mc.array(rng.normal(size=(40, 3))), mc.array(rng.normal(size=40))
def feats(a):
    return a ** 2
first = mc.traced(make_pipeline(FunctionTransformer(feats), StandardScaler(), Ridge())).fit(X, y).predict(X)
def feats(a):
    return a ** 3
second = mc.traced(make_pipeline(FunctionTransformer(feats), StandardScaler(), Ridge())).fit(X, y).predict(X)
result = [first, second]
""")
program("sklearn_function_transformer_closure", """
from sklearn.preprocessing import FunctionTransformer
X = mc.array(np.arange(12.0).reshape(4, 3))
def power(p):
    return FunctionTransformer(lambda a: a ** p)
result = [mc.traced(power(p)).fit(X).transform(X) for p in (2, 3, 2)]
""")
program("sklearn_function_transformer_kw_args", """
from sklearn.preprocessing import FunctionTransformer
X = mc.array(np.arange(6.0).reshape(3, 2))
def shift(a, by):
    return a + by
result = [mc.traced(FunctionTransformer(shift, kw_args={"by": b})).fit(X).transform(X) for b in (1, 2)]
""")
program("sklearn_global_in_custom_score", """
from sklearn.preprocessing import FunctionTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
rng = np.random.default_rng(1)
X, y = mc.array(rng.normal(size=(30, 2))), mc.array(rng.normal(size=30))
CLIP = 0.5
def clip(a):
    return np.clip(a, -CLIP, CLIP)
first = mc.traced(make_pipeline(FunctionTransformer(clip), LinearRegression())).fit(X, y).predict(X)
CLIP = 0.1
second = mc.traced(make_pipeline(FunctionTransformer(clip), LinearRegression())).fit(X, y).predict(X)
result = [first, second]
""")

# -- identical work repeated (a warm cache must serve it) -------------------------------------------------
program("same_gram_grid", """
rng = np.random.default_rng(3)
X, y = mc.array(rng.normal(size=(200, 8))), mc.array(rng.normal(size=200))
result = [np.linalg.solve(X.T @ X + lam * np.eye(8), X.T @ y) for lam in (0.1, 1.0, 10.0)]
""")
program("same_step_twice", """
@mc.step
def fit(X, y, lam):
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)
rng = np.random.default_rng(4)
X, y = mc.array(rng.normal(size=(100, 5))), mc.array(rng.normal(size=100))
result = [fit(X, y, 0.5), fit(X, y, 0.5), fit(X, y, 1.5)]
""")
program("same_frame_pipeline", """
raw = pd.DataFrame({"g": ["a", "b", "a", "c"], "x": [1.0, 2.0, 3.0, 4.0], "y": [0.5, 0.1, 0.2, 0.3]})
t = mc.frame(raw)
def ratio(r):
    return r.x / r.y
result = [t[t.x > 1].groupby("g").x.sum(), t.apply(ratio, axis=1), t.assign(z=t.x * 2).z.mean()]
""")
program("frame_insert_in_place", """
t = mc.frame(pd.DataFrame({"x": [1.0, 2.0]}))
first = t.sum()
t.insert(0, "z", [5.0, 6.0])
result = [first, t.sum(), t]
""")
program("index_renamed_through_metadata", """
t = mc.frame(pd.DataFrame({"x": [1.0, 2.0]}))
first = t.reset_index()
t.index.name = "row"  # renamed in place, as in pandas: a new version of t
t2 = mc.frame(pd.DataFrame({"x": [1.0, 2.0]}).rename_axis("row"))
result = [first, t.reset_index(), t2.reset_index()]
""")
program("dataclass_config_edited", """
import dataclasses
@dataclasses.dataclass
class Config:
    scale: float = 2.0
    shift: float = 0.0
@mc.step
def prep(a):
    c = Config()
    return a * c.scale + c.shift
X = mc.array(np.arange(4.0))
first = prep(X)
@dataclasses.dataclass
class Config:
    scale: float = 2.0
    shift: float = 1.0
result = [first, prep(X)]
""")


# -- memory layout, axes renamed in place, partials and methods (review of issue 10) -------------------
program("memory_layout_of_leaves", """
c = np.arange(12.0).reshape(3, 4) / 7.0
f = np.asfortranarray(c)
first = mc.array(c) * 2
second = mc.array(f) * 2  # the same elements in Fortran order: NumPy keeps the layout
third = mc.array(np.ascontiguousarray(c.reshape(3, 2, 2).transpose(2, 0, 1))).transpose(1, 2, 0) + 1
result = [first, second, np.asarray(second).ravel(order="K"), np.asarray(second).flags.f_contiguous,
          np.asarray(third).ravel(order="K"), mc.array(f).sum(axis=0), mc.array(c[:, ::2]) * 3]
""")
program("axis_renamed_in_place", """
t = mc.frame(pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}))
first = t.sum()
t.columns.name = "field"
t.index.names = ["row"]
second = t.sum()
t.index.set_names("r", inplace=True)
result = [first, second, t.reset_index(), t.to_pandas().columns.name, t.T]
""")
program("partials_and_methods_as_steps", """
import dataclasses
import functools
def scale(a, k=1.0):
    return a * k
@dataclasses.dataclass
class Shift:
    by: float
    def apply(self, a):
        return a + self.by
X = mc.array(np.arange(6.0))
result = [mc.step(functools.partial(scale, k=2.0))(X), mc.step(functools.partial(scale, k=3.0))(X),
          mc.step(Shift(1.0).apply)(X), mc.step(Shift(2.0).apply)(X)]
""")
