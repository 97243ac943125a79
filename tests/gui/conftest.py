"""GUI test fixtures: an injected Engine on a temp gallery, and message boxes that record instead of blocking."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox


@pytest.fixture
def gui_engine(tmp_path):
    from Algorithm.outer_api import Engine, Settings

    eng = Engine(tmp_path / "g.db", Settings(device="cpu"))
    yield eng
    eng.close()


class Dialogs:
    """Every QMessageBox shown, as (kind, title, text); question() answers `answer`."""

    def __init__(self):
        self.shown: list[tuple[str, str, str]] = []
        self.answer = QMessageBox.StandardButton.Yes

    def of(self, kind: str) -> list[tuple[str, str, str]]:
        return [d for d in self.shown if d[0] == kind]

    def texts(self, kind: str | None = None) -> str:
        return "\n".join(f"{t}: {x}" for k, t, x in self.shown if kind in (None, k))


@pytest.fixture
def dialogs(monkeypatch) -> Dialogs:
    rec = Dialogs()

    def make(kind):
        def show(parent, title, text, *a, **kw):
            rec.shown.append((kind, title, text))
            return rec.answer if kind == "question" else QMessageBox.StandardButton.Ok

        return staticmethod(show)

    for kind in ("critical", "warning", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, make(kind))
    return rec
