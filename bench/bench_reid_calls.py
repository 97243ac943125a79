"""ReID calls per track, and the matches the track cache keeps compared with embedding every box of every frame.

The detector runs once over the frames; its detections are then replayed into the pipeline for each
mode, so every mode sees exactly the same boxes and only tracking / caching differ:

  cache      tracking + track cache (the app's default: a track is embedded when it becomes reliable and
             again only for a clearly better crop)
  every      tracking off: every box of every frame embedded and searched
  tracked    tracking on, every box re-embedded every frame (refresh_frames=1): the cache's upper bound

Gallery: the 10 identities of bench/_common.py (six people of the video, registered from one frame each,
and four people who never appear). Who is in view in each frame is known (the people walk through one
at a time), so each match is scored right or wrong.

    python bench/bench_reid_calls.py                 # the whole video, every 2nd frame
    python bench/bench_reid_calls.py --step 1        # every frame (slower: the detector runs on all 1394)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common as C  # the asset paths and the environment


class ReplayDetector:
    """Gives back recorded detections in order, as the pipeline asks for them."""

    def __init__(self, real, recorded):
        self.spec, self.provider, self._real = real.spec, real.provider, real
        self.recorded, self.i = recorded, 0

    def class_ids(self, c):
        return self._real.class_ids(c)

    def __call__(self, img, categories=("person",), conf=None):
        d = self.recorded[self.i]
        self.i += 1
        return d.select(np.arange(len(d)))  # a copy: no mode may change another's detections


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=0, help="frames of the video to read (0: all 1394)")
    ap.add_argument("--step", type=int, default=2, help="sampleFt (default 2)")
    ap.add_argument("--video", type=Path, default=C.PED_VIDEO)
    ap.add_argument("--policy", default="",
                    help="CachePolicy overrides for the 'cache' mode, e.g. better_ratio=1.1,wait_frames=3")
    ap.add_argument("--det-cache", type=Path, help="save the detections here, or load them if the file exists")
    ap.add_argument("--reid", default="", help="person ReID model (default: the active one, models.json)")
    args = ap.parse_args(argv)
    C.header("bench_reid_calls: ReID crops per track, and matches kept by the track cache",
             ["bench/bench_reid_calls.py", *(argv or sys.argv[1:])])

    import Algorithm.pipeline.session as P
    from Algorithm.media import VideoReader
    from Algorithm.outer_api import Engine, Settings
    from Algorithm.pipeline.runner import search_file
    from Algorithm.pipeline.session import CategoryModel, Stages
    from Algorithm.pipeline.track_cache import CachePolicy

    eng = Engine(Path(tempfile.mkdtemp(prefix="reid-bench-")) / "gallery.db",
                 # exact: the replayed detections are handed out in call order, one per processed frame (the speed
                 # modes skip and look back; bench_speed.py measures them against this)
                 Settings(device="cpu", sample_ft=args.step, keep_frames=False, speed="exact"))
    if args.reid:
        eng.set_active_model("person", args.reid)  # the bench's own model config (REID_LOCAL_CONFIG, _common.py)
    ids = C.register_gallery(eng)
    det = eng.detector()
    max_frames = args.frames or None
    t0 = time.perf_counter()
    key = f"{args.video.name}|{args.step}|{args.frames}|{eng._registry.detector}"
    recorded = _load(args.det_cache, key) if args.det_cache and args.det_cache.is_file() else None
    if recorded is None:
        recorded = []
        with VideoReader(args.video) as v:
            for _, frame in v.frames(step=args.step, stop=max_frames):
                recorded.append(det(frame, ("person",)))
        if args.det_cache:
            _save(args.det_cache, key, recorded)
    overrides = {}
    for kv in filter(None, args.policy.split(",")):
        k, v = kv.split("=")
        overrides[k] = type(getattr(CachePolicy(), k))(float(v))
    from dataclasses import replace

    from Algorithm.outer_api import video_info

    # what the session builds for this video and step (waits in seconds of video), with the overrides on top
    policy = replace(CachePolicy.for_video(video_info(args.video).fps, args.step), **overrides)
    print(f"   detector: {len(recorded)} frames in {time.perf_counter() - t0:.0f} s, "
          f"{sum(len(d) for d in recorded)} person boxes; gallery {len(ids)} identities; policy {policy}")

    ext = eng.extractor("person")
    modes = {
        "cache": eng.settings.with_(tracking=True),
        "every": eng.settings.with_(tracking=False),
        "tracked": eng.settings.with_(tracking=True, refresh_frames=1),
    }
    out = {}
    for name, st in modes.items():
        model = CategoryModel(ext, eng.reid_model_name("person"), eng.threshold("person"))
        stages = Stages(ReplayDetector(det, recorded), {"person": model}, eng._index, st)
        if name == "cache" and overrides:  # the policy the session builds, with the overrides on top
            class _Policy(CachePolicy):
                @classmethod
                def for_video(cls, *a, **kw):
                    return replace(CachePolicy.for_video(*a, **kw), **overrides)

            P.CachePolicy = _Policy
        else:
            P.CachePolicy = CachePolicy
        live = {}  # frame -> labels matched there while the video was processed (what the GUI shows)

        t0 = time.perf_counter()
        run = search_file(stages, str(args.video), max_frames=max_frames)
        try:
            while True:
                fr = next(run).result
                live[fr.frame_index] = {b.match.label for b in fr.matches}
        except StopIteration as stop:
            res = stop.value
        secs = time.perf_counter() - t0
        final = {fr.frame_index: {b.match.label for b in fr.matches} for fr in res.frames}  # the saved results
        out[name] = (res, final, live, secs)
    P.CachePolicy = CachePolicy

    def score(frames):
        right, wrong, per = 0, 0, {}
        for f, labels in frames.items():
            truth = C.truth_label(f)
            for lab in labels:
                ok = lab == truth
                right += ok
                wrong += not ok
                per.setdefault(lab, [0, 0])[0 if ok else 1] += 1
        return right, wrong, per

    print("   matches are counted in the final results (FileResult.frames, what is saved and exported); 'live' is")
    print("   what each FrameDone event carried while processing. right = the identity really in view in that frame.")
    print(f"   {'mode':8s} {'ReID crops':>10s} {'tracks':>7s} {'crops/track':>12s} {'right':>6s} {'wrong':>6s} "
          f"{'live right':>10s} {'live wrong':>10s} {'identities':>10s} {'ReID+search s':>14s}")
    scores = {}
    for name, (res, final, live, secs) in out.items():
        right, wrong, per = score(final)
        lr, lw, _ = score(live)
        scores[name] = (right, wrong, per)
        tracks = res.stats.tracks
        cpt = f"{res.stats.reid_crops / tracks:12.2f}" if tracks else f"{'-':>12s}"
        print(f"   {name:8s} {res.stats.reid_crops:10d} {tracks:7d} {cpt} {right:6d} {wrong:6d} {lr:10d} {lw:10d} "
              f"{len(res.sightings):10d} {secs:14.1f}")
    print("   frames where each identity is matched, right / wrong (final results):")
    labels = [lab for lab, _, _ in C.VIDEO_PEOPLE] + [lab for lab, _ in C.MARKET_PEOPLE] + [lab for lab, _ in C.MOT_PEOPLE]
    processed = sorted(out["every"][2])
    in_view = {lab: sum(1 for f in processed if C.truth_label(f) == lab) for lab in labels}
    print(f"     {'identity':18s} {'in view':>7s} " + " ".join(f"{m:>11s}" for m in modes))
    for lab in labels:
        cells = " ".join(f"{scores[m][2].get(lab, [0, 0])[0]:>5d} / {scores[m][2].get(lab, [0, 0])[1]:<3d}" for m in modes)
        print(f"     {lab:18s} {in_view[lab]:7d} {cells}")
    lost = sum(1 for f, labs in out["every"][1].items()
               if C.truth_label(f) in labs and C.truth_label(f) not in out["cache"][1].get(f, set()))
    gained = sum(1 for f, labs in out["cache"][1].items()
                 if C.truth_label(f) in labs and C.truth_label(f) not in out["every"][1].get(f, set()))
    res_c = out["cache"][0]
    cpt = res_c.stats.reid_crops / max(res_c.stats.tracks, 1)
    ids_c = {sg.label for sg in out["cache"][0].sightings if any(sg.label == C.truth_label(g.best_frame) for g in sg.segments)}
    ids_e = {sg.label for sg in out["every"][0].sightings if any(sg.label == C.truth_label(g.best_frame) for g in sg.segments)}
    print(f"   right matches 'every' has and the cache lacks: {lost} frames; the cache has and 'every' lacks: {gained} frames")
    print(f"   identities rightly sighted: cache {len(ids_c)} {sorted(ids_c)}; every {len(ids_e)} {sorted(ids_e)}")
    no_loss = scores["cache"][0] >= scores["every"][0] and ids_e <= ids_c
    print(f"RESULT reid_calls_per_track={cpt:.2f} (target <= 3: {'MET' if cpt <= 3 else 'NOT MET'}); "
          f"right matches cache={scores['cache'][0]} every={scores['every'][0]}, wrong cache={scores['cache'][1]} "
          f"every={scores['every'][1]} (no loss: {'MET' if no_loss else 'NOT MET'})")
    eng.close()
    return 0


def _save(path: Path, key: str, recorded) -> None:
    np.savez_compressed(
        path, key=key, n=np.array([len(d) for d in recorded]),
        xyxy=np.concatenate([d.xyxy for d in recorded]) if recorded else np.zeros((0, 4), np.float32),
        conf=np.concatenate([d.conf for d in recorded]) if recorded else np.zeros(0, np.float32),
        cls=np.concatenate([d.cls for d in recorded]) if recorded else np.zeros(0, int),
        category=np.array(sum((d.category for d in recorded), [])),
    )


def _load(path: Path, key: str):
    from Algorithm.types import Detections

    z = np.load(path)
    if str(z["key"]) != key:
        return None
    out, a = [], 0
    for n in z["n"]:
        out.append(Detections(z["xyxy"][a : a + n], z["conf"][a : a + n], z["cls"][a : a + n],
                              [str(c) for c in z["category"][a : a + n]]))
        a += n
    return out


if __name__ == "__main__":
    sys.exit(main())
