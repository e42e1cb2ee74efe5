"""A saved raw-rows pipeline as one ONNX graph: raw columns in, predictions (and probabilities) out.

Why a builder of our own for the preprocessing and skl2onnx / onnxmltools for the model: the model
(linear, forests, HistGradientBoosting, LightGBM) is the hard part and those libraries convert it; our
preprocessing is a Python `FunctionTransformer`, imputers with missing-value indicators and encoders with
rare-category grouping, which skl2onnx 1.20 cannot convert. Every categorical encoder here maps one
column's value to a fixed vector, so each becomes a lookup (`ai.onnx.ml.LabelEncoder` to a row index,
`Gather` from a table). The tables are read off the fitted encoder's own `transform` of every category it
knows plus one unseen value, not from its private attributes, so they cannot drift from what scikit-learn
does. Numeric parts are median imputation, indicators and scaling: a few arithmetic nodes.

Inputs: one tensor per raw column, shape [N, 1]: numerics (booleans as 0/1) as double with NaN for a
missing value, categoricals as strings with `MISSING_TOKEN` for a missing one (`onnx_inputs` prepares a
polars frame that way). Outputs: `label` and `probabilities` [N, classes] for a classifier, `prediction`
[N] for a regressor. A weighted ensemble becomes one graph: its members side by side on the same inputs,
averaged with their weights. Not convertible (a reason is raised, never a wrong graph): datetime columns
(their calendar parts are computed in Python) and anything the model converters refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MISSING_TOKEN = "(missing)"  # the preprocessing's own fill value for a missing category (preprocess.MISSING)
_UNSEEN = "\x00workbench-unseen\x00"  # a value no encoder was fitted on: probes what unknown values become
OPSET = 17
ML_OPSET = 3
LIGHTGBM_OPSET = 15  # the newest onnxmltools 1.16 writes; its nodes are valid in OPSET graphs too


class NotConvertible(Exception):
    """The pipeline has a part ONNX cannot express here; the message says which, as one sentence."""


@dataclass(frozen=True)
class OnnxModel:
    model: Any  # onnx.ModelProto
    inputs: list[tuple[str, str]]  # (column, "double" | "string")
    task: str
    classes: list[Any] | None

    def serialized(self) -> bytes:
        return self.model.SerializeToString()


def convert_pipeline(estimator: Any, task: str) -> OnnxModel:
    """The fitted raw-rows pipeline `estimator` (or a weighted ensemble of them) as one ONNX graph, or
    NotConvertible saying why not. An ensemble's members share the graph's inputs and are averaged in it."""
    members = _members(estimator)
    inputs: dict[str, str] = {}
    for pipe, _ in members:
        raw = pipe.named_steps["raw"].kw_args or {}
        if raw.get("datetime"):
            raise NotConvertible("the model uses datetime columns, whose calendar parts are computed in Python")
        inputs.update({n: "double" for n in raw.get("numeric") or []})
        inputs.update({n: "string" for n in raw.get("categorical") or []})
    builder = _Graph()
    for name, kind in inputs.items():
        builder.input(name, kind)
    values = [(_model(builder, pipe.named_steps["model"], _preprocess(builder, pipe.named_steps["pre"]), task), w)
              for pipe, w in members]
    if len(values) == 1:
        combined = values[0][0]
    else:
        combined = builder.op("Sum", [builder.op("Mul", [v, builder.const(np.asarray(w, np.float64), "weight")], "weighted")
                                      for v, w in values], "averaged")
    classes = None if task == "regression" else list(np.asarray(estimator.classes_).tolist())
    model = builder.finish(_outputs(builder, combined, task, np.asarray(estimator.classes_) if classes else None))
    return OnnxModel(model, list(inputs.items()), task, classes)


def _members(estimator: Any) -> list[tuple[Any, float]]:
    """(raw-rows pipeline, weight) of a single pipeline or a WeightedEnsemble."""
    if type(estimator).__name__ == "WeightedEnsemble":
        members = list(zip(estimator.estimators, (float(w) for w in estimator.weights)))
    else:
        members = [(estimator, 1.0)]
    for pipe, _ in members:
        steps = getattr(pipe, "named_steps", None)
        if steps is None or set(steps) != {"raw", "pre", "model"}:
            raise NotConvertible(f"a {type(pipe).__name__} is not converted to ONNX (only Workbench's raw-rows "
                                 "pipelines and their ensembles are)")
    return members


def _outputs(builder: _Graph, value: str, task: str, classes: np.ndarray | None) -> list[Any]:
    """Name the graph's outputs: `prediction` [N], or `label` [N] and `probabilities` [N, classes]."""
    from onnx import TensorProto, helper

    if task == "regression" or classes is None:
        builder.nodes.append(helper.make_node("Identity", [value], ["prediction"], name=builder.name("out")))
        return [helper.make_tensor_value_info("prediction", TensorProto.DOUBLE, [None])]
    builder.nodes.append(helper.make_node("Identity", [value], ["probabilities"], name=builder.name("out")))
    best = builder.op("ArgMax", ["probabilities"], "best", axis=1, keepdims=0)
    if classes.dtype.kind in "iub":
        table, elem = classes.astype(np.int64), TensorProto.INT64
    else:
        table, elem = np.asarray([str(c) for c in classes], dtype=object), TensorProto.STRING
    builder.nodes.append(helper.make_node("Gather", [builder.const(table, "classes"), best], ["label"],
                                          name=builder.name("out"), axis=0))
    return [helper.make_tensor_value_info("label", elem, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, len(classes)])]


