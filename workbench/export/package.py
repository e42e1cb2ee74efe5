"""`workbench models export NAME:VERSION DIR`: a folder that scores rows without the workspace or Workbench.

What goes in: the model file (copied only after its SHA-256 checked out), `input_schema.json`, an exact
`requirements.txt` (the library versions the run recorded), the few Workbench modules the pickled pipeline
refers to (found by loading it in a fresh interpreter and listing what it imported, copied to `vendor/`),
the model card, `predict.py`, a Dockerfile and `manifest.json` with every file's SHA-256. Before the folder
is moved into place the package proves itself: its own `predict.py`, run in an isolated interpreter, scores
the frozen holdout rows and must agree with the registry's scoring to a stated tolerance.

Where the pipeline converts (`workbench/onnx`), the package also holds `model.onnx` and `predict_onnx.py`,
which scores without pickle (onnxruntime, numpy and pyarrow only); the graph is written only after it
answered as the pipeline does on the same holdout rows, and the manifest records that check or says why
there is no graph (datetime columns, an ensemble, HistGradientBoosting's native categoricals).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import BadInputError, RunFailedError
from workbench.workspace import Workspace

PROBABILITY_TOLERANCE = 1e-9
_PIP_NAMES = {"scikit-learn": "scikit-learn", "lightgbm": "lightgbm", "numpy": "numpy", "polars": "polars",
              "pyarrow": "pyarrow"}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    model: str
    version: int
    files: dict[str, str]  # relative path -> sha256
    check: dict[str, Any]
    onnx_reason: str | None = None  # why the package has no model.onnx


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_LIST_MODULES = (
    "import sys, joblib\nbefore = set(sys.modules)\njoblib.load(sys.argv[1])\n"
    "for name in sorted(set(sys.modules) - before):\n"
    "    m = sys.modules[name]\n"
    "    if name == 'workbench' or name.startswith('workbench.'):\n"
    "        print(name, getattr(m, '__file__', '') or '')\n"
)


def _needed_modules(model_file: Path) -> list[tuple[str, Path]]:
    """The Workbench modules unpickling the model imports (the root package included), with their files."""
    out = subprocess.run([sys.executable, "-c", "import workbench\n" + _LIST_MODULES.replace(
        "before = set(sys.modules)", "before = set(sys.modules) - {'workbench'}"), str(model_file)],
        capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RunFailedError(f"The model could not be loaded to find what it needs: {out.stderr.strip()[-300:]}")
    found = []
    for line in out.stdout.splitlines():
        name, _, file = line.partition(" ")
        if file:
            found.append((name, Path(file)))
    return found


def _vendor(modules: list[tuple[str, Path]], dest: Path) -> list[str]:
    """Copy each module's file to vendor/ under its package path (packages keep their __init__.py)."""
    copied = []
    for name, file in modules:
        parts = name.split(".")
        rel = Path(*parts, "__init__.py") if file.name == "__init__.py" else Path(*parts[:-1], file.name)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target)
        copied.append(str(rel))
    return copied


def _requirements(version: dict[str, Any]) -> tuple[str, str]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    libraries = (version.get("code") or {}).get("libraries") or {}
    lines = [f"# exact versions {version['model']}:{version['version']} was trained with (Python "
             f"{libraries.get('python', '?')}); joblib as installed when exported"]
    for key, pip_name in _PIP_NAMES.items():
        if libraries.get(key):
            lines.append(f"{pip_name}=={libraries[key]}")
    try:
        lines.append(f"joblib=={installed('joblib')}")
    except PackageNotFoundError:
        lines.append("joblib")
    python = ".".join(str(libraries.get("python", "3.11")).split(".")[:2])
    return "\n".join(lines) + "\n", python


def _dockerfile(python: str) -> str:
    return (f"# Scores files mounted at /data: docker run --rm -v $PWD:/data IMAGE /data/in.parquet /data/out.parquet\n"
            f"FROM python:{python}-slim\nWORKDIR /model\nCOPY requirements.txt .\n"
            "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nENTRYPOINT [\"python\", \"predict.py\"]\n")


