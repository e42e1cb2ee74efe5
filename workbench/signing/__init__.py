"""Signatures made with people's own SSH keys: `ssh-keygen` signs, Workbench verifies in-process."""
