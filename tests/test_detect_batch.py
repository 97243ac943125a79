"""Frames detected several at a time: the float YOLOv8n takes a batch (models/dequantize.py frees its batch axis), and
an exact run gives the detector a video's frames in twos on a CPU (pipeline/detect.py DETECT_BATCH). The boxes, the
matches and the sightings must be those of frames detected one by one."""
from __future__ import annotations

import numpy as np
import pytest

from testdata import BUS, MOT, PED_VIDEO, video_frame


@pytest.fixture(scope="module")
def detector():
    from Algorithm.models.registry import load_registry
    from Algorithm.pipeline.detect import Detector

    reg = load_registry()
    spec = reg.detector_spec()
    assert spec.name == "yolov8n"  # the install built the float copy
    return Detector(spec, reg.path_of(spec.name))


def test_the_float_copy_takes_a_batch_and_each_frame_gets_its_own_boxes(detector):
    import cv2

    from Algorithm.media import read_image

    assert detector.batch_size == 2  # CPU
    # frames of one video, and images of other sizes in the same call (each is letterboxed on its own)
    imgs = [video_frame(PED_VIDEO, i) for i in (120, 121, 300)] + [read_image(BUS)]
    imgs.append(cv2.imread(str(sorted(MOT.glob("MOT17-09*/img1/*.jpg"))[0])))
    together = detector.detect_many(imgs, ("person", "vehicle"))
    alone = [detector(img, ("person", "vehicle")) for img in imgs]
    assert sum(len(d) for d in alone) >= 15  # there are boxes to compare
    for a, b in zip(alone, together):
        assert a.category == b.category
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
        np.testing.assert_array_equal(a.conf, b.conf)
    assert [len(d) for d in detector.detect_many(imgs[:2], ())] == [0, 0]  # no category asked: nothing, per image


def _pairs(res):
    return [(f.frame_index, b.match.label, round(b.match.distance, 6), b.box) for f in res.frames for b in f.matches]


def test_an_exact_search_detects_in_batches_and_finds_what_it_finds_frame_by_frame(tmp_path, monkeypatch):
    import Algorithm.pipeline.detect as D
    from Algorithm.outer_api import Engine, Settings

    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, index_footage=False, speed="exact"))
    eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")
    calls = []
    real = D.Detector.detect_many

    def counted(self, imgs, *a, **k):
        calls.append(len(imgs))
        return real(self, imgs, *a, **k)

    monkeypatch.setattr(D.Detector, "detect_many", counted)
    batched = eng.search_file(PED_VIDEO, start_frame=90, max_frames=41)
    assert calls.count(2) == 20 and calls.count(1) == 1, calls  # 41 frames: 20 pairs, and the last one alone
    assert batched.stats.frames_detected == batched.stats.frames_processed == 41
    monkeypatch.setitem(D.DETECT_BATCH, "CPUExecutionProvider", 1)
    calls.clear()
    single = eng.search_file(PED_VIDEO, start_frame=90, max_frames=41)
    assert calls == [1] * 41
    assert _pairs(batched) == _pairs(single) and len(_pairs(single)) >= 30  # she walks through these frames
    assert [(s.label, [(g.start_frame, g.end_frame) for g in s.segments]) for s in batched.sightings] == \
        [(s.label, [(g.start_frame, g.end_frame) for g in s.segments]) for s in single.sightings]
    eng.close()


def test_a_stop_in_the_middle_of_a_batch_keeps_the_frames_processed(tmp_path):
    """The stop is seen between the frames of a batch: the frames processed are kept, the one detected ahead is
    dropped (a resumed run starts after the last processed frame and detects it again)."""
    from Algorithm.outer_api import Engine, Settings

    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, index_footage=False, speed="exact"))
    eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")
    done = []
    run = eng.search_file_events(PED_VIDEO, cancel=lambda: len(done) >= 5, start_frame=100, max_frames=20)
    for ev in run:
        done.append(ev.result.frame_index)
    res = run.result
    assert done == list(range(100, 105)) and res.stopped  # frame 105 was detected with 104, never processed
    assert res.stats.frames_processed == 5 and max(f.frame_index for f in res.frames) == 104
    eng.close()


def test_batches_give_what_was_read_before_a_damaged_stream_fails():
    from Algorithm.media import batches

    def frames():
        yield from range(3)
        raise OSError("damaged")

    got = []
    with pytest.raises(OSError, match="damaged"):
        for chunk in batches(frames(), 2):
            got.append(chunk)
    assert got == [[0, 1], [2]]
    assert list(batches(iter(range(5)), 2)) == [[0, 1], [2, 3], [4]] and list(batches(iter([]), 2)) == []


def test_a_graph_whose_batch_is_folded_into_another_axis_keeps_batch_one():
    """free_batch rewrites only a leading 1: a Reshape that moves the batch elsewhere leaves the graph as it was."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from Algorithm.models.dequantize import free_batch

    def graph(shape):
        g = helper.make_graph(
            [helper.make_node("Reshape", ["x", "s"], ["y"])], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 2])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
            [numpy_helper.from_array(np.array(shape, np.int64), "s")])
        return helper.make_model(g)

    folded = graph([8, 1])
    assert free_batch(folded) == "1"
    assert folded.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    free = graph([1, 8])
    assert free_batch(free) == "batch"
    onnx.checker.check_model(free)
    assert free.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert numpy_helper.to_array(free.graph.initializer[0]).tolist() == [0, 8]


def test_a_run_stopped_in_the_middle_of_a_batch_goes_on_from_the_frame_it_dropped(tmp_path):
    """Resume starts one sampling step after the last processed frame: the frame that was detected ahead with it and
    dropped is processed then, so together the two parts process every frame once."""
    from Algorithm.outer_api import Engine, Finished, FrameDone, Settings

    eng = Engine(tmp_path / "g.db", Settings(keep_frames=False, index_footage=False, speed="exact", sample_ft=2))
    eng.register(video_frame(PED_VIDEO, 120), "grey-cardigan")
    first = []
    for ev in eng.search(PED_VIDEO, cancel=lambda: len(first) >= 45, max_frames=160):
        if isinstance(ev, FrameDone):
            first.append(ev.result.frame_index)
        report = getattr(ev, "report", None)
    assert report.files[0].stopped and first == list(range(0, 90, 2))  # 88 processed; 90, detected with it, dropped
    rest, done = [], None
    for ev in eng.resume(report, max_frames=160):
        if isinstance(ev, FrameDone):
            rest.append(ev.result.frame_index)
        if isinstance(ev, Finished):
            done = ev.report
    assert rest == list(range(90, 160, 2))
    (res,) = done.files
    assert not res.stopped and res.stats.frames_processed == 80
    assert [s.label for s in res.sightings] == ["grey-cardigan"]  # she walks in at frame 60
    eng.close()
