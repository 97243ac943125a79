"""The review player's frames, decoded and drawn off the UI thread (run by a Worker: see `decode`).

One video stays open and is read in order while playing (outer_api.video_frames); a jump forward reads on from
where it is, a jump back reopens the video at the frame (the media layer seeks by grabbing, exact on every
container), and the last frames read are kept so stepping back a few frames decodes nothing. Playing follows a
clock (speed x real time); while the UI has not painted the previous frame, frames that fall due are read but
not drawn, so a slow machine skips frames instead of lagging and no queue of images builds up.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
from PySide6.QtGui import QImage

from Algorithm.outer_api import FileResult, FrameBoxes, draw_boxes, video_frames
from GUI.workers import bgr_to_qimage

CACHE_BYTES = 192 << 20  # recent frames kept for stepping back
CACHE_MAX = 64
IDLE_WAIT_S = 0.1


@dataclass(frozen=True)
class Shown:
    """A frame for the UI: `seq` is the command it answers (a later seek makes it stale)."""

    seq: int
    index: int
    image: QImage
    bgr: np.ndarray  # the frame as drawn (tests compare it)


@dataclass(frozen=True)
class Ended:
    """The video ended (or has no frame `index`) while playing or seeking; `last` is its last frame."""

    seq: int
    last: int


class PlayState:
    """What the UI asks of the decoder; every method is safe from any thread."""

    def __init__(self, fps: float):
        self.fps = fps if fps > 0 else 25.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.seq = 0
        self.target: int | None = None  # a frame to show next (seek, step)
        self.playing = False
        self.speed = 1.0
        self._anchor = (0.0, 0)  # (clock time, frame) the playing clock counts from
        self.next_frame = 0  # the frame playing shows next
        self.in_flight = 0  # frames handed to the UI and not received yet

    def seek(self, frame: int, playing: bool | None = None) -> int:
        with self._lock:
            self.seq += 1
            self.target = max(0, int(frame))
            if playing is not None:
                self.playing = playing
            self._wake.set()
            return self.seq

    def play(self, from_frame: int) -> None:
        with self._lock:
            self.playing = True
            self.next_frame = max(0, int(from_frame))
            self._anchor = (time.monotonic(), self.next_frame)
            self._wake.set()

    def pause(self) -> None:
        with self._lock:
            self.playing = False
            self._wake.set()

    def set_speed(self, speed: float, at_frame: int) -> None:
        with self._lock:
            self.speed = float(speed)
            self._anchor = (time.monotonic(), int(at_frame))

    def received(self) -> None:
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    # -- decoder side -------------------------------------------------------------------------------
    def due(self, frame: int) -> float:
        t0, f0 = self._anchor
        return t0 + (frame - f0) / (self.fps * self.speed)

    def take_command(self) -> tuple[int, int | None, bool, int]:
        """(seq, target or None, playing, next frame) and clears the target; after a seek, playing goes on from it."""
        with self._lock:
            self._wake.clear()
            target, self.target = self.target, None
            if target is not None:
                self.next_frame = target + 1
                self._anchor = (time.monotonic() + 1.0 / (self.fps * self.speed), target + 1)
            return self.seq, target, self.playing, self.next_frame

    def advance(self, frame: int) -> None:
        with self._lock:
            if self.target is None:
                self.next_frame = frame + 1

    def handed(self) -> None:
        with self._lock:
            self.in_flight += 1

    def wait(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))


class _Frames:
    """Frame `k` of one video: from the recent ones, by reading on, or by reopening at k."""

    def __init__(self, path: str):
        self.path = path
        self._it: Iterator[tuple[int, np.ndarray]] | None = None
        self._pos = -1  # the index last read from _it
        self._recent: OrderedDict[int, np.ndarray] = OrderedDict()

    def get(self, k: int) -> np.ndarray | None:
        if k in self._recent:
            return self._recent[k]
        # reopening grabs from frame 0 (cheaper per frame than reading): read on only when that is shorter
        if self._it is None or k <= self._pos or 0.7 * k < k - self._pos:
            self.close()
            self._it, self._pos = video_frames(self.path, start=k), k - 1
        for idx, frame in self._it:
            self._pos = idx
            self._keep(idx, frame)
            if idx >= k:
                return frame
        self.close()  # the video ended before frame k
        return None

    def _keep(self, idx: int, frame: np.ndarray) -> None:
        self._recent[idx] = frame
        cap = max(2, min(CACHE_MAX, CACHE_BYTES // max(1, frame.nbytes)))
        while len(self._recent) > cap:
            self._recent.popitem(last=False)

    def last_read(self) -> int:
        return max(self._recent, default=-1)

    def close(self) -> None:
        if self._it is not None:
            self._it.close()
        self._it, self._pos = None, -1


def draw(frame: np.ndarray, boxes) -> np.ndarray:
    """The frame as the player shows it: the stored matches drawn as in the annotated video."""
    return draw_boxes(frame, boxes, unmatched=False) if boxes else frame


def decode(result: FileResult, sample_ft: int, state: PlayState, cancel: Callable[[], bool]):
    """Worker generator: yields Shown (and Ended) for the player until cancelled."""
    frames, shown = _Frames(result.path), FrameBoxes(result, sample_ft)
    try:
        while not cancel():
            seq, target, playing, k = state.take_command()
            if target is None and not playing:
                state.wait(IDLE_WAIT_S)
                continue
            if target is None:  # playing: wait for the frame's time (a command wakes the wait)
                delay = state.due(k) - time.monotonic()
                if delay > 0:
                    state.wait(min(delay, IDLE_WAIT_S))
                    if state.target is not None or not state.playing or state.due(k) > time.monotonic():
                        continue
            k = target if target is not None else k
            frame = frames.get(k)
            if frame is None:
                state.pause()
                yield Ended(seq, frames.last_read())
                continue
            state.advance(k)
            if target is None and state.in_flight:
                continue  # the UI has not painted the last one: read on, draw the next that falls due
            img = draw(frame, shown(k))
            state.handed()
            yield Shown(seq, k, bgr_to_qimage(img), img)
    finally:
        frames.close()
