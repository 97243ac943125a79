"""Library page: the footage index. Files processed once (here, or by any search on the Process page) are
searched again in milliseconds: find a registered identity, a photo or a track like a chosen one, see the
sightings as thumbnails grouped by file and time, and an identity's journey across files and cameras.

Emits `openMoment(path, frame_index)` when the user clicks a sighting: the main window opens it on the
Process page."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import (
    Engine,
    FileDone,
    FileStarted,
    Finished,
    FrameDone,
    Journey,
    JourneyStop,
    LibrarySource,
    PhotoCheck,
    ReIdError,
    SimilarTrack,
    list_media,
    media_kind,
    read_image,
    read_video_frame,
    rules,
)
from GUI.box_chooser import BoxChooser
from GUI.journey_view import JourneyView
from GUI.widgets import (
    APPROX,
    as_sentence,
    confirm,
    fmt_date,
    fmt_distance,
    fmt_duration,
    fmt_time,
    hint_label,
    jpeg_pixmap,
    show_error,
)
from GUI.workers import Worker, WorkerPool

THUMB_H, CARD_W = 120, 150
# Status colours: done (green), partial or changed (amber: look again), failed (red), missing (grey).
STATUS_COLORS = {"done": "#2e7d32", "partial": "#b26a00", "changed": "#b26a00", "failed": "#c62828", "missing": "#757575"}
STATUS_WORDS = {"done": "Indexed", "partial": "Partly indexed", "changed": "Changed on disk", "failed": "Failed",
                "missing": "File missing"}
COLUMNS = ["File", "Camera", "Status", "Tracks", "Duration", "Model", "Indexed"]


def _holds_media(path: str) -> bool:
    try:
        return bool(list_media(path))
    except (ReIdError, OSError):
        return False


class LibraryPage(QWidget):
    openMoment = Signal(str, int)

    def __init__(self, engine: Engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.workers = WorkerPool(on_idle=self._idle)
        self._indexer: Worker | None = None
        self._index_paths: list[str] = []
        self._sources: list[LibrarySource] = []
        self._journeys: list[Journey] = []
        self._build()
        self.refresh()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.add_files_btn = QPushButton("Add files\u2026")
        self.add_files_btn.setToolTip("Process videos or photos once into the library; later searches need no decoding")
        self.add_files_btn.clicked.connect(lambda: self.add_files())
        self.add_folder_btn = QPushButton("Add folder\u2026")
        self.add_folder_btn.setToolTip("Process every video and photo of a folder (and its sub-folders)")
        self.add_folder_btn.clicked.connect(lambda: self.add_folder())
        self.reindex_btn = QPushButton("Re-index")
        self.reindex_btn.setToolTip("Process the selected files again (after a change on disk or of the settings)")
        self.reindex_btn.clicked.connect(lambda: self.reindex())
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setToolTip("Forget the selected files and their tracks (the files themselves are not touched)")
        self.remove_btn.clicked.connect(lambda: self.remove())
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setTextVisible(True)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setVisible(False)
        self.stop_btn.setToolTip("Stop after this file's current frame: what was processed is kept (as partly indexed)")
        self.stop_btn.clicked.connect(self._stop)
        top = QHBoxLayout()
        for b in (self.add_files_btn, self.add_folder_btn, self.reindex_btn, self.remove_btn):
            top.addWidget(b)
        top.addWidget(self.progress, 1)
        top.addWidget(self.stop_btn)
        top.addStretch(0)  # the buttons keep their size while no progress bar is shown

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.summary = hint_label(wrap=False)

        self.query = QComboBox()
        self.query.setMinimumWidth(200)
        self.query.setToolTip("Whom to find in the library: every registered identity, or one of them")
        self.find_btn = QPushButton("Find")
        self.find_btn.setDefault(True)
        self.find_btn.setToolTip("Search the library (no decoding: answers in milliseconds to seconds)")
        self.find_btn.clicked.connect(lambda: self.find())
        self.photo_btn = QPushButton("Find a photo\u2026")
        self.photo_btn.setToolTip("Search the library for the person in a photo (not registered)")
        self.photo_btn.clicked.connect(lambda: self.find_photo())
        self.similar_btn = QPushButton("Similar to selected")
        self.similar_btn.setToolTip("The tracks across all footage most like the selected result, best first")
        self.similar_btn.clicked.connect(lambda: self.find_similar())
        self.status = hint_label(wrap=False)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Find:"))
        bar.addWidget(self.query)
        bar.addWidget(self.find_btn)
        bar.addWidget(self.photo_btn)
        bar.addWidget(self.similar_btn)
        bar.addWidget(self.status, 1)

        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(CARD_W - 10, THUMB_H))
        self.grid.setGridSize(QSize(CARD_W + 8, THUMB_H + 58))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setWordWrap(True)
        self.grid.setUniformItemSizes(True)
        self.grid.itemActivated.connect(self._open_item)
        self.grid.itemSelectionChanged.connect(self._update_buttons)
        self.journey_pick = QComboBox()
        self.journey_pick.currentIndexChanged.connect(self._show_journey)
        self.journey = JourneyView()
        self.journey.stopClicked.connect(lambda s: self.openMoment.emit(s.source, int(s.best_frame)))
        jw = QWidget()
        jl = QVBoxLayout(jw)
        jl.setContentsMargins(0, 4, 0, 0)
        jl.addWidget(self.journey_pick, 0, Qt.AlignmentFlag.AlignLeft)
        jl.addWidget(self.journey, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.grid, "Sightings")
        self.tabs.addTab(jw, "Journey")

        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addLayout(top)
        ul.addWidget(self.table, 1)
        ul.addWidget(self.summary)
        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(bar)
        ll.addWidget(self.tabs, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([230, 520])  # the results get the room; the file list scrolls
        lay = QVBoxLayout(self)
        lay.addWidget(split)

    # -- the sources ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-reads the library and the gallery's identities (cheap: SQLite reads and file stats)."""
        try:
            self._sources = self.engine.library()
        except Exception as e:  # a damaged index file: said once, the page stays usable
            self._sources = []
            self.summary.setText(f"The library cannot be read: {e}")
        self.table.setRowCount(len(self._sources))
        titles = self.engine.model_titles()
        approx = self._time_cautions()
        for row, src in enumerate(self._sources):
            info = src.info
            names = sorted(set(json.loads(info.settings or "{}").get("models", {}).values()))
            values = [info.path, info.camera, STATUS_WORDS.get(src.status, src.status), str(info.n_tracks),
                      fmt_duration(info.duration_s) if info.duration_s else ("photo" if info.kind == "image" else ""),
                      ", ".join(titles.get(n, n) for n in names), fmt_date(info.indexed_at)]
            caution = approx.get(info.path, "")
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                if col == COLUMNS.index("Duration") and caution and text:
                    item.setText(APPROX + text)
                    item.setToolTip(caution)
                if col == 0:
                    item.setText(Path(info.path).name)
                    item.setToolTip(info.path)
                elif col == COLUMNS.index("Model"):
                    item.setToolTip(", ".join(names))  # the names the command line takes
                if col == 2:
                    item.setForeground(QBrush(QColor(STATUS_COLORS.get(src.status, "#000"))))
                    if src.reason:
                        item.setToolTip(src.reason)
                if col == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        tracks = sum(s.info.n_tracks for s in self._sources)
        bad = sum(1 for s in self._sources if s.status != "done")
        self.summary.setText(f"{len(self._sources)} file(s), {tracks} track(s) in {self.engine.footage_path}"
                             + (f" \u2014 {bad} need attention (hover the status for the reason)" if bad else "")
                             if self._sources else "The library is empty: add files or folders, or process them on the "
                             "Process page (every processed file is added).")
        caution = self.engine.footage_caution
        if caution:  # long: the whole message is the tooltip
            what = "damaged" if "damaged" in caution else "read-only"
            self.summary.setText(f"The library file is {what}: what can be read is shown, nothing is added to it "
                                 "(hover for what to do)")
        self.summary.setToolTip(caution)
        current = self.query.currentData()
        self.query.blockSignals(True)
        self.query.clear()
        self.query.addItem("Everyone registered", None)
        for ident in self.engine.identities():
            self.query.addItem(f"{ident.label} ({ident.category})", ident.id)
        i = self.query.findData(current)
        self.query.setCurrentIndex(max(0, i))
        self.query.blockSignals(False)
        self._update_buttons()

    def _selected_paths(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._sources[r].info.path for r in rows if r < len(self._sources)]

    def _update_buttons(self) -> None:
        busy = self._indexer is not None
        has = bool(self._selected_paths())
        for b in (self.add_files_btn, self.add_folder_btn):
            b.setEnabled(not busy)
        self.reindex_btn.setEnabled(has and not busy)
        self.remove_btn.setEnabled(has and not busy)
        self.similar_btn.setEnabled(self._selected_track() is not None)
        self.find_btn.setEnabled(bool(self._sources))
        self.photo_btn.setEnabled(bool(self._sources))

    def add_files(self, paths: list[str] | None = None) -> None:
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Add videos or photos to the library", "", rules.file_filter())
        if paths:
            self._index(list(paths))

    def add_folder(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if folder:
            self._index([folder])

    def reindex(self) -> None:
        paths = [p for p in self._selected_paths() if Path(p).exists()]
        if not paths:
            show_error(self, "Re-index", "The selected files are no longer on disk.")
            return
        self._index(paths, force=True)

    def remove(self) -> None:
        paths = self._selected_paths()
        if not paths or not confirm(self, "Remove from the library",
                                    f"Forget {len(paths)} file(s) and their tracks? The files themselves are not touched; "
                                    "they can be added again later."):
            return
        for p in paths:
            self.engine.remove_from_library(p)
        self.refresh()

    def _index(self, paths: list[str], force: bool = False) -> None:
        w = Worker(self.engine.index, paths, force=force).with_cancel().named("index")
        self._indexer = w
        self._index_paths = paths
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat("Starting\u2026")
        self.stop_btn.setVisible(True)
        self._update_buttons()
        self.workers.start(w, on_ok=lambda _: self._index_done(), on_fail=self._index_failed, on_yield=self._index_event)

    def _index_event(self, ev) -> None:
        if isinstance(ev, FileStarted):
            self._file = (ev.index, ev.total, ev.path.name)
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"File {ev.index + 1} of {ev.total}: {ev.path.name}")
        elif isinstance(ev, FrameDone):
            fr = ev.result
            i, n, name = getattr(self, "_file", (0, 1, ""))
            if fr.total_frames:
                self.progress.setRange(0, fr.total_frames)
                self.progress.setValue(min(fr.frame_index + 1, fr.total_frames))
                self.progress.setFormat(f"File {i + 1} of {n}: {name} \u2014 frame %v of %m")
        elif isinstance(ev, FileDone):
            self.refresh()
        elif isinstance(ev, Finished):
            n = len(ev.report.files)
            if n:
                self.status.setText(f"{n} file(s) processed")
            elif not any(map(_holds_media, self._index_paths)):  # walked again only here
                self.status.setText("No images or videos were found there: nothing to index")
            else:
                self.status.setText("Nothing new to index: those files are indexed already "
                                    "(select them and press Re-index to process them again)")

    def _index_done(self) -> None:
        self._indexer = None
        self.progress.setVisible(False)
        self.stop_btn.setVisible(False)
        self.refresh()

    def _index_failed(self, msg: str) -> None:
        self._index_done()
        show_error(self, "Library", msg)

    def _stop(self) -> None:
        if self._indexer is not None:
            self._indexer.cancel()
            self.progress.setFormat("Stopping\u2026")

    def _idle(self) -> None:
        self._update_buttons()

    # -- finding ----------------------------------------------------------------------------------
    def find(self, queries: list | None = None) -> None:
        if queries is None:
            ident = self.query.currentData()
            queries = [] if ident is None else [int(ident)]
        self._start_find(queries)

    def _start_find(self, queries: list, box=None) -> None:
        def job():  # with the tracks the search could not see (another model's): "nobody found" must not mislead
            return self.engine.journeys(queries, box=box), self.engine.library_unsearched()

        self.status.setText("Searching the library\u2026")
        self.workers.start(Worker(job), on_ok=lambda out: self._show_journeys(*out),
                           on_fail=lambda m: self._failed("Find", m))

    def find_photo(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Find the person in a photo", "", rules.file_filter(("image",)))
        if path:
            cat = self.engine.settings.categories[0]  # the category find searches a photo's object among
            self.status.setText("Looking at the photo\u2026")
            self.workers.start(Worker(self.engine.check_photo, path, (cat,)),
                               on_ok=lambda check: self._find_in_photo(path, cat, check),
                               on_fail=lambda m: self._failed("Find", m))

    def _find_in_photo(self, path: str, cat: str, check: PhotoCheck) -> None:
        """Several people in the query photo: the user clicks the one to find (the engine would refuse to guess)."""
        box = None
        if check.verdicts[cat].must_choose:
            d = check.detections
            rows = [i for i in range(len(d)) if d.category[i] == cat]
            i = BoxChooser.choose(self, check.image, [d.xyxy[r] for r in rows],
                                  f"{len(rows)} {cat}s are in this photo: click the one to find in the library.")
            if i is None:
                self.status.setText("")
                return
            box = tuple(float(v) for v in d.xyxy[rows[i]])
        self._start_find([path], box)

    def find_similar(self, track_id: int | None = None) -> None:
        track_id = track_id if track_id is not None else self._selected_track()
        if track_id is None:
            return
        self.status.setText("Looking for similar tracks\u2026")
        self.workers.start(Worker(self.engine.find_similar, track_id=track_id), on_ok=self._show_similar,
                           on_fail=lambda m: self._failed("Similar", m))

    def find_similar_at(self, path: str, frame_index: int, box) -> None:
        """The tracks like a box the user clicked on a frame (the review player), across all footage."""
        def job():
            img = read_image(path) if media_kind(path) == "image" else read_video_frame(path, frame_index)
            return self.engine.find_similar(image=img, box=box)

        self.status.setText("Looking for tracks like the chosen box\u2026")
        self.workers.start(Worker(job), on_ok=self._show_similar, on_fail=lambda m: self._failed("Similar", m))

    def _failed(self, title: str, msg: str) -> None:
        self.status.setText("")
        show_error(self, title, msg)

    def _selected_track(self) -> int | None:
        items = self.grid.selectedItems()
        data = items[0].data(Qt.ItemDataRole.UserRole) if items else None
        return data[3] if data else None

    def _card(self, thumb: bytes | None, text: str, tip: str, data: tuple, color: QColor | None = None) -> None:
        fm = self.grid.fontMetrics()  # each line fits the card: a long file name is shortened in its middle
        text = "\n".join(fm.elidedText(line, Qt.TextElideMode.ElideMiddle, CARD_W - 4) for line in text.split("\n"))
        item = QListWidgetItem(QIcon(jpeg_pixmap(thumb, THUMB_H, CARD_W - 10)), text)
        item.setToolTip(tip)
        item.setData(Qt.ItemDataRole.UserRole, data)  # (path, frame, time, track id)
        item.setSizeHint(QSize(CARD_W, THUMB_H + 54))
        if color is not None:
            item.setForeground(QBrush(color))
        self.grid.addItem(item)

    def _show_journeys(self, journeys: list[Journey], unsearched: dict[str, tuple[int, int]] | None = None) -> None:
        self._journeys = journeys
        self.grid.clear()
        stops: list[tuple[Journey, JourneyStop]] = [(j, s) for j in journeys for s in j.stops]
        stops.sort(key=lambda js: (js[1].source, js[1].start_time))  # grouped by file, then time
        approx = self._time_cautions()
        for j, s in stops:
            caution = f"\nCaution: {s.caution}" if s.caution else ""
            about, note = (APPROX, f"\n{approx[s.source]}") if s.source in approx else ("", "")
            when = f"{about}{fmt_time(s.start_time)}\u2013{fmt_time(s.end_time)}"
            self._card(s.thumbnail, f"{j.label}\n{Path(s.source).name}\n{when}",
                       f"{j.label} in {s.source}\ncamera {s.camera}\n{when}, "
                       f"best view at {fmt_time(s.best_time)} (distance {fmt_distance(s.distance)}){caution}{note}\n"
                       "double-click to open",
                       (s.source, int(s.best_frame), float(s.best_time), s.track_id),
                       QColor(STATUS_COLORS["changed"]) if s.caution else None)
        files = len({s.source for _, s in stops})
        text = (f"{len(stops)} sighting(s) of {len(journeys)} identit{'y' if len(journeys) == 1 else 'ies'} in {files} "
                f"file(s)" if stops else "Nobody found in the library")
        stale = len({s.source for _, s in stops if s.caution})
        if stale:
            text += f"; {stale} of those files are missing or changed on disk since they were indexed (amber: hover for why)"
        for cat, (lacking, total) in (unsearched or {}).items():
            text += (f". {lacking} of {total} indexed {cat} tracks were not searched: another model embedded them "
                     f"(python -m Algorithm library reembed --category {cat}, or re-index their files)")
        self.status.setText(text)
        self.journey_pick.blockSignals(True)
        self.journey_pick.clear()
        for j in journeys:
            self.journey_pick.addItem(f"{j.label}: {len(j.stops)} sighting(s), {len(j.cameras)} camera(s)")
        self.journey_pick.blockSignals(False)
        self._show_journey(0)
        self._update_buttons()

    def _time_cautions(self) -> dict[str, str]:
        """Indexed files whose times are approximate (a variable frame rate) -> what to say, as a sentence."""
        return {src.info.path: as_sentence(src.info.time_caution) for src in self._sources if src.info.time_caution}

    def _show_journey(self, index: int) -> None:
        self.journey.set_journey(self._journeys[index] if 0 <= index < len(self._journeys) else None,
                                 self._time_cautions())

    def _show_similar(self, rows: list[SimilarTrack]) -> None:
        self.grid.clear()
        approx = self._time_cautions()
        for r in rows:
            t = r.track
            about, note = (APPROX, f"\n{approx[t.source_path]}") if t.source_path in approx else ("", "")
            self._card(t.thumbnail, f"d {fmt_distance(r.distance)}\n{Path(t.source_path).name}\n{about}{fmt_time(t.start_s)}",
                       f"track {t.id} in {t.source_path}\ncamera {t.camera}\n{about}{fmt_time(t.start_s)}\u2013"
                       f"{fmt_time(t.end_s)} (distance {fmt_distance(r.distance)}){note}\ndouble-click to open",
                       (t.source_path, int(t.best_frame), float(t.start_s), t.id))
        self.status.setText(f"{len(rows)} most similar track(s), closest first" if rows else "No similar track")
        self.tabs.setCurrentIndex(0)
        self._update_buttons()

    def _open_item(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if not data:
            return
        state = self.engine.library_status(data[0])
        if state.status == "changed":  # the moment would be shown on another video's frames
            self.status.setText(f"{Path(data[0]).name} changed on disk since it was indexed ({state.reason}): index it "
                                "again to open its moments")
        elif Path(data[0]).exists():
            self.openMoment.emit(data[0], int(data[1]))
        else:
            self.status.setText(f"{Path(data[0]).name} is no longer on disk: its tracks are kept, it cannot be played")

    def work_in_progress(self) -> list[str]:
        """What closing the window would stop, in words (asked about first)."""
        busy = self._indexer is not None and not self._indexer.isFinished()
        return ["indexing footage (the files indexed so far are kept)"] if busy else []

    def shutdown(self) -> None:
        if self._indexer is not None:
            self._indexer.cancel()
        self.workers.shutdown()
