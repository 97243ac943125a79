"""Process page on the pedestrian video: play, pause, resume, matches, sightings, exports, reset, bad files."""
from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from Algorithm.outer_api import (
    FileDone,
    FileResult,
    FileStarted,
    Finished,
    FrameDone,
    FrameResult,
    SearchReport,
    Segment,
    Sighting,
    video_info,
)
from GUI.main import MainWindow
from GUI.UiPageProcess import ProcessPage

from testdata import BUS, PED_VIDEO, video_frame

WAIT = 120_000
MAX_FRAMES = 420  # the seeded person walks through frames ~240-440
SAMPLE_FT = 3


@pytest.fixture
def seeded(gui_engine):
    """The gallery holds 'Walker', cut from frame 300 of the pedestrian video."""
    gui_engine.register(video_frame(PED_VIDEO, 300), "Walker")
    gui_engine.update_settings(sample_ft=SAMPLE_FT, tracking=True, categories=("person",))
    return gui_engine


@pytest.fixture
def page(qtbot, seeded):
    p = ProcessPage(seeded)
    qtbot.addWidget(p)
    p.resize(1200, 700)
    p.show()
    p.max_frames = MAX_FRAMES
    yield p
    assert p.shutdown()


def click(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_process_video_pause_resume_sightings_and_exports(qtbot, page, dialogs, tmp_path):
    page.set_source(PED_VIDEO)
    assert page.play_btn.text() == "Play"
    click(qtbot, page.play_btn)
    assert page.running and page.play_btn.text() == "Pause"
    qtbot.waitUntil(lambda: page.frames_done >= 5 and "frames/s" in page.progress_label.text(), timeout=WAIT)
    assert page.view.has_image() and "left" in page.progress_label.text()

    # pause: the worker blocks inside its cancel hook, nothing more is processed
    click(qtbot, page.play_btn)
    assert page.paused and page.play_btn.text() == "Resume"
    qtbot.wait(400)
    frozen = page.frames_done
    qtbot.wait(800)
    assert page.frames_done == frozen and page.running and page.worker.isRunning()
    click(qtbot, page.play_btn)
    assert not page.paused and page.play_btn.text() == "Pause"

    qtbot.waitUntil(lambda: page.report is not None, timeout=WAIT)
    assert not page.running and page.play_btn.text() == "Play"
    assert page.match_count > 0 and page.shown_match_frames > 0
    assert page.frames_done == len(range(0, MAX_FRAMES, SAMPLE_FT))
    assert page.progress.value() == page.progress.maximum() == MAX_FRAMES

    # the sightings panel lists Walker with a segment inside his walk
    tree = page.sightings
    assert tree.topLevelItemCount() == 1 and tree.topLevelItem(0).text(0) == "Walker"
    ref = tree.choose_first()
    assert ref is not None and ref.label == "Walker"
    assert 200 <= ref.start_frame <= ref.best_frame <= ref.end_frame <= MAX_FRAMES
    # processing has ended: the review player shows the best frame, the stored boxes drawn on it
    qtbot.waitUntil(lambda: page.player.position == ref.best_frame, timeout=WAIT)
    assert page.pin_bar.isVisible() and "Walker" in page.pin_label.text() and not page.live_btn.isVisible()
    assert page.view.image_size().width() == 768
    assert not np.array_equal(page.player.shown_bgr, video_frame(PED_VIDEO, ref.best_frame))  # the walker's box
    page.player.play()  # playing on leaves the sighting
    assert not page.pin_bar.isVisible()
    page.player.pause()

    # exports
    out_json = page.export_json(str(tmp_path / "r.json"))
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["files"][0]["sightings"][0]["label"] == "Walker"
    out_csv = page.export_csv(str(tmp_path / "r.csv"))
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8-sig")))
    assert rows and rows[0]["label"] == "Walker"
    assert page.export_video(str(tmp_path / "annotated.mp4"))
    qtbot.waitUntil(lambda: page.exporter is None, timeout=WAIT)
    info = video_info(tmp_path / "annotated.mp4")
    assert (info.width, info.height) == (768, 432) and abs(info.frame_count - MAX_FRAMES) <= 3
    assert not dialogs.of("critical"), dialogs.texts()


def test_stop_ends_the_file_as_stopped_and_keeps_its_results(qtbot, page, dialogs, tmp_path, monkeypatch):
    page.max_frames = None
    page.set_source(PED_VIDEO)
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.frames_done >= 5, timeout=WAIT)
    page.pause()
    before = page.settings_summary.text()
    assert "1 frame in 3" in before
    from GUI.UiDialogSettings import SettingsDialog

    def change_and_accept(dlg):  # the user sets every frame in Settings while the run is paused
        dlg.sample_ft.setValue(1)
        dlg.accept()
        return dlg.result()

    monkeypatch.setattr(SettingsDialog, "exec", change_and_accept)
    assert page.open_settings()
    assert page.settings_summary.text() == before  # the run goes on at 1 in 3: the summary says so
    click(qtbot, page.stop_btn)  # a paused run stops too
    qtbot.waitUntil(lambda: page.report is not None, timeout=WAIT)
    (res,) = page.report.files
    assert res.stopped and not res.error and res.stats.frames_processed == page.frames_done >= 5
    assert page.progress_label.text().startswith("Stopped") and page.export_btn.isEnabled()
    assert page.export_json(str(tmp_path / "r.json")).is_file()
    qtbot.waitUntil(lambda: not page.workers.busy, timeout=10_000)
    assert not dialogs.shown
    assert "every frame" in page.settings_summary.text()  # from the next run on


