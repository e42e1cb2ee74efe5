"""Who may do what, proven: roles, enrolled signing keys, adopted policies and signed governed actions."""
