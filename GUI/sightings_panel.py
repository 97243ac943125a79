"""The sightings tree of the Process page: one branch per identity, one leaf per time segment (or photo), each
leaf with a thumbnail of the segment's best view once the file's final sightings are known (read in a worker).

Once processing has ended, a right-click on a leaf offers the verdicts (confirm, confirm and add a photo, reject:
the page carries them out) and the evidence export; confirmed sightings carry a check mark."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem

from Algorithm.outer_api import Sighting, read_image, video_frames
from GUI.widgets import APPROX, as_sentence, fmt_distance, fmt_time, qcolor
from GUI.workers import Worker, WorkerPool, bgr_to_qimage

THUMB = QSize(32, 48)  # a standing person's proportions; a vehicle's view is fitted inside
CHECK = "\u2713 "  # before a confirmed sighting

# the verdicts a sighting or a track can get (the Process page carries them out)
CONFIRM, CONFIRM_ADD, REJECT = "confirm", "confirm+photo", "reject"


def verdict_actions(label: str) -> list[tuple[str, str, str]]:
    """(action, menu text, tooltip) of each verdict on something shown as `label`."""
    return [
        (CONFIRM, "Confirm", f"Yes, this is {label}: remember it"),
        (CONFIRM_ADD, f"Confirm and add its best view to {label}\u2019s photos",
         f"Yes, this is {label}: one more photo of {label} (more views, better matches)"),
        (REJECT, f"Not {label} (reject)\u2026", f"Someone else: taken out of these results, never {label} again"),
    ]


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
    """`sightingChosen(SightingRef)` when the user picks a segment (or an identity: its best segment);
    `verdictRequested(SightingRef, action)` and `evidenceRequested()` from the right-click menu."""

    sightingChosen = Signal(object)
    verdictRequested = Signal(object, str)
    evidenceRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["Sighting", "When", "Distance"])
        self.setRootIsDecorated(True)
        self.setIconSize(THUMB)
        self.setAlternatingRowColors(True)
        # Ctrl/Shift-click selects several sightings (or identities) for the evidence export
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        h = self.header()
        h.setStretchLastSection(False)
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._files: dict[str, tuple[str, list[Sighting]]] = {}  # path -> (kind, sightings), in order
        self._time_cautions: dict[str, str] = {}  # path -> FileResult.time_caution of a video whose times are approximate
        self._thumbs: dict[tuple, QIcon] = {}  # view key -> thumbnail (kept across runs: a run shown again reuses them)
        self._confirmed: set[tuple] = set()  # keys of the sightings the user confirmed
        self.verdicts_enabled = False  # the page allows verdicts (processing has ended)
        self.workers = WorkerPool()
        self.itemClicked.connect(lambda item, _col: self._choose(item))
        self.currentItemChanged.connect(lambda cur, _prev: self._choose(cur, only_new=True))
        self._last_key = None

    def clear_all(self) -> None:
        self._files.clear()
        self._time_cautions.clear()
        self._confirmed.clear()
        self._last_key = None
        self.clear()

    def set_confirmed(self, keys: set[tuple]) -> None:
        """Marks these sightings (SightingRef.key) as confirmed; the others lose their mark."""
        if keys != self._confirmed:
            self._confirmed = set(keys)
            self._rebuild()

    def confirmed_keys(self) -> set[tuple]:
        return set(self._confirmed)

    def current_ref(self) -> SightingRef | None:
        """The sighting (leaf) the user is on, None on an identity or nothing."""
        item = self.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def selected_refs(self) -> list[SightingRef]:
        """The selected sightings, an identity's standing for all its sightings, in the tree's order."""
        out: dict[tuple, SightingRef] = {}
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            for j in range(top.childCount()):
                if top.isSelected() or top.child(j).isSelected():
                    ref = top.child(j).data(0, Qt.ItemDataRole.UserRole)
                    out[ref.key] = ref
        return list(out.values())

    def menu_for(self, item: QTreeWidgetItem | None) -> QMenu | None:
        """The right-click menu of an item: a sighting's verdicts, and the evidence export of the selection."""
        if item is None:
            return None
        menu = QMenu(self)
        ref = item.data(0, Qt.ItemDataRole.UserRole)
        if ref is not None and self.verdicts_enabled:
            for action, text, tip in verdict_actions(ref.label):
                a = menu.addAction(text, lambda act=action: self.verdictRequested.emit(ref, act))
                a.setToolTip(tip)
                a.setObjectName(action)
            menu.addSeparator()
        if self.verdicts_enabled:
            n = len(self.selected_refs())
            menu.addAction(f"Export evidence of {'this sighting' if n == 1 else f'these {n} sightings'}\u2026",
                           self.evidenceRequested.emit).setObjectName("evidence")
        menu.setToolTipsVisible(True)
        return menu if menu.actions() else None

    def contextMenuEvent(self, ev) -> None:
        item = self.itemAt(ev.pos())
        if item is not None and not item.isSelected():
            self.setCurrentItem(item)  # the menu acts on what was right-clicked
        menu = self.menu_for(item)
        if menu is not None:
            menu.exec(ev.globalPos())

    def set_file(self, path: str, kind: str, sightings: list[Sighting], final: bool = False, time_caution: str = "") -> None:
        """Shows the sightings of one file (live ones while it runs, then its final ones), replacing its old ones;
        the final ones get thumbnails of their best views. `time_caution`: its times are approximate (said once the
        whole video has been read)."""
        self._files[path] = (kind, list(sightings))
        if time_caution:
            self._time_cautions[path] = time_caution
        else:
            self._time_cautions.pop(path, None)
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
                    if r.path in self._time_cautions:
                        when = APPROX + when
                    title = name if multi else ""  # the thumbnail and the time say which; the frames are in the tip
                confirmed = r.key in self._confirmed
                child = QTreeWidgetItem([CHECK + title if confirmed else title, when, fmt_distance(r.best_distance)])
                child.setData(0, Qt.ItemDataRole.UserRole, r)
                frames = f"\nFrames {r.start_frame}\u2013{r.end_frame}." if r.kind != "image" else ""
                tip = r.describe() + frames + ("\nConfirmed by you." if confirmed else "")
                if r.path in self._time_cautions:
                    tip += "\n" + as_sentence(self._time_cautions[r.path])
                for col in range(3):
                    child.setToolTip(col, tip)
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