def _score_with(package: Path, script: str, holdout: Any) -> Any:
    """The package's own `script` scoring `holdout` in an isolated interpreter, from outside the package."""
    import polars as pl

    with tempfile.TemporaryDirectory(prefix="wb-export-check-") as tmp:
        rows, scored = Path(tmp) / "holdout.parquet", Path(tmp) / "scored.parquet"
        holdout.write_parquet(rows)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        done = subprocess.run([sys.executable, "-I", str(package / script), str(rows), str(scored)],
                              capture_output=True, text=True, timeout=600, env=env, cwd=tmp)
        if done.returncode != 0:
            raise RunFailedError(f"The exported package's {script} could not score the holdout: "
                                 f"{done.stderr.strip()[-400:]}")
        return pl.read_parquet(scored)


def _agreement(ours: Any, theirs: Any, task: str, tolerance: float, ties: bool = False) -> dict[str, Any]:
    """How `theirs` compares with `ours`; with `ties`, a label may differ where ours has a tie (ONNX's float32)."""
    import numpy as np

    numeric = [c for c in ours.columns if c.startswith("probability_")] or (["prediction"] if task == "regression" else [])
    worst = max((float(np.max(np.abs(ours[c].to_numpy() - theirs[c].to_numpy()))) for c in numeric), default=0.0)
    labels_equal = task == "regression" or [str(v) for v in ours["prediction"].to_list()] == \
        [str(v) for v in theirs["prediction"].to_list()]
    if not labels_equal and ties:
        from workbench.onnx.scoring import labels_agree

        labels_equal = bool(labels_agree(ours.select(numeric).to_numpy(), theirs.select(numeric).to_numpy()).all())
    if task == "regression":
        tolerance *= max(1.0, float(np.max(np.abs(ours["prediction"].to_numpy()))))
    return {"rows": ours.height, "labels_equal": labels_equal, "max_abs_difference": worst, "tolerance": tolerance,
            "passed": labels_equal and worst <= tolerance}


def _check(package: Path, version: dict[str, Any], estimator: Any, holdout: Any,
           onnx: dict[str, Any]) -> dict[str, Any]:
    """Score the frozen holdout with the package's own predict.py (and predict_onnx.py, if it has a graph) in an
    isolated interpreter and with the registry's scoring; they must agree (labels exactly, probabilities or
    values within the tolerance)."""
    from workbench.api.models import LoadedModel
    from workbench.onnx.scoring import PROBABILITY_TOLERANCE as ONNX_PROBABILITIES
    from workbench.onnx.scoring import VALUE_TOLERANCE as ONNX_VALUES

    ours = LoadedModel(version, estimator).predict(holdout)
    check = _agreement(ours, _score_with(package, "predict.py", holdout), version["task"], PROBABILITY_TOLERANCE)
    if not check["passed"]:
        raise RunFailedError(f"The exported package disagrees with the registry on the holdout rows "
                             f"(labels equal: {check['labels_equal']}, largest difference "
                             f"{check['max_abs_difference']:.3g}); nothing was written.")
    if onnx.get("exported"):
        check["onnx"] = _agreement(ours, _score_with(package, "predict_onnx.py", holdout), version["task"],
                                   ONNX_VALUES if version["task"] == "regression" else ONNX_PROBABILITIES, ties=True)
        if not check["onnx"]["passed"]:
            raise RunFailedError(f"The exported package's predict_onnx.py disagrees with the registry on the "
                                 f"holdout rows (labels equal: {check['onnx']['labels_equal']}, largest difference "
                                 f"{check['onnx']['max_abs_difference']:.3g}); nothing was written.")
    return check


def _onnx(staging: Path, version: dict[str, Any], estimator: Any, holdout: Any) -> dict[str, Any]:
    """Write model.onnx, predict_onnx.py and requirements-onnx.txt if the pipeline converts and the graph answers
    as the pipeline does on the frozen holdout; the manifest's "onnx" entry either way."""
    from workbench.onnx.graph import MISSING_TOKEN
    from workbench.onnx.scoring import compile_version

    compiled = compile_version(estimator, version["task"], holdout)
    entry = compiled.summary()
    if compiled.estimator is None:
        return entry
    converted = compiled.estimator.converted
    (staging / "model.onnx").write_bytes(converted.serialized())
    shutil.copyfile(Path(__file__).with_name("predict_onnx_template.py"), staging / "predict_onnx.py")
    from importlib.metadata import version as installed

    lock = [f"{name}=={installed(name)}" for name in ("onnxruntime", "numpy", "pyarrow")]
    (staging / "requirements-onnx.txt").write_text(
        "# predict_onnx.py needs only these (no scikit-learn, no LightGBM, no pickle)\n" + "\n".join(lock) + "\n",
        encoding="utf-8")
    entry.update(file="model.onnx", sha256=_sha256(staging / "model.onnx"), task=version["task"],
                 classes=[str(c) for c in converted.classes] if converted.classes is not None else None,
                 inputs=[{"name": n, "type": t} for n, t in converted.inputs], missing_token=MISSING_TOKEN,
                 outputs=["prediction"] if version["task"] == "regression" else ["label", "probabilities"])
    return entry


