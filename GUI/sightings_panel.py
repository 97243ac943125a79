"""The sightings tree of the Process page: one branch per identity, one leaf per time segment (or photo)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from Algorithm.outer_api import Sighting
from GUI.widgets import fmt_distance, fmt_time, qcolor


@dataclass(frozen=True)
class SightingRef:
    """Where one sighting can be seen: its file, best frame and box."""

    path: str
    kind: str  # "video" | "image"
    identity_id: int
    label: str
    start_frame: int
    end_frame: int
    start_time: float
    end_time: float
    best_frame: int
    best_time: float
    best_distance: float
    best_box: tuple[float, float, float, float]

    @property
    def key(self) -> tuple:
        return (self.path, self.identity_id, self.start_frame)

    def describe(self) -> str:
        where = Path(self.path).name
        if self.kind == "image":
            return f"{self.label} in {where}, distance {fmt_distance(self.best_distance)}"
        return (f"{self.label} in {where}, {fmt_time(self.start_time)}\u2013{fmt_time(self.end_time)}; best frame "
                f"{self.best_frame} ({fmt_time(self.best_time)}), distance {fmt_distance(self.best_distance)}")


def _swatch(color: QColor) -> QIcon:
    pm = QPixmap(14, 14)
    pm.fill(color)
    return QIcon(pm)


class SightingsTree(QTreeWidget):
    """`sightingChosen(SightingRef)` when the user picks a segment (or an identity: its best segment)."""

    sightingChosen = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["Sighting", "When", "Distance"])
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        h = self.header()
        h.setStretchLastSection(False)
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._files: dict[str, tuple[str, list[Sighting]]] = {}  # path -> (kind, sightings), in order
        self.itemClicked.connect(lambda item, _col: self._choose(item))
        self.currentItemChanged.connect(lambda cur, _prev: self._choose(cur, only_new=True))
        self._last_key = None

    def clear_all(self) -> None:
        self._files.clear()
        self._last_key = None
        self.clear()

    def set_file(self, path: str, kind: str, sightings: list[Sighting]) -> None:
        """Shows the sightings of one file (live ones while it runs, then its final ones), replacing its old ones."""
        self._files[path] = (kind, list(sightings))
        self._rebuild()

    def refs(self) -> list[SightingRef]:
        out = []
        for path, (kind, sightings) in self._files.items():
            for s in sightings:
                for g in s.segments:
                    out.append(SightingRef(path, kind, s.identity_id, s.label, g.start_frame, g.end_frame, g.start_time,
                                           g.end_time, g.best_frame, g.best_time, g.best_distance, tuple(g.best_box)))
        return out

    def segment_count(self) -> int:
        return len(self.refs())

    def _rebuild(self) -> None:
        cur = self.currentItem()
        cur_key = cur.data(0, Qt.ItemDataRole.UserRole).key if cur and cur.data(0, Qt.ItemDataRole.UserRole) else None
        cur_ident = cur.data(0, Qt.ItemDataRole.UserRole + 1) if cur else None
        multi = len(self._files) > 1
        by_ident: dict[int, list[SightingRef]] = {}
        for r in self.refs():
            by_ident.setdefault(r.identity_id, []).append(r)
        self.blockSignals(True)
        self.clear()
        restore = None
        for ident, refs in sorted(by_ident.items(), key=lambda kv: kv[1][0].label.lower()):
            best = min(refs, key=lambda r: r.best_distance)
            top = QTreeWidgetItem([best.label, f"{len(refs)} sighting{'s' if len(refs) != 1 else ''}",
                                   fmt_distance(best.best_distance)])
            top.setIcon(0, _swatch(qcolor(ident)))
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            top.setData(0, Qt.ItemDataRole.UserRole + 1, ident)
            top.setToolTip(0, "Click to see the best sighting of " + best.label)
            self.addTopLevelItem(top)
            if cur_key is None and cur_ident == ident:
                restore = top
            for r in refs:
                name = Path(r.path).name
                if r.kind == "image":
                    when, title = "photo", name
                else:
                    when = f"{fmt_time(r.start_time)}\u2013{fmt_time(r.end_time)}"
                    title = f"{name} \u00b7 frames {r.start_frame}\u2013{r.end_frame}" if multi else \
                        f"frames {r.start_frame}\u2013{r.end_frame}"
                child = QTreeWidgetItem([title, when, fmt_distance(r.best_distance)])
                child.setData(0, Qt.ItemDataRole.UserRole, r)
                child.setToolTip(0, r.describe())
                top.addChild(child)
                if cur_key == r.key:
                    restore = child
            top.setExpanded(True)
        if restore is not None:
            self.setCurrentItem(restore)
        self.blockSignals(False)

    def _choose(self, item: QTreeWidgetItem | None, only_new: bool = False) -> None:
        if item is None:
            return
        ref = item.data(0, Qt.ItemDataRole.UserRole)
        if ref is None and item.childCount():
            refs = [item.child(i).data(0, Qt.ItemDataRole.UserRole) for i in range(item.childCount())]
            ref = min(refs, key=lambda r: r.best_distance)
        if ref is None or (only_new and ref.key == self._last_key):
            return
        self._last_key = ref.key
        self.sightingChosen.emit(ref)

    def choose_first(self) -> SightingRef | None:
        """Selects the first segment (tests, keyboard users)."""
        top = self.topLevelItem(0)
        if top is None or not top.childCount():
            return None
        self.setCurrentItem(top.child(0))
        self._choose(top.child(0))
        return top.child(0).data(0, Qt.ItemDataRole.UserRole)
