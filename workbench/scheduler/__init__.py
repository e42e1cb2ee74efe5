"""`workbench scheduler`: the foreground service that runs pipelines when their triggers fire."""
