"""How good is the ReID model on the user's data? Retrieval metrics (Rank-k, mAP, mINP) on Market-1501-style
folders, frame-level precision/recall of sightings on MOT sequences, and the ranked-results picture.

Distances are 1 - cosine similarity of L2-normalised features, as everywhere in the engine; a pair
"matches" at threshold t when its distance is < t (the rule of `search.assign_unique`).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import media
from .errors import InputError, NothingFoundError

Progress = Callable[[str], None]

# Market-1501 / DukeMTMC / VeRi style names: PID_cCAM..., PID -1 is junk, 0000 are distractors.
MARKET_RE = re.compile(r"^(-1|\d+)_c(\d+)")
JUNK_PID = -1
DISTRACTOR_PID = 0
RANKS = (1, 5, 10)


# ---------------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------------
def rank_metrics(
    distmat: np.ndarray,
    q_pids: Sequence[int],
    g_pids: Sequence[int],
    q_cams: Sequence[int],
    g_cams: Sequence[int],
    ranks: Sequence[int] = RANKS,
    q_names: Sequence[str] | None = None,
) -> dict:
    """Rank-k (CMC), mAP and mINP under the Market-1501 protocol.

    For each query, gallery items of the same pid AND the same camera are removed (they are too easy),
    as are junk items (pid -1). Distractors (pid 0) stay as negatives. A query with no gallery item
    of its pid left cannot be scored; it is counted in `n_no_match` and listed, not silently dropped.
    Ties in distance keep gallery order (stable sort).
    """
    distmat = np.asarray(distmat, np.float64)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_cams, g_cams = np.asarray(q_cams), np.asarray(g_cams)
    nq = distmat.shape[0]
    first_hit: list[int] = []
    aps: list[float] = []
    inps: list[float] = []
    per_query: list[dict] = []
    no_match: list[str] = []
    for i in range(nq):
        name = q_names[i] if q_names is not None else str(i)
        order = np.argsort(distmat[i], kind="stable")
        gp, gc = g_pids[order], g_cams[order]
        keep = ~((gp == q_pids[i]) & (gc == q_cams[i])) & (gp != JUNK_PID)
        matches = (gp[keep] == q_pids[i]).astype(np.int64)
        if not matches.any():
            no_match.append(name)
            per_query.append({"query": name, "pid": int(q_pids[i]), "valid": False})
            continue
        pos = np.flatnonzero(matches)
        num_rel = len(pos)
        precision_at = np.cumsum(matches) / np.arange(1, len(matches) + 1)
        ap = float((precision_at * matches).sum() / num_rel)
        inp = float(num_rel / (pos[-1] + 1))
        first_hit.append(int(pos[0]))
        aps.append(ap)
        inps.append(inp)
        per_query.append({"query": name, "pid": int(q_pids[i]), "valid": True, "first_hit_rank": int(pos[0]) + 1,
                          "ap": round(ap, 6), "inp": round(inp, 6), "positives": num_rel})
    fh = np.asarray(first_hit)
    out = {
        "n_queries": nq,
        "n_valid_queries": len(first_hit),
        "n_no_match": len(no_match),
        "queries_without_match": no_match,
        "mAP": float(np.mean(aps)) if aps else None,
        "mINP": float(np.mean(inps)) if inps else None,
        "per_query": per_query,
    }
    for k in ranks:
        out[f"rank{k}"] = float(np.mean(fh < k)) if len(fh) else None
    return out


def iou(a, b) -> float:
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return float(inter / union) if union > 0 else 0.0


def _ratio(num: int, den: int) -> float | None:
    return float(num / den) if den else None


# ---------------------------------------------------------------------------------------------------
# Data: Market-style folders and MOT sequences as crop sets
# ---------------------------------------------------------------------------------------------------
def parse_market_name(name: str) -> tuple[int, int] | None:
    """(pid, camera) from 'PID_cCAMsSEQ_FRAME_NN.jpg' (also VeRi 'PID_cCCC_...'); None if the name does not fit."""
    m = MARKET_RE.match(Path(name).name)
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass
class CropSet:
    """Crops to embed, with identity, 'camera' and group; `load(i)` gives crop i as BGR (lazy: big folders)."""

    names: list[str]
    pids: np.ndarray
    cams: np.ndarray
    groups: np.ndarray  # pairs are only formed inside a group (one MOT sequence, or the whole Market folder)
    loader: Callable[[list[int]], list[np.ndarray]]
    kind: str  # "market" | "mot"
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)


def _market_files(folder: Path) -> tuple[list[Path], list[tuple[int, int]], int]:
    files, ids, skipped = [], [], 0
    for f in media.list_media(folder):
        if media.media_kind(f) != "image":
            continue
        pc = parse_market_name(f.name)
        if pc is None:
            skipped += 1
            continue
        files.append(f)
        ids.append(pc)
    return files, ids, skipped


def _file_loader(files: list[Path]) -> Callable[[list[int]], list[np.ndarray]]:
    return lambda idx: [media.read_image(files[i]) for i in idx]


def market_split(folder: str | Path) -> tuple[CropSet, CropSet | None]:
    """(query, gallery) of a Market-1501 layout (query/ + bounding_box_test/), or (all, None) for one folder
    of Market-named images where each image in turn is the query against all the others."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"Not a folder: {folder}")
    q_dir, g_dir = folder / "query", folder / "bounding_box_test"
    if q_dir.is_dir() and g_dir.is_dir():
        parts = []
        for d in (q_dir, g_dir):
            files, ids, skipped = _market_files(d)
            if not files:
                raise InputError(f"No Market-1501-named images (PID_cCAM..._NN.jpg) in {d}")
            notes = [f"{skipped} image(s) in {d.name}/ without a PID_cCAM name were skipped"] if skipped else []
            parts.append(CropSet([str(f.relative_to(folder)) for f in files], np.array([p for p, _ in ids]),
                                 np.array([c for _, c in ids]), np.zeros(len(files), int), _file_loader(files), "market", notes))
        return parts[0], parts[1]
    files, ids, skipped = _market_files(folder)
    if not files:
        raise InputError(f"No Market-1501-named images (PID_cCAM..._NN.jpg) in {folder}, and no query/ + bounding_box_test/")
    notes = [f"{skipped} image(s) without a PID_cCAM name were skipped"] if skipped else []
    cs = CropSet([str(f.relative_to(folder)) for f in files], np.array([p for p, _ in ids]), np.array([c for _, c in ids]),
                 np.zeros(len(files), int), _file_loader(files), "market", notes)
    return cs, None


