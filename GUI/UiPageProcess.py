"""Process page: choose a file or folder, play/pause/stop/reset the search, watch matches, jump to sightings,
export results (JSON, CSV) and annotated videos."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import (
    Engine,
    FileResult,
    SearchReport,
    file_sightings,
    media_kind,
    read_image,
    read_video_frame,
)
from GUI.sightings_panel import SightingRef, SightingsTree
from GUI.UiDialogSettings import SettingsDialog
from GUI.widgets import ElidedLabel, ImageView, OverlayBox, fmt_duration, hint_label, local_files, qcolor, show_error
from GUI.workers import CallWorker, ExportVideoWorker, FrameUpdate, SearchWorker, WorkerPool, bgr_to_qimage

MEDIA_FILTER = ("Images and videos (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp *.mp4 *.avi *.mov *.mkv *.m4v "
                "*.wmv *.mpg *.mpeg *.webm *.flv *.ts);;All files (*)")


class ProcessPage(QWidget):
    def __init__(self, engine: Engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.max_frames: int | None = None  # stop each video at this frame (tests, previews); None = whole video
        self.workers = WorkerPool(on_idle=self._update_buttons)
        self.worker: SearchWorker | None = None
        self.exporter: ExportVideoWorker | None = None
        self.source: Path | None = None
        self.report: SearchReport | None = None
        self.results: list[FileResult] = []
        self.match_count = 0  # highlighted (matched) boxes in processed frames
        self.frames_done = 0
        self.shown_match_frames = 0  # frames put on screen with at least one highlighted match
        self.errors_shown: list[str] = []
        self._pin_key = None  # the sighting shown instead of the live frames
        self._show_token = 0
        self.setAcceptDrops(True)
        self._build()
        self._update_buttons()
        self._show_settings_summary()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        st = self.style()
        self.open_file_btn = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_FileIcon), "Open file\u2026")
        self.open_file_btn.clicked.connect(lambda: self.choose_file())
        self.open_dir_btn = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_DirIcon), "Open folder\u2026")
        self.open_dir_btn.clicked.connect(lambda: self.choose_folder())
        self.source_label = ElidedLabel("No file or folder chosen.")
        self.play_btn = QPushButton()
        self.play_btn.setMinimumWidth(110)
        self.play_btn.clicked.connect(self.play_pause)
        self.stop_btn = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.stop_btn.setToolTip("Stop and keep the results found so far")
        self.stop_btn.clicked.connect(self.stop)
        self.reset_btn = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "Reset")
        self.reset_btn.setToolTip("Stop and clear everything")
        self.reset_btn.clicked.connect(self.reset)
        self.settings_btn = QToolButton()
        self.settings_btn.setText("Settings\u2026")
        self.settings_btn.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView))
        self.settings_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_btn.clicked.connect(lambda: self.open_settings())
        self.export_btn = QToolButton()
        self.export_btn.setText("Export")
        self.export_btn.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
        self.export_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.export_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_btn)
        self.act_json = menu.addAction("Results as JSON\u2026", lambda: self.export_json())
        self.act_csv = menu.addAction("Sightings as CSV (Excel)\u2026", lambda: self.export_csv())
        self.act_video = menu.addAction("Annotated video\u2026", lambda: self.export_video())
        self.export_btn.setMenu(menu)

        top = QHBoxLayout()
        for w in (self.open_file_btn, self.open_dir_btn):
            top.addWidget(w)
        top.addWidget(self.source_label, 1)
        for w in (self.play_btn, self.stop_btn, self.reset_btn, self.settings_btn, self.export_btn):
            top.addWidget(w)

        self.view = ImageView("Open a video, a photo or a folder, then press Play.\n"
                              "People registered in the gallery light up in colour.")
        self.pin_label = QLabel()
        self.pin_label.setWordWrap(True)
        self.live_btn = QPushButton("Back to live view")
        self.live_btn.clicked.connect(self.follow_live)
        self.pin_bar = QWidget()
        pl = QHBoxLayout(self.pin_bar)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.pin_label, 1)
        pl.addWidget(self.live_btn)
        self.pin_bar.hide()
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.pin_bar)
        ll.addWidget(self.view, 1)

        self.sightings = SightingsTree()
        self.sightings.sightingChosen.connect(self.show_sighting)
        self.matches_label = QLabel()
        self.settings_summary = hint_label()
        box = QGroupBox("Sightings")
        bl = QVBoxLayout(box)
        bl.addWidget(self.matches_label)
        bl.addWidget(self.sightings, 1)
        bl.addWidget(hint_label("Click a sighting to see its best frame."))
        bl.addWidget(self.settings_summary)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([800, 340])
        split.setChildrenCollapsible(False)

        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m frames")
        self.progress_label = QLabel("")
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 2)
        bottom.addWidget(self.progress_label, 3)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addLayout(bottom)
        self._set_match_count(0)
        self._idle_progress()

    # -- state ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def paused(self) -> bool:
        return self.worker is not None and self.worker.paused

    def _update_buttons(self) -> None:
        st = self.style()
        if self.running and not self.paused:
            self.play_btn.setText("Pause")
            self.play_btn.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        else:
            self.play_btn.setText("Resume" if self.paused else "Play")
            self.play_btn.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        # a stopped run may still be winding down in its thread: no second run until it has ended
        winding_down = self.worker is None and self.workers.has(SearchWorker)
        self.play_btn.setEnabled(self.source is not None and not winding_down and self.exporter is None)
        self.stop_btn.setEnabled(self.running)
        self.reset_btn.setEnabled(self.running or self.report is not None or bool(self.results) or self.view.has_image())
        for b in (self.open_file_btn, self.open_dir_btn):
            b.setEnabled(not self.running and self.exporter is None)
        has_report = self.report is not None and not self.running
        self.export_btn.setEnabled(has_report and self.exporter is None)
        videos = has_report and any(f.kind == "video" and not f.error for f in self.report.files)
        self.act_video.setEnabled(bool(videos))
        self.export_btn.setToolTip("" if has_report else "Available when processing has finished or was stopped")

    def _idle_progress(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)

    def _set_match_count(self, n: int) -> None:
        self.match_count = n
        self.matches_label.setText(f"Highlighted matches: <b>{n}</b> box{'es' if n != 1 else ''} in "
                                   f"{self.frames_done} processed frame{'s' if self.frames_done != 1 else ''}")

    def _show_settings_summary(self) -> None:
        s = self.engine.settings
        every = "every frame" if s.sample_ft == 1 else f"1 frame in {s.sample_ft}"
        thr = "model default" if s.threshold is None else f"{s.threshold:.2f}"
        cats = " + ".join(c + "s" for c in s.categories)
        self.settings_summary.setText(f"{self.engine.device.upper()} \u00b7 {every} \u00b7 tracking "
                                      f"{'on' if s.tracking else 'off'} \u00b7 threshold {thr} \u00b7 {cats}")

    # -- source -----------------------------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or photo", str(self.source or ""), MEDIA_FILTER)
        if path:
            self.set_source(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of videos and photos", str(self.source or ""))
        if path:
            self.set_source(path)

    def set_source(self, path: str | Path) -> None:
        if self.running:
            return
        self.reset()
        self.source = Path(path)
        kind = "folder" if self.source.is_dir() else (media_kind(self.source) or "file")
        self.source_label.set_full_text(f"{kind.capitalize()}: {self.source.name}", str(self.source))
        self.view.set_placeholder(f"Press Play to process {self.source.name}.")
        self._update_buttons()

    # -- run control --------------------------------------------------------------------------------
    def play_pause(self) -> None:
        if self.worker is None:
            self.start()
        elif self.worker.paused:
            self.worker.resume()
            self.progress_label.setText("Resumed.")
        else:
            self.worker.pause()
            self.progress_label.setText("Paused. Press Resume to go on.")
        self._update_buttons()

    def start(self) -> None:
        if self.source is None or self.worker is not None:
            return
        self._clear_results()
        w = SearchWorker(self.engine, self.source, self.max_frames)
        w.fileStarted.connect(lambda i, n, path, w=w: self._file_started(w, i, n, path))
        w.frameReady.connect(lambda u, w=w: self._frame_ready(w, u))
        w.fileDone.connect(lambda res, w=w: self._file_done(w, res))
        w.done.connect(lambda report, w=w: self._done(w, report))
        w.failed.connect(lambda msg, w=w: self._failed(w, msg))
        self.worker = w
        self._run_step = self.engine.settings.sample_ft  # the settings dialog may change it during the run
        self.progress_label.setText("Loading the models\u2026")
        self.progress.setRange(0, 0)
        self.workers.start(w)
        self._update_buttons()

    def pause(self) -> None:
        if self.worker is not None and not self.worker.paused:
            self.play_pause()

    def resume(self) -> None:
        if self.worker is not None and self.worker.paused:
            self.play_pause()

    def stop(self) -> None:
        """Stops the run; the results found so far stay and can be exported."""
        if self.worker is not None:
            self.worker.stop()
            self.progress_label.setText("Stopping\u2026")

    def reset(self) -> None:
        """Stops any run and clears the frame, the sightings and the results (the source stays chosen)."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None  # its last signals are ignored
        self._clear_results()
        self.view.clear()
        self._idle_progress()
        self.progress_label.setText("")
        self._update_buttons()

    def _clear_results(self) -> None:
        self.report = None
        self.results = []
        self.frames_done = 0
        self.shown_match_frames = 0
        self.errors_shown = []
        self.sightings.clear_all()
        self.follow_live()
        self._set_match_count(0)

    # -- worker signals -----------------------------------------------------------------------------
    def _file_started(self, w: SearchWorker, i: int, n: int, path: str) -> None:
        if w is not self.worker:
            return
        self._file_text = f"File {i + 1} of {n}: {Path(path).name}" if n > 1 else Path(path).name
        self.progress_label.setText(self._file_text)

    def _frame_ready(self, w: SearchWorker, u: FrameUpdate) -> None:
        if w is not self.worker:
            return
        if u.image is not None:
            if self._pin_key is None:
                self.view.set_image(u.image, self._overlay(u.boxes))
                self.shown_match_frames += any(b.match for b in u.boxes)
            w.frame_shown()
        self.frames_done = u.frames_done
        self._set_match_count(u.matches_total)
        if u.sightings is not None:
            fps = u.frame_index / u.time_s if u.time_s > 0 else 0.0
            self.sightings.set_file(u.path, media_kind(u.path) or "video", fps, u.sightings)
        stop = u.stop_frame
        if stop:
            self.progress.setTextVisible(True)
            self.progress.setRange(0, stop)
            self.progress.setValue(min(stop, u.frame_index + 1))
        parts = [getattr(self, "_file_text", Path(u.path).name)]
        if u.fps > 0:
            parts.append(f"{u.fps:.1f} frames/s")
            if stop:
                left = max(0, stop - u.frame_index - 1) / self._run_step / u.fps
                parts.append(f"about {fmt_duration(left)} left")
        if w.paused:
            parts.append("paused")
        self.progress_label.setText(" \u00b7 ".join(parts))

    @staticmethod
    def _overlay(boxes) -> list[OverlayBox]:
        return [
            OverlayBox(b.box, f"{b.match.label} {b.match.distance:.2f}", qcolor(b.match.identity_id)) if b.match
            else OverlayBox(b.box)
            for b in boxes
        ]

    def _file_done(self, w: SearchWorker, res: FileResult) -> None:
        if w is not self.worker:
            return
        self.results.append(res)
        if not res.error:
            self.sightings.set_file(res.path, res.kind, res.fps, file_sightings(res))

    def _done(self, worker: SearchWorker, report: SearchReport) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        self.report = report
        self.frames_done = worker.frames_done  # the last updates may have been dropped
        self._set_match_count(worker.matches_total)
        stopped = any(f.stopped for f in report.files)
        n_seg = self.sightings.segment_count()
        self.progress.setRange(0, max(1, self.progress.maximum()))
        if not stopped and self.progress.maximum() > 1:
            self.progress.setValue(self.progress.maximum())
        verb = "Stopped" if stopped else "Done"
        n_files = len(report.files)
        self.progress_label.setText(f"{verb}: {n_files} file{'s' if n_files != 1 else ''}, {n_seg} "
                                    f"sighting{'s' if n_seg != 1 else ''}, {self.match_count} highlighted boxes.")
        self._update_buttons()
        if not report.files:
            QMessageBox.information(self, "Nothing to process", "No images or videos were found there.")
        errors = report.errors
        if errors:
            self.errors_shown = [f"{Path(f.path).name}: {f.error}" for f in errors]
            text = "\n\n".join(self.errors_shown[:8]) + (f"\n\n\u2026and {len(errors) - 8} more." if len(errors) > 8 else "")
            show_error(self, "Some files could not be processed",
                       f"{len(errors)} of {n_files} file{'s' if n_files != 1 else ''} could not be processed:\n\n{text}")

    def _failed(self, worker: SearchWorker, message: str) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        self._idle_progress()
        self.progress_label.setText("Failed.")
        self.errors_shown = [message]
        self._update_buttons()
        show_error(self, "Processing failed", message)

    # -- sightings ------------------------------------------------------------------------------------
    def show_sighting(self, ref: SightingRef) -> None:
        """Shows the best frame of a sighting with its box (the frame is read in a worker)."""
        if self._pin_key == ref.key and self.pin_bar.isVisible():
            return
        self._pin_key = ref.key
        self._show_token += 1
        token = self._show_token
        self.pin_label.setText("Showing " + ref.describe())
        self.pin_bar.show()

        def job():
            img = read_image(ref.path) if ref.kind == "image" else read_video_frame(ref.path, ref.best_frame)
            return bgr_to_qimage(img)

        def shown(qimg):
            if token == self._show_token and self._pin_key == ref.key:
                label = f"{ref.label} {ref.best_distance:.2f}"
                self.view.set_image(qimg, [OverlayBox(ref.best_box, label, qcolor(ref.identity_id))])

        self.workers.start(CallWorker(job), shown, lambda m: show_error(self, "Cannot show this sighting", m))

    def follow_live(self) -> None:
        self._pin_key = None
        self._show_token += 1
        self.pin_bar.hide()

    # -- settings ---------------------------------------------------------------------------------------
    def open_settings(self) -> bool:
        dlg = SettingsDialog(self.engine, running=self.running, parent=self)
        ok = dlg.exec() == SettingsDialog.DialogCode.Accepted
        self._show_settings_summary()
        return ok

    # -- export -----------------------------------------------------------------------------------------
    def _default_name(self, suffix: str) -> str:
        stem = self.source.stem if self.source else "results"
        return str((self.source.parent if self.source and self.source.is_file() else Path.home()) / f"{stem}_reid{suffix}")

    def export_json(self, path: str | None = None) -> Path | None:
        return self._export("JSON", ".json", "JSON (*.json)", self.engine.export_json, path)

    def export_csv(self, path: str | None = None) -> Path | None:
        return self._export("CSV", ".csv", "CSV (*.csv)", self.engine.export_csv, path)

    def _export(self, what: str, suffix: str, filt: str, fn, path: str | None) -> Path | None:
        if self.report is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, f"Export results as {what}", self._default_name(suffix), filt)
            if not path:
                return None
        try:
            out = fn(self.report, path)
        except (OSError, ValueError) as e:
            show_error(self, "Export failed", f"Cannot write {path}: {e}")
            return None
        self.progress_label.setText(f"Saved {Path(out).name}")
        return Path(out)

    def export_video(self, dest: str | None = None) -> bool:
        """Writes annotated copies of the processed videos (one file, or a folder when there are several)."""
        if self.report is None:
            return False
        videos = [f for f in self.report.files if f.kind == "video" and not f.error]
        if not videos:
            return False
        if len(videos) == 1:
            if dest is None:
                dest, _ = QFileDialog.getSaveFileName(self, "Export annotated video",
                                                      str(Path(self._default_name("")).with_name(
                                                          Path(videos[0].path).stem + "_annotated.mp4")),
                                                      "MP4 video (*.mp4);;AVI video (*.avi)")
                if not dest:
                    return False
            jobs = [(videos[0], Path(dest))]
        else:
            if dest is None:
                dest = QFileDialog.getExistingDirectory(self, "Folder for the annotated videos")
                if not dest:
                    return False
            jobs = [(v, Path(dest) / (Path(v.path).stem + "_annotated.mp4")) for v in videos]
        w = ExportVideoWorker(jobs, int(self.report.settings.get("sampleFt", 1)))
        w.progress.connect(self._export_progress)
        self.exporter = w
        self.progress_label.setText("Writing the annotated video\u2026")
        self.workers.start(w, lambda paths: self._export_done(w, paths), lambda m: self._export_failed(w, m))
        self._update_buttons()
        return True

    def _export_progress(self, done: int, total: int, name: str) -> None:
        self.progress.setTextVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress_label.setText(f"Writing the annotated {name}\u2026")

    def _export_done(self, w, paths) -> None:
        self.exporter = None
        self.last_export = list(paths)
        self.progress_label.setText("Saved " + ", ".join(Path(p).name for p in paths))
        self._update_buttons()

    def _export_failed(self, w, message: str) -> None:
        self.exporter = None
        self._update_buttons()
        show_error(self, "Export failed", message)

    # -- drag & drop, lifecycle -------------------------------------------------------------------------
    def dragEnterEvent(self, ev) -> None:
        paths = local_files(ev.mimeData())
        if not self.running and paths and (paths[0].is_dir() or media_kind(paths[0])):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        paths = local_files(ev.mimeData())
        if paths:
            self.set_source(paths[0])
            ev.acceptProposedAction()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Stops processing and exports, and waits for every worker (window closing)."""
        self.worker = None
        return self.workers.shutdown(timeout_ms)

