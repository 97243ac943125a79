"""Does the app find the right people in video? Frame-level precision and recall of the sightings of
ground-truth identities on MOT sequences, measured through the real engine (detect -> ReID -> gallery
search), with the whole threshold sweep from one run."""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from Algorithm import media
from Algorithm.evaluation.datasets import GtFilter, Progress, filter_gt, mot_frames, mot_sequences, read_mot_gt, xywh_to_xyxy
from Algorithm.evaluation.sighting_score import (
    GtSighting,
    IdentityScore,
    LabelledBox,
    MacroScore,
    Record,
    SightingScore,
    SweepPoint,
    score,
)
from Algorithm.geometry import iou
from Algorithm.types import DetectionLog, FrameDone

FORMAT = "reid-app-eval-tracks"
SWEEP = tuple(round(float(t), 3) for t in np.arange(0.05, 0.601, 0.025))
# The search runs with every pair allowed: the sweep applies its own thresholds to the distances afterwards.
SEARCH_ALL = 2.0


class SearchEngine(Protocol):
    """What `evaluate_tracks` needs of the engine. Unlike the other evaluations, which take an extractor and
    features, this one runs the whole app on purpose: it registers people and searches frames through the
    detector, the ReID model, the gallery search and the match rule, so that what it measures is what the
    user gets. These are the only engine methods it calls (a stand-in needs just these)."""

    def reid_model_name(self, category: str) -> str: ...

    def register(self, source, label: str, category: str = "person", box=None, whole: bool = False) -> object: ...

    def update_settings(self, **kw) -> object: ...

    def search_file_events(self, path: str | Path, detections: DetectionLog | None = None) -> Iterable[FrameDone]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SequenceInfo:
    frames: int
    identities_registered: int
    strangers: int
    identities_scored: int
    gt_boxes_after_filter: int
    gt_boxes_total: int


@dataclass
class SequenceResult:
    name: str
    info: SequenceInfo
    overall: SightingScore
    identities: list[IdentityScore]

    def to_json(self) -> dict:
        return {"name": self.name, **asdict(self.info), "overall": self.overall.to_json(),
                "identities": [i.to_json() for i in self.identities]}


@dataclass
class TracksEvaluation:
    """The result of `evaluate_tracks`; `to_json()` is what `evaluate tracks --out` writes."""

    path: str
    model: str
    category: str
    threshold: float
    iou: float
    filter: GtFilter
    hold_out: float
    overall: SightingScore
    per_sequence_macro: MacroScore
    sequences: list[SequenceResult]
    sweep: list[SweepPoint]
    seconds: float

    @property
    def protocol(self) -> str:
        return ("each GT identity registered from its GT box in its first frame (after the filter) into a temporary "
                "gallery; every frame searched through the engine (detector + ReID + gallery search); "
                f"a box labelled X is a hit when IoU >= {self.iou:g} with X's GT box in that frame; "
                "registration frames not scored")

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": 1,
            "path": self.path,
            "model": self.model,
            "category": self.category,
            "threshold": self.threshold,
            "iou": self.iou,
            "filter": self.filter.to_json(),
            "hold_out": self.hold_out,
            "protocol": self.protocol,
            "overall": self.overall.to_json(),
            "per_sequence_macro": self.per_sequence_macro.to_json(),
            "sequences": [s.to_json() for s in self.sequences],
            "sweep": [w.to_json() for w in self.sweep],
            "seconds": self.seconds,
        }


