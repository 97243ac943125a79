"""An identity's journey: its sightings across every indexed source and camera, in time order.

Files carry no reliable wall-clock time, so sources are ordered by when their recording began as `clock` tells it
(the date and time in the file's name, else its modification time less its duration) and sightings within a source
by their time in it."""
from __future__ import annotations

from Algorithm.footage.clock import recording_start
from Algorithm.footage.records import Journey, JourneyStop
from Algorithm.storage.footage_index import FootageIndex
from Algorithm.types import FileResult


def journeys(results: list[FileResult], footage: FootageIndex) -> list[Journey]:
    """One Journey per identity found in `results` (find's), stops in time order."""
    info = {s.path: s for s in footage.sources()}
    stops: dict[int, list[tuple[tuple, JourneyStop]]] = {}
    labels: dict[int, str] = {}
    thumbs: dict[int, bytes | None] = {}
    for res in results:
        src = info.get(res.path)
        if src is None:
            continue
        began = recording_start(src.path, src.mtime_ns, src.duration_s)
        by_frame = {f.frame_index: f for f in res.frames}
        for s in res.sightings:
            labels[s.identity_id] = s.label
            for seg in s.segments:
                fr = by_frame.get(seg.best_frame)
                mine = [b for b in (fr.matches if fr else []) if b.match and b.match.identity_id == s.identity_id]
                tid = mine[0].track_id if mine else None
                if tid is not None and tid not in thumbs:
                    try:
                        thumbs[tid] = footage.track(tid).info.thumbnail
                    except Exception:  # removed meanwhile: the stop stays, without its picture
                        thumbs[tid] = None
                stop = JourneyStop(res.path, src.camera, seg.start_time, seg.end_time, seg.best_frame,
                                   float(seg.best_time), seg.best_distance, tid, thumbs.get(tid), res.warning,
                                   began.at + seg.start_time, began.source)
                stops.setdefault(s.identity_id, []).append(((stop.clock, res.path, seg.start_time), stop))
    return [Journey(i, labels[i], [st for _, st in sorted(v, key=lambda kv: kv[0])]) for i, v in sorted(stops.items())]
