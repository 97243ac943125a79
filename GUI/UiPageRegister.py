"""Register page: photos -> detector and crop policy (worker) -> numbered clickable boxes -> label + category -> Confirm.

Several photos (chosen together or dropped together) are walked through one at a time ("Photo 2 of 3"), the label
kept from one to the next; each is saved or skipped. The page never ticks "Use the whole photo" by itself: when
the engine will take a photo whole (a close crop of one person or vehicle), the status says so in words, and a
photo the engine refuses (nobody in it, nearly uniform, noise, a vehicle registered as a person) says why."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import CATEGORIES, Engine, PhotoCheck, PhotoVerdict, RegisterResult, media_kind, rules
from GUI.widgets import ImageView, OverlayBox, hint_label, local_files, qcolor, show_error
from GUI.workers import Worker, WorkerPool, bgr_to_qimage

IMAGE_FILTER = rules.file_filter(("image",))  # the engine's own extension list


class RegisterPage(QWidget):
    """Emits `registered(RegisterResult)` after a photo was stored."""

    registered = Signal(object)

    def __init__(self, engine: Engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.workers = WorkerPool(on_idle=self._update_state)
        self._token = 0
        self._path: Path | None = None
        self._image = None  # BGR ndarray of the photo shown
        self._dets = None
        self._check: PhotoCheck | None = None  # the engine's look at the photo: boxes, and per category its verdict
        self._queue: list[Path] = []  # the photos of a walk-through (one photo: a queue of one)
        self._pos = 0
        self._saved = 0
        self._skipped = 0
        self._note = ""  # what just happened ("Saved.", "Not saved: ..."), shown until the user chooses again
        self._known: dict[str, object] = {}
        self.last_result: RegisterResult | None = None
        self.setAcceptDrops(True)
        self._build()
        self.refresh_labels()
        self._update_state()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.view = ImageView("Drop photos here\nor click \u201cChoose photos\u2026\u201d")
        self.view.boxClicked.connect(self.select_box)

        self.choose_btn = QPushButton("Choose photos\u2026")
        self.choose_btn.setToolTip("One photo, or several photos of the same person or vehicle (they are shown one "
                                   "at a time)")
        self.choose_btn.clicked.connect(self.choose_photo)
        self.file_label = hint_label("No photo yet. You can also drag photos onto the picture.")
        self.walk_label = QLabel("")
        self.walk_label.setWordWrap(True)
        self.skip_btn = QPushButton("Skip this photo \u25b8")
        self.skip_btn.setToolTip("Go to the next photo without saving this one")
        self.skip_btn.clicked.connect(self.skip)
        self.walk = QWidget()
        wk = QHBoxLayout(self.walk)
        wk.setContentsMargins(0, 0, 0, 0)
        wk.addWidget(self.walk_label, 1)
        wk.addWidget(self.skip_btn)
        self.walk.hide()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)

        photo = QGroupBox("1. Photo")
        pl = QVBoxLayout(photo)
        pl.addWidget(self.choose_btn)
        pl.addWidget(self.file_label)
        pl.addWidget(self.walk)
        pl.addWidget(self.busy)

        self.found = QListWidget()
        self.found.setMaximumHeight(130)
        self.found.currentRowChanged.connect(self._list_row_changed)
        self.whole = QCheckBox("Use the whole photo (it is already a close crop)")
        self.whole.toggled.connect(self._whole_toggled)
        who = QGroupBox("2. Who? Click a box on the photo")
        wl = QVBoxLayout(who)
        wl.addWidget(self.status)
        wl.addWidget(self.found)
        wl.addWidget(self.whole)

        self.label = QComboBox()
        self.label.setEditable(True)
        self.label.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.label.lineEdit().setPlaceholderText("Name, e.g. Alice")
        self.label.lineEdit().setMaxLength(100)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        completer = QCompleter(self.label.model(), self.label)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.label.setCompleter(completer)
        self.label.currentTextChanged.connect(self._label_changed)
        # Enter in the name saves, as the Confirm button does (confirm() does nothing unless saving is possible)
        self.label.lineEdit().returnPressed.connect(self.confirm)
        self.category = QComboBox()
        for c in CATEGORIES:
            self.category.addItem(c.capitalize(), c)
        self.category.currentIndexChanged.connect(lambda _: self._update_state())
        self.category.activated.connect(lambda _: self._set_note(""))  # the user's own choice
        self.label_hint = hint_label()
        name = QGroupBox("3. Label")
        nl = QFormLayout(name)
        nl.addRow("Label", self.label)
        nl.addRow("Category", self.category)
        nl.addRow(self.label_hint)

        self.confirm_btn = QPushButton("Confirm and save")
        self.confirm_btn.setDefault(True)
        self.confirm_btn.setMinimumHeight(34)
        self.confirm_btn.clicked.connect(self.confirm)

        self.result_thumb = QLabel()
        self.result_thumb.setFixedSize(64, 96)
        self.result_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.result_text = QLabel("")
        self.result_text.setWordWrap(True)
        self.result_box = QGroupBox("Saved")
        rl = QHBoxLayout(self.result_box)
        rl.addWidget(self.result_thumb)
        rl.addWidget(self.result_text, 1)
        self.result_box.hide()

        side = QVBoxLayout()
        for w in (photo, who, name, self.confirm_btn, self.result_box):
            side.addWidget(w)
        side.addStretch(1)
        panel = QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(360)

        lay = QHBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addWidget(panel)

    # -- photo & detection --------------------------------------------------------------------------
    def choose_photo(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Choose one or more photos of one person or vehicle",
                                                str(self._path.parent if self._path else ""), IMAGE_FILTER)
        if paths:
            self.load_photos(paths)

    def load_photo(self, path: str | Path) -> None:
        """Shows one photo's boxes once the detector (in a worker) has run."""
        self.load_photos([path])

    def load_photos(self, paths) -> None:
        """Walks through several photos of one identity, one at a time (a single photo: no walk-through)."""
        self._queue = [Path(p) for p in paths]
        self._pos = self._saved = self._skipped = 0
        self.result_box.hide()
        if self._queue:
            self._show_photo(self._queue[0])

    @property
    def walking(self) -> bool:
        return len(self._queue) > 1

    def _show_walk(self) -> None:
        self.walk.setVisible(self.walking)
        if not self.walking:
            return
        n = len(self._queue)
        counts = f"{self._saved} saved" + (f", {self._skipped} skipped" if self._skipped else "")
        self.skip_btn.setVisible(self._pos < n)
        if self._pos >= n:
            self.walk_label.setText(f"<b>All {n} photos done</b> \u00b7 {counts}")
        else:
            self.walk_label.setText(f"<b>Photo {self._pos + 1} of {n}</b>" + (f" \u00b7 {counts}" if self._pos else ""))

    def _show_photo(self, path: Path) -> None:
        self._token += 1
        token = self._token
        self._path = path
        self._image = self._dets = self._check = None
        self.view.clear()
        self.view.set_placeholder("Looking for people and vehicles\u2026")
        self.found.clear()
        self.whole.setChecked(False)
        self.file_label.setText(self._path.name)
        self.file_label.setToolTip(str(self._path))
        self._note = ""
        self.status.setText("Looking for people and vehicles\u2026")
        if not self.walking:
            self.result_box.hide()
        self._show_walk()

        def job():
            check = self.engine.check_photo(path)
            return check, bgr_to_qimage(check.image)

        self.workers.start(Worker(job), lambda r: self._detected(token, r), lambda m: self._detect_failed(token, m))
        self._update_state()

    def skip(self) -> None:
        """The next photo of the walk-through, without saving this one."""
        if self.walking and self._pos < len(self._queue) and not self.workers.busy:
            self._skipped += 1
            self._next()

    def _next(self) -> None:
        self._pos += 1
        if self._pos < len(self._queue):
            self._show_photo(self._queue[self._pos])
            return
        self._show_walk()
        self.label.setEditText("")
        self._set_note(f"Done: {self._saved} of {len(self._queue)} photos saved. Choose more photos to go on.")

    def _detected(self, token: int, result) -> None:
        if token != self._token:
            return  # a newer photo was chosen meanwhile
        check, qimg = result
        self._check, self._image, self._dets = check, check.image, check.detections
        d = check.detections
        boxes = [
            OverlayBox(tuple(map(float, d.xyxy[i])), str(i + 1), qcolor(i), clickable=True) for i in range(len(d))
        ]
        self.view.set_image(qimg, boxes)
        for i in range(len(d)):
            item = QListWidgetItem(f"{i + 1}.  {d.category[i]}  ({d.conf[i]:.0%} sure)")
            item.setForeground(qcolor(i))
            self.found.addItem(item)
        if len(d) == 1 and self._verdict() is not None and not self._verdict().whole:
            self.select_box(0)
        self._update_state()

    def _detect_failed(self, token: int, message: str) -> None:
        if token != self._token:
            return
        self._path = None
        self.view.clear()
        self.view.set_placeholder("Drop photos here\nor click \u201cChoose photos\u2026\u201d")
        self.status.setText("This photo cannot be used." + (" Skip it to go on." if self.walking else ""))
        self.file_label.setText("No photo.")
        self._update_state()
        show_error(self, "Cannot use this photo", message)

    def _verdict(self) -> PhotoVerdict | None:
        """What the engine would store for the current category with no box chosen."""
        if self._check is None:
            return None
        return self._check.verdicts.get(self.category.currentData())

    def _engine_takes_whole(self) -> bool:
        v = self._verdict()
        return v is not None and v.box is not None and v.whole

    def _describe(self) -> str:
        """The status line: what Confirm will save, or what the user has to do, in words."""
        v, d = self._verdict(), self._dets
        if self._note or self._image is None or v is None or d is None:
            return self._note or self.status.text()
        cat, n, sel = v.category, len(d), self.view.selected
        if self.whole.isChecked():
            return "The whole photo will be saved, as you ticked."
        if 0 <= sel < n and self._category_clash():
            label = self.label.currentText().strip()
            return (f"Box {sel + 1} is a {d.category[sel]}, and \u201c{label}\u201d is a {self.category.currentData()}: "
                    f"click one of its {self.category.currentData()} boxes, or type a new label for this "
                    f"{d.category[sel]}.")
        if 0 <= sel < n:
            more = " Click another box to change." if n > 1 else ""
            return f"Box {sel + 1} ({d.category[sel]}) will be saved.{more}"
        if self._engine_takes_whole():
            more = " Or click a box to save only that part." if n else ""
            return f"This photo is a close crop of one {cat}, so the whole photo will be saved.{more}"
        if v.must_choose:
            return f"{d.category.count(cat)} {cat}s found. Click the one to register (on the photo or in the list)."
        if v.box is not None:
            return f"{n} found. Click the one to register (on the photo or in the list)."
        if v.suggested_category:
            return (f"This looks like a {v.suggested_category}, not a {cat}: no {cat} was found in it. To register it, "
                    f"choose Category \u201c{v.suggested_category.capitalize()}\u201d"
                    + ("." if not n else " or click its box." if n == 1 else " or click one of its boxes."))
        if n:
            return f"No {cat} was found in this photo, only {n} of another category. Click one to register it."
        return v.problem + f" If it really shows one {cat}, tick \u201cUse the whole photo\u201d."

    def _set_note(self, text: str) -> None:
        self._note = text
        self._update_state()

    # -- choosing -----------------------------------------------------------------------------------
    def select_box(self, index: int) -> None:
        if self._dets is None or not 0 <= index < len(self._dets):
            return
        self._note = ""
        self.whole.setChecked(False)
        self.view.set_selected(index)
        if self.found.currentRow() != index:
            self.found.setCurrentRow(index)
        known = self._known.get(rules.label_key(self.label.currentText()))
        if known is None:
            self.category.setCurrentIndex(self.category.findData(self._dets.category[index]))
        self._update_state()

    def _list_row_changed(self, row: int) -> None:
        if row >= 0 and row != self.view.selected:
            self.select_box(row)

    def _whole_toggled(self, on: bool) -> None:
        self._note = ""
        if on:
            self.view.set_selected(-1)
            self.found.setCurrentRow(-1)
        self._update_state()

    def selected_box(self):
        i = self.view.selected
        if self.whole.isChecked() or self._dets is None or not 0 <= i < len(self._dets):
            return None
        return tuple(float(v) for v in self._dets.xyxy[i])

    def _box_category(self) -> str | None:
        """The category of the box clicked (None: none clicked, or the whole photo ticked)."""
        if self.selected_box() is None:
            return None
        return self._dets.category[self.view.selected]

    def _category_clash(self) -> bool:
        """A box of one category under an identity of the other (an existing label fixes the category)."""
        cat = self._box_category()
        return cat is not None and cat != self.category.currentData()

    # -- labels -------------------------------------------------------------------------------------
    def refresh_labels(self) -> None:
        text = self.label.currentText()
        infos = self.engine.identities()
        self._known = {rules.label_key(i.label): i for i in infos}
        self.label.blockSignals(True)
        self.label.clear()
        self.label.addItems([i.label for i in sorted(infos, key=lambda i: i.label.lower())])
        self.label.setEditText(text)
        self.label.blockSignals(False)
        self._label_changed(text)

    def _label_changed(self, text: str) -> None:
        known = self._known.get(text.strip().lower())
        if known is not None:
            self.label_hint.setText(f"Adds this photo to \u201c{known.label}\u201d ({known.category}, "
                                    f"{known.n_entries} photo{'s' if known.n_entries != 1 else ''} so far).")
            self.category.setCurrentIndex(self.category.findData(known.category))
            self.category.setEnabled(False)
        else:
            self.label_hint.setText("A new identity." if text.strip() else "Type a new label or pick an existing one "
                                    "to add another photo of the same person or vehicle.")
            self.category.setEnabled(True)
            if self._box_category():  # a new identity takes the category of the box clicked
                self.category.setCurrentIndex(self.category.findData(self._box_category()))
        self._update_state()

    # -- confirm ------------------------------------------------------------------------------------
    def _ready(self) -> bool:
        chosen = self.whole.isChecked() or self.selected_box() is not None or self._engine_takes_whole()
        return (self._image is not None and chosen and bool(self.label.currentText().strip()) and not self.workers.busy
                and not self._category_clash())

    def _update_state(self) -> None:
        busy = self.workers.busy
        self.busy.setVisible(busy)
        self.found.setEnabled(not self.whole.isChecked())
        self.whole.setEnabled(self._image is not None)
        self.skip_btn.setEnabled(self.walking and self._pos < len(self._queue) and not busy)
        self.choose_btn.setEnabled(not busy)
        self.confirm_btn.setEnabled(self._ready())
        if not busy and (self._image is not None or self._note):
            self.status.setText(self._describe())

    def confirm(self) -> None:
        if not self._ready():
            return
        label = self.label.currentText().strip()
        category = self.category.currentData()
        box, whole = self.selected_box(), self.whole.isChecked()
        path, image = self._path, self._image
        # No box and not ticked: the engine takes the photo whole (a close crop of one; the status said so).
        worker = Worker(self.engine.register, path, label, category, box=box, whole=whole).named("register")
        self.workers.start(worker, lambda r: self._registered(r, image), self._register_failed)
        self._update_state()
        self.status.setText("Saving\u2026")

    def _registered(self, res: RegisterResult, image) -> None:
        self.last_result = res
        x1, y1, x2, y2 = (int(round(v)) for v in res.box)
        crop = image[max(0, y1):y2, max(0, x1):x2]
        if crop.size:
            pm = QPixmap.fromImage(bgr_to_qimage(crop)).scaled(
                self.result_thumb.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            self.result_thumb.setPixmap(pm)
        n = next((i.n_entries for i in self.engine.identities(res.label) if i.id == res.identity_id), 1)
        what = "New identity" if res.new_identity else "Added to the existing identity"
        used = f"<br>Used the {res.how}." if res.whole_image else ""
        self.result_text.setText(f"<b>{res.label}</b> ({res.category})<br>{what}; {n} photo{'s' if n != 1 else ''} "
                                 f"now.{used}")
        self.result_box.show()
        self.registered.emit(res)
        self.refresh_labels()
        if self.walking:  # the next photo, the same label
            self._saved += 1
            self._next()
            return
        self.label.setEditText("")
        self._set_note("Saved. Choose another box or photo to register more.")

    def _register_failed(self, message: str) -> None:
        self._set_note(f"Not saved: {message}")
        show_error(self, "Not saved", message)

    # -- drag & drop, lifecycle ---------------------------------------------------------------------
    def dragEnterEvent(self, ev) -> None:
        if any(media_kind(p) == "image" for p in local_files(ev.mimeData())):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        images = [p for p in local_files(ev.mimeData()) if media_kind(p) == "image"]
        if images:
            self.load_photos(images)
            ev.acceptProposedAction()

    def work_in_progress(self) -> list[str]:
        """What closing the window would stop, in words (asked about first)."""
        return ["a registration being saved"] if self.workers.has("register") else []

    def shutdown(self) -> None:
        self.workers.shutdown()
