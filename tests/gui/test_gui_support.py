"""GUI support pieces: drawing, the sightings tree on typed sightings, and the one Worker (plain and generator work)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from Algorithm.outer_api import BoxResult, InputError, Segment, Sighting, draw_boxes, identity_color
from Algorithm.types import Match
from GUI.sightings_panel import SightingsTree
from GUI.workers import Worker, WorkerPool


def box(track, match=None, x=0):
    return BoxResult((x, 0, x + 10, 20), 0.9, "person", track, match)


def test_drawing():
    m = Match(3, "C", 0.12)
    img = np.zeros((60, 80, 3), np.uint8)
    out = draw_boxes(img, [box(-1, m, x=30), box(-1, x=2)])
    assert img.max() == 0 and out.shape == img.shape  # a copy
    assert tuple(out[10, 30]) == identity_color(3)  # the matched box's edge, in its identity's colour
    assert 0 < out[10, 2].max() < 255  # the unmatched one: faint


def test_sightings_tree_takes_typed_sightings(qtbot):
    tree = SightingsTree()
    qtbot.addWidget(tree)
    seg = Segment(30, 60, 1.0, 2.0, 45, 0.21, (1, 2, 3, 4), hits=5, best_time=1.5)
    photo = Segment(0, 0, 0.0, 0.0, 0, 0.1, (5, 6, 7, 8))
    tree.set_file("clip.mp4", "video", [Sighting(7, "Ann", [seg])])
    tree.set_file("p.jpg", "image", [Sighting(7, "Ann", [photo]), Sighting(9, "Bob", [photo])])
    refs = tree.refs()
    assert [(r.label, r.kind) for r in refs] == [("Ann", "video"), ("Ann", "image"), ("Bob", "image")]
    assert refs[0].best_time == 1.5 and refs[0].best_frame == 45  # the segment's own best_time
    assert tree.topLevelItemCount() == 2 and tree.segment_count() == 3
    # the final sightings of a file replace its live ones
    tree.set_file("clip.mp4", "video", [])
    assert tree.segment_count() == 2
    with qtbot.waitSignal(tree.sightingChosen) as sig:
        chosen = tree.choose_first()
    assert sig.args[0] == chosen and chosen.label == "Ann"


def _gen(n, gate=None, cancel=None):
    for i in range(n):
        if cancel is not None and cancel():
            return f"stopped at {i}"
        if gate is not None:
            gate.wait(5)
        time.sleep(0.005)
        yield i
    return "all"


def test_worker_plain_function_progress_and_errors(qtbot):
    pool = WorkerPool()

    def job(k, progress):
        for i in range(k):
            progress(i + 1, k)
        return k * 2

    got = []
    w = Worker(job, 5).with_progress()
    with qtbot.waitSignal(w.finished, timeout=30_000):
        pool.start(w, got.append, pytest.fail, on_progress=lambda d, t: got.append((d, t)))
    qtbot.waitUntil(lambda: not pool.busy)
    assert got[-1] == 10 and (5, 5) in got  # the last progress always arrives, then the result

    def bad_input():
        raise InputError("Not a readable image: x.jpg")

    def bug():
        raise KeyError("boom")

    msgs = []
    for fn in (bad_input, bug):
        w = Worker(fn)
        with qtbot.waitSignal(w.finished, timeout=30_000):
            pool.start(w, pytest.fail, msgs.append)
    assert msgs[0] == "Not a readable image: x.jpg"  # the engine's message as it is
    assert msgs[1].startswith("Unexpected error:") and "boom" in msgs[1]


def test_worker_generator_pause_resume_cancel(qtbot):
    pool = WorkerPool()
    values, results = [], []
    gate = threading.Event()
    gate.set()

    # with_cancel: the generator is told and ends itself; the worker reads it to the end (results kept)
    w = Worker(_gen, 1000, gate).with_cancel()
    pool.start(w, results.append, pytest.fail, on_yield=values.append)
    qtbot.waitUntil(lambda: len(values) >= 3, timeout=30_000)
    w.pause()
    qtbot.wait(200)
    frozen = len(values)
    qtbot.wait(300)
    assert len(values) == frozen and w.paused and w.isRunning()
    w.resume()
    qtbot.waitUntil(lambda: len(values) > frozen, timeout=30_000)
    w.pause()
    with qtbot.waitSignal(w.finished, timeout=30_000):
        w.cancel()  # a paused worker wakes up to end
    qtbot.waitUntil(lambda: not pool.busy)
    assert results and results[0].startswith("stopped at") and values == list(range(len(values)))

    # without with_cancel: cancel closes the generator, `cancelled` instead of `succeeded`
    values.clear()
    gate.clear()
    w = Worker(_gen, 1000, gate)
    closed = []
    w.cancelled.connect(lambda: closed.append(True))
    pool.start(w, pytest.fail, pytest.fail, on_yield=values.append)
    w.cancel()
    gate.set()
    assert pool.shutdown(5000)
    qtbot.waitUntil(lambda: bool(closed), timeout=30_000)
    assert len(values) <= 1
