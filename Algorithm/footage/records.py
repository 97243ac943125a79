"""Typed records of the footage library that cross Algorithm.outer_api."""
from __future__ import annotations

from dataclasses import dataclass

from Algorithm.storage.footage_index import SourceInfo, TrackInfo


@dataclass(frozen=True)
class LibrarySource:
    """An indexed file and its state on disk now: status is done, partial, failed (see reason), missing
    (indexed, the file is gone: its tracks are kept) or changed (the file differs from what was indexed)."""

    info: SourceInfo
    status: str
    reason: str = ""


@dataclass(frozen=True)
class SimilarTrack:
    track: TrackInfo
    distance: float  # closest view to the query (1 - cosine)


@dataclass(frozen=True)
class JourneyStop:
    """One sighting of an identity in one source: where, when, and the track that shows it best."""

    source: str
    camera: str
    start_time: float
    end_time: float
    best_frame: int
    best_time: float
    distance: float
    track_id: int | None
    thumbnail: bytes | None
    caution: str | None = None  # the file is gone or changed on disk since it was indexed (find's warning)
    clock: float = 0.0  # when the sighting began, in seconds since the epoch, as footage.clock estimates it
    clock_from: str = ""  # "file name" (a date and time in it) or "file time" (modified, less the duration)


@dataclass(frozen=True)
class Journey:
    identity_id: int
    label: str
    stops: list[JourneyStop]  # in time order (footage.clock: when each file began, then the time in it)

    @property
    def cameras(self) -> list[str]:
        seen: list[str] = []
        for s in self.stops:
            if s.camera not in seen:
                seen.append(s.camera)
        return seen


@dataclass(frozen=True)
class IndexSummary:
    """What an `index` run did: files indexed now, already indexed (left as they were), failed (with reasons)."""

    indexed: list[str]
    skipped: list[str]
    failed: list[tuple[str, str]]
    tracks: int
