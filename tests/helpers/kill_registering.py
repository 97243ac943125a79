"""Child process for the gallery safety tests: registers, renames and deletes in a loop through the Gallery API.

Synthetic features (no model) keep it fast, so a parent can kill it at random points, many times.

    python tests/helpers/kill_registering.py GALLERY --seed 3 --log ops.log            # kill mode: forever, all operations
    python tests/helpers/kill_registering.py GALLERY --seed 3 --ops 80 --proc 1        # concurrent mode: own labels only

Kill mode prints "ready" once the gallery is open, then appends the revision reached after every committed
change to --log (a killed child's gallery must sit at the last logged revision or one past it).
Concurrent mode works only on its own entries and labels (plus one identity shared by every process),
then prints one JSON line: {"tx": committed changes, "live": ids of its entries still there}.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from Algorithm.errors import GalleryError
from Algorithm.storage.gallery import Gallery

DIM = 32
MODEL_A = "synthetic-a"
MODEL_B = "synthetic-b"
CROP = b"\xff\xd8\xff\xe0 not really a jpeg, the gallery stores bytes" * 4


def feature(rng: random.Random) -> np.ndarray:
    v = np.array([rng.gauss(0, 1) for _ in range(DIM)], np.float32)
    return v / np.linalg.norm(v)


def kill_mode(g: Gallery, rng: random.Random, log_path: Path) -> None:
    log = open(log_path, "a", buffering=1, encoding="utf-8")
    print("ready", flush=True)
    while True:
        entries = [e.id for e in g.entries()]
        idents = list(g.labels())
        op = rng.random()
        nxt = g.revision() + 1  # one writer: the revision this change will commit
        try:
            if op < 0.55 or not entries:
                label = f"p{rng.randrange(12)}" if rng.random() < 0.7 else f"n{rng.randrange(10**9)}"
                g.add_entry(label, "person", CROP * rng.randint(1, 50), MODEL_A, feature(rng), source=str(nxt))
            elif op < 0.70:
                g.delete_entry(rng.choice(entries))
            elif op < 0.78:
                g.delete_identity(rng.choice(idents))
            elif op < 0.90:
                g.rename(rng.choice(idents), f"r{rng.randrange(10**9)}")
            else:  # a bigger transaction: re-embedding many entries under a second model
                g.set_features(MODEL_B, [(e, feature(rng)) for e in entries])
        except GalleryError:
            continue  # refused (e.g. a label clash): nothing committed
        log.write(f"{g.revision()}\n")


def concurrent_mode(g: Gallery, rng: random.Random, proc: int, n_ops: int) -> None:
    mine: dict[int, int] = {}  # entry id -> identity id, of entries this process added
    labels = [f"proc{proc}-{k}" for k in range(4)]
    tx = 0
    for _ in range(n_ops):
        op = rng.random()
        try:
            if op < 0.6 or not mine:
                label = "shared" if rng.random() < 0.3 else rng.choice(labels)
                ident, entry, _ = g.add_entry(label, "person", CROP, MODEL_A, feature(rng), source=f"proc{proc}")
                mine[entry] = ident
            elif op < 0.85:
                entry = rng.choice(list(mine))
                g.delete_entry(entry)
                del mine[entry]
            else:
                own = {i for i, lab in g.labels().items() if lab.startswith(f"proc{proc}-") or lab.startswith(f"q{proc}-")}
                if not own:
                    continue
                g.rename(rng.choice(sorted(own)), f"q{proc}-{rng.randrange(10**9)}")
            tx += 1
        except GalleryError as e:
            print(json.dumps({"error": str(e)}), flush=True)
            raise
    print(json.dumps({"tx": tx, "live": sorted(mine)}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("gallery", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", type=Path, help="kill mode: file to append committed revisions to")
    ap.add_argument("--ops", type=int, help="concurrent mode: number of changes")
    ap.add_argument("--proc", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    g = Gallery(args.gallery)
    if args.ops is not None:
        concurrent_mode(g, rng, args.proc, args.ops)
    else:
        kill_mode(g, rng, args.log)
    g.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
