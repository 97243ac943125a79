"""Makes the GUI screenshots in docs/ from real content, on a throw-away gallery.

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/make_screenshots.py   # or QT_QPA_PLATFORM=offscreen

It never touches the user's gallery or settings: REID_DATA_DIR is pointed at a new temp folder. Assets come
from $REID_TEST_ASSETS (default ../shared/assets beside the checkout), models from $REID_MODELS_DIR
(default: the assets' models/). Takes about a minute on a CPU.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["REID_DATA_DIR"] = tempfile.mkdtemp(prefix="reid-shots-")
os.environ["REID_LOCAL_CONFIG"] = str(Path(os.environ["REID_DATA_DIR"]) / "local_models.json")
ASSETS = Path(os.environ.get("REID_TEST_ASSETS") or ROOT.parent / "shared" / "assets").resolve()
os.environ.setdefault("REID_MODELS_DIR", str(ASSETS / "models"))

from PySide6.QtWidgets import QApplication  # noqa: E402  (after the environment above)

from Algorithm.outer_api import Engine, read_video_frame  # noqa: E402
from GUI.qt_platform import use_pyside_plugins  # noqa: E402

BUS = ASSETS / "images" / "ultralytics" / "bus.jpg"
ZIDANE = ASSETS / "images" / "ultralytics" / "zidane.jpg"
PED_VIDEO = ASSETS / "videos" / "pedestrians" / "one-by-one-person-detection.mp4"


def wait_until(cond, timeout=300.0, what="") -> None:
    t0 = time.monotonic()
    while not cond():
        QApplication.processEvents()
        time.sleep(0.01)
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"timed out waiting for {what}")


def settle(seconds=0.3) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        QApplication.processEvents()
        time.sleep(0.01)


def seed(engine: Engine) -> None:
    """A small gallery: people from the sample photos, the walker of the pedestrian video, and a bus."""
    dets = engine.detect(BUS, categories=("person", "vehicle")).detections
    persons = [tuple(map(float, b)) for b, c in zip(dets.xyxy, dets.category) if c == "person"]
    vehicles = [tuple(map(float, b)) for b, c in zip(dets.xyxy, dets.category) if c == "vehicle"]
    for label, box in zip(("Anna", "Ben", "Carl"), sorted(persons, key=lambda b: b[0])[:3]):
        engine.register(BUS, label, "person", box=box)
    if vehicles:
        engine.register(BUS, "City bus", "vehicle", box=vehicles[0])
    zd = engine.detect(ZIDANE, categories=("person",)).detections
    if len(zd):  # the slimmer of the two men
        i = max(range(len(zd)), key=lambda k: (zd.xyxy[k][3] - zd.xyxy[k][1]) / (zd.xyxy[k][2] - zd.xyxy[k][0]))
        engine.register(ZIDANE, "Coach", "person", box=tuple(map(float, zd.xyxy[i])))
    engine.register(read_video_frame(PED_VIDEO, 300), "Walker", "person")
    engine.register(read_video_frame(PED_VIDEO, 330), "Walker", "person")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--size", default="1280x800")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    use_pyside_plugins()  # cv2 (imported above) points Qt at its own plugins
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    from GUI.main import MainWindow
    from GUI.UiDialogSettings import SettingsDialog

    engine = Engine()
    engine.update_settings(device="cpu", sample_ft=3, tracking=True, categories=("person",))
    seed(engine)
    win = MainWindow(engine, load_settings=False, warm_up=False)
    win.resize(w, h)
    win.show()
    settle()

    # Register: bus.jpg with its numbered boxes, one saved, the next one chosen and labelled
    reg = win.register_page
    reg.load_photo(BUS)
    wait_until(lambda: reg.view.boxes and not reg.workers.busy, what="detection")
    persons = [i for i, c in enumerate(reg._dets.category) if c == "person"]
    rightmost = max(persons, key=lambda i: reg._dets.xyxy[i][0])
    reg.select_box(rightmost)
    reg.label.setEditText("Dora")
    reg.confirm()
    wait_until(lambda: reg.last_result is not None and not reg.workers.busy, what="registration")
    reg.select_box(persons[0])
    reg.label.setEditText("Anna")
    settle()
    args.out.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(args.out / "register.png"))

    # Process: the pedestrian video, paused on a frame where the walker is highlighted
    win.show_page(win.pages.index(win.process_page))
    proc = win.process_page
    proc.max_frames = 880
    proc.set_source(PED_VIDEO)
    proc.play_pause()

    def highlighted() -> bool:
        return any(b.color is not None for b in proc.view.boxes)

    # the walker (registered from frame 300) is in view in frames 225-450: pause on him, mid-way
    wait_until(lambda: proc.report is not None or (proc.progress.value() >= 330 and highlighted()),
               what="the walker, highlighted")
    proc.pause()
    settle(0.5)
    win.grab().save(str(args.out / "process.png"))

    # Jump to the first sighting
    first = proc.sightings.choose_first()
    if first is not None:
        wait_until(lambda: proc.view.boxes and proc.view.boxes[0].text.startswith(first.label), what="sighting frame")
        settle()
        win.grab().save(str(args.out / "process_sighting.png"))

    # Review: the run finished, played back in the player with its timeline, on the walker's best frame, which
    # the user has confirmed (its check mark)
    proc.resume()
    wait_until(lambda: proc.report is not None and proc.worker is None and proc.player.position >= 0,
               what="the end of the run")
    shown = proc.sightings.choose_first()  # selected in the list, its best frame in the player
    if shown is not None and proc.judge_sighting(shown, "confirm"):
        wait_until(lambda: not proc.judging, what="the verdict")
    if shown is not None:
        wait_until(lambda: proc.player.position == shown.best_frame, what="the sighting's best frame")
    wait_until(lambda: proc.sightings.thumbnail_count() == proc.sightings.segment_count(), what="thumbnails")
    settle(0.5)
    win.grab().save(str(args.out / "review.png"))

    # Manager: the gallery, Walker selected with his two photos and the sighting confirmed on the Process page
    win.show_page(win.pages.index(win.manager_page))
    mgr = win.manager_page
    row = next(r for r in range(mgr.model.rowCount()) if mgr.model.identity(r).label == "Walker")
    mgr.table.selectRow(row)
    settle()
    win.grab().save(str(args.out / "manager.png"))

    # Library: the video processed above is indexed; two more "cameras" (copies of the video's first 460 frames in
    # folders named after them) are added, then Walker is found in all of them, and his journey drawn
    import shutil
    import tempfile

    cams = Path(tempfile.mkdtemp(prefix="reid-shots-"))
    # named as recorders write them: the journey follows these times (lobby first), not the order of the copies
    for cam, name in (("entrance", "entrance_20261201_091500.mp4"), ("lobby", "lobby_20261201_090000.mp4")):
        (cams / cam).mkdir()
        shutil.copyfile(PED_VIDEO, cams / cam / name)
        engine.index_all(cams / cam / name, max_frames=460)
    win.show_page(win.pages.index(win.library_page))
    lib = win.library_page
    lib.refresh()
    lib.query.setCurrentIndex(max(0, lib.query.findText("Walker (person)")))
    lib.find()
    wait_until(lambda: lib.grid.count() > 0 and not lib.workers.busy, what="library find")
    settle(0.5)
    win.grab().save(str(args.out / "library.png"))
    lib.tabs.setCurrentIndex(1)
    settle(0.5)
    win.grab().save(str(args.out / "journey.png"))

    dlg = SettingsDialog(engine, running=proc.running, parent=win)
    dlg.show()
    settle()
    dlg.grab().save(str(args.out / "settings.png"))
    dlg.close()

    # Calibrate: the MOT17-mini evaluation sequences, with the suggested threshold for a 1% false-match rate
    win.show_page(win.pages.index(win.calibrate_page))
    cal = win.calibrate_page
    cal.use_folder.setChecked(True)
    cal.folder_edit.setText(str(ASSETS / "mot" / "MOT17-mini"))
    cal.compute()
    wait_until(lambda: not cal.busy and cal.calibration is not None, what="calibration")
    settle(0.5)
    win.grab().save(str(args.out / "calibrate.png"))

    win.close()
    engine.close()
    for p in ("register", "manager", "process", "process_sighting", "review", "library", "journey", "settings", "calibrate"):
        print(args.out / f"{p}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
