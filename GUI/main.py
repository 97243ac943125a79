"""Desktop app: `python GUI/main.py` (from the repository root, or anywhere).

Options: --gallery FILE (another gallery), --page register|manager|process|calibrate, --screenshot OUT.png (save the
window after start-up and quit; for docs).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QWidget,
)

from Algorithm.outer_api import Engine, ModelSummary, ReIdError
from GUI import app_settings, qt_platform
from GUI.UiPageCalibrate import CalibratePage
from GUI.UiPageLibrary import LibraryPage
from GUI.UiPageManager import ManagerPage
from GUI.UiPageProcess import ProcessPage
from GUI.UiPageRegister import RegisterPage
from GUI.widgets import confirm
from GUI.workers import Worker, WorkerPool

PAGES = ("register", "manager", "process", "library", "calibrate")


class MainWindow(QMainWindow):
    """Side navigation between the Register, Manager, Process, Library and Calibrate pages, all on one Engine."""

    def __init__(self, engine: Engine, load_settings: bool = True, warm_up: bool = True):
        super().__init__()
        self.engine = engine
        if load_settings:
            app_settings.load(engine)
        self.setWindowTitle("ReID \u2013 find people and vehicles in videos")
        self.resize(1280, 800)
        self.workers = WorkerPool()

        self.register_page = RegisterPage(engine)
        self.manager_page = ManagerPage(engine)
        self.process_page = ProcessPage(engine)
        self.library_page = LibraryPage(engine)
        self.calibrate_page = CalibratePage(engine)
        self.pages = [self.register_page, self.manager_page, self.process_page, self.library_page, self.calibrate_page]
        self.library_page.openMoment.connect(self.open_moment)
        self.process_page.similarWanted.connect(self.find_similar)
        self.register_page.registered.connect(lambda _: self.manager_page.refresh())
        self.manager_page.galleryChanged.connect(self.register_page.refresh_labels)
        self.manager_page.verdictsChanged.connect(self.process_page.refresh_marks)  # an undone confirm loses its mark
        self.process_page.galleryChanged.connect(lambda: self.manager_page.refresh())  # a confirmed view added

        st = self.style()
        self.nav = QListWidget()
        self.nav.setIconSize(QSize(28, 28))
        self.nav.setFixedWidth(170)
        self.nav.setSpacing(4)
        self.nav.setFrameShape(QListWidget.Shape.NoFrame)
        for text, icon, tip in (
            ("Register", QStyle.StandardPixmap.SP_FileDialogNewFolder, "Add a person or vehicle from a photo"),
            ("Manager", QStyle.StandardPixmap.SP_FileDialogListView, "See, rename and delete registered identities"),
            ("Process", QStyle.StandardPixmap.SP_MediaPlay, "Find registered identities in videos and photos"),
            ("Library", QStyle.StandardPixmap.SP_DirIcon, "Footage processed once, searched again in milliseconds"),
            ("Calibrate", QStyle.StandardPixmap.SP_FileDialogContentsView, "Which match threshold suits your data"),
        ):
            item = QListWidgetItem(QIcon(st.standardIcon(icon)), text)
            item.setToolTip(tip)
            item.setSizeHint(QSize(150, 46))
            f = item.font()
            f.setPointSizeF(f.pointSizeF() * 1.15)
            item.setFont(f)
            self.nav.addItem(item)
        self.stack = QStackedWidget()
        for p in self.pages:
            self.stack.addWidget(p)
        self.nav.currentRowChanged.connect(self.show_page)

        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.nav)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.model_status = QLabel("")
        self.statusBar().addPermanentWidget(self.model_status)
        # a widget, not a message: status tips (hovering a menu or a button) clear messages, not widgets
        self.gallery_status = QLabel()
        self.statusBar().addWidget(self.gallery_status, 1)
        self.show_gallery_state()
        self.manager_page.galleryChanged.connect(self.show_gallery_state)  # a restore repairs a damaged gallery
        self.nav.setCurrentRow(0)
        if warm_up:
            QTimer.singleShot(0, self._warm_up)

    def show_gallery_state(self) -> None:
        caution = self.engine.gallery_caution  # damaged, or on a read-only disk: read, never written
        state = "DAMAGED, read-only: restore a backup (Manager page)" if "damaged" in caution else "read-only"
        self.gallery_status.setText(f"Gallery: {self.engine.gallery_path}" + (f"  \u2014  {state}" if caution else ""))
        self.gallery_status.setStyleSheet("color: #c62828; font-weight: bold" if caution else "")
        self.gallery_status.setToolTip(caution)

    def show_page(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        if self.pages[index] is self.manager_page:
            self.manager_page.refresh()
        if self.pages[index] is self.library_page and not self.library_page.workers.busy:
            self.library_page.refresh()  # files processed on the Process page were added meanwhile
        if self.nav.currentRow() != index:
            self.nav.setCurrentRow(index)

    def open_moment(self, path: str, frame_index: int) -> None:
        """A sighting clicked in the Library: shown on the Process page at that frame (not over a run or an export
        in progress: the user is told why)."""
        if not self.process_page.open_moment(path, frame_index):
            QMessageBox.information(self, "Open this moment", "The Process page is busy (processing or exporting). "
                                    "Stop it or let it finish, then open this moment again.")
            return
        self.show_page(self.pages.index(self.process_page))

    def find_similar(self, path: str, frame_index: int, box) -> None:
        """A box of the review player: the tracks like it, on the Library page."""
        self.show_page(self.pages.index(self.library_page))
        self.library_page.find_similar_at(path, frame_index, box)

    def _warm_up(self) -> None:
        """Loads the models in the background so the first detection does not wait for them."""
        self.model_status.setText("Loading models\u2026")

        def ok(info: ModelSummary):
            self.model_status.setText(f"Models ready ({info.detector_provider.replace('ExecutionProvider', '')})")

        def failed(msg):
            self.model_status.setText("Models not loaded: see the message")
            QMessageBox.warning(self, "Models", msg)

        self.workers.start(Worker(self.engine.model_info), ok, failed)

    def closeEvent(self, ev) -> None:
        """Asks first when work is in progress (No is the default), then stops it cleanly (cancel, then wait for
        the workers) before the window goes."""
        work = [w for p in self.pages if hasattr(p, "work_in_progress") for w in p.work_in_progress()]
        if work and not confirm(self, "Quit while work is in progress?",
                                "Still in progress:\n\n" + "\n".join(f"\u2022 {w}" for w in work)
                                + "\n\nQuit anyway? Quitting stops it."):
            ev.ignore()
            return
        self.statusBar().showMessage("Stopping\u2026")
        for p in self.pages:
            if hasattr(p, "shutdown"):
                p.shutdown()
        self.workers.shutdown()
        super().closeEvent(ev)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ReID desktop app")
    ap.add_argument("--gallery", type=Path, help="gallery file (default: the one in your data folder)")
    ap.add_argument("--page", choices=PAGES, default="register")
    ap.add_argument("--screenshot", type=Path, help="save a PNG of the window after start-up, then quit")
    args = ap.parse_args(argv)

    # after cv2 was imported (by the engine), before Qt starts: PySide6's own plugins, missing X11 libraries named
    qt_platform.check_before_start()
    QApplication.setApplicationName("ReIDApp")
    QApplication.setOrganizationName("ReIDApp")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")  # follows the system's light/dark colour scheme on Qt >= 6.5
    try:
        engine = Engine(args.gallery)
    except (ReIdError, OSError) as e:
        QMessageBox.critical(None, "ReID", f"The app cannot start:\n\n{e}")
        return 1
    win = MainWindow(engine, warm_up=args.screenshot is None)
    win.show_page(PAGES.index(args.page))
    win.show()
    if engine.gallery_caution and not args.screenshot:  # said once at start; the status bar keeps saying it
        QTimer.singleShot(0, lambda: QMessageBox.warning(win, "The gallery cannot be changed", engine.gallery_caution))
    if args.screenshot:
        def shoot():
            win.grab().save(str(args.screenshot))
            win.close()
        QTimer.singleShot(500, shoot)
    rc = app.exec()
    engine.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