# -- MOT ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GtFilter:
    """Which MOT ground-truth rows count: consider-flag 1, class 1 (pedestrian), visible and big enough."""

    min_visibility: float = 0.5
    min_height: float = 50.0
    classes: tuple[int, ...] = (1,)

    def describe(self) -> str:
        return (f"GT rows with consider-flag 1, class {','.join(map(str, self.classes))} (pedestrian), "
                f"visibility >= {self.min_visibility:g}, box height >= {self.min_height:g} px")

    def to_json(self) -> dict:
        return {"consider_flag": 1, "classes": list(self.classes), "min_visibility": self.min_visibility,
                "min_height": self.min_height, "text": self.describe()}


def is_mot_sequence(path: Path) -> bool:
    return (path / "gt" / "gt.txt").is_file() and (path / "img1").is_dir()


def mot_sequences(path: str | Path) -> list[Path]:
    """The sequence itself, or the sequences directly inside a folder (sorted)."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"Not a folder: {p}")
    if is_mot_sequence(p):
        return [p]
    seqs = sorted((d for d in p.iterdir() if d.is_dir() and is_mot_sequence(d)), key=lambda d: d.name.lower())
    if not seqs:
        raise InputError(f"{p} is not a MOT sequence (img1/ + gt/gt.txt) and holds none")
    return seqs


def read_mot_gt(seq: Path) -> np.ndarray:
    """gt.txt as an (N, 9) float array: frame, id, x, y, w, h, flag, class, visibility."""
    path = seq / "gt" / "gt.txt"
    try:
        data = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    except (OSError, ValueError) as e:
        raise InputError(f"Cannot read MOT ground truth {path}: {e}") from e
    if data.size == 0:
        return np.zeros((0, 9))
    if data.shape[1] < 6:
        raise InputError(f"{path} has {data.shape[1]} columns; MOT ground truth has at least 6")
    if data.shape[1] < 9:  # files without flag/class/visibility columns: every row counts
        data = np.hstack([data, np.ones((len(data), 9 - data.shape[1]))])
    return data[:, :9]


def mot_frames(seq: Path) -> dict[int, Path]:
    """frame number -> image file (img1/000001.jpg is frame 1)."""
    out = {}
    for f in (seq / "img1").iterdir():
        if f.is_file() and media.media_kind(f) == "image" and f.stem.isdigit():
            out[int(f.stem)] = f
    return dict(sorted(out.items()))


def filter_gt(gt: np.ndarray, flt: GtFilter) -> np.ndarray:
    keep = (gt[:, 6] == 1) & np.isin(gt[:, 7].astype(int), flt.classes) & (gt[:, 8] >= flt.min_visibility)
    keep &= gt[:, 5] >= flt.min_height
    return gt[keep]


def xywh_to_xyxy(row) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in row[2:6])
    return (x, y, x + w, y + h)


def mot_crops(path: str | Path, flt: GtFilter = GtFilter()) -> CropSet:
    """Ground-truth crops of one or several MOT sequences. pid = sequence * 100000 + track id; the 'camera' of a
    crop is its frame (so same-identity pairs are always across frames); each sequence is its own group."""
    seqs = mot_sequences(path)
    names, pids, cams, groups, refs = [], [], [], [], []
    for si, seq in enumerate(seqs):
        frames = mot_frames(seq)
        gt = filter_gt(read_mot_gt(seq), flt)
        for row in gt[np.lexsort((gt[:, 1], gt[:, 0]))]:  # frame by frame: each frame is decoded once
            fr = int(row[0])
            if fr not in frames:
                continue
            x1, y1, x2, y2 = xywh_to_xyxy(row)
            names.append(f"{seq.name}/f{fr:06d}/id{int(row[1])}")
            pids.append(si * 100000 + int(row[1]))
            cams.append(si * 100000 + fr)
            groups.append(si)
            refs.append((frames[fr], (x1, y1, x2, y2)))

    def load(idx: list[int]) -> list[np.ndarray]:
        from .extract import crop

        cache: dict[Path, np.ndarray] = {}
        out = []
        for i in idx:
            f, box = refs[i]
            if f not in cache:
                cache.clear()
                cache[f] = media.read_image(f)
            out.append(crop(cache[f], box))
        return out

    if not names:
        raise InputError(f"No ground-truth box in {path} passes the filter ({flt.describe()})")
    return CropSet(names, np.array(pids), np.array(cams), np.array(groups), load, "mot", [flt.describe()])


def crop_set(path: str | Path, flt: GtFilter = GtFilter()) -> tuple[CropSet, CropSet | None]:
    """Any evaluation folder: MOT sequence(s), a Market split, or one Market-named folder."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"Not found: {p}")
    if p.is_dir() and (is_mot_sequence(p) or any(is_mot_sequence(d) for d in p.iterdir() if d.is_dir())):
        return mot_crops(p, flt), None
    return market_split(p)


