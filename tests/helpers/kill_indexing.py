"""Child process for the footage index safety tests: indexes, re-indexes and removes sources in a loop.

Synthetic tracks (no model, no video decoding) keep it fast, so a parent can kill it at random points,
many times, also while it saves the Faiss files.

    python tests/helpers/kill_indexing.py STORE FOLDER --seed 3 --log ops.log    # kill mode: forever
    python tests/helpers/kill_indexing.py STORE FOLDER --complete                 # rerun: index what is not done

FOLDER holds the "videos" (any files). Every source is written with camera "n=<tracks>" so a checker can
see that a source has all its tracks or none. Kill mode prints "ready" once the store is open, then
appends "<revision> <path or -path>" to --log after every committed change.
Complete mode indexes every file whose status is not done, then prints "complete <count>".
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

from Algorithm.storage.footage_index import FootageIndex, ModelFeatures, TrackRecord

MODEL_A, DIM_A = "synthetic-256", 256
MODEL_B, DIM_B = "synthetic-512", 512
THUMB = b"\xff\xd8\xff\xe0 not really a jpeg thumbnail" * 20


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_tracks(rng: np.random.Generator, n: int) -> list[TrackRecord]:
    out = []
    for k in range(n):
        length = int(rng.integers(1, 200))
        start = int(rng.integers(0, 5000))
        frames = start + np.cumsum(rng.integers(1, 4, length)) - 1
        xy = rng.uniform(0, 1800, (length, 2))
        boxes = np.hstack([xy, xy + rng.uniform(20, 300, (length, 2))])
        feats = {MODEL_A: ModelFeatures(unit(rng, 1, DIM_A)[0], unit(rng, int(rng.integers(0, 9)), DIM_A))}
        if rng.random() < 0.5:
            feats[MODEL_B] = ModelFeatures(unit(rng, 1, DIM_B)[0], unit(rng, 3, DIM_B))
        best = int(rng.integers(0, length))
        out.append(TrackRecord(str(rng.choice(["person", "vehicle"])), k, frames, boxes, int(frames[best]),
                               tuple(float(x) for x in boxes[best]), feats, THUMB * int(rng.integers(1, 10))))
    return out


def index_one(store: FootageIndex, path: Path, rng: np.random.Generator) -> None:
    n = int(rng.integers(0, 25))
    w = store.begin_source(path, camera=f"n={n}", fps=25.0, frames=6000, duration_s=240.0)
    tracks = make_tracks(rng, n)
    for a in range(0, n, 5):  # as the pipeline hands them over: a few at a time
        w.add_tracks(tracks[a : a + 5])
    w.finish("done" if rng.random() < 0.8 else "partial", "" if rng.random() < 0.8 else "stopped by the user")


def kill_mode(store: FootageIndex, files: list[Path], rng: np.random.Generator, log_path: Path) -> None:
    log = open(log_path, "a", buffering=1, encoding="utf-8")
    print("ready", flush=True)
    while True:
        path = files[int(rng.integers(len(files)))]
        if rng.random() < 0.15:
            if store.remove_source(path):
                log.write(f"{store.revision()} -{path}\n")
        else:
            index_one(store, path, rng)
            log.write(f"{store.revision()} {path}\n")
        if rng.random() < 0.2:
            store.flush()  # a kill may land while a Faiss file is written


def complete_mode(store: FootageIndex, files: list[Path], rng: np.random.Generator) -> None:
    n = 0
    for path in files:
        if store.source_status(path).status != "done":
            w = store.begin_source(path, camera="n=3", fps=25.0)
            w.add_tracks(make_tracks(rng, 3))
            w.finish("done")
            n += 1
    print(f"complete {n}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("store", type=Path)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", type=Path)
    ap.add_argument("--complete", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    random.seed(args.seed)
    files = sorted(p for p in args.folder.iterdir() if p.is_file())
    store = FootageIndex(args.store)
    if args.complete:
        complete_mode(store, files, rng)
    else:
        kill_mode(store, files, rng, args.log)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
