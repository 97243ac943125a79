"""Resuming a stopped run: where it goes on, and its two parts made one (the first part's results are kept).

The resumed part is a fresh session from the resume frame, so its tracks are new ones: their ids are moved past
the first part's, and a sighting cut by the stop is joined again when its two pieces are closer than the
run's merge gap (as within one session).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Generator

from Algorithm import media
from Algorithm.pipeline.sightings import merge_gap
from Algorithm.settings import Settings
from Algorithm.types import FileResult, FrameDone, SearchReport, Segment, Sighting, Stats


def run_settings(report: SearchReport) -> Settings:
    """The settings the first part ran with, its thresholds fixed to the ones it used (a model's default may
    have changed since)."""
    return report.settings.with_(thresholds=dict(report.thresholds)) if report.thresholds else report.settings


def resume_frame(result: FileResult, sample_ft: int) -> int:
    """The first frame the resumed part processes: one sampling step after the last processed one (the same
    frames as a run that was never stopped)."""
    if not result.stats.frames_processed:
        return 0
    return result.stats.frames_read - 1 + max(1, int(sample_ft))


def plan(report: SearchReport, files: list[Path]) -> list[tuple[int, Path, int, FileResult | None]]:
    """What a resumed run processes, in order: (position in `files`, file, start frame, its first part or None)
    for the stopped file and every file the run had not reached. Files done (or failed) are not run again."""
    by_path = {Path(f.path): f for f in report.files}
    todo = []
    for i, f in enumerate(files):
        first = by_path.get(Path(f))
        if first is None:
            todo.append((i, f, 0, None))
        elif first.stopped and not first.error:
            todo.append((i, f, resume_frame(first, report.settings.sample_ft), first))
    return todo


def replaced(first: FileResult, path: Path) -> bool:
    """Whether the file at `path` is no longer the one the first part searched (another fingerprint). Results
    without a fingerprint (older files) cannot tell; a file that cannot be read is left to the run to report."""
    if not first.fingerprint:
        return False
    try:
        return media.fingerprint(path) != first.fingerprint
    except OSError:
        return False


def gap_s(result: FileResult, settings: Settings) -> float:
    """The merge gap the session of this file used (pipeline.session)."""
    if result.kind != "video" or result.fps <= 0:
        return settings.max_gap_s
    return merge_gap(settings.max_gap_s, settings.sample_ft, result.fps)


def merge_sightings(first: list[Sighting], second: list[Sighting], gap: float) -> list[Sighting]:
    """One identity's segments of both parts in time order; a segment cut by the stop is joined again when its
    pieces are at most `gap` seconds apart."""
    segs: dict[int, list[Segment]] = {}
    labels: dict[int, str] = {}
    for part in (first, second):
        for s in part:
            labels[s.identity_id] = s.label  # the later part's label: the gallery's newest name
            own = segs.setdefault(s.identity_id, [])
            for g in sorted(s.segments, key=lambda g: g.start_frame):
                if own and g.start_time - own[-1].end_time <= gap and g.start_frame > own[-1].end_frame:
                    own[-1] = _join(own[-1], g)
                else:
                    own.append(replace(g))
    return sorted((Sighting(i, labels[i], s) for i, s in segs.items()), key=lambda s: s.segments[0].start_time)


def _join(a: Segment, b: Segment) -> Segment:
    best = a if a.best_distance <= b.best_distance else b
    return Segment(a.start_frame, b.end_frame, a.start_time, b.end_time, best.best_frame, best.best_distance,
                   best.best_box, a.hits + b.hits, best.best_time)


def merge_file_results(first: FileResult, second: FileResult, settings: Settings) -> FileResult:
    """The first part and the resumed part of one file as one result (frames, sightings and statistics)."""
    shift = 1 + max((b.track_id for f in first.frames for b in f.boxes), default=-1)
    frames = list(first.frames) + [
        replace(f, boxes=[replace(b, track_id=b.track_id + shift if b.track_id >= 0 else b.track_id) for b in f.boxes])
        for f in second.frames
    ]
    a, b = first.stats, second.stats
    stats = Stats(max(a.frames_read, b.frames_read), a.frames_processed + b.frames_processed, a.detections + b.detections,
                  a.reid_crops + b.reid_crops, a.tracks + b.tracks, a.seconds + b.seconds,
                  a.frames_detected + b.frames_detected, b.decoder or a.decoder, a.whole_photos + b.whole_photos,
                  max(a.time_drift_s, b.time_drift_s))
    return replace(second, frames=frames, sightings=merge_sightings(first.sightings, second.sightings, gap_s(first, settings)),
                   stats=stats, error=second.error or first.error)


def continued(part: Generator[FrameDone, None, FileResult], first: FileResult | None,
              settings: Settings) -> Generator[FrameDone, None, FileResult]:
    """The events of a resumed part as the whole file's: live sightings with the first part's merged in, and
    the merged result (a file not started before passes through unchanged)."""
    if first is None:
        return (yield from part)
    gap = gap_s(first, settings)
    try:
        while True:
            try:
                ev = next(part)
            except StopIteration as stop:
                return merge_file_results(first, stop.value, settings)
            live = None if ev.sightings is None else merge_sightings(first.sightings, ev.sightings, gap)
            yield FrameDone(ev.result, live)
    finally:
        part.close()  # an abandoned run closes its video at once