def test_live_sightings_come_from_frame_events_and_the_final_ones_replace_them(qtbot, page):
    class Run:  # stands for the search worker: the page reads only its events (and whether it is paused or stopping)
        paused = cancel_requested = False

    w = page.worker = Run()
    path = str(PED_VIDEO)
    seg = Segment(10, 20, 0.4, 0.8, 15, 0.2, (1, 2, 30, 40), best_time=0.6)
    page._event(w, FileStarted(0, 1, PED_VIDEO))
    page._event(w, FrameDone(FrameResult(path, 18, 0.72, [], None, 100)))
    page._event(w, FrameDone(FrameResult(path, 20, 0.8, [], None, 100), [Sighting(1, "Live", [seg])]))
    assert page.frames_done == 2
    qtbot.waitUntil(lambda: page.sightings.topLevelItemCount() == 1, timeout=5000)  # painted by the refresh timer
    assert page.sightings.topLevelItem(0).text(0) == "Live" and page.progress.value() == 21
    w.cancel_requested = True  # Stop pressed: the frames still in hand must not write over "stopping"
    page._event(w, FrameDone(FrameResult(path, 21, 0.84, [], None, 100)))
    qtbot.waitUntil(lambda: page.progress.value() == 22, timeout=5000)
    assert page.progress_label.text().endswith("stopping\u2026"), page.progress_label.text()
    final = FileResult(path, "video", sightings=[Sighting(1, "Final", [seg])])
    page._event(w, FileDone(0, 1, final))
    assert page.sightings.topLevelItem(0).text(0) == "Final" and page.sightings.refs()[0].best_time == 0.6
    page._event(w, Finished(SearchReport(path, files=[final])))
    assert page.report is not None and page.worker is None and page.results == [final]
    page._event(w, FrameDone(FrameResult(path, 22, 0.9, [], None, 100)))  # a finished run's stray event: ignored
    assert page.frames_done == 3


