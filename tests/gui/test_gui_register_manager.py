"""Register a person from bus.jpg by clicking a box, then manage it on the Manager page."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from GUI.main import MainWindow

from testdata import BUS, MARKET, damage_sqlite_pages

WAIT = 60_000  # ms; the first detection loads the models


def click_box(qtbot, view, index):
    x1, y1, x2, y2 = view.boxes[index].box
    pos = view.image_to_widget((x1 + x2) / 2, (y1 + y2) / 2).toPoint()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=pos)


def person_indices(page):
    """Person boxes whose centre lies in no smaller box (so a click there picks them)."""
    boxes, out = page.view.boxes, []
    for i, b in enumerate(boxes):
        if page._dets.category[i] != "person":
            continue
        cx, cy = (b.box[0] + b.box[2]) / 2, (b.box[1] + b.box[3]) / 2
        area = (b.box[2] - b.box[0]) * (b.box[3] - b.box[1])
        if not any(j != i and o.box[0] <= cx <= o.box[2] and o.box[1] <= cy <= o.box[3]
                   and (o.box[2] - o.box[0]) * (o.box[3] - o.box[1]) < area for j, o in enumerate(boxes)):
            out.append(i)
    return out


def register(qtbot, page, label):
    page.label.setEditText("")
    qtbot.keyClicks(page.label.lineEdit(), label)
    assert page.confirm_btn.isEnabled()
    before = page.last_result
    qtbot.mouseClick(page.confirm_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.last_result is not before and not page.workers.busy, timeout=WAIT)
    return page.last_result


@pytest.fixture
def window(qtbot, gui_engine):
    win = MainWindow(gui_engine, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def test_register_by_click_then_manage(qtbot, window, dialogs, monkeypatch, tmp_path):
    eng, page, mgr = window.engine, window.register_page, window.manager_page
    page.load_photo(BUS)
    qtbot.waitUntil(lambda: len(page.view.boxes) >= 4 and not page.workers.busy, timeout=WAIT)
    assert page.found.count() == len(page.view.boxes)
    assert not page.confirm_btn.isEnabled()  # nothing chosen, no label yet
    persons = person_indices(page)
    assert len(persons) >= 3

    # click the first person's box in the view
    click_box(qtbot, page.view, persons[0])
    assert page.view.selected == persons[0] and page.found.currentRow() == persons[0]
    assert page.category.currentData() == "person"
    first_box = page.selected_box()
    res = register(qtbot, page, "Alice")
    assert res.label == "Alice" and res.new_identity and res.box == pytest.approx(first_box)
    assert "New identity" in page.result_text.text()
    assert [i.label for i in eng.identities()] == ["Alice"]

    # a second photo of the same identity: the label is offered and the category follows it
    assert page.label.findText("Alice") >= 0
    click_box(qtbot, page.view, persons[1])
    page.label.setEditText("alice")
    assert "Adds this photo" in page.label_hint.text() and not page.category.isEnabled()
    res2 = register(qtbot, page, "alice")
    assert res2.identity_id == res.identity_id and not res2.new_identity

    # Manager: the table shows it with 2 photos
    window.show_page(1)
    model = mgr.model
    assert model.rowCount() == 1
    assert model.index(0, 1).data() == "Alice"
    assert model.index(0, 2).data() == "Person"
    assert model.index(0, 3).data() == "2"
    assert not model.index(0, 0).data(Qt.ItemDataRole.DecorationRole).isNull()
    assert mgr.photos.count() == 2

    # rename through the button (the input dialog is patched)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Alicia", True)))
    qtbot.mouseClick(mgr.rename_btn, Qt.MouseButton.LeftButton)
    assert model.index(0, 1).data() == "Alicia"
    assert eng.labels() == ["Alicia"]
    assert page.label.findText("Alicia") >= 0 and page.label.findText("Alice") < 0

    # filter by label
    mgr.search.setText("zzz")
    assert model.rowCount() == 0
    mgr.search.setText("lici")
    assert model.rowCount() == 1
    mgr.search.clear()

    # delete one photo (confirmed)
    mgr.photos.setCurrentRow(1)
    qtbot.mouseClick(mgr.del_photo_btn, Qt.MouseButton.LeftButton)
    assert dialogs.of("question")
    assert model.index(0, 3).data() == "1" and mgr.photos.count() == 1

    # backup, delete the identity (refused once, then confirmed), restore
    backup = tmp_path / "backup.db"
    assert mgr.backup(str(backup)) and backup.is_file()
    dialogs.answer = dialogs.answer.No
    qtbot.mouseClick(mgr.del_ident_btn, Qt.MouseButton.LeftButton)
    assert model.rowCount() == 1
    dialogs.answer = dialogs.answer.Yes
    qtbot.mouseClick(mgr.del_ident_btn, Qt.MouseButton.LeftButton)
    assert model.rowCount() == 0 and eng.identities() == []
    assert mgr.restore(str(backup))
    assert model.rowCount() == 1 and model.index(0, 1).data() == "Alicia"
    assert not dialogs.of("critical"), dialogs.texts()
    asked = len(dialogs.of("question"))
    assert not mgr.restore(str(tmp_path / "no-such-backup.db"))  # said at once, before asking to replace anything
    assert len(dialogs.of("question")) == asked and "no backup file" in dialogs.texts("critical")


def test_bad_photo_shows_error_and_app_keeps_working(qtbot, window, dialogs, tmp_path):
    page = window.register_page
    bad = tmp_path / "not_a_photo.jpg"
    bad.write_text("this is text, not a JPEG")
    page.load_photo(bad)
    qtbot.waitUntil(lambda: bool(dialogs.of("critical")), timeout=WAIT)
    kind, title, text = dialogs.of("critical")[0]
    assert "Not a readable image" in text and "not_a_photo.jpg" in text
    assert not page.view.has_image() and not page.confirm_btn.isEnabled()

    # still works
    page.load_photo(BUS)
    qtbot.waitUntil(lambda: len(page.view.boxes) >= 4, timeout=WAIT)


def test_register_whole_photo_of_a_crop(qtbot, window, dialogs):
    page = window.register_page
    crop = sorted(MARKET.glob("*.jpg"))[0]
    page.load_photo(crop)
    qtbot.waitUntil(lambda: page.view.has_image() and not page.workers.busy, timeout=WAIT)
    page.whole.setChecked(True)
    assert page.view.selected == -1 and page.selected_box() is None
    res = register(qtbot, page, "Crop person")
    assert res.whole_image
    h, w = page._image.shape[:2]
    assert res.box == pytest.approx((0, 0, w, h))
    assert [i.label for i in window.engine.identities()] == ["Crop person"]
    assert not dialogs.of("critical"), dialogs.texts()


def test_a_vehicle_box_is_not_saved_under_a_persons_label(qtbot, window, dialogs):
    eng, page = window.engine, window.register_page
    eng.register(sorted(MARKET.glob("*.jpg"))[0], "Walker")
    page.refresh_labels()
    page.load_photo(BUS)
    qtbot.waitUntil(lambda: len(page.view.boxes) >= 4 and not page.workers.busy, timeout=WAIT)
    bus = next(i for i in range(len(page.view.boxes)) if page._dets.category[i] == "vehicle")
    page.label.setEditText("Walker")
    page.select_box(bus)
    assert page.category.currentData() == "person" and not page.category.isEnabled()
    assert not page.confirm_btn.isEnabled()  # the bus must not become a photo of Walker
    assert "is a vehicle" in page.status.text() and "Walker" in page.status.text()
    page.label.setEditText("Bus 1")  # a new identity takes the clicked box's category
    assert page.category.currentData() == "vehicle" and page.confirm_btn.isEnabled()
    res = register(qtbot, page, "Bus 1")
    assert res.category == "vehicle" and [i.n_entries for i in eng.identities("Walker")] == [1]
    assert not dialogs.of("critical"), dialogs.texts()


def test_drop_a_photo_on_the_register_page(qtbot, window):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    page = window.register_page
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(BUS))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    page.dropEvent(ev)
    assert page.file_label.text() == "bus.jpg"
    qtbot.waitUntil(lambda: len(page.view.boxes) >= 4, timeout=WAIT)


def test_main_script_starts_and_saves_a_screenshot(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", REID_DATA_DIR=str(tmp_path / "data"))
    r = subprocess.run([sys.executable, "GUI/main.py", "--page", "manager", "--screenshot", str(out)], cwd=root,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and out.stat().st_size > 10_000
    assert (tmp_path / "data" / "gallery.db").is_file()  # the default gallery follows REID_DATA_DIR


def test_a_damaged_gallery_is_said_in_the_window_and_a_restore_repairs_it(qtbot, dialogs, tmp_path):
    from Algorithm.outer_api import Engine, Settings

    path, backup = tmp_path / "g.db", tmp_path / "backup.db"
    eng = Engine(path, Settings(device="cpu"))
    for i, crop in enumerate(sorted(MARKET.glob("*.jpg"))):
        eng.register(crop, f"person {i}", whole=True)
    eng.backup(backup)
    eng.close()
    import sqlite3

    n = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    damage_sqlite_pages(path, [n // 2, n // 2 + 1])
    eng = Engine(path, Settings(device="cpu"))
    win = MainWindow(eng, load_settings=False, warm_up=False)
    qtbot.addWidget(win)
    try:
        assert "DAMAGED, read-only" in win.gallery_status.text()
        assert "Restore a backup" in win.gallery_status.toolTip()
        dialogs.answer = QMessageBox.StandardButton.Yes
        assert win.manager_page.restore(str(backup))
        assert "DAMAGED" not in win.gallery_status.text() and eng.gallery_caution == ""
        assert win.manager_page.model.rowCount() == len(list(MARKET.glob("*.jpg")))
        eng.register(sorted(MARKET.glob("*.jpg"))[0], "someone else", whole=True)  # writable again
    finally:
        win.close()
        eng.close()
