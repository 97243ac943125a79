"""Settings dialog: devices greyed with their reason, sampleFt warning, threshold, persistence."""
from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from Algorithm.outer_api import Engine, device_options
from GUI import app_settings
from GUI.UiDialogSettings import SettingsDialog


def test_settings_dialog_applies_and_persists(qtbot, gui_engine, tmp_path, dialogs):
    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)

    # devices: unavailable ones are greyed, with the reason shown
    items = {dlg.device.itemData(i): dlg.device.model().item(i) for i in range(dlg.device.count())}
    for opt in device_options():
        assert items[opt.name].isEnabled() == opt.available
        if not opt.available:
            assert opt.reason in items[opt.name].toolTip() and opt.reason in dlg.device_note.text()

    # models: which serves what, the vehicle stand-in said plainly
    text = " ".join(w.text() for w in dlg.findChildren(type(dlg.device_note)))
    assert "OSNet" in text and "Stand-in" in text and "person" in text

    # sampleFt > 1 with tracking: a warning
    dlg.tracking.setChecked(True)
    dlg.sample_ft.setValue(1)
    assert "Warning" not in dlg.sample_note.text()
    dlg.sample_ft.setValue(3)
    assert "Warning" in dlg.sample_note.text()

    # threshold: the model default, or a chosen distance
    assert dlg.use_default.isChecked() and not dlg.threshold.isEnabled()
    dlg.use_default.setChecked(False)
    dlg.threshold.setValue(0.3)

    # at least one category
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    for cb in dlg.cats.values():
        cb.setChecked(False)
    assert not ok.isEnabled()
    dlg.cats["vehicle"].setChecked(True)
    assert ok.isEnabled()

    dlg.accept()
    s = gui_engine.settings
    assert (s.sample_ft, s.threshold, s.tracking, s.categories) == (3, 0.3, True, ("vehicle",))

    # persisted: a fresh engine gets the same settings from QSettings
    other = Engine(tmp_path / "other.db")
    try:
        s2 = app_settings.load(other)
        assert (s2.sample_ft, s2.threshold, s2.tracking, s2.categories, s2.device) == (3, 0.3, True, ("vehicle",), "cpu")
    finally:
        other.close()
        app_settings.qsettings().clear()
    assert not dialogs.shown
