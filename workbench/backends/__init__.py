"""Back-end contracts (compute, storage) and their discovery through entry points."""
