"""Settings dialog of the Process page: device, sampleFt, match threshold, tracking, categories, models."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import CATEGORIES, Engine, ReidModelChoice, Settings, device_options, rules
from GUI import app_settings
from GUI.UiDialogModel import AddModelDialog
from GUI.widgets import apply_range, hint_label, pack, show_error
from GUI.workers import Worker, WorkerPool

# The engine's rules, not copies (tests/gui/test_gui_rules.py checks these are the very objects of Algorithm.rules).
DEVICES = rules.DEVICES
DEVICE_TITLES = rules.DEVICE_TITLES
SAMPLE_FT_RANGE = rules.SAMPLE_FT_RANGE
SPEEDS = rules.SPEEDS
THRESHOLD_RANGE = rules.THRESHOLD_RANGE


class SettingsDialog(QDialog):
    def __init__(self, engine: Engine, running: bool = False, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.setWindowTitle("Processing settings")
        s = engine.settings
        lay = QVBoxLayout(self)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        lay.addLayout(form)

        self.device = QComboBox()
        self.device_note = hint_label()
        notes = []
        opts = {o.name: o for o in device_options()}
        model: QStandardItemModel = self.device.model()
        for i, name in enumerate(DEVICES):
            text = DEVICE_TITLES.get(name, name)
            self.device.addItem(text, name)
            opt = opts.get(name)
            if opt is not None and not opt.available:
                item = model.item(i)
                item.setEnabled(False)
                item.setToolTip(opt.reason)
                self.device.setItemText(i, f"{text} - unavailable")
                notes.append(f"GPU unavailable: {opt.reason}.")
        self.device.setCurrentIndex(max(0, self.device.findData(s.device)))
        self.device_note.setText(" ".join(notes) or f"Now running on: {engine.device.upper()}")
        form.addRow("Device", pack(self.device, self.device_note, vertical=True))

        self.sample_ft = QSpinBox()
        apply_range(self.sample_ft, SAMPLE_FT_RANGE)
        self.sample_ft.setValue(int(s.sample_ft))
        self.sample_ft.setPrefix("N = ")
        self.sample_ft.setToolTip("sampleFt: process every Nth frame of a video (1 = every frame)")
        self.sample_note = hint_label()
        form.addRow("Process every\nNth frame", pack(self.sample_ft, self.sample_note, vertical=True))

        self.tracking = QCheckBox("Follow each person/vehicle across frames (tracking)")
        self.tracking.setChecked(bool(s.tracking))
        form.addRow("Tracking", self.tracking)

        self.speed = QComboBox()
        for m in SPEEDS.values():
            self.speed.addItem(m.title, m.name)
            self.speed.setItemData(self.speed.count() - 1, m.trades, Qt.ItemDataRole.ToolTipRole)
        self.speed.setCurrentIndex(max(0, self.speed.findData(s.speed)))
        self.speed_note = hint_label()
        self.speed.currentIndexChanged.connect(self._refresh)
        form.addRow("Speed", pack(self.speed, self.speed_note, vertical=True))

        self.hw_decode = QCheckBox("Hardware video decoding (when the system offers it)")
        self.hw_decode.setChecked(bool(s.hw_decode))
        hw_hint = hint_label("Decodes videos on the graphics card where OpenCV supports it, else as before (software); "
                             "the results record which was used. Off by default: its gain is not measured.")
        form.addRow("Decoding", pack(self.hw_decode, hw_hint, vertical=True))

        # one threshold per category (a person model's distances say nothing about a vehicle model's); a single
        # override from an older version (or the CLI's --threshold) shows in each category and is saved per category
        defaults = {c: engine.default_threshold(c) for c in CATEGORIES}
        self.thresholds: dict[str, QDoubleSpinBox] = {}
        self.use_defaults: dict[str, QCheckBox] = {}
        rows = []
        for c in CATEGORIES:
            spin = QDoubleSpinBox()
            apply_range(spin, THRESHOLD_RANGE)
            own = s.threshold_for(c)
            spin.setValue(float(own) if own is not None else defaults[c])
            use = QCheckBox(f"Model's default ({defaults[c]:.3g})")  # 0.094, not 0.09
            use.setChecked(own is None)
            use.toggled.connect(self._refresh)
            self.thresholds[c], self.use_defaults[c] = spin, use
            row = QWidget()
            rl = QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            rl.addWidget(QLabel(c.capitalize() + "s"))
            rl.addWidget(spin)
            rl.addWidget(use, 1)
            rows.append(row)
        self.threshold, self.use_default = self.thresholds["person"], self.use_defaults["person"]
        threshold_hint = hint_label(
            "A distance (1 - cosine similarity): a box matches an identity when its distance is at most this. "
            "Lower is stricter. Each category has its own, as its model does.")
        form.addRow("Match threshold", pack(*rows, threshold_hint, vertical=True))

        self.cats = {}
        crow = QWidget()
        cl = QHBoxLayout(crow)
        cl.setContentsMargins(0, 0, 0, 0)
        for c in CATEGORIES:
            cb = QCheckBox(c.capitalize() + "s")
            cb.setChecked(c in s.categories)
            cb.toggled.connect(self._refresh)
            self.cats[c] = cb
            cl.addWidget(cb)
        self.cats_note = QLabel("Choose at least one to save the settings")  # why OK is greyed out
        self.cats_note.setStyleSheet("color: #d9822b;")
        cl.addWidget(self.cats_note)
        cl.addStretch(1)
        form.addRow("Look for", crow)

        self.workers = WorkerPool()
        self.model_choice: dict[str, QComboBox] = {}
        self.model_notes: dict[str, QLabel] = {}
        lay.addWidget(self._models_box())
        self.running_note = hint_label("Processing is running: changes apply to the next run." if running else "")
        self.running_note.setVisible(running)
        lay.addWidget(self.running_note)

        self.switch_progress = QProgressBar()
        self.switch_progress.setVisible(False)
        lay.addWidget(self.switch_progress)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

        self.sample_ft.valueChanged.connect(self._refresh)
        self.tracking.toggled.connect(self._refresh)
        # the dialog grows with its wrapped help texts (e.g. the sampleFt warning) instead of cutting them
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self._refresh()
        self.setMinimumWidth(560)

    def _models_box(self) -> QGroupBox:
        box = QGroupBox("Models")
        form = QFormLayout(box)
        form.addRow("Detector", QLabel(self.engine.model_summary().detector_title))
        for c in CATEGORIES:
            combo = QComboBox()
            combo.currentIndexChanged.connect(lambda _=0, c=c: self._model_note(c))
            note = QLabel()
            note.setWordWrap(True)
            note.setTextFormat(Qt.TextFormat.RichText)
            self.model_choice[c], self.model_notes[c] = combo, note
            form.addRow(c.capitalize() + "s", pack(combo, note, vertical=True))
        add = QPushButton("Add a model\u2026")
        add.setToolTip("Add your own ONNX ReID model (e.g. a vehicle model) with its preprocessing")
        add.clicked.connect(self.add_model)
        form.addRow("", add)
        self._fill_models()
        return box

    def _fill_models(self) -> None:
        for c, combo in self.model_choice.items():
            combo.blockSignals(True)
            combo.clear()
            for m in self.engine.reid_models(c):
                combo.addItem(m.title if m.installed else f"{m.title} (not installed)", m)
                if m.active:
                    combo.setCurrentIndex(combo.count() - 1)
            combo.blockSignals(False)
            self._model_note(c)

    def _model_note(self, category: str) -> None:
        m: ReidModelChoice | None = self.model_choice[category].currentData()
        if not m:
            self.model_notes[category].setText("No model serves this category.")
            return
        if m.stand_in:
            why = f" ({m.trained_on})" if m.trained_on else ""
            text = f"Stand-in: not trained for {category}s{why}; {category} matches are much less reliable."
        else:
            text = f"Trained on {m.trained_on}." if m.trained_on else ""
        if m.quality:
            text += f" Measured: {m.quality}."
        text += f" Default threshold {m.threshold:.3g}."
        if not m.installed:
            text += (" <b>Not installed on this machine: run the install again (or <code>python -m Algorithm models "
                     "fetch</code>), which says why it could not be made.</b>")
        elif not m.active:
            text += " <b>Switching re-embeds this category's gallery photos with it.</b>"
        elif m.missing:
            text += f" <b>{m.missing} gallery photo(s) are not embedded by it yet: OK embeds them.</b>"
        self.model_notes[category].setText(text.strip())
        QTimer.singleShot(0, self._fit)  # a longer note must not be cut (it ends with what switching does)

    def add_model(self) -> None:
        dlg = AddModelDialog(self.engine, self)
        if dlg.exec() and dlg.added:
            self._fill_models()
            for combo in self.model_choice.values():
                i = next((i for i in range(combo.count()) if combo.itemData(i).name == dlg.added), -1)
                if i >= 0:
                    combo.setCurrentIndex(i)

    def model_changes(self) -> dict[str, str]:
        """category -> model name, where the choice differs from the active model or has photos to embed."""
        out = {}
        for c, combo in self.model_choice.items():
            m = combo.currentData()
            if m and (not m.active or m.missing):
                out[c] = m.name
        return out

    def _refresh(self) -> None:
        for c, spin in self.thresholds.items():
            spin.setEnabled(not self.use_defaults[c].isChecked())
        n = self.sample_ft.value()
        now = "every frame is processed" if n == 1 else f"one frame in {n} is processed"
        if self.tracking.isChecked() and n > 1:
            self.sample_note.setText(f"Now {now}. Warning: tracking needs every frame (N = 1) to follow people "
                                     "reliably. With larger values people move further between processed frames "
                                     "and tracks can break.")
            self.sample_note.setStyleSheet("color: #d9822b;")
        else:
            self.sample_note.setText(f"Now {now}. N = 1 is best; larger values are faster but can miss short "
                                     "sightings.")
            self.sample_note.setStyleSheet("")
        mode = SPEEDS[self.speed.currentData()]
        caution = self.engine.speed_caution(mode.name, [c for c, cb in self.cats.items() if cb.isChecked()])
        self.speed_note.setText(mode.trades[0].upper() + mode.trades[1:] + "."
                                + ("" if self.tracking.isChecked() or mode.name == "exact"
                                   else " Without tracking every processed frame is detected (as Exact).")
                                + (f" <b>{caution}</b>" if caution else ""))
        QTimer.singleShot(0, self._fit)
        ok = any(cb.isChecked() for cb in self.cats.values())
        self.cats_note.setVisible(not ok)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setToolTip("" if ok else "Choose at least one category")

    def _fit(self) -> None:
        """Grows the dialog when a help text got longer, so no line is cut (never shrinks what the user sized)."""
        # The form does not pass height-for-width on to a model note packed under its combo box: the note is held to
        # the height its text needs at its width, and the dialog grows by what the notes lacked (not squeezing the rest).
        lack = 0
        for note in self.model_notes.values():
            want = note.heightForWidth(note.width()) if note.width() > 0 else 0
            lack += max(0, want - note.height())
            note.setMinimumHeight(want)
        lay = self.layout()
        lay.activate()
        need = lay.totalHeightForWidth(self.width()) if lay.hasHeightForWidth() else lay.totalSizeHint().height()
        need = max(need, self.height() + lack)
        if need > self.height():
            self.resize(self.width(), need)

    def values(self) -> dict:
        return {
            "device": self.device.currentData(),
            "sample_ft": self.sample_ft.value(),
            "threshold": None,  # the single override is the CLI's; the dialog sets one per category
            "thresholds": {c: round(spin.value(), 3) for c, spin in self.thresholds.items()
                           if not self.use_defaults[c].isChecked()},
            "tracking": self.tracking.isChecked(),
            "speed": self.speed.currentData(),
            "hw_decode": self.hw_decode.isChecked(),
            "categories": tuple(c for c, cb in self.cats.items() if cb.isChecked()),
        }

    def apply(self) -> Settings:
        """Stores the dialog's values in the engine and in QSettings."""
        s = self.engine.update_settings(**self.values())
        app_settings.save(s)
        return s

    def accept(self) -> None:
        try:
            self.apply()
        except ValueError as e:
            show_error(self, "Settings", str(e))
            return
        changes = self.model_changes()
        if not changes:
            super().accept()
            return
        # Switching models re-embeds stored photos: in a worker, with progress, the dialog waiting on it.
        self.buttons.setEnabled(False)
        self.switch_progress.setVisible(True)
        self.switch_progress.setFormat("Re-embedding gallery photos %v / %m")

        def switch(progress):
            return sum(self.engine.set_active_model(c, name, progress=progress) for c, name in changes.items())

        def ok(_n) -> None:
            self.switch_progress.setVisible(False)
            super(SettingsDialog, self).accept()

        def failed(msg: str) -> None:
            self.switch_progress.setVisible(False)
            self.buttons.setEnabled(True)
            self._fill_models()
            show_error(self, "Models", msg)

        self.workers.start(Worker(switch).with_progress(), ok, failed,
                           on_progress=lambda k, t: (self.switch_progress.setMaximum(t), self.switch_progress.setValue(k)))

    def reject(self) -> None:
        if not self.workers.busy:  # never leave a re-embedding half-watched
            super().reject()
