"""Runs sessions over files: one image or video -> a stream of FrameDone events, then its FileResult."""
from __future__ import annotations

from typing import Callable, Generator

from Algorithm import media
from Algorithm.errors import InputError
from Algorithm.pipeline.session import Source, Stages, VideoSession
from Algorithm.types import FileResult, FrameDone

Cancel = Callable[[], bool]


def search_file(stages: Stages, path, cancel: Cancel | None = None, max_frames: int | None = None,
                start_frame: int = 0) -> Generator[FrameDone, None, FileResult]:
    """Yields each processed frame; returns the file's result (`yield from` gives it). Errors of the file are raised."""
    kind = media.media_kind(path)
    if kind is None:
        raise InputError(f"Not an image or video (by its extension): {path}")
    if kind == "image":
        img = media.read_image(path)
        session = VideoSession(stages, Source(str(path), "image", img.shape[1], img.shape[0], 0.0, 1))
        fr = session.step(img, 0)
        yield FrameDone(fr, session.live_sightings())
        return session.finish()
    s = stages.settings
    stopped = False
    with media.VideoReader(path) as video:
        info = video.info
        session = VideoSession(stages, Source(str(path), "video", info.width, info.height, info.fps, info.frame_count))
        stop = None if max_frames is None else start_frame + max_frames
        for idx, frame in video.frames(step=s.sample_ft, start=start_frame, stop=stop):
            if cancel and cancel():
                stopped = True
                break
            fr = session.step(frame, idx)
            yield FrameDone(fr, session.live_sightings())
    return session.finish(stopped)


def error_result(path, message: str) -> FileResult:
    """The result of a file that could not be used: recorded with its message, the run goes on."""
    return FileResult(str(path), media.media_kind(path) or "unknown", error=message)
