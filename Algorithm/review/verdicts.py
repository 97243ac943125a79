"""What a verdict is about: the boxes of one identity's track (or sighting) in a result, and a few views of it
cut from the footage, so the gallery can keep them as negative (rejected) or positive (confirmed) examples."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from Algorithm import media
from Algorithm.errors import InputError
from Algorithm.pipeline.crop_policy import crop_box
from Algorithm.types import FileResult, Segment

VIEWS = 5  # crops embedded per verdict, spread over the track: its looks from start to end


@dataclass(frozen=True)
class Verdict:
    """A stored verdict, as the Manager lists it."""

    id: int
    identity_id: int
    label: str
    verdict: str  # "confirm" | "reject"
    source: str
    start_frame: int
    end_frame: int
    n_boxes: int
    thumbnail: bytes | None
    created: str


@dataclass(frozen=True)
class TrackBoxes:
    category: str
    boxes: list[tuple[int, tuple]]  # (frame, (x1, y1, x2, y2)), in frame order
    scores: list[float]


def track_boxes(result: FileResult, identity_id: int, track_id: int | None = None,
                segment: Segment | None = None) -> TrackBoxes:
    """The boxes `result` gave `identity_id`: of one track, of one sighting segment, or all of them."""
    rows, cats = [], set()
    for f in result.frames:
        if segment is not None and not segment.start_frame <= f.frame_index <= segment.end_frame:
            continue
        for b in f.matches:
            if b.match.identity_id == identity_id and (track_id is None or b.track_id == track_id):
                rows.append((f.frame_index, tuple(float(v) for v in b.box), float(b.score)))
                cats.add(b.category)
    if not rows:
        raise InputError("Those results give that identity no box there: nothing to confirm or reject")
    rows.sort(key=lambda r: r[0])
    return TrackBoxes(sorted(cats)[0], [(f, b) for f, b, _ in rows], [s for *_, s in rows])


def spread(n: int, k: int = VIEWS) -> list[int]:
    """k indices spread evenly over range(n) (all when n <= k)."""
    return list(range(n)) if n <= k else sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def crops_of(path: str, boxes: list[tuple[int, tuple]], kind: str) -> list[np.ndarray]:
    """Crops of the given boxes cut from the file's frames (an image: the image itself)."""
    if kind == "image":
        img = media.read_image(path)
        return [crop_box(img, b) for _, b in boxes]
    out = []
    for frame, box in boxes:
        try:
            out.append(crop_box(media.read_video_frame(path, frame), box))
        except InputError as e:
            raise InputError(f"Cannot read frame {frame} of {path}: {e}") from e
    return out


def best_index(t: TrackBoxes) -> int:
    """The box to show or add as a photo: the largest confident one (area x confidence)."""
    areas = [(b[2] - b[0]) * (b[3] - b[1]) * s for (_, b), s in zip(t.boxes, t.scores)]
    return int(np.argmax(areas))
