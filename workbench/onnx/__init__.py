"""A registered version's pipeline as one ONNX graph, proven on the frozen holdout before anything uses it.

`graph.py` converts a fitted raw-rows pipeline; `scoring.py` runs the graph with onnxruntime behind the
same `predict` / `predict_proba` / `classes_` face as the pipeline, and checks it against the pipeline on
the version's holdout rows. `workbench models export` writes the graph for the edge (no pickle);
`workbench serve` answers with it when it passed (scoring a row in tens of microseconds, not milliseconds).
Needs the `deploy` extra (skl2onnx, onnxmltools, onnxruntime); without it both fall back and say why.
"""
