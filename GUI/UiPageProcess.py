"""Process page: choose a file or folder, play/pause/stop/reset the search, watch matches, jump to sightings,
export results (JSON, CSV) and annotated videos; review them afterwards in the player (GUI/review_player.py).

Results are never lost by a click: Play on finished results plays them back, processing again asks first, Play
after Stop goes on where it stopped (Engine.resume keeps the first part), and every run of the session (and every
results file opened) stays in the Run list (GUI/session_runs.py).

Reviewing what was found: a sighting (right-click in the list, or the buttons under it) or a box in the player
(right-click: its track) can be confirmed, confirmed with its best view added to the identity's photos, or
rejected; a rejected track leaves the results shown at once (Engine.apply_verdicts), and the Run entry keeps
the updated results. Export -> Evidence case folder writes the selected sightings as a case (Engine.export_evidence).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import (
    Engine,
    EvidenceSelection,
    FileDone,
    FileResult,
    FileStarted,
    Finished,
    FrameBoxes,
    FrameDone,
    FrameResult,
    InputError,
    ReIdError,
    SearchReport,
    Segment,
    Sighting,
    Verdict,
    export_annotated_video,
    export_csv,
    export_json,
    list_media,
    media_kind,
    read_image,
    read_results_json,
    read_video_frame,
    rules,
    source_problem,
    video_info,
)
from GUI import app_settings
from GUI.review_player import ReviewPlayer
from GUI.session_runs import Run, RunsBox
from GUI.sightings_panel import CONFIRM, CONFIRM_ADD, REJECT, SightingRef, SightingsTree, verdict_actions
from GUI.UiDialogSettings import SettingsDialog
from GUI.widgets import (
    ElidedLabel,
    ImageView,
    OverlayBox,
    confirm,
    fmt_distance,
    fmt_duration,
    fmt_time,
    hint_label,
    local_files,
    qcolor,
    show_error,
)
from GUI.workers import Worker, WorkerPool, bgr_to_qimage

MEDIA_FILTER = rules.file_filter(("image", "video"))  # the engine's own extension lists
RESULTS_FILTER = "Results (*.json)"
REFRESH_MS = 40  # the live view is repainted at most this often, with the latest frame only
SIGHTINGS_EVERY_S = 0.5  # the live sightings tree is rebuilt at most this often


@dataclass(frozen=True)
class Pick:
    """What a verdict is about: one sighting segment, or one track (a box clicked in the player), of one file."""

    path: str
    identity_id: int
    label: str
    what: str  # where, in words: "frames 66-189 of walk.mp4"
    segment: Segment | None = None
    track_id: int | None = None
    box: tuple | None = None  # the box clicked in the player, at `frame` (find similar takes it)
    frame: int = -1


def export_videos(jobs: list[tuple[FileResult, Path]], sample_ft: int, progress, cancel):
    """Worker job: annotated copies of processed videos; yields each video's name, returns the paths written."""
    written = []
    for res, dest in jobs:
        if cancel():
            break
        yield Path(res.path).name
        written.append(export_annotated_video(res, dest, sample_ft, progress, cancel))
    return written


def _matched_boxes(report: SearchReport) -> int:
    """The highlighted boxes of a report as saved (an identity deleted during the run is no longer among them)."""
    return sum(len(fr.matches) for f in report.files for fr in f.frames)


def _listing(lines: list[str], most: int = 8) -> str:
    """Per-file messages for a dialog: the first `most`, then how many more."""
    return "\n\n".join(lines[:most]) + (f"\n\n\u2026and {len(lines) - most} more." if len(lines) > most else "")


