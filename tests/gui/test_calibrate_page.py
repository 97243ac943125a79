"""The Calibrate page's long runs: a calibration from videos or a folder can be stopped, closing the window stops
it at once, and a result is forgotten as soon as its source changes or a new one fails (Apply must never save a
threshold learnt from something else)."""
from __future__ import annotations

import time

from test_gui_new_user_fixes import toy_calibration

from GUI.UiPageCalibrate import CalibratePage

from testdata import MOT, PED_VIDEO

WAIT = 120_000


def start_video_calibration(qtbot, page) -> None:
    page.use_videos.setChecked(True)
    page.videos_edit.setText(str(PED_VIDEO))
    assert page.compute_btn.isEnabled()
    page.compute()
    assert page.busy and not page.stop_btn.isHidden() and page.stop_btn.isEnabled()
    # it says where it is while the detector reads the video (it used to say nothing for minutes)
    qtbot.waitUntil(lambda: "detecting, frame" in page.status.text(), timeout=WAIT)


def test_a_video_calibration_stops_when_asked(qtbot, gui_engine, dialogs):
    page = CalibratePage(gui_engine)
    qtbot.addWidget(page)
    page.show()
    start_video_calibration(qtbot, page)
    page.stop_btn.click()
    assert not page.stop_btn.isEnabled()
    qtbot.waitUntil(lambda: not page.busy, timeout=10_000)
    assert "Stopped" in page.status.text() and page.calibration is None
    assert not dialogs.shown, dialogs.shown  # stopping is not an error
    assert page.compute_btn.isEnabled() and not page.apply_btn.isEnabled() and page.stop_btn.isHidden()


def test_closing_the_window_stops_a_video_calibration_at_once(qtbot, gui_engine, dialogs):
    page = CalibratePage(gui_engine)
    qtbot.addWidget(page)
    start_video_calibration(qtbot, page)
    t0 = time.monotonic()
    page.shutdown()  # what the main window does on close: it used to wait 30 s, then the app aborted
    assert time.monotonic() - t0 < 5.0
    qtbot.waitUntil(lambda: not page.busy, timeout=5_000)
    assert not dialogs.shown, dialogs.shown


def test_a_result_is_forgotten_when_its_source_changes_or_a_new_one_fails(qtbot, gui_engine, dialogs, tmp_path):
    page = CalibratePage(gui_engine)
    qtbot.addWidget(page)
    page.calibration = toy_calibration([5, 5, 3, 2, 1, 1])
    page._render()
    assert page.apply_btn.isEnabled()
    page.use_folder.setChecked(True)  # another source chosen: the gallery's result no longer applies
    assert page.calibration is None and not page.apply_btn.isEnabled() and page.result.text() == ""

    page.folder_edit.setText(str(MOT))
    page.calibration = toy_calibration([5, 5, 3, 2, 1, 1])  # as if MOT17-mini had been computed
    page._render()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not crops")
    page.folder_edit.setText(str(junk))
    assert page.calibration is None and not page.apply_btn.isEnabled()
    page.compute()
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT)
    assert [kind for kind, *_ in dialogs.shown] == ["warning"]
    assert page.calibration is None and not page.apply_btn.isEnabled()
