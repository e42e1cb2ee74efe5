"""One pane per TUI tab; each is a thin view over core functions, loaded in worker threads."""