class ProcessPage(QWidget):
    """Emits `galleryChanged()` when a confirmed sighting added a photo to an identity, and
    `similarWanted(path, frame_index, box)` when the user asks for the tracks like a box of the player."""

    galleryChanged = Signal()
    similarWanted = Signal(str, int, object)

    def __init__(self, engine: Engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.max_frames: int | None = None  # stop each video at this frame (tests, previews); None = whole video
        self.workers = WorkerPool(on_idle=self._update_buttons)
        self.worker: Worker | None = None  # the search in progress
        self.exporter: Worker | None = None
        self.source: Path | None = None
        self.report: SearchReport | None = None
        self.results: list[FileResult] = []
        self.match_count = 0  # highlighted (matched) boxes in processed frames
        self.frames_done = 0
        self.shown_match_frames = 0  # frames put on screen with at least one highlighted match
        self.errors_shown: list[str] = []
        self._label_before_export = ""  # the summary an export replaces while it runs (shown again if it fails)
        self._pin_key = None  # the sighting shown instead of the live frames
        self._resuming = False  # the run in progress goes on with the current (stopped) one
        self._shown_before: Run | None = None  # the run on screen when a new one started
        self._discarded: set[Worker] = set()  # runs reset while running: their results still join the Run list
        self._show_token = 0
        # live view: events only update these; a timer paints the latest frame (never a queue of frames)
        self._file_text = ""
        self._file_kind = "video"
        self._file_index, self._files_total = 0, 1  # the file being processed in a folder run, and how many
        self._run_step = 1
        self._latest: FrameResult | None = None
        self._live: tuple[str, list[Sighting]] | None = None
        self._last_sightings = 0.0
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._refresh_live)
        self.setAcceptDrops(True)
        self._build()
        self._update_buttons()
        self._show_settings_summary()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        st = self.style()
        # one Open menu, not three buttons: the top row must fit a window half of a 1920-pixel screen wide
        self.open_btn = QToolButton()
        self.open_btn.setText("Open")
        self.open_btn.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton))
        self.open_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.open_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.open_btn.setToolTip("Open a video or photo, a folder of them, or a results file (or drop one here)")
        open_menu = QMenu(self.open_btn)
        open_menu.addAction(st.standardIcon(QStyle.StandardPixmap.SP_FileIcon), "Video or photo\u2026",
                            lambda: self.choose_file())
        open_menu.addAction(st.standardIcon(QStyle.StandardPixmap.SP_DirIcon), "Folder\u2026", lambda: self.choose_folder())
        open_menu.addSeparator()
        act = open_menu.addAction("Results file\u2026", lambda: self.open_results())
        act.setToolTip("Review a results file saved with Export \u2192 Results as JSON")
        open_menu.setToolTipsVisible(True)
        self.open_btn.setMenu(open_menu)
        self.source_label = ElidedLabel("No file or folder chosen.")
        self.play_btn = QPushButton()
        self.play_btn.setMinimumWidth(110)
        self.play_btn.clicked.connect(self.play_pause)
        self.stop_btn = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.stop_btn.setToolTip("Stop and keep the results found so far")
        self.stop_btn.clicked.connect(self.stop)
        self.again_btn = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "Process again\u2026")
        self.again_btn.setToolTip("Process from the start again (asks first; these results stay in the Run list)")
        self.again_btn.clicked.connect(lambda: self.process_again())
        self.reset_btn = QPushButton(st.standardIcon(QStyle.StandardPixmap.SP_DialogResetButton), "Reset")
        self.reset_btn.setToolTip("Stop and clear the view (finished runs stay in the Run list)")
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
        menu.addAction("Results as JSON\u2026", lambda: self.export_json())
        menu.addAction("Sightings as CSV (Excel)\u2026", lambda: self.export_csv())
        self.act_video = menu.addAction("Annotated video\u2026", lambda: self.export_video())
        menu.addSeparator()
        self.act_evidence = menu.addAction("Evidence case folder\u2026", lambda: self.export_evidence())
        self.act_evidence.setToolTip("The selected sightings (else all) with clips, best frames, photos, results and "
                                     "a report, each file's SHA-256 in a manifest")
        menu.setToolTipsVisible(True)
        self.export_btn.setMenu(menu)

        top = QHBoxLayout()
        top.addWidget(self.open_btn)
        top.addStretch(1)
        for w in (self.play_btn, self.again_btn, self.stop_btn, self.reset_btn, self.settings_btn, self.export_btn):
            top.addWidget(w)
            # a click leaves the keys with the video (Space on a focused Reset would clear the page); Tab still
            # reaches the buttons
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)

        self.view = ImageView("Open a video, a photo or a folder, then press Play.\n"
                              "People registered in the gallery light up in colour.")
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # click the video, then the player's keys work
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)  # right-click a box: its verdicts
        self.view.customContextMenuRequested.connect(self._view_menu)
        self.player = ReviewPlayer(self.view)
        self.player.stateChanged.connect(self._player_changed)
        self.player.hide()
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
        ll.addWidget(self.player)

        self.sightings = SightingsTree()
        self.sightings.sightingChosen.connect(self.show_sighting)
        self.sightings.sightingChosen.connect(lambda _ref: self._update_verdict_buttons())
        self.sightings.currentItemChanged.connect(lambda *_: self._update_verdict_buttons())
        self.sightings.verdictRequested.connect(lambda ref, action: self.judge_sighting(ref, action))
        self.sightings.evidenceRequested.connect(lambda: self.export_evidence())
        self.confirm_btn = QToolButton()
        self.confirm_btn.setText("\u2713 Confirm")
        self.confirm_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.confirm_btn.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.confirm_btn.clicked.connect(lambda: self._judge_current(CONFIRM))
        confirm_menu = QMenu(self.confirm_btn)
        self.act_confirm_add = confirm_menu.addAction("", lambda: self._judge_current(CONFIRM_ADD))
        self.confirm_btn.setMenu(confirm_menu)
        self.reject_btn = QPushButton("\u2717 Not this one\u2026")
        self.reject_btn.clicked.connect(lambda: self._judge_current(REJECT))
        verdict_row = QHBoxLayout()
        verdict_row.addWidget(self.confirm_btn)
        verdict_row.addWidget(self.reject_btn)
        verdict_row.addStretch(1)
        self.runs = RunsBox()
        self.runs.runChosen.connect(self.show_run)
        runs_row = QHBoxLayout()
        runs_row.addWidget(QLabel("Run:"))
        runs_row.addWidget(self.runs, 1)
        self.matches_label = QLabel()
        self.matches_label.setWordWrap(True)  # a growing count never widens the panel
        self.settings_summary = hint_label()
        box = QGroupBox("Sightings")
        bl = QVBoxLayout(box)
        bl.addLayout(runs_row)
        bl.addWidget(self.matches_label)
        bl.addWidget(self.sightings, 1)
        bl.addLayout(verdict_row)
        bl.addWidget(hint_label("Click a sighting to see its best frame; after processing, the player below the "
                                "video plays the results back. Right-click a sighting, or a box in the video, to "
                                "confirm it or to say it is someone else."))
        bl.addWidget(self.settings_summary)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([800, 340])
        split.setChildrenCollapsible(False)
        # the panel keeps the width it has (or the user gave it) while processing: the frame view takes the rest
        self.splitter = split
        box.setMinimumWidth(280)
        box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m frames")
        self.progress_label = QLabel("")
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 2)
        bottom.addWidget(self.progress_label, 3)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.source_label)  # a line of its own: the buttons leave it no room beside them
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

    @property
    def reviewing(self) -> bool:
        """Results of the current source are shown (finished, stopped or opened) and nothing is processing."""
        return self.worker is None and self.report is not None

    def _resumable(self) -> bool:
        run = self.runs.current_run()
        return self.reviewing and run is not None and run.report is self.report and run.resumable

    def _update_buttons(self) -> None:
        st = self.style()
        play, pause = st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), st.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        if self.running:
            text, icon, tip = ("Resume", play, "Go on processing") if self.paused else ("Pause", pause, "Pause processing")
        elif self._resumable():
            text, icon, tip = "Continue", play, "Go on processing from where it stopped (the results so far are kept)"
        elif self.reviewing:
            text, icon = ("Pause", pause) if self.player.playing else ("Play", play)
            tip = "Play the results back (nothing is processed again; Process again\u2026 does that)"
        else:
            text, icon, tip = "Play", play, "Process the video, photo or folder"
        self.play_btn.setText(text)
        self.play_btn.setIcon(icon)
        self.play_btn.setToolTip(tip)
        # a stopped run may still be winding down in its thread: no second run until it has ended
        winding_down = self.worker is None and self.workers.has("search")
        # nor while a verdict is stored: it changes the results that a Continue would go on with
        idle = not self.running and not winding_down and self.exporter is None and not self.judging
        can_play = not self.reviewing or self._resumable() or self.player.playable
        self.play_btn.setEnabled(self.source is not None and not winding_down and self.exporter is None and can_play
                                 and (self.running or not self.judging))
        self.again_btn.setVisible(self.reviewing and self.source is not None)
        self.again_btn.setEnabled(idle)
        self.stop_btn.setEnabled(self.running or self.exporter is not None)  # Stop also cancels an export
        self.stop_btn.setToolTip("Cancel the export" if self.exporter is not None and not self.running
                                 else "Stop and keep the results found so far")
        # while an export writes, the results it is drawn from stay on screen (Stop cancels it)
        self.reset_btn.setEnabled(self.exporter is None and (self.running or self.report is not None
                                                             or bool(self.results) or self.view.has_image()))
        self.open_btn.setEnabled(not self.running and self.exporter is None)
        self.runs.setEnabled(not self.running and self.exporter is None and self.runs.count() > 0)
        # a report of errors alone has nothing to export
        has_report = self.report is not None and not self.running and any(not f.error for f in self.report.files)
        self.export_btn.setEnabled(has_report and self.exporter is None)
        videos = has_report and any(f.kind == "video" and not f.error for f in self.report.files)
        self.act_video.setEnabled(bool(videos))
        self.act_evidence.setEnabled(has_report and any(f.sightings for f in self.report.files if not f.error))
        self.export_btn.setToolTip("" if has_report else "Nothing to export: no file could be processed"
                                   if self.report is not None and not self.running
                                   else "Available when processing has finished or was stopped")
        self._update_verdict_buttons()

    @property
    def judging(self) -> bool:
        """A verdict is being stored (its views are read and embedded in a worker)."""
        return self.workers.has("verdict")

    def _update_verdict_buttons(self) -> None:
        """The verdict buttons act on the sighting selected in the list, once processing has ended."""
        can = self.reviewing and not self.judging and self.exporter is None
        self.sightings.verdicts_enabled = can
        ref = self.sightings.current_ref()
        for b in (self.confirm_btn, self.reject_btn):
            b.setEnabled(can and ref is not None)
        label = ref.label if ref is not None else "this one"
        short = self.reject_btn.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, 130)
        self.reject_btn.setText(f"\u2717 Not {short}\u2026")
        (_, _, confirm_tip), (_, add_text, add_tip), (_, _, reject_tip) = verdict_actions(label)
        self.act_confirm_add.setText(add_text)
        self.act_confirm_add.setToolTip(add_tip)
        if ref is None:
            tip = "Select a sighting in the list first" if self.reviewing else "Available when processing has ended"
            self.confirm_btn.setToolTip(tip)
            self.reject_btn.setToolTip(tip)
        else:
            self.confirm_btn.setToolTip(confirm_tip + " (the arrow: also add its best view as a photo)")
            self.reject_btn.setToolTip(reject_tip)

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
        per = {c: s.threshold_for(c) for c in s.categories}
        thr = ", ".join(("model default" if t is None else f"{t:.2f}") + (f" ({c})" if len(per) > 1 else "")
                        for c, t in per.items())
        cats = " + ".join(c + "s" for c in s.categories)
        left_out = self.engine.identities_not_searched()  # a registered bus is not found while people are looked for
        note = "".join(f" \u00b7 <b>{n} registered {c}{'s' if n != 1 else ''} not looked for</b> (Settings\u2026)"
                       for c, n in left_out.items())
        if s.index_footage and self.engine.footage_caution:  # the run goes on, the library is not added to
            what = "damaged" if "damaged" in self.engine.footage_caution else "read-only"
            note += f" \u00b7 <b>the footage library is {what}: runs are not added to it</b> (Library page)"
        self.settings_summary.setText(f"{self.engine.device.upper()} \u00b7 {every} \u00b7 tracking "
                                      f"{'on' if s.tracking else 'off'} \u00b7 threshold {thr} \u00b7 {cats}{note}")

    # -- source -----------------------------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or photo", str(self.source or ""), MEDIA_FILTER)
        if path:
            self.set_source(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of videos and photos", str(self.source or ""))
        if path:
            self.set_source(path)

    def set_source(self, path: str | Path) -> bool:
        """Chooses what Play processes. A video or photo is opened at once: a broken or empty one is refused here,
        with the reason (nothing changes), and a good one shows its first frame (and a video its duration).
        False while a run or an export is in progress."""
        if self.running or self.exporter is not None:
            return False
        path = Path(path)
        kind = "folder" if path.is_dir() else media_kind(path)
        first, detail = None, ""
        try:
            files = list_media(path)  # the engine's own rule: refuses a missing file or one that is no image or video
            if kind == "folder":
                if not files:
                    raise InputError(f"There are no images or videos in {path} (sub-folders included).")
                detail = f" · {len(files)} file{'s' if len(files) != 1 else ''}"
            elif kind == "video":
                info = video_info(path)
                first = read_video_frame(path, 0)
                if info.frame_count:
                    detail = (f" · {fmt_time(info.frame_count / info.fps)} · {info.frame_count} frames"
                              f" · {info.width}×{info.height}")
                else:
                    detail = f" · length unknown · {info.width}×{info.height}"
            elif kind == "image":
                first = read_image(path)
                detail = f" · {first.shape[1]}×{first.shape[0]}"
        except (ReIdError, OSError, ValueError) as e:
            show_error(self, "Cannot open this file", str(e))
            return False
        self.reset()
        self.source = path
        self.source_label.set_full_text(f"{kind.capitalize()}: {path.name}{detail}", str(path))
        self.view.set_placeholder(f"Press Play to process {path.name}.")
        if first is not None:
            self.view.set_image(bgr_to_qimage(first))
        self.progress_label.setText(f"Press Play to process {path.name}{detail}.")
        self._update_buttons()
        return True

    # -- run control --------------------------------------------------------------------------------
    def play_pause(self) -> None:
        """Play: processes the source; on a stopped run goes on where it stopped; on finished results plays them
        back (never processes them again: process_again does, after asking). While processing: pause / resume."""
        if self.worker is None:
            if self._resumable():
                self.resume_run()
            elif self.reviewing:
                self.player.toggle()
            else:
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
        self._shown_before = self.runs.current_run()  # shown again if this run fails (its results are in the list)
        self._clear_results()
        self.runs.deselect()  # the earlier runs stay listed; this one joins them when it ends
        settings = self.engine.settings  # fixed for this run (the settings dialog may change the engine's meanwhile)
        self._launch(Worker(self.engine.search, self.source, max_frames=self.max_frames, settings=settings),
                     settings.sample_ft, "Loading the models\u2026")

    def resume_run(self) -> None:
        """Goes on with the stopped run where it stopped; its results so far stay (the engine merges both parts)."""
        if not self._resumable():
            return
        report = self.report
        self.results = [f for f in report.files if not f.stopped or f.error]
        self._resuming = True
        self._launch(Worker(self.engine.resume, report, max_frames=self.max_frames), report.settings.sample_ft,
                     "Going on where it stopped\u2026")

    def _launch(self, w: Worker, sample_ft: int, text: str) -> None:
        self.player.unload()
        self.player.hide()
        self.follow_live()
        self.worker = w.with_cancel().named("search")
        self._run_step = sample_ft
        self.progress_label.setText(text)
        self.progress.setRange(0, 0)
        self.workers.start(w, on_fail=lambda msg: self._failed(w, msg), on_yield=lambda ev: self._event(w, ev))
        self._update_buttons()

    def process_again(self) -> bool:
        """Processes the source from the start again, after a confirmation that defaults to No."""
        if self.source is None or self.running or self.workers.has("search"):
            return False
        if self.report is not None and not confirm(
                self, "Process again?",
                f"Process {self.source.name} again from the start?\n\nThe results shown stay in the Run list.\n"
                f"To play them back instead, press Play."):
            return False
        self.start()
        return True

    def pause(self) -> None:
        if self.worker is not None and not self.worker.paused:
            self.play_pause()

    def resume(self) -> None:
        if self.worker is not None and self.worker.paused:
            self.play_pause()

    def stop(self) -> None:
        """Stops the run: the current file ends as stopped; the results found so far stay and can be exported,
        and Play goes on from there."""
        if self.worker is not None:
            self.worker.cancel()
            self.progress_label.setText("Stopping\u2026")
        elif self.exporter is not None:
            self.exporter.cancel()
            self.progress_label.setText("Cancelling the export\u2026")

    def reset(self) -> None:
        """Stops any run and clears the frame, the sightings and the results shown (the source stays chosen;
        finished runs stay in the Run list, and so does a run reset while running, once it has wound down)."""
        if self.worker is not None:
            self.worker.cancel()
            self._discarded.add(self.worker)
            self.worker = None  # its last events are ignored
        self._resuming = False
        self._clear_results()
        self.player.unload()
        self.player.hide()
        self.runs.deselect()
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
        self._refresh.stop()
        self._latest = self._live = None
        self.sightings.clear_all()
        self.follow_live()
        self._set_match_count(0)

    # -- search events (UI thread, in order) ----------------------------------------------------------
    def _event(self, w: Worker, ev) -> None:
        if w is not self.worker:  # a run that was reset: its last events are ignored, its results kept in the list
            if isinstance(ev, Finished) and w in self._discarded:
                self._discarded.discard(w)
                self.runs.add(Run(ev.report), current=False)
                self._update_buttons()
            return
        if isinstance(ev, FrameDone):
            self._frame_done(ev)
        elif isinstance(ev, FileStarted):
            self._file_started(ev)
        elif isinstance(ev, FileDone):
            self._file_done(ev.result)
        elif isinstance(ev, Finished):
            self._finished(ev.report)

    def _file_started(self, ev: FileStarted) -> None:
        name = Path(ev.path).name
        self._file_text = f"File {ev.index + 1} of {ev.total}: {name}" if ev.total > 1 else name
        self._file_kind = media_kind(ev.path) or "video"
        self._file_index, self._files_total = ev.index, ev.total
        if ev.total > 1:  # a folder: the bar counts files; the label says where in the current video it is
            self.progress.setTextVisible(True)
            self.progress.setFormat("%v / %m files")
            self.progress.setRange(0, ev.total)
            self.progress.setValue(ev.index)
        self.progress_label.setText(self._file_text)

    def _frame_done(self, ev: FrameDone) -> None:
        """Counts the frame; what is painted (the latest frame, the live sightings) waits for the refresh timer."""
        fr = ev.result
        self.frames_done += 1
        self.match_count += len(fr.matches)
        self._latest = fr
        if ev.sightings is not None:
            self._live = (fr.path, ev.sightings)
        if not self._refresh.isActive():
            self._refresh.start()

    def _refresh_live(self) -> None:
        """Paints the latest frame and its boxes, the counts, the progress, and (throttled) the live sightings."""
        fr, self._latest = self._latest, None
        if fr is None:
            return
        if fr.frame is not None and self._pin_key is None:
            self.view.set_image(bgr_to_qimage(fr.frame), self._overlay(fr.boxes))
            self.shown_match_frames += any(b.match for b in fr.boxes)
        self._set_match_count(self.match_count)
        now = time.monotonic()
        if self._live is not None and now - self._last_sightings >= SIGHTINGS_EVERY_S:
            self._last_sightings = now
            path, live = self._live
            self._live = None
            self.sightings.set_file(path, self._file_kind, live)
        total, cap = fr.total_frames, self.max_frames
        stop = min(total, cap) if (total and cap) else (total or cap or 0)
        folder = self._files_total > 1
        if stop and not folder:
            self.progress.setTextVisible(True)
            self.progress.setFormat("%v / %m frames" if self._file_kind == "video" else "%v / %m photo")
            self.progress.setRange(0, stop)
            self.progress.setValue(min(stop, fr.frame_index + 1))
        parts = [self._file_text or Path(fr.path).name]
        if folder and self._file_kind == "video" and stop:
            parts.append(f"frame {min(stop, fr.frame_index + 1)} / {stop}")
        if fr.fps_processing > 0:
            parts.append(f"{fr.fps_processing:.1f} frames/s")
            if stop:
                left = max(0, stop - fr.frame_index - 1) / self._run_step / fr.fps_processing
                parts.append(f"about {fmt_duration(left)} left")
        if self.worker is not None and self.worker.cancel_requested:
            parts.append("stopping\u2026")  # the frame in hand ends first: "Stopping…" must not vanish meanwhile
        elif self.worker is not None and self.worker.paused:
            parts.append("paused")
        self.progress_label.setText(" \u00b7 ".join(parts))

    @staticmethod
    def _overlay(boxes) -> list[OverlayBox]:
        return [
            OverlayBox(b.box, f"{b.match.label} {fmt_distance(b.match.distance, 2)}", qcolor(b.match.identity_id))
            if b.match
            else OverlayBox(b.box)
            for b in boxes
        ]

    def _file_done(self, res: FileResult) -> None:
        self._live = None  # the final sightings replace the live ones
        self._refresh_live()  # the file's last frame on screen
        self.results.append(res)
        if self._files_total > 1:
            self.progress.setValue(self._file_index + 1)
        if not res.error:
            self.sightings.set_file(res.path, res.kind, res.sightings, final=True, time_caution=res.time_caution)

    def _finished(self, report: SearchReport) -> None:
        self.worker = None
        self._shown_before = None
        self._show_settings_summary()  # settings changed during the run apply from now on
        self.report = report
        if self._resuming:
            self.runs.replace_current(Run(report))
        else:
            self.runs.add(Run(report))
        self._resuming = False
        self._review(report, at_end=True)
        self.refresh_marks()
        focus = QApplication.focusWidget()
        if focus is None or (self.isAncestorOf(focus) and isinstance(focus, QAbstractButton)):
            # the player's keys work at once; and Space never lands on Reset (a disabled Play hands its focus on)
            self.view.setFocus()
        stopped = any(f.stopped for f in report.files)
        n_cut = sum(1 for f in report.files if f.warning and not f.error)
        n_seg = self.sightings.segment_count()
        self.progress.setRange(0, max(1, self.progress.maximum()))
        if not stopped and not n_cut and self.progress.maximum() > 1:  # a video cut short did not reach its end
            self.progress.setValue(self.progress.maximum())
        verb = "Stopped" if stopped else "Done"
        n_files, n_failed = len(report.files), len(report.errors)
        self._set_match_count(_matched_boxes(report))
        cut = f" ({n_cut} video{'s' if n_cut != 1 else ''} not searched to the end)" if n_cut else ""
        n_vfr = sum(1 for f in report.files if f.time_caution and not f.error)
        vfr = f" (times approximate in {n_vfr} video{'s' if n_vfr != 1 else ''}: variable frame rate)" if n_vfr else ""
        failed = f" ({n_failed} could not be processed)" if n_failed else ""
        m = self.match_count
        self.progress_label.setText(f"{verb}: {n_files} file{'s' if n_files != 1 else ''}{failed}{cut}{vfr}, {n_seg} "
                                    f"sighting{'s' if n_seg != 1 else ''}, {m} highlighted box{'es' if m != 1 else ''}.")
        if n_failed == n_files:
            self.view.clear()
            self.view.set_placeholder("No images or videos were found there." if not n_files else
                                      "Nothing could be processed: the reasons are listed in the message.")
        self._update_buttons()
        if not report.files:
            QMessageBox.information(self, "Nothing to process", "No images or videos were found there.")
        errors = report.errors
        if errors:
            self.errors_shown = [f"{Path(f.path).name}: {f.error}" for f in errors]
            show_error(self, "Some files could not be processed",
                       f"{len(errors)} of {n_files} file{'s' if n_files != 1 else ''} could not be processed:\n\n"
                       f"{_listing(self.errors_shown)}")
        cut = [f"{Path(f.path).name}: {f.warning}" for f in report.files if f.warning and not f.error]
        if cut:  # searched, but not to their end: the user must not take "no sighting" there for "not there"
            self.errors_shown += cut
            QMessageBox.warning(self, "Some videos were not searched to their end", _listing(cut))

    def _failed(self, worker: Worker, message: str) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        self._show_settings_summary()
        if self._resuming:  # the stopped run is still the one shown: review it again
            self._resuming = False
            self.results = list(self.report.files)
            run = self.runs.current_run()
            stopped = next((f for f in self.report.files if f.stopped and not f.error), None)
            if run is not None and stopped is not None and Path(stopped.path).exists() and \
                    source_problem(stopped.path, stopped.fingerprint):
                run.cannot_go_on = message  # another file under its name: Continue would fail again, for good
            self._review(self.report, at_end=True)
        self._refresh.stop()
        before, self._shown_before = self._shown_before, None
        current = self.runs.current_run()
        if before is not None and before in self.runs.runs() and self.report is None:
            self.show_run(before)  # "Process again" failed: what was on screen comes back
            self.progress_label.setText("Processing again failed; the earlier results are shown.")
        elif current is not None and current.cannot_go_on:
            self._idle_progress()
            self.progress_label.setText("This run cannot go on: its file was replaced. Process again\u2026 searches "
                                        "the new one; the results so far stay in the Run list.")
        else:
            self._idle_progress()
            self.progress_label.setText("Failed.")
        self.errors_shown = [message]
        self._update_buttons()
        show_error(self, "Processing failed", message)

    # -- sightings ------------------------------------------------------------------------------------
    def show_sighting(self, ref: SightingRef) -> None:
        """Shows the best frame of a sighting: in the player once processing has ended (with every stored box),
        else pinned over the live view with its box (the frame is read in a worker)."""
        if self.reviewing:
            res = next((f for f in self.report.files if f.path == ref.path and not f.error), None)
            if res is not None:
                self.pin_label.setText("Showing " + ref.describe())
                self.live_btn.hide()
                self.pin_bar.show()
                self._pin_key = ref.key
                if self.player.result is res:
                    self.player.seek(ref.best_frame, play=False)
                else:
                    self._review_file(res, ref.best_frame)
                if self.player.problem:  # nothing is shown: the view says why, no bar over it
                    self.follow_live()
            return
        if self._pin_key == ref.key and self.pin_bar.isVisible():
            return
        self._pin_key = ref.key
        self._show_token += 1
        token = self._show_token
        self.pin_label.setText("Showing " + ref.describe())
        self.live_btn.show()
        self.pin_bar.show()

        def job():
            img = read_image(ref.path) if ref.kind == "image" else read_video_frame(ref.path, ref.best_frame)
            return bgr_to_qimage(img)

        def shown(qimg):
            if token == self._show_token and self._pin_key == ref.key:
                label = f"{ref.label} {fmt_distance(ref.best_distance, 2)}"
                self.view.set_image(qimg, [OverlayBox(ref.best_box, label, qcolor(ref.identity_id))])

        self.workers.start(Worker(job), shown, lambda m: show_error(self, "Cannot show this sighting", m))

    def follow_live(self) -> None:
        self._pin_key = None
        self._show_token += 1
        self.pin_bar.hide()

    # -- review ----------------------------------------------------------------------------------------
    def _review(self, report: SearchReport, at_end: bool = False) -> None:
        """Loads the report's first video (else photo) into the player: at its last processed frame (`at_end`, so
        the view stays where processing left it) or at its first."""
        self.follow_live()
        usable = [f for f in report.files if not f.error]
        res = next((f for f in usable if f.kind == "video"), usable[0] if usable else None)
        if res is None:
            self.player.unload()
            self.player.hide()
        else:
            self._review_file(res, max(0, res.stats.frames_read - 1) if at_end else 0)
        self._update_buttons()

    def _review_file(self, res: FileResult, position: int) -> None:
        self.player.load(res, self.report.settings.sample_ft, position)
        self.player.show()

    def _player_changed(self) -> None:
        if self.player.playing and self.pin_bar.isVisible():
            self.follow_live()  # the pinned sighting's text would be stale while the video moves
        self._update_buttons()

    def show_run(self, run: Run) -> None:
        """Shows a run of this session or a results file opened, as the page left it: sightings, counts, the
        player (nothing is processed)."""
        if self.running:
            return
        self.reset()
        report = run.report
        if run not in self.runs.runs():
            self.runs.add(run)
        self.runs.setCurrentIndex(self.runs.runs().index(run))
        self.source = Path(report.root)
        self.source_label.set_full_text(f"Results: {run.title()}", run.opened_from or report.root)
        self.report, self.results = report, list(report.files)
        self.frames_done = sum(f.stats.frames_processed for f in report.files)
        self._set_match_count(_matched_boxes(report))
        for f in report.files:
            if not f.error:
                self.sightings.set_file(f.path, f.kind, f.sightings, final=True, time_caution=f.time_caution)
        n_seg = self.sightings.segment_count()
        verb = "Stopped" if any(f.stopped for f in report.files) else "Done"
        self._review(report)
        there = any(Path(f.path).is_file() for f in report.files if not f.error)
        play = (" The footage is not where the results say (moved or deleted): the sightings are listed, but cannot be "
                "played back." if not there else
                f" {Path(self.player.result.path).name}: {self.player.problem}; the sightings are listed, but cannot be "
                "played back." if self.player.problem else " Press Play to play them back.")
        self.progress_label.setText(f"{verb}: {len(report.files)} file{'s' if len(report.files) != 1 else ''}, "
                                    f"{n_seg} sighting{'s' if n_seg != 1 else ''}.{play}")
        self.refresh_marks()
        self.view.setFocus()

    def open_results(self, path: str | Path | None = None) -> bool:
        """Reads a results JSON (in a worker) and shows it in the player, as a new entry of the Run list."""
        if self.running:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open results", app_settings.last_export_dir(Path.home()),
                                                  RESULTS_FILTER)
            if not path:
                return False

        def opened(report: SearchReport):
            if not self.running:
                self.show_run(Run(report, str(path)))

        self.workers.start(Worker(read_results_json, path), opened,
                           lambda m: show_error(self, "Cannot open these results", m))
        return True

    def open_moment(self, path: str | Path, frame_index: int) -> bool:
        """A sighting chosen in the Library: that file's results from the footage index (no processing) in the
        player, at that frame. False while a run or an export is in progress (its results stay on screen)."""
        if self.running or self.exporter is not None:
            return False

        def found(report: SearchReport):
            if self.running or self.exporter is not None:
                return
            self.show_run(Run(replace(report, root=str(path)), "footage index"))
            if self.player.loaded:
                self.player.seek(int(frame_index), play=False)

        self.workers.start(Worker(self.engine.find, sources=[path]), found,
                           lambda m: show_error(self, "Cannot open this moment", m))
        return True

    def keyPressEvent(self, ev) -> None:
        """The player's shortcuts (Space, arrows, J/K/L, Home/End) while results are shown."""
        if self.reviewing and self.player.handle_key(ev):
            ev.accept()
            return
        super().keyPressEvent(ev)

    # -- verdicts -------------------------------------------------------------------------------------
    def _file(self, path: str) -> FileResult | None:
        return next((f for f in self.report.files if f.path == path and not f.error), None) if self.report else None

    def _segment_of(self, ref: SightingRef) -> Segment | None:
        res = self._file(ref.path)
        return next((g for s in (res.sightings if res else []) if s.identity_id == ref.identity_id
                     for g in s.segments if g.start_frame == ref.start_frame), None)

    def pick_of(self, ref: SightingRef) -> Pick | None:
        """A sighting of the list as what a verdict is about (its segment in the results shown)."""
        seg = self._segment_of(ref)
        if seg is None:
            return None
        name = Path(ref.path).name
        what = name if ref.kind == "image" else f"frames {seg.start_frame}\u2013{seg.end_frame} of {name}"
        return Pick(ref.path, ref.identity_id, ref.label, what, segment=seg)

    def pick_at(self, pos: QPoint | QPointF) -> Pick | None:
        """The matched box under a point of the frame view in the player (widget coordinates), as its track."""
        res = self.player.result
        if not self.reviewing or res is None or self.player.position < 0:
            return None
        q = self.view.widget_to_image(QPointF(pos))
        step = self.report.settings.sample_ft if res.kind == "video" else 1
        under = [b for b in FrameBoxes(res, step)(self.player.position)
                 if b.match and b.box[0] <= q.x() <= b.box[2] and b.box[1] <= q.y() <= b.box[3]]
        if not under:
            return None
        box = min(under, key=lambda b: (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]))  # the one in front
        ident, label, name = box.match.identity_id, box.match.label, Path(res.path).name
        if box.track_id >= 0:
            frames = [f.frame_index for f in res.frames for b in f.matches
                      if b.track_id == box.track_id and b.match.identity_id == ident]
            what = f"the track in frames {min(frames)}\u2013{max(frames)} of {name}" if res.kind == "video" else name
            return Pick(res.path, ident, label, what, track_id=box.track_id, box=box.box, frame=self.player.position)
        # untracked results: every box is a track of its own; its sighting segment stands for it
        seg = next((g for s in res.sightings if s.identity_id == ident for g in s.segments
                    if g.start_frame <= self.player.position <= g.end_frame + step), None)
        return None if seg is None else Pick(res.path, ident, label, f"frames {seg.start_frame}\u2013{seg.end_frame} "
                                                                      f"of {name}", segment=seg, box=box.box,
                                             frame=self.player.position)

    def _view_menu(self, pos: QPoint) -> None:
        pick = self.pick_at(pos)
        if pick is None or self.judging or self.exporter is not None:
            return
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        for action, text, tip in verdict_actions(pick.label):
            menu.addAction(text, lambda act=action: self.judge(pick, act)).setToolTip(tip)
        menu.addSeparator()
        menu.addAction("Find similar in the library", lambda: self.similarWanted.emit(pick.path, pick.frame, pick.box)
                       ).setToolTip("The tracks across all indexed footage most like this one (Library page)")
        menu.exec(self.view.mapToGlobal(pos))

    def _judge_current(self, action: str) -> None:
        ref = self.sightings.current_ref()
        if ref is not None:
            self.judge_sighting(ref, action)

    def judge_sighting(self, ref: SightingRef, action: str) -> bool:
        pick = self.pick_of(ref)
        return pick is not None and self.judge(pick, action)

    def judge(self, pick: Pick, action: str) -> bool:
        """Stores a verdict (CONFIRM, CONFIRM_ADD or REJECT, after asking) on `pick` in a worker: its views are
        read from the file and embedded. A rejected track leaves the results shown (and the Run entry's) at once;
        a confirmed sighting gets its check mark."""
        res = self._file(pick.path)
        if not self.reviewing or self.judging or res is None:
            return False
        if action == REJECT and not confirm(
                self, f"Not {pick.label}?",
                f"Say that {pick.what} is not {pick.label}?\n\nIt is taken out of these results now, and it is never "
                f"given {pick.label} again: not in later runs of this file, not in the Library, and views like it "
                f"count against {pick.label} elsewhere.\n\nThe Manager page lists it under {pick.label}, where Undo "
                "takes the verdict back."):
            return False
        engine, report = self.engine, self.report

        def job() -> tuple[Verdict, SearchReport | None]:
            if action == REJECT:
                v = engine.reject(res, pick.identity_id, track_id=pick.track_id, segment=pick.segment)
                return v, engine.apply_verdicts(report)
            return engine.confirm(res, pick.identity_id, track_id=pick.track_id, segment=pick.segment,
                                  add_photo=action == CONFIRM_ADD), None

        self.progress_label.setText(("Rejecting" if action == REJECT else "Confirming") + f" {pick.what}\u2026")
        self.workers.start(Worker(job).named("verdict"), lambda out: self._judged(report, pick, action, *out),
                           lambda m: self._judge_failed(m))
        self._update_buttons()
        return True

    def _judged(self, report: SearchReport, pick: Pick, action: str, v: Verdict, updated: SearchReport | None) -> None:
        if updated is not None:
            self._replace_report(report, updated)
            self.progress_label.setText(f"Not {pick.label}: {pick.what} was taken out of these results "
                                        "(Undo on the Manager page).")
        else:
            added = f" and added a photo of {pick.label}" if action == CONFIRM_ADD else ""
            self.progress_label.setText(f"Confirmed {pick.label} in {pick.what}{added}.")
            self.refresh_marks()
        if action == CONFIRM_ADD:
            self.galleryChanged.emit()
        self._update_buttons()

    def _judge_failed(self, message: str) -> None:
        self.progress_label.setText("")
        show_error(self, "Cannot store this verdict", message)

    def _replace_report(self, old: SearchReport, new: SearchReport) -> None:
        """`old`, with verdicts applied: its Run entry keeps `new`; shown, the list, the timeline and the player
        follow (the player stays at its frame)."""
        for run in self.runs.runs():
            if run.report is old:
                self.runs.update_report(run, new)
        if self.report is not old:
            return  # another run is shown meanwhile: it gets the new results when chosen again
        self.report, self.results = new, list(new.files)
        self._set_match_count(sum(len(fr.matches) for f in new.files for fr in f.frames))
        pinned = self._pin_key
        for f in new.files:
            if not f.error:
                self.sightings.set_file(f.path, f.kind, f.sightings, final=True, time_caution=f.time_caution)
        if pinned is not None and pinned not in {r.key for r in self.sightings.refs()}:
            self.follow_live()  # the sighting shown is gone
        shown = self.player.result
        if shown is not None:
            res = self._file(shown.path)
            if res is not None:
                self._review_file(res, max(0, self.player.position))
        self.refresh_marks()

    def refresh_marks(self) -> None:
        """Check marks on the sightings the user confirmed (the stored verdicts: an undo in the Manager removes
        the mark): a confirmed track or sighting of that identity in that file overlapping the segment."""
        if self.report is None:
            return
        confirmed = [(v.source, v.identity_id, v.start_frame, v.end_frame) for v in self.engine.verdicts()
                     if v.verdict == "confirm"]
        self.sightings.set_confirmed({
            r.key for r in self.sightings.refs()
            if any(src == os.path.abspath(r.path) and ident == r.identity_id and a <= r.end_frame and b >= r.start_frame
                   for src, ident, a, b in confirmed)})
        self._update_verdict_buttons()  # the list was rebuilt without its signals

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.running:  # identities may have been registered or deleted on another page meanwhile
            self._show_settings_summary()

    # -- settings ---------------------------------------------------------------------------------------
    def open_settings(self) -> bool:
        dlg = SettingsDialog(self.engine, running=self.running, parent=self)
        ok = dlg.exec() == SettingsDialog.DialogCode.Accepted
        if not self.running:  # a run goes on with its own settings: the summary shows the new ones when it ends
            self._show_settings_summary()
        return ok

    # -- export -----------------------------------------------------------------------------------------
    def _default_name(self, suffix: str) -> str:
        """The export's suggested path: in the folder of the last export (else the source's folder or home)."""
        stem = self.source.stem if self.source else "results"
        fallback = self.source.parent if self.source and self.source.is_file() else Path.home()
        return str(Path(app_settings.last_export_dir(fallback)) / f"{stem}_reid{suffix}")

    def export_json(self, path: str | None = None) -> Path | None:
        return self._export("JSON", ".json", "JSON (*.json)", export_json, path)

    def export_csv(self, path: str | None = None) -> Path | None:
        return self._export("CSV", ".csv", "CSV (*.csv)", export_csv, path)

    def _export(self, what: str, suffix: str, filt: str, fn, path: str | None) -> Path | None:
        if self.report is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, f"Export results as {what}", self._default_name(suffix), filt)
            if not path:
                return None
        try:
            self.engine.check_output(path, [f.path for f in self.report.files])  # never the gallery or a source
            out = fn(self.report, path)
        except ReIdError as e:
            show_error(self, "Export failed", str(e))
            return None
        except (OSError, ValueError) as e:
            show_error(self, "Export failed", f"Cannot write {path}: {e}")
            return None
        app_settings.remember_export(out)
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
                dest = QFileDialog.getExistingDirectory(self, "Folder for the annotated videos",
                                                        app_settings.last_export_dir(Path.home()))
                if not dest:
                    return False
            jobs = [(v, Path(dest) / (Path(v.path).stem + "_annotated.mp4")) for v in videos]
        try:
            for _, out in jobs:  # an annotated copy must never replace the video it was made from
                self.engine.check_output(out, [f.path for f in self.report.files])
        except ReIdError as e:
            show_error(self, "Export failed", str(e))
            return False
        problems = [f"{Path(v.path).name}: {p}" for v, _ in jobs if (p := source_problem(v.path, v.fingerprint))]
        if problems:  # said before any is written: the boxes are drawn on the footage that was searched, or nothing
            show_error(self, "Export failed", f"Annotated videos are drawn on the footage that was searched:\n\n"
                                              f"{_listing(problems)}")
            return False
        app_settings.remember_export(jobs[0][1])
        w = Worker(export_videos, jobs, self.report.settings.sample_ft).with_progress().with_cancel()
        self.exporter = w
        self._label_before_export = self.progress_label.text()
        self.progress_label.setText("Writing the annotated video\u2026")
        self.workers.start(w, self._export_done, lambda m: self._export_failed(w, m),
                           on_progress=self._export_progress, on_yield=self._export_file)
        self._update_buttons()
        return True

    def evidence_selection(self) -> tuple[list[EvidenceSelection], str]:
        """What the evidence export takes: the sightings selected in the list (an identity: all of its), else all;
        and that in words."""
        refs = self.sightings.selected_refs() or self.sightings.refs()
        chosen: dict[tuple[str, int], list[int]] = {}
        for ref in refs:
            res = self._file(ref.path)
            segs = next((s.segments for s in (res.sightings if res else []) if s.identity_id == ref.identity_id), [])
            i = next((k for k, g in enumerate(segs) if g.start_frame == ref.start_frame), None)
            if i is not None:
                chosen.setdefault((ref.path, ref.identity_id), []).append(i)
        selection = [EvidenceSelection(path, ident, tuple(sorted(idx))) for (path, ident), idx in chosen.items()]
        n = sum(len(sel.segments) for sel in selection)
        labels = ", ".join(dict.fromkeys(r.label for r in refs))
        files = {sel.path for sel in selection}
        where = Path(next(iter(files))).name if len(files) == 1 else f"{len(files)} files"
        return selection, f"{n} sighting{'s' if n != 1 else ''} of {labels} in {where}"

    def evidence_box(self, what: str) -> QMessageBox:
        """Asks what the evidence export writes, with the "Blur everyone else" choice; Continue or Cancel."""
        box = QMessageBox(QMessageBox.Icon.Question, "Export evidence", f"Export a case folder with {what}?",
                          QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("It holds each sighting's clip and best frame, the registration photos, the results "
                               "and a report, with every file's SHA-256 in a manifest. Select sightings in the list "
                               "(Ctrl+click) to export only those.\n\nNext you choose where the folder goes.")
        # parented: PySide does not hand the box the check box's ownership, a temporary one would be freed
        box.setCheckBox(QCheckBox("Blur everyone else (the people and vehicles not in the case)", box))
        go = box.addButton("Choose folder\u2026", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(go)
        return box

    def export_evidence(self, dest: str | Path | None = None, blur_others: bool | None = None) -> bool:
        """Writes an evidence case folder of the selected sightings (else all) in a worker, with progress (Stop
        cancels it and leaves nothing). `dest`: the case folder (new or empty); asked when None: in the folder
        chosen, or a new folder made in it when it is not empty."""
        if not self.reviewing or self.exporter is not None:
            return False
        selection, what = self.evidence_selection()
        if not selection:
            return False
        if blur_others is None:
            box = self.evidence_box(what)
            box.exec()
            if box.buttonRole(box.clickedButton()) != QMessageBox.ButtonRole.AcceptRole:
                return False
            blur_others = box.checkBox().isChecked()
        if dest is None:
            fallback = self.source.parent if self.source and self.source.is_file() else Path.home()
            folder = QFileDialog.getExistingDirectory(self, "Where the case folder goes (an empty folder becomes it)",
                                                      app_settings.last_export_dir(fallback))
            if not folder:
                return False
            dest = Path(folder)
            try:
                full = any(dest.iterdir())
            except OSError as e:
                show_error(self, "Cannot export there", f"Cannot read {dest}: {e}")
                return False
            if full:
                stem = self.source.stem if self.source else "case"
                dest = dest / f"{stem}_evidence_{datetime.now():%Y-%m-%d_%H%M%S}"
        dest = Path(dest)
        app_settings.remember_export(dest)
        w = Worker(self.engine.export_evidence, self.report, selection, dest, blur_others=blur_others)
        w = w.with_progress().with_cancel()
        self.exporter = w
        self._label_before_export = self.progress_label.text()
        self.progress_label.setText(f"Writing the evidence of {what}"
                                    + (", everyone else blurred" if blur_others else "") + "\u2026 (Stop cancels)")
        self.workers.start(w, self._evidence_done, lambda m: self._export_failed(w, m),
                           on_progress=self._export_progress)
        self._update_buttons()
        return True

    def _evidence_done(self, folder: Path) -> None:
        self.exporter = None
        self.progress_label.setText(f"Saved the case folder {Path(folder).name}")
        self._update_buttons()
        QMessageBox.information(self, "Evidence exported", f"The case folder was written to\n{folder}\n\n"
                                "Open report.html in it to read it; manifest.json holds the SHA-256 of every file.")

    def _export_file(self, name: str) -> None:
        self.progress_label.setText(f"Writing the annotated {name}\u2026")

    def _export_progress(self, done: int, total: int) -> None:
        self.progress.setTextVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _export_done(self, paths: list[Path]) -> None:
        self.exporter = None
        self.progress_label.setText("Saved " + ", ".join(Path(p).name for p in paths))
        self._update_buttons()

    def _export_failed(self, w: Worker, message: str) -> None:
        self.exporter = None
        self._idle_progress()
        self._update_buttons()
        if w.cancel_requested:  # the user's Stop: the export gave up, nothing to report as an error
            self.progress_label.setText("Export cancelled.")
        else:
            self.progress_label.setText(self._label_before_export)  # what the run found is still what is shown
            show_error(self, "Export failed", message)

    # -- drag & drop, lifecycle -------------------------------------------------------------------------
    def dragEnterEvent(self, ev) -> None:
        paths = local_files(ev.mimeData())
        openable = paths and (paths[0].is_dir() or media_kind(paths[0]) or paths[0].suffix.lower() == ".json")
        if openable and not self.running and self.exporter is None:
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        paths = local_files(ev.mimeData())
        if paths:
            self.open_results(paths[0]) if paths[0].suffix.lower() == ".json" else self.set_source(paths[0])
            ev.acceptProposedAction()

    def work_in_progress(self) -> list[str]:
        """What closing the window would stop, in words (asked about first)."""
        work = []
        if self.running and self.source is not None:
            work.append(f"processing {self.source.name} (stopped where it is)")
        if self.exporter is not None:
            work.append("an export (nothing of it is kept)")
        return work

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Stops processing, exports, playback and thumbnails, and waits for every worker (window closing)."""
        self.worker = None
        ok = self.player.shutdown(timeout_ms)
        ok = self.sightings.shutdown(timeout_ms) and ok
        return self.workers.shutdown(timeout_ms) and ok

