"""Runs-screen pieces: the spec picker and launcher."""
