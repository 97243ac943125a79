"""Register page: photo -> detector (worker) -> numbered clickable boxes -> label + category -> Confirm."""
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

from Algorithm.outer_api import CATEGORIES, Engine, RegisterResult, media_kind, rules
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
        self._known: dict[str, object] = {}
        self.last_result: RegisterResult | None = None
        self.setAcceptDrops(True)
        self._build()
        self.refresh_labels()
        self._update_state()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.view = ImageView("Drop a photo here\nor click \u201cChoose photo\u2026\u201d")
        self.view.boxClicked.connect(self.select_box)

        self.choose_btn = QPushButton("Choose photo\u2026")
        self.choose_btn.clicked.connect(self.choose_photo)
        self.file_label = hint_label("No photo yet. You can also drag one onto the picture.")
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
        self.category = QComboBox()
        for c in CATEGORIES:
            self.category.addItem(c.capitalize(), c)
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
        path, _ = QFileDialog.getOpenFileName(self, "Choose a photo", str(self._path.parent if self._path else ""),
                                              IMAGE_FILTER)
        if path:
            self.load_photo(path)

    def load_photo(self, path: str | Path) -> None:
        """Shows the photo's boxes once the detector (in a worker) has run."""
        self._token += 1
        token = self._token
        self._path = Path(path)
        self._image = self._dets = None
        self.view.clear()
        self.view.set_placeholder("Looking for people and vehicles\u2026")
        self.found.clear()
        self.whole.setChecked(False)
        self.file_label.setText(self._path.name)
        self.file_label.setToolTip(str(self._path))
        self.status.setText("Looking for people and vehicles\u2026")
        self.result_box.hide()

        path = self._path

        def job():
            res = self.engine.detect(path, categories=CATEGORIES)
            return res, bgr_to_qimage(res.image)

        self.workers.start(Worker(job), lambda r: self._detected(token, r), lambda m: self._detect_failed(token, m))
        self._update_state()

    def _detected(self, token: int, result) -> None:
        if token != self._token:
            return  # a newer photo was chosen meanwhile
        det, qimg = result
        self._image, self._dets = det.image, det.detections
        d = det.detections
        boxes = [
            OverlayBox(tuple(map(float, d.xyxy[i])), str(i + 1), qcolor(i), clickable=True) for i in range(len(d))
        ]
        self.view.set_image(qimg, boxes)
        for i in range(len(d)):
            item = QListWidgetItem(f"{i + 1}.  {d.category[i]}  ({d.conf[i]:.0%} sure)")
            item.setForeground(qcolor(i))
            self.found.addItem(item)
        if len(d) == 0:
            self.status.setText("Nobody was found in this photo. If it already shows just one person or vehicle, "
                                "closely cropped, keep \u201cwhole photo\u201d checked.")
            self.whole.setChecked(True)
        elif len(d) == 1:
            self.status.setText("1 found; it is selected.")
            self.select_box(0)
        else:
            self.status.setText(f"{len(d)} found. Click the one to register (on the photo or in the list).")
        self._update_state()

    def _detect_failed(self, token: int, message: str) -> None:
        if token != self._token:
            return
        self._path = None
        self.view.clear()
        self.view.set_placeholder("Drop a photo here\nor click \u201cChoose photo\u2026\u201d")
        self.status.setText("")
        self.file_label.setText("No photo.")
        self._update_state()
        show_error(self, "Cannot use this photo", message)

    # -- choosing -----------------------------------------------------------------------------------
    def select_box(self, index: int) -> None:
        if self._dets is None or not 0 <= index < len(self._dets):
            return
        self.whole.setChecked(False)
        self.view.set_selected(index)
        if self.found.currentRow() != index:
            self.found.setCurrentRow(index)
        known = self._known.get(self.label.currentText().strip().lower())
        if known is None:
            self.category.setCurrentIndex(self.category.findData(self._dets.category[index]))
        self._update_state()

    def _list_row_changed(self, row: int) -> None:
        if row >= 0 and row != self.view.selected:
            self.select_box(row)

    def _whole_toggled(self, on: bool) -> None:
        if on:
            self.view.set_selected(-1)
            self.found.setCurrentRow(-1)
        self._update_state()

    def selected_box(self):
        i = self.view.selected
        if self.whole.isChecked() or self._dets is None or not 0 <= i < len(self._dets):
            return None
        return tuple(float(v) for v in self._dets.xyxy[i])

    # -- labels -------------------------------------------------------------------------------------
    def refresh_labels(self) -> None:
        text = self.label.currentText()
        infos = self.engine.identities()
        self._known = {i.label.lower(): i for i in infos}
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
        self._update_state()

    # -- confirm ------------------------------------------------------------------------------------
    def _ready(self) -> bool:
        chosen = self.whole.isChecked() or self.selected_box() is not None
        return self._image is not None and chosen and bool(self.label.currentText().strip()) and not self.workers.busy

    def _update_state(self) -> None:
        busy = self.workers.busy
        self.busy.setVisible(busy)
        self.found.setEnabled(not self.whole.isChecked())
        self.whole.setEnabled(self._image is not None)
        self.confirm_btn.setEnabled(self._ready())

    def confirm(self) -> None:
        if not self._ready():
            return
        label = self.label.currentText().strip()
        category = self.category.currentData()
        box, whole = self.selected_box(), self.whole.isChecked()
        path, image = self._path, self._image
        worker = Worker(self.engine.register, path, label, category, box=box, whole=whole)
        self.workers.start(worker, lambda r: self._registered(r, image), self._register_failed)
        self.status.setText("Saving\u2026")
        self._update_state()

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
        self.result_text.setText(f"<b>{res.label}</b> ({res.category})<br>{what}; {n} photo{'s' if n != 1 else ''} "
                                 f"now.{'<br>Whole photo used.' if res.whole_image else ''}")
        self.result_box.show()
        self.status.setText("Saved. Choose another box or photo to register more.")
        self.registered.emit(res)
        self.refresh_labels()
        self.label.setEditText("")

    def _register_failed(self, message: str) -> None:
        self.status.setText("Not saved.")
        self._update_state()
        show_error(self, "Not saved", message)

    # -- drag & drop, lifecycle ---------------------------------------------------------------------
    def dragEnterEvent(self, ev) -> None:
        if any(media_kind(p) == "image" for p in local_files(ev.mimeData())):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        images = [p for p in local_files(ev.mimeData()) if media_kind(p) == "image"]
        if images:
            self.load_photo(images[0])
            ev.acceptProposedAction()

    def shutdown(self) -> None:
        self.workers.shutdown()
