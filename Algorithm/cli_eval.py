"""Command-line entry points for evaluation and calibration (filled in with Algorithm/evaluate.py)."""
from __future__ import annotations

COMMANDS: set[str] = set()


def add_parsers(sub) -> None:
    """Adds this module's sub-commands to the main parser."""


def run(args) -> int:
    return 2
