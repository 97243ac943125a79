"""The sightings tree of the Process page: one branch per identity, one leaf per time segment (or photo), each
leaf with a thumbnail of the segment's best view once the file's final sightings are known (read in a worker)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from Algorithm.outer_api import Sighting, read_image, video_frames
from GUI.widgets import fmt_distance, fmt_time, qcolor
from GUI.workers import Worker, WorkerPool, bgr_to_qimage

THUMB = QSize(32, 48)  # a standing person's proportions; a vehicle's view is fitted inside


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

    @property
    def view_key(self) -> tuple:
        """What its thumbnail shows: the best view (a resumed run may find a better one for the same segment)."""
        return (self.path, self.best_frame, self.best_box)

    def describe(self) -> str:
        where = Path(self.path).name
        if self.kind == "image":
            return f"{self.label} in {where}, distance {fmt_distance(self.best_distance)}"
        return (f"{self.label} in {where}, {fmt_time(self.start_time)}\u2013{fmt_time(self.end_time)}; best frame "
                f"{self.best_frame} ({fmt_time(self.best_time)}), distance {fmt_distance(self.best_distance)}")


def best_views(path: str, kind: str, views: list[tuple[int, tuple]], cancel):
    """Worker job: yields (view key, QImage) of each (frame, box) of one file, the video read once, in order."""
    wanted: dict[int, list[tuple]] = {}
    for frame, box in views:
        wanted.setdefault(frame, []).append(box)
    if kind == "image":
        frames = iter([(0, read_image(path))])
    else:
        frames = video_frames(path, start=min(wanted), stop=max(wanted) + 1)
    for idx, img in frames:
        if cancel():
            return
        for box in wanted.get(idx, []):
            h, w = img.shape[:2]
            x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
            x2, y2 = min(w, int(round(box[2]))), min(h, int(round(box[3])))
            if x2 > x1 and y2 > y1:
                crop = bgr_to_qimage(img[y1:y2, x1:x2])
                yield (path, idx, box), crop.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                    Qt.TransformationMode.SmoothTransformation)


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
        self.setIconSize(THUMB)
        self.setAlternatingRowColors(True)
        h = self.header()
        h.setStretchLastSection(False)
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._files: dict[str, tuple[str, list[Sighting]]] = {}  # path -> (kind, sightings), in order
        self._thumbs: dict[tuple, QIcon] = {}  # view key -> thumbnail (kept across runs: a run shown again reuses them)
        self.workers = WorkerPool()
        self.itemClicked.connect(lambda item, _col: self._choose(item))
        self.currentItemChanged.connect(lambda cur, _prev: self._choose(cur, only_new=True))
        self._last_key = None

    def clear_all(self) -> None:
        self._files.clear()
        self._last_key = None
        self.clear()

    def set_file(self, path: str, kind: str, sightings: list[Sighting], final: bool = False) -> None:
        """Shows the sightings of one file (live ones while it runs, then its final ones), replacing its old ones;
        the final ones get thumbnails of their best views."""
        self._files[path] = (kind, list(sightings))
        self._rebuild()
        if final:
            self._load_thumbnails(path, kind)

    def _load_thumbnails(self, path: str, kind: str) -> None:
        views = sorted({(r.best_frame, r.best_box) for r in self.refs() if r.path == path and r.view_key not in self._thumbs})
        if not views:
            return
        w = Worker(best_views, path, kind, views).with_cancel().named("thumbnails")
        self.workers.start(w, on_yield=lambda v: self._thumb_ready(*v), on_fail=lambda _msg: None)  # a thumbnail is a nicety

    def _thumb_ready(self, view_key: tuple, img: QImage) -> None:
        self._thumbs[view_key] = QIcon(QPixmap.fromImage(img))
        for item in self._leaves():
            ref = item.data(0, Qt.ItemDataRole.UserRole)
            if ref.view_key == view_key:
                item.setIcon(0, self._thumbs[view_key])

    def _leaves(self) -> list[QTreeWidgetItem]:
        return [self.topLevelItem(i).child(j) for i in range(self.topLevelItemCount())
                for j in range(self.topLevelItem(i).childCount())]

    def thumbnail_count(self) -> int:
        """Leaves showing a thumbnail (tests)."""
        return sum(not item.icon(0).isNull() for item in self._leaves())

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        return self.workers.shutdown(timeout_ms)

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
                if r.view_key in self._thumbs:
                    child.setIcon(0, self._thumbs[r.view_key])
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
