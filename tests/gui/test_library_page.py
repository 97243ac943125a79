"""Library page: add footage (indexed in the background), its states, find with thumbnails, a journey, similar, remove."""
from __future__ import annotations

import shutil

from PySide6.QtCore import Qt

from testdata import PED_VIDEO, TRAFFIC_VIDEO, video_frame


def _page(qtbot, engine):
    from GUI.UiPageLibrary import LibraryPage

    page = LibraryPage(engine)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    return page


def test_library_indexes_finds_shows_a_journey_and_removes(qtbot, gui_engine, dialogs, tmp_path):
    eng = gui_engine
    eng.update_settings(sample_ft=5)
    cam = tmp_path / "door"
    cam.mkdir()
    clip = cam / "clip.mp4"
    shutil.copyfile(PED_VIDEO, clip)
    (cam / "empty.mp4").write_bytes(b"")
    page = _page(qtbot, eng)
    assert page.table.rowCount() == 0 and "empty" in page.summary.text()
    assert not page.find_btn.isEnabled()

    page.add_folder(str(cam))
    assert page.stop_btn.isVisible() and not page.add_files_btn.isEnabled()
    qtbot.waitUntil(lambda: page._indexer is None, timeout=300_000)
    rows = {page.table.item(r, 0).text(): page.table.item(r, 2).text() for r in range(page.table.rowCount())}
    assert rows == {"clip.mp4": "Indexed", "empty.mp4": "Failed"}
    failed_row = [r for r in range(page.table.rowCount()) if page.table.item(r, 0).text() == "empty.mp4"][0]
    assert "empty" in page.table.item(failed_row, 2).toolTip()
    assert page.table.item(1 - failed_row, 1).text() == "door"
    person_model = eng.reid_model_name("person")  # shown by its title, its registry name in the tooltip
    assert page.table.item(1 - failed_row, 5).text() == eng.model_titles()[person_model] != person_model
    assert page.table.item(1 - failed_row, 5).toolTip() == person_model

    eng.register(video_frame(PED_VIDEO, 300), "black-jacket")
    page.refresh()
    assert page.query.count() == 2
    page.query.setCurrentIndex(1)
    page.find()
    qtbot.waitUntil(lambda: page.grid.count() > 0, timeout=60_000)
    texts = [page.grid.item(i).text() for i in range(page.grid.count())]
    assert all(t.startswith("black-jacket\nclip.mp4") for t in texts), texts
    assert not page.grid.item(0).icon().isNull()  # the track's thumbnail
    j = page.journey.journey()
    assert j.label == "black-jacket" and j.cameras == ["door"] and len(j.stops) == len(texts)

    opened = []
    page.openMoment.connect(lambda p, f: opened.append((p, f)))
    page._open_item(page.grid.item(0))
    assert opened and opened[0][0] == str(clip) and 225 <= opened[0][1] <= 450

    page.grid.setCurrentRow(0)
    assert page.similar_btn.isEnabled()
    page.find_similar()
    qtbot.waitUntil(lambda: page.status.text().endswith("closest first"), timeout=60_000)
    assert page.grid.count() and all(page.grid.item(i).text().startswith("d ") for i in range(page.grid.count()))

    page.table.selectRow(failed_row)
    dialogs.answer = dialogs.answer.No
    page.remove()
    assert page.table.rowCount() == 2  # "No" keeps it
    dialogs.answer = dialogs.answer.Yes
    page.remove()
    assert [page.table.item(r, 0).text() for r in range(page.table.rowCount())] == ["clip.mp4"]


def test_library_says_a_missing_or_replaced_file_cannot_be_played(qtbot, gui_engine, tmp_path):
    eng = gui_engine
    eng.update_settings(sample_ft=5)
    clip = tmp_path / "gone.mp4"
    shutil.copyfile(PED_VIDEO, clip)
    eng.index_all(clip, max_frames=460)
    eng.register(video_frame(PED_VIDEO, 300), "black-jacket")
    page = _page(qtbot, eng)
    opened = []
    page.openMoment.connect(lambda p, f: opened.append(p))

    # another video put under its name: its sightings are of the file as it was, and never shown on the new one
    shutil.copyfile(TRAFFIC_VIDEO, clip)
    page.refresh()
    assert page.table.item(0, 2).text() == "Changed on disk"
    page.find()
    qtbot.waitUntil(lambda: page.grid.count() > 0, timeout=60_000)
    assert "1 of those files are missing or changed on disk" in page.status.text()
    assert "changed on disk since it was indexed" in page.grid.item(0).toolTip()
    page._open_item(page.grid.item(0))
    assert not opened and "index it again" in page.status.text()

    clip.unlink()
    page.refresh()
    assert page.table.item(0, 2).text() == "File missing"
    page.find()
    qtbot.waitUntil(lambda: "missing or changed" in page.status.text(), timeout=60_000)
    assert "cannot be played back" in page.grid.item(0).toolTip()
    page._open_item(page.grid.item(0))
    assert not opened and "no longer on disk" in page.status.text()
    assert page.grid.item(0).data(Qt.ItemDataRole.UserRole)[0] == str(clip)


