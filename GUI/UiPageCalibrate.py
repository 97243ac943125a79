"""Calibrate page: "what threshold should I use?" answered from the user's own gallery (identities with several
photos) or from an evaluation folder (Market-1501 naming or MOT sequences), with the picture.

Self-contained: PySide6, matplotlib's Qt canvas and Algorithm.outer_api only. The work (embedding, pairs)
runs in a worker (GUI/workers.py); changing the target false-match rate only re-reads the same pairs.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import CATEGORIES, Calibration, Engine, ReIdError, calibration_figure, rules
from GUI.workers import Worker, WorkerPool


class CalibratePage(QWidget):
    """Emits `thresholdApplied(category, value)` after a threshold was saved as the model's default."""

    def work_in_progress(self) -> list[str]:
        """What closing the window would stop, in words (asked about first)."""
        busy = self.worker is not None and not self.worker.isFinished()
        return ["a calibration (nothing of it is kept)"] if busy else []

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stops a running calibration and waits for it before the window closes (it keeps nothing partial)."""
        self.workers.shutdown(timeout_ms)

    thresholdApplied = Signal(str, float)

    def __init__(self, engine: Engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.calibration: Calibration | None = None
        self.worker: Worker | None = None
        self.workers = WorkerPool(on_idle=self._update_state)
        self._build()
        self._update_state()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        src = QGroupBox("Pairs of photos to learn from")
        self.use_gallery = QRadioButton("My gallery (identities with several photos)")
        self.use_folder = QRadioButton("An evaluation folder")
        self.use_videos = QRadioButton("Tracks of my own videos (no labels needed)")
        self.use_videos.setToolTip("A confident track seen at two moments is one object; objects in the same frame are "
                                   "different ones: the pairs come from your footage itself")
        self.use_gallery.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.use_gallery)
        group.addButton(self.use_folder)
        group.addButton(self.use_videos)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Market-1501-named crops (0001_c1s1_..._00.jpg) or MOT sequences (img1/ + gt/gt.txt)")
        self.browse_btn = QPushButton("Browse\u2026")
        self.browse_btn.clicked.connect(self.choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.browse_btn)
        self.videos_edit = QLineEdit()
        self.videos_edit.setPlaceholderText("one or more videos; separate several with ;")
        self.videos_btn = QPushButton("Browse\u2026")
        self.videos_btn.clicked.connect(self.choose_videos)
        vrow = QHBoxLayout()
        vrow.addWidget(self.videos_edit, 1)
        vrow.addWidget(self.videos_btn)
        sl = QVBoxLayout(src)
        sl.addWidget(self.use_gallery)
        sl.addWidget(self.use_folder)
        sl.addLayout(row)
        sl.addWidget(self.use_videos)
        sl.addLayout(vrow)
        for w in (self.use_gallery, self.use_folder, self.use_videos):
            w.toggled.connect(self._source_changed)
        self.folder_edit.textChanged.connect(self._source_changed)
        self.videos_edit.textChanged.connect(self._source_changed)

        form = QFormLayout()
        self.category = QComboBox()
        for c in CATEGORIES:
            self.category.addItem(c.capitalize(), c)
        self.category.currentIndexChanged.connect(self._category_changed)
        form.addRow("Category", self.category)
        self.target = QDoubleSpinBox()
        self.target.setDecimals(2)
        self.target.setRange(0.01, 20.0)
        self.target.setSingleStep(0.1)
        self.target.setValue(1.0)
        self.target.setSuffix(" %")
        self.target.setToolTip("Share of pairs of DIFFERENT people you accept to see matched (false matches)")
        self.target.valueChanged.connect(self._target_changed)
        form.addRow("Target false-match rate", self.target)

        self.compute_btn = QPushButton("Compute")
        self.compute_btn.clicked.connect(self.compute)
        self.apply_btn = QPushButton("Apply")
        self.apply_btn.setToolTip("Save the suggested threshold as the default of this category's ReID model")
        self.apply_btn.clicked.connect(self.apply)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop the calibration (nothing is changed)")
        self.stop_btn.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compute_btn)
        buttons.addWidget(self.stop_btn)
        buttons.addWidget(self.apply_btn)
        buttons.addStretch(1)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)

        self.figure = Figure(figsize=(8, 7), dpi=90)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas.setMinimumHeight(360)

        left = QVBoxLayout()
        left.addWidget(src)
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.status)
        left.addWidget(self.result)
        left.addStretch(1)
        lw = QWidget()
        lw.setLayout(left)
        lw.setMaximumWidth(420)
        lay = QHBoxLayout(self)
        lay.addWidget(lw)
        lay.addWidget(self.canvas, 1)
        self._show_current()

    # -- state ------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.workers.busy

    def _cat(self) -> str:
        return self.category.currentData()

    def _update_state(self) -> None:
        folder_mode, video_mode = self.use_folder.isChecked(), self.use_videos.isChecked()
        self.folder_edit.setEnabled(folder_mode and not self.busy)
        self.browse_btn.setEnabled(folder_mode and not self.busy)
        self.videos_edit.setEnabled(video_mode and not self.busy)
        self.videos_btn.setEnabled(video_mode and not self.busy)
        ready = ((not folder_mode or bool(self.folder_edit.text().strip()))
                 and (not video_mode or bool(self._videos())))
        self.compute_btn.setEnabled(ready and not self.busy)
        self.stop_btn.setVisible(self.busy)
        self.stop_btn.setEnabled(self.worker is not None and not self.worker.cancel_requested)
        suggested = self.calibration is not None and self.calibration.recommended_threshold is not None
        self.apply_btn.setEnabled(not self.busy and suggested)
        refusal = self.calibration.refusal if self.calibration is not None else None
        self.apply_btn.setToolTip(refusal or "Save the suggested threshold as the default of this category's ReID model")
        for w in (self.use_gallery, self.use_folder, self.use_videos, self.category):
            w.setEnabled(not self.busy)

    def _show_current(self) -> None:
        try:
            cur = self.engine.threshold(self._cat())
            self.status.setText(f"Current {self._cat()} threshold: {cur:.3f} (distance = 1 - cosine; a match is below it).")
        except ReIdError as e:
            self.status.setText(str(e))

    def _clear_result(self) -> None:
        """Forgets the shown calibration: Apply must never save a threshold learnt from another source."""
        self.calibration = None
        self.figure.clear()
        self.canvas.draw_idle()
        self.result.clear()

    def _category_changed(self) -> None:
        self._clear_result()
        self._show_current()
        self._update_state()

    def _source_changed(self) -> None:
        if not self.busy:
            self._clear_result()
        self._update_state()

    def _videos(self) -> list[str]:
        return [v.strip() for v in self.videos_edit.text().split(";") if v.strip()]

    def choose_videos(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Videos", str(Path.home()), rules.file_filter(("video",)))
        if files:
            self.videos_edit.setText("; ".join(files))

    def choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Evaluation folder", self.folder_edit.text() or str(Path.home()))
        if d:
            self.folder_edit.setText(d)

    # -- work -------------------------------------------------------------------------------------
    def compute(self) -> None:
        if self.busy:
            return
        folder = self.folder_edit.text().strip() if self.use_folder.isChecked() else None
        fmr = self.target.value() / 100.0
        if self.use_videos.isChecked():  # long: the detector reads every frame, so it can be stopped
            worker = Worker(self.engine.calibrate_tracklets, self._videos(), self._cat(), fmr).with_messages("progress")
            worker.with_cancel()
        elif folder:
            worker = Worker(self.engine.calibrate_folder, folder, self._cat(), fmr).with_messages("progress")
            worker.with_cancel()
        else:  # the gallery's stored features: quick
            worker = Worker(self.engine.calibrate_gallery, self._cat(), fmr)
        self._clear_result()
        self.status.setText("Computing distances\u2026")
        self.worker = worker
        self.workers.start(worker, self._done, self._failed, on_message=self.status.setText)
        self._update_state()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.status.setText("Stopping\u2026")
            self._update_state()

    def _failed(self, message: str) -> None:
        stopped = self.worker is not None and self.worker.cancel_requested
        self.worker = None
        self._show_current()
        if stopped:
            self.status.setText(self.status.text() + " Stopped: nothing was computed.")
        else:
            QMessageBox.warning(self, "Calibration", message)

    def _done(self, cal: Calibration) -> None:
        self.worker = None
        self.calibration = cal
        self._show_current()
        self._render()

    def _target_changed(self) -> None:
        if self.calibration is not None and not self.busy:
            try:
                self.calibration = self.calibration.with_target(self.target.value() / 100.0)
            except (ReIdError, ValueError) as e:
                self.status.setText(str(e))
                return
            self._render()

    def _render(self) -> None:
        cal = self.calibration
        calibration_figure(cal, fig=self.figure)
        self.canvas.draw_idle()
        lines = [_html(f"{cal.images} photos, {cal.identities} identities: {cal.genuine_pairs} same-person pairs, "
                       f"{cal.impostor_pairs} different-person pairs.")]
        s = cal.suggested
        if s:
            fnmr = "not measurable" if s.fnmr is None else f"{100 * s.fnmr:.1f}%"
            lines.append(f"<b>Suggested threshold: {s.threshold:.3f}</b> for at most {100 * cal.target_fmr:.2f}% false "
                         f"matches (measured {100 * s.fmr:.2f}%); missed matches: {fnmr}.")
        o = cal.open_set
        if o is not None:
            n = cal.gallery_identities
            who = "1 registered identity" if n == 1 else f"{n} registered identities"
            if o.resolved:
                fnmr = "not measurable" if o.fnmr is None else f"{100 * o.fnmr:.1f}%"
                lines.append(f"<b>Among strangers: {o.threshold:.3f}</b> keeps at most {100 * cal.target_fmr:.2f}% of "
                             f"strangers from being matched to your {who} (a stranger is compared with each, "
                             f"through several views); missed matches: {fnmr}.")
            else:
                lines.append(f"Among strangers ({who}): these {o.impostor_pairs} pairs are too few to measure the "
                             f"per-pair rate it needs ({o.target_fmr:.2g}); prefer a lower threshold than suggested.")
        if cal.refusal:
            lines.append(f"<b>No threshold suggested.</b> {_html(cal.refusal)}")
        if cal.recommended_threshold is not None:
            lines.append(f"Apply saves <b>{cal.recommended_threshold:.3f}</b>.")
        at = cal.at_current
        if at is not None:
            fmr = "n/a" if at.fmr is None else f"{100 * at.fmr:.2f}%"
            fnmr = "n/a" if at.fnmr is None else f"{100 * at.fnmr:.1f}%"
            lines.append(f"Current {cal.current_threshold:.3f}: false matches {fmr}, missed matches {fnmr}.")
        lines += [f"<i>{_html(n)}</i>" for n in cal.notes]
        self.result.setText("<br>".join(lines))
        self._update_state()

    def apply(self) -> None:
        cal = self.calibration
        if cal is None or cal.recommended_threshold is None:
            return
        value, cat = cal.recommended_threshold, self._cat()
        ans = QMessageBox.question(
            self, "Apply threshold",
            f"Save {value:.3f} as the {cat} match threshold of model '{cal.model}'?\n\n"
            f"It is stored per model, in {self.engine.local_models_path}, and used from now on whenever "
            f"'{cal.model}' serves {cat}s (another model keeps its own threshold).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        if ans != QMessageBox.StandardButton.Yes:
            return
        try:
            dest = self.engine.apply_threshold(value, cat)
        except ReIdError as e:
            QMessageBox.warning(self, "Apply threshold", str(e))
            return
        self._show_current()
        override = self.engine.settings.threshold_for(cat)
        if override is not None:
            self.status.setText(self.status.text() + f" Saved to {dest}; note: a {cat} threshold set in the processing "
                                                     f"settings ({override:.3f}) still overrides it.")
        else:
            self.status.setText(self.status.text() + f" Saved to {dest}.")
        self.thresholdApplied.emit(cat, float(value))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
