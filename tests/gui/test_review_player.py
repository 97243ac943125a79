"""The Process page's review player on the pedestrian video: the timeline, seeking, the shortcuts, and results that
survive every click (Play after finish, Stop then Play, another file, save and reopen)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from Algorithm.outer_api import (
    Engine,
    FrameBoxes,
    InputError,
    Segment,
    Settings,
    Sighting,
    draw_boxes,
    read_video_frame,
)
from GUI.review_player import SHORTCUTS
from GUI.session_runs import Run
from GUI.UiPageProcess import ProcessPage

from testdata import BUS, PED_VIDEO, video_frame, write_vfr_video

WAIT = 120_000
SAMPLE_FT = 3
MAX_FRAMES = 420  # the walker (registered from frame 300) walks through frames ~240-440


def seed(engine: Engine) -> Engine:
    engine.register(video_frame(PED_VIDEO, 300), "Walker")
    engine.update_settings(sample_ft=SAMPLE_FT, tracking=True, categories=("person",))
    return engine


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """One search of the pedestrian video (no GUI): the engine and its report, shared by the review tests."""
    eng = seed(Engine(tmp_path_factory.mktemp("review") / "g.db", Settings(device="cpu")))
    report = eng.search_all(PED_VIDEO, max_frames=MAX_FRAMES)
    assert report.files[0].sightings, "the walker must be found for these tests to mean anything"
    yield eng, report
    eng.close()


def make_page(qtbot, engine) -> ProcessPage:
    p = ProcessPage(engine)
    qtbot.addWidget(p)
    p.resize(1200, 760)
    p.show()
    return p


@pytest.fixture
def review(qtbot, processed):
    """A page showing the processed report, as after 'Open results…' (nothing processed here)."""
    eng, report = processed
    p = make_page(qtbot, eng)
    p.show_run(Run(report))
    qtbot.waitUntil(lambda: p.player.position >= 0, timeout=WAIT)
    yield p
    assert p.shutdown()


@pytest.fixture
def page(qtbot, gui_engine):
    p = make_page(qtbot, seed(gui_engine))
    yield p
    assert p.shutdown()


def click(qtbot, button):
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def segments_of(sightings: list[Sighting]) -> list[tuple[int, int, int]]:
    return [(s.identity_id, g.start_frame, g.end_frame) for s in sightings for g in s.segments]


def expected_frame(res, index: int) -> np.ndarray:
    """What the player must show at frame `index`: the frame with the stored boxes drawn, as the annotated video."""
    boxes = FrameBoxes(res, SAMPLE_FT)(index)
    frame = read_video_frame(res.path, index)
    return draw_boxes(frame, boxes, unmatched=False) if boxes else frame


def view_pixels(page) -> np.ndarray:
    img = page.view._pixmap.toImage().convertToFormat(QImage.Format.Format_BGR888)
    return np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, :img.width() * 3] \
        .reshape(img.height(), img.width(), 3).copy()


def test_timeline_shows_the_results_segments_one_lane_per_identity(qtbot, review, processed):
    _, report = processed
    res = report.files[0]
    tl = review.player.timeline
    assert review.player.isVisible() and tl.isVisible()
    assert tl.segments() == segments_of(res.sightings) and tl.lane_count() == 1
    # the sightings list has a thumbnail of each segment's best view
    qtbot.waitUntil(lambda: review.sightings.thumbnail_count() == review.sightings.segment_count(), timeout=WAIT)

    # several identities: one lane each, in the results' order
    other = Sighting(99, "Other", [Segment(30, 60, 1.2, 2.4, 45, 0.3, (1, 2, 30, 40), best_time=1.8)])
    two = dataclasses.replace(res, sightings=[*res.sightings, other])
    review.player.load(two, SAMPLE_FT)
    assert tl.lane_count() == 2 and tl.segments() == segments_of(two.sightings)
    assert tl.segment_rect(len(tl.segments()) - 1).top() > tl.segment_rect(0).top()


def test_seeking_shows_that_frame_with_its_stored_boxes(qtbot, review, processed):
    _, report = processed
    res = report.files[0]
    player = review.player
    seg = res.sightings[0].segments[0]
    for t in (seg.best_time, seg.best_time + 1 / res.fps):  # a processed frame, then a skipped one (boxes held)
        player.seek_time(t)
        idx = player.frame_of(t)
        qtbot.waitUntil(lambda i=idx: player.position == i, timeout=WAIT)
        want = expected_frame(res, idx)
        assert FrameBoxes(res, SAMPLE_FT)(idx), "a frame inside the sighting has the walker's box"
        assert np.array_equal(player.shown_bgr, want)
        assert np.array_equal(view_pixels(review), want)  # what is on screen
        assert player.slider.value() == idx and not player.playing

    # a click on a segment of the timeline plays it from its start
    tl = player.timeline
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=tl.segment_rect(0).center().toPoint())
    assert player.playing
    qtbot.waitUntil(lambda: player.position >= seg.start_frame + 2, timeout=WAIT)
    player.pause()
    assert not player.playing and review.play_btn.text() == "Play"


def test_keyboard_shortcuts_move_as_documented(qtbot, review, processed):
    _, report = processed
    player, view = review.player, review.view
    last = report.files[0].frame_count - 1

    def key(k, mods=Qt.KeyboardModifier.NoModifier):
        qtbot.keyClick(view, k, mods)  # the video has the focus; the page handles the keys

    def at(frame):
        qtbot.waitUntil(lambda: player.position == frame, timeout=WAIT)

    player.seek(300)
    at(300)
    key(Qt.Key.Key_Right)
    at(301)
    key(Qt.Key.Key_Left)
    key(Qt.Key.Key_Left)
    at(299)
    key(Qt.Key.Key_Period)
    at(300)
    key(Qt.Key.Key_Comma)
    at(299)
    key(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    at(299 + player.frame_of(5))
    key(Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    at(299)
    key(Qt.Key.Key_J)
    at(299 - player.frame_of(10))
    key(Qt.Key.Key_End)
    at(last)
    key(Qt.Key.Key_Home)
    at(0)
    assert not player.playing

    key(Qt.Key.Key_Space)
    assert player.playing and review.play_btn.text() == "Pause"
    qtbot.waitUntil(lambda: player.position >= 3, timeout=WAIT)
    key(Qt.Key.Key_Space)
    assert not player.playing
    key(Qt.Key.Key_L)
    assert player.playing and player.speed == 1.0
    key(Qt.Key.Key_L)
    key(Qt.Key.Key_L)
    assert player.speed == 4.0 and player.speed_box.currentText() == "4\u00d7"
    for _ in range(3):
        key(Qt.Key.Key_L)
    assert player.speed == 8.0  # no faster than 8x
    key(Qt.Key.Key_K)
    assert not player.playing
    # while playing, Right is a small seek (1 s) rather than one frame
    player.set_speed(1.0)
    key(Qt.Key.Key_Space)
    base = player.position
    key(Qt.Key.Key_Right)
    key(Qt.Key.Key_K)
    target = base + player.frame_of(1)
    qtbot.waitUntil(lambda: player.position >= target, timeout=WAIT)
    qtbot.wait(200)
    assert target <= player.position <= target + 3 and not player.playing  # the jump, then at most a frame or two

    # every shortcut is listed in the "?" menu and its tooltip
    menu = [a.text() for a in player.help_btn.menu().actions()]
    for keys, what in SHORTCUTS:
        assert f"{what}\t{keys}" in menu and keys in player.help_btn.toolTip()


def test_play_after_finish_reviews_processing_again_asks_and_another_file_keeps_the_run(qtbot, page, dialogs,
                                                                                        monkeypatch):
    page.max_frames = 60
    page.set_source(PED_VIDEO)
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.report is not None and not page.workers.has("search"), timeout=WAIT)
    first = page.report
    assert page.runs.count() == 1 and page.play_btn.text() == "Play" and page.again_btn.isVisible()

    # Play on finished results plays them back: nothing is processed again
    click(qtbot, page.play_btn)
    assert page.player.playing and page.worker is None and not page.workers.has("search")
    assert page.play_btn.text() == "Pause" and page.report is first
    start = page.player.position
    qtbot.waitUntil(lambda: page.player.position > start + 2, timeout=WAIT)
    click(qtbot, page.play_btn)
    assert not page.player.playing and page.worker is None and page.runs.count() == 1

    # Process again asks first, No being the default; No changes nothing
    asked = []

    def question(parent, title, text, buttons, default):
        asked.append((title, default))
        return dialogs.answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    dialogs.answer = QMessageBox.StandardButton.No
    assert not page.process_again()
    assert asked == [("Process again?", QMessageBox.StandardButton.No)]
    assert page.report is first and page.worker is None
    dialogs.answer = QMessageBox.StandardButton.Yes
    click(qtbot, page.again_btn)
    assert page.running and page.runs.count() == 1 and page.runs.currentIndex() == -1
    qtbot.waitUntil(lambda: page.report is not None and not page.workers.has("search"), timeout=WAIT)
    second = page.report
    assert second is not first and [r.report for r in page.runs.runs()] == [first, second]
    titles = [page.runs.itemText(i) for i in range(2)]  # the same file, maybe the same second: told apart
    assert titles[0].startswith("1. ") and titles[1].startswith("2. "), titles
    assert page.runs.toolTip().startswith(titles[1] + "\n")  # the whole title, which the box is often too narrow for

    # another file: the earlier runs stay in the list, and choosing one shows it again
    assert page.set_source(BUS)
    assert page.report is None and page.runs.count() == 2 and page.play_btn.text() == "Play"
    assert page.runs.currentText() == "" and page.runs.placeholderText() == "2 earlier runs: choose one"
    assert not page.player.isVisible()
    page.runs.choose(0)
    assert page.report is first and page.source == PED_VIDEO and page.player.result is first.files[0]
    assert page.runs.currentIndex() == 0 and page.play_btn.text() == "Play" and page.player.isVisible()
    assert not dialogs.of("critical"), dialogs.texts()


def play_a_copy(qtbot, page, tmp_path, max_frames: int):
    """Plays a copy of the pedestrian video (which the test may then delete or replace); returns its path."""
    import shutil

    video = tmp_path / PED_VIDEO.name
    shutil.copyfile(PED_VIDEO, video)
    page.max_frames = max_frames
    page.set_source(video)
    click(qtbot, page.play_btn)
    return video


def test_processing_again_that_fails_shows_the_earlier_results_again(qtbot, page, dialogs, tmp_path):
    video = play_a_copy(qtbot, page, tmp_path, 30)
    qtbot.waitUntil(lambda: page.report is not None and not page.workers.has("search"), timeout=WAIT)
    first = page.report
    n_sightings = page.sightings.segment_count()
    video.unlink()  # moved away since: processing it again fails at once
    assert page.process_again()  # the dialogs fixture answers Yes
    qtbot.waitUntil(lambda: page.worker is None and bool(dialogs.of("critical")), timeout=WAIT)
    assert dialogs.of("critical")[0][1] == "Processing failed"
    # the first run is shown again, selected in the Run list, with its sightings: nothing vanished with the failure
    assert page.report is first and page.runs.current_run().report is first and page.runs.count() == 1
    assert page.sightings.segment_count() == n_sightings
    assert "earlier results are shown" in page.progress_label.text()


def test_the_keys_go_to_the_player_after_a_run_never_to_reset_or_process_again(qtbot, page, dialogs):
    from PySide6.QtWidgets import QApplication

    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=5000)
    page.max_frames = 30
    page.set_source(PED_VIDEO)
    page.play_btn.setFocus()  # reached with Tab: Space presses it
    qtbot.keyClick(page.play_btn, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: page.report is not None and not page.workers.has("search"), timeout=WAIT)
    assert QApplication.focusWidget() is page.view  # not Reset, which the disabled Play handed its focus to
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert page.player.playing and page.report is not None and page.runs.count() == 1
    click(qtbot, page.play_btn)  # a click: the keys stay with the video
    assert not page.player.playing and QApplication.focusWidget() is page.view
    at = page.player.position
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)  # a step forward, not focus on "Process again…"
    assert QApplication.focusWidget() is page.view and page.player._last_seek > at
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert page.player.playing and not dialogs.shown


def test_stop_then_play_resumes_and_keeps_the_first_part(qtbot, page, dialogs):
    page.max_frames = 360
    page.set_source(PED_VIDEO)
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.frames_done >= 95, timeout=WAIT)  # past frame 282: the walker has been seen
    click(qtbot, page.stop_btn)
    qtbot.waitUntil(lambda: page.report is not None and not page.workers.has("search"), timeout=WAIT)
    (part,) = page.report.files
    assert part.stopped and part.frames and "stopped" in page.runs.currentText()
    assert page.play_btn.text() == "Continue"
    done_before = page.frames_done

    click(qtbot, page.play_btn)
    assert page.running and page.frames_done == done_before  # counts go on, nothing cleared
    qtbot.waitUntil(lambda: page.report is not None and page.worker is None, timeout=WAIT)
    (whole,) = page.report.files
    assert not whole.stopped and page.runs.count() == 1 and "stopped" not in page.runs.currentText()
    # exactly the frames a run never stopped processes, each once; the first part's matches kept as they were
    assert whole.stats.frames_processed == page.frames_done == len(range(0, 360, SAMPLE_FT))
    kept = {f.frame_index: f.boxes for f in whole.frames}
    for f in part.frames:
        assert [b.box for b in kept[f.frame_index]] == [b.box for b in f.boxes]
    assert max(kept) > part.stats.frames_read  # and the second part's were added
    assert whole.sightings and page.player.timeline.segments() == segments_of(whole.sightings)
    assert page.play_btn.text() == "Play"
    assert not dialogs.shown, dialogs.texts()


def test_a_stopped_run_whose_video_was_replaced_stops_offering_continue(qtbot, page, dialogs, tmp_path):
    video = play_a_copy(qtbot, page, tmp_path, 300)
    qtbot.waitUntil(lambda: page.frames_done >= 10, timeout=WAIT)
    click(qtbot, page.stop_btn)
    qtbot.waitUntil(lambda: page.report is not None and not page.workers.has("search"), timeout=WAIT)
    stopped = page.report
    assert page.play_btn.text() == "Continue"
    data = bytearray(video.read_bytes())
    data[-100] ^= 0xFF  # another video under its name: going on would join two files' results
    video.write_bytes(bytes(data))
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.worker is None and bool(dialogs.of("critical")), timeout=WAIT)
    assert "not the file it stopped in" in dialogs.texts("critical")
    # refused for good, and said so: no Continue that fails again, the first part kept in the Run list
    assert page.report is stopped and page.runs.current_run().report is stopped
    assert page.play_btn.text() != "Continue" and not page.play_btn.isEnabled()
    assert "cannot go on" in page.progress_label.text() and page.again_btn.isEnabled()


def test_saved_results_reopen_with_the_same_segments(qtbot, review, processed, dialogs, tmp_path):
    _, report = processed
    saved = review.export_json(str(tmp_path / "walk.json"))
    assert saved.is_file()
    refs_before = review.sightings.refs()
    assert review.open_results(saved)
    qtbot.waitUntil(lambda: review.runs.count() == 2 and review.report is not report, timeout=WAIT)
    opened = review.report
    assert opened.to_json() == report.to_json()
    assert segments_of(opened.files[0].sightings) == segments_of(report.files[0].sightings)
    assert review.player.timeline.segments() == segments_of(report.files[0].sightings)
    assert [(r.key, r.end_frame, r.best_frame) for r in review.sightings.refs()] == \
        [(r.key, r.end_frame, r.best_frame) for r in refs_before]  # the file keeps rounded distances and boxes
    assert "walk.json" in review.runs.currentText() and review.play_btn.text() == "Play"  # opened: review only
    qtbot.waitUntil(lambda: review.player.position >= 0, timeout=WAIT)

    # a file that is not results: said in words, nothing changes
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    assert review.open_results(bad)
    qtbot.waitUntil(lambda: bool(dialogs.of("critical")), timeout=WAIT)
    assert "Not a results file" in dialogs.texts("critical") and review.report is opened and review.runs.count() == 2

    # results whose footage moved: listed, and said plainly that they cannot be played back
    moved = json.loads(saved.read_text(encoding="utf-8"))
    for f in moved["files"]:
        f["path"] = str(tmp_path / "moved-away.mp4")
    gone = tmp_path / "gone.json"
    gone.write_text(json.dumps(moved), encoding="utf-8")
    assert review.open_results(gone)
    qtbot.waitUntil(lambda: review.runs.count() == 3, timeout=WAIT)
    assert "cannot be played back" in review.progress_label.text() and "Press Play" not in review.progress_label.text()


def test_a_variable_frame_rate_video_says_its_times_are_approximate(qtbot, page, dialogs, tmp_path):
    """Its times are counted at the average rate and off by seconds: the run's summary and the player say so."""
    page.set_source(write_vfr_video(tmp_path / "recorder.mp4", start=250))  # the walker walks through
    click(qtbot, page.play_btn)
    qtbot.waitUntil(lambda: page.report is not None and not page.workers.has("search"), timeout=WAIT)
    assert "times approximate in 1 video: variable frame rate" in page.progress_label.text()
    assert not dialogs.of("warning")  # searched to its end: not "not searched to their end"
    leaf = page.sightings.topLevelItem(0).child(0)
    assert leaf.text(1).startswith("\u2248 0:0") and "frame rate varies" in leaf.toolTip(1)
    qtbot.waitUntil(lambda: page.player.position >= 0, timeout=WAIT)
    page.player.seek(3)
    qtbot.waitUntil(lambda: page.player.position == 3, timeout=WAIT)
    assert page.player.time_label.text().startswith("\u2248 ")
    assert page.player.time_label.toolTip().startswith("Times are approximate (off by up to 5.4 s)")
    page.show_run(Run(page.engine.search_all(PED_VIDEO, max_frames=6)))  # a constant rate: no caution
    qtbot.waitUntil(lambda: page.player.position >= 0 and not page.player.time_label.text().startswith("\u2248"),
                    timeout=WAIT)
    assert page.player.time_label.toolTip() == ""


