"""A minimal Workbench back-end plugin to copy from: `template` compute and `template` storage.

Copy this folder, rename the package and the entry points in pyproject.toml, replace the bodies, and
keep `tests/test_template_contract.py` green: it runs Workbench's contract kit against both back-ends.
"""
