"""Open-set quality: one registered person among strangers, on the pedestrian video.

Protocol (issue "Find one person among strangers"): each of the six people of the video is registered
ALONE (a fresh gallery holding only them, from their own frame), the video is searched as the app does
(tracking on), and every frame labelled with that person is scored right (they are in view) or wrong
(someone else is). Summed over the six runs: frame precision, recall (right frames / processed frames where
the person is in view) and false sightings (segments whose frames are mostly someone else's), at sampleFt 1
and 3. This is `python -m Algorithm evaluate openset --labels` (Algorithm/evaluation/openset_eval.py) on the
labels of bench/_common.py; the detector runs once and its boxes are replayed into every run.

    python bench/bench_openset.py                                   # the default person model, its threshold
    python bench/bench_openset.py --models osnet_x0_25_msmt17,person_reidentification_retail_0277 \\
        --thresholds 0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.5               # a sweep, model by model
    python bench/bench_openset.py --legacy-tracking                  # as before the track-switch fix
    python bench/bench_openset.py --det-cache /tmp/ped_dets.npz      # keep the detections between runs
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common as C  # the asset paths and the environment


def detection_log(eng, cache: Path | None):
    """The detections of every frame of the pedestrian video, recorded once (or loaded from `cache`)."""
    from Algorithm.outer_api import DetectionLog, Detections

    key = f"{C.PED_VIDEO.name}|{eng.model_summary().detector}"
    if cache and cache.is_file():
        z = np.load(cache, allow_pickle=False)
        if str(z["key"]) == key:
            log, a = DetectionLog(str(C.PED_VIDEO)), 0
            for f, n in zip(z["frames"], z["n"]):
                log.frames[int(f)] = Detections(z["xyxy"][a:a + n], z["conf"][a:a + n], z["cls"][a:a + n], ["person"] * int(n))
                a += n
            return log
    log = eng.record_detections(C.PED_VIDEO)
    if cache:
        frames = sorted(log.frames)
        np.savez_compressed(cache, key=key, frames=np.array(frames), n=np.array([len(log.frames[f]) for f in frames]),
                            xyxy=np.concatenate([log.frames[f].xyxy for f in frames]),
                            conf=np.concatenate([log.frames[f].conf for f in frames]),
                            cls=np.concatenate([log.frames[f].cls for f in frames]))
    return log


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="", help="comma list of ReID models (default: the active person model)")
    ap.add_argument("--thresholds", default="", help="comma list (default: each model's own threshold)")
    ap.add_argument("--steps", default="1,3", help="sampleFt values (default 1,3)")
    ap.add_argument("--det-cache", type=Path, help="save the detections here, or load them if the file exists")
    ap.add_argument("--legacy-tracking", action="store_true",
                    help="as before the track-switch fix: tracker memory max(30, fps) processed frames, no second "
                         "look at re-associated tracks (for before/after figures)")
    args = ap.parse_args(argv)
    C.header("bench_openset: one registered person among strangers (frame precision / recall, false sightings)",
             ["bench/bench_openset.py", *(argv or sys.argv[1:])])
    if args.legacy_tracking:
        import Algorithm.pipeline.session as S

        S.track_buffer = lambda fps, sample_ft: max(30, int(fps))
        S.Stretches.to_check = lambda self, *a, **k: []

    from Algorithm.evaluation.openset_eval import PersonLabels, VideoLabels, evaluate_openset_video
    from Algorithm.outer_api import Engine, Settings

    root = Path(tempfile.mkdtemp(prefix="reid-bench-openset-"))
    probe = Engine(root / "probe.db", Settings(device="cpu", keep_frames=False))
    models = [m for m in args.models.split(",") if m] or [probe.reid_model_name("person")]
    t0 = time.perf_counter()
    log = detection_log(probe, args.det_cache)
    print(f"   detections: {len(log.frames)} frames, {sum(len(d) for d in log.frames.values())} person boxes "
          f"({time.perf_counter() - t0:.0f} s)")
    labels = VideoLabels(C.PED_VIDEO, tuple(PersonLabels(lab, f, None, (span,)) for lab, f, span in C.VIDEO_PEOPLE))
    steps = [int(s) for s in args.steps.split(",") if s]
    first = []
    for model in models:
        probe.set_active_model("person", model)  # the bench's own model config (REID_LOCAL_CONFIG, bench/_common.py)
        for thr in [float(t) for t in args.thresholds.split(",") if t] or [None]:
            for step in steps:
                t_run = time.perf_counter()
                res = evaluate_openset_video(labels, lambda p: Engine(p, Settings(device="cpu", keep_frames=False)),
                                             thr, step, detections=log)
                print(f"   {model} threshold {res.threshold:.3f} sampleFt {step}: precision {res.precision:.3f} "
                      f"recall {res.recall:.3f} (right {res.right}, wrong {res.wrong}); false sightings "
                      f"{len(res.false_sightings)} (longest {res.longest_false_s:.1f} s) [{time.perf_counter() - t_run:.0f} s]")
                for i in res.identities:
                    fs = ", ".join(f"{f.start_frame}-{f.end_frame}" for f in i.false_sightings)
                    print(f"       {i.label:16s} right {i.right:4d} / {i.in_view:4d} in view, wrong {i.wrong:4d}"
                          + (f"; false sightings at frames {fs}" if fs else ""))
                if model == models[0] and len(first) < len(steps):
                    first.append(res)
    # The RESULT line: the first model at its first threshold, the worse of the sampleFt values.
    prec, rec = min(r.precision or 0.0 for r in first), min(r.recall or 0.0 for r in first)
    nfalse, longest = sum(len(r.false_sightings) for r in first), max(r.longest_false_s for r in first)
    met = prec >= 0.95 and rec >= 0.90 and longest <= 2.0
    print(f"RESULT openset_precision={prec:.3f} openset_recall={rec:.3f} false_sightings={nfalse} "
          f"longest_false_s={longest:.1f} (target precision >= 0.95, recall >= 0.90, no false sighting > 2 s: "
          f"{'MET' if met else 'NOT MET'})")
    probe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
