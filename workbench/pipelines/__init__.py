"""Continuous pipelines: files in `pipelines/NAME.toml` that name steps and a trigger (`workbench pipelines`)."""
