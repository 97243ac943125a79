"""Qt table model of gallery identities (thumbnail, label, category, photos, date)."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QPainter, QPixmap

from Algorithm.outer_api import IdentityInfo
from GUI.widgets import fmt_date, jpeg_pixmap

THUMB_H = 56
THUMB_W = 96


class IdentityTableModel(QAbstractTableModel):
    COLUMNS = ("Photo", "Label", "Category", "Photos", "Registered")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._items: list[IdentityInfo] = []
        self._thumbs: dict[tuple[int, int], QPixmap] = {}

    def set_items(self, items: list[IdentityInfo]) -> None:
        self.beginResetModel()
        self._items = list(items)
        keep = {(i.id, i.n_entries) for i in self._items}
        self._thumbs = {k: v for k, v in self._thumbs.items() if k in keep}
        self.endResetModel()

    def identity(self, row: int) -> IdentityInfo | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, identity_id: int) -> int:
        return next((r for r, i in enumerate(self._items) if i.id == identity_id), -1)

    # -- Qt model API ---------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def _thumb(self, info: IdentityInfo) -> QPixmap:
        key = (info.id, info.n_entries)
        if key not in self._thumbs:
            thumb = jpeg_pixmap(info.thumbnail, THUMB_H, max_width=THUMB_W)
            cell = QPixmap(THUMB_W, THUMB_H)  # every thumbnail centred in the same cell
            cell.fill(Qt.GlobalColor.transparent)
            if not thumb.isNull():
                p = QPainter(cell)
                p.drawPixmap((THUMB_W - thumb.width()) // 2, (THUMB_H - thumb.height()) // 2, thumb)
                p.end()
            self._thumbs[key] = cell
        return self._thumbs[key]

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        info = self._items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return self._thumb(info)
        if role == Qt.ItemDataRole.DisplayRole:
            return {1: info.label, 2: info.category.capitalize(), 3: str(info.n_entries), 4: fmt_date(info.created)}.get(col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 3:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{info.label}: {info.category}, {info.n_entries} photo(s), id {info.id}"
        return None