def embed(extractor, cs: CropSet, chunk: int = 256, progress: Progress | None = None) -> np.ndarray:
    """(N, D) features of a crop set, reading `chunk` crops at a time (bounded memory)."""
    out = []
    for s in range(0, len(cs), chunk):
        idx = list(range(s, min(s + chunk, len(cs))))
        out.append(extractor(cs.loader(idx)))
        if progress:
            progress(f"embedded {idx[-1] + 1}/{len(cs)} crops")
    return np.concatenate(out) if out else np.zeros((0, extractor.dim), np.float32)


# ---------------------------------------------------------------------------------------------------
# evaluate reid
# ---------------------------------------------------------------------------------------------------
def evaluate_reid(
    folder: str | Path,
    extractor,
    model_name: str = "",
    flt: GtFilter = GtFilter(),
    progress: Progress | None = None,
    block: int = 512,
) -> dict:
    """Rank-1/5/10, mAP and mINP of a ReID extractor on an evaluation folder (Market naming or MOT)."""
    t0 = time.perf_counter()
    query, gallery = crop_set(folder, flt)
    notes = list(query.notes) + (list(gallery.notes) if gallery else [])
    qf = embed(extractor, query, progress=progress)
    if gallery is None:
        mode = "mot-frames-as-cameras" if query.kind == "mot" else "single-folder"
        gallery, gf = query, qf
        if query.kind == "mot":
            notes.append("MOT crops: each GT crop is a query against the crops of the other frames of its sequence "
                         "(the frame plays the camera). Consecutive video frames look alike, so this is an easy, "
                         "upper-bound setting, not cross-camera ReID.")
        else:
            notes.append("One folder: each image in turn is the query against all the others (same pid + same camera excluded).")
    else:
        mode = "market-split"
        gf = embed(extractor, gallery, progress=progress)
    parts = []
    for s in range(0, len(query), block):
        e = min(s + block, len(query))
        dist = 1.0 - qf[s:e] @ gf.T
        if query.kind == "mot":  # only inside its own sequence
            dist = np.where(query.groups[s:e, None] == gallery.groups[None, :], dist, np.inf)
        parts.append(rank_metrics(dist, query.pids[s:e], gallery.pids, query.cams[s:e], gallery.cams, RANKS, query.names[s:e]))
    res = _merge_rank_parts(parts)
    valid_pids = {p for p in query.pids.tolist() if p not in (JUNK_PID, DISTRACTOR_PID)}
    res.update(
        format="reid-app-eval-reid",
        version=1,
        folder=str(folder),
        mode=mode,
        model=model_name,
        n_gallery=len(gallery),
        n_identities=len(valid_pids),
        seconds=round(time.perf_counter() - t0, 2),
        notes=notes,
    )
    if res["n_valid_queries"] == 0:
        res["notes"].append(
            f"None of the {res['n_queries']} queries has a gallery image of its identity from another camera, so Rank-k, "
            "mAP and mINP are undefined (null). Add more images per identity, from at least two cameras."
        )
    elif res["n_no_match"]:
        res["notes"].append(f"{res['n_no_match']} of {res['n_queries']} queries have no valid gallery match and are left out of the averages.")
    return res


