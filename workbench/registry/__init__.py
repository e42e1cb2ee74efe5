"""The model registry: immutable model versions with lineage, aliases with history, promotion requests
with evidence and four-eyes approval, challenger evaluation and batch scoring with drift checks.

Plain Python (no Textual); scikit-learn and LightGBM are imported only when a model is loaded.
"""
