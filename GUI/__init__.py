"""PySide6 desktop GUI of the ReID app: a thin view over Algorithm.outer_api (run `python GUI/main.py`)."""
