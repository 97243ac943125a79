"""Search scale: query latency of the gallery index at 1,000 / 100,000 / 1,000,000 features, exact vs approximate.

The indexes are the app's own (Algorithm/storage/vector_index.py build_index: IndexIDMap2 over IndexFlatIP for exact,
over IndexHNSWFlat past EXACT_LIMIT), queried the way the pipeline queries them (one track's vectors at
a time, k = 20, single-threaded for small batches: search_few). IVF-Flat is measured beside them for
reference. Recall@1 is against the exact index's top-1 entry, and (identity) against its top-1 identity,
which is what the app reports.

Synthetic gallery, shaped like ReID features (random unit vectors would be far too easy: all at cosine
~0): L2-normalised 512-d vectors, 5 entries per identity, identities grouped into 1,000 "looks", plus a
component shared by every vector; same person ~0.91 cosine, different people ~0.45, the nearest other
person ~0.73 at 100k (the OSNet model on the assets: 0.92 / 0.44). Queries are fresh noisy views of
random identities of the gallery.

    python bench/bench_search.py                          # 1k, 100k: exact, HNSW, IVF; 1M: exact (~2 min)
    python bench/bench_search.py --sizes 1000000 --hnsw-max 1000000 --ivf-max 1000000 --ef 128,256,512,1024
                                                          # the 1M graphs too: 5-10 min of building on 2 cores
    python bench/bench_search.py --sizes 1000,20000,50000 --no-ivf   # where exact crosses 5 ms (EXACT_LIMIT)
"""
from __future__ import annotations

import argparse
import gc
import sys
import time

import numpy as np

import _common as C  # the asset paths and the environment

DIM = C.SYN_DIM
PER_ID = C.SYN_PER_ID
unit = C.unit
make_gallery = C.synthetic_features
make_queries = C.synthetic_queries


def latency(index, queries: np.ndarray, k: int, group: int = 1):
    """Per-query latency in ms as the pipeline searches (a few vectors at a time)."""
    from Algorithm.storage.vector_index import search_few

    ts = []
    for i in range(0, len(queries), group):
        q = np.ascontiguousarray(queries[i : i + group])
        t0 = time.perf_counter()
        search_few(index, q, k)
        ts.append((time.perf_counter() - t0) / len(q))
    ts = np.array(ts) * 1e3
    return float(np.median(ts)), float(np.percentile(ts, 95))


