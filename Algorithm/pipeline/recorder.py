"""What a session saw, kept for the footage index: every stretch's boxes, the vectors it was searched with,
and its best views as small JPEGs, so later questions about the footage are answered without decoding it.

The views are exactly the vectors the live search compared with the gallery (each embedded crop, each
running aggregate), so `find` takes the same closest view as a search of the same file would.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from Algorithm.media import encode_jpeg
from Algorithm.pipeline.embed import crop
from Algorithm.pipeline.track_cache import crop_quality
from Algorithm.storage.footage_index import MAX_CROP_FEATURES, MAX_CROP_IMAGES, CropImage, ModelFeatures, TrackRecord

CROP_HEIGHT = 256  # stored view: the ReID models' input height, so another model loses nothing by re-embedding
THUMB_HEIGHT = 96  # the Library's grid
JPEG_QUALITY = 88
SAME_VIEW = 0.9999  # cosine similarity above which a searched vector is the one already kept


def _jpeg(img: np.ndarray, height: int) -> bytes:
    h, w = img.shape[:2]
    if h > height:
        img = cv2.resize(img, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
    return encode_jpeg(img, JPEG_QUALITY)


def _cut(frame: np.ndarray, box) -> np.ndarray | None:
    """The crop the ReID model embedded (embed.crop), None when the box is empty inside the frame."""
    try:
        return crop(frame, box)
    except ValueError:
        return None


@dataclass
class _Stretch:
    category: str
    frames: list[int] = field(default_factory=list)
    boxes: list[tuple] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    views: list[np.ndarray] = field(default_factory=list)
    aggregate: np.ndarray | None = None
    crops: list[tuple[float, int, tuple, bytes]] = field(default_factory=list)  # quality, frame, box, jpeg; best first


class TrackRecorder:
    """Fed by VideoSession (boxes, embedded crops, searched vectors); `records()` gives the TrackRecords."""

    def __init__(self, model_of: dict[str, str], width: int, height: int):
        self.model_of = model_of  # category -> ReID model name the views come from
        self.width, self.height = width, height
        self._tracks: dict[int, _Stretch] = {}

    def boxes(self, frame_idx: int, track_ids, categories, xyxy, conf) -> None:
        for tid, cat, box, c in zip(track_ids, categories, xyxy, conf):
            t = self._tracks.get(int(tid))
            if t is None:
                t = self._tracks[int(tid)] = _Stretch(cat)
            t.frames.append(frame_idx)
            t.boxes.append(tuple(float(v) for v in box))
            t.scores.append(float(c))

    def looked(self, frame_idx: int, frame: np.ndarray, track_ids, categories, xyxy) -> None:
        """Crops that were embedded this frame: the best few of each stretch are kept as JPEGs."""
        for tid, cat, box in zip(track_ids, categories, xyxy):
            t = self._tracks.get(int(tid))
            if t is None:
                t = self._tracks[int(tid)] = _Stretch(cat)
            q, _ = crop_quality(box, self.width, self.height)
            if len(t.crops) >= MAX_CROP_IMAGES and q <= t.crops[-1][0]:
                continue
            img = _cut(frame, box)
            if img is None:
                continue
            t.crops.append((q, frame_idx, tuple(float(v) for v in box), _jpeg(img, CROP_HEIGHT)))
            t.crops.sort(key=lambda x: -x[0])
            del t.crops[MAX_CROP_IMAGES:]

    def searched(self, track_id: int, vectors: np.ndarray) -> None:
        """The vectors a track was just searched with; the first is its current aggregate."""
        t = self._tracks.get(int(track_id))
        if t is None or len(vectors) == 0:
            return
        t.aggregate = np.asarray(vectors[0], np.float32)
        for v in vectors:
            if len(t.views) >= MAX_CROP_FEATURES:
                break
            if t.views and float(np.max(np.stack(t.views) @ v)) > SAME_VIEW:
                continue
            t.views.append(np.asarray(v, np.float32))

    def records(self) -> list[TrackRecord]:
        out = []
        for tid, t in sorted(self._tracks.items(), key=lambda kv: kv[1].frames[0] if kv[1].frames else 0):
            if not t.frames:
                continue
            order = np.argsort(np.asarray(t.frames), kind="stable")
            frames = np.asarray(t.frames, np.int64)[order]
            boxes = np.asarray(t.boxes, np.float64)[order]
            scores = np.asarray(t.scores, np.float32)[order]
            feats = {}
            if t.aggregate is not None and t.category in self.model_of:
                feats[self.model_of[t.category]] = ModelFeatures(t.aggregate, np.stack(t.views))
            if t.crops:
                best_frame, best_box = t.crops[0][1], t.crops[0][2]
                thumb = _jpeg(cv2.imdecode(np.frombuffer(t.crops[0][3], np.uint8), cv2.IMREAD_COLOR), THUMB_HEIGHT)
            else:  # never embedded (e.g. a stretch cut short): its largest box
                k = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
                best_frame, best_box, thumb = int(frames[k]), tuple(boxes[k]), None
            crops = [CropImage(f, b, j) for _, f, b, j in t.crops if j]
            out.append(TrackRecord(t.category, int(tid), frames, boxes, int(best_frame), best_box, feats, thumb, scores, crops))
        return out
