"""The fixes found when the app was tried as a new user: Calibrate refuses a suggestion from too few same-identity
pairs, per-category thresholds in Settings, the Process page refuses a broken video when it is opened, shows a
video's first frame and length, counts a folder's files, never shows "-0.000", keeps its panel width and status
line, starts exports in the last export folder; Enter saves a registration; box numbers never cover each other."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from Algorithm.outer_api import BoxResult, Engine, Settings, video_info
from Algorithm.types import Match
from GUI import app_settings
from GUI.UiDialogSettings import SettingsDialog
from GUI.UiPageCalibrate import CalibratePage
from GUI.UiPageProcess import ProcessPage
from GUI.widgets import ImageView, OverlayBox, fmt_distance, fmt_time

from testdata import BUS, PED_VIDEO

WAIT = 120_000


def toy_calibration(genuine_pairs_of: list[int], category: str = "person"):
    """A calibration on random features: identity k has genuine_pairs_of[k] photos."""
    from Algorithm.evaluation.calibrate import calibrate_features

    rng = np.random.default_rng(0)
    feats, pids = [], []
    for pid, n in enumerate(genuine_pairs_of):
        centre = rng.normal(size=64)
        for _ in range(n):
            feats.append(centre + 0.2 * rng.normal(size=64))
            pids.append(pid + 1)  # pid 0 means a distractor
    f = np.asarray(feats, np.float32)
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    return calibrate_features(f, np.asarray(pids), source="gallery toy", target_fmr=0.05, current_threshold=0.3,
                              model="osnet", category=category, exclude_same_cam=False)


# -- Calibrate ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("photos, pairs", [([2, 1, 1, 1, 1, 1], 1), ([1] * 8, 0)])
def test_calibrate_with_too_few_genuine_pairs_suggests_nothing(qtbot, gui_engine, photos, pairs):
    from Algorithm.evaluation.calibrate import MIN_GENUINE_PAIRS

    page = CalibratePage(gui_engine)
    qtbot.addWidget(page)
    cal = toy_calibration(photos)
    assert cal.genuine_pairs == pairs < MIN_GENUINE_PAIRS and cal.impostor_pairs > 0
    assert cal.suggested is None and cal.recommended_threshold is None and cal.refusal
    page.calibration = cal
    page._render()
    assert not page.apply_btn.isEnabled()
    text = page.result.text()
    assert "No threshold suggested" in text and f"at least {MIN_GENUINE_PAIRS}" in text
    assert "Suggested threshold" not in text and "Apply saves" not in text
    assert f"at least {MIN_GENUINE_PAIRS}" in page.apply_btn.toolTip()
    assert "only only" not in " ".join(cal.notes).lower()


def test_calibrate_apply_asks_with_no_as_default_and_names_the_file(qtbot, gui_engine, monkeypatch):
    page = CalibratePage(gui_engine)
    qtbot.addWidget(page)
    page.calibration = toy_calibration([5, 5, 3, 2, 1, 1])  # 10 + 10 + 3 + 1 same-identity pairs
    assert page.calibration.genuine_pairs >= 10 and page.calibration.refusal is None
    page._render()
    assert page.apply_btn.isEnabled() and "Apply saves" in page.result.text()
    asked = []

    def question(parent, title, text, buttons=None, default=None):
        asked.append((text, default))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    saved = []
    monkeypatch.setattr(gui_engine, "apply_threshold", lambda *a: saved.append(a))
    page.apply()
    (text, default), = asked
    assert default == QMessageBox.StandardButton.No and not saved  # answering No (the default) saves nothing
    assert str(gui_engine.local_models_path) in text and "per model" in text


def test_calibration_plot_titles_fit_a_small_window(qtbot, gui_engine):
    page = CalibratePage(gui_engine)
    qtbot.addWidget(page)
    page.resize(1024 - 170, 640)  # the page's share of a 1024x700 window (the navigation list takes 170)
    page.show()
    qtbot.waitExposed(page)
    page.calibration = toy_calibration([5, 5, 3, 2, 1, 1])
    page._render()
    page.canvas.draw()
    fig = page.figure
    r = page.canvas.get_renderer()
    titles = [fig._suptitle] + [ax.title for ax in fig.axes]
    for t in titles:
        if t is None or not t.get_text():
            continue
        bb = t.get_window_extent(r)
        assert bb.x0 >= -1 and bb.x1 <= fig.bbox.width + 1, (t.get_text(), bb, fig.bbox.width)
        assert bb.y1 <= fig.bbox.height + 1


def test_calibrate_cli_save_refuses_without_enough_genuine_pairs(tmp_path, capsys):
    from Algorithm.cli.main import main

    gal = tmp_path / "g.db"
    eng = Engine(gal, Settings(device="cpu", keep_frames=False))
    try:
        from testdata import MARKET

        crops = sorted(MARKET.glob("*.jpg"))[:4]
        for i, c in enumerate(crops):
            eng.register(c, "same" if i < 2 else f"p{i}", whole=True)  # one same-identity pair
    finally:
        eng.close()
    local = tmp_path / "local_models.json"
    rc = main(["calibrate", "--gallery", str(gal), "--save", "--local-config", str(local)])
    out = capsys.readouterr()
    assert rc == 2 and not local.exists()
    assert "no threshold suggested" in out.out and "at least 10" in out.err and "nothing saved" in out.err


# -- Settings ---------------------------------------------------------------------------------------------
def test_threshold_per_category(gui_engine):
    e = gui_engine
    dp, dv = e.default_threshold("person"), e.default_threshold("vehicle")
    assert e.threshold("person", Settings(thresholds={"vehicle": 0.3})) == dp
    assert e.threshold("vehicle", Settings(thresholds={"vehicle": 0.3})) == 0.3
    both = Settings(threshold=0.4)  # the CLI's --threshold: every category
    assert (e.threshold("person", both), e.threshold("vehicle", both)) == (0.4, 0.4)
    mixed = Settings(threshold=0.4, thresholds={"vehicle": 0.3})
    assert (e.threshold("person", mixed), e.threshold("vehicle", mixed)) == (0.4, 0.3)
    # a later single threshold (the CLI's, an evaluation's) is every category's: earlier overrides do not win over it
    later = mixed.with_(threshold=0.5)
    assert (e.threshold("person", later), e.threshold("vehicle", later)) == (0.5, 0.5)
    assert Settings(thresholds={"vehicle": 0.3}) == Settings(thresholds=(("vehicle", 0.3),))  # hashable, one form
    with pytest.raises(ValueError):
        Settings().with_(thresholds={"cat": 0.3})
    with pytest.raises(ValueError):
        Settings().with_(thresholds={"vehicle": 5.0})
    assert (dp, dv) == (e.threshold("person"), e.threshold("vehicle"))


def test_settings_dialog_per_category_round_trip_and_help_text(qtbot, gui_engine, tmp_path, dialogs):
    dlg = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert set(dlg.thresholds) == {"person", "vehicle"}
    for c in ("person", "vehicle"):  # the default as the spin box holds it (0.094 once read "0.09")
        assert f"({gui_engine.default_threshold(c):.3f}".rstrip("0") in dlg.use_defaults[c].text()
    dlg.use_defaults["vehicle"].setChecked(False)
    dlg.thresholds["vehicle"].setValue(0.31)
    assert dlg.use_defaults["person"].isChecked() and not dlg.thresholds["person"].isEnabled()

    # sampleFt in words, and its warning shown whole (the dialog grows with it)
    assert "every frame" in dlg.sample_note.text()
    dlg.tracking.setChecked(True)
    dlg.sample_ft.setValue(4)
    assert "one frame in 4" in dlg.sample_note.text() and "Warning" in dlg.sample_note.text()
    qtbot.waitUntil(lambda: dlg.sample_note.height() >= dlg.sample_note.heightForWidth(dlg.sample_note.width()),
                    timeout=3000)

    dlg.accept()
    s = gui_engine.settings
    assert s.thresholds == (("vehicle", 0.31),) and s.threshold is None
    assert gui_engine.threshold("vehicle") == 0.31
    assert gui_engine.threshold("person") == gui_engine.default_threshold("person")
    other = Engine(tmp_path / "other.db")
    try:
        assert app_settings.load(other).thresholds == (("vehicle", 0.31),)
    finally:
        other.close()
        app_settings.qsettings().clear()

    # an older single override shows in each category
    gui_engine.update_settings(threshold=0.42, thresholds=())
    dlg2 = SettingsDialog(gui_engine)
    qtbot.addWidget(dlg2)
    assert all(not dlg2.use_defaults[c].isChecked() and dlg2.thresholds[c].value() == pytest.approx(0.42)
               for c in ("person", "vehicle"))
    assert not dialogs.shown


# -- Process ----------------------------------------------------------------------------------------------
@pytest.fixture
def page(qtbot, gui_engine):
    p = ProcessPage(gui_engine)
    qtbot.addWidget(p)
    p.resize(1100, 650)
    p.show()
    yield p
    assert p.shutdown()


def test_a_broken_or_empty_video_is_refused_when_opened(qtbot, page, dialogs, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    for bad in (broken, empty):
        assert page.set_source(bad) is False
        assert page.source is None and not page.play_btn.isEnabled()
    assert len(dialogs.of("critical")) == 2
    assert all(bad.name in text for (_, _, text), bad in zip(dialogs.of("critical"), (broken, empty)))

    # a good video: its first frame and its length at once
    assert page.set_source(PED_VIDEO)
    assert page.view.has_image() and page.play_btn.isEnabled()
    info = page.progress_label.text()  # e.g. "Press Play to process x.mp4 · 0:19.4 · 1394 frames · 768×432."
    vi = video_info(PED_VIDEO)
    assert f"{vi.frame_count} frames" in info and fmt_time(vi.frame_count / vi.fps) in info


def test_a_file_that_is_no_image_or_video_and_a_folder_without_any_are_refused_when_opened(page, dialogs, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.md").write_text("no media here")
    for bad in (notes, empty, tmp_path / "gone.mp4"):
        assert page.set_source(bad) is False
        assert page.source is None and not page.play_btn.isEnabled()
    texts = [text for _, _, text in dialogs.of("critical")]
    assert "Not an image or video" in texts[0] and "no images or videos" in texts[1] and "gone.mp4" in texts[2]


def test_a_folder_whose_files_all_fail_says_so_and_offers_no_export(qtbot, page, dialogs, tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not a jpeg")
    (folder / "b.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    assert page.set_source(folder) and "2 files" in page.source_label.toolTip() + page.progress_label.text()
    page.play_pause()
    qtbot.waitUntil(lambda: page.report is not None and page.worker is None, timeout=WAIT)
    assert "2 files (2 could not be processed)" in page.progress_label.text()
    assert not page.export_btn.isEnabled() and "Nothing to export" in page.export_btn.toolTip()
    assert not page.view.has_image() and "Nothing could be processed" in page.view._placeholder
    assert [title for _, title, _ in dialogs.of("critical")] == ["Some files could not be processed"]


def test_distances_never_show_minus_zero(page):
    assert fmt_distance(-0.0) == "0.000" and fmt_distance(-1e-7) == "0.000" and fmt_distance(-1e-9, 2) == "0.00"
    assert fmt_distance(0.1234) == "0.123" and fmt_distance(-0.25) == "-0.250"
    boxes = [BoxResult((0, 0, 10, 20), 0.9, "person", 1, Match(1, "Ann", -1e-8))]
    assert page._overlay(boxes)[0].text == "Ann 0.00"
    from Algorithm.sinks.draw import match_text

    assert match_text(boxes[0]) == "Ann 0.00"


def test_panel_width_and_status_line_stay(qtbot, gui_engine):
    from GUI.main import MainWindow

    win = MainWindow(gui_engine, load_settings=False, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1024, 700)
    win.show()
    qtbot.waitExposed(win)
    page = win.process_page
    win.show_page(2)
    QApplication.processEvents()
    before = page.splitter.sizes()
    page.frames_done = 1234567
    page._set_match_count(7654321)
    QApplication.processEvents()
    assert page.splitter.sizes() == before
    # the gallery line survives status messages and status tips
    win.statusBar().showMessage("something else", 10)
    win.statusBar().clearMessage()
    assert win.gallery_status.isVisible() and str(gui_engine.gallery_path) in win.gallery_status.text()
    win.close()


def test_folder_progress_counts_files(qtbot, page, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for n in ("a.jpg", "b.jpg"):
        (folder / n).write_bytes(BUS.read_bytes())
    page.set_source(folder)
    page.play_pause()
    qtbot.waitUntil(lambda: page.report is not None, timeout=WAIT)
    assert page.progress.format() == "%v / %m files"
    assert (page.progress.value(), page.progress.maximum()) == (2, 2)


def test_exports_start_in_the_last_export_folder(qtbot, page, tmp_path):
    app_settings.qsettings().clear()
    assert page.set_source(BUS)
    assert str(BUS.parent) in page._default_name(".json")  # nothing exported yet: beside the source
    out = tmp_path / "exports"
    out.mkdir()
    app_settings.remember_export(out / "x.json")
    assert page._default_name(".json").startswith(str(out))
    app_settings.qsettings().clear()


def test_the_summary_says_when_registered_vehicles_are_not_looked_for(qtbot, page, gui_engine):
    assert "not looked for" not in page.settings_summary.text()
    gui_engine.register(BUS, "The bus", category="vehicle")
    page.hide()
    page.show()  # back on the page: the summary is read again
    assert "1 registered vehicle not looked for" in page.settings_summary.text()
    gui_engine.update_settings(categories=("person", "vehicle"))
    page._show_settings_summary()
    assert "not looked for" not in page.settings_summary.text()


def test_an_export_never_overwrites_the_gallery_or_the_searched_photo(qtbot, page, dialogs, tmp_path, gui_engine):
    import shutil

    photo = tmp_path / "in.jpg"
    shutil.copy(BUS, photo)
    assert page.set_source(photo)
    page.play_pause()
    qtbot.waitUntil(lambda: page.report is not None and page.worker is None, timeout=WAIT)
    gallery_bytes = gui_engine.gallery_path.read_bytes()
    assert page.export_json(str(gui_engine.gallery_path)) is None
    assert page.export_csv(str(photo)) is None
    texts = [text for _, _, text in dialogs.of("critical")]
    assert "the gallery" in texts[0] and "a file being searched" in texts[1]
    assert gui_engine.gallery_path.read_bytes() == gallery_bytes and photo.read_bytes() == BUS.read_bytes()
    assert page.export_json(str(tmp_path / "results.json")) == tmp_path / "results.json"


# -- Register -----------------------------------------------------------------------------------------------
def test_enter_in_the_label_saves(qtbot, gui_engine, dialogs):
    from GUI.UiPageRegister import RegisterPage

    page = RegisterPage(gui_engine)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.load_photo(BUS)
    qtbot.waitUntil(lambda: len(page.view.boxes) >= 4 and not page.workers.busy, timeout=WAIT)
    page.found.setCurrentRow(next(i for i in range(len(page.view.boxes)) if page._dets.category[i] == "person"))
    qtbot.keyClick(page.label.lineEdit(), Qt.Key.Key_Return)  # no name yet: nothing happens
    assert not page.workers.busy and not gui_engine.identities()
    qtbot.keyClicks(page.label.lineEdit(), "Enter Person")
    qtbot.keyClick(page.label.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(gui_engine.identities()) and not page.workers.busy, timeout=WAIT)
    assert [i.label for i in gui_engine.identities()] == ["Enter Person"]
    assert not dialogs.of("critical"), dialogs.texts()


def test_box_numbers_never_cover_each_other(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    img = QImage(640, 480, QImage.Format.Format_RGB888)
    img.fill(0)
    from GUI.widgets import qcolor

    boxes = [OverlayBox((100 + 4 * k, 100 + 3 * k, 200 + 4 * k, 300), str(k + 1), qcolor(k), clickable=True)
             for k in range(5)]  # a group: five boxes almost on top of each other
    boxes.append(OverlayBox((0, 0, 60, 120), "6", qcolor(6), clickable=True))  # at the image edge
    view.set_image(img, boxes)
    rects = view.tag_rects()
    assert len(rects) == 6
    for i in rects:
        for j in rects:
            if i < j:
                assert not rects[i].intersects(rects[j]), (i, j, rects[i], rects[j])
        assert QRectF(view.rect()).contains(rects[i])