def onnx_inputs(frame: Any, inputs: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """A polars frame of raw rows as the graph's input tensors (the same typing as `prepare_raw`). Series
    operations, not selects: a request of a few rows would otherwise pay polars' query engine per column."""
    import polars as pl

    feeds: dict[str, np.ndarray] = {}
    for name, kind in inputs:
        column = frame.get_column(name)
        if kind == "double":
            values = column.cast(pl.Float64).to_numpy()  # nulls become NaN
            feeds[name] = np.asarray(values, dtype=np.float64).reshape(-1, 1)
        else:
            values = np.asarray(column.cast(pl.String).to_numpy(), dtype=object)
            values[values == None] = MISSING_TOKEN  # noqa: E711 (elementwise on an object array)
            feeds[name] = values.reshape(-1, 1)
    return feeds


# -- the graph ---------------------------------------------------------------------------------------------

class _Graph:
    """Nodes, initializers and inputs of the graph being built, with unique names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"wb_{hint}_{self._count}"

    def input(self, column: str, kind: str) -> None:
        from onnx import TensorProto, helper

        elem = TensorProto.DOUBLE if kind == "double" else TensorProto.STRING
        self.inputs.append(helper.make_tensor_value_info(column, elem, [None, 1]))

    def const(self, value: np.ndarray, hint: str = "c") -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], hint: str = "", domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        out = self.name(hint or kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], name=self.name("n"), domain=domain, **attrs))
        return out

    def finish(self, outputs: list[Any]) -> Any:
        from onnx import checker, helper

        graph = helper.make_graph(self.nodes, "workbench_pipeline", self.inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                         helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
        model.ir_version = 8
        checker.check_model(model)
        return model


def _columns(builder: _Graph, names: list[str]) -> str:
    return names[0] if len(names) == 1 else builder.op("Concat", names, "cols", axis=1)


def _preprocess(builder: _Graph, pre: Any) -> str:
    """The fitted ColumnTransformer's output as one double tensor [N, features]."""
    if getattr(pre, "remainder", "drop") != "drop":
        raise NotConvertible("the preprocessing passes extra columns through")
    blocks = []
    for name, transformer, columns in pre.transformers_:
        if name == "remainder" or transformer == "drop" or not len(columns):
            continue
        columns = list(columns)
        if transformer == "passthrough" or _identity(transformer):
            blocks.append(_columns(builder, columns))
        elif name in ("num",):
            blocks.append(_numeric(builder, transformer, columns))
        else:
            blocks.append(_lookup(builder, transformer, columns))
    if not blocks:
        raise NotConvertible("the model uses no input columns")
    return blocks[0] if len(blocks) == 1 else builder.op("Concat", blocks, "features", axis=1)


def _identity(transformer: Any) -> bool:
    """ColumnTransformer keeps a "passthrough" part as a FunctionTransformer without a function."""
    return type(transformer).__name__ == "FunctionTransformer" and transformer.func is None and \
        transformer.inverse_func is None


def _steps(transformer: Any) -> list[Any]:
    return [step for _, step in transformer.steps] if hasattr(transformer, "steps") else [transformer]


def _numeric(builder: _Graph, transformer: Any, columns: list[str]) -> str:
    """Median imputation with missing indicators, then (linear models) scaling."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    x = _columns(builder, columns)
    for step in _steps(transformer):
        if isinstance(step, SimpleImputer):
            statistics = np.asarray(step.statistics_, dtype=np.float64)
            if np.isnan(statistics).any() and not getattr(step, "keep_empty_features", False):
                raise NotConvertible("a numeric column was empty in training")
            missing = builder.op("IsNaN", [x], "isnan")
            x_filled = builder.op("Where", [missing, builder.const(statistics.reshape(1, -1), "median"), x], "imputed")
            indicator = getattr(step, "indicator_", None)
            if indicator is not None and len(indicator.features_):
                picked = builder.op("Gather", [missing, builder.const(np.asarray(indicator.features_, np.int64))],
                                    "flags", axis=1)
                flags = builder.op("Cast", [picked], "flagged", to=11)  # DOUBLE
                x = builder.op("Concat", [x_filled, flags], "with_flags", axis=1)
            else:
                x = x_filled
        elif isinstance(step, StandardScaler):
            if step.with_mean:
                x = builder.op("Sub", [x, builder.const(np.asarray(step.mean_).reshape(1, -1), "mean")], "centred")
            if step.with_std:
                x = builder.op("Div", [x, builder.const(np.asarray(step.scale_).reshape(1, -1), "scale")], "scaled")
        else:
            raise NotConvertible(f"numeric step {type(step).__name__} has no ONNX form here")
    return x


def _widths(transformer: Any, columns: list[str]) -> list[int]:
    """How many output columns each input column gives (each is encoded on its own)."""
    out = transformer.get_feature_names_out(columns)
    last = _steps(transformer)[-1]
    encoder = next((s for s in reversed(_steps(transformer)) if hasattr(s, "categories_")), None)
    if type(encoder).__name__ == "OneHotEncoder":
        if encoder.drop is not None:
            raise NotConvertible("a one-hot encoder that drops a category is not converted")
        # public attributes: each column's frequent categories, plus one column for its infrequent ones
        infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(columns)
        widths = [len(cats) - (len(rare) - 1 if rare is not None else 0)
                  for cats, rare in zip(encoder.categories_, infrequent)]
    elif type(encoder).__name__ == "TargetEncoder" and len(getattr(encoder, "classes_", [])) > 2:
        widths = [len(encoder.classes_)] * len(columns)
    else:
        widths = [1] * len(columns)
    if sum(widths) != len(out):
        raise NotConvertible(f"the {type(last).__name__} output does not split into its input columns")
    return widths


def _lookup(builder: _Graph, transformer: Any, columns: list[str]) -> str:
    """A categorical part (imputer + encoder [+ scaler]) as one value -> vector table per column."""
    import polars as pl

    widths = _widths(transformer, columns)
    known: list[list[str]] = []
    for step in _steps(transformer):
        if hasattr(step, "categories_"):
            known = [[str(v) for v in cats if v is not None and v == v] for cats in step.categories_]
            break
        if hasattr(step, "tables_"):  # FrequencyEncoder
            known = [[str(v) for v in step.tables_[c]] for c in columns]
            break
    if not known:
        raise NotConvertible(f"the {type(transformer).__name__} part has no categories to tabulate")
    if any(MISSING_TOKEN in values for values in known):
        raise NotConvertible(f"a category is the literal text {MISSING_TOKEN!r}, which the graph uses for a missing value")
    known = [sorted(set(values)) for values in known]
    rows = max(len(values) for values in known) + 2  # each column's categories, then a null, then an unseen value
    probe = pl.DataFrame({c: [values[i] if i < len(values) else values[0] if values else _UNSEEN
                              for i in range(rows - 2)] + [None, _UNSEEN]
                          for c, values in zip(columns, known)}, schema={c: pl.String for c in columns})
    table = np.asarray(transformer.transform(probe), dtype=np.float64)
    blocks, start = [], 0
    for column, values, width in zip(columns, known, widths):
        # rows: the categories in `values` order, what a null gives (fed as MISSING_TOKEN), what an unseen value gives
        part = np.vstack([table[:len(values), start:start + width], table[-2:, start:start + width]])
        index = builder.op("LabelEncoder", [column], "code", domain="ai.onnx.ml",
                           keys_strings=values + [MISSING_TOKEN], values_int64s=list(range(len(values) + 1)),
                           default_int64=len(values) + 1)
        flat = builder.op("Squeeze", [index, builder.const(np.asarray([1], np.int64))], "flat")
        blocks.append(builder.op("Gather", [builder.const(part, "table"), flat], "encoded", axis=0))
        start += width
    return blocks[0] if len(blocks) == 1 else builder.op("Concat", blocks, "encoded", axis=1)


# -- the model ---------------------------------------------------------------------------------------------

def _model(builder: _Graph, model: Any, features: str, task: str) -> str:
    """Convert the fitted model with skl2onnx / onnxmltools, splice its graph in after `features`, and return
    its answer as double: values [N] for a regressor, probabilities [N, classes] for a classifier."""
    from onnx import TensorProto

    n_features = int(getattr(model, "n_features_in_", 0) or 0)
    inner, use_double = _convert_model(model, n_features, task)
    x = features if use_double else builder.op("Cast", [features], "as_float", to=TensorProto.FLOAT)
    renamed = _splice(builder, inner, {inner.graph.input[0].name: x})
    outs = {o.name: renamed[o.name] for o in inner.graph.output}
    if task == "regression":
        value = next(v for k, v in outs.items() if "label" not in k.lower() or len(outs) == 1)
        flat = builder.op("Reshape", [value, builder.const(np.asarray([-1], np.int64))], "flat")
        return builder.op("Cast", [flat], "prediction_cast", to=TensorProto.DOUBLE)
    proba = next(v for k, v in outs.items() if "prob" in k.lower())
    return builder.op("Cast", [proba], "proba_cast", to=TensorProto.DOUBLE)


def _convert_model(model: Any, n_features: int, task: str) -> tuple[Any, bool]:
    """(ONNX graph of the model alone, whether its input is double)."""
    kind = type(model).__name__
    if kind == "EarlyStoppingLGBM":
        model, kind = model.estimator_, type(model.estimator_).__name__
    if kind.startswith("LGBM"):
        from onnxmltools.convert import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        try:
            onx = convert_lightgbm(model, initial_types=[("X", FloatTensorType([None, n_features]))],
                                   target_opset=LIGHTGBM_OPSET, zipmap=False)
        except Exception as exc:  # the converter's own refusal, as a sentence
            raise NotConvertible(f"onnxmltools cannot convert this LightGBM model ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0][:120]})") from None
        return onx, False
    if kind.startswith("HistGradientBoosting") and getattr(model, "is_categorical_", None) is not None \
            and bool(np.any(model.is_categorical_)):
        raise NotConvertible("skl2onnx does not convert HistGradientBoosting's native categorical splits")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    options = {id(model): {"zipmap": False}} if task != "regression" else None
    # scikit-learn's own trees compare float32 copies of the features: float input matches them exactly
    # (skl2onnx rounds the thresholds to keep every comparison); everything else computes in double.
    order = ((FloatTensorType, False), (DoubleTensorType, True)) if kind.startswith(("RandomForest", "ExtraTrees")) \
        else ((DoubleTensorType, True), (FloatTensorType, False))
    for tensor, double in order:
        try:
            onx = convert_sklearn(model, initial_types=[("X", tensor([None, n_features]))], options=options,
                                  target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})
            return onx, double
        except Exception as exc:
            error = exc
    raise NotConvertible(f"skl2onnx cannot convert {kind} ({type(error).__name__}: "
                         f"{str(error).splitlines()[0][:120]})")


def _splice(builder: _Graph, inner: Any, bind: dict[str, str]) -> dict[str, str]:
    """Copy `inner`'s nodes and initializers into the graph under fresh names; return old -> new names."""
    from onnx import helper

    names: dict[str, str] = dict(bind)

    def rename(old: str) -> str:
        if not old:
            return old
        if old not in names:
            names[old] = builder.name("m")
        return names[old]

    for init in inner.graph.initializer:
        copy = type(init)()
        copy.CopyFrom(init)
        copy.name = rename(init.name)
        builder.initializers.append(copy)
    for node in inner.graph.node:
        copy = helper.make_node(node.op_type, [rename(i) for i in node.input], [rename(o) for o in node.output],
                                name=builder.name("n"), domain=node.domain)
        copy.attribute.extend(node.attribute)
        builder.nodes.append(copy)
    for o in inner.graph.output:
        rename(o.name)
    return names
