"""A dialog to click one box on a photo: the person to find when a query photo shows several."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from GUI.widgets import ImageView, OverlayBox, qcolor
from GUI.workers import bgr_to_qimage


class BoxChooser(QDialog):
    def __init__(self, image: np.ndarray, boxes, text: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Choose one")
        self.chosen = -1
        lay = QVBoxLayout(self)
        note = QLabel(text)
        note.setWordWrap(True)
        lay.addWidget(note)
        self.view = ImageView()
        self.view.set_image(bgr_to_qimage(image), [OverlayBox(tuple(map(float, b)), str(i + 1), qcolor(i), clickable=True)
                                                   for i, b in enumerate(boxes)])
        self.view.boxClicked.connect(self._clicked)
        lay.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(760, 600)

    def _clicked(self, index: int) -> None:
        self.chosen = index
        self.accept()

    @classmethod
    def choose(cls, parent, image: np.ndarray, boxes, text: str) -> int | None:
        """The index of the box clicked, or None when cancelled."""
        dlg = cls(image, boxes, text, parent)
        return dlg.chosen if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen >= 0 else None
