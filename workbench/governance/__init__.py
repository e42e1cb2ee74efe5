"""Governance: per-model answers to "how old, how fresh, how compared, who approved" against the
thresholds in workbench.toml, so a CI job can fail on a policy violation."""
