"""One worker for every long engine call (models, detection, registration, search, export), and the pool that owns them.

In the spirit of napari's `thread_worker` and Anki's `CollectionOp`: a page hands a plain function or a generator
function to a `Worker`, connects what it wants to hear, and gives the worker to its `WorkerPool`:

    w = Worker(engine.search, path, max_frames=n).with_cancel()        # engine.search(path, ..., cancel=...)
    pool.start(w, on_ok=..., on_fail=..., on_yield=self._event)        # every FileStarted/FrameDone/... in order
    w.pause(); w.resume(); w.cancel()

Everything reaches the UI thread through the worker's signals, in order:
    progress(done, total)  from the `progress` callable handed to fn (`with_progress()`), at most every 50 ms
    message(text)          from the callable handed to fn by `with_messages()` (progress in words)
    yielded(value)         each value a generator yields (the UI thread decides what to paint: see UiPageProcess)
    succeeded(result)      fn's return value (a generator's `return` value; None when it returns nothing)
    failed(message)        the error in words: a ReIdError's own message, anything else "Unexpected error: ..."
    cancelled()            a generator closed on cancel() (only without `with_cancel()`; see below)
    finished()             (QThread) always, last

Pause and cancel, for generator work, are checked between yielded values. Cancelling a worker made
`with_cancel()` hands the decision to fn: the callable it got starts returning True and the worker keeps
reading the generator to its end, so a search ends its current file as "stopped" and still yields its
FileDone and Finished (results are kept, not thrown away). Without `with_cancel()`, cancel closes the generator
(GeneratorExit inside it) and `cancelled` is emitted instead of `succeeded`. The callable given to fn also
waits while the worker is paused, so a plain function that checks it (an export) pauses too.

The workers import only Algorithm.outer_api; the UI thread never waits on a model.
"""
from __future__ import annotations

import inspect
import threading
import time
import traceback
from typing import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QImage

from Algorithm.outer_api import ReIdError


def error_text(e: BaseException) -> str:
    """What the user reads for an error: the engine's own message, or "Unexpected error: ..." for anything else."""
    if isinstance(e, ReIdError):
        return str(e)
    traceback.print_exception(e)
    return f"Unexpected error: {type(e).__name__}: {e}"


def bgr_to_qimage(img: np.ndarray) -> QImage:
    """One copy of a BGR frame into a QImage (safe to build outside the UI thread)."""
    img = np.ascontiguousarray(img)
    h, w = img.shape[:2]
    return QImage(img.data, w, h, img.strides[0], QImage.Format.Format_BGR888).copy()


class Worker(QThread):
    """Runs `fn(*args, **kw)` off the UI thread; fn may be a plain function or a generator function.

    Options (chainable, before start): `with_progress(kw="progress")` passes a `progress(done, total)` callable
    as keyword `kw`; `with_cancel(kw="cancel")` passes a `cancel() -> bool` callable as keyword `kw` (it also waits
    while paused); `named(kind)` tags the worker for `WorkerPool.has(kind)`."""

    progress = Signal(int, int)
    message = Signal(str)
    yielded = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    PROGRESS_EVERY_S = 0.05

    def __init__(self, fn: Callable, *args, **kw):
        super().__init__()
        self.fn, self.args, self.kw = fn, args, kw
        self.kind = ""
        self._progress_kw: str | None = None
        self._message_kw: str | None = None
        self._cancel_kw: str | None = None
        self._cancel = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._last_progress = 0.0

    # -- options (UI thread, before start) ----------------------------------------------------------
    def with_progress(self, kw: str = "progress") -> Worker:
        self._progress_kw = kw
        return self

    def with_messages(self, kw: str = "progress") -> Worker:
        """fn gets a `say(text)` callable as keyword `kw`; each text is emitted as `message`."""
        self._message_kw = kw
        return self

    def with_cancel(self, kw: str = "cancel") -> Worker:
        self._cancel_kw = kw
        return self

    def named(self, kind: str) -> Worker:
        self.kind = kind
        return self

    # -- control (any thread) ---------------------------------------------------------------------
    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def cancel(self) -> None:
        """Asks the work to end (a paused worker wakes up to end). Results the work keeps still arrive."""
        self._cancel.set()
        self._resume.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    @property
    def cancel_requested(self) -> bool:
        """cancel() was called (a failure that follows is the work giving up, not an error to show)."""
        return self._cancel.is_set()

    # -- worker thread ------------------------------------------------------------------------------
    def _checkpoint(self) -> bool:
        """Waits while paused; True once cancelled (the callable fn gets with `with_cancel()`)."""
        while not self._resume.wait(0.1):
            if self._cancel.is_set():
                break
        return self._cancel.is_set()

    def _report_progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= self.PROGRESS_EVERY_S:
            self._last_progress = now
            self.progress.emit(int(done), int(total))

    def _drive(self, gen):
        """Reads the generator, relaying each value; returns its return value (or raises _Closed on cancel)."""
        while True:
            if self._checkpoint() and self._cancel_kw is None:
                gen.close()
                raise _Closed
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            self.yielded.emit(value)

    def run(self) -> None:
        kw = dict(self.kw)
        if self._progress_kw:
            kw[self._progress_kw] = self._report_progress
        if self._message_kw:
            kw[self._message_kw] = self.message.emit
        if self._cancel_kw:
            kw[self._cancel_kw] = self._checkpoint
        try:
            result = self.fn(*self.args, **kw)
            if inspect.isgenerator(result):
                result = self._drive(result)
        except _Closed:
            self.cancelled.emit()
            return
        except Exception as e:  # every failure must reach the user, never kill the thread silently
            self.failed.emit(error_text(e))
            return
        self.succeeded.emit(result)


class _Closed(Exception):
    """A generator closed on cancel (internal)."""


class WorkerPool:
    """Owns running workers (keeps them alive, wires their signals) and waits for them on close.

    `on_idle` is called on the UI thread each time a worker has ended (pages refresh their buttons there)."""

    def __init__(self, on_idle: Callable[[], None] | None = None):
        self._items: set[Worker] = set()
        self._on_idle = on_idle

    def start(self, worker: Worker, on_ok: Callable | None = None, on_fail: Callable | None = None, *,
              on_yield: Callable | None = None, on_progress: Callable | None = None,
              on_message: Callable | None = None) -> Worker:
        for signal, slot in ((worker.succeeded, on_ok), (worker.failed, on_fail), (worker.yielded, on_yield),
                             (worker.progress, on_progress), (worker.message, on_message)):
            if slot is not None:
                signal.connect(slot)
        self._items.add(worker)
        worker.finished.connect(lambda w=worker: self._finished(w))
        worker.start()
        return worker

    def _finished(self, worker: Worker) -> None:
        self._items.discard(worker)
        worker.deleteLater()
        if self._on_idle is not None:
            self._on_idle()

    @property
    def busy(self) -> bool:
        """True from start() until the worker's `finished` has reached the UI thread."""
        return bool(self._items)

    def has(self, kind: str) -> bool:
        """Whether a worker `named(kind)` has not ended yet (a cancelled search may still be winding down)."""
        return any(w.kind == kind for w in self._items)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancels every worker, then waits for all; True when every one has ended."""
        items = list(self._items)
        for w in items:
            w.cancel()
        return all(w.wait(timeout_ms) for w in items)
