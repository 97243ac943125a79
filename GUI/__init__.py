"""PySide6 desktop GUI of the ReID app: a thin view over Algorithm.outer_api (run `python GUI/main.py`)."""
from GUI.qt_fixes import fix_singleton_refcounts

fix_singleton_refcounts()  # before any page runs: see GUI/qt_fixes.py
