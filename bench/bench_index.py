"""Footage index scale: `FootageIndex.nearest` latency and recall@10 at 1k / 100k / 1M indexed tracks, memory per
track, and the time to add 1,000 tracks to the largest index (issue "Process once, search forever").

The index is the app's own (Algorithm/storage/footage_index.py build_vectors: exact IndexFlatIP in an
IndexIDMap2 below IVF_FROM, IVF-Flat past it), loaded into a FootageIndex and queried through `nearest`
(one call with 10 vectors: a 10-identity query, k = 10; includes the revision check against SQLite).
Recall@10 is against an exact scan of the same vectors. Adding 1,000 tracks goes through
`begin_source` / `add_tracks` / `finish_source`: one SQLite transaction (thumbnails, boxes, 1 + 8
features a track) plus the incremental add to the loaded index.

Synthetic features shaped like ReID features, as bench_search.py makes them: L2-normalised 512-d, 5 tracks
per identity, identities grouped into 1,000 "looks", plus a component shared by every vector (same
person ~0.91 cosine, different people ~0.45).

    python bench/bench_index.py                          # 1k, 100k, 1M (~3-5 min on 2 cores, ~6 GB RAM)
    python bench/bench_index.py --sizes 1000,100000      # quicker
    python bench/bench_index.py --nprobe 8,16,32,64      # the IVF setting at each size
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common as C  # the environment and the machine description

DIM = C.SYN_DIM
MODEL, CATEGORY = "bench-512", "person"
unit = C.unit


def make_tracks(n: int, seed: int = 0):
    vectors, _, model = C.synthetic_features(n, seed)
    return vectors, model


def queries(model, n: int, nq: int, seed: int) -> np.ndarray:
    return C.synthetic_queries(model, n, nq, seed)[0]


def records(n: int, seed: int):
    from Algorithm.storage.footage_index import ModelFeatures, TrackRecord

    rng = np.random.default_rng(seed)
    thumb = rng.bytes(4000)  # a 64x128 JPEG crop at quality 85 is 3-5 KB
    out = []
    for k in range(n):
        frames = np.arange(0, 120, 2) + int(rng.integers(0, 10_000))  # 60 processed frames: 4.8 s at 25 fps, sampled 1/2
        xy = rng.uniform(0, 1800, (60, 2)) + np.cumsum(rng.normal(0, 2, (60, 2)), axis=0)
        boxes = np.hstack([xy, xy + [60, 160]])
        agg = unit(rng.standard_normal((1, DIM), dtype=np.float32))[0]
        crops = unit(rng.standard_normal((8, DIM), dtype=np.float32))
        out.append(TrackRecord(CATEGORY, k, frames, boxes, int(frames[30]), tuple(boxes[30]),
                               {MODEL: ModelFeatures(agg, crops)}, thumb))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--queries", type=int, default=20, help="10-vector queries timed and scored (default 20)")
    ap.add_argument("--nprobe", default="", help="IVF nprobe values to try besides the app's")
    args = ap.parse_args(argv)
    C.header("bench_index: footage index nearest latency, recall@10, memory, adds",
             ["bench/bench_index.py", *(argv or sys.argv[1:])])

    import faiss

    from Algorithm.storage import footage_index as F

    F.SAVE_EVERY_S = float("inf")  # saving is timed on its own below, not inside the add
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"   app settings: IVF_FROM={F.IVF_FROM}, IVF_NPROBE={F.IVF_NPROBE}, faiss {faiss.__version__}, "
          f"OpenMP threads {faiss.omp_get_max_threads()}")
    t0 = time.perf_counter()
    full, model = make_tracks(max(sizes))
    print(f"   {len(full):,d} synthetic track features of {DIM}-d made in {time.perf_counter() - t0:.1f} s", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="reid-bench-index-"))
    rows, result = [], {}
    for n in sizes:
        v, ids = full[:n], np.arange(1, n + 1, dtype=np.int64)
        t0 = time.perf_counter()
        index, kind, trained = F.build_vectors(v, ids, DIM)
        t_build = time.perf_counter() - t0
        store = F.FootageIndex(tmp / f"bench-{n}.db")
        store._vectors[(MODEL, CATEGORY)] = F._Vectors(index, kind, DIM, trained, 0, True)  # as loaded from its file
        exact = faiss.IndexFlatIP(DIM)
        exact.add(v)
        qs = [queries(model, n, 10, seed=1000 * n + i) for i in range(args.queries)]
        settings = [None] + ([int(p) for p in args.nprobe.split(",") if p] if kind == "ivf" else [])
        for nprobe in settings:
            if nprobe is not None:
                faiss.extract_index_ivf(index).nprobe = nprobe
            ts, rec = [], []
            for q in qs:
                t1 = time.perf_counter()
                got = store.nearest(MODEL, CATEGORY, q, 10)
                ts.append(time.perf_counter() - t1)
                _, gt = exact.search(q, 10)
                rec += [len({i for i, _ in g} & set((gt[j] + 1).tolist())) / 10 for j, g in enumerate(got)]
            med, p95 = 1e3 * float(np.median(ts)), 1e3 * float(np.percentile(ts, 95))
            tag = kind + (f" nlist={faiss.extract_index_ivf(index).nlist} nprobe="
                          f"{nprobe or F.IVF_NPROBE}{'' if nprobe else ' (app)'}" if kind == "ivf" else "")
            rows.append((n, tag, t_build, med, p95, float(np.mean(rec))))
            print(f"   n={n:>9,d} {tag}: build {t_build:6.1f} s, nearest(10 vectors) {med:7.2f} ms (p95 {p95:7.2f}), "
                  f"recall@10 {np.mean(rec):.3f}", flush=True)
        if kind == "ivf":
            faiss.extract_index_ivf(index).nprobe = F.IVF_NPROBE
        result[n] = rows[-len(settings)]
        mem = len(faiss.serialize_index(index)) / n
        print(f"   n={n:>9,d} index bytes per track {mem:,.0f}", flush=True)
        if n == max(sizes):
            src = tmp / "camera-1000-tracks.mp4"
            src.write_bytes(np.random.default_rng(0).bytes(3 << 20))
            recs = records(1000, seed=n)
            t0 = time.perf_counter()
            w = store.begin_source(src, camera="bench", fps=25.0)
            w.add_tracks(recs)
            w.finish()
            add1k = time.perf_counter() - t0
            assert store.index_size(MODEL, CATEGORY) == n + 1000
            t0 = time.perf_counter()
            store.flush()
            t_save = time.perf_counter() - t0
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = store.db.execute("PRAGMA page_count").fetchone()[0] - store.db.execute("PRAGMA freelist_count").fetchone()[0]
            db_bytes = pages * store.db.execute("PRAGMA page_size").fetchone()[0]
            print(f"   n={n:>9,d} add 1,000 tracks (SQLite transaction + incremental index add) {add1k:.3f} s; "
                  f"saving the index file {t_save:.1f} s; SQLite bytes per track {db_bytes / 1000:,.0f} "
                  "(4 KB thumbnail, 60 boxes, 1 + 8 features)", flush=True)
            result["add1k"], result["sql_per_track"], result["index_per_track"] = add1k, db_bytes / 1000, mem
        store.close()
        del index, exact, store
        for p in tmp.glob(f"bench-{n}.db*"):
            if p.is_file():
                p.unlink()
        gc.collect()
    print()
    print(f"   {'tracks':>10s} | {'index':34s} | {'build s':>7s} | {'nearest ms':>10s} | {'p95 ms':>7s} | {'recall@10':>9s}")
    for n, tag, tb, med, p95, r in rows:
        print(f"   {n:>10,d} | {tag:34s} | {tb:7.1f} | {med:10.2f} | {p95:7.2f} | {r:9.3f}")
    big = max(sizes)
    _, _, _, med, _, r = result[big]
    ok = med < 50 and r >= 0.98 and result["add1k"] < 1.0
    label = "1m" if big == 1_000_000 else f"{big}"
    print(f"RESULT find_ms_{label}={med:.2f} recall10_{label}={r:.3f} add1k_s={result['add1k']:.3f} "
          f"index_bytes_per_track={result['index_per_track']:.0f} sqlite_bytes_per_track={result['sql_per_track']:.0f} "
          f"targets(<50 ms, >=0.98, <1 s)={'MET' if ok else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
