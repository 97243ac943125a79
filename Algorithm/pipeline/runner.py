"""Runs sessions over files: one image or video -> a stream of FrameDone events, then its FileResult."""
from __future__ import annotations

from typing import Generator

from Algorithm import media
from Algorithm.errors import InputError
from Algorithm.pipeline.session import Source, Stages, VideoSession
from Algorithm.sinks.footage_sink import FootageSink, OpenSource
from Algorithm.types import Cancel, FileResult, FrameDone


def search_file(stages: Stages, path, cancel: Cancel | None = None, max_frames: int | None = None,
                start_frame: int = 0) -> Generator[FrameDone, None, FileResult]:
    """Yields each processed frame; returns the file's result (`yield from` gives it). Errors of the file are raised."""
    kind = media.media_kind(path)
    if kind is None:
        raise InputError(f"Not an image or video (by its extension): {path}")
    if kind == "image":
        img = media.read_image(path)
        src = Source(str(path), "image", img.shape[1], img.shape[0], 0.0, 1, _fingerprint(path))
        indexing = _begin_index(stages, src, start_frame)
        session = VideoSession(stages, src, indexing.recorder if indexing else None)
        fr = session.step(img, 0)
        yield FrameDone(fr, session.live_sightings())
        res = session.finish()
        if indexing:
            FootageSink.finish(indexing, complete=True)
        return res
    s = stages.settings
    stopped = False
    with media.VideoReader(path, hw_decode=s.hw_decode) as video:
        info = video.info
        src = Source(str(path), "video", info.width, info.height, info.fps, info.frame_count, _fingerprint(path))
        indexing = _begin_index(stages, src, start_frame)
        session = VideoSession(stages, src, indexing.recorder if indexing else None)
        stop = None if max_frames is None else start_frame + max_frames
        last = -1
        batch = session.detect_batch  # frames detected in one call (exact speed), read ahead beyond the batch
        frames = media.read_ahead(video.frames(step=s.sample_ft, start=start_frame, stop=stop), media.READ_AHEAD + batch)
        try:
            for chunk in media.batches(frames, batch):
                if cancel and cancel():
                    stopped = True
                    break
                session.detect_ahead(chunk)
                for idx, frame in chunk:
                    if cancel and cancel():  # the rest of the chunk is dropped: a resumed run detects it again
                        stopped = True
                        break
                    fr = session.step(frame, idx)
                    last = idx
                    yield FrameDone(fr, session.live_sightings())
                if stopped:
                    break
        finally:
            frames.close()  # the decoding thread stops before the reader is closed
    res = session.finish(stopped)
    res.stats.decoder = video.decoder
    res.stats.time_drift_s = round(video.time_drift_s, 3)
    reached = last + s.sample_ft if stop is None else min(last + s.sample_ft, stop)  # frames from the start gone through
    if not stopped and (stop is None or reached < stop) and media.ended_early(info, reached):
        res.warning = (f"the video ended after {last + 1} of its {info.frame_count} frames (damaged or cut short?); "
                       f"what came after was not searched")
    if indexing:
        # Complete when the run was not stopped and no frame it would have processed was left (a run cut by
        # max_frames stops short of the end, unless the video ends first; a damaged one ends before its end).
        more = stop is not None and (not info.frame_count or last + s.sample_ft < info.frame_count)
        reason = ("stopped by the user" if stopped else res.warning or ("only part of the video was processed" if more else ""))
        FootageSink.finish(indexing, complete=not (stopped or more or res.warning), reason=reason,
                           covered=max(0, reached), time_drift_s=res.stats.time_drift_s)
    return res


def _fingerprint(path) -> str:
    """What was searched (media.fingerprint), so that results are never shown on another file put under its name;
    read once the file has opened (a missing or unreadable one has said so in its own words by then)."""
    try:
        return media.fingerprint(path)
    except OSError as e:
        raise InputError(f"Cannot read {path}: {e.strerror or e}") from None


def _begin_index(stages: Stages, src: Source, start_frame: int) -> OpenSource | None:
    """Starts indexing the file when the run covers it from its first frame (a resumed run would store half of it)."""
    sink, s = stages.footage, stages.settings
    if sink is None or not s.index_footage or start_frame:
        return None
    used = {"sample_ft": s.sample_ft, "tracking": s.tracking, "tracker": s.tracker, "categories": list(s.categories),
            "det_conf": s.det_conf, "speed": s.speed}
    return sink.begin(src.path, src.kind, src.width, src.height, src.fps, src.frame_count, used,
                      {c: m.model_name for c, m in stages.models.items()}, src.fingerprint)


def index_failure(stages: Stages, path, message: str) -> None:
    """Records in the footage index that a file could not be used (when the run indexes)."""
    if stages.footage is not None and stages.settings.index_footage:
        stages.footage.failed(path, message)


def error_result(path, message: str) -> FileResult:
    """The result of a file that could not be used: recorded with its message, the run goes on."""
    return FileResult(str(path), media.media_kind(path) or "unknown", error=message)
