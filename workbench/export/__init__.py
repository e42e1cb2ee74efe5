"""Portable packages of a registered version: the model, its input schema, an exact lock, the card, a small
`predict.py` and a Dockerfile, checked by scoring the frozen holdout with the package itself."""