def _indexed_window(qtbot, eng):
    """The main window on a library holding the pedestrian video's first 460 frames, black-jacket registered."""
    from GUI.main import MainWindow

    eng.update_settings(sample_ft=5)
    eng.index_all(PED_VIDEO, max_frames=460)
    eng.register(video_frame(PED_VIDEO, 300), "black-jacket")
    win = MainWindow(eng, load_settings=False, warm_up=False)
    qtbot.addWidget(win)
    return win


def test_a_library_moment_opens_in_the_review_player_without_processing(qtbot, gui_engine, dialogs):
    win = _indexed_window(qtbot, gui_engine)
    win.show_page(win.pages.index(win.library_page))
    win.library_page.find()
    qtbot.waitUntil(lambda: win.library_page.grid.count() > 0, timeout=60_000)
    path, frame = win.library_page.grid.item(0).data(Qt.ItemDataRole.UserRole)[:2]
    page = win.process_page
    page.set_source(PED_VIDEO)  # a run in progress: its live results are not swapped for the moment unasked
    page.start()
    win.open_moment(path, frame)
    assert win.stack.currentWidget() is win.library_page and page.running and page.report is None
    assert "busy" in dialogs.of("information")[0][2]
    page.reset()
    qtbot.waitUntil(lambda: not page.workers.has("search"), timeout=60_000)
    win.open_moment(path, frame)
    assert win.stack.currentWidget() is page
    qtbot.waitUntil(lambda: page.player.loaded and page.player.position == frame, timeout=60_000)
    assert page.worker is None and "footage index" in page.runs.currentText()
    assert page.sightings.segment_count() >= 1


def test_a_box_of_the_review_player_finds_similar_tracks_in_the_library(qtbot, gui_engine, dialogs):
    eng = gui_engine
    win = _indexed_window(qtbot, eng)
    report = eng.find(["black-jacket"])
    frame = next(f for f in report.files[0].frames if f.frame_index >= 300)
    box = frame.matches[0].box
    win.find_similar(str(PED_VIDEO), frame.frame_index, box)
    lib = win.library_page
    assert win.stack.currentWidget() is lib
    qtbot.waitUntil(lambda: lib.status.text().endswith("closest first"), timeout=60_000)
    first = lib.grid.item(0).data(Qt.ItemDataRole.UserRole)
    assert first[3] == frame.matches[0].track_id  # her own track comes first


def test_find_a_photo_of_several_people_asks_which_one(qtbot, gui_engine, dialogs, monkeypatch):
    """A query photo with several people: the user clicks the one to find (no command-line --box to read about)."""
    from GUI.box_chooser import BoxChooser

    from testdata import BUS

    eng = gui_engine
    eng.update_settings(sample_ft=5)
    eng.index_all(PED_VIDEO, max_frames=200)
    page = _page(qtbot, eng)
    asked = []

    def choose(parent, image, boxes, text):
        asked.append((len(boxes), text))
        return 0  # the first person listed

    monkeypatch.setattr(BoxChooser, "choose", staticmethod(choose))
    page.find_photo(str(BUS))
    qtbot.waitUntil(lambda: not page.workers.busy and bool(asked) and "Searching" not in page.status.text(),
                    timeout=120_000)
    assert asked[0][0] >= 4 and "click the one to find" in asked[0][1]
    assert not dialogs.of("critical"), dialogs.texts()  # it searched (the bus riders are not in this footage)

    asked.clear()
    monkeypatch.setattr(BoxChooser, "choose", staticmethod(lambda *a: asked.append(a) and None))  # cancelled
    page.find_photo(str(BUS))
    qtbot.waitUntil(lambda: bool(asked) and not page.workers.busy, timeout=60_000)
    assert page.status.text() == "" and not dialogs.of("critical")


def test_the_box_chooser_gives_the_box_clicked(qtbot):
    import numpy as np

    from GUI.box_chooser import BoxChooser

    dlg = BoxChooser(np.zeros((200, 300, 3), np.uint8), [(10, 10, 60, 150), (150, 20, 220, 190)], "click one")
    qtbot.addWidget(dlg)
    dlg.view.boxClicked.emit(1)
    assert dlg.result() == dlg.DialogCode.Accepted and dlg.chosen == 1


