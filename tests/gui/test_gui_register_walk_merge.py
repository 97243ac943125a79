"""Register page: several photos walked through one at a time, the engine's own verdict said in words and
"Use the whole photo" never ticked by the page; Manager page: two identities merged through the confirmation."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from Algorithm.outer_api import write_image
from GUI.main import MainWindow

from testdata import BUS, MARKET, uniform_photo, van_photo

WAIT = 60_000  # ms; the first detection loads the models


@pytest.fixture
def window(qtbot, gui_engine):
    win = MainWindow(gui_engine, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def shown(qtbot, page):
    qtbot.waitUntil(lambda: page.view.has_image() and not page.workers.busy, timeout=WAIT)


def confirm(qtbot, page):
    before = page.last_result
    assert page.confirm_btn.isEnabled()
    qtbot.mouseClick(page.confirm_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.last_result is not before and not page.workers.busy, timeout=WAIT)
    return page.last_result


def test_walk_through_several_photos_of_one_person(qtbot, window, dialogs, tmp_path):
    eng, page = window.engine, window.register_page
    grey = tmp_path / "grey.png"
    write_image(grey, uniform_photo())
    crops = sorted(MARKET.glob("*.jpg"))
    page.load_photos([crops[0], grey, crops[1]])

    # photo 1 of 3: a close crop the detector finds nobody in: the engine takes it whole, the page says so
    shown(qtbot, page)
    assert page.walk.isVisible() and "Photo 1 of 3" in page.walk_label.text()
    assert not page.whole.isChecked() and page.selected_box() is None
    assert "close crop of one person, so the whole photo will be saved" in page.status.text()
    assert not page.confirm_btn.isEnabled()  # no label yet
    qtbot.keyClicks(page.label.lineEdit(), "Walker")
    res = confirm(qtbot, page)
    assert res.whole_image and res.label == "Walker" and res.new_identity
    assert "Used the whole photo (a close crop of one person)" in page.result_text.text()

    # photo 2 of 3, the label kept: the grey picture is refused in words, nothing ticked, Confirm off
    shown(qtbot, page)
    assert "Photo 2 of 3" in page.walk_label.text() and "1 saved" in page.walk_label.text()
    assert page.skip_btn.isVisible()
    assert page.label.currentText() == "Walker"
    assert "nearly uniform" in page.status.text()
    assert not page.whole.isChecked() and not page.confirm_btn.isEnabled()
    qtbot.mouseClick(page.skip_btn, Qt.MouseButton.LeftButton)

    # photo 3 of 3: one box found, selected; saved to the same identity; then the walk-through ends
    shown(qtbot, page)
    assert "Photo 3 of 3" in page.walk_label.text() and page.label.currentText() == "Walker"
    assert page.selected_box() is not None
    res3 = confirm(qtbot, page)
    assert res3.identity_id == res.identity_id and not res3.new_identity and not res3.whole_image
    assert "All 3 photos done" in page.walk_label.text() and "2 saved, 1 skipped" in page.walk_label.text()
    assert "Done: 2 of 3 photos saved" in page.status.text()
    assert not page.skip_btn.isVisible() and not page.confirm_btn.isEnabled()
    (ident,) = eng.identities()
    assert ident.label == "Walker" and ident.n_entries == 2
    assert not dialogs.of("critical"), dialogs.texts()


def test_a_grey_picture_is_never_taken_whole_by_the_page(qtbot, window, dialogs, tmp_path):
    page = window.register_page
    grey = tmp_path / "grey.png"
    write_image(grey, uniform_photo())
    page.load_photo(grey)
    shown(qtbot, page)
    assert not page.walk.isVisible()
    qtbot.keyClicks(page.label.lineEdit(), "Ghost")
    assert not page.whole.isChecked() and not page.confirm_btn.isEnabled()
    assert "No person was found" in page.status.text() and "nearly uniform" in page.status.text()
    # the user may still decide otherwise, explicitly
    page.whole.setChecked(True)
    assert page.confirm_btn.isEnabled() and "as you ticked" in page.status.text()


def test_a_car_photo_says_it_looks_like_a_vehicle(qtbot, window, dialogs, tmp_path):
    page = window.register_page
    van = tmp_path / "van.jpg"
    write_image(van, van_photo())
    page.load_photo(van)
    shown(qtbot, page)
    qtbot.keyClicks(page.label.lineEdit(), "White van")
    # the detector sees the van twice (two overlapping vehicle boxes) and no person: as a person it is refused
    assert page.category.currentData() == "person" and page.selected_box() is None
    assert page._dets.category == ["vehicle", "vehicle"]
    assert "This looks like a vehicle, not a person" in page.status.text()
    assert not page.confirm_btn.isEnabled() and not page.whole.isChecked()
    # as a vehicle: a close crop of one (its two boxes overlap), taken whole, said so
    page.category.setCurrentIndex(page.category.findData("vehicle"))
    assert "close crop of one vehicle, so the whole photo will be saved" in page.status.text()
    res = confirm(qtbot, page)
    assert res.category == "vehicle" and res.label == "White van" and res.whole_image
    assert "Used the whole photo (a close crop of one vehicle; 2 boxes found, all within" in page.result_text.text()
    assert not dialogs.of("critical"), dialogs.texts()


def test_several_dropped_photos_start_a_walk_through(qtbot, window):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    page = window.register_page
    crops = sorted(MARKET.glob("*.jpg"))[:2]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in (*crops, BUS)])
    page.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier))
    shown(qtbot, page)
    assert "Photo 1 of 3" in page.walk_label.text() and page.file_label.text() == crops[0].name
    page.skip()
    shown(qtbot, page)
    page.skip()
    shown(qtbot, page)
    assert "Photo 3 of 3" in page.walk_label.text() and page.file_label.text() == "bus.jpg"
    assert "4 persons found. Click the one to register" in page.status.text()


def answer_merge_box(qtbot, button_text: str, seen: list):
    """Clicks `button_text` on the merge confirmation once it is up, recording its texts and default button."""

    def act():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, act)
            return
        seen.append((box.text(), box.informativeText(), box.defaultButton().text(), box.escapeButton().text(),
                     [b.text() for b in box.buttons()]))
        (btn,) = [b for b in box.buttons() if b.text() == button_text]
        btn.click()

    QTimer.singleShot(0, act)


def select_labels(mgr, *labels):
    sel = mgr.table.selectionModel()
    sel.clearSelection()
    for lab in labels:
        row = next(r for r in range(mgr.model.rowCount()) if mgr.model.identity(r).label == lab)
        sel.select(mgr.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)


def test_merge_two_identities_on_the_manager_page(qtbot, window, dialogs):
    eng, mgr = window.engine, window.manager_page
    crops = sorted(MARKET.glob("*.jpg"))
    a = eng.register(crops[0], "Ann")
    eng.register(crops[1], "Ann")
    b = eng.register(crops[2], "Anne")
    eng.register(van_photo(), "Van", "vehicle")
    window.show_page(1)
    assert mgr.model.rowCount() == 3 and not mgr.merge_btn.isEnabled()

    select_labels(mgr, "Ann", "Anne")
    assert mgr.merge_btn.isEnabled() and not mgr.rename_btn.isEnabled() and not mgr.del_ident_btn.isEnabled()
    assert mgr.photos.count() == 3 and "Merge" in mgr.photos_title.text()

    # the confirmation defaults to No (also on Escape): answering No changes nothing
    seen = []
    answer_merge_box(qtbot, "No, keep both", seen)
    qtbot.mouseClick(mgr.merge_btn, Qt.MouseButton.LeftButton)
    text, info, default, escape, buttons = seen[0]
    assert default == escape == "No, keep both"
    assert "\u201cAnn\u201d (2 photos) and \u201cAnne\u201d (1 photo) one identity" in text and "All 3 photos" in info
    assert buttons.count("Merge into \u201cAnn\u201d") == 1 and buttons.count("Merge into \u201cAnne\u201d") == 1
    assert sorted(i.label for i in eng.identities()) == ["Ann", "Anne", "Van"]

    # merged into "Ann": every photo kept, "Anne" gone, the kept one selected
    answer_merge_box(qtbot, "Merge into \u201cAnn\u201d", seen)
    qtbot.mouseClick(mgr.merge_btn, Qt.MouseButton.LeftButton)
    assert sorted(i.label for i in eng.identities()) == ["Ann", "Van"]
    assert [e.id for e in eng.entries(a.identity_id)][-1] == b.entry_id
    assert mgr.model.rowCount() == 2 and mgr.selected_identity().label == "Ann"
    assert mgr.photos.count() == 3 and mgr.model.index(mgr.model.row_of(a.identity_id), 3).data() == "3"
    assert window.register_page.label.findText("Anne") < 0  # the Register page's labels follow
    assert not dialogs.of("critical"), dialogs.texts()

    # a person and a vehicle: refused with the engine's message, nothing asked, nothing changed
    select_labels(mgr, "Ann", "Van")
    assert mgr.merge_btn.isEnabled()
    qtbot.mouseClick(mgr.merge_btn, Qt.MouseButton.LeftButton)
    (crit,) = dialogs.of("critical")
    assert "one category only" in crit[2]
    assert sorted((i.label, i.n_entries) for i in eng.identities()) == [("Ann", 3), ("Van", 1)]