def recall(index, queries, gt_ids, labels, k):
    _, ids = index.search(queries, k)
    top = ids[:, 0]
    entry = float(np.mean(top == gt_ids))
    ident = float(np.mean(labels[np.maximum(top, 0)] == labels[gt_ids]))
    return entry, ident


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200, help="queries for recall (default 200)")
    ap.add_argument("--timed", type=int, default=100, help="queries timed one by one (default 100; 30 for exact at >= 300k)")
    ap.add_argument("--hnsw-max", type=int, default=100_000, help="largest gallery to build HNSW for (default 100000)")
    ap.add_argument("--ef", default="16,32,64,128", help="HNSW efSearch values to try")
    ap.add_argument("--hnsw-variants", default="", help="other HNSW M:efConstruction to build, e.g. 16:40,32:40")
    ap.add_argument("--ivf-max", type=int, default=100_000, help="largest gallery to build IVF-Flat for (default 100000)")
    ap.add_argument("--no-ivf", action="store_true")
    ap.add_argument("--nprobe", default="8,16,32,64")
    ap.add_argument("--threads", action="store_true",
                    help="also time the exact index with Faiss's OpenMP threads vs one thread (search_few), interleaved")
    args = ap.parse_args(argv)
    C.header("bench_search: gallery index latency and recall", ["bench/bench_search.py", *(argv or sys.argv[1:])])

    import faiss

    from Algorithm.storage import vector_index as S

    sizes = [int(s) for s in args.sizes.split(",")]
    efs = [int(e) for e in args.ef.split(",")]
    variants = [tuple(int(x) for x in v.split(":")) for v in args.hnsw_variants.split(",") if v]
    k = 20  # FeatureIndex.search asks for max(4 * 5 identities, 16)
    print(f"   app settings: EXACT_LIMIT={S.EXACT_LIMIT}, faiss {faiss.__version__}, "
          f"OpenMP threads {faiss.omp_get_max_threads()}")
    t0 = time.perf_counter()
    full, labels_full, model = make_gallery(max(sizes))
    print(f"   synthetic gallery of {len(full)} x {DIM} made in {time.perf_counter() - t0:.1f} s")
    rows = []
    for n in sizes:
        v, labels = full[:n], labels_full[:n]
        q, who = make_queries(model, n, args.queries, seed=n)
        ids = np.arange(n, dtype=np.int64)
        # exact
        t0 = time.perf_counter()
        flat = S.build_index(v, ids, exact_limit=n)
        t_build = time.perf_counter() - t0
        _, gt = flat.search(q, k)
        gt = gt[:, 0]
        timed = args.timed if n < 300_000 else min(args.timed, 30)
        med, p95 = latency(flat, q[:timed], k)
        own = float(np.mean(labels[gt] == who))  # sanity: exact finds the query's person
        rows.append((n, "exact (FlatIP)", "", t_build, med, p95, 1.0, 1.0))
        if args.threads:
            _threads(flat, q[:timed], k, n)
        print(f"   n={n:>9,d} exact: build {t_build:7.2f} s, query {med:7.3f} ms (p95 {p95:7.3f}); "
              f"exact top-1 is the query's identity for {own:.3f}", flush=True)
        del flat
        gc.collect()
        # HNSW: the app's parameters (build_index), then any other M:efConstruction asked for
        if n <= args.hnsw_max:
            for variant in [None] + variants:
                t0 = time.perf_counter()
                if variant is None:
                    hn = S.build_index(v, ids, exact_limit=0)
                else:
                    b = faiss.IndexHNSWFlat(DIM, variant[0], faiss.METRIC_INNER_PRODUCT)
                    b.hnsw.efConstruction = variant[1]
                    hn = faiss.IndexIDMap2(b)
                    hn.add_with_ids(v, ids)
                t_build = time.perf_counter() - t0
                base = faiss.downcast_index(hn.index)
                app_ef = base.hnsw.efSearch if variant is None else None
                name = f"HNSW M={base.hnsw.nb_neighbors(1)} efC={base.hnsw.efConstruction}"
                name += " (app)" if variant is None else ""
                for ef in sorted(set(efs + ([app_ef] if app_ef else []))):
                    base.hnsw.efSearch = ef
                    r_e, r_i = recall(hn, q, gt, labels, k)
                    med, p95 = latency(hn, q[: args.timed], k)
                    tag = f"efSearch={ef}" + (" (app)" if ef == app_ef else "")
                    rows.append((n, name, tag, t_build, med, p95, r_e, r_i))
                    print(f"   n={n:>9,d} {name} {tag}: build {t_build:7.1f} s, query {med:7.3f} ms (p95 {p95:7.3f}), "
                          f"recall@1 {r_e:.3f} (identity {r_i:.3f})", flush=True)
                del hn, base
                gc.collect()
        # IVF-Flat (reference)
        if not args.no_ivf and 10_000 <= n <= args.ivf_max:
            nlist = int(2 ** round(np.log2(2 * np.sqrt(n))))
            t0 = time.perf_counter()
            quant = faiss.IndexFlatIP(DIM)
            ivf = faiss.IndexIVFFlat(quant, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
            ivf.cp.niter = 10  # k-means iterations: 10 are plenty for recall, 25 (default) triple the training
            train = v[np.random.default_rng(0).choice(n, min(n, 30 * nlist), replace=False)]
            ivf.train(train)
            ivf.add(v)
            t_build = time.perf_counter() - t0
            for nprobe in [int(p) for p in args.nprobe.split(",")]:
                ivf.nprobe = nprobe
                r_e, r_i = recall(ivf, q, gt, labels, k)
                med, p95 = latency(ivf, q[: args.timed], k)
                rows.append((n, f"IVF-Flat nlist={nlist}", f"nprobe={nprobe}", t_build, med, p95, r_e, r_i))
                print(f"   n={n:>9,d} IVF nlist={nlist} nprobe={nprobe}: build {t_build:7.1f} s, query {med:7.3f} ms "
                      f"(p95 {p95:7.3f}), recall@1 {r_e:.3f} (identity {r_i:.3f})", flush=True)
            del ivf, quant
            gc.collect()
    print()
    print(f"   {'gallery':>10s} | {'index':26s} | {'setting':22s} | {'build s':>8s} | {'query ms':>8s} | {'p95 ms':>7s} | "
          f"{'R@1':>5s} | {'R@1 id':>6s}")
    for n, name, tag, tb, med, p95, r_e, r_i in rows:
        print(f"   {n:>10,d} | {name:26s} | {tag:22s} | {tb:8.2f} | {med:8.3f} | {p95:7.3f} | {r_e:5.3f} | {r_i:6.3f}")
    big = max(sizes)
    approx = [r for r in rows if r[0] == big and r[1] != "exact (FlatIP)"]
    ok = [r for r in approx if r[4] < 5.0 and r[6] >= 0.95]
    if not approx:
        print(f"RESULT n={big}: no approximate index built at this size (--hnsw-max / --ivf-max to build one)")
    elif ok:
        best = min(ok, key=lambda r: r[4])
        print(f"RESULT n={big}: {best[1]} {best[2]} answers in {best[4]:.3f} ms with recall@1 {best[6]:.3f} "
              "(target < 5 ms, >= 0.95: MET)")
    else:
        print(f"RESULT n={big}: no approximate index measured reached < 5 ms with recall@1 >= 0.95 (NOT MET)")
    ex = [r for r in rows if r[1] == "exact (FlatIP)"]
    print("RESULT exact query ms by size: " + ", ".join(f"{r[0]:,d}: {r[4]:.3f}" for r in ex))
    return 0


def _threads(index, queries, k, n):
    """Small batches (1 and 3 vectors, as one track's query) with all OpenMP threads vs search_few's one."""
    import faiss

    from Algorithm.storage.vector_index import search_few

    nt = faiss.omp_get_max_threads()
    for group in (1, 3):
        t = {"omp": [], "one": []}
        for i in range(0, len(queries) - group + 1, group):
            qq = np.ascontiguousarray(queries[i : i + group])
            for how in (("omp", "one") if i % 2 == 0 else ("one", "omp")):
                t0 = time.perf_counter()
                index.search(qq, k) if how == "omp" else search_few(index, qq, k)
                t[how].append(time.perf_counter() - t0)
        print(f"   n={n:>9,d} exact, {group} vector(s) per search: {nt} OpenMP threads {1e3 * np.median(t['omp']):7.3f} ms, "
              f"one thread (search_few) {1e3 * np.median(t['one']):7.3f} ms (medians)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