def test_a_photo_is_shown_without_the_video_controls(qtbot, review):
    assert not review.player.transport.isHidden() and not review.player.timeline.isHidden()
    assert review.set_source(BUS)
    review.play_pause()
    qtbot.waitUntil(lambda: review.report is not None and review.worker is None, timeout=WAIT)
    qtbot.waitUntil(lambda: review.player.shown_bgr is not None, timeout=WAIT)
    assert review.player.isVisible() and not review.player.playable
    assert review.player.transport.isHidden() and review.player.timeline.isHidden()  # nothing to play or seek
    review.runs.choose(0)  # the video's run again: its controls are back
    assert not review.player.transport.isHidden() and review.player.playable


def test_results_on_footage_replaced_since_are_listed_never_shown_on_it(qtbot, review, processed, dialogs, tmp_path):
    """Another video under the searched name (same name and size, other bytes): the boxes would be drawn on other
    footage, so the player, the annotated export and verdicts refuse it and say why; the sightings stay listed."""
    _, report = processed
    swapped = tmp_path / "cam.mp4"
    data = bytearray(PED_VIDEO.read_bytes())
    data[-100] ^= 0xFF
    swapped.write_bytes(bytes(data))
    saved = json.loads(review.export_json(str(tmp_path / "walk.json")).read_text(encoding="utf-8"))
    for f in saved["files"]:
        f["path"] = str(swapped)
    opened = tmp_path / "swapped.json"
    opened.write_text(json.dumps(saved), encoding="utf-8")
    assert review.open_results(opened)
    qtbot.waitUntil(lambda: review.runs.count() == 2 and review.report is not report, timeout=WAIT)
    assert "not the file that was searched" in (review.player.problem or "")
    assert not review.player.playable and review.player.transport.isHidden() and not review.play_btn.isEnabled()
    assert not review.view.has_image() and "cannot be played back" in review.progress_label.text()
    assert len(review.sightings.refs()) == sum(len(s.segments) for s in report.files[0].sightings)  # listed
    review.show_sighting(review.sightings.refs()[0])
    assert review.pin_bar.isHidden() and not review.player.playable  # no "Showing ..." bar over an empty view

    assert not review.export_video(str(tmp_path / "boxes.mp4"))
    assert "not the file that was searched" in dialogs.texts("critical") and not (tmp_path / "boxes.mp4").exists()
    res = review.report.files[0]
    with pytest.raises(InputError, match="not the file that was searched"):
        review.engine.reject(res, res.sightings[0].identity_id)
    assert not review.engine.verdicts()
