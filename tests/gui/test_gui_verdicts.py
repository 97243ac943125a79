"""Reviewing what was found on the Process page: reject a sighting (it leaves the list, the timeline and the player at
once; the Manager lists the verdict and Undo forgets it), confirm (a check mark; with a photo added to the identity),
a box of the player judged as its track, and the evidence export of the selected sighting.

The run: the pedestrian video with black-jacket registered from frame 300 and a loose threshold (0.75), at which
grey-cardigan (in view at frames 60-205) is wrongly taken for black-jacket: the mistake to correct."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from Algorithm.outer_api import Engine, Settings, verify_evidence
from GUI import app_settings
from GUI.session_runs import Run
from GUI.sightings_panel import CHECK, CONFIRM, CONFIRM_ADD, REJECT
from GUI.UiPageManager import ManagerPage
from GUI.UiPageProcess import ProcessPage

from testdata import PED_VIDEO, video_frame

WAIT = 180_000
FRAMES = 460  # grey-cardigan in view at 60-205, black-jacket at 225-450
LOOSE = 0.75
SAMPLE_FT = 3
GREY_ENDS = 215  # a black-jacket segment starting before this is grey-cardigan


def make_page(qtbot, engine: Engine) -> ProcessPage:
    p = ProcessPage(engine)
    qtbot.addWidget(p)
    p.resize(1200, 760)
    p.show()
    return p


@pytest.fixture(scope="module")
def ran(qapp, tmp_path_factory):
    """One run of the video on the Process page (Play, to the end); its gallery and report, which each test shows
    again on a copy of the gallery (verdicts change the gallery)."""
    root = tmp_path_factory.mktemp("verdicts")
    eng = Engine(root / "base.db", Settings(device="cpu", sample_ft=SAMPLE_FT, threshold=LOOSE, categories=("person",)))
    eng.register(video_frame(PED_VIDEO, 300), "black-jacket")
    page = ProcessPage(eng)
    page.max_frames = FRAMES
    assert page.set_source(PED_VIDEO)
    page.play_pause()
    t0 = time.monotonic()
    while page.report is None or page.workers.has("search"):
        QApplication.processEvents()
        time.sleep(0.01)
        assert time.monotonic() - t0 < WAIT / 1000, "the run did not end"
    report = page.report
    assert page.shutdown()
    page.deleteLater()
    (res,) = report.files
    starts = [g.start_frame for s in res.sightings for g in s.segments]
    assert any(f < GREY_ENDS for f in starts), "at this threshold grey-cardigan should be taken for black-jacket"
    assert any(f >= GREY_ENDS for f in starts), "black-jacket himself should be found"
    yield root / "base.db", eng, report
    eng.close()


@pytest.fixture
def shown(qtbot, ran, tmp_path):
    """A page showing the run's results on a fresh copy of its gallery."""
    _, base, report = ran
    base.backup(tmp_path / "g.db")
    eng = Engine(tmp_path / "g.db", Settings(device="cpu"))
    page = make_page(qtbot, eng)
    page.show_run(Run(report))
    qtbot.waitUntil(lambda: page.player.position >= 0, timeout=WAIT)
    yield page, eng
    assert page.shutdown()
    eng.close()


def leaf(page, grey: bool):
    """The list item of grey-cardigan's (wrong) sighting, or of black-jacket's own."""
    tree = page.sightings
    items = [tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
             for j in range(tree.topLevelItem(i).childCount())]
    return next(it for it in items if (it.data(0, Qt.ItemDataRole.UserRole).start_frame < GREY_ENDS) == grey)


def select(page, item):
    page.sightings.setCurrentItem(item)
    return item.data(0, Qt.ItemDataRole.UserRole)


def segments(sightings) -> list[tuple[int, int, int]]:
    return [(s.identity_id, g.start_frame, g.end_frame) for s in sightings for g in s.segments]


def wait_judged(qtbot, page):
    qtbot.waitUntil(lambda: not page.judging, timeout=WAIT)


def test_rejecting_a_sighting_removes_it_at_once_and_the_manager_can_undo_it(qtbot, shown, dialogs):
    page, eng = shown
    before = page.report
    ref = select(page, leaf(page, grey=True))
    assert page.reject_btn.isEnabled() and page.reject_btn.text() == "\u2717 Not black-jacket\u2026"
    qtbot.mouseClick(page.reject_btn, Qt.MouseButton.LeftButton)
    wait_judged(qtbot, page)
    (asked,) = dialogs.of("question")
    assert asked[1] == "Not black-jacket?" and "Undo" in asked[2]  # says what happens and how to take it back

    # gone at once from the list, the timeline and the player; black-jacket's own sighting stays
    res = page.report.files[0]
    assert page.report is not before and all(r.start_frame >= GREY_ENDS for r in page.sightings.refs())
    assert page.sightings.refs() and ref.key not in {r.key for r in page.sightings.refs()}
    assert page.player.result is res and page.player.timeline.segments() == segments(res.sightings)
    assert all(start >= GREY_ENDS for _, start, _ in page.player.timeline.segments())
    assert all(f.frame_index >= GREY_ENDS for f in res.frames)
    assert page.runs.current_run().report is page.report  # the Run entry keeps the updated results
    assert "taken out" in page.progress_label.text()

    # the Manager lists it under black-jacket; Undo forgets it
    mgr = ManagerPage(eng)
    qtbot.addWidget(mgr)
    mgr.show()
    assert mgr.selected_identity().label == "black-jacket" and mgr.verdicts.count() == 1
    item = mgr.verdicts.item(0)
    assert "Rejected" in item.text() and PED_VIDEO.name in item.text() and f"frames {ref.start_frame}" in item.text()
    assert not item.icon().isNull()  # the thumbnail of the rejected view
    assert not mgr.undo_btn.isEnabled()
    mgr.verdicts.setCurrentRow(0)
    with qtbot.waitSignal(mgr.verdictsChanged):
        qtbot.mouseClick(mgr.undo_btn, Qt.MouseButton.LeftButton)
    assert mgr.verdicts.count() == 0 and eng.verdicts() == [] and "None yet" in mgr.verdicts_hint.text()
    assert not dialogs.of("critical"), dialogs.texts()


