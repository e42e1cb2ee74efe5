"""Run specs and the modelling pipeline: plain Python over polars, scikit-learn and LightGBM."""
