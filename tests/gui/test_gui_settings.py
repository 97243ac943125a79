"""Settings dialog: devices greyed with their reason, sampleFt warning, threshold, persistence."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QDialogButtonBox

import Algorithm.models.registry as config
from Algorithm.outer_api import Engine, device_options
from GUI import app_settings
from GUI.UiDialogSettings import SettingsDialog

from testdata import ASSETS, MOT


def test_settings_dialog_applies_and_persists(qtbot, gui_engine, tmp_path, dialogs):
    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)

    # devices: unavailable ones are greyed, with the reason shown
    items = {dlg.device.itemData(i): dlg.device.model().item(i) for i in range(dlg.device.count())}
    for opt in device_options():
        assert items[opt.name].isEnabled() == opt.available
        if not opt.available:
            assert opt.reason in items[opt.name].toolTip() and opt.reason in dlg.device_note.text()

    # models: which serves what; the vehicle model said plainly to be a generic descriptor, with its measurements
    text = " ".join(w.text() for w in dlg.findChildren(type(dlg.device_note)))
    assert "Stand-in: not trained for vehicles" in text and "not a vehicle ReID model" in text
    assert "Measured:" in text and "traffic video" in text
    assert dlg.model_choice["person"].currentData().name == gui_engine.reid_model_name("person")
    assert dlg.model_choice["vehicle"].currentData().name == gui_engine.reid_model_name("vehicle") == "mobilenetv2_imagenet"

    # sampleFt > 1 with tracking: a warning
    dlg.tracking.setChecked(True)
    dlg.sample_ft.setValue(1)
    assert "Warning" not in dlg.sample_note.text()
    dlg.sample_ft.setValue(3)
    assert "Warning" in dlg.sample_note.text()

    # threshold: the model default, or a chosen distance, per category
    assert dlg.use_default.isChecked() and not dlg.threshold.isEnabled()
    dlg.use_default.setChecked(False)
    dlg.threshold.setValue(0.3)
    assert dlg.use_defaults["vehicle"].isChecked()  # the person override leaves the vehicle default alone

    # at least one category
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    for cb in dlg.cats.values():
        cb.setChecked(False)
    assert not ok.isEnabled() and not dlg.cats_note.isHidden()  # and it says why
    dlg.cats["vehicle"].setChecked(True)
    assert ok.isEnabled() and dlg.cats_note.isHidden()

    dlg.accept()
    s = gui_engine.settings
    assert (s.sample_ft, s.thresholds, s.tracking, s.categories) == (3, (("person", 0.3),), True, ("vehicle",))
    assert gui_engine.threshold("person") == 0.3
    assert gui_engine.threshold("vehicle") == gui_engine.default_threshold("vehicle")

    # persisted: a fresh engine gets the same settings from QSettings
    other = Engine(tmp_path / "other.db")
    try:
        s2 = app_settings.load(other)
        assert (s2.sample_ft, s2.thresholds, s2.tracking, s2.categories, s2.device) == \
            (3, (("person", 0.3),), True, ("vehicle",), "cpu")
    finally:
        other.close()
        app_settings.qsettings().clear()
    assert not dialogs.shown


def test_add_a_model_and_switch_a_category_to_it(qtbot, gui_engine, tmp_path, dialogs, monkeypatch):
    from GUI.UiDialogModel import AddModelDialog

    monkeypatch.setattr(config, "LOCAL_MANIFEST_PATH", tmp_path / "local_models.json")
    gui_engine.register(MOT / "MOT17-11-FRCNN" / "img1" / "000001.jpg", "P1", box=(867, 145, 1103, 780))

    add = AddModelDialog(gui_engine)
    qtbot.addWidget(add)
    assert not add.add_btn.isEnabled() and "file" in add.status.text()  # nothing chosen yet
    add.file.setText(str(tmp_path / "missing.onnx"))
    add.name.setText("my_osnet")
    add.submit()  # a file that is not there: refused with a message, nothing added
    qtbot.waitUntil(lambda: bool(dialogs.of("critical")), timeout=30000)
    assert "not found" in dialogs.texts("critical")
    add.file.setText(str(ASSETS / "models" / "reid_person" / "osnet_x0_25_msmt17.onnx"))
    add.preset.setCurrentIndex(0)  # ImageNet
    add.cats["vehicle"].setChecked(True)
    qtbot.waitUntil(add.add_btn.isEnabled, timeout=5000)
    with qtbot.waitSignal(add.finished, timeout=60000):
        add.submit()
    assert add.added == "my_osnet" and "my_osnet" in [m.name for m in gui_engine.reid_models("vehicle")]

    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    combo = dlg.model_choice["person"]
    combo.setCurrentIndex(combo.findText("my_osnet"))
    assert combo.currentData().name == "my_osnet" and not combo.currentData().active
    assert "re-embeds" in dlg.model_notes["person"].text()
    assert dlg.model_changes() == {"person": "my_osnet"}
    with qtbot.waitSignal(dlg.finished, timeout=60000):
        dlg.accept()
    assert gui_engine.reid_model_name("person") == "my_osnet"
    assert gui_engine._gallery.models_in_use()["my_osnet"] == 1  # the stored photo was re-embedded
    _, _, vec = gui_engine._gallery.features("my_osnet", "person")
    assert np.isfinite(vec).all() and vec.shape == (1, 512)

    # A model made active elsewhere (e.g. by `export`) without re-embedding: Settings offers to embed the photos.
    config.update_local_config(active_reid={"person": "osnet_x0_25_msmt17"})
    gui_engine.reload_models()
    gui_engine.register(MOT / "MOT17-11-FRCNN" / "img1" / "000001.jpg", "P3", box=(397, 270, 514, 597))
    config.update_local_config(active_reid={"person": "my_osnet"})
    gui_engine.reload_models()
    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    assert "1 gallery photo(s) are not embedded" in dlg.model_notes["person"].text()
    assert dlg.model_changes() == {"person": "my_osnet"}
    with qtbot.waitSignal(dlg.finished, timeout=60000):
        dlg.accept()
    assert gui_engine._gallery.models_in_use()["my_osnet"] == 2
    app_settings.qsettings().clear()


def test_hardware_decoding_checkbox_applies_and_persists(qtbot, gui_engine, tmp_path, dialogs):
    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    assert "Hardware video decoding" in dlg.hw_decode.text() and not dlg.hw_decode.isChecked()  # off by default
    dlg.hw_decode.setChecked(True)
    assert dlg.values()["hw_decode"] is True
    dlg.accept()
    assert gui_engine.settings.hw_decode is True
    other = Engine(tmp_path / "other.db")
    try:
        assert other.settings.hw_decode is False
        assert app_settings.load(other).hw_decode is True  # a fresh engine gets it from QSettings
        again = SettingsDialog(other)
        qtbot.addWidget(again)
        assert again.hw_decode.isChecked()
        again.hw_decode.setChecked(False)
        again.accept()
        third = Engine(tmp_path / "third.db")
        assert app_settings.load(third).hw_decode is False
        third.close()
    finally:
        other.close()
        app_settings.qsettings().clear()
    assert not dialogs.shown


def test_a_model_not_installed_on_this_machine_is_said_so(qtbot, gui_engine, monkeypatch, tmp_path):
    """The INT8 person model is built at install and may be missing (no quantiser): Settings still lists it, marked,
    with what to do; the installed ones are not marked."""
    int8 = "person_reidentification_retail_0277_int8"
    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    combo = dlg.model_choice["person"]
    assert not any(combo.itemText(i).endswith("(not installed)") for i in range(combo.count()))
    monkeypatch.setattr(config, "weight_dirs", lambda: [tmp_path])  # as if nothing had been installed
    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    combo = dlg.model_choice["person"]
    i = next(i for i in range(combo.count()) if combo.itemData(i).name == int8)
    assert combo.itemText(i).endswith("(not installed)") and not combo.itemData(i).installed
    combo.setCurrentIndex(i)
    assert "Not installed on this machine" in dlg.model_notes["person"].text()


def test_the_speed_note_cautions_about_skipping_frames_for_vehicles(qtbot, gui_engine):
    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    dlg.speed.setCurrentIndex(dlg.speed.findData("balanced"))
    dlg.cats["vehicle"].setChecked(False)
    assert "choose Exact" not in dlg.speed_note.text()
    dlg.cats["vehicle"].setChecked(True)
    assert "Vehicles: choose Exact" in dlg.speed_note.text()
    dlg.speed.setCurrentIndex(dlg.speed.findData("exact"))
    assert "choose Exact" not in dlg.speed_note.text()



def test_no_help_text_is_cut_when_a_longer_model_note_is_chosen(qtbot, gui_engine):
    """The INT8 model's note is the longest (its measured figures) and ends with what switching does: choosing it
    must grow the dialog, not cut that note nor squeeze the other help texts."""
    from PySide6.QtWidgets import QLabel

    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.wait(300)
    combo = dlg.model_choice["person"]
    combo.setCurrentIndex(next(i for i in range(combo.count())
                               if combo.itemData(i).name == "person_reidentification_retail_0277_int8"))
    qtbot.wait(300)
    assert "Switching re-embeds" in dlg.model_notes["person"].text()
    cut = [lab.text()[:40] for lab in dlg.findChildren(QLabel)
           if lab.isVisible() and lab.wordWrap() and lab.text() and lab.height() < lab.heightForWidth(lab.width())]
    assert not cut, cut