def _merge_rank_parts(parts: list[dict]) -> dict:
    pq = [q for p in parts for q in p["per_query"]]
    valid = [q for q in pq if q["valid"]]
    out = {
        "n_queries": len(pq),
        "n_valid_queries": len(valid),
        "n_no_match": len(pq) - len(valid),
        "queries_without_match": [q["query"] for q in pq if not q["valid"]],
    }
    for k in RANKS:
        out[f"rank{k}"] = float(np.mean([q["first_hit_rank"] <= k for q in valid])) if valid else None
    out["mAP"] = float(np.mean([q["ap"] for q in valid])) if valid else None
    out["mINP"] = float(np.mean([q["inp"] for q in valid])) if valid else None
    out["per_query"] = pq
    return out


# ---------------------------------------------------------------------------------------------------
# evaluate tracks
# ---------------------------------------------------------------------------------------------------
SWEEP = tuple(round(float(t), 3) for t in np.arange(0.05, 0.601, 0.025))


def evaluate_tracks(
    path: str | Path,
    make_engine: Callable[[Path], object],
    threshold: float,
    flt: GtFilter = GtFilter(),
    iou_min: float = 0.5,
    category: str = "person",
    progress: Progress | None = None,
    max_frames: int | None = None,
    sweep: Sequence[float] = SWEEP,
    hold_out: float = 0.0,
) -> dict:
    """Frame-level precision and recall of the sightings of ground-truth identities.

    Per sequence: each GT identity (after `flt`) is registered from its first sighting (its GT box in its
    first frame) into a temporary gallery; every frame is then searched through the engine
    (`make_engine(gallery_path).search_file(frame)`), the whole detect -> ReID -> gallery-search path.
    A box labelled X is a hit when its IoU with X's GT box in that frame is >= `iou_min`.
    Not scored: X in its registration frame, and boxes labelled X that sit on an X box the filter left
    out (e.g. X mostly occluded): such boxes are neither hits nor false matches.
    The search runs once with the loosest threshold and keeps, per box, the match and its distance; the
    result at any threshold t is then the matches with distance < t, exactly what a run at t gives
    (assign_unique decides pairs under t before any pair at or above it).
    With `hold_out` > 0, that share of the identities (spread evenly over the sorted ids) is NOT registered:
    they are strangers, and any box on them that gets a label is a false match (`fp_on_strangers`). Without
    strangers everyone in view is in the gallery (closed set) and the threshold hardly matters.
    """
    if not 0.0 <= hold_out < 1.0:
        raise ValueError("hold_out is a share of identities in [0, 1)")
    t0 = time.perf_counter()
    seqs = mot_sequences(path)
    tmp = Path(tempfile.mkdtemp(prefix="reid-eval-"))
    seq_out, all_records, model_name = [], [], ""
    try:
        for seq in seqs:
            eng = make_engine(tmp / f"{seq.name}.db")
            try:
                model_name = eng.registry.reid_for(category).name
                recs, info = _track_sequence(eng, seq, flt, iou_min, category, progress, max_frames, hold_out)
            finally:
                eng.close()
            all_records.extend(recs)
            summary = _score(recs, threshold)
            seq_out.append({"name": seq.name, **info, "overall": summary["overall"], "identities": summary["identities"]})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = _score(all_records, threshold)["overall"]
    return {
        "format": "reid-app-eval-tracks",
        "version": 1,
        "path": str(path),
        "model": model_name,
        "category": category,
        "threshold": threshold,
        "iou": iou_min,
        "filter": flt.to_json(),
        "hold_out": hold_out,
        "protocol": ("each GT identity registered from its GT box in its first frame (after the filter) into a temporary "
                     "gallery; every frame searched through Engine.search_file (detector + ReID + gallery search); "
                     f"a box labelled X is a hit when IoU >= {iou_min:g} with X's GT box in that frame; registration frames not scored"),
        "overall": total,
        "per_sequence_macro": _macro([s["overall"] for s in seq_out]),
        "sequences": seq_out,
        "sweep": [dict(threshold=t, **{k: v for k, v in _score(all_records, t)["overall"].items()
                                        if k in ("precision", "recall", "f1", "tp", "fp", "fn", "fp_on_strangers")})
                  for t in sweep],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _track_sequence(eng, seq: Path, flt: GtFilter, iou_min: float, category: str, progress, max_frames, hold_out=0.0):
    frames = mot_frames(seq)
    if max_frames:
        frames = dict(list(frames.items())[:max_frames])
    raw = read_mot_gt(seq)
    raw = raw[np.isin(raw[:, 0].astype(int), list(frames))]
    gt = filter_gt(raw, flt)
    first: dict[int, int] = {}
    first_box: dict[int, tuple] = {}
    for row in gt[np.lexsort((gt[:, 1], gt[:, 0]))]:
        tid = int(row[1])
        if tid not in first:
            first[tid], first_box[tid] = int(row[0]), xywh_to_xyxy(row)
    ordered = sorted(first)
    strangers = {t for i, t in enumerate(ordered) if int((i + 1) * hold_out) > int(i * hold_out)}
    for t in strangers:
        del first[t]
    label_of = {tid: f"gt{tid}" for tid in first}
    imgs: dict[int, np.ndarray] = {}
    for tid in sorted(first, key=lambda t: (first[t], t)):
        fr = first[tid]
        if fr not in imgs:
            imgs = {fr: media.read_image(frames[fr])}
        eng.register(imgs[fr], label_of[tid], category, box=first_box[tid])
    tid_of_label = {v: k for k, v in label_of.items()}
    # The engine's own settings, not search_file(settings=...): the pipeline takes its threshold from them.
    eng.update_settings(threshold=2.0, tracking=False, categories=(category,), keep_frames=False)
    eval_gt = {(int(r[0]), int(r[1])): xywh_to_xyxy(r) for r in gt}
    any_gt = {}
    for r in raw:
        any_gt.setdefault((int(r[0]), int(r[1])), []).append(xywh_to_xyxy(r))
    records = []
    for fi, (fr, fpath) in enumerate(frames.items()):
        got: list = []
        eng.search_file(fpath, on_frame=got.append)
        boxes = got[0].boxes if got else []
        preds = [(tid_of_label.get(b.match.label), b.box, float(b.match.distance)) for b in boxes if b.match is not None]
        det_boxes = [b.box for b in boxes]
        # GT sightings to find in this frame: identities registered from an earlier frame.
        for tid, f0 in first.items():
            if f0 >= fr or (fr, tid) not in eval_gt:
                continue
            g = eval_gt[(fr, tid)]
            best = min((d for t, b, d in preds if t == tid and iou(b, g) >= iou_min), default=None)
            detected = any(iou(b, g) >= iou_min for b in det_boxes)
            records.append({"seq": seq.name, "kind": "gt", "frame": fr, "id": tid, "hit_distance": best, "detected": detected})
        for tid, box, dist in preds:
            if tid is None:
                continue
            if fr == first[tid]:
                state = "ignore"  # the registration frame itself
            elif (fr, tid) in eval_gt and iou(box, eval_gt[(fr, tid)]) >= iou_min:
                state = "tp"
            elif any(iou(box, g) >= iou_min for g in any_gt.get((fr, tid), [])):
                state = "ignore"  # on X, but on a GT row the filter left out (occluded, tiny)
            else:
                state = "fp"
            stranger = state == "fp" and any(
                iou(box, g) >= iou_min for (f2, t2), g in eval_gt.items() if f2 == fr and t2 in strangers)
            records.append({"seq": seq.name, "kind": "pred", "frame": fr, "id": tid, "distance": dist, "state": state,
                            "stranger": stranger})
        if progress:
            progress(f"{seq.name}: frame {fi + 1}/{len(frames)}")
    info = {"frames": len(frames), "identities_registered": len(first), "strangers": len(strangers),
            "identities_scored": len({r["id"] for r in records if r["kind"] == "gt"}),
            "gt_boxes_after_filter": int(len(gt)), "gt_boxes_total": int(len(raw))}
    return records, info


def _score(records: list[dict], t: float) -> dict:
    per: dict[tuple, dict] = {}

    def slot(r):
        return per.setdefault((r["seq"], r["id"]), {"seq": r["seq"], "id": r["id"], "sightings": 0, "hits": 0,
                                                     "detected": 0, "tp": 0, "fp": 0, "fp_on_strangers": 0, "ignored": 0})

    for r in records:
        s = slot(r)
        if r["kind"] == "gt":
            s["sightings"] += 1
            s["detected"] += bool(r["detected"])
            s["hits"] += int(r["hit_distance"] is not None and r["hit_distance"] < t)
        elif r["distance"] < t:
            s[{"tp": "tp", "fp": "fp", "ignore": "ignored"}[r["state"]]] += 1
            s["fp_on_strangers"] += int(r.get("stranger", False))
    rows = []
    for s in per.values():
        s["precision"] = _ratio(s["tp"], s["tp"] + s["fp"])
        s["recall"] = _ratio(s["hits"], s["sightings"])
        rows.append(s)
    rows.sort(key=lambda s: (s["seq"], s["id"]))
    tp, fp = sum(s["tp"] for s in rows), sum(s["fp"] for s in rows)
    n, hits, det = sum(s["sightings"] for s in rows), sum(s["hits"] for s in rows), sum(s["detected"] for s in rows)
    p, r = _ratio(tp, tp + fp), _ratio(hits, n)
    overall = {
        "precision": p,
        "recall": r,
        "f1": (2 * p * r / (p + r)) if p is not None and r is not None and p + r > 0 else None,
        "tp": tp,
        "fp": fp,
        "fn": n - hits,
        "sightings": n,
        "hits": hits,
        "detected": det,
        "detector_recall": _ratio(det, n),
        "recall_given_detected": _ratio(hits, det),
        "fp_on_strangers": sum(s["fp_on_strangers"] for s in rows),
        "ignored": sum(s["ignored"] for s in rows),
        "identities": len({(s["seq"], s["id"]) for s in rows if s["sightings"]}),
    }
    return {"overall": overall, "identities": rows}


def _macro(overalls: list[dict]) -> dict:
    out = {}
    for k in ("precision", "recall"):
        vals = [o[k] for o in overalls if o[k] is not None]
        out[k] = float(np.mean(vals)) if vals else None
    return out


def sweep_figure(res: dict, title: str = ""):
    """Precision and recall of the sightings against the threshold (one `evaluate_tracks` result)."""
    from matplotlib.figure import Figure

    sw = res["sweep"]
    t = [w["threshold"] for w in sw]
    nan = float("nan")
    fig = Figure(figsize=(7.0, 4.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(t, [nan if w["precision"] is None else w["precision"] for w in sw], "o-", ms=3, color="#2c7bb6", label="precision")
    ax.plot(t, [nan if w["recall"] is None else w["recall"] for w in sw], "o-", ms=3, color="#1a9641", label="recall")
    det = res["overall"]["detector_recall"]
    if det is not None:
        ax.axhline(det, color="#1a9641", ls=":", lw=1, label=f"detector recall {det:.3f} (recall ceiling)")
    ax.axvline(res["threshold"], color="black", ls="--", lw=1.2, label=f"threshold used {res['threshold']:g}")
    ax.set_xlabel("threshold (distance = 1 - cosine)")
    ax.set_ylabel("frame-level rate")
    ax.set_ylim(0.0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    strangers = f", {res['hold_out']:.0%} strangers" if res.get("hold_out") else ""
    ax.set_title(title or f"Sightings on {Path(res['path']).name}: {res['model']}{strangers}", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------
# Ranked results picture
# ---------------------------------------------------------------------------------------------------
def query_crop(engine, source: str | Path | np.ndarray, category: str = "person", box=None, whole: bool = False):
    """(crop, box, how) of the query: given box, the whole photo, the one (or most confident) detection,
    or the whole photo when it looks like a ready-made crop."""
    from .outer_api import _looks_like_crop  # late: outer_api re-exports this module
    from .pipeline import crop_box

    img = source if isinstance(source, np.ndarray) else media.read_image(source)
    h, w = img.shape[:2]
    if whole:
        return img, (0.0, 0.0, float(w), float(h)), "whole photo"
    if box is not None:
        return crop_box(img, box), tuple(map(float, box)), "given box"
    dets = engine.detect(img, (category,)).detections
    if len(dets) == 0:
        if _looks_like_crop(img, category):
            return img, (0.0, 0.0, float(w), float(h)), "whole photo (looks like a crop)"
        raise NothingFoundError(f"No {category} was found in the query photo; give --box or --whole")
    b = tuple(map(float, dets.xyxy[0]))  # detections come sorted by confidence
    how = "detected box" if len(dets) == 1 else f"most confident of {len(dets)} detections (use --box to pick another)"
    return crop_box(img, b), b, how


def rank_gallery(engine, query_feature: np.ndarray, category: str = "person", top: int = 5, per_identity: bool = False) -> list[dict]:
    """The `top` gallery photos (or identities) nearest to a query feature: exact distances over every stored photo."""
    model = engine.registry.reid_for(category).name
    entry_ids, ident_ids, vecs = engine.gallery.features(model, category)
    if len(entry_ids) == 0:
        raise InputError(f"The gallery holds no {category} photos embedded with model '{model}'")
    dist = 1.0 - vecs @ np.asarray(query_feature, np.float32).reshape(-1)
    order = np.argsort(dist, kind="stable")
    labels = engine.gallery.labels()
    rows, seen = [], set()
    for i in order:
        ident = int(ident_ids[i])
        if per_identity and ident in seen:
            continue
        seen.add(ident)
        rows.append({"rank": len(rows) + 1, "entry_id": int(entry_ids[i]), "identity_id": ident,
                     "label": labels.get(ident, f"#{ident}"), "distance": float(dist[i])})
        if len(rows) >= top:
            break
    crops = {}
    for ident in {r["identity_id"] for r in rows}:
        for e in engine.gallery.entries(ident):
            crops[e.id] = e.crop_jpeg
    for r in rows:
        r["crop"] = media.decode_image_bytes(crops[r["entry_id"]]) if r["entry_id"] in crops else None
    return rows


def ranked_figure(query: np.ndarray, rows: list[dict], threshold: float, title: str = ""):
    """One matplotlib Figure: the query, then the ranked gallery crops with label and distance; green frame
    for distances under the threshold (a match), red otherwise."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n = len(rows) + 1
    fig = Figure(figsize=(1.55 * n + 0.3, 3.9), dpi=110)
    for k in range(n):
        ax = fig.add_subplot(1, n, k + 1)
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 0:
            img, text, color = query, "query", "#1f4e9c"
        else:
            r = rows[k - 1]
            img = r["crop"] if r["crop"] is not None else np.full((256, 128, 3), 200, np.uint8)
            ok = r["distance"] < threshold
            text = f"#{r['rank']} {r['label']}\nd={r['distance']:.3f}"
            color = "#1a9641" if ok else "#d7191c"
        ax.imshow(_fit(img)[:, :, ::-1])
        ax.set_title(text, fontsize=9, color=color)
        ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, lw=4, edgecolor=color, clip_on=False))
    fig.suptitle(title or f"Top {len(rows)} gallery photos (green: distance < threshold {threshold:.3f})", fontsize=10)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.78, wspace=0.12)
    return fig


def _fit(img: np.ndarray, h: int = 256, w: int = 128) -> np.ndarray:
    """Letterbox into h x w (keep the aspect ratio, grey padding)."""
    import cv2

    ih, iw = img.shape[:2]
    s = min(h / ih, w / iw)
    nh, nw = max(1, int(round(ih * s))), max(1, int(round(iw * s)))
    canvas = np.full((h, w, 3), 230, np.uint8)
    y, x = (h - nh) // 2, (w - nw) // 2
    canvas[y : y + nh, x : x + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return canvas