def test_confirm_marks_the_sighting_and_adds_a_photo_and_a_box_of_the_player_is_its_track(qtbot, shown, dialogs):
    page, eng = shown
    ref = select(page, leaf(page, grey=False))
    add = page.confirm_btn.menu().actions()[0]
    assert add.text() == "Confirm and add its best view to black-jacket\u2019s photos"
    menu = page.sightings.menu_for(leaf(page, grey=False))  # the right-click menu offers the same
    assert [a.objectName() for a in menu.actions() if a.objectName()] == [CONFIRM, CONFIRM_ADD, REJECT, "evidence"]
    with qtbot.waitSignal(page.galleryChanged, timeout=WAIT):
        add.trigger()
    wait_judged(qtbot, page)
    assert eng.identities()[0].n_entries == 2
    assert page.sightings.confirmed_keys() == {ref.key}
    assert leaf(page, grey=False).text(0).startswith(CHECK) and not leaf(page, grey=True).text(0).startswith(CHECK)
    (v,) = eng.verdicts()
    assert v.verdict == "confirm" and ref.start_frame <= v.start_frame <= v.end_frame <= ref.end_frame
    assert not dialogs.shown, dialogs.texts()  # a confirm asks nothing

    # a box clicked in the player: its track (grey-cardigan's), rejected from there
    grey = leaf(page, grey=True).data(0, Qt.ItemDataRole.UserRole)
    page.player.seek(grey.best_frame, play=False)
    qtbot.waitUntil(lambda: page.player.position == grey.best_frame, timeout=WAIT)
    x1, y1, x2, y2 = grey.best_box
    pick = page.pick_at(page.view.image_to_widget((x1 + x2) / 2, (y1 + y2) / 2))
    assert pick is not None and pick.track_id is not None and pick.label == "black-jacket"
    assert page.pick_at(page.view.image_to_widget(1, 1)) is None  # nobody there
    assert page.judge(pick, REJECT)
    wait_judged(qtbot, page)
    assert [r.key for r in page.sightings.refs()] == [ref.key]
    assert page.sightings.confirmed_keys() == {ref.key}  # the mark stays on what is left
    assert sorted(v.verdict for v in eng.verdicts()) == ["confirm", "reject"]


def test_evidence_export_of_the_selected_sighting_writes_a_verified_case_folder(qtbot, shown, dialogs, tmp_path,
                                                                                monkeypatch):
    page, eng = shown
    ref = select(page, leaf(page, grey=False))
    selection, what = page.evidence_selection()
    assert [(s.path, s.identity_id, len(s.segments)) for s in selection] == [(ref.path, ref.identity_id, 1)]
    assert what == f"1 sighting of black-jacket in {PED_VIDEO.name}"
    assert "Blur everyone else" in page.evidence_box(what).checkBox().text()
    assert page.act_evidence.isEnabled()

    case = tmp_path / "case"
    assert page.export_evidence(case, blur_others=False)
    assert page.exporter is not None and not page.export_btn.isEnabled() and page.stop_btn.isEnabled()
    # the results it is drawn from stay on screen meanwhile: neither Reset nor another run can replace them
    assert not page.reset_btn.isEnabled() and not page.runs.isEnabled() and not page.open_btn.isEnabled()
    qtbot.waitUntil(lambda: page.exporter is None, timeout=WAIT)
    assert not dialogs.of("critical"), dialogs.texts()
    (info,) = dialogs.of("information")
    assert str(case) in info[2]
    assert verify_evidence(case) == []
    results = json.loads((case / "results.json").read_text(encoding="utf-8"))
    (f,) = results["files"]
    assert [s["label"] for s in f["sightings"]] == ["black-jacket"]
    assert len(list((case / "clips").iterdir())) == 1 and Path(f["path"]).name == PED_VIDEO.name

    # from the menu: the question (Blur everyone else left off), then the folder dialog, which starts in the last
    # export's folder; a folder that is not empty gets a new case folder inside it
    def answer(box):
        box.checkBox().setChecked(False)
        next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole).click()
        return 0

    started = []

    def choose(parent, title, start):
        started.append(start)
        return str(tmp_path)

    monkeypatch.setattr(QMessageBox, "exec", answer)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose))
    assert app_settings.last_export_dir("x") == str(tmp_path)
    page.export_evidence()
    assert started == [str(tmp_path)]
    qtbot.waitUntil(lambda: page.exporter is None, timeout=WAIT)
    assert not dialogs.of("critical"), dialogs.texts()
    (made,) = [d for d in tmp_path.iterdir() if d.name.startswith(PED_VIDEO.stem + "_evidence_")]
    assert verify_evidence(made) == [] and str(made) in dialogs.of("information")[-1][2]

    # Stop cancels an export: no folder, no error
    assert page.export_evidence(tmp_path / "stopped", blur_others=False)
    page.stop()
    qtbot.waitUntil(lambda: page.exporter is None, timeout=WAIT)
    assert page.progress_label.text() == "Export cancelled." and not dialogs.of("critical")
    assert not [d for d in tmp_path.iterdir() if "stopped" in d.name]
