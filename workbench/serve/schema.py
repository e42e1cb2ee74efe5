"""The service's OpenAPI document, generated from the input columns the served version was trained on."""

from __future__ import annotations

from typing import Any

from workbench.api.models import LoadedModel

ARROW_TYPES = ("application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.file")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")


def _column_schema(dtype: str, kind: str) -> dict[str, Any]:
    if kind == "boolean":
        base: dict[str, Any] = {"type": "boolean"}
    elif kind == "numeric":
        base = {"type": "integer" if dtype.startswith(("Int", "UInt")) else "number"}
    elif kind == "temporal":
        base = {"type": "string", "format": "date-time"}
    else:
        base = {"type": "string"}
    return {"type": [base["type"], "null"], **{k: v for k, v in base.items() if k != "type"},
            "description": f"trained on {dtype}"}


def openapi(model: LoadedModel, ref: str) -> dict[str, Any]:
    """OpenAPI 3.1 for `POST /predict` and `GET /health`, with one property per input column of `model`."""
    names = [name for name, *_ in model.features]
    row = {"type": "object", "required": names, "additionalProperties": True,
           "properties": {name: _column_schema(dtype, kind) for name, dtype, kind in model.features}}
    error = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
    binary = {"schema": {"type": "string", "format": "binary"}}
    prediction = {"type": "number"} if model.version["task"] == "regression" else {"type": "string"}
    response = {"type": "object", "properties": {
        "model": {"type": "string"}, "version": {"type": "integer"},
        "predictions": {"type": "array", "items": prediction},
        "probabilities": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "number"}},
                          "description": "per row, class -> probability (classification only)"}}}
    errors = {str(code): {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
              for code, text in ((400, "the body is not valid JSON, Arrow or Parquet"), (413, "the body is too large"),
                                 (415, "unsupported content type"),
                                 (422, "missing columns, wrong types, or no rows: the sentence says which"),
                                 (503, "the alias names a version that cannot be served (e.g. its artifact changed)"))}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Workbench scoring service: {ref}", "version": str(model.number),
                 "description": f"Answers with the version {ref} names at each request (now {model.label}); "
                                "the X-Workbench-Model response header says which version answered."},
        "paths": {
            "/predict": {"post": {
                "summary": f"Predict {model.version['target']} for rows",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"oneOf": [
                        {"type": "object", "required": ["rows"],
                         "properties": {"rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}}},
                        {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}]}},
                    **{t: binary for t in (*ARROW_TYPES, *PARQUET_TYPES)}}},
                "responses": {"200": {"description": "one prediction per row", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Prediction"}}}}, **errors}}},
            "/health": {"get": {"summary": "The version answering now", "responses": {
                "200": {"description": "serving"}, "503": errors["503"]}}},
        },
        "components": {"schemas": {"Row": row, "Prediction": response, "Error": error}},
    }
