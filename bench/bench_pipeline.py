"""Pipeline ratio: fps of the full search over fps of detection alone, on the same frames, in one run.

The full search is Engine.search_file on the pedestrian video (decode -> detect -> ByteTrack -> track
cache + ReID -> Faiss search -> sightings) against a gallery of 10 identities. Detection alone is decode +
the same detector call on the same frames (the exact speed gives the detector two frames at a time on a CPU,
pipeline/detect.py DETECT_BATCH, and so does detection alone). Both are measured frame by frame, interleaved in
this one process: the search's on_frame callback decodes the same frames from a second reader and runs the
detector on them, and the time spent in the callback is taken out of the search's time. So the ratio is
immune to whatever else the machine is doing (other processes change both sides alike).

    python bench/bench_pipeline.py                  # 300 frames (two people walk through)
    python bench/bench_pipeline.py --frames 0       # the whole video
    python bench/bench_pipeline.py --crowd --frames 200   # a dense scene: ~33 people in view (crowd_video.py)
    python bench/bench_pipeline.py --video cam.mp4 --reid osnet_x0_25_msmt17   # any video, another ReID model

Targets: ratio >= 0.90 on the pedestrian video; on a dense scene (--crowd, or --video of a crowd) ratio >= 0.95
and at most 2.5 ReID crops per track.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import _common as C  # the asset paths and the environment


class Timer:
    """Wraps a callable and sums the seconds spent in it (a few microseconds of overhead per call)."""

    def __init__(self, fn):
        self.fn, self.seconds, self.calls = fn, 0.0, 0

    def __call__(self, *a, **kw):
        t0 = time.perf_counter()
        try:
            return self.fn(*a, **kw)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300, help="frames of the video to read (0: all); default 300")
    ap.add_argument("--step", type=int, default=1, help="sampleFt: process every k-th frame (default 1)")
    ap.add_argument("--video", type=Path, default=C.PED_VIDEO)
    ap.add_argument("--crowd", action="store_true", help="the synthetic crowd of bench/crowd_video.py (a dense scene)")
    ap.add_argument("--reid", default="", help="person ReID model (default: the active one, models.json)")
    ap.add_argument("--backend", choices=["", "onnx", "ultralytics"], default="", help="detector backend (default: models.json)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"],
                    help="where the detector (and an ONNX ReID model) runs; default cpu")
    ap.add_argument("--no-breakdown", action="store_true", help="do not time the stages of the pipeline")
    args = ap.parse_args(argv)
    C.header("bench_pipeline: full search fps / detection-alone fps", ["bench/bench_pipeline.py", *(argv or sys.argv[1:])])

    from dataclasses import replace

    import Algorithm.pipeline.session as P
    from Algorithm.media import VideoReader, batches
    from Algorithm.outer_api import Engine, Settings

    # exact: the detector on every processed frame, the overhead of the rest measured against it
    settings = Settings(device=args.device, sample_ft=args.step, speed="exact")
    tmp = Path(tempfile.mkdtemp(prefix="reid-bench-"))
    if args.crowd:
        import crowd_video

        args.video = crowd_video.make(tmp / "crowd.mp4", frames=max(300, args.frames))
    eng = Engine(tmp / "gallery.db", settings)
    if args.reid:
        eng.set_active_model("person", args.reid)  # the bench's own model config (REID_LOCAL_CONFIG, _common.py)
    if args.backend:
        spec = eng._registry.get(eng._registry.detector)
        eng._registry.models[spec.name] = replace(spec, backend=args.backend)
    ids = C.register_gallery(eng)
    det = eng.detector()
    print(f"   detector: {eng._registry.detector} backend={det.spec.backend} provider={det.provider} "
          f"batch={det.batch_size}; ReID: "
          f"{eng.reid_model_name('person')}; gallery: {len(ids)} identities; video: {args.video.name}")
    s = eng.settings
    max_frames = args.frames or None

    # Warm-up: first calls allocate (ORT arenas, the tracker's imports, the Faiss index).
    eng.search_file(args.video, max_frames=5)

    # Per-stage timers: every call the pipeline makes into the stages is timed (not the detector: it is
    # the baseline, measured on its own).
    timers = {}
    if not args.no_breakdown:
        ext = eng.extractor("person")
        timers["reid"] = ext.embed_prepared = Timer(ext.embed_prepared)  # the model, on crops in batches
        timers["reid crops"] = ext.prepare = Timer(ext.prepare)  # cutting and resizing them
        timers["tracker"] = Timer(P.Tracker.update)
        P.Tracker.update = lambda self, *a, _t=timers["tracker"], **k: _t(self, *a, **k)
        import Algorithm.storage.vector_index as S

        timers["faiss search"] = Timer(S.FeatureIndex.search)
        S.FeatureIndex.search = lambda self, *a, _t=timers["faiss search"], **k: _t(self, *a, **k)
    timers["detector"] = det_in_pipe = Timer(det.detect_many)

    class _Det:  # the pipeline's detector, timed
        def __init__(self, d):
            self._d = d
            self.spec, self.provider, self.batch_size = d.spec, d.provider, d.batch_size

        def __call__(self, img, *a, **kw):
            return det_in_pipe([img], *a, **kw)[0]

        def detect_many(self, *a, **kw):
            return det_in_pipe(*a, **kw)

        def class_ids(self, c):
            return self._d.class_ids(c)

    eng._detector = _Det(det)  # only this bench's engine; the shared model stays as it is

    reader = VideoReader(args.video)
    # Exact runs give the detector det.batch_size frames at a time (pipeline/detect.py); detection alone does the same.
    chunks = batches(reader.frames(step=s.sample_ft, stop=max_frames), det.batch_size)
    side = {"det_alone": 0.0, "callback": 0.0, "frames": 0, "mismatch": 0}
    ahead: list[int] = []

    def on_frame(fr):  # runs between the pipeline's frames, timed apart from it
        t0 = time.perf_counter()
        if not ahead:
            chunk = next(chunks)  # decode: the same frames, from a second reader
            det.detect_many([f for _, f in chunk], s.categories, s.det_conf)  # detect
            ahead.extend(i for i, _ in chunk)
        idx = ahead.pop(0)
        side["det_alone"] += time.perf_counter() - t0
        side["frames"] += 1
        side["mismatch"] += idx != fr.frame_index
        side["callback"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    run = eng.search_file_events(args.video, max_frames=max_frames)
    for ev in run:
        on_frame(ev.result)
    res = run.result
    wall = time.perf_counter() - t0
    reader.close()
    assert side["mismatch"] == 0, "the two readers gave different frames"
    n = res.stats.frames_processed
    t_full = wall - side["callback"]
    fps_full, fps_det = n / t_full, n / side["det_alone"]
    ratio = fps_full / fps_det

    per_track = res.stats.reid_crops / max(1, res.stats.tracks)
    print(f"   frames processed: {n} (of {res.stats.frames_read} read, sampleFt {s.sample_ft}); "
          f"detections {res.stats.detections} ({res.stats.detections / max(1, n):.1f} a frame), tracks "
          f"{res.stats.tracks}, ReID crops {res.stats.reid_crops} ({per_track:.2f} a track)")
    found = {sg.label: sum(g.hits for g in sg.segments) for sg in res.sightings}
    print(f"   sightings (label: frames): {found}")
    print(f"   full search:     {fps_full:7.2f} fps  ({1e3 * t_full / n:6.1f} ms/frame)")
    print(f"   detection alone: {fps_det:7.2f} fps  ({1e3 * side['det_alone'] / n:6.1f} ms/frame, decode + detect)")
    if timers and not args.no_breakdown:
        print("   where the full search's time goes (ms/frame):")
        accounted = 0.0
        for name, t in timers.items():
            print(f"     {name:14s} {1e3 * t.seconds / n:7.2f}   ({t.calls} calls)")
            accounted += t.seconds
        print(f"     {'rest':14s} {1e3 * (t_full - accounted) / n:7.2f}   (decode, sightings, results, bookkeeping)")
    dense = res.stats.detections / max(1, n) >= 10  # a crowd: the dense-scene targets apply
    if dense:
        verdict = "MET" if ratio >= 0.95 and per_track <= 2.5 else "NOT MET"
        target = f"dense scene: ratio >= 0.95 and crops/track <= 2.5: {verdict}"
    else:
        target = f"target >= 0.90: {'MET' if ratio >= 0.90 else 'NOT MET'}"
    print(f"RESULT pipeline_ratio={ratio:.3f} crops_per_track={per_track:.2f} ({target})")
    eng.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