def test_reset_stops_and_clears(qtbot, page, dialogs):
    page.max_frames = None
    page.set_source(PED_VIDEO)
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.frames_done >= 2, timeout=WAIT)
    click(qtbot, page.reset_btn)
    assert not page.running and page.report is None
    assert not page.view.has_image() and page.sightings.topLevelItemCount() == 0
    assert page.match_count == 0 and page.progress.value() == 0
    qtbot.waitUntil(lambda: not page.workers.busy, timeout=10_000)  # the stopped thread has ended
    qtbot.waitUntil(lambda: page.play_btn.isEnabled(), timeout=10_000)
    assert page.source == PED_VIDEO  # ready to play again
    assert not dialogs.shown


def test_bad_files_give_an_error_and_the_app_keeps_working(qtbot, page, dialogs, tmp_path, monkeypatch):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    (folder / "text.jpg").write_text("not an image")
    (folder / "bus.jpg").write_bytes(BUS.read_bytes())
    page.set_source(folder)
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.report is not None, timeout=WAIT)
    assert len(page.report.files) == 3 and len(page.report.errors) == 2
    assert len(dialogs.of("critical")) == 1
    _, title, text = dialogs.of("critical")[0]
    assert "2 of 3 files" in text and "broken.mp4" in text and "text.jpg" in text
    assert "Not a readable" in text or "no decodable frame" in text

    # a single bad file: refused when opened (the same message, nothing changes), then a good run
    assert page.set_source(folder / "broken.mp4") is False
    assert len(dialogs.of("critical")) == 2 and page.source == folder
    page.set_source(BUS)
    painted = []  # the live view's boxes, recorded: the review that follows repaints the photo with matches only
    set_image = page.view.set_image
    monkeypatch.setattr(page.view, "set_image", lambda img, boxes=None: (painted.append(len(boxes or [])),
                                                                        set_image(img, boxes)))
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.report is not None, timeout=WAIT)
    assert not page.report.errors and page.frames_done == 1
    assert max(painted, default=0) >= 4  # every person drawn live (faint: nobody from bus.jpg is registered)
    qtbot.waitUntil(lambda: page.player.shown_bgr is not None, timeout=WAIT)  # then the photo under review
    assert page.view.has_image()
    assert len(dialogs.of("critical")) == 2


def test_a_video_cut_short_is_said_so_when_the_run_ends(qtbot, page, dialogs, tmp_path):
    cut = tmp_path / "cut.mp4"  # the first 150 kB of the video: its container still promises 1394 frames
    cut.write_bytes(PED_VIDEO.read_bytes()[:150_000])
    assert page.set_source(cut) is not False
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.report is not None, timeout=WAIT)
    (res,) = page.report.files
    assert not res.error and res.warning and "of its 1394 frames" in res.warning
    (shown,) = dialogs.of("warning")  # "no sighting" there must not read as "not there"
    assert "not searched to their end" in shown[1] and "cut.mp4" in shown[2] and res.warning in shown[2]
    assert not dialogs.of("critical")
    assert "1 video not searched to the end" in page.progress_label.text()
    assert page.progress.value() < page.progress.maximum()  # the bar does not claim the whole video


def test_closing_the_window_asks_during_a_run_then_stops_it(qtbot, seeded, dialogs):
    win = MainWindow(seeded, load_settings=False, warm_up=False)
    qtbot.addWidget(win)
    win.show()
    page = win.process_page
    page.set_source(PED_VIDEO)
    win.show_page(2)
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.frames_done >= 2, timeout=WAIT)
    worker = page.worker
    page.pause()  # a paused run must stop too
    dialogs.answer = QMessageBox.StandardButton.No  # a click on the window's X must not end the run unasked
    assert not win.close()
    (asked,) = dialogs.of("question")
    assert asked[1] == "Quit while work is in progress?" and f"processing {PED_VIDEO.name}" in asked[2]
    assert win.isVisible() and page.worker is worker and not worker.isFinished()
    dialogs.answer = QMessageBox.StandardButton.Yes
    t0 = time.monotonic()
    assert win.close()
    assert worker.isFinished() and time.monotonic() - t0 < 10
    assert [d[0] for d in dialogs.shown] == ["question", "question"]
