"""Candidate model pipelines. Every pipeline starts from raw lake columns, so a saved model scores raw rows."""

from __future__ import annotations

from typing import Any

from workbench.pipeline.features import FeatureSet


def build_candidate(name: str, task: str, features: FeatureSet, seed: int, n_jobs: int = 2) -> tuple[Any, dict[str, Any]]:
    """Return (unfitted sklearn Pipeline, extra fit params) for a candidate family."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

    from workbench.pipeline.features import prepare_raw

    raw = FunctionTransformer(prepare_raw, kw_args={"numeric": features.numeric, "categorical": features.categorical},
                              validate=False)

    if name == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge

        pre = ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), features.numeric),
                ("cat", make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10, max_categories=50),
                ), features.categorical),
            ],
            remainder="drop",
        )
        model = Ridge(alpha=1.0) if task == "regression" else LogisticRegression(max_iter=2000, C=1.0)
        return Pipeline([("raw", raw), ("pre", pre), ("model", model)]), {}
    if name == "lightgbm":
        import lightgbm as lgb

        pre = ColumnTransformer(
            [
                ("num", "passthrough", features.numeric),
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                       encoded_missing_value=-1, dtype=float), features.categorical),
            ],
            remainder="drop",
        )
        params = dict(n_estimators=300, learning_rate=0.05, num_leaves=31, random_state=seed, n_jobs=n_jobs, verbose=-1)
        model = lgb.LGBMRegressor(**params) if task == "regression" else lgb.LGBMClassifier(**params)
        cat_idx = list(range(len(features.numeric), len(features.numeric) + len(features.categorical)))
        return Pipeline([("raw", raw), ("pre", pre), ("model", model)]), {"model__categorical_feature": cat_idx or "auto"}
    raise ValueError(f"unknown candidate {name!r}")