def export_version(workspace: Workspace, ref_text: str, dest: Path) -> ExportResult:
    """Write the package for `ref_text` into `dest` (new or empty), all or nothing; a `model.exported` event."""
    from workbench.cards.model_card import build_card, card_lines
    from workbench.registry.artifacts import load_holdout, load_model, verified_path
    from workbench.registry.refs import parse_ref, resolve_ref
    from workbench.registry.store import RegistryStore
    from workbench.registry.trail import record_event

    dest = Path(dest).resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BadInputError(f"{dest} already exists and is not an empty folder; export into a new folder.")
    if not dest.parent.is_dir():
        raise BadInputError(f"The folder {dest.parent} does not exist.")
    with RegistryStore.open(workspace) as store:
        version = resolve_ref(store, parse_ref(ref_text), default_alias="champion")
    name, number = version["model"], version["version"]
    source = verified_path(workspace, version["artifact_path"], version["artifact_sha256"], "model artifact")
    estimator = load_model(workspace, version)
    holdout = load_holdout(workspace, version).drop(version["target"])  # both checks score these rows
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        shutil.copyfile(source, staging / "model.joblib")
        if _sha256(staging / "model.joblib") != version["artifact_sha256"]:
            raise BadInputError(f"The copy of {name}:{number}'s artifact changed while it was copied; try again.")
        vendored = _vendor(_needed_modules(staging / "model.joblib"), staging / "vendor")
        requirements, python = _requirements(version)
        (staging / "requirements.txt").write_text(requirements, encoding="utf-8")
        (staging / "Dockerfile").write_text(_dockerfile(python), encoding="utf-8")
        shutil.copyfile(Path(__file__).with_name("predict_template.py"), staging / "predict.py")
        schema = {"model": name, "version": number, "task": version["task"], "target": version["target"],
                  "classes": [str(c) for c in getattr(estimator, "classes_", [])] or None,
                  "columns": [{"name": n, "dtype": d, "kind": k} for n, d, k in version["features"]]}
        (staging / "input_schema.json").write_text(json.dumps(schema, indent=2), encoding="utf-8")
        (staging / "model_card.md").write_text("\n".join(card_lines(build_card(workspace, f"{name}:{number}"))) + "\n",
                                               encoding="utf-8")
        manifest: dict[str, Any] = {
            "model": {"name": name, "version": number, "file": "model.joblib", "sha256": version["artifact_sha256"],
                      "run_id": version["run_id"], "estimator": version["estimator"], "data": version["data_source"],
                      "data_version": version["data_version"], "fingerprint": version["fingerprint"]},
            "vendored_modules": vendored, "onnx": _onnx(staging, version, estimator, holdout)}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        manifest["check"] = _check(staging, version, estimator, holdout, manifest["onnx"])
        files = {str(p.relative_to(staging)): _sha256(p) for p in sorted(staging.rglob("*"))
                 if p.is_file() and p.name != "manifest.json" and "__pycache__" not in p.parts}
        manifest["files"] = files
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for cache in staging.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        if dest.exists():
            dest.rmdir()
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    record_event(workspace, "model.exported", f"{name}:{number}",
                 {"model": name, "version": number, "path": str(dest.resolve()), "artifact_sha256": version["artifact_sha256"],
                  "check": manifest["check"], "files": len(files),
                  "onnx": {k: manifest["onnx"].get(k) for k in ("exported", "sha256", "reason")}},
                 run_id=version["run_id"])
    return ExportResult(dest, name, number, files, manifest["check"], manifest["onnx"].get("reason"))
