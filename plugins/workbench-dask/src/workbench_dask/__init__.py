"""Workbench compute back-end `dask`: run a run's tasks on a Dask distributed cluster."""
