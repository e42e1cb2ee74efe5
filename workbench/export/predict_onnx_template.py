"""Score rows with this model's ONNX graph, without pickle or Workbench: python predict_onnx.py INPUT OUTPUT

Needs only onnxruntime, numpy and pyarrow (requirements-onnx.txt). INPUT and OUTPUT are .csv, .parquet or
.json (records) files. model.onnx's SHA-256 is checked against manifest.json first. Inputs follow
manifest.json's "onnx" inputs: numeric columns as float64 (NaN for missing), text columns as strings (a
missing value is passed as the graph's missing token).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fail(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)
    raise SystemExit(2)


def read(path: Path):
    import pyarrow.csv
    import pyarrow.json
    import pyarrow.parquet

    if not path.is_file():
        fail(f"{path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # an empty field is a missing value, in text columns too (as polars and the other predict.py read it)
        return pyarrow.csv.read_csv(path, convert_options=pyarrow.csv.ConvertOptions(strings_can_be_null=True))
    if suffix == ".parquet":
        return pyarrow.parquet.read_table(path)
    if suffix == ".json":  # a list of records, as the other predict.py and polars write them
        import pyarrow as pa

        return pa.Table.from_pylist(json.loads(path.read_text()))
    fail(f"{path.name}: read .csv, .parquet or .json files.")


def feeds(table, inputs: list[dict], missing_token: str) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    for spec in inputs:
        column = table.column(spec["name"])
        if spec["type"] == "double":
            if pa.types.is_boolean(column.type):
                column = pc.cast(column, pa.int8())
            values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
            out[spec["name"]] = np.asarray(values, dtype=np.float64).reshape(-1, 1)  # nulls are NaN
        else:
            text = pc.fill_null(pc.cast(column, pa.string()), missing_token)
            out[spec["name"]] = np.asarray(text.to_pylist(), dtype=object).reshape(-1, 1)
    return out


def write(rows: dict, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet

    table = pa.table(rows)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        pyarrow.csv.write_csv(table, target)
    elif suffix == ".parquet":
        pyarrow.parquet.write_table(table, target)
    elif suffix == ".json":
        target.write_text(json.dumps(table.to_pylist()))
    else:
        fail(f"{target.name}: write a .csv, .parquet or .json file.")


def main(argv: list[str]) -> None:
    import onnxruntime as ort

    if len(argv) != 2:
        fail("usage: python predict_onnx.py INPUT OUTPUT (each .csv, .parquet or .json).")
    manifest = json.loads((HERE / "manifest.json").read_text())
    onnx = manifest["onnx"]
    model_file = HERE / onnx["file"]
    data = model_file.read_bytes()
    if hashlib.sha256(data).hexdigest() != onnx["sha256"]:
        fail(f"{model_file.name} does not match the SHA-256 in manifest.json; it will not be loaded.")
    table = read(Path(argv[0]))
    if table.num_rows == 0:
        fail(f"{argv[0]} has no rows to score.")
    missing = [spec["name"] for spec in onnx["inputs"] if spec["name"] not in table.column_names]
    if missing:
        fail(f"{argv[0]} is missing column(s) {', '.join(missing)}.")
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    outputs = session.run(None, feeds(table, onnx["inputs"], onnx["missing_token"]))
    if onnx["task"] == "regression":
        rows = {"prediction": outputs[0]}
    else:
        labels, proba = outputs
        rows = {"prediction": labels.tolist(),
                **{f"probability_{c}": proba[:, i] for i, c in enumerate(onnx["classes"])}}
    write(rows, Path(argv[1]))
    print(f"Scored {len(outputs[0])} rows with {manifest['model']['name']}:{manifest['model']['version']} "
          f"(ONNX) into {argv[1]}.")


if __name__ == "__main__":
    main(sys.argv[1:])
