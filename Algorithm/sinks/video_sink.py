"""The annotated-video sink: a copy of a processed video with the matched boxes drawn on it."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2

from Algorithm.errors import InputError
from Algorithm.media import VideoReader, source_problem
from Algorithm.sinks.atomic import atomic_file
from Algorithm.sinks.draw import FrameBoxes, draw_boxes
from Algorithm.sinks.h264 import H264Writer
from Algorithm.types import FileResult


def _fourcc(dest: Path) -> int:
    return cv2.VideoWriter_fourcc(*("mp4v" if dest.suffix.lower() in (".mp4", ".m4v", ".mov") else "MJPG"))


def write_annotated_video(
    result: FileResult,
    dest: str | Path,
    sample_ft: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Re-reads the video of `result` and writes `dest` with the matched boxes drawn on it.

    Only the part that was processed is written (up to the last frame read). With sampleFt > 1 the boxes of a
    processed frame stay on screen for the skipped frames that follow it, so they do not flicker.
    """
    if result.kind != "video":
        raise InputError(f"Only videos can be exported as annotated videos, not {Path(result.path).name}")
    if result.error:
        raise InputError(f"{Path(result.path).name} was not processed: {result.error}")
    problem = source_problem(result.path, result.fingerprint)
    if problem:  # the boxes would be drawn on other footage
        raise InputError(f"Cannot export {Path(result.path).name} annotated: {problem}")
    dest = Path(dest)
    shown = FrameBoxes(result, sample_ft)
    # the encoder picks its container by the extension: the temporary file keeps it
    # a variable frame rate (FileResult.time_caution): an MP4 keeps the source's own timing, as evidence clips do
    timed = bool(result.time_caution) and dest.suffix.lower() in (".mp4", ".m4v")
    with VideoReader(result.path) as video, atomic_file(dest, dest.stem + ".part" + dest.suffix) as tmp:
        info = video.info
        last = result.stats.frames_read or info.frame_count or 0
        if timed:
            timed_writer = H264Writer(tmp, info.fps, info.width, info.height, timed=True)
            write, release = (lambda img: timed_writer.write(img, video.frame_time_s)), timed_writer.close
        else:
            writer = cv2.VideoWriter(str(tmp), _fourcc(dest), info.fps, (info.width, info.height))
            if not writer.isOpened():
                raise InputError(f"Cannot write a video to {dest} (no encoder for {dest.suffix}; try .mp4 or .avi)")
            write, release = writer.write, writer.release
        try:
            for idx, frame in video.frames(stop=last or None):
                if cancel and cancel():
                    raise InputError("Export cancelled")
                boxes = shown(idx)
                write(draw_boxes(frame, boxes, unmatched=False, copy=False) if boxes else frame)
                if on_progress:
                    on_progress(idx + 1, last)
        finally:
            release()
    return dest
