"""Add your own ONNX ReID model: its file and preprocessing (data, not code), validated before it is added."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from Algorithm.outer_api import CATEGORIES, Engine, ModelAdded, rules
from GUI.widgets import apply_range, hint_label, pack, show_error
from GUI.workers import Worker, WorkerPool

# The engine's rules, not copies (tests/gui/test_gui_rules.py checks these are the very objects of Algorithm.rules).
PRESETS = rules.NORMALIZATION_PRESETS  # normalisation of the common ReID families, by the name shown
CHANNEL_ORDERS = rules.CHANNEL_ORDERS
THRESHOLD_RANGE = rules.THRESHOLD_RANGE
SAMPLE_FILTER = rules.file_filter(("image",))


def _triple(text: str) -> list[float] | None:
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        return None
    return vals if len(vals) == 3 else None


class AddModelDialog(QDialog):
    """On success `added` holds the new model's name; the engine's registry already knows it."""

    def __init__(self, engine: Engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.added: str | None = None
        self.workers = WorkerPool()
        self.setWindowTitle("Add a ReID model")
        lay = QVBoxLayout(self)
        lay.addWidget(hint_label(
            "Any ONNX ReID model with one image input (N, 3, H, W) and an (N, D) feature output. "
            "Give the preprocessing it was trained with; the model is checked on a sample crop before it is added."))
        form = QFormLayout()
        lay.addLayout(form)

        self.file = QLineEdit()
        self.file.setPlaceholderText("model.onnx")
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self.choose_file)
        form.addRow("File", pack(self.file, browse))
        self.name = QLineEdit()
        self.name.setPlaceholderText("a short name, e.g. clip_reid_veri")
        form.addRow("Name", self.name)

        self.height, self.width = QSpinBox(), QSpinBox()
        for sb, v in ((self.height, 256), (self.width, 128)):
            sb.setRange(16, 1024)
            sb.setSingleStep(16)
            sb.setValue(v)
        form.addRow("Input height \u00d7 width", pack(self.height, self.width, hint_label(
            "256\u00d7128 for people, 256\u00d7256 for vehicles (usually)", wrap=False)))
        self.order = QComboBox()
        self.order.addItems(list(CHANNEL_ORDERS))
        form.addRow("Channel order", self.order)
        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, "Custom"])
        self.preset.currentTextChanged.connect(self._preset_changed)
        form.addRow("Normalisation", self.preset)
        self.mean, self.std = QLineEdit(), QLineEdit()
        form.addRow("Mean / std", pack(self.mean, self.std))
        self.in_graph = QCheckBox("The model normalises its input itself (feed 0-255 pixels unchanged)")
        self.in_graph.toggled.connect(self._update)
        form.addRow("", self.in_graph)

        self.threshold = QDoubleSpinBox()
        apply_range(self.threshold, THRESHOLD_RANGE)
        self.threshold.setValue(0.2)
        form.addRow("Match threshold", pack(self.threshold, hint_label(
            "distance (1 - cosine); calibrate it later on the Calibrate page", wrap=False)))
        self.cats = {c: QCheckBox(c.capitalize() + "s") for c in CATEGORIES}
        self.cats["person"].setChecked(True)
        for cb in self.cats.values():
            cb.toggled.connect(self._update)
        form.addRow("Serves", pack(*self.cats.values()))
        self.sample = QLineEdit()
        self.sample.setPlaceholderText("optional: a crop to test the model on")
        sample_btn = QPushButton("Browse\u2026")
        sample_btn.clicked.connect(self.choose_sample)
        form.addRow("Sample crop", pack(self.sample, sample_btn))

        self.status = hint_label()
        lay.addWidget(self.status)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_btn = self.buttons.addButton("Check and add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        for w in (self.file, self.name, self.mean, self.std):
            w.textChanged.connect(self._update)
        self._preset_changed(self.preset.currentText())
        self.setMinimumWidth(620)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "ReID model", "", "ONNX models (*.onnx)")
        if path:
            self.file.setText(path)

    def choose_sample(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Sample crop", "", SAMPLE_FILTER)
        if path:
            self.sample.setText(path)

    def _preset_changed(self, text: str) -> None:
        if text in PRESETS:
            mean, std = PRESETS[text]
            self.mean.setText(", ".join(map(str, mean)))
            self.std.setText(", ".join(map(str, std)))
        self._update()

    def _update(self) -> None:
        custom = self.preset.currentText() == "Custom"
        for w in (self.mean, self.std):
            w.setReadOnly(not custom)
            w.setEnabled(not self.in_graph.isChecked())
        self.preset.setEnabled(not self.in_graph.isChecked())
        if not self.name.text().strip() and self.file.text().strip():
            self.name.setPlaceholderText(rules.suggest_model_name(Path(self.file.text()).stem))
        self.add_btn.setEnabled(self.problem() is None and not self.workers.busy)
        self.status.setText(self.problem() or "")

    def model_name(self) -> str:
        return self.name.text().strip() or self.name.placeholderText()

    def problem(self) -> str | None:
        """What stops the model from being added, in words; None when the form is complete."""
        if not self.file.text().strip():
            return "Choose the model's .onnx file."
        try:
            rules.check_model_name(self.model_name())
        except ValueError as e:
            return str(e)
        if not self.in_graph.isChecked() and (_triple(self.mean.text()) is None or _triple(self.std.text()) is None):
            return "Mean and std need three numbers each, e.g. 0.5, 0.5, 0.5."
        if not any(cb.isChecked() for cb in self.cats.values()):
            return "Choose what the model serves."
        return None

    def spec(self) -> dict:
        return {
            "title": self.model_name(),
            "file": str(Path(self.file.text().strip()).expanduser().resolve()),
            "input_size": [self.height.value(), self.width.value()],
            "channel_order": self.order.currentText(),
            "mean": _triple(self.mean.text()) or [0.0, 0.0, 0.0],
            "std": _triple(self.std.text()) or [1.0, 1.0, 1.0],
            "normalized_in_graph": self.in_graph.isChecked(),
            "threshold": round(self.threshold.value(), 3),
            "categories": [c for c, cb in self.cats.items() if cb.isChecked()],
        }

    def submit(self) -> None:
        if self.problem() is not None or self.workers.busy:
            return
        name, sample = self.model_name(), self.sample.text().strip() or None
        self.status.setText("Checking the model\u2026")
        self.add_btn.setEnabled(False)

        def ok(info: ModelAdded) -> None:
            self.added = info.name
            self.status.setText(f"Added: {info.dim}-d features on {info.provider}.")
            self.accept()

        def failed(msg: str) -> None:
            self.status.setText("")
            show_error(self, "Add a ReID model", msg)
            self._update()

        self.workers.start(Worker(self.engine.add_model, name, self.spec(), sample), ok, failed)

    def done(self, r: int) -> None:
        self.workers.shutdown()
        super().done(r)
