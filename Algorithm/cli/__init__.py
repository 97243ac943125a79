"""The command line: `python -m Algorithm ...` (or the `reid` command)."""
