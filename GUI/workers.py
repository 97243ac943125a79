"""QThread workers: every long engine call (models, detection, registration, search, export) runs here.

Workers call only Algorithm.outer_api and report back through signals; the UI thread never waits on a model.
Errors become a readable message on `failed` instead of escaping the thread.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QImage

from Algorithm.outer_api import (
    BoxResult,
    Engine,
    FileResult,
    FrameResult,
    LiveSightings,
    ReIdError,
    Sighting,
    export_annotated_video,
    media_kind,
)


def error_text(e: BaseException) -> str:
    """What the user reads for an error: the engine's own message, or a plain sentence for the unexpected."""
    if isinstance(e, ReIdError):
        return str(e)
    if isinstance(e, MemoryError):
        return "The computer ran out of memory. Close other programs or process a smaller file."
    if isinstance(e, OSError):
        return f"A file could not be read or written: {e}"
    traceback.print_exception(e)
    return f"Something went wrong ({type(e).__name__}): {e}"


def bgr_to_qimage(img: np.ndarray) -> QImage:
    """One copy of a BGR frame into a QImage (safe to build outside the UI thread)."""
    img = np.ascontiguousarray(img)
    h, w = img.shape[:2]
    return QImage(img.data, w, h, img.strides[0], QImage.Format.Format_BGR888).copy()


class CallWorker(QThread):
    """Runs fn(*args, **kw) once; `succeeded(result)` or `failed(message)`."""

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable, *args, parent=None, **kw):
        super().__init__(parent)
        self.fn, self.args, self.kw = fn, args, kw

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kw)
        except Exception as e:  # every failure must reach the user, never kill the thread silently
            self.failed.emit(error_text(e))
            return
        self.succeeded.emit(result)


class ProgressCallWorker(CallWorker):
    """A CallWorker whose function takes a `progress(done, total)` keyword, relayed as the `progress` signal."""

    progress = Signal(int, int)

    def run(self) -> None:
        self.kw["progress"] = self.progress.emit
        super().run()


@dataclass
class FrameUpdate:
    """What the Process page needs after a frame: image only when the UI is ready for one (else None)."""

    path: str
    file_index: int
    file_count: int
    frame_index: int
    total_frames: int
    stop_frame: int  # last frame index + 1 this run will reach (max_frames or the frame count)
    fps: float
    time_s: float
    boxes: list[BoxResult]
    image: QImage | None
    frames_done: int
    matches_total: int
    sightings: list[Sighting] | None = None  # live sightings of the current file, when they changed
    size: tuple[int, int] = (0, 0)


@dataclass
class _Run:
    file_index: int = 0
    file_count: int = 1
    path: str = ""
    live: LiveSightings | None = None
    frames_done: int = 0
    matches_total: int = 0
    last_emit: float = 0.0
    last_sightings: float = 0.0
    results: list[FileResult] = field(default_factory=list)


