"""Score rows with this exported Workbench model, without Workbench: python predict.py INPUT OUTPUT

INPUT and OUTPUT are .csv, .parquet or .json (records) files. The model file's SHA-256 is checked against
manifest.json before it is unpickled; the input must have every column in input_schema.json.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "vendor"))  # the few Workbench modules the pickled pipeline refers to


def fail(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)
    raise SystemExit(2)


def read(path: Path):
    import polars as pl

    if not path.is_file():
        fail(f"{path} does not exist.")
    readers = {".csv": pl.read_csv, ".parquet": pl.read_parquet, ".json": pl.read_json}
    if path.suffix.lower() not in readers:
        fail(f"{path.name}: read .csv, .parquet or .json files.")
    return readers[path.suffix.lower()](path)


def main(argv: list[str]) -> None:
    import joblib
    import polars as pl

    if len(argv) != 2:
        fail("usage: python predict.py INPUT OUTPUT (each .csv, .parquet or .json).")
    manifest = json.loads((HERE / "manifest.json").read_text())
    schema = json.loads((HERE / "input_schema.json").read_text())
    model_file = HERE / manifest["model"]["file"]
    if hashlib.sha256(model_file.read_bytes()).hexdigest() != manifest["model"]["sha256"]:
        fail(f"{model_file.name} does not match the SHA-256 in manifest.json; it will not be loaded.")
    frame = read(Path(argv[0]))
    if frame.height == 0:
        fail(f"{argv[0]} has no rows to score.")
    missing = [c["name"] for c in schema["columns"] if c["name"] not in frame.columns]
    if missing:
        fail(f"{argv[0]} is missing column(s) {', '.join(missing)}.")
    casts = [pl.col(c["name"]).cast(getattr(pl, c["dtype"])) for c in schema["columns"] if hasattr(pl, c["dtype"])]
    frame = frame.select([c["name"] for c in schema["columns"]]).with_columns(casts)
    estimator = joblib.load(model_file)
    if schema["task"] == "regression":
        out = pl.DataFrame({"prediction": estimator.predict(frame)})
    else:
        proba = estimator.predict_proba(frame)
        classes = estimator.classes_
        out = pl.DataFrame({"prediction": classes[proba.argmax(axis=1)].tolist(),
                            **{f"probability_{c}": proba[:, i] for i, c in enumerate(classes)}})
    target = Path(argv[1])
    writers = {".csv": out.write_csv, ".parquet": out.write_parquet, ".json": out.write_json}
    if target.suffix.lower() not in writers:
        fail(f"{target.name}: write a .csv, .parquet or .json file.")
    writers[target.suffix.lower()](target)
    print(f"Scored {out.height} rows with {manifest['model']['name']}:{manifest['model']['version']} into {target}.")


if __name__ == "__main__":
    main(sys.argv[1:])