def evaluate_tracks(
    path: str | Path,
    make_engine: Callable[[Path], SearchEngine],
    threshold: float,
    flt: GtFilter | None = None,
    iou_min: float = 0.5,
    category: str = "person",
    progress: Progress | None = None,
    max_frames: int | None = None,
    sweep: Sequence[float] = SWEEP,
    hold_out: float = 0.0,
) -> TracksEvaluation:
    """Frame-level precision and recall of the sightings of ground-truth identities.

    Per sequence: each GT identity (after `flt`) is registered from its first sighting (its GT box in its
    first frame) into a temporary gallery (`make_engine(gallery_path)`); every frame is then searched through
    that engine, the whole detect -> ReID -> gallery-search path.
    A box labelled X is a hit when its IoU with X's GT box in that frame is >= `iou_min`.
    Not scored: X in its registration frame, and boxes labelled X that sit on an X box the filter left
    out (e.g. X mostly occluded): such boxes are neither hits nor false matches.
    The search runs once with the loosest threshold and keeps, per box, the match and its distance; the
    result at any threshold is then computed from those distances (see sighting_score).
    With `hold_out` > 0, that share of the identities (spread evenly over the sorted ids) is NOT registered:
    they are strangers, and any box on them that gets a label is a false match (`fp_on_strangers`). Without
    strangers everyone in view is in the gallery (closed set) and the threshold hardly matters.
    """
    if not 0.0 <= hold_out < 1.0:
        raise ValueError("hold_out is a share of identities in [0, 1)")
    flt = flt or GtFilter()
    t0 = time.perf_counter()
    seqs = mot_sequences(path)
    tmp = Path(tempfile.mkdtemp(prefix="reid-eval-"))
    seq_out: list[SequenceResult] = []
    all_records: list[Record] = []
    model_name = ""
    try:
        for seq in seqs:
            eng = make_engine(tmp / f"{seq.name}.db")
            try:
                model_name = eng.reid_model_name(category)
                recs, info = search_sequence(eng, seq, flt, iou_min, category, progress, max_frames, hold_out)
            finally:
                eng.close()
            all_records.extend(recs)
            overall, rows = score(recs, threshold)
            seq_out.append(SequenceResult(seq.name, info, overall, rows))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return TracksEvaluation(
        path=str(path),
        model=model_name,
        category=category,
        threshold=threshold,
        iou=iou_min,
        filter=flt,
        hold_out=hold_out,
        overall=score(all_records, threshold)[0],
        per_sequence_macro=MacroScore.of([s.overall for s in seq_out]),
        sequences=seq_out,
        sweep=[SweepPoint.of(t, score(all_records, t)[0]) for t in sweep],
        seconds=round(time.perf_counter() - t0, 2),
    )


def search_sequence(eng: SearchEngine, seq: Path, flt: GtFilter, iou_min: float, category: str,
                    progress: Progress | None, max_frames: int | None, hold_out: float,
                    only: set[int] | None = None,
                    detections: dict[Path, DetectionLog] | None = None) -> tuple[list[Record], SequenceInfo]:
    """Registers the sequence's identities (all but the held-out share, or just `only`), searches every frame
    (replaying `detections` where given) and returns the records to score."""
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
    if only is not None:
        strangers = {t for t in ordered if t not in only}
    else:
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
    eng.update_settings(threshold=SEARCH_ALL, tracking=False, categories=(category,), keep_frames=False)
    eval_gt = {(int(r[0]), int(r[1])): xywh_to_xyxy(r) for r in gt}
    any_gt: dict[tuple[int, int], list[tuple]] = {}
    for r in raw:
        any_gt.setdefault((int(r[0]), int(r[1])), []).append(xywh_to_xyxy(r))
    records: list[Record] = []
    for fi, (fr, fpath) in enumerate(frames.items()):
        log = (detections or {}).get(fpath)
        got = [e.result for e in eng.search_file_events(fpath, detections=log)]  # a photo: one FrameDone, every box
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
            records.append(GtSighting(seq.name, fr, tid, best, detected))
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
            records.append(LabelledBox(seq.name, fr, tid, dist, state, stranger))
        if progress:
            progress(f"{seq.name}: frame {fi + 1}/{len(frames)}")
    info = SequenceInfo(len(frames), len(first), len(strangers), len({r.id for r in records if isinstance(r, GtSighting)}),
                        int(len(gt)), int(len(raw)))
    return records, info
