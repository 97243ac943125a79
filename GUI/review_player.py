"""The review player of the Process page: a processed video played back with its stored results drawn on it,
without processing again.

It paints into the page's frame view and adds the controls under it: step back, play/pause, step forward, a
seek slider, the time, the speed (0.25x-8x), a "?" menu of the keyboard shortcuts, and the timeline of the
sightings. Frames are decoded and drawn in a worker (GUI/playback.py); this widget only sends commands and paints
what comes back. A photo's results are shown as one still frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from Algorithm.outer_api import FileResult, FrameBoxes, Segment, read_image, source_problem
from GUI.playback import Ended, PlayState, Shown, decode, draw
from GUI.timeline import Timeline
from GUI.widgets import APPROX, ImageView, as_sentence, fmt_time
from GUI.workers import Worker, WorkerPool, bgr_to_qimage

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 8.0)
SMALL_SEEK_S = 1.0  # Left/Right while playing
SEEK_S = 5.0  # Shift+Left/Right
JUMP_S = 10.0  # J
# (keys, what they do): the "?" menu and the tooltip list them, handle_key implements them
SHORTCUTS = (
    ("Space / K", "Play or pause"),
    ("\u2190 / \u2192", "One frame back / forward (while playing: 1 s)"),
    (", / .", "One frame back / forward (pauses)"),
    ("Shift+\u2190 / Shift+\u2192", "5 s back / forward"),
    ("J", "10 s back"),
    ("L", "Play; again while playing: faster (up to 8\u00d7)"),
    ("Home / End", "First / last frame"),
)


def speed_text(speed: float) -> str:
    return f"{speed:g}\u00d7"


class ReviewPlayer(QWidget):
    """`stateChanged()` when it starts or stops playing or loads a file; `positionChanged(frame)` per frame shown."""

    stateChanged = Signal()
    positionChanged = Signal(int)

    def __init__(self, view: ImageView, parent=None):
        super().__init__(parent)
        self.view = view
        self.workers = WorkerPool()
        self.result: FileResult | None = None
        self.sample_ft = 1
        self.fps = 25.0
        self.frame_count = 0
        self.approx = ""  # APPROX before the time shown when the video's times are approximate (time_caution)
        self.position = -1  # the frame on screen
        self.shown_bgr: np.ndarray | None = None  # that frame as drawn (tests compare it)
        self.problem: str | None = None  # why the loaded result's file cannot be shown (gone or replaced)
        self._state: PlayState | None = None
        self._decoder: Worker | None = None
        self._last_seek = -1
        self._build()
        self._set_enabled(False)

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        st = self.style()

        def tool(icon, tip, slot) -> QToolButton:
            b = QToolButton()
            b.setIcon(st.standardIcon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay with the video
            b.clicked.connect(slot)
            return b

        self.back_btn = tool(QStyle.StandardPixmap.SP_MediaSeekBackward, "One frame back (\u2190 or ,)",
                             lambda: self.step(-1))
        self.play_btn = tool(QStyle.StandardPixmap.SP_MediaPlay, "Play the results back (Space)", self.toggle)
        self.fwd_btn = tool(QStyle.StandardPixmap.SP_MediaSeekForward, "One frame forward (\u2192 or .)",
                            lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(self._slider_moved)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance(APPROX + "0:00:00.0 / 0:00:00.0"))
        self.speed_box = QComboBox()
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for s in SPEEDS:
            self.speed_box.addItem(speed_text(s), s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed")
        self.speed_box.currentIndexChanged.connect(lambda i: self.set_speed(SPEEDS[i]))
        self.help_btn = QToolButton()
        self.help_btn.setText("?")
        self.help_btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.help_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.help_btn.setToolTip("Keyboard shortcuts (click the video first):\n" +
                                 "\n".join(f"{k}\t{what}" for k, what in SHORTCUTS))
        menu = QMenu(self.help_btn)
        for keys, what in SHORTCUTS:
            menu.addAction(f"{what}\t{keys}").setEnabled(False)
        self.help_btn.setMenu(menu)

        self.transport = QWidget()  # hidden for a photo: there is nothing to play
        row = QHBoxLayout(self.transport)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.back_btn, self.play_btn, self.fwd_btn):
            row.addWidget(w)
        row.addWidget(self.slider, 1)
        for w in (self.time_label, self.speed_box, self.help_btn):
            row.addWidget(w)
        self.timeline = Timeline()
        self.timeline.seekRequested.connect(lambda f: self.seek(f))
        self.timeline.segmentClicked.connect(self.play_segment)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.transport)
        lay.addWidget(self.timeline)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.back_btn, self.play_btn, self.fwd_btn, self.slider, self.speed_box):
            w.setEnabled(on)

    # -- state ------------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self.result is not None

    @property
    def playable(self) -> bool:
        """A video is loaded (a photo is only shown)."""
        return self._state is not None

    @property
    def playing(self) -> bool:
        return self._state is not None and self._state.playing

    @property
    def speed(self) -> float:
        return self._state.speed if self._state is not None else 1.0

    def frame_of(self, seconds: float) -> int:
        return int(round(seconds * self.fps))

    def _last_frame(self) -> int:
        return max(0, (self.frame_count or self.result.stats.frames_read or 1) - 1)

    # -- loading ----------------------------------------------------------------------------------
    def load(self, result: FileResult, sample_ft: int, position: int = 0) -> None:
        """Shows `result` (a video at frame `position`, paused; a photo as it is); nothing is processed."""
        self.unload()
        self.result, self.sample_ft = result, max(1, int(sample_ft))
        self.problem = source_problem(result.path, result.fingerprint)
        if self.problem:  # gone, or another file under its name: the boxes would be drawn on other footage
            self.timeline.hide()
            self.transport.hide()
            self.view.clear()
            self.view.set_placeholder(f"Cannot show {Path(result.path).name}: {self.problem}.")
            self.stateChanged.emit()
            return
        if result.kind != "video":
            self.timeline.hide()
            self.transport.hide()
            self._show_photo(result)
            self.stateChanged.emit()
            return
        self.fps = result.fps if result.fps > 0 else 25.0
        self.frame_count = result.frame_count or result.stats.frames_read
        caution = result.time_caution
        self.approx = APPROX if caution else ""
        self.time_label.setToolTip(as_sentence(caution))
        self.timeline.show()
        self.transport.show()
        self.timeline.set_results(result.sightings, self.frame_count, self.fps, result.stats.frames_read)
        self.slider.blockSignals(True)
        self.slider.setRange(0, self._last_frame())
        self.slider.setPageStep(max(1, self.frame_of(SEEK_S)))
        self.slider.blockSignals(False)
        self.speed_box.blockSignals(True)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.blockSignals(False)
        self._state = PlayState(self.fps)
        w = Worker(decode, result, self.sample_ft, self._state).with_cancel().named("playback")
        self._decoder = w
        self.workers.start(w, on_fail=lambda msg: self._failed(w, msg), on_yield=lambda v: self._received(w, v))
        self._set_enabled(True)
        self.seek(min(max(0, position), self._last_frame()))
        self.stateChanged.emit()

    def _show_photo(self, result: FileResult) -> None:
        boxes = FrameBoxes(result, 1)(0)

        def job():
            img = draw(read_image(result.path), boxes)
            return img, bgr_to_qimage(img)

        def shown(out):
            if self.result is result:
                self.shown_bgr, self.position = out[0], 0
                self.view.set_image(out[1])
                self.positionChanged.emit(0)

        self.workers.start(Worker(job), shown, lambda msg: self._failed(None, msg))

    def unload(self) -> None:
        """Stops decoding (the thread ends by itself) and forgets the file; the view keeps its last image."""
        if self._decoder is not None:
            self._decoder.cancel()
        self._decoder = self._state = None
        self.result = self.problem = None
        self.position = self._last_seek = -1
        self.shown_bgr = None
        self.timeline.clear()
        self._set_enabled(False)
        self._update_play_icon()
        self.approx = ""
        self.time_label.setToolTip("")
        self.time_label.setText("0:00.0 / 0:00.0")

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        self.unload()
        return self.workers.shutdown(timeout_ms)

    # -- commands -----------------------------------------------------------------------------------
    def play(self) -> None:
        if self._state is None or self.playing:
            return
        start = self.position + 1
        if start > self._last_frame():  # at the end: play from the start, as players do
            start = 0
        self._state.play(start)
        self._changed()

    def pause(self) -> None:
        if self.playing:
            self._state.pause()
            self._changed()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def seek(self, frame: int, play: bool | None = None) -> None:
        """Shows frame `frame` (clamped to the video); `play`: start or stop playing from it (None: as it was)."""
        if self._state is None:
            return
        frame = min(max(0, int(frame)), self._last_frame())
        self._last_seek = frame
        self._state.seek(frame, play)
        self._show_time(frame)
        if play is not None:
            self._changed()

    def seek_time(self, seconds: float, play: bool | None = None) -> None:
        self.seek(self.frame_of(seconds), play)

    def skip(self, seconds: float) -> None:
        base = self._last_seek if self._last_seek >= 0 else self.position
        self.seek(max(0, base) + self.frame_of(seconds))

    def step(self, frames: int) -> None:
        """Frame by frame: pauses first."""
        if self._state is None:
            return
        self.pause()
        base = self._last_seek if self._last_seek >= 0 else self.position
        self.seek(max(0, base) + frames)

    def set_speed(self, speed: float) -> None:
        if self._state is None:
            return
        speed = min(SPEEDS, key=lambda s: abs(s - speed))
        self._state.set_speed(speed, max(0, self.position))
        if self.speed_box.currentIndex() != SPEEDS.index(speed):
            self.speed_box.blockSignals(True)
            self.speed_box.setCurrentIndex(SPEEDS.index(speed))
            self.speed_box.blockSignals(False)

    def faster(self) -> None:
        """L: plays at 1x; pressed again while playing, doubles the speed up to 8x."""
        if not self.playing:
            self.set_speed(1.0)
            self.play()
        else:
            self.set_speed(min(SPEEDS[-1], max(1.0, self.speed) * 2))

    def play_segment(self, identity_id: int, seg: Segment) -> None:
        self.seek(seg.start_frame, play=True)

    def handle_key(self, ev: QKeyEvent) -> bool:
        """The player's shortcuts (SHORTCUTS); True when the key was one of them."""
        if self._state is None:
            return False
        key, mods = ev.key(), ev.modifiers()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier):
            return False
        k = Qt.Key
        if key in (k.Key_Space, k.Key_K):
            self.toggle() if key == k.Key_Space else self.pause()
        elif key in (k.Key_Left, k.Key_Right):
            sign = 1 if key == k.Key_Right else -1
            if shift:
                self.skip(sign * SEEK_S)
            elif self.playing:
                self.skip(sign * SMALL_SEEK_S)
            else:
                self.step(sign)
        elif key in (k.Key_Comma, k.Key_Period):
            self.step(1 if key == k.Key_Period else -1)
        elif key == k.Key_J:
            self.skip(-JUMP_S)
        elif key == k.Key_L:
            self.faster()
        elif key == k.Key_Home:
            self.seek(0)
        elif key == k.Key_End:
            self.seek(self._last_frame(), play=False)
        else:
            return False
        return True

    # -- what the decoder sends (UI thread) -----------------------------------------------------------
    def _received(self, worker: Worker, v: Shown | Ended) -> None:
        if worker is not self._decoder:
            return
        if isinstance(v, Ended):  # the decoder has stopped playing
            if v.seq == self._state.seq and 0 <= v.last < self._last_seek:
                self.seek(v.last, play=False)  # asked past the real end (a frame count that overstates): the last one
            self._changed()
            return
        self._state.received()
        if v.seq != self._state.seq:
            return  # answers a command overtaken by a later seek
        self.position, self.shown_bgr = v.index, v.bgr
        if v.index == self._last_seek:
            self._last_seek = -1
        self.view.set_image(v.image)
        self._show_time(v.index)
        self.timeline.set_position(v.index)
        self.positionChanged.emit(v.index)

    def _failed(self, worker: Worker | None, message: str) -> None:
        if worker is not None and worker is not self._decoder:
            return
        name = Path(self.result.path).name if self.result else "the file"
        self.unload()
        self.view.clear()
        self.view.set_placeholder(f"Cannot show {name}:\n{message}")
        self.stateChanged.emit()

    def _show_time(self, frame: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        total = self.frame_count / self.fps if self.frame_count else 0
        self.time_label.setText(f"{self.approx}{fmt_time(frame / self.fps)} / {fmt_time(total)}")

    def _slider_moved(self, value: int) -> None:
        if value != self.position:
            self.seek(value)

    def _changed(self) -> None:
        self._update_play_icon()
        self.stateChanged.emit()

    def _update_play_icon(self) -> None:
        st = self.style()
        icon = QStyle.StandardPixmap.SP_MediaPause if self.playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_btn.setIcon(st.standardIcon(icon))
        self.play_btn.setToolTip("Pause (Space)" if self.playing else "Play the results back (Space)")
