"""The "snapshot camera": embed a track once when it becomes reliable, again only for a clearly better crop.

Quality of a crop = box area, halved when the box touches the frame edge or is mostly
covered by another box of the frame (a cut person, or one behind someone else, is a poor likeness: the crop
shows someone else). A track keeps its best few crops' features and their normalised mean; it is searched
with all of them and matches by the closest.

Waits and re-looks are timed in seconds of video (a person turns around in about a second whatever the frame
rate), so a 30 fps crowd is not looked at three times as often as a 10 fps street.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from Algorithm.geometry import intersection_matrix
from Algorithm.pipeline.embed import l2_normalize

# A box whose area is covered at least this much by one other box of the frame is "hidden" (crowds: the crop
# is mostly the person in front). On the synthetic crowd of bench/crowd_video.py a third of the first looks
# were hidden past 0.3 and a quarter past 0.5.
HIDDEN_COVER = 0.5


@dataclass
class CachePolicy:
    better_ratio: float = 1.25  # a new crop must beat the best one so far by this factor to be embedded
    wait_frames: int = 5  # a track cut by the frame edge waits this long for a clean crop before embedding anyway
    # A new track's first look waits this long: in a crowd, people behind others flicker into a track for a few
    # frames and out again, and a look at each cost more than the tracker (bench/README.md, section 1). People
    # only: with the generic vehicle model, whose threshold sits among look-alikes, a later first crop of another
    # car matched the car registered on the traffic video (0.097 against 0.10).
    settle_frames: int = 0
    settle_categories: tuple[str, ...] = ("person",)
    keep_best: int = 3  # crops averaged into the track feature
    max_embeds: int = 5  # per track, besides the periodic refresh
    refresh_frames: int = 0  # also re-embed after this many frames (0: never)
    # A track with no identity under the threshold yet gets a few more looks, spaced out (this many frames,
    # then twice that, ...): a poor first view (turned away, half hidden) must not hide a registered person.
    retry_frames: int = 10
    max_retries: int = 3
    # A crowd's people stand in line for re-looks: with more than this many boxes in view the waits grow in
    # proportion (0: never). On the synthetic crowd, 136 re-looks over 900 frames fell to 65; the pedestrian video
    # and the crowd's registered walkers were found on the same frames (bench/README.md, section 1).
    retry_crowd: int = 6
    forget_frames: int = 90  # drop state of tracks unseen this long (memory stays flat on long videos)
    # A chosen crop may wait this many frames for others, to be embedded with them (look_queue.py); 0: at once.
    batch_wait_frames: int = 0
    batch_crops: int = 8  # ... and is embedded as soon as this many wait

    @classmethod
    def for_video(cls, fps: float, sample_ft: int, wait_s: float = 0.5, retry_s: float = 1.0,
                  batch_s: float = 0.2, settle_s: float = 0.2, **kw) -> "CachePolicy":
        """The policy for this video, in the video's frame numbers (what the session passes, whatever sampleFt
        skips): re-looks every `retry_s` seconds of video, and a poor first view waits at most `wait_s` and at
        most 5 processed frames (a car crossing a 60 fps view in 11 frames, cut by the edge all along, must still
        be looked at). At the 10 fps of the pedestrian video, sampleFt 1, these are the frame counts the policy
        was tuned with: 5 and 10. A chosen crop waits at most `batch_s` for others to be embedded with (a name
        appears that much later while the video plays; the results are the same). A new track is first looked at
        once seen for `settle_s`, rounded to whole processed frames (none under half of one): a track seen for
        less is never named (in a crowd, mostly people behind others flickering in and out)."""
        per_s, step = fps or 10.0, max(1, sample_ft)
        wait = max(step, min(cls.wait_frames * step, round(wait_s * per_s)))
        settle = step * round(settle_s * per_s / step)
        return cls(wait_frames=wait, retry_frames=max(step, round(retry_s * per_s)),
                   batch_wait_frames=round(batch_s * per_s), settle_frames=settle, **kw)


@dataclass
class _Track:
    first_frame: int
    last_seen: int
    best_quality: float = 0.0
    last_embed: int = -1
    embeds: int = 0
    retries: int = 0
    crops: list[tuple[float, np.ndarray]] = field(default_factory=list)
    feature: np.ndarray | None = None
    version: int = 0  # moves when the feature changes, so search results can be cached per version
    pending: bool = False  # a chosen crop waits to be embedded (not chosen again until it is)


def crop_quality(box, width: int, height: int, margin: float = 2.0, hidden: bool = False) -> tuple[float, bool]:
    """(quality, poor): the box's area, halved when it is poor: cut by the frame edge or `hidden` behind another box.

    The detector's confidence is left out: on the synthetic crowd (bench/crowd_video.py), 64 of 80 "better" crops
    were a confidence that wobbled (median x1.26) on a box of the same size (x1.09); what it stood for (a person
    partly hidden) is the `hidden` test now. Pedestrian video: the same matches with or without it."""
    x1, y1, x2, y2 = box
    poor = hidden or x1 <= margin or y1 <= margin or x2 >= width - margin or y2 >= height - margin
    q = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return (q * 0.5 if poor else q), poor


def hidden_boxes(boxes) -> np.ndarray:
    """Whether each box is covered at least HIDDEN_COVER by another box of the same frame standing in front of it:
    one whose bottom edge is as low or lower (people stand on the ground, so the nearer one's feet are lower in
    the picture)."""
    b = np.asarray(boxes, float).reshape(-1, 4)
    if len(b) < 2:
        return np.zeros(len(b), bool)
    inter = np.where(b[None, :, 3] >= b[:, None, 3], intersection_matrix(b, b), 0.0)  # [i, j]: j is in front of i
    np.fill_diagonal(inter, 0.0)
    area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1e-9)
    return inter.max(axis=1) >= HIDDEN_COVER * area


class TrackCache:
    def __init__(self, policy: CachePolicy | None = None):
        self.policy = policy or CachePolicy()
        self.tracks: dict[int, _Track] = {}
        self.total_tracks = 0

    def select(self, frame_idx: int, track_ids, boxes, width: int, height: int, settled=None, hidden=None,
               last: bool = False, categories=None) -> list[int]:
        """Indices (into this frame's boxes) whose crops should be embedded now. `settled(track_id)` says
        whether a track already has its identity (no retries then); `hidden`: hidden_boxes(boxes), if the caller
        has it already; `last`: the video's last frame (a track the end cut short is looked at before it settled);
        `categories`: each box's (the settling time is for policy.settle_categories; all boxes when None)."""
        p = self.policy
        todo = []
        hidden = hidden_boxes(boxes) if hidden is None else hidden
        spread = max(1.0, len(boxes) / p.retry_crowd) if p.retry_crowd else 1.0
        for i, (tid, box) in enumerate(zip(track_ids, boxes)):
            tid = int(tid)
            t = self.tracks.get(tid)
            if t is None:
                t = self.tracks[tid] = _Track(first_frame=frame_idx, last_seen=frame_idx)
                self.total_tracks += 1
            t.last_seen = frame_idx
            if t.pending:
                continue
            q, cut = crop_quality(box, width, height, hidden=bool(hidden[i]))
            if t.feature is None:
                age = frame_idx - t.first_frame
                settle = p.settle_frames if categories is None or categories[i] in p.settle_categories else 0
                if last or (age >= settle and (not cut or age >= p.wait_frames)):
                    todo.append(i)
            elif q >= t.best_quality * p.better_ratio and t.embeds < p.max_embeds:
                todo.append(i)
            elif p.refresh_frames and frame_idx - t.last_embed >= p.refresh_frames:
                todo.append(i)
            elif (settled is not None and t.retries < p.max_retries and not cut
                  and frame_idx - t.last_embed >= spread * p.retry_frames * 2 ** t.retries and not settled(tid)):
                t.retries += 1
                todo.append(i)
        return todo

    def set_pending(self, track_ids) -> None:
        """These tracks' chosen crops wait to be embedded: `select` passes them over until `update` has them."""
        for tid in track_ids:
            self.tracks[int(tid)].pending = True

    def update(self, frame_idx: int, track_ids, boxes, feats: np.ndarray, width: int, height: int, hidden=None) -> None:
        """Adds the features of the rows `select` chose on frame `frame_idx`; `hidden`: those rows' hidden_boxes
        flags in that frame."""
        hidden = np.zeros(len(track_ids), bool) if hidden is None else hidden
        for tid, box, f, hid in zip(track_ids, boxes, feats, hidden):
            t = self.tracks[int(tid)]  # a track whose crop waits is not forgotten meanwhile (forget_stale)
            t.pending = False
            q, _ = crop_quality(box, width, height, hidden=bool(hid))
            t.crops.append((q, f))
            t.crops.sort(key=lambda c: -c[0])
            del t.crops[self.policy.keep_best :]
            t.feature = l2_normalize(np.mean([c[1] for c in t.crops], axis=0))
            t.best_quality = max(t.best_quality, q)
            t.last_embed = frame_idx
            t.embeds += 1
            t.version += 1

    def feature(self, track_id: int) -> tuple[np.ndarray | None, int]:
        t = self.tracks.get(int(track_id))
        return (None, 0) if t is None else (t.feature, t.version)

    def query_vectors(self, track_id: int) -> np.ndarray:
        """The aggregate and each kept crop: a track matches an identity by its closest view, so one poor
        crop (entering, occluded) cannot hide a good one."""
        t = self.tracks[int(track_id)]
        return np.stack([t.feature] + [c[1] for c in t.crops]) if len(t.crops) > 1 else t.feature[None]

    def forget_stale(self, frame_idx: int) -> None:
        stale = [tid for tid, t in self.tracks.items()
                 if frame_idx - t.last_seen > self.policy.forget_frames and not t.pending]  # kept until embedded
        for tid in stale:
            del self.tracks[tid]