class SearchWorker(QThread):
    """engine.search over a file or folder, with pause (blocks inside the per-frame cancel hook) and stop.

    Frames are dropped, not queued, while the UI has not shown the previous one (`frame_shown()`)."""

    fileStarted = Signal(int, int, str)
    frameReady = Signal(object)  # FrameUpdate
    fileDone = Signal(object)  # FileResult
    done = Signal(object)  # SearchReport (also after a stop)
    failed = Signal(str)

    PROGRESS_EVERY_S = 0.1
    SIGHTINGS_EVERY_S = 0.5

    def __init__(self, engine: Engine, path: str | Path, max_frames: int | None = None, parent=None):
        super().__init__(parent)
        self.engine, self.path, self.max_frames = engine, str(path), max_frames
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._ui_busy = threading.Event()
        self._run = _Run()

    # -- control (UI thread) ----------------------------------------------------------------------
    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def frame_shown(self) -> None:
        self._ui_busy.clear()

    @property
    def frames_done(self) -> int:
        """Frames processed so far (exact once the run has ended, unlike the throttled updates)."""
        return self._run.frames_done

    @property
    def matches_total(self) -> int:
        return self._run.matches_total

    # -- worker thread ------------------------------------------------------------------------------
    def _cancel(self) -> bool:
        while not self._resume.wait(0.1):
            if self._stop.is_set():
                break
        return self._stop.is_set()

    def _on_file(self, i: int, n: int, path: Path) -> None:
        self._run.file_index, self._run.file_count, self._run.path = i, n, str(path)
        self._run.live = LiveSightings(self.engine.settings, path)
        self.fileStarted.emit(i, n, str(path))

    def _on_frame(self, fr: FrameResult) -> None:
        r = self._run
        r.frames_done += 1
        r.matches_total += len(fr.matches)
        if r.live is not None:
            r.live.add(fr)
        now = time.monotonic()
        show = fr.frame is not None and not self._ui_busy.is_set()
        if not show and now - r.last_emit < self.PROGRESS_EVERY_S:
            return
        r.last_emit = now
        image = None
        if show:
            self._ui_busy.set()
            image = bgr_to_qimage(fr.frame)
        sightings = None
        if r.live is not None and r.live.changed and now - r.last_sightings >= self.SIGHTINGS_EVERY_S:
            r.last_sightings = now
            sightings = r.live.result()
        total = fr.total_frames
        stop = min(total, self.max_frames) if (total and self.max_frames) else (total or self.max_frames or 0)
        size = (fr.frame.shape[1], fr.frame.shape[0]) if fr.frame is not None else (0, 0)
        self.frameReady.emit(
            FrameUpdate(
                fr.path, r.file_index, r.file_count, fr.frame_index, total, stop, fr.fps_processing, fr.time_s,
                fr.boxes, image, r.frames_done, r.matches_total, sightings, size,
            )
        )

    def _on_result(self, res: FileResult) -> None:
        self._run.results.append(res)
        self.fileDone.emit(res)

    def run(self) -> None:
        try:
            report = self.engine.search(
                self.path,
                on_frame=self._on_frame,
                cancel=self._cancel,
                on_file=self._on_file,
                on_result=self._on_result,
                max_frames=self.max_frames,
            )
        except Exception as e:
            self.failed.emit(error_text(e))
            return
        self.done.emit(report)


class ExportVideoWorker(QThread):
    """Writes annotated copies of processed videos; `progress(done, total, name)`, then `succeeded(paths)`."""

    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, jobs: list[tuple[FileResult, Path]], sample_ft: int, parent=None):
        super().__init__(parent)
        self.jobs, self.sample_ft = jobs, sample_ft
        self._stop = threading.Event()
        self._last = 0.0

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        written = []
        try:
            for res, dest in self.jobs:
                if media_kind(res.path) != "video":
                    continue
                name = Path(res.path).name

                def progress(done, total, name=name):
                    now = time.monotonic()
                    if now - self._last > 0.1 or done == total:
                        self._last = now
                        self.progress.emit(done, total, name)

                written.append(export_annotated_video(res, dest, self.sample_ft, progress, self._stop.is_set))
        except Exception as e:
            self.failed.emit(error_text(e))
            return
        self.succeeded.emit(written)


class WorkerPool:
    """Keeps running workers alive, wires their signals, and waits for them on shutdown."""

    def __init__(self, on_idle: Callable[[], None] | None = None):
        self._items: set[QThread] = set()
        self._on_idle = on_idle  # called on the UI thread each time a worker has ended

    def start(self, worker: QThread, on_ok: Callable | None = None, on_fail: Callable | None = None) -> QThread:
        if on_ok is not None and hasattr(worker, "succeeded"):
            worker.succeeded.connect(on_ok)
        if on_fail is not None:
            worker.failed.connect(on_fail)
        self._items.add(worker)
        worker.finished.connect(lambda w=worker: self._finished(w))
        worker.start()
        return worker

    def _finished(self, worker: QThread) -> None:
        self._items.discard(worker)
        worker.deleteLater()
        if self._on_idle is not None:
            self._on_idle()

    @property
    def busy(self) -> bool:
        """True from start() until the worker's `finished` has reached the UI thread."""
        return bool(self._items)

    def has(self, kind: type) -> bool:
        return any(isinstance(w, kind) for w in self._items)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Asks stoppable workers to stop, then waits for all; True when every one has ended."""
        for w in list(self._items):
            if hasattr(w, "stop"):
                w.stop()
        return all(w.wait(timeout_ms) for w in list(self._items))
