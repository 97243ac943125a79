"""Soak test: process a video over and over for N minutes and report the process memory (RSS).

    python tools/soak.py 30                                   # 30 minutes on the pedestrian sample
    python tools/soak.py 5 --video clip.mp4 --max-frames 300  # each pass stops after 300 frames

Memory must stay flat: the pipeline forgets tracks unseen for a while (TrackCache.forget_stale) and the
per-track search cache with them, and nothing is kept per frame but the matches. One person is registered
from the video first (unless --no-register), so every pass also searches and matches.
Prints RSS at start (after a warm-up pass) and end, one line per pass, and exits 1 when RSS grew by more
than --max-growth-mb.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(os.environ.get("REID_TEST_ASSETS") or ROOT.parent / "shared" / "assets")
os.environ.setdefault("REID_MODELS_DIR", str(ASSETS / "models"))


def rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # Linux fallback
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("minutes", type=float, help="how long to keep processing")
    ap.add_argument("--video", type=Path, default=ASSETS / "videos" / "pedestrians" / "one-by-one-person-detection.mp4")
    ap.add_argument("--max-frames", type=int, help="stop each pass after this many frames")
    ap.add_argument("--sample-ft", type=int, default=1)
    ap.add_argument("--no-register", action="store_true", help="search an empty gallery")
    ap.add_argument("--max-growth-mb", type=float, default=100.0)
    args = ap.parse_args(argv)

    from Algorithm.outer_api import Engine, Settings

    with tempfile.TemporaryDirectory(prefix="reid-soak-") as tmp:
        eng = Engine(Path(tmp) / "gallery.db", Settings(keep_frames=False, sample_ft=args.sample_ft))
        if not args.no_register:
            register_someone(eng, args.video)
        frames = 0

        def one_pass():
            nonlocal frames
            run = eng.search_file_events(args.video, max_frames=args.max_frames)
            for _ in run:
                frames += 1
            return run.result

        warm = one_pass()
        t_end = time.monotonic() + args.minutes * 60
        gc.collect()
        start = rss_mb()
        print(f"start: RSS {start:.1f} MB after a warm-up pass of {warm.stats.frames_processed} frames", flush=True)
        passes = 0
        t0 = time.monotonic()
        while time.monotonic() < t_end:
            res = one_pass()
            passes += 1
            print(f"pass {passes}: {res.stats.frames_processed} frames, {res.stats.tracks} tracks, "
                  f"{sum(len(s.segments) for s in res.sightings)} segments, RSS {rss_mb():.1f} MB", flush=True)
            del res
        gc.collect()
        end = rss_mb()
        eng.close()
    minutes = (time.monotonic() - t0) / 60
    print(f"end: RSS {end:.1f} MB after {passes} passes, {frames} frames in {minutes:.1f} min; "
          f"growth {end - start:+.1f} MB")
    return 0 if end - start <= args.max_growth_mb else 1


def register_someone(eng, video: Path) -> None:
    """Registers the first clearly visible person of the video (a crop of one detection)."""
    from Algorithm.outer_api import video_frames

    for idx, frame in video_frames(video, step=5):
        dets = eng.detect(frame, ("person",)).detections
        if len(dets):
            eng.register(frame, "soak-person", box=tuple(map(float, dets.xyxy[0])))
            print(f"registered 'soak-person' from frame {idx}", flush=True)
            return
    print("nobody found to register; searching an empty gallery", flush=True)


if __name__ == "__main__":
    sys.exit(main())