def test_a_damaged_library_is_read_and_searches_go_on_without_adding_to_it(qtbot, dialogs, tmp_path):
    import hashlib
    import sqlite3

    import pytest

    from Algorithm.outer_api import Engine, Finished, GalleryError, Settings
    from GUI.UiPageProcess import ProcessPage

    from testdata import TRAFFIC_VIDEO, damage_sqlite_pages

    def open_engine():
        return Engine(tmp_path / "g.db", Settings(device="cpu", sample_ft=5), footage_path=tmp_path / "f.db")

    eng = open_engine()
    eng.register(video_frame(PED_VIDEO, 300), "black-jacket")
    for _ in eng.search(PED_VIDEO, max_frames=400):
        pass
    assert len(eng.library()) == 1 and eng.footage_caution == ""
    eng.close()
    n = sqlite3.connect(tmp_path / "f.db").execute("PRAGMA page_count").fetchone()[0]
    damage_sqlite_pages(tmp_path / "f.db", [n // 2, n // 2 + 1])
    digest = hashlib.sha256((tmp_path / "f.db").read_bytes()).hexdigest()

    eng = open_engine()
    try:
        assert "footage index" in eng.footage_caution and "move it away" in eng.footage_caution
        report = [ev.report for ev in eng.search(TRAFFIC_VIDEO, max_frames=20) if isinstance(ev, Finished)][0]
        assert report.files[0].error is None and report.files[0].stats.frames_processed == 4  # searched all the same
        with pytest.raises(GalleryError, match="nothing more is added to it"):
            next(iter(eng.index(TRAFFIC_VIDEO)))
        page = _page(qtbot, eng)
        assert "damaged" in page.summary.text() and "move it away" in page.summary.toolTip()
        process = ProcessPage(eng)
        qtbot.addWidget(process)
        process._show_settings_summary()
        assert "footage library is damaged" in process.settings_summary.text()
    finally:
        eng.close()
    assert hashlib.sha256((tmp_path / "f.db").read_bytes()).hexdigest() == digest  # not one byte written


def test_closing_the_window_while_indexing_asks_first_and_keeps_what_was_indexed(qtbot, gui_engine, dialogs):
    from PySide6.QtWidgets import QMessageBox

    from GUI.main import MainWindow

    win = MainWindow(gui_engine, load_settings=False, warm_up=False)
    qtbot.addWidget(win)
    win.show()
    lib = win.library_page
    lib._index([str(PED_VIDEO)])
    indexer = lib._indexer
    qtbot.waitUntil(lambda: lib.progress.value() >= 30, timeout=60_000)  # frames into the video
    dialogs.answer = QMessageBox.StandardButton.No
    assert not win.close()
    assert "indexing footage" in dialogs.of("question")[0][2] and not indexer.isFinished()
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert win.close() and indexer.isFinished()
    (row,) = gui_engine.library()
    assert row.info.path == str(PED_VIDEO) and row.status == "partial"  # stopped: what was indexed is kept


def test_adding_an_empty_folder_or_indexed_files_says_which(qtbot, gui_engine, dialogs, tmp_path):
    from testdata import BUS

    page = _page(qtbot, gui_engine)
    (tmp_path / "notes.txt").write_text("not footage")
    page.add_folder(str(tmp_path))
    qtbot.waitUntil(lambda: page._indexer is None, timeout=60_000)
    assert page.status.text() == "No images or videos were found there: nothing to index"
    page.add_files([str(BUS)])
    qtbot.waitUntil(lambda: page._indexer is None, timeout=120_000)
    assert page.status.text() == "1 file(s) processed" and page.table.rowCount() == 1
    page.add_files([str(BUS)])
    qtbot.waitUntil(lambda: page._indexer is None, timeout=60_000)
    assert page.status.text().startswith("Nothing new to index: those files are indexed already")
    assert not dialogs.shown, dialogs.texts()


def test_a_variable_frame_rate_file_shows_its_duration_as_approximate(qtbot, gui_engine, tmp_path):
    from testdata import write_vfr_video

    eng = gui_engine
    eng.update_settings(sample_ft=5)
    vfr = write_vfr_video(tmp_path / "recorder.mp4")
    eng.search_all(PED_VIDEO, max_frames=10, settings=eng.settings.with_(index_footage=True))
    eng.search_all(vfr, settings=eng.settings.with_(index_footage=True))
    page = _page(qtbot, eng)
    rows = {page.table.item(r, 0).text(): page.table.item(r, 4) for r in range(page.table.rowCount())}
    assert rows["recorder.mp4"].text().startswith("\u2248 ")
    assert "frame rate varies" in rows["recorder.mp4"].toolTip()
    assert not rows[PED_VIDEO.name].text().startswith("\u2248") and rows[PED_VIDEO.name].toolTip() == ""
    eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")  # she walks through the recorder's file
    page.refresh()
    page.query.setCurrentIndex(page.query.findText("grey-cardigan (person)"))
    assert page.query.currentData() is not None
    page.find()
    qtbot.waitUntil(lambda: page.grid.count() > 0, timeout=60_000)
    card = page.grid.item(0)
    assert card.text().startswith("grey-cardigan\nrecorder.mp4\n\u2248 "), card.text()
    assert "frame rate varies" in card.toolTip()
    (stop,) = page.journey.journey().stops
    assert page.journey.lanes.when(stop).startswith("\u2248 ")  # the journey's lane says it too
    page._show_similar(eng.find_similar(image=video_frame(PED_VIDEO, 120)))  # "similar" cards, as a click shows them
    similar = page.grid.item(0)
    assert similar.text().split("\n")[1:] == ["recorder.mp4", "\u2248 0:00.0"] and "frame rate varies" in similar.toolTip()
